/* Tests for common/merkle_log.c, against the reference producers of common/merkle.c.
 *
 * 1. From empty, every size up to 70: roots, frontiers and every inclusion proof equal the
 *    reference and verify.
 * 2. Reset from the reference frontier of every size up to 40, then appends: the same.
 * 3. Forget at every base, alone and chained with appends: the same for what is left, and
 *    memory is given back.
 * 4. Bad arguments and small buffers.
 * 5. A pseudo-random mix of 2,000 appends, forgets and resets (from its own frontier and,
 *    to rewind, from an older reference frontier), checked after every step.
 * 6. Sizes near 2^32, 2^63 and 2^64 after a reset: roots against a model that only knows
 *    the frontier, every proof verifies, and the last append is refused.
 * 7. 2^17 + 5 leaves against the reference, then forget all but three. */
#include "common/hash.h"
#include "common/merkle.h"
#include "common/merkle_log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmocka.h needs setjmp.h, stdarg.h and stddef.h first */
#include <cmocka.h>

#define HB            SYNOD_HASH_BYTES
#define LEAVES_MAX    70u  /* exhaustive tests: every size and proof up to this */
#define RESET_MAX     40u  /* reset from the frontier of every size up to this */
#define MIX_LEAVES    300u /* the random mix stays below this many leaves */
#define MIX_OPS       2000u
#define REF_PROOF_MAX 8u /* proofs in trees of at most LEAVES_MAX leaves */
#define PROOF_CAP     SYNOD_MERKLE_PROOF_HASHES_MAX
#define FRONTIER_MAX  64u
#define BIG_LEAVES    ((1u << 17) + 5u) /* 2^20 took ~3 s, mostly the O(n) reference */
#define HUGE_APPENDS  40u

#define CH(p) SYNOD_MERKLE_HASHES(p)

_Static_assert(LEAVES_MAX <= MIX_LEAVES, "the exhaustive leaves are a prefix of the mix");
_Static_assert(RESET_MAX <= LEAVES_MAX, "resets append up to LEAVES_MAX");

static uint8_t leaves[MIX_LEAVES][HB];
static uint8_t roots[MIX_LEAVES + 1][HB];
/* ref_proof[size][index], ref_proof_len[size][index] for index < size <= LEAVES_MAX */
static uint8_t ref_proof[LEAVES_MAX + 1][LEAVES_MAX][REF_PROOF_MAX][HB];
static size_t ref_proof_len[LEAVES_MAX + 1][LEAVES_MAX];

static uint64_t rng_state = 0x10c5eedull;

static uint64_t rng_next(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A value in [lo, hi]. */
static uint64_t rng_range(uint64_t lo, uint64_t hi)
{
	return lo + rng_next() % (hi - lo + 1);
}

static void leaf_of(uint8_t out[HB], uint64_t i)
{
	char data[32];
	int len = snprintf(data, sizeof data, "decision %llu", (unsigned long long)i);
	assert_true(len > 0 && (size_t)len < sizeof data);
	synod_merkle_leaf_hash(out, (const uint8_t *)data, (size_t)len);
}

static int leaves_setup(void **state)
{
	(void)state;
	for (uint64_t i = 0; i < MIX_LEAVES; i++) {
		leaf_of(leaves[i], i);
	}
	for (uint64_t n = 0; n <= MIX_LEAVES; n++) {
		if (synod_merkle_root(roots[n], CH(leaves), n) != 0) {
			return -1;
		}
	}
	for (uint64_t n = 1; n <= LEAVES_MAX; n++) {
		for (uint64_t i = 0; i < n; i++) {
			if (synod_merkle_inclusion_proof(ref_proof[n][i], REF_PROOF_MAX,
			                                 &ref_proof_len[n][i], CH(leaves), n,
			                                 i) != 0) {
				return -1;
			}
		}
	}
	return 0;
}

/* The frontier of size by the reference: synod_merkle_root of each block. */
static size_t ref_frontier(uint8_t (*out)[HB], uint64_t size)
{
	size_t n = 0;
	uint64_t lo = 0;
	for (unsigned i = 64; i-- > 0;) {
		if (((size >> i) & 1) != 0) {
			assert_int_equal(
			    synod_merkle_root(out[n], CH(leaves + lo), (uint64_t)1 << i), 0);
			lo += (uint64_t)1 << i;
			n++;
		}
	}
	return n;
}

static void append_leaves(struct synod_merkle_log *l, uint64_t to)
{
	while (l->count < to) {
		assert_int_equal(synod_merkle_log_append(l, leaves[l->count]), 0);
	}
}

static void check_root(const struct synod_merkle_log *l, uint64_t size)
{
	uint8_t root[HB];
	assert_int_equal(synod_merkle_log_root(l, size, root), 0);
	assert_memory_equal(root, roots[size], HB);
}

static void check_frontier(const struct synod_merkle_log *l)
{
	uint8_t got[FRONTIER_MAX][HB];
	uint8_t want[FRONTIER_MAX][HB];
	size_t n = 99;
	size_t want_n = ref_frontier(want, l->count);
	assert_int_equal(synod_merkle_log_frontier(l, got, FRONTIER_MAX, &n), 0);
	assert_int_equal(n, want_n);
	assert_memory_equal(got, want, n * HB);
}

/* The proof for (index, size) equals the reference and verifies; with a proof_cap one short
 * it is SYNOD_ELIMIT. */
static void check_proof(const struct synod_merkle_log *l, uint64_t index, uint64_t size)
{
	uint8_t got[PROOF_CAP][HB];
	uint8_t want[PROOF_CAP][HB];
	size_t len = 99;
	size_t want_len = 0;
	assert_int_equal(synod_merkle_log_prove(l, index, size, got, PROOF_CAP, &len), 0);
	if (size <= LEAVES_MAX) {
		want_len = ref_proof_len[size][index];
		memcpy(want, ref_proof[size][index], want_len * HB);
	} else {
		assert_int_equal(synod_merkle_inclusion_proof(want, PROOF_CAP, &want_len,
		                                              CH(leaves), size, index),
		                 0);
	}
	assert_int_equal(len, want_len);
	assert_memory_equal(got, want, len * HB);
	assert_int_equal(
	    synod_merkle_inclusion_verify(leaves[index], index, size, CH(got), len, roots[size]),
	    0);
	if (len > 0) {
		assert_int_equal(synod_merkle_log_prove(l, index, size, got, len - 1, &len),
		                 SYNOD_ELIMIT);
		assert_int_equal(len, 0);
	}
}

/* Every root of a size >= base and every proof of an index >= base, and the frontier. */
static void check_all(const struct synod_merkle_log *l)
{
	for (uint64_t size = l->base; size <= l->count; size++) {
		check_root(l, size);
		for (uint64_t index = l->base; index < size; index++) {
			check_proof(l, index, size);
		}
	}
	check_frontier(l);
}

/* What is below base is refused. */
static void check_below_base(struct synod_merkle_log *l)
{
	uint8_t proof[PROOF_CAP][HB];
	uint8_t root[HB];
	size_t len = 99;
	if (l->base == 0) {
		return;
	}
	assert_int_equal(synod_merkle_log_root(l, l->base - 1, root), SYNOD_EINVAL);
	if (l->count > l->base) {
		assert_int_equal(
		    synod_merkle_log_prove(l, l->base - 1, l->count, proof, PROOF_CAP, &len),
		    SYNOD_EINVAL);
		assert_int_equal(len, 0);
	}
	assert_int_equal(synod_merkle_log_forget(l, l->base - 1), SYNOD_EINVAL);
}

/* ---- 1. from empty ---- */

static void log_from_empty(void **state)
{
	(void)state;
	struct synod_merkle_log l;
	synod_merkle_log_init(&l);
	check_all(&l);
	for (uint64_t n = 1; n <= LEAVES_MAX; n++) {
		append_leaves(&l, n);
		check_root(&l, n);
		check_frontier(&l);
		for (uint64_t index = 0; index < n; index++) {
			check_proof(&l, index, n);
		}
	}
	check_all(&l);
	synod_merkle_log_free(&l);
	assert_int_equal(l.count, 0);
	assert_null(l.level[0]);
	check_all(&l);
}

/* ---- 2. reset ---- */

static void log_reset_every_size(void **state)
{
	(void)state;
	struct synod_merkle_log l;
	synod_merkle_log_init(&l);
	append_leaves(&l, 5); /* reset frees what was there */
	for (uint64_t b = 0; b <= RESET_MAX; b++) {
		uint8_t frontier[FRONTIER_MAX][HB];
		size_t n = ref_frontier(frontier, b);
		assert_int_equal(synod_merkle_log_reset(&l, b, CH(frontier), n), 0);
		assert_int_equal(l.base, b);
		assert_int_equal(l.count, b);
		check_frontier(&l);
		check_root(&l, b);
		check_below_base(&l);
		append_leaves(&l, LEAVES_MAX);
		check_all(&l);
		check_below_base(&l);
	}
	/* the log's own base_frontier may be passed back in */
	assert_int_equal(synod_merkle_log_reset(&l, l.base, CH(l.base_frontier),
	                                        (size_t)__builtin_popcountll(l.base)),
	                 0);
	check_root(&l, RESET_MAX);
	synod_merkle_log_free(&l);
}

/* ---- 3. forget ---- */

static uint64_t level_cap_total(const struct synod_merkle_log *l)
{
	uint64_t total = 0;
	for (unsigned i = 0; i < SYNOD_MERKLE_LOG_LEVELS; i++) {
		total += l->level_cap[i];
		if (l->level_cap[i] == 0) {
			assert_null(l->level[i]);
		}
	}
	return total;
}

static void log_forget_every_base(void **state)
{
	(void)state;
	struct synod_merkle_log l;
	synod_merkle_log_init(&l);
	for (uint64_t b = 0; b <= LEAVES_MAX; b++) {
		append_leaves(&l, LEAVES_MAX);
		assert_int_equal(synod_merkle_log_forget(&l, b), 0);
		assert_int_equal(l.base, b);
		assert_int_equal(l.count, LEAVES_MAX);
		check_all(&l);
		check_below_base(&l);
		/* forgetting what is already forgotten changes nothing */
		assert_int_equal(synod_merkle_log_forget(&l, b), 0);
		check_root(&l, b);
		synod_merkle_log_free(&l);
	}
	/* everything forgotten: nothing stored, the frontier is all that is left */
	append_leaves(&l, LEAVES_MAX);
	assert_true(level_cap_total(&l) > 0);
	assert_int_equal(synod_merkle_log_forget(&l, LEAVES_MAX), 0);
	assert_int_equal(level_cap_total(&l), 0);
	check_all(&l);
	synod_merkle_log_free(&l);
}

/* Forget and append in turns, from a reset base too. */
static void log_forget_chained(void **state)
{
	(void)state;
	static const uint64_t steps[][2] = {
	    /* {append up to, then forget up to} */
	    {1, 0},   {1, 1},   {6, 3},   {7, 7},   {20, 9},  {33, 31},
	    {34, 32}, {45, 33}, {63, 47}, {64, 64}, {65, 64}, {70, 69},
	};
	for (uint64_t b = 0; b <= 3; b++) {
		struct synod_merkle_log l;
		uint8_t frontier[FRONTIER_MAX][HB];
		synod_merkle_log_init(&l);
		size_t n = ref_frontier(frontier, b);
		assert_int_equal(synod_merkle_log_reset(&l, b, CH(frontier), n), 0);
		for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
			append_leaves(&l, steps[s][0] > b ? steps[s][0] : b);
			uint64_t to = steps[s][1] > l.base ? steps[s][1] : l.base;
			assert_int_equal(synod_merkle_log_forget(&l, to), 0);
			check_all(&l);
			check_below_base(&l);
		}
		synod_merkle_log_free(&l);
	}
}

/* ---- 4. bad arguments ---- */

static void log_bad_arguments(void **state)
{
	(void)state;
	struct synod_merkle_log l;
	uint8_t proof[PROOF_CAP][HB];
	uint8_t frontier[FRONTIER_MAX][HB];
	uint8_t root[HB];
	uint8_t empty[HB];
	size_t len = 99;
	synod_sha256(empty, "", 0);
	synod_merkle_log_init(&l);
	/* empty log */
	assert_int_equal(synod_merkle_log_root(&l, 0, root), 0);
	assert_memory_equal(root, empty, HB);
	assert_int_equal(synod_merkle_log_root(&l, 1, root), SYNOD_EINVAL);
	assert_int_equal(synod_merkle_log_prove(&l, 0, 0, proof, PROOF_CAP, &len), SYNOD_EINVAL);
	assert_int_equal(len, 0);
	assert_int_equal(synod_merkle_log_prove(&l, 0, 1, proof, PROOF_CAP, &len), SYNOD_EINVAL);
	assert_int_equal(synod_merkle_log_frontier(&l, NULL, 0, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(synod_merkle_log_forget(&l, 1), SYNOD_EINVAL);
	/* 13 leaves, base 5 */
	append_leaves(&l, 13);
	assert_int_equal(synod_merkle_log_forget(&l, 14), SYNOD_EINVAL);
	assert_int_equal(synod_merkle_log_forget(&l, 5), 0);
	assert_int_equal(synod_merkle_log_root(&l, 4, root), SYNOD_EINVAL);
	assert_int_equal(synod_merkle_log_root(&l, 14, root), SYNOD_EINVAL);
	assert_int_equal(synod_merkle_log_root(&l, UINT64_MAX, root), SYNOD_EINVAL);
	assert_int_equal(synod_merkle_log_prove(&l, 4, 13, proof, PROOF_CAP, &len), SYNOD_EINVAL);
	assert_int_equal(synod_merkle_log_prove(&l, 5, 14, proof, PROOF_CAP, &len), SYNOD_EINVAL);
	assert_int_equal(synod_merkle_log_prove(&l, 5, 5, proof, PROOF_CAP, &len), SYNOD_EINVAL);
	assert_int_equal(synod_merkle_log_prove(&l, 9, 6, proof, PROOF_CAP, &len), SYNOD_EINVAL);
	assert_int_equal(synod_merkle_log_prove(&l, UINT64_MAX, UINT64_MAX, proof, PROOF_CAP, &len),
	                 SYNOD_EINVAL);
	assert_int_equal(synod_merkle_log_prove(&l, 5, 13, proof, 3, &len), SYNOD_ELIMIT);
	assert_int_equal(len, 0);
	assert_int_equal(synod_merkle_log_forget(&l, 4), SYNOD_EINVAL);
	/* frontier of 13 = 8 + 4 + 1 */
	assert_int_equal(synod_merkle_log_frontier(&l, frontier, 2, &len), SYNOD_ELIMIT);
	assert_int_equal(len, 0);
	assert_int_equal(synod_merkle_log_frontier(&l, frontier, 3, &len), 0);
	assert_int_equal(len, 3);
	/* reset with the wrong number of hashes leaves the log as it was */
	assert_int_equal(synod_merkle_log_reset(&l, 13, CH(frontier), 2), SYNOD_EINVAL);
	assert_int_equal(synod_merkle_log_reset(&l, 13, CH(frontier), 4), SYNOD_EINVAL);
	assert_int_equal(synod_merkle_log_reset(&l, 0, CH(frontier), 1), SYNOD_EINVAL);
	assert_int_equal(synod_merkle_log_reset(&l, UINT64_MAX, CH(frontier), 3), SYNOD_EINVAL);
	assert_int_equal(l.base, 5);
	assert_int_equal(l.count, 13);
	check_all(&l);
	assert_int_equal(synod_merkle_log_reset(&l, 0, NULL, 0), 0);
	assert_int_equal(l.count, 0);
	check_all(&l);
	synod_merkle_log_free(&l);
}

/* ---- 5. random mix ---- */

enum mix_op { MIX_APPEND, MIX_FORGET, MIX_RESET_OWN, MIX_RESET_OLDER, MIX_OP_COUNT };

static enum mix_op mix_pick(const struct synod_merkle_log *l)
{
	/* mostly appends and small forgets, so that count - base often exceeds 64; a full log
	 * rewinds */
	uint64_t r = rng_next() % 128;
	if (r < 100) {
		return l->count < MIX_LEAVES ? MIX_APPEND : MIX_RESET_OLDER;
	}
	if (r < 125) {
		return MIX_FORGET;
	}
	return r < 127 ? MIX_RESET_OWN : MIX_RESET_OLDER;
}

/* Mostly a few leaves, sometimes any number. */
static uint64_t mix_forget_to(const struct synod_merkle_log *l)
{
	uint64_t width = l->count - l->base;
	if (rng_next() % 64 == 0) {
		return l->base + rng_range(0, width);
	}
	return l->base + rng_range(0, width < 2 ? width : 2);
}

static void mix_step(struct synod_merkle_log *l, enum mix_op op)
{
	uint8_t frontier[FRONTIER_MAX][HB];
	size_t n = 0;
	uint64_t size;
	switch (op) {
	case MIX_APPEND:
		append_leaves(l, l->count + 1);
		break;
	case MIX_FORGET:
		assert_int_equal(synod_merkle_log_forget(l, mix_forget_to(l)), 0);
		break;
	case MIX_RESET_OWN: /* a snapshot of the log restored into it */
		size = l->count;
		assert_int_equal(synod_merkle_log_frontier(l, frontier, FRONTIER_MAX, &n), 0);
		assert_int_equal(synod_merkle_log_reset(l, size, CH(frontier), n), 0);
		break;
	case MIX_RESET_OLDER: /* an older snapshot restored: the log rewinds */
		size = rng_range(0, l->count);
		n = ref_frontier(frontier, size);
		assert_int_equal(synod_merkle_log_reset(l, size, CH(frontier), n), 0);
		break;
	default:
		fail();
	}
}

static void log_random_mix(void **state)
{
	(void)state;
	struct synod_merkle_log l;
	unsigned done[MIX_OP_COUNT] = {0};
	uint64_t count_max = 0;
	unsigned wide = 0;
	rng_state = 0x10c5eedull;
	synod_merkle_log_init(&l);
	for (unsigned step = 0; step < MIX_OPS; step++) {
		enum mix_op op = mix_pick(&l);
		mix_step(&l, op);
		done[op]++;
		count_max = l.count > count_max ? l.count : count_max;
		wide += l.count - l.base > 64 ? 1u : 0u;
		assert_true(l.base <= l.count && l.count <= MIX_LEAVES);
		check_root(&l, l.count);
		check_root(&l, rng_range(l.base, l.count));
		check_frontier(&l);
		check_below_base(&l);
		if (l.count > l.base) {
			uint64_t index = rng_range(l.base, l.count - 1);
			check_proof(&l, index, rng_range(index + 1, l.count));
			check_proof(&l, l.base, l.count);
			check_proof(&l, l.count - 1, l.count);
		}
	}
	print_message("mix: %u appends, %u forgets, %u resets from own frontier, %u rewinds; "
	              "up to %llu leaves, %u steps with count - base > 64\n",
	              done[MIX_APPEND], done[MIX_FORGET], done[MIX_RESET_OWN],
	              done[MIX_RESET_OLDER], (unsigned long long)count_max, wide);
	for (unsigned op = 0; op < MIX_OP_COUNT; op++) {
		assert_true(done[op] >= 10);
	}
	assert_true(count_max > MIX_LEAVES / 2 && wide > MIX_OPS / 20);
	synod_merkle_log_free(&l);
}

/* ---- 6. huge sizes ---- */

/* The root of the tree of base + k leaves from the frontier of base and k leaves only: the
 * compact range grows like a binary counter and folds right to left. */
static void model_root(uint8_t out[HB], uint64_t base, const uint8_t (*frontier)[HB], uint64_t k)
{
	uint8_t stack[FRONTIER_MAX + 1][HB];
	uint64_t sizes[FRONTIER_MAX + 1];
	size_t depth = 0;
	for (unsigned i = 64; i-- > 0;) {
		if (((base >> i) & 1) != 0) {
			memcpy(stack[depth], frontier[depth], HB);
			sizes[depth++] = (uint64_t)1 << i;
		}
	}
	for (uint64_t j = 0; j < k; j++) {
		assert_true(depth <= FRONTIER_MAX);
		leaf_of(stack[depth], j);
		sizes[depth++] = 1;
		while (depth >= 2 && sizes[depth - 2] == sizes[depth - 1]) {
			synod_merkle_node_hash(stack[depth - 2], stack[depth - 2],
			                       stack[depth - 1]);
			sizes[depth - 2] *= 2;
			depth--;
		}
	}
	if (depth == 0) {
		synod_sha256(out, "", 0);
		return;
	}
	while (depth > 1) {
		synod_merkle_node_hash(stack[depth - 2], stack[depth - 2], stack[depth - 1]);
		depth--;
	}
	memcpy(out, stack[0], HB);
}

static void check_huge(const struct synod_merkle_log *l, uint64_t base0,
                       const uint8_t (*frontier0)[HB])
{
	uint8_t proof[PROOF_CAP][HB];
	uint8_t leaf[HB];
	uint8_t root[HB];
	uint8_t want[HB];
	size_t len = 0;
	for (uint64_t size = l->base; size <= l->count && size >= l->base; size++) {
		assert_int_equal(synod_merkle_log_root(l, size, root), 0);
		model_root(want, base0, frontier0, size - base0);
		assert_memory_equal(root, want, HB);
		for (uint64_t index = l->base; index < size; index++) {
			assert_int_equal(
			    synod_merkle_log_prove(l, index, size, proof, PROOF_CAP, &len), 0);
			leaf_of(leaf, index - base0);
			assert_int_equal(
			    synod_merkle_inclusion_verify(leaf, index, size, CH(proof), len, root),
			    0);
		}
		if (size == UINT64_MAX) {
			break;
		}
	}
}

static void log_huge_sizes(void **state)
{
	(void)state;
	const uint64_t bases[] = {
	    ((uint64_t)1 << 32) - 7,
	    ((uint64_t)1 << 63) - 20,
	    ((uint64_t)1 << 63),
	    UINT64_MAX - HUGE_APPENDS,
	};
	rng_state = 0x4a11ull;
	for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
		struct synod_merkle_log l;
		uint8_t frontier[FRONTIER_MAX][HB];
		uint8_t leaf[HB];
		size_t n = (size_t)__builtin_popcountll(bases[b]);
		for (size_t i = 0; i < n; i++) {
			for (size_t j = 0; j < HB; j++) {
				frontier[i][j] = (uint8_t)rng_next();
			}
		}
		synod_merkle_log_init(&l);
		assert_int_equal(synod_merkle_log_reset(&l, bases[b], CH(frontier), n), 0);
		for (uint64_t j = 0; j < HUGE_APPENDS; j++) {
			leaf_of(leaf, j);
			assert_int_equal(synod_merkle_log_append(&l, leaf), 0);
		}
		check_huge(&l, bases[b], CH(frontier));
		/* forget a part; what is left is unchanged */
		assert_int_equal(synod_merkle_log_forget(&l, bases[b] + 17), 0);
		check_huge(&l, bases[b], CH(frontier));
		if (l.count == UINT64_MAX) {
			leaf_of(leaf, HUGE_APPENDS);
			assert_int_equal(synod_merkle_log_append(&l, leaf), SYNOD_ELIMIT);
			assert_int_equal(l.count, UINT64_MAX);
		}
		synod_merkle_log_free(&l);
	}
}

/* ---- 7. many leaves ---- */

static void log_many_leaves(void **state)
{
	(void)state;
	struct synod_merkle_log l;
	uint8_t(*big)[HB] = malloc((size_t)BIG_LEAVES * HB);
	uint8_t proof[PROOF_CAP][HB];
	uint8_t want[PROOF_CAP][HB];
	uint8_t root[HB];
	uint8_t want_root[HB];
	uint8_t frontier[FRONTIER_MAX][HB];
	uint8_t frontier_after[FRONTIER_MAX][HB];
	size_t len = 0;
	size_t want_len = 0;
	size_t n = 0;
	size_t n_after = 0;
	assert_non_null(big);
	synod_merkle_log_init(&l);
	for (uint64_t i = 0; i < BIG_LEAVES; i++) {
		leaf_of(big[i], i);
		assert_int_equal(synod_merkle_log_append(&l, big[i]), 0);
	}
	assert_int_equal(synod_merkle_root(want_root, CH(big), BIG_LEAVES), 0);
	assert_int_equal(synod_merkle_log_root(&l, BIG_LEAVES, root), 0);
	assert_memory_equal(root, want_root, HB);
	/* one proof against the reference (O(n) there), more through the verifier */
	assert_int_equal(synod_merkle_log_prove(&l, 77777, BIG_LEAVES, proof, PROOF_CAP, &len), 0);
	assert_int_equal(
	    synod_merkle_inclusion_proof(want, PROOF_CAP, &want_len, CH(big), BIG_LEAVES, 77777),
	    0);
	assert_int_equal(len, want_len);
	assert_memory_equal(proof, want, len * HB);
	for (uint64_t i = 0; i < BIG_LEAVES; i += 997) {
		assert_int_equal(synod_merkle_log_prove(&l, i, BIG_LEAVES, proof, PROOF_CAP, &len),
		                 0);
		assert_int_equal(
		    synod_merkle_inclusion_verify(big[i], i, BIG_LEAVES, CH(proof), len, want_root),
		    0);
	}
	assert_int_equal(synod_merkle_log_frontier(&l, frontier, FRONTIER_MAX, &n), 0);
	assert_int_equal(synod_merkle_log_forget(&l, BIG_LEAVES - 3), 0);
	/* about two hashes per leaf before, a handful after */
	assert_true(level_cap_total(&l) <= 4u * 16u);
	assert_int_equal(synod_merkle_log_root(&l, BIG_LEAVES, root), 0);
	assert_memory_equal(root, want_root, HB);
	assert_int_equal(synod_merkle_log_frontier(&l, frontier_after, FRONTIER_MAX, &n_after), 0);
	assert_int_equal(n_after, n);
	assert_memory_equal(frontier_after, frontier, n * HB);
	for (uint64_t i = BIG_LEAVES - 3; i < BIG_LEAVES; i++) {
		assert_int_equal(synod_merkle_log_prove(&l, i, BIG_LEAVES, proof, PROOF_CAP, &len),
		                 0);
		assert_int_equal(
		    synod_merkle_inclusion_verify(big[i], i, BIG_LEAVES, CH(proof), len, want_root),
		    0);
	}
	synod_merkle_log_free(&l);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(log_from_empty),        cmocka_unit_test(log_reset_every_size),
	    cmocka_unit_test(log_forget_every_base), cmocka_unit_test(log_forget_chained),
	    cmocka_unit_test(log_bad_arguments),     cmocka_unit_test(log_random_mix),
	    cmocka_unit_test(log_huge_sizes),        cmocka_unit_test(log_many_leaves),
	};
	return cmocka_run_group_tests(tests, leaves_setup, NULL);
}

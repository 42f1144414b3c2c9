/* An append-only RFC 9162 Merkle log: roots, inclusion proofs and frontiers without the
 * leaves below base.
 *
 * Every subtree the RFC 9162 shape asks for is a range [lo, lo + n) with lo a multiple of
 * the smallest power of two >= n (the root, and every child of such a range, is one). Its
 * MTH is the fold, right to left, of the aligned perfect blocks of n's binary
 * decomposition, so log_range_root needs only block roots. A block at or above base is
 * stored; one below base is a frontier block of base; one that straddles base is rebuilt
 * bottom-up from the block starting at base, each sibling on its right stored and each on
 * its left a frontier block of base (log_block_root). None of this recurses; every loop is
 * bounded by the 64 levels. */
#include "common/merkle_log.h"

#include "common/assert.h"
#include "common/hash.h"
#include "common/merkle.h"

#include <stdlib.h>
#include <string.h>

#define HB             SYNOD_HASH_BYTES
#define LOG_LEVELS     SYNOD_MERKLE_LOG_LEVELS
#define LOG_CAP_MIN    16u /* first allocation of a level, in hashes */
#define LOG_HASHES_MAX ((uint64_t)(SIZE_MAX / HB))

/* A size below 2^64 has at most 64 set bits and its inclusion proofs at most 64 hashes. */
_Static_assert(LOG_LEVELS == 64, "one level per bit of a 64-bit size");
_Static_assert(SYNOD_MERKLE_PROOF_HASHES_MAX >= 64, "proofs of any 64-bit tree size fit");

/* The bits below bit `bits` (0..64) set. */
static uint64_t log_low_mask(unsigned bits)
{
	return bits >= 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
}

static size_t log_popcount(uint64_t x)
{
	return (size_t)__builtin_popcountll(x);
}

/* The first block of level L lying wholly at or above base: ceil(base / 2^L). */
static uint64_t log_level_start(uint64_t base, unsigned level)
{
	return (base >> level) + ((base & log_low_mask(level)) != 0 ? 1u : 0u);
}

/* The largest power of two strictly below n (n >= 2): where RFC 9162 splits a tree. */
static uint64_t log_split(uint64_t n)
{
	SYNOD_ASSERT(n >= 2);
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

/* The stored root of the block [lo, lo + 2^level), which lies wholly at or above base. */
static int log_block_stored(const struct synod_merkle_log *l, uint64_t lo, unsigned level,
                            uint8_t out[HB])
{
	if (lo < l->base || (lo & log_low_mask(level)) != 0) {
		return SYNOD_ENOTFOUND;
	}
	uint64_t i = (lo >> level) - log_level_start(l->base, level);
	if (i >= l->level_len[level]) {
		return SYNOD_ENOTFOUND;
	}
	memcpy(out, l->level[level][i], HB);
	return 0;
}

/* The root of the block [lo, lo + 2^level), which lies wholly below base: the frontier block
 * of base for bit level, if base has that bit set and lo is base above that bit. Frontier
 * blocks are stored leftmost first, so its index is the number of bits of base above it. */
static int log_block_below(const struct synod_merkle_log *l, uint64_t lo, unsigned level,
                           uint8_t out[HB])
{
	uint64_t b = l->base;
	if (((b >> level) & 1) == 0 || lo != (b & ~log_low_mask(level + 1))) {
		return SYNOD_ENOTFOUND;
	}
	size_t i = log_popcount(b >> level) - 1;
	SYNOD_ASSERT(i < LOG_LEVELS);
	memcpy(out, l->base_frontier[i], HB);
	return 0;
}

/* The root of the aligned block [lo, lo + 2^level) of leaves below count. */
static int log_block_root(const struct synod_merkle_log *l, uint64_t lo, unsigned level,
                          uint8_t out[HB])
{
	const uint64_t b = l->base;
	SYNOD_ASSERT(level < LOG_LEVELS && (lo & log_low_mask(level)) == 0);
	if (lo >= b) {
		return log_block_stored(l, lo, level, out);
	}
	if (b - lo >= ((uint64_t)1 << level)) {
		return log_block_below(l, lo, level, out);
	}
	/* It straddles base, so base is not a multiple of 2^level and its lowest set bit i is
	 * below level. Climb from the block of 2^i leaves starting at base: at each level the
	 * block holding base is a left child (sibling stored, at or above base) or a right
	 * child (sibling the frontier block of base for that bit). */
	uint8_t sibling[HB];
	unsigned i = (unsigned)__builtin_ctzll(b);
	SYNOD_ASSERT(i < level);
	int rc = log_block_stored(l, b, i, out);
	for (; rc == 0 && i < level; i++) {
		uint64_t j = b >> i;
		if ((j & 1) != 0) {
			rc = log_block_below(l, (j - 1) << i, i, sibling);
			if (rc == 0) {
				synod_merkle_node_hash(out, sibling, out);
			}
		} else {
			rc = log_block_stored(l, (j + 1) << i, i, sibling);
			if (rc == 0) {
				synod_merkle_node_hash(out, out, sibling);
			}
		}
	}
	return rc;
}

/* MTH(D[lo:lo+n]) for 1 <= n, lo + n <= count, lo a multiple of the smallest power of two
 * >= n: the blocks of n's binary decomposition, smallest (rightmost) first, folded in. */
static int log_range_root(const struct synod_merkle_log *l, uint64_t lo, uint64_t n,
                          uint8_t out[HB])
{
	uint8_t block[HB];
	uint64_t pos = lo + n;
	int have = 0;
	SYNOD_ASSERT(n >= 1 && pos >= lo && pos <= l->count);
	for (unsigned i = 0; i < LOG_LEVELS; i++) {
		if (((n >> i) & 1) == 0) {
			continue;
		}
		pos -= (uint64_t)1 << i;
		int rc = log_block_root(l, pos, i, have ? block : out);
		if (rc != 0) {
			return rc;
		}
		if (have) {
			synod_merkle_node_hash(out, block, out);
		}
		have = 1;
	}
	SYNOD_ASSERT(pos == lo);
	return 0;
}

/* The frontier of size <= count, leftmost (largest) first, into out[0..popcount(size)-1]. */
static int log_compact_range(const struct synod_merkle_log *l, uint64_t size, uint8_t (*out)[HB])
{
	size_t n = 0;
	for (unsigned i = LOG_LEVELS; i-- > 0;) {
		if (((size >> i) & 1) == 0) {
			continue;
		}
		int rc = log_block_root(l, size & ~log_low_mask(i + 1), i, out[n]);
		if (rc != 0) {
			return rc;
		}
		n++;
	}
	SYNOD_ASSERT(n == log_popcount(size));
	return 0;
}

void synod_merkle_log_init(struct synod_merkle_log *l)
{
	SYNOD_ASSERT(l != NULL);
	memset(l, 0, sizeof *l);
}

void synod_merkle_log_free(struct synod_merkle_log *l)
{
	SYNOD_ASSERT(l != NULL);
	for (unsigned i = 0; i < LOG_LEVELS; i++) {
		free(l->level[i]);
	}
	synod_merkle_log_init(l);
}

/* Room for one more hash in level i. Growing changes no content, so a failure part way
 * through the levels of an append still leaves the log as it was. */
static int log_level_reserve(struct synod_merkle_log *l, unsigned i)
{
	if (l->level_len[i] < l->level_cap[i]) {
		return 0;
	}
	uint64_t cap = l->level_cap[i] == 0 ? LOG_CAP_MIN : l->level_cap[i] * 2;
	if (cap <= l->level_cap[i] || cap > LOG_HASHES_MAX) {
		return SYNOD_ENOMEM;
	}
	void *p = realloc(l->level[i], (size_t)cap * HB);
	if (p == NULL) {
		return SYNOD_ENOMEM;
	}
	l->level[i] = p;
	l->level_cap[i] = cap;
	return 0;
}

int synod_merkle_log_append(struct synod_merkle_log *l, const uint8_t leaf_hash[HB])
{
	SYNOD_ASSERT(l != NULL && leaf_hash != NULL && l->base <= l->count);
	if (l->count == UINT64_MAX) {
		return SYNOD_ELIMIT;
	}
	const uint64_t end = l->count + 1;
	/* The new leaf completes the block [end - 2^i, end) of each level i with 2^i dividing
	 * end; it is stored when it lies at or above base. Both tests fail for every level
	 * above the first that fails them. */
	unsigned levels = 1;
	while (levels < LOG_LEVELS && (end & log_low_mask(levels)) == 0 &&
	       end - l->base >= ((uint64_t)1 << levels)) {
		levels++;
	}
	for (unsigned i = 0; i < levels; i++) {
		int rc = log_level_reserve(l, i);
		if (rc != 0) {
			return rc;
		}
	}
	memcpy(l->level[0][l->level_len[0]], leaf_hash, HB);
	l->level_len[0]++;
	for (unsigned i = 1; i < levels; i++) {
		uint64_t below = l->level_len[i - 1];
		SYNOD_ASSERT(below >= 2);
		synod_merkle_node_hash(l->level[i][l->level_len[i]], l->level[i - 1][below - 2],
		                       l->level[i - 1][below - 1]);
		l->level_len[i]++;
	}
	for (unsigned i = 0; i < levels; i++) {
		SYNOD_ASSERT(l->level_len[i] == (end >> i) - log_level_start(l->base, i));
	}
	l->count = end;
	return 0;
}

int synod_merkle_log_root(const struct synod_merkle_log *l, uint64_t size, uint8_t out[HB])
{
	SYNOD_ASSERT(l != NULL && out != NULL);
	if (size < l->base || size > l->count) {
		return SYNOD_EINVAL;
	}
	if (size == 0) {
		synod_sha256(out, "", 0);
		return 0;
	}
	return log_range_root(l, 0, size, out);
}

/* Length of PATH(index, D[0:size]): one hash per level walked down to the leaf. */
static size_t log_proof_len(uint64_t index, uint64_t size)
{
	size_t len = 0;
	while (size > 1) {
		uint64_t k = log_split(size);
		if (index < k) {
			size = k;
		} else {
			index -= k;
			size -= k;
		}
		len++;
	}
	return len;
}

int synod_merkle_log_prove(const struct synod_merkle_log *l, uint64_t index, uint64_t size,
                           uint8_t (*proof)[HB], size_t proof_cap, size_t *proof_len)
{
	SYNOD_ASSERT(l != NULL && proof_len != NULL);
	*proof_len = 0;
	if (index < l->base || index >= size || size > l->count) {
		return SYNOD_EINVAL;
	}
	size_t len = log_proof_len(index, size);
	SYNOD_ASSERT(len <= LOG_LEVELS);
	if (len > proof_cap) {
		return SYNOD_ELIMIT;
	}
	SYNOD_ASSERT(proof != NULL || len == 0);
	/* Walk down [lo, lo + n) as merkle.c does; the sibling met at each level goes one slot
	 * further left, so the proof comes out deepest first. */
	size_t pos = len;
	uint64_t lo = 0;
	uint64_t n = size;
	uint64_t m = index;
	while (n > 1) {
		uint64_t k = log_split(n);
		int rc;
		SYNOD_ASSERT(pos > 0);
		pos--;
		if (m < k) {
			rc = log_range_root(l, lo + k, n - k, proof[pos]);
			n = k;
		} else {
			rc = log_range_root(l, lo, k, proof[pos]);
			lo += k;
			m -= k;
			n -= k;
		}
		if (rc != 0) {
			return rc;
		}
	}
	SYNOD_ASSERT(pos == 0);
	*proof_len = len;
	return 0;
}

int synod_merkle_log_frontier(const struct synod_merkle_log *l, uint8_t (*out)[HB], size_t cap,
                              size_t *n)
{
	SYNOD_ASSERT(l != NULL && n != NULL);
	*n = 0;
	size_t want = log_popcount(l->count);
	if (want > cap) {
		return SYNOD_ELIMIT;
	}
	SYNOD_ASSERT(out != NULL || want == 0);
	int rc = log_compact_range(l, l->count, out);
	if (rc != 0) {
		return rc;
	}
	*n = want;
	return 0;
}

int synod_merkle_log_reset(struct synod_merkle_log *l, uint64_t size, const uint8_t (*frontier)[HB],
                           size_t n)
{
	SYNOD_ASSERT(l != NULL);
	if (n != log_popcount(size)) {
		return SYNOD_EINVAL;
	}
	SYNOD_ASSERT(frontier != NULL || n == 0);
	uint8_t copy[LOG_LEVELS][HB];
	if (n > 0) {
		memcpy(copy, frontier, n * HB); /* frontier may point into l */
	}
	synod_merkle_log_free(l);
	if (n > 0) {
		memcpy(l->base_frontier, copy, n * HB);
	}
	l->base = size;
	l->count = size;
	return 0;
}

/* Drops the blocks of level i that lie below new_base, which is at least l->base, and
 * gives back memory when three quarters or more of the array is unused. */
static void log_level_drop(struct synod_merkle_log *l, unsigned i, uint64_t new_base)
{
	uint64_t drop = log_level_start(new_base, i) - log_level_start(l->base, i);
	uint64_t len = l->level_len[i];
	len = drop >= len ? 0 : len - drop;
	if (len > 0 && drop > 0) {
		memmove(l->level[i], l->level[i] + drop, (size_t)len * HB);
	}
	l->level_len[i] = len;
	if (len == 0) {
		free(l->level[i]);
		l->level[i] = NULL;
		l->level_cap[i] = 0;
		return;
	}
	if (l->level_cap[i] > LOG_CAP_MIN && len <= l->level_cap[i] / 4) {
		uint64_t cap = len * 2 > LOG_CAP_MIN ? len * 2 : LOG_CAP_MIN;
		void *p = realloc(l->level[i], (size_t)cap * HB);
		if (p != NULL) { /* else the larger array stays, which is harmless */
			l->level[i] = p;
			l->level_cap[i] = cap;
		}
	}
}

int synod_merkle_log_forget(struct synod_merkle_log *l, uint64_t new_base)
{
	SYNOD_ASSERT(l != NULL);
	if (new_base < l->base || new_base > l->count) {
		return SYNOD_EINVAL;
	}
	/* Everything that can fail comes first, from the log as it is. */
	uint8_t frontier[LOG_LEVELS][HB];
	int rc = log_compact_range(l, new_base, frontier);
	if (rc != 0) {
		return rc;
	}
	for (unsigned i = 0; i < LOG_LEVELS; i++) {
		log_level_drop(l, i, new_base);
	}
	memcpy(l->base_frontier, frontier, log_popcount(new_base) * HB);
	l->base = new_base;
	for (unsigned i = 0; i < LOG_LEVELS; i++) {
		uint64_t blocks = l->count >> i;
		uint64_t start = log_level_start(new_base, i);
		SYNOD_ASSERT(l->level_len[i] == (blocks > start ? blocks - start : 0));
	}
	return 0;
}

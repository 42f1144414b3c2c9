/* Tests for common/merkle.c.
 *
 * 1. Known answers: the eight RFC 6962 test leaves and their roots (transparency-dev/merkle
 *    testonly constants), and the happy-path proofs of the transparency-dev vectors, which
 *    our producers must reproduce byte for byte.
 * 2. Every file of the transparency-dev vectors (tests/vectors/transparency-dev-merkle,
 *    found through $SYNOD_VECTORS) through the verifiers; none silently skipped.
 * 3. Exhaustive checks over random leaves, all sizes up to 64: the producers against a
 *    recursive model written straight from RFC 9162's definitions, every proof verifies,
 *    and a changed bit, index, size or length does not, unless the model says the verifier
 *    cannot tell the difference (see proof_shape below). */
#include "common/hash.h"
#include "common/merkle.h"

#include <dirent.h>
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* cmocka.h needs setjmp.h, stdarg.h and stddef.h first */
#include <cmocka.h>

#define HB             SYNOD_HASH_BYTES
#define LEAVES_MAX     64u  /* exhaustive tests: every tree size up to this */
#define PROBE_SIZE_MAX 130u /* sizes tried when a proof is checked against wrong sizes */
#define FLIP_ALL_MAX   16u  /* up to this tree size, every bit of every proof hash is flipped */
#define PROOF_CAP      SYNOD_MERKLE_PROOF_HASHES_MAX
#define VEC_PROOF_MAX  32u /* longest proof in a vector file; longer is a harness error */
#define PATH_BYTES_MAX 4096u
#define SHAPE_MAX      (PROOF_CAP + 2u)

#define CH(p) SYNOD_MERKLE_HASHES(p)

static uint64_t rng_state = 0x5eed5eed5eedull;

static uint64_t rng_next(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		p[i] = (uint8_t)rng_next();
	}
}

static void hex32(uint8_t out[HB], const char *hex)
{
	assert_int_equal(synod_hex_decode(out, HB, hex, strlen(hex)), 0);
}

/* ---- reference model: RFC 9162 sections 2.1.1, 2.1.3.1 and 2.1.4.1, recursively ---- */

static uint64_t ref_split(uint64_t n)
{
	uint64_t k = 1;
	while (k <= (n - 1) / 2) { /* 2k < n, without overflow */
		k *= 2;
	}
	return k;
}

/* MTH(D[0:n]) */
static void ref_mth(uint8_t out[HB], const uint8_t (*d)[HB], uint64_t n)
{
	uint8_t l[HB];
	uint8_t r[HB];
	if (n == 0) {
		synod_sha256(out, "", 0);
		return;
	}
	if (n == 1) {
		memcpy(out, d[0], HB);
		return;
	}
	uint64_t k = ref_split(n);
	ref_mth(l, d, k);
	ref_mth(r, d + k, n - k);
	synod_merkle_node_hash(out, l, r);
}

/* The shape of a proof: for each hash, deepest first, whether the verifier hashes it in on
 * the left ('L') or right ('R'), and for consistency proofs 'S' for a first hash that seeds
 * both roots. Two (index, size) or (size1, size2) pairs with the same shape make the
 * verifier do the same computation, so a proof for one verifies for the other: the tree
 * size is bound by the signed tree head, not by the proof (e.g. PATH(0, D[0:3]) and
 * PATH(0, D[0:4]) are both "RR"). With d != NULL the hashes are written to out too. */
struct shape {
	char s[SHAPE_MAX];
	size_t len;
	uint8_t (*out)[HB];
};

static void shape_push(struct shape *sh, char c, const uint8_t (*d)[HB], uint64_t n)
{
	assert_true(sh->len < SHAPE_MAX);
	if (d != NULL) {
		ref_mth(sh->out[sh->len], d, n);
	}
	sh->s[sh->len++] = c;
}

/* PATH(m, D[0:n]) */
static void ref_path(struct shape *sh, uint64_t m, const uint8_t (*d)[HB], uint64_t n)
{
	if (n <= 1) {
		return;
	}
	uint64_t k = ref_split(n);
	if (m < k) {
		ref_path(sh, m, d, k);
		shape_push(sh, 'R', d != NULL ? d + k : NULL, n - k);
	} else {
		ref_path(sh, m - k, d != NULL ? d + k : NULL, n - k);
		shape_push(sh, 'L', d, k);
	}
}

/* SUBPROOF(m, D[0:n], b) */
static void ref_subproof(struct shape *sh, uint64_t m, const uint8_t (*d)[HB], uint64_t n, int b)
{
	if (m == n) {
		if (!b) {
			shape_push(sh, 'S', d, m);
		}
		return;
	}
	uint64_t k = ref_split(n);
	if (m <= k) {
		ref_subproof(sh, m, d, k, b);
		shape_push(sh, 'R', d != NULL ? d + k : NULL, n - k);
	} else {
		ref_subproof(sh, m - k, d != NULL ? d + k : NULL, n - k, 0);
		shape_push(sh, 'L', d, k);
	}
}

static int shape_equal(const struct shape *a, const struct shape *b)
{
	return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

static struct shape path_shape(uint64_t index, uint64_t size)
{
	struct shape sh = {.len = 0};
	ref_path(&sh, index, NULL, size);
	return sh;
}

static struct shape subproof_shape(uint64_t size1, uint64_t size2)
{
	struct shape sh = {.len = 0};
	ref_subproof(&sh, size1, NULL, size2, 1);
	return sh;
}

/* ---- known answers ---- */

/* The leaves and roots of transparency-dev/merkle testonly/constants.go (LeafInputs,
 * RootHashes), the RFC 6962 test tree from which the vector files were made. */
static const char *const known_leaves_hex[8] = {
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};
static const char *const known_roots_hex[9] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", /* empty tree */
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static uint8_t known_leaves[8][HB];

static void known_leaves_init(void)
{
	for (size_t i = 0; i < 8; i++) {
		uint8_t data[16];
		size_t len = strlen(known_leaves_hex[i]) / 2;
		assert_int_equal(synod_hex_decode(data, len, known_leaves_hex[i], 2 * len), 0);
		synod_merkle_leaf_hash(known_leaves[i], data, len);
	}
}

static void merkle_known_roots(void **state)
{
	(void)state;
	uint8_t want[HB];
	uint8_t got[HB];
	known_leaves_init();
	for (uint64_t n = 0; n <= 8; n++) {
		hex32(want, known_roots_hex[n]);
		assert_int_equal(synod_merkle_root(got, n == 0 ? NULL : CH(known_leaves), n), 0);
		assert_memory_equal(got, want, HB);
	}
	/* the leaf hash of the empty string and the root of one leaf are the same */
	synod_merkle_leaf_hash(got, NULL, 0);
	hex32(want, known_roots_hex[1]);
	assert_memory_equal(got, want, HB);
	/* node hashing is SHA-256(0x01 || left || right) */
	uint8_t buf[1 + 2 * HB];
	buf[0] = 0x01;
	memcpy(buf + 1, known_leaves[0], HB);
	memcpy(buf + 1 + HB, known_leaves[1], HB);
	synod_sha256(want, buf, sizeof buf);
	synod_merkle_node_hash(got, known_leaves[0], known_leaves[1]);
	assert_memory_equal(got, want, HB);
	/* out may alias an input */
	memcpy(got, known_leaves[0], HB);
	synod_merkle_node_hash(got, got, known_leaves[1]);
	assert_memory_equal(got, want, HB);
}

/* ---- the vector files ---- */

static const char *vectors_dir(void)
{
	const char *dir = getenv("SYNOD_VECTORS");
	if (dir == NULL || dir[0] == '\0') {
		fail_msg("SYNOD_VECTORS is not set (ctest sets it to <repo>/tests/vectors)");
	}
	return dir;
}

static uint64_t json_u64(json_object *o, const char *key, const char *rel)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0) {
		fail_msg("%s: %s is not a non-negative integer", rel, key);
	}
	return json_object_get_uint64(v);
}

static int json_want_err(json_object *o, const char *rel)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, "wantErr", &v) ||
	    !json_object_is_type(v, json_type_boolean)) {
		fail_msg("%s: wantErr is not a boolean", rel);
	}
	return json_object_get_boolean(v) ? 1 : 0;
}

static const char *json_desc(json_object *o)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, "desc", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		return "?";
	}
	return json_object_get_string(v);
}

/* Decodes a base64 hash. Returns 0, or 1 when it is not exactly 32 bytes: the API cannot
 * take it (a synod caller rejects it while decoding), and out gets random bytes instead, a
 * stand-in with which the verifier must still reject the case. */
static int vec_hash_decode(json_object *v, uint8_t out[HB], const char *rel)
{
	uint8_t buf[2 * HB];
	size_t len = 0;
	if (!json_object_is_type(v, json_type_string)) {
		fail_msg("%s: a hash is not a string", rel);
	}
	const char *b64 = json_object_get_string(v);
	size_t b64_len = (size_t)json_object_get_string_len(v);
	if (synod_base64_decode(buf, sizeof buf, &len, b64, b64_len) == 0 && len == HB) {
		memcpy(out, buf, HB);
		return 0;
	}
	rng_fill(out, HB);
	return 1;
}

static int vec_hash(json_object *o, const char *key, uint8_t out[HB], const char *rel)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, key, &v)) {
		fail_msg("%s: no %s", rel, key);
	}
	return vec_hash_decode(v, out, rel);
}

/* "proof": null or an array of base64 hashes. Returns 1 when one is malformed. */
static int vec_proof(json_object *o, uint8_t (*proof)[HB], size_t *proof_len, const char *rel)
{
	json_object *v = NULL;
	int malformed = 0;
	*proof_len = 0;
	if (!json_object_object_get_ex(o, "proof", &v)) {
		fail_msg("%s: no proof", rel);
	}
	if (v == NULL) {
		return 0; /* JSON null: empty proof */
	}
	if (!json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) > VEC_PROOF_MAX) {
		fail_msg("%s: proof is not an array of at most %u hashes", rel, VEC_PROOF_MAX);
	}
	*proof_len = json_object_array_length(v);
	for (size_t i = 0; i < *proof_len; i++) {
		malformed |= vec_hash_decode(json_object_array_get_idx(v, i), proof[i], rel);
	}
	return malformed;
}

/* Per directory (inclusion/0, consistency/additional, ...) */
struct vec_tally {
	unsigned files;     /* regular files found */
	unsigned run;       /* cases run and checked */
	unsigned ok;        /* valid proofs that verified */
	unsigned rejected;  /* invalid proofs that failed with SYNOD_EPROOF */
	unsigned malformed; /* of those, with a hash not 32 bytes long */
	unsigned divergent; /* listed in vec_divergences */
};

/* Cases whose expectation synod's API cannot meet, each with the reason. Each must be hit. */
static struct vec_divergence {
	const char *rel;
	const char *why;
	unsigned hits;
} vec_divergences[] = {
    {"consistency/additional/sizes-are-equal-one-and-proof-is-empty.json",
     "its roots are the 12-byte placeholder \"don't care 2\"; the Go API compares byte strings "
     "of any length, synod's takes 32-byte hashes, so a synod caller rejects it at decoding. "
     "The rule it tests (equal sizes, an empty proof and equal roots verify) is checked by "
     "merkle_consistency_edges and consistency/0/happy-path.json.",
     0},
};

static struct vec_divergence *vec_divergence_find(const char *rel)
{
	for (size_t i = 0; i < sizeof vec_divergences / sizeof vec_divergences[0]; i++) {
		if (strcmp(vec_divergences[i].rel, rel) == 0) {
			return &vec_divergences[i];
		}
	}
	return NULL;
}

static void vec_expect(const char *rel, json_object *o, int malformed, int rc, struct vec_tally *t)
{
	int want_err = json_want_err(o, rel);
	struct vec_divergence *dv = vec_divergence_find(rel);
	if (dv != NULL) {
		if (want_err || !malformed) {
			fail_msg("%s: listed as divergent but is no longer: %s", rel, dv->why);
		}
		dv->hits++;
		t->divergent++;
	} else if (!want_err && (malformed || rc != 0)) {
		fail_msg("%s (%s): want success, got %s%s", rel, json_desc(o), synod_strerror(rc),
		         malformed ? " (a hash is not 32 bytes)" : "");
	} else if (want_err && rc != SYNOD_EPROOF) {
		fail_msg("%s (%s): want SYNOD_EPROOF, got %d", rel, json_desc(o), rc);
	} else if (want_err) {
		t->rejected++;
		t->malformed += malformed ? 1u : 0u;
	} else {
		t->ok++;
	}
	t->run++;
}

static void inclusion_case(const char *path, const char *rel, struct vec_tally *t)
{
	uint8_t leaf[HB];
	uint8_t root[HB];
	uint8_t proof[VEC_PROOF_MAX][HB];
	size_t proof_len = 0;
	json_object *o = json_object_from_file(path);
	if (o == NULL) {
		fail_msg("%s: not JSON", rel);
	}
	uint64_t index = json_u64(o, "leafIdx", rel);
	uint64_t size = json_u64(o, "treeSize", rel);
	int malformed = vec_hash(o, "leafHash", leaf, rel);
	malformed |= vec_hash(o, "root", root, rel);
	malformed |= vec_proof(o, proof, &proof_len, rel);
	int rc = synod_merkle_inclusion_verify(leaf, index, size, CH(proof), proof_len, root);
	vec_expect(rel, o, malformed, rc, t);
	json_object_put(o);
}

static void consistency_case(const char *path, const char *rel, struct vec_tally *t)
{
	uint8_t root1[HB];
	uint8_t root2[HB];
	uint8_t proof[VEC_PROOF_MAX][HB];
	size_t proof_len = 0;
	json_object *o = json_object_from_file(path);
	if (o == NULL) {
		fail_msg("%s: not JSON", rel);
	}
	uint64_t size1 = json_u64(o, "size1", rel);
	uint64_t size2 = json_u64(o, "size2", rel);
	int malformed = vec_hash(o, "root1", root1, rel);
	malformed |= vec_hash(o, "root2", root2, rel);
	malformed |= vec_proof(o, proof, &proof_len, rel);
	int rc = synod_merkle_consistency_verify(size1, size2, root1, root2, CH(proof), proof_len);
	vec_expect(rel, o, malformed, rc, t);
	json_object_put(o);
}

typedef void (*vec_case_fn)(const char *path, const char *rel, struct vec_tally *t);

static void join(char *out, const char *a, const char *b)
{
	int n = snprintf(out, PATH_BYTES_MAX, "%s/%s", a, b);
	assert_true(n > 0 && (size_t)n < PATH_BYTES_MAX);
}

/* Runs fn on every regular file under dir, at most two directory levels down (as in
 * inclusion/additional/0/). rel names files relative to testdata/. */
static void vec_walk(const char *dir, const char *rel, unsigned depth, vec_case_fn fn,
                     struct vec_tally *t)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	if (d == NULL) {
		fail_msg("cannot open %s", dir);
	}
	while ((e = readdir(d)) != NULL) {
		char path[PATH_BYTES_MAX];
		char sub[PATH_BYTES_MAX];
		struct stat st;
		if (e->d_name[0] == '.') {
			continue;
		}
		join(path, dir, e->d_name);
		join(sub, rel, e->d_name);
		assert_int_equal(stat(path, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			assert_true(depth < 2);
			vec_walk(path, sub, depth + 1, fn, t);
		} else {
			t->files++;
			fn(path, sub, t);
		}
	}
	closedir(d);
}

/* Runs every file of testdata/<kind>/<group>/ for each group, printing a line per group. */
static unsigned vec_run_kind(const char *kind, vec_case_fn fn)
{
	char top[PATH_BYTES_MAX];
	char kind_dir[PATH_BYTES_MAX];
	struct vec_tally all = {0};
	struct dirent *e;
	join(top, vectors_dir(), "transparency-dev-merkle/testdata");
	join(kind_dir, top, kind);
	DIR *d = opendir(kind_dir);
	if (d == NULL) {
		fail_msg("cannot open %s", kind_dir);
	}
	while ((e = readdir(d)) != NULL) {
		char dir[PATH_BYTES_MAX];
		char rel[PATH_BYTES_MAX];
		struct vec_tally t = {0};
		if (e->d_name[0] == '.') {
			continue;
		}
		join(dir, kind_dir, e->d_name);
		join(rel, kind, e->d_name);
		vec_walk(dir, rel, 0, fn, &t);
		print_message(
		    "%-26s %3u files, %3u run: %3u verified, %3u rejected (%u with a hash "
		    "not 32 bytes), %u divergent\n",
		    rel, t.files, t.run, t.ok, t.rejected, t.malformed, t.divergent);
		assert_true(t.files > 0);
		assert_int_equal(t.run, t.files);
		assert_int_equal(t.run, t.ok + t.rejected + t.divergent);
		all.files += t.files;
		all.run += t.run;
		all.ok += t.ok;
	}
	closedir(d);
	print_message("%-26s %3u files, %3u run, %u valid\n", kind, all.files, all.run, all.ok);
	assert_true(all.run > 0 && all.ok > 0);
	assert_int_equal(all.run, all.files);
	return all.run;
}

static void merkle_vectors_inclusion(void **state)
{
	(void)state;
	(void)vec_run_kind("inclusion", inclusion_case);
}

static void merkle_vectors_consistency(void **state)
{
	(void)state;
	(void)vec_run_kind("consistency", consistency_case);
	for (size_t i = 0; i < sizeof vec_divergences / sizeof vec_divergences[0]; i++) {
		assert_int_equal(vec_divergences[i].hits, 1);
	}
}

static unsigned vec_count_files(const char *dir, unsigned depth)
{
	unsigned n = 0;
	struct dirent *e;
	DIR *d = opendir(dir);
	if (d == NULL) {
		fail_msg("cannot open %s", dir);
	}
	while ((e = readdir(d)) != NULL) {
		char path[PATH_BYTES_MAX];
		struct stat st;
		if (e->d_name[0] == '.') {
			continue;
		}
		join(path, dir, e->d_name);
		assert_int_equal(stat(path, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			assert_true(depth < 2);
			n += vec_count_files(path, depth + 1);
		} else {
			n++;
		}
	}
	closedir(d);
	return n;
}

/* subtreeinclusion/ and subtreeconsistency/ hold proofs about a subtree [start, end) of a
 * tree (fields start, end, size), checked by transparency-dev's subtree verifiers. RFC 9162
 * defines no such proofs and synod has no such API, so these directories are counted and
 * skipped, deliberately. Checked when they were copied: 98 of the 101 subtreeinclusion and
 * 100 of the 102 subtreeconsistency files with start == 0 are the same case as a file in
 * inclusion/ or consistency/; the others are index-out-of-range errors, and two cases that
 * accept an empty subtree (start == end == size == 0), which RFC 9162 consistency (and
 * consistency/additional/) rejects. */
static void merkle_vectors_subtree_skipped(void **state)
{
	(void)state;
	static const char *const skipped[] = {"subtreeinclusion", "subtreeconsistency"};
	for (size_t i = 0; i < 2; i++) {
		char top[PATH_BYTES_MAX];
		char dir[PATH_BYTES_MAX];
		join(top, vectors_dir(), "transparency-dev-merkle/testdata");
		join(dir, top, skipped[i]);
		unsigned n = vec_count_files(dir, 0);
		print_message("%-26s %3u files, skipped: subtree proofs, not an RFC 9162 API\n",
		              skipped[i], n);
		assert_true(n > 0);
	}
}

/* Decodes a hash that must be well formed (happy paths). */
static void vec_hash_strict(json_object *o, const char *key, uint8_t out[HB], const char *rel)
{
	if (vec_hash(o, key, out, rel) != 0) {
		fail_msg("%s: %s is not a 32-byte hash", rel, key);
	}
}

static json_object *vec_happy_path(const char *kind, unsigned group, char rel[PATH_BYTES_MAX])
{
	char path[PATH_BYTES_MAX];
	int n = snprintf(rel, PATH_BYTES_MAX, "%s/%u/happy-path.json", kind, group);
	assert_true(n > 0 && (size_t)n < PATH_BYTES_MAX);
	n = snprintf(path, sizeof path, "%s/transparency-dev-merkle/testdata/%s", vectors_dir(),
	             rel);
	assert_true(n > 0 && (size_t)n < sizeof path);
	json_object *o = json_object_from_file(path);
	if (o == NULL) {
		fail_msg("%s: not JSON", rel);
	}
	assert_false(json_want_err(o, rel));
	return o;
}

static void vec_proof_equal(json_object *o, const uint8_t (*proof)[HB], size_t proof_len,
                            const char *rel)
{
	uint8_t want[VEC_PROOF_MAX][HB];
	size_t want_len = 0;
	assert_int_equal(vec_proof(o, want, &want_len, rel), 0);
	if (want_len != proof_len) {
		fail_msg("%s: proof has %zu hashes, the vector %zu", rel, proof_len, want_len);
	}
	for (size_t i = 0; i < want_len; i++) {
		if (memcmp(want[i], proof[i], HB) != 0) {
			fail_msg("%s: proof hash %zu differs from the vector's", rel, i);
		}
	}
}

/* The producers must reproduce the vectors' valid proofs from the leaves they came from. */
static void merkle_vectors_happy_paths_reproduced(void **state)
{
	(void)state;
	uint8_t proof[PROOF_CAP][HB];
	uint8_t want[HB];
	uint8_t got[HB];
	size_t proof_len = 0;
	char rel[PATH_BYTES_MAX];
	known_leaves_init();
	for (unsigned g = 0; g <= 4; g++) {
		json_object *o = vec_happy_path("inclusion", g, rel);
		uint64_t index = json_u64(o, "leafIdx", rel);
		uint64_t size = json_u64(o, "treeSize", rel);
		assert_true(index < size && size <= 8);
		vec_hash_strict(o, "leafHash", want, rel);
		assert_memory_equal(known_leaves[index], want, HB);
		vec_hash_strict(o, "root", want, rel);
		assert_int_equal(synod_merkle_root(got, CH(known_leaves), size), 0);
		assert_memory_equal(got, want, HB);
		assert_int_equal(synod_merkle_inclusion_proof(proof, PROOF_CAP, &proof_len,
		                                              CH(known_leaves), size, index),
		                 0);
		vec_proof_equal(o, CH(proof), proof_len, rel);
		json_object_put(o);

		o = vec_happy_path("consistency", g, rel);
		uint64_t size1 = json_u64(o, "size1", rel);
		uint64_t size2 = json_u64(o, "size2", rel);
		assert_true(size1 >= 1 && size1 <= size2 && size2 <= 8);
		vec_hash_strict(o, "root1", want, rel);
		assert_int_equal(synod_merkle_root(got, CH(known_leaves), size1), 0);
		assert_memory_equal(got, want, HB);
		vec_hash_strict(o, "root2", want, rel);
		assert_int_equal(synod_merkle_root(got, CH(known_leaves), size2), 0);
		assert_memory_equal(got, want, HB);
		assert_int_equal(synod_merkle_consistency_proof(proof, PROOF_CAP, &proof_len,
		                                                CH(known_leaves), size1, size2),
		                 0);
		vec_proof_equal(o, CH(proof), proof_len, rel);
		json_object_put(o);
	}
}

/* ---- exhaustive checks over random leaves ---- */

static uint8_t leaves[PROBE_SIZE_MAX][HB];
static uint8_t roots[PROBE_SIZE_MAX + 1][HB]; /* roots[n]: root of the first n leaves */

static int random_tree_setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < PROBE_SIZE_MAX; i++) {
		uint8_t data[40];
		size_t len = (size_t)(rng_next() % sizeof data);
		rng_fill(data, len);
		synod_merkle_leaf_hash(leaves[i], data, len);
	}
	for (uint64_t n = 0; n <= PROBE_SIZE_MAX; n++) {
		if (synod_merkle_root(roots[n], CH(leaves), n) != 0) {
			return -1;
		}
	}
	return 0;
}

static void merkle_root_matches_definition(void **state)
{
	(void)state;
	uint8_t want[HB];
	for (uint64_t n = 0; n <= PROBE_SIZE_MAX; n++) {
		ref_mth(want, CH(leaves), n);
		assert_memory_equal(roots[n], want, HB);
	}
}

/* Flips bits of each proof hash in turn; each flip must make verify fail. verify is a
 * closure over everything but the proof. Every bit for small trees, one bit per byte
 * (rotating) for larger ones: a verifier that ignored any byte would be caught either way. */
typedef int (*verify_fn)(const uint8_t (*proof)[HB], size_t proof_len, const void *ctx);

static void flip_each_bit(uint8_t (*proof)[HB], size_t proof_len, uint64_t tree_size,
                          verify_fn verify, const void *ctx)
{
	unsigned step = tree_size <= FLIP_ALL_MAX ? 1u : 8u;
	for (size_t i = 0; i < proof_len; i++) {
		for (unsigned bit = 0; bit < 8u * HB; bit += step) {
			unsigned b = step == 1u ? bit : bit + (bit / 8u + (unsigned)i) % 8u;
			proof[i][b / 8u] ^= (uint8_t)(1u << (b % 8u));
			assert_int_equal(verify(CH(proof), proof_len, ctx), SYNOD_EPROOF);
			proof[i][b / 8u] ^= (uint8_t)(1u << (b % 8u));
		}
	}
	assert_int_equal(verify(CH(proof), proof_len, ctx), 0);
}

struct incl_ctx {
	uint64_t index;
	uint64_t size;
};

static int incl_verify(const uint8_t (*proof)[HB], size_t proof_len, const void *ctx)
{
	const struct incl_ctx *c = ctx;
	return synod_merkle_inclusion_verify(leaves[c->index], c->index, c->size, proof, proof_len,
	                                     roots[c->size]);
}

/* Truncated, extended, and with a hash inserted or dropped in front: all fail. */
static void check_lengths(uint8_t (*proof)[HB], size_t proof_len, verify_fn verify, const void *ctx)
{
	uint8_t longer[PROOF_CAP + 1][HB];
	assert_true(proof_len < PROOF_CAP);
	if (proof_len > 0) {
		assert_int_equal(verify(CH(proof), proof_len - 1, ctx), SYNOD_EPROOF);
		assert_int_equal(verify(CH(proof + 1), proof_len - 1, ctx), SYNOD_EPROOF);
	}
	memcpy(longer, proof, proof_len * HB);
	rng_fill(longer[proof_len], HB);
	assert_int_equal(verify(CH(longer), proof_len + 1, ctx), SYNOD_EPROOF);
	memcpy(longer[1], proof, proof_len * HB);
	assert_int_equal(verify(CH(longer), proof_len + 1, ctx), SYNOD_EPROOF);
}

/* The right proof with a wrong leaf or root fails. */
static void incl_wrong_hashes(const uint8_t (*proof)[HB], size_t proof_len, uint64_t index,
                              uint64_t size)
{
	uint8_t junk[HB];
	const uint8_t *leaf = leaves[index];
	const uint8_t *other = leaves[(index + 1) % PROBE_SIZE_MAX];
	rng_fill(junk, HB);
	assert_int_equal(
	    synod_merkle_inclusion_verify(other, index, size, proof, proof_len, roots[size]),
	    SYNOD_EPROOF);
	assert_int_equal(
	    synod_merkle_inclusion_verify(junk, index, size, proof, proof_len, roots[size]),
	    SYNOD_EPROOF);
	assert_int_equal(
	    synod_merkle_inclusion_verify(leaf, index, size, proof, proof_len, roots[size - 1]),
	    SYNOD_EPROOF);
	assert_int_equal(synod_merkle_inclusion_verify(leaf, index, size, proof, proof_len, junk),
	                 SYNOD_EPROOF);
	/* a root that differs in any one byte: the whole root is compared */
	for (size_t b = 0; b < HB; b++) {
		memcpy(junk, roots[size], HB);
		junk[b] ^= 0x80;
		assert_int_equal(
		    synod_merkle_inclusion_verify(leaf, index, size, proof, proof_len, junk),
		    SYNOD_EPROOF);
	}
}

/* The proof for (index, size) tried at every other index and size: it verifies exactly
 * when the model says the verifier cannot tell them apart. Returns how many did. */
static unsigned incl_other_params(const uint8_t (*proof)[HB], size_t proof_len, uint64_t index,
                                  uint64_t size)
{
	struct shape own = path_shape(index, size);
	unsigned same = 0;
	for (uint64_t i = 0; i <= size + 1; i++) {
		if (i == index) {
			continue;
		}
		int rc = synod_merkle_inclusion_verify(leaves[index], i, size, proof, proof_len,
		                                       roots[size]);
		assert_int_equal(rc, SYNOD_EPROOF);
	}
	for (uint64_t n = 0; n <= PROBE_SIZE_MAX; n++) {
		if (n == size) {
			continue;
		}
		struct shape other = path_shape(index, n);
		int want_ok = index < n && shape_equal(&own, &other);
		int rc = synod_merkle_inclusion_verify(leaves[index], index, n, proof, proof_len,
		                                       roots[size]);
		assert_int_equal(rc, want_ok ? 0 : SYNOD_EPROOF);
		same += want_ok ? 1u : 0u;
	}
	return same;
}

static void merkle_inclusion_exhaustive(void **state)
{
	(void)state;
	uint8_t proof[PROOF_CAP][HB];
	uint8_t want[PROOF_CAP][HB];
	unsigned checked = 0;
	unsigned same_shape = 0;
	for (uint64_t size = 1; size <= LEAVES_MAX; size++) {
		for (uint64_t index = 0; index < size; index++) {
			size_t len = 0;
			struct shape ref = {.len = 0, .out = want};
			assert_int_equal(synod_merkle_inclusion_proof(proof, PROOF_CAP, &len,
			                                              CH(leaves), size, index),
			                 0);
			ref_path(&ref, index, CH(leaves), size);
			assert_int_equal(len, ref.len);
			assert_memory_equal(proof, want, len * HB);
			struct incl_ctx ctx = {index, size};
			assert_int_equal(incl_verify(CH(proof), len, &ctx), 0);
			flip_each_bit(proof, len, size, incl_verify, &ctx);
			check_lengths(proof, len, incl_verify, &ctx);
			incl_wrong_hashes(CH(proof), len, index, size);
			same_shape += incl_other_params(CH(proof), len, index, size);
			checked++;
		}
	}
	print_message("inclusion: %u proofs checked; %u verified at another tree size with the "
	              "same shape, as RFC 9162 allows\n",
	              checked, same_shape);
	assert_int_equal(checked, LEAVES_MAX * (LEAVES_MAX + 1) / 2);
	/* the model's own example */
	struct shape a = path_shape(0, 3);
	struct shape b = path_shape(0, 4);
	assert_true(shape_equal(&a, &b));
	assert_true(same_shape > 0);
}

struct cons_ctx {
	uint64_t size1;
	uint64_t size2;
};

static int cons_verify(const uint8_t (*proof)[HB], size_t proof_len, const void *ctx)
{
	const struct cons_ctx *c = ctx;
	return synod_merkle_consistency_verify(c->size1, c->size2, roots[c->size1], roots[c->size2],
	                                       proof, proof_len);
}

/* The right proof with a wrong, random or swapped root fails. */
static void cons_wrong_roots(const uint8_t (*proof)[HB], size_t proof_len, uint64_t size1,
                             uint64_t size2)
{
	uint8_t junk[HB];
	const uint8_t *root1 = roots[size1];
	const uint8_t *root2 = roots[size2];
	rng_fill(junk, HB);
	assert_int_equal(synod_merkle_consistency_verify(size1, size2, roots[size1 - 1], root2,
	                                                 proof, proof_len),
	                 SYNOD_EPROOF);
	assert_int_equal(
	    synod_merkle_consistency_verify(size1, size2, junk, root2, proof, proof_len),
	    SYNOD_EPROOF);
	assert_int_equal(synod_merkle_consistency_verify(size1, size2, root1, roots[size2 + 1],
	                                                 proof, proof_len),
	                 SYNOD_EPROOF);
	assert_int_equal(
	    synod_merkle_consistency_verify(size1, size2, root1, junk, proof, proof_len),
	    SYNOD_EPROOF);
	/* roots that differ in any one byte: the whole roots are compared */
	for (size_t b = 0; b < HB; b++) {
		memcpy(junk, root1, HB);
		junk[b] ^= 0x80;
		assert_int_equal(
		    synod_merkle_consistency_verify(size1, size2, junk, root2, proof, proof_len),
		    SYNOD_EPROOF);
		memcpy(junk, root2, HB);
		junk[b] ^= 0x80;
		assert_int_equal(
		    synod_merkle_consistency_verify(size1, size2, root1, junk, proof, proof_len),
		    SYNOD_EPROOF);
	}
	if (size1 != size2) {
		assert_int_equal(
		    synod_merkle_consistency_verify(size1, size2, root2, root1, proof, proof_len),
		    SYNOD_EPROOF);
	}
}

/* Whether the proof for (size1, size2) must verify as (m, n) with the same two roots. */
static int cons_want_ok(uint64_t size1, uint64_t size2, size_t proof_len, uint64_t m, uint64_t n)
{
	if (m == 0 || m > n) {
		return 0;
	}
	if (m == n) {
		return proof_len == 0 && memcmp(roots[size1], roots[size2], HB) == 0;
	}
	struct shape own = subproof_shape(size1, size2);
	struct shape other = subproof_shape(m, n);
	return size1 < size2 && shape_equal(&own, &other);
}

static unsigned cons_other_params(const uint8_t (*proof)[HB], size_t proof_len, uint64_t size1,
                                  uint64_t size2)
{
	unsigned same = 0;
	for (uint64_t m = 0; m <= size2 + 1; m++) {
		if (m == size1) {
			continue;
		}
		int want_ok = cons_want_ok(size1, size2, proof_len, m, size2);
		int rc = synod_merkle_consistency_verify(m, size2, roots[size1], roots[size2],
		                                         proof, proof_len);
		assert_int_equal(rc, want_ok ? 0 : SYNOD_EPROOF);
		same += want_ok ? 1u : 0u;
	}
	for (uint64_t n = 0; n <= PROBE_SIZE_MAX; n++) {
		if (n == size2) {
			continue;
		}
		int want_ok = cons_want_ok(size1, size2, proof_len, size1, n);
		int rc = synod_merkle_consistency_verify(size1, n, roots[size1], roots[size2],
		                                         proof, proof_len);
		assert_int_equal(rc, want_ok ? 0 : SYNOD_EPROOF);
		same += want_ok ? 1u : 0u;
	}
	return same;
}

static void merkle_consistency_exhaustive(void **state)
{
	(void)state;
	uint8_t proof[PROOF_CAP][HB];
	uint8_t want[PROOF_CAP][HB];
	unsigned checked = 0;
	unsigned same_shape = 0;
	for (uint64_t size2 = 1; size2 <= LEAVES_MAX; size2++) {
		for (uint64_t size1 = 1; size1 <= size2; size1++) {
			size_t len = 0;
			struct shape ref = {.len = 0, .out = want};
			assert_int_equal(synod_merkle_consistency_proof(proof, PROOF_CAP, &len,
			                                                CH(leaves), size1, size2),
			                 0);
			ref_subproof(&ref, size1, CH(leaves), size2, 1);
			assert_int_equal(len, ref.len);
			assert_memory_equal(proof, want, len * HB);
			struct cons_ctx ctx = {size1, size2};
			assert_int_equal(cons_verify(CH(proof), len, &ctx), 0);
			flip_each_bit(proof, len, size2, cons_verify, &ctx);
			check_lengths(proof, len, cons_verify, &ctx);
			cons_wrong_roots(CH(proof), len, size1, size2);
			same_shape += cons_other_params(CH(proof), len, size1, size2);
			checked++;
		}
	}
	print_message("consistency: %u proofs checked; %u verified at other sizes with the same "
	              "shape (or equal sizes and roots), as RFC 9162 allows\n",
	              checked, same_shape);
	assert_int_equal(checked, LEAVES_MAX * (LEAVES_MAX + 1) / 2);
}

/* ---- edges and errors ---- */

static void merkle_inclusion_edges(void **state)
{
	(void)state;
	uint8_t proof[PROOF_CAP + 1][HB];
	size_t len = 99;
	memset(proof, 0, sizeof proof);
	/* producer */
	assert_int_equal(synod_merkle_inclusion_proof(proof, PROOF_CAP, &len, NULL, 0, 0),
	                 SYNOD_EINVAL);
	assert_int_equal(len, 0);
	assert_int_equal(synod_merkle_inclusion_proof(proof, PROOF_CAP, &len, CH(leaves), 5, 5),
	                 SYNOD_EINVAL);
	assert_int_equal(synod_merkle_inclusion_proof(proof, 2, &len, CH(leaves), 5, 0),
	                 SYNOD_ELIMIT); /* needs 3 */
	assert_int_equal(len, 0);
	assert_int_equal(synod_merkle_inclusion_proof(NULL, 0, &len, CH(leaves), 1, 0), 0);
	assert_int_equal(len, 0);
	assert_int_equal(
	    synod_merkle_inclusion_proof(proof, PROOF_CAP, &len, CH(leaves), UINT64_MAX, 0),
	    SYNOD_ELIMIT); /* cannot be an array; never read */
	/* verifier: size 0, index out of range, one-leaf tree */
	assert_int_equal(synod_merkle_inclusion_verify(roots[0], 0, 0, NULL, 0, roots[0]),
	                 SYNOD_EPROOF);
	assert_int_equal(synod_merkle_inclusion_verify(leaves[0], 1, 1, NULL, 0, leaves[0]),
	                 SYNOD_EPROOF);
	assert_int_equal(
	    synod_merkle_inclusion_verify(leaves[0], UINT64_MAX, 8, CH(proof), 3, roots[8]),
	    SYNOD_EPROOF);
	assert_int_equal(synod_merkle_inclusion_verify(leaves[0], 0, 1, NULL, 0, leaves[0]), 0);
	assert_int_equal(synod_merkle_inclusion_verify(leaves[0], 0, 1, NULL, 0, leaves[1]),
	                 SYNOD_EPROOF);
	/* over the limit: rejected before it is read */
	assert_int_equal(synod_merkle_inclusion_verify(leaves[0], 0, UINT64_MAX, CH(proof),
	                                               PROOF_CAP + 1, roots[1]),
	                 SYNOD_EPROOF);
}

/* Valid proofs for trees far too large to build: leaf 0 and the last leaf of a tree of
 * 2^64 - 1 leaves. Every sibling of leaf 0 is on its right, every sibling of the last leaf
 * on its left, so the root is a fold of the proof. */
static void merkle_inclusion_huge_tree(void **state)
{
	(void)state;
	uint8_t proof[PROOF_CAP][HB];
	uint8_t root[HB];
	const uint64_t size = UINT64_MAX;
	rng_fill((uint8_t *)proof, sizeof proof);
	memcpy(root, leaves[0], HB);
	for (size_t i = 0; i < 64; i++) {
		synod_merkle_node_hash(root, root, proof[i]);
	}
	assert_int_equal(synod_merkle_inclusion_verify(leaves[0], 0, size, CH(proof), 64, root), 0);
	assert_int_equal(synod_merkle_inclusion_verify(leaves[0], 0, size, CH(proof), 63, root),
	                 SYNOD_EPROOF);
	assert_int_equal(synod_merkle_inclusion_verify(leaves[0], 0, size, CH(proof), 65, root),
	                 SYNOD_EPROOF);
	assert_int_equal(synod_merkle_inclusion_verify(leaves[0], 1, size, CH(proof), 64, root),
	                 SYNOD_EPROOF);
	/* the last leaf, index 2^64 - 2: 63 levels (sizes 2^64-1, 2^63-1, ..., 3, 1) */
	memcpy(root, leaves[1], HB);
	for (size_t i = 0; i < 63; i++) {
		synod_merkle_node_hash(root, proof[i], root);
	}
	assert_int_equal(
	    synod_merkle_inclusion_verify(leaves[1], size - 1, size, CH(proof), 63, root), 0);
	assert_int_equal(
	    synod_merkle_inclusion_verify(leaves[1], size - 2, size, CH(proof), 63, root),
	    SYNOD_EPROOF);
	struct shape sh = path_shape(size - 1, size);
	assert_int_equal(sh.len, 63);
}

static void merkle_consistency_edges(void **state)
{
	(void)state;
	uint8_t proof[PROOF_CAP + 1][HB];
	size_t len = 99;
	memset(proof, 0, sizeof proof);
	/* producer */
	assert_int_equal(synod_merkle_consistency_proof(proof, PROOF_CAP, &len, CH(leaves), 0, 5),
	                 SYNOD_EINVAL);
	assert_int_equal(len, 0);
	assert_int_equal(synod_merkle_consistency_proof(proof, PROOF_CAP, &len, CH(leaves), 6, 5),
	                 SYNOD_EINVAL);
	assert_int_equal(synod_merkle_consistency_proof(proof, 1, &len, CH(leaves), 3, 7),
	                 SYNOD_ELIMIT);
	assert_int_equal(synod_merkle_consistency_proof(NULL, 0, &len, CH(leaves), 7, 7), 0);
	assert_int_equal(len, 0);
	assert_int_equal(
	    synod_merkle_consistency_proof(proof, PROOF_CAP, &len, CH(leaves), 1, UINT64_MAX),
	    SYNOD_ELIMIT);
	/* size1 == size2: empty proof and equal roots, nothing else */
	assert_int_equal(synod_merkle_consistency_verify(5, 5, roots[5], roots[5], NULL, 0), 0);
	assert_int_equal(synod_merkle_consistency_verify(5, 5, roots[5], roots[4], NULL, 0),
	                 SYNOD_EPROOF);
	assert_int_equal(synod_merkle_consistency_verify(5, 5, roots[5], roots[5], CH(proof), 1),
	                 SYNOD_EPROOF);
	/* size1 == 0 never verifies (the vectors' convention) */
	assert_int_equal(synod_merkle_consistency_verify(0, 0, roots[0], roots[0], NULL, 0),
	                 SYNOD_EPROOF);
	assert_int_equal(synod_merkle_consistency_verify(0, 5, roots[0], roots[5], NULL, 0),
	                 SYNOD_EPROOF);
	/* size1 > size2, empty proof for size1 < size2, over the limit */
	assert_int_equal(synod_merkle_consistency_verify(6, 5, roots[6], roots[5], NULL, 0),
	                 SYNOD_EPROOF);
	assert_int_equal(synod_merkle_consistency_verify(4, 5, roots[4], roots[5], NULL, 0),
	                 SYNOD_EPROOF);
	assert_int_equal(synod_merkle_consistency_verify(1, UINT64_MAX, roots[1], roots[2],
	                                                 CH(proof), PROOF_CAP + 1),
	                 SYNOD_EPROOF);
	/* huge sizes: no crash, no valid proof by accident */
	for (size_t n = 0; n <= PROOF_CAP; n++) {
		assert_int_equal(synod_merkle_consistency_verify(UINT64_MAX - 1, UINT64_MAX,
		                                                 roots[1], roots[2], CH(proof), n),
		                 SYNOD_EPROOF);
		assert_int_equal(synod_merkle_consistency_verify(1, UINT64_MAX, roots[1], roots[2],
		                                                 CH(proof), n),
		                 SYNOD_EPROOF);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(merkle_known_roots),
	    cmocka_unit_test(merkle_vectors_happy_paths_reproduced),
	    cmocka_unit_test(merkle_vectors_inclusion),
	    cmocka_unit_test(merkle_vectors_consistency),
	    cmocka_unit_test(merkle_vectors_subtree_skipped),
	    cmocka_unit_test(merkle_root_matches_definition),
	    cmocka_unit_test(merkle_inclusion_exhaustive),
	    cmocka_unit_test(merkle_consistency_exhaustive),
	    cmocka_unit_test(merkle_inclusion_edges),
	    cmocka_unit_test(merkle_inclusion_huge_tree),
	    cmocka_unit_test(merkle_consistency_edges),
	};
	return cmocka_run_group_tests(tests, random_tree_setup, NULL);
}

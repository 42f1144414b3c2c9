/* RFC 9162 section 2.1 Merkle trees: roots, inclusion and consistency proofs.
 *
 * Producers walk down from the root without recursion: at each level the proof gains the
 * root of the sibling subtree, computed by merkle_range_root in O(leaves) time with a
 * 64-entry stack. The siblings met on the way down are the proof read backwards, so the
 * proof length is computed first and the proof filled from its end. */
#include "common/merkle.h"

#include "common/assert.h"
#include "common/hash.h"

#include <string.h>

#define MERKLE_LEAF_PREFIX 0x00u
#define MERKLE_NODE_PREFIX 0x01u
/* Subtree roots pending in merkle_range_root: one per set bit of the leaf count. */
#define MERKLE_STACK_DEPTH 64u
/* Leaf hash arrays longer than this cannot be in memory. */
#define MERKLE_LEAVES_MAX ((uint64_t)(SIZE_MAX / SYNOD_HASH_BYTES))

_Static_assert(SYNOD_HASH_BYTES == SYNOD_SHA256_BYTES, "Merkle hashes are SHA-256");
/* A size below 2^64 needs at most 64 inclusion hashes and 65 consistency hashes. */
_Static_assert(SYNOD_MERKLE_PROOF_HASHES_MAX >= 65, "proofs of any 64-bit tree size fit");

void synod_merkle_leaf_hash(uint8_t out[SYNOD_HASH_BYTES], const uint8_t *data, size_t len)
{
	const uint8_t prefix = MERKLE_LEAF_PREFIX;
	struct synod_sha256 h;
	SYNOD_ASSERT(data != NULL || len == 0);
	synod_sha256_init(&h);
	synod_sha256_update(&h, &prefix, 1);
	if (len > 0) {
		synod_sha256_update(&h, data, len);
	}
	synod_sha256_final(&h, out);
}

void synod_merkle_node_hash(uint8_t out[SYNOD_HASH_BYTES], const uint8_t left[SYNOD_HASH_BYTES],
                            const uint8_t right[SYNOD_HASH_BYTES])
{
	const uint8_t prefix = MERKLE_NODE_PREFIX;
	struct synod_sha256 h;
	/* Both inputs are read before out is written, so out may alias either. */
	synod_sha256_init(&h);
	synod_sha256_update(&h, &prefix, 1);
	synod_sha256_update(&h, left, SYNOD_HASH_BYTES);
	synod_sha256_update(&h, right, SYNOD_HASH_BYTES);
	synod_sha256_final(&h, out);
}

/* The largest power of two strictly below n (n >= 2): where RFC 9162 splits a tree. */
static uint64_t merkle_split(uint64_t n)
{
	SYNOD_ASSERT(n >= 2);
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

static int merkle_is_pow2(uint64_t n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

/* MTH of count >= 1 leaf hashes. The stack holds the roots of the perfect subtrees seen so
 * far, largest first; they merge as soon as two of equal size meet, and what is left folds
 * right to left, which is the RFC 9162 shape (left subtrees perfect, right ones smaller). */
static void merkle_range_root(uint8_t out[SYNOD_HASH_BYTES],
                              const uint8_t (*leaves)[SYNOD_HASH_BYTES], uint64_t count)
{
	uint8_t stack[MERKLE_STACK_DEPTH][SYNOD_HASH_BYTES];
	size_t depth = 0;
	SYNOD_ASSERT(count >= 1 && count <= MERKLE_LEAVES_MAX);
	for (uint64_t i = 0; i < count; i++) {
		SYNOD_ASSERT(depth < MERKLE_STACK_DEPTH);
		memcpy(stack[depth], leaves[i], SYNOD_HASH_BYTES);
		depth++;
		for (uint64_t done = i + 1; (done & 1) == 0; done >>= 1) {
			synod_merkle_node_hash(stack[depth - 2], stack[depth - 2],
			                       stack[depth - 1]);
			depth--;
		}
	}
	while (depth > 1) {
		synod_merkle_node_hash(stack[depth - 2], stack[depth - 2], stack[depth - 1]);
		depth--;
	}
	memcpy(out, stack[0], SYNOD_HASH_BYTES);
}

int synod_merkle_root(uint8_t out[SYNOD_HASH_BYTES], const uint8_t (*leaf_hashes)[SYNOD_HASH_BYTES],
                      uint64_t n)
{
	if (n > MERKLE_LEAVES_MAX) {
		return SYNOD_ELIMIT;
	}
	if (n == 0) {
		synod_sha256(out, "", 0);
		return 0;
	}
	SYNOD_ASSERT(leaf_hashes != NULL);
	merkle_range_root(out, leaf_hashes, n);
	return 0;
}

/* Length of PATH(index, D[0:n]): one hash per level walked down to the leaf. */
static size_t inclusion_proof_len(uint64_t index, uint64_t n)
{
	size_t len = 0;
	while (n > 1) {
		uint64_t k = merkle_split(n);
		if (index < k) {
			n = k;
		} else {
			index -= k;
			n -= k;
		}
		len++;
	}
	return len;
}

int synod_merkle_inclusion_proof(uint8_t (*proof)[SYNOD_HASH_BYTES], size_t proof_cap,
                                 size_t *proof_len, const uint8_t (*leaf_hashes)[SYNOD_HASH_BYTES],
                                 uint64_t n, uint64_t index)
{
	SYNOD_ASSERT(proof_len != NULL);
	*proof_len = 0;
	if (index >= n) {
		return SYNOD_EINVAL;
	}
	if (n > MERKLE_LEAVES_MAX) {
		return SYNOD_ELIMIT;
	}
	size_t len = inclusion_proof_len(index, n);
	SYNOD_ASSERT(len <= SYNOD_MERKLE_PROOF_HASHES_MAX);
	if (len > proof_cap) {
		return SYNOD_ELIMIT;
	}
	SYNOD_ASSERT(leaf_hashes != NULL && (proof != NULL || len == 0));
	/* Walk down [lo, lo + n); the sibling met at each level goes one slot further left. */
	size_t pos = len;
	size_t lo = 0;
	while (n > 1) {
		uint64_t k = merkle_split(n);
		SYNOD_ASSERT(pos > 0);
		pos--;
		if (index < k) {
			merkle_range_root(proof[pos], leaf_hashes + lo + k, n - k);
			n = k;
		} else {
			merkle_range_root(proof[pos], leaf_hashes + lo, k);
			lo += (size_t)k;
			index -= k;
			n -= k;
		}
	}
	SYNOD_ASSERT(pos == 0);
	*proof_len = len;
	return 0;
}

/* Length of PROOF(m, D[0:n]) for 0 < m <= n: one hash per level walked down until the
 * subtree is exactly the old tree's part, plus that part's root unless it is the whole old
 * tree (SUBPROOF's flag b is still true only while every step went left). */
static size_t consistency_proof_len(uint64_t m, uint64_t n)
{
	size_t len = 0;
	int whole = 1;
	while (m != n) {
		uint64_t k = merkle_split(n);
		if (m <= k) {
			n = k;
		} else {
			m -= k;
			n -= k;
			whole = 0;
		}
		len++;
	}
	return whole ? len : len + 1;
}

static void consistency_proof_fill(uint8_t (*proof)[SYNOD_HASH_BYTES], size_t len,
                                   const uint8_t (*leaf_hashes)[SYNOD_HASH_BYTES], uint64_t m,
                                   uint64_t n)
{
	size_t pos = len;
	size_t lo = 0;
	int whole = 1;
	while (m != n) {
		uint64_t k = merkle_split(n);
		SYNOD_ASSERT(pos > 0);
		pos--;
		if (m <= k) {
			merkle_range_root(proof[pos], leaf_hashes + lo + k, n - k);
			n = k;
		} else {
			merkle_range_root(proof[pos], leaf_hashes + lo, k);
			lo += (size_t)k;
			m -= k;
			n -= k;
			whole = 0;
		}
	}
	if (!whole) {
		SYNOD_ASSERT(pos == 1);
		pos--;
		merkle_range_root(proof[pos], leaf_hashes + lo, m);
	}
	SYNOD_ASSERT(pos == 0);
}

int synod_merkle_consistency_proof(uint8_t (*proof)[SYNOD_HASH_BYTES], size_t proof_cap,
                                   size_t *proof_len,
                                   const uint8_t (*leaf_hashes)[SYNOD_HASH_BYTES], uint64_t size1,
                                   uint64_t size2)
{
	SYNOD_ASSERT(proof_len != NULL);
	*proof_len = 0;
	if (size1 == 0 || size1 > size2) {
		return SYNOD_EINVAL;
	}
	if (size2 > MERKLE_LEAVES_MAX) {
		return SYNOD_ELIMIT;
	}
	size_t len = consistency_proof_len(size1, size2);
	SYNOD_ASSERT(len <= SYNOD_MERKLE_PROOF_HASHES_MAX);
	if (len > proof_cap) {
		return SYNOD_ELIMIT;
	}
	SYNOD_ASSERT(leaf_hashes != NULL && (proof != NULL || len == 0));
	consistency_proof_fill(proof, len, leaf_hashes, size1, size2);
	*proof_len = len;
	return 0;
}

/* RFC 9162: "right-shift both fn and sn equally until either LSB(fn) is set or fn is 0".
 * At most 63 steps: fn halves each time. */
static void merkle_shift_to_odd(uint64_t *fn, uint64_t *sn)
{
	while ((*fn & 1) == 0 && *fn != 0) {
		*fn >>= 1;
		*sn >>= 1;
	}
}

int synod_merkle_inclusion_verify(const uint8_t leaf_hash[SYNOD_HASH_BYTES], uint64_t index,
                                  uint64_t size, const uint8_t (*proof)[SYNOD_HASH_BYTES],
                                  size_t proof_len, const uint8_t root[SYNOD_HASH_BYTES])
{
	SYNOD_ASSERT(leaf_hash != NULL && root != NULL && (proof != NULL || proof_len == 0));
	if (index >= size || proof_len > SYNOD_MERKLE_PROOF_HASHES_MAX) {
		return SYNOD_EPROOF;
	}
	uint64_t fn = index;
	uint64_t sn = size - 1;
	uint8_t r[SYNOD_HASH_BYTES];
	memcpy(r, leaf_hash, SYNOD_HASH_BYTES);
	for (size_t i = 0; i < proof_len; i++) {
		if (sn == 0) {
			return SYNOD_EPROOF; /* proof longer than the path */
		}
		if ((fn & 1) == 1 || fn == sn) {
			synod_merkle_node_hash(r, proof[i], r);
			merkle_shift_to_odd(&fn, &sn);
		} else {
			synod_merkle_node_hash(r, r, proof[i]);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || !synod_bytes_equal(r, root, SYNOD_HASH_BYTES)) {
		return SYNOD_EPROOF;
	}
	return 0;
}

/* The consistency path of RFC 9162 section 2.1.4.2 step 2: the proof, with first_hash in
 * front when size1 is a power of two. Read in place rather than copied. */
struct consistency_path {
	const uint8_t *first_hash;
	const uint8_t (*proof)[SYNOD_HASH_BYTES];
	size_t len;
	int prepended;
};

static const uint8_t *consistency_path_at(const struct consistency_path *p, size_t i)
{
	SYNOD_ASSERT(i < p->len);
	if (p->prepended) {
		return i == 0 ? p->first_hash : p->proof[i - 1];
	}
	return p->proof[i];
}

/* Steps 3 to 7 of RFC 9162 section 2.1.4.2, for 0 < size1 < size2 and a non-empty path. */
static int consistency_verify_path(const struct consistency_path *path, uint64_t size1,
                                   uint64_t size2, const uint8_t root1[SYNOD_HASH_BYTES],
                                   const uint8_t root2[SYNOD_HASH_BYTES])
{
	uint64_t fn = size1 - 1;
	uint64_t sn = size2 - 1;
	uint8_t fr[SYNOD_HASH_BYTES];
	uint8_t sr[SYNOD_HASH_BYTES];
	while ((fn & 1) == 1) {
		fn >>= 1;
		sn >>= 1;
	}
	memcpy(fr, consistency_path_at(path, 0), SYNOD_HASH_BYTES);
	memcpy(sr, fr, SYNOD_HASH_BYTES);
	for (size_t i = 1; i < path->len; i++) {
		const uint8_t *c = consistency_path_at(path, i);
		if (sn == 0) {
			return SYNOD_EPROOF; /* proof longer than the path */
		}
		if ((fn & 1) == 1 || fn == sn) {
			synod_merkle_node_hash(fr, c, fr);
			synod_merkle_node_hash(sr, c, sr);
			merkle_shift_to_odd(&fn, &sn);
		} else {
			synod_merkle_node_hash(sr, sr, c);
		}
		fn >>= 1;
		sn >>= 1;
	}
	/* Both comparisons always run: which one failed is not worth a timing difference. */
	int ok1 = synod_bytes_equal(fr, root1, SYNOD_HASH_BYTES);
	int ok2 = synod_bytes_equal(sr, root2, SYNOD_HASH_BYTES);
	return sn == 0 && ok1 && ok2 ? 0 : SYNOD_EPROOF;
}

int synod_merkle_consistency_verify(uint64_t size1, uint64_t size2,
                                    const uint8_t root1[SYNOD_HASH_BYTES],
                                    const uint8_t root2[SYNOD_HASH_BYTES],
                                    const uint8_t (*proof)[SYNOD_HASH_BYTES], size_t proof_len)
{
	SYNOD_ASSERT(root1 != NULL && root2 != NULL && (proof != NULL || proof_len == 0));
	if (size1 == 0 || size1 > size2 || proof_len > SYNOD_MERKLE_PROOF_HASHES_MAX) {
		return SYNOD_EPROOF;
	}
	if (size1 == size2) {
		int same = synod_bytes_equal(root1, root2, SYNOD_HASH_BYTES);
		return proof_len == 0 && same ? 0 : SYNOD_EPROOF;
	}
	if (proof_len == 0) {
		return SYNOD_EPROOF; /* step 1 */
	}
	struct consistency_path path = {
	    .first_hash = root1,
	    .proof = proof,
	    .len = proof_len,
	    .prepended = merkle_is_pow2(size1),
	};
	if (path.prepended) {
		path.len++;
	}
	return consistency_verify_path(&path, size1, size2, root1, root2);
}

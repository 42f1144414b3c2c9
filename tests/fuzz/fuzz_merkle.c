/* Fuzzes the Merkle proof verifiers and checks the producers against them.
 *
 * Input: a mode byte, then
 *   mode 0 (inclusion verify):   flags, index u64, size u64, leaf[32], root[32], proof
 *   mode 1 (consistency verify): flags, size1 u64, size2 u64, root1[32], root2[32], proof
 *   mode 2 (round trip):         n u16, index u16, size1 u16, flip u16, leaf seed (rest)
 * Integers are big-endian; missing bytes read as zero; the proof is every whole 32-byte
 * hash left, however many (the limit is the verifier's to enforce). Flag bits 0 and 1 make
 * the first and second integer small, so that real tree shapes come up as well as huge ones.
 *
 * Properties: the verifiers never crash and return 0 or SYNOD_EPROOF, always SYNOD_EPROOF
 * for the inputs they must reject on their face; a proof the producer made for (index, n)
 * or (size1, n) always verifies against synod_merkle_root, and no longer does once a bit of
 * it is flipped. */
#include "common/assert.h"
#include "common/merkle.h"

#include <string.h>

#define HB                  SYNOD_HASH_BYTES
#define FUZZ_LEAVES_MAX     200u
#define FUZZ_SMALL_MAX      70u
#define FUZZ_SEED_BYTES_MAX 32u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct reader {
	const uint8_t *p;
	size_t len;
	size_t pos;
};

static uint64_t reader_uint(struct reader *r, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++) {
		uint8_t b = r->pos < r->len ? r->p[r->pos] : 0;
		r->pos += r->pos < r->len ? 1u : 0u;
		v = (v << 8) | b;
	}
	return v;
}

/* The next 32 bytes, or a zero hash when the input has ended. */
static const uint8_t *reader_hash(struct reader *r)
{
	static const uint8_t zero[HB];
	if (r->len - r->pos < HB) {
		r->pos = r->len;
		return zero;
	}
	const uint8_t *h = r->p + r->pos;
	r->pos += HB;
	return h;
}

/* The rest of the input as whole hashes; uint8_t arrays need no alignment. */
static const uint8_t (*reader_proof(struct reader *r, size_t *proof_len))[HB]
{
	*proof_len = (r->len - r->pos) / HB;
	return SYNOD_MERKLE_HASHES(r->p + r->pos);
}

static void fuzz_inclusion_verify(struct reader *r)
{
	unsigned flags = (unsigned)reader_uint(r, 1);
	uint64_t index = reader_uint(r, 8);
	uint64_t size = reader_uint(r, 8);
	index = (flags & 1u) != 0 ? index % FUZZ_SMALL_MAX : index;
	size = (flags & 2u) != 0 ? size % FUZZ_SMALL_MAX : size;
	const uint8_t *leaf = reader_hash(r);
	const uint8_t *root = reader_hash(r);
	size_t proof_len = 0;
	const uint8_t(*proof)[HB] = reader_proof(r, &proof_len);
	int rc = synod_merkle_inclusion_verify(leaf, index, size, proof, proof_len, root);
	SYNOD_ASSERT(rc == 0 || rc == SYNOD_EPROOF);
	/* A path in a tree of fewer than 2^64 leaves has at most 64 hashes. */
	if (index >= size || proof_len > 64) {
		SYNOD_ASSERT(rc == SYNOD_EPROOF);
	}
}

static void fuzz_consistency_verify(struct reader *r)
{
	unsigned flags = (unsigned)reader_uint(r, 1);
	uint64_t size1 = reader_uint(r, 8);
	uint64_t size2 = reader_uint(r, 8);
	size1 = (flags & 1u) != 0 ? size1 % FUZZ_SMALL_MAX : size1;
	size2 = (flags & 2u) != 0 ? size2 % FUZZ_SMALL_MAX : size2;
	const uint8_t *root1 = reader_hash(r);
	const uint8_t *root2 = reader_hash(r);
	size_t proof_len = 0;
	const uint8_t(*proof)[HB] = reader_proof(r, &proof_len);
	int rc = synod_merkle_consistency_verify(size1, size2, root1, root2, proof, proof_len);
	SYNOD_ASSERT(rc == 0 || rc == SYNOD_EPROOF);
	if (size1 == 0 || size1 > size2 || proof_len > SYNOD_MERKLE_PROOF_HASHES_MAX ||
	    (size1 == size2 && proof_len > 0) || (size1 < size2 && proof_len == 0)) {
		SYNOD_ASSERT(rc == SYNOD_EPROOF);
	}
}

/* Flips one bit of a non-empty proof, chosen by flip; the proof must then fail. */
static int fuzz_flip(uint8_t (*proof)[HB], size_t proof_len, uint64_t flip)
{
	if (proof_len == 0) {
		return 0;
	}
	uint64_t bit = flip % (8u * HB * proof_len);
	proof[bit / (8u * HB)][(bit / 8u) % HB] ^= (uint8_t)(1u << (bit % 8u));
	return 1;
}

static void fuzz_round_trip(struct reader *r)
{
	static uint8_t leaves[FUZZ_LEAVES_MAX][HB];
	uint8_t proof[SYNOD_MERKLE_PROOF_HASHES_MAX][HB];
	uint8_t root[HB];
	uint8_t root1[HB];
	uint8_t seed[FUZZ_SEED_BYTES_MAX + 2];
	size_t proof_len = 0;
	uint64_t n = 1 + reader_uint(r, 2) % FUZZ_LEAVES_MAX;
	uint64_t index = reader_uint(r, 2) % n;
	uint64_t size1 = 1 + reader_uint(r, 2) % n;
	uint64_t flip = reader_uint(r, 2);
	size_t seed_len = r->len - r->pos;
	seed_len = seed_len < FUZZ_SEED_BYTES_MAX ? seed_len : FUZZ_SEED_BYTES_MAX;
	memcpy(seed, r->p + r->pos, seed_len);
	for (uint64_t i = 0; i < n; i++) {
		seed[seed_len] = (uint8_t)(i >> 8);
		seed[seed_len + 1] = (uint8_t)i;
		synod_merkle_leaf_hash(leaves[i], seed, seed_len + 2);
	}
	SYNOD_ASSERT(synod_merkle_root(root, SYNOD_MERKLE_HASHES(leaves), n) == 0);
	SYNOD_ASSERT(synod_merkle_root(root1, SYNOD_MERKLE_HASHES(leaves), size1) == 0);

	int rc = synod_merkle_inclusion_proof(proof, SYNOD_MERKLE_PROOF_HASHES_MAX, &proof_len,
	                                      SYNOD_MERKLE_HASHES(leaves), n, index);
	SYNOD_ASSERT(rc == 0);
	const uint8_t(*cproof)[HB] = SYNOD_MERKLE_HASHES(proof);
	rc = synod_merkle_inclusion_verify(leaves[index], index, n, cproof, proof_len, root);
	SYNOD_ASSERT(rc == 0);
	if (fuzz_flip(proof, proof_len, flip)) {
		rc =
		    synod_merkle_inclusion_verify(leaves[index], index, n, cproof, proof_len, root);
		SYNOD_ASSERT(rc == SYNOD_EPROOF);
	}

	rc = synod_merkle_consistency_proof(proof, SYNOD_MERKLE_PROOF_HASHES_MAX, &proof_len,
	                                    SYNOD_MERKLE_HASHES(leaves), size1, n);
	SYNOD_ASSERT(rc == 0);
	rc = synod_merkle_consistency_verify(size1, n, root1, root, cproof, proof_len);
	SYNOD_ASSERT(rc == 0);
	if (fuzz_flip(proof, proof_len, flip)) {
		rc = synod_merkle_consistency_verify(size1, n, root1, root, cproof, proof_len);
		SYNOD_ASSERT(rc == SYNOD_EPROOF);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reader r = {.p = data, .len = size, .pos = 0};
	switch (reader_uint(&r, 1) % 3u) {
	case 0:
		fuzz_inclusion_verify(&r);
		break;
	case 1:
		fuzz_consistency_verify(&r);
		break;
	default:
		fuzz_round_trip(&r);
		break;
	}
	return 0;
}

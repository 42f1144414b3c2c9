/* Merkle trees as in RFC 9162 (Certificate Transparency v2), section 2.1, with SHA-256.
 *
 *   leaf hash      = SHA-256(0x00 || data)
 *   node hash      = SHA-256(0x01 || left || right)
 *   empty tree     = SHA-256("")
 *
 * A tree of n leaves splits at k, the largest power of two below n: the left subtree holds
 * leaves [0, k), the right one [k, n).
 *
 * Every hash is SYNOD_HASH_BYTES (32) bytes; a proof is an array of such hashes, deepest
 * first, as RFC 9162 lists them. All pointers are borrowed for the duration of the call and
 * never kept. Producers take the leaf hashes of the whole tree in caller memory; they run
 * in O(n) time with O(log n) stack and never allocate. Verifiers take proofs from peers:
 * anything that does not verify is SYNOD_EPROOF, never an assert, and their loops are
 * bounded by SYNOD_MERKLE_PROOF_HASHES_MAX. */
#ifndef SYNOD_COMMON_MERKLE_H
#define SYNOD_COMMON_MERKLE_H

#include "common/err.h"
#include "common/limits.h"

#include <stddef.h>
#include <stdint.h>

/* Views an array of hashes (uint8_t [n][32]) as the const array the functions below take.
 * C11 does not convert a pointer to an array into a pointer to a const-qualified array
 * implicitly (C23 does); -Wpedantic warns without this cast. */
#define SYNOD_MERKLE_HASHES(p) ((const uint8_t(*)[SYNOD_HASH_BYTES])(p))

/* Writes the leaf hash of len bytes at data (data may be NULL when len is 0). */
void synod_merkle_leaf_hash(uint8_t out[SYNOD_HASH_BYTES], const uint8_t *data, size_t len);

/* Writes the hash of the interior node with children left and right. out may be the same
 * buffer as left or right. */
void synod_merkle_node_hash(uint8_t out[SYNOD_HASH_BYTES], const uint8_t left[SYNOD_HASH_BYTES],
                            const uint8_t right[SYNOD_HASH_BYTES]);

/* Writes MTH(D[0:n]), the root of the tree whose leaf hashes are leaf_hashes[0..n-1]
 * (leaf_hashes may be NULL when n is 0; the root of the empty tree is SHA-256("")).
 * Errors: SYNOD_ELIMIT when n leaf hashes cannot be an array in memory. */
SYNOD_WUR int synod_merkle_root(uint8_t out[SYNOD_HASH_BYTES],
                                const uint8_t (*leaf_hashes)[SYNOD_HASH_BYTES], uint64_t n);

/* Writes PATH(index, D[0:n]) (RFC 9162 section 2.1.3.1), the inclusion proof of leaf index
 * in the tree of the n leaf hashes, into proof[0..*proof_len-1].
 * Errors: SYNOD_EINVAL when index >= n (so also when n is 0); SYNOD_ELIMIT when the proof
 * has more than proof_cap hashes or n leaf hashes cannot be an array in memory.
 * On error *proof_len is 0. */
SYNOD_WUR int synod_merkle_inclusion_proof(uint8_t (*proof)[SYNOD_HASH_BYTES], size_t proof_cap,
                                           size_t *proof_len,
                                           const uint8_t (*leaf_hashes)[SYNOD_HASH_BYTES],
                                           uint64_t n, uint64_t index);

/* Checks that proof shows leaf_hash at index in a tree of size leaves with root root, by the
 * algorithm of RFC 9162 section 2.1.3.2. proof may be NULL when proof_len is 0.
 * Errors: SYNOD_EPROOF when it does not verify, including index >= size, a proof of the
 * wrong length and proof_len > SYNOD_MERKLE_PROOF_HASHES_MAX. */
SYNOD_WUR int synod_merkle_inclusion_verify(const uint8_t leaf_hash[SYNOD_HASH_BYTES],
                                            uint64_t index, uint64_t size,
                                            const uint8_t (*proof)[SYNOD_HASH_BYTES],
                                            size_t proof_len, const uint8_t root[SYNOD_HASH_BYTES]);

/* Writes PROOF(size1, D[0:size2]) (RFC 9162 section 2.1.4.1), the proof that the tree of the
 * first size1 leaf hashes is a prefix of the tree of the first size2, into
 * proof[0..*proof_len-1]. leaf_hashes holds at least size2 hashes. size1 == size2 gives an
 * empty proof.
 * Errors: SYNOD_EINVAL when size1 is 0 or size1 > size2 (no proof exists that
 * synod_merkle_consistency_verify would accept); SYNOD_ELIMIT when the proof has more than
 * proof_cap hashes or size2 leaf hashes cannot be an array in memory.
 * On error *proof_len is 0. */
SYNOD_WUR int synod_merkle_consistency_proof(uint8_t (*proof)[SYNOD_HASH_BYTES], size_t proof_cap,
                                             size_t *proof_len,
                                             const uint8_t (*leaf_hashes)[SYNOD_HASH_BYTES],
                                             uint64_t size1, uint64_t size2);

/* Checks that proof shows the tree of size1 leaves with root root1 is a prefix of the tree
 * of size2 leaves with root root2, by the algorithm of RFC 9162 section 2.1.4.2. proof may be
 * NULL when proof_len is 0. Conventions, as in the transparency-dev/merkle test vectors:
 *   - size1 > size2 fails;
 *   - size1 == 0 fails, whatever size2, the roots and the proof (a consistency proof from
 *     the empty tree proves nothing; the vectors reject even 0 -> 0 with equal roots);
 *   - size1 == size2 verifies exactly when the proof is empty and root1 equals root2.
 * Errors: SYNOD_EPROOF when it does not verify, including a proof of the wrong length and
 * proof_len > SYNOD_MERKLE_PROOF_HASHES_MAX. */
SYNOD_WUR int synod_merkle_consistency_verify(uint64_t size1, uint64_t size2,
                                              const uint8_t root1[SYNOD_HASH_BYTES],
                                              const uint8_t root2[SYNOD_HASH_BYTES],
                                              const uint8_t (*proof)[SYNOD_HASH_BYTES],
                                              size_t proof_len);

#endif

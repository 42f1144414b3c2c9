/* An append-only RFC 9162 Merkle log of leaf hashes (common/merkle.h), such as a
 * coordinator's log of decisions, that answers for any tree size it still knows without
 * keeping every leaf.
 *
 * The log stores the root of every aligned perfect subtree (2^L leaves starting at a
 * multiple of 2^L) that lies wholly at or above base, level by level. Leaves below base are
 * known only through the frontier of base: the roots of the aligned perfect subtrees of the
 * binary decomposition of base, largest (leftmost) first, one per set bit. Any subtree the
 * RFC 9162 shape needs for a size >= base, or for a proof of an index >= base, is then
 * either a stored root, a frontier root, or one that straddles base and is rebuilt from
 * both in at most 64 hashes. Roots cost O(log n) hashes and proofs O(log^2 n); nothing is
 * O(n). Memory is about two hashes per leaf at or above base; synod_merkle_log_forget
 * raises base to release it.
 *
 * A snapshot stores count and synod_merkle_log_frontier; restoring it is
 * synod_merkle_log_reset, after which the log knows nothing below count but that frontier.
 *
 * The struct is in caller memory and owns the level arrays (malloc); the fields are
 * readable, but only these functions change them. All pointer arguments are borrowed for
 * the duration of the call and never kept. Not thread-safe. */
#ifndef SYNOD_COMMON_MERKLE_LOG_H
#define SYNOD_COMMON_MERKLE_LOG_H

#include "common/err.h"
#include "common/limits.h"

#include <stddef.h>
#include <stdint.h>

#define SYNOD_MERKLE_LOG_LEVELS 64u

struct synod_merkle_log {
	uint64_t base;  /* leaves below base are known only through base_frontier */
	uint64_t count; /* leaves appended in all (the tree size) */
	/* popcount(base) roots, leftmost first */
	uint8_t base_frontier[SYNOD_MERKLE_LOG_LEVELS][SYNOD_HASH_BYTES];
	/* level L (0..63): roots of aligned perfect subtrees of 2^L leaves lying wholly at or
	 * above base, i.e. block j covers leaves [j*2^L, (j+1)*2^L), for j from
	 * ceil(base / 2^L) upwards; grown with realloc */
	uint8_t (*level[SYNOD_MERKLE_LOG_LEVELS])[SYNOD_HASH_BYTES];
	uint64_t level_len[SYNOD_MERKLE_LOG_LEVELS];
	uint64_t level_cap[SYNOD_MERKLE_LOG_LEVELS];
};

/* Makes l the empty log: base = count = 0, nothing allocated. */
void synod_merkle_log_init(struct synod_merkle_log *l);

/* Frees what l owns and leaves it empty, as after synod_merkle_log_init. */
void synod_merkle_log_free(struct synod_merkle_log *l);

/* Appends leaf_hash (copied) as leaf count, and count grows by one.
 * Errors: SYNOD_ENOMEM when an array cannot grow; SYNOD_ELIMIT when count is already
 * UINT64_MAX. On error the log is unchanged. */
SYNOD_WUR int synod_merkle_log_append(struct synod_merkle_log *l,
                                      const uint8_t leaf_hash[SYNOD_HASH_BYTES]);

/* Writes MTH(D[0:size]), the root of the tree of the first size leaves (SHA-256("") when
 * size is 0), in O(log size) hashes.
 * Errors: SYNOD_EINVAL when size < base or size > count; SYNOD_ENOTFOUND when a subtree it
 * needs is missing (a bug in this module, never expected). */
SYNOD_WUR int synod_merkle_log_root(const struct synod_merkle_log *l, uint64_t size,
                                    uint8_t out[SYNOD_HASH_BYTES]);

/* Writes PATH(index, D[0:size]) (RFC 9162 section 2.1.3.1) into proof[0..*proof_len-1],
 * deepest first: the same proof synod_merkle_inclusion_proof gives over all the leaves, in
 * O(log^2 size) hashes. proof may be NULL when proof_cap is 0.
 * Errors: SYNOD_EINVAL unless base <= index < size <= count; SYNOD_ELIMIT when the proof
 * has more than proof_cap hashes; SYNOD_ENOTFOUND as for synod_merkle_log_root.
 * On error *proof_len is 0. */
SYNOD_WUR int synod_merkle_log_prove(const struct synod_merkle_log *l, uint64_t index,
                                     uint64_t size, uint8_t (*proof)[SYNOD_HASH_BYTES],
                                     size_t proof_cap, size_t *proof_len);

/* Writes the frontier (compact range) of count into out[0..*n-1]: popcount(count) roots of
 * the aligned perfect subtrees that make up [0, count), leftmost (largest) first. With
 * count it is all synod_merkle_log_reset needs. out may be NULL when cap is 0.
 * Errors: SYNOD_ELIMIT when popcount(count) > cap; SYNOD_ENOTFOUND as for
 * synod_merkle_log_root. On error *n is 0. */
SYNOD_WUR int synod_merkle_log_frontier(const struct synod_merkle_log *l,
                                        uint8_t (*out)[SYNOD_HASH_BYTES], size_t cap, size_t *n);

/* Forgets everything: frees the stored levels and makes base = count = size, with
 * frontier[0..n-1] (copied; it may be l->base_frontier) as the frontier of size, as
 * synod_merkle_log_frontier wrote it. frontier may be NULL when n is 0. Used to restore
 * a snapshot; the frontier is taken as given, not checked.
 * Errors: SYNOD_EINVAL when n != popcount(size); the log is then unchanged. */
SYNOD_WUR int synod_merkle_log_reset(struct synod_merkle_log *l, uint64_t size,
                                     const uint8_t (*frontier)[SYNOD_HASH_BYTES], size_t n);

/* Raises base to new_base: the frontier of new_base is computed from what the log knows,
 * and the stored roots of subtrees not wholly at or above new_base are dropped (arrays
 * compacted, and shrunk or freed when mostly empty). Roots of sizes >= new_base and proofs
 * of indexes >= new_base are unchanged. It allocates nothing, so never fails with
 * SYNOD_ENOMEM (a shrink that realloc refuses keeps the larger array).
 * Errors: SYNOD_EINVAL unless base <= new_base <= count; SYNOD_ENOTFOUND as for
 * synod_merkle_log_root. On error the log is unchanged. */
SYNOD_WUR int synod_merkle_log_forget(struct synod_merkle_log *l, uint64_t new_base);

#endif

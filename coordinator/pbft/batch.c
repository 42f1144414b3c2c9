/* The batch digest: an RFC 9162 Merkle root computed in one pass over the
 * entries with a compact stack of perfect subtrees (no allocation). */
#include "coordinator/pbft/internal.h"

#include "common/hash.h"
#include "common/limits.h"
#include "common/merkle.h"

#include <string.h>

#define BATCH_MERKLE_LEVELS 40 /* more than log2(PBFT_BATCH_ENTRIES_LIMIT) + 1 */

_Static_assert((1ull << (BATCH_MERKLE_LEVELS - 1)) > PBFT_BATCH_ENTRIES_LIMIT,
               "the stack holds one subtree per bit of the entry count");

void pbft_msg_limits_max(struct pbft_msg_limits *out)
{
	*out = (struct pbft_msg_limits){
	    .replicas = PBFT_REPLICAS_MAX,
	    .batch_entries_max = PBFT_BATCH_ENTRIES_LIMIT,
	    .batch_bytes_max = PBFT_BATCH_BYTES_LIMIT,
	    .entry_bytes_max = PBFT_ENTRY_BYTES_LIMIT,
	    .window = PBFT_WINDOW_MAX,
	    .snapshot_bytes_max = PBFT_SNAPSHOT_BYTES_LIMIT,
	    .msg_bytes_max = SYNOD_WIRE_MSG_BYTES_MAX,
	};
}

void pbft_batch_digest(uint8_t out[PBFT_DIGEST_BYTES], const uint8_t *batch, size_t len)
{
	struct pbft_batch_iter it;
	struct pbft_msg_limits lim;
	pbft_msg_limits_max(&lim);
	if (pbft_batch_iter_init(&it, batch, len, &lim) != 0) {
		struct synod_sha256 h;
		static const char domain[] = "synod/pbft/invalid-batch/v1";
		synod_sha256_init(&h);
		synod_sha256_update(&h, domain, sizeof domain);
		synod_sha256_update(&h, batch, len);
		synod_sha256_final(&h, out);
		return;
	}
	uint8_t stack[BATCH_MERKLE_LEVELS][PBFT_DIGEST_BYTES];
	uint8_t level[BATCH_MERKLE_LEVELS];
	uint32_t top = 0;
	const uint8_t *entry;
	uint32_t entry_len;
	while (pbft_batch_iter_next(&it, &entry, &entry_len) == 1) {
		SYNOD_ASSERT(top < BATCH_MERKLE_LEVELS);
		synod_merkle_leaf_hash(stack[top], entry, entry_len);
		level[top++] = 0;
		/* Two perfect subtrees of equal size merge into one. */
		while (top >= 2 && level[top - 1] == level[top - 2]) {
			synod_merkle_node_hash(stack[top - 2], stack[top - 2], stack[top - 1]);
			level[top - 2]++;
			top--;
		}
	}
	if (top == 0) {
		synod_sha256(out, "", 0);
		return;
	}
	/* RFC 9162 splits at the largest power of two: fold right to left. */
	uint8_t root[PBFT_DIGEST_BYTES];
	memcpy(root, stack[top - 1], PBFT_DIGEST_BYTES);
	for (uint32_t i = top - 1; i > 0; i--) {
		synod_merkle_node_hash(root, stack[i - 1], root);
	}
	memcpy(out, root, PBFT_DIGEST_BYTES);
}

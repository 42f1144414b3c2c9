/* Limits shared by every component. Each component keeps its own limits in a
 * header of its own; the ones here bound what common/ parses and produces. */
#ifndef SYNOD_COMMON_LIMITS_H
#define SYNOD_COMMON_LIMITS_H

#include <stdint.h>

/* JSON documents (requests, votes, configs, bundles) */
#define SYNOD_JSON_DEPTH_MAX        32
#define SYNOD_JSON_BYTES_MAX        (4u * 1024u * 1024u)
#define SYNOD_JSON_SAFE_INT_MAX     9007199254740991LL /* 2^53 - 1 */
#define SYNOD_JSON_STRING_BYTES_MAX (1024u * 1024u)
/* Default memory budget of one parse: FACTOR x input bytes + BASE bytes
 * (common/json.h says what is counted). */
#define SYNOD_JSON_MEMORY_FACTOR     16u
#define SYNOD_JSON_MEMORY_BYTES_BASE (64u * 1024u)

/* Wire messages between replicas, voters and clients */
#define SYNOD_WIRE_MSG_BYTES_MAX (16u * 1024u * 1024u)

/* Keys and signatures */
#define SYNOD_PUBKEY_BYTES       32u
#define SYNOD_SIG_BYTES          64u
#define SYNOD_SEED_BYTES         32u
#define SYNOD_CLUSTER_ID_BYTES   32u
#define SYNOD_HASH_BYTES         32u
#define SYNOD_SIGN_TAG_BYTES_MAX 64u
#define SYNOD_SIGN_MSG_BYTES_MAX (16u * 1024u * 1024u)
#define SYNOD_URI_BYTES_MAX      2048u

/* Merkle proofs: a tree of at most 2^63 leaves needs at most 63 hashes for an
 * inclusion proof and at most 2*63 for a consistency proof. */
#define SYNOD_MERKLE_PROOF_HASHES_MAX 128u

/* Configuration files */
#define SYNOD_CONFIG_BYTES_MAX (1024u * 1024u)

/* Log lines */
#define SYNOD_LOG_LINE_BYTES_MAX 2048u

_Static_assert(SYNOD_JSON_DEPTH_MAX >= 8, "configs and bundles nest at least 8 deep");
_Static_assert(SYNOD_CONFIG_BYTES_MAX <= SYNOD_JSON_BYTES_MAX, "configs are JSON documents");

#endif

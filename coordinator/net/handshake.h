/* The replica connection handshake (WebSocket subprotocol "synod-peer.v1").
 *
 * A connection between replicas counts as replica i only after it signed a
 * fresh challenge of the other side with replica i's key. Three messages,
 * each SYNOD_HS_MSG_BYTES long:
 *
 *   msg = type u8 | version u8 | cluster_id[32] | from u16 | to u16 |
 *         challenge[32] | sig[64]                         (big-endian)
 *
 *   1 HELLO      client -> server: its challenge cC (sig zero)
 *   2 HELLO_AUTH server -> client: its challenge cS, sig = S's proof
 *   3 AUTH       client -> server: challenge repeats cC, sig = C's proof
 *
 * A proof is a signature with tag SYNOD_TAG_PEER and the cluster id over
 *     role u8 | signer u16 | verifier u16 | verifier's challenge | signer's
 * challenge
 * with role 'S' or 'C'. Binding the verifier's fresh challenge stops replay;
 * the role stops reflection (a server's proof, which anyone can obtain by
 * connecting, never passes as a client's); signer and verifier indexes stop
 * relaying a proof meant for another replica; the cluster id (in the signed
 * bytes) stops cross-cluster use. After AUTH the client sends PBFT messages
 * only; the server sends nothing more on that connection. */
#ifndef SYNOD_NET_HANDSHAKE_H
#define SYNOD_NET_HANDSHAKE_H

#include "common/err.h"
#include "common/limits.h"
#include "common/sign.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYNOD_HS_VERSION         1u
#define SYNOD_HS_CHALLENGE_BYTES 32u
#define SYNOD_HS_MSG_BYTES       (2u + SYNOD_CLUSTER_ID_BYTES + 4u + SYNOD_HS_CHALLENGE_BYTES + 64u)
#define SYNOD_HS_PROOF_BYTES     (1u + 4u + 2u * SYNOD_HS_CHALLENGE_BYTES)
#define SYNOD_PEER_PROTOCOL      "synod-peer.v1"

enum synod_hs_type {
	SYNOD_HS_HELLO = 1,
	SYNOD_HS_HELLO_AUTH = 2,
	SYNOD_HS_AUTH = 3,
};

enum synod_hs_role {
	SYNOD_HS_ROLE_CLIENT = 'C',
	SYNOD_HS_ROLE_SERVER = 'S',
};

struct synod_hs_msg {
	uint8_t type;
	uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES];
	uint16_t from;
	uint16_t to;
	uint8_t challenge[SYNOD_HS_CHALLENGE_BYTES];
	uint8_t sig[SYNOD_SIG_BYTES];
};

void synod_hs_encode(const struct synod_hs_msg *m, uint8_t out[SYNOD_HS_MSG_BYTES]);
/* SYNOD_EPROTO for a wrong length or type, SYNOD_EVERSION for a version. */
SYNOD_WUR int synod_hs_decode(struct synod_hs_msg *m, const uint8_t *in, size_t len);

/* Signs the proof of role by signer for verifier (signer borrowed). */
SYNOD_WUR int synod_hs_prove(struct synod_signer *s,
                             const uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES],
                             enum synod_hs_role role, uint16_t signer, uint16_t verifier,
                             const uint8_t verifier_challenge[SYNOD_HS_CHALLENGE_BYTES],
                             const uint8_t signer_challenge[SYNOD_HS_CHALLENGE_BYTES],
                             uint8_t sig[SYNOD_SIG_BYTES]);
/* 0 when sig is pk's proof of role; SYNOD_EBADSIG otherwise. */
SYNOD_WUR int synod_hs_check(const uint8_t sig[SYNOD_SIG_BYTES],
                             const uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES],
                             enum synod_hs_role role, uint16_t signer, uint16_t verifier,
                             const uint8_t verifier_challenge[SYNOD_HS_CHALLENGE_BYTES],
                             const uint8_t signer_challenge[SYNOD_HS_CHALLENGE_BYTES],
                             const uint8_t pk[SYNOD_PUBKEY_BYTES]);

#endif

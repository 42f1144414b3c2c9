/* The replica connection handshake (handshake.h). */
#include "coordinator/net/handshake.h"

#include "common/wire.h"

#include <string.h>

void synod_hs_encode(const struct synod_hs_msg *m, uint8_t out[SYNOD_HS_MSG_BYTES])
{
	struct synod_wbuf b;
	synod_wbuf_init(&b, out, SYNOD_HS_MSG_BYTES);
	synod_wbuf_u8(&b, m->type);
	synod_wbuf_u8(&b, SYNOD_HS_VERSION);
	synod_wbuf_bytes(&b, m->cluster_id, SYNOD_CLUSTER_ID_BYTES);
	synod_wbuf_u16(&b, m->from);
	synod_wbuf_u16(&b, m->to);
	synod_wbuf_bytes(&b, m->challenge, SYNOD_HS_CHALLENGE_BYTES);
	synod_wbuf_bytes(&b, m->sig, SYNOD_SIG_BYTES);
}

int synod_hs_decode(struct synod_hs_msg *m, const uint8_t *in, size_t len)
{
	if (len != SYNOD_HS_MSG_BYTES) {
		return SYNOD_EPROTO;
	}
	if (in[1] != SYNOD_HS_VERSION) {
		return SYNOD_EVERSION;
	}
	if (in[0] < SYNOD_HS_HELLO || in[0] > SYNOD_HS_AUTH) {
		return SYNOD_EPROTO;
	}
	const uint8_t *p = in;
	m->type = p[0];
	p += 2;
	memcpy(m->cluster_id, p, SYNOD_CLUSTER_ID_BYTES);
	p += SYNOD_CLUSTER_ID_BYTES;
	m->from = (uint16_t)(p[0] << 8 | p[1]);
	m->to = (uint16_t)(p[2] << 8 | p[3]);
	p += 4;
	memcpy(m->challenge, p, SYNOD_HS_CHALLENGE_BYTES);
	p += SYNOD_HS_CHALLENGE_BYTES;
	memcpy(m->sig, p, SYNOD_SIG_BYTES);
	return 0;
}

static void proof_bytes(uint8_t out[SYNOD_HS_PROOF_BYTES], enum synod_hs_role role, uint16_t signer,
                        uint16_t verifier,
                        const uint8_t verifier_challenge[SYNOD_HS_CHALLENGE_BYTES],
                        const uint8_t signer_challenge[SYNOD_HS_CHALLENGE_BYTES])
{
	struct synod_wbuf b;
	synod_wbuf_init(&b, out, SYNOD_HS_PROOF_BYTES);
	synod_wbuf_u8(&b, (uint8_t)role);
	synod_wbuf_u16(&b, signer);
	synod_wbuf_u16(&b, verifier);
	synod_wbuf_bytes(&b, verifier_challenge, SYNOD_HS_CHALLENGE_BYTES);
	synod_wbuf_bytes(&b, signer_challenge, SYNOD_HS_CHALLENGE_BYTES);
}

int synod_hs_prove(struct synod_signer *s, const uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES],
                   enum synod_hs_role role, uint16_t signer, uint16_t verifier,
                   const uint8_t verifier_challenge[SYNOD_HS_CHALLENGE_BYTES],
                   const uint8_t signer_challenge[SYNOD_HS_CHALLENGE_BYTES],
                   uint8_t sig[SYNOD_SIG_BYTES])
{
	uint8_t msg[SYNOD_HS_PROOF_BYTES];
	proof_bytes(msg, role, signer, verifier, verifier_challenge, signer_challenge);
	return synod_signer_sign(s, sig, SYNOD_TAG_PEER, cluster_id, msg, sizeof msg);
}

int synod_hs_check(const uint8_t sig[SYNOD_SIG_BYTES],
                   const uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES], enum synod_hs_role role,
                   uint16_t signer, uint16_t verifier,
                   const uint8_t verifier_challenge[SYNOD_HS_CHALLENGE_BYTES],
                   const uint8_t signer_challenge[SYNOD_HS_CHALLENGE_BYTES],
                   const uint8_t pk[SYNOD_PUBKEY_BYTES])
{
	uint8_t msg[SYNOD_HS_PROOF_BYTES];
	proof_bytes(msg, role, signer, verifier, verifier_challenge, signer_challenge);
	return synod_sig_verify(sig, SYNOD_TAG_PEER, cluster_id, msg, sizeof msg, pk) == 0
	           ? 0
	           : SYNOD_EBADSIG;
}

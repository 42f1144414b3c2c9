/* The production PBFT crypto adapter: Ed25519 through common/sign.h with the
 * domain tag SYNOD_TAG_PBFT and the cluster id, so a COMMIT signed for one
 * cluster (or as anything but a PBFT message) never verifies as another. */
#include "common/sign.h"
#include "coordinator/app/app.h"

#include <stddef.h>

_Static_assert(offsetof(struct synod_pbft_signer, cluster_id) == 0,
               "a signer context is also a pointer to its cluster id");
_Static_assert(PBFT_SIG_BYTES == SYNOD_SIG_BYTES, "PBFT signatures are Ed25519");

int synod_pbft_crypto_verify(void *ctx, const uint8_t sig[PBFT_SIG_BYTES], const uint8_t *msg,
                             size_t len, const uint8_t pk[32])
{
	const uint8_t *cluster_id = ctx;
	return synod_sig_verify(sig, SYNOD_TAG_PBFT, cluster_id, msg, len, pk) == 0 ? 0
	                                                                            : SYNOD_EBADSIG;
}

int synod_pbft_crypto_sign(void *ctx, uint8_t sig[PBFT_SIG_BYTES], const uint8_t *msg, size_t len)
{
	struct synod_pbft_signer *s = ctx;
	return synod_signer_sign(s->signer, sig, SYNOD_TAG_PBFT, s->cluster_id, msg, len);
}

struct pbft_crypto synod_pbft_crypto(struct synod_pbft_signer *s)
{
	struct pbft_crypto t = {
	    .ctx = s,
	    .sign = synod_pbft_crypto_sign,
	    .verify = synod_pbft_crypto_verify,
	};
	return t;
}

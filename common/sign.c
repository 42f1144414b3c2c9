/* Domain separation, the signer dispatch by URI scheme, and verification. */
#include "common/sign.h"

#include "common/assert.h"
#include "common/log.h"
#include "common/sign_internal.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

SYNOD_COUNTER(sign_made_counter, "synod_signatures_made_total", "Ed25519 signatures made");
SYNOD_COUNTER(sign_failed_counter, "synod_signatures_failed_total",
              "signing attempts that failed (bad input, HSM or crypto error)");
SYNOD_COUNTER(verify_failed_counter, "synod_signature_verifications_failed_total",
              "signatures that did not verify");

static _Atomic int sign_sodium_ready;

void synod_sign_errf(char *errmsg, size_t errmsg_len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	synod_verrf(errmsg, errmsg_len, fmt, ap);
	va_end(ap);
}

int synod_sign_sodium_init(void)
{
	if (atomic_load(&sign_sodium_ready)) {
		return 0;
	}
	/* sodium_init is idempotent and thread-safe; racing callers are fine. */
	if (sodium_init() < 0) {
		return SYNOD_ECRYPTO;
	}
	atomic_store(&sign_sodium_ready, 1);
	return 0;
}

static int sign_tag_check(const char *tag, size_t *tag_len)
{
	if (tag == NULL) {
		return SYNOD_EINVAL;
	}
	*tag_len = strnlen(tag, SYNOD_SIGN_TAG_BYTES_MAX + 1);
	if (*tag_len == 0 || *tag_len > SYNOD_SIGN_TAG_BYTES_MAX) {
		return SYNOD_EINVAL;
	}
	return 0;
}

int synod_sign_input(uint8_t *out, size_t cap, size_t *len, const char *tag,
                     const uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES], const uint8_t *msg,
                     size_t msg_len)
{
	size_t tag_len = 0;
	*len = 0;
	int rc = sign_tag_check(tag, &tag_len);
	if (rc != 0) {
		return rc;
	}
	if (msg_len > SYNOD_SIGN_MSG_BYTES_MAX) {
		return SYNOD_ELIMIT;
	}
	size_t need = SYNOD_SIGN_INPUT_BYTES(tag_len, msg_len);
	if (cap < need) {
		return SYNOD_ELIMIT;
	}
	out[0] = (uint8_t)tag_len;
	memcpy(out + 1, tag, tag_len);
	memcpy(out + 1 + tag_len, cluster_id, SYNOD_CLUSTER_ID_BYTES);
	if (msg_len > 0) {
		memcpy(out + 1 + tag_len + SYNOD_CLUSTER_ID_BYTES, msg, msg_len);
	}
	*len = need;
	SYNOD_ASSERT(out[0] == tag_len);
	return 0;
}

/* Frames the message into stack (SYNOD_SIGN_STACK_BYTES) when it fits, else
 * into a malloc'd buffer; *buf points at whichever was used. The caller frees
 * *buf when it is not stack. */
static int sign_frame(uint8_t *stack, uint8_t **buf, size_t *len, const char *tag,
                      const uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES], const uint8_t *msg,
                      size_t msg_len)
{
	size_t tag_len = 0;
	int rc = sign_tag_check(tag, &tag_len);
	if (rc != 0) {
		return rc;
	}
	if (msg_len > SYNOD_SIGN_MSG_BYTES_MAX) {
		return SYNOD_ELIMIT;
	}
	size_t need = SYNOD_SIGN_INPUT_BYTES(tag_len, msg_len);
	*buf = stack;
	if (need > SYNOD_SIGN_STACK_BYTES) {
		*buf = malloc(need);
		if (*buf == NULL) {
			return SYNOD_ENOMEM;
		}
	}
	rc = synod_sign_input(*buf, need, len, tag, cluster_id, msg, msg_len);
	SYNOD_ASSERT(rc == 0 && *len == need);
	return 0;
}

static int signer_uri_check(const char *uri, char *errmsg, size_t errmsg_len)
{
	if (uri == NULL) {
		synod_sign_errf(errmsg, errmsg_len, "no signer URI given");
		return SYNOD_EURI;
	}
	if (strnlen(uri, SYNOD_URI_BYTES_MAX + 1) > SYNOD_URI_BYTES_MAX) {
		synod_sign_errf(errmsg, errmsg_len, "signer URI longer than %u bytes",
		                SYNOD_URI_BYTES_MAX);
		return SYNOD_ELIMIT;
	}
	if (strncmp(uri, "file:", 5) != 0 && strncmp(uri, "pkcs11:", 7) != 0) {
		synod_sign_errf(errmsg, errmsg_len,
		                "signer URI '%.64s' has an unknown scheme: use file:PATH or "
		                "pkcs11:token=...;object=...",
		                uri);
		return SYNOD_EURI;
	}
	return synod_sign_sodium_init();
}

int synod_signer_open(struct synod_signer **out, const char *uri, char *errmsg, size_t errmsg_len)
{
	*out = NULL;
	synod_sign_errf(errmsg, errmsg_len, "%s", "");
	int rc = signer_uri_check(uri, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	struct synod_signer *s = calloc(1, sizeof *s);
	if (s == NULL) {
		synod_sign_errf(errmsg, errmsg_len, "out of memory opening signer");
		return SYNOD_ENOMEM;
	}
	if (strncmp(uri, "file:", 5) == 0) {
		const char *path = NULL;
		rc = synod_file_uri_path(uri, &path, errmsg, errmsg_len);
		if (rc == 0) {
			rc = synod_file_signer_open(s, path, errmsg, errmsg_len);
		}
	} else {
		rc = synod_pkcs11_signer_open(s, uri, errmsg, errmsg_len);
	}
	if (rc != 0) {
		free(s);
		return rc;
	}
	SYNOD_ASSERT(s->ops != NULL && s->impl != NULL);
	*out = s;
	return 0;
}

void synod_signer_close(struct synod_signer *s)
{
	if (s == NULL) {
		return;
	}
	s->ops->close(s);
	sodium_memzero(s, sizeof *s);
	free(s);
}

void synod_signer_pubkey(const struct synod_signer *s, uint8_t pk[SYNOD_PUBKEY_BYTES])
{
	memcpy(pk, s->pk, SYNOD_PUBKEY_BYTES);
}

const char *synod_signer_errmsg(const struct synod_signer *s)
{
	return s->errmsg;
}

int synod_signer_sign(struct synod_signer *s, uint8_t sig[SYNOD_SIG_BYTES], const char *tag,
                      const uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES], const uint8_t *msg,
                      size_t msg_len)
{
	uint8_t stack[SYNOD_SIGN_STACK_BYTES];
	uint8_t *buf = NULL;
	size_t len = 0;
	s->errmsg[0] = '\0';
	int rc = sign_frame(stack, &buf, &len, tag, cluster_id, msg, msg_len);
	if (rc != 0) {
		synod_sign_errf(s->errmsg, sizeof s->errmsg, "cannot frame message: %s",
		                synod_strerror(rc));
		goto fail;
	}
	rc = s->ops->sign(s, sig, buf, len);
	if (buf != stack) {
		free(buf);
	}
	if (rc != 0) {
		goto fail;
	}
	synod_counter_inc(&sign_made_counter);
	return 0;
fail:
	synod_counter_inc(&sign_failed_counter);
	synod_log(SYNOD_LOG_WARN, "sign", "%s signer: %s", s->ops->kind, s->errmsg);
	return rc;
}

int synod_ed25519_verify(const uint8_t sig[SYNOD_SIG_BYTES], const uint8_t *msg, size_t msg_len,
                         const uint8_t pk[SYNOD_PUBKEY_BYTES])
{
	/* libsodium 1.0.18 (built without ED25519_COMPAT) already rejects
	 * S >= L, small-order R and A, a non-canonical A, and (by comparing
	 * the recomputed R byte for byte) a non-canonical R: every Wycheproof
	 * "invalid" case fails without further checks here. */
	if (synod_sign_sodium_init() != 0) {
		return SYNOD_ECRYPTO;
	}
	if (crypto_sign_verify_detached(sig, msg, msg_len, pk) != 0) {
		synod_counter_inc(&verify_failed_counter);
		return SYNOD_EBADSIG;
	}
	return 0;
}

int synod_sig_verify(const uint8_t sig[SYNOD_SIG_BYTES], const char *tag,
                     const uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES], const uint8_t *msg,
                     size_t msg_len, const uint8_t pk[SYNOD_PUBKEY_BYTES])
{
	uint8_t stack[SYNOD_SIGN_STACK_BYTES];
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = sign_frame(stack, &buf, &len, tag, cluster_id, msg, msg_len);
	if (rc != 0) {
		synod_counter_inc(&verify_failed_counter);
		return rc;
	}
	rc = synod_ed25519_verify(sig, buf, len, pk);
	if (buf != stack) {
		free(buf);
	}
	return rc;
}

int synod_keygen(const char *uri, const uint8_t *seed, uint8_t pk[SYNOD_PUBKEY_BYTES], char *errmsg,
                 size_t errmsg_len)
{
	synod_sign_errf(errmsg, errmsg_len, "%s", "");
	int rc = signer_uri_check(uri, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	if (strncmp(uri, "file:", 5) == 0) {
		const char *path = NULL;
		rc = synod_file_uri_path(uri, &path, errmsg, errmsg_len);
		if (rc != 0) {
			return rc;
		}
		return synod_file_keygen(path, seed, pk, errmsg, errmsg_len);
	}
	return synod_pkcs11_keygen(uri, seed, pk, errmsg, errmsg_len);
}

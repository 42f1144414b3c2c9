/* SHA-256, hex and base64url.
 *
 * Encoders write a NUL-terminated string and fail with SYNOD_ELIMIT when the
 * output buffer is too small. Decoders reject any character outside the
 * alphabet, odd-length hex and (for base64url) padding or non-canonical
 * trailing bits, with SYNOD_EINVAL. */
#ifndef SYNOD_COMMON_HASH_H
#define SYNOD_COMMON_HASH_H

#include "common/err.h"

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#define SYNOD_SHA256_BYTES     32u
#define SYNOD_HEX_LEN(n)       (2u * (n) + 1u)             /* with the NUL */
#define SYNOD_BASE64URL_LEN(n) ((4u * (n) + 2u) / 3u + 1u) /* unpadded, with the NUL */

void synod_sha256(uint8_t out[SYNOD_SHA256_BYTES], const void *p, size_t n);

/* Incremental SHA-256. */
struct synod_sha256 {
	crypto_hash_sha256_state st;
};
void synod_sha256_init(struct synod_sha256 *h);
void synod_sha256_update(struct synod_sha256 *h, const void *p, size_t n);
void synod_sha256_final(struct synod_sha256 *h, uint8_t out[SYNOD_SHA256_BYTES]);

SYNOD_WUR int synod_hex_encode(char *out, size_t out_cap, const uint8_t *p, size_t n);
/* Decodes exactly want bytes: hex must be 2*want characters. */
SYNOD_WUR int synod_hex_decode(uint8_t *out, size_t want, const char *hex, size_t hex_len);

SYNOD_WUR int synod_base64url_encode(char *out, size_t out_cap, const uint8_t *p, size_t n);
/* Decodes at most out_cap bytes into out; *out_len gets the count. */
SYNOD_WUR int synod_base64url_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *b64,
                                     size_t b64_len);
/* Standard base64 with padding (RFC 4648 section 4), as used by test vectors
 * and PEM-like formats. Same contract as synod_base64url_decode. */
SYNOD_WUR int synod_base64_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *b64,
                                  size_t b64_len);

/* Constant-time comparison of n bytes; 1 when equal. */
int synod_bytes_equal(const void *a, const void *b, size_t n);

#endif

#include "common/hash.h"

#include <string.h>

void synod_sha256(uint8_t out[SYNOD_SHA256_BYTES], const void *p, size_t n)
{
	crypto_hash_sha256(out, p, n);
}

void synod_sha256_init(struct synod_sha256 *h)
{
	crypto_hash_sha256_init(&h->st);
}

void synod_sha256_update(struct synod_sha256 *h, const void *p, size_t n)
{
	crypto_hash_sha256_update(&h->st, p, n);
}

void synod_sha256_final(struct synod_sha256 *h, uint8_t out[SYNOD_SHA256_BYTES])
{
	crypto_hash_sha256_final(&h->st, out);
}

int synod_hex_encode(char *out, size_t out_cap, const uint8_t *p, size_t n)
{
	if (n > (SIZE_MAX - 1) / 2 || out_cap < 2 * n + 1) {
		return SYNOD_ELIMIT;
	}
	sodium_bin2hex(out, out_cap, p, n);
	return 0;
}

int synod_hex_decode(uint8_t *out, size_t want, const char *hex, size_t hex_len)
{
	size_t got = 0;
	const char *end = NULL;
	if (hex_len != 2 * want) {
		return SYNOD_EINVAL;
	}
	if (sodium_hex2bin(out, want, hex, hex_len, NULL, &got, &end) != 0 || got != want ||
	    end != hex + hex_len) {
		return SYNOD_EINVAL;
	}
	return 0;
}

static int base64_encode_variant(char *out, size_t out_cap, const uint8_t *p, size_t n, int variant)
{
	size_t need = sodium_base64_encoded_len(n, variant);
	if (out_cap < need) {
		return SYNOD_ELIMIT;
	}
	sodium_bin2base64(out, out_cap, p, n, variant);
	return 0;
}

int synod_base64url_encode(char *out, size_t out_cap, const uint8_t *p, size_t n)
{
	return base64_encode_variant(out, out_cap, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static int base64_decode_variant(uint8_t *out, size_t out_cap, size_t *out_len, const char *b64,
                                 size_t b64_len, int variant)
{
	const char *end = NULL;
	*out_len = 0;
	if (sodium_base642bin(out, out_cap, b64, b64_len, NULL, out_len, &end, variant) != 0 ||
	    end != b64 + b64_len) {
		*out_len = 0;
		return SYNOD_EINVAL;
	}
	return 0;
}

int synod_base64url_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *b64,
                           size_t b64_len)
{
	return base64_decode_variant(out, out_cap, out_len, b64, b64_len,
	                             sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int synod_base64_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *b64,
                        size_t b64_len)
{
	return base64_decode_variant(out, out_cap, out_len, b64, b64_len,
	                             sodium_base64_VARIANT_ORIGINAL);
}

int synod_bytes_equal(const void *a, const void *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0;
}

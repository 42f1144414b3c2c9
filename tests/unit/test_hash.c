/* Tests for common/hash.c: SHA-256 known answers (FIPS 180-2 appendix B examples), hex and
 * base64url round trips (RFC 4648 section 10 examples), and rejection of bad input. */
#include "common/hash.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* cmocka.h needs setjmp.h, stdarg.h and stddef.h first */
#include <cmocka.h>

#define HB SYNOD_SHA256_BYTES

static void sha256_hex(char out[SYNOD_HEX_LEN(HB)], const void *p, size_t n)
{
	uint8_t digest[HB];
	synod_sha256(digest, p, n);
	assert_int_equal(synod_hex_encode(out, SYNOD_HEX_LEN(HB), digest, HB), 0);
}

static void hash_sha256_known_answers(void **state)
{
	(void)state;
	static const struct {
		const char *msg;
		const char *digest;
	} kat[] = {
	    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	};
	char hex[SYNOD_HEX_LEN(HB)];
	for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
		sha256_hex(hex, kat[i].msg, strlen(kat[i].msg));
		assert_string_equal(hex, kat[i].digest);
	}
}

/* Incremental hashing, split at every point, equals one-shot hashing; and one million 'a'
 * (FIPS 180-2 B.3) fed in chunks. */
static void hash_sha256_incremental(void **state)
{
	(void)state;
	static const char msg[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	const size_t len = sizeof msg - 1;
	uint8_t want[HB];
	uint8_t got[HB];
	synod_sha256(want, msg, len);
	for (size_t cut = 0; cut <= len; cut++) {
		struct synod_sha256 h;
		synod_sha256_init(&h);
		synod_sha256_update(&h, msg, cut);
		synod_sha256_update(&h, msg + cut, len - cut);
		synod_sha256_final(&h, got);
		assert_memory_equal(got, want, HB);
	}
	char chunk[1000];
	char hex[SYNOD_HEX_LEN(HB)];
	struct synod_sha256 h;
	memset(chunk, 'a', sizeof chunk);
	synod_sha256_init(&h);
	for (size_t i = 0; i < 1000; i++) {
		synod_sha256_update(&h, chunk, sizeof chunk);
	}
	synod_sha256_final(&h, got);
	assert_int_equal(synod_hex_encode(hex, sizeof hex, got, HB), 0);
	assert_string_equal(hex,
	                    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void hash_hex_round_trip(void **state)
{
	(void)state;
	uint8_t in[64];
	uint8_t back[64];
	char hex[SYNOD_HEX_LEN(64)];
	for (size_t i = 0; i < sizeof in; i++) {
		in[i] = (uint8_t)(i * 37u + 11u);
	}
	for (size_t n = 0; n <= sizeof in; n++) {
		assert_int_equal(synod_hex_encode(hex, SYNOD_HEX_LEN(n), in, n), 0);
		assert_int_equal(strlen(hex), 2 * n);
		assert_int_equal(synod_hex_decode(back, n, hex, 2 * n), 0);
		assert_memory_equal(back, in, n);
	}
	const uint8_t all[4] = {0x00, 0x9f, 0xa0, 0xff};
	assert_int_equal(synod_hex_encode(hex, sizeof hex, all, sizeof all), 0);
	assert_string_equal(hex, "009fa0ff"); /* lower case */
}

static void hash_hex_rejects(void **state)
{
	(void)state;
	uint8_t out[4];
	char small[SYNOD_HEX_LEN(4) - 1];
	const uint8_t in[4] = {1, 2, 3, 4};
	/* output buffer one byte short */
	assert_int_equal(synod_hex_encode(small, sizeof small, in, 4), SYNOD_ELIMIT);
	/* odd length, and a length that is not 2 * want */
	assert_int_equal(synod_hex_decode(out, 2, "abc", 3), SYNOD_EINVAL);
	assert_int_equal(synod_hex_decode(out, 1, "abc", 3), SYNOD_EINVAL);
	assert_int_equal(synod_hex_decode(out, 2, "ab", 2), SYNOD_EINVAL);
	assert_int_equal(synod_hex_decode(out, 1, "abcd", 4), SYNOD_EINVAL);
	/* characters outside the alphabet, anywhere */
	static const char *const bad[] = {"0g", "g0", "zz", " 0",      "0 ",
	                                  "0:", "-1", "0x", "\x80\x30"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(synod_hex_decode(out, 1, bad[i], 2), SYNOD_EINVAL);
	}
	/* an embedded NUL is not the end of the input */
	assert_int_equal(synod_hex_decode(out, 2, "ab\0d", 4), SYNOD_EINVAL);
}

/* RFC 4648 section 10, unpadded and URL-safe. */
static void hash_base64url_known_answers(void **state)
{
	(void)state;
	static const struct {
		const char *raw;
		const char *b64;
	} kat[] = {
	    {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
	    {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
	};
	char b64[16];
	uint8_t out[16];
	size_t len = 0;
	for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
		size_t n = strlen(kat[i].raw);
		assert_int_equal(
		    synod_base64url_encode(b64, sizeof b64, (const uint8_t *)kat[i].raw, n), 0);
		assert_string_equal(b64, kat[i].b64);
		assert_int_equal(
		    synod_base64url_decode(out, sizeof out, &len, kat[i].b64, strlen(kat[i].b64)),
		    0);
		assert_int_equal(len, n);
		assert_memory_equal(out, kat[i].raw, n);
	}
	/* the URL-safe alphabet: 0xfb 0xff is "+/8" in standard base64 */
	const uint8_t hi[2] = {0xfb, 0xff};
	assert_int_equal(synod_base64url_encode(b64, sizeof b64, hi, 2), 0);
	assert_string_equal(b64, "-_8");
}

static void hash_base64url_round_trip(void **state)
{
	(void)state;
	uint8_t in[64];
	uint8_t back[64];
	char b64[SYNOD_BASE64URL_LEN(64)];
	size_t len = 0;
	for (size_t i = 0; i < sizeof in; i++) {
		in[i] = (uint8_t)(255u - i * 7u);
	}
	for (size_t n = 0; n <= sizeof in; n++) {
		/* SYNOD_BASE64URL_LEN is exactly enough, one less is not */
		assert_int_equal(synod_base64url_encode(b64, SYNOD_BASE64URL_LEN(n), in, n), 0);
		assert_int_equal(strlen(b64) + 1, SYNOD_BASE64URL_LEN(n));
		assert_int_equal(synod_base64url_encode(b64, SYNOD_BASE64URL_LEN(n) - 1, in, n),
		                 SYNOD_ELIMIT);
		assert_int_equal(synod_base64url_encode(b64, SYNOD_BASE64URL_LEN(n), in, n), 0);
		assert_int_equal(synod_base64url_decode(back, n, &len, b64, strlen(b64)), 0);
		assert_int_equal(len, n);
		assert_memory_equal(back, in, n);
		if (n > 0) { /* output buffer one byte short */
			assert_int_equal(
			    synod_base64url_decode(back, n - 1, &len, b64, strlen(b64)),
			    SYNOD_EINVAL);
			assert_int_equal(len, 0);
		}
	}
}

static void hash_base64url_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "Zg==",     /* padding */
	    "Zm8=",     /* padding */
	    "Zg=",      /* padding */
	    "+/8",      /* standard alphabet */
	    "Zm9v+w",   /* standard alphabet */
	    "Zm9v/w",   /* standard alphabet */
	    "Zm9v YQ",  /* space */
	    "Zm9v\nYQ", /* newline */
	    "Zm9v.Q",   /* not base64 */
	    "Z",        /* a length of 1 mod 4 */
	    "Zm9vY",    /* a length of 1 mod 4 */
	    "Zh",       /* non-canonical: trailing bits set */
	    "Zm9",      /* non-canonical: trailing bits set */
	    "AB",       /* non-canonical: trailing bits set */
	};
	uint8_t out[16];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t len = 99;
		int rc = synod_base64url_decode(out, sizeof out, &len, bad[i], strlen(bad[i]));
		if (rc != SYNOD_EINVAL) {
			fail_msg("base64url \"%s\" accepted", bad[i]);
		}
		assert_int_equal(len, 0);
	}
	size_t len = 99;
	assert_int_equal(synod_base64url_decode(out, sizeof out, &len, "Zm\0v", 4), SYNOD_EINVAL);
}

/* Standard base64 (padded), as the Merkle test vectors use. */
static void hash_base64_standard(void **state)
{
	(void)state;
	uint8_t out[40];
	uint8_t want[HB];
	size_t len = 0;
	static const char empty_sha[] = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
	synod_sha256(want, "", 0);
	assert_int_equal(synod_base64_decode(out, sizeof out, &len, empty_sha, strlen(empty_sha)),
	                 0);
	assert_int_equal(len, HB);
	assert_memory_equal(out, want, HB);
	assert_int_equal(synod_base64_decode(out, sizeof out, &len, "+/8=", 4), 0);
	assert_int_equal(len, 2);
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(out[1], 0xff);
	static const char *const bad[] = {"Zg", "Zg=", "Zg===", "-_8=", "Zh==", "Zm9v YQ=="};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = synod_base64_decode(out, sizeof out, &len, bad[i], strlen(bad[i]));
		if (rc != SYNOD_EINVAL) {
			fail_msg("base64 \"%s\" accepted", bad[i]);
		}
	}
}

static void hash_bytes_equal(void **state)
{
	(void)state;
	uint8_t a[HB];
	uint8_t b[HB];
	memset(a, 0x5a, sizeof a);
	memcpy(b, a, sizeof b);
	assert_true(synod_bytes_equal(a, b, HB));
	assert_true(synod_bytes_equal(a, b, 0));
	for (size_t i = 0; i < HB; i++) {
		b[i] ^= 0x01;
		assert_false(synod_bytes_equal(a, b, HB));
		b[i] ^= 0x01;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(hash_sha256_known_answers),
	    cmocka_unit_test(hash_sha256_incremental),
	    cmocka_unit_test(hash_hex_round_trip),
	    cmocka_unit_test(hash_hex_rejects),
	    cmocka_unit_test(hash_base64url_known_answers),
	    cmocka_unit_test(hash_base64url_round_trip),
	    cmocka_unit_test(hash_base64url_rejects),
	    cmocka_unit_test(hash_base64_standard),
	    cmocka_unit_test(hash_bytes_equal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

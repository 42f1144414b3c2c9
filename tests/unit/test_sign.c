/* Ed25519 signing: RFC 8032 and Wycheproof vectors, domain separation, the
 * file signer and signer URIs. PKCS#11 is in test_pkcs11.c. */
#include "common/hash.h"
#include "common/log.h"
#include "common/sign.h"
#include "common/sign_internal.h"

#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* cmocka needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#define TEST_PATH_BYTES 512

static char test_dir[TEST_PATH_BYTES / 2];
static const uint8_t cluster_x[SYNOD_CLUSTER_ID_BYTES] = {1, 2, 3};
static const uint8_t cluster_y[SYNOD_CLUSTER_ID_BYTES] = {1, 2, 4};

static void test_vectors_path(char *out, size_t cap, const char *rel)
{
	const char *dir = getenv("SYNOD_VECTORS");
	const char *src = getenv("SYNOD_SOURCE_DIR");
	if (dir != NULL) {
		snprintf(out, cap, "%s/%s", dir, rel);
	} else {
		assert_non_null(src); /* run through ctest, which sets both */
		snprintf(out, cap, "%s/tests/vectors/%s", src, rel);
	}
}

static void test_path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", test_dir, name);
}

/* Decodes a hex string of any even length into a malloc'd buffer. */
static uint8_t *test_hex_alloc(const char *hex, size_t *len)
{
	size_t n = strlen(hex);
	assert_int_equal(n % 2, 0);
	uint8_t *out = malloc(n / 2 + 1);
	assert_non_null(out);
	assert_int_equal(synod_hex_decode(out, n / 2, hex, n), 0);
	*len = n / 2;
	return out;
}

static int group_setup(void **state)
{
	(void)state;
	if (sodium_init() < 0) {
		return -1;
	}
	snprintf(test_dir, sizeof test_dir, "%s/synod-test-sign.XXXXXX",
	         getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(test_dir) != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[TEST_PATH_BYTES + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- RFC 8032 section 7.1 ---- */

static void rfc8032_check_one(char *line)
{
	char *fields[5];
	char *rest = line;
	line[strcspn(line, "\n")] = '\0';
	for (int i = 0; i < 5; i++) { /* strsep keeps TEST 1's empty message */
		fields[i] = strsep(&rest, ":");
		assert_non_null(fields[i]);
	}
	assert_null(rest);
	uint8_t seed[SYNOD_SEED_BYTES], want_pk[SYNOD_PUBKEY_BYTES], want_sig[SYNOD_SIG_BYTES];
	assert_int_equal(synod_hex_decode(seed, sizeof seed, fields[1], strlen(fields[1])), 0);
	assert_int_equal(synod_hex_decode(want_pk, sizeof want_pk, fields[2], strlen(fields[2])),
	                 0);
	assert_int_equal(synod_hex_decode(want_sig, sizeof want_sig, fields[4], strlen(fields[4])),
	                 0);
	size_t msg_len = 0;
	uint8_t *msg = test_hex_alloc(fields[3], &msg_len);

	uint8_t pk[SYNOD_PUBKEY_BYTES], sk[crypto_sign_SECRETKEYBYTES], sig[SYNOD_SIG_BYTES];
	assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
	assert_memory_equal(pk, want_pk, sizeof pk);
	assert_int_equal(crypto_sign_detached(sig, NULL, msg, msg_len, sk), 0);
	assert_memory_equal(sig, want_sig, sizeof sig);
	assert_int_equal(synod_ed25519_verify(want_sig, msg, msg_len, want_pk), 0);
	want_sig[SYNOD_SIG_BYTES - 1] ^= 0x01;
	assert_int_equal(synod_ed25519_verify(want_sig, msg, msg_len, want_pk), SYNOD_EBADSIG);

	/* The same seed through the file signer's keygen gives the same key. */
	char path[TEST_PATH_BYTES], uri[TEST_PATH_BYTES + 8], errmsg[256];
	snprintf(path, sizeof path, "%s/rfc8032-%s.key", test_dir, fields[0] + 5);
	snprintf(uri, sizeof uri, "file:%s", path);
	assert_int_equal(synod_keygen(uri, seed, pk, errmsg, sizeof errmsg), 0);
	assert_memory_equal(pk, want_pk, sizeof pk);
	sodium_memzero(sk, sizeof sk);
	free(msg);
}

static void sign_rfc8032_vectors(void **state)
{
	(void)state;
	char path[TEST_PATH_BYTES];
	test_vectors_path(path, sizeof path, "rfc8032/ed25519_test_vectors.txt");
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[4096];
	int count = 0;
	while (fgets(line, sizeof line, f) != NULL) {
		if (line[0] == '#' || line[0] == '\n') {
			continue;
		}
		assert_true(strncmp(line, "TEST ", 5) == 0);
		rfc8032_check_one(line);
		count++;
	}
	fclose(f);
	assert_int_equal(count, 5); /* TEST 1, 2, 3, 1024, SHA(abc) */
}

/* ---- Wycheproof ---- */

struct wp_tally {
	int total;
	int valid;
	int invalid;
	int bad_length; /* invalid before verification: not 64 bytes */
};

static const char *wp_str(json_object *o, const char *key)
{
	json_object *v = NULL;
	assert_true(json_object_object_get_ex(o, key, &v));
	assert_true(json_object_is_type(v, json_type_string));
	return json_object_get_string(v);
}

static void wp_case(json_object *tc, const uint8_t pk[SYNOD_PUBKEY_BYTES], struct wp_tally *t)
{
	const char *result = wp_str(tc, "result");
	bool want_valid = strcmp(result, "valid") == 0;
	assert_true(want_valid || strcmp(result, "invalid") == 0); /* no "acceptable" */
	size_t msg_len = 0, sig_len = 0;
	uint8_t *msg = test_hex_alloc(wp_str(tc, "msg"), &msg_len);
	uint8_t *sig = test_hex_alloc(wp_str(tc, "sig"), &sig_len);
	bool ok = sig_len == SYNOD_SIG_BYTES && synod_ed25519_verify(sig, msg, msg_len, pk) == 0;
	if (ok != want_valid) {
		json_object *id = NULL;
		json_object_object_get_ex(tc, "tcId", &id);
		fail_msg("wycheproof tcId %d: expected %s, got %s (%s)", json_object_get_int(id),
		         result, ok ? "valid" : "invalid", json_object_to_json_string(tc));
	}
	t->total++;
	t->valid += want_valid;
	t->invalid += !want_valid;
	t->bad_length += sig_len != SYNOD_SIG_BYTES;
	free(msg);
	free(sig);
}

static void wp_group(json_object *g, struct wp_tally *t)
{
	json_object *key = NULL, *tests = NULL;
	assert_true(json_object_object_get_ex(g, "publicKey", &key));
	assert_true(json_object_object_get_ex(g, "tests", &tests));
	const char *pk_hex = wp_str(key, "pk");
	uint8_t pk[SYNOD_PUBKEY_BYTES];
	assert_int_equal(synod_hex_decode(pk, sizeof pk, pk_hex, strlen(pk_hex)), 0);
	size_t n = json_object_array_length(tests);
	for (size_t i = 0; i < n; i++) {
		wp_case(json_object_array_get_idx(tests, i), pk, t);
	}
}

static void sign_wycheproof(void **state)
{
	(void)state;
	char path[TEST_PATH_BYTES];
	test_vectors_path(path, sizeof path, "wycheproof/ed25519_test.json");
	json_object *root = json_object_from_file(path);
	assert_non_null(root);
	assert_string_equal(wp_str(root, "algorithm"), "EDDSA");
	json_object *groups = NULL, *number = NULL;
	assert_true(json_object_object_get_ex(root, "testGroups", &groups));
	assert_true(json_object_object_get_ex(root, "numberOfTests", &number));
	struct wp_tally t = {0};
	size_t n = json_object_array_length(groups);
	for (size_t i = 0; i < n; i++) {
		wp_group(json_object_array_get_idx(groups, i), &t);
	}
	print_message("wycheproof ed25519: %d cases, %d valid, %d invalid (%d of wrong length)\n",
	              t.total, t.valid, t.invalid, t.bad_length);
	assert_int_equal(t.total, json_object_get_int(number)); /* none skipped */
	assert_true(t.valid > 0 && t.invalid > 0);
	json_object_put(root);
}

/* ---- domain separation ---- */

static void sign_input_layout(void **state)
{
	(void)state;
	uint8_t out[128];
	size_t len = 0;
	const uint8_t msg[] = {0xaa, 0xbb};
	assert_int_equal(
	    synod_sign_input(out, sizeof out, &len, SYNOD_TAG_VOTE, cluster_x, msg, sizeof msg), 0);
	size_t tag_len = strlen(SYNOD_TAG_VOTE);
	assert_int_equal(len, 1 + tag_len + 32 + 2);
	assert_int_equal(out[0], tag_len);
	assert_memory_equal(out + 1, SYNOD_TAG_VOTE, tag_len);
	assert_memory_equal(out + 1 + tag_len, cluster_x, 32);
	assert_memory_equal(out + 1 + tag_len + 32, msg, 2);

	char long_tag[SYNOD_SIGN_TAG_BYTES_MAX + 2];
	memset(long_tag, 't', sizeof long_tag - 1);
	long_tag[sizeof long_tag - 1] = '\0';
	assert_int_equal(synod_sign_input(out, sizeof out, &len, long_tag, cluster_x, msg, 2),
	                 SYNOD_EINVAL);
	long_tag[SYNOD_SIGN_TAG_BYTES_MAX] = '\0'; /* exactly the maximum is fine */
	uint8_t big[SYNOD_SIGN_INPUT_BYTES(SYNOD_SIGN_TAG_BYTES_MAX, 2)];
	assert_int_equal(synod_sign_input(big, sizeof big, &len, long_tag, cluster_x, msg, 2), 0);
	assert_int_equal(synod_sign_input(out, sizeof out, &len, "", cluster_x, msg, 2),
	                 SYNOD_EINVAL);
	assert_int_equal(synod_sign_input(out, sizeof out, &len, NULL, cluster_x, msg, 2),
	                 SYNOD_EINVAL);
	assert_int_equal(synod_sign_input(out, 10, &len, SYNOD_TAG_VOTE, cluster_x, msg, 2),
	                 SYNOD_ELIMIT);
}

static struct synod_signer *test_file_signer(const char *name, uint8_t pk[SYNOD_PUBKEY_BYTES])
{
	char path[TEST_PATH_BYTES], uri[TEST_PATH_BYTES + 8], errmsg[256];
	test_path(path, sizeof path, name);
	snprintf(uri, sizeof uri, "file:%s", path);
	unlink(path);
	assert_int_equal(synod_keygen(uri, NULL, pk, errmsg, sizeof errmsg), 0);
	struct synod_signer *s = NULL;
	int rc = synod_signer_open(&s, uri, errmsg, sizeof errmsg);
	if (rc != 0) {
		fail_msg("open %s: %s", uri, errmsg);
	}
	return s;
}

static uint64_t test_verify_failures(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	synod_counters_write(f);
	fclose(f);
	const char *name = "\nsynod_signature_verifications_failed_total ";
	const char *at = strstr(text, name);
	uint64_t n = at != NULL ? strtoull(at + strlen(name), NULL, 10) : 0;
	free(text);
	return n;
}

static void sign_domain_separation(void **state)
{
	(void)state;
	uint8_t pk[SYNOD_PUBKEY_BYTES], other_pk[SYNOD_PUBKEY_BYTES], sig[SYNOD_SIG_BYTES];
	struct synod_signer *s = test_file_signer("domain.key", pk);
	struct synod_signer *other = test_file_signer("domain-other.key", other_pk);
	uint8_t msg[200];
	randombytes_buf(msg, sizeof msg);
	assert_int_equal(synod_signer_sign(s, sig, SYNOD_TAG_VOTE, cluster_x, msg, sizeof msg), 0);
	assert_int_equal(synod_sig_verify(sig, SYNOD_TAG_VOTE, cluster_x, msg, sizeof msg, pk), 0);

	uint64_t failures = test_verify_failures();
	assert_int_equal(synod_sig_verify(sig, SYNOD_TAG_PBFT, cluster_x, msg, sizeof msg, pk),
	                 SYNOD_EBADSIG);
	assert_int_equal(synod_sig_verify(sig, SYNOD_TAG_VOTE, cluster_y, msg, sizeof msg, pk),
	                 SYNOD_EBADSIG);
	assert_int_equal(
	    synod_sig_verify(sig, SYNOD_TAG_VOTE, cluster_x, msg, sizeof msg, other_pk),
	    SYNOD_EBADSIG);
	assert_int_equal(synod_sig_verify(sig, SYNOD_TAG_VOTE, cluster_x, msg, sizeof msg - 1, pk),
	                 SYNOD_EBADSIG);
	msg[17] ^= 0x10;
	assert_int_equal(synod_sig_verify(sig, SYNOD_TAG_VOTE, cluster_x, msg, sizeof msg, pk),
	                 SYNOD_EBADSIG);
	msg[17] ^= 0x10;
	sig[40] ^= 0x01;
	assert_int_equal(synod_sig_verify(sig, SYNOD_TAG_VOTE, cluster_x, msg, sizeof msg, pk),
	                 SYNOD_EBADSIG);
	assert_int_equal(test_verify_failures(), failures + 6);
	/* A plain signature of the bare message is not a synod signature. */
	assert_int_equal(synod_ed25519_verify(sig, msg, sizeof msg, pk), SYNOD_EBADSIG);
	assert_int_equal(synod_sig_verify(sig, "", cluster_x, msg, sizeof msg, pk), SYNOD_EINVAL);
	synod_signer_close(s);
	synod_signer_close(other);
}

/* Messages past the stack buffer take the heap path; empty ones work too. */
static void sign_large_and_empty_messages(void **state)
{
	(void)state;
	uint8_t pk[SYNOD_PUBKEY_BYTES], sig[SYNOD_SIG_BYTES];
	struct synod_signer *s = test_file_signer("large.key", pk);
	size_t n = 3 * SYNOD_SIGN_STACK_BYTES;
	uint8_t *msg = malloc(n);
	assert_non_null(msg);
	randombytes_buf(msg, n);
	assert_int_equal(synod_signer_sign(s, sig, SYNOD_TAG_PBFT, cluster_x, msg, n), 0);
	assert_int_equal(synod_sig_verify(sig, SYNOD_TAG_PBFT, cluster_x, msg, n, pk), 0);
	msg[n - 1] ^= 1;
	assert_int_equal(synod_sig_verify(sig, SYNOD_TAG_PBFT, cluster_x, msg, n, pk),
	                 SYNOD_EBADSIG);
	assert_int_equal(synod_signer_sign(s, sig, SYNOD_TAG_PBFT, cluster_x, NULL, 0), 0);
	assert_int_equal(synod_sig_verify(sig, SYNOD_TAG_PBFT, cluster_x, NULL, 0, pk), 0);
	assert_int_equal(synod_signer_sign(s, sig, "", cluster_x, msg, 1), SYNOD_EINVAL);
	assert_true(strlen(synod_signer_errmsg(s)) > 0);
	free(msg);
	synod_signer_close(s);
}

/* ---- file signer ---- */

static void write_key_file(const char *path, const char *content, mode_t mode)
{
	unlink(path);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static const char *const test_seed_hex =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n";

static int open_path(const char *path, char *errmsg, size_t errmsg_len)
{
	char uri[TEST_PATH_BYTES + 8];
	snprintf(uri, sizeof uri, "file:%s", path);
	struct synod_signer *s = NULL;
	int rc = synod_signer_open(&s, uri, errmsg, errmsg_len);
	assert_true((rc == 0) == (s != NULL));
	synod_signer_close(s);
	return rc;
}

static void file_signer_mode_refused(void **state)
{
	(void)state;
	char path[TEST_PATH_BYTES], errmsg[512];
	test_path(path, sizeof path, "mode.key");
	write_key_file(path, test_seed_hex, 0644);
	assert_int_equal(open_path(path, errmsg, sizeof errmsg), SYNOD_EPERM);
	assert_non_null(strstr(errmsg, path));
	assert_non_null(strstr(errmsg, "0644"));
	assert_non_null(strstr(errmsg, "0600"));
	assert_non_null(strstr(errmsg, "chmod 600"));
	chmod(path, 0400);
	assert_int_equal(open_path(path, errmsg, sizeof errmsg), SYNOD_EPERM);
	chmod(path, 0640);
	assert_int_equal(open_path(path, errmsg, sizeof errmsg), SYNOD_EPERM);
	chmod(path, 0600);
	assert_int_equal(open_path(path, errmsg, sizeof errmsg), 0);
}

static void file_signer_bad_files(void **state)
{
	(void)state;
	char path[TEST_PATH_BYTES], errmsg[512];
	test_path(path, sizeof path, "bad.key");
	const char *const bad[] = {
	    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f6\n", /* 63 hex */
	    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f600\n",
	    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7fzz\n",
	    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n\n",
	    "",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		write_key_file(path, bad[i], 0600);
		assert_int_equal(open_path(path, errmsg, sizeof errmsg), SYNOD_EKEYFILE);
		assert_non_null(strstr(errmsg, path));
	}
	write_key_file(path, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	               0600); /* the newline may be missing */
	assert_int_equal(open_path(path, errmsg, sizeof errmsg), 0);
	assert_int_equal(open_path(test_dir, errmsg, sizeof errmsg), SYNOD_EKEYFILE);
	assert_non_null(strstr(errmsg, "not a regular file"));
	test_path(path, sizeof path, "missing.key");
	assert_int_equal(open_path(path, errmsg, sizeof errmsg), SYNOD_ENOTFOUND);
	assert_non_null(strstr(errmsg, path));
}

static void file_keygen_refuses_overwrite(void **state)
{
	(void)state;
	char path[TEST_PATH_BYTES], uri[TEST_PATH_BYTES + 8], errmsg[512];
	uint8_t pk[SYNOD_PUBKEY_BYTES], pk2[SYNOD_PUBKEY_BYTES];
	test_path(path, sizeof path, "keygen.key");
	snprintf(uri, sizeof uri, "file:%s", path);
	unlink(path);
	mode_t old = umask(0); /* keygen sets 0600 whatever the umask */
	assert_int_equal(synod_keygen(uri, NULL, pk, errmsg, sizeof errmsg), 0);
	umask(old);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 65);
	assert_int_equal(synod_keygen(uri, NULL, pk2, errmsg, sizeof errmsg), SYNOD_EEXIST);
	assert_non_null(strstr(errmsg, path));
	/* The key is unchanged: it still opens to the first public key. */
	struct synod_signer *s = NULL;
	assert_int_equal(synod_signer_open(&s, uri, errmsg, sizeof errmsg), 0);
	synod_signer_pubkey(s, pk2);
	assert_memory_equal(pk, pk2, sizeof pk);
	synod_signer_close(s);
}

static void file_signer_roundtrip(void **state)
{
	(void)state;
	char path[TEST_PATH_BYTES], uri[TEST_PATH_BYTES + 16], errmsg[512];
	uint8_t pk[SYNOD_PUBKEY_BYTES], pk2[SYNOD_PUBKEY_BYTES], sig[SYNOD_SIG_BYTES];
	test_path(path, sizeof path, "roundtrip.key");
	snprintf(uri, sizeof uri, "file:%s", path);
	unlink(path);
	assert_int_equal(synod_keygen(uri, NULL, pk, errmsg, sizeof errmsg), 0);
	snprintf(uri, sizeof uri, "file://%s", path); /* file:///abs form */
	struct synod_signer *s = NULL;
	assert_int_equal(synod_signer_open(&s, uri, errmsg, sizeof errmsg), 0);
	synod_signer_pubkey(s, pk2);
	assert_memory_equal(pk, pk2, sizeof pk);
	const uint8_t msg[] = "APPROVE request 42";
	assert_int_equal(synod_signer_sign(s, sig, SYNOD_TAG_VOTE, cluster_x, msg, sizeof msg), 0);
	assert_int_equal(synod_sig_verify(sig, SYNOD_TAG_VOTE, cluster_x, msg, sizeof msg, pk), 0);
	/* Ed25519 is deterministic: the same input signs to the same bytes. */
	uint8_t sig2[SYNOD_SIG_BYTES];
	assert_int_equal(synod_signer_sign(s, sig2, SYNOD_TAG_VOTE, cluster_x, msg, sizeof msg), 0);
	assert_memory_equal(sig, sig2, sizeof sig);
	synod_signer_close(s);
}

/* ---- URIs ---- */

static void signer_bad_uris(void **state)
{
	(void)state;
	const char *const bad[] = {
	    "",
	    "foo:bar",
	    "/etc/passwd",
	    "file:",
	    "file://",
	    "file://host/key",
	    "pkcs11:token=a;token=b;object=k",
	    "pkcs11:token=a;object",
	    "pkcs11:token=a;;object=k",
	    "pkcs11:token=a;object=k;",
	    "pkcs11:tok en=a;object=k",
	    "pkcs11:token=a b;object=k",
	    "pkcs11:token=%zz;object=k",
	    "pkcs11:token=%4;object=k",
	    "pkcs11:token=a%00b;object=k",
	    "pkcs11:bogus=1;object=k",
	    "pkcs11:x-vendor=1;object=k",
	    "pkcs11:pin-value=1234;object=k",
	    "pkcs11:object=k?token=a",
	    "pkcs11:object=k?pin-value=1&pin-value=2",
	    "pkcs11:object=k?pin-value=1&pin-source=file:/x",
	    "pkcs11:object=k?module-name=softhsm2",
	    "pkcs11:object=k?module-path=/a&b",
	    "pkcs11:object=k;slot-id=12a",
	    "pkcs11:object=k;slot-id=99999999999999999999999",
	    "pkcs11:object=k;type=cert",
	    "pkcs11:object=k;library-version=1.2.3",
	    "pkcs11:object=k;library-version=256",
	};
	char errmsg[512];
	uint8_t pk[SYNOD_PUBKEY_BYTES];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct synod_signer *s = NULL;
		errmsg[0] = '\0';
		int rc = synod_signer_open(&s, bad[i], errmsg, sizeof errmsg);
		if (rc != SYNOD_EURI) {
			fail_msg("'%s': expected SYNOD_EURI, got %d (%s)", bad[i], rc, errmsg);
		}
		assert_null(s);
		assert_true(strlen(errmsg) > 0);
		assert_int_equal(synod_keygen(bad[i], NULL, pk, errmsg, sizeof errmsg), SYNOD_EURI);
	}
	char *huge = malloc(SYNOD_URI_BYTES_MAX + 16);
	assert_non_null(huge);
	memcpy(huge, "file:", 5);
	memset(huge + 5, 'a', SYNOD_URI_BYTES_MAX + 5);
	huge[SYNOD_URI_BYTES_MAX + 10] = '\0';
	struct synod_signer *s = NULL;
	assert_int_equal(synod_signer_open(&s, huge, errmsg, sizeof errmsg), SYNOD_ELIMIT);
	free(huge);
}

static void pkcs11_uri_decoding(void **state)
{
	(void)state;
	struct synod_pkcs11_uri u;
	char errmsg[256];
	const char *uri = "pkcs11:token=My%20Token;object=a%2Fb&c;id=%01%00%FF;slot-id=7;"
	                  "type=private;library-version=2.6?module-path=/usr/lib/x.so&"
	                  "pin-value=12%2634&x-vendor=ignored";
	assert_int_equal(synod_pkcs11_uri_parse(&u, uri, errmsg, sizeof errmsg), 0);
	assert_string_equal((char *)u.attr[SYNOD_P11_TOKEN].val, "My Token");
	assert_string_equal((char *)u.attr[SYNOD_P11_OBJECT].val, "a/b&c");
	assert_int_equal(u.attr[SYNOD_P11_ID].len, 3);
	assert_memory_equal(u.attr[SYNOD_P11_ID].val, "\x01\x00\xff", 3);
	assert_true(u.attr[SYNOD_P11_SLOT_ID].set);
	assert_int_equal(u.slot_id, 7);
	assert_int_equal(u.lib_major, 2);
	assert_int_equal(u.lib_minor, 6);
	assert_string_equal((char *)u.attr[SYNOD_P11_MODULE_PATH].val, "/usr/lib/x.so");
	assert_string_equal((char *)u.attr[SYNOD_P11_PIN_VALUE].val, "12&34");
	assert_false(u.attr[SYNOD_P11_SERIAL].set);
	synod_pkcs11_uri_wipe(&u);
	assert_false(u.attr[SYNOD_P11_PIN_VALUE].set);

	assert_int_equal(synod_pkcs11_uri_parse(&u, "pkcs11:", errmsg, sizeof errmsg), 0);
	assert_int_equal(synod_pkcs11_uri_parse(&u, "pkcs11:?", errmsg, sizeof errmsg), 0);
	assert_int_equal(
	    synod_pkcs11_uri_parse(&u, "pkcs11:token=a;token=b", errmsg, sizeof errmsg),
	    SYNOD_EURI);
	assert_non_null(strstr(errmsg, "token"));
	assert_non_null(strstr(errmsg, "twice"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sign_rfc8032_vectors),
	    cmocka_unit_test(sign_wycheproof),
	    cmocka_unit_test(sign_input_layout),
	    cmocka_unit_test(sign_domain_separation),
	    cmocka_unit_test(sign_large_and_empty_messages),
	    cmocka_unit_test(file_signer_mode_refused),
	    cmocka_unit_test(file_signer_bad_files),
	    cmocka_unit_test(file_keygen_refuses_overwrite),
	    cmocka_unit_test(file_signer_roundtrip),
	    cmocka_unit_test(signer_bad_uris),
	    cmocka_unit_test(pkcs11_uri_decoding),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

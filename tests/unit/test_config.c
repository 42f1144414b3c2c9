/* Config loading and typed lookups (common/config.h), on temporary files.
 * Error texts are checked in full: they must name the file, the key and the
 * problem. */
#include "common/config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* cmocka needs the headers above first */
#include <cmocka.h>

static char tmp_dir[64];

static int group_setup(void **state)
{
	(void)state;
	snprintf(tmp_dir, sizeof tmp_dir, "/tmp/synod-test-config-XXXXXX");
	return mkdtemp(tmp_dir) != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes len bytes of text to tmp_dir/name; path gets the full path. */
static void write_file(const char *name, const char *text, size_t len, char *path, size_t cap)
{
	snprintf(path, cap, "%s/%s", tmp_dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static const char cluster_json[] =
    "{\n"
    "  \"cluster_id\": \"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\",\n"
    "  \"name\": \"prod\",\n"
    "  \"f\": 1,\n"
    "  \"ratio\": 1.0,\n"
    "  \"neg\": -4,\n"
    "  \"tls\": true,\n"
    "  \"timeouts\": {\"view_change_ms\": 2000},\n"
    "  \"replicas\": [\n"
    "    {\"addr\": \"10.0.0.1:7000\", \"pubkey\": "
    "\"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\"},\n"
    "    {\"addr\": \"10.0.0.2:7000\", \"pubkey\": "
    "\"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c\", \"extra\": 1},\n"
    "    {\"addr\": \"10.0.0.3:7000\", \"pubkey\": \"0123456789ab\"}\n"
    "  ],\n"
    "  \"matrix\": [[1, 2], [3]]\n"
    "}\n";

struct loaded {
	struct synod_config c;
	char path[256];
};

static void load_cluster(struct loaded *l)
{
	char err[SYNOD_CONFIG_ERRMSG_BYTES] = "";
	write_file("cluster.json", cluster_json, sizeof cluster_json - 1, l->path, sizeof l->path);
	int rc = synod_config_load(&l->c, l->path, err, sizeof err);
	if (rc != 0) {
		print_error("%s\n", err);
	}
	assert_int_equal(rc, 0);
}

/* err must be exactly "PATH: key "KEY": PROBLEM". */
static void expect_msg(const char *err, const struct loaded *l, const char *key,
                       const char *problem)
{
	char want[SYNOD_CONFIG_ERRMSG_BYTES];
	snprintf(want, sizeof want, "%s: key \"%s\": %s", l->path, key, problem);
	assert_string_equal(err, want);
}

static void config_lookups(void **state)
{
	(void)state;
	struct loaded l;
	load_cluster(&l);
	char err[SYNOD_CONFIG_ERRMSG_BYTES] = "";
	const char *s = NULL;
	assert_int_equal(synod_config_get_string(&l.c, "name", 16, NULL, &s, err, sizeof err), 0);
	assert_string_equal(s, "prod");
	assert_int_equal(
	    synod_config_get_string(&l.c, "replicas[1].addr", 64, NULL, &s, err, sizeof err), 0);
	assert_string_equal(s, "10.0.0.2:7000");
	uint64_t v = 0;
	assert_int_equal(synod_config_get_u64(&l.c, "timeouts.view_change_ms", 1, 60000, NULL, &v,
	                                      err, sizeof err),
	                 0);
	assert_int_equal(v, 2000);
	assert_int_equal(
	    synod_config_get_u64(&l.c, "matrix[0][1]", 0, 9, NULL, &v, err, sizeof err), 0);
	assert_int_equal(v, 2);
	bool b = false;
	assert_int_equal(synod_config_get_bool(&l.c, "tls", NULL, &b, err, sizeof err), 0);
	assert_true(b);
	uint8_t pk[32];
	assert_int_equal(
	    synod_config_get_hex(&l.c, "replicas[0].pubkey", 32, NULL, pk, err, sizeof err), 0);
	assert_int_equal(pk[0], 0xd7);
	assert_int_equal(pk[31], 0x1a);
	size_t n = 0;
	assert_int_equal(
	    synod_config_get_array_len(&l.c, "replicas", 1, 100, NULL, &n, err, sizeof err), 0);
	assert_int_equal(n, 3);
	const struct json_object *o = NULL;
	assert_int_equal(synod_config_lookup(&l.c, "matrix[1]", &o, err, sizeof err), 0);
	assert_int_equal(json_object_array_length(o), 1);
	synod_config_close(&l.c);
	synod_config_close(&l.c); /* twice is fine */
}

static void config_defaults(void **state)
{
	(void)state;
	struct loaded l;
	load_cluster(&l);
	char err[SYNOD_CONFIG_ERRMSG_BYTES] = "";
	const char *s = NULL;
	assert_int_equal(synod_config_get_string(&l.c, "log.level", 8, "info", &s, err, sizeof err),
	                 0);
	assert_string_equal(s, "info");
	uint64_t v = 0;
	const uint64_t def_ms = 500;
	assert_int_equal(
	    synod_config_get_u64(&l.c, "timeouts.batch_ms", 1, 1000, &def_ms, &v, err, sizeof err),
	    0);
	assert_int_equal(v, 500);
	assert_int_equal(
	    synod_config_get_u64(&l.c, "replicas[7].port", 1, 65535, &def_ms, &v, err, sizeof err),
	    0);
	const bool def_false = false;
	bool b = true;
	assert_int_equal(synod_config_get_bool(&l.c, "debug", &def_false, &b, err, sizeof err), 0);
	assert_false(b);
	const uint8_t def_id[2] = {1, 2};
	uint8_t id[2] = {0};
	assert_int_equal(synod_config_get_hex(&l.c, "id", 2, def_id, id, err, sizeof err), 0);
	assert_memory_equal(id, def_id, 2);
	const size_t zero = 0;
	size_t n = 9;
	assert_int_equal(
	    synod_config_get_array_len(&l.c, "peers", 0, 8, &zero, &n, err, sizeof err), 0);
	assert_int_equal(n, 0);
	/* a default never hides a present but wrong value */
	assert_int_equal(synod_config_get_u64(&l.c, "name", 0, 10, &def_ms, &v, err, sizeof err),
	                 SYNOD_EJSON_TYPE);
	expect_msg(err, &l, "name", "expected an integer, got string");
	/* nor a wrong type on the way to the key */
	assert_int_equal(synod_config_get_u64(&l.c, "f.x", 0, 10, &def_ms, &v, err, sizeof err),
	                 SYNOD_EJSON_TYPE);
	expect_msg(err, &l, "f.x", "expected an object at \"f\", got integer");
	synod_config_close(&l.c);
}

static void config_errors_name_file_key_problem(void **state)
{
	(void)state;
	struct loaded l;
	load_cluster(&l);
	char err[SYNOD_CONFIG_ERRMSG_BYTES] = "";
	uint8_t pk[32];
	memset(pk, 0x55, sizeof pk);
	assert_int_equal(
	    synod_config_get_hex(&l.c, "replicas[2].pubkey", 32, NULL, pk, err, sizeof err),
	    SYNOD_ECONFIG);
	expect_msg(err, &l, "replicas[2].pubkey", "expected 64 hex characters, got 12");
	assert_int_equal(pk[0], 0x55); /* untouched */
	assert_int_equal(synod_config_get_hex(&l.c, "name", 2, NULL, pk, err, sizeof err),
	                 SYNOD_ECONFIG);
	expect_msg(err, &l, "name", "not a hex string (character 0)");
	assert_int_equal(synod_config_get_hex(&l.c, "f", 2, NULL, pk, err, sizeof err),
	                 SYNOD_EJSON_TYPE);
	expect_msg(err, &l, "f", "expected a hex string, got integer");

	uint64_t v = 77;
	assert_int_equal(synod_config_get_u64(&l.c, "timeouts.view_change_ms", 1, 1000, NULL, &v,
	                                      err, sizeof err),
	                 SYNOD_ECONFIG);
	expect_msg(err, &l, "timeouts.view_change_ms",
	           "expected an integer in [1, 1000], got 2000");
	assert_int_equal(v, 77);
	assert_int_equal(synod_config_get_u64(&l.c, "neg", 0, 10, NULL, &v, err, sizeof err),
	                 SYNOD_ECONFIG);
	expect_msg(err, &l, "neg", "expected an integer in [0, 10], got -4");
	assert_int_equal(
	    synod_config_get_u64(&l.c, "neg", 0, UINT64_MAX, NULL, &v, err, sizeof err),
	    SYNOD_ECONFIG);
	expect_msg(err, &l, "neg", "expected an integer in [0, 18446744073709551615], got -4");
	assert_int_equal(synod_config_get_u64(&l.c, "ratio", 0, 10, NULL, &v, err, sizeof err),
	                 SYNOD_EJSON_TYPE);
	expect_msg(err, &l, "ratio", "expected an integer, got number");
	assert_int_equal(
	    synod_config_get_u64(&l.c, "timeouts.commit_ms", 0, 10, NULL, &v, err, sizeof err),
	    SYNOD_ENOTFOUND);
	expect_msg(err, &l, "timeouts.commit_ms", "not found");
	assert_int_equal(
	    synod_config_get_u64(&l.c, "replicas[3].port", 0, 10, NULL, &v, err, sizeof err),
	    SYNOD_ENOTFOUND);
	expect_msg(err, &l, "replicas[3].port", "not found (\"replicas\" has 3 elements)");
	synod_config_close(&l.c);
}

static void config_errors_strings_bools_arrays(void **state)
{
	(void)state;
	struct loaded l;
	load_cluster(&l);
	char err[SYNOD_CONFIG_ERRMSG_BYTES] = "";
	const char *s = "keep";
	assert_int_equal(synod_config_get_string(&l.c, "name", 3, NULL, &s, err, sizeof err),
	                 SYNOD_ECONFIG);
	expect_msg(err, &l, "name", "expected at most 3 bytes, got 4");
	assert_string_equal(s, "keep");
	assert_int_equal(synod_config_get_string(&l.c, "replicas", 10, NULL, &s, err, sizeof err),
	                 SYNOD_EJSON_TYPE);
	expect_msg(err, &l, "replicas", "expected a string, got array");

	bool b = false;
	assert_int_equal(synod_config_get_bool(&l.c, "name", NULL, &b, err, sizeof err),
	                 SYNOD_EJSON_TYPE);
	expect_msg(err, &l, "name", "expected true or false, got string");
	size_t n = 0;
	assert_int_equal(
	    synod_config_get_array_len(&l.c, "replicas", 4, 7, NULL, &n, err, sizeof err),
	    SYNOD_ECONFIG);
	expect_msg(err, &l, "replicas", "expected 4 to 7 elements, got 3");
	assert_int_equal(
	    synod_config_get_array_len(&l.c, "timeouts[0]", 0, 7, NULL, &n, err, sizeof err),
	    SYNOD_EJSON_TYPE);
	expect_msg(err, &l, "timeouts[0]", "expected an array at \"timeouts\", got object");
	assert_int_equal(
	    synod_config_get_array_len(&l.c, "replicas.x", 0, 7, NULL, &n, err, sizeof err),
	    SYNOD_EJSON_TYPE);
	expect_msg(err, &l, "replicas.x", "expected an object at \"replicas\", got array");
	synod_config_close(&l.c);
}

static void config_bad_keys(void **state)
{
	(void)state;
	struct loaded l;
	load_cluster(&l);
	char err[SYNOD_CONFIG_ERRMSG_BYTES] = "";
	static const char *const bad[] = {
	    "",    "a..b",       "a.",           ".a", "replicas[x]",         "replicas[]",
	    "[0]", "replicas[0", "replicas[0]x", "a]", "replicas[1234567890]"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const struct json_object *o = NULL;
		int rc = synod_config_lookup(&l.c, bad[i], &o, err, sizeof err);
		if (rc != SYNOD_EINVAL) {
			print_error("key \"%s\": %d\n", bad[i], rc);
		}
		assert_int_equal(rc, SYNOD_EINVAL);
		assert_non_null(strstr(err, l.path));
	}
	synod_config_close(&l.c);
}

static void config_check_keys(void **state)
{
	(void)state;
	struct loaded l;
	load_cluster(&l);
	char err[SYNOD_CONFIG_ERRMSG_BYTES] = "";
	static const char *const top[] = {"cluster_id", "name",     "f",        "ratio",  "neg",
	                                  "tls",        "timeouts", "replicas", "matrix", NULL};
	assert_int_equal(synod_config_check_keys(&l.c, NULL, top, err, sizeof err), 0);
	static const char *const top_short[] = {"cluster_id", "name", NULL};
	assert_int_equal(synod_config_check_keys(&l.c, "", top_short, err, sizeof err),
	                 SYNOD_ECONFIG);
	expect_msg(err, &l, "f", "unknown key (allowed: cluster_id, name)");
	static const char *const replica[] = {"addr", "pubkey", NULL};
	assert_int_equal(synod_config_check_keys(&l.c, "replicas[0]", replica, err, sizeof err), 0);
	assert_int_equal(synod_config_check_keys(&l.c, "replicas[1]", replica, err, sizeof err),
	                 SYNOD_ECONFIG);
	expect_msg(err, &l, "replicas[1].extra", "unknown key (allowed: addr, pubkey)");
	assert_int_equal(synod_config_check_keys(&l.c, "logging", replica, err, sizeof err), 0);
	assert_int_equal(synod_config_check_keys(&l.c, "replicas", replica, err, sizeof err),
	                 SYNOD_EJSON_TYPE);
	expect_msg(err, &l, "replicas", "expected an object, got array");
	synod_config_close(&l.c);
}

static void expect_load_fails(const char *name, const char *text, size_t len, int want,
                              const char *problem)
{
	char path[256];
	write_file(name, text, len, path, sizeof path);
	struct synod_config c;
	char err[SYNOD_CONFIG_ERRMSG_BYTES] = "";
	int rc = synod_config_load(&c, path, err, sizeof err);
	if (rc != want) {
		print_error("%s: %d (%s)\n", name, rc, err);
	}
	assert_int_equal(rc, want);
	char expect[SYNOD_CONFIG_ERRMSG_BYTES];
	snprintf(expect, sizeof expect, "%s: %s", path, problem);
	assert_string_equal(err, expect);
	assert_null(c.root);
	synod_config_close(&c);
}

static void config_load_errors(void **state)
{
	(void)state;
	expect_load_fails("dup.json", "{\"a\":1,\n\"a\":2}", 14, SYNOD_EJSON_DUPKEY,
	                  "duplicate key \"a\" at byte 8");
	expect_load_fails("syntax.json", "{\"a\":1,}", 8, SYNOD_EJSON_SYNTAX,
	                  "trailing comma at byte 7");
	expect_load_fails("array.json", "[1,2]", 5, SYNOD_EJSON_TYPE,
	                  "top-level value must be an object, got array");
	expect_load_fails("nan.json", "{\"a\":NaN}", 9, SYNOD_EJSON_NAN,
	                  "NaN or Infinity at byte 5");
	/* a string the getters would cut short is refused at load, by name */
	expect_load_fails("nul.json", "{\"replicas\":[{\"addr\":\"a\\u0000b\"}]}", 34,
	                  SYNOD_EJSON_NUL, "U+0000 in the string at replicas[0].addr at byte 23");
	size_t big_len = SYNOD_CONFIG_BYTES_MAX + 1u;
	char *big = malloc(big_len);
	assert_non_null(big);
	memset(big, ' ', big_len);
	big[0] = '{';
	big[big_len - 1] = '}';
	char problem[64];
	snprintf(problem, sizeof problem, "file larger than %u bytes", SYNOD_CONFIG_BYTES_MAX);
	expect_load_fails("big.json", big, big_len, SYNOD_EJSON_SIZE, problem);
	/* exactly at the limit is fine */
	char path[256];
	struct synod_config c;
	char err[SYNOD_CONFIG_ERRMSG_BYTES] = "";
	big[big_len - 2] = '}';
	write_file("limit.json", big, big_len - 1, path, sizeof path);
	assert_int_equal(synod_config_load(&c, path, err, sizeof err), 0);
	synod_config_close(&c);
	free(big);

	snprintf(path, sizeof path, "%s/missing.json", tmp_dir);
	assert_int_equal(synod_config_load(&c, path, err, sizeof err), SYNOD_ENOTFOUND);
	char expect[SYNOD_CONFIG_ERRMSG_BYTES];
	snprintf(expect, sizeof expect, "%s: cannot open: No such file or directory", path);
	assert_string_equal(err, expect);
	synod_config_close(&c);
	assert_int_equal(synod_config_load(&c, tmp_dir, err, sizeof err), SYNOD_ECONFIG);
	snprintf(expect, sizeof expect, "%s: not a regular file", tmp_dir);
	assert_string_equal(err, expect);
	char long_path[SYNOD_CONFIG_PATH_BYTES_MAX + 1];
	memset(long_path, 'a', sizeof long_path - 1);
	long_path[sizeof long_path - 1] = '\0';
	assert_int_equal(synod_config_load(&c, long_path, err, sizeof err), SYNOD_ELIMIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(config_lookups),
	    cmocka_unit_test(config_defaults),
	    cmocka_unit_test(config_errors_name_file_key_problem),
	    cmocka_unit_test(config_errors_strings_bools_arrays),
	    cmocka_unit_test(config_bad_keys),
	    cmocka_unit_test(config_check_keys),
	    cmocka_unit_test(config_load_errors),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* The rules plugin (voter/plugins/rules.c) through synod-plugin-host, and the
 * Python exec example (voter/plugins/example_exec.py), against
 * policies/rules-baseline.json and the requests in tests/vectors/voter: the
 * same verdicts and byte-identical reasons from both. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/log.h"
#include "voter/plugin_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUILD  SYNOD_TEST_BUILD_DIR
#define SOURCE SYNOD_TEST_SOURCE_DIR
#define POLICY SOURCE "/policies/rules-baseline.json"
#define VEC    SOURCE "/tests/vectors/voter/"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static char buf[64 * 1024];
	*len = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[*len] = '\0';
	char *copy = malloc(*len + 1);
	memcpy(copy, buf, *len + 1);
	return copy;
}

static struct voter_plugin *open_rules(void)
{
	struct voter_plugin_config cfg = {.kind = VOTER_PLUGIN_SO,
	                                  .path = BUILD "/plugins/plugin-rules.so",
	                                  .host_path = BUILD "/synod-plugin-host",
	                                  .deadline_ms = 3000};
	struct voter_plugin *h = NULL;
	char err[256] = "";
	if (voter_plugin_open(&h, &cfg, err, sizeof err) != 0) {
		fail_msg("open rules: %s", err);
	}
	return h;
}

static struct voter_plugin *open_python(void)
{
	struct voter_plugin_config cfg = {.kind = VOTER_PLUGIN_EXEC,
	                                  .path = SOURCE "/voter/plugins/example_exec.py",
	                                  .name = "example-exec",
	                                  .version = "1.0.0",
	                                  .deadline_ms = 5000};
	struct voter_plugin *h = NULL;
	char err[256] = "";
	if (voter_plugin_open(&h, &cfg, err, sizeof err) != 0) {
		fail_msg("open python: %s", err);
	}
	return h;
}

static void eval_file(struct voter_plugin *h, const char *request_path, const char *policy,
                      struct voter_verdict *v)
{
	size_t rlen = 0;
	char *req = slurp(request_path, &rlen);
	int rc = voter_plugin_evaluate(h, req, rlen, policy, strlen(policy), v);
	if (rc != 0) {
		fail_msg("%s: %s (%s)", request_path, voter_plugin_strerror(rc), v->errmsg);
	}
	free(req);
}

static int count(const char *s, const char *needle)
{
	int n = 0;
	for (const char *p = strstr(s, needle); p != NULL; p = strstr(p + 1, needle)) {
		n++;
	}
	return n;
}

static void vectors(void **state)
{
	size_t plen = 0;
	char *policy = slurp(POLICY, &plen);
	struct voter_plugin *so = open_rules();
	struct voter_plugin *py = open_python();
	assert_string_equal(voter_plugin_name(so), "rules");
	static struct voter_verdict a, b;
	eval_file(so, VEC "request-pass.json", policy, &a);
	assert_int_equal(a.verdict, SYNOD_PLUGIN_APPROVE);
	assert_string_equal(a.reason,
	                    "{\"failed\":[],\"policy\":\"rules-baseline\",\"rules_checked\":11}");
	eval_file(py, VEC "request-pass.json", policy, &b);
	assert_int_equal(b.verdict, SYNOD_PLUGIN_APPROVE);
	assert_string_equal(a.reason, b.reason);

	eval_file(so, VEC "request-fail.json", policy, &a);
	assert_int_equal(a.verdict, SYNOD_PLUGIN_REJECT);
	assert_int_equal(count(a.reason, "\"rule\""), 5);
	assert_non_null(strstr(a.reason, "{\"field\":\"limitations\",\"problem\":\"missing\""));
	assert_non_null(strstr(a.reason, "{\"field\":\"training_data\",\"problem\":\"empty\""));
	assert_non_null(strstr(a.reason, "\"problem\":\"score_milli 850 below 900\""));
	assert_non_null(strstr(a.reason, "{\"field\":\"bias-gap\",\"problem\":\"missing\""));
	assert_non_null(strstr(a.reason, "{\"field\":\"social-scoring\",\"problem\":\"declared\""));
	eval_file(py, VEC "request-fail.json", policy, &b);
	assert_string_equal(a.reason, b.reason);

	eval_file(so, VEC "request-fail-hash.json", policy, &a);
	assert_int_equal(a.verdict, SYNOD_PLUGIN_REJECT);
	assert_non_null(strstr(a.reason, "\"field\":\"artifacts[0].sha256\""));
	eval_file(py, VEC "request-fail-hash.json", policy, &b);
	assert_string_equal(a.reason, b.reason);

	eval_file(so, VEC "request-today.json", policy, &a);
	assert_int_equal(a.verdict, SYNOD_PLUGIN_REJECT);
	assert_int_equal(count(a.reason, "\"rule\""), 7);
	eval_file(py, VEC "request-today.json", policy, &b);
	assert_string_equal(a.reason, b.reason);
	voter_plugin_close(so);
	voter_plugin_close(py);
	free(policy);
}

/* A malformed policy is the plugin's error, not a rejection of the request. */
static void bad_policies(void **state)
{
	struct voter_plugin *so = open_rules();
	static struct voter_verdict v;
	size_t rlen = 0;
	char *req = slurp(VEC "request-pass.json", &rlen);
	const char *bad[] = {
	    "{\"format\":\"synod.rules.v1\",\"name\":\"x\",\"extra\":1}",
	    "{\"format\":\"synod.rules.v2\",\"name\":\"x\"}",
	    "{\"format\":\"synod.rules.v1\",\"name\":\"x\",\"model_card\":{\"required\":[1]}}",
	    "{\"format\":\"synod.rules.v1\",\"name\":\"x\",\"evaluations\":{\"minimum_score_"
	    "milli\":"
	    "{\"t\":\"high\"}}}",
	    "{\"format\":\"synod.rules.v1\",\"name\":\"x\",\"artifacts\":[]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(voter_plugin_evaluate(so, req, rlen, bad[i], strlen(bad[i]), &v),
		                 VOTER_EPLUGIN_REFUSED);
		assert_int_equal(v.verdict, 0);
		assert_non_null(strstr(v.errmsg, "policy"));
	}
	struct voter_plugin_counters k;
	voter_plugin_counters_get(so, &k);
	assert_int_equal(k.restarts, 0);
	free(req);
	voter_plugin_close(so);
	/* the rules live in the policy: a config is refused at open */
	struct voter_plugin_config cfg = {.kind = VOTER_PLUGIN_SO,
	                                  .path = BUILD "/plugins/plugin-rules.so",
	                                  .host_path = BUILD "/synod-plugin-host",
	                                  .config_json = "{\"strict\":true}"};
	struct voter_plugin *h = NULL;
	char err[256];
	assert_int_equal(voter_plugin_open(&h, &cfg, err, sizeof err), VOTER_EPLUGIN_REFUSED);
	assert_non_null(strstr(err, "config must be {}"));
}

int main(void)
{
	synod_log_level_set(SYNOD_LOG_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(vectors),
	    cmocka_unit_test(bad_policies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

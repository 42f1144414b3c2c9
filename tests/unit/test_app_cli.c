/* `synod verify` end to end, and the sample bundle in tests/vectors/app:
 * the scenario below rebuilds it byte for byte (deterministic keys and
 * Ed25519), the verifier accepts it, and the CLI says OK on it and lists the
 * failures of a tampered copy. SYNOD_WRITE_VECTORS=1 rewrites the vectors. */
#include "tests/unit/test_app_fixture.h"

#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define VEC_BYTES_MAX (1024u * 1024u)

static char vec_dir[PATH_MAX];
static char tmp_dir[64];

static int group_setup(void **state)
{
	(void)state;
	const char *v = getenv("SYNOD_VECTORS");
	snprintf(vec_dir, sizeof vec_dir, "%s/app", v != NULL ? v : "../tests/vectors");
	snprintf(tmp_dir, sizeof tmp_dir, "/tmp/synod-test-app-cli-XXXXXX");
	return mkdtemp(tmp_dir) != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The vector's scenario: the default policy, 4 replicas; a request approved
 * by seats 0..21 after rejections from 30..32, and a duplicate. */
static struct fx *vector_scenario(uint8_t id[32])
{
	struct fx *f = fx_new_policy(NULL, 2024);
	fx_submit(f, 3600000, 7, id);
	fx_votes(f, 30, 33, id, 0, SYNOD_VERDICT_REJECT, 3);
	fx_votes(f, 0, 10, id, 0, SYNOD_VERDICT_APPROVE, 10);
	fx_vote(f, 4, id, 0, SYNOD_VERDICT_APPROVE, 0);
	fx_votes(f, 10, 22, id, 0, SYNOD_VERDICT_APPROVE, 6);
	assert_int_equal(fx_tally(f, id).outcome, SYNOD_OUTCOME_APPROVED);
	return f;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	if (fp == NULL) {
		return NULL;
	}
	char *buf = malloc(VEC_BYTES_MAX);
	assert_non_null(buf);
	*len = fread(buf, 1, VEC_BYTES_MAX, fp);
	fclose(fp);
	return buf;
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* The files match what the scenario builds today (or are rewritten). */
static void vectors_reproduce(void **state)
{
	(void)state;
	uint8_t id[32];
	struct fx *f = vector_scenario(id);
	size_t blen = 0, clen = 0;
	char *bundle = fx_bundle(f, id, &blen);
	char *cluster = malloc(16384);
	clen = fx_cluster_json(&f->kit, cluster, 16384);
	char bpath[PATH_MAX + 32], cpath[PATH_MAX + 32];
	snprintf(bpath, sizeof bpath, "%s/bundle-approved.json", vec_dir);
	snprintf(cpath, sizeof cpath, "%s/cluster.json", vec_dir);
	if (getenv("SYNOD_WRITE_VECTORS") != NULL) {
		write_file(bpath, bundle, blen);
		write_file(cpath, cluster, clen);
	}
	size_t vb = 0, vc = 0;
	char *fb = read_file(bpath, &vb);
	char *fc = read_file(cpath, &vc);
	if (fb == NULL || fc == NULL) {
		fail_msg("missing %s or %s (SYNOD_WRITE_VECTORS=1 writes them)", bpath, cpath);
	}
	assert_int_equal(vb, blen);
	assert_memory_equal(fb, bundle, blen);
	assert_int_equal(vc, clen);
	assert_memory_equal(fc, cluster, clen);
	struct synod_cluster c;
	char err[512];
	assert_int_equal(synod_cluster_load(&c, cpath, err, sizeof err), 0);
	struct fx_report rep;
	memset(&rep, 0, sizeof rep);
	assert_int_equal(synod_bundle_verify(fb, vb, &c, NULL, fx_report_cb, &rep), 0);
	free(fb);
	free(fc);
	free(cluster);
	free(bundle);
	fx_free(f);
}

/* Runs `synod verify` with args; *out gets its output. The exit status, or -1
 * when the binary is not there. */
static int run_synod(const char *args, char *out, size_t cap)
{
	char exe[PATH_MAX], cmd[3 * PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	assert_non_null(slash);
	snprintf(slash + 1, sizeof exe - (size_t)(slash + 1 - exe), "synod");
	if (access(exe, X_OK) != 0) {
		return -1;
	}
	snprintf(cmd, sizeof cmd, "'%s' verify %s 2>&1", exe, args);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t len = fread(out, 1, cap - 1, p);
	out[len] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void cli_verify(void **state)
{
	(void)state;
	char args[3 * PATH_MAX], out[65536];
	snprintf(args, sizeof args, "'%s/bundle-approved.json' --cluster '%s/cluster.json'",
	         vec_dir, vec_dir);
	int rc = run_synod(args, out, sizeof out);
	if (rc == -1) {
		skip(); /* build the synod target first */
	}
	if (rc != 0) {
		fail_msg("synod verify: %d\n%s", rc, out);
	}
	assert_non_null(strstr(out, "OK: APPROVED request "));
	assert_non_null(strstr(out, "22 approvals and 3 rejections of 33 seats (threshold 22)"));
	/* a tampered copy: one approval's seat number and one signature byte */
	size_t len = 0;
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/bundle-approved.json", vec_dir);
	char *b = read_file(path, &len);
	assert_non_null(b);
	char *sig = strstr(b, "\"sig\":\"");
	assert_non_null(sig);
	sig[10] = sig[10] == 'A' ? 'B' : 'A';
	snprintf(path, sizeof path, "%s/tampered.json", tmp_dir);
	write_file(path, b, len);
	snprintf(args, sizeof args, "'%s' --cluster '%s/cluster.json'", path, vec_dir);
	rc = run_synod(args, out, sizeof out);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(out, "FAIL: "));
	assert_non_null(strstr(out, "signature does not verify under seat"));
	assert_non_null(strstr(out, "INVALID: "));
	/* usage and unreadable inputs */
	assert_int_equal(run_synod("", out, sizeof out), 2);
	assert_non_null(strstr(out, "usage: synod verify"));
	snprintf(args, sizeof args, "'%s' --cluster /nonexistent/cluster.json", path);
	assert_int_equal(run_synod(args, out, sizeof out), 1);
	assert_non_null(strstr(out, "/nonexistent/cluster.json"));
	free(b);
}

/* `synod verify` refuses the vector with "\u0000 but actually ..." after the
 * format, the outcome or an ignored vote's reason: the JSON parser refuses
 * U+0000, naming the member's path. */
static void cli_verify_nul_suffix(void **state)
{
	(void)state;
	static const char *const keys[3] = {"\"format\":\"synod.evidence.v4",
	                                    "\"outcome\":\"APPROVED", "\"reason\":\"duplicate"};
	static const char *const named[3] = {
	    "FAIL: bundle: not canonical JSON: U+0000 in the string at format at byte ",
	    "FAIL: bundle: not canonical JSON: U+0000 in the string at outcome at byte ",
	    "FAIL: bundle: not canonical JSON: U+0000 in the string at ignored[0].reason at byte "};
	static const char suffix[] = "\\u0000 but actually REJECTED";
	char path[PATH_MAX + 32], args[3 * PATH_MAX], out[65536];
	size_t len = 0;
	snprintf(path, sizeof path, "%s/bundle-approved.json", vec_dir);
	char *b = read_file(path, &len);
	assert_non_null(b);
	char *e = malloc(len + sizeof suffix);
	assert_non_null(e);
	for (int k = 0; k < 3; k++) {
		const char *at = strstr(b, keys[k]);
		assert_non_null(at);
		size_t cut = (size_t)(at - b) + strlen(keys[k]);
		memcpy(e, b, cut);
		memcpy(e + cut, suffix, sizeof suffix - 1);
		memcpy(e + cut + sizeof suffix - 1, b + cut, len - cut);
		snprintf(path, sizeof path, "%s/nul-%d.json", tmp_dir, k);
		write_file(path, e, len + sizeof suffix - 1);
		snprintf(args, sizeof args, "'%s' --cluster '%s/cluster.json'", path, vec_dir);
		int rc = run_synod(args, out, sizeof out);
		if (rc == -1) {
			skip();
		}
		assert_int_equal(rc, 1);
		assert_non_null(strstr(out, "INVALID: "));
		if (strstr(out, named[k]) == NULL ||
		    strstr(out, "INVALID: 1 check failed") == NULL) {
			fail_msg("%s with U+0000: synod verify does not name it:\n%s", keys[k],
			         out);
		}
	}
	free(e);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(vectors_reproduce),
	    cmocka_unit_test(cli_verify),
	    cmocka_unit_test(cli_verify_nul_suffix),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

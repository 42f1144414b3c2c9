/* Plugin hosts (voter/plugin_host.h): a .so in synod-plugin-host and exec
 * plugins that crash, hang, blow their memory limit, print garbage or too
 * much, exit early or refuse. The caller survives each, gets the right error
 * and counter, and the next evaluation works. Deadlines: 1 s (.so), 2 s (exec). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/log.h"
#include "voter/plugin_host.h"
#include "voter/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define BUILD        SYNOD_TEST_BUILD_DIR
#define SOURCE       SYNOD_TEST_SOURCE_DIR
#define HOST         BUILD "/synod-plugin-host"
#define MISBEHAVE_SO BUILD "/test-plugins/misbehave.so"
#define BADABI_SO    BUILD "/test-plugins/badabi.so"
#define MISBEHAVE_SH SOURCE "/tests/plugins/exec_misbehave.sh"
/* Long enough for a loaded shared machine (a /bin/sh start took ~100 ms
 * here); each hang test costs one deadline. */
#define DEADLINE_MS      1000u
#define EXEC_DEADLINE_MS 2000u
#define TEST_MEMORY      (64ull * 1024u * 1024u)
/* Filling memory is slow on a loaded machine: a small limit, a long deadline. */
#define ALLOC_MEMORY      (24ull * 1024u * 1024u)
#define ALLOC_DEADLINE_MS 8000u
#define REQUEST           "{\"policy\":\"p\",\"submitter\":\"t\"}"

static const char *const exec_env[] = {"PATH=/usr/bin:/bin", NULL};

static struct voter_plugin_config so_cfg(void)
{
	return (struct voter_plugin_config){.kind = VOTER_PLUGIN_SO,
	                                    .path = MISBEHAVE_SO,
	                                    .host_path = HOST,
	                                    .deadline_ms = DEADLINE_MS,
	                                    .memory_bytes = TEST_MEMORY};
}

static struct voter_plugin_config exec_cfg(void)
{
	return (struct voter_plugin_config){.kind = VOTER_PLUGIN_EXEC,
	                                    .path = MISBEHAVE_SH,
	                                    .env = exec_env,
	                                    .name = "exec-misbehave",
	                                    .version = "0.1",
	                                    .deadline_ms = EXEC_DEADLINE_MS,
	                                    .memory_bytes = TEST_MEMORY};
}

static struct voter_plugin *open_ok(const struct voter_plugin_config *cfg)
{
	struct voter_plugin *h = NULL;
	char err[256] = "";
	int rc = voter_plugin_open(&h, cfg, err, sizeof err);
	if (rc != 0) {
		fail_msg("voter_plugin_open: %s (%s)", voter_plugin_strerror(rc), err);
	}
	return h;
}

static int eval_mode(struct voter_plugin *h, const char *mode, struct voter_verdict *v)
{
	char policy[64];
	snprintf(policy, sizeof policy, "{\"mode\":\"%s\"}", mode);
	return voter_plugin_evaluate(h, REQUEST, strlen(REQUEST), policy, strlen(policy), v);
}

static void expect_ok(struct voter_plugin *h)
{
	struct voter_verdict v;
	int rc = eval_mode(h, "ok", &v);
	if (rc != 0) {
		fail_msg("ok evaluation: %s (%s)", voter_plugin_strerror(rc), v.errmsg);
	}
	assert_int_equal(v.verdict, SYNOD_PLUGIN_APPROVE);
	assert_false(v.fallback);
	assert_string_equal(v.reason, "{\"ok\":true}");
}

/* One failing mode, then a good evaluation on the same handle. */
static void expect_failure(const struct voter_plugin_config *cfg, const char *mode, int want,
                           const char *errmsg_part, uint64_t restarts)
{
	struct voter_plugin *h = open_ok(cfg);
	struct voter_verdict v;
	int64_t t0 = voter_now_ms();
	int rc = eval_mode(h, mode, &v);
	int64_t took = voter_now_ms() - t0;
	if (rc != want) {
		fail_msg("mode %s: got %d (%s: %s), want %d", mode, rc, voter_plugin_strerror(rc),
		         v.errmsg, want);
	}
	assert_int_equal(v.verdict, 0);
	if (strstr(v.errmsg, errmsg_part) == NULL) {
		fail_msg("mode %s: errmsg \"%s\" lacks \"%s\"", mode, v.errmsg, errmsg_part);
	}
	assert_true(took < cfg->deadline_ms + 2000); /* the deadline, with slack for a busy box */
	struct voter_plugin_counters k;
	voter_plugin_counters_get(h, &k);
	assert_int_equal(k.failures, 1);
	assert_int_equal(k.crashes, want == VOTER_EPLUGIN_CRASH);
	assert_int_equal(k.timeouts, want == VOTER_EPLUGIN_TIMEOUT);
	assert_int_equal(k.garbage, want == VOTER_EPLUGIN_GARBAGE);
	assert_int_equal(k.oversized, want == VOTER_EPLUGIN_OVERSIZE);
	assert_int_equal(k.exits, want == VOTER_EPLUGIN_EXIT);
	assert_int_equal(k.refusals, want == VOTER_EPLUGIN_REFUSED);
	expect_ok(h);
	voter_plugin_counters_get(h, &k);
	assert_int_equal(k.approvals, 1);
	assert_int_equal(k.evaluations, 2);
	if (cfg->kind == VOTER_PLUGIN_SO) {
		assert_int_equal(k.restarts, restarts);
	}
	voter_plugin_close(h);
}

static void so_ok(void **state)
{
	struct voter_plugin_config cfg = so_cfg();
	struct voter_plugin *h = open_ok(&cfg);
	assert_string_equal(voter_plugin_name(h), "misbehave");
	assert_string_equal(voter_plugin_version(h), "0.1");
	expect_ok(h);
	struct voter_verdict v;
	assert_int_equal(eval_mode(h, "reject", &v), 0);
	assert_int_equal(v.verdict, SYNOD_PLUGIN_REJECT);
	struct voter_plugin_counters k;
	voter_plugin_counters_get(h, &k);
	assert_int_equal(k.spawns, 1);
	assert_int_equal(k.approvals, 1);
	assert_int_equal(k.rejections, 1);
	voter_plugin_close(h);
}

static void so_crash(void **state)
{
	struct voter_plugin_config cfg = so_cfg();
	expect_failure(&cfg, "crash", VOTER_EPLUGIN_CRASH, "signal 11", 1);
}

static void so_hang(void **state)
{
	struct voter_plugin_config cfg = so_cfg();
	expect_failure(&cfg, "hang", VOTER_EPLUGIN_TIMEOUT, "within 1000 ms", 1);
}

static void so_alloc(void **state)
{
	if (!voter_plugin_host_memory_limited()) {
		skip(); /* ASan build: RLIMIT_AS is not set on the host */
	}
	struct voter_plugin_config cfg = so_cfg();
	cfg.memory_bytes = ALLOC_MEMORY;
	cfg.deadline_ms = ALLOC_DEADLINE_MS;
	expect_failure(&cfg, "alloc", VOTER_EPLUGIN_CRASH, "signal 6", 1);
}

static void so_garbage(void **state)
{
	struct voter_plugin_config cfg = so_cfg();
	expect_failure(&cfg, "garbage", VOTER_EPLUGIN_GARBAGE, "unknown frame type 120", 1);
	expect_failure(&cfg, "badjson", VOTER_EPLUGIN_GARBAGE, "reason is not JSON", 0);
}

static void so_oversize(void **state)
{
	struct voter_plugin_config cfg = so_cfg();
	expect_failure(&cfg, "oversize", VOTER_EPLUGIN_OVERSIZE, "answer over", 1);
}

static void so_exit(void **state)
{
	struct voter_plugin_config cfg = so_cfg();
	expect_failure(&cfg, "exit", VOTER_EPLUGIN_EXIT, "exited with status 0", 1);
}

static void so_refuse(void **state)
{
	struct voter_plugin_config cfg = so_cfg();
	expect_failure(&cfg, "refuse", VOTER_EPLUGIN_REFUSED, "refused as asked", 0);
}

/* The host has stdio only, an empty environment, its own process group and
 * the memory limit: a descriptor the voter left inheritable is not there. */
static void so_isolation(void **state)
{
	int leak = open("/dev/null", O_RDONLY); /* no O_CLOEXEC on purpose */
	assert_true(leak > 2);
	struct voter_plugin_config cfg = so_cfg();
	struct voter_plugin *h = open_ok(&cfg);
	struct voter_verdict v;
	int rc = eval_mode(h, "probe", &v);
	if (rc != 0) {
		fail_msg("probe: %s (%s)", voter_plugin_strerror(rc), v.errmsg);
	}
	char want[160];
	/* ASan builds: no RLIMIT_AS (0 here), and ASAN_OPTIONS in the environment */
	bool asan = !voter_plugin_host_memory_limited();
	snprintf(want, sizeof want, "{\"env\":%d,\"fds\":3,\"pgid_is_pid\":1,\"rlimit_as\":%llu}",
	         asan ? 1 : 0, asan ? 0ull : (unsigned long long)TEST_MEMORY);
	assert_string_equal(v.reason, want);
	voter_plugin_close(h);
	close(leak);
}

static void so_fallback(void **state)
{
	struct voter_plugin_config cfg = so_cfg();
	cfg.fallback = VOTER_FALLBACK_REJECT;
	struct voter_plugin *h = open_ok(&cfg);
	struct voter_verdict v;
	assert_int_equal(eval_mode(h, "crash", &v), VOTER_EPLUGIN_CRASH);
	assert_int_equal(v.verdict, SYNOD_PLUGIN_REJECT);
	assert_true(v.fallback);
	assert_string_equal(v.reason, "{\"error\":\"plugin crashed\",\"plugin\":\"misbehave\"}");
	struct voter_plugin_counters k;
	voter_plugin_counters_get(h, &k);
	assert_int_equal(k.fallbacks, 1);
	expect_ok(h);
	voter_plugin_close(h);
}

static void so_open_errors(void **state)
{
	struct voter_plugin *h = NULL;
	char err[256] = "";
	struct voter_plugin_config cfg = so_cfg();
	cfg.config_json = "{\"fail_init\":true}";
	assert_int_equal(voter_plugin_open(&h, &cfg, err, sizeof err), VOTER_EPLUGIN_REFUSED);
	assert_non_null(strstr(err, "init failed as configured"));
	assert_null(h);
	cfg = so_cfg();
	cfg.path = BADABI_SO;
	assert_int_equal(voter_plugin_open(&h, &cfg, err, sizeof err), VOTER_EPLUGIN_REFUSED);
	assert_non_null(strstr(err, "ABI version 1 expected"));
	cfg = so_cfg();
	cfg.path = BUILD "/test-plugins/nosuch.so";
	assert_int_equal(voter_plugin_open(&h, &cfg, err, sizeof err), SYNOD_ECONFIG);
	cfg = so_cfg();
	cfg.config_json = "{bad";
	assert_int_equal(voter_plugin_open(&h, &cfg, err, sizeof err), SYNOD_ECONFIG);
	cfg = so_cfg();
	cfg.deadline_ms = VOTER_PLUGIN_DEADLINE_MS_MAX + 1;
	assert_int_equal(voter_plugin_open(&h, &cfg, err, sizeof err), SYNOD_ECONFIG);
	cfg = exec_cfg();
	cfg.name = "bad name";
	assert_int_equal(voter_plugin_open(&h, &cfg, err, sizeof err), SYNOD_ECONFIG);
}

/* The host is recycled after host_evaluations_max evaluations. */
static void so_recycle(void **state)
{
	struct voter_plugin_config cfg = so_cfg();
	cfg.host_evaluations_max = 2;
	struct voter_plugin *h = open_ok(&cfg);
	int pid = voter_plugin_host_pid(h);
	expect_ok(h);
	assert_int_equal(voter_plugin_host_pid(h), pid);
	expect_ok(h);
	assert_int_equal(voter_plugin_host_pid(h), 0);
	expect_ok(h);
	assert_true(voter_plugin_host_pid(h) > 0);
	voter_plugin_close(h);
}

/* A host killed from outside: the next write meets a closed pipe. The
 * caller must not die of SIGPIPE. */
static void so_host_killed(void **state)
{
	struct voter_plugin_config cfg = so_cfg();
	struct voter_plugin *h = open_ok(&cfg);
	assert_int_equal(kill(voter_plugin_host_pid(h), SIGKILL), 0);
	usleep(50000);
	struct voter_verdict v;
	int rc = eval_mode(h, "ok", &v);
	assert_int_equal(rc, VOTER_EPLUGIN_CRASH);
	assert_non_null(strstr(v.errmsg, "signal 9"));
	expect_ok(h);
	voter_plugin_close(h);
}

static void bad_inputs(void **state)
{
	struct voter_plugin_config cfg = so_cfg();
	struct voter_plugin *h = open_ok(&cfg);
	struct voter_verdict v;
	assert_int_equal(voter_plugin_evaluate(h, "{x", 2, "{}", 2, &v), SYNOD_EINVAL);
	assert_non_null(strstr(v.errmsg, "request"));
	static char big[VOTER_PLUGIN_POLICY_BYTES_MAX + 2];
	memset(big, ' ', sizeof big - 1);
	assert_int_equal(voter_plugin_evaluate(h, "{}", 2, big, sizeof big - 1, &v), SYNOD_ELIMIT);
	struct voter_plugin_counters k;
	voter_plugin_counters_get(h, &k);
	assert_int_equal(k.evaluations, 0);
	voter_plugin_close(h);
}

/* ---- exec plugins ---- */

static void exec_ok(void **state)
{
	struct voter_plugin_config cfg = exec_cfg();
	struct voter_plugin *h = open_ok(&cfg);
	assert_string_equal(voter_plugin_name(h), "exec-misbehave");
	expect_ok(h);
	struct voter_verdict v;
	assert_int_equal(eval_mode(h, "reject", &v), 0);
	assert_int_equal(v.verdict, SYNOD_PLUGIN_REJECT);
	assert_int_equal(eval_mode(h, "probe", &v), 0);
	/* env: PATH and the PWD dash exports; fds: ls's stdio and its directory */
	assert_non_null(strstr(v.reason, "\"fds\":4"));
	voter_plugin_close(h);
}

static void exec_failures(void **state)
{
	struct voter_plugin_config cfg = exec_cfg();
	expect_failure(&cfg, "crash", VOTER_EPLUGIN_CRASH, "signal 11", 1);
	expect_failure(&cfg, "hang", VOTER_EPLUGIN_TIMEOUT, "within 2000 ms", 1);
	struct voter_plugin_config alloc = cfg;
	alloc.memory_bytes = ALLOC_MEMORY;
	alloc.deadline_ms = ALLOC_DEADLINE_MS;
	expect_failure(&alloc, "alloc", VOTER_EPLUGIN_EXIT, "status 1", 1);
	expect_failure(&cfg, "garbage", VOTER_EPLUGIN_GARBAGE, "not JSON", 1);
	expect_failure(&cfg, "oversize", VOTER_EPLUGIN_OVERSIZE, "answer over", 1);
	expect_failure(&cfg, "exit", VOTER_EPLUGIN_EXIT, "status 3", 1);
	expect_failure(&cfg, "silent", VOTER_EPLUGIN_GARBAGE, "not JSON", 1);
	expect_failure(&cfg, "child", VOTER_EPLUGIN_TIMEOUT, "killed", 1);
}

/* A child that closed its stdin: our write meets EPIPE, and SIGPIPE (default
 * disposition: death) must not reach the caller. */
static void sigpipe_survived(void **state)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	assert_int_equal(sigaction(SIGPIPE, &dfl, NULL), 0);
	char *argv[] = {"/bin/sh", "-c", "exec 0<&-; sleep 5", NULL};
	char *envp[] = {NULL};
	struct voter_limits lim = {.cpu_s = 5, .files = 16, .stderr_fd = -1};
	struct voter_child c;
	assert_int_equal(voter_child_spawn(&c, "/bin/sh", argv, envp, &lim, NULL, 0), 0);
	usleep(300000); /* let it close its stdin */
	uint8_t in[16];
	struct voter_io io = {.out = (const uint8_t *)"{}", .out_len = 2, .in = in, .in_cap = 16};
	assert_int_equal(voter_child_io(&c, &io, voter_now_ms() + 2000), SYNOD_ETRUNC);
	sigset_t pending;
	sigpending(&pending);
	assert_false(sigismember(&pending, SIGPIPE));
	int status = 0;
	voter_child_kill(&c, &status);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* The process-wide counters are in the Prometheus text. */
static void prometheus_counters(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	synod_counters_write(f);
	fclose(f);
	assert_non_null(strstr(text, "synod_voter_plugin_crashes_total"));
	assert_non_null(strstr(text, "synod_voter_plugin_timeouts_total"));
	free(text);
}

int main(void)
{
	synod_log_level_set(SYNOD_LOG_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(so_ok),
	    cmocka_unit_test(so_crash),
	    cmocka_unit_test(so_hang),
	    cmocka_unit_test(so_alloc),
	    cmocka_unit_test(so_garbage),
	    cmocka_unit_test(so_oversize),
	    cmocka_unit_test(so_exit),
	    cmocka_unit_test(so_refuse),
	    cmocka_unit_test(so_isolation),
	    cmocka_unit_test(so_fallback),
	    cmocka_unit_test(so_open_errors),
	    cmocka_unit_test(so_recycle),
	    cmocka_unit_test(so_host_killed),
	    cmocka_unit_test(bad_inputs),
	    cmocka_unit_test(exec_ok),
	    cmocka_unit_test(exec_failures),
	    cmocka_unit_test(sigpipe_survived),
	    cmocka_unit_test(prometheus_counters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

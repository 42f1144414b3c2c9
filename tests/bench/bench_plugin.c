/* synod-bench-plugin: what one plugin evaluation costs through each host:
 * the noop and rules .so plugins in synod-plugin-host (pipe round trip plus
 * the voter's checks), and exec plugins (fork + exec per evaluation: a
 * /bin/sh script and the Python example). p50 and p99 per row, then one
 * key=value line. Measures and prints; asserts nothing about time.
 *
 *   synod-bench-plugin [--count N] [--build DIR] [--source DIR]
 * Run it through tests/bench/plugin. */
#include "common/log.h"
#include "voter/plugin_host.h"
#include "voter/spawn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_COUNT_DEF 2000
#define BENCH_EXEC_DIV  10 /* exec rows run count / 10 evaluations */
#define BENCH_FILE_MAX  (64 * 1024)

static int64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int bench_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a;
	int64_t y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static char *bench_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(BENCH_FILE_MAX);
	*len = f != NULL && buf != NULL ? fread(buf, 1, BENCH_FILE_MAX - 1, f) : 0;
	if (f != NULL) {
		fclose(f);
	}
	if (*len == 0) {
		fprintf(stderr, "synod-bench-plugin: cannot read %s\n", path);
		exit(1);
	}
	buf[*len] = '\0';
	return buf;
}

/* Runs n evaluations; p50 and p99 in microseconds. */
static void bench_row(const char *label, const struct voter_plugin_config *cfg, const char *req,
                      size_t req_len, const char *policy, int n, double *p50_us, double *p99_us)
{
	struct voter_plugin *h = NULL;
	char err[256];
	if (voter_plugin_open(&h, cfg, err, sizeof err) != 0) {
		fprintf(stderr, "synod-bench-plugin: %s: %s\n", label, err);
		exit(1);
	}
	int64_t *t = calloc((size_t)n, sizeof *t);
	static struct voter_verdict v;
	for (int i = 0; i < n; i++) {
		int64_t t0 = bench_now_ns();
		int rc = voter_plugin_evaluate(h, req, req_len, policy, strlen(policy), &v);
		t[i] = bench_now_ns() - t0;
		if (rc != 0) {
			fprintf(stderr, "synod-bench-plugin: %s: %s\n", label, v.errmsg);
			exit(1);
		}
	}
	qsort(t, (size_t)n, sizeof *t, bench_cmp);
	*p50_us = (double)t[n / 2] / 1000.0;
	*p99_us = (double)t[(n * 99) / 100] / 1000.0;
	printf("%-28s n=%-6d p50 %9.1f us   p99 %9.1f us\n", label, n, *p50_us, *p99_us);
	free(t);
	voter_plugin_close(h);
}

int main(int argc, char **argv)
{
	int count = BENCH_COUNT_DEF;
	const char *build = "build";
	const char *source = ".";
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--count") == 0) {
			count = atoi(argv[i + 1]);
		} else if (strcmp(argv[i], "--build") == 0) {
			build = argv[i + 1];
		} else if (strcmp(argv[i], "--source") == 0) {
			source = argv[i + 1];
		}
	}
	if (count < 100) {
		count = 100;
	}
	synod_log_level_set(SYNOD_LOG_ERROR);
	char path[6][512];
	snprintf(path[0], sizeof path[0], "%s/synod-plugin-host", build);
	snprintf(path[1], sizeof path[1], "%s/plugins/plugin-noop.so", build);
	snprintf(path[2], sizeof path[2], "%s/plugins/plugin-rules.so", build);
	snprintf(path[3], sizeof path[3], "%s/tests/plugins/exec_misbehave.sh", source);
	snprintf(path[4], sizeof path[4], "%s/voter/plugins/example_exec.py", source);
	snprintf(path[5], sizeof path[5], "%s/tests/vectors/voter/request-fail.json", source);
	size_t req_len = 0;
	size_t pol_len = 0;
	char *req = bench_slurp(path[5], &req_len);
	char pol_path[512];
	snprintf(pol_path, sizeof pol_path, "%s/policies/rules-baseline.json", source);
	char *policy = bench_slurp(pol_path, &pol_len);
	for (int i = 0; i < 5; i++) {
		char *abs = realpath(path[i], NULL);
		if (abs == NULL) {
			fprintf(stderr, "synod-bench-plugin: %s is missing\n", path[i]);
			return 1;
		}
		snprintf(path[i], sizeof path[i], "%s", abs);
		free(abs);
	}
	static const char *const env[] = {"PATH=/usr/bin:/bin", NULL};
	struct voter_plugin_config so = {.kind = VOTER_PLUGIN_SO, .host_path = path[0]};
	struct voter_plugin_config ex = {
	    .kind = VOTER_PLUGIN_EXEC, .env = env, .name = "bench", .version = "1"};
	double r[8];
	so.path = path[1];
	bench_row("so noop", &so, req, req_len, "{}", count, &r[0], &r[1]);
	so.path = path[2];
	bench_row("so rules (request-fail)", &so, req, req_len, policy, count, &r[2], &r[3]);
	ex.path = path[3];
	bench_row("exec /bin/sh script", &ex, req, req_len, "{}", count / BENCH_EXEC_DIV, &r[4],
	          &r[5]);
	ex.path = path[4];
	bench_row("exec python example", &ex, req, req_len, policy, count / BENCH_EXEC_DIV, &r[6],
	          &r[7]);
	printf("so_noop_p50_us=%.1f so_noop_p99_us=%.1f so_rules_p50_us=%.1f so_rules_p99_us=%.1f "
	       "exec_sh_p50_us=%.1f exec_sh_p99_us=%.1f exec_python_p50_us=%.1f "
	       "exec_python_p99_us=%.1f\n",
	       r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
	free(req);
	free(policy);
	return 0;
}

/* A test plugin that misbehaves on request: the policy's "mode" picks what
 * evaluate does, so one host can crash, then answer the next evaluation.
 *   ok        APPROVE {"ok":true}
 *   reject    REJECT {"ok":false}
 *   crash     SIGSEGV (a write through a NULL pointer)
 *   hang      an endless loop (killed at the deadline)
 *   alloc     allocates and touches memory until malloc fails, then aborts
 *   garbage   writes a frame of unknown type to the protocol pipe
 *   oversize  writes a frame header promising 1 MiB
 *   exit      _exit(0) in the middle of an evaluation
 *   refuse    returns an error (the host survives)
 *   badjson   a reason that is not JSON
 *   probe     reason: open descriptors, environment size, RLIMIT_AS
 * Config {"fail_init":true} makes init fail. Not a real plugin: tests only. */
#include "voter/plugin.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

extern char **environ;

static int mis_init(void **state, const char *config, size_t config_len, char *errmsg,
                    size_t errmsg_len)
{
	*state = NULL;
	if (strstr(config, "\"fail_init\":true") != NULL) {
		snprintf(errmsg, errmsg_len, "misbehave: init failed as configured");
		return -1;
	}
	return 0;
}

static int mis_mode(const char *policy, const char *mode)
{
	char want[64];
	snprintf(want, sizeof want, "\"mode\":\"%s\"", mode);
	return strstr(policy, want) != NULL;
}

static void mis_write(const void *p, size_t n)
{
	if (write(1, p, n) != (ssize_t)n) {
		_exit(9);
	}
}

static size_t mis_probe(char *reason, size_t cap)
{
	int fds = 0;
	DIR *d = opendir("/proc/self/fd");
	for (struct dirent *e = d != NULL ? readdir(d) : NULL; e != NULL; e = readdir(d)) {
		fds += e->d_name[0] != '.';
	}
	if (d != NULL) {
		closedir(d);
	}
	int env = 0;
	for (char **e = environ; e != NULL && *e != NULL; e++) {
		env++;
	}
	struct rlimit as;
	getrlimit(RLIMIT_AS, &as);
	int n = snprintf(
	    reason, cap, "{\"env\":%d,\"fds\":%d,\"rlimit_as\":%llu,\"pgid_is_pid\":%d}", env,
	    fds - 1, as.rlim_cur == RLIM_INFINITY ? 0ull : (unsigned long long)as.rlim_cur,
	    getpgrp() == getpid());
	return (size_t)n;
}

/* A real invalid write, not one UBSan (sanitizer builds) reports first. */
__attribute__((no_sanitize("undefined"), noinline)) static void mis_crash(void)
{
	volatile int *volatile p = NULL;
	*p = 1;
}

static void mis_alloc(void)
{
	for (;;) {
		char *p = malloc(1u << 20);
		if (p == NULL) {
			abort();
		}
		memset(p, 1, 1u << 20);
	}
}

static int mis_evaluate(void *state, const char *request, size_t request_len, const char *policy,
                        size_t policy_len, int *verdict, char *reason, size_t reason_cap,
                        size_t *reason_len)
{
	static const unsigned char garbage[] = {0, 0, 0, 3, 'x', 'y', 'z'};
	static const unsigned char oversize[] = {0, 0x10, 0, 0, 4};
	*verdict = SYNOD_PLUGIN_APPROVE;
	if (mis_mode(policy, "crash")) {
		mis_crash();
	} else if (mis_mode(policy, "hang")) {
		/* unsigned: it wraps, where a signed counter would overflow (UB, and
		 * UBSan ends the plugin early on a fast machine) */
		for (volatile unsigned i = 0;; i++) {
		}
	} else if (mis_mode(policy, "alloc")) {
		mis_alloc();
	} else if (mis_mode(policy, "garbage")) {
		mis_write(garbage, sizeof garbage);
	} else if (mis_mode(policy, "oversize")) {
		mis_write(oversize, sizeof oversize);
	} else if (mis_mode(policy, "exit")) {
		_exit(0);
	} else if (mis_mode(policy, "refuse")) {
		snprintf(reason, reason_cap, "misbehave: refused as asked");
		return -1;
	} else if (mis_mode(policy, "badjson")) {
		*reason_len = (size_t)snprintf(reason, reason_cap, "{not json");
		return 0;
	} else if (mis_mode(policy, "probe")) {
		*reason_len = mis_probe(reason, reason_cap);
		return 0;
	}
	*verdict = mis_mode(policy, "reject") ? SYNOD_PLUGIN_REJECT : SYNOD_PLUGIN_APPROVE;
	const char *r = *verdict == SYNOD_PLUGIN_APPROVE ? "{\"ok\":true}" : "{\"ok\":false}";
	*reason_len = strlen(r);
	memcpy(reason, r, *reason_len);
	return 0;
}

static const struct synod_plugin mis_plugin = {
    .abi_version = SYNOD_PLUGIN_ABI_VERSION,
    .name = "misbehave",
    .version = "0.1",
    .init = mis_init,
    .evaluate = mis_evaluate,
    .close = NULL,
};

const struct synod_plugin *synod_plugin_entry_v1(void);
const struct synod_plugin *synod_plugin_entry_v1(void)
{
	return &mis_plugin;
}

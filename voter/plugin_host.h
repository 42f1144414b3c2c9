/* Running evaluation plugins outside the voter process.
 *
 * Two kinds, one API:
 *   VOTER_PLUGIN_SO    a shared object (ABI in voter/plugin.h) loaded by a
 *                      long-lived synod-plugin-host process, spoken to over a
 *                      pipe pair (voter/proto.h). Restarted after any failure
 *                      and after host_evaluations_max evaluations.
 *   VOTER_PLUGIN_EXEC  any program, one process per evaluation. It reads one
 *                      JSON object {"config":C,"policy":P,"request":R} on
 *                      stdin (to EOF) and prints {"reason":{...},"verdict":
 *                      "APPROVE"|"REJECT"} on stdout, then exits 0. One
 *                      process per evaluation because exec plugins are
 *                      typically evaluation harnesses (Python) whose state
 *                      should not carry over, a fresh process cannot be
 *                      desynchronised by an earlier garbage answer, and
 *                      RLIMIT_CPU then bounds each evaluation; the price is
 *                      one fork+exec per evaluation (see tests/bench).
 *
 * Either way the child runs in its own process group under RLIMIT_AS,
 * RLIMIT_CPU, RLIMIT_NOFILE, RLIMIT_FSIZE (and no core files) with every
 * descriptor but its stdio closed and only the configured environment, and
 * is SIGKILLed (with its group) when an evaluation passes its deadline. A
 * crash, hang, memory blow-up, early exit or bad output is an error code, a
 * log line, a counter (per handle and process-wide) and no verdict, or the
 * configured fallback verdict; the next evaluation starts a new child. */
#ifndef SYNOD_VOTER_PLUGIN_HOST_H
#define SYNOD_VOTER_PLUGIN_HOST_H

#include "common/err.h"
#include "voter/limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Errors of an evaluation (besides SYNOD_EINVAL, SYNOD_ELIMIT for inputs). */
enum voter_plugin_err {
	VOTER_EPLUGIN_CRASH = -200,    /* the child died of a signal we did not send */
	VOTER_EPLUGIN_TIMEOUT = -201,  /* the deadline passed; the child was killed */
	VOTER_EPLUGIN_GARBAGE = -202,  /* output broke the protocol or the JSON rules */
	VOTER_EPLUGIN_OVERSIZE = -203, /* output over its limit */
	VOTER_EPLUGIN_EXIT = -204,     /* the child exited (early, or nonzero) */
	VOTER_EPLUGIN_REFUSED = -205,  /* the plugin returned an error itself */
	VOTER_EPLUGIN_SPAWN = -206,    /* the child could not be started */
};

/* Names a voter_plugin_err (or falls back to synod_strerror). */
const char *voter_plugin_strerror(int err);

enum voter_plugin_kind {
	VOTER_PLUGIN_SO = 1,
	VOTER_PLUGIN_EXEC = 2,
};

enum voter_fallback {
	VOTER_FALLBACK_NONE = 0, /* a failed evaluation gives no verdict: no vote */
	VOTER_FALLBACK_APPROVE = SYNOD_PLUGIN_APPROVE,
	VOTER_FALLBACK_REJECT = SYNOD_PLUGIN_REJECT,
};

struct voter_plugin_config {
	enum voter_plugin_kind kind;
	const char *path;      /* the .so, or the program (absolute path) */
	const char *host_path; /* SO: the synod-plugin-host binary */
	/* EXEC: argv[1..] (argv[0] is path); NULL-terminated, may be NULL. */
	const char *const *args;
	/* The child's environment, "K=V" strings, NULL-terminated; NULL: empty. */
	const char *const *env;
	const char *config_json; /* the plugin's configuration; NULL: "{}" */
	/* EXEC only: the plugin's name and version in votes. SO plugins report
	 * their own. */
	const char *name;
	const char *version;
	uint32_t deadline_ms;          /* per evaluation (SO: also for init); 0: default */
	uint64_t memory_bytes;         /* RLIMIT_AS; 0: default */
	uint32_t files;                /* RLIMIT_NOFILE; 0: default */
	uint64_t file_bytes;           /* RLIMIT_FSIZE (default 0: no file writes) */
	uint32_t host_evaluations_max; /* SO: recycle the host after this; 0: default */
	enum voter_fallback fallback;
	int stderr_fd; /* the child's stderr (borrowed); 0 or -1: /dev/null */
};

/* Per handle; process-wide totals are the synod_voter_plugin_* counters. */
struct voter_plugin_counters {
	uint64_t evaluations; /* calls with valid inputs */
	uint64_t approvals;   /* verdicts from the plugin */
	uint64_t rejections;
	uint64_t failures; /* evaluations without a plugin verdict (sum of the below) */
	uint64_t crashes;
	uint64_t timeouts;
	uint64_t garbage;
	uint64_t oversized;
	uint64_t exits;
	uint64_t refusals;
	uint64_t spawn_failures;
	uint64_t fallbacks; /* failures answered with the fallback verdict */
	uint64_t spawns;    /* child processes started */
	uint64_t restarts;  /* SO: hosts started again after a failure */
};

struct voter_verdict {
	int verdict;   /* SYNOD_PLUGIN_APPROVE/REJECT, or 0: none */
	bool fallback; /* verdict is the configured fallback, not the plugin's */
	char reason[VOTER_PLUGIN_REASON_BYTES_MAX + 1]; /* canonical JSON */
	size_t reason_len;
	char errmsg[VOTER_PLUGIN_ERRMSG_BYTES]; /* on error: what happened */
};

struct voter_plugin; /* opaque */

/* Checks cfg (all borrowed; copied) and, for SO, starts the host and
 * initialises the plugin (so a bad config or .so fails here). On success
 * *out is owned by the caller (voter_plugin_close). Errors: SYNOD_ECONFIG
 * (bad field), SYNOD_ENOMEM, and the evaluation errors for the first start. */
SYNOD_WUR int voter_plugin_open(struct voter_plugin **out, const struct voter_plugin_config *cfg,
                                char *errmsg, size_t errmsg_len);

/* Evaluates request against policy (borrowed JSON texts). 0: out->verdict is
 * the plugin's and out->reason its reason (canonical JSON). Otherwise an
 * error above, out->errmsg says what, and out->verdict is the fallback (with
 * out->fallback true and a reason {"error":...}) or 0. SYNOD_EINVAL /
 * SYNOD_ELIMIT: request or policy is not JSON or too long (nothing run). */
SYNOD_WUR int voter_plugin_evaluate(struct voter_plugin *h, const char *request, size_t request_len,
                                    const char *policy, size_t policy_len,
                                    struct voter_verdict *out);

/* The plugin's name and version (for the vote's "plugin"). */
const char *voter_plugin_name(const struct voter_plugin *h);
const char *voter_plugin_version(const struct voter_plugin *h);
/* The pid of the running SO host, 0 when none (for tests). */
int voter_plugin_host_pid(const struct voter_plugin *h);
/* False in AddressSanitizer builds: ASan reserves terabytes of address space,
 * so RLIMIT_AS is not set on the (instrumented) SO host there. */
bool voter_plugin_host_memory_limited(void);
void voter_plugin_counters_get(const struct voter_plugin *h, struct voter_plugin_counters *out);

/* Stops the host (EOF, then SIGKILL after a short grace) and frees h. */
void voter_plugin_close(struct voter_plugin *h);

#endif

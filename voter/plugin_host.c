/* Plugin hosts: the voter side (plugin_host.h). */
#include "voter/plugin_host.h"

#include "common/json.h"
#include "common/log.h"
#include "voter/proto.h"
#include "voter/spawn.h"

#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define PLUGIN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PLUGIN_ASAN 1
#endif
#endif
#ifndef PLUGIN_ASAN
#define PLUGIN_ASAN 0
#endif

/* In ASan builds the host is instrumented: ASan would turn a plugin's SIGSEGV
 * into a report and exit 1, and its leak check into exit codes. The host is a
 * sandbox for crashing code, so it gets the signals as they are. */
#define PLUGIN_ASAN_OPTIONS                                                                        \
	"ASAN_OPTIONS=handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_abort=0:detect_leaks=0"

/* A graceful host stop: EOF on its stdin, then this long before SIGKILL. */
#define PLUGIN_HOST_STOP_MS 200

SYNOD_COUNTER(c_evals, "synod_voter_plugin_evaluations_total", "plugin evaluations started");
SYNOD_COUNTER(c_failures, "synod_voter_plugin_failures_total",
              "plugin evaluations without a verdict (crash, timeout, garbage, ...)");
SYNOD_COUNTER(c_crashes, "synod_voter_plugin_crashes_total", "plugin children killed by a signal");
SYNOD_COUNTER(c_timeouts, "synod_voter_plugin_timeouts_total", "plugin evaluations past deadline");
SYNOD_COUNTER(c_garbage, "synod_voter_plugin_garbage_total", "plugin answers that broke the rules");
SYNOD_COUNTER(c_restarts, "synod_voter_plugin_restarts_total", "plugin hosts restarted");

struct voter_plugin {
	enum voter_plugin_kind kind;
	char *path;
	char *host_path;
	char *argv[VOTER_PLUGIN_ARGS_MAX + 2];
	char *envp[VOTER_PLUGIN_ENV_MAX + 1];
	char *config;
	char name[SYNOD_APP_PLUGIN_NAME_BYTES_MAX + 1];
	char version[SYNOD_APP_PLUGIN_VERSION_BYTES_MAX + 1];
	uint32_t deadline_ms;
	uint32_t host_evals_max;
	enum voter_fallback fallback;
	struct voter_limits limits;
	struct voter_child host; /* SO: pid 0 when not running */
	uint32_t host_evals;
	bool host_started_once;
	struct voter_plugin_counters counters;
	uint8_t out[VOTER_EXEC_INPUT_BYTES_MAX + VOTER_PROTO_HEADER_BYTES];
	uint8_t in[VOTER_PROTO_FRAME_BYTES_MAX + VOTER_PROTO_HEADER_BYTES];
};
_Static_assert(VOTER_EXEC_INPUT_BYTES_MAX >= VOTER_PROTO_FRAME_BYTES_MAX, "out holds a frame");
_Static_assert(VOTER_PROTO_FRAME_BYTES_MAX >= VOTER_EXEC_OUTPUT_BYTES_MAX, "in holds an answer");

const char *voter_plugin_strerror(int err)
{
	switch (err) {
	case VOTER_EPLUGIN_CRASH:
		return "plugin crashed";
	case VOTER_EPLUGIN_TIMEOUT:
		return "plugin passed its deadline";
	case VOTER_EPLUGIN_GARBAGE:
		return "plugin output is malformed";
	case VOTER_EPLUGIN_OVERSIZE:
		return "plugin output is too large";
	case VOTER_EPLUGIN_EXIT:
		return "plugin exited without an answer";
	case VOTER_EPLUGIN_REFUSED:
		return "plugin returned an error";
	case VOTER_EPLUGIN_SPAWN:
		return "plugin could not be started";
	default:
		return synod_strerror(err);
	}
}

bool voter_plugin_host_memory_limited(void)
{
	return !PLUGIN_ASAN;
}

/* Same charset as the vote's plugin name and version. */
static bool plugin_ident_ok(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);
	if (n == 0 || n > max) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || strchr("._+:/@-", c) != NULL;
		if (!ok) {
			return false;
		}
	}
	return true;
}

/* The wait status of a child that stopped answering, in words and as a code. */
static int plugin_status_err(int status, char *msg, size_t len)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		return synod_errf(msg, len, VOTER_EPLUGIN_CRASH, "killed by signal %d (%s)", sig,
		                  sig == SIGXCPU ? "CPU limit" : strsignal(sig));
	}
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	const char *why = code == 127   ? ": could not be executed"
	                  : code == 126 ? ": its limits could not be set"
	                                : "";
	return synod_errf(msg, len, VOTER_EPLUGIN_EXIT, "exited with status %d before answering%s",
	                  code, why);
}

/* After an I/O failure: kill the child and name the failure. */
static int plugin_io_fail(struct voter_plugin *h, struct voter_child *c, int io_rc,
                          int64_t deadline_ms, char *msg, size_t len)
{
	int status = 0;
	if (io_rc == SYNOD_ETRUNC && voter_child_wait(c, deadline_ms, &status) == 0) {
		voter_child_kill(c, NULL);
		return plugin_status_err(status, msg, len);
	}
	voter_child_kill(c, &status);
	if (io_rc == SYNOD_ESTATE || io_rc == SYNOD_ETRUNC) {
		return synod_errf(msg, len, VOTER_EPLUGIN_TIMEOUT, "no answer within %u ms: killed",
		                  h->deadline_ms);
	}
	if (io_rc == SYNOD_ELIMIT) {
		return synod_errf(msg, len, VOTER_EPLUGIN_OVERSIZE, "answer over %u bytes",
		                  h->kind == VOTER_PLUGIN_SO ? VOTER_PROTO_FRAME_BYTES_MAX
		                                             : VOTER_EXEC_OUTPUT_BYTES_MAX);
	}
	if (io_rc == SYNOD_EPROTO) {
		return synod_errf(msg, len, VOTER_EPLUGIN_GARBAGE, "empty frame");
	}
	return synod_errf(msg, len, VOTER_EPLUGIN_CRASH, "I/O with the plugin failed: %s",
	                  synod_strerror(io_rc));
}

/* One frame out, one frame in, decoded into m (borrowing h->in). */
static int so_exchange(struct voter_plugin *h, const struct voter_proto_msg *req,
                       struct voter_proto_msg *m, int64_t deadline_ms, char *msg, size_t len)
{
	size_t out_len = 0;
	int rc = voter_proto_encode(h->out, sizeof h->out, &out_len, req);
	if (rc != 0) {
		return synod_errf(msg, len, rc, "frame type %u does not fit", (unsigned)req->type);
	}
	int pending = voter_child_pending(&h->host);
	if (pending < 0) { /* died since the last answer: say how */
		return plugin_io_fail(h, &h->host, SYNOD_ETRUNC, deadline_ms, msg, len);
	}
	if (pending > 0) {
		voter_child_kill(&h->host, NULL);
		return synod_errf(msg, len, VOTER_EPLUGIN_GARBAGE, "host wrote unasked bytes");
	}
	struct voter_io io = {
	    .out = h->out, .out_len = out_len, .in = h->in, .in_cap = sizeof h->in, .frame = true};
	rc = voter_child_io(&h->host, &io, deadline_ms);
	if (rc != 0) {
		return plugin_io_fail(h, &h->host, rc, deadline_ms, msg, len);
	}
	char why[128];
	rc = voter_proto_decode(m, h->in + VOTER_PROTO_HEADER_BYTES,
	                        io.in_len - VOTER_PROTO_HEADER_BYTES, why, sizeof why);
	if (rc != 0) {
		voter_child_kill(&h->host, NULL);
		return synod_errf(msg, len, VOTER_EPLUGIN_GARBAGE, "bad frame from host: %s", why);
	}
	return 0;
}

/* An ERROR frame: the plugin's own message, made printable. */
static int so_refused(const struct voter_proto_msg *m, char *msg, size_t len)
{
	char text[VOTER_PLUGIN_TEXT_BYTES_MAX + 1];
	size_t n = m->a_len;
	for (size_t i = 0; i < n; i++) {
		char c = (char)m->a[i];
		text[i] = c >= 0x20 && c < 0x7f ? c : '?';
	}
	text[n] = '\0';
	return synod_errf(msg, len, VOTER_EPLUGIN_REFUSED, "plugin: %s", text);
}

/* Starts the host and initialises the plugin: READY gives name and version. */
static int so_host_start(struct voter_plugin *h, int64_t deadline_ms, char *msg, size_t len)
{
	char *argv[] = {h->host_path, h->path, NULL};
	char *envp[VOTER_PLUGIN_ENV_MAX + 2];
	size_t n = 0;
	for (; h->envp[n] != NULL; n++) {
		envp[n] = h->envp[n];
	}
	static char asan_options[] = PLUGIN_ASAN_OPTIONS;
	envp[n] = PLUGIN_ASAN ? asan_options : NULL;
	envp[n + 1] = NULL;
	int rc = voter_child_spawn(&h->host, h->host_path, argv, envp, &h->limits, msg, len);
	if (rc != 0) {
		return VOTER_EPLUGIN_SPAWN;
	}
	h->counters.spawns++;
	if (h->host_started_once) {
		h->counters.restarts++;
		synod_counter_inc(&c_restarts);
	}
	h->host_started_once = true;
	h->host_evals = 0;
	size_t clen = strlen(h->config);
	struct voter_proto_msg init = {
	    .type = VOTER_PROTO_INIT, .a = (const uint8_t *)h->config, .a_len = clen};
	struct voter_proto_msg m;
	rc = so_exchange(h, &init, &m, deadline_ms, msg, len);
	if (rc == 0 && m.type == VOTER_PROTO_ERROR) {
		voter_child_kill(&h->host, NULL);
		return so_refused(&m, msg, len);
	}
	if (rc == 0 && m.type != VOTER_PROTO_READY) {
		voter_child_kill(&h->host, NULL);
		return synod_errf(msg, len, VOTER_EPLUGIN_GARBAGE, "frame type %u instead of READY",
		                  (unsigned)m.type);
	}
	if (rc != 0) {
		return rc;
	}
	char name[SYNOD_APP_PLUGIN_NAME_BYTES_MAX + 1] = {0};
	char version[SYNOD_APP_PLUGIN_VERSION_BYTES_MAX + 1] = {0};
	memcpy(name, m.a, m.a_len);
	memcpy(version, m.b, m.b_len);
	if (!plugin_ident_ok(name, SYNOD_APP_PLUGIN_NAME_BYTES_MAX) ||
	    memchr(m.a, 0, m.a_len) != NULL ||
	    !plugin_ident_ok(version, SYNOD_APP_PLUGIN_VERSION_BYTES_MAX) ||
	    memchr(m.b, 0, m.b_len) != NULL) {
		voter_child_kill(&h->host, NULL);
		return synod_errf(
		    msg, len, VOTER_EPLUGIN_GARBAGE,
		    "plugin name or version is not 1..64/1..32 of [A-Za-z0-9._+:/@-]");
	}
	memcpy(h->name, name, sizeof name);
	memcpy(h->version, version, sizeof version);
	return 0;
}

/* EOF on the host's stdin lets it close the plugin; then it is killed. */
static void so_host_stop(struct voter_plugin *h)
{
	if (h->host.pid == 0) {
		return;
	}
	if (h->host.to_fd >= 0) {
		(void)close(h->host.to_fd);
		h->host.to_fd = -1;
	}
	int status = 0;
	if (voter_child_wait(&h->host, voter_now_ms() + PLUGIN_HOST_STOP_MS, &status) != 0) {
		synod_log(SYNOD_LOG_INFO, "plugin", "plugin=%s host did not stop in %d ms: killed",
		          h->name, PLUGIN_HOST_STOP_MS);
	}
	voter_child_kill(&h->host, NULL);
}

static int so_evaluate(struct voter_plugin *h, const char *request, size_t request_len,
                       const char *policy, size_t policy_len, struct voter_verdict *out,
                       const uint8_t **reason, size_t *reason_len)
{
	int64_t deadline_ms = voter_now_ms() + h->deadline_ms;
	char *msg = out->errmsg;
	size_t len = sizeof out->errmsg;
	int rc = 0;
	if (h->host.pid == 0) {
		rc = so_host_start(h, deadline_ms, msg, len);
		if (rc != 0) {
			return rc;
		}
	}
	struct voter_proto_msg eval = {.type = VOTER_PROTO_EVAL,
	                               .a = (const uint8_t *)request,
	                               .a_len = request_len,
	                               .b = (const uint8_t *)policy,
	                               .b_len = policy_len};
	struct voter_proto_msg m;
	rc = so_exchange(h, &eval, &m, deadline_ms, msg, len);
	if (rc != 0) {
		return rc;
	}
	if (++h->host_evals >= h->host_evals_max) {
		so_host_stop(h); /* bounds a plugin's leaks and the host's lifetime CPU */
	}
	if (m.type == VOTER_PROTO_ERROR) {
		return so_refused(&m, msg, len);
	}
	if (m.type != VOTER_PROTO_VERDICT) {
		voter_child_kill(&h->host, NULL);
		return synod_errf(msg, len, VOTER_EPLUGIN_GARBAGE,
		                  "frame type %u instead of VERDICT", (unsigned)m.type);
	}
	out->verdict = m.verdict;
	*reason = m.a;
	*reason_len = m.a_len;
	return 0;
}

/* {"config":C,"policy":P,"request":R}: each part is JSON already checked. */
static int exec_input(struct voter_plugin *h, const char *request, size_t request_len,
                      const char *policy, size_t policy_len, size_t *len)
{
	const char *parts[] = {
	    "{\"config\":", h->config, ",\"policy\":", policy, ",\"request\":", request, "}"};
	size_t lens[] = {10, strlen(h->config), 10, policy_len, 11, request_len, 1};
	size_t pos = 0;
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		if (lens[i] > sizeof h->out - pos) {
			return SYNOD_ELIMIT;
		}
		memcpy(h->out + pos, parts[i], lens[i]);
		pos += lens[i];
	}
	*len = pos;
	return 0;
}

/* The answer: exactly {"reason":{...},"verdict":"APPROVE"|"REJECT"}. */
static int exec_answer(struct voter_verdict *out, const uint8_t *buf, size_t n,
                       struct json_object **tree, const char **reason, size_t *reason_len)
{
	char why[128];
	char *msg = out->errmsg;
	size_t len = sizeof out->errmsg;
	if (synod_json_parse(tree, (const char *)buf, n, why, sizeof why) != 0) {
		return synod_errf(msg, len, VOTER_EPLUGIN_GARBAGE, "output is not JSON: %s", why);
	}
	struct json_object *v = NULL;
	struct json_object *r = NULL;
	if (!json_object_is_type(*tree, json_type_object) ||
	    json_object_object_length(*tree) != 2 ||
	    !json_object_object_get_ex(*tree, "verdict", &v) ||
	    !json_object_object_get_ex(*tree, "reason", &r) ||
	    !json_object_is_type(v, json_type_string)) {
		return synod_errf(
		    msg, len, VOTER_EPLUGIN_GARBAGE,
		    "output is not {\"reason\":{...},\"verdict\":\"APPROVE|REJECT\"}");
	}
	const char *s = json_object_get_string(v);
	out->verdict = strcmp(s, "APPROVE") == 0  ? SYNOD_PLUGIN_APPROVE
	               : strcmp(s, "REJECT") == 0 ? SYNOD_PLUGIN_REJECT
	                                          : 0;
	if (out->verdict == 0) {
		return synod_errf(msg, len, VOTER_EPLUGIN_GARBAGE,
		                  "verdict is not APPROVE or REJECT");
	}
	*reason = json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN);
	*reason_len = strlen(*reason);
	return 0;
}

static int exec_evaluate(struct voter_plugin *h, const char *request, size_t request_len,
                         const char *policy, size_t policy_len, struct voter_verdict *out,
                         struct json_object **tree, const char **reason, size_t *reason_len)
{
	int64_t deadline_ms = voter_now_ms() + h->deadline_ms;
	char *msg = out->errmsg;
	size_t len = sizeof out->errmsg;
	size_t in_len = 0;
	if (exec_input(h, request, request_len, policy, policy_len, &in_len) != 0) {
		return synod_errf(msg, len, SYNOD_ELIMIT, "plugin input over %zu bytes",
		                  sizeof h->out);
	}
	struct voter_child c;
	if (voter_child_spawn(&c, h->path, h->argv, h->envp, &h->limits, msg, len) != 0) {
		return VOTER_EPLUGIN_SPAWN;
	}
	h->counters.spawns++;
	struct voter_io io = {
	    .out = h->out, .out_len = in_len, .in = h->in, .in_cap = VOTER_EXEC_OUTPUT_BYTES_MAX};
	int rc = voter_child_io(&c, &io, deadline_ms);
	if (rc != 0) {
		return plugin_io_fail(h, &c, rc, deadline_ms, msg, len);
	}
	int status = 0;
	rc = voter_child_wait(&c, deadline_ms, &status);
	voter_child_kill(&c, NULL); /* its group, and the child if still running */
	if (rc != 0) {
		return synod_errf(msg, len, VOTER_EPLUGIN_TIMEOUT,
		                  "did not exit within %u ms after answering: killed",
		                  h->deadline_ms);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		return plugin_status_err(status, msg, len);
	}
	return exec_answer(out, h->in, io.in_len, tree, reason, reason_len);
}

/* The reason must be a JSON object; it is kept in canonical form. */
static int plugin_reason_set(struct voter_verdict *out, const char *text, size_t n)
{
	struct json_object *obj = NULL;
	char why[128];
	char *canon = NULL;
	size_t canon_len = 0;
	int rc = synod_json_parse(&obj, text, n, why, sizeof why);
	if (rc != 0) {
		return synod_errf(out->errmsg, sizeof out->errmsg, VOTER_EPLUGIN_GARBAGE,
		                  "reason is not JSON: %s", why);
	}
	rc = json_object_is_type(obj, json_type_object)
	         ? synod_json_canonical(obj, &canon, &canon_len)
	         : SYNOD_EJSON_TYPE;
	json_object_put(obj);
	if (rc == 0 && canon_len > VOTER_PLUGIN_REASON_BYTES_MAX) {
		rc = VOTER_EPLUGIN_OVERSIZE;
	} else if (rc == 0) {
		memcpy(out->reason, canon, canon_len + 1);
		out->reason_len = canon_len;
	}
	free(canon);
	if (rc == VOTER_EPLUGIN_OVERSIZE) {
		return synod_errf(out->errmsg, sizeof out->errmsg, rc, "reason over %u bytes",
		                  VOTER_PLUGIN_REASON_BYTES_MAX);
	}
	return rc == 0 ? 0
	               : synod_errf(out->errmsg, sizeof out->errmsg, VOTER_EPLUGIN_GARBAGE,
	                            "reason is not a JSON object (%s)", synod_strerror(rc));
}

static void plugin_count_failure(struct voter_plugin *h, int rc)
{
	struct voter_plugin_counters *k = &h->counters;
	k->failures++;
	synod_counter_inc(&c_failures);
	switch (rc) {
	case VOTER_EPLUGIN_CRASH:
		k->crashes++;
		synod_counter_inc(&c_crashes);
		break;
	case VOTER_EPLUGIN_TIMEOUT:
		k->timeouts++;
		synod_counter_inc(&c_timeouts);
		break;
	case VOTER_EPLUGIN_OVERSIZE:
		k->oversized++;
		synod_counter_inc(&c_garbage);
		break;
	case VOTER_EPLUGIN_EXIT:
		k->exits++;
		break;
	case VOTER_EPLUGIN_REFUSED:
		k->refusals++;
		break;
	case VOTER_EPLUGIN_SPAWN:
		k->spawn_failures++;
		break;
	default:
		k->garbage++;
		synod_counter_inc(&c_garbage);
		break;
	}
}

/* No plugin verdict: log, count, and give the fallback if one is set. */
static int plugin_failed(struct voter_plugin *h, int rc, struct voter_verdict *out)
{
	plugin_count_failure(h, rc);
	synod_log(SYNOD_LOG_WARN, "plugin", "plugin=%s path=%s error=\"%s\" detail=\"%s\"%s",
	          h->name, h->path, voter_plugin_strerror(rc), out->errmsg,
	          h->fallback != VOTER_FALLBACK_NONE ? " fallback=yes" : "");
	out->verdict = 0;
	out->reason[0] = '\0';
	out->reason_len = 0;
	if (h->fallback != VOTER_FALLBACK_NONE) {
		int n = snprintf(out->reason, sizeof out->reason,
		                 "{\"error\":\"%s\",\"plugin\":\"%s\"}", voter_plugin_strerror(rc),
		                 h->name);
		out->reason_len = n > 0 ? (size_t)n : 0;
		out->verdict = (int)h->fallback;
		out->fallback = true;
		h->counters.fallbacks++;
	}
	return rc;
}

static int plugin_inputs_check(const char *request, size_t request_len, const char *policy,
                               size_t policy_len, struct voter_verdict *out)
{
	if (request_len > VOTER_PLUGIN_REQUEST_BYTES_MAX ||
	    policy_len > VOTER_PLUGIN_POLICY_BYTES_MAX) {
		return synod_errf(out->errmsg, sizeof out->errmsg, SYNOD_ELIMIT,
		                  "request over %u or policy over %u bytes",
		                  VOTER_PLUGIN_REQUEST_BYTES_MAX, VOTER_PLUGIN_POLICY_BYTES_MAX);
	}
	const char *what[] = {"request", "policy"};
	const char *text[] = {request, policy};
	size_t lens[] = {request_len, policy_len};
	for (int i = 0; i < 2; i++) {
		struct json_object *obj = NULL;
		char why[128];
		if (synod_json_parse(&obj, text[i], lens[i], why, sizeof why) != 0) {
			return synod_errf(out->errmsg, sizeof out->errmsg, SYNOD_EINVAL, "%s: %s",
			                  what[i], why);
		}
		json_object_put(obj);
	}
	return 0;
}

int voter_plugin_evaluate(struct voter_plugin *h, const char *request, size_t request_len,
                          const char *policy, size_t policy_len, struct voter_verdict *out)
{
	memset(out, 0, sizeof *out);
	int rc = plugin_inputs_check(request, request_len, policy, policy_len, out);
	if (rc != 0) {
		return rc;
	}
	h->counters.evaluations++;
	synod_counter_inc(&c_evals);
	struct json_object *tree = NULL;
	const char *reason = NULL;
	size_t reason_len = 0;
	if (h->kind == VOTER_PLUGIN_SO) {
		const uint8_t *r = NULL;
		rc = so_evaluate(h, request, request_len, policy, policy_len, out, &r, &reason_len);
		reason = (const char *)r;
	} else {
		rc = exec_evaluate(h, request, request_len, policy, policy_len, out, &tree, &reason,
		                   &reason_len);
	}
	if (rc == 0) {
		rc = plugin_reason_set(out, reason, reason_len);
	}
	json_object_put(tree);
	if (rc != 0) {
		return plugin_failed(h, rc, out);
	}
	if (out->verdict == SYNOD_PLUGIN_APPROVE) {
		h->counters.approvals++;
	} else {
		h->counters.rejections++;
	}
	return 0;
}

static char **plugin_strv_copy(char **dst, size_t max, const char *const *src, size_t *count)
{
	*count = 0;
	for (size_t i = 0; src != NULL && src[i] != NULL; i++) {
		if (i == max) {
			return NULL;
		}
		dst[i] = strdup(src[i]);
		if (dst[i] == NULL) {
			return NULL;
		}
		*count = i + 1;
	}
	return dst;
}

static int plugin_config_limits(struct voter_plugin *h, const struct voter_plugin_config *cfg,
                                char *errmsg, size_t errmsg_len)
{
	h->deadline_ms = cfg->deadline_ms != 0 ? cfg->deadline_ms : VOTER_PLUGIN_DEADLINE_MS_DEF;
	uint64_t mem = cfg->memory_bytes != 0 ? cfg->memory_bytes : VOTER_PLUGIN_MEMORY_BYTES_DEF;
	uint32_t files = cfg->files != 0 ? cfg->files : VOTER_PLUGIN_FILES_DEF;
	if (h->deadline_ms > VOTER_PLUGIN_DEADLINE_MS_MAX || mem < VOTER_PLUGIN_MEMORY_BYTES_MIN ||
	    files < 4) {
		return synod_errf(
		    errmsg, errmsg_len, SYNOD_ECONFIG,
		    "plugin %s: deadline_ms must be <= %u, memory_bytes >= %llu, files >= 4",
		    cfg->path, VOTER_PLUGIN_DEADLINE_MS_MAX,
		    (unsigned long long)VOTER_PLUGIN_MEMORY_BYTES_MIN);
	}
	bool so = cfg->kind == VOTER_PLUGIN_SO;
	h->limits = (struct voter_limits){
	    .memory_bytes = so && PLUGIN_ASAN ? 0 : mem,
	    /* Exec: the CPU limit backs up the deadline. The host lives long, so
	     * its limit is a lifetime budget and it is recycled (host_evals_max). */
	    .cpu_s = so ? VOTER_PLUGIN_CPU_S_HOST : h->deadline_ms / 1000u + 1u,
	    .files = files,
	    .file_bytes = cfg->file_bytes,
	    .stderr_fd = cfg->stderr_fd > 0 ? cfg->stderr_fd : -1,
	};
	h->host_evals_max = cfg->host_evaluations_max != 0 ? cfg->host_evaluations_max
	                                                   : VOTER_PLUGIN_HOST_EVALS_DEF;
	h->fallback = cfg->fallback;
	return 0;
}

static int plugin_config_paths(struct voter_plugin *h, const struct voter_plugin_config *cfg,
                               char *errmsg, size_t errmsg_len)
{
	bool so = cfg->kind == VOTER_PLUGIN_SO;
	if (cfg->path == NULL || cfg->path[0] != '/' ||
	    (so && (cfg->host_path == NULL || cfg->host_path[0] != '/'))) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ECONFIG,
		                  "plugin: path (and host_path for a .so) must be absolute paths");
	}
	if (access(cfg->path, so ? R_OK : X_OK) != 0 || (so && access(cfg->host_path, X_OK) != 0)) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ECONFIG, "plugin %s: %s is not %s",
		                  cfg->path, so ? "it or the host" : "it",
		                  so ? "readable/executable" : "executable");
	}
	size_t n = 0;
	h->path = strdup(cfg->path);
	h->host_path = strdup(so ? cfg->host_path : cfg->path);
	h->argv[0] = strdup(cfg->path);
	if (h->path == NULL || h->host_path == NULL || h->argv[0] == NULL) {
		return SYNOD_ENOMEM;
	}
	if (plugin_strv_copy(h->argv + 1, VOTER_PLUGIN_ARGS_MAX, cfg->args, &n) == NULL ||
	    plugin_strv_copy(h->envp, VOTER_PLUGIN_ENV_MAX, cfg->env, &n) == NULL) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ECONFIG,
		                  "plugin %s: at most %u arguments and %u environment entries",
		                  cfg->path, VOTER_PLUGIN_ARGS_MAX, VOTER_PLUGIN_ENV_MAX);
	}
	return 0;
}

static int plugin_config_text(struct voter_plugin *h, const struct voter_plugin_config *cfg,
                              char *errmsg, size_t errmsg_len)
{
	const char *text = cfg->config_json != NULL ? cfg->config_json : "{}";
	size_t len = strnlen(text, VOTER_PLUGIN_CONFIG_BYTES_MAX + 1);
	struct json_object *obj = NULL;
	char why[128];
	if (len > VOTER_PLUGIN_CONFIG_BYTES_MAX ||
	    synod_json_parse(&obj, text, len, why, sizeof why)) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ECONFIG,
		                  "plugin %s: config is not JSON of at most %u bytes", cfg->path,
		                  VOTER_PLUGIN_CONFIG_BYTES_MAX);
	}
	json_object_put(obj);
	h->config = strdup(text);
	if (cfg->kind == VOTER_PLUGIN_EXEC) {
		if (cfg->name == NULL || cfg->version == NULL ||
		    !plugin_ident_ok(cfg->name, SYNOD_APP_PLUGIN_NAME_BYTES_MAX) ||
		    !plugin_ident_ok(cfg->version, SYNOD_APP_PLUGIN_VERSION_BYTES_MAX)) {
			return synod_errf(errmsg, errmsg_len, SYNOD_ECONFIG,
			                  "plugin %s: name (1..64) and version (1..32) of "
			                  "[A-Za-z0-9._+:/@-] are required for an exec plugin",
			                  cfg->path);
		}
		snprintf(h->name, sizeof h->name, "%s", cfg->name);
		snprintf(h->version, sizeof h->version, "%s", cfg->version);
	} else {
		snprintf(h->name, sizeof h->name, "%s", "unknown");
	}
	return h->config == NULL ? SYNOD_ENOMEM : 0;
}

int voter_plugin_open(struct voter_plugin **out, const struct voter_plugin_config *cfg,
                      char *errmsg, size_t errmsg_len)
{
	*out = NULL;
	if (cfg->kind != VOTER_PLUGIN_SO && cfg->kind != VOTER_PLUGIN_EXEC) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ECONFIG, "plugin: unknown kind %d",
		                  (int)cfg->kind);
	}
	struct voter_plugin *h = calloc(1, sizeof *h);
	if (h == NULL) {
		return SYNOD_ENOMEM;
	}
	h->kind = cfg->kind;
	h->host.to_fd = h->host.from_fd = -1;
	int rc = plugin_config_paths(h, cfg, errmsg, errmsg_len);
	if (rc == 0) {
		rc = plugin_config_limits(h, cfg, errmsg, errmsg_len);
	}
	if (rc == 0) {
		rc = plugin_config_text(h, cfg, errmsg, errmsg_len);
	}
	if (rc == 0 && h->kind == VOTER_PLUGIN_SO) {
		char msg[VOTER_PLUGIN_ERRMSG_BYTES];
		rc = so_host_start(h, voter_now_ms() + h->deadline_ms, msg, sizeof msg);
		if (rc != 0) {
			synod_errf(errmsg, errmsg_len, rc, "plugin %s: %s", cfg->path, msg);
		}
	}
	if (rc != 0) {
		voter_plugin_close(h);
		return rc;
	}
	*out = h;
	return 0;
}

const char *voter_plugin_name(const struct voter_plugin *h)
{
	return h->name;
}

const char *voter_plugin_version(const struct voter_plugin *h)
{
	return h->version;
}

int voter_plugin_host_pid(const struct voter_plugin *h)
{
	return (int)h->host.pid;
}

void voter_plugin_counters_get(const struct voter_plugin *h, struct voter_plugin_counters *out)
{
	*out = h->counters;
}

void voter_plugin_close(struct voter_plugin *h)
{
	if (h == NULL) {
		return;
	}
	so_host_stop(h);
	for (size_t i = 0; i < VOTER_PLUGIN_ARGS_MAX + 2; i++) {
		free(h->argv[i]);
	}
	for (size_t i = 0; i < VOTER_PLUGIN_ENV_MAX + 1; i++) {
		free(h->envp[i]);
	}
	free(h->path);
	free(h->host_path);
	free(h->config);
	free(h);
}

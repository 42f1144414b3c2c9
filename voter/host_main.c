/* synod-plugin-host PLUGIN.so: loads one evaluation plugin (voter/plugin.h)
 * and serves the voter's INIT and EVAL frames (voter/proto.h) on stdin and
 * stdout until EOF. Started by the voter library only, with its limits set;
 * it holds no key and no socket. Any protocol error from the voter ends it
 * (exit 2); the plugin's own failures are ERROR frames. */
#include "voter/limits.h"
#include "voter/plugin.h"
#include "voter/proto.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOST_IN_FD  0
#define HOST_OUT_FD 1

/* Frame buffers, static: the host allocates nothing per evaluation. */
static uint8_t host_in[VOTER_PROTO_FRAME_BYTES_MAX + 1];
static uint8_t host_out[VOTER_PROTO_FRAME_BYTES_MAX + VOTER_PROTO_HEADER_BYTES];
static char host_request[VOTER_PLUGIN_REQUEST_BYTES_MAX + 1];
static char host_policy[VOTER_PLUGIN_POLICY_BYTES_MAX + 1];
static char host_config[VOTER_PLUGIN_CONFIG_BYTES_MAX + 1];
static char host_reason[VOTER_PLUGIN_REASON_BYTES_MAX + 1];

/* 0, 1 at a clean EOF before the first byte, -1 on error or short input. */
static int host_read_full(uint8_t *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(HOST_IN_FD, p + got, n - got);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			return r == 0 && got == 0 ? 1 : -1;
		}
		got += (size_t)r;
	}
	return 0;
}

static int host_write_full(const uint8_t *p, size_t n)
{
	size_t put = 0;
	while (put < n) {
		ssize_t w = write(HOST_OUT_FD, p + put, n - put);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			return -1;
		}
		put += (size_t)w;
	}
	return 0;
}

static int host_send(const struct voter_proto_msg *m)
{
	size_t len = 0;
	if (voter_proto_encode(host_out, sizeof host_out, &len, m) != 0) {
		return -1;
	}
	return host_write_full(host_out, len);
}

static int host_send_error(const char *text)
{
	size_t n = strnlen(text, VOTER_PLUGIN_TEXT_BYTES_MAX);
	struct voter_proto_msg m = {
	    .type = VOTER_PROTO_ERROR, .a = (const uint8_t *)text, .a_len = n};
	return host_send(&m);
}

/* Reads one frame; 1 at EOF. */
static int host_recv(struct voter_proto_msg *m)
{
	uint8_t hdr[VOTER_PROTO_HEADER_BYTES];
	size_t body = 0;
	int rc = host_read_full(hdr, sizeof hdr);
	if (rc != 0) {
		return rc;
	}
	if (voter_proto_header(hdr, &body) != 0 || host_read_full(host_in, body) != 0) {
		return -1;
	}
	char why[128];
	return voter_proto_decode(m, host_in, body, why, sizeof why) == 0 ? 0 : -1;
}

static void host_copy(char *dst, const uint8_t *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Loads the plugin and checks its table. */
static const struct synod_plugin *host_load(const char *path, char *err, size_t err_len)
{
	void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		snprintf(err, err_len, "dlopen: %s", dlerror());
		return NULL;
	}
	synod_plugin_entry_fn entry;
	void *sym = dlsym(lib, SYNOD_PLUGIN_ENTRY);
	memcpy(&entry, &sym, sizeof entry); /* object to function pointer, as POSIX allows */
	const struct synod_plugin *p = sym != NULL ? entry() : NULL;
	if (p == NULL || p->abi_version != SYNOD_PLUGIN_ABI_VERSION || p->evaluate == NULL ||
	    p->init == NULL || p->name == NULL || p->version == NULL) {
		snprintf(err, err_len, "%s: no %s, or ABI version %u expected, or a NULL member",
		         path, SYNOD_PLUGIN_ENTRY, SYNOD_PLUGIN_ABI_VERSION);
		return NULL;
	}
	return p;
}

static int host_init(const struct synod_plugin *p, void **state)
{
	struct voter_proto_msg m;
	if (host_recv(&m) != 0 || m.type != VOTER_PROTO_INIT) {
		return -1;
	}
	host_copy(host_config, m.a, m.a_len);
	char err[VOTER_PLUGIN_TEXT_BYTES_MAX] = "init failed";
	if (p->init(state, host_config, m.a_len, err, sizeof err) != 0) {
		err[sizeof err - 1] = '\0';
		(void)host_send_error(err);
		return -1;
	}
	struct voter_proto_msg ready = {
	    .type = VOTER_PROTO_READY,
	    .a = (const uint8_t *)p->name,
	    .a_len = strnlen(p->name, SYNOD_APP_PLUGIN_NAME_BYTES_MAX + 1),
	    .b = (const uint8_t *)p->version,
	    .b_len = strnlen(p->version, SYNOD_APP_PLUGIN_VERSION_BYTES_MAX + 1)};
	return host_send(&ready);
}

static int host_evaluate(const struct synod_plugin *p, void *state, const struct voter_proto_msg *m)
{
	host_copy(host_request, m->a, m->a_len);
	host_copy(host_policy, m->b, m->b_len);
	int verdict = 0;
	size_t reason_len = 0;
	host_reason[0] = '\0';
	int rc = p->evaluate(state, host_request, m->a_len, host_policy, m->b_len, &verdict,
	                     host_reason, VOTER_PLUGIN_REASON_BYTES_MAX, &reason_len);
	host_reason[VOTER_PLUGIN_REASON_BYTES_MAX] = '\0';
	if (rc != 0) {
		return host_send_error(host_reason[0] != '\0' ? host_reason : "evaluate failed");
	}
	if (reason_len > VOTER_PLUGIN_REASON_BYTES_MAX ||
	    (verdict != SYNOD_PLUGIN_APPROVE && verdict != SYNOD_PLUGIN_REJECT)) {
		return host_send_error("plugin broke the ABI: bad verdict or reason length");
	}
	struct voter_proto_msg v = {.type = VOTER_PROTO_VERDICT,
	                            .verdict = (uint8_t)verdict,
	                            .a = (const uint8_t *)host_reason,
	                            .a_len = reason_len};
	return host_send(&v);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: synod-plugin-host PLUGIN.so (started by synod-voter)\n");
		return 2;
	}
	char err[VOTER_PLUGIN_TEXT_BYTES_MAX];
	const struct synod_plugin *p = host_load(argv[1], err, sizeof err);
	if (p == NULL) {
		struct voter_proto_msg m;
		if (host_recv(&m) == 0) {
			(void)host_send_error(err);
		}
		return 1;
	}
	void *state = NULL;
	if (host_init(p, &state) != 0) {
		return 1;
	}
	int rc = 0;
	for (;;) {
		struct voter_proto_msg m;
		rc = host_recv(&m);
		if (rc != 0 || m.type != VOTER_PROTO_EVAL || host_evaluate(p, state, &m) != 0) {
			break;
		}
	}
	if (p->close != NULL) {
		p->close(state);
	}
	return rc == 1 ? 0 : 2;
}

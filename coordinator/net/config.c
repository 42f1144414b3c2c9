/* The coordinator daemon's config file (node.h). */
#include "coordinator/net/node.h"

#include "common/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Splits "host:port" (the last colon; "[v6]:port" too). */
static int parse_addr(const char *s, char *host, size_t host_cap, uint16_t *port, bool zero_ok)
{
	const char *colon = strrchr(s, ':');
	if (colon == NULL || colon == s || colon[1] == '\0') {
		return SYNOD_ECONFIG;
	}
	const char *h = s;
	size_t hlen = (size_t)(colon - s);
	if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= host_cap) {
		return SYNOD_ECONFIG;
	}
	char *end = NULL;
	errno = 0;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || p > 65535 || (p == 0 && !zero_ok) || colon[1] < '0' ||
	    colon[1] > '9') {
		return SYNOD_ECONFIG;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (uint16_t)p;
	return 0;
}

static int get_path(const struct synod_config *c, const char *key, bool required, char *out,
                    size_t cap, char *errmsg, size_t errmsg_len)
{
	static const char *none = "";
	const char *v = NULL;
	int rc = synod_config_get_string(c, key, cap - 1, required ? NULL : none, &v, errmsg,
	                                 errmsg_len);
	if (rc != 0) {
		return rc;
	}
	if (required && v[0] == '\0') {
		return synod_errf(errmsg, errmsg_len, SYNOD_ECONFIG, "%s: key \"%s\": empty",
		                  c->path, key);
	}
	snprintf(out, cap, "%s", v);
	return 0;
}

static int load_peers(struct synod_node_config *nc, const struct synod_config *c, char *errmsg,
                      size_t errmsg_len)
{
	size_t n = 0;
	int rc = synod_config_get_array_len(c, "peers", 4, PBFT_REPLICAS_MAX, NULL, &n, errmsg,
	                                    errmsg_len);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char key[32];
		const char *v = NULL;
		snprintf(key, sizeof key, "peers[%zu]", i);
		rc = synod_config_get_string(c, key, SYNOD_NET_HOST_BYTES_MAX + 6, NULL, &v, errmsg,
		                             errmsg_len);
		if (rc == 0 && parse_addr(v, nc->peer_host[i], sizeof nc->peer_host[i],
		                          &nc->peer_port[i], false) != 0) {
			rc = synod_errf(
			    errmsg, errmsg_len, SYNOD_ECONFIG,
			    "%s: key \"%s\": expected host:port with a port 1..65535, got "
			    "\"%s\"",
			    c->path, key, v);
		}
	}
	nc->peer_count = (uint32_t)n;
	if (rc == 0 && nc->self >= nc->peer_count) {
		rc = synod_errf(errmsg, errmsg_len, SYNOD_ECONFIG,
		                "%s: key \"self\": %u is not an index of \"peers\" (%u entries)",
		                c->path, nc->self, nc->peer_count);
	}
	return rc;
}

static int load_numbers(struct synod_node_config *nc, const struct synod_config *c, char *errmsg,
                        size_t errmsg_len)
{
	static const uint64_t tick = 500, tmin = 500, tmax = 10000, delay = 2, k = 8, win = 16,
	                      conns = SYNOD_NET_CONNECTIONS_MAX, q = SYNOD_NET_PEER_QUEUE_MSGS;
	uint64_t v[4] = {0};
	int rc =
	    synod_config_get_u64(c, "tick_ms", 10, 60000, &tick, &nc->tick_ms, errmsg, errmsg_len);
	rc = rc != 0 ? rc
	             : synod_config_get_u64(c, "pbft.timeout_ms_min", 10, 600000, &tmin,
	                                    &nc->timeout_ms_min, errmsg, errmsg_len);
	rc = rc != 0 ? rc
	             : synod_config_get_u64(c, "pbft.timeout_ms_max", nc->timeout_ms_min, 3600000,
	                                    &tmax, &nc->timeout_ms_max, errmsg, errmsg_len);
	rc = rc != 0 ? rc
	             : synod_config_get_u64(c, "pbft.batch_delay_ms", 0, 10000, &delay,
	                                    &nc->batch_delay_ms, errmsg, errmsg_len);
	rc = rc != 0 ? rc
	             : synod_config_get_u64(c, "pbft.checkpoint_interval", 1, PBFT_WINDOW_MAX / 2,
	                                    &k, &v[0], errmsg, errmsg_len);
	rc = rc != 0 ? rc
	             : synod_config_get_u64(c, "pbft.window", 2, PBFT_WINDOW_MAX, &win, &v[1],
	                                    errmsg, errmsg_len);
	rc = rc != 0
	         ? rc
	         : synod_config_get_u64(c, "limits.connections_max", 8, SYNOD_NET_CONNECTIONS_MAX,
	                                &conns, &v[2], errmsg, errmsg_len);
	rc = rc != 0
	         ? rc
	         : synod_config_get_u64(c, "limits.peer_queue_msgs", 2u * PBFT_SENDS_MAX,
	                                SYNOD_NET_PEER_QUEUE_MSGS, &q, &v[3], errmsg, errmsg_len);
	nc->checkpoint_interval = (uint32_t)v[0];
	nc->window = (uint32_t)v[1];
	nc->connections_max = (uint32_t)v[2];
	nc->peer_queue_msgs = (uint32_t)v[3];
	return rc;
}

static int load_all(struct synod_node_config *nc, const struct synod_config *c, char *errmsg,
                    size_t errmsg_len)
{
	static const char *const top[] = {"data_dir", "listen", "cluster", "self",
	                                  "signer",   "peers",  "tls",     "tick_ms",
	                                  "pbft",     "limits", NULL};
	static const char *const tls[] = {"cert", "key", NULL};
	static const char *const pbft[] = {"timeout_ms_min", "timeout_ms_max",
	                                   "batch_delay_ms", "checkpoint_interval",
	                                   "window",         NULL};
	static const char *const limits[] = {"connections_max", "peer_queue_msgs", NULL};
	int rc = synod_config_check_keys(c, NULL, top, errmsg, errmsg_len);
	rc = rc != 0 ? rc : synod_config_check_keys(c, "tls", tls, errmsg, errmsg_len);
	rc = rc != 0 ? rc : synod_config_check_keys(c, "pbft", pbft, errmsg, errmsg_len);
	rc = rc != 0 ? rc : synod_config_check_keys(c, "limits", limits, errmsg, errmsg_len);
	rc = rc != 0 ? rc
	             : get_path(c, "data_dir", true, nc->data_dir, sizeof nc->data_dir, errmsg,
	                        errmsg_len);
	rc = rc != 0 ? rc
	             : get_path(c, "cluster", true, nc->cluster, sizeof nc->cluster, errmsg,
	                        errmsg_len);
	rc = rc != 0
	         ? rc
	         : get_path(c, "signer", true, nc->signer, sizeof nc->signer, errmsg, errmsg_len);
	rc = rc != 0 ? rc
	             : get_path(c, "tls.cert", false, nc->tls_cert, sizeof nc->tls_cert, errmsg,
	                        errmsg_len);
	rc = rc != 0 ? rc
	             : get_path(c, "tls.key", false, nc->tls_key, sizeof nc->tls_key, errmsg,
	                        errmsg_len);
	if (rc == 0 && (nc->tls_cert[0] == '\0') != (nc->tls_key[0] == '\0')) {
		rc = synod_errf(errmsg, errmsg_len, SYNOD_ECONFIG,
		                "%s: key \"tls\": give both cert and key, or neither", c->path);
	}
	uint64_t self = 0;
	rc = rc != 0 ? rc
	             : synod_config_get_u64(c, "self", 0, PBFT_REPLICAS_MAX - 1, NULL, &self,
	                                    errmsg, errmsg_len);
	nc->self = (uint32_t)self;
	const char *listen = NULL;
	rc = rc != 0 ? rc
	             : synod_config_get_string(c, "listen", SYNOD_NET_HOST_BYTES_MAX + 6, NULL,
	                                       &listen, errmsg, errmsg_len);
	if (rc == 0 && parse_addr(listen, nc->listen_host, sizeof nc->listen_host, &nc->listen_port,
	                          true) != 0) {
		rc =
		    synod_errf(errmsg, errmsg_len, SYNOD_ECONFIG,
		               "%s: key \"listen\": expected host:port (port 0..65535), got \"%s\"",
		               c->path, listen);
	}
	rc = rc != 0 ? rc : load_peers(nc, c, errmsg, errmsg_len);
	return rc != 0 ? rc : load_numbers(nc, c, errmsg, errmsg_len);
}

int synod_node_config_load(struct synod_node_config *nc, const char *path, char *errmsg,
                           size_t errmsg_len)
{
	memset(nc, 0, sizeof *nc);
	snprintf(nc->path, sizeof nc->path, "%s", path);
	struct synod_config c;
	int rc = synod_config_load(&c, path, errmsg, errmsg_len);
	if (rc == 0) {
		rc = load_all(nc, &c, errmsg, errmsg_len);
	}
	synod_config_close(&c);
	return rc;
}

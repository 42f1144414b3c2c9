/* The coordinator node: opening everything in order, the event loop, the
 * metrics page, shutdown (node.h). */
#include "coordinator/net/internal.h"

#include "common/assert.h"
#include "coordinator/wal/wal_pbft.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void http_on_app_event(void *ctx, const struct synod_app_event *ev);
void http_metrics_write(struct synod_node *n, FILE *f);

static const char *const reject_names[REJ_COUNT] = {
    [REJ_HS_MALFORMED] = "handshake_malformed",
    [REJ_HS_CLUSTER] = "handshake_cluster",
    [REJ_HS_INDEX] = "handshake_index",
    [REJ_HS_SIGNATURE] = "handshake_signature",
    [REJ_HS_LISTENER] = "handshake_listener_signature",
    [REJ_HS_INCOMPLETE] = "handshake_incomplete",
    [REJ_TOO_BIG] = "too_big",
    [REJ_CONNECTIONS] = "connections",
    [REJ_PBFT] = "pbft",
};

const char *net_reject_name(enum net_reject why)
{
	return reject_names[why];
}

void net_reject(struct synod_node *n, enum net_reject why, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	n->rejected[why]++;
	synod_log(SYNOD_LOG_WARN, "peer", "refused (%s): %s", reject_names[why], msg);
}

static int open_keys(struct synod_node *n, char *errmsg, size_t errmsg_len)
{
	int rc = synod_cluster_load(&n->cluster, n->cfg.cluster, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	if (n->cfg.peer_count != n->cluster.replicas) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ECONFIG,
		                  "%s: key \"peers\": %u entries, but %s has %u replicas",
		                  n->cfg.path, n->cfg.peer_count, n->cfg.cluster,
		                  n->cluster.replicas);
	}
	rc = synod_signer_open(&n->signer, n->cfg.signer, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	uint8_t pk[SYNOD_PUBKEY_BYTES];
	synod_signer_pubkey(n->signer, pk);
	if (memcmp(pk, n->cluster.replica_keys[n->cfg.self], sizeof pk) != 0) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ECONFIG,
		                  "%s: key \"signer\": its public key is not replica %u's in %s",
		                  n->cfg.path, n->cfg.self, n->cfg.cluster);
	}
	memcpy(n->psigner.cluster_id, n->cluster.cluster_id, SYNOD_CLUSTER_ID_BYTES);
	n->psigner.signer = n->signer;
	return 0;
}

static int open_core(struct synod_node *n, char *errmsg, size_t errmsg_len)
{
	struct synod_app_config ac = {
	    .cluster = n->cluster, .on_event = http_on_app_event, .event_ctx = n};
	int rc = synod_app_init(&n->app, &ac, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	struct pbft_config pc;
	pbft_config_defaults(&pc);
	memcpy(pc.cluster_id, n->cluster.cluster_id, sizeof pc.cluster_id);
	pc.replicas = n->cluster.replicas;
	pc.self = n->cfg.self;
	memcpy(pc.pubkeys, n->cluster.replica_keys, sizeof pc.pubkeys);
	pc.checkpoint_interval = n->cfg.checkpoint_interval;
	pc.window = n->cfg.window;
	pc.batch_delay_ms = n->cfg.batch_delay_ms;
	pc.timeout_ms_min = n->cfg.timeout_ms_min;
	pc.timeout_ms_max = n->cfg.timeout_ms_max;
	pc.snapshot_bytes_max = (uint32_t)synod_app_snapshot_bytes_max(&n->cluster.policy);
	randombytes_buf(&pc.seed, sizeof pc.seed);
	pc.crypto = synod_pbft_crypto(&n->psigner);
	pc.app = synod_app_pbft(n->app);
	rc = pbft_init(&n->pbft, &pc, errmsg, errmsg_len);
	size_t used = strlen(errmsg);
	if (rc == SYNOD_ECONFIG && used < errmsg_len) {
		/* The snapshot is what usually makes STATE too big: name the knob. */
		snprintf(errmsg + used, errmsg_len - used,
		         "; the snapshot of %s's policy is up to %u bytes: lower its "
		         "requests.retained_max (%u; policies/README.md)",
		         n->cfg.cluster, pc.snapshot_bytes_max,
		         n->cluster.policy.requests_retained_max);
	}
	return rc;
}

static int open_wal(struct synod_node *n, char *errmsg, size_t errmsg_len)
{
	if (mkdir(n->cfg.data_dir, 0700) != 0 && errno != EEXIST) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EIO, "%s: cannot create: %s",
		                  n->cfg.data_dir, strerror(errno));
	}
	char dir[1100];
	snprintf(dir, sizeof dir, "%s/wal", n->cfg.data_dir);
	int rc = synod_wal_open(&n->wal, dir, synod_wal_replay_pbft, n->pbft, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	struct synod_wal_stats st;
	synod_wal_stats_get(n->wal, &st);
	struct pbft_status ps;
	pbft_status_get(n->pbft, &ps);
	synod_log(SYNOD_LOG_INFO, "node",
	          "restored from %s: %llu frames, %llu records, torn tail cut: %llu bytes; view "
	          "%llu, executed through seq %llu",
	          dir, (unsigned long long)st.frames, (unsigned long long)st.records,
	          (unsigned long long)st.torn_bytes, (unsigned long long)ps.view,
	          (unsigned long long)ps.last_executed);
	return 0;
}

static int write_port(struct synod_node *n, int port, char *errmsg, size_t errmsg_len)
{
	char tmp[1100], path[1100];
	snprintf(tmp, sizeof tmp, "%s/port.tmp", n->cfg.data_dir);
	snprintf(path, sizeof path, "%s/port", n->cfg.data_dir);
	FILE *f = fopen(tmp, "w");
	if (f == NULL || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EIO, "%s: cannot write: %s", path,
		                  strerror(errno));
	}
	return 0;
}

static int open_listener(struct synod_node *n, char *errmsg, size_t errmsg_len)
{
	n->protocols[0] = (struct lws_protocols){
	    .name = "http", .callback = http_cb, .per_session_data_size = sizeof(struct http_conn)};
	n->protocols[1] = (struct lws_protocols){.name = SYNOD_PEER_PROTOCOL,
	                                         .callback = peer_cb,
	                                         .per_session_data_size = sizeof(struct peer_conn),
	                                         .rx_buffer_size = SYNOD_NET_FRAGMENT_BYTES};
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DISABLE_IPV6;
	if (n->cfg.tls_cert[0] != '\0') {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	}
	info.user = n;
	info.fd_limit_per_thread = n->cfg.connections_max + 2u * PBFT_REPLICAS_MAX + 32u;
	n->ctx = lws_create_context(&info);
	if (n->ctx == NULL) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EIO,
		                  "libwebsockets: cannot create context");
	}
	info.port = n->cfg.listen_port;
	info.iface = n->cfg.listen_host;
	info.protocols = n->protocols;
	info.vhost_name = "synod";
	if (n->cfg.tls_cert[0] != '\0') {
		info.ssl_cert_filepath = n->cfg.tls_cert;
		info.ssl_private_key_filepath = n->cfg.tls_key;
	}
	n->vhost = lws_create_vhost(n->ctx, &info);
	if (n->vhost == NULL) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EIO,
		                  "%s: key \"listen\": cannot listen on %s:%u (address in use, or "
		                  "not a local address)",
		                  n->cfg.path, n->cfg.listen_host, n->cfg.listen_port);
	}
	int port = lws_get_vhost_listen_port(n->vhost);
	synod_log(SYNOD_LOG_INFO, "node", "replica %u listening on %s:%d", n->cfg.self,
	          n->cfg.listen_host, port);
	return write_port(n, port, errmsg, errmsg_len);
}

int synod_node_open(struct synod_node **out, const struct synod_node_config *cfg, char *errmsg,
                    size_t errmsg_len)
{
	*out = NULL;
	if (sodium_init() < 0) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ECRYPTO, "libsodium failed to start");
	}
	struct synod_node *n = calloc(1, sizeof *n);
	if (n == NULL) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ENOMEM, "out of memory");
	}
	n->cfg = *cfg;
	lws_set_log_level(LLL_ERR, NULL);
	int rc = open_keys(n, errmsg, errmsg_len);
	rc = rc != 0 ? rc : open_core(n, errmsg, errmsg_len);
	rc = rc != 0 ? rc : open_wal(n, errmsg, errmsg_len);
	rc = rc != 0 ? rc : open_listener(n, errmsg, errmsg_len);
	if (rc != 0) {
		synod_node_close(n);
		return rc;
	}
	*out = n;
	return 0;
}

int synod_node_run(struct synod_node *n)
{
	driver_start(n);
	peer_out_start(n);
	while (!n->stop) {
		/* One loop turn: every ready socket and due timer is handled, each
		 * event stepped into the core; then the turn's group commit. */
		if (lws_service(n->ctx, 0) < 0) {
			break;
		}
		driver_flush(n);
	}
	driver_flush(n); /* the WAL write in flight completes before exit */
	synod_log(SYNOD_LOG_INFO, "node", "replica %u stopping%s", n->cfg.self,
	          n->wal_failed ? " after a WAL failure" : "");
	return n->wal_failed ? SYNOD_EIO : 0;
}

void synod_node_stop(struct synod_node *n)
{
	n->stop = 1;
}

void synod_node_close(struct synod_node *n)
{
	if (n == NULL) {
		return;
	}
	if (n->ctx != NULL) {
		lws_sul_cancel(&n->timer_sul);
		lws_sul_cancel(&n->tick_sul);
		peer_close_all(n);
		lws_context_destroy(n->ctx);
		peer_close_all(n);
	}
	while (n->held_head != NULL) {
		struct net_msg *m = n->held_head;
		n->held_head = m->next;
		free(m);
	}
	synod_wal_close(n->wal);
	pbft_close(n->pbft);
	synod_app_close(n->app);
	synod_signer_close(n->signer);
	free(n);
}

/* Upper bounds: 0.5 ms .. 10 s, then +Inf. */
static const uint64_t hist_bounds_us[NET_HIST_BUCKETS] = {
    500,    1000,   2000,   5000,    10000,   20000,   50000,
    100000, 200000, 500000, 1000000, 2000000, 5000000, 10000000};

void net_hist_add(struct net_hist *h, uint64_t us)
{
	uint32_t b = 0;
	while (b < NET_HIST_BUCKETS && us > hist_bounds_us[b]) {
		b++;
	}
	h->count[b]++;
	h->total++;
	h->sum_us += us;
}

static void hist_write(FILE *f, const char *name, const char *help, const struct net_hist *h)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	uint64_t cum = 0;
	for (uint32_t b = 0; b < NET_HIST_BUCKETS; b++) {
		cum += h->count[b];
		fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, (double)hist_bounds_us[b] / 1e6,
		        (unsigned long long)cum);
	}
	fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
	        (unsigned long long)h->total, name, (double)h->sum_us / 1e6, name,
	        (unsigned long long)h->total);
}

void http_metrics_write(struct synod_node *n, FILE *f)
{
	struct pbft_status st;
	pbft_status_get(n->pbft, &st);
	struct synod_wal_stats ws;
	synod_wal_stats_get(n->wal, &ws);
	struct synod_app_status as;
	synod_app_status_get(n->app, &as);
	fprintf(f, "# TYPE synod_pbft_view gauge\nsynod_pbft_view %llu\n",
	        (unsigned long long)st.view);
	/* view changes and state transfers: the core's own counters, below */
	fprintf(f, "# TYPE synod_pbft_commits_total counter\nsynod_pbft_commits_total %llu\n",
	        (unsigned long long)n->commits);
	fprintf(f, "# TYPE synod_pbft_last_executed gauge\nsynod_pbft_last_executed %llu\n",
	        (unsigned long long)st.last_executed);
	fprintf(f, "# TYPE synod_pbft_pending_entries gauge\nsynod_pbft_pending_entries %llu\n",
	        (unsigned long long)st.pending_entries);
	fprintf(f, "# TYPE synod_peers_connected gauge\nsynod_peers_connected %u\n",
	        driver_peers_ready(n));
	fprintf(f, "# TYPE synod_peers_inbound gauge\nsynod_peers_inbound %u\n", n->inbound);
	fprintf(f, "# TYPE synod_peer_messages_rejected_total counter\n");
	for (int i = 0; i < REJ_COUNT; i++) {
		fprintf(f, "synod_peer_messages_rejected_total{reason=\"%s\"} %llu\n",
		        reject_names[i], (unsigned long long)n->rejected[i]);
	}
	fprintf(f,
	        "# TYPE synod_peer_messages_dropped_total counter\n"
	        "synod_peer_messages_dropped_total{reason=\"queue_full\"} %llu\n"
	        "synod_peer_messages_dropped_total{reason=\"not_connected\"} %llu\n",
	        (unsigned long long)n->dropped_queue_full,
	        (unsigned long long)n->dropped_not_connected);
	fprintf(f, "# TYPE synod_http_submit_waits_total counter\n");
	for (int i = 0; i < WAIT_COUNT; i++) {
		fprintf(f, "synod_http_submit_waits_total{outcome=\"%s\"} %llu\n",
		        http_wait_outcome_name((enum http_wait_outcome)i),
		        (unsigned long long)n->waits[i]);
	}
	fprintf(f, "# TYPE synod_http_resubmits_total counter\nsynod_http_resubmits_total %llu\n",
	        (unsigned long long)n->resubmits);
	fprintf(f, "# TYPE synod_http_submits_waiting gauge\nsynod_http_submits_waiting %u\n",
	        n->waiter_count);
	fprintf(f, "# TYPE synod_wal_fsyncs_total counter\nsynod_wal_fsyncs_total %llu\n",
	        (unsigned long long)ws.syncs);
	fprintf(f, "# TYPE synod_wal_frames_total counter\nsynod_wal_frames_total %llu\n",
	        (unsigned long long)ws.frames);
	fprintf(f, "# TYPE synod_app_requests_open gauge\nsynod_app_requests_open %llu\n",
	        (unsigned long long)as.requests_open);
	fprintf(f, "# TYPE synod_app_log_time_ms gauge\nsynod_app_log_time_ms %llu\n",
	        (unsigned long long)as.log_time_ms);
	hist_write(f, "synod_commit_latency_seconds",
	           "from a POST /v1/requests here to the commit of its SUBMIT", &n->commit_latency);
	hist_write(f, "synod_wal_fsync_latency_seconds",
	           "one WAL group commit: write and fdatasync", &n->wal_flush);
	synod_counters_write(f);
}

/* Replica connections (handshake.h): outgoing connections to every peer
 * with reconnect, exponential backoff and jitter, the handshake on both
 * sides, bounded send queues and fragment reassembly. Our PBFT messages go
 * out on our outgoing connections; a peer's arrive on its connection to us,
 * taken only once that connection proved it is that replica. */
#include "coordinator/net/internal.h"

#include "common/assert.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static struct synod_node *node_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

static void queue_free(struct peer_out *o)
{
	while (o->head != NULL) {
		struct net_msg *m = o->head;
		o->head = m->next;
		free(m);
	}
	o->tail = NULL;
	o->queued = 0;
	o->queued_bytes = 0;
}

void peer_enqueue(struct synod_node *n, uint32_t i, struct net_msg *m)
{
	SYNOD_ASSERT(i < n->cluster.replicas && i != n->cfg.self);
	struct peer_out *o = &n->peers[i];
	if (o->state != OUT_READY) {
		n->dropped_not_connected++;
		free(m);
		return;
	}
	if (o->queued >= n->cfg.peer_queue_msgs ||
	    o->queued_bytes + m->len > SYNOD_NET_PEER_QUEUE_BYTES) {
		n->dropped_queue_full++; /* PBFT retransmission recovers */
		free(m);
		return;
	}
	if (o->tail != NULL) {
		o->tail->next = m;
	} else {
		o->head = m;
	}
	o->tail = m;
	o->queued++;
	o->queued_bytes += m->len;
	lws_callback_on_writable(o->wsi);
}

/* ---- outgoing connections ---- */

static void out_connect(lws_sorted_usec_list_t *sul);

static void out_schedule(struct peer_out *o)
{
	/* exponential backoff with +-25 % jitter, so restarted peers do not
	 * reconnect in lockstep */
	uint32_t b = o->backoff_ms == 0 ? SYNOD_NET_BACKOFF_MS_MIN : o->backoff_ms;
	uint32_t jitter = randombytes_uniform(b / 2 + 1);
	uint32_t delay = b - b / 4 + jitter;
	o->backoff_ms = b * 2 > SYNOD_NET_BACKOFF_MS_MAX ? SYNOD_NET_BACKOFF_MS_MAX : b * 2;
	o->state = OUT_IDLE;
	lws_sul_schedule(o->node->ctx, 0, &o->sul, out_connect, (lws_usec_t)delay * LWS_US_PER_MS);
}

static void out_connect(lws_sorted_usec_list_t *sul)
{
	struct peer_out *o = lws_container_of(sul, struct peer_out, sul);
	struct synod_node *n = o->node;
	if (n->stop) {
		return;
	}
	struct lws_client_connect_info ci;
	memset(&ci, 0, sizeof ci);
	ci.context = n->ctx;
	ci.vhost = n->vhost;
	ci.address = n->cfg.peer_host[o->index];
	ci.port = n->cfg.peer_port[o->index];
	ci.host = ci.address;
	ci.origin = ci.address;
	ci.path = "/v1/peer";
	ci.protocol = SYNOD_PEER_PROTOCOL;
	ci.local_protocol_name = SYNOD_PEER_PROTOCOL;
	ci.opaque_user_data = o;
	ci.pwsi = &o->wsi;
	if (n->cfg.tls_cert[0] != '\0') {
		/* Who the peer is, the handshake proves; TLS adds confidentiality. */
		ci.ssl_connection = LCCSCF_USE_SSL | LCCSCF_ALLOW_SELFSIGNED |
		                    LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
	}
	o->state = OUT_CONNECTING;
	o->connects++;
	if (lws_client_connect_via_info(&ci) == NULL) {
		o->wsi = NULL;
		out_schedule(o);
	}
}

void peer_out_start(struct synod_node *n)
{
	for (uint32_t i = 0; i < n->cluster.replicas; i++) {
		struct peer_out *o = &n->peers[i];
		o->node = n;
		o->index = i;
		if (i != n->cfg.self) {
			lws_sul_schedule(n->ctx, 0, &o->sul, out_connect, 1);
		}
	}
}

void peer_close_all(struct synod_node *n)
{
	for (uint32_t i = 0; i < n->cluster.replicas; i++) {
		lws_sul_cancel(&n->peers[i].sul);
		queue_free(&n->peers[i]);
	}
}

static void out_lost(struct synod_node *n, struct peer_out *o, const char *why)
{
	if (o->state == OUT_READY) {
		synod_log(SYNOD_LOG_INFO, "peer", "connection to replica %u lost (%s)", o->index,
		          why);
	}
	o->wsi = NULL;
	queue_free(o);
	if (!n->stop) {
		out_schedule(o);
	}
}

/* ---- reassembly ---- */

/* Appends a fragment; 1 when the message is complete, 0 for more, -1 when it
 * is over cap (counted; the caller closes). */
static int rx_add(struct synod_node *n, struct lws *wsi, struct peer_conn *pc, const void *in,
                  size_t len, size_t cap)
{
	if (pc->rx_len + len > cap) {
		net_reject(n, REJ_TOO_BIG, "message over %zu bytes", cap);
		return -1;
	}
	if (pc->rx_len + len > pc->rx_cap) {
		size_t c = pc->rx_cap == 0 ? 4096u : pc->rx_cap;
		while (c < pc->rx_len + len) {
			c *= 2;
		}
		uint8_t *b = realloc(pc->rx, c);
		if (b == NULL) {
			return -1;
		}
		pc->rx = b;
		pc->rx_cap = c;
	}
	memcpy(pc->rx + pc->rx_len, in, len);
	pc->rx_len += len;
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0) {
		return 0;
	}
	return 1;
}

static void rx_free(struct peer_conn *pc)
{
	free(pc->rx);
	pc->rx = NULL;
	pc->rx_len = pc->rx_cap = 0;
}

/* ---- handshake ---- */

static int hs_check_addr(struct synod_node *n, const struct synod_hs_msg *m, uint16_t want_from)
{
	if (sodium_memcmp(m->cluster_id, n->cluster.cluster_id, SYNOD_CLUSTER_ID_BYTES) != 0) {
		net_reject(n, REJ_HS_CLUSTER, "handshake for another cluster");
		return -1;
	}
	if (m->from >= n->cluster.replicas || m->from == n->cfg.self || m->to != n->cfg.self ||
	    (want_from != UINT16_MAX && m->from != want_from)) {
		net_reject(n, REJ_HS_INDEX, "handshake from replica %u to %u refused (we are %u)",
		           m->from, m->to, n->cfg.self);
		return -1;
	}
	return 0;
}

/* Server side: HELLO, then AUTH. */
static int srv_handshake(struct synod_node *n, struct lws *wsi, struct peer_conn *pc)
{
	struct synod_hs_msg m;
	uint8_t want = pc->hello_seen ? SYNOD_HS_AUTH : SYNOD_HS_HELLO;
	if (synod_hs_decode(&m, pc->rx, pc->rx_len) != 0 || m.type != want) {
		net_reject(n, REJ_HS_MALFORMED, "malformed handshake message (%zu bytes)",
		           pc->rx_len);
		return -1;
	}
	if (hs_check_addr(n, &m, pc->hello_seen ? pc->claimed : UINT16_MAX) != 0) {
		return -1;
	}
	if (!pc->hello_seen) {
		pc->hello_seen = true;
		pc->claimed = m.from;
		memcpy(pc->peer_challenge, m.challenge, SYNOD_HS_CHALLENGE_BYTES);
		randombytes_buf(pc->challenge, sizeof pc->challenge);
		struct synod_hs_msg r = {
		    .type = SYNOD_HS_HELLO_AUTH, .from = (uint16_t)n->cfg.self, .to = m.from};
		memcpy(r.cluster_id, n->cluster.cluster_id, SYNOD_CLUSTER_ID_BYTES);
		memcpy(r.challenge, pc->challenge, SYNOD_HS_CHALLENGE_BYTES);
		if (synod_hs_prove(n->signer, n->cluster.cluster_id, SYNOD_HS_ROLE_SERVER, r.from,
		                   r.to, pc->peer_challenge, pc->challenge, r.sig) != 0) {
			synod_log(SYNOD_LOG_ERROR, "peer", "signing a handshake failed: %s",
			          synod_signer_errmsg(n->signer));
			return -1;
		}
		synod_hs_encode(&r, pc->hs_out);
		pc->hs_pending = true;
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (synod_hs_check(m.sig, n->cluster.cluster_id, SYNOD_HS_ROLE_CLIENT, pc->claimed,
	                   (uint16_t)n->cfg.self, pc->challenge, pc->peer_challenge,
	                   n->cluster.replica_keys[pc->claimed]) != 0) {
		net_reject(n, REJ_HS_SIGNATURE, "handshake proof of replica %u does not verify",
		           pc->claimed);
		return -1;
	}
	pc->replica = pc->claimed;
	n->inbound++;
	lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
	synod_log(SYNOD_LOG_INFO, "peer", "replica %u connected and authenticated", pc->claimed);
	return 0;
}

/* Client side: HELLO_AUTH, answered with AUTH. */
static int cli_handshake(struct synod_node *n, struct lws *wsi, struct peer_out *o,
                         struct peer_conn *pc)
{
	struct synod_hs_msg m;
	if (o->state != OUT_HELLO || synod_hs_decode(&m, pc->rx, pc->rx_len) != 0 ||
	    m.type != SYNOD_HS_HELLO_AUTH) {
		net_reject(n, REJ_HS_MALFORMED, "unexpected message from replica %u's listener",
		           o->index);
		return -1;
	}
	if (hs_check_addr(n, &m, (uint16_t)o->index) != 0) {
		return -1;
	}
	if (synod_hs_check(m.sig, n->cluster.cluster_id, SYNOD_HS_ROLE_SERVER, (uint16_t)o->index,
	                   (uint16_t)n->cfg.self, o->challenge, m.challenge,
	                   n->cluster.replica_keys[o->index]) != 0) {
		net_reject(n, REJ_HS_LISTENER, "replica %u's listener failed its handshake proof",
		           o->index);
		return -1;
	}
	struct synod_hs_msg r = {
	    .type = SYNOD_HS_AUTH, .from = (uint16_t)n->cfg.self, .to = (uint16_t)o->index};
	memcpy(r.cluster_id, n->cluster.cluster_id, SYNOD_CLUSTER_ID_BYTES);
	memcpy(r.challenge, o->challenge, SYNOD_HS_CHALLENGE_BYTES);
	if (synod_hs_prove(n->signer, n->cluster.cluster_id, SYNOD_HS_ROLE_CLIENT, r.from, r.to,
	                   m.challenge, o->challenge, r.sig) != 0) {
		return -1;
	}
	synod_hs_encode(&r, o->hs_out);
	o->hs_pending = true;
	lws_callback_on_writable(wsi);
	return 0;
}

static void cli_established(struct synod_node *n, struct lws *wsi, struct peer_out *o)
{
	o->wsi = wsi;
	o->state = OUT_HELLO;
	randombytes_buf(o->challenge, sizeof o->challenge);
	struct synod_hs_msg h = {
	    .type = SYNOD_HS_HELLO, .from = (uint16_t)n->cfg.self, .to = (uint16_t)o->index};
	memcpy(h.cluster_id, n->cluster.cluster_id, SYNOD_CLUSTER_ID_BYTES);
	memcpy(h.challenge, o->challenge, SYNOD_HS_CHALLENGE_BYTES);
	synod_hs_encode(&h, o->hs_out);
	o->hs_pending = true;
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, SYNOD_NET_HANDSHAKE_S);
	lws_callback_on_writable(wsi);
}

static int write_hs(struct lws *wsi, const uint8_t msg[SYNOD_HS_MSG_BYTES])
{
	uint8_t buf[LWS_PRE + SYNOD_HS_MSG_BYTES];
	memcpy(buf + LWS_PRE, msg, SYNOD_HS_MSG_BYTES);
	int k = lws_write(wsi, buf + LWS_PRE, SYNOD_HS_MSG_BYTES, LWS_WRITE_BINARY);
	return k < (int)SYNOD_HS_MSG_BYTES ? -1 : 0;
}

/* One fragment of the queue's head per writeable callback. */
static int cli_write_queue(struct synod_node *n, struct lws *wsi, struct peer_out *o)
{
	struct net_msg *m = o->head;
	if (m == NULL) {
		return 0;
	}
	size_t left = m->len - m->sent;
	size_t chunk = left > SYNOD_NET_FRAGMENT_BYTES ? SYNOD_NET_FRAGMENT_BYTES : left;
	int flags = lws_write_ws_flags(LWS_WRITE_BINARY, m->sent == 0, chunk == left);
	/* LWS_PRE bytes before the fragment are headroom: already-sent bytes */
	int k = lws_write(wsi, m->buf + LWS_PRE + m->sent, chunk, (enum lws_write_protocol)flags);
	if (k < (int)chunk) {
		return -1;
	}
	m->sent += chunk;
	if (m->sent == m->len) {
		o->head = m->next;
		if (o->head == NULL) {
			o->tail = NULL;
		}
		o->queued--;
		o->queued_bytes -= m->len;
		n->msgs_sent++;
		free(m);
	}
	if (o->head != NULL) {
		lws_callback_on_writable(wsi);
	}
	return 0;
}

static int cli_writeable(struct synod_node *n, struct lws *wsi, struct peer_out *o)
{
	if (o->hs_pending) {
		o->hs_pending = false;
		if (write_hs(wsi, o->hs_out) != 0) {
			return -1;
		}
		if (o->hs_out[0] == SYNOD_HS_AUTH) {
			o->state = OUT_READY;
			o->backoff_ms = 0;
			lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
			synod_log(SYNOD_LOG_INFO, "peer", "connected to replica %u", o->index);
			/* forwards made while it was unreachable were dropped */
			http_waiters_resubmit(n);
		}
		if (o->head != NULL) {
			lws_callback_on_writable(wsi);
		}
		return 0;
	}
	return o->state == OUT_READY ? cli_write_queue(n, wsi, o) : 0;
}

/* ---- the callback ---- */

static int srv_receive(struct synod_node *n, struct lws *wsi, struct peer_conn *pc, void *in,
                       size_t len)
{
	size_t cap = pc->replica >= 0 ? SYNOD_NET_MSG_BYTES_MAX : SYNOD_HS_MSG_BYTES;
	int r = rx_add(n, wsi, pc, in, len, cap);
	if (r <= 0) {
		pc->refused = r < 0;
		return r;
	}
	int rc = 0;
	if (pc->replica < 0) {
		rc = srv_handshake(n, wsi, pc);
	} else {
		driver_receive(n, (uint32_t)pc->replica, pc->rx, pc->rx_len);
	}
	pc->rx_len = 0;
	pc->refused = rc != 0;
	if (pc->rx_cap > 2u * SYNOD_NET_FRAGMENT_BYTES) {
		rx_free(pc); /* give a STATE-sized buffer back */
	}
	return rc;
}

static int srv_established(struct synod_node *n, struct lws *wsi, struct peer_conn *pc)
{
	memset(pc, 0, sizeof *pc);
	pc->replica = -1;
	if (n->connections >= n->cfg.connections_max) {
		net_reject(n, REJ_CONNECTIONS, "over %u connections", n->cfg.connections_max);
		return -1;
	}
	n->connections++;
	pc->counted = true;
	pc->counted_once = true;
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, SYNOD_NET_HANDSHAKE_S);
	return 0;
}

static int client_cb(struct synod_node *n, struct lws *wsi, enum lws_callback_reasons reason,
                     struct peer_conn *pc, void *in, size_t len)
{
	struct peer_out *o = lws_get_opaque_user_data(wsi);
	if (o == NULL) {
		return 0;
	}
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		memset(pc, 0, sizeof *pc);
		pc->out = o;
		cli_established(n, wsi, o);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE: {
		int r = rx_add(n, wsi, pc, in, len, SYNOD_HS_MSG_BYTES);
		if (r <= 0) {
			return r;
		}
		r = cli_handshake(n, wsi, o, pc);
		pc->rx_len = 0;
		return r;
	}
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return cli_writeable(n, wsi, o);
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		out_lost(n, o, in != NULL ? (const char *)in : "connection error");
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		rx_free(pc);
		out_lost(n, o, "closed");
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		/* Every client wsi ends here; a connection that died without
		 * CLOSED or CONNECTION_ERROR must still be retried. */
		if (o->state != OUT_IDLE && (o->wsi == wsi || o->wsi == NULL)) {
			out_lost(n, o, "destroyed");
		}
		return 0;
	default:
		return 0;
	}
}

int peer_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct synod_node *n = node_of(wsi);
	struct peer_conn *pc = user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
	case LWS_CALLBACK_CLIENT_RECEIVE:
	case LWS_CALLBACK_CLIENT_WRITEABLE:
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
	case LWS_CALLBACK_CLIENT_CLOSED:
	case LWS_CALLBACK_WSI_DESTROY:
		return client_cb(n, wsi, reason, pc, in, len);
	case LWS_CALLBACK_ESTABLISHED:
		return srv_established(n, wsi, pc);
	case LWS_CALLBACK_RECEIVE:
		return srv_receive(n, wsi, pc, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (pc->hs_pending) {
			pc->hs_pending = false;
			return write_hs(wsi, pc->hs_out);
		}
		return 0;
	case LWS_CALLBACK_CLOSED:
		if (pc->counted) {
			n->connections--;
			pc->counted = false;
		}
		if (pc->replica >= 0) {
			n->inbound--;
			synod_log(SYNOD_LOG_INFO, "peer", "replica %d disconnected", pc->replica);
		} else if (pc->counted_once && !pc->refused) {
			net_reject(n, REJ_HS_INCOMPLETE, "connection closed before its handshake");
		}
		rx_free(pc);
		return 0;
	default:
		return 0;
	}
}

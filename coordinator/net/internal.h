/* Internals of the coordinator daemon (node.h): shared by node.c, driver.c,
 * peer.c and http.c. */
#ifndef SYNOD_NET_INTERNAL_H
#define SYNOD_NET_INTERNAL_H

#include "common/log.h"
#include "common/sign.h"
#include "coordinator/app/app.h"
#include "coordinator/net/handshake.h"
#include "coordinator/net/node.h"
#include "coordinator/pbft/pbft.h"
#include "coordinator/wal/wal.h"

#include <libwebsockets.h>
#include <signal.h>

/* A message on its way to a peer: LWS_PRE bytes of headroom, then bytes. */
struct net_msg {
	struct net_msg *next;
	uint32_t to; /* replica index or PBFT_TO_ALL (held sends only) */
	size_t len;
	size_t sent; /* bytes written so far (fragments) */
	uint8_t buf[];
};

enum peer_out_state {
	OUT_IDLE = 0,   /* waiting for the reconnect timer */
	OUT_CONNECTING, /* TCP/TLS/WebSocket upgrade under way */
	OUT_HELLO,      /* HELLO sent, waiting for HELLO_AUTH */
	OUT_READY,      /* authenticated both ways: PBFT messages flow */
};

/* The outgoing connection to one replica (we send our PBFT messages on it). */
struct peer_out {
	struct synod_node *node;
	uint32_t index;
	struct lws *wsi;
	enum peer_out_state state;
	uint8_t challenge[SYNOD_HS_CHALLENGE_BYTES];
	uint8_t hs_out[SYNOD_HS_MSG_BYTES]; /* handshake message waiting to be written */
	bool hs_pending;
	struct net_msg *head, *tail; /* the send queue */
	uint32_t queued;
	size_t queued_bytes;
	uint32_t backoff_ms;
	lws_sorted_usec_list_t sul; /* reconnect */
	uint64_t connects;
};

/* Per-connection data of the peer protocol, client and server side. */
struct peer_conn {
	struct peer_out *out; /* client side: the peer; NULL on the server side */
	bool counted;         /* holds one of the node's connection slots */
	bool counted_once;    /* was accepted (a refused connection is counted once) */
	bool refused;         /* closed by us for a handshake failure (counted then) */
	/* server side */
	int32_t replica; /* authenticated replica, -1 before */
	bool hello_seen;
	uint16_t claimed;
	uint8_t challenge[SYNOD_HS_CHALLENGE_BYTES];      /* ours */
	uint8_t peer_challenge[SYNOD_HS_CHALLENGE_BYTES]; /* theirs */
	uint8_t hs_out[SYNOD_HS_MSG_BYTES];
	bool hs_pending;
	/* a message being reassembled from fragments */
	uint8_t *rx;
	size_t rx_len;
	size_t rx_cap;
};

/* A Prometheus histogram of durations: bucket upper bounds in
 * net_hist_bounds_us (fixed), the last bucket is +Inf. */
#define NET_HIST_BUCKETS 14u
struct net_hist {
	uint64_t count[NET_HIST_BUCKETS + 1];
	uint64_t total;
	uint64_t sum_us;
};
void net_hist_add(struct net_hist *h, uint64_t us);
uint64_t net_mono_us(void);

/* Per-connection data of the HTTP protocol. */
struct http_conn {
	char uri[SYNOD_NET_HTTP_URI_BYTES_MAX];
	bool post;
	bool too_big;
	bool counted;
	size_t body_len;
	uint8_t body[SYNOD_NET_HTTP_BODY_BYTES_MAX + 1];
	int status;
	char *resp; /* malloc'd; LWS_PRE headroom */
	size_t resp_len;
	/* a POST waiting for its SUBMIT to commit (node.waiters) */
	struct lws *wsi;
	bool waiting;
	bool decided; /* the SUBMIT executed: result is set, answer after the flush */
	enum synod_submit_result result;
	uint8_t id[SYNOD_HASH_BYTES];
	uint64_t submitted_us;           /* monotonic, for the commit latency */
	lws_sorted_usec_list_t wait_sul; /* the commit wait's deadline */
};

/* What became of POSTs that waited for their commit; one counter each. */
enum http_wait_outcome {
	WAIT_COMMITTED = 0, /* 202 */
	WAIT_REFUSED,       /* the app refused it when it executed: 422 */
	WAIT_TIMEOUT,       /* 503 + Retry-After */
	WAIT_CLOSED,        /* the client went away first */
	WAIT_COUNT
};

/* Requests whose SUBMIT the app refused, for GET (a ring). */
struct refused {
	uint8_t id[SYNOD_HASH_BYTES];
	enum synod_submit_result why;
};

/* Why bytes from a peer or a client were refused; one counter each. */
enum net_reject {
	REJ_HS_MALFORMED = 0, /* handshake message of the wrong shape */
	REJ_HS_CLUSTER,       /* another cluster id */
	REJ_HS_INDEX,         /* no such replica, ourselves, or not addressed to us */
	REJ_HS_SIGNATURE,     /* a connecting replica's proof does not verify */
	REJ_HS_LISTENER,      /* the listener we connected to failed its proof */
	REJ_HS_INCOMPLETE,    /* closed (or timed out) before its handshake finished */
	REJ_TOO_BIG,          /* a message over the limit */
	REJ_CONNECTIONS,      /* over connections_max */
	REJ_PBFT,             /* the core refused it (malformed, signature, view) */
	REJ_COUNT
};

struct synod_node {
	struct synod_node_config cfg;
	struct synod_cluster cluster;
	struct synod_signer *signer;
	struct synod_pbft_signer psigner;
	struct synod_app *app;
	struct pbft *pbft;
	struct synod_wal *wal;
	struct lws_context *ctx;
	struct lws_vhost *vhost;
	struct lws_protocols protocols[3];
	struct peer_out peers[PBFT_REPLICAS_MAX];
	struct pbft_update upd;
	/* group commit: sends held until the turn's records are durable */
	struct net_msg *held_head, *held_tail;
	uint32_t held;
	uint32_t steps_in_turn;
	/* timers */
	lws_sorted_usec_list_t timer_sul; /* the core's timer */
	uint64_t timer_deadline_ms;
	lws_sorted_usec_list_t tick_sul; /* the primary's TICK proposals */
	volatile sig_atomic_t stop;
	bool wal_failed;
	uint32_t connections;
	uint32_t inbound; /* authenticated incoming replica connections */
	struct http_conn *waiters[SYNOD_NET_HTTP_WAITERS_MAX];
	uint32_t waiter_count;
	uint32_t waiters_decided; /* waiters with an answer to send after the flush */
	uint64_t waits[WAIT_COUNT];
	struct refused refused[SYNOD_NET_REFUSED_KEPT];
	uint32_t refused_next;
	/* figures for /metrics */
	uint64_t rejected[REJ_COUNT];
	struct net_hist commit_latency; /* POST to its commit, requests submitted here */
	struct net_hist wal_flush;      /* one group's write + fdatasync */
	uint64_t commits;
	uint64_t dropped_queue_full;
	uint64_t dropped_not_connected;
	uint64_t msgs_received;
	uint64_t msgs_sent;
	uint64_t submits_http;
	uint64_t resubmits; /* waiting entries submitted again after a peer came up */
};

uint64_t net_now_ms(void);
void net_reject(struct synod_node *n, enum net_reject why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *net_reject_name(enum net_reject why);

/* driver.c: the only code that steps the core and writes the WAL. */
void driver_step(struct synod_node *n, const struct pbft_event *ev);
void driver_receive(struct synod_node *n, uint32_t from, const uint8_t *bytes, size_t len);
void driver_submit(struct synod_node *n, const uint8_t *entry, size_t len);
void driver_start(struct synod_node *n);
/* The end of a loop turn: flush the WAL group, then release held sends. */
void driver_flush(struct synod_node *n);
uint32_t driver_peers_ready(const struct synod_node *n);

/* peer.c */
extern const struct lws_protocols net_peer_protocol;
int peer_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);
void peer_out_start(struct synod_node *n);
/* Queues a copy-free message for peer i (m is taken); drops when full or not
 * connected (counted, m freed). */
void peer_enqueue(struct synod_node *n, uint32_t i, struct net_msg *m);
void peer_close_all(struct synod_node *n);

/* http.c */
/* After the turn's flush: answers the POSTs whose SUBMIT has committed. */
void http_waiters_answer(struct synod_node *n);
/* Submits the entries of the POSTs still waiting again (the core forwards a
 * pending entry of ours again on a second SUBMIT): after a peer came up. */
void http_waiters_resubmit(struct synod_node *n);
const char *http_wait_outcome_name(enum http_wait_outcome o);
int http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

struct net_msg *net_msg_new(const uint8_t *bytes, size_t len, uint32_t to);

#endif

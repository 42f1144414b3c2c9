/* The HTTP API on the coordinator's one listener (libwebsockets serves HTTP
 * and the peer WebSocket subprotocol on the same port):
 *   POST /v1/requests       submit a request: 202 {"id","status"} once its
 *                           SUBMIT has committed here (durable at 2f+1
 *                           replicas); 200 for a request already ordered;
 *                           422 when the app refused it as it executed
 *                           (expired, too_far, full); 400 naming the field;
 *                           411 without Content-Length; 413 too big; 503 +
 *                           Retry-After without a quorum of reachable peers
 *                           or when the commit did not come within
 *                           SYNOD_NET_HTTP_COMMIT_WAIT_MS (re-sending the
 *                           same body is safe: the id is its hash)
 *   GET  /v1/requests/{id}  status, live tally, decision
 *   GET  /healthz           liveness and the core's view
 *   GET  /metrics           Prometheus text
 * Anything else is 404. */
#include "coordinator/net/internal.h"

#include "common/hash.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

SYNOD_COUNTER(http_requests_total, "synod_http_requests_total", "HTTP requests answered");
SYNOD_COUNTER(http_rejected_total, "synod_http_rejected_total",
              "HTTP requests refused (4xx other than 404, and 503)");

static struct synod_node *node_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

/* Sets the response (status, body); the body is copied behind LWS_PRE. */
static int respond(struct lws *wsi, struct http_conn *hc, int status, const char *ctype,
                   const char *body, size_t len)
{
	free(hc->resp);
	hc->resp = malloc(LWS_PRE + len + 1);
	if (hc->resp == NULL) {
		return -1;
	}
	memcpy(hc->resp + LWS_PRE, body, len);
	hc->resp_len = len;
	hc->status = status;
	uint8_t hdr[LWS_PRE + 512];
	uint8_t *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
	if (lws_add_http_common_headers(wsi, (unsigned int)status, ctype, (lws_filepos_t)len, &p,
	                                end) != 0) {
		return -1;
	}
	/* Every 503 of ours is worth retrying: a quorum may come back, a
	 * commit may follow a view change. */
	static const char retry[] = {'0' + SYNOD_NET_HTTP_RETRY_AFTER_S, '\0'};
	_Static_assert(SYNOD_NET_HTTP_RETRY_AFTER_S <= 9, "one digit");
	if ((status == 503 &&
	     lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:",
	                                 (const unsigned char *)retry, 1, &p, end) != 0) ||
	    lws_finalize_write_http_header(wsi, start, &p, end) != 0) {
		return -1;
	}
	synod_counter_inc(&http_requests_total);
	if (status >= 400 && status != 404) {
		synod_counter_inc(&http_rejected_total);
	}
	lws_callback_on_writable(wsi);
	return 0;
}

static int respond_json(struct lws *wsi, struct http_conn *hc, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int respond_json(struct lws *wsi, struct http_conn *hc, int status, const char *fmt, ...)
{
	char body[2048];
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(body, sizeof body, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sizeof body) {
		return -1;
	}
	return respond(wsi, hc, status, "application/json", body, (size_t)k);
}

/* {"error": msg} with msg escaped as JSON. */
static int respond_error(struct lws *wsi, struct http_conn *hc, int status, const char *msg)
{
	struct json_object *o = json_object_new_object();
	if (o == NULL) {
		return -1;
	}
	json_object_object_add(o, "error", json_object_new_string(msg));
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                                      JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc = respond(wsi, hc, status, "application/json", s, strlen(s));
	json_object_put(o);
	return rc;
}

static void refused_note(struct synod_node *n, const uint8_t *id, enum synod_submit_result why)
{
	struct refused *r = &n->refused[n->refused_next++ % SYNOD_NET_REFUSED_KEPT];
	memcpy(r->id, id, SYNOD_HASH_BYTES);
	r->why = why;
}

static const struct refused *refused_find(const struct synod_node *n, const uint8_t *id)
{
	uint32_t kept =
	    n->refused_next < SYNOD_NET_REFUSED_KEPT ? n->refused_next : SYNOD_NET_REFUSED_KEPT;
	for (uint32_t i = 0; i < kept; i++) {
		if (memcmp(n->refused[i].id, id, SYNOD_HASH_BYTES) == 0) {
			return &n->refused[i];
		}
	}
	return NULL;
}

/* Answers a POST for a request this coordinator has executed: found (status
 * `found`, 200 or 202) or refused (422). False when it knows nothing of it. */
static bool answer_known(struct synod_node *n, struct lws *wsi, struct http_conn *hc, int found,
                         int *rc)
{
	char hex[2 * SYNOD_HASH_BYTES + 1];
	if (synod_hex_encode(hex, sizeof hex, hc->id, SYNOD_HASH_BYTES) != 0) {
		*rc = -1;
		return true;
	}
	struct synod_tally t;
	if (synod_app_tally_get(n->app, hc->id, &t) == 0) {
		*rc = respond_json(wsi, hc, found, "{\"id\":\"%s\",\"status\":\"%s\"}", hex,
		                   synod_outcome_name(t.outcome));
		return true;
	}
	const struct refused *r = refused_find(n, hc->id);
	if (r != NULL) {
		*rc = respond_json(wsi, hc, 422,
		                   "{\"id\":\"%s\",\"status\":\"refused\",\"reason\":\"%s\"}", hex,
		                   synod_submit_result_name(r->why));
		return true;
	}
	return false;
}

static const char *const wait_names[WAIT_COUNT] = {
    [WAIT_COMMITTED] = "committed",
    [WAIT_REFUSED] = "refused",
    [WAIT_TIMEOUT] = "timeout",
    [WAIT_CLOSED] = "closed",
};

const char *http_wait_outcome_name(enum http_wait_outcome o)
{
	return wait_names[o];
}

static void waiter_remove(struct synod_node *n, struct http_conn *hc, enum http_wait_outcome o)
{
	for (uint32_t i = 0; i < n->waiter_count; i++) {
		if (n->waiters[i] == hc) {
			n->waiters[i] = n->waiters[--n->waiter_count];
			break;
		}
	}
	lws_sul_cancel(&hc->wait_sul);
	if (hc->decided) {
		n->waiters_decided--;
	}
	hc->waiting = false;
	hc->decided = false;
	n->waits[o]++;
}

/* An answer outside a callback that failed: close the connection. */
static void answer_or_close(struct lws *wsi, int rc)
{
	if (rc != 0) {
		lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
	}
}

static void wait_expired(lws_sorted_usec_list_t *sul)
{
	struct http_conn *hc = lws_container_of(sul, struct http_conn, wait_sul);
	struct synod_node *n = node_of(hc->wsi);
	waiter_remove(n, hc, WAIT_TIMEOUT);
	char hex[2 * SYNOD_HASH_BYTES + 1];
	int rc = synod_hex_encode(hex, sizeof hex, hc->id, SYNOD_HASH_BYTES);
	rc = rc != 0 ? rc
	             : respond_json(hc->wsi, hc, 503,
	                            "{\"id\":\"%s\",\"error\":\"not committed within %u ms; the "
	                            "request may still be ordered, and sending the same body "
	                            "again is safe\"}",
	                            hex, SYNOD_NET_HTTP_COMMIT_WAIT_MS);
	answer_or_close(hc->wsi, rc);
}

/* The app's observer: remembers refused SUBMITs for GET, and marks the POSTs
 * waiting for this request (answered after the turn's flush). */
void http_on_app_event(void *ctx, const struct synod_app_event *ev);
void http_on_app_event(void *ctx, const struct synod_app_event *ev)
{
	struct synod_node *n = ctx;
	if (ev->type != SYNOD_APP_EV_SUBMIT || ev->request_id == NULL) {
		return;
	}
	if (ev->submit != SYNOD_SUBMIT_ACCEPTED && ev->submit != SYNOD_SUBMIT_DUPLICATE) {
		refused_note(n, ev->request_id, ev->submit);
	}
	for (uint32_t i = 0; i < n->waiter_count; i++) {
		struct http_conn *hc = n->waiters[i];
		if (!hc->decided && memcmp(hc->id, ev->request_id, SYNOD_HASH_BYTES) == 0) {
			net_hist_add(&n->commit_latency, net_mono_us() - hc->submitted_us);
			hc->decided = true;
			hc->result = ev->submit;
			n->waiters_decided++;
		}
	}
}

void http_waiters_answer(struct synod_node *n)
{
	for (uint32_t i = n->waiter_count; i-- > 0 && n->waiters_decided > 0;) {
		struct http_conn *hc = n->waiters[i];
		if (!hc->decided) {
			continue;
		}
		bool ok =
		    hc->result == SYNOD_SUBMIT_ACCEPTED || hc->result == SYNOD_SUBMIT_DUPLICATE;
		waiter_remove(n, hc, ok ? WAIT_COMMITTED : WAIT_REFUSED);
		int rc = 0;
		if (!answer_known(n, hc->wsi, hc, hc->result == SYNOD_SUBMIT_ACCEPTED ? 202 : 200,
		                  &rc)) {
			/* executed and already evicted (retained_max): still ordered */
			rc = respond_error(hc->wsi, hc, 200, "ordered; no longer retained");
		}
		answer_or_close(hc->wsi, rc);
	}
}

static int submit_entry(struct synod_node *n, const struct http_conn *hc)
{
	uint8_t entry[SYNOD_APP_ENTRY_BYTES_MAX];
	size_t elen = 0;
	int rc = synod_entry_encode(entry, sizeof entry, &elen, SYNOD_ENTRY_SUBMIT, hc->body,
	                            hc->body_len);
	if (rc == 0) {
		driver_submit(n, entry, elen);
	}
	return rc;
}

void http_waiters_resubmit(struct synod_node *n)
{
	for (uint32_t i = 0; i < n->waiter_count; i++) {
		if (!n->waiters[i]->decided && submit_entry(n, n->waiters[i]) == 0) {
			n->resubmits++;
		}
	}
}

static int submit_wait(struct synod_node *n, struct lws *wsi, struct http_conn *hc)
{
	hc->wsi = wsi;
	hc->submitted_us = net_mono_us();
	hc->waiting = true;
	hc->decided = false;
	n->waiters[n->waiter_count++] = hc;
	/* our own deadline replaces lws's idle timeout while the POST waits */
	lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
	lws_sul_schedule(lws_get_context(wsi), 0, &hc->wait_sul, wait_expired,
	                 (lws_usec_t)SYNOD_NET_HTTP_COMMIT_WAIT_MS * LWS_US_PER_MS);
	n->submits_http++;
	if (submit_entry(n, hc) != 0) {
		waiter_remove(n, hc, WAIT_REFUSED);
		return respond_error(wsi, hc, 413, "request body over the limit");
	}
	return 0; /* answered after the commit, or by wait_expired */
}

static int submit(struct synod_node *n, struct lws *wsi, struct http_conn *hc)
{
	if (hc->too_big) {
		return respond_error(wsi, hc, 413, "request body over the limit");
	}
	struct synod_request req;
	char err[512] = "";
	int rc = synod_request_decode(&req, hc->id, (const char *)hc->body, hc->body_len, err,
	                              sizeof err);
	if (rc != 0) {
		return respond_error(wsi, hc, 400, err[0] != '\0' ? err : synod_strerror(rc));
	}
	if (answer_known(n, wsi, hc, 200, &rc)) {
		return rc; /* ordered already: re-sending a body is idempotent */
	}
	if (driver_peers_ready(n) + 1 < pbft_quorum(n->cluster.replicas)) {
		return respond_error(wsi, hc, 503, "no quorum of coordinators reachable");
	}
	if (n->waiter_count >= SYNOD_NET_HTTP_WAITERS_MAX) {
		return respond_error(wsi, hc, 503, "too many submissions waiting for their commit");
	}
	return submit_wait(n, wsi, hc);
}

static int request_status(struct synod_node *n, struct lws *wsi, struct http_conn *hc,
                          const char *idhex)
{
	uint8_t id[SYNOD_HASH_BYTES];
	if (strlen(idhex) != 2 * SYNOD_HASH_BYTES ||
	    synod_hex_decode(id, SYNOD_HASH_BYTES, idhex, strlen(idhex)) != 0) {
		return respond_error(wsi, hc, 400, "id: expected 64 hex characters");
	}
	struct synod_tally t;
	if (synod_app_tally_get(n->app, id, &t) != 0) {
		const struct refused *r = refused_find(n, id);
		if (r != NULL) {
			return respond_json(
			    wsi, hc, 200,
			    "{\"id\":\"%s\",\"status\":\"refused\",\"reason\":\"%s\"}", idhex,
			    synod_submit_result_name(r->why));
		}
		return respond_error(wsi, hc, 404, "unknown request");
	}
	char decided[96] = "null";
	if (t.outcome != SYNOD_OUTCOME_OPEN) {
		snprintf(decided, sizeof decided, "{\"seq\":%llu,\"index\":%u}",
		         (unsigned long long)t.decided_at.seq, t.decided_at.index);
	}
	return respond_json(
	    wsi, hc, 200,
	    "{\"id\":\"%s\",\"status\":\"%s\",\"epoch\":%llu,\"deadline_ms\":%llu,"
	    "\"tally\":{\"approvals\":%u,\"rejections\":%u,\"eligible\":%u,\"threshold\":%u},"
	    "\"submitted_at\":{\"seq\":%llu,\"index\":%u},\"decided_at\":%s}",
	    idhex, synod_outcome_name(t.outcome), (unsigned long long)t.epoch,
	    (unsigned long long)t.deadline_ms, t.approvals, t.rejections,
	    (unsigned)__builtin_popcountll(t.eligible), n->cluster.policy.threshold,
	    (unsigned long long)t.submitted_at.seq, t.submitted_at.index, decided);
}

/* The last stable checkpoint's seq and digest in hex ("" before the first):
 * replicas that agree on it hold the same state (tests compare it). */
static void healthz_checkpoint(const struct synod_node *n, uint64_t *seq, char *hex, size_t cap)
{
	uint8_t cores[PBFT_REPLICAS_MAX * PBFT_CORE_BYTES];
	uint32_t count = 0;
	struct pbft_core c;
	hex[0] = '\0';
	if (pbft_stable_checkpoint_get(n->pbft, seq, cores, PBFT_REPLICAS_MAX, &count) != 0 ||
	    count == 0 || pbft_core_decode(&c, cores) != 0 ||
	    synod_hex_encode(hex, cap, c.digest, PBFT_DIGEST_BYTES) != 0) {
		hex[0] = '\0';
	}
}

static int healthz(struct synod_node *n, struct lws *wsi, struct http_conn *hc)
{
	struct pbft_status st;
	pbft_status_get(n->pbft, &st);
	uint64_t cp_seq = 0;
	char cp_hex[2 * PBFT_DIGEST_BYTES + 1];
	healthz_checkpoint(n, &cp_seq, cp_hex, sizeof cp_hex);
	return respond_json(wsi, hc, 200,
	                    "{\"status\":\"ok\",\"replica\":%u,\"view\":%llu,\"primary\":%u,"
	                    "\"in_view_change\":%s,\"last_executed\":%llu,\"peers_connected\":%u,"
	                    "\"checkpoint\":{\"seq\":%llu,\"digest\":\"%s\"}}",
	                    n->cfg.self, (unsigned long long)st.view, st.primary,
	                    st.in_view_change ? "true" : "false",
	                    (unsigned long long)st.last_executed, driver_peers_ready(n),
	                    (unsigned long long)cp_seq, cp_hex);
}

void http_metrics_write(struct synod_node *n, FILE *f);

static int metrics(struct synod_node *n, struct lws *wsi, struct http_conn *hc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL) {
		return -1;
	}
	http_metrics_write(n, f);
	fclose(f);
	int rc = len > SYNOD_NET_HTTP_RESP_BYTES_MAX
	             ? respond_error(wsi, hc, 500, "metrics over the response limit")
	             : respond(wsi, hc, 200, "text/plain; version=0.0.4", buf, len);
	free(buf);
	return rc;
}

static int route(struct synod_node *n, struct lws *wsi, struct http_conn *hc)
{
	static const char prefix[] = "/v1/requests/";
	if (hc->post) {
		if (strcmp(hc->uri, "/v1/requests") == 0) {
			return submit(n, wsi, hc);
		}
	} else if (strcmp(hc->uri, "/healthz") == 0) {
		return healthz(n, wsi, hc);
	} else if (strcmp(hc->uri, "/metrics") == 0) {
		return metrics(n, wsi, hc);
	} else if (strncmp(hc->uri, prefix, sizeof prefix - 1) == 0) {
		return request_status(n, wsi, hc, hc->uri + sizeof prefix - 1);
	}
	return respond_error(wsi, hc, 404, "no such route");
}

/* Headers are in: GET routes now; POST checks Content-Length and waits for
 * the body (chunked bodies are not supported by lws 4.1: 411). */
static int on_http(struct synod_node *n, struct lws *wsi, struct http_conn *hc)
{
	memset(hc, 0, sizeof *hc);
	hc->post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
	enum lws_token_indexes tok = hc->post ? WSI_TOKEN_POST_URI : WSI_TOKEN_GET_URI;
	if (lws_hdr_total_length(wsi, tok) <= 0 ||
	    lws_hdr_total_length(wsi, tok) >= (int)sizeof hc->uri ||
	    lws_hdr_copy(wsi, hc->uri, (int)sizeof hc->uri, tok) < 0) {
		return respond_error(
		    wsi, hc,
		    lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0 || hc->post ? 414 : 405,
		    "unsupported method or URI");
	}
	if (!hc->post) {
		return route(n, wsi, hc);
	}
	char cl[32] = "";
	if (lws_hdr_copy(wsi, cl, (int)sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0) {
		return respond_error(wsi, hc, 411, "Content-Length required");
	}
	char *end = NULL;
	unsigned long long want = strtoull(cl, &end, 10);
	if (*end != '\0' || want > SYNOD_NET_HTTP_BODY_BYTES_MAX) {
		hc->too_big = true;
		return respond_error(wsi, hc, 413, "request body over the limit");
	}
	if (want == 0) {
		return route(n, wsi, hc); /* no body callbacks will come */
	}
	return 0;
}

static int on_body(struct lws *wsi, struct http_conn *hc, const void *in, size_t len)
{
	if (hc->status != 0) {
		return 0; /* already answered (413): discard */
	}
	if (hc->body_len + len > SYNOD_NET_HTTP_BODY_BYTES_MAX) {
		hc->too_big = true;
		return 0;
	}
	memcpy(hc->body + hc->body_len, in, len);
	hc->body_len += len;
	return 0;
}

static int on_writeable(struct lws *wsi, struct http_conn *hc)
{
	if (hc->resp == NULL) {
		return 0;
	}
	int k =
	    lws_write(wsi, (unsigned char *)hc->resp + LWS_PRE, hc->resp_len, LWS_WRITE_HTTP_FINAL);
	bool close = hc->too_big || hc->status == 411;
	free(hc->resp);
	hc->resp = NULL;
	if (k < (int)hc->resp_len || close) {
		return -1; /* an unread body follows a 413/411: close */
	}
	return lws_http_transaction_completed(wsi) != 0 ? -1 : 0;
}

int http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct synod_node *n = node_of(wsi);
	struct http_conn *hc = user;
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return on_http(n, wsi, hc);
	case LWS_CALLBACK_HTTP_BODY:
		return on_body(wsi, hc, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return hc->status != 0 ? 0 : route(n, wsi, hc);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return on_writeable(wsi, hc);
	case LWS_CALLBACK_CLOSED_HTTP:
		if (hc != NULL && hc->waiting) {
			waiter_remove(n, hc, WAIT_CLOSED);
		}
		if (hc != NULL) {
			free(hc->resp);
			hc->resp = NULL;
		}
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

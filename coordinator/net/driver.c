/* The driver: the only code that steps the PBFT core, reads the clock for it
 * and writes the WAL. Each update is applied in the order pbft.h requires,
 * with group commit (node.h): records staged, sends held, and at the end of
 * the loop turn one write + one fdatasync before the held sends leave. */
#include "coordinator/net/internal.h"

#include "common/assert.h"
#include "coordinator/wal/wal_pbft.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

SYNOD_COUNTER(net_wal_groups_total, "synod_wal_group_commits_total",
              "WAL flushes (one write and one fdatasync for a loop turn's updates)");

uint64_t net_now_ms(void)
{
	/* Wall clock: TICKs and deadlines are Unix ms (pbft.h, app README). */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t net_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

struct net_msg *net_msg_new(const uint8_t *bytes, size_t len, uint32_t to)
{
	struct net_msg *m = malloc(sizeof *m + LWS_PRE + len);
	if (m == NULL) {
		return NULL;
	}
	m->next = NULL;
	m->to = to;
	m->len = len;
	m->sent = 0;
	memcpy(m->buf + LWS_PRE, bytes, len);
	return m;
}

static void timer_fired(lws_sorted_usec_list_t *sul)
{
	struct synod_node *n = lws_container_of(sul, struct synod_node, timer_sul);
	struct pbft_event ev = {.type = PBFT_EV_TIMEOUT, .now_ms = net_now_ms()};
	n->timer_deadline_ms = 0;
	driver_step(n, &ev);
}

static void timer_arm(struct synod_node *n, uint64_t deadline_ms)
{
	n->timer_deadline_ms = deadline_ms;
	if (deadline_ms == 0) {
		lws_sul_cancel(&n->timer_sul);
		return;
	}
	uint64_t now = net_now_ms();
	uint64_t delay_ms = deadline_ms > now ? deadline_ms - now : 0;
	lws_sul_schedule(n->ctx, 0, &n->timer_sul, timer_fired,
	                 (lws_usec_t)(delay_ms * LWS_US_PER_MS + 1));
}

/* Copies the update's sends into the held list (they leave after the flush). */
static void hold_sends(struct synod_node *n, const struct pbft_update *u)
{
	for (uint32_t i = 0; i < u->send_count; i++) {
		const struct pbft_send *s = &u->sends[i];
		struct net_msg *m = net_msg_new(s->bytes, s->len, s->to);
		if (m == NULL) {
			n->dropped_queue_full++;
			continue;
		}
		if (n->held_tail != NULL) {
			n->held_tail->next = m;
		} else {
			n->held_head = m;
		}
		n->held_tail = m;
		n->held++;
	}
}

static void stage_records(struct synod_node *n, const struct pbft_update *u)
{
	int rc = synod_wal_stage_update(n->wal, u);
	if (rc == SYNOD_EFULL) {
		/* The group is at its size limit: make it durable and release its
		 * sends now, then start the next group with this update. */
		driver_flush(n);
		rc = n->wal_failed ? SYNOD_EIO : synod_wal_stage_update(n->wal, u);
	}
	if (rc != 0) {
		synod_log(SYNOD_LOG_ERROR, "driver", "WAL stage failed: %s; stopping",
		          synod_strerror(rc));
		n->wal_failed = true;
		n->stop = 1;
	}
}

void driver_step(struct synod_node *n, const struct pbft_event *ev)
{
	if (n->wal_failed) {
		return; /* nothing may be acted on any more */
	}
	struct pbft_update *u = &n->upd;
	int rc = pbft_step(n->pbft, ev, u);
	if (rc != 0 && ev->type == PBFT_EV_RECEIVE) {
		n->rejected[REJ_PBFT]++;
	}
	SYNOD_ASSERT(!u->send_before_persist); /* mutations are never set here */
	stage_records(n, u);
	hold_sends(n, u);
	for (uint32_t i = 0; i < u->committed_count; i++) {
		n->commits++;
		synod_log(SYNOD_LOG_DEBUG, "driver", "committed seq=%llu entries_bytes=%zu",
		          (unsigned long long)u->committed[i].seq, u->committed[i].batch_len);
	}
	timer_arm(n, u->timer_deadline_ms);
	if (++n->steps_in_turn >= SYNOD_NET_TURN_STEPS_MAX) {
		driver_flush(n);
	}
}

void driver_receive(struct synod_node *n, uint32_t from, const uint8_t *bytes, size_t len)
{
	struct pbft_event ev = {.type = PBFT_EV_RECEIVE, .now_ms = net_now_ms()};
	ev.receive.from = from;
	ev.receive.bytes = bytes;
	ev.receive.len = len;
	n->msgs_received++;
	driver_step(n, &ev);
}

void driver_submit(struct synod_node *n, const uint8_t *entry, size_t len)
{
	struct pbft_event ev = {.type = PBFT_EV_SUBMIT, .now_ms = net_now_ms()};
	ev.submit.entry = entry;
	ev.submit.len = len;
	driver_step(n, &ev);
}

/* The primary proposes a TICK every tick_ms (app README: only the primary's
 * TICKs move log time, and backups time out a primary that withholds them). */
static void tick_fired(lws_sorted_usec_list_t *sul)
{
	struct synod_node *n = lws_container_of(sul, struct synod_node, tick_sul);
	struct pbft_status st;
	pbft_status_get(n->pbft, &st);
	if (st.primary == n->cfg.self && !st.in_view_change) {
		uint8_t tick[SYNOD_APP_TICK_BYTES];
		synod_entry_tick(tick, synod_app_tick_propose(n->app, net_now_ms()));
		driver_submit(n, tick, sizeof tick);
	}
	lws_sul_schedule(n->ctx, 0, &n->tick_sul, tick_fired,
	                 (lws_usec_t)(n->cfg.tick_ms * LWS_US_PER_MS));
}

void driver_start(struct synod_node *n)
{
	struct pbft_event ev = {.type = PBFT_EV_START, .now_ms = net_now_ms()};
	driver_step(n, &ev);
	driver_flush(n);
	lws_sul_schedule(n->ctx, 0, &n->tick_sul, tick_fired,
	                 (lws_usec_t)(n->cfg.tick_ms * LWS_US_PER_MS));
}

static void release_held(struct synod_node *n)
{
	struct net_msg *m = n->held_head;
	n->held_head = n->held_tail = NULL;
	n->held = 0;
	while (m != NULL) {
		struct net_msg *next = m->next;
		m->next = NULL;
		if (m->to != PBFT_TO_ALL) {
			peer_enqueue(n, m->to, m);
		} else {
			for (uint32_t i = 0; i < n->cluster.replicas; i++) {
				if (i == n->cfg.self) {
					continue;
				}
				struct net_msg *c = net_msg_new(m->buf + LWS_PRE, m->len, i);
				if (c == NULL) {
					n->dropped_queue_full++;
					continue;
				}
				peer_enqueue(n, i, c);
			}
			free(m);
		}
		m = next;
	}
}

static void free_held(struct synod_node *n)
{
	while (n->held_head != NULL) {
		struct net_msg *m = n->held_head;
		n->held_head = m->next;
		free(m);
	}
	n->held_tail = NULL;
	n->held = 0;
}

void driver_flush(struct synod_node *n)
{
	n->steps_in_turn = 0;
	if (n->wal_failed) {
		free_held(n); /* persist failed: none of these may be sent */
		return;
	}
	if (synod_wal_staged_bytes(n->wal) > 0) {
		uint64_t t0 = net_mono_us();
		int rc = synod_wal_flush(n->wal);
		net_hist_add(&n->wal_flush, net_mono_us() - t0);
		synod_counter_inc(&net_wal_groups_total);
		if (rc != 0) {
			synod_log(SYNOD_LOG_ERROR, "driver",
			          "WAL flush failed: %s; no message of this turn is sent; stopping",
			          synod_strerror(rc));
			n->wal_failed = true;
			n->stop = 1;
			free_held(n);
			return;
		}
	}
	release_held(n);
	/* Answers to POSTs whose SUBMIT committed leave after our own records
	 * of the commit are durable, as sends do. */
	http_waiters_answer(n);
}

uint32_t driver_peers_ready(const struct synod_node *n)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < n->cluster.replicas; i++) {
		k += i != n->cfg.self && n->peers[i].state == OUT_READY;
	}
	return k;
}

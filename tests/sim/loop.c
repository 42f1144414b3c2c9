/* The event loop: picks the earliest event (restart, timer, delivery, tick,
 * client), steps the replica, and applies its update the way the daemon's
 * drivers do: persist (append, fsync), send, then arm the timer. */
#include "tests/sim/sim.h"

#include "common/assert.h"

#include <inttypes.h>
#include <string.h>

/* ---- sending through the faulty network ---- */

static uint64_t loop_delay(struct sim_cluster *c)
{
	const struct sim_net_faults *f = &c->net.f;
	uint64_t d = sim_rng_range(&c->rng_net, f->delay_ms_min, f->delay_ms_max);
	if (f->slow_ms_max > 0 && sim_rng_ppm(&c->rng_net, f->slow_ppm)) {
		d += sim_rng_range(&c->rng_net, 1, f->slow_ms_max);
	}
	return d;
}

static void loop_push(struct sim_cluster *c, struct sim_buf *b, uint32_t from, uint32_t to)
{
	struct sim_stats *s = &c->stats;
	s->msgs_sent++;
	s->msg_bytes_sent += b->len;
	if (from != to && sim_rng_ppm(&c->rng_net, c->net.f.loss_ppm)) {
		s->msgs_lost++;
		return;
	}
	if (!sim_net_push(&c->net, b, from, to, c->now_ms + loop_delay(c))) {
		s->msgs_dropped_full++;
		return;
	}
	if (from != to && sim_rng_ppm(&c->rng_net, c->net.f.dup_ppm)) {
		if (sim_net_push(&c->net, b, from, to, c->now_ms + loop_delay(c))) {
			s->msgs_duplicated++;
		}
	}
}

void sim_send(struct sim_cluster *c, uint32_t from, uint32_t to, const uint8_t *bytes, size_t len)
{
	if (to != PBFT_TO_ALL && to >= c->n) {
		sim_violation(c, from, "sent a message to replica %u of %u", to, c->n);
		return;
	}
	if (c->o.checks) {
		sim_certs_wire(c, from, bytes, len);
	}
	struct sim_buf *b = sim_buf_new(bytes, len);
	if (to == PBFT_TO_ALL) {
		for (uint32_t j = 0; j < c->n; j++) {
			if (j != from) {
				loop_push(c, b, from, j);
			}
		}
	} else {
		loop_push(c, b, from, to);
	}
	sim_buf_unref(b);
}

/* ---- applying an update ---- */

static const char *loop_type_name(const uint8_t *bytes, size_t len)
{
	if (len < 2) {
		return "?";
	}
	return pbft_msg_type_name(bytes[1]);
}

/* For a VIEW-CHANGE: its prepared certificates' (view, seq), for the trace. */
static void loop_trace_view_change(struct sim_cluster *c, const struct pbft_send *s)
{
	struct pbft_msg m;
	struct pbft_view_change vc;
	struct pbft_prepared_cert pc;
	char line[512];
	size_t off = 0;
	if (pbft_msg_decode(&m, s->bytes, s->len, &c->lim) != 0 ||
	    pbft_view_change_parse(&vc, m.payload, m.payload_len, &c->lim) != 0) {
		return;
	}
	line[0] = '\0';
	while (pbft_view_change_next(&vc, &pc) == 1 && off + 32 < sizeof line) {
		int w = snprintf(line + off, sizeof line - off, " %" PRIu64 "@v%" PRIu64,
		                 pc.pre_prepare.seq, pc.pre_prepare.view);
		off += w > 0 ? (size_t)w : 0;
	}
	sim_trace(c, "      checkpoints %u, prepared:%s", vc.checkpoint_count, line);
}

/* For a NEW-VIEW: V's (sender, stable seq) and O's seqs, for the trace. */
static void loop_trace_new_view(struct sim_cluster *c, const struct pbft_send *s)
{
	struct pbft_msg m;
	struct pbft_new_view nv;
	struct pbft_new_view_vc v;
	struct pbft_new_view_pp pp;
	char line[512];
	size_t off = 0;
	if (pbft_msg_decode(&m, s->bytes, s->len, &c->lim) != 0 ||
	    pbft_new_view_parse(&nv, m.payload, m.payload_len, &c->lim) != 0) {
		return;
	}
	line[0] = '\0';
	while (pbft_new_view_next_vc(&nv, &v) == 1 && off + 32 < sizeof line) {
		int w = snprintf(line + off, sizeof line - off, " n%u/h%" PRIu64, v.core.sender,
		                 v.core.seq);
		off += w > 0 ? (size_t)w : 0;
	}
	int w = snprintf(line + off, sizeof line - off, "; O:");
	off += w > 0 ? (size_t)w : 0;
	while (pbft_new_view_next_pp(&nv, &pp) == 1 && off + 32 < sizeof line) {
		w = snprintf(line + off, sizeof line - off, " %" PRIu64, pp.core.seq);
		off += w > 0 ? (size_t)w : 0;
	}
	sim_trace(c, "      V:%s", line);
}

static void loop_trace_update(struct sim_cluster *c, const struct sim_node *nd,
                              const struct pbft_update *u, int rc)
{
	if (c->o.trace == NULL) {
		return;
	}
	sim_trace(c, "  n%u -> rc=%d records=%u sends=%u committed=%u timer=%" PRIu64 "%s",
	          nd->index, rc, u->record_count, u->send_count, u->committed_count,
	          u->timer_deadline_ms, u->send_before_persist ? " SEND-BEFORE-PERSIST" : "");
	for (uint32_t i = 0; i < u->send_count; i++) {
		const struct pbft_send *s = &u->sends[i];
		struct pbft_core core;
		memset(&core, 0, sizeof core);
		if (s->len >= PBFT_CORE_BYTES && pbft_core_decode(&core, s->bytes) != 0) {
			memset(&core, 0, sizeof core);
		}
		sim_trace(c,
		          "    n%u send to %d %s v=%" PRIu64 " s=%" PRIu64
		          " d=%02x%02x%02x%02x (%zu bytes)",
		          nd->index, s->to == PBFT_TO_ALL ? -1 : (int)s->to,
		          loop_type_name(s->bytes, s->len), core.view, core.seq, core.digest[0],
		          core.digest[1], core.digest[2], core.digest[3], s->len);
		if (core.type == PBFT_MSG_VIEW_CHANGE) {
			loop_trace_view_change(c, s);
		}
		if (core.type == PBFT_MSG_NEW_VIEW) {
			loop_trace_new_view(c, s);
		}
	}
	for (uint32_t i = 0; i < u->committed_count; i++) {
		sim_trace(c, "    n%u committed s=%" PRIu64 " v=%" PRIu64 " (%zu bytes)", nd->index,
		          u->committed[i].seq, u->committed[i].view, u->committed[i].batch_len);
	}
}

static void loop_sends(struct sim_cluster *c, struct sim_node *nd, const struct pbft_update *u)
{
	if (nd->byzantine) {
		sim_byz_send(c, nd, u);
		return;
	}
	if (c->o.checks) {
		sim_check_sends(c, nd, u);
	}
	for (uint32_t i = 0; i < u->send_count && !c->stopped; i++) {
		sim_send(c, nd->index, u->sends[i].to, u->sends[i].bytes, u->sends[i].len);
	}
}

/* Appends the update's records unsynced; false when the disk bound is hit. */
static bool loop_records(struct sim_cluster *c, struct sim_node *nd, const struct pbft_update *u)
{
	for (uint32_t i = 0; i < u->record_count; i++) {
		int rc = sim_disk_append(&nd->disk, &u->records[i]);
		if (rc != 0) {
			sim_violation(c, nd->index,
			              "disk bound: %u records, %" PRIu64 " bytes (%s): is "
			              "truncate_before ever set?",
			              nd->disk.count, nd->disk.bytes, synod_strerror(rc));
			return false;
		}
		c->stats.records_written++;
	}
	sim_disk_update_end(&nd->disk);
	return true;
}

static void loop_apply_sbp(struct sim_cluster *c, struct sim_node *nd, const struct pbft_update *u)
{
	/* The mutation's order: send first; this update's records stay
	 * unsynced until the end of the replica's next step. */
	loop_sends(c, nd, u);
	if (!loop_records(c, nd, u)) {
		return;
	}
	sim_disk_sync(&nd->disk, nd->disk.count - u->record_count, !c->o.keep_records);
	if (nd->unsynced_pending) {
		nd->exec_durable = nd->exec_pending;
	}
	nd->unsynced_pending = true;
	nd->exec_pending = nd->app.seq;
}

/* Returns false when the replica crashed while persisting. */
static bool loop_apply_persist(struct sim_cluster *c, struct sim_node *nd,
                               const struct pbft_update *u)
{
	if (!loop_records(c, nd, u)) {
		return false;
	}
	if (u->record_count > 0 && sim_rng_ppm(&c->rng_crash, c->crash.in_persist_ppm)) {
		sim_trace(c, "n%u crashes while persisting %u records", nd->index, u->record_count);
		sim_node_crash(c, nd);
		return false;
	}
	sim_disk_sync(&nd->disk, nd->disk.count, !c->o.keep_records);
	nd->unsynced_pending = false;
	nd->exec_durable = nd->app.seq;
	loop_sends(c, nd, u);
	return true;
}

static void loop_apply(struct sim_cluster *c, struct sim_node *nd, const struct pbft_update *u)
{
	bool honest = sim_honest(c, nd->index);
	if (c->o.checks && honest) {
		sim_check_committed(c, nd, u);
	}
	if (c->voters != NULL && honest) {
		sim_voters_committed(c, nd, u);
	}
	if (u->send_before_persist) {
		loop_apply_sbp(c, nd, u);
	} else if (!loop_apply_persist(c, nd, u)) {
		return;
	}
	nd->timer_ms = 0;
	if (u->timer_deadline_ms != 0) {
		int64_t t = (int64_t)u->timer_deadline_ms - nd->skew_ms;
		nd->timer_ms = t < (int64_t)c->now_ms ? c->now_ms : (uint64_t)t;
	}
	if (c->o.checks && honest) {
		sim_check_status(c, nd, false);
	}
	if (u->send_count > 0 && sim_rng_ppm(&c->rng_crash, c->crash.after_send_ppm)) {
		sim_trace(c, "n%u crashes right after sending", nd->index);
		sim_node_crash(c, nd);
	}
}

void sim_node_step(struct sim_cluster *c, struct sim_node *nd, const struct pbft_event *ev)
{
	SYNOD_ASSERT(nd->up && nd->p != NULL);
	if (nd->byzantine && !sim_byz_filter(c, nd, ev)) {
		return;
	}
	c->step++;
	int rc = pbft_step(nd->p, ev, c->upd);
	loop_trace_update(c, nd, c->upd, rc);
	loop_apply(c, nd, c->upd);
	if (c->o.steps_max != 0 && c->step >= c->o.steps_max) {
		c->stopped = true;
	}
}

/* ---- events ---- */

enum loop_kind {
	LOOP_NONE,
	LOOP_RESTART,
	LOOP_TIMER,
	LOOP_NET,
	LOOP_TICK,
	LOOP_CLIENT,
	LOOP_VOTERS
};

struct loop_next {
	uint64_t at_ms;
	enum loop_kind kind;
	uint32_t node;
};

static void loop_consider(struct loop_next *n, uint64_t at_ms, enum loop_kind kind, uint32_t node)
{
	if (at_ms < n->at_ms) {
		n->at_ms = at_ms;
		n->kind = kind;
		n->node = node;
	}
}

static struct loop_next loop_pick(const struct sim_cluster *c)
{
	struct loop_next n = {.at_ms = UINT64_MAX, .kind = LOOP_NONE, .node = 0};
	for (uint32_t i = 0; i < c->n; i++) {
		const struct sim_node *nd = &c->nodes[i];
		if (!nd->up && nd->restart_ms != 0) {
			loop_consider(&n, nd->restart_ms, LOOP_RESTART, i);
		}
	}
	for (uint32_t i = 0; i < c->n; i++) {
		const struct sim_node *nd = &c->nodes[i];
		if (nd->up && nd->timer_ms != 0) {
			loop_consider(&n, nd->timer_ms, LOOP_TIMER, i);
		}
	}
	loop_consider(&n, sim_net_next_ms(&c->net), LOOP_NET, 0);
	for (uint32_t i = 0; i < c->n; i++) {
		if (c->nodes[i].up) {
			loop_consider(&n, c->nodes[i].tick_ms, LOOP_TICK, i);
		}
	}
	loop_consider(&n, c->clients.next_ms, LOOP_CLIENT, 0);
	if (c->voters != NULL) {
		loop_consider(&n, sim_voters_next_ms(c), LOOP_VOTERS, 0);
	}
	return n;
}

static void loop_deliver(struct sim_cluster *c)
{
	struct sim_packet pk;
	sim_net_pop(&c->net, &pk);
	struct sim_node *nd = &c->nodes[pk.to];
	if (!nd->up || ((c->net.cut[pk.from] >> pk.to) & 1u)) {
		c->stats.msgs_cut++;
		sim_buf_unref(pk.buf);
		return;
	}
	c->stats.msgs_delivered++;
	struct pbft_event ev = {.type = PBFT_EV_RECEIVE, .now_ms = sim_node_time(c, nd)};
	ev.receive.from = pk.from;
	ev.receive.bytes = pk.buf->bytes;
	ev.receive.len = pk.buf->len;
	if (c->o.trace != NULL) {
		struct pbft_core core;
		memset(&core, 0, sizeof core);
		if (pk.buf->len >= PBFT_CORE_BYTES && pbft_core_decode(&core, pk.buf->bytes) != 0) {
			memset(&core, 0, sizeof core);
		}
		sim_trace(c, "n%u RECV from n%u %s sender=%u v=%" PRIu64 " s=%" PRIu64, pk.to,
		          pk.from, loop_type_name(pk.buf->bytes, pk.buf->len), core.sender,
		          core.view, core.seq);
	}
	sim_node_step(c, nd, &ev);
	sim_buf_unref(pk.buf);
}

static void loop_timer(struct sim_cluster *c, struct sim_node *nd)
{
	nd->timer_ms = 0;
	struct pbft_event ev = {.type = PBFT_EV_TIMEOUT, .now_ms = sim_node_time(c, nd)};
	sim_trace(c, "n%u TIMEOUT", nd->index);
	sim_node_step(c, nd, &ev);
}

static void loop_tick(struct sim_cluster *c, struct sim_node *nd)
{
	nd->tick_ms = c->now_ms + c->o.tick_ms;
	if (nd->byzantine) {
		sim_byz_tick(c, nd);
		if (!nd->up || c->stopped) {
			return;
		}
	}
	struct pbft_event ev = {.type = PBFT_EV_TICK, .now_ms = sim_node_time(c, nd)};
	sim_node_step(c, nd, &ev);
}

bool sim_loop_once(struct sim_cluster *c, uint64_t until_ms)
{
	struct loop_next n = loop_pick(c);
	if (n.kind == LOOP_NONE || n.at_ms > until_ms) {
		if (until_ms != UINT64_MAX && until_ms > c->now_ms) {
			c->now_ms = until_ms;
		}
		return false;
	}
	if (n.at_ms > c->now_ms) {
		c->now_ms = n.at_ms;
	}
	struct sim_node *nd = &c->nodes[n.node];
	switch (n.kind) {
	case LOOP_RESTART:
		sim_node_restart(c, nd);
		break;
	case LOOP_TIMER:
		loop_timer(c, nd);
		break;
	case LOOP_NET:
		loop_deliver(c);
		break;
	case LOOP_TICK:
		loop_tick(c, nd);
		break;
	case LOOP_CLIENT:
		sim_clients_tick(c);
		break;
	case LOOP_VOTERS:
		sim_voters_drive(c);
		break;
	case LOOP_NONE:
		break;
	}
	return true;
}

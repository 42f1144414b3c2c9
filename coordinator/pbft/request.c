/* Entries waiting to be ordered: submission, forwarding, and the primary's
 * batching (section 4.2: the primary assigns sequence numbers). */
#include "coordinator/pbft/internal.h"

#include "common/hash.h"
#include "common/log.h"

#include <string.h>

SYNOD_COUNTER(pbft_expired_total, "synod_pbft_pending_expired_total",
              "pending entries the application called expired and the primary dropped");
SYNOD_COUNTER(pbft_pending_full_total, "synod_pbft_pending_full_total",
              "entries refused because the pending queue was full");
SYNOD_COUNTER(pbft_pending_executed_total, "synod_pbft_pending_executed_total",
              "entries dropped or refused because the application's state holds them already");
SYNOD_COUNTER(pbft_pending_given_up_total, "synod_pbft_pending_given_up_total",
              "pending entries dropped after f+1 view changes did not get them executed");

static uint32_t pending_cap(const struct pbft *p)
{
	return p->cfg.pending_entries_max;
}

static struct pbft_pending *pending_find(struct pbft *p, const uint8_t digest[32])
{
	for (uint32_t i = 0; i < pending_cap(p); i++) {
		struct pbft_pending *e = &p->pending[i];
		if (e->live && memcmp(e->digest, digest, PBFT_DIGEST_BYTES) == 0) {
			return e;
		}
	}
	return NULL;
}

static bool recent_has(const struct pbft *p, const uint8_t digest[32])
{
	for (uint32_t i = 0; i < p->recent_count; i++) {
		if (memcmp(p->recent[i], digest, PBFT_DIGEST_BYTES) == 0) {
			return true;
		}
	}
	return false;
}

static void recent_add(struct pbft *p, const uint8_t digest[32])
{
	memcpy(p->recent[p->recent_next], digest, PBFT_DIGEST_BYTES);
	p->recent_next = (p->recent_next + 1) % PBFT_RECENT_DIGESTS;
	if (p->recent_count < PBFT_RECENT_DIGESTS) {
		p->recent_count++;
	}
}

/* Entries forwarded by one peer may take at most this many places, so a
 * faulty replica cannot fill the queue and lock out everyone's clients. */
static uint32_t pending_peer_quota(const struct pbft *p)
{
	uint32_t q = pending_cap(p) / (2 * p->n);
	return q > 0 ? q : 1;
}

static bool app_executed(const struct pbft *p, const uint8_t *entry, size_t len)
{
	return p->cfg.app.executed != NULL && p->cfg.app.executed(p->cfg.app.ctx, entry, len);
}

static bool app_expired(const struct pbft *p, const uint8_t *entry, size_t len)
{
	return p->cfg.app.expired != NULL &&
	       p->cfg.app.expired(p->cfg.app.ctx, entry, len, p->now_ms);
}

/* Whether the view-change timer may wait for an entry: see pbft_pending. */
static bool pending_watchable(const struct pbft *p, const uint8_t *entry, size_t len,
                              uint32_t origin)
{
	return origin != p->cfg.self || p->cfg.app.admit == NULL ||
	       p->cfg.app.admit(p->cfg.app.ctx, entry, len) == 0;
}

static void pending_fill(struct pbft *p, struct pbft_pending *e, const uint8_t *entry, size_t len,
                         uint32_t origin, const uint8_t digest[32])
{
	e->live = true;
	e->in_flight_seq = 0;
	e->in_flight_view = 0;
	e->forwarded_view = UINT64_MAX;
	e->arrived_ms = p->now_ms;
	e->watched = pending_watchable(p, entry, len, origin);
	e->view_changes = 0;
	memcpy(e->digest, digest, PBFT_DIGEST_BYTES);
	memcpy(e->bytes, entry, len);
	e->len = (uint32_t)len;
	e->origin = origin;
	p->pending_by_origin[origin]++;
	p->pending_count++;
	p->pending_watched_count += e->watched ? 1u : 0u;
}

/* Whether batch holds entry, byte for byte. */
static bool batch_holds(const struct pbft *p, const uint8_t *batch, uint32_t len,
                        const struct pbft_pending *e)
{
	struct pbft_batch_iter it;
	if (pbft_batch_iter_init(&it, batch, len, &p->lim) != 0) {
		return false;
	}
	const uint8_t *entry;
	uint32_t entry_len;
	while (pbft_batch_iter_next(&it, &entry, &entry_len) == 1) {
		if (entry_len == e->len && memcmp(entry, e->bytes, e->len) == 0) {
			return true;
		}
	}
	return false;
}

static void pending_in_flight_at(struct pbft_pending *e, uint64_t seq, uint64_t view)
{
	if (e->in_flight_seq == 0 || view > e->in_flight_view ||
	    (view == e->in_flight_view && seq > e->in_flight_seq)) {
		e->in_flight_seq = seq;
		e->in_flight_view = view;
	}
}

/* A new pending entry may already sit in a batch of the log above what
 * executed: its REQUEST was overtaken by the PRE-PREPARE, or the log was
 * replayed after a restart while the entries went with the crash. It is in
 * flight there as if it had been pending when that batch came: a primary
 * that proposed it again would have it executed twice. Reads the slots
 * without claiming them (pbft_slot_get resets a stale one). */
static void pending_find_in_log(struct pbft *p, struct pbft_pending *e)
{
	uint64_t from = p->last_exec > p->h ? p->last_exec : p->h;
	for (uint64_t seq = from + 1; seq <= p->h + p->cfg.window; seq++) {
		const struct pbft_slot *s = &p->slots[(seq - 1) % p->cfg.window];
		if (s->seq != seq) {
			continue;
		}
		if (s->has_pp && batch_holds(p, s->batch, s->batch_len, e)) {
			pending_in_flight_at(e, seq, s->pp.view);
		}
		if (s->has_cert && batch_holds(p, s->cert_batch, s->cert_batch_len, e)) {
			pending_in_flight_at(e, seq, s->cert_pp.view);
		}
	}
}

/* Adds an entry unless it is pending or executed (recently, or as the
 * application's state shows: the ring does not survive a restart or a
 * snapshot). 0, or SYNOD_EFULL / SYNOD_ELIMIT. *added says whether it is
 * new. */
static int pending_add(struct pbft *p, const uint8_t *entry, size_t len, uint32_t origin,
                       bool *added)
{
	uint8_t digest[PBFT_DIGEST_BYTES];
	*added = false;
	if (len == 0 || len > p->cfg.entry_bytes_max) {
		return SYNOD_ELIMIT;
	}
	synod_sha256(digest, entry, len);
	if (pending_find(p, digest) != NULL || recent_has(p, digest)) {
		return 0;
	}
	if (app_executed(p, entry, len)) {
		synod_counter_inc(&pbft_pending_executed_total);
		return 0;
	}
	if (origin != p->cfg.self && p->pending_by_origin[origin] >= pending_peer_quota(p)) {
		synod_counter_inc(&pbft_pending_full_total);
		return SYNOD_EFULL;
	}
	for (uint32_t i = 0; i < pending_cap(p); i++) {
		struct pbft_pending *e = &p->pending[i];
		if (!e->live) {
			pending_fill(p, e, entry, len, origin, digest);
			pending_find_in_log(p, e);
			*added = true;
			return 0;
		}
	}
	synod_counter_inc(&pbft_pending_full_total);
	synod_log(SYNOD_LOG_WARN, "pbft", "replica %u: pending queue full (%u entries)",
	          p->cfg.self, pending_cap(p));
	return SYNOD_EFULL;
}

bool pbft_pending_waiting(const struct pbft *p)
{
	return p->pending_watched_count > 0;
}

bool pbft_pending_watched_since(const struct pbft *p, uint64_t since_ms)
{
	if (p->pending_watched_count == 0) {
		return false;
	}
	for (uint32_t i = 0; i < pending_cap(p); i++) {
		const struct pbft_pending *e = &p->pending[i];
		if (e->live && e->watched && e->arrived_ms <= since_ms) {
			return true;
		}
	}
	return false;
}

/* In a batch whose seq has not executed yet: another batch may hold that
 * seq by now, but the one with the entry can still resurface there. Except,
 * at the primary, a batch of an older view at a seq it has yet to assign in
 * this one: nothing else would ever get the entry ordered. */
static bool pending_in_flight(const struct pbft *p, const struct pbft_pending *e)
{
	if (e->in_flight_seq <= p->last_exec) {
		return false;
	}
	return e->in_flight_view == p->view || !pbft_is_primary(p) || p->in_view_change ||
	       e->in_flight_seq < p->next_seq;
}

/* Sends every pending entry not yet forwarded in this view to all replicas,
 * so that every backup times out on a primary that censors it, and an entry
 * survives the crash of the replica that received it (the primary too).
 * Bounded per call; the rest goes on the next call. */
void pbft_pending_forward(struct pbft *p)
{
	/* Also in a view change: a replica alone in one (it started it and
	 * nobody followed) would otherwise sit on its clients' entries until it
	 * rejoins, which may take many checkpoints. */
	uint32_t budget = PBFT_SENDS_MAX / 2;
	for (uint32_t i = 0; i < pending_cap(p) && budget > 0; i++) {
		struct pbft_pending *e = &p->pending[i];
		if (!e->live || pending_in_flight(p, e) || e->forwarded_view == p->view) {
			continue;
		}
		struct pbft_core c = {.type = PBFT_MSG_REQUEST, .view = p->view, .seq = 0};
		memcpy(c.digest, e->digest, PBFT_DIGEST_BYTES);
		pbft_core_sign(p, &c);
		pbft_out_send(p, PBFT_TO_ALL, &c, e->bytes, e->len);
		e->forwarded_view = p->view;
		budget--;
	}
}

void pbft_pending_reforward(struct pbft *p)
{
	for (uint32_t i = 0; i < pending_cap(p); i++) {
		p->pending[i].forwarded_view = UINT64_MAX;
	}
	pbft_pending_forward(p);
}

int pbft_on_submit(struct pbft *p, const uint8_t *entry, size_t len)
{
	bool added;
	int rc = pending_add(p, entry, len, p->cfg.self, &added);
	if (rc != 0) {
		return rc;
	}
	if (!added) {
		/* A local client submits a pending entry of its own again (its
		 * driver saw it unordered for too long, or a peer came up): forward
		 * it again, the first forward may have met unconnected peers. */
		uint8_t digest[PBFT_DIGEST_BYTES];
		synod_sha256(digest, entry, len);
		struct pbft_pending *e = pending_find(p, digest);
		if (e == NULL || e->origin != p->cfg.self) {
			return 0;
		}
		e->forwarded_view = UINT64_MAX;
	}
	pbft_pending_forward(p);
	return 0;
}

int pbft_on_request(struct pbft *p, const struct pbft_msg *m)
{
	bool added;
	if (p->cfg.app.admit != NULL &&
	    p->cfg.app.admit(p->cfg.app.ctx, m->payload, m->payload_len) != 0) {
		pbft_reject(p, "the application refused a forwarded entry", m->core.sender);
		return SYNOD_EPROTO;
	}
	int rc = pending_add(p, m->payload, m->payload_len, m->core.sender, &added);
	if (rc != 0) {
		pbft_reject(p, "request refused", m->core.sender);
		return rc;
	}
	if (added) {
		/* The forwarder already told everyone. */
		struct pbft_pending *e = pending_find(p, m->core.digest);
		if (e != NULL) {
			e->forwarded_view = p->view;
		}
	}
	return 0;
}

/* Applies fn to the pending entry of every entry in a batch (pre-prepared
 * by pp, or NULL). */
static void pending_for_batch(struct pbft *p, const struct pbft_core *pp, const uint8_t *batch,
                              size_t len,
                              void (*fn)(struct pbft *, const struct pbft_core *,
                                         struct pbft_pending *, const uint8_t *))
{
	struct pbft_batch_iter it;
	if (pbft_batch_iter_init(&it, batch, len, &p->lim) != 0) {
		return;
	}
	const uint8_t *entry;
	uint32_t entry_len;
	while (pbft_batch_iter_next(&it, &entry, &entry_len) == 1) {
		uint8_t digest[PBFT_DIGEST_BYTES];
		synod_sha256(digest, entry, entry_len);
		fn(p, pp, pending_find(p, digest), digest);
	}
}

static void pending_drop(struct pbft *p, struct pbft_pending *e)
{
	SYNOD_ASSERT(e->live && p->pending_count > 0);
	e->live = false;
	p->pending_count--;
	p->pending_by_origin[e->origin]--;
	if (e->watched) {
		SYNOD_ASSERT(p->pending_watched_count > 0);
		p->pending_watched_count--;
	}
}

void pbft_pending_reconcile(struct pbft *p, bool executed_too)
{
	for (uint32_t i = 0; i < pending_cap(p) && p->pending_count > 0; i++) {
		struct pbft_pending *e = &p->pending[i];
		if (!e->live) {
			continue;
		}
		if (app_expired(p, e->bytes, e->len)) {
			synod_counter_inc(&pbft_expired_total);
			pending_drop(p, e);
		} else if (executed_too && app_executed(p, e->bytes, e->len)) {
			synod_counter_inc(&pbft_pending_executed_total);
			recent_add(p, e->digest);
			pending_drop(p, e);
		}
	}
}

void pbft_pending_view_change(struct pbft *p)
{
	uint32_t given_up = 0;
	for (uint32_t i = 0; i < pending_cap(p); i++) {
		struct pbft_pending *e = &p->pending[i];
		if (!e->live || !e->watched || e->arrived_ms > p->progress_armed_ms) {
			continue;
		}
		if (++e->view_changes > p->f) {
			synod_counter_inc(&pbft_pending_given_up_total);
			pending_drop(p, e);
			given_up++;
		}
	}
	if (given_up > 0) {
		synod_log(SYNOD_LOG_WARN, "pbft",
		          "replica %u: dropped %u pending entries that %u view changes did not get "
		          "executed",
		          p->cfg.self, given_up, p->f + 1);
	}
}

static void pending_executed_one(struct pbft *p, const struct pbft_core *pp, struct pbft_pending *e,
                                 const uint8_t *digest)
{
	(void)pp;
	if (e != NULL) {
		pending_drop(p, e);
	}
	recent_add(p, digest);
}

static void pending_in_flight_one(struct pbft *p, const struct pbft_core *pp,
                                  struct pbft_pending *e, const uint8_t *digest)
{
	(void)p;
	(void)digest;
	if (e != NULL) {
		e->in_flight_seq = pp->seq;
		e->in_flight_view = pp->view;
	}
}

void pbft_pending_executed(struct pbft *p, const uint8_t *batch, size_t len)
{
	pending_for_batch(p, NULL, batch, len, pending_executed_one);
}

void pbft_pending_mark_in_flight(struct pbft *p, const struct pbft_core *pp, const uint8_t *batch,
                                 size_t len)
{
	pending_for_batch(p, pp, batch, len, pending_in_flight_one);
}

/* --- the primary's batching --------------------------------------------------- */

static bool propose_in_flight(const struct pbft *p)
{
	return p->next_seq > p->last_exec + 1;
}

/* The oldest proposable entry's arrival time, or UINT64_MAX if none. */
static uint64_t propose_oldest(const struct pbft *p, uint32_t *count)
{
	uint64_t oldest = UINT64_MAX;
	*count = 0;
	for (uint32_t i = 0; i < pending_cap(p); i++) {
		const struct pbft_pending *e = &p->pending[i];
		if (e->live && !pending_in_flight(p, e)) {
			(*count)++;
			if (e->arrived_ms < oldest) {
				oldest = e->arrived_ms;
			}
		}
	}
	return oldest;
}

/* Builds one batch from the oldest proposable entries into buf. */
static size_t propose_build(struct pbft *p, uint8_t *buf)
{
	struct pbft_batch_writer w;
	pbft_batch_writer_init(&w, buf, p->cfg.batch_bytes_max);
	for (uint32_t taken = 0; taken < p->cfg.batch_entries_max;) {
		struct pbft_pending *best = NULL;
		for (uint32_t i = 0; i < pending_cap(p); i++) {
			struct pbft_pending *e = &p->pending[i];
			if (e->live && !pending_in_flight(p, e) &&
			    (best == NULL || e->arrived_ms < best->arrived_ms)) {
				best = e;
			}
		}
		if (best == NULL) {
			break;
		}
		if (app_expired(p, best->bytes, best->len)) {
			synod_counter_inc(&pbft_expired_total);
			pending_drop(p, best);
			continue;
		}
		if (app_executed(p, best->bytes, best->len)) {
			synod_counter_inc(&pbft_pending_executed_total);
			recent_add(p, best->digest);
			pending_drop(p, best);
			continue;
		}
		if (pbft_batch_writer_add(&w, best->bytes, best->len) != 0) {
			break;
		}
		best->in_flight_seq = p->next_seq;
		best->in_flight_view = p->view;
		taken++;
	}
	return pbft_batch_writer_finish(&w);
}

static void propose_one(struct pbft *p)
{
	uint8_t *batch = pbft_arena_alloc(p, p->cfg.batch_bytes_max);
	size_t len = propose_build(p, batch);
	struct pbft_core pp = {.type = PBFT_MSG_PRE_PREPARE, .view = p->view, .seq = p->next_seq};
	pbft_batch_digest(pp.digest, batch, len);
	pbft_core_sign(p, &pp);
	p->next_seq++;
	pbft_pp_install(p, &pp, batch, (uint32_t)len, true);
	pbft_out_send(p, PBFT_TO_ALL, &pp, batch, len);
}

/* Section 4.2: the primary assigns the next sequence numbers, within the
 * window, to batches of pending entries. A partial batch waits up to
 * batch_delay_ms while earlier batches are still in flight. */
void pbft_propose(struct pbft *p)
{
	/* Behind the stable checkpoint (adopted from a NEW-VIEW, its snapshot on
	 * the way) it cannot tell which pending entries the seqs up to h
	 * ordered: the snapshot's reconcile will. Until then a new batch could
	 * order them again. */
	if (!pbft_is_primary(p) || p->in_view_change || p->last_exec < p->h) {
		p->batch_deadline_ms = 0;
		return;
	}
	if (p->next_seq <= p->last_exec) {
		p->next_seq = p->last_exec + 1;
	}
	for (uint32_t round = 0; round < p->cfg.window; round++) {
		if (p->next_seq > p->h + p->cfg.window ||
		    p->out->send_count + 1 >= PBFT_SENDS_MAX) {
			return;
		}
		uint32_t count;
		uint64_t oldest = propose_oldest(p, &count);
		if (count == 0) {
			p->batch_deadline_ms = 0;
			return;
		}
		bool full = count >= p->cfg.batch_entries_max;
		bool due = p->now_ms >= oldest + p->cfg.batch_delay_ms;
		if (!full && !due && propose_in_flight(p)) {
			p->batch_deadline_ms = oldest + p->cfg.batch_delay_ms;
			return;
		}
		p->batch_deadline_ms = 0;
		propose_one(p);
	}
}

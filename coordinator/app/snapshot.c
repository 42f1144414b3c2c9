/* Canonical snapshots. The PBFT core hashes the snapshot for its checkpoint
 * digest, so equal states must give equal bytes: fields in a fixed order,
 * big-endian integers, tables in slot order (slot placement is itself
 * deterministic: lowest free slot), rings oldest first, no padding. Restore
 * decodes into the spare state, checks it, and only then swaps. Layout:
 * README.md, "Snapshot". */
#include "common/assert.h"
#include "common/merkle.h"
#include "common/wire.h"
#include "coordinator/app/internal.h"

#include <string.h>

#define SNAP_MAGIC   0x53594150u /* "SYAP" */
#define SNAP_VERSION 2u

static void snap_pos(struct synod_wbuf *w, struct synod_app_pos p)
{
	synod_wbuf_u64(w, p.seq);
	synod_wbuf_u32(w, p.index);
}

static void snap_epoch(struct synod_wbuf *w, const struct synod_epoch *e)
{
	synod_wbuf_u64(w, e->number);
	synod_wbuf_u64(w, e->start_log_time_ms);
	synod_wbuf_u64(w, e->decisions);
	synod_wbuf_u64(w, e->eligible);
	synod_wbuf_bytes(w, e->voter_set_hash, SYNOD_HASH_BYTES);
}

/* The log of decisions: its size and root (at a fixed offset, where
 * synod_app_checkpoint_digest reads them), then its frontier. */
static void snap_decisions(const struct synod_app *a, struct synod_wbuf *w)
{
	uint8_t root[SYNOD_HASH_BYTES];
	uint8_t frontier[64][SYNOD_HASH_BYTES];
	size_t n = 0;
	int rc = synod_merkle_log_root(&a->dlog, a->dlog.count, root);
	SYNOD_ASSERT(rc == 0);
	rc = synod_merkle_log_frontier(&a->dlog, frontier, 64, &n);
	SYNOD_ASSERT(rc == 0);
	synod_wbuf_u64(w, a->dlog.count);
	synod_wbuf_bytes(w, root, SYNOD_HASH_BYTES);
	for (size_t i = 0; i < n; i++) {
		synod_wbuf_bytes(w, frontier[i], SYNOD_HASH_BYTES);
	}
}

static void snap_header(const struct synod_app *a, struct synod_wbuf *w)
{
	const struct app_state *st = a->st;
	synod_wbuf_u32(w, SNAP_MAGIC);
	synod_wbuf_u32(w, SNAP_VERSION);
	snap_decisions(a, w);
	synod_wbuf_bytes(w, a->config_digest, SYNOD_HASH_BYTES);
	synod_wbuf_u64(w, st->last_seq);
	snap_pos(w, st->last_pos);
	synod_wbuf_u64(w, st->log_time_ms);
	synod_wbuf_u64(w, st->next_order);
	snap_epoch(w, &st->epoch);
	synod_wbuf_u32(w, st->history_count);
	for (uint32_t i = 0; i < st->history_count; i++) {
		snap_epoch(w, &st->history[i]);
	}
	for (uint32_t i = 0; i < SYNOD_OUTCOME_COUNT; i++) {
		synod_wbuf_u64(w, st->decisions[i]);
	}
	for (uint32_t i = 0; i < SYNOD_VOTE_REASON_COUNT; i++) {
		synod_wbuf_u64(w, st->votes[i]);
	}
	for (uint32_t i = 0; i < SYNOD_SUBMIT_RESULT_COUNT; i++) {
		synod_wbuf_u64(w, st->submits[i]);
	}
	synod_wbuf_u64(w, st->ticks);
	synod_wbuf_u64(w, st->ticks_backwards);
	synod_wbuf_u64(w, st->entries_malformed);
	synod_wbuf_u64(w, st->ignored_not_kept);
	for (uint32_t s = 0; s < a->seats; s++) {
		synod_wbuf_u32(w, st->missed[s]);
		synod_wbuf_bytes(w, st->missed_request[s], SYNOD_HASH_BYTES);
	}
}

static void snap_recent(const struct app_state *st, struct synod_wbuf *w)
{
	synod_wbuf_u32(w, st->recent_count);
	uint32_t first = (st->recent_head + SYNOD_APP_RECENT_IGNORED_MAX - st->recent_count) %
	                 SYNOD_APP_RECENT_IGNORED_MAX;
	for (uint32_t k = 0; k < st->recent_count; k++) {
		const struct app_recent *r =
		    &st->recent[(first + k) % SYNOD_APP_RECENT_IGNORED_MAX];
		snap_pos(w, r->pos);
		synod_wbuf_u8(w, r->kind);
		synod_wbuf_u8(w, r->reason);
		synod_wbuf_u8(w, r->seat);
		synod_wbuf_bytes(w, r->request_id, SYNOD_HASH_BYTES);
	}
}

static void snap_exclusions(const struct app_state *st, struct synod_wbuf *w)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < SYNOD_APP_EXCLUSIONS_MAX; i++) {
		n += st->exclusions[i].used ? 1u : 0u;
	}
	synod_wbuf_u32(w, n);
	for (uint32_t i = 0; i < SYNOD_APP_EXCLUSIONS_MAX; i++) {
		const struct app_exclusion *x = &st->exclusions[i];
		if (!x->used) {
			continue;
		}
		synod_wbuf_u32(w, i);
		synod_wbuf_u8(w, x->seat);
		synod_wbuf_u8(w, x->kind);
		synod_wbuf_u64(w, x->from_epoch);
		synod_wbuf_u64(w, x->until_epoch);
		synod_wbuf_u64(w, x->detected_epoch);
		synod_wbuf_u64(w, x->order);
		synod_wbuf_bytes(w, x->request_id, SYNOD_HASH_BYTES);
		for (int k = 0; k < 2; k++) {
			snap_pos(w, x->pos[k]);
			synod_wbuf_bytes(w, x->digest[k], SYNOD_HASH_BYTES);
		}
		synod_wbuf_u64(w, x->missed);
	}
}

static void snap_request(const struct synod_app *a, const struct app_request *r,
                         struct synod_wbuf *w)
{
	synod_wbuf_u8(w, r->outcome);
	synod_wbuf_bytes(w, r->id, SYNOD_HASH_BYTES);
	synod_wbuf_u64(w, r->order);
	snap_pos(w, r->submitted_at);
	snap_pos(w, r->decided_at);
	synod_wbuf_u64(w, r->decision_index);
	synod_wbuf_u64(w, r->deadline_ms);
	synod_wbuf_u64(w, r->epoch);
	synod_wbuf_u64(w, r->eligible);
	synod_wbuf_bytes(w, r->voter_set_hash, SYNOD_HASH_BYTES);
	synod_wbuf_u32(w, r->approvals);
	synod_wbuf_u32(w, r->rejections);
	synod_wbuf_u64(w, r->approved_by);
	synod_wbuf_u64(w, r->rejected_by);
	synod_wbuf_u64(w, r->equivocators);
	synod_wbuf_u16(w, r->ignored_count);
	for (uint32_t i = 0; i < r->ignored_count; i++) {
		snap_pos(w, r->ignored[i].pos);
		synod_wbuf_u8(w, r->ignored[i].reason);
		synod_wbuf_u8(w, r->ignored[i].seat);
	}
	const struct app_slot *slots = app_slots_of(a, a->st, r);
	uint32_t n = 0;
	for (uint32_t s = 0; s < a->seats; s++) {
		n += slots[s].status != SLOT_NONE ? 1u : 0u;
	}
	synod_wbuf_u8(w, (uint8_t)n);
	for (uint32_t s = 0; s < a->seats; s++) {
		const struct app_slot *sl = &slots[s];
		if (sl->status == SLOT_NONE) {
			continue;
		}
		synod_wbuf_u8(w, (uint8_t)s);
		synod_wbuf_u8(w, sl->status);
		synod_wbuf_u8(w, sl->verdict);
		synod_wbuf_u8(w, sl->late2);
		snap_pos(w, sl->pos);
		synod_wbuf_bytes(w, sl->digest, SYNOD_HASH_BYTES);
		if (sl->status == SLOT_EQUIVOCATED) {
			snap_pos(w, sl->pos2);
			synod_wbuf_bytes(w, sl->digest2, SYNOD_HASH_BYTES);
		}
	}
}

int synod_app_snapshot(const struct synod_app *a, uint8_t *buf, size_t cap, size_t *len)
{
	const struct app_state *st = a->st;
	struct synod_wbuf w;
	*len = 0;
	synod_wbuf_init(&w, buf, cap);
	snap_header(a, &w);
	snap_recent(st, &w);
	snap_exclusions(st, &w);
	synod_wbuf_u32(&w, st->requests_used);
	synod_wbuf_u32(&w, st->requests_open);
	for (uint32_t i = 0; i < a->requests_max; i++) {
		if (st->requests[i].used) {
			synod_wbuf_u32(&w, i);
			snap_request(a, &st->requests[i], &w);
		}
	}
	if (w.err != 0) {
		return w.err;
	}
	*len = w.len;
	return 0;
}

size_t synod_app_snapshot_bytes_max(const struct synod_policy *p)
{
	return SYNOD_APP_SNAPSHOT_FIXED_BYTES +
	       (size_t)p->requests_retained_max * SYNOD_APP_SNAPSHOT_REQUEST_BYTES +
	       (size_t)SYNOD_APP_EXCLUSIONS_MAX * SYNOD_APP_SNAPSHOT_EXCLUSION_BYTES;
}

/* ---- restore ---- */

struct snap_reader {
	struct synod_rbuf r;
	const struct synod_app *a;
	bool bad;                     /* a value out of range */
	bool other;                   /* taken under another cluster or policy */
	struct synod_merkle_log dlog; /* the log of decisions, from its frontier */
};

static uint8_t rd_u8(struct snap_reader *s)
{
	uint8_t v = 0;
	(void)synod_rbuf_u8(&s->r, &v);
	return v;
}

static uint16_t rd_u16(struct snap_reader *s)
{
	uint16_t v = 0;
	(void)synod_rbuf_u16(&s->r, &v);
	return v;
}

static uint32_t rd_u32(struct snap_reader *s)
{
	uint32_t v = 0;
	(void)synod_rbuf_u32(&s->r, &v);
	return v;
}

static uint64_t rd_u64(struct snap_reader *s)
{
	uint64_t v = 0;
	(void)synod_rbuf_u64(&s->r, &v);
	return v;
}

static void rd_bytes(struct snap_reader *s, void *out, size_t n)
{
	if (synod_rbuf_copy(&s->r, out, n) != 0) {
		memset(out, 0, n);
	}
}

static struct synod_app_pos rd_pos(struct snap_reader *s)
{
	struct synod_app_pos p;
	p.seq = rd_u64(s);
	p.index = rd_u32(s);
	return p;
}

static void rd_check(struct snap_reader *s, bool ok)
{
	if (!ok) {
		s->bad = true;
	}
}

static void rd_epoch(struct snap_reader *s, struct synod_epoch *e)
{
	e->number = rd_u64(s);
	e->start_log_time_ms = rd_u64(s);
	e->decisions = rd_u64(s);
	e->eligible = rd_u64(s);
	rd_bytes(s, e->voter_set_hash, SYNOD_HASH_BYTES);
	rd_check(s, (e->eligible & ~app_all_seats(s->a->seats)) == 0);
}

/* The frontier must give the root it came with. */
static void rd_decisions(struct snap_reader *s)
{
	uint8_t root[SYNOD_HASH_BYTES], got[SYNOD_HASH_BYTES];
	uint8_t frontier[64][SYNOD_HASH_BYTES];
	uint64_t n = rd_u64(s);
	uint32_t k = app_popcount(n);
	rd_bytes(s, root, SYNOD_HASH_BYTES);
	for (uint32_t i = 0; i < k; i++) {
		rd_bytes(s, frontier[i], SYNOD_HASH_BYTES);
	}
	rd_check(s, synod_merkle_log_reset(&s->dlog, n, SYNOD_MERKLE_HASHES(frontier), k) == 0 &&
	                synod_merkle_log_root(&s->dlog, n, got) == 0 &&
	                memcmp(got, root, SYNOD_HASH_BYTES) == 0);
}

static void rd_header(struct snap_reader *s, struct app_state *st, uint64_t seq)
{
	uint8_t digest[SYNOD_HASH_BYTES];
	rd_check(s, rd_u32(s) == SNAP_MAGIC);
	rd_check(s, rd_u32(s) == SNAP_VERSION);
	rd_decisions(s);
	rd_bytes(s, digest, sizeof digest);
	if (memcmp(digest, s->a->config_digest, SYNOD_HASH_BYTES) != 0) {
		s->other = true;
		s->bad = true;
	}
	st->last_seq = rd_u64(s);
	rd_check(s, st->last_seq == seq);
	st->last_pos = rd_pos(s);
	rd_check(s, st->last_pos.seq <= seq);
	st->log_time_ms = rd_u64(s);
	st->next_order = rd_u64(s);
	rd_epoch(s, &st->epoch);
	st->history_count = rd_u32(s);
	rd_check(s, st->history_count <= SYNOD_APP_EPOCHS_KEPT);
	for (uint32_t i = 0; i < st->history_count && !s->bad; i++) {
		rd_epoch(s, &st->history[i]);
	}
	uint64_t decisions = 0;
	for (uint32_t i = 0; i < SYNOD_OUTCOME_COUNT; i++) {
		st->decisions[i] = rd_u64(s);
		decisions += st->decisions[i];
	}
	rd_check(s, decisions == s->dlog.count); /* one leaf per decision */
	for (uint32_t i = 0; i < SYNOD_VOTE_REASON_COUNT; i++) {
		st->votes[i] = rd_u64(s);
	}
	for (uint32_t i = 0; i < SYNOD_SUBMIT_RESULT_COUNT; i++) {
		st->submits[i] = rd_u64(s);
	}
	st->ticks = rd_u64(s);
	st->ticks_backwards = rd_u64(s);
	st->entries_malformed = rd_u64(s);
	st->ignored_not_kept = rd_u64(s);
	for (uint32_t k = 0; k < s->a->seats; k++) {
		st->missed[k] = rd_u32(s);
		rd_bytes(s, st->missed_request[k], SYNOD_HASH_BYTES);
	}
}

static void rd_recent(struct snap_reader *s, struct app_state *st)
{
	st->recent_count = rd_u32(s);
	rd_check(s, st->recent_count <= SYNOD_APP_RECENT_IGNORED_MAX);
	for (uint32_t k = 0; k < st->recent_count && !s->bad; k++) {
		struct app_recent *r = &st->recent[k];
		r->pos = rd_pos(s);
		r->kind = rd_u8(s);
		r->reason = rd_u8(s);
		r->seat = rd_u8(s);
		rd_bytes(s, r->request_id, SYNOD_HASH_BYTES);
		rd_check(s, r->seat < SYNOD_APP_SEATS_MAX || r->seat == APP_NO_SEAT);
	}
	st->recent_head = st->recent_count % SYNOD_APP_RECENT_IGNORED_MAX;
}

static void rd_exclusions(struct snap_reader *s, struct app_state *st)
{
	uint32_t n = rd_u32(s);
	int64_t prev = -1;
	rd_check(s, n <= SYNOD_APP_EXCLUSIONS_MAX);
	for (uint32_t k = 0; k < n && !s->bad; k++) {
		uint32_t i = rd_u32(s);
		rd_check(s, i < SYNOD_APP_EXCLUSIONS_MAX && (int64_t)i > prev);
		if (s->bad) {
			return;
		}
		prev = i;
		struct app_exclusion *x = &st->exclusions[i];
		x->used = true;
		x->seat = rd_u8(s);
		x->kind = rd_u8(s);
		x->from_epoch = rd_u64(s);
		x->until_epoch = rd_u64(s);
		x->detected_epoch = rd_u64(s);
		x->order = rd_u64(s);
		rd_bytes(s, x->request_id, SYNOD_HASH_BYTES);
		for (int j = 0; j < 2; j++) {
			x->pos[j] = rd_pos(s);
			rd_bytes(s, x->digest[j], SYNOD_HASH_BYTES);
		}
		x->missed = rd_u64(s);
		rd_check(s, x->seat < s->a->seats && x->from_epoch <= x->until_epoch &&
		                (x->kind == SYNOD_EXCLUSION_EQUIVOCATION ||
		                 x->kind == SYNOD_EXCLUSION_NON_PARTICIPATION));
	}
}

static void rd_slots(struct snap_reader *s, struct app_slot *slots)
{
	uint32_t n = rd_u8(s);
	int32_t prev = -1;
	rd_check(s, n <= s->a->seats);
	for (uint32_t k = 0; k < n && !s->bad; k++) {
		uint32_t seat = rd_u8(s);
		rd_check(s, seat < s->a->seats && (int32_t)seat > prev);
		if (s->bad) {
			return;
		}
		prev = (int32_t)seat;
		struct app_slot *sl = &slots[seat];
		sl->status = rd_u8(s);
		sl->verdict = rd_u8(s);
		sl->late2 = rd_u8(s);
		sl->pos = rd_pos(s);
		rd_bytes(s, sl->digest, SYNOD_HASH_BYTES);
		rd_check(s, sl->status >= SLOT_COUNTED && sl->status <= SLOT_EQUIVOCATED &&
		                (sl->verdict == SYNOD_VERDICT_APPROVE ||
		                 sl->verdict == SYNOD_VERDICT_REJECT) &&
		                sl->late2 <= 1);
		if (sl->status == SLOT_EQUIVOCATED) {
			sl->pos2 = rd_pos(s);
			rd_bytes(s, sl->digest2, SYNOD_HASH_BYTES);
		}
	}
}

/* The invariants the apply path relies on (and asserts) between a request's
 * tally and its seat slots. */
static bool rd_request_consistent(const struct synod_app *a, const struct app_request *r,
                                  const struct app_slot *slots)
{
	const uint32_t threshold = a->cfg.cluster.policy.threshold;
	const bool open = r->outcome == SYNOD_OUTCOME_OPEN;
	for (uint32_t seat = 0; seat < a->seats; seat++) {
		const struct app_slot *sl = &slots[seat];
		uint64_t bit = UINT64_C(1) << seat;
		bool approved = (r->approved_by & bit) != 0;
		bool rejected = (r->rejected_by & bit) != 0;
		bool equivocated = (r->equivocators & bit) != 0;
		bool late2 = sl->status == SLOT_EQUIVOCATED && sl->late2 == 1;
		bool ok = true;
		if (approved || rejected) {
			ok = (sl->status == SLOT_COUNTED || late2) &&
			     sl->verdict ==
			         (approved ? SYNOD_VERDICT_APPROVE : SYNOD_VERDICT_REJECT);
		}
		ok = ok && (!equivocated || (sl->status == SLOT_EQUIVOCATED && sl->late2 == 0));
		ok = ok && (sl->status != SLOT_COUNTED || approved || rejected);
		ok = ok && (sl->status != SLOT_EQUIVOCATED || late2 || equivocated);
		ok = ok && ((sl->status != SLOT_LATE && !late2) || !open);
		ok = ok && (sl->status == SLOT_NONE || (r->eligible & bit) != 0);
		if (!ok) {
			return false;
		}
	}
	if (open) {
		uint64_t silent =
		    r->eligible & ~(r->approved_by | r->rejected_by | r->equivocators);
		return r->approvals < threshold && r->approvals + app_popcount(silent) >= threshold;
	}
	return true;
}

static void rd_request(struct snap_reader *s, struct app_request *r, struct app_slot *slots)
{
	const uint64_t all = app_all_seats(s->a->seats);
	r->used = true;
	r->outcome = rd_u8(s);
	rd_bytes(s, r->id, SYNOD_HASH_BYTES);
	r->order = rd_u64(s);
	r->submitted_at = rd_pos(s);
	r->decided_at = rd_pos(s);
	r->decision_index = rd_u64(s);
	r->deadline_ms = rd_u64(s);
	r->epoch = rd_u64(s);
	r->eligible = rd_u64(s);
	rd_bytes(s, r->voter_set_hash, SYNOD_HASH_BYTES);
	r->approvals = rd_u32(s);
	r->rejections = rd_u32(s);
	r->approved_by = rd_u64(s);
	r->rejected_by = rd_u64(s);
	r->equivocators = rd_u64(s);
	r->ignored_count = rd_u16(s);
	rd_check(s, (r->outcome == SYNOD_OUTCOME_OPEN ? r->decision_index == 0
	                                              : r->decision_index < s->dlog.count));
	rd_check(s, r->outcome < SYNOD_OUTCOME_COUNT && (r->eligible & ~all) == 0 &&
	                ((r->approved_by | r->rejected_by | r->equivocators) & ~r->eligible) == 0 &&
	                (r->approved_by & r->rejected_by) == 0 &&
	                ((r->approved_by | r->rejected_by) & r->equivocators) == 0 &&
	                r->approvals == app_popcount(r->approved_by) &&
	                r->rejections == app_popcount(r->rejected_by) &&
	                r->ignored_count <= SYNOD_APP_IGNORED_PER_REQUEST_MAX);
	for (uint32_t i = 0; i < r->ignored_count && !s->bad; i++) {
		r->ignored[i].pos = rd_pos(s);
		r->ignored[i].reason = rd_u8(s);
		r->ignored[i].seat = rd_u8(s);
		rd_check(s, r->ignored[i].reason < SYNOD_VOTE_REASON_COUNT &&
		                r->ignored[i].seat < s->a->seats);
	}
	if (!s->bad) {
		rd_slots(s, slots);
	}
	if (!s->bad) {
		rd_check(s, rd_request_consistent(s->a, r, slots));
	}
}

static void rd_requests(struct snap_reader *s, struct app_state *st)
{
	const struct synod_app *a = s->a;
	st->requests_used = rd_u32(s);
	st->requests_open = rd_u32(s);
	rd_check(s, st->requests_used <= a->requests_max && st->requests_open <= st->requests_used);
	int64_t prev = -1;
	uint32_t open = 0;
	for (uint32_t k = 0; k < st->requests_used && !s->bad; k++) {
		uint32_t i = rd_u32(s);
		rd_check(s, i < a->requests_max && (int64_t)i > prev);
		if (s->bad) {
			return;
		}
		prev = i;
		rd_request(s, &st->requests[i], st->slots + (size_t)i * a->seats);
		open += st->requests[i].outcome == SYNOD_OUTCOME_OPEN ? 1u : 0u;
	}
	rd_check(s, open == st->requests_open);
}

/* The records are what epoch.c makes: each spans the policy's exclusion
 * epochs from the epoch after its detection, none starts after the next
 * epoch, one seat's records never overlap, and at most two per seat reach
 * past the current epoch (epoch.c relies on that to always find a free
 * record). */
static bool rd_exclusions_valid(const struct synod_app *a, const struct app_state *st)
{
	uint32_t live[SYNOD_APP_SEATS_MAX] = {0};
	uint64_t span = a->cfg.cluster.policy.exclusion_epochs;
	for (uint32_t i = 0; i < SYNOD_APP_EXCLUSIONS_MAX; i++) {
		const struct app_exclusion *x = &st->exclusions[i];
		if (!x->used) {
			continue;
		}
		if (x->detected_epoch >= st->epoch.number + 1 ||
		    x->from_epoch != x->detected_epoch + 1 ||
		    x->until_epoch != app_epoch_add(x->from_epoch, span)) {
			return false;
		}
		if (x->until_epoch > st->epoch.number && ++live[x->seat] > 2) {
			return false;
		}
		for (uint32_t j = 0; j < i; j++) {
			const struct app_exclusion *y = &st->exclusions[j];
			if (y->used && y->seat == x->seat && x->from_epoch < y->until_epoch &&
			    y->from_epoch < x->until_epoch) {
				return false;
			}
		}
	}
	return true;
}

static void snap_state_clear(const struct synod_app *a, struct app_state *st)
{
	struct app_request *requests = st->requests;
	struct app_slot *slots = st->slots;
	struct app_exclusion *exclusions = st->exclusions;
	memset(requests, 0, (size_t)a->requests_max * sizeof *requests);
	memset(slots, 0, (size_t)a->requests_max * a->seats * sizeof *slots);
	memset(exclusions, 0, SYNOD_APP_EXCLUSIONS_MAX * sizeof *exclusions);
	memset(st, 0, sizeof *st);
	st->requests = requests;
	st->slots = slots;
	st->exclusions = exclusions;
}

/* No request id twice (the index would break): checked with the index as
 * scratch, which the caller rebuilds either way. */
static bool snap_ids_unique(struct synod_app *a)
{
	app_index_rebuild(a);
	for (uint32_t i = 0; i < a->requests_max; i++) {
		const struct app_request *r = &a->st->requests[i];
		if (r->used && app_request_find(a, a->st, r->id) != r) {
			return false;
		}
	}
	return true;
}

int synod_app_restore(struct synod_app *a, uint64_t seq, const uint8_t *snap, size_t len)
{
	struct app_state *st = a->spare;
	struct snap_reader s = {.a = a};
	synod_merkle_log_init(&s.dlog);
	snap_state_clear(a, st);
	synod_rbuf_init(&s.r, snap, len);
	rd_header(&s, st, seq);
	if (!s.bad) {
		rd_recent(&s, st);
	}
	if (!s.bad) {
		rd_exclusions(&s, st);
	}
	if (!s.bad) {
		rd_check(&s, rd_exclusions_valid(a, st) && st->epoch.number < (UINT64_C(1) << 62));
	}
	if (!s.bad) {
		rd_requests(&s, st);
	}
	int rc = synod_rbuf_finish(&s.r);
	if (s.bad) {
		rc = s.other ? SYNOD_ECONFIG : SYNOD_EINVAL;
	}
	if (rc != 0) {
		synod_merkle_log_free(&s.dlog);
		return rc;
	}
	a->spare = a->st;
	a->st = st;
	if (!snap_ids_unique(a)) {
		a->st = a->spare;
		a->spare = st;
		app_index_rebuild(a);
		synod_merkle_log_free(&s.dlog);
		return SYNOD_EINVAL;
	}
	synod_merkle_log_free(&a->dlog);
	a->dlog = s.dlog; /* moved: s.dlog is not used again */
	return 0;
}

/* Applying entries: SUBMIT opens a request, VOTE is checked and tallied, TICK
 * advances log time and expires requests. The rules, in the order a vote is
 * checked, are in README.md ("Votes"). Nothing here allocates except the JSON
 * parser's temporary tree, freed before each entry returns. */
#include "common/assert.h"
#include "common/hash.h"
#include "common/log.h"
#include "coordinator/app/internal.h"

#include <string.h>

SYNOD_COUNTER(app_votes_ignored_total, "synod_app_votes_ignored_total",
              "votes applied but not counted (any reason)");
SYNOD_COUNTER(app_submits_refused_total, "synod_app_submits_refused_total",
              "SUBMIT entries refused (malformed, expired, too far, full)");
SYNOD_COUNTER(app_entries_malformed_total, "synod_app_entries_malformed_total",
              "entries of an unknown kind or malformed TICKs");
SYNOD_COUNTER(app_equivocations_total, "synod_app_equivocations_total",
              "seats caught signing two different votes on one request");

static void app_recent_push(struct app_state *st, struct synod_app_pos pos, uint8_t kind,
                            uint8_t reason, uint32_t seat, const uint8_t *request_id)
{
	struct app_recent *r = &st->recent[st->recent_head];
	memset(r, 0, sizeof *r);
	r->pos = pos;
	r->kind = kind;
	r->reason = reason;
	r->seat = seat < SYNOD_APP_SEATS_MAX ? (uint8_t)seat : APP_NO_SEAT;
	if (request_id != NULL) {
		memcpy(r->request_id, request_id, SYNOD_HASH_BYTES);
	}
	st->recent_head = (st->recent_head + 1) % SYNOD_APP_RECENT_IGNORED_MAX;
	if (st->recent_count < SYNOD_APP_RECENT_IGNORED_MAX) {
		st->recent_count++;
	}
}

/* ---- decisions ---- */

static uint32_t app_reachable(const struct app_request *r)
{
	uint64_t silent = r->eligible & ~(r->approved_by | r->rejected_by | r->equivocators);
	return r->approvals + app_popcount(silent);
}

static void app_decide(struct synod_app *a, struct app_request *r, enum synod_outcome o,
                       struct synod_app_pos pos)
{
	struct app_state *st = a->st;
	SYNOD_ASSERT(r->outcome == SYNOD_OUTCOME_OPEN && o != SYNOD_OUTCOME_OPEN);
	SYNOD_ASSERT(o != SYNOD_OUTCOME_APPROVED ||
	             r->approvals >= a->cfg.cluster.policy.threshold);
	r->outcome = (uint8_t)o;
	r->decided_at = pos;
	app_decision_append(a, r);
	SYNOD_ASSERT(st->requests_open > 0);
	st->requests_open--;
	st->decisions[o]++;
	struct synod_app_event ev = {.type = SYNOD_APP_EV_DECIDED,
	                             .pos = pos,
	                             .request_id = r->id,
	                             .seat = UINT32_MAX,
	                             .outcome = o,
	                             .epoch = r->epoch,
	                             .log_time_ms = st->log_time_ms,
	                             .approvals = r->approvals,
	                             .rejections = r->rejections};
	app_event(a, &ev);
	app_participation_record(a, r);
	app_epoch_after_decision(a, pos);
}

/* After a vote changed the tally of an open request. */
static void app_decide_if_done(struct synod_app *a, struct app_request *r, struct synod_app_pos pos)
{
	uint32_t threshold = a->cfg.cluster.policy.threshold;
	if (r->approvals >= threshold) {
		SYNOD_ASSERT(r->approvals == threshold); /* decided the moment it got there */
		app_decide(a, r, SYNOD_OUTCOME_APPROVED, pos);
	} else if (app_reachable(r) < threshold) {
		app_decide(a, r, SYNOD_OUTCOME_REJECTED, pos);
	}
}

/* ---- SUBMIT ---- */

static void app_submit_done(struct synod_app *a, struct synod_app_pos pos,
                            enum synod_submit_result res, const uint8_t *id, const char *why)
{
	struct app_state *st = a->st;
	st->submits[res]++;
	if (res != SYNOD_SUBMIT_ACCEPTED && res != SYNOD_SUBMIT_DUPLICATE) {
		synod_counter_inc(&app_submits_refused_total);
		app_recent_push(st, pos, SYNOD_ENTRY_SUBMIT, (uint8_t)res, UINT32_MAX, id);
		synod_log(SYNOD_LOG_INFO, "app", "seq %llu index %u: SUBMIT refused (%s): %s",
		          (unsigned long long)pos.seq, pos.index, synod_submit_result_name(res),
		          why);
	}
	struct synod_app_event ev = {.type = SYNOD_APP_EV_SUBMIT,
	                             .pos = pos,
	                             .request_id = id,
	                             .seat = UINT32_MAX,
	                             .submit = res,
	                             .epoch = st->epoch.number,
	                             .log_time_ms = st->log_time_ms};
	app_event(a, &ev);
}

/* A free request slot: the lowest unused one, else the oldest decided request
 * whose deadline has passed is evicted (it can no longer be resubmitted: its
 * deadline is behind log time). UINT32_MAX when none. */
static uint32_t app_request_slot(struct synod_app *a)
{
	struct app_state *st = a->st;
	uint32_t victim = UINT32_MAX;
	for (uint32_t i = 0; i < a->requests_max; i++) {
		const struct app_request *r = &st->requests[i];
		if (!r->used) {
			return i;
		}
		if (r->outcome != SYNOD_OUTCOME_OPEN && r->deadline_ms <= st->log_time_ms &&
		    (victim == UINT32_MAX || r->order < st->requests[victim].order)) {
			victim = i;
		}
	}
	if (victim != UINT32_MAX) {
		struct app_request *r = &st->requests[victim];
		app_index_remove(a, r->id);
		memset(app_slots_of(a, st, r), 0, (size_t)a->seats * sizeof(struct app_slot));
		memset(r, 0, sizeof *r);
		st->requests_used--;
	}
	return victim;
}

static enum synod_submit_result app_submit_check(const struct synod_app *a, uint64_t deadline_ms)
{
	const struct app_state *st = a->st;
	if (deadline_ms <= st->log_time_ms) {
		return SYNOD_SUBMIT_EXPIRED;
	}
	if (deadline_ms - st->log_time_ms > a->cfg.cluster.policy.deadline_ms_max) {
		return SYNOD_SUBMIT_TOO_FAR;
	}
	return SYNOD_SUBMIT_ACCEPTED;
}

static void app_submit(struct synod_app *a, struct synod_app_pos pos, const uint8_t *payload,
                       size_t len)
{
	struct app_state *st = a->st;
	struct synod_request req;
	uint8_t id[SYNOD_HASH_BYTES];
	char err[256];
	if (synod_request_decode(&req, id, (const char *)payload, len, err, sizeof err) != 0) {
		app_submit_done(a, pos, SYNOD_SUBMIT_MALFORMED, NULL, err);
		return;
	}
	if (app_request_find(a, st, id) != NULL) {
		app_submit_done(a, pos, SYNOD_SUBMIT_DUPLICATE, id, "");
		return;
	}
	enum synod_submit_result res = app_submit_check(a, req.deadline_ms);
	if (res != SYNOD_SUBMIT_ACCEPTED) {
		app_submit_done(a, pos, res, id, "deadline_ms out of bounds");
		return;
	}
	uint32_t slot = app_request_slot(a);
	if (slot == UINT32_MAX) {
		app_submit_done(a, pos, SYNOD_SUBMIT_FULL, id, "requests.retained_max reached");
		return;
	}
	struct app_request *r = &st->requests[slot];
	memset(r, 0, sizeof *r);
	r->used = true;
	r->outcome = SYNOD_OUTCOME_OPEN;
	memcpy(r->id, id, SYNOD_HASH_BYTES);
	r->order = st->next_order++;
	r->submitted_at = pos;
	r->deadline_ms = req.deadline_ms;
	r->epoch = st->epoch.number;
	r->eligible = st->epoch.eligible;
	memcpy(r->voter_set_hash, st->epoch.voter_set_hash, SYNOD_HASH_BYTES);
	st->requests_used++;
	st->requests_open++;
	app_request_index_add(a, slot);
	app_submit_done(a, pos, SYNOD_SUBMIT_ACCEPTED, id, "");
	/* too few eligible seats to ever approve: decided on arrival */
	if (app_reachable(r) < a->cfg.cluster.policy.threshold) {
		app_decide(a, r, SYNOD_OUTCOME_REJECTED, pos);
	}
}

/* ---- VOTE ---- */

struct app_vote_ctx {
	struct synod_app_pos pos;
	struct synod_vote_envelope env;
	struct app_request *r;
	uint8_t digest[SYNOD_HASH_BYTES];
};

static void app_vote_done(struct synod_app *a, const struct app_vote_ctx *vc,
                          enum synod_vote_reason reason)
{
	struct app_state *st = a->st;
	st->votes[reason]++;
	bool decoded = reason != SYNOD_VOTE_MALFORMED;
	uint32_t seat = decoded ? vc->env.vote.seat : UINT32_MAX;
	const uint8_t *id = decoded ? vc->env.vote.request_id : NULL;
	if (reason != SYNOD_VOTE_COUNTED) {
		synod_counter_inc(&app_votes_ignored_total);
		app_recent_push(st, vc->pos, SYNOD_ENTRY_VOTE, (uint8_t)reason, seat, id);
	}
	struct synod_app_event ev = {.type = SYNOD_APP_EV_VOTE,
	                             .pos = vc->pos,
	                             .request_id = id,
	                             .seat = seat,
	                             .reason = reason,
	                             .epoch = decoded ? vc->env.vote.epoch : 0,
	                             .log_time_ms = st->log_time_ms};
	if (vc->r != NULL) {
		ev.approvals = vc->r->approvals;
		ev.rejections = vc->r->rejections;
		ev.outcome = (enum synod_outcome)vc->r->outcome;
	}
	app_event(a, &ev);
}

/* An authentic vote on a known request that does not count: kept on the
 * request (bounded), for its evidence bundle. */
static void app_vote_keep(struct synod_app *a, const struct app_vote_ctx *vc,
                          enum synod_vote_reason reason)
{
	struct app_request *r = vc->r;
	if (r->ignored_count >= SYNOD_APP_IGNORED_PER_REQUEST_MAX) {
		a->st->ignored_not_kept++;
	} else {
		struct app_ignored *ig = &r->ignored[r->ignored_count++];
		ig->pos = vc->pos;
		ig->reason = (uint8_t)reason;
		ig->seat = (uint8_t)vc->env.vote.seat;
	}
	app_vote_done(a, vc, reason);
}

static void app_vote_count(struct synod_app *a, struct app_vote_ctx *vc, struct app_slot *slot)
{
	struct app_request *r = vc->r;
	uint32_t seat = vc->env.vote.seat;
	uint64_t bit = UINT64_C(1) << seat;
	slot->verdict = (uint8_t)vc->env.vote.verdict;
	slot->pos = vc->pos;
	memcpy(slot->digest, vc->digest, SYNOD_HASH_BYTES);
	app_participation_vote(a, seat);
	if (r->outcome != SYNOD_OUTCOME_OPEN) {
		slot->status = SLOT_LATE;
		app_vote_keep(a, vc, SYNOD_VOTE_CLOSED_REQUEST);
		return;
	}
	slot->status = SLOT_COUNTED;
	if (vc->env.vote.verdict == SYNOD_VERDICT_APPROVE) {
		r->approvals++;
		r->approved_by |= bit;
	} else {
		r->rejections++;
		r->rejected_by |= bit;
	}
	app_vote_done(a, vc, SYNOD_VOTE_COUNTED);
	app_decide_if_done(a, r, vc->pos);
}

/* A second, different valid vote from a seat: both are evidence, the first
 * stops counting while the request is open, and the seat is excluded from
 * the next epoch on. */
static void app_vote_equivocation(struct synod_app *a, struct app_vote_ctx *vc,
                                  struct app_slot *slot)
{
	struct app_request *r = vc->r;
	uint32_t seat = vc->env.vote.seat;
	uint64_t bit = UINT64_C(1) << seat;
	bool open = r->outcome == SYNOD_OUTCOME_OPEN;
	synod_counter_inc(&app_equivocations_total);
	synod_log(SYNOD_LOG_WARN, "app", "seq %llu index %u: seat %u equivocated",
	          (unsigned long long)vc->pos.seq, vc->pos.index, seat);
	bool was_counted = slot->status == SLOT_COUNTED;
	slot->status = SLOT_EQUIVOCATED;
	slot->pos2 = vc->pos;
	memcpy(slot->digest2, vc->digest, SYNOD_HASH_BYTES);
	slot->late2 = open ? 0 : 1;
	app_exclusion_equivocation(a, seat, r, slot, vc->pos);
	if (open) {
		if (was_counted && (r->approved_by & bit) != 0) {
			r->approvals--;
			r->approved_by &= ~bit;
		} else if (was_counted) {
			r->rejections--;
			r->rejected_by &= ~bit;
		}
		r->equivocators |= bit;
	}
	app_vote_done(a, vc, SYNOD_VOTE_EQUIVOCATION);
	if (open) {
		app_decide_if_done(a, r, vc->pos);
	}
}

/* The seat-slot rules: first vote, duplicate, equivocation. */
static void app_vote_slot(struct synod_app *a, struct app_vote_ctx *vc)
{
	struct app_slot *slot = &app_slots_of(a, a->st, vc->r)[vc->env.vote.seat];
	switch (slot->status) {
	case SLOT_NONE:
		app_vote_count(a, vc, slot);
		return;
	case SLOT_COUNTED:
	case SLOT_LATE:
		if (memcmp(slot->digest, vc->digest, SYNOD_HASH_BYTES) == 0) {
			app_vote_keep(a, vc, SYNOD_VOTE_DUPLICATE);
		} else {
			app_vote_equivocation(a, vc, slot);
		}
		return;
	default:
		SYNOD_ASSERT(slot->status == SLOT_EQUIVOCATED);
		if (memcmp(slot->digest, vc->digest, SYNOD_HASH_BYTES) == 0 ||
		    memcmp(slot->digest2, vc->digest, SYNOD_HASH_BYTES) == 0) {
			app_vote_keep(a, vc, SYNOD_VOTE_DUPLICATE);
		} else {
			app_vote_keep(a, vc, SYNOD_VOTE_EQUIVOCATION); /* a third one */
		}
		return;
	}
}

static void app_vote(struct synod_app *a, struct synod_app_pos pos, const uint8_t *payload,
                     size_t len)
{
	const struct synod_cluster *c = &a->cfg.cluster;
	struct app_vote_ctx vc;
	char err[256];
	memset(&vc, 0, sizeof vc);
	vc.pos = pos;
	if (synod_vote_decode(&vc.env, (const char *)payload, len, err, sizeof err) != 0) {
		synod_log(SYNOD_LOG_INFO, "app", "seq %llu index %u: malformed vote: %s",
		          (unsigned long long)pos.seq, pos.index, err);
		app_vote_done(a, &vc, SYNOD_VOTE_MALFORMED);
		return;
	}
	const struct synod_vote *v = &vc.env.vote;
	if (memcmp(v->cluster_id, c->cluster_id, SYNOD_CLUSTER_ID_BYTES) != 0) {
		app_vote_done(a, &vc, SYNOD_VOTE_WRONG_CLUSTER);
		return;
	}
	if (v->seat >= a->seats) {
		app_vote_done(a, &vc, SYNOD_VOTE_UNKNOWN_SEAT);
		return;
	}
	if (app_vote_sig_check(&a->cfg.crypto, c->cluster_id, &vc.env, (const char *)payload,
	                       c->seat_keys[v->seat]) != 0) {
		app_vote_done(a, &vc, SYNOD_VOTE_BAD_SIGNATURE);
		return;
	}
	vc.r = app_request_find(a, a->st, v->request_id);
	if (vc.r == NULL) {
		app_vote_done(a, &vc, SYNOD_VOTE_UNKNOWN_REQUEST);
		return;
	}
	if (v->epoch != vc.r->epoch) {
		app_vote_keep(a, &vc, SYNOD_VOTE_WRONG_EPOCH);
		return;
	}
	if ((vc.r->eligible >> v->seat & 1u) == 0) {
		app_vote_keep(a, &vc, SYNOD_VOTE_EXCLUDED_SEAT);
		return;
	}
	synod_sha256(vc.digest, payload + vc.env.signed_offset, vc.env.signed_len);
	app_vote_slot(a, &vc);
}

/* ---- TICK ---- */

static void app_malformed(struct synod_app *a, struct synod_app_pos pos, uint8_t kind)
{
	a->st->entries_malformed++;
	synod_counter_inc(&app_entries_malformed_total);
	app_recent_push(a->st, pos, kind, 0, UINT32_MAX, NULL);
	synod_log(SYNOD_LOG_INFO, "app", "seq %llu index %u: malformed entry (kind %u)",
	          (unsigned long long)pos.seq, pos.index, kind);
	struct synod_app_event ev = {
	    .type = SYNOD_APP_EV_MALFORMED, .pos = pos, .seat = UINT32_MAX};
	app_event(a, &ev);
}

static void app_tick(struct synod_app *a, struct synod_app_pos pos, const uint8_t *entry,
                     size_t len)
{
	struct app_state *st = a->st;
	if (len != SYNOD_APP_TICK_BYTES) {
		app_malformed(a, pos, SYNOD_ENTRY_TICK);
		return;
	}
	uint64_t t = app_tick_decode(entry);
	struct synod_app_event ev = {.type = SYNOD_APP_EV_TICK, .pos = pos, .seat = UINT32_MAX};
	if (t < st->log_time_ms) {
		/* validate refuses these; one re-proposed by a NEW-VIEW is ignored */
		st->ticks_backwards++;
		ev.log_time_ms = st->log_time_ms;
		ev.ignored = true;
		app_event(a, &ev);
		return;
	}
	if (st->ticks == 0) {
		st->epoch.start_log_time_ms = t; /* the first epoch starts with log time */
	}
	st->log_time_ms = t;
	st->ticks++;
	ev.log_time_ms = t;
	app_event(a, &ev);
	for (uint32_t i = 0; i < a->requests_max && st->requests_open > 0; i++) {
		struct app_request *r = &st->requests[i];
		if (r->used && r->outcome == SYNOD_OUTCOME_OPEN && t >= r->deadline_ms) {
			app_decide(a, r, SYNOD_OUTCOME_EXPIRED, pos);
		}
	}
	app_epoch_after_tick(a, pos);
}

void synod_app_apply(struct synod_app *a, struct synod_app_pos pos, const uint8_t *entry,
                     size_t len)
{
	struct app_state *st = a->st;
	SYNOD_ASSERT(synod_app_pos_cmp(pos, st->last_pos) > 0);
	st->last_pos = pos;
	if (len == 0) {
		app_malformed(a, pos, 0);
		return;
	}
	switch (entry[0]) {
	case SYNOD_ENTRY_SUBMIT:
		app_submit(a, pos, entry + 1, len - 1);
		break;
	case SYNOD_ENTRY_VOTE:
		app_vote(a, pos, entry + 1, len - 1);
		break;
	case SYNOD_ENTRY_TICK:
		app_tick(a, pos, entry, len);
		break;
	default:
		app_malformed(a, pos, entry[0]);
		break;
	}
}

/* ---- names ---- */

static const char *const outcome_names[SYNOD_OUTCOME_COUNT] = {"open", "APPROVED", "REJECTED",
                                                               "EXPIRED"};
static const char *const reason_names[SYNOD_VOTE_REASON_COUNT] = {
    "counted",      "bad_signature", "unknown_request", "closed_request",
    "wrong_epoch",  "wrong_cluster", "excluded_seat",   "unknown_seat",
    "equivocation", "duplicate",     "malformed"};
static const char *const submit_names[SYNOD_SUBMIT_RESULT_COUNT] = {
    "accepted", "duplicate", "malformed", "expired", "too_far", "full"};

const char *synod_outcome_name(enum synod_outcome o)
{
	return (unsigned)o < SYNOD_OUTCOME_COUNT ? outcome_names[o] : "unknown";
}

const char *synod_vote_reason_name(enum synod_vote_reason r)
{
	return (unsigned)r < SYNOD_VOTE_REASON_COUNT ? reason_names[r] : "unknown";
}

int synod_vote_reason_parse(const char *name, enum synod_vote_reason *out)
{
	for (unsigned i = 0; i < SYNOD_VOTE_REASON_COUNT; i++) {
		if (strcmp(name, reason_names[i]) == 0) {
			*out = (enum synod_vote_reason)i;
			return 0;
		}
	}
	return SYNOD_ENOTFOUND;
}

const char *synod_submit_result_name(enum synod_submit_result r)
{
	return (unsigned)r < SYNOD_SUBMIT_RESULT_COUNT ? submit_names[r] : "unknown";
}

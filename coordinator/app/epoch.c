/* Epochs and exclusions. An epoch advances after epoch.decisions decisions or
 * epoch.log_time_ms of log time, whichever comes first; its eligible seats
 * are all seats but those with an exclusion record covering it. A request
 * belongs to the epoch current when it was submitted: its votes must name
 * that epoch and come from seats eligible in it. */
#include "common/assert.h"
#include "common/log.h"
#include "coordinator/app/internal.h"

#include <string.h>

SYNOD_COUNTER(app_exclusions_total, "synod_app_exclusions_total",
              "exclusion records created (equivocation or non-participation)");

uint64_t app_epoch_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t epoch_eligible(const struct synod_app *a, uint64_t number)
{
	uint64_t eligible = app_all_seats(a->seats);
	for (uint32_t i = 0; i < SYNOD_APP_EXCLUSIONS_MAX; i++) {
		const struct app_exclusion *x = &a->st->exclusions[i];
		if (x->used && x->from_epoch <= number && number < x->until_epoch) {
			eligible &= ~(UINT64_C(1) << x->seat);
		}
	}
	return eligible;
}

void app_epoch_first(struct synod_app *a)
{
	struct synod_epoch *e = &a->st->epoch;
	memset(e, 0, sizeof *e);
	e->eligible = app_all_seats(a->seats);
	synod_voter_set_hash(e->voter_set_hash, &a->cfg.cluster, e->eligible);
}

const struct app_exclusion *app_exclusion_covering(const struct synod_app *a, uint32_t seat,
                                                   uint64_t epoch)
{
	for (uint32_t i = 0; i < SYNOD_APP_EXCLUSIONS_MAX; i++) {
		const struct app_exclusion *x = &a->st->exclusions[i];
		if (x->used && x->seat == seat && x->from_epoch <= epoch &&
		    epoch < x->until_epoch) {
			return x;
		}
	}
	return NULL;
}

/* true when seat has a record that covers epoch number. */
static bool epoch_seat_excluded(const struct synod_app *a, uint32_t seat, uint64_t number)
{
	return app_exclusion_covering(a, seat, number) != NULL;
}

/* A free record: the lowest unused one, else the oldest that has expired.
 * At most two records per seat are unexpired (one covering the current epoch,
 * one the next), so a table of 4 x SYNOD_APP_SEATS_MAX always has one. */
static struct app_exclusion *epoch_exclusion_slot(struct synod_app *a)
{
	struct app_state *st = a->st;
	struct app_exclusion *victim = NULL;
	for (uint32_t i = 0; i < SYNOD_APP_EXCLUSIONS_MAX; i++) {
		struct app_exclusion *x = &st->exclusions[i];
		if (!x->used) {
			return x;
		}
		if (x->until_epoch <= st->epoch.number &&
		    (victim == NULL || x->order < victim->order)) {
			victim = x;
		}
	}
	SYNOD_ASSERT(victim != NULL);
	return victim;
}

static struct app_exclusion *epoch_exclusion_new(struct synod_app *a, uint32_t seat,
                                                 enum synod_exclusion_kind kind)
{
	struct app_state *st = a->st;
	struct app_exclusion *x = epoch_exclusion_slot(a);
	memset(x, 0, sizeof *x);
	x->used = true;
	x->seat = (uint8_t)seat;
	x->kind = (uint8_t)kind;
	x->from_epoch = st->epoch.number + 1;
	x->until_epoch = app_epoch_add(x->from_epoch, a->cfg.cluster.policy.exclusion_epochs);
	x->detected_epoch = st->epoch.number;
	x->order = st->next_order++;
	synod_counter_inc(&app_exclusions_total);
	synod_log(SYNOD_LOG_WARN, "app", "seat %u excluded for epochs %llu..%llu (%s)", seat,
	          (unsigned long long)x->from_epoch, (unsigned long long)x->until_epoch - 1,
	          kind == SYNOD_EXCLUSION_EQUIVOCATION ? "equivocation" : "non-participation");
	return x;
}

static void epoch_exclusion_announce(struct synod_app *a, const struct app_exclusion *x,
                                     struct synod_app_pos pos)
{
	struct synod_app_event ev = {.type = SYNOD_APP_EV_EXCLUDED,
	                             .pos = pos,
	                             .request_id = x->request_id,
	                             .seat = x->seat,
	                             .epoch = x->from_epoch,
	                             .log_time_ms = a->st->log_time_ms,
	                             .exclusion = (uint32_t)(x - a->st->exclusions)};
	app_event(a, &ev);
}

void app_exclusion_equivocation(struct synod_app *a, uint32_t seat, const struct app_request *r,
                                const struct app_slot *slot, struct synod_app_pos pos)
{
	uint64_t next = a->st->epoch.number + 1;
	if (epoch_seat_excluded(a, seat, next)) {
		return; /* already out next epoch: the evidence stays on the request */
	}
	struct app_exclusion *x = epoch_exclusion_new(a, seat, SYNOD_EXCLUSION_EQUIVOCATION);
	memcpy(x->request_id, r->id, SYNOD_HASH_BYTES);
	x->pos[0] = slot->pos;
	x->pos[1] = slot->pos2;
	memcpy(x->digest[0], slot->digest, SYNOD_HASH_BYTES);
	memcpy(x->digest[1], slot->digest2, SYNOD_HASH_BYTES);
	epoch_exclusion_announce(a, x, pos);
}

/* ---- non-participation (policy non_participation.enabled) ---- */

void app_participation_record(struct synod_app *a, const struct app_request *r)
{
	if (!a->cfg.cluster.policy.non_participation) {
		return;
	}
	struct app_state *st = a->st;
	const struct app_slot *slots = app_slots_of(a, st, r);
	for (uint32_t s = 0; s < a->seats; s++) {
		if ((r->eligible >> s & 1u) != 0 && slots[s].status == SLOT_NONE) {
			if (st->missed[s] < UINT32_MAX) {
				st->missed[s]++;
			}
			memcpy(st->missed_request[s], r->id, SYNOD_HASH_BYTES);
		}
	}
}

void app_participation_vote(struct synod_app *a, uint32_t seat)
{
	a->st->missed[seat] = 0;
}

static void epoch_participation_check(struct synod_app *a, struct synod_app_pos pos)
{
	const struct synod_policy *p = &a->cfg.cluster.policy;
	struct app_state *st = a->st;
	if (!p->non_participation) {
		return;
	}
	uint64_t next = st->epoch.number + 1;
	for (uint32_t s = 0; s < a->seats; s++) {
		if (st->missed[s] < p->np_missed_decisions_max || epoch_seat_excluded(a, s, next)) {
			continue;
		}
		struct app_exclusion *x =
		    epoch_exclusion_new(a, s, SYNOD_EXCLUSION_NON_PARTICIPATION);
		x->missed = st->missed[s];
		memcpy(x->request_id, st->missed_request[s], SYNOD_HASH_BYTES);
		st->missed[s] = 0;
		epoch_exclusion_announce(a, x, pos);
	}
}

/* ---- advancing ---- */

static void epoch_advance(struct synod_app *a, struct synod_app_pos pos)
{
	struct app_state *st = a->st;
	epoch_participation_check(a, pos);
	if (st->history_count == SYNOD_APP_EPOCHS_KEPT) {
		memmove(&st->history[0], &st->history[1],
		        (SYNOD_APP_EPOCHS_KEPT - 1) * sizeof st->history[0]);
		st->history_count--;
	}
	st->history[st->history_count++] = st->epoch;
	struct synod_epoch *e = &st->epoch;
	SYNOD_ASSERT(e->number < UINT64_MAX);
	e->number++;
	e->start_log_time_ms = st->log_time_ms;
	e->decisions = 0;
	e->eligible = epoch_eligible(a, e->number);
	synod_voter_set_hash(e->voter_set_hash, &a->cfg.cluster, e->eligible);
	struct synod_app_event ev = {.type = SYNOD_APP_EV_EPOCH,
	                             .pos = pos,
	                             .seat = UINT32_MAX,
	                             .epoch = e->number,
	                             .log_time_ms = st->log_time_ms};
	app_event(a, &ev);
}

void app_epoch_after_decision(struct synod_app *a, struct synod_app_pos pos)
{
	uint64_t every = a->cfg.cluster.policy.epoch_decisions;
	struct synod_epoch *e = &a->st->epoch;
	e->decisions++;
	if (every != 0 && e->decisions >= every) {
		epoch_advance(a, pos);
	}
}

void app_epoch_after_tick(struct synod_app *a, struct synod_app_pos pos)
{
	uint64_t every = a->cfg.cluster.policy.epoch_log_time_ms;
	const struct app_state *st = a->st;
	if (every != 0 && st->log_time_ms - st->epoch.start_log_time_ms >= every) {
		epoch_advance(a, pos);
	}
}

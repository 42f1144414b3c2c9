/* The state machine's object: init and close, the request index, execute and
 * validate (the PBFT callbacks), and the read-only getters. */
#include "common/assert.h"
#include "common/hash.h"
#include "common/log.h"
#include "coordinator/app/internal.h"

#include <stdlib.h>
#include <sodium.h>
#include <string.h>

SYNOD_COUNTER(app_batch_malformed_total, "synod_app_batches_malformed_total",
              "committed batches the certification state machine could not parse");
SYNOD_COUNTER(app_tick_refused_total, "synod_app_ticks_refused_total",
              "proposed batches refused because a TICK was out of bounds");

static void app_state_free(struct app_state *st)
{
	if (st == NULL) {
		return;
	}
	free(st->requests);
	free(st->slots);
	free(st->exclusions);
	free(st);
}

static struct app_state *app_state_alloc(uint32_t requests_max, uint32_t seats)
{
	struct app_state *st = calloc(1, sizeof *st);
	if (st == NULL) {
		return NULL;
	}
	st->requests = calloc(requests_max, sizeof *st->requests);
	st->slots = calloc((size_t)requests_max * seats, sizeof *st->slots);
	st->exclusions = calloc(SYNOD_APP_EXCLUSIONS_MAX, sizeof *st->exclusions);
	if (st->requests == NULL || st->slots == NULL || st->exclusions == NULL) {
		app_state_free(st);
		return NULL;
	}
	return st;
}

/* SHA-256 over the cluster id, the seats' keys and the canonical policy: what
 * a snapshot must have been taken under. */
static void app_config_digest(struct synod_app *a)
{
	const struct synod_cluster *c = &a->cfg.cluster;
	char policy[1024];
	size_t len = 0;
	int rc = synod_policy_canonical(&c->policy, policy, sizeof policy, &len);
	SYNOD_ASSERT(rc == 0);
	struct synod_sha256 h;
	synod_sha256_init(&h);
	synod_sha256_update(&h, "synod/app/config/v1", 19);
	synod_sha256_update(&h, c->cluster_id, SYNOD_CLUSTER_ID_BYTES);
	synod_sha256_update(&h, c->seat_keys, (size_t)c->policy.seats * SYNOD_PUBKEY_BYTES);
	synod_sha256_update(&h, policy, len);
	synod_sha256_final(&h, a->config_digest);
}

int synod_app_init(struct synod_app **out, const struct synod_app_config *cfg, char *errmsg,
                   size_t errmsg_len)
{
	*out = NULL;
	int rc = synod_cluster_check(&cfg->cluster, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	struct synod_app *a = calloc(1, sizeof *a);
	if (a == NULL) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ENOMEM, "app: out of memory");
	}
	a->cfg = *cfg;
	synod_merkle_log_init(&a->dlog);
	a->seats = cfg->cluster.policy.seats;
	a->requests_max = cfg->cluster.policy.requests_retained_max;
	a->index_cap = 1;
	while (a->index_cap < 2 * a->requests_max) {
		a->index_cap <<= 1;
	}
	a->st = app_state_alloc(a->requests_max, a->seats);
	a->spare = app_state_alloc(a->requests_max, a->seats);
	a->index = calloc(a->index_cap, sizeof *a->index);
	_Static_assert(sizeof a->index_key == crypto_shorthash_KEYBYTES, "SipHash key");
	randombytes_buf(a->index_key, sizeof a->index_key);
	if (a->st == NULL || a->spare == NULL || a->index == NULL) {
		synod_app_close(a);
		return synod_errf(errmsg, errmsg_len, SYNOD_ENOMEM, "app: out of memory");
	}
	app_batch_limits(&a->batch_limits);
	app_config_digest(a);
	app_epoch_first(a);
	*out = a;
	return 0;
}

void synod_app_close(struct synod_app *a)
{
	if (a == NULL) {
		return;
	}
	app_state_free(a->st);
	app_state_free(a->spare);
	free(a->index);
	synod_merkle_log_free(&a->dlog);
	free(a);
}

/* ---- the request index: id -> slot, linear probing ---- */

/* Request ids are SHA-256 of what submitters send, so a submitter could grind
 * ids that share their first bytes and turn every lookup into a long probe.
 * A keyed hash (SipHash-2-4, a random key per app) leaves nothing to grind
 * for. The index is local: it never reaches a snapshot or a digest. */
static uint32_t app_index_home(const struct synod_app *a, const uint8_t id[SYNOD_HASH_BYTES])
{
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, id, SYNOD_HASH_BYTES, a->index_key);
	uint32_t v =
	    (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
	return v & (a->index_cap - 1);
}

struct app_request *app_request_find(const struct synod_app *a, const struct app_state *st,
                                     const uint8_t id[SYNOD_HASH_BYTES])
{
	uint32_t i = app_index_home(a, id);
	for (uint32_t probes = 0; probes < a->index_cap; probes++) {
		uint32_t v = a->index[i];
		if (v == 0) {
			return NULL;
		}
		struct app_request *r = &st->requests[v - 1];
		if (memcmp(r->id, id, SYNOD_HASH_BYTES) == 0) {
			return r;
		}
		i = (i + 1) & (a->index_cap - 1);
	}
	return NULL;
}

static void app_index_insert(struct synod_app *a, const struct app_request *r, uint32_t slot)
{
	uint32_t i = app_index_home(a, r->id);
	while (a->index[i] != 0) {
		i = (i + 1) & (a->index_cap - 1);
	}
	a->index[i] = slot + 1;
}

/* Backward-shift deletion keeps every probe chain unbroken. */
void app_index_remove(struct synod_app *a, const uint8_t id[SYNOD_HASH_BYTES])
{
	uint32_t mask = a->index_cap - 1;
	uint32_t i = app_index_home(a, id);
	while (a->index[i] != 0 &&
	       memcmp(a->st->requests[a->index[i] - 1].id, id, SYNOD_HASH_BYTES) != 0) {
		i = (i + 1) & mask;
	}
	SYNOD_ASSERT(a->index[i] != 0);
	a->index[i] = 0;
	for (uint32_t j = (i + 1) & mask; a->index[j] != 0; j = (j + 1) & mask) {
		uint32_t home = app_index_home(a, a->st->requests[a->index[j] - 1].id);
		/* move j into the hole at i when its home is not in (i, j] */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			a->index[i] = a->index[j];
			a->index[j] = 0;
			i = j;
		}
	}
}

void app_request_index_add(struct synod_app *a, uint32_t slot)
{
	app_index_insert(a, &a->st->requests[slot], slot);
}

void app_index_rebuild(struct synod_app *a)
{
	memset(a->index, 0, (size_t)a->index_cap * sizeof *a->index);
	for (uint32_t i = 0; i < a->requests_max; i++) {
		if (a->st->requests[i].used) {
			app_index_insert(a, &a->st->requests[i], i);
		}
	}
}

/* ---- execute and validate ---- */

void synod_app_execute(struct synod_app *a, uint64_t seq, const uint8_t *batch, size_t len)
{
	SYNOD_ASSERT(seq == a->st->last_seq + 1);
	struct pbft_batch_iter it;
	if (pbft_batch_iter_init(&it, batch, len, &a->batch_limits) != 0) {
		/* PBFT checks batches before they are prepared; a malformed one
		 * committed anyway applies nothing, the same on every replica */
		a->st->entries_malformed++;
		synod_counter_inc(&app_batch_malformed_total);
		synod_log(SYNOD_LOG_WARN, "app", "committed batch at seq %llu is malformed",
		          (unsigned long long)seq);
	} else {
		const uint8_t *entry;
		uint32_t entry_len;
		uint32_t index = 0;
		while (pbft_batch_iter_next(&it, &entry, &entry_len) == 1) {
			struct synod_app_pos pos = {.seq = seq, .index = index++};
			synod_app_apply(a, pos, entry, entry_len);
		}
	}
	a->st->last_seq = seq;
}

static uint64_t app_tick_value(const uint8_t *entry)
{
	uint64_t t = 0;
	for (uint32_t i = 0; i < 8; i++) {
		t = t << 8 | entry[1 + i];
	}
	return t;
}

uint64_t app_tick_decode(const uint8_t *entry)
{
	return app_tick_value(entry);
}

static int app_tick_refuse(uint64_t t, uint64_t now_ms, const char *why)
{
	synod_counter_inc(&app_tick_refused_total);
	synod_log(SYNOD_LOG_WARN, "app", "refusing a batch: TICK %llu %s (now %llu)",
	          (unsigned long long)t, why, (unsigned long long)now_ms);
	return SYNOD_EINVAL;
}

int synod_app_validate(struct synod_app *a, const uint8_t *batch, size_t len, uint64_t now_ms)
{
	struct pbft_batch_iter it;
	if (pbft_batch_iter_init(&it, batch, len, &a->batch_limits) != 0) {
		return 0; /* the PBFT core judges the batch's structure */
	}
	const uint64_t skew = a->cfg.cluster.policy.tick_skew_ms_max;
	uint64_t floor_ms = a->st->log_time_ms;
	const uint8_t *entry;
	uint32_t entry_len;
	while (pbft_batch_iter_next(&it, &entry, &entry_len) == 1) {
		if (entry[0] != SYNOD_ENTRY_TICK) {
			continue;
		}
		if (entry_len != SYNOD_APP_TICK_BYTES) {
			return app_tick_refuse(0, now_ms, "is malformed");
		}
		uint64_t t = app_tick_value(entry);
		if (t <= floor_ms) {
			/* Not ahead of log time: apply ignores it (ticks_backwards),
			 * so it cannot move time; refusing the batch would only let a
			 * stale TICK stall an honest primary. */
			continue;
		}
		uint64_t diff = t > now_ms ? t - now_ms : now_ms - t;
		if (diff > skew) {
			return app_tick_refuse(t, now_ms,
			                       "would move log time further from this replica's "
			                       "clock than tick.skew_ms_max");
		}
		floor_ms = t;
	}
	return 0;
}

uint64_t synod_app_tick_propose(const struct synod_app *a, uint64_t now_ms)
{
	return now_ms > a->st->log_time_ms ? now_ms : a->st->log_time_ms;
}

static void pbft_cb_execute(void *ctx, uint64_t seq, const uint8_t *batch, size_t len)
{
	synod_app_execute(ctx, seq, batch, len);
}

static int pbft_cb_validate(void *ctx, const uint8_t *batch, size_t len, uint64_t now_ms)
{
	return synod_app_validate(ctx, batch, len, now_ms);
}

static int pbft_cb_snapshot(void *ctx, uint8_t *buf, size_t cap, size_t *len)
{
	return synod_app_snapshot(ctx, buf, cap, len);
}

static int pbft_cb_restore(void *ctx, uint64_t seq, const uint8_t *snap, size_t len)
{
	return synod_app_restore(ctx, seq, snap, len);
}

static void pbft_cb_digest(void *ctx, const uint8_t *snap, size_t len,
                           uint8_t out[PBFT_DIGEST_BYTES])
{
	synod_app_checkpoint_digest(ctx, snap, len, out);
}

int synod_app_admit(const uint8_t *entry, size_t len)
{
	if (len < 2 || (entry[0] != SYNOD_ENTRY_SUBMIT && entry[0] != SYNOD_ENTRY_VOTE)) {
		return SYNOD_EINVAL;
	}
	return 0;
}

bool synod_app_tick_expired(const struct synod_app *a, const uint8_t *entry, size_t len,
                            uint64_t now_ms)
{
	if (len != SYNOD_APP_TICK_BYTES || entry[0] != SYNOD_ENTRY_TICK) {
		return false;
	}
	uint64_t t = app_tick_value(entry);
	return t <= a->st->log_time_ms || t + a->cfg.cluster.policy.tick_skew_ms_max < now_ms;
}

/* A VOTE is executed when its seat's slot on the request holds exactly its
 * signed bytes (counted, late, or either vote of an equivocation). */
static bool app_vote_executed(const struct synod_app *a, const uint8_t *payload, size_t len)
{
	struct synod_vote_envelope env;
	if (synod_vote_decode(&env, (const char *)payload, len, NULL, 0) != 0 ||
	    env.vote.seat >= a->seats) {
		return false;
	}
	const struct app_request *r = app_request_find(a, a->st, env.vote.request_id);
	if (r == NULL || env.vote.epoch != r->epoch) {
		return false;
	}
	const struct app_slot *slot = &app_slots_of(a, a->st, r)[env.vote.seat];
	uint8_t digest[SYNOD_HASH_BYTES];
	synod_sha256(digest, payload + env.signed_offset, env.signed_len);
	if (slot->status == SLOT_NONE) {
		return false;
	}
	return memcmp(slot->digest, digest, SYNOD_HASH_BYTES) == 0 ||
	       (slot->status == SLOT_EQUIVOCATED &&
	        memcmp(slot->digest2, digest, SYNOD_HASH_BYTES) == 0);
}

bool synod_app_executed(const struct synod_app *a, const uint8_t *entry, size_t len)
{
	if (len < 2) {
		return false;
	}
	if (entry[0] == SYNOD_ENTRY_SUBMIT) {
		uint8_t id[SYNOD_HASH_BYTES]; /* a request's id is the SHA-256 of its bytes */
		synod_sha256(id, entry + 1, len - 1);
		return app_request_find(a, a->st, id) != NULL;
	}
	if (entry[0] == SYNOD_ENTRY_VOTE) {
		return app_vote_executed(a, entry + 1, len - 1);
	}
	return entry[0] == SYNOD_ENTRY_TICK && len == SYNOD_APP_TICK_BYTES &&
	       app_tick_value(entry) <= a->st->log_time_ms;
}

static bool pbft_cb_executed(void *ctx, const uint8_t *entry, size_t len)
{
	return synod_app_executed(ctx, entry, len);
}

bool synod_app_overdue(const struct synod_app *a, uint64_t now_ms)
{
	uint64_t lag = 2u * a->cfg.cluster.policy.tick_skew_ms_max;
	return now_ms > a->st->log_time_ms && now_ms - a->st->log_time_ms > lag;
}

static bool pbft_cb_overdue(void *ctx, uint64_t now_ms)
{
	return synod_app_overdue(ctx, now_ms);
}

static int pbft_cb_admit(void *ctx, const uint8_t *entry, size_t len)
{
	(void)ctx;
	return synod_app_admit(entry, len);
}

static bool pbft_cb_expired(void *ctx, const uint8_t *entry, size_t len, uint64_t now_ms)
{
	return synod_app_tick_expired(ctx, entry, len, now_ms);
}

struct pbft_app synod_app_pbft(struct synod_app *a)
{
	struct pbft_app t = {
	    .ctx = a,
	    .execute = pbft_cb_execute,
	    .validate = pbft_cb_validate,
	    .admit = pbft_cb_admit,
	    .expired = pbft_cb_expired,
	    .overdue = pbft_cb_overdue,
	    .executed = pbft_cb_executed,
	    .snapshot = pbft_cb_snapshot,
	    .restore = pbft_cb_restore,
	    .digest = pbft_cb_digest,
	};
	return t;
}

/* ---- getters ---- */

void synod_app_status_get(const struct synod_app *a, struct synod_app_status *out)
{
	const struct app_state *st = a->st;
	memset(out, 0, sizeof *out);
	out->last_seq = st->last_seq;
	out->log_time_ms = st->log_time_ms;
	out->epoch = st->epoch.number;
	out->eligible = st->epoch.eligible;
	memcpy(out->voter_set_hash, st->epoch.voter_set_hash, SYNOD_HASH_BYTES);
	out->requests_open = st->requests_open;
	out->requests_retained = st->requests_used;
	memcpy(out->decisions, st->decisions, sizeof out->decisions);
	memcpy(out->votes, st->votes, sizeof out->votes);
	memcpy(out->submits, st->submits, sizeof out->submits);
	out->ticks = st->ticks;
	out->ticks_backwards = st->ticks_backwards;
	out->entries_malformed = st->entries_malformed;
	out->ignored_not_kept = st->ignored_not_kept;
	for (uint32_t i = 0; i < SYNOD_APP_EXCLUSIONS_MAX; i++) {
		out->exclusions += st->exclusions[i].used ? 1u : 0u;
	}
}

void app_tally_fill(const struct app_request *r, struct synod_tally *out)
{
	memset(out, 0, sizeof *out);
	out->outcome = (enum synod_outcome)r->outcome;
	out->epoch = r->epoch;
	out->eligible = r->eligible;
	out->deadline_ms = r->deadline_ms;
	out->approvals = r->approvals;
	out->rejections = r->rejections;
	out->approved_by = r->approved_by;
	out->rejected_by = r->rejected_by;
	out->equivocators = r->equivocators;
	out->submitted_at = r->submitted_at;
	out->decided_at = r->decided_at;
	memcpy(out->voter_set_hash, r->voter_set_hash, SYNOD_HASH_BYTES);
}

int synod_app_tally_get(const struct synod_app *a, const uint8_t id[SYNOD_HASH_BYTES],
                        struct synod_tally *out)
{
	const struct app_request *r = app_request_find(a, a->st, id);
	if (r == NULL) {
		return SYNOD_ENOTFOUND;
	}
	app_tally_fill(r, out);
	return 0;
}

bool synod_tally_equal(const struct synod_tally *x, const struct synod_tally *y)
{
	bool same = x->outcome == y->outcome && x->epoch == y->epoch &&
	            x->eligible == y->eligible && x->deadline_ms == y->deadline_ms &&
	            x->approvals == y->approvals && x->rejections == y->rejections &&
	            x->approved_by == y->approved_by && x->rejected_by == y->rejected_by &&
	            x->equivocators == y->equivocators &&
	            synod_app_pos_cmp(x->submitted_at, y->submitted_at) == 0;
	if (same && x->outcome != SYNOD_OUTCOME_OPEN) {
		same = synod_app_pos_cmp(x->decided_at, y->decided_at) == 0;
	}
	return same;
}

void synod_app_epoch_get(const struct synod_app *a, struct synod_epoch *out)
{
	*out = a->st->epoch;
}

int synod_app_epoch_find(const struct synod_app *a, uint64_t number, struct synod_epoch *out)
{
	const struct app_state *st = a->st;
	if (number == st->epoch.number) {
		*out = st->epoch;
		return 0;
	}
	for (uint32_t i = 0; i < st->history_count; i++) {
		if (st->history[i].number == number) {
			*out = st->history[i];
			return 0;
		}
	}
	return SYNOD_ENOTFOUND;
}

uint32_t synod_app_exclusion_count(const struct synod_app *a)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < SYNOD_APP_EXCLUSIONS_MAX; i++) {
		n += a->st->exclusions[i].used ? 1u : 0u;
	}
	return n;
}

void app_exclusion_view(const struct app_exclusion *x, struct synod_exclusion *out)
{
	memset(out, 0, sizeof *out);
	out->seat = x->seat;
	out->kind = (enum synod_exclusion_kind)x->kind;
	out->from_epoch = x->from_epoch;
	out->until_epoch = x->until_epoch;
	out->detected_epoch = x->detected_epoch;
	memcpy(out->request_id, x->request_id, SYNOD_HASH_BYTES);
	out->missed = x->missed;
	if (x->kind == SYNOD_EXCLUSION_EQUIVOCATION) {
		for (int k = 0; k < 2; k++) {
			out->vote_pos[k] = x->pos[k];
			memcpy(out->vote_digest[k], x->digest[k], SYNOD_HASH_BYTES);
		}
	}
}

int synod_app_exclusion_get(const struct synod_app *a, uint32_t i, struct synod_exclusion *out)
{
	uint32_t n = 0;
	for (uint32_t k = 0; k < SYNOD_APP_EXCLUSIONS_MAX; k++) {
		const struct app_exclusion *x = &a->st->exclusions[k];
		if (!x->used) {
			continue;
		}
		if (n++ == i) {
			app_exclusion_view(x, out);
			return 0;
		}
	}
	return SYNOD_ENOTFOUND;
}

void app_event(const struct synod_app *a, const struct synod_app_event *ev)
{
	if (a->cfg.on_event != NULL) {
		a->cfg.on_event(a->cfg.event_ctx, ev);
	}
}

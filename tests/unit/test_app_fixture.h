/* Shared fixture of the certification state machine tests (test_app_*.c): a
 * test cluster, one app, an in-memory certified log, and a record of the
 * app's events. Every helper commits what it makes as one batch and asserts
 * the plumbing worked; the behaviour under test is asserted by the tests. */
#ifndef SYNOD_TEST_APP_FIXTURE_H
#define SYNOD_TEST_APP_FIXTURE_H

#include "common/hash.h"
#include "coordinator/app/app.h"
#include "coordinator/app/testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmocka needs the headers above first */
#include <cmocka.h>

#define FX_EVENTS_MAX  8192u
#define FX_ENTRY_BYTES 2048u
#define FX_T0          1700000000000ull /* log time of the first TICK: Unix ms */

struct fx_event {
	struct synod_app_event ev;
	uint8_t request_id[SYNOD_HASH_BYTES];
};

struct fx {
	struct synod_testkit kit;
	struct synod_app *app;
	struct synod_testkit_log log;
	struct fx_event events[FX_EVENTS_MAX];
	uint32_t event_count;
	uint64_t now_ms;
};

static inline void fx_on_event(void *ctx, const struct synod_app_event *ev)
{
	struct fx *f = ctx;
	if (f->event_count < FX_EVENTS_MAX) {
		struct fx_event *e = &f->events[f->event_count++];
		e->ev = *ev;
		if (ev->request_id != NULL) {
			memcpy(e->request_id, ev->request_id, SYNOD_HASH_BYTES);
			e->ev.request_id = e->request_id;
		}
	}
}

static inline struct synod_app *fx_app_new(struct fx *f)
{
	struct synod_app_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.cluster = f->kit.cluster;
	cfg.on_event = fx_on_event;
	cfg.event_ctx = f;
	struct synod_app *a = NULL;
	char err[256] = "";
	int rc = synod_app_init(&a, &cfg, err, sizeof err);
	if (rc != 0) {
		fail_msg("synod_app_init: %s", err);
	}
	return a;
}

/* A fixture over policy (NULL: the default policy), with a first TICK at
 * FX_T0 so that deadlines are in reach. */
static inline struct fx *fx_new_policy(const struct synod_policy *policy, uint64_t seed);

static inline void fx_tick(struct fx *f, uint64_t t)
{
	uint8_t e[SYNOD_APP_TICK_BYTES];
	synod_entry_tick(e, t);
	const uint8_t *entries[1] = {e};
	size_t lens[1] = {sizeof e};
	assert_int_equal(synod_testkit_log_commit_entries(&f->log, f->app, entries, lens, 1, NULL),
	                 0);
	f->now_ms = t;
}

static inline struct fx *fx_new_policy(const struct synod_policy *policy, uint64_t seed)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	synod_testkit_init(&f->kit, policy, 4, seed);
	f->app = fx_app_new(f);
	synod_testkit_log_init(&f->log, &f->kit);
	fx_tick(f, FX_T0);
	return f;
}

static inline struct fx *fx_new(void)
{
	return fx_new_policy(NULL, 1);
}

static inline void fx_free(struct fx *f)
{
	synod_app_close(f->app);
	synod_testkit_log_close(&f->log);
	free(f);
}

/* Submits a request due at now + in_ms; id gets its id. */
static inline void fx_submit(struct fx *f, uint64_t in_ms, uint32_t nonce,
                             uint8_t id[SYNOD_HASH_BYTES])
{
	uint8_t e[FX_ENTRY_BYTES];
	size_t len = 0;
	assert_int_equal(synod_testkit_request(e, sizeof e, &len, id, f->now_ms + in_ms, nonce), 0);
	const uint8_t *entries[1] = {e};
	assert_int_equal(synod_testkit_log_commit_entries(&f->log, f->app, entries, &len, 1, NULL),
	                 0);
}

/* Commits one raw entry as a batch of its own. */
static inline void fx_entry(struct fx *f, const uint8_t *e, size_t len)
{
	const uint8_t *entries[1] = {e};
	assert_int_equal(synod_testkit_log_commit_entries(&f->log, f->app, entries, &len, 1, NULL),
	                 0);
}

static inline void fx_vote_entry(struct fx *f, uint32_t seat, const uint8_t id[SYNOD_HASH_BYTES],
                                 uint64_t epoch, enum synod_verdict verdict, uint32_t variant,
                                 uint8_t *out, size_t *len)
{
	assert_int_equal(synod_testkit_vote(&f->kit, seat, id, epoch, verdict, variant, out,
	                                    FX_ENTRY_BYTES, len),
	                 0);
}

/* One vote as a batch of its own. */
static inline void fx_vote(struct fx *f, uint32_t seat, const uint8_t id[SYNOD_HASH_BYTES],
                           uint64_t epoch, enum synod_verdict verdict, uint32_t variant)
{
	uint8_t e[FX_ENTRY_BYTES];
	size_t len = 0;
	fx_vote_entry(f, seat, id, epoch, verdict, variant, e, &len);
	fx_entry(f, e, len);
}

/* Commits the votes (seat, epoch, verdict, variant) as one batch. */
struct fx_vspec {
	uint32_t seat;
	uint64_t epoch;
	enum synod_verdict verdict;
	uint32_t variant;
};

static inline void fx_vote_batch(struct fx *f, const uint8_t id[SYNOD_HASH_BYTES],
                                 const struct fx_vspec *v, uint32_t n)
{
	static uint8_t bufs[8][FX_ENTRY_BYTES];
	const uint8_t *entries[8];
	size_t lens[8];
	assert_true(n <= 8);
	for (uint32_t i = 0; i < n; i++) {
		fx_vote_entry(f, v[i].seat, id, v[i].epoch, v[i].verdict, v[i].variant, bufs[i],
		              &lens[i]);
		entries[i] = bufs[i];
	}
	assert_int_equal(synod_testkit_log_commit_entries(&f->log, f->app, entries, lens, n, NULL),
	                 0);
}

/* Votes of seats [from, to) in batches of per_batch. */
static inline void fx_votes(struct fx *f, uint32_t from, uint32_t to,
                            const uint8_t id[SYNOD_HASH_BYTES], uint64_t epoch,
                            enum synod_verdict verdict, uint32_t per_batch)
{
	static uint8_t bufs[SYNOD_APP_SEATS_MAX][FX_ENTRY_BYTES];
	const uint8_t *entries[SYNOD_APP_SEATS_MAX];
	size_t lens[SYNOD_APP_SEATS_MAX];
	uint32_t n = 0;
	for (uint32_t s = from; s < to; s++) {
		fx_vote_entry(f, s, id, epoch, verdict, 0, bufs[n], &lens[n]);
		entries[n] = bufs[n];
		n++;
		if (n == per_batch || s + 1 == to) {
			assert_int_equal(synod_testkit_log_commit_entries(&f->log, f->app, entries,
			                                                  lens, n, NULL),
			                 0);
			n = 0;
		}
	}
}

static inline struct synod_tally fx_tally(const struct fx *f, const uint8_t id[SYNOD_HASH_BYTES])
{
	struct synod_tally t;
	assert_int_equal(synod_app_tally_get(f->app, id, &t), 0);
	return t;
}

/* The last VOTE event's reason. */
static inline enum synod_vote_reason fx_last_reason(const struct fx *f)
{
	for (uint32_t i = f->event_count; i > 0; i--) {
		if (f->events[i - 1].ev.type == SYNOD_APP_EV_VOTE) {
			return f->events[i - 1].ev.reason;
		}
	}
	fail_msg("no vote event");
	return SYNOD_VOTE_MALFORMED;
}

static inline uint32_t fx_count_events(const struct fx *f, enum synod_app_event_type type)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < f->event_count; i++) {
		n += f->events[i].ev.type == type ? 1u : 0u;
	}
	return n;
}

static inline struct synod_app_pos fx_last_pos(const struct fx *f)
{
	struct synod_app_pos p = {.seq = f->log.count, .index = 0};
	return p;
}

static inline uint64_t fx_epoch(const struct fx *f)
{
	struct synod_epoch e;
	synod_app_epoch_get(f->app, &e);
	return e.number;
}

/* Verifies a bundle, collecting failures into a buffer (for messages). */
struct fx_report {
	char text[16384];
	size_t len;
	uint32_t count;
};

static inline void fx_report_cb(void *ctx, const char *failure)
{
	struct fx_report *r = ctx;
	r->count++;
	if (r->len < sizeof r->text) {
		int n = snprintf(r->text + r->len, sizeof r->text - r->len, "  %s\n", failure);
		r->len += n > 0 ? (size_t)n : 0;
	}
}

static inline int fx_verify(const struct fx *f, const char *bundle, size_t len,
                            struct fx_report *rep)
{
	memset(rep, 0, sizeof *rep);
	return synod_bundle_verify(bundle, len, &f->kit.cluster, NULL, fx_report_cb, rep);
}

static inline char *fx_bundle(struct fx *f, const uint8_t id[SYNOD_HASH_BYTES], size_t *len)
{
	char *out = NULL;
	char err[512] = "";
	struct synod_testkit_checkpoint ck;
	int rc =
	    synod_testkit_checkpoint(&f->kit, f->app, pbft_quorum(f->kit.cluster.replicas), &ck);
	if (rc == 0) {
		rc = synod_bundle_build(f->app, id, synod_testkit_log_lookup, &f->log, &ck.cp, &out,
		                        len, err, sizeof err);
	}
	if (rc != 0) {
		fail_msg("synod_bundle_build: %s (%s)", err, synod_strerror(rc));
	}
	return out;
}

/* ---- cluster.json ---- */

/* Writes cluster.json text for the kit's cluster (seats named seat-N). */
static inline size_t fx_cluster_json(const struct synod_testkit *k, char *out, size_t cap)
{
	size_t n = 0;
	char err[256] = "";
	if (synod_cluster_format(&k->cluster, NULL, NULL, out, cap, &n, err, sizeof err) != 0) {
		fail_msg("synod_cluster_format: %s", err);
	}
	return n;
}

/* ---- a deterministic random log ---- */

static inline uint64_t fx_rng(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#define FX_RANDOM_IDS 64u

struct fx_random {
	uint64_t rng;
	uint8_t ids[FX_RANDOM_IDS][SYNOD_HASH_BYTES];
	uint32_t id_count;
	uint32_t nonce;
};

/* One random entry into e (FX_ENTRY_BYTES). */
static inline size_t fx_random_entry(struct fx *f, struct fx_random *r, uint8_t *e)
{
	uint64_t x = fx_rng(&r->rng) % 100;
	size_t len = 0;
	if (x < 12 || r->id_count == 0) {
		uint64_t in_ms = 1000 + fx_rng(&r->rng) % 600000;
		uint8_t *id = r->ids[r->id_count % FX_RANDOM_IDS];
		assert_int_equal(synod_testkit_request(e, FX_ENTRY_BYTES, &len, id,
		                                       f->now_ms + in_ms, r->nonce++),
		                 0);
		r->id_count++;
		return len;
	}
	if (x < 20) {
		f->now_ms += fx_rng(&r->rng) % 30000;
		synod_entry_tick(e, f->now_ms);
		return SYNOD_APP_TICK_BYTES;
	}
	if (x < 22) {
		len = 1 + fx_rng(&r->rng) % 40;
		for (size_t i = 0; i < len; i++) {
			e[i] = (uint8_t)fx_rng(&r->rng);
		}
		return len;
	}
	uint32_t recent = r->id_count < 6 ? r->id_count : 6;
	const uint8_t *id = r->ids[(r->id_count - 1 - fx_rng(&r->rng) % recent) % FX_RANDOM_IDS];
	struct synod_tally t;
	uint64_t epoch = synod_app_tally_get(f->app, id, &t) == 0 ? t.epoch : 0;
	uint64_t y = fx_rng(&r->rng) % 100;
	epoch = y < 3 ? epoch + 1 : epoch;
	uint32_t seat = (uint32_t)(fx_rng(&r->rng) % (f->kit.cluster.policy.seats + 1));
	enum synod_verdict v =
	    fx_rng(&r->rng) % 100 < 70 ? SYNOD_VERDICT_APPROVE : SYNOD_VERDICT_REJECT;
	uint32_t variant = fx_rng(&r->rng) % 100 < 4 ? 1 : 0;
	assert_int_equal(
	    synod_testkit_vote(&f->kit, seat, id, epoch, v, variant, e, FX_ENTRY_BYTES, &len), 0);
	if (y >= 3 && y < 5) {
		e[12] = e[12] == 'A' ? 'B' : 'A'; /* a bad signature */
	}
	return len;
}

/* batches random batches of 1..8 entries, committed and applied to f->app. */
static inline void fx_random_log(struct fx *f, struct fx_random *r, uint32_t batches)
{
	static uint8_t bufs[8][FX_ENTRY_BYTES];
	for (uint32_t b = 0; b < batches; b++) {
		const uint8_t *entries[8];
		size_t lens[8];
		uint32_t n = 1 + (uint32_t)(fx_rng(&r->rng) % 8);
		for (uint32_t i = 0; i < n; i++) {
			lens[i] = fx_random_entry(f, r, bufs[i]);
			entries[i] = bufs[i];
		}
		assert_int_equal(
		    synod_testkit_log_commit_entries(&f->log, f->app, entries, lens, n, NULL), 0);
	}
}

#endif

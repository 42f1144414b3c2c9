/* Snapshots: canonical (equal states, equal bytes), restore round trips to
 * the same bytes and the same later behaviour, and a bad snapshot is refused
 * without touching the state. */
#include "tests/unit/test_app_fixture.h"

#define SNAP_CAP (8u * 1024u * 1024u)

static uint8_t *snap_take(const struct synod_app *a, size_t *len)
{
	uint8_t *buf = malloc(SNAP_CAP);
	assert_non_null(buf);
	assert_int_equal(synod_app_snapshot(a, buf, SNAP_CAP, len), 0);
	return buf;
}

static void snap_expect_equal(const struct synod_app *a, const uint8_t *want, size_t want_len)
{
	size_t len = 0;
	uint8_t *got = snap_take(a, &len);
	assert_int_equal(len, want_len);
	assert_memory_equal(got, want, len);
	free(got);
}

/* A second app of the same cluster, fed from the same log, recording events
 * into its own fixture. */
static struct fx *fx_twin(const struct fx *f)
{
	struct fx *g = calloc(1, sizeof *g);
	assert_non_null(g);
	g->kit = f->kit;
	g->app = fx_app_new(g);
	synod_testkit_log_init(&g->log, &g->kit);
	return g;
}

static void fx_twin_free(struct fx *g)
{
	synod_app_close(g->app);
	free(g);
}

static struct fx *busy_fixture(uint64_t seed, uint32_t batches)
{
	struct synod_policy p;
	synod_policy_defaults(&p);
	p.epoch_decisions = 3;
	p.requests_retained_max = 16;
	p.non_participation = true;
	p.np_missed_decisions_max = 4;
	struct fx *f = fx_new_policy(&p, seed);
	struct fx_random r = {.rng = seed};
	fx_random_log(f, &r, batches);
	return f;
}

/* Two apps fed the same log give the same bytes after every batch. */
static void snapshot_deterministic(void **state)
{
	(void)state;
	struct fx *f = busy_fixture(21, 0);
	struct fx *g = fx_twin(f);
	synod_app_execute(g->app, 1, f->log.batches[0].batch, f->log.batches[0].len);
	struct fx_random r = {.rng = 77};
	size_t len = 0;
	for (uint32_t b = 0; b < 150; b++) {
		fx_random_log(f, &r, 1);
		uint64_t seq = f->log.count;
		synod_app_execute(g->app, seq, f->log.batches[seq - 1].batch,
		                  f->log.batches[seq - 1].len);
		uint8_t *want = snap_take(f->app, &len);
		snap_expect_equal(g->app, want, len);
		assert_true(len <= synod_app_snapshot_bytes_max(&f->kit.cluster.policy));
		free(want);
	}
	struct synod_app_status st;
	synod_app_status_get(f->app, &st);
	assert_true(st.decisions[SYNOD_OUTCOME_APPROVED] + st.decisions[SYNOD_OUTCOME_REJECTED] +
	                st.decisions[SYNOD_OUTCOME_EXPIRED] >
	            10);
	assert_true(st.epoch > 2);
	assert_true(st.votes[SYNOD_VOTE_EQUIVOCATION] > 0);
	fx_twin_free(g);
	fx_free(f);
}

/* Restore at batch k, then the rest of the log: the same bytes at every
 * later batch and the same events as the app that never stopped. */
static void snapshot_restore_round_trip(void **state)
{
	(void)state;
	struct fx *f = busy_fixture(22, 0);
	struct fx_random r = {.rng = 99};
	fx_random_log(f, &r, 200);
	uint64_t n = f->log.count;
	/* snapshots of a reference app after each batch */
	struct fx *ref = fx_twin(f);
	uint8_t **snaps = calloc(n + 1, sizeof *snaps);
	size_t *lens = calloc(n + 1, sizeof *lens);
	uint32_t *events_at = calloc(n + 1, sizeof *events_at);
	for (uint64_t s = 1; s <= n; s++) {
		synod_app_execute(ref->app, s, f->log.batches[s - 1].batch,
		                  f->log.batches[s - 1].len);
		snaps[s] = snap_take(ref->app, &lens[s]);
		events_at[s] = ref->event_count;
	}
	for (uint64_t k = 5; k < n; k += 37) {
		struct fx *g = fx_twin(f);
		assert_int_equal(synod_app_restore(g->app, k, snaps[k], lens[k]), 0);
		assert_int_equal(g->event_count, 0);
		snap_expect_equal(g->app, snaps[k], lens[k]);
		for (uint64_t s = k + 1; s <= n; s++) {
			synod_app_execute(g->app, s, f->log.batches[s - 1].batch,
			                  f->log.batches[s - 1].len);
			snap_expect_equal(g->app, snaps[s], lens[s]);
		}
		/* the same events, in the same order */
		uint32_t from = events_at[k];
		assert_int_equal(g->event_count, ref->event_count - from);
		for (uint32_t i = 0; i < g->event_count; i++) {
			const struct synod_app_event *x = &g->events[i].ev,
			                             *y = &ref->events[from + i].ev;
			assert_int_equal(x->type, y->type);
			assert_int_equal(x->pos.seq, y->pos.seq);
			assert_int_equal(x->pos.index, y->pos.index);
			assert_int_equal(x->reason, y->reason);
			assert_int_equal(x->outcome, y->outcome);
			assert_int_equal(x->epoch, y->epoch);
		}
		fx_twin_free(g);
	}
	for (uint64_t s = 1; s <= n; s++) {
		free(snaps[s]);
	}
	free(snaps);
	free(lens);
	free(events_at);
	fx_twin_free(ref);
	fx_free(f);
}

/* Refusals leave the state as it was. */
static void snapshot_restore_refusals(void **state)
{
	(void)state;
	struct fx *f = busy_fixture(23, 120);
	size_t len = 0;
	uint8_t *snap = snap_take(f->app, &len);
	uint64_t seq = f->log.count;
	struct fx *g = fx_twin(f);
	synod_app_execute(g->app, 1, f->log.batches[0].batch, f->log.batches[0].len);
	size_t glen = 0;
	uint8_t *before = snap_take(g->app, &glen);
	assert_int_equal(synod_app_restore(g->app, seq + 1, snap, len), SYNOD_EINVAL);
	snap_expect_equal(g->app, before, glen);
	/* another cluster */
	struct synod_testkit *other = malloc(sizeof *other);
	assert_non_null(other);
	synod_testkit_init(other, &f->kit.cluster.policy, 4, 999);
	struct fx *h = calloc(1, sizeof *h);
	assert_non_null(h);
	h->kit = *other;
	h->app = fx_app_new(h);
	assert_int_equal(synod_app_restore(h->app, seq, snap, len), SYNOD_ECONFIG);
	/* another policy */
	struct fx *k = calloc(1, sizeof *k);
	assert_non_null(k);
	k->kit = f->kit;
	k->kit.cluster.policy.exclusion_epochs++;
	k->app = fx_app_new(k);
	assert_int_equal(synod_app_restore(k->app, seq, snap, len), SYNOD_ECONFIG);
	/* every truncation */
	for (size_t cut = 0; cut < len; cut += (cut < 512 ? 1 : 97)) {
		assert_int_not_equal(synod_app_restore(g->app, seq, snap, cut), 0);
	}
	snap_expect_equal(g->app, before, glen);
	/* trailing bytes */
	uint8_t *longer = malloc(len + 1);
	memcpy(longer, snap, len);
	longer[len] = 0;
	assert_int_not_equal(synod_app_restore(g->app, seq, longer, len + 1), 0);
	snap_expect_equal(g->app, before, glen);
	free(longer);
	free(before);
	free(snap);
	synod_app_close(h->app);
	free(h);
	synod_app_close(k->app);
	free(k);
	free(other);
	fx_twin_free(g);
	fx_free(f);
}

/* Any byte changed: refused (state unchanged) or accepted, and then the
 * snapshot reproduces exactly the bytes restored (canonical both ways). */
static void snapshot_byte_flips(void **state)
{
	(void)state;
	struct fx *f = busy_fixture(24, 60);
	size_t len = 0;
	uint8_t *snap = snap_take(f->app, &len);
	uint64_t seq = f->log.count;
	struct fx *g = fx_twin(f);
	uint8_t *m = malloc(len);
	size_t accepted = 0, refused = 0;
	for (size_t i = 0; i < len; i += 3) {
		memcpy(m, snap, len);
		m[i] ^= (uint8_t)(1u << (i % 8));
		if (synod_app_restore(g->app, seq, m, len) == 0) {
			snap_expect_equal(g->app, m, len);
			accepted++;
		} else {
			refused++;
		}
	}
	assert_true(accepted > 0 && refused > 0);
	free(m);
	free(snap);
	fx_twin_free(g);
	fx_free(f);
}

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The offset of the exclusion section (layout: snapshot.c, README.md). */
static size_t snap_exclusions_offset(const uint8_t *snap, uint32_t seats)
{
	/* magic, version, the log of decisions (size, root, frontier) */
	uint64_t decisions = 0;
	for (int i = 0; i < 8; i++) {
		decisions = decisions << 8 | snap[8 + i];
	}
	size_t off = 4 + 4 + 8 + 32 + 32 * (size_t)__builtin_popcountll(decisions);
	off += 32 + 8 + 12 + 8 + 8 + 64; /* to the history count */
	off += 4 + (size_t)be32_at(snap + off) * 64;
	off += 8 * (SYNOD_OUTCOME_COUNT + SYNOD_VOTE_REASON_COUNT + SYNOD_SUBMIT_RESULT_COUNT + 4);
	off += (size_t)seats * (4 + 32);
	off += 4 + (size_t)be32_at(snap + off) * (12 + 3 + 32);
	return off;
}

/* Exclusion records in a snapshot must be ones the state machine could
 * make: a copy of a record for another seat is fine; the same seat twice
 * (overlapping epochs), a start that is not the epoch after detection, or a
 * span other than the policy's are refused (epoch.c relies on at most two
 * live records per seat to always find a free one). */
static void snapshot_refuses_impossible_exclusions(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint8_t id[32];
	fx_submit(f, 3600000, 1, id);
	fx_vote(f, 3, id, 0, SYNOD_VERDICT_APPROVE, 0);
	fx_vote(f, 3, id, 0, SYNOD_VERDICT_REJECT, 0);
	assert_int_equal(synod_app_exclusion_count(f->app), 1);
	size_t len = 0;
	uint8_t *snap = snap_take(f->app, &len);
	const size_t rec = 4 + 2 + 4 * 8 + 32 + 2 * (12 + 32) + 8;
	size_t off = snap_exclusions_offset(snap, 33);
	assert_int_equal(be32_at(snap + off), 1);
	assert_int_equal(be32_at(snap + off + 4), 0); /* table index 0 */
	assert_int_equal(snap[off + 8], 3);           /* seat 3 */
	/* edits of the copy (record offsets: seat 4, from 6..13, until 14..21,
	 * detected 22..29; big-endian, so the low byte is the last) */
	enum { OTHER_SEAT, SAME_SEAT, FROM_LATE, SPAN_LONG, CASES };
	for (int c = 0; c < CASES; c++) {
		uint8_t *m = malloc(len + rec);
		memcpy(m, snap, off + 4 + rec);
		uint8_t *copy = m + off + 4 + rec;
		memcpy(copy, snap + off + 4, rec);
		copy[3] = 1; /* table index 1 */
		copy[4] = c == SAME_SEAT ? 3 : 4;
		if (c == FROM_LATE) {
			copy[6 + 7]++;
			copy[14 + 7]++;
		} else if (c == SPAN_LONG) {
			copy[14 + 7]++;
		}
		memcpy(m + off + 4 + 2 * rec, snap + off + 4 + rec, len - off - 4 - rec);
		m[off + 3] = 2;
		struct fx *g = fx_twin(f);
		int rc = synod_app_restore(g->app, f->log.count, m, len + rec);
		if (c == OTHER_SEAT) {
			assert_int_equal(rc, 0);
			snap_expect_equal(g->app, m, len + rec);
		} else if (rc != SYNOD_EINVAL) {
			fail_msg("case %d: restore gave %d, want SYNOD_EINVAL", c, rc);
		}
		fx_twin_free(g);
		free(m);
	}
	free(snap);
	fx_free(f);
}

/* The PBFT callback table reaches the same functions. */
static void snapshot_through_pbft_table(void **state)
{
	(void)state;
	struct fx *f = busy_fixture(25, 30);
	struct pbft_app t = synod_app_pbft(f->app);
	assert_ptr_equal(t.ctx, f->app);
	uint8_t *buf = malloc(SNAP_CAP);
	size_t len = 0;
	assert_int_equal(t.snapshot(t.ctx, buf, SNAP_CAP, &len), 0);
	assert_int_equal(t.snapshot(t.ctx, buf, len - 1, &len), SYNOD_ELIMIT);
	assert_int_equal(t.snapshot(t.ctx, buf, SNAP_CAP, &len), 0);
	struct fx *g = fx_twin(f);
	struct pbft_app u = synod_app_pbft(g->app);
	assert_int_equal(u.restore(u.ctx, f->log.count, buf, len), 0);
	snap_expect_equal(g->app, buf, len);
	free(buf);
	fx_twin_free(g);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(snapshot_deterministic),
	    cmocka_unit_test(snapshot_restore_round_trip),
	    cmocka_unit_test(snapshot_restore_refusals),
	    cmocka_unit_test(snapshot_byte_flips),
	    cmocka_unit_test(snapshot_refuses_impossible_exclusions),
	    cmocka_unit_test(snapshot_through_pbft_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

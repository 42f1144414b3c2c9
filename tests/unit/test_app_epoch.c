/* Epochs and exclusions: advancing by decisions and by log time, exclusion of
 * an equivocating seat with checkable evidence, its end, non-participation
 * (off by default), and requests staying in the epoch they were submitted in. */
#include "tests/unit/test_app_fixture.h"

#include "common/hash.h"

#define HOUR_MS 3600000ull

static uint64_t app_all(uint32_t n)
{
	return n == 64 ? UINT64_MAX : (UINT64_C(1) << n) - 1;
}

static uint32_t app_popcount_test(uint64_t x)
{
	return (uint32_t)__builtin_popcountll(x);
}

static struct synod_policy policy_with(uint64_t decisions, uint64_t log_time_ms, uint64_t excl)
{
	struct synod_policy p;
	synod_policy_defaults(&p);
	p.epoch_decisions = decisions;
	p.epoch_log_time_ms = log_time_ms;
	p.exclusion_epochs = excl;
	return p;
}

/* Rejects id quickly with 12 rejections from seats [from, from+12). */
static void reject_quickly(struct fx *f, const uint8_t id[32], uint64_t epoch, uint32_t from)
{
	fx_votes(f, from, from + 12, id, epoch, SYNOD_VERDICT_REJECT, 12);
	assert_int_not_equal(fx_tally(f, id).outcome, SYNOD_OUTCOME_OPEN);
}

static void epoch_advances_by_decisions(void **state)
{
	(void)state;
	struct synod_policy p = policy_with(2, 0, 1);
	struct fx *f = fx_new_policy(&p, 31);
	uint8_t a[32], b[32], c[32];
	fx_submit(f, HOUR_MS, 1, a);
	fx_submit(f, HOUR_MS, 2, b);
	reject_quickly(f, a, 0, 0);
	assert_int_equal(fx_epoch(f), 0);
	reject_quickly(f, b, 0, 0);
	assert_int_equal(fx_epoch(f), 1);
	assert_int_equal(fx_count_events(f, SYNOD_APP_EV_EPOCH), 1);
	struct synod_epoch e;
	assert_int_equal(synod_app_epoch_find(f->app, 0, &e), 0);
	assert_int_equal(e.decisions, 2);
	assert_int_equal(synod_app_epoch_find(f->app, 1, &e), 0);
	assert_int_equal(e.decisions, 0);
	assert_int_equal(e.start_log_time_ms, f->now_ms);
	assert_int_equal(synod_app_epoch_find(f->app, 2, &e), SYNOD_ENOTFOUND);
	fx_submit(f, HOUR_MS, 3, c);
	assert_int_equal(fx_tally(f, c).epoch, 1);
	fx_free(f);
}

static void epoch_advances_by_log_time(void **state)
{
	(void)state;
	struct synod_policy p = policy_with(0, 60000, 1);
	struct fx *f = fx_new_policy(&p, 32);
	uint64_t t0 = f->now_ms;
	fx_tick(f, t0 + 59999);
	assert_int_equal(fx_epoch(f), 0);
	fx_tick(f, t0 + 60000);
	assert_int_equal(fx_epoch(f), 1);
	struct synod_epoch e;
	synod_app_epoch_get(f->app, &e);
	assert_int_equal(e.start_log_time_ms, t0 + 60000);
	fx_tick(f, t0 + 200000); /* one advance per TICK, from its log time */
	assert_int_equal(fx_epoch(f), 2);
	fx_free(f);
}

/* Fetches the VOTE payload at pos from the log. */
static const uint8_t *log_vote(const struct fx *f, struct synod_app_pos pos, size_t *len)
{
	struct synod_bundle_batch bb;
	assert_int_equal(synod_testkit_log_lookup((void *)&f->log, pos.seq, &bb), 0);
	struct pbft_msg_limits lim = {.replicas = 4,
	                              .batch_entries_max = PBFT_BATCH_ENTRIES_LIMIT,
	                              .batch_bytes_max = PBFT_BATCH_BYTES_LIMIT,
	                              .entry_bytes_max = PBFT_ENTRY_BYTES_LIMIT};
	struct pbft_batch_iter it;
	assert_int_equal(pbft_batch_iter_init(&it, bb.batch, bb.batch_len, &lim), 0);
	const uint8_t *e = NULL;
	uint32_t n = 0;
	for (uint32_t i = 0; i <= pos.index; i++) {
		assert_int_equal(pbft_batch_iter_next(&it, &e, &n), 1);
	}
	assert_int_equal(e[0], SYNOD_ENTRY_VOTE);
	*len = n - 1u;
	return e + 1;
}

static void check_exclusion(const struct fx *f, const struct synod_exclusion *x, const uint8_t *a,
                            size_t al, const uint8_t *b, size_t bl, const char *needle)
{
	char err[512] = "";
	int rc = synod_exclusion_check(&f->kit.cluster, x, a, al, b, bl, err, sizeof err);
	if (needle == NULL) {
		if (rc != 0) {
			fail_msg("exclusion check failed: %s", err);
		}
		return;
	}
	assert_int_equal(rc, SYNOD_EINVAL);
	if (strstr(err, needle) == NULL) {
		fail_msg("\"%s\" lacks \"%s\"", err, needle);
	}
}

/* An equivocation excludes the seat from the next epoch for exclusion_epochs
 * epochs, with two committed votes as evidence that anyone can check. */
static void epoch_exclusion_with_evidence(void **state)
{
	(void)state;
	struct synod_policy p = policy_with(1, 0, 2);
	struct fx *f = fx_new_policy(&p, 33);
	uint8_t a[32], b[32];
	fx_submit(f, HOUR_MS, 1, a);
	fx_vote(f, 9, a, 0, SYNOD_VERDICT_APPROVE, 0);
	fx_vote(f, 9, a, 0, SYNOD_VERDICT_REJECT, 0);
	assert_int_equal(fx_count_events(f, SYNOD_APP_EV_EXCLUDED), 1);
	assert_int_equal(synod_app_exclusion_count(f->app), 1);
	struct synod_exclusion x;
	assert_int_equal(synod_app_exclusion_get(f->app, 0, &x), 0);
	assert_int_equal(x.seat, 9);
	assert_int_equal(x.kind, SYNOD_EXCLUSION_EQUIVOCATION);
	assert_int_equal(x.from_epoch, 1);
	assert_int_equal(x.until_epoch, 3);
	assert_int_equal(x.detected_epoch, 0);
	assert_memory_equal(x.request_id, a, 32);
	assert_int_equal(x.vote_pos[1].seq, fx_last_pos(f).seq);
	assert_int_equal(x.vote_pos[0].seq, fx_last_pos(f).seq - 1);
	size_t la = 0, lb = 0;
	const uint8_t *va = log_vote(f, x.vote_pos[0], &la);
	const uint8_t *vb = log_vote(f, x.vote_pos[1], &lb);
	check_exclusion(f, &x, va, la, vb, lb, NULL);
	/* the evidence is checked, not trusted */
	check_exclusion(f, &x, va, la, va, la, "is not the vote the record names");
	struct synod_exclusion y = x;
	memcpy(y.vote_digest[1], y.vote_digest[0], 32);
	check_exclusion(f, &y, va, la, va, la, "the same vote");
	y = x;
	y.seat = 10;
	check_exclusion(f, &y, va, la, vb, lb, "another seat");
	y = x;
	y.until_epoch++;
	check_exclusion(f, &y, va, la, vb, lb, "policy's 2 epochs");
	y = x;
	y.from_epoch = 0;
	y.until_epoch = 2;
	check_exclusion(f, &y, va, la, vb, lb, "epochs 0..2");
	y = x;
	y.request_id[0] ^= 1;
	check_exclusion(f, &y, va, la, vb, lb, "another request");
	uint8_t forged[FX_ENTRY_BYTES];
	memcpy(forged, vb, lb);
	forged[10] = forged[10] == 'A' ? 'B' : 'A';
	check_exclusion(f, &x, va, la, forged, lb, "valid signature");
	/* two validly signed votes naming different epochs are no equivocation
	 * (the app would have ignored one as wrong_epoch); the record is widened
	 * so that both epochs come before its start */
	uint8_t other[FX_ENTRY_BYTES];
	size_t lo = 0;
	fx_vote_entry(f, 9, a, 1, SYNOD_VERDICT_REJECT, 0, other, &lo);
	y = x;
	y.from_epoch = 2;
	y.until_epoch = 4;
	struct synod_vote_envelope oe;
	assert_int_equal(synod_vote_decode(&oe, (const char *)other + 1, lo - 1, NULL, 0), 0);
	synod_sha256(y.vote_digest[1], other + 1 + oe.signed_offset, oe.signed_len);
	check_exclusion(f, &y, va, la, other + 1, lo - 1, "different epochs");
	/* in force from epoch 1 */
	struct synod_epoch e0, e1;
	synod_app_epoch_get(f->app, &e0);
	assert_int_equal(e0.eligible, app_all(33));
	reject_quickly(f, a, 0, 20);
	synod_app_epoch_get(f->app, &e1);
	assert_int_equal(e1.number, 1);
	assert_int_equal(e1.eligible, app_all(33) & ~(UINT64_C(1) << 9));
	uint8_t vsh[32];
	synod_voter_set_hash(vsh, &f->kit.cluster, e1.eligible);
	assert_memory_equal(vsh, e1.voter_set_hash, 32);
	assert_memory_not_equal(e0.voter_set_hash, e1.voter_set_hash, 32);
	/* epochs 1 and 2 exclude seat 9; epoch 3 does not */
	fx_submit(f, HOUR_MS, 2, b);
	reject_quickly(f, b, 1, 20);
	assert_int_equal(fx_epoch(f), 2);
	assert_int_equal(fx_tally(f, b).eligible, e1.eligible);
	fx_submit(f, HOUR_MS, 3, b);
	assert_true((fx_tally(f, b).eligible >> 9 & 1u) == 0);
	reject_quickly(f, b, 2, 20);
	assert_int_equal(fx_epoch(f), 3);
	fx_submit(f, HOUR_MS, 4, b);
	assert_int_equal(fx_tally(f, b).eligible, app_all(33));
	fx_free(f);
}

/* A seat already excluded for the next epoch gets no second record. */
static void epoch_no_second_record(void **state)
{
	(void)state;
	struct synod_policy p = policy_with(100, 0, 3);
	struct fx *f = fx_new_policy(&p, 34);
	uint8_t a[32], b[32];
	fx_submit(f, HOUR_MS, 1, a);
	fx_submit(f, HOUR_MS, 2, b);
	fx_vote(f, 4, a, 0, SYNOD_VERDICT_APPROVE, 0);
	fx_vote(f, 4, a, 0, SYNOD_VERDICT_APPROVE, 1);
	fx_vote(f, 4, b, 0, SYNOD_VERDICT_APPROVE, 0);
	fx_vote(f, 4, b, 0, SYNOD_VERDICT_REJECT, 0);
	assert_int_equal(fx_last_reason(f), SYNOD_VOTE_EQUIVOCATION);
	assert_int_equal(synod_app_exclusion_count(f->app), 1);
	fx_vote(f, 4, a, 0, SYNOD_VERDICT_REJECT, 5); /* a third vote on a */
	assert_int_equal(fx_last_reason(f), SYNOD_VOTE_EQUIVOCATION);
	assert_int_equal(synod_app_exclusion_count(f->app), 1);
	assert_int_equal(fx_tally(f, b).equivocators, UINT64_C(1) << 4);
	fx_free(f);
}

/* A request keeps its epoch: its votes name it even after the epoch moved. */
static void epoch_request_keeps_its_epoch(void **state)
{
	(void)state;
	struct synod_policy p = policy_with(1, 0, 1);
	struct fx *f = fx_new_policy(&p, 35);
	uint8_t a[32], b[32];
	fx_submit(f, HOUR_MS, 1, a);
	fx_submit(f, HOUR_MS, 2, b);
	reject_quickly(f, a, 0, 0);
	assert_int_equal(fx_epoch(f), 1);
	fx_vote(f, 0, b, 1, SYNOD_VERDICT_APPROVE, 0);
	assert_int_equal(fx_last_reason(f), SYNOD_VOTE_WRONG_EPOCH);
	fx_votes(f, 0, 22, b, 0, SYNOD_VERDICT_APPROVE, 11);
	assert_int_equal(fx_tally(f, b).outcome, SYNOD_OUTCOME_APPROVED);
	fx_free(f);
}

/* Too few eligible seats to approve: rejected on arrival. */
static void epoch_rejected_on_arrival(void **state)
{
	(void)state;
	struct synod_policy p = policy_with(1, 0, 5);
	p.seats = 4;
	p.threshold = 3;
	struct fx *f = fx_new_policy(&p, 36);
	uint8_t a[32], b[32];
	fx_submit(f, HOUR_MS, 1, a);
	fx_vote(f, 0, a, 0, SYNOD_VERDICT_APPROVE, 0);
	fx_vote(f, 0, a, 0, SYNOD_VERDICT_REJECT, 0);
	fx_vote(f, 1, a, 0, SYNOD_VERDICT_APPROVE, 0);
	fx_vote(f, 1, a, 0, SYNOD_VERDICT_REJECT, 0); /* 2 of 4 left: rejected */
	assert_int_equal(fx_tally(f, a).outcome, SYNOD_OUTCOME_REJECTED);
	assert_int_equal(fx_epoch(f), 1);
	fx_submit(f, HOUR_MS, 2, b);
	struct synod_tally t = fx_tally(f, b);
	assert_int_equal(t.outcome, SYNOD_OUTCOME_REJECTED);
	assert_int_equal(synod_app_pos_cmp(t.decided_at, t.submitted_at), 0);
	assert_int_equal(t.eligible, 0xcu);
	fx_free(f);
}

/* Non-participation is off by default: a silent seat is never excluded. With
 * it on, missed_decisions_max decisions in a row exclude the seat at the next
 * epoch boundary; a vote (even a late one) resets the count. */
static void epoch_non_participation(void **state)
{
	(void)state;
	for (int on = 0; on < 2; on++) {
		struct synod_policy p = policy_with(2, 0, 1);
		p.non_participation = on == 1;
		p.np_missed_decisions_max = 2;
		struct fx *f = fx_new_policy(&p, 37);
		uint8_t ids[4][32];
		for (uint32_t i = 0; i < 4; i++) {
			fx_submit(f, HOUR_MS, i + 1, ids[i]);
			/* seats 0..21 approve; 22..32 stay silent, but seat 30 votes
			 * late on the first request */
			fx_votes(f, 0, 22, ids[i], i < 2 ? 0 : 1, SYNOD_VERDICT_APPROVE, 22);
			assert_int_equal(fx_tally(f, ids[i]).outcome, SYNOD_OUTCOME_APPROVED);
			if (i == 0) {
				fx_vote(f, 30, ids[i], 0, SYNOD_VERDICT_APPROVE, 0);
				assert_int_equal(fx_last_reason(f), SYNOD_VOTE_CLOSED_REQUEST);
			}
			if (i != 1) {
				continue;
			}
			assert_int_equal(fx_epoch(f), 1);
			uint32_t n = synod_app_exclusion_count(f->app);
			if (!on) {
				assert_int_equal(n, 0);
				continue;
			}
			/* two decisions missed in a row: seats 22..32 but 30 */
			assert_int_equal(n, 10);
			for (uint32_t k = 0; k < n; k++) {
				struct synod_exclusion x;
				assert_int_equal(synod_app_exclusion_get(f->app, k, &x), 0);
				assert_int_equal(x.kind, SYNOD_EXCLUSION_NON_PARTICIPATION);
				assert_true(x.seat >= 22 && x.seat != 30);
				assert_int_equal(x.from_epoch, 1);
				assert_int_equal(x.missed, 2);
				check_exclusion(f, &x, NULL, 0, NULL, 0, NULL);
			}
			struct synod_epoch e;
			synod_app_epoch_get(f->app, &e);
			assert_int_equal(app_popcount_test(e.eligible), 23);
		}
		assert_int_equal(fx_epoch(f), 2);
		/* seat 30 then missed both decisions of epoch 1 */
		assert_int_equal(synod_app_exclusion_count(f->app), on ? 11u : 0u);
		fx_free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(epoch_advances_by_decisions),
	    cmocka_unit_test(epoch_advances_by_log_time),
	    cmocka_unit_test(epoch_exclusion_with_evidence),
	    cmocka_unit_test(epoch_no_second_record),
	    cmocka_unit_test(epoch_request_keeps_its_epoch),
	    cmocka_unit_test(epoch_rejected_on_arrival),
	    cmocka_unit_test(epoch_non_participation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

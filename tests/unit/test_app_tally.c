/* The tally: the 22-of-33 threshold, rejection when it can no longer be
 * reached, expiry, equivocation, exclusion, and every reason a vote can be
 * ignored for. Votes go through the real path: signed entries, committed in
 * certified batches, executed by synod_app_execute. */
#include "tests/unit/test_app_fixture.h"

#define HOUR_MS 3600000ull

static void expect_open(const struct fx *f, const uint8_t id[32], uint32_t approvals,
                        uint32_t rejections)
{
	struct synod_tally t = fx_tally(f, id);
	assert_int_equal(t.outcome, SYNOD_OUTCOME_OPEN);
	assert_int_equal(t.approvals, approvals);
	assert_int_equal(t.rejections, rejections);
}

/* 21 approvals do not approve; the request is rejected at the 12th
 * rejection, when 22 approvals can no longer be reached. */
static void tally_21_approvals_then_rejected(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint8_t id[32];
	fx_submit(f, HOUR_MS, 1, id);
	fx_votes(f, 0, 21, id, 0, SYNOD_VERDICT_APPROVE, 5);
	expect_open(f, id, 21, 0);
	fx_votes(f, 21, 32, id, 0, SYNOD_VERDICT_REJECT, 4);
	expect_open(f, id, 21, 11); /* 21 + one silent seat could still reach 22 */
	fx_vote(f, 32, id, 0, SYNOD_VERDICT_REJECT, 0);
	struct synod_tally t = fx_tally(f, id);
	assert_int_equal(t.outcome, SYNOD_OUTCOME_REJECTED);
	assert_int_equal(t.approvals, 21);
	assert_int_equal(t.rejections, 12);
	assert_int_equal(t.decided_at.seq, fx_last_pos(f).seq);
	fx_free(f);
}

/* 12 rejections reject at once: 33 - 12 = 21 < 22. */
static void tally_12_rejections_reject(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint8_t id[32];
	fx_submit(f, HOUR_MS, 1, id);
	fx_votes(f, 0, 11, id, 0, SYNOD_VERDICT_REJECT, 11);
	expect_open(f, id, 0, 11);
	fx_vote(f, 20, id, 0, SYNOD_VERDICT_REJECT, 0);
	assert_int_equal(fx_tally(f, id).outcome, SYNOD_OUTCOME_REJECTED);
	fx_free(f);
}

/* 22 approvals approve, at the 22nd; a 23rd is kept as late. */
static void tally_22_approvals_approve(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint8_t id[32];
	fx_submit(f, HOUR_MS, 1, id);
	fx_votes(f, 0, 21, id, 0, SYNOD_VERDICT_APPROVE, 7);
	expect_open(f, id, 21, 0);
	fx_vote(f, 30, id, 0, SYNOD_VERDICT_APPROVE, 0);
	struct synod_tally t = fx_tally(f, id);
	assert_int_equal(t.outcome, SYNOD_OUTCOME_APPROVED);
	assert_int_equal(t.approvals, 22);
	assert_true((t.approved_by >> 30 & 1u) != 0);
	assert_int_equal(t.decided_at.seq, fx_last_pos(f).seq);
	assert_int_equal(fx_count_events(f, SYNOD_APP_EV_DECIDED), 1);
	fx_vote(f, 31, id, 0, SYNOD_VERDICT_REJECT, 0);
	assert_int_equal(fx_last_reason(f), SYNOD_VOTE_CLOSED_REQUEST);
	t = fx_tally(f, id);
	assert_int_equal(t.outcome, SYNOD_OUTCOME_APPROVED); /* final */
	assert_int_equal(t.rejections, 0);
	fx_free(f);
}

/* Approvals in one batch: the decision is at the exact entry. */
static void tally_decided_at_the_22nd_entry(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint8_t id[32];
	fx_submit(f, HOUR_MS, 1, id);
	fx_votes(f, 0, 25, id, 0, SYNOD_VERDICT_APPROVE, 25);
	struct synod_tally t = fx_tally(f, id);
	assert_int_equal(t.outcome, SYNOD_OUTCOME_APPROVED);
	assert_int_equal(t.decided_at.index, 21);
	assert_int_equal(t.approvals, 22);
	struct synod_app_status st;
	synod_app_status_get(f->app, &st);
	assert_int_equal(st.votes[SYNOD_VOTE_CLOSED_REQUEST], 3);
	fx_free(f);
}

/* Seat 5 equivocates on request A in epoch 0 and is excluded from epoch 1;
 * in epoch 1, 22 approvals of which one is seat 5's do not approve B. */
static void tally_22_with_an_excluded_seat(void **state)
{
	(void)state;
	struct synod_policy p;
	synod_policy_defaults(&p);
	p.epoch_decisions = 1;
	struct fx *f = fx_new_policy(&p, 2);
	uint8_t a[32], b[32];
	fx_submit(f, HOUR_MS, 1, a);
	fx_vote(f, 5, a, 0, SYNOD_VERDICT_APPROVE, 0);
	fx_vote(f, 5, a, 0, SYNOD_VERDICT_REJECT, 0);
	assert_int_equal(fx_last_reason(f), SYNOD_VOTE_EQUIVOCATION);
	fx_votes(f, 10, 22, a, 0, SYNOD_VERDICT_REJECT, 12); /* decides A: epoch 1 begins */
	assert_int_equal(fx_tally(f, a).outcome, SYNOD_OUTCOME_REJECTED);
	assert_int_equal(fx_epoch(f), 1);
	fx_submit(f, HOUR_MS, 2, b);
	struct synod_tally t = fx_tally(f, b);
	assert_int_equal(t.epoch, 1);
	assert_true((t.eligible >> 5 & 1u) == 0);
	fx_votes(f, 0, 5, b, 1, SYNOD_VERDICT_APPROVE, 5);
	fx_vote(f, 5, b, 1, SYNOD_VERDICT_APPROVE, 0);
	assert_int_equal(fx_last_reason(f), SYNOD_VOTE_EXCLUDED_SEAT);
	fx_votes(f, 6, 22, b, 1, SYNOD_VERDICT_APPROVE, 8);
	expect_open(f, b, 21, 0); /* 22 approvals sent, 21 count */
	fx_vote(f, 22, b, 1, SYNOD_VERDICT_APPROVE, 0);
	assert_int_equal(fx_tally(f, b).outcome, SYNOD_OUTCOME_APPROVED);
	fx_free(f);
}

/* 22 approvals, one from a seat that then signs a REJECT too: neither of its
 * votes counts, so 21 approvals remain. */
static void tally_22_with_an_equivocating_seat(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint8_t id[32];
	fx_submit(f, HOUR_MS, 1, id);
	fx_votes(f, 0, 21, id, 0, SYNOD_VERDICT_APPROVE, 21);
	fx_vote(f, 3, id, 0, SYNOD_VERDICT_REJECT, 0); /* seat 3's second vote */
	assert_int_equal(fx_last_reason(f), SYNOD_VOTE_EQUIVOCATION);
	expect_open(f, id, 20, 0);
	fx_vote(f, 21, id, 0, SYNOD_VERDICT_APPROVE, 0); /* the 22nd approval sent */
	struct synod_tally t = fx_tally(f, id);
	assert_int_equal(t.outcome, SYNOD_OUTCOME_OPEN);
	assert_int_equal(t.approvals, 21);
	assert_int_equal(t.equivocators, UINT64_C(1) << 3);
	assert_int_equal(synod_app_exclusion_count(f->app), 1);
	fx_vote(f, 3, id, 0, SYNOD_VERDICT_APPROVE, 0); /* its first vote again */
	assert_int_equal(fx_last_reason(f), SYNOD_VOTE_DUPLICATE);
	expect_open(f, id, 21, 0);
	fx_vote(f, 22, id, 0, SYNOD_VERDICT_APPROVE, 0);
	assert_int_equal(fx_tally(f, id).outcome, SYNOD_OUTCOME_APPROVED);
	fx_free(f);
}

/* An equivocation that removes the approval that made 22 reachable rejects. */
static void tally_equivocation_can_reject(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint8_t id[32];
	fx_submit(f, HOUR_MS, 1, id);
	fx_votes(f, 0, 11, id, 0, SYNOD_VERDICT_REJECT, 11); /* 22 reachable exactly */
	fx_vote(f, 11, id, 0, SYNOD_VERDICT_APPROVE, 0);
	expect_open(f, id, 1, 11);
	fx_vote(f, 11, id, 0, SYNOD_VERDICT_APPROVE, 1); /* a different APPROVE */
	struct synod_tally t = fx_tally(f, id);
	assert_int_equal(t.outcome, SYNOD_OUTCOME_REJECTED);
	assert_int_equal(t.approvals, 0);
	fx_free(f);
}

/* The 22nd approval after the deadline: the request expired first. */
static void tally_22nd_after_deadline_expires(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint8_t id[32];
	fx_submit(f, 60000, 1, id);
	fx_votes(f, 0, 21, id, 0, SYNOD_VERDICT_APPROVE, 3);
	fx_tick(f, f->now_ms + 59999);
	expect_open(f, id, 21, 0);
	fx_tick(f, f->now_ms + 1); /* log time == deadline */
	struct synod_tally t = fx_tally(f, id);
	assert_int_equal(t.outcome, SYNOD_OUTCOME_EXPIRED);
	assert_int_equal(t.decided_at.seq, fx_last_pos(f).seq);
	fx_vote(f, 21, id, 0, SYNOD_VERDICT_APPROVE, 0);
	assert_int_equal(fx_last_reason(f), SYNOD_VOTE_CLOSED_REQUEST);
	assert_int_equal(fx_tally(f, id).outcome, SYNOD_OUTCOME_EXPIRED);
	fx_free(f);
}

/* A backwards TICK in a committed batch is ignored: log time is monotonic. */
static void tally_backwards_tick_ignored(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint8_t id[32];
	fx_submit(f, 1000, 1, id);
	uint64_t t0 = f->now_ms;
	fx_tick(f, t0 + 2000);
	assert_int_equal(fx_tally(f, id).outcome, SYNOD_OUTCOME_EXPIRED);
	uint8_t id2[32];
	fx_submit(f, 1000, 2, id2);
	fx_tick(f, t0); /* backwards */
	struct synod_app_status st;
	synod_app_status_get(f->app, &st);
	assert_int_equal(st.ticks_backwards, 1);
	assert_int_equal(st.log_time_ms, t0 + 2000);
	assert_int_equal(fx_tally(f, id2).outcome, SYNOD_OUTCOME_OPEN);
	fx_free(f);
}

/* The same vote again, alone or in one batch, changes nothing. */
static void tally_identical_vote_idempotent(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint8_t id[32], e[FX_ENTRY_BYTES];
	size_t len = 0;
	fx_submit(f, HOUR_MS, 1, id);
	fx_vote_entry(f, 7, id, 0, SYNOD_VERDICT_APPROVE, 0, e, &len);
	fx_entry(f, e, len);
	struct synod_tally before = fx_tally(f, id);
	fx_entry(f, e, len);
	assert_int_equal(fx_last_reason(f), SYNOD_VOTE_DUPLICATE);
	const uint8_t *entries[3] = {e, e, e};
	size_t lens[3] = {len, len, len};
	assert_int_equal(synod_testkit_log_commit_entries(&f->log, f->app, entries, lens, 3, NULL),
	                 0);
	struct synod_tally after = fx_tally(f, id);
	assert_true(synod_tally_equal(&before, &after));
	assert_int_equal(after.approvals, 1);
	assert_int_equal(synod_app_exclusion_count(f->app), 0);
	struct synod_app_status st;
	synod_app_status_get(f->app, &st);
	assert_int_equal(st.votes[SYNOD_VOTE_DUPLICATE], 4);
	assert_int_equal(st.votes[SYNOD_VOTE_COUNTED], 1);
	fx_free(f);
}

/* ---- each reason a vote is ignored for ---- */

static void reason_bad_signature(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint8_t id[32], e[FX_ENTRY_BYTES];
	size_t len = 0;
	fx_submit(f, HOUR_MS, 1, id);
	struct synod_vote v;
	memset(&v, 0, sizeof v);
	memcpy(v.cluster_id, f->kit.cluster.cluster_id, 32);
	memcpy(v.request_id, id, 32);
	v.seat = 4;
	v.verdict = SYNOD_VERDICT_APPROVE;
	snprintf(v.plugin_name, sizeof v.plugin_name, "p");
	snprintf(v.plugin_version, sizeof v.plugin_version, "1");
	/* seat 4's vote signed with seat 5's key */
	assert_int_equal(synod_testkit_vote_sign(&f->kit.seats[5], &v, e, sizeof e, &len), 0);
	fx_entry(f, e, len);
	assert_int_equal(fx_last_reason(f), SYNOD_VOTE_BAD_SIGNATURE);
	/* a valid vote with one signature byte changed */
	fx_vote_entry(f, 4, id, 0, SYNOD_VERDICT_APPROVE, 0, e, &len);
	e[20] = e[20] == 'A' ? 'B' : 'A';
	fx_entry(f, e, len);
	assert_int_equal(fx_last_reason(f), SYNOD_VOTE_BAD_SIGNATURE);
	expect_open(f, id, 0, 0);
	fx_free(f);
}

static void reason_unknown_request(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint8_t id[32] = {1, 2, 3};
	fx_vote(f, 1, id, 0, SYNOD_VERDICT_APPROVE, 0);
	assert_int_equal(fx_last_reason(f), SYNOD_VOTE_UNKNOWN_REQUEST);
	fx_free(f);
}

static void reason_wrong_epoch(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint8_t id[32];
	fx_submit(f, HOUR_MS, 1, id);
	fx_vote(f, 1, id, 1, SYNOD_VERDICT_APPROVE, 0);
	assert_int_equal(fx_last_reason(f), SYNOD_VOTE_WRONG_EPOCH);
	/* not counted, and the seat may still vote right: no equivocation */
	fx_vote(f, 1, id, 0, SYNOD_VERDICT_REJECT, 0);
	assert_int_equal(fx_last_reason(f), SYNOD_VOTE_COUNTED);
	expect_open(f, id, 0, 1);
	fx_free(f);
}

static void reason_wrong_cluster(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint8_t id[32], e[FX_ENTRY_BYTES];
	size_t len = 0;
	fx_submit(f, HOUR_MS, 1, id);
	struct synod_vote v;
	memset(&v, 0, sizeof v);
	memset(v.cluster_id, 0xee, 32);
	memcpy(v.request_id, id, 32);
	v.seat = 2;
	v.verdict = SYNOD_VERDICT_APPROVE;
	snprintf(v.plugin_name, sizeof v.plugin_name, "p");
	snprintf(v.plugin_version, sizeof v.plugin_version, "1");
	assert_int_equal(synod_testkit_vote_sign(&f->kit.seats[2], &v, e, sizeof e, &len), 0);
	fx_entry(f, e, len);
	assert_int_equal(fx_last_reason(f), SYNOD_VOTE_WRONG_CLUSTER);
	fx_free(f);
}

static void reason_unknown_seat(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint8_t id[32], e[FX_ENTRY_BYTES];
	size_t len = 0;
	fx_submit(f, HOUR_MS, 1, id);
	struct synod_vote v;
	memset(&v, 0, sizeof v);
	memcpy(v.cluster_id, f->kit.cluster.cluster_id, 32);
	memcpy(v.request_id, id, 32);
	v.seat = 33;
	v.verdict = SYNOD_VERDICT_APPROVE;
	snprintf(v.plugin_name, sizeof v.plugin_name, "p");
	snprintf(v.plugin_version, sizeof v.plugin_version, "1");
	assert_int_equal(synod_testkit_vote_sign(&f->kit.seats[0], &v, e, sizeof e, &len), 0);
	fx_entry(f, e, len);
	assert_int_equal(fx_last_reason(f), SYNOD_VOTE_UNKNOWN_SEAT);
	fx_free(f);
}

static void reason_malformed(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint8_t id[32], e[FX_ENTRY_BYTES];
	size_t len = 0;
	fx_submit(f, HOUR_MS, 1, id);
	static const char *const bad[] = {
	    "not json", "{}", "{\"sig\":\"AA\",\"vote\":{}}",
	    "{ \"sig\":\"x\",\"vote\":{}}", /* not canonical */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		e[0] = SYNOD_ENTRY_VOTE;
		memcpy(e + 1, bad[i], strlen(bad[i]));
		fx_entry(f, e, 1 + strlen(bad[i]));
		assert_int_equal(fx_last_reason(f), SYNOD_VOTE_MALFORMED);
	}
	/* a valid vote with its verdict spelled in lower case */
	fx_vote_entry(f, 4, id, 0, SYNOD_VERDICT_APPROVE, 0, e, &len);
	char *p = strstr((char *)e + 1, "APPROVE");
	assert_non_null(p);
	memcpy(p, "approve", 7);
	fx_entry(f, e, len);
	assert_int_equal(fx_last_reason(f), SYNOD_VOTE_MALFORMED);
	struct synod_app_status st;
	synod_app_status_get(f->app, &st);
	assert_int_equal(st.votes[SYNOD_VOTE_MALFORMED], 5);
	expect_open(f, id, 0, 0);
	fx_free(f);
}

/* Names are stable: they are the words bundles and metrics use. */
static void reason_names(void **state)
{
	(void)state;
	static const char *const want[SYNOD_VOTE_REASON_COUNT] = {
	    "counted",      "bad_signature", "unknown_request", "closed_request",
	    "wrong_epoch",  "wrong_cluster", "excluded_seat",   "unknown_seat",
	    "equivocation", "duplicate",     "malformed"};
	for (int i = 0; i < SYNOD_VOTE_REASON_COUNT; i++) {
		enum synod_vote_reason r;
		assert_string_equal(synod_vote_reason_name((enum synod_vote_reason)i), want[i]);
		assert_int_equal(synod_vote_reason_parse(want[i], &r), 0);
		assert_int_equal(r, i);
	}
	enum synod_vote_reason r;
	assert_int_equal(synod_vote_reason_parse("late", &r), SYNOD_ENOTFOUND);
}

/* SUBMIT outcomes: duplicate, malformed, expired, too far. */
static void submit_results(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint8_t id[32], e[FX_ENTRY_BYTES];
	size_t len = 0;
	assert_int_equal(synod_testkit_request(e, sizeof e, &len, id, f->now_ms + 5000, 1), 0);
	fx_entry(f, e, len);
	fx_entry(f, e, len);
	struct synod_app_status st;
	synod_app_status_get(f->app, &st);
	assert_int_equal(st.submits[SYNOD_SUBMIT_ACCEPTED], 1);
	assert_int_equal(st.submits[SYNOD_SUBMIT_DUPLICATE], 1);
	assert_int_equal(synod_testkit_request(e, sizeof e, &len, id, f->now_ms, 2), 0);
	fx_entry(f, e, len);
	assert_int_equal(
	    synod_testkit_request(e, sizeof e, &len, id,
	                          f->now_ms + f->kit.cluster.policy.deadline_ms_max + 1, 3),
	    0);
	fx_entry(f, e, len);
	e[len - 2] = ' '; /* no longer canonical */
	fx_entry(f, e, len);
	synod_app_status_get(f->app, &st);
	assert_int_equal(st.submits[SYNOD_SUBMIT_EXPIRED], 1);
	assert_int_equal(st.submits[SYNOD_SUBMIT_TOO_FAR], 1);
	assert_int_equal(st.submits[SYNOD_SUBMIT_MALFORMED], 1);
	assert_int_equal(st.requests_retained, 1);
	fx_free(f);
}

/* A full request table evicts the oldest decided request past its deadline,
 * and refuses when none is. */
static void submit_table_full(void **state)
{
	(void)state;
	struct synod_policy p;
	synod_policy_defaults(&p);
	p.requests_retained_max = 2;
	struct fx *f = fx_new_policy(&p, 3);
	uint8_t a[32], b[32], c[32];
	fx_submit(f, 1000, 1, a);
	fx_submit(f, 5000, 2, b);
	fx_submit(f, 5000, 3, c);
	struct synod_app_status st;
	synod_app_status_get(f->app, &st);
	assert_int_equal(st.submits[SYNOD_SUBMIT_FULL], 1);
	fx_tick(f, f->now_ms + 1000); /* a expires; its deadline has passed */
	fx_submit(f, 5000, 3, c);
	struct synod_tally t;
	assert_int_equal(synod_app_tally_get(f->app, a, &t), SYNOD_ENOTFOUND);
	assert_int_equal(synod_app_tally_get(f->app, c, &t), 0);
	fx_free(f);
}

/* pbft_app.executed from the state: SUBMITs by request id, VOTEs by the
 * exact vote in the seat's slot, TICKs at or below log time; and it holds in
 * an app restored from a snapshot (what a restarted replica has). */
static void executed_from_state(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint8_t id[SYNOD_HASH_BYTES], sub[FX_ENTRY_BYTES], other[FX_ENTRY_BYTES];
	uint8_t vote[FX_ENTRY_BYTES], vote2[FX_ENTRY_BYTES], tick[SYNOD_APP_TICK_BYTES];
	size_t sub_len = 0, other_len = 0, vote_len = 0, vote2_len = 0;
	assert_int_equal(synod_testkit_request(sub, sizeof sub, &sub_len, id, f->now_ms + 5000, 1),
	                 0);
	assert_false(synod_app_executed(f->app, sub, sub_len));
	fx_entry(f, sub, sub_len);
	assert_true(synod_app_executed(f->app, sub, sub_len));
	fx_vote_entry(f, 3, id, fx_epoch(f), SYNOD_VERDICT_APPROVE, 0, vote, &vote_len);
	fx_vote_entry(f, 4, id, fx_epoch(f), SYNOD_VERDICT_APPROVE, 0, vote2, &vote2_len);
	assert_false(synod_app_executed(f->app, vote, vote_len));
	fx_entry(f, vote, vote_len);
	assert_true(synod_app_executed(f->app, vote, vote_len));
	assert_false(synod_app_executed(f->app, vote2, vote2_len)); /* another seat */
	fx_vote_entry(f, 3, id, fx_epoch(f), SYNOD_VERDICT_REJECT, 1, vote2, &vote2_len);
	assert_false(synod_app_executed(f->app, vote2, vote2_len)); /* an equivocation, not yet */
	synod_entry_tick(tick, f->now_ms);
	assert_true(synod_app_executed(f->app, tick, sizeof tick));
	synod_entry_tick(tick, f->now_ms + 1);
	assert_false(synod_app_executed(f->app, tick, sizeof tick));
	assert_int_equal(
	    synod_testkit_request(other, sizeof other, &other_len, NULL, f->now_ms + 5000, 2), 0);
	assert_false(synod_app_executed(f->app, other, other_len));
	assert_false(synod_app_executed(f->app, sub, 1)); /* malformed: never */
	size_t cap = synod_app_snapshot_bytes_max(&f->kit.cluster.policy), len = 0;
	uint8_t *snap = malloc(cap);
	assert_non_null(snap);
	assert_int_equal(synod_app_snapshot(f->app, snap, cap, &len), 0);
	struct synod_app *g = fx_app_new(f);
	assert_int_equal(synod_app_restore(g, f->log.count, snap, len), 0);
	assert_true(synod_app_executed(g, sub, sub_len));
	assert_true(synod_app_executed(g, vote, vote_len));
	assert_false(synod_app_executed(g, other, other_len));
	synod_app_close(g);
	free(snap);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(executed_from_state),
	    cmocka_unit_test(tally_21_approvals_then_rejected),
	    cmocka_unit_test(tally_12_rejections_reject),
	    cmocka_unit_test(tally_22_approvals_approve),
	    cmocka_unit_test(tally_decided_at_the_22nd_entry),
	    cmocka_unit_test(tally_22_with_an_excluded_seat),
	    cmocka_unit_test(tally_22_with_an_equivocating_seat),
	    cmocka_unit_test(tally_equivocation_can_reject),
	    cmocka_unit_test(tally_22nd_after_deadline_expires),
	    cmocka_unit_test(tally_backwards_tick_ignored),
	    cmocka_unit_test(tally_identical_vote_idempotent),
	    cmocka_unit_test(reason_bad_signature),
	    cmocka_unit_test(reason_unknown_request),
	    cmocka_unit_test(reason_wrong_epoch),
	    cmocka_unit_test(reason_wrong_cluster),
	    cmocka_unit_test(reason_unknown_seat),
	    cmocka_unit_test(reason_malformed),
	    cmocka_unit_test(reason_names),
	    cmocka_unit_test(submit_results),
	    cmocka_unit_test(submit_table_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

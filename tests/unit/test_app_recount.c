/* The recount (an independent implementation of the tally rules, from the
 * log) agrees with the state machine on random logs, and tells them apart
 * when the log or the claim differs. */
#include "tests/unit/test_app_fixture.h"

static int recount_of(struct fx *f, const uint8_t id[32], const struct synod_tally *claimed,
                      struct synod_tally *out)
{
	char err[256] = "";
	f->log.cursor = 0;
	return synod_app_recount(&f->kit.cluster, NULL, id, claimed, synod_testkit_log_next,
	                         &f->log, out, err, sizeof err);
}

/* Every accepted request's tally equals its recount, decided or open. */
static void recount_matches_random_logs(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 4; seed++) {
		struct synod_policy p;
		synod_policy_defaults(&p);
		p.epoch_decisions = 2;
		p.seats = seed == 4 ? 7 : 33;
		p.threshold = seed == 4 ? 5 : 22;
		struct fx *f = fx_new_policy(&p, 40 + seed);
		struct fx_random r = {.rng = seed};
		fx_random_log(f, &r, 250);
		uint32_t checked = 0, decided = 0;
		for (uint32_t i = 0; i < f->event_count; i++) {
			const struct synod_app_event *ev = &f->events[i].ev;
			if (ev->type != SYNOD_APP_EV_SUBMIT ||
			    ev->submit != SYNOD_SUBMIT_ACCEPTED) {
				continue;
			}
			struct synod_tally t, rc;
			if (synod_app_tally_get(f->app, ev->request_id, &t) != 0) {
				continue; /* evicted */
			}
			assert_int_equal(recount_of(f, ev->request_id, &t, &rc), 0);
			if (!synod_tally_equal(&t, &rc)) {
				fail_msg("seed %llu request %u: app %s %u/%u, recount %s %u/%u",
				         (unsigned long long)seed, i, synod_outcome_name(t.outcome),
				         t.approvals, t.rejections, synod_outcome_name(rc.outcome),
				         rc.approvals, rc.rejections);
			}
			assert_memory_equal(t.voter_set_hash, rc.voter_set_hash, 32);
			checked++;
			decided += t.outcome != SYNOD_OUTCOME_OPEN ? 1u : 0u;
		}
		assert_true(checked > 10 && decided > 5);
		fx_free(f);
	}
}

/* A claim that differs in anything, or a log missing a vote, shows. */
static void recount_tells_them_apart(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint8_t id[32];
	fx_submit(f, 3600000, 1, id);
	fx_votes(f, 0, 22, id, 0, SYNOD_VERDICT_APPROVE, 4);
	struct synod_tally t = fx_tally(f, id), rc;
	assert_int_equal(recount_of(f, id, &t, &rc), 0);
	assert_true(synod_tally_equal(&t, &rc));
	struct synod_tally bad = t;
	bad.approvals--;
	assert_false(synod_tally_equal(&bad, &rc));
	bad = t;
	bad.decided_at.index++;
	assert_false(synod_tally_equal(&bad, &rc));
	bad = t;
	bad.equivocators = 1;
	assert_false(synod_tally_equal(&bad, &rc));
	/* drop the last vote batch from the log */
	f->log.count--;
	assert_int_equal(recount_of(f, id, &t, &rc), 0);
	assert_int_equal(rc.outcome, SYNOD_OUTCOME_OPEN);
	assert_false(synod_tally_equal(&t, &rc));
	f->log.count++;
	/* the claimed SUBMIT position must hold the request */
	bad = t;
	bad.submitted_at.seq++;
	assert_int_equal(recount_of(f, id, &bad, &rc), SYNOD_ENOTFOUND);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(recount_matches_random_logs),
	    cmocka_unit_test(recount_tells_them_apart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

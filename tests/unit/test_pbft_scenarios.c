/* PBFT scenarios on the simulator's fixture (tests/sim/cluster.h), with
 * scripted faults instead of random ones. Every step is still checked by the
 * simulator's invariants; each test also asserts that none was violated. */
#include "tests/sim/cluster.h"

#include "common/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* cmocka needs the headers above first. */
#include <cmocka.h>

#define SCENARIO_MS_MAX 30000u

static struct sim_cluster *scenario_cluster(uint32_t n, uint64_t seed)
{
	struct sim_options o;
	struct sim_cluster *c = NULL;
	char err[256] = "";
	sim_options_defaults(&o, seed, n);
	o.client_retry_ms = 0; /* the core alone must get entries ordered */
	int rc = sim_cluster_init(&c, &o, err, sizeof err);
	if (rc != 0) {
		fail_msg("sim_cluster_init: %s", err);
	}
	return c;
}

static void scenario_no_violation(struct sim_cluster *c)
{
	const struct sim_violation *v = sim_cluster_violation(c);
	if (v != NULL) {
		fail_msg("violation seed=%llu step=%llu node=%u: %s", (unsigned long long)v->seed,
		         (unsigned long long)v->step, v->node, v->what);
	}
}

static void scenario_executed(struct sim_cluster *c, int32_t id)
{
	assert_true(id >= 0);
	int rc = sim_cluster_run_until_executed(c, (uint32_t)id, SCENARIO_MS_MAX);
	scenario_no_violation(c);
	assert_int_equal(rc, 0);
}

static uint64_t scenario_view(struct sim_cluster *c, uint32_t node)
{
	struct pbft_status st;
	sim_cluster_status(c, node, &st);
	return st.view;
}

/* The primary of view 0 crashes: the backups change view and keep going. */
static void scenario_primary_crash(void **state)
{
	(void)state;
	struct sim_cluster *c = scenario_cluster(4, 101);
	scenario_executed(c, sim_cluster_submit(c, 1u << 1));
	sim_cluster_crash(c, 0);
	scenario_executed(c, sim_cluster_submit(c, (1u << 1) | (1u << 2)));
	for (uint32_t i = 1; i < 4; i++) {
		struct pbft_status st;
		sim_cluster_status(c, i, &st);
		assert_true(st.view >= 1);
		assert_true(st.view_changes >= 1);
	}
	/* The old primary comes back and catches up. */
	assert_int_equal(sim_cluster_restart(c, 0), 0);
	scenario_executed(c, sim_cluster_submit(c, 1u << 3));
	scenario_no_violation(c);
	sim_cluster_close(c);
}

/* A primary that sends different batches for one sequence number to
 * different backups: no two honest replicas diverge and the view changes. */
static void scenario_equivocating_primary(void **state)
{
	(void)state;
	struct sim_cluster *c = scenario_cluster(4, 202);
	sim_cluster_byzantine_set(c, 0, SIM_BYZ_EQUIVOCATE, 1000000);
	for (uint32_t k = 0; k < 6; k++) {
		scenario_executed(c, sim_cluster_submit(c, 0xeu));
	}
	for (uint32_t i = 1; i < 4; i++) {
		assert_true(scenario_view(c, i) >= 1);
	}
	scenario_no_violation(c);
	sim_cluster_close(c);
}

/* A replica cut off for more than 10 checkpoints catches up by state
 * transfer once the network heals. */
static void scenario_state_transfer(void **state)
{
	(void)state;
	struct sim_cluster *c = scenario_cluster(4, 303);
	sim_cluster_isolate(c, 3);
	uint32_t k = 0;
	while (sim_cluster_committed_seq(c) < 11u * 4u + 2u) {
		int32_t id = sim_cluster_submit(c, 0x7u);
		assert_true(id >= 0 && k++ < 200);
		int rc = sim_cluster_run_until_executed_by(c, (uint32_t)id, 0x7u, SCENARIO_MS_MAX);
		scenario_no_violation(c);
		assert_int_equal(rc, 0);
	}
	struct pbft_status before;
	sim_cluster_status(c, 3, &before);
	assert_true(before.last_executed == 0);
	sim_cluster_heal(c);
	scenario_executed(c, sim_cluster_submit(c, 0x1u));
	struct pbft_status after;
	sim_cluster_status(c, 3, &after);
	assert_true(after.state_transfers > before.state_transfers);
	assert_true(after.last_executed >= 11u * 4u);
	scenario_no_violation(c);
	sim_cluster_close(c);
}

/* Two against two (n = 4, quorum 3): nothing commits; after healing, the
 * entries submitted during the partition commit. */
static void scenario_partition_2_2(void **state)
{
	(void)state;
	struct sim_cluster *c = scenario_cluster(4, 404);
	scenario_executed(c, sim_cluster_submit(c, 0x1u));
	uint64_t committed = sim_cluster_committed_seq(c);
	sim_cluster_partition(c, 0x3u);
	int32_t a = sim_cluster_submit(c, 0x1u);
	int32_t b = sim_cluster_submit(c, 0x4u);
	assert_true(a >= 0 && b >= 0);
	assert_int_equal(sim_cluster_run_ms(c, 8000), 0);
	assert_true(sim_cluster_committed_seq(c) == committed);
	for (uint32_t i = 0; i < 4; i++) {
		assert_false(sim_cluster_executed(c, (uint32_t)a, i));
		assert_false(sim_cluster_executed(c, (uint32_t)b, i));
	}
	sim_cluster_heal(c);
	scenario_executed(c, a);
	scenario_executed(c, b);
	scenario_no_violation(c);
	sim_cluster_close(c);
}

/* A primary that drops the entries forwarded to it is replaced by a view
 * change, and the entry commits. */
static void scenario_censoring_primary(void **state)
{
	(void)state;
	struct sim_cluster *c = scenario_cluster(4, 505);
	sim_cluster_byzantine_set(c, 0, SIM_BYZ_CENSOR, 1000000);
	scenario_executed(c, sim_cluster_submit(c, 1u << 2));
	for (uint32_t i = 1; i < 4; i++) {
		assert_true(scenario_view(c, i) >= 1);
	}
	scenario_no_violation(c);
	sim_cluster_close(c);
}

/* A primary that orders everything (and an entry of its own every 50 ms)
 * but one client's entries (SIM_BYZ_CENSOR_ONE: one id in 32): the backups'
 * timers follow the censored entries, not the batches that execute, so it is
 * replaced and they execute. Under PBFT_MUTATE_TIMER_ANY_PROGRESS (any
 * execution restarts the timer) it stays primary and they never do. */
static void scenario_selective_censor(void **state)
{
	(void)state;
	struct sim_cluster *c = scenario_cluster(4, 606);
	sim_cluster_byzantine_set(c, 0, SIM_BYZ_CENSOR_ONE, 1000000);
	int32_t ids[40];
	for (uint32_t k = 0; k < 40; k++) {
		ids[k] = sim_cluster_submit(c, 1u << (1u + k % 3u));
		assert_true(ids[k] >= 0);
		assert_int_equal(sim_cluster_run_ms(c, 5), 0);
	}
	for (uint32_t k = 0; k < 40; k++) {
		scenario_executed(c, ids[k]);
	}
	for (uint32_t i = 1; i < 4; i++) {
		assert_true(scenario_view(c, i) >= 1);
	}
	assert_int_equal(sim_cluster_stats(c)->dup_executions, 0);
	scenario_no_violation(c);
	sim_cluster_close(c);
}

/* A replica cut off while its clients' entries execute elsewhere catches up
 * by a snapshot: the entries it still held leave its queue (app.executed)
 * instead of being waited for and proposed again. */
static void scenario_snapshot_reconciles_pending(void **state)
{
	(void)state;
	struct sim_cluster *c = scenario_cluster(4, 707);
	sim_cluster_isolate(c, 3);
	for (uint32_t k = 0; sim_cluster_committed_seq(c) < 11u * 4u + 2u; k++) {
		int32_t id = sim_cluster_submit(c, 0xfu);
		assert_true(id >= 0 && k < 200);
		int rc = sim_cluster_run_until_executed_by(c, (uint32_t)id, 0x7u, SCENARIO_MS_MAX);
		scenario_no_violation(c);
		assert_int_equal(rc, 0);
	}
	struct pbft_status st;
	sim_cluster_status(c, 3, &st);
	assert_true(st.pending_entries > 0 && st.last_executed == 0);
	sim_cluster_heal(c);
	scenario_executed(c, sim_cluster_submit(c, 0x1u));
	assert_int_equal(sim_cluster_run_ms(c, 2000), 0);
	sim_cluster_status(c, 3, &st);
	assert_true(st.state_transfers > 0);
	assert_int_equal(st.pending_entries, 0);
	assert_int_equal(sim_cluster_stats(c)->dup_executions, 0);
	scenario_no_violation(c);
	sim_cluster_close(c);
}

int main(void)
{
	if (getenv("SYNOD_LOG_LEVEL") == NULL) {
		synod_log_level_set(SYNOD_LOG_OFF);
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(scenario_primary_crash),
	    cmocka_unit_test(scenario_equivocating_primary),
	    cmocka_unit_test(scenario_state_transfer),
	    cmocka_unit_test(scenario_partition_2_2),
	    cmocka_unit_test(scenario_censoring_primary),
	    cmocka_unit_test(scenario_selective_censor),
	    cmocka_unit_test(scenario_snapshot_reconciles_pending),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

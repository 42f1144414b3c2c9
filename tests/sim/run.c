/* One randomized run (synod-sim): a fault mix drawn from the seed ("swarm
 * testing": each seed gets its own rates, so some seeds are calm and some
 * are brutal), a chaos phase with partitions, crashes, loss, duplication,
 * delay and Byzantine replicas, then a heal phase that must order and
 * execute every entry at every honest replica within a bound. */
#include "tests/sim/sim.h"

#include "common/assert.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define RUN_HEAL_ENTRIES 3u

struct run {
	struct sim_cluster *c;
	struct sim_rng r;
	struct sim_net_faults calm;
	struct sim_net_faults chaos;
	uint64_t submit_gap_ms_max;
	uint64_t fault_gap_ms_max;
	uint32_t crash_weight; /* of 10 fault events */
};

static void run_pick_net(struct run *run)
{
	struct sim_rng *r = &run->r;
	run->calm =
	    (struct sim_net_faults){.delay_ms_min = 1, .delay_ms_max = 1 + sim_rng_below(r, 5)};
	struct sim_net_faults *f = &run->chaos;
	f->loss_ppm = sim_rng_ppm(r, 250000) ? 0 : (uint32_t)sim_rng_below(r, 250001);
	f->dup_ppm = sim_rng_ppm(r, 400000) ? 0 : (uint32_t)sim_rng_below(r, 150001);
	f->delay_ms_min = sim_rng_range(r, 1, 5);
	f->delay_ms_max = f->delay_ms_min + sim_rng_below(r, 120);
	f->slow_ppm = (uint32_t)sim_rng_below(r, 100001);
	f->slow_ms_max = sim_rng_range(r, 10, 1500);
}

static void run_pick_crashes(struct run *run)
{
	struct sim_rng *r = &run->r;
	struct sim_crash_faults cf = {
	    .after_send_ppm = sim_rng_ppm(r, 300000) ? 0 : (uint32_t)sim_rng_range(r, 100, 3000),
	    .in_persist_ppm = sim_rng_ppm(r, 300000) ? 0 : (uint32_t)sim_rng_range(r, 100, 3000),
	    .restart_ms_min = sim_rng_range(r, 10, 300),
	    .restart_ms_max = 0,
	};
	cf.restart_ms_max = cf.restart_ms_min + sim_rng_below(r, 3000);
	sim_cluster_crash_faults_set(run->c, &cf);
	run->crash_weight = (uint32_t)sim_rng_below(r, 4);
}

static uint32_t run_pick_behaviours(struct sim_rng *r)
{
	uint32_t b = 0;
	uint32_t ppm = (uint32_t)sim_rng_range(r, 150000, 600000);
	for (uint32_t bit = 0; bit < SIM_BYZ_BEHAVIOURS; bit++) {
		if (sim_rng_ppm(r, ppm)) {
			b |= 1u << bit;
		}
	}
	/* Total silence hides every other behaviour: keep it rare. */
	if ((b & SIM_BYZ_SILENT) && !sim_rng_ppm(r, 250000)) {
		b &= ~(uint32_t)SIM_BYZ_SILENT;
	}
	return b != 0 ? b : SIM_BYZ_EQUIVOCATE;
}

/* With a mutation in the cores, the mix leans towards what exposes one: a
 * Byzantine primary of view 0 or 1 that equivocates, votes eagerly and
 * rewrites its NEW-VIEW (a quorum bug needs a liar to complete a quorum). */
static uint32_t run_hunting_behaviours(struct sim_rng *r, uint32_t b)
{
	static const uint32_t lean[] = {SIM_BYZ_EQUIVOCATE,     SIM_BYZ_EAGER_VOTE,
	                                SIM_BYZ_BOGUS_NEW_VIEW, SIM_BYZ_BOGUS_VIEW_CHANGE,
	                                SIM_BYZ_FORGE_NEW_VIEW, SIM_BYZ_FORGE_PROOFS,
	                                SIM_BYZ_FORGE_STATE,    SIM_BYZ_BACKUP_PROPOSE};
	for (uint32_t i = 0; i < sizeof lean / sizeof lean[0]; i++) {
		if (sim_rng_ppm(r, 700000)) {
			b |= lean[i];
		}
	}
	return b & ~(uint32_t)(SIM_BYZ_SILENT | SIM_BYZ_CENSOR);
}

static void run_pick_byzantine(struct run *run)
{
	struct sim_cluster *c = run->c;
	struct sim_rng *r = &run->r;
	bool hunting = c->o.mutations != 0 || c->o.hunt;
	uint32_t count =
	    sim_rng_ppm(r, hunting ? 200000 : 300000) ? 0 : (uint32_t)sim_rng_range(r, 1, c->f);
	for (uint32_t k = 0; k < count; k++) {
		uint32_t node = (uint32_t)sim_rng_below(r, c->n);
		if (hunting && k == 0 && sim_rng_ppm(r, 600000)) {
			node = (uint32_t)sim_rng_below(r, 2);
		}
		while (c->nodes[node].byzantine) {
			node = (node + 1) % c->n;
		}
		static const uint32_t rates[] = {100000, 300000, 1000000};
		uint32_t rate = rates[sim_rng_below(r, 3)];
		uint32_t b = run_pick_behaviours(r);
		if (hunting) {
			b = run_hunting_behaviours(r, b);
		}
		if (c->o.mutations & PBFT_MUTATE_TIMER_ANY_PROGRESS) {
			b = SIM_BYZ_CENSOR_ONE; /* nothing else to trip a view change */
		}
		sim_cluster_byzantine_set(c, node, b, rate);
	}
}

static uint32_t run_random_mask(struct run *run)
{
	struct sim_cluster *c = run->c;
	uint32_t all = (1u << c->n) - 1u;
	if (sim_rng_ppm(&run->r, 400000)) {
		return 1u << sim_rng_below(&run->r, c->n); /* isolate one */
	}
	uint32_t m = 0;
	while (m == 0 || m == all) {
		m = (uint32_t)sim_rng_below(&run->r, all + 1u);
	}
	return m;
}

static void run_crash_one(struct run *run)
{
	struct sim_cluster *c = run->c;
	uint32_t node = (uint32_t)sim_rng_below(&run->r, c->n);
	if (c->nodes[node].up) {
		sim_node_crash(c, &c->nodes[node]);
	}
}

static void run_fault(struct run *run)
{
	struct sim_cluster *c = run->c;
	uint64_t r = sim_rng_below(&run->r, 10 + run->crash_weight);
	if (r < 3) {
		if (sim_rng_ppm(&run->r, 500000)) {
			sim_cluster_heal(c);
		}
		sim_cluster_partition(c, run_random_mask(run));
	} else if (r < 6) {
		sim_cluster_heal(c);
	} else if (r < 8) {
		sim_cluster_net_set(c, sim_rng_ppm(&run->r, 500000) ? &run->chaos : &run->calm);
	} else if (r < 9) {
		uint32_t node = (uint32_t)sim_rng_below(&run->r, c->n);
		if (!c->nodes[node].up) {
			sim_node_restart(c, &c->nodes[node]);
		}
	} else {
		run_crash_one(run);
	}
}

static void run_submit(struct run *run)
{
	struct sim_cluster *c = run->c;
	uint32_t mask = 0;
	uint32_t copies =
	    sim_rng_ppm(&run->r, 700000) ? 1u : (uint32_t)sim_rng_range(&run->r, 2, 3);
	for (uint32_t i = 0; i < copies; i++) {
		mask |= 1u << sim_rng_below(&run->r, c->n);
	}
	(void)sim_cluster_submit(c, mask);
}

static void run_until(struct sim_cluster *c, uint64_t until_ms)
{
	while (!c->stopped && sim_loop_once(c, until_ms)) {
	}
}

static void run_chaos(struct run *run)
{
	struct sim_cluster *c = run->c;
	uint64_t end = c->now_ms + c->o.chaos_ms;
	/* --voters: the voters' drivers submit instead (voters.c). */
	uint64_t next_submit = c->voters != NULL ? UINT64_MAX : c->now_ms + 1;
	uint64_t next_fault = c->now_ms + sim_rng_range(&run->r, 20, run->fault_gap_ms_max);
	if (!c->o.faults) {
		next_fault = UINT64_MAX;
	}
	while (!c->stopped && c->now_ms < end) {
		uint64_t next = next_submit < next_fault ? next_submit : next_fault;
		run_until(c, next < end ? next : end);
		if (c->stopped || c->now_ms >= end) {
			break;
		}
		if (c->now_ms >= next_submit) {
			run_submit(run);
			next_submit = c->now_ms + sim_rng_range(&run->r, 1, run->submit_gap_ms_max);
		}
		if (c->o.faults && c->now_ms >= next_fault) {
			run_fault(run);
			next_fault = c->now_ms + sim_rng_range(&run->r, 20, run->fault_gap_ms_max);
		}
	}
}

static bool run_live(const struct sim_cluster *c)
{
	if (c->voters != NULL && !sim_voters_live(c)) {
		return false;
	}
	if (c->clients.unordered != 0) {
		return false;
	}
	for (uint32_t i = 0; i < c->n; i++) {
		if (sim_honest(c, i) && c->nodes[i].app.seq < c->clients.seq_max) {
			return false;
		}
	}
	return true;
}

static void run_liveness_violation(struct sim_cluster *c, uint64_t healed_ms, const char *why)
{
	if (c->voters != NULL && c->clients.unordered == 0 && !sim_voters_live(c)) {
		sim_voters_stuck(c, healed_ms, why);
		return;
	}
	char nodes[256] = "";
	size_t off = 0;
	for (uint32_t i = 0; i < c->n && off < sizeof nodes; i++) {
		struct pbft_status st;
		sim_cluster_status(c, i, &st);
		int w = snprintf(nodes + off, sizeof nodes - off, " n%u%s:v%" PRIu64 "%s/x%" PRIu64,
		                 i, c->nodes[i].byzantine ? "(byz)" : "", st.view,
		                 st.in_view_change ? "vc" : "", c->nodes[i].app.seq);
		off += w > 0 ? (size_t)w : 0;
	}
	uint32_t first = 0;
	while (first < c->clients.count && c->clients.e[first].seq != 0) {
		first++;
	}
	sim_violation(c, 0,
	              "liveness: %s %" PRIu64 " ms after the heal: %u of %u entries unordered "
	              "(first: %u), %" PRIu64 " needed;%s",
	              why, c->now_ms - healed_ms, c->clients.unordered, c->clients.count, first,
	              c->clients.seq_max, nodes);
}

static void run_heal(struct run *run)
{
	struct sim_cluster *c = run->c;
	struct sim_crash_faults none = {0};
	sim_trace(c, "HEAL PHASE");
	sim_cluster_heal(c);
	sim_cluster_net_set(c, &run->calm);
	sim_cluster_crash_faults_set(c, &none);
	for (uint32_t i = 0; i < c->n && !c->stopped; i++) {
		c->nodes[i].restart_ms = 0;
		if (!c->nodes[i].up) {
			sim_node_restart(c, &c->nodes[i]);
		}
	}
	if (c->voters != NULL) {
		sim_voters_heal(c);
	}
	for (uint32_t k = 0; k < RUN_HEAL_ENTRIES && c->voters == NULL && !c->stopped; k++) {
		(void)sim_cluster_submit(c, 1u << sim_rng_below(&run->r, c->n));
	}
	uint64_t healed = c->now_ms;
	uint64_t steps0 = c->step;
	while (!c->stopped && !run_live(c)) {
		if (c->now_ms - healed > c->o.heal_ms_max) {
			run_liveness_violation(c, healed, "not live");
			return;
		}
		if (c->step - steps0 > c->o.heal_steps_max) {
			run_liveness_violation(c, healed, "step bound");
			return;
		}
		(void)sim_loop_once(c, healed + c->o.heal_ms_max + 1);
	}
	if (c->stopped && !c->check.v.found) {
		run_liveness_violation(c, healed, "global step bound");
	}
}

static void run_setup(struct run *run)
{
	struct sim_cluster *c = run->c;
	run_pick_net(run);
	run->submit_gap_ms_max = sim_rng_range(&run->r, 10, 80);
	run->fault_gap_ms_max = sim_rng_range(&run->r, 100, 1000);
	if (!c->o.faults) {
		sim_cluster_net_set(c, &run->calm);
		return;
	}
	run_pick_crashes(run);
	run_pick_byzantine(run);
	sim_cluster_net_set(c, &run->chaos);
}

int sim_run(const struct sim_options *o, struct sim_stats *stats, struct sim_violation *v,
            char *errmsg, size_t errmsg_len)
{
	struct run run;
	memset(&run, 0, sizeof run);
	memset(v, 0, sizeof *v);
	int rc = sim_cluster_init(&run.c, o, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	sim_rng_init(&run.r, o->seed, 6);
	run_setup(&run);
	run_chaos(&run);
	if (!run.c->stopped) {
		run_heal(&run);
	}
	if (run.c->voters != NULL && !run.c->stopped) {
		sim_voters_final(run.c);
	}
	const struct sim_stats *s = sim_cluster_stats(run.c);
	sim_stats_add(stats, s);
	stats->seeds++;
	const struct sim_violation *found = sim_cluster_violation(run.c);
	if (found != NULL) {
		*v = *found;
	}
	sim_cluster_close(run.c);
	return v->found ? 1 : 0;
}

static const struct {
	const char *name;
	uint32_t bits;
} run_mutations[] = {
    {"prepare-quorum-2f", PBFT_MUTATE_PREPARE_QUORUM_2F},
    {"commit-quorum-2f", PBFT_MUTATE_COMMIT_QUORUM_2F},
    {"send-before-persist", PBFT_MUTATE_SEND_BEFORE_PERSIST},
    {"new-view-no-proof", PBFT_MUTATE_NEW_VIEW_NO_PROOF},
    {"view-change-drop-prepared", PBFT_MUTATE_VIEW_CHANGE_DROP_P},
    {"timer-any-progress", PBFT_MUTATE_TIMER_ANY_PROGRESS},
    {"no-signature-check", PBFT_MUTATE_NO_SIGNATURE_CHECK},
    {"pre-prepare-any-sender", PBFT_MUTATE_PRE_PREPARE_ANY_SENDER},
    {"state-cert-unchecked", PBFT_MUTATE_STATE_CERT_UNCHECKED},
    {"state-snapshot-unchecked", PBFT_MUTATE_STATE_SNAPSHOT_UNCHECKED},
    {"checkpoint-proof-no-sig", PBFT_MUTATE_CKPT_PROOF_NO_SIG},
    {"checkpoint-proof-mixed-digests", PBFT_MUTATE_CKPT_PROOF_MIXED},
    {"view-change-unchecked-c", PBFT_MUTATE_VIEW_CHANGE_UNCHECKED_C},
    {"view-change-unchecked-p", PBFT_MUTATE_VIEW_CHANGE_UNCHECKED_P},
    {"new-view-o-unchecked", PBFT_MUTATE_NEW_VIEW_O_DIGESTS},
};

const char *sim_mutation_name(size_t i, uint32_t *bits)
{
	if (i >= sizeof run_mutations / sizeof run_mutations[0]) {
		return NULL;
	}
	if (bits != NULL) {
		*bits = run_mutations[i].bits;
	}
	return run_mutations[i].name;
}

uint32_t sim_mutation_parse(const char *name)
{
	for (size_t i = 0; i < sizeof run_mutations / sizeof run_mutations[0]; i++) {
		if (strcmp(name, run_mutations[i].name) == 0) {
			return run_mutations[i].bits;
		}
	}
	return 0;
}

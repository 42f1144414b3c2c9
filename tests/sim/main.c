/* synod-sim: runs the deterministic cluster simulator over a range of seeds.
 *
 *   synod-sim --seeds A..B --coordinators N [--steps N] [--mutate NAME]
 *             [--no-faults] [--real-crypto] [--verbose] [--keep-going]
 *             [--keep-records] [--voters N] [--hunt]
 *   synod-sim --seed S --coordinators N [...]   replays one seed with a trace
 *   synod-sim --list-mutations
 *
 * --hunt draws the fault mix a --mutate run draws (Byzantine replicas lean
 * to the behaviours that expose a validation bug) without a mutation: for
 * checking that a seed a mutation fails passes without it, and for hunting
 * with a core patched by hand (tests/sim/README.md).
 *
 * --keep-records ignores the cores' truncate_before (a WAL may always keep
 * more than it must): for exploring past a truncation bug.
 *
 * --voters N runs the real certification app on every coordinator with N
 * simulated voters (N = the policy's seats, e.g. 33; tests/sim/voters.c);
 * --real-crypto then uses Ed25519 everywhere: the cores' messages, the
 * app's vote checks and the bundles' commit certificates (by default those
 * use the fake table; bundles always check vote signatures with Ed25519).
 *
 * Exits 1 on a violation, printing the seed and the command that replays it;
 * 2 on bad usage or a setup failure. The last line of output is one line of
 * key=value pairs. */
#include "tests/sim/cluster.h"

#include "common/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAIN_SEEDS_MAX 100000000ull

struct main_args {
	uint64_t seed_first;
	uint64_t seed_last;
	uint32_t replicas;
	uint64_t steps;
	uint32_t mutations;
	uint32_t voters;
	const char *mutation_name;
	bool faults;
	bool real_crypto;
	bool verbose;
	bool replay;
	bool keep_going;
	bool keep_records;
	bool hunt;
};

static void main_usage(FILE *out)
{
	fprintf(out,
	        "usage: synod-sim --seeds A..B --coordinators N [--steps N] [--mutate NAME]\n"
	        "                 [--no-faults] [--real-crypto] [--verbose] [--keep-going]\n"
	        "                 [--keep-records] [--voters N] [--hunt]\n"
	        "       synod-sim --seed S --coordinators N [...]   (replay one, with a trace)\n"
	        "       synod-sim --list-mutations\n");
}

static int main_u64(const char *s, uint64_t *out)
{
	char *end = NULL;
	errno = 0;
	if (s == NULL || *s < '0' || *s > '9') {
		return -1;
	}
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s) {
		return -1;
	}
	*out = v;
	return *end == '\0' ? 0 : (int)(end - s);
}

static int main_seed_range(const char *s, struct main_args *a)
{
	int at = main_u64(s, &a->seed_first);
	if (at <= 0 || strncmp(s + at, "..", 2) != 0 || main_u64(s + at + 2, &a->seed_last) != 0) {
		return -1;
	}
	if (a->seed_last < a->seed_first || a->seed_last - a->seed_first >= MAIN_SEEDS_MAX) {
		return -1;
	}
	return 0;
}

static int main_list_mutations(void)
{
	const char *name;
	for (size_t i = 0; (name = sim_mutation_name(i, NULL)) != NULL; i++) {
		printf("%s\n", name);
	}
	return 0;
}

static int main_flag(struct main_args *a, const char *arg, const char *val, int *used)
{
	uint64_t v = 0;
	*used = 1;
	if (strcmp(arg, "--seeds") == 0) {
		return main_seed_range(val, a);
	}
	if (strcmp(arg, "--seed") == 0) {
		a->replay = true;
		int rc = main_u64(val, &v);
		a->seed_first = a->seed_last = v;
		return rc;
	}
	if (strcmp(arg, "--coordinators") == 0) {
		int rc = main_u64(val, &v);
		a->replicas = (uint32_t)v;
		return rc != 0 || v > 64 ? -1 : 0;
	}
	if (strcmp(arg, "--voters") == 0) {
		int rc = main_u64(val, &v);
		a->voters = (uint32_t)v;
		return rc != 0 || v < 4 || v > 64 ? -1 : 0;
	}
	if (strcmp(arg, "--steps") == 0) {
		return main_u64(val, &a->steps);
	}
	if (strcmp(arg, "--mutate") == 0) {
		a->mutation_name = val;
		a->mutations |= val != NULL ? sim_mutation_parse(val) : 0u;
		return val != NULL && sim_mutation_parse(val) != 0 ? 0 : -1;
	}
	*used = 0;
	if (strcmp(arg, "--no-faults") == 0) {
		a->faults = false;
	} else if (strcmp(arg, "--real-crypto") == 0) {
		a->real_crypto = true;
	} else if (strcmp(arg, "--verbose") == 0) {
		a->verbose = true;
	} else if (strcmp(arg, "--keep-going") == 0) {
		a->keep_going = true;
	} else if (strcmp(arg, "--keep-records") == 0) {
		a->keep_records = true;
	} else if (strcmp(arg, "--hunt") == 0) {
		a->hunt = true;
	} else {
		return -1;
	}
	return 0;
}

static int main_parse(int argc, char **argv, struct main_args *a)
{
	memset(a, 0, sizeof *a);
	a->seed_first = 1;
	a->seed_last = 100;
	a->replicas = 4;
	a->faults = true;
	for (int i = 1; i < argc; i++) {
		int used = 0;
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (main_flag(a, argv[i], val, &used) != 0) {
			fprintf(stderr, "synod-sim: bad argument near '%s'\n", argv[i]);
			return -1;
		}
		i += used;
	}
	return 0;
}

static void main_replay_command(const struct main_args *a, uint64_t seed)
{
	printf("replay: build/synod-sim --seed %" PRIu64 " --coordinators %u", seed, a->replicas);
	if (a->mutation_name != NULL) {
		printf(" --mutate %s", a->mutation_name);
	}
	if (!a->faults) {
		printf(" --no-faults");
	}
	if (a->real_crypto) {
		printf(" --real-crypto");
	}
	if (a->steps != 0) {
		printf(" --steps %" PRIu64, a->steps);
	}
	if (a->keep_records) {
		printf(" --keep-records");
	}
	if (a->hunt) {
		printf(" --hunt");
	}
	if (a->voters != 0) {
		printf(" --voters %u", a->voters);
	}
	printf("\n");
}

static void main_report_voters(const struct sim_stats *s)
{
	static const char *const reasons[SIM_VOTE_REASONS] = {
	    "counted",      "bad_signature", "unknown_request", "closed_request",
	    "wrong_epoch",  "wrong_cluster", "excluded_seat",   "unknown_seat",
	    "equivocation", "duplicate",     "malformed"};
	printf("  requests         %" PRIu64 " submitted, %" PRIu64 " decided (%" PRIu64
	       " approved, %" PRIu64 " rejected, %" PRIu64 " expired, %" PRIu64
	       " refused as expired at submission); %" PRIu64 " TICKs proposed\n",
	       s->requests, s->requests_decided + s->requests_expired_at_submit,
	       s->requests_approved, s->requests_rejected, s->requests_expired,
	       s->requests_expired_at_submit, s->ticks_submitted);
	printf("  votes            %" PRIu64 " counted; ignored:", s->votes[0]);
	for (uint32_t i = 1; i < SIM_VOTE_REASONS; i++) {
		printf(" %s %" PRIu64, reasons[i], s->votes[i]);
	}
	printf(" (%" PRIu64 " Byzantine seats)\n", s->byz_voters);
	printf("  exclusions       %" PRIu64 " checked against their evidence (%" PRIu64
	       " evidence not recorded)\n",
	       s->exclusions - s->exclusions_unchecked, s->exclusions_unchecked);
	printf("  recounts         %" PRIu64 " equal to the app's tally (%" PRIu64
	       " skipped: log gap)\n",
	       s->recounts, s->recounts_skipped);
	printf("  bundles          %" PRIu64 " built and verified (%" PRIu64 " skipped, %" PRIu64
	       " after the last stable checkpoint); tamperings %" PRIu64 " of %" PRIu64 " caught\n",
	       s->bundles_verified, s->bundles_skipped, s->bundles_uncovered, s->tamper_caught,
	       s->tamper_tried);
}

static void main_report(const struct main_args *a, const struct sim_stats *s, double seconds)
{
	printf("synod-sim: n=%u seeds %" PRIu64 "..%" PRIu64 ", faults %s, mutation %s\n",
	       a->replicas, a->seed_first, a->seed_last, a->faults ? "on" : "off",
	       a->mutation_name != NULL ? a->mutation_name : "none");
	printf("  seeds run        %" PRIu64 "\n", s->seeds);
	printf("  steps            %" PRIu64 " (%" PRIu64 " simulated s)\n", s->steps,
	       s->sim_ms / 1000u);
	printf("  commits          %" PRIu64 " seqs; entries %" PRIu64 " submitted, %" PRIu64
	       " executed, %" PRIu64 " foreign (not the clients': votes, TICKs, Byzantine)\n",
	       s->commits, s->entries_submitted, s->entries_executed, s->foreign_entries);
	uint64_t ordered = s->entries_ordered;
	printf("  duplicates       %" PRIu64 " executions of an entry already ordered at another "
	       "seq (%.2f%% of %" PRIu64 " distinct entries ordered)\n",
	       s->dup_executions,
	       ordered != 0 ? 100.0 * (double)s->dup_executions / (double)ordered : 0.0, ordered);
	printf("  view changes     %" PRIu64 "\n", s->view_changes);
	printf("  state transfers  %" PRIu64 "\n", s->state_transfers);
	printf("  messages         %" PRIu64 " sent (%" PRIu64 " bytes), %" PRIu64
	       " delivered, %" PRIu64 " lost, %" PRIu64 " cut, %" PRIu64
	       " dropped (queue full), %" PRIu64 " duplicated, %" PRIu64 " Byzantine, %" PRIu64
	       " rejected by honest cores\n",
	       s->msgs_sent, s->msg_bytes_sent, s->msgs_delivered, s->msgs_lost, s->msgs_cut,
	       s->msgs_dropped_full, s->msgs_duplicated, s->byz_injected, s->msgs_rejected);
	printf("  crashes          %" PRIu64 " (records: %" PRIu64 " written, %" PRIu64
	       " lost, %" PRIu64 " torn)\n",
	       s->crashes, s->records_written, s->records_lost, s->records_torn);
	printf("  signatures       %" PRIu64 " made, %" PRIu64 " verified\n", s->signs,
	       s->verifies);
	if (a->voters != 0) {
		main_report_voters(s);
	}
	printf("  violations       %" PRIu64 "\n", s->violations);
	printf("seeds=%" PRIu64 " coordinators=%u steps=%" PRIu64 " commits=%" PRIu64
	       " entries_ordered=%" PRIu64 " dup_executions=%" PRIu64 " view_changes=%" PRIu64
	       " state_transfers=%" PRIu64 " dropped=%" PRIu64 " duplicated=%" PRIu64
	       " crashes=%" PRIu64 " violations=%" PRIu64 " seconds=%.1f%s",
	       s->seeds, a->replicas, s->steps, s->commits, s->entries_ordered, s->dup_executions,
	       s->view_changes, s->state_transfers,
	       s->msgs_lost + s->msgs_cut + s->msgs_dropped_full, s->msgs_duplicated, s->crashes,
	       s->violations, seconds, a->voters != 0 ? "" : "\n");
	if (a->voters != 0) {
		printf(" requests=%" PRIu64 " decided=%" PRIu64 " approved=%" PRIu64
		       " rejected=%" PRIu64 " expired=%" PRIu64 " votes_counted=%" PRIu64
		       " exclusions=%" PRIu64 " recounts=%" PRIu64 " bundles_verified=%" PRIu64
		       " tamper_caught=%" PRIu64 "\n",
		       s->requests, s->requests_decided + s->requests_expired_at_submit,
		       s->requests_approved, s->requests_rejected,
		       s->requests_expired + s->requests_expired_at_submit, s->votes[0],
		       s->exclusions, s->recounts, s->bundles_verified, s->tamper_caught);
	}
}

static double main_seconds(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static int main_one(const struct main_args *a, uint64_t seed, struct sim_stats *sum)
{
	struct sim_options o;
	struct sim_violation v;
	char err[256] = "";
	sim_options_defaults(&o, seed, a->replicas);
	o.mutations = a->mutations;
	o.faults = a->faults;
	o.real_crypto = a->real_crypto;
	o.keep_records = a->keep_records;
	o.hunt = a->hunt;
	if (a->voters != 0) {
		sim_voters_options(&o, a->voters);
	}
	if (a->steps != 0) {
		o.steps_max = a->steps;
	}
	o.trace = a->replay ? stdout : NULL;
	struct sim_stats one;
	memset(&one, 0, sizeof one);
	int rc = sim_run(&o, &one, &v, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "synod-sim: seed %" PRIu64 ": %s\n", seed, err);
		return 2;
	}
	sim_stats_add(sum, &one);
	if (a->verbose) {
		printf("seed %" PRIu64 ": steps=%" PRIu64 " commits=%" PRIu64 " views=%" PRIu64
		       " transfers=%" PRIu64 " crashes=%" PRIu64 " entries=%" PRIu64
		       " dups=%" PRIu64 "%s\n",
		       seed, one.steps, one.commits, one.view_changes, one.state_transfers,
		       one.crashes, one.entries_submitted, one.dup_executions,
		       rc ? " VIOLATION" : "");
	}
	if (rc == 1) {
		printf("VIOLATION seed=%" PRIu64 " step=%" PRIu64 " t=%" PRIu64 "ms node=%u: %s\n",
		       v.seed, v.step, v.now_ms, v.node, v.what);
		main_replay_command(a, seed);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct main_args a;
	if (argc >= 2 && strcmp(argv[1], "--list-mutations") == 0) {
		return main_list_mutations();
	}
	if (main_parse(argc, argv, &a) != 0) {
		main_usage(stderr);
		return 2;
	}
	if (getenv("SYNOD_LOG_LEVEL") == NULL) {
		/* The cores' log lines go into a replay's trace, nowhere else. */
		synod_log_level_set(a.replay ? SYNOD_LOG_INFO : SYNOD_LOG_OFF);
	}
	if (a.replay) {
		synod_log_sink_set(stdout);
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct sim_stats sum;
	memset(&sum, 0, sizeof sum);
	int status = 0;
	for (uint64_t seed = a.seed_first; seed <= a.seed_last; seed++) {
		int rc = main_one(&a, seed, &sum);
		if (rc == 2) {
			return 2;
		}
		if (rc == 1) {
			status = 1;
			if (!a.keep_going) {
				a.seed_last = seed;
				break;
			}
		}
	}
	fflush(stdout);
	main_report(&a, &sum, main_seconds(&t0));
	return status;
}

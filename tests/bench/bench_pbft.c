/* synod-bench-pbft: the PBFT core's cost on the simulator, with real
 * Ed25519 and no faults, for n = 4, 7, 10 and batches of 1, 16 and 128
 * entries. A closed-loop client keeps the primary's batches full; each
 * configuration runs until a bounded number of batches commit.
 *
 * Measures and prints (never asserts): committed batches per real second,
 * messages and bytes per committed batch, signatures made and verified per
 * committed entry (counted in the crypto table). Wall time includes the
 * simulator's own work (network queue, disk copies, the test app), which is
 * small next to Ed25519. The last line is one line of key=value pairs. */
#include "tests/sim/cluster.h"

#include "common/log.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_BATCHES    150u    /* committed batches per configuration */
#define BENCH_SIM_MS_MAX 120000u /* simulated time bound per configuration */
#define BENCH_CONFIGS    9u

struct bench_result {
	uint32_t n;
	uint32_t batch;
	uint64_t batches;
	uint64_t entries;
	double seconds;
	double batches_per_s;
	double entries_per_s;
	double msgs_per_batch;
	double bytes_per_batch;
	double verifies_per_entry;
	double signs_per_entry;
	double bound_entries_per_s; /* if the one core did nothing but this row's crypto */
	double bound_fraction;
};

static double bench_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Ed25519 on one core, measured in this run on 52-byte messages (the signed
 * part of a PBFT core): the bound every row is compared with. */
static double bench_sign_per_s, bench_verify_per_s;

static void bench_crypto_bound(void)
{
	uint8_t pk[32], sk[64], sig[64], msg[52] = {1};
	crypto_sign_ed25519_keypair(pk, sk);
	double t0 = bench_now();
	uint64_t n = 0;
	while (bench_now() - t0 < 0.5) {
		for (int i = 0; i < 100; i++, n++) {
			msg[0] = (uint8_t)n;
			crypto_sign_ed25519_detached(sig, NULL, msg, sizeof msg, sk);
		}
	}
	bench_sign_per_s = (double)n / (bench_now() - t0);
	t0 = bench_now();
	n = 0;
	int bad = 0;
	while (bench_now() - t0 < 0.5) {
		for (int i = 0; i < 100; i++, n++) {
			bad |= crypto_sign_ed25519_verify_detached(sig, msg, sizeof msg, pk);
		}
	}
	bench_verify_per_s = (double)n / (bench_now() - t0);
	if (bad != 0) {
		fprintf(stderr, "synod-bench-pbft: self-check signature failed\n");
	}
}

static void bench_bound(struct bench_result *r)
{
	double per_entry_s =
	    r->verifies_per_entry / bench_verify_per_s + r->signs_per_entry / bench_sign_per_s;
	r->bound_entries_per_s = per_entry_s > 0 ? 1.0 / per_entry_s : 0;
	r->bound_fraction =
	    r->bound_entries_per_s > 0 ? r->entries_per_s / r->bound_entries_per_s : 0;
}

static int bench_cluster(struct sim_cluster **c, uint32_t n, uint32_t batch)
{
	struct sim_options o;
	char err[256] = "";
	sim_options_defaults(&o, 0x62656e6368ull + n * 1000u + batch, n);
	o.real_crypto = true;
	o.faults = false;
	o.checks = false; /* the checker's certificate checks would be counted as work */
	o.client_retry_ms = 0;
	o.checkpoint_interval = 8;
	o.window = 32;
	o.batch_entries_max = batch;
	o.batch_bytes_max = batch * (256u + 4u) + 4u; /* entry_bytes_max is 256 */
	o.pending_entries_max = 8192;
	o.batch_delay_ms = 2;
	o.tick_ms = 2;
	o.steps_max = 50000000; /* a bound, never reached in practice */
	int rc = sim_cluster_init(c, &o, err, sizeof err);
	if (rc != 0) {
		fprintf(stderr, "synod-bench-pbft: n=%u batch=%u: %s\n", n, batch, err);
	}
	return rc;
}

/* Keeps about two windows' worth of full batches queued at the primary. */
static void bench_feed(struct sim_cluster *c, uint32_t batch, uint64_t *submitted)
{
	const struct sim_stats *s = sim_cluster_stats(c);
	uint64_t want = 2u * 32u * (uint64_t)batch;
	if (want > 6000u) {
		want = 6000u;
	}
	struct pbft_status st;
	sim_cluster_status(c, 0, &st);
	while (*submitted - s->entries_executed < want && *submitted < SIM_ENTRIES_MAX) {
		if (sim_cluster_submit(c, 1u << st.primary) < 0) {
			break;
		}
		(*submitted)++;
	}
}

static int bench_one(uint32_t n, uint32_t batch, struct bench_result *r)
{
	struct sim_cluster *c = NULL;
	if (bench_cluster(&c, n, batch) != 0) {
		return -1;
	}
	uint64_t submitted = 0;
	uint64_t start_ms = sim_cluster_now_ms(c);
	double t0 = bench_now();
	while (sim_cluster_committed_seq(c) < BENCH_BATCHES &&
	       sim_cluster_now_ms(c) - start_ms < BENCH_SIM_MS_MAX) {
		bench_feed(c, batch, &submitted);
		if (submitted == sim_cluster_stats(c)->entries_executed &&
		    submitted >= SIM_ENTRIES_MAX) {
			break; /* out of entries: everything submitted is committed */
		}
		if (sim_cluster_run_ms(c, 1) != 0) {
			break;
		}
	}
	double t1 = bench_now();
	const struct sim_stats *s = sim_cluster_stats(c);
	memset(r, 0, sizeof *r);
	r->n = n;
	r->batch = batch;
	r->batches = s->commits;
	r->entries = s->entries_executed;
	r->seconds = t1 - t0;
	double b = r->batches > 0 ? (double)r->batches : 1.0;
	double e = r->entries > 0 ? (double)r->entries : 1.0;
	r->batches_per_s = (double)r->batches / r->seconds;
	r->entries_per_s = (double)r->entries / r->seconds;
	r->msgs_per_batch = (double)s->msgs_sent / b;
	r->bytes_per_batch = (double)s->msg_bytes_sent / b;
	r->verifies_per_entry = (double)s->verifies / e;
	r->signs_per_entry = (double)s->signs / e;
	const struct sim_violation *v = sim_cluster_violation(c);
	if (v != NULL) {
		fprintf(stderr, "synod-bench-pbft: n=%u batch=%u: %s\n", n, batch, v->what);
	}
	sim_cluster_close(c);
	return 0;
}

static void bench_print(struct bench_result *r)
{
	bench_bound(r);
	printf("%3u %6u %8" PRIu64 " %8" PRIu64 " %8.2f %12.1f %12.1f %10.1f %12.0f %10.2f %10.2f "
	       "%12.0f %8.2f\n",
	       r->n, r->batch, r->batches, r->entries, r->seconds, r->batches_per_s,
	       r->entries_per_s, r->msgs_per_batch, r->bytes_per_batch, r->verifies_per_entry,
	       r->signs_per_entry, r->bound_entries_per_s, r->bound_fraction);
}

static void bench_summary(const struct bench_result *res, uint32_t count)
{
	printf("bench=pbft crypto=ed25519 verify_per_s=%.0f sign_per_s=%.0f", bench_verify_per_s,
	       bench_sign_per_s);
	for (uint32_t i = 0; i < count; i++) {
		const struct bench_result *r = &res[i];
		printf(" n%u_b%u_batches_per_s=%.1f n%u_b%u_entries_per_s=%.0f "
		       "n%u_b%u_bound_fraction=%.2f",
		       r->n, r->batch, r->batches_per_s, r->n, r->batch, r->entries_per_s, r->n,
		       r->batch, r->bound_fraction);
	}
	for (uint32_t i = 0; i < count; i++) {
		const struct bench_result *r = &res[i];
		printf(" n%u_b%u_msgs_per_batch=%.1f n%u_b%u_bytes_per_batch=%.0f "
		       "n%u_b%u_verifies_per_entry=%.2f",
		       r->n, r->batch, r->msgs_per_batch, r->n, r->batch, r->bytes_per_batch, r->n,
		       r->batch, r->verifies_per_entry);
	}
	printf("\n");
}

int main(void)
{
	static const uint32_t ns[] = {4, 7, 10};
	static const uint32_t batches[] = {1, 16, 128};
	struct bench_result res[BENCH_CONFIGS];
	uint32_t count = 0;
	if (getenv("SYNOD_LOG_LEVEL") == NULL) {
		synod_log_level_set(SYNOD_LOG_OFF);
	}
	if (sodium_init() < 0) {
		return 1;
	}
	bench_crypto_bound();
	printf("synod-bench-pbft: real Ed25519, no faults, %u committed batches per row\n",
	       BENCH_BATCHES);
	printf("crypto bound (this run, one core, 52-byte messages): verify %.0f/s, sign %.0f/s;\n"
	       "bound = 1 / (verif/ent / verify_per_s + signs/ent / sign_per_s): the entries/s of\n"
	       "one core doing nothing but the row's signature work (all n replicas run on it)\n",
	       bench_verify_per_s, bench_sign_per_s);
	printf("%3s %6s %8s %8s %8s %12s %12s %10s %12s %10s %10s %12s %8s\n", "n", "batch",
	       "batches", "entries", "seconds", "batches/s", "entries/s", "msgs/batch",
	       "bytes/batch", "verif/ent", "signs/ent", "bound ent/s", "fraction");
	for (uint32_t i = 0; i < 3; i++) {
		for (uint32_t j = 0; j < 3; j++) {
			if (bench_one(ns[i], batches[j], &res[count]) != 0) {
				return 1;
			}
			bench_print(&res[count]);
			fflush(stdout);
			count++;
		}
	}
	bench_summary(res, count);
	return 0;
}

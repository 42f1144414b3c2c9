/* Certification state machine speed on one core: votes applied per second
 * through synod_app_execute (batches of committed entries) with the real
 * Ed25519 check and with a no-op check (the rest of the apply path: parse,
 * canonical check, tally), the Ed25519 verify rate that bounds the first, and
 * the evidence bundle of a 33-vote decision (size, build and verify time).
 * Measures and prints; asserts nothing about time.
 *   synod-bench-app [--votes N] [--batch N]
 * The last line is key=value pairs. */
#include "common/assert.h"
#include "common/log.h"
#include "common/sign.h"
#include "coordinator/app/app.h"
#include "coordinator/app/testkit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_ENTRY_BYTES 1024u
#define BENCH_T0          1700000000000ull

struct bench {
	struct synod_testkit kit;
	uint32_t votes;
	uint32_t per_batch;
	uint8_t **batches;
	size_t *batch_lens;
	uint32_t batch_count;
	uint8_t tick_batch[64];
	size_t tick_len;
};

static double bench_now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int bench_noop_verify(void *ctx, const uint8_t sig[SYNOD_SIG_BYTES], const uint8_t *msg,
                             size_t len, const uint8_t pk[SYNOD_PUBKEY_BYTES])
{
	(void)ctx;
	(void)sig;
	(void)msg;
	(void)len;
	(void)pk;
	return 0;
}

static uint64_t bench_rng(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Requests of 33 votes each (70% APPROVE, in random seat order), one SUBMIT
 * before its votes, all cut into batches of per_batch entries. */
static void bench_prepare(struct bench *b)
{
	uint32_t requests = (b->votes + 32) / 33;
	uint32_t entries = requests * 34;
	uint8_t **e = malloc(entries * sizeof *e);
	size_t *lens = malloc(entries * sizeof *lens);
	SYNOD_ASSERT(e != NULL && lens != NULL);
	uint64_t rng = 1;
	uint32_t n = 0;
	for (uint32_t r = 0; r < requests; r++) {
		uint8_t id[32];
		e[n] = malloc(BENCH_ENTRY_BYTES * 8);
		SYNOD_ASSERT(synod_testkit_request(e[n], BENCH_ENTRY_BYTES * 8, &lens[n], id,
		                                   BENCH_T0 + 3600000, r) == 0);
		n++;
		uint32_t order[33];
		for (uint32_t s = 0; s < 33; s++) {
			order[s] = s;
		}
		for (uint32_t s = 32; s > 0; s--) {
			uint32_t k = (uint32_t)(bench_rng(&rng) % (s + 1));
			uint32_t t = order[s];
			order[s] = order[k];
			order[k] = t;
		}
		for (uint32_t s = 0; s < 33; s++) {
			enum synod_verdict v =
			    bench_rng(&rng) % 10 < 7 ? SYNOD_VERDICT_APPROVE : SYNOD_VERDICT_REJECT;
			e[n] = malloc(BENCH_ENTRY_BYTES);
			SYNOD_ASSERT(e[n] != NULL);
			SYNOD_ASSERT(synod_testkit_vote(&b->kit, order[s], id, 0, v, 0, e[n],
			                                BENCH_ENTRY_BYTES, &lens[n]) == 0);
			n++;
		}
	}
	b->batch_count = (n + b->per_batch - 1) / b->per_batch;
	b->batches = malloc(b->batch_count * sizeof *b->batches);
	b->batch_lens = malloc(b->batch_count * sizeof *b->batch_lens);
	for (uint32_t i = 0; i < b->batch_count; i++) {
		uint32_t first = i * b->per_batch;
		uint32_t count = n - first < b->per_batch ? n - first : b->per_batch;
		size_t cap = 4;
		for (uint32_t k = 0; k < count; k++) {
			cap += 4 + lens[first + k];
		}
		b->batches[i] = malloc(cap);
		SYNOD_ASSERT(synod_testkit_batch(b->batches[i], cap, &b->batch_lens[i],
		                                 (const uint8_t *const *)&e[first], &lens[first],
		                                 count) == 0);
	}
	for (uint32_t i = 0; i < n; i++) {
		free(e[i]);
	}
	free(e);
	free(lens);
	b->votes = requests * 33;
	uint8_t tick[SYNOD_APP_TICK_BYTES];
	synod_entry_tick(tick, BENCH_T0);
	const uint8_t *te[1] = {tick};
	size_t tl[1] = {sizeof tick};
	SYNOD_ASSERT(
	    synod_testkit_batch(b->tick_batch, sizeof b->tick_batch, &b->tick_len, te, tl, 1) == 0);
}

/* Votes per second through execute, with the given check. */
static double bench_apply(struct bench *b, bool real_sigs, uint64_t *counted)
{
	struct synod_app_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.cluster = b->kit.cluster;
	if (!real_sigs) {
		cfg.crypto.verify = bench_noop_verify;
	}
	struct synod_app *a = NULL;
	SYNOD_ASSERT(synod_app_init(&a, &cfg, NULL, 0) == 0);
	synod_app_execute(a, 1, b->tick_batch, b->tick_len);
	double t0 = bench_now_s();
	for (uint32_t i = 0; i < b->batch_count; i++) {
		synod_app_execute(a, 2 + i, b->batches[i], b->batch_lens[i]);
	}
	double dt = bench_now_s() - t0;
	struct synod_app_status st;
	synod_app_status_get(a, &st);
	*counted = st.votes[SYNOD_VOTE_COUNTED];
	SYNOD_ASSERT(st.votes[SYNOD_VOTE_COUNTED] + st.votes[SYNOD_VOTE_CLOSED_REQUEST] ==
	             b->votes);
	synod_app_close(a);
	return (double)b->votes / dt;
}

static double bench_ed25519(const struct bench *b)
{
	uint8_t e[BENCH_ENTRY_BYTES], id[32] = {1};
	size_t len = 0;
	SYNOD_ASSERT(synod_testkit_vote(&b->kit, 3, id, 0, SYNOD_VERDICT_APPROVE, 0, e, sizeof e,
	                                &len) == 0);
	struct synod_vote_envelope env;
	SYNOD_ASSERT(synod_vote_decode(&env, (const char *)e + 1, len - 1, NULL, 0) == 0);
	uint32_t n = 4000;
	double t0 = bench_now_s();
	for (uint32_t i = 0; i < n; i++) {
		SYNOD_ASSERT(synod_vote_verify(&env, (const char *)e + 1, b->kit.cluster.cluster_id,
		                               b->kit.seats[3].pk) == 0);
	}
	return n / (bench_now_s() - t0);
}

struct bench_bundle {
	size_t bytes;
	double build_ms;
	double verify_ms;
	uint32_t batches;
};

/* A decision with 33 counted votes: 11 rejections, then 22 approvals, in
 * batches of per_batch votes. */
static void bench_bundle(const struct bench *b, uint32_t per_batch, struct bench_bundle *out)
{
	struct synod_app_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.cluster = b->kit.cluster;
	struct synod_app *a = NULL;
	SYNOD_ASSERT(synod_app_init(&a, &cfg, NULL, 0) == 0);
	struct synod_testkit_log log;
	synod_testkit_log_init(&log, &b->kit);
	static uint8_t bufs[33][BENCH_ENTRY_BYTES * 8];
	const uint8_t *entries[33];
	size_t lens[33];
	uint8_t id[32];
	synod_entry_tick(bufs[0], BENCH_T0);
	entries[0] = bufs[0];
	lens[0] = SYNOD_APP_TICK_BYTES;
	SYNOD_ASSERT(synod_testkit_log_commit_entries(&log, a, entries, lens, 1, NULL) == 0);
	SYNOD_ASSERT(synod_testkit_request(bufs[0], sizeof bufs[0], &lens[0], id,
	                                   BENCH_T0 + 3600000, 7) == 0);
	SYNOD_ASSERT(synod_testkit_log_commit_entries(&log, a, entries, lens, 1, NULL) == 0);
	for (uint32_t s = 0; s < 33; s++) {
		enum synod_verdict v = s < 11 ? SYNOD_VERDICT_REJECT : SYNOD_VERDICT_APPROVE;
		SYNOD_ASSERT(synod_testkit_vote(&b->kit, s, id, 0, v, 0, bufs[s], sizeof bufs[s],
		                                &lens[s]) == 0);
		entries[s] = bufs[s];
	}
	for (uint32_t s = 0; s < 33; s += per_batch) {
		uint32_t n = 33 - s < per_batch ? 33 - s : per_batch;
		SYNOD_ASSERT(
		    synod_testkit_log_commit_entries(&log, a, &entries[s], &lens[s], n, NULL) == 0);
	}
	struct synod_tally t;
	SYNOD_ASSERT(synod_app_tally_get(a, id, &t) == 0 && t.outcome == SYNOD_OUTCOME_APPROVED &&
	             t.approvals + t.rejections == 33);
	char *bundle = NULL;
	struct synod_testkit_checkpoint ck;
	SYNOD_ASSERT(
	    synod_testkit_checkpoint(&b->kit, a, pbft_quorum(b->kit.cluster.replicas), &ck) == 0);
	double t0 = bench_now_s();
	SYNOD_ASSERT(synod_bundle_build(a, id, synod_testkit_log_lookup, &log, &ck.cp, &bundle,
	                                &out->bytes, NULL, 0) == 0);
	out->build_ms = (bench_now_s() - t0) * 1e3;
	struct synod_bundle_summary sum;
	t0 = bench_now_s();
	SYNOD_ASSERT(synod_bundle_verify(bundle, out->bytes, &b->kit.cluster, &sum, NULL, NULL) ==
	             0);
	out->verify_ms = (bench_now_s() - t0) * 1e3;
	out->batches = sum.batches;
	SYNOD_ASSERT(sum.votes == 33);
	free(bundle);
	synod_testkit_log_close(&log);
	synod_app_close(a);
}

int main(int argc, char **argv)
{
	static struct bench b;
	b.votes = 33000;
	b.per_batch = 64;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--votes") == 0) {
			b.votes = (uint32_t)strtoul(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--batch") == 0) {
			b.per_batch = (uint32_t)strtoul(argv[i + 1], NULL, 10);
		}
	}
	if (b.votes < 33 || b.per_batch < 1 || b.per_batch > 4096) {
		fprintf(stderr, "usage: synod-bench-app [--votes N>=33] [--batch 1..4096]\n");
		return 2;
	}
	synod_log_level_set(SYNOD_LOG_OFF);
	struct synod_policy p;
	synod_policy_defaults(&p);
	p.epoch_decisions = SYNOD_APP_EPOCH_DECISIONS_MAX; /* every vote names epoch 0 */
	synod_testkit_init(&b.kit, &p, 4, 1);
	bench_prepare(&b);
	uint64_t counted = 0;
	double with_sig = bench_apply(&b, true, &counted);
	double without = bench_apply(&b, false, &counted);
	double ed = bench_ed25519(&b);
	struct bench_bundle typical, worst;
	bench_bundle(&b, 8, &typical);
	bench_bundle(&b, 1, &worst);
	printf("certification state machine, one core, %u votes on %u requests, %u entries per "
	       "batch\n",
	       b.votes, b.votes / 33, b.per_batch);
	printf("  %-44s %12.0f votes/s\n", "apply, Ed25519 checked", with_sig);
	printf("  %-44s %12.0f votes/s\n", "apply, signature check skipped", without);
	printf("  %-44s %12.0f verifies/s\n", "Ed25519 vote verify alone", ed);
	printf("  %-44s %12llu\n", "votes counted (the rest were late)",
	       (unsigned long long)counted);
	printf("  %-44s %12zu bytes (%u batches, build %.1f ms, verify %.1f ms)\n",
	       "bundle, 33-vote decision, 8 votes/batch", typical.bytes, typical.batches,
	       typical.build_ms, typical.verify_ms);
	printf("  %-44s %12zu bytes (%u batches, build %.1f ms, verify %.1f ms)\n",
	       "bundle, 33-vote decision, 1 vote/batch", worst.bytes, worst.batches, worst.build_ms,
	       worst.verify_ms);
	printf("votes_per_s_sig=%.0f votes_per_s_nosig=%.0f ed25519_verify_per_s=%.0f "
	       "bundle_bytes_33=%zu bundle_bytes_33_worst=%zu bundle_verify_ms_33=%.1f\n",
	       with_sig, without, ed, typical.bytes, worst.bytes, typical.verify_ms);
	for (uint32_t i = 0; i < b.batch_count; i++) {
		free(b.batches[i]);
	}
	free(b.batches);
	free(b.batch_lens);
	return 0;
}

/* Fuzzes the certification state machine's decoders and checkers. The first
 * byte picks the target, the rest is its input:
 *   0  synod_request_decode (and re-encode: a decoded request encodes back to
 *      the same bytes)
 *   1  synod_vote_decode (and re-encode of the signed part)
 *   2  synod_bundle_verify against the test cluster of tests/vectors/app
 *   3  a fresh app executing the input as batches (1 KiB of input each, whose
 *      entries are u16 length + bytes),
 *      with a fake vote signature check (valid when the first signature byte
 *      is even) so that tallies, equivocations and epochs are reachable; then
 *      snapshot, restore into a second app, and the same snapshot bytes
 *   4  synod_app_restore of the input (u64 seq + snapshot); when accepted,
 *      the snapshot reproduces the input exactly, and entries apply after it
 *   5  synod_policy_parse and synod_cluster_parse
 * Nothing may crash, leak or trip an assertion; the properties above are
 * asserted. Seeds: tests/fuzz/corpus/app, written by this target when
 * SYNOD_FUZZ_APP_WRITE_CORPUS names a directory (README.md there). */
#include "common/assert.h"
#include "common/log.h"
#include "coordinator/app/app.h"
#include "coordinator/app/testkit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SNAPSHOT_BYTES (4u * 1024u * 1024u)
#define FUZZ_SEED           2024u /* the cluster of tests/vectors/app */

static struct synod_testkit *fuzz_kit;       /* default policy: bundles */
static struct synod_testkit *fuzz_kit_small; /* small tables: apps */
static uint8_t *fuzz_snap;
static uint8_t *fuzz_snap2;

static int fuzz_fake_verify(void *ctx, const uint8_t sig[SYNOD_SIG_BYTES], const uint8_t *msg,
                            size_t len, const uint8_t pk[SYNOD_PUBKEY_BYTES])
{
	(void)ctx;
	(void)msg;
	(void)len;
	(void)pk;
	return (sig[0] & 1u) == 0 ? 0 : SYNOD_EBADSIG;
}

static void fuzz_init(void)
{
	if (fuzz_kit != NULL) {
		return;
	}
	synod_log_level_set(SYNOD_LOG_OFF);
	fuzz_kit = malloc(sizeof *fuzz_kit);
	fuzz_kit_small = malloc(sizeof *fuzz_kit_small);
	fuzz_snap = malloc(FUZZ_SNAPSHOT_BYTES);
	fuzz_snap2 = malloc(FUZZ_SNAPSHOT_BYTES);
	SYNOD_ASSERT(fuzz_kit != NULL && fuzz_kit_small != NULL && fuzz_snap != NULL &&
	             fuzz_snap2 != NULL);
	synod_testkit_init(fuzz_kit, NULL, 4, FUZZ_SEED);
	struct synod_policy p;
	synod_policy_defaults(&p);
	p.seats = 7;
	p.threshold = 5;
	p.epoch_decisions = 2;
	p.exclusion_epochs = 2;
	p.requests_retained_max = 8;
	p.non_participation = true;
	p.np_missed_decisions_max = 2;
	synod_testkit_init(fuzz_kit_small, &p, 4, FUZZ_SEED);
}

static void fuzz_request(const uint8_t *data, size_t size)
{
	struct synod_request *r = malloc(sizeof *r);
	SYNOD_ASSERT(r != NULL);
	char err[256] = "";
	uint8_t id[32];
	if (synod_request_decode(r, id, (const char *)data, size, err, sizeof err) == 0) {
		char *text = NULL;
		size_t len = 0;
		uint8_t id2[32];
		SYNOD_ASSERT(synod_request_encode(r, &text, &len, id2, NULL, 0) == 0);
		SYNOD_ASSERT(len == size && memcmp(text, data, size) == 0);
		SYNOD_ASSERT(memcmp(id, id2, 32) == 0);
		free(text);
	} else {
		SYNOD_ASSERT(err[0] != '\0');
	}
	free(r);
}

static void fuzz_vote(const uint8_t *data, size_t size)
{
	struct synod_vote_envelope env;
	char err[256] = "";
	if (synod_vote_decode(&env, (const char *)data, size, err, sizeof err) == 0) {
		char msg[SYNOD_APP_VOTE_BYTES_MAX];
		size_t len = 0;
		SYNOD_ASSERT(synod_vote_encode(&env.vote, msg, sizeof msg, &len, NULL, 0) == 0);
		SYNOD_ASSERT(len == env.signed_len &&
		             memcmp(msg, data + env.signed_offset, len) == 0);
		int rc = synod_vote_verify(&env, (const char *)data, fuzz_kit->cluster.cluster_id,
		                           fuzz_kit->cluster.seat_keys[0]);
		SYNOD_ASSERT(rc == 0 || rc == SYNOD_EBADSIG);
	} else {
		SYNOD_ASSERT(err[0] != '\0');
	}
}

static void fuzz_report(void *ctx, const char *failure)
{
	(void)ctx;
	SYNOD_ASSERT(failure != NULL && failure[0] != '\0');
}

static void fuzz_bundle(const uint8_t *data, size_t size)
{
	struct synod_bundle_summary sum;
	int rc = synod_bundle_verify((const char *)data, size, &fuzz_kit->cluster, &sum,
	                             fuzz_report, NULL);
	SYNOD_ASSERT((rc == 0) == (sum.failures == 0));
}

static struct synod_app *fuzz_app_new(void)
{
	struct synod_app_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.cluster = fuzz_kit_small->cluster;
	cfg.crypto.verify = fuzz_fake_verify;
	struct synod_app *a = NULL;
	SYNOD_ASSERT(synod_app_init(&a, &cfg, NULL, 0) == 0);
	return a;
}

/* Executes data as one committed batch at seq: its entries are u16 length +
 * bytes each (empty ones skipped: a batch cannot hold them). */
static void fuzz_batch(struct synod_app *a, uint64_t seq, const uint8_t *data, size_t size)
{
	static uint8_t batch[8192];
	struct pbft_batch_writer w;
	pbft_batch_writer_init(&w, batch, sizeof batch);
	size_t pos = 0;
	while (pos + 2 <= size) {
		size_t len = (size_t)data[pos] << 8 | data[pos + 1];
		pos += 2;
		if (len > size - pos) {
			len = size - pos;
		}
		if (len > 0) {
			SYNOD_ASSERT(pbft_batch_writer_add(&w, data + pos, (uint32_t)len) == 0);
		}
		pos += len;
	}
	size_t blen = pbft_batch_writer_finish(&w);
	synod_app_execute(a, seq, batch, blen);
}

static void fuzz_apply(const uint8_t *data, size_t size)
{
	struct synod_app *a = fuzz_app_new();
	struct synod_app *b = fuzz_app_new();
	/* a batch per 1 KiB, so that positions advance like a log */
	uint64_t seq = 0;
	for (size_t off = 0; off < size; off += 1024) {
		size_t n = size - off < 1024 ? size - off : 1024;
		fuzz_batch(a, ++seq, data + off, n);
	}
	synod_app_execute(a, ++seq, data, size < 3 ? size : 3); /* most likely malformed */
	size_t len = 0, len2 = 0;
	SYNOD_ASSERT(synod_app_snapshot(a, fuzz_snap, FUZZ_SNAPSHOT_BYTES, &len) == 0);
	SYNOD_ASSERT(synod_app_restore(b, seq, fuzz_snap, len) == 0);
	SYNOD_ASSERT(synod_app_snapshot(b, fuzz_snap2, FUZZ_SNAPSHOT_BYTES, &len2) == 0);
	SYNOD_ASSERT(len == len2 && memcmp(fuzz_snap, fuzz_snap2, len) == 0);
	synod_app_close(a);
	synod_app_close(b);
}

static void fuzz_restore(const uint8_t *data, size_t size)
{
	if (size < 8) {
		return;
	}
	uint64_t seq = 0;
	for (int i = 0; i < 8; i++) {
		seq = seq << 8 | data[i];
	}
	struct synod_app *a = fuzz_app_new();
	size_t len = 0;
	if (synod_app_restore(a, seq, data + 8, size - 8) == 0) {
		SYNOD_ASSERT(synod_app_snapshot(a, fuzz_snap, FUZZ_SNAPSHOT_BYTES, &len) == 0);
		SYNOD_ASSERT(len == size - 8 && memcmp(fuzz_snap, data + 8, len) == 0);
		if (seq < UINT64_MAX - 1) {
			/* and the state it holds survives a TICK and some votes */
			uint8_t tick[SYNOD_APP_TICK_BYTES];
			synod_entry_tick(tick, UINT64_MAX / 2);
			uint8_t batch[64];
			const uint8_t *entries[1] = {tick};
			size_t lens[1] = {sizeof tick};
			size_t blen = 0;
			SYNOD_ASSERT(
			    synod_testkit_batch(batch, sizeof batch, &blen, entries, lens, 1) == 0);
			synod_app_execute(a, seq + 1, batch, blen);
		}
	} else {
		/* refused: still the empty state */
		struct synod_app_status st;
		synod_app_status_get(a, &st);
		SYNOD_ASSERT(st.last_seq == 0 && st.requests_retained == 0);
	}
	synod_app_close(a);
}

static void fuzz_config(const uint8_t *data, size_t size)
{
	struct synod_policy p;
	struct synod_cluster *c = malloc(sizeof *c);
	SYNOD_ASSERT(c != NULL);
	char err[512] = "";
	if (synod_policy_parse(&p, (const char *)data, size, "fuzz", err, sizeof err) == 0) {
		SYNOD_ASSERT(synod_policy_check(&p, NULL, 0) == 0);
	} else {
		SYNOD_ASSERT(err[0] != '\0');
	}
	if (synod_cluster_parse(c, (const char *)data, size, "fuzz", err, sizeof err) == 0) {
		SYNOD_ASSERT(synod_cluster_check(c, NULL, 0) == 0);
	}
	free(c);
}

/* ---- seeds ---- */

#define SEED_BYTES_MAX (1024u * 1024u)

static void seed_write(const char *dir, const char *name, uint8_t target, const uint8_t *p,
                       size_t n)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	SYNOD_ASSERT(f != NULL);
	SYNOD_ASSERT(fwrite(&target, 1, 1, f) == 1 && fwrite(p, 1, n, f) == n);
	SYNOD_ASSERT(fclose(f) == 0);
}

/* An entry into the u16-length framing of target 3. */
static void seed_frame(uint8_t *out, size_t *len, const uint8_t *e, size_t n)
{
	out[*len] = (uint8_t)(n >> 8);
	out[*len + 1] = (uint8_t)n;
	memcpy(out + *len + 2, e, n);
	*len += 2 + n;
}

/* A vote the fake check accepts (first signature byte even). */
static size_t seed_vote(const struct synod_testkit *k, uint32_t seat, const uint8_t id[32],
                        uint64_t epoch, enum synod_verdict v, uint32_t variant, uint8_t *out)
{
	for (uint32_t i = 0;; i++) {
		size_t len = 0;
		SYNOD_ASSERT(synod_testkit_vote(k, seat, id, epoch, v, variant * 1000 + i, out,
		                                2048, &len) == 0);
		struct synod_vote_envelope env;
		SYNOD_ASSERT(synod_vote_decode(&env, (const char *)out + 1, len - 1, NULL, 0) == 0);
		if ((env.sig[0] & 1u) == 0) {
			return len;
		}
	}
}

/* A scenario for the small app: request, TICKs, votes, an equivocation. */
static size_t seed_scenario(uint8_t *out, uint32_t nonce, bool equivocate)
{
	uint8_t e[2048], id[32];
	size_t len = 0, n = 0;
	synod_entry_tick(e, 1700000000000ull);
	seed_frame(out, &len, e, SYNOD_APP_TICK_BYTES);
	SYNOD_ASSERT(synod_testkit_request(e, sizeof e, &n, id, 1700000060000ull, nonce) == 0);
	seed_frame(out, &len, e, n);
	for (uint32_t s = 0; s < 7; s++) {
		n = seed_vote(fuzz_kit_small, s, id, 0,
		              s < 4 ? SYNOD_VERDICT_APPROVE : SYNOD_VERDICT_REJECT, 0, e);
		seed_frame(out, &len, e, n);
		if (equivocate && s == 1) {
			n = seed_vote(fuzz_kit_small, s, id, 0, SYNOD_VERDICT_REJECT, 1, e);
			seed_frame(out, &len, e, n);
		}
	}
	synod_entry_tick(e, 1700000070000ull);
	seed_frame(out, &len, e, SYNOD_APP_TICK_BYTES);
	return len;
}

static void seeds_app(const char *dir, uint8_t *buf)
{
	size_t len = seed_scenario(buf, 1, false);
	seed_write(dir, "apply-approve", 3, buf, len);
	len = seed_scenario(buf, 2, true);
	seed_write(dir, "apply-equivocate", 3, buf, len);
	struct synod_app *a = fuzz_app_new();
	uint64_t seq = 0;
	for (uint32_t i = 0; i < 4; i++) {
		len = seed_scenario(buf, 10 + i, i % 2 == 1);
		fuzz_batch(a, ++seq, buf, len < 1024 ? len : 1024);
	}
	size_t slen = 0;
	SYNOD_ASSERT(synod_app_snapshot(a, fuzz_snap, FUZZ_SNAPSHOT_BYTES, &slen) == 0);
	for (int i = 0; i < 8; i++) {
		buf[i] = (uint8_t)(seq >> (56 - 8 * i));
	}
	memcpy(buf + 8, fuzz_snap, slen);
	seed_write(dir, "restore-busy", 4, buf, slen + 8);
	synod_app_close(a);
}

static void seeds_codec(const char *dir, uint8_t *buf)
{
	uint8_t id[32];
	size_t len = 0;
	SYNOD_ASSERT(synod_testkit_request(buf, SEED_BYTES_MAX, &len, id, 1700000060000ull, 1) ==
	             0);
	seed_write(dir, "request", 0, buf + 1, len - 1);
	SYNOD_ASSERT(synod_testkit_vote(fuzz_kit, 3, id, 0, SYNOD_VERDICT_APPROVE, 0, buf,
	                                SEED_BYTES_MAX, &len) == 0);
	seed_write(dir, "vote", 1, buf + 1, len - 1);
	char policy[1024];
	SYNOD_ASSERT(
	    synod_policy_canonical(&fuzz_kit->cluster.policy, policy, sizeof policy, &len) == 0);
	seed_write(dir, "policy", 5, (const uint8_t *)policy, len);
}

/* Bundles of the test cluster: approved, expired, and rejected by an
 * equivocation, with an exclusion in a later bundle. */
static void seeds_bundles(const char *dir)
{
	struct synod_policy p;
	synod_policy_defaults(&p);
	p.epoch_decisions = 1;
	struct synod_app_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.cluster = fuzz_kit->cluster;
	cfg.cluster.policy = p;
	struct synod_app *a = NULL;
	SYNOD_ASSERT(synod_app_init(&a, &cfg, NULL, 0) == 0);
	struct synod_testkit_log log;
	synod_testkit_log_init(&log, fuzz_kit);
	uint8_t e[3][2048], ids[3][32];
	size_t lens[3];
	const uint8_t *entries[3] = {e[0], e[1], e[2]};
	synod_entry_tick(e[0], 1700000000000ull);
	lens[0] = SYNOD_APP_TICK_BYTES;
	SYNOD_ASSERT(synod_testkit_log_commit_entries(&log, a, entries, lens, 1, NULL) == 0);
	for (uint32_t r = 0; r < 3; r++) {
		SYNOD_ASSERT(synod_testkit_request(e[r], 2048, &lens[r], ids[r],
		                                   1700000000000ull + 60000, r) == 0);
	}
	SYNOD_ASSERT(synod_testkit_log_commit_entries(&log, a, entries, lens, 3, NULL) == 0);
	for (uint32_t s = 0; s < 24; s++) {
		for (uint32_t r = 0; r < 2; r++) {
			SYNOD_ASSERT(synod_testkit_vote(fuzz_kit, s, ids[r], 0,
			                                r == 0 ? SYNOD_VERDICT_REJECT
			                                       : SYNOD_VERDICT_APPROVE,
			                                0, e[r], 2048, &lens[r]) == 0);
		}
		lens[2] = 0;
		if (s == 0) {
			SYNOD_ASSERT(synod_testkit_vote(fuzz_kit, s, ids[0], 0,
			                                SYNOD_VERDICT_APPROVE, 1, e[2], 2048,
			                                &lens[2]) == 0);
		}
		SYNOD_ASSERT(synod_testkit_log_commit_entries(&log, a, entries, lens,
		                                              lens[2] > 0 ? 3 : 2, NULL) == 0);
	}
	synod_entry_tick(e[0], 1700000000000ull + 60000);
	lens[0] = SYNOD_APP_TICK_BYTES;
	SYNOD_ASSERT(synod_testkit_log_commit_entries(&log, a, entries, lens, 1, NULL) == 0);
	/* a request of a later epoch, which seat 0's equivocation excludes it from */
	uint8_t later[32];
	SYNOD_ASSERT(
	    synod_testkit_request(e[0], 2048, &lens[0], later, 1700000000000ull + 120000, 9) == 0);
	SYNOD_ASSERT(synod_testkit_log_commit_entries(&log, a, entries, lens, 1, NULL) == 0);
	struct synod_epoch ep;
	synod_app_epoch_get(a, &ep);
	SYNOD_ASSERT(ep.number >= 1 && (ep.eligible & 1u) == 0);
	for (uint32_t s = 1; s < 23; s++) {
		SYNOD_ASSERT(synod_testkit_vote(fuzz_kit, s, later, ep.number,
		                                SYNOD_VERDICT_APPROVE, 0, e[0], 2048,
		                                &lens[0]) == 0);
		SYNOD_ASSERT(synod_testkit_log_commit_entries(&log, a, entries, lens, 1, NULL) ==
		             0);
	}
	char *b = NULL;
	size_t blen = 0;
	struct synod_testkit_checkpoint ck;
	SYNOD_ASSERT(synod_testkit_checkpoint(fuzz_kit, a, pbft_quorum(fuzz_kit->cluster.replicas),
	                                      &ck) == 0);
	SYNOD_ASSERT(synod_bundle_build(a, later, synod_testkit_log_lookup, &log, &ck.cp, &b, &blen,
	                                NULL, 0) == 0);
	seed_write(dir, "bundle-exclusion", 2, (const uint8_t *)b, blen);
	free(b);
	static const char *const names[3] = {"bundle-rejected", "bundle-approved",
	                                     "bundle-expired"};
	for (uint32_t r = 0; r < 3; r++) {
		SYNOD_ASSERT(synod_bundle_build(a, ids[r], synod_testkit_log_lookup, &log, &ck.cp,
		                                &b, &blen, NULL, 0) == 0);
		seed_write(dir, names[r], 2, (const uint8_t *)b, blen);
		free(b);
	}
	synod_testkit_log_close(&log);
	synod_app_close(a);
}

static void fuzz_write_corpus(const char *dir)
{
	uint8_t *buf = malloc(SEED_BYTES_MAX);
	SYNOD_ASSERT(buf != NULL);
	seeds_codec(dir, buf);
	seeds_app(dir, buf);
	seeds_bundles(dir);
	free(buf);
	fprintf(stderr, "fuzz_app: seeds written to %s\n", dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool seeded;
	fuzz_init();
	if (!seeded) {
		seeded = true;
		const char *dir = getenv("SYNOD_FUZZ_APP_WRITE_CORPUS");
		if (dir != NULL) {
			fuzz_write_corpus(dir);
		}
	}
	if (size < 1) {
		return 0;
	}
	const uint8_t *in = data + 1;
	size_t n = size - 1;
	switch (data[0] % 6) {
	case 0:
		fuzz_request(in, n);
		break;
	case 1:
		fuzz_vote(in, n);
		break;
	case 2:
		fuzz_bundle(in, n);
		break;
	case 3:
		fuzz_apply(in, n);
		break;
	case 4:
		fuzz_restore(in, n);
		break;
	default:
		fuzz_config(in, n);
		break;
	}
	return 0;
}

/* Evidence bundles: built from the app and a certified log, verified offline.
 * A bundle that verifies must stop verifying when any byte changes (every
 * byte of a small bundle, a dense sample of a 33-seat one), when a vote is
 * dropped, two are reordered, or a vote from another request is swapped in,
 * and the report must name what failed. */
#include "tests/unit/test_app_fixture.h"

#include "common/hash.h"
#include "common/json.h"
#include "common/merkle.h"

#define HOUR_MS 3600000ull

/* Request A (epoch 0): seat `cheat` equivocates and A is rejected, which
 * starts epoch 1 with `cheat` excluded. Request B (epoch 1): approved, with
 * a wrong-epoch vote, the excluded seat's vote, an equivocation, a duplicate
 * and some rejections on the way. ids get A and B. */
struct scenario {
	uint8_t a[32];
	uint8_t b[32];
	uint8_t c[32]; /* expired */
};

static void vote_pair(struct fx *f, uint32_t seat, const uint8_t id[32], uint64_t epoch,
                      enum synod_verdict v1, uint32_t var1, enum synod_verdict v2, uint32_t var2)
{
	uint8_t e1[FX_ENTRY_BYTES], e2[FX_ENTRY_BYTES];
	size_t l1 = 0, l2 = 0;
	fx_vote_entry(f, seat, id, epoch, v1, var1, e1, &l1);
	fx_vote_entry(f, seat, id, epoch, v2, var2, e2, &l2);
	const uint8_t *entries[2] = {e1, e2};
	size_t lens[2] = {l1, l2};
	assert_int_equal(synod_testkit_log_commit_entries(&f->log, f->app, entries, lens, 2, NULL),
	                 0);
}

static struct fx *scenario_33(struct scenario *s)
{
	struct synod_policy p;
	synod_policy_defaults(&p);
	p.epoch_decisions = 1;
	struct fx *f = fx_new_policy(&p, 11);
	fx_submit(f, HOUR_MS, 1, s->a);
	vote_pair(f, 7, s->a, 0, SYNOD_VERDICT_APPROVE, 0, SYNOD_VERDICT_REJECT, 0);
	fx_votes(f, 20, 31, s->a, 0, SYNOD_VERDICT_REJECT, 4);
	assert_int_equal(fx_tally(f, s->a).outcome, SYNOD_OUTCOME_REJECTED);
	assert_int_equal(fx_epoch(f), 1);
	fx_submit(f, HOUR_MS, 2, s->b);
	fx_votes(f, 24, 33, s->b, 1, SYNOD_VERDICT_REJECT, 5);
	fx_vote(f, 1, s->b, 0, SYNOD_VERDICT_APPROVE, 0); /* wrong epoch */
	fx_vote(f, 7, s->b, 1, SYNOD_VERDICT_APPROVE, 0); /* excluded */
	vote_pair(f, 2, s->b, 1, SYNOD_VERDICT_APPROVE, 0, SYNOD_VERDICT_APPROVE, 9);
	fx_votes(f, 0, 2, s->b, 1, SYNOD_VERDICT_APPROVE, 2);
	fx_vote(f, 1, s->b, 1, SYNOD_VERDICT_APPROVE, 0); /* duplicate */
	fx_votes(f, 3, 7, s->b, 1, SYNOD_VERDICT_APPROVE, 3);
	fx_votes(f, 8, 24, s->b, 1, SYNOD_VERDICT_APPROVE, 6);
	struct synod_tally t = fx_tally(f, s->b);
	assert_int_equal(t.outcome, SYNOD_OUTCOME_APPROVED);
	assert_int_equal(t.approvals, 22);
	assert_int_equal(t.rejections, 9);
	fx_vote(f, 0, s->b, 1, SYNOD_VERDICT_APPROVE, 0); /* late: not in the bundle */
	assert_int_equal(fx_last_reason(f), SYNOD_VOTE_DUPLICATE);
	fx_submit(f, 5000, 3, s->c);
	assert_int_equal(fx_epoch(f), 2);
	fx_votes(f, 0, 4, s->c, 2, SYNOD_VERDICT_APPROVE, 4);
	fx_tick(f, f->now_ms + 5000);
	assert_int_equal(fx_tally(f, s->c).outcome, SYNOD_OUTCOME_EXPIRED);
	return f;
}

/* The same shape on 7 seats (threshold 5) in few batches, small enough to
 * mutate every byte of its bundles. */
static struct fx *scenario_7(struct scenario *s)
{
	struct synod_policy p;
	synod_policy_defaults(&p);
	p.seats = 7;
	p.threshold = 5;
	p.epoch_decisions = 1;
	struct fx *f = fx_new_policy(&p, 12);
	const enum synod_verdict ok = SYNOD_VERDICT_APPROVE, no = SYNOD_VERDICT_REJECT;
	fx_submit(f, HOUR_MS, 1, s->a);
	const struct fx_vspec a[] = {{6, 0, ok, 0}, {0, 0, no, 0}, {6, 0, no, 0}, {1, 0, no, 0}};
	fx_vote_batch(f, s->a, a, 4); /* seat 6 equivocates; rejected at seat 1's vote */
	assert_int_equal(fx_tally(f, s->a).outcome, SYNOD_OUTCOME_REJECTED);
	fx_submit(f, HOUR_MS, 2, s->b);
	const struct fx_vspec b1[] = {
	    {0, 0, ok, 0}, {6, 1, ok, 0}, {0, 1, ok, 0}, {1, 1, ok, 0}, {2, 1, no, 0}};
	const struct fx_vspec b2[] = {{1, 1, ok, 0}, {3, 1, ok, 0}, {4, 1, ok, 0}, {5, 1, ok, 0}};
	fx_vote_batch(f, s->b, b1, 5); /* wrong epoch, excluded seat, three votes */
	fx_vote_batch(f, s->b, b2, 4); /* a duplicate, approvals 3..5 */
	assert_int_equal(fx_tally(f, s->b).outcome, SYNOD_OUTCOME_APPROVED);
	return f;
}

static void expect_valid(const struct fx *f, const char *bundle, size_t len)
{
	struct fx_report rep;
	int rc = fx_verify(f, bundle, len, &rep);
	if (rc != 0) {
		fail_msg("bundle does not verify:\n%s", rep.text);
	}
	assert_int_equal(rep.count, 0);
}

static void bundle_builds_and_verifies(void **state)
{
	(void)state;
	struct scenario s;
	struct fx *f = scenario_33(&s);
	const uint8_t *ids[3] = {s.a, s.b, s.c};
	static const enum synod_outcome want[3] = {SYNOD_OUTCOME_REJECTED, SYNOD_OUTCOME_APPROVED,
	                                           SYNOD_OUTCOME_EXPIRED};
	for (int i = 0; i < 3; i++) {
		size_t len = 0;
		char *b = fx_bundle(f, ids[i], &len);
		expect_valid(f, b, len);
		struct synod_bundle_summary sum;
		assert_int_equal(synod_bundle_verify(b, len, &f->kit.cluster, &sum, NULL, NULL), 0);
		assert_int_equal(sum.outcome, want[i]);
		assert_memory_equal(sum.request_id, ids[i], 32);
		/* canonical: parsing it back as canonical succeeds */
		struct json_object *o = NULL;
		assert_int_equal(synod_json_parse_canonical(&o, b, len, NULL, 0), 0);
		json_object_put(o);
		free(b);
	}
	size_t len = 0;
	char *b = fx_bundle(f, s.b, &len);
	struct synod_bundle_summary sum;
	assert_int_equal(synod_bundle_verify(b, len, &f->kit.cluster, &sum, NULL, NULL), 0);
	assert_int_equal(sum.approvals, 22);
	assert_int_equal(sum.rejections, 9);
	assert_int_equal(sum.votes, 31);
	assert_int_equal(sum.ignored, 5); /* wrong epoch, excluded, 2 x equivocation, duplicate */
	assert_int_equal(sum.epoch, 1);
	assert_non_null(strstr(b, "\"reason\":\"wrong_epoch\""));
	assert_non_null(strstr(b, "\"reason\":\"excluded_seat\""));
	assert_non_null(strstr(b, "\"reason\":\"duplicate\""));
	assert_non_null(strstr(b, "\"kind\":\"equivocation\""));
	free(b);
	fx_free(f);
}

/* An open request has no bundle; a missing batch, a missing, early or
 * unknown checkpoint stop the build. */
static void bundle_build_errors(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint8_t id[32];
	char *out = NULL;
	size_t len = 0;
	const uint32_t q = pbft_quorum(f->kit.cluster.replicas);
	struct synod_testkit_checkpoint early, ck, forged;
	fx_submit(f, HOUR_MS, 1, id);
	assert_int_equal(synod_testkit_checkpoint(&f->kit, f->app, q, &early), 0);
	assert_int_equal(synod_bundle_build(f->app, id, synod_testkit_log_lookup, &f->log,
	                                    &early.cp, &out, &len, NULL, 0),
	                 SYNOD_ESTATE);
	fx_votes(f, 0, 22, id, 0, SYNOD_VERDICT_APPROVE, 11);
	char err[256] = "";
	/* the checkpoint before the decision cannot prove it */
	assert_int_equal(synod_bundle_build(f->app, id, synod_testkit_log_lookup, &f->log,
	                                    &early.cp, &out, &len, err, sizeof err),
	                 SYNOD_ESTATE);
	assert_non_null(strstr(err, "after the stable checkpoint"));
	assert_int_equal(synod_bundle_build(f->app, id, synod_testkit_log_lookup, &f->log, NULL,
	                                    &out, &len, err, sizeof err),
	                 SYNOD_ECERT);
	/* a certificate for a digest this app never computed */
	assert_int_equal(synod_testkit_checkpoint(&f->kit, f->app, q, &ck), 0);
	forged = ck;
	forged.cp.cores = forged.cores;
	for (uint32_t i = 0; i < q; i++) {
		struct pbft_core c;
		assert_int_equal(pbft_core_decode(&c, forged.cores + (size_t)i * PBFT_CORE_BYTES),
		                 0);
		c.digest[0] ^= 1u;
		pbft_core_encode(&c, forged.cores + (size_t)i * PBFT_CORE_BYTES);
	}
	assert_int_equal(synod_bundle_build(f->app, id, synod_testkit_log_lookup, &f->log,
	                                    &forged.cp, &out, &len, err, sizeof err),
	                 SYNOD_ENOTFOUND);
	assert_non_null(strstr(err, "not one of the last"));
	struct synod_testkit_log empty;
	synod_testkit_log_init(&empty, &f->kit);
	assert_int_equal(synod_bundle_build(f->app, id, synod_testkit_log_lookup, &empty, &ck.cp,
	                                    &out, &len, err, sizeof err),
	                 SYNOD_ENOTFOUND);
	assert_non_null(strstr(err, "no committed batch"));
	uint8_t other[32] = {9};
	assert_int_equal(synod_bundle_build(f->app, other, synod_testkit_log_lookup, &f->log,
	                                    &ck.cp, &out, &len, NULL, 0),
	                 SYNOD_ENOTFOUND);
	assert_null(out);
	fx_free(f);
}

/* Changes one byte at each of positions [0, len) step stride (XOR mask) and
 * expects every result to fail verification. */
static void mutate_bytes(const struct fx *f, const char *bundle, size_t len, size_t stride,
                         uint8_t mask)
{
	char *m = malloc(len);
	assert_non_null(m);
	size_t survivors = 0;
	for (size_t i = 0; i < len; i += stride) {
		memcpy(m, bundle, len);
		m[i] = (char)(m[i] ^ mask);
		if (synod_bundle_verify(m, len, &f->kit.cluster, NULL, NULL, NULL) == 0) {
			if (survivors++ < 5) {
				size_t from = i > 40 ? i - 40 : 0;
				print_error("byte %zu (^0x%02x) still verifies: ...%.80s...\n", i,
				            mask, m + from);
			}
		}
	}
	free(m);
	assert_int_equal(survivors, 0);
}

static void bundle_every_byte_matters_small(void **state)
{
	(void)state;
	struct scenario s;
	struct fx *f = scenario_7(&s);
	size_t len = 0;
	char *b = fx_bundle(f, s.b, &len);
	expect_valid(f, b, len);
	mutate_bytes(f, b, len, 1, 0x01);
	mutate_bytes(f, b, len, 7, 0x20);
	mutate_bytes(f, b, len, 11, 0x80);
	free(b);
	b = fx_bundle(f, s.a, &len);
	expect_valid(f, b, len);
	mutate_bytes(f, b, len, 1, 0x01);
	free(b);
	fx_free(f);
}

static void bundle_dense_sample_33(void **state)
{
	(void)state;
	struct scenario s;
	struct fx *f = scenario_33(&s);
	size_t len = 0;
	char *b = fx_bundle(f, s.b, &len);
	mutate_bytes(f, b, len, 31, 0x01);
	mutate_bytes(f, b, len, 67, 0x04);
	free(b);
	b = fx_bundle(f, s.c, &len);
	mutate_bytes(f, b, len, 17, 0x02);
	free(b);
	fx_free(f);
}

/* ---- structural edits ---- */

static char *edit_canonical(struct json_object *root, size_t *len)
{
	char *out = NULL;
	assert_int_equal(synod_json_canonical_signed(root, &out, len), 0);
	return out;
}

static struct json_object *parse(const char *b, size_t len)
{
	struct json_object *o = NULL;
	assert_int_equal(synod_json_parse(&o, b, len, NULL, 0), 0);
	return o;
}

static void expect_invalid(const struct fx *f, const char *b, size_t len, const char *needle)
{
	struct fx_report rep;
	assert_int_not_equal(fx_verify(f, b, len, &rep), 0);
	assert_true(rep.count > 0);
	if (needle != NULL && strstr(rep.text, needle) == NULL) {
		fail_msg("report lacks \"%s\":\n%s", needle, rep.text);
	}
}

static void bundle_drop_a_vote(void **state)
{
	(void)state;
	struct scenario s;
	struct fx *f = scenario_33(&s);
	size_t len = 0;
	char *b = fx_bundle(f, s.b, &len);
	struct json_object *votes = NULL;
	for (size_t k = 0; k < 31; k += 5) {
		struct json_object *root = parse(b, len);
		assert_true(json_object_object_get_ex(root, "votes", &votes));
		assert_int_equal(json_object_array_del_idx(votes, k, 1), 0);
		size_t elen = 0;
		char *e = edit_canonical(root, &elen);
		expect_invalid(f, e, elen, NULL);
		free(e);
		json_object_put(root);
	}
	/* dropping an ignored vote (the second of an equivocation) */
	struct json_object *root = parse(b, len);
	struct json_object *ignored = NULL;
	assert_true(json_object_object_get_ex(root, "ignored", &ignored));
	size_t n = json_object_array_length(ignored);
	for (size_t k = 0; k < n; k++) {
		struct json_object *r = NULL;
		json_object_object_get_ex(json_object_array_get_idx(ignored, k), "reason", &r);
		if (strcmp(json_object_get_string(r), "equivocation") == 0) {
			assert_int_equal(json_object_array_del_idx(ignored, k, 1), 0);
			break;
		}
	}
	size_t elen = 0;
	char *e = edit_canonical(root, &elen);
	expect_invalid(f, e, elen, "listed as equivocation, but it is counted");
	free(e);
	json_object_put(root);
	free(b);
	fx_free(f);
}

static void bundle_reorder_votes(void **state)
{
	(void)state;
	struct scenario s;
	struct fx *f = scenario_33(&s);
	size_t len = 0;
	char *b = fx_bundle(f, s.b, &len);
	struct json_object *root = parse(b, len);
	struct json_object *votes = NULL;
	assert_true(json_object_object_get_ex(root, "votes", &votes));
	struct json_object *v0 = json_object_get(json_object_array_get_idx(votes, 0));
	struct json_object *v1 = json_object_get(json_object_array_get_idx(votes, 1));
	json_object_array_put_idx(votes, 0, v1);
	json_object_array_put_idx(votes, 1, v0);
	size_t elen = 0;
	char *e = edit_canonical(root, &elen);
	expect_invalid(f, e, elen, "not after the previous one in log order");
	free(e);
	json_object_put(root);
	free(b);
	fx_free(f);
}

/* Replaces vote k of `into` with vote j of `from` (and adds its batch). */
static char *swap_in(const char *into, size_t into_len, const char *from, size_t from_len, size_t k,
                     size_t j, size_t *out_len)
{
	struct json_object *dst = parse(into, into_len);
	struct json_object *src = parse(from, from_len);
	struct json_object *dv = NULL, *sv = NULL, *db = NULL, *sb = NULL;
	assert_true(json_object_object_get_ex(dst, "votes", &dv));
	assert_true(json_object_object_get_ex(src, "votes", &sv));
	assert_true(json_object_object_get_ex(dst, "batches", &db));
	assert_true(json_object_object_get_ex(src, "batches", &sb));
	struct json_object *vote = json_object_array_get_idx(sv, j);
	json_object_array_put_idx(dv, k, json_object_get(vote));
	/* the batch that holds it, so that its Merkle path checks */
	struct json_object *pos = NULL, *seq = NULL;
	json_object_object_get_ex(vote, "position", &pos);
	json_object_object_get_ex(pos, "seq", &seq);
	int64_t want = json_object_get_int64(seq);
	for (size_t i = 0; i < json_object_array_length(sb); i++) {
		struct json_object *bt = json_object_array_get_idx(sb, i), *bs = NULL;
		json_object_object_get_ex(bt, "seq", &bs);
		if (json_object_get_int64(bs) == want) {
			json_object_array_add(db, json_object_get(bt));
		}
	}
	char *out = edit_canonical(dst, out_len);
	json_object_put(dst);
	json_object_put(src);
	return out;
}

static void bundle_swap_in_other_request_vote(void **state)
{
	(void)state;
	struct scenario s;
	struct fx *f = scenario_33(&s);
	size_t lb = 0, lc = 0, le = 0;
	char *b = fx_bundle(f, s.b, &lb);
	char *c = fx_bundle(f, s.c, &lc);
	/* C's first vote (seat 0, epoch 1, APPROVE) in place of B's vote of seat 0 */
	struct json_object *root = parse(b, lb), *votes = NULL;
	assert_true(json_object_object_get_ex(root, "votes", &votes));
	size_t k = SIZE_MAX;
	for (size_t i = 0; i < json_object_array_length(votes); i++) {
		struct json_object *seat = NULL;
		json_object_object_get_ex(json_object_array_get_idx(votes, i), "seat", &seat);
		if (json_object_get_int64(seat) == 0) {
			k = i;
		}
	}
	json_object_put(root);
	assert_true(k != SIZE_MAX);
	char *e = swap_in(b, lb, c, lc, k, 0, &le);
	expect_invalid(f, e, le, "listed as counted, but it is unknown_request");
	free(e);
	free(b);
	free(c);
	fx_free(f);
}

/* RFC 9162 paths verify against several tree sizes; only the smallest is
 * accepted, so no number in a bundle escapes a check. Every position's
 * proof_size, raised by 1..3, fails; some of those raises keep the path valid
 * and are caught only by the canonical size check. */
static void bundle_proof_size_bound(void **state)
{
	(void)state;
	struct scenario s;
	struct fx *f = scenario_33(&s);
	size_t len = 0;
	char *b = fx_bundle(f, s.b, &len);
	struct json_object *root = parse(b, len), *votes = NULL;
	assert_true(json_object_object_get_ex(root, "votes", &votes));
	uint32_t by_canonical_check = 0;
	for (size_t i = 0; i < json_object_array_length(votes); i++) {
		struct json_object *pos = NULL, *size = NULL;
		json_object_object_get_ex(json_object_array_get_idx(votes, i), "position", &pos);
		json_object_object_get_ex(pos, "proof_size", &size);
		int64_t n = json_object_get_int64(size);
		for (int64_t d = 1; d <= 3; d++) {
			json_object_set_int64(size, n + d);
			size_t elen = 0;
			char *e = edit_canonical(root, &elen);
			struct fx_report rep;
			assert_int_not_equal(fx_verify(f, e, elen, &rep), 0);
			if (strstr(rep.text, "not a canonical leaf position") != NULL &&
			    strstr(rep.text, "Merkle path") == NULL) {
				by_canonical_check++;
			}
			free(e);
		}
		json_object_set_int64(size, n);
	}
	assert_true(by_canonical_check > 0);
	json_object_put(root);
	free(b);
	fx_free(f);
}

/* An ignored vote may only carry a reason a bundle can list. */
static void bundle_ignored_reasons(void **state)
{
	(void)state;
	struct scenario s;
	struct fx *f = scenario_33(&s);
	size_t len = 0;
	char *b = fx_bundle(f, s.b, &len);
	static const char *const never[] = {"unknown_request", "bad_signature", "closed_request",
	                                    "counted", "malformed"};
	for (size_t k = 0; k < sizeof never / sizeof never[0]; k++) {
		struct json_object *root = parse(b, len), *ignored = NULL;
		assert_true(json_object_object_get_ex(root, "ignored", &ignored));
		struct json_object *item = json_object_array_get_idx(ignored, 0);
		json_object_object_add(item, "reason", json_object_new_string(never[k]));
		size_t elen = 0;
		char *e = edit_canonical(root, &elen);
		char needle[96];
		snprintf(needle, sizeof needle, "reason %s is never listed in a bundle", never[k]);
		expect_invalid(f, e, elen, needle);
		free(e);
		json_object_put(root);
	}
	free(b);
	fx_free(f);
}

/* Two forged signatures are two failures, each naming its seat. */
static void bundle_reports_every_failure(void **state)
{
	(void)state;
	struct scenario s;
	struct fx *f = scenario_33(&s);
	size_t len = 0;
	char *b = fx_bundle(f, s.b, &len);
	struct json_object *root = parse(b, len), *votes = NULL;
	assert_true(json_object_object_get_ex(root, "votes", &votes));
	uint32_t seats[2];
	for (size_t i = 0; i < 2; i++) {
		struct json_object *v = json_object_array_get_idx(votes, 3 + 10 * i);
		struct json_object *env = NULL, *seat = NULL;
		json_object_object_get_ex(v, "envelope", &env);
		json_object_object_get_ex(v, "seat", &seat);
		seats[i] = (uint32_t)json_object_get_int64(seat);
		/* another valid-looking signature: the first one's */
		struct json_object *other = NULL, *oenv = NULL, *sig = NULL;
		other = json_object_array_get_idx(votes, 0);
		json_object_object_get_ex(other, "envelope", &oenv);
		json_object_object_get_ex(oenv, "sig", &sig);
		json_object_object_add(env, "sig", json_object_get(sig));
	}
	size_t elen = 0;
	char *e = edit_canonical(root, &elen);
	struct fx_report rep;
	assert_int_not_equal(fx_verify(f, e, elen, &rep), 0);
	for (size_t i = 0; i < 2; i++) {
		char needle[96];
		snprintf(needle, sizeof needle, "signature does not verify under seat %u's key",
		         seats[i]);
		if (strstr(rep.text, needle) == NULL) {
			fail_msg("report lacks \"%s\":\n%s", needle, rep.text);
		}
	}
	assert_non_null(strstr(rep.text, "tally: approvals is 22"));
	free(e);
	json_object_put(root);
	free(b);
	fx_free(f);
}

/* Certificates: a bundle checked against another cluster's replica keys, or
 * built from batches certified by only 2f replicas, does not verify. */
static void bundle_certificates_checked(void **state)
{
	(void)state;
	struct scenario s;
	struct fx *f = scenario_7(&s);
	size_t len = 0;
	char *b = fx_bundle(f, s.b, &len);
	struct synod_cluster other = f->kit.cluster;
	other.replica_keys[1][0] ^= 1;
	struct fx_report rep;
	memset(&rep, 0, sizeof rep);
	assert_int_not_equal(synod_bundle_verify(b, len, &other, NULL, fx_report_cb, &rep), 0);
	assert_non_null(strstr(rep.text, "commit certificate does not verify"));
	other = f->kit.cluster;
	other.cluster_id[0] ^= 1;
	memset(&rep, 0, sizeof rep);
	assert_int_not_equal(synod_bundle_verify(b, len, &other, NULL, fx_report_cb, &rep), 0);
	assert_non_null(strstr(rep.text, "cluster_id is not this cluster's"));
	free(b);
	for (uint64_t i = 0; i < f->log.count; i++) {
		f->log.batches[i].cert_count = 2; /* 2f of 4 */
	}
	b = fx_bundle(f, s.b, &len);
	expect_invalid(f, b, len, "needs 3 (2f+1)");
	free(b);
	fx_free(f);
}

/* An injected certificate check (the simulator's) replaces the Ed25519 one,
 * and only that: a table that refuses every signature fails the certificates,
 * one that counts calls sees one per certificate signature. */
struct fake_verify {
	unsigned calls;
	int answer;
};

static int fake_verify(void *ctx, const uint8_t sig[PBFT_SIG_BYTES], const uint8_t *msg, size_t len,
                       const uint8_t pk[32])
{
	struct fake_verify *fv = ctx;
	(void)sig;
	(void)msg;
	(void)len;
	(void)pk;
	fv->calls++;
	return fv->answer;
}

static void bundle_injected_cert_crypto(void **state)
{
	(void)state;
	struct scenario s;
	struct fx *f = scenario_7(&s);
	size_t len = 0;
	char *b = fx_bundle(f, s.b, &len);
	struct synod_bundle_summary sum;
	struct fake_verify yes = {0, 0}, no = {0, SYNOD_EBADSIG};
	struct pbft_crypto count = {.ctx = &yes, .verify = fake_verify};
	assert_int_equal(
	    synod_bundle_verify_with(b, len, &f->kit.cluster, &count, &sum, NULL, NULL), 0);
	assert_true(yes.calls >= 3u * sum.batches);
	struct pbft_crypto refuse = {.ctx = &no, .verify = fake_verify};
	struct fx_report rep;
	memset(&rep, 0, sizeof rep);
	assert_int_not_equal(
	    synod_bundle_verify_with(b, len, &f->kit.cluster, &refuse, NULL, fx_report_cb, &rep),
	    0);
	assert_non_null(strstr(rep.text, "commit certificate does not verify"));
	assert_null(strstr(rep.text, "signature does not verify under seat"));
	/* NULL is the production check */
	assert_int_equal(synod_bundle_verify_with(b, len, &f->kit.cluster, NULL, NULL, NULL, NULL),
	                 0);
	free(b);
	fx_free(f);
}

static int batch_seq_cmp(const void *x, const void *y)
{
	const struct json_object *a = *(const struct json_object *const *)x;
	const struct json_object *b = *(const struct json_object *const *)y;
	struct json_object *sa = NULL, *sb = NULL;
	json_object_object_get_ex(a, "seq", &sa);
	json_object_object_get_ex(b, "seq", &sb);
	int64_t u = json_object_get_int64(sa), w = json_object_get_int64(sb);
	return u < w ? -1 : u > w;
}

/* An exclusion claimed after the fact: seat 6 equivocates on an old request
 * only after request R was submitted, so it is eligible for R; a bundle for
 * R that borrows the (genuine, certified) evidence to claim seat 6 excluded
 * in R's epoch is refused because the evidence comes after R's SUBMIT. */
static void bundle_exclusion_after_the_fact(void **state)
{
	(void)state;
	struct synod_policy p;
	synod_policy_defaults(&p);
	p.seats = 7;
	p.threshold = 5;
	p.epoch_decisions = 1;
	struct fx *f = fx_new_policy(&p, 13);
	const enum synod_verdict ok = SYNOD_VERDICT_APPROVE, no = SYNOD_VERDICT_REJECT;
	uint8_t q[32], x[32], r[32], s[32];
	fx_submit(f, HOUR_MS, 1, q); /* stays open */
	fx_submit(f, HOUR_MS, 2, x);
	const struct fx_vspec xv[] = {{0, 0, no, 0}, {1, 0, no, 0}, {2, 0, no, 0}};
	fx_vote_batch(f, x, xv, 3);
	assert_int_equal(fx_tally(f, x).outcome, SYNOD_OUTCOME_REJECTED);
	assert_int_equal(fx_epoch(f), 1);
	fx_submit(f, HOUR_MS, 3, r);
	const struct fx_vspec qv[] = {{6, 0, ok, 0}, {6, 0, no, 0}};
	fx_vote_batch(f, q, qv, 2); /* seat 6 equivocates now: excluded from epoch 2 */
	const struct fx_vspec rv[] = {
	    {0, 1, ok, 0}, {1, 1, ok, 0}, {2, 1, ok, 0}, {3, 1, ok, 0}, {4, 1, ok, 0}};
	fx_vote_batch(f, r, rv, 5);
	assert_int_equal(fx_tally(f, r).outcome, SYNOD_OUTCOME_APPROVED);
	assert_int_equal(fx_tally(f, r).eligible, 0x7f);
	assert_int_equal(fx_epoch(f), 2);
	fx_submit(f, HOUR_MS, 4, s);
	const struct fx_vspec sv[] = {
	    {0, 2, ok, 0}, {1, 2, ok, 0}, {2, 2, ok, 0}, {3, 2, ok, 0}, {4, 2, ok, 0}};
	fx_vote_batch(f, s, sv, 5);
	assert_int_equal(fx_tally(f, s).eligible, 0x3f);
	size_t rlen = 0, slen = 0;
	char *rb = fx_bundle(f, r, &rlen), *sbun = fx_bundle(f, s, &slen);
	expect_valid(f, rb, rlen);
	expect_valid(f, sbun, slen);
	struct json_object *root = parse(rb, rlen), *sroot = parse(sbun, slen);
	struct json_object *repoch = NULL, *sepoch = NULL, *sexcl = NULL, *rexcl = NULL;
	assert_true(json_object_object_get_ex(root, "epoch", &repoch));
	assert_true(json_object_object_get_ex(sroot, "epoch", &sepoch));
	assert_true(json_object_object_get_ex(sepoch, "exclusions", &sexcl));
	assert_true(json_object_object_get_ex(repoch, "exclusions", &rexcl));
	assert_int_equal(json_object_array_length(sexcl), 1);
	/* the claim: seat 6 excluded for epochs 1..4, backed by the evidence */
	struct json_object *claim = NULL;
	assert_int_equal(json_object_deep_copy(json_object_array_get_idx(sexcl, 0), &claim, NULL),
	                 0);
	json_object_object_add(claim, "from_epoch", json_object_new_int64(1));
	json_object_object_add(claim, "until_epoch",
	                       json_object_new_int64(1 + (int64_t)p.exclusion_epochs));
	json_object_array_add(rexcl, claim);
	struct json_object *seats = json_object_new_array();
	for (int i = 0; i < 6; i++) {
		json_object_array_add(seats, json_object_new_int(i));
	}
	json_object_object_add(repoch, "eligible_seats", seats);
	uint8_t vsh[32];
	char hex[65];
	synod_voter_set_hash(vsh, &f->kit.cluster, 0x3f);
	assert_int_equal(synod_hex_encode(hex, sizeof hex, vsh, 32), 0);
	json_object_object_add(repoch, "voter_set_hash", json_object_new_string(hex));
	struct json_object *tally = NULL;
	assert_true(json_object_object_get_ex(root, "tally", &tally));
	json_object_object_add(tally, "eligible", json_object_new_int(6));
	/* the evidence's batches join R's, in seq order, once each */
	struct json_object *rbat = NULL, *sbat = NULL;
	assert_true(json_object_object_get_ex(root, "batches", &rbat));
	assert_true(json_object_object_get_ex(sroot, "batches", &sbat));
	for (size_t i = 0; i < json_object_array_length(sbat); i++) {
		struct json_object *b = json_object_array_get_idx(sbat, i), *bs = NULL;
		json_object_object_get_ex(b, "seq", &bs);
		bool have = false;
		for (size_t k = 0; k < json_object_array_length(rbat); k++) {
			struct json_object *ks = NULL;
			json_object_object_get_ex(json_object_array_get_idx(rbat, k), "seq", &ks);
			have = have || json_object_get_int64(ks) == json_object_get_int64(bs);
		}
		struct json_object *ev = NULL, *e0 = NULL, *pos = NULL, *ps = NULL;
		json_object_object_get_ex(claim, "evidence", &ev);
		bool used = false;
		for (size_t k = 0; k < 2; k++) {
			e0 = json_object_array_get_idx(ev, k);
			json_object_object_get_ex(e0, "position", &pos);
			json_object_object_get_ex(pos, "seq", &ps);
			used = used || json_object_get_int64(ps) == json_object_get_int64(bs);
		}
		if (!have && used) {
			json_object_array_add(rbat, json_object_get(b));
		}
	}
	json_object_array_sort(rbat, batch_seq_cmp);
	size_t elen = 0;
	char *e = edit_canonical(root, &elen);
	expect_invalid(f, e, elen, "not before the request was submitted");
	struct fx_report rep;
	memset(&rep, 0, sizeof rep);
	assert_int_not_equal(fx_verify(f, e, elen, &rep), 0);
	/* exactly the two evidence votes, and the certified decision record,
	 * which has no exclusion of seat 6 (the voter set follows from that) */
	if (rep.count != 3 ||
	    strstr(rep.text, "epoch.exclusions[0]: the certified record has no exclusion of "
	                     "seat 6\n") == NULL) {
		fail_msg("want only the two evidence failures and the record's:\n%s", rep.text);
	}
	free(e);
	json_object_put(root);
	json_object_put(sroot);
	free(rb);
	free(sbun);
	fx_free(f);
}

/* A string with an embedded U+0000 must not pass for its prefix: every other
 * JSON reader shows the whole string. The parser refuses it, naming the
 * member's path (the app's length-checked comparisons are a second line). */
static void bundle_nul_suffix_refused(void **state)
{
	(void)state;
	struct scenario s;
	struct fx *f = scenario_7(&s);
	size_t len = 0;
	char *b = fx_bundle(f, s.b, &len);
	expect_valid(f, b, len);
	static const char *const fields[4] = {"format", "outcome", "kind", "reason"};
	static const char *const named[4] = {
	    "bundle: not canonical JSON: U+0000 in the string at format at byte ",
	    "bundle: not canonical JSON: U+0000 in the string at outcome at byte ",
	    "bundle: not canonical JSON: U+0000 in the string at epoch.exclusions[0].kind at byte ",
	    "bundle: not canonical JSON: U+0000 in the string at ignored[0].reason at byte "};
	for (int k = 0; k < 4; k++) {
		struct json_object *root = parse(b, len), *o = root, *m = NULL;
		if (k == 2) {
			struct json_object *ep = NULL, *ex = NULL;
			assert_true(json_object_object_get_ex(root, "epoch", &ep));
			assert_true(json_object_object_get_ex(ep, "exclusions", &ex));
			o = json_object_array_get_idx(ex, 0);
		} else if (k == 3) {
			struct json_object *ig = NULL;
			assert_true(json_object_object_get_ex(root, "ignored", &ig));
			o = json_object_array_get_idx(ig, 0);
		}
		assert_true(json_object_object_get_ex(o, fields[k], &m));
		char text[128];
		int n = snprintf(text, sizeof text, "%s", json_object_get_string(m));
		memcpy(text + n, "\0 but actually REJECTED", 24);
		json_object_object_add(o, fields[k], json_object_new_string_len(text, n + 23));
		size_t elen = 0;
		char *e = edit_canonical(root, &elen);
		assert_non_null(strstr(e, "\\u0000 but actually REJECTED"));
		struct fx_report rep;
		assert_int_not_equal(fx_verify(f, e, elen, &rep), 0);
		if (rep.count != 1 || strstr(rep.text, named[k]) == NULL) {
			fail_msg("%s with U+0000: the report does not name it:\n%s", fields[k],
			         rep.text);
		}
		free(e);
		json_object_put(root);
	}
	free(b);
	fx_free(f);
}

/* The exclusion's window, moved as a whole, still covers the request's epoch
 * and spans the policy's epochs after the evidence: only the certified record
 * says which window the cluster applied. Request C (epoch 2) shows seat 7's
 * exclusion for epochs 1..4 (after seat 2's); 2..5 must not verify. */
static void bundle_exclusion_window_bound(void **state)
{
	(void)state;
	struct scenario s;
	struct fx *f = scenario_33(&s);
	size_t len = 0;
	char *b = fx_bundle(f, s.c, &len);
	expect_valid(f, b, len);
	struct json_object *root = parse(b, len), *ep = NULL, *ex = NULL, *from = NULL, *to = NULL;
	assert_true(json_object_object_get_ex(root, "epoch", &ep));
	assert_true(json_object_object_get_ex(ep, "exclusions", &ex));
	struct json_object *x = json_object_array_get_idx(ex, 1), *seat = NULL;
	assert_true(json_object_object_get_ex(x, "seat", &seat));
	assert_int_equal(json_object_get_int64(seat), 7);
	assert_true(json_object_object_get_ex(x, "from_epoch", &from));
	assert_true(json_object_object_get_ex(x, "until_epoch", &to));
	assert_int_equal(json_object_get_int64(from), 1);
	json_object_object_add(x, "from_epoch", json_object_new_int64(2));
	json_object_object_add(x, "until_epoch",
	                       json_object_new_int64(json_object_get_int64(to) + 1));
	size_t elen = 0;
	char *e = edit_canonical(root, &elen);
	struct fx_report rep;
	assert_int_not_equal(fx_verify(f, e, elen, &rep), 0);
	if (rep.count != 2 ||
	    strstr(rep.text, "epoch.exclusions[1].from_epoch: the bundle says 2, the certified "
	                     "record says 1\n") == NULL ||
	    strstr(rep.text, "epoch.exclusions[1].until_epoch: the bundle says 6, the certified "
	                     "record says 5\n") == NULL) {
		fail_msg("want only the record's failures, naming the window:\n%s", rep.text);
	}
	free(e);
	json_object_put(root);
	free(b);
	fx_free(f);
}

/* checkpoint.record is the certified record only if it hashes to the leaf at
 * decision_index: an altered record is refused on its own. Without it the
 * reading is still checked against the leaf, so a shifted window fails with
 * the record's general message. */
static void bundle_record_bound(void **state)
{
	(void)state;
	struct scenario s;
	struct fx *f = scenario_33(&s);
	size_t len = 0;
	char *b = fx_bundle(f, s.c, &len);
	for (int edit = 0; edit < 2; edit++) {
		struct json_object *root = parse(b, len), *ck = NULL, *rec = NULL;
		assert_true(json_object_object_get_ex(root, "checkpoint", &ck));
		assert_true(json_object_object_get_ex(ck, "record", &rec));
		char text[32768];
		assert_true((size_t)json_object_get_string_len(rec) < sizeof text);
		snprintf(text, sizeof text, "%s", json_object_get_string(rec));
		text[100] = text[100] == 'A' ? 'B' : 'A';
		struct fx_report rep;
		size_t elen = 0;
		if (edit == 0) {
			json_object_object_add(ck, "record", json_object_new_string(text));
			char *e = edit_canonical(root, &elen);
			assert_int_not_equal(fx_verify(f, e, elen, &rep), 0);
			if (rep.count != 1 ||
			    strstr(rep.text, "checkpoint: record is not the decision record the "
			                     "cluster certified at index ") == NULL) {
				fail_msg("want only the record's failure:\n%s", rep.text);
			}
			free(e);
		} else {
			struct json_object *ep = NULL, *ex = NULL;
			json_object_object_del(ck, "record");
			assert_true(json_object_object_get_ex(root, "epoch", &ep));
			assert_true(json_object_object_get_ex(ep, "exclusions", &ex));
			struct json_object *x = json_object_array_get_idx(ex, 1), *to = NULL;
			assert_true(json_object_object_get_ex(x, "until_epoch", &to));
			int64_t until = json_object_get_int64(to);
			json_object_object_add(x, "from_epoch", json_object_new_int64(2));
			json_object_object_add(x, "until_epoch", json_object_new_int64(until + 1));
			char *e = edit_canonical(root, &elen);
			assert_int_not_equal(fx_verify(f, e, elen, &rep), 0);
			if (rep.count != 2 ||
			    strstr(rep.text, "checkpoint: field \"record\" is missing") == NULL ||
			    strstr(rep.text, "certified log of decisions does not hold") == NULL) {
				fail_msg("want the missing record and the reading's failure:\n%s",
				         rep.text);
			}
			free(e);
		}
		json_object_put(root);
	}
	free(b);
	fx_free(f);
}

/* Replaces every "position" object's batch list: the batches of root and
 * other whose seq some position of root references, by seq. */
static void rebatch(struct json_object *root, struct json_object *other);

/* Seat 6 equivocates on two requests in epoch 0; the cluster excludes it for
 * the first pair. A bundle that shows the second pair (genuine, certified,
 * before the request) as the evidence must not verify. */
static void bundle_exclusion_evidence_bound(void **state)
{
	(void)state;
	struct synod_policy p;
	synod_policy_defaults(&p);
	p.seats = 7;
	p.threshold = 5;
	p.epoch_decisions = 1;
	struct fx *f = fx_new_policy(&p, 14);
	const enum synod_verdict ok = SYNOD_VERDICT_APPROVE, no = SYNOD_VERDICT_REJECT;
	uint8_t a[32], a2[32], r[32];
	fx_submit(f, HOUR_MS, 1, a);
	fx_submit(f, HOUR_MS, 2, a2);
	vote_pair(f, 6, a, 0, ok, 0, no, 0);
	vote_pair(f, 6, a2, 0, ok, 0, no, 0);
	const struct fx_vspec av[] = {{0, 0, no, 0}, {1, 0, no, 0}, {2, 0, no, 0}};
	fx_vote_batch(f, a, av, 3);
	assert_int_equal(fx_tally(f, a).outcome, SYNOD_OUTCOME_REJECTED);
	assert_int_equal(synod_app_exclusion_count(f->app), 1);
	const struct fx_vspec a2v[] = {
	    {0, 0, ok, 0}, {1, 0, ok, 0}, {2, 0, ok, 0}, {3, 0, ok, 0}, {4, 0, ok, 0}};
	fx_vote_batch(f, a2, a2v, 5); /* decided in epoch 1: its bundle lists the second pair */
	assert_int_equal(fx_tally(f, a2).outcome, SYNOD_OUTCOME_APPROVED);
	fx_submit(f, HOUR_MS, 3, r);
	const struct fx_vspec rv[] = {
	    {0, 2, ok, 0}, {1, 2, ok, 0}, {2, 2, ok, 0}, {3, 2, ok, 0}, {4, 2, ok, 0}};
	fx_vote_batch(f, r, rv, 5);
	assert_int_equal(fx_tally(f, r).outcome, SYNOD_OUTCOME_APPROVED);
	size_t rlen = 0, olen = 0;
	char *rb = fx_bundle(f, r, &rlen), *ob = fx_bundle(f, a2, &olen);
	expect_valid(f, rb, rlen);
	struct json_object *root = parse(rb, rlen), *other = parse(ob, olen);
	struct json_object *ep = NULL, *ex = NULL, *ig = NULL, *evidence = json_object_new_array();
	assert_true(json_object_object_get_ex(root, "epoch", &ep));
	assert_true(json_object_object_get_ex(ep, "exclusions", &ex));
	assert_true(json_object_object_get_ex(other, "ignored", &ig));
	for (size_t i = 0; i < json_object_array_length(ig); i++) {
		struct json_object *v = json_object_array_get_idx(ig, i), *env = NULL, *pos = NULL;
		assert_true(json_object_object_get_ex(v, "envelope", &env));
		assert_true(json_object_object_get_ex(v, "position", &pos));
		struct json_object *e = json_object_new_object();
		json_object_object_add(e, "envelope", json_object_get(env));
		json_object_object_add(e, "position", json_object_get(pos));
		json_object_array_add(evidence, e);
	}
	assert_int_equal(json_object_array_length(evidence), 2);
	json_object_object_add(json_object_array_get_idx(ex, 0), "evidence", evidence);
	rebatch(root, other);
	size_t elen = 0;
	char *e = edit_canonical(root, &elen);
	struct fx_report rep;
	assert_int_not_equal(fx_verify(f, e, elen, &rep), 0);
	if (rep.count != 2 ||
	    strstr(rep.text, "epoch.exclusions[0].evidence[0]: not the vote the cluster "
	                     "certified (the bundle's is at seq 5 index 0, the certified one at "
	                     "seq 4 index 0)\n") == NULL ||
	    strstr(rep.text, "epoch.exclusions[0].evidence[1]: not the vote the cluster "
	                     "certified (the bundle's is at seq 5 index 1, the certified one at "
	                     "seq 4 index 1)\n") == NULL) {
		fail_msg("want only the record's failures, naming the evidence:\n%s", rep.text);
	}
	free(e);
	json_object_put(root);
	json_object_put(other);
	free(rb);
	free(ob);
	fx_free(f);
}

/* Collects the seq of every "position" object under o. */
static void positions_collect(struct json_object *o, int64_t *seqs, size_t *n)
{
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++) {
			positions_collect(json_object_array_get_idx(o, i), seqs, n);
		}
		return;
	}
	if (!json_object_is_type(o, json_type_object)) {
		return;
	}
	json_object_object_foreach(o, k, v)
	{
		struct json_object *seq = NULL;
		if (strcmp(k, "position") == 0 && json_object_object_get_ex(v, "seq", &seq)) {
			assert_true(*n < 256);
			seqs[(*n)++] = json_object_get_int64(seq);
		} else if (strcmp(k, "checkpoint") != 0) {
			positions_collect(v, seqs, n);
		}
	}
}

static void rebatch(struct json_object *root, struct json_object *other)
{
	int64_t seqs[256];
	size_t n = 0;
	positions_collect(root, seqs, &n);
	struct json_object *out = json_object_new_array(), *lists[2] = {NULL, NULL};
	assert_true(json_object_object_get_ex(root, "batches", &lists[0]));
	assert_true(json_object_object_get_ex(other, "batches", &lists[1]));
	int64_t last = -1;
	for (;;) {
		/* the smallest referenced seq above last */
		int64_t next = -1;
		for (size_t i = 0; i < n; i++) {
			next = seqs[i] > last && (next < 0 || seqs[i] < next) ? seqs[i] : next;
		}
		if (next < 0) {
			break;
		}
		struct json_object *found = NULL;
		for (int l = 0; l < 2 && found == NULL; l++) {
			for (size_t i = 0; i < json_object_array_length(lists[l]); i++) {
				struct json_object *bt = json_object_array_get_idx(lists[l], i),
				                   *sq;
				assert_true(json_object_object_get_ex(bt, "seq", &sq));
				found = json_object_get_int64(sq) == next ? bt : found;
			}
		}
		assert_non_null(found);
		json_object_array_add(out, json_object_get(found));
		last = next;
	}
	json_object_object_add(root, "batches", out);
}

/* Oversized and non-canonical inputs are refused with a reason. */
static void bundle_garbage(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	expect_invalid(f, "{}", 2, "field \"format\" is missing");
	expect_invalid(f, "{ }", 3, "not canonical");
	expect_invalid(f, "[]", 2, "expected an object");
	expect_invalid(f, "", 0, "not canonical");
	fx_free(f);
}

/* The bundle's batch digests are the PBFT batch digests (RFC 9162 roots). */
static void batch_digest_is_merkle_root(void **state)
{
	(void)state;
	uint8_t e1[] = {3, 0, 0, 0, 0, 0, 0, 0, 1}, e2[] = {2, '{', '}'};
	const uint8_t *entries[2] = {e1, e2};
	size_t lens[2] = {sizeof e1, sizeof e2};
	uint8_t batch[64], root[32], digest[32];
	size_t len = 0;
	assert_int_equal(synod_testkit_batch(batch, sizeof batch, &len, entries, lens, 2), 0);
	assert_int_equal(synod_batch_merkle_root(root, batch, len), 0);
	uint8_t leaves[2][32];
	synod_merkle_leaf_hash(leaves[0], e1, sizeof e1);
	synod_merkle_leaf_hash(leaves[1], e2, sizeof e2);
	uint8_t want[32];
	synod_merkle_node_hash(want, leaves[0], leaves[1]);
	assert_memory_equal(root, want, 32);
	uint8_t empty[4] = {0, 0, 0, 0};
	assert_int_equal(synod_batch_merkle_root(root, empty, 4), 0);
	synod_sha256(want, "", 0);
	assert_memory_equal(root, want, 32);
	/* and the digest COMMITs sign is the same two-leaf root */
	pbft_batch_digest(digest, batch, len);
	synod_merkle_node_hash(want, leaves[0], leaves[1]);
	assert_memory_equal(digest, want, 32);
}

/* A coordinator that reads the same certified entries differently builds a
 * bundle whose every signature, Merkle path and commit certificate checks:
 * here it leaves out the TICK that expired the request, so that the late
 * 22nd approval counts and the bundle says APPROVED. Only 2f+1 replicas can
 * certify that reading; with the cluster's real checkpoint the certified log
 * of decisions refuses it. So it does a bundle that rewrites what no vote
 * binds (the epoch of an EXPIRED request without votes: seed 44714 of the
 * 100,000-seed simulator run). */
static void bundle_other_reading_refused(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint8_t id[32], quiet[32];
	fx_submit(f, 5000, 1, id);
	fx_submit(f, 5000, 2, quiet);
	fx_votes(f, 0, 21, id, 0, SYNOD_VERDICT_APPROVE, 7);
	fx_tick(f, f->now_ms + 5000);
	const uint64_t tick_seq = f->log.count;
	assert_int_equal(fx_tally(f, id).outcome, SYNOD_OUTCOME_EXPIRED);
	assert_int_equal(fx_tally(f, quiet).outcome, SYNOD_OUTCOME_EXPIRED);
	fx_vote(f, 21, id, 0, SYNOD_VERDICT_APPROVE, 0); /* late */
	size_t hlen = 0;
	char *honest = fx_bundle(f, id, &hlen);
	expect_valid(f, honest, hlen);

	/* the liar: every certified batch but the TICK's */
	struct synod_app *liar = fx_app_new(f);
	for (uint64_t s = 1; s <= f->log.count; s++) {
		const struct synod_testkit_batch *b = &f->log.batches[s - 1];
		synod_app_execute(liar, s, s == tick_seq ? NULL : b->batch,
		                  s == tick_seq ? 0 : b->len);
	}
	struct synod_tally t;
	assert_int_equal(synod_app_tally_get(liar, id, &t), 0);
	assert_int_equal(t.outcome, SYNOD_OUTCOME_APPROVED);
	struct synod_testkit_checkpoint lck;
	assert_int_equal(
	    synod_testkit_checkpoint(&f->kit, liar, pbft_quorum(f->kit.cluster.replicas), &lck), 0);
	char *lie = NULL;
	size_t llen = 0;
	assert_int_equal(synod_bundle_build(liar, id, synod_testkit_log_lookup, &f->log, &lck.cp,
	                                    &lie, &llen, NULL, 0),
	                 0);
	/* with 2f+1 replicas behind its reading it would verify: beyond f faults */
	expect_valid(f, lie, llen);
	struct json_object *lroot = parse(lie, llen), *hroot = parse(honest, hlen), *ck = NULL;
	assert_true(json_object_object_get_ex(hroot, "checkpoint", &ck));
	json_object_object_add(lroot, "checkpoint", json_object_get(ck));
	size_t elen = 0;
	char *e = edit_canonical(lroot, &elen);
	struct fx_report rep;
	assert_int_not_equal(fx_verify(f, e, elen, &rep), 0);
	/* everything else checks; the certified record names what was read
	 * differently */
	if (rep.count != 3 ||
	    strstr(rep.text, "outcome: the bundle says APPROVED, the certified record says "
	                     "EXPIRED\n") == NULL ||
	    strstr(rep.text, "decided_at: the bundle says seq 8 index 0, the certified record "
	                     "says seq 7 index 0\n") == NULL ||
	    strstr(rep.text, "votes: seat 21's vote at seq 8 index 0 (counted) is not in the "
	                     "certified record\n") == NULL) {
		fail_msg("want the record's three differences:\n%s", rep.text);
	}
	free(e);
	json_object_put(lroot);
	json_object_put(hroot);

	/* an EXPIRED request without votes: its epoch is bound only by the record */
	size_t qlen = 0;
	char *q = fx_bundle(f, quiet, &qlen);
	expect_valid(f, q, qlen);
	struct json_object *qroot = parse(q, qlen), *ep = NULL;
	assert_true(json_object_object_get_ex(qroot, "epoch", &ep));
	json_object_object_add(ep, "number", json_object_new_int(8));
	e = edit_canonical(qroot, &elen);
	expect_invalid(f, e, elen,
	               "epoch.number: the bundle says 8, the certified record says 0\n");
	free(e);
	json_object_put(qroot);
	free(q);
	free(lie);
	free(honest);
	synod_app_close(liar);
	fx_free(f);
}

/* Non-participation exclusions have no signed evidence: only the certified
 * record binds them, so their counts and request ids cannot change either. */
static void bundle_non_participation_bound(void **state)
{
	(void)state;
	struct synod_policy p;
	synod_policy_defaults(&p);
	p.epoch_decisions = 2;
	p.non_participation = true;
	p.np_missed_decisions_max = 2;
	struct fx *f = fx_new_policy(&p, 37);
	uint8_t ids[3][32];
	for (uint32_t i = 0; i < 3; i++) {
		fx_submit(f, HOUR_MS, i + 1, ids[i]);
		fx_votes(f, 0, 22, ids[i], i < 2 ? 0 : 1, SYNOD_VERDICT_APPROVE, 22);
		assert_int_equal(fx_tally(f, ids[i]).outcome, SYNOD_OUTCOME_APPROVED);
	}
	assert_int_equal(synod_app_exclusion_count(f->app), 11); /* seats 22..32 */
	size_t len = 0;
	char *b = fx_bundle(f, ids[2], &len);
	expect_valid(f, b, len);
	for (int edit = 0; edit < 2; edit++) {
		struct json_object *root = parse(b, len), *ep = NULL, *ex = NULL;
		assert_true(json_object_object_get_ex(root, "epoch", &ep));
		assert_true(json_object_object_get_ex(ep, "exclusions", &ex));
		struct json_object *x = json_object_array_get_idx(ex, 3);
		if (edit == 0) {
			json_object_object_add(x, "missed", json_object_new_int(3));
		} else {
			struct json_object *rid = NULL;
			assert_true(json_object_object_get_ex(x, "request_id", &rid));
			char hex[65];
			snprintf(hex, sizeof hex, "%s", json_object_get_string(rid));
			hex[0] = hex[0] == '0' ? '1' : '0';
			json_object_object_add(x, "request_id", json_object_new_string(hex));
		}
		size_t elen = 0;
		char *e = edit_canonical(root, &elen);
		expect_invalid(f, e, elen,
		               edit == 0 ? "epoch.exclusions[3].missed: the bundle says 3, the "
		                           "certified record says 2\n"
		                         : "epoch.exclusions[3].request_id: the bundle says ");
		free(e);
		json_object_put(root);
	}
	free(b);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(bundle_builds_and_verifies),
	    cmocka_unit_test(bundle_build_errors),
	    cmocka_unit_test(bundle_every_byte_matters_small),
	    cmocka_unit_test(bundle_dense_sample_33),
	    cmocka_unit_test(bundle_drop_a_vote),
	    cmocka_unit_test(bundle_reorder_votes),
	    cmocka_unit_test(bundle_swap_in_other_request_vote),
	    cmocka_unit_test(bundle_proof_size_bound),
	    cmocka_unit_test(bundle_ignored_reasons),
	    cmocka_unit_test(bundle_reports_every_failure),
	    cmocka_unit_test(bundle_certificates_checked),
	    cmocka_unit_test(bundle_injected_cert_crypto),
	    cmocka_unit_test(bundle_exclusion_after_the_fact),
	    cmocka_unit_test(bundle_other_reading_refused),
	    cmocka_unit_test(bundle_non_participation_bound),
	    cmocka_unit_test(bundle_nul_suffix_refused),
	    cmocka_unit_test(bundle_exclusion_window_bound),
	    cmocka_unit_test(bundle_record_bound),
	    cmocka_unit_test(bundle_exclusion_evidence_bound),
	    cmocka_unit_test(bundle_garbage),
	    cmocka_unit_test(batch_digest_is_merkle_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

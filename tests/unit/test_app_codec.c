/* Requests, votes and TICKs on the wire: strict canonical decoding with
 * errors that name the field, encoders that round-trip, the TICK bound
 * (pbft_app.validate), and the production crypto adapters with a real file
 * key. */
#include "tests/unit/test_app_fixture.h"

#include "common/hash.h"
#include "common/sign.h"

#include <sys/stat.h>
#include <unistd.h>

static const char good_request[] =
    "{\"artifacts\":[{\"name\":\"model.onnx\",\"sha256\":"
    "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"},"
    "{\"name\":\"card.md\",\"sha256\":"
    "\"ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\"}],"
    "\"deadline_ms\":1700000600000,\"policy\":\"eu-ai-act/high-risk\","
    "\"submitter\":\"alice@example.org\",\"system\":{\"id\":\"acme-chat\",\"version\":\"2.1.0\"}}";

static void request_edit(char *out, size_t cap, const char *from, const char *to)
{
	const char *at = strstr(good_request, from);
	assert_non_null(at);
	snprintf(out, cap, "%.*s%s%s", (int)(at - good_request), good_request, to,
	         at + strlen(from));
}

static void expect_request_error(const char *json, const char *needle)
{
	struct synod_request *r = malloc(sizeof *r);
	char err[512] = "";
	assert_non_null(r);
	int rc = synod_request_decode(r, NULL, json, strlen(json), err, sizeof err);
	free(r);
	if (rc == 0) {
		fail_msg("accepted: %s", json);
	}
	if (strstr(err, needle) == NULL) {
		fail_msg("error \"%s\" lacks %s", err, needle);
	}
}

static void request_decode_and_encode(void **state)
{
	(void)state;
	struct synod_request *r = malloc(sizeof *r);
	uint8_t id[32], id2[32], want[32];
	char err[512] = "";
	int rc = synod_request_decode(r, id, good_request, strlen(good_request), err, sizeof err);
	if (rc != 0) {
		fail_msg("%s", err);
	}
	synod_sha256(want, good_request, strlen(good_request));
	assert_memory_equal(id, want, 32);
	assert_string_equal(r->system_id, "acme-chat");
	assert_string_equal(r->system_version, "2.1.0");
	assert_string_equal(r->policy, "eu-ai-act/high-risk");
	assert_string_equal(r->submitter, "alice@example.org");
	assert_int_equal(r->deadline_ms, 1700000600000ull);
	assert_int_equal(r->artifact_count, 2);
	assert_string_equal(r->artifacts[1].name, "card.md");
	assert_int_equal(r->artifacts[0].sha256[1], 0x11);
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(synod_request_encode(r, &text, &len, id2, err, sizeof err), 0);
	assert_int_equal(len, strlen(good_request));
	assert_string_equal(text, good_request);
	assert_memory_equal(id2, id, 32);
	free(text);
	/* a name with non-ASCII and escaped characters round-trips */
	snprintf(r->artifacts[1].name, sizeof r->artifacts[1].name,
	         "r\xc3\xa9sum\xc3\xa9 \"v2\".pdf");
	assert_int_equal(synod_request_encode(r, &text, &len, id2, err, sizeof err), 0);
	assert_int_equal(synod_request_decode(r, NULL, text, len, err, sizeof err), 0);
	assert_string_equal(r->artifacts[1].name, "r\xc3\xa9sum\xc3\xa9 \"v2\".pdf");
	free(text);
	r->deadline_ms = 0;
	assert_int_equal(synod_request_encode(r, &text, &len, NULL, err, sizeof err), SYNOD_EINVAL);
	assert_null(text);
	assert_non_null(strstr(err, "\"deadline_ms\""));
	free(r);
}

static void request_errors_name_the_field(void **state)
{
	(void)state;
	char j[2048];
	request_edit(j, sizeof j, "\"deadline_ms\":1700000600000,", "");
	expect_request_error(j, "field \"deadline_ms\": missing");
	request_edit(j, sizeof j, "1700000600000", "\"soon\"");
	expect_request_error(j, "field \"deadline_ms\": expected an integer");
	request_edit(j, sizeof j, "1700000600000", "0");
	expect_request_error(j, "field \"deadline_ms\"");
	request_edit(j, sizeof j, "ffeeddcc", "FFEEDDCC");
	expect_request_error(j, "field \"artifacts[1].sha256\": expected 64 lowercase hex");
	request_edit(j, sizeof j, "\"card.md\"", "\"model.onnx\"");
	expect_request_error(j, "field \"artifacts[1].name\": repeats artifacts[0].name");
	request_edit(j, sizeof j, "\"card.md\"", "\"\"");
	expect_request_error(j, "field \"artifacts[1].name\"");
	request_edit(j, sizeof j, "\"card.md\"", "\"a\\u0001b\"");
	expect_request_error(j, "field \"artifacts[1].name\"");
	expect_request_error("{\"artifacts\":[],\"deadline_ms\":1,\"policy\":\"p\",\"submitter\":"
	                     "\"s\",\"system\":{\"id\":\"a\",\"version\":\"1\"}}",
	                     "field \"artifacts\": expected 1..32 artifacts");
	request_edit(j, sizeof j, "acme-chat", "acme chat");
	expect_request_error(j, "field \"system.id\"");
	request_edit(j, sizeof j, "\"version\":\"2.1.0\"",
	             "\"vendor\":\"x\",\"version\":\"2.1.0\"");
	expect_request_error(j, "field \"system.vendor\": unknown field");
	request_edit(j, sizeof j, "\"policy\":", "\"pocily\":");
	expect_request_error(j, "request: field \"pocily\": unknown field");
	request_edit(j, sizeof j, "alice@example.org", "");
	expect_request_error(j, "field \"submitter\"");
	request_edit(j, sizeof j, "{\"artifacts\"", "{ \"artifacts\"");
	expect_request_error(j, "request: not in canonical form");
	expect_request_error("[]", "expected a JSON object");
	char big[SYNOD_APP_REQUEST_BYTES_MAX + 2];
	memset(big, ' ', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	expect_request_error(big, "more than");
}

static struct synod_vote sample_vote(void)
{
	struct synod_vote v;
	memset(&v, 0, sizeof v);
	memset(v.cluster_id, 0xab, 32);
	memset(v.request_id, 0x01, 32);
	memset(v.reason_digest, 0x5a, 32);
	v.epoch = 7;
	v.seat = 32;
	v.verdict = SYNOD_VERDICT_REJECT;
	snprintf(v.plugin_name, sizeof v.plugin_name, "bias-eval");
	snprintf(v.plugin_version, sizeof v.plugin_version, "0.3.1+gpu");
	return v;
}

static void vote_decode_and_encode(void **state)
{
	(void)state;
	struct synod_testkit_key k;
	synod_testkit_key_make(&k, 42);
	struct synod_vote v = sample_vote();
	uint8_t e[FX_ENTRY_BYTES];
	size_t len = 0;
	assert_int_equal(synod_testkit_vote_sign(&k, &v, e, sizeof e, &len), 0);
	assert_int_equal(e[0], SYNOD_ENTRY_VOTE);
	struct synod_vote_envelope env;
	char err[512] = "";
	const char *payload = (const char *)e + 1;
	int rc = synod_vote_decode(&env, payload, len - 1, err, sizeof err);
	if (rc != 0) {
		fail_msg("%s", err);
	}
	assert_memory_equal(&env.vote, &v, sizeof v);
	char msg[1024];
	size_t mlen = 0;
	assert_int_equal(synod_vote_encode(&v, msg, sizeof msg, &mlen, err, sizeof err), 0);
	assert_int_equal(env.signed_len, mlen);
	assert_memory_equal(payload + env.signed_offset, msg, mlen);
	/* the hand-written form is the RFC 8785 form */
	struct json_object *o = NULL;
	assert_int_equal(synod_json_parse_canonical(&o, msg, mlen, err, sizeof err), 0);
	json_object_put(o);
	assert_int_equal(synod_vote_verify(&env, payload, v.cluster_id, k.pk), 0);
	uint8_t other[32];
	memset(other, 0xac, 32);
	assert_int_equal(synod_vote_verify(&env, payload, other, k.pk), SYNOD_EBADSIG);
	/* the signature is domain-separated: not valid as a PBFT message */
	assert_int_not_equal(synod_sig_verify(env.sig, SYNOD_TAG_PBFT, v.cluster_id,
	                                      (const uint8_t *)msg, mlen, k.pk),
	                     0);
}

static void vote_errors_name_the_field(void **state)
{
	(void)state;
	struct synod_testkit_key k;
	synod_testkit_key_make(&k, 43);
	struct synod_vote v = sample_vote();
	uint8_t e[FX_ENTRY_BYTES];
	size_t len = 0;
	assert_int_equal(synod_testkit_vote_sign(&k, &v, e, sizeof e, &len), 0);
	static const struct {
		const char *from, *to, *needle;
	} edits[] = {
	    {"\"epoch\":7", "\"epoch\":-7", "field \"vote.epoch\": negative"},
	    {"\"seat\":32", "\"seat\":65536", "field \"vote.seat\""},
	    {"\"seat\":32", "\"seat\":\"32\"", "field \"vote.seat\": expected an integer"},
	    {"\"REJECT\"", "\"NO\"", "field \"vote.verdict\""},
	    {"\"bias-eval\"", "\"bias eval\"", "field \"vote.plugin.name\""},
	    {"\"0.3.1+gpu\"", "\"\"", "field \"vote.plugin.version\""},
	    {"\"cluster_id\":\"abab", "\"cluster_id\":\"ABAB", "field \"vote.cluster_id\""},
	    {"\"request_id\":\"0101", "\"request_id\":\"01", "field \"vote.request_id\""},
	    {"\"reason_digest\"", "\"reason\"", "field \"vote.reason\": unknown field"},
	    {"\"seat\":32,", "", "field \"vote.seat\": missing"},
	    {"{\"sig\":\"", "{\"sig\":\"A", "field \"sig\""},
	    {"\"vote\":{", "\"vote\":{ ", "not in canonical form"},
	};
	for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
		char j[2048];
		const char *payload = (const char *)e + 1;
		const char *at = strstr(payload, edits[i].from);
		assert_non_null(at);
		snprintf(j, sizeof j, "%.*s%s%.*s", (int)(at - payload), payload, edits[i].to,
		         (int)(len - 1 - (size_t)(at - payload) - strlen(edits[i].from)),
		         at + strlen(edits[i].from));
		struct synod_vote_envelope env;
		char err[512] = "";
		if (synod_vote_decode(&env, j, strlen(j), err, sizeof err) == 0) {
			fail_msg("accepted: %s", j);
		}
		if (strstr(err, edits[i].needle) == NULL) {
			fail_msg("error \"%s\" lacks %s", err, edits[i].needle);
		}
	}
	v.seat = 70000;
	char msg[1024];
	size_t mlen;
	char err[512];
	assert_int_equal(synod_vote_encode(&v, msg, sizeof msg, &mlen, err, sizeof err),
	                 SYNOD_EINVAL);
	v = sample_vote();
	assert_int_equal(synod_vote_encode(&v, msg, 40, &mlen, err, sizeof err), SYNOD_ELIMIT);
}

/* validate: a TICK within the skew bound of the backup's clock, not going
 * backwards, passes; anything else refuses the batch. Other entries never
 * refuse it. */
static void tick_validate(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	const uint64_t skew = f->kit.cluster.policy.tick_skew_ms_max;
	const uint64_t now = f->now_ms + 10000;
	uint8_t t1[SYNOD_APP_TICK_BYTES], t2[SYNOD_APP_TICK_BYTES], junk[3] = {2, 'x', 'y'};
	uint8_t batch[256];
	size_t len = 0;
	struct {
		uint64_t a, b;
		int ok;
	} cases[] = {
	    {now, now, 1},
	    {now - skew, now + skew, 1},
	    {now - skew - 1, now, 0},
	    {now, now + skew + 1, 0},
	    {now + 10, now + 5, 1}, /* backwards inside the batch: ignored by apply, harmless */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		synod_entry_tick(t1, cases[i].a);
		synod_entry_tick(t2, cases[i].b);
		const uint8_t *entries[3] = {t1, junk, t2};
		size_t lens[3] = {sizeof t1, sizeof junk, sizeof t2};
		assert_int_equal(synod_testkit_batch(batch, sizeof batch, &len, entries, lens, 3),
		                 0);
		int rc = synod_app_validate(f->app, batch, len, now);
		assert_int_equal(rc == 0, cases[i].ok);
	}
	/* before the log time: it cannot move time (apply ignores it), so it does
	 * not get an honest primary's batch refused; the primary drops such
	 * TICKs as expired instead of proposing them */
	synod_entry_tick(t1, f->now_ms - 1);
	const uint8_t *back[1] = {t1};
	size_t back_len = sizeof t1;
	assert_int_equal(synod_testkit_batch(batch, sizeof batch, &len, back, &back_len, 1), 0);
	assert_int_equal(synod_app_validate(f->app, batch, len, f->now_ms), 0);
	assert_true(synod_app_tick_expired(f->app, t1, sizeof t1, f->now_ms));
	/* far behind the clock but ahead of log time: refused, and expired */
	synod_entry_tick(t1, f->now_ms + 1);
	assert_int_equal(synod_testkit_batch(batch, sizeof batch, &len, back, &back_len, 1), 0);
	assert_int_equal(synod_app_validate(f->app, batch, len, f->now_ms + 2 + skew),
	                 SYNOD_EINVAL);
	assert_true(synod_app_tick_expired(f->app, t1, sizeof t1, f->now_ms + 2 + skew));
	assert_false(synod_app_tick_expired(f->app, t1, sizeof t1, f->now_ms + 1));
	/* only TICKs expire; peers may not forward them */
	assert_false(synod_app_tick_expired(f->app, junk, sizeof junk, UINT64_MAX));
	assert_int_equal(synod_app_admit(t1, sizeof t1), SYNOD_EINVAL);
	assert_int_equal(synod_app_admit(junk, sizeof junk), 0);
	synod_entry_tick(t1, f->now_ms);
	assert_int_equal(synod_testkit_batch(batch, sizeof batch, &len, back, &back_len, 1), 0);
	assert_int_equal(synod_app_validate(f->app, batch, len, f->now_ms), 0);
	/* a malformed TICK (wrong length) refuses the batch */
	const uint8_t *entries[1] = {t1};
	size_t short_len = 5;
	assert_int_equal(synod_testkit_batch(batch, sizeof batch, &len, entries, &short_len, 1), 0);
	assert_int_equal(synod_app_validate(f->app, batch, len, now), SYNOD_EINVAL);
	/* a batch of client entries only is never refused */
	const uint8_t *j[1] = {junk};
	size_t jl = sizeof junk;
	assert_int_equal(synod_testkit_batch(batch, sizeof batch, &len, j, &jl, 1), 0);
	assert_int_equal(synod_app_validate(f->app, batch, len, 0), 0);
	/* through the PBFT table */
	struct pbft_app t = synod_app_pbft(f->app);
	assert_int_equal(t.validate(t.ctx, batch, len, now), 0);
	assert_int_equal(synod_app_tick_propose(f->app, f->now_ms - 100), f->now_ms);
	assert_int_equal(synod_app_tick_propose(f->app, f->now_ms + 100), f->now_ms + 100);
	fx_free(f);
}

/* Unknown kinds and a short TICK in a committed batch are counted, not fatal. */
static void malformed_entries(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint8_t e9[] = {9, 1, 2}, tick[] = {3, 0, 0};
	fx_entry(f, e9, sizeof e9);
	fx_entry(f, tick, sizeof tick);
	synod_app_execute(f->app, f->log.count + 1, (const uint8_t *)"\0\0\0\1", 4);
	struct synod_app_status st;
	synod_app_status_get(f->app, &st);
	assert_int_equal(st.entries_malformed, 3);
	assert_int_equal(fx_count_events(f, SYNOD_APP_EV_MALFORMED), 2);
	fx_free(f);
}

/* The production PBFT adapter over a real file key: signs with the PBFT tag
 * and the cluster id; verifies only that. */
static void pbft_crypto_adapter(void **state)
{
	(void)state;
	char dir[] = "/tmp/synod-test-app-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char uri[128];
	snprintf(uri, sizeof uri, "file:%s/replica.key", dir);
	uint8_t pk[32];
	char err[512] = "";
	assert_int_equal(synod_keygen(uri, NULL, pk, err, sizeof err), 0);
	struct synod_signer *s = NULL;
	assert_int_equal(synod_signer_open(&s, uri, err, sizeof err), 0);
	struct synod_pbft_signer ps;
	memset(ps.cluster_id, 0x33, 32);
	ps.signer = s;
	struct pbft_crypto c = synod_pbft_crypto(&ps);
	uint8_t msg[PBFT_CORE_SIGNED_BYTES] = {1, 4}, sig[64];
	assert_int_equal(c.sign(c.ctx, sig, msg, sizeof msg), 0);
	assert_int_equal(c.verify(c.ctx, sig, msg, sizeof msg, pk), 0);
	assert_int_equal(synod_pbft_crypto_verify(ps.cluster_id, sig, msg, sizeof msg, pk), 0);
	uint8_t other[32];
	memset(other, 0x34, 32);
	assert_int_not_equal(synod_pbft_crypto_verify(other, sig, msg, sizeof msg, pk), 0);
	assert_int_not_equal(
	    synod_sig_verify(sig, SYNOD_TAG_VOTE, ps.cluster_id, msg, sizeof msg, pk), 0);
	msg[0] ^= 1;
	assert_int_not_equal(c.verify(c.ctx, sig, msg, sizeof msg, pk), 0);
	/* a vote signed through a signer verifies like a test-kit one */
	struct synod_vote v = sample_vote();
	memcpy(v.cluster_id, ps.cluster_id, 32);
	char env[1024];
	size_t len = 0;
	assert_int_equal(synod_vote_sign(s, &v, env, sizeof env, &len, err, sizeof err), 0);
	struct synod_vote_envelope d;
	assert_int_equal(synod_vote_decode(&d, env, len, err, sizeof err), 0);
	assert_int_equal(synod_vote_verify(&d, env, ps.cluster_id, pk), 0);
	synod_signer_close(s);
	char path[128];
	snprintf(path, sizeof path, "%s/replica.key", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(request_decode_and_encode),
	    cmocka_unit_test(request_errors_name_the_field),
	    cmocka_unit_test(vote_decode_and_encode),
	    cmocka_unit_test(vote_errors_name_the_field),
	    cmocka_unit_test(tick_validate),
	    cmocka_unit_test(malformed_entries),
	    cmocka_unit_test(pbft_crypto_adapter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

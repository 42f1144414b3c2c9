/* Policies and cluster.json: policies/default.json loads, every invalid field
 * is refused with an error naming it, the threshold can never be set below a
 * Byzantine quorum (never below two thirds of the seats). */
#include "tests/unit/test_app_fixture.h"

#include "common/hash.h"

static const char default_policy[] =
    "{\"id\":\"default\",\"seats\":33,\"threshold\":22,"
    "\"epoch\":{\"decisions\":64,\"log_time_ms\":86400000},\"exclusion\":{\"epochs\":4},"
    "\"tick\":{\"skew_ms_max\":5000},"
    "\"requests\":{\"retained_max\":256,\"deadline_ms_max\":604800000}}";

/* default_policy with the first occurrence of from replaced by to. */
static void policy_edit(char *out, size_t cap, const char *from, const char *to)
{
	const char *at = strstr(default_policy, from);
	assert_non_null(at);
	snprintf(out, cap, "%.*s%s%s", (int)(at - default_policy), default_policy, to,
	         at + strlen(from));
}

static void expect_refused(const char *json, const char *needle)
{
	struct synod_policy p;
	char err[512] = "";
	int rc = synod_policy_parse(&p, json, strlen(json), "pol.json", err, sizeof err);
	if (rc == 0) {
		fail_msg("accepted: %s", json);
	}
	if (strstr(err, needle) == NULL) {
		fail_msg("error \"%s\" does not name %s", err, needle);
	}
	assert_non_null(strstr(err, "pol.json"));
}

static void policy_default_file(void **state)
{
	(void)state;
	const char *src = getenv("SYNOD_SOURCE_DIR");
	char path[1024];
	snprintf(path, sizeof path, "%s/policies/default.json", src != NULL ? src : "..");
	struct synod_policy p, d;
	char err[512] = "";
	int rc = synod_policy_load(&p, path, err, sizeof err);
	if (rc != 0) {
		fail_msg("%s", err);
	}
	synod_policy_defaults(&d);
	char a[1024], b[1024];
	size_t la = 0, lb = 0;
	assert_int_equal(synod_policy_canonical(&p, a, sizeof a, &la), 0);
	assert_int_equal(synod_policy_canonical(&d, b, sizeof b, &lb), 0);
	assert_string_equal(a, b);
	assert_int_equal(p.seats, 33);
	assert_int_equal(p.threshold, 22);
	assert_false(p.non_participation);
	/* the canonical form is canonical JSON */
	struct json_object *o = NULL;
	assert_int_equal(synod_json_parse_canonical(&o, a, la, NULL, 0), 0);
	json_object_put(o);
	assert_int_equal(
	    synod_policy_parse(&p, default_policy, strlen(default_policy), "x", err, sizeof err),
	    0);
	assert_int_equal(synod_policy_check(&p, err, sizeof err), 0);
}

static void policy_threshold_bound(void **state)
{
	(void)state;
	static const uint32_t want[][2] = {{4, 3},   {5, 4},   {6, 4},   {7, 5},
	                                   {10, 7},  {13, 9},  {30, 20}, {31, 21},
	                                   {32, 22}, {33, 22}, {34, 23}, {64, 43}};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		assert_int_equal(synod_policy_threshold_min(want[i][0]), want[i][1]);
	}
	for (uint32_t n = 4; n <= 64; n++) {
		uint32_t q = synod_policy_threshold_min(n), f = (n - 1) / 3;
		assert_true(3 * q >= 2 * n);          /* never below two thirds */
		assert_true(2 * q >= n + f + 1);      /* two quorums share f+1 seats */
		assert_true(2 * (q - 1) < n + f + 1); /* and it is the least such */
		struct synod_policy p;
		synod_policy_defaults(&p);
		p.seats = n;
		p.threshold = q - 1;
		char err[512] = "";
		assert_int_equal(synod_policy_check(&p, err, sizeof err), SYNOD_ECONFIG);
		assert_non_null(strstr(err, "\"threshold\""));
		p.threshold = q;
		assert_int_equal(synod_policy_check(&p, err, sizeof err), 0);
	}
}

static void policy_errors_name_the_field(void **state)
{
	(void)state;
	char j[1024];
	policy_edit(j, sizeof j, "\"threshold\":22", "\"threshold\":21");
	expect_refused(j, "key \"threshold\": 21 is outside 22..33");
	policy_edit(j, sizeof j, "\"threshold\":22", "\"threshold\":34");
	expect_refused(j, "\"threshold\"");
	policy_edit(j, sizeof j, "\"threshold\":22", "\"threshold\":\"22\"");
	expect_refused(j, "\"threshold\": expected an integer");
	policy_edit(j, sizeof j, "\"seats\":33", "\"seats\":3");
	expect_refused(j, "\"seats\"");
	policy_edit(j, sizeof j, "\"seats\":33", "\"seats\":65");
	expect_refused(j, "\"seats\"");
	policy_edit(j, sizeof j, "\"decisions\":64,\"log_time_ms\":86400000",
	            "\"decisions\":0,\"log_time_ms\":0");
	expect_refused(j, "key \"epoch\"");
	policy_edit(j, sizeof j, "\"epochs\":4", "\"epochs\":0");
	expect_refused(j, "\"exclusion.epochs\"");
	policy_edit(j, sizeof j, "\"skew_ms_max\":5000", "\"skew_ms_max\":3600001");
	expect_refused(j, "\"tick.skew_ms_max\"");
	policy_edit(j, sizeof j, "\"tick\":{\"skew_ms_max\":5000},", "");
	expect_refused(j, "\"tick.skew_ms_max\"");
	policy_edit(j, sizeof j, "\"retained_max\":256", "\"retained_max\":9000");
	expect_refused(j, "\"requests.retained_max\"");
	policy_edit(j, sizeof j, "\"deadline_ms_max\":604800000", "\"deadline_ms_max\":0");
	expect_refused(j, "\"requests.deadline_ms_max\"");
	policy_edit(j, sizeof j, "\"id\":\"default\"", "\"id\":\"a b\"");
	expect_refused(j, "\"id\"");
	policy_edit(j, sizeof j, "\"id\":\"default\",", "");
	expect_refused(j, "\"id\"");
	policy_edit(j, sizeof j, "\"seats\":33", "\"seats\":33,\"quorum\":1");
	expect_refused(j, "\"quorum\": unknown key");
	policy_edit(j, sizeof j, "\"epochs\":4", "\"epochs\":4,\"forever\":true");
	expect_refused(j, "\"exclusion.forever\": unknown key");
	policy_edit(j, sizeof j, "\"seats\":33",
	            "\"non_participation\":{\"enabled\":1},\"seats\":33");
	expect_refused(j, "\"non_participation.enabled\"");
	policy_edit(j, sizeof j, "\"seats\":33",
	            "\"non_participation\":{\"enabled\":true,\"missed_decisions_max\":0},"
	            "\"seats\":33");
	expect_refused(j, "\"non_participation.missed_decisions_max\"");
	expect_refused("[1]", "top level");
	expect_refused("{\"id\":", "pol.json");
}

static void app_hex_test(char out[65], const uint8_t in[32])
{
	assert_int_equal(synod_hex_encode(out, 65, in, 32), 0);
}

static void cluster_parse(void **state)
{
	(void)state;
	struct synod_testkit *k = malloc(sizeof *k);
	assert_non_null(k);
	synod_testkit_init(k, NULL, 4, 5);
	char *j = malloc(16384);
	size_t n = fx_cluster_json(k, j, 16384);
	struct synod_cluster c;
	char err[512] = "";
	int rc = synod_cluster_parse(&c, j, n, "cluster.json", err, sizeof err);
	if (rc != 0) {
		fail_msg("%s", err);
	}
	assert_memory_equal(c.cluster_id, k->cluster.cluster_id, 32);
	assert_int_equal(c.replicas, 4);
	assert_memory_equal(c.seat_keys, k->cluster.seat_keys, 33 * 32);
	assert_memory_equal(c.replica_keys, k->cluster.replica_keys, 4 * 32);
	assert_int_equal(c.policy.threshold, 22);
	/* a wrong policy inside names its key with the prefix */
	char *bad = malloc(16384);
	const char *at = strstr(j, "\"threshold\":22");
	snprintf(bad, 16384, "%.*s\"threshold\":20%s", (int)(at - j), j, at + 14);
	assert_int_equal(synod_cluster_parse(&c, bad, strlen(bad), "cluster.json", err, sizeof err),
	                 SYNOD_ECONFIG);
	assert_non_null(strstr(err, "cluster.json: key \"policy.threshold\""));
	/* one seat short */
	at = strstr(j, ",\n    {\"name\": \"seat-32\"");
	assert_non_null(at);
	const char *end = strstr(at, "\n  ]");
	snprintf(bad, 16384, "%.*s%s", (int)(at - j), j, end);
	assert_int_not_equal(
	    synod_cluster_parse(&c, bad, strlen(bad), "cluster.json", err, sizeof err), 0);
	assert_non_null(strstr(err, "\"seats\""));
	/* a repeated seat key */
	char hex0[65], hex3[65];
	app_hex_test(hex0, k->cluster.seat_keys[0]);
	app_hex_test(hex3, k->cluster.seat_keys[3]);
	snprintf(bad, 16384, "%s", j);
	char *p = strstr(bad, hex3);
	memcpy(p, hex0, 64);
	assert_int_equal(synod_cluster_parse(&c, bad, strlen(bad), "cluster.json", err, sizeof err),
	                 SYNOD_ECONFIG);
	assert_non_null(strstr(err, "\"seats[3].pubkey\": repeats seats[0].pubkey"));
	/* a repeated replica key: it would count twice in every PBFT quorum */
	char rhex0[65], rhex2[65];
	app_hex_test(rhex0, k->cluster.replica_keys[0]);
	app_hex_test(rhex2, k->cluster.replica_keys[2]);
	snprintf(bad, 16384, "%s", j);
	p = strstr(bad, rhex2);
	assert_non_null(p);
	memcpy(p, rhex0, 64);
	assert_int_equal(synod_cluster_parse(&c, bad, strlen(bad), "cluster.json", err, sizeof err),
	                 SYNOD_ECONFIG);
	assert_non_null(strstr(err, "\"replicas[2].pubkey\": repeats replicas[0].pubkey"));
	/* five replicas are not 3f+1 */
	at = strstr(j, "\n  ],\n  \"seats\"");
	assert_non_null(at);
	snprintf(bad, 16384, "%.*s,{\"pubkey\":\"%s\"}%s", (int)(at - j), j, hex0, at);
	assert_int_equal(synod_cluster_parse(&c, bad, strlen(bad), "cluster.json", err, sizeof err),
	                 SYNOD_ECONFIG);
	assert_non_null(strstr(err, "\"replicas\": 5 replicas is not 3f+1"));
	/* a short key */
	snprintf(bad, 16384, "%s", j);
	p = strstr(bad, hex3);
	memcpy(p, "zz", 2);
	assert_int_not_equal(
	    synod_cluster_parse(&c, bad, strlen(bad), "cluster.json", err, sizeof err), 0);
	assert_non_null(strstr(err, "\"seats[3].pubkey\""));
	free(bad);
	free(j);
	free(k);
}

/* synod_app_init refuses a cluster that fails its checks. */
static void app_init_refuses_bad_cluster(void **state)
{
	(void)state;
	struct synod_testkit *k = malloc(sizeof *k);
	assert_non_null(k);
	synod_testkit_init(k, NULL, 4, 6);
	struct synod_app_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.cluster = k->cluster;
	cfg.cluster.policy.threshold = 21;
	struct synod_app *a = NULL;
	char err[512] = "";
	assert_int_equal(synod_app_init(&a, &cfg, err, sizeof err), SYNOD_ECONFIG);
	assert_null(a);
	assert_non_null(strstr(err, "\"policy.threshold\""));
	cfg.cluster = k->cluster;
	cfg.cluster.replicas = 5;
	assert_int_equal(synod_app_init(&a, &cfg, err, sizeof err), SYNOD_ECONFIG);
	cfg.cluster = k->cluster;
	assert_int_equal(synod_app_init(&a, &cfg, err, sizeof err), 0);
	synod_app_close(a);
	free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(policy_default_file),
	    cmocka_unit_test(policy_threshold_bound),
	    cmocka_unit_test(policy_errors_name_the_field),
	    cmocka_unit_test(cluster_parse),
	    cmocka_unit_test(app_init_refuses_bad_cluster),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

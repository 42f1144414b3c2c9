/* The quorum/epoch policy and cluster.json: loading and validation, with
 * errors that name the file and the field. */
#include "common/assert.h"
#include "common/hash.h"
#include "common/json.h"
#include "common/wire.h"
#include "coordinator/app/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

uint32_t synod_policy_threshold_min(uint32_t seats)
{
	uint32_t f = seats == 0 ? 0 : (seats - 1) / 3;
	return (seats + f + 2) / 2; /* ceil((n + f + 1) / 2) */
}

void synod_policy_defaults(struct synod_policy *p)
{
	memset(p, 0, sizeof *p);
	snprintf(p->id, sizeof p->id, "default");
	p->seats = 33;
	p->threshold = 22;
	p->epoch_decisions = 64;
	p->epoch_log_time_ms = 24ull * 3600u * 1000u;
	p->exclusion_epochs = 4;
	p->tick_skew_ms_max = 5000;
	p->deadline_ms_max = 7ull * 24u * 3600u * 1000u;
	p->requests_retained_max = 256; /* policies/README.md: why not more */
	p->non_participation = false;
	p->np_missed_decisions_max = 16;
}

/* "PREFIX.key" or "key" into out. */
static const char *policy_key(char *out, size_t cap, const char *prefix, const char *key)
{
	if (prefix == NULL || prefix[0] == '\0') {
		snprintf(out, cap, "%s", key);
	} else {
		snprintf(out, cap, "%s.%s", prefix, key);
	}
	return out;
}

static int policy_range_err(char *errmsg, size_t errmsg_len, const char *where, const char *field,
                            const char *what)
{
	return synod_errf(errmsg, errmsg_len, SYNOD_ECONFIG, "%s: key \"%s\": %s", where, field,
	                  what);
}

/* The checks that span fields, shared by files and structs. where names the
 * file (or "policy"), prefix the object's key. */
static int policy_check_at(const struct synod_policy *p, const char *where, const char *prefix,
                           char *errmsg, size_t errmsg_len)
{
	char key[SYNOD_CONFIG_KEY_BYTES_MAX];
	char what[256];
	if (!app_ident_ok(p->id, strnlen(p->id, sizeof p->id), SYNOD_APP_ID_BYTES_MAX)) {
		return policy_range_err(errmsg, errmsg_len, where,
		                        policy_key(key, sizeof key, prefix, "id"),
		                        "expected 1..128 characters of [A-Za-z0-9._+:/@-]");
	}
	if (p->seats < SYNOD_APP_SEATS_MIN || p->seats > SYNOD_APP_SEATS_MAX) {
		snprintf(what, sizeof what, "expected %u..%u seats, got %u", SYNOD_APP_SEATS_MIN,
		         SYNOD_APP_SEATS_MAX, p->seats);
		return policy_range_err(errmsg, errmsg_len, where,
		                        policy_key(key, sizeof key, prefix, "seats"), what);
	}
	uint32_t min = synod_policy_threshold_min(p->seats);
	if (p->threshold < min || p->threshold > p->seats) {
		snprintf(what, sizeof what,
		         "%u is outside %u..%u: a threshold must be a Byzantine quorum of the %u "
		         "seats, at least ceil((n+f+1)/2) with f = %u, never below two thirds",
		         p->threshold, min, p->seats, p->seats, (p->seats - 1) / 3);
		return policy_range_err(errmsg, errmsg_len, where,
		                        policy_key(key, sizeof key, prefix, "threshold"), what);
	}
	if (p->epoch_decisions == 0 && p->epoch_log_time_ms == 0) {
		return policy_range_err(errmsg, errmsg_len, where,
		                        policy_key(key, sizeof key, prefix, "epoch"),
		                        "set decisions or log_time_ms: with both 0 epochs never "
		                        "advance and no exclusion ever takes effect");
	}
	if (p->epoch_decisions > SYNOD_APP_EPOCH_DECISIONS_MAX ||
	    p->epoch_log_time_ms > SYNOD_APP_EPOCH_LOG_TIME_MS_MAX) {
		return policy_range_err(errmsg, errmsg_len, where,
		                        policy_key(key, sizeof key, prefix, "epoch"),
		                        "decisions or log_time_ms out of range");
	}
	struct {
		const char *name;
		uint64_t v, lo, hi;
	} ranges[] = {
	    {"exclusion.epochs", p->exclusion_epochs, 1, SYNOD_APP_EXCLUSION_EPOCHS_MAX},
	    {"tick.skew_ms_max", p->tick_skew_ms_max, 1, SYNOD_APP_TICK_SKEW_MS_MAX},
	    {"requests.deadline_ms_max", p->deadline_ms_max, 1, SYNOD_APP_DEADLINE_MS_MAX},
	    {"requests.retained_max", p->requests_retained_max, 1, SYNOD_APP_REQUESTS_MAX},
	    {"non_participation.missed_decisions_max", p->np_missed_decisions_max, 1,
	     SYNOD_APP_NP_MISSED_MAX},
	};
	for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
		if (ranges[i].v < ranges[i].lo || ranges[i].v > ranges[i].hi) {
			snprintf(what, sizeof what,
			         "expected an integer in [%" PRIu64 ", %" PRIu64 "], got %" PRIu64,
			         ranges[i].lo, ranges[i].hi, ranges[i].v);
			return policy_range_err(errmsg, errmsg_len, where,
			                        policy_key(key, sizeof key, prefix, ranges[i].name),
			                        what);
		}
	}
	return 0;
}

int synod_policy_check(const struct synod_policy *p, char *errmsg, size_t errmsg_len)
{
	return policy_check_at(p, "policy", "", errmsg, errmsg_len);
}

static const char *const policy_keys[] = {"id",        "seats", "threshold", "epoch",
                                          "exclusion", "tick",  "requests",  "non_participation",
                                          NULL};
static const char *const epoch_keys[] = {"decisions", "log_time_ms", NULL};
static const char *const exclusion_keys[] = {"epochs", NULL};
static const char *const tick_keys[] = {"skew_ms_max", NULL};
static const char *const requests_keys[] = {"retained_max", "deadline_ms_max", NULL};
static const char *const np_keys[] = {"enabled", "missed_decisions_max", NULL};

static int policy_keys_check(const struct synod_config *c, const char *prefix, char *errmsg,
                             size_t errmsg_len)
{
	static const struct {
		const char *sub;
		const char *const *keys;
	} objs[] = {
	    {"", policy_keys},   {"epoch", epoch_keys},       {"exclusion", exclusion_keys},
	    {"tick", tick_keys}, {"requests", requests_keys}, {"non_participation", np_keys}};
	char key[SYNOD_CONFIG_KEY_BYTES_MAX];
	for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) {
		const char *k = prefix;
		if (objs[i].sub[0] != '\0') {
			k = policy_key(key, sizeof key, prefix, objs[i].sub);
		}
		int rc = synod_config_check_keys(c, k, objs[i].keys, errmsg, errmsg_len);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

static int policy_u64(const struct synod_config *c, const char *prefix, const char *name,
                      uint64_t min, uint64_t max, const uint64_t *def, uint64_t *out, char *errmsg,
                      size_t errmsg_len)
{
	char key[SYNOD_CONFIG_KEY_BYTES_MAX];
	return synod_config_get_u64(c, policy_key(key, sizeof key, prefix, name), min, max, def,
	                            out, errmsg, errmsg_len);
}

static int policy_numbers(struct synod_policy *p, const struct synod_config *c, const char *prefix,
                          char *errmsg, size_t errmsg_len)
{
	uint64_t seats = 0, threshold = 0, retained = 0;
	const uint64_t zero = 0;
	int rc = policy_u64(c, prefix, "seats", SYNOD_APP_SEATS_MIN, SYNOD_APP_SEATS_MAX, NULL,
	                    &seats, errmsg, errmsg_len);
	if (rc == 0) {
		rc = policy_u64(c, prefix, "threshold", 1, SYNOD_APP_SEATS_MAX, NULL, &threshold,
		                errmsg, errmsg_len);
	}
	if (rc == 0) {
		rc = policy_u64(c, prefix, "epoch.decisions", 0, SYNOD_APP_EPOCH_DECISIONS_MAX,
		                &zero, &p->epoch_decisions, errmsg, errmsg_len);
	}
	if (rc == 0) {
		rc = policy_u64(c, prefix, "epoch.log_time_ms", 0, SYNOD_APP_EPOCH_LOG_TIME_MS_MAX,
		                &zero, &p->epoch_log_time_ms, errmsg, errmsg_len);
	}
	if (rc == 0) {
		rc = policy_u64(c, prefix, "exclusion.epochs", 1, SYNOD_APP_EXCLUSION_EPOCHS_MAX,
		                NULL, &p->exclusion_epochs, errmsg, errmsg_len);
	}
	if (rc == 0) {
		rc = policy_u64(c, prefix, "tick.skew_ms_max", 1, SYNOD_APP_TICK_SKEW_MS_MAX, NULL,
		                &p->tick_skew_ms_max, errmsg, errmsg_len);
	}
	if (rc == 0) {
		rc = policy_u64(c, prefix, "requests.retained_max", 1, SYNOD_APP_REQUESTS_MAX, NULL,
		                &retained, errmsg, errmsg_len);
	}
	if (rc == 0) {
		rc = policy_u64(c, prefix, "requests.deadline_ms_max", 1, SYNOD_APP_DEADLINE_MS_MAX,
		                NULL, &p->deadline_ms_max, errmsg, errmsg_len);
	}
	p->seats = (uint32_t)seats;
	p->threshold = (uint32_t)threshold;
	p->requests_retained_max = (uint32_t)retained;
	return rc;
}

int synod_policy_from_config(struct synod_policy *p, const struct synod_config *c,
                             const char *prefix, char *errmsg, size_t errmsg_len)
{
	char key[SYNOD_CONFIG_KEY_BYTES_MAX];
	const char *id = NULL;
	const bool off = false;
	const uint64_t missed_default = 16;
	if (prefix == NULL) {
		prefix = "";
	}
	memset(p, 0, sizeof *p);
	int rc = policy_keys_check(c, prefix, errmsg, errmsg_len);
	if (rc == 0) {
		rc = synod_config_get_string(c, policy_key(key, sizeof key, prefix, "id"),
		                             SYNOD_APP_ID_BYTES_MAX, NULL, &id, errmsg, errmsg_len);
	}
	if (rc == 0) {
		snprintf(p->id, sizeof p->id, "%s", id);
		rc = policy_numbers(p, c, prefix, errmsg, errmsg_len);
	}
	if (rc == 0) {
		rc = synod_config_get_bool(
		    c, policy_key(key, sizeof key, prefix, "non_participation.enabled"), &off,
		    &p->non_participation, errmsg, errmsg_len);
	}
	if (rc == 0) {
		rc = policy_u64(c, prefix, "non_participation.missed_decisions_max", 1,
		                SYNOD_APP_NP_MISSED_MAX, &missed_default,
		                &p->np_missed_decisions_max, errmsg, errmsg_len);
	}
	if (rc == 0) {
		rc = policy_check_at(p, c->path, prefix, errmsg, errmsg_len);
	}
	return rc;
}

int synod_policy_load(struct synod_policy *p, const char *path, char *errmsg, size_t errmsg_len)
{
	struct synod_config c;
	int rc = synod_config_load(&c, path, errmsg, errmsg_len);
	if (rc == 0) {
		rc = synod_policy_from_config(p, &c, "", errmsg, errmsg_len);
	}
	synod_config_close(&c);
	return rc;
}

/* A config over text, named name in messages. */
static int policy_config_text(struct synod_config *c, const char *json, size_t len,
                              const char *name, char *errmsg, size_t errmsg_len)
{
	char jerr[SYNOD_JSON_ERRMSG_BYTES] = "";
	memset(c, 0, sizeof *c);
	snprintf(c->path, sizeof c->path, "%s", name != NULL ? name : "(text)");
	int rc = synod_json_parse(&c->root, json, len, jerr, sizeof jerr);
	if (rc != 0) {
		return synod_errf(errmsg, errmsg_len, rc, "%s: %s", c->path, jerr);
	}
	if (!json_object_is_type(c->root, json_type_object)) {
		json_object_put(c->root);
		c->root = NULL;
		return synod_errf(errmsg, errmsg_len, SYNOD_EJSON_TYPE,
		                  "%s: expected a JSON object at the top level", c->path);
	}
	return 0;
}

int synod_policy_parse(struct synod_policy *p, const char *json, size_t len, const char *name,
                       char *errmsg, size_t errmsg_len)
{
	struct synod_config c;
	int rc = policy_config_text(&c, json, len, name, errmsg, errmsg_len);
	if (rc == 0) {
		rc = synod_policy_from_config(p, &c, "", errmsg, errmsg_len);
	}
	synod_config_close(&c);
	return rc;
}

int synod_policy_canonical(const struct synod_policy *p, char *out, size_t cap, size_t *len)
{
	/* keys in RFC 8785 order; the id is a restricted identifier (no escaping) */
	int n = snprintf(out, cap,
	                 "{\"epoch\":{\"decisions\":%" PRIu64 ",\"log_time_ms\":%" PRIu64 "},"
	                 "\"exclusion\":{\"epochs\":%" PRIu64 "},\"id\":\"%s\","
	                 "\"non_participation\":{\"enabled\":%s,\"missed_decisions_max\":%" PRIu64
	                 "},\"requests\":{\"deadline_ms_max\":%" PRIu64 ",\"retained_max\":%u},"
	                 "\"seats\":%u,\"threshold\":%u,\"tick\":{\"skew_ms_max\":%" PRIu64 "}}",
	                 p->epoch_decisions, p->epoch_log_time_ms, p->exclusion_epochs, p->id,
	                 p->non_participation ? "true" : "false", p->np_missed_decisions_max,
	                 p->deadline_ms_max, p->requests_retained_max, p->seats, p->threshold,
	                 p->tick_skew_ms_max);
	*len = 0;
	if (n < 0 || (size_t)n >= cap) {
		return SYNOD_ELIMIT;
	}
	*len = (size_t)n;
	return 0;
}

/* ---- cluster.json ---- */

static const char *const cluster_keys[] = {"cluster_id", "replicas", "seats", "policy", NULL};
static const char *const member_keys[] = {"pubkey", "name", NULL};

/* The keys of array[i] (replicas or seats) into keys[i]. */
static int cluster_members(const struct synod_config *c, const char *array, size_t count,
                           uint8_t (*keys)[SYNOD_PUBKEY_BYTES], char *errmsg, size_t errmsg_len)
{
	char key[SYNOD_CONFIG_KEY_BYTES_MAX];
	for (size_t i = 0; i < count; i++) {
		const char *name = NULL;
		snprintf(key, sizeof key, "%s[%zu]", array, i);
		int rc = synod_config_check_keys(c, key, member_keys, errmsg, errmsg_len);
		if (rc != 0) {
			return rc;
		}
		snprintf(key, sizeof key, "%s[%zu].pubkey", array, i);
		rc = synod_config_get_hex(c, key, SYNOD_PUBKEY_BYTES, NULL, keys[i], errmsg,
		                          errmsg_len);
		if (rc != 0) {
			return rc;
		}
		snprintf(key, sizeof key, "%s[%zu].name", array, i);
		rc = synod_config_get_string(c, key, SYNOD_APP_ID_BYTES_MAX, "", &name, errmsg,
		                             errmsg_len);
		if (rc != 0) {
			return rc;
		}
		for (size_t j = 0; j < i; j++) {
			if (memcmp(keys[j], keys[i], SYNOD_PUBKEY_BYTES) == 0) {
				snprintf(key, sizeof key, "%s[%zu].pubkey", array, i);
				return synod_errf(errmsg, errmsg_len, SYNOD_ECONFIG,
				                  "%s: key \"%s\": repeats %s[%zu].pubkey", c->path,
				                  key, array, j);
			}
		}
	}
	return 0;
}

static int cluster_from_config(struct synod_cluster *cl, const struct synod_config *c, char *errmsg,
                               size_t errmsg_len)
{
	size_t replicas = 0, seats = 0;
	memset(cl, 0, sizeof *cl);
	int rc = synod_config_check_keys(c, "", cluster_keys, errmsg, errmsg_len);
	if (rc == 0) {
		rc = synod_config_get_hex(c, "cluster_id", SYNOD_CLUSTER_ID_BYTES, NULL,
		                          cl->cluster_id, errmsg, errmsg_len);
	}
	if (rc == 0) {
		rc = synod_policy_from_config(&cl->policy, c, "policy", errmsg, errmsg_len);
	}
	if (rc == 0) {
		rc = synod_config_get_array_len(c, "replicas", 4, SYNOD_APP_REPLICAS_MAX, NULL,
		                                &replicas, errmsg, errmsg_len);
	}
	if (rc == 0 && (replicas - 1) % 3 != 0) {
		rc = synod_errf(errmsg, errmsg_len, SYNOD_ECONFIG,
		                "%s: key \"replicas\": %zu replicas is not 3f+1 (4, 7, 10, 13, 16)",
		                c->path, replicas);
	}
	if (rc == 0) {
		cl->replicas = (uint32_t)replicas;
		rc = cluster_members(c, "replicas", replicas, cl->replica_keys, errmsg, errmsg_len);
	}
	if (rc == 0) {
		rc = synod_config_get_array_len(c, "seats", cl->policy.seats, cl->policy.seats,
		                                NULL, &seats, errmsg, errmsg_len);
	}
	if (rc == 0) {
		rc = cluster_members(c, "seats", seats, cl->seat_keys, errmsg, errmsg_len);
	}
	return rc;
}

int synod_cluster_load(struct synod_cluster *cl, const char *path, char *errmsg, size_t errmsg_len)
{
	struct synod_config c;
	int rc = synod_config_load(&c, path, errmsg, errmsg_len);
	if (rc == 0) {
		rc = cluster_from_config(cl, &c, errmsg, errmsg_len);
	}
	synod_config_close(&c);
	return rc;
}

int synod_cluster_parse(struct synod_cluster *cl, const char *json, size_t len, const char *name,
                        char *errmsg, size_t errmsg_len)
{
	struct synod_config c;
	int rc = policy_config_text(&c, json, len, name, errmsg, errmsg_len);
	if (rc == 0) {
		rc = cluster_from_config(cl, &c, errmsg, errmsg_len);
	}
	synod_config_close(&c);
	return rc;
}

int synod_cluster_check(const struct synod_cluster *cl, char *errmsg, size_t errmsg_len)
{
	int rc = policy_check_at(&cl->policy, "cluster", "policy", errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	if (cl->replicas < 4 || cl->replicas > SYNOD_APP_REPLICAS_MAX ||
	    (cl->replicas - 1) % 3 != 0) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ECONFIG,
		                  "cluster: key \"replicas\": %u replicas is not 3f+1 within 4..%u",
		                  cl->replicas, SYNOD_APP_REPLICAS_MAX);
	}
	for (uint32_t i = 0; i < cl->replicas; i++) {
		for (uint32_t j = 0; j < i; j++) {
			if (memcmp(cl->replica_keys[i], cl->replica_keys[j], SYNOD_PUBKEY_BYTES) ==
			    0) {
				return synod_errf(errmsg, errmsg_len, SYNOD_ECONFIG,
				                  "cluster: key \"replicas[%u].pubkey\": repeats "
				                  "replicas[%u].pubkey",
				                  i, j);
			}
		}
	}
	for (uint32_t i = 0; i < cl->policy.seats; i++) {
		for (uint32_t j = 0; j < i; j++) {
			if (memcmp(cl->seat_keys[i], cl->seat_keys[j], SYNOD_PUBKEY_BYTES) == 0) {
				return synod_errf(errmsg, errmsg_len, SYNOD_ECONFIG,
				                  "cluster: key \"seats[%u].pubkey\": repeats "
				                  "seats[%u].pubkey",
				                  i, j);
			}
		}
	}
	return 0;
}

static bool cluster_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= 64) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-')) {
			return false;
		}
	}
	return true;
}

/* Appends the members of one array ("replicas" or "seats"). */
static int cluster_format_members(struct synod_wbuf *w, const char *array, uint32_t count,
                                  const uint8_t (*keys)[SYNOD_PUBKEY_BYTES],
                                  const char *const *names, const char *prefix, char *errmsg,
                                  size_t errmsg_len)
{
	char line[160];
	for (uint32_t i = 0; i < count; i++) {
		char dflt[32], hex[SYNOD_HEX_LEN(SYNOD_PUBKEY_BYTES)];
		snprintf(dflt, sizeof dflt, "%s-%u", prefix, i);
		const char *name = names != NULL ? names[i] : dflt;
		if (name == NULL || !cluster_name_ok(name)) {
			return synod_errf(
			    errmsg, errmsg_len, SYNOD_ECONFIG,
			    "cluster: key \"%s[%u].name\": \"%s\" is not 1..63 characters "
			    "of A-Z a-z 0-9 . _ -",
			    array, i, name != NULL ? name : "(none)");
		}
		app_hex(hex, keys[i], SYNOD_PUBKEY_BYTES);
		int n =
		    snprintf(line, sizeof line, "%s\n    {\"name\": \"%s\", \"pubkey\": \"%s\"}",
		             i > 0 ? "," : "", name, hex);
		SYNOD_ASSERT(n > 0 && (size_t)n < sizeof line);
		synod_wbuf_bytes(w, line, (size_t)n);
	}
	return 0;
}

int synod_cluster_format(const struct synod_cluster *c, const char *const *replica_names,
                         const char *const *seat_names, char *out, size_t cap, size_t *len,
                         char *errmsg, size_t errmsg_len)
{
	int rc = synod_cluster_check(c, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	char policy[1024], hex[SYNOD_HEX_LEN(SYNOD_CLUSTER_ID_BYTES)], head[128];
	size_t plen = 0;
	rc = synod_policy_canonical(&c->policy, policy, sizeof policy, &plen);
	if (rc != 0) {
		return synod_errf(errmsg, errmsg_len, rc, "cluster: the policy does not fit");
	}
	app_hex(hex, c->cluster_id, SYNOD_CLUSTER_ID_BYTES);
	struct synod_wbuf w;
	synod_wbuf_init(&w, (uint8_t *)out, cap > 0 ? cap - 1 : 0);
	int n = snprintf(head, sizeof head, "{\n  \"cluster_id\": \"%s\",\n  \"replicas\": [", hex);
	synod_wbuf_bytes(&w, head, (size_t)n);
	rc = cluster_format_members(&w, "replicas", c->replicas,
	                            (const uint8_t(*)[SYNOD_PUBKEY_BYTES])c->replica_keys,
	                            replica_names, "replica", errmsg, errmsg_len);
	if (rc == 0) {
		static const char mid[] = "\n  ],\n  \"seats\": [";
		synod_wbuf_bytes(&w, mid, sizeof mid - 1);
		rc = cluster_format_members(&w, "seats", c->policy.seats,
		                            (const uint8_t(*)[SYNOD_PUBKEY_BYTES])c->seat_keys,
		                            seat_names, "seat", errmsg, errmsg_len);
	}
	if (rc != 0) {
		return rc;
	}
	static const char tail[] = "\n  ],\n  \"policy\": ";
	synod_wbuf_bytes(&w, tail, sizeof tail - 1);
	synod_wbuf_bytes(&w, policy, plen);
	synod_wbuf_bytes(&w, "\n}\n", 3);
	if (w.err != 0) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ELIMIT,
		                  "cluster: the text does not fit in %zu bytes", cap);
	}
	out[w.len] = '\0';
	*len = w.len;
	return 0;
}

void synod_voter_set_hash(uint8_t out[SYNOD_HASH_BYTES], const struct synod_cluster *c,
                          uint64_t eligible)
{
	/* [{"pubkey":"<hex>","seat":N},...]: RFC 8785 canonical as written (keys
	 * sorted, no whitespace, hex needs no escaping) */
	struct synod_sha256 h;
	bool first = true;
	synod_sha256_init(&h);
	synod_sha256_update(&h, "[", 1);
	for (uint32_t s = 0; s < c->policy.seats && s < SYNOD_APP_SEATS_MAX; s++) {
		if ((eligible >> s & 1u) == 0) {
			continue;
		}
		char hex[SYNOD_HEX_LEN(SYNOD_PUBKEY_BYTES)];
		char item[160];
		app_hex(hex, c->seat_keys[s], SYNOD_PUBKEY_BYTES);
		int n = snprintf(item, sizeof item, "%s{\"pubkey\":\"%s\",\"seat\":%u}",
		                 first ? "" : ",", hex, s);
		SYNOD_ASSERT(n > 0 && (size_t)n < sizeof item);
		synod_sha256_update(&h, item, (size_t)n);
		first = false;
	}
	synod_sha256_update(&h, "]", 1);
	synod_sha256_final(&h, out);
}

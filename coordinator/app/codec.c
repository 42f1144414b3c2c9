/* Entries, requests and votes: decoding (strict, canonical, every field named
 * in errors) and encoding; small helpers shared by the app's files. */
#include "common/assert.h"
#include "common/hash.h"
#include "common/json.h"
#include "common/merkle.h"
#include "common/wire.h"
#include "coordinator/app/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fixed text around the signed "vote" object in a canonical envelope:
 * {"sig":"<86 base64url>","vote":{...}} */
#define VOTE_SIG_B64_CHARS 86u
#define VOTE_PREFIX_A      "{\"sig\":\""
#define VOTE_PREFIX_B      "\",\"vote\":"
#define VOTE_SIGNED_OFFSET                                                                         \
	(sizeof VOTE_PREFIX_A - 1u + VOTE_SIG_B64_CHARS + sizeof VOTE_PREFIX_B - 1u)

_Static_assert(SYNOD_BASE64URL_LEN(SYNOD_SIG_BYTES) == VOTE_SIG_B64_CHARS + 1u,
               "64 bytes are 86 base64url characters");

/* ---- helpers ---- */

int app_json_member(const struct json_object *obj, const char *key, enum json_type type,
                    struct json_object **out)
{
	struct json_object *v = NULL;
	if (!json_object_is_type(obj, json_type_object)) {
		return SYNOD_EJSON_TYPE;
	}
	if (!json_object_object_get_ex(obj, key, &v)) {
		return SYNOD_ENOTFOUND;
	}
	if (!json_object_is_type(v, type)) {
		return SYNOD_EJSON_TYPE;
	}
	*out = v;
	return 0;
}

bool app_json_keys_ok(const struct json_object *obj, const char *const allowed[], const char **bad)
{
	for (struct lh_entry *e = lh_table_head(json_object_get_object(obj)); e != NULL;
	     e = lh_entry_next(e)) {
		const char *name = lh_entry_k(e);
		bool ok = false;
		for (size_t i = 0; allowed[i] != NULL && !ok; i++) {
			ok = strcmp(allowed[i], name) == 0;
		}
		if (!ok) {
			*bad = name;
			return false;
		}
	}
	return true;
}

bool app_hex_lower_decode(uint8_t *out, size_t n, const char *s, size_t len)
{
	if (len != 2 * n) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return false;
		}
	}
	return synod_hex_decode(out, n, s, len) == 0;
}

bool app_ident_ok(const char *s, size_t len, size_t max)
{
	if (len == 0 || len > max) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' || c == ':' ||
		          c == '/' || c == '@' || c == '-';
		if (!ok) {
			return false;
		}
	}
	return true;
}

void app_hex(char *out, const uint8_t *p, size_t n)
{
	int rc = synod_hex_encode(out, 2 * n + 1, p, n);
	SYNOD_ASSERT(rc == 0);
}

uint32_t app_popcount(uint64_t x)
{
	uint32_t n = 0;
	while (x != 0) {
		x &= x - 1;
		n++;
	}
	return n;
}

uint64_t app_all_seats(uint32_t seats)
{
	SYNOD_ASSERT(seats <= 64);
	return seats == 64 ? UINT64_MAX : (UINT64_C(1) << seats) - 1;
}

void app_batch_limits(struct pbft_msg_limits *lim)
{
	pbft_msg_limits_max(lim);
}

int synod_app_pos_cmp(struct synod_app_pos a, struct synod_app_pos b)
{
	if (a.seq != b.seq) {
		return a.seq < b.seq ? -1 : 1;
	}
	if (a.index != b.index) {
		return a.index < b.index ? -1 : 1;
	}
	return 0;
}

/* ---- entries ---- */

int synod_entry_encode(uint8_t *out, size_t cap, size_t *len, enum synod_entry_kind kind,
                       const void *payload, size_t payload_len)
{
	*len = 0;
	if (payload_len >= SYNOD_APP_ENTRY_BYTES_MAX || cap < payload_len + 1) {
		return SYNOD_ELIMIT;
	}
	out[0] = (uint8_t)kind;
	if (payload_len > 0) {
		memcpy(out + 1, payload, payload_len);
	}
	*len = payload_len + 1;
	return 0;
}

void synod_entry_tick(uint8_t out[SYNOD_APP_TICK_BYTES], uint64_t log_time_ms)
{
	out[0] = SYNOD_ENTRY_TICK;
	for (uint32_t i = 0; i < 8; i++) {
		out[1 + i] = (uint8_t)(log_time_ms >> (56 - 8 * i));
	}
}

int synod_batch_merkle_root(uint8_t out[SYNOD_HASH_BYTES], const uint8_t *batch, size_t len)
{
	struct pbft_msg_limits lim;
	struct pbft_batch_iter it;
	app_batch_limits(&lim);
	if (pbft_batch_iter_init(&it, batch, len, &lim) != 0) {
		return SYNOD_EINVAL;
	}
	/* One implementation: the digest PBFT's COMMITs sign is this root. */
	pbft_batch_digest(out, batch, len);
	return 0;
}

/* ---- requests ---- */

static const char *const request_keys[] = {"artifacts", "deadline_ms", "policy",
                                           "submitter", "system",      NULL};
static const char *const system_keys[] = {"id", "version", NULL};
static const char *const artifact_keys[] = {"name", "sha256", NULL};

static int request_field_err(char *errmsg, size_t errmsg_len, const char *field, int rc,
                             const char *what)
{
	return synod_errf(errmsg, errmsg_len, rc == 0 ? SYNOD_EINVAL : rc,
	                  "request: field \"%s\": %s", field, what);
}

/* A required member: "missing" or "expected <type>" errors name it. */
static int request_member(const struct json_object *obj, const char *key, const char *field,
                          enum json_type type, const char *type_name, struct json_object **out,
                          char *errmsg, size_t errmsg_len)
{
	int rc = app_json_member(obj, key, type, out);
	if (rc == SYNOD_ENOTFOUND) {
		return request_field_err(errmsg, errmsg_len, field, SYNOD_EINVAL, "missing");
	}
	if (rc != 0) {
		char what[64];
		snprintf(what, sizeof what, "expected %s", type_name);
		return request_field_err(errmsg, errmsg_len, field, SYNOD_EINVAL, what);
	}
	return 0;
}

static int request_keys_check(const struct json_object *obj, const char *const allowed[],
                              const char *where, char *errmsg, size_t errmsg_len)
{
	const char *bad = NULL;
	if (!app_json_keys_ok(obj, allowed, &bad)) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EINVAL,
		                  "request: field \"%s%s%.64s\": unknown field", where,
		                  where[0] != '\0' ? "." : "", bad);
	}
	return 0;
}

static int request_ident(const struct json_object *obj, const char *key, const char *field,
                         char *out, char *errmsg, size_t errmsg_len)
{
	struct json_object *v = NULL;
	int rc =
	    request_member(obj, key, field, json_type_string, "a string", &v, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	const char *s = json_object_get_string(v);
	size_t len = (size_t)json_object_get_string_len(v);
	if (!app_ident_ok(s, len, SYNOD_APP_ID_BYTES_MAX)) {
		char what[96];
		snprintf(what, sizeof what, "expected 1..%u characters of [A-Za-z0-9._+:/@-]",
		         SYNOD_APP_ID_BYTES_MAX);
		return request_field_err(errmsg, errmsg_len, field, SYNOD_EINVAL, what);
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

static bool artifact_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > SYNOD_APP_ARTIFACT_NAME_BYTES_MAX) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f) {
			return false;
		}
	}
	return true; /* UTF-8 validity is the parser's */
}

static int request_artifact(const struct json_object *a, uint32_t i, struct synod_artifact *out,
                            char *errmsg, size_t errmsg_len)
{
	char field[64];
	snprintf(field, sizeof field, "artifacts[%u]", i);
	if (!json_object_is_type(a, json_type_object)) {
		return request_field_err(errmsg, errmsg_len, field, SYNOD_EINVAL,
		                         "expected an object");
	}
	int rc = request_keys_check(a, artifact_keys, field, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	struct json_object *v = NULL;
	snprintf(field, sizeof field, "artifacts[%u].name", i);
	rc = request_member(a, "name", field, json_type_string, "a string", &v, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	const char *s = json_object_get_string(v);
	size_t len = (size_t)json_object_get_string_len(v);
	if (!artifact_name_ok(s, len)) {
		return request_field_err(errmsg, errmsg_len, field, SYNOD_EINVAL,
		                         "expected 1..128 bytes without control characters");
	}
	memcpy(out->name, s, len);
	out->name[len] = '\0';
	snprintf(field, sizeof field, "artifacts[%u].sha256", i);
	rc = request_member(a, "sha256", field, json_type_string, "a string", &v, errmsg,
	                    errmsg_len);
	if (rc != 0) {
		return rc;
	}
	if (!app_hex_lower_decode(out->sha256, SYNOD_HASH_BYTES, json_object_get_string(v),
	                          (size_t)json_object_get_string_len(v))) {
		return request_field_err(errmsg, errmsg_len, field, SYNOD_EINVAL,
		                         "expected 64 lowercase hex characters");
	}
	return 0;
}

static int request_artifacts(const struct json_object *root, struct synod_request *out,
                             char *errmsg, size_t errmsg_len)
{
	struct json_object *arr;
	int rc = request_member(root, "artifacts", "artifacts", json_type_array, "an array", &arr,
	                        errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	size_t n = json_object_array_length(arr);
	if (n == 0 || n > SYNOD_APP_ARTIFACTS_MAX) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EINVAL,
		                  "request: field \"artifacts\": expected 1..%u artifacts, got %zu",
		                  SYNOD_APP_ARTIFACTS_MAX, n);
	}
	for (uint32_t i = 0; i < (uint32_t)n; i++) {
		rc = request_artifact(json_object_array_get_idx(arr, i), i, &out->artifacts[i],
		                      errmsg, errmsg_len);
		if (rc != 0) {
			return rc;
		}
		for (uint32_t j = 0; j < i; j++) {
			if (strcmp(out->artifacts[j].name, out->artifacts[i].name) == 0) {
				return synod_errf(errmsg, errmsg_len, SYNOD_EINVAL,
				                  "request: field \"artifacts[%u].name\": repeats "
				                  "artifacts[%u].name",
				                  i, j);
			}
		}
	}
	out->artifact_count = (uint32_t)n;
	return 0;
}

static int request_fields(const struct json_object *root, struct synod_request *out, char *errmsg,
                          size_t errmsg_len)
{
	if (!json_object_is_type(root, json_type_object)) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EINVAL,
		                  "request: expected a JSON object, got %s",
		                  synod_json_type_name(root));
	}
	int rc = request_keys_check(root, request_keys, "", errmsg, errmsg_len);
	struct json_object *sys = NULL;
	struct json_object *v = NULL;
	if (rc == 0) {
		rc = request_member(root, "system", "system", json_type_object, "an object", &sys,
		                    errmsg, errmsg_len);
	}
	if (rc == 0) {
		rc = request_keys_check(sys, system_keys, "system", errmsg, errmsg_len);
	}
	if (rc == 0) {
		rc = request_ident(sys, "id", "system.id", out->system_id, errmsg, errmsg_len);
	}
	if (rc == 0) {
		rc = request_ident(sys, "version", "system.version", out->system_version, errmsg,
		                   errmsg_len);
	}
	if (rc == 0) {
		rc = request_artifacts(root, out, errmsg, errmsg_len);
	}
	if (rc == 0) {
		rc = request_ident(root, "policy", "policy", out->policy, errmsg, errmsg_len);
	}
	if (rc == 0) {
		rc = request_ident(root, "submitter", "submitter", out->submitter, errmsg,
		                   errmsg_len);
	}
	if (rc == 0) {
		rc = request_member(root, "deadline_ms", "deadline_ms", json_type_int, "an integer",
		                    &v, errmsg, errmsg_len);
	}
	if (rc == 0) {
		int64_t d = json_object_get_int64(v);
		if (d < 1) {
			return request_field_err(errmsg, errmsg_len, "deadline_ms", SYNOD_EINVAL,
			                         "expected a positive integer (log time in ms)");
		}
		out->deadline_ms = (uint64_t)d;
	}
	return rc;
}

int synod_request_decode(struct synod_request *out, uint8_t id[SYNOD_HASH_BYTES], const char *buf,
                         size_t len, char *errmsg, size_t errmsg_len)
{
	if (len > SYNOD_APP_REQUEST_BYTES_MAX) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ELIMIT,
		                  "request: %zu bytes, more than %u", len,
		                  SYNOD_APP_REQUEST_BYTES_MAX);
	}
	struct json_object *root = NULL;
	char jerr[SYNOD_JSON_ERRMSG_BYTES] = "";
	int rc = synod_json_parse_canonical(&root, buf, len, jerr, sizeof jerr);
	if (rc != 0) {
		return synod_errf(errmsg, errmsg_len, rc, "request: %s", jerr);
	}
	memset(out, 0, sizeof *out);
	rc = request_fields(root, out, errmsg, errmsg_len);
	json_object_put(root);
	if (rc == 0 && id != NULL) {
		synod_sha256(id, buf, len);
	}
	return rc;
}

static struct json_object *request_json_string(const char *s)
{
	return json_object_new_string_len(s,
	                                  (int)strnlen(s, SYNOD_APP_ARTIFACT_NAME_BYTES_MAX + 1));
}

static struct json_object *request_to_json(const struct synod_request *r)
{
	struct json_object *root = json_object_new_object();
	struct json_object *sys = json_object_new_object();
	struct json_object *arts = json_object_new_array();
	if (root == NULL || sys == NULL || arts == NULL) {
		json_object_put(root);
		json_object_put(sys);
		json_object_put(arts);
		return NULL;
	}
	json_object_object_add(sys, "id", request_json_string(r->system_id));
	json_object_object_add(sys, "version", request_json_string(r->system_version));
	json_object_object_add(root, "system", sys);
	uint32_t n = r->artifact_count <= SYNOD_APP_ARTIFACTS_MAX ? r->artifact_count : 0;
	for (uint32_t i = 0; i < n; i++) {
		char hex[SYNOD_HEX_LEN(SYNOD_HASH_BYTES)];
		app_hex(hex, r->artifacts[i].sha256, SYNOD_HASH_BYTES);
		struct json_object *a = json_object_new_object();
		if (a == NULL) {
			json_object_put(arts);
			json_object_put(root);
			return NULL;
		}
		json_object_object_add(a, "name", request_json_string(r->artifacts[i].name));
		json_object_object_add(a, "sha256", json_object_new_string(hex));
		json_object_array_add(arts, a);
	}
	json_object_object_add(root, "artifacts", arts);
	json_object_object_add(root, "policy", request_json_string(r->policy));
	json_object_object_add(root, "submitter", request_json_string(r->submitter));
	json_object_object_add(root, "deadline_ms", json_object_new_int64((int64_t)r->deadline_ms));
	return root;
}

int synod_request_encode(const struct synod_request *r, char **out, size_t *len,
                         uint8_t id[SYNOD_HASH_BYTES], char *errmsg, size_t errmsg_len)
{
	*out = NULL;
	*len = 0;
	if (r->deadline_ms > (uint64_t)SYNOD_JSON_SAFE_INT_MAX) {
		return request_field_err(errmsg, errmsg_len, "deadline_ms", SYNOD_EINVAL,
		                         "above 2^53-1");
	}
	struct json_object *root = request_to_json(r);
	if (root == NULL) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ENOMEM, "request: out of memory");
	}
	char *text = NULL;
	size_t text_len = 0;
	int rc = synod_json_canonical_signed(root, &text, &text_len);
	json_object_put(root);
	if (rc != 0) {
		return synod_errf(errmsg, errmsg_len, rc, "request: %s", synod_strerror(rc));
	}
	/* the decoder is the one definition of a valid request */
	struct synod_request *check = malloc(sizeof *check);
	if (check == NULL) {
		free(text);
		return synod_errf(errmsg, errmsg_len, SYNOD_ENOMEM, "request: out of memory");
	}
	rc = synod_request_decode(check, id, text, text_len, errmsg, errmsg_len);
	free(check);
	if (rc != 0) {
		free(text);
		return rc;
	}
	*out = text;
	*len = text_len;
	return 0;
}

/* ---- votes ---- */

static const char *const envelope_keys[] = {"sig", "vote", NULL};
static const char *const vote_keys[] = {"cluster_id", "epoch", "plugin",  "reason_digest",
                                        "request_id", "seat",  "verdict", NULL};
static const char *const plugin_keys[] = {"name", "version", NULL};

static int vote_field_err(char *errmsg, size_t errmsg_len, const char *field, const char *what)
{
	return synod_errf(errmsg, errmsg_len, SYNOD_EINVAL, "vote: field \"%s\": %s", field, what);
}

static int vote_member(const struct json_object *obj, const char *key, const char *field,
                       enum json_type type, const char *type_name, struct json_object **out,
                       char *errmsg, size_t errmsg_len)
{
	int rc = app_json_member(obj, key, type, out);
	if (rc == SYNOD_ENOTFOUND) {
		return vote_field_err(errmsg, errmsg_len, field, "missing");
	}
	if (rc != 0) {
		char what[64];
		snprintf(what, sizeof what, "expected %s", type_name);
		return vote_field_err(errmsg, errmsg_len, field, what);
	}
	return 0;
}

static int vote_hex(const struct json_object *obj, const char *key, const char *field,
                    uint8_t out[SYNOD_HASH_BYTES], char *errmsg, size_t errmsg_len)
{
	struct json_object *v = NULL;
	int rc = vote_member(obj, key, field, json_type_string, "a string", &v, errmsg, errmsg_len);
	if (rc == 0 && !app_hex_lower_decode(out, SYNOD_HASH_BYTES, json_object_get_string(v),
	                                     (size_t)json_object_get_string_len(v))) {
		rc = vote_field_err(errmsg, errmsg_len, field,
		                    "expected 64 lowercase hex characters");
	}
	return rc;
}

static int vote_plugin(const struct json_object *vote, struct synod_vote *out, char *errmsg,
                       size_t errmsg_len)
{
	struct json_object *plugin;
	struct json_object *v = NULL;
	const char *bad = NULL;
	int rc = vote_member(vote, "plugin", "vote.plugin", json_type_object, "an object", &plugin,
	                     errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	if (!app_json_keys_ok(plugin, plugin_keys, &bad)) {
		char field[96];
		snprintf(field, sizeof field, "vote.plugin.%.64s", bad);
		return vote_field_err(errmsg, errmsg_len, field, "unknown field");
	}
	static const struct {
		const char *key;
		const char *field;
		size_t max;
		size_t off;
	} strs[] = {
	    {"name", "vote.plugin.name", SYNOD_APP_PLUGIN_NAME_BYTES_MAX,
	     offsetof(struct synod_vote, plugin_name)},
	    {"version", "vote.plugin.version", SYNOD_APP_PLUGIN_VERSION_BYTES_MAX,
	     offsetof(struct synod_vote, plugin_version)},
	};
	for (size_t i = 0; i < 2; i++) {
		rc = vote_member(plugin, strs[i].key, strs[i].field, json_type_string, "a string",
		                 &v, errmsg, errmsg_len);
		if (rc != 0) {
			return rc;
		}
		const char *s = json_object_get_string(v);
		size_t len = (size_t)json_object_get_string_len(v);
		if (!app_ident_ok(s, len, strs[i].max)) {
			char what[96];
			snprintf(what, sizeof what,
			         "expected 1..%zu characters of [A-Za-z0-9._+:/@-]", strs[i].max);
			return vote_field_err(errmsg, errmsg_len, strs[i].field, what);
		}
		char *dst = (char *)out + strs[i].off;
		memcpy(dst, s, len);
		dst[len] = '\0';
	}
	return 0;
}

static int vote_numbers(const struct json_object *vote, struct synod_vote *out, char *errmsg,
                        size_t errmsg_len)
{
	struct json_object *v = NULL;
	int rc = vote_member(vote, "epoch", "vote.epoch", json_type_int, "an integer", &v, errmsg,
	                     errmsg_len);
	if (rc != 0) {
		return rc;
	}
	int64_t e = json_object_get_int64(v);
	if (e < 0) {
		return vote_field_err(errmsg, errmsg_len, "vote.epoch", "negative");
	}
	out->epoch = (uint64_t)e;
	rc = vote_member(vote, "seat", "vote.seat", json_type_int, "an integer", &v, errmsg,
	                 errmsg_len);
	if (rc != 0) {
		return rc;
	}
	int64_t s = json_object_get_int64(v);
	if (s < 0 || s > (int64_t)SYNOD_APP_SEAT_NUMBER_MAX) {
		return vote_field_err(errmsg, errmsg_len, "vote.seat", "expected 0..65535");
	}
	out->seat = (uint32_t)s;
	rc = vote_member(vote, "verdict", "vote.verdict", json_type_string, "a string", &v, errmsg,
	                 errmsg_len);
	if (rc != 0) {
		return rc;
	}
	const char *verdict = json_object_get_string(v);
	size_t vlen = (size_t)json_object_get_string_len(v);
	if (vlen == 7 && memcmp(verdict, "APPROVE", 7) == 0) {
		out->verdict = SYNOD_VERDICT_APPROVE;
	} else if (vlen == 6 && memcmp(verdict, "REJECT", 6) == 0) {
		out->verdict = SYNOD_VERDICT_REJECT;
	} else {
		return vote_field_err(errmsg, errmsg_len, "vote.verdict",
		                      "expected \"APPROVE\" or \"REJECT\"");
	}
	return 0;
}

static int vote_fields(const struct json_object *root, struct synod_vote_envelope *out,
                       char *errmsg, size_t errmsg_len)
{
	const char *bad = NULL;
	struct json_object *sig;
	struct json_object *vote;
	if (!json_object_is_type(root, json_type_object)) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EINVAL,
		                  "vote: expected a JSON object, got %s",
		                  synod_json_type_name(root));
	}
	if (!app_json_keys_ok(root, envelope_keys, &bad)) {
		char field[80];
		snprintf(field, sizeof field, "%.64s", bad);
		return vote_field_err(errmsg, errmsg_len, field, "unknown field");
	}
	int rc =
	    vote_member(root, "sig", "sig", json_type_string, "a string", &sig, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	size_t got = 0;
	if (synod_base64url_decode(out->sig, sizeof out->sig, &got, json_object_get_string(sig),
	                           (size_t)json_object_get_string_len(sig)) != 0 ||
	    got != SYNOD_SIG_BYTES) {
		return vote_field_err(errmsg, errmsg_len, "sig",
		                      "expected 64 bytes in unpadded base64url");
	}
	rc = vote_member(root, "vote", "vote", json_type_object, "an object", &vote, errmsg,
	                 errmsg_len);
	if (rc != 0) {
		return rc;
	}
	if (!app_json_keys_ok(vote, vote_keys, &bad)) {
		char field[80];
		snprintf(field, sizeof field, "vote.%.64s", bad);
		return vote_field_err(errmsg, errmsg_len, field, "unknown field");
	}
	struct synod_vote *v = &out->vote;
	rc = vote_hex(vote, "cluster_id", "vote.cluster_id", v->cluster_id, errmsg, errmsg_len);
	if (rc == 0) {
		rc = vote_hex(vote, "request_id", "vote.request_id", v->request_id, errmsg,
		              errmsg_len);
	}
	if (rc == 0) {
		rc = vote_hex(vote, "reason_digest", "vote.reason_digest", v->reason_digest, errmsg,
		              errmsg_len);
	}
	if (rc == 0) {
		rc = vote_numbers(vote, v, errmsg, errmsg_len);
	}
	if (rc == 0) {
		rc = vote_plugin(vote, v, errmsg, errmsg_len);
	}
	return rc;
}

/* In a canonical envelope the signed object is the text between the fixed
 * prefix and the final '}'. */
static int vote_signed_span(struct synod_vote_envelope *out, const char *buf, size_t len)
{
	if (len < VOTE_SIGNED_OFFSET + 3 ||
	    memcmp(buf, VOTE_PREFIX_A, sizeof VOTE_PREFIX_A - 1) != 0 ||
	    memcmp(buf + sizeof VOTE_PREFIX_A - 1 + VOTE_SIG_B64_CHARS, VOTE_PREFIX_B,
	           sizeof VOTE_PREFIX_B - 1) != 0 ||
	    buf[VOTE_SIGNED_OFFSET] != '{' || buf[len - 1] != '}') {
		return SYNOD_EINVAL;
	}
	out->signed_offset = VOTE_SIGNED_OFFSET;
	out->signed_len = len - 1 - VOTE_SIGNED_OFFSET;
	return 0;
}

int synod_vote_decode(struct synod_vote_envelope *out, const char *buf, size_t len, char *errmsg,
                      size_t errmsg_len)
{
	if (len > SYNOD_APP_VOTE_BYTES_MAX) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ELIMIT, "vote: %zu bytes, more than %u",
		                  len, SYNOD_APP_VOTE_BYTES_MAX);
	}
	struct json_object *root = NULL;
	char jerr[SYNOD_JSON_ERRMSG_BYTES] = "";
	int rc = synod_json_parse_canonical(&root, buf, len, jerr, sizeof jerr);
	if (rc != 0) {
		return synod_errf(errmsg, errmsg_len, rc, "vote: %s", jerr);
	}
	memset(out, 0, sizeof *out);
	rc = vote_fields(root, out, errmsg, errmsg_len);
	json_object_put(root);
	if (rc == 0 && vote_signed_span(out, buf, len) != 0) {
		rc = synod_errf(errmsg, errmsg_len, SYNOD_EINVAL,
		                "vote: unexpected envelope layout");
	}
	return rc;
}

int synod_vote_encode(const struct synod_vote *v, char *out, size_t cap, size_t *len, char *errmsg,
                      size_t errmsg_len)
{
	*len = 0;
	size_t nlen = strnlen(v->plugin_name, sizeof v->plugin_name);
	size_t vlen = strnlen(v->plugin_version, sizeof v->plugin_version);
	if (!app_ident_ok(v->plugin_name, nlen, SYNOD_APP_PLUGIN_NAME_BYTES_MAX)) {
		return vote_field_err(errmsg, errmsg_len, "vote.plugin.name",
		                      "expected 1..64 characters of [A-Za-z0-9._+:/@-]");
	}
	if (!app_ident_ok(v->plugin_version, vlen, SYNOD_APP_PLUGIN_VERSION_BYTES_MAX)) {
		return vote_field_err(errmsg, errmsg_len, "vote.plugin.version",
		                      "expected 1..32 characters of [A-Za-z0-9._+:/@-]");
	}
	if (v->epoch > (uint64_t)SYNOD_JSON_SAFE_INT_MAX) {
		return vote_field_err(errmsg, errmsg_len, "vote.epoch", "above 2^53-1");
	}
	if (v->seat > SYNOD_APP_SEAT_NUMBER_MAX) {
		return vote_field_err(errmsg, errmsg_len, "vote.seat", "expected 0..65535");
	}
	if (v->verdict != SYNOD_VERDICT_APPROVE && v->verdict != SYNOD_VERDICT_REJECT) {
		return vote_field_err(errmsg, errmsg_len, "vote.verdict",
		                      "expected APPROVE or REJECT");
	}
	char cluster[SYNOD_HEX_LEN(32)], request[SYNOD_HEX_LEN(32)], reason[SYNOD_HEX_LEN(32)];
	app_hex(cluster, v->cluster_id, 32);
	app_hex(request, v->request_id, 32);
	app_hex(reason, v->reason_digest, 32);
	/* keys in RFC 8785 order; every string is hex or a restricted identifier,
	 * so nothing needs escaping and this is the canonical form */
	int n = snprintf(out, cap,
	                 "{\"cluster_id\":\"%s\",\"epoch\":%llu,\"plugin\":{\"name\":\"%s\","
	                 "\"version\":\"%s\"},\"reason_digest\":\"%s\",\"request_id\":\"%s\","
	                 "\"seat\":%u,\"verdict\":\"%s\"}",
	                 cluster, (unsigned long long)v->epoch, v->plugin_name, v->plugin_version,
	                 reason, request, v->seat,
	                 v->verdict == SYNOD_VERDICT_APPROVE ? "APPROVE" : "REJECT");
	if (n < 0 || (size_t)n >= cap) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ELIMIT,
		                  "vote: output buffer too small");
	}
	*len = (size_t)n;
	return 0;
}

int synod_vote_envelope_encode(char *out, size_t cap, size_t *len, const char *vote,
                               size_t vote_len, const uint8_t sig[SYNOD_SIG_BYTES])
{
	char b64[SYNOD_BASE64URL_LEN(SYNOD_SIG_BYTES)];
	*len = 0;
	int rc = synod_base64url_encode(b64, sizeof b64, sig, SYNOD_SIG_BYTES);
	SYNOD_ASSERT(rc == 0);
	size_t need = VOTE_SIGNED_OFFSET + vote_len + 2;
	if (cap < need || vote_len > INT32_MAX) {
		return SYNOD_ELIMIT;
	}
	int n = snprintf(out, cap, "%s%s%s%.*s}", VOTE_PREFIX_A, b64, VOTE_PREFIX_B, (int)vote_len,
	                 vote);
	SYNOD_ASSERT(n > 0 && (size_t)n + 1 == need);
	*len = (size_t)n;
	return 0;
}

int synod_vote_sign(struct synod_signer *s, const struct synod_vote *v, char *out, size_t cap,
                    size_t *len, char *errmsg, size_t errmsg_len)
{
	char msg[SYNOD_APP_VOTE_BYTES_MAX];
	size_t msg_len = 0;
	uint8_t sig[SYNOD_SIG_BYTES];
	*len = 0;
	int rc = synod_vote_encode(v, msg, sizeof msg, &msg_len, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	rc =
	    synod_signer_sign(s, sig, SYNOD_TAG_VOTE, v->cluster_id, (const uint8_t *)msg, msg_len);
	if (rc != 0) {
		return synod_errf(errmsg, errmsg_len, rc, "vote: signing failed: %s",
		                  synod_signer_errmsg(s));
	}
	rc = synod_vote_envelope_encode(out, cap, len, msg, msg_len, sig);
	if (rc != 0) {
		return synod_errf(errmsg, errmsg_len, rc, "vote: output buffer too small");
	}
	return 0;
}

int synod_vote_verify(const struct synod_vote_envelope *env, const char *buf,
                      const uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES],
                      const uint8_t pk[SYNOD_PUBKEY_BYTES])
{
	int rc = synod_sig_verify(env->sig, SYNOD_TAG_VOTE, cluster_id,
	                          (const uint8_t *)buf + env->signed_offset, env->signed_len, pk);
	return rc == 0 ? 0 : SYNOD_EBADSIG;
}

int app_vote_sig_check(const struct synod_vote_crypto *crypto, const uint8_t *cluster_id,
                       const struct synod_vote_envelope *env, const char *buf, const uint8_t *pk)
{
	if (crypto != NULL && crypto->verify != NULL) {
		return crypto->verify(crypto->ctx, env->sig,
		                      (const uint8_t *)buf + env->signed_offset, env->signed_len,
		                      pk) == 0
		           ? 0
		           : SYNOD_EBADSIG;
	}
	return synod_vote_verify(env, buf, cluster_id, pk);
}

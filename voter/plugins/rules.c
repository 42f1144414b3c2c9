/* rules: checks a request against a rules policy (policies/rules-*.json).
 *
 * Policy (format "synod.rules.v1"; every section optional, unknown keys
 * refused):
 *   {"format":"synod.rules.v1","name":"rules-baseline",
 *    "model_card":{"required":["intended_use",...]},
 *    "evaluations":{"minimum_score_milli":{"toxicity":900,...}},
 *    "capabilities":{"forbidden":["social-scoring",...]},
 *    "artifacts":{"sha256_well_formed":true}}
 * Request fields read (proposed additions to the request format, see
 * voter/README.md): "model_card" {name: string}, "evaluations"
 * [{"name","score_milli"}], "capabilities" [string]; and "artifacts".
 *
 * Verdict: APPROVE when every rule passes, else REJECT. Reason:
 *   {"failed":[{"rule":...,"field":...,"problem":...},...],"policy":NAME,
 *    "rules_checked":N}
 * with "truncated":true when the failures did not all fit. A malformed policy
 * is an error (no verdict), never a rejection: the request is not at fault. */
#include "voter/plugin.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define RULES_FORMAT "synod.rules.v1"
/* Items any one list may hold, in the policy or the request. */
#define RULES_ITEMS_MAX 64u

struct rules_eval {
	struct json_object *request;
	struct json_object *failed; /* array */
	unsigned checked;
};

static void rules_fail(struct rules_eval *e, const char *rule, const char *field,
                       const char *problem)
{
	struct json_object *f = json_object_new_object();
	json_object_object_add(f, "rule", json_object_new_string(rule));
	json_object_object_add(f, "field", json_object_new_string(field));
	json_object_object_add(f, "problem", json_object_new_string(problem));
	json_object_array_add(e->failed, f);
}

static struct json_object *rules_get(struct json_object *o, const char *key, json_type t)
{
	struct json_object *v = NULL;
	if (o == NULL || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, t)) {
		return NULL;
	}
	return v;
}

static int rules_model_card(struct rules_eval *e, struct json_object *sec, char *err, size_t n)
{
	struct json_object *req = rules_get(sec, "required", json_type_array);
	if (req == NULL || json_object_object_length(sec) != 1 ||
	    json_object_array_length(req) > RULES_ITEMS_MAX) {
		snprintf(err, n, "policy: model_card must be {\"required\":[<= %u names]}",
		         RULES_ITEMS_MAX);
		return -1;
	}
	struct json_object *card = rules_get(e->request, "model_card", json_type_object);
	for (size_t i = 0; i < json_object_array_length(req); i++) {
		struct json_object *name = json_object_array_get_idx(req, i);
		if (!json_object_is_type(name, json_type_string)) {
			snprintf(err, n, "policy: model_card.required[%zu] is not a string", i);
			return -1;
		}
		const char *k = json_object_get_string(name);
		struct json_object *v = rules_get(card, k, json_type_string);
		e->checked++;
		if (v == NULL || json_object_get_string_len(v) == 0) {
			rules_fail(e, "model_card.required", k, v == NULL ? "missing" : "empty");
		}
	}
	return 0;
}

/* The request's score for name, or -1 when it has none. */
static int64_t rules_score(struct json_object *evals, const char *name)
{
	for (size_t i = 0; evals != NULL && i < json_object_array_length(evals); i++) {
		struct json_object *ev = json_object_array_get_idx(evals, i);
		struct json_object *nm = rules_get(ev, "name", json_type_string);
		struct json_object *sc = rules_get(ev, "score_milli", json_type_int);
		if (nm != NULL && sc != NULL && strcmp(json_object_get_string(nm), name) == 0) {
			return json_object_get_int64(sc);
		}
	}
	return -1;
}

static int rules_evaluations(struct rules_eval *e, struct json_object *sec, char *err, size_t n)
{
	struct json_object *mins = rules_get(sec, "minimum_score_milli", json_type_object);
	if (mins == NULL || json_object_object_length(sec) != 1 ||
	    json_object_object_length(mins) > (int)RULES_ITEMS_MAX) {
		snprintf(err, n,
		         "policy: evaluations must be {\"minimum_score_milli\":{name:int}}");
		return -1;
	}
	struct json_object *evals = rules_get(e->request, "evaluations", json_type_array);
	json_object_object_foreach(mins, name, minv)
	{
		if (!json_object_is_type(minv, json_type_int)) {
			snprintf(err, n, "policy: minimum_score_milli.%s is not an integer", name);
			return -1;
		}
		int64_t min = json_object_get_int64(minv);
		int64_t got = rules_score(evals, name);
		char problem[96];
		e->checked++;
		if (got < 0) {
			rules_fail(e, "evaluations.minimum_score_milli", name, "missing");
		} else if (got < min) {
			snprintf(problem, sizeof problem, "score_milli %lld below %lld",
			         (long long)got, (long long)min);
			rules_fail(e, "evaluations.minimum_score_milli", name, problem);
		}
	}
	return 0;
}

static int rules_capabilities(struct rules_eval *e, struct json_object *sec, char *err, size_t n)
{
	struct json_object *forb = rules_get(sec, "forbidden", json_type_array);
	if (forb == NULL || json_object_object_length(sec) != 1 ||
	    json_object_array_length(forb) > RULES_ITEMS_MAX) {
		snprintf(err, n, "policy: capabilities must be {\"forbidden\":[<= %u names]}",
		         RULES_ITEMS_MAX);
		return -1;
	}
	struct json_object *caps = rules_get(e->request, "capabilities", json_type_array);
	for (size_t i = 0; i < json_object_array_length(forb); i++) {
		struct json_object *f = json_object_array_get_idx(forb, i);
		if (!json_object_is_type(f, json_type_string)) {
			snprintf(err, n, "policy: capabilities.forbidden[%zu] is not a string", i);
			return -1;
		}
		e->checked++;
		for (size_t j = 0; caps != NULL && j < json_object_array_length(caps); j++) {
			struct json_object *c = json_object_array_get_idx(caps, j);
			if (json_object_is_type(c, json_type_string) &&
			    strcmp(json_object_get_string(c), json_object_get_string(f)) == 0) {
				rules_fail(e, "capabilities.forbidden", json_object_get_string(f),
				           "declared");
			}
		}
	}
	return 0;
}

static bool rules_hex64(const char *s)
{
	if (s == NULL || strlen(s) != 64) {
		return false;
	}
	for (size_t i = 0; i < 64; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
			return false;
		}
	}
	return true;
}

static int rules_artifacts(struct rules_eval *e, struct json_object *sec, char *err, size_t n)
{
	struct json_object *wf = rules_get(sec, "sha256_well_formed", json_type_boolean);
	if (wf == NULL || json_object_object_length(sec) != 1) {
		snprintf(err, n, "policy: artifacts must be {\"sha256_well_formed\":bool}");
		return -1;
	}
	if (!json_object_get_boolean(wf)) {
		return 0;
	}
	struct json_object *arts = rules_get(e->request, "artifacts", json_type_array);
	e->checked++;
	if (arts == NULL || json_object_array_length(arts) == 0) {
		rules_fail(e, "artifacts.sha256_well_formed", "artifacts", "missing");
		return 0;
	}
	for (size_t i = 0; i < json_object_array_length(arts); i++) {
		struct json_object *h =
		    rules_get(json_object_array_get_idx(arts, i), "sha256", json_type_string);
		if (h == NULL || !rules_hex64(json_object_get_string(h))) {
			char field[48];
			snprintf(field, sizeof field, "artifacts[%zu].sha256", i);
			rules_fail(e, "artifacts.sha256_well_formed", field,
			           "not 64 lowercase hex characters");
		}
	}
	return 0;
}

typedef int (*rules_section_fn)(struct rules_eval *, struct json_object *, char *, size_t);

static const struct {
	const char *key;
	rules_section_fn fn;
} rules_sections[] = {
    {"model_card", rules_model_card},
    {"evaluations", rules_evaluations},
    {"capabilities", rules_capabilities},
    {"artifacts", rules_artifacts},
};
#define RULES_SECTIONS (sizeof rules_sections / sizeof rules_sections[0])

/* Runs every section of the policy; unknown keys are an error. */
static int rules_run(struct rules_eval *e, struct json_object *policy, char *err, size_t n)
{
	struct json_object *fmt = rules_get(policy, "format", json_type_string);
	struct json_object *name = rules_get(policy, "name", json_type_string);
	if (fmt == NULL || strcmp(json_object_get_string(fmt), RULES_FORMAT) != 0 || name == NULL) {
		snprintf(err, n, "policy: \"format\" must be \"%s\" and \"name\" a string",
		         RULES_FORMAT);
		return -1;
	}
	json_object_object_foreach(policy, key, val)
	{
		bool known = strcmp(key, "format") == 0 || strcmp(key, "name") == 0;
		for (size_t i = 0; i < RULES_SECTIONS && !known; i++) {
			if (strcmp(key, rules_sections[i].key) == 0) {
				known = true;
				if (!json_object_is_type(val, json_type_object) ||
				    rules_sections[i].fn(e, val, err, n) != 0) {
					if (!json_object_is_type(val, json_type_object)) {
						snprintf(err, n, "policy: %s is not an object",
						         key);
					}
					return -1;
				}
			}
		}
		if (!known) {
			snprintf(err, n, "policy: unknown key \"%.64s\"", key);
			return -1;
		}
	}
	return 0;
}

/* Writes the reason, dropping failures from the end until it fits. */
static int rules_reason(struct rules_eval *e, const char *policy_name, char *out, size_t cap,
                        size_t *len)
{
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "failed", json_object_get(e->failed));
	json_object_object_add(r, "policy", json_object_new_string(policy_name));
	json_object_object_add(r, "rules_checked", json_object_new_int64(e->checked));
	for (;;) {
		const char *s = json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN);
		size_t n = strlen(s);
		if (n <= cap) {
			memcpy(out, s, n);
			*len = n;
			json_object_put(r);
			return 0;
		}
		size_t count = json_object_array_length(e->failed);
		if (count == 0) {
			json_object_put(r);
			return -1;
		}
		json_object_array_del_idx(e->failed, count - 1, 1);
		json_object_object_add(r, "truncated", json_object_new_boolean(1));
	}
}

static int rules_init(void **state, const char *config, size_t config_len, char *errmsg,
                      size_t errmsg_len)
{
	struct json_object *c = json_tokener_parse(config);
	bool ok = c != NULL && json_object_is_type(c, json_type_object) &&
	          json_object_object_length(c) == 0;
	json_object_put(c);
	*state = NULL;
	if (!ok) {
		snprintf(errmsg, errmsg_len, "rules: config must be {} (the rules are the policy)");
		return -1;
	}
	return 0;
}

static int rules_evaluate(void *state, const char *request, size_t request_len, const char *policy,
                          size_t policy_len, int *verdict, char *reason, size_t reason_cap,
                          size_t *reason_len)
{
	struct json_object *req = json_tokener_parse(request);
	struct json_object *pol = json_tokener_parse(policy);
	struct rules_eval e = {.request = req, .failed = json_object_new_array(), .checked = 0};
	int rc = -1;
	if (!json_object_is_type(req, json_type_object) ||
	    !json_object_is_type(pol, json_type_object)) {
		snprintf(reason, reason_cap, "rules: request and policy must be JSON objects");
	} else if (rules_run(&e, pol, reason, reason_cap) == 0) {
		const char *name = json_object_get_string(rules_get(pol, "name", json_type_string));
		*verdict = json_object_array_length(e.failed) == 0 ? SYNOD_PLUGIN_APPROVE
		                                                   : SYNOD_PLUGIN_REJECT;
		rc = rules_reason(&e, name, reason, reason_cap, reason_len);
	}
	json_object_put(e.failed);
	json_object_put(req);
	json_object_put(pol);
	return rc;
}

static const struct synod_plugin rules_plugin = {
    .abi_version = SYNOD_PLUGIN_ABI_VERSION,
    .name = "rules",
    .version = "1.0.0",
    .init = rules_init,
    .evaluate = rules_evaluate,
    .close = NULL,
};

const struct synod_plugin *synod_plugin_entry_v1(void);
const struct synod_plugin *synod_plugin_entry_v1(void)
{
	return &rules_plugin;
}

/* Every field of a bundle is bound: for each kind of bundle (approved with
 * ignored votes of every kind, rejected with equivocation, expired with and
 * without votes, with equivocation and non-participation exclusions), every
 * field's value is changed in turn to another valid-looking one (+-1, another
 * hex or base64url character, another name of the same kind, a U+0000
 * suffix), and every array has each pair of neighbours swapped and each
 * element removed and duplicated; the result, re-serialised canonically, must
 * fail verification. The only changes allowed to verify are listed in
 * `unbound` below, each with its reason (also in coordinator/app/README.md,
 * "Evidence bundle"). */
#include "tests/unit/test_app_fixture.h"

#include "common/json.h"

#define HOUR_MS       3600000ull
#define PATH_BYTES    192u
#define SURVIVORS_MAX 16u

/* ---- the bundles ---- */

static struct synod_policy small_policy(void)
{
	struct synod_policy p;
	synod_policy_defaults(&p);
	p.seats = 7;
	p.threshold = 5;
	p.epoch_decisions = 1;
	return p;
}

/* Seven seats, one decision per epoch. A (epoch 0): seat 6 equivocates, A is
 * rejected, seat 6 is out of epochs 1..4. B (epoch 1): approved after a
 * wrong-epoch vote, the excluded seat's vote, a rejection and a duplicate.
 * C (epoch 2): expired with two votes. D (epoch 3): expired without votes. */
static struct fx *scenario(uint8_t ids[4][32])
{
	struct synod_policy p = small_policy();
	struct fx *f = fx_new_policy(&p, 21);
	const enum synod_verdict ok = SYNOD_VERDICT_APPROVE, no = SYNOD_VERDICT_REJECT;
	fx_submit(f, HOUR_MS, 1, ids[0]);
	const struct fx_vspec a[] = {{6, 0, ok, 0}, {0, 0, no, 0}, {6, 0, no, 0}, {1, 0, no, 0}};
	fx_vote_batch(f, ids[0], a, 4);
	assert_int_equal(fx_tally(f, ids[0]).outcome, SYNOD_OUTCOME_REJECTED);
	fx_submit(f, HOUR_MS, 2, ids[1]);
	const struct fx_vspec b1[] = {
	    {0, 0, ok, 0}, {6, 1, ok, 0}, {0, 1, ok, 0}, {1, 1, ok, 0}, {2, 1, no, 0}};
	const struct fx_vspec b2[] = {{1, 1, ok, 0}, {3, 1, ok, 0}, {4, 1, ok, 0}, {5, 1, ok, 0}};
	fx_vote_batch(f, ids[1], b1, 5);
	fx_vote_batch(f, ids[1], b2, 4);
	assert_int_equal(fx_tally(f, ids[1]).outcome, SYNOD_OUTCOME_APPROVED);
	fx_submit(f, 5000, 3, ids[2]);
	const struct fx_vspec c[] = {{0, 2, ok, 0}, {1, 2, no, 0}};
	fx_vote_batch(f, ids[2], c, 2);
	fx_tick(f, f->now_ms + 5000);
	assert_int_equal(fx_tally(f, ids[2]).outcome, SYNOD_OUTCOME_EXPIRED);
	fx_submit(f, 5000, 4, ids[3]);
	fx_tick(f, f->now_ms + 5000);
	assert_int_equal(fx_tally(f, ids[3]).outcome, SYNOD_OUTCOME_EXPIRED);
	assert_int_equal(fx_tally(f, ids[3]).epoch, 3);
	return f;
}

/* Non-participation: seats 5 and 6 miss two decisions and are out of epoch
 * 1, where N is approved. */
static struct fx *scenario_np(uint8_t id[32])
{
	struct synod_policy p = small_policy();
	p.epoch_decisions = 2;
	p.non_participation = true;
	p.np_missed_decisions_max = 2;
	struct fx *f = fx_new_policy(&p, 22);
	uint8_t ids[3][32];
	for (uint32_t i = 0; i < 3; i++) {
		fx_submit(f, HOUR_MS, i + 1, ids[i]);
		fx_votes(f, 0, 5, ids[i], i < 2 ? 0 : 1, SYNOD_VERDICT_APPROVE, 5);
		assert_int_equal(fx_tally(f, ids[i]).outcome, SYNOD_OUTCOME_APPROVED);
	}
	assert_int_equal(synod_app_exclusion_count(f->app), 2);
	memcpy(id, ids[2], 32);
	return f;
}

/* ---- changes ---- */

/* Changes that verify, by path (indices as [*]) and change. Why each may:
 * the commit and checkpoint certificates are any 2f+1 valid signatures of
 * distinct replicas, in any order; which ones a coordinator carries and in
 * what order claims nothing (README.md, "Evidence bundle"). */
static const struct {
	const char *path;
	const char *change;
} unbound[] = {
    {"batches[*].commits", "swap"},
    {"checkpoint.signatures", "swap"},
};

struct walk {
	const struct fx *f;
	struct json_object *root;
	const char *bundle_name;
	uint32_t changes;
	uint32_t allowed;
	uint32_t survivors;
};

static void pattern_of(const char *path, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; path[i] != '\0' && o + 4 < cap; i++) {
		if (path[i] == '[') {
			memcpy(out + o, "[*]", 3);
			o += 3;
			while (path[i] != ']' && path[i] != '\0') {
				i++;
			}
		} else {
			out[o++] = path[i];
		}
	}
	out[o] = '\0';
}

static bool is_unbound(const char *path, const char *change)
{
	char pat[PATH_BYTES];
	pattern_of(path, pat, sizeof pat);
	for (size_t i = 0; i < sizeof unbound / sizeof unbound[0]; i++) {
		if (strcmp(unbound[i].path, pat) == 0 && strcmp(unbound[i].change, change) == 0) {
			return true;
		}
	}
	return false;
}

/* Serialises the (changed) root and expects verification to fail. */
static void walk_check(struct walk *w, const char *path, const char *change)
{
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(synod_json_canonical_signed(w->root, &text, &len), 0);
	w->changes++;
	if (synod_bundle_verify(text, len, &w->f->kit.cluster, NULL, NULL, NULL) == 0) {
		if (is_unbound(path, change)) {
			w->allowed++;
		} else if (w->survivors++ < SURVIVORS_MAX) {
			print_error("%s: %s (%s) still verifies\n", w->bundle_name, path, change);
		}
	}
	free(text);
}

/* Puts v (a new reference) at parent[key] or parent[idx]; the old value loses
 * the parent's reference. */
static void put_child(struct json_object *parent, const char *key, size_t idx,
                      struct json_object *v)
{
	if (key != NULL) {
		assert_int_equal(json_object_object_add(parent, key, v), 0);
	} else {
		assert_int_equal(json_object_array_put_idx(parent, idx, v), 0);
	}
}

/* Tries value v in place of node (at parent[key|idx]), then puts node back. */
static void walk_try(struct walk *w, struct json_object *parent, const char *key, size_t idx,
                     struct json_object *node, struct json_object *v, const char *path,
                     const char *change)
{
	json_object_get(node);
	put_child(parent, key, idx, v);
	walk_check(w, path, change);
	put_child(parent, key, idx, node);
}

static const char *const alphabet_hex = "0123456789abcdef";
static const char *const alphabet_b64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Names of the same kind: each string equal to one of a set becomes each
 * other member of the set. */
static const char *const name_sets[][5] = {
    {"APPROVED", "REJECTED", "EXPIRED", NULL},
    {"APPROVE", "REJECT", NULL},
    {"wrong_epoch", "excluded_seat", "equivocation", "duplicate", "counted"},
    {"equivocation", "non_participation", NULL},
    {"synod.evidence.v4", "synod.evidence.v3", NULL},
};

static bool all_of(const char *s, size_t n, const char *alphabet)
{
	return n > 0 && strspn(s, alphabet) == n;
}

static void walk_string(struct walk *w, struct json_object *parent, const char *key, size_t idx,
                        struct json_object *node, const char *path)
{
	const char *s = json_object_get_string(node);
	size_t n = (size_t)json_object_get_string_len(node);
	char *buf = malloc(n + 8);
	assert_non_null(buf);
	/* another character of the same alphabet, first and middle */
	const char *alpha = all_of(s, n, alphabet_hex)   ? alphabet_hex
	                    : all_of(s, n, alphabet_b64) ? alphabet_b64
	                                                 : NULL;
	size_t at[2] = {0, n / 2};
	for (int k = 0; k < 2 && n > 0; k++) {
		memcpy(buf, s, n);
		char c = buf[at[k]];
		const char *set = alpha != NULL ? alpha : "abcdefghijklmnopqrstuvwxyz";
		const char *p = strchr(set, c);
		buf[at[k]] = p != NULL && p[1] != '\0' ? p[1] : set[0];
		walk_try(w, parent, key, idx, node, json_object_new_string_len(buf, (int)n), path,
		         "character");
	}
	for (size_t i = 0; i < sizeof name_sets / sizeof name_sets[0]; i++) {
		bool member = false;
		for (size_t k = 0; k < 5 && name_sets[i][k] != NULL; k++) {
			member = member || strcmp(name_sets[i][k], s) == 0;
		}
		for (size_t k = 0; member && k < 5 && name_sets[i][k] != NULL; k++) {
			if (strcmp(name_sets[i][k], s) != 0) {
				walk_try(w, parent, key, idx, node,
				         json_object_new_string(name_sets[i][k]), path, "name");
			}
		}
	}
	/* the same string with "\u0000x" after it */
	memcpy(buf, s, n);
	memcpy(buf + n, "\0x", 2);
	walk_try(w, parent, key, idx, node, json_object_new_string_len(buf, (int)n + 2), path,
	         "nul");
	free(buf);
}

static void walk_node(struct walk *w, struct json_object *parent, const char *key, size_t idx,
                      struct json_object *node, const char *path);

/* A copy of arr with element i removed (op 0), duplicated (1) or swapped
 * with i + 1 (2). */
static struct json_object *array_changed(struct json_object *arr, size_t i, int op)
{
	size_t n = json_object_array_length(arr);
	struct json_object *out = json_object_new_array();
	for (size_t k = 0; k < n; k++) {
		size_t from = k;
		if (op == 2 && (k == i || k == i + 1)) {
			from = k == i ? i + 1 : i;
		}
		if (op == 0 && k == i) {
			continue;
		}
		json_object_array_add(out, json_object_get(json_object_array_get_idx(arr, from)));
		if (op == 1 && k == i) {
			json_object_array_add(out,
			                      json_object_get(json_object_array_get_idx(arr, k)));
		}
	}
	return out;
}

static void walk_array(struct walk *w, struct json_object *parent, const char *key, size_t idx,
                       struct json_object *node, const char *path)
{
	static const char *const ops[3] = {"remove", "duplicate", "swap"};
	size_t n = json_object_array_length(node);
	for (size_t i = 0; i < n; i++) {
		for (int op = 0; op < 3; op++) {
			if (op == 2 && i + 1 >= n) {
				continue;
			}
			walk_try(w, parent, key, idx, node, array_changed(node, i, op), path,
			         ops[op]);
		}
	}
	for (size_t i = 0; i < n; i++) {
		char sub[PATH_BYTES];
		snprintf(sub, sizeof sub, "%s[%zu]", path, i);
		walk_node(w, node, NULL, i, json_object_array_get_idx(node, i), sub);
	}
}

/* An exclusion's window moved as a whole (both ends by +-1): each end alone
 * is caught by the window's length, the pair only by the record. */
static void walk_window(struct walk *w, struct json_object *node, const char *path)
{
	struct json_object *from = NULL, *until = NULL;
	if (!json_object_object_get_ex(node, "from_epoch", &from) ||
	    !json_object_object_get_ex(node, "until_epoch", &until)) {
		return;
	}
	int64_t a = json_object_get_int64(from), b = json_object_get_int64(until);
	for (int64_t d = -1; d <= 1; d += 2) {
		json_object_get(from);
		json_object_get(until);
		json_object_object_add(node, "from_epoch", json_object_new_int64(a + d));
		json_object_object_add(node, "until_epoch", json_object_new_int64(b + d));
		walk_check(w, path, "window");
		json_object_object_add(node, "from_epoch", from);
		json_object_object_add(node, "until_epoch", until);
	}
}

static void walk_object(struct walk *w, struct json_object *node, const char *path)
{
	walk_window(w, node, path);
	const char *keys[32];
	size_t n = 0;
	json_object_object_foreach(node, k, val)
	{
		(void)val;
		assert_true(n < 32);
		keys[n++] = k;
	}
	for (size_t i = 0; i < n; i++) {
		char sub[PATH_BYTES];
		snprintf(sub, sizeof sub, "%s%s%s", path, path[0] != '\0' ? "." : "", keys[i]);
		struct json_object *child = NULL;
		assert_true(json_object_object_get_ex(node, keys[i], &child));
		walk_node(w, node, keys[i], 0, child, sub);
	}
}

static void walk_node(struct walk *w, struct json_object *parent, const char *key, size_t idx,
                      struct json_object *node, const char *path)
{
	switch (json_object_get_type(node)) {
	case json_type_object:
		walk_object(w, node, path);
		break;
	case json_type_array:
		walk_array(w, parent, key, idx, node, path);
		break;
	case json_type_int: {
		int64_t x = json_object_get_int64(node);
		walk_try(w, parent, key, idx, node, json_object_new_int64(x + 1), path, "+1");
		walk_try(w, parent, key, idx, node, json_object_new_int64(x - 1), path, "-1");
		break;
	}
	case json_type_string:
		walk_string(w, parent, key, idx, node, path);
		break;
	default:
		fail_msg("%s: unexpected JSON type in a bundle", path);
	}
}

/* Builds id's bundle, checks it verifies, and walks every field. */
static void every_field_matters(struct fx *f, const uint8_t id[32], const char *name)
{
	size_t len = 0;
	char *b = fx_bundle(f, id, &len);
	struct fx_report rep;
	if (fx_verify(f, b, len, &rep) != 0) {
		fail_msg("%s does not verify:\n%s", name, rep.text);
	}
	struct walk w = {.f = f, .bundle_name = name};
	assert_int_equal(synod_json_parse(&w.root, b, len, NULL, 0), 0);
	walk_object(&w, w.root, "");
	print_message("%s: %u changes, %u allowed to verify (certificate order), %u survivors\n",
	              name, w.changes, w.allowed, w.survivors);
	/* the walk put every value back */
	char *again = NULL;
	size_t again_len = 0;
	assert_int_equal(synod_json_canonical_signed(w.root, &again, &again_len), 0);
	assert_int_equal(again_len, len);
	assert_memory_equal(again, b, len);
	free(again);
	json_object_put(w.root);
	free(b);
	assert_int_equal(w.survivors, 0);
	assert_true(w.changes > 100);
}

static void props_rejected_with_equivocation(void **state)
{
	(void)state;
	uint8_t ids[4][32];
	struct fx *f = scenario(ids);
	every_field_matters(f, ids[0], "rejected (equivocation)");
	fx_free(f);
}

static void props_approved_with_ignored(void **state)
{
	(void)state;
	uint8_t ids[4][32];
	struct fx *f = scenario(ids);
	every_field_matters(f, ids[1], "approved (exclusion, ignored votes)");
	fx_free(f);
}

static void props_expired(void **state)
{
	(void)state;
	uint8_t ids[4][32];
	struct fx *f = scenario(ids);
	every_field_matters(f, ids[2], "expired with votes");
	every_field_matters(f, ids[3], "expired without votes");
	fx_free(f);
}

static void props_non_participation(void **state)
{
	(void)state;
	uint8_t id[32];
	struct fx *f = scenario_np(id);
	every_field_matters(f, id, "approved (non-participation exclusions)");
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(props_rejected_with_equivocation),
	    cmocka_unit_test(props_approved_with_ignored),
	    cmocka_unit_test(props_expired),
	    cmocka_unit_test(props_non_participation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Strict parser, RFC 8785 canonical form and getters (common/json.h).
 * RFC 8785 examples are read from tests/vectors/rfc8785 ($SYNOD_VECTORS). */
#include "common/json.h"
#include "common/json_internal.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmocka needs the headers above first */
#include <cmocka.h>

/* ---- helpers ---- */

static int parse_str(const char *s, struct json_object **out, char *errmsg, size_t errmsg_len)
{
	return synod_json_parse(out, s, strlen(s), errmsg, errmsg_len);
}

struct reject_case {
	const char *doc;
	size_t len; /* 0: strlen(doc) */
	int want;
};

static void expect_rejects(const struct reject_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = (struct json_object *)1;
		char err[SYNOD_JSON_ERRMSG_BYTES] = "";
		size_t len = cases[i].len != 0 ? cases[i].len : strlen(cases[i].doc);
		uint64_t before = synod_json_rejected_count();
		int rc = synod_json_parse(&o, cases[i].doc, len, err, sizeof err);
		if (rc != cases[i].want) {
			print_error("case %zu: %s: got %d (%s), want %d\n", i, cases[i].doc, rc,
			            err, cases[i].want);
		}
		assert_int_equal(rc, cases[i].want);
		assert_null(o);
		assert_non_null(strstr(err, " at byte "));
		assert_true(synod_json_rejected_count() == before + 1);
	}
}

static void expect_accepts(const char *const *docs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = NULL;
		char err[SYNOD_JSON_ERRMSG_BYTES] = "";
		int rc = parse_str(docs[i], &o, err, sizeof err);
		if (rc != 0) {
			print_error("doc %zu: %s: %d (%s)\n", i, docs[i], rc, err);
		}
		assert_int_equal(rc, 0);
		json_object_put(o);
	}
}

/* "[[[...1...]]]" with depth brackets; caller frees. */
static char *nested_arrays(size_t depth)
{
	char *s = malloc(2 * depth + 2);
	assert_non_null(s);
	memset(s, '[', depth);
	s[depth] = '1';
	memset(s + depth + 1, ']', depth);
	s[2 * depth + 1] = '\0';
	return s;
}

/* Reads $SYNOD_VECTORS/rfc8785/name into a malloc'd, NUL-terminated buffer. */
static char *read_vector(const char *name, size_t *len)
{
	const char *dir = getenv("SYNOD_VECTORS");
	if (dir == NULL) {
		fail_msg("SYNOD_VECTORS is not set (run through ctest)");
	}
	char path[4096];
	snprintf(path, sizeof path, "%s/rfc8785/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fail_msg("cannot open %s", path);
	}
	char *buf = malloc(65536);
	assert_non_null(buf);
	*len = fread(buf, 1, 65535, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static void canon_equals(const struct json_object *o, const char *want)
{
	char *out = NULL;
	size_t len = 0;
	int rc = synod_json_canonical(o, &out, &len);
	if (rc != 0) {
		print_error("canonical failed: %d, want %s\n", rc, want);
	}
	assert_int_equal(rc, 0);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
	free(out);
}

static void canon_doc_equals(const char *doc, const char *want)
{
	struct json_object *o = NULL;
	char err[SYNOD_JSON_ERRMSG_BYTES] = "";
	int rc = parse_str(doc, &o, err, sizeof err);
	if (rc != 0) {
		print_error("%s: %s\n", doc, err);
	}
	assert_int_equal(rc, 0);
	canon_equals(o, want);
	json_object_put(o);
}

/* ---- RFC 8785 examples ---- */

static void rfc8785_vector_file(const char *in_name, const char *out_name)
{
	size_t in_len;
	size_t want_len;
	char *in = read_vector(in_name, &in_len);
	char *want = read_vector(out_name, &want_len);
	struct json_object *o = NULL;
	char err[SYNOD_JSON_ERRMSG_BYTES] = "";
	assert_int_equal(synod_json_parse(&o, in, in_len, err, sizeof err), 0);
	char *out = NULL;
	size_t len = 0;
	assert_int_equal(synod_json_canonical(o, &out, &len), 0);
	assert_int_equal(len, want_len);
	assert_memory_equal(out, want, want_len);
	free(out);
	json_object_put(o);
	free(in);
	free(want);
}

static void rfc8785_values(void **state)
{
	(void)state;
	rfc8785_vector_file("values.json", "values.canonical");
}

static void rfc8785_sorting(void **state)
{
	(void)state;
	rfc8785_vector_file("sorting.json", "sorting.canonical");
}

/* Appendix B: each row is "hex expected"; "error" for NaN and Infinity. */
static void rfc8785_numbers(void **state)
{
	(void)state;
	size_t len;
	char *text = read_vector("numbers.txt", &len);
	size_t rows = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#') {
			continue;
		}
		char hex[17];
		char want[64];
		assert_int_equal(sscanf(line, "%16s %63s", hex, want), 2);
		uint64_t bits = strtoull(hex, NULL, 16);
		double d;
		memcpy(&d, &bits, sizeof d);
		struct json_object *o = json_object_new_double(d);
		assert_non_null(o);
		char *out = NULL;
		size_t out_len = 0;
		int rc = synod_json_canonical(o, &out, &out_len);
		if (strcmp(want, "error") == 0) {
			assert_int_equal(rc, SYNOD_EJSON_NAN);
			assert_null(out);
		} else {
			if (rc != 0 || strcmp(out, want) != 0) {
				print_error("%s: got %s, want %s\n", hex, rc == 0 ? out : "error",
				            want);
			}
			assert_int_equal(rc, 0);
			assert_string_equal(out, want);
		}
		free(out);
		json_object_put(o);
		rows++;
	}
	assert_int_equal(rows, 26); /* the whole table was read */
	free(text);
}

static void rfc8785_values_not_signable(void **state)
{
	(void)state;
	size_t len;
	char *want = read_vector("values.canonical", &len);
	struct json_object *o = (struct json_object *)1;
	char err[SYNOD_JSON_ERRMSG_BYTES] = "";
	/* canonical, but holds doubles, which signed payloads forbid */
	assert_int_equal(synod_json_parse_canonical(&o, want, len, err, sizeof err),
	                 SYNOD_EJSON_TYPE);
	assert_null(o);
	free(want);
	char *sorted = read_vector("sorting.canonical", &len);
	assert_int_equal(synod_json_parse_canonical(&o, sorted, len, err, sizeof err), 0);
	assert_int_equal(json_object_object_length(o), 7);
	json_object_put(o);
	free(sorted);
}

/* ---- parser rejections, one error code each ---- */

static void reject_syntax(void **state)
{
	(void)state;
	static const struct reject_case cases[] = {
	    {"", 0, SYNOD_EJSON_SYNTAX},
	    {" \n\t ", 0, SYNOD_EJSON_SYNTAX},
	    {"{\"a\":}", 0, SYNOD_EJSON_SYNTAX},
	    {"01", 0, SYNOD_EJSON_SYNTAX},     /* leading zero */
	    {"[-012]", 0, SYNOD_EJSON_SYNTAX}, /* leading zero */
	    {"+1", 0, SYNOD_EJSON_SYNTAX},     /* plus sign */
	    {"[1,]", 0, SYNOD_EJSON_SYNTAX},   /* trailing comma */
	    {"{\"a\":1,}", 0, SYNOD_EJSON_SYNTAX},
	    {"[1,,2]", 0, SYNOD_EJSON_SYNTAX},
	    {"{,}", 0, SYNOD_EJSON_SYNTAX},
	    {"// c\n1", 0, SYNOD_EJSON_SYNTAX}, /* comments */
	    {"/* c */ 1", 0, SYNOD_EJSON_SYNTAX},
	    {"[1 /* c */]", 0, SYNOD_EJSON_SYNTAX},
	    {"{a:1}", 0, SYNOD_EJSON_SYNTAX}, /* bare words */
	    {"[True]", 0, SYNOD_EJSON_SYNTAX},
	    {"[nul]", 0, SYNOD_EJSON_SYNTAX},
	    {"[undefined]", 0, SYNOD_EJSON_SYNTAX},
	    {"\"a\tb\"", 0, SYNOD_EJSON_SYNTAX}, /* raw control characters */
	    {"\"a\nb\"", 0, SYNOD_EJSON_SYNTAX},
	    {"\"\x01\"", 0, SYNOD_EJSON_SYNTAX},
	    {"\"\x1f\"", 0, SYNOD_EJSON_SYNTAX},
	    {".5", 0, SYNOD_EJSON_SYNTAX},
	    {"[1.]", 0, SYNOD_EJSON_SYNTAX},
	    {"[1e]", 0, SYNOD_EJSON_SYNTAX},
	    {"[1e+]", 0, SYNOD_EJSON_SYNTAX},
	    {"[-]", 0, SYNOD_EJSON_SYNTAX},
	    {"[0x10]", 0, SYNOD_EJSON_SYNTAX},
	    {"\"\\x41\"", 0, SYNOD_EJSON_SYNTAX}, /* bad escapes */
	    {"\"\\u12\"", 0, SYNOD_EJSON_SYNTAX},
	    {"\"\\u12g4\"", 0, SYNOD_EJSON_SYNTAX},
	    {"\"\\'\"", 0, SYNOD_EJSON_SYNTAX},
	    {"[", 0, SYNOD_EJSON_SYNTAX},
	    {"{\"a\":1", 0, SYNOD_EJSON_SYNTAX},
	    {"\"abc", 0, SYNOD_EJSON_SYNTAX},
	    {"{\"a\" 1}", 0, SYNOD_EJSON_SYNTAX},
	    {"[1 2]", 0, SYNOD_EJSON_SYNTAX},
	    {"[1}", 0, SYNOD_EJSON_SYNTAX},
	    {"{\"a\":1]", 0, SYNOD_EJSON_SYNTAX},
	    {"\xef\xbb\xbf{}", 0, SYNOD_EJSON_SYNTAX}, /* byte order mark */
	    {"\x0b[]", 0, SYNOD_EJSON_SYNTAX},         /* not JSON whitespace */
	    {"[1]\0", 4, SYNOD_EJSON_TRAILING},        /* a NUL outside a string */
	    {"[\0]", 3, SYNOD_EJSON_SYNTAX},
	};
	expect_rejects(cases, sizeof cases / sizeof cases[0]);
}

static void reject_depth(void **state)
{
	(void)state;
	char *s = nested_arrays(SYNOD_JSON_DEPTH_MAX + 1);
	struct json_object *o = NULL;
	char err[SYNOD_JSON_ERRMSG_BYTES] = "";
	assert_int_equal(parse_str(s, &o, err, sizeof err), SYNOD_EJSON_DEPTH);
	assert_null(o);
	assert_non_null(strstr(err, "at byte 32"));
	free(s);
	/* objects count as levels too */
	char doc[1024] = "";
	for (int i = 0; i <= SYNOD_JSON_DEPTH_MAX; i++) {
		strcat(doc, "{\"k\":");
	}
	strcat(doc, "1");
	for (int i = 0; i <= SYNOD_JSON_DEPTH_MAX; i++) {
		strcat(doc, "}");
	}
	assert_int_equal(parse_str(doc, &o, err, sizeof err), SYNOD_EJSON_DEPTH);
	/* explicit limit */
	struct synod_json_limits lim = synod_json_limits_default;
	lim.depth_max = 0;
	assert_int_equal(synod_json_parse_ex(&o, "[]", 2, &lim, err, sizeof err),
	                 SYNOD_EJSON_DEPTH);
	/* a very deep document costs no recursion */
	s = nested_arrays(100000);
	assert_int_equal(parse_str(s, &o, err, sizeof err), SYNOD_EJSON_DEPTH);
	free(s);
}

static void reject_utf8(void **state)
{
	(void)state;
	static const struct reject_case cases[] = {
	    {"\"\xc0\xaf\"", 0, SYNOD_EJSON_UTF8},         /* overlong '/' */
	    {"\"\xc1\xbf\"", 0, SYNOD_EJSON_UTF8},         /* overlong */
	    {"\"\xe0\x80\xaf\"", 0, SYNOD_EJSON_UTF8},     /* overlong, 3 bytes */
	    {"\"\xf0\x80\x80\xaf\"", 0, SYNOD_EJSON_UTF8}, /* overlong, 4 bytes */
	    {"\"\xed\xa0\x80\"", 0, SYNOD_EJSON_UTF8},     /* U+D800 encoded */
	    {"\"\xed\xbf\xbf\"", 0, SYNOD_EJSON_UTF8},     /* U+DFFF encoded */
	    {"\"\xf4\x90\x80\x80\"", 0, SYNOD_EJSON_UTF8}, /* U+110000 */
	    {"\"\xf5\x80\x80\x80\"", 0, SYNOD_EJSON_UTF8},
	    {"\"\xff\"", 0, SYNOD_EJSON_UTF8},
	    {"\"\x80\"", 0, SYNOD_EJSON_UTF8},         /* stray continuation */
	    {"\"\xe2\x82\"", 0, SYNOD_EJSON_UTF8},     /* truncated */
	    {"\"\xe2\x82", 0, SYNOD_EJSON_UTF8},       /* truncated at the end */
	    {"{\"\xc3\x28\":1}", 0, SYNOD_EJSON_UTF8}, /* in a key */
	};
	expect_rejects(cases, sizeof cases / sizeof cases[0]);
}

static void reject_dupkey(void **state)
{
	(void)state;
	static const struct reject_case cases[] = {
	    {"{\"a\":1,\"a\":2}", 0, SYNOD_EJSON_DUPKEY},
	    {"{\"a\":1,\"b\":2,\"a\":1}", 0, SYNOD_EJSON_DUPKEY},
	    {"{\"a\":1,\"\\u0061\":2}", 0, SYNOD_EJSON_DUPKEY},
	    {"{\"\xf0\x9f\x98\x80\":1,\"\\ud83d\\ude00\":2}", 0, SYNOD_EJSON_DUPKEY},
	    {"{\"x\":{\"b\":1,\"b\":2}}", 0, SYNOD_EJSON_DUPKEY},
	    {"[{},{\"b\":[],\"b\":{}}]", 0, SYNOD_EJSON_DUPKEY},
	    /* the first "a" holds objects that json-c drops when the second
	     * replaces it: the count walk must still point at the right object */
	    {"{\"a\":{\"q\":{\"r\":1}},\"a\":{\"z\":1}}", 0, SYNOD_EJSON_DUPKEY},
	    {"{\"o\":{\"p\":{}},\"n\":{\"z\":1,\"y\":2,\"z\":3}}", 0, SYNOD_EJSON_DUPKEY},
	};
	expect_rejects(cases, sizeof cases / sizeof cases[0]);
	struct json_object *o = NULL;
	char err[SYNOD_JSON_ERRMSG_BYTES] = "";
	assert_int_equal(parse_str("{\"a\":1, \"\\u0061\":2}", &o, err, sizeof err),
	                 SYNOD_EJSON_DUPKEY);
	assert_string_equal(err, "duplicate key \"a\" at byte 8");
	assert_int_equal(
	    parse_str("{\"x\":[1],\"y\":{\"k\\n\":[{}],\"k\\u000a\":0}}", &o, err, sizeof err),
	    SYNOD_EJSON_DUPKEY);
	assert_string_equal(err, "duplicate key \"k?\" at byte 25");
	/* same letters, different keys */
	static const char *const ok[] = {"{\"a\":1,\"A\":1,\"a \":1,\"\":1}",
	                                 "[{\"a\":1},{\"a\":2}]", "{\"a\":{\"a\":{\"a\":1}}}"};
	expect_accepts(ok, sizeof ok / sizeof ok[0]);
}

static void reject_trailing(void **state)
{
	(void)state;
	static const struct reject_case cases[] = {
	    {"{} x", 0, SYNOD_EJSON_TRAILING},  {"1 2", 0, SYNOD_EJSON_TRAILING},
	    {"{}{}", 0, SYNOD_EJSON_TRAILING},  {"[]]", 0, SYNOD_EJSON_TRAILING},
	    {"truex", 0, SYNOD_EJSON_TRAILING}, {"\"a\" \0", 5, SYNOD_EJSON_TRAILING},
	};
	expect_rejects(cases, sizeof cases / sizeof cases[0]);
}

static void reject_nan(void **state)
{
	(void)state;
	static const struct reject_case cases[] = {
	    {"NaN", 0, SYNOD_EJSON_NAN},       {"[Infinity]", 0, SYNOD_EJSON_NAN},
	    {"-Infinity", 0, SYNOD_EJSON_NAN}, {"{\"a\":nan}", 0, SYNOD_EJSON_NAN},
	    {"[-inf]", 0, SYNOD_EJSON_NAN},    {"[1e400]", 0, SYNOD_EJSON_NAN},
	    {"-1.5e309", 0, SYNOD_EJSON_NAN},
	};
	expect_rejects(cases, sizeof cases / sizeof cases[0]);
}

static void reject_quote(void **state)
{
	(void)state;
	static const struct reject_case cases[] = {
	    {"'a'", 0, SYNOD_EJSON_QUOTE},
	    {"{'a':1}", 0, SYNOD_EJSON_QUOTE},
	    {"[\"a\", 'b']", 0, SYNOD_EJSON_QUOTE},
	    {"{\"a\":1,'b':2}", 0, SYNOD_EJSON_QUOTE},
	};
	expect_rejects(cases, sizeof cases / sizeof cases[0]);
}

static void reject_surrogate(void **state)
{
	(void)state;
	static const struct reject_case cases[] = {
	    {"\"\\ud800\"", 0, SYNOD_EJSON_SURROGATE},        /* high, then the end */
	    {"\"\\udc00\"", 0, SYNOD_EJSON_SURROGATE},        /* lone low */
	    {"\"\\ud83d\\u0041\"", 0, SYNOD_EJSON_SURROGATE}, /* high, then not a low */
	    {"\"\\ud83dx\"", 0, SYNOD_EJSON_SURROGATE},
	    {"\"\\ud800\\ud800\"", 0, SYNOD_EJSON_SURROGATE},
	    {"\"\\ude00\\ud83d\"", 0, SYNOD_EJSON_SURROGATE}, /* pair in the wrong order */
	    {"{\"\\uDBFF\":1}", 0, SYNOD_EJSON_SURROGATE},    /* in a key */
	};
	expect_rejects(cases, sizeof cases / sizeof cases[0]);
}

static void reject_intrange(void **state)
{
	(void)state;
	static const struct reject_case cases[] = {
	    {"9007199254740992", 0, SYNOD_EJSON_INTRANGE},
	    {"-9007199254740992", 0, SYNOD_EJSON_INTRANGE},
	    {"[18446744073709551616]", 0, SYNOD_EJSON_INTRANGE},
	    {"{\"n\":100000000000000000000000000000}", 0, SYNOD_EJSON_INTRANGE},
	};
	expect_rejects(cases, sizeof cases / sizeof cases[0]);
	struct json_object *o = NULL;
	assert_int_equal(parse_str("[9007199254740991,-9007199254740991]", &o, NULL, 0), 0);
	assert_true(json_object_get_int64(json_object_array_get_idx(o, 0)) ==
	            SYNOD_JSON_SAFE_INT_MAX);
	assert_true(json_object_get_int64(json_object_array_get_idx(o, 1)) ==
	            -SYNOD_JSON_SAFE_INT_MAX);
	json_object_put(o);
}

static void reject_size(void **state)
{
	(void)state;
	size_t len = SYNOD_JSON_BYTES_MAX + 1;
	char *big = malloc(len);
	assert_non_null(big);
	memset(big, ' ', len);
	big[0] = '1';
	struct json_object *o = NULL;
	char err[SYNOD_JSON_ERRMSG_BYTES] = "";
	assert_int_equal(synod_json_parse(&o, big, len, err, sizeof err), SYNOD_EJSON_SIZE);
	assert_int_equal(synod_json_parse(&o, big, len - 1, err, sizeof err), 0); /* at the limit */
	json_object_put(o);
	free(big);
	struct synod_json_limits lim = synod_json_limits_default;
	lim.string_bytes_max = 3;
	assert_int_equal(synod_json_parse_ex(&o, "\"abcd\"", 6, &lim, err, sizeof err),
	                 SYNOD_EJSON_SIZE);
	assert_int_equal(synod_json_parse_ex(&o, "\"abc\"", 5, &lim, err, sizeof err), 0);
	json_object_put(o);
	lim = synod_json_limits_default;
	lim.bytes_max = 4;
	assert_int_equal(synod_json_parse_ex(&o, "[1,2]", 5, &lim, err, sizeof err),
	                 SYNOD_EJSON_SIZE);
	/* a number token longer than SYNOD_JSON_NUMBER_BYTES_MAX */
	char num[SYNOD_JSON_NUMBER_BYTES_MAX + 8] = "0.";
	memset(num + 2, '0', SYNOD_JSON_NUMBER_BYTES_MAX);
	num[SYNOD_JSON_NUMBER_BYTES_MAX + 2] = '1';
	num[SYNOD_JSON_NUMBER_BYTES_MAX + 3] = '\0';
	assert_int_equal(parse_str(num, &o, err, sizeof err), SYNOD_EJSON_SIZE);
	/* limits above the ceiling are a caller bug */
	lim = synod_json_limits_default;
	lim.depth_max = SYNOD_JSON_DEPTH_LIMIT_MAX + 1;
	assert_int_equal(synod_json_parse_ex(&o, "1", 1, &lim, err, sizeof err), SYNOD_EINVAL);
}

/* ---- acceptance ---- */

static void accept_nested(void **state)
{
	(void)state;
	const char *doc = " {\"a\": [1, -2, {\"b\": null, \"c\": true}], \"d\": \"x\",\n"
	                  "\t\"e\": -0.5, \"f\": 1E-7, \"g\": [], \"h\": {}, \"i\": 0} \r\n";
	struct json_object *o = NULL;
	char err[SYNOD_JSON_ERRMSG_BYTES] = "";
	assert_int_equal(parse_str(doc, &o, err, sizeof err), 0);
	const struct json_object *a;
	assert_int_equal(synod_json_get_array(o, "a", &a), 0);
	assert_int_equal(json_object_array_length(a), 3);
	const struct json_object *inner = json_object_array_get_idx(a, 2);
	bool c = false;
	assert_int_equal(synod_json_get_bool(inner, "c", &c), 0);
	assert_true(c);
	assert_true(json_object_get_double(json_object_object_get(o, "f")) == 1e-7);
	canon_equals(o, "{\"a\":[1,-2,{\"b\":null,\"c\":true}],\"d\":\"x\",\"e\":-0.5,\"f\":1e-7,"
	                "\"g\":[],\"h\":{},\"i\":0}");
	json_object_put(o);
	static const char *const scalars[] = {"1",     "-0",  "0",     "\"s\"", "true",
	                                      "false", " 7 ", "1.5e3", "-1E-2", "[[],{}]"};
	expect_accepts(scalars, sizeof scalars / sizeof scalars[0]);
	o = (struct json_object *)1;
	assert_int_equal(parse_str("null", &o, err, sizeof err), 0);
	assert_null(o); /* json-c's null */
}

static void accept_escapes(void **state)
{
	(void)state;
	struct json_object *o = NULL;
	char err[SYNOD_JSON_ERRMSG_BYTES] = "";
	assert_int_equal(
	    parse_str("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u20AC\x7f\"", &o, err, sizeof err), 0);
	assert_int_equal(json_object_get_string_len(o), 14);
	assert_memory_equal(json_object_get_string(o), "\"\\/\b\f\n\r\t\xc3\xa9\xe2\x82\xac\x7f",
	                    14);
	json_object_put(o);
}

/* U+0000, escaped or raw, in any string or key: refused with the member
 * path, since strcmp and json-c keys would see only the part before it. */
static void reject_nul(void **state)
{
	(void)state;
	static const struct {
		const char *doc;
		size_t len; /* 0: strlen(doc) */
		const char *msg;
	} cases[] = {
	    {"{\"decision\":{\"outcome\":\"APPROVED\\u0000 but actually REJECTED\"}}", 0,
	     "U+0000 in the string at decision.outcome at byte 32"},
	    {"{\"decision\":{\"outcome\":\"APPROVED\0 REJECTED\"}}", 45,
	     "U+0000 in the string at decision.outcome at byte 32"},
	    {"{\"votes\":[{\"seat\":1},{\"seat\":2,\"sig\":\"\\u0000\"}]}", 0,
	     "U+0000 in the string at votes[1].sig at byte 38"},
	    {"[[],[\"a\",\"\\u0000\"]]", 0, "U+0000 in the string at [1][1] at byte 10"},
	    {"\"\\u0000\"", 0, "U+0000 in the top-level string at byte 1"},
	    {"{\"a\\u0000b\":1}", 0, "U+0000 in an object key at the top level at byte 3"},
	    {"{\"x\":[{\"a\0\":1}]}", 17, "U+0000 in an object key under x[0] at byte 9"},
	    {"{\"k\\\"\\u0041\":{\"\\u0000\":1}}", 0,
	     "U+0000 in an object key under k???u0041 at byte 15"},
	    {"{\"0123456789012345678901234567890123456789\":[\"\\u0000\"]}", 0,
	     "U+0000 in the string at 01234567890123456789012345678901...[0] at byte 46"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct json_object *o = (struct json_object *)1;
		char err[SYNOD_JSON_ERRMSG_BYTES] = "";
		size_t len = cases[i].len != 0 ? cases[i].len : strlen(cases[i].doc);
		uint64_t before = synod_json_rejected_count();
		int rc = synod_json_parse(&o, cases[i].doc, len, err, sizeof err);
		if (rc != SYNOD_EJSON_NUL || strcmp(err, cases[i].msg) != 0) {
			print_error("case %zu: got %d \"%s\"\n", i, rc, err);
		}
		assert_int_equal(rc, SYNOD_EJSON_NUL);
		assert_string_equal(err, cases[i].msg);
		assert_null(o);
		assert_true(synod_json_rejected_count() == before + 1);
	}
	/* a long path keeps its inner end */
	char doc[1024] = "";
	for (int i = 0; i < 20; i++) {
		strcat(doc, "{\"level_name\":");
	}
	strcat(doc, "\"\\u0000\"");
	for (int i = 0; i < 20; i++) {
		strcat(doc, "}");
	}
	struct json_object *o = NULL;
	char err[SYNOD_JSON_ERRMSG_BYTES] = "";
	assert_int_equal(parse_str(doc, &o, err, sizeof err), SYNOD_EJSON_NUL);
	/* "..." and the 9 innermost keys: the path stays within 112 bytes */
	char want[SYNOD_JSON_ERRMSG_BYTES] = "U+0000 in the string at ...level_name";
	for (int i = 0; i < 8; i++) {
		strcat(want, ".level_name");
	}
	strcat(want, " at byte 281");
	assert_string_equal(err, want);
	/* the canonical check refuses it the same way */
	assert_int_equal(synod_json_parse_canonical(&o, "{\"k\":\"\\u0000\"}", 13, err, sizeof err),
	                 SYNOD_EJSON_NUL);
	assert_string_equal(err, "U+0000 in the string at k at byte 6");
}

static void accept_surrogate_pairs(void **state)
{
	(void)state;
	struct json_object *o = NULL;
	char err[SYNOD_JSON_ERRMSG_BYTES] = "";
	assert_int_equal(parse_str("[\"\\ud83d\\ude00\",\"\\uD834\\uDD1E\",\"\xf0\x9f\x98\x80\","
	                           "\"\xf4\x8f\xbf\xbf\",\"\\udbff\\udfff\"]",
	                           &o, err, sizeof err),
	                 0);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(o, 0)),
	                    "\xf0\x9f\x98\x80");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(o, 1)),
	                    "\xf0\x9d\x84\x9e");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(o, 4)),
	                    "\xf4\x8f\xbf\xbf");
	canon_equals(o, "[\"\xf0\x9f\x98\x80\",\"\xf0\x9d\x84\x9e\",\"\xf0\x9f\x98\x80\","
	                "\"\xf4\x8f\xbf\xbf\",\"\xf4\x8f\xbf\xbf\"]");
	json_object_put(o);
}

static void accept_max_depth(void **state)
{
	(void)state;
	char *s = nested_arrays(SYNOD_JSON_DEPTH_MAX);
	struct json_object *o = NULL;
	char err[SYNOD_JSON_ERRMSG_BYTES] = "";
	assert_int_equal(parse_str(s, &o, err, sizeof err), 0);
	char *out = NULL;
	size_t len = 0;
	assert_int_equal(synod_json_canonical(o, &out, &len), 0);
	assert_string_equal(out, s);
	free(out);
	json_object_put(o);
	free(s);
	struct synod_json_limits lim = synod_json_limits_default;
	lim.depth_max = 0;
	assert_int_equal(synod_json_parse_ex(&o, "\"scalar\"", 8, &lim, err, sizeof err), 0);
	json_object_put(o);
	lim.depth_max = 2;
	assert_int_equal(synod_json_parse_ex(&o, "{\"a\":[{}]}", 10, &lim, err, sizeof err),
	                 SYNOD_EJSON_DEPTH);
	assert_int_equal(synod_json_parse_ex(&o, "{\"a\":[1]}", 9, &lim, err, sizeof err), 0);
	json_object_put(o);
}

/* Not a timed test: a 4 MiB object of unique keys and one with a duplicate
 * at its end both parse in linear time (a quadratic check would make this
 * test take minutes and hit the ctest timeout). */
static void large_object(void **state)
{
	(void)state;
	size_t cap = SYNOD_JSON_BYTES_MAX;
	char *doc = malloc(cap);
	assert_non_null(doc);
	size_t len = 0;
	size_t keys = 0;
	doc[len++] = '{';
	while (len + 40 < cap) {
		len += (size_t)snprintf(doc + len, cap - len, "%s\"k%zu\":%zu", keys > 0 ? "," : "",
		                        keys, keys);
		keys++;
	}
	doc[len++] = '}';
	struct json_object *o = NULL;
	char err[SYNOD_JSON_ERRMSG_BYTES] = "";
	assert_int_equal(synod_json_parse(&o, doc, len, err, sizeof err), 0);
	assert_int_equal((size_t)json_object_object_length(o), keys);
	json_object_put(o);
	len--;
	len += (size_t)snprintf(doc + len, cap - len, ",\"k7\":0}");
	assert_int_equal(synod_json_parse(&o, doc, len, err, sizeof err), SYNOD_EJSON_DUPKEY);
	assert_non_null(strstr(err, "duplicate key \"k7\""));
	free(doc);
}

/* Every allocation of a parse fails in turn (the hook in json_internal.h
 * counts the parser's own and each json-c call that allocates): each parse
 * returns SYNOD_ENOMEM with no tree and no leak (ASan checks), never success
 * with an empty tree, which callers would take for the document null. */
static void alloc_failures(void **state)
{
	(void)state;
	static const char *const docs[] = {
	    "{\"a\":[1,-2.5e3,\"s\\u00e9\",true,false,null,{\"b\":{}}],\"c\":\"\",\"d\":[],"
	    "\"m\":{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,"
	    "\"k8\":8,\"k9\":9,\"k10\":10,\"k11\":11,\"k12\":12,\"k13\":13,\"k14\":14}}",
	    "{}",
	    "[]",
	    "\"s\"",
	    "7",
	    "true",
	    "null"};
	/* allocations of each: scratch and counts, then per container its node
	 * and table move, per value its node and its insert, per key a copy */
	static const int64_t want_fails[] = {60, 4, 3, 2, 2, 2, 1};
	for (size_t d = 0; d < sizeof docs / sizeof docs[0]; d++) {
		struct json_object *good = NULL;
		assert_int_equal(parse_str(docs[d], &good, NULL, 0), 0);
		char *want = NULL;
		size_t want_len = 0;
		assert_int_equal(synod_json_canonical(good, &want, &want_len), 0);
		json_object_put(good);
		int64_t fails = 0;
		for (int64_t k = 0;; k++) {
			struct json_object *o = (struct json_object *)1;
			char err[SYNOD_JSON_ERRMSG_BYTES] = "";
			uint64_t rejected = synod_json_rejected_count();
			synod_json_test_alloc_fail(k);
			int rc = parse_str(docs[d], &o, err, sizeof err);
			synod_json_test_alloc_fail(-1);
			if (rc == 0) {
				char *canon = NULL;
				size_t len = 0;
				assert_int_equal(synod_json_canonical(o, &canon, &len), 0);
				assert_string_equal(canon, want);
				free(canon);
				json_object_put(o);
				break;
			}
			if (rc != SYNOD_ENOMEM) {
				print_error("doc %zu, allocation %lld: %d (%s)\n", d, (long long)k,
				            rc, err);
			}
			assert_int_equal(rc, SYNOD_ENOMEM);
			assert_null(o);
			assert_non_null(strstr(err, "out of memory at byte "));
			/* out of memory is ours, not the sender's: not a rejection */
			assert_true(synod_json_rejected_count() == rejected);
			fails++;
		}
		free(want);
		if (fails != want_fails[d]) {
			print_error("doc %zu: %lld allocations\n", d, (long long)fails);
		}
		assert_int_equal(fails, want_fails[d]);
	}
	/* the canonical check forwards it too */
	struct json_object *o = (struct json_object *)1;
	synod_json_test_alloc_fail(1);
	assert_int_equal(synod_json_parse_canonical(&o, "{\"a\":1}", 7, NULL, 0), SYNOD_ENOMEM);
	synod_json_test_alloc_fail(-1);
	assert_null(o);
}

/* ---- canonical form ---- */

static void canon_strings(void **state)
{
	(void)state;
	char raw[40];
	for (int i = 0; i < 32; i++) {
		raw[i] = (char)i;
	}
	memcpy(raw + 32, "/\x7f\"\\", 4);
	struct json_object *o = json_object_new_string_len(raw, 36);
	canon_equals(o,
	             "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b"
	             "\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017"
	             "\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f/\x7f\\\"\\\\\"");
	json_object_put(o);
	/* non-ASCII is written as UTF-8, never escaped */
	canon_doc_equals("\"\\u2028\\u00e9\\uffff\"", "\"\xe2\x80\xa8\xc3\xa9\xef\xbf\xbf\"");
	/* a string made in code that is not UTF-8 */
	o = json_object_new_string("\xc0\xaf");
	char *out = (char *)1;
	size_t len = 7;
	assert_int_equal(synod_json_canonical(o, &out, &len), SYNOD_EJSON_UTF8);
	assert_null(out);
	assert_int_equal(len, 0);
	json_object_put(o);
}

static void canon_sorting(void **state)
{
	(void)state;
	/* UTF-16 order puts U+1F600 (D83D DE00) before U+FB33 and U+E000,
	 * though UTF-8 byte order would put it after them */
	canon_doc_equals("{\"\\ue000\":1,\"\\ud83d\\ude00\":2,\"\\ufb33\":3,\"\\ud7ff\":4}",
	                 "{\"\xed\x9f\xbf\":4,\"\xf0\x9f\x98\x80\":2,\"\xee\x80\x80\":1,"
	                 "\"\xef\xac\xb3\":3}");
	canon_doc_equals(
	    "{\"b\":{\"z\":[],\"y\":{\"d\":1,\"c\":2}},\"a\":0,\"aa\":1,\"\":2,\"B\":3}",
	    "{\"\":2,\"B\":3,\"a\":0,\"aa\":1,\"b\":{\"y\":{\"c\":2,\"d\":1},\"z\":[]}}");
}

static void canon_numbers(void **state)
{
	(void)state;
	canon_doc_equals(
	    "[0, -0, 0.0, -0.0, 1.0, 100, 1e2, 1E21, 1e20, 0.1, 1e-6, 1e-7, 123.456e5]",
	    "[0,0,0,0,1,100,100,1e+21,100000000000000000000,0.1,0.000001,1e-7,"
	    "12345600]");
	struct json_object *o = json_object_new_double(NAN);
	char *out = NULL;
	size_t len = 0;
	assert_int_equal(synod_json_canonical(o, &out, &len), SYNOD_EJSON_NAN);
	json_object_put(o);
	o = json_object_new_double(-INFINITY);
	assert_int_equal(synod_json_canonical(o, &out, &len), SYNOD_EJSON_NAN);
	json_object_put(o);
	/* an int64 made in code beyond 2^53-1: JCS would change its value */
	o = json_object_new_int64(SYNOD_JSON_SAFE_INT_MAX + 1);
	assert_int_equal(synod_json_canonical(o, &out, &len), SYNOD_EJSON_INTRANGE);
	assert_int_equal(synod_json_canonical_signed(o, &out, &len), SYNOD_EJSON_INTRANGE);
	json_object_put(o);
	o = json_object_new_uint64(UINT64_MAX);
	assert_int_equal(synod_json_canonical(o, &out, &len), SYNOD_EJSON_INTRANGE);
	json_object_put(o);
	assert_null(out);
}

static void canon_signed_subset(void **state)
{
	(void)state;
	struct json_object *o = NULL;
	assert_int_equal(
	    parse_str("{\"n\":-12,\"s\":\"x\",\"t\":true,\"z\":null,\"a\":[{}]}", &o, NULL, 0), 0);
	char *out = NULL;
	size_t len = 0;
	assert_int_equal(synod_json_canonical_signed(o, &out, &len), 0);
	assert_string_equal(out, "{\"a\":[{}],\"n\":-12,\"s\":\"x\",\"t\":true,\"z\":null}");
	free(out);
	json_object_put(o);
	assert_int_equal(parse_str("[1.0]", &o, NULL, 0), 0);
	assert_int_equal(synod_json_canonical_signed(o, &out, &len), SYNOD_EJSON_TYPE);
	assert_null(out);
	assert_int_equal(synod_json_canonical(o, &out, &len), 0);
	assert_string_equal(out, "[1]");
	free(out);
	json_object_put(o);
	assert_int_equal(synod_json_canonical_signed(NULL, &out, &len), 0);
	assert_string_equal(out, "null");
	free(out);
}

static void canon_depth(void **state)
{
	(void)state;
	struct json_object *root = json_object_new_array();
	struct json_object *cur = root;
	for (int i = 1; i < SYNOD_JSON_DEPTH_MAX; i++) {
		struct json_object *next = json_object_new_array();
		assert_int_equal(json_object_array_add(cur, next), 0);
		cur = next;
	}
	char *out = NULL;
	size_t len = 0;
	assert_int_equal(synod_json_canonical(root, &out, &len), 0); /* exactly the limit */
	assert_int_equal(len, 2 * SYNOD_JSON_DEPTH_MAX);
	free(out);
	assert_int_equal(json_object_array_add(cur, json_object_new_object()), 0);
	assert_int_equal(synod_json_canonical(root, &out, &len), SYNOD_EJSON_DEPTH);
	assert_null(out);
	json_object_put(root);
}

static void canon_roundtrip(void **state)
{
	(void)state;
	static const char *const docs[] = {
	    "{\"z\":[1,2.5,-3e-9,{\"\\u00e9\":\"\\u0007\"}],\"a\":{\"b\":[true,false,null]}}",
	    "[\"\\ud83d\\ude00\",\"\\ufb33\",0.1,1e300,-5e-324]",
	    "{\"\":{\"\":{\"\":[]}}}",
	};
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		struct json_object *a = NULL;
		struct json_object *b = NULL;
		assert_int_equal(parse_str(docs[i], &a, NULL, 0), 0);
		char *c1 = NULL;
		char *c2 = NULL;
		size_t l1 = 0;
		size_t l2 = 0;
		assert_int_equal(synod_json_canonical(a, &c1, &l1), 0);
		assert_int_equal(synod_json_parse(&b, c1, l1, NULL, 0), 0);
		assert_int_equal(synod_json_canonical(b, &c2, &l2), 0);
		assert_int_equal(l1, l2);
		assert_memory_equal(c1, c2, l1);
		free(c1);
		free(c2);
		json_object_put(a);
		json_object_put(b);
	}
}

static void parse_canonical_checks(void **state)
{
	(void)state;
	struct json_object *o = NULL;
	char err[SYNOD_JSON_ERRMSG_BYTES] = "";
	const char *good = "{\"a\":[1,\"\xc3\xa9\",{}],\"b\":\"\\u001f\\n\",\"c\":-7}";
	assert_int_equal(synod_json_parse_canonical(&o, good, strlen(good), err, sizeof err), 0);
	json_object_put(o);
	static const struct {
		const char *doc;
		int want;
	} bad[] = {
	    {"{ }", SYNOD_EJSON_NONCANON},
	    {"{\"b\":1,\"a\":2}", SYNOD_EJSON_NONCANON},
	    {"[\"\\u0061\"]", SYNOD_EJSON_NONCANON},
	    {"[\"\\/\"]", SYNOD_EJSON_NONCANON},
	    {"[\"\\u001F\"]", SYNOD_EJSON_NONCANON},
	    {"[\"\\u00e9\"]", SYNOD_EJSON_NONCANON},
	    {"-0", SYNOD_EJSON_NONCANON},
	    {"[1] ", SYNOD_EJSON_NONCANON},
	    {"[1.5]", SYNOD_EJSON_TYPE},
	    {"[1e2]", SYNOD_EJSON_TYPE},
	    {"{\"a\":1,\"a\":1}", SYNOD_EJSON_DUPKEY},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t before = synod_json_rejected_count();
		o = (struct json_object *)1;
		int rc =
		    synod_json_parse_canonical(&o, bad[i].doc, strlen(bad[i].doc), err, sizeof err);
		if (rc != bad[i].want) {
			print_error("%s: %d (%s)\n", bad[i].doc, rc, err);
		}
		assert_int_equal(rc, bad[i].want);
		assert_null(o);
		assert_true(synod_json_rejected_count() == before + 1);
	}
	assert_int_equal(synod_json_parse_canonical(&o, "{\"b\":1,\"a\":2}", 13, err, sizeof err),
	                 SYNOD_EJSON_NONCANON);
	assert_string_equal(err, "not in canonical form: first difference at byte 2");
}

/* ---- getters and UTF-8 ---- */

static void getters(void **state)
{
	(void)state;
	struct json_object *o = NULL;
	const char *doc =
	    "{\"s\":\"str\",\"i\":42,\"neg\":-5,\"d\":1.0,\"t\":true,\"o\":{},\"a\":[],"
	    "\"h\":\"00ff10Ab\",\"hz\":\"00fg\",\"n\":null}";
	assert_int_equal(parse_str(doc, &o, NULL, 0), 0);
	const char *s = NULL;
	assert_int_equal(synod_json_get_string(o, "s", &s), 0);
	assert_string_equal(s, "str");
	assert_int_equal(synod_json_get_string(o, "missing", &s), SYNOD_ENOTFOUND);
	assert_int_equal(synod_json_get_string(o, "i", &s), SYNOD_EJSON_TYPE);
	assert_int_equal(synod_json_get_string(o, "n", &s), SYNOD_EJSON_TYPE);
	/* a tree built in code may hold U+0000: the C-string getter refuses it,
	 * the length getter returns all of it */
	json_object_object_add(o, "nul", json_object_new_string_len("APPROVED\0 NOT", 13));
	s = NULL;
	assert_int_equal(synod_json_get_string(o, "nul", &s), SYNOD_EJSON_NUL);
	assert_null(s);
	size_t slen = 0;
	assert_int_equal(synod_json_get_string_len(o, "nul", &s, &slen), 0);
	assert_int_equal(slen, 13);
	assert_memory_equal(s, "APPROVED\0 NOT", 13);
	int64_t v = 0;
	assert_int_equal(synod_json_get_int64(o, "i", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(synod_json_get_int64(o, "neg", &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(synod_json_get_int64(o, "d", &v), SYNOD_EJSON_TYPE);
	assert_int_equal(synod_json_get_int64(o, "s", &v), SYNOD_EJSON_TYPE);
	bool b = false;
	assert_int_equal(synod_json_get_bool(o, "t", &b), 0);
	assert_true(b);
	assert_int_equal(synod_json_get_bool(o, "i", &b), SYNOD_EJSON_TYPE);
	const struct json_object *sub = NULL;
	assert_int_equal(synod_json_get_object(o, "o", &sub), 0);
	assert_int_equal(synod_json_get_object(o, "a", &sub), SYNOD_EJSON_TYPE);
	assert_int_equal(synod_json_get_array(o, "a", &sub), 0);
	assert_int_equal(synod_json_get_array(o, "o", &sub), SYNOD_EJSON_TYPE);
	/* a getter on a non-object */
	assert_int_equal(synod_json_get_int64(sub, "x", &v), SYNOD_EJSON_TYPE);
	uint8_t h[4] = {0};
	assert_int_equal(synod_json_get_hex(o, "h", h, 4), 0);
	assert_memory_equal(h, "\x00\xff\x10\xab", 4);
	uint8_t keep[2] = {7, 7};
	assert_int_equal(synod_json_get_hex(o, "h", keep, 2), SYNOD_EINVAL);  /* wrong length */
	assert_int_equal(synod_json_get_hex(o, "hz", keep, 2), SYNOD_EINVAL); /* not hex */
	assert_memory_equal(keep, "\x07\x07", 2);
	assert_int_equal(synod_json_get_hex(o, "i", keep, 2), SYNOD_EJSON_TYPE);
	assert_string_equal(synod_json_type_name(json_object_object_get(o, "d")), "number");
	assert_string_equal(synod_json_type_name(NULL), "null");
	json_object_put(o);
	/* out-of-range integers made in code */
	o = json_object_new_object();
	json_object_object_add(o, "big", json_object_new_int64(INT64_MAX));
	assert_int_equal(synod_json_get_int64(o, "big", &v), SYNOD_EJSON_INTRANGE);
	json_object_put(o);
}

static void utf8_check(void **state)
{
	(void)state;
	size_t bad = 0;
	assert_int_equal(synod_utf8_check("a\xc3\xa9\xe2\x82\xac\xf4\x8f\xbf\xbf", 10, &bad), 0);
	assert_int_equal(synod_utf8_check("ab\xed\xa0\x80", 5, &bad), SYNOD_EJSON_UTF8);
	assert_int_equal(bad, 2);
	assert_int_equal(synod_utf8_check("\xe2\x82", 2, &bad), SYNOD_EJSON_UTF8);
	assert_int_equal(bad, 0);
	assert_int_equal(synod_utf8_check("", 0, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rfc8785_values),
	    cmocka_unit_test(rfc8785_sorting),
	    cmocka_unit_test(rfc8785_numbers),
	    cmocka_unit_test(rfc8785_values_not_signable),
	    cmocka_unit_test(reject_syntax),
	    cmocka_unit_test(reject_depth),
	    cmocka_unit_test(reject_utf8),
	    cmocka_unit_test(reject_dupkey),
	    cmocka_unit_test(reject_trailing),
	    cmocka_unit_test(reject_nan),
	    cmocka_unit_test(reject_quote),
	    cmocka_unit_test(reject_surrogate),
	    cmocka_unit_test(reject_intrange),
	    cmocka_unit_test(reject_size),
	    cmocka_unit_test(reject_nul),
	    cmocka_unit_test(accept_nested),
	    cmocka_unit_test(accept_escapes),
	    cmocka_unit_test(accept_surrogate_pairs),
	    cmocka_unit_test(accept_max_depth),
	    cmocka_unit_test(large_object),
	    cmocka_unit_test(alloc_failures),
	    cmocka_unit_test(canon_strings),
	    cmocka_unit_test(canon_sorting),
	    cmocka_unit_test(canon_numbers),
	    cmocka_unit_test(canon_signed_subset),
	    cmocka_unit_test(canon_depth),
	    cmocka_unit_test(canon_roundtrip),
	    cmocka_unit_test(parse_canonical_checks),
	    cmocka_unit_test(getters),
	    cmocka_unit_test(utf8_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

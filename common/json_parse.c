/* Strict JSON parsing: an iterative validating scanner over the raw bytes,
 * then json-c builds the tree, then the member counts the scanner saw are
 * compared with the tree's to find duplicate keys in linear time. */
#include "common/assert.h"
#include "common/json.h"
#include "common/log.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

SYNOD_COUNTER(json_rejected, "synod_json_rejected_total",
              "JSON documents rejected by the strict parser or the canonical check");

const struct synod_json_limits synod_json_limits_default = {
    .depth_max = SYNOD_JSON_DEPTH_MAX,
    .bytes_max = SYNOD_JSON_BYTES_MAX,
    .string_bytes_max = SYNOD_JSON_STRING_BYTES_MAX,
};

/* Longest key quoted in an error message, in bytes. */
#define JSON_MSG_KEY_BYTES_MAX 64u

/* One object the scanner saw, in document order (the order of its '{'),
 * which is also the pre-order of json-c's tree. */
struct scan_obj {
	size_t start; /* offset of the '{' */
	size_t members;
};

enum scan_state {
	SCAN_VALUE,        /* a value must come */
	SCAN_ARRAY_FIRST,  /* after '[': a value or ']' */
	SCAN_OBJECT_FIRST, /* after '{': a key or '}' */
	SCAN_KEY,          /* after ',' in an object: a key */
	SCAN_COLON,        /* after a key */
	SCAN_NEXT,         /* after a value in a container: ',' or its closer */
	SCAN_DONE,         /* the top-level value is complete */
};

struct scan {
	const uint8_t *p; /* borrowed input */
	size_t len;
	size_t pos;
	const struct synod_json_limits *lim;
	enum scan_state state;
	uint32_t depth;
	uint8_t kind[SYNOD_JSON_DEPTH_LIMIT_MAX];     /* '[' or '{' per open container */
	size_t obj_index[SYNOD_JSON_DEPTH_LIMIT_MAX]; /* objs index per open object */
	struct scan_obj *objs;                        /* owned, malloc'd */
	size_t objs_count;
	size_t objs_cap;
	char *errmsg;
	size_t errmsg_len;
};

__attribute__((format(printf, 4, 5))) static int scan_fail(struct scan *s, int err, size_t at,
                                                           const char *fmt, ...)
{
	if (s->errmsg == NULL || s->errmsg_len == 0) {
		return err;
	}
	char what[SYNOD_JSON_ERRMSG_BYTES];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(s->errmsg, s->errmsg_len, "%s at byte %zu", what, at);
	return err;
}

/* Length of the well-formed UTF-8 sequence at p (Unicode table 3-7), or 0. */
static size_t utf8_seq_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	if (c < 0x80) {
		return 1;
	}
	size_t want;
	uint8_t lo = 0x80;
	uint8_t hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf) {
		want = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		want = 3;
		lo = c == 0xe0 ? 0xa0 : 0x80; /* no overlongs */
		hi = c == 0xed ? 0x9f : 0xbf; /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		want = 4;
		lo = c == 0xf0 ? 0x90 : 0x80; /* no overlongs */
		hi = c == 0xf4 ? 0x8f : 0xbf; /* nothing above U+10FFFF */
	} else {
		return 0;
	}
	if (n < want || p[1] < lo || p[1] > hi) {
		return 0;
	}
	for (size_t i = 2; i < want; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf) {
			return 0;
		}
	}
	return want;
}

int synod_utf8_check(const char *s, size_t len, size_t *bad_offset)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;
	while (i < len) {
		size_t n = utf8_seq_len(p + i, len - i);
		if (n == 0) {
			if (bad_offset != NULL) {
				*bad_offset = i;
			}
			return SYNOD_EJSON_UTF8;
		}
		i += n;
	}
	return 0;
}

uint64_t synod_json_rejected_count(void)
{
	return synod_counter_get(&json_rejected);
}

static bool scan_is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static void scan_skip_ws(struct scan *s)
{
	while (s->pos < s->len) {
		uint8_t c = s->p[s->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			return;
		}
		s->pos++;
	}
}

/* The value of four hex digits at p[0..4), or -1. */
static int32_t scan_hex4(const uint8_t *p, size_t n)
{
	if (n < 4) {
		return -1;
	}
	int32_t v = 0;
	for (size_t i = 0; i < 4; i++) {
		uint8_t c = p[i];
		int32_t d;
		if (c >= '0' && c <= '9') {
			d = c - '0';
		} else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
			d = (c | 0x20) - 'a' + 10;
		} else {
			return -1;
		}
		v = v * 16 + d;
	}
	return v;
}

/* At a backslash-u escape: checks it, and pairs surrogates. */
static int scan_escape_u(struct scan *s, bool is_key)
{
	size_t at = s->pos;
	int32_t cu = scan_hex4(s->p + at + 2, s->len - at - 2);
	if (cu < 0) {
		return scan_fail(s, SYNOD_EJSON_SYNTAX, at, "bad \\u escape");
	}
	if (cu >= 0xdc00 && cu <= 0xdfff) {
		return scan_fail(s, SYNOD_EJSON_SURROGATE, at, "lone low surrogate \\u%04x",
		                 (unsigned)cu);
	}
	if (cu >= 0xd800 && cu <= 0xdbff) {
		size_t rest = s->len - at - 6;
		const uint8_t *q = s->p + at + 6;
		int32_t lo =
		    rest >= 2 && q[0] == '\\' && q[1] == 'u' ? scan_hex4(q + 2, rest - 2) : -1;
		if (lo < 0xdc00 || lo > 0xdfff) {
			return scan_fail(s, SYNOD_EJSON_SURROGATE, at,
			                 "high surrogate \\u%04x not followed by a low surrogate",
			                 (unsigned)cu);
		}
		s->pos += 12;
		return 0;
	}
	if (cu == 0 && is_key) {
		return scan_fail(s, SYNOD_EJSON_SYNTAX, at,
		                 "\\u0000 in an object key (not supported)");
	}
	s->pos += 6;
	return 0;
}

static int scan_escape(struct scan *s, bool is_key)
{
	if (s->len - s->pos < 2) {
		return scan_fail(s, SYNOD_EJSON_SYNTAX, s->pos, "unterminated string");
	}
	uint8_t e = s->p[s->pos + 1];
	switch (e) {
	case '"':
	case '\\':
	case '/':
	case 'b':
	case 'f':
	case 'n':
	case 'r':
	case 't':
		s->pos += 2;
		return 0;
	case 'u':
		return scan_escape_u(s, is_key);
	default:
		return scan_fail(s, SYNOD_EJSON_SYNTAX, s->pos, "invalid escape \\%c",
		                 e >= 0x21 && e < 0x7f ? (char)e : '?');
	}
}

/* At a '"': the whole string, through its closing quote. */
static int scan_string(struct scan *s, bool is_key)
{
	size_t start = s->pos;
	s->pos++;
	for (;;) {
		if (s->pos >= s->len) {
			return scan_fail(s, SYNOD_EJSON_SYNTAX, start, "unterminated string");
		}
		uint8_t c = s->p[s->pos];
		if (c == '"') {
			break;
		}
		int rc = 0;
		if (c == '\\') {
			rc = scan_escape(s, is_key);
		} else if (c < 0x20) {
			rc = scan_fail(s, SYNOD_EJSON_SYNTAX, s->pos,
			               "control character 0x%02x in a string", (unsigned)c);
		} else {
			size_t n = utf8_seq_len(s->p + s->pos, s->len - s->pos);
			if (n == 0) {
				rc = scan_fail(s, SYNOD_EJSON_UTF8, s->pos, "invalid UTF-8");
			}
			s->pos += n;
		}
		if (rc != 0) {
			return rc;
		}
	}
	if (s->pos - start - 1 > s->lim->string_bytes_max) {
		return scan_fail(s, SYNOD_EJSON_SIZE, start, "string longer than %zu bytes",
		                 s->lim->string_bytes_max);
	}
	s->pos++;
	return 0;
}

/* NaN, Infinity and the spellings other parsers accept (nan, inf, ...). */
static bool scan_is_nonfinite(const uint8_t *p, size_t n)
{
	if (n < 3) {
		return false;
	}
	char w[3] = {(char)(p[0] | 0x20), (char)(p[1] | 0x20), (char)(p[2] | 0x20)};
	return memcmp(w, "nan", 3) == 0 || memcmp(w, "inf", 3) == 0;
}

static void scan_digits(struct scan *s)
{
	while (s->pos < s->len && scan_is_digit(s->p[s->pos])) {
		s->pos++;
	}
}

/* An integer token: within +-(2^53-1), since json-c would clamp others. */
static int scan_check_int(struct scan *s, size_t start)
{
	const uint8_t *p = s->p + start;
	size_t n = s->pos - start;
	size_t i = p[0] == '-' ? 1 : 0;
	if (n - i > 16) {
		return scan_fail(s, SYNOD_EJSON_INTRANGE, start, "integer outside +-(2^53-1)");
	}
	int64_t v = 0;
	for (; i < n; i++) {
		v = v * 10 + (p[i] - '0');
	}
	if (v > SYNOD_JSON_SAFE_INT_MAX) {
		return scan_fail(s, SYNOD_EJSON_INTRANGE, start, "integer outside +-(2^53-1)");
	}
	return 0;
}

/* A number with a fraction or exponent: must be a finite double. */
static int scan_check_double(struct scan *s, size_t start)
{
	size_t n = s->pos - start;
	if (n > SYNOD_JSON_NUMBER_BYTES_MAX) {
		return scan_fail(s, SYNOD_EJSON_SIZE, start, "number longer than %u bytes",
		                 SYNOD_JSON_NUMBER_BYTES_MAX);
	}
	char tmp[SYNOD_JSON_NUMBER_BYTES_MAX + 1];
	memcpy(tmp, s->p + start, n);
	tmp[n] = '\0';
	if (isinf(strtod(tmp, NULL))) {
		return scan_fail(s, SYNOD_EJSON_NAN, start, "number overflows to infinity");
	}
	return 0;
}

/* RFC 8259 section 6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int scan_number(struct scan *s)
{
	size_t start = s->pos;
	bool is_int = true;
	if (s->p[s->pos] == '-') {
		s->pos++;
		if (scan_is_nonfinite(s->p + s->pos, s->len - s->pos)) {
			return scan_fail(s, SYNOD_EJSON_NAN, start, "-Infinity or NaN");
		}
	}
	if (s->pos >= s->len || !scan_is_digit(s->p[s->pos])) {
		return scan_fail(s, SYNOD_EJSON_SYNTAX, start, "bad number");
	}
	if (s->p[s->pos] == '0' && s->pos + 1 < s->len && scan_is_digit(s->p[s->pos + 1])) {
		return scan_fail(s, SYNOD_EJSON_SYNTAX, start, "number with a leading zero");
	}
	scan_digits(s);
	if (s->pos < s->len && s->p[s->pos] == '.') {
		is_int = false;
		s->pos++;
		if (s->pos >= s->len || !scan_is_digit(s->p[s->pos])) {
			return scan_fail(s, SYNOD_EJSON_SYNTAX, start,
			                 "bad number: no digit after '.'");
		}
		scan_digits(s);
	}
	if (s->pos < s->len && (s->p[s->pos] | 0x20) == 'e') {
		is_int = false;
		s->pos++;
		if (s->pos < s->len && (s->p[s->pos] == '+' || s->p[s->pos] == '-')) {
			s->pos++;
		}
		if (s->pos >= s->len || !scan_is_digit(s->p[s->pos])) {
			return scan_fail(s, SYNOD_EJSON_SYNTAX, start,
			                 "bad number: empty exponent");
		}
		scan_digits(s);
	}
	return is_int ? scan_check_int(s, start) : scan_check_double(s, start);
}

static int scan_literal(struct scan *s, const char *word)
{
	size_t n = strlen(word);
	if (s->len - s->pos < n || memcmp(s->p + s->pos, word, n) != 0) {
		return scan_fail(s, SYNOD_EJSON_SYNTAX, s->pos, "bad literal (expected %s)", word);
	}
	s->pos += n;
	return 0;
}

static void scan_value_done(struct scan *s)
{
	s->state = s->depth == 0 ? SCAN_DONE : SCAN_NEXT;
}

static int scan_open(struct scan *s, uint8_t c)
{
	if (s->depth >= s->lim->depth_max) {
		return scan_fail(s, SYNOD_EJSON_DEPTH, s->pos, "nesting deeper than %u",
		                 (unsigned)s->lim->depth_max);
	}
	if (c == '{') {
		if (s->objs_count == s->objs_cap) {
			size_t cap = s->objs_cap == 0 ? 16 : s->objs_cap * 2;
			struct scan_obj *n = realloc(s->objs, cap * sizeof *n);
			if (n == NULL) {
				return scan_fail(s, SYNOD_ENOMEM, s->pos, "out of memory");
			}
			s->objs = n;
			s->objs_cap = cap;
		}
		s->objs[s->objs_count] = (struct scan_obj){.start = s->pos, .members = 0};
		s->obj_index[s->depth] = s->objs_count++;
	}
	s->kind[s->depth++] = c;
	s->state = c == '{' ? SCAN_OBJECT_FIRST : SCAN_ARRAY_FIRST;
	s->pos++;
	return 0;
}

static int scan_close(struct scan *s, uint8_t c)
{
	SYNOD_ASSERT(s->depth > 0);
	uint8_t want = s->kind[s->depth - 1] == '{' ? '}' : ']';
	if (c != want) {
		return scan_fail(s, SYNOD_EJSON_SYNTAX, s->pos, "expected ',' or '%c'", (char)want);
	}
	s->depth--;
	s->pos++;
	scan_value_done(s);
	return 0;
}

static int scan_unexpected(struct scan *s, const char *expected)
{
	uint8_t c = s->p[s->pos];
	if (c >= 0x21 && c < 0x7f) {
		return scan_fail(s, SYNOD_EJSON_SYNTAX, s->pos, "expected %s, got '%c'", expected,
		                 (char)c);
	}
	return scan_fail(s, SYNOD_EJSON_SYNTAX, s->pos, "expected %s, got byte 0x%02x", expected,
	                 (unsigned)c);
}

static int scan_value(struct scan *s)
{
	uint8_t c = s->p[s->pos];
	int rc;
	switch (c) {
	case '{':
	case '[':
		return scan_open(s, c);
	case '"':
		rc = scan_string(s, false);
		break;
	case 't':
		rc = scan_literal(s, "true");
		break;
	case 'f':
		rc = scan_literal(s, "false");
		break;
	case 'n':
		if (scan_is_nonfinite(s->p + s->pos, s->len - s->pos)) {
			return scan_fail(s, SYNOD_EJSON_NAN, s->pos, "NaN or Infinity");
		}
		rc = scan_literal(s, "null");
		break;
	case 'N':
	case 'I':
	case 'i':
		if (scan_is_nonfinite(s->p + s->pos, s->len - s->pos)) {
			return scan_fail(s, SYNOD_EJSON_NAN, s->pos, "NaN or Infinity");
		}
		return scan_unexpected(s, "a value");
	case '\'':
		return scan_fail(s, SYNOD_EJSON_QUOTE, s->pos, "single-quoted string");
	case ']':
		if (s->depth > 0 && s->kind[s->depth - 1] == '[') {
			return scan_fail(s, SYNOD_EJSON_SYNTAX, s->pos, "trailing comma");
		}
		return scan_unexpected(s, "a value");
	default:
		if (c == '-' || scan_is_digit(c)) {
			rc = scan_number(s);
			break;
		}
		return scan_unexpected(s, "a value");
	}
	if (rc == 0) {
		scan_value_done(s);
	}
	return rc;
}

static int scan_key(struct scan *s)
{
	uint8_t c = s->p[s->pos];
	if (c == '\'') {
		return scan_fail(s, SYNOD_EJSON_QUOTE, s->pos, "single-quoted key");
	}
	if (c == '}' && s->state == SCAN_KEY) {
		return scan_fail(s, SYNOD_EJSON_SYNTAX, s->pos, "trailing comma");
	}
	if (c != '"') {
		return scan_unexpected(s, "a string key");
	}
	SYNOD_ASSERT(s->depth > 0 && s->kind[s->depth - 1] == '{');
	s->objs[s->obj_index[s->depth - 1]].members++;
	s->state = SCAN_COLON;
	return scan_string(s, true);
}

static int scan_step(struct scan *s)
{
	uint8_t c = s->p[s->pos];
	switch (s->state) {
	case SCAN_VALUE:
		return scan_value(s);
	case SCAN_ARRAY_FIRST:
		return c == ']' ? scan_close(s, c) : scan_value(s);
	case SCAN_OBJECT_FIRST:
		return c == '}' ? scan_close(s, c) : scan_key(s);
	case SCAN_KEY:
		return scan_key(s);
	case SCAN_COLON:
		if (c != ':') {
			return scan_unexpected(s, "':'");
		}
		s->pos++;
		s->state = SCAN_VALUE;
		return 0;
	case SCAN_NEXT:
		if (c == ',') {
			s->pos++;
			s->state = s->kind[s->depth - 1] == '{' ? SCAN_KEY : SCAN_VALUE;
			return 0;
		}
		if (c == ']' || c == '}') {
			return scan_close(s, c);
		}
		return scan_unexpected(s,
		                       s->kind[s->depth - 1] == '{' ? "',' or '}'" : "',' or ']'");
	case SCAN_DONE:
		break;
	}
	SYNOD_ASSERT(0 && "scan_step in SCAN_DONE");
	return SYNOD_ESTATE;
}

/* Walks the bytes once; every step consumes at least one byte, so the loop
 * runs at most len times. */
static int scan_run(struct scan *s)
{
	s->state = SCAN_VALUE;
	while (s->state != SCAN_DONE) {
		scan_skip_ws(s);
		if (s->pos == s->len) {
			bool empty = s->state == SCAN_VALUE && s->depth == 0;
			return scan_fail(s, SYNOD_EJSON_SYNTAX, s->pos,
			                 empty ? "empty document" : "unexpected end of input");
		}
		size_t before = s->pos;
		int rc = scan_step(s);
		if (rc != 0) {
			return rc;
		}
		SYNOD_ASSERT(s->pos > before && s->pos <= s->len);
	}
	scan_skip_ws(s);
	if (s->pos != s->len) {
		return scan_fail(s, SYNOD_EJSON_TRAILING, s->pos, "bytes after the JSON value");
	}
	return 0;
}

/* json-c builds the tree from input the scanner accepted. A disagreement is
 * reported as a syntax error rather than an assert: json-c is not ours. */
static int parse_build(struct scan *s, struct json_object **out)
{
	struct json_tokener *tok = json_tokener_new_ex((int)s->lim->depth_max + 1);
	if (tok == NULL) {
		return scan_fail(s, SYNOD_ENOMEM, 0, "out of memory");
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	struct json_object *obj = json_tokener_parse_ex(tok, (const char *)s->p, (int)s->len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	if (obj == NULL && jerr == json_tokener_continue) {
		/* a top-level number or literal ends only at the terminator */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
	}
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr == json_tokener_success) {
		*out = obj; /* NULL for the document "null" */
		return 0;
	}
	json_object_put(obj);
	/* json-c 0.16 has no out-of-memory error: an allocation failure inside
	 * it lands here too */
	return scan_fail(s, SYNOD_EJSON_SYNTAX, end, "json-c: %s", json_tokener_error_desc(jerr));
}

/* Duplicate-key search, run only on an object whose member count json-c
 * disagrees with. The input is already validated, so these helpers trust
 * its syntax; each loop still stops at the end of the input. */

static size_t dup_skip_ws(const struct scan *s, size_t pos)
{
	while (pos < s->len &&
	       (s->p[pos] == ' ' || s->p[pos] == '\t' || s->p[pos] == '\n' || s->p[pos] == '\r')) {
		pos++;
	}
	return pos;
}

/* At a '"': the offset just after the closing quote. */
static size_t dup_skip_string(const struct scan *s, size_t pos)
{
	pos++;
	while (pos < s->len && s->p[pos] != '"') {
		pos += s->p[pos] == '\\' ? 2 : 1;
	}
	return pos + 1;
}

static size_t dup_skip_value(const struct scan *s, size_t pos)
{
	uint8_t c = s->p[pos];
	if (c == '"') {
		return dup_skip_string(s, pos);
	}
	if (c != '[' && c != '{') {
		while (pos < s->len && strchr(",]} \t\n\r", s->p[pos]) == NULL) {
			pos++;
		}
		return pos;
	}
	size_t depth = 0;
	while (pos < s->len) {
		c = s->p[pos];
		if (c == '"') {
			pos = dup_skip_string(s, pos);
			continue;
		}
		pos++;
		if (c == '[' || c == '{') {
			depth++;
		} else if ((c == ']' || c == '}') && --depth == 0) {
			break;
		}
	}
	return pos;
}

static size_t dup_put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decodes the validated string token p[start..end) (quotes included) into
 * out, which has room for end - start bytes; NUL-terminates it. */
static void dup_decode(const struct scan *s, size_t start, size_t end, char *out)
{
	static const char simple[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	size_t o = 0;
	for (size_t i = start + 1; i + 1 < end;) {
		uint8_t c = s->p[i];
		if (c != '\\') {
			out[o++] = (char)c;
			i++;
			continue;
		}
		uint8_t e = s->p[i + 1];
		if (e != 'u') {
			const char *m = strchr(simple, e);
			SYNOD_ASSERT(m != NULL && ((m - simple) % 2) == 0);
			out[o++] = m[1];
			i += 2;
			continue;
		}
		uint32_t cp = (uint32_t)scan_hex4(s->p + i + 2, 4);
		i += 6;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			uint32_t lo = (uint32_t)scan_hex4(s->p + i + 2, 4);
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			i += 6;
		}
		o += dup_put_utf8(out + o, cp);
	}
	SYNOD_ASSERT(o < end - start);
	out[o] = '\0';
}

/* Copies key into out[cap] for a message: printable ASCII and UTF-8 kept,
 * quotes, backslashes and controls become '?', long keys end in "...". */
static void dup_quote(char *out, size_t cap, const char *key)
{
	size_t n = strlen(key);
	size_t keep = n > JSON_MSG_KEY_BYTES_MAX ? JSON_MSG_KEY_BYTES_MAX : n;
	size_t o = 0;
	for (size_t i = 0; i < keep && o + 4 < cap; i++) {
		unsigned char c = (unsigned char)key[i];
		out[o++] = (c < 0x20 || c == '"' || c == '\\' || c == 0x7f) ? '?' : (char)c;
	}
	if (keep < n && o + 4 < cap) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static int dup_report(struct scan *s, const char *key, size_t at)
{
	char q[JSON_MSG_KEY_BYTES_MAX + 4];
	dup_quote(q, sizeof q, key);
	return scan_fail(s, SYNOD_EJSON_DUPKEY, at, "duplicate key \"%s\"", q);
}

/* Finds the first repeated key of the object whose '{' is at start, with a
 * json-c object as a hash set (json-c seeds its string hash at random). */
static int dup_find(struct scan *s, size_t start)
{
	struct json_object *set = json_object_new_object();
	if (set == NULL) {
		return scan_fail(s, SYNOD_ENOMEM, start, "out of memory");
	}
	int rc = scan_fail(s, SYNOD_EJSON_SYNTAX, start, "json-c disagrees on an object");
	size_t pos = dup_skip_ws(s, start + 1);
	while (pos < s->len && s->p[pos] == '"') {
		size_t end = dup_skip_string(s, pos);
		char *key = malloc(end - pos);
		if (key == NULL) {
			rc = scan_fail(s, SYNOD_ENOMEM, pos, "out of memory");
			break;
		}
		dup_decode(s, pos, end, key);
		if (json_object_object_get_ex(set, key, NULL)) {
			rc = dup_report(s, key, pos);
			free(key);
			break;
		}
		int added = json_object_object_add(set, key, NULL);
		free(key);
		if (added != 0) {
			rc = scan_fail(s, SYNOD_ENOMEM, pos, "out of memory");
			break;
		}
		pos = dup_skip_ws(s, end);
		pos = dup_skip_ws(s, pos + 1); /* the ':' */
		pos = dup_skip_value(s, pos);
		pos = dup_skip_ws(s, pos);
		if (pos >= s->len || s->p[pos] != ',') {
			break;
		}
		pos = dup_skip_ws(s, pos + 1);
	}
	json_object_put(set);
	return rc;
}

struct walk_frame {
	struct json_object *obj; /* an array or object */
	struct lh_entry *entry;  /* next member, for an object */
	size_t idx;              /* next element, for an array */
};

static bool walk_is_container(const struct json_object *o)
{
	return json_object_is_type(o, json_type_object) || json_object_is_type(o, json_type_array);
}

static bool walk_next_child(struct walk_frame *f, struct json_object **child)
{
	if (json_object_is_type(f->obj, json_type_object)) {
		if (f->entry == NULL) {
			return false;
		}
		*child = (struct json_object *)lh_entry_v(f->entry);
		f->entry = lh_entry_next(f->entry);
		return true;
	}
	if (f->idx >= json_object_array_length(f->obj)) {
		return false;
	}
	*child = json_object_array_get_idx(f->obj, f->idx++);
	return true;
}

/* Objects come in the same pre-order as the scanner recorded them until the
 * first one holding a duplicate (json-c keeps the first position of a
 * repeated key and drops the earlier value), which is where counts differ. */
static int walk_visit(struct scan *s, struct json_object *o, size_t *k)
{
	if (!json_object_is_type(o, json_type_object)) {
		return 0;
	}
	if (*k >= s->objs_count) {
		return scan_fail(s, SYNOD_EJSON_SYNTAX, 0, "json-c disagrees on the objects");
	}
	size_t got = (size_t)json_object_object_length(o);
	if (got != s->objs[*k].members) {
		return dup_find(s, s->objs[*k].start);
	}
	(*k)++;
	return 0;
}

static void walk_push(struct walk_frame *stack, size_t *top, struct json_object *o)
{
	SYNOD_ASSERT(*top <= SYNOD_JSON_DEPTH_LIMIT_MAX);
	if (walk_is_container(o)) {
		struct lh_table *t =
		    json_object_is_type(o, json_type_object) ? json_object_get_object(o) : NULL;
		stack[(*top)++] = (struct walk_frame){
		    .obj = o, .entry = t != NULL ? lh_table_head(t) : NULL, .idx = 0};
	}
}

/* Iterative pre-order walk; the tree is at most depth_max deep. */
static int parse_check_members(struct scan *s, struct json_object *root)
{
	struct walk_frame stack[SYNOD_JSON_DEPTH_LIMIT_MAX + 1];
	size_t top = 0;
	size_t k = 0;
	int rc = walk_visit(s, root, &k);
	if (rc == 0) {
		walk_push(stack, &top, root);
	}
	while (rc == 0 && top > 0) {
		struct json_object *child;
		if (!walk_next_child(&stack[top - 1], &child)) {
			top--;
			continue;
		}
		rc = walk_visit(s, child, &k);
		if (rc == 0) {
			walk_push(stack, &top, child);
		}
	}
	if (rc == 0 && k != s->objs_count) {
		rc = scan_fail(s, SYNOD_EJSON_SYNTAX, 0, "json-c disagrees on the objects");
	}
	return rc;
}

int synod_json_parse_ex(struct json_object **out, const char *buf, size_t len,
                        const struct synod_json_limits *limits, char *errmsg, size_t errmsg_len)
{
	SYNOD_ASSERT(out != NULL && limits != NULL && (buf != NULL || len == 0));
	*out = NULL;
	if (errmsg != NULL && errmsg_len > 0) {
		errmsg[0] = '\0';
	}
	struct scan s = {.p = (const uint8_t *)buf,
	                 .len = len,
	                 .lim = limits,
	                 .errmsg = errmsg,
	                 .errmsg_len = errmsg_len};
	if (limits->depth_max > SYNOD_JSON_DEPTH_LIMIT_MAX ||
	    limits->bytes_max > SYNOD_JSON_BYTES_MAX) {
		return scan_fail(&s, SYNOD_EINVAL, 0, "JSON limits above the ceiling");
	}
	int rc;
	if (len > limits->bytes_max) {
		rc = scan_fail(&s, SYNOD_EJSON_SIZE, limits->bytes_max,
		               "document longer than %zu bytes", limits->bytes_max);
	} else {
		rc = scan_run(&s);
	}
	struct json_object *obj = NULL;
	if (rc == 0) {
		rc = parse_build(&s, &obj);
	}
	if (rc == 0 && obj != NULL) {
		rc = parse_check_members(&s, obj);
	}
	free(s.objs);
	if (rc != 0) {
		json_object_put(obj);
		if (rc != SYNOD_ENOMEM) {
			synod_counter_inc(&json_rejected);
		}
		return rc;
	}
	*out = obj;
	return 0;
}

int synod_json_parse(struct json_object **out, const char *buf, size_t len, char *errmsg,
                     size_t errmsg_len)
{
	return synod_json_parse_ex(out, buf, len, &synod_json_limits_default, errmsg, errmsg_len);
}

int synod_json_parse_canonical(struct json_object **out, const char *buf, size_t len, char *errmsg,
                               size_t errmsg_len)
{
	int rc = synod_json_parse(out, buf, len, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	char *canon = NULL;
	size_t canon_len = 0;
	rc = synod_json_canonical_signed(*out, &canon, &canon_len);
	size_t i = 0;
	if (rc == 0) {
		while (i < len && i < canon_len && buf[i] == canon[i]) {
			i++;
		}
		rc = i == len && i == canon_len ? 0 : SYNOD_EJSON_NONCANON;
	}
	free(canon);
	if (rc == 0) {
		return 0;
	}
	if (errmsg != NULL && errmsg_len > 0) {
		if (rc == SYNOD_EJSON_NONCANON) {
			snprintf(errmsg, errmsg_len,
			         "not in canonical form: first difference at byte %zu", i);
		} else if (rc == SYNOD_EJSON_TYPE) {
			snprintf(errmsg, errmsg_len,
			         "a number with a fraction or exponent in a signed payload");
		} else {
			snprintf(errmsg, errmsg_len, "canonical form: %s", synod_strerror(rc));
		}
	}
	json_object_put(*out);
	*out = NULL;
	if (rc != SYNOD_ENOMEM) {
		synod_counter_inc(&json_rejected);
	}
	return rc;
}

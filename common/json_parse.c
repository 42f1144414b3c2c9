/* Strict JSON parsing, first pass: an iterative validating scanner over the
 * raw bytes. It also counts the members of every container and prices the
 * tree json_build.c will make (json_internal.h), so that a document over its
 * memory budget is refused before anything is built. */
#include "common/assert.h"
#include "common/json_internal.h"
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
    .memory_factor = SYNOD_JSON_MEMORY_FACTOR,
    .memory_bytes_base = SYNOD_JSON_MEMORY_BYTES_BASE,
};

/* Longest key shown in a member path, in bytes. */
#define JSON_PATH_KEY_BYTES_MAX 32u
/* Longest member path in a message, in bytes (the innermost part is kept). */
#define JSON_PATH_BYTES_MAX 112u

_Static_assert(JSON_PATH_BYTES_MAX + 64u <= SYNOD_JSON_ERRMSG_BYTES, "a path fits a message");

enum scan_state {
	SCAN_VALUE,        /* a value must come */
	SCAN_ARRAY_FIRST,  /* after '[': a value or ']' */
	SCAN_OBJECT_FIRST, /* after '{': a key or '}' */
	SCAN_KEY,          /* after ',' in an object: a key */
	SCAN_COLON,        /* after a key */
	SCAN_NEXT,         /* after a value in a container: ',' or its closer */
	SCAN_DONE,         /* the top-level value is complete */
};

int json_scan_fail(struct json_scan *s, int err, size_t at, const char *fmt, ...)
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

static void scan_skip_ws(struct json_scan *s)
{
	while (s->pos < s->len) {
		uint8_t c = s->p[s->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			return;
		}
		s->pos++;
	}
}

/* One path segment for open container d into seg (room for
 * JSON_PATH_KEY_BYTES_MAX + 8 bytes): ".key" or "[index]". A key is shown as
 * written (escapes unresolved), cut at a character boundary, with '"', '\\'
 * and controls as '?'. */
static size_t scan_path_segment(const struct json_scan *s, uint32_t d, char *seg)
{
	if (s->kind[d] == '[') {
		return (size_t)sprintf(seg, "[%u]", (unsigned)(s->counts[s->slot[d]] - 1u));
	}
	size_t o = 0;
	if (d > 0) {
		seg[o++] = '.';
	}
	const uint8_t *k = s->p + s->key_start[d] + 1;
	size_t n = s->key_end[d] - s->key_start[d] - 2;
	size_t keep = n;
	if (keep > JSON_PATH_KEY_BYTES_MAX) {
		keep = JSON_PATH_KEY_BYTES_MAX;
		while (keep > 0 && (k[keep] & 0xc0) == 0x80) {
			keep--;
		}
	}
	for (size_t i = 0; i < keep; i++) {
		seg[o++] = k[i] < 0x20 || k[i] == '"' || k[i] == '\\' ? '?' : (char)k[i];
	}
	if (keep < n) {
		memcpy(seg + o, "...", 3);
		o += 3;
	}
	return o;
}

/* The member path of the value being scanned, such as decision.outcome or
 * votes[3].seat, written right to left so that a long path keeps its inner
 * end. Without the innermost key when in_key. Empty at the top level. */
static void scan_path(const struct json_scan *s, bool in_key, char *out, size_t cap)
{
	SYNOD_ASSERT(cap > 3);
	size_t at = cap - 1;
	out[at] = '\0';
	uint32_t top = in_key ? s->depth - 1 : s->depth;
	for (uint32_t d = top; d-- > 0;) {
		char seg[JSON_PATH_KEY_BYTES_MAX + 8];
		size_t n = scan_path_segment(s, d, seg);
		if (n + 3 > at) {
			at += out[at] == '.' ? 1 : 0;
			at -= 3;
			memcpy(out + at, "...", 3);
			break;
		}
		at -= n;
		memcpy(out + at, seg, n);
	}
	memmove(out, out + at, cap - at);
}

/* U+0000 in a string: refused, since C strings (json-c keys, strcmp on
 * values) would end at it while other readers see the whole string. */
static int scan_fail_nul(struct json_scan *s, bool is_key, size_t at)
{
	char path[JSON_PATH_BYTES_MAX];
	scan_path(s, is_key, path, sizeof path);
	if (is_key) {
		return json_scan_fail(s, SYNOD_EJSON_NUL, at, "U+0000 in an object key %s%s",
		                      path[0] != '\0' ? "under " : "at the top level", path);
	}
	if (path[0] == '\0') {
		return json_scan_fail(s, SYNOD_EJSON_NUL, at, "U+0000 in the top-level string");
	}
	return json_scan_fail(s, SYNOD_EJSON_NUL, at, "U+0000 in the string at %s", path);
}

/* Adds what json_build will allocate for the next node to the price of the
 * tree and refuses the document once that exceeds its budget. */
static int scan_charge(struct json_scan *s, size_t bytes)
{
	s->cost_bytes += bytes;
	if (s->cost_bytes <= s->budget_bytes) {
		return 0;
	}
	return json_scan_fail(s, SYNOD_EJSON_MEMORY, s->pos,
	                      "the tree would take more than %zu bytes (memory budget: %u x %zu "
	                      "input bytes + %zu)",
	                      s->budget_bytes, (unsigned)s->lim->memory_factor, s->len,
	                      s->lim->memory_bytes_base);
}

/* The value of four hex digits at p[0..4), or -1. */
int32_t json_hex4(const uint8_t *p, size_t n)
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
static int scan_escape_u(struct json_scan *s, bool is_key)
{
	size_t at = s->pos;
	int32_t cu = json_hex4(s->p + at + 2, s->len - at - 2);
	if (cu < 0) {
		return json_scan_fail(s, SYNOD_EJSON_SYNTAX, at, "bad \\u escape");
	}
	if (cu >= 0xdc00 && cu <= 0xdfff) {
		return json_scan_fail(s, SYNOD_EJSON_SURROGATE, at, "lone low surrogate \\u%04x",
		                      (unsigned)cu);
	}
	if (cu >= 0xd800 && cu <= 0xdbff) {
		size_t rest = s->len - at - 6;
		const uint8_t *q = s->p + at + 6;
		int32_t lo =
		    rest >= 2 && q[0] == '\\' && q[1] == 'u' ? json_hex4(q + 2, rest - 2) : -1;
		if (lo < 0xdc00 || lo > 0xdfff) {
			return json_scan_fail(
			    s, SYNOD_EJSON_SURROGATE, at,
			    "high surrogate \\u%04x not followed by a low surrogate", (unsigned)cu);
		}
		s->pos += 12;
		return 0;
	}
	if (cu == 0) {
		return scan_fail_nul(s, is_key, at);
	}
	s->pos += 6;
	return 0;
}

static int scan_escape(struct json_scan *s, bool is_key)
{
	if (s->len - s->pos < 2) {
		return json_scan_fail(s, SYNOD_EJSON_SYNTAX, s->pos, "unterminated string");
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
		return json_scan_fail(s, SYNOD_EJSON_SYNTAX, s->pos, "invalid escape \\%c",
		                      e >= 0x21 && e < 0x7f ? (char)e : '?');
	}
}

/* At a '"': the whole string, through its closing quote. */
static int scan_string(struct json_scan *s, bool is_key)
{
	size_t start = s->pos;
	s->pos++;
	for (;;) {
		if (s->pos >= s->len) {
			return json_scan_fail(s, SYNOD_EJSON_SYNTAX, start, "unterminated string");
		}
		uint8_t c = s->p[s->pos];
		if (c == '"') {
			break;
		}
		int rc = 0;
		if (c == '\\') {
			rc = scan_escape(s, is_key);
		} else if (c == 0) {
			rc = scan_fail_nul(s, is_key, s->pos);
		} else if (c < 0x20) {
			rc = json_scan_fail(s, SYNOD_EJSON_SYNTAX, s->pos,
			                    "control character 0x%02x in a string", (unsigned)c);
		} else {
			size_t n = utf8_seq_len(s->p + s->pos, s->len - s->pos);
			if (n == 0) {
				rc = json_scan_fail(s, SYNOD_EJSON_UTF8, s->pos, "invalid UTF-8");
			}
			s->pos += n;
		}
		if (rc != 0) {
			return rc;
		}
	}
	size_t n = s->pos - start - 1;
	if (n > s->lim->string_bytes_max) {
		return json_scan_fail(s, SYNOD_EJSON_SIZE, start, "string longer than %zu bytes",
		                      s->lim->string_bytes_max);
	}
	s->pos++;
	if (n > s->string_bytes_longest) {
		s->string_bytes_longest = n;
	}
	/* decoding never makes a string longer than its token */
	if (is_key) {
		return scan_charge(s, json_cost_chunk(n + 1));
	}
	return scan_charge(s,
	                   json_cost_chunk(JSON_COST_STRING_BYTES +
	                                   (n < JSON_COST_STRING_MIN ? JSON_COST_STRING_MIN : n)));
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

static void scan_digits(struct json_scan *s)
{
	while (s->pos < s->len && scan_is_digit(s->p[s->pos])) {
		s->pos++;
	}
}

/* An integer token: within +-(2^53-1), since json-c would clamp others. */
static int scan_check_int(struct json_scan *s, size_t start)
{
	const uint8_t *p = s->p + start;
	size_t n = s->pos - start;
	size_t i = p[0] == '-' ? 1 : 0;
	if (n - i > 16) {
		return json_scan_fail(s, SYNOD_EJSON_INTRANGE, start, "integer outside +-(2^53-1)");
	}
	int64_t v = 0;
	for (; i < n; i++) {
		v = v * 10 + (p[i] - '0');
	}
	if (v > SYNOD_JSON_SAFE_INT_MAX) {
		return json_scan_fail(s, SYNOD_EJSON_INTRANGE, start, "integer outside +-(2^53-1)");
	}
	return 0;
}

/* A number with a fraction or exponent: must be a finite double. */
static int scan_check_double(struct json_scan *s, size_t start)
{
	size_t n = s->pos - start;
	if (n > SYNOD_JSON_NUMBER_BYTES_MAX) {
		return json_scan_fail(s, SYNOD_EJSON_SIZE, start, "number longer than %u bytes",
		                      SYNOD_JSON_NUMBER_BYTES_MAX);
	}
	char tmp[SYNOD_JSON_NUMBER_BYTES_MAX + 1];
	memcpy(tmp, s->p + start, n);
	tmp[n] = '\0';
	if (isinf(strtod(tmp, NULL))) {
		return json_scan_fail(s, SYNOD_EJSON_NAN, start, "number overflows to infinity");
	}
	return 0;
}

/* RFC 8259 section 6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int scan_number(struct json_scan *s)
{
	size_t start = s->pos;
	bool is_int = true;
	if (s->p[s->pos] == '-') {
		s->pos++;
		if (scan_is_nonfinite(s->p + s->pos, s->len - s->pos)) {
			return json_scan_fail(s, SYNOD_EJSON_NAN, start, "-Infinity or NaN");
		}
	}
	if (s->pos >= s->len || !scan_is_digit(s->p[s->pos])) {
		return json_scan_fail(s, SYNOD_EJSON_SYNTAX, start, "bad number");
	}
	if (s->p[s->pos] == '0' && s->pos + 1 < s->len && scan_is_digit(s->p[s->pos + 1])) {
		return json_scan_fail(s, SYNOD_EJSON_SYNTAX, start, "number with a leading zero");
	}
	scan_digits(s);
	if (s->pos < s->len && s->p[s->pos] == '.') {
		is_int = false;
		s->pos++;
		if (s->pos >= s->len || !scan_is_digit(s->p[s->pos])) {
			return json_scan_fail(s, SYNOD_EJSON_SYNTAX, start,
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
			return json_scan_fail(s, SYNOD_EJSON_SYNTAX, start,
			                      "bad number: empty exponent");
		}
		scan_digits(s);
	}
	return is_int ? scan_check_int(s, start) : scan_check_double(s, start);
}

static int scan_literal(struct json_scan *s, const char *word)
{
	size_t n = strlen(word);
	if (s->len - s->pos < n || memcmp(s->p + s->pos, word, n) != 0) {
		return json_scan_fail(s, SYNOD_EJSON_SYNTAX, s->pos, "bad literal (expected %s)",
		                      word);
	}
	s->pos += n;
	return 0;
}

static void scan_value_done(struct json_scan *s)
{
	s->state = s->depth == 0 ? SCAN_DONE : SCAN_NEXT;
}

/* A new entry in counts for the container opening at s->pos. */
static int scan_count_new(struct json_scan *s)
{
	if (s->counts_len == s->counts_cap) {
		size_t cap = s->counts_cap == 0 ? 16 : s->counts_cap * 2;
		uint32_t *n = json_alloc_ok() ? realloc(s->counts, cap * sizeof *n) : NULL;
		if (n == NULL) {
			return json_scan_fail(s, SYNOD_ENOMEM, s->pos, "out of memory");
		}
		s->counts = n;
		s->counts_cap = cap;
	}
	s->counts[s->counts_len] = 0;
	s->slot[s->depth] = (uint32_t)s->counts_len++;
	return 0;
}

static int scan_open(struct json_scan *s, uint8_t c)
{
	if (s->depth >= s->lim->depth_max) {
		return json_scan_fail(s, SYNOD_EJSON_DEPTH, s->pos, "nesting deeper than %u",
		                      (unsigned)s->lim->depth_max);
	}
	size_t node =
	    json_cost_chunk(JSON_COST_NODE_BYTES) +
	    json_cost_chunk(c == '{' ? sizeof(struct lh_table) : JSON_COST_ARRAYLIST_BYTES);
	int rc = scan_charge(s, node + JSON_COST_COUNT_BYTES);
	if (rc == 0) {
		rc = scan_count_new(s);
	}
	if (rc != 0) {
		return rc;
	}
	s->kind[s->depth++] = c;
	s->state = c == '{' ? SCAN_OBJECT_FIRST : SCAN_ARRAY_FIRST;
	s->pos++;
	return 0;
}

/* The rest of a container's price, known once its members are counted: an
 * array's element slots, an object's hash table (json_internal.h). */
static int scan_close_charge(struct json_scan *s, uint8_t kind, uint32_t n)
{
	if (kind == '[') {
		return scan_charge(s, json_cost_chunk(sizeof(void *) * ((size_t)n + 1u)));
	}
	return scan_charge(s, json_cost_chunk(json_table_entries(n) * sizeof(struct lh_entry)));
}

static int scan_close(struct json_scan *s, uint8_t c)
{
	SYNOD_ASSERT(s->depth > 0);
	uint8_t kind = s->kind[s->depth - 1];
	uint8_t want = kind == '{' ? '}' : ']';
	if (c != want) {
		return json_scan_fail(s, SYNOD_EJSON_SYNTAX, s->pos, "expected ',' or '%c'",
		                      (char)want);
	}
	int rc = scan_close_charge(s, kind, s->counts[s->slot[s->depth - 1]]);
	if (rc != 0) {
		return rc;
	}
	s->depth--;
	s->pos++;
	scan_value_done(s);
	return 0;
}

static int scan_unexpected(struct json_scan *s, const char *expected)
{
	uint8_t c = s->p[s->pos];
	if (c >= 0x21 && c < 0x7f) {
		return json_scan_fail(s, SYNOD_EJSON_SYNTAX, s->pos, "expected %s, got '%c'",
		                      expected, (char)c);
	}
	return json_scan_fail(s, SYNOD_EJSON_SYNTAX, s->pos, "expected %s, got byte 0x%02x",
	                      expected, (unsigned)c);
}

/* A scalar other than a string or null: one json-c node. */
static int scan_scalar_done(struct json_scan *s, int rc)
{
	if (rc == 0) {
		rc = scan_charge(s, json_cost_chunk(JSON_COST_INT_BYTES));
	}
	return rc;
}

static int scan_value(struct json_scan *s)
{
	uint8_t c = s->p[s->pos];
	int rc;
	if (s->depth > 0 && s->kind[s->depth - 1] == '[' && c != ']') {
		s->counts[s->slot[s->depth - 1]]++;
	}
	switch (c) {
	case '{':
	case '[':
		return scan_open(s, c);
	case '"':
		rc = scan_string(s, false);
		break;
	case 't':
		rc = scan_scalar_done(s, scan_literal(s, "true"));
		break;
	case 'f':
		rc = scan_scalar_done(s, scan_literal(s, "false"));
		break;
	case 'n':
		if (scan_is_nonfinite(s->p + s->pos, s->len - s->pos)) {
			return json_scan_fail(s, SYNOD_EJSON_NAN, s->pos, "NaN or Infinity");
		}
		rc = scan_literal(s, "null");
		break;
	case 'N':
	case 'I':
	case 'i':
		if (scan_is_nonfinite(s->p + s->pos, s->len - s->pos)) {
			return json_scan_fail(s, SYNOD_EJSON_NAN, s->pos, "NaN or Infinity");
		}
		return scan_unexpected(s, "a value");
	case '\'':
		return json_scan_fail(s, SYNOD_EJSON_QUOTE, s->pos, "single-quoted string");
	case ']':
		if (s->depth > 0 && s->kind[s->depth - 1] == '[') {
			return json_scan_fail(s, SYNOD_EJSON_SYNTAX, s->pos, "trailing comma");
		}
		return scan_unexpected(s, "a value");
	default:
		if (c == '-' || scan_is_digit(c)) {
			rc = scan_scalar_done(s, scan_number(s));
			break;
		}
		return scan_unexpected(s, "a value");
	}
	if (rc == 0) {
		scan_value_done(s);
	}
	return rc;
}

static int scan_key(struct json_scan *s)
{
	uint8_t c = s->p[s->pos];
	if (c == '\'') {
		return json_scan_fail(s, SYNOD_EJSON_QUOTE, s->pos, "single-quoted key");
	}
	if (c == '}' && s->state == SCAN_KEY) {
		return json_scan_fail(s, SYNOD_EJSON_SYNTAX, s->pos, "trailing comma");
	}
	if (c != '"') {
		return scan_unexpected(s, "a string key");
	}
	SYNOD_ASSERT(s->depth > 0 && s->kind[s->depth - 1] == '{');
	size_t start = s->pos;
	int rc = scan_string(s, true);
	if (rc != 0) {
		return rc;
	}
	s->key_start[s->depth - 1] = start;
	s->key_end[s->depth - 1] = s->pos;
	s->counts[s->slot[s->depth - 1]]++;
	s->state = SCAN_COLON;
	return 0;
}

static int scan_step(struct json_scan *s)
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
static int scan_run(struct json_scan *s)
{
	s->state = SCAN_VALUE;
	while (s->state != SCAN_DONE) {
		scan_skip_ws(s);
		if (s->pos == s->len) {
			bool empty = s->state == SCAN_VALUE && s->depth == 0;
			return json_scan_fail(s, SYNOD_EJSON_SYNTAX, s->pos,
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
		return json_scan_fail(s, SYNOD_EJSON_TRAILING, s->pos,
		                      "bytes after the JSON value");
	}
	/* json_build decodes each string into one scratch buffer */
	return scan_charge(s, json_cost_chunk(s->string_bytes_longest + 1));
}

/* What any parse may allocate: the default hash table of the one object
 * being moved to its own table, with the table header that moves it, and the
 * first counts array. */
static size_t scan_cost_fixed(void)
{
	return json_cost_chunk(JSON_OBJECT_DEF_HASH_ENTRIES * sizeof(struct lh_entry)) +
	       json_cost_chunk(sizeof(struct lh_table)) + JSON_COST_FIXED_BYTES;
}

/* limits->memory_factor x len + limits->memory_bytes_base, saturating. */
static size_t scan_budget(const struct synod_json_limits *limits, size_t len)
{
	size_t f = limits->memory_factor;
	if (f != 0 && len > (SIZE_MAX - limits->memory_bytes_base) / f) {
		return SIZE_MAX;
	}
	return f * len + limits->memory_bytes_base;
}

static bool scan_limits_valid(const struct synod_json_limits *limits)
{
	return limits->depth_max <= SYNOD_JSON_DEPTH_LIMIT_MAX &&
	       limits->bytes_max <= SYNOD_JSON_BYTES_MAX &&
	       limits->memory_factor <= SYNOD_JSON_MEMORY_FACTOR_MAX &&
	       limits->memory_bytes_base <= SYNOD_JSON_MEMORY_BYTES_BASE_MAX;
}

int synod_json_parse_ex(struct json_object **out, const char *buf, size_t len,
                        const struct synod_json_limits *limits, char *errmsg, size_t errmsg_len)
{
	SYNOD_ASSERT(out != NULL && limits != NULL && (buf != NULL || len == 0));
	*out = NULL;
	if (errmsg != NULL && errmsg_len > 0) {
		errmsg[0] = '\0';
	}
	struct json_scan s = {.p = (const uint8_t *)buf,
	                      .len = len,
	                      .lim = limits,
	                      .budget_bytes = scan_budget(limits, len),
	                      .cost_bytes = scan_cost_fixed(),
	                      .errmsg = errmsg,
	                      .errmsg_len = errmsg_len};
	if (!scan_limits_valid(limits)) {
		return json_scan_fail(&s, SYNOD_EINVAL, 0, "JSON limits above the ceiling");
	}
	int rc;
	if (len > limits->bytes_max) {
		rc = json_scan_fail(&s, SYNOD_EJSON_SIZE, limits->bytes_max,
		                    "document longer than %zu bytes", limits->bytes_max);
	} else {
		rc = scan_run(&s);
	}
	if (rc == 0) {
		rc = json_build(&s, out);
	}
	free(s.counts);
	if (rc != 0 && rc != SYNOD_ENOMEM) {
		synod_counter_inc(&json_rejected);
	}
	return rc;
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

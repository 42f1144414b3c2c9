/* RFC 8785 (JCS) canonical JSON over a json-c tree: an iterative writer with
 * an explicit stack bounded by SYNOD_JSON_DEPTH_MAX. */
#include "common/assert.h"
#include "common/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest number ECMAScript writes: "-0.0000012345678901234567" is 25 bytes. */
#define CANON_NUMBER_BYTES 40u

/* Growable output with a sticky error, capped at SYNOD_JSON_BYTES_MAX. */
struct cbuf {
	char *p; /* owned, malloc'd */
	size_t len;
	size_t cap;
	int err;
};

static void cbuf_put(struct cbuf *b, const char *s, size_t n)
{
	if (b->err != 0) {
		return;
	}
	if (n > SYNOD_JSON_BYTES_MAX - b->len) {
		b->err = SYNOD_EJSON_SIZE;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap == 0 ? 256 : b->cap;
		while (cap < b->len + n + 1) {
			cap *= 2;
		}
		char *np = realloc(b->p, cap);
		if (np == NULL) {
			b->err = SYNOD_ENOMEM;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void cbuf_putc(struct cbuf *b, char c)
{
	cbuf_put(b, &c, 1);
}

/* RFC 8785 section 3.2.2.2: only '"', '\\' and controls are escaped; the
 * five controls with short forms use them, the rest \u00xx in lowercase. */
static int canon_string(struct cbuf *b, const char *s, size_t n)
{
	if (synod_utf8_check(s, n, NULL) != 0) {
		return SYNOD_EJSON_UTF8;
	}
	static const char hex[] = "0123456789abcdef";
	cbuf_putc(b, '"');
	size_t run = 0; /* start of the bytes not yet written */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\') {
			continue;
		}
		cbuf_put(b, s + run, i - run);
		run = i + 1;
		char esc[6] = {'\\', (char)c, 0, 0, 0, 0};
		size_t esc_len = 2;
		switch (c) {
		case '"':
			break;
		case '\\':
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			esc_len = 6;
			break;
		}
		cbuf_put(b, esc, esc_len);
	}
	cbuf_put(b, s + run, n - run);
	cbuf_putc(b, '"');
	return 0;
}

/* Shortest decimal digits of x > 0 that read back as x: digits (no trailing
 * zeros) into d, their count in *k and the exponent n of ECMAScript's
 * Number::toString (x = 0.d1d2..dk * 10^n). printf rounds correctly and
 * ties to even, which is the "closest to x" rule when two candidates exist. */
static void canon_shortest(double x, char d[18], int *k, int *n)
{
	char tmp[CANON_NUMBER_BYTES];
	int p = 1;
	for (; p < 17; p++) {
		snprintf(tmp, sizeof tmp, "%.*e", p - 1, x);
		if (strtod(tmp, NULL) == x) {
			break;
		}
	}
	snprintf(tmp, sizeof tmp, "%.*e", p - 1, x);
	/* tmp is "D.DDDDe+XX", or "De+XX" when p == 1 */
	int count = 0;
	d[count++] = tmp[0];
	const char *q = tmp + (p > 1 ? 2 : 1);
	for (; *q != 'e'; q++) {
		d[count++] = *q;
	}
	while (count > 1 && d[count - 1] == '0') {
		count--;
	}
	d[count] = '\0';
	*k = count;
	*n = (int)strtol(q + 1, NULL, 10) + 1;
}

/* ECMAScript Number::toString(x) for finite x (ECMA-262, section on
 * Number::toString; RFC 8785 section 3.2.2.3). Returns the length. */
static size_t canon_format_double(double x, char out[CANON_NUMBER_BYTES])
{
	SYNOD_ASSERT(isfinite(x));
	if (x == 0) { /* and -0 */
		memcpy(out, "0", 2);
		return 1;
	}
	size_t o = 0;
	if (x < 0) {
		out[o++] = '-';
		x = -x;
	}
	char d[18];
	int k;
	int n;
	canon_shortest(x, d, &k, &n);
	int w;
	if (k <= n && n <= 21) { /* integer: digits then n-k zeros */
		w = snprintf(out + o, CANON_NUMBER_BYTES - o, "%s%.*s", d, n - k,
		             "000000000000000000000");
	} else if (0 < n && n <= 21) { /* point inside the digits */
		w = snprintf(out + o, CANON_NUMBER_BYTES - o, "%.*s.%s", n, d, d + n);
	} else if (-6 < n && n <= 0) { /* 0.000ddd */
		w = snprintf(out + o, CANON_NUMBER_BYTES - o, "0.%.*s%s", -n, "000000", d);
	} else { /* exponent form: d[.ddd]e+-X */
		int e = n - 1;
		w = snprintf(out + o, CANON_NUMBER_BYTES - o, "%c%s%se%c%d", d[0], k > 1 ? "." : "",
		             d + 1, e < 0 ? '-' : '+', e < 0 ? -e : e);
	}
	SYNOD_ASSERT(w > 0 && (size_t)w < CANON_NUMBER_BYTES - o);
	return o + (size_t)w;
}

static int canon_number(struct cbuf *b, const struct json_object *o, bool signed_only)
{
	char num[CANON_NUMBER_BYTES];
	size_t n;
	if (json_object_is_type(o, json_type_int)) {
		int64_t v = json_object_get_int64(o);
		if (v < -SYNOD_JSON_SAFE_INT_MAX || v > SYNOD_JSON_SAFE_INT_MAX) {
			return SYNOD_EJSON_INTRANGE;
		}
		int w = snprintf(num, sizeof num, "%" PRId64, v);
		SYNOD_ASSERT(w > 0 && (size_t)w < sizeof num);
		n = (size_t)w;
	} else {
		if (signed_only) {
			return SYNOD_EJSON_TYPE;
		}
		double x = json_object_get_double(o);
		if (!isfinite(x)) {
			return SYNOD_EJSON_NAN;
		}
		n = canon_format_double(x, num);
	}
	cbuf_put(b, num, n);
	return 0;
}

/* Writes a scalar; containers are handled by the caller. */
static int canon_scalar(struct cbuf *b, const struct json_object *o, bool signed_only)
{
	switch (json_object_get_type(o)) {
	case json_type_null:
		cbuf_put(b, "null", 4);
		return 0;
	case json_type_boolean:
		if (json_object_get_boolean(o)) {
			cbuf_put(b, "true", 4);
		} else {
			cbuf_put(b, "false", 5);
		}
		return 0;
	case json_type_int:
	case json_type_double:
		return canon_number(b, o, signed_only);
	case json_type_string:
		return canon_string(b, json_object_get_string((struct json_object *)o),
		                    (size_t)json_object_get_string_len(o));
	case json_type_array:
	case json_type_object:
		break;
	}
	SYNOD_ASSERT(0 && "canon_scalar on a container");
	return SYNOD_ESTATE;
}

/* The weight of a UTF-8 byte such that comparing weights orders valid UTF-8
 * strings by UTF-16 code units: 4-byte sequences (U+10000 and up, surrogate
 * pairs D800-DBFF in UTF-16) sort before the lead bytes EE and EF
 * (U+E000-U+FFFF) and after everything below. Injective, so any byte strings
 * get a total order. */
static unsigned canon_weight(unsigned char c)
{
	if (c <= 0xed) {
		return c;
	}
	if (c >= 0xf0) {
		return c - 2u;
	}
	return c + 0x20u;
}

static int canon_key_cmp(const void *a, const void *b)
{
	const unsigned char *x = lh_entry_k(*(struct lh_entry *const *)a);
	const unsigned char *y = lh_entry_k(*(struct lh_entry *const *)b);
	while (*x != '\0' && *x == *y) {
		x++;
		y++;
	}
	unsigned wx = *x == '\0' ? 0 : canon_weight(*x) + 1;
	unsigned wy = *y == '\0' ? 0 : canon_weight(*y) + 1;
	return wx < wy ? -1 : wx > wy ? 1 : 0;
}

struct canon_frame {
	const struct json_object *obj;
	struct lh_entry **members; /* owned: an object's entries, sorted */
	bool is_object;
	size_t count;
	size_t idx;
};

/* Writes the opening of a container and fills its frame. */
static int canon_open(struct cbuf *b, struct canon_frame *f, const struct json_object *o)
{
	*f = (struct canon_frame){.obj = o};
	if (json_object_is_type(o, json_type_array)) {
		f->count = json_object_array_length(o);
		cbuf_putc(b, '[');
		return 0;
	}
	f->is_object = true;
	f->count = (size_t)json_object_object_length(o);
	if (f->count > 0) {
		f->members = malloc(f->count * sizeof *f->members);
		if (f->members == NULL) {
			return SYNOD_ENOMEM;
		}
	}
	size_t i = 0;
	for (struct lh_entry *e = lh_table_head(json_object_get_object(o)); e != NULL;
	     e = lh_entry_next(e)) {
		SYNOD_ASSERT(i < f->count);
		f->members[i++] = e;
	}
	SYNOD_ASSERT(i == f->count);
	if (f->count > 1) {
		qsort(f->members, f->count, sizeof *f->members, canon_key_cmp);
	}
	cbuf_putc(b, '{');
	return 0;
}

/* Writes the next member's key (for objects) and returns the next value. */
static int canon_next(struct cbuf *b, struct canon_frame *f, const struct json_object **child)
{
	if (f->idx > 0) {
		cbuf_putc(b, ',');
	}
	if (!f->is_object) {
		*child = json_object_array_get_idx(f->obj, f->idx++);
		return 0;
	}
	struct lh_entry *e = f->members[f->idx++];
	const char *key = lh_entry_k(e);
	int rc = canon_string(b, key, strlen(key));
	cbuf_putc(b, ':');
	*child = (const struct json_object *)lh_entry_v(e);
	return rc;
}

static bool canon_is_container(const struct json_object *o)
{
	return json_object_is_type(o, json_type_array) || json_object_is_type(o, json_type_object);
}

/* Writes one value: a scalar, or the opening of a container pushed on stack. */
static int canon_value(struct cbuf *b, struct canon_frame *stack, size_t *top,
                       const struct json_object *o, bool signed_only)
{
	if (!canon_is_container(o)) {
		return canon_scalar(b, o, signed_only);
	}
	if (*top == SYNOD_JSON_DEPTH_MAX) {
		return SYNOD_EJSON_DEPTH;
	}
	int rc = canon_open(b, &stack[*top], o);
	(*top)++;
	return rc;
}

static int canon_run(struct cbuf *b, const struct json_object *root, bool signed_only)
{
	struct canon_frame stack[SYNOD_JSON_DEPTH_MAX];
	size_t top = 0;
	int rc = canon_value(b, stack, &top, root, signed_only);
	while (rc == 0 && b->err == 0 && top > 0) {
		struct canon_frame *f = &stack[top - 1];
		if (f->idx == f->count) {
			cbuf_putc(b, f->is_object ? '}' : ']');
			free(f->members);
			top--;
			continue;
		}
		const struct json_object *child;
		rc = canon_next(b, f, &child);
		if (rc == 0) {
			rc = canon_value(b, stack, &top, child, signed_only);
		}
	}
	while (top > 0) {
		free(stack[--top].members);
	}
	return rc != 0 ? rc : b->err;
}

static int canon_encode(const struct json_object *obj, char **out, size_t *len, bool signed_only)
{
	SYNOD_ASSERT(out != NULL && len != NULL);
	*out = NULL;
	*len = 0;
	struct cbuf b = {0};
	int rc = canon_run(&b, obj, signed_only);
	if (rc != 0) {
		free(b.p);
		return rc;
	}
	SYNOD_ASSERT(b.p != NULL && b.len > 0 && b.p[b.len] == '\0');
	*out = b.p;
	*len = b.len;
	return 0;
}

int synod_json_canonical(const struct json_object *obj, char **out, size_t *len)
{
	return canon_encode(obj, out, len, false);
}

int synod_json_canonical_signed(const struct json_object *obj, char **out, size_t *len)
{
	return canon_encode(obj, out, len, true);
}

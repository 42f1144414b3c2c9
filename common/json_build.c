/* Strict JSON parsing, second pass: builds the json-c tree from bytes the
 * scanner (json_parse.c) accepted, so this code trusts their syntax. We build
 * the tree ourselves rather than with json_tokener because json-c 0.16's
 * tokener has no out-of-memory error (a failed allocation can end a parse as
 * success with a NULL tree, i.e. the document "null", or a truncated
 * string), sizes every array and object by default rather than by content,
 * and keeps a repeated key's last value silently. Here every json-c call is
 * checked, containers are sized from the scanner's counts, and a repeated key
 * is found by a lookup before each insert (json-c hashes keys with a random
 * seed, so this stays linear). */
#include "common/assert.h"
#include "common/json_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest key quoted in a duplicate-key message, in bytes. */
#define JSON_MSG_KEY_BYTES_MAX 64u

static int64_t alloc_fail_countdown = -1;

void synod_json_test_alloc_fail(int64_t allocations)
{
	alloc_fail_countdown = allocations;
}

bool json_alloc_ok(void)
{
	if (alloc_fail_countdown < 0) {
		return true;
	}
	if (alloc_fail_countdown == 0) {
		alloc_fail_countdown = -1;
		return false;
	}
	alloc_fail_countdown--;
	return true;
}

struct build {
	struct json_scan *s;
	size_t pos;
	size_t count_next; /* next entry of s->counts, in document order */
	char *scratch;     /* owned: one decoded string or key at a time */
	uint32_t depth;
	struct json_object *stack[SYNOD_JSON_DEPTH_LIMIT_MAX]; /* open containers */
};

static int build_nomem(struct build *b)
{
	return json_scan_fail(b->s, SYNOD_ENOMEM, b->pos, "out of memory");
}

static void build_skip_ws(struct build *b)
{
	while (b->pos < b->s->len) {
		uint8_t c = b->s->p[b->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			return;
		}
		b->pos++;
	}
}

/* Moves past the string token at b->pos (its '"') without decoding it. */
static void build_skip_string(struct build *b)
{
	size_t i = b->pos + 1;
	while (b->s->p[i] != '"') {
		i += b->s->p[i] == '\\' ? 2 : 1;
	}
	b->pos = i + 1;
}

static bool build_is_number_char(uint8_t c)
{
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

static size_t build_put_utf8(char *out, uint32_t cp)
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

/* Decodes the string token at b->pos (its '"') into b->scratch,
 * NUL-terminated, and moves past it. Returns the decoded length, which is at
 * most the token's (the scanner sized scratch for the longest token). */
static size_t build_string(struct build *b)
{
	static const char simple[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	const uint8_t *p = b->s->p;
	size_t i = b->pos + 1;
	size_t o = 0;
	while (p[i] != '"') {
		if (p[i] != '\\') {
			b->scratch[o++] = (char)p[i++];
			continue;
		}
		uint8_t e = p[i + 1];
		if (e != 'u') {
			const char *m = strchr(simple, e);
			SYNOD_ASSERT(m != NULL && e != '\0' && ((m - simple) % 2) == 0);
			b->scratch[o++] = m[1];
			i += 2;
			continue;
		}
		uint32_t cp = (uint32_t)json_hex4(p + i + 2, 4);
		i += 6;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			uint32_t lo = (uint32_t)json_hex4(p + i + 2, 4);
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			i += 6;
		}
		SYNOD_ASSERT(cp != 0); /* the scanner refuses U+0000 */
		o += build_put_utf8(b->scratch + o, cp);
	}
	SYNOD_ASSERT(o <= i - b->pos - 1 && o <= b->s->string_bytes_longest);
	b->scratch[o] = '\0';
	b->pos = i + 1;
	return o;
}

/* A number token the scanner checked: an int64 within +-(2^53-1), or a
 * finite double when it has a fraction or an exponent. */
static struct json_object *build_number(struct build *b)
{
	const uint8_t *p = b->s->p;
	size_t start = b->pos;
	bool is_double = false;
	while (b->pos < b->s->len && build_is_number_char(p[b->pos])) {
		is_double = is_double || p[b->pos] == '.' || (p[b->pos] | 0x20) == 'e';
		b->pos++;
	}
	size_t n = b->pos - start;
	if (!json_alloc_ok()) {
		return NULL;
	}
	if (is_double) {
		char tmp[SYNOD_JSON_NUMBER_BYTES_MAX + 1];
		SYNOD_ASSERT(n < sizeof tmp);
		memcpy(tmp, p + start, n);
		tmp[n] = '\0';
		return json_object_new_double(strtod(tmp, NULL));
	}
	bool neg = p[start] == '-';
	int64_t v = 0;
	for (size_t i = neg ? 1 : 0; i < n; i++) {
		v = v * 10 + (p[start + i] - '0');
	}
	return json_object_new_int64(neg ? -v : v);
}

/* A new object whose table holds `members` keys without resizing, and no
 * larger (json_internal.h). */
static struct json_object *build_object(uint32_t members)
{
	struct json_object *o = json_alloc_ok() ? json_object_new_object() : NULL;
	size_t entries = json_table_entries(members);
	if (o != NULL &&
	    (!json_alloc_ok() || lh_table_resize(json_object_get_object(o), (int)entries) != 0)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* The value at b->pos into *out (a new reference; NULL for null) and moves
 * past it, or past the opening bracket of a container. */
static int build_value(struct build *b, struct json_object **out)
{
	uint8_t c = b->s->p[b->pos];
	struct json_object *o = NULL;
	if (c == 'n') {
		b->pos += 4;
		*out = NULL;
		return 0;
	}
	if (c == '{' || c == '[') {
		SYNOD_ASSERT(b->count_next < b->s->counts_len);
		uint32_t n = b->s->counts[b->count_next++];
		if (c == '{') {
			o = build_object(n);
		} else {
			/* json-c 0.16 grows an array when it adds the element that
			 * fills it: one slot more avoids doubling it */
			o = json_alloc_ok() ? json_object_new_array_ext((int)n + 1) : NULL;
		}
		b->pos++;
	} else if (c == '"') {
		size_t len = build_string(b);
		o = json_alloc_ok() ? json_object_new_string_len(b->scratch, (int)len) : NULL;
	} else if (c == 't' || c == 'f') {
		b->pos += c == 't' ? 4 : 5;
		o = json_alloc_ok() ? json_object_new_boolean(c == 't') : NULL;
	} else {
		o = build_number(b);
	}
	if (o == NULL) {
		return build_nomem(b);
	}
	*out = o;
	return 0;
}

/* Copies key into out[cap] for a message: printable ASCII and UTF-8 kept,
 * quotes, backslashes and controls become '?', long keys end in "...". */
static void build_quote(char *out, size_t cap, const char *key)
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

/* Adds child (owned: put on failure) to obj under the key in b->scratch,
 * whose token starts at key_at. */
static int build_member_add(struct build *b, struct json_object *obj, size_t key_at,
                            struct json_object *child)
{
	if (json_object_object_get_ex(obj, b->scratch, NULL)) {
		json_object_put(child);
		char q[JSON_MSG_KEY_BYTES_MAX + 4];
		build_quote(q, sizeof q, b->scratch);
		return json_scan_fail(b->s, SYNOD_EJSON_DUPKEY, key_at, "duplicate key \"%s\"", q);
	}
	/* build_object sized the table; were it full, json-c would resize it
	 * inside the insert and leak the key copy if that failed */
	struct lh_table *t = json_object_get_object(obj);
	if ((double)t->count >= (double)t->size * LH_LOAD_FACTOR &&
	    (!json_alloc_ok() || lh_table_resize(t, t->size * 2) != 0)) {
		json_object_put(child);
		return build_nomem(b);
	}
	if (!json_alloc_ok() ||
	    json_object_object_add_ex(obj, b->scratch, child, JSON_C_OBJECT_ADD_KEY_IS_NEW) != 0) {
		json_object_put(child);
		return build_nomem(b);
	}
	return 0;
}

/* One value (with its key, in an object) into the open container, or the
 * root; a container is pushed and filled by the next steps. */
static int build_step(struct build *b, struct json_object **root)
{
	struct json_object *parent = b->depth > 0 ? b->stack[b->depth - 1] : NULL;
	bool in_object = parent != NULL && json_object_is_type(parent, json_type_object);
	size_t key_at = b->pos;
	if (in_object) {
		/* the key is decoded once the value is built: scratch holds one
		 * string at a time */
		build_skip_string(b);
		build_skip_ws(b);
		SYNOD_ASSERT(b->s->p[b->pos] == ':');
		b->pos++;
		build_skip_ws(b);
	}
	struct json_object *child = NULL;
	int rc = build_value(b, &child);
	if (rc != 0) {
		return rc;
	}
	bool container = child != NULL && (json_object_is_type(child, json_type_object) ||
	                                   json_object_is_type(child, json_type_array));
	if (parent == NULL) {
		*root = child;
	} else if (in_object) {
		size_t after = b->pos;
		b->pos = key_at;
		(void)build_string(b);
		b->pos = after;
		rc = build_member_add(b, parent, key_at, child);
	} else if (!json_alloc_ok() || json_object_array_add(parent, child) != 0) {
		json_object_put(child);
		rc = build_nomem(b);
	}
	if (rc == 0 && container) {
		SYNOD_ASSERT(b->depth < SYNOD_JSON_DEPTH_LIMIT_MAX);
		b->stack[b->depth++] = child;
	}
	return rc;
}

/* Every iteration consumes at least one byte of the validated input and the
 * loop ends when the top-level value is complete. */
static int build_run(struct build *b, struct json_object **root)
{
	for (;;) {
		build_skip_ws(b);
		SYNOD_ASSERT(b->pos < b->s->len);
		uint8_t c = b->s->p[b->pos];
		if (c == ',') {
			b->pos++;
			continue;
		}
		if (c == ']' || c == '}') {
			SYNOD_ASSERT(b->depth > 0);
			b->pos++;
			if (--b->depth == 0) {
				return 0;
			}
			continue;
		}
		size_t before = b->pos;
		int rc = build_step(b, root);
		if (rc != 0) {
			return rc;
		}
		SYNOD_ASSERT(b->pos > before);
		if (b->depth == 0) {
			return 0; /* a scalar at the top level */
		}
	}
}

int json_build(struct json_scan *s, struct json_object **out)
{
	*out = NULL;
	struct build b = {.s = s};
	b.scratch = json_alloc_ok() ? malloc(s->string_bytes_longest + 1) : NULL;
	if (b.scratch == NULL) {
		return build_nomem(&b);
	}
	struct json_object *root = NULL;
	int rc = build_run(&b, &root);
	free(b.scratch);
	if (rc != 0) {
		json_object_put(root);
		return rc;
	}
	SYNOD_ASSERT(b.count_next == s->counts_len);
	*out = root;
	return 0;
}

/* Strict JSON parsing, RFC 8785 canonical JSON and typed getters.
 *
 * Parsing: our own iterative scanner validates every byte against RFC 8259
 * and the I-JSON rules we need (RFC 7493) and prices the tree; then our
 * builder makes the json-c tree from the validated bytes, checking every
 * allocation (json-c's own tokener is not used: it has no out-of-memory
 * error). We reject what json-c 0.16 lets through even in strict mode:
 * duplicate keys, NaN/Infinity, single quotes, lone surrogate escapes,
 * integers it would clamp, overlong or surrogate UTF-8. Nothing is logged
 * here: each rejection increments the counter synod_json_rejected_total and
 * the caller logs the errmsg.
 *
 * Deliberate restrictions beyond RFC 8259: no string or key may contain
 * U+0000, escaped or raw (SYNOD_EJSON_NUL): C strings end there, so json-c
 * keys and any strcmp would see a prefix where other readers see the whole
 * string; a number token is at most SYNOD_JSON_NUMBER_BYTES_MAX
 * bytes and a string token at most SYNOD_JSON_STRING_BYTES_MAX bytes as
 * written (SYNOD_EJSON_SIZE); a number with a fraction or exponent that
 * overflows a double is SYNOD_EJSON_NAN (it would be Infinity). Numbers with
 * a fraction or an exponent become doubles, plain integers json-c int64s.
 *
 * Known gap: JCS writes integral doubles below 1e21 without an exponent, so
 * the general canonical form of, say, 1e16 is 10000000000000000, which this
 * parser refuses as SYNOD_EJSON_INTRANGE. Signed payloads (integers only)
 * always re-parse.
 *
 * Canonical form (RFC 8785, JCS): no whitespace, object members sorted by the
 * UTF-16 code units of their keys, strings escaped only where JCS says so,
 * numbers written as ECMAScript's Number.prototype.toString writes them.
 * Signed payloads use a subset: strings, integers within +-(2^53-1),
 * booleans, null, arrays and objects; no doubles. Number formatting uses
 * printf/strtod and assumes the C locale (the default unless the program
 * calls setlocale). */
#ifndef SYNOD_COMMON_JSON_H
#define SYNOD_COMMON_JSON_H

#include "common/err.h"
#include "common/limits.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest number token the parser accepts, in bytes (a double needs at most
 * 24 characters in shortest form; this leaves room for zero padding such as
 * RFC 8785's 0.000000000000000000000000001). */
#define SYNOD_JSON_NUMBER_BYTES_MAX 128u
/* Hard ceiling for synod_json_limits.depth_max (the scanner's stack size). */
#define SYNOD_JSON_DEPTH_LIMIT_MAX 256u
/* Room for an errmsg that always fits the longest message this module writes
 * (a key is quoted up to 64 bytes, a member path up to 112). Shorter buffers
 * truncate the message. */
#define SYNOD_JSON_ERRMSG_BYTES 192u
/* Ceilings for synod_json_limits' memory budget. */
#define SYNOD_JSON_MEMORY_FACTOR_MAX     1024u
#define SYNOD_JSON_MEMORY_BYTES_BASE_MAX (1024u * 1024u * 1024u)

_Static_assert(SYNOD_JSON_DEPTH_MAX <= SYNOD_JSON_DEPTH_LIMIT_MAX,
               "default depth within the ceiling");
_Static_assert(SYNOD_JSON_BYTES_MAX <= 0x7fffffffu, "json-c takes an int length");
_Static_assert(SYNOD_JSON_STRING_BYTES_MAX <= SYNOD_JSON_BYTES_MAX, "a string fits a document");
_Static_assert(SYNOD_JSON_MEMORY_FACTOR <= SYNOD_JSON_MEMORY_FACTOR_MAX &&
                   SYNOD_JSON_MEMORY_BYTES_BASE <= SYNOD_JSON_MEMORY_BYTES_BASE_MAX,
               "default memory budget within the ceilings");

/* Memory budget. A parse of len bytes may allocate at most
 *     memory_factor x len + memory_bytes_base
 * bytes, counted as glibc chunks (request + 8-byte header, rounded up to 16,
 * at least 32; glibc may add 16 bytes to a chunk it does not split): the
 * finished tree, the parser's own buffers and every transient copy on the
 * way, i.e. the peak. The scanner prices the tree from json-c 0.16's node
 * sizes before anything is built and refuses a document over budget with
 * SYNOD_EJSON_MEMORY, having allocated at most 12 bytes per container seen.
 * The default (16 x len + 64 KiB) admits the documents synod writes, mostly
 * hex and base64 strings (a string costs its length + 49, rounded up), and
 * refuses dense trees of tiny values: an empty object costs 224 bytes, an
 * empty array 144, a number or boolean 64, an empty string 80, each plus its
 * slot (8 bytes in an array, about 63 in an object), so 2 MiB of [{},{},...],
 * [[],[],...], [0,0,...] or ["","",...] is refused while [true,true,...]
 * (5 bytes for 72) parses. tests/unit/test_json_memory.c measures the peak of
 * such documents against this budget and against the scanner's price. */
struct synod_json_limits {
	uint32_t depth_max;       /* nested arrays/objects; 0 allows a scalar only */
	size_t bytes_max;         /* whole document */
	size_t string_bytes_max;  /* one string token as written, escapes included */
	uint32_t memory_factor;   /* budget bytes per input byte */
	size_t memory_bytes_base; /* budget bytes for any document */
};

/* The defaults from common/limits.h. */
extern const struct synod_json_limits synod_json_limits_default;

/* Parses buf[0..len) (need not be NUL-terminated) with the default limits.
 * On success *out is a new tree owned by the caller (json_object_put); it is
 * NULL for the document "null" (json-c's null). On failure *out is NULL and
 * errmsg (may be NULL) says what and at which byte (counted from 0), e.g.
 * "duplicate key \"a\" at byte 17". Errors: SYNOD_EJSON_SYNTAX (not
 * RFC 8259 JSON: bad token, control character in a string, leading zero, '+',
 * trailing comma, comment, bare word, bad escape, empty input),
 * SYNOD_EJSON_DEPTH, SYNOD_EJSON_UTF8, SYNOD_EJSON_DUPKEY,
 * SYNOD_EJSON_TRAILING, SYNOD_EJSON_NAN, SYNOD_EJSON_QUOTE,
 * SYNOD_EJSON_SURROGATE, SYNOD_EJSON_INTRANGE (integer outside
 * +-(2^53-1)), SYNOD_EJSON_SIZE (document, string or number too long),
 * SYNOD_EJSON_NUL (U+0000 in a string or key; errmsg names the member path,
 * e.g. "U+0000 in the string at decision.outcome at byte 40"),
 * SYNOD_EJSON_MEMORY (over the memory budget), SYNOD_ENOMEM (an allocation
 * failed: never reported as success or as another error). */
SYNOD_WUR int synod_json_parse(struct json_object **out, const char *buf, size_t len, char *errmsg,
                               size_t errmsg_len);

/* As synod_json_parse with explicit limits (borrowed; start from
 * synod_json_limits_default). SYNOD_EINVAL when depth_max exceeds
 * SYNOD_JSON_DEPTH_LIMIT_MAX, bytes_max SYNOD_JSON_BYTES_MAX or the memory
 * budget its ceilings. */
SYNOD_WUR int synod_json_parse_ex(struct json_object **out, const char *buf, size_t len,
                                  const struct synod_json_limits *limits, char *errmsg,
                                  size_t errmsg_len);

/* Writes obj in RFC 8785 canonical form. On success *out is a malloc'd,
 * NUL-terminated string owned by the caller (free) and *len its length
 * without the NUL; on failure *out is NULL. obj is borrowed and may be NULL
 * (JSON null). Errors: SYNOD_EJSON_NAN (NaN or infinite double),
 * SYNOD_EJSON_INTRANGE (an int64 outside +-(2^53-1): JCS has only doubles and
 * would change its value), SYNOD_EJSON_UTF8 (a string or key that is not
 * UTF-8), SYNOD_EJSON_DEPTH (deeper than SYNOD_JSON_DEPTH_MAX),
 * SYNOD_EJSON_SIZE (output above SYNOD_JSON_BYTES_MAX), SYNOD_ENOMEM. */
SYNOD_WUR int synod_json_canonical(const struct json_object *obj, char **out, size_t *len);

/* As synod_json_canonical for signed payloads: any double (even 1.0) is
 * SYNOD_EJSON_TYPE. */
SYNOD_WUR int synod_json_canonical_signed(const struct json_object *obj, char **out, size_t *len);

/* How signed payloads are accepted: a strict parse, then the input must equal
 * its canonical signed encoding byte for byte. Ownership as synod_json_parse.
 * Errors: those of synod_json_parse, SYNOD_EJSON_TYPE (a double),
 * SYNOD_EJSON_NONCANON (errmsg names the first differing byte). */
SYNOD_WUR int synod_json_parse_canonical(struct json_object **out, const char *buf, size_t len,
                                         char *errmsg, size_t errmsg_len);

/* Checks that s[0..len) is well-formed UTF-8 (no overlongs, no encoded
 * surrogates, nothing above U+10FFFF). 0 or SYNOD_EJSON_UTF8, with the
 * offset of the first bad byte in *bad_offset (may be NULL). */
SYNOD_WUR int synod_utf8_check(const char *s, size_t len, size_t *bad_offset);

/* Rejections counted so far by synod_json_rejected_total (for tests). */
uint64_t synod_json_rejected_count(void);

/* Typed getters. obj is borrowed and must be an object (else
 * SYNOD_EJSON_TYPE); a missing key is SYNOD_ENOTFOUND; a value of another
 * type is SYNOD_EJSON_TYPE. Pointers returned are borrowed from obj and live
 * as long as it does. *out is untouched on failure. */

/* A string as a C string. One holding U+0000 (possible only in a tree built
 * in code: the parser refuses it) is SYNOD_EJSON_NUL, never a prefix. */
SYNOD_WUR int synod_json_get_string(const struct json_object *obj, const char *key,
                                    const char **out);
/* Any string, with its length in bytes. */
SYNOD_WUR int synod_json_get_string_len(const struct json_object *obj, const char *key,
                                        const char **out, size_t *len);
/* An integer (a double such as 1.0 is SYNOD_EJSON_TYPE) within +-(2^53-1),
 * else SYNOD_EJSON_INTRANGE. */
SYNOD_WUR int synod_json_get_int64(const struct json_object *obj, const char *key, int64_t *out);
SYNOD_WUR int synod_json_get_bool(const struct json_object *obj, const char *key, bool *out);
SYNOD_WUR int synod_json_get_object(const struct json_object *obj, const char *key,
                                    const struct json_object **out);
SYNOD_WUR int synod_json_get_array(const struct json_object *obj, const char *key,
                                   const struct json_object **out);
/* A string of exactly 2*n hex digits, decoded into out[0..n). Wrong length or
 * a non-hex character is SYNOD_EINVAL. */
SYNOD_WUR int synod_json_get_hex(const struct json_object *obj, const char *key, uint8_t *out,
                                 size_t n);

/* Short static name of obj's JSON type for messages: "null", "boolean",
 * "integer", "number", "string", "array", "object". */
const char *synod_json_type_name(const struct json_object *obj);

#endif

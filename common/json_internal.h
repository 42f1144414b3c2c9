/* Internal to the strict JSON parser: json_parse.c scans (validates, counts
 * and prices the tree), json_build.c builds the json-c tree from the scanned
 * bytes. Tests include it for the allocation-failure hook and the cost
 * model; nothing else should. */
#ifndef SYNOD_COMMON_JSON_INTERNAL_H
#define SYNOD_COMMON_JSON_INTERNAL_H

#include "common/json.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- cost model ----
 * What json-c 0.16 allocates for each node on a 64-bit glibc, counted in
 * glibc chunks: a request takes itself plus an 8-byte header, rounded up to
 * 16 bytes, at least 32 (large requests are mmap'd: a page more at most).
 * json-c's node structs are private; their sizes are written here and
 * checked by tests/unit/test_json_memory.c, which measures real chunks. */
#define JSON_COST_MMAP_BYTES      (128u * 1024u) /* glibc's default mmap threshold */
#define JSON_COST_PAGE_BYTES      4096u
#define JSON_COST_NODE_BYTES      48u /* struct json_object + one pointer/double/bool */
#define JSON_COST_INT_BYTES       56u /* struct json_object_int */
#define JSON_COST_STRING_BYTES    49u /* struct json_object_string before its data, + NUL */
#define JSON_COST_STRING_MIN      8u  /* json-c keeps room for a pointer in short strings */
#define JSON_COST_ARRAYLIST_BYTES 32u /* struct array_list */
/* The scanner's member count per container (uint32_t), grown by doubling:
 * old and new arrays coexist during realloc. */
#define JSON_COST_COUNT_BYTES 12u
/* Fixed costs of one parse: the first counts array and slack. */
#define JSON_COST_FIXED_BYTES 256u

static inline size_t json_cost_chunk(size_t n)
{
	size_t c = (n + 8u + 15u) & ~(size_t)15u;
	c = c < 32u ? 32u : c;
	return n >= JSON_COST_MMAP_BYTES ? c + JSON_COST_PAGE_BYTES : c;
}

/* json-c gives a new object a table of JSON_OBJECT_DEF_HASH_ENTRIES (16)
 * entries of 40 bytes and resizes it when count >= size * LH_LOAD_FACTOR
 * (0.66), the old and new tables coexisting meanwhile. The builder moves
 * each new object to a table of this many entries at once, where no insert
 * resizes it (size >= 1.5625 * members + 0.56, so size * 0.66 >=
 * 1.03 * members + 0.37 > members - 1): 63 bytes a member instead of up to
 * 180, and an empty object costs 224 bytes instead of 784. The default table
 * lives only until then, one object at a time. */
static inline size_t json_table_entries(size_t members)
{
	return members + members / 2u + members / 16u + 2u;
}

/* ---- the scanner's results, read by the builder ---- */

struct json_scan {
	const uint8_t *p; /* borrowed input */
	size_t len;
	size_t pos;
	const struct synod_json_limits *lim;
	int state;
	uint32_t depth;
	uint8_t kind[SYNOD_JSON_DEPTH_LIMIT_MAX];     /* '[' or '{' per open container */
	uint32_t slot[SYNOD_JSON_DEPTH_LIMIT_MAX];    /* its index in counts */
	size_t key_start[SYNOD_JSON_DEPTH_LIMIT_MAX]; /* open object: current key's '"' */
	size_t key_end[SYNOD_JSON_DEPTH_LIMIT_MAX];   /* just after its closing quote */
	uint32_t *counts; /* owned: members or elements per container, in document order */
	size_t counts_len;
	size_t counts_cap;
	size_t cost_bytes;           /* the tree's price so far (cost model above) */
	size_t budget_bytes;         /* refused when cost_bytes exceeds it */
	size_t string_bytes_longest; /* longest string or key token, quotes excluded */
	char *errmsg;
	size_t errmsg_len;
};

/* Writes "<what> at byte <at>" into s->errmsg and returns err. */
__attribute__((format(printf, 4, 5))) int json_scan_fail(struct json_scan *s, int err, size_t at,
                                                         const char *fmt, ...);

/* The value of four hex digits at p[0..4), or -1 when n < 4 or not hex. */
int32_t json_hex4(const uint8_t *p, size_t n);

/* Builds the tree of the document s accepted. On success *out is the new
 * tree (NULL for "null"); on failure *out is NULL. Errors: SYNOD_ENOMEM,
 * SYNOD_EJSON_DUPKEY. */
int json_build(struct json_scan *s, struct json_object **out);

/* False when the allocation-failure hook says this allocation fails. */
bool json_alloc_ok(void);

/* Test hook: the allocation after `allocations` more successful ones fails
 * (once); -1 disarms. Counts the parser's own allocations and every json-c
 * call that allocates. Not thread-safe; tests only. */
void synod_json_test_alloc_fail(int64_t allocations);

#endif

/* The strict parser's memory budget (common/json.h): the peak of the bytes
 * allocated during a parse, measured here, stays within
 * memory_factor x len + memory_bytes_base for dense 2 MiB documents, and the
 * scanner's price of a tree is at least its measured peak.
 *
 * Measuring: in a plain build this binary replaces malloc, calloc, realloc
 * and free (glibc supports that) with wrappers around glibc's own that count
 * real chunk sizes (malloc_usable_size + the 8-byte header). Under
 * AddressSanitizer, which owns malloc, ASan's allocation hooks count each
 * request as the glibc chunk it would take. Both count every allocation of
 * the process during a parse, json-c's included. */
#include "common/json.h"
#include "common/json_internal.h"

#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmocka needs the headers above first */
#include <cmocka.h>

#if defined(__SANITIZE_ADDRESS__)
#define MEM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEM_ASAN 1
#endif
#endif

/* Live bytes since mem_parse began, their peak, and allocations made. */
static int64_t mem_live;
static int64_t mem_peak;
static int64_t mem_allocs;
static bool mem_on;

static void mem_add(int64_t bytes)
{
	if (!mem_on) {
		return;
	}
	mem_allocs += bytes > 0 ? 1 : 0;
	mem_live += bytes;
	if (mem_live > mem_peak) {
		mem_peak = mem_live;
	}
}

#ifdef MEM_ASAN
/* From sanitizer/allocator_interface.h, which gcc does not install. */
int __sanitizer_get_ownership(const volatile void *p);
size_t __sanitizer_get_allocated_size(const volatile void *p);
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));

static void mem_malloc_hook(const volatile void *p, size_t size)
{
	(void)p;
	mem_add((int64_t)json_cost_chunk(size));
}

static void mem_free_hook(const volatile void *p)
{
	if (p != NULL && __sanitizer_get_ownership(p)) {
		mem_add(-(int64_t)json_cost_chunk(__sanitizer_get_allocated_size(p)));
	}
}

static void mem_install(void)
{
	static bool done;
	if (!done) {
		done =
		    __sanitizer_install_malloc_and_free_hooks(mem_malloc_hook, mem_free_hook) != 0;
	}
}
#else
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

static int64_t mem_chunk(void *p)
{
	return p != NULL ? (int64_t)malloc_usable_size(p) + 8 : 0;
}

void *malloc(size_t n)
{
	void *p = __libc_malloc(n);
	mem_add(mem_chunk(p));
	return p;
}

void *calloc(size_t n, size_t size)
{
	void *p = __libc_calloc(n, size);
	mem_add(mem_chunk(p));
	return p;
}

void *realloc(void *old, size_t n)
{
	int64_t before = mem_chunk(old);
	void *p = __libc_realloc(old, n);
	if (p != NULL || n == 0) {
		/* old and new chunks coexist while realloc copies */
		mem_add(mem_chunk(p));
		mem_add(-before);
	}
	return p;
}

void free(void *p)
{
	mem_add(-mem_chunk(p));
	__libc_free(p);
}

static void mem_install(void)
{
}
#endif

struct measured {
	int rc;
	size_t peak_bytes;
	size_t allocs;
	char err[SYNOD_JSON_ERRMSG_BYTES];
};

/* Parses doc with lim; the tree lives until the peak is read. */
static struct measured mem_parse(const char *doc, size_t len, const struct synod_json_limits *lim)
{
	struct measured m = {0};
	struct json_object *o = NULL;
	mem_install();
	mem_live = 0;
	mem_peak = 0;
	mem_allocs = 0;
	mem_on = true;
	m.rc = synod_json_parse_ex(&o, doc, len, lim, m.err, sizeof m.err);
	mem_on = false;
	json_object_put(o);
	m.peak_bytes = (size_t)mem_peak;
	m.allocs = (size_t)mem_allocs;
	return m;
}

/* A document of about `bytes` bytes: open, then item (its index in place of
 * a '#') separated by commas, then close. Caller frees. */
static char *mem_doc(size_t bytes, const char *open, const char *item, const char *close,
                     size_t *len)
{
	char *d = malloc(bytes + 16);
	assert_non_null(d);
	size_t n = (size_t)sprintf(d, "%s", open);
	size_t items = 0;
	while (n + 96 < bytes) {
		if (items > 0) {
			d[n++] = ',';
		}
		const char *hash = strchr(item, '#');
		if (hash == NULL) {
			n += (size_t)sprintf(d + n, "%s", item);
		} else {
			n += (size_t)sprintf(d + n, "%.*s%zu%s", (int)(hash - item), item, items,
			                     hash + 1);
		}
		items++;
	}
	n += (size_t)sprintf(d + n, "%s", close);
	*len = n;
	return d;
}

/* "[[[...]]]" depth deep, repeated in a top-level array: about bytes long. */
static char *mem_doc_deep(size_t bytes, uint32_t depth, size_t *len)
{
	char *d = malloc(bytes + 2 * depth + 8);
	assert_non_null(d);
	size_t n = 0;
	d[n++] = '[';
	while (n + 2 * depth + 4 < bytes) {
		if (n > 1) {
			d[n++] = ',';
		}
		memset(d + n, '[', depth - 1);
		memset(d + n + depth - 1, ']', depth - 1);
		n += 2 * (depth - 1);
	}
	d[n++] = ']';
	*len = n;
	return d;
}

struct shape {
	const char *name;
	const char *open;
	const char *item;
	const char *close;
	uint32_t depth; /* nonzero: mem_doc_deep of this depth */
	bool fits;      /* expected to parse within the default budget */
};

static const struct shape shapes[] = {
    {"[{},{},...]", "[", "{}", "]", 0, false},
    {"[[],[],...]", "[", "[]", "]", 0, false},
    {"[0,0,...]", "[", "0", "]", 0, false},
    {"[\"\",\"\",...]", "[", "\"\"", "]", 0, false},
    {"[1.5,...]", "[", "1.5", "]", 0, false},
    {"{\"k0\":{},...}", "{", "\"k#\":{}", "}", 0, false},
    {"{\"k0\":0,...}", "{", "\"k#\":0", "}", 0, true},
    {"[true,...]", "[", "true", "]", 0, true},
    {"[null,...]", "[", "null", "]", 0, true},
    {"[\"<hex64>\",...]", "[",
     "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"", "]", 0, true},
    {"[{\"seat\":N,\"sig\":\"<hex32>\"},...]", "[",
     "{\"seat\":#,\"sig\":\"00112233445566778899aabbccddeeff\"}", "]", 0, true},
    {"[[[...32 deep...]]],...", NULL, NULL, NULL, SYNOD_JSON_DEPTH_MAX, false},
    {"[[[...256 deep...]]],...", NULL, NULL, NULL, SYNOD_JSON_DEPTH_LIMIT_MAX, false},
};

static char *shape_doc(const struct shape *sh, size_t bytes, size_t *len)
{
	if (sh->depth != 0) {
		return mem_doc_deep(bytes, sh->depth, len);
	}
	return mem_doc(bytes, sh->open, sh->item, sh->close, len);
}

static struct synod_json_limits shape_limits(const struct shape *sh)
{
	struct synod_json_limits lim = synod_json_limits_default;
	lim.depth_max = sh->depth != 0 ? sh->depth : lim.depth_max;
	return lim;
}

/* 2 MiB of each shape with the default budget: parsed or refused, the peak
 * stays within 16 x len + 64 KiB. Prints what it measured. */
static void budget_holds_at_2mib(void **state)
{
	(void)state;
	const size_t bytes = 2u * 1024u * 1024u;
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		size_t len = 0;
		char *doc = shape_doc(&shapes[i], bytes, &len);
		struct synod_json_limits lim = shape_limits(&shapes[i]);
		struct measured m = mem_parse(doc, len, &lim);
		size_t budget = lim.memory_factor * len + lim.memory_bytes_base;
		print_message("%-34s %8zu bytes: %-22s peak %9zu bytes = %5.2f x input\n",
		              shapes[i].name, len, m.rc == 0 ? "parsed" : synod_strerror(m.rc),
		              m.peak_bytes, (double)m.peak_bytes / (double)len);
		if (m.rc != (shapes[i].fits ? 0 : SYNOD_EJSON_MEMORY)) {
			print_error("%s: %d (%s)\n", shapes[i].name, m.rc, m.err);
		}
		assert_int_equal(m.rc, shapes[i].fits ? 0 : SYNOD_EJSON_MEMORY);
		assert_true(m.peak_bytes <= budget);
		free(doc);
	}
}

/* The scanner's price is an upper bound of the real peak for every shape
 * (with a budget one byte below the measured peak the document is refused)
 * and a close one (with 25% more it parses). glibc may hand out a chunk 16
 * bytes larger than asked for when a free chunk is not worth splitting (it
 * splits only if 32 bytes or more remain): the price counts chunks as asked
 * for, so the peak is first lowered by 16 bytes per allocation made. 64 KiB
 * documents keep the generous first parse small. */
static void price_bounds_peak(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		size_t len = 0;
		char *doc = shape_doc(&shapes[i], 64u * 1024u, &len);
		struct synod_json_limits lim = shape_limits(&shapes[i]);
		lim.memory_factor = SYNOD_JSON_MEMORY_FACTOR_MAX;
		struct measured m = mem_parse(doc, len, &lim);
		assert_int_equal(m.rc, 0);
		lim.memory_factor = 0;
		lim.memory_bytes_base = m.peak_bytes - 16u * m.allocs - 1u;
		struct measured below = mem_parse(doc, len, &lim);
		lim.memory_bytes_base = m.peak_bytes + m.peak_bytes / 4;
		struct measured above = mem_parse(doc, len, &lim);
		print_message("%-34s peak %8zu bytes: budget just below it: %s; 25%% above: %s\n",
		              shapes[i].name, m.peak_bytes, synod_strerror(below.rc),
		              synod_strerror(above.rc));
		assert_int_equal(below.rc, SYNOD_EJSON_MEMORY);
		assert_non_null(strstr(below.err, "memory budget"));
		assert_int_equal(above.rc, 0);
		free(doc);
	}
}

/* A single long string and a large object of unique keys, which json-c
 * stores in one table sized once. */
static void price_bounds_large_nodes(void **state)
{
	(void)state;
	size_t len = SYNOD_JSON_STRING_BYTES_MAX;
	char *doc = malloc(len);
	assert_non_null(doc);
	memset(doc, 'a', len);
	doc[0] = '"';
	doc[len - 1] = '"';
	struct synod_json_limits lim = synod_json_limits_default;
	struct measured m = mem_parse(doc, len, &lim);
	print_message("one %zu-byte string: peak %zu bytes = %.2f x input\n", len, m.peak_bytes,
	              (double)m.peak_bytes / (double)len);
	assert_int_equal(m.rc, 0);
	lim.memory_factor = 0;
	lim.memory_bytes_base = m.peak_bytes - 16u * m.allocs - 1u;
	assert_int_equal(mem_parse(doc, len, &lim).rc, SYNOD_EJSON_MEMORY);
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(budget_holds_at_2mib),
	    cmocka_unit_test(price_bounds_peak),
	    cmocka_unit_test(price_bounds_large_nodes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Fuzzes the strict JSON parser and the canonical writer. For every input
 * that parses: the canonical form re-parses and re-encodes to the same bytes;
 * the signed form, when there is one, equals it and passes
 * synod_json_parse_canonical; an input accepted as canonical is exactly its
 * own canonical form. Every rejection has a JSON error code and an errmsg
 * with a byte offset, and comes from our scanner, never from json-c
 * disagreeing with it. Nothing may crash or leak. */
#include "common/assert.h"
#include "common/json.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool fuzz_is_parse_error(int rc)
{
	return rc <= SYNOD_EJSON_SYNTAX && rc >= SYNOD_EJSON_MEMORY && rc != SYNOD_EJSON_TYPE &&
	       rc != SYNOD_EJSON_NONCANON;
}

/* The input through synod_json_parse_canonical agrees with canon. */
static void fuzz_check_canonical_input(const uint8_t *data, size_t size, const char *canon,
                                       size_t canon_len, bool signable)
{
	struct json_object *o = NULL;
	char err[SYNOD_JSON_ERRMSG_BYTES] = "";
	int rc = synod_json_parse_canonical(&o, (const char *)data, size, err, sizeof err);
	if (rc == 0) {
		SYNOD_ASSERT(signable && size == canon_len && memcmp(data, canon, size) == 0);
		json_object_put(o);
		return;
	}
	SYNOD_ASSERT(o == NULL && err[0] != '\0');
	SYNOD_ASSERT(rc == (signable ? SYNOD_EJSON_NONCANON : SYNOD_EJSON_TYPE));
}

/* canon re-parses and re-encodes to itself, unless it holds a double of 2^53
 * or more with an integral value: JCS writes those as long integers (up to
 * 1e21), which our parser refuses as SYNOD_EJSON_INTRANGE. */
static void fuzz_check_reparse(const char *canon, size_t canon_len, bool signable)
{
	struct json_object *b = NULL;
	char err[SYNOD_JSON_ERRMSG_BYTES] = "";
	int rc = synod_json_parse(&b, canon, canon_len, err, sizeof err);
	if (rc == SYNOD_EJSON_INTRANGE && !signable) {
		return;
	}
	SYNOD_ASSERT(rc == 0);
	char *again = NULL;
	size_t again_len = 0;
	rc = synod_json_canonical(b, &again, &again_len);
	SYNOD_ASSERT(rc == 0);
	SYNOD_ASSERT(again_len == canon_len && memcmp(again, canon, canon_len) == 0);
	free(again);
	json_object_put(b);
	if (signable) {
		struct json_object *c = NULL;
		rc = synod_json_parse_canonical(&c, canon, canon_len, err, sizeof err);
		SYNOD_ASSERT(rc == 0);
		json_object_put(c);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *a = NULL;
	char err[SYNOD_JSON_ERRMSG_BYTES] = "";
	int rc = synod_json_parse(&a, (const char *)data, size, err, sizeof err);
	if (rc != 0) {
		SYNOD_ASSERT(a == NULL && fuzz_is_parse_error(rc));
		SYNOD_ASSERT(strstr(err, " at byte ") != NULL);
		/* our scanner accepted something json-c refused, or they built
		 * different trees (those messages start with "json-c"; a quoted
		 * key may contain the word anywhere): a gap in the scanner */
		SYNOD_ASSERT(strncmp(err, "json-c", 6) != 0);
		return 0;
	}
	char *canon = NULL;
	size_t canon_len = 0;
	rc = synod_json_canonical(a, &canon, &canon_len);
	SYNOD_ASSERT(rc == 0 && canon != NULL && strlen(canon) == canon_len);
	char *sig = NULL;
	size_t sig_len = 0;
	rc = synod_json_canonical_signed(a, &sig, &sig_len);
	bool signable = rc == 0;
	SYNOD_ASSERT(signable || rc == SYNOD_EJSON_TYPE);
	if (signable) {
		SYNOD_ASSERT(sig_len == canon_len && memcmp(sig, canon, canon_len) == 0);
	}
	fuzz_check_reparse(canon, canon_len, signable);
	fuzz_check_canonical_input(data, size, canon, canon_len, signable);
	free(sig);
	free(canon);
	json_object_put(a);
	return 0;
}

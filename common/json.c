/* Typed getters over json-c objects. */
#include "common/json.h"
#include "common/assert.h"
#include "common/hash.h"

#include <stdint.h>
#include <string.h>

const char *synod_json_type_name(const struct json_object *obj)
{
	switch (json_object_get_type(obj)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "boolean";
	case json_type_int:
		return "integer";
	case json_type_double:
		return "number";
	case json_type_string:
		return "string";
	case json_type_array:
		return "array";
	case json_type_object:
		return "object";
	}
	return "unknown";
}

/* The member key of obj, which must be an object, into *val (borrowed). */
static int json_member(const struct json_object *obj, const char *key, struct json_object **val)
{
	SYNOD_ASSERT(key != NULL);
	if (!json_object_is_type(obj, json_type_object)) {
		return SYNOD_EJSON_TYPE;
	}
	if (!json_object_object_get_ex(obj, key, val)) {
		return SYNOD_ENOTFOUND;
	}
	return 0;
}

static int json_member_typed(const struct json_object *obj, const char *key, enum json_type type,
                             struct json_object **val)
{
	int rc = json_member(obj, key, val);
	if (rc == 0 && !json_object_is_type(*val, type)) {
		rc = SYNOD_EJSON_TYPE;
	}
	return rc;
}

int synod_json_get_string_len(const struct json_object *obj, const char *key, const char **out,
                              size_t *len)
{
	struct json_object *v;
	int rc = json_member_typed(obj, key, json_type_string, &v);
	if (rc != 0) {
		return rc;
	}
	*out = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return 0;
}

int synod_json_get_string(const struct json_object *obj, const char *key, const char **out)
{
	const char *s;
	size_t len;
	int rc = synod_json_get_string_len(obj, key, &s, &len);
	if (rc != 0) {
		return rc;
	}
	if (memchr(s, '\0', len) != NULL) {
		return SYNOD_EJSON_NUL;
	}
	*out = s;
	return 0;
}

int synod_json_get_int64(const struct json_object *obj, const char *key, int64_t *out)
{
	struct json_object *v;
	int rc = json_member_typed(obj, key, json_type_int, &v);
	if (rc != 0) {
		return rc;
	}
	int64_t x = json_object_get_int64(v);
	if (x < -SYNOD_JSON_SAFE_INT_MAX || x > SYNOD_JSON_SAFE_INT_MAX) {
		return SYNOD_EJSON_INTRANGE;
	}
	*out = x;
	return 0;
}

int synod_json_get_bool(const struct json_object *obj, const char *key, bool *out)
{
	struct json_object *v;
	int rc = json_member_typed(obj, key, json_type_boolean, &v);
	if (rc == 0) {
		*out = json_object_get_boolean(v) != 0;
	}
	return rc;
}

int synod_json_get_object(const struct json_object *obj, const char *key,
                          const struct json_object **out)
{
	struct json_object *v;
	int rc = json_member_typed(obj, key, json_type_object, &v);
	if (rc == 0) {
		*out = v;
	}
	return rc;
}

int synod_json_get_array(const struct json_object *obj, const char *key,
                         const struct json_object **out)
{
	struct json_object *v;
	int rc = json_member_typed(obj, key, json_type_array, &v);
	if (rc == 0) {
		*out = v;
	}
	return rc;
}

int synod_json_get_hex(const struct json_object *obj, const char *key, uint8_t *out, size_t n)
{
	const char *s;
	size_t len;
	int rc = synod_json_get_string_len(obj, key, &s, &len);
	if (rc != 0) {
		return rc;
	}
	/* checked first so that out stays untouched on failure */
	if (n > SIZE_MAX / 2 || len != 2 * n || strspn(s, "0123456789abcdefABCDEF") != len) {
		return SYNOD_EINVAL;
	}
	rc = synod_hex_decode(out, n, s, len);
	SYNOD_ASSERT(rc == 0);
	return 0;
}

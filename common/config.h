/* Configuration files: strict JSON (common/json.h), read once, then typed
 * lookups by dotted path with array indices, e.g. "replicas[2].pubkey" or
 * "timeouts.view_change_ms". Object keys that contain '.', '[' or ']' cannot
 * be addressed.
 *
 * Every error message names the file, the key and the problem, e.g.
 *     cluster.json: key "replicas[2].pubkey": expected 64 hex characters, got 12
 * (the file is named as it was given to synod_config_load).
 *
 * Getters take a pointer to a default: NULL makes the key required (missing:
 * SYNOD_ENOTFOUND); otherwise a missing key, or a missing object or array
 * element on the way to it, yields *def. A present value is always checked.
 * Getter errors: SYNOD_ENOTFOUND (required and missing), SYNOD_EJSON_TYPE
 * (a value, or an object or array on the way, has the wrong JSON type),
 * SYNOD_ECONFIG (right type, value out of range or malformed), SYNOD_EINVAL
 * (key is not a valid path: a bug in the caller). Outputs are untouched on
 * failure. Returned pointers are borrowed from the config and live until
 * synod_config_close. Lookups on a config that is not loaded are a bug
 * (SYNOD_ASSERT). */
#ifndef SYNOD_COMMON_CONFIG_H
#define SYNOD_COMMON_CONFIG_H

#include "common/err.h"
#include "common/json.h"
#include "common/limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYNOD_CONFIG_PATH_BYTES_MAX 4096u /* file path, with the NUL */
#define SYNOD_CONFIG_KEY_BYTES_MAX  256u  /* a dotted lookup key, with the NUL */
#define SYNOD_CONFIG_ERRMSG_BYTES   512u  /* an errmsg that fits typical messages */

struct synod_config {
	struct json_object *root;               /* owned; an object, NULL when closed */
	char path[SYNOD_CONFIG_PATH_BYTES_MAX]; /* the file, as given, for messages */
};

/* Reads and strictly parses the file at path (borrowed) into c (caller
 * memory, overwritten: close a loaded config first). At most
 * SYNOD_CONFIG_BYTES_MAX bytes; the top level must be an object. On failure
 * c holds nothing to free (synod_config_close is still safe) and errmsg says
 * "PATH: problem". Errors: SYNOD_ENOTFOUND (no such file), SYNOD_EIO (cannot
 * open or read), SYNOD_ELIMIT (path too long), SYNOD_ECONFIG (not a regular
 * file), SYNOD_EJSON_SIZE (file too large), any synod_json_parse error,
 * SYNOD_EJSON_TYPE (top level not an object), SYNOD_ENOMEM. */
SYNOD_WUR int synod_config_load(struct synod_config *c, const char *path, char *errmsg,
                                size_t errmsg_len);

/* Frees the tree; c may then be loaded again. Safe on a closed config. */
void synod_config_close(struct synod_config *c);

/* The value at key (required), borrowed, for callers that walk it
 * themselves. */
SYNOD_WUR int synod_config_lookup(const struct synod_config *c, const char *key,
                                  const struct json_object **out, char *errmsg, size_t errmsg_len);

/* A string of at most bytes_max bytes with no U+0000. def is borrowed and
 * returned as is. */
SYNOD_WUR int synod_config_get_string(const struct synod_config *c, const char *key,
                                      size_t bytes_max, const char *def, const char **out,
                                      char *errmsg, size_t errmsg_len);

/* An integer (not 1.0) within [min, max]. */
SYNOD_WUR int synod_config_get_u64(const struct synod_config *c, const char *key, uint64_t min,
                                   uint64_t max, const uint64_t *def, uint64_t *out, char *errmsg,
                                   size_t errmsg_len);

SYNOD_WUR int synod_config_get_bool(const struct synod_config *c, const char *key, const bool *def,
                                    bool *out, char *errmsg, size_t errmsg_len);

/* A string of exactly 2*n hex digits decoded into out[0..n); def, when not
 * NULL, is n bytes copied into out. */
SYNOD_WUR int synod_config_get_hex(const struct synod_config *c, const char *key, size_t n,
                                   const uint8_t *def, uint8_t *out, char *errmsg,
                                   size_t errmsg_len);

/* The length of an array, within [min, max]. */
SYNOD_WUR int synod_config_get_array_len(const struct synod_config *c, const char *key, size_t min,
                                         size_t max, const size_t *def, size_t *out, char *errmsg,
                                         size_t errmsg_len);

/* Rejects any member of the object at key (NULL or "" for the top level)
 * whose name is not in allowed (a NULL-terminated list, borrowed):
 * SYNOD_ECONFIG naming the first unknown key in document order. A missing
 * object has no unknown keys (0); a non-object is SYNOD_EJSON_TYPE. */
SYNOD_WUR int synod_config_check_keys(const struct synod_config *c, const char *key,
                                      const char *const allowed[], char *errmsg, size_t errmsg_len);

#endif

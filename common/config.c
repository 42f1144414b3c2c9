/* Configuration files: bounded read, strict parse, typed lookups by path. */
#include "common/config.h"

#include "common/assert.h"
#include "common/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Digits in an array index: up to 999999999, far above any array we read. */
#define CONFIG_INDEX_DIGITS_MAX 9u

__attribute__((format(printf, 3, 4))) static void config_msg(char *errmsg, size_t errmsg_len,
                                                             const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	synod_verrf(errmsg, errmsg_len, fmt, ap);
	va_end(ap);
}

/* "PATH: key "KEY": problem" into errmsg; returns err. */
__attribute__((format(printf, 6, 7))) static int config_fail(const struct synod_config *c,
                                                             const char *key, int err, char *errmsg,
                                                             size_t errmsg_len, const char *fmt,
                                                             ...)
{
	if (errmsg == NULL || errmsg_len == 0) {
		return err;
	}
	char what[SYNOD_CONFIG_ERRMSG_BYTES];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(errmsg, errmsg_len, "%s: key \"%s\": %s", c->path, key, what);
	return err;
}

static int config_wrong_type(const struct synod_config *c, const char *key, const char *want,
                             const struct json_object *v, char *errmsg, size_t errmsg_len)
{
	return config_fail(c, key, SYNOD_EJSON_TYPE, errmsg, errmsg_len, "expected %s, got %s",
	                   want, synod_json_type_name(v));
}

/* Reads the whole file into a malloc'd buffer (*buf owned by the caller). */
static int config_read(const struct synod_config *c, char **buf, size_t *len, char *errmsg,
                       size_t errmsg_len)
{
	int fd = open(c->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int rc = errno == ENOENT ? SYNOD_ENOTFOUND : SYNOD_EIO;
		config_msg(errmsg, errmsg_len, "%s: cannot open: %s", c->path, strerror(errno));
		return rc;
	}
	int rc = 0;
	struct stat st;
	char *p = NULL;
	size_t n = 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		config_msg(errmsg, errmsg_len, "%s: not a regular file", c->path);
		rc = SYNOD_ECONFIG;
		goto fail;
	}
	p = malloc(SYNOD_CONFIG_BYTES_MAX + 1u);
	if (p == NULL) {
		config_msg(errmsg, errmsg_len, "%s: out of memory", c->path);
		rc = SYNOD_ENOMEM;
		goto fail;
	}
	/* one byte more than allowed tells a too-large file apart */
	while (n <= SYNOD_CONFIG_BYTES_MAX) {
		ssize_t got = read(fd, p + n, SYNOD_CONFIG_BYTES_MAX + 1u - n);
		if (got < 0 && errno == EINTR) {
			continue;
		}
		if (got < 0) {
			config_msg(errmsg, errmsg_len, "%s: read: %s", c->path, strerror(errno));
			rc = SYNOD_EIO;
			goto fail;
		}
		if (got == 0) {
			break;
		}
		n += (size_t)got;
	}
	if (n > SYNOD_CONFIG_BYTES_MAX) {
		config_msg(errmsg, errmsg_len, "%s: file larger than %u bytes", c->path,
		           SYNOD_CONFIG_BYTES_MAX);
		rc = SYNOD_EJSON_SIZE;
		goto fail;
	}
	close(fd);
	*buf = p;
	*len = n;
	return 0;
fail:
	free(p);
	close(fd);
	return rc;
}

int synod_config_load(struct synod_config *c, const char *path, char *errmsg, size_t errmsg_len)
{
	SYNOD_ASSERT(c != NULL && path != NULL);
	memset(c, 0, sizeof *c);
	size_t path_len = strlen(path);
	if (path_len >= sizeof c->path) {
		config_msg(errmsg, errmsg_len, "config path longer than %u bytes",
		           SYNOD_CONFIG_PATH_BYTES_MAX - 1u);
		return SYNOD_ELIMIT;
	}
	memcpy(c->path, path, path_len + 1);
	char *buf = NULL;
	size_t len = 0;
	int rc = config_read(c, &buf, &len, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	struct synod_json_limits lim = synod_json_limits_default;
	lim.bytes_max = SYNOD_CONFIG_BYTES_MAX;
	char jerr[SYNOD_JSON_ERRMSG_BYTES];
	struct json_object *root = NULL;
	rc = synod_json_parse_ex(&root, buf, len, &lim, jerr, sizeof jerr);
	free(buf);
	if (rc != 0) {
		config_msg(errmsg, errmsg_len, "%s: %s", c->path, jerr);
		return rc;
	}
	if (!json_object_is_type(root, json_type_object)) {
		config_msg(errmsg, errmsg_len, "%s: top-level value must be an object, got %s",
		           c->path, synod_json_type_name(root));
		json_object_put(root);
		return SYNOD_EJSON_TYPE;
	}
	c->root = root;
	return 0;
}

void synod_config_close(struct synod_config *c)
{
	json_object_put(c->root);
	c->root = NULL;
}

/* Checks key against: name ("[" digits "]")* ("." name ("[" digits "]")*)*
 * where a name is one or more characters other than '.', '[' and ']'. */
static bool config_key_valid(const char *key)
{
	size_t len = strlen(key);
	if (len == 0 || len >= SYNOD_CONFIG_KEY_BYTES_MAX) {
		return false;
	}
	size_t i = 0;
	for (;;) {
		size_t n = strcspn(key + i, ".[]");
		if (n == 0) {
			return false;
		}
		i += n;
		while (key[i] == '[') {
			size_t digits = strspn(key + i + 1, "0123456789");
			if (digits == 0 || digits > CONFIG_INDEX_DIGITS_MAX ||
			    key[i + 1 + digits] != ']') {
				return false;
			}
			i += digits + 2;
		}
		if (key[i] == '\0') {
			return true;
		}
		if (key[i] != '.') {
			return false;
		}
		i++;
	}
}

/* Follows "[N]" suffixes at key[*i] (syntax already checked). */
static int config_walk_index(const struct synod_config *c, const char *key, size_t *i,
                             const struct json_object **cur, bool quiet, char *errmsg,
                             size_t errmsg_len)
{
	while (key[*i] == '[') {
		if (!json_object_is_type(*cur, json_type_array)) {
			return config_fail(c, key, SYNOD_EJSON_TYPE, errmsg, errmsg_len,
			                   "expected an array at \"%.*s\", got %s", (int)*i, key,
			                   synod_json_type_name(*cur));
		}
		char *end = NULL;
		size_t idx = (size_t)strtoul(key + *i + 1, &end, 10);
		size_t count = json_object_array_length(*cur);
		if (idx >= count) {
			return quiet ? SYNOD_ENOTFOUND
			             : config_fail(c, key, SYNOD_ENOTFOUND, errmsg, errmsg_len,
			                           "not found (\"%.*s\" has %zu elements)", (int)*i,
			                           key, count);
		}
		*cur = json_object_array_get_idx(*cur, idx);
		*i = (size_t)(end - key) + 1;
	}
	return 0;
}

/* Resolves key from the root. quiet: a missing key writes no message. */
static int config_walk(const struct synod_config *c, const char *key, bool quiet,
                       const struct json_object **out, char *errmsg, size_t errmsg_len)
{
	SYNOD_ASSERT(c != NULL && c->root != NULL && key != NULL);
	if (!config_key_valid(key)) {
		return config_fail(c, key, SYNOD_EINVAL, errmsg, errmsg_len, "bad key syntax");
	}
	const struct json_object *cur = c->root;
	char name[SYNOD_CONFIG_KEY_BYTES_MAX];
	size_t i = 0;
	for (;;) {
		size_t n = strcspn(key + i, ".[]");
		if (!json_object_is_type(cur, json_type_object)) {
			return config_fail(c, key, SYNOD_EJSON_TYPE, errmsg, errmsg_len,
			                   "expected an object at \"%.*s\", got %s", (int)(i - 1),
			                   key, synod_json_type_name(cur));
		}
		memcpy(name, key + i, n);
		name[n] = '\0';
		struct json_object *next;
		if (!json_object_object_get_ex(cur, name, &next)) {
			return quiet ? SYNOD_ENOTFOUND
			             : config_fail(c, key, SYNOD_ENOTFOUND, errmsg, errmsg_len,
			                           "not found");
		}
		cur = next;
		i += n;
		int rc = config_walk_index(c, key, &i, &cur, quiet, errmsg, errmsg_len);
		if (rc != 0) {
			return rc;
		}
		if (key[i] == '\0') {
			break;
		}
		i++; /* the '.' */
	}
	*out = cur;
	return 0;
}

int synod_config_lookup(const struct synod_config *c, const char *key,
                        const struct json_object **out, char *errmsg, size_t errmsg_len)
{
	return config_walk(c, key, false, out, errmsg, errmsg_len);
}

int synod_config_get_string(const struct synod_config *c, const char *key, size_t bytes_max,
                            const char *def, const char **out, char *errmsg, size_t errmsg_len)
{
	const struct json_object *v;
	int rc = config_walk(c, key, def != NULL, &v, errmsg, errmsg_len);
	if (rc == SYNOD_ENOTFOUND && def != NULL) {
		*out = def;
		return 0;
	}
	if (rc != 0) {
		return rc;
	}
	if (!json_object_is_type(v, json_type_string)) {
		return config_wrong_type(c, key, "a string", v, errmsg, errmsg_len);
	}
	const char *s = json_object_get_string((struct json_object *)v);
	size_t len = (size_t)json_object_get_string_len(v);
	if (len > bytes_max) {
		return config_fail(c, key, SYNOD_ECONFIG, errmsg, errmsg_len,
		                   "expected at most %zu bytes, got %zu", bytes_max, len);
	}
	if (memchr(s, '\0', len) != NULL) {
		return config_fail(c, key, SYNOD_ECONFIG, errmsg, errmsg_len,
		                   "contains a NUL character");
	}
	*out = s;
	return 0;
}

int synod_config_get_u64(const struct synod_config *c, const char *key, uint64_t min, uint64_t max,
                         const uint64_t *def, uint64_t *out, char *errmsg, size_t errmsg_len)
{
	SYNOD_ASSERT(min <= max);
	const struct json_object *v;
	int rc = config_walk(c, key, def != NULL, &v, errmsg, errmsg_len);
	if (rc == SYNOD_ENOTFOUND && def != NULL) {
		*out = *def;
		return 0;
	}
	if (rc != 0) {
		return rc;
	}
	if (!json_object_is_type(v, json_type_int)) {
		return config_wrong_type(c, key, "an integer", v, errmsg, errmsg_len);
	}
	int64_t x = json_object_get_int64(v);
	if (x < 0 || (uint64_t)x < min || (uint64_t)x > max) {
		return config_fail(
		    c, key, SYNOD_ECONFIG, errmsg, errmsg_len,
		    "expected an integer in [%" PRIu64 ", %" PRIu64 "], got %" PRId64, min, max, x);
	}
	*out = (uint64_t)x;
	return 0;
}

int synod_config_get_bool(const struct synod_config *c, const char *key, const bool *def, bool *out,
                          char *errmsg, size_t errmsg_len)
{
	const struct json_object *v;
	int rc = config_walk(c, key, def != NULL, &v, errmsg, errmsg_len);
	if (rc == SYNOD_ENOTFOUND && def != NULL) {
		*out = *def;
		return 0;
	}
	if (rc != 0) {
		return rc;
	}
	if (!json_object_is_type(v, json_type_boolean)) {
		return config_wrong_type(c, key, "true or false", v, errmsg, errmsg_len);
	}
	*out = json_object_get_boolean(v) != 0;
	return 0;
}

int synod_config_get_hex(const struct synod_config *c, const char *key, size_t n,
                         const uint8_t *def, uint8_t *out, char *errmsg, size_t errmsg_len)
{
	SYNOD_ASSERT(n <= SYNOD_CONFIG_BYTES_MAX);
	const struct json_object *v;
	int rc = config_walk(c, key, def != NULL, &v, errmsg, errmsg_len);
	if (rc == SYNOD_ENOTFOUND && def != NULL) {
		memcpy(out, def, n);
		return 0;
	}
	if (rc != 0) {
		return rc;
	}
	if (!json_object_is_type(v, json_type_string)) {
		return config_wrong_type(c, key, "a hex string", v, errmsg, errmsg_len);
	}
	const char *s = json_object_get_string((struct json_object *)v);
	size_t len = (size_t)json_object_get_string_len(v);
	if (len != 2 * n) {
		return config_fail(c, key, SYNOD_ECONFIG, errmsg, errmsg_len,
		                   "expected %zu hex characters, got %zu", 2 * n, len);
	}
	if (strspn(s, "0123456789abcdefABCDEF") != len) {
		return config_fail(c, key, SYNOD_ECONFIG, errmsg, errmsg_len,
		                   "not a hex string (character %zu)",
		                   strspn(s, "0123456789abcdefABCDEF"));
	}
	rc = synod_hex_decode(out, n, s, len);
	SYNOD_ASSERT(rc == 0);
	return 0;
}

int synod_config_get_array_len(const struct synod_config *c, const char *key, size_t min,
                               size_t max, const size_t *def, size_t *out, char *errmsg,
                               size_t errmsg_len)
{
	SYNOD_ASSERT(min <= max);
	const struct json_object *v;
	int rc = config_walk(c, key, def != NULL, &v, errmsg, errmsg_len);
	if (rc == SYNOD_ENOTFOUND && def != NULL) {
		*out = *def;
		return 0;
	}
	if (rc != 0) {
		return rc;
	}
	if (!json_object_is_type(v, json_type_array)) {
		return config_wrong_type(c, key, "an array", v, errmsg, errmsg_len);
	}
	size_t count = json_object_array_length(v);
	if (count < min || count > max) {
		return config_fail(c, key, SYNOD_ECONFIG, errmsg, errmsg_len,
		                   "expected %zu to %zu elements, got %zu", min, max, count);
	}
	*out = count;
	return 0;
}

static bool config_allowed(const char *const allowed[], const char *name)
{
	for (size_t i = 0; allowed[i] != NULL; i++) {
		if (strcmp(allowed[i], name) == 0) {
			return true;
		}
	}
	return false;
}

/* "unknown key (allowed: a, b, c)" for member name of the object at key. */
static int config_unknown(const struct synod_config *c, const char *key, const char *name,
                          const char *const allowed[], char *errmsg, size_t errmsg_len)
{
	char full[SYNOD_CONFIG_KEY_BYTES_MAX + 64];
	snprintf(full, sizeof full, "%s%s%.63s", key, key[0] != '\0' ? "." : "", name);
	char list[SYNOD_CONFIG_ERRMSG_BYTES / 2] = "";
	size_t used = 0;
	for (size_t i = 0; allowed[i] != NULL && used < sizeof list; i++) {
		int w = snprintf(list + used, sizeof list - used, "%s%s", i > 0 ? ", " : "",
		                 allowed[i]);
		used += w > 0 ? (size_t)w : 0;
	}
	return config_fail(c, full, SYNOD_ECONFIG, errmsg, errmsg_len, "unknown key (allowed: %s)",
	                   list);
}

int synod_config_check_keys(const struct synod_config *c, const char *key,
                            const char *const allowed[], char *errmsg, size_t errmsg_len)
{
	SYNOD_ASSERT(c != NULL && c->root != NULL && allowed != NULL);
	const struct json_object *obj = c->root;
	if (key == NULL) {
		key = "";
	}
	if (key[0] != '\0') {
		int rc = config_walk(c, key, true, &obj, errmsg, errmsg_len);
		if (rc == SYNOD_ENOTFOUND) {
			return 0;
		}
		if (rc != 0) {
			return rc;
		}
	}
	if (!json_object_is_type(obj, json_type_object)) {
		return config_wrong_type(c, key, "an object", obj, errmsg, errmsg_len);
	}
	for (struct lh_entry *e = lh_table_head(json_object_get_object(obj)); e != NULL;
	     e = lh_entry_next(e)) {
		const char *name = lh_entry_k(e);
		if (!config_allowed(allowed, name)) {
			return config_unknown(c, key, name, allowed, errmsg, errmsg_len);
		}
	}
	return 0;
}

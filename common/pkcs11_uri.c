/* RFC 7512 PKCS#11 URIs:
 *     pkcs11:PATH-ATTR;PATH-ATTR...?QUERY-ATTR&QUERY-ATTR...
 * Each attribute is NAME=VALUE with a percent-encoded VALUE. Path attributes
 * identify the token and object, query attributes the module and PIN. */
#include "common/assert.h"
#include "common/sign_internal.h"

#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct p11_attr_def {
	const char *name;
	bool query;  /* after '?' */
	bool binary; /* may hold any byte (id) */
};

static const struct p11_attr_def p11_attr_defs[SYNOD_P11_ATTR_COUNT] = {
    [SYNOD_P11_TOKEN] = {"token", false, false},
    [SYNOD_P11_MANUFACTURER] = {"manufacturer", false, false},
    [SYNOD_P11_MODEL] = {"model", false, false},
    [SYNOD_P11_SERIAL] = {"serial", false, false},
    [SYNOD_P11_SLOT_DESCRIPTION] = {"slot-description", false, false},
    [SYNOD_P11_SLOT_MANUFACTURER] = {"slot-manufacturer", false, false},
    [SYNOD_P11_SLOT_ID] = {"slot-id", false, false},
    [SYNOD_P11_LIBRARY_MANUFACTURER] = {"library-manufacturer", false, false},
    [SYNOD_P11_LIBRARY_DESCRIPTION] = {"library-description", false, false},
    [SYNOD_P11_LIBRARY_VERSION] = {"library-version", false, false},
    [SYNOD_P11_OBJECT] = {"object", false, false},
    [SYNOD_P11_ID] = {"id", false, true},
    [SYNOD_P11_TYPE] = {"type", false, false},
    [SYNOD_P11_PIN_VALUE] = {"pin-value", true, false},
    [SYNOD_P11_PIN_SOURCE] = {"pin-source", true, false},
    [SYNOD_P11_MODULE_NAME] = {"module-name", true, false},
    [SYNOD_P11_MODULE_PATH] = {"module-path", true, false},
};

const char *synod_pkcs11_attr_name(enum synod_p11_attr a)
{
	SYNOD_ASSERT(a < SYNOD_P11_ATTR_COUNT);
	return p11_attr_defs[a].name;
}

/* RFC 7512 section 2.3: unreserved characters and the reserved ones that are
 * no delimiter in their component may appear unencoded. */
static bool uri_char_ok(char c, bool query)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
		return true;
	}
	if (c != '\0' && strchr("-._~:[]@!$'()*+,=", c) != NULL) {
		return true;
	}
	return c != '\0' && strchr(query ? "/?|" : "&", c) != NULL;
}

static int uri_hex_digit(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* Percent-decodes s[0..n) into v. */
static int uri_value_decode(struct synod_p11_value *v, const char *name, const char *s, size_t n,
                            bool query, bool binary, char *errmsg, size_t errmsg_len)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		int byte = (unsigned char)s[i];
		if (s[i] == '%') {
			int hi = i + 2 < n ? uri_hex_digit(s[i + 1]) : -1;
			int lo = hi >= 0 ? uri_hex_digit(s[i + 2]) : -1;
			if (lo < 0) {
				synod_sign_errf(errmsg, errmsg_len,
				                "pkcs11 URI: bad percent-encoding in '%s'", name);
				return SYNOD_EURI;
			}
			byte = hi * 16 + lo;
			i += 2;
		} else if (!uri_char_ok(s[i], query)) {
			synod_sign_errf(errmsg, errmsg_len,
			                "pkcs11 URI: character 0x%02x in '%s' must be "
			                "percent-encoded",
			                (unsigned)byte, name);
			return SYNOD_EURI;
		}
		if (byte == 0 && !binary) {
			synod_sign_errf(errmsg, errmsg_len, "pkcs11 URI: %%00 in '%s'", name);
			return SYNOD_EURI;
		}
		if (len == SYNOD_PKCS11_ATTR_BYTES_MAX) {
			synod_sign_errf(errmsg, errmsg_len, "pkcs11 URI: '%s' longer than %u bytes",
			                name, SYNOD_PKCS11_ATTR_BYTES_MAX);
			return SYNOD_ELIMIT;
		}
		v->val[len++] = (uint8_t)byte;
	}
	v->val[len] = 0;
	v->len = len;
	v->set = true;
	return 0;
}

static int uri_attr_lookup(const char *name, size_t name_len, bool query, int *out, char *errmsg,
                           size_t errmsg_len)
{
	*out = -1;
	for (int a = 0; a < SYNOD_P11_ATTR_COUNT; a++) {
		const char *n = p11_attr_defs[a].name;
		if (strlen(n) != name_len || memcmp(n, name, name_len) != 0) {
			continue;
		}
		if (p11_attr_defs[a].query != query) {
			synod_sign_errf(errmsg, errmsg_len, "pkcs11 URI: '%s' belongs %s", n,
			                query ? "before the '?'" : "in the query, after '?'");
			return SYNOD_EURI;
		}
		*out = a;
		return 0;
	}
	/* Vendor query attributes are for other consumers: ignore them. A
	 * vendor path attribute would narrow the match in a way we cannot
	 * honour, so it is an error like any unknown attribute. */
	if (query && name_len > 2 && memcmp(name, "x-", 2) == 0) {
		return 0;
	}
	synod_sign_errf(errmsg, errmsg_len, "pkcs11 URI: unsupported attribute '%.*s'",
	                (int)(name_len > 64 ? 64 : name_len), name);
	return SYNOD_EURI;
}

/* One NAME=VALUE of the path (query false) or the query. */
static int uri_attr_parse(struct synod_pkcs11_uri *u, const char *s, size_t n, bool query,
                          char *errmsg, size_t errmsg_len)
{
	const char *eq = memchr(s, '=', n);
	if (eq == NULL || eq == s) {
		synod_sign_errf(errmsg, errmsg_len, "pkcs11 URI: '%.*s' is not NAME=VALUE",
		                (int)(n > 64 ? 64 : n), s);
		return SYNOD_EURI;
	}
	size_t name_len = (size_t)(eq - s);
	int a = -1;
	int rc = uri_attr_lookup(s, name_len, query, &a, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	struct synod_p11_value ignored = {0};
	struct synod_p11_value *v = a >= 0 ? &u->attr[a] : &ignored;
	const char *name = a >= 0 ? p11_attr_defs[a].name : "x-";
	if (v->set) {
		synod_sign_errf(errmsg, errmsg_len, "pkcs11 URI: '%s' appears twice", name);
		return SYNOD_EURI;
	}
	bool binary = a >= 0 && p11_attr_defs[a].binary;
	rc = uri_value_decode(v, name, eq + 1, n - name_len - 1, query, binary, errmsg, errmsg_len);
	sodium_memzero(&ignored, sizeof ignored);
	return rc;
}

/* Splits s[0..n) at sep and parses each attribute. */
static int uri_component_parse(struct synod_pkcs11_uri *u, const char *s, size_t n, bool query,
                               char *errmsg, size_t errmsg_len)
{
	char sep = query ? '&' : ';';
	size_t start = 0;
	while (n > 0 && start <= n) {
		const char *end = memchr(s + start, sep, n - start);
		size_t seg = end != NULL ? (size_t)(end - (s + start)) : n - start;
		int rc = uri_attr_parse(u, s + start, seg, query, errmsg, errmsg_len);
		if (rc != 0) {
			return rc;
		}
		start += seg + 1;
	}
	return 0;
}

/* Decimal digits only, no sign, no overflow. */
static bool uri_decimal(const char *s, size_t n, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	if (n == 0) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return false;
		}
		unsigned long d = (unsigned long)(s[i] - '0');
		if (v > (max - d) / 10) {
			return false;
		}
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static int uri_version_parse(struct synod_pkcs11_uri *u, char *errmsg, size_t errmsg_len)
{
	const char *s = (const char *)u->attr[SYNOD_P11_LIBRARY_VERSION].val;
	size_t n = u->attr[SYNOD_P11_LIBRARY_VERSION].len;
	const char *dot = memchr(s, '.', n);
	size_t major_len = dot != NULL ? (size_t)(dot - s) : n;
	unsigned long major = 0;
	unsigned long minor = 0;
	if (!uri_decimal(s, major_len, 255, &major) ||
	    (dot != NULL && !uri_decimal(dot + 1, n - major_len - 1, 255, &minor))) {
		synod_sign_errf(errmsg, errmsg_len,
		                "pkcs11 URI: library-version must be M or M.N (0-255)");
		return SYNOD_EURI;
	}
	u->lib_major = (unsigned)major;
	u->lib_minor = (unsigned)minor;
	return 0;
}

/* Checks that need the whole URI. */
static int uri_finish(struct synod_pkcs11_uri *u, char *errmsg, size_t errmsg_len)
{
	struct synod_p11_value *a = u->attr;
	if (a[SYNOD_P11_SLOT_ID].set &&
	    !uri_decimal((const char *)a[SYNOD_P11_SLOT_ID].val, a[SYNOD_P11_SLOT_ID].len,
	                 ULONG_MAX, &u->slot_id)) {
		synod_sign_errf(errmsg, errmsg_len, "pkcs11 URI: slot-id must be a decimal number");
		return SYNOD_EURI;
	}
	if (a[SYNOD_P11_LIBRARY_VERSION].set) {
		int rc = uri_version_parse(u, errmsg, errmsg_len);
		if (rc != 0) {
			return rc;
		}
	}
	if (a[SYNOD_P11_TYPE].set && strcmp((const char *)a[SYNOD_P11_TYPE].val, "private") != 0) {
		synod_sign_errf(errmsg, errmsg_len,
		                "pkcs11 URI: type=%s is not a signing key (use type=private or "
		                "leave it out)",
		                (const char *)a[SYNOD_P11_TYPE].val);
		return SYNOD_EURI;
	}
	if (a[SYNOD_P11_MODULE_NAME].set) {
		synod_sign_errf(errmsg, errmsg_len,
		                "pkcs11 URI: module-name is not supported, use module-path=");
		return SYNOD_EURI;
	}
	if (a[SYNOD_P11_PIN_VALUE].set && a[SYNOD_P11_PIN_SOURCE].set) {
		synod_sign_errf(errmsg, errmsg_len,
		                "pkcs11 URI: give pin-value or pin-source, not both");
		return SYNOD_EURI;
	}
	return 0;
}

int synod_pkcs11_uri_parse(struct synod_pkcs11_uri *u, const char *uri, char *errmsg,
                           size_t errmsg_len)
{
	memset(u, 0, sizeof *u);
	if (strncmp(uri, "pkcs11:", 7) != 0) {
		synod_sign_errf(errmsg, errmsg_len, "not a pkcs11: URI");
		return SYNOD_EURI;
	}
	size_t total = strnlen(uri, SYNOD_URI_BYTES_MAX + 1);
	if (total > SYNOD_URI_BYTES_MAX) {
		synod_sign_errf(errmsg, errmsg_len, "pkcs11 URI longer than %u bytes",
		                SYNOD_URI_BYTES_MAX);
		return SYNOD_ELIMIT;
	}
	const char *path = uri + 7;
	const char *q = strchr(path, '?');
	size_t path_len = q != NULL ? (size_t)(q - path) : total - 7;
	int rc = uri_component_parse(u, path, path_len, false, errmsg, errmsg_len);
	if (rc == 0 && q != NULL) {
		rc = uri_component_parse(u, q + 1, strlen(q + 1), true, errmsg, errmsg_len);
	}
	if (rc == 0) {
		rc = uri_finish(u, errmsg, errmsg_len);
	}
	if (rc != 0) {
		synod_pkcs11_uri_wipe(u);
	}
	return rc;
}

void synod_pkcs11_uri_wipe(struct synod_pkcs11_uri *u)
{
	sodium_memzero(u, sizeof *u);
}

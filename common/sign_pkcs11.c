/* The PKCS#11 signer: an Ed25519 key inside a token (SoftHSM2 by default),
 * signing with CKM_EDDSA. The private key never leaves the token. */
#include "common/assert.h"
#include "common/sign_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <p11-kit/pkcs11.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* DER of the OID 1.3.101.112 (id-Ed25519, RFC 8410), the CKA_EC_PARAMS. */
static const uint8_t p11_ed25519_oid[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
/* CKA_EC_POINT is a DER OCTET STRING: 04, length 32, the key. */
#define P11_EC_POINT_BYTES (2u + SYNOD_PUBKEY_BYTES)
static const uint8_t p11_selftest_msg[] = "synod pkcs11 key pair check";

/* ---- CK_RV names ---- */

struct p11_rv_name {
	CK_RV rv;
	const char *name;
};

/* clang-format off */
#define P11_RV(x) {x, #x}
/* clang-format on */
static const struct p11_rv_name p11_rv_names[] = {
    P11_RV(CKR_OK),
    P11_RV(CKR_HOST_MEMORY),
    P11_RV(CKR_SLOT_ID_INVALID),
    P11_RV(CKR_GENERAL_ERROR),
    P11_RV(CKR_FUNCTION_FAILED),
    P11_RV(CKR_ARGUMENTS_BAD),
    P11_RV(CKR_CANT_LOCK),
    P11_RV(CKR_ATTRIBUTE_READ_ONLY),
    P11_RV(CKR_ATTRIBUTE_SENSITIVE),
    P11_RV(CKR_ATTRIBUTE_TYPE_INVALID),
    P11_RV(CKR_ATTRIBUTE_VALUE_INVALID),
    P11_RV(CKR_ACTION_PROHIBITED),
    P11_RV(CKR_DATA_INVALID),
    P11_RV(CKR_DATA_LEN_RANGE),
    P11_RV(CKR_DEVICE_ERROR),
    P11_RV(CKR_DEVICE_MEMORY),
    P11_RV(CKR_DEVICE_REMOVED),
    P11_RV(CKR_FUNCTION_NOT_SUPPORTED),
    P11_RV(CKR_KEY_HANDLE_INVALID),
    P11_RV(CKR_KEY_SIZE_RANGE),
    P11_RV(CKR_KEY_TYPE_INCONSISTENT),
    P11_RV(CKR_KEY_FUNCTION_NOT_PERMITTED),
    P11_RV(CKR_KEY_UNEXTRACTABLE),
    P11_RV(CKR_MECHANISM_INVALID),
    P11_RV(CKR_MECHANISM_PARAM_INVALID),
    P11_RV(CKR_OBJECT_HANDLE_INVALID),
    P11_RV(CKR_OPERATION_ACTIVE),
    P11_RV(CKR_OPERATION_NOT_INITIALIZED),
    P11_RV(CKR_PIN_INCORRECT),
    P11_RV(CKR_PIN_INVALID),
    P11_RV(CKR_PIN_LEN_RANGE),
    P11_RV(CKR_PIN_EXPIRED),
    P11_RV(CKR_PIN_LOCKED),
    P11_RV(CKR_SESSION_CLOSED),
    P11_RV(CKR_SESSION_COUNT),
    P11_RV(CKR_SESSION_HANDLE_INVALID),
    P11_RV(CKR_SESSION_READ_ONLY),
    P11_RV(CKR_SIGNATURE_INVALID),
    P11_RV(CKR_SIGNATURE_LEN_RANGE),
    P11_RV(CKR_TEMPLATE_INCOMPLETE),
    P11_RV(CKR_TEMPLATE_INCONSISTENT),
    P11_RV(CKR_TOKEN_NOT_PRESENT),
    P11_RV(CKR_TOKEN_NOT_RECOGNIZED),
    P11_RV(CKR_TOKEN_WRITE_PROTECTED),
    P11_RV(CKR_USER_ALREADY_LOGGED_IN),
    P11_RV(CKR_USER_NOT_LOGGED_IN),
    P11_RV(CKR_USER_PIN_NOT_INITIALIZED),
    P11_RV(CKR_USER_TYPE_INVALID),
    P11_RV(CKR_DOMAIN_PARAMS_INVALID),
    P11_RV(CKR_CURVE_NOT_SUPPORTED),
    P11_RV(CKR_BUFFER_TOO_SMALL),
    P11_RV(CKR_CRYPTOKI_NOT_INITIALIZED),
    P11_RV(CKR_CRYPTOKI_ALREADY_INITIALIZED),
    P11_RV(CKR_FUNCTION_REJECTED),
};

const char *synod_pkcs11_rv_name(unsigned long rv)
{
	for (size_t i = 0; i < sizeof p11_rv_names / sizeof p11_rv_names[0]; i++) {
		if (p11_rv_names[i].rv == rv) {
			return p11_rv_names[i].name;
		}
	}
	return "CKR_?";
}

/* "C_Login failed for token 'x': CKR_PIN_INCORRECT (0xa0)" */
static int p11_fail(char *errmsg, size_t errmsg_len, const char *fn, CK_RV rv, const char *where)
{
	synod_sign_errf(errmsg, errmsg_len, "%s failed for %s: %s (0x%lx)%s", fn, where,
	                synod_pkcs11_rv_name(rv), (unsigned long)rv,
	                rv == CKR_PIN_INCORRECT ? ": wrong PIN" : "");
	return SYNOD_EPKCS11;
}

/* ---- modules: loaded once, initialized while anyone uses them ---- */

struct p11_module {
	char path[SYNOD_PKCS11_ATTR_BYTES_MAX + 1];
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	unsigned refs;
	bool finalize; /* we initialized it, so we finalize it */
};

static struct p11_module p11_modules[SYNOD_PKCS11_MODULES_MAX];
static pthread_mutex_t p11_modules_lock = PTHREAD_MUTEX_INITIALIZER;

/* dlopens m->path once; the handle is kept for the life of the process
 * because unloading a module that registered atexit handlers (OpenSSL
 * inside SoftHSM) can crash at exit. */
static int p11_module_load(struct p11_module *m, char *errmsg, size_t errmsg_len)
{
	if (m->dl == NULL) {
		m->dl = dlopen(m->path, RTLD_NOW | RTLD_LOCAL);
		if (m->dl == NULL) {
			synod_sign_errf(errmsg, errmsg_len, "cannot load PKCS#11 module %s: %s",
			                m->path, dlerror());
			return SYNOD_EPKCS11;
		}
	}
	void *sym = dlsym(m->dl, "C_GetFunctionList");
	CK_C_GetFunctionList get = NULL;
	memcpy(&get, &sym, sizeof get); /* POSIX: object to function pointer */
	if (get == NULL) {
		synod_sign_errf(errmsg, errmsg_len, "%s has no C_GetFunctionList", m->path);
		return SYNOD_EPKCS11;
	}
	CK_RV rv = get(&m->f);
	if (rv != CKR_OK) {
		return p11_fail(errmsg, errmsg_len, "C_GetFunctionList", rv, m->path);
	}
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
	rv = m->f->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		return p11_fail(errmsg, errmsg_len, "C_Initialize", rv, m->path);
	}
	/* Someone else in the process initialized it: leave finalizing to them. */
	m->finalize = rv == CKR_OK;
	return 0;
}

static int p11_module_get(const char *module, struct p11_module **out, char *errmsg,
                          size_t errmsg_len)
{
	/* One entry per file, however it is spelled: two entries for one
	 * module would finalize it under each other. */
	char real[PATH_MAX];
	const char *path = realpath(module, real) != NULL ? real : module;
	size_t path_len = strlen(path);
	if (path_len > SYNOD_PKCS11_ATTR_BYTES_MAX) {
		synod_sign_errf(errmsg, errmsg_len, "module path %.64s... is too long", path);
		return SYNOD_ELIMIT;
	}
	struct p11_module *m = NULL;
	int rc = 0;
	pthread_mutex_lock(&p11_modules_lock);
	for (size_t i = 0; i < SYNOD_PKCS11_MODULES_MAX && m == NULL; i++) {
		if (strcmp(p11_modules[i].path, path) == 0) {
			m = &p11_modules[i];
		}
	}
	for (size_t i = 0; i < SYNOD_PKCS11_MODULES_MAX && m == NULL; i++) {
		if (p11_modules[i].path[0] == '\0') {
			m = &p11_modules[i];
			memcpy(m->path, path, path_len + 1);
		}
	}
	if (m == NULL) {
		synod_sign_errf(errmsg, errmsg_len, "more than %u PKCS#11 modules loaded",
		                SYNOD_PKCS11_MODULES_MAX);
		rc = SYNOD_ELIMIT;
	} else if (m->refs == 0) {
		rc = p11_module_load(m, errmsg, errmsg_len);
	}
	if (rc == 0) {
		m->refs++;
		*out = m;
	}
	pthread_mutex_unlock(&p11_modules_lock);
	return rc;
}

static void p11_module_put(struct p11_module *m)
{
	pthread_mutex_lock(&p11_modules_lock);
	SYNOD_ASSERT(m->refs > 0);
	m->refs--;
	if (m->refs == 0 && m->finalize) {
		m->f->C_Finalize(NULL);
		m->finalize = false;
	}
	pthread_mutex_unlock(&p11_modules_lock);
}

/* ---- a logged-in session on the token the URI names ---- */

struct p11_session {
	struct synod_pkcs11_uri uri;
	struct p11_module *mod;
	CK_FUNCTION_LIST_PTR f;
	CK_SLOT_ID slot;
	CK_FLAGS token_flags;
	CK_SESSION_HANDLE h;
	bool open;
	char where[96]; /* "token 'synod-test'", for messages */
};

/* A blank-padded PKCS#11 text field equals the URI value (or none given). */
static bool p11_padded_eq(const CK_UTF8CHAR *field, size_t field_len,
                          const struct synod_p11_value *v)
{
	if (!v->set) {
		return true;
	}
	if (v->len > field_len || memcmp(field, v->val, v->len) != 0) {
		return false;
	}
	for (size_t i = v->len; i < field_len; i++) {
		if (field[i] != ' ') {
			return false;
		}
	}
	return true;
}

static bool p11_library_matches(struct p11_session *ps)
{
	const struct synod_p11_value *a = ps->uri.attr;
	if (!a[SYNOD_P11_LIBRARY_MANUFACTURER].set && !a[SYNOD_P11_LIBRARY_DESCRIPTION].set &&
	    !a[SYNOD_P11_LIBRARY_VERSION].set) {
		return true;
	}
	CK_INFO info;
	if (ps->f->C_GetInfo(&info) != CKR_OK) {
		return false;
	}
	bool version_ok =
	    !a[SYNOD_P11_LIBRARY_VERSION].set || (info.libraryVersion.major == ps->uri.lib_major &&
	                                          info.libraryVersion.minor == ps->uri.lib_minor);
	return version_ok &&
	       p11_padded_eq(info.manufacturerID, sizeof info.manufacturerID,
	                     &a[SYNOD_P11_LIBRARY_MANUFACTURER]) &&
	       p11_padded_eq(info.libraryDescription, sizeof info.libraryDescription,
	                     &a[SYNOD_P11_LIBRARY_DESCRIPTION]);
}

/* Only initialized tokens match: SoftHSM always offers an empty one. */
static bool p11_slot_matches(struct p11_session *ps, CK_SLOT_ID slot, CK_FLAGS *flags)
{
	const struct synod_p11_value *a = ps->uri.attr;
	if (a[SYNOD_P11_SLOT_ID].set && slot != ps->uri.slot_id) {
		return false;
	}
	if (a[SYNOD_P11_SLOT_DESCRIPTION].set || a[SYNOD_P11_SLOT_MANUFACTURER].set) {
		CK_SLOT_INFO si;
		if (ps->f->C_GetSlotInfo(slot, &si) != CKR_OK ||
		    !p11_padded_eq(si.slotDescription, sizeof si.slotDescription,
		                   &a[SYNOD_P11_SLOT_DESCRIPTION]) ||
		    !p11_padded_eq(si.manufacturerID, sizeof si.manufacturerID,
		                   &a[SYNOD_P11_SLOT_MANUFACTURER])) {
			return false;
		}
	}
	CK_TOKEN_INFO ti;
	if (ps->f->C_GetTokenInfo(slot, &ti) != CKR_OK || !(ti.flags & CKF_TOKEN_INITIALIZED)) {
		return false;
	}
	*flags = ti.flags;
	return p11_padded_eq(ti.label, sizeof ti.label, &a[SYNOD_P11_TOKEN]) &&
	       p11_padded_eq(ti.manufacturerID, sizeof ti.manufacturerID,
	                     &a[SYNOD_P11_MANUFACTURER]) &&
	       p11_padded_eq(ti.model, sizeof ti.model, &a[SYNOD_P11_MODEL]) &&
	       p11_padded_eq(ti.serialNumber, sizeof ti.serialNumber, &a[SYNOD_P11_SERIAL]);
}

/* The slot id is not stable (SoftHSM picks a random one): find the token by
 * its attributes; exactly one must match. */
static int p11_slot_find(struct p11_session *ps, char *errmsg, size_t errmsg_len)
{
	CK_SLOT_ID slots[SYNOD_PKCS11_SLOTS_MAX];
	CK_ULONG n = SYNOD_PKCS11_SLOTS_MAX;
	CK_RV rv = ps->f->C_GetSlotList(CK_TRUE, slots, &n);
	if (rv == CKR_BUFFER_TOO_SMALL) {
		synod_sign_errf(errmsg, errmsg_len, "module %s has more than %u slots",
		                ps->mod->path, SYNOD_PKCS11_SLOTS_MAX);
		return SYNOD_ELIMIT;
	}
	if (rv != CKR_OK) {
		return p11_fail(errmsg, errmsg_len, "C_GetSlotList", rv, ps->mod->path);
	}
	unsigned found = 0;
	bool library_ok = p11_library_matches(ps);
	for (CK_ULONG i = 0; i < n && library_ok; i++) {
		CK_FLAGS flags = 0;
		if (p11_slot_matches(ps, slots[i], &flags)) {
			found++;
			ps->slot = slots[i];
			ps->token_flags = flags;
		}
	}
	if (found == 0) {
		synod_sign_errf(errmsg, errmsg_len, "no initialized token matches %s in module %s",
		                ps->where, ps->mod->path);
		return SYNOD_ENOTFOUND;
	}
	if (found > 1) {
		synod_sign_errf(errmsg, errmsg_len,
		                "%u tokens match %s in module %s: add token= or serial= to the URI",
		                found, ps->where, ps->mod->path);
		return SYNOD_EURI;
	}
	return 0;
}

/* pin-source=file:PATH (or file:///PATH, or a bare /PATH): the first line. */
static int p11_pin_read(const char *source, uint8_t *pin, size_t *pin_len, char *errmsg,
                        size_t errmsg_len)
{
	const char *path = source;
	if (strncmp(source, "file:", 5) == 0) {
		int rc = synod_file_uri_path(source, &path, errmsg, errmsg_len);
		if (rc != 0) {
			return rc;
		}
	} else if (source[0] != '/') {
		synod_sign_errf(errmsg, errmsg_len,
		                "pin-source '%s' is not supported: use pin-source=file:PATH",
		                source);
		return SYNOD_EURI;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	int err = errno;
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		synod_sign_errf(errmsg, errmsg_len, "cannot read PIN file %s: %s", path,
		                fd < 0 ? strerror(err) : "not a regular file");
		if (fd >= 0) {
			close(fd);
		}
		return fd < 0 && err == ENOENT ? SYNOD_ENOTFOUND : SYNOD_EIO;
	}
	ssize_t r = read(fd, pin, SYNOD_PKCS11_PIN_BYTES_MAX);
	close(fd);
	if (r < 0) {
		synod_sign_errf(errmsg, errmsg_len, "cannot read PIN file %s", path);
		return SYNOD_EIO;
	}
	size_t n = 0;
	while (n < (size_t)r && pin[n] != '\n' && pin[n] != '\r') {
		n++;
	}
	*pin_len = n;
	return 0;
}

static int p11_login(struct p11_session *ps, char *errmsg, size_t errmsg_len)
{
	uint8_t pin[SYNOD_PKCS11_PIN_BYTES_MAX];
	size_t pin_len = 0;
	int rc = 0;
	struct synod_p11_value *pv = &ps->uri.attr[SYNOD_P11_PIN_VALUE];
	struct synod_p11_value *psrc = &ps->uri.attr[SYNOD_P11_PIN_SOURCE];
	if (pv->set) {
		pin_len = pv->len;
		memcpy(pin, pv->val, pin_len);
	} else if (psrc->set) {
		rc = p11_pin_read((const char *)psrc->val, pin, &pin_len, errmsg, errmsg_len);
		if (rc != 0) {
			goto fail;
		}
	} else if (ps->token_flags & CKF_LOGIN_REQUIRED) {
		synod_sign_errf(errmsg, errmsg_len,
		                "%s needs a PIN: add ?pin-source=file:PATH or ?pin-value=PIN",
		                ps->where);
		return SYNOD_EURI;
	} else {
		return 0;
	}
	CK_RV rv = ps->f->C_Login(ps->h, CKU_USER, pin, pin_len);
	/* Login state is per application and token: a second signer on the
	 * same token finds the user logged in already. */
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		rc = p11_fail(errmsg, errmsg_len, "C_Login", rv, ps->where);
	}
fail:
	sodium_memzero(pin, sizeof pin);
	sodium_memzero(pv, sizeof *pv);
	return rc;
}

static void p11_session_close(struct p11_session *ps)
{
	/* No C_Logout: it would log out every session of this process on the
	 * token; closing the last session logs out by itself. */
	if (ps->open) {
		ps->f->C_CloseSession(ps->h);
		ps->open = false;
	}
	if (ps->mod != NULL) {
		p11_module_put(ps->mod);
		ps->mod = NULL;
	}
	synod_pkcs11_uri_wipe(&ps->uri);
}

static void p11_session_where(struct p11_session *ps)
{
	const struct synod_p11_value *a = ps->uri.attr;
	if (a[SYNOD_P11_TOKEN].set) {
		snprintf(ps->where, sizeof ps->where, "token '%.64s'",
		         (const char *)a[SYNOD_P11_TOKEN].val);
	} else if (a[SYNOD_P11_SLOT_ID].set) {
		snprintf(ps->where, sizeof ps->where, "slot %lu", ps->uri.slot_id);
	} else {
		snprintf(ps->where, sizeof ps->where, "any token");
	}
}

/* Parses uri, loads the module, finds the token, opens a session (read-write
 * when rw) and logs in. On failure everything is closed again. */
static int p11_session_open(struct p11_session *ps, const char *uri, bool rw, char *errmsg,
                            size_t errmsg_len)
{
	memset(ps, 0, sizeof *ps);
	int rc = synod_pkcs11_uri_parse(&ps->uri, uri, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	p11_session_where(ps);
	const struct synod_p11_value *mp = &ps->uri.attr[SYNOD_P11_MODULE_PATH];
	const char *module = mp->set ? (const char *)mp->val : SYNOD_PKCS11_MODULE_DEFAULT;
	rc = p11_module_get(module, &ps->mod, errmsg, errmsg_len);
	if (rc != 0) {
		goto fail;
	}
	ps->f = ps->mod->f;
	rc = p11_slot_find(ps, errmsg, errmsg_len);
	if (rc != 0) {
		goto fail;
	}
	CK_FLAGS flags = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);
	CK_RV rv = ps->f->C_OpenSession(ps->slot, flags, NULL, NULL, &ps->h);
	if (rv != CKR_OK) {
		rc = p11_fail(errmsg, errmsg_len, "C_OpenSession", rv, ps->where);
		goto fail;
	}
	ps->open = true;
	rc = p11_login(ps, errmsg, errmsg_len);
	if (rc != 0) {
		goto fail;
	}
	return 0;
fail:
	p11_session_close(ps);
	return rc;
}

/* ---- objects ---- */

static int p11_find(struct p11_session *ps, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *found,
                    CK_ULONG cap, CK_ULONG *count, char *errmsg, size_t errmsg_len)
{
	*count = 0;
	CK_RV rv = ps->f->C_FindObjectsInit(ps->h, tmpl, n);
	if (rv != CKR_OK) {
		return p11_fail(errmsg, errmsg_len, "C_FindObjectsInit", rv, ps->where);
	}
	rv = ps->f->C_FindObjects(ps->h, found, cap, count);
	CK_RV rv_final = ps->f->C_FindObjectsFinal(ps->h);
	if (rv != CKR_OK) {
		return p11_fail(errmsg, errmsg_len, "C_FindObjects", rv, ps->where);
	}
	if (rv_final != CKR_OK) {
		return p11_fail(errmsg, errmsg_len, "C_FindObjectsFinal", rv_final, ps->where);
	}
	return 0;
}

/* Appends CKA_LABEL (object=) and CKA_ID (id=) when the URI gives them. */
static CK_ULONG p11_tmpl_name(struct p11_session *ps, CK_ATTRIBUTE *t, CK_ULONG n)
{
	struct synod_p11_value *a = ps->uri.attr;
	if (a[SYNOD_P11_OBJECT].set) {
		t[n++] =
		    (CK_ATTRIBUTE){CKA_LABEL, a[SYNOD_P11_OBJECT].val, a[SYNOD_P11_OBJECT].len};
	}
	if (a[SYNOD_P11_ID].set) {
		t[n++] = (CK_ATTRIBUTE){CKA_ID, a[SYNOD_P11_ID].val, a[SYNOD_P11_ID].len};
	}
	return n;
}

static const char *p11_object_name(struct p11_session *ps)
{
	const struct synod_p11_value *o = &ps->uri.attr[SYNOD_P11_OBJECT];
	return o->set ? (const char *)o->val : "(by id)";
}

/* The one Ed25519 key of class cls that the URI's object= and id= name. */
static int p11_key_find(struct p11_session *ps, CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *out,
                        char *errmsg, size_t errmsg_len)
{
	if (!ps->uri.attr[SYNOD_P11_OBJECT].set && !ps->uri.attr[SYNOD_P11_ID].set) {
		synod_sign_errf(errmsg, errmsg_len, "pkcs11 URI names no key: add object=LABEL");
		return SYNOD_EURI;
	}
	CK_KEY_TYPE kt = CKK_EC_EDWARDS;
	CK_ATTRIBUTE t[4] = {
	    {CKA_CLASS, &cls, sizeof cls},
	    {CKA_KEY_TYPE, &kt, sizeof kt},
	};
	CK_ULONG n = p11_tmpl_name(ps, t, 2);
	CK_OBJECT_HANDLE found[2];
	CK_ULONG count = 0;
	int rc = p11_find(ps, t, n, found, 2, &count, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	const char *what = cls == CKO_PRIVATE_KEY ? "private" : "public";
	if (count != 1) {
		synod_sign_errf(errmsg, errmsg_len, "%s Ed25519 %s key '%s' in %s",
		                count == 0 ? "no" : "more than one", what, p11_object_name(ps),
		                ps->where);
		return count == 0 ? SYNOD_ENOTFOUND : SYNOD_EURI;
	}
	*out = found[0];
	return 0;
}

static int p11_pubkey_read(struct p11_session *ps, CK_OBJECT_HANDLE pub,
                           uint8_t pk[SYNOD_PUBKEY_BYTES], char *errmsg, size_t errmsg_len)
{
	uint8_t point[2 * P11_EC_POINT_BYTES];
	CK_ATTRIBUTE a = {CKA_EC_POINT, point, sizeof point};
	CK_RV rv = ps->f->C_GetAttributeValue(ps->h, pub, &a, 1);
	if (rv != CKR_OK) {
		return p11_fail(errmsg, errmsg_len, "C_GetAttributeValue(CKA_EC_POINT)", rv,
		                ps->where);
	}
	if (a.ulValueLen == P11_EC_POINT_BYTES && point[0] == 0x04 &&
	    point[1] == SYNOD_PUBKEY_BYTES) {
		memcpy(pk, point + 2, SYNOD_PUBKEY_BYTES);
	} else if (a.ulValueLen == SYNOD_PUBKEY_BYTES) { /* some tokens omit the DER */
		memcpy(pk, point, SYNOD_PUBKEY_BYTES);
	} else {
		synod_sign_errf(errmsg, errmsg_len,
		                "CKA_EC_POINT of '%s' in %s is %lu bytes, expected 04 20 and 32",
		                p11_object_name(ps), ps->where, (unsigned long)a.ulValueLen);
		return SYNOD_EPKCS11;
	}
	return 0;
}

static int p11_sign_raw(struct p11_session *ps, CK_OBJECT_HANDLE key, const uint8_t *m, size_t n,
                        uint8_t sig[SYNOD_SIG_BYTES], char *errmsg, size_t errmsg_len)
{
	CK_MECHANISM mech = {CKM_EDDSA, NULL, 0}; /* no parameter: plain Ed25519 */
	CK_RV rv = ps->f->C_SignInit(ps->h, &mech, key);
	if (rv != CKR_OK) {
		return p11_fail(errmsg, errmsg_len, "C_SignInit", rv, ps->where);
	}
	CK_ULONG sig_len = SYNOD_SIG_BYTES;
	rv = ps->f->C_Sign(ps->h, (CK_BYTE_PTR)m, n, sig, &sig_len);
	if (rv != CKR_OK) {
		return p11_fail(errmsg, errmsg_len, "C_Sign", rv, ps->where);
	}
	if (sig_len != SYNOD_SIG_BYTES) {
		synod_sign_errf(errmsg, errmsg_len, "C_Sign returned %lu bytes, not 64",
		                (unsigned long)sig_len);
		return SYNOD_EPKCS11;
	}
	return 0;
}

/* Signs a fixed message with key and verifies it under pk: catches a public
 * key object that belongs to another private key. */
static int p11_pair_check(struct p11_session *ps, CK_OBJECT_HANDLE key,
                          const uint8_t pk[SYNOD_PUBKEY_BYTES], char *errmsg, size_t errmsg_len)
{
	uint8_t sig[SYNOD_SIG_BYTES];
	int rc = p11_sign_raw(ps, key, p11_selftest_msg, sizeof p11_selftest_msg, sig, errmsg,
	                      errmsg_len);
	if (rc != 0) {
		return rc;
	}
	if (crypto_sign_verify_detached(sig, p11_selftest_msg, sizeof p11_selftest_msg, pk) != 0) {
		synod_sign_errf(errmsg, errmsg_len,
		                "private and public key objects '%s' in %s do not match",
		                p11_object_name(ps), ps->where);
		return SYNOD_ECRYPTO;
	}
	return 0;
}

/* ---- the signer ---- */

struct p11_signer {
	struct p11_session ps;
	CK_OBJECT_HANDLE key;
};

static int p11_signer_sign(struct synod_signer *s, uint8_t sig[SYNOD_SIG_BYTES], const uint8_t *m,
                           size_t n)
{
	struct p11_signer *p = s->impl;
	return p11_sign_raw(&p->ps, p->key, m, n, sig, s->errmsg, sizeof s->errmsg);
}

static void p11_signer_close(struct synod_signer *s)
{
	struct p11_signer *p = s->impl;
	if (p != NULL) {
		p11_session_close(&p->ps);
		free(p);
		s->impl = NULL;
	}
}

static const struct synod_signer_ops p11_signer_ops = {
    .kind = "pkcs11",
    .sign = p11_signer_sign,
    .close = p11_signer_close,
};

int synod_pkcs11_signer_open(struct synod_signer *s, const char *uri, char *errmsg,
                             size_t errmsg_len)
{
	struct p11_signer *p = calloc(1, sizeof *p);
	if (p == NULL) {
		synod_sign_errf(errmsg, errmsg_len, "out of memory opening a PKCS#11 signer");
		return SYNOD_ENOMEM;
	}
	CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE;
	int rc = p11_session_open(&p->ps, uri, false, errmsg, errmsg_len);
	if (rc != 0) {
		free(p);
		return rc;
	}
	rc = p11_key_find(&p->ps, CKO_PRIVATE_KEY, &p->key, errmsg, errmsg_len);
	if (rc == 0) {
		rc = p11_key_find(&p->ps, CKO_PUBLIC_KEY, &pub, errmsg, errmsg_len);
	}
	if (rc == 0) {
		rc = p11_pubkey_read(&p->ps, pub, s->pk, errmsg, errmsg_len);
	}
	if (rc == 0) {
		rc = p11_pair_check(&p->ps, p->key, s->pk, errmsg, errmsg_len);
	}
	if (rc != 0) {
		p11_session_close(&p->ps);
		free(p);
		return rc;
	}
	s->ops = &p11_signer_ops;
	s->impl = p;
	return 0;
}

/* ---- key generation and import ---- */

/* SoftHSM lets two objects share a label: refuse instead. */
static int p11_label_free(struct p11_session *ps, char *errmsg, size_t errmsg_len)
{
	struct synod_p11_value *o = &ps->uri.attr[SYNOD_P11_OBJECT];
	if (!o->set || o->len == 0) {
		synod_sign_errf(errmsg, errmsg_len, "keygen needs object=LABEL in the pkcs11 URI");
		return SYNOD_EURI;
	}
	CK_ATTRIBUTE t[1] = {{CKA_LABEL, o->val, o->len}};
	CK_OBJECT_HANDLE found[1];
	CK_ULONG count = 0;
	int rc = p11_find(ps, t, 1, found, 1, &count, errmsg, errmsg_len);
	if (rc == 0 && count > 0) {
		synod_sign_errf(errmsg, errmsg_len,
		                "an object labelled '%s' already exists in %s: refusing to create "
		                "another",
		                (const char *)o->val, ps->where);
		rc = SYNOD_EEXIST;
	}
	return rc;
}

static int p11_key_generate(struct p11_session *ps, CK_OBJECT_HANDLE *priv, CK_OBJECT_HANDLE *pub,
                            char *errmsg, size_t errmsg_len)
{
	CK_BBOOL yes = CK_TRUE;
	CK_BBOOL no = CK_FALSE;
	CK_ATTRIBUTE pub_t[10] = {
	    {CKA_TOKEN, &yes, sizeof yes},
	    {CKA_PRIVATE, &no, sizeof no},
	    {CKA_VERIFY, &yes, sizeof yes},
	    {CKA_ENCRYPT, &no, sizeof no},
	    {CKA_WRAP, &no, sizeof no},
	    {CKA_DERIVE, &no, sizeof no},
	    {CKA_EC_PARAMS, (void *)p11_ed25519_oid, sizeof p11_ed25519_oid},
	};
	CK_ATTRIBUTE priv_t[12] = {
	    {CKA_TOKEN, &yes, sizeof yes},     {CKA_PRIVATE, &yes, sizeof yes},
	    {CKA_SENSITIVE, &yes, sizeof yes}, {CKA_EXTRACTABLE, &no, sizeof no},
	    {CKA_SIGN, &yes, sizeof yes},      {CKA_DECRYPT, &no, sizeof no},
	    {CKA_UNWRAP, &no, sizeof no},      {CKA_DERIVE, &no, sizeof no},
	};
	CK_ULONG pub_n = p11_tmpl_name(ps, pub_t, 7);
	CK_ULONG priv_n = p11_tmpl_name(ps, priv_t, 8);
	CK_MECHANISM mech = {CKM_EC_EDWARDS_KEY_PAIR_GEN, NULL, 0};
	CK_RV rv = ps->f->C_GenerateKeyPair(ps->h, &mech, pub_t, pub_n, priv_t, priv_n, pub, priv);
	if (rv != CKR_OK) {
		return p11_fail(errmsg, errmsg_len, "C_GenerateKeyPair", rv, ps->where);
	}
	return 0;
}

static int p11_create(struct p11_session *ps, CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *out,
                      char *errmsg, size_t errmsg_len)
{
	CK_RV rv = ps->f->C_CreateObject(ps->h, t, n, out);
	if (rv != CKR_OK) {
		return p11_fail(errmsg, errmsg_len, "C_CreateObject", rv, ps->where);
	}
	return 0;
}

/* Imports seed as a sensitive, non-extractable private key (CKA_VALUE is the
 * RFC 8032 32-byte secret) and its public key object. */
static int p11_key_import(struct p11_session *ps, const uint8_t *seed,
                          const uint8_t pk[SYNOD_PUBKEY_BYTES], CK_OBJECT_HANDLE *priv,
                          CK_OBJECT_HANDLE *pub, char *errmsg, size_t errmsg_len)
{
	CK_OBJECT_CLASS priv_cls = CKO_PRIVATE_KEY;
	CK_OBJECT_CLASS pub_cls = CKO_PUBLIC_KEY;
	CK_KEY_TYPE kt = CKK_EC_EDWARDS;
	CK_BBOOL yes = CK_TRUE;
	CK_BBOOL no = CK_FALSE;
	uint8_t point[P11_EC_POINT_BYTES] = {0x04, SYNOD_PUBKEY_BYTES};
	memcpy(point + 2, pk, SYNOD_PUBKEY_BYTES);
	CK_ATTRIBUTE priv_t[14] = {
	    {CKA_CLASS, &priv_cls, sizeof priv_cls},
	    {CKA_KEY_TYPE, &kt, sizeof kt},
	    {CKA_TOKEN, &yes, sizeof yes},
	    {CKA_PRIVATE, &yes, sizeof yes},
	    {CKA_SENSITIVE, &yes, sizeof yes},
	    {CKA_EXTRACTABLE, &no, sizeof no},
	    {CKA_SIGN, &yes, sizeof yes},
	    {CKA_DECRYPT, &no, sizeof no},
	    {CKA_UNWRAP, &no, sizeof no},
	    {CKA_DERIVE, &no, sizeof no},
	    {CKA_EC_PARAMS, (void *)p11_ed25519_oid, sizeof p11_ed25519_oid},
	    {CKA_VALUE, (void *)seed, SYNOD_SEED_BYTES},
	};
	CK_ATTRIBUTE pub_t[12] = {
	    {CKA_CLASS, &pub_cls, sizeof pub_cls},
	    {CKA_KEY_TYPE, &kt, sizeof kt},
	    {CKA_TOKEN, &yes, sizeof yes},
	    {CKA_PRIVATE, &no, sizeof no},
	    {CKA_VERIFY, &yes, sizeof yes},
	    {CKA_ENCRYPT, &no, sizeof no},
	    {CKA_WRAP, &no, sizeof no},
	    {CKA_DERIVE, &no, sizeof no},
	    {CKA_EC_PARAMS, (void *)p11_ed25519_oid, sizeof p11_ed25519_oid},
	    {CKA_EC_POINT, point, sizeof point},
	};
	int rc = p11_create(ps, priv_t, p11_tmpl_name(ps, priv_t, 12), priv, errmsg, errmsg_len);
	if (rc == 0) {
		rc = p11_create(ps, pub_t, p11_tmpl_name(ps, pub_t, 10), pub, errmsg, errmsg_len);
	}
	return rc;
}

/* The public key of seed, computed here so it can be stored beside it. */
static int p11_seed_pubkey(const uint8_t *seed, uint8_t pk[SYNOD_PUBKEY_BYTES])
{
	uint8_t *sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (sk == NULL) {
		return SYNOD_ENOMEM;
	}
	int rc = crypto_sign_seed_keypair(pk, sk, seed) == 0 ? 0 : SYNOD_ECRYPTO;
	sodium_free(sk);
	return rc;
}

static int p11_keygen_in(struct p11_session *ps, const uint8_t *seed,
                         uint8_t pk[SYNOD_PUBKEY_BYTES], char *errmsg, size_t errmsg_len)
{
	CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE;
	int rc = p11_label_free(ps, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	if (seed != NULL) {
		rc = p11_seed_pubkey(seed, pk);
		if (rc == 0) {
			rc = p11_key_import(ps, seed, pk, &priv, &pub, errmsg, errmsg_len);
		}
	} else {
		rc = p11_key_generate(ps, &priv, &pub, errmsg, errmsg_len);
		if (rc == 0) {
			rc = p11_pubkey_read(ps, pub, pk, errmsg, errmsg_len);
		}
	}
	if (rc == 0) {
		rc = p11_pair_check(ps, priv, pk, errmsg, errmsg_len);
	}
	if (rc != 0) { /* leave no half-made key behind */
		if (priv != CK_INVALID_HANDLE) {
			ps->f->C_DestroyObject(ps->h, priv);
		}
		if (pub != CK_INVALID_HANDLE) {
			ps->f->C_DestroyObject(ps->h, pub);
		}
	}
	return rc;
}

int synod_pkcs11_keygen(const char *uri, const uint8_t *seed, uint8_t pk[SYNOD_PUBKEY_BYTES],
                        char *errmsg, size_t errmsg_len)
{
	struct p11_session *ps = calloc(1, sizeof *ps);
	if (ps == NULL) {
		synod_sign_errf(errmsg, errmsg_len, "out of memory for PKCS#11 keygen");
		return SYNOD_ENOMEM;
	}
	int rc = p11_session_open(ps, uri, true, errmsg, errmsg_len);
	if (rc == 0) {
		rc = p11_keygen_in(ps, seed, pk, errmsg, errmsg_len);
		p11_session_close(ps);
	}
	free(ps);
	return rc;
}

/* ---- test-only probe ---- */

static int p11_props_read(struct p11_session *ps, CK_OBJECT_HANDLE key,
                          struct synod_pkcs11_key_props *out, char *errmsg, size_t errmsg_len)
{
	CK_ATTRIBUTE value = {CKA_VALUE, NULL, 0};
	out->value_rv = ps->f->C_GetAttributeValue(ps->h, key, &value, 1);
	CK_BBOOL b[8] = {0};
	CK_ATTRIBUTE t[8] = {
	    {CKA_EXTRACTABLE, &b[0], 1}, {CKA_SENSITIVE, &b[1], 1}, {CKA_SIGN, &b[2], 1},
	    {CKA_DECRYPT, &b[3], 1},     {CKA_UNWRAP, &b[4], 1},    {CKA_DERIVE, &b[5], 1},
	    {CKA_TOKEN, &b[6], 1},       {CKA_PRIVATE, &b[7], 1},
	};
	CK_RV rv = ps->f->C_GetAttributeValue(ps->h, key, t, 8);
	if (rv != CKR_OK) {
		return p11_fail(errmsg, errmsg_len, "C_GetAttributeValue", rv, ps->where);
	}
	out->extractable = b[0];
	out->sensitive = b[1];
	out->sign = b[2];
	out->decrypt = b[3];
	out->unwrap = b[4];
	out->derive = b[5];
	out->token = b[6];
	out->is_private = b[7];
	return 0;
}

int synod_pkcs11_key_props_get(const char *uri, struct synod_pkcs11_key_props *out, char *errmsg,
                               size_t errmsg_len)
{
	memset(out, 0, sizeof *out);
	struct p11_session *ps = calloc(1, sizeof *ps);
	if (ps == NULL) {
		return SYNOD_ENOMEM;
	}
	int rc = p11_session_open(ps, uri, false, errmsg, errmsg_len);
	if (rc == 0) {
		CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
		rc = p11_key_find(ps, CKO_PRIVATE_KEY, &key, errmsg, errmsg_len);
		if (rc == 0) {
			rc = p11_props_read(ps, key, out, errmsg, errmsg_len);
		}
		p11_session_close(ps);
	}
	free(ps);
	return rc;
}

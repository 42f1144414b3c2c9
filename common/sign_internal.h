/* Private to common/sign*.c and common/pkcs11_uri.c (and their tests): the
 * signer object, the two back ends, the RFC 7512 URI parser and a test-only
 * probe of a token key's attributes. Not part of the public API. */
#ifndef SYNOD_COMMON_SIGN_INTERNAL_H
#define SYNOD_COMMON_SIGN_INTERNAL_H

#include "common/sign.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Domain-separated input up to this size is framed on the stack. */
#define SYNOD_SIGN_STACK_BYTES  4096u
#define SYNOD_SIGN_ERRMSG_BYTES 512u
/* A key file: 64 hex characters and a newline. */
#define SYNOD_KEYFILE_BYTES (2u * SYNOD_SEED_BYTES + 1u)

#define SYNOD_PKCS11_MODULE_DEFAULT "/usr/lib/softhsm/libsofthsm2.so"
/* Longest decoded value of any one RFC 7512 attribute (labels, paths, PIN). */
#define SYNOD_PKCS11_ATTR_BYTES_MAX 256u
#define SYNOD_PKCS11_SLOTS_MAX      64u
#define SYNOD_PKCS11_MODULES_MAX    8u
#define SYNOD_PKCS11_PIN_BYTES_MAX  SYNOD_PKCS11_ATTR_BYTES_MAX

_Static_assert(SYNOD_SIGN_STACK_BYTES >= SYNOD_SIGN_INPUT_BYTES(SYNOD_SIGN_TAG_BYTES_MAX, 1024u),
               "a vote (well under 1 KiB) is framed without the heap");
_Static_assert(SYNOD_SIGN_TAG_BYTES_MAX <= 255u, "the tag length is one byte");

struct synod_signer;

struct synod_signer_ops {
	const char *kind; /* "file" or "pkcs11" */
	/* Signs the framed bytes m[0..n) into sig; on failure fills s->errmsg. */
	int (*sign)(struct synod_signer *s, uint8_t sig[SYNOD_SIG_BYTES], const uint8_t *m,
	            size_t n);
	/* Wipes and frees s->impl. */
	void (*close)(struct synod_signer *s);
};

struct synod_signer {
	const struct synod_signer_ops *ops;
	void *impl;
	uint8_t pk[SYNOD_PUBKEY_BYTES];
	char errmsg[SYNOD_SIGN_ERRMSG_BYTES];
};

/* snprintf into errmsg when it is non-NULL and errmsg_len > 0. */
void synod_sign_errf(char *errmsg, size_t errmsg_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* sodium_init once per process; SYNOD_ECRYPTO when it fails. */
SYNOD_WUR int synod_sign_sodium_init(void);

/* ---- file signer (common/sign_file.c) ---- */

/* The path of a file: URI ("file:PATH" or "file:///ABS"), pointing into uri;
 * SYNOD_EURI for an empty path or a host part. */
SYNOD_WUR int synod_file_uri_path(const char *uri, const char **path, char *errmsg,
                                  size_t errmsg_len);
/* Reads the seed from a key file that is a regular file of mode 0600.
 * seed should be sodium_malloc memory. SYNOD_EPERM (mode), SYNOD_EKEYFILE
 * (not a regular file, malformed), SYNOD_ENOTFOUND, SYNOD_EIO. */
SYNOD_WUR int synod_keyfile_seed_read(const char *path, uint8_t seed[SYNOD_SEED_BYTES],
                                      char *errmsg, size_t errmsg_len);
/* Fills s (ops, impl, pk) from the key file at path. */
SYNOD_WUR int synod_file_signer_open(struct synod_signer *s, const char *path, char *errmsg,
                                     size_t errmsg_len);
SYNOD_WUR int synod_file_keygen(const char *path, const uint8_t *seed,
                                uint8_t pk[SYNOD_PUBKEY_BYTES], char *errmsg, size_t errmsg_len);

/* ---- RFC 7512 URIs (common/pkcs11_uri.c) ---- */

enum synod_p11_attr {
	/* path attributes */
	SYNOD_P11_TOKEN,
	SYNOD_P11_MANUFACTURER,
	SYNOD_P11_MODEL,
	SYNOD_P11_SERIAL,
	SYNOD_P11_SLOT_DESCRIPTION,
	SYNOD_P11_SLOT_MANUFACTURER,
	SYNOD_P11_SLOT_ID,
	SYNOD_P11_LIBRARY_MANUFACTURER,
	SYNOD_P11_LIBRARY_DESCRIPTION,
	SYNOD_P11_LIBRARY_VERSION,
	SYNOD_P11_OBJECT,
	SYNOD_P11_ID,
	SYNOD_P11_TYPE,
	/* query attributes */
	SYNOD_P11_PIN_VALUE,
	SYNOD_P11_PIN_SOURCE,
	SYNOD_P11_MODULE_NAME,
	SYNOD_P11_MODULE_PATH,
	SYNOD_P11_ATTR_COUNT,
};

struct synod_p11_value {
	bool set;
	size_t len; /* decoded bytes; val is NUL-terminated too */
	uint8_t val[SYNOD_PKCS11_ATTR_BYTES_MAX + 1];
};

struct synod_pkcs11_uri {
	struct synod_p11_value attr[SYNOD_P11_ATTR_COUNT];
	unsigned long slot_id; /* when attr[SYNOD_P11_SLOT_ID].set */
	unsigned lib_major;    /* when attr[SYNOD_P11_LIBRARY_VERSION].set */
	unsigned lib_minor;
};

/* Parses uri into *u (caller memory; holds the PIN: wipe it with
 * synod_pkcs11_uri_wipe). Percent-decodes every value; rejects unknown,
 * repeated or vendor (x-) path attributes, characters RFC 7512 requires to
 * be encoded, %00 in text values, a bad slot-id, library-version or type,
 * module-name (use module-path) and pin-value together with pin-source.
 * Vendor query attributes are ignored. SYNOD_EURI or SYNOD_ELIMIT. */
SYNOD_WUR int synod_pkcs11_uri_parse(struct synod_pkcs11_uri *u, const char *uri, char *errmsg,
                                     size_t errmsg_len);
void synod_pkcs11_uri_wipe(struct synod_pkcs11_uri *u);
/* The RFC 7512 name of an attribute ("token", "pin-source", ...). */
const char *synod_pkcs11_attr_name(enum synod_p11_attr a);

/* ---- PKCS#11 signer (common/sign_pkcs11.c) ---- */

SYNOD_WUR int synod_pkcs11_signer_open(struct synod_signer *s, const char *uri, char *errmsg,
                                       size_t errmsg_len);
SYNOD_WUR int synod_pkcs11_keygen(const char *uri, const uint8_t *seed,
                                  uint8_t pk[SYNOD_PUBKEY_BYTES], char *errmsg, size_t errmsg_len);
/* "CKR_PIN_INCORRECT" for the common CK_RV codes, "CKR_?" otherwise. */
const char *synod_pkcs11_rv_name(unsigned long rv);

/* Test-only: what the token says about the private key at uri. */
struct synod_pkcs11_key_props {
	unsigned long value_rv; /* C_GetAttributeValue(CKA_VALUE): CKR_ATTRIBUTE_SENSITIVE */
	bool extractable;
	bool sensitive;
	bool sign;
	bool decrypt;
	bool unwrap;
	bool derive;
	bool token;
	bool is_private;
};
SYNOD_WUR int synod_pkcs11_key_props_get(const char *uri, struct synod_pkcs11_key_props *out,
                                         char *errmsg, size_t errmsg_len);

#endif

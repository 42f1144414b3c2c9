/* Error codes shared by every synod component.
 *
 * Functions return 0 on success and one of these (negative) codes otherwise.
 * synod_strerror() names each one in words. Codes are grouped by the layer that
 * produces them; a caller that needs detail keeps an errmsg buffer too. */
#ifndef SYNOD_COMMON_ERR_H
#define SYNOD_COMMON_ERR_H

#define SYNOD_WUR __attribute__((warn_unused_result))

enum synod_err {
	SYNOD_OK = 0,
	/* generic */
	SYNOD_ENOMEM = -1,    /* allocation failed */
	SYNOD_EINVAL = -2,    /* invalid argument or malformed input */
	SYNOD_ELIMIT = -3,    /* a configured limit was exceeded */
	SYNOD_EIO = -4,       /* an operating-system I/O call failed */
	SYNOD_ENOTFOUND = -5, /* the named thing does not exist */
	SYNOD_EEXIST = -6,    /* the named thing already exists */
	SYNOD_EPERM = -7,     /* permissions are unsafe or insufficient */
	SYNOD_EFULL = -8,     /* a bounded queue or table is full */
	SYNOD_ESTATE = -9,    /* operation not valid in the object's state */
	/* wire codec */
	SYNOD_ETRUNC = -20,    /* input ended before the field it promised */
	SYNOD_ETRAILING = -21, /* bytes left over after a complete message */
	SYNOD_EVERSION = -22,  /* unknown message type or version */
	/* JSON */
	SYNOD_EJSON_SYNTAX = -30,    /* not JSON */
	SYNOD_EJSON_DEPTH = -31,     /* nesting deeper than allowed */
	SYNOD_EJSON_UTF8 = -32,      /* invalid UTF-8 */
	SYNOD_EJSON_DUPKEY = -33,    /* an object repeats a key */
	SYNOD_EJSON_TRAILING = -34,  /* bytes after the JSON value */
	SYNOD_EJSON_NAN = -35,       /* NaN or Infinity literal */
	SYNOD_EJSON_QUOTE = -36,     /* single-quoted string */
	SYNOD_EJSON_SURROGATE = -37, /* lone UTF-16 surrogate escape */
	SYNOD_EJSON_INTRANGE = -38,  /* integer outside the safe range */
	SYNOD_EJSON_TYPE = -39,      /* a value of a type not allowed here (e.g. a float) */
	SYNOD_EJSON_NONCANON = -40,  /* input differs from its canonical encoding */
	SYNOD_EJSON_SIZE = -41,      /* document larger than allowed */
	SYNOD_EJSON_NUL = -42,       /* U+0000 in a string or key */
	SYNOD_EJSON_MEMORY = -43,    /* the tree would exceed the parser's memory budget */
	/* crypto and keys */
	SYNOD_ECRYPTO = -50,  /* the crypto library failed */
	SYNOD_EBADSIG = -51,  /* signature does not verify */
	SYNOD_EURI = -52,     /* signer URI malformed or unsupported */
	SYNOD_EPKCS11 = -53,  /* a PKCS#11 call failed */
	SYNOD_EKEYFILE = -54, /* key file malformed */
	/* Merkle */
	SYNOD_EPROOF = -60, /* Merkle proof malformed or does not verify */
	/* config */
	SYNOD_ECONFIG = -70, /* configuration invalid */
	/* consensus */
	SYNOD_EPROTO = -80, /* peer message breaks the protocol */
	SYNOD_ECERT = -81,  /* certificate malformed or does not verify */
	/* storage */
	SYNOD_ECORRUPT = -90, /* stored data fails its checksum or structure */
};

/* Returns a static, human-readable description of err (never NULL). */
const char *synod_strerror(int err);

#include <stdarg.h>
#include <stddef.h>

/* Formats a message into errmsg (errmsg_len bytes; nothing when errmsg is
 * NULL or errmsg_len is 0) and returns err, so an error path is one line:
 *     return synod_errf(errmsg, errmsg_len, SYNOD_ECONFIG, "%s: ...", path); */
int synod_errf(char *errmsg, size_t errmsg_len, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same with a va_list; returns nothing. */
void synod_verrf(char *errmsg, size_t errmsg_len, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif

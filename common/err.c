#include "common/err.h"

#include <stdio.h>

const char *synod_strerror(int err)
{
	switch ((enum synod_err)err) {
	case SYNOD_OK:
		return "success";
	case SYNOD_ENOMEM:
		return "out of memory";
	case SYNOD_EINVAL:
		return "invalid argument or malformed input";
	case SYNOD_ELIMIT:
		return "limit exceeded";
	case SYNOD_EIO:
		return "I/O error";
	case SYNOD_ENOTFOUND:
		return "not found";
	case SYNOD_EEXIST:
		return "already exists";
	case SYNOD_EPERM:
		return "unsafe or insufficient permissions";
	case SYNOD_EFULL:
		return "queue or table full";
	case SYNOD_ESTATE:
		return "not valid in the current state";
	case SYNOD_ETRUNC:
		return "input truncated";
	case SYNOD_ETRAILING:
		return "trailing bytes after message";
	case SYNOD_EVERSION:
		return "unknown message type or version";
	case SYNOD_EJSON_SYNTAX:
		return "JSON syntax error";
	case SYNOD_EJSON_DEPTH:
		return "JSON nested too deeply";
	case SYNOD_EJSON_UTF8:
		return "JSON contains invalid UTF-8";
	case SYNOD_EJSON_DUPKEY:
		return "JSON object has a duplicate key";
	case SYNOD_EJSON_TRAILING:
		return "bytes after the JSON value";
	case SYNOD_EJSON_NAN:
		return "JSON contains NaN or Infinity";
	case SYNOD_EJSON_QUOTE:
		return "JSON contains a single-quoted string";
	case SYNOD_EJSON_SURROGATE:
		return "JSON contains a lone surrogate escape";
	case SYNOD_EJSON_INTRANGE:
		return "JSON integer out of range";
	case SYNOD_EJSON_TYPE:
		return "JSON value of a type not allowed here";
	case SYNOD_EJSON_NONCANON:
		return "JSON is not in canonical form";
	case SYNOD_EJSON_SIZE:
		return "JSON document too large";
	case SYNOD_EJSON_NUL:
		return "JSON string contains U+0000";
	case SYNOD_EJSON_MEMORY:
		return "JSON document needs more memory than its budget";
	case SYNOD_ECRYPTO:
		return "crypto library failure";
	case SYNOD_EBADSIG:
		return "signature does not verify";
	case SYNOD_EURI:
		return "signer URI malformed or unsupported";
	case SYNOD_EPKCS11:
		return "PKCS#11 call failed";
	case SYNOD_EKEYFILE:
		return "key file malformed";
	case SYNOD_EPROOF:
		return "Merkle proof invalid";
	case SYNOD_ECONFIG:
		return "configuration invalid";
	case SYNOD_EPROTO:
		return "protocol violation by peer";
	case SYNOD_ECERT:
		return "certificate invalid";
	case SYNOD_ECORRUPT:
		return "stored data corrupt";
	}
	return "unknown error";
}

void synod_verrf(char *errmsg, size_t errmsg_len, const char *fmt, va_list ap)
{
	if (errmsg != NULL && errmsg_len > 0) {
		vsnprintf(errmsg, errmsg_len, fmt, ap);
	}
}

int synod_errf(char *errmsg, size_t errmsg_len, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	synod_verrf(errmsg, errmsg_len, fmt, ap);
	va_end(ap);
	return err;
}

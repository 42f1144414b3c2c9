/* The file signer: an Ed25519 seed in a mode-0600 file, held in
 * sodium_malloc memory (guard pages, mlock) while open. */
#include "common/assert.h"
#include "common/hash.h"
#include "common/sign_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(crypto_sign_SEEDBYTES == SYNOD_SEED_BYTES, "seed size");
_Static_assert(crypto_sign_PUBLICKEYBYTES == SYNOD_PUBKEY_BYTES, "public key size");
_Static_assert(crypto_sign_BYTES == SYNOD_SIG_BYTES, "signature size");

int synod_file_uri_path(const char *uri, const char **path, char *errmsg, size_t errmsg_len)
{
	SYNOD_ASSERT(strncmp(uri, "file:", 5) == 0);
	const char *p = uri + 5;
	if (strncmp(p, "//", 2) == 0) {
		/* RFC 8089: file://HOST/PATH; only an empty host (file:///abs) is ours. */
		if (p[2] != '/') {
			synod_sign_errf(
			    errmsg, errmsg_len,
			    "file URI '%.200s' names a host: use file:PATH or file:///PATH", uri);
			return SYNOD_EURI;
		}
		p += 2;
	}
	if (*p == '\0') {
		synod_sign_errf(errmsg, errmsg_len, "file URI '%s' has no path", uri);
		return SYNOD_EURI;
	}
	*path = p;
	return 0;
}

static int keyfile_open_error(const char *path, int err, char *errmsg, size_t errmsg_len)
{
	synod_sign_errf(errmsg, errmsg_len, "cannot open key file %s: %s", path, strerror(err));
	if (err == ENOENT || err == ENOTDIR) {
		return SYNOD_ENOTFOUND;
	}
	return err == EACCES ? SYNOD_EPERM : SYNOD_EIO;
}

/* The checks made on the open descriptor, so they apply to what is read. */
static int keyfile_stat_check(int fd, const char *path, char *errmsg, size_t errmsg_len)
{
	struct stat st;
	if (fstat(fd, &st) != 0) {
		synod_sign_errf(errmsg, errmsg_len, "cannot stat key file %s: %s", path,
		                strerror(errno));
		return SYNOD_EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		synod_sign_errf(errmsg, errmsg_len, "key file %s is not a regular file", path);
		return SYNOD_EKEYFILE;
	}
	unsigned mode = (unsigned)(st.st_mode & 07777);
	if (mode != 0600) {
		synod_sign_errf(
		    errmsg, errmsg_len,
		    "key file %s has mode %04o, must be exactly 0600 (fix: chmod 600 %s)", path,
		    mode, path);
		return SYNOD_EPERM;
	}
	return 0;
}

/* Reads at most cap bytes (until EOF) into buf; *n gets the count. */
static int keyfile_read_all(int fd, uint8_t *buf, size_t cap, size_t *n)
{
	*n = 0;
	while (*n < cap) {
		ssize_t r = read(fd, buf + *n, cap - *n);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r < 0) {
			return SYNOD_EIO;
		}
		if (r == 0) {
			break;
		}
		*n += (size_t)r;
	}
	return 0;
}

static int keyfile_parse(const uint8_t *buf, size_t n, const char *path,
                         uint8_t seed[SYNOD_SEED_BYTES], char *errmsg, size_t errmsg_len)
{
	size_t hex_len = 2 * SYNOD_SEED_BYTES;
	bool shape_ok = n == hex_len || (n == hex_len + 1 && buf[hex_len] == '\n');
	if (!shape_ok ||
	    synod_hex_decode(seed, SYNOD_SEED_BYTES, (const char *)buf, hex_len) != 0) {
		synod_sign_errf(errmsg, errmsg_len,
		                "key file %s is malformed: expected 64 hex characters and a "
		                "newline",
		                path);
		return SYNOD_EKEYFILE;
	}
	return 0;
}

int synod_keyfile_seed_read(const char *path, uint8_t seed[SYNOD_SEED_BYTES], char *errmsg,
                            size_t errmsg_len)
{
	/* One byte more than a valid file so that a longer one is caught. */
	uint8_t buf[SYNOD_KEYFILE_BYTES + 1];
	size_t n = 0;
	int rc = 0;
	/* O_NONBLOCK so that a FIFO cannot hang us before the S_ISREG check. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		return keyfile_open_error(path, errno, errmsg, errmsg_len);
	}
	rc = keyfile_stat_check(fd, path, errmsg, errmsg_len);
	if (rc != 0) {
		goto fail;
	}
	rc = keyfile_read_all(fd, buf, sizeof buf, &n);
	if (rc != 0) {
		synod_sign_errf(errmsg, errmsg_len, "cannot read key file %s: %s", path,
		                strerror(errno));
		goto fail;
	}
	rc = keyfile_parse(buf, n, path, seed, errmsg, errmsg_len);
fail:
	sodium_memzero(buf, sizeof buf);
	close(fd);
	return rc;
}

static int file_signer_sign(struct synod_signer *s, uint8_t sig[SYNOD_SIG_BYTES], const uint8_t *m,
                            size_t n)
{
	if (crypto_sign_detached(sig, NULL, m, n, s->impl) != 0) {
		synod_sign_errf(s->errmsg, sizeof s->errmsg, "crypto_sign_detached failed");
		return SYNOD_ECRYPTO;
	}
	return 0;
}

static void file_signer_close(struct synod_signer *s)
{
	if (s->impl != NULL) {
		sodium_memzero(s->impl, crypto_sign_SECRETKEYBYTES);
		sodium_free(s->impl);
		s->impl = NULL;
	}
}

static const struct synod_signer_ops file_signer_ops = {
    .kind = "file",
    .sign = file_signer_sign,
    .close = file_signer_close,
};

int synod_file_signer_open(struct synod_signer *s, const char *path, char *errmsg,
                           size_t errmsg_len)
{
	int rc = SYNOD_ENOMEM;
	uint8_t *seed = sodium_malloc(SYNOD_SEED_BYTES);
	uint8_t *sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (seed == NULL || sk == NULL) {
		synod_sign_errf(errmsg, errmsg_len, "out of memory for key %s", path);
		goto fail;
	}
	rc = synod_keyfile_seed_read(path, seed, errmsg, errmsg_len);
	if (rc != 0) {
		goto fail;
	}
	if (crypto_sign_seed_keypair(s->pk, sk, seed) != 0) {
		synod_sign_errf(errmsg, errmsg_len, "cannot derive key pair from %s", path);
		rc = SYNOD_ECRYPTO;
		goto fail;
	}
	sodium_free(seed); /* sodium_free wipes */
	s->ops = &file_signer_ops;
	s->impl = sk;
	return 0;
fail:
	sodium_free(seed);
	sodium_free(sk);
	return rc;
}

static int keygen_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			return SYNOD_EIO;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* fsync the directory holding path, so the new entry survives a crash. */
static int keygen_dir_sync(const char *path)
{
	char copy[SYNOD_URI_BYTES_MAX + 1];
	snprintf(copy, sizeof copy, "%s", path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		return SYNOD_EIO;
	}
	int rc = fsync(fd) == 0 ? 0 : SYNOD_EIO;
	close(fd);
	return rc;
}

/* Writes hex (a seed in hex and a newline) to a new file at path. */
static int keygen_file_create(const char *path, const char *hex, char *errmsg, size_t errmsg_len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int err = errno;
		synod_sign_errf(errmsg, errmsg_len, "cannot create key file %s: %s%s", path,
		                strerror(err),
		                err == EEXIST ? " (refusing to overwrite a key)" : "");
		return err == EEXIST ? SYNOD_EEXIST : keyfile_open_error(path, err, NULL, 0);
	}
	int rc = SYNOD_EIO;
	/* The umask may have cleared bits of 0600 but never added any: set it. */
	if (fchmod(fd, 0600) != 0 || keygen_write_all(fd, hex, SYNOD_KEYFILE_BYTES) != 0 ||
	    fsync(fd) != 0) {
		synod_sign_errf(errmsg, errmsg_len, "cannot write key file %s: %s", path,
		                strerror(errno));
		goto fail;
	}
	if (close(fd) != 0 || keygen_dir_sync(path) != 0) {
		fd = -1;
		synod_sign_errf(errmsg, errmsg_len, "cannot sync key file %s: %s", path,
		                strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0) {
		close(fd);
	}
	unlink(path);
	return rc;
}

int synod_file_keygen(const char *path, const uint8_t *seed, uint8_t pk[SYNOD_PUBKEY_BYTES],
                      char *errmsg, size_t errmsg_len)
{
	int rc = SYNOD_ENOMEM;
	uint8_t *own_seed = sodium_malloc(SYNOD_SEED_BYTES);
	uint8_t *sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	char *hex = sodium_malloc(SYNOD_KEYFILE_BYTES + 1);
	if (own_seed == NULL || sk == NULL || hex == NULL) {
		synod_sign_errf(errmsg, errmsg_len, "out of memory for key %s", path);
		goto fail;
	}
	if (seed != NULL) {
		memcpy(own_seed, seed, SYNOD_SEED_BYTES);
	} else {
		randombytes_buf(own_seed, SYNOD_SEED_BYTES);
	}
	if (crypto_sign_seed_keypair(pk, sk, own_seed) != 0) {
		synod_sign_errf(errmsg, errmsg_len, "cannot derive key pair for %s", path);
		rc = SYNOD_ECRYPTO;
		goto fail;
	}
	rc = synod_hex_encode(hex, SYNOD_KEYFILE_BYTES + 1, own_seed, SYNOD_SEED_BYTES);
	SYNOD_ASSERT(rc == 0);
	hex[SYNOD_KEYFILE_BYTES - 1] = '\n';
	rc = keygen_file_create(path, hex, errmsg, errmsg_len);
fail:
	sodium_free(own_seed);
	sodium_free(sk);
	sodium_free(hex);
	return rc;
}

/* synod-hsm-init: initialises a PKCS#11 token (C_InitToken, then C_InitPIN)
 * with PINs read from files, for deploy/provision-hsm. softhsm2-util and
 * pkcs11-tool take PINs on the command line (visible in the process list) or
 * from a terminal only; this reads them from files.
 *
 *   synod-hsm-init --module PATH --label LABEL --so-pin-file F --pin-file F
 *
 * Uses the first slot with an uninitialised token. Refuses when a token
 * with LABEL exists. Exit 0 on success, 1 on failure (stderr says what). */
#include <p11-kit/pkcs11.h>

#include <dlfcn.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HSM_PIN_BYTES_MAX 255u
#define HSM_SLOTS_MAX     64u
#define HSM_LABEL_BYTES   32u

struct hsm_args {
	const char *module;
	const char *label;
	const char *so_pin_file;
	const char *pin_file;
};

/* The first line of path; refuses a file others may read. */
static int hsm_pin_read(const char *path, char pin[HSM_PIN_BYTES_MAX + 1])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		fprintf(stderr,
		        "synod-hsm-init: %s: cannot read, not a regular file, or readable "
		        "by group/others (chmod 600)\n",
		        path);
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	ssize_t r = read(fd, pin, HSM_PIN_BYTES_MAX);
	close(fd);
	size_t n = 0;
	while (r > 0 && n < (size_t)r && pin[n] != '\n' && pin[n] != '\r') {
		n++;
	}
	pin[n] = '\0';
	if (n < 4) {
		fprintf(stderr, "synod-hsm-init: %s: a PIN of 4..%u characters expected\n", path,
		        HSM_PIN_BYTES_MAX);
		return -1;
	}
	return 0;
}

static int hsm_fail(const char *what, CK_RV rv)
{
	fprintf(stderr, "synod-hsm-init: %s failed: CKR 0x%lx\n", what, (unsigned long)rv);
	return 1;
}

/* Finds the slot of the token labelled label (padded), or the first slot
 * with an uninitialised token when label is NULL. */
static int hsm_slot_find(CK_FUNCTION_LIST *f, const unsigned char *label, CK_SLOT_ID *out)
{
	CK_SLOT_ID slots[HSM_SLOTS_MAX];
	CK_ULONG n = HSM_SLOTS_MAX;
	if (f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK) {
		return -1;
	}
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK) {
			continue;
		}
		bool init = (ti.flags & CKF_TOKEN_INITIALIZED) != 0;
		if (label != NULL ? init && memcmp(ti.label, label, HSM_LABEL_BYTES) == 0 : !init) {
			*out = slots[i];
			return 0;
		}
	}
	return -1;
}

static int hsm_init(CK_FUNCTION_LIST *f, const struct hsm_args *a, const char *so_pin,
                    const char *pin)
{
	unsigned char label[HSM_LABEL_BYTES];
	memset(label, ' ', sizeof label);
	memcpy(label, a->label, strlen(a->label));
	CK_SLOT_ID slot;
	if (hsm_slot_find(f, label, &slot) == 0) {
		fprintf(stderr, "synod-hsm-init: a token labelled '%s' exists already\n", a->label);
		return 1;
	}
	if (hsm_slot_find(f, NULL, &slot) != 0) {
		fprintf(stderr, "synod-hsm-init: no slot with an uninitialised token\n");
		return 1;
	}
	CK_RV rv = f->C_InitToken(slot, (CK_UTF8CHAR *)so_pin, strlen(so_pin), label);
	if (rv != CKR_OK) {
		return hsm_fail("C_InitToken", rv);
	}
	if (hsm_slot_find(f, label, &slot) != 0) { /* SoftHSM moves it to a new slot id */
		fprintf(stderr, "synod-hsm-init: the new token '%s' is not listed\n", a->label);
		return 1;
	}
	CK_SESSION_HANDLE s;
	rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
	if (rv != CKR_OK) {
		return hsm_fail("C_OpenSession", rv);
	}
	rv = f->C_Login(s, CKU_SO, (CK_UTF8CHAR *)so_pin, strlen(so_pin));
	if (rv == CKR_OK) {
		rv = f->C_InitPIN(s, (CK_UTF8CHAR *)pin, strlen(pin));
		(void)f->C_Logout(s);
	}
	(void)f->C_CloseSession(s);
	return rv == CKR_OK ? 0 : hsm_fail("C_Login(SO)/C_InitPIN", rv);
}

static int hsm_args_parse(int argc, char **argv, struct hsm_args *a)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		const char **dst = strcmp(argv[i], "--module") == 0        ? &a->module
		                   : strcmp(argv[i], "--label") == 0       ? &a->label
		                   : strcmp(argv[i], "--so-pin-file") == 0 ? &a->so_pin_file
		                   : strcmp(argv[i], "--pin-file") == 0    ? &a->pin_file
		                                                           : NULL;
		if (dst == NULL) {
			return -1;
		}
		*dst = argv[i + 1];
	}
	bool ok = argc % 2 == 1 && a->module != NULL && a->label != NULL &&
	          a->so_pin_file != NULL && a->pin_file != NULL;
	return ok && strlen(a->label) >= 1 && strlen(a->label) <= HSM_LABEL_BYTES ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct hsm_args a = {0};
	if (hsm_args_parse(argc, argv, &a) != 0) {
		fprintf(stderr, "usage: synod-hsm-init --module PATH --label LABEL(1..32) "
		                "--so-pin-file FILE --pin-file FILE\n");
		return 2;
	}
	static char so_pin[HSM_PIN_BYTES_MAX + 1];
	static char pin[HSM_PIN_BYTES_MAX + 1];
	if (hsm_pin_read(a.so_pin_file, so_pin) != 0 || hsm_pin_read(a.pin_file, pin) != 0) {
		return 1;
	}
	void *dl = dlopen(a.module, RTLD_NOW | RTLD_LOCAL);
	void *sym = dl != NULL ? dlsym(dl, "C_GetFunctionList") : NULL;
	CK_C_GetFunctionList get;
	memcpy(&get, &sym, sizeof get);
	CK_FUNCTION_LIST *f = NULL;
	if (sym == NULL || get(&f) != CKR_OK) {
		fprintf(stderr, "synod-hsm-init: %s is not a PKCS#11 module\n", a.module);
		return 1;
	}
	CK_RV rv = f->C_Initialize(NULL);
	if (rv != CKR_OK) {
		return hsm_fail("C_Initialize", rv);
	}
	int rc = hsm_init(f, &a, so_pin, pin);
	(void)f->C_Finalize(NULL);
	memset(so_pin, 0, sizeof so_pin);
	memset(pin, 0, sizeof pin);
	return rc;
}

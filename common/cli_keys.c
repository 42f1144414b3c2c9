/* synod keygen URI [--seed-file PATH]  and  synod pubkey URI
 *
 * Both print the Ed25519 public key as 64 hex characters and a newline on
 * stdout; errors go to stderr. Exit 0 ok, 1 failure, 2 usage. */
#include "common/cli.h"
#include "common/hash.h"
#include "common/sign.h"
#include "common/sign_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define CLI_KEYGEN_USAGE                                                                           \
	"usage: synod keygen URI [--seed-file PATH]\n"                                             \
	"  URI: file:PATH or pkcs11:token=LABEL;object=LABEL?pin-source=file:PATH\n"               \
	"  --seed-file: import this seed (64 hex characters and a newline, mode 0600)\n"
#define CLI_PUBKEY_USAGE                                                                           \
	"usage: synod pubkey URI\n"                                                                \
	"  URI: file:PATH or pkcs11:token=LABEL;object=LABEL?pin-source=file:PATH\n"

static int cli_usage_error(const char *usage, const char *what, const char *arg)
{
	fprintf(stderr, "synod: %s%s%s\n%s", what, arg != NULL ? ": " : "", arg != NULL ? arg : "",
	        usage);
	return 2;
}

static int cli_fail(const char *cmd, int rc, const char *errmsg)
{
	fprintf(stderr, "synod %s: %s\n", cmd, errmsg[0] != '\0' ? errmsg : synod_strerror(rc));
	return 1;
}

static int cli_pubkey_print(const uint8_t pk[SYNOD_PUBKEY_BYTES])
{
	char hex[SYNOD_HEX_LEN(SYNOD_PUBKEY_BYTES)];
	if (synod_hex_encode(hex, sizeof hex, pk, SYNOD_PUBKEY_BYTES) != 0 ||
	    printf("%s\n", hex) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "synod: cannot write the public key to stdout\n");
		return 1;
	}
	return 0;
}

struct cli_keygen_args {
	const char *uri;
	const char *seed_file;
};

/* 0 when parsed, 2 on a usage error, -1 for --help. */
static int cli_keygen_parse(int argc, char **argv, struct cli_keygen_args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			return -1;
		}
		if (strcmp(arg, "--seed-file") == 0) {
			if (i + 1 >= argc) {
				return cli_usage_error(CLI_KEYGEN_USAGE, "--seed-file needs a PATH",
				                       NULL);
			}
			a->seed_file = argv[++i];
		} else if (strncmp(arg, "--seed-file=", 12) == 0) {
			a->seed_file = arg + 12;
		} else if (arg[0] == '-') {
			return cli_usage_error(CLI_KEYGEN_USAGE, "unknown option", arg);
		} else if (a->uri == NULL) {
			a->uri = arg;
		} else {
			return cli_usage_error(CLI_KEYGEN_USAGE, "unexpected argument", arg);
		}
	}
	if (a->uri == NULL) {
		return cli_usage_error(CLI_KEYGEN_USAGE, "keygen needs a URI", NULL);
	}
	if (a->seed_file != NULL && a->seed_file[0] == '\0') {
		return cli_usage_error(CLI_KEYGEN_USAGE, "--seed-file needs a PATH", NULL);
	}
	return 0;
}

int synod_cli_keygen(int argc, char **argv)
{
	struct cli_keygen_args a = {0};
	int rc = cli_keygen_parse(argc, argv, &a);
	if (rc < 0) {
		fputs(CLI_KEYGEN_USAGE, stdout);
		return 0;
	}
	if (rc != 0) {
		return rc;
	}
	if (sodium_init() < 0) {
		return cli_fail("keygen", SYNOD_ECRYPTO, "");
	}
	char errmsg[SYNOD_SIGN_ERRMSG_BYTES] = "";
	uint8_t pk[SYNOD_PUBKEY_BYTES];
	uint8_t *seed = NULL;
	if (a.seed_file != NULL) {
		/* The seed file is a secret like any key file: same format, 0600. */
		seed = sodium_malloc(SYNOD_SEED_BYTES);
		rc = seed == NULL
		         ? SYNOD_ENOMEM
		         : synod_keyfile_seed_read(a.seed_file, seed, errmsg, sizeof errmsg);
		if (rc != 0) {
			goto fail;
		}
	}
	rc = synod_keygen(a.uri, seed, pk, errmsg, sizeof errmsg);
	if (rc != 0) {
		goto fail;
	}
	sodium_free(seed);
	return cli_pubkey_print(pk);
fail:
	sodium_free(seed);
	return cli_fail("keygen", rc, errmsg);
}

int synod_cli_pubkey(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(CLI_PUBKEY_USAGE, stdout);
		return 0;
	}
	if (argc < 2) {
		return cli_usage_error(CLI_PUBKEY_USAGE, "pubkey needs a URI", NULL);
	}
	if (argv[1][0] == '-') {
		return cli_usage_error(CLI_PUBKEY_USAGE, "unknown option", argv[1]);
	}
	if (argc > 2) {
		return cli_usage_error(CLI_PUBKEY_USAGE, "unexpected argument", argv[2]);
	}
	char errmsg[SYNOD_SIGN_ERRMSG_BYTES] = "";
	struct synod_signer *s = NULL;
	int rc = synod_signer_open(&s, argv[1], errmsg, sizeof errmsg);
	if (rc != 0) {
		return cli_fail("pubkey", rc, errmsg);
	}
	uint8_t pk[SYNOD_PUBKEY_BYTES];
	synod_signer_pubkey(s, pk);
	synod_signer_close(s);
	return cli_pubkey_print(pk);
}

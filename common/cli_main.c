/* synod: the command-line tool for operators and auditors. */
#include "common/cli.h"

#include <stdio.h>
#include <string.h>

static const struct synod_cli_command cli_commands[] = {
    {"keygen", "synod keygen URI [--seed-file PATH]",
     "create an Ed25519 key at file:PATH or inside a PKCS#11 token (pkcs11:...)", synod_cli_keygen},
    {"pubkey", "synod pubkey URI", "print the public key (hex) of the key at URI",
     synod_cli_pubkey},
    {"cluster", "synod cluster init --policy P --out C (--replica N=KEY)... (--seat N=KEY)...",
     "write cluster.json from public keys or signer URIs; 'synod cluster show C' checks one",
     synod_cli_cluster},
    {"verify", "synod verify BUNDLE|- --cluster CLUSTER.json [--quiet]",
     "check an evidence bundle offline; lists every failed check", synod_cli_verify},
};

static void cli_usage(FILE *out)
{
	fprintf(out, "usage: synod COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof cli_commands / sizeof cli_commands[0]; i++) {
		fprintf(out, "  %-8s %s\n           %s\n", cli_commands[i].name,
		        cli_commands[i].summary, cli_commands[i].usage);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		cli_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof cli_commands / sizeof cli_commands[0]; i++) {
		if (strcmp(argv[1], cli_commands[i].name) == 0) {
			return cli_commands[i].run(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "synod: unknown command '%s'\n", argv[1]);
	cli_usage(stderr);
	return 2;
}

/* The synod CLI: one function per subcommand, in common/cli_*.c.
 * Each takes argc/argv starting at the subcommand's name and returns the
 * process exit status (0 ok, 1 failure, 2 usage). */
#ifndef SYNOD_COMMON_CLI_H
#define SYNOD_COMMON_CLI_H

struct synod_cli_command {
	const char *name;
	const char *usage;
	const char *summary;
	int (*run)(int argc, char **argv);
};

int synod_cli_keygen(int argc, char **argv);
int synod_cli_pubkey(int argc, char **argv);
int synod_cli_verify(int argc, char **argv);
int synod_cli_cluster(int argc, char **argv);

#endif

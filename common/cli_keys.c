/* synod keygen / synod pubkey (to be completed with the signer module). */
#include "common/cli.h"

#include <stdio.h>

int synod_cli_keygen(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "synod keygen: signer module not built yet\n");
	return 1;
}

int synod_cli_pubkey(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "synod pubkey: signer module not built yet\n");
	return 1;
}

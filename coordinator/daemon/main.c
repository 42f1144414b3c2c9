/* synod-coordinator --config FILE: one coordinator replica (node.h).
 * Exit status: 0 after SIGTERM/SIGINT, 1 when it cannot start (the message
 * names the file, key or WAL place), 2 for usage, 3 after a WAL failure. */
#include "common/log.h"
#include "coordinator/net/node.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static struct synod_node *the_node;

static void on_signal(int sig)
{
	(void)sig;
	if (the_node != NULL) {
		synod_node_stop(the_node);
	}
}

static void signals_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: poll returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], "--config") != 0) {
		fprintf(stderr, "usage: synod-coordinator --config FILE\n");
		return 2;
	}
	char err[1024] = "";
	static struct synod_node_config cfg;
	if (synod_node_config_load(&cfg, argv[2], err, sizeof err) != 0) {
		synod_log(SYNOD_LOG_ERROR, "node", "%s", err);
		return 1;
	}
	signals_install();
	struct synod_node *n = NULL;
	if (synod_node_open(&n, &cfg, err, sizeof err) != 0) {
		synod_log(SYNOD_LOG_ERROR, "node", "cannot start: %s", err);
		return 1;
	}
	the_node = n;
	int rc = synod_node_run(n);
	the_node = NULL;
	synod_node_close(n);
	return rc == 0 ? 0 : 3;
}

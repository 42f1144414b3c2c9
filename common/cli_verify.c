/* synod verify BUNDLE --cluster CLUSTER.json: checks an evidence bundle
 * offline (coordinator/app, synod_bundle_verify) and lists every failed check.
 * Exit status: 0 valid, 1 invalid or unreadable, 2 usage. */
#include "common/cli.h"
#include "common/hash.h"
#include "coordinator/app/app.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLI_VERIFY_USAGE "usage: synod verify BUNDLE|- --cluster CLUSTER.json [--quiet]\n"

struct cli_verify_args {
	const char *bundle;
	const char *cluster;
	bool quiet;
};

static int cli_verify_parse(int argc, char **argv, struct cli_verify_args *a)
{
	memset(a, 0, sizeof *a);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--cluster") == 0 && i + 1 < argc) {
			a->cluster = argv[++i];
		} else if (strncmp(argv[i], "--cluster=", 10) == 0) {
			a->cluster = argv[i] + 10;
		} else if (strcmp(argv[i], "--quiet") == 0) {
			a->quiet = true;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			return 1;
		} else if ((argv[i][0] != '-' || strcmp(argv[i], "-") == 0) && a->bundle == NULL) {
			a->bundle = argv[i];
		} else {
			return -1;
		}
	}
	return a->bundle != NULL && a->cluster != NULL ? 0 : -1;
}

/* Reads at most SYNOD_APP_BUNDLE_BYTES_MAX + 1 bytes (one more tells a
 * too-large bundle apart, for the verifier to report). */
static char *cli_verify_read(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "synod verify: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	size_t cap = SYNOD_APP_BUNDLE_BYTES_MAX + 1u;
	char *buf = malloc(cap);
	*len = 0;
	if (buf == NULL) {
		fprintf(stderr, "synod verify: out of memory\n");
	} else {
		size_t got;
		while (*len < cap && (got = fread(buf + *len, 1, cap - *len, f)) > 0) {
			*len += got;
		}
		if (ferror(f)) {
			fprintf(stderr, "synod verify: %s: read error\n", path);
			free(buf);
			buf = NULL;
		}
	}
	if (f != stdin) {
		fclose(f);
	}
	return buf;
}

static void cli_verify_report(void *ctx, const char *failure)
{
	(void)ctx;
	printf("FAIL: %s\n", failure);
}

int synod_cli_verify(int argc, char **argv)
{
	struct cli_verify_args a;
	int p = cli_verify_parse(argc, argv, &a);
	if (p != 0) {
		fputs(CLI_VERIFY_USAGE, p > 0 ? stdout : stderr);
		return p > 0 ? 0 : 2;
	}
	struct synod_cluster *cluster = malloc(sizeof *cluster);
	char err[1024] = "";
	if (cluster == NULL) {
		fprintf(stderr, "synod verify: out of memory\n");
		return 1;
	}
	if (synod_cluster_load(cluster, a.cluster, err, sizeof err) != 0) {
		fprintf(stderr, "synod verify: %s\n", err);
		free(cluster);
		return 1;
	}
	size_t len = 0;
	char *bundle = cli_verify_read(a.bundle, &len);
	if (bundle == NULL) {
		free(cluster);
		return 1;
	}
	struct synod_bundle_summary sum;
	int rc = synod_bundle_verify(bundle, len, cluster, &sum, a.quiet ? NULL : cli_verify_report,
	                             NULL);
	char id[SYNOD_HEX_LEN(SYNOD_HASH_BYTES)];
	if (synod_hex_encode(id, sizeof id, sum.request_id, SYNOD_HASH_BYTES) != 0) {
		id[0] = '\0';
	}
	if (rc == 0) {
		printf("OK: %s request %s\n    epoch %llu, %u approvals and %u rejections of %u "
		       "seats (threshold %u); %u counted votes, %u ignored, %u certified batches\n",
		       synod_outcome_name(sum.outcome), id, (unsigned long long)sum.epoch,
		       sum.approvals, sum.rejections, cluster->policy.seats,
		       cluster->policy.threshold, sum.votes, sum.ignored, sum.batches);
	} else {
		printf("INVALID: %u check%s failed\n", sum.failures, sum.failures == 1 ? "" : "s");
	}
	free(bundle);
	free(cluster);
	return rc == 0 ? 0 : 1;
}

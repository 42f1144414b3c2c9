/* synod cluster init ...  and  synod cluster show CLUSTER.json
 *
 * init writes cluster.json (the replicas' PBFT keys, the seats' vote keys, the
 * policy and a cluster id) from public keys, or from signer URIs whose public
 * key is read (the private key never leaves the signer). It checks the result
 * by loading it back before it writes anything, and never overwrites a file
 * unless --force. show loads a cluster file with every check and prints what
 * it holds. Exit 0 ok, 1 failure, 2 usage. */
#include "common/cli.h"
#include "common/assert.h"
#include "common/hash.h"
#include "common/sign.h"
#include "coordinator/app/app.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLI_CLUSTER_USAGE                                                                          \
	"usage: synod cluster init --policy POLICY.json --out CLUSTER.json\n"                      \
	"                          (--replica NAME=KEY)... (--seat NAME=KEY)...\n"                 \
	"                          [--members-file FILE] [--cluster-id HEX] [--force]\n"           \
	"       synod cluster show CLUSTER.json\n"                                                 \
	"  KEY: a public key (64 hex characters) or a signer URI (file:PATH, pkcs11:...)\n"        \
	"  --members-file: lines \"replica NAME KEY\" or \"seat NAME KEY\" (# comments)\n"         \
	"  replicas: 3f+1 (4, 7, 10, 13, 16); seats: as many as the policy says, in order\n"       \
	"  --cluster-id: 64 hex characters (default: 32 random bytes)\n"

#define CLI_NAME_MAX 64u
#define CLI_LINE_MAX 1024u

struct cli_member {
	char name[CLI_NAME_MAX];
	uint8_t pk[SYNOD_PUBKEY_BYTES];
};

struct cli_cluster_args {
	const char *policy;
	const char *out;
	const char *cluster_id;
	bool force;
	struct cli_member replicas[SYNOD_APP_REPLICAS_MAX];
	uint32_t replica_count;
	struct cli_member seats[SYNOD_APP_SEATS_MAX];
	uint32_t seat_count;
};

/* 32 bytes as 64 hex characters (cannot fail: the buffer fits). */
static const char *cli_hex32(char out[SYNOD_HEX_LEN(32)], const uint8_t p[32])
{
	SYNOD_ASSERT(synod_hex_encode(out, SYNOD_HEX_LEN(32), p, 32) == 0);
	return out;
}

static int cli_cluster_usage(const char *what, const char *arg)
{
	fprintf(stderr, "synod cluster: %s%s%s\n%s", what, arg != NULL ? ": " : "",
	        arg != NULL ? arg : "", CLI_CLUSTER_USAGE);
	return 2;
}

/* KEY: 64 hex characters, else a signer URI whose public key is read. */
static int cli_member_key(const char *key, uint8_t pk[SYNOD_PUBKEY_BYTES], char *err,
                          size_t err_len)
{
	if (strlen(key) == 2u * SYNOD_PUBKEY_BYTES &&
	    synod_hex_decode(pk, SYNOD_PUBKEY_BYTES, key, strlen(key)) == 0) {
		return 0;
	}
	if (strncmp(key, "file:", 5) != 0 && strncmp(key, "pkcs11:", 7) != 0) {
		return synod_errf(err, err_len, SYNOD_EINVAL,
		                  "\"%s\" is neither 64 hex characters nor a file: or pkcs11: URI",
		                  key);
	}
	struct synod_signer *s = NULL;
	char serr[512] = "";
	int rc = synod_signer_open(&s, key, serr, sizeof serr);
	if (rc != 0) {
		return synod_errf(err, err_len, rc, "%s", serr);
	}
	synod_signer_pubkey(s, pk);
	synod_signer_close(s);
	return 0;
}

/* kind NAME=KEY (from the command line) or kind NAME KEY (a file line). */
static int cli_member_add(struct cli_cluster_args *a, const char *kind, const char *name,
                          size_t name_len, const char *key, const char *where)
{
	bool replica = strcmp(kind, "replica") == 0;
	if (!replica && strcmp(kind, "seat") != 0) {
		fprintf(stderr, "synod cluster: %s: \"%s\" is not replica or seat\n", where, kind);
		return 1;
	}
	uint32_t *count = replica ? &a->replica_count : &a->seat_count;
	uint32_t max = replica ? SYNOD_APP_REPLICAS_MAX : SYNOD_APP_SEATS_MAX;
	if (*count >= max) {
		fprintf(stderr, "synod cluster: %s: more than %u %ss\n", where, max, kind);
		return 1;
	}
	if (name_len == 0 || name_len >= CLI_NAME_MAX) {
		fprintf(stderr, "synod cluster: %s: a %s needs a NAME of 1..%u characters\n", where,
		        kind, CLI_NAME_MAX - 1);
		return 1;
	}
	struct cli_member *m = replica ? &a->replicas[*count] : &a->seats[*count];
	memcpy(m->name, name, name_len);
	m->name[name_len] = '\0';
	char err[640] = "";
	if (cli_member_key(key, m->pk, err, sizeof err) != 0) {
		fprintf(stderr, "synod cluster: %s: %s %s: %s\n", where, kind, m->name, err);
		return 1;
	}
	(*count)++;
	return 0;
}

static int cli_member_arg(struct cli_cluster_args *a, const char *kind, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char where[32];
	snprintf(where, sizeof where, "--%s", kind);
	if (eq == NULL) {
		return cli_cluster_usage("expected NAME=KEY after --replica or --seat", arg);
	}
	return cli_member_add(a, kind, arg, (size_t)(eq - arg), eq + 1, where);
}

static int cli_members_file(struct cli_cluster_args *a, const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "synod cluster: %s: cannot open: %s\n", path, strerror(errno));
		return 1;
	}
	char line[CLI_LINE_MAX];
	int rc = 0;
	for (unsigned no = 1; rc == 0 && fgets(line, sizeof line, f) != NULL; no++) {
		char where[600];
		snprintf(where, sizeof where, "%s:%u", path, no);
		size_t n = strlen(line);
		if (n > 0 && line[n - 1] != '\n' && !feof(f)) {
			fprintf(stderr, "synod cluster: %s: line longer than %u bytes\n", where,
			        CLI_LINE_MAX - 2);
			rc = 1;
			break;
		}
		char *save = NULL;
		char *kind = strtok_r(line, " \t\r\n", &save);
		if (kind == NULL || kind[0] == '#') {
			continue;
		}
		char *name = strtok_r(NULL, " \t\r\n", &save);
		char *key = strtok_r(NULL, " \t\r\n", &save);
		char *extra = strtok_r(NULL, " \t\r\n", &save);
		if (name == NULL || key == NULL || (extra != NULL && extra[0] != '#')) {
			fprintf(stderr, "synod cluster: %s: expected \"replica|seat NAME KEY\"\n",
			        where);
			rc = 1;
			break;
		}
		rc = cli_member_add(a, kind, name, strlen(name), key, where);
	}
	fclose(f);
	return rc;
}

/* 0 when parsed, 1 or 2 on an error, -1 for --help. */
static int cli_cluster_parse(int argc, char **argv, struct cli_cluster_args *a)
{
	for (int i = 2; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			return -1;
		}
		if (strcmp(arg, "--force") == 0) {
			a->force = true;
			continue;
		}
		static const char *const with_value[] = {
		    "--policy", "--out", "--cluster-id", "--members-file", "--replica", "--seat"};
		size_t k = 0;
		while (k < 6 && strcmp(arg, with_value[k]) != 0) {
			k++;
		}
		if (k == 6) {
			return cli_cluster_usage(
			    arg[0] == '-' ? "unknown option" : "unexpected argument", arg);
		}
		if (i + 1 >= argc || argv[i + 1][0] == '\0') {
			return cli_cluster_usage("a value is missing after", arg);
		}
		const char *v = argv[++i];
		int rc = 0;
		switch (k) {
		case 0:
			a->policy = v;
			break;
		case 1:
			a->out = v;
			break;
		case 2:
			a->cluster_id = v;
			break;
		case 3:
			rc = cli_members_file(a, v);
			break;
		case 4:
			rc = cli_member_arg(a, "replica", v);
			break;
		default:
			rc = cli_member_arg(a, "seat", v);
			break;
		}
		if (rc != 0) {
			return rc;
		}
	}
	if (a->policy == NULL || a->out == NULL) {
		return cli_cluster_usage("init needs --policy and --out", NULL);
	}
	return 0;
}

/* Writes text to path: a temporary file beside it, fsync, then a link that
 * fails if path exists (unless force: rename), so a crash or a race never
 * leaves a half-written or clobbered cluster file. */
static int cli_write_file(const char *path, const char *text, size_t len, bool force)
{
	char tmp[4200];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp) {
		fprintf(stderr, "synod cluster: %s: path too long\n", path);
		return 1;
	}
	int fd = mkstemp(tmp);
	if (fd < 0) {
		fprintf(stderr, "synod cluster: %s: cannot create: %s\n", tmp, strerror(errno));
		return 1;
	}
	bool ok = fchmod(fd, 0644) == 0 && write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
	int e = errno;
	ok = close(fd) == 0 && ok;
	if (ok) {
		ok = force ? rename(tmp, path) == 0 : link(tmp, path) == 0;
		e = errno;
	}
	unlink(tmp);
	if (!ok) {
		if (e == EEXIST) {
			fprintf(stderr, "synod cluster: %s exists; --force replaces it\n", path);
		} else {
			fprintf(stderr, "synod cluster: %s: cannot write: %s\n", path, strerror(e));
		}
		return 1;
	}
	return 0;
}

static int cli_cluster_init(int argc, char **argv)
{
	struct cli_cluster_args *a = calloc(1, sizeof *a);
	struct synod_cluster *c = calloc(1, sizeof *c);
	char *text = malloc(SYNOD_CLUSTER_JSON_BYTES_MAX);
	int status = 1;
	if (a == NULL || c == NULL || text == NULL) {
		fprintf(stderr, "synod cluster: out of memory\n");
		goto out;
	}
	status = cli_cluster_parse(argc, argv, a);
	if (status == -1) {
		fputs(CLI_CLUSTER_USAGE, stdout);
		status = 0;
		goto out;
	}
	if (status != 0) {
		goto out;
	}
	status = 1;
	char err[1024] = "";
	if (synod_policy_load(&c->policy, a->policy, err, sizeof err) != 0) {
		fprintf(stderr, "synod cluster: %s\n", err);
		goto out;
	}
	if (a->seat_count != c->policy.seats) {
		fprintf(stderr, "synod cluster: %u seats given, the policy %s has %u\n",
		        a->seat_count, a->policy, c->policy.seats);
		goto out;
	}
	if (a->cluster_id == NULL) {
		randombytes_buf(c->cluster_id, sizeof c->cluster_id);
	} else if (synod_hex_decode(c->cluster_id, sizeof c->cluster_id, a->cluster_id,
	                            strlen(a->cluster_id)) != 0) {
		fprintf(stderr, "synod cluster: --cluster-id: not 64 hex characters\n");
		status = 2;
		goto out;
	}
	c->replicas = a->replica_count;
	const char *rnames[SYNOD_APP_REPLICAS_MAX], *snames[SYNOD_APP_SEATS_MAX];
	for (uint32_t i = 0; i < a->replica_count; i++) {
		memcpy(c->replica_keys[i], a->replicas[i].pk, SYNOD_PUBKEY_BYTES);
		rnames[i] = a->replicas[i].name;
	}
	for (uint32_t i = 0; i < a->seat_count; i++) {
		memcpy(c->seat_keys[i], a->seats[i].pk, SYNOD_PUBKEY_BYTES);
		snames[i] = a->seats[i].name;
	}
	size_t len = 0;
	if (synod_cluster_format(c, rnames, snames, text, SYNOD_CLUSTER_JSON_BYTES_MAX, &len, err,
	                         sizeof err) != 0) {
		fprintf(stderr, "synod cluster: %s\n", err);
		goto out;
	}
	/* what is written must load with every check */
	struct synod_cluster back;
	if (synod_cluster_parse(&back, text, len, a->out, err, sizeof err) != 0) {
		fprintf(stderr, "synod cluster: the generated file does not load: %s\n", err);
		goto out;
	}
	status = cli_write_file(a->out, text, len, a->force);
	if (status == 0) {
		char hex[SYNOD_HEX_LEN(32)];
		printf("wrote %s: cluster %s, %u replicas (f=%u), %u seats, threshold %u, "
		       "policy %s\n",
		       a->out, cli_hex32(hex, c->cluster_id), c->replicas, (c->replicas - 1) / 3,
		       c->policy.seats, c->policy.threshold, c->policy.id);
	}
out:
	free(a);
	free(c);
	free(text);
	return status;
}

static int cli_cluster_show(int argc, char **argv)
{
	if (argc != 3 || argv[2][0] == '-') {
		return cli_cluster_usage("show needs one CLUSTER.json", argc > 3 ? argv[3] : NULL);
	}
	struct synod_cluster *c = calloc(1, sizeof *c);
	if (c == NULL) {
		fprintf(stderr, "synod cluster: out of memory\n");
		return 1;
	}
	char err[1024] = "";
	if (synod_cluster_load(c, argv[2], err, sizeof err) != 0) {
		fprintf(stderr, "synod cluster: %s\n", err);
		free(c);
		return 1;
	}
	char hex[SYNOD_HEX_LEN(32)];
	printf("cluster_id      %s\n", cli_hex32(hex, c->cluster_id));
	printf("replicas        %u (f=%u, quorum %u)\n", c->replicas, (c->replicas - 1) / 3,
	       2 * ((c->replicas - 1) / 3) + 1);
	printf("seats           %u, threshold %u\n", c->policy.seats, c->policy.threshold);
	printf("policy          %s\n", c->policy.id);
	uint8_t vsh[SYNOD_HASH_BYTES];
	uint64_t all = c->policy.seats >= 64 ? UINT64_MAX : (UINT64_C(1) << c->policy.seats) - 1;
	synod_voter_set_hash(vsh, c, all);
	printf("voter_set_hash  %s (all seats eligible)\n", cli_hex32(hex, vsh));
	free(c);
	return 0;
}

int synod_cli_cluster(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "init") == 0) {
		return cli_cluster_init(argc, argv);
	}
	if (argc >= 2 && strcmp(argv[1], "show") == 0) {
		return cli_cluster_show(argc, argv);
	}
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(CLI_CLUSTER_USAGE, stdout);
		return 0;
	}
	return cli_cluster_usage("expected init or show", argc >= 2 ? argv[1] : NULL);
}

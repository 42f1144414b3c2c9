/* synod-bench-crypto: how fast this machine signs, verifies and hashes
 * 200-byte messages on one core, and the vote rate the crypto alone allows.
 *
 *   synod-bench-crypto [--seconds N] [--pkcs11 URI] [--cores N] [--coordinators N]
 *
 * Each row runs for a bounded time (default 2 s). --pkcs11 names a key in a
 * token (created when missing); without it the PKCS#11 row is skipped. The
 * last line is key=value pairs for scripts. It measures; it asserts nothing
 * about time. Run it through tests/bench/crypto. */
#include "common/hash.h"
#include "common/sign.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BENCH_MSG_BYTES 200u
#define BENCH_BATCH     32u /* operations between clock reads */
#define BENCH_ERRMSG    512u

struct bench_ctx {
	struct synod_signer *file;
	struct synod_signer *pkcs11;
	uint8_t pk_file[SYNOD_PUBKEY_BYTES];
	uint8_t raw_pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t raw_sk[crypto_sign_SECRETKEYBYTES];
	uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES];
	uint8_t msg[BENCH_MSG_BYTES];
	uint8_t sig[SYNOD_SIG_BYTES];     /* domain-separated, by the file key */
	uint8_t raw_sig[SYNOD_SIG_BYTES]; /* plain, by raw_sk */
};

struct bench_args {
	double seconds;
	const char *pkcs11_uri;
	long cores;
	long coordinators;
};

typedef void (*bench_op)(struct bench_ctx *c);

static _Noreturn void bench_die(const char *what, const char *detail)
{
	fprintf(stderr, "synod-bench-crypto: %s%s%s\n", what, detail != NULL ? ": " : "",
	        detail != NULL ? detail : "");
	exit(1);
}

static double bench_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void op_file_sign(struct bench_ctx *c)
{
	if (synod_signer_sign(c->file, c->sig, SYNOD_TAG_VOTE, c->cluster_id, c->msg,
	                      sizeof c->msg) != 0) {
		bench_die("file sign failed", synod_signer_errmsg(c->file));
	}
}

static void op_file_verify(struct bench_ctx *c)
{
	if (synod_sig_verify(c->sig, SYNOD_TAG_VOTE, c->cluster_id, c->msg, sizeof c->msg,
	                     c->pk_file) != 0) {
		bench_die("file verify failed", NULL);
	}
}

static void op_raw_sign(struct bench_ctx *c)
{
	crypto_sign_detached(c->raw_sig, NULL, c->msg, sizeof c->msg, c->raw_sk);
}

static void op_raw_verify(struct bench_ctx *c)
{
	if (crypto_sign_verify_detached(c->raw_sig, c->msg, sizeof c->msg, c->raw_pk) != 0) {
		bench_die("raw verify failed", NULL);
	}
}

static void op_pkcs11_sign(struct bench_ctx *c)
{
	uint8_t sig[SYNOD_SIG_BYTES];
	if (synod_signer_sign(c->pkcs11, sig, SYNOD_TAG_VOTE, c->cluster_id, c->msg,
	                      sizeof c->msg) != 0) {
		bench_die("pkcs11 sign failed", synod_signer_errmsg(c->pkcs11));
	}
}

static void op_sha256(struct bench_ctx *c)
{
	uint8_t h[SYNOD_SHA256_BYTES];
	synod_sha256(h, c->msg, sizeof c->msg);
	c->msg[0] ^= h[0]; /* feed back so no call can be skipped */
}

/* Runs op in batches until seconds have passed; operations per second. */
static double bench_run(struct bench_ctx *c, bench_op op, double seconds)
{
	op(c); /* warm up (and make sure it works) */
	uint64_t ops = 0;
	double start = bench_now_s();
	double elapsed = 0;
	do {
		for (unsigned i = 0; i < BENCH_BATCH; i++) {
			op(c);
		}
		ops += BENCH_BATCH;
		elapsed = bench_now_s() - start;
	} while (elapsed < seconds);
	return (double)ops / elapsed;
}

static void bench_row(const char *name, double per_s)
{
	if (per_s > 0) {
		printf("  %-44s %12.0f %10.2f\n", name, per_s, 1e6 / per_s);
	} else {
		printf("  %-44s %12s %10s\n", name, "skipped", "-");
	}
}

static void bench_parse_args(int argc, char **argv, struct bench_args *a)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	*a = (struct bench_args){.seconds = 2.0, .cores = cpus > 0 ? cpus : 1, .coordinators = 4};
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--seconds") == 0 && v != NULL) {
			a->seconds = strtod(v, NULL);
		} else if (strcmp(argv[i], "--pkcs11") == 0 && v != NULL) {
			a->pkcs11_uri = v;
		} else if (strcmp(argv[i], "--cores") == 0 && v != NULL) {
			a->cores = strtol(v, NULL, 10);
		} else if (strcmp(argv[i], "--coordinators") == 0 && v != NULL) {
			a->coordinators = strtol(v, NULL, 10);
		} else {
			fprintf(stderr, "usage: synod-bench-crypto [--seconds N] [--pkcs11 URI] "
			                "[--cores N] [--coordinators N]\n");
			exit(2);
		}
		i++;
	}
	if (!(a->seconds > 0 && a->seconds <= 600) || a->cores < 1 || a->coordinators < 1) {
		bench_die("--seconds must be in (0, 600], --cores and --coordinators >= 1", NULL);
	}
}

/* A fresh file key in a temporary directory (removed again at once: the
 * signer holds the key in memory). */
static void bench_file_signer(struct bench_ctx *c)
{
	char dir[] = "/tmp/synod-bench-crypto.XXXXXX";
	char uri[64], errmsg[BENCH_ERRMSG];
	if (mkdtemp(dir) == NULL) {
		bench_die("mkdtemp failed", NULL);
	}
	snprintf(uri, sizeof uri, "file:%s/key", dir);
	if (synod_keygen(uri, NULL, c->pk_file, errmsg, sizeof errmsg) != 0 ||
	    synod_signer_open(&c->file, uri, errmsg, sizeof errmsg) != 0) {
		bench_die("file key", errmsg);
	}
	unlink(uri + 5);
	rmdir(dir);
}

static void bench_pkcs11_signer(struct bench_ctx *c, const char *uri)
{
	char errmsg[BENCH_ERRMSG];
	uint8_t pk[SYNOD_PUBKEY_BYTES];
	int rc = synod_keygen(uri, NULL, pk, errmsg, sizeof errmsg);
	if (rc != 0 && rc != SYNOD_EEXIST) {
		bench_die("pkcs11 keygen", errmsg);
	}
	if (synod_signer_open(&c->pkcs11, uri, errmsg, sizeof errmsg) != 0) {
		bench_die("pkcs11 key", errmsg);
	}
}

static void bench_setup(struct bench_ctx *c, const struct bench_args *a)
{
	if (sodium_init() < 0) {
		bench_die("sodium_init failed", NULL);
	}
	memset(c, 0, sizeof *c);
	randombytes_buf(c->msg, sizeof c->msg);
	randombytes_buf(c->cluster_id, sizeof c->cluster_id);
	crypto_sign_keypair(c->raw_pk, c->raw_sk);
	bench_file_signer(c);
	if (a->pkcs11_uri != NULL) {
		bench_pkcs11_signer(c, a->pkcs11_uri);
	}
}

int main(int argc, char **argv)
{
	struct bench_args a;
	struct bench_ctx c;
	bench_parse_args(argc, argv, &a);
	bench_setup(&c, &a);
	printf("synod crypto benchmark: %u-byte messages, one thread, %.1f s per row\n",
	       BENCH_MSG_BYTES, a.seconds);
	printf("  %-44s %12s %10s\n", "operation", "ops/s", "us/op");
	double file_sign = bench_run(&c, op_file_sign, a.seconds);
	bench_row("Ed25519 sign, file signer (domain-separated)", file_sign);
	double file_verify = bench_run(&c, op_file_verify, a.seconds);
	bench_row("Ed25519 verify, synod_sig_verify", file_verify);
	double raw_sign = bench_run(&c, op_raw_sign, a.seconds);
	bench_row("Ed25519 sign, raw libsodium", raw_sign);
	double raw_verify = bench_run(&c, op_raw_verify, a.seconds);
	bench_row("Ed25519 verify, raw libsodium", raw_verify);
	double p11_sign = c.pkcs11 != NULL ? bench_run(&c, op_pkcs11_sign, a.seconds) : 0;
	bench_row("Ed25519 sign, PKCS#11 signer (SoftHSM2)", p11_sign);
	double sha256 = bench_run(&c, op_sha256, a.seconds);
	bench_row("SHA-256", sha256);

	/* Every one of the coordinators verifies every vote, and verification
	 * spreads over the cores: the crypto alone allows this many votes/s. */
	double bound = file_verify * (double)a.cores / (double)a.coordinators;
	printf("bound_votes_per_s = file_verify_per_s * cores / coordinators = %.0f * %ld / %ld "
	       "= %.0f\n",
	       file_verify, a.cores, a.coordinators, bound);
	char p11[32] = "skipped";
	if (c.pkcs11 != NULL) {
		snprintf(p11, sizeof p11, "%.0f", p11_sign);
	}
	printf("file_sign_per_s=%.0f file_verify_per_s=%.0f raw_sign_per_s=%.0f "
	       "raw_verify_per_s=%.0f pkcs11_sign_per_s=%s sha256_per_s=%.0f cores=%ld "
	       "coordinators=%ld bound_votes_per_s=%.0f\n",
	       file_sign, file_verify, raw_sign, raw_verify, p11, sha256, a.cores, a.coordinators,
	       bound);
	synod_signer_close(c.file);
	synod_signer_close(c.pkcs11);
	sodium_memzero(c.raw_sk, sizeof c.raw_sk);
	return 0;
}

/* The double-sign guard (voter/guard.h): same vote re-sent, different vote
 * refused, across reopen; a crash at every byte of an append (truncation at
 * every offset); damage at every byte refused with the file named; pruning
 * and its floor; the bound. Every test works in its own mkdtemp. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/log.h"
#include "voter/guard.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENV_CAP 1100u

struct fx {
	char dir[64];
	char path[128];
	struct synod_signer *signer;
	uint8_t pk[SYNOD_PUBKEY_BYTES];
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	/* tmpfs when there is one: these tests check logic at every byte offset
	 * (thousands of fsyncs), not the disk */
	snprintf(f->dir, sizeof f->dir, "%s/synod-guard.XXXXXX",
	         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/guard", f->dir);
	char uri[160];
	snprintf(uri, sizeof uri, "file:%s/key", f->dir);
	uint8_t seed[SYNOD_SEED_BYTES] = {7};
	assert_int_equal(synod_keygen(uri, seed, f->pk, NULL, 0), 0);
	assert_int_equal(synod_signer_open(&f->signer, uri, NULL, 0), 0);
	assert_int_equal(voter_guard_create(f->path, NULL, 0), 0);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	synod_signer_close(f->signer);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct synod_vote vote_make(uint8_t request, uint64_t epoch, enum synod_verdict verdict)
{
	struct synod_vote v;
	memset(&v, 0, sizeof v);
	memset(v.cluster_id, 0xc1, sizeof v.cluster_id);
	memset(v.request_id, request, sizeof v.request_id);
	v.epoch = epoch;
	v.seat = 12;
	v.verdict = verdict;
	memset(v.reason_digest, 0xab, sizeof v.reason_digest);
	snprintf(v.plugin_name, sizeof v.plugin_name, "rules");
	snprintf(v.plugin_version, sizeof v.plugin_version, "1.0.0");
	return v;
}

static struct voter_guard *guard_open_ok(const char *path, uint32_t max)
{
	struct voter_guard *g = NULL;
	char err[512] = "";
	int rc = voter_guard_open(&g, path, max, err, sizeof err);
	if (rc != 0) {
		fail_msg("voter_guard_open: %s", err);
	}
	return g;
}

/* Signs and returns the rc; env/len/resent out. */
static int sign(struct voter_guard *g, struct fx *f, uint8_t req, uint64_t epoch,
                enum synod_verdict verdict, uint64_t deadline, char *env, size_t *len, bool *resent)
{
	struct synod_vote v = vote_make(req, epoch, verdict);
	char err[512];
	return voter_guard_sign(g, f->signer, &v, deadline, env, ENV_CAP, len, resent, err,
	                        sizeof err);
}

static void sign_resend_conflict(void **state)
{
	struct fx *f = *state;
	struct voter_guard *g = guard_open_ok(f->path, 16);
	char a[ENV_CAP], b[ENV_CAP];
	size_t alen = 0, blen = 0;
	bool resent = true;
	assert_int_equal(sign(g, f, 1, 3, SYNOD_VERDICT_APPROVE, 1000, a, &alen, &resent), 0);
	assert_false(resent);
	struct synod_vote_envelope env;
	assert_int_equal(synod_vote_decode(&env, a, alen, NULL, 0), 0);
	uint8_t cid[SYNOD_CLUSTER_ID_BYTES];
	memset(cid, 0xc1, sizeof cid);
	assert_int_equal(synod_vote_verify(&env, a, cid, f->pk), 0);
	/* the same vote again: the recorded bytes */
	assert_int_equal(sign(g, f, 1, 3, SYNOD_VERDICT_APPROVE, 1000, b, &blen, &resent), 0);
	assert_true(resent);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	/* a different vote for the same (request, epoch): refused */
	struct synod_vote v = vote_make(1, 3, SYNOD_VERDICT_REJECT);
	char err[512];
	assert_int_equal(
	    voter_guard_sign(g, f->signer, &v, 1000, b, ENV_CAP, &blen, &resent, err, sizeof err),
	    VOTER_EGUARD_CONFLICT);
	assert_non_null(strstr(err, "a different vote (APPROVE) is already signed"));
	/* another reason digest is a different vote too */
	v = vote_make(1, 3, SYNOD_VERDICT_APPROVE);
	v.reason_digest[0] ^= 1;
	assert_int_equal(
	    voter_guard_sign(g, f->signer, &v, 1000, b, ENV_CAP, &blen, &resent, err, sizeof err),
	    VOTER_EGUARD_CONFLICT);
	/* another epoch is another key */
	assert_int_equal(sign(g, f, 1, 4, SYNOD_VERDICT_REJECT, 1000, b, &blen, &resent), 0);
	assert_false(resent);
	voter_guard_close(g);
	/* after a restart: the same answers */
	g = guard_open_ok(f->path, 16);
	assert_int_equal(sign(g, f, 1, 3, SYNOD_VERDICT_APPROVE, 1000, b, &blen, &resent), 0);
	assert_true(resent);
	assert_memory_equal(a, b, alen);
	assert_int_equal(sign(g, f, 1, 3, SYNOD_VERDICT_REJECT, 1000, b, &blen, &resent),
	                 VOTER_EGUARD_CONFLICT);
	struct voter_guard_stats st;
	voter_guard_stats_get(g, &st);
	assert_int_equal(st.records, 2);
	assert_int_equal(st.resent, 1);
	assert_int_equal(st.conflicts, 1);
	voter_guard_close(g);
}

static void create_and_missing(void **state)
{
	struct fx *f = *state;
	char err[512];
	assert_int_equal(voter_guard_create(f->path, err, sizeof err), SYNOD_EEXIST);
	struct voter_guard *g = NULL;
	char missing[160];
	snprintf(missing, sizeof missing, "%s/nosuch", f->dir);
	assert_int_equal(voter_guard_open(&g, missing, 16, err, sizeof err), SYNOD_ENOTFOUND);
	assert_non_null(strstr(err, missing));
	assert_null(g);
}

static size_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return (size_t)st.st_size;
}

static uint8_t *file_read(const char *path, size_t *n)
{
	*n = file_size(path);
	uint8_t *buf = malloc(*n);
	FILE *fp = fopen(path, "rb");
	assert_int_equal(fread(buf, 1, *n, fp), *n);
	fclose(fp);
	return buf;
}

static void file_write(const char *path, const uint8_t *buf, size_t n)
{
	FILE *fp = fopen(path, "wb");
	assert_int_equal(fwrite(buf, 1, n, fp), n);
	fclose(fp);
}

/* Three records; returns the file sizes at each record boundary. */
static void three_records(struct fx *f, size_t bound[4])
{
	struct voter_guard *g = guard_open_ok(f->path, 16);
	char env[ENV_CAP];
	size_t len;
	bool resent;
	bound[0] = file_size(f->path);
	for (uint8_t i = 0; i < 3; i++) {
		assert_int_equal(sign(g, f, (uint8_t)(i + 1), 0, SYNOD_VERDICT_APPROVE, 1000, env,
		                      &len, &resent),
		                 0);
		bound[i + 1] = file_size(f->path);
	}
	voter_guard_close(g);
}

/* A crash at any byte of any append: the file is a prefix of the full one.
 * Whole records survive and are re-sent; a torn last one is cut off (its
 * vote never left, so a different vote may now be signed). */
static void crash_at_every_offset(void **state)
{
	struct fx *f = *state;
	size_t bound[4];
	three_records(f, bound);
	size_t n = 0;
	uint8_t *full = file_read(f->path, &n);
	assert_int_equal(n, bound[3]);
	for (size_t off = 0; off <= n; off++) {
		file_write(f->path, full, off);
		struct voter_guard *g = NULL;
		char err[512] = "";
		int rc = voter_guard_open(&g, f->path, 16, err, sizeof err);
		if (off < bound[0]) {
			assert_int_equal(rc, SYNOD_ECORRUPT);
			assert_non_null(strstr(err, f->path));
			continue;
		}
		assert_int_equal(rc, 0);
		uint32_t k = off >= bound[3] ? 3 : off >= bound[2] ? 2 : off >= bound[1] ? 1 : 0;
		struct voter_guard_stats st;
		voter_guard_stats_get(g, &st);
		assert_int_equal(st.records, k);
		assert_int_equal(st.torn_repairs, off != bound[k]);
		assert_int_equal(file_size(f->path), bound[k]);
		char env[ENV_CAP];
		size_t len;
		bool resent;
		if (k > 0) {
			assert_int_equal(sign(g, f, (uint8_t)k, 0, SYNOD_VERDICT_REJECT, 1000, env,
			                      &len, &resent),
			                 VOTER_EGUARD_CONFLICT);
		}
		if (k < 3) {
			assert_int_equal(sign(g, f, (uint8_t)(k + 1), 0, SYNOD_VERDICT_REJECT, 1000,
			                      env, &len, &resent),
			                 0);
			assert_false(resent);
		}
		voter_guard_close(g);
	}
	free(full);
}

/* Damage anywhere in a complete file is refused, never repaired: every byte
 * is covered by a checksum, lengths by their own check. */
static void damage_at_every_byte(void **state)
{
	struct fx *f = *state;
	size_t bound[4];
	three_records(f, bound);
	size_t n = 0;
	uint8_t *full = file_read(f->path, &n);
	for (size_t off = 0; off < n; off++) {
		for (int bit = 0; bit < 8; bit += 7) {
			full[off] ^= (uint8_t)(1u << bit);
			file_write(f->path, full, n);
			full[off] ^= (uint8_t)(1u << bit);
			struct voter_guard *g = NULL;
			char err[512] = "";
			int rc = voter_guard_open(&g, f->path, 16, err, sizeof err);
			if (rc != SYNOD_ECORRUPT) {
				fail_msg("flip of bit %d at offset %zu: rc %d", bit, off, rc);
			}
			assert_non_null(strstr(err, f->path));
			assert_non_null(strstr(err, "refusing to vote"));
			assert_int_equal(file_size(f->path), n); /* left untouched */
		}
	}
	/* wrong magic is named as such */
	full[0] = 'X';
	file_write(f->path, full, n);
	struct voter_guard *g = NULL;
	char err[512] = "";
	assert_int_equal(voter_guard_open(&g, f->path, 16, err, sizeof err), SYNOD_ECORRUPT);
	assert_non_null(strstr(err, "wrong magic"));
	full[0] = 'S';
	/* truncated in the middle: ten bytes of record 2 gone, record 3 kept */
	uint8_t *cut = malloc(n);
	memcpy(cut, full, bound[1] + 20);
	memcpy(cut + bound[1] + 20, full + bound[1] + 30, n - bound[1] - 30);
	file_write(f->path, cut, n - 10);
	assert_int_equal(voter_guard_open(&g, f->path, 16, err, sizeof err), SYNOD_ECORRUPT);
	assert_non_null(strstr(err, "offset"));
	/* a record appended twice (same request and epoch) */
	uint8_t *twice = malloc(n + bound[3] - bound[2]);
	memcpy(twice, full, n);
	memcpy(twice + n, full + bound[2], bound[3] - bound[2]);
	file_write(f->path, twice, n + bound[3] - bound[2]);
	assert_int_equal(voter_guard_open(&g, f->path, 16, err, sizeof err), SYNOD_ECORRUPT);
	assert_non_null(strstr(err, "recorded twice"));
	free(twice);
	free(cut);
	free(full);
}

static void prune_and_floor(void **state)
{
	struct fx *f = *state;
	struct voter_guard *g = guard_open_ok(f->path, 3);
	char env[ENV_CAP];
	size_t len;
	bool resent;
	for (uint8_t i = 1; i <= 3; i++) {
		assert_int_equal(
		    sign(g, f, i, 0, SYNOD_VERDICT_APPROVE, 100u * i, env, &len, &resent), 0);
	}
	/* full: a fourth request waits for a prune */
	assert_int_equal(sign(g, f, 4, 0, SYNOD_VERDICT_APPROVE, 400, env, &len, &resent),
	                 SYNOD_EFULL);
	char err[256];
	assert_int_equal(voter_guard_prune(g, 250, err, sizeof err), 0);
	struct voter_guard_stats st;
	voter_guard_stats_get(g, &st);
	assert_int_equal(st.records, 1);
	assert_int_equal(st.floor_ms, 250);
	/* a pruned request (deadline 200) can never be signed again, either way */
	assert_int_equal(sign(g, f, 2, 0, SYNOD_VERDICT_REJECT, 200, env, &len, &resent),
	                 VOTER_EGUARD_PRUNED);
	assert_int_equal(sign(g, f, 4, 0, SYNOD_VERDICT_APPROVE, 400, env, &len, &resent), 0);
	/* the floor never goes down */
	assert_int_equal(voter_guard_prune(g, 10, err, sizeof err), 0);
	voter_guard_stats_get(g, &st);
	assert_int_equal(st.floor_ms, 250);
	voter_guard_close(g);
	/* and survives a restart, with the kept records */
	g = guard_open_ok(f->path, 3);
	voter_guard_stats_get(g, &st);
	assert_int_equal(st.records, 2);
	assert_int_equal(st.floor_ms, 250);
	assert_int_equal(sign(g, f, 2, 0, SYNOD_VERDICT_REJECT, 200, env, &len, &resent),
	                 VOTER_EGUARD_PRUNED);
	assert_int_equal(sign(g, f, 3, 0, SYNOD_VERDICT_REJECT, 300, env, &len, &resent),
	                 VOTER_EGUARD_CONFLICT);
	voter_guard_close(g);
	/* more records than the caller allows */
	struct voter_guard *small = NULL;
	assert_int_equal(voter_guard_open(&small, f->path, 1, err, sizeof err), SYNOD_ELIMIT);
}

int main(void)
{
	synod_log_level_set(SYNOD_LOG_OFF);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(sign_resend_conflict, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(create_and_missing, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(crash_at_every_offset, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(damage_at_every_byte, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(prune_and_floor, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

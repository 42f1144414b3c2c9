/* The write-ahead log (coordinator/wal): round trips, truncation, torn tails
 * at every byte, corruption refused and left untouched, the lock, and the
 * failed state after an I/O error. Every test works in its own mkdtemp. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "coordinator/wal/wal.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REC_MAX 512u

/* What a replay saw: records concatenated as "type:len:bytes;". */
struct seen {
	uint32_t count;
	uint32_t types[REC_MAX];
	size_t lens[REC_MAX];
	uint8_t first[REC_MAX]; /* first byte, or 0 */
	int fail_at;            /* record index whose callback fails, or -1 */
};

static int on_record(void *ctx, uint32_t type, const uint8_t *bytes, size_t len)
{
	struct seen *s = ctx;
	if (s->fail_at >= 0 && (uint32_t)s->fail_at == s->count) {
		return SYNOD_EINVAL;
	}
	assert_true(s->count < REC_MAX);
	s->types[s->count] = type;
	s->lens[s->count] = len;
	s->first[s->count] = len > 0 ? bytes[0] : 0;
	s->count++;
	return 0;
}

static char *tmpdir(void)
{
	char *d = strdup("/tmp/synod-wal.XXXXXX");
	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static void rmtree(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		return;
	}
	struct dirent *e;
	char p[1024];
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
			unlink(p);
		}
	}
	closedir(d);
	rmdir(dir);
}

static struct synod_wal *open_ok(const char *dir, struct seen *s)
{
	struct synod_wal *w = NULL;
	char err[512] = "";
	if (s != NULL) {
		memset(s, 0, sizeof *s);
		s->fail_at = -1;
	}
	int rc = synod_wal_open(&w, dir, s != NULL ? on_record : NULL, s, err, sizeof err);
	if (rc != 0) {
		fail_msg("open %s: %s (%s)", dir, synod_strerror(rc), err);
	}
	return w;
}

/* Appends frame k: k+1 records of type k, record j of length j*7 filled
 * with byte k. */
static void append_frame(struct synod_wal *w, uint32_t k, bool truncate)
{
	static uint8_t data[REC_MAX * 8];
	memset(data, (int)(k & 0xff), sizeof data);
	struct synod_wal_record r[8];
	uint32_t n = k % 8 + 1;
	for (uint32_t j = 0; j < n; j++) {
		r[j] = (struct synod_wal_record){.type = k, .bytes = data, .len = j * 7u};
	}
	assert_int_equal(synod_wal_append(w, r, n, truncate), 0);
}

static uint32_t frame_records(uint32_t k)
{
	return k % 8 + 1;
}

/* Checks that seen holds frames from..to (inclusive) in order. */
static void expect_frames(const struct seen *s, uint32_t from, uint32_t to)
{
	uint32_t i = 0;
	for (uint32_t k = from; k <= to; k++) {
		for (uint32_t j = 0; j < frame_records(k); j++, i++) {
			assert_true(i < s->count);
			assert_int_equal(s->types[i], k);
			assert_int_equal(s->lens[i], j * 7u);
			assert_int_equal(s->first[i], j > 0 ? (k & 0xff) : 0);
		}
	}
	assert_int_equal(s->count, i);
}

/* Opens dir, checks that it replays frames from..to, closes it. */
static void reopen_expect(const char *dir, uint32_t from, uint32_t to)
{
	struct seen s;
	struct synod_wal *w = open_ok(dir, &s);
	expect_frames(&s, from, to);
	synod_wal_close(w);
}

/* Opens dir, appends frames from..to (no truncation), closes it. */
static void write_frames(const char *dir, uint32_t from, uint32_t to)
{
	struct synod_wal *w = open_ok(dir, NULL);
	for (uint32_t k = from; k <= to; k++) {
		append_frame(w, k, false);
	}
	synod_wal_close(w);
}

static void dir_done(char *dir)
{
	rmtree(dir);
	free(dir);
}

static char *seg_path(const char *dir, uint64_t n)
{
	char *p = malloc(1024);
	assert_non_null(p);
	snprintf(p, 1024, "%s/%016llx.wal", dir, (unsigned long long)n);
	return p;
}

static long file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static uint8_t *slurp(const char *path, long *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	*len = file_size(path);
	uint8_t *b = malloc((size_t)*len + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)*len, f), (size_t)*len);
	fclose(f);
	return b;
}

static void spit(const char *path, const uint8_t *b, long len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, (size_t)len, f), (size_t)len);
	fclose(f);
}

static void wal_round_trip(void **state)
{
	(void)state;
	char *dir = tmpdir();
	struct seen s;
	struct synod_wal *w = open_ok(dir, &s);
	assert_int_equal(s.count, 0);
	for (uint32_t k = 1; k <= 20; k++) {
		append_frame(w, k, false);
	}
	assert_int_equal(synod_wal_append(w, NULL, 0, false), 0); /* no-op */
	struct synod_wal_stats st;
	synod_wal_stats_get(w, &st);
	assert_int_equal(st.frames, 20);
	assert_int_equal(st.segments, 1);
	synod_wal_close(w);
	w = open_ok(dir, &s);
	expect_frames(&s, 1, 20);
	synod_wal_stats_get(w, &st);
	assert_int_equal(st.frames, 20);
	assert_int_equal(st.torn_repairs, 0);
	append_frame(w, 21, false);
	synod_wal_close(w);
	reopen_expect(dir, 1, 21);
	rmtree(dir);
	/* a directory that does not exist yet is created (mode 0700) */
	char sub[600];
	snprintf(sub, sizeof sub, "%s/wal", dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	w = open_ok(sub, &s);
	append_frame(w, 1, false);
	synod_wal_close(w);
	struct stat sb;
	assert_int_equal(stat(sub, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	reopen_expect(sub, 1, 1);
	rmtree(sub);
	rmdir(dir);
	free(dir);
}

/* A truncating update starts a new segment and removes the old ones; a crash
 * before the removal (old segments left behind) replays them too, in order. */
static void wal_truncation(void **state)
{
	(void)state;
	char *dir = tmpdir();
	struct seen s;
	struct synod_wal *w = open_ok(dir, &s);
	for (uint32_t k = 1; k <= 5; k++) {
		append_frame(w, k, false);
	}
	char *s1 = seg_path(dir, 1), *s2 = seg_path(dir, 2), *s3 = seg_path(dir, 3);
	long old_len = 0;
	uint8_t *old = slurp(s1, &old_len);
	append_frame(w, 6, true);
	append_frame(w, 7, false);
	assert_int_equal(file_size(s1), -1);
	assert_true(file_size(s2) > 0);
	struct synod_wal_stats st;
	synod_wal_stats_get(w, &st);
	assert_int_equal(st.segments, 1);
	assert_int_equal(st.truncations, 1);
	synod_wal_close(w);
	reopen_expect(dir, 6, 7);
	/* the crash between "new segment durable" and "old ones unlinked" */
	spit(s1, old, old_len);
	w = open_ok(dir, &s);
	expect_frames(&s, 1, 7);
	append_frame(w, 8, true); /* removes both 1 and 2 */
	assert_int_equal(file_size(s1), -1);
	assert_int_equal(file_size(s2), -1);
	assert_true(file_size(s3) > 0);
	synod_wal_close(w);
	reopen_expect(dir, 8, 8);
	free(old);
	free(s1);
	free(s2);
	free(s3);
	dir_done(dir);
}

/* The last frame cut at every byte: open replays the frames before it, cuts
 * the rest off, and the WAL goes on from there. */
static void wal_torn_tail_every_byte(void **state)
{
	(void)state;
	char *dir = tmpdir();
	struct seen s;
	write_frames(dir, 1, 3);
	struct synod_wal *w = NULL;
	char *s1 = seg_path(dir, 1);
	long before = file_size(s1);
	write_frames(dir, 4, 4);
	long full_len = 0;
	uint8_t *full = slurp(s1, &full_len);
	for (long cut = before; cut < full_len; cut++) {
		spit(s1, full, cut);
		w = open_ok(dir, &s);
		expect_frames(&s, 1, 3);
		struct synod_wal_stats st;
		synod_wal_stats_get(w, &st);
		assert_int_equal(st.torn_repairs, cut > before ? 1 : 0);
		assert_int_equal(file_size(s1), before);
		/* appending after the repair continues the index sequence */
		append_frame(w, 9, false);
		synod_wal_close(w);
		w = open_ok(dir, &s);
		assert_int_equal(s.count, frame_records(1) + frame_records(2) + frame_records(3) +
		                              frame_records(9));
		synod_wal_close(w);
	}
	free(full);
	free(s1);
	dir_done(dir);
}

/* A flipped byte anywhere but the last frame is corruption: open fails,
 * names the offset, and leaves the file exactly as it was. */
static void wal_corruption_refused(void **state)
{
	(void)state;
	char *dir = tmpdir();
	struct seen s;
	write_frames(dir, 1, 5);
	char *s1 = seg_path(dir, 1);
	long last_start = file_size(s1); /* flip bytes in the header and frames 1..5 */
	write_frames(dir, 6, 6);
	long len = 0;
	uint8_t *orig = slurp(s1, &len);
	uint32_t checked = 0;
	for (long at = 0; at < last_start; at += 3) {
		uint8_t *m = malloc((size_t)len);
		assert_non_null(m);
		memcpy(m, orig, (size_t)len);
		m[at] ^= 0x20;
		spit(s1, m, len);
		struct synod_wal *w2 = NULL;
		char err[512] = "";
		memset(&s, 0, sizeof s);
		s.fail_at = -1;
		int rc = synod_wal_open(&w2, dir, on_record, &s, err, sizeof err);
		if (rc != SYNOD_ECORRUPT) {
			fail_msg("byte %ld flipped: open gave %s (%s)", at, synod_strerror(rc),
			         err);
		}
		assert_null(w2);
		assert_non_null(strstr(err, "0000000000000001.wal"));
		long now = 0;
		uint8_t *after = slurp(s1, &now);
		assert_int_equal(now, len);
		assert_memory_equal(after, m, (size_t)len);
		free(after);
		free(m);
		checked++;
	}
	assert_true(checked > 20);
	spit(s1, orig, len);
	reopen_expect(dir, 1, 6);
	free(orig);
	free(s1);
	dir_done(dir);
}

/* A missing segment in the middle, a duplicated frame, a segment from
 * another WAL: all corruption. */
static void wal_structure_refused(void **state)
{
	(void)state;
	char *dir = tmpdir();
	struct seen s;
	struct synod_wal *w = open_ok(dir, &s);
	append_frame(w, 1, false);
	append_frame(w, 2, true);
	append_frame(w, 3, true);
	synod_wal_close(w);
	char *s3 = seg_path(dir, 3), *s4 = seg_path(dir, 4), *s5 = seg_path(dir, 5);
	long l3 = 0;
	uint8_t *b3 = slurp(s3, &l3);
	/* gap: 3 and 5 */
	spit(s5, b3, l3);
	struct synod_wal *w2 = NULL;
	char err[512] = "";
	assert_int_equal(synod_wal_open(&w2, dir, NULL, NULL, err, sizeof err), SYNOD_ECORRUPT);
	assert_non_null(strstr(err, "0000000000000004 is missing"));
	unlink(s5);
	/* segment 4 holding segment 3's bytes: the header names another number */
	spit(s4, b3, l3);
	assert_int_equal(synod_wal_open(&w2, dir, NULL, NULL, err, sizeof err), SYNOD_ECORRUPT);
	assert_non_null(strstr(err, "0000000000000004.wal: the segment header"));
	unlink(s4);
	/* a whole frame repeated at the end: out of sequence, not torn */
	uint8_t *dup = malloc((size_t)l3 * 2);
	assert_non_null(dup);
	memcpy(dup, b3, (size_t)l3);
	memcpy(dup + l3, b3 + 52, (size_t)l3 - 52);
	spit(s3, dup, l3 + l3 - 52);
	assert_int_equal(synod_wal_open(&w2, dir, NULL, NULL, err, sizeof err), SYNOD_ECORRUPT);
	assert_non_null(strstr(err, "expected"));
	/* segment 4 of another WAL (right number, other id) after our 3 */
	spit(s3, b3, l3);
	char *other = tmpdir();
	w = open_ok(other, NULL);
	append_frame(w, 1, true);
	append_frame(w, 2, true);
	append_frame(w, 4, true);
	synod_wal_close(w);
	char *o4 = seg_path(other, 4);
	long lo = 0;
	uint8_t *bo = slurp(o4, &lo);
	spit(s4, bo, lo);
	assert_int_equal(synod_wal_open(&w2, dir, NULL, NULL, err, sizeof err), SYNOD_ECORRUPT);
	assert_non_null(strstr(err, "of this WAL"));
	unlink(s4);
	reopen_expect(dir, 3, 3);
	free(bo);
	free(o4);
	dir_done(other);
	free(dup);
	free(b3);
	free(s3);
	free(s4);
	free(s5);
	dir_done(dir);
}

/* A segment torn while being created (shorter than its header) is removed;
 * a replay callback's error stops open with that error. */
static void wal_torn_segment_and_callback_error(void **state)
{
	(void)state;
	char *dir = tmpdir();
	struct seen s;
	struct synod_wal *w = open_ok(dir, &s);
	append_frame(w, 1, false);
	append_frame(w, 2, false);
	synod_wal_close(w);
	char *s2 = seg_path(dir, 2);
	spit(s2, (const uint8_t *)"SYNODW", 6);
	w = open_ok(dir, &s);
	expect_frames(&s, 1, 2);
	struct synod_wal_stats st;
	synod_wal_stats_get(w, &st);
	assert_int_equal(st.torn_repairs, 1);
	append_frame(w, 3, true); /* creates segment 2 again, properly */
	synod_wal_close(w);
	reopen_expect(dir, 3, 3);
	struct synod_wal *w2 = NULL;
	char err[512] = "";
	memset(&s, 0, sizeof s);
	s.fail_at = 1;
	assert_int_equal(synod_wal_open(&w2, dir, on_record, &s, err, sizeof err), SYNOD_EINVAL);
	assert_non_null(strstr(err, "replaying"));
	free(s2);
	dir_done(dir);
}

static void expect_corrupt(const char *dir, const char *needle)
{
	struct synod_wal *w = NULL;
	char err[512] = "";
	int rc = synod_wal_open(&w, dir, NULL, NULL, err, sizeof err);
	if (rc != SYNOD_ECORRUPT || strstr(err, needle) == NULL) {
		fail_msg("want SYNOD_ECORRUPT with \"%s\", got %s: %s", needle, synod_strerror(rc),
		         err);
	}
	assert_null(w);
}

/* Damage that a crash cannot produce is refused, wherever it sits: the first
 * frame of a segment that starts after a truncation (index not 1), several
 * frames in a row with good ones behind, a torn end in a segment that is not
 * the last, a whole segment header that fails its checksum. */
static void wal_damage_not_torn(void **state)
{
	(void)state;
	char *dir = tmpdir();
	struct synod_wal *w = open_ok(dir, NULL);
	append_frame(w, 1, false);
	append_frame(w, 2, true); /* segment 2 starts at frame 2 */
	append_frame(w, 3, false);
	append_frame(w, 4, false);
	synod_wal_close(w);
	char *s2 = seg_path(dir, 2);
	long len = 0;
	uint8_t *orig = slurp(s2, &len);
	orig[52 + 28 + 5] ^= 1; /* frame 2's payload */
	spit(s2, orig, len);
	expect_corrupt(dir, "with a valid frame among them");
	orig[52 + 28 + 5] ^= 1;
	/* frames 2 and 3 zeroed, frame 4 intact */
	long f4 = len - (long)(28 + 4 + frame_records(4) * 8 +
	                       7 * (frame_records(4) - 1) * frame_records(4) / 2);
	uint8_t *m = malloc((size_t)len);
	assert_non_null(m);
	memcpy(m, orig, (size_t)len);
	memset(m + 52, 0, (size_t)(f4 - 52));
	spit(s2, m, len);
	expect_corrupt(dir, "with a valid frame among them");
	/* a whole header that fails its checksum */
	memcpy(m, orig, (size_t)len);
	m[30] ^= 1;
	spit(s2, m, 52);
	expect_corrupt(dir, "segment header");
	spit(s2, orig, len);
	reopen_expect(dir, 2, 4);
	/* a torn end in a segment that is not the last */
	w = open_ok(dir, NULL);
	append_frame(w, 5, true); /* segment 3; segment 2 removed */
	synod_wal_close(w);
	spit(s2, orig, len - 3);
	expect_corrupt(dir, "not the torn end");
	free(m);
	free(orig);
	free(s2);
	dir_done(dir);
}

/* The crash points of a truncating append: the new segment created with a
 * header of any length (or a zeroed one: size durable, bytes not) next to the
 * old segments, or whole with no frame: open replays the old segments and
 * goes on. A trailing slash in the path is fine. */
static void wal_truncation_crash_points(void **state)
{
	(void)state;
	char *dir = tmpdir();
	write_frames(dir, 1, 3);
	char *s1 = seg_path(dir, 1), *s2 = seg_path(dir, 2);
	long l1 = 0;
	uint8_t *b1 = slurp(s1, &l1);
	struct synod_wal *w = open_ok(dir, NULL);
	append_frame(w, 4, true);
	synod_wal_close(w);
	long l2 = 0;
	uint8_t *b2 = slurp(s2, &l2);
	static const uint8_t zero[52];
	for (long cut = 0; cut <= 53; cut++) {
		spit(s1, b1, l1);
		if (cut == 53) {
			spit(s2, zero, 52);
		} else {
			spit(s2, b2, cut);
		}
		struct seen s;
		w = open_ok(dir, &s);
		expect_frames(&s, 1, 3);
		struct synod_wal_stats st;
		synod_wal_stats_get(w, &st);
		assert_int_equal(st.torn_repairs, cut < 52 || cut == 53 ? 1 : 0);
		append_frame(w, 4, false);
		synod_wal_close(w);
		reopen_expect(dir, 1, 4);
	}
	char slashed[600];
	snprintf(slashed, sizeof slashed, "%s/", dir);
	reopen_expect(slashed, 1, 4);
	free(b1);
	free(b2);
	free(s1);
	free(s2);
	dir_done(dir);
}

static void wal_lock(void **state)
{
	(void)state;
	char *dir = tmpdir();
	struct synod_wal *w = open_ok(dir, NULL);
	struct synod_wal *w2 = NULL;
	char err[512] = "";
	assert_int_equal(synod_wal_open(&w2, dir, NULL, NULL, err, sizeof err), SYNOD_EEXIST);
	assert_non_null(strstr(err, "another process"));
	synod_wal_close(w);
	w = open_ok(dir, NULL);
	synod_wal_close(w);
	dir_done(dir);
}

struct faults {
	const char *op;
	int after; /* calls of op that succeed first */
	int calls;
};

static int fault_fn(void *ctx, const char *op)
{
	struct faults *f = ctx;
	if (strcmp(op, f->op) != 0) {
		return 0;
	}
	return f->calls++ >= f->after ? -1 : 0;
}

/* After a failed write or fdatasync the WAL refuses everything (no retry
 * that could report success for lost pages); the files recover on reopen
 * with every frame acknowledged before the failure. */
static void wal_io_error_fails_for_good(void **state)
{
	(void)state;
	static const char *ops[] = {"write", "fdatasync", "fsync"};
	for (uint32_t o = 0; o < 3; o++) {
		char *dir = tmpdir();
		struct seen s;
		struct synod_wal *w = open_ok(dir, &s);
		append_frame(w, 1, false);
		struct faults f = {.op = ops[o], .after = 0};
		synod_wal_inject_faults(w, fault_fn, &f);
		struct synod_wal_record r = {.type = 7, .bytes = (const uint8_t *)"x", .len = 1};
		/* fsync is reached only through a truncating append (the directory) */
		assert_int_equal(synod_wal_append(w, &r, 1, o == 2), SYNOD_EIO);
		assert_true(synod_wal_failed(w));
		synod_wal_inject_faults(w, NULL, NULL);
		assert_int_equal(synod_wal_append(w, &r, 1, false), SYNOD_EIO);
		synod_wal_close(w);
		w = open_ok(dir, &s);
		/* exactly what was acknowledged: the failed frame was cut back */
		expect_frames(&s, 1, 1);
		synod_wal_close(w);
		dir_done(dir);
	}
}

static void wal_limits(void **state)
{
	(void)state;
	char *dir = tmpdir();
	struct synod_wal *w = open_ok(dir, NULL);
	static struct synod_wal_record many[SYNOD_WAL_RECORDS_MAX + 1];
	assert_int_equal(synod_wal_append(w, many, SYNOD_WAL_RECORDS_MAX + 1, false), SYNOD_ELIMIT);
	struct synod_wal_record big = {
	    .type = 1, .bytes = NULL, .len = (size_t)SYNOD_WAL_FRAME_BYTES_MAX + 1};
	assert_int_equal(synod_wal_append(w, &big, 1, false), SYNOD_ELIMIT);
	assert_false(synod_wal_failed(w));
	struct synod_wal_stats st;
	synod_wal_stats_get(w, &st);
	assert_int_equal(st.frames, 0);
	synod_wal_close(w);
	char err[512] = "";
	char longdir[700];
	memset(longdir, 'a', sizeof longdir - 1);
	longdir[sizeof longdir - 1] = '\0';
	longdir[0] = '/';
	assert_int_equal(synod_wal_open(&w, longdir, NULL, NULL, err, sizeof err), SYNOD_ELIMIT);
	dir_done(dir);
}

/* Stages frame k as append_frame would write it. */
static void stage_frame(struct synod_wal *w, uint32_t k, bool truncate)
{
	static uint8_t data[REC_MAX * 8];
	memset(data, (int)(k & 0xff), sizeof data);
	struct synod_wal_record r[8];
	uint32_t n = k % 8 + 1;
	for (uint32_t j = 0; j < n; j++) {
		r[j] = (struct synod_wal_record){.type = k, .bytes = data, .len = j * 7u};
	}
	assert_int_equal(synod_wal_stage(w, r, n, truncate), 0);
	memset(data, 0xee, sizeof data); /* staged records are copies */
}

/* Group commit: several updates' frames, one write and one fdatasync; nothing
 * reaches the file before the flush; a crash anywhere in the group's bytes
 * recovers a prefix of whole frames. */
static void wal_group_commit(void **state)
{
	(void)state;
	char *dir = tmpdir();
	struct synod_wal *w = open_ok(dir, NULL);
	append_frame(w, 1, false);
	char *s1 = seg_path(dir, 1);
	long before = file_size(s1);
	struct synod_wal_stats st0, st;
	synod_wal_stats_get(w, &st0);
	for (uint32_t k = 2; k <= 6; k++) {
		stage_frame(w, k, false);
	}
	assert_int_equal(file_size(s1), before);
	assert_true(synod_wal_staged_bytes(w) > 0);
	assert_int_equal(synod_wal_flush(w), 0);
	assert_int_equal(synod_wal_staged_bytes(w), 0);
	assert_int_equal(synod_wal_flush(w), 0); /* nothing staged: no-op */
	synod_wal_stats_get(w, &st);
	assert_int_equal(st.syncs - st0.syncs, 1);
	assert_int_equal(st.groups - st0.groups, 1);
	assert_int_equal(st.frames, 6);
	append_frame(w, 7, false); /* indexes go on after a group */
	synod_wal_close(w);
	reopen_expect(dir, 1, 7);
	/* cut the file at every byte of the group: whole frames survive */
	long len = 0;
	uint8_t *b = slurp(s1, &len);
	uint32_t last = 1;
	for (long cut = before; cut <= len; cut++) {
		spit(s1, b, cut);
		struct seen s;
		w = open_ok(dir, &s);
		uint32_t whole = 1;
		while (whole < 7 && s.count > 0 && s.types[s.count - 1] > whole) {
			whole++;
		}
		expect_frames(&s, 1, whole);
		assert_true(whole >= last);
		assert_true(cut < len || whole == 7);
		last = whole;
		synod_wal_close(w);
	}
	free(b);
	free(s1);
	dir_done(dir);
}

/* A truncating update inside a group: the frames staged before it are never
 * written, the group lands in a new segment, the old ones go; frames staged
 * after it follow it. */
static void wal_group_truncation(void **state)
{
	(void)state;
	char *dir = tmpdir();
	write_frames(dir, 1, 3);
	struct synod_wal *w = open_ok(dir, NULL);
	stage_frame(w, 4, false);
	stage_frame(w, 5, false);
	stage_frame(w, 6, true);
	stage_frame(w, 7, false);
	assert_int_equal(synod_wal_flush(w), 0);
	char *s1 = seg_path(dir, 1), *s2 = seg_path(dir, 2);
	assert_int_equal(file_size(s1), -1);
	assert_true(file_size(s2) > 0);
	struct synod_wal_stats st;
	synod_wal_stats_get(w, &st);
	assert_int_equal(st.truncations, 1);
	assert_int_equal(st.segments, 1);
	synod_wal_close(w);
	reopen_expect(dir, 6, 7);
	/* a failed group write is cut back whole, and the WAL is failed */
	w = open_ok(dir, NULL);
	struct faults f = {.op = "fdatasync", .after = 0};
	stage_frame(w, 8, false);
	stage_frame(w, 9, false);
	synod_wal_inject_faults(w, fault_fn, &f);
	assert_int_equal(synod_wal_flush(w), SYNOD_EIO);
	assert_true(synod_wal_failed(w));
	assert_int_equal(synod_wal_stage(w, NULL, 1, false), SYNOD_EIO);
	synod_wal_close(w);
	reopen_expect(dir, 6, 7);
	free(s1);
	free(s2);
	dir_done(dir);
}

/* A group stops at SYNOD_WAL_GROUP_BYTES_MAX (SYNOD_EFULL, nothing lost:
 * flush and stage again); a frame alone may be larger. */
static void wal_group_full(void **state)
{
	(void)state;
	char *dir = tmpdir();
	struct synod_wal *w = open_ok(dir, NULL);
	size_t half = SYNOD_WAL_GROUP_BYTES_MAX / 2 + 1;
	uint8_t *big = calloc(1, half);
	assert_non_null(big);
	struct synod_wal_record r = {.type = 9, .bytes = big, .len = half};
	assert_int_equal(synod_wal_stage(w, &r, 1, false), 0);
	assert_int_equal(synod_wal_stage(w, &r, 1, false), SYNOD_EFULL);
	assert_int_equal(synod_wal_flush(w), 0);
	assert_int_equal(synod_wal_stage(w, &r, 1, false), 0);
	assert_int_equal(synod_wal_flush(w), 0);
	struct synod_wal_stats st;
	synod_wal_stats_get(w, &st);
	assert_int_equal(st.frames, 2);
	synod_wal_close(w);
	free(big);
	dir_done(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(wal_round_trip),
	    cmocka_unit_test(wal_truncation),
	    cmocka_unit_test(wal_torn_tail_every_byte),
	    cmocka_unit_test(wal_corruption_refused),
	    cmocka_unit_test(wal_structure_refused),
	    cmocka_unit_test(wal_torn_segment_and_callback_error),
	    cmocka_unit_test(wal_damage_not_torn),
	    cmocka_unit_test(wal_truncation_crash_points),
	    cmocka_unit_test(wal_lock),
	    cmocka_unit_test(wal_io_error_fails_for_good),
	    cmocka_unit_test(wal_limits),
	    cmocka_unit_test(wal_group_commit),
	    cmocka_unit_test(wal_group_truncation),
	    cmocka_unit_test(wal_group_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

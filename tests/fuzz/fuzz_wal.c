/* Fuzzes WAL recovery: each input builds a real WAL in a temporary directory
 * (frames with known contents, some of them truncating), then damages its
 * files as the input says (flip, cut, zero or append bytes; remove a
 * segment), then opens it. Whatever the damage:
 *   - open never crashes and returns 0, SYNOD_ECORRUPT or SYNOD_EIO;
 *   - when it succeeds, the records replayed are whole frames exactly as
 *     appended, consecutive and in order (never altered, reordered or
 *     invented); with no damage, every frame since the last truncation;
 *   - after a successful open, a new frame appends and a reopen replays the
 *     same frames plus that one.
 * Input: byte 0 = frames to append (1..16), byte 1 = which of them truncate
 * (bit i: frame i+1 when i < 8, mod 8 otherwise), then up to 8 damage ops. */
#include "common/assert.h"
#include "coordinator/wal/wal.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FW_FRAMES_MAX 17u
#define FW_OPS_MAX    8u

/* Frame k: (k % 3) + 1 records, record j of type k and length k * 3 + j,
 * bytes (k * 7 + j + position) & 0xff. */
static uint32_t fw_records(uint32_t k)
{
	return k % 3 + 1;
}

static void fw_fill(uint8_t *buf, uint32_t k, uint32_t j, size_t len)
{
	for (size_t p = 0; p < len; p++) {
		buf[p] = (uint8_t)(k * 7 + j + p);
	}
}

static void fw_append(struct synod_wal *w, uint32_t k, bool truncate)
{
	static uint8_t bufs[3][64];
	struct synod_wal_record r[3];
	for (uint32_t j = 0; j < fw_records(k); j++) {
		size_t len = k * 3 + j;
		fw_fill(bufs[j], k, j, len);
		r[j] = (struct synod_wal_record){.type = k, .bytes = bufs[j], .len = len};
	}
	SYNOD_ASSERT(synod_wal_append(w, r, fw_records(k), truncate) == 0);
}

/* The replay: checks every record against its frame as it comes. */
struct fw_seen {
	uint32_t first; /* first frame seen, 0 before any */
	uint32_t frame; /* the frame being read */
	uint32_t rec;   /* records of it seen */
	uint32_t frames;
};

static int fw_on_record(void *ctx, uint32_t type, const uint8_t *bytes, size_t len)
{
	struct fw_seen *s = ctx;
	if (s->frame == 0 || s->rec == fw_records(s->frame)) {
		/* a new frame: the next one, or any when nothing came yet */
		SYNOD_ASSERT(s->frame == 0 || type == s->frame + 1);
		if (s->first == 0) {
			s->first = type;
		}
		s->frame = type;
		s->rec = 0;
		s->frames++;
	}
	SYNOD_ASSERT(type == s->frame && type < FW_FRAMES_MAX + 1);
	uint8_t want[64];
	SYNOD_ASSERT(len == (size_t)type * 3 + s->rec);
	fw_fill(want, type, s->rec, len);
	SYNOD_ASSERT(memcmp(want, bytes, len) == 0);
	s->rec++;
	return 0;
}

static void fw_rmtree(const char *dir)
{
	DIR *d = opendir(dir);
	if (d != NULL) {
		struct dirent *e;
		char p[600];
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] != '.') {
				snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
				unlink(p);
			}
		}
		closedir(d);
	}
	rmdir(dir);
}

/* The segment files, ascending (names sort as numbers: fixed-width hex). */
static uint32_t fw_segments(const char *dir, char names[][32], uint32_t cap)
{
	uint32_t n = 0;
	DIR *d = opendir(dir);
	SYNOD_ASSERT(d != NULL);
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < cap) {
		size_t l = strlen(e->d_name);
		if (l == 20 && strcmp(e->d_name + 16, ".wal") == 0) {
			memcpy(names[n++], e->d_name, 21); /* 20 characters and the NUL */
		}
	}
	closedir(d);
	for (uint32_t i = 1; i < n; i++) {
		for (uint32_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char t[32];
			memcpy(t, names[j], 32);
			memcpy(names[j], names[j - 1], 32);
			memcpy(names[j - 1], t, 32);
		}
	}
	return n;
}

/* Applies one damage op to a segment file; returns the bytes it consumed. */
static size_t fw_damage(const char *dir, const uint8_t *op, size_t avail)
{
	if (avail < 4) {
		return avail;
	}
	char names[64][32], path[600];
	uint32_t n = fw_segments(dir, names, 64);
	if (n == 0) {
		return 4;
	}
	snprintf(path, sizeof path, "%s/%s", dir, names[op[1] % n]);
	struct stat sb;
	SYNOD_ASSERT(stat(path, &sb) == 0);
	size_t fsize = (size_t)sb.st_size;
	size_t at = fsize > 0 ? ((size_t)op[2] << 8 | op[3]) % fsize : 0;
	int fd = open(path, O_RDWR);
	SYNOD_ASSERT(fd >= 0);
	size_t used = 4;
	switch (op[0] % 5) {
	case 0: /* flip one byte */
		if (fsize > 0 && avail > 4) {
			uint8_t b = 0;
			SYNOD_ASSERT(pread(fd, &b, 1, (off_t)at) == 1);
			b ^= op[4] != 0 ? op[4] : 1;
			SYNOD_ASSERT(pwrite(fd, &b, 1, (off_t)at) == 1);
			used = 5;
		}
		break;
	case 1: /* cut the file */
		SYNOD_ASSERT(ftruncate(fd, (off_t)at) == 0);
		break;
	case 2: { /* zero up to 64 bytes */
		uint8_t z[64] = {0};
		size_t len = fsize - at < 64 ? fsize - at : 64;
		SYNOD_ASSERT(pwrite(fd, z, len, (off_t)at) == (ssize_t)len);
		break;
	}
	case 3: { /* append bytes from the input */
		size_t len = op[2] % 64 < avail - 4 ? op[2] % 64 : avail - 4;
		SYNOD_ASSERT(pwrite(fd, op + 4, len, (off_t)fsize) == (ssize_t)len);
		used = 4 + len;
		break;
	}
	default: /* remove the segment */
		SYNOD_ASSERT(unlink(path) == 0);
		break;
	}
	close(fd);
	return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2) {
		return 0;
	}
	char dir[64];
	snprintf(dir, sizeof dir, "/tmp/synod-fuzz-wal.XXXXXX");
	SYNOD_ASSERT(mkdtemp(dir) != NULL);
	uint32_t frames = (uint32_t)(data[0] % 16) + 1;
	uint32_t last_trunc = 1;
	char err[512];
	struct synod_wal *w = NULL;
	SYNOD_ASSERT(synod_wal_open(&w, dir, NULL, NULL, err, sizeof err) == 0);
	for (uint32_t k = 1; k <= frames; k++) {
		bool trunc = k > 1 && (data[1] >> ((k - 1) % 8) & 1u) != 0;
		fw_append(w, k, trunc);
		last_trunc = trunc ? k : last_trunc;
	}
	synod_wal_close(w);
	size_t pos = 2;
	uint32_t ops = 0;
	while (pos < size && ops < FW_OPS_MAX) {
		pos += fw_damage(dir, data + pos, size - pos);
		ops++;
	}
	struct fw_seen s = {0};
	w = NULL;
	int rc = synod_wal_open(&w, dir, fw_on_record, &s, err, sizeof err);
	SYNOD_ASSERT(rc == 0 || rc == SYNOD_ECORRUPT || rc == SYNOD_EIO);
	if (rc == 0) {
		SYNOD_ASSERT(s.frame == 0 || s.rec == fw_records(s.frame)); /* whole frames */
		if (ops == 0) {
			SYNOD_ASSERT(s.first == last_trunc && s.frame == frames);
		}
		/* the repaired WAL goes on */
		uint32_t next = s.frame + 1;
		if (next <= FW_FRAMES_MAX) {
			fw_append(w, next, false);
		}
		synod_wal_close(w);
		struct fw_seen again = {0};
		SYNOD_ASSERT(synod_wal_open(&w, dir, fw_on_record, &again, err, sizeof err) == 0);
		SYNOD_ASSERT(again.first == s.first || s.frame == 0);
		SYNOD_ASSERT(again.frame == (next <= FW_FRAMES_MAX ? next : s.frame));
		synod_wal_close(w);
	}
	fw_rmtree(dir);
	return 0;
}

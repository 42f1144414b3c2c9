/* The write-ahead log (format and rules in wal.h). */
#include "coordinator/wal/wal.h"

#include "common/assert.h"
#include "common/log.h"
#include "common/wire.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAL_MAGIC         "SYNODWAL"
#define WAL_SUM_BYTES     16u
#define WAL_SEGMENTS_MAX  4096u /* more means truncation stopped working: corrupt */
#define WAL_NAME_HEX      16u
#define WAL_RECORD_HEADER 8u
#define WAL_ID_BYTES      16u

SYNOD_COUNTER(wal_torn_total, "synod_wal_torn_tails_total",
              "Torn frames cut off the end of the WAL at open");
SYNOD_COUNTER(wal_corrupt_total, "synod_wal_corrupt_total",
              "WAL opens refused because a segment failed its checks");
SYNOD_COUNTER(wal_io_errors_total, "synod_wal_io_errors_total",
              "WAL writes or syncs that failed (the WAL is then failed)");
SYNOD_COUNTER(wal_unlink_errors_total, "synod_wal_unlink_errors_total",
              "Old WAL segments that could not be removed after a truncation");

struct synod_wal {
	int dirfd;
	int lockfd;
	int fd; /* the last (active) segment */
	char dir[SYNOD_WAL_PATH_MAX];
	uint64_t *segs; /* segment numbers, ascending; the last is active */
	uint32_t seg_count;
	uint64_t size;            /* bytes in the active segment */
	uint64_t next_index;      /* the index the next frame gets */
	uint64_t removed;         /* a segment torn while created, removed at open */
	uint8_t id[WAL_ID_BYTES]; /* random per WAL: the key of every checksum */
	bool have_id;
	bool failed;
	uint8_t *buf; /* the staged frames (synod_wal_stage), written by flush */
	size_t buf_cap;
	size_t stage_len;      /* bytes staged */
	uint64_t stage_index;  /* the index the next staged frame gets */
	uint64_t stage_frames; /* frames staged */
	uint64_t stage_records;
	bool stage_truncate; /* the group starts a new segment */
	struct synod_wal_stats st;
	int (*fault)(void *ctx, const char *op);
	void *fault_ctx;
};

/* ---- helpers ---- */

static void seg_name(char out[WAL_NAME_HEX + 5], uint64_t number)
{
	snprintf(out, WAL_NAME_HEX + 5, "%016" PRIx64 ".wal", number);
}

static bool seg_parse(const char *name, uint64_t *number)
{
	if (strlen(name) != WAL_NAME_HEX + 4 || strcmp(name + WAL_NAME_HEX, ".wal") != 0) {
		return false;
	}
	uint64_t v = 0;
	for (uint32_t i = 0; i < WAL_NAME_HEX; i++) {
		char c = name[i];
		uint64_t d;
		if (c >= '0' && c <= '9') {
			d = (uint64_t)(c - '0');
		} else if (c >= 'a' && c <= 'f') {
			d = (uint64_t)(c - 'a' + 10);
		} else {
			return false;
		}
		v = v << 4 | d;
	}
	*number = v;
	return v != 0;
}

/* Keyed with the WAL's random id, so that bytes a peer chose (records carry
 * peers' messages) can never pass for a frame of this WAL. */
static void wal_sum(uint8_t out[WAL_SUM_BYTES], const uint8_t key[WAL_ID_BYTES],
                    const uint8_t *head, size_t head_len, const uint8_t *body, size_t body_len)
{
	crypto_generichash_state st;
	SYNOD_ASSERT(crypto_generichash_init(&st, key, WAL_ID_BYTES, WAL_SUM_BYTES) == 0);
	crypto_generichash_update(&st, head, head_len);
	if (body_len > 0) {
		crypto_generichash_update(&st, body, body_len);
	}
	SYNOD_ASSERT(crypto_generichash_final(&st, out, WAL_SUM_BYTES) == 0);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static int inject(struct synod_wal *w, const char *op)
{
	if (w->fault != NULL && w->fault(w->fault_ctx, op) != 0) {
		errno = EIO;
		return -1;
	}
	return 0;
}

static int pwrite_all(struct synod_wal *w, int fd, const uint8_t *p, size_t n, uint64_t off)
{
	if (inject(w, "write") != 0) {
		return -1;
	}
	while (n > 0) {
		ssize_t k = pwrite(fd, p, n, (off_t)off);
		if (k < 0 && errno == EINTR) {
			continue;
		}
		if (k <= 0) {
			if (k == 0) {
				errno = EIO;
			}
			return -1;
		}
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

/* Reads exactly n bytes at off; 1 when the file ends first, -1 on error. */
static int pread_all(int fd, uint8_t *p, size_t n, uint64_t off)
{
	while (n > 0) {
		ssize_t k = pread(fd, p, n, (off_t)off);
		if (k < 0 && errno == EINTR) {
			continue;
		}
		if (k < 0) {
			return -1;
		}
		if (k == 0) {
			return 1;
		}
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

static int wal_sync(struct synod_wal *w, int fd, bool data_only)
{
	w->st.syncs++;
	if (inject(w, data_only ? "fdatasync" : "fsync") != 0) {
		return -1;
	}
	return data_only ? fdatasync(fd) : fsync(fd);
}

static int buf_reserve(struct synod_wal *w, size_t n)
{
	if (n <= w->buf_cap) {
		return 0;
	}
	size_t cap = w->buf_cap > 0 ? w->buf_cap : 4096u;
	while (cap < n) {
		cap *= 2;
	}
	uint8_t *b = realloc(w->buf, cap);
	if (b == NULL) {
		return SYNOD_ENOMEM;
	}
	w->buf = b;
	w->buf_cap = cap;
	return 0;
}

/* A failed write or sync: the WAL refuses everything from now on. */
static int wal_fail(struct synod_wal *w, const char *what)
{
	int e = errno;
	w->failed = true;
	synod_counter_inc(&wal_io_errors_total);
	synod_log(SYNOD_LOG_ERROR, "wal",
	          "%s in %s failed: %s; the WAL refuses further appends, "
	          "restart the process to recover from its files",
	          what, w->dir, strerror(e));
	return SYNOD_EIO;
}

/* A failed frame write or sync: besides failing, cut the file back to the
 * last acknowledged frame (best effort). After a failed fdatasync the kernel
 * may keep the unwritten pages readable; without the cut, the next open
 * could replay a frame that was never acknowledged and is not on disk, and
 * after a power loss find it damaged with later frames behind it. */
static int wal_fail_frame(struct synod_wal *w, const char *what)
{
	int e = errno;
	if (ftruncate(w->fd, (off_t)w->size) == 0) {
		(void)fdatasync(w->fd);
	}
	errno = e;
	return wal_fail(w, what);
}

/* ---- segments ---- */

static void seg_header(uint8_t out[SYNOD_WAL_SEGMENT_HEADER_BYTES], uint64_t number,
                       const uint8_t id[WAL_ID_BYTES])
{
	struct synod_wbuf b;
	synod_wbuf_init(&b, out, SYNOD_WAL_SEGMENT_HEADER_BYTES);
	synod_wbuf_bytes(&b, WAL_MAGIC, 8);
	synod_wbuf_u32(&b, SYNOD_WAL_VERSION);
	synod_wbuf_u64(&b, number);
	synod_wbuf_bytes(&b, id, WAL_ID_BYTES);
	wal_sum(out + 36, id, out, 36, NULL, 0);
}

static int seg_list_push(struct synod_wal *w, uint64_t number)
{
	if (w->seg_count >= WAL_SEGMENTS_MAX) {
		return SYNOD_ELIMIT;
	}
	w->segs[w->seg_count++] = number;
	return 0;
}

/* Creates segment number with its header, synced, and the directory synced;
 * it becomes the active segment. */
static int seg_create(struct synod_wal *w, uint64_t number, char *errmsg, size_t errmsg_len)
{
	char name[WAL_NAME_HEX + 5];
	seg_name(name, number);
	if (w->seg_count >= WAL_SEGMENTS_MAX) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ELIMIT, "%s: more than %u segments",
		                  w->dir, WAL_SEGMENTS_MAX);
	}
	int fd = openat(w->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EIO, "%s/%s: cannot create: %s", w->dir,
		                  name, strerror(errno));
	}
	if (!w->have_id) {
		randombytes_buf(w->id, sizeof w->id);
		w->have_id = true;
	}
	uint8_t h[SYNOD_WAL_SEGMENT_HEADER_BYTES];
	seg_header(h, number, w->id);
	if (pwrite_all(w, fd, h, sizeof h, 0) != 0 || wal_sync(w, fd, true) != 0 ||
	    wal_sync(w, w->dirfd, false) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return synod_errf(errmsg, errmsg_len, SYNOD_EIO,
		                  "%s/%s: cannot write its header: %s", w->dir, name, strerror(e));
	}
	if (seg_list_push(w, number) != 0) {
		close(fd);
		return synod_errf(errmsg, errmsg_len, SYNOD_ELIMIT, "%s: more than %u segments",
		                  w->dir, WAL_SEGMENTS_MAX);
	}
	if (w->fd >= 0) {
		close(w->fd);
	}
	w->fd = fd;
	w->size = sizeof h;
	w->st.segments++;
	w->st.bytes += sizeof h;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Fills w->segs with the segment numbers in the directory, ascending, and
 * checks that they are consecutive. */
static int seg_scan(struct synod_wal *w, char *errmsg, size_t errmsg_len)
{
	int fd = openat(w->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0) {
			close(fd);
		}
		return synod_errf(errmsg, errmsg_len, SYNOD_EIO, "%s: cannot list: %s", w->dir,
		                  strerror(errno));
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		uint64_t n;
		if (seg_parse(e->d_name, &n) && seg_list_push(w, n) != 0) {
			rc = synod_errf(errmsg, errmsg_len, SYNOD_ECORRUPT,
			                "%s: more than %u segment files", w->dir, WAL_SEGMENTS_MAX);
		}
	}
	closedir(d);
	if (rc != 0) {
		return rc;
	}
	qsort(w->segs, w->seg_count, sizeof *w->segs, cmp_u64);
	for (uint32_t i = 1; i < w->seg_count; i++) {
		if (w->segs[i] != w->segs[i - 1] + 1) {
			return synod_errf(errmsg, errmsg_len, SYNOD_ECORRUPT,
			                  "%s: segment %016" PRIx64 " is missing (have %016" PRIx64
			                  " and %016" PRIx64 ")",
			                  w->dir, w->segs[i - 1] + 1, w->segs[i - 1], w->segs[i]);
		}
	}
	return 0;
}

/* ---- frames ---- */

/* True when the frame at buf (avail bytes) is whole and passes its checksum;
 * its total size in *total. The index is checked by the caller. */
static bool frame_valid(const uint8_t key[WAL_ID_BYTES], const uint8_t *buf, size_t avail,
                        size_t *total)
{
	if (avail < SYNOD_WAL_FRAME_HEADER_BYTES) {
		return false;
	}
	uint32_t len = be32(buf);
	if (len > SYNOD_WAL_FRAME_BYTES_MAX || len > avail - SYNOD_WAL_FRAME_HEADER_BYTES) {
		return false;
	}
	uint8_t sum[WAL_SUM_BYTES];
	wal_sum(sum, key, buf, 12, buf + SYNOD_WAL_FRAME_HEADER_BYTES, len);
	if (sodium_memcmp(sum, buf + 12, WAL_SUM_BYTES) != 0) {
		return false;
	}
	*total = SYNOD_WAL_FRAME_HEADER_BYTES + (size_t)len;
	return true;
}

/* Replays one checked payload; SYNOD_ECORRUPT for a malformed one (a frame
 * whose checksum holds but whose content does not parse was written wrong). */
static int frame_replay(const uint8_t *p, size_t len, synod_wal_replay_fn replay, void *ctx,
                        uint32_t *records)
{
	struct synod_rbuf r;
	synod_rbuf_init(&r, p, len);
	uint32_t count = 0;
	if (synod_rbuf_u32(&r, &count) != 0 || count > SYNOD_WAL_RECORDS_MAX) {
		return SYNOD_ECORRUPT;
	}
	for (uint32_t i = 0; i < count; i++) {
		uint32_t type = 0, n = 0;
		const uint8_t *bytes = NULL;
		if (synod_rbuf_u32(&r, &type) != 0 || synod_rbuf_u32(&r, &n) != 0 ||
		    synod_rbuf_take(&r, &bytes, n) != 0) {
			return SYNOD_ECORRUPT;
		}
		if (replay != NULL) {
			int rc = replay(ctx, type, bytes, n);
			if (rc != 0) {
				return rc;
			}
		}
	}
	if (synod_rbuf_remaining(&r) != 0) {
		return SYNOD_ECORRUPT;
	}
	*records = count;
	return 0;
}

enum after { AFTER_NONE, AFTER_FRAME, AFTER_BUDGET };

/* After a bad frame at the start of tail (the rest of the last segment, n
 * bytes): is there a valid frame further on? A crash tears only the frame
 * being written, so any later frame of this WAL (keyed checksum: no bytes a
 * peer chose can pass) means damage, not a torn write; however many frames
 * the damage covers. want: the bad frame's index (0: unknown, the first frame
 * read); a later frame has an index in [want, want + n / header size]. The
 * checksums tried are bounded (records may repeat header-like bytes): past
 * the budget the answer is AFTER_BUDGET, and the caller refuses to guess. */
static enum after valid_frame_after(const uint8_t key[WAL_ID_BYTES], const uint8_t *tail, size_t n,
                                    uint64_t want)
{
	uint64_t lo = want == 0 ? 1 : want;
	uint64_t hi = want == 0 ? UINT64_MAX : want + n / SYNOD_WAL_FRAME_HEADER_BYTES;
	uint64_t budget = 8u * (uint64_t)n + (1u << 20);
	for (size_t y = 1; y + SYNOD_WAL_FRAME_HEADER_BYTES <= n; y++) {
		uint64_t index = be64(tail + y + 4);
		uint32_t len = be32(tail + y);
		size_t total;
		if (index < lo || index > hi || len > n - y - SYNOD_WAL_FRAME_HEADER_BYTES) {
			continue;
		}
		if (budget < (uint64_t)len + SYNOD_WAL_FRAME_HEADER_BYTES) {
			return AFTER_BUDGET;
		}
		budget -= (uint64_t)len + SYNOD_WAL_FRAME_HEADER_BYTES;
		if (frame_valid(key, tail + y, n - y, &total)) {
			return AFTER_FRAME;
		}
	}
	return AFTER_NONE;
}

/* Reads and replays one segment. last: it is the active segment, where a torn
 * tail is repaired. */
static int seg_load(struct synod_wal *w, uint64_t number, bool last, synod_wal_replay_fn replay,
                    void *ctx, char *errmsg, size_t errmsg_len)
{
	char name[WAL_NAME_HEX + 5];
	seg_name(name, number);
	int fd = openat(w->dirfd, name, (last ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0) {
		int e = errno;
		if (fd >= 0) {
			close(fd);
		}
		return synod_errf(errmsg, errmsg_len, SYNOD_EIO, "%s/%s: cannot open: %s", w->dir,
		                  name, strerror(e));
	}
	uint64_t size = (uint64_t)sb.st_size;
	int rc = 0;
	uint8_t h[SYNOD_WAL_SEGMENT_HEADER_BYTES] = {0}, want[SYNOD_WAL_SEGMENT_HEADER_BYTES];
	int got = pread_all(fd, h, sizeof h, 0);
	if (got < 0) {
		rc = synod_errf(errmsg, errmsg_len, SYNOD_EIO, "%s/%s: cannot read: %s", w->dir,
		                name, strerror(errno));
		goto out;
	}
	/* the first segment read gives the WAL's id; every other must carry it */
	seg_header(want, number, w->have_id ? w->id : h + 20);
	if (got == 1 || memcmp(h, want, sizeof h) != 0) {
		static const uint8_t zero[SYNOD_WAL_SEGMENT_HEADER_BYTES] = {0};
		if (last &&
		    (size < sizeof h || (size == sizeof h && memcmp(h, zero, sizeof h) == 0))) {
			/* Torn while being created (short, or its size durable before
			 * its bytes): it never held a frame. A whole header that fails
			 * its checks is corruption, below. */
			close(fd);
			synod_counter_inc(&wal_torn_total);
			synod_log(SYNOD_LOG_WARN, "wal",
			          "%s/%s: segment torn while created (%" PRIu64 " bytes); removed",
			          w->dir, name, size);
			w->st.torn_repairs++;
			w->st.torn_bytes += size;
			if (unlinkat(w->dirfd, name, 0) != 0 || wal_sync(w, w->dirfd, false) != 0) {
				return synod_errf(errmsg, errmsg_len, SYNOD_EIO,
				                  "%s/%s: cannot remove: %s", w->dir, name,
				                  strerror(errno));
			}
			w->seg_count--;
			w->removed = number;
			return 0;
		}
		synod_counter_inc(&wal_corrupt_total);
		rc =
		    synod_errf(errmsg, errmsg_len, SYNOD_ECORRUPT,
		               "%s/%s: the segment header is not a version %u synod WAL header for "
		               "segment %016" PRIx64 " of this WAL",
		               w->dir, name, SYNOD_WAL_VERSION, number);
		goto out;
	}
	if (!w->have_id) {
		memcpy(w->id, h + 20, WAL_ID_BYTES);
		w->have_id = true;
	}
	uint64_t off = sizeof h;
	while (off < size) {
		uint64_t avail64 = size - off;
		size_t avail =
		    avail64 > SYNOD_WAL_FRAME_HEADER_BYTES + (uint64_t)SYNOD_WAL_FRAME_BYTES_MAX
		        ? SYNOD_WAL_FRAME_HEADER_BYTES + (size_t)SYNOD_WAL_FRAME_BYTES_MAX
		        : (size_t)avail64;
		uint8_t fh[SYNOD_WAL_FRAME_HEADER_BYTES];
		size_t need = avail;
		if (avail >= sizeof fh) {
			if (pread_all(fd, fh, sizeof fh, off) != 0) {
				rc = synod_errf(errmsg, errmsg_len, SYNOD_EIO,
				                "%s/%s: cannot read: %s", w->dir, name,
				                strerror(errno));
				goto out;
			}
			uint32_t len = be32(fh);
			if ((uint64_t)len + SYNOD_WAL_FRAME_HEADER_BYTES <= avail) {
				need =
				    SYNOD_WAL_FRAME_HEADER_BYTES + len; /* read just this frame */
			}
		}
		if (buf_reserve(w, need) != 0) {
			rc = synod_errf(errmsg, errmsg_len, SYNOD_ENOMEM, "%s/%s: out of memory",
			                w->dir, name);
			goto out;
		}
		if (pread_all(fd, w->buf, need, off) != 0) {
			rc = synod_errf(errmsg, errmsg_len, SYNOD_EIO, "%s/%s: cannot read: %s",
			                w->dir, name, strerror(errno));
			goto out;
		}
		uint64_t expect = w->st.frames == 0 ? 0 : w->next_index;
		size_t total = 0;
		bool whole = frame_valid(w->id, w->buf, need, &total);
		uint64_t index = whole ? be64(w->buf + 4) : 0;
		if (whole && (index == 0 || (expect != 0 && index != expect))) {
			/* a whole frame out of sequence is no torn write */
			synod_counter_inc(&wal_corrupt_total);
			rc = synod_errf(errmsg, errmsg_len, SYNOD_ECORRUPT,
			                "%s/%s: frame at offset %" PRIu64 " has index %" PRIu64
			                ", expected %" PRIu64 "; the WAL is left as it is",
			                w->dir, name, off, index, expect);
			goto out;
		}
		if (!whole) {
			bool torn = last && avail64 == avail;
			if (torn && need < avail) {
				/* the claimed length fit: look at everything after it too */
				if (buf_reserve(w, avail) != 0 ||
				    pread_all(fd, w->buf, avail, off) != 0) {
					rc =
					    synod_errf(errmsg, errmsg_len, SYNOD_EIO,
					               "%s/%s: cannot read the tail", w->dir, name);
					goto out;
				}
			}
			enum after after = AFTER_NONE;
			if (torn) {
				after = valid_frame_after(w->id, w->buf, avail, expect);
				torn = after == AFTER_NONE;
			}
			if (!torn) {
				synod_counter_inc(&wal_corrupt_total);
				rc = synod_errf(errmsg, errmsg_len, SYNOD_ECORRUPT,
				                "%s/%s: the frame at offset %" PRIu64
				                " fails its checksum or length check and is not "
				                "the torn end of "
				                "the log (%" PRIu64
				                " bytes follow it%s); the WAL is left as it is",
				                w->dir, name, off, avail64,
				                after == AFTER_FRAME
				                    ? ", with a valid frame among them"
				                : after == AFTER_BUDGET
				                    ? ", too many frame-like headers to rule "
				                      "out a valid frame among them"
				                    : ", which is not the last segment or more "
				                      "than one frame could leave");
				goto out;
			}
			if (ftruncate(fd, (off_t)off) != 0 || wal_sync(w, fd, true) != 0) {
				rc =
				    synod_errf(errmsg, errmsg_len, SYNOD_EIO,
				               "%s/%s: cannot cut the torn tail at %" PRIu64 ": %s",
				               w->dir, name, off, strerror(errno));
				goto out;
			}
			synod_counter_inc(&wal_torn_total);
			synod_log(SYNOD_LOG_WARN, "wal",
			          "%s/%s: torn frame at offset %" PRIu64 " (%" PRIu64
			          " bytes) cut off: it was never acknowledged",
			          w->dir, name, off, avail64);
			w->st.torn_repairs++;
			w->st.torn_bytes += avail64;
			size = off;
			break;
		}
		uint32_t records = 0;
		rc = frame_replay(w->buf + SYNOD_WAL_FRAME_HEADER_BYTES,
		                  total - SYNOD_WAL_FRAME_HEADER_BYTES, replay, ctx, &records);
		if (rc == SYNOD_ECORRUPT) {
			synod_counter_inc(&wal_corrupt_total);
			rc = synod_errf(errmsg, errmsg_len, SYNOD_ECORRUPT,
			                "%s/%s: frame at offset %" PRIu64
			                " passes its checksum but its records do not parse",
			                w->dir, name, off);
		} else if (rc != 0) {
			rc = synod_errf(errmsg, errmsg_len, rc,
			                "%s/%s: replaying the frame at offset %" PRIu64
			                " failed: %s",
			                w->dir, name, off, synod_strerror(rc));
		}
		if (rc != 0) {
			goto out;
		}
		w->next_index = index + 1;
		w->st.frames++;
		w->st.records += records;
		off += total;
	}
	w->st.segments++;
	w->st.bytes += size;
	if (last) {
		w->fd = fd;
		w->size = size;
		return 0;
	}
out:
	close(fd);
	return rc;
}

/* ---- public ---- */

static int wal_open_dir(struct synod_wal *w, const char *dir, char *errmsg, size_t errmsg_len)
{
	if (strlen(dir) >= sizeof w->dir) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ELIMIT, "%s: path longer than %u bytes",
		                  dir, SYNOD_WAL_PATH_MAX - 1u);
	}
	snprintf(w->dir, sizeof w->dir, "%s", dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EIO, "%s: cannot create: %s", dir,
		                  strerror(errno));
	}
	/* The directory's own entry must be durable too, also when an earlier
	 * run created it and crashed before syncing its parent: every open. */
	char parent[SYNOD_WAL_PATH_MAX];
	snprintf(parent, sizeof parent, "%s", dir);
	size_t plen = strlen(parent);
	while (plen > 1 && parent[plen - 1] == '/') {
		parent[--plen] = '\0';
	}
	char *slash = strrchr(parent, '/');
	if (slash == parent) {
		slash[1] = '\0';
	} else if (slash != NULL) {
		*slash = '\0';
	} else {
		snprintf(parent, sizeof parent, ".");
	}
	int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0 || wal_sync(w, pfd, false) != 0) {
		int e = errno;
		if (pfd >= 0) {
			close(pfd);
		}
		return synod_errf(errmsg, errmsg_len, SYNOD_EIO, "%s: cannot sync: %s", parent,
		                  strerror(e));
	}
	close(pfd);
	w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dirfd < 0) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EIO, "%s: cannot open: %s", dir,
		                  strerror(errno));
	}
	w->lockfd = openat(w->dirfd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (w->lockfd < 0) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EIO, "%s/LOCK: cannot open: %s", dir,
		                  strerror(errno));
	}
	if (flock(w->lockfd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK) {
			return synod_errf(
			    errmsg, errmsg_len, SYNOD_EEXIST,
			    "%s: another process has this WAL open (%s/LOCK is locked)", dir, dir);
		}
		return synod_errf(errmsg, errmsg_len, SYNOD_EIO, "%s/LOCK: cannot lock: %s", dir,
		                  strerror(errno));
	}
	return 0;
}

int synod_wal_open(struct synod_wal **out, const char *dir, synod_wal_replay_fn replay, void *ctx,
                   char *errmsg, size_t errmsg_len)
{
	*out = NULL;
	if (sodium_init() < 0) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ECRYPTO,
		                  "libsodium failed to initialise");
	}
	struct synod_wal *w = calloc(1, sizeof *w);
	uint64_t *segs = calloc(WAL_SEGMENTS_MAX, sizeof *segs);
	if (w == NULL || segs == NULL) {
		free(w);
		free(segs);
		return synod_errf(errmsg, errmsg_len, SYNOD_ENOMEM, "%s: out of memory", dir);
	}
	w->segs = segs;
	w->dirfd = w->lockfd = w->fd = -1;
	w->next_index = 1;
	int rc = wal_open_dir(w, dir, errmsg, errmsg_len);
	if (rc == 0) {
		rc = seg_scan(w, errmsg, errmsg_len);
	}
	for (uint32_t i = 0; rc == 0 && i < w->seg_count; i++) {
		rc =
		    seg_load(w, w->segs[i], i + 1 == w->seg_count, replay, ctx, errmsg, errmsg_len);
	}
	if (rc == 0 && w->fd < 0) {
		/* no segment yet, or the only one was torn while created */
		uint64_t next = w->seg_count > 0  ? w->segs[w->seg_count - 1] + 1
		                : w->removed != 0 ? w->removed
		                                  : 1;
		rc = seg_create(w, next, errmsg, errmsg_len);
	}
	if (rc != 0) {
		synod_wal_close(w);
		return rc;
	}
	w->stage_index = w->next_index;
	*out = w;
	return 0;
}

/* Encodes one frame (index w->stage_index) at the end of the staging buffer. */
static int stage_frame(struct synod_wal *w, const struct synod_wal_record *records, uint32_t count,
                       uint64_t payload)
{
	size_t total = SYNOD_WAL_FRAME_HEADER_BYTES + (size_t)payload;
	if (buf_reserve(w, w->stage_len + total) != 0) {
		return SYNOD_ENOMEM;
	}
	uint8_t *f = w->buf + w->stage_len;
	struct synod_wbuf b;
	synod_wbuf_init(&b, f, total);
	synod_wbuf_u32(&b, (uint32_t)payload);
	synod_wbuf_u64(&b, w->stage_index);
	(void)synod_wbuf_reserve(&b, WAL_SUM_BYTES);
	synod_wbuf_u32(&b, count);
	for (uint32_t i = 0; i < count; i++) {
		synod_wbuf_u32(&b, records[i].type);
		synod_wbuf_u32(&b, (uint32_t)records[i].len);
		if (records[i].len > 0) {
			synod_wbuf_bytes(&b, records[i].bytes, records[i].len);
		}
	}
	SYNOD_ASSERT(b.err == 0 && b.len == total);
	wal_sum(f + 12, w->id, f, 12, f + SYNOD_WAL_FRAME_HEADER_BYTES, (size_t)payload);
	w->stage_len += total;
	w->stage_index++;
	w->stage_frames++;
	w->stage_records += count;
	return 0;
}

int synod_wal_stage(struct synod_wal *w, const struct synod_wal_record *records, uint32_t count,
                    bool truncate_before)
{
	if (w->failed) {
		return SYNOD_EIO;
	}
	if (count == 0) {
		return 0;
	}
	if (count > SYNOD_WAL_RECORDS_MAX) {
		return SYNOD_ELIMIT;
	}
	uint64_t payload = 4;
	for (uint32_t i = 0; i < count; i++) {
		if (records[i].len > SYNOD_WAL_FRAME_BYTES_MAX) {
			return SYNOD_ELIMIT;
		}
		payload += WAL_RECORD_HEADER + (uint64_t)records[i].len;
	}
	if (payload > SYNOD_WAL_FRAME_BYTES_MAX) {
		return SYNOD_ELIMIT;
	}
	if (truncate_before) {
		/* Every earlier update may be discarded once this one is durable
		 * (pbft.h): the staged frames before it need never be written. A
		 * crash before the flush completes leaves the old segments, which
		 * lack only updates whose messages were never sent. */
		w->stage_len = 0;
		w->stage_frames = 0;
		w->stage_records = 0;
		w->stage_index = w->next_index;
		w->stage_truncate = true;
	}
	uint64_t total = SYNOD_WAL_FRAME_HEADER_BYTES + payload;
	if (w->stage_len > 0 && w->stage_len + total > SYNOD_WAL_GROUP_BYTES_MAX) {
		return SYNOD_EFULL;
	}
	return stage_frame(w, records, count, payload);
}

/* After a truncating frame is durable: the older segments go, oldest first,
 * each removal synced before the next (POSIX does not order unlinks within
 * one directory sync), so a crash leaves a consecutive run. old is the
 * number of segments before the new one. */
static int flush_unlink_old(struct synod_wal *w, uint32_t old)
{
	uint32_t removed = 0;
	int rc = 0;
	for (uint32_t i = 0; i < old; i++) {
		char name[WAL_NAME_HEX + 5];
		seg_name(name, w->segs[i]);
		struct stat sb;
		off_t sz = fstatat(w->dirfd, name, &sb, 0) == 0 ? sb.st_size : 0;
		if (unlinkat(w->dirfd, name, 0) != 0) {
			synod_counter_inc(&wal_unlink_errors_total);
			synod_log(SYNOD_LOG_WARN, "wal",
			          "%s/%s: cannot remove after truncation: %s; kept (it is "
			          "replayed harmlessly), retried at the next truncation",
			          w->dir, name, strerror(errno));
			break;
		}
		w->st.bytes -= (uint64_t)sz;
		w->st.segments--;
		removed++;
		if (wal_sync(w, w->dirfd, false) != 0) {
			rc = wal_fail(w, "fsync of the directory");
			break;
		}
	}
	if (removed > 0) {
		memmove(w->segs, w->segs + removed, (w->seg_count - removed) * sizeof *w->segs);
		w->seg_count -= removed;
	}
	return rc;
}

static void stage_clear(struct synod_wal *w)
{
	w->stage_len = 0;
	w->stage_frames = 0;
	w->stage_records = 0;
	w->stage_truncate = false;
	w->stage_index = w->next_index;
}

int synod_wal_flush(struct synod_wal *w)
{
	if (w->failed) {
		return SYNOD_EIO;
	}
	if (w->stage_len == 0) {
		return 0;
	}
	bool truncate = w->stage_truncate;
	uint32_t old = w->seg_count;
	if (truncate) {
		char err[256] = "";
		if (seg_create(w, w->segs[w->seg_count - 1] + 1, err, sizeof err) != 0) {
			synod_log(SYNOD_LOG_ERROR, "wal", "%s", err);
			errno = EIO;
			return wal_fail(w, "starting a segment");
		}
	}
	if (pwrite_all(w, w->fd, w->buf, w->stage_len, w->size) != 0) {
		return wal_fail_frame(w, "write");
	}
	if (wal_sync(w, w->fd, true) != 0) {
		return wal_fail_frame(w, "fdatasync");
	}
	w->size += w->stage_len;
	w->st.bytes += w->stage_len;
	w->next_index = w->stage_index;
	w->st.frames += w->stage_frames;
	w->st.records += w->stage_records;
	w->st.groups++;
	stage_clear(w);
	if (!truncate) {
		return 0;
	}
	w->st.truncations++;
	return flush_unlink_old(w, old);
}

int synod_wal_append(struct synod_wal *w, const struct synod_wal_record *records, uint32_t count,
                     bool truncate_before)
{
	if (w->failed) {
		return SYNOD_EIO;
	}
	/* One frame, one write, one fdatasync: a staged group of one. */
	SYNOD_ASSERT(w->stage_len == 0);
	int rc = synod_wal_stage(w, records, count, truncate_before);
	if (rc != 0) {
		return rc;
	}
	return synod_wal_flush(w);
}

uint64_t synod_wal_staged_bytes(const struct synod_wal *w)
{
	return w->stage_len;
}

bool synod_wal_failed(const struct synod_wal *w)
{
	return w->failed;
}

void synod_wal_stats_get(const struct synod_wal *w, struct synod_wal_stats *st)
{
	*st = w->st;
}

void synod_wal_inject_faults(struct synod_wal *w, int (*fail)(void *ctx, const char *op), void *ctx)
{
	w->fault = fail;
	w->fault_ctx = ctx;
}

void synod_wal_close(struct synod_wal *w)
{
	if (w == NULL) {
		return;
	}
	if (w->fd >= 0) {
		close(w->fd);
	}
	if (w->lockfd >= 0) {
		close(w->lockfd); /* releases the flock */
	}
	if (w->dirfd >= 0) {
		close(w->dirfd);
	}
	free(w->segs);
	free(w->buf);
	free(w);
}

/* The double-sign guard (format and rules in guard.h). */
#include "voter/guard.h"

#include "common/assert.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GUARD_MAGIC        "SYNODVG1"
#define GUARD_VERSION      1u
#define GUARD_HEADER_BYTES 56u         /* magic 8, version 4, zero 4, floor 8, SHA-256 32 */
#define GUARD_REC_MAGIC    0x53564752u /* "SVGR" */
#define GUARD_REC_HEAD     12u         /* magic, body_len, head_check */
#define GUARD_REC_FIXED    48u         /* request id, epoch, deadline */
#define GUARD_REC_SUM      32u
#define GUARD_REC_BYTES_MAX                                                                        \
	(GUARD_REC_HEAD + GUARD_REC_FIXED + VOTER_GUARD_ENVELOPE_BYTES_MAX + GUARD_REC_SUM)
#define GUARD_FILE_BYTES_MAX                                                                       \
	(GUARD_HEADER_BYTES + (size_t)VOTER_GUARD_RECORDS_MAX * GUARD_REC_BYTES_MAX)
#define GUARD_PATH_BYTES_MAX 4096u

SYNOD_COUNTER(c_resent, "synod_voter_guard_resent_total", "recorded votes sent again");
SYNOD_COUNTER(c_conflicts, "synod_voter_guard_conflicts_total",
              "signatures refused: a different vote was recorded for the request and epoch");
SYNOD_COUNTER(c_torn, "synod_voter_guard_torn_repairs_total", "torn last guard records cut off");
SYNOD_COUNTER(c_corrupt, "synod_voter_guard_corrupt_total", "guard files refused as damaged");

struct guard_rec {
	uint8_t request_id[SYNOD_HASH_BYTES];
	uint64_t epoch;
	uint64_t deadline_ms;
	uint16_t env_len;
	char env[VOTER_GUARD_ENVELOPE_BYTES_MAX + 1];
};

struct voter_guard {
	char path[GUARD_PATH_BYTES_MAX];
	int fd;
	bool failed; /* a write or fsync failed: no retry, as the WAL */
	uint32_t records_max;
	uint32_t count;
	uint64_t floor_ms;
	struct voter_guard_stats stats;
	struct guard_rec *recs; /* records_max */
};

const char *voter_guard_strerror(int err)
{
	switch (err) {
	case VOTER_EGUARD_CONFLICT:
		return "a different vote is already signed for this request and epoch";
	case VOTER_EGUARD_PRUNED:
		return "the request's deadline is at or before the guard's pruned horizon";
	default:
		return synod_strerror(err);
	}
}

static void guard_header(uint8_t out[GUARD_HEADER_BYTES], uint64_t floor_ms)
{
	struct synod_wbuf w;
	synod_wbuf_init(&w, out, GUARD_HEADER_BYTES);
	synod_wbuf_bytes(&w, GUARD_MAGIC, 8);
	synod_wbuf_u32(&w, GUARD_VERSION);
	synod_wbuf_u32(&w, 0);
	synod_wbuf_u64(&w, floor_ms);
	synod_sha256(out + 24, out, 24);
}

static uint32_t guard_head_check(uint32_t body_len)
{
	uint8_t head[8];
	uint8_t sum[SYNOD_HASH_BYTES];
	struct synod_wbuf w;
	synod_wbuf_init(&w, head, sizeof head);
	synod_wbuf_u32(&w, GUARD_REC_MAGIC);
	synod_wbuf_u32(&w, body_len);
	synod_sha256(sum, head, sizeof head);
	return (uint32_t)sum[0] << 24 | (uint32_t)sum[1] << 16 | (uint32_t)sum[2] << 8 | sum[3];
}

/* Serialises r into out (GUARD_REC_BYTES_MAX); returns its size. */
static size_t guard_rec_encode(uint8_t *out, const struct guard_rec *r)
{
	uint32_t body_len = GUARD_REC_FIXED + r->env_len;
	struct synod_wbuf w;
	synod_wbuf_init(&w, out, GUARD_REC_BYTES_MAX);
	synod_wbuf_u32(&w, GUARD_REC_MAGIC);
	synod_wbuf_u32(&w, body_len);
	synod_wbuf_u32(&w, guard_head_check(body_len));
	synod_wbuf_bytes(&w, r->request_id, SYNOD_HASH_BYTES);
	synod_wbuf_u64(&w, r->epoch);
	synod_wbuf_u64(&w, r->deadline_ms);
	synod_wbuf_bytes(&w, r->env, r->env_len);
	uint8_t *sum = synod_wbuf_reserve(&w, GUARD_REC_SUM);
	SYNOD_ASSERT(w.err == 0 && sum != NULL);
	synod_sha256(sum, out, w.len - GUARD_REC_SUM);
	return w.len;
}

static int guard_fsync_dir(const char *path)
{
	char copy[GUARD_PATH_BYTES_MAX];
	snprintf(copy, sizeof copy, "%s", path);
	int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		return -1;
	}
	int rc = fsync(dfd);
	close(dfd);
	return rc;
}

static int guard_write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes header + records to path.new (O_EXCL after removing a stale one)
 * and fsyncs it; *tmp gets that path. */
static int guard_file_write(const struct voter_guard *g, const char *path, uint64_t floor_ms,
                            char *tmp, size_t tmp_cap)
{
	snprintf(tmp, tmp_cap, "%s.new", path);
	(void)unlink(tmp); /* a leftover of a crashed prune or create: never the guard itself */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		return -1;
	}
	uint8_t head[GUARD_HEADER_BYTES];
	guard_header(head, floor_ms);
	int rc = guard_write_all(fd, head, sizeof head);
	static uint8_t rec[GUARD_REC_BYTES_MAX];
	for (uint32_t i = 0; rc == 0 && g != NULL && i < g->count; i++) {
		size_t n = guard_rec_encode(rec, &g->recs[i]);
		rc = guard_write_all(fd, rec, n);
	}
	if (rc == 0) {
		rc = fsync(fd);
	}
	close(fd);
	return rc;
}

int voter_guard_create(const char *path, char *errmsg, size_t errmsg_len)
{
	char tmp[GUARD_PATH_BYTES_MAX + 8];
	if (strlen(path) >= GUARD_PATH_BYTES_MAX) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EINVAL, "guard path too long");
	}
	if (guard_file_write(NULL, path, 0, tmp, sizeof tmp) != 0) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EIO, "%s: %s", tmp, strerror(errno));
	}
	int rc = link(tmp, path); /* unlike rename, never replaces an existing guard */
	int e = errno;
	(void)unlink(tmp);
	if (rc != 0) {
		return synod_errf(errmsg, errmsg_len, e == EEXIST ? SYNOD_EEXIST : SYNOD_EIO,
		                  "%s: %s", path,
		                  e == EEXIST ? "exists, not overwritten" : strerror(e));
	}
	if (guard_fsync_dir(path) != 0) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EIO, "%s: fsync of the directory: %s",
		                  path, strerror(errno));
	}
	return 0;
}

static int guard_corrupt(const struct voter_guard *g, size_t off, const char *what, char *errmsg,
                         size_t errmsg_len)
{
	synod_counter_inc(&c_corrupt);
	synod_log(SYNOD_LOG_ERROR, "guard", "file=%s offset=%zu msg=\"%s\"", g->path, off, what);
	return synod_errf(errmsg, errmsg_len, SYNOD_ECORRUPT,
	                  "%s: offset %zu: %s; refusing to vote: the guard never guesses what was "
	                  "signed (restore the file or inspect it)",
	                  g->path, off, what);
}

/* The record body at p (body_len bytes) into r; NULL or what is wrong. */
static const char *guard_rec_decode(struct guard_rec *r, const uint8_t *p, size_t body_len)
{
	struct synod_rbuf rb;
	synod_rbuf_init(&rb, p, body_len);
	(void)synod_rbuf_copy(&rb, r->request_id, SYNOD_HASH_BYTES);
	(void)synod_rbuf_u64(&rb, &r->epoch);
	(void)synod_rbuf_u64(&rb, &r->deadline_ms);
	r->env_len = (uint16_t)(body_len - GUARD_REC_FIXED);
	(void)synod_rbuf_copy(&rb, r->env, r->env_len);
	r->env[r->env_len] = '\0';
	if (synod_rbuf_finish(&rb) != 0) {
		return "record body does not decode";
	}
	struct synod_vote_envelope env;
	if (synod_vote_decode(&env, r->env, r->env_len, NULL, 0) != 0) {
		return "recorded envelope is not a valid vote";
	}
	if (memcmp(env.vote.request_id, r->request_id, SYNOD_HASH_BYTES) != 0 ||
	    env.vote.epoch != r->epoch) {
		return "recorded envelope names another request or epoch";
	}
	return NULL;
}

static int guard_find(const struct voter_guard *g, const uint8_t *request_id, uint64_t epoch)
{
	for (uint32_t i = 0; i < g->count; i++) {
		if (g->recs[i].epoch == epoch &&
		    memcmp(g->recs[i].request_id, request_id, SYNOD_HASH_BYTES) == 0) {
			return (int)i;
		}
	}
	return -1;
}

/* One record at buf[off..size). 0 and *next, 1 for a torn last record, or
 * an error. */
static int guard_parse_rec(struct voter_guard *g, const uint8_t *buf, size_t size, size_t off,
                           size_t *next, char *errmsg, size_t errmsg_len)
{
	static const uint8_t magic[4] = {0x53, 0x56, 0x47, 0x52};
	size_t rem = size - off;
	if (memcmp(buf + off, magic, rem < 4 ? rem : 4) != 0) {
		return guard_corrupt(g, off, "bad record magic", errmsg, errmsg_len);
	}
	if (rem < GUARD_REC_HEAD) {
		return 1;
	}
	struct synod_rbuf rb;
	uint32_t body_len = 0;
	uint32_t check = 0;
	synod_rbuf_init(&rb, buf + off + 4, 8);
	(void)synod_rbuf_u32(&rb, &body_len);
	(void)synod_rbuf_u32(&rb, &check);
	if (check != guard_head_check(body_len) || body_len <= GUARD_REC_FIXED ||
	    body_len > GUARD_REC_FIXED + VOTER_GUARD_ENVELOPE_BYTES_MAX) {
		return guard_corrupt(g, off, "record length fails its check", errmsg, errmsg_len);
	}
	size_t total = GUARD_REC_HEAD + body_len + GUARD_REC_SUM;
	if (rem < total) {
		return 1;
	}
	uint8_t sum[SYNOD_HASH_BYTES];
	synod_sha256(sum, buf + off, total - GUARD_REC_SUM);
	if (memcmp(sum, buf + off + total - GUARD_REC_SUM, GUARD_REC_SUM) != 0) {
		return guard_corrupt(g, off, "record checksum mismatch", errmsg, errmsg_len);
	}
	if (g->count == g->records_max) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ELIMIT, "%s: more than %u records",
		                  g->path, g->records_max);
	}
	struct guard_rec *r = &g->recs[g->count];
	const char *bad = guard_rec_decode(r, buf + off + GUARD_REC_HEAD, body_len);
	if (bad == NULL && guard_find(g, r->request_id, r->epoch) >= 0) {
		bad = "a request and epoch recorded twice";
	}
	if (bad != NULL) {
		return guard_corrupt(g, off, bad, errmsg, errmsg_len);
	}
	g->count++;
	*next = off + total;
	return 0;
}

static int guard_parse_header(struct voter_guard *g, const uint8_t *buf, size_t size, char *errmsg,
                              size_t errmsg_len)
{
	if (size < GUARD_HEADER_BYTES) {
		return guard_corrupt(g, size, "file shorter than its header", errmsg, errmsg_len);
	}
	uint8_t want[GUARD_HEADER_BYTES];
	struct synod_rbuf rb;
	uint32_t version = 0;
	synod_rbuf_init(&rb, buf + 8, 16);
	(void)synod_rbuf_u32(&rb, &version);
	(void)synod_rbuf_u32(&rb, &version); /* the zero word */
	(void)synod_rbuf_u64(&rb, &g->floor_ms);
	guard_header(want, g->floor_ms);
	if (memcmp(buf, GUARD_MAGIC, 8) != 0) {
		return guard_corrupt(g, 0, "wrong magic: not a synod guard file", errmsg,
		                     errmsg_len);
	}
	if (memcmp(buf, want, GUARD_HEADER_BYTES) != 0) {
		return guard_corrupt(g, 8, "header fails its checksum or has an unknown version",
		                     errmsg, errmsg_len);
	}
	return 0;
}

/* Reads the file (bounded) into a malloc'd buffer. */
static int guard_read(struct voter_guard *g, uint8_t **buf, size_t *size, char *errmsg,
                      size_t errmsg_len)
{
	struct stat st;
	if (fstat(g->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EIO, "%s: not a regular file", g->path);
	}
	if ((uint64_t)st.st_size > GUARD_FILE_BYTES_MAX) {
		return guard_corrupt(g, GUARD_FILE_BYTES_MAX, "file larger than any guard can be",
		                     errmsg, errmsg_len);
	}
	*size = (size_t)st.st_size;
	*buf = malloc(*size + 1);
	if (*buf == NULL) {
		return SYNOD_ENOMEM;
	}
	size_t got = 0;
	while (got < *size) {
		ssize_t r = pread(g->fd, *buf + got, *size - got, (off_t)got);
		if (r <= 0 && !(r < 0 && errno == EINTR)) {
			return synod_errf(errmsg, errmsg_len, SYNOD_EIO, "%s: read failed",
			                  g->path);
		}
		got += r > 0 ? (size_t)r : 0;
	}
	return 0;
}

/* Parses everything; a torn last record is cut off and made durable. */
static int guard_load(struct voter_guard *g, char *errmsg, size_t errmsg_len)
{
	uint8_t *buf = NULL;
	size_t size = 0;
	int rc = guard_read(g, &buf, &size, errmsg, errmsg_len);
	if (rc == 0) {
		rc = guard_parse_header(g, buf, size, errmsg, errmsg_len);
	}
	size_t off = GUARD_HEADER_BYTES;
	while (rc == 0 && off < size) {
		rc = guard_parse_rec(g, buf, size, off, &off, errmsg, errmsg_len);
	}
	free(buf);
	if (rc != 1) {
		return rc;
	}
	synod_log(SYNOD_LOG_WARN, "guard",
	          "file=%s offset=%zu cut=%zu msg=\"torn last record cut off: its append never "
	          "completed, so its signature never left\"",
	          g->path, off, size - off);
	if (ftruncate(g->fd, (off_t)off) != 0 || fsync(g->fd) != 0) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EIO, "%s: cutting the torn record: %s",
		                  g->path, strerror(errno));
	}
	synod_counter_inc(&c_torn);
	g->stats.torn_repairs++;
	return 0;
}

int voter_guard_open(struct voter_guard **out, const char *path, uint32_t records_max, char *errmsg,
                     size_t errmsg_len)
{
	*out = NULL;
	if (records_max == 0 || records_max > VOTER_GUARD_RECORDS_MAX ||
	    strlen(path) >= GUARD_PATH_BYTES_MAX) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EINVAL,
		                  "guard: records_max must be 1..%u and the path shorter than %u",
		                  VOTER_GUARD_RECORDS_MAX, GUARD_PATH_BYTES_MAX);
	}
	struct voter_guard *g = calloc(1, sizeof *g);
	if (g == NULL || (g->recs = calloc(records_max, sizeof *g->recs)) == NULL) {
		free(g);
		return SYNOD_ENOMEM;
	}
	snprintf(g->path, sizeof g->path, "%s", path);
	g->records_max = records_max;
	g->fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
	int rc = 0;
	if (g->fd < 0) {
		rc =
		    synod_errf(errmsg, errmsg_len, errno == ENOENT ? SYNOD_ENOTFOUND : SYNOD_EIO,
		               "%s: %s (a voter's guard file is made once, when it is provisioned)",
		               path, strerror(errno));
	} else {
		rc = guard_load(g, errmsg, errmsg_len);
	}
	if (rc != 0) {
		voter_guard_close(g);
		return rc;
	}
	*out = g;
	return 0;
}

/* A recorded vote for v's (request, epoch): the same one again, or a refusal. */
static int guard_recorded(struct voter_guard *g, const struct guard_rec *r, const char *vote,
                          size_t vote_len, char *out, size_t cap, size_t *len, bool *resent,
                          char *errmsg, size_t errmsg_len)
{
	struct synod_vote_envelope env;
	int rc = synod_vote_decode(&env, r->env, r->env_len, NULL, 0);
	SYNOD_ASSERT(rc == 0); /* checked at load and before append */
	if (env.signed_len != vote_len || memcmp(r->env + env.signed_offset, vote, vote_len) != 0) {
		char id[17];
		if (synod_hex_encode(id, sizeof id, r->request_id, 8) != 0) {
			id[0] = '\0';
		}
		g->stats.conflicts++;
		synod_counter_inc(&c_conflicts);
		synod_log(SYNOD_LOG_ERROR, "guard",
		          "request=%s epoch=%llu msg=\"refused: differs\"", id,
		          (unsigned long long)r->epoch);
		return synod_errf(
		    errmsg, errmsg_len, VOTER_EGUARD_CONFLICT,
		    "request %s... epoch %llu: a different vote (%s) is already signed; "
		    "refusing to sign another",
		    id, (unsigned long long)r->epoch,
		    env.vote.verdict == SYNOD_VERDICT_APPROVE ? "APPROVE" : "REJECT");
	}
	if (cap <= r->env_len) {
		return SYNOD_ELIMIT;
	}
	memcpy(out, r->env, (size_t)r->env_len + 1);
	*len = r->env_len;
	*resent = true;
	g->stats.resent++;
	synod_counter_inc(&c_resent);
	return 0;
}

/* Appends r and makes it durable; any failure fails the guard for good. */
static int guard_append(struct voter_guard *g, const struct guard_rec *r, char *errmsg,
                        size_t errmsg_len)
{
	static uint8_t buf[GUARD_REC_BYTES_MAX];
	size_t n = guard_rec_encode(buf, r);
	if (guard_write_all(g->fd, buf, n) != 0 || fdatasync(g->fd) != 0) {
		g->failed = true; /* after a failed fsync the page cache cannot be trusted */
		return synod_errf(errmsg, errmsg_len, SYNOD_EIO,
		                  "%s: append: %s; vote not released, restart the voter", g->path,
		                  strerror(errno));
	}
	return 0;
}

int voter_guard_sign(struct voter_guard *g, struct synod_signer *s, const struct synod_vote *v,
                     uint64_t deadline_ms, char *out, size_t cap, size_t *len, bool *resent,
                     char *errmsg, size_t errmsg_len)
{
	char vote[SYNOD_APP_VOTE_BYTES_MAX + 1];
	size_t vote_len = 0;
	*len = 0;
	*resent = false;
	if (g->failed) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ESTATE, "%s: failed earlier", g->path);
	}
	if (deadline_ms <= g->floor_ms) {
		return synod_errf(errmsg, errmsg_len, VOTER_EGUARD_PRUNED,
		                  "deadline %llu is at or before the pruned horizon %llu",
		                  (unsigned long long)deadline_ms, (unsigned long long)g->floor_ms);
	}
	int rc = synod_vote_encode(v, vote, sizeof vote, &vote_len, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	int i = guard_find(g, v->request_id, v->epoch);
	if (i >= 0) {
		return guard_recorded(g, &g->recs[i], vote, vote_len, out, cap, len, resent, errmsg,
		                      errmsg_len);
	}
	if (g->count == g->records_max) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EFULL, "%s: %u records: prune first",
		                  g->path, g->records_max);
	}
	struct guard_rec *r = &g->recs[g->count];
	size_t env_len = 0;
	rc = synod_vote_sign(s, v, r->env, sizeof r->env, &env_len, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	memcpy(r->request_id, v->request_id, SYNOD_HASH_BYTES);
	r->epoch = v->epoch;
	r->deadline_ms = deadline_ms;
	r->env_len = (uint16_t)env_len;
	rc = cap > env_len ? guard_append(g, r, errmsg, errmsg_len) : SYNOD_ELIMIT;
	if (rc != 0) {
		return rc;
	}
	g->count++;
	g->stats.signed_new++;
	memcpy(out, r->env, env_len + 1);
	*len = env_len;
	return 0;
}

int voter_guard_prune(struct voter_guard *g, uint64_t log_time_ms, char *errmsg, size_t errmsg_len)
{
	if (g->failed) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ESTATE, "%s: failed earlier", g->path);
	}
	uint64_t floor_ms = log_time_ms > g->floor_ms ? log_time_ms : g->floor_ms;
	uint32_t kept = 0;
	for (uint32_t i = 0; i < g->count; i++) {
		if (g->recs[i].deadline_ms > floor_ms) {
			g->recs[kept++] = g->recs[i];
		}
	}
	g->count = kept;
	char tmp[GUARD_PATH_BYTES_MAX + 8];
	int fd = -1;
	if (guard_file_write(g, g->path, floor_ms, tmp, sizeof tmp) != 0 ||
	    rename(tmp, g->path) != 0 || guard_fsync_dir(g->path) != 0 ||
	    (fd = open(g->path, O_RDWR | O_APPEND | O_CLOEXEC)) < 0) {
		g->failed = true; /* memory no longer matches the file: stop */
		return synod_errf(errmsg, errmsg_len, SYNOD_EIO, "%s: prune: %s", g->path,
		                  strerror(errno));
	}
	close(g->fd);
	g->fd = fd;
	g->floor_ms = floor_ms;
	return 0;
}

void voter_guard_stats_get(const struct voter_guard *g, struct voter_guard_stats *out)
{
	*out = g->stats;
	out->records = g->count;
	out->floor_ms = g->floor_ms;
}

void voter_guard_close(struct voter_guard *g)
{
	if (g == NULL) {
		return;
	}
	if (g->fd >= 0) {
		close(g->fd);
	}
	free(g->recs);
	free(g);
}

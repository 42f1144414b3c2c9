/* The write-ahead log: a directory of append-only segment files holding the
 * PBFT core's records, one checksummed frame per update (pbft.h: "append
 * update.records to durable storage as ONE atomic write and fsync it").
 *
 * Layout of DIR:
 *   LOCK                     flock()ed while open: one process per WAL
 *   0000000000000001.wal     segments, numbered from 1, hexadecimal
 *
 * A segment: a 52-byte header (magic "SYNODWAL", u32 version, u64 segment
 * number, the WAL's 16-byte random id, then a 16-byte BLAKE2b of those 36
 * bytes keyed with the id), then frames. A frame: u32 payload length, u64
 * frame index (1, 2, ... across segments), 16-byte BLAKE2b keyed with the id
 * over length, index and payload; then the payload: u32 record count, then
 * per record u32 type, u32 length, bytes. Integers big-endian. The key means
 * that bytes from a peer (records carry peers' messages) can never pass for a
 * frame of this WAL when the log is scanned after a crash.
 *
 * Appending writes one frame with one write() and fdatasync()s it. Group
 * commit stages the frames of several updates (synod_wal_stage) and writes
 * them all with one write() and one fdatasync() (synod_wal_flush): each
 * update is still its own frame, so a crash recovers a prefix of whole
 * updates, never part of one. An update
 * that carries a truncate_before record (a stable checkpoint) starts a new
 * segment: the segment is written and synced, the directory synced, then
 * every older segment is unlinked and the directory synced again. A crash at
 * any point leaves either the old segments (all records, which the core may
 * replay: it keeps nothing it cannot re-derive) or the new one.
 *
 * Opening replays every record, in write order, to a callback. A crash can
 * tear only the last frame of the last segment: a frame there that is short
 * or fails its checksum, with no valid frame after it, is cut off (counted,
 * logged) and the file truncated. Anything else that does not check is
 * corruption: open fails with SYNOD_ECORRUPT and a message naming the
 * segment, offset and problem, and the WAL is left untouched for an operator.
 *
 * An I/O error on append (write or fdatasync) leaves the WAL failed: every
 * later call returns SYNOD_EIO, because after a failed fsync the kernel may
 * have dropped the dirty pages and a retry could report success for data that
 * never reached the disk. The process must restart and recover from the
 * files. Not thread-safe: one owner. */
#ifndef SYNOD_COORDINATOR_WAL_H
#define SYNOD_COORDINATOR_WAL_H

#include "common/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYNOD_WAL_VERSION              1u
#define SYNOD_WAL_SEGMENT_HEADER_BYTES 52u
#define SYNOD_WAL_FRAME_HEADER_BYTES   28u
/* The largest frame payload: a truncating update re-states a 64 MiB snapshot
 * and the window's batches; 1 GiB is above any update the core can emit with
 * the limits in coordinator/pbft/limits.h. */
#define SYNOD_WAL_FRAME_BYTES_MAX (1024u * 1024u * 1024u)
#define SYNOD_WAL_RECORDS_MAX     4096u /* records in one frame */
/* Staged bytes of one group: a group never exceeds it, except a single
 * frame (up to SYNOD_WAL_FRAME_BYTES_MAX) staged alone. */
#define SYNOD_WAL_GROUP_BYTES_MAX (64u * 1024u * 1024u)
#define SYNOD_WAL_PATH_MAX        512u

/* One record of an update, as the PBFT core hands it over. */
struct synod_wal_record {
	uint32_t type;
	const uint8_t *bytes;
	size_t len;
};

/* Called once per record while opening, in write order. A non-zero return
 * stops the replay; open then fails with that code. bytes is valid for the
 * call only. */
typedef int (*synod_wal_replay_fn)(void *ctx, uint32_t type, const uint8_t *bytes, size_t len);

struct synod_wal_stats {
	uint64_t segments;     /* segment files now */
	uint64_t frames;       /* frames replayed at open plus appended */
	uint64_t records;      /* records replayed at open plus appended */
	uint64_t bytes;        /* bytes in the current segment files */
	uint64_t torn_repairs; /* torn tails cut off at open */
	uint64_t torn_bytes;   /* bytes cut off */
	uint64_t truncations;  /* segments started by a truncating update */
	uint64_t syncs;        /* fdatasync + directory fsync calls */
	uint64_t groups;       /* appends and flushes that wrote frames */
};

struct synod_wal;

/* Opens (creating when absent) the WAL in dir, takes its lock and replays
 * every record to replay (may be NULL). On failure errmsg says what and where.
 * Errors: SYNOD_EIO (a system call failed), SYNOD_EEXIST (another process
 * holds the lock), SYNOD_ECORRUPT, SYNOD_ENOMEM, or the callback's code. */
SYNOD_WUR int synod_wal_open(struct synod_wal **out, const char *dir, synod_wal_replay_fn replay,
                             void *ctx, char *errmsg, size_t errmsg_len);

/* Appends the records of one update as one frame and syncs it (stage and
 * flush of a group of one; nothing may be staged before); with
 * truncate_before the frame starts a new segment and the older segments are
 * removed once it is durable. count 0 is a no-op. Errors: SYNOD_ELIMIT (more
 * than the frame limits; nothing written), SYNOD_EIO (the WAL is now failed). */
SYNOD_WUR int synod_wal_append(struct synod_wal *w, const struct synod_wal_record *records,
                               uint32_t count, bool truncate_before);

/* Group commit, step 1: encodes the records of one update as one frame
 * into the WAL's staging buffer (records are copied: they may change after
 * the call). Nothing is written until synod_wal_flush. With truncate_before,
 * the frames staged before this one are dropped, never written: the core
 * lets every earlier update go once this one is durable (pbft.h), and until
 * the flush completes nothing of theirs has been sent. count 0 is a no-op.
 * Errors: SYNOD_ELIMIT (the frame is over the limits; nothing staged),
 * SYNOD_EFULL (the group would pass SYNOD_WAL_GROUP_BYTES_MAX: flush, then
 * stage again), SYNOD_ENOMEM, SYNOD_EIO (the WAL is failed). */
SYNOD_WUR int synod_wal_stage(struct synod_wal *w, const struct synod_wal_record *records,
                              uint32_t count, bool truncate_before);

/* Group commit, step 2: writes every staged frame with one write() and one
 * fdatasync(); when a staged update was truncating, in a new segment, after
 * which the older segments are removed (as synod_wal_append). 0 with nothing
 * staged. Errors: SYNOD_EIO (the WAL is now failed; none of the staged
 * updates may be acted on). */
SYNOD_WUR int synod_wal_flush(struct synod_wal *w);

/* Bytes staged and not yet flushed. */
uint64_t synod_wal_staged_bytes(const struct synod_wal *w);

/* True once an append failed: the process must restart from the files. */
bool synod_wal_failed(const struct synod_wal *w);
void synod_wal_stats_get(const struct synod_wal *w, struct synod_wal_stats *st);
/* Tests only: fail(ctx, op) is asked before every write, fdatasync and fsync
 * ("write", "fdatasync", "fsync"); non-zero makes that call fail with EIO. */
void synod_wal_inject_faults(struct synod_wal *w, int (*fail)(void *ctx, const char *op),
                             void *ctx);
/* Releases the lock and closes the files. NULL is a no-op. */
void synod_wal_close(struct synod_wal *w);

#endif

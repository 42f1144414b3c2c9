/* The double-sign guard (CometBFT privval's last-sign state, for votes).
 *
 * Before a vote's signature leaves the voter, the guard appends a record of
 * it, (request id, epoch, deadline, the exact envelope), to an append-only
 * file and fdatasyncs it; only then does voter_guard_sign return the
 * envelope. Asked again for the same (request, epoch) it returns the
 * recorded envelope when the vote is the same, and refuses
 * (VOTER_EGUARD_CONFLICT) when it differs, across crashes and restarts.
 *
 * File format (big-endian):
 *   header  "SYNODVG1" | u32 version 1 | u32 0 | u64 floor_ms | SHA-256 of
 *           the 24 bytes before it                                (56 bytes)
 *   record  u32 "SVGR" | u32 body_len | u32 head_check | body | SHA-256 of
 *           everything before it in the record (32 bytes)
 *           head_check = first 4 bytes of SHA-256(magic || body_len)
 *           body = request id (32) | u64 epoch | u64 deadline_ms | envelope
 *
 * Damage is refused, never guessed around: a bad header, a bad magic, a bad
 * head_check, a length out of range, a checksum mismatch, an envelope that
 * does not decode or names another request or epoch, or a (request, epoch)
 * recorded twice all make open fail with SYNOD_ECORRUPT naming the file and
 * the offset. The one exception is a torn last record: the file ends inside
 * the last record (after a valid head_check, or inside the 12 head bytes).
 * That can only be an append that did not complete, i.e. whose fdatasync did
 * not return, so its signature never left: it is cut off (ftruncate +
 * fsync), logged and counted. A bit flip in a length cannot pass for a torn
 * record, because the length is covered by head_check.
 *
 * Bounded size and pruning: at most records_max records. voter_guard_prune
 * (g, log_time_ms) drops every record whose request deadline is at or before
 * log_time_ms and raises the file's floor_ms to it (atomic rewrite: temp
 * file, fsync, rename, fsync of the directory). The guard then refuses to
 * sign for any request whose deadline is at or before floor_ms
 * (VOTER_EGUARD_PRUNED), so a pruned record can never be contradicted: the
 * deadline is part of the request bytes and so of its id. Past its deadline a
 * request is decided (EXPIRED at the latest) and a vote on it is useless. The
 * daemon passes the deadline_ms of the request it decoded, and prunes with
 * the log time of certified TICKs; a wrong (too high) log time costs
 * liveness only, never safety.
 *
 * The file is never created by open: a missing guard file is an error (a
 * deleted guard would otherwise silently allow double signing).
 * voter_guard_create makes a new, empty one when a voter is provisioned. */
#ifndef SYNOD_VOTER_GUARD_H
#define SYNOD_VOTER_GUARD_H

#include "common/err.h"
#include "common/sign.h"
#include "coordinator/app/app.h"
#include "voter/limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum voter_guard_err {
	VOTER_EGUARD_CONFLICT = -210, /* a different vote is recorded for (request, epoch) */
	VOTER_EGUARD_PRUNED = -211,   /* the request's deadline is at or below the floor */
};

const char *voter_guard_strerror(int err);

struct voter_guard_stats {
	uint32_t records;
	uint64_t floor_ms;
	uint64_t signed_new;   /* votes recorded and released */
	uint64_t resent;       /* recorded votes returned again */
	uint64_t conflicts;    /* refused: a different vote was recorded */
	uint64_t torn_repairs; /* torn last records cut off at open */
};

struct voter_guard; /* opaque */

/* Creates an empty guard file at path (borrowed): temp file, fsync, link
 * into place without overwriting, fsync of the directory. SYNOD_EEXIST when
 * path exists, SYNOD_EIO. */
SYNOD_WUR int voter_guard_create(const char *path, char *errmsg, size_t errmsg_len);

/* Opens and checks the guard file (see above). records_max: 1..
 * VOTER_GUARD_RECORDS_MAX. On success *out is owned by the caller
 * (voter_guard_close). Errors: SYNOD_ENOTFOUND (no file: create it when
 * provisioning), SYNOD_ECORRUPT (errmsg names file and offset), SYNOD_ELIMIT
 * (more records than records_max), SYNOD_EINVAL, SYNOD_EIO, SYNOD_ENOMEM. */
SYNOD_WUR int voter_guard_open(struct voter_guard **out, const char *path, uint32_t records_max,
                               char *errmsg, size_t errmsg_len);

/* Signs v with s unless that would contradict a recorded vote, durably
 * recording it first. On 0, out (cap bytes) holds the envelope (*len bytes,
 * NUL-terminated) and *resent says whether it is a recorded one returned
 * again (the same bytes, even after a crash). deadline_ms is the request's.
 * Errors: VOTER_EGUARD_CONFLICT, VOTER_EGUARD_PRUNED, SYNOD_EFULL
 * (records_max reached: prune), SYNOD_ESTATE (an earlier write or fsync
 * failed: restart the voter), SYNOD_EIO (this one failed; nothing was
 * released), and those of synod_vote_sign. */
SYNOD_WUR int voter_guard_sign(struct voter_guard *g, struct synod_signer *s,
                               const struct synod_vote *v, uint64_t deadline_ms, char *out,
                               size_t cap, size_t *len, bool *resent, char *errmsg,
                               size_t errmsg_len);

/* Drops records with deadline_ms <= log_time_ms and raises the floor to it
 * (never lowers it). SYNOD_EIO (the guard is then failed). */
SYNOD_WUR int voter_guard_prune(struct voter_guard *g, uint64_t log_time_ms, char *errmsg,
                                size_t errmsg_len);

void voter_guard_stats_get(const struct voter_guard *g, struct voter_guard_stats *out);
void voter_guard_close(struct voter_guard *g);

#endif

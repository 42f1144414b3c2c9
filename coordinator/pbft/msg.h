/* PBFT wire messages: encoding, decoding and the payload formats.
 *
 * Every message is a fixed-size signed core followed by an optional payload:
 *
 *   core    = version u8 (1) | type u8 | sender u16 | view u64 | seq u64 |
 *             digest[32] | sig[64]                          (116 bytes)
 *   message = core | payload_len u32 | payload
 *
 * The signature covers the first 52 bytes of the core (everything but the
 * signature), made with the domain tag SYNOD_TAG_PBFT and the cluster id (the
 * crypto table adds both), so a signature binds type, sender, view, sequence
 * number, digest and cluster. Messages with a payload bind it through the
 * digest: digest = SHA-256(payload) for REQUEST, VIEW_CHANGE and NEW_VIEW,
 * and for PRE_PREPARE the batch's Merkle root (pbft_batch_digest); a decoder
 * checks it. PREPARE, COMMIT, CHECKPOINT
 * and FETCH have no payload (payload_len 0); their digest is the batch digest
 * (PREPARE, COMMIT), the application state digest (CHECKPOINT) or zero
 * (FETCH). STATE carries a payload whose parts are each checked against
 * certificates, so its digest is SHA-256(payload) too.
 *
 * Payloads (all integers big-endian, blob = u32 length | bytes):
 *   batch        = count u32 | count x blob(entry)       (null batch: count 0)
 *   VIEW_CHANGE  (view = new view, seq = stable checkpoint seq h)
 *                = ncp u32 | ncp x core(CHECKPOINT for h)            -- C
 *                  np u32  | np x prepared_cert                      -- P
 *     prepared_cert = 1 u8 | core(PRE_PREPARE) | blob(batch) | nprep u32 | nprep x core(PREPARE)
 *                   | 2 u8 | seq u64 | blob(batch) | ncom u32 | ncom x core(COMMIT)
 *       Kind 2 is a commit certificate, for a batch a replica holds as committed
 *       without having prepared it itself (state transfer, or restored from a
 *       COMMITTED record): 2f+1 COMMITs in view v mean that f+1 correct replicas
 *       prepared it in v, so a NEW-VIEW treats it as prepared in v.
 *   NEW_VIEW     (view = new view, seq = 0)
 *                = nvc u32 | nvc x (core(VIEW_CHANGE) | blob(VC payload))  -- V
 *                  no u32  | no x (core(PRE_PREPARE) | blob(batch))         -- O
 *   STATE        (seq = checkpoint seq)
 *                = ncp u32 | ncp x core(CHECKPOINT) | blob(snapshot) |
 *                  nb u32 | nb x committed_batch
 *     committed_batch = seq u64 | blob(batch) | ncom u32 | ncom x core(COMMIT)
 *
 * Decoding borrows: every pointer in a decoded struct points into the input
 * buffer, which must outlive it. Every count and length is checked against
 * the limits passed in before anything is read. */
#ifndef SYNOD_PBFT_MSG_H
#define SYNOD_PBFT_MSG_H

#include "common/err.h"
#include "coordinator/pbft/limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pbft_msg_type {
	PBFT_MSG_REQUEST = 1,     /* an entry forwarded to the primary */
	PBFT_MSG_PRE_PREPARE = 2, /* primary assigns seq to a batch */
	PBFT_MSG_PREPARE = 3,
	PBFT_MSG_COMMIT = 4,
	PBFT_MSG_CHECKPOINT = 5,
	PBFT_MSG_VIEW_CHANGE = 6,
	PBFT_MSG_NEW_VIEW = 7,
	PBFT_MSG_FETCH = 8, /* "I have executed through seq; send me what follows" */
	PBFT_MSG_STATE = 9, /* a stable checkpoint snapshot and certified batches */
};
#define PBFT_MSG_TYPE_MAX 9

#define PBFT_VERSION           1
#define PBFT_DIGEST_BYTES      32u
#define PBFT_SIG_BYTES         64u
#define PBFT_CORE_SIGNED_BYTES 52u
#define PBFT_CORE_BYTES        (PBFT_CORE_SIGNED_BYTES + PBFT_SIG_BYTES) /* 116 */

/* The fixed, signed part of every message. */
struct pbft_core {
	uint8_t type;
	uint16_t sender;
	uint64_t view;
	uint64_t seq;
	uint8_t digest[PBFT_DIGEST_BYTES];
	uint8_t sig[PBFT_SIG_BYTES];
};

/* A decoded message: the core and a borrowed payload. */
struct pbft_msg {
	struct pbft_core core;
	const uint8_t *payload; /* borrowed; NULL when payload_len is 0 */
	uint32_t payload_len;
};

/* Bounds a decoder enforces; derived from the replica config. */
struct pbft_msg_limits {
	uint32_t replicas;          /* n: senders must be < n, quorum lists <= n */
	uint32_t batch_entries_max; /* entries in one batch */
	uint32_t batch_bytes_max;   /* encoded batch bytes */
	uint32_t entry_bytes_max;   /* one entry */
	uint32_t window;            /* L: prepared certs in a VIEW_CHANGE, batches in a STATE */
	uint32_t snapshot_bytes_max;
	uint32_t msg_bytes_max; /* whole message */
};

/* The widest limits any configuration may have (the PBFT_*_LIMIT values):
 * for checking the shape of a batch outside a replica (digests, bundles). */
void pbft_msg_limits_max(struct pbft_msg_limits *out);

/* Core <-> bytes. pbft_core_encode writes exactly PBFT_CORE_BYTES. */
void pbft_core_encode(const struct pbft_core *c, uint8_t out[PBFT_CORE_BYTES]);
/* Checks version, type range and nothing else (sender range is checked by
 * pbft_msg_decode against limits). SYNOD_EVERSION. */
SYNOD_WUR int pbft_core_decode(struct pbft_core *c, const uint8_t in[PBFT_CORE_BYTES]);
/* The 52 signed bytes of a core. */
void pbft_core_signed_bytes(const struct pbft_core *c, uint8_t out[PBFT_CORE_SIGNED_BYTES]);

/* Encodes core | payload_len | payload into out (cap bytes); *len gets the
 * total. SYNOD_ELIMIT if it does not fit. */
SYNOD_WUR int pbft_msg_encode(const struct pbft_core *c, const uint8_t *payload,
                              uint32_t payload_len, uint8_t *out, size_t cap, size_t *len);
/* Decodes and checks the envelope: lengths, version, type, sender < replicas,
 * payload presence per type, payload size per type, and for types whose digest
 * is the payload's hash, digest == SHA-256(payload) (SYNOD_EPROTO otherwise).
 * Does not verify signatures or parse payload internals. */
SYNOD_WUR int pbft_msg_decode(struct pbft_msg *m, const uint8_t *in, size_t len,
                              const struct pbft_msg_limits *lim);

/* Batches. A writer appends entries into caller memory. */
struct pbft_batch_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	uint32_t count;
};
void pbft_batch_writer_init(struct pbft_batch_writer *w, uint8_t *buf, size_t cap);
/* SYNOD_EFULL when the entry does not fit in cap (caller then proposes). */
SYNOD_WUR int pbft_batch_writer_add(struct pbft_batch_writer *w, const uint8_t *entry,
                                    uint32_t entry_len);
/* Patches the count; returns the encoded length. */
size_t pbft_batch_writer_finish(struct pbft_batch_writer *w);

/* Iterates a batch's entries, checking every length against lim. */
struct pbft_batch_iter {
	const uint8_t *p;
	size_t len;
	size_t pos;
	uint32_t count;
	uint32_t index;
};
/* Validates the whole batch (count and lengths) up front: SYNOD_ETRUNC,
 * SYNOD_ELIMIT, SYNOD_ETRAILING. */
SYNOD_WUR int pbft_batch_iter_init(struct pbft_batch_iter *it, const uint8_t *batch, size_t len,
                                   const struct pbft_msg_limits *lim);
/* 1 and the next entry (borrowed), or 0 at the end. */
int pbft_batch_iter_next(struct pbft_batch_iter *it, const uint8_t **entry, uint32_t *entry_len);

/* Generic reader for the list-shaped payloads (VIEW_CHANGE, NEW_VIEW, STATE).
 * Each *_next call returns 1 with the next element, 0 at the end, or a
 * negative error for malformed input. The *_init calls validate the whole
 * payload's structure first (counts against limits, lengths, trailing bytes),
 * so iteration after a successful init never fails. */

#define PBFT_CERT_PREPARED  1
#define PBFT_CERT_COMMITTED 2

struct pbft_prepared_cert {
	uint8_t kind; /* PBFT_CERT_PREPARED or PBFT_CERT_COMMITTED */
	/* PREPARED: the signed PRE-PREPARE. COMMITTED: not signed; type
	 * PRE_PREPARE, view of the first COMMIT, seq, and the batch's digest. */
	struct pbft_core pre_prepare;
	const uint8_t *batch;
	uint32_t batch_len;
	uint32_t prepare_count;
	const uint8_t *prepares; /* prepare_count x PBFT_CORE_BYTES, encoded: the
	                            PREPAREs (PREPARED) or the COMMITs (COMMITTED) */
};

struct pbft_view_change {
	uint32_t checkpoint_count;
	const uint8_t *checkpoints; /* checkpoint_count x PBFT_CORE_BYTES */
	uint32_t prepared_count;
	const uint8_t *prepared; /* the encoded prepared certs, walk with _next */
	size_t prepared_len;
	size_t pos;
	uint32_t index;
};
SYNOD_WUR int pbft_view_change_parse(struct pbft_view_change *vc, const uint8_t *payload,
                                     size_t len, const struct pbft_msg_limits *lim);
int pbft_view_change_next(struct pbft_view_change *vc, struct pbft_prepared_cert *out);

struct pbft_new_view_vc {
	struct pbft_core core;
	const uint8_t *payload;
	uint32_t payload_len;
};
struct pbft_new_view_pp {
	struct pbft_core core;
	const uint8_t *batch;
	uint32_t batch_len;
};
struct pbft_new_view {
	uint32_t vc_count;
	const uint8_t *vcs;
	size_t vcs_len;
	uint32_t pp_count;
	const uint8_t *pps;
	size_t pps_len;
	size_t vc_pos, pp_pos;
	uint32_t vc_index, pp_index;
};
SYNOD_WUR int pbft_new_view_parse(struct pbft_new_view *nv, const uint8_t *payload, size_t len,
                                  const struct pbft_msg_limits *lim);
int pbft_new_view_next_vc(struct pbft_new_view *nv, struct pbft_new_view_vc *out);
int pbft_new_view_next_pp(struct pbft_new_view *nv, struct pbft_new_view_pp *out);

struct pbft_committed_batch {
	uint64_t seq;
	const uint8_t *batch;
	uint32_t batch_len;
	uint32_t commit_count;
	const uint8_t *commits; /* commit_count x PBFT_CORE_BYTES */
};
struct pbft_state {
	uint32_t checkpoint_count;
	const uint8_t *checkpoints;
	const uint8_t *snapshot;
	uint32_t snapshot_len;
	uint32_t batch_count;
	const uint8_t *batches;
	size_t batches_len;
	size_t pos;
	uint32_t index;
};
SYNOD_WUR int pbft_state_parse(struct pbft_state *st, const uint8_t *payload, size_t len,
                               const struct pbft_msg_limits *lim);
int pbft_state_next(struct pbft_state *st, struct pbft_committed_batch *out);

/* The digest PRE-PREPARE, PREPARE and COMMIT name for a batch: the RFC 9162
 * Merkle tree root over its entries (leaf = entry bytes; the null batch has
 * the empty tree's root, SHA-256 of ""). So a commit certificate plus an
 * inclusion proof shows that one entry was committed, without the batch.
 * A batch that is not well formed (see pbft_batch_iter_init) gets a digest
 * from a separate domain, which no well-formed batch can have. */
void pbft_batch_digest(uint8_t out[PBFT_DIGEST_BYTES], const uint8_t *batch, size_t len);

/* Human-readable type name ("PRE-PREPARE"), for logs. */
const char *pbft_msg_type_name(uint8_t type);

#endif

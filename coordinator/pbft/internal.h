/* The PBFT replica's private state, shared by the files of coordinator/pbft/
 * (one file per protocol phase). Nothing here is part of the public API. */
#ifndef SYNOD_PBFT_INTERNAL_H
#define SYNOD_PBFT_INTERNAL_H

#include "common/assert.h"
#include "common/wire.h"
#include "coordinator/pbft/pbft.h"

#include <stdbool.h>
#include <stdint.h>

/* One sequence number in the window (h, h+L]. */
struct pbft_slot {
	uint64_t seq; /* 0: unused */

	/* The pre-prepare accepted for pp_view (the current view or an older
	 * one). */
	bool has_pp;
	struct pbft_core pp;
	uint8_t *batch; /* batch_bytes_max bytes, allocated at init */
	uint32_t batch_len;
	uint64_t pp_time_ms; /* when accepted or proposed, for the RTT estimate */

	/* The newest PREPARE and COMMIT from each replica for this seq (any
	 * view >= ours: messages for a view we have not entered yet wait here). */
	bool has_prepare[PBFT_REPLICAS_MAX];
	struct pbft_core prepares[PBFT_REPLICAS_MAX];
	bool has_commit[PBFT_REPLICAS_MAX];
	struct pbft_core commits[PBFT_REPLICAS_MAX];

	bool sent_commit; /* in pp.view */
	bool committed;   /* committed-local in pp.view (or installed with a certificate) */
	bool executed;
	bool committed_persisted;
	/* The commit certificate, once committed: quorum encoded COMMIT cores. */
	uint8_t *cert; /* PBFT_REPLICAS_MAX * PBFT_CORE_BYTES, allocated at init */
	uint32_t cert_count;
	uint64_t commit_view;

	/* The prepared certificate of the highest view in which this replica
	 * prepared seq (kept across view changes for VIEW-CHANGE's P set). */
	bool has_cert;
	struct pbft_core cert_pp;
	struct pbft_core cert_prepares[PBFT_REPLICAS_MAX];
	uint32_t cert_prepare_count;
	uint8_t *cert_batch; /* batch_bytes_max bytes */
	uint32_t cert_batch_len;
};

/* An entry waiting to be ordered. */
struct pbft_pending {
	bool live;
	/* The seq of the last batch pre-prepared with it (0: none), in any view.
	 * Until that seq executes the entry may yet be ordered there, even if a
	 * view change re-proposed another batch (a prepared certificate of an
	 * older view can resurface in a later NEW-VIEW), so the primary leaves
	 * it out of new batches: pbft_pending_in_flight. */
	uint64_t in_flight_seq;
	uint64_t in_flight_view; /* the view of that pre-prepare */
	uint32_t origin;         /* the replica that forwarded it (self: a local client) */
	uint64_t forwarded_view; /* UINT64_MAX: not forwarded yet */
	uint64_t arrived_ms;
	/* The view-change timer waits for it (section 4.5.2): any entry a peer
	 * could forward. An entry only this replica may propose (the app would
	 * not admit it from a peer, e.g. the primary's TICK) is not: the app's
	 * overdue rule covers those. */
	bool watched;
	uint8_t view_changes; /* view changes this replica started while waiting for it */
	uint8_t digest[PBFT_DIGEST_BYTES];
	uint8_t *bytes; /* entry_bytes_max bytes */
	uint32_t len;
};

/* Our own checkpoint at a seq, with the snapshot it certifies. */
struct pbft_own_checkpoint {
	uint64_t seq; /* 0: unused */
	uint8_t digest[PBFT_DIGEST_BYTES];
	uint8_t *snapshot; /* snapshot_bytes_max bytes */
	uint32_t snapshot_len;
};

struct pbft_vc_store {
	uint64_t view;  /* 0: none */
	uint8_t *bytes; /* whole encoded VIEW-CHANGE message, vc_bytes_max */
	size_t len;
};

struct pbft {
	struct pbft_config cfg;
	uint32_t n, f, quorum;
	struct pbft_msg_limits lim;
	uint64_t rng;

	/* view state */
	uint64_t view;
	bool in_view_change;
	uint32_t view_change_backoff; /* consecutive view changes without progress */

	/* log */
	uint64_t h;         /* low watermark: the last stable checkpoint */
	uint64_t last_exec; /* last executed seq */
	uint64_t next_seq;  /* primary: the next seq to assign */
	/* restore: the highest seq we signed a PRE-PREPARE for in the newest
	 * view we signed any in (applied at START if that is still our view) */
	bool restored_own_pp;
	uint64_t restored_own_view;
	uint64_t restored_own_seq;
	struct pbft_slot *slots; /* window entries; slot for s is slots[(s - 1) % L] */

	/* checkpoints: the stable proof and our own recent ones */
	uint8_t stable_digest[PBFT_DIGEST_BYTES];
	struct pbft_core stable_proof[PBFT_REPLICAS_MAX];
	uint32_t stable_proof_count;
	struct pbft_own_checkpoint *own_ckpts; /* ckpts_kept entries */
	uint32_t ckpts_kept;
	/* checkpoint messages from each replica, newest PBFT_CHECKPOINTS_KEPT */
	struct pbft_core peer_ckpts[PBFT_REPLICAS_MAX][PBFT_CHECKPOINTS_KEPT];
	bool has_peer_ckpt[PBFT_REPLICAS_MAX][PBFT_CHECKPOINTS_KEPT];

	/* view change */
	struct pbft_vc_store vcs[PBFT_REPLICAS_MAX]; /* newest VIEW-CHANGE per sender */
	uint8_t *nv_bytes; /* the NEW-VIEW that installed the current view */
	size_t nv_len;
	uint64_t nv_view;
	uint64_t peer_fetch_ms[PBFT_REPLICAS_MAX]; /* when we last answered each FETCH */

	/* pending entries */
	struct pbft_pending *pending;
	uint32_t pending_count;
	uint32_t pending_watched_count;
	uint32_t pending_by_origin[PBFT_REPLICAS_MAX];
	/* digests of recently executed entries (ring), to drop re-submissions */
	uint8_t (*recent)[PBFT_DIGEST_BYTES];
	uint32_t recent_next;
	uint32_t recent_count;

	/* timers (0: off) */
	uint64_t now_ms;
	uint64_t progress_deadline_ms; /* view-change timer */
	uint64_t progress_armed_ms;    /* when it was started: it waits for what was pending */
	bool progress_grace_used;      /* first expiry fetches and retransmits */
	uint64_t vc_escalate_ms;       /* in a view change: move on to view + 1 */
	uint64_t batch_deadline_ms;    /* primary: cut a partial batch */
	uint64_t fetch_deadline_ms;    /* rate limit for FETCH */
	uint64_t srtt_ms;              /* smoothed pre-prepare -> execute time */

	/* scratch, allocated at init */
	uint8_t *arena; /* update bytes: messages and records of one step */
	size_t arena_cap;
	size_t arena_len;
	uint8_t *work; /* a second buffer for building payloads */
	size_t work_cap;
	size_t vc_bytes_max;
	size_t nv_bytes_max;
	size_t state_bytes_max;
	struct pbft_update *out; /* the update being built (borrowed for a step) */

	struct pbft_status stats;
};

/* --- replica.c: shared helpers ------------------------------------------ */
uint32_t pbft_primary(const struct pbft *p, uint64_t view);
bool pbft_is_primary(const struct pbft *p);
struct pbft_slot *pbft_slot_get(struct pbft *p, uint64_t seq); /* NULL outside (h, h+L] */
void pbft_slot_reset(struct pbft_slot *s, uint64_t seq);
bool pbft_mutated(const struct pbft *p, enum pbft_mutation m);
uint64_t pbft_timeout_ms(const struct pbft *p);
void pbft_reject(struct pbft *p, const char *why, uint32_t from);

/* Signs c (sets c->sig and sender) with our key. */
void pbft_core_sign(struct pbft *p, struct pbft_core *c);
/* 0 when c->sig is c->sender's valid signature. */
int pbft_core_verify(const struct pbft *p, const struct pbft_core *c);
/* Verifies an encoded core and decodes it into out. */
int pbft_core_check(const struct pbft *p, const uint8_t *bytes, struct pbft_core *out);

/* The update being built. */
uint8_t *pbft_arena_alloc(struct pbft *p, size_t n);
void pbft_out_send(struct pbft *p, uint32_t to, const struct pbft_core *c, const uint8_t *payload,
                   size_t payload_len);
/* Sends an already encoded message (copied into the arena). */
void pbft_out_send_raw(struct pbft *p, uint32_t to, const uint8_t *bytes, size_t len);
void pbft_out_record(struct pbft *p, enum pbft_record_type type, const uint8_t *bytes, size_t len,
                     bool truncate_before);
/* Encodes a message into the arena as a PBFT_REC_MSG record. */
void pbft_out_record_msg(struct pbft *p, const struct pbft_core *c, const uint8_t *payload,
                         size_t payload_len);
void pbft_out_record_view(struct pbft *p);

/* --- request.c ------------------------------------------------------------ */
int pbft_on_submit(struct pbft *p, const uint8_t *entry, size_t len);
int pbft_on_request(struct pbft *p, const struct pbft_msg *m);
void pbft_propose(struct pbft *p);
void pbft_pending_forward(struct pbft *p);
/* Forgets what was forwarded in this view and forwards everything again. */
void pbft_pending_reforward(struct pbft *p);
void pbft_pending_executed(struct pbft *p, const uint8_t *batch, size_t len);
void pbft_pending_mark_in_flight(struct pbft *p, const struct pbft_core *pp, const uint8_t *batch,
                                 size_t len);
bool pbft_pending_waiting(const struct pbft *p);
/* A watched entry that arrived at or before since_ms is still pending. */
bool pbft_pending_watched_since(const struct pbft *p, uint64_t since_ms);
/* Drops the entries app.expired calls expired and, with executed_too, those
 * app.executed says the state already holds (after a snapshot or a restart). */
void pbft_pending_reconcile(struct pbft *p, bool executed_too);
/* This replica starts a view change for want of the watched entries pending
 * since the timer started: charges them; an entry charged more than f times
 * leaves the queue (f+1 primaries in a row did not get it executed: it
 * cannot be, e.g. app.validate refuses it). */
void pbft_pending_view_change(struct pbft *p);

/* --- prepare.c ------------------------------------------------------------ */
int pbft_on_pre_prepare(struct pbft *p, const struct pbft_msg *m);
int pbft_on_prepare(struct pbft *p, const struct pbft_msg *m);
/* Installs a pre-prepare (from the primary, our own, or a NEW-VIEW) into its
 * slot, persists it and, as a backup, sends PREPARE. */
void pbft_pp_install(struct pbft *p, const struct pbft_core *pp, const uint8_t *batch,
                     uint32_t batch_len, bool persist);
void pbft_prepared_check(struct pbft *p, struct pbft_slot *s);
/* Writes a PREPARED record for s's prepared certificate. */
void pbft_prepared_persist(struct pbft *p, const struct pbft_slot *s);
/* Writes s's commit certificate as a VIEW-CHANGE P element (kind 2). */
void pbft_committed_cert_write(struct synod_wbuf *w, const struct pbft_slot *s);
/* Writes s's prepared certificate in the VIEW-CHANGE P element format. */
void pbft_prepared_cert_write(struct synod_wbuf *w, const struct pbft_slot *s);

/* --- commit.c ------------------------------------------------------------- */
int pbft_on_commit(struct pbft *p, const struct pbft_msg *m);
void pbft_committed_check(struct pbft *p, struct pbft_slot *s);
/* Executes every committed slot after last_exec, in order. */
void pbft_execute_ready(struct pbft *p);
/* Writes a COMMITTED record for s (its batch and certificate). */
void pbft_commit_persist(struct pbft *p, struct pbft_slot *s);
/* Installs a batch proven committed by cert (state transfer), persisting it.
 * SYNOD_ESTATE outside the window or already committed, SYNOD_ECERT. */
int pbft_commit_install(struct pbft *p, uint64_t seq, const uint8_t *batch, uint32_t batch_len,
                        const uint8_t *cert, uint32_t cert_count);

/* --- checkpoint.c --------------------------------------------------------- */
void pbft_checkpoint_take(struct pbft *p, uint64_t seq);
/* The checkpoint digest of a snapshot: app.digest, or SHA-256 without one. */
void pbft_snapshot_digest(const struct pbft *p, const uint8_t *snap, size_t len,
                          uint8_t out[PBFT_DIGEST_BYTES]);
int pbft_on_checkpoint(struct pbft *p, const struct pbft_msg *m);
/* Makes (seq, digest) with its proof the stable checkpoint; GC. */
void pbft_checkpoint_stabilise(struct pbft *p, uint64_t seq, const uint8_t digest[32],
                               const struct pbft_core *proof, uint32_t proof_count);
/* Checks that count encoded cores are quorum valid CHECKPOINTs for (seq, digest)
 * from distinct replicas; copies them into proof (may be NULL). */
int pbft_checkpoint_proof_check(const struct pbft *p, uint64_t seq, const uint8_t digest[32],
                                const uint8_t *cores, uint32_t count, struct pbft_core *proof);
struct pbft_own_checkpoint *pbft_own_checkpoint_find(struct pbft *p, uint64_t seq);
/* Section 4.4: a NEW-VIEW's min-s above everything we executed. Makes (seq,
 * digest) with its proof our stable checkpoint before we have its snapshot:
 * h = seq, last_exec stays below it (execution waits for the snapshot, which
 * state transfer brings), what is at or below seq is discarded. Persists a
 * STABLE record (with our own state, see pbft.h). An app.snapshot error when
 * our state cannot be taken (nothing changed then). */
SYNOD_WUR int pbft_checkpoint_adopt(struct pbft *p, uint64_t seq, const uint8_t digest[32],
                                    const struct pbft_core *proof, uint32_t proof_count);
/* The snapshot of an adopted checkpoint is installed (own, at h = last_exec):
 * persists it as the stable checkpoint. */
void pbft_checkpoint_adopted_installed(struct pbft *p, const struct pbft_own_checkpoint *own);

/* --- persist.c -------------------------------------------------------------- */
void pbft_persist_tail(struct pbft *p);
/* At START after a restore: never reuse a seq we proposed in this view. */
void pbft_restore_finish(struct pbft *p);

/* --- view_change.c -------------------------------------------------------- */
void pbft_view_change_start(struct pbft *p, uint64_t view);
int pbft_on_view_change(struct pbft *p, const struct pbft_msg *m, const uint8_t *bytes, size_t len);
int pbft_on_new_view(struct pbft *p, const struct pbft_msg *m, const uint8_t *bytes, size_t len);
/* Checks one prepared certificate (P element) for a view change to view. */
int pbft_prepared_cert_check(const struct pbft *p, const struct pbft_prepared_cert *pc,
                             uint64_t view);

/* --- state_transfer.c ----------------------------------------------------- */
void pbft_fetch_send(struct pbft *p);
int pbft_on_fetch(struct pbft *p, const struct pbft_msg *m);
int pbft_on_state(struct pbft *p, const struct pbft_msg *m);

/* --- timers (replica.c) ---------------------------------------------------- */
void pbft_progress_made(struct pbft *p);
void pbft_timers_update(struct pbft *p);

#endif

/* PBFT (Castro and Liskov, OSDI'99 / TOCS 2002) as a pure state machine.
 *
 *     int pbft_step(struct pbft *p, const struct pbft_event *ev, struct pbft_update *out);
 *
 * The core never reads a clock, a socket, a file or a random source: time
 * arrives in every event, randomness comes from a PRNG seeded in the config,
 * signatures go through the injected crypto table, and the application is
 * reached only through the app table (execute, digest, snapshot, restore).
 * All memory is allocated by pbft_init; pbft_step never allocates.
 *
 * The driver applies an update strictly in this order:
 *   1. append update.records to durable storage as ONE atomic write (after a
 *      crash all of them are recovered or none: e.g. one checksummed WAL
 *      frame per update) and fsync it;
 *   2. send update.sends;
 *   3. hand update.committed to observers (the app has already executed them
 *      through the app table, in sequence order, inside the step);
 *   4. arm the timer at update.timer_deadline_ms (0: no timer).
 * Everything an update points to is owned by the replica and valid until the
 * next call on it.
 *
 * After a crash: pbft_init, then pbft_restore with every persisted record in
 * the order written, then pbft_step(START). */
#ifndef SYNOD_PBFT_H
#define SYNOD_PBFT_H

#include "common/err.h"
#include "coordinator/pbft/limits.h"
#include "coordinator/pbft/msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Signing and verification. The production table wraps common/sign.h with the
 * tag SYNOD_TAG_PBFT and the cluster id; the simulator may use a cheap fake.
 * msg is always the PBFT_CORE_SIGNED_BYTES of a core. */
struct pbft_crypto {
	void *ctx;
	int (*sign)(void *ctx, uint8_t sig[PBFT_SIG_BYTES], const uint8_t *msg, size_t len);
	/* 0 when valid. pk is the claimed signer's public key. */
	int (*verify)(void *ctx, const uint8_t sig[PBFT_SIG_BYTES], const uint8_t *msg, size_t len,
	              const uint8_t pk[32]);
};

/* The replicated application. Deterministic: every replica that executes the
 * same batches in the same order produces the same snapshot bytes. The
 * checkpoint digest is app.digest (default SHA-256) of the snapshot taken after
 * executing the checkpoint's sequence number, so a snapshot fetched from any peer is checked
 * against the 2f+1-signed digest before it is installed. */
struct pbft_app {
	void *ctx;
	/* Executes the committed batch at seq (seq = previous + 1, always). */
	void (*execute)(void *ctx, uint64_t seq, const uint8_t *batch, size_t batch_len);
	/* Optional (NULL: accept all). A backup calls it on a PRE-PREPARE's batch
	 * in the normal case before it sends PREPARE; non-zero refuses the batch
	 * (e.g. a TICK entry too far from the backup's clock, now_ms). A refused
	 * batch is not prepared, so a primary that insists is replaced. Batches
	 * re-proposed by a NEW-VIEW are not checked again: they were prepared. */
	int (*validate)(void *ctx, const uint8_t *batch, size_t batch_len, uint64_t now_ms);
	/* Optional (NULL: admit all). Called on each entry another replica
	 * forwards (REQUEST) before it joins the pending queue; non-zero drops
	 * it (counted). Entries from the local driver (SUBMIT) are not checked:
	 * the driver filters its clients, and may submit what peers may not
	 * (e.g. the primary's TICK). */
	int (*admit)(void *ctx, const uint8_t *entry, size_t entry_len);
	/* Optional (NULL: never). The primary asks it about each pending entry
	 * before putting it in a batch; true drops the entry instead (e.g. a
	 * TICK whose time has passed: it would only get the batch refused). */
	bool (*expired)(void *ctx, const uint8_t *entry, size_t entry_len, uint64_t now_ms);
	/* Optional (NULL: never). True when the application expects the primary
	 * to have ordered something by now_ms even with no entry pending here
	 * (e.g. a TICK: log time lags this replica's clock too far). The core
	 * then runs the view-change timer as for pending work, and a batch that
	 * executes without clearing it does not restart the timer: a primary
	 * that orders other entries but withholds what is due is replaced (as
	 * for a pending entry: the timer stops only when the entries it was
	 * started for have executed, however much else executes meanwhile). */
	bool (*overdue)(void *ctx, uint64_t now_ms);
	/* Optional (NULL: never). True when the application's state shows that
	 * entry was already executed (e.g. a SUBMIT whose request it knows, a
	 * VOTE it applied); only for entries that are: the core refuses them
	 * into the pending queue, drops them from it after installing a
	 * snapshot and at START, and the primary leaves them out of batches.
	 * Without it, duplicates are caught only by the core's ring of recently
	 * executed entries, which neither a restart nor a snapshot carries. */
	bool (*executed)(void *ctx, const uint8_t *entry, size_t entry_len);
	/* Writes a canonical snapshot of the current state; *len gets its size.
	 * SYNOD_ELIMIT if cap is too small. */
	int (*snapshot)(void *ctx, uint8_t *buf, size_t cap, size_t *len);
	/* Replaces the state with a snapshot taken at seq. 0 or an error for a
	 * malformed snapshot (the state is then unchanged). */
	int (*restore)(void *ctx, uint64_t seq, const uint8_t *snap, size_t len);
	/* Optional (NULL: SHA-256 of the snapshot). The checkpoint digest of a
	 * snapshot, for CHECKPOINT messages and to check a snapshot fetched from a
	 * peer (any bytes, possibly malformed: it must not fail). It must be
	 * collision resistant in the snapshot bytes; an application may shape it
	 * so that a part of its state can be proved from the digest alone (the
	 * certification app: its log of decisions, for evidence bundles). */
	void (*digest)(void *ctx, const uint8_t *snap, size_t len, uint8_t out[PBFT_DIGEST_BYTES]);
};

/* Deliberate protocol bugs, for showing that the simulator catches them.
 * Never set outside tests. */
enum pbft_mutation {
	PBFT_MUTATE_NONE = 0,
	PBFT_MUTATE_PREPARE_QUORUM_2F = 1u << 0, /* prepared with 2f-1 prepares (2f with pp) */
	PBFT_MUTATE_COMMIT_QUORUM_2F = 1u << 1,  /* committed with 2f commits */
	PBFT_MUTATE_SEND_BEFORE_PERSIST = 1u << 2,
	PBFT_MUTATE_NEW_VIEW_NO_PROOF = 1u << 3,  /* accept NEW-VIEW without checking V/O */
	PBFT_MUTATE_VIEW_CHANGE_DROP_P = 1u << 4, /* VIEW-CHANGE omits prepared certs */
	/* Single validation checks switched off (tests/sim/README.md: the table). */
	PBFT_MUTATE_NO_SIGNATURE_CHECK = 1u << 5,       /* a message's own signature */
	PBFT_MUTATE_PRE_PREPARE_ANY_SENDER = 1u << 6,   /* PRE-PREPARE from a backup */
	PBFT_MUTATE_STATE_CERT_UNCHECKED = 1u << 7,     /* STATE batch's commit certificate */
	PBFT_MUTATE_STATE_SNAPSHOT_UNCHECKED = 1u << 8, /* STATE snapshot vs proven digest */
	PBFT_MUTATE_CKPT_PROOF_NO_SIG = 1u << 9,        /* checkpoint proof signatures */
	PBFT_MUTATE_CKPT_PROOF_MIXED = 1u << 10,        /* checkpoint proof of mixed digests */
	PBFT_MUTATE_VIEW_CHANGE_UNCHECKED_C = 1u << 11, /* VIEW-CHANGE checkpoint proof */
	PBFT_MUTATE_VIEW_CHANGE_UNCHECKED_P = 1u << 12, /* VIEW-CHANGE prepared certificates */
	PBFT_MUTATE_NEW_VIEW_O_DIGESTS = 1u << 13,      /* NEW-VIEW O digests not re-derived */
	PBFT_MUTATE_TIMER_ANY_PROGRESS = 1u
	                                 << 14, /* any execution restarts the view-change timer */
};

struct pbft_config {
	uint8_t cluster_id[32];
	uint32_t replicas; /* n, 3f+1, 4..PBFT_REPLICAS_MAX */
	uint32_t self;     /* this replica's index, < n */
	uint8_t pubkeys[PBFT_REPLICAS_MAX][32];
	uint32_t checkpoint_interval; /* K */
	uint32_t window;              /* L: a multiple of K, <= PBFT_WINDOW_MAX */
	uint32_t batch_entries_max;
	uint32_t batch_bytes_max;
	uint32_t entry_bytes_max;
	uint32_t pending_entries_max;
	uint32_t snapshot_bytes_max;
	uint64_t batch_delay_ms; /* the primary proposes a partial batch after this */
	uint64_t timeout_ms_min; /* view-change timeout bounds; adaptive in between */
	uint64_t timeout_ms_max;
	uint64_t seed;      /* seeds the PRNG (jitter, peer choice) */
	uint32_t mutations; /* enum pbft_mutation bits; 0 in production */
	struct pbft_crypto crypto;
	struct pbft_app app;
};

/* Fills defaults for everything but cluster_id, replicas, self, pubkeys,
 * crypto and app. */
void pbft_config_defaults(struct pbft_config *c);

enum pbft_event_type {
	PBFT_EV_START = 1,   /* once, after init (and restore) */
	PBFT_EV_RECEIVE = 2, /* bytes from a peer (the transport's idea of who) */
	PBFT_EV_TIMEOUT = 3, /* the timer armed by the last update fired */
	PBFT_EV_SUBMIT = 4,  /* an entry from a local client (voter, API) */
	PBFT_EV_TICK = 5,    /* time passed; lets the primary cut a partial batch */
};

struct pbft_event {
	enum pbft_event_type type;
	/* The driver's clock in ms. The core keeps the largest value seen (its
	 * clock never runs backwards) and uses it only for timers and latency,
	 * so a clock step can hasten or delay a timeout, never affect safety. It is
	 * also what app.validate and app.expired get, and the certification app
	 * compares it with TICKs in Unix ms: with that app the driver passes
	 * wall-clock time (CLOCK_REALTIME, NTP-disciplined). */
	uint64_t now_ms;
	union {
		struct {
			uint32_t from;        /* transport-level peer, a hint only */
			const uint8_t *bytes; /* borrowed for the call */
			size_t len;
		} receive;
		struct {
			const uint8_t *entry; /* borrowed for the call */
			size_t len;
		} submit;
	};
};

#define PBFT_TO_ALL UINT32_MAX

struct pbft_send {
	uint32_t to; /* replica index, or PBFT_TO_ALL (every other replica) */
	const uint8_t *bytes;
	size_t len;
};

enum pbft_record_type {
	PBFT_REC_VIEW = 1,       /* view u64 | in_view_change u8 */
	PBFT_REC_MSG = 2,        /* a message this replica signed or accepted (encoded) */
	PBFT_REC_PREPARED = 3,   /* seq u64 | prepared certificate (as in VIEW_CHANGE) */
	PBFT_REC_COMMITTED = 4,  /* committed_batch (as in STATE) */
	PBFT_REC_CHECKPOINT = 5, /* seq u64 | ncp u32 | cores | blob(snapshot) */
	/* A stable checkpoint adopted from a NEW-VIEW before its snapshot came:
	 * seq u64 | ncp u32 | cores | exec u64 | blob(our own snapshot at exec),
	 * exec < seq being what we had executed (kept across the truncation). */
	PBFT_REC_STABLE = 6,
};

struct pbft_record {
	enum pbft_record_type type;
	const uint8_t *bytes;
	size_t len;
	/* A stable checkpoint: once the update carrying this record is durable,
	 * every record of EARLIER updates may be discarded (the rest of this
	 * update re-states what is still needed: view, view change, the
	 * window's pre-prepares, prepared and committed batches). */
	bool truncate_before;
};

struct pbft_committed {
	uint64_t seq;
	uint64_t view;
	uint8_t digest[PBFT_DIGEST_BYTES];
	const uint8_t *batch;
	size_t batch_len;
	/* The commit certificate: cert_count encoded COMMIT cores (2f+1 from
	 * distinct replicas, same view, seq and digest), verifiable with
	 * pbft_cert_verify by anyone holding the replicas' public keys. */
	const uint8_t *cert;
	uint32_t cert_count;
};

struct pbft_update {
	struct pbft_record records[PBFT_RECORDS_MAX];
	uint32_t record_count;
	struct pbft_send sends[PBFT_SENDS_MAX];
	uint32_t send_count;
	struct pbft_committed committed[PBFT_COMMITTED_MAX];
	uint32_t committed_count;
	uint64_t timer_deadline_ms; /* 0: no timer */
	/* Set only by PBFT_MUTATE_SEND_BEFORE_PERSIST: the driver sends first. */
	bool send_before_persist;
};

/* Counters and state a driver, a dashboard or the simulator may read. */
struct pbft_status {
	uint64_t view;
	bool in_view_change;
	uint32_t primary;
	uint64_t low_watermark; /* h: the last stable checkpoint */
	uint64_t last_executed;
	uint64_t pending_entries;
	uint64_t view_changes;    /* views entered after 0 */
	uint64_t state_transfers; /* snapshots installed */
	uint64_t batches_committed;
	uint64_t msgs_rejected; /* bad signature, wrong view, malformed, ... */
	uint64_t timeout_ms;    /* the current view-change timeout */
};

struct pbft; /* opaque */

/* Allocates and initialises a replica from cfg (copied). On failure errmsg
 * names the bad field. */
SYNOD_WUR int pbft_init(struct pbft **out, const struct pbft_config *cfg, char *errmsg,
                        size_t errmsg_len);
void pbft_close(struct pbft *p);

/* Replays one persisted record (in write order) before START. */
SYNOD_WUR int pbft_restore(struct pbft *p, enum pbft_record_type type, const uint8_t *bytes,
                           size_t len);

/* Processes one event. out is overwritten. Returns 0, or an error code for
 * input that was rejected (it was counted and the update is still valid and
 * must be applied: a rejected message can come with nothing else to do, but
 * the driver must not assume so). */
int pbft_step(struct pbft *p, const struct pbft_event *ev, struct pbft_update *out);

void pbft_status_get(const struct pbft *p, struct pbft_status *st);

/* Verifies a commit certificate: count distinct senders with a valid COMMIT
 * for (seq, digest) in one view, each signed by its replica's key; 0 when at
 * least 2f+1 = quorum, SYNOD_ECERT otherwise (errmsg says why). Pure; used by
 * replicas, voters and `synod verify`. */
SYNOD_WUR int pbft_cert_verify(const struct pbft_crypto *crypto, uint32_t replicas,
                               const uint8_t (*pubkeys)[32], uint64_t seq,
                               const uint8_t digest[PBFT_DIGEST_BYTES], const uint8_t *cert,
                               uint32_t cert_count, char *errmsg, size_t errmsg_len);

/* Verifies a checkpoint certificate: at least 2f+1 CHECKPOINT cores for (seq,
 * digest) from distinct replicas (any views), each signed by its replica's
 * key; 0 or SYNOD_ECERT (errmsg says why). Pure; used by `synod verify` for
 * the state a bundle proves its decision from. */
SYNOD_WUR int pbft_checkpoint_cert_verify(const struct pbft_crypto *crypto, uint32_t replicas,
                                          const uint8_t (*pubkeys)[32], uint64_t seq,
                                          const uint8_t digest[PBFT_DIGEST_BYTES],
                                          const uint8_t *cert, uint32_t cert_count, char *errmsg,
                                          size_t errmsg_len);

/* The last stable checkpoint: its seq (0: none yet) and its proof, *count
 * encoded CHECKPOINT cores (PBFT_CORE_BYTES each) written to cores (room for
 * cap cores; PBFT_REPLICAS_MAX always suffices). SYNOD_ELIMIT when cap is too
 * small. What a driver gives synod_bundle_build. */
SYNOD_WUR int pbft_stable_checkpoint_get(const struct pbft *p, uint64_t *seq, uint8_t *cores,
                                         uint32_t cap, uint32_t *count);

/* n = 3f+1: f and the quorum 2f+1. */
static inline uint32_t pbft_faults(uint32_t n)
{
	return (n - 1) / 3;
}
static inline uint32_t pbft_quorum(uint32_t n)
{
	return 2 * pbft_faults(n) + 1;
}

#endif

/* Internals of the simulator shared by its files (not for tests: they use
 * cluster.h). */
#ifndef SYNOD_SIM_SIM_H
#define SYNOD_SIM_SIM_H

#include "coordinator/pbft/msg.h"
#include "coordinator/pbft/pbft.h"
#include "tests/sim/cluster.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_TIME_START_MS    1000000u /* global clock at start: skewed clocks stay positive */
#define SIM_MSG_BYTES_MAX    (4u << 20)
#define SIM_DISK_RECORDS_MAX 65536u
#define SIM_DISK_BYTES_MAX   (256u << 20)
#define SIM_NET_BYTES_MAX    (512u << 20)
#define SIM_SEQS_MAX         (1u << 22) /* sequence numbers the checker tracks */
#define SIM_SIGNED_MAX       (1u << 22) /* signed (type, view, seq) the checker remembers */
#define SIM_CAPTURED_MAX     64u        /* messages a Byzantine replica keeps for replay */
#define SIM_BYZ_SENDS_MAX    (4u * SIM_NODES_MAX) /* rewrites of one message */

/* ---- PRNG: xoshiro256** seeded through splitmix64 ---- */
struct sim_rng {
	uint64_t s[4];
};
uint64_t sim_splitmix64(uint64_t *state);
/* A stream per purpose, so that one component's draws never shift another's. */
void sim_rng_init(struct sim_rng *r, uint64_t seed, uint64_t stream);
uint64_t sim_rng_next(struct sim_rng *r);
uint64_t sim_rng_below(struct sim_rng *r, uint64_t bound);           /* [0, bound), bound > 0 */
uint64_t sim_rng_range(struct sim_rng *r, uint64_t lo, uint64_t hi); /* [lo, hi] */
bool sim_rng_ppm(struct sim_rng *r, uint32_t ppm);

/* ---- crypto: a fake table (two SHA-256) or Ed25519 ---- */
#define SIM_SIGNER_CHECKER SIM_NODES_MAX /* verifies made by the checker, counted apart */
struct sim_crypto;
struct sim_signer {
	struct sim_crypto *crypto;
	uint32_t self;
};
struct sim_crypto {
	bool real;
	uint32_t replicas;
	uint8_t cluster_id[32];
	uint8_t pk[SIM_NODES_MAX][32];
	uint8_t sk[SIM_NODES_MAX][64]; /* Ed25519 only */
	struct sim_signer signers[SIM_NODES_MAX + 1];
	uint64_t signs;
	uint64_t verifies;
	uint64_t checker_verifies;
};
void sim_crypto_init(struct sim_crypto *k, uint64_t seed, uint32_t replicas, bool real,
                     const uint8_t cluster_id[32]);
void sim_crypto_wipe(struct sim_crypto *k);
struct pbft_crypto sim_crypto_table(struct sim_crypto *k, uint32_t self);
/* Signs core as replica signer (the adversary, with its own identity only). */
void sim_crypto_sign_core(struct sim_crypto *k, uint32_t signer, struct pbft_core *core);

/* ---- the test application: a hash chain over executed batches ---- */
#define SIM_APP_IDS_BYTES (SIM_ENTRIES_MAX / 8u)
struct sim_app {
	struct sim_cluster *cluster;
	uint32_t node;
	uint64_t seq;
	uint64_t entries;
	uint8_t chain[32];
	/* the clients' entries executed, by id (not with --voters: there the
	 * certification app answers pbft_app.executed) */
	uint8_t ids[SIM_APP_IDS_BYTES];
};
#define SIM_SNAPSHOT_BYTES 52u /* the header; then ids, without --voters */
void sim_app_reset(struct sim_app *a, struct sim_cluster *c, uint32_t node);
struct pbft_app sim_app_table(struct sim_app *a);
void sim_app_state_digest(const struct sim_app *a, uint8_t out[32]);

/* ---- disk: records, synced or not ---- */
struct sim_record {
	enum pbft_record_type type;
	bool synced;
	bool torn;
	bool truncate_before;
	bool update_end; /* the last record of one update: one atomic WAL frame */
	uint32_t len;
	uint8_t *bytes;
};
struct sim_disk {
	struct sim_record *recs;
	uint32_t count;
	uint32_t cap;
	uint64_t bytes;
};
void sim_disk_init(struct sim_disk *d);
void sim_disk_close(struct sim_disk *d);
/* Appends an unsynced copy. SYNOD_ELIMIT past the disk bounds, SYNOD_ENOMEM. */
SYNOD_WUR int sim_disk_append(struct sim_disk *d, const struct pbft_record *r);
/* Marks the last appended record as the end of an update (pbft.h: the records
 * of one update are one atomic write). */
void sim_disk_update_end(struct sim_disk *d);
/* Syncs records [0, upto) and, if truncate, applies truncate_before of
 * synced records: the records of earlier updates are dropped. */
void sim_disk_sync(struct sim_disk *d, uint32_t upto, bool truncate);
/* A crash: a random prefix of the unsynced updates survives whole, the next
 * one may be torn (its checksum rejects it whole on recovery), the rest is
 * lost. Adds to *lost and *torn. */
void sim_disk_crash(struct sim_disk *d, struct sim_rng *r, uint64_t *lost, uint64_t *torn);
/* Recovery found record at unreadable: the log ends before it from now on. */
void sim_disk_cut(struct sim_disk *d, uint32_t at);

/* ---- network: a bounded priority queue keyed by delivery time ---- */
struct sim_buf {
	uint32_t refs;
	uint32_t len;
	uint8_t bytes[];
};
struct sim_packet {
	uint64_t at_ms;
	uint64_t order; /* ties: send order */
	struct sim_buf *buf;
	uint32_t from;
	uint32_t to;
};
struct sim_net {
	struct sim_packet *heap;
	uint32_t count;
	uint32_t cap;
	uint64_t bytes;
	uint64_t order_next;
	struct sim_net_faults f;
	uint32_t cut[SIM_NODES_MAX]; /* bit b of cut[a]: a -> b is cut */
};
SYNOD_WUR int sim_net_init(struct sim_net *n, uint32_t cap);
void sim_net_close(struct sim_net *n);
struct sim_buf *sim_buf_new(const uint8_t *bytes, size_t len);
void sim_buf_unref(struct sim_buf *b);
/* Queues buf (a reference is taken) for delivery at at_ms. false when full. */
bool sim_net_push(struct sim_net *n, struct sim_buf *buf, uint32_t from, uint32_t to,
                  uint64_t at_ms);
/* The earliest packet's time, or UINT64_MAX when empty. */
uint64_t sim_net_next_ms(const struct sim_net *n);
/* Pops the earliest packet; the caller owns its buf reference. */
void sim_net_pop(struct sim_net *n, struct sim_packet *out);

/* ---- the checker ---- */
struct sim_seqinfo {
	uint8_t digest[32]; /* batch digest executed at this seq */
	uint8_t state[32];  /* app state digest after it */
	uint8_t ckpt[32];   /* digest of the stable checkpoint at this seq */
	bool digest_set;
	bool state_set;
	bool ckpt_set;
	uint8_t digest_node; /* who set them first */
	uint8_t state_node;
	uint8_t ckpt_node;
};
struct sim_signed {
	uint64_t view;
	uint64_t seq;
	uint64_t digest64; /* first 8 bytes of the digest */
	uint8_t node;      /* 0xff: empty slot */
	uint8_t type;
};
struct sim_ordered {
	uint64_t key; /* 0: empty */
	uint64_t seq;
};
struct sim_check {
	struct sim_seqinfo *seqs;
	uint64_t seqs_cap;
	uint64_t seq_max; /* highest seq an honest replica executed */
	struct sim_signed *signed_tab;
	uint64_t signed_cap;
	uint64_t signed_count;
	/* entries that are not the clients' (the voters' app entries, a
	 * Byzantine primary's): first 8 bytes of their SHA-256 -> the first seq
	 * that ordered them, to count duplicate executions */
	struct sim_ordered *ordered_tab;
	uint64_t ordered_cap;
	uint64_t ordered_count;
	/* digests (first 8 bytes, | 1) of PRE-PREPAREs primaries sent: certs.c */
	uint64_t *proposed;
	uint64_t proposed_cap;
	uint64_t proposed_count;
	bool proposed_full;
	struct sim_violation v;
};

/* ---- clients ---- */
struct sim_entry {
	uint64_t submitted_ms;
	uint64_t retry_ms;
	uint64_t seq; /* the first seq that ordered it, 0: not yet */
	uint32_t len;
	uint32_t submits;
};
struct sim_clients {
	struct sim_entry *e;
	uint32_t count;
	uint32_t unordered; /* entries with seq 0 */
	uint64_t seq_max;   /* highest seq ordering an entry */
	uint32_t retry_cursor;
	uint64_t next_ms; /* next client event (retries); UINT64_MAX: none */
};

/* ---- Byzantine replicas ---- */
struct sim_byz {
	uint32_t behaviours;
	uint32_t rate_ppm;
	uint64_t mute_until_ms;
	uint64_t flood_view;
	uint64_t echoed_view; /* the highest view it seconded a VIEW-CHANGE for */
	uint64_t censor_pick; /* SIM_BYZ_CENSOR_ONE: what it censors */
	uint64_t filler_ms;   /* SIM_BYZ_CENSOR_ONE: its next entry of its own */
	uint64_t fillers;
	uint64_t forged_view; /* the highest view it sent a forged VIEW-CHANGE for */
	struct sim_buf *captured[SIM_CAPTURED_MAX];
	uint32_t captured_count;
	uint32_t captured_next;
};

/* ---- replicas ---- */
struct sim_node {
	uint32_t index;
	bool up;
	bool byzantine;
	struct pbft *p;
	struct sim_app app;
	struct sim_disk disk;
	struct sim_byz byz;
	uint32_t lives;
	int64_t skew_ms;
	uint64_t timer_ms;      /* global time; 0: none */
	uint64_t tick_ms;       /* next tick, global time */
	uint64_t restart_ms;    /* when down: automatic restart time, 0: none */
	uint32_t unsynced_mark; /* records below this sync at the end of the next step */
	bool unsynced_pending;
	uint64_t view_seen;         /* highest pbft_status.view in this life */
	uint64_t view_sent;         /* highest view of a message it signed, over all lives */
	uint64_t exec_durable;      /* executed seq whose records are durable */
	uint64_t exec_pending;      /* executed seq whose records await the next sync */
	uint64_t exec_before_crash; /* exec_durable when it last crashed */
	uint64_t stable_checked;    /* the stable checkpoint seq certs.c last checked */
	struct pbft_status acc;     /* counters of previous lives */
};

struct sim_cluster {
	struct sim_options o;
	uint32_t n;
	uint32_t f;
	uint8_t cluster_id[32];
	struct sim_rng rng_net;
	struct sim_rng rng_crash;
	struct sim_rng rng_client;
	struct sim_rng rng_byz;
	struct sim_rng rng_disk;
	uint64_t now_ms;
	uint64_t step;
	bool stopped; /* a violation or the step bound */
	struct sim_crypto crypto;
	struct pbft_crypto checker_crypto;
	struct sim_net net;
	struct sim_crash_faults crash;
	struct sim_node nodes[SIM_NODES_MAX];
	struct pbft_update *upd;
	struct pbft_msg_limits lim;
	uint8_t *scratch; /* SIM_MSG_BYTES_MAX, for the adversary's encodings */
	uint8_t *scratch2;
	struct sim_check check;
	struct sim_clients clients;
	struct sim_stats stats;
	struct sim_voters *voters; /* NULL unless o.voters */
	uint32_t entry_bytes_max;
	uint32_t snapshot_bytes_max;
};

/* cluster.c / loop.c */
void sim_trace(struct sim_cluster *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_violation(struct sim_cluster *c, uint32_t node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool sim_honest(const struct sim_cluster *c, uint32_t node);
/* Sends bytes from node to `to` (or PBFT_TO_ALL) through the faulty network. */
void sim_send(struct sim_cluster *c, uint32_t from, uint32_t to, const uint8_t *bytes, size_t len);
void sim_node_crash(struct sim_cluster *c, struct sim_node *nd);
int sim_node_restart(struct sim_cluster *c, struct sim_node *nd);
/* Steps node with ev and applies the update. */
void sim_node_step(struct sim_cluster *c, struct sim_node *nd, const struct pbft_event *ev);
/* Runs the earliest pending event; false when nothing is pending before
 * until_ms (the clock then moves to until_ms). */
bool sim_loop_once(struct sim_cluster *c, uint64_t until_ms);
uint64_t sim_node_time(const struct sim_cluster *c, const struct sim_node *nd);
void sim_entry_bytes(const struct sim_cluster *c, uint32_t id, uint8_t *out, uint32_t len);
/* The entry id an entry's bytes name, or -1 when it is not one of ours. */
int32_t sim_entry_id(const struct sim_cluster *c, const uint8_t *entry, uint32_t len);
void sim_clients_tick(struct sim_cluster *c);

/* check.c */
SYNOD_WUR int sim_check_init(struct sim_check *k);
void sim_check_close(struct sim_check *k);
void sim_check_execute(struct sim_cluster *c, uint32_t node, uint64_t seq, const uint8_t digest[32],
                       const uint8_t *batch, size_t len);
void sim_check_restore(struct sim_cluster *c, uint32_t node, uint64_t seq);
/* The update's committed batches (before it is applied). */
void sim_check_committed(struct sim_cluster *c, struct sim_node *nd, const struct pbft_update *u);
/* The update's messages, as they are sent (a crash while persisting sends
 * nothing, so nothing is checked). */
void sim_check_sends(struct sim_cluster *c, struct sim_node *nd, const struct pbft_update *u);
void sim_check_status(struct sim_cluster *c, struct sim_node *nd, bool restarted);

/* certs.c: the certificate oracles (see there) */
const char *sim_certs_quorum_bad(struct sim_cluster *c, uint8_t type, uint64_t seq,
                                 const uint8_t digest[32], const uint8_t *cores, uint32_t count);
void sim_certs_send(struct sim_cluster *c, uint32_t node, const uint8_t *bytes, size_t len);
void sim_certs_stable(struct sim_cluster *c, struct sim_node *nd);
void sim_certs_wire(struct sim_cluster *c, uint32_t from, const uint8_t *bytes, size_t len);
void sim_certs_executed(struct sim_cluster *c, uint32_t node, uint64_t seq,
                        const uint8_t digest[32]);

/* voters.c (o.voters != 0 only) */
struct sim_voters;
SYNOD_WUR int sim_voters_init(struct sim_cluster *c); /* before the replicas boot */
void sim_voters_close(struct sim_voters *v);
uint32_t sim_voters_snapshot_max(const struct sim_options *o);
void sim_voters_node_reset(struct sim_cluster *c, uint32_t node); /* a fresh app, at boot */
void sim_voters_execute(struct sim_cluster *c, uint32_t node, uint64_t seq, const uint8_t *batch,
                        size_t len);
SYNOD_WUR int sim_voters_snapshot(struct sim_cluster *c, uint32_t node, uint8_t *buf, size_t cap,
                                  size_t *len);
SYNOD_WUR int sim_voters_restore(struct sim_cluster *c, uint32_t node, uint64_t seq,
                                 const uint8_t *snap, size_t len);
SYNOD_WUR int sim_voters_validate(struct sim_cluster *c, uint32_t node, const uint8_t *batch,
                                  size_t len, uint64_t now_ms);
bool sim_voters_overdue(struct sim_cluster *c, uint32_t node, uint64_t now_ms);
void sim_voters_digest(struct sim_cluster *c, uint32_t node, const uint8_t *snap, size_t len,
                       uint8_t out[32]);
bool sim_voters_expired(struct sim_cluster *c, uint32_t node, const uint8_t *entry, size_t len,
                        uint64_t now_ms);
bool sim_voters_executed(struct sim_cluster *c, uint32_t node, const uint8_t *entry, size_t len);
/* SIM_BYZ_CENSOR_ONE: is entry one that pick censors (an honest seat's VOTE,
 * or a SUBMIT of one submitter in 8)? */
bool sim_voters_censored(const struct sim_cluster *c, uint64_t pick, const uint8_t *entry,
                         size_t len);
/* An honest replica's update: voters learn from its certified batches. */
void sim_voters_committed(struct sim_cluster *c, struct sim_node *nd, const struct pbft_update *u);
uint64_t sim_voters_next_ms(const struct sim_cluster *c);
void sim_voters_drive(struct sim_cluster *c); /* ticks, submitters, voters */
void sim_voters_heal(struct sim_cluster *c);  /* no new requests from now on */
bool sim_voters_live(const struct sim_cluster *c);
void sim_voters_stuck(struct sim_cluster *c, uint64_t healed_ms, const char *why);
void sim_voters_final(struct sim_cluster *c); /* tallies, recounts, exclusions, bundles */

/* adversary.c */
void sim_byz_init(struct sim_byz *b, uint32_t behaviours, uint32_t rate_ppm);
void sim_byz_close(struct sim_byz *b);
/* false: the Byzantine replica swallows the event. */
bool sim_byz_filter(struct sim_cluster *c, struct sim_node *nd, const struct pbft_event *ev);
/* Sends u's messages, rewritten. */
void sim_byz_send(struct sim_cluster *c, struct sim_node *nd, const struct pbft_update *u);
/* Unprompted mischief, on the replica's ticks. */
void sim_byz_tick(struct sim_cluster *c, struct sim_node *nd);
/* Encodes core | payload (signed as nd if resign) and sends it, counted. */
void sim_byz_emit(struct sim_cluster *c, struct sim_node *nd, uint32_t to,
                  const struct pbft_core *core, const uint8_t *payload, uint32_t payload_len,
                  bool resign);

/* forge.c: forgeries with one defect each (see there); true when sent. */
bool sim_forge_view_change(struct sim_cluster *c, struct sim_node *nd, const struct pbft_msg *m);
bool sim_forge_state(struct sim_cluster *c, struct sim_node *nd, uint32_t to,
                     const struct pbft_msg *m);
void sim_forge_backup_propose(struct sim_cluster *c, struct sim_node *nd);

#endif

/* Private to the files of coordinator/app: the state layout and helpers shared
 * between them. Not part of the public API. */
#ifndef SYNOD_APP_INTERNAL_H
#define SYNOD_APP_INTERNAL_H

#include "common/merkle_log.h"
#include "coordinator/app/app.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define APP_NO_SEAT 0xffu

/* A seat's vote on one request. */
enum app_slot_status {
	SLOT_NONE = 0,
	SLOT_COUNTED = 1,     /* recorded while the request was open */
	SLOT_LATE = 2,        /* first recorded after the decision */
	SLOT_EQUIVOCATED = 3, /* a second, different vote followed (pos2) */
};

struct app_slot {
	uint8_t status;
	uint8_t verdict;
	uint8_t late2; /* EQUIVOCATED: 1 when the second vote came after the decision */
	struct synod_app_pos pos;
	uint8_t digest[SYNOD_HASH_BYTES]; /* SHA-256 of the signed "vote" bytes */
	struct synod_app_pos pos2;
	uint8_t digest2[SYNOD_HASH_BYTES];
};

struct app_ignored {
	struct synod_app_pos pos;
	uint8_t reason;
	uint8_t seat;
};

struct app_request {
	bool used;
	uint8_t outcome;
	uint8_t id[SYNOD_HASH_BYTES];
	uint64_t order; /* submit ordinal */
	struct synod_app_pos submitted_at;
	struct synod_app_pos decided_at;
	uint64_t deadline_ms;
	uint64_t epoch;
	uint64_t eligible;
	uint8_t voter_set_hash[SYNOD_HASH_BYTES];
	/* the tally, frozen at the decision */
	uint32_t approvals;
	uint32_t rejections;
	uint64_t approved_by;
	uint64_t rejected_by;
	uint64_t equivocators;
	uint64_t decision_index; /* decided: its leaf in the log of decisions */
	uint16_t ignored_count;
	struct app_ignored ignored[SYNOD_APP_IGNORED_PER_REQUEST_MAX];
};

struct app_exclusion {
	bool used;
	uint8_t seat;
	uint8_t kind;
	uint64_t from_epoch;
	uint64_t until_epoch;
	uint64_t detected_epoch;
	uint64_t order;
	uint8_t request_id[SYNOD_HASH_BYTES];
	struct synod_app_pos pos[2];
	uint8_t digest[2][SYNOD_HASH_BYTES];
	uint64_t missed;
};

/* An ignored entry of any kind, for the API. */
struct app_recent {
	struct synod_app_pos pos;
	uint8_t kind;   /* enum synod_entry_kind, or 0 for an unknown kind */
	uint8_t reason; /* enum synod_vote_reason for votes, synod_submit_result for submits */
	uint8_t seat;   /* APP_NO_SEAT when unknown */
	uint8_t request_id[SYNOD_HASH_BYTES]; /* zero when unknown */
};

/* A checkpoint digest this app computed, with its preimage. */
struct app_checkpoint {
	bool used;
	uint8_t digest[SYNOD_HASH_BYTES];
	uint64_t decisions;
	uint8_t decisions_root[SYNOD_HASH_BYTES];
	uint8_t state_hash[SYNOD_HASH_BYTES];
};
#define APP_CHECKPOINTS_KEPT 8u

/* Everything the snapshot holds. Two copies exist: restore decodes into the
 * spare one and swaps, so a bad snapshot leaves the state untouched. */
struct app_state {
	uint64_t last_seq;
	struct synod_app_pos last_pos;
	uint64_t log_time_ms;
	uint64_t next_order;
	struct synod_epoch epoch;
	struct synod_epoch history[SYNOD_APP_EPOCHS_KEPT]; /* logical order, oldest first */
	uint32_t history_count;
	uint64_t decisions[SYNOD_OUTCOME_COUNT];
	uint64_t votes[SYNOD_VOTE_REASON_COUNT];
	uint64_t submits[SYNOD_SUBMIT_RESULT_COUNT];
	uint64_t ticks;
	uint64_t ticks_backwards;
	uint64_t entries_malformed;
	uint64_t ignored_not_kept;
	uint32_t missed[SYNOD_APP_SEATS_MAX]; /* non-participation: decisions missed in a row */
	uint8_t missed_request[SYNOD_APP_SEATS_MAX][SYNOD_HASH_BYTES]; /* the last one missed */
	struct app_recent recent[SYNOD_APP_RECENT_IGNORED_MAX];        /* ring */
	uint32_t recent_head;                                          /* next write */
	uint32_t recent_count;
	uint32_t requests_used;
	uint32_t requests_open;
	struct app_request *requests;     /* [requests_max] */
	struct app_slot *slots;           /* [requests_max * seats] */
	struct app_exclusion *exclusions; /* [SYNOD_APP_EXCLUSIONS_MAX] */
};

struct synod_app {
	struct synod_app_config cfg;
	uint32_t seats;
	uint32_t requests_max;
	uint8_t config_digest[SYNOD_HASH_BYTES];
	struct pbft_msg_limits batch_limits;
	struct app_state *st;
	struct app_state *spare;
	/* request id -> slot + 1 (0: empty), linear probing; rebuilt on restore */
	uint32_t *index;
	uint32_t index_cap;    /* a power of two, >= 2 * requests_max */
	uint8_t index_key[16]; /* SipHash key, random per process: ids cannot be ground */
	/* The log of decisions (leaf i: the i-th decision's record), kept from
	 * dlog.base on to prove decisions in bundles; its size and root are part
	 * of every checkpoint digest (decisions.c). */
	struct synod_merkle_log dlog;
	struct app_checkpoint ckpts[APP_CHECKPOINTS_KEPT]; /* ring */
	uint32_t ckpt_next;
};

/* ---- the log of decisions (decisions.c) ---- */

/* What a decision's leaf commits to: the decision and every vote its bundle
 * lists, each with what it was (SYNOD_VOTE_COUNTED or the reason it was
 * ignored), in log order, and every exclusion of its epoch. That rules out
 * any other reading of the same certified entries: another outcome, an
 * omitted vote, TICK or equivocation, another epoch, another exclusion
 * window or evidence pair. */
#define APP_DECISION_VOTES_MAX (3u * SYNOD_APP_SEATS_MAX + SYNOD_APP_IGNORED_PER_REQUEST_MAX)
struct app_decision_record {
	uint8_t request_id[SYNOD_HASH_BYTES];
	uint8_t outcome;
	struct synod_app_pos submitted_at;
	struct synod_app_pos decided_at;
	uint64_t epoch;
	uint8_t voter_set_hash[SYNOD_HASH_BYTES];
	uint64_t eligible;
	uint32_t vote_count;
	struct app_ignored votes[APP_DECISION_VOTES_MAX]; /* reason: COUNTED or why ignored */
	/* Every exclusion of the request's epoch, by seat, with every field its
	 * bundle shows: signed evidence proves that a seat equivocated, not
	 * which window the cluster excluded it for nor which of its conflicting
	 * pairs the cluster recorded, and non-participation has no signed
	 * evidence at all. */
	uint32_t exclusion_count;
	struct app_decision_exclusion {
		uint8_t seat;
		uint8_t kind; /* enum synod_exclusion_kind */
		uint64_t from_epoch;
		uint64_t until_epoch;
		uint8_t request_id[SYNOD_HASH_BYTES]; /* the equivocation's or the last missed */
		struct synod_app_pos pos[2];          /* equivocation: the two votes */
		uint8_t digest[2][SYNOD_HASH_BYTES];  /* equivocation: their signed bytes */
		uint64_t missed;                      /* non-participation */
	} exclusions[SYNOD_APP_SEATS_MAX];
};

/* The record of decided request r: its counted votes, both votes of each seat
 * that equivocated before the decision, and its kept ignored votes up to the
 * decision (exactly what synod_bundle_build lists). */
void app_decision_record_of(const struct synod_app *a, const struct app_request *r,
                            struct app_decision_record *d);
/* The leaf hash (RFC 9162 leaf of the record's canonical bytes). */
void app_decision_leaf(const uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES],
                       const struct app_decision_record *d, uint8_t out[SYNOD_HASH_BYTES]);
/* The record's canonical bytes (what the leaf hashes; bundles carry them as
 * checkpoint.record): returns their length. */
#define APP_DECISION_EXCLUSION_BYTES_MAX                                                           \
	(2u + 2u * 8u + SYNOD_HASH_BYTES + 2u * 12u + 2u * SYNOD_HASH_BYTES + 8u)
#define APP_DECISION_BYTES_MAX                                                                     \
	(8u + SYNOD_CLUSTER_ID_BYTES + 2u * SYNOD_HASH_BYTES + 1u + 2u * 12u + 8u + 8u + 4u +      \
	 APP_DECISION_VOTES_MAX * 14u + 4u +                                                       \
	 SYNOD_APP_SEATS_MAX * APP_DECISION_EXCLUSION_BYTES_MAX)
size_t app_decision_encode(const uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES],
                           const struct app_decision_record *d,
                           uint8_t out[APP_DECISION_BYTES_MAX]);
/* Reads canonical record bytes (any bytes: a bundle's) into d and the
 * cluster id they name. 0, or SYNOD_EINVAL for bytes app_decision_encode
 * never writes (wrong magic or version, counts over the caps, an unknown
 * exclusion kind, short or trailing bytes). */
SYNOD_WUR int app_decision_decode(const uint8_t *p, size_t len,
                                  uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES],
                                  struct app_decision_record *d);
/* Reports, one line each by the bundle's path, every field in which bundle
 * (a bundle's reading of a decision) differs from cert (the record the
 * cluster certified); exclusion_at[i] is the index in the bundle's
 * epoch.exclusions of bundle->exclusions[i]. All borrowed. Returns how many
 * lines were reported (record_diff.c). */
uint32_t app_decision_diff(const struct app_decision_record *bundle, const uint32_t exclusion_at[],
                           const struct app_decision_record *cert, synod_bundle_report_fn report,
                           void *ctx);
/* Appends r's record; sets r->decision_index. */
void app_decision_append(struct synod_app *a, struct app_request *r);
/* The checkpoint digest from its preimage. */
void app_checkpoint_digest(uint64_t decisions, const uint8_t root[SYNOD_HASH_BYTES],
                           const uint8_t state_hash[SYNOD_HASH_BYTES],
                           uint8_t out[SYNOD_HASH_BYTES]);
const struct app_checkpoint *app_checkpoint_find(const struct synod_app *a,
                                                 const uint8_t digest[SYNOD_HASH_BYTES]);

/* ---- helpers (codec.c) ---- */

/* A string member of obj checked for presence and type; SYNOD_ENOTFOUND or
 * SYNOD_EJSON_TYPE. */
int app_json_member(const struct json_object *obj, const char *key, enum json_type type,
                    struct json_object **out);
/* Refuses members of obj not in allowed (NULL-terminated); *bad gets the first
 * one. */
bool app_json_keys_ok(const struct json_object *obj, const char *const allowed[], const char **bad);
/* Exactly 2n lowercase hex digits decoded into out. */
bool app_hex_lower_decode(uint8_t *out, size_t n, const char *s, size_t len);
/* 1..max bytes of [A-Za-z0-9._+:/@-]. */
bool app_ident_ok(const char *s, size_t len, size_t max);
void app_hex(char *out, const uint8_t *p, size_t n); /* out has 2n+1 bytes */
uint32_t app_popcount(uint64_t x);
uint64_t app_all_seats(uint32_t seats);
/* a + b, saturating at UINT64_MAX (epoch numbers). */
uint64_t app_epoch_add(uint64_t a, uint64_t b);
/* Permissive batch limits (what any PBFT replica could have accepted). */
void app_batch_limits(struct pbft_msg_limits *lim);

/* ---- state machine internals ---- */

void app_index_remove(struct synod_app *a, const uint8_t id[SYNOD_HASH_BYTES]);
void app_request_index_add(struct synod_app *a, uint32_t slot);
uint64_t app_tick_decode(const uint8_t *entry);
struct app_request *app_request_find(const struct synod_app *a, const struct app_state *st,
                                     const uint8_t id[SYNOD_HASH_BYTES]);
static inline struct app_slot *app_slots_of(const struct synod_app *a, const struct app_state *st,
                                            const struct app_request *r)
{
	return st->slots + (size_t)(r - st->requests) * a->seats;
}
void app_index_rebuild(struct synod_app *a);
void app_tally_fill(const struct app_request *r, struct synod_tally *out);

/* epoch.c */
void app_epoch_first(struct synod_app *a);
void app_epoch_after_decision(struct synod_app *a, struct synod_app_pos pos);
void app_epoch_after_tick(struct synod_app *a, struct synod_app_pos pos);
void app_exclusion_equivocation(struct synod_app *a, uint32_t seat, const struct app_request *r,
                                const struct app_slot *slot, struct synod_app_pos pos);
void app_participation_record(struct synod_app *a, const struct app_request *r);
void app_participation_vote(struct synod_app *a, uint32_t seat);
void app_event(const struct synod_app *a, const struct synod_app_event *ev);
void app_exclusion_view(const struct app_exclusion *x, struct synod_exclusion *out);
/* The record that excludes seat from epoch, or NULL. */
const struct app_exclusion *app_exclusion_covering(const struct synod_app *a, uint32_t seat,
                                                   uint64_t epoch);

/* Vote checks shared by the state machine and the recount: the signature via
 * crypto (default synod_sig_verify). */
int app_vote_sig_check(const struct synod_vote_crypto *crypto, const uint8_t *cluster_id,
                       const struct synod_vote_envelope *env, const char *buf, const uint8_t *pk);

/* ---- the recount engine (recount.c), used by synod_app_recount and the bundle
 * verifier: feeds votes of one request in log order ---- */

struct recount_seat {
	uint8_t status; /* enum app_slot_status */
	uint8_t verdict;
	uint8_t digest[SYNOD_HASH_BYTES];
	uint8_t digest2[SYNOD_HASH_BYTES];
	struct synod_app_pos pos;
};

struct recount {
	const struct synod_cluster *cluster;
	const struct synod_vote_crypto *crypto;
	uint8_t request_id[SYNOD_HASH_BYTES];
	uint64_t epoch;
	uint64_t eligible;
	struct synod_tally tally;
	struct recount_seat seat[SYNOD_APP_SEATS_MAX];
};

void recount_init(struct recount *rc, const struct synod_cluster *c,
                  const struct synod_vote_crypto *crypto,
                  const uint8_t request_id[SYNOD_HASH_BYTES], uint64_t epoch, uint64_t eligible,
                  uint64_t deadline_ms, struct synod_app_pos at);
/* Applies one vote payload; returns what became of it (COUNTED or a reason).
 * *seat gets the vote's seat (UINT32_MAX when malformed). */
enum synod_vote_reason recount_vote(struct recount *rc, struct synod_app_pos pos,
                                    const uint8_t *payload, size_t len, uint32_t *seat);
/* Applies a TICK at log time t. */
void recount_tick(struct recount *rc, struct synod_app_pos pos, uint64_t t);

/* ---- evidence helpers (evidence.c) ---- */

/* The smallest tree size s in (index, size] for which an RFC 9162 inclusion
 * path of index has the same shape as in a tree of size leaves. */
uint64_t app_proof_size_canonical(uint64_t index, uint64_t size);
/* true when no s in (index, size) shares the shape of (index, size). */
bool app_proof_size_is_canonical(uint64_t index, uint64_t size);

#endif

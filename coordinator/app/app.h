/* The certification state machine: requests, signed votes, the tally, epochs,
 * exclusions, evidence bundles and their offline verifier.
 *
 * Every coordinator applies the committed PBFT log, entry by entry, to one of
 * these; identical logs give identical states and identical snapshot bytes.
 * The state machine is pure: no clock, no I/O, no randomness; signatures are
 * checked through an injected table (libsodium by default). It is reached by
 * the PBFT core through synod_app_pbft() (execute, validate, snapshot,
 * restore). See coordinator/app/README.md for the formats (entries, request,
 * vote, policy, cluster.json, snapshot, bundle) and the rules, in words.
 *
 * Sections: positions and entries; policy and cluster; requests; votes; the
 * state machine; reading its state; recount and exclusion checks; evidence
 * bundles; the PBFT crypto adapter. Conventions: 0 or a negative synod_err;
 * errmsg (may be NULL when errmsg_len is 0) says which field and why; every
 * pointer argument is borrowed for the call unless said otherwise. */
#ifndef SYNOD_APP_H
#define SYNOD_APP_H

#include "common/config.h"
#include "common/err.h"
#include "common/sign.h"
#include "coordinator/app/limits.h"
#include "coordinator/pbft/pbft.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- positions and entries ---- */

/* Where an entry sits in the log: PBFT sequence number and index in its batch. */
struct synod_app_pos {
	uint64_t seq;
	uint32_t index;
};

/* -1, 0 or 1 as a is before, at or after b in log order. */
int synod_app_pos_cmp(struct synod_app_pos a, struct synod_app_pos b);

/* An entry is one kind byte and a payload. */
enum synod_entry_kind {
	SYNOD_ENTRY_SUBMIT = 1, /* a request, canonical JSON */
	SYNOD_ENTRY_VOTE = 2,   /* a vote envelope, canonical JSON */
	SYNOD_ENTRY_TICK = 3,   /* u64 big-endian log time in ms, from the primary */
};

/* Writes kind || payload into out (cap bytes); *len gets the total.
 * SYNOD_ELIMIT when it does not fit or exceeds SYNOD_APP_ENTRY_BYTES_MAX. */
SYNOD_WUR int synod_entry_encode(uint8_t *out, size_t cap, size_t *len, enum synod_entry_kind kind,
                                 const void *payload, size_t payload_len);
/* Writes the TICK entry for log_time_ms. */
void synod_entry_tick(uint8_t out[SYNOD_APP_TICK_BYTES], uint64_t log_time_ms);

/* RFC 9162 Merkle root over the batch's entries (leaf = entry bytes; empty
 * batch = SHA-256("")): the batch digest that COMMITs sign, so an entry's
 * inclusion proof checks against a commit certificate. SYNOD_EINVAL for a
 * malformed batch, SYNOD_ENOMEM. */
SYNOD_WUR int synod_batch_merkle_root(uint8_t out[SYNOD_HASH_BYTES], const uint8_t *batch,
                                      size_t len);

/* ---- policy and cluster ---- */

/* The quorum and epoch policy (policies/default.json). Replicated config:
 * every coordinator of a cluster must use the same one. */
struct synod_policy {
	char id[SYNOD_APP_ID_BYTES_MAX + 1];
	uint32_t seats;                 /* SYNOD_APP_SEATS_MIN..SYNOD_APP_SEATS_MAX */
	uint32_t threshold;             /* approvals that decide; see synod_policy_threshold_min */
	uint64_t epoch_decisions;       /* advance after this many decisions (0: never) */
	uint64_t epoch_log_time_ms;     /* advance after this much log time (0: never) */
	uint64_t exclusion_epochs;      /* an exclusion lasts this many epochs (>= 1) */
	uint64_t tick_skew_ms_max;      /* a TICK within this of a backup's clock */
	uint64_t deadline_ms_max;       /* a deadline at most this far past log time */
	uint32_t requests_retained_max; /* requests kept (open and decided) */
	bool non_participation;         /* exclude seats that stop voting (default off) */
	uint64_t np_missed_decisions_max; /* ... after missing this many decisions */
};

/* The smallest threshold a policy may set for seats: ceil((n + f + 1) / 2)
 * with f = floor((n - 1) / 3), so that any two deciding sets share at least
 * f + 1 seats. It is never below two thirds of the seats: 22 for 33. */
uint32_t synod_policy_threshold_min(uint32_t seats);

/* The values of policies/default.json (33 seats, threshold 22, ...). */
void synod_policy_defaults(struct synod_policy *p);

/* Checks every field of p; SYNOD_ECONFIG with errmsg naming the field
 * ("threshold: 21 is at or below ..."). */
SYNOD_WUR int synod_policy_check(const struct synod_policy *p, char *errmsg, size_t errmsg_len);

/* Reads the policy object at key prefix (NULL or "" for the top level, e.g.
 * "policy" inside cluster.json) of a loaded config and checks it. Unknown
 * keys are refused. Errors name the file and the key: those of the
 * synod_config getters, SYNOD_ECONFIG. */
SYNOD_WUR int synod_policy_from_config(struct synod_policy *p, const struct synod_config *c,
                                       const char *prefix, char *errmsg, size_t errmsg_len);

/* Loads a policy file (policies/default.json). */
SYNOD_WUR int synod_policy_load(struct synod_policy *p, const char *path, char *errmsg,
                                size_t errmsg_len);

/* Parses a policy from text; name stands for the file in messages. */
SYNOD_WUR int synod_policy_parse(struct synod_policy *p, const char *json, size_t len,
                                 const char *name, char *errmsg, size_t errmsg_len);

/* Canonical JSON of p (all fields explicit) into out (cap bytes, with NUL);
 * identical policies give identical bytes. SYNOD_ELIMIT when it does not fit
 * (1 KiB always does). */
SYNOD_WUR int synod_policy_canonical(const struct synod_policy *p, char *out, size_t cap,
                                     size_t *len);

/* cluster.json: who is who. Replicated config too. */
struct synod_cluster {
	uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES];
	uint32_t replicas; /* n = 3f+1, 4..SYNOD_APP_REPLICAS_MAX */
	uint8_t replica_keys[SYNOD_APP_REPLICAS_MAX][SYNOD_PUBKEY_BYTES]; /* PBFT keys */
	uint8_t seat_keys[SYNOD_APP_SEATS_MAX][SYNOD_PUBKEY_BYTES];       /* policy.seats used */
	struct synod_policy policy;
};

/* Loads and checks cluster.json (format in README.md): the seat count must
 * equal policy.seats, replicas 3f+1, keys 64 hex characters, no key twice.
 * Errors name the file and the key. */
SYNOD_WUR int synod_cluster_load(struct synod_cluster *c, const char *path, char *errmsg,
                                 size_t errmsg_len);
/* As synod_cluster_load, from text; name stands for the file in messages. */
SYNOD_WUR int synod_cluster_parse(struct synod_cluster *c, const char *json, size_t len,
                                  const char *name, char *errmsg, size_t errmsg_len);
/* Checks a cluster built in code (same rules). */
SYNOD_WUR int synod_cluster_check(const struct synod_cluster *c, char *errmsg, size_t errmsg_len);

/* Writes cluster.json text for c (checked first) into out (cap bytes, with
 * NUL; *len without): one member per line, the policy canonical. Names
 * (NULL: "replica-N" / "seat-N") are 1..63 characters of [A-Za-z0-9._-].
 * Errors: SYNOD_ECONFIG (naming the field), SYNOD_ELIMIT (cap too small; 16
 * KiB always suffices). */
#define SYNOD_CLUSTER_JSON_BYTES_MAX 16384u
SYNOD_WUR int synod_cluster_format(const struct synod_cluster *c, const char *const *replica_names,
                                   const char *const *seat_names, char *out, size_t cap,
                                   size_t *len, char *errmsg, size_t errmsg_len);

/* SHA-256 of the canonical JSON [{"pubkey":"<hex>","seat":N},...] of the
 * seats in eligible (bit i = seat i), ascending: the voter-set hash. */
void synod_voter_set_hash(uint8_t out[SYNOD_HASH_BYTES], const struct synod_cluster *c,
                          uint64_t eligible);

/* ---- requests ---- */

struct synod_artifact {
	char name[SYNOD_APP_ARTIFACT_NAME_BYTES_MAX + 1];
	uint8_t sha256[SYNOD_HASH_BYTES];
};

/* A certification request (about 5 KiB: keep it off small stacks). */
struct synod_request {
	char system_id[SYNOD_APP_ID_BYTES_MAX + 1];
	char system_version[SYNOD_APP_ID_BYTES_MAX + 1];
	char policy[SYNOD_APP_ID_BYTES_MAX + 1];
	char submitter[SYNOD_APP_ID_BYTES_MAX + 1];
	uint64_t deadline_ms; /* log time */
	uint32_t artifact_count;
	struct synod_artifact artifacts[SYNOD_APP_ARTIFACTS_MAX];
};

/* Decodes a SUBMIT payload: canonical JSON (synod_json_parse_canonical), then
 * every field. id gets SHA-256(buf) (may be NULL). On failure errmsg names the
 * field: 'request: field "artifacts[1].sha256": expected 64 lowercase hex
 * characters'. Errors: the JSON ones, SYNOD_EINVAL (a field), SYNOD_ELIMIT
 * (longer than SYNOD_APP_REQUEST_BYTES_MAX). */
SYNOD_WUR int synod_request_decode(struct synod_request *out, uint8_t id[SYNOD_HASH_BYTES],
                                   const char *buf, size_t len, char *errmsg, size_t errmsg_len);

/* Encodes r as canonical JSON. On success *out is malloc'd (caller frees),
 * NUL-terminated, *len its length, and id (may be NULL) the request id.
 * Checks r as synod_request_decode does. */
SYNOD_WUR int synod_request_encode(const struct synod_request *r, char **out, size_t *len,
                                   uint8_t id[SYNOD_HASH_BYTES], char *errmsg, size_t errmsg_len);

/* ---- votes ---- */

enum synod_verdict {
	SYNOD_VERDICT_APPROVE = 1,
	SYNOD_VERDICT_REJECT = 2,
};

struct synod_vote {
	uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES];
	uint8_t request_id[SYNOD_HASH_BYTES];
	uint64_t epoch;
	uint32_t seat;
	enum synod_verdict verdict;
	uint8_t reason_digest[SYNOD_HASH_BYTES];
	char plugin_name[SYNOD_APP_PLUGIN_NAME_BYTES_MAX + 1];
	char plugin_version[SYNOD_APP_PLUGIN_VERSION_BYTES_MAX + 1];
};

/* A decoded vote envelope: the vote, its signature, and where the signed
 * bytes (the canonical "vote" object) sit inside the input. */
struct synod_vote_envelope {
	struct synod_vote vote;
	uint8_t sig[SYNOD_SIG_BYTES];
	size_t signed_offset;
	size_t signed_len;
};

/* Decodes a VOTE payload {"sig":"<base64url>","vote":{...}}: canonical JSON,
 * exact key sets, every field checked (errmsg names it). Does not check the
 * signature. Errors: the JSON ones, SYNOD_EINVAL, SYNOD_ELIMIT (longer than
 * SYNOD_APP_VOTE_BYTES_MAX). */
SYNOD_WUR int synod_vote_decode(struct synod_vote_envelope *out, const char *buf, size_t len,
                                char *errmsg, size_t errmsg_len);

/* Writes the canonical bytes of v's "vote" object (the signed message) into
 * out (cap bytes, NUL-terminated); *len without the NUL. SYNOD_EINVAL names a
 * bad field (plugin strings: 1.. bytes of [A-Za-z0-9._+:/@-]), SYNOD_ELIMIT. */
SYNOD_WUR int synod_vote_encode(const struct synod_vote *v, char *out, size_t cap, size_t *len,
                                char *errmsg, size_t errmsg_len);

/* Writes the envelope around signed bytes and a signature (NUL-terminated). */
SYNOD_WUR int synod_vote_envelope_encode(char *out, size_t cap, size_t *len, const char *vote,
                                         size_t vote_len, const uint8_t sig[SYNOD_SIG_BYTES]);

/* Encodes v, signs it with s (tag SYNOD_TAG_VOTE, v's cluster id) and writes
 * the envelope: what a voter submits as a VOTE payload. */
SYNOD_WUR int synod_vote_sign(struct synod_signer *s, const struct synod_vote *v, char *out,
                              size_t cap, size_t *len, char *errmsg, size_t errmsg_len);

/* 0 when the envelope's signature is pk's over its signed bytes (tag
 * SYNOD_TAG_VOTE, cluster_id), else SYNOD_EBADSIG. */
SYNOD_WUR int synod_vote_verify(const struct synod_vote_envelope *env, const char *buf,
                                const uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES],
                                const uint8_t pk[SYNOD_PUBKEY_BYTES]);

/* ---- the state machine ---- */

enum synod_outcome {
	SYNOD_OUTCOME_OPEN = 0,
	SYNOD_OUTCOME_APPROVED = 1,
	SYNOD_OUTCOME_REJECTED = 2,
	SYNOD_OUTCOME_EXPIRED = 3,
};
#define SYNOD_OUTCOME_COUNT 4

/* What became of a vote. Names (synod_vote_reason_name) are the words used in
 * bundles, events and metrics. */
enum synod_vote_reason {
	SYNOD_VOTE_COUNTED = 0,
	SYNOD_VOTE_BAD_SIGNATURE = 1,
	SYNOD_VOTE_UNKNOWN_REQUEST = 2,
	SYNOD_VOTE_CLOSED_REQUEST = 3, /* late: the request was already decided */
	SYNOD_VOTE_WRONG_EPOCH = 4,
	SYNOD_VOTE_WRONG_CLUSTER = 5,
	SYNOD_VOTE_EXCLUDED_SEAT = 6,
	SYNOD_VOTE_UNKNOWN_SEAT = 7,
	SYNOD_VOTE_EQUIVOCATION = 8,
	SYNOD_VOTE_DUPLICATE = 9,
	SYNOD_VOTE_MALFORMED = 10,
};
#define SYNOD_VOTE_REASON_COUNT 11

/* What became of a SUBMIT. */
enum synod_submit_result {
	SYNOD_SUBMIT_ACCEPTED = 0,
	SYNOD_SUBMIT_DUPLICATE = 1, /* already known: idempotent */
	SYNOD_SUBMIT_MALFORMED = 2,
	SYNOD_SUBMIT_EXPIRED = 3, /* deadline at or before log time */
	SYNOD_SUBMIT_TOO_FAR = 4, /* deadline beyond log time + deadline_ms_max */
	SYNOD_SUBMIT_FULL = 5,    /* requests_retained_max reached, none evictable */
};
#define SYNOD_SUBMIT_RESULT_COUNT 6

/* "open", "APPROVED", "REJECTED", "EXPIRED". */
const char *synod_outcome_name(enum synod_outcome o);
/* "counted", "bad_signature", ..., "malformed". */
const char *synod_vote_reason_name(enum synod_vote_reason r);
/* The reason with that name, or SYNOD_ENOTFOUND. */
SYNOD_WUR int synod_vote_reason_parse(const char *name, enum synod_vote_reason *out);
/* "accepted", "duplicate", "malformed", "expired", "too_far", "full". */
const char *synod_submit_result_name(enum synod_submit_result r);

/* Verifies a vote's signature: sig over msg (the canonical "vote" object)
 * under pk; 0 when valid. The default (verify NULL) is synod_sig_verify with
 * SYNOD_TAG_VOTE and the cluster id. The simulator may inject a cheap fake;
 * benches a no-op to measure the rest of the apply path. */
struct synod_vote_crypto {
	void *ctx;
	int (*verify)(void *ctx, const uint8_t sig[SYNOD_SIG_BYTES], const uint8_t *msg, size_t len,
	              const uint8_t pk[SYNOD_PUBKEY_BYTES]);
};

enum synod_app_event_type {
	SYNOD_APP_EV_SUBMIT = 1,    /* .submit says what became of it; .request_id if decodable */
	SYNOD_APP_EV_VOTE = 2,      /* .reason (COUNTED or why ignored), .seat, .request_id */
	SYNOD_APP_EV_DECIDED = 3,   /* .outcome, .request_id, .approvals, .rejections */
	SYNOD_APP_EV_EPOCH = 4,     /* .epoch: the new epoch, now current */
	SYNOD_APP_EV_EXCLUDED = 5,  /* .seat, .epoch: first excluded epoch, .exclusion: its index */
	SYNOD_APP_EV_TICK = 6,      /* .log_time_ms; .ignored when it went backwards */
	SYNOD_APP_EV_MALFORMED = 7, /* an entry of unknown kind or a bad TICK */
};

/* Handed to the observer while an entry is applied; valid for the call. */
struct synod_app_event {
	enum synod_app_event_type type;
	struct synod_app_pos pos;  /* the entry that caused it */
	const uint8_t *request_id; /* NULL when none */
	uint32_t seat;             /* UINT32_MAX when none */
	enum synod_vote_reason reason;
	enum synod_submit_result submit;
	enum synod_outcome outcome;
	uint64_t epoch;
	uint64_t log_time_ms;
	uint32_t approvals;
	uint32_t rejections;
	uint32_t exclusion;
	bool ignored;
};

struct synod_app_config {
	struct synod_cluster cluster; /* copied; seat keys and policy are what matter */
	struct synod_vote_crypto crypto;
	/* Optional observer, called synchronously during execute (and restore: no
	 * events). It must not call back into the app except the const getters. */
	void (*on_event)(void *ctx, const struct synod_app_event *ev);
	void *event_ctx;
};

struct synod_app; /* opaque */

/* Allocates every table the policy needs (all memory, once). On failure errmsg
 * names the bad field. Errors: SYNOD_ECONFIG, SYNOD_ENOMEM. */
SYNOD_WUR int synod_app_init(struct synod_app **out, const struct synod_app_config *cfg,
                             char *errmsg, size_t errmsg_len);
/* Frees a. NULL is a no-op. */
void synod_app_close(struct synod_app *a);

/* The PBFT callback table over a (borrowed: a must outlive the replica). */
/* pbft_app.admit: 0 for an entry a peer may forward (SUBMIT, VOTE), else
 * SYNOD_EINVAL (TICKs come only from the primary's own driver). */
int synod_app_admit(const uint8_t *entry, size_t len);
/* pbft_app.overdue: true when log time lags now_ms (this replica's wall
 * clock) by more than 2 x tick.skew_ms_max. An honest primary proposes TICKs
 * every second or so, and honest clocks are within tick.skew_ms_max of each
 * other (else its TICKs would be refused), so a lag that large means the
 * primary withholds TICKs: deadlines would never pass and time-based epochs
 * never start. The core then times the primary out (pbft.h). */
bool synod_app_overdue(const struct synod_app *a, uint64_t now_ms);
/* pbft_app.expired: true for a TICK that can no longer move log time or that
 * the backups' clocks would refuse; the primary drops it. */
bool synod_app_tick_expired(const struct synod_app *a, const uint8_t *entry, size_t len,
                            uint64_t now_ms);
/* pbft_app.executed: true when the state holds entry already: a SUBMIT whose
 * request id it knows (retained requests), a VOTE whose exact signed vote
 * its seat's slot on the request holds, a TICK at or below log time. The
 * core then neither queues nor proposes it again (after a restart or a
 * snapshot, its own ring of executed entries does not know it). */
bool synod_app_executed(const struct synod_app *a, const uint8_t *entry, size_t len);
struct pbft_app synod_app_pbft(struct synod_app *a);

/* pbft_app.execute: applies every entry of the committed batch at seq, in
 * order. seq must follow the last executed one (asserted). A malformed batch
 * applies nothing (counted). */
void synod_app_execute(struct synod_app *a, uint64_t seq, const uint8_t *batch, size_t len);

/* Applies one entry at pos (pos after every position applied so far,
 * asserted): what execute does per entry. For tests and the simulator. */
void synod_app_apply(struct synod_app *a, struct synod_app_pos pos, const uint8_t *entry,
                     size_t len);

/* pbft_app.validate: 0 when every TICK in the batch that would move log time
 * (one above the log time and above the earlier TICKs of the batch) is within
 * the policy's tick_skew_ms_max of now_ms (a wall clock: Unix ms); TICKs at or
 * below that are accepted, since apply ignores them (ticks_backwards), and
 * refusing them would let a stale TICK stall an honest primary. SYNOD_EINVAL
 * otherwise, and for a malformed TICK (logged and counted). Other entries are
 * never refused here: a client's bad entry must not cost a view change. */
SYNOD_WUR int synod_app_validate(struct synod_app *a, const uint8_t *batch, size_t len,
                                 uint64_t now_ms);

/* The TICK value a primary should propose: max(now_ms, log time). */
uint64_t synod_app_tick_propose(const struct synod_app *a, uint64_t now_ms);

/* Canonical snapshot (identical state, identical bytes). SYNOD_ELIMIT when cap
 * is too small; synod_app_snapshot_bytes_max bounds it. */
SYNOD_WUR int synod_app_snapshot(const struct synod_app *a, uint8_t *buf, size_t cap, size_t *len);
/* Worst-case snapshot bytes for a policy (set the PBFT snapshot_bytes_max to
 * at least this). */
size_t synod_app_snapshot_bytes_max(const struct synod_policy *p);
/* Replaces the state with a snapshot taken after seq. The snapshot is checked
 * completely first (structure, ranges, cluster and policy digest, seq); on any
 * error the state is unchanged. SYNOD_EINVAL, SYNOD_ETRUNC, SYNOD_ETRAILING,
 * SYNOD_ECONFIG (another cluster or policy). */
SYNOD_WUR int synod_app_restore(struct synod_app *a, uint64_t seq, const uint8_t *snap, size_t len);
/* pbft_app.digest: the checkpoint digest of a snapshot, SHA-256 of
 * "synod.checkpoint.v1" || decisions (u64 big-endian) || the root of the log
 * of decisions || SHA-256(snapshot), with the size and root read from the
 * snapshot's header (README.md, "The log of decisions"). Takes any bytes. It
 * remembers the last few digests with their preimages, for
 * synod_bundle_build. */
void synod_app_checkpoint_digest(struct synod_app *a, const uint8_t *snap, size_t len,
                                 uint8_t out[SYNOD_HASH_BYTES]);

/* ---- reading the state ---- */

struct synod_app_status {
	uint64_t last_seq;
	uint64_t log_time_ms;
	uint64_t epoch;
	uint64_t eligible; /* seats eligible in the current epoch */
	uint8_t voter_set_hash[SYNOD_HASH_BYTES];
	uint64_t requests_open;
	uint64_t requests_retained;
	uint64_t decisions[SYNOD_OUTCOME_COUNT]; /* [OPEN] unused */
	uint64_t votes[SYNOD_VOTE_REASON_COUNT]; /* [COUNTED] and each ignored reason */
	uint64_t submits[SYNOD_SUBMIT_RESULT_COUNT];
	uint64_t ticks;
	uint64_t ticks_backwards;
	uint64_t entries_malformed; /* unknown kind, bad TICK, malformed batch */
	uint64_t ignored_not_kept;  /* authentic ignored votes beyond the per-request cap */
	uint32_t exclusions;        /* records kept */
};
void synod_app_status_get(const struct synod_app *a, struct synod_app_status *st);

/* A request's tally as the state machine (or a recount) sees it. */
struct synod_tally {
	enum synod_outcome outcome;
	uint64_t epoch;
	uint64_t eligible;
	uint64_t deadline_ms;
	uint32_t approvals;
	uint32_t rejections;
	uint64_t approved_by;  /* seats whose APPROVE counts */
	uint64_t rejected_by;  /* seats whose REJECT counts */
	uint64_t equivocators; /* seats caught equivocating on this request before the decision */
	struct synod_app_pos submitted_at;
	struct synod_app_pos decided_at; /* when outcome != OPEN */
	uint8_t voter_set_hash[SYNOD_HASH_BYTES];
};

/* The tally of a retained request; SYNOD_ENOTFOUND when unknown or evicted. */
SYNOD_WUR int synod_app_tally_get(const struct synod_app *a, const uint8_t id[SYNOD_HASH_BYTES],
                                  struct synod_tally *out);
/* true when a and b agree on outcome, counts, seat sets and positions. */
bool synod_tally_equal(const struct synod_tally *a, const struct synod_tally *b);

struct synod_epoch {
	uint64_t number;
	uint64_t start_log_time_ms;
	uint64_t decisions; /* decided so far in it */
	uint64_t eligible;
	uint8_t voter_set_hash[SYNOD_HASH_BYTES];
};
/* The current epoch. */
void synod_app_epoch_get(const struct synod_app *a, struct synod_epoch *out);
/* A kept epoch (current or one of the last SYNOD_APP_EPOCHS_KEPT);
 * SYNOD_ENOTFOUND otherwise. */
SYNOD_WUR int synod_app_epoch_find(const struct synod_app *a, uint64_t number,
                                   struct synod_epoch *out);

enum synod_exclusion_kind {
	SYNOD_EXCLUSION_EQUIVOCATION = 1,
	SYNOD_EXCLUSION_NON_PARTICIPATION = 2,
};

/* An exclusion with its evidence. For EQUIVOCATION the evidence is two
 * committed VOTE entries: their log positions and the SHA-256 of each one's
 * signed "vote" bytes (the entries themselves stay in the certified log, where
 * synod_bundle_build and the simulator fetch them). NON_PARTICIPATION names
 * the last decision the seat missed and how many in a row. */
struct synod_exclusion {
	uint32_t seat;
	enum synod_exclusion_kind kind;
	uint64_t from_epoch;  /* first excluded epoch */
	uint64_t until_epoch; /* first epoch no longer excluded */
	uint64_t detected_epoch;
	uint8_t request_id[SYNOD_HASH_BYTES];
	struct synod_app_pos vote_pos[2];
	uint8_t vote_digest[2][SYNOD_HASH_BYTES];
	uint64_t missed;
};

/* Exclusion records kept, in table order. */
uint32_t synod_app_exclusion_count(const struct synod_app *a);
SYNOD_WUR int synod_app_exclusion_get(const struct synod_app *a, uint32_t i,
                                      struct synod_exclusion *out);

/* ---- recount and exclusion checks (independent of the state machine) ---- */

/* One committed batch after another, in sequence order: 1 and the next batch
 * (borrowed until the next call), 0 at the end, a negative error to stop. */
typedef int (*synod_log_next_fn)(void *ctx, uint64_t *seq, const uint8_t **batch, size_t *len);

/* Recounts a request's tally from the log with a separate, simple
 * implementation of the rules, for the simulator to compare with
 * synod_app_tally_get. claimed is the app's tally of the request: its epoch,
 * eligible seats and submitted_at are taken as given (epochs and submission
 * are checked separately), but the entry at submitted_at must be the SUBMIT
 * whose SHA-256 is request_id. next yields the log from any seq at or before
 * submitted_at.seq. Signatures are checked with synod_sig_verify, or crypto
 * when its verify is set (may be NULL). out gets the recount; compare with
 * synod_tally_equal. SYNOD_ENOTFOUND when the log has no such SUBMIT there,
 * or the error next returned. */
SYNOD_WUR int synod_app_recount(const struct synod_cluster *c,
                                const struct synod_vote_crypto *crypto,
                                const uint8_t request_id[SYNOD_HASH_BYTES],
                                const struct synod_tally *claimed, synod_log_next_fn next,
                                void *ctx, struct synod_tally *out, char *errmsg,
                                size_t errmsg_len);

/* Checks an exclusion's evidence: for EQUIVOCATION, vote_a and vote_b are the
 * VOTE payloads (envelopes) found at ex->vote_pos; they must be two different
 * votes, both validly signed by the seat's key, for this cluster and
 * ex->request_id, match ex->vote_digest, and name an epoch before from_epoch;
 * until - from must equal the policy's exclusion_epochs. NON_PARTICIPATION
 * needs the log to prove: only the policy and the count are checked (votes
 * may be NULL). SYNOD_EINVAL with errmsg in words. */
SYNOD_WUR int synod_exclusion_check(const struct synod_cluster *c, const struct synod_exclusion *ex,
                                    const uint8_t *vote_a, size_t vote_a_len, const uint8_t *vote_b,
                                    size_t vote_b_len, char *errmsg, size_t errmsg_len);

/* ---- evidence bundles ---- */

/* A committed batch and its commit certificate (cert_count encoded COMMIT
 * cores), as in struct pbft_committed or the WAL; borrowed. */
struct synod_bundle_batch {
	const uint8_t *batch;
	size_t batch_len;
	const uint8_t *cert;
	uint32_t cert_count;
};
/* Fills out for seq; 0, or an error (SYNOD_ENOTFOUND) to stop the build. */
typedef int (*synod_bundle_lookup_fn)(void *ctx, uint64_t seq, struct synod_bundle_batch *out);

/* A stable checkpoint's certificate: count encoded CHECKPOINT cores (2f+1 or
 * more) for seq, as pbft_stable_checkpoint_get gives them; borrowed. */
struct synod_bundle_checkpoint {
	uint64_t seq;
	const uint8_t *cores;
	uint32_t count;
};

/* The "format" of the bundles this code builds and verifies. v3: the decision
 * record binds every field of every exclusion (README.md, upgrading). */
#define SYNOD_APP_BUNDLE_FORMAT "synod.evidence.v4"

/* Builds the evidence bundle of a decided, retained request: canonical JSON
 * (format in README.md) of at most SYNOD_APP_BUNDLE_BYTES_MAX bytes. Entries
 * up to the deciding one are included; later (late) votes are not. cp is a
 * stable checkpoint at or after the decision whose digest this app computed
 * (one of its last few checkpoints): the bundle proves the decision's record
 * from it. On success *out is malloc'd (caller frees), NUL-terminated.
 * Errors: SYNOD_ENOTFOUND (unknown request, missing batch, a checkpoint this
 * app did not compute, or a decision older than the last
 * SYNOD_APP_DECISIONS_PROVABLE), SYNOD_ESTATE (still open, or decided after
 * cp: build it once a later checkpoint is stable), SYNOD_EINVAL (a looked-up
 * batch does not hold the recorded entry), SYNOD_ECERT (a certificate names
 * another digest than the batch's Merkle root, or cp is malformed),
 * SYNOD_ELIMIT, SYNOD_ENOMEM. */
SYNOD_WUR int synod_bundle_build(const struct synod_app *a,
                                 const uint8_t request_id[SYNOD_HASH_BYTES],
                                 synod_bundle_lookup_fn lookup, void *ctx,
                                 const struct synod_bundle_checkpoint *cp, char **out,
                                 size_t *out_len, char *errmsg, size_t errmsg_len);

/* One failed check, in words ("vote 3 (seat 12, seq 5 index 2): signature does
 * not verify under seat 12's key"). */
typedef void (*synod_bundle_report_fn)(void *ctx, const char *failure);

struct synod_bundle_summary {
	enum synod_outcome outcome; /* as claimed by the bundle */
	uint8_t request_id[SYNOD_HASH_BYTES];
	uint64_t epoch;
	uint32_t approvals;
	uint32_t rejections;
	uint32_t votes;
	uint32_t ignored;
	uint32_t batches;
	uint32_t failures;
};

/* Checks a bundle offline against the cluster: canonical form, every commit
 * certificate (pbft_cert_verify with synod_pbft_crypto_verify), every Merkle
 * path, every signature and key, the exclusions' evidence, the voter-set hash,
 * and the tally replayed from the listed votes in log order. Reports EVERY
 * failed check through report (may be NULL), continuing where the bundle's
 * structure allows. summary (may be NULL) gets what the bundle claims and the
 * failure count. 0 when valid, SYNOD_EINVAL otherwise. Never asserts on its
 * input; bounded work for any input. */
SYNOD_WUR int synod_bundle_verify(const char *bundle, size_t len, const struct synod_cluster *c,
                                  struct synod_bundle_summary *summary,
                                  synod_bundle_report_fn report, void *ctx);
/* The same, with the commit certificates checked through cert_crypto (its
 * verify only) instead of synod_pbft_crypto_verify: the simulator's fake
 * signatures. NULL means the production check. Vote signatures are always
 * Ed25519 (synod_vote_verify). */
SYNOD_WUR int synod_bundle_verify_with(const char *bundle, size_t len,
                                       const struct synod_cluster *c,
                                       const struct pbft_crypto *cert_crypto,
                                       struct synod_bundle_summary *summary,
                                       synod_bundle_report_fn report, void *ctx);

/* ---- the production PBFT crypto adapter ---- */

/* pbft_crypto.verify: synod_sig_verify(sig, SYNOD_TAG_PBFT, cluster_id, msg,
 * len, pk) with ctx pointing to the 32-byte cluster id. Used by replicas,
 * voters and the bundle verifier. */
int synod_pbft_crypto_verify(void *ctx, const uint8_t sig[PBFT_SIG_BYTES], const uint8_t *msg,
                             size_t len, const uint8_t pk[32]);

/* A replica's signing side: its key and the cluster id (borrowed signer). */
struct synod_pbft_signer {
	uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES];
	struct synod_signer *signer;
};
/* pbft_crypto.sign with ctx a struct synod_pbft_signer. */
int synod_pbft_crypto_sign(void *ctx, uint8_t sig[PBFT_SIG_BYTES], const uint8_t *msg, size_t len);
/* The production table over s (borrowed; verify uses s->cluster_id). */
struct pbft_crypto synod_pbft_crypto(struct synod_pbft_signer *s);

#endif

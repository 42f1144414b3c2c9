/* The deterministic cluster simulator: n real PBFT cores (coordinator/pbft)
 * over a simulated network, disk and clock, with Byzantine replicas, all
 * randomness drawn from one 64-bit seed. The same seed replays the same run,
 * event for event.
 *
 * Two ways to drive it:
 *   - scripted (unit tests): sim_cluster_init, then submit entries, crash,
 *     restart, partition, heal, make a replica Byzantine, and run for a while;
 *     the invariants are checked after every step either way;
 *   - randomized (synod-sim): sim_run picks a fault mix from the seed, runs a
 *     chaos phase, heals, and checks liveness.
 *
 * Invariants (the first violation stops the run and is kept with the seed,
 * the step and what broke): agreement on batch digests and state digests per
 * sequence number, execution in sequence order without gaps, valid commit
 * certificates, views that never decrease, a committed prefix that survives
 * restarts, honest replicas that never sign conflicting messages, and (in
 * sim_run) liveness after the heal.
 *
 * Nothing reads a clock, a random source or a file; memory is allocated at
 * init and, bounded, while the run grows (disk records, in-flight messages,
 * the checker's tables). */
#ifndef SYNOD_SIM_CLUSTER_H
#define SYNOD_SIM_CLUSTER_H

#include "common/err.h"
#include "coordinator/pbft/pbft.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SIM_NODES_MAX       PBFT_REPLICAS_MAX
#define SIM_ENTRIES_MAX     32768u /* client entries one run may submit */
#define SIM_ENTRY_BYTES_MIN 16u
#define SIM_ENTRY_BYTES_MAX 200u
#define SIM_INFLIGHT_MAX    32768u  /* messages in the network at once */
#define SIM_STEPS_DEFAULT   400000u /* steps one run may take */
#define SIM_WHAT_BYTES      384u
#define SIM_VOTE_REASONS    11u /* SYNOD_VOTE_REASON_COUNT */

/* What a Byzantine replica does to its own output (bits, combined). It runs
 * the real core; the adversary rewrites what the core sends and filters what
 * it receives. It signs only with its own key. */
enum sim_byz_behaviour {
	SIM_BYZ_EQUIVOCATE = 1u << 0,        /* primary: different batches per backup */
	SIM_BYZ_CONFLICT_VOTES = 1u << 1,    /* PREPARE/COMMIT for conflicting digests */
	SIM_BYZ_WRONG_VIEW = 1u << 2,        /* copies for stale and far-future views */
	SIM_BYZ_BAD_SEQ = 1u << 3,           /* copies outside the watermarks */
	SIM_BYZ_BAD_SIG = 1u << 4,           /* copies with a broken signature */
	SIM_BYZ_IMPERSONATE = 1u << 5,       /* copies naming another sender */
	SIM_BYZ_BOGUS_VIEW_CHANGE = 1u << 6, /* forged or dropped prepared certs */
	SIM_BYZ_BOGUS_NEW_VIEW = 1u << 7,    /* drops or substitutes a re-proposal */
	SIM_BYZ_BOGUS_STATE = 1u << 8,       /* corrupt snapshot in STATE */
	SIM_BYZ_REPLAY = 1u << 9,            /* replays captured messages */
	SIM_BYZ_FLOOD_VIEWS = 1u << 10,      /* VIEW-CHANGEs for future views */
	SIM_BYZ_SILENT = 1u << 11,           /* sends nothing */
	SIM_BYZ_SILENT_AFTER_PP = 1u << 12,  /* primary: pre-prepares to f+1, then mute */
	SIM_BYZ_CENSOR = 1u << 13,           /* drops client entries and REQUESTs */
	SIM_BYZ_EAGER_VOTE = 1u << 14,       /* PREPARE+COMMIT on any PRE-PREPARE at once,
	                                      * a VIEW-CHANGE of its own on any it hears */
	SIM_BYZ_FORGE_NEW_VIEW = 1u << 15,   /* NEW-VIEW for its next view, without a quorum */
	SIM_BYZ_FORGE_PROOFS = 1u << 16,     /* VIEW-CHANGE: one defect in C or in one P element */
	SIM_BYZ_FORGE_STATE = 1u << 17,      /* STATE: one defect in a proof or certificate */
	SIM_BYZ_BACKUP_PROPOSE = 1u << 18,   /* a backup's PRE-PREPAREs */
	SIM_BYZ_CENSOR_ONE = 1u << 19,       /* never takes in one client's entries (ids = k
	                                      * mod 32; --voters: one honest seat's VOTEs and
	                                      * one submitter's SUBMITs, 1 in 8) and, as
	                                      * primary, orders an entry of its own every
	                                      * 50 ms: only a timer that follows the
	                                      * censored entries replaces it */
};
#define SIM_BYZ_BEHAVIOURS 20u
#define SIM_BYZ_ALL        ((1u << SIM_BYZ_BEHAVIOURS) - 1u)

/* Network faults in force; probabilities in parts per million. */
struct sim_net_faults {
	uint32_t loss_ppm;
	uint32_t dup_ppm;
	uint64_t delay_ms_min;
	uint64_t delay_ms_max;
	uint32_t slow_ppm; /* a message takes up to slow_ms_max extra (reordering) */
	uint64_t slow_ms_max;
};

/* Crash faults in force (the fixture restarts a crashed replica after a
 * random downtime in [restart_ms_min, restart_ms_max]; 0 leaves it down). */
struct sim_crash_faults {
	uint32_t after_send_ppm; /* crash right after a step that sent messages */
	uint32_t in_persist_ppm; /* crash while writing an update's records */
	uint64_t restart_ms_min;
	uint64_t restart_ms_max;
};

struct sim_options {
	uint64_t seed;
	uint32_t replicas;  /* n = 3f+1: 4, 7, 10 (13 fits too) */
	uint32_t mutations; /* enum pbft_mutation bits, given to every core */
	bool real_crypto;   /* Ed25519 through libsodium instead of the fake table */
	bool faults;        /* sim_run: the random fault mix; off: clean network, no Byzantine */
	bool checks;        /* invariant checks after every step */
	bool keep_records;  /* ignore truncate_before (a WAL may keep more than needed) */
	bool hunt;          /* sim_run: the fault mix of a mutation hunt, without one */
	uint32_t voters;    /* 0, or the seats: the real certification app with voters
	                     * (voters.c; set with sim_voters_options) */
	uint64_t steps_max;
	FILE *trace; /* NULL, or every event of the run */
	/* Core configuration (pbft_config_defaults, then these). */
	uint32_t checkpoint_interval;
	uint32_t window;
	uint32_t batch_entries_max;
	uint32_t batch_bytes_max;
	uint32_t pending_entries_max;
	uint64_t batch_delay_ms;
	uint64_t timeout_ms_min;
	uint64_t timeout_ms_max;
	/* Driver. */
	uint64_t tick_ms;         /* PBFT_EV_TICK period per replica */
	uint64_t skew_ms_max;     /* node clock = global clock + skew, |skew| <= this */
	uint64_t client_retry_ms; /* resubmit an unexecuted entry after this; 0: never */
	/* sim_run: the phases. */
	uint64_t chaos_ms;    /* faults, Byzantine replicas, new entries */
	uint64_t heal_ms_max; /* healed network: every entry executed by then */
	uint64_t heal_steps_max;
};

struct sim_stats {
	uint64_t seeds;
	uint64_t steps;
	uint64_t sim_ms;
	uint64_t commits; /* sequence numbers committed (agreed across honest replicas) */
	uint64_t entries_submitted;
	uint64_t entries_executed;
	uint64_t dup_executions;  /* executions of an entry at a second (third...) sequence
	                           * number: the clients' entries and the foreign ones */
	uint64_t entries_ordered; /* distinct entries ordered: the clients' and foreign */
	uint64_t foreign_entries; /* executed entries that are not the clients' (--voters:
	                           * all of them; else a Byzantine primary's) */
	uint64_t view_changes;    /* highest pbft_status.view_changes of an honest replica */
	uint64_t state_transfers; /* pbft_status.state_transfers, all replicas */
	uint64_t msgs_rejected;   /* pbft_status.msgs_rejected, honest replicas */
	uint64_t msgs_sent;
	uint64_t msg_bytes_sent;
	uint64_t msgs_delivered;
	uint64_t msgs_lost;
	uint64_t msgs_cut; /* dropped by a partition or a down replica */
	uint64_t msgs_dropped_full;
	uint64_t msgs_duplicated;
	uint64_t crashes;
	uint64_t records_written;
	uint64_t records_lost;
	uint64_t records_torn;
	uint64_t byz_injected; /* messages a Byzantine replica made up or rewrote */
	uint64_t signs;
	uint64_t verifies; /* by the cores (the checker's are not counted) */
	uint64_t violations;
	/* --voters (voters.c) */
	uint64_t requests;
	uint64_t requests_decided;
	uint64_t requests_approved;
	uint64_t requests_rejected;
	uint64_t requests_expired;
	uint64_t requests_expired_at_submit; /* refused: deadline passed before ordered */
	uint64_t votes[SIM_VOTE_REASONS];    /* per synod_vote_reason, at the reference */
	uint64_t exclusions;
	uint64_t exclusions_unchecked; /* evidence not in the recorded log */
	uint64_t recounts;
	uint64_t recounts_skipped; /* a gap in the recorded log */
	uint64_t bundles_verified;
	uint64_t bundles_skipped;
	uint64_t bundles_uncovered; /* decided after the last stable checkpoint */
	uint64_t tamper_tried;
	uint64_t tamper_caught;
	uint64_t ticks_submitted;
	uint64_t byz_voters;
};

struct sim_violation {
	bool found;
	uint64_t seed;
	uint64_t step;
	uint64_t now_ms;
	uint32_t node;
	char what[SIM_WHAT_BYTES];
};

struct sim_cluster; /* opaque */

/* Turns on the voters mode (voters.c) with that many seats and adjusts the
 * batch limits for the app's entries. */
void sim_voters_options(struct sim_options *o, uint32_t voters);

/* Defaults for a simulation of n replicas from seed. */
void sim_options_defaults(struct sim_options *o, uint64_t seed, uint32_t replicas);

/* Builds the cluster (o copied), every replica up and STARTed, all honest,
 * a clean network (1..3 ms delays) and no crash faults. errmsg says what failed:
 * SYNOD_EINVAL (bad options), SYNOD_ENOMEM, or pbft_init's error. */
SYNOD_WUR int sim_cluster_init(struct sim_cluster **out, const struct sim_options *o, char *errmsg,
                               size_t errmsg_len);
void sim_cluster_close(struct sim_cluster *c);

uint32_t sim_cluster_replicas(const struct sim_cluster *c);
uint64_t sim_cluster_now_ms(const struct sim_cluster *c);
uint64_t sim_cluster_steps(const struct sim_cluster *c);

/* Makes a new unique entry and submits it to every replica in node_mask.
 * Returns its id, or -1 when SIM_ENTRIES_MAX entries exist. */
int32_t sim_cluster_submit(struct sim_cluster *c, uint32_t node_mask);
/* Submits entry id again, to node. */
void sim_cluster_resubmit(struct sim_cluster *c, uint32_t id, uint32_t node);

/* Crash: the core is closed, unsynced records are lost (the last may be
 * torn). Restart: pbft_init, pbft_restore of every durable record, START.
 * SYNOD_ESTATE when the replica is not in the state the call needs. */
void sim_cluster_crash(struct sim_cluster *c, uint32_t node);
SYNOD_WUR int sim_cluster_restart(struct sim_cluster *c, uint32_t node);
bool sim_cluster_up(const struct sim_cluster *c, uint32_t node);

/* Cuts every link between the replicas in side_mask and the others (added
 * to the cuts already in force). */
void sim_cluster_partition(struct sim_cluster *c, uint32_t side_mask);
void sim_cluster_isolate(struct sim_cluster *c, uint32_t node);
void sim_cluster_heal(struct sim_cluster *c);
void sim_cluster_net_set(struct sim_cluster *c, const struct sim_net_faults *f);
void sim_cluster_crash_faults_set(struct sim_cluster *c, const struct sim_crash_faults *f);

/* Makes node Byzantine with the given behaviours (it is never honest again:
 * the checker stops trusting it). rate_ppm: how often a rewriting behaviour
 * applies to a message. */
void sim_cluster_byzantine_set(struct sim_cluster *c, uint32_t node, uint32_t behaviours,
                               uint32_t rate_ppm);
bool sim_cluster_byzantine(const struct sim_cluster *c, uint32_t node);

/* Runs events for ms of simulated time. 0, or 1 when stopped early by a
 * violation or the step bound. */
int sim_cluster_run_ms(struct sim_cluster *c, uint64_t ms);
/* Runs until every honest replica that is up has executed entry id. 0 when
 * it has, SYNOD_ELIMIT when ms_max passed first, 1 on a violation or the
 * step bound. */
int sim_cluster_run_until_executed(struct sim_cluster *c, uint32_t id, uint64_t ms_max);
/* The same for the replicas in node_mask (up or not). */
int sim_cluster_run_until_executed_by(struct sim_cluster *c, uint32_t id, uint32_t node_mask,
                                      uint64_t ms_max);
/* Entry id is in node's executed state (node's app is at or past the
 * sequence number that ordered it). */
bool sim_cluster_executed(const struct sim_cluster *c, uint32_t id, uint32_t node);
/* The replica's pbft_status, its counters summed over its restarts. */
void sim_cluster_status(const struct sim_cluster *c, uint32_t node, struct pbft_status *st);
/* The highest sequence number an honest replica has executed. */
uint64_t sim_cluster_committed_seq(const struct sim_cluster *c);

const struct sim_violation *sim_cluster_violation(const struct sim_cluster *c);
/* Statistics so far (status-derived fields are refreshed by the call). */
const struct sim_stats *sim_cluster_stats(struct sim_cluster *c);

/* One randomized run from o->seed (chaos, heal, liveness). Adds to stats and
 * fills v. Returns 0 when the run passed, 1 on a violation, or a negative
 * error when the cluster could not be built (errmsg says why). */
int sim_run(const struct sim_options *o, struct sim_stats *stats, struct sim_violation *v,
            char *errmsg, size_t errmsg_len);

/* Mutations by name: the i-th name (NULL past the end) and its bits. */
const char *sim_mutation_name(size_t i, uint32_t *bits);
/* The bits for name, or 0 if unknown. */
uint32_t sim_mutation_parse(const char *name);

void sim_stats_add(struct sim_stats *sum, const struct sim_stats *s);

#endif

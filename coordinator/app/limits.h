/* Limits of the certification state machine. Tables are sized from these (and
 * from the policy, which may only lower them) once, at synod_app_init; the
 * apply path never grows anything. */
#ifndef SYNOD_APP_LIMITS_H
#define SYNOD_APP_LIMITS_H

#include "common/limits.h"
#include "coordinator/pbft/limits.h"

/* Seats (voters). A seat set is a 64-bit bitmap, hence the maximum. */
#define SYNOD_APP_SEATS_MIN 4u
#define SYNOD_APP_SEATS_MAX 64u

/* Requests the state keeps (open and decided), the policy's upper bound for
 * requests.retained_max. */
#define SYNOD_APP_REQUESTS_MAX 8192u
/* Authentic but ignored votes (wrong_epoch, excluded_seat, duplicate, a third
 * conflicting vote, late) recorded per request; more are counted, not kept. */
#define SYNOD_APP_IGNORED_PER_REQUEST_MAX 64u
/* Recently ignored entries of any kind, kept in a ring for the API. */
#define SYNOD_APP_RECENT_IGNORED_MAX 256u
/* Exclusion records kept (each with its evidence). */
#define SYNOD_APP_EXCLUSIONS_MAX (4u * SYNOD_APP_SEATS_MAX)
/* Past epochs kept (number, start, eligible seats, voter-set hash). */
#define SYNOD_APP_EPOCHS_KEPT 64u

/* Entries: one kind byte and a payload. An entry must also fit the PBFT
 * replica's entry_bytes_max, whose default is 8 KiB. */
#define SYNOD_APP_ENTRY_BYTES_MAX   (8u * 1024u)
#define SYNOD_APP_REQUEST_BYTES_MAX (SYNOD_APP_ENTRY_BYTES_MAX - 1u)
#define SYNOD_APP_VOTE_BYTES_MAX    1024u /* a vote envelope; ~500 bytes in practice */
#define SYNOD_APP_TICK_BYTES        9u    /* kind + u64 */

/* Request fields. */
#define SYNOD_APP_ARTIFACTS_MAX           32u
#define SYNOD_APP_ARTIFACT_NAME_BYTES_MAX 128u
#define SYNOD_APP_ID_BYTES_MAX            128u /* system id/version, policy, submitter */
/* Vote fields. */
#define SYNOD_APP_PLUGIN_NAME_BYTES_MAX    64u
#define SYNOD_APP_PLUGIN_VERSION_BYTES_MAX 32u
/* Seat numbers a vote may name at all (larger is malformed, not unknown_seat). */
#define SYNOD_APP_SEAT_NUMBER_MAX 0xffffu

/* Policy ranges. */
#define SYNOD_APP_EXCLUSION_EPOCHS_MAX  (1ull << 32)
#define SYNOD_APP_TICK_SKEW_MS_MAX      3600000ull /* one hour */
#define SYNOD_APP_DEADLINE_MS_MAX       (366ull * 24u * 3600u * 1000u)
#define SYNOD_APP_EPOCH_DECISIONS_MAX   (1ull << 32)
#define SYNOD_APP_EPOCH_LOG_TIME_MS_MAX (366ull * 24u * 3600u * 1000u)
#define SYNOD_APP_NP_MISSED_MAX         (1ull << 20)

/* Evidence bundles. */
#define SYNOD_APP_BUNDLE_BYTES_MAX (2u * 1024u * 1024u)
/* Entries one bundle lists: the request, the tick, every counted vote, the
 * kept ignored votes and both votes of each equivocation, and two evidence
 * votes per excluded seat. Each may sit in a batch of its own. */
#define SYNOD_APP_BUNDLE_ENTRIES_MAX                                                               \
	(2u + 5u * SYNOD_APP_SEATS_MAX + SYNOD_APP_IGNORED_PER_REQUEST_MAX)
#define SYNOD_APP_BUNDLE_BATCHES_MAX SYNOD_APP_BUNDLE_ENTRIES_MAX
/* Entries in one batch a bundle may name (bounds the proof checks). */
#define SYNOD_APP_BATCH_ENTRIES_MAX PBFT_BATCH_ENTRIES_LIMIT
/* A failure line of the verifier's report. */
#define SYNOD_APP_REPORT_BYTES_MAX 512u

/* Decisions a coordinator can still prove in a bundle: the last this many
 * (older ones were published when they were decided). Bounds the memory of
 * the log of decisions to about 128 bytes a decision. */
#define SYNOD_APP_DECISIONS_PROVABLE 65536u

/* cluster.json */
#define SYNOD_APP_REPLICAS_MAX PBFT_REPLICAS_MAX

/* Snapshot bytes, worst case: a header, every request with every seat slot
 * and ignored record filled, every exclusion. */
#define SYNOD_APP_SNAPSHOT_REQUEST_BYTES                                                           \
	(264u + SYNOD_APP_SEATS_MAX * 96u + SYNOD_APP_IGNORED_PER_REQUEST_MAX * 16u)
#define SYNOD_APP_SNAPSHOT_EXCLUSION_BYTES 256u
#define SYNOD_APP_SNAPSHOT_FIXED_BYTES                                                             \
	(4096u + 64u * 32u + SYNOD_APP_EPOCHS_KEPT * 64u + SYNOD_APP_RECENT_IGNORED_MAX * 64u +    \
	 SYNOD_APP_SEATS_MAX * 48u)

_Static_assert(SYNOD_APP_SEATS_MAX <= 64u, "seat sets are 64-bit bitmaps");
_Static_assert(SYNOD_APP_SEATS_MIN >= 4u, "threshold rules need n >= 4");
_Static_assert(SYNOD_APP_ENTRY_BYTES_MAX <= PBFT_ENTRY_BYTES_LIMIT, "an entry fits a PBFT entry");
_Static_assert(SYNOD_APP_VOTE_BYTES_MAX < SYNOD_APP_ENTRY_BYTES_MAX, "a vote fits an entry");
_Static_assert(SYNOD_APP_BUNDLE_BYTES_MAX <= SYNOD_JSON_BYTES_MAX, "a bundle is a JSON document");
_Static_assert(SYNOD_APP_IGNORED_PER_REQUEST_MAX <= 0xffffu, "ignored counts are u16 on disk");
_Static_assert((unsigned long long)SYNOD_APP_SNAPSHOT_FIXED_BYTES +
                       (unsigned long long)SYNOD_APP_REQUESTS_MAX *
                           SYNOD_APP_SNAPSHOT_REQUEST_BYTES +
                       (unsigned long long)SYNOD_APP_EXCLUSIONS_MAX *
                           SYNOD_APP_SNAPSHOT_EXCLUSION_BYTES <=
                   PBFT_SNAPSHOT_BYTES_LIMIT,
               "the largest snapshot fits a PBFT snapshot");

#endif

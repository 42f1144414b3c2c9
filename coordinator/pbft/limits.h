/* Limits of the PBFT core. Configured values are checked against these at
 * pbft_init; everything the core holds is allocated there, once. */
#ifndef SYNOD_PBFT_LIMITS_H
#define SYNOD_PBFT_LIMITS_H

#define PBFT_REPLICAS_MAX          16u  /* n = 3f+1: 4, 7, 10 and 13 fit */
#define PBFT_WINDOW_MAX            256u /* L: in-flight sequence numbers */
#define PBFT_CHECKPOINTS_KEPT      8u   /* checkpoint messages kept per sender */
#define PBFT_BATCH_ENTRIES_LIMIT   4096u
#define PBFT_BATCH_BYTES_LIMIT     (4u * 1024u * 1024u)
#define PBFT_ENTRY_BYTES_LIMIT     (256u * 1024u)
#define PBFT_PENDING_ENTRIES_LIMIT 65536u
#define PBFT_SNAPSHOT_BYTES_LIMIT  (64u * 1024u * 1024u)
#define PBFT_SENDS_MAX             64u                         /* messages one step may emit */
#define PBFT_RECORDS_MAX           (2u * PBFT_WINDOW_MAX + 8u) /* records one step may emit */
#define PBFT_COMMITTED_MAX         PBFT_WINDOW_MAX             /* batches one step may execute */
#define PBFT_RECENT_DIGESTS        4096u /* executed entry digests remembered for dedup */

_Static_assert(PBFT_REPLICAS_MAX >= 4, "n = 3f+1 with f >= 1");
_Static_assert(PBFT_SENDS_MAX >= PBFT_REPLICAS_MAX + 8, "one broadcast per kind per step");

#endif

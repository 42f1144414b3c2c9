/* The WAL as the PBFT core's durable storage (pbft.h, "The driver applies an
 * update strictly in this order"): one frame per update, a new segment for an
 * update carrying a stable checkpoint (truncate_before), and replay into
 * pbft_restore after a crash. */
#ifndef SYNOD_COORDINATOR_WAL_PBFT_H
#define SYNOD_COORDINATOR_WAL_PBFT_H

#include "coordinator/pbft/pbft.h"
#include "coordinator/wal/wal.h"

/* Step 1 of applying an update: its records as ONE frame, synced; when any
 * record has truncate_before, the frame starts a new segment and the older
 * ones go. 0 when there are no records. Errors as synod_wal_append: after
 * SYNOD_EIO the driver must not send the update's messages. */
SYNOD_WUR int synod_wal_append_update(struct synod_wal *w, const struct pbft_update *u);

/* Group commit: stages the update's records as one frame (synod_wal_stage);
 * the driver calls synod_wal_flush once per loop turn, before any of the
 * staged updates' messages leave. Errors as synod_wal_stage. */
SYNOD_WUR int synod_wal_stage_update(struct synod_wal *w, const struct pbft_update *u);

/* A synod_wal_replay_fn with ctx a struct pbft * (after pbft_init, before
 * START): each record goes to pbft_restore. */
int synod_wal_replay_pbft(void *ctx, uint32_t type, const uint8_t *bytes, size_t len);

#endif

/* The WAL as the PBFT core's storage (wal_pbft.h). */
#include "coordinator/wal/wal_pbft.h"

_Static_assert(PBFT_RECORDS_MAX <= SYNOD_WAL_RECORDS_MAX, "an update fits one frame");

/* The update's records as WAL records; true when one truncates. */
static bool records_of(const struct pbft_update *u, struct synod_wal_record *recs)
{
	bool truncate = false;
	for (uint32_t i = 0; i < u->record_count; i++) {
		const struct pbft_record *r = &u->records[i];
		recs[i] = (struct synod_wal_record){
		    .type = (uint32_t)r->type, .bytes = r->bytes, .len = r->len};
		truncate = truncate || r->truncate_before;
	}
	return truncate;
}

int synod_wal_append_update(struct synod_wal *w, const struct pbft_update *u)
{
	struct synod_wal_record recs[PBFT_RECORDS_MAX];
	bool truncate = records_of(u, recs);
	return synod_wal_append(w, recs, u->record_count, truncate);
}

int synod_wal_stage_update(struct synod_wal *w, const struct pbft_update *u)
{
	struct synod_wal_record recs[PBFT_RECORDS_MAX];
	bool truncate = records_of(u, recs);
	return synod_wal_stage(w, recs, u->record_count, truncate);
}

int synod_wal_replay_pbft(void *ctx, uint32_t type, const uint8_t *bytes, size_t len)
{
	return pbft_restore(ctx, (enum pbft_record_type)type, bytes, len);
}

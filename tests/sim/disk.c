/* A simulated disk: an append-only list of records, each synced or not,
 * grouped in updates, each of which is one atomic WAL frame (pbft.h). Syncs
 * cover a prefix. A crash keeps a random prefix of the unsynced updates,
 * whole; the next one may be torn, which the WAL's frame checksum rejects
 * whole; the rest is lost. A synced record with truncate_before drops every
 * record of earlier updates (a stable checkpoint). */
#include "tests/sim/sim.h"

#include "common/assert.h"

#include <stdlib.h>
#include <string.h>

void sim_disk_init(struct sim_disk *d)
{
	memset(d, 0, sizeof *d);
}

static void disk_drop(struct sim_disk *d, uint32_t from, uint32_t to)
{
	for (uint32_t i = from; i < to; i++) {
		d->bytes -= d->recs[i].len;
		free(d->recs[i].bytes);
		d->recs[i].bytes = NULL;
	}
}

void sim_disk_close(struct sim_disk *d)
{
	disk_drop(d, 0, d->count);
	free(d->recs);
	memset(d, 0, sizeof *d);
}

static int disk_grow(struct sim_disk *d)
{
	if (d->count < d->cap) {
		return 0;
	}
	if (d->cap >= SIM_DISK_RECORDS_MAX) {
		return SYNOD_ELIMIT;
	}
	uint32_t cap = d->cap == 0 ? 64u : 2u * d->cap;
	struct sim_record *r = realloc(d->recs, (size_t)cap * sizeof *r);
	if (r == NULL) {
		return SYNOD_ENOMEM;
	}
	d->recs = r;
	d->cap = cap;
	return 0;
}

int sim_disk_append(struct sim_disk *d, const struct pbft_record *r)
{
	int rc = disk_grow(d);
	if (rc != 0) {
		return rc;
	}
	if (r->len > UINT32_MAX || d->bytes + r->len > SIM_DISK_BYTES_MAX) {
		return SYNOD_ELIMIT;
	}
	uint8_t *copy = malloc(r->len > 0 ? r->len : 1);
	if (copy == NULL) {
		return SYNOD_ENOMEM;
	}
	if (r->len > 0) {
		memcpy(copy, r->bytes, r->len);
	}
	struct sim_record *rec = &d->recs[d->count++];
	rec->type = r->type;
	rec->synced = false;
	rec->torn = false;
	rec->truncate_before = r->truncate_before;
	rec->update_end = false;
	rec->len = (uint32_t)r->len;
	rec->bytes = copy;
	d->bytes += r->len;
	return 0;
}

void sim_disk_update_end(struct sim_disk *d)
{
	if (d->count > 0) {
		d->recs[d->count - 1].update_end = true;
	}
}

/* The index of the first record of the update holding record i. */
static uint32_t disk_update_start(const struct sim_disk *d, uint32_t i)
{
	while (i > 0 && !d->recs[i - 1].update_end) {
		i--;
	}
	return i;
}

void sim_disk_sync(struct sim_disk *d, uint32_t upto, bool truncate)
{
	SYNOD_ASSERT(upto <= d->count);
	uint32_t cut = 0;
	for (uint32_t i = 0; i < upto; i++) {
		d->recs[i].synced = true;
		if (truncate && d->recs[i].truncate_before) {
			cut = disk_update_start(d, i);
		}
	}
	if (cut == 0) {
		return;
	}
	disk_drop(d, 0, cut);
	memmove(d->recs, d->recs + cut, (size_t)(d->count - cut) * sizeof *d->recs);
	d->count -= cut;
}

/* Where each unsynced update ends, after first: ends[k] is one past its
 * last record. */
static uint32_t disk_update_ends(const struct sim_disk *d, uint32_t first, uint32_t *ends,
                                 uint32_t cap)
{
	uint32_t k = 0;
	for (uint32_t i = first; i < d->count && k < cap; i++) {
		if (d->recs[i].update_end || i + 1 == d->count) {
			ends[k++] = i + 1;
		}
	}
	return k;
}

void sim_disk_crash(struct sim_disk *d, struct sim_rng *r, uint64_t *lost, uint64_t *torn)
{
	uint32_t first = d->count;
	while (first > 0 && !d->recs[first - 1].synced) {
		first--;
	}
	if (first == d->count) {
		return;
	}
	uint32_t ends[64] = {0};
	uint32_t updates = disk_update_ends(d, first, ends, 64);
	/* Half of the crashes lose every unsynced update: the case that shows
	 * a missing fsync. */
	uint32_t keep = 0;
	if (sim_rng_ppm(r, 500000)) {
		keep = (uint32_t)sim_rng_below(r, updates + 1u);
	}
	uint32_t end = keep == 0 ? first : ends[keep - 1];
	if (keep < updates && sim_rng_ppm(r, 500000)) {
		(*torn)++; /* written in part; recovery rejects the frame whole */
	}
	*lost += d->count - end;
	disk_drop(d, end, d->count);
	d->count = end;
	/* What survived is on the platter now. */
	for (uint32_t i = first; i < d->count; i++) {
		d->recs[i].synced = true;
	}
}

void sim_disk_cut(struct sim_disk *d, uint32_t at)
{
	SYNOD_ASSERT(at <= d->count);
	disk_drop(d, at, d->count);
	d->count = at;
}

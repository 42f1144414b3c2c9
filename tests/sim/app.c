/* The replicated test application: state = (seq, entries, chain) where
 * chain = SHA-256(chain | seq | batch digest) after each batch. Every
 * execution and restore is reported to the checker. */
#include "tests/sim/sim.h"

#include "common/assert.h"
#include "common/hash.h"
#include "common/wire.h"
#include "coordinator/app/app.h"

#include <string.h>

void sim_app_reset(struct sim_app *a, struct sim_cluster *c, uint32_t node)
{
	memset(a, 0, sizeof *a);
	a->cluster = c;
	a->node = node;
}

static bool app_ids_kept(const struct sim_app *a)
{
	return a->cluster->voters == NULL;
}

void sim_app_state_digest(const struct sim_app *a, uint8_t out[32])
{
	uint8_t buf[SIM_SNAPSHOT_BYTES];
	struct synod_wbuf w;
	synod_wbuf_init(&w, buf, sizeof buf);
	synod_wbuf_u32(&w, 0x53494d31u); /* "SIM1" */
	synod_wbuf_u64(&w, a->seq);
	synod_wbuf_u64(&w, a->entries);
	synod_wbuf_bytes(&w, a->chain, 32);
	SYNOD_ASSERT(w.err == 0 && w.len == sizeof buf);
	struct synod_sha256 h;
	synod_sha256_init(&h);
	synod_sha256_update(&h, buf, sizeof buf);
	if (app_ids_kept(a)) {
		synod_sha256_update(&h, a->ids, sizeof a->ids);
	}
	synod_sha256_final(&h, out);
}

/* Records the clients' entries of a batch as executed. */
static void app_ids_add(struct sim_app *a, const uint8_t *batch, size_t len)
{
	struct pbft_batch_iter it;
	const uint8_t *entry;
	uint32_t entry_len;
	if (!app_ids_kept(a) || pbft_batch_iter_init(&it, batch, len, &a->cluster->lim) != 0) {
		return;
	}
	while (pbft_batch_iter_next(&it, &entry, &entry_len) == 1) {
		int32_t id = sim_entry_id(a->cluster, entry, entry_len);
		if (id >= 0) {
			a->ids[(uint32_t)id / 8u] |= (uint8_t)(1u << ((uint32_t)id % 8u));
		}
	}
}

static uint32_t app_batch_count(const uint8_t *batch, size_t len)
{
	if (len < 4) {
		return 0;
	}
	return (uint32_t)batch[0] << 24 | (uint32_t)batch[1] << 16 | (uint32_t)batch[2] << 8 |
	       (uint32_t)batch[3];
}

static void app_execute(void *ctx, uint64_t seq, const uint8_t *batch, size_t batch_len)
{
	struct sim_app *a = ctx;
	uint8_t digest[PBFT_DIGEST_BYTES];
	pbft_batch_digest(digest, batch, batch_len);
	uint64_t prev = a->seq;
	struct synod_sha256 h;
	uint8_t be[8];
	for (uint32_t i = 0; i < 8; i++) {
		be[i] = (uint8_t)(seq >> (56 - 8 * i));
	}
	synod_sha256_init(&h);
	synod_sha256_update(&h, a->chain, 32);
	synod_sha256_update(&h, be, 8);
	synod_sha256_update(&h, digest, sizeof digest);
	synod_sha256_final(&h, a->chain);
	a->seq = seq;
	a->entries += app_batch_count(batch, batch_len);
	app_ids_add(a, batch, batch_len);
	if (a->cluster->voters != NULL) {
		sim_voters_execute(a->cluster, a->node, seq, batch, batch_len);
	}
	if (seq != prev + 1) {
		sim_violation(a->cluster, a->node,
		              "total order: executed seq %llu right after seq %llu",
		              (unsigned long long)seq, (unsigned long long)prev);
	}
	sim_check_execute(a->cluster, a->node, seq, digest, batch, batch_len);
}

/* With --voters the certification app's snapshot comes first and this
 * app's state follows: the checkpoint digest is then the certification app's
 * (synod_app_checkpoint_digest reads its header at the start), as bundles
 * need. */
static int app_snapshot(void *ctx, uint8_t *buf, size_t cap, size_t *len)
{
	const struct sim_app *a = ctx;
	struct synod_wbuf w;
	size_t first = 0;
	*len = 0;
	if (cap < SIM_SNAPSHOT_BYTES) {
		return SYNOD_ELIMIT;
	}
	if (a->cluster->voters != NULL) {
		int rc =
		    sim_voters_snapshot(a->cluster, a->node, buf, cap - SIM_SNAPSHOT_BYTES, &first);
		if (rc != 0) {
			return rc;
		}
	}
	synod_wbuf_init(&w, buf + first, cap - first);
	synod_wbuf_u32(&w, 0x53494d31u);
	synod_wbuf_u64(&w, a->seq);
	synod_wbuf_u64(&w, a->entries);
	synod_wbuf_bytes(&w, a->chain, 32);
	if (app_ids_kept(a)) {
		synod_wbuf_bytes(&w, a->ids, sizeof a->ids);
	}
	if (w.err != 0) {
		return SYNOD_ELIMIT;
	}
	*len = first + w.len;
	return 0;
}

static int app_restore(void *ctx, uint64_t seq, const uint8_t *snap, size_t len)
{
	struct sim_app *a = ctx;
	struct synod_rbuf r;
	uint32_t magic = 0;
	uint64_t s = 0, entries = 0;
	uint8_t chain[32];
	static uint8_t ids[SIM_APP_IDS_BYTES]; /* the simulator is single-threaded */
	size_t first = 0;
	if (a->cluster->voters != NULL) {
		first = len < SIM_SNAPSHOT_BYTES ? 0 : len - SIM_SNAPSHOT_BYTES;
	}
	synod_rbuf_init(&r, snap + first, len - first);
	(void)synod_rbuf_u32(&r, &magic);
	(void)synod_rbuf_u64(&r, &s);
	(void)synod_rbuf_u64(&r, &entries);
	(void)synod_rbuf_copy(&r, chain, 32);
	if (app_ids_kept(a)) {
		(void)synod_rbuf_copy(&r, ids, sizeof ids);
	}
	if (synod_rbuf_finish(&r) != 0 || magic != 0x53494d31u || s != seq) {
		return SYNOD_EINVAL;
	}
	if (a->cluster->voters != NULL) {
		int rc = sim_voters_restore(a->cluster, a->node, seq, snap, first);
		if (rc != 0) {
			return rc;
		}
	}
	a->seq = s;
	a->entries = entries;
	memcpy(a->chain, chain, 32);
	if (app_ids_kept(a)) {
		memcpy(a->ids, ids, sizeof ids);
	}
	sim_check_restore(a->cluster, a->node, seq);
	return 0;
}

static int app_validate(void *ctx, const uint8_t *batch, size_t batch_len, uint64_t now_ms)
{
	struct sim_app *a = ctx;
	return sim_voters_validate(a->cluster, a->node, batch, batch_len, now_ms);
}

static int app_admit(void *ctx, const uint8_t *entry, size_t len)
{
	(void)ctx;
	return synod_app_admit(entry, len);
}

static bool app_expired(void *ctx, const uint8_t *entry, size_t len, uint64_t now_ms)
{
	struct sim_app *a = ctx;
	return sim_voters_expired(a->cluster, a->node, entry, len, now_ms);
}

static bool app_overdue(void *ctx, uint64_t now_ms)
{
	struct sim_app *a = ctx;
	return sim_voters_overdue(a->cluster, a->node, now_ms);
}

/* pbft_app.executed: from the state (the ids), or the certification app's. */
static bool app_executed(void *ctx, const uint8_t *entry, size_t len)
{
	struct sim_app *a = ctx;
	if (!app_ids_kept(a)) {
		return sim_voters_executed(a->cluster, a->node, entry, len);
	}
	int32_t id =
	    len <= SIM_ENTRY_BYTES_MAX ? sim_entry_id(a->cluster, entry, (uint32_t)len) : -1;
	return id >= 0 && ((uint32_t)a->ids[(uint32_t)id / 8u] >> ((uint32_t)id % 8u) & 1u) != 0;
}

static void app_digest(void *ctx, const uint8_t *snap, size_t len, uint8_t out[PBFT_DIGEST_BYTES])
{
	struct sim_app *a = ctx;
	sim_voters_digest(a->cluster, a->node, snap, len, out);
}

struct pbft_app sim_app_table(struct sim_app *a)
{
	bool voters = a->cluster->voters != NULL;
	struct pbft_app t = {
	    .ctx = a,
	    .execute = app_execute,
	    .validate = voters ? app_validate : NULL,
	    .admit = voters ? app_admit : NULL,
	    .expired = voters ? app_expired : NULL,
	    .overdue = voters ? app_overdue : NULL,
	    .executed = app_executed,
	    .snapshot = app_snapshot,
	    .restore = app_restore,
	    .digest = voters ? app_digest : NULL,
	};
	return t;
}

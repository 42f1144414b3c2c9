/* The certified log of decisions. Every decision appends a leaf to an RFC 9162
 * Merkle log; the log's size and root are part of the checkpoint digest
 * (SHA-256 of a tag, the size, the root and the snapshot's SHA-256), so 2f+1
 * CHECKPOINT signatures certify every decision up to the checkpoint. A bundle
 * carries that certificate and the inclusion path of its decision's leaf: a
 * coordinator can then no longer hand out a bundle that reads the certified
 * entries differently (omits the TICK that expired the request, one vote of
 * an equivocation, an ignored vote, names another epoch, moves an exclusion's
 * window or shows another of the seat's conflicting pairs). Format:
 * README.md, "The log of decisions". */
#include "common/assert.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/merkle.h"
#include "common/wire.h"
#include "coordinator/app/internal.h"

#include <stdlib.h>
#include <string.h>

#define DECISION_MAGIC   0x53594443u /* "SYDC" */
#define DECISION_VERSION 3u          /* 1 and 2 did not bind equivocation exclusions */

static const char checkpoint_tag[] = "synod.checkpoint.v1";

static void record_add(struct app_decision_record *d, struct synod_app_pos pos, uint32_t seat,
                       enum synod_vote_reason reason)
{
	SYNOD_ASSERT(d->vote_count < APP_DECISION_VOTES_MAX);
	struct app_ignored *v = &d->votes[d->vote_count++];
	v->pos = pos;
	v->seat = (uint8_t)seat;
	v->reason = (uint8_t)reason;
}

static int record_cmp(const void *x, const void *y)
{
	const struct app_ignored *a = x;
	const struct app_ignored *b = y;
	return synod_app_pos_cmp(a->pos, b->pos);
}

/* The exclusions of r's epoch, by seat: exactly those its bundle lists. */
static void record_exclusions(const struct synod_app *a, const struct app_request *r,
                              struct app_decision_record *d)
{
	for (uint32_t s = 0; s < a->seats; s++) {
		const struct app_exclusion *x =
		    (r->eligible >> s & 1u) != 0 ? NULL : app_exclusion_covering(a, s, r->epoch);
		if (x == NULL) {
			continue;
		}
		struct app_decision_exclusion *e = &d->exclusions[d->exclusion_count++];
		e->seat = (uint8_t)s;
		e->kind = x->kind;
		e->from_epoch = x->from_epoch;
		e->until_epoch = x->until_epoch;
		memcpy(e->request_id, x->request_id, SYNOD_HASH_BYTES);
		if (x->kind == SYNOD_EXCLUSION_EQUIVOCATION) {
			memcpy(e->pos, x->pos, sizeof e->pos);
			memcpy(e->digest, x->digest, sizeof e->digest);
		} else {
			e->missed = x->missed;
		}
	}
}

void app_decision_record_of(const struct synod_app *a, const struct app_request *r,
                            struct app_decision_record *d)
{
	memset(d, 0, sizeof *d);
	memcpy(d->request_id, r->id, SYNOD_HASH_BYTES);
	d->outcome = r->outcome;
	d->submitted_at = r->submitted_at;
	d->decided_at = r->decided_at;
	d->epoch = r->epoch;
	memcpy(d->voter_set_hash, r->voter_set_hash, SYNOD_HASH_BYTES);
	d->eligible = r->eligible;
	const struct app_slot *slots = app_slots_of(a, a->st, r);
	for (uint32_t s = 0; s < a->seats; s++) {
		uint64_t bit = UINT64_C(1) << s;
		if (((r->approved_by | r->rejected_by) & bit) != 0) {
			record_add(d, slots[s].pos, s, SYNOD_VOTE_COUNTED);
		} else if ((r->equivocators & bit) != 0) {
			record_add(d, slots[s].pos, s, SYNOD_VOTE_EQUIVOCATION);
			record_add(d, slots[s].pos2, s, SYNOD_VOTE_EQUIVOCATION);
		}
	}
	for (uint32_t i = 0; i < r->ignored_count; i++) {
		if (synod_app_pos_cmp(r->ignored[i].pos, r->decided_at) <= 0) {
			record_add(d, r->ignored[i].pos, r->ignored[i].seat,
			           (enum synod_vote_reason)r->ignored[i].reason);
		}
	}
	qsort(d->votes, d->vote_count, sizeof d->votes[0], record_cmp);
	record_exclusions(a, r, d);
}

static void wpos(struct synod_wbuf *w, struct synod_app_pos p)
{
	synod_wbuf_u64(w, p.seq);
	synod_wbuf_u32(w, p.index);
}

static void leaf_exclusion(struct synod_wbuf *w, const struct app_decision_exclusion *e)
{
	synod_wbuf_u8(w, e->seat);
	synod_wbuf_u8(w, e->kind);
	synod_wbuf_u64(w, e->from_epoch);
	synod_wbuf_u64(w, e->until_epoch);
	synod_wbuf_bytes(w, e->request_id, SYNOD_HASH_BYTES);
	if (e->kind == SYNOD_EXCLUSION_EQUIVOCATION) {
		wpos(w, e->pos[0]);
		wpos(w, e->pos[1]);
		synod_wbuf_bytes(w, e->digest[0], SYNOD_HASH_BYTES);
		synod_wbuf_bytes(w, e->digest[1], SYNOD_HASH_BYTES);
	} else {
		synod_wbuf_u64(w, e->missed);
	}
}

size_t app_decision_encode(const uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES],
                           const struct app_decision_record *d, uint8_t out[APP_DECISION_BYTES_MAX])
{
	struct synod_wbuf w;
	SYNOD_ASSERT(d->vote_count <= APP_DECISION_VOTES_MAX &&
	             d->exclusion_count <= SYNOD_APP_SEATS_MAX);
	synod_wbuf_init(&w, out, APP_DECISION_BYTES_MAX);
	synod_wbuf_u32(&w, DECISION_MAGIC);
	synod_wbuf_u32(&w, DECISION_VERSION);
	synod_wbuf_bytes(&w, cluster_id, SYNOD_CLUSTER_ID_BYTES);
	synod_wbuf_bytes(&w, d->request_id, SYNOD_HASH_BYTES);
	synod_wbuf_u8(&w, d->outcome);
	wpos(&w, d->submitted_at);
	wpos(&w, d->decided_at);
	synod_wbuf_u64(&w, d->epoch);
	synod_wbuf_bytes(&w, d->voter_set_hash, SYNOD_HASH_BYTES);
	synod_wbuf_u64(&w, d->eligible);
	synod_wbuf_u32(&w, d->vote_count);
	for (uint32_t i = 0; i < d->vote_count; i++) {
		wpos(&w, d->votes[i].pos);
		synod_wbuf_u8(&w, d->votes[i].seat);
		synod_wbuf_u8(&w, d->votes[i].reason);
	}
	synod_wbuf_u32(&w, d->exclusion_count);
	for (uint32_t i = 0; i < d->exclusion_count; i++) {
		leaf_exclusion(&w, &d->exclusions[i]);
	}
	SYNOD_ASSERT(w.err == 0);
	return w.len;
}

void app_decision_leaf(const uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES],
                       const struct app_decision_record *d, uint8_t out[SYNOD_HASH_BYTES])
{
	uint8_t buf[APP_DECISION_BYTES_MAX];
	size_t len = app_decision_encode(cluster_id, d, buf);
	synod_merkle_leaf_hash(out, buf, len);
}

static void rpos(struct synod_rbuf *r, struct synod_app_pos *p)
{
	synod_rbuf_u64(r, &p->seq);
	synod_rbuf_u32(r, &p->index);
}

static bool decode_exclusion(struct synod_rbuf *r, struct app_decision_exclusion *e)
{
	synod_rbuf_u8(r, &e->seat);
	synod_rbuf_u8(r, &e->kind);
	synod_rbuf_u64(r, &e->from_epoch);
	synod_rbuf_u64(r, &e->until_epoch);
	synod_rbuf_copy(r, e->request_id, SYNOD_HASH_BYTES);
	if (e->kind == SYNOD_EXCLUSION_EQUIVOCATION) {
		rpos(r, &e->pos[0]);
		rpos(r, &e->pos[1]);
		synod_rbuf_copy(r, e->digest[0], SYNOD_HASH_BYTES);
		synod_rbuf_copy(r, e->digest[1], SYNOD_HASH_BYTES);
	} else if (e->kind == SYNOD_EXCLUSION_NON_PARTICIPATION) {
		synod_rbuf_u64(r, &e->missed);
	} else {
		return false;
	}
	return r->err == 0;
}

int app_decision_decode(const uint8_t *p, size_t len, uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES],
                        struct app_decision_record *d)
{
	struct synod_rbuf r;
	uint32_t magic = 0, version = 0;
	memset(d, 0, sizeof *d);
	synod_rbuf_init(&r, p, len);
	synod_rbuf_u32(&r, &magic);
	synod_rbuf_u32(&r, &version);
	synod_rbuf_copy(&r, cluster_id, SYNOD_CLUSTER_ID_BYTES);
	synod_rbuf_copy(&r, d->request_id, SYNOD_HASH_BYTES);
	synod_rbuf_u8(&r, &d->outcome);
	rpos(&r, &d->submitted_at);
	rpos(&r, &d->decided_at);
	synod_rbuf_u64(&r, &d->epoch);
	synod_rbuf_copy(&r, d->voter_set_hash, SYNOD_HASH_BYTES);
	synod_rbuf_u64(&r, &d->eligible);
	synod_rbuf_u32(&r, &d->vote_count);
	if (r.err != 0 || magic != DECISION_MAGIC || version != DECISION_VERSION ||
	    d->vote_count > APP_DECISION_VOTES_MAX) {
		return SYNOD_EINVAL;
	}
	for (uint32_t i = 0; i < d->vote_count; i++) {
		rpos(&r, &d->votes[i].pos);
		synod_rbuf_u8(&r, &d->votes[i].seat);
		synod_rbuf_u8(&r, &d->votes[i].reason);
	}
	synod_rbuf_u32(&r, &d->exclusion_count);
	if (r.err != 0 || d->exclusion_count > SYNOD_APP_SEATS_MAX) {
		return SYNOD_EINVAL;
	}
	for (uint32_t i = 0; i < d->exclusion_count; i++) {
		if (!decode_exclusion(&r, &d->exclusions[i])) {
			return SYNOD_EINVAL;
		}
	}
	return synod_rbuf_finish(&r) == 0 ? 0 : SYNOD_EINVAL;
}

void app_decision_append(struct synod_app *a, struct app_request *r)
{
	struct app_decision_record d;
	uint8_t leaf[SYNOD_HASH_BYTES];
	app_decision_record_of(a, r, &d);
	app_decision_leaf(a->cfg.cluster.cluster_id, &d, leaf);
	r->decision_index = a->dlog.count;
	/* Only the last SYNOD_APP_DECISIONS_PROVABLE leaves are kept (what is
	 * needed below them is the frontier): memory stays bounded. */
	if (a->dlog.count - a->dlog.base >= 2u * SYNOD_APP_DECISIONS_PROVABLE) {
		int rc =
		    synod_merkle_log_forget(&a->dlog, a->dlog.count - SYNOD_APP_DECISIONS_PROVABLE);
		SYNOD_ASSERT(rc == 0 || rc == SYNOD_ENOMEM);
	}
	/* A replica that cannot record a decision cannot compute its next
	 * checkpoint digest: stopping is the only safe answer (it recovers from
	 * its WAL or a peer's snapshot on restart). */
	int rc = synod_merkle_log_append(&a->dlog, leaf);
	if (rc != 0) {
		synod_log(SYNOD_LOG_ERROR, "app", "recording decision %llu: %s",
		          (unsigned long long)a->dlog.count, synod_strerror(rc));
	}
	SYNOD_ASSERT(rc == 0);
}

void app_checkpoint_digest(uint64_t decisions, const uint8_t root[SYNOD_HASH_BYTES],
                           const uint8_t state_hash[SYNOD_HASH_BYTES],
                           uint8_t out[SYNOD_HASH_BYTES])
{
	uint8_t n[8];
	struct synod_sha256 h;
	for (int i = 0; i < 8; i++) {
		n[i] = (uint8_t)(decisions >> (56 - 8 * i));
	}
	synod_sha256_init(&h);
	synod_sha256_update(&h, checkpoint_tag, sizeof checkpoint_tag - 1u);
	synod_sha256_update(&h, n, sizeof n);
	synod_sha256_update(&h, root, SYNOD_HASH_BYTES);
	synod_sha256_update(&h, state_hash, SYNOD_HASH_BYTES);
	synod_sha256_final(&h, out);
}

/* pbft_app.digest: any bytes (a peer's snapshot may be malformed). The size
 * and root sit right after the snapshot's magic and version; a snapshot too
 * short to hold them digests as size 0 with a zero root (it will not restore
 * anyway). Only digests whose log of decisions is a prefix of ours are
 * remembered (our own checkpoints), so that a peer's junk snapshots cannot
 * push them out. */
void synod_app_checkpoint_digest(struct synod_app *a, const uint8_t *snap, size_t len,
                                 uint8_t out[SYNOD_HASH_BYTES])
{
	struct app_checkpoint c;
	memset(&c, 0, sizeof c);
	if (len >= 16u + SYNOD_HASH_BYTES) {
		for (int i = 0; i < 8; i++) {
			c.decisions = c.decisions << 8 | snap[8 + i];
		}
		memcpy(c.decisions_root, snap + 16, SYNOD_HASH_BYTES);
	}
	synod_sha256(c.state_hash, snap, len);
	app_checkpoint_digest(c.decisions, c.decisions_root, c.state_hash, c.digest);
	memcpy(out, c.digest, SYNOD_HASH_BYTES);
	uint8_t root[SYNOD_HASH_BYTES];
	if (c.decisions >= a->dlog.base && c.decisions <= a->dlog.count &&
	    synod_merkle_log_root(&a->dlog, c.decisions, root) == 0 &&
	    memcmp(root, c.decisions_root, SYNOD_HASH_BYTES) == 0 &&
	    app_checkpoint_find(a, c.digest) == NULL) {
		c.used = true;
		a->ckpts[a->ckpt_next] = c;
		a->ckpt_next = (a->ckpt_next + 1u) % APP_CHECKPOINTS_KEPT;
	}
}

const struct app_checkpoint *app_checkpoint_find(const struct synod_app *a,
                                                 const uint8_t digest[SYNOD_HASH_BYTES])
{
	for (uint32_t i = 0; i < APP_CHECKPOINTS_KEPT; i++) {
		if (a->ckpts[i].used && memcmp(a->ckpts[i].digest, digest, SYNOD_HASH_BYTES) == 0) {
			return &a->ckpts[i];
		}
	}
	return NULL;
}

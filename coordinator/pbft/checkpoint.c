/* Checkpoints, stable checkpoints and log truncation (section 4.3). */
#include "coordinator/pbft/internal.h"

#include "common/hash.h"
#include "common/log.h"

#include <string.h>

SYNOD_COUNTER(pbft_snapshot_failed_total, "synod_pbft_snapshot_failed_total",
              "checkpoints skipped because the application snapshot failed or was too large");
SYNOD_COUNTER(pbft_diverged_total, "synod_pbft_state_diverged_total",
              "stable checkpoints whose digest differed from ours");

struct pbft_own_checkpoint *pbft_own_checkpoint_find(struct pbft *p, uint64_t seq)
{
	for (uint32_t i = 0; i < p->ckpts_kept; i++) {
		if (p->own_ckpts[i].seq == seq && seq != 0) {
			return &p->own_ckpts[i];
		}
	}
	return NULL;
}

/* A free entry: unused, below the stable checkpoint, or else the oldest. */
static struct pbft_own_checkpoint *own_checkpoint_alloc(struct pbft *p, uint64_t seq)
{
	struct pbft_own_checkpoint *best = pbft_own_checkpoint_find(p, seq);
	for (uint32_t i = 0; best == NULL && i < p->ckpts_kept; i++) {
		struct pbft_own_checkpoint *c = &p->own_ckpts[i];
		if (c->seq == 0 || c->seq < p->h) {
			best = c;
		}
	}
	for (uint32_t i = 0; best == NULL && i < p->ckpts_kept; i++) {
		struct pbft_own_checkpoint *c = &p->own_ckpts[i];
		if (c->seq != p->h && (best == NULL || c->seq < best->seq)) {
			best = c;
		}
	}
	SYNOD_ASSERT(best != NULL);
	best->seq = seq;
	return best;
}

static void peer_checkpoint_store(struct pbft *p, const struct pbft_core *c)
{
	uint32_t j = c->sender, victim = 0;
	for (uint32_t k = 0; k < PBFT_CHECKPOINTS_KEPT; k++) {
		const struct pbft_core *o = &p->peer_ckpts[j][k];
		if (p->has_peer_ckpt[j][k] && o->seq == c->seq &&
		    memcmp(o->digest, c->digest, PBFT_DIGEST_BYTES) == 0) {
			return;
		}
		if (!p->has_peer_ckpt[j][k]) {
			victim = k;
			break;
		}
		if (o->seq < p->peer_ckpts[j][victim].seq) {
			victim = k;
		}
	}
	p->peer_ckpts[j][victim] = *c;
	p->has_peer_ckpt[j][victim] = true;
}

/* Distinct replicas with a CHECKPOINT for (seq, digest); fills proof. */
static uint32_t checkpoint_count(const struct pbft *p, uint64_t seq, const uint8_t digest[32],
                                 struct pbft_core *proof)
{
	uint32_t count = 0;
	for (uint32_t j = 0; j < p->n; j++) {
		for (uint32_t k = 0; k < PBFT_CHECKPOINTS_KEPT; k++) {
			const struct pbft_core *o = &p->peer_ckpts[j][k];
			if (p->has_peer_ckpt[j][k] && o->seq == seq &&
			    memcmp(o->digest, digest, PBFT_DIGEST_BYTES) == 0) {
				proof[count++] = *o;
				break;
			}
		}
	}
	return count;
}

static void stability_check(struct pbft *p, uint64_t seq, const uint8_t digest[32])
{
	struct pbft_core proof[PBFT_REPLICAS_MAX];
	if (seq <= p->h || checkpoint_count(p, seq, digest, proof) < p->quorum) {
		return;
	}
	struct pbft_own_checkpoint *own = pbft_own_checkpoint_find(p, seq);
	if (own != NULL && memcmp(own->digest, digest, PBFT_DIGEST_BYTES) == 0) {
		pbft_checkpoint_stabilise(p, seq, digest, proof, p->quorum);
		return;
	}
	if (own != NULL) {
		synod_counter_inc(&pbft_diverged_total);
		synod_log(SYNOD_LOG_ERROR, "pbft",
		          "replica %u: our state at seq %llu differs from the stable checkpoint; "
		          "fetching state",
		          p->cfg.self, (unsigned long long)seq);
	}
	/* Behind (or diverged): 2f+1 replicas prove a state we do not have. */
	pbft_fetch_send(p);
}

void pbft_snapshot_digest(const struct pbft *p, const uint8_t *snap, size_t len,
                          uint8_t out[PBFT_DIGEST_BYTES])
{
	if (p->cfg.app.digest != NULL) {
		p->cfg.app.digest(p->cfg.app.ctx, snap, len, out);
	} else {
		synod_sha256(out, snap, len);
	}
}

void pbft_checkpoint_take(struct pbft *p, uint64_t seq)
{
	struct pbft_own_checkpoint *own = own_checkpoint_alloc(p, seq);
	size_t len = 0;
	int rc =
	    p->cfg.app.snapshot(p->cfg.app.ctx, own->snapshot, p->cfg.snapshot_bytes_max, &len);
	if (rc != 0 || len > p->cfg.snapshot_bytes_max) {
		own->seq = 0;
		synod_counter_inc(&pbft_snapshot_failed_total);
		synod_log(SYNOD_LOG_ERROR, "pbft", "replica %u: snapshot at seq %llu failed: %s",
		          p->cfg.self, (unsigned long long)seq, synod_strerror(rc));
		return;
	}
	own->snapshot_len = (uint32_t)len;
	pbft_snapshot_digest(p, own->snapshot, len, own->digest);
	struct pbft_core c = {.type = PBFT_MSG_CHECKPOINT, .view = p->view, .seq = seq};
	memcpy(c.digest, own->digest, PBFT_DIGEST_BYTES);
	pbft_core_sign(p, &c);
	peer_checkpoint_store(p, &c);
	pbft_out_send(p, PBFT_TO_ALL, &c, NULL, 0);
	stability_check(p, seq, c.digest);
}

/* f+1 replicas have checkpoints above what we executed: at least one honest
 * replica is ahead of us, so ask for state. */
static void lag_check(struct pbft *p)
{
	uint32_t ahead = 0;
	for (uint32_t j = 0; j < p->n; j++) {
		for (uint32_t k = 0; k < PBFT_CHECKPOINTS_KEPT; k++) {
			if (p->has_peer_ckpt[j][k] && p->peer_ckpts[j][k].seq > p->last_exec) {
				ahead++;
				break;
			}
		}
	}
	if (ahead > p->f) {
		pbft_fetch_send(p);
	}
}

int pbft_on_checkpoint(struct pbft *p, const struct pbft_msg *m)
{
	const struct pbft_core *c = &m->core;
	if (c->seq == 0 || c->seq % p->cfg.checkpoint_interval != 0) {
		pbft_reject(p, "CHECKPOINT at a sequence number that is not one", c->sender);
		return SYNOD_EPROTO;
	}
	if (c->seq <= p->h) {
		return 0;
	}
	peer_checkpoint_store(p, c);
	stability_check(p, c->seq, c->digest);
	lag_check(p);
	return 0;
}

int pbft_stable_checkpoint_get(const struct pbft *p, uint64_t *seq, uint8_t *cores, uint32_t cap,
                               uint32_t *count)
{
	*seq = p->h;
	*count = 0;
	if (p->h == 0) {
		return 0;
	}
	if (p->stable_proof_count > cap) {
		return SYNOD_ELIMIT;
	}
	for (uint32_t i = 0; i < p->stable_proof_count; i++) {
		pbft_core_encode(&p->stable_proof[i], cores + (size_t)i * PBFT_CORE_BYTES);
	}
	*count = p->stable_proof_count;
	return 0;
}

int pbft_checkpoint_proof_check(const struct pbft *p, uint64_t seq, const uint8_t digest[32],
                                const uint8_t *cores, uint32_t count, struct pbft_core *proof)
{
	bool seen[PBFT_REPLICAS_MAX] = {false};
	uint32_t valid = 0;
	if (count > p->n) {
		return SYNOD_ECERT;
	}
	for (uint32_t i = 0; i < count; i++) {
		struct pbft_core c;
		const uint8_t *at = cores + (size_t)i * PBFT_CORE_BYTES;
		if ((pbft_mutated(p, PBFT_MUTATE_CKPT_PROOF_NO_SIG)
		         ? pbft_core_decode(&c, at)
		         : pbft_core_check(p, at, &c)) != 0 ||
		    c.type != PBFT_MSG_CHECKPOINT || c.seq != seq || seen[c.sender] ||
		    (memcmp(c.digest, digest, PBFT_DIGEST_BYTES) != 0 &&
		     !pbft_mutated(p, PBFT_MUTATE_CKPT_PROOF_MIXED))) {
			return SYNOD_ECERT;
		}
		seen[c.sender] = true;
		if (proof != NULL) {
			proof[valid] = c;
		}
		valid++;
	}
	return valid >= p->quorum ? 0 : SYNOD_ECERT;
}

/* Writes the CHECKPOINT record: seq | a STATE payload holding the proof and
 * the snapshot. Everything before it may then be discarded. */
static void stabilise_persist(struct pbft *p, const struct pbft_own_checkpoint *own)
{
	size_t cap = 8 + 4 + p->stable_proof_count * PBFT_CORE_BYTES + 4 + own->snapshot_len + 4;
	uint8_t *rec = pbft_arena_alloc(p, cap);
	struct synod_wbuf w;
	synod_wbuf_init(&w, rec, cap);
	synod_wbuf_u64(&w, own->seq);
	synod_wbuf_u32(&w, p->stable_proof_count);
	for (uint32_t i = 0; i < p->stable_proof_count; i++) {
		uint8_t *at = synod_wbuf_reserve(&w, PBFT_CORE_BYTES);
		if (at != NULL) {
			pbft_core_encode(&p->stable_proof[i], at);
		}
	}
	synod_wbuf_blob(&w, own->snapshot, own->snapshot_len);
	synod_wbuf_u32(&w, 0);
	SYNOD_ASSERT(w.err == 0 && w.len == cap);
	pbft_out_record(p, PBFT_REC_CHECKPOINT, rec, w.len, true);
}

/* The stable checkpoint becomes (seq, digest) with its proof. */
static void stable_set(struct pbft *p, uint64_t seq, const uint8_t digest[32],
                       const struct pbft_core *proof, uint32_t proof_count)
{
	p->h = seq;
	memcpy(p->stable_digest, digest, PBFT_DIGEST_BYTES);
	memcpy(p->stable_proof, proof, proof_count * sizeof proof[0]);
	p->stable_proof_count = proof_count;
}

/* After a new stable checkpoint at seq: our own older checkpoints go, the
 * window's tail above seq is re-stated (slots at or below it are outside the
 * window now; pbft_slot_get resets them on reuse), and the primary numbers
 * on from above seq. */
static void stable_forget_below(struct pbft *p, uint64_t seq)
{
	for (uint32_t i = 0; i < p->ckpts_kept; i++) {
		if (p->own_ckpts[i].seq < seq) {
			p->own_ckpts[i].seq = 0;
		}
	}
	pbft_persist_tail(p);
	if (p->next_seq <= seq) {
		p->next_seq = seq + 1;
	}
}

void pbft_checkpoint_stabilise(struct pbft *p, uint64_t seq, const uint8_t digest[32],
                               const struct pbft_core *proof, uint32_t proof_count)
{
	SYNOD_ASSERT(seq > p->h && proof_count >= p->quorum && proof_count <= p->n);
	struct pbft_own_checkpoint *own = pbft_own_checkpoint_find(p, seq);
	SYNOD_ASSERT(own != NULL && memcmp(own->digest, digest, PBFT_DIGEST_BYTES) == 0);
	SYNOD_ASSERT(p->last_exec >= seq);
	stable_set(p, seq, digest, proof, proof_count);
	stabilise_persist(p, own);
	stable_forget_below(p, seq);
}

/* Writes the STABLE record for an adopted checkpoint at seq: its proof, and
 * our own state at last_exec, snapshotted straight into the record. The
 * record truncates what came before (the batches we executed are among it),
 * so it carries that state: after a restart we have executed no less than
 * before. */
static int adopt_persist(struct pbft *p, uint64_t seq, const struct pbft_core *proof,
                         uint32_t proof_count)
{
	size_t head = 8 + 4 + (size_t)proof_count * PBFT_CORE_BYTES + 8 + 4;
	size_t cap = head + p->cfg.snapshot_bytes_max;
	uint8_t *rec = pbft_arena_alloc(p, cap);
	struct synod_wbuf w;
	synod_wbuf_init(&w, rec, cap);
	synod_wbuf_u64(&w, seq);
	synod_wbuf_u32(&w, proof_count);
	for (uint32_t i = 0; i < proof_count; i++) {
		uint8_t *at = synod_wbuf_reserve(&w, PBFT_CORE_BYTES);
		if (at != NULL) {
			pbft_core_encode(&proof[i], at);
		}
	}
	synod_wbuf_u64(&w, p->last_exec);
	SYNOD_ASSERT(w.err == 0 && w.len + 4 == head);
	size_t len = 0;
	int rc = p->cfg.app.snapshot(p->cfg.app.ctx, rec + head, p->cfg.snapshot_bytes_max, &len);
	if (rc != 0 || len > p->cfg.snapshot_bytes_max) {
		return rc != 0 ? rc : SYNOD_ELIMIT;
	}
	synod_wbuf_u32(&w, (uint32_t)len);
	SYNOD_ASSERT(w.err == 0 && w.len == head);
	pbft_out_record(p, PBFT_REC_STABLE, rec, head + len, true);
	return 0;
}

int pbft_checkpoint_adopt(struct pbft *p, uint64_t seq, const uint8_t digest[32],
                          const struct pbft_core *proof, uint32_t proof_count)
{
	SYNOD_ASSERT(seq > p->h && p->last_exec < seq);
	SYNOD_ASSERT(proof_count >= p->quorum && proof_count <= p->n);
	int rc = adopt_persist(p, seq, proof, proof_count);
	if (rc != 0) {
		synod_counter_inc(&pbft_snapshot_failed_total);
		return rc;
	}
	stable_set(p, seq, digest, proof, proof_count);
	stable_forget_below(p, seq);
	synod_log(SYNOD_LOG_INFO, "pbft",
	          "replica %u: adopted stable checkpoint %llu (executed through %llu), fetching "
	          "its snapshot",
	          p->cfg.self, (unsigned long long)seq, (unsigned long long)p->last_exec);
	return 0;
}

void pbft_checkpoint_adopted_installed(struct pbft *p, const struct pbft_own_checkpoint *own)
{
	SYNOD_ASSERT(own->seq == p->h && p->last_exec == p->h);
	SYNOD_ASSERT(memcmp(own->digest, p->stable_digest, PBFT_DIGEST_BYTES) == 0);
	stabilise_persist(p, own);
	pbft_persist_tail(p);
}

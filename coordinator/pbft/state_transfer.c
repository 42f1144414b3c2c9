/* State transfer (section 5.3, simplified): a replica that is behind asks
 * everyone with FETCH(view, last executed seq). Peers answer with their latest
 * NEW-VIEW (if the requester is in an older view) and a STATE: their stable
 * checkpoint's proof and snapshot (if the requester is below it) and the
 * committed batches after it, each with its commit certificate. The requester
 * trusts no single peer: the snapshot must hash to a digest signed by 2f+1
 * replicas, and every batch must carry 2f+1 signed COMMITs. */
#include "coordinator/pbft/internal.h"

#include "common/hash.h"
#include "common/log.h"

#include <string.h>

SYNOD_COUNTER(pbft_state_transfers_total, "synod_pbft_state_transfers_total",
              "stable checkpoint snapshots installed from peers");

void pbft_fetch_send(struct pbft *p)
{
	if (p->fetch_deadline_ms != 0 && p->now_ms < p->fetch_deadline_ms) {
		return;
	}
	p->fetch_deadline_ms = p->now_ms + p->cfg.timeout_ms_min / 2 + 1;
	struct pbft_core c = {.type = PBFT_MSG_FETCH, .view = p->view, .seq = p->last_exec};
	pbft_core_sign(p, &c);
	pbft_out_send(p, PBFT_TO_ALL, &c, NULL, 0);
}

/* Appends committed batches (from, last_exec] with certificates, as many as
 * fit. Returns how many. */
static uint32_t state_batches_write(struct pbft *p, struct synod_wbuf *w, uint64_t from)
{
	uint32_t count = 0;
	for (uint64_t s = from + 1; s <= p->last_exec && count < p->cfg.window; s++) {
		const struct pbft_slot *sl = &p->slots[(s - 1) % p->cfg.window];
		if (s <= p->h || sl->seq != s || !sl->executed) {
			break;
		}
		size_t need = 8 + 4 + sl->batch_len + 4 + sl->cert_count * PBFT_CORE_BYTES;
		if (need > w->cap - w->len) {
			break;
		}
		synod_wbuf_u64(w, s);
		synod_wbuf_blob(w, sl->batch, sl->batch_len);
		synod_wbuf_u32(w, sl->cert_count);
		synod_wbuf_bytes(w, sl->cert, (size_t)sl->cert_count * PBFT_CORE_BYTES);
		count++;
	}
	return count;
}

static void state_send(struct pbft *p, uint32_t to, uint64_t their_seq)
{
	struct pbft_own_checkpoint *own = pbft_own_checkpoint_find(p, p->h);
	bool with_ckpt = p->h > their_seq && own != NULL && p->stable_proof_count > 0;
	struct synod_wbuf w;
	synod_wbuf_init(&w, p->work, p->work_cap);
	synod_wbuf_u32(&w, with_ckpt ? p->stable_proof_count : 0);
	for (uint32_t i = 0; with_ckpt && i < p->stable_proof_count; i++) {
		uint8_t *at = synod_wbuf_reserve(&w, PBFT_CORE_BYTES);
		if (at != NULL) {
			pbft_core_encode(&p->stable_proof[i], at);
		}
	}
	synod_wbuf_blob(&w, with_ckpt ? own->snapshot : NULL, with_ckpt ? own->snapshot_len : 0);
	size_t count_at = w.len;
	synod_wbuf_u32(&w, 0);
	uint32_t count = state_batches_write(p, &w, with_ckpt ? p->h : their_seq);
	SYNOD_ASSERT(w.err == 0);
	if (!with_ckpt && count == 0) {
		return;
	}
	for (int i = 0; i < 4; i++) {
		p->work[count_at + (size_t)i] = (uint8_t)(count >> (24 - 8 * i));
	}
	struct pbft_core c = {.type = PBFT_MSG_STATE, .view = p->view, .seq = with_ckpt ? p->h : 0};
	synod_sha256(c.digest, p->work, w.len);
	pbft_core_sign(p, &c);
	pbft_out_send(p, to, &c, p->work, w.len);
}

int pbft_on_fetch(struct pbft *p, const struct pbft_msg *m)
{
	uint32_t j = m->core.sender;
	/* One answer per peer per half minimum timeout: a FETCH costs us far more
	 * than it costs the sender. */
	if (p->peer_fetch_ms[j] != 0 &&
	    p->now_ms < p->peer_fetch_ms[j] + p->cfg.timeout_ms_min / 2) {
		return 0;
	}
	p->peer_fetch_ms[j] = p->now_ms;
	if (p->nv_view > m->core.view && p->nv_len > 0) {
		pbft_out_send_raw(p, j, p->nv_bytes, p->nv_len);
	}
	if (p->last_exec > m->core.seq) {
		state_send(p, j, m->core.seq);
	}
	return 0;
}

/* Installs the checkpoint a STATE carries, if it is ahead of us and proven. */
static int state_install_checkpoint(struct pbft *p, const struct pbft_msg *m,
                                    const struct pbft_state *st)
{
	struct pbft_core first, proof[PBFT_REPLICAS_MAX];
	uint8_t digest[PBFT_DIGEST_BYTES];
	uint64_t seq = m->core.seq;
	if (pbft_core_decode(&first, st->checkpoints) != 0 ||
	    pbft_checkpoint_proof_check(p, seq, first.digest, st->checkpoints, st->checkpoint_count,
	                                proof) != 0) {
		return SYNOD_ECERT;
	}
	pbft_snapshot_digest(p, st->snapshot, st->snapshot_len, digest);
	if ((memcmp(digest, first.digest, PBFT_DIGEST_BYTES) != 0 &&
	     !pbft_mutated(p, PBFT_MUTATE_STATE_SNAPSHOT_UNCHECKED)) ||
	    st->snapshot_len > p->cfg.snapshot_bytes_max) {
		return SYNOD_ECERT;
	}
	/* The snapshot of the checkpoint we adopted from a NEW-VIEW: it must be
	 * the state that checkpoint's proof names. */
	if (seq == p->h && memcmp(digest, p->stable_digest, PBFT_DIGEST_BYTES) != 0) {
		return SYNOD_ECERT;
	}
	int rc = p->cfg.app.restore(p->cfg.app.ctx, seq, st->snapshot, st->snapshot_len);
	if (rc != 0) {
		return rc;
	}
	/* Make room: the entry for seq must not be the current stable one. */
	struct pbft_own_checkpoint *own = NULL;
	for (uint32_t i = 0; i < p->ckpts_kept && own == NULL; i++) {
		if (p->own_ckpts[i].seq == 0 || p->own_ckpts[i].seq != p->h) {
			own = &p->own_ckpts[i];
		}
	}
	SYNOD_ASSERT(own != NULL);
	own->seq = seq;
	memcpy(own->digest, digest, PBFT_DIGEST_BYTES);
	memcpy(own->snapshot, st->snapshot, st->snapshot_len);
	own->snapshot_len = st->snapshot_len;
	p->last_exec = seq;
	if (seq > p->h) {
		pbft_checkpoint_stabilise(p, seq, digest, proof, st->checkpoint_count);
	} else {
		pbft_checkpoint_adopted_installed(p, own);
	}
	/* The snapshot executed entries we may hold: they must not be proposed
	 * or waited for again. */
	pbft_pending_reconcile(p, true);
	p->stats.state_transfers++;
	synod_counter_inc(&pbft_state_transfers_total);
	synod_log(SYNOD_LOG_INFO, "pbft", "replica %u: installed snapshot at seq %llu from %u",
	          p->cfg.self, (unsigned long long)seq, m->core.sender);
	return 0;
}

int pbft_on_state(struct pbft *p, const struct pbft_msg *m)
{
	struct pbft_state st;
	if (pbft_state_parse(&st, m->payload, m->payload_len, &p->lim) != 0) {
		pbft_reject(p, "malformed STATE", m->core.sender);
		return SYNOD_EPROTO;
	}
	/* A checkpoint below our stable one (adopted, its snapshot not here
	 * yet) is of no use: our window starts above it. */
	if (st.checkpoint_count > 0 && m->core.seq > p->last_exec && m->core.seq >= p->h) {
		int rc = state_install_checkpoint(p, m, &st);
		if (rc != 0) {
			pbft_reject(p, "STATE checkpoint does not verify", m->core.sender);
			return rc;
		}
		pbft_execute_ready(p); /* what committed while we waited for it */
	}
	if (p->last_exec < p->h) {
		return 0; /* still waiting for that snapshot: no batch can follow */
	}
	struct pbft_committed_batch b;
	while (pbft_state_next(&st, &b) == 1) {
		if (b.seq <= p->last_exec) {
			continue;
		}
		if (b.seq != p->last_exec + 1) {
			break;
		}
		struct pbft_slot *sl = pbft_slot_get(p, b.seq);
		if (sl != NULL && sl->committed) {
			pbft_execute_ready(p);
			continue;
		}
		int rc =
		    pbft_commit_install(p, b.seq, b.batch, b.batch_len, b.commits, b.commit_count);
		if (rc != 0) {
			pbft_reject(p, "STATE batch without a valid commit certificate",
			            m->core.sender);
			return rc;
		}
		pbft_execute_ready(p);
	}
	return 0;
}

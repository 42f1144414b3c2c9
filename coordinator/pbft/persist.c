/* Recovery: rebuilding a replica from its persisted records, so that after a
 * crash it never contradicts what it said before and loses no committed
 * batch. Records are replayed in write order (see pbft.h for their format). */
#include "coordinator/pbft/internal.h"

#include "common/hash.h"
#include "common/log.h"

#include <string.h>

static int restore_view(struct pbft *p, const uint8_t *bytes, size_t len)
{
	struct synod_rbuf r;
	uint64_t view;
	uint8_t in_vc;
	synod_rbuf_init(&r, bytes, len);
	(void)synod_rbuf_u64(&r, &view);
	(void)synod_rbuf_u8(&r, &in_vc);
	if (synod_rbuf_finish(&r) != 0 || in_vc > 1) {
		return SYNOD_EINVAL;
	}
	if (view >= p->view) {
		p->view = view;
		p->in_view_change = in_vc != 0;
	}
	return 0;
}

/* Notes that we signed a PRE-PREPARE for (view, seq) before the crash. */
static void restore_own_seq(struct pbft *p, uint64_t view, uint64_t seq)
{
	if (!p->restored_own_pp || view > p->restored_own_view) {
		p->restored_own_pp = true;
		p->restored_own_view = view;
		p->restored_own_seq = seq;
	} else if (view == p->restored_own_view && seq > p->restored_own_seq) {
		p->restored_own_seq = seq;
	}
}

/* A PRE-PREPARE we proposed or accepted: re-adopt it, and re-create our
 * PREPARE (Ed25519 is deterministic: the same bytes as before the crash). */
static void restore_pre_prepare(struct pbft *p, const struct pbft_msg *m)
{
	if (m->core.sender == p->cfg.self) {
		restore_own_seq(p, m->core.view, m->core.seq);
	}
	struct pbft_slot *s = pbft_slot_get(p, m->core.seq);
	if (s == NULL || (s->has_pp && s->pp.view >= m->core.view) || s->committed) {
		return;
	}
	s->has_pp = true;
	s->pp = m->core;
	memcpy(s->batch, m->payload, m->payload_len);
	s->batch_len = m->payload_len;
	s->sent_commit = false;
	if (m->core.sender == p->cfg.self) {
		return;
	}
	struct pbft_core prep = {
	    .type = PBFT_MSG_PREPARE, .view = m->core.view, .seq = m->core.seq};
	memcpy(prep.digest, m->core.digest, PBFT_DIGEST_BYTES);
	pbft_core_sign(p, &prep);
	s->prepares[p->cfg.self] = prep;
	s->has_prepare[p->cfg.self] = true;
}

/* Our own NEW-VIEW signed a PRE-PREPARE for every seq in its O set, some of
 * which were never installed (already committed here). */
static void restore_new_view_seqs(struct pbft *p, const struct pbft_msg *m)
{
	struct pbft_new_view nv;
	struct pbft_new_view_pp pp;
	if (pbft_new_view_parse(&nv, m->payload, m->payload_len, &p->lim) != 0) {
		return;
	}
	while (pbft_new_view_next_pp(&nv, &pp) == 1) {
		restore_own_seq(p, pp.core.view, pp.core.seq);
	}
}

void pbft_restore_finish(struct pbft *p)
{
	if (p->restored_own_pp && p->restored_own_view == p->view &&
	    p->next_seq <= p->restored_own_seq) {
		p->next_seq = p->restored_own_seq + 1;
	}
	p->restored_own_pp = false;
}

static int restore_msg(struct pbft *p, const uint8_t *bytes, size_t len)
{
	struct pbft_msg m;
	int rc = pbft_msg_decode(&m, bytes, len, &p->lim);
	if (rc != 0) {
		return rc;
	}
	switch (m.core.type) {
	case PBFT_MSG_PRE_PREPARE:
		restore_pre_prepare(p, &m);
		break;
	case PBFT_MSG_VIEW_CHANGE:
		if (m.core.sender == p->cfg.self && m.core.view >= p->vcs[p->cfg.self].view &&
		    len <= p->vc_bytes_max) {
			memcpy(p->vcs[p->cfg.self].bytes, bytes, len);
			p->vcs[p->cfg.self].len = len;
			p->vcs[p->cfg.self].view = m.core.view;
		}
		break;
	case PBFT_MSG_NEW_VIEW:
		if (m.core.view >= p->nv_view && len <= p->nv_bytes_max) {
			memcpy(p->nv_bytes, bytes, len);
			p->nv_len = len;
			p->nv_view = m.core.view;
		}
		if (m.core.sender == p->cfg.self) {
			restore_new_view_seqs(p, &m);
		}
		break;
	default:
		return SYNOD_EINVAL;
	}
	return 0;
}

/* Our prepared certificate: re-adopt it and our COMMIT for it. */
static int restore_prepared(struct pbft *p, const uint8_t *bytes, size_t len)
{
	struct pbft_view_change vc;
	struct pbft_prepared_cert pc;
	int rc = pbft_view_change_parse(&vc, bytes, len, &p->lim);
	if (rc != 0 || pbft_view_change_next(&vc, &pc) != 1 || pc.kind != PBFT_CERT_PREPARED ||
	    pc.prepare_count > PBFT_REPLICAS_MAX) {
		return rc != 0 ? rc : SYNOD_EINVAL;
	}
	struct pbft_slot *s = pbft_slot_get(p, pc.pre_prepare.seq);
	if (s == NULL || (s->has_cert && s->cert_pp.view >= pc.pre_prepare.view)) {
		return 0;
	}
	s->has_cert = true;
	s->cert_pp = pc.pre_prepare;
	for (uint32_t i = 0; i < pc.prepare_count; i++) {
		if (pbft_core_decode(&s->cert_prepares[i],
		                     pc.prepares + (size_t)i * PBFT_CORE_BYTES) != 0) {
			return SYNOD_EINVAL;
		}
	}
	s->cert_prepare_count = pc.prepare_count;
	memcpy(s->cert_batch, pc.batch, pc.batch_len);
	s->cert_batch_len = pc.batch_len;
	if (s->has_pp && s->pp.view == pc.pre_prepare.view && !s->committed) {
		struct pbft_core commit = {
		    .type = PBFT_MSG_COMMIT, .view = s->pp.view, .seq = s->seq};
		memcpy(commit.digest, s->pp.digest, PBFT_DIGEST_BYTES);
		pbft_core_sign(p, &commit);
		s->commits[p->cfg.self] = commit;
		s->has_commit[p->cfg.self] = true;
		s->sent_commit = true;
	}
	return 0;
}

static int restore_committed(struct pbft *p, const uint8_t *bytes, size_t len)
{
	struct pbft_state st;
	struct pbft_committed_batch b;
	int rc = pbft_state_parse(&st, bytes, len, &p->lim);
	if (rc != 0 || pbft_state_next(&st, &b) != 1 || b.commit_count > PBFT_REPLICAS_MAX) {
		return rc != 0 ? rc : SYNOD_EINVAL;
	}
	struct pbft_core first;
	if (b.commit_count == 0 || pbft_core_decode(&first, b.commits) != 0) {
		return SYNOD_EINVAL;
	}
	if (pbft_primary(p, first.view) == p->cfg.self) {
		restore_own_seq(p, first.view, b.seq);
	}
	struct pbft_slot *s = pbft_slot_get(p, b.seq);
	if (s == NULL || s->committed) {
		return 0;
	}
	memset(&s->pp, 0, sizeof s->pp);
	s->pp.type = PBFT_MSG_PRE_PREPARE;
	s->pp.view = first.view;
	s->pp.seq = b.seq;
	pbft_batch_digest(s->pp.digest, b.batch, b.batch_len);
	s->has_pp = true;
	memcpy(s->batch, b.batch, b.batch_len);
	s->batch_len = b.batch_len;
	memcpy(s->cert, b.commits, (size_t)b.commit_count * PBFT_CORE_BYTES);
	s->cert_count = b.commit_count;
	s->commit_view = first.view;
	s->committed = true;
	s->committed_persisted = true;
	return 0;
}

/* A stable checkpoint: seq | STATE payload (proof, snapshot, no batches). */
static int restore_checkpoint(struct pbft *p, const uint8_t *bytes, size_t len)
{
	struct synod_rbuf r;
	uint64_t seq;
	struct pbft_state st;
	struct pbft_core first, proof[PBFT_REPLICAS_MAX];
	synod_rbuf_init(&r, bytes, len);
	if (synod_rbuf_u64(&r, &seq) != 0 || seq == 0 ||
	    pbft_state_parse(&st, bytes + 8, len - 8, &p->lim) != 0 || st.checkpoint_count == 0 ||
	    st.checkpoint_count > p->n || pbft_core_decode(&first, st.checkpoints) != 0 ||
	    st.snapshot_len > p->cfg.snapshot_bytes_max) {
		return SYNOD_EINVAL;
	}
	uint8_t digest[PBFT_DIGEST_BYTES];
	pbft_snapshot_digest(p, st.snapshot, st.snapshot_len, digest);
	if (memcmp(digest, first.digest, PBFT_DIGEST_BYTES) != 0) {
		return SYNOD_EINVAL;
	}
	for (uint32_t i = 0; i < st.checkpoint_count; i++) {
		if (pbft_core_decode(&proof[i], st.checkpoints + (size_t)i * PBFT_CORE_BYTES) !=
		    0) {
			return SYNOD_EINVAL;
		}
	}
	/* At h itself only when h was adopted (a STABLE record) and this is
	 * the snapshot that came for it. */
	if (seq < p->h || (seq == p->h && p->last_exec >= seq)) {
		return 0;
	}
	int rc = p->cfg.app.restore(p->cfg.app.ctx, seq, st.snapshot, st.snapshot_len);
	if (rc != 0) {
		return rc;
	}
	struct pbft_own_checkpoint *own = &p->own_ckpts[0];
	for (uint32_t i = 0; i < p->ckpts_kept; i++) {
		p->own_ckpts[i].seq = 0;
	}
	own->seq = seq;
	memcpy(own->digest, digest, PBFT_DIGEST_BYTES);
	memcpy(own->snapshot, st.snapshot, st.snapshot_len);
	own->snapshot_len = st.snapshot_len;
	p->h = seq;
	p->last_exec = seq;
	memcpy(p->stable_digest, digest, PBFT_DIGEST_BYTES);
	memcpy(p->stable_proof, proof, st.checkpoint_count * sizeof proof[0]);
	p->stable_proof_count = st.checkpoint_count;
	if (p->next_seq <= seq) {
		p->next_seq = seq + 1;
	}
	return 0;
}

/* A stable checkpoint adopted from a NEW-VIEW without its snapshot: seq |
 * ncp u32 | cores | exec u64 | blob(our snapshot at exec). Our state goes
 * back to what we had executed; h moves to seq and execution waits for the
 * checkpoint's snapshot (START fetches it). */
static int restore_stable(struct pbft *p, const uint8_t *bytes, size_t len)
{
	struct synod_rbuf r;
	uint64_t seq = 0, exec = 0;
	uint32_t count = 0;
	const uint8_t *cores = NULL, *snap = NULL;
	size_t snap_len = 0;
	struct pbft_core proof[PBFT_REPLICAS_MAX];
	synod_rbuf_init(&r, bytes, len);
	(void)synod_rbuf_u64(&r, &seq);
	(void)synod_rbuf_u32(&r, &count);
	if (count == 0 || count > p->n ||
	    synod_rbuf_take(&r, &cores, (size_t)count * PBFT_CORE_BYTES) != 0) {
		return SYNOD_EINVAL;
	}
	(void)synod_rbuf_u64(&r, &exec);
	(void)synod_rbuf_blob(&r, &snap, &snap_len, p->cfg.snapshot_bytes_max);
	if (synod_rbuf_finish(&r) != 0 || seq == 0 || exec >= seq) {
		return SYNOD_EINVAL;
	}
	for (uint32_t i = 0; i < count; i++) {
		if (pbft_core_decode(&proof[i], cores + (size_t)i * PBFT_CORE_BYTES) != 0 ||
		    proof[i].seq != seq ||
		    memcmp(proof[i].digest, proof[0].digest, PBFT_DIGEST_BYTES) != 0) {
			return SYNOD_EINVAL;
		}
	}
	if (seq <= p->h) {
		return 0;
	}
	int rc = p->cfg.app.restore(p->cfg.app.ctx, exec, snap, snap_len);
	if (rc != 0) {
		return rc;
	}
	for (uint32_t i = 0; i < p->ckpts_kept; i++) {
		p->own_ckpts[i].seq = 0;
	}
	p->h = seq;
	p->last_exec = exec;
	memcpy(p->stable_digest, proof[0].digest, PBFT_DIGEST_BYTES);
	memcpy(p->stable_proof, proof, count * sizeof proof[0]);
	p->stable_proof_count = count;
	if (p->next_seq <= seq) {
		p->next_seq = seq + 1;
	}
	return 0;
}

/* After a truncating CHECKPOINT record, everything written before it may be
 * gone: write again what a restarted replica needs above the checkpoint, so
 * the records after the last checkpoint always stand on their own. */
void pbft_persist_tail(struct pbft *p)
{
	pbft_out_record_view(p);
	const struct pbft_vc_store *vc = &p->vcs[p->cfg.self];
	if (vc->view == p->view && vc->len > 0) {
		uint8_t *buf = pbft_arena_alloc(p, vc->len);
		memcpy(buf, vc->bytes, vc->len);
		pbft_out_record(p, PBFT_REC_MSG, buf, vc->len, false);
	}
	if (p->nv_len > 0) {
		uint8_t *buf = pbft_arena_alloc(p, p->nv_len);
		memcpy(buf, p->nv_bytes, p->nv_len);
		pbft_out_record(p, PBFT_REC_MSG, buf, p->nv_len, false);
	}
	for (uint64_t s = p->h + 1; s <= p->h + p->cfg.window; s++) {
		struct pbft_slot *sl = &p->slots[(s - 1) % p->cfg.window];
		if (sl->seq != s) {
			continue;
		}
		if (sl->committed) {
			pbft_commit_persist(p, sl);
			continue;
		}
		if (sl->has_pp) {
			pbft_out_record_msg(p, &sl->pp, sl->batch, sl->batch_len);
		}
		if (sl->has_cert) {
			pbft_prepared_persist(p, sl);
		}
	}
}

int pbft_restore(struct pbft *p, enum pbft_record_type type, const uint8_t *bytes, size_t len)
{
	int rc;
	switch (type) {
	case PBFT_REC_VIEW:
		rc = restore_view(p, bytes, len);
		break;
	case PBFT_REC_MSG:
		rc = restore_msg(p, bytes, len);
		break;
	case PBFT_REC_PREPARED:
		rc = restore_prepared(p, bytes, len);
		break;
	case PBFT_REC_COMMITTED:
		rc = restore_committed(p, bytes, len);
		break;
	case PBFT_REC_CHECKPOINT:
		rc = restore_checkpoint(p, bytes, len);
		break;
	case PBFT_REC_STABLE:
		rc = restore_stable(p, bytes, len);
		break;
	default:
		rc = SYNOD_EINVAL;
		break;
	}
	if (rc != 0) {
		synod_log(SYNOD_LOG_ERROR, "pbft", "replica %u: unreadable record of type %d: %s",
		          p->cfg.self, (int)type, synod_strerror(rc));
	}
	return rc;
}

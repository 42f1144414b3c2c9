/* View changes: VIEW-CHANGE and NEW-VIEW (section 4.4). Backups re-derive the
 * NEW-VIEW's O set from its V set and reject one that differs. */
#include "coordinator/pbft/internal.h"

#include "common/hash.h"
#include "common/log.h"

#include <string.h>

SYNOD_COUNTER(pbft_view_changes_total, "synod_pbft_view_changes_total",
              "views entered after view 0");

/* A VIEW-CHANGE taken apart: its core and payload (borrowed). */
struct vc_ref {
	struct pbft_core core;
	const uint8_t *payload;
	uint32_t payload_len;
};

/* What a NEW-VIEW must re-propose, derived from a V set. */
struct nv_plan {
	uint64_t min_s, max_s;
	uint8_t min_digest[PBFT_DIGEST_BYTES];
	const uint8_t *min_proof; /* encoded CHECKPOINT cores of the VC with h = min_s */
	uint32_t min_proof_count;
	bool chosen[PBFT_WINDOW_MAX];
	uint64_t chosen_view[PBFT_WINDOW_MAX];
	uint8_t digest[PBFT_WINDOW_MAX][PBFT_DIGEST_BYTES];
	const uint8_t *batch[PBFT_WINDOW_MAX];
	uint32_t batch_len[PBFT_WINDOW_MAX];
};

static const uint8_t null_batch[4] = {0, 0, 0, 0};

static uint32_t prepare_need(const struct pbft *p)
{
	return pbft_mutated(p, PBFT_MUTATE_PREPARE_QUORUM_2F) ? 2 * p->f - 1 : 2 * p->f;
}

/* A commit certificate in P: 2f+1 valid COMMITs for (seq, batch digest) in
 * one view below the new one. */
static int committed_cert_check(const struct pbft *p, const struct pbft_prepared_cert *pc,
                                uint64_t view)
{
	char err[160];
	if (pc->pre_prepare.view >= view) {
		return SYNOD_ECERT;
	}
	return pbft_cert_verify(&p->cfg.crypto, p->n, (const uint8_t(*)[32])p->cfg.pubkeys,
	                        pc->pre_prepare.seq, pc->pre_prepare.digest, pc->prepares,
	                        pc->prepare_count, err, sizeof err);
}

int pbft_prepared_cert_check(const struct pbft *p, const struct pbft_prepared_cert *pc,
                             uint64_t view)
{
	const struct pbft_core *pp = &pc->pre_prepare;
	uint8_t digest[PBFT_DIGEST_BYTES];
	if (pc->kind == PBFT_CERT_COMMITTED) {
		return committed_cert_check(p, pc, view);
	}
	if (pp->type != PBFT_MSG_PRE_PREPARE || pp->view >= view ||
	    pp->sender != pbft_primary(p, pp->view) || pbft_core_verify(p, pp) != 0) {
		return SYNOD_ECERT;
	}
	pbft_batch_digest(digest, pc->batch, pc->batch_len);
	if (memcmp(digest, pp->digest, PBFT_DIGEST_BYTES) != 0) {
		return SYNOD_ECERT;
	}
	bool seen[PBFT_REPLICAS_MAX] = {false};
	uint32_t valid = 0;
	for (uint32_t i = 0; i < pc->prepare_count; i++) {
		struct pbft_core c;
		if (pbft_core_check(p, pc->prepares + (size_t)i * PBFT_CORE_BYTES, &c) != 0 ||
		    c.type != PBFT_MSG_PREPARE || c.view != pp->view || c.seq != pp->seq ||
		    c.sender == pp->sender || seen[c.sender] ||
		    memcmp(c.digest, pp->digest, PBFT_DIGEST_BYTES) != 0) {
			return SYNOD_ECERT;
		}
		seen[c.sender] = true;
		valid++;
	}
	return valid >= prepare_need(p) ? 0 : SYNOD_ECERT;
}

/* Checks a VIEW-CHANGE for view: its checkpoint proof C and every prepared
 * certificate in P (signatures included). */
static int vc_validate(const struct pbft *p, const struct vc_ref *vc, uint64_t view)
{
	struct pbft_view_change parsed;
	if (vc->core.type != PBFT_MSG_VIEW_CHANGE || vc->core.view != view ||
	    vc->core.seq % p->cfg.checkpoint_interval != 0 ||
	    pbft_view_change_parse(&parsed, vc->payload, vc->payload_len, &p->lim) != 0) {
		return SYNOD_EPROTO;
	}
	if (vc->core.seq == 0 ? parsed.checkpoint_count != 0 : parsed.checkpoint_count == 0) {
		return SYNOD_ECERT;
	}
	if (vc->core.seq > 0) {
		struct pbft_core first;
		if (pbft_core_decode(&first, parsed.checkpoints) != 0 ||
		    (pbft_checkpoint_proof_check(p, vc->core.seq, first.digest, parsed.checkpoints,
		                                 parsed.checkpoint_count, NULL) != 0 &&
		     !pbft_mutated(p, PBFT_MUTATE_VIEW_CHANGE_UNCHECKED_C))) {
			return SYNOD_ECERT;
		}
	}
	struct pbft_prepared_cert pc;
	uint64_t last = vc->core.seq;
	int more;
	while ((more = pbft_view_change_next(&parsed, &pc)) == 1) {
		uint64_t s = pc.pre_prepare.seq;
		if (s <= last || s > vc->core.seq + p->cfg.window ||
		    (pbft_prepared_cert_check(p, &pc, view) != 0 &&
		     !pbft_mutated(p, PBFT_MUTATE_VIEW_CHANGE_UNCHECKED_P))) {
			return SYNOD_ECERT;
		}
		last = s;
	}
	return more == 0 ? 0 : SYNOD_EPROTO;
}

/* Derives min-s, max-s and, for every s between, the batch prepared in the
 * highest view in V, or a null batch (section 4.4). */
static int plan_compute(const struct pbft *p, const struct vc_ref *vcs, uint32_t count,
                        struct nv_plan *plan)
{
	memset(plan, 0, sizeof *plan);
	for (uint32_t i = 0; i < count; i++) {
		struct pbft_view_change parsed;
		if (pbft_view_change_parse(&parsed, vcs[i].payload, vcs[i].payload_len, &p->lim) !=
		    0) {
			return SYNOD_EPROTO;
		}
		if (i == 0 || vcs[i].core.seq > plan->min_s) {
			plan->min_s = vcs[i].core.seq;
			plan->min_proof = parsed.checkpoints;
			plan->min_proof_count = parsed.checkpoint_count;
			struct pbft_core first;
			if (parsed.checkpoint_count > 0 &&
			    pbft_core_decode(&first, parsed.checkpoints) == 0) {
				memcpy(plan->min_digest, first.digest, PBFT_DIGEST_BYTES);
			}
		}
	}
	plan->max_s = plan->min_s;
	for (uint32_t i = 0; i < count; i++) {
		struct pbft_view_change parsed;
		struct pbft_prepared_cert pc;
		if (pbft_view_change_parse(&parsed, vcs[i].payload, vcs[i].payload_len, &p->lim) !=
		    0) {
			return SYNOD_EPROTO;
		}
		while (pbft_view_change_next(&parsed, &pc) == 1) {
			uint64_t s = pc.pre_prepare.seq;
			if (s <= plan->min_s || s > plan->min_s + p->cfg.window) {
				continue;
			}
			uint64_t k = s - plan->min_s - 1;
			if (!plan->chosen[k] || pc.pre_prepare.view > plan->chosen_view[k]) {
				plan->chosen[k] = true;
				plan->chosen_view[k] = pc.pre_prepare.view;
				memcpy(plan->digest[k], pc.pre_prepare.digest, PBFT_DIGEST_BYTES);
				plan->batch[k] = pc.batch;
				plan->batch_len[k] = pc.batch_len;
			}
			if (s > plan->max_s) {
				plan->max_s = s;
			}
		}
	}
	for (uint64_t k = 0; k < plan->max_s - plan->min_s; k++) {
		if (!plan->chosen[k]) {
			pbft_batch_digest(plan->digest[k], null_batch, sizeof null_batch);
			plan->batch[k] = null_batch;
			plan->batch_len[k] = sizeof null_batch;
		}
	}
	return 0;
}

/* min-s is stable: 2f+1 replicas signed its checkpoint (section 4.4). With
 * our own checkpoint there it is simply our stable one. Behind it, we adopt
 * its proof as the paper does, so that our window covers all of O and we
 * prepare it now (with n = 4 and one replica faulty, O may not prepare
 * without us), and fetch the snapshot. Past min-s without a matching
 * checkpoint of our own (diverged, or no snapshot) we only fetch. */
static void nv_checkpoint(struct pbft *p, const struct nv_plan *plan)
{
	struct pbft_core proof[PBFT_REPLICAS_MAX];
	if (plan->min_s <= p->h) {
		return;
	}
	if (pbft_checkpoint_proof_check(p, plan->min_s, plan->min_digest, plan->min_proof,
	                                plan->min_proof_count, proof) != 0) {
		pbft_fetch_send(p);
		return;
	}
	struct pbft_own_checkpoint *own = pbft_own_checkpoint_find(p, plan->min_s);
	if (own != NULL && memcmp(own->digest, plan->min_digest, PBFT_DIGEST_BYTES) == 0) {
		pbft_checkpoint_stabilise(p, plan->min_s, plan->min_digest, proof,
		                          plan->min_proof_count);
		return;
	}
	if (p->last_exec < plan->min_s) {
		int rc = pbft_checkpoint_adopt(p, plan->min_s, plan->min_digest, proof,
		                               plan->min_proof_count);
		if (rc != 0) {
			synod_log(SYNOD_LOG_ERROR, "pbft",
			          "replica %u: cannot adopt checkpoint %llu (our snapshot at %llu: "
			          "%s); O above %llu waits for state transfer",
			          p->cfg.self, (unsigned long long)plan->min_s,
			          (unsigned long long)p->last_exec, synod_strerror(rc),
			          (unsigned long long)(p->h + p->cfg.window));
		}
	}
	pbft_fetch_send(p);
}

/* Adopts the new view's stable checkpoint and re-proposed batches. */
static void enter_new_view(struct pbft *p, const struct nv_plan *plan, const struct pbft_core *pps,
                           const uint8_t *const *batches, const uint32_t *batch_lens,
                           uint64_t pp_count)
{
	p->in_view_change = false;
	p->nv_view = p->view;
	p->stats.view_changes++;
	synod_counter_inc(&pbft_view_changes_total);
	p->progress_deadline_ms = 0;
	p->progress_grace_used = false;
	synod_log(SYNOD_LOG_INFO, "pbft",
	          "replica %u: entered view %llu (primary %u, seqs %llu..%llu)", p->cfg.self,
	          (unsigned long long)p->view, pbft_primary(p, p->view),
	          (unsigned long long)plan->min_s, (unsigned long long)plan->max_s);
	nv_checkpoint(p, plan);
	for (uint64_t i = 0; i < pp_count; i++) {
		uint64_t s = pps[i].seq;
		if (s <= p->last_exec || pbft_slot_get(p, s) == NULL) {
			continue;
		}
		pbft_pp_install(p, &pps[i], batches[i], batch_lens[i], true);
	}
	/* Above h only: last_exec is below it while an adopted checkpoint's
	 * snapshot is on its way. */
	uint64_t from = p->last_exec > p->h ? p->last_exec : p->h;
	for (uint64_t s = from + 1; s <= p->h + p->cfg.window; s++) {
		struct pbft_slot *sl = pbft_slot_get(p, s);
		pbft_prepared_check(p, sl);
		pbft_committed_check(p, sl);
	}
	uint64_t next = (plan->max_s > p->h ? plan->max_s : p->h) + 1;
	p->next_seq = next > p->last_exec + 1 ? next : p->last_exec + 1;
	pbft_pending_forward(p);
}

/* Stores an encoded message as our latest NEW-VIEW (for FETCH replies). */
static void nv_store(struct pbft *p, const uint8_t *bytes, size_t len)
{
	SYNOD_ASSERT(len <= p->nv_bytes_max);
	memcpy(p->nv_bytes, bytes, len);
	p->nv_len = len;
}

/* The stored VIEW-CHANGEs for the current view, first quorum by sender. */
static uint32_t collect_vcs(struct pbft *p, struct vc_ref *out)
{
	uint32_t count = 0;
	for (uint32_t j = 0; j < p->n && count < p->quorum; j++) {
		struct pbft_msg m;
		if (p->vcs[j].view != p->view ||
		    pbft_msg_decode(&m, p->vcs[j].bytes, p->vcs[j].len, &p->lim) != 0) {
			continue;
		}
		out[count++] = (struct vc_ref){
		    .core = m.core, .payload = m.payload, .payload_len = m.payload_len};
	}
	return count;
}

/* The primary of the new view: once 2f+1 VIEW-CHANGEs are in, send NEW-VIEW. */
static void try_new_view(struct pbft *p)
{
	struct vc_ref vcs[PBFT_REPLICAS_MAX];
	struct nv_plan plan;
	if (!p->in_view_change || pbft_primary(p, p->view) != p->cfg.self ||
	    collect_vcs(p, vcs) < p->quorum || plan_compute(p, vcs, p->quorum, &plan) != 0) {
		return;
	}
	struct synod_wbuf w;
	synod_wbuf_init(&w, p->work, p->work_cap);
	synod_wbuf_u32(&w, p->quorum);
	for (uint32_t i = 0; i < p->quorum; i++) {
		uint8_t *at = synod_wbuf_reserve(&w, PBFT_CORE_BYTES);
		if (at != NULL) {
			pbft_core_encode(&vcs[i].core, at);
		}
		synod_wbuf_blob(&w, vcs[i].payload, vcs[i].payload_len);
	}
	uint64_t count = plan.max_s - plan.min_s;
	struct pbft_core pps[PBFT_WINDOW_MAX];
	const uint8_t *batches[PBFT_WINDOW_MAX];
	uint32_t lens[PBFT_WINDOW_MAX];
	synod_wbuf_u32(&w, (uint32_t)count);
	for (uint64_t k = 0; k < count; k++) {
		pps[k] = (struct pbft_core){
		    .type = PBFT_MSG_PRE_PREPARE, .view = p->view, .seq = plan.min_s + 1 + k};
		memcpy(pps[k].digest, plan.digest[k], PBFT_DIGEST_BYTES);
		pbft_core_sign(p, &pps[k]);
		batches[k] = plan.batch[k];
		lens[k] = plan.batch_len[k];
		uint8_t *at = synod_wbuf_reserve(&w, PBFT_CORE_BYTES);
		if (at != NULL) {
			pbft_core_encode(&pps[k], at);
		}
		synod_wbuf_blob(&w, batches[k], lens[k]);
	}
	SYNOD_ASSERT(w.err == 0);
	struct pbft_core nv = {.type = PBFT_MSG_NEW_VIEW, .view = p->view, .seq = 0};
	synod_sha256(nv.digest, p->work, w.len);
	pbft_core_sign(p, &nv);
	p->in_view_change = false;
	pbft_out_record_view(p);
	pbft_out_record_msg(p, &nv, p->work, w.len);
	pbft_out_send(p, PBFT_TO_ALL, &nv, p->work, w.len);
	const struct pbft_send *sent = &p->out->sends[p->out->send_count - 1];
	nv_store(p, sent->bytes, sent->len);
	p->in_view_change = true; /* enter_new_view clears it */
	enter_new_view(p, &plan, pps, batches, lens, count);
}

void pbft_view_change_start(struct pbft *p, uint64_t view)
{
	SYNOD_ASSERT(view > p->view);
	p->view = view;
	p->in_view_change = true;
	p->progress_deadline_ms = 0;
	p->progress_grace_used = false;
	p->vc_escalate_ms = 0;
	pbft_out_record_view(p);

	struct synod_wbuf w;
	synod_wbuf_init(&w, p->work, p->work_cap);
	synod_wbuf_u32(&w, p->stable_proof_count);
	for (uint32_t i = 0; i < p->stable_proof_count; i++) {
		uint8_t *at = synod_wbuf_reserve(&w, PBFT_CORE_BYTES);
		if (at != NULL) {
			pbft_core_encode(&p->stable_proof[i], at);
		}
	}
	size_t count_at = w.len;
	uint32_t count = 0;
	synod_wbuf_u32(&w, 0);
	for (uint64_t s = p->h + 1; s <= p->h + p->cfg.window; s++) {
		const struct pbft_slot *sl = &p->slots[(s - 1) % p->cfg.window];
		if (sl->seq != s || pbft_mutated(p, PBFT_MUTATE_VIEW_CHANGE_DROP_P)) {
			continue;
		}
		/* What we hold as committed goes in with its commit certificate:
		 * we may never have prepared it (state transfer, or a restart
		 * after the window's tail was rewritten). Not a certificate from
		 * the new view or later (a lagging replica can install one by
		 * state transfer): P speaks of views below the new one, and
		 * peers refuse the whole VIEW-CHANGE otherwise; a batch committed
		 * at or after the new view does not constrain its NEW-VIEW. */
		if (sl->committed && sl->cert_count >= p->quorum && sl->commit_view < view) {
			pbft_committed_cert_write(&w, sl);
			count++;
		} else if (sl->has_cert) {
			pbft_prepared_cert_write(&w, sl);
			count++;
		}
	}
	SYNOD_ASSERT(w.err == 0);
	for (int i = 0; i < 4; i++) {
		p->work[count_at + (size_t)i] = (uint8_t)(count >> (24 - 8 * i));
	}
	struct pbft_core vc = {.type = PBFT_MSG_VIEW_CHANGE, .view = view, .seq = p->h};
	synod_sha256(vc.digest, p->work, w.len);
	pbft_core_sign(p, &vc);
	pbft_out_record_msg(p, &vc, p->work, w.len);
	pbft_out_send(p, PBFT_TO_ALL, &vc, p->work, w.len);
	const struct pbft_send *sent = &p->out->sends[p->out->send_count - 1];
	SYNOD_ASSERT(sent->len <= p->vc_bytes_max);
	memcpy(p->vcs[p->cfg.self].bytes, sent->bytes, sent->len);
	p->vcs[p->cfg.self].len = sent->len;
	p->vcs[p->cfg.self].view = view;
	synod_log(SYNOD_LOG_INFO, "pbft", "replica %u: view change to %llu", p->cfg.self,
	          (unsigned long long)view);
	try_new_view(p);
}

/* Section 4.5.2: f+1 VIEW-CHANGEs for views above ours make us join the
 * smallest of them, without waiting for our timer. */
static void join_check(struct pbft *p)
{
	uint32_t above = 0;
	uint64_t smallest = UINT64_MAX;
	for (uint32_t j = 0; j < p->n; j++) {
		if (j != p->cfg.self && p->vcs[j].view > p->view) {
			above++;
			if (p->vcs[j].view < smallest) {
				smallest = p->vcs[j].view;
			}
		}
	}
	if (above > p->f) {
		pbft_view_change_start(p, smallest);
	}
}

int pbft_on_view_change(struct pbft *p, const struct pbft_msg *m, const uint8_t *bytes, size_t len)
{
	uint32_t j = m->core.sender;
	if (m->core.view < p->view || (m->core.view == p->view && !p->in_view_change)) {
		/* The sender missed our NEW-VIEW: send it again. */
		if (m->core.view == p->view && p->nv_view == p->view && p->nv_len > 0 &&
		    pbft_primary(p, p->view) == p->cfg.self) {
			pbft_out_send_raw(p, j, p->nv_bytes, p->nv_len);
		}
		return 0;
	}
	if (m->core.view <= p->vcs[j].view) {
		return 0;
	}
	struct vc_ref vc = {.core = m->core, .payload = m->payload, .payload_len = m->payload_len};
	if (len > p->vc_bytes_max || vc_validate(p, &vc, m->core.view) != 0) {
		pbft_reject(p, "invalid VIEW-CHANGE", j);
		return SYNOD_ECERT;
	}
	memcpy(p->vcs[j].bytes, bytes, len);
	p->vcs[j].len = len;
	p->vcs[j].view = m->core.view;
	join_check(p);
	if (m->core.view == p->view) {
		try_new_view(p);
	}
	return 0;
}

/* Checks V (2f+1 valid VIEW-CHANGEs for view from distinct replicas) and
 * fills vcs. */
static int nv_check_v(const struct pbft *p, struct pbft_new_view *nv, uint64_t view,
                      struct vc_ref *vcs, uint32_t *count)
{
	bool seen[PBFT_REPLICAS_MAX] = {false};
	struct pbft_new_view_vc e;
	*count = 0;
	int more;
	while ((more = pbft_new_view_next_vc(nv, &e)) == 1) {
		struct vc_ref vc = {
		    .core = e.core, .payload = e.payload, .payload_len = e.payload_len};
		bool skip_proof = pbft_mutated(p, PBFT_MUTATE_NEW_VIEW_NO_PROOF);
		if (e.core.sender >= p->n || seen[e.core.sender] ||
		    (!skip_proof &&
		     (pbft_core_verify(p, &e.core) != 0 || vc_validate(p, &vc, view) != 0))) {
			return SYNOD_ECERT;
		}
		seen[e.core.sender] = true;
		vcs[(*count)++] = vc;
	}
	if (more != 0) {
		return SYNOD_EPROTO;
	}
	if (pbft_mutated(p, PBFT_MUTATE_NEW_VIEW_NO_PROOF)) {
		return *count > 0 ? 0 : SYNOD_ECERT;
	}
	return *count >= p->quorum ? 0 : SYNOD_ECERT;
}

/* Checks O against the plan re-derived from V: same sequence numbers, same
 * digests, each PRE-PREPARE signed by the new primary for this view. */
static int nv_check_o(const struct pbft *p, struct pbft_new_view *nv, uint64_t view,
                      const struct nv_plan *plan, struct pbft_core *pps, const uint8_t **batches,
                      uint32_t *lens, uint64_t *count)
{
	bool no_proof = pbft_mutated(p, PBFT_MUTATE_NEW_VIEW_NO_PROOF);
	struct pbft_new_view_pp e;
	uint64_t k = 0;
	int more;
	while ((more = pbft_new_view_next_pp(nv, &e)) == 1) {
		if (k >= p->cfg.window || e.core.type != PBFT_MSG_PRE_PREPARE ||
		    e.core.view != view || e.core.sender != pbft_primary(p, view) ||
		    pbft_core_verify(p, &e.core) != 0) {
			return SYNOD_ECERT;
		}
		if (!no_proof && (e.core.seq != plan->min_s + 1 + k ||
		                  (memcmp(e.core.digest, plan->digest[k], PBFT_DIGEST_BYTES) != 0 &&
		                   !pbft_mutated(p, PBFT_MUTATE_NEW_VIEW_O_DIGESTS)))) {
			return SYNOD_ECERT;
		}
		pps[k] = e.core;
		batches[k] = e.batch;
		lens[k] = e.batch_len;
		k++;
	}
	if (more != 0 || (!no_proof && k != plan->max_s - plan->min_s)) {
		return SYNOD_ECERT;
	}
	*count = k;
	return 0;
}

int pbft_on_new_view(struct pbft *p, const struct pbft_msg *m, const uint8_t *bytes, size_t len)
{
	uint64_t view = m->core.view;
	if (view < p->view || (view == p->view && !p->in_view_change) || view == 0) {
		return 0;
	}
	if (m->core.sender != pbft_primary(p, view) || len > p->nv_bytes_max) {
		pbft_reject(p, "NEW-VIEW from a replica that is not the new primary",
		            m->core.sender);
		return SYNOD_EPROTO;
	}
	struct pbft_new_view nv;
	struct vc_ref vcs[PBFT_REPLICAS_MAX];
	uint32_t vc_count;
	struct nv_plan plan;
	struct pbft_core pps[PBFT_WINDOW_MAX];
	const uint8_t *batches[PBFT_WINDOW_MAX];
	uint32_t lens[PBFT_WINDOW_MAX];
	uint64_t pp_count = 0;
	if (pbft_new_view_parse(&nv, m->payload, m->payload_len, &p->lim) != 0 ||
	    nv_check_v(p, &nv, view, vcs, &vc_count) != 0 ||
	    plan_compute(p, vcs, vc_count, &plan) != 0 ||
	    nv_check_o(p, &nv, view, &plan, pps, batches, lens, &pp_count) != 0) {
		pbft_reject(p, "invalid NEW-VIEW", m->core.sender);
		return SYNOD_ECERT;
	}
	p->view = view;
	p->in_view_change = false;
	pbft_out_record_view(p);
	pbft_out_record_msg(p, &m->core, m->payload, m->payload_len);
	nv_store(p, bytes, len);
	p->in_view_change = true;
	enter_new_view(p, &plan, pps, batches, lens, pp_count);
	return 0;
}

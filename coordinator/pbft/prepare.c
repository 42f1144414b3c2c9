/* Normal case, phases one and two: PRE-PREPARE and PREPARE (section 4.2). */
#include "coordinator/pbft/internal.h"

#include "common/log.h"

#include <string.h>

SYNOD_COUNTER(pbft_equivocation_total, "synod_pbft_equivocations_total",
              "conflicting PRE-PREPAREs seen from a primary for one view and sequence number");

void pbft_committed_cert_write(struct synod_wbuf *w, const struct pbft_slot *s)
{
	synod_wbuf_u8(w, PBFT_CERT_COMMITTED);
	synod_wbuf_u64(w, s->seq);
	synod_wbuf_blob(w, s->batch, s->batch_len);
	synod_wbuf_u32(w, s->cert_count);
	synod_wbuf_bytes(w, s->cert, (size_t)s->cert_count * PBFT_CORE_BYTES);
}

void pbft_prepared_cert_write(struct synod_wbuf *w, const struct pbft_slot *s)
{
	uint8_t core[PBFT_CORE_BYTES];
	synod_wbuf_u8(w, PBFT_CERT_PREPARED);
	pbft_core_encode(&s->cert_pp, core);
	synod_wbuf_bytes(w, core, sizeof core);
	synod_wbuf_blob(w, s->cert_batch, s->cert_batch_len);
	synod_wbuf_u32(w, s->cert_prepare_count);
	for (uint32_t i = 0; i < s->cert_prepare_count; i++) {
		pbft_core_encode(&s->cert_prepares[i], core);
		synod_wbuf_bytes(w, core, sizeof core);
	}
}

/* A PREPARED record is a VIEW-CHANGE payload with no checkpoint and one
 * prepared certificate. */
void pbft_prepared_persist(struct pbft *p, const struct pbft_slot *s)
{
	size_t cap = 8 + 1 + PBFT_CORE_BYTES + 4 + s->cert_batch_len + 4 +
	             s->cert_prepare_count * PBFT_CORE_BYTES;
	uint8_t *rec = pbft_arena_alloc(p, cap);
	struct synod_wbuf w;
	synod_wbuf_init(&w, rec, cap);
	synod_wbuf_u32(&w, 0);
	synod_wbuf_u32(&w, 1);
	pbft_prepared_cert_write(&w, s);
	SYNOD_ASSERT(w.err == 0);
	pbft_out_record(p, PBFT_REC_PREPARED, rec, w.len, false);
}

void pbft_pp_install(struct pbft *p, const struct pbft_core *pp, const uint8_t *batch,
                     uint32_t batch_len, bool persist)
{
	struct pbft_slot *s = pbft_slot_get(p, pp->seq);
	SYNOD_ASSERT(s != NULL);
	SYNOD_ASSERT(batch_len <= p->cfg.batch_bytes_max);
	if (s->has_pp && s->pp.view >= pp->view) {
		return;
	}
	if (s->committed) {
		return; /* execution is final; nothing in a later view can change it */
	}
	s->has_pp = true;
	s->pp = *pp;
	memcpy(s->batch, batch, batch_len);
	s->batch_len = batch_len;
	s->pp_time_ms = p->now_ms;
	s->sent_commit = false;
	if (persist) {
		pbft_out_record_msg(p, pp, batch, batch_len);
	}
	pbft_pending_mark_in_flight(p, pp, batch, batch_len);
	if (pp->sender != p->cfg.self && pp->view == p->view) {
		struct pbft_core prep = {
		    .type = PBFT_MSG_PREPARE, .view = pp->view, .seq = pp->seq};
		memcpy(prep.digest, pp->digest, PBFT_DIGEST_BYTES);
		pbft_core_sign(p, &prep);
		s->prepares[p->cfg.self] = prep;
		s->has_prepare[p->cfg.self] = true;
		if (persist) {
			pbft_out_send(p, PBFT_TO_ALL, &prep, NULL, 0);
		}
	}
	pbft_prepared_check(p, s);
}

int pbft_on_pre_prepare(struct pbft *p, const struct pbft_msg *m)
{
	const struct pbft_core *pp = &m->core;
	if (pp->view != p->view || p->in_view_change) {
		/* An older view's, or one we have not entered: not for us now
		 * (a NEW-VIEW re-proposes what matters, retransmission the rest). */
		return 0;
	}
	if (pp->sender != pbft_primary(p, pp->view) &&
	    !pbft_mutated(p, PBFT_MUTATE_PRE_PREPARE_ANY_SENDER)) {
		pbft_reject(p, "PRE-PREPARE from a backup", pp->sender);
		return SYNOD_EPROTO;
	}
	struct pbft_slot *s = pbft_slot_get(p, pp->seq);
	if (s == NULL) {
		pbft_reject(p, "PRE-PREPARE outside the watermarks", pp->sender);
		return pp->seq <= p->h ? 0 : SYNOD_EPROTO;
	}
	if (s->has_pp && s->pp.view == pp->view) {
		if (memcmp(s->pp.digest, pp->digest, PBFT_DIGEST_BYTES) != 0) {
			synod_counter_inc(&pbft_equivocation_total);
			synod_log(SYNOD_LOG_WARN, "pbft",
			          "replica %u: primary %u sent two PRE-PREPAREs for view %llu seq "
			          "%llu",
			          p->cfg.self, pp->sender, (unsigned long long)pp->view,
			          (unsigned long long)pp->seq);
			pbft_reject(p, "conflicting PRE-PREPARE", pp->sender);
			return SYNOD_EPROTO;
		}
		return 0; /* a retransmission */
	}
	if (p->cfg.app.validate != NULL &&
	    p->cfg.app.validate(p->cfg.app.ctx, m->payload, m->payload_len, p->now_ms) != 0) {
		pbft_reject(p, "the application refused the batch", pp->sender);
		return SYNOD_EPROTO;
	}
	pbft_pp_install(p, pp, m->payload, m->payload_len, true);
	return 0;
}

int pbft_on_prepare(struct pbft *p, const struct pbft_msg *m)
{
	const struct pbft_core *c = &m->core;
	if (c->view < p->view) {
		return 0;
	}
	if (c->sender == pbft_primary(p, c->view)) {
		pbft_reject(p, "PREPARE from the primary", c->sender);
		return SYNOD_EPROTO;
	}
	struct pbft_slot *s = pbft_slot_get(p, c->seq);
	if (s == NULL) {
		return c->seq <= p->h ? 0 : SYNOD_EPROTO;
	}
	/* Keep the first PREPARE per sender and view; a newer view replaces it. */
	if (!s->has_prepare[c->sender] || s->prepares[c->sender].view < c->view) {
		s->prepares[c->sender] = *c;
		s->has_prepare[c->sender] = true;
	}
	pbft_prepared_check(p, s);
	return 0;
}

/* prepared(m, v, n, i): the pre-prepare plus 2f matching PREPAREs from
 * distinct backups (section 4.2). Then persist the certificate and COMMIT. */
void pbft_prepared_check(struct pbft *p, struct pbft_slot *s)
{
	if (!s->has_pp || s->pp.view != p->view || p->in_view_change || s->sent_commit ||
	    s->committed) {
		return;
	}
	uint32_t need = 2 * p->f;
	if (pbft_mutated(p, PBFT_MUTATE_PREPARE_QUORUM_2F)) {
		need = 2 * p->f - 1;
	}
	struct pbft_core match[PBFT_REPLICAS_MAX];
	uint32_t count = 0;
	uint32_t primary = pbft_primary(p, s->pp.view);
	for (uint32_t j = 0; j < p->n; j++) {
		const struct pbft_core *c = &s->prepares[j];
		if (j != primary && s->has_prepare[j] && c->view == s->pp.view &&
		    memcmp(c->digest, s->pp.digest, PBFT_DIGEST_BYTES) == 0) {
			match[count++] = *c;
		}
	}
	if (count < need) {
		return;
	}
	s->has_cert = true;
	s->cert_pp = s->pp;
	memcpy(s->cert_prepares, match, count * sizeof match[0]);
	s->cert_prepare_count = count;
	memcpy(s->cert_batch, s->batch, s->batch_len);
	s->cert_batch_len = s->batch_len;

	/* Persist the certificate before the COMMIT that depends on it: after a
	 * crash, our VIEW-CHANGE must still carry it. */
	pbft_prepared_persist(p, s);

	struct pbft_core commit = {.type = PBFT_MSG_COMMIT, .view = s->pp.view, .seq = s->seq};
	memcpy(commit.digest, s->pp.digest, PBFT_DIGEST_BYTES);
	pbft_core_sign(p, &commit);
	s->commits[p->cfg.self] = commit;
	s->has_commit[p->cfg.self] = true;
	s->sent_commit = true;
	pbft_out_send(p, PBFT_TO_ALL, &commit, NULL, 0);
	pbft_committed_check(p, s);
}

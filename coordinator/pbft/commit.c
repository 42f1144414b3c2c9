/* Normal case, phase three: COMMIT, commit certificates and in-order
 * execution (section 4.2). */
#include "coordinator/pbft/internal.h"

#include "common/hash.h"
#include "common/log.h"

#include <stdio.h>
#include <string.h>

int pbft_on_commit(struct pbft *p, const struct pbft_msg *m)
{
	const struct pbft_core *c = &m->core;
	struct pbft_slot *s = pbft_slot_get(p, c->seq);
	if (s == NULL) {
		return c->seq <= p->h ? 0 : SYNOD_EPROTO;
	}
	if (!s->has_commit[c->sender] || s->commits[c->sender].view < c->view) {
		s->commits[c->sender] = *c;
		s->has_commit[c->sender] = true;
	}
	pbft_committed_check(p, s);
	return 0;
}

/* Writes a COMMITTED record (a STATE payload with one batch) and marks the
 * slot committed. The certificate must already be in s->cert. */
void pbft_commit_persist(struct pbft *p, struct pbft_slot *s)
{
	size_t cap = 4 + 4 + 4 + 8 + 4 + s->batch_len + 4 + s->cert_count * PBFT_CORE_BYTES;
	uint8_t *rec = pbft_arena_alloc(p, cap);
	struct synod_wbuf w;
	synod_wbuf_init(&w, rec, cap);
	synod_wbuf_u32(&w, 0);        /* no checkpoint */
	synod_wbuf_blob(&w, NULL, 0); /* no snapshot */
	synod_wbuf_u32(&w, 1);
	synod_wbuf_u64(&w, s->seq);
	synod_wbuf_blob(&w, s->batch, s->batch_len);
	synod_wbuf_u32(&w, s->cert_count);
	synod_wbuf_bytes(&w, s->cert, s->cert_count * PBFT_CORE_BYTES);
	SYNOD_ASSERT(w.err == 0);
	pbft_out_record(p, PBFT_REC_COMMITTED, rec, w.len, false);
	s->committed_persisted = true;
}

/* committed-local(m, v, n, i): prepared plus 2f+1 matching COMMITs from
 * distinct replicas, our own included. */
void pbft_committed_check(struct pbft *p, struct pbft_slot *s)
{
	if (s->committed || !s->has_pp || !s->sent_commit) {
		return;
	}
	uint32_t need = p->quorum;
	if (pbft_mutated(p, PBFT_MUTATE_COMMIT_QUORUM_2F)) {
		need = p->quorum - 1;
	}
	uint32_t count = 0;
	for (uint32_t j = 0; j < p->n; j++) {
		const struct pbft_core *c = &s->commits[j];
		if (s->has_commit[j] && c->view == s->pp.view &&
		    memcmp(c->digest, s->pp.digest, PBFT_DIGEST_BYTES) == 0) {
			pbft_core_encode(c, s->cert + count * PBFT_CORE_BYTES);
			count++;
		}
	}
	if (count < need) {
		return;
	}
	s->cert_count = count;
	s->commit_view = s->pp.view;
	s->committed = true;
	pbft_commit_persist(p, s);
	pbft_execute_ready(p);
}

/* Installs a batch proven committed by a certificate (state transfer). */
int pbft_commit_install(struct pbft *p, uint64_t seq, const uint8_t *batch, uint32_t batch_len,
                        const uint8_t *cert, uint32_t cert_count)
{
	struct pbft_slot *s = pbft_slot_get(p, seq);
	if (s == NULL || s->committed || batch_len > p->cfg.batch_bytes_max ||
	    cert_count > PBFT_REPLICAS_MAX) {
		return SYNOD_ESTATE;
	}
	uint8_t digest[PBFT_DIGEST_BYTES];
	pbft_batch_digest(digest, batch, batch_len);
	char err[128];
	int rc = pbft_cert_verify(&p->cfg.crypto, p->n, (const uint8_t(*)[32])p->cfg.pubkeys, seq,
	                          digest, cert, cert_count, err, sizeof err);
	if (rc != 0 && !pbft_mutated(p, PBFT_MUTATE_STATE_CERT_UNCHECKED)) {
		return rc;
	}
	struct pbft_core first;
	rc = pbft_core_decode(&first, cert);
	SYNOD_ASSERT(rc == 0);
	memset(&s->pp, 0, sizeof s->pp);
	s->pp.type = PBFT_MSG_PRE_PREPARE;
	s->pp.view = first.view;
	s->pp.seq = seq;
	memcpy(s->pp.digest, digest, PBFT_DIGEST_BYTES);
	s->has_pp = true;
	memcpy(s->batch, batch, batch_len);
	s->batch_len = batch_len;
	memcpy(s->cert, cert, (size_t)cert_count * PBFT_CORE_BYTES);
	s->cert_count = cert_count;
	s->commit_view = first.view;
	s->committed = true;
	pbft_commit_persist(p, s);
	return 0;
}

static void execute_one(struct pbft *p, struct pbft_slot *s)
{
	p->cfg.app.execute(p->cfg.app.ctx, s->seq, s->batch, s->batch_len);
	s->executed = true;
	p->last_exec = s->seq;
	p->stats.batches_committed++;
	pbft_pending_executed(p, s->batch, s->batch_len);
	if (s->pp_time_ms != 0 && p->now_ms >= s->pp_time_ms) {
		uint64_t sample = p->now_ms - s->pp_time_ms;
		p->srtt_ms = p->srtt_ms == 0 ? sample : (7 * p->srtt_ms + sample) / 8;
	}
	struct pbft_update *u = p->out;
	if (u != NULL && u->committed_count < PBFT_COMMITTED_MAX) {
		struct pbft_committed *c = &u->committed[u->committed_count++];
		c->seq = s->seq;
		c->view = s->commit_view;
		memcpy(c->digest, s->pp.digest, PBFT_DIGEST_BYTES);
		/* Copies: later in this step the window may move and the slot be
		 * reused for seq + L, while the update must stay valid. */
		uint8_t *batch = pbft_arena_alloc(p, s->batch_len);
		uint8_t *cert = pbft_arena_alloc(p, (size_t)s->cert_count * PBFT_CORE_BYTES);
		memcpy(batch, s->batch, s->batch_len);
		memcpy(cert, s->cert, (size_t)s->cert_count * PBFT_CORE_BYTES);
		c->batch = batch;
		c->batch_len = s->batch_len;
		c->cert = cert;
		c->cert_count = s->cert_count;
	}
	pbft_progress_made(p);
	if (s->seq % p->cfg.checkpoint_interval == 0) {
		pbft_checkpoint_take(p, s->seq);
	}
}

/* Executes committed batches strictly in sequence order: a batch at s waits
 * for every batch below s. */
void pbft_execute_ready(struct pbft *p)
{
	for (;;) {
		uint64_t next = p->last_exec + 1;
		if (next <= p->h || next > p->h + p->cfg.window) {
			return;
		}
		struct pbft_slot *s = &p->slots[(next - 1) % p->cfg.window];
		if (s->seq != next || !s->committed || s->executed) {
			return;
		}
		execute_one(p, s);
	}
}

/* 2f+1 signed cores of one type for (seq, digest) from distinct replicas; a
 * commit certificate's also from one view. */
static int cert_verify(enum pbft_msg_type type, const struct pbft_crypto *crypto, uint32_t replicas,
                       const uint8_t (*pubkeys)[32], uint64_t seq,
                       const uint8_t digest[PBFT_DIGEST_BYTES], const uint8_t *cert,
                       uint32_t cert_count, char *errmsg, size_t errmsg_len)
{
	const char *name = type == PBFT_MSG_COMMIT ? "COMMIT" : "CHECKPOINT";
	if (replicas < 4 || replicas > PBFT_REPLICAS_MAX || cert_count > replicas) {
		snprintf(errmsg, errmsg_len, "certificate holds %u %ss for %u replicas", cert_count,
		         name, replicas);
		return SYNOD_ECERT;
	}
	bool seen[PBFT_REPLICAS_MAX] = {false};
	uint32_t valid = 0;
	uint64_t view = 0;
	for (uint32_t i = 0; i < cert_count; i++) {
		struct pbft_core c;
		uint8_t signed_bytes[PBFT_CORE_SIGNED_BYTES];
		const char *bad = NULL;
		if (pbft_core_decode(&c, cert + (size_t)i * PBFT_CORE_BYTES) != 0) {
			bad = "is malformed";
		} else if (c.type != type) {
			bad = type == PBFT_MSG_COMMIT ? "is not a COMMIT" : "is not a CHECKPOINT";
		} else if (c.sender >= replicas || seen[c.sender]) {
			bad = "has an unknown or repeated sender";
		} else if (c.seq != seq || memcmp(c.digest, digest, PBFT_DIGEST_BYTES) != 0) {
			bad = "names another sequence number or digest";
		} else if (type == PBFT_MSG_COMMIT && i > 0 && c.view != view) {
			bad = "is from another view";
		}
		if (bad == NULL) {
			pbft_core_signed_bytes(&c, signed_bytes);
			if (crypto->verify(crypto->ctx, c.sig, signed_bytes, sizeof signed_bytes,
			                   pubkeys[c.sender]) != 0) {
				bad = "has a bad signature";
			}
		}
		if (bad != NULL) {
			snprintf(errmsg, errmsg_len, "%s %u of the certificate for seq %llu %s",
			         name, i, (unsigned long long)seq, bad);
			return SYNOD_ECERT;
		}
		view = c.view;
		seen[c.sender] = true;
		valid++;
	}
	if (valid < pbft_quorum(replicas)) {
		snprintf(errmsg, errmsg_len,
		         "certificate for seq %llu has %u valid %ss, needs %u (2f+1)",
		         (unsigned long long)seq, valid, name, pbft_quorum(replicas));
		return SYNOD_ECERT;
	}
	return 0;
}

int pbft_cert_verify(const struct pbft_crypto *crypto, uint32_t replicas,
                     const uint8_t (*pubkeys)[32], uint64_t seq,
                     const uint8_t digest[PBFT_DIGEST_BYTES], const uint8_t *cert,
                     uint32_t cert_count, char *errmsg, size_t errmsg_len)
{
	return cert_verify(PBFT_MSG_COMMIT, crypto, replicas, pubkeys, seq, digest, cert,
	                   cert_count, errmsg, errmsg_len);
}

int pbft_checkpoint_cert_verify(const struct pbft_crypto *crypto, uint32_t replicas,
                                const uint8_t (*pubkeys)[32], uint64_t seq,
                                const uint8_t digest[PBFT_DIGEST_BYTES], const uint8_t *cert,
                                uint32_t cert_count, char *errmsg, size_t errmsg_len)
{
	return cert_verify(PBFT_MSG_CHECKPOINT, crypto, replicas, pubkeys, seq, digest, cert,
	                   cert_count, errmsg, errmsg_len);
}

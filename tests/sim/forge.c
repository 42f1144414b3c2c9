/* Byzantine forgeries placed where the cores' ordering checks let them
 * through: each rewritten message is well formed, for the right view, with
 * its sequence numbers in range and ascending, and wrong in exactly one
 * respect (one signature, the quorum, one digest, one sequence number or
 * view, a repeated sender), so that the one check that should refuse it is
 * the one that has to. The replica signs only as itself (adversary.c).
 *
 *   SIM_BYZ_FORGE_PROOFS: its VIEW-CHANGEs carry a checkpoint proof, a
 *     prepared certificate or a commit certificate with one defect;
 *   SIM_BYZ_FORGE_STATE: its STATEs carry a checkpoint proof or a batch's
 *     commit certificate with one defect;
 *   SIM_BYZ_BACKUP_PROPOSE: as a backup it sends PRE-PREPAREs of its own.
 *
 * What catches an accepted forgery is the checker (certs.c: an honest
 * replica that relies on a proof that is not one), or agreement. */
#include "tests/sim/sim.h"

#include "common/assert.h"
#include "common/hash.h"
#include "common/wire.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* One defect in a list of signed cores (a quorum certificate). */
enum forge_defect {
	FORGE_SHORT,        /* one fewer than the quorum */
	FORGE_DUP,          /* one sender twice */
	FORGE_BAD_SIG,      /* one core re-signed with our key, naming another sender */
	FORGE_OTHER_DIGEST, /* our own core, for another digest */
	FORGE_OTHER_SEQ,    /* our own core, for another sequence number */
	FORGE_OTHER_VIEW,   /* our own core, for another view */
	FORGE_OWN,          /* our own core, same content (a primary's PREPARE) */
	FORGE_DEFECTS
};

static const char *const forge_defect_names[FORGE_DEFECTS] = {
    "short", "dup", "bad-sig", "other-digest", "other-seq", "other-view", "own"};

struct forge_list {
	struct pbft_core k[SIM_NODES_MAX];
	uint32_t count;
};

static void forge_list_read(struct forge_list *l, const uint8_t *cores, uint32_t count)
{
	l->count = 0;
	for (uint32_t i = 0; i < count && i < SIM_NODES_MAX; i++) {
		if (pbft_core_decode(&l->k[l->count], cores + (size_t)i * PBFT_CORE_BYTES) == 0) {
			l->count++;
		}
	}
}

static void forge_list_write(struct synod_wbuf *w, const struct forge_list *l)
{
	uint8_t core[PBFT_CORE_BYTES];
	synod_wbuf_u32(w, l->count);
	for (uint32_t i = 0; i < l->count; i++) {
		pbft_core_encode(&l->k[i], core);
		synod_wbuf_bytes(w, core, sizeof core);
	}
}

/* Applies defect d to l (need: the quorum the list must reach; seq_step:
 * the distance to another valid sequence number). Our own core, if any, is
 * moved last and is the one replaced, so senders stay distinct and the
 * first core (whose digest a checkpoint proof claims) is another's.
 * false when l cannot take that defect. */
static bool forge_list_defect(struct sim_cluster *c, struct sim_node *nd, struct forge_list *l,
                              enum forge_defect d, uint32_t need, uint64_t seq_step)
{
	uint32_t self = nd->index;
	if (l->count < 2) {
		return false;
	}
	for (uint32_t i = 0; i + 1 < l->count; i++) {
		if (l->k[i].sender == self) {
			struct pbft_core t = l->k[i];
			l->k[i] = l->k[l->count - 1];
			l->k[l->count - 1] = t;
		}
	}
	struct pbft_core *last = &l->k[l->count - 1];
	switch (d) {
	case FORGE_SHORT:
		l->count = need - 1 < l->count ? need - 1 : l->count - 1;
		return true;
	case FORGE_DUP:
		*last = l->k[0];
		return true;
	case FORGE_BAD_SIG:
		if (l->k[0].sender == self) {
			return false;
		}
		sim_crypto_sign_core(&c->crypto, self, &l->k[0]); /* still names its sender */
		return true;
	default:
		break;
	}
	struct pbft_core own = l->k[0];
	if (d == FORGE_OTHER_DIGEST) {
		own.digest[0] ^= 0x01;
	} else if (d == FORGE_OTHER_SEQ) {
		own.seq += seq_step;
	} else if (d == FORGE_OTHER_VIEW) {
		own.view += 1;
	}
	own.sender = (uint16_t)self;
	sim_crypto_sign_core(&c->crypto, self, &own);
	*last = own;
	return true;
}

/* ---- VIEW-CHANGE ---- */

struct forge_cert {
	struct pbft_prepared_cert pc;
	struct forge_list list; /* its PREPAREs or COMMITs */
};

static void forge_cert_write(struct synod_wbuf *w, const struct forge_cert *fc)
{
	uint8_t core[PBFT_CORE_BYTES];
	synod_wbuf_u8(w, fc->pc.kind);
	if (fc->pc.kind == PBFT_CERT_COMMITTED) {
		synod_wbuf_u64(w, fc->pc.pre_prepare.seq);
	} else {
		pbft_core_encode(&fc->pc.pre_prepare, core);
		synod_wbuf_bytes(w, core, sizeof core);
	}
	synod_wbuf_blob(w, fc->pc.batch, fc->pc.batch_len);
	forge_list_write(w, &fc->list);
}

/* One defect in a P element: in its PREPAREs or COMMITs, or in the
 * PRE-PREPARE (its signature, or its sender). */
static bool forge_cert_defect(struct sim_cluster *c, struct sim_node *nd, struct forge_cert *fc,
                              const char **what)
{
	uint32_t self = nd->index;
	struct pbft_core *pp = &fc->pc.pre_prepare;
	uint64_t r = sim_rng_below(&c->rng_byz, FORGE_DEFECTS + 2u);
	if (fc->pc.kind == PBFT_CERT_PREPARED && r == FORGE_DEFECTS && pp->sender != self) {
		sim_crypto_sign_core(&c->crypto, self, pp); /* names the primary: a bad signature */
		*what = "prepared certificate: PRE-PREPARE bad-sig";
		return true;
	}
	if (fc->pc.kind == PBFT_CERT_PREPARED && r == FORGE_DEFECTS + 1u &&
	    pp->view % c->n != self) {
		pp->sender = (uint16_t)self;
		sim_crypto_sign_core(&c->crypto, self, pp); /* ours: signed, not the primary's */
		*what = "prepared certificate: PRE-PREPARE from a backup";
		return true;
	}
	enum forge_defect d = (enum forge_defect)(r % FORGE_DEFECTS);
	bool prepared = fc->pc.kind == PBFT_CERT_PREPARED;
	if (d == FORGE_OWN && (!prepared || pp->sender != self)) {
		d = FORGE_OTHER_VIEW; /* our own valid core would be no defect */
	}
	uint32_t need = prepared ? 2 * c->f : 2 * c->f + 1;
	*what = forge_defect_names[d];
	return forge_list_defect(c, nd, &fc->list, d, need, 1);
}

/* Sends as its own a VIEW-CHANGE m (its own, or one it heard: its proofs
 * are anyone's to repeat) with one defect: in C (the checkpoint proof, or h
 * moved one interval up with the old proof), or in one P element. false
 * when m has nothing to forge. */
bool sim_forge_view_change(struct sim_cluster *c, struct sim_node *nd, const struct pbft_msg *m)
{
	struct pbft_view_change vc;
	struct forge_cert certs[PBFT_WINDOW_MAX];
	struct forge_list proof;
	struct pbft_core k = m->core;
	k.sender = (uint16_t)nd->index;
	uint32_t np = 0;
	const char *what = NULL;
	if (pbft_view_change_parse(&vc, m->payload, m->payload_len, &c->lim) != 0) {
		return false;
	}
	forge_list_read(&proof, vc.checkpoints, vc.checkpoint_count);
	while (np < PBFT_WINDOW_MAX && pbft_view_change_next(&vc, &certs[np].pc) == 1) {
		forge_list_read(&certs[np].list, certs[np].pc.prepares, certs[np].pc.prepare_count);
		np++;
	}
	bool in_c = np == 0 || (k.seq > 0 && sim_rng_ppm(&c->rng_byz, 400000));
	uint32_t first = 0; /* P elements kept: [first, np) */
	if (in_c && k.seq > 0) {
		enum forge_defect d =
		    (enum forge_defect)sim_rng_below(&c->rng_byz, FORGE_OTHER_VIEW);
		if (d == FORGE_OTHER_SEQ && sim_rng_ppm(&c->rng_byz, 500000)) {
			/* claim h one interval higher with the proof for h */
			k.seq += c->o.checkpoint_interval;
			while (first < np && certs[first].pc.pre_prepare.seq <= k.seq) {
				first++;
			}
			what = "checkpoint proof for a lower h";
		} else if (forge_list_defect(c, nd, &proof, d, 2 * c->f + 1,
		                             c->o.checkpoint_interval)) {
			what = forge_defect_names[d];
		}
	} else if (np > 0) {
		uint32_t i = (uint32_t)sim_rng_below(&c->rng_byz, np);
		if (!forge_cert_defect(c, nd, &certs[i], &what)) {
			what = NULL;
		}
	}
	if (what == NULL) {
		return false;
	}
	struct synod_wbuf w;
	synod_wbuf_init(&w, c->scratch2, SIM_MSG_BYTES_MAX);
	forge_list_write(&w, &proof);
	synod_wbuf_u32(&w, np - first);
	for (uint32_t i = first; i < np; i++) {
		forge_cert_write(&w, &certs[i]);
	}
	if (w.err != 0) {
		return false;
	}
	sim_trace(c, "  byz n%u forges its VIEW-CHANGE for view %" PRIu64 ": %s%s", nd->index,
	          k.view, in_c ? "checkpoint proof " : "", what);
	synod_sha256(k.digest, w.buf, w.len);
	sim_byz_emit(c, nd, PBFT_TO_ALL, &k, w.buf, (uint32_t)w.len, true);
	return true;
}

/* ---- STATE ---- */

/* Rewrites its STATE m with one defect in the checkpoint proof or in the
 * first batch's commit certificate. false when m has nothing to forge. */
bool sim_forge_state(struct sim_cluster *c, struct sim_node *nd, uint32_t to,
                     const struct pbft_msg *m)
{
	struct pbft_state st;
	struct pbft_committed_batch b;
	struct forge_list proof, cert;
	if (pbft_state_parse(&st, m->payload, m->payload_len, &c->lim) != 0) {
		return false;
	}
	forge_list_read(&proof, st.checkpoints, st.checkpoint_count);
	bool in_c = st.batch_count == 0 || (proof.count > 0 && sim_rng_ppm(&c->rng_byz, 500000));
	enum forge_defect d = (enum forge_defect)sim_rng_below(&c->rng_byz, FORGE_OWN);
	if (in_c && (d == FORGE_OTHER_VIEW || !forge_list_defect(c, nd, &proof, d, 2 * c->f + 1,
	                                                         c->o.checkpoint_interval))) {
		return false;
	}
	struct synod_wbuf w;
	synod_wbuf_init(&w, c->scratch2, SIM_MSG_BYTES_MAX);
	forge_list_write(&w, &proof);
	synod_wbuf_blob(&w, st.snapshot, st.snapshot_len);
	synod_wbuf_u32(&w, st.batch_count);
	for (uint32_t i = 0; pbft_state_next(&st, &b) == 1; i++) {
		forge_list_read(&cert, b.commits, b.commit_count);
		if (i == 0 && !in_c && !forge_list_defect(c, nd, &cert, d, 2 * c->f + 1, 1)) {
			return false;
		}
		synod_wbuf_u64(&w, b.seq);
		synod_wbuf_blob(&w, b.batch, b.batch_len);
		forge_list_write(&w, &cert);
	}
	if (w.err != 0) {
		return false;
	}
	sim_trace(c, "  byz n%u forges its STATE to n%u: %s %s", nd->index, to,
	          in_c ? "checkpoint proof" : "first commit certificate", forge_defect_names[d]);
	struct pbft_core k = m->core;
	synod_sha256(k.digest, w.buf, w.len);
	sim_byz_emit(c, nd, to, &k, w.buf, (uint32_t)w.len, true);
	return true;
}

/* ---- PRE-PREPAREs from a backup ---- */

/* A PRE-PREPARE of its own, as a backup of the current view, for one of the
 * next sequence numbers: only a core that forgets to check who the primary
 * is accepts it, and then it orders a batch no primary proposed. */
void sim_forge_backup_propose(struct sim_cluster *c, struct sim_node *nd)
{
	struct pbft_status st;
	pbft_status_get(nd->p, &st);
	if (st.in_view_change || st.primary == nd->index) {
		return;
	}
	uint8_t batch[64];
	struct pbft_batch_writer bw;
	char fake[32];
	int n = snprintf(fake, sizeof fake, "backup-%016" PRIx64, sim_rng_next(&c->rng_byz));
	pbft_batch_writer_init(&bw, batch, sizeof batch);
	SYNOD_ASSERT(n > 0 && pbft_batch_writer_add(&bw, (const uint8_t *)fake, (uint32_t)n) == 0);
	size_t blen = pbft_batch_writer_finish(&bw);
	struct pbft_core pp = {.type = PBFT_MSG_PRE_PREPARE,
	                       .sender = (uint16_t)nd->index,
	                       .view = st.view,
	                       .seq = st.last_executed + 1u + sim_rng_below(&c->rng_byz, 4)};
	pbft_batch_digest(pp.digest, batch, blen);
	sim_byz_emit(c, nd, PBFT_TO_ALL, &pp, batch, (uint32_t)blen, true);
}

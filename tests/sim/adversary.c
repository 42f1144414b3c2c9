/* Byzantine replicas. Each runs the real core; the adversary rewrites what
 * the core sends, filters what it receives and makes up messages on its
 * ticks, per the behaviours it was given (cluster.h). It signs only as its
 * own replica, through the cluster's crypto table, so a message naming
 * another sender never verifies. Messages are built with msg.h's encoders.
 * Every choice comes from the cluster's Byzantine PRNG stream. */
#include "tests/sim/sim.h"

#include "common/assert.h"
#include "common/hash.h"
#include "common/wire.h"

#include <inttypes.h>
#include <string.h>

void sim_byz_init(struct sim_byz *b, uint32_t behaviours, uint32_t rate_ppm)
{
	memset(b, 0, sizeof *b);
	b->behaviours = behaviours;
	b->rate_ppm = rate_ppm;
}

void sim_byz_close(struct sim_byz *b)
{
	for (uint32_t i = 0; i < b->captured_count; i++) {
		sim_buf_unref(b->captured[i]);
		b->captured[i] = NULL;
	}
	b->captured_count = 0;
}

static bool byz_has(const struct sim_node *nd, uint32_t behaviour)
{
	return (nd->byz.behaviours & behaviour) != 0;
}

static bool byz_hit(struct sim_cluster *c, const struct sim_node *nd, uint32_t behaviour)
{
	return byz_has(nd, behaviour) && sim_rng_ppm(&c->rng_byz, nd->byz.rate_ppm);
}

/* A random replica other than self. */
static uint32_t byz_other(struct sim_cluster *c, uint32_t self)
{
	uint32_t j = (uint32_t)sim_rng_below(&c->rng_byz, c->n - 1u);
	return j >= self ? j + 1 : j;
}

/* Encodes core | payload (signing the core as nd unless resign is false)
 * and sends it. */
static void byz_emit(struct sim_cluster *c, struct sim_node *nd, uint32_t to,
                     const struct pbft_core *core, const uint8_t *payload, uint32_t payload_len,
                     bool resign)
{
	struct pbft_core k = *core;
	size_t len = 0;
	if (byz_has(nd, SIM_BYZ_SILENT)) {
		return;
	}
	if (resign) {
		sim_crypto_sign_core(&c->crypto, nd->index, &k);
	}
	if (pbft_msg_encode(&k, payload, payload_len, c->scratch, SIM_MSG_BYTES_MAX, &len) != 0) {
		return;
	}
	c->stats.byz_injected++;
	sim_trace(c, "  byz n%u emits %s to %d v=%" PRIu64 " s=%" PRIu64 " sender=%u", nd->index,
	          pbft_msg_type_name(k.type), to == PBFT_TO_ALL ? -1 : (int)to, k.view, k.seq,
	          k.sender);
	sim_send(c, nd->index, to, c->scratch, len);
}

void sim_byz_emit(struct sim_cluster *c, struct sim_node *nd, uint32_t to,
                  const struct pbft_core *core, const uint8_t *payload, uint32_t payload_len,
                  bool resign)
{
	byz_emit(c, nd, to, core, payload, payload_len, resign);
}

/* ---- batches ---- */

/* Writes into out a batch that differs from batch: its entries, maybe one
 * fewer, and one made-up entry. Returns its length (0 on failure). */
static size_t byz_alt_batch(struct sim_cluster *c, const uint8_t *batch, size_t len, uint8_t *out,
                            size_t cap)
{
	struct pbft_batch_iter it;
	struct pbft_batch_writer w;
	const uint8_t *entry;
	uint32_t entry_len;
	if (pbft_batch_iter_init(&it, batch, len, &c->lim) != 0) {
		return 0;
	}
	uint32_t keep = it.count < c->o.batch_entries_max ? it.count : it.count - 1;
	if (keep > 0 && sim_rng_ppm(&c->rng_byz, 500000)) {
		keep--;
	}
	pbft_batch_writer_init(&w, out, cap);
	for (uint32_t i = 0; i < keep && pbft_batch_iter_next(&it, &entry, &entry_len) == 1; i++) {
		if (pbft_batch_writer_add(&w, entry, entry_len) != 0) {
			return 0;
		}
	}
	uint8_t fake[40];
	int n = snprintf((char *)fake, sizeof fake, "byz-%016" PRIx64, sim_rng_next(&c->rng_byz));
	if (n <= 0 || pbft_batch_writer_add(&w, fake, (uint32_t)n) != 0) {
		return 0;
	}
	return pbft_batch_writer_finish(&w);
}

/* ---- PRE-PREPARE ---- */

/* Sends one backup a batch of its own for the PRE-PREPARE's (view, seq). */
static void byz_emit_variant(struct sim_cluster *c, struct sim_node *nd, uint32_t to,
                             const struct pbft_msg *m)
{
	uint8_t *alt = c->scratch2;
	size_t alt_len = byz_alt_batch(c, m->payload, m->payload_len, alt, SIM_MSG_BYTES_MAX);
	if (alt_len == 0) {
		byz_emit(c, nd, to, &m->core, m->payload, m->payload_len, false);
		return;
	}
	struct pbft_core ac = m->core;
	pbft_batch_digest(ac.digest, alt, alt_len);
	byz_emit(c, nd, to, &ac, alt, (uint32_t)alt_len, true);
}

/* Different batches for one (view, seq) to different backups: a batch of
 * its own to every backup (nothing can prepare: a view change must follow),
 * another batch to one victim, or the true batch to some and another to the
 * rest. */
static void byz_equivocate(struct sim_cluster *c, struct sim_node *nd, const struct pbft_msg *m)
{
	uint64_t mode = sim_rng_below(&c->rng_byz, 3);
	if (mode == 0) { /* a batch of its own to every backup */
		for (uint32_t j = 0; j < c->n; j++) {
			if (j != nd->index) {
				byz_emit_variant(c, nd, j, m);
			}
		}
		return;
	}
	uint8_t *alt = c->scratch2;
	size_t alt_len = byz_alt_batch(c, m->payload, m->payload_len, alt, SIM_MSG_BYTES_MAX);
	if (alt_len == 0) {
		byz_emit(c, nd, PBFT_TO_ALL, &m->core, m->payload, m->payload_len, false);
		return;
	}
	struct pbft_core ac = m->core;
	pbft_batch_digest(ac.digest, alt, alt_len);
	/* mode 1: one victim gets the other batch; mode 2: a random split */
	uint32_t forced = byz_other(c, nd->index); /* gets the original for sure */
	uint32_t forced_alt = byz_other(c, nd->index);
	for (uint32_t j = 0; j < c->n; j++) {
		if (j == nd->index) {
			continue;
		}
		bool orig = mode == 1 ? j != forced_alt
		                      : j == forced ||
		                            (j != forced_alt && sim_rng_ppm(&c->rng_byz, 500000));
		if (orig) {
			byz_emit(c, nd, j, &m->core, m->payload, m->payload_len, false);
		} else {
			byz_emit(c, nd, j, &ac, alt, (uint32_t)alt_len, true);
		}
	}
}

/* Pre-prepares to f+1 backups only, then says nothing for a while. */
static void byz_silent_after_pp(struct sim_cluster *c, struct sim_node *nd,
                                const struct pbft_msg *m)
{
	uint32_t sent = 0;
	uint32_t start = (uint32_t)sim_rng_below(&c->rng_byz, c->n);
	for (uint32_t k = 0; k < c->n && sent < c->f + 1; k++) {
		uint32_t j = (start + k) % c->n;
		if (j != nd->index) {
			byz_emit(c, nd, j, &m->core, m->payload, m->payload_len, false);
			sent++;
		}
	}
	nd->byz.mute_until_ms = c->now_ms + sim_rng_range(&c->rng_byz, 200, 3000);
}

/* ---- PREPARE / COMMIT ---- */

static void byz_conflict_vote(struct sim_cluster *c, struct sim_node *nd, const struct pbft_msg *m)
{
	for (uint32_t j = 0; j < c->n; j++) {
		if (j == nd->index) {
			continue;
		}
		struct pbft_core k = m->core;
		uint64_t r = sim_rng_below(&c->rng_byz, 3);
		if (r == 0) {
			byz_emit(c, nd, j, &k, NULL, 0, false);
			continue;
		}
		if (r == 1) {
			for (uint32_t b = 0; b < 32; b += 8) {
				uint64_t x = sim_rng_next(&c->rng_byz);
				memcpy(k.digest + b, &x, 8);
			}
		} else {
			k.digest[sim_rng_below(&c->rng_byz, 32)] ^= 0x01;
		}
		byz_emit(c, nd, j, &k, NULL, 0, true);
	}
}

static void byz_eager_vote(struct sim_cluster *c, struct sim_node *nd, const struct pbft_core *pp)
{
	struct pbft_core k = *pp;
	k.sender = (uint16_t)nd->index;
	k.type = PBFT_MSG_PREPARE;
	byz_emit(c, nd, PBFT_TO_ALL, &k, NULL, 0, true);
	k.type = PBFT_MSG_COMMIT;
	byz_emit(c, nd, PBFT_TO_ALL, &k, NULL, 0, true);
}

/* ---- VIEW-CHANGE ---- */

/* Seconds any view change it hears of with a VIEW-CHANGE of its own: the
 * heard one's checkpoint proof (2f+1 CHECKPOINTs signed by others, reusable)
 * and nothing prepared. With one more honest replica that is f+1, and the
 * others join. */
static void byz_echo_view_change(struct sim_cluster *c, struct sim_node *nd, const uint8_t *bytes,
                                 size_t len)
{
	struct pbft_msg m;
	struct pbft_view_change vc;
	struct pbft_status st;
	pbft_status_get(nd->p, &st);
	if (pbft_msg_decode(&m, bytes, len, &c->lim) != 0 || m.core.view <= st.view ||
	    m.core.view > st.view + 4u || m.core.view <= nd->byz.echoed_view ||
	    pbft_view_change_parse(&vc, m.payload, m.payload_len, &c->lim) != 0) {
		return;
	}
	struct synod_wbuf w;
	synod_wbuf_init(&w, c->scratch2, SIM_MSG_BYTES_MAX);
	synod_wbuf_u32(&w, vc.checkpoint_count);
	synod_wbuf_bytes(&w, vc.checkpoints, (size_t)vc.checkpoint_count * PBFT_CORE_BYTES);
	synod_wbuf_u32(&w, 0);
	if (w.err != 0) {
		return;
	}
	nd->byz.echoed_view =
	    m.core.view; /* once per view: Byzantine echoes would feed each other */
	struct pbft_core k = m.core;
	k.sender = (uint16_t)nd->index;
	synod_sha256(k.digest, w.buf, w.len);
	byz_emit(c, nd, PBFT_TO_ALL, &k, w.buf, (uint32_t)w.len, true);
}

static void byz_write_cert(struct synod_wbuf *w, const struct pbft_prepared_cert *pc)
{
	uint8_t core[PBFT_CORE_BYTES];
	synod_wbuf_u8(w, pc->kind);
	if (pc->kind == PBFT_CERT_COMMITTED) {
		synod_wbuf_u64(w, pc->pre_prepare.seq);
	} else {
		pbft_core_encode(&pc->pre_prepare, core);
		synod_wbuf_bytes(w, core, sizeof core);
	}
	synod_wbuf_blob(w, pc->batch, pc->batch_len);
	synod_wbuf_u32(w, pc->prepare_count);
	synod_wbuf_bytes(w, pc->prepares, (size_t)pc->prepare_count * PBFT_CORE_BYTES);
}

/* A prepared certificate for h+1 that nobody prepared: a PRE-PREPARE and
 * PREPAREs naming other replicas, all signed with nd's own key. */
static void byz_write_forged_cert(struct sim_cluster *c, struct sim_node *nd, struct synod_wbuf *w,
                                  uint64_t view, uint64_t seq)
{
	uint8_t batch[64];
	struct pbft_batch_writer bw;
	char fake[32];
	int n = snprintf(fake, sizeof fake, "forged-%016" PRIx64, sim_rng_next(&c->rng_byz));
	pbft_batch_writer_init(&bw, batch, sizeof batch);
	SYNOD_ASSERT(n > 0 && pbft_batch_writer_add(&bw, (const uint8_t *)fake, (uint32_t)n) == 0);
	size_t blen = pbft_batch_writer_finish(&bw);
	uint64_t pv = view > 0 ? view - 1 : 0;
	struct pbft_core pp = {
	    .type = PBFT_MSG_PRE_PREPARE, .sender = (uint16_t)(pv % c->n), .view = pv, .seq = seq};
	pbft_batch_digest(pp.digest, batch, blen);
	sim_crypto_sign_core(&c->crypto, nd->index, &pp);
	uint8_t core[PBFT_CORE_BYTES];
	pbft_core_encode(&pp, core);
	synod_wbuf_u8(w, PBFT_CERT_PREPARED);
	synod_wbuf_bytes(w, core, sizeof core);
	synod_wbuf_blob(w, batch, blen);
	uint32_t nprep = 2 * c->f;
	synod_wbuf_u32(w, nprep);
	for (uint32_t i = 0; i < nprep; i++) {
		struct pbft_core pr = pp;
		pr.type = PBFT_MSG_PREPARE;
		pr.sender = (uint16_t)((pp.sender + 1u + i) % c->n);
		sim_crypto_sign_core(&c->crypto, nd->index, &pr);
		pbft_core_encode(&pr, core);
		synod_wbuf_bytes(w, core, sizeof core);
	}
}

static void byz_bogus_view_change(struct sim_cluster *c, struct sim_node *nd,
                                  const struct pbft_msg *m)
{
	struct pbft_view_change vc;
	struct pbft_prepared_cert pc;
	if (pbft_view_change_parse(&vc, m->payload, m->payload_len, &c->lim) != 0) {
		return;
	}
	struct pbft_core k = m->core;
	struct synod_wbuf w;
	synod_wbuf_init(&w, c->scratch2, SIM_MSG_BYTES_MAX);
	uint64_t how = sim_rng_below(&c->rng_byz, 3);
	if (how == 1) { /* a stale checkpoint: claim nothing is stable */
		k.seq = 0;
		synod_wbuf_u32(&w, 0);
	} else {
		synod_wbuf_u32(&w, vc.checkpoint_count);
		synod_wbuf_bytes(&w, vc.checkpoints, (size_t)vc.checkpoint_count * PBFT_CORE_BYTES);
	}
	if (how == 2) { /* keep what it prepared, add a forged cert */
		synod_wbuf_u32(&w, vc.prepared_count + 1u);
		while (pbft_view_change_next(&vc, &pc) == 1) {
			byz_write_cert(&w, &pc);
		}
		byz_write_forged_cert(c, nd, &w, k.view, k.seq + 1u);
	} else { /* drop every prepared cert */
		synod_wbuf_u32(&w, 0);
	}
	if (w.err != 0) {
		return;
	}
	synod_sha256(k.digest, w.buf, w.len);
	byz_emit(c, nd, PBFT_TO_ALL, &k, w.buf, (uint32_t)w.len, true);
}

/* ---- NEW-VIEW ---- */

static void byz_write_nv_vcs(struct synod_wbuf *w, struct pbft_new_view *nv)
{
	struct pbft_new_view_vc v;
	uint8_t core[PBFT_CORE_BYTES];
	synod_wbuf_u32(w, nv->vc_count);
	while (pbft_new_view_next_vc(nv, &v) == 1) {
		pbft_core_encode(&v.core, core);
		synod_wbuf_bytes(w, core, sizeof core);
		synod_wbuf_blob(w, v.payload, v.payload_len);
	}
}

/* Re-proposals with one dropped, or one or all batches substituted
 * (re-signed: the replica is the new primary, so its PRE-PREPAREs verify). */
static bool byz_write_nv_pps(struct sim_cluster *c, struct sim_node *nd, struct synod_wbuf *w,
                             struct pbft_new_view *nv)
{
	struct pbft_new_view_pp pp;
	uint8_t core[PBFT_CORE_BYTES];
	uint8_t alt[SIM_ENTRY_BYTES_MAX * 12];
	if (nv->pp_count == 0) {
		return false;
	}
	uint32_t victim = (uint32_t)sim_rng_below(&c->rng_byz, nv->pp_count);
	uint64_t how = sim_rng_below(&c->rng_byz, 3); /* drop one, replace one, replace all */
	synod_wbuf_u32(w, how == 0 ? nv->pp_count - 1u : nv->pp_count);
	for (uint32_t i = 0; pbft_new_view_next_pp(nv, &pp) == 1; i++) {
		struct pbft_core k = pp.core;
		const uint8_t *batch = pp.batch;
		size_t blen = pp.batch_len;
		if (i == victim && how == 0) {
			continue;
		}
		if (i == victim || how == 2) {
			blen = byz_alt_batch(c, pp.batch, pp.batch_len, alt, sizeof alt);
			if (blen == 0) {
				return false;
			}
			batch = alt;
			pbft_batch_digest(k.digest, batch, blen);
			sim_crypto_sign_core(&c->crypto, nd->index, &k);
		}
		pbft_core_encode(&k, core);
		synod_wbuf_bytes(w, core, sizeof core);
		synod_wbuf_blob(w, batch, blen);
	}
	return true;
}

static void byz_bogus_new_view(struct sim_cluster *c, struct sim_node *nd, const struct pbft_msg *m)
{
	struct pbft_new_view nv;
	if (pbft_new_view_parse(&nv, m->payload, m->payload_len, &c->lim) != 0) {
		return;
	}
	struct synod_wbuf w;
	synod_wbuf_init(&w, c->scratch2, SIM_MSG_BYTES_MAX);
	byz_write_nv_vcs(&w, &nv);
	if (!byz_write_nv_pps(c, nd, &w, &nv) || w.err != 0) {
		byz_emit(c, nd, PBFT_TO_ALL, &m->core, m->payload, m->payload_len, false);
		return;
	}
	struct pbft_core k = m->core;
	synod_sha256(k.digest, w.buf, w.len);
	/* Sometimes the bogus one to some and the true one to the others. */
	bool split = sim_rng_ppm(&c->rng_byz, 500000);
	for (uint32_t j = 0; j < c->n; j++) {
		if (j == nd->index) {
			continue;
		}
		if (split && sim_rng_ppm(&c->rng_byz, 500000)) {
			byz_emit(c, nd, j, &m->core, m->payload, m->payload_len, false);
		} else {
			byz_emit(c, nd, j, &k, w.buf, (uint32_t)w.len, true);
		}
	}
}

/* ---- STATE ---- */

static void byz_bogus_state(struct sim_cluster *c, struct sim_node *nd, uint32_t to,
                            const struct pbft_msg *m)
{
	struct pbft_state st;
	if (pbft_state_parse(&st, m->payload, m->payload_len, &c->lim) != 0 ||
	    st.snapshot_len == 0) {
		byz_emit(c, nd, to, &m->core, m->payload, m->payload_len, false);
		return;
	}
	memcpy(c->scratch2, m->payload, m->payload_len);
	size_t off = (size_t)(st.snapshot - m->payload);
	c->scratch2[off + sim_rng_below(&c->rng_byz, st.snapshot_len)] ^= 0x20;
	struct pbft_core k = m->core;
	synod_sha256(k.digest, c->scratch2, m->payload_len);
	byz_emit(c, nd, to, &k, c->scratch2, m->payload_len, true);
}

/* ---- extra copies: other views, seqs, senders, broken signatures ---- */

static void byz_extras(struct sim_cluster *c, struct sim_node *nd, const struct pbft_send *s,
                       const struct pbft_msg *m)
{
	struct pbft_core k = m->core;
	if (byz_hit(c, nd, SIM_BYZ_WRONG_VIEW)) {
		uint64_t r = sim_rng_below(&c->rng_byz, 3);
		k.view = r == 0 ? (k.view > 0 ? k.view - 1 : 0) : k.view + 1 + 1000 * (r - 1);
		byz_emit(c, nd, s->to, &k, m->payload, m->payload_len, true);
		k = m->core;
	}
	if (byz_hit(c, nd, SIM_BYZ_BAD_SEQ)) {
		k.seq = sim_rng_ppm(&c->rng_byz, 200000)
		            ? 0
		            : k.seq + c->o.window * (2u + sim_rng_below(&c->rng_byz, 4));
		byz_emit(c, nd, s->to, &k, m->payload, m->payload_len, true);
		k = m->core;
	}
	if (byz_hit(c, nd, SIM_BYZ_BAD_SIG)) {
		k.sig[sim_rng_below(&c->rng_byz, PBFT_SIG_BYTES)] ^=
		    (uint8_t)(1u << sim_rng_below(&c->rng_byz, 8));
		byz_emit(c, nd, s->to, &k, m->payload, m->payload_len, false);
		k = m->core;
	}
	if (byz_hit(c, nd, SIM_BYZ_IMPERSONATE)) {
		k.sender = (uint16_t)byz_other(c, nd->index);
		byz_emit(c, nd, s->to, &k, m->payload, m->payload_len, true);
	}
}

/* Rewrites one message of the core's; false when the original should go
 * out unchanged. */
static bool byz_rewrite(struct sim_cluster *c, struct sim_node *nd, const struct pbft_send *s,
                        const struct pbft_msg *m)
{
	bool to_all = s->to == PBFT_TO_ALL;
	switch (m->core.type) {
	case PBFT_MSG_PRE_PREPARE:
		if (to_all && byz_hit(c, nd, SIM_BYZ_SILENT_AFTER_PP)) {
			byz_silent_after_pp(c, nd, m);
			return true;
		}
		if (to_all && byz_hit(c, nd, SIM_BYZ_EQUIVOCATE)) {
			byz_equivocate(c, nd, m);
			return true;
		}
		return false;
	case PBFT_MSG_PREPARE:
	case PBFT_MSG_COMMIT:
		if (to_all && byz_hit(c, nd, SIM_BYZ_CONFLICT_VOTES)) {
			byz_conflict_vote(c, nd, m);
			return true;
		}
		return false;
	case PBFT_MSG_VIEW_CHANGE:
		if (byz_hit(c, nd, SIM_BYZ_BOGUS_VIEW_CHANGE)) {
			byz_bogus_view_change(c, nd, m);
			return true;
		}
		return byz_has(nd, SIM_BYZ_FORGE_PROOFS) && sim_forge_view_change(c, nd, m);
	case PBFT_MSG_NEW_VIEW:
		if (to_all && byz_hit(c, nd, SIM_BYZ_BOGUS_NEW_VIEW)) {
			byz_bogus_new_view(c, nd, m);
			return true;
		}
		return false;
	case PBFT_MSG_STATE:
		if (byz_hit(c, nd, SIM_BYZ_BOGUS_STATE)) {
			byz_bogus_state(c, nd, s->to, m);
			return true;
		}
		return byz_has(nd, SIM_BYZ_FORGE_STATE) && sim_forge_state(c, nd, s->to, m);
	default:
		return false;
	}
}

void sim_byz_send(struct sim_cluster *c, struct sim_node *nd, const struct pbft_update *u)
{
	if (byz_has(nd, SIM_BYZ_SILENT) || nd->byz.mute_until_ms > c->now_ms) {
		return;
	}
	for (uint32_t i = 0; i < u->send_count && !c->stopped; i++) {
		const struct pbft_send *s = &u->sends[i];
		struct pbft_msg m;
		if (pbft_msg_decode(&m, s->bytes, s->len, &c->lim) != 0) {
			sim_send(c, nd->index, s->to, s->bytes, s->len);
			continue;
		}
		if (!byz_rewrite(c, nd, s, &m)) {
			sim_send(c, nd->index, s->to, s->bytes, s->len);
		}
		byz_extras(c, nd, s, &m);
	}
}

/* ---- receiving ---- */

/* A VIEW-CHANGE for a view above its own, once per view: sent back to all
 * as its own, with one defect (forge.c). */
static void byz_forge_heard_view_change(struct sim_cluster *c, struct sim_node *nd,
                                        const uint8_t *bytes, size_t len)
{
	struct pbft_msg m;
	struct pbft_status st;
	pbft_status_get(nd->p, &st);
	if (pbft_msg_decode(&m, bytes, len, &c->lim) != 0 || m.core.view <= st.view ||
	    m.core.view <= nd->byz.forged_view) {
		return;
	}
	if (sim_forge_view_change(c, nd, &m)) {
		nd->byz.forged_view = m.core.view;
	}
}

static void byz_capture(struct sim_cluster *c, struct sim_node *nd, const uint8_t *bytes,
                        size_t len)
{
	struct sim_byz *b = &nd->byz;
	if (!sim_rng_ppm(&c->rng_byz, 100000) || len > (64u << 10)) {
		return;
	}
	uint32_t slot = b->captured_next;
	b->captured_next = (slot + 1) % SIM_CAPTURED_MAX;
	if (slot < b->captured_count) {
		sim_buf_unref(b->captured[slot]);
	} else {
		b->captured_count++;
	}
	b->captured[slot] = sim_buf_new(bytes, len);
}

/* SIM_BYZ_CENSOR_ONE: the entries it never takes in. */
static bool byz_censored_one(const struct sim_cluster *c, const struct sim_node *nd,
                             const uint8_t *entry, size_t len)
{
	if (!byz_has(nd, SIM_BYZ_CENSOR_ONE)) {
		return false;
	}
	if (c->voters != NULL) {
		return sim_voters_censored(c, nd->byz.censor_pick, entry, len);
	}
	int32_t id = len <= SIM_ENTRY_BYTES_MAX ? sim_entry_id(c, entry, (uint32_t)len) : -1;
	return id >= 0 && (uint32_t)id % 32u == nd->byz.censor_pick % 32u;
}

static bool byz_censored_request(const struct sim_cluster *c, const struct sim_node *nd,
                                 const uint8_t *bytes, size_t len)
{
	struct pbft_msg m;
	return byz_has(nd, SIM_BYZ_CENSOR_ONE) && pbft_msg_decode(&m, bytes, len, &c->lim) == 0 &&
	       byz_censored_one(c, nd, m.payload, m.payload_len);
}

bool sim_byz_filter(struct sim_cluster *c, struct sim_node *nd, const struct pbft_event *ev)
{
	if (ev->type == PBFT_EV_SUBMIT && byz_has(nd, SIM_BYZ_CENSOR)) {
		sim_trace(c, "  byz n%u censors a client entry", nd->index);
		return false;
	}
	if (ev->type == PBFT_EV_SUBMIT &&
	    byz_censored_one(c, nd, ev->submit.entry, ev->submit.len)) {
		sim_trace(c, "  byz n%u censors the chosen client's entry", nd->index);
		return false;
	}
	if (ev->type != PBFT_EV_RECEIVE || ev->receive.len < PBFT_CORE_BYTES) {
		return true;
	}
	const uint8_t *bytes = ev->receive.bytes;
	if (byz_has(nd, SIM_BYZ_REPLAY)) {
		byz_capture(c, nd, bytes, ev->receive.len);
	}
	if (bytes[1] == PBFT_MSG_REQUEST && byz_has(nd, SIM_BYZ_CENSOR)) {
		sim_trace(c, "  byz n%u censors a forwarded REQUEST", nd->index);
		return false;
	}
	if (bytes[1] == PBFT_MSG_REQUEST && byz_censored_request(c, nd, bytes, ev->receive.len)) {
		sim_trace(c, "  byz n%u censors a forwarded REQUEST of the chosen client",
		          nd->index);
		return false;
	}
	struct pbft_core core;
	if (bytes[1] == PBFT_MSG_PRE_PREPARE && byz_hit(c, nd, SIM_BYZ_EAGER_VOTE) &&
	    pbft_core_decode(&core, bytes) == 0) {
		byz_eager_vote(c, nd, &core);
	}
	if (bytes[1] == PBFT_MSG_VIEW_CHANGE && byz_hit(c, nd, SIM_BYZ_EAGER_VOTE)) {
		byz_echo_view_change(c, nd, bytes, ev->receive.len);
	}
	if (bytes[1] == PBFT_MSG_VIEW_CHANGE && byz_has(nd, SIM_BYZ_FORGE_PROOFS)) {
		byz_forge_heard_view_change(c, nd, bytes, ev->receive.len);
	}
	return true;
}

/* ---- on its ticks ---- */

static void byz_flood(struct sim_cluster *c, struct sim_node *nd)
{
	struct pbft_status st;
	pbft_status_get(nd->p, &st);
	uint8_t payload[8] = {0}; /* ncp 0 | np 0 */
	struct pbft_core k = {.type = PBFT_MSG_VIEW_CHANGE, .sender = (uint16_t)nd->index};
	if (nd->byz.flood_view <= st.view) {
		nd->byz.flood_view = st.view + 1;
	}
	k.view = nd->byz.flood_view + sim_rng_below(&c->rng_byz, 1000);
	nd->byz.flood_view++;
	synod_sha256(k.digest, payload, sizeof payload);
	byz_emit(c, nd, PBFT_TO_ALL, &k, payload, sizeof payload, true);
}

/* A NEW-VIEW for the next view it leads, backed by nothing but its own
 * empty VIEW-CHANGE, re-proposing made-up batches above its stable
 * checkpoint: only a replica that skips the V/O checks accepts it. */
static void byz_forge_new_view(struct sim_cluster *c, struct sim_node *nd)
{
	struct pbft_status st;
	pbft_status_get(nd->p, &st);
	uint64_t w = st.view + 1;
	while (w % c->n != nd->index) {
		w++;
	}
	uint8_t vc_payload[8] = {0}; /* ncp 0 | np 0 */
	struct pbft_core vc = {.type = PBFT_MSG_VIEW_CHANGE,
	                       .sender = (uint16_t)nd->index,
	                       .view = w,
	                       .seq = st.low_watermark};
	synod_sha256(vc.digest, vc_payload, sizeof vc_payload);
	sim_crypto_sign_core(&c->crypto, nd->index, &vc);
	struct synod_wbuf out;
	uint8_t core[PBFT_CORE_BYTES];
	synod_wbuf_init(&out, c->scratch2, SIM_MSG_BYTES_MAX);
	synod_wbuf_u32(&out, 1);
	pbft_core_encode(&vc, core);
	synod_wbuf_bytes(&out, core, sizeof core);
	synod_wbuf_blob(&out, vc_payload, sizeof vc_payload);
	uint32_t count = 1u + (uint32_t)sim_rng_below(&c->rng_byz, c->o.window / 2u);
	synod_wbuf_u32(&out, count);
	for (uint32_t k = 1; k <= count; k++) {
		uint8_t batch[64];
		struct pbft_batch_writer bw;
		char fake[32];
		int n = snprintf(fake, sizeof fake, "nv-%016" PRIx64, sim_rng_next(&c->rng_byz));
		pbft_batch_writer_init(&bw, batch, sizeof batch);
		SYNOD_ASSERT(n > 0 &&
		             pbft_batch_writer_add(&bw, (const uint8_t *)fake, (uint32_t)n) == 0);
		size_t blen = pbft_batch_writer_finish(&bw);
		struct pbft_core pp = {.type = PBFT_MSG_PRE_PREPARE,
		                       .sender = (uint16_t)nd->index,
		                       .view = w,
		                       .seq = st.low_watermark + k};
		pbft_batch_digest(pp.digest, batch, blen);
		sim_crypto_sign_core(&c->crypto, nd->index, &pp);
		pbft_core_encode(&pp, core);
		synod_wbuf_bytes(&out, core, sizeof core);
		synod_wbuf_blob(&out, batch, blen);
	}
	if (out.err != 0) {
		return;
	}
	struct pbft_core nv = {.type = PBFT_MSG_NEW_VIEW, .sender = (uint16_t)nd->index, .view = w};
	synod_sha256(nv.digest, out.buf, out.len);
	byz_emit(c, nd, PBFT_TO_ALL, &nv, out.buf, (uint32_t)out.len, true);
}

static void byz_replay(struct sim_cluster *c, struct sim_node *nd)
{
	struct sim_byz *b = &nd->byz;
	if (b->captured_count == 0) {
		return;
	}
	struct sim_buf *m = b->captured[sim_rng_below(&c->rng_byz, b->captured_count)];
	c->stats.byz_injected++;
	sim_send(c, nd->index, byz_other(c, nd->index), m->bytes, m->len);
}

/* SIM_BYZ_CENSOR_ONE as primary: an entry of its own every 50 ms, so that
 * something executes all the time while the censored entries wait. */
static void byz_filler(struct sim_cluster *c, struct sim_node *nd)
{
	struct pbft_status st;
	pbft_status_get(nd->p, &st);
	if (st.primary != nd->index || st.in_view_change || c->now_ms < nd->byz.filler_ms) {
		return;
	}
	nd->byz.filler_ms = c->now_ms + 50u;
	char fill[48];
	int n = snprintf(fill, sizeof fill, "byz-fill-%u-%" PRIu64, nd->index, nd->byz.fillers++);
	SYNOD_ASSERT(n > 0 && (size_t)n < sizeof fill);
	struct pbft_event ev = {.type = PBFT_EV_SUBMIT, .now_ms = sim_node_time(c, nd)};
	ev.submit.entry = (const uint8_t *)fill;
	ev.submit.len = (size_t)n;
	c->stats.byz_injected++;
	sim_node_step(c, nd, &ev);
}

void sim_byz_tick(struct sim_cluster *c, struct sim_node *nd)
{
	if (byz_has(nd, SIM_BYZ_SILENT)) {
		return;
	}
	if (byz_has(nd, SIM_BYZ_CENSOR_ONE)) {
		byz_filler(c, nd);
		if (!nd->up || c->stopped) {
			return; /* the step may have crashed it (crash faults) */
		}
	}
	if (byz_hit(c, nd, SIM_BYZ_FLOOD_VIEWS) && sim_rng_ppm(&c->rng_byz, 200000)) {
		byz_flood(c, nd);
	}
	if (byz_hit(c, nd, SIM_BYZ_REPLAY)) {
		byz_replay(c, nd);
	}
	if (byz_hit(c, nd, SIM_BYZ_FORGE_NEW_VIEW) && sim_rng_ppm(&c->rng_byz, 20000)) {
		byz_forge_new_view(c, nd);
	}
	if (byz_hit(c, nd, SIM_BYZ_BACKUP_PROPOSE) && sim_rng_ppm(&c->rng_byz, 50000)) {
		sim_forge_backup_propose(c, nd);
	}
}

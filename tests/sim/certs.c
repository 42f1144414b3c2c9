/* The checker's certificate oracles: what an honest replica holds or sends
 * as proof must be proof. A validation bug in a core (a guard removed) lets
 * a forged checkpoint proof, prepared or commit certificate in; these
 * checks see it the moment the replica relies on it, whether or not the
 * lie goes on to break agreement:
 *
 * - its stable checkpoint: 2f+1 valid CHECKPOINTs for (h, one digest), and
 *   every honest replica's proof at h names the same digest;
 * - the VIEW-CHANGEs it sends: C proves h, every P element is a valid
 *   prepared certificate (the primary's signed PRE-PREPARE of a view below
 *   the new one, the batch it names, 2f matching PREPAREs from distinct
 *   backups) or a valid commit certificate;
 * - the NEW-VIEWs it sends or relays: 2f+1 VIEW-CHANGEs in V from distinct
 *   replicas, each signed and valid as above, and every PRE-PREPARE in O
 *   signed by the new primary;
 * - the STATEs it sends: the checkpoint proof and each batch's commit
 *   certificate;
 * - provenance: every batch an honest replica executes is the null batch
 *   or was sent in a PRE-PREPARE signed by the primary of its view (a
 *   NEW-VIEW only re-proposes: its O adds nothing).
 *
 * The checks are written here from the paper's rules, independently of the
 * core's validation code (pbft_cert_verify included), so that a bug there
 * is not also the checker's. */
#include "tests/sim/sim.h"

#include "common/assert.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CERTS_PROPOSED_INITIAL (1u << 12)
#define CERTS_PROPOSED_MAX     (1u << 22)

static bool certs_core_signed(struct sim_cluster *c, const struct pbft_core *k)
{
	uint8_t sb[PBFT_CORE_SIGNED_BYTES];
	if (k->sender >= c->n) {
		return false;
	}
	pbft_core_signed_bytes(k, sb);
	return c->checker_crypto.verify(c->checker_crypto.ctx, k->sig, sb, sizeof sb,
	                                c->crypto.pk[k->sender]) == 0;
}

/* A quorum certificate: at least 2f+1 cores of type for (seq, digest), from
 * distinct replicas, each signed by its sender, all of one view for
 * COMMITs. NULL when it is one, else why not. Written here rather than
 * borrowed from the core (pbft_cert_verify), so that a bug there is not
 * also the checker's. */
const char *sim_certs_quorum_bad(struct sim_cluster *c, uint8_t type, uint64_t seq,
                                 const uint8_t digest[32], const uint8_t *cores, uint32_t count)
{
	bool seen[SIM_NODES_MAX] = {false};
	uint32_t valid = 0;
	uint64_t view = 0;
	if (count > c->n) {
		return "more cores than replicas";
	}
	for (uint32_t i = 0; i < count; i++) {
		struct pbft_core k;
		if (pbft_core_decode(&k, cores + (size_t)i * PBFT_CORE_BYTES) != 0 ||
		    k.type != type || k.seq != seq || memcmp(k.digest, digest, 32) != 0) {
			return "a core of another type, sequence number or digest";
		}
		if (k.sender >= c->n || seen[k.sender] || !certs_core_signed(c, &k)) {
			return "a core from an unknown or repeated sender, or badly signed";
		}
		if (type == PBFT_MSG_COMMIT && i > 0 && k.view != view) {
			return "COMMITs from more than one view";
		}
		view = k.view;
		seen[k.sender] = true;
		valid++;
	}
	return valid >= 2 * c->f + 1 ? NULL : "fewer than 2f+1 cores";
}

/* A P element (kind 1): NULL when valid, else why not. */
static const char *certs_prepared_bad(struct sim_cluster *c, const struct pbft_prepared_cert *pc,
                                      uint64_t view)
{
	const struct pbft_core *pp = &pc->pre_prepare;
	uint8_t d[32];
	if (pp->type != PBFT_MSG_PRE_PREPARE || pp->view >= view || pp->sender != pp->view % c->n ||
	    !certs_core_signed(c, pp)) {
		return "its PRE-PREPARE is not the signed proposal of a primary of an older view";
	}
	pbft_batch_digest(d, pc->batch, pc->batch_len);
	if (memcmp(d, pp->digest, 32) != 0) {
		return "its batch is not the one the PRE-PREPARE names";
	}
	bool seen[SIM_NODES_MAX] = {false};
	uint32_t valid = 0;
	for (uint32_t i = 0; i < pc->prepare_count; i++) {
		struct pbft_core k;
		if (pbft_core_decode(&k, pc->prepares + (size_t)i * PBFT_CORE_BYTES) != 0 ||
		    k.type != PBFT_MSG_PREPARE || k.view != pp->view || k.seq != pp->seq ||
		    memcmp(k.digest, pp->digest, 32) != 0 || k.sender >= c->n ||
		    k.sender == pp->sender || !certs_core_signed(c, &k)) {
			return "a PREPARE is forged, from the primary, or for something else";
		}
		if (!seen[k.sender]) {
			seen[k.sender] = true;
			valid++;
		}
	}
	return valid >= 2 * c->f ? NULL : "it has fewer than 2f PREPAREs from distinct backups";
}

/* A VIEW-CHANGE payload for view with h = seq: NULL when valid. */
static const char *certs_view_change_bad(struct sim_cluster *c, uint64_t view, uint64_t seq,
                                         const uint8_t *payload, uint32_t len, char *why,
                                         size_t why_len)
{
	struct pbft_view_change vc;
	struct pbft_prepared_cert pc;
	struct pbft_core first;
	if (pbft_view_change_parse(&vc, payload, len, &c->lim) != 0) {
		return "its payload does not parse";
	}
	const char *bad = NULL;
	if (seq > 0) {
		bad = vc.checkpoint_count == 0 || pbft_core_decode(&first, vc.checkpoints) != 0
		          ? "missing"
		          : sim_certs_quorum_bad(c, PBFT_MSG_CHECKPOINT, seq, first.digest,
		                                 vc.checkpoints, vc.checkpoint_count);
	}
	if (bad != NULL) {
		snprintf(why, why_len, "its checkpoint proof for h=%" PRIu64 ": %s", seq, bad);
		return why;
	}
	while (pbft_view_change_next(&vc, &pc) == 1) {
		if (pc.kind == PBFT_CERT_COMMITTED) {
			bad = pc.pre_prepare.view >= view
			          ? "a commit certificate from the new view"
			          : sim_certs_quorum_bad(c, PBFT_MSG_COMMIT, pc.pre_prepare.seq,
			                                 pc.pre_prepare.digest, pc.prepares,
			                                 pc.prepare_count);
		} else {
			bad = certs_prepared_bad(c, &pc, view);
		}
		if (bad != NULL) {
			snprintf(why, why_len, "its prepared certificate for seq %" PRIu64 ": %s",
			         pc.pre_prepare.seq, bad);
			return why;
		}
	}
	return NULL;
}

static void certs_new_view(struct sim_cluster *c, uint32_t node, const struct pbft_msg *m)
{
	struct pbft_new_view nv;
	struct pbft_new_view_vc e;
	struct pbft_new_view_pp pp;
	char why[SIM_WHAT_BYTES];
	bool seen[SIM_NODES_MAX] = {false};
	uint32_t count = 0;
	const char *bad = NULL;
	if (pbft_new_view_parse(&nv, m->payload, m->payload_len, &c->lim) != 0) {
		return; /* check.c reports what an honest replica sends unparsable */
	}
	while (bad == NULL && pbft_new_view_next_vc(&nv, &e) == 1) {
		if (e.core.sender >= c->n || seen[e.core.sender] || e.core.view != m->core.view ||
		    !certs_core_signed(c, &e.core)) {
			bad = "a VIEW-CHANGE in V is forged, repeated or for another view";
			break;
		}
		seen[e.core.sender] = true;
		count++;
		bad = certs_view_change_bad(c, e.core.view, e.core.seq, e.payload, e.payload_len,
		                            why, sizeof why);
	}
	if (bad == NULL && count < 2 * c->f + 1) {
		bad = "V holds fewer than 2f+1 VIEW-CHANGEs";
	}
	while (bad == NULL && pbft_new_view_next_pp(&nv, &pp) == 1) {
		if (pp.core.view != m->core.view || pp.core.sender != m->core.view % c->n ||
		    !certs_core_signed(c, &pp.core)) {
			bad = "a PRE-PREPARE in O is not the new primary's";
		}
	}
	if (bad != NULL) {
		sim_violation(c, node,
		              "honest n%u sent a NEW-VIEW for view %" PRIu64
		              " that is not proof: %s",
		              node, m->core.view, bad);
	}
}

static void certs_state(struct sim_cluster *c, uint32_t node, const struct pbft_msg *m)
{
	struct pbft_state st;
	struct pbft_committed_batch b;
	struct pbft_core first;
	const char *bad = NULL;
	if (pbft_state_parse(&st, m->payload, m->payload_len, &c->lim) != 0) {
		sim_violation(c, node, "honest n%u sent a STATE that does not parse", node);
		return;
	}
	if (st.checkpoint_count > 0) {
		bad = pbft_core_decode(&first, st.checkpoints) != 0
		          ? "malformed"
		          : sim_certs_quorum_bad(c, PBFT_MSG_CHECKPOINT, m->core.seq, first.digest,
		                                 st.checkpoints, st.checkpoint_count);
	}
	if (bad != NULL) {
		sim_violation(c, node, "honest n%u sent a STATE whose checkpoint proof fails: %s",
		              node, bad);
		return;
	}
	while (pbft_state_next(&st, &b) == 1) {
		uint8_t d[32];
		pbft_batch_digest(d, b.batch, b.batch_len);
		bad = sim_certs_quorum_bad(c, PBFT_MSG_COMMIT, b.seq, d, b.commits, b.commit_count);
		if (bad != NULL) {
			sim_violation(c, node,
			              "honest n%u sent a STATE whose batch at seq %" PRIu64
			              " is not certified: %s",
			              node, b.seq, bad);
			return;
		}
	}
}

void sim_certs_send(struct sim_cluster *c, uint32_t node, const uint8_t *bytes, size_t len)
{
	struct pbft_msg m;
	char why[SIM_WHAT_BYTES];
	if (len < 2 || (bytes[1] != PBFT_MSG_VIEW_CHANGE && bytes[1] != PBFT_MSG_NEW_VIEW &&
	                bytes[1] != PBFT_MSG_STATE)) {
		return;
	}
	if (pbft_msg_decode(&m, bytes, len, &c->lim) != 0) {
		return; /* check.c reports what an honest replica sends malformed */
	}
	if (m.core.type == PBFT_MSG_NEW_VIEW) {
		certs_new_view(c, node, &m);
		return;
	}
	if (m.core.sender != node) {
		return;
	}
	if (m.core.type == PBFT_MSG_STATE) {
		certs_state(c, node, &m);
		return;
	}
	const char *bad = certs_view_change_bad(c, m.core.view, m.core.seq, m.payload,
	                                        m.payload_len, why, sizeof why);
	if (bad != NULL) {
		sim_violation(c, node,
		              "honest n%u sent a VIEW-CHANGE for view %" PRIu64
		              " that is not proof: %s",
		              node, m.core.view, bad);
	}
}

/* ---- stable checkpoints ---- */

void sim_certs_stable(struct sim_cluster *c, struct sim_node *nd)
{
	uint64_t seq = 0;
	uint32_t count = 0;
	uint8_t cores[SIM_NODES_MAX * PBFT_CORE_BYTES];
	struct pbft_core first;
	if (pbft_stable_checkpoint_get(nd->p, &seq, cores, SIM_NODES_MAX, &count) != 0 ||
	    seq == nd->stable_checked || seq == 0) {
		return;
	}
	nd->stable_checked = seq;
	const char *bad =
	    count == 0 || pbft_core_decode(&first, cores) != 0
	        ? "no proof"
	        : sim_certs_quorum_bad(c, PBFT_MSG_CHECKPOINT, seq, first.digest, cores, count);
	if (bad != NULL) {
		sim_violation(c, nd->index,
		              "stable checkpoint at seq %" PRIu64 " is not proven: %s", seq, bad);
		return;
	}
	struct sim_seqinfo *si = seq < c->check.seqs_cap ? &c->check.seqs[seq] : NULL;
	if (si == NULL) {
		return; /* check.c grows the table on execution; nothing executed here yet */
	}
	if (!si->ckpt_set) {
		memcpy(si->ckpt, first.digest, 32);
		si->ckpt_set = true;
		si->ckpt_node = (uint8_t)nd->index;
	} else if (memcmp(si->ckpt, first.digest, 32) != 0) {
		sim_violation(c, nd->index,
		              "agreement: stable checkpoint at seq %" PRIu64
		              " has another digest than at n%u",
		              seq, si->ckpt_node);
	}
}

/* ---- provenance: proposals by primaries ---- */

static uint64_t certs_d64(const uint8_t d[32])
{
	uint64_t x = 0;
	memcpy(&x, d, 8);
	return x | 1u; /* 0 marks an empty slot */
}

static bool certs_proposed_grow(struct sim_check *k)
{
	uint64_t cap = k->proposed_cap == 0 ? CERTS_PROPOSED_INITIAL : 2 * k->proposed_cap;
	if (cap > CERTS_PROPOSED_MAX) {
		return false;
	}
	uint64_t *tab = calloc(cap, sizeof *tab);
	SYNOD_ASSERT(tab != NULL);
	for (uint64_t i = 0; i < k->proposed_cap; i++) {
		uint64_t x = k->proposed[i];
		if (x != 0) {
			uint64_t j = (x * 0x9e3779b97f4a7c15ull) & (cap - 1);
			while (tab[j] != 0) {
				j = (j + 1) & (cap - 1);
			}
			tab[j] = x;
		}
	}
	free(k->proposed);
	k->proposed = tab;
	k->proposed_cap = cap;
	return true;
}

/* The slot for x: holding x, or empty. */
static uint64_t *certs_proposed_slot(struct sim_check *k, uint64_t x)
{
	uint64_t j = (x * 0x9e3779b97f4a7c15ull) & (k->proposed_cap - 1);
	while (k->proposed[j] != 0 && k->proposed[j] != x) {
		j = (j + 1) & (k->proposed_cap - 1);
	}
	return &k->proposed[j];
}

/* Any replica's message on the wire: a PRE-PREPARE signed by the primary of
 * its view is a proposal. */
void sim_certs_wire(struct sim_cluster *c, uint32_t from, const uint8_t *bytes, size_t len)
{
	struct sim_check *k = &c->check;
	struct pbft_core core;
	if (len < PBFT_CORE_BYTES || bytes[1] != PBFT_MSG_PRE_PREPARE ||
	    pbft_core_decode(&core, bytes) != 0 || core.sender != from ||
	    core.sender != core.view % c->n || !certs_core_signed(c, &core)) {
		return;
	}
	if (2 * (k->proposed_count + 1) > k->proposed_cap && !certs_proposed_grow(k)) {
		k->proposed_full = true; /* bound reached: stop judging provenance */
		return;
	}
	uint64_t *slot = certs_proposed_slot(k, certs_d64(core.digest));
	if (*slot == 0) {
		*slot = certs_d64(core.digest);
		k->proposed_count++;
	}
}

void sim_certs_executed(struct sim_cluster *c, uint32_t node, uint64_t seq,
                        const uint8_t digest[32])
{
	static const uint8_t null_batch[4] = {0, 0, 0, 0};
	struct sim_check *k = &c->check;
	uint8_t null_digest[32];
	if (k->proposed_full || !c->o.checks) {
		return;
	}
	pbft_batch_digest(null_digest, null_batch, sizeof null_batch);
	if (memcmp(digest, null_digest, 32) == 0) {
		return;
	}
	if (k->proposed_cap == 0 || *certs_proposed_slot(k, certs_d64(digest)) == 0) {
		sim_violation(c, node,
		              "provenance: executed at seq %" PRIu64
		              " a batch no primary proposed in a PRE-PREPARE",
		              seq);
	}
}

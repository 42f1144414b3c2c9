/* The invariant checker, called from the replicas' hooks after every step.
 *
 * - agreement: one batch digest and one state digest per sequence number
 *   across honest replicas (the first honest executor sets them);
 * - total order: app.execute gets seq = previous + 1 (app.c);
 * - committed batches: digest = SHA-256(batch), a certificate that
 *   pbft_cert_verify accepts, increasing seqs, the agreed digest;
 * - honest replicas never sign two PRE-PREPAREs, PREPAREs, COMMITs or
 *   CHECKPOINTs for one (view, seq) with different digests (NEW-VIEW
 *   re-proposals included), no PRE-PREPARE, PREPARE or COMMIT of a view
 *   below one they sent a message in, and send only well-formed messages;
 * - certificates and provenance: certs.c;
 * - views never decrease within a life; after a restart the view is at least
 *   the highest view it signed a message in, and the executed prefix at least
 *   what was durable at the crash. */
#include "tests/sim/sim.h"

#include "common/assert.h"
#include "common/hash.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_SEQS_INITIAL    4096u
#define CHECK_SIGNED_INITIAL  (1u << 14)
#define CHECK_ORDERED_INITIAL (1u << 12)
#define CHECK_EMPTY           0xffu

int sim_check_init(struct sim_check *k)
{
	memset(k, 0, sizeof *k);
	k->seqs = calloc(CHECK_SEQS_INITIAL, sizeof *k->seqs);
	k->signed_tab = malloc(CHECK_SIGNED_INITIAL * sizeof *k->signed_tab);
	k->ordered_tab = calloc(CHECK_ORDERED_INITIAL, sizeof *k->ordered_tab);
	if (k->seqs == NULL || k->signed_tab == NULL || k->ordered_tab == NULL) {
		return SYNOD_ENOMEM;
	}
	k->ordered_cap = CHECK_ORDERED_INITIAL;
	k->seqs_cap = CHECK_SEQS_INITIAL;
	k->signed_cap = CHECK_SIGNED_INITIAL;
	memset(k->signed_tab, CHECK_EMPTY, CHECK_SIGNED_INITIAL * sizeof *k->signed_tab);
	return 0;
}

void sim_check_close(struct sim_check *k)
{
	free(k->seqs);
	free(k->signed_tab);
	free(k->ordered_tab);
	free(k->proposed);
	k->proposed = NULL;
	k->seqs = NULL;
	k->signed_tab = NULL;
	k->ordered_tab = NULL;
}

static void check_hex8(char out[17], const uint8_t d[32])
{
	static const char hex[] = "0123456789abcdef";
	for (uint32_t i = 0; i < 8; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15u];
	}
	out[16] = '\0';
}

/* The seq's slot, growing the table; NULL (and a violation) past the bound. */
static struct sim_seqinfo *check_seq(struct sim_cluster *c, uint32_t node, uint64_t seq)
{
	struct sim_check *k = &c->check;
	if (seq >= SIM_SEQS_MAX) {
		sim_violation(c, node, "seq %" PRIu64 " beyond the simulator's bound", seq);
		return NULL;
	}
	if (seq >= k->seqs_cap) {
		uint64_t cap = k->seqs_cap;
		while (cap <= seq) {
			cap *= 2;
		}
		struct sim_seqinfo *s = realloc(k->seqs, cap * sizeof *s);
		SYNOD_ASSERT(s != NULL);
		memset(s + k->seqs_cap, 0, (cap - k->seqs_cap) * sizeof *s);
		k->seqs = s;
		k->seqs_cap = cap;
	}
	return &k->seqs[seq];
}

static struct sim_ordered *check_ordered_slot(struct sim_ordered *tab, uint64_t cap, uint64_t key)
{
	uint64_t i = key & (cap - 1u);
	while (tab[i].key != 0 && tab[i].key != key) {
		i = (i + 1u) & (cap - 1u);
	}
	return &tab[i];
}

/* Doubles the table (open addressing, at most half full). */
static void check_ordered_grow(struct sim_check *k)
{
	uint64_t cap = 2u * k->ordered_cap;
	struct sim_ordered *tab = calloc(cap, sizeof *tab);
	SYNOD_ASSERT(tab != NULL);
	for (uint64_t i = 0; i < k->ordered_cap; i++) {
		if (k->ordered_tab[i].key != 0) {
			*check_ordered_slot(tab, cap, k->ordered_tab[i].key) = k->ordered_tab[i];
		}
	}
	free(k->ordered_tab);
	k->ordered_tab = tab;
	k->ordered_cap = cap;
}

/* An entry that is not a client's: ordered before at another seq? */
static void check_foreign(struct sim_cluster *c, uint64_t seq, const uint8_t *entry, uint32_t len)
{
	struct sim_check *k = &c->check;
	uint8_t d[32];
	synod_sha256(d, entry, len);
	uint64_t key = 0;
	for (uint32_t i = 0; i < 8; i++) {
		key = key << 8 | d[i];
	}
	key |= 1u; /* 0 marks an empty slot */
	if (2u * (k->ordered_count + 1u) > k->ordered_cap) {
		check_ordered_grow(k);
	}
	struct sim_ordered *o = check_ordered_slot(k->ordered_tab, k->ordered_cap, key);
	if (o->key == 0) {
		o->key = key;
		o->seq = seq;
		k->ordered_count++;
	} else if (o->seq != seq) {
		c->stats.dup_executions++;
	}
}

/* The first honest execution of seq: who submitted what it orders. */
static void check_entries(struct sim_cluster *c, uint64_t seq, const uint8_t *batch, size_t len)
{
	struct pbft_batch_iter it;
	if (pbft_batch_iter_init(&it, batch, len, &c->lim) != 0) {
		sim_violation(c, 0, "seq %" PRIu64 ": executed batch is malformed", seq);
		return;
	}
	const uint8_t *entry;
	uint32_t entry_len;
	while (pbft_batch_iter_next(&it, &entry, &entry_len) == 1) {
		int32_t id = sim_entry_id(c, entry, entry_len);
		if (id < 0) {
			c->stats.foreign_entries++;
			check_foreign(c, seq, entry, entry_len);
			continue;
		}
		struct sim_entry *e = &c->clients.e[id];
		if (e->seq == 0) {
			e->seq = seq;
			c->clients.unordered--;
			if (seq > c->clients.seq_max) {
				c->clients.seq_max = seq;
			}
		} else if (e->seq != seq) {
			c->stats.dup_executions++;
			sim_trace(c, "duplicate: entry %d ordered at seq %" PRIu64 " and %" PRIu64,
			          id, e->seq, seq);
		}
	}
}

static void check_state_agree(struct sim_cluster *c, uint32_t node, uint64_t seq,
                              struct sim_seqinfo *si, const char *how)
{
	uint8_t state[32];
	sim_app_state_digest(&c->nodes[node].app, state);
	if (!si->state_set) {
		memcpy(si->state, state, 32);
		si->state_set = true;
		si->state_node = (uint8_t)node;
		return;
	}
	if (c->o.checks && memcmp(si->state, state, 32) != 0) {
		char a[17], b[17];
		check_hex8(a, si->state);
		check_hex8(b, state);
		sim_violation(c, node,
		              "agreement: state digest after seq %" PRIu64 " is %s at n%u but %s "
		              "at n%u (%s)",
		              seq, a, si->state_node, b, node, how);
	}
}

void sim_check_execute(struct sim_cluster *c, uint32_t node, uint64_t seq, const uint8_t digest[32],
                       const uint8_t *batch, size_t len)
{
	if (!sim_honest(c, node)) {
		return;
	}
	struct sim_seqinfo *si = check_seq(c, node, seq);
	if (si == NULL) {
		return;
	}
	if (!si->digest_set) {
		memcpy(si->digest, digest, 32);
		si->digest_set = true;
		si->digest_node = (uint8_t)node;
		check_entries(c, seq, batch, len);
		sim_certs_executed(c, node, seq, digest);
	} else if (c->o.checks && memcmp(si->digest, digest, 32) != 0) {
		char a[17], b[17];
		check_hex8(a, si->digest);
		check_hex8(b, digest);
		sim_violation(c, node,
		              "agreement: seq %" PRIu64 " executed batch %s at n%u but %s at n%u",
		              seq, a, si->digest_node, b, node);
		return;
	}
	if (seq > c->check.seq_max) {
		c->check.seq_max = seq;
	}
	check_state_agree(c, node, seq, si, "execute");
}

void sim_check_restore(struct sim_cluster *c, uint32_t node, uint64_t seq)
{
	if (!sim_honest(c, node)) {
		return;
	}
	struct sim_seqinfo *si = check_seq(c, node, seq);
	if (si != NULL) {
		check_state_agree(c, node, seq, si, "snapshot restore");
	}
}

/* ---- committed batches and their certificates ---- */

static void check_committed(struct sim_cluster *c, struct sim_node *nd,
                            const struct pbft_committed *cm, uint64_t prev_seq)
{
	uint8_t d[32];
	if (prev_seq != 0 && cm->seq <= prev_seq) {
		sim_violation(c, nd->index,
		              "committed seq %" PRIu64 " after seq %" PRIu64 " in one update",
		              cm->seq, prev_seq);
		return;
	}
	pbft_batch_digest(d, cm->batch, cm->batch_len);
	if (memcmp(d, cm->digest, 32) != 0) {
		sim_violation(c, nd->index,
		              "committed seq %" PRIu64 ": digest is not "
		              "pbft_batch_digest of the batch",
		              cm->seq);
		return;
	}
	/* certs.c's own check: a bug in pbft_cert_verify is not the checker's */
	const char *bad =
	    sim_certs_quorum_bad(c, PBFT_MSG_COMMIT, cm->seq, cm->digest, cm->cert, cm->cert_count);
	if (bad != NULL) {
		sim_violation(c, nd->index,
		              "committed seq %" PRIu64 ": certificate of %u COMMITs "
		              "rejected: %s",
		              cm->seq, cm->cert_count, bad);
		return;
	}
	const struct sim_seqinfo *si = cm->seq < c->check.seqs_cap ? &c->check.seqs[cm->seq] : NULL;
	if (si != NULL && si->digest_set && memcmp(si->digest, cm->digest, 32) != 0) {
		sim_violation(c, nd->index,
		              "agreement: committed seq %" PRIu64 " with a digest "
		              "other than the one executed there",
		              cm->seq);
	}
}

/* ---- what honest replicas sign ---- */

static uint64_t check_key_hash(uint8_t node, uint8_t type, uint64_t view, uint64_t seq)
{
	uint64_t x = view * 0x9e3779b97f4a7c15ull ^ seq * 0xc2b2ae3d27d4eb4full ^
	             ((uint64_t)node << 56) ^ ((uint64_t)type << 48);
	return sim_splitmix64(&x);
}

static struct sim_signed *check_slot(struct sim_signed *tab, uint64_t cap, uint8_t node,
                                     uint8_t type, uint64_t view, uint64_t seq)
{
	uint64_t i = check_key_hash(node, type, view, seq) & (cap - 1);
	for (uint64_t probe = 0; probe < cap; probe++) {
		struct sim_signed *s = &tab[(i + probe) & (cap - 1)];
		if (s->node == CHECK_EMPTY ||
		    (s->node == node && s->type == type && s->view == view && s->seq == seq)) {
			return s;
		}
	}
	return NULL;
}

static bool check_signed_grow(struct sim_check *k)
{
	uint64_t cap = 2 * k->signed_cap;
	if (cap > SIM_SIGNED_MAX) {
		return false;
	}
	struct sim_signed *tab = malloc(cap * sizeof *tab);
	SYNOD_ASSERT(tab != NULL);
	memset(tab, CHECK_EMPTY, cap * sizeof *tab);
	for (uint64_t i = 0; i < k->signed_cap; i++) {
		const struct sim_signed *s = &k->signed_tab[i];
		if (s->node != CHECK_EMPTY) {
			*check_slot(tab, cap, s->node, s->type, s->view, s->seq) = *s;
		}
	}
	free(k->signed_tab);
	k->signed_tab = tab;
	k->signed_cap = cap;
	return true;
}

static uint64_t check_digest64(const uint8_t d[32])
{
	uint64_t x = 0;
	for (uint32_t i = 0; i < 8; i++) {
		x = x << 8 | d[i];
	}
	return x;
}

static void check_signed(struct sim_cluster *c, uint32_t node, const struct pbft_core *core)
{
	struct sim_check *k = &c->check;
	uint64_t view = core->type == PBFT_MSG_CHECKPOINT ? 0 : core->view;
	if (2 * (k->signed_count + 1) > k->signed_cap && !check_signed_grow(k)) {
		return; /* bound reached: stop remembering, keep running */
	}
	struct sim_signed *s =
	    check_slot(k->signed_tab, k->signed_cap, (uint8_t)node, core->type, view, core->seq);
	SYNOD_ASSERT(s != NULL);
	uint64_t d64 = check_digest64(core->digest);
	if (s->node == CHECK_EMPTY) {
		*s = (struct sim_signed){.view = view,
		                         .seq = core->seq,
		                         .digest64 = d64,
		                         .node = (uint8_t)node,
		                         .type = core->type};
		k->signed_count++;
		return;
	}
	if (s->digest64 != d64) {
		sim_violation(c, node,
		              "honest n%u signed two %s for view %" PRIu64 " seq %" PRIu64
		              " with different digests",
		              node, pbft_msg_type_name(core->type), view, core->seq);
	}
}

/* node signed this (type, view, seq) before (any digest: check_signed
 * reports a second digest). */
static bool check_signed_before(struct sim_cluster *c, uint32_t node, const struct pbft_core *core)
{
	struct sim_check *k = &c->check;
	if (2 * (k->signed_count + 1) > k->signed_cap && 2 * k->signed_cap > SIM_SIGNED_MAX) {
		return true; /* the table stopped remembering: assume so */
	}
	const struct sim_signed *s = check_slot(k->signed_tab, k->signed_cap, (uint8_t)node,
	                                        core->type, core->view, core->seq);
	return s != NULL && s->node != CHECK_EMPTY;
}

static void check_new_view(struct sim_cluster *c, uint32_t node, const struct pbft_msg *m)
{
	struct pbft_new_view nv;
	struct pbft_new_view_pp pp;
	if (pbft_new_view_parse(&nv, m->payload, m->payload_len, &c->lim) != 0) {
		sim_violation(c, node, "honest n%u sent a NEW-VIEW whose payload does not parse",
		              node);
		return;
	}
	while (!c->stopped && pbft_new_view_next_pp(&nv, &pp) == 1) {
		if (pp.core.sender == node) {
			check_signed(c, node, &pp.core);
		}
	}
}

/* Decodes what an honest replica sends: the core, and the whole envelope
 * (which hashes the payload) only for NEW-VIEW, whose re-proposals are
 * checked. */
static int check_send_decode(struct sim_cluster *c, const struct pbft_send *s, struct pbft_msg *m)
{
	if (s->len < PBFT_CORE_BYTES + 4u) {
		return SYNOD_ETRUNC;
	}
	if (s->bytes[1] == PBFT_MSG_NEW_VIEW) {
		return pbft_msg_decode(m, s->bytes, s->len, &c->lim);
	}
	int rc = pbft_core_decode(&m->core, s->bytes);
	const uint8_t *l = s->bytes + PBFT_CORE_BYTES;
	uint32_t payload_len =
	    (uint32_t)l[0] << 24 | (uint32_t)l[1] << 16 | (uint32_t)l[2] << 8 | l[3];
	if (rc == 0 && payload_len != s->len - PBFT_CORE_BYTES - 4u) {
		rc = SYNOD_EPROTO;
	}
	m->payload = s->bytes + PBFT_CORE_BYTES + 4u;
	m->payload_len = payload_len;
	return rc;
}

static void check_send(struct sim_cluster *c, struct sim_node *nd, const struct pbft_send *s)
{
	struct pbft_msg m;
	int rc = check_send_decode(c, s, &m);
	if (rc != 0) {
		sim_violation(c, nd->index, "honest n%u sent a %s its codec rejects: %s", nd->index,
		              s->len > 1 ? pbft_msg_type_name(s->bytes[1]) : "?",
		              synod_strerror(rc));
		return;
	}
	if (m.core.sender != nd->index) {
		return; /* relaying a message another replica signed */
	}
	bool normal_case = m.core.type == PBFT_MSG_PRE_PREPARE || m.core.type == PBFT_MSG_PREPARE ||
	                   m.core.type == PBFT_MSG_COMMIT;
	if (normal_case && m.core.view < nd->view_sent &&
	    !check_signed_before(c, nd->index, &m.core)) {
		/* Section 4.4: once it has spoken in a view (a VIEW-CHANGE for it
		 * included), a replica signs nothing new in the normal case of
		 * older ones (resending what it signed then is no new statement). */
		sim_violation(
		    c, nd->index,
		    "honest n%u signed a %s of view %" PRIu64 " after a message of view %" PRIu64,
		    nd->index, pbft_msg_type_name(m.core.type), m.core.view, nd->view_sent);
		return;
	}
	switch (m.core.type) {
	case PBFT_MSG_PRE_PREPARE:
	case PBFT_MSG_PREPARE:
	case PBFT_MSG_COMMIT:
	case PBFT_MSG_CHECKPOINT:
		check_signed(c, nd->index, &m.core);
		break;
	case PBFT_MSG_NEW_VIEW:
		check_new_view(c, nd->index, &m);
		break;
	default:
		break;
	}
	if (m.core.type >= PBFT_MSG_PRE_PREPARE && m.core.type <= PBFT_MSG_NEW_VIEW &&
	    m.core.type != PBFT_MSG_CHECKPOINT && m.core.view > nd->view_sent) {
		nd->view_sent = m.core.view;
	}
}

void sim_check_committed(struct sim_cluster *c, struct sim_node *nd, const struct pbft_update *u)
{
	uint64_t prev = 0;
	for (uint32_t i = 0; i < u->committed_count && !c->stopped; i++) {
		check_committed(c, nd, &u->committed[i], prev);
		prev = u->committed[i].seq;
	}
}

void sim_check_sends(struct sim_cluster *c, struct sim_node *nd, const struct pbft_update *u)
{
	for (uint32_t i = 0; i < u->send_count && !c->stopped; i++) {
		check_send(c, nd, &u->sends[i]);
		if (!c->stopped) {
			sim_certs_send(c, nd->index, u->sends[i].bytes, u->sends[i].len);
		}
	}
}

void sim_check_status(struct sim_cluster *c, struct sim_node *nd, bool restarted)
{
	struct pbft_status st;
	if (!nd->up) {
		return;
	}
	pbft_status_get(nd->p, &st);
	if (st.view < nd->view_seen) {
		sim_violation(c, nd->index, "view went down from %" PRIu64 " to %" PRIu64,
		              nd->view_seen, st.view);
	}
	nd->view_seen = st.view;
	if (c->o.checks && sim_honest(c, nd->index)) {
		sim_certs_stable(c, nd);
	}
	if (st.last_executed != nd->app.seq) {
		sim_violation(c, nd->index,
		              "status.last_executed %" PRIu64
		              " but the app executed through %" PRIu64,
		              st.last_executed, nd->app.seq);
	}
	if (!restarted) {
		return;
	}
	if (st.view < nd->view_sent) {
		sim_violation(c, nd->index,
		              "restart: view %" PRIu64 " below view %" PRIu64
		              " it signed messages in before the crash",
		              st.view, nd->view_sent);
	}
	if (nd->app.seq < nd->exec_before_crash) {
		sim_violation(c, nd->index,
		              "restart: committed prefix lost: executed through seq %" PRIu64
		              " (durably) before the crash, %" PRIu64 " after recovery",
		              nd->exec_before_crash, nd->app.seq);
	}
}

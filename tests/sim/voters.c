/* Voters on top of the simulated coordinators (synod-sim --voters N).
 *
 * Every coordinator runs the real certification state machine (synod_app via
 * the sim_app wrapper in app.c) with one test cluster and policy from the
 * testkit. The PBFT cores sign under the testkit's replica keys with the
 * simulator's crypto table (fake by default, Ed25519 with --real-crypto), and
 * bundles check commit certificates through the same table
 * (synod_bundle_verify_with). Voters sign votes with Ed25519; the app checks
 * them through a cheap table of the signatures the simulator made, or by
 * Ed25519 with --real-crypto; bundles always check them with Ed25519.
 *
 * Drivers: the current primary SUBMITs a TICK (its own clock) every few
 * hundred ms; submitters SUBMIT requests to random coordinators and retry;
 * voters learn of a request only from a committed batch with a valid commit
 * certificate (as reported by an honest coordinator's update) and cast signed
 * votes with retries. Up to f seats are Byzantine: they equivocate, vote on
 * unknown requests, forge other seats, replay votes into other epochs and
 * from another cluster, vote late or never.
 *
 * Checks: one decision per request across honest coordinators (DECIDED
 * events, then the full tallies); tallies equal synod_app_recount over the
 * recorded certified log; no APPROVED without threshold eligible approvals;
 * every exclusion passes synod_exclusion_check and names a Byzantine seat;
 * sampled bundles verify and sampled tamperings of them fail; in the heal
 * phase every request is decided at every honest coordinator. */
#include "tests/sim/sim.h"

#include "common/assert.h"
#include "common/hash.h"
#include "common/sign.h"
#include "coordinator/app/app.h"
#include "coordinator/app/testkit.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define V_HEAL_REQUESTS_MIN 3u /* requests that must exist for the heal phase to pass */
#define V_REQUESTS_MAX      64u
#define V_SIGS_MAX          16384u /* signatures the fake vote crypto knows */
#define V_STEP_MS           10u
#define V_ENTRY_BYTES       1200u
#define V_RECOUNTS_MAX      24u /* requests recounted per seed */
#define V_BUNDLES_MAX       3u  /* bundles built and verified per seed */
#define V_TAMPERS_MAX       4u  /* tamperings tried per seed */
#define V_LOG_INITIAL       1024u
#define V_SNAP_SIM_BYTES    SIM_SNAPSHOT_BYTES

_Static_assert(SIM_VOTE_REASONS == SYNOD_VOTE_REASON_COUNT, "sim_stats.votes per reason");

enum v_seat_state { V_WAIT = 0, V_CAST = 1, V_DONE = 2 };

enum v_byz {
	VB_EQUIVOCATE = 1u << 0,
	VB_UNKNOWN = 1u << 1,
	VB_FORGE = 1u << 2,
	VB_EPOCH = 1u << 3,
	VB_CLUSTER = 1u << 4,
	VB_LATE = 1u << 5,
	VB_NEVER = 1u << 6,
};
#define VB_COUNT 7u

struct v_seat {
	uint64_t cast_ms;
	uint64_t retry_ms;
	uint8_t state;
	uint8_t *vote;
	size_t len;
};

struct v_req {
	uint8_t id[SYNOD_HASH_BYTES];
	uint8_t *entry;
	size_t len;
	uint64_t deadline_ms;
	uint64_t retry_ms;
	uint64_t seen_seq;
	int32_t submit_result; /* -1: not yet seen applied */
	bool epoch_known;
	uint64_t epoch;
	bool decided;
	bool first_set;
	enum synod_outcome first_outcome;
	uint32_t first_approvals;
	uint32_t first_rejections;
	struct synod_app_pos first_at;
	uint32_t first_node;
	uint32_t reject_ppm;
	struct v_seat seats[SYNOD_APP_SEATS_MAX];
};

struct v_batch {
	uint8_t *batch;
	size_t len;
	uint8_t *cert;
	uint32_t cert_count;
};

struct v_sig {
	bool used;
	uint8_t sig[SYNOD_SIG_BYTES];
	uint8_t msg_hash[SYNOD_HASH_BYTES];
	uint8_t pk[SYNOD_PUBKEY_BYTES];
};

struct v_node {
	struct sim_cluster *c;
	uint32_t node;
};

struct sim_voters {
	struct synod_testkit kit;
	struct synod_vote_crypto vote_crypto; /* verify NULL with --real-crypto */
	uint32_t seats;
	uint32_t byz[SYNOD_APP_SEATS_MAX]; /* behaviours; 0: honest */
	uint32_t byz_count;
	struct sim_rng rng;
	struct synod_app *apps[SIM_NODES_MAX];
	struct v_node nodes[SIM_NODES_MAX];
	uint64_t next_tick_ms[SIM_NODES_MAX];
	uint64_t next_ms;
	uint64_t next_request_ms;
	bool submitting;
	bool healing;
	struct v_req *reqs;
	uint32_t count;
	uint32_t nonce;
	struct v_batch *log;
	uint64_t log_cap;
	struct v_sig *sigs;
	uint32_t sigs_count;
	uint64_t ticks_submitted;
};

/* ---- policy and options ---- */

static void v_policy(struct synod_policy *p, uint32_t seats)
{
	synod_policy_defaults(p);
	p->seats = seats;
	p->threshold = synod_policy_threshold_min(seats);
	p->epoch_decisions = 3;
	p->epoch_log_time_ms = 0;
	p->exclusion_epochs = 2;
	p->requests_retained_max = 2u * V_REQUESTS_MAX;
}

void sim_voters_options(struct sim_options *o, uint32_t voters)
{
	o->voters = voters;
	o->batch_entries_max = 16;
	o->batch_bytes_max = 16u * (V_ENTRY_BYTES + 4u) + 4u;
}

uint32_t sim_voters_snapshot_max(const struct sim_options *o)
{
	struct synod_policy p;
	v_policy(&p, o->voters);
	size_t n = synod_app_snapshot_bytes_max(&p) + V_SNAP_SIM_BYTES;
	SYNOD_ASSERT(n <= PBFT_SNAPSHOT_BYTES_LIMIT);
	return (uint32_t)n;
}

/* ---- the fake vote crypto: the signatures the simulator made ---- */

static uint32_t v_sig_slot(const uint8_t sig[SYNOD_SIG_BYTES])
{
	uint32_t h = 0;
	memcpy(&h, sig, sizeof h);
	return h % V_SIGS_MAX;
}

static void v_sig_record(struct sim_voters *v, const uint8_t *entry, size_t len,
                         const uint8_t pk[SYNOD_PUBKEY_BYTES])
{
	struct synod_vote_envelope env;
	if (len < 2 || synod_vote_decode(&env, (const char *)entry + 1, len - 1, NULL, 0) != 0) {
		return;
	}
	if (v->sigs_count >= V_SIGS_MAX / 2) {
		return; /* verify falls back to Ed25519 for unknown signatures */
	}
	uint32_t i = v_sig_slot(env.sig);
	while (v->sigs[i].used) {
		if (memcmp(v->sigs[i].sig, env.sig, SYNOD_SIG_BYTES) == 0) {
			return;
		}
		i = (i + 1) % V_SIGS_MAX;
	}
	struct v_sig *s = &v->sigs[i];
	s->used = true;
	memcpy(s->sig, env.sig, SYNOD_SIG_BYTES);
	synod_sha256(s->msg_hash, entry + 1 + env.signed_offset, env.signed_len);
	memcpy(s->pk, pk, SYNOD_PUBKEY_BYTES);
	v->sigs_count++;
}

static int v_fake_verify(void *ctx, const uint8_t sig[SYNOD_SIG_BYTES], const uint8_t *msg,
                         size_t len, const uint8_t pk[SYNOD_PUBKEY_BYTES])
{
	struct sim_voters *v = ctx;
	uint32_t i = v_sig_slot(sig);
	for (uint32_t probes = 0; probes < V_SIGS_MAX && v->sigs[i].used; probes++) {
		const struct v_sig *s = &v->sigs[i];
		if (memcmp(s->sig, sig, SYNOD_SIG_BYTES) == 0) {
			uint8_t h[SYNOD_HASH_BYTES];
			synod_sha256(h, msg, len);
			return memcmp(h, s->msg_hash, sizeof h) == 0 &&
			               memcmp(pk, s->pk, SYNOD_PUBKEY_BYTES) == 0
			           ? 0
			           : SYNOD_EBADSIG;
		}
		i = (i + 1) % V_SIGS_MAX;
	}
	if (v->sigs_count >= V_SIGS_MAX / 2) {
		return synod_sig_verify(sig, SYNOD_TAG_VOTE, v->kit.cluster.cluster_id, msg, len,
		                        pk);
	}
	return SYNOD_EBADSIG;
}

/* ---- requests by id ---- */

static struct v_req *v_req_find(struct sim_voters *v, const uint8_t *id)
{
	if (id == NULL) {
		return NULL;
	}
	for (uint32_t i = 0; i < v->count; i++) {
		if (memcmp(v->reqs[i].id, id, SYNOD_HASH_BYTES) == 0) {
			return &v->reqs[i];
		}
	}
	return NULL;
}

static void v_hex8(char out[17], const uint8_t *d)
{
	static const char hex[] = "0123456789abcdef";
	for (uint32_t i = 0; i < 8; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15u];
	}
	out[16] = '\0';
}

/* ---- the app's observer ---- */

static void v_decided(struct sim_cluster *c, uint32_t node, struct v_req *r,
                      const struct synod_app_event *ev)
{
	r->decided = true;
	if (!r->first_set) {
		r->first_set = true;
		r->first_outcome = ev->outcome;
		r->first_approvals = ev->approvals;
		r->first_rejections = ev->rejections;
		r->first_at = ev->pos;
		r->first_node = node;
		return;
	}
	if (r->first_outcome != ev->outcome || r->first_approvals != ev->approvals ||
	    r->first_rejections != ev->rejections || synod_app_pos_cmp(r->first_at, ev->pos) != 0) {
		char h[17];
		v_hex8(h, r->id);
		sim_violation(c, node,
		              "decision: request %s %s %u/%u at %" PRIu64 ".%u on n%u but %s %u/%u "
		              "at %" PRIu64 ".%u on n%u",
		              h, synod_outcome_name(r->first_outcome), r->first_approvals,
		              r->first_rejections, r->first_at.seq, r->first_at.index,
		              r->first_node, synod_outcome_name(ev->outcome), ev->approvals,
		              ev->rejections, ev->pos.seq, ev->pos.index, node);
	}
}

static void v_on_event(void *ctx, const struct synod_app_event *ev)
{
	struct v_node *vn = ctx;
	struct sim_cluster *c = vn->c;
	if (!sim_honest(c, vn->node)) {
		return;
	}
	struct v_req *r = v_req_find(c->voters, ev->request_id);
	if (r == NULL) {
		return;
	}
	if (ev->type == SYNOD_APP_EV_SUBMIT && r->submit_result < 0) {
		r->submit_result = (int32_t)ev->submit;
	} else if (ev->type == SYNOD_APP_EV_DECIDED) {
		v_decided(c, vn->node, r, ev);
	}
}

/* ---- life cycle ---- */

int sim_voters_init(struct sim_cluster *c)
{
	struct sim_voters *v = calloc(1, sizeof *v);
	if (v == NULL) {
		return SYNOD_ENOMEM;
	}
	c->voters = v;
	v->reqs = calloc(V_REQUESTS_MAX, sizeof *v->reqs);
	v->log = calloc(V_LOG_INITIAL, sizeof *v->log);
	v->sigs = calloc(V_SIGS_MAX, sizeof *v->sigs);
	if (v->reqs == NULL || v->log == NULL || v->sigs == NULL) {
		return SYNOD_ENOMEM;
	}
	v->log_cap = V_LOG_INITIAL;
	struct synod_policy p;
	v_policy(&p, c->o.voters);
	synod_testkit_init(&v->kit, &p, c->n, c->o.seed);
	v->seats = p.seats;
	if (!c->o.real_crypto) {
		v->vote_crypto = (struct synod_vote_crypto){.ctx = v, .verify = v_fake_verify};
	}
	/* The cores sign under the testkit's replica keys (the cluster's), with
	 * the fake table unless --real-crypto. */
	memcpy(c->cluster_id, v->kit.cluster.cluster_id, 32);
	sim_crypto_init(&c->crypto, c->o.seed, c->n, c->o.real_crypto, c->cluster_id);
	for (uint32_t i = 0; i < c->n; i++) {
		memcpy(c->crypto.pk[i], v->kit.replicas[i].pk, 32);
		if (c->o.real_crypto) {
			memcpy(c->crypto.sk[i], v->kit.replicas[i].sk, 64);
		}
	}
	c->checker_crypto = sim_crypto_table(&c->crypto, SIM_SIGNER_CHECKER);
	sim_rng_init(&v->rng, c->o.seed, 7);
	uint32_t fmax = (v->seats - 1u) / 3u;
	v->byz_count = sim_rng_ppm(&v->rng, 200000) ? 0 : (uint32_t)sim_rng_range(&v->rng, 1, fmax);
	for (uint32_t k = 0; k < v->byz_count; k++) {
		uint32_t s = (uint32_t)sim_rng_below(&v->rng, v->seats);
		while (v->byz[s] != 0) {
			s = (s + 1) % v->seats;
		}
		uint32_t b = 0;
		for (uint32_t bit = 0; bit < VB_COUNT; bit++) {
			if (sim_rng_ppm(&v->rng, 350000)) {
				b |= 1u << bit;
			}
		}
		v->byz[s] = b != 0 ? b : VB_EQUIVOCATE;
	}
	v->submitting = true;
	v->next_ms = c->now_ms + 1;
	v->next_request_ms = c->now_ms + 300;
	for (uint32_t i = 0; i < c->n; i++) {
		v->nodes[i] = (struct v_node){.c = c, .node = i};
	}
	return 0;
}

void sim_voters_close(struct sim_voters *v)
{
	if (v == NULL) {
		return;
	}
	for (uint32_t i = 0; i < SIM_NODES_MAX; i++) {
		synod_app_close(v->apps[i]);
	}
	for (uint32_t i = 0; v->reqs != NULL && i < v->count; i++) {
		free(v->reqs[i].entry);
		for (uint32_t s = 0; s < SYNOD_APP_SEATS_MAX; s++) {
			free(v->reqs[i].seats[s].vote);
		}
	}
	for (uint64_t i = 0; v->log != NULL && i < v->log_cap; i++) {
		free(v->log[i].batch);
		free(v->log[i].cert);
	}
	free(v->reqs);
	free(v->log);
	free(v->sigs);
	free(v);
}

void sim_voters_node_reset(struct sim_cluster *c, uint32_t node)
{
	struct sim_voters *v = c->voters;
	char err[256] = "";
	synod_app_close(v->apps[node]);
	v->apps[node] = NULL;
	struct synod_app_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.cluster = v->kit.cluster;
	cfg.crypto = v->vote_crypto;
	cfg.on_event = v_on_event;
	cfg.event_ctx = &v->nodes[node];
	int rc = synod_app_init(&v->apps[node], &cfg, err, sizeof err);
	SYNOD_ASSERT(rc == 0);
	v->next_tick_ms[node] = c->now_ms;
}

/* ---- the app callbacks (through app.c) ---- */

void sim_voters_execute(struct sim_cluster *c, uint32_t node, uint64_t seq, const uint8_t *batch,
                        size_t len)
{
	synod_app_execute(c->voters->apps[node], seq, batch, len);
}

int sim_voters_snapshot(struct sim_cluster *c, uint32_t node, uint8_t *buf, size_t cap, size_t *len)
{
	return synod_app_snapshot(c->voters->apps[node], buf, cap, len);
}

int sim_voters_restore(struct sim_cluster *c, uint32_t node, uint64_t seq, const uint8_t *snap,
                       size_t len)
{
	return synod_app_restore(c->voters->apps[node], seq, snap, len);
}

/* pbft_app.validate: the real app's check (TICKs against this replica's
 * clock). */
int sim_voters_validate(struct sim_cluster *c, uint32_t node, const uint8_t *batch, size_t len,
                        uint64_t now_ms)
{
	return synod_app_validate(c->voters->apps[node], batch, len, now_ms);
}

/* pbft_app.expired: the primary drops stale TICKs (a TICK left pending by a
 * view change would otherwise get its batches refused). */
bool sim_voters_expired(struct sim_cluster *c, uint32_t node, const uint8_t *entry, size_t len,
                        uint64_t now_ms)
{
	return synod_app_tick_expired(c->voters->apps[node], entry, len, now_ms);
}

/* pbft_app.executed: the real app's answer from its state. */
bool sim_voters_executed(struct sim_cluster *c, uint32_t node, const uint8_t *entry, size_t len)
{
	return synod_app_executed(c->voters->apps[node], entry, len);
}

bool sim_voters_censored(const struct sim_cluster *c, uint64_t pick, const uint8_t *entry,
                         size_t len)
{
	const struct sim_voters *v = c->voters;
	if (len < 2) {
		return false;
	}
	if (entry[0] == SYNOD_ENTRY_SUBMIT) {
		uint8_t id[SYNOD_HASH_BYTES];
		synod_sha256(id, entry + 1, len - 1u);
		return id[0] % 8u == (pick >> 32) % 8u;
	}
	uint32_t seat = (uint32_t)(pick % v->seats);
	while (v->byz[seat] != 0) {
		seat = (seat + 1u) % v->seats; /* the seats are never all Byzantine */
	}
	struct synod_vote_envelope env;
	return entry[0] == SYNOD_ENTRY_VOTE &&
	       synod_vote_decode(&env, (const char *)entry + 1, len - 1u, NULL, 0) == 0 &&
	       env.vote.seat == seat;
}

/* pbft_app.overdue: log time lags this replica's clock (a primary that
 * withholds TICKs is timed out). */
bool sim_voters_overdue(struct sim_cluster *c, uint32_t node, uint64_t now_ms)
{
	return synod_app_overdue(c->voters->apps[node], now_ms);
}

/* pbft_app.digest: the certification app's checkpoint digest over the whole
 * snapshot (its own part first, app.c). */
void sim_voters_digest(struct sim_cluster *c, uint32_t node, const uint8_t *snap, size_t len,
                       uint8_t out[32])
{
	synod_app_checkpoint_digest(c->voters->apps[node], snap, len, out);
}

/* ---- what voters learn from committed batches ---- */

static void v_schedule(struct sim_voters *v, struct v_req *r, uint64_t now)
{
	for (uint32_t s = 0; s < v->seats; s++) {
		struct v_seat *st = &r->seats[s];
		uint64_t delay = sim_rng_range(&v->rng, 1, 600);
		if (v->byz[s] & VB_LATE) {
			delay = sim_rng_range(&v->rng, 2000, 8000);
		} else if (v->byz[s] == 0 && sim_rng_ppm(&v->rng, 25000)) {
			delay = sim_rng_range(&v->rng, 1500, 5000); /* a slow honest voter */
		}
		st->cast_ms = now + delay;
	}
}

static void v_log_grow(struct sim_voters *v, uint64_t seq)
{
	if (seq < v->log_cap) {
		return;
	}
	uint64_t cap = v->log_cap;
	while (cap <= seq) {
		cap *= 2;
	}
	struct v_batch *l = realloc(v->log, cap * sizeof *l);
	SYNOD_ASSERT(l != NULL);
	memset(l + v->log_cap, 0, (cap - v->log_cap) * sizeof *l);
	v->log = l;
	v->log_cap = cap;
}

static void v_learn_vote(struct sim_voters *v, const uint8_t *entry, uint32_t len)
{
	struct synod_vote_envelope env;
	if (synod_vote_decode(&env, (const char *)entry + 1, len - 1u, NULL, 0) != 0) {
		return;
	}
	struct v_req *r = v_req_find(v, env.vote.request_id);
	if (r == NULL || env.vote.seat >= v->seats) {
		return;
	}
	struct v_seat *st = &r->seats[env.vote.seat];
	if (st->vote != NULL && st->len == len && memcmp(st->vote, entry, len) == 0) {
		st->state = V_DONE;
	}
}

static void v_learn(struct sim_cluster *c, uint64_t seq, const uint8_t *batch, size_t len)
{
	struct sim_voters *v = c->voters;
	struct pbft_batch_iter it;
	if (pbft_batch_iter_init(&it, batch, len, &c->lim) != 0) {
		return;
	}
	const uint8_t *e;
	uint32_t elen;
	while (pbft_batch_iter_next(&it, &e, &elen) == 1) {
		if (elen < 2) {
			continue;
		}
		if (e[0] == SYNOD_ENTRY_SUBMIT) {
			uint8_t id[SYNOD_HASH_BYTES];
			synod_sha256(id, e + 1, elen - 1u);
			struct v_req *r = v_req_find(v, id);
			if (r != NULL && r->seen_seq == 0) {
				r->seen_seq = seq;
				v_schedule(v, r, c->now_ms);
			}
		} else if (e[0] == SYNOD_ENTRY_VOTE) {
			v_learn_vote(v, e, elen);
		}
	}
}

void sim_voters_committed(struct sim_cluster *c, struct sim_node *nd, const struct pbft_update *u)
{
	struct sim_voters *v = c->voters;
	for (uint32_t i = 0; i < u->committed_count; i++) {
		const struct pbft_committed *cm = &u->committed[i];
		v_log_grow(v, cm->seq);
		struct v_batch *b = &v->log[cm->seq];
		if (b->batch != NULL) {
			continue;
		}
		uint8_t d[PBFT_DIGEST_BYTES];
		pbft_batch_digest(d, cm->batch, cm->batch_len);
		if (memcmp(d, cm->digest, sizeof d) != 0 ||
		    pbft_cert_verify(&c->checker_crypto, c->n, (const uint8_t(*)[32])c->crypto.pk,
		                     cm->seq, cm->digest, cm->cert, cm->cert_count, NULL, 0) != 0) {
			continue; /* the checker reports it; voters do not learn from it */
		}
		b->batch = malloc(cm->batch_len > 0 ? cm->batch_len : 1u);
		b->cert = malloc((size_t)cm->cert_count * PBFT_CORE_BYTES + 1u);
		SYNOD_ASSERT(b->batch != NULL && b->cert != NULL);
		memcpy(b->batch, cm->batch, cm->batch_len);
		memcpy(b->cert, cm->cert, (size_t)cm->cert_count * PBFT_CORE_BYTES);
		b->len = cm->batch_len;
		b->cert_count = cm->cert_count;
		(void)nd;
		v_learn(c, cm->seq, cm->batch, cm->batch_len);
	}
}

/* ---- drivers ---- */

static void v_send(struct sim_cluster *c, uint32_t node, const uint8_t *entry, size_t len)
{
	struct sim_node *nd = &c->nodes[node];
	if (!nd->up || c->stopped) {
		return;
	}
	struct pbft_event ev = {.type = PBFT_EV_SUBMIT, .now_ms = sim_node_time(c, nd)};
	ev.submit.entry = entry;
	ev.submit.len = len;
	sim_trace(c, "n%u SUBMIT %s (%zu bytes)", node,
	          len > 0 && entry[0] == SYNOD_ENTRY_TICK ? "TICK" : "entry", len);
	sim_node_step(c, nd, &ev);
}

static void v_ticks(struct sim_cluster *c)
{
	struct sim_voters *v = c->voters;
	for (uint32_t i = 0; i < c->n && !c->stopped; i++) {
		struct sim_node *nd = &c->nodes[i];
		if (!nd->up || c->now_ms < v->next_tick_ms[i]) {
			continue;
		}
		struct pbft_status st;
		pbft_status_get(nd->p, &st);
		if (st.primary != i || st.in_view_change) {
			continue;
		}
		v->next_tick_ms[i] = c->now_ms + sim_rng_range(&v->rng, 150, 400);
		uint8_t tick[SYNOD_APP_TICK_BYTES];
		synod_entry_tick(tick, synod_app_tick_propose(v->apps[i], sim_node_time(c, nd)));
		v->ticks_submitted++;
		v_send(c, i, tick, sizeof tick);
	}
}

/* The log time a submitter sees (the furthest honest coordinator's). */
static uint64_t v_log_time(const struct sim_cluster *c)
{
	uint64_t t = 0;
	for (uint32_t i = 0; i < c->n; i++) {
		struct synod_app_status st;
		if (!sim_honest(c, i) || !c->nodes[i].up) {
			continue;
		}
		synod_app_status_get(c->voters->apps[i], &st);
		t = st.log_time_ms > t ? st.log_time_ms : t;
	}
	return t;
}

/* A submitter does not wait for log time to move: before any TICK has
 * committed it takes the time from an honest coordinator's clock (a primary
 * that never proposes TICKs must not stop requests from arriving, or nobody
 * would have pending work to time out on). */
static uint64_t v_submit_time(const struct sim_cluster *c)
{
	uint64_t lt = v_log_time(c);
	for (uint32_t i = 0; lt == 0 && i < c->n; i++) {
		if (sim_honest(c, i) && c->nodes[i].up) {
			lt = sim_node_time(c, &c->nodes[i]);
		}
	}
	return lt;
}

static void v_new_request(struct sim_cluster *c)
{
	struct sim_voters *v = c->voters;
	uint64_t lt = v_submit_time(c);
	if (lt == 0 || v->count >= V_REQUESTS_MAX) {
		return;
	}
	struct v_req *r = &v->reqs[v->count];
	uint8_t buf[V_ENTRY_BYTES];
	size_t len = 0;
	uint64_t deadline = lt + sim_rng_range(&v->rng, 3000, 12000);
	int rc = synod_testkit_request(buf, sizeof buf, &len, r->id, deadline, v->nonce++);
	SYNOD_ASSERT(rc == 0);
	r->entry = malloc(len);
	SYNOD_ASSERT(r->entry != NULL);
	memcpy(r->entry, buf, len);
	r->len = len;
	r->deadline_ms = deadline;
	r->submit_result = -1;
	static const uint32_t reject_ppm[] = {10000, 60000, 300000};
	r->reject_ppm = reject_ppm[sim_rng_below(&v->rng, 3)];
	r->retry_ms = c->now_ms + c->o.client_retry_ms;
	v->count++;
	if (c->o.trace != NULL) {
		char h[17];
		v_hex8(h, r->id);
		sim_trace(c, "voters: request %u %s deadline %" PRIu64, v->count - 1u, h, deadline);
	}
	v_send(c, (uint32_t)sim_rng_below(&v->rng, c->n), r->entry, r->len);
}

static bool v_learn_epoch(struct sim_cluster *c, struct v_req *r)
{
	if (r->epoch_known) {
		return true;
	}
	for (uint32_t i = 0; i < c->n; i++) {
		struct synod_tally t;
		if (sim_honest(c, i) && c->nodes[i].up &&
		    synod_app_tally_get(c->voters->apps[i], r->id, &t) == 0) {
			r->epoch = t.epoch;
			r->epoch_known = true;
			return true;
		}
	}
	return false;
}

static void v_make_vote(struct sim_voters *v, uint32_t signer, const struct synod_vote *vote,
                        uint8_t *out, size_t cap, size_t *len)
{
	int rc = synod_testkit_vote_sign(&v->kit.seats[signer], vote, out, cap, len);
	SYNOD_ASSERT(rc == 0);
	v_sig_record(v, out, *len, v->kit.seats[signer].pk);
}

static void v_vote_init(struct sim_voters *v, struct synod_vote *vote, const struct v_req *r,
                        uint32_t seat, enum synod_verdict verdict, uint32_t variant)
{
	memset(vote, 0, sizeof *vote);
	memcpy(vote->cluster_id, v->kit.cluster.cluster_id, SYNOD_CLUSTER_ID_BYTES);
	memcpy(vote->request_id, r->id, SYNOD_HASH_BYTES);
	vote->epoch = r->epoch;
	vote->seat = seat;
	vote->verdict = verdict;
	uint8_t seed[12];
	memcpy(seed, &variant, 4);
	memcpy(seed + 4, &seat, 4);
	memcpy(seed + 8, r->id, 4);
	synod_sha256(vote->reason_digest, seed, sizeof seed);
	snprintf(vote->plugin_name, sizeof vote->plugin_name, "test");
	snprintf(vote->plugin_version, sizeof vote->plugin_version, "1");
}

/* The Byzantine extras: one-shot votes that must all be ignored. */
static void v_byz_extras(struct sim_cluster *c, struct v_req *r, uint32_t s,
                         enum synod_verdict verdict)
{
	struct sim_voters *v = c->voters;
	uint32_t b = v->byz[s];
	uint8_t buf[V_ENTRY_BYTES];
	size_t len = 0;
	struct synod_vote vote;
	if (b & VB_EQUIVOCATE) {
		v_vote_init(v, &vote, r, s,
		            verdict == SYNOD_VERDICT_APPROVE ? SYNOD_VERDICT_REJECT
		                                             : SYNOD_VERDICT_APPROVE,
		            1);
		v_make_vote(v, s, &vote, buf, sizeof buf, &len);
		v_send(c, (uint32_t)sim_rng_below(&v->rng, c->n), buf, len);
		v_send(c, (uint32_t)sim_rng_below(&v->rng, c->n), buf, len);
	}
	if (b & VB_UNKNOWN) {
		v_vote_init(v, &vote, r, s, verdict, 2);
		vote.request_id[0] ^= 0x5a;
		v_make_vote(v, s, &vote, buf, sizeof buf, &len);
		v_send(c, (uint32_t)sim_rng_below(&v->rng, c->n), buf, len);
	}
	if (b & VB_FORGE) {
		uint32_t other =
		    (s + 1u + (uint32_t)sim_rng_below(&v->rng, v->seats - 1u)) % v->seats;
		v_vote_init(v, &vote, r, other, SYNOD_VERDICT_APPROVE, 3);
		v_make_vote(v, s, &vote, buf, sizeof buf, &len);
		v_send(c, (uint32_t)sim_rng_below(&v->rng, c->n), buf, len);
	}
	if (b & VB_EPOCH) {
		v_vote_init(v, &vote, r, s, verdict, 0);
		vote.epoch =
		    r->epoch > 0 && sim_rng_ppm(&v->rng, 500000) ? r->epoch - 1u : r->epoch + 1u;
		v_make_vote(v, s, &vote, buf, sizeof buf, &len);
		v_send(c, (uint32_t)sim_rng_below(&v->rng, c->n), buf, len);
	}
	if (b & VB_CLUSTER) {
		v_vote_init(v, &vote, r, s, verdict, 0);
		vote.cluster_id[0] ^= 0x01;
		v_make_vote(v, s, &vote, buf, sizeof buf, &len);
		v_send(c, (uint32_t)sim_rng_below(&v->rng, c->n), buf, len);
	}
}

static void v_cast(struct sim_cluster *c, struct v_req *r, uint32_t s)
{
	struct sim_voters *v = c->voters;
	struct v_seat *st = &r->seats[s];
	enum synod_verdict verdict = sim_rng_ppm(&v->rng, v->byz[s] ? 500000 : r->reject_ppm)
	                                 ? SYNOD_VERDICT_REJECT
	                                 : SYNOD_VERDICT_APPROVE;
	if (v->byz[s] != 0) {
		v_byz_extras(c, r, s, verdict);
	}
	if (v->byz[s] & VB_NEVER) {
		st->state = V_DONE;
		return;
	}
	struct synod_vote vote;
	uint8_t buf[V_ENTRY_BYTES];
	size_t len = 0;
	v_vote_init(v, &vote, r, s, verdict, 0);
	v_make_vote(v, s, &vote, buf, sizeof buf, &len);
	st->vote = malloc(len);
	SYNOD_ASSERT(st->vote != NULL);
	memcpy(st->vote, buf, len);
	st->len = len;
	st->state = V_CAST;
	st->retry_ms = c->now_ms + c->o.client_retry_ms;
	uint32_t copies = sim_rng_ppm(&v->rng, 700000) ? 1u : 2u;
	for (uint32_t k = 0; k < copies && !c->stopped; k++) {
		v_send(c, (uint32_t)sim_rng_below(&v->rng, c->n), st->vote, st->len);
	}
}

static void v_voters(struct sim_cluster *c)
{
	struct sim_voters *v = c->voters;
	for (uint32_t i = 0; i < v->count && !c->stopped; i++) {
		struct v_req *r = &v->reqs[i];
		if (r->seen_seq == 0) {
			if (c->now_ms >= r->retry_ms) {
				r->retry_ms = c->now_ms + c->o.client_retry_ms;
				v_send(c, (uint32_t)sim_rng_below(&v->rng, c->n), r->entry, r->len);
			}
			continue;
		}
		if (!v_learn_epoch(c, r)) {
			continue;
		}
		for (uint32_t s = 0; s < v->seats && !c->stopped; s++) {
			struct v_seat *st = &r->seats[s];
			if (st->state == V_WAIT && c->now_ms >= st->cast_ms) {
				v_cast(c, r, s);
			} else if (st->state == V_CAST && c->now_ms >= st->retry_ms) {
				/* until the vote is in the log, decided or not: a late vote
				 * still counts for participation, and a primary that
				 * censors one seat must not get away with it */
				st->retry_ms = c->now_ms + c->o.client_retry_ms;
				v_send(c, (uint32_t)sim_rng_below(&v->rng, c->n), st->vote,
				       st->len);
			}
		}
	}
}

uint64_t sim_voters_next_ms(const struct sim_cluster *c)
{
	return c->voters->next_ms;
}

void sim_voters_drive(struct sim_cluster *c)
{
	struct sim_voters *v = c->voters;
	v->next_ms = c->now_ms + V_STEP_MS;
	v_ticks(c);
	if (v->submitting && c->now_ms >= v->next_request_ms && !c->stopped) {
		v->next_request_ms = c->now_ms + sim_rng_range(&v->rng, 100, 500);
		v_new_request(c);
		if (v->healing && v->count >= V_HEAL_REQUESTS_MIN) {
			v->submitting = false;
		}
	}
	v_voters(c);
}

/* The heal phase must show requests being decided: when the chaos phase was
 * too rough for any TICK to commit (so nothing was submitted), submitters go
 * on during the heal until V_HEAL_REQUESTS_MIN requests exist. */

void sim_voters_heal(struct sim_cluster *c)
{
	c->voters->submitting = c->voters->count < V_HEAL_REQUESTS_MIN;
	c->voters->healing = true;
}

/* ---- liveness ---- */

/* true when request r is decided at every honest coordinator and every
 * honest seat's vote on it is in the log (or r was refused at submission). */
static bool v_req_live(const struct sim_cluster *c, const struct v_req *r)
{
	if (r->submit_result < 0) {
		return false;
	}
	if (r->submit_result != SYNOD_SUBMIT_ACCEPTED) {
		return true;
	}
	for (uint32_t s = 0; s < c->voters->seats; s++) {
		if (c->voters->byz[s] == 0 && r->seats[s].state != V_DONE) {
			return false; /* an honest seat's vote is not in the log yet */
		}
	}
	for (uint32_t i = 0; i < c->n; i++) {
		struct synod_tally t;
		if (!sim_honest(c, i)) {
			continue;
		}
		if (!c->nodes[i].up || synod_app_tally_get(c->voters->apps[i], r->id, &t) != 0 ||
		    t.outcome == SYNOD_OUTCOME_OPEN) {
			return false;
		}
	}
	return true;
}

bool sim_voters_live(const struct sim_cluster *c)
{
	if (c->voters->count < V_HEAL_REQUESTS_MIN) {
		return false;
	}
	for (uint32_t i = 0; i < c->voters->count; i++) {
		if (!v_req_live(c, &c->voters->reqs[i])) {
			return false;
		}
	}
	return true;
}

void sim_voters_stuck(struct sim_cluster *c, uint64_t healed_ms, const char *why)
{
	struct sim_voters *v = c->voters;
	uint32_t undecided = 0, first = UINT32_MAX;
	for (uint32_t i = 0; i < v->count; i++) {
		if (!v_req_live(c, &v->reqs[i])) {
			undecided++;
			first = first == UINT32_MAX ? i : first;
		}
	}
	char h[17] = "-";
	int32_t res = -2;
	uint64_t seen = 0;
	if (first != UINT32_MAX) {
		v_hex8(h, v->reqs[first].id);
		res = v->reqs[first].submit_result;
		seen = v->reqs[first].seen_seq;
	}
	char nodes[256] = "";
	size_t off = 0;
	for (uint32_t i = 0; i < c->n && off < sizeof nodes; i++) {
		struct pbft_status st;
		sim_cluster_status(c, i, &st);
		int w = snprintf(
		    nodes + off, sizeof nodes - off, " n%u%s:v%" PRIu64 "%s/x%" PRIu64 "/p%" PRIu64,
		    i, c->nodes[i].byzantine ? "(byz)" : "", st.view, st.in_view_change ? "vc" : "",
		    c->nodes[i].app.seq, st.pending_entries);
		off += w > 0 ? (size_t)w : 0;
	}
	sim_violation(c, 0,
	              "liveness: %s %" PRIu64 " ms after the heal: %u of %u requests undecided or "
	              "missing an honest seat's vote at some honest coordinator (first: %s, submit "
	              "result %d, seen at seq "
	              "%" PRIu64 ", log time %" PRIu64 ");%s",
	              why, c->now_ms - healed_ms, undecided, v->count, h, (int)res, seen,
	              v_log_time(c), nodes);
}

/* ---- final checks ---- */

struct v_next_ctx {
	const struct sim_voters *v;
	uint64_t seq;
	uint64_t last;
	bool gap;
};

static int v_next(void *ctx, uint64_t *seq, const uint8_t **batch, size_t *len)
{
	struct v_next_ctx *n = ctx;
	if (n->seq > n->last) {
		return 0;
	}
	if (n->seq >= n->v->log_cap || n->v->log[n->seq].batch == NULL) {
		n->gap = true;
		return SYNOD_ENOTFOUND;
	}
	*seq = n->seq;
	*batch = n->v->log[n->seq].batch;
	*len = n->v->log[n->seq].len;
	n->seq++;
	return 1;
}

static int v_lookup(void *ctx, uint64_t seq, struct synod_bundle_batch *out)
{
	const struct sim_voters *v = ctx;
	if (seq >= v->log_cap || v->log[seq].batch == NULL) {
		return SYNOD_ENOTFOUND;
	}
	out->batch = v->log[seq].batch;
	out->batch_len = v->log[seq].len;
	out->cert = v->log[seq].cert;
	out->cert_count = v->log[seq].cert_count;
	return 0;
}

/* The reference: the honest coordinator that is up and furthest along. */
static uint32_t v_reference(const struct sim_cluster *c)
{
	uint32_t ref = UINT32_MAX;
	uint64_t best = 0;
	for (uint32_t i = 0; i < c->n; i++) {
		struct synod_app_status st;
		if (!sim_honest(c, i) || !c->nodes[i].up) {
			continue;
		}
		synod_app_status_get(c->voters->apps[i], &st);
		if (ref == UINT32_MAX || st.last_seq > best) {
			ref = i;
			best = st.last_seq;
		}
	}
	return ref;
}

static uint32_t v_popcount(uint64_t x)
{
	uint32_t n = 0;
	while (x != 0) {
		x &= x - 1u;
		n++;
	}
	return n;
}

static void v_check_recount(struct sim_cluster *c, uint32_t ref, const struct v_req *r,
                            const struct synod_tally *t)
{
	struct sim_voters *v = c->voters;
	struct synod_app_status st;
	synod_app_status_get(v->apps[ref], &st);
	struct v_next_ctx n = {.v = v, .seq = t->submitted_at.seq, .last = st.last_seq};
	struct synod_tally out;
	char err[256] = "", h[17];
	v_hex8(h, r->id);
	int rc = synod_app_recount(&v->kit.cluster, &v->vote_crypto, r->id, t, v_next, &n, &out,
	                           err, sizeof err);
	if (rc == SYNOD_ENOTFOUND && n.gap) {
		c->stats.recounts_skipped++; /* a gap in the recorded log */
		return;
	}
	c->stats.recounts++;
	if (rc != 0) {
		sim_violation(c, ref, "recount: request %s: %s (%s)", h, synod_strerror(rc), err);
		return;
	}
	if (!synod_tally_equal(t, &out)) {
		sim_violation(c, ref,
		              "recount: request %s: app %s %u/%u at %" PRIu64
		              ".%u, recount %s %u/%u at %" PRIu64 ".%u",
		              h, synod_outcome_name(t->outcome), t->approvals, t->rejections,
		              t->decided_at.seq, t->decided_at.index,
		              synod_outcome_name(out.outcome), out.approvals, out.rejections,
		              out.decided_at.seq, out.decided_at.index);
		return;
	}
	uint32_t valid = v_popcount(out.approved_by & out.eligible);
	if (out.outcome == SYNOD_OUTCOME_APPROVED &&
	    (valid < v->kit.cluster.policy.threshold || out.approvals != valid)) {
		sim_violation(c, ref,
		              "threshold: request %s APPROVED with %u approvals, %u of them valid "
		              "and eligible (threshold %u)",
		              h, out.approvals, valid, v->kit.cluster.policy.threshold);
	}
}

static void v_check_tallies(struct sim_cluster *c, uint32_t ref)
{
	struct sim_voters *v = c->voters;
	uint32_t recounts = 0;
	for (uint32_t i = 0; i < v->count && !c->stopped; i++) {
		const struct v_req *r = &v->reqs[i];
		struct synod_tally t, o;
		if (r->submit_result != SYNOD_SUBMIT_ACCEPTED) {
			if (r->submit_result == SYNOD_SUBMIT_EXPIRED) {
				c->stats.requests_expired_at_submit++;
			}
			continue;
		}
		if (synod_app_tally_get(v->apps[ref], r->id, &t) != 0) {
			continue;
		}
		c->stats.requests_decided += t.outcome != SYNOD_OUTCOME_OPEN;
		c->stats.requests_approved += t.outcome == SYNOD_OUTCOME_APPROVED;
		c->stats.requests_rejected += t.outcome == SYNOD_OUTCOME_REJECTED;
		c->stats.requests_expired += t.outcome == SYNOD_OUTCOME_EXPIRED;
		for (uint32_t k = 0; k < c->n && !c->stopped; k++) {
			if (k == ref || !sim_honest(c, k) || !c->nodes[k].up ||
			    synod_app_tally_get(v->apps[k], r->id, &o) != 0) {
				continue;
			}
			if (t.outcome != SYNOD_OUTCOME_OPEN && !synod_tally_equal(&t, &o)) {
				char h[17];
				v_hex8(h, r->id);
				sim_violation(
				    c, k,
				    "decision: request %s: tally %s %u/%u at n%u but %s %u/%u "
				    "at n%u",
				    h, synod_outcome_name(t.outcome), t.approvals, t.rejections,
				    ref, synod_outcome_name(o.outcome), o.approvals, o.rejections,
				    k);
			}
		}
		if (recounts < V_RECOUNTS_MAX && !c->stopped) {
			recounts++;
			v_check_recount(c, ref, r, &t);
		}
	}
}

/* The VOTE payload at pos in the recorded log (NULL when missing). */
static const uint8_t *v_entry_at(struct sim_cluster *c, struct synod_app_pos pos, uint32_t *len)
{
	struct sim_voters *v = c->voters;
	struct pbft_batch_iter it;
	if (pos.seq >= v->log_cap || v->log[pos.seq].batch == NULL ||
	    pbft_batch_iter_init(&it, v->log[pos.seq].batch, v->log[pos.seq].len, &c->lim) != 0) {
		return NULL;
	}
	const uint8_t *e;
	uint32_t elen;
	for (uint32_t i = 0; pbft_batch_iter_next(&it, &e, &elen) == 1; i++) {
		if (i == pos.index) {
			if (elen < 2) {
				return NULL;
			}
			*len = elen - 1u;
			return e + 1;
		}
	}
	return NULL;
}

static void v_check_exclusions(struct sim_cluster *c, uint32_t ref)
{
	struct sim_voters *v = c->voters;
	uint32_t n = synod_app_exclusion_count(v->apps[ref]);
	for (uint32_t i = 0; i < n && !c->stopped; i++) {
		struct synod_exclusion ex;
		char err[256] = "";
		if (synod_app_exclusion_get(v->apps[ref], i, &ex) != 0) {
			continue;
		}
		c->stats.exclusions++;
		uint32_t la = 0, lb = 0;
		const uint8_t *a = NULL, *b = NULL;
		if (ex.kind == SYNOD_EXCLUSION_EQUIVOCATION) {
			a = v_entry_at(c, ex.vote_pos[0], &la);
			b = v_entry_at(c, ex.vote_pos[1], &lb);
			if (a == NULL || b == NULL) {
				c->stats.exclusions_unchecked++;
				continue;
			}
		}
		int rc = synod_exclusion_check(&v->kit.cluster, &ex, a, la, b, lb, err, sizeof err);
		if (rc != 0) {
			sim_violation(c, ref, "exclusion %u of seat %u: evidence rejected: %s", i,
			              ex.seat, err);
		} else if (ex.seat >= v->seats || v->byz[ex.seat] == 0) {
			sim_violation(c, ref, "exclusion %u: honest seat %u excluded", i, ex.seat);
		}
	}
}

/* ---- bundles and tamperings ---- */

struct v_span {
	size_t start;
	size_t end; /* one past the element */
};

/* The elements of the "votes" array: up to cap spans; returns the count. */
static uint32_t v_vote_spans(const char *b, size_t len, struct v_span *spans, uint32_t cap)
{
	const char *key = "\"votes\":[";
	const char *at = strstr(b, key);
	if (at == NULL) {
		return 0;
	}
	size_t i = (size_t)(at - b) + strlen(key);
	uint32_t n = 0;
	int depth = 0;
	bool in_str = false;
	size_t start = i;
	for (; i < len; i++) {
		char ch = b[i];
		if (in_str) {
			if (ch == '\\') {
				i++;
			} else if (ch == '"') {
				in_str = false;
			}
			continue;
		}
		if (ch == '"') {
			in_str = true;
		} else if (ch == '{' || ch == '[') {
			depth++;
		} else if (ch == '}' || ch == ']') {
			if (depth == 0) {
				if (i > start && n < cap) {
					spans[n++] = (struct v_span){start, i};
				}
				return n;
			}
			depth--;
		} else if (ch == ',' && depth == 0) {
			if (n < cap) {
				spans[n++] = (struct v_span){start, i};
			}
			start = i + 1;
		}
	}
	return n;
}

/* out = b with [s0.start, s0.end) replaced by rep (rep_len bytes). */
static char *v_splice(const char *b, size_t len, size_t from, size_t to, const char *rep,
                      size_t rep_len, size_t *out_len)
{
	char *out = malloc(len - (to - from) + rep_len + 1u);
	SYNOD_ASSERT(out != NULL);
	memcpy(out, b, from);
	memcpy(out + from, rep, rep_len);
	memcpy(out + from + rep_len, b + to, len - to);
	*out_len = len - (to - from) + rep_len;
	out[*out_len] = '\0';
	return out;
}

struct v_bundle {
	char *text;
	size_t len;
};

/* One tampering of bundle a (other: another request's bundle, may be NULL);
 * returns the tampered copy or NULL when this kind does not apply. */
static char *v_tamper(struct sim_voters *v, uint32_t kind, const struct v_bundle *a,
                      const struct v_bundle *other, size_t *out_len, const char **what)
{
	struct v_span sa[SYNOD_APP_SEATS_MAX * 2], so[SYNOD_APP_SEATS_MAX * 2];
	uint32_t na = v_vote_spans(a->text, a->len, sa, SYNOD_APP_SEATS_MAX * 2);
	if (kind == 0) {
		*what = "byte changed";
		size_t at = (size_t)sim_rng_below(&v->rng, a->len);
		char *t = v_splice(a->text, a->len, 0, 0, "", 0, out_len);
		t[at] = (char)(t[at] ^ (char)(1u << sim_rng_below(&v->rng, 7)));
		return t;
	}
	if (kind == 1 && na >= 1) {
		*what = "vote dropped";
		uint32_t k = (uint32_t)sim_rng_below(&v->rng, na);
		size_t from = sa[k].start, to = sa[k].end;
		if (na == 1) {
			/* nothing else */
		} else if (k + 1 < na) {
			to = sa[k + 1].start; /* with its comma */
		} else {
			from = sa[k - 1].end; /* the comma before it */
		}
		return v_splice(a->text, a->len, from, to, "", 0, out_len);
	}
	if (kind == 2 && na >= 2) {
		*what = "votes reordered";
		uint32_t k = (uint32_t)sim_rng_below(&v->rng, na - 1u);
		size_t l1 = sa[k].end - sa[k].start, l2 = sa[k + 1].end - sa[k + 1].start;
		char *rep = malloc(l1 + l2 + 1u);
		SYNOD_ASSERT(rep != NULL);
		memcpy(rep, a->text + sa[k + 1].start, l2);
		rep[l2] = ',';
		memcpy(rep + l2 + 1, a->text + sa[k].start, l1);
		char *t = v_splice(a->text, a->len, sa[k].start, sa[k + 1].end, rep, l1 + l2 + 1u,
		                   out_len);
		free(rep);
		return t;
	}
	if (kind == 3 && na >= 1 && other != NULL) {
		uint32_t no = v_vote_spans(other->text, other->len, so, SYNOD_APP_SEATS_MAX * 2);
		if (no == 0) {
			return NULL;
		}
		*what = "vote of another request swapped in";
		uint32_t k = (uint32_t)sim_rng_below(&v->rng, na);
		uint32_t j = (uint32_t)sim_rng_below(&v->rng, no);
		return v_splice(a->text, a->len, sa[k].start, sa[k].end, other->text + so[j].start,
		                so[j].end - so[j].start, out_len);
	}
	return NULL;
}

static void v_check_tamperings(struct sim_cluster *c, uint32_t ref, struct v_bundle *bundles,
                               uint32_t nb)
{
	struct sim_voters *v = c->voters;
	for (uint32_t k = 0; k < V_TAMPERS_MAX && nb > 0 && !c->stopped; k++) {
		uint32_t i = (uint32_t)sim_rng_below(&v->rng, nb);
		const struct v_bundle *other = nb > 1 ? &bundles[(i + 1) % nb] : NULL;
		size_t len = 0;
		const char *what = "";
		char *t = v_tamper(v, k, &bundles[i], other, &len, &what);
		if (t == NULL) {
			continue;
		}
		c->stats.tamper_tried++;
		struct synod_bundle_summary sum;
		if (len == bundles[i].len && memcmp(t, bundles[i].text, len) == 0) {
			free(t);
			continue;
		}
		if (synod_bundle_verify_with(t, len, &v->kit.cluster, &c->checker_crypto, &sum,
		                             NULL, NULL) != 0) {
			c->stats.tamper_caught++;
		} else {
			sim_violation(c, ref, "bundle: tampered bundle (%s) still verifies", what);
		}
		free(t);
	}
}

static void v_report(void *ctx, const char *failure)
{
	char *first = ctx;
	if (first[0] == '\0') {
		snprintf(first, 200, "%s", failure);
	}
}

/* Builds r's bundle at the first honest coordinator that is up (ref first)
 * whose stable checkpoint covers the decision and that can still prove it.
 * 0 with *text; SYNOD_ESTATE when no stable checkpoint covers it yet;
 * SYNOD_ENOTFOUND when none can prove it (a batch the simulator did not
 * record, or a decision from before each one's last restart or state
 * transfer); otherwise the build error in err, at *by. */
static int v_bundle_build(struct sim_cluster *c, uint32_t ref, const struct v_req *r, char **text,
                          size_t *len, char *err, size_t err_len, uint32_t *by)
{
	struct sim_voters *v = c->voters;
	int result = SYNOD_ESTATE;
	for (uint32_t k = 0; k < c->n; k++) {
		uint32_t i = (ref + k) % c->n;
		struct synod_tally t;
		uint8_t cores[PBFT_REPLICAS_MAX * PBFT_CORE_BYTES];
		struct synod_bundle_checkpoint cp = {.cores = cores};
		if (!sim_honest(c, i) || !c->nodes[i].up ||
		    synod_app_tally_get(v->apps[i], r->id, &t) != 0 ||
		    t.outcome == SYNOD_OUTCOME_OPEN ||
		    pbft_stable_checkpoint_get(c->nodes[i].p, &cp.seq, cores, PBFT_REPLICAS_MAX,
		                               &cp.count) != 0 ||
		    cp.seq < t.decided_at.seq) {
			continue;
		}
		*by = i;
		int rc = synod_bundle_build(v->apps[i], r->id, v_lookup, v, &cp, text, len, err,
		                            err_len);
		if (rc == SYNOD_ENOTFOUND && strstr(err, "not one of the last") == NULL) {
			result = SYNOD_ENOTFOUND;
			continue;
		}
		/* a stable checkpoint this coordinator took but forgot is a bug */
		return rc == SYNOD_ENOTFOUND ? SYNOD_EINVAL : rc;
	}
	return result;
}

static void v_check_bundles(struct sim_cluster *c, uint32_t ref)
{
	struct sim_voters *v = c->voters;
	struct v_bundle bundles[V_BUNDLES_MAX];
	uint32_t nb = 0;
	uint32_t start = v->count > 0 ? (uint32_t)sim_rng_below(&v->rng, v->count) : 0;
	for (uint32_t k = 0; k < v->count && nb < V_BUNDLES_MAX && !c->stopped; k++) {
		const struct v_req *r = &v->reqs[(start + k) % v->count];
		struct synod_tally t;
		if (r->submit_result != SYNOD_SUBMIT_ACCEPTED ||
		    synod_app_tally_get(v->apps[ref], r->id, &t) != 0 ||
		    t.outcome == SYNOD_OUTCOME_OPEN) {
			continue;
		}
		char *text = NULL, err[256] = "", h[17], first[200] = "";
		size_t len = 0;
		uint32_t by = ref;
		v_hex8(h, r->id);
		int rc = v_bundle_build(c, ref, r, &text, &len, err, sizeof err, &by);
		if (rc == SYNOD_ESTATE) {
			c->stats.bundles_uncovered++; /* no stable checkpoint proves it yet */
			continue;
		}
		if (rc == SYNOD_ENOTFOUND) {
			c->stats.bundles_skipped++;
			continue;
		}
		if (rc != 0) {
			sim_violation(c, by, "bundle: build for request %s failed: %s (%s)", h,
			              synod_strerror(rc), err);
			break;
		}
		struct synod_bundle_summary sum;
		rc = synod_bundle_verify_with(text, len, &v->kit.cluster, &c->checker_crypto, &sum,
		                              v_report, first);
		if (rc != 0 || sum.outcome != t.outcome || sum.approvals != t.approvals ||
		    sum.rejections != t.rejections) {
			sim_violation(c, ref, "bundle: request %s (%s): verify %s: %s", h,
			              synod_outcome_name(t.outcome), synod_strerror(rc), first);
			free(text);
			break;
		}
		c->stats.bundles_verified++;
		bundles[nb++] = (struct v_bundle){text, len};
	}
	v_check_tamperings(c, ref, bundles, nb);
	for (uint32_t i = 0; i < nb; i++) {
		free(bundles[i].text);
	}
}

void sim_voters_final(struct sim_cluster *c)
{
	struct sim_voters *v = c->voters;
	uint32_t ref = v_reference(c);
	c->stats.requests += v->count;
	c->stats.ticks_submitted += v->ticks_submitted;
	c->stats.byz_voters += v->byz_count;
	if (ref == UINT32_MAX) {
		return;
	}
	struct synod_app_status st;
	synod_app_status_get(v->apps[ref], &st);
	for (uint32_t i = 0; i < SYNOD_VOTE_REASON_COUNT; i++) {
		c->stats.votes[i] += st.votes[i];
	}
	v_check_tallies(c, ref);
	if (!c->stopped) {
		v_check_exclusions(c, ref);
	}
	if (!c->stopped) {
		v_check_bundles(c, ref);
	}
}

/* The replica: init, the step dispatcher, timers and shared helpers. */
#include "coordinator/pbft/internal.h"

#include "common/hash.h"
#include "common/limits.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

SYNOD_COUNTER(pbft_rejected_total, "synod_pbft_messages_rejected_total",
              "PBFT messages rejected (malformed, bad signature, wrong view or window)");

void pbft_config_defaults(struct pbft_config *c)
{
	memset(c, 0, sizeof *c);
	c->checkpoint_interval = 8;
	c->window = 16;
	c->batch_entries_max = 128;
	c->batch_bytes_max = 64u * 1024u;
	c->entry_bytes_max = 8u * 1024u;
	c->pending_entries_max = 4096;
	c->snapshot_bytes_max = 1024u * 1024u;
	c->batch_delay_ms = 2;
	c->timeout_ms_min = 200;
	c->timeout_ms_max = 10000;
}

uint32_t pbft_primary(const struct pbft *p, uint64_t view)
{
	return (uint32_t)(view % p->n);
}

bool pbft_is_primary(const struct pbft *p)
{
	return pbft_primary(p, p->view) == p->cfg.self;
}

bool pbft_mutated(const struct pbft *p, enum pbft_mutation m)
{
	return (p->cfg.mutations & (uint32_t)m) != 0;
}

struct pbft_slot *pbft_slot_get(struct pbft *p, uint64_t seq)
{
	if (seq <= p->h || seq > p->h + p->cfg.window) {
		return NULL;
	}
	struct pbft_slot *s = &p->slots[(seq - 1) % p->cfg.window];
	if (s->seq != seq) {
		pbft_slot_reset(s, seq);
	}
	return s;
}

void pbft_slot_reset(struct pbft_slot *s, uint64_t seq)
{
	uint8_t *batch = s->batch, *cert = s->cert, *cert_batch = s->cert_batch;
	memset(s, 0, sizeof *s);
	s->batch = batch;
	s->cert = cert;
	s->cert_batch = cert_batch;
	s->seq = seq;
}

void pbft_reject(struct pbft *p, const char *why, uint32_t from)
{
	p->stats.msgs_rejected++;
	synod_counter_inc(&pbft_rejected_total);
	synod_log(SYNOD_LOG_DEBUG, "pbft", "replica %u: rejected message from %u: %s", p->cfg.self,
	          from, why);
}

uint64_t pbft_timeout_ms(const struct pbft *p)
{
	uint64_t t = 4 * p->srtt_ms;
	if (t < p->cfg.timeout_ms_min) {
		t = p->cfg.timeout_ms_min;
	}
	/* Section 4.5.2: each consecutive view change waits twice as long. */
	for (uint32_t i = 0; i < p->view_change_backoff && t < p->cfg.timeout_ms_max; i++) {
		t *= 2;
	}
	return t < p->cfg.timeout_ms_max ? t : p->cfg.timeout_ms_max;
}

void pbft_core_sign(struct pbft *p, struct pbft_core *c)
{
	uint8_t signed_bytes[PBFT_CORE_SIGNED_BYTES];
	c->sender = (uint16_t)p->cfg.self;
	pbft_core_signed_bytes(c, signed_bytes);
	int rc = p->cfg.crypto.sign(p->cfg.crypto.ctx, c->sig, signed_bytes, sizeof signed_bytes);
	SYNOD_ASSERT(rc == 0);
}

int pbft_core_verify(const struct pbft *p, const struct pbft_core *c)
{
	uint8_t signed_bytes[PBFT_CORE_SIGNED_BYTES];
	if (c->sender >= p->n) {
		return SYNOD_EPROTO;
	}
	pbft_core_signed_bytes(c, signed_bytes);
	if (p->cfg.crypto.verify(p->cfg.crypto.ctx, c->sig, signed_bytes, sizeof signed_bytes,
	                         p->cfg.pubkeys[c->sender]) != 0) {
		return SYNOD_EBADSIG;
	}
	return 0;
}

int pbft_core_check(const struct pbft *p, const uint8_t *bytes, struct pbft_core *out)
{
	int rc = pbft_core_decode(out, bytes);
	if (rc != 0) {
		return rc;
	}
	return pbft_core_verify(p, out);
}

uint8_t *pbft_arena_alloc(struct pbft *p, size_t n)
{
	/* The arena is sized at init for the worst step; running out is our bug. */
	SYNOD_ASSERT(n <= p->arena_cap - p->arena_len);
	uint8_t *at = p->arena + p->arena_len;
	p->arena_len += n;
	return at;
}

void pbft_out_send(struct pbft *p, uint32_t to, const struct pbft_core *c, const uint8_t *payload,
                   size_t payload_len)
{
	struct pbft_update *u = p->out;
	if (u->send_count == PBFT_SENDS_MAX) {
		/* Dropping a send is safe (the network may too); retransmission
		 * and view changes recover. */
		synod_log(SYNOD_LOG_WARN, "pbft", "replica %u: send queue full, dropping %s",
		          p->cfg.self, pbft_msg_type_name(c->type));
		return;
	}
	size_t cap = PBFT_CORE_BYTES + 4 + payload_len;
	uint8_t *buf = pbft_arena_alloc(p, cap);
	size_t len = 0;
	int rc = pbft_msg_encode(c, payload, (uint32_t)payload_len, buf, cap, &len);
	SYNOD_ASSERT(rc == 0 && len == cap);
	u->sends[u->send_count++] = (struct pbft_send){.to = to, .bytes = buf, .len = len};
}

void pbft_out_send_raw(struct pbft *p, uint32_t to, const uint8_t *bytes, size_t len)
{
	struct pbft_update *u = p->out;
	if (u->send_count == PBFT_SENDS_MAX) {
		return;
	}
	uint8_t *buf = pbft_arena_alloc(p, len);
	memcpy(buf, bytes, len);
	u->sends[u->send_count++] = (struct pbft_send){.to = to, .bytes = buf, .len = len};
}

void pbft_out_record(struct pbft *p, enum pbft_record_type type, const uint8_t *bytes, size_t len,
                     bool truncate_before)
{
	struct pbft_update *u = p->out;
	SYNOD_ASSERT(u->record_count < PBFT_RECORDS_MAX);
	u->records[u->record_count++] = (struct pbft_record){
	    .type = type, .bytes = bytes, .len = len, .truncate_before = truncate_before};
}

void pbft_out_record_msg(struct pbft *p, const struct pbft_core *c, const uint8_t *payload,
                         size_t payload_len)
{
	size_t cap = PBFT_CORE_BYTES + 4 + payload_len;
	uint8_t *buf = pbft_arena_alloc(p, cap);
	size_t len = 0;
	int rc = pbft_msg_encode(c, payload, (uint32_t)payload_len, buf, cap, &len);
	SYNOD_ASSERT(rc == 0);
	pbft_out_record(p, PBFT_REC_MSG, buf, len, false);
}

void pbft_out_record_view(struct pbft *p)
{
	uint8_t *buf = pbft_arena_alloc(p, 9);
	struct synod_wbuf w;
	synod_wbuf_init(&w, buf, 9);
	synod_wbuf_u64(&w, p->view);
	synod_wbuf_u8(&w, p->in_view_change ? 1 : 0);
	SYNOD_ASSERT(w.err == 0);
	pbft_out_record(p, PBFT_REC_VIEW, buf, 9, false);
}

/* --- init ------------------------------------------------------------------ */

/* Quorums count distinct replicas by their keys: one key held by two indexes
 * would let its holder count twice in every quorum. */
static int init_check_pubkeys(const struct pbft_config *c, char *errmsg, size_t errmsg_len)
{
	for (uint32_t i = 1; i < c->replicas; i++) {
		for (uint32_t j = 0; j < i; j++) {
			if (memcmp(c->pubkeys[i], c->pubkeys[j], 32) == 0) {
				snprintf(
				    errmsg, errmsg_len,
				    "pbft config: pubkeys[%u] repeats pubkeys[%u] (one key would "
				    "count twice in a quorum)",
				    i, j);
				return SYNOD_ECONFIG;
			}
		}
	}
	return 0;
}

static int init_check_config(const struct pbft_config *c, char *errmsg, size_t errmsg_len)
{
	const char *bad = NULL;
	if (c->replicas < 4 || c->replicas > PBFT_REPLICAS_MAX || (c->replicas - 1) % 3 != 0) {
		bad = "replicas must be 3f+1, between 4 and PBFT_REPLICAS_MAX";
	} else if (c->self >= c->replicas) {
		bad = "self must be a replica index";
	} else if (c->checkpoint_interval == 0 || c->window == 0 ||
	           c->window % c->checkpoint_interval != 0 || c->window > PBFT_WINDOW_MAX ||
	           c->window / c->checkpoint_interval < 2) {
		bad = "window must be a multiple (>= 2) of checkpoint_interval, <= PBFT_WINDOW_MAX";
	} else if (c->batch_entries_max == 0 || c->batch_entries_max > PBFT_BATCH_ENTRIES_LIMIT) {
		bad = "batch_entries_max out of range";
	} else if (c->entry_bytes_max == 0 || c->entry_bytes_max > PBFT_ENTRY_BYTES_LIMIT ||
	           c->batch_bytes_max > PBFT_BATCH_BYTES_LIMIT ||
	           c->batch_bytes_max < 8 + c->entry_bytes_max) {
		bad = "entry_bytes_max/batch_bytes_max out of range (a batch must hold one entry)";
	} else if (c->pending_entries_max == 0 ||
	           c->pending_entries_max > PBFT_PENDING_ENTRIES_LIMIT) {
		bad = "pending_entries_max out of range";
	} else if (c->snapshot_bytes_max == 0 ||
	           c->snapshot_bytes_max > PBFT_SNAPSHOT_BYTES_LIMIT) {
		bad = "snapshot_bytes_max out of range";
	} else if (c->timeout_ms_min == 0 || c->timeout_ms_max < c->timeout_ms_min) {
		bad = "timeout_ms_min/timeout_ms_max out of range";
	} else if (c->crypto.sign == NULL || c->crypto.verify == NULL || c->app.execute == NULL ||
	           c->app.snapshot == NULL || c->app.restore == NULL) {
		bad = "crypto and app tables must be complete";
	}
	if (bad != NULL) {
		snprintf(errmsg, errmsg_len, "pbft config: %s", bad);
		return SYNOD_ECONFIG;
	}
	return init_check_pubkeys(c, errmsg, errmsg_len);
}

/* Worst-case sizes of the big messages, from the config. */
static void init_sizes(struct pbft *p)
{
	size_t n = p->n, L = p->cfg.window, batch = p->cfg.batch_bytes_max;
	size_t core = PBFT_CORE_BYTES;
	size_t cert = 1 + core + 4 + batch + 4 + n * core;
	p->vc_bytes_max = core + 4 + 4 + n * core + 4 + L * cert;
	size_t vc_payload = p->vc_bytes_max - core - 4;
	p->nv_bytes_max = core + 4 + 4 + n * (core + 4 + vc_payload) + 4 + L * (core + 4 + batch);
	p->state_bytes_max = core + 4 + 4 + n * core + 4 + p->cfg.snapshot_bytes_max + 4 +
	                     L * (8 + 4 + batch + 4 + n * core);
	p->lim = (struct pbft_msg_limits){
	    .replicas = p->n,
	    .batch_entries_max = p->cfg.batch_entries_max,
	    .batch_bytes_max = p->cfg.batch_bytes_max,
	    .entry_bytes_max = p->cfg.entry_bytes_max,
	    .window = p->cfg.window,
	    .snapshot_bytes_max = p->cfg.snapshot_bytes_max,
	    .msg_bytes_max = 0, /* set by pbft_init once it is known to fit */
	};
	p->work_cap = p->nv_bytes_max > p->state_bytes_max ? p->nv_bytes_max : p->state_bytes_max;
	/* One step emits at most: a NEW-VIEW (or a STATE), a VIEW-CHANGE, its
	 * records, up to L pre-prepares with batches, L committed records and a
	 * checkpoint record per K, plus small messages. */
	/* ... and, after a stable checkpoint, the whole window again (the tail
	 * records: pre-prepare, prepared certificate, committed batch). */
	p->arena_cap =
	    2 * p->work_cap + 2 * p->vc_bytes_max + p->nv_bytes_max +
	    8 * L * (core + 16 + batch + n * core) +
	    (L / p->cfg.checkpoint_interval + 1) * (p->cfg.snapshot_bytes_max + n * core + 16) +
	    PBFT_SENDS_MAX * (core + 4 + p->cfg.entry_bytes_max) + 4096;
}

static int init_alloc(struct pbft *p)
{
	uint32_t L = p->cfg.window;
	p->slots = calloc(L, sizeof *p->slots);
	p->ckpts_kept = L / p->cfg.checkpoint_interval + 2;
	p->own_ckpts = calloc(p->ckpts_kept, sizeof *p->own_ckpts);
	p->pending = calloc(p->cfg.pending_entries_max, sizeof *p->pending);
	p->recent = calloc(PBFT_RECENT_DIGESTS, sizeof *p->recent);
	p->arena = malloc(p->arena_cap);
	p->work = malloc(p->work_cap);
	p->nv_bytes = malloc(p->nv_bytes_max);
	if (p->slots == NULL || p->own_ckpts == NULL || p->pending == NULL || p->recent == NULL ||
	    p->arena == NULL || p->work == NULL || p->nv_bytes == NULL) {
		return SYNOD_ENOMEM;
	}
	for (uint32_t i = 0; i < L; i++) {
		p->slots[i].batch = malloc(p->cfg.batch_bytes_max);
		p->slots[i].cert_batch = malloc(p->cfg.batch_bytes_max);
		p->slots[i].cert = malloc(PBFT_REPLICAS_MAX * PBFT_CORE_BYTES);
		if (p->slots[i].batch == NULL || p->slots[i].cert_batch == NULL ||
		    p->slots[i].cert == NULL) {
			return SYNOD_ENOMEM;
		}
	}
	for (uint32_t i = 0; i < p->ckpts_kept; i++) {
		p->own_ckpts[i].snapshot = malloc(p->cfg.snapshot_bytes_max);
		if (p->own_ckpts[i].snapshot == NULL) {
			return SYNOD_ENOMEM;
		}
	}
	for (uint32_t i = 0; i < p->cfg.pending_entries_max; i++) {
		p->pending[i].bytes = malloc(p->cfg.entry_bytes_max);
		if (p->pending[i].bytes == NULL) {
			return SYNOD_ENOMEM;
		}
	}
	for (uint32_t i = 0; i < p->n; i++) {
		p->vcs[i].bytes = malloc(p->vc_bytes_max);
		if (p->vcs[i].bytes == NULL) {
			return SYNOD_ENOMEM;
		}
	}
	return 0;
}

int pbft_init(struct pbft **out, const struct pbft_config *cfg, char *errmsg, size_t errmsg_len)
{
	*out = NULL;
	int rc = init_check_config(cfg, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	struct pbft *p = calloc(1, sizeof *p);
	if (p == NULL) {
		snprintf(errmsg, errmsg_len, "pbft: out of memory");
		return SYNOD_ENOMEM;
	}
	p->cfg = *cfg;
	p->n = cfg->replicas;
	p->f = pbft_faults(p->n);
	p->quorum = pbft_quorum(p->n);
	p->rng = cfg->seed ^ 0x9e3779b97f4a7c15ull;
	p->next_seq = 1;
	init_sizes(p);
	if (p->work_cap > SYNOD_WIRE_MSG_BYTES_MAX) {
		snprintf(
		    errmsg, errmsg_len,
		    "pbft config: window x batch_bytes_max (and replicas) make NEW-VIEW or STATE "
		    "messages of %zu bytes, above the wire limit of %u",
		    p->work_cap, SYNOD_WIRE_MSG_BYTES_MAX);
		free(p);
		return SYNOD_ECONFIG;
	}
	p->lim.msg_bytes_max = (uint32_t)p->work_cap;
	rc = init_alloc(p);
	if (rc != 0) {
		snprintf(errmsg, errmsg_len, "pbft: out of memory");
		pbft_close(p);
		return rc;
	}
	for (uint32_t i = 0; i < p->cfg.pending_entries_max; i++) {
		p->pending[i].forwarded_view = UINT64_MAX;
	}
	*out = p;
	return 0;
}

void pbft_close(struct pbft *p)
{
	if (p == NULL) {
		return;
	}
	for (uint32_t i = 0; p->slots != NULL && i < p->cfg.window; i++) {
		free(p->slots[i].batch);
		free(p->slots[i].cert_batch);
		free(p->slots[i].cert);
	}
	for (uint32_t i = 0; p->own_ckpts != NULL && i < p->ckpts_kept; i++) {
		free(p->own_ckpts[i].snapshot);
	}
	for (uint32_t i = 0; p->pending != NULL && i < p->cfg.pending_entries_max; i++) {
		free(p->pending[i].bytes);
	}
	for (uint32_t i = 0; i < PBFT_REPLICAS_MAX; i++) {
		free(p->vcs[i].bytes);
	}
	free(p->slots);
	free(p->own_ckpts);
	free(p->pending);
	free(p->recent);
	free(p->arena);
	free(p->work);
	free(p->nv_bytes);
	free(p);
}

void pbft_status_get(const struct pbft *p, struct pbft_status *st)
{
	*st = p->stats;
	st->view = p->view;
	st->in_view_change = p->in_view_change;
	st->primary = pbft_primary(p, p->view);
	st->low_watermark = p->h;
	st->last_executed = p->last_exec;
	st->pending_entries = p->pending_count;
	st->timeout_ms = pbft_timeout_ms(p);
}

/* --- timers ------------------------------------------------------------------ */

static bool app_overdue(const struct pbft *p)
{
	return p->cfg.app.overdue != NULL && p->cfg.app.overdue(p->cfg.app.ctx, p->now_ms);
}

/* Called when a batch executes: the view-change timer restarts (if there is
 * still work) and consecutive view changes are forgotten; unless an entry
 * the timer was started for is still pending, or the app is still overdue,
 * when the timer runs on. Section 4.5.2: the timer follows the request and
 * stops only when that request executes, so a primary that orders everything
 * but one entry is replaced all the same. */
void pbft_progress_made(struct pbft *p)
{
	if (p->progress_deadline_ms != 0 && app_overdue(p)) {
		return;
	}
	if (p->progress_deadline_ms != 0 && !pbft_mutated(p, PBFT_MUTATE_TIMER_ANY_PROGRESS) &&
	    pbft_pending_watched_since(p, p->progress_armed_ms)) {
		return;
	}
	p->progress_deadline_ms = 0;
	p->progress_grace_used = false;
	if (!p->in_view_change) {
		p->view_change_backoff = 0;
	}
}

static bool timers_waiting(const struct pbft *p)
{
	if (pbft_pending_waiting(p) || app_overdue(p)) {
		return true;
	}
	/* Above h only: last_exec is below it while an adopted checkpoint's
	 * snapshot is on its way (O's entries run the timer, whose FETCH asks
	 * for it again). */
	uint64_t from = p->last_exec > p->h ? p->last_exec : p->h;
	for (uint64_t s = from + 1; s <= p->h + p->cfg.window; s++) {
		const struct pbft_slot *sl = &p->slots[(s - 1) % p->cfg.window];
		if (sl->seq != s) {
			continue;
		}
		if ((sl->has_pp && sl->pp.view == p->view) || sl->committed) {
			return true;
		}
		/* f+1 replicas committed something here that we lack (e.g. its
		 * PRE-PREPARE came while we were below the window): we are behind
		 * and the timer's FETCH will bring it. */
		uint32_t commits = 0;
		for (uint32_t j = 0; j < p->n; j++) {
			commits += sl->has_commit[j] ? 1u : 0u;
		}
		if (commits > p->f) {
			return true;
		}
	}
	return false;
}

/* Replicas whose newest VIEW-CHANGE is for our view or a later one: they all
 * want to leave the views below. */
static uint32_t vc_support(const struct pbft *p)
{
	uint32_t count = 0;
	for (uint32_t j = 0; j < p->n; j++) {
		if (p->vcs[j].view >= p->view && p->vcs[j].view != 0) {
			count++;
		}
	}
	return count;
}

/* Recomputes the deadlines after a step and reports the earliest. */
void pbft_timers_update(struct pbft *p)
{
	if (p->in_view_change || timers_waiting(p)) {
		if (p->progress_deadline_ms == 0) {
			p->progress_deadline_ms = p->now_ms + pbft_timeout_ms(p);
			p->progress_armed_ms = p->now_ms;
		}
	} else {
		p->progress_deadline_ms = 0;
		p->progress_grace_used = false;
	}
	/* Section 4.5.2: a replica in a view change starts the timer that moves
	 * it on only once 2f+1 replicas want the change. Without the rule, one
	 * replica a view ahead of the others and the others can move in lockstep
	 * forever, never 2f+1 in one view (the simulator found this). */
	if (!p->in_view_change) {
		p->vc_escalate_ms = 0;
	} else if (p->vc_escalate_ms == 0 && vc_support(p) >= p->quorum) {
		p->vc_escalate_ms = p->now_ms + pbft_timeout_ms(p);
	}
	uint64_t d = 0;
	uint64_t cands[3] = {p->progress_deadline_ms, p->batch_deadline_ms, p->vc_escalate_ms};
	for (int i = 0; i < 3; i++) {
		if (cands[i] != 0 && (d == 0 || cands[i] < d)) {
			d = cands[i];
		}
	}
	p->out->timer_deadline_ms = d;
}

/* Sends our own messages for what is in flight again: lost messages are
 * normal, and PBFT needs them. Bounded by the send queue. */
static void retransmit(struct pbft *p)
{
	/* Our checkpoints above the stable one: without them the window can
	 * stay blocked for good. Re-signing is deterministic. */
	for (uint32_t i = 0; i < p->ckpts_kept; i++) {
		const struct pbft_own_checkpoint *oc = &p->own_ckpts[i];
		if (oc->seq > p->h) {
			struct pbft_core c = {
			    .type = PBFT_MSG_CHECKPOINT, .view = p->view, .seq = oc->seq};
			memcpy(c.digest, oc->digest, PBFT_DIGEST_BYTES);
			pbft_core_sign(p, &c);
			pbft_out_send(p, PBFT_TO_ALL, &c, NULL, 0);
		}
	}
	if (p->in_view_change) {
		const struct pbft_vc_store *vc = &p->vcs[p->cfg.self];
		if (vc->view == p->view) {
			pbft_out_send_raw(p, PBFT_TO_ALL, vc->bytes, vc->len);
		}
		return;
	}
	uint64_t from = p->last_exec > p->h ? p->last_exec : p->h;
	for (uint64_t s = from + 1; s <= p->h + p->cfg.window; s++) {
		const struct pbft_slot *sl = &p->slots[(s - 1) % p->cfg.window];
		if (sl->seq != s || !sl->has_pp || sl->pp.view != p->view ||
		    p->out->send_count + 3 >= PBFT_SENDS_MAX) {
			continue;
		}
		if (sl->pp.sender == p->cfg.self) {
			pbft_out_send(p, PBFT_TO_ALL, &sl->pp, sl->batch, sl->batch_len);
		} else if (sl->has_prepare[p->cfg.self]) {
			pbft_out_send(p, PBFT_TO_ALL, &sl->prepares[p->cfg.self], NULL, 0);
		}
		if (sl->sent_commit) {
			pbft_out_send(p, PBFT_TO_ALL, &sl->commits[p->cfg.self], NULL, 0);
		}
	}
}

/* The progress timer expired. In normal operation the first expiry only asks
 * peers for what we may have missed and retransmits (a lost message is far
 * more common than a faulty primary); the second starts a view change. In a
 * view change it only retransmits: moving on is vc_escalate_ms's job. */
static void on_progress_timeout(struct pbft *p)
{
	p->progress_deadline_ms = 0;
	/* Entries that can no longer be ordered must not cost a view change. */
	pbft_pending_reconcile(p, false);
	if (!p->in_view_change && !timers_waiting(p)) {
		return;
	}
	if (p->in_view_change || !p->progress_grace_used) {
		p->progress_grace_used = true;
		p->progress_deadline_ms = p->now_ms + pbft_timeout_ms(p);
		pbft_fetch_send(p);
		retransmit(p);
		pbft_pending_reforward(p);
		return;
	}
	p->view_change_backoff++;
	pbft_pending_view_change(p);
	pbft_view_change_start(p, p->view + 1);
}

static void on_timeout(struct pbft *p)
{
	uint64_t now = p->now_ms;
	if (p->fetch_deadline_ms != 0 && now >= p->fetch_deadline_ms) {
		p->fetch_deadline_ms = 0;
	}
	if (p->batch_deadline_ms != 0 && now >= p->batch_deadline_ms) {
		p->batch_deadline_ms = 0;
	}
	if (p->in_view_change && p->vc_escalate_ms != 0 && now >= p->vc_escalate_ms) {
		/* 2f+1 wanted this view and no valid NEW-VIEW came in time. */
		p->view_change_backoff++;
		pbft_view_change_start(p, p->view + 1);
		return;
	}
	if (p->progress_deadline_ms != 0 && now >= p->progress_deadline_ms) {
		on_progress_timeout(p);
	}
}

/* --- step ---------------------------------------------------------------------- */

static int step_receive(struct pbft *p, const uint8_t *bytes, size_t len, uint32_t from)
{
	struct pbft_msg m;
	int rc = pbft_msg_decode(&m, bytes, len, &p->lim);
	if (rc != 0) {
		char why[96];
		snprintf(why, sizeof why, "malformed %s message (%zu bytes): %s",
		         len > 1 ? pbft_msg_type_name(bytes[1]) : "empty", len, synod_strerror(rc));
		pbft_reject(p, why, from);
		return rc;
	}
	if (m.core.sender == p->cfg.self) {
		pbft_reject(p, "message claims to be from us", from);
		return SYNOD_EPROTO;
	}
	rc = pbft_core_verify(p, &m.core);
	if (rc != 0 && !pbft_mutated(p, PBFT_MUTATE_NO_SIGNATURE_CHECK)) {
		pbft_reject(p, "bad signature", from);
		return rc;
	}
	switch ((enum pbft_msg_type)m.core.type) {
	case PBFT_MSG_REQUEST:
		return pbft_on_request(p, &m);
	case PBFT_MSG_PRE_PREPARE:
		return pbft_on_pre_prepare(p, &m);
	case PBFT_MSG_PREPARE:
		return pbft_on_prepare(p, &m);
	case PBFT_MSG_COMMIT:
		return pbft_on_commit(p, &m);
	case PBFT_MSG_CHECKPOINT:
		return pbft_on_checkpoint(p, &m);
	case PBFT_MSG_VIEW_CHANGE:
		return pbft_on_view_change(p, &m, bytes, len);
	case PBFT_MSG_NEW_VIEW:
		return pbft_on_new_view(p, &m, bytes, len);
	case PBFT_MSG_FETCH:
		return pbft_on_fetch(p, &m);
	case PBFT_MSG_STATE:
		return pbft_on_state(p, &m);
	}
	pbft_reject(p, "unknown type", from);
	return SYNOD_EVERSION;
}

int pbft_step(struct pbft *p, const struct pbft_event *ev, struct pbft_update *out)
{
	out->record_count = 0;
	out->send_count = 0;
	out->committed_count = 0;
	out->timer_deadline_ms = 0;
	out->send_before_persist = pbft_mutated(p, PBFT_MUTATE_SEND_BEFORE_PERSIST);
	p->out = out;
	p->arena_len = 0;
	if (ev->now_ms > p->now_ms) {
		p->now_ms = ev->now_ms; /* our clock never runs backwards */
	}
	int rc = 0;
	switch (ev->type) {
	case PBFT_EV_START:
		pbft_restore_finish(p);
		if (p->in_view_change && p->vcs[p->cfg.self].view != p->view) {
			/* Restored in a view change without our VIEW-CHANGE for it
			 * (a driver whose updates are not atomic): send one now. */
			p->view--;
			pbft_view_change_start(p, p->view + 1);
		}
		pbft_execute_ready(p);
		pbft_pending_reconcile(p, true);
		pbft_fetch_send(p);
		break;
	case PBFT_EV_RECEIVE:
		rc = step_receive(p, ev->receive.bytes, ev->receive.len, ev->receive.from);
		break;
	case PBFT_EV_TIMEOUT:
		on_timeout(p);
		break;
	case PBFT_EV_SUBMIT:
		rc = pbft_on_submit(p, ev->submit.entry, ev->submit.len);
		break;
	case PBFT_EV_TICK:
		break;
	default:
		rc = SYNOD_EINVAL;
		break;
	}
	pbft_propose(p);
	pbft_timers_update(p);
	p->out = NULL;
	return rc;
}

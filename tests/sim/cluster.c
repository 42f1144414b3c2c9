/* The fixture: building the cluster, replica lives (boot, crash, restart),
 * client entries, and the scripted controls of cluster.h. The event loop and
 * the application of updates are in loop.c. */
#include "tests/sim/sim.h"

#include "common/assert.h"
#include "common/hash.h"
#include "coordinator/app/limits.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLUSTER_ENTRY_BYTES_MAX 256u
#define CLUSTER_SNAPSHOT_MAX    (SIM_SNAPSHOT_BYTES + SIM_APP_IDS_BYTES)

void sim_options_defaults(struct sim_options *o, uint64_t seed, uint32_t replicas)
{
	memset(o, 0, sizeof *o);
	o->seed = seed;
	o->replicas = replicas;
	o->faults = true;
	o->checks = true;
	o->steps_max = SIM_STEPS_DEFAULT;
	o->checkpoint_interval = 4;
	o->window = 16;
	o->batch_entries_max = 8;
	o->batch_bytes_max = 8u * (SIM_ENTRY_BYTES_MAX + 4u) + 4u;
	o->pending_entries_max = 1024;
	o->batch_delay_ms = 5;
	o->timeout_ms_min = 150;
	o->timeout_ms_max = 2400;
	o->tick_ms = 10;
	o->skew_ms_max = 50;
	o->client_retry_ms = 1000;
	o->chaos_ms = 4000;
	o->heal_ms_max = 30000;
	o->heal_steps_max = 300000;
}

void sim_trace(struct sim_cluster *c, const char *fmt, ...)
{
	if (c->o.trace == NULL) {
		return;
	}
	va_list ap;
	fprintf(c->o.trace, "[%8" PRIu64 " #%" PRIu64 "] ", c->now_ms - SIM_TIME_START_MS, c->step);
	va_start(ap, fmt);
	vfprintf(c->o.trace, fmt, ap);
	va_end(ap);
	fputc('\n', c->o.trace);
}

void sim_violation(struct sim_cluster *c, uint32_t node, const char *fmt, ...)
{
	struct sim_violation *v = &c->check.v;
	c->stopped = true;
	if (v->found) {
		return;
	}
	v->found = true;
	v->seed = c->o.seed;
	v->step = c->step;
	v->now_ms = c->now_ms - SIM_TIME_START_MS;
	v->node = node;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->what, sizeof v->what, fmt, ap);
	va_end(ap);
	c->stats.violations++;
	sim_trace(c, "VIOLATION at n%u: %s", node, v->what);
}

bool sim_honest(const struct sim_cluster *c, uint32_t node)
{
	return node < c->n && !c->nodes[node].byzantine;
}

uint64_t sim_node_time(const struct sim_cluster *c, const struct sim_node *nd)
{
	return (uint64_t)((int64_t)c->now_ms + nd->skew_ms);
}

/* ---- entries: "e-<seed>-<id>|" then filler, 16..200 bytes ---- */

void sim_entry_bytes(const struct sim_cluster *c, uint32_t id, uint8_t *out, uint32_t len)
{
	char head[48];
	int h = snprintf(head, sizeof head, "e-%016" PRIx64 "-%" PRIu32 "|", c->o.seed, id);
	SYNOD_ASSERT(h > 0 && (uint32_t)h <= len);
	memcpy(out, head, (size_t)h);
	for (uint32_t i = (uint32_t)h; i < len; i++) {
		out[i] = (uint8_t)('a' + (id * 7u + i) % 26u);
	}
}

int32_t sim_entry_id(const struct sim_cluster *c, const uint8_t *entry, uint32_t len)
{
	if (len < 20 || len > SIM_ENTRY_BYTES_MAX || entry[0] != 'e' || entry[1] != '-') {
		return -1;
	}
	uint32_t id = 0, i = 19;
	if (entry[18] != '-') {
		return -1;
	}
	while (i < len && i < 30 && entry[i] >= '0' && entry[i] <= '9') {
		id = id * 10u + (uint32_t)(entry[i] - '0');
		i++;
	}
	if (i >= len || entry[i] != '|' || id >= c->clients.count || c->clients.e[id].len != len) {
		return -1;
	}
	uint8_t want[SIM_ENTRY_BYTES_MAX];
	sim_entry_bytes(c, id, want, len);
	return memcmp(want, entry, len) == 0 ? (int32_t)id : -1;
}

static void cluster_submit_to(struct sim_cluster *c, uint32_t id, uint32_t node)
{
	struct sim_node *nd = &c->nodes[node];
	struct sim_entry *e = &c->clients.e[id];
	e->submits++;
	if (!nd->up) {
		sim_trace(c, "client: entry %u to n%u lost (down)", id, node);
		return;
	}
	uint8_t bytes[SIM_ENTRY_BYTES_MAX];
	sim_entry_bytes(c, id, bytes, e->len);
	struct pbft_event ev = {.type = PBFT_EV_SUBMIT, .now_ms = sim_node_time(c, nd)};
	ev.submit.entry = bytes;
	ev.submit.len = e->len;
	sim_trace(c, "n%u SUBMIT entry %u (%u bytes)", node, id, e->len);
	sim_node_step(c, nd, &ev);
}

int32_t sim_cluster_submit(struct sim_cluster *c, uint32_t node_mask)
{
	struct sim_clients *k = &c->clients;
	if (k->count >= SIM_ENTRIES_MAX) {
		return -1;
	}
	uint32_t id = k->count++;
	struct sim_entry *e = &k->e[id];
	memset(e, 0, sizeof *e);
	e->len =
	    (uint32_t)sim_rng_range(&c->rng_client, SIM_ENTRY_BYTES_MIN + 16u, SIM_ENTRY_BYTES_MAX);
	e->submitted_ms = c->now_ms;
	e->retry_ms = c->o.client_retry_ms ? c->now_ms + c->o.client_retry_ms : UINT64_MAX;
	k->unordered++;
	for (uint32_t i = 0; i < c->n && !c->stopped; i++) {
		if (node_mask & (1u << i)) {
			cluster_submit_to(c, id, i);
		}
	}
	return (int32_t)id;
}

void sim_cluster_resubmit(struct sim_cluster *c, uint32_t id, uint32_t node)
{
	SYNOD_ASSERT(id < c->clients.count && node < c->n);
	cluster_submit_to(c, id, node);
}

/* Resubmits entries nobody has ordered yet, each to a random replica. */
void sim_clients_tick(struct sim_cluster *c)
{
	struct sim_clients *k = &c->clients;
	k->next_ms = c->now_ms + (c->o.client_retry_ms + 3u) / 4u;
	while (k->retry_cursor < k->count && k->e[k->retry_cursor].seq != 0) {
		k->retry_cursor++;
	}
	uint32_t budget = 16;
	for (uint32_t id = k->retry_cursor; id < k->count && budget > 0 && !c->stopped; id++) {
		struct sim_entry *e = &k->e[id];
		if (e->seq != 0 || e->retry_ms > c->now_ms) {
			continue;
		}
		e->retry_ms = c->now_ms + c->o.client_retry_ms;
		budget--;
		cluster_submit_to(c, id, (uint32_t)sim_rng_below(&c->rng_client, c->n));
	}
}

/* ---- replica lives ---- */

static void cluster_node_config(struct sim_cluster *c, struct sim_node *nd, struct pbft_config *cfg)
{
	const struct sim_options *o = &c->o;
	pbft_config_defaults(cfg);
	memcpy(cfg->cluster_id, c->cluster_id, 32);
	cfg->replicas = c->n;
	cfg->self = nd->index;
	for (uint32_t i = 0; i < c->n; i++) {
		memcpy(cfg->pubkeys[i], c->crypto.pk[i], 32);
	}
	cfg->checkpoint_interval = o->checkpoint_interval;
	cfg->window = o->window;
	cfg->batch_entries_max = o->batch_entries_max;
	cfg->batch_bytes_max = o->batch_bytes_max;
	cfg->entry_bytes_max = c->entry_bytes_max;
	cfg->pending_entries_max = o->pending_entries_max;
	cfg->snapshot_bytes_max = c->snapshot_bytes_max;
	cfg->batch_delay_ms = o->batch_delay_ms;
	cfg->timeout_ms_min = o->timeout_ms_min;
	cfg->timeout_ms_max = o->timeout_ms_max;
	uint64_t st = o->seed ^ ((uint64_t)nd->index << 32) ^ nd->lives;
	cfg->seed = sim_splitmix64(&st);
	cfg->mutations = o->mutations;
	cfg->crypto = sim_crypto_table(&c->crypto, nd->index);
	cfg->app = sim_app_table(&nd->app);
}

static uint64_t cluster_be64(const uint8_t *p, uint32_t len)
{
	uint64_t v = 0;
	for (uint32_t i = 0; i < 8 && i < len; i++) {
		v = v << 8 | p[i];
	}
	return v;
}

static void cluster_trace_record(struct sim_cluster *c, const struct sim_node *nd, uint32_t i,
                                 const struct sim_record *r)
{
	struct pbft_core core;
	if (c->o.trace == NULL) {
		return;
	}
	if (r->type == PBFT_REC_MSG && r->len >= PBFT_CORE_BYTES &&
	    pbft_core_decode(&core, r->bytes) == 0) {
		sim_trace(c, "n%u restore record %u: MSG %s sender %u v=%" PRIu64 " s=%" PRIu64,
		          nd->index, i, pbft_msg_type_name(core.type), core.sender, core.view,
		          core.seq);
		return;
	}
	if (r->type == PBFT_REC_PREPARED && r->len >= 8u + PBFT_CORE_BYTES &&
	    pbft_core_decode(&core, r->bytes + 8) == 0) {
		sim_trace(c, "n%u restore record %u: PREPARED v=%" PRIu64 " s=%" PRIu64, nd->index,
		          i, core.view, core.seq);
		return;
	}
	uint32_t at = r->type == PBFT_REC_COMMITTED && r->len >= 20 ? 12u : 0u;
	sim_trace(c, "n%u restore record %u: type %d, %u bytes, u64 %" PRIu64, nd->index, i,
	          (int)r->type, r->len, cluster_be64(r->bytes + at, r->len - at));
}

static void cluster_node_replay(struct sim_cluster *c, struct sim_node *nd)
{
	for (uint32_t i = 0; i < nd->disk.count && !c->stopped; i++) {
		const struct sim_record *r = &nd->disk.recs[i];
		if (r->torn) {
			/* The WAL's checksum rejects a torn record: the log ends
			 * there, and new records go where it was. */
			sim_trace(c, "n%u recovery drops torn record %u", nd->index, i);
			sim_disk_cut(&nd->disk, i);
			break;
		}
		cluster_trace_record(c, nd, i, r);
		int rc = pbft_restore(nd->p, r->type, r->bytes, r->len);
		if (rc != 0 && sim_honest(c, nd->index)) {
			sim_violation(c, nd->index,
			              "restart: pbft_restore rejected durable record %u of %u "
			              "(type %d, %u bytes): %s",
			              i, nd->disk.count, (int)r->type, r->len, synod_strerror(rc));
		}
	}
}

static int cluster_node_boot(struct sim_cluster *c, struct sim_node *nd, bool restart, char *errmsg,
                             size_t errmsg_len)
{
	struct pbft_config cfg;
	sim_app_reset(&nd->app, c, nd->index);
	if (c->voters != NULL) {
		sim_voters_node_reset(c, nd->index);
	}
	cluster_node_config(c, nd, &cfg);
	int rc = pbft_init(&nd->p, &cfg, errmsg, errmsg_len);
	if (rc != 0) {
		nd->p = NULL;
		return rc;
	}
	nd->up = true;
	nd->lives++;
	nd->view_seen = 0;
	nd->timer_ms = 0;
	nd->restart_ms = 0;
	nd->unsynced_pending = false;
	nd->tick_ms = c->now_ms + 1u + sim_rng_below(&c->rng_net, c->o.tick_ms);
	if (restart) {
		cluster_node_replay(c, nd);
	}
	struct pbft_event ev = {.type = PBFT_EV_START, .now_ms = sim_node_time(c, nd)};
	sim_trace(c, "n%u START (life %u, %u records replayed)", nd->index, nd->lives,
	          restart ? nd->disk.count : 0u);
	sim_node_step(c, nd, &ev);
	if (restart && c->o.checks && sim_honest(c, nd->index) && nd->up) {
		sim_check_status(c, nd, true);
	}
	return 0;
}

static void cluster_status_acc(struct pbft_status *acc, const struct pbft_status *st)
{
	acc->view_changes += st->view_changes;
	acc->state_transfers += st->state_transfers;
	acc->batches_committed += st->batches_committed;
	acc->msgs_rejected += st->msgs_rejected;
}

void sim_node_crash(struct sim_cluster *c, struct sim_node *nd)
{
	SYNOD_ASSERT(nd->up);
	struct pbft_status st;
	pbft_status_get(nd->p, &st);
	cluster_status_acc(&nd->acc, &st);
	pbft_close(nd->p);
	nd->p = NULL;
	nd->up = false;
	nd->timer_ms = 0;
	nd->unsynced_pending = false;
	uint32_t before = nd->disk.count;
	nd->exec_before_crash = nd->exec_durable;
	sim_disk_crash(&nd->disk, &c->rng_disk, &c->stats.records_lost, &c->stats.records_torn);
	c->stats.crashes++;
	nd->restart_ms = 0;
	if (c->crash.restart_ms_max > 0) {
		nd->restart_ms = c->now_ms + sim_rng_range(&c->rng_crash, c->crash.restart_ms_min,
		                                           c->crash.restart_ms_max);
	}
	sim_trace(c, "n%u CRASH (executed %" PRIu64 ", durable %" PRIu64 ", records %u -> %u)",
	          nd->index, nd->app.seq, nd->exec_durable, before, nd->disk.count);
}

int sim_node_restart(struct sim_cluster *c, struct sim_node *nd)
{
	char err[256];
	if (nd->up) {
		return SYNOD_ESTATE;
	}
	int rc = cluster_node_boot(c, nd, true, err, sizeof err);
	if (rc != 0) {
		sim_violation(c, nd->index, "restart: pbft_init failed: %s", err);
	}
	return rc;
}

/* ---- construction ---- */

static int cluster_check_options(const struct sim_options *o, char *errmsg, size_t len)
{
	if (o->replicas < 4 || o->replicas > SIM_NODES_MAX || (o->replicas - 1) % 3 != 0) {
		snprintf(errmsg, len, "replicas must be 3f+1 in 4..%u, not %u", SIM_NODES_MAX,
		         o->replicas);
		return SYNOD_EINVAL;
	}
	if (o->tick_ms == 0 || o->batch_entries_max == 0 || o->window == 0) {
		snprintf(errmsg, len, "tick_ms, batch_entries_max and window must be positive");
		return SYNOD_EINVAL;
	}
	return 0;
}

static int cluster_alloc(struct sim_cluster *c)
{
	c->upd = calloc(1, sizeof *c->upd);
	c->scratch = malloc(SIM_MSG_BYTES_MAX);
	c->scratch2 = malloc(SIM_MSG_BYTES_MAX);
	c->clients.e = calloc(SIM_ENTRIES_MAX, sizeof *c->clients.e);
	if (c->upd == NULL || c->scratch == NULL || c->scratch2 == NULL || c->clients.e == NULL) {
		return SYNOD_ENOMEM;
	}
	int rc = sim_net_init(&c->net, SIM_INFLIGHT_MAX);
	if (rc == 0) {
		rc = sim_check_init(&c->check);
	}
	if (rc == 0 && c->o.voters != 0) {
		rc = sim_voters_init(c);
	}
	return rc;
}

static void cluster_setup(struct sim_cluster *c, const struct sim_options *o)
{
	c->o = *o;
	c->n = o->replicas;
	c->f = pbft_faults(o->replicas);
	c->entry_bytes_max = o->voters != 0 ? SYNOD_APP_ENTRY_BYTES_MAX : CLUSTER_ENTRY_BYTES_MAX;
	c->snapshot_bytes_max = o->voters != 0 ? sim_voters_snapshot_max(o) : CLUSTER_SNAPSHOT_MAX;
	uint8_t seed_be[8];
	for (uint32_t i = 0; i < 8; i++) {
		seed_be[i] = (uint8_t)(o->seed >> (56 - 8 * i));
	}
	synod_sha256(c->cluster_id, seed_be, sizeof seed_be);
	sim_rng_init(&c->rng_net, o->seed, 1);
	sim_rng_init(&c->rng_crash, o->seed, 2);
	sim_rng_init(&c->rng_client, o->seed, 3);
	sim_rng_init(&c->rng_byz, o->seed, 4);
	sim_rng_init(&c->rng_disk, o->seed, 5);
	c->now_ms = SIM_TIME_START_MS;
	sim_crypto_init(&c->crypto, o->seed, c->n, o->real_crypto, c->cluster_id);
	c->checker_crypto = sim_crypto_table(&c->crypto, SIM_SIGNER_CHECKER);
	c->clients.next_ms = o->client_retry_ms ? c->now_ms + o->client_retry_ms : UINT64_MAX;
	c->lim = (struct pbft_msg_limits){
	    .replicas = c->n,
	    .batch_entries_max = o->batch_entries_max,
	    .batch_bytes_max = o->batch_bytes_max,
	    .entry_bytes_max = c->entry_bytes_max,
	    .window = o->window,
	    .snapshot_bytes_max = c->snapshot_bytes_max,
	    .msg_bytes_max = SIM_MSG_BYTES_MAX,
	};
	for (uint32_t i = 0; i < c->n; i++) {
		struct sim_node *nd = &c->nodes[i];
		nd->index = i;
		uint64_t span = 2u * o->skew_ms_max;
		nd->skew_ms =
		    (int64_t)sim_rng_range(&c->rng_net, 0, span) - (int64_t)o->skew_ms_max;
		sim_disk_init(&nd->disk);
		sim_app_reset(&nd->app, c, i);
	}
}

int sim_cluster_init(struct sim_cluster **out, const struct sim_options *o, char *errmsg,
                     size_t errmsg_len)
{
	*out = NULL;
	int rc = cluster_check_options(o, errmsg, errmsg_len);
	if (rc != 0) {
		return rc;
	}
	struct sim_cluster *c = calloc(1, sizeof *c);
	if (c == NULL) {
		return SYNOD_ENOMEM;
	}
	cluster_setup(c, o);
	rc = cluster_alloc(c);
	if (rc != 0) {
		snprintf(errmsg, errmsg_len, "out of memory");
		sim_cluster_close(c);
		return rc;
	}
	c->net.f = (struct sim_net_faults){.delay_ms_min = 1, .delay_ms_max = 3};
	for (uint32_t i = 0; i < c->n && rc == 0; i++) {
		rc = cluster_node_boot(c, &c->nodes[i], false, errmsg, errmsg_len);
	}
	if (rc != 0) {
		sim_cluster_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

void sim_cluster_close(struct sim_cluster *c)
{
	if (c == NULL) {
		return;
	}
	for (uint32_t i = 0; i < SIM_NODES_MAX; i++) {
		struct sim_node *nd = &c->nodes[i];
		if (nd->p != NULL) {
			pbft_close(nd->p);
		}
		sim_disk_close(&nd->disk);
		sim_byz_close(&nd->byz);
	}
	sim_net_close(&c->net);
	sim_check_close(&c->check);
	sim_voters_close(c->voters);
	sim_crypto_wipe(&c->crypto);
	free(c->clients.e);
	free(c->scratch);
	free(c->scratch2);
	free(c->upd);
	free(c);
}

/* ---- scripted controls ---- */

uint32_t sim_cluster_replicas(const struct sim_cluster *c)
{
	return c->n;
}

uint64_t sim_cluster_now_ms(const struct sim_cluster *c)
{
	return c->now_ms;
}

uint64_t sim_cluster_steps(const struct sim_cluster *c)
{
	return c->step;
}

void sim_cluster_crash(struct sim_cluster *c, uint32_t node)
{
	SYNOD_ASSERT(node < c->n);
	if (c->nodes[node].up) {
		sim_node_crash(c, &c->nodes[node]);
		c->nodes[node].restart_ms = 0;
	}
}

int sim_cluster_restart(struct sim_cluster *c, uint32_t node)
{
	SYNOD_ASSERT(node < c->n);
	return sim_node_restart(c, &c->nodes[node]);
}

bool sim_cluster_up(const struct sim_cluster *c, uint32_t node)
{
	return node < c->n && c->nodes[node].up;
}

void sim_cluster_partition(struct sim_cluster *c, uint32_t side_mask)
{
	uint32_t all = (1u << c->n) - 1u;
	side_mask &= all;
	for (uint32_t i = 0; i < c->n; i++) {
		bool in = (side_mask >> i) & 1u;
		c->net.cut[i] |= in ? (all & ~side_mask) : side_mask;
	}
	sim_trace(c, "PARTITION side 0x%x", side_mask);
}

void sim_cluster_isolate(struct sim_cluster *c, uint32_t node)
{
	sim_cluster_partition(c, 1u << node);
}

void sim_cluster_heal(struct sim_cluster *c)
{
	memset(c->net.cut, 0, sizeof c->net.cut);
	sim_trace(c, "HEAL partitions");
}

void sim_cluster_net_set(struct sim_cluster *c, const struct sim_net_faults *f)
{
	c->net.f = *f;
	if (c->net.f.delay_ms_max < c->net.f.delay_ms_min) {
		c->net.f.delay_ms_max = c->net.f.delay_ms_min;
	}
	sim_trace(c, "NET loss=%u dup=%u delay=%" PRIu64 "..%" PRIu64 " slow=%u/%" PRIu64,
	          f->loss_ppm, f->dup_ppm, f->delay_ms_min, f->delay_ms_max, f->slow_ppm,
	          f->slow_ms_max);
}

void sim_cluster_crash_faults_set(struct sim_cluster *c, const struct sim_crash_faults *f)
{
	c->crash = *f;
	if (c->crash.restart_ms_max < c->crash.restart_ms_min) {
		c->crash.restart_ms_max = c->crash.restart_ms_min;
	}
}

void sim_cluster_byzantine_set(struct sim_cluster *c, uint32_t node, uint32_t behaviours,
                               uint32_t rate_ppm)
{
	SYNOD_ASSERT(node < c->n);
	struct sim_node *nd = &c->nodes[node];
	sim_byz_close(&nd->byz);
	sim_byz_init(&nd->byz, behaviours, rate_ppm);
	if (behaviours & SIM_BYZ_CENSOR_ONE) {
		nd->byz.censor_pick = sim_rng_next(&c->rng_byz);
	}
	nd->byzantine = true;
	sim_trace(c, "n%u BYZANTINE behaviours 0x%x rate %u", node, behaviours, rate_ppm);
}

bool sim_cluster_byzantine(const struct sim_cluster *c, uint32_t node)
{
	return node < c->n && c->nodes[node].byzantine;
}

int sim_cluster_run_ms(struct sim_cluster *c, uint64_t ms)
{
	uint64_t until = c->now_ms + ms;
	while (!c->stopped && sim_loop_once(c, until)) {
	}
	return c->stopped ? 1 : 0;
}

bool sim_cluster_executed(const struct sim_cluster *c, uint32_t id, uint32_t node)
{
	SYNOD_ASSERT(id < c->clients.count && node < c->n);
	uint64_t seq = c->clients.e[id].seq;
	return seq != 0 && c->nodes[node].app.seq >= seq;
}

static bool cluster_executed_by(const struct sim_cluster *c, uint32_t id, uint32_t node_mask)
{
	for (uint32_t i = 0; i < c->n; i++) {
		if (((node_mask >> i) & 1u) && !sim_cluster_executed(c, id, i)) {
			return false;
		}
	}
	return true;
}

int sim_cluster_run_until_executed_by(struct sim_cluster *c, uint32_t id, uint32_t node_mask,
                                      uint64_t ms_max)
{
	SYNOD_ASSERT(id < c->clients.count);
	uint64_t until = c->now_ms + ms_max;
	while (!c->stopped && !cluster_executed_by(c, id, node_mask)) {
		if (!sim_loop_once(c, until)) {
			return SYNOD_ELIMIT;
		}
	}
	return c->stopped ? 1 : 0;
}

int sim_cluster_run_until_executed(struct sim_cluster *c, uint32_t id, uint64_t ms_max)
{
	uint32_t mask = 0;
	for (uint32_t i = 0; i < c->n; i++) {
		if (sim_honest(c, i) && c->nodes[i].up) {
			mask |= 1u << i;
		}
	}
	return sim_cluster_run_until_executed_by(c, id, mask, ms_max);
}

void sim_cluster_status(const struct sim_cluster *c, uint32_t node, struct pbft_status *st)
{
	SYNOD_ASSERT(node < c->n);
	const struct sim_node *nd = &c->nodes[node];
	memset(st, 0, sizeof *st);
	if (nd->p != NULL) {
		pbft_status_get(nd->p, st);
	}
	cluster_status_acc(st, &nd->acc);
}

uint64_t sim_cluster_committed_seq(const struct sim_cluster *c)
{
	return c->check.seq_max;
}

const struct sim_violation *sim_cluster_violation(const struct sim_cluster *c)
{
	return c->check.v.found ? &c->check.v : NULL;
}

const struct sim_stats *sim_cluster_stats(struct sim_cluster *c)
{
	struct sim_stats *s = &c->stats;
	s->steps = c->step;
	s->sim_ms = c->now_ms - SIM_TIME_START_MS;
	s->commits = c->check.seq_max;
	s->entries_submitted = c->clients.count;
	s->entries_executed = c->clients.count - c->clients.unordered;
	s->entries_ordered = s->entries_executed + c->check.ordered_count;
	s->signs = c->crypto.signs;
	s->verifies = c->crypto.verifies;
	s->view_changes = 0;
	s->state_transfers = 0;
	s->msgs_rejected = 0;
	for (uint32_t i = 0; i < c->n; i++) {
		struct pbft_status st;
		sim_cluster_status(c, i, &st);
		s->state_transfers += st.state_transfers;
		if (sim_honest(c, i)) {
			s->msgs_rejected += st.msgs_rejected;
			s->view_changes =
			    st.view_changes > s->view_changes ? st.view_changes : s->view_changes;
		}
	}
	return s;
}

void sim_stats_add(struct sim_stats *sum, const struct sim_stats *s)
{
	const uint64_t *a = (const uint64_t *)(const void *)s;
	uint64_t *b = (uint64_t *)(void *)sum;
	_Static_assert(sizeof *s % sizeof(uint64_t) == 0, "sim_stats holds only uint64_t");
	for (size_t i = 0; i < sizeof *s / sizeof(uint64_t); i++) {
		b[i] += a[i];
	}
}

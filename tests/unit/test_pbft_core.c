/* Unit tests of the PBFT core with a minimal lock-step harness: a FIFO
 * network, no faults unless a test injects them, real Ed25519 (libsodium).
 * The deterministic simulator (tests/sim) covers faults at scale; these pin
 * down the basic contract: ordering, certificates, persistence, config. */
#include "common/hash.h"
#include "common/wire.h"
#include "coordinator/pbft/pbft.h"
#include "coordinator/wal/wal_pbft.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#define H_NODES_MAX   7
#define H_QUEUE_MAX   8192
#define H_RECORDS_MAX 4096

struct h_app {
	uint8_t state[32];
	uint64_t seq;
	uint64_t entries;
	uint8_t executed[256][32]; /* batch digest per seq, for agreement */
	uint8_t states[256][32];   /* state after each seq, for snapshots */
	uint64_t overdue_until_ms; /* app.overdue says true before this time */
	uint64_t digests;          /* app.digest calls */
};

struct h_msg {
	uint32_t to;
	uint8_t *bytes;
	size_t len;
};

struct h_record {
	enum pbft_record_type type;
	uint8_t *bytes;
	size_t len;
};

struct h_node {
	struct pbft *p;
	struct h_app app;
	uint8_t sk[64];
	bool down;
	uint64_t timer_ms;
	struct h_record disk[H_RECORDS_MAX];
	uint32_t disk_count;
	struct synod_wal *wal; /* also persisted here when set */
	char wal_dir[64];
};

struct harness {
	uint32_t n;
	uint64_t now_ms;
	uint8_t pks[PBFT_REPLICAS_MAX][32];
	struct h_node nodes[H_NODES_MAX];
	struct h_msg queue[H_QUEUE_MAX];
	uint32_t q_head, q_tail;
	bool drop_to[H_NODES_MAX];
	uint32_t drop_types_to[H_NODES_MAX]; /* bit 1 << type: not delivered */
	struct pbft_update up;
};

static int h_sign(void *ctx, uint8_t sig[64], const uint8_t *msg, size_t len)
{
	return crypto_sign_ed25519_detached(sig, NULL, msg, len, ((struct h_node *)ctx)->sk);
}

static int h_verify(void *ctx, const uint8_t sig[64], const uint8_t *msg, size_t len,
                    const uint8_t pk[32])
{
	(void)ctx;
	return crypto_sign_ed25519_verify_detached(sig, msg, len, pk);
}

static int h_verify_any(void *ctx, const uint8_t sig[64], const uint8_t *msg, size_t len,
                        const uint8_t pk[32])
{
	return h_verify(ctx, sig, msg, len, pk);
}

static void h_execute(void *ctx, uint64_t seq, const uint8_t *batch, size_t len)
{
	struct h_app *a = ctx;
	assert_int_equal(seq, a->seq + 1);
	uint8_t buf[64];
	uint8_t d[32];
	synod_sha256(d, batch, len);
	memcpy(buf, a->state, 32);
	memcpy(buf + 32, d, 32);
	synod_sha256(a->state, buf, sizeof buf);
	a->seq = seq;
	uint32_t count = (uint32_t)batch[0] << 24 | (uint32_t)batch[1] << 16 |
	                 (uint32_t)batch[2] << 8 | batch[3];
	a->entries += count;
	if (seq < 256) {
		memcpy(a->executed[seq], d, 32);
		memcpy(a->states[seq], a->state, 32);
	}
}

static int h_snapshot(void *ctx, uint8_t *buf, size_t cap, size_t *len)
{
	struct h_app *a = ctx;
	if (cap < 48) {
		return SYNOD_ELIMIT;
	}
	memcpy(buf, a->state, 32);
	memcpy(buf + 32, &a->seq, 8);
	memcpy(buf + 40, &a->entries, 8);
	*len = 48;
	return 0;
}

static int h_restore(void *ctx, uint64_t seq, const uint8_t *snap, size_t len)
{
	struct h_app *a = ctx;
	if (len != 48) {
		return SYNOD_EINVAL;
	}
	memcpy(a->state, snap, 32);
	memcpy(&a->seq, snap + 32, 8);
	memcpy(&a->entries, snap + 40, 8);
	assert_int_equal(a->seq, seq);
	return 0;
}

/* app.digest: not plain SHA-256, so every path (own checkpoint, state
 * transfer, WAL restore) is shown to use it. */
static void h_digest(void *ctx, const uint8_t *snap, size_t len, uint8_t out[32])
{
	struct h_app *a = ctx;
	struct synod_sha256 h;
	a->digests++;
	synod_sha256_init(&h);
	synod_sha256_update(&h, "h-digest", 8);
	synod_sha256_update(&h, snap, len);
	synod_sha256_final(&h, out);
}

static bool h_overdue(void *ctx, uint64_t now_ms)
{
	const struct h_app *a = ctx;
	return now_ms < a->overdue_until_ms;
}

static void h_config(struct harness *h, uint32_t i, struct pbft_config *out)
{
	struct pbft_config cfg;
	pbft_config_defaults(&cfg);
	cfg.replicas = h->n;
	cfg.self = i;
	memcpy(cfg.pubkeys, h->pks, sizeof h->pks);
	cfg.checkpoint_interval = 4;
	cfg.window = 8;
	cfg.batch_entries_max = 4;
	cfg.batch_bytes_max = 4096;
	cfg.entry_bytes_max = 512;
	cfg.pending_entries_max = 256;
	cfg.snapshot_bytes_max = 256;
	cfg.timeout_ms_min = 100;
	cfg.timeout_ms_max = 1600;
	cfg.batch_delay_ms = 1;
	cfg.seed = i + 1;
	cfg.crypto =
	    (struct pbft_crypto){.ctx = &h->nodes[i], .sign = h_sign, .verify = h_verify_any};
	cfg.app = (struct pbft_app){.ctx = &h->nodes[i].app,
	                            .execute = h_execute,
	                            .overdue = h_overdue,
	                            .snapshot = h_snapshot,
	                            .restore = h_restore,
	                            .digest = h_digest};
	*out = cfg;
}

static void h_node_open(struct harness *h, uint32_t i)
{
	struct pbft_config cfg;
	h_config(h, i, &cfg);
	char err[256];
	assert_int_equal(pbft_init(&h->nodes[i].p, &cfg, err, sizeof err), 0);
}

static void h_apply(struct harness *h, uint32_t i)
{
	struct h_node *nd = &h->nodes[i];
	if (nd->wal != NULL) {
		assert_int_equal(synod_wal_append_update(nd->wal, &h->up), 0);
	}
	for (uint32_t r = 0; r < h->up.record_count; r++) {
		const struct pbft_record *rec = &h->up.records[r];
		assert_true(nd->disk_count < H_RECORDS_MAX);
		struct h_record *d = &nd->disk[nd->disk_count++];
		d->type = rec->type;
		d->bytes = malloc(rec->len);
		memcpy(d->bytes, rec->bytes, rec->len);
		d->len = rec->len;
	}
	for (uint32_t s = 0; s < h->up.send_count; s++) {
		const struct pbft_send *snd = &h->up.sends[s];
		for (uint32_t j = 0; j < h->n; j++) {
			if (j == i || (snd->to != PBFT_TO_ALL && snd->to != j)) {
				continue;
			}
			uint32_t next = (h->q_tail + 1) % H_QUEUE_MAX;
			assert_true(next != h->q_head);
			h->queue[h->q_tail] =
			    (struct h_msg){.to = j, .bytes = malloc(snd->len), .len = snd->len};
			memcpy(h->queue[h->q_tail].bytes, snd->bytes, snd->len);
			h->q_tail = next;
		}
	}
	/* Every committed batch carries a certificate anyone can check. */
	for (uint32_t c = 0; c < h->up.committed_count; c++) {
		const struct pbft_committed *cm = &h->up.committed[c];
		struct pbft_crypto crypto = {.verify = h_verify_any};
		char err[256];
		assert_int_equal(pbft_cert_verify(&crypto, h->n, (const uint8_t(*)[32])h->pks,
		                                  cm->seq, cm->digest, cm->cert, cm->cert_count,
		                                  err, sizeof err),
		                 0);
	}
	nd->timer_ms = h->up.timer_deadline_ms;
}

static void h_step(struct harness *h, uint32_t i, const struct pbft_event *ev)
{
	(void)pbft_step(h->nodes[i].p, ev, &h->up);
	h_apply(h, i);
}

static void h_wal_open(struct h_node *nd, struct pbft *replay_into)
{
	char err[512] = "";
	int rc = synod_wal_open(&nd->wal, nd->wal_dir,
	                        replay_into != NULL ? synod_wal_replay_pbft : NULL, replay_into,
	                        err, sizeof err);
	if (rc != 0) {
		fail_msg("wal %s: %s", nd->wal_dir, err);
	}
}

/* with_wal: every node also persists through a real WAL in a temp dir. */
static void h_init_ex(struct harness *h, uint32_t n, bool with_wal)
{
	memset(h, 0, sizeof *h);
	h->n = n;
	h->now_ms = 1000;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t seed[32] = {(uint8_t)(i + 1)};
		crypto_sign_ed25519_seed_keypair(h->pks[i], h->nodes[i].sk, seed);
		if (with_wal) {
			snprintf(h->nodes[i].wal_dir, sizeof h->nodes[i].wal_dir,
			         "/tmp/synod-pbft-wal.XXXXXX");
			assert_non_null(mkdtemp(h->nodes[i].wal_dir));
			h_wal_open(&h->nodes[i], NULL);
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		h_node_open(h, i);
		struct pbft_event ev = {.type = PBFT_EV_START, .now_ms = h->now_ms};
		h_step(h, i, &ev);
	}
}

static void h_init(struct harness *h, uint32_t n)
{
	h_init_ex(h, n, false);
}

static void h_close(struct harness *h)
{
	for (uint32_t i = 0; i < h->n; i++) {
		pbft_close(h->nodes[i].p);
		if (h->nodes[i].wal != NULL) {
			synod_wal_close(h->nodes[i].wal);
			char cmd[128];
			snprintf(cmd, sizeof cmd, "rm -rf '%s'", h->nodes[i].wal_dir);
			assert_int_equal(system(cmd), 0);
		}
		for (uint32_t r = 0; r < h->nodes[i].disk_count; r++) {
			free(h->nodes[i].disk[r].bytes);
		}
	}
	while (h->q_head != h->q_tail) {
		free(h->queue[h->q_head].bytes);
		h->q_head = (h->q_head + 1) % H_QUEUE_MAX;
	}
}

/* Delivers queued messages (and fires due timers) until quiet; bounded. */
static void h_run(struct harness *h, uint64_t ms)
{
	uint64_t end = h->now_ms + ms;
	for (uint32_t guard = 0; guard < 200000 && h->now_ms <= end; guard++) {
		if (h->q_head != h->q_tail) {
			struct h_msg m = h->queue[h->q_head];
			h->q_head = (h->q_head + 1) % H_QUEUE_MAX;
			bool typed_drop = m.len > 1 && m.bytes[1] < 32 &&
			                  (h->drop_types_to[m.to] & (1u << m.bytes[1])) != 0;
			if (!h->nodes[m.to].down && !h->drop_to[m.to] && !typed_drop) {
				struct pbft_event ev = {.type = PBFT_EV_RECEIVE,
				                        .now_ms = h->now_ms};
				ev.receive.from = 0;
				ev.receive.bytes = m.bytes;
				ev.receive.len = m.len;
				h_step(h, m.to, &ev);
			}
			free(m.bytes);
			continue;
		}
		h->now_ms += 1;
		for (uint32_t i = 0; i < h->n; i++) {
			struct h_node *nd = &h->nodes[i];
			if (!nd->down && nd->timer_ms != 0 && nd->timer_ms <= h->now_ms) {
				struct pbft_event ev = {.type = PBFT_EV_TIMEOUT,
				                        .now_ms = h->now_ms};
				h_step(h, i, &ev);
			}
		}
	}
}

static void h_submit(struct harness *h, uint32_t i, uint32_t k)
{
	char entry[64];
	int len = snprintf(entry, sizeof entry, "entry-%u-padding-to-make-it-longer", k);
	struct pbft_event ev = {.type = PBFT_EV_SUBMIT, .now_ms = h->now_ms};
	ev.submit.entry = (const uint8_t *)entry;
	ev.submit.len = (size_t)len;
	h_step(h, i, &ev);
}

static void assert_agreement(struct harness *h)
{
	for (uint32_t i = 0; i < h->n; i++) {
		for (uint32_t j = i + 1; j < h->n; j++) {
			struct h_app *a = &h->nodes[i].app, *b = &h->nodes[j].app;
			uint64_t upto = a->seq < b->seq ? a->seq : b->seq;
			static const uint8_t none[32];
			for (uint64_t s = 1; s <= upto && s < 256; s++) {
				/* a replica restored from a snapshot did not execute
				 * the batches below it */
				if (memcmp(a->executed[s], none, 32) != 0 &&
				    memcmp(b->executed[s], none, 32) != 0) {
					assert_memory_equal(a->executed[s], b->executed[s], 32);
				}
			}
		}
	}
}

static void pbft_orders_entries(void **state)
{
	(void)state;
	static struct harness h;
	h_init(&h, 4);
	for (uint32_t k = 0; k < 30; k++) {
		h_submit(&h, k % 4, k);
		h_run(&h, 5);
	}
	h_run(&h, 200);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(h.nodes[i].app.entries, 30);
		struct pbft_status st;
		pbft_status_get(h.nodes[i].p, &st);
		assert_int_equal(st.view, 0);
		assert_true(st.low_watermark >= 4); /* checkpoints became stable */
		assert_int_equal(st.pending_entries, 0);
	}
	assert_agreement(&h);
	h_close(&h);
}

static void pbft_same_entry_to_all_ordered_once(void **state)
{
	(void)state;
	static struct harness h;
	h_init(&h, 4);
	for (uint32_t k = 0; k < 10; k++) {
		for (uint32_t i = 0; i < 4; i++) {
			h_submit(&h, i, k);
		}
		h_run(&h, 3);
	}
	h_run(&h, 200);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(h.nodes[i].app.entries, 10);
	}
	h_close(&h);
}

/* A local client's second SUBMIT of an entry still pending forwards it again
 * at once: the first forward may have been dropped (a peer not connected),
 * and the driver re-submits when a peer comes up or its client retries. */
static void pbft_resubmit_forwards_again(void **state)
{
	(void)state;
	static struct harness h;
	h_init(&h, 4);
	for (uint32_t j = 0; j < 4; j++) {
		h.drop_to[j] = j != 1;
	}
	h_submit(&h, 1, 7);
	h_run(&h, 5); /* the forwards are lost */
	memset(h.drop_to, 0, sizeof h.drop_to);
	assert_int_equal(h.q_head, h.q_tail);
	h_submit(&h, 1, 7);
	assert_int_equal((h.q_tail + H_QUEUE_MAX - h.q_head) % H_QUEUE_MAX, 3);
	h_run(&h, 200);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(h.nodes[i].app.entries, 1);
	}
	h_close(&h);
}

/* A replica alone in a view change (it hears nobody) still forwards what
 * its clients submit: the others order it. Its REQUESTs carry no view that
 * matters, and without them the entry waits for a view change that may
 * never come. */
static void pbft_view_change_still_forwards(void **state)
{
	(void)state;
	static struct harness h;
	h_init(&h, 4);
	h.drop_to[3] = true;
	h_submit(&h, 3, 1);
	h_run(&h, 1000);
	struct pbft_status st;
	pbft_status_get(h.nodes[3].p, &st);
	assert_true(st.in_view_change);
	h_submit(&h, 3, 2);
	h_run(&h, 1000);
	for (uint32_t i = 0; i < 3; i++) {
		pbft_status_get(h.nodes[i].p, &st);
		assert_int_equal(st.view, 0);
		assert_int_equal(h.nodes[i].app.entries, 2);
	}
	h_close(&h);
}

static void pbft_primary_down_view_change(void **state)
{
	(void)state;
	static struct harness h;
	h_init(&h, 4);
	h_submit(&h, 1, 1);
	h_run(&h, 50);
	h.nodes[0].down = true; /* the primary of view 0 */
	for (uint32_t k = 2; k < 8; k++) {
		h_submit(&h, 1 + k % 3, k);
	}
	h_run(&h, 3000);
	for (uint32_t i = 1; i < 4; i++) {
		struct pbft_status st;
		pbft_status_get(h.nodes[i].p, &st);
		assert_true(st.view >= 1);
		assert_false(st.in_view_change);
		assert_int_equal(h.nodes[i].app.entries, 7);
	}
	assert_agreement(&h);
	h_close(&h);
}

/* app.overdue: a primary that keeps ordering entries, but never what the
 * app waits for, is replaced; executions do not restart the timer while the
 * app is overdue. The same traffic with nothing overdue keeps view 0. */
static void pbft_overdue_replaces_primary(void **state)
{
	(void)state;
	static struct harness h;
	for (int overdue = 0; overdue <= 1; overdue++) {
		h_init(&h, 4);
		for (uint32_t i = 0; i < 4; i++) {
			h.nodes[i].app.overdue_until_ms = overdue ? h.now_ms + 1500 : 0;
		}
		for (uint32_t k = 0; k < 60; k++) { /* an entry every 30 ms for 1.8 s */
			h_submit(&h, 1 + k % 3, k);
			h_run(&h, 30);
		}
		h_run(&h, 2000);
		for (uint32_t i = 0; i < 4; i++) {
			struct pbft_status st;
			pbft_status_get(h.nodes[i].p, &st);
			if (overdue) {
				assert_true(st.view >= 1);
			} else {
				assert_int_equal(st.view, 0);
			}
			assert_false(st.in_view_change);
			assert_int_equal(h.nodes[i].app.entries, 60);
		}
		assert_agreement(&h);
		h_close(&h);
	}
}

/* Orders `first` entries, closes replica 2 and reopens it from its records
 * alone (in memory, or through real WAL files: every update one frame,
 * checkpoints truncating the WAL to a segment or two); it must have the state
 * it had and order `more` entries with the others. */
static void restart_check(bool with_wal, uint32_t first, uint32_t more)
{
	static struct harness h;
	h_init_ex(&h, 4, with_wal);
	for (uint32_t k = 0; k < first; k++) {
		h_submit(&h, k % 4, k);
		h_run(&h, 5);
	}
	h_run(&h, 100);
	struct h_node *nd = &h.nodes[2];
	assert_int_equal(nd->app.entries, first);
	uint8_t before[32];
	memcpy(before, nd->app.state, 32);
	pbft_close(nd->p);
	if (with_wal) {
		struct synod_wal_stats ws;
		synod_wal_stats_get(nd->wal, &ws);
		assert_true(ws.truncations >= first / 8); /* a checkpoint every 4 seqs */
		assert_true(ws.segments <= 2);
		synod_wal_close(nd->wal);
		nd->wal = NULL;
	}
	memset(&nd->app, 0, sizeof nd->app);
	h_node_open(&h, 2);
	if (with_wal) {
		h_wal_open(nd, nd->p);
	} else {
		for (uint32_t r = 0; r < nd->disk_count; r++) {
			assert_int_equal(pbft_restore(nd->p, nd->disk[r].type, nd->disk[r].bytes,
			                              nd->disk[r].len),
			                 0);
		}
	}
	struct pbft_event ev = {.type = PBFT_EV_START, .now_ms = h.now_ms};
	h_step(&h, 2, &ev);
	assert_int_equal(nd->app.entries, first);
	assert_memory_equal(nd->app.state, before, 32);
	for (uint32_t k = 0; k < more; k++) {
		h_submit(&h, 2, 1000 + k);
		h_run(&h, 5);
	}
	h_run(&h, 300);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(h.nodes[i].app.entries, first + more);
	}
	assert_agreement(&h);
	h_close(&h);
}

static void pbft_restart_from_records(void **state)
{
	(void)state;
	restart_check(false, 13, 1);
}

static void pbft_restart_from_wal(void **state)
{
	(void)state;
	restart_check(true, 41, 10);
}

/* Section 4.4 with a backup that is behind. Replica 3 executes seqs 1..5 and
 * is cut off while 0, 1 and 2 advance to a stable checkpoint at 24 (3's h + L
 * is 4 + 8). Then 0, the primary of view 0, pre-prepares 25..27, hears
 * nothing (1 and 2 prepare them but cannot commit without a third replica)
 * and goes down; 3 is back. 1 and 2 change view and 3 joins: the NEW-VIEW
 * has min-s = 24 and O = 25..27, all above 3's h + L, and with 0 down the
 * primary 1 needs PREPAREs from both 2 and 3. Returns with replica 3 in
 * view 1 (its NEW-VIEW just processed). */
static void behind_new_view_setup(struct harness *h, bool with_wal, uint32_t drop_types_3)
{
	h_init_ex(h, 4, with_wal);
	for (uint32_t k = 0; k < 5; k++) {
		h_submit(h, 0, k);
		h_run(h, 5);
	}
	assert_int_equal(h->nodes[3].app.seq, 5);
	h->drop_to[3] = true;
	for (uint32_t k = 5; k < 24; k++) {
		h_submit(h, 0, k);
		h_run(h, 5);
	}
	h_run(h, 20);
	for (uint32_t i = 0; i < 3; i++) {
		struct pbft_status st;
		pbft_status_get(h->nodes[i].p, &st);
		assert_int_equal(st.last_executed, 24);
		assert_int_equal(st.low_watermark, 24);
	}
	h->drop_to[0] = true;
	for (uint32_t k = 24; k < 27; k++) {
		h_submit(h, 0, k);
		h_run(h, 3);
	}
	h->nodes[0].down = true;
	h_run(h, 10); /* 1 and 2 prepare 25..27 */
	h->drop_to[3] = false;
	h->drop_types_to[3] = drop_types_3;
	struct pbft_status st = {0};
	for (uint32_t guard = 0; guard < 5000; guard++) {
		pbft_status_get(h->nodes[3].p, &st);
		if (st.view == 1 && !st.in_view_change) {
			break;
		}
		h_run(h, 0);
	}
	assert_int_equal(st.view, 1);
	assert_false(st.in_view_change);
}

static void assert_replica(struct harness *h, uint32_t i, uint64_t view, uint64_t low,
                           uint64_t executed)
{
	struct pbft_status st;
	pbft_status_get(h->nodes[i].p, &st);
	assert_int_equal(st.view, view);
	assert_false(st.in_view_change);
	assert_int_equal(st.low_watermark, low);
	assert_int_equal(st.last_executed, executed);
	assert_int_equal(h->nodes[i].app.seq, executed);
}

/* The behind backup adopts min-s's proof, logs all of O and prepares it at
 * once: O executes everywhere (3 after fetching the snapshot at 24) before
 * any timer could fire, and view 1 stays. */
static void pbft_new_view_behind_logs_o(void **state)
{
	(void)state;
	static struct harness h;
	behind_new_view_setup(&h, false, 0);
	/* Less than one view-change timeout (timeout_ms_min = 100): without
	 * 3's PREPAREs, O waits for a retransmission or another view change. */
	h_run(&h, 40);
	for (uint32_t i = 1; i < 4; i++) {
		assert_replica(&h, i, 1, 24, 27);
		assert_int_equal(h.nodes[i].app.entries, 27);
	}
	struct pbft_status st;
	pbft_status_get(h.nodes[3].p, &st);
	assert_true(st.state_transfers >= 1);
	h_submit(&h, 2, 100);
	h_run(&h, 3000);
	for (uint32_t i = 1; i < 4; i++) {
		assert_replica(&h, i, 1, 28, 28);
		assert_int_equal(h.nodes[i].app.entries, 28);
	}
	assert_agreement(&h);
	h_close(&h);
}

/* Replica 3 closed and reopened from its records alone (through the WAL, or
 * every record it ever wrote); its app must come back as it was. */
static void h_reopen(struct harness *h, uint32_t i, bool from_wal)
{
	struct h_node *nd = &h->nodes[i];
	struct h_app before = nd->app;
	pbft_close(nd->p);
	if (from_wal) {
		synod_wal_close(nd->wal);
		nd->wal = NULL;
	}
	memset(&nd->app, 0, sizeof nd->app);
	h_node_open(h, i);
	if (from_wal) {
		h_wal_open(nd, nd->p);
	} else {
		for (uint32_t r = 0; r < nd->disk_count; r++) {
			assert_int_equal(pbft_restore(nd->p, nd->disk[r].type, nd->disk[r].bytes,
			                              nd->disk[r].len),
			                 0);
		}
	}
	struct pbft_event ev = {.type = PBFT_EV_START, .now_ms = h->now_ms};
	h_step(h, i, &ev);
	assert_int_equal(nd->app.seq, before.seq);
	assert_memory_equal(nd->app.state, before.state, 32);
	assert_int_equal(nd->app.entries, before.entries);
}

/* Delivers to node `to` a STATE for seq that no replica sent: the harness
 * snapshot (state, seq, entries), no batches, and CHECKPOINTs for it signed
 * with the keys of 0, 1 and 2 (a quorum, which only this test holds). */
static void h_forged_state(struct harness *h, uint32_t to, uint64_t seq, const uint8_t state[32],
                           uint64_t entries)
{
	uint8_t snap[48];
	struct h_app scratch = {0};
	memcpy(snap, state, 32);
	memcpy(snap + 32, &seq, 8);
	memcpy(snap + 40, &entries, 8);
	struct pbft_core ck = {.type = PBFT_MSG_CHECKPOINT, .view = 1, .seq = seq};
	h_digest(&scratch, snap, sizeof snap, ck.digest);
	static uint8_t payload[4096], msg[8192];
	struct synod_wbuf w;
	synod_wbuf_init(&w, payload, sizeof payload);
	synod_wbuf_u32(&w, 3);
	for (uint16_t i = 0; i < 3; i++) {
		uint8_t sb[PBFT_CORE_SIGNED_BYTES];
		ck.sender = i;
		pbft_core_signed_bytes(&ck, sb);
		crypto_sign_ed25519_detached(ck.sig, NULL, sb, sizeof sb, h->nodes[i].sk);
		pbft_core_encode(&ck, synod_wbuf_reserve(&w, PBFT_CORE_BYTES));
	}
	synod_wbuf_blob(&w, snap, sizeof snap);
	synod_wbuf_u32(&w, 0);
	assert_int_equal(w.err, 0);
	struct pbft_core c = {.type = PBFT_MSG_STATE, .sender = 1, .view = 1, .seq = seq};
	synod_sha256(c.digest, payload, w.len);
	uint8_t sb[PBFT_CORE_SIGNED_BYTES];
	pbft_core_signed_bytes(&c, sb);
	crypto_sign_ed25519_detached(c.sig, NULL, sb, sizeof sb, h->nodes[1].sk);
	size_t len = 0;
	assert_int_equal(pbft_msg_encode(&c, payload, (uint32_t)w.len, msg, sizeof msg, &len), 0);
	struct pbft_event ev = {.type = PBFT_EV_RECEIVE, .now_ms = h->now_ms};
	ev.receive.from = 1;
	ev.receive.bytes = msg;
	ev.receive.len = len;
	h_step(h, to, &ev);
}

/* The same with every STATE to 3 lost: 3 holds the adopted checkpoint at 24
 * without its snapshot (h = 24, executed through 5), and O still commits at
 * 1 and 2 with its votes. 3 restarts in that state (from the WAL, which the
 * adoption truncated) and, once STATEs get through (its progress timer asks
 * again), installs the snapshot and executes O; it restarts again from all
 * its records. */
static void pbft_new_view_behind_restart(void **state)
{
	(void)state;
	static struct harness h;
	behind_new_view_setup(&h, true, 1u << PBFT_MSG_STATE);
	h_run(&h, 40);
	for (uint32_t i = 1; i < 3; i++) {
		assert_replica(&h, i, 1, 24, 27);
	}
	assert_replica(&h, 3, 1, 24, 5);
	/* A snapshot for 24 other than the one the adopted proof names is
	 * refused, even with a proof of its own; one below 24 is of no use. */
	struct pbft_status st;
	pbft_status_get(h.nodes[3].p, &st);
	const uint8_t other[32] = {0xaa};
	h_forged_state(&h, 3, 24, other, 24);
	h_forged_state(&h, 3, 20, h.nodes[1].app.states[20], 20);
	assert_replica(&h, 3, 1, 24, 5);
	uint64_t rejected = st.msgs_rejected;
	pbft_status_get(h.nodes[3].p, &st);
	assert_int_equal(st.msgs_rejected, rejected + 1);
	h_reopen(&h, 3, true);
	assert_replica(&h, 3, 1, 24, 5);
	/* The right snapshot, with no batches (as from a replica that has not
	 * executed past 24): installing it runs the O batches 3 committed. */
	h_forged_state(&h, 3, 24, h.nodes[1].app.states[24], 24);
	assert_replica(&h, 3, 1, 24, 27);
	h.drop_types_to[3] = 0;
	h_run(&h, 300);
	for (uint32_t i = 1; i < 4; i++) {
		assert_replica(&h, i, 1, 24, 27);
	}
	h_reopen(&h, 3, false);
	assert_replica(&h, 3, 1, 24, 27);
	h_submit(&h, 3, 100);
	h_run(&h, 3000);
	for (uint32_t i = 1; i < 4; i++) {
		assert_replica(&h, i, 1, 28, 28);
		assert_int_equal(h.nodes[i].app.entries, 28);
	}
	assert_agreement(&h);
	h_close(&h);
}

/* Primary 0 pre-prepares entry 0 at seq 1, no COMMIT gets through, and it
 * restarts from its records: seq 1 is in its log, its pending queue is gone.
 * The client submits the entry again: it is in flight at seq 1, so the
 * primary must not order it a second time at seq 2 (it did before the log
 * was searched when an entry is queued). */
static void pbft_restarted_primary_entry_in_log(void **state)
{
	(void)state;
	static struct harness h;
	h_init(&h, 4);
	for (uint32_t i = 0; i < 4; i++) {
		h.drop_types_to[i] = 1u << PBFT_MSG_COMMIT;
	}
	h_submit(&h, 0, 0);
	h_run(&h, 5);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(h.nodes[i].app.seq, 0);
	}
	h_reopen(&h, 0, false);
	h_submit(&h, 0, 0);
	h_run(&h, 5);
	for (uint32_t i = 0; i < 4; i++) {
		h.drop_types_to[i] = 0;
	}
	h_run(&h, 3000);
	for (uint32_t i = 0; i < 4; i++) {
		assert_true(h.nodes[i].app.seq >= 1);
		assert_int_equal(h.nodes[i].app.entries, 1);
	}
	assert_agreement(&h);
	h_close(&h);
}

/* Replica 1 hears only the REQUESTs while 0, 2 and 3 order 24 entries past
 * a stable checkpoint, so it holds them all pending. Primary 0 goes down, an
 * entry is submitted at 2, and replica 1 becomes the primary of view 1 with
 * every STATE to it lost: it adopts the NEW-VIEW's checkpoint without its
 * snapshot and cannot tell its pending entries were executed. It must
 * propose none of them (it did, and 2 and 3 executed them twice). (The
 * harness app has no app.executed, so the test ends before 1 gets the
 * snapshot: the simulator covers the reconcile that follows.) */
static void pbft_behind_primary_proposes_nothing(void **state)
{
	(void)state;
	static struct harness h;
	h_init(&h, 4);
	h.drop_types_to[1] = ~(1u << PBFT_MSG_REQUEST);
	for (uint32_t k = 0; k < 24; k++) {
		h_submit(&h, 0, k);
		h_run(&h, 1);
	}
	struct pbft_status st;
	pbft_status_get(h.nodes[2].p, &st);
	assert_int_equal(h.nodes[2].app.entries, 24);
	assert_true(st.low_watermark >= 8);
	pbft_status_get(h.nodes[1].p, &st);
	assert_int_equal(st.pending_entries, 24);
	assert_int_equal(st.view, 0);
	h.nodes[0].down = true;
	h.drop_types_to[1] = 1u << PBFT_MSG_STATE;
	h_submit(&h, 2, 100);
	for (uint32_t guard = 0; guard < 1000; guard++) {
		pbft_status_get(h.nodes[1].p, &st);
		if (st.view >= 1 && !st.in_view_change) {
			break;
		}
		h_run(&h, 1);
	}
	assert_int_equal(st.view, 1);
	assert_true(st.last_executed < st.low_watermark);
	h_run(&h, 50); /* less than a view-change timeout */
	for (uint32_t i = 2; i < 4; i++) {
		assert_int_equal(h.nodes[i].app.entries, 24);
	}
	/* View 1 orders nothing: 2 and 3 move on to view 2, whose primary 2
	 * orders entry 100 (with 1's votes: 0 is still down). */
	h_run(&h, 3000);
	for (uint32_t i = 2; i < 4; i++) {
		assert_int_equal(h.nodes[i].app.entries, 25);
		pbft_status_get(h.nodes[i].p, &st);
		assert_true(st.view >= 2);
	}
	assert_agreement(&h);
	h_close(&h);
}

static void pbft_cert_verify_rejects(void **state)
{
	(void)state;
	static struct harness h;
	h_init(&h, 4);
	h_submit(&h, 0, 1);
	/* capture a committed batch from node 3 */
	h_run(&h, 50);
	const uint8_t *d = h.nodes[3].app.executed[1];
	(void)d;
	/* Build a certificate by hand: three COMMITs signed by 0, 1, 2. */
	uint8_t digest[32] = {7};
	uint8_t cert[4 * PBFT_CORE_BYTES];
	for (uint32_t i = 0; i < 4; i++) {
		struct pbft_core c = {
		    .type = PBFT_MSG_COMMIT, .sender = (uint16_t)i, .view = 2, .seq = 9};
		memcpy(c.digest, digest, 32);
		uint8_t sb[PBFT_CORE_SIGNED_BYTES];
		pbft_core_signed_bytes(&c, sb);
		crypto_sign_ed25519_detached(c.sig, NULL, sb, sizeof sb, h.nodes[i].sk);
		pbft_core_encode(&c, cert + i * PBFT_CORE_BYTES);
	}
	struct pbft_crypto crypto = {.verify = h_verify_any};
	char err[256];
	const uint8_t(*pks)[32] = (const uint8_t(*)[32])h.pks;
	assert_int_equal(pbft_cert_verify(&crypto, 4, pks, 9, digest, cert, 3, err, sizeof err), 0);
	/* 2f = 2 signatures are not enough */
	assert_int_equal(pbft_cert_verify(&crypto, 4, pks, 9, digest, cert, 2, err, sizeof err),
	                 SYNOD_ECERT);
	assert_non_null(strstr(err, "needs 3"));
	/* the same sender twice does not count twice */
	uint8_t dup[3 * PBFT_CORE_BYTES];
	memcpy(dup, cert, 2 * PBFT_CORE_BYTES);
	memcpy(dup + 2 * PBFT_CORE_BYTES, cert, PBFT_CORE_BYTES);
	assert_int_equal(pbft_cert_verify(&crypto, 4, pks, 9, digest, dup, 3, err, sizeof err),
	                 SYNOD_ECERT);
	/* another seq, another digest */
	assert_int_equal(pbft_cert_verify(&crypto, 4, pks, 10, digest, cert, 3, err, sizeof err),
	                 SYNOD_ECERT);
	uint8_t other[32] = {8};
	assert_int_equal(pbft_cert_verify(&crypto, 4, pks, 9, other, cert, 3, err, sizeof err),
	                 SYNOD_ECERT);
	/* a flipped signature bit */
	cert[PBFT_CORE_BYTES + 60] ^= 1;
	assert_int_equal(pbft_cert_verify(&crypto, 4, pks, 9, digest, cert, 3, err, sizeof err),
	                 SYNOD_ECERT);
	assert_non_null(strstr(err, "bad signature"));
	h_close(&h);
}

/* The stable checkpoint's proof, as a driver gets it, is a certificate anyone
 * can check: 2f+1 CHECKPOINTs for (seq, app.digest of the snapshot). */
static void pbft_stable_checkpoint_certified(void **state)
{
	(void)state;
	static struct harness h;
	h_init(&h, 4);
	uint64_t seq = 0;
	uint32_t count = 0;
	uint8_t cores[PBFT_REPLICAS_MAX * PBFT_CORE_BYTES];
	assert_int_equal(pbft_stable_checkpoint_get(h.nodes[0].p, &seq, cores, 4, &count), 0);
	assert_int_equal(seq, 0); /* none yet */
	for (uint32_t k = 0; k < 24; k++) {
		h_submit(&h, k % 4, k);
	}
	h_run(&h, 2000);
	assert_int_equal(pbft_stable_checkpoint_get(h.nodes[0].p, &seq, cores, 4, &count), 0);
	assert_true(seq >= 4 && seq % 4 == 0);
	assert_true(count >= 3);
	assert_true(h.nodes[0].app.digests > 0);
	assert_int_equal(pbft_stable_checkpoint_get(h.nodes[0].p, &seq, cores, 2, &count),
	                 SYNOD_ELIMIT);
	assert_int_equal(pbft_stable_checkpoint_get(h.nodes[0].p, &seq, cores, 4, &count), 0);
	struct pbft_core first;
	assert_int_equal(pbft_core_decode(&first, cores), 0);
	assert_int_equal(first.type, PBFT_MSG_CHECKPOINT);
	struct pbft_crypto crypto = {.verify = h_verify_any};
	const uint8_t(*pks)[32] = (const uint8_t(*)[32])h.pks;
	char err[256];
	assert_int_equal(pbft_checkpoint_cert_verify(&crypto, 4, pks, seq, first.digest, cores,
	                                             count, err, sizeof err),
	                 0);
	/* a checkpoint certificate is not a commit certificate, and 2f is not 2f+1 */
	assert_int_equal(
	    pbft_cert_verify(&crypto, 4, pks, seq, first.digest, cores, count, err, sizeof err),
	    SYNOD_ECERT);
	assert_non_null(strstr(err, "is not a COMMIT"));
	assert_int_equal(pbft_checkpoint_cert_verify(&crypto, 4, pks, seq, first.digest, cores, 2,
	                                             err, sizeof err),
	                 SYNOD_ECERT);
	assert_non_null(strstr(err, "valid CHECKPOINTs, needs 3"));
	/* CHECKPOINTs from different views make one certificate; COMMITs do not */
	uint8_t digest[32] = {5};
	uint8_t mixed[2][3 * PBFT_CORE_BYTES];
	for (int type = 0; type < 2; type++) {
		for (uint32_t i = 0; i < 3; i++) {
			struct pbft_core c = {.type =
			                          type == 0 ? PBFT_MSG_CHECKPOINT : PBFT_MSG_COMMIT,
			                      .sender = (uint16_t)i,
			                      .view = i,
			                      .seq = 8};
			memcpy(c.digest, digest, 32);
			uint8_t sb[PBFT_CORE_SIGNED_BYTES];
			pbft_core_signed_bytes(&c, sb);
			crypto_sign_ed25519_detached(c.sig, NULL, sb, sizeof sb, h.nodes[i].sk);
			pbft_core_encode(&c, mixed[type] + i * PBFT_CORE_BYTES);
		}
	}
	assert_int_equal(
	    pbft_checkpoint_cert_verify(&crypto, 4, pks, 8, digest, mixed[0], 3, err, sizeof err),
	    0);
	assert_int_equal(pbft_cert_verify(&crypto, 4, pks, 8, digest, mixed[1], 3, err, sizeof err),
	                 SYNOD_ECERT);
	assert_non_null(strstr(err, "another view"));
	mixed[0][PBFT_CORE_BYTES + 70] ^= 1; /* a flipped signature bit */
	assert_int_equal(
	    pbft_checkpoint_cert_verify(&crypto, 4, pks, 8, digest, mixed[0], 3, err, sizeof err),
	    SYNOD_ECERT);
	assert_non_null(strstr(err, "bad signature"));
	h_close(&h);
}

static void pbft_config_rejected(void **state)
{
	(void)state;
	struct pbft_config cfg;
	struct pbft *p = NULL;
	char err[256];
	pbft_config_defaults(&cfg);
	cfg.replicas = 5; /* not 3f+1 */
	assert_int_equal(pbft_init(&p, &cfg, err, sizeof err), SYNOD_ECONFIG);
	assert_non_null(strstr(err, "3f+1"));
	cfg.replicas = 4;
	cfg.self = 4;
	assert_int_equal(pbft_init(&p, &cfg, err, sizeof err), SYNOD_ECONFIG);
	cfg.self = 0;
	cfg.window = 12; /* not a multiple of 8 */
	assert_int_equal(pbft_init(&p, &cfg, err, sizeof err), SYNOD_ECONFIG);
	assert_non_null(strstr(err, "window"));
	assert_null(p);
}

/* One key at two indexes would count twice in every quorum. */
static void pbft_config_duplicate_key_rejected(void **state)
{
	(void)state;
	struct harness h;
	h_init(&h, 4);
	struct pbft_config cfg;
	struct pbft *p = NULL;
	char err[256];
	h_config(&h, 1, &cfg);
	memcpy(cfg.pubkeys[2], cfg.pubkeys[0], 32);
	assert_int_equal(pbft_init(&p, &cfg, err, sizeof err), SYNOD_ECONFIG);
	assert_non_null(strstr(err, "pubkeys[2] repeats pubkeys[0]"));
	assert_null(p);
	h_close(&h);
}

int main(void)
{
	if (sodium_init() < 0) {
		return 1;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(pbft_orders_entries),
	    cmocka_unit_test(pbft_same_entry_to_all_ordered_once),
	    cmocka_unit_test(pbft_resubmit_forwards_again),
	    cmocka_unit_test(pbft_view_change_still_forwards),
	    cmocka_unit_test(pbft_primary_down_view_change),
	    cmocka_unit_test(pbft_overdue_replaces_primary),
	    cmocka_unit_test(pbft_restart_from_records),
	    cmocka_unit_test(pbft_restart_from_wal),
	    cmocka_unit_test(pbft_new_view_behind_logs_o),
	    cmocka_unit_test(pbft_new_view_behind_restart),
	    cmocka_unit_test(pbft_restarted_primary_entry_in_log),
	    cmocka_unit_test(pbft_behind_primary_proposes_nothing),
	    cmocka_unit_test(pbft_cert_verify_rejects),
	    cmocka_unit_test(pbft_stable_checkpoint_certified),
	    cmocka_unit_test(pbft_config_rejected),
	    cmocka_unit_test(pbft_config_duplicate_key_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

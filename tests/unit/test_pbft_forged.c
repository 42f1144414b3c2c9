/* One replica against forged messages, each well formed and wrong in
 * exactly one respect. The test holds every replica's key, so a forgery can
 * be valid in all but the one property a check of the core is there for;
 * each case first shows that the same message without the defect is
 * accepted, so a refusal is that check's doing. The simulator's Byzantine
 * replicas hold one key only; what they cannot forge alone is pinned down
 * here (tests/sim/README.md: the mutation table). */
#include "common/hash.h"
#include "common/log.h"
#include "common/wire.h"
#include "coordinator/pbft/msg.h"
#include "coordinator/pbft/pbft.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#define T_N    4u
#define T_SELF 1u
#define T_K    4u
#define T_L    8u
#define T_BUF  (256u * 1024u)

struct t_app {
	uint64_t seq;
	uint8_t state[32];
	uint8_t executed[16][32]; /* batch digest per seq */
};

struct t {
	struct pbft *p;
	struct t_app app;
	struct pbft_update up;
	uint8_t pk[T_N][32];
	uint8_t sk[T_N][64];
	uint64_t now_ms;
	uint8_t buf[T_BUF];
	uint8_t pay[T_BUF];
};

static int t_sign(void *ctx, uint8_t sig[64], const uint8_t *msg, size_t len)
{
	const struct t *t = ctx;
	return crypto_sign_ed25519_detached(sig, NULL, msg, len, t->sk[T_SELF]);
}

static int t_verify(void *ctx, const uint8_t sig[64], const uint8_t *msg, size_t len,
                    const uint8_t pk[32])
{
	(void)ctx;
	return crypto_sign_ed25519_verify_detached(sig, msg, len, pk);
}

static void t_execute(void *ctx, uint64_t seq, const uint8_t *batch, size_t len)
{
	struct t_app *a = ctx;
	uint8_t buf[64];
	assert_int_equal(seq, a->seq + 1);
	memcpy(buf, a->state, 32);
	synod_sha256(buf + 32, batch, len);
	synod_sha256(a->state, buf, sizeof buf);
	a->seq = seq;
	if (seq < 16) {
		pbft_batch_digest(a->executed[seq], batch, len);
	}
}

static int t_snapshot(void *ctx, uint8_t *buf, size_t cap, size_t *len)
{
	const struct t_app *a = ctx;
	if (cap < 40) {
		return SYNOD_ELIMIT;
	}
	memcpy(buf, a->state, 32);
	memcpy(buf + 32, &a->seq, 8);
	*len = 40;
	return 0;
}

static int t_restore(void *ctx, uint64_t seq, const uint8_t *snap, size_t len)
{
	struct t_app *a = ctx;
	if (len != 40) {
		return SYNOD_EINVAL;
	}
	memcpy(a->state, snap, 32);
	a->seq = seq;
	return 0;
}

static struct t *t_open(void)
{
	struct t *t = calloc(1, sizeof *t);
	assert_non_null(t);
	for (uint32_t i = 0; i < T_N; i++) {
		uint8_t seed[32] = {(uint8_t)(i + 11)};
		crypto_sign_ed25519_seed_keypair(t->pk[i], t->sk[i], seed);
	}
	struct pbft_config cfg;
	pbft_config_defaults(&cfg);
	cfg.replicas = T_N;
	cfg.self = T_SELF;
	memcpy(cfg.pubkeys, t->pk, sizeof t->pk);
	cfg.checkpoint_interval = T_K;
	cfg.window = T_L;
	cfg.batch_entries_max = 4;
	cfg.batch_bytes_max = 4096;
	cfg.entry_bytes_max = 512;
	cfg.pending_entries_max = 64;
	cfg.snapshot_bytes_max = 256;
	cfg.timeout_ms_min = 100;
	cfg.timeout_ms_max = 1600;
	cfg.crypto = (struct pbft_crypto){.ctx = t, .sign = t_sign, .verify = t_verify};
	cfg.app = (struct pbft_app){
	    .ctx = &t->app, .execute = t_execute, .snapshot = t_snapshot, .restore = t_restore};
	char err[256];
	assert_int_equal(pbft_init(&t->p, &cfg, err, sizeof err), 0);
	t->now_ms = 1000;
	struct pbft_event ev = {.type = PBFT_EV_START, .now_ms = t->now_ms};
	(void)pbft_step(t->p, &ev, &t->up);
	return t;
}

static void t_close(struct t *t)
{
	pbft_close(t->p);
	free(t);
}

static struct pbft_status t_status(const struct t *t)
{
	struct pbft_status st;
	pbft_status_get(t->p, &st);
	return st;
}

/* ---- building messages ---- */

static struct pbft_core t_core(uint8_t type, uint32_t sender, uint64_t view, uint64_t seq,
                               const uint8_t digest[32])
{
	struct pbft_core c = {.type = type, .sender = (uint16_t)sender, .view = view, .seq = seq};
	if (digest != NULL) {
		memcpy(c.digest, digest, 32);
	}
	return c;
}

/* Signs c with signer's key (whatever sender c names). */
static void t_sign_as(const struct t *t, struct pbft_core *c, uint32_t signer)
{
	uint8_t sb[PBFT_CORE_SIGNED_BYTES];
	pbft_core_signed_bytes(c, sb);
	crypto_sign_ed25519_detached(c->sig, NULL, sb, sizeof sb, t->sk[signer]);
}

static void t_put_core(const struct t *t, struct synod_wbuf *w, struct pbft_core c, int signer)
{
	uint8_t enc[PBFT_CORE_BYTES];
	t_sign_as(t, &c, signer < 0 ? c.sender : (uint32_t)signer);
	pbft_core_encode(&c, enc);
	synod_wbuf_bytes(w, enc, sizeof enc);
}

/* A one-entry batch; *digest gets its digest. */
static size_t t_batch(uint8_t *out, size_t cap, const char *entry, uint8_t digest[32])
{
	struct pbft_batch_writer w;
	pbft_batch_writer_init(&w, out, cap);
	assert_int_equal(pbft_batch_writer_add(&w, (const uint8_t *)entry, (uint32_t)strlen(entry)),
	                 0);
	size_t len = pbft_batch_writer_finish(&w);
	pbft_batch_digest(digest, out, len);
	return len;
}

/* Delivers core | payload (core signed by its sender); returns pbft_step's. */
static int t_deliver(struct t *t, struct pbft_core c, const uint8_t *payload, size_t len)
{
	size_t out_len = 0;
	if (c.type == PBFT_MSG_VIEW_CHANGE || c.type == PBFT_MSG_NEW_VIEW ||
	    c.type == PBFT_MSG_STATE) {
		synod_sha256(c.digest, payload, len);
	}
	t_sign_as(t, &c, c.sender);
	assert_int_equal(pbft_msg_encode(&c, payload, (uint32_t)len, t->buf, T_BUF, &out_len), 0);
	t->now_ms += 1;
	struct pbft_event ev = {.type = PBFT_EV_RECEIVE, .now_ms = t->now_ms};
	ev.receive.from = c.sender;
	ev.receive.bytes = t->buf;
	ev.receive.len = out_len;
	return pbft_step(t->p, &ev, &t->up);
}

/* ---- VIEW-CHANGE: C (checkpoint proof) and P (prepared certificates) ---- */

enum vc_defect {
	VC_NONE,
	CP_BAD_SIG,    /* a CHECKPOINT signed with another replica's key */
	CP_OTHER_SEQ,  /* a CHECKPOINT for another sequence number */
	CP_DUP,        /* one sender twice */
	CP_OTHER_DIG,  /* a CHECKPOINT for another digest */
	CP_SHORT,      /* 2f CHECKPOINTs */
	VC_H_NOT_K,    /* h not a checkpoint sequence number (with a proof for it) */
	VC_C_WITH_H0,  /* h = 0 with a C (unchecked) */
	PP_NEW_VIEW,   /* the PRE-PREPARE is of the new view */
	PP_BACKUP,     /* the PRE-PREPARE is a backup's, signed by it */
	PP_BAD_SIG,    /* the PRE-PREPARE is signed with a backup's key */
	PR_BAD_SIG,    /* a PREPARE signed with another key */
	PR_OTHER_VIEW, /* a PREPARE of another view */
	PR_OTHER_SEQ,  /* a PREPARE for another sequence number */
	PR_PRIMARY,    /* a PREPARE from the primary */
	PR_DUP,        /* one PREPARE twice */
	PR_OTHER_DIG,  /* a PREPARE for another digest */
	PR_SHORT,      /* 2f-1 PREPAREs */
	P_SEQ_TWICE,   /* two certificates for one sequence number */
	P_BEYOND,      /* a certificate above h + L */
	CC_NEW_VIEW,   /* a commit certificate of the new view */
	CC_SHORT,      /* a commit certificate of 2f COMMITs */
};

/* C: 2f+1 CHECKPOINTs for (seq, digest) from 0, 2, 3, with defect d. */
static void t_put_proof(const struct t *t, struct synod_wbuf *w, uint64_t seq,
                        const uint8_t digest[32], enum vc_defect d)
{
	static const uint32_t from[3] = {0, 2, 3};
	uint32_t count = d == CP_SHORT ? 2 : 3;
	synod_wbuf_u32(w, count);
	for (uint32_t i = 0; i < count; i++) {
		struct pbft_core c = t_core(PBFT_MSG_CHECKPOINT, from[i], 0, seq, digest);
		int signer = -1;
		if (i == 2 && d == CP_BAD_SIG) {
			signer = 0;
		} else if (i == 2 && d == CP_OTHER_SEQ) {
			c.seq += T_K;
		} else if (i == 2 && d == CP_DUP) {
			c.sender = 0;
		} else if (i == 2 && d == CP_OTHER_DIG) {
			c.digest[0] ^= 1;
		}
		t_put_core(t, w, c, signer);
	}
}

/* A prepared certificate for (pview, seq): the PRE-PREPARE of pview's
 * primary and PREPAREs from two backups other than T_SELF. */
static void t_put_prepared(const struct t *t, struct synod_wbuf *w, uint64_t view, uint64_t pview,
                           uint64_t seq, enum vc_defect d)
{
	uint8_t batch[128], digest[32];
	size_t blen = t_batch(batch, sizeof batch, "certified-entry", digest);
	uint32_t primary = (uint32_t)(pview % T_N);
	if (d == PP_NEW_VIEW) {
		pview = view;
		primary = (uint32_t)(pview % T_N);
	}
	struct pbft_core pp = t_core(PBFT_MSG_PRE_PREPARE, primary, pview, seq, digest);
	int pp_signer = -1;
	uint32_t backups[T_N], nb = 0;
	for (uint32_t j = 0; j < T_N; j++) {
		if (j != primary && j != T_SELF) {
			backups[nb++] = j;
		}
	}
	if (d == PP_BACKUP) {
		pp.sender = (uint16_t)backups[0];
		backups[0] = T_SELF; /* a PREPARE from the sender of the PRE-PREPARE would be a
		                        second defect */
	} else if (d == PP_BAD_SIG) {
		pp_signer = (int)backups[0];
	}
	synod_wbuf_u8(w, PBFT_CERT_PREPARED);
	t_put_core(t, w, pp, pp_signer);
	synod_wbuf_blob(w, batch, blen);
	uint32_t count = d == PR_SHORT ? 1 : 2;
	synod_wbuf_u32(w, count);
	for (uint32_t i = 0; i < count; i++) {
		struct pbft_core c = t_core(PBFT_MSG_PREPARE, backups[i], pview, seq, digest);
		int signer = -1;
		if (i == 1 && d == PR_BAD_SIG) {
			signer = (int)backups[0];
		} else if (i == 1 && d == PR_OTHER_VIEW) {
			c.view += 1;
		} else if (i == 1 && d == PR_OTHER_SEQ) {
			c.seq += 1;
		} else if (i == 1 && d == PR_PRIMARY) {
			c.sender = (uint16_t)primary;
		} else if (i == 1 && d == PR_DUP) {
			c.sender = (uint16_t)backups[0];
		} else if (i == 1 && d == PR_OTHER_DIG) {
			c.digest[0] ^= 1;
		}
		t_put_core(t, w, c, signer);
	}
}

/* A commit certificate for seq in cview: COMMITs from 0, 2, 3. */
static void t_put_committed(const struct t *t, struct synod_wbuf *w, uint64_t cview, uint64_t seq,
                            enum vc_defect d)
{
	uint8_t batch[128], digest[32];
	size_t blen = t_batch(batch, sizeof batch, "committed-entry", digest);
	static const uint32_t from[3] = {0, 2, 3};
	uint32_t count = d == CC_SHORT ? 2 : 3;
	synod_wbuf_u8(w, PBFT_CERT_COMMITTED);
	synod_wbuf_u64(w, seq);
	synod_wbuf_blob(w, batch, blen);
	synod_wbuf_u32(w, count);
	for (uint32_t i = 0; i < count; i++) {
		t_put_core(t, w, t_core(PBFT_MSG_COMMIT, from[i], cview, seq, digest), -1);
	}
}

/* A VIEW-CHANGE payload for view from a replica whose stable checkpoint is
 * h (K), with one certificate at h + 1 (prepared in view - 1, or committed
 * for the CC_ defects), and defect d. Returns its length; *seq gets the h
 * its core must name. */
static size_t t_vc_payload(struct t *t, uint8_t *out, uint64_t view, enum vc_defect d,
                           uint64_t *seq)
{
	uint8_t snap_digest[32] = {0x5a};
	struct synod_wbuf w;
	uint64_t h = T_K;
	synod_wbuf_init(&w, out, T_BUF);
	if (d == VC_C_WITH_H0) {
		h = 0;
		t_put_proof(t, &w, T_K, snap_digest, VC_NONE);
	} else if (d == VC_H_NOT_K) {
		h = T_K + 1;
		t_put_proof(t, &w, h, snap_digest, VC_NONE);
	} else {
		t_put_proof(t, &w, h, snap_digest, d);
	}
	uint32_t np = d == P_SEQ_TWICE ? 2 : 1;
	synod_wbuf_u32(&w, np);
	uint64_t s = d == P_BEYOND ? h + T_L + 1 : h + 1;
	if (d == CC_NEW_VIEW || d == CC_SHORT) {
		t_put_committed(t, &w, d == CC_NEW_VIEW ? view : view - 1, s, d);
	} else {
		for (uint32_t i = 0; i < np; i++) {
			t_put_prepared(t, &w, view, view - 1, s, d);
		}
	}
	assert_int_equal(w.err, 0);
	*seq = h;
	return w.len;
}

static int t_vc_send(struct t *t, uint32_t sender, uint64_t view, enum vc_defect d)
{
	uint64_t h = 0;
	size_t len = t_vc_payload(t, t->pay, view, d, &h);
	return t_deliver(t, t_core(PBFT_MSG_VIEW_CHANGE, sender, view, h, NULL), t->pay, len);
}

/* Each defect is refused and counted; the same VIEW-CHANGE without it is
 * accepted (and a second one from another replica then makes T_SELF join:
 * f+1 above its view). */
static void forged_view_change_refused(void **state)
{
	(void)state;
	static const enum vc_defect defects[] = {
	    CP_BAD_SIG,   CP_OTHER_SEQ, CP_DUP,    CP_OTHER_DIG, CP_SHORT,   VC_H_NOT_K,
	    VC_C_WITH_H0, PP_NEW_VIEW,  PP_BACKUP, PP_BAD_SIG,   PR_BAD_SIG, PR_OTHER_VIEW,
	    PR_OTHER_SEQ, PR_PRIMARY,   PR_DUP,    PR_OTHER_DIG, PR_SHORT,   P_SEQ_TWICE,
	    P_BEYOND,     CC_NEW_VIEW,  CC_SHORT};
	for (size_t i = 0; i < sizeof defects / sizeof defects[0]; i++) {
		struct t *t = t_open();
		int rc = t_vc_send(t, 2, 2, defects[i]);
		if (rc == 0) {
			fail_msg("forged VIEW-CHANGE (defect %d) accepted", (int)defects[i]);
		}
		assert_int_equal(t_status(t).msgs_rejected, 1);
		assert_int_equal(t_vc_send(t, 2, 2, VC_NONE), 0);
		assert_false(t_status(t).in_view_change); /* one is not f+1 */
		assert_int_equal(t_vc_send(t, 3, 2, VC_NONE), 0);
		assert_true(t_status(t).in_view_change);
		assert_int_equal(t_status(t).view, 2);
		t_close(t);
	}
}

/* ---- NEW-VIEW ---- */

enum nv_defect {
	NV_NONE,
	NV_V_DUP,       /* one VIEW-CHANGE twice in V */
	NV_V_BAD_SIG,   /* a VIEW-CHANGE in V signed with another key */
	NV_V_INVALID,   /* a VIEW-CHANGE in V with a certificate of 2f-1 PREPAREs */
	NV_V_SHORT,     /* 2f VIEW-CHANGEs */
	NV_O_VIEW,      /* a PRE-PREPARE in O of another view */
	NV_O_BAD_SIG,   /* a PRE-PREPARE in O signed with another key */
	NV_O_SEQ,       /* a PRE-PREPARE in O for another seq */
	NV_O_DIGEST,    /* a PRE-PREPARE in O for another batch (the null batch) */
	NV_O_MISSING,   /* O without the re-proposal */
	NV_FROM_BACKUP, /* NEW-VIEW from a replica that is not the new primary */
};

/* NEW-VIEW for view 2 (primary 2): V = VIEW-CHANGEs of 0, 2, 3 (h = K, a
 * certificate at K + 1), O = the re-proposal of K + 1. */
static int t_nv_send(struct t *t, enum nv_defect d)
{
	static const uint32_t from[3] = {0, 2, 3};
	static uint8_t vc[T_BUF];
	uint64_t view = 2;
	struct synod_wbuf w;
	synod_wbuf_init(&w, t->pay, T_BUF);
	uint32_t count = d == NV_V_SHORT ? 2 : 3;
	synod_wbuf_u32(&w, count);
	for (uint32_t i = 0; i < count; i++) {
		uint64_t h = 0;
		size_t len =
		    t_vc_payload(t, vc, view, i == 2 && d == NV_V_INVALID ? PR_SHORT : VC_NONE, &h);
		struct pbft_core c = t_core(PBFT_MSG_VIEW_CHANGE, from[i], view, h, NULL);
		if (i == 2 && d == NV_V_DUP) {
			c.sender = 0;
		}
		synod_sha256(c.digest, vc, len);
		t_put_core(t, &w, c, i == 2 && d == NV_V_BAD_SIG ? 0 : -1);
		synod_wbuf_blob(&w, vc, len);
	}
	uint8_t batch[128], digest[32];
	size_t blen = t_batch(batch, sizeof batch, "certified-entry", digest);
	static const uint8_t null_batch[4] = {0};
	synod_wbuf_u32(&w, d == NV_O_MISSING ? 0 : 1);
	if (d != NV_O_MISSING) {
		struct pbft_core pp = t_core(PBFT_MSG_PRE_PREPARE, 2, view, T_K + 1, digest);
		const uint8_t *b = batch;
		size_t bl = blen;
		if (d == NV_O_VIEW) {
			pp.view = view + T_N; /* the same primary, another view */
		} else if (d == NV_O_SEQ) {
			pp.seq += 1;
		} else if (d == NV_O_DIGEST) {
			pbft_batch_digest(pp.digest, null_batch, sizeof null_batch);
			b = null_batch;
			bl = sizeof null_batch;
		}
		t_put_core(t, &w, pp, d == NV_O_BAD_SIG ? 3 : -1);
		synod_wbuf_blob(&w, b, bl);
	}
	assert_int_equal(w.err, 0);
	uint32_t sender = d == NV_FROM_BACKUP ? 3 : 2;
	return t_deliver(t, t_core(PBFT_MSG_NEW_VIEW, sender, view, 0, NULL), t->pay, w.len);
}

/* T_SELF joins view 2 (two VIEW-CHANGEs: f+1), then gets a NEW-VIEW with
 * one defect: refused, still in the view change; the valid one installs
 * view 2. */
static void forged_new_view_refused(void **state)
{
	(void)state;
	static const enum nv_defect defects[] = {
	    NV_V_DUP,     NV_V_BAD_SIG, NV_V_INVALID, NV_V_SHORT,   NV_O_VIEW,
	    NV_O_BAD_SIG, NV_O_SEQ,     NV_O_DIGEST,  NV_O_MISSING, NV_FROM_BACKUP};
	for (size_t i = 0; i < sizeof defects / sizeof defects[0]; i++) {
		struct t *t = t_open();
		assert_int_equal(t_vc_send(t, 0, 2, VC_NONE), 0);
		assert_int_equal(t_vc_send(t, 3, 2, VC_NONE), 0);
		assert_true(t_status(t).in_view_change);
		uint64_t rejected = t_status(t).msgs_rejected;
		if (t_nv_send(t, defects[i]) == 0) {
			fail_msg("forged NEW-VIEW (defect %d) accepted", (int)defects[i]);
		}
		assert_int_equal(t_status(t).msgs_rejected, rejected + 1);
		assert_true(t_status(t).in_view_change);
		assert_int_equal(t_nv_send(t, NV_NONE), 0);
		assert_false(t_status(t).in_view_change);
		assert_int_equal(t_status(t).view, 2);
		t_close(t);
	}
}

/* ---- STATE ---- */

enum st_defect {
	ST_NONE,
	ST_BAD_SIG,    /* a COMMIT (or CHECKPOINT) signed with another key */
	ST_OTHER_SEQ,  /* one for another sequence number */
	ST_OTHER_DIG,  /* one for another digest */
	ST_OTHER_VIEW, /* a COMMIT of another view */
	ST_DUP,        /* one sender twice */
	ST_SHORT,      /* 2f */
	ST_SNAPSHOT,   /* a snapshot that is not the one the proof names */
};

/* A STATE with the batch at seq (its commit certificate of view 0 from 0, 2
 * and 3) and defect d in that certificate. */
static int t_state_batch(struct t *t, uint64_t seq, const char *entry, enum st_defect d)
{
	static const uint32_t from[3] = {0, 2, 3};
	uint8_t batch[128], digest[32];
	size_t blen = t_batch(batch, sizeof batch, entry, digest);
	struct synod_wbuf w;
	synod_wbuf_init(&w, t->pay, T_BUF);
	synod_wbuf_u32(&w, 0);
	synod_wbuf_blob(&w, NULL, 0);
	synod_wbuf_u32(&w, 1);
	synod_wbuf_u64(&w, seq);
	synod_wbuf_blob(&w, batch, blen);
	uint32_t count = d == ST_SHORT ? 2 : 3;
	synod_wbuf_u32(&w, count);
	for (uint32_t i = 0; i < count; i++) {
		struct pbft_core c = t_core(PBFT_MSG_COMMIT, from[i], 0, seq, digest);
		int signer = -1;
		if (i == 2 && d == ST_BAD_SIG) {
			signer = 0;
		} else if (i == 2 && d == ST_OTHER_SEQ) {
			c.seq += 1;
		} else if (i == 2 && d == ST_OTHER_DIG) {
			c.digest[0] ^= 1;
		} else if (i == 2 && d == ST_OTHER_VIEW) {
			c.view = 1;
		} else if (i == 2 && d == ST_DUP) {
			c.sender = 0;
		}
		t_put_core(t, &w, c, signer);
	}
	assert_int_equal(w.err, 0);
	return t_deliver(t, t_core(PBFT_MSG_STATE, 2, 0, 0, NULL), t->pay, w.len);
}

/* A STATE with a stable checkpoint at seq (a snapshot of the app at seq
 * with state byte fill) and defect d in its proof or snapshot. */
static int t_state_checkpoint(struct t *t, uint64_t seq, uint8_t fill, enum st_defect d)
{
	static const uint32_t from[3] = {0, 2, 3};
	uint8_t snap[40], digest[32];
	memset(snap, fill, 32);
	memcpy(snap + 32, &seq, 8);
	synod_sha256(digest, snap, sizeof snap);
	if (d == ST_SNAPSHOT) {
		snap[0] ^= 1;
	}
	struct synod_wbuf w;
	synod_wbuf_init(&w, t->pay, T_BUF);
	uint32_t count = d == ST_SHORT ? 2 : 3;
	synod_wbuf_u32(&w, count);
	for (uint32_t i = 0; i < count; i++) {
		struct pbft_core c = t_core(PBFT_MSG_CHECKPOINT, from[i], 0, seq, digest);
		int signer = -1;
		if (i == 2 && d == ST_BAD_SIG) {
			signer = 0;
		} else if (i == 2 && d == ST_OTHER_SEQ) {
			c.seq += T_K;
		} else if (i == 2 && d == ST_OTHER_DIG) {
			c.digest[0] ^= 1;
		} else if (i == 2 && d == ST_DUP) {
			c.sender = 0;
		}
		t_put_core(t, &w, c, signer);
	}
	synod_wbuf_blob(&w, snap, sizeof snap);
	synod_wbuf_u32(&w, 0);
	assert_int_equal(w.err, 0);
	return t_deliver(t, t_core(PBFT_MSG_STATE, 2, 0, seq, NULL), t->pay, w.len);
}

/* A batch with a forged commit certificate is not installed; the valid one
 * is, and executes. */
static void forged_state_batch_refused(void **state)
{
	(void)state;
	static const enum st_defect defects[] = {ST_BAD_SIG,    ST_OTHER_SEQ, ST_OTHER_DIG,
	                                         ST_OTHER_VIEW, ST_DUP,       ST_SHORT};
	for (size_t i = 0; i < sizeof defects / sizeof defects[0]; i++) {
		struct t *t = t_open();
		if (t_state_batch(t, 1, "state-entry", defects[i]) == 0) {
			fail_msg("STATE batch with a forged certificate (defect %d) accepted",
			         (int)defects[i]);
		}
		assert_int_equal(t_status(t).last_executed, 0);
		assert_int_equal(t_status(t).msgs_rejected, 1);
		assert_int_equal(t_state_batch(t, 1, "state-entry", ST_NONE), 0);
		assert_int_equal(t_status(t).last_executed, 1);
		t_close(t);
	}
}

/* A checkpoint with a forged proof or another snapshot is not installed;
 * the valid one is. */
static void forged_state_checkpoint_refused(void **state)
{
	(void)state;
	static const enum st_defect defects[] = {ST_BAD_SIG, ST_OTHER_SEQ, ST_OTHER_DIG,
	                                         ST_DUP,     ST_SHORT,     ST_SNAPSHOT};
	for (size_t i = 0; i < sizeof defects / sizeof defects[0]; i++) {
		struct t *t = t_open();
		if (t_state_checkpoint(t, T_K, 0x42, defects[i]) == 0) {
			fail_msg("STATE checkpoint with a forged proof (defect %d) accepted",
			         (int)defects[i]);
		}
		assert_int_equal(t_status(t).last_executed, 0);
		assert_int_equal(t_status(t).low_watermark, 0);
		assert_int_equal(t_state_checkpoint(t, T_K, 0x42, ST_NONE), 0);
		assert_int_equal(t_status(t).last_executed, T_K);
		assert_int_equal(t_status(t).low_watermark, T_K);
		t_close(t);
	}
}

/* A checkpoint at or below what was executed is not installed again: it
 * would take the state back. */
static void state_checkpoint_behind_ignored(void **state)
{
	(void)state;
	struct t *t = t_open();
	assert_int_equal(t_state_checkpoint(t, T_K, 0x42, ST_NONE), 0);
	char entry[32];
	for (uint64_t s = T_K + 1; s <= 2 * T_K + 1; s++) {
		snprintf(entry, sizeof entry, "entry-%llu", (unsigned long long)s);
		assert_int_equal(t_state_batch(t, s, entry, ST_NONE), 0);
	}
	assert_int_equal(t_status(t).last_executed, 2 * T_K + 1);
	uint8_t before[32];
	memcpy(before, t->app.state, 32);
	/* a proven checkpoint at 2K: behind what T_SELF executed */
	assert_int_equal(t_state_checkpoint(t, 2 * T_K, 0x43, ST_NONE), 0);
	assert_int_equal(t_status(t).last_executed, 2 * T_K + 1);
	assert_memory_equal(t->app.state, before, 32);
	t_close(t);
}

/* ---- normal case ---- */

/* Messages a replica must drop without acting on them: nothing persisted,
 * nothing sent. */
static void t_assert_ignored(const struct t *t)
{
	assert_int_equal(t->up.record_count, 0);
	assert_int_equal(t->up.send_count, 0);
}

static void forged_normal_case_refused(void **state)
{
	(void)state;
	uint8_t batch[128], digest[32], other[32];
	size_t blen = t_batch(batch, sizeof batch, "normal-entry", digest);
	struct t *t = t_open();
	size_t olen = t_batch(t->pay, T_BUF, "other-entry", other);
	uint8_t obatch[128];
	memcpy(obatch, t->pay, olen);
	/* a PRE-PREPARE from a backup */
	assert_int_not_equal(
	    t_deliver(t, t_core(PBFT_MSG_PRE_PREPARE, 2, 0, 1, digest), batch, blen), 0);
	t_assert_ignored(t);
	/* a PRE-PREPARE for a view T_SELF is not in (from that view's primary) */
	assert_int_equal(t_deliver(t, t_core(PBFT_MSG_PRE_PREPARE, 0, 4, 1, digest), batch, blen),
	                 0);
	t_assert_ignored(t);
	/* a message naming T_SELF as its sender */
	assert_int_not_equal(t_deliver(t, t_core(PBFT_MSG_PREPARE, T_SELF, 0, 1, digest), NULL, 0),
	                     0);
	/* the primary's PRE-PREPARE is accepted: a PREPARE goes out */
	assert_int_equal(t_deliver(t, t_core(PBFT_MSG_PRE_PREPARE, 0, 0, 1, digest), batch, blen),
	                 0);
	assert_int_equal(t->up.send_count, 1);
	/* a second one for (0, 1) with another batch: equivocation, refused */
	assert_int_not_equal(
	    t_deliver(t, t_core(PBFT_MSG_PRE_PREPARE, 0, 0, 1, other), obatch, olen), 0);
	/* a PREPARE from the primary */
	assert_int_not_equal(t_deliver(t, t_core(PBFT_MSG_PREPARE, 0, 0, 1, digest), NULL, 0), 0);
	/* a CHECKPOINT at a sequence number that is not one */
	assert_int_not_equal(
	    t_deliver(t, t_core(PBFT_MSG_CHECKPOINT, 2, 0, T_K + 1, digest), NULL, 0), 0);
	t_close(t);
}

/* In a view change, a PRE-PREPARE of the new view before its NEW-VIEW is
 * not acted on. */
static void pre_prepare_in_view_change_ignored(void **state)
{
	(void)state;
	uint8_t batch[128], digest[32];
	struct t *t = t_open();
	size_t blen = t_batch(batch, sizeof batch, "early-entry", digest);
	assert_int_equal(t_vc_send(t, 0, 2, VC_NONE), 0);
	assert_int_equal(t_vc_send(t, 3, 2, VC_NONE), 0);
	assert_true(t_status(t).in_view_change);
	assert_int_equal(
	    t_deliver(t, t_core(PBFT_MSG_PRE_PREPARE, 2, 2, T_K + 2, digest), batch, blen), 0);
	t_assert_ignored(t);
	t_close(t);
}

/* The normal case for (view, seq, batch) as the other replicas play it:
 * the primary's PRE-PREPARE, two backups' PREPAREs, three COMMITs. */
static void t_order(struct t *t, uint64_t view, uint64_t seq, const uint8_t *batch, size_t len)
{
	uint8_t digest[32];
	uint32_t primary = (uint32_t)(view % T_N);
	pbft_batch_digest(digest, batch, len);
	if (primary != T_SELF && len > 0) {
		assert_int_equal(t_deliver(t,
		                           t_core(PBFT_MSG_PRE_PREPARE, primary, view, seq, digest),
		                           batch, len),
		                 0);
	}
	for (uint32_t j = 0, n = 0; j < T_N && n < 2; j++) {
		if (j != primary && j != T_SELF) {
			assert_int_equal(
			    t_deliver(t, t_core(PBFT_MSG_PREPARE, j, view, seq, digest), NULL, 0),
			    0);
			n++;
		}
	}
	for (uint32_t j = 0, n = 0; j < T_N && n < 3; j++) {
		if (j != T_SELF) {
			assert_int_equal(
			    t_deliver(t, t_core(PBFT_MSG_COMMIT, j, view, seq, digest), NULL, 0),
			    0);
			n++;
		}
	}
}

/* A batch committed here but not yet executed (a gap below it) stays the
 * batch that executes, whatever a NEW-VIEW re-proposes there: execution
 * follows the commit, not the latest proposal. (A valid NEW-VIEW cannot
 * re-propose another batch at a committed seq; the test can sign one.) */
static void committed_batch_is_final(void **state)
{
	(void)state;
	static const uint8_t null_batch[4] = {0};
	uint8_t y[128], x[128], dy[32], dx[32];
	struct t *t = t_open();
	size_t ylen = t_batch(y, sizeof y, "committed-in-view-0", dy);
	size_t xlen = t_batch(x, sizeof x, "proposed-in-view-1", dx);
	t_order(t, 0, 2, y, ylen); /* seq 1 never came: committed, not executed */
	assert_int_equal(t_status(t).last_executed, 0);
	/* V: three VIEW-CHANGEs for view 2 (h = 0) with a prepared certificate
	 * for x at seq 2 in view 1; O: the null batch at 1, x at 2 */
	assert_int_equal(t_vc_send(t, 0, 2, VC_NONE), 0); /* f+1: T_SELF joins view 2 */
	assert_int_equal(t_vc_send(t, 3, 2, VC_NONE), 0);
	assert_true(t_status(t).in_view_change);
	struct synod_wbuf w;
	static uint8_t vc[4096];
	synod_wbuf_init(&w, t->pay, T_BUF);
	synod_wbuf_u32(&w, 3);
	static const uint32_t from[3] = {0, 2, 3};
	for (uint32_t i = 0; i < 3; i++) {
		struct synod_wbuf v;
		synod_wbuf_init(&v, vc, sizeof vc);
		synod_wbuf_u32(&v, 0);
		synod_wbuf_u32(&v, 1);
		synod_wbuf_u8(&v, PBFT_CERT_PREPARED);
		t_put_core(t, &v, t_core(PBFT_MSG_PRE_PREPARE, 1, 1, 2, dx), -1);
		synod_wbuf_blob(&v, x, xlen);
		synod_wbuf_u32(&v, 2);
		t_put_core(t, &v, t_core(PBFT_MSG_PREPARE, 0, 1, 2, dx), -1);
		t_put_core(t, &v, t_core(PBFT_MSG_PREPARE, 2, 1, 2, dx), -1);
		assert_int_equal(v.err, 0);
		struct pbft_core c = t_core(PBFT_MSG_VIEW_CHANGE, from[i], 2, 0, NULL);
		synod_sha256(c.digest, vc, v.len);
		t_put_core(t, &w, c, -1);
		synod_wbuf_blob(&w, vc, v.len);
	}
	uint8_t dnull[32];
	pbft_batch_digest(dnull, null_batch, sizeof null_batch);
	synod_wbuf_u32(&w, 2);
	t_put_core(t, &w, t_core(PBFT_MSG_PRE_PREPARE, 2, 2, 1, dnull), -1);
	synod_wbuf_blob(&w, null_batch, sizeof null_batch);
	t_put_core(t, &w, t_core(PBFT_MSG_PRE_PREPARE, 2, 2, 2, dx), -1);
	synod_wbuf_blob(&w, x, xlen);
	assert_int_equal(w.err, 0);
	size_t nv_len = w.len;
	assert_int_equal(t_deliver(t, t_core(PBFT_MSG_NEW_VIEW, 2, 2, 0, NULL), t->pay, nv_len), 0);
	assert_false(t_status(t).in_view_change);
	/* the same NEW-VIEW again: already in view 2, nothing to do */
	assert_int_equal(t_deliver(t, t_core(PBFT_MSG_NEW_VIEW, 2, 2, 0, NULL), t->pay, nv_len), 0);
	t_assert_ignored(t);
	t_order(t, 2, 1, null_batch, sizeof null_batch);
	assert_int_equal(t_status(t).last_executed, 2);
	assert_memory_equal(t->app.executed[2], dy, 32);
	t_close(t);
}

/* Entries: no entry above entry_bytes_max, none executed already, and no
 * more from one peer than its share of the queue. */
static void pending_entries_refused(void **state)
{
	(void)state;
	uint8_t big[600], batch[128], digest[32];
	struct t *t = t_open();
	memset(big, 'e', sizeof big);
	struct pbft_event ev = {.type = PBFT_EV_SUBMIT, .now_ms = ++t->now_ms};
	ev.submit.entry = big;
	ev.submit.len = sizeof big;
	assert_int_equal(pbft_step(t->p, &ev, &t->up), SYNOD_ELIMIT);
	/* an entry ordered and executed here is not taken again */
	size_t blen = t_batch(batch, sizeof batch, "executed-entry", digest);
	t_order(t, 0, 1, batch, blen);
	assert_int_equal(t_status(t).last_executed, 1);
	ev = (struct pbft_event){.type = PBFT_EV_SUBMIT, .now_ms = ++t->now_ms};
	ev.submit.entry = (const uint8_t *)"executed-entry";
	ev.submit.len = strlen("executed-entry");
	assert_int_equal(pbft_step(t->p, &ev, &t->up), 0);
	assert_int_equal(t_status(t).pending_entries, 0);
	/* replica 2 forwards entries: its share is pending_entries_max / 2n */
	int rc = 0;
	uint32_t k = 0;
	for (; k < 64 && rc == 0; k++) {
		char entry[32];
		int n = snprintf(entry, sizeof entry, "forwarded-%u", k);
		struct pbft_core c = t_core(PBFT_MSG_REQUEST, 2, 0, 0, NULL);
		synod_sha256(c.digest, entry, (size_t)n);
		rc = t_deliver(t, c, (const uint8_t *)entry, (size_t)n);
	}
	assert_int_equal(rc, SYNOD_EFULL);
	assert_int_equal(k, 64 / (2 * T_N) + 1);
	t_close(t);
}

int main(void)
{
	if (sodium_init() < 0) {
		return 1;
	}
	synod_log_level_set(SYNOD_LOG_OFF);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(forged_view_change_refused),
	    cmocka_unit_test(forged_new_view_refused),
	    cmocka_unit_test(forged_state_batch_refused),
	    cmocka_unit_test(forged_state_checkpoint_refused),
	    cmocka_unit_test(state_checkpoint_behind_ignored),
	    cmocka_unit_test(forged_normal_case_refused),
	    cmocka_unit_test(pre_prepare_in_view_change_ignored),
	    cmocka_unit_test(committed_batch_is_final),
	    cmocka_unit_test(pending_entries_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

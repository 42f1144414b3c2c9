/* PBFT wire codec: the formats are described in msg.h.
 *
 * Two levels of checking.
 *
 * pbft_msg_decode checks the envelope: size, version, type, sender, payload
 * presence and size per type, the digest of every payload (a batch's Merkle
 * root, pbft_batch_digest in batch.c, for PRE_PREPARE; SHA-256 of the payload
 * for the others) and, for PRE_PREPARE, the batch structure (a batch is small
 * to check and every backup needs it before it can prepare). It does not parse VIEW_CHANGE,
 * NEW_VIEW or STATE payloads: the only way to read them is through their
 * _parse function, which validates the whole payload before it returns, so
 * parsing them here too would do that work twice (for NEW_VIEW that means
 * hashing every embedded VIEW_CHANGE twice) and buy nothing. A decoded message
 * of those types is only known to carry the payload its digest names.
 *
 * The _parse functions validate everything up front (counts against limits,
 * lengths, embedded cores, batches, digests, trailing bytes) and the _next
 * functions then re-read the validated bytes with the same readers, passing
 * lim == NULL to mean "already checked": a read that fails there is our bug,
 * so it is an assert. Nothing here allocates or recurses; the one nesting,
 * VIEW_CHANGE payloads inside a NEW_VIEW, is a fixed two levels. */
#include "coordinator/pbft/msg.h"

#include "common/assert.h"
#include "common/hash.h"
#include "common/wire.h"

#include <string.h>

_Static_assert(PBFT_CORE_SIGNED_BYTES == 1u + 1u + 2u + 8u + 8u + PBFT_DIGEST_BYTES,
               "core = version | type | sender | view | seq | digest");
_Static_assert(PBFT_CORE_BYTES == 116u, "the core is 116 bytes on the wire");
_Static_assert(PBFT_DIGEST_BYTES == SYNOD_SHA256_BYTES, "payload digests are SHA-256");
_Static_assert(PBFT_REPLICAS_MAX <= UINT16_MAX, "a sender fits in u16");

#define BATCH_COUNT_BYTES 4u

static void limits_assert(const struct pbft_msg_limits *lim)
{
	SYNOD_ASSERT(lim != NULL);
	SYNOD_ASSERT(lim->replicas >= 1 && lim->replicas <= PBFT_REPLICAS_MAX);
}

static bool digest_matches(const uint8_t digest[PBFT_DIGEST_BYTES], const uint8_t *p, size_t n)
{
	uint8_t h[SYNOD_SHA256_BYTES];
	synod_sha256(h, p, n);
	return memcmp(h, digest, PBFT_DIGEST_BYTES) == 0;
}

/* A batch's digest is its Merkle root (pbft_batch_digest), not its hash. */
static bool batch_digest_matches(const uint8_t digest[PBFT_DIGEST_BYTES], const uint8_t *batch,
                                 size_t n)
{
	uint8_t h[PBFT_DIGEST_BYTES];
	pbft_batch_digest(h, batch, n);
	return memcmp(h, digest, PBFT_DIGEST_BYTES) == 0;
}

/* ---- cores ---- */

static void core_write(struct synod_wbuf *w, const struct pbft_core *c, bool with_sig)
{
	SYNOD_ASSERT(c->type >= 1 && c->type <= PBFT_MSG_TYPE_MAX);
	synod_wbuf_u8(w, PBFT_VERSION);
	synod_wbuf_u8(w, c->type);
	synod_wbuf_u16(w, c->sender);
	synod_wbuf_u64(w, c->view);
	synod_wbuf_u64(w, c->seq);
	synod_wbuf_bytes(w, c->digest, PBFT_DIGEST_BYTES);
	if (with_sig) {
		synod_wbuf_bytes(w, c->sig, PBFT_SIG_BYTES);
	}
}

void pbft_core_encode(const struct pbft_core *c, uint8_t out[PBFT_CORE_BYTES])
{
	struct synod_wbuf w;
	synod_wbuf_init(&w, out, PBFT_CORE_BYTES);
	core_write(&w, c, true);
	SYNOD_ASSERT(w.err == 0 && w.len == PBFT_CORE_BYTES);
}

void pbft_core_signed_bytes(const struct pbft_core *c, uint8_t out[PBFT_CORE_SIGNED_BYTES])
{
	struct synod_wbuf w;
	synod_wbuf_init(&w, out, PBFT_CORE_SIGNED_BYTES);
	core_write(&w, c, false);
	SYNOD_ASSERT(w.err == 0 && w.len == PBFT_CORE_SIGNED_BYTES);
}

int pbft_core_decode(struct pbft_core *c, const uint8_t in[PBFT_CORE_BYTES])
{
	struct synod_rbuf r;
	uint8_t version;
	synod_rbuf_init(&r, in, PBFT_CORE_BYTES);
	(void)synod_rbuf_u8(&r, &version);
	(void)synod_rbuf_u8(&r, &c->type);
	(void)synod_rbuf_u16(&r, &c->sender);
	(void)synod_rbuf_u64(&r, &c->view);
	(void)synod_rbuf_u64(&r, &c->seq);
	(void)synod_rbuf_copy(&r, c->digest, PBFT_DIGEST_BYTES);
	(void)synod_rbuf_copy(&r, c->sig, PBFT_SIG_BYTES);
	int rc = synod_rbuf_finish(&r);
	SYNOD_ASSERT(rc == 0); /* a fixed-size read of a fixed-size buffer */
	if (version != PBFT_VERSION || c->type == 0 || c->type > PBFT_MSG_TYPE_MAX) {
		memset(c, 0, sizeof *c);
		return SYNOD_EVERSION;
	}
	return 0;
}

/* One embedded core: it must decode, have type want and (when lim is given)
 * name a replica of this cluster. Any failure is SYNOD_EPROTO: a peer put a
 * core of the wrong kind, version or sender inside a certificate. */
static int core_check(const uint8_t *at, uint8_t want, const struct pbft_msg_limits *lim,
                      struct pbft_core *out)
{
	if (pbft_core_decode(out, at) != 0 || out->type != want) {
		return SYNOD_EPROTO;
	}
	if (lim != NULL && out->sender >= lim->replicas) {
		return SYNOD_EPROTO;
	}
	return 0;
}

static int core_take(struct synod_rbuf *r, uint8_t want, const struct pbft_msg_limits *lim,
                     struct pbft_core *out)
{
	const uint8_t *at;
	int rc = synod_rbuf_take(r, &at, PBFT_CORE_BYTES);
	if (rc != 0) {
		return rc;
	}
	return core_check(at, want, lim, out);
}

/* count u32 | count x core(want). Every such list is a quorum list, so it is
 * bounded by the replica count; checked before the cores are taken. */
static int core_list_take(struct synod_rbuf *r, uint8_t want, const struct pbft_msg_limits *lim,
                          uint32_t *count, const uint8_t **cores)
{
	uint32_t n;
	*count = 0;
	*cores = NULL;
	int rc = synod_rbuf_u32(r, &n);
	if (rc != 0) {
		return rc;
	}
	if (lim != NULL && n > lim->replicas) {
		return SYNOD_ELIMIT;
	}
	uint64_t bytes = (uint64_t)n * PBFT_CORE_BYTES; /* no overflow, even with lim == NULL */
	if (bytes > synod_rbuf_remaining(r)) {
		return SYNOD_ETRUNC;
	}
	const uint8_t *at;
	rc = synod_rbuf_take(r, &at, (size_t)bytes);
	if (rc != 0) {
		return rc;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct pbft_core c;
		rc = core_check(at + (size_t)i * PBFT_CORE_BYTES, want, lim, &c);
		if (rc != 0) {
			return rc;
		}
	}
	*count = n;
	*cores = at;
	return 0;
}

/* ---- batches ---- */

void pbft_batch_writer_init(struct pbft_batch_writer *w, uint8_t *buf, size_t cap)
{
	SYNOD_ASSERT(buf != NULL && cap >= BATCH_COUNT_BYTES);
	w->buf = buf;
	w->cap = cap;
	w->len = BATCH_COUNT_BYTES; /* the count, patched by _finish */
	w->count = 0;
}

int pbft_batch_writer_add(struct pbft_batch_writer *w, const uint8_t *entry, uint32_t entry_len)
{
	SYNOD_ASSERT(w->len >= BATCH_COUNT_BYTES && w->len <= w->cap);
	/* An empty entry would make the batch invalid for every backup. */
	if (entry_len == 0) {
		return SYNOD_EINVAL;
	}
	SYNOD_ASSERT(entry != NULL);
	if (w->count == UINT32_MAX) {
		return SYNOD_EFULL;
	}
	struct synod_wbuf wb;
	synod_wbuf_init(&wb, w->buf + w->len, w->cap - w->len);
	synod_wbuf_blob(&wb, entry, entry_len);
	if (wb.err != 0) {
		return SYNOD_EFULL; /* w->len is unchanged: the partial write is ignored */
	}
	w->len += wb.len;
	w->count++;
	return 0;
}

size_t pbft_batch_writer_finish(struct pbft_batch_writer *w)
{
	struct synod_wbuf wb;
	SYNOD_ASSERT(w->len >= BATCH_COUNT_BYTES && w->len <= w->cap);
	synod_wbuf_init(&wb, w->buf, BATCH_COUNT_BYTES);
	synod_wbuf_u32(&wb, w->count);
	SYNOD_ASSERT(wb.err == 0);
	return w->len;
}

int pbft_batch_iter_init(struct pbft_batch_iter *it, const uint8_t *batch, size_t len,
                         const struct pbft_msg_limits *lim)
{
	SYNOD_ASSERT(batch != NULL || len == 0);
	limits_assert(lim);
	memset(it, 0, sizeof *it); /* a failed init iterates nothing */
	if (len > lim->batch_bytes_max) {
		return SYNOD_ELIMIT;
	}
	struct synod_rbuf r;
	uint32_t count;
	synod_rbuf_init(&r, batch, len);
	int rc = synod_rbuf_u32(&r, &count);
	if (rc != 0) {
		return rc;
	}
	if (count > lim->batch_entries_max) {
		return SYNOD_ELIMIT;
	}
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *entry;
		size_t n;
		rc = synod_rbuf_blob(&r, &entry, &n, lim->entry_bytes_max);
		if (rc != 0) {
			return rc;
		}
		if (n == 0) {
			return SYNOD_ELIMIT; /* entries are 1..entry_bytes_max */
		}
	}
	rc = synod_rbuf_finish(&r);
	if (rc != 0) {
		return rc;
	}
	it->p = batch;
	it->len = len;
	it->pos = BATCH_COUNT_BYTES;
	it->count = count;
	return 0;
}

int pbft_batch_iter_next(struct pbft_batch_iter *it, const uint8_t **entry, uint32_t *entry_len)
{
	*entry = NULL;
	*entry_len = 0;
	if (it->index == it->count) {
		return 0;
	}
	SYNOD_ASSERT(it->index < it->count && it->pos <= it->len);
	struct synod_rbuf r;
	size_t n;
	synod_rbuf_init(&r, it->p + it->pos, it->len - it->pos);
	int rc = synod_rbuf_blob(&r, entry, &n, UINT32_MAX);
	SYNOD_ASSERT(rc == 0 && n > 0); /* validated by pbft_batch_iter_init */
	*entry_len = (uint32_t)n;
	it->pos += r.pos;
	it->index++;
	return 1;
}

/* blob(batch): at most batch_bytes_max and (when lim is given) well formed. */
static int batch_take(struct synod_rbuf *r, const struct pbft_msg_limits *lim,
                      const uint8_t **batch, uint32_t *batch_len)
{
	size_t n;
	*batch_len = 0;
	int rc = synod_rbuf_blob(r, batch, &n, lim != NULL ? lim->batch_bytes_max : UINT32_MAX);
	if (rc != 0) {
		return rc;
	}
	if (lim != NULL) {
		struct pbft_batch_iter it;
		rc = pbft_batch_iter_init(&it, *batch, n, lim);
		if (rc != 0) {
			return rc;
		}
	}
	*batch_len = (uint32_t)n;
	return 0;
}

/* ---- messages ---- */

int pbft_msg_encode(const struct pbft_core *c, const uint8_t *payload, uint32_t payload_len,
                    uint8_t *out, size_t cap, size_t *len)
{
	SYNOD_ASSERT(c != NULL && out != NULL && len != NULL);
	SYNOD_ASSERT(payload != NULL || payload_len == 0);
	struct synod_wbuf w;
	*len = 0;
	synod_wbuf_init(&w, out, cap);
	core_write(&w, c, true);
	synod_wbuf_u32(&w, payload_len);
	synod_wbuf_bytes(&w, payload, payload_len);
	if (w.err != 0) {
		return w.err;
	}
	*len = w.len;
	return 0;
}

/* core | payload_len | payload, with payload_len matching the bytes left. */
static int msg_envelope_read(struct pbft_msg *m, const uint8_t *in, size_t len,
                             const struct pbft_msg_limits *lim)
{
	if (len > lim->msg_bytes_max) {
		return SYNOD_ELIMIT;
	}
	struct synod_rbuf r;
	const uint8_t *core;
	synod_rbuf_init(&r, in, len);
	int rc = synod_rbuf_take(&r, &core, PBFT_CORE_BYTES);
	if (rc != 0) {
		return rc;
	}
	rc = pbft_core_decode(&m->core, core);
	if (rc != 0) {
		return rc;
	}
	rc = synod_rbuf_u32(&r, &m->payload_len);
	if (rc != 0) {
		return rc;
	}
	if (m->core.sender >= lim->replicas) {
		return SYNOD_EPROTO;
	}
	size_t left = synod_rbuf_remaining(&r);
	if (m->payload_len != left) {
		return m->payload_len > left ? SYNOD_ETRUNC : SYNOD_ETRAILING;
	}
	if (m->payload_len > 0) {
		rc = synod_rbuf_take(&r, &m->payload, m->payload_len);
		SYNOD_ASSERT(rc == 0);
	}
	rc = synod_rbuf_finish(&r);
	SYNOD_ASSERT(rc == 0);
	return 0;
}

/* Payload presence and size per type; the digest binds every payload. */
static int msg_payload_check(const struct pbft_msg *m, const struct pbft_msg_limits *lim)
{
	struct pbft_batch_iter it;
	int rc;
	switch (m->core.type) {
	case PBFT_MSG_PREPARE:
	case PBFT_MSG_COMMIT:
	case PBFT_MSG_CHECKPOINT:
	case PBFT_MSG_FETCH:
		return m->payload_len == 0 ? 0 : SYNOD_EPROTO;
	default:
		break;
	}
	if (m->payload_len == 0) {
		return SYNOD_EPROTO;
	}
	if (m->core.type == PBFT_MSG_REQUEST && m->payload_len > lim->entry_bytes_max) {
		return SYNOD_ELIMIT;
	}
	if (m->core.type == PBFT_MSG_PRE_PREPARE) {
		rc = pbft_batch_iter_init(&it, m->payload, m->payload_len, lim);
		if (rc != 0) {
			return rc;
		}
	}
	bool ok;
	if (m->core.type == PBFT_MSG_PRE_PREPARE) {
		ok = batch_digest_matches(m->core.digest, m->payload, m->payload_len);
	} else {
		ok = digest_matches(m->core.digest, m->payload, m->payload_len);
	}
	return ok ? 0 : SYNOD_EPROTO;
}

int pbft_msg_decode(struct pbft_msg *m, const uint8_t *in, size_t len,
                    const struct pbft_msg_limits *lim)
{
	SYNOD_ASSERT(m != NULL && (in != NULL || len == 0));
	limits_assert(lim);
	memset(m, 0, sizeof *m);
	int rc = msg_envelope_read(m, in, len, lim);
	if (rc == 0) {
		rc = msg_payload_check(m, lim);
	}
	if (rc != 0) {
		memset(m, 0, sizeof *m);
	}
	return rc;
}

/* ---- VIEW_CHANGE ---- */

/* kind 1: core(PRE_PREPARE) | blob(batch) | nprep u32 | nprep x core(PREPARE).
 * With lim, also checks that the pre-prepare's digest names the batch (its
 * Merkle root): a prepared certificate binds its batch through that digest
 * (section 4.4). Whether the prepares match the pre-prepare is for the
 * protocol code. */
static int prepared_cert_take_prepared(struct synod_rbuf *r, const struct pbft_msg_limits *lim,
                                       struct pbft_prepared_cert *out)
{
	int rc = core_take(r, PBFT_MSG_PRE_PREPARE, lim, &out->pre_prepare);
	if (rc != 0) {
		return rc;
	}
	rc = batch_take(r, lim, &out->batch, &out->batch_len);
	if (rc != 0) {
		return rc;
	}
	if (lim != NULL) {
		if (!batch_digest_matches(out->pre_prepare.digest, out->batch, out->batch_len)) {
			return SYNOD_EPROTO;
		}
	}
	return core_list_take(r, PBFT_MSG_PREPARE, lim, &out->prepare_count, &out->prepares);
}

/* kind 2: seq u64 | blob(batch) | ncom u32 | ncom x core(COMMIT), ncom >= 1.
 * The pre-prepare is synthesised (unsigned) from the first COMMIT's view, the
 * seq and the batch's digest; the protocol code checks the COMMITs. */
static int prepared_cert_take_committed(struct synod_rbuf *r, const struct pbft_msg_limits *lim,
                                        struct pbft_prepared_cert *out)
{
	uint64_t seq;
	int rc = synod_rbuf_u64(r, &seq);
	if (rc == 0) {
		rc = batch_take(r, lim, &out->batch, &out->batch_len);
	}
	if (rc == 0) {
		rc = core_list_take(r, PBFT_MSG_COMMIT, lim, &out->prepare_count, &out->prepares);
	}
	if (rc != 0) {
		return rc;
	}
	struct pbft_core first;
	if (out->prepare_count == 0 || pbft_core_decode(&first, out->prepares) != 0) {
		return SYNOD_EPROTO;
	}
	out->pre_prepare =
	    (struct pbft_core){.type = PBFT_MSG_PRE_PREPARE, .view = first.view, .seq = seq};
	pbft_batch_digest(out->pre_prepare.digest, out->batch, out->batch_len);
	return 0;
}

static int prepared_cert_take(struct synod_rbuf *r, const struct pbft_msg_limits *lim,
                              struct pbft_prepared_cert *out)
{
	int rc = synod_rbuf_u8(r, &out->kind);
	if (rc != 0) {
		return rc;
	}
	switch (out->kind) {
	case PBFT_CERT_PREPARED:
		return prepared_cert_take_prepared(r, lim, out);
	case PBFT_CERT_COMMITTED:
		return prepared_cert_take_committed(r, lim, out);
	default:
		return SYNOD_EPROTO;
	}
}

int pbft_view_change_parse(struct pbft_view_change *vc, const uint8_t *payload, size_t len,
                           const struct pbft_msg_limits *lim)
{
	SYNOD_ASSERT(payload != NULL || len == 0);
	limits_assert(lim);
	memset(vc, 0, sizeof *vc);
	struct synod_rbuf r;
	uint32_t np = 0;
	synod_rbuf_init(&r, payload, len);
	int rc =
	    core_list_take(&r, PBFT_MSG_CHECKPOINT, lim, &vc->checkpoint_count, &vc->checkpoints);
	if (rc == 0) {
		rc = synod_rbuf_u32(&r, &np);
	}
	if (rc == 0 && np > lim->window) {
		rc = SYNOD_ELIMIT;
	}
	size_t start = r.pos;
	for (uint32_t i = 0; rc == 0 && i < np; i++) {
		struct pbft_prepared_cert cert;
		rc = prepared_cert_take(&r, lim, &cert);
	}
	if (rc == 0) {
		rc = synod_rbuf_finish(&r);
	}
	if (rc != 0) {
		memset(vc, 0, sizeof *vc);
		return rc;
	}
	vc->prepared_count = np;
	vc->prepared = payload + start;
	vc->prepared_len = r.pos - start;
	return 0;
}

int pbft_view_change_next(struct pbft_view_change *vc, struct pbft_prepared_cert *out)
{
	memset(out, 0, sizeof *out);
	if (vc->index == vc->prepared_count) {
		return 0;
	}
	SYNOD_ASSERT(vc->index < vc->prepared_count && vc->pos <= vc->prepared_len);
	struct synod_rbuf r;
	synod_rbuf_init(&r, vc->prepared + vc->pos, vc->prepared_len - vc->pos);
	int rc = prepared_cert_take(&r, NULL, out);
	SYNOD_ASSERT(rc == 0); /* validated by pbft_view_change_parse */
	vc->pos += r.pos;
	vc->index++;
	return 1;
}

/* ---- NEW_VIEW ---- */

/* core(VIEW_CHANGE) | blob(VIEW_CHANGE payload); with lim, the payload must
 * parse and its hash must be the core's digest. */
static int new_view_vc_take(struct synod_rbuf *r, const struct pbft_msg_limits *lim,
                            struct pbft_new_view_vc *out)
{
	const uint8_t *p;
	size_t n;
	int rc = core_take(r, PBFT_MSG_VIEW_CHANGE, lim, &out->core);
	if (rc == 0) {
		rc = synod_rbuf_blob(r, &p, &n, UINT32_MAX);
	}
	if (rc != 0) {
		return rc;
	}
	if (lim != NULL) {
		struct pbft_view_change vc;
		rc = pbft_view_change_parse(&vc, p, n, lim);
		if (rc != 0) {
			return rc;
		}
		if (!digest_matches(out->core.digest, p, n)) {
			return SYNOD_EPROTO;
		}
	}
	out->payload = p;
	out->payload_len = (uint32_t)n;
	return 0;
}

/* core(PRE_PREPARE) | blob(batch); with lim, the batch must be well formed and
 * its Merkle root must be the core's digest. */
static int new_view_pp_take(struct synod_rbuf *r, const struct pbft_msg_limits *lim,
                            struct pbft_new_view_pp *out)
{
	int rc = core_take(r, PBFT_MSG_PRE_PREPARE, lim, &out->core);
	if (rc == 0) {
		rc = batch_take(r, lim, &out->batch, &out->batch_len);
	}
	if (rc != 0) {
		return rc;
	}
	if (lim != NULL && !batch_digest_matches(out->core.digest, out->batch, out->batch_len)) {
		return SYNOD_EPROTO;
	}
	return 0;
}

/* V: nvc <= replicas view changes; *start and *list_len get the list's bytes. */
static int new_view_vcs_check(struct synod_rbuf *r, const struct pbft_msg_limits *lim,
                              uint32_t *count, size_t *start, size_t *list_len)
{
	int rc = synod_rbuf_u32(r, count);
	if (rc == 0 && *count > lim->replicas) {
		rc = SYNOD_ELIMIT;
	}
	*start = r->pos;
	for (uint32_t i = 0; rc == 0 && i < *count; i++) {
		struct pbft_new_view_vc vc;
		rc = new_view_vc_take(r, lim, &vc);
	}
	*list_len = r->pos - *start;
	return rc;
}

/* O: no <= window pre-prepares. */
static int new_view_pps_check(struct synod_rbuf *r, const struct pbft_msg_limits *lim,
                              uint32_t *count, size_t *start, size_t *list_len)
{
	int rc = synod_rbuf_u32(r, count);
	if (rc == 0 && *count > lim->window) {
		rc = SYNOD_ELIMIT;
	}
	*start = r->pos;
	for (uint32_t i = 0; rc == 0 && i < *count; i++) {
		struct pbft_new_view_pp pp;
		rc = new_view_pp_take(r, lim, &pp);
	}
	*list_len = r->pos - *start;
	return rc;
}

int pbft_new_view_parse(struct pbft_new_view *nv, const uint8_t *payload, size_t len,
                        const struct pbft_msg_limits *lim)
{
	SYNOD_ASSERT(payload != NULL || len == 0);
	limits_assert(lim);
	memset(nv, 0, sizeof *nv);
	struct synod_rbuf r;
	size_t vc_start, pp_start;
	synod_rbuf_init(&r, payload, len);
	int rc = new_view_vcs_check(&r, lim, &nv->vc_count, &vc_start, &nv->vcs_len);
	if (rc == 0) {
		rc = new_view_pps_check(&r, lim, &nv->pp_count, &pp_start, &nv->pps_len);
	}
	if (rc == 0) {
		rc = synod_rbuf_finish(&r);
	}
	if (rc != 0) {
		memset(nv, 0, sizeof *nv);
		return rc;
	}
	nv->vcs = payload + vc_start;
	nv->pps = payload + pp_start;
	return 0;
}

int pbft_new_view_next_vc(struct pbft_new_view *nv, struct pbft_new_view_vc *out)
{
	memset(out, 0, sizeof *out);
	if (nv->vc_index == nv->vc_count) {
		return 0;
	}
	SYNOD_ASSERT(nv->vc_index < nv->vc_count && nv->vc_pos <= nv->vcs_len);
	struct synod_rbuf r;
	synod_rbuf_init(&r, nv->vcs + nv->vc_pos, nv->vcs_len - nv->vc_pos);
	int rc = new_view_vc_take(&r, NULL, out);
	SYNOD_ASSERT(rc == 0); /* validated by pbft_new_view_parse */
	nv->vc_pos += r.pos;
	nv->vc_index++;
	return 1;
}

int pbft_new_view_next_pp(struct pbft_new_view *nv, struct pbft_new_view_pp *out)
{
	memset(out, 0, sizeof *out);
	if (nv->pp_index == nv->pp_count) {
		return 0;
	}
	SYNOD_ASSERT(nv->pp_index < nv->pp_count && nv->pp_pos <= nv->pps_len);
	struct synod_rbuf r;
	synod_rbuf_init(&r, nv->pps + nv->pp_pos, nv->pps_len - nv->pp_pos);
	int rc = new_view_pp_take(&r, NULL, out);
	SYNOD_ASSERT(rc == 0); /* validated by pbft_new_view_parse */
	nv->pp_pos += r.pos;
	nv->pp_index++;
	return 1;
}

/* ---- STATE ---- */

/* seq u64 | blob(batch) | ncom u32 | ncom x core(COMMIT). Whether the commits
 * certify this batch is for pbft_cert_verify to say. */
static int committed_batch_take(struct synod_rbuf *r, const struct pbft_msg_limits *lim,
                                struct pbft_committed_batch *out)
{
	int rc = synod_rbuf_u64(r, &out->seq);
	if (rc == 0) {
		rc = batch_take(r, lim, &out->batch, &out->batch_len);
	}
	if (rc != 0) {
		return rc;
	}
	return core_list_take(r, PBFT_MSG_COMMIT, lim, &out->commit_count, &out->commits);
}

int pbft_state_parse(struct pbft_state *st, const uint8_t *payload, size_t len,
                     const struct pbft_msg_limits *lim)
{
	SYNOD_ASSERT(payload != NULL || len == 0);
	limits_assert(lim);
	memset(st, 0, sizeof *st);
	struct synod_rbuf r;
	const uint8_t *snap = NULL;
	size_t snap_len = 0;
	uint32_t nb = 0;
	synod_rbuf_init(&r, payload, len);
	int rc =
	    core_list_take(&r, PBFT_MSG_CHECKPOINT, lim, &st->checkpoint_count, &st->checkpoints);
	if (rc == 0) {
		rc = synod_rbuf_blob(&r, &snap, &snap_len, lim->snapshot_bytes_max);
	}
	if (rc == 0) {
		rc = synod_rbuf_u32(&r, &nb);
	}
	if (rc == 0 && nb > lim->window) {
		rc = SYNOD_ELIMIT;
	}
	size_t start = r.pos;
	for (uint32_t i = 0; rc == 0 && i < nb; i++) {
		struct pbft_committed_batch cb;
		rc = committed_batch_take(&r, lim, &cb);
	}
	if (rc == 0) {
		rc = synod_rbuf_finish(&r);
	}
	if (rc != 0) {
		memset(st, 0, sizeof *st);
		return rc;
	}
	st->snapshot = snap;
	st->snapshot_len = (uint32_t)snap_len;
	st->batch_count = nb;
	st->batches = payload + start;
	st->batches_len = r.pos - start;
	return 0;
}

int pbft_state_next(struct pbft_state *st, struct pbft_committed_batch *out)
{
	memset(out, 0, sizeof *out);
	if (st->index == st->batch_count) {
		return 0;
	}
	SYNOD_ASSERT(st->index < st->batch_count && st->pos <= st->batches_len);
	struct synod_rbuf r;
	synod_rbuf_init(&r, st->batches + st->pos, st->batches_len - st->pos);
	int rc = committed_batch_take(&r, NULL, out);
	SYNOD_ASSERT(rc == 0); /* validated by pbft_state_parse */
	st->pos += r.pos;
	st->index++;
	return 1;
}

const char *pbft_msg_type_name(uint8_t type)
{
	switch (type) {
	case PBFT_MSG_REQUEST:
		return "REQUEST";
	case PBFT_MSG_PRE_PREPARE:
		return "PRE-PREPARE";
	case PBFT_MSG_PREPARE:
		return "PREPARE";
	case PBFT_MSG_COMMIT:
		return "COMMIT";
	case PBFT_MSG_CHECKPOINT:
		return "CHECKPOINT";
	case PBFT_MSG_VIEW_CHANGE:
		return "VIEW-CHANGE";
	case PBFT_MSG_NEW_VIEW:
		return "NEW-VIEW";
	case PBFT_MSG_FETCH:
		return "FETCH";
	case PBFT_MSG_STATE:
		return "STATE";
	default:
		return "UNKNOWN";
	}
}

/* Fuzzes the PBFT wire codec (coordinator/pbft/msg.c).
 *
 * Input: one selector byte, then a message. The selector picks the limits:
 *   bits 0-1  replicas 4, 7, 10 or 13
 *   bit 2     small batches (4 entries of <= 32 bytes, 256 bytes) instead of the
 *             production limits
 *   bit 3     window 4 instead of 256
 *   bit 4     snapshots of <= 64 bytes instead of 64 MiB
 *   bit 5     messages of <= 16 KiB instead of 1 MiB
 *   bit 6     decode the message as it is. When clear (the default), the
 *             target first overwrites the message's digest with the digest of
 *             its payload bytes (the Merkle root for a PRE_PREPARE's batch,
 *             SHA-256 for the others): a fuzzer cannot forge a hash, and
 *             without this every mutated payload would stop at the digest
 *             check and never reach the payload parsers. (Digests nested
 *             inside payloads still bind, so a parser's error paths see
 *             mutated certificates while its success paths see mostly intact
 *             ones.)
 * A message that decodes has its payload parsed by type and every element
 * walked: batch entries, prepared certificates and their PREPAREs, NEW_VIEW's
 * view changes (and the VIEW_CHANGE payload inside each) and pre-prepares,
 * STATE's committed batches and commits. Every embedded core must decode with
 * the right type and a sender of this cluster, and re-encode to its own bytes;
 * every borrowed pointer must stay inside the input; iteration after a
 * successful parse must yield exactly the count. Finally the message must
 * re-encode to the input, byte for byte. */
#include "common/assert.h"
#include "common/hash.h"
#include "coordinator/pbft/msg.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MSG_BYTES_MAX (1024u * 1024u)

struct fuzz_span {
	const uint8_t *p;
	size_t len;
};

static void fuzz_limits(uint8_t sel, struct pbft_msg_limits *lim)
{
	static const uint32_t replicas[4] = {4, 7, 10, 13};
	bool small_batch = (sel & 0x04u) != 0;
	lim->replicas = replicas[sel & 3u];
	lim->batch_entries_max = small_batch ? 4u : PBFT_BATCH_ENTRIES_LIMIT;
	lim->entry_bytes_max = small_batch ? 32u : PBFT_ENTRY_BYTES_LIMIT;
	lim->batch_bytes_max = small_batch ? 256u : PBFT_BATCH_BYTES_LIMIT;
	lim->window = (sel & 0x08u) != 0 ? 4u : PBFT_WINDOW_MAX;
	lim->snapshot_bytes_max = (sel & 0x10u) != 0 ? 64u : PBFT_SNAPSHOT_BYTES_LIMIT;
	lim->msg_bytes_max = (sel & 0x20u) != 0 ? 16u * 1024u : FUZZ_MSG_BYTES_MAX;
}

static void fuzz_inside(struct fuzz_span in, const uint8_t *p, size_t n)
{
	SYNOD_ASSERT(n == 0 || p != NULL);
	if (n > 0) {
		SYNOD_ASSERT(p >= in.p && n <= in.len && (size_t)(p - in.p) <= in.len - n);
	}
}

/* count encoded cores at p: each decodes as want, names a replica, re-encodes. */
static void fuzz_cores(struct fuzz_span in, const uint8_t *p, uint32_t count, uint8_t want,
                       const struct pbft_msg_limits *lim)
{
	SYNOD_ASSERT(count <= lim->replicas);
	fuzz_inside(in, p, (size_t)count * PBFT_CORE_BYTES);
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *at = p + (size_t)i * PBFT_CORE_BYTES;
		struct pbft_core c;
		uint8_t again[PBFT_CORE_BYTES];
		SYNOD_ASSERT(pbft_core_decode(&c, at) == 0);
		SYNOD_ASSERT(c.type == want && c.sender < lim->replicas);
		pbft_core_encode(&c, again);
		SYNOD_ASSERT(memcmp(again, at, PBFT_CORE_BYTES) == 0);
	}
}

static void fuzz_batch(struct fuzz_span in, const uint8_t *batch, size_t len,
                       const struct pbft_msg_limits *lim)
{
	struct pbft_batch_iter it;
	const uint8_t *entry;
	uint32_t entry_len;
	uint32_t n = 0;
	fuzz_inside(in, batch, len);
	SYNOD_ASSERT(pbft_batch_iter_init(&it, batch, len, lim) == 0);
	SYNOD_ASSERT(it.count <= lim->batch_entries_max && len <= lim->batch_bytes_max);
	while (pbft_batch_iter_next(&it, &entry, &entry_len) == 1) {
		SYNOD_ASSERT(entry_len >= 1 && entry_len <= lim->entry_bytes_max);
		fuzz_inside(in, entry, entry_len);
		n++;
	}
	SYNOD_ASSERT(n == it.count && it.pos == len);
	SYNOD_ASSERT(pbft_batch_iter_next(&it, &entry, &entry_len) == 0);
}

/* A payload's digest: the Merkle root for a batch, SHA-256 for anything else. */
static void fuzz_digest(const uint8_t digest[PBFT_DIGEST_BYTES], const uint8_t *p, size_t n,
                        bool batch)
{
	uint8_t h[PBFT_DIGEST_BYTES];
	if (batch) {
		pbft_batch_digest(h, p, n);
	} else {
		synod_sha256(h, p, n);
	}
	SYNOD_ASSERT(memcmp(h, digest, PBFT_DIGEST_BYTES) == 0);
}

static void fuzz_view_change(struct fuzz_span in, const uint8_t *p, size_t len,
                             const struct pbft_msg_limits *lim, bool must_parse)
{
	struct pbft_view_change vc;
	struct pbft_prepared_cert cert;
	int rc = pbft_view_change_parse(&vc, p, len, lim);
	SYNOD_ASSERT(rc <= 0 && (rc == 0 || !must_parse));
	if (rc != 0) {
		SYNOD_ASSERT(pbft_view_change_next(&vc, &cert) == 0);
		return;
	}
	SYNOD_ASSERT(vc.checkpoint_count <= lim->replicas && vc.prepared_count <= lim->window);
	fuzz_cores(in, vc.checkpoints, vc.checkpoint_count, PBFT_MSG_CHECKPOINT, lim);
	uint32_t n = 0;
	while ((rc = pbft_view_change_next(&vc, &cert)) == 1) {
		SYNOD_ASSERT(cert.pre_prepare.type == PBFT_MSG_PRE_PREPARE);
		SYNOD_ASSERT(cert.pre_prepare.sender < lim->replicas);
		fuzz_batch(in, cert.batch, cert.batch_len, lim);
		fuzz_digest(cert.pre_prepare.digest, cert.batch, cert.batch_len, true);
		SYNOD_ASSERT(cert.kind == PBFT_CERT_PREPARED || cert.kind == PBFT_CERT_COMMITTED);
		fuzz_cores(in, cert.prepares, cert.prepare_count,
		           cert.kind == PBFT_CERT_COMMITTED ? PBFT_MSG_COMMIT : PBFT_MSG_PREPARE,
		           lim);
		n++;
	}
	SYNOD_ASSERT(rc == 0 && n == vc.prepared_count && vc.pos == vc.prepared_len);
	fuzz_inside(in, vc.prepared, vc.prepared_len);
	/* the parts cover the payload exactly: nothing skipped, nothing trailing */
	SYNOD_ASSERT(vc.prepared + vc.prepared_len == p + len);
	size_t cps_len = (size_t)vc.checkpoint_count * PBFT_CORE_BYTES;
	SYNOD_ASSERT(4u + cps_len + 4u + vc.prepared_len == len);
}

static void fuzz_new_view(struct fuzz_span in, const uint8_t *p, size_t len,
                          const struct pbft_msg_limits *lim)
{
	struct pbft_new_view nv;
	struct pbft_new_view_vc vc;
	struct pbft_new_view_pp pp;
	int rc = pbft_new_view_parse(&nv, p, len, lim);
	SYNOD_ASSERT(rc <= 0);
	if (rc != 0) {
		SYNOD_ASSERT(pbft_new_view_next_vc(&nv, &vc) == 0);
		SYNOD_ASSERT(pbft_new_view_next_pp(&nv, &pp) == 0);
		return;
	}
	SYNOD_ASSERT(nv.vc_count <= lim->replicas && nv.pp_count <= lim->window);
	uint32_t n = 0;
	while ((rc = pbft_new_view_next_vc(&nv, &vc)) == 1) {
		SYNOD_ASSERT(vc.core.type == PBFT_MSG_VIEW_CHANGE &&
		             vc.core.sender < lim->replicas);
		fuzz_inside(in, vc.payload, vc.payload_len);
		fuzz_digest(vc.core.digest, vc.payload, vc.payload_len, false);
		fuzz_view_change(in, vc.payload, vc.payload_len, lim, true);
		n++;
	}
	SYNOD_ASSERT(rc == 0 && n == nv.vc_count && nv.vc_pos == nv.vcs_len);
	n = 0;
	while ((rc = pbft_new_view_next_pp(&nv, &pp)) == 1) {
		SYNOD_ASSERT(pp.core.type == PBFT_MSG_PRE_PREPARE &&
		             pp.core.sender < lim->replicas);
		fuzz_batch(in, pp.batch, pp.batch_len, lim);
		fuzz_digest(pp.core.digest, pp.batch, pp.batch_len, true);
		n++;
	}
	SYNOD_ASSERT(rc == 0 && n == nv.pp_count && nv.pp_pos == nv.pps_len);
	SYNOD_ASSERT(nv.vcs == p + 4 && nv.pps + nv.pps_len == p + len);
	SYNOD_ASSERT(4u + nv.vcs_len + 4u + nv.pps_len == len);
}

static void fuzz_state(struct fuzz_span in, const uint8_t *p, size_t len,
                       const struct pbft_msg_limits *lim)
{
	struct pbft_state st;
	struct pbft_committed_batch cb;
	int rc = pbft_state_parse(&st, p, len, lim);
	SYNOD_ASSERT(rc <= 0);
	if (rc != 0) {
		SYNOD_ASSERT(pbft_state_next(&st, &cb) == 0);
		return;
	}
	SYNOD_ASSERT(st.checkpoint_count <= lim->replicas && st.batch_count <= lim->window);
	SYNOD_ASSERT(st.snapshot_len <= lim->snapshot_bytes_max);
	fuzz_cores(in, st.checkpoints, st.checkpoint_count, PBFT_MSG_CHECKPOINT, lim);
	fuzz_inside(in, st.snapshot, st.snapshot_len);
	uint32_t n = 0;
	while ((rc = pbft_state_next(&st, &cb)) == 1) {
		fuzz_batch(in, cb.batch, cb.batch_len, lim);
		fuzz_cores(in, cb.commits, cb.commit_count, PBFT_MSG_COMMIT, lim);
		n++;
	}
	SYNOD_ASSERT(rc == 0 && n == st.batch_count && st.pos == st.batches_len);
	SYNOD_ASSERT(st.batches + st.batches_len == p + len);
	size_t cps_len = (size_t)st.checkpoint_count * PBFT_CORE_BYTES;
	SYNOD_ASSERT(4u + cps_len + 4u + st.snapshot_len + 4u + st.batches_len == len);
}

static void fuzz_payload(struct fuzz_span in, const struct pbft_msg *m,
                         const struct pbft_msg_limits *lim)
{
	switch (m->core.type) {
	case PBFT_MSG_REQUEST:
		SYNOD_ASSERT(m->payload_len >= 1 && m->payload_len <= lim->entry_bytes_max);
		break;
	case PBFT_MSG_PRE_PREPARE:
		fuzz_batch(in, m->payload, m->payload_len, lim);
		break;
	case PBFT_MSG_VIEW_CHANGE:
		fuzz_view_change(in, m->payload, m->payload_len, lim, false);
		break;
	case PBFT_MSG_NEW_VIEW:
		fuzz_new_view(in, m->payload, m->payload_len, lim);
		break;
	case PBFT_MSG_STATE:
		fuzz_state(in, m->payload, m->payload_len, lim);
		break;
	default:
		SYNOD_ASSERT(m->payload_len == 0 && m->payload == NULL);
		return;
	}
	fuzz_digest(m->core.digest, m->payload, m->payload_len,
	            m->core.type == PBFT_MSG_PRE_PREPARE);
}

/* Bit 6 of the selector clear: the input with its digest made to match its payload. */
static struct fuzz_span fuzz_digest_fix(struct fuzz_span in)
{
	static uint8_t fixed[FUZZ_MSG_BYTES_MAX];
	const size_t header = PBFT_CORE_BYTES + 4u;
	const size_t digest_at = PBFT_CORE_SIGNED_BYTES - PBFT_DIGEST_BYTES;
	if (in.len < header || in.len > sizeof fixed) {
		return in;
	}
	memcpy(fixed, in.p, in.len);
	if (fixed[1] == PBFT_MSG_PRE_PREPARE) {
		pbft_batch_digest(fixed + digest_at, fixed + header, in.len - header);
	} else {
		synod_sha256(fixed + digest_at, fixed + header, in.len - header);
	}
	struct fuzz_span out = {fixed, in.len};
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[FUZZ_MSG_BYTES_MAX];
	struct pbft_msg_limits lim;
	struct pbft_msg m;
	if (size < 1) {
		return 0;
	}
	fuzz_limits(data[0], &lim);
	struct fuzz_span in = {data + 1, size - 1};
	if ((data[0] & 0x40u) == 0) {
		in = fuzz_digest_fix(in);
	}
	int rc = pbft_msg_decode(&m, in.p, in.len, &lim);
	SYNOD_ASSERT(rc <= 0);
	if (rc != 0) {
		return 0;
	}
	SYNOD_ASSERT(in.len <= lim.msg_bytes_max && m.core.sender < lim.replicas);
	SYNOD_ASSERT(m.core.type >= 1 && m.core.type <= PBFT_MSG_TYPE_MAX);
	SYNOD_ASSERT(strcmp(pbft_msg_type_name(m.core.type), "UNKNOWN") != 0);
	fuzz_inside(in, m.payload, m.payload_len);
	fuzz_payload(in, &m, &lim);

	size_t len = 0;
	rc = pbft_msg_encode(&m.core, m.payload, m.payload_len, out, sizeof out, &len);
	SYNOD_ASSERT(rc == 0 && len == in.len && memcmp(out, in.p, len) == 0);
	uint8_t signed_bytes[PBFT_CORE_SIGNED_BYTES];
	pbft_core_signed_bytes(&m.core, signed_bytes);
	SYNOD_ASSERT(memcmp(signed_bytes, in.p, PBFT_CORE_SIGNED_BYTES) == 0);
	return 0;
}

/* The plugin host protocol codec (format in proto.h). */
#include "voter/proto.h"

#include "common/wire.h"
#include "voter/limits.h"

#include <stdbool.h>
#include <string.h>

/* Per type: how many blobs, their limits, whether a verdict byte leads. */
struct proto_layout {
	uint8_t blobs;
	bool verdict;
	size_t a_max;
	size_t b_max;
};

static bool proto_layout_get(uint8_t type, struct proto_layout *l)
{
	switch (type) {
	case VOTER_PROTO_INIT:
		*l = (struct proto_layout){1, false, VOTER_PLUGIN_CONFIG_BYTES_MAX, 0};
		return true;
	case VOTER_PROTO_READY:
		*l = (struct proto_layout){2, false, SYNOD_APP_PLUGIN_NAME_BYTES_MAX,
		                           SYNOD_APP_PLUGIN_VERSION_BYTES_MAX};
		return true;
	case VOTER_PROTO_EVAL:
		*l = (struct proto_layout){2, false, VOTER_PLUGIN_REQUEST_BYTES_MAX,
		                           VOTER_PLUGIN_POLICY_BYTES_MAX};
		return true;
	case VOTER_PROTO_VERDICT:
		*l = (struct proto_layout){1, true, VOTER_PLUGIN_REASON_BYTES_MAX, 0};
		return true;
	case VOTER_PROTO_ERROR:
		*l = (struct proto_layout){1, false, VOTER_PLUGIN_TEXT_BYTES_MAX, 0};
		return true;
	default:
		return false;
	}
}

static bool proto_verdict_ok(uint8_t v)
{
	return v == SYNOD_PLUGIN_APPROVE || v == SYNOD_PLUGIN_REJECT;
}

int voter_proto_encode(uint8_t *buf, size_t cap, size_t *len, const struct voter_proto_msg *m)
{
	struct proto_layout l;
	*len = 0;
	if (!proto_layout_get(m->type, &l) || (l.verdict && !proto_verdict_ok(m->verdict))) {
		return SYNOD_EINVAL;
	}
	if (m->a_len > l.a_max || (l.blobs == 2 && m->b_len > l.b_max)) {
		return SYNOD_ELIMIT;
	}
	struct synod_wbuf w;
	synod_wbuf_init(&w, buf, cap);
	uint8_t *hdr = synod_wbuf_reserve(&w, VOTER_PROTO_HEADER_BYTES);
	synod_wbuf_u8(&w, m->type);
	if (l.verdict) {
		synod_wbuf_u8(&w, m->verdict);
	}
	synod_wbuf_blob(&w, m->a, m->a_len);
	if (l.blobs == 2) {
		synod_wbuf_blob(&w, m->b, m->b_len);
	}
	if (w.err != 0 || hdr == NULL) {
		return SYNOD_ELIMIT;
	}
	size_t body = w.len - VOTER_PROTO_HEADER_BYTES;
	if (body > VOTER_PROTO_FRAME_BYTES_MAX) {
		return SYNOD_ELIMIT;
	}
	hdr[0] = (uint8_t)(body >> 24);
	hdr[1] = (uint8_t)(body >> 16);
	hdr[2] = (uint8_t)(body >> 8);
	hdr[3] = (uint8_t)body;
	*len = w.len;
	return 0;
}

int voter_proto_header(const uint8_t hdr[VOTER_PROTO_HEADER_BYTES], size_t *body_len)
{
	uint32_t l = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 |
	             (uint32_t)hdr[3];
	*body_len = l;
	return l == 0 || l > VOTER_PROTO_FRAME_BYTES_MAX ? SYNOD_EPROTO : 0;
}

int voter_proto_decode(struct voter_proto_msg *m, const uint8_t *body, size_t len, char *errmsg,
                       size_t errmsg_len)
{
	struct proto_layout l;
	struct synod_rbuf r;
	memset(m, 0, sizeof *m);
	synod_rbuf_init(&r, body, len);
	(void)synod_rbuf_u8(&r, &m->type);
	if (r.err != 0 || !proto_layout_get(m->type, &l)) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EPROTO, "unknown frame type %u",
		                  (unsigned)m->type);
	}
	if (l.verdict) {
		(void)synod_rbuf_u8(&r, &m->verdict);
		if (r.err == 0 && !proto_verdict_ok(m->verdict)) {
			return synod_errf(errmsg, errmsg_len, SYNOD_EPROTO, "verdict byte %u",
			                  (unsigned)m->verdict);
		}
	}
	(void)synod_rbuf_blob(&r, &m->a, &m->a_len, l.a_max);
	if (l.blobs == 2) {
		(void)synod_rbuf_blob(&r, &m->b, &m->b_len, l.b_max);
	}
	int rc = synod_rbuf_finish(&r);
	if (rc != 0) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EPROTO, "frame type %u: %s",
		                  (unsigned)m->type, synod_strerror(rc));
	}
	return 0;
}

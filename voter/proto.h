/* The plugin host protocol: the voter and synod-plugin-host over two pipes
 * (the host's stdin and stdout), after OpenSSH's monitor. Tiny and fully
 * checked: each side trusts nothing the other sends.
 *
 * A frame is a u32 big-endian length L (1..VOTER_PROTO_FRAME_BYTES_MAX), then
 * L bytes: a type byte and the payload. Blobs are u32 length + bytes.
 *
 *   voter -> host   INIT     blob config                   (once, first)
 *   host -> voter   READY    blob name, blob version       (or ERROR)
 *   voter -> host   EVAL     blob request, blob policy     (then one answer)
 *   host -> voter   VERDICT  u8 verdict (1 approve, 2 reject), blob reason
 *   host -> voter   ERROR    blob message                  (no verdict)
 *
 * Every payload must be consumed exactly (trailing bytes are an error) and
 * every blob is within its limit (voter/limits.h). A host that breaks any
 * rule is killed and restarted by the voter. */
#ifndef SYNOD_VOTER_PROTO_H
#define SYNOD_VOTER_PROTO_H

#include "common/err.h"

#include <stddef.h>
#include <stdint.h>

#define VOTER_PROTO_HEADER_BYTES 4u

enum voter_proto_type {
	VOTER_PROTO_INIT = 1,
	VOTER_PROTO_READY = 2,
	VOTER_PROTO_EVAL = 3,
	VOTER_PROTO_VERDICT = 4,
	VOTER_PROTO_ERROR = 5,
};

/* A decoded or to-be-encoded frame; a and b borrow the frame's bytes. */
struct voter_proto_msg {
	uint8_t type;
	uint8_t verdict; /* VERDICT only */
	const uint8_t *a;
	size_t a_len;
	const uint8_t *b; /* READY and EVAL only */
	size_t b_len;
};

/* Writes the whole frame (header included) into buf (cap bytes); *len gets its
 * size. SYNOD_ELIMIT when a blob is over its limit or buf too small,
 * SYNOD_EINVAL for an unknown type or verdict. */
SYNOD_WUR int voter_proto_encode(uint8_t *buf, size_t cap, size_t *len,
                                 const struct voter_proto_msg *m);
/* Reads a frame header: *body_len gets L. SYNOD_EPROTO when L is 0 or above
 * VOTER_PROTO_FRAME_BYTES_MAX. */
SYNOD_WUR int voter_proto_header(const uint8_t hdr[VOTER_PROTO_HEADER_BYTES], size_t *body_len);
/* Decodes a frame body (type + payload) into m, borrowing body. SYNOD_EPROTO
 * (errmsg says why) for an unknown type, a bad verdict, a blob over its
 * limit, a short payload or trailing bytes. */
SYNOD_WUR int voter_proto_decode(struct voter_proto_msg *m, const uint8_t *body, size_t len,
                                 char *errmsg, size_t errmsg_len);

#endif

/* Bounded binary writer and reader for wire messages.
 *
 * Integers are big-endian. A blob is a u32 length followed by that many bytes.
 * Both sides keep a sticky error: after the first failure every call is a
 * no-op, so a codec can write or read a whole message and check once, and
 * every read is length-checked before it touches memory. */
#ifndef SYNOD_COMMON_WIRE_H
#define SYNOD_COMMON_WIRE_H

#include "common/err.h"

#include <stddef.h>
#include <stdint.h>

struct synod_wbuf {
	uint8_t *buf; /* borrowed */
	size_t cap;
	size_t len;
	int err; /* 0, or SYNOD_ELIMIT once a write did not fit */
};

void synod_wbuf_init(struct synod_wbuf *w, uint8_t *buf, size_t cap);
void synod_wbuf_u8(struct synod_wbuf *w, uint8_t v);
void synod_wbuf_u16(struct synod_wbuf *w, uint16_t v);
void synod_wbuf_u32(struct synod_wbuf *w, uint32_t v);
void synod_wbuf_u64(struct synod_wbuf *w, uint64_t v);
void synod_wbuf_bytes(struct synod_wbuf *w, const void *p, size_t n);
/* u32 length + bytes; n above UINT32_MAX sets SYNOD_ELIMIT. */
void synod_wbuf_blob(struct synod_wbuf *w, const void *p, size_t n);
/* Reserves n bytes and returns where they start (NULL on error): for fields
 * that are filled in after the rest is written (a signature). */
uint8_t *synod_wbuf_reserve(struct synod_wbuf *w, size_t n);

struct synod_rbuf {
	const uint8_t *p; /* borrowed */
	size_t len;
	size_t pos;
	int err; /* 0, SYNOD_ETRUNC or SYNOD_ELIMIT */
};

void synod_rbuf_init(struct synod_rbuf *r, const uint8_t *p, size_t len);
/* Each reader stores 0 in *out on error and returns the sticky error. */
int synod_rbuf_u8(struct synod_rbuf *r, uint8_t *out);
int synod_rbuf_u16(struct synod_rbuf *r, uint16_t *out);
int synod_rbuf_u32(struct synod_rbuf *r, uint32_t *out);
int synod_rbuf_u64(struct synod_rbuf *r, uint64_t *out);
/* Copies exactly n bytes into out. */
int synod_rbuf_copy(struct synod_rbuf *r, void *out, size_t n);
/* Borrows n bytes: *out points into the input buffer. */
int synod_rbuf_take(struct synod_rbuf *r, const uint8_t **out, size_t n);
/* Reads a blob of at most max bytes (longer: SYNOD_ELIMIT); borrows. */
int synod_rbuf_blob(struct synod_rbuf *r, const uint8_t **out, size_t *n, size_t max);
size_t synod_rbuf_remaining(const struct synod_rbuf *r);
/* The sticky error, or SYNOD_ETRAILING if unread bytes remain. */
SYNOD_WUR int synod_rbuf_finish(const struct synod_rbuf *r);

#endif

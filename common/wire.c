#include "common/wire.h"

#include <string.h>

void synod_wbuf_init(struct synod_wbuf *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->err = 0;
}

uint8_t *synod_wbuf_reserve(struct synod_wbuf *w, size_t n)
{
	if (w->err != 0) {
		return NULL;
	}
	if (n > w->cap - w->len) {
		w->err = SYNOD_ELIMIT;
		return NULL;
	}
	uint8_t *at = w->buf + w->len;
	w->len += n;
	return at;
}

void synod_wbuf_bytes(struct synod_wbuf *w, const void *p, size_t n)
{
	uint8_t *at = synod_wbuf_reserve(w, n);
	if (at != NULL && n > 0) {
		memcpy(at, p, n);
	}
}

static void wbuf_be(struct synod_wbuf *w, uint64_t v, unsigned bytes)
{
	uint8_t *at = synod_wbuf_reserve(w, bytes);
	if (at == NULL) {
		return;
	}
	for (unsigned i = 0; i < bytes; i++) {
		at[i] = (uint8_t)(v >> (8u * (bytes - 1u - i)));
	}
}

void synod_wbuf_u8(struct synod_wbuf *w, uint8_t v)
{
	wbuf_be(w, v, 1);
}

void synod_wbuf_u16(struct synod_wbuf *w, uint16_t v)
{
	wbuf_be(w, v, 2);
}

void synod_wbuf_u32(struct synod_wbuf *w, uint32_t v)
{
	wbuf_be(w, v, 4);
}

void synod_wbuf_u64(struct synod_wbuf *w, uint64_t v)
{
	wbuf_be(w, v, 8);
}

void synod_wbuf_blob(struct synod_wbuf *w, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		if (w->err == 0) {
			w->err = SYNOD_ELIMIT;
		}
		return;
	}
	synod_wbuf_u32(w, (uint32_t)n);
	synod_wbuf_bytes(w, p, n);
}

void synod_rbuf_init(struct synod_rbuf *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->pos = 0;
	r->err = 0;
}

size_t synod_rbuf_remaining(const struct synod_rbuf *r)
{
	return r->err != 0 ? 0 : r->len - r->pos;
}

int synod_rbuf_take(struct synod_rbuf *r, const uint8_t **out, size_t n)
{
	*out = NULL;
	if (r->err != 0) {
		return r->err;
	}
	if (n > r->len - r->pos) {
		r->err = SYNOD_ETRUNC;
		return r->err;
	}
	*out = r->p + r->pos;
	r->pos += n;
	return 0;
}

int synod_rbuf_copy(struct synod_rbuf *r, void *out, size_t n)
{
	const uint8_t *at;
	if (synod_rbuf_take(r, &at, n) != 0) {
		memset(out, 0, n);
		return r->err;
	}
	if (n > 0) {
		memcpy(out, at, n);
	}
	return 0;
}

static int rbuf_be(struct synod_rbuf *r, uint64_t *out, unsigned bytes)
{
	const uint8_t *at;
	*out = 0;
	if (synod_rbuf_take(r, &at, bytes) != 0) {
		return r->err;
	}
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++) {
		v = (v << 8) | at[i];
	}
	*out = v;
	return 0;
}

int synod_rbuf_u8(struct synod_rbuf *r, uint8_t *out)
{
	uint64_t v;
	int rc = rbuf_be(r, &v, 1);
	*out = (uint8_t)v;
	return rc;
}

int synod_rbuf_u16(struct synod_rbuf *r, uint16_t *out)
{
	uint64_t v;
	int rc = rbuf_be(r, &v, 2);
	*out = (uint16_t)v;
	return rc;
}

int synod_rbuf_u32(struct synod_rbuf *r, uint32_t *out)
{
	uint64_t v;
	int rc = rbuf_be(r, &v, 4);
	*out = (uint32_t)v;
	return rc;
}

int synod_rbuf_u64(struct synod_rbuf *r, uint64_t *out)
{
	return rbuf_be(r, out, 8);
}

int synod_rbuf_blob(struct synod_rbuf *r, const uint8_t **out, size_t *n, size_t max)
{
	uint32_t len;
	*out = NULL;
	*n = 0;
	if (synod_rbuf_u32(r, &len) != 0) {
		return r->err;
	}
	if (len > max) {
		r->err = SYNOD_ELIMIT;
		return r->err;
	}
	if (synod_rbuf_take(r, out, len) != 0) {
		return r->err;
	}
	*n = len;
	return 0;
}

int synod_rbuf_finish(const struct synod_rbuf *r)
{
	if (r->err != 0) {
		return r->err;
	}
	return r->pos == r->len ? 0 : SYNOD_ETRAILING;
}

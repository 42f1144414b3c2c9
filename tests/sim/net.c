/* The simulated network's queue: a binary min-heap of packets keyed by
 * (delivery time, send order), bounded in packets and bytes. Buffers are
 * reference-counted so a broadcast is stored once. */
#include "tests/sim/sim.h"

#include "common/assert.h"

#include <stdlib.h>
#include <string.h>

int sim_net_init(struct sim_net *n, uint32_t cap)
{
	memset(n, 0, sizeof *n);
	n->heap = calloc(cap, sizeof *n->heap);
	if (n->heap == NULL) {
		return SYNOD_ENOMEM;
	}
	n->cap = cap;
	return 0;
}

void sim_net_close(struct sim_net *n)
{
	for (uint32_t i = 0; i < n->count; i++) {
		sim_buf_unref(n->heap[i].buf);
	}
	free(n->heap);
	memset(n, 0, sizeof *n);
}

struct sim_buf *sim_buf_new(const uint8_t *bytes, size_t len)
{
	SYNOD_ASSERT(len <= UINT32_MAX);
	struct sim_buf *b = malloc(sizeof *b + len);
	SYNOD_ASSERT(b != NULL);
	b->refs = 1;
	b->len = (uint32_t)len;
	if (len > 0) {
		memcpy(b->bytes, bytes, len);
	}
	return b;
}

void sim_buf_unref(struct sim_buf *b)
{
	if (b == NULL) {
		return;
	}
	SYNOD_ASSERT(b->refs > 0);
	b->refs--;
	if (b->refs == 0) {
		free(b);
	}
}

static bool net_before(const struct sim_packet *a, const struct sim_packet *b)
{
	if (a->at_ms != b->at_ms) {
		return a->at_ms < b->at_ms;
	}
	return a->order < b->order;
}

static void net_swap(struct sim_packet *a, struct sim_packet *b)
{
	struct sim_packet t = *a;
	*a = *b;
	*b = t;
}

bool sim_net_push(struct sim_net *n, struct sim_buf *buf, uint32_t from, uint32_t to,
                  uint64_t at_ms)
{
	if (n->count == n->cap || n->bytes + buf->len > SIM_NET_BYTES_MAX) {
		return false;
	}
	buf->refs++;
	n->bytes += buf->len;
	uint32_t i = n->count++;
	n->heap[i] = (struct sim_packet){
	    .at_ms = at_ms, .order = n->order_next++, .buf = buf, .from = from, .to = to};
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (!net_before(&n->heap[i], &n->heap[parent])) {
			break;
		}
		net_swap(&n->heap[i], &n->heap[parent]);
		i = parent;
	}
	return true;
}

uint64_t sim_net_next_ms(const struct sim_net *n)
{
	return n->count == 0 ? UINT64_MAX : n->heap[0].at_ms;
}

void sim_net_pop(struct sim_net *n, struct sim_packet *out)
{
	SYNOD_ASSERT(n->count > 0);
	*out = n->heap[0];
	n->bytes -= out->buf->len;
	n->heap[0] = n->heap[--n->count];
	uint32_t i = 0;
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n->count && net_before(&n->heap[l], &n->heap[m])) {
			m = l;
		}
		if (r < n->count && net_before(&n->heap[r], &n->heap[m])) {
			m = r;
		}
		if (m == i) {
			break;
		}
		net_swap(&n->heap[i], &n->heap[m]);
		i = m;
	}
}

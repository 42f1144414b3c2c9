/* Fuzzes the bounded binary reader: the input is a little program of reads
 * (opcode byte, then whatever that read consumes). No read may touch memory
 * outside the input, whatever the lengths claim. */
#include "common/assert.h"
#include "common/wire.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct synod_rbuf r;
	synod_rbuf_init(&r, data, size);
	uint8_t scratch[256];
	for (unsigned step = 0; step < 1024 && synod_rbuf_remaining(&r) > 0; step++) {
		uint8_t op = 0;
		uint16_t v16;
		uint32_t v32;
		uint64_t v64;
		const uint8_t *p;
		size_t n;
		(void)synod_rbuf_u8(&r, &op);
		switch (op % 6u) {
		case 0:
			(void)synod_rbuf_u16(&r, &v16);
			break;
		case 1:
			(void)synod_rbuf_u32(&r, &v32);
			break;
		case 2:
			(void)synod_rbuf_u64(&r, &v64);
			break;
		case 3:
			if (synod_rbuf_blob(&r, &p, &n, 4096) == 0 && n > 0) {
				SYNOD_ASSERT(p >= data && p + n <= data + size);
				memcpy(scratch, p, n < sizeof scratch ? n : sizeof scratch);
			}
			break;
		case 4:
			(void)synod_rbuf_copy(&r, scratch, op % sizeof scratch);
			break;
		default:
			if (synod_rbuf_take(&r, &p, op) == 0 && op > 0) {
				SYNOD_ASSERT(p + op <= data + size);
			}
			break;
		}
	}
	int rc = synod_rbuf_finish(&r);
	SYNOD_ASSERT(rc == 0 || rc == r.err || rc == SYNOD_ETRAILING);
	SYNOD_ASSERT(r.pos <= size);
	return 0;
}

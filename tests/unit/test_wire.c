#include "common/wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void wire_roundtrip(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct synod_wbuf w;
	synod_wbuf_init(&w, buf, sizeof buf);
	synod_wbuf_u8(&w, 0xab);
	synod_wbuf_u16(&w, 0x1234);
	synod_wbuf_u32(&w, 0xdeadbeef);
	synod_wbuf_u64(&w, 0x0102030405060708ull);
	synod_wbuf_blob(&w, "hello", 5);
	assert_int_equal(w.err, 0);
	assert_int_equal(w.len, 1 + 2 + 4 + 8 + 4 + 5);
	assert_int_equal(buf[1], 0x12); /* big-endian */

	struct synod_rbuf r;
	synod_rbuf_init(&r, buf, w.len);
	uint8_t a;
	uint16_t b;
	uint32_t c;
	uint64_t d;
	const uint8_t *blob;
	size_t blob_len;
	assert_int_equal(synod_rbuf_u8(&r, &a), 0);
	assert_int_equal(synod_rbuf_u16(&r, &b), 0);
	assert_int_equal(synod_rbuf_u32(&r, &c), 0);
	assert_int_equal(synod_rbuf_u64(&r, &d), 0);
	assert_int_equal(synod_rbuf_blob(&r, &blob, &blob_len, 16), 0);
	assert_int_equal(a, 0xab);
	assert_int_equal(b, 0x1234);
	assert_int_equal(c, 0xdeadbeef);
	assert_true(d == 0x0102030405060708ull);
	assert_int_equal(blob_len, 5);
	assert_memory_equal(blob, "hello", 5);
	assert_int_equal(synod_rbuf_finish(&r), 0);
}

static void wire_write_overflow_is_sticky(void **state)
{
	(void)state;
	uint8_t buf[5];
	struct synod_wbuf w;
	synod_wbuf_init(&w, buf, sizeof buf);
	synod_wbuf_u32(&w, 1);
	synod_wbuf_u16(&w, 2); /* does not fit */
	assert_int_equal(w.err, SYNOD_ELIMIT);
	synod_wbuf_u8(&w, 3); /* would fit, but the error is sticky */
	assert_int_equal(w.len, 4);
	assert_null(synod_wbuf_reserve(&w, 1));
}

static void wire_read_truncated(void **state)
{
	(void)state;
	const uint8_t buf[3] = {0, 0, 1};
	struct synod_rbuf r;
	uint32_t v = 7;
	synod_rbuf_init(&r, buf, sizeof buf);
	assert_int_equal(synod_rbuf_u32(&r, &v), SYNOD_ETRUNC);
	assert_int_equal(v, 0);
	uint8_t b;
	assert_int_equal(synod_rbuf_u8(&r, &b), SYNOD_ETRUNC); /* sticky */
	assert_int_equal(synod_rbuf_finish(&r), SYNOD_ETRUNC);
	assert_int_equal(synod_rbuf_remaining(&r), 0);
}

static void wire_blob_length_checked(void **state)
{
	(void)state;
	/* claims 0xffffffff bytes but holds 2 */
	const uint8_t lie[6] = {0xff, 0xff, 0xff, 0xff, 'h', 'i'};
	struct synod_rbuf r;
	const uint8_t *p;
	size_t n;
	synod_rbuf_init(&r, lie, sizeof lie);
	assert_int_equal(synod_rbuf_blob(&r, &p, &n, SIZE_MAX), SYNOD_ETRUNC);
	assert_null(p);
	/* within the buffer but above the caller's max */
	const uint8_t big[7] = {0, 0, 0, 3, 'a', 'b', 'c'};
	synod_rbuf_init(&r, big, sizeof big);
	assert_int_equal(synod_rbuf_blob(&r, &p, &n, 2), SYNOD_ELIMIT);
}

static void wire_trailing_bytes(void **state)
{
	(void)state;
	const uint8_t buf[3] = {1, 2, 3};
	struct synod_rbuf r;
	uint16_t v;
	synod_rbuf_init(&r, buf, sizeof buf);
	assert_int_equal(synod_rbuf_u16(&r, &v), 0);
	assert_int_equal(synod_rbuf_finish(&r), SYNOD_ETRAILING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(wire_roundtrip),      cmocka_unit_test(wire_write_overflow_is_sticky),
	    cmocka_unit_test(wire_read_truncated), cmocka_unit_test(wire_blob_length_checked),
	    cmocka_unit_test(wire_trailing_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

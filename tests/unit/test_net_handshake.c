/* The replica handshake's proofs (coordinator/net/handshake.h): a valid
 * proof checks; a server's proof never passes as a client's (reflection);
 * a proof over an old challenge fails (replay); one made for another replica
 * or another cluster fails; messages round-trip and malformed ones are
 * refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "coordinator/net/handshake.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct keys {
	char path[64];
	struct synod_signer *s;
	uint8_t pk[32];
};

static void key_make(struct keys *k)
{
	snprintf(k->path, sizeof k->path, "/tmp/synod-hs-%d-%p.key", (int)getpid(), (void *)k);
	char err[256];
	char uri[80];
	snprintf(uri, sizeof uri, "file:%s", k->path);
	assert_int_equal(synod_keygen(uri, NULL, k->pk, err, sizeof err), 0);
	assert_int_equal(synod_signer_open(&k->s, uri, err, sizeof err), 0);
}

static void key_free(struct keys *k)
{
	synod_signer_close(k->s);
	unlink(k->path);
}

static void hs_proofs(void **state)
{
	(void)state;
	struct keys a, b;
	key_make(&a);
	key_make(&b);
	uint8_t cid[32] = {1}, other[32] = {2}, cc[32], cs[32], old[32], sig[64];
	randombytes_buf(cc, sizeof cc);
	randombytes_buf(cs, sizeof cs);
	randombytes_buf(old, sizeof old);
	/* client 1 proves to server 2: over the server's challenge cs and its own cc */
	assert_int_equal(synod_hs_prove(a.s, cid, SYNOD_HS_ROLE_CLIENT, 1, 2, cs, cc, sig), 0);
	assert_int_equal(synod_hs_check(sig, cid, SYNOD_HS_ROLE_CLIENT, 1, 2, cs, cc, a.pk), 0);
	/* reflection: the same bytes as a server's proof */
	assert_int_equal(synod_hs_check(sig, cid, SYNOD_HS_ROLE_SERVER, 1, 2, cs, cc, a.pk),
	                 SYNOD_EBADSIG);
	/* replay against a fresh challenge */
	assert_int_equal(synod_hs_check(sig, cid, SYNOD_HS_ROLE_CLIENT, 1, 2, old, cc, a.pk),
	                 SYNOD_EBADSIG);
	/* relayed to another verifier, or claimed by another signer index */
	assert_int_equal(synod_hs_check(sig, cid, SYNOD_HS_ROLE_CLIENT, 1, 3, cs, cc, a.pk),
	                 SYNOD_EBADSIG);
	assert_int_equal(synod_hs_check(sig, cid, SYNOD_HS_ROLE_CLIENT, 0, 2, cs, cc, a.pk),
	                 SYNOD_EBADSIG);
	/* another cluster, another key */
	assert_int_equal(synod_hs_check(sig, other, SYNOD_HS_ROLE_CLIENT, 1, 2, cs, cc, a.pk),
	                 SYNOD_EBADSIG);
	assert_int_equal(synod_hs_check(sig, cid, SYNOD_HS_ROLE_CLIENT, 1, 2, cs, cc, b.pk),
	                 SYNOD_EBADSIG);
	/* a proof of another domain (a plain test signature of the same bytes) */
	uint8_t msg[SYNOD_HS_PROOF_BYTES] = {0};
	assert_int_equal(synod_signer_sign(a.s, sig, SYNOD_TAG_TEST, cid, msg, sizeof msg), 0);
	assert_int_equal(synod_hs_check(sig, cid, SYNOD_HS_ROLE_CLIENT, 1, 2, cs, cc, a.pk),
	                 SYNOD_EBADSIG);
	key_free(&a);
	key_free(&b);
}

static void hs_codec(void **state)
{
	(void)state;
	struct synod_hs_msg m = {.type = SYNOD_HS_HELLO_AUTH, .from = 3, .to = 0x0102};
	memset(m.cluster_id, 7, sizeof m.cluster_id);
	memset(m.challenge, 9, sizeof m.challenge);
	memset(m.sig, 5, sizeof m.sig);
	uint8_t buf[SYNOD_HS_MSG_BYTES + 1];
	synod_hs_encode(&m, buf);
	struct synod_hs_msg d;
	assert_int_equal(synod_hs_decode(&d, buf, SYNOD_HS_MSG_BYTES), 0);
	assert_memory_equal(&d.cluster_id, &m.cluster_id, 32);
	assert_int_equal(d.from, 3);
	assert_int_equal(d.to, 0x0102);
	assert_memory_equal(d.sig, m.sig, 64);
	assert_int_equal(synod_hs_decode(&d, buf, SYNOD_HS_MSG_BYTES - 1), SYNOD_EPROTO);
	assert_int_equal(synod_hs_decode(&d, buf, SYNOD_HS_MSG_BYTES + 1), SYNOD_EPROTO);
	buf[1] = 2;
	assert_int_equal(synod_hs_decode(&d, buf, SYNOD_HS_MSG_BYTES), SYNOD_EVERSION);
	buf[1] = 1;
	buf[0] = 4;
	assert_int_equal(synod_hs_decode(&d, buf, SYNOD_HS_MSG_BYTES), SYNOD_EPROTO);
	buf[0] = 0;
	assert_int_equal(synod_hs_decode(&d, buf, SYNOD_HS_MSG_BYTES), SYNOD_EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(hs_proofs),
	    cmocka_unit_test(hs_codec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

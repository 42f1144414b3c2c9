/* The crypto tables the simulated replicas get.
 *
 * Fake (default): pk_i = SHA-256("pk" | cluster_id | seed | i) and a 64-byte
 * signature that is a keyed mix of (pk, cluster_id, msg): deterministic and
 * far cheaper than SHA-256. Anyone knowing pk could forge it; it is
 * unforgeable by convention: only the adversary signs outside a core, and only
 * as its own Byzantine replicas.
 *
 * Real: Ed25519 key pairs from per-replica seeds, signing the domain-separated
 * bytes u8 tag_len | "synod/pbft/v1" | cluster_id | msg (common/sign.h). */
#include "tests/sim/sim.h"

#include "common/assert.h"
#include "common/hash.h"
#include "common/sign.h"

#include <sodium.h>
#include <string.h>

static uint64_t crypto_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Eight 64-bit lanes, each a chained mix of the key, the cluster and the
 * message: cheap (a simulation verifies millions of signatures), and any
 * change to key, cluster or message changes every lane. */
static void crypto_fake_sig(const struct sim_crypto *k, const uint8_t pk[32],
                            uint8_t sig[PBFT_SIG_BYTES], const uint8_t *msg, size_t len)
{
	uint64_t h = 0x736966616b65ull ^ len; /* "sifake" */
	for (size_t i = 0; i < 32; i += 8) {
		uint64_t a = 0, b = 0;
		memcpy(&a, pk + i, 8);
		memcpy(&b, k->cluster_id + i, 8);
		h = crypto_mix(h ^ a) ^ crypto_mix(h + b);
	}
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = 0;
		memcpy(&w, msg + i, len - i < 8 ? len - i : 8);
		h = crypto_mix(h ^ w ^ (uint64_t)i);
	}
	for (uint32_t lane = 0; lane < PBFT_SIG_BYTES / 8; lane++) {
		uint64_t v = crypto_mix(h + 0x9e3779b97f4a7c15ull * (lane + 1u));
		memcpy(sig + 8u * lane, &v, 8);
	}
}

static int crypto_real_sign(const struct sim_crypto *k, uint32_t self, uint8_t sig[PBFT_SIG_BYTES],
                            const uint8_t *msg, size_t len)
{
	uint8_t buf[SYNOD_SIGN_INPUT_BYTES(SYNOD_SIGN_TAG_BYTES_MAX, 256u)];
	size_t n = 0;
	if (len > 256u) {
		return SYNOD_ELIMIT;
	}
	int rc = synod_sign_input(buf, sizeof buf, &n, SYNOD_TAG_PBFT, k->cluster_id, msg, len);
	if (rc != 0) {
		return rc;
	}
	if (crypto_sign_ed25519_detached(sig, NULL, buf, n, k->sk[self]) != 0) {
		return SYNOD_ECRYPTO;
	}
	return 0;
}

static int crypto_table_sign(void *ctx, uint8_t sig[PBFT_SIG_BYTES], const uint8_t *msg, size_t len)
{
	struct sim_signer *s = ctx;
	struct sim_crypto *k = s->crypto;
	SYNOD_ASSERT(s->self < k->replicas);
	k->signs++;
	if (k->real) {
		return crypto_real_sign(k, s->self, sig, msg, len);
	}
	crypto_fake_sig(k, k->pk[s->self], sig, msg, len);
	return 0;
}

static int crypto_table_verify(void *ctx, const uint8_t sig[PBFT_SIG_BYTES], const uint8_t *msg,
                               size_t len, const uint8_t pk[32])
{
	struct sim_signer *s = ctx;
	struct sim_crypto *k = s->crypto;
	if (s->self == SIM_SIGNER_CHECKER) {
		k->checker_verifies++;
	} else {
		k->verifies++;
	}
	if (k->real) {
		return synod_sig_verify(sig, SYNOD_TAG_PBFT, k->cluster_id, msg, len, pk);
	}
	uint8_t want[PBFT_SIG_BYTES];
	crypto_fake_sig(k, pk, want, msg, len);
	return memcmp(want, sig, sizeof want) == 0 ? 0 : SYNOD_EBADSIG;
}

static void crypto_derive(uint8_t out[32], const char *label, const uint8_t cluster_id[32],
                          uint64_t seed, uint32_t i)
{
	struct synod_sha256 h;
	uint8_t be[12];
	for (uint32_t b = 0; b < 8; b++) {
		be[b] = (uint8_t)(seed >> (56 - 8 * b));
	}
	for (uint32_t b = 0; b < 4; b++) {
		be[8 + b] = (uint8_t)(i >> (24 - 8 * b));
	}
	synod_sha256_init(&h);
	synod_sha256_update(&h, label, strlen(label));
	synod_sha256_update(&h, cluster_id, 32);
	synod_sha256_update(&h, be, sizeof be);
	synod_sha256_final(&h, out);
}

void sim_crypto_init(struct sim_crypto *k, uint64_t seed, uint32_t replicas, bool real,
                     const uint8_t cluster_id[32])
{
	SYNOD_ASSERT(replicas <= SIM_NODES_MAX);
	memset(k, 0, sizeof *k);
	k->real = real;
	k->replicas = replicas;
	memcpy(k->cluster_id, cluster_id, 32);
	if (real) {
		SYNOD_ASSERT(sodium_init() >= 0);
	}
	for (uint32_t i = 0; i < replicas; i++) {
		if (real) {
			uint8_t sd[32];
			crypto_derive(sd, "sk", cluster_id, seed, i);
			SYNOD_ASSERT(crypto_sign_ed25519_seed_keypair(k->pk[i], k->sk[i], sd) == 0);
			sodium_memzero(sd, sizeof sd);
		} else {
			crypto_derive(k->pk[i], "pk", cluster_id, seed, i);
		}
	}
	for (uint32_t i = 0; i <= SIM_NODES_MAX; i++) {
		k->signers[i].crypto = k;
		k->signers[i].self = i;
	}
}

void sim_crypto_wipe(struct sim_crypto *k)
{
	sodium_memzero(k->sk, sizeof k->sk);
}

struct pbft_crypto sim_crypto_table(struct sim_crypto *k, uint32_t self)
{
	SYNOD_ASSERT(self <= SIM_SIGNER_CHECKER);
	struct pbft_crypto t = {
	    .ctx = &k->signers[self],
	    .sign = crypto_table_sign,
	    .verify = crypto_table_verify,
	};
	return t;
}

void sim_crypto_sign_core(struct sim_crypto *k, uint32_t signer, struct pbft_core *core)
{
	uint8_t signed_bytes[PBFT_CORE_SIGNED_BYTES];
	pbft_core_signed_bytes(core, signed_bytes);
	int rc =
	    crypto_table_sign(&k->signers[signer], core->sig, signed_bytes, sizeof signed_bytes);
	SYNOD_ASSERT(rc == 0);
}

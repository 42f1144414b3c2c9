/* The test kit: see testkit.h. */
#include "coordinator/app/testkit.h"

#include "common/assert.h"
#include "common/hash.h"
#include "common/sign.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SHA-256(label || be64(x)): the same on every host. */
static void testkit_derive(uint8_t out[SYNOD_HASH_BYTES], const char *label, uint64_t x)
{
	uint8_t be[8];
	for (uint32_t i = 0; i < 8; i++) {
		be[i] = (uint8_t)(x >> (56 - 8 * i));
	}
	struct synod_sha256 h;
	synod_sha256_init(&h);
	synod_sha256_update(&h, label, strlen(label));
	synod_sha256_update(&h, be, sizeof be);
	synod_sha256_final(&h, out);
}

void synod_testkit_key_make(struct synod_testkit_key *k, uint64_t seed)
{
	uint8_t s[SYNOD_SEED_BYTES];
	testkit_derive(s, "synod/testkit/key", seed);
	SYNOD_ASSERT(sodium_init() >= 0);
	SYNOD_ASSERT(crypto_sign_ed25519_seed_keypair(k->pk, k->sk, s) == 0);
}

void synod_testkit_init(struct synod_testkit *t, const struct synod_policy *policy,
                        uint32_t replicas, uint64_t seed)
{
	memset(t, 0, sizeof *t);
	if (policy != NULL) {
		t->cluster.policy = *policy;
	} else {
		synod_policy_defaults(&t->cluster.policy);
	}
	testkit_derive(t->cluster.cluster_id, "synod/testkit/cluster", seed);
	t->cluster.replicas = replicas;
	for (uint32_t i = 0; i < replicas && i < SYNOD_APP_REPLICAS_MAX; i++) {
		synod_testkit_key_make(&t->replicas[i], seed * 1000 + i);
		memcpy(t->cluster.replica_keys[i], t->replicas[i].pk, SYNOD_PUBKEY_BYTES);
	}
	for (uint32_t i = 0; i < t->cluster.policy.seats && i < SYNOD_APP_SEATS_MAX; i++) {
		synod_testkit_key_make(&t->seats[i], seed * 1000 + 100 + i);
		memcpy(t->cluster.seat_keys[i], t->seats[i].pk, SYNOD_PUBKEY_BYTES);
	}
	char err[256];
	int rc = synod_cluster_check(&t->cluster, err, sizeof err);
	if (rc != 0) {
		fprintf(stderr, "testkit: %s\n", err);
	}
	SYNOD_ASSERT(rc == 0);
}

static int testkit_ed25519(const uint8_t sk[64], uint8_t sig[SYNOD_SIG_BYTES], const char *tag,
                           const uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES], const uint8_t *msg,
                           size_t len)
{
	uint8_t framed[SYNOD_SIGN_INPUT_BYTES(SYNOD_SIGN_TAG_BYTES_MAX, SYNOD_APP_VOTE_BYTES_MAX)];
	size_t framed_len = 0;
	int rc = synod_sign_input(framed, sizeof framed, &framed_len, tag, cluster_id, msg, len);
	if (rc != 0) {
		return rc;
	}
	return crypto_sign_ed25519_detached(sig, NULL, framed, framed_len, sk) == 0 ? 0
	                                                                            : SYNOD_ECRYPTO;
}

int synod_testkit_vote_sign(const struct synod_testkit_key *k, const struct synod_vote *v,
                            uint8_t *out, size_t cap, size_t *len)
{
	char msg[SYNOD_APP_VOTE_BYTES_MAX];
	size_t msg_len = 0;
	uint8_t sig[SYNOD_SIG_BYTES];
	*len = 0;
	if (cap < 2) {
		return SYNOD_ELIMIT;
	}
	int rc = synod_vote_encode(v, msg, sizeof msg, &msg_len, NULL, 0);
	if (rc == 0) {
		rc = testkit_ed25519(k->sk, sig, SYNOD_TAG_VOTE, v->cluster_id,
		                     (const uint8_t *)msg, msg_len);
	}
	if (rc == 0) {
		out[0] = SYNOD_ENTRY_VOTE;
		rc = synod_vote_envelope_encode((char *)out + 1, cap - 1, len, msg, msg_len, sig);
	}
	if (rc == 0) {
		*len += 1;
	}
	return rc;
}

int synod_testkit_vote(const struct synod_testkit *t, uint32_t seat,
                       const uint8_t request_id[SYNOD_HASH_BYTES], uint64_t epoch,
                       enum synod_verdict verdict, uint32_t variant, uint8_t *out, size_t cap,
                       size_t *len)
{
	struct synod_vote v;
	memset(&v, 0, sizeof v);
	memcpy(v.cluster_id, t->cluster.cluster_id, SYNOD_CLUSTER_ID_BYTES);
	memcpy(v.request_id, request_id, SYNOD_HASH_BYTES);
	v.epoch = epoch;
	v.seat = seat;
	v.verdict = verdict;
	testkit_derive(v.reason_digest, "synod/testkit/reason", variant);
	snprintf(v.plugin_name, sizeof v.plugin_name, "test");
	snprintf(v.plugin_version, sizeof v.plugin_version, "1");
	const struct synod_testkit_key *k =
	    seat < SYNOD_APP_SEATS_MAX ? &t->seats[seat] : &t->seats[0];
	return synod_testkit_vote_sign(k, &v, out, cap, len);
}

int synod_testkit_request(uint8_t *out, size_t cap, size_t *len, uint8_t id[SYNOD_HASH_BYTES],
                          uint64_t deadline_ms, uint32_t nonce)
{
	struct synod_request *r = calloc(1, sizeof *r);
	char *text = NULL;
	size_t text_len = 0;
	*len = 0;
	if (r == NULL) {
		return SYNOD_ENOMEM;
	}
	snprintf(r->system_id, sizeof r->system_id, "acme-model-%u", nonce);
	snprintf(r->system_version, sizeof r->system_version, "1.0.0");
	snprintf(r->policy, sizeof r->policy, "default");
	snprintf(r->submitter, sizeof r->submitter, "tests@example.org");
	r->deadline_ms = deadline_ms;
	r->artifact_count = 1;
	snprintf(r->artifacts[0].name, sizeof r->artifacts[0].name, "weights.safetensors");
	testkit_derive(r->artifacts[0].sha256, "synod/testkit/artifact", nonce);
	int rc = synod_request_encode(r, &text, &text_len, id, NULL, 0);
	free(r);
	if (rc == 0) {
		rc = synod_entry_encode(out, cap, len, SYNOD_ENTRY_SUBMIT, text, text_len);
	}
	free(text);
	return rc;
}

int synod_testkit_batch(uint8_t *out, size_t cap, size_t *len, const uint8_t *const *entries,
                        const size_t *lens, uint32_t count)
{
	struct pbft_batch_writer w;
	*len = 0;
	if (cap < 4) {
		return SYNOD_ELIMIT;
	}
	pbft_batch_writer_init(&w, out, cap);
	for (uint32_t i = 0; i < count; i++) {
		if (lens[i] > UINT32_MAX ||
		    pbft_batch_writer_add(&w, entries[i], (uint32_t)lens[i]) != 0) {
			return SYNOD_ELIMIT;
		}
	}
	*len = pbft_batch_writer_finish(&w);
	return 0;
}

/* signers cores of one type for (view, seq, digest), signed by replicas
 * 0..signers-1. */
static int testkit_cores(const struct synod_testkit *t, enum pbft_msg_type type, uint64_t view,
                         uint64_t seq, const uint8_t digest[SYNOD_HASH_BYTES], uint32_t signers,
                         uint8_t *cores)
{
	int rc = 0;
	for (uint32_t i = 0; rc == 0 && i < signers && i < t->cluster.replicas; i++) {
		struct pbft_core c;
		uint8_t sb[PBFT_CORE_SIGNED_BYTES];
		memset(&c, 0, sizeof c);
		c.type = (uint8_t)type;
		c.sender = (uint16_t)i;
		c.view = view;
		c.seq = seq;
		memcpy(c.digest, digest, SYNOD_HASH_BYTES);
		pbft_core_signed_bytes(&c, sb);
		rc = testkit_ed25519(t->replicas[i].sk, c.sig, SYNOD_TAG_PBFT,
		                     t->cluster.cluster_id, sb, sizeof sb);
		pbft_core_encode(&c, cores + (size_t)i * PBFT_CORE_BYTES);
	}
	return rc;
}

int synod_testkit_commit_cert(const struct synod_testkit *t, uint64_t view, uint64_t seq,
                              const uint8_t *batch, size_t batch_len, uint32_t signers,
                              uint8_t *cert)
{
	uint8_t root[SYNOD_HASH_BYTES];
	int rc = synod_batch_merkle_root(root, batch, batch_len);
	return rc != 0 ? rc : testkit_cores(t, PBFT_MSG_COMMIT, view, seq, root, signers, cert);
}

int synod_testkit_checkpoint(const struct synod_testkit *t, struct synod_app *app, uint32_t signers,
                             struct synod_testkit_checkpoint *out)
{
	struct synod_app_status st;
	uint8_t digest[SYNOD_HASH_BYTES];
	size_t cap = synod_app_snapshot_bytes_max(&t->cluster.policy), len = 0;
	uint8_t *snap = malloc(cap);
	if (snap == NULL) {
		return SYNOD_ENOMEM;
	}
	synod_app_status_get(app, &st);
	int rc = synod_app_snapshot(app, snap, cap, &len);
	if (rc == 0) {
		synod_app_checkpoint_digest(app, snap, len, digest);
		memset(out, 0, sizeof *out);
		rc = testkit_cores(t, PBFT_MSG_CHECKPOINT, 0, st.last_seq, digest, signers,
		                   out->cores);
		out->cp.seq = st.last_seq;
		out->cp.cores = out->cores;
		out->cp.count = signers < t->cluster.replicas ? signers : t->cluster.replicas;
	}
	free(snap);
	return rc;
}

void synod_testkit_log_init(struct synod_testkit_log *l, const struct synod_testkit *kit)
{
	memset(l, 0, sizeof *l);
	l->kit = kit;
}

void synod_testkit_log_close(struct synod_testkit_log *l)
{
	for (uint64_t i = 0; i < l->count; i++) {
		free(l->batches[i].batch);
	}
	free(l->batches);
	memset(l, 0, sizeof *l);
}

int synod_testkit_log_commit(struct synod_testkit_log *l, struct synod_app *app,
                             const uint8_t *batch, size_t len, uint64_t *seq)
{
	if (l->count == l->cap) {
		uint64_t cap = l->cap == 0 ? 64 : 2 * l->cap;
		struct synod_testkit_batch *nb = realloc(l->batches, cap * sizeof *nb);
		if (nb == NULL) {
			return SYNOD_ENOMEM;
		}
		l->batches = nb;
		l->cap = cap;
	}
	struct synod_testkit_batch *b = &l->batches[l->count];
	memset(b, 0, sizeof *b);
	b->batch = malloc(len > 0 ? len : 1);
	if (b->batch == NULL) {
		return SYNOD_ENOMEM;
	}
	memcpy(b->batch, batch, len);
	b->len = len;
	b->cert_count = pbft_quorum(l->kit->cluster.replicas);
	int rc =
	    synod_testkit_commit_cert(l->kit, 0, l->count + 1, batch, len, b->cert_count, b->cert);
	if (rc != 0) {
		free(b->batch);
		return rc;
	}
	l->count++;
	if (app != NULL) {
		synod_app_execute(app, l->count, b->batch, b->len);
	}
	if (seq != NULL) {
		*seq = l->count;
	}
	return 0;
}

int synod_testkit_log_commit_entries(struct synod_testkit_log *l, struct synod_app *app,
                                     const uint8_t *const *entries, const size_t *lens,
                                     uint32_t count, uint64_t *seq)
{
	size_t cap = 4;
	for (uint32_t i = 0; i < count; i++) {
		cap += 4 + lens[i];
	}
	uint8_t *buf = malloc(cap);
	size_t len = 0;
	if (buf == NULL) {
		return SYNOD_ENOMEM;
	}
	int rc = synod_testkit_batch(buf, cap, &len, entries, lens, count);
	if (rc == 0) {
		rc = synod_testkit_log_commit(l, app, buf, len, seq);
	}
	free(buf);
	return rc;
}

int synod_testkit_log_lookup(void *ctx, uint64_t seq, struct synod_bundle_batch *out)
{
	const struct synod_testkit_log *l = ctx;
	if (seq == 0 || seq > l->count) {
		return SYNOD_ENOTFOUND;
	}
	const struct synod_testkit_batch *b = &l->batches[seq - 1];
	out->batch = b->batch;
	out->batch_len = b->len;
	out->cert = b->cert;
	out->cert_count = b->cert_count;
	return 0;
}

int synod_testkit_log_next(void *ctx, uint64_t *seq, const uint8_t **batch, size_t *len)
{
	struct synod_testkit_log *l = ctx;
	if (l->cursor >= l->count) {
		return 0;
	}
	const struct synod_testkit_batch *b = &l->batches[l->cursor++];
	*seq = l->cursor;
	*batch = b->batch;
	*len = b->len;
	return 1;
}

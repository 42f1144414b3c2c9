/* Test kit for the certification state machine: deterministic keys, a whole
 * test cluster, signed votes and requests, batches, commit certificates and an
 * in-memory certified log with the callbacks synod_bundle_build and
 * synod_app_recount take. For unit tests, the simulator, fuzz targets and
 * benches; never for daemons (keys come from a seed, not from a signer).
 * Errors: SYNOD_ELIMIT (output too small), SYNOD_ENOMEM, or those of the
 * encoders in app.h. */
#ifndef SYNOD_APP_TESTKIT_H
#define SYNOD_APP_TESTKIT_H

#include "coordinator/app/app.h"

#include <stddef.h>
#include <stdint.h>

struct synod_testkit_key {
	uint8_t pk[SYNOD_PUBKEY_BYTES];
	uint8_t sk[64]; /* libsodium's secret key: seed || pk */
};

/* The key derived from seed (SHA-256 of a label and seed as the Ed25519 seed). */
void synod_testkit_key_make(struct synod_testkit_key *k, uint64_t seed);

/* A test cluster: its description and every private key. */
struct synod_testkit {
	struct synod_cluster cluster;
	struct synod_testkit_key replicas[SYNOD_APP_REPLICAS_MAX];
	struct synod_testkit_key seats[SYNOD_APP_SEATS_MAX];
};

/* Fills t from seed: cluster id, replicas (3f+1) replica keys, policy->seats
 * seat keys; policy is copied (NULL: synod_policy_defaults). Asserts that the
 * result passes synod_cluster_check. */
void synod_testkit_init(struct synod_testkit *t, const struct synod_policy *policy,
                        uint32_t replicas, uint64_t seed);

/* Signs v with k (tag SYNOD_TAG_VOTE, v's cluster id) into a VOTE entry (kind
 * byte + envelope) in out. */
SYNOD_WUR int synod_testkit_vote_sign(const struct synod_testkit_key *k, const struct synod_vote *v,
                                      uint8_t *out, size_t cap, size_t *len);

/* The VOTE entry of seat on request (this cluster, plugin "test" "1"); variant
 * seeds the reason digest, so two variants are two different votes. */
SYNOD_WUR int synod_testkit_vote(const struct synod_testkit *t, uint32_t seat,
                                 const uint8_t request_id[SYNOD_HASH_BYTES], uint64_t epoch,
                                 enum synod_verdict verdict, uint32_t variant, uint8_t *out,
                                 size_t cap, size_t *len);

/* A SUBMIT entry for a small request (one artifact whose digest depends on
 * nonce) with the given deadline; id (may be NULL) gets its id. */
SYNOD_WUR int synod_testkit_request(uint8_t *out, size_t cap, size_t *len,
                                    uint8_t id[SYNOD_HASH_BYTES], uint64_t deadline_ms,
                                    uint32_t nonce);

/* Encodes count entries as a PBFT batch into out. */
SYNOD_WUR int synod_testkit_batch(uint8_t *out, size_t cap, size_t *len,
                                  const uint8_t *const *entries, const size_t *lens,
                                  uint32_t count);

/* signers COMMIT cores (replicas 0..signers-1) for (view, seq) and the batch's
 * Merkle root, into cert (signers x PBFT_CORE_BYTES). */
SYNOD_WUR int synod_testkit_commit_cert(const struct synod_testkit *t, uint64_t view, uint64_t seq,
                                        const uint8_t *batch, size_t batch_len, uint32_t signers,
                                        uint8_t *cert);

/* A checkpoint certificate over app's current state (at its last executed
 * seq): signers CHECKPOINT cores (replicas 0..signers-1, view 0) for
 * synod_app_checkpoint_digest of its snapshot, which the app then remembers.
 * cp points into cores. */
struct synod_testkit_checkpoint {
	uint8_t cores[SYNOD_APP_REPLICAS_MAX * PBFT_CORE_BYTES];
	struct synod_bundle_checkpoint cp;
};
SYNOD_WUR int synod_testkit_checkpoint(const struct synod_testkit *t, struct synod_app *app,
                                       uint32_t signers, struct synod_testkit_checkpoint *out);

/* An in-memory certified log: batch seq k is batches[k-1]. */
struct synod_testkit_batch {
	uint8_t *batch;
	size_t len;
	uint8_t cert[SYNOD_APP_REPLICAS_MAX * PBFT_CORE_BYTES];
	uint32_t cert_count;
};

struct synod_testkit_log {
	const struct synod_testkit *kit;
	struct synod_testkit_batch *batches;
	uint64_t count;
	uint64_t cap;
	uint64_t cursor; /* for synod_testkit_log_next */
};

void synod_testkit_log_init(struct synod_testkit_log *l, const struct synod_testkit *kit);
void synod_testkit_log_close(struct synod_testkit_log *l);
/* Appends a copy of the batch as seq count+1 with a quorum certificate (view
 * 0) and, when app is not NULL, executes it there. *seq (may be NULL) gets its
 * seq. */
SYNOD_WUR int synod_testkit_log_commit(struct synod_testkit_log *l, struct synod_app *app,
                                       const uint8_t *batch, size_t len, uint64_t *seq);
/* Batches the entries and commits them as one batch. */
SYNOD_WUR int synod_testkit_log_commit_entries(struct synod_testkit_log *l, struct synod_app *app,
                                               const uint8_t *const *entries, const size_t *lens,
                                               uint32_t count, uint64_t *seq);
/* synod_bundle_lookup_fn over a struct synod_testkit_log. */
int synod_testkit_log_lookup(void *ctx, uint64_t seq, struct synod_bundle_batch *out);
/* synod_log_next_fn over a struct synod_testkit_log, from seq 1 after
 * l->cursor = 0. */
int synod_testkit_log_next(void *ctx, uint64_t *seq, const uint8_t **batch, size_t *len);

#endif

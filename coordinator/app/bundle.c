/* The evidence bundle builder: the app's record of a decision (log positions
 * only) plus the committed batches and their commit certificates from a
 * caller's lookup give a self-contained, canonical JSON proof of the decision.
 * Format: README.md, "Evidence bundle". */
#include "common/assert.h"
#include "common/hash.h"
#include "common/json.h"
#include "common/merkle.h"
#include "coordinator/app/internal.h"

#include <stdlib.h>
#include <string.h>

enum bundle_item_kind {
	ITEM_REQUEST = 1,
	ITEM_VOTE = 2,
	ITEM_IGNORED = 3,
	ITEM_TICK = 4,
	ITEM_EVIDENCE = 5,
};

#define BUNDLE_ITEMS_MAX SYNOD_APP_BUNDLE_ENTRIES_MAX

struct bundle_item {
	struct synod_app_pos pos;
	uint8_t kind;
	uint8_t reason;
	uint32_t seat;
	uint32_t exclusion; /* ITEM_EVIDENCE: index in bundle_ctx.exclusions */
	bool has_digest;
	uint8_t digest[SYNOD_HASH_BYTES]; /* votes: the signed bytes' SHA-256 as recorded */
	struct json_object *position;     /* built from its batch */
	struct json_object *payload;      /* the entry's JSON (votes, request) */
	uint64_t tick;
};

struct bundle_ctx {
	const struct synod_app *a;
	const struct app_request *r;
	struct bundle_item items[BUNDLE_ITEMS_MAX];
	uint32_t item_count;
	const struct app_exclusion *exclusions[SYNOD_APP_SEATS_MAX];
	uint32_t exclusion_count;
	struct json_object *batches;
	struct json_object *checkpoint;
	struct app_decision_record record;
	char *errmsg;
	size_t errmsg_len;
};

static struct bundle_item *bundle_item_add(struct bundle_ctx *b, uint8_t kind,
                                           struct synod_app_pos pos, uint32_t seat)
{
	SYNOD_ASSERT(b->item_count < BUNDLE_ITEMS_MAX);
	struct bundle_item *it = &b->items[b->item_count++];
	memset(it, 0, sizeof *it);
	it->kind = kind;
	it->pos = pos;
	it->seat = seat;
	return it;
}

/* The votes of the decision's record, with the digests the slots hold. */
static void bundle_collect_votes(struct bundle_ctx *b)
{
	const struct app_slot *slots = app_slots_of(b->a, b->a->st, b->r);
	for (uint32_t i = 0; i < b->record.vote_count; i++) {
		const struct app_ignored *v = &b->record.votes[i];
		const struct app_slot *sl = &slots[v->seat];
		struct bundle_item *it = bundle_item_add(
		    b, v->reason == SYNOD_VOTE_COUNTED ? ITEM_VOTE : ITEM_IGNORED, v->pos, v->seat);
		it->reason = v->reason;
		if (sl->status != SLOT_NONE && synod_app_pos_cmp(v->pos, sl->pos) == 0) {
			memcpy(it->digest, sl->digest, SYNOD_HASH_BYTES);
			it->has_digest = true;
		} else if (sl->status == SLOT_EQUIVOCATED &&
		           synod_app_pos_cmp(v->pos, sl->pos2) == 0) {
			memcpy(it->digest, sl->digest2, SYNOD_HASH_BYTES);
			it->has_digest = true;
		}
	}
}

/* Every seat not eligible in the request's epoch, with the record that
 * excluded it. */
static int bundle_collect_exclusions(struct bundle_ctx *b)
{
	const struct app_request *r = b->r;
	for (uint32_t s = 0; s < b->a->seats; s++) {
		if ((r->eligible >> s & 1u) != 0) {
			continue;
		}
		const struct app_exclusion *found = app_exclusion_covering(b->a, s, r->epoch);
		if (found == NULL) {
			return synod_errf(
			    b->errmsg, b->errmsg_len, SYNOD_ENOTFOUND,
			    "bundle: the exclusion of seat %u in epoch %llu is no longer "
			    "kept",
			    s, (unsigned long long)r->epoch);
		}
		uint32_t k = b->exclusion_count++;
		b->exclusions[k] = found;
		if (found->kind == SYNOD_EXCLUSION_EQUIVOCATION) {
			for (int j = 0; j < 2; j++) {
				struct bundle_item *it =
				    bundle_item_add(b, ITEM_EVIDENCE, found->pos[j], s);
				it->exclusion = k;
				memcpy(it->digest, found->digest[j], SYNOD_HASH_BYTES);
				it->has_digest = true;
			}
		}
	}
	return 0;
}

static int bundle_item_cmp(const void *x, const void *y)
{
	const struct bundle_item *a = x;
	const struct bundle_item *b = y;
	return synod_app_pos_cmp(a->pos, b->pos);
}

/* ---- reading the batches ---- */

static struct json_object *bundle_hex(const uint8_t *p, size_t n)
{
	char hex[SYNOD_HEX_LEN(SYNOD_HASH_BYTES)];
	SYNOD_ASSERT(n <= SYNOD_HASH_BYTES);
	app_hex(hex, p, n);
	return json_object_new_string(hex);
}

static struct json_object *bundle_u64(uint64_t v)
{
	return json_object_new_int64(v > (uint64_t)SYNOD_JSON_SAFE_INT_MAX ? -1 : (int64_t)v);
}

static struct json_object *bundle_position(struct synod_app_pos pos, uint64_t proof_size,
                                           uint8_t (*proof)[SYNOD_HASH_BYTES], size_t proof_len)
{
	struct json_object *o = json_object_new_object();
	struct json_object *path = json_object_new_array();
	for (size_t i = 0; i < proof_len; i++) {
		json_object_array_add(path, bundle_hex(proof[i], SYNOD_HASH_BYTES));
	}
	json_object_object_add(o, "seq", bundle_u64(pos.seq));
	json_object_object_add(o, "index", bundle_u64(pos.index));
	json_object_object_add(o, "proof_size", bundle_u64(proof_size));
	json_object_object_add(o, "path", path);
	return o;
}

/* Checks that the entry is what the app recorded, and keeps its JSON. */
static int bundle_item_entry(struct bundle_ctx *b, struct bundle_item *it, const uint8_t *entry,
                             uint32_t len)
{
	const char *payload = (const char *)entry + 1;
	size_t plen = len - 1u;
	uint8_t digest[SYNOD_HASH_BYTES];
	bool ok = false;
	if (it->kind == ITEM_REQUEST) {
		synod_sha256(digest, payload, plen);
		ok = entry[0] == SYNOD_ENTRY_SUBMIT && memcmp(digest, b->r->id, 32) == 0;
	} else if (it->kind == ITEM_TICK) {
		ok = entry[0] == SYNOD_ENTRY_TICK && len == SYNOD_APP_TICK_BYTES;
		it->tick = ok ? app_tick_decode(entry) : 0;
		return ok ? 0 : SYNOD_EINVAL;
	} else {
		struct synod_vote_envelope env;
		ok = entry[0] == SYNOD_ENTRY_VOTE &&
		     synod_vote_decode(&env, payload, plen, NULL, 0) == 0 &&
		     env.vote.seat == it->seat;
		if (ok && it->kind != ITEM_EVIDENCE) {
			ok = memcmp(env.vote.request_id, b->r->id, SYNOD_HASH_BYTES) == 0;
		}
		if (ok && it->has_digest) {
			synod_sha256(digest, entry + 1 + env.signed_offset, env.signed_len);
			ok = memcmp(digest, it->digest, SYNOD_HASH_BYTES) == 0;
		}
	}
	if (ok && synod_json_parse(&it->payload, payload, plen, NULL, 0) != 0) {
		ok = false;
	}
	return ok ? 0 : SYNOD_EINVAL;
}

/* count encoded PBFT cores as an array of base64url strings. */
static struct json_object *bundle_cores_json(const uint8_t *cores, uint32_t count)
{
	struct json_object *arr = json_object_new_array();
	for (uint32_t i = 0; i < count; i++) {
		char b64[SYNOD_BASE64URL_LEN(PBFT_CORE_BYTES)];
		int rc = synod_base64url_encode(
		    b64, sizeof b64, cores + (size_t)i * PBFT_CORE_BYTES, PBFT_CORE_BYTES);
		SYNOD_ASSERT(rc == 0);
		json_object_array_add(arr, json_object_new_string(b64));
	}
	return arr;
}

/* The commit certificate of one batch, as {"seq","digest","commits"}. */
static int bundle_batch_json(struct bundle_ctx *b, uint64_t seq, const uint8_t root[32],
                             const struct synod_bundle_batch *bb)
{
	struct pbft_core first;
	if (bb->cert_count == 0 || bb->cert == NULL || pbft_core_decode(&first, bb->cert) != 0 ||
	    memcmp(first.digest, root, SYNOD_HASH_BYTES) != 0) {
		return synod_errf(b->errmsg, b->errmsg_len, SYNOD_ECERT,
		                  "bundle: the commit certificate for seq %llu does not name the "
		                  "batch's Merkle root (is pbft_batch_digest the RFC 9162 root?)",
		                  (unsigned long long)seq);
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "seq", bundle_u64(seq));
	json_object_object_add(o, "digest", bundle_hex(root, SYNOD_HASH_BYTES));
	json_object_object_add(o, "commits", bundle_cores_json(bb->cert, bb->cert_count));
	json_object_array_add(b->batches, o);
	return 0;
}

struct bundle_leaves {
	uint8_t (*hash)[SYNOD_HASH_BYTES];
	const uint8_t **entry;
	uint32_t *len;
	uint32_t count;
};

static int bundle_leaves_read(struct bundle_leaves *lv, const struct synod_bundle_batch *bb,
                              const struct pbft_msg_limits *lim)
{
	struct pbft_batch_iter it;
	memset(lv, 0, sizeof *lv);
	if (pbft_batch_iter_init(&it, bb->batch, bb->batch_len, lim) != 0) {
		return SYNOD_EINVAL;
	}
	size_t n = it.count > 0 ? it.count : 1;
	lv->hash = malloc(n * SYNOD_HASH_BYTES);
	lv->entry = malloc(n * sizeof *lv->entry);
	lv->len = malloc(n * sizeof *lv->len);
	if (lv->hash == NULL || lv->entry == NULL || lv->len == NULL) {
		return SYNOD_ENOMEM;
	}
	const uint8_t *entry;
	uint32_t len;
	while (lv->count < it.count && pbft_batch_iter_next(&it, &entry, &len) == 1) {
		lv->entry[lv->count] = entry;
		lv->len[lv->count] = len;
		synod_merkle_leaf_hash(lv->hash[lv->count], entry, len);
		lv->count++;
	}
	return 0;
}

static void bundle_leaves_free(struct bundle_leaves *lv)
{
	free(lv->hash);
	free(lv->entry);
	free(lv->len);
}

/* Items [first, end) all sit in the batch at seq. */
static int bundle_batch_items(struct bundle_ctx *b, uint32_t first, uint32_t end,
                              const struct synod_bundle_batch *bb)
{
	uint64_t seq = b->items[first].pos.seq;
	struct bundle_leaves lv;
	uint8_t root[SYNOD_HASH_BYTES];
	int rc = bundle_leaves_read(&lv, bb, &b->a->batch_limits);
	if (rc == 0) {
		rc = synod_merkle_root(root, (const uint8_t(*)[SYNOD_HASH_BYTES])lv.hash, lv.count);
	}
	if (rc == 0) {
		rc = bundle_batch_json(b, seq, root, bb);
	}
	for (uint32_t k = first; rc == 0 && k < end; k++) {
		struct bundle_item *it = &b->items[k];
		uint8_t proof[SYNOD_MERKLE_PROOF_HASHES_MAX][SYNOD_HASH_BYTES];
		size_t proof_len = 0;
		uint32_t i = it->pos.index;
		if (i >= lv.count || bundle_item_entry(b, it, lv.entry[i], lv.len[i]) != 0) {
			rc = synod_errf(
			    b->errmsg, b->errmsg_len, SYNOD_EINVAL,
			    "bundle: seq %llu index %u is not the entry the app recorded",
			    (unsigned long long)seq, i);
			break;
		}
		rc = synod_merkle_inclusion_proof(proof, SYNOD_MERKLE_PROOF_HASHES_MAX, &proof_len,
		                                  (const uint8_t(*)[SYNOD_HASH_BYTES])lv.hash,
		                                  lv.count, i);
		if (rc == 0) {
			it->position = bundle_position(
			    it->pos, app_proof_size_canonical(i, lv.count), proof, proof_len);
		}
	}
	bundle_leaves_free(&lv);
	if (rc == SYNOD_ENOMEM) {
		synod_errf(b->errmsg, b->errmsg_len, rc, "bundle: out of memory");
	} else if (rc == SYNOD_EINVAL && b->errmsg != NULL && b->errmsg[0] == '\0') {
		synod_errf(b->errmsg, b->errmsg_len, rc,
		           "bundle: the batch at seq %llu is malformed", (unsigned long long)seq);
	}
	return rc;
}

static int bundle_read_batches(struct bundle_ctx *b, synod_bundle_lookup_fn lookup, void *ctx)
{
	for (uint32_t first = 0; first < b->item_count;) {
		uint32_t end = first + 1;
		uint64_t seq = b->items[first].pos.seq;
		while (end < b->item_count && b->items[end].pos.seq == seq) {
			SYNOD_ASSERT(b->items[end].pos.index != b->items[end - 1].pos.index);
			end++;
		}
		struct synod_bundle_batch bb;
		memset(&bb, 0, sizeof bb);
		int rc = lookup(ctx, seq, &bb);
		if (rc != 0) {
			return synod_errf(b->errmsg, b->errmsg_len, SYNOD_ENOTFOUND,
			                  "bundle: no committed batch for seq %llu: %s",
			                  (unsigned long long)seq, synod_strerror(rc));
		}
		rc = bundle_batch_items(b, first, end, &bb);
		if (rc != 0) {
			return rc;
		}
		first = end;
	}
	return 0;
}

/* ---- writing ---- */

static struct json_object *bundle_vote_json(const struct bundle_ctx *b, struct bundle_item *it,
                                            bool with_reason)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "seat", bundle_u64(it->seat));
	json_object_object_add(
	    o, "pubkey", bundle_hex(b->a->cfg.cluster.seat_keys[it->seat], SYNOD_PUBKEY_BYTES));
	json_object_object_add(o, "envelope", it->payload);
	json_object_object_add(o, "position", it->position);
	if (with_reason) {
		json_object_object_add(o, "reason",
		                       json_object_new_string(synod_vote_reason_name(
		                           (enum synod_vote_reason)it->reason)));
	}
	it->payload = NULL;
	it->position = NULL;
	return o;
}

static struct json_object *bundle_exclusion_json(struct bundle_ctx *b, uint32_t k)
{
	const struct app_exclusion *x = b->exclusions[k];
	struct json_object *o = json_object_new_object();
	bool eq = x->kind == SYNOD_EXCLUSION_EQUIVOCATION;
	json_object_object_add(o, "seat", bundle_u64(x->seat));
	json_object_object_add(o, "kind",
	                       json_object_new_string(eq ? "equivocation" : "non_participation"));
	json_object_object_add(o, "from_epoch", bundle_u64(x->from_epoch));
	json_object_object_add(o, "until_epoch", bundle_u64(x->until_epoch));
	if (!eq) {
		json_object_object_add(o, "missed", bundle_u64(x->missed));
		json_object_object_add(o, "request_id",
		                       bundle_hex(x->request_id, SYNOD_HASH_BYTES));
		return o;
	}
	struct json_object *ev = json_object_new_array();
	for (uint32_t i = 0; i < b->item_count; i++) {
		struct bundle_item *it = &b->items[i];
		if (it->kind == ITEM_EVIDENCE && it->exclusion == k) {
			struct json_object *e = json_object_new_object();
			json_object_object_add(e, "envelope", it->payload);
			json_object_object_add(e, "position", it->position);
			it->payload = NULL;
			it->position = NULL;
			json_object_array_add(ev, e);
		}
	}
	json_object_object_add(o, "evidence", ev);
	return o;
}

static struct json_object *bundle_epoch_json(struct bundle_ctx *b)
{
	const struct app_request *r = b->r;
	struct json_object *o = json_object_new_object();
	struct json_object *seats = json_object_new_array();
	struct json_object *ex = json_object_new_array();
	for (uint32_t s = 0; s < b->a->seats; s++) {
		if ((r->eligible >> s & 1u) != 0) {
			json_object_array_add(seats, bundle_u64(s));
		}
	}
	for (uint32_t k = 0; k < b->exclusion_count; k++) {
		json_object_array_add(ex, bundle_exclusion_json(b, k));
	}
	json_object_object_add(o, "number", bundle_u64(r->epoch));
	json_object_object_add(o, "eligible_seats", seats);
	json_object_object_add(o, "voter_set_hash",
	                       bundle_hex(r->voter_set_hash, SYNOD_HASH_BYTES));
	json_object_object_add(o, "exclusions", ex);
	return o;
}

static struct json_object *bundle_tally_json(const struct bundle_ctx *b)
{
	const struct app_request *r = b->r;
	const struct synod_policy *p = &b->a->cfg.cluster.policy;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "approvals", bundle_u64(r->approvals));
	json_object_object_add(o, "rejections", bundle_u64(r->rejections));
	json_object_object_add(o, "equivocations", bundle_u64(app_popcount(r->equivocators)));
	json_object_object_add(o, "eligible", bundle_u64(app_popcount(r->eligible)));
	json_object_object_add(o, "threshold", bundle_u64(p->threshold));
	json_object_object_add(o, "seats", bundle_u64(p->seats));
	return o;
}

static struct json_object *bundle_json(struct bundle_ctx *b)
{
	const struct app_request *r = b->r;
	struct json_object *root = json_object_new_object();
	struct json_object *votes = json_object_new_array();
	struct json_object *ignored = json_object_new_array();
	json_object_object_add(root, "format", json_object_new_string(SYNOD_APP_BUNDLE_FORMAT));
	json_object_object_add(root, "cluster_id",
	                       bundle_hex(b->a->cfg.cluster.cluster_id, SYNOD_CLUSTER_ID_BYTES));
	json_object_object_add(root, "request_id", bundle_hex(r->id, SYNOD_HASH_BYTES));
	json_object_object_add(
	    root, "outcome",
	    json_object_new_string(synod_outcome_name((enum synod_outcome)r->outcome)));
	struct json_object *decided = json_object_new_object();
	json_object_object_add(decided, "seq", bundle_u64(r->decided_at.seq));
	json_object_object_add(decided, "index", bundle_u64(r->decided_at.index));
	json_object_object_add(root, "decided_at", decided);
	json_object_object_add(root, "tally", bundle_tally_json(b));
	json_object_object_add(root, "epoch", bundle_epoch_json(b));
	for (uint32_t i = 0; i < b->item_count; i++) {
		struct bundle_item *it = &b->items[i];
		if (it->kind == ITEM_REQUEST) {
			struct json_object *req = json_object_new_object();
			json_object_object_add(req, "body", it->payload);
			json_object_object_add(req, "position", it->position);
			it->payload = NULL;
			it->position = NULL;
			json_object_object_add(root, "request", req);
		} else if (it->kind == ITEM_TICK) {
			struct json_object *tick = json_object_new_object();
			json_object_object_add(tick, "log_time_ms", bundle_u64(it->tick));
			json_object_object_add(tick, "position", it->position);
			it->position = NULL;
			json_object_object_add(root, "tick", tick);
		} else if (it->kind == ITEM_VOTE) {
			json_object_array_add(votes, bundle_vote_json(b, it, false));
		} else if (it->kind == ITEM_IGNORED) {
			json_object_array_add(ignored, bundle_vote_json(b, it, true));
		}
	}
	json_object_object_add(root, "votes", votes);
	json_object_object_add(root, "ignored", ignored);
	json_object_object_add(root, "batches", b->batches);
	json_object_object_add(root, "checkpoint", b->checkpoint);
	b->batches = NULL;
	b->checkpoint = NULL;
	return root;
}

/* The decision record's bytes, base64url: the leaf at decision_index is
 * their hash, so the verifier can name the field a bundle reads differently
 * from what the cluster certified. */
static struct json_object *bundle_record_json(const struct synod_app *a,
                                              const struct app_decision_record *d)
{
	uint8_t bytes[APP_DECISION_BYTES_MAX];
	size_t n = app_decision_encode(a->cfg.cluster.cluster_id, d, bytes);
	char b64[SYNOD_BASE64URL_LEN(APP_DECISION_BYTES_MAX)];
	int rc = synod_base64url_encode(b64, sizeof b64, bytes, n);
	SYNOD_ASSERT(rc == 0);
	return json_object_new_string(b64);
}

/* The checkpoint certificate and the decision's inclusion path: what binds
 * the bundle's reading of the entries to what 2f+1 replicas executed. */
static int bundle_checkpoint(struct bundle_ctx *b, const struct synod_bundle_checkpoint *cp)
{
	const struct synod_app *a = b->a;
	const struct app_request *r = b->r;
	struct pbft_core first;
	if (cp == NULL || cp->seq == 0 || cp->count == 0 || cp->count > SYNOD_APP_REPLICAS_MAX ||
	    cp->cores == NULL || pbft_core_decode(&first, cp->cores) != 0 || first.seq != cp->seq) {
		return synod_errf(b->errmsg, b->errmsg_len, SYNOD_ECERT,
		                  "bundle: no well-formed stable checkpoint certificate given");
	}
	if (r->decided_at.seq > cp->seq) {
		return synod_errf(b->errmsg, b->errmsg_len, SYNOD_ESTATE,
		                  "bundle: decided at seq %llu, after the stable checkpoint at seq "
		                  "%llu: build it once a later checkpoint is stable",
		                  (unsigned long long)r->decided_at.seq,
		                  (unsigned long long)cp->seq);
	}
	if (r->decision_index < a->dlog.base) {
		return synod_errf(b->errmsg, b->errmsg_len, SYNOD_ENOTFOUND,
		                  "bundle: decision %llu is older than what this coordinator can "
		                  "prove (its last %u or more decisions, since its last restore)",
		                  (unsigned long long)r->decision_index,
		                  SYNOD_APP_DECISIONS_PROVABLE);
	}
	const struct app_checkpoint *k = app_checkpoint_find(a, first.digest);
	if (k == NULL) {
		return synod_errf(b->errmsg, b->errmsg_len, SYNOD_ENOTFOUND,
		                  "bundle: the checkpoint at seq %llu is not one of the last %u "
		                  "this coordinator computed",
		                  (unsigned long long)cp->seq, APP_CHECKPOINTS_KEPT);
	}
	uint8_t root[SYNOD_HASH_BYTES], leaf[SYNOD_HASH_BYTES];
	uint8_t proof[SYNOD_MERKLE_PROOF_HASHES_MAX][SYNOD_HASH_BYTES];
	size_t proof_len = 0;
	app_decision_leaf(a->cfg.cluster.cluster_id, &b->record, leaf);
	if (k->decisions <= r->decision_index || k->decisions > a->dlog.count ||
	    synod_merkle_log_root(&a->dlog, k->decisions, root) != 0 ||
	    memcmp(root, k->decisions_root, SYNOD_HASH_BYTES) != 0 ||
	    synod_merkle_log_prove(&a->dlog, r->decision_index, k->decisions, proof,
	                           SYNOD_MERKLE_PROOF_HASHES_MAX, &proof_len) != 0 ||
	    synod_merkle_inclusion_verify(leaf, r->decision_index, k->decisions,
	                                  SYNOD_MERKLE_HASHES(proof), proof_len, root) != 0) {
		return synod_errf(
		    b->errmsg, b->errmsg_len, SYNOD_EINVAL,
		    "bundle: the log of decisions does not prove decision %llu in the "
		    "checkpoint at seq %llu",
		    (unsigned long long)r->decision_index, (unsigned long long)cp->seq);
	}
	struct json_object *o = json_object_new_object();
	struct json_object *path = json_object_new_array();
	for (size_t i = 0; i < proof_len; i++) {
		json_object_array_add(path, bundle_hex(proof[i], SYNOD_HASH_BYTES));
	}
	json_object_object_add(o, "seq", bundle_u64(cp->seq));
	json_object_object_add(o, "state_hash", bundle_hex(k->state_hash, SYNOD_HASH_BYTES));
	json_object_object_add(o, "decisions", bundle_u64(k->decisions));
	json_object_object_add(o, "decisions_root", bundle_hex(root, SYNOD_HASH_BYTES));
	json_object_object_add(o, "decision_index", bundle_u64(r->decision_index));
	json_object_object_add(o, "decision_path", path);
	json_object_object_add(o, "record", bundle_record_json(a, &b->record));
	json_object_object_add(o, "signatures", bundle_cores_json(cp->cores, cp->count));
	b->checkpoint = o;
	return 0;
}

static int bundle_collect(struct bundle_ctx *b)
{
	const struct app_request *r = b->r;
	bundle_item_add(b, ITEM_REQUEST, r->submitted_at, UINT32_MAX);
	if (r->outcome == SYNOD_OUTCOME_EXPIRED) {
		bundle_item_add(b, ITEM_TICK, r->decided_at, UINT32_MAX);
	}
	bundle_collect_votes(b);
	int rc = bundle_collect_exclusions(b);
	qsort(b->items, b->item_count, sizeof b->items[0], bundle_item_cmp);
	return rc;
}

static void bundle_ctx_free(struct bundle_ctx *b)
{
	for (uint32_t i = 0; i < b->item_count; i++) {
		json_object_put(b->items[i].payload);
		json_object_put(b->items[i].position);
	}
	json_object_put(b->batches);
	json_object_put(b->checkpoint);
	free(b);
}

int synod_bundle_build(const struct synod_app *a, const uint8_t request_id[SYNOD_HASH_BYTES],
                       synod_bundle_lookup_fn lookup, void *ctx,
                       const struct synod_bundle_checkpoint *cp, char **out, size_t *out_len,
                       char *errmsg, size_t errmsg_len)
{
	*out = NULL;
	*out_len = 0;
	if (errmsg != NULL && errmsg_len > 0) {
		errmsg[0] = '\0';
	}
	const struct app_request *r = app_request_find(a, a->st, request_id);
	if (r == NULL) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ENOTFOUND,
		                  "bundle: the request is unknown or no longer kept");
	}
	if (r->outcome == SYNOD_OUTCOME_OPEN) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ESTATE,
		                  "bundle: the request is still open");
	}
	struct bundle_ctx *b = calloc(1, sizeof *b);
	if (b == NULL) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ENOMEM, "bundle: out of memory");
	}
	b->a = a;
	b->r = r;
	b->errmsg = errmsg;
	b->errmsg_len = errmsg_len;
	b->batches = json_object_new_array();
	app_decision_record_of(a, r, &b->record);
	int rc = bundle_checkpoint(b, cp);
	if (rc == 0) {
		rc = bundle_collect(b);
	}
	if (rc == 0) {
		rc = bundle_read_batches(b, lookup, ctx);
	}
	if (rc == 0) {
		struct json_object *root = bundle_json(b);
		rc = synod_json_canonical_signed(root, out, out_len);
		json_object_put(root);
		if (rc != 0) {
			synod_errf(errmsg, errmsg_len, rc, "bundle: %s", synod_strerror(rc));
		} else if (*out_len > SYNOD_APP_BUNDLE_BYTES_MAX) {
			free(*out);
			*out = NULL;
			*out_len = 0;
			rc = synod_errf(errmsg, errmsg_len, SYNOD_ELIMIT,
			                "bundle: larger than %u bytes", SYNOD_APP_BUNDLE_BYTES_MAX);
		}
	}
	bundle_ctx_free(b);
	return rc;
}

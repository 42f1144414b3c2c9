/* The offline bundle verifier (`synod verify`, the simulator, auditors'
 * tools). Trusts only the cluster description: every claim of the bundle is
 * recomputed from signatures, Merkle paths and commit certificates, and the
 * tally is replayed from the listed votes in log order with the recount
 * engine. Every failed check is reported in words; the walk continues as far
 * as the bundle's structure allows. Bounded work for any input: every array
 * has a cap checked before it is walked. */
#include "common/assert.h"
#include "common/hash.h"
#include "common/json.h"
#include "common/merkle.h"
#include "coordinator/app/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERIFY_VOTES_MAX    SYNOD_APP_SEATS_MAX
#define VERIFY_IGNORED_MAX  (SYNOD_APP_IGNORED_PER_REQUEST_MAX + 2u * SYNOD_APP_SEATS_MAX)
#define VERIFY_EVIDENCE_MAX (2u * SYNOD_APP_SEATS_MAX)
#define VERIFY_ENTRIES_MAX  (2u + VERIFY_VOTES_MAX + VERIFY_IGNORED_MAX + VERIFY_EVIDENCE_MAX)

_Static_assert(VERIFY_ENTRIES_MAX <= SYNOD_APP_BUNDLE_ENTRIES_MAX, "the builder's bound");

enum ventry_kind {
	VE_REQUEST = 1,
	VE_VOTE = 2,
	VE_IGNORED = 3,
	VE_TICK = 4,
	VE_EVIDENCE = 5,
};

struct ventry {
	uint8_t kind;
	uint32_t n; /* index in its list, for messages */
	uint32_t seat;
	uint8_t reason; /* VE_IGNORED: as stated */
	uint8_t result; /* the replay's verdict */
	struct synod_app_pos pos;
	bool pos_parsed; /* seq and index read (the path may still have failed) */
	bool sig_ok;     /* votes: checked once, by verify_vote_signature */
	bool pos_ok;
	uint8_t *entry; /* kind byte + payload, malloc'd */
	size_t entry_len;
};

struct vbatch {
	uint64_t seq;
	uint8_t digest[SYNOD_HASH_BYTES];
	bool referenced;
};

struct verifier {
	const struct synod_cluster *c;
	synod_bundle_report_fn report;
	void *ctx;
	struct synod_bundle_summary sum;
	struct synod_request req;
	uint8_t request_id[SYNOD_HASH_BYTES];
	bool request_ok;
	enum synod_outcome outcome;
	struct synod_app_pos decided_at;
	bool header_ok;
	uint64_t epoch;
	uint64_t eligible;
	bool epoch_ok;
	struct vbatch batches[SYNOD_APP_BUNDLE_BATCHES_MAX];
	uint32_t batch_count;
	struct ventry entries[VERIFY_ENTRIES_MAX];
	uint32_t entry_count;
	struct recount rc;
	const struct ventry *replaying;  /* the entry the recount is checking */
	struct synod_vote_crypto cached; /* answers from verify_vote_signature */
	struct pbft_crypto cert_crypto;  /* checks the commit certificates */
	uint8_t voter_set_hash[SYNOD_HASH_BYTES];
	uint8_t leaf[SYNOD_HASH_BYTES]; /* the decision record the bundle reads */
	bool leaf_ok;
	struct app_decision_record reading;   /* its fields, when leaf_ok */
	struct app_decision_record certified; /* checkpoint.record, decoded */
	uint32_t exclusion_count;             /* as listed (by seat), for the decision record */
	struct app_decision_exclusion exclusions[SYNOD_APP_SEATS_MAX];
	uint32_t exclusion_at[SYNOD_APP_SEATS_MAX]; /* each one's index in epoch.exclusions */
};

__attribute__((format(printf, 2, 3))) static void vfail(struct verifier *v, const char *fmt, ...)
{
	char line[SYNOD_APP_REPORT_BYTES_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	v->sum.failures++;
	if (v->report != NULL) {
		v->report(v->ctx, line);
	}
}

/* ---- typed access with reporting ---- */

static bool vkeys(struct verifier *v, const struct json_object *o, const char *const allowed[],
                  const char *where)
{
	const char *bad = NULL;
	if (!json_object_is_type(o, json_type_object)) {
		vfail(v, "%s: expected an object", where);
		return false;
	}
	if (!app_json_keys_ok(o, allowed, &bad)) {
		vfail(v, "%s: unknown field \"%.64s\"", where, bad);
		return false;
	}
	return true;
}

static struct json_object *vmember(struct verifier *v, const struct json_object *o, const char *key,
                                   enum json_type type, const char *where)
{
	struct json_object *m = NULL;
	int rc = app_json_member(o, key, type, &m);
	if (rc == SYNOD_ENOTFOUND) {
		vfail(v, "%s: field \"%s\" is missing", where, key);
	} else if (rc != 0) {
		vfail(v, "%s: field \"%s\" has the wrong type", where, key);
	}
	return rc == 0 ? m : NULL;
}

static bool vu64(struct verifier *v, const struct json_object *o, const char *key,
                 const char *where, uint64_t *out)
{
	struct json_object *m = vmember(v, o, key, json_type_int, where);
	if (m == NULL) {
		return false;
	}
	int64_t x = json_object_get_int64(m);
	if (x < 0) {
		vfail(v, "%s: field \"%s\" is negative", where, key);
		return false;
	}
	*out = (uint64_t)x;
	return true;
}

static bool vhex(struct verifier *v, const struct json_object *o, const char *key,
                 const char *where, uint8_t *out, size_t n)
{
	struct json_object *m = vmember(v, o, key, json_type_string, where);
	if (m == NULL) {
		return false;
	}
	if (!app_hex_lower_decode(out, n, json_object_get_string(m),
	                          (size_t)json_object_get_string_len(m))) {
		vfail(v, "%s: field \"%s\" is not %zu lowercase hex characters", where, key, 2 * n);
		return false;
	}
	return true;
}

/* The JSON string s is exactly lit. By length: a string with an embedded
 * U+0000 ("APPROVED\u0000 but...") must not pass for its prefix, since
 * every other JSON reader shows the whole string. */
static bool vstr_is(const struct json_object *s, const char *lit)
{
	size_t n = strlen(lit);
	return json_object_is_type(s, json_type_string) &&
	       (size_t)json_object_get_string_len(s) == n &&
	       memcmp(json_object_get_string((struct json_object *)s), lit, n) == 0;
}

/* An array member of at most max elements. */
static struct json_object *varray(struct verifier *v, const struct json_object *o, const char *key,
                                  const char *where, size_t max)
{
	struct json_object *m = vmember(v, o, key, json_type_array, where);
	if (m != NULL && json_object_array_length(m) > max) {
		vfail(v, "%s: field \"%s\" has %zu elements, at most %zu allowed", where, key,
		      json_object_array_length(m), max);
		return NULL;
	}
	return m;
}

/* kind || canonical(o) into a new entry. */
static struct ventry *ventry_add(struct verifier *v, uint8_t kind, uint8_t entry_kind,
                                 const struct json_object *payload, const char *where)
{
	SYNOD_ASSERT(v->entry_count < VERIFY_ENTRIES_MAX);
	char *text = NULL;
	size_t len = 0;
	if (synod_json_canonical_signed(payload, &text, &len) != 0) {
		vfail(v, "%s: not a signable JSON value", where);
		return NULL;
	}
	struct ventry *e = &v->entries[v->entry_count];
	memset(e, 0, sizeof *e);
	e->entry = malloc(len + 1);
	if (e->entry == NULL) {
		free(text);
		vfail(v, "%s: out of memory", where);
		return NULL;
	}
	e->entry[0] = entry_kind;
	memcpy(e->entry + 1, text, len);
	e->entry_len = len + 1;
	e->kind = kind;
	free(text);
	v->entry_count++;
	return e;
}

/* ---- batches and positions ---- */

static const char *const batch_keys[] = {"seq", "digest", "commits", NULL};

/* An array (already capped at the replica count) of base64url PBFT cores
 * into cores; false (reported) when one is not a core's bytes. */
static bool vcores(struct verifier *v, const struct json_object *arr, uint8_t *cores,
                   const char *what, const char *where)
{
	size_t n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		const struct json_object *s = json_object_array_get_idx(arr, i);
		size_t got = 0;
		if (!json_object_is_type(s, json_type_string) ||
		    synod_base64url_decode(cores + i * PBFT_CORE_BYTES, PBFT_CORE_BYTES, &got,
		                           json_object_get_string((struct json_object *)s),
		                           (size_t)json_object_get_string_len(s)) != 0 ||
		    got != PBFT_CORE_BYTES) {
			vfail(v, "%s: %s %zu is not %u bytes of base64url", where, what, i,
			      PBFT_CORE_BYTES);
			return false;
		}
	}
	return true;
}

static void verify_batch_cert(struct verifier *v, const struct json_object *commits,
                              const struct vbatch *b, const char *where)
{
	uint8_t cert[SYNOD_APP_REPLICAS_MAX * PBFT_CORE_BYTES];
	size_t n = json_object_array_length(commits);
	if (!vcores(v, commits, cert, "COMMIT", where)) {
		return;
	}
	char err[256] = "";
	if (pbft_cert_verify(&v->cert_crypto, v->c->replicas,
	                     (const uint8_t(*)[32])v->c->replica_keys, b->seq, b->digest, cert,
	                     (uint32_t)n, err, sizeof err) != 0) {
		vfail(v, "%s: the commit certificate does not verify: %s", where, err);
	}
}

static void verify_batches(struct verifier *v, const struct json_object *root)
{
	const struct json_object *arr =
	    varray(v, root, "batches", "bundle", SYNOD_APP_BUNDLE_BATCHES_MAX);
	size_t n = arr != NULL ? json_object_array_length(arr) : 0;
	for (size_t i = 0; i < n; i++) {
		const struct json_object *o = json_object_array_get_idx(arr, i);
		char where[64];
		snprintf(where, sizeof where, "batch %zu", i);
		if (!vkeys(v, o, batch_keys, where)) {
			continue;
		}
		struct vbatch *b = &v->batches[v->batch_count];
		memset(b, 0, sizeof *b);
		if (!vu64(v, o, "seq", where, &b->seq) ||
		    !vhex(v, o, "digest", where, b->digest, SYNOD_HASH_BYTES)) {
			continue;
		}
		snprintf(where, sizeof where, "batch %zu (seq %llu)", i,
		         (unsigned long long)b->seq);
		if (v->batch_count > 0 && b->seq <= v->batches[v->batch_count - 1].seq) {
			vfail(v, "%s: batches are not in ascending seq order", where);
			continue;
		}
		const struct json_object *commits = varray(v, o, "commits", where, v->c->replicas);
		if (commits != NULL) {
			verify_batch_cert(v, commits, b, where);
		}
		v->batch_count++;
		v->sum.batches++;
	}
}

static struct vbatch *verify_batch_find(struct verifier *v, uint64_t seq)
{
	for (uint32_t i = 0; i < v->batch_count; i++) {
		if (v->batches[i].seq == seq) {
			return &v->batches[i];
		}
	}
	return NULL;
}

static const char *const position_keys[] = {"seq", "index", "proof_size", "path", NULL};

/* The position object of e: a committed batch holds e's bytes there. */
static void verify_position(struct verifier *v, struct ventry *e, const struct json_object *o,
                            const char *where)
{
	uint64_t seq = 0, index = 0, size = 0;
	char w[160];
	snprintf(w, sizeof w, "%s: position", where);
	if (!vkeys(v, o, position_keys, w) || !vu64(v, o, "seq", w, &seq) ||
	    !vu64(v, o, "index", w, &index) || !vu64(v, o, "proof_size", w, &size)) {
		return;
	}
	const struct json_object *path = varray(v, o, "path", w, SYNOD_MERKLE_PROOF_HASHES_MAX);
	if (path == NULL) {
		return;
	}
	if (index > UINT32_MAX || size > SYNOD_APP_BATCH_ENTRIES_MAX || index >= size ||
	    !app_proof_size_is_canonical(index, size)) {
		vfail(v, "%s: index %llu and proof_size %llu are not a canonical leaf position", w,
		      (unsigned long long)index, (unsigned long long)size);
		return;
	}
	e->pos.seq = seq;
	e->pos.index = (uint32_t)index;
	e->pos_parsed = true;
	uint8_t proof[SYNOD_MERKLE_PROOF_HASHES_MAX][SYNOD_HASH_BYTES];
	size_t plen = json_object_array_length(path);
	for (size_t i = 0; i < plen; i++) {
		const struct json_object *h = json_object_array_get_idx(path, i);
		if (!json_object_is_type(h, json_type_string) ||
		    !app_hex_lower_decode(proof[i], SYNOD_HASH_BYTES,
		                          json_object_get_string((struct json_object *)h),
		                          (size_t)json_object_get_string_len(h))) {
			vfail(v, "%s: path hash %zu is not 64 lowercase hex characters", w, i);
			return;
		}
	}
	struct vbatch *b = verify_batch_find(v, seq);
	if (b == NULL) {
		vfail(v, "%s: no certified batch for seq %llu in the bundle", w,
		      (unsigned long long)seq);
		return;
	}
	b->referenced = true;
	uint8_t leaf[SYNOD_HASH_BYTES];
	synod_merkle_leaf_hash(leaf, e->entry, e->entry_len);
	if (synod_merkle_inclusion_verify(leaf, index, size,
	                                  (const uint8_t(*)[SYNOD_HASH_BYTES])proof, plen,
	                                  b->digest) != 0) {
		vfail(v,
		      "%s: not included at seq %llu index %llu: the Merkle path does not lead to "
		      "the certified batch digest",
		      w, (unsigned long long)seq, (unsigned long long)index);
		return;
	}
	e->pos_ok = true;
}

/* ---- request, votes, tick ---- */

static const char *const request_obj_keys[] = {"body", "position", NULL};

static void verify_request(struct verifier *v, const struct json_object *root)
{
	const struct json_object *o = vmember(v, root, "request", json_type_object, "bundle");
	if (o == NULL || !vkeys(v, o, request_obj_keys, "request")) {
		return;
	}
	const struct json_object *body = vmember(v, o, "body", json_type_object, "request");
	const struct json_object *pos = vmember(v, o, "position", json_type_object, "request");
	if (body == NULL || pos == NULL) {
		return;
	}
	struct ventry *e = ventry_add(v, VE_REQUEST, SYNOD_ENTRY_SUBMIT, body, "request");
	if (e == NULL) {
		return;
	}
	uint8_t id[SYNOD_HASH_BYTES];
	char err[256];
	if (synod_request_decode(&v->req, id, (const char *)e->entry + 1, e->entry_len - 1, err,
	                         sizeof err) != 0) {
		vfail(v, "request: %s", err);
		return;
	}
	if (memcmp(id, v->request_id, SYNOD_HASH_BYTES) != 0) {
		vfail(v, "request: its SHA-256 is not the bundle's request_id");
	}
	verify_position(v, e, pos, "request");
	v->request_ok = true;
}

/* The envelope decodes, names the listed seat, and carries that seat's
 * signature: checked here, on its own, so that a bad signature is named even
 * when the same bad byte also breaks the entry's Merkle path. */
static void verify_vote_signature(struct verifier *v, struct ventry *e, const char *where)
{
	struct synod_vote_envelope env;
	char err[256] = "";
	const char *payload = (const char *)e->entry + 1;
	if (synod_vote_decode(&env, payload, e->entry_len - 1, err, sizeof err) != 0) {
		vfail(v, "%s: the envelope is malformed: %s", where, err);
		return;
	}
	if (env.vote.seat != e->seat) {
		vfail(v, "%s: listed for seat %u, but the vote names seat %u", where, e->seat,
		      env.vote.seat);
		return;
	}
	if (synod_vote_verify(&env, payload, v->c->cluster_id, v->c->seat_keys[e->seat]) != 0) {
		vfail(v, "%s: the signature does not verify under seat %u's key", where, e->seat);
		return;
	}
	e->sig_ok = true;
}

static const char *const vote_obj_keys[] = {"seat", "pubkey", "envelope", "position", NULL};
static const char *const ignored_obj_keys[] = {"seat",     "pubkey", "envelope",
                                               "position", "reason", NULL};

/* One element of "votes" or "ignored". */
static void verify_vote_item(struct verifier *v, const struct json_object *o, uint8_t kind,
                             uint32_t n, const char *where)
{
	uint64_t seat = 0;
	uint8_t pk[SYNOD_PUBKEY_BYTES];
	if (!vkeys(v, o, kind == VE_VOTE ? vote_obj_keys : ignored_obj_keys, where) ||
	    !vu64(v, o, "seat", where, &seat) || !vhex(v, o, "pubkey", where, pk, sizeof pk)) {
		return;
	}
	if (seat >= v->c->policy.seats) {
		vfail(v, "%s: seat %llu is not one of the cluster's %u seats", where,
		      (unsigned long long)seat, v->c->policy.seats);
		return;
	}
	if (memcmp(pk, v->c->seat_keys[seat], SYNOD_PUBKEY_BYTES) != 0) {
		vfail(v, "%s: pubkey is not seat %llu's key in the cluster", where,
		      (unsigned long long)seat);
	}
	enum synod_vote_reason reason = SYNOD_VOTE_COUNTED;
	if (kind == VE_IGNORED) {
		const struct json_object *r = vmember(v, o, "reason", json_type_string, where);
		if (r == NULL) {
			return;
		}
		reason = SYNOD_VOTE_REASON_COUNT;
		for (unsigned k = 0; k < SYNOD_VOTE_REASON_COUNT; k++) {
			if (vstr_is(r, synod_vote_reason_name((enum synod_vote_reason)k))) {
				reason = (enum synod_vote_reason)k;
			}
		}
		if (reason == SYNOD_VOTE_REASON_COUNT) {
			vfail(v, "%s: reason is not a known vote reason", where);
			return;
		}
		/* only authentic votes on this request, up to its decision, are
		 * listed: nothing else is evidence about it */
		if (reason != SYNOD_VOTE_WRONG_EPOCH && reason != SYNOD_VOTE_EXCLUDED_SEAT &&
		    reason != SYNOD_VOTE_EQUIVOCATION && reason != SYNOD_VOTE_DUPLICATE) {
			vfail(v, "%s: reason %s is never listed in a bundle", where,
			      synod_vote_reason_name(reason));
			return;
		}
	}
	const struct json_object *env = vmember(v, o, "envelope", json_type_object, where);
	const struct json_object *pos = vmember(v, o, "position", json_type_object, where);
	if (env == NULL || pos == NULL) {
		return;
	}
	struct ventry *e = ventry_add(v, kind, SYNOD_ENTRY_VOTE, env, where);
	if (e == NULL) {
		return;
	}
	e->n = n;
	e->seat = (uint32_t)seat;
	e->reason = (uint8_t)reason;
	verify_vote_signature(v, e, where);
	verify_position(v, e, pos, where);
}

static void verify_vote_lists(struct verifier *v, const struct json_object *root)
{
	const struct json_object *votes = varray(v, root, "votes", "bundle", VERIFY_VOTES_MAX);
	const struct json_object *ignored =
	    varray(v, root, "ignored", "bundle", VERIFY_IGNORED_MAX);
	size_t nv = votes != NULL ? json_object_array_length(votes) : 0;
	size_t ni = ignored != NULL ? json_object_array_length(ignored) : 0;
	for (size_t i = 0; i < nv; i++) {
		char where[48];
		snprintf(where, sizeof where, "vote %zu", i);
		verify_vote_item(v, json_object_array_get_idx(votes, i), VE_VOTE, (uint32_t)i,
		                 where);
	}
	for (size_t i = 0; i < ni; i++) {
		char where[48];
		snprintf(where, sizeof where, "ignored vote %zu", i);
		verify_vote_item(v, json_object_array_get_idx(ignored, i), VE_IGNORED, (uint32_t)i,
		                 where);
	}
	v->sum.votes = (uint32_t)nv;
	v->sum.ignored = (uint32_t)ni;
}

static const char *const tick_keys[] = {"log_time_ms", "position", NULL};

static void verify_tick(struct verifier *v, const struct json_object *root)
{
	struct json_object *o = NULL;
	if (!json_object_object_get_ex(root, "tick", &o)) {
		return;
	}
	uint64_t t = 0;
	if (!vkeys(v, o, tick_keys, "tick") || !vu64(v, o, "log_time_ms", "tick", &t)) {
		return;
	}
	const struct json_object *pos = vmember(v, o, "position", json_type_object, "tick");
	if (pos == NULL) {
		return;
	}
	SYNOD_ASSERT(v->entry_count < VERIFY_ENTRIES_MAX);
	struct ventry *e = &v->entries[v->entry_count];
	memset(e, 0, sizeof *e);
	e->entry = malloc(SYNOD_APP_TICK_BYTES);
	if (e->entry == NULL) {
		vfail(v, "tick: out of memory");
		return;
	}
	synod_entry_tick(e->entry, t);
	e->entry_len = SYNOD_APP_TICK_BYTES;
	e->kind = VE_TICK;
	v->entry_count++;
	verify_position(v, e, pos, "tick");
}

/* ---- the epoch and its exclusions ---- */

static const char *const epoch_keys[] = {"number", "eligible_seats", "voter_set_hash", "exclusions",
                                         NULL};
static const char *const eq_keys[] = {"seat",        "kind",     "from_epoch",
                                      "until_epoch", "evidence", NULL};
static const char *const np_keys[] = {"seat",   "kind",       "from_epoch", "until_epoch",
                                      "missed", "request_id", NULL};
static const char *const evidence_keys[] = {"envelope", "position", NULL};

static bool verify_evidence(struct verifier *v, const struct json_object *arr,
                            struct synod_exclusion *ex, const char *where, struct ventry **ev)
{
	if (json_object_array_length(arr) != 2) {
		vfail(v, "%s: evidence must be exactly two votes", where);
		return false;
	}
	for (size_t k = 0; k < 2; k++) {
		const struct json_object *o = json_object_array_get_idx(arr, k);
		char w[96];
		snprintf(w, sizeof w, "%s: evidence vote %zu", where, k);
		if (!vkeys(v, o, evidence_keys, w)) {
			return false;
		}
		const struct json_object *env = vmember(v, o, "envelope", json_type_object, w);
		const struct json_object *pos = vmember(v, o, "position", json_type_object, w);
		if (env == NULL || pos == NULL) {
			return false;
		}
		ev[k] = ventry_add(v, VE_EVIDENCE, SYNOD_ENTRY_VOTE, env, w);
		if (ev[k] == NULL) {
			return false;
		}
		ev[k]->seat = ex->seat;
		verify_position(v, ev[k], pos, w);
		ex->vote_pos[k] = ev[k]->pos;
		struct synod_vote_envelope e;
		if (synod_vote_decode(&e, (const char *)ev[k]->entry + 1, ev[k]->entry_len - 1,
		                      NULL, 0) == 0) {
			synod_sha256(ex->vote_digest[k], ev[k]->entry + 1 + e.signed_offset,
			             e.signed_len);
			memcpy(ex->request_id, e.vote.request_id, SYNOD_HASH_BYTES);
		}
	}
	if (ev[0]->pos_ok && ev[1]->pos_ok && synod_app_pos_cmp(ev[0]->pos, ev[1]->pos) >= 0) {
		vfail(v, "%s: the evidence votes are not in log order", where);
	}
	return true;
}

/* Every field the bundle shows of an exclusion goes into the decision record
 * it is checked against: the window, the evidence's positions and signed
 * bytes, the count and request missed. */
static void verify_exclusion_record(struct verifier *v, const struct synod_exclusion *ex, size_t at)
{
	if (v->exclusion_count == SYNOD_APP_SEATS_MAX) {
		return; /* the array was capped at that many */
	}
	v->exclusion_at[v->exclusion_count] = (uint32_t)at;
	struct app_decision_exclusion *e = &v->exclusions[v->exclusion_count++];
	e->seat = (uint8_t)ex->seat;
	e->kind = (uint8_t)ex->kind;
	e->from_epoch = ex->from_epoch;
	e->until_epoch = ex->until_epoch;
	memcpy(e->request_id, ex->request_id, SYNOD_HASH_BYTES);
	if (ex->kind == SYNOD_EXCLUSION_EQUIVOCATION) {
		memcpy(e->pos, ex->vote_pos, sizeof e->pos);
		memcpy(e->digest, ex->vote_digest, sizeof e->digest);
	} else {
		e->missed = ex->missed;
	}
}

/* One exclusion; returns its seat or UINT32_MAX. */
static uint32_t verify_exclusion(struct verifier *v, const struct json_object *o, size_t i)
{
	char where[64];
	struct synod_exclusion ex;
	uint64_t seat = 0;
	memset(&ex, 0, sizeof ex);
	snprintf(where, sizeof where, "exclusion %zu", i);
	const struct json_object *kind = vmember(v, o, "kind", json_type_string, where);
	if (kind == NULL) {
		return UINT32_MAX;
	}
	bool eq = vstr_is(kind, "equivocation");
	if (!eq && !vstr_is(kind, "non_participation")) {
		vfail(v, "%s: kind is not equivocation or non_participation", where);
		return UINT32_MAX;
	}
	if (!vkeys(v, o, eq ? eq_keys : np_keys, where) || !vu64(v, o, "seat", where, &seat) ||
	    !vu64(v, o, "from_epoch", where, &ex.from_epoch) ||
	    !vu64(v, o, "until_epoch", where, &ex.until_epoch)) {
		return UINT32_MAX;
	}
	if (seat >= v->c->policy.seats) {
		vfail(v, "%s: seat %llu is not a seat of the cluster", where,
		      (unsigned long long)seat);
		return UINT32_MAX;
	}
	ex.seat = (uint32_t)seat;
	snprintf(where, sizeof where, "exclusion %zu (seat %u)", i, ex.seat);
	ex.kind = eq ? SYNOD_EXCLUSION_EQUIVOCATION : SYNOD_EXCLUSION_NON_PARTICIPATION;
	struct ventry *ev[2] = {NULL, NULL};
	if (eq) {
		const struct json_object *arr = varray(v, o, "evidence", where, 2);
		if (arr == NULL || !verify_evidence(v, arr, &ex, where, ev)) {
			return UINT32_MAX;
		}
	} else if (!vu64(v, o, "missed", where, &ex.missed) ||
	           !vhex(v, o, "request_id", where, ex.request_id, SYNOD_HASH_BYTES)) {
		return UINT32_MAX;
	}
	char err[SYNOD_APP_REPORT_BYTES_MAX];
	if (synod_exclusion_check(v->c, &ex, eq ? ev[0]->entry + 1 : NULL,
	                          eq ? ev[0]->entry_len - 1 : 0, eq ? ev[1]->entry + 1 : NULL,
	                          eq ? ev[1]->entry_len - 1 : 0, err, sizeof err) != 0) {
		vfail(v, "%s: %s", where, err);
	}
	verify_exclusion_record(v, &ex, i);
	if (!(ex.from_epoch <= v->epoch && v->epoch < ex.until_epoch)) {
		vfail(v, "%s: epochs %llu..%llu do not cover the request's epoch %llu", where,
		      (unsigned long long)ex.from_epoch, (unsigned long long)ex.until_epoch,
		      (unsigned long long)v->epoch);
	}
	return ex.seat;
}

static void verify_eligible_list(struct verifier *v, const struct json_object *list)
{
	size_t n = json_object_array_length(list);
	uint64_t seen = 0;
	int64_t prev = -1;
	bool ok = true;
	for (size_t i = 0; i < n && ok; i++) {
		const struct json_object *s = json_object_array_get_idx(list, i);
		int64_t x = json_object_is_type(s, json_type_int) ? json_object_get_int64(s) : -1;
		ok = x > prev && x < (int64_t)v->c->policy.seats;
		if (ok) {
			seen |= UINT64_C(1) << x;
			prev = x;
		}
	}
	if (!ok || seen != v->eligible) {
		vfail(v,
		      "epoch: eligible_seats is not every seat but the excluded ones (%u seats "
		      "eligible)",
		      app_popcount(v->eligible));
	}
}

static void verify_epoch(struct verifier *v, const struct json_object *root)
{
	const struct json_object *o = vmember(v, root, "epoch", json_type_object, "bundle");
	uint8_t vsh[SYNOD_HASH_BYTES];
	if (o == NULL || !vkeys(v, o, epoch_keys, "epoch") ||
	    !vu64(v, o, "number", "epoch", &v->epoch) ||
	    !vhex(v, o, "voter_set_hash", "epoch", vsh, sizeof vsh)) {
		return;
	}
	v->sum.epoch = v->epoch;
	const struct json_object *list =
	    varray(v, o, "eligible_seats", "epoch", SYNOD_APP_SEATS_MAX);
	const struct json_object *ex = varray(v, o, "exclusions", "epoch", SYNOD_APP_SEATS_MAX);
	if (list == NULL || ex == NULL) {
		return;
	}
	v->eligible = app_all_seats(v->c->policy.seats);
	int64_t prev = -1;
	for (size_t i = 0; i < json_object_array_length(ex); i++) {
		uint32_t seat = verify_exclusion(v, json_object_array_get_idx(ex, i), i);
		if (seat == UINT32_MAX) {
			continue;
		}
		if ((int64_t)seat <= prev) {
			vfail(v, "exclusion %zu: exclusions are not in ascending seat order", i);
		}
		prev = seat;
		v->eligible &= ~(UINT64_C(1) << seat);
	}
	verify_eligible_list(v, list);
	uint8_t want[SYNOD_HASH_BYTES];
	synod_voter_set_hash(want, v->c, v->eligible);
	if (memcmp(want, vsh, SYNOD_HASH_BYTES) != 0) {
		vfail(v, "epoch: voter_set_hash is not the hash of the eligible seats' keys");
	}
	memcpy(v->voter_set_hash, vsh, SYNOD_HASH_BYTES);
	v->epoch_ok = true;
}

/* ---- header ---- */

static const char *const bundle_keys[] = {
    "format",  "cluster_id", "request_id", "outcome", "decided_at", "tally",      "epoch",
    "request", "votes",      "ignored",    "batches", "tick",       "checkpoint", NULL};
static const char *const decided_keys[] = {"seq", "index", NULL};

static void verify_header(struct verifier *v, const struct json_object *root)
{
	uint8_t cluster[SYNOD_CLUSTER_ID_BYTES];
	const struct json_object *fmt = vmember(v, root, "format", json_type_string, "bundle");
	if (fmt != NULL && !vstr_is(fmt, SYNOD_APP_BUNDLE_FORMAT)) {
		vfail(v, "bundle: format is not " SYNOD_APP_BUNDLE_FORMAT);
	}
	if (vhex(v, root, "cluster_id", "bundle", cluster, sizeof cluster) &&
	    memcmp(cluster, v->c->cluster_id, SYNOD_CLUSTER_ID_BYTES) != 0) {
		vfail(v, "bundle: cluster_id is not this cluster's");
	}
	bool ok = vhex(v, root, "request_id", "bundle", v->request_id, SYNOD_HASH_BYTES);
	memcpy(v->sum.request_id, v->request_id, SYNOD_HASH_BYTES);
	const struct json_object *out = vmember(v, root, "outcome", json_type_string, "bundle");
	ok = ok && out != NULL;
	if (out != NULL) {
		v->outcome = SYNOD_OUTCOME_OPEN;
		for (int o = SYNOD_OUTCOME_APPROVED; o < SYNOD_OUTCOME_COUNT; o++) {
			if (vstr_is(out, synod_outcome_name((enum synod_outcome)o))) {
				v->outcome = (enum synod_outcome)o;
			}
		}
		if (v->outcome == SYNOD_OUTCOME_OPEN) {
			vfail(v, "bundle: outcome is not APPROVED, REJECTED or EXPIRED");
			ok = false;
		}
		v->sum.outcome = v->outcome;
	}
	const struct json_object *d = vmember(v, root, "decided_at", json_type_object, "bundle");
	uint64_t seq = 0, index = 0;
	ok = ok && d != NULL && vkeys(v, d, decided_keys, "decided_at") &&
	     vu64(v, d, "seq", "decided_at", &seq) && vu64(v, d, "index", "decided_at", &index);
	v->decided_at.seq = seq;
	v->decided_at.index = index <= UINT32_MAX ? (uint32_t)index : UINT32_MAX;
	v->header_ok = ok;
}

/* ---- the replay ---- */

static int ventry_cmp(const void *x, const void *y)
{
	const struct ventry *a = *(const struct ventry *const *)x;
	const struct ventry *b = *(const struct ventry *const *)y;
	return synod_app_pos_cmp(a->pos, b->pos);
}

static const char *ventry_name(const struct ventry *e, char *buf, size_t cap)
{
	switch (e->kind) {
	case VE_REQUEST:
		snprintf(buf, cap, "the request");
		break;
	case VE_TICK:
		snprintf(buf, cap, "the tick");
		break;
	case VE_VOTE:
		snprintf(buf, cap, "vote %u (seat %u, seq %llu index %u)", e->n, e->seat,
		         (unsigned long long)e->pos.seq, e->pos.index);
		break;
	default:
		snprintf(buf, cap, "ignored vote %u (seat %u, seq %llu index %u)", e->n, e->seat,
		         (unsigned long long)e->pos.seq, e->pos.index);
		break;
	}
	return buf;
}

/* Lists must be in log order, and no entry may appear twice. */
static void verify_order(struct verifier *v, struct ventry **sorted, uint32_t n)
{
	const struct ventry *last[6] = {NULL};
	for (uint32_t i = 0; i < v->entry_count; i++) {
		const struct ventry *e = &v->entries[i];
		if (e->kind == VE_EVIDENCE) {
			continue;
		}
		const struct ventry *p = last[e->kind];
		if (p != NULL && synod_app_pos_cmp(p->pos, e->pos) >= 0) {
			char name[96];
			vfail(v, "%s: not after the previous one in log order",
			      ventry_name(e, name, sizeof name));
		}
		last[e->kind] = e;
	}
	for (uint32_t i = 1; i < n; i++) {
		if (synod_app_pos_cmp(sorted[i - 1]->pos, sorted[i]->pos) == 0) {
			char name[96];
			vfail(v, "%s: the same log position is listed twice",
			      ventry_name(sorted[i], name, sizeof name));
		}
	}
}

/* The recount's signature check: every listed vote was verified once, under
 * its listed seat's key; the recount asks only for that seat's key (it reads
 * the seat from the same bytes). */
static int verify_cached_sig(void *ctx, const uint8_t sig[SYNOD_SIG_BYTES], const uint8_t *msg,
                             size_t len, const uint8_t pk[SYNOD_PUBKEY_BYTES])
{
	const struct verifier *v = ctx;
	const struct ventry *e = v->replaying;
	(void)sig;
	(void)msg;
	(void)len;
	SYNOD_ASSERT(e != NULL);
	return e->sig_ok && e->seat < v->c->policy.seats &&
	               memcmp(pk, v->c->seat_keys[e->seat], SYNOD_PUBKEY_BYTES) == 0
	           ? 0
	           : SYNOD_EBADSIG;
}

static void verify_replay_entry(struct verifier *v, struct ventry *e)
{
	char name[96];
	if (v->rc.tally.outcome != SYNOD_OUTCOME_OPEN) {
		vfail(v, "%s: comes after the decision the listed votes reach at seq %llu index %u",
		      ventry_name(e, name, sizeof name),
		      (unsigned long long)v->rc.tally.decided_at.seq, v->rc.tally.decided_at.index);
	}
	if (e->kind == VE_TICK) {
		recount_tick(&v->rc, e->pos, app_tick_decode(e->entry));
		return;
	}
	uint32_t seat;
	v->replaying = e;
	e->result = (uint8_t)recount_vote(&v->rc, e->pos, e->entry + 1, e->entry_len - 1, &seat);
	v->replaying = NULL;
}

/* What a listed vote turned out to be, with an earlier vote of an
 * equivocating seat counted as equivocation. */
static enum synod_vote_reason verify_final(const struct verifier *v, const struct ventry *e)
{
	enum synod_vote_reason r = (enum synod_vote_reason)e->result;
	if (r == SYNOD_VOTE_COUNTED && e->seat < SYNOD_APP_SEATS_MAX &&
	    v->rc.seat[e->seat].status == SLOT_EQUIVOCATED) {
		return SYNOD_VOTE_EQUIVOCATION;
	}
	return r;
}

static void verify_results(struct verifier *v)
{
	for (uint32_t i = 0; i < v->entry_count; i++) {
		const struct ventry *e = &v->entries[i];
		char name[96];
		if (e->kind != VE_VOTE && e->kind != VE_IGNORED) {
			continue;
		}
		enum synod_vote_reason got = verify_final(v, e);
		ventry_name(e, name, sizeof name);
		if (got == SYNOD_VOTE_BAD_SIGNATURE || got == SYNOD_VOTE_MALFORMED) {
			continue; /* reported with the item */
		}
		if (e->kind == VE_VOTE && got != SYNOD_VOTE_COUNTED) {
			vfail(v, "%s: listed as counted, but it is %s", name,
			      synod_vote_reason_name(got));
		} else if (e->kind == VE_IGNORED && got != e->reason) {
			vfail(v, "%s: listed as %s, but it is %s", name,
			      synod_vote_reason_name((enum synod_vote_reason)e->reason),
			      synod_vote_reason_name(got));
		}
	}
}

static void verify_tally_field(struct verifier *v, const struct json_object *t, const char *key,
                               uint64_t want)
{
	uint64_t got = 0;
	if (vu64(v, t, key, "tally", &got) && got != want) {
		vfail(v, "tally: %s is %llu, but the listed votes and the cluster give %llu", key,
		      (unsigned long long)got, (unsigned long long)want);
	}
}

static const char *const tally_keys[] = {
    "approvals", "rejections", "equivocations", "eligible", "threshold", "seats", NULL};

static void verify_tally(struct verifier *v, const struct json_object *root)
{
	const struct synod_tally *t = &v->rc.tally;
	const struct json_object *o = vmember(v, root, "tally", json_type_object, "bundle");
	if (o != NULL && vkeys(v, o, tally_keys, "tally")) {
		uint64_t claimed = 0;
		if (vu64(v, o, "approvals", "tally", &claimed)) {
			v->sum.approvals = (uint32_t)(claimed <= UINT32_MAX ? claimed : UINT32_MAX);
		}
		if (vu64(v, o, "rejections", "tally", &claimed)) {
			v->sum.rejections =
			    (uint32_t)(claimed <= UINT32_MAX ? claimed : UINT32_MAX);
		}
		verify_tally_field(v, o, "approvals", t->approvals);
		verify_tally_field(v, o, "rejections", t->rejections);
		verify_tally_field(v, o, "equivocations", app_popcount(t->equivocators));
		verify_tally_field(v, o, "eligible", app_popcount(t->eligible));
		verify_tally_field(v, o, "threshold", v->c->policy.threshold);
		verify_tally_field(v, o, "seats", v->c->policy.seats);
	}
	if (t->outcome == SYNOD_OUTCOME_OPEN) {
		vfail(v,
		      "decision: the listed votes decide nothing (%u approvals, %u needed; %u "
		      "rejections)",
		      t->approvals, v->c->policy.threshold, t->rejections);
	} else if (t->outcome != v->outcome) {
		vfail(v, "decision: the bundle says %s, the listed votes give %s",
		      synod_outcome_name(v->outcome), synod_outcome_name(t->outcome));
	} else if (synod_app_pos_cmp(t->decided_at, v->decided_at) != 0) {
		vfail(v,
		      "decision: decided_at is seq %llu index %u, the listed votes decide at seq "
		      "%llu index %u",
		      (unsigned long long)v->decided_at.seq, v->decided_at.index,
		      (unsigned long long)t->decided_at.seq, t->decided_at.index);
	}
}

/* The decision record as this bundle reads it (decisions.c), from the
 * entries in log order (sorted[0] is the request). */
static void verify_record(struct verifier *v, struct ventry *const *sorted, uint32_t n)
{
	struct app_decision_record *d = &v->reading;
	memset(d, 0, sizeof *d);
	memcpy(d->request_id, v->request_id, SYNOD_HASH_BYTES);
	d->outcome = (uint8_t)v->outcome;
	d->submitted_at = sorted[0]->pos;
	d->decided_at = v->decided_at;
	d->epoch = v->epoch;
	memcpy(d->voter_set_hash, v->voter_set_hash, SYNOD_HASH_BYTES);
	d->eligible = v->eligible;
	for (uint32_t i = 1; i < n; i++) {
		const struct ventry *e = sorted[i];
		if (e->kind != VE_VOTE && e->kind != VE_IGNORED) {
			continue;
		}
		if (d->vote_count == APP_DECISION_VOTES_MAX || e->seat >= SYNOD_APP_SEATS_MAX) {
			vfail(v, "decision: more votes listed than a decision record holds");
			return;
		}
		struct app_ignored *r = &d->votes[d->vote_count++];
		r->pos = e->pos;
		r->seat = (uint8_t)e->seat;
		r->reason = e->kind == VE_VOTE ? (uint8_t)SYNOD_VOTE_COUNTED : e->reason;
	}
	d->exclusion_count = v->exclusion_count;
	memcpy(d->exclusions, v->exclusions, sizeof d->exclusions);
	app_decision_leaf(v->c->cluster_id, d, v->leaf);
	v->leaf_ok = true;
}

static void verify_replay(struct verifier *v, const struct json_object *root)
{
	struct ventry *sorted[VERIFY_ENTRIES_MAX];
	uint32_t n = 0;
	const struct ventry *req = NULL;
	for (uint32_t i = 0; i < v->entry_count; i++) {
		struct ventry *e = &v->entries[i];
		if (e->kind == VE_EVIDENCE) {
			continue;
		}
		if (!e->pos_parsed) {
			return; /* reported; no order to replay in */
		}
		req = e->kind == VE_REQUEST ? e : req;
		sorted[n++] = e;
	}
	if (req == NULL) {
		return;
	}
	/* An exclusion covers the request's epoch, which began after the epoch
	 * that detected the equivocation: both evidence votes come before the
	 * request was submitted. (Evidence from after the request could only be
	 * a claim made after the fact.) */
	for (uint32_t i = 0; i < v->entry_count; i++) {
		const struct ventry *e = &v->entries[i];
		if (e->kind == VE_EVIDENCE && e->pos_parsed &&
		    synod_app_pos_cmp(e->pos, req->pos) >= 0) {
			vfail(v,
			      "exclusion evidence vote at seq %llu index %u (seat %u): not before "
			      "the "
			      "request was submitted, so it cannot back an exclusion in the "
			      "request's "
			      "epoch",
			      (unsigned long long)e->pos.seq, e->pos.index, e->seat);
		}
	}
	qsort(sorted, n, sizeof sorted[0], ventry_cmp);
	verify_order(v, sorted, n);
	if (sorted[0] != req) {
		vfail(v, "request: listed votes come before the request was submitted");
		return;
	}
	v->cached.ctx = v;
	v->cached.verify = verify_cached_sig;
	recount_init(&v->rc, v->c, &v->cached, v->request_id, v->epoch, v->eligible,
	             v->req.deadline_ms, req->pos);
	for (uint32_t i = 1; i < n; i++) {
		verify_replay_entry(v, sorted[i]);
	}
	verify_results(v);
	verify_tally(v, root);
	verify_record(v, sorted, n);
	bool has_tick = json_object_object_get_ex(root, "tick", NULL);
	if (has_tick != (v->outcome == SYNOD_OUTCOME_EXPIRED)) {
		vfail(v, "tick: %s",
		      has_tick ? "present, but only an EXPIRED decision has one"
		               : "missing: an EXPIRED decision needs the TICK "
		                 "that reached the deadline");
	}
}

static const char *const checkpoint_keys[] = {
    "seq",    "state_hash", "decisions", "decisions_root", "decision_index", "decision_path",
    "record", "signatures", NULL};

/* A leaf's place in the certified log of decisions. */
struct vinclusion {
	uint64_t index;
	uint64_t size;
	uint8_t root[SYNOD_HASH_BYTES];
	uint8_t proof[SYNOD_MERKLE_PROOF_HASHES_MAX][SYNOD_HASH_BYTES];
	size_t proof_len;
};

static bool vincluded(const struct vinclusion *in, const uint8_t leaf[SYNOD_HASH_BYTES])
{
	return synod_merkle_inclusion_verify(leaf, in->index, in->size,
	                                     SYNOD_MERKLE_HASHES(in->proof), in->proof_len,
	                                     in->root) == 0;
}

/* checkpoint.record: the bytes of the decision record, base64url. True, with
 * v->certified filled in, when they hash to the leaf the cluster certified at
 * the decision's index: then it is the genuine record, and the bundle's
 * reading can be compared with it field by field. */
static bool verify_certified_record(struct verifier *v, const struct json_object *o,
                                    const struct vinclusion *in)
{
	const struct json_object *s = vmember(v, o, "record", json_type_string, "checkpoint");
	uint8_t bytes[APP_DECISION_BYTES_MAX], cluster[SYNOD_CLUSTER_ID_BYTES];
	uint8_t leaf[SYNOD_HASH_BYTES];
	size_t n = 0;
	if (s == NULL) {
		return false;
	}
	if (synod_base64url_decode(bytes, sizeof bytes, &n,
	                           json_object_get_string((struct json_object *)s),
	                           (size_t)json_object_get_string_len(s)) != 0) {
		vfail(v, "checkpoint: record is not base64url of at most %u bytes",
		      APP_DECISION_BYTES_MAX);
		return false;
	}
	synod_merkle_leaf_hash(leaf, bytes, n);
	if (!vincluded(in, leaf)) {
		vfail(v,
		      "checkpoint: record is not the decision record the cluster certified at "
		      "index %llu",
		      (unsigned long long)in->index);
		return false;
	}
	if (app_decision_decode(bytes, n, cluster, &v->certified) != 0 ||
	    memcmp(cluster, v->c->cluster_id, SYNOD_CLUSTER_ID_BYTES) != 0) {
		vfail(v,
		      "checkpoint: record is certified at index %llu, but is not a decision "
		      "record of this cluster in the version this verifier reads",
		      (unsigned long long)in->index);
		return false;
	}
	return true;
}

static void verify_diff_report(void *ctx, const char *line)
{
	vfail(ctx, "%s", line);
}

/* The bundle's reading against the certified record: each field that
 * differs is named. The reading's own hash is checked as well, so a reading
 * that matches field by field but not byte for byte still fails. */
static void verify_reading(struct verifier *v, const struct vinclusion *in, bool certified)
{
	if (!v->leaf_ok) {
		vfail(v, "checkpoint: the bundle gives no decision record to look up");
		return;
	}
	uint32_t named = certified ? app_decision_diff(&v->reading, v->exclusion_at, &v->certified,
	                                               verify_diff_report, v)
	                           : 0;
	if (named == 0 && !vincluded(in, v->leaf)) {
		vfail(v,
		      "checkpoint: the certified log of decisions does not hold this bundle's "
		      "reading at index %llu: the cluster certified another outcome, decided_at, "
		      "epoch, voter set, listed vote or reason, or exclusion (seat, kind, "
		      "from_epoch/until_epoch, evidence votes, missed or request_id)",
		      (unsigned long long)in->index);
	}
}

static bool verify_decision_path(struct verifier *v, const struct json_object *path,
                                 struct vinclusion *in)
{
	in->proof_len = json_object_array_length(path);
	for (size_t i = 0; i < in->proof_len; i++) {
		const struct json_object *h = json_object_array_get_idx(path, i);
		if (!json_object_is_type(h, json_type_string) ||
		    !app_hex_lower_decode(in->proof[i], SYNOD_HASH_BYTES,
		                          json_object_get_string((struct json_object *)h),
		                          (size_t)json_object_get_string_len(h))) {
			vfail(
			    v,
			    "checkpoint: decision_path hash %zu is not 64 lowercase hex characters",
			    i);
			return false;
		}
	}
	return true;
}

/* 2f+1 replicas signed a checkpoint whose log of decisions holds, at
 * decision_index, the record this bundle reads: the same outcome, epoch,
 * voter set, listed votes with the same reasons and exclusions. */
static void verify_checkpoint(struct verifier *v, const struct json_object *root)
{
	const char *w = "checkpoint";
	const struct json_object *o = vmember(v, root, "checkpoint", json_type_object, "bundle");
	uint64_t seq = 0;
	uint8_t state_hash[SYNOD_HASH_BYTES], digest[SYNOD_HASH_BYTES];
	struct vinclusion in;
	memset(&in, 0, sizeof in);
	if (o == NULL || !vkeys(v, o, checkpoint_keys, w) || !vu64(v, o, "seq", w, &seq) ||
	    !vhex(v, o, "state_hash", w, state_hash, sizeof state_hash) ||
	    !vu64(v, o, "decisions", w, &in.size) ||
	    !vhex(v, o, "decisions_root", w, in.root, sizeof in.root) ||
	    !vu64(v, o, "decision_index", w, &in.index)) {
		return;
	}
	const struct json_object *path =
	    varray(v, o, "decision_path", w, SYNOD_MERKLE_PROOF_HASHES_MAX);
	const struct json_object *sigs = varray(v, o, "signatures", w, v->c->replicas);
	uint8_t cores[SYNOD_APP_REPLICAS_MAX * PBFT_CORE_BYTES];
	if (path == NULL || sigs == NULL || !vcores(v, sigs, cores, "CHECKPOINT", w)) {
		return;
	}
	app_checkpoint_digest(in.size, in.root, state_hash, digest);
	char err[256] = "";
	if (pbft_checkpoint_cert_verify(
	        &v->cert_crypto, v->c->replicas, (const uint8_t(*)[32])v->c->replica_keys, seq,
	        digest, cores, (uint32_t)json_object_array_length(sigs), err, sizeof err) != 0) {
		vfail(v, "checkpoint: the certificate does not verify: %s", err);
	}
	if (v->header_ok && seq < v->decided_at.seq) {
		vfail(v, "checkpoint: seq %llu is before the decision at seq %llu",
		      (unsigned long long)seq, (unsigned long long)v->decided_at.seq);
	}
	if (!verify_decision_path(v, path, &in)) {
		return;
	}
	verify_reading(v, &in, verify_certified_record(v, o, &in));
}

static void verify_unreferenced(struct verifier *v)
{
	for (uint32_t i = 0; i < v->batch_count; i++) {
		if (!v->batches[i].referenced) {
			vfail(v, "batch seq %llu: no listed entry is in it",
			      (unsigned long long)v->batches[i].seq);
		}
	}
}

int synod_bundle_verify(const char *bundle, size_t len, const struct synod_cluster *c,
                        struct synod_bundle_summary *summary, synod_bundle_report_fn report,
                        void *ctx)
{
	return synod_bundle_verify_with(bundle, len, c, NULL, summary, report, ctx);
}

int synod_bundle_verify_with(const char *bundle, size_t len, const struct synod_cluster *c,
                             const struct pbft_crypto *cert_crypto,
                             struct synod_bundle_summary *summary, synod_bundle_report_fn report,
                             void *ctx)
{
	struct verifier *v = calloc(1, sizeof *v);
	if (v == NULL) {
		if (report != NULL) {
			report(ctx, "out of memory");
		}
		return SYNOD_ENOMEM;
	}
	v->c = c;
	if (cert_crypto != NULL) {
		v->cert_crypto = *cert_crypto;
	} else {
		v->cert_crypto = (struct pbft_crypto){.ctx = (void *)c->cluster_id,
		                                      .verify = synod_pbft_crypto_verify};
	}
	v->report = report;
	v->ctx = ctx;
	struct json_object *root = NULL;
	char jerr[SYNOD_JSON_ERRMSG_BYTES] = "";
	if (len > SYNOD_APP_BUNDLE_BYTES_MAX) {
		vfail(v, "bundle: %zu bytes, more than %u", len, SYNOD_APP_BUNDLE_BYTES_MAX);
	} else if (synod_json_parse_canonical(&root, bundle, len, jerr, sizeof jerr) != 0) {
		vfail(v, "bundle: not canonical JSON: %s", jerr);
	} else if (vkeys(v, root, bundle_keys, "bundle")) {
		verify_header(v, root);
		verify_batches(v, root);
		verify_epoch(v, root);
		verify_request(v, root);
		verify_vote_lists(v, root);
		verify_tick(v, root);
		verify_unreferenced(v);
		if (v->header_ok && v->epoch_ok && v->request_ok) {
			verify_replay(v, root);
		}
		verify_checkpoint(v, root);
	}
	json_object_put(root);
	for (uint32_t i = 0; i < v->entry_count; i++) {
		free(v->entries[i].entry);
	}
	if (summary != NULL) {
		*summary = v->sum;
	}
	int rc = v->sum.failures == 0 ? 0 : SYNOD_EINVAL;
	free(v);
	return rc;
}

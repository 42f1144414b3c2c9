/* The recount engine: the tally rules for ONE request, written again from the
 * rules in README.md rather than shared with the incremental state machine,
 * over votes fed in log order. The bundle verifier replays a bundle's votes
 * through it; synod_app_recount replays the log. Also the exclusion evidence
 * check. */
#include "common/assert.h"
#include "common/hash.h"
#include "coordinator/app/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void recount_decide(struct recount *rc, enum synod_outcome o, struct synod_app_pos pos)
{
	rc->tally.outcome = o;
	rc->tally.decided_at = pos;
}

/* Decides when the threshold is met or can no longer be. */
static void recount_settle(struct recount *rc, struct synod_app_pos pos)
{
	struct synod_tally *t = &rc->tally;
	uint32_t threshold = rc->cluster->policy.threshold;
	uint64_t voted = t->approved_by | t->rejected_by | t->equivocators;
	uint32_t silent = app_popcount(t->eligible & ~voted);
	if (t->approvals >= threshold) {
		recount_decide(rc, SYNOD_OUTCOME_APPROVED, pos);
	} else if (t->approvals + silent < threshold) {
		recount_decide(rc, SYNOD_OUTCOME_REJECTED, pos);
	}
}

void recount_init(struct recount *rc, const struct synod_cluster *c,
                  const struct synod_vote_crypto *crypto,
                  const uint8_t request_id[SYNOD_HASH_BYTES], uint64_t epoch, uint64_t eligible,
                  uint64_t deadline_ms, struct synod_app_pos at)
{
	memset(rc, 0, sizeof *rc);
	rc->cluster = c;
	rc->crypto = crypto;
	memcpy(rc->request_id, request_id, SYNOD_HASH_BYTES);
	rc->epoch = epoch;
	rc->eligible = eligible;
	rc->tally.epoch = epoch;
	rc->tally.eligible = eligible;
	rc->tally.deadline_ms = deadline_ms;
	rc->tally.submitted_at = at;
	synod_voter_set_hash(rc->tally.voter_set_hash, c, eligible);
	recount_settle(rc, at);
}

static enum synod_vote_reason recount_repeat(struct recount *rc, struct recount_seat *s,
                                             uint32_t seat, const uint8_t digest[SYNOD_HASH_BYTES],
                                             struct synod_app_pos pos)
{
	struct synod_tally *t = &rc->tally;
	uint64_t bit = UINT64_C(1) << seat;
	bool open = t->outcome == SYNOD_OUTCOME_OPEN;
	if (memcmp(s->digest, digest, SYNOD_HASH_BYTES) == 0 ||
	    (s->status == SLOT_EQUIVOCATED && memcmp(s->digest2, digest, SYNOD_HASH_BYTES) == 0)) {
		return SYNOD_VOTE_DUPLICATE;
	}
	if (s->status == SLOT_EQUIVOCATED) {
		return SYNOD_VOTE_EQUIVOCATION;
	}
	if (open && s->status == SLOT_COUNTED) {
		if (s->verdict == SYNOD_VERDICT_APPROVE) {
			t->approvals--;
			t->approved_by &= ~bit;
		} else {
			t->rejections--;
			t->rejected_by &= ~bit;
		}
	}
	if (open) {
		t->equivocators |= bit;
	}
	s->status = SLOT_EQUIVOCATED;
	memcpy(s->digest2, digest, SYNOD_HASH_BYTES);
	if (open) {
		recount_settle(rc, pos);
	}
	return SYNOD_VOTE_EQUIVOCATION;
}

enum synod_vote_reason recount_vote(struct recount *rc, struct synod_app_pos pos,
                                    const uint8_t *payload, size_t len, uint32_t *seat)
{
	struct synod_vote_envelope env;
	const struct synod_cluster *c = rc->cluster;
	*seat = UINT32_MAX;
	if (synod_vote_decode(&env, (const char *)payload, len, NULL, 0) != 0) {
		return SYNOD_VOTE_MALFORMED;
	}
	const struct synod_vote *v = &env.vote;
	*seat = v->seat;
	if (memcmp(v->cluster_id, c->cluster_id, SYNOD_CLUSTER_ID_BYTES) != 0) {
		return SYNOD_VOTE_WRONG_CLUSTER;
	}
	if (v->seat >= c->policy.seats) {
		return SYNOD_VOTE_UNKNOWN_SEAT;
	}
	/* another request: not this tally's (checked before the costly
	 * signature, as a recount skips most of the log this way) */
	if (memcmp(v->request_id, rc->request_id, SYNOD_HASH_BYTES) != 0) {
		return SYNOD_VOTE_UNKNOWN_REQUEST;
	}
	if (app_vote_sig_check(rc->crypto, c->cluster_id, &env, (const char *)payload,
	                       c->seat_keys[v->seat]) != 0) {
		return SYNOD_VOTE_BAD_SIGNATURE;
	}
	if (v->epoch != rc->epoch) {
		return SYNOD_VOTE_WRONG_EPOCH;
	}
	if ((rc->eligible >> v->seat & 1u) == 0) {
		return SYNOD_VOTE_EXCLUDED_SEAT;
	}
	uint8_t digest[SYNOD_HASH_BYTES];
	synod_sha256(digest, payload + env.signed_offset, env.signed_len);
	struct recount_seat *s = &rc->seat[v->seat];
	if (s->status != SLOT_NONE) {
		return recount_repeat(rc, s, v->seat, digest, pos);
	}
	memcpy(s->digest, digest, SYNOD_HASH_BYTES);
	s->verdict = (uint8_t)v->verdict;
	s->pos = pos;
	if (rc->tally.outcome != SYNOD_OUTCOME_OPEN) {
		s->status = SLOT_LATE;
		return SYNOD_VOTE_CLOSED_REQUEST;
	}
	s->status = SLOT_COUNTED;
	uint64_t bit = UINT64_C(1) << v->seat;
	if (v->verdict == SYNOD_VERDICT_APPROVE) {
		rc->tally.approvals++;
		rc->tally.approved_by |= bit;
	} else {
		rc->tally.rejections++;
		rc->tally.rejected_by |= bit;
	}
	recount_settle(rc, pos);
	return SYNOD_VOTE_COUNTED;
}

void recount_tick(struct recount *rc, struct synod_app_pos pos, uint64_t t)
{
	if (rc->tally.outcome == SYNOD_OUTCOME_OPEN && t >= rc->tally.deadline_ms) {
		recount_decide(rc, SYNOD_OUTCOME_EXPIRED, pos);
	}
}

/* ---- synod_app_recount ---- */

struct recount_log {
	struct recount rc;
	bool found;
	const struct synod_tally *claimed;
	const uint8_t *id;
};

static int recount_entry(struct recount_log *lg, const struct synod_cluster *c,
                         const struct synod_vote_crypto *crypto, struct synod_app_pos pos,
                         const uint8_t *entry, uint32_t len)
{
	int cmp = synod_app_pos_cmp(pos, lg->claimed->submitted_at);
	if (cmp < 0) {
		return 0;
	}
	if (cmp == 0) {
		struct synod_request req;
		uint8_t id[SYNOD_HASH_BYTES];
		if (entry[0] != SYNOD_ENTRY_SUBMIT ||
		    synod_request_decode(&req, id, (const char *)entry + 1, len - 1u, NULL, 0) !=
		        0 ||
		    memcmp(id, lg->id, SYNOD_HASH_BYTES) != 0) {
			return SYNOD_ENOTFOUND;
		}
		recount_init(&lg->rc, c, crypto, lg->id, lg->claimed->epoch, lg->claimed->eligible,
		             req.deadline_ms, pos);
		lg->found = true;
		return 0;
	}
	if (!lg->found) {
		return SYNOD_ENOTFOUND;
	}
	if (entry[0] == SYNOD_ENTRY_VOTE) {
		uint32_t seat;
		(void)recount_vote(&lg->rc, pos, entry + 1, len - 1u, &seat);
	} else if (entry[0] == SYNOD_ENTRY_TICK && len == SYNOD_APP_TICK_BYTES) {
		recount_tick(&lg->rc, pos, app_tick_decode(entry));
	}
	return 0;
}

int synod_app_recount(const struct synod_cluster *c, const struct synod_vote_crypto *crypto,
                      const uint8_t request_id[SYNOD_HASH_BYTES], const struct synod_tally *claimed,
                      synod_log_next_fn next, void *ctx, struct synod_tally *out, char *errmsg,
                      size_t errmsg_len)
{
	struct recount_log *lg = calloc(1, sizeof *lg);
	struct pbft_msg_limits lim;
	int rc = 0;
	if (lg == NULL) {
		return synod_errf(errmsg, errmsg_len, SYNOD_ENOMEM, "recount: out of memory");
	}
	app_batch_limits(&lim);
	lg->claimed = claimed;
	lg->id = request_id;
	for (;;) {
		uint64_t seq = 0;
		const uint8_t *batch = NULL;
		size_t len = 0;
		rc = next(ctx, &seq, &batch, &len);
		if (rc <= 0) {
			break;
		}
		rc = 0;
		struct pbft_batch_iter it;
		if (pbft_batch_iter_init(&it, batch, len, &lim) != 0) {
			continue; /* applies nothing, as in synod_app_execute */
		}
		const uint8_t *entry;
		uint32_t entry_len;
		for (uint32_t i = 0; rc == 0 && pbft_batch_iter_next(&it, &entry, &entry_len) == 1;
		     i++) {
			struct synod_app_pos pos = {.seq = seq, .index = i};
			rc = recount_entry(lg, c, crypto, pos, entry, entry_len);
		}
		if (rc != 0) {
			break;
		}
	}
	if (rc == 0 && !lg->found) {
		rc = SYNOD_ENOTFOUND;
	}
	if (rc == SYNOD_ENOTFOUND) {
		synod_errf(errmsg, errmsg_len, rc,
		           "recount: no SUBMIT of the request at seq %llu index %u",
		           (unsigned long long)claimed->submitted_at.seq,
		           claimed->submitted_at.index);
	} else if (rc != 0) {
		synod_errf(errmsg, errmsg_len, rc, "recount: reading the log failed: %s",
		           synod_strerror(rc));
	} else {
		*out = lg->rc.tally;
	}
	free(lg);
	return rc;
}

/* ---- exclusion evidence ---- */

static int exclusion_vote(const struct synod_cluster *c, const struct synod_exclusion *ex, int k,
                          const uint8_t *vote, size_t len, struct synod_vote_envelope *env,
                          char *errmsg, size_t errmsg_len)
{
	char err[SYNOD_APP_REPORT_BYTES_MAX];
	const char *which = k == 0 ? "first" : "second";
	if (vote == NULL || synod_vote_decode(env, (const char *)vote, len, err, sizeof err) != 0) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EINVAL,
		                  "seat %u exclusion: the %s vote is malformed", ex->seat, which);
	}
	const struct synod_vote *v = &env->vote;
	uint8_t digest[SYNOD_HASH_BYTES];
	synod_sha256(digest, vote + env->signed_offset, env->signed_len);
	const char *bad = NULL;
	if (memcmp(v->cluster_id, c->cluster_id, SYNOD_CLUSTER_ID_BYTES) != 0) {
		bad = "is for another cluster";
	} else if (v->seat != ex->seat || ex->seat >= c->policy.seats) {
		bad = "is from another seat";
	} else if (memcmp(v->request_id, ex->request_id, SYNOD_HASH_BYTES) != 0) {
		bad = "is about another request";
	} else if (synod_vote_verify(env, (const char *)vote, c->cluster_id,
	                             c->seat_keys[ex->seat]) != 0) {
		bad = "does not carry the seat's valid signature";
	} else if (memcmp(digest, ex->vote_digest[k], SYNOD_HASH_BYTES) != 0) {
		bad = "is not the vote the record names";
	} else if (v->epoch >= ex->from_epoch) {
		bad = "names an epoch at or after the exclusion's start";
	}
	if (bad != NULL) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EINVAL,
		                  "seat %u exclusion: the %s vote %s", ex->seat, which, bad);
	}
	return 0;
}

int synod_exclusion_check(const struct synod_cluster *c, const struct synod_exclusion *ex,
                          const uint8_t *vote_a, size_t vote_a_len, const uint8_t *vote_b,
                          size_t vote_b_len, char *errmsg, size_t errmsg_len)
{
	const struct synod_policy *p = &c->policy;
	uint64_t want = ex->from_epoch > UINT64_MAX - p->exclusion_epochs
	                    ? UINT64_MAX
	                    : ex->from_epoch + p->exclusion_epochs;
	if (ex->seat >= p->seats || ex->from_epoch == 0 || ex->until_epoch != want) {
		return synod_errf(
		    errmsg, errmsg_len, SYNOD_EINVAL,
		    "seat %u exclusion: epochs %llu..%llu do not span the policy's %llu "
		    "epochs from a later epoch",
		    ex->seat, (unsigned long long)ex->from_epoch,
		    (unsigned long long)ex->until_epoch, (unsigned long long)p->exclusion_epochs);
	}
	if (ex->kind == SYNOD_EXCLUSION_NON_PARTICIPATION) {
		if (!p->non_participation || ex->missed < p->np_missed_decisions_max) {
			return synod_errf(
			    errmsg, errmsg_len, SYNOD_EINVAL,
			    "seat %u exclusion: non-participation is off in the policy "
			    "or %llu missed decisions are too few",
			    ex->seat, (unsigned long long)ex->missed);
		}
		return 0;
	}
	if (ex->kind != SYNOD_EXCLUSION_EQUIVOCATION) {
		return synod_errf(errmsg, errmsg_len, SYNOD_EINVAL,
		                  "seat %u exclusion: unknown kind", ex->seat);
	}
	struct synod_vote_envelope a, b;
	int rc = exclusion_vote(c, ex, 0, vote_a, vote_a_len, &a, errmsg, errmsg_len);
	if (rc == 0) {
		rc = exclusion_vote(c, ex, 1, vote_b, vote_b_len, &b, errmsg, errmsg_len);
	}
	if (rc == 0 && memcmp(ex->vote_digest[0], ex->vote_digest[1], SYNOD_HASH_BYTES) == 0) {
		rc = synod_errf(errmsg, errmsg_len, SYNOD_EINVAL,
		                "seat %u exclusion: the two votes are the same vote", ex->seat);
	}
	/* equivocation is two valid votes on one request, and a valid vote names
	 * the request's epoch: two epochs cannot both be valid */
	if (rc == 0 && a.vote.epoch != b.vote.epoch) {
		rc = synod_errf(
		    errmsg, errmsg_len, SYNOD_EINVAL,
		    "seat %u exclusion: the two votes name different epochs (%llu, %llu)", ex->seat,
		    (unsigned long long)a.vote.epoch, (unsigned long long)b.vote.epoch);
	}
	return rc;
}

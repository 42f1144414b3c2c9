/* Where a bundle's reading of a decision differs from the record the cluster
 * certified. The verifier has already checked that the record it compares
 * with hashes to the certified leaf; this only puts the difference into
 * words, by the bundle's own path ("epoch.exclusions[1].from_epoch"), so that
 * an auditor sees which field was altered, not only that the hash differs. */
#include "common/assert.h"
#include "common/hash.h"
#include "coordinator/app/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct rdiff {
	synod_bundle_report_fn report;
	void *ctx;
	uint32_t named;
};

__attribute__((format(printf, 2, 3))) static void rdiff_fail(struct rdiff *d, const char *fmt, ...)
{
	char line[SYNOD_APP_REPORT_BYTES_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	d->named++;
	d->report(d->ctx, line);
}

static void rdiff_u64(struct rdiff *d, const char *path, uint64_t got, uint64_t want)
{
	if (got != want) {
		rdiff_fail(d, "%s: the bundle says %llu, the certified record says %llu", path,
		           (unsigned long long)got, (unsigned long long)want);
	}
}

static void rdiff_pos(struct rdiff *d, const char *path, struct synod_app_pos got,
                      struct synod_app_pos want)
{
	if (synod_app_pos_cmp(got, want) != 0) {
		rdiff_fail(d,
		           "%s: the bundle says seq %llu index %u, the certified record says seq "
		           "%llu index %u",
		           path, (unsigned long long)got.seq, got.index,
		           (unsigned long long)want.seq, want.index);
	}
}

static void rdiff_hash(struct rdiff *d, const char *path, const uint8_t got[SYNOD_HASH_BYTES],
                       const uint8_t want[SYNOD_HASH_BYTES])
{
	if (memcmp(got, want, SYNOD_HASH_BYTES) != 0) {
		char g[2 * SYNOD_HASH_BYTES + 1], w[2 * SYNOD_HASH_BYTES + 1];
		int rc = synod_hex_encode(g, sizeof g, got, SYNOD_HASH_BYTES);
		rc |= synod_hex_encode(w, sizeof w, want, SYNOD_HASH_BYTES);
		SYNOD_ASSERT(rc == 0);
		rdiff_fail(d, "%s: the bundle says %s, the certified record says %s", path, g, w);
	}
}

static uint64_t rdiff_excluded(const struct app_decision_record *r)
{
	uint64_t m = 0;
	for (uint32_t i = 0; i < r->exclusion_count; i++) {
		m |= r->exclusions[i].seat < 64u ? UINT64_C(1) << r->exclusions[i].seat : 0u;
	}
	return m;
}

static void rdiff_header(struct rdiff *d, const struct app_decision_record *b,
                         const struct app_decision_record *c)
{
	rdiff_hash(d, "request_id", b->request_id, c->request_id);
	if (b->outcome != c->outcome) {
		rdiff_fail(d, "outcome: the bundle says %s, the certified record says %s",
		           synod_outcome_name((enum synod_outcome)b->outcome),
		           synod_outcome_name((enum synod_outcome)c->outcome));
	}
	rdiff_pos(d, "request.position", b->submitted_at, c->submitted_at);
	rdiff_pos(d, "decided_at", b->decided_at, c->decided_at);
	rdiff_u64(d, "epoch.number", b->epoch, c->epoch);
	/* A seat excluded in one only is named with the exclusions; the
	 * eligible seats and their hash differ then as a consequence. */
	uint64_t moved = b->eligible ^ c->eligible;
	if (moved != 0 && moved == (rdiff_excluded(b) ^ rdiff_excluded(c))) {
		return;
	}
	rdiff_hash(d, "epoch.voter_set_hash", b->voter_set_hash, c->voter_set_hash);
	if (moved != 0) {
		rdiff_fail(d,
		           "epoch.eligible_seats: the bundle's %u seats are not the certified "
		           "record's %u (seats in one only: mask %#llx)",
		           app_popcount(b->eligible), app_popcount(c->eligible),
		           (unsigned long long)moved);
	}
}

static const char *rdiff_list(const struct app_ignored *v)
{
	return v->reason == SYNOD_VOTE_COUNTED ? "votes" : "ignored";
}

/* Both lists are in log order (the builder sorts the record's; the verifier
 * the bundle's): one merge names each vote listed in one only, or listed for
 * another seat or reason. */
static void rdiff_votes(struct rdiff *d, const struct app_decision_record *b,
                        const struct app_decision_record *c)
{
	uint32_t i = 0, k = 0;
	while (i < b->vote_count || k < c->vote_count) {
		const struct app_ignored *x = i < b->vote_count ? &b->votes[i] : NULL;
		const struct app_ignored *y = k < c->vote_count ? &c->votes[k] : NULL;
		int cmp = x == NULL ? 1 : y == NULL ? -1 : synod_app_pos_cmp(x->pos, y->pos);
		if (cmp < 0) {
			rdiff_fail(d,
			           "%s: seat %u's vote at seq %llu index %u (%s) is not in the "
			           "certified record",
			           rdiff_list(x), x->seat, (unsigned long long)x->pos.seq,
			           x->pos.index,
			           synod_vote_reason_name((enum synod_vote_reason)x->reason));
			i++;
		} else if (cmp > 0) {
			rdiff_fail(
			    d,
			    "%s: the certified record has seat %u's vote at seq %llu index %u "
			    "(%s), the bundle does not list it",
			    rdiff_list(y), y->seat, (unsigned long long)y->pos.seq, y->pos.index,
			    synod_vote_reason_name((enum synod_vote_reason)y->reason));
			k++;
		} else {
			if (x->seat != y->seat || x->reason != y->reason) {
				rdiff_fail(
				    d,
				    "%s: the vote at seq %llu index %u is listed for seat %u as "
				    "%s, the certified record has seat %u and %s",
				    rdiff_list(x), (unsigned long long)x->pos.seq, x->pos.index,
				    x->seat,
				    synod_vote_reason_name((enum synod_vote_reason)x->reason),
				    y->seat,
				    synod_vote_reason_name((enum synod_vote_reason)y->reason));
			}
			i++;
			k++;
		}
	}
}

static const char *rdiff_kind(uint8_t kind)
{
	return kind == SYNOD_EXCLUSION_EQUIVOCATION        ? "equivocation"
	       : kind == SYNOD_EXCLUSION_NON_PARTICIPATION ? "non_participation"
	                                                   : "unknown";
}

/* The evidence pair: a vote is named when its position or its signed bytes
 * are not the certified one's. The equivocation's request_id is read from
 * the evidence, so it differs only when the evidence does. */
static void rdiff_evidence(struct rdiff *d, const char *path,
                           const struct app_decision_exclusion *x,
                           const struct app_decision_exclusion *y)
{
	uint32_t before = d->named;
	for (int k = 0; k < 2; k++) {
		bool same_pos = synod_app_pos_cmp(x->pos[k], y->pos[k]) == 0;
		if (same_pos && memcmp(x->digest[k], y->digest[k], SYNOD_HASH_BYTES) == 0) {
			continue;
		}
		char at[96];
		snprintf(at, sizeof at, "seq %llu index %u", (unsigned long long)y->pos[k].seq,
		         y->pos[k].index);
		rdiff_fail(
		    d,
		    "%s.evidence[%d]: not the vote the cluster certified (the bundle's is at "
		    "seq %llu index %u, the certified one at %s%s)",
		    path, k, (unsigned long long)x->pos[k].seq, x->pos[k].index, at,
		    same_pos ? ", with other signed bytes" : "");
	}
	if (d->named == before && memcmp(x->request_id, y->request_id, SYNOD_HASH_BYTES) != 0) {
		rdiff_fail(d, "%s.evidence: about another request than the certified record's",
		           path);
	}
}

static void rdiff_exclusion(struct rdiff *d, uint32_t at, const struct app_decision_exclusion *x,
                            const struct app_decision_exclusion *y)
{
	char path[48], field[80];
	snprintf(path, sizeof path, "epoch.exclusions[%u]", at);
	if (x->kind != y->kind) {
		rdiff_fail(d, "%s.kind: the bundle says %s, the certified record says %s", path,
		           rdiff_kind(x->kind), rdiff_kind(y->kind));
		return; /* every other field follows from the kind */
	}
	snprintf(field, sizeof field, "%s.from_epoch", path);
	rdiff_u64(d, field, x->from_epoch, y->from_epoch);
	snprintf(field, sizeof field, "%s.until_epoch", path);
	rdiff_u64(d, field, x->until_epoch, y->until_epoch);
	if (x->kind == SYNOD_EXCLUSION_EQUIVOCATION) {
		rdiff_evidence(d, path, x, y);
		return;
	}
	snprintf(field, sizeof field, "%s.missed", path);
	rdiff_u64(d, field, x->missed, y->missed);
	snprintf(field, sizeof field, "%s.request_id", path);
	rdiff_hash(d, field, x->request_id, y->request_id);
}

/* Both lists are by ascending seat (the verifier refuses any other order,
 * and names it): one merge pairs the exclusions of each seat. */
static void rdiff_exclusions(struct rdiff *d, const struct app_decision_record *b,
                             const uint32_t exclusion_at[], const struct app_decision_record *c)
{
	uint32_t i = 0, k = 0;
	while (i < b->exclusion_count || k < c->exclusion_count) {
		const struct app_decision_exclusion *x =
		    i < b->exclusion_count ? &b->exclusions[i] : NULL;
		const struct app_decision_exclusion *y =
		    k < c->exclusion_count ? &c->exclusions[k] : NULL;
		int cmp = x == NULL   ? 1
		          : y == NULL ? -1
		                      : (x->seat > y->seat) - (x->seat < y->seat);
		if (cmp < 0) {
			rdiff_fail(d,
			           "epoch.exclusions[%u]: the certified record has no exclusion of "
			           "seat %u",
			           exclusion_at[i], x->seat);
			i++;
		} else if (cmp > 0) {
			rdiff_fail(
			    d,
			    "epoch.exclusions: the certified record excludes seat %u (%s), the "
			    "bundle does not list it",
			    y->seat, rdiff_kind(y->kind));
			k++;
		} else {
			rdiff_exclusion(d, exclusion_at[i], x, y);
			i++;
			k++;
		}
	}
}

uint32_t app_decision_diff(const struct app_decision_record *bundle, const uint32_t exclusion_at[],
                           const struct app_decision_record *cert, synod_bundle_report_fn report,
                           void *ctx)
{
	struct rdiff d = {.report = report, .ctx = ctx, .named = 0};
	rdiff_header(&d, bundle, cert);
	rdiff_votes(&d, bundle, cert);
	rdiff_exclusions(&d, bundle, exclusion_at, cert);
	return d.named;
}

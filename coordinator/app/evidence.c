/* Canonical tree sizes for inclusion proofs in bundles.
 *
 * An RFC 9162 inclusion path is checked against (index, tree size), but the
 * verifier's steps depend only on the path's "shape": how many hashes it has
 * and on which side each one goes. Several tree sizes share a shape (leaf 0 of
 * trees of 5, 6, 7 and 8 leaves all take three right-hand siblings), and the
 * commit certificate signs only the root, not the batch's entry count. So a
 * bundle that wrote the real batch size would hold a number no check binds.
 * Bundles write instead the SMALLEST size with the path's shape: the verifier
 * refuses any other, and every byte of a bundle is bound by a check. Within
 * one shape the index is bound too: a root-to-leaf path of sides names one
 * leaf. */
#include "common/assert.h"
#include "coordinator/app/internal.h"

struct proof_shape {
	uint32_t len;
	uint64_t sides; /* bit i: the i-th hash goes on the left */
};

/* The control flow of RFC 9162 section 2.1.3.2 without the hashing. */
static struct proof_shape proof_shape_of(uint64_t index, uint64_t size)
{
	struct proof_shape s = {0, 0};
	SYNOD_ASSERT(index < size);
	uint64_t fn = index;
	uint64_t sn = size - 1;
	while (sn > 0) {
		SYNOD_ASSERT(s.len < 64);
		if ((fn & 1u) != 0 || fn == sn) {
			s.sides |= UINT64_C(1) << s.len;
			while ((fn & 1u) == 0 && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		}
		fn >>= 1;
		sn >>= 1;
		s.len++;
	}
	return s;
}

static bool proof_shape_eq(struct proof_shape a, struct proof_shape b)
{
	return a.len == b.len && a.sides == b.sides;
}

uint64_t app_proof_size_canonical(uint64_t index, uint64_t size)
{
	struct proof_shape want = proof_shape_of(index, size);
	for (uint64_t s = index + 1; s < size; s++) {
		if (proof_shape_eq(proof_shape_of(index, s), want)) {
			return s;
		}
	}
	return size;
}

bool app_proof_size_is_canonical(uint64_t index, uint64_t size)
{
	return index < size && app_proof_size_canonical(index, size) == size;
}

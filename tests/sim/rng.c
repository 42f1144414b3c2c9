/* xoshiro256** (Blackman and Vigna), seeded through splitmix64: every random
 * choice of a simulation comes from here. */
#include "tests/sim/sim.h"

#include "common/assert.h"

uint64_t sim_splitmix64(uint64_t *state)
{
	*state += 0x9e3779b97f4a7c15ull;
	uint64_t z = *state;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void sim_rng_init(struct sim_rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t st = seed ^ (stream * 0xd1b54a32d192ed03ull);
	for (uint32_t i = 0; i < 4; i++) {
		r->s[i] = sim_splitmix64(&st);
	}
}

static uint64_t rng_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t sim_rng_next(struct sim_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rng_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rng_rotl(s[3], 45);
	return result;
}

uint64_t sim_rng_below(struct sim_rng *r, uint64_t bound)
{
	SYNOD_ASSERT(bound > 0);
	/* Lemire's nearly-divisionless method would be faster; the modulo bias
	 * of a 64-bit draw over small bounds is irrelevant here. */
	return sim_rng_next(r) % bound;
}

uint64_t sim_rng_range(struct sim_rng *r, uint64_t lo, uint64_t hi)
{
	SYNOD_ASSERT(lo <= hi);
	if (hi - lo == UINT64_MAX) {
		return sim_rng_next(r);
	}
	return lo + sim_rng_below(r, hi - lo + 1);
}

bool sim_rng_ppm(struct sim_rng *r, uint32_t ppm)
{
	if (ppm == 0) {
		return false;
	}
	return sim_rng_below(r, 1000000u) < ppm;
}

/* The simulator's voters mode (tests/sim/voters.c): the real certification
 * app on every coordinator, 33 voters, the invariant checks and the bundle
 * tamperings. Each run must pass and actually exercise what it checks. */
#include "tests/sim/cluster.h"

#include "common/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* cmocka needs the headers above first. */
#include <cmocka.h>

static void voters_run(uint64_t seed, bool faults, bool real_crypto, struct sim_stats *s)
{
	struct sim_options o;
	struct sim_violation v;
	char err[256] = "";
	sim_options_defaults(&o, seed, 4);
	sim_voters_options(&o, 33);
	o.faults = faults;
	o.real_crypto = real_crypto;
	memset(s, 0, sizeof *s);
	int rc = sim_run(&o, s, &v, err, sizeof err);
	if (rc < 0) {
		fail_msg("sim_run: %s", err);
	}
	if (rc != 0) {
		fail_msg("violation seed=%llu step=%llu node=%u: %s", (unsigned long long)v.seed,
		         (unsigned long long)v.step, v.node, v.what);
	}
	assert_true(s->requests > 0);
	assert_int_equal(s->requests_decided + s->requests_expired_at_submit, s->requests);
	assert_true(s->votes[0] > 0);
}

/* A clean network: requests get decided, recounted, bundled, and every
 * tampering of a bundle is caught. */
static void voters_clean(void **state)
{
	(void)state;
	struct sim_stats s;
	voters_run(1, false, false, &s);
	assert_true(s.requests_approved > 0);
	assert_true(s.recounts > 0);
	assert_true(s.bundles_verified > 0);
	assert_true(s.tamper_tried > 0);
	assert_int_equal(s.tamper_caught, s.tamper_tried);
}

/* Vote signatures checked with Ed25519 instead of the fake table. */
static void voters_real_crypto(void **state)
{
	(void)state;
	struct sim_stats s;
	voters_run(2, false, true, &s);
	assert_true(s.bundles_verified > 0);
}

/* The random fault mix, Byzantine coordinators and voters. */
static void voters_faults(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 3; seed++) {
		struct sim_stats s;
		voters_run(seed, true, false, &s);
		assert_int_equal(s.tamper_caught, s.tamper_tried);
	}
}

int main(void)
{
	synod_log_level_set(SYNOD_LOG_OFF);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(voters_clean),
	    cmocka_unit_test(voters_real_crypto),
	    cmocka_unit_test(voters_faults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

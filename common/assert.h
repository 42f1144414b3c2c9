/* SYNOD_ASSERT: always on, in every build type. For our own bugs only: bad
 * input from outside is an error code, a counter and a log line, never an
 * assert. */
#ifndef SYNOD_COMMON_ASSERT_H
#define SYNOD_COMMON_ASSERT_H

_Noreturn void synod_assert_fail(const char *expr, const char *file, int line, const char *func);

#define SYNOD_ASSERT(expr)                                                                         \
	((expr) ? (void)0 : synod_assert_fail(#expr, __FILE__, __LINE__, __func__))

#endif

/*
 * unit.h — a minimal unit-test harness. Each TEST registers itself before main
 * runs; a test passes when none of its CHECKs failed. The runner prints every
 * failure with file and line, then "N passed, N failed", and exits non-zero if
 * any test failed. Tests that cannot run on this machine (a backend without
 * its server) are registered as not run, with the reason: the summary then
 * says "N NOT RUN" and prints each reason after it, so that a check left out
 * never reads as a pass.
 */
#ifndef HOOKD_TESTS_UNIT_H
#define HOOKD_TESTS_UNIT_H

#include <stdio.h>
#include <string.h>

typedef void (*unit_fn)(void);
void unit_register(const char *name, unit_fn fn);
/* The same with an argument handed to fn: one body registered under several
 * names (the store suite registers each test once per backend). name must
 * live as long as the program. */
typedef void (*unit_arg_fn)(void *arg);
void unit_register_arg(const char *name, unit_arg_fn fn, void *arg);
/* A test that will not run here, and why (both must live as long as the
 * program; tests sharing one reason are reported together). */
void unit_register_not_run(const char *name, const char *why);
void unit_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define TEST(name)                                                                                 \
    static void test_##name(void);                                                                 \
    __attribute__((constructor)) static void register_##name(void)                                 \
    {                                                                                              \
        unit_register(#name, test_##name);                                                         \
    }                                                                                              \
    static void test_##name(void)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            unit_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                                     \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_)                                                                              \
            unit_fail(__FILE__, __LINE__, "%s == %lld, expected %lld", #a, a_, b_);                \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                     \
            unit_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)", \
                      b_ ? b_ : "(null)");                                                         \
    } while (0)

#endif

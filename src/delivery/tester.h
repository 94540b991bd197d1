/*
 * tester.h — runs test sends (delivery/testsend.h) off the API's threads:
 * one thread owning a libcurl multi handle of its own, at most `max` tests
 * at once. Through a proxy a test's host is resolved first with glibc's
 * getaddrinfo_a (request.h), as the engine does, so the thread never waits
 * on DNS; each transfer ends within the request timeout.
 *
 * A handler submits a test and returns at once; when the test is finished
 * its done callback is called once, on the tester's thread, with the test
 * handed back. The callback must only hand the test on (the API resumes the
 * request on a handler thread): it must not call the store or block.
 *
 * Ownership: a submitted test belongs to the tester until its callback,
 * which receives it. The tester is made and stopped by one thread (the
 * API's start and stop); submit may be called from any thread.
 */
#ifndef HOOKD_DELIVERY_TESTER_H
#define HOOKD_DELIVERY_TESTER_H

#include <stdint.h>

#include "delivery/testsend.h"

typedef struct hookd_tester hookd_tester;

/* Starts the thread. max: tests in flight at once (> 0); timeout_ms: the
 * request timeout every test runs under (for Retry-After). Returns 0 or
 * HOOKD_ENOMEM. */
int hookd_tester_start(unsigned max, int64_t timeout_ms, hookd_tester **out)
    __attribute__((warn_unused_result));

/* Sends t and calls done(t, ctx) once it is finished. Returns 0, or
 * HOOKD_EUNAVAIL when max tests are in flight already (*retry_after_s: the
 * seconds until the oldest of them has ended, at least 1) or the tester is
 * stopping (*retry_after_s 0); then t stays the caller's and done is never
 * called. */
int hookd_tester_submit(hookd_tester *tr, hookd_test *t, hookd_test_done_fn done, void *ctx,
                        unsigned *retry_after_s) __attribute__((warn_unused_result));

/* Refuses new tests, waits for those in flight to finish (each within the
 * request timeout; their callbacks run) and frees everything. Accepts NULL. */
void hookd_tester_stop(hookd_tester *tr);

#endif

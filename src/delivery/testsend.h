/*
 * testsend.h — one test send: the test payload of docs/api.md#delivery, sent once, never
 * retried: on creation, by /webhooks/{id}/test, and for an unsaved webhook
 * by /webhooks/test.
 *
 * A test passes through three hands, one at a time, and never blocks any of
 * them: an API handler thread makes it (hookd_test_new: payload built,
 * request set up and signed), the tester's thread sends it
 * (delivery/tester.h: libcurl multi, the host resolved without blocking
 * through a proxy) and reads its outcome (hookd_test_finish), and a handler
 * thread again turns the outcome into the answer (hookd_test_answer) and the
 * log row it stores (hookd_test_record_of): the store is never called from
 * the tester's thread. Whoever holds a test owns it; hookd_test_free
 * releases it.
 */
#ifndef HOOKD_DELIVERY_TESTSEND_H
#define HOOKD_DELIVERY_TESTSEND_H

#include <jansson.h>
#include <stdbool.h>

#include "delivery/request.h"
#include "store/store.h"

typedef struct hookd_test hookd_test;
typedef void (*hookd_test_done_fn)(hookd_test *t, void *ctx);

struct hookd_test {
    /* What is sent (fixed at hookd_test_new). */
    char id[HOOKD_ID_MAX]; /* the delivery id: webhook-id, and the log entry's id */
    int64_t created_ms;
    hookd_method method;
    char *query; /* GET/DELETE's payload query, or NULL (owned) */
    char *body;  /* the payload ("" for GET/DELETE) (owned) */
    char webhook_id[HOOKD_ID_MAX]; /* for the log ("" for an unsaved webhook) */
    /* The outcome, set by hookd_test_finish; its strings point into req. */
    bool ok;
    hookd_attempt_result res;
    /* The request; libcurl's handle and the template live from
     * hookd_test_new to hookd_test_finish. */
    CURL *easy;
    hookd_request_tpl tpl;
    hookd_request req;
    /* The tester's (delivery/tester.c): who is told, and its lists. */
    hookd_test_done_fn done;
    void *done_ctx;
    void *tester;
    int64_t submitted_ms; /* monotonic */
    hookd_test *prev, *next; /* the tests in flight */
    hookd_test *qnext;       /* a queue to the tester's thread */
};

/* Makes the test of wh: its payload, signed request and libcurl handle,
 * ready for the tester. opts is borrowed and must outlive the test. NULL if
 * memory ran out. */
hookd_test *hookd_test_new(const hookd_webhook *wh, const hookd_send_opts *opts);

/* Reads the outcome once libcurl finished the request with code (on the
 * thread that ran it), and frees libcurl's handle and the template. */
void hookd_test_finish(hookd_test *t, CURLcode code);

/* The answer of docs/api.md for a finished test (new reference):
 * {"ok","status_code","response_body","duration_ms","error"}; NULL only if
 * memory ran out. */
json_t *hookd_test_answer(const hookd_test *t);

/* The log row of a finished test sent to wh (which it points to, with t's
 * strings: both must outlive it). */
hookd_test_record hookd_test_record_of(const hookd_test *t, const hookd_webhook *wh);

/* Frees t, finished or not. Accepts NULL. */
void hookd_test_free(hookd_test *t);

#endif

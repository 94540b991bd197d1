/*
 * testsend.h — the test payload of SPEC §5, sent once, never retried: on
 * creation, by /webhooks/{id}/test, and for an unsaved webhook by
 * /webhooks/test. Runs on the calling (API) thread with a blocking libcurl
 * easy perform, bounded by the request timeout (through a proxy, the host is
 * first resolved on this thread too, see request.h).
 */
#ifndef HOOKD_DELIVERY_TESTSEND_H
#define HOOKD_DELIVERY_TESTSEND_H

#include <jansson.h>
#include <stdbool.h>

#include "delivery/request.h"
#include "store/store.h"

/* Sends the test payload to wh. When st is not NULL the send is logged as a
 * delivery of kind test. Returns the answer of SPEC §2 (new reference):
 * {"ok","status_code","response_body","duration_ms","error"}; NULL only if
 * memory ran out. */
json_t *hookd_test_send(const hookd_webhook *wh, const hookd_send_opts *opts, hookd_store *st);

#endif

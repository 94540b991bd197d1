/*
 * outcome.h — what an attempt's result means for its delivery (docs/api.md#delivery):
 * success, final failure, or a retry after the schedule's delay — or later,
 * when the answer's Retry-After asks for it (docs/api.md).
 *
 * Pure functions; thread-safe.
 */
#ifndef HOOKD_DELIVERY_OUTCOME_H
#define HOOKD_DELIVERY_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum hookd_verdict {
    HOOKD_VERDICT_SUCCESS, /* 200–399 */
    HOOKD_VERDICT_FINAL,   /* 400/401/403/404/405/410, or the address was refused */
    HOOKD_VERDICT_RETRY,   /* every other status, connection/TLS errors, timeouts */
} hookd_verdict;

/* Classifies one attempt. status is the HTTP status received (0 when none
 * came); refused is true when the address guard refused the connection. A
 * status, when there is one, decides even if the transfer then failed (for
 * example when hookd stopped reading an oversized answer, or the connection
 * ended before the answer's body did). */
hookd_verdict hookd_outcome_classify(int status, bool refused);

/* As hookd_outcome_classify, for a webhook whose answers update the person
 * (wants_object: update_contact_from_response): a 2xx whose body is not a
 * JSON object (is_object false) is retried like a 5xx, as Ortto does; a 3xx
 * still succeeds. */
hookd_verdict hookd_outcome_classify_answer(int status, bool refused, bool wants_object,
                                            bool is_object);

/* The delay before the next attempt after attempt number attempts (1-based)
 * failed with a retryable outcome: schedule[attempts-1], the last entry
 * repeating. Returns -1 when no retry is left: attempts > max_retries (so
 * max_retries 12 allows 13 attempts). */
int64_t hookd_retry_next_delay(const int64_t *schedule_ms, size_t schedule_len, int max_retries,
                               int attempts);

/* The longest wait a Retry-After can impose (docs/api.md): a receiver cannot
 * park a delivery for longer than a day. */
#define HOOKD_RETRY_AFTER_MAX_MS (24LL * 3600 * 1000)

/* Reads a Retry-After value (RFC 9110 §10.2.3): delta-seconds ("120"), or an
 * HTTP-date (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", or the obsolete
 * RFC 850 and asctime forms), with optional spaces around it. Returns the
 * wait it asks for in milliseconds from now_ms (0 for a date already past;
 * a huge number of seconds saturates instead of overflowing), or -1 when
 * value is NULL or not one of those forms. */
int64_t hookd_retry_after_parse(const char *value, int64_t now_ms);

/* The wait before a retry: the schedule's delay_ms, or retry_after_ms when
 * that is longer, but a Retry-After never makes it longer than
 * HOOKD_RETRY_AFTER_MAX_MS (a schedule delay past it stays as it is).
 * retry_after_ms <= 0 means none. */
int64_t hookd_retry_after_delay(int64_t delay_ms, int64_t retry_after_ms);

#endif

/*
 * outcome.h — what an attempt's result means for its delivery (SPEC §5):
 * success, final failure, or a retry after the schedule's delay.
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
    HOOKD_VERDICT_FINAL,   /* 400/401/403/404/405, or the address was refused */
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

#endif

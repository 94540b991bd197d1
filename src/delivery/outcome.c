/*
 * outcome.c — what an attempt's result means for its delivery (SPEC §5), and
 * how long to wait before the next attempt.
 */
#include "delivery/outcome.h"

hookd_verdict hookd_outcome_classify(int status, bool refused)
{
    /* A refused address stays refused on every retry; retrying would only
     * repeat the refusal 13 times. */
    if (refused)
        return HOOKD_VERDICT_FINAL;
    if (status >= 200 && status <= 399)
        return HOOKD_VERDICT_SUCCESS;
    /* Only the statuses that say the request itself is wrong for this
     * endpoint fail for good. Everything else — 0 (no answer), 402, 408, 409,
     * 429, 5xx, a stray 1xx, nonsense past 599 — may pass on a later try. */
    switch (status) {
    case 400:
    case 401:
    case 403:
    case 404:
    case 405:
        return HOOKD_VERDICT_FINAL;
    default:
        return HOOKD_VERDICT_RETRY;
    }
}

hookd_verdict hookd_outcome_classify_answer(int status, bool refused, bool wants_object,
                                            bool is_object)
{
    hookd_verdict v = hookd_outcome_classify(status, refused);
    if (v == HOOKD_VERDICT_SUCCESS && wants_object && status >= 200 && status <= 299 && !is_object)
        return HOOKD_VERDICT_RETRY;
    return v;
}

int64_t hookd_retry_next_delay(const int64_t *schedule_ms, size_t schedule_len, int max_retries,
                               int attempts)
{
    if (!schedule_ms || schedule_len == 0)
        return -1;
    /* Every call follows at least one attempt; a smaller count is a caller's
     * slip and is read as the first attempt rather than indexing below 0. */
    if (attempts < 1)
        attempts = 1;
    if (attempts > max_retries)
        return -1;
    size_t i = (size_t)attempts - 1;
    if (i > schedule_len - 1)
        i = schedule_len - 1; /* the last delay repeats */
    return schedule_ms[i];
}

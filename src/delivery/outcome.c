/*
 * outcome.c — what an attempt's result means for its delivery (docs/api.md#delivery), and
 * how long to wait before the next attempt.
 */
#include "delivery/outcome.h"

#include <curl/curl.h>
#include <string.h>

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
    case 410: /* Gone: the endpoint says so itself (it also disconnects, engine.c) */
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

/* Past this many seconds a delta is as good as infinite: it only has to stay
 * above the cap without overflowing. */
#define RETRY_AFTER_SECONDS_MAX (HOOKD_RETRY_AFTER_MAX_MS / 1000 + 1)

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

int64_t hookd_retry_after_parse(const char *value, int64_t now_ms)
{
    if (!value)
        return -1;
    while (is_ows(*value))
        value++;
    size_t len = strlen(value);
    while (len > 0 && is_ows(value[len - 1]))
        len--;
    if (len == 0)
        return -1;
    size_t digits = strspn(value, "0123456789");
    if (digits == len) {
        int64_t secs = 0;
        for (size_t i = 0; i < len && secs < RETRY_AFTER_SECONDS_MAX; i++)
            secs = secs * 10 + (value[i] - '0');
        if (secs > RETRY_AFTER_SECONDS_MAX)
            secs = RETRY_AFTER_SECONDS_MAX;
        return secs * 1000;
    }
    /* Not a number: an HTTP-date. libcurl's parser reads all three forms
     * RFC 9110 names (it is somewhat more lenient than the grammar). It
     * wants a terminated string, so the trimmed value is copied; a value too
     * long for any date is no date. */
    char date[64];
    if (len >= sizeof date)
        return -1;
    memcpy(date, value, len);
    date[len] = '\0';
    time_t t = curl_getdate(date, NULL);
    if (t == (time_t)-1)
        return -1;
    int64_t at_ms = (int64_t)t * 1000;
    return at_ms > now_ms ? at_ms - now_ms : 0;
}

int64_t hookd_retry_after_delay(int64_t delay_ms, int64_t retry_after_ms)
{
    if (retry_after_ms > HOOKD_RETRY_AFTER_MAX_MS)
        retry_after_ms = HOOKD_RETRY_AFTER_MAX_MS;
    return retry_after_ms > delay_ms ? retry_after_ms : delay_ms;
}

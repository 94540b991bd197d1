/* Unit tests for src/delivery/outcome: status classification and the retry
 * schedule of docs/api.md#delivery. */
#include <stdint.h>

#include <stdlib.h>
#include <string.h>

#include "delivery/contact.h"
#include "delivery/outcome.h"
#include "unit.h"

#define MIN_MS (60LL * 1000)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)

static const int64_t DEFAULT_SCHEDULE[] = {5 * MIN_MS, 15 * MIN_MS, HOUR_MS, 5 * HOUR_MS, DAY_MS};
#define DEFAULT_LEN (sizeof DEFAULT_SCHEDULE / sizeof DEFAULT_SCHEDULE[0])

TEST(outcome_success)
{
    CHECK_INT(hookd_outcome_classify(200, false), HOOKD_VERDICT_SUCCESS);
    CHECK_INT(hookd_outcome_classify(204, false), HOOKD_VERDICT_SUCCESS);
    CHECK_INT(hookd_outcome_classify(301, false), HOOKD_VERDICT_SUCCESS);
    CHECK_INT(hookd_outcome_classify(399, false), HOOKD_VERDICT_SUCCESS);
}

TEST(outcome_final)
{
    CHECK_INT(hookd_outcome_classify(400, false), HOOKD_VERDICT_FINAL);
    CHECK_INT(hookd_outcome_classify(401, false), HOOKD_VERDICT_FINAL);
    CHECK_INT(hookd_outcome_classify(403, false), HOOKD_VERDICT_FINAL);
    CHECK_INT(hookd_outcome_classify(404, false), HOOKD_VERDICT_FINAL);
    CHECK_INT(hookd_outcome_classify(405, false), HOOKD_VERDICT_FINAL);
    /* docs/api.md#dead-endpoints: 410 Gone fails its delivery (and disconnects the webhook). */
    CHECK_INT(hookd_outcome_classify(410, false), HOOKD_VERDICT_FINAL);
    /* A refused address fails for good whatever status came with it. */
    CHECK_INT(hookd_outcome_classify(0, true), HOOKD_VERDICT_FINAL);
    CHECK_INT(hookd_outcome_classify(200, true), HOOKD_VERDICT_FINAL);
    CHECK_INT(hookd_outcome_classify(503, true), HOOKD_VERDICT_FINAL);
}

TEST(outcome_retry)
{
    static const int RETRY[] = {0,   100, 101, 199, 402, 406, 407, 408, 409, 413,
                                422, 429, 499, 500, 502, 503, 504, 599, 600, 999, -1};
    for (size_t i = 0; i < sizeof RETRY / sizeof RETRY[0]; i++)
        if (hookd_outcome_classify(RETRY[i], false) != HOOKD_VERDICT_RETRY)
            unit_fail(__FILE__, __LINE__, "status %d is not RETRY", RETRY[i]);
}

TEST(retry_default_schedule)
{
    CHECK_INT(hookd_retry_next_delay(DEFAULT_SCHEDULE, DEFAULT_LEN, 12, 1), 5 * MIN_MS);
    CHECK_INT(hookd_retry_next_delay(DEFAULT_SCHEDULE, DEFAULT_LEN, 12, 2), 15 * MIN_MS);
    CHECK_INT(hookd_retry_next_delay(DEFAULT_SCHEDULE, DEFAULT_LEN, 12, 3), HOUR_MS);
    CHECK_INT(hookd_retry_next_delay(DEFAULT_SCHEDULE, DEFAULT_LEN, 12, 4), 5 * HOUR_MS);
    for (int attempts = 5; attempts <= 12; attempts++)
        CHECK_INT(hookd_retry_next_delay(DEFAULT_SCHEDULE, DEFAULT_LEN, 12, attempts), DAY_MS);
    /* 12 retries after the first attempt: the 13th attempt is the last. */
    CHECK_INT(hookd_retry_next_delay(DEFAULT_SCHEDULE, DEFAULT_LEN, 12, 13), -1);
    CHECK_INT(hookd_retry_next_delay(DEFAULT_SCHEDULE, DEFAULT_LEN, 12, 14), -1);

    int scheduled = 0;
    for (int attempts = 1; hookd_retry_next_delay(DEFAULT_SCHEDULE, DEFAULT_LEN, 12, attempts) >= 0;
         attempts++)
        scheduled++;
    CHECK_INT(scheduled + 1, 13); /* the first attempt plus every retry */
}

TEST(retry_small_max)
{
    CHECK_INT(hookd_retry_next_delay(DEFAULT_SCHEDULE, DEFAULT_LEN, 3, 3), HOUR_MS);
    CHECK_INT(hookd_retry_next_delay(DEFAULT_SCHEDULE, DEFAULT_LEN, 3, 4), -1);
    CHECK_INT(hookd_retry_next_delay(DEFAULT_SCHEDULE, DEFAULT_LEN, 0, 1), -1);
    CHECK_INT(hookd_retry_next_delay(DEFAULT_SCHEDULE, DEFAULT_LEN, -1, 1), -1);
}

TEST(retry_edges)
{
    /* An empty schedule never retries. */
    CHECK_INT(hookd_retry_next_delay(DEFAULT_SCHEDULE, 0, 12, 1), -1);
    CHECK_INT(hookd_retry_next_delay(NULL, 0, 12, 1), -1);
    /* attempts below 1 count as the first attempt. */
    CHECK_INT(hookd_retry_next_delay(DEFAULT_SCHEDULE, DEFAULT_LEN, 12, 0), 5 * MIN_MS);
    CHECK_INT(hookd_retry_next_delay(DEFAULT_SCHEDULE, DEFAULT_LEN, 12, -5), 5 * MIN_MS);
    /* A one-entry schedule repeats that entry. */
    static const int64_t ONE[] = {30000};
    CHECK_INT(hookd_retry_next_delay(ONE, 1, 5, 1), 30000);
    CHECK_INT(hookd_retry_next_delay(ONE, 1, 5, 5), 30000);
    CHECK_INT(hookd_retry_next_delay(ONE, 1, 5, 6), -1);
}

/* Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's example date, in ms. */
#define RFC_DATE_MS (784111777LL * 1000)

TEST(retry_after_seconds)
{
    CHECK_INT(hookd_retry_after_parse("120", 0), 120 * 1000);
    CHECK_INT(hookd_retry_after_parse("0", 5), 0);
    CHECK_INT(hookd_retry_after_parse(" \t3 ", 0), 3000); /* spaces around it */
    CHECK_INT(hookd_retry_after_parse("007", 0), 7000);
    /* huge deltas saturate past the cap instead of overflowing */
    CHECK(hookd_retry_after_parse("999999", 0) > HOOKD_RETRY_AFTER_MAX_MS);
    CHECK(hookd_retry_after_parse("99999999999999999999999999999", 0) > HOOKD_RETRY_AFTER_MAX_MS);
    CHECK(hookd_retry_after_parse("99999999999999999999999999999", 0) < INT64_MAX / 2);
}

TEST(retry_after_dates)
{
    int64_t now = RFC_DATE_MS - 90 * 1000; /* 90 s before the date */
    CHECK_INT(hookd_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", now), 90 * 1000);
    /* the obsolete forms: RFC 850 and asctime */
    CHECK_INT(hookd_retry_after_parse("Sunday, 06-Nov-94 08:49:37 GMT", now), 90 * 1000);
    CHECK_INT(hookd_retry_after_parse("Sun Nov  6 08:49:37 1994", now), 90 * 1000);
    CHECK_INT(hookd_retry_after_parse(" Sun, 06 Nov 1994 08:49:37 GMT ", now), 90 * 1000);
    /* a date already past asks for no wait */
    CHECK_INT(hookd_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", RFC_DATE_MS + 1), 0);
    CHECK_INT(hookd_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", RFC_DATE_MS), 0);
}

TEST(retry_after_malformed)
{
    static const char *const bad[] = {
        NULL, "", "   ", "-5", "1.5", "3 s", "+3", "3x", "in a bit", "tomorrow", "12:00",
        "2026-11-29T10:00:00Z",
        "Sun, 06 Nov 1994 08:49:37 GMT and then a great deal more text to make it long",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (hookd_retry_after_parse(bad[i], 0) != -1)
            unit_fail(__FILE__, __LINE__, "Retry-After \"%s\" was read", bad[i] ? bad[i] : "(null)");
    }
}

TEST(retry_after_clamp)
{
    /* none, or shorter than the schedule: the schedule's delay */
    CHECK_INT(hookd_retry_after_delay(1000, 0), 1000);
    CHECK_INT(hookd_retry_after_delay(1000, -1), 1000);
    CHECK_INT(hookd_retry_after_delay(5 * MIN_MS, 1000), 5 * MIN_MS);
    /* longer: the Retry-After */
    CHECK_INT(hookd_retry_after_delay(1000, 3000), 3000);
    CHECK_INT(hookd_retry_after_delay(1000, DAY_MS), DAY_MS);
    /* never past 24 h ... */
    CHECK_INT(hookd_retry_after_delay(1000, DAY_MS + 1), HOOKD_RETRY_AFTER_MAX_MS);
    CHECK_INT(hookd_retry_after_delay(1000, hookd_retry_after_parse("999999", 0)), DAY_MS);
    CHECK_INT(HOOKD_RETRY_AFTER_MAX_MS, DAY_MS);
    /* ... yet a schedule delay past 24 h is not shortened by one */
    CHECK_INT(hookd_retry_after_delay(2 * DAY_MS, 3000), 2 * DAY_MS);
    CHECK_INT(hookd_retry_after_delay(2 * DAY_MS, 3 * DAY_MS), 2 * DAY_MS);
}

/* update_contact_from_response: a 2xx must be a JSON object, else it is
 * retried; a 3xx and every other status keep the verdict of docs/api.md#delivery. */
TEST(outcome_answer_wants_object)
{
    CHECK_INT(hookd_outcome_classify_answer(200, false, true, false), HOOKD_VERDICT_RETRY);
    CHECK_INT(hookd_outcome_classify_answer(204, false, true, false), HOOKD_VERDICT_RETRY);
    CHECK_INT(hookd_outcome_classify_answer(200, false, true, true), HOOKD_VERDICT_SUCCESS);
    CHECK_INT(hookd_outcome_classify_answer(200, false, false, false), HOOKD_VERDICT_SUCCESS);
    CHECK_INT(hookd_outcome_classify_answer(302, false, true, false), HOOKD_VERDICT_SUCCESS);
    CHECK_INT(hookd_outcome_classify_answer(404, false, true, false), HOOKD_VERDICT_FINAL);
    CHECK_INT(hookd_outcome_classify_answer(200, true, true, false), HOOKD_VERDICT_FINAL);
}

/* The answer's fields, validated as people/merge validates them. */
TEST(contact_answer_reads_fields)
{
    json_t *f = NULL;
    char *err = NULL;
    CHECK(hookd_contact_answer("{\"fields\":{\"str::first\":\"Ann\"}}", &f, &err));
    CHECK(err == NULL);
    CHECK_STR(json_string_value(json_object_get(f, "str::first")), "Ann");
    json_decref(f);
    CHECK(hookd_contact_answer("{\"ok\":true}", &f, &err));
    CHECK(f == NULL && err == NULL);
    CHECK(hookd_contact_answer("{\"fields\":{\"str::first\":5}}", &f, &err));
    CHECK(f == NULL && err && strstr(err, "fields.str::first"));
    free(err);
    CHECK(!hookd_contact_answer("[1]", &f, &err));
    CHECK(!hookd_contact_answer("OK", &f, &err));
    CHECK(!hookd_contact_answer("", &f, &err));
    CHECK(!hookd_contact_answer(NULL, &f, &err));
    CHECK(f == NULL && err == NULL);
}

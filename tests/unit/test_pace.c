/* Unit tests for src/delivery/pace.c: the per-webhook token bucket. */
#include "delivery/pace.h"
#include "unit.h"

#define S 1000000LL /* µs in a second */

/* How many attempts the bucket lets start over `seconds`, asking every
 * millisecond and starting whatever is allowed. */
static int starts_over(hookd_pace *p, int64_t t0, int seconds)
{
    int n = 0;
    for (int64_t t = t0; t < t0 + seconds * S; t += 1000) {
        while (hookd_pace_ready(p, t)) {
            hookd_pace_take(p, t);
            n++;
        }
    }
    return n;
}

TEST(pace_no_limit_is_always_ready)
{
    hookd_pace p = {0};
    hookd_pace_set(&p, 0, 5 * S);
    CHECK(hookd_pace_ready(&p, 5 * S));
    hookd_pace_take(&p, 5 * S);
    CHECK(hookd_pace_ready(&p, 5 * S));
}

TEST(pace_five_per_second_one_at_a_time)
{
    hookd_pace p = {0};
    hookd_pace_set(&p, 5, 10 * S);
    CHECK(hookd_pace_ready(&p, 10 * S));
    hookd_pace_take(&p, 10 * S);
    CHECK(!hookd_pace_ready(&p, 10 * S)); /* a burst of one */
    CHECK_INT(hookd_pace_ready_at(&p, 10 * S), 10 * S + 200000);
    CHECK(hookd_pace_ready(&p, 10 * S + 200000));
    hookd_pace_set(&p, 5, 20 * S);
    CHECK_INT(starts_over(&p, 20 * S, 3), 15);
}

TEST(pace_high_rates_burst_100ms_worth)
{
    hookd_pace p = {0};
    hookd_pace_set(&p, 1000, S);
    int n = 0;
    while (hookd_pace_ready(&p, S)) {
        hookd_pace_take(&p, S);
        n++;
    }
    CHECK_INT(n, 100);
    hookd_pace q = {0};
    hookd_pace_set(&q, 10000, S);
    int got = starts_over(&q, S, 2);
    CHECK(got >= 20000 && got <= 21000);
    hookd_pace r = {0};
    hookd_pace_set(&r, 0.1, S);
    CHECK_INT(starts_over(&r, S, 25), 3); /* at 0, 10 and 20 s */
}

TEST(pace_rate_change_follows_the_new_rate)
{
    hookd_pace p = {0};
    hookd_pace_set(&p, 0.1, S);
    hookd_pace_take(&p, S);
    CHECK_INT(hookd_pace_ready_at(&p, S), 11 * S);
    /* Raised: the next one waits one interval of the new rate, no more. */
    hookd_pace_set(&p, 50, S + 1000);
    CHECK_INT(hookd_pace_ready_at(&p, S + 1000), S + 1000 + 20000);
    /* The same rate again (another setting changed) changes nothing. */
    int64_t at = hookd_pace_ready_at(&p, S + 1000);
    hookd_pace_set(&p, 50, S + 2000);
    CHECK_INT(hookd_pace_ready_at(&p, S + 2000), at);
    /* Lifted, then set again: starts with a full bucket. */
    hookd_pace_set(&p, 0, S + 3000);
    CHECK(hookd_pace_ready(&p, S + 3000));
    hookd_pace_set(&p, 2, S + 4000);
    CHECK(hookd_pace_ready(&p, S + 4000));
}

TEST(pace_clock_set_back_waits_at_most_one_interval)
{
    hookd_pace p = {0};
    hookd_pace_set(&p, 5, 1000 * S);
    hookd_pace_take(&p, 1000 * S);
    /* The wall clock jumps an hour back. */
    int64_t now = 1000 * S - 3600 * S;
    CHECK(hookd_pace_ready(&p, now));
    hookd_pace_take(&p, now);
    CHECK_INT(hookd_pace_ready_at(&p, now), now + 200000);
}

/*
 * test_delivery_state.c — every transition of the delivery state machine,
 * the meaning of each state, the API names, and the counter effects.
 */
#include "model/delivery_state.h"
#include "unit.h"

#define P HOOKD_DS_PENDING
#define R HOOKD_DS_RETRYING
#define S HOOKD_DS_SUCCEEDED
#define F HOOKD_DS_FAILED
#define H HOOKD_DS_HELD
#define C HOOKD_DS_CANCELLED
#define L HOOKD_DS_LAST_TRY
#define X HOOKD_DS_REFUSED

/* The whole table, written out once more by hand from docs/api.md#logs and #delivery, so a
 * change to the machine has to be made twice on purpose. attempted = true. */
static const int EXPECTED[HOOKD_DS_COUNT][HOOKD_EV_COUNT] = {
    /*            ok  fail retry disc conn del  now */
    /* pending */ {S, F, R, H, P, C, P},
    /* retrying */ {S, F, R, H, R, C, R},
    /* succeeded */ {S, S, S, S, S, S, X},
    /* failed */ {F, F, F, F, F, F, L},
    /* held */ {S, F, H, H, R, C, X},
    /* cancelled */ {C, C, C, C, C, C, X},
    /* last_try */ {S, F, F, H, L, C, L},
};

TEST(ds_every_transition)
{
    for (int s = 0; s < HOOKD_DS_COUNT; s++) {
        for (int ev = 0; ev < HOOKD_EV_COUNT; ev++) {
            int got = hookd_ds_next((hookd_delivery_state)s, (hookd_ds_event)ev, true);
            if (got != EXPECTED[s][ev])
                unit_fail(__FILE__, __LINE__, "from %d on event %d: got %d, expected %d", s, ev,
                          got, EXPECTED[s][ev]);
        }
    }
}

TEST(ds_connect_resumes_by_attempts)
{
    CHECK_INT(hookd_ds_next(H, HOOKD_EV_CONNECT, false), P);
    CHECK_INT(hookd_ds_next(H, HOOKD_EV_CONNECT, true), R);
    /* attempted matters nowhere else */
    for (int s = 0; s < HOOKD_DS_COUNT; s++) {
        for (int ev = 0; ev < HOOKD_EV_COUNT; ev++) {
            if (s == H && ev == HOOKD_EV_CONNECT)
                continue;
            CHECK_INT(hookd_ds_next((hookd_delivery_state)s, (hookd_ds_event)ev, false),
                      hookd_ds_next((hookd_delivery_state)s, (hookd_ds_event)ev, true));
        }
    }
}

TEST(ds_refuses_what_is_not_a_state_or_event)
{
    CHECK_INT(hookd_ds_next((hookd_delivery_state)HOOKD_DS_COUNT, HOOKD_EV_RETRY, true), X);
    CHECK_INT(hookd_ds_next((hookd_delivery_state)-1, HOOKD_EV_RETRY, true), X);
    CHECK_INT(hookd_ds_next(P, (hookd_ds_event)HOOKD_EV_COUNT, true), X);
    CHECK_STR(hookd_ds_name(HOOKD_DS_COUNT), "unknown");
    CHECK_INT(hookd_ds_flags(-1), 0);
}

TEST(ds_meanings)
{
    /* waiting: an attempt comes when due */
    CHECK(hookd_ds_waiting(P) && hookd_ds_waiting(R) && hookd_ds_waiting(L));
    CHECK(!hookd_ds_waiting(S) && !hookd_ds_waiting(F) && !hookd_ds_waiting(H) &&
          !hookd_ds_waiting(C));
    /* open: the stats' "pending" (pending, retrying or held) */
    CHECK(hookd_ds_open(P) && hookd_ds_open(R) && hookd_ds_open(L) && hookd_ds_open(H));
    CHECK(!hookd_ds_open(S) && !hookd_ds_open(F) && !hookd_ds_open(C));
    /* finished: pruned after the retention */
    for (int s = 0; s < HOOKD_DS_COUNT; s++)
        CHECK(hookd_ds_finished(s) == !hookd_ds_open(s));
    /* every state that can be attempted can be held and cancelled */
    for (int s = 0; s < HOOKD_DS_COUNT; s++) {
        if (!hookd_ds_waiting(s))
            continue;
        CHECK_INT(hookd_ds_next((hookd_delivery_state)s, HOOKD_EV_DISCONNECT, true), H);
        CHECK_INT(hookd_ds_next((hookd_delivery_state)s, HOOKD_EV_DELETE, true), C);
    }
}

TEST(ds_api_names)
{
    CHECK_STR(hookd_ds_name(P), "pending");
    CHECK_STR(hookd_ds_name(R), "retrying");
    CHECK_STR(hookd_ds_name(S), "succeeded");
    CHECK_STR(hookd_ds_name(F), "failed");
    CHECK_STR(hookd_ds_name(H), "held");
    CHECK_STR(hookd_ds_name(C), "cancelled");
    CHECK_STR(hookd_ds_name(L), "retrying");
    hookd_delivery_state out[HOOKD_DS_COUNT];
    CHECK_INT(hookd_ds_parse("retrying", out), 2);
    CHECK_INT(out[0], R);
    CHECK_INT(out[1], L);
    CHECK_INT(hookd_ds_parse("failed", out), 1);
    CHECK_INT(out[0], F);
    CHECK_INT(hookd_ds_parse("last_try", out), 0);
    CHECK_INT(hookd_ds_parse("Pending", out), 0);
    CHECK_INT(hookd_ds_parse(NULL, out), 0);
}

TEST(ds_effects_count_each_finish_once)
{
    hookd_ds_effect e = hookd_ds_effect_of(P, HOOKD_EV_SUCCEEDED, S);
    CHECK(e.open == -1 && e.succeeded == 1 && e.failed == 0 && e.retried == 0);
    e = hookd_ds_effect_of(R, HOOKD_EV_FAILED, F);
    CHECK(e.open == -1 && e.succeeded == 0 && e.failed == 1 && e.retried == 0);
    e = hookd_ds_effect_of(P, HOOKD_EV_RETRY, R);
    CHECK(e.open == 0 && e.retried == 1 && e.succeeded == 0 && e.failed == 0);
    /* a retry asked for while held is not scheduled, so not counted */
    e = hookd_ds_effect_of(H, HOOKD_EV_RETRY, H);
    CHECK(e.open == 0 && e.retried == 0);
    /* an outcome landing on a cancelled delivery counts nowhere */
    e = hookd_ds_effect_of(C, HOOKD_EV_SUCCEEDED, C);
    CHECK(e.open == 0 && e.succeeded == 0 && e.failed == 0 && e.retried == 0);
    /* delete: an open delivery stops counting as pending */
    e = hookd_ds_effect_of(H, HOOKD_EV_DELETE, C);
    CHECK(e.open == -1 && e.succeeded == 0 && e.failed == 0);
    /* a failed delivery retried by hand is open again until its last try */
    e = hookd_ds_effect_of(F, HOOKD_EV_RETRY_NOW, L);
    CHECK(e.open == 1 && e.failed == 0);
    e = hookd_ds_effect_of(L, HOOKD_EV_RETRY, F);
    CHECK(e.open == -1 && e.failed == 1 && e.retried == 0);
    /* held/connect move nothing in the counters */
    e = hookd_ds_effect_of(R, HOOKD_EV_DISCONNECT, H);
    CHECK(e.open == 0 && e.retried == 0);
    e = hookd_ds_effect_of(H, HOOKD_EV_CONNECT, R);
    CHECK(e.open == 0);
}

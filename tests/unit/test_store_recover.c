/*
 * test_store_recover.c — conformance of hookd_store_recover: the failed
 * deliveries of one webhook that finished in [since, until) move by the
 * retry-now event, due now, counted open, and the engine is told; other
 * states, other webhooks, test sends and other times stay as they were.
 * Backend-neutral: see test_store.h.
 */
#include <string.h>

#include "test_store.h"
#include "util/timeutil.h"

static int state_of(store_fx *fx, int64_t key, const char *id, int64_t *next_at)
{
    hookd_delivery *d = fx_get(fx, key, id, NULL, NULL);
    int s = d ? (int)d->state : -1;
    if (next_at)
        *next_at = d ? d->next_attempt_at : -1;
    hookd_delivery_free(d);
    return s;
}

static void fail_at(store_fx *fx, const made_ref *d, int64_t t)
{
    hookd_outcome o = outcome_of(d, HOOKD_DS_PENDING, 0, HOOKD_EV_FAILED, t);
    CHECK_INT(fx_record(fx, &o), HOOKD_DS_FAILED);
}

STORE_TEST(recover_moves_the_failed_of_a_window)
{
    hookd_webhook *wh = fx_webhook(fx, WH_JSON("a", ACTS_ALL));
    hookd_webhook *other = fx_webhook(fx, WH_JSON("b", ACTS_O));
    made_ref s[5], o[2];
    if (!wh || !other || fx_deliver(fx, 5, "act::s", T0, s, 5) != 5 ||
        fx_deliver(fx, 1, "act::o", T0, o, 2) != 2)
        return;
    /* Attempts last 20 ms: s[0] finishes at T0+1020, before the window. */
    fail_at(fx, &s[0], T0 + 1000);
    fail_at(fx, &s[1], T0 + 3000);
    fail_at(fx, &s[2], T0 + 5000);
    fail_at(fx, &s[3], T0 + 8980); /* finishes at until: outside */
    hookd_outcome ok = outcome_of(&s[4], HOOKD_DS_PENDING, 0, HOOKD_EV_SUCCEEDED, T0 + 4000);
    CHECK_INT(fx_record(fx, &ok), HOOKD_DS_SUCCEEDED);
    fail_at(fx, &o[0], T0 + 4000);
    fail_at(fx, &o[1], T0 + 4000);
    const made_ref *mine = o[0].webhook == wh->key ? &o[0] : &o[1];
    const made_ref *theirs = o[0].webhook == wh->key ? &o[1] : &o[0];
    /* A failed test send in the window is not recovered. */
    char tid[HOOKD_ID_MAX];
    CHECK(hookd_id_new(tid) == 0);
    hookd_test_record t = {.id = tid,
                           .webhook = wh,
                           .created_ms = T0 + 4000,
                           .method = HOOKD_METHOD_POST,
                           .body = "{\"test\":true}",
                           .state = HOOKD_DS_FAILED,
                           .attempt = {.time_ms = T0 + 4000,
                                       .duration_ms = 20,
                                       .error = "connection refused",
                                       .version = 1,
                                       .signature = "v1,dGVzdA=="}};
    CHECK_INT(hookd_store_record_test(fx->st, &t), 0);

    const int64_t NOW = T0 + 60000;
    hookd_webhook_stats s0 = fx_stats(fx, wh->key, NOW);
    hookd_webhook_stats o0 = fx_stats(fx, other->key, NOW);
    size_t dues = rec_count(&fx->rec, REC_DUE);
    int64_t n = -1;
    CHECK_INT(hookd_store_recover(fx->st, wh->id, T0 + 2000, T0 + 9000, NOW, &n), 0);
    CHECK_INT(n, 3);
    CHECK_INT(rec_count(&fx->rec, REC_DUE), dues + 1);

    int want = hookd_ds_next(HOOKD_DS_FAILED, HOOKD_EV_RETRY_NOW, true);
    const made_ref *moved[3] = {&s[1], &s[2], mine};
    for (int i = 0; i < 3; i++) {
        int64_t next_at = -1;
        CHECK_INT(state_of(fx, wh->key, moved[i]->id, &next_at), want);
        CHECK_INT(next_at, NOW);
    }
    CHECK_INT(state_of(fx, wh->key, s[0].id, NULL), HOOKD_DS_FAILED);
    CHECK_INT(state_of(fx, wh->key, s[3].id, NULL), HOOKD_DS_FAILED);
    CHECK_INT(state_of(fx, wh->key, s[4].id, NULL), HOOKD_DS_SUCCEEDED);
    CHECK_INT(state_of(fx, wh->key, tid, NULL), HOOKD_DS_FAILED);
    CHECK_INT(state_of(fx, other->key, theirs->id, NULL), HOOKD_DS_FAILED);

    hookd_ds_effect e = hookd_ds_effect_of(HOOKD_DS_FAILED, HOOKD_EV_RETRY_NOW, want);
    hookd_webhook_stats s1 = fx_stats(fx, wh->key, NOW);
    CHECK_INT(s1.pending - s0.pending, 3 * e.open);
    CHECK_INT(s1.failed_24h, s0.failed_24h);
    CHECK_INT(fx_stats(fx, other->key, NOW).pending, o0.pending);

    /* Due now, not a millisecond before. */
    hookd_job *jobs = NULL;
    size_t nj = fx_due_all(fx, wh->key, NOW, &jobs);
    CHECK_INT(nj, 3);
    fx_jobs_free(jobs, nj);
    nj = fx_due_all(fx, wh->key, NOW - 1, &jobs);
    CHECK_INT(nj, 0);
    fx_jobs_free(jobs, nj);

    /* One more attempt each: a retryable failure fails it again. */
    hookd_outcome again = outcome_of(&s[1], (hookd_delivery_state)want, 1, HOOKD_EV_RETRY, NOW);
    CHECK_INT(fx_record(fx, &again), hookd_ds_next((hookd_delivery_state)want, HOOKD_EV_RETRY, true));
    CHECK_INT(state_of(fx, wh->key, s[1].id, NULL), HOOKD_DS_FAILED);
}

STORE_TEST(recover_without_end_or_match)
{
    hookd_webhook *wh = fx_webhook(fx, WH_JSON("a", ACTS_ALL));
    made_ref s[2];
    if (!wh || fx_deliver(fx, 2, "act::s", T0, s, 2) != 2)
        return;
    fail_at(fx, &s[0], T0 + 1000);
    fail_at(fx, &s[1], FAR - HOUR_MS);
    size_t dues = rec_count(&fx->rec, REC_DUE);
    int64_t n = -1;
    /* Nothing in the window: nothing moves and the engine is not woken. */
    CHECK_INT(hookd_store_recover(fx->st, wh->id, T0 + 2000, T0 + 3000, T0 + 5000, &n), 0);
    CHECK_INT(n, 0);
    CHECK_INT(rec_count(&fx->rec, REC_DUE), dues);
    /* No end: everything since. */
    CHECK_INT(hookd_store_recover(fx->st, wh->id, T0, INT64_MAX, T0 + 5000, &n), 0);
    CHECK_INT(n, 2);
    CHECK_INT(rec_count(&fx->rec, REC_DUE), dues + 1);
    /* An unknown webhook. */
    n = -1;
    CHECK_INT(hookd_store_recover(fx->st, "0190f3a2-0000-7000-8000-000000000000", T0, INT64_MAX,
                                  T0 + 5000, &n),
              HOOKD_ENOTFOUND);
    CHECK_INT(n, 0);
    CHECK_INT(rec_count(&fx->rec, REC_DUE), dues + 1);
}

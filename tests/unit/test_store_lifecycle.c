/*
 * test_store_lifecycle.c — conformance of what moves deliveries besides
 * attempts: connect, disconnect and delete through webhook_change and
 * webhook_delete, retry now, test sends (record_test, and a create's with
 * its webhook: webhook_insert_tested), and pruning.
 * Backend-neutral: see test_store.h.
 */
#include <stdlib.h>

#include "test_store.h"
#include "util/timeutil.h"

#define WH_A WH_JSON("a", ACTS_ALL)
#define WH_B WH_JSON("b", ACTS_O)

/* The delivery's state and next attempt, or -1 when it cannot be read. */
static int state_of(store_fx *fx, int64_t key, const char *id, int64_t *next_at)
{
    hookd_delivery *d = fx_get(fx, key, id, NULL, NULL);
    int s = d ? (int)d->state : -1;
    if (next_at)
        *next_at = d ? d->next_attempt_at : -1;
    hookd_delivery_free(d);
    return s;
}

static void record(store_fx *fx, const made_ref *d, hookd_delivery_state from, int attempts,
                   hookd_ds_event ev, int64_t t, int want)
{
    hookd_outcome o = outcome_of(d, from, attempts, ev, t);
    CHECK_INT(fx_record(fx, &o), want);
}

/* d[0] pending, d[1] retrying, d[2] last_try, d[3] succeeded, d[4] failed. */
static bool five_states(store_fx *fx, const hookd_webhook *wh, made_ref d[5])
{
    if (fx_deliver(fx, 5, "act::s", T0, d, 5) != 5)
        return false;
    record(fx, &d[1], HOOKD_DS_PENDING, 0, HOOKD_EV_RETRY, T0 + 1000, HOOKD_DS_RETRYING);
    record(fx, &d[2], HOOKD_DS_PENDING, 0, HOOKD_EV_FAILED, T0 + 1000, HOOKD_DS_FAILED);
    CHECK_INT(hookd_store_delivery_retry(fx->st, wh->id, d[2].id, T0 + 2000), 0);
    record(fx, &d[3], HOOKD_DS_PENDING, 0, HOOKD_EV_SUCCEEDED, T0 + 1000, HOOKD_DS_SUCCEEDED);
    record(fx, &d[4], HOOKD_DS_PENDING, 0, HOOKD_EV_FAILED, T0 + 1000, HOOKD_DS_FAILED);
    return true;
}

static const hookd_delivery_state FIVE[5] = {HOOKD_DS_PENDING, HOOKD_DS_RETRYING, HOOKD_DS_LAST_TRY,
                                             HOOKD_DS_SUCCEEDED, HOOKD_DS_FAILED};

/* Checks each of the five moved from FIVE[i] as the machine says on ev. */
static void check_moved(store_fx *fx, int64_t key, const made_ref d[5], hookd_ds_event ev)
{
    for (int i = 0; i < 5; i++) {
        int want = hookd_ds_next(FIVE[i], ev, i > 0);
        int64_t next_at = -1;
        int got = state_of(fx, key, d[i].id, &next_at);
        if (got != want)
            unit_fail(__FILE__, __LINE__, "%s on event %d: %d, expected %d", hookd_ds_name(FIVE[i]),
                      ev, got, want);
        if (!hookd_ds_waiting(want))
            CHECK_INT(next_at, 0);
    }
}

/* Disconnect holds what waits, connect resumes it due now (pending or
 * retrying by whether it was attempted) and says so, delete cancels it. */
STORE_TEST(connect_disconnect_delete_move_deliveries)
{
    hookd_webhook *wh = fx_webhook(fx, WH_A), *other = fx_webhook(fx, WH_B);
    made_ref d[5], o[2];
    /* act::s reaches wh alone; act::o both (other's delivery must not move) */
    if (!wh || !other || !five_states(fx, wh, d) || fx_deliver(fx, 1, "act::o", T0, o, 2) != 2)
        return;
    const made_ref *theirs = o[0].webhook == other->key ? &o[0] : &o[1];
    CHECK_INT(fx_stats(fx, wh->key, T0 + 5000).pending, 4);
    size_t dues = rec_count(&fx->rec, REC_DUE);

    CHECK_INT(fx_connect(fx, wh, false), 0);
    check_moved(fx, wh->key, d, HOOKD_EV_DISCONNECT);
    CHECK_INT(fx_stats(fx, wh->key, T0 + 5000).pending, 4); /* held is open */
    fx_check_none_due(fx, wh->key);
    CHECK_INT(rec_count(&fx->rec, REC_DUE), dues);
    /* a change that leaves connected as it is moves nothing */
    CHECK_INT(hookd_store_webhook_change(fx->st, wh->id, change_apply, "{\"name\":\"held\"}", NULL),
              0);
    CHECK_INT(fx_connect(fx, wh, false), 0);
    for (int i = 0; i < 3; i++)
        CHECK_INT(state_of(fx, wh->key, d[i].id, NULL), HOOKD_DS_HELD);
    CHECK_INT(rec_count(&fx->rec, REC_DUE), dues);

    CHECK_INT(fx_connect(fx, wh, true), 0);
    int64_t now = hookd_now_ms();
    for (int i = 0; i < 3; i++) {
        int64_t next_at = -1;
        int want = hookd_ds_next(HOOKD_DS_HELD, HOOKD_EV_CONNECT, i > 0);
        CHECK_INT(state_of(fx, wh->key, d[i].id, &next_at), want);
        CHECK(next_at > 0 && next_at <= now); /* due now */
    }
    CHECK_INT(state_of(fx, wh->key, d[3].id, NULL), HOOKD_DS_SUCCEEDED);
    CHECK_INT(state_of(fx, wh->key, d[4].id, NULL), HOOKD_DS_FAILED);
    CHECK_INT(fx_stats(fx, wh->key, T0 + 5000).pending, 4);
    hookd_job *jobs = NULL;
    size_t n = fx_due_all(fx, wh->key, now, &jobs);
    CHECK_INT(n, 4);
    fx_jobs_free(jobs, n);
    CHECK_INT(rec_count(&fx->rec, REC_DUE), dues + 1);
    if (fx->rec.n)
        CHECK_INT(fx->rec.ev[fx->rec.n - 1].key, wh->key);

    CHECK_INT(hookd_store_webhook_delete(fx->st, wh->id), 0);
    for (int i = 0; i < 3; i++)
        CHECK_INT(state_of(fx, wh->key, d[i].id, NULL), HOOKD_DS_CANCELLED);
    CHECK_INT(state_of(fx, wh->key, d[3].id, NULL), HOOKD_DS_SUCCEEDED);
    CHECK_INT(state_of(fx, wh->key, d[4].id, NULL), HOOKD_DS_FAILED);
    fx_check_zero_counts(fx, wh->key, T0 + 1000);
    fx_check_none_due(fx, wh->key);
    /* The other webhook saw none of it. */
    CHECK_INT(state_of(fx, other->key, theirs->id, NULL), HOOKD_DS_PENDING);
    CHECK_INT(fx_stats(fx, other->key, T0 + 5000).pending, 1);
}

/* Delete cancels held deliveries too. */
STORE_TEST(delete_cancels_held_deliveries)
{
    hookd_webhook *wh = fx_webhook(fx, WH_A);
    made_ref d[2];
    if (!wh || fx_deliver(fx, 2, "act::s", T0, d, 2) != 2)
        return;
    CHECK_INT(fx_connect(fx, wh, false), 0);
    CHECK_INT(hookd_store_webhook_delete(fx->st, wh->id), 0);
    for (int i = 0; i < 2; i++)
        CHECK_INT(state_of(fx, wh->key, d[i].id, NULL), HOOKD_DS_CANCELLED);
    CHECK_INT(fx_stats(fx, wh->key, T0).pending, 0);
}

/* ---- retry now ---------------------------------------------------------------------- */

STORE_TEST(retry_now_moves_by_the_machine)
{
    hookd_webhook *wh = fx_webhook(fx, WH_A);
    made_ref d[5];
    if (!wh || !five_states(fx, wh, d))
        return;
    const int64_t NOW = T0 + 10000;
    /* last_try (d[2]) was made by retrying a failed one in five_states; now
     * the failed d[4], the pending d[0] and the retrying d[1]. */
    for (int i = 0; i < 5; i++) {
        if (i == 3)
            continue; /* succeeded: refused below */
        size_t dues = rec_count(&fx->rec, REC_DUE);
        hookd_webhook_stats s0 = fx_stats(fx, wh->key, NOW);
        int want = hookd_ds_next(FIVE[i], HOOKD_EV_RETRY_NOW, i > 0);
        CHECK_INT(hookd_store_delivery_retry(fx->st, wh->id, d[i].id, NOW + i), 0);
        int64_t next_at = -1;
        CHECK_INT(state_of(fx, wh->key, d[i].id, &next_at), want);
        CHECK_INT(next_at, NOW + i);
        hookd_webhook_stats s1 = fx_stats(fx, wh->key, NOW);
        hookd_ds_effect e = hookd_ds_effect_of(FIVE[i], HOOKD_EV_RETRY_NOW, want);
        CHECK_INT(s1.pending - s0.pending, e.open);
        CHECK_INT(s1.failed_24h, s0.failed_24h);
        CHECK_INT(rec_count(&fx->rec, REC_DUE), dues + 1);
    }
    CHECK_STR(hookd_ds_name(HOOKD_DS_LAST_TRY), "retrying");
    /* due now, not a millisecond before */
    hookd_job *jobs = NULL;
    size_t n = fx_due_all(fx, wh->key, NOW + 4, &jobs);
    CHECK_INT(n, 4);
    fx_jobs_free(jobs, n);
    n = fx_due_all(fx, wh->key, NOW - 1, &jobs);
    CHECK_INT(n, 0);
    fx_jobs_free(jobs, n);

    /* The last try's retryable failure fails it; a success succeeds it. */
    record(fx, &d[4], HOOKD_DS_LAST_TRY, 1, HOOKD_EV_RETRY, NOW + 100,
           hookd_ds_next(HOOKD_DS_LAST_TRY, HOOKD_EV_RETRY, true));
    CHECK_INT(state_of(fx, wh->key, d[4].id, NULL), HOOKD_DS_FAILED);
    record(fx, &d[2], HOOKD_DS_LAST_TRY, 1, HOOKD_EV_SUCCEEDED, NOW + 100, HOOKD_DS_SUCCEEDED);
    CHECK_INT(fx_stats(fx, wh->key, NOW + 200).pending, 2);
}

STORE_TEST(retry_now_refused_or_not_found)
{
    hookd_webhook *wh = fx_webhook(fx, WH_A), *gone = fx_webhook(fx, WH_B),
                  *held = fx_webhook(fx, WH_B);
    made_ref d[5], all[3], g = {0}, h = {0};
    /* act::o reaches all three: wh wants everything */
    if (!wh || !gone || !held || !five_states(fx, wh, d) ||
        fx_deliver(fx, 1, "act::o", T0, all, 3) != 3)
        return;
    for (int i = 0; i < 3; i++) {
        if (all[i].webhook == gone->key)
            g = all[i];
        if (all[i].webhook == held->key)
            h = all[i];
    }
    CHECK_INT(fx_connect(fx, held, false), 0);
    CHECK_INT(hookd_store_webhook_delete(fx->st, gone->id), 0);
    size_t dues = rec_count(&fx->rec, REC_DUE);
    CHECK_INT(hookd_store_delivery_retry(fx->st, wh->id, d[3].id, T0), HOOKD_ECONFLICT);
    CHECK_INT(state_of(fx, wh->key, d[3].id, NULL), HOOKD_DS_SUCCEEDED);
    CHECK_INT(hookd_store_delivery_retry(fx->st, held->id, h.id, T0), HOOKD_ECONFLICT);
    CHECK_INT(state_of(fx, held->key, h.id, NULL), HOOKD_DS_HELD);
    /* A cancelled delivery's webhook is gone (delete is the only way to
     * cancel): not found, before the state is looked at. */
    CHECK_INT(hookd_store_delivery_retry(fx->st, gone->id, g.id, T0), HOOKD_ENOTFOUND);
    CHECK_INT(
        hookd_store_delivery_retry(fx->st, wh->id, "0190f3a2-0000-7000-8000-000000000000", T0),
        HOOKD_ENOTFOUND);
    CHECK_INT(
        hookd_store_delivery_retry(fx->st, "0190f3a2-0000-7000-8000-000000000000", d[4].id, T0),
        HOOKD_ENOTFOUND);
    /* a delivery named under another webhook */
    CHECK_INT(hookd_store_delivery_retry(fx->st, held->id, d[4].id, T0), HOOKD_ENOTFOUND);
    CHECK_INT(state_of(fx, wh->key, d[4].id, NULL), HOOKD_DS_FAILED);
    CHECK_INT(rec_count(&fx->rec, REC_DUE), dues);
    CHECK_INT(fx_stats(fx, wh->key, T0 + 5000).pending, 4);
}

/* ---- test sends ------------------------------------------------------------------------ */

STORE_TEST(test_send_logged_and_counted_nowhere)
{
    hookd_webhook *wh =
        fx_webhook(fx, "{\"name\":\"t\",\"url\":\"https://t.example.com/\",\"method\":\"GET\","
                       "\"headers\":[{\"key\":\"X-K\",\"value\":\"v\"}]}");
    if (!wh)
        return;
    char id_ok[HOOKD_ID_MAX], id_bad[HOOKD_ID_MAX];
    CHECK(hookd_id_new(id_ok) == 0 && hookd_id_new(id_bad) == 0);
    hookd_test_record t = {.id = id_ok,
                           .webhook = wh,
                           .created_ms = T0 + 100,
                           .method = HOOKD_METHOD_GET,
                           .query = "contact_id=x&test=1",
                           .body = "",
                           .state = HOOKD_DS_SUCCEEDED,
                           .attempt = {.time_ms = T0 + 100,
                                       .duration_ms = 30,
                                       .status_code = 204,
                                       .response_body = "",
                                       .version = 1,
                                       .signature = "v1,dGVzdA=="}};
    CHECK_INT(hookd_store_record_test(fx->st, &t), 0);
    t.id = id_bad;
    t.state = HOOKD_DS_FAILED;
    t.attempt.status_code = 0;
    t.attempt.error = "connection refused";
    t.attempt.response_body = NULL;
    CHECK_INT(hookd_store_record_test(fx->st, &t), 0);

    hookd_attempt *att = NULL;
    size_t n = 0;
    hookd_delivery *d = fx_get(fx, wh->key, id_ok, &att, &n);
    if (d) {
        CHECK_INT(d->kind, HOOKD_KIND_TEST);
        CHECK_INT(d->state, HOOKD_DS_SUCCEEDED);
        CHECK_INT(d->attempts, 1);
        CHECK_INT(d->method, HOOKD_METHOD_GET);
        CHECK_STR(d->query, "contact_id=x&test=1");
        CHECK_STR(d->body, "");
        CHECK_INT(d->created_at, T0 + 100);
        CHECK_INT(d->next_attempt_at, 0);
        CHECK_INT(d->last_at, T0 + 100);
        CHECK_INT(d->status_code, 204);
        CHECK_INT(d->duration_ms, 30);
        CHECK_STR(d->signature, "v1,dGVzdA==");
        CHECK_STR(d->sent_url, "https://t.example.com/");
        char *shown = hookd_webhook_tail_shown(wh);
        CHECK_STR(d->headers, shown);
        free(shown);
        CHECK_INT(n, 1);
        if (n == 1)
            CHECK(att[0].time_ms == T0 + 100 && att[0].status_code == 204);
    }
    hookd_attempts_free(att, n);
    hookd_delivery_free(d);
    d = fx_get(fx, wh->key, id_bad, NULL, NULL);
    if (d) {
        CHECK_INT(d->state, HOOKD_DS_FAILED);
        CHECK_STR(d->error, "connection refused");
        CHECK_INT(d->status_code, 0);
    }
    hookd_delivery_free(d);

    fx_check_zero_counts(fx, wh->key, T0 + 130);
    fx_check_none_due(fx, wh->key);
    CHECK_INT(rec_count(&fx->rec, REC_FRESH), 0);
    CHECK_INT(rec_count(&fx->rec, REC_DUE), 0);
    /* in the log, newest first */
    hookd_delivery **list = NULL;
    int64_t next = -1;
    CHECK_INT(hookd_store_delivery_list(fx->st, wh->key, NULL, 0, 10, 0, &list, &n, &next), 0);
    CHECK_INT(n, 2);
    if (n == 2)
        CHECK(strcmp(list[0]->id, id_bad) == 0 && strcmp(list[1]->id, id_ok) == 0);
    for (size_t i = 0; i < n; i++)
        hookd_delivery_free(list[i]);
    free(list);
}

/* A create's test row, written with its webhook (hookd_store_webhook_insert_tested). */
static hookd_test_record create_test_of(const hookd_webhook *wh, const char *id)
{
    return (hookd_test_record){.id = id,
                               .webhook = wh,
                               .created_ms = T0 + 50,
                               .method = HOOKD_METHOD_POST,
                               .body = "{\"test\":true}",
                               .state = HOOKD_DS_SUCCEEDED,
                               .attempt = {.time_ms = T0 + 50,
                                           .duration_ms = 12,
                                           .status_code = 200,
                                           .response_body = "ok",
                                           .signature = "v1,dGVzdA=="}};
}

STORE_TEST(webhook_insert_tested_stores_both_in_one_commit)
{
    hookd_webhook *wh = wh_make(WH_A);
    if (!wh)
        return;
    char tid[HOOKD_ID_MAX];
    CHECK(hookd_id_new(tid) == 0);
    hookd_test_record t = create_test_of(wh, tid);
    size_t mark = rec_count(&fx->rec, REC_WEBHOOK);
    CHECK_INT(hookd_store_webhook_insert_tested(fx->st, wh, &t), 0);
    CHECK(wh->key > 0);
    CHECK_INT(wh->version, 1);
    CHECK_INT(rec_count(&fx->rec, REC_WEBHOOK), mark + 1);
    hookd_webhook *got = NULL;
    CHECK_INT(hookd_store_webhook_get(fx->st, wh->id, &got), 0);
    if (got)
        CHECK(got->key == wh->key && got->version == 1);
    hookd_webhook_free(got);
    hookd_delivery *d = fx_get(fx, wh->key, tid, NULL, NULL);
    if (d) {
        CHECK_INT(d->kind, HOOKD_KIND_TEST);
        CHECK_INT(d->state, HOOKD_DS_SUCCEEDED);
        CHECK_INT(d->status_code, 200);
        CHECK_STR(d->sent_url, "https://a.example.com/");
    }
    hookd_delivery_free(d);
    fx_check_zero_counts(fx, wh->key, T0 + 100);
    CHECK_INT(rec_count(&fx->rec, REC_FRESH), 0);
    hookd_webhook_free(wh);
}

STORE_TEST(webhook_insert_tested_stores_neither_when_the_test_row_fails)
{
    /* The test row cannot be written (its id is taken): the webhook must not
     * be kept either, nor told to the listener. */
    hookd_webhook *first = fx_webhook(fx, WH_B);
    hookd_webhook *wh = wh_make(WH_A);
    if (!first || !wh) {
        hookd_webhook_free(wh);
        return;
    }
    char tid[HOOKD_ID_MAX];
    CHECK(hookd_id_new(tid) == 0);
    hookd_test_record taken = create_test_of(first, tid);
    CHECK_INT(hookd_store_record_test(fx->st, &taken), 0);
    size_t mark = rec_count(&fx->rec, REC_WEBHOOK);
    hookd_test_record t = create_test_of(wh, tid);
    int rc = hookd_store_webhook_insert_tested(fx->st, wh, &t);
    CHECK(rc != 0);
    CHECK_INT(rec_count(&fx->rec, REC_WEBHOOK), mark);
    hookd_webhook *got = NULL;
    CHECK_INT(hookd_store_webhook_get(fx->st, wh->id, &got), HOOKD_ENOTFOUND);
    hookd_webhook_free(got);
    hookd_webhook **list = NULL;
    size_t n = 0;
    int64_t next = 0;
    CHECK_INT(hookd_store_webhook_list(fx->st, 0, 10, &list, &n, &next), 0);
    CHECK_INT(n, 1);
    hookd_webhook_list_free(list, n);
    /* the first webhook's row is as it was */
    hookd_delivery *d = fx_get(fx, first->key, tid, NULL, NULL);
    CHECK(d != NULL);
    hookd_delivery_free(d);
    /* and the store takes the same webhook afterwards */
    CHECK(hookd_id_new(tid) == 0);
    t = create_test_of(wh, tid);
    CHECK_INT(hookd_store_webhook_insert_tested(fx->st, wh, &t), 0);
    CHECK_INT(hookd_store_webhook_get(fx->st, wh->id, &got), 0);
    hookd_webhook_free(got);
    hookd_webhook_free(wh);
}

/* ---- prune ----------------------------------------------------------------------------- */

static bool exists(store_fx *fx, int64_t key, const char *id)
{
    hookd_delivery *d = NULL;
    hookd_attempt *a = NULL;
    size_t n = 0;
    int rc = hookd_store_delivery_get(fx->st, key, id, &d, &a, &n);
    CHECK(rc == 0 || rc == HOOKD_ENOTFOUND);
    hookd_delivery_free(d);
    hookd_attempts_free(a, n);
    return rc == 0;
}

static int prune(store_fx *fx, int64_t before, int limit)
{
    int deleted = -1;
    CHECK_INT(hookd_store_prune(fx->st, before, limit, &deleted), 0);
    return deleted;
}

STORE_TEST(prune_deletes_only_what_finished_before)
{
    hookd_webhook *wh = fx_webhook(fx, WH_A), *off = fx_webhook(fx, WH_B);
    made_ref d[6], h[3];
    if (!wh || !off || fx_deliver(fx, 6, "act::s", T0, d, 6) != 6)
        return;
    /* act::o reaches both: one for wh, one for off (held below) */
    if (fx_deliver(fx, 1, "act::o", T0, h, 3) != 2)
        return;
    const made_ref *held = h[0].webhook == off->key ? &h[0] : &h[1];
    record(fx, &d[0], HOOKD_DS_PENDING, 0, HOOKD_EV_RETRY, T0 + 1000, HOOKD_DS_RETRYING);
    record(fx, &d[0], HOOKD_DS_RETRYING, 1, HOOKD_EV_SUCCEEDED, T0 + 2000, HOOKD_DS_SUCCEEDED);
    record(fx, &d[1], HOOKD_DS_PENDING, 0, HOOKD_EV_FAILED, T0 + 1000, HOOKD_DS_FAILED);
    record(fx, &d[2], HOOKD_DS_PENDING, 0, HOOKD_EV_RETRY, T0 + 1000, HOOKD_DS_RETRYING);
    record(fx, &d[4], HOOKD_DS_PENDING, 0, HOOKD_EV_SUCCEEDED, T0 + 10 * HOUR_MS,
           HOOKD_DS_SUCCEEDED);
    record(fx, &d[5], HOOKD_DS_PENDING, 0, HOOKD_EV_FAILED, T0 + 1000, HOOKD_DS_FAILED);
    CHECK_INT(hookd_store_delivery_retry(fx->st, wh->id, d[5].id, T0 + 3000), 0); /* last try */
    CHECK_INT(fx_connect(fx, off, false), 0);
    char tid[HOOKD_ID_MAX];
    CHECK(hookd_id_new(tid) == 0);
    hookd_test_record t = {.id = tid,
                           .webhook = wh,
                           .created_ms = T0 + 500,
                           .method = HOOKD_METHOD_POST,
                           .body = "{}",
                           .state = HOOKD_DS_SUCCEEDED,
                           .attempt = {.time_ms = T0 + 500,
                                       .duration_ms = 5,
                                       .status_code = 200,
                                       .version = 1,
                                       .signature = "v1,x"}};
    CHECK_INT(hookd_store_record_test(fx->st, &t), 0);
    hookd_webhook_stats s0 = fx_stats(fx, wh->key, T0 + 11 * HOUR_MS);

    /* finished before T0+5h: d[0], d[1] and the test send */
    CHECK_INT(prune(fx, T0 + 5 * HOUR_MS, 100), 3);
    CHECK(!exists(fx, wh->key, d[0].id));
    CHECK(!exists(fx, wh->key, d[1].id));
    CHECK(!exists(fx, wh->key, tid));
    for (int i = 2; i < 6; i++)
        CHECK(exists(fx, wh->key, d[i].id));
    CHECK(exists(fx, off->key, held->id));
    CHECK_INT(prune(fx, T0 + 5 * HOUR_MS, 100), 0);
    /* the counters are not recounted from rows */
    hookd_webhook_stats s1 = fx_stats(fx, wh->key, T0 + 11 * HOUR_MS);
    CHECK(s1.succeeded_24h == s0.succeeded_24h && s1.failed_24h == s0.failed_24h &&
          s1.pending == s0.pending);
    /* later: d[4] too; the waiting and held ones never */
    CHECK_INT(prune(fx, FAR, 100), 1);
    CHECK(!exists(fx, wh->key, d[4].id));
    CHECK(exists(fx, wh->key, d[2].id));
    CHECK(exists(fx, wh->key, d[3].id));
    CHECK(exists(fx, wh->key, d[5].id));
    CHECK(exists(fx, off->key, held->id));
}

/* At most limit per call, oldest first; a caller calls again while deleted
 * == limit. */
STORE_TEST(prune_by_limit_oldest_first)
{
    hookd_webhook *wh = fx_webhook(fx, WH_A);
    made_ref d[5];
    if (!wh)
        return;
    for (int i = 0; i < 5; i++) {
        if (fx_deliver(fx, 1, "act::s", T0 + i, &d[i], 1) != 1)
            return;
        record(fx, &d[i], HOOKD_DS_PENDING, 0, HOOKD_EV_SUCCEEDED, T0 + 1000 + i,
               HOOKD_DS_SUCCEEDED);
    }
    CHECK_INT(prune(fx, FAR, 2), 2);
    CHECK(!exists(fx, wh->key, d[0].id) && !exists(fx, wh->key, d[1].id));
    CHECK(exists(fx, wh->key, d[2].id));
    CHECK_INT(prune(fx, FAR, 2), 2);
    CHECK(!exists(fx, wh->key, d[3].id) && exists(fx, wh->key, d[4].id));
    CHECK_INT(prune(fx, FAR, 2), 1);
    CHECK_INT(prune(fx, FAR, 2), 0);
    CHECK(!exists(fx, wh->key, d[4].id));
}

/* Seqs rise with creation: a delivery made after the newest was pruned
 * does not take its number (the engine and log cursors rely on it). */
STORE_TEST(prune_never_gives_a_seq_again)
{
    hookd_webhook *wh = fx_webhook(fx, WH_A);
    made_ref d[2], later[1];
    if (!wh || fx_deliver(fx, 2, "act::s", T0, d, 2) != 2)
        return;
    record(fx, &d[0], HOOKD_DS_PENDING, 0, HOOKD_EV_SUCCEEDED, T0 + 1000, HOOKD_DS_SUCCEEDED);
    record(fx, &d[1], HOOKD_DS_PENDING, 0, HOOKD_EV_SUCCEEDED, T0 + 1000, HOOKD_DS_SUCCEEDED);
    CHECK_INT(prune(fx, FAR, 100), 2);
    if (fx_deliver(fx, 1, "act::s", T0 + 5000, later, 1) != 1)
        return;
    CHECK(later[0].seq > d[1].seq);
    /* across a reopen too */
    record(fx, &later[0], HOOKD_DS_PENDING, 0, HOOKD_EV_SUCCEEDED, T0 + 6000, HOOKD_DS_SUCCEEDED);
    CHECK_INT(prune(fx, FAR, 100), 1);
    if (!fx_reopen(fx))
        return;
    made_ref again[1];
    if (fx_deliver(fx, 1, "act::s", T0 + 7000, again, 1) == 1)
        CHECK(again[0].seq > later[0].seq);
}

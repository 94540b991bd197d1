/*
 * test_store_outcomes.c — conformance of the delivery engine's side of the
 * store: due (order, cursor, bounds), next_due, max_seq, and
 * record_outcomes (every event from every state an attempt is made from,
 * outcomes landing on held and cancelled deliveries, deliveries that are
 * gone, the log of attempts, the counters). Expected states and counter
 * changes come from model/delivery_state.h, so these tests check that the
 * store applies the machine, not a copy of it. Backend-neutral: see
 * test_store.h.
 */
#include <stdlib.h>

#include "test_store.h"
#include "util/timeutil.h"

#define WH_1                                                                                       \
    "{\"name\":\"one\",\"url\":\"https://one.example.com/in\",\"activities\":[\"*\"],"             \
    "\"headers\":[{\"key\":\"X-Team\",\"value\":\"blue\"}],"                                       \
    "\"basic_auth\":{\"username\":\"u\",\"password\":\"secret\"}}"
#define WH_2 WH_JSON("two", ACTS_ALL)

static int64_t hour_of(int64_t ms)
{
    return ms - ms % HOUR_MS;
}

/* ---- due, next_due, max_seq --------------------------------------------------------- */

/* Sets d retrying, due at next_at. */
static void retry_at(store_fx *fx, const made_ref *d, int64_t next_at)
{
    hookd_outcome o = outcome_of(d, HOOKD_DS_PENDING, 0, HOOKD_EV_RETRY, T0 + 1000);
    o.next_at = next_at;
    CHECK_INT(fx_record(fx, &o), HOOKD_DS_RETRYING);
}

/* Reads due deliveries and checks they are want[0..n) (indexes into d). */
static void check_due(store_fx *fx, int64_t key, int64_t now, hookd_due_cursor *cur,
                      int64_t max_seq, int limit, const made_ref *d, const int *want, size_t n)
{
    hookd_job *jobs = NULL;
    size_t got = 99;
    hookd_due_cursor before = *cur;
    int rc = hookd_store_due(fx->st, key, now, cur, max_seq, limit, &jobs, &got);
    CHECK_INT(rc, 0);
    if (rc)
        return;
    CHECK_INT(got, n);
    for (size_t i = 0; i < got && i < n; i++) {
        const made_ref *w = &d[want[i]];
        CHECK_INT(jobs[i].seq, w->seq);
        CHECK_STR(jobs[i].id, w->id);
        CHECK_INT(jobs[i].webhook, key);
        CHECK_INT(jobs[i].state, HOOKD_DS_RETRYING);
        CHECK_INT(jobs[i].attempts, 1);
        CHECK(jobs[i].body != NULL && jobs[i].body_len == strlen(jobs[i].body));
    }
    /* The cursor is the backend's own: it only has to move when rows were
     * read (the paging below checks where it leads). */
    if (got)
        CHECK(cur->seq != before.seq || cur->next_at != before.next_at);
    fx_jobs_free(jobs, got);
}

/* Reads one page of due deliveries and checks their seqs and states. */
static void check_page(store_fx *fx, int64_t key, int64_t now, hookd_due_cursor *cur, int limit,
                       const made_ref *const *want, const hookd_delivery_state *states, size_t n)
{
    hookd_job *jobs = NULL;
    size_t got = 99;
    CHECK_INT(hookd_store_due(fx->st, key, now, cur, INT64_MAX, limit, &jobs, &got), 0);
    CHECK_INT(got, n);
    for (size_t i = 0; i < got && i < n; i++) {
        CHECK_INT(jobs[i].seq, want[i]->seq);
        CHECK_INT(jobs[i].state, states[i]);
    }
    fx_jobs_free(jobs, got);
}

STORE_TEST(due_fresh_ones_after_the_scheduled_in_seq_order)
{
    hookd_webhook *w = fx_webhook(fx, WH_1);
    made_ref d[4];
    if (!w || fx_deliver(fx, 4, "act::s", T0, d, 4) != 4)
        return;
    /* The newest is retried (scheduled); the three older ones were never
     * attempted. */
    retry_at(fx, &d[3], T0 + 5000);
    const made_ref *order[] = {&d[3], &d[0], &d[1], &d[2]};
    const hookd_delivery_state st[] = {HOOKD_DS_RETRYING, HOOKD_DS_PENDING, HOOKD_DS_PENDING,
                                       HOOKD_DS_PENDING};
    hookd_due_cursor cur = {0, 0};
    check_page(fx, w->key, T0 + 10000, &cur, 10, order, st, 4);
    cur = (hookd_due_cursor){0, 0};
    check_page(fx, w->key, T0 + 10000, &cur, 3, order, st, 3);
    check_page(fx, w->key, T0 + 10000, &cur, 3, order + 3, st + 3, 1);
    check_page(fx, w->key, T0 + 10000, &cur, 3, NULL, NULL, 0);
    /* before the retry is due only the fresh ones are */
    cur = (hookd_due_cursor){0, 0};
    check_page(fx, w->key, T0 + 4999, &cur, 10, order + 1, st + 1, 3);
}

STORE_TEST(due_in_order_after_the_cursor_within_bounds)
{
    hookd_webhook *w1 = fx_webhook(fx, WH_1), *w2 = fx_webhook(fx, WH_2);
    made_ref d[12];
    if (!w1 || !w2 || fx_deliver(fx, 6, "act::s", T0, d, 12) != 12)
        return;
    /* Each item made one for w1 then one for w2: keep w1's in d[0..6). */
    made_ref one[6], two[6];
    for (int i = 0; i < 6; i++) {
        one[i] = d[2 * i];
        two[i] = d[2 * i + 1];
        CHECK(one[i].webhook == w1->key && two[i].webhook == w2->key);
    }
    const int64_t S = 1000;
    retry_at(fx, &one[0], T0 + 300 * S);
    retry_at(fx, &one[1], T0 + 100 * S);
    retry_at(fx, &one[2], T0 + 200 * S);
    retry_at(fx, &one[3], T0 + 200 * S); /* same time: seq order */
    retry_at(fx, &one[4], T0 + 250 * S);
    hookd_outcome ok = outcome_of(&one[5], HOOKD_DS_PENDING, 0, HOOKD_EV_SUCCEEDED, T0 + 1000);
    CHECK_INT(fx_record(fx, &ok), HOOKD_DS_SUCCEEDED);
    for (int i = 0; i < 6; i++)
        retry_at(fx, &two[i], T0 + 10 * S); /* due, but of the other webhook */

    hookd_due_cursor cur = {0, 0};
    static const int ALL[] = {1, 2, 3, 4};
    check_due(fx, w1->key, T0 + 250 * S, &cur, INT64_MAX, 10, one, ALL, 4);
    /* by pages of 2, then nothing left */
    cur = (hookd_due_cursor){0, 0};
    check_due(fx, w1->key, T0 + 250 * S, &cur, INT64_MAX, 2, one, ALL, 2);
    check_due(fx, w1->key, T0 + 250 * S, &cur, INT64_MAX, 2, one, ALL + 2, 2);
    check_due(fx, w1->key, T0 + 250 * S, &cur, INT64_MAX, 2, one, NULL, 0);
    /* now is a bound: due at 200 s is not due a millisecond before */
    cur = (hookd_due_cursor){0, 0};
    check_due(fx, w1->key, T0 + 200 * S - 1, &cur, INT64_MAX, 10, one, ALL, 1);
    /* max_seq is a bound: deliveries the caller was not told of stay out */
    cur = (hookd_due_cursor){0, 0};
    check_due(fx, w1->key, T0 + 250 * S, &cur, one[2].seq, 10, one, ALL, 2);
    /* a tie in next_at is read by seq, and a page boundary inside the tie
     * loses nothing */
    static const int TIE[] = {1, 2, 3};
    cur = (hookd_due_cursor){0, 0};
    check_due(fx, w1->key, T0 + 200 * S, &cur, INT64_MAX, 2, one, TIE, 2);
    check_due(fx, w1->key, T0 + 200 * S, &cur, INT64_MAX, 2, one, TIE + 2, 1);
    /* a limit of 0 reads nothing */
    cur = (hookd_due_cursor){0, 0};
    check_due(fx, w1->key, T0 + 250 * S, &cur, INT64_MAX, 0, one, NULL, 0);

    int64_t when = -1;
    CHECK_INT(hookd_store_next_due(fx->st, w1->key, T0 + 150 * S, &when), 0);
    CHECK_INT(when, T0 + 200 * S);
    CHECK_INT(hookd_store_next_due(fx->st, w1->key, T0 + 250 * S, &when), 0);
    CHECK_INT(when, T0 + 300 * S);
    CHECK_INT(hookd_store_next_due(fx->st, w1->key, T0 + 300 * S, &when), 0);
    CHECK_INT(when, 0); /* strictly after now: none */
    CHECK_INT(hookd_store_next_due(fx->st, w2->key, T0 + 10 * S, &when), 0);
    CHECK_INT(when, 0);
}

STORE_TEST(due_never_held_or_finished)
{
    hookd_webhook *w = fx_webhook(fx, WH_2);
    made_ref d[3];
    if (!w || fx_deliver(fx, 3, "act::s", T0, d, 3) != 3)
        return;
    hookd_outcome ok = outcome_of(&d[0], HOOKD_DS_PENDING, 0, HOOKD_EV_SUCCEEDED, T0);
    hookd_outcome bad = outcome_of(&d[1], HOOKD_DS_PENDING, 0, HOOKD_EV_FAILED, T0);
    CHECK_INT(fx_record(fx, &ok), HOOKD_DS_SUCCEEDED);
    CHECK_INT(fx_record(fx, &bad), HOOKD_DS_FAILED);
    hookd_job *jobs = NULL;
    size_t n = fx_due_all(fx, w->key, FAR, &jobs);
    CHECK_INT(n, 1);
    if (n == 1)
        CHECK_INT(jobs[0].seq, d[2].seq);
    fx_jobs_free(jobs, n);
    CHECK_INT(fx_connect(fx, w, false), 0);
    fx_check_none_due(fx, w->key);
    int64_t when = -1;
    CHECK_INT(hookd_store_next_due(fx->st, w->key, 0, &when), 0);
    CHECK_INT(when, 0);
}

STORE_TEST(max_seq_is_the_highest_stored)
{
    int64_t top = -1;
    CHECK_INT(hookd_store_max_seq(fx->st, &top), 0);
    CHECK_INT(top, 0);
    hookd_webhook *w = fx_webhook(fx, WH_2);
    made_ref d[3];
    if (!w || fx_deliver(fx, 3, "act::s", T0, d, 3) != 3)
        return;
    CHECK(d[0].seq > 0 && d[1].seq > d[0].seq && d[2].seq > d[1].seq);
    CHECK_INT(hookd_store_max_seq(fx->st, &top), 0);
    CHECK_INT(top, d[2].seq);
}

/* ---- outcomes ----------------------------------------------------------------------- */

/* The counters of one webhook: stats at now and the hour of at. */
typedef struct counts {
    hookd_webhook_stats s;
    hookd_hour_counts h;
} counts;

static counts counts_of(store_fx *fx, int64_t key, int64_t now, int64_t at)
{
    counts c = {.s = fx_stats(fx, key, now)};
    CHECK_INT(hookd_store_webhook_hours(fx->st, key, hour_of(at), 1, &c.h), 0);
    return c;
}

/* Checks after - before is what the machine says the move from → to on ev
 * does to the counters. */
static void check_effect(const counts *before, const counts *after, hookd_delivery_state from,
                         hookd_ds_event ev, int to)
{
    hookd_ds_effect e = hookd_ds_effect_of(from, ev, to);
    CHECK_INT(after->s.pending - before->s.pending, e.open);
    CHECK_INT(after->s.succeeded_24h - before->s.succeeded_24h, e.succeeded);
    CHECK_INT(after->s.failed_24h - before->s.failed_24h, e.failed);
    CHECK_INT(after->h.succeeded - before->h.succeeded, e.succeeded);
    CHECK_INT(after->h.failed - before->h.failed, e.failed);
    CHECK_INT(after->h.retried - before->h.retried, e.retried);
    CHECK_INT(after->s.skipped, before->s.skipped);
}

/* Checks the log shows o as d's last attempt, sent with wh's settings, and
 * n_before attempts before it. */
static void check_last_attempt(store_fx *fx, const hookd_webhook *wh, const made_ref *d,
                               const hookd_outcome *o, int state, int n_before)
{
    hookd_attempt *att = NULL;
    size_t n = 0;
    hookd_delivery *got = fx_get(fx, d->webhook, d->id, &att, &n);
    if (!got)
        return;
    CHECK_INT(got->state, state);
    CHECK_INT(got->attempts, n_before + 1);
    CHECK_INT(got->next_attempt_at, hookd_ds_waiting(state) ? o->next_at : 0);
    CHECK_INT(got->last_at, o->time_ms);
    CHECK_INT(got->status_code, o->status_code);
    CHECK_STR_OR_NULL(got->error, o->error);
    CHECK_STR_OR_NULL(got->response_body, o->response_body);
    CHECK_INT(got->duration_ms, o->duration_ms);
    CHECK_STR(got->signature, o->signature);
    CHECK_STR(got->sent_url, wh->url);
    char *shown = hookd_webhook_tail_shown(wh);
    CHECK_STR(got->headers, shown);
    free(shown);
    CHECK_INT(n, n_before + 1);
    if (n == (size_t)n_before + 1) {
        const hookd_attempt *last = &att[n - 1];
        CHECK_INT(last->time_ms, o->time_ms);
        CHECK_INT(last->status_code, o->status_code);
        CHECK_STR_OR_NULL(last->error, o->error);
        CHECK_STR_OR_NULL(last->response_body, o->response_body);
        CHECK_INT(last->duration_ms, o->duration_ms);
        for (size_t i = 1; i < n; i++)
            CHECK(att[i - 1].time_ms < att[i].time_ms); /* oldest first */
    }
    hookd_attempts_free(att, n);
    hookd_delivery_free(got);
}

/* Brings a new delivery of the webhook into from (pending, retrying or
 * last_try) through the seam; returns the attempts it has had. */
static int bring_to(store_fx *fx, const made_ref *d, hookd_delivery_state from, int64_t t)
{
    if (from == HOOKD_DS_PENDING)
        return 0;
    hookd_ds_event ev = from == HOOKD_DS_RETRYING ? HOOKD_EV_RETRY : HOOKD_EV_FAILED;
    hookd_outcome o = outcome_of(d, HOOKD_DS_PENDING, 0, ev, t);
    fx_record(fx, &o);
    if (from == HOOKD_DS_LAST_TRY) {
        hookd_webhook *wh = NULL;
        for (size_t i = 0; i < fx->n_owned && !wh; i++)
            wh = fx->owned[i]->key == d->webhook ? fx->owned[i] : NULL;
        CHECK_INT(hookd_store_delivery_retry(fx->st, wh ? wh->id : "", d->id, t + 100), 0);
    }
    hookd_delivery *got = fx_get(fx, d->webhook, d->id, NULL, NULL);
    if (got)
        CHECK_INT(got->state, from);
    hookd_delivery_free(got);
    return 1;
}

/* Every attempt event from every state an attempt is made from. */
STORE_TEST(outcome_every_event_from_every_waiting_state)
{
    static const hookd_delivery_state FROM[] = {HOOKD_DS_PENDING, HOOKD_DS_RETRYING,
                                                HOOKD_DS_LAST_TRY};
    static const hookd_ds_event EV[] = {HOOKD_EV_SUCCEEDED, HOOKD_EV_FAILED, HOOKD_EV_RETRY};
    hookd_webhook *wh = fx_webhook(fx, WH_1);
    made_ref d[9];
    if (!wh || fx_deliver(fx, 9, "act::s", T0, d, 9) != 9)
        return;
    for (size_t f = 0; f < 3; f++) {
        for (size_t e = 0; e < 3; e++) {
            const made_ref *one = &d[f * 3 + e];
            int64_t t = T0 + 2 * HOUR_MS + (int64_t)(f * 3 + e) * 60000;
            int before_attempts = bring_to(fx, one, FROM[f], t);
            hookd_outcome o = outcome_of(one, FROM[f], before_attempts, EV[e], t + 1000);
            o.status_code = 500 + (int)(f * 3 + e);
            int want = hookd_ds_next(FROM[f], EV[e], before_attempts > 0);
            counts c0 = counts_of(fx, wh->key, t + 2000, o.time_ms + o.duration_ms);
            int state = -99;
            CHECK_INT(hookd_store_record_outcomes(fx->st, &o, 1, &state, NULL), 0);
            if (state != want)
                unit_fail(__FILE__, __LINE__, "from %s on event %d: state %d, expected %d",
                          hookd_ds_name(FROM[f]), EV[e], state, want);
            counts c1 = counts_of(fx, wh->key, t + 2000, o.time_ms + o.duration_ms);
            check_effect(&c0, &c1, FROM[f], EV[e], want);
            check_last_attempt(fx, wh, one, &o, want, before_attempts);
        }
    }
    /* last_try never goes back to retrying */
    hookd_delivery *lt = fx_get(fx, wh->key, d[8].id, NULL, NULL);
    if (lt)
        CHECK_INT(lt->state, HOOKD_DS_FAILED);
    hookd_delivery_free(lt);
}

/* Attempts accumulate oldest first, each with what it got, and the headers
 * shown are those of the version an attempt was sent with. */
STORE_TEST(outcome_keeps_every_attempt_oldest_first)
{
    hookd_webhook *wh = fx_webhook(fx, WH_1);
    made_ref d[1];
    if (!wh || fx_deliver(fx, 1, "act::s", T0, d, 1) != 1)
        return;
    static const char *const ERR[] = {"timeout", "HTTP 502", "connection reset", NULL};
    static const char *const BODY[] = {NULL, "bad gateway", NULL, "done"};
    static const int STATUS[] = {0, 502, 0, 201};
    hookd_delivery_state from = HOOKD_DS_PENDING;
    for (int k = 0; k < 4; k++) {
        hookd_ds_event ev = k < 3 ? HOOKD_EV_RETRY : HOOKD_EV_SUCCEEDED;
        hookd_outcome o = outcome_of(d, from, k, ev, T0 + k * 600000);
        o.error = ERR[k];
        o.response_body = BODY[k];
        o.status_code = STATUS[k];
        o.duration_ms = 10 + k;
        from = (hookd_delivery_state)fx_record(fx, &o);
    }
    CHECK_INT(from, HOOKD_DS_SUCCEEDED);
    hookd_attempt *att = NULL;
    size_t n = 0;
    hookd_delivery *got = fx_get(fx, wh->key, d[0].id, &att, &n);
    CHECK_INT(n, 4);
    for (size_t k = 0; k < n && k < 4; k++) {
        CHECK_INT(att[k].time_ms, T0 + (int64_t)k * 600000);
        CHECK_INT(att[k].status_code, STATUS[k]);
        CHECK_STR_OR_NULL(att[k].error, ERR[k]);
        CHECK_STR_OR_NULL(att[k].response_body, BODY[k]);
        CHECK_INT(att[k].duration_ms, 10 + (int64_t)k);
    }
    if (got) {
        CHECK_INT(got->attempts, 4);
        CHECK_INT(got->status_code, 201);
    }
    hookd_attempts_free(att, n);
    hookd_delivery_free(got);
}

STORE_TEST(outcome_shows_the_headers_of_the_version_used)
{
    hookd_webhook *wh = fx_webhook(fx, WH_1);
    made_ref d[2];
    if (!wh || fx_deliver(fx, 2, "act::s", T0, d, 2) != 2)
        return;
    hookd_outcome o = outcome_of(&d[0], HOOKD_DS_PENDING, 0, HOOKD_EV_RETRY, T0 + 1000);
    CHECK_INT(fx_record(fx, &o), HOOKD_DS_RETRYING);
    hookd_webhook *v2 = NULL;
    CHECK_INT(hookd_store_webhook_change(
                  fx->st, wh->id, change_apply,
                  "{\"url\":\"https://moved.example.com/\",\"headers\":[{\"key\":\"X-Team\","
                  "\"value\":\"red\"}],\"basic_auth\":null}",
                  &v2),
              0);
    if (!v2)
        return;
    CHECK_INT(v2->version, 2);
    /* d[0] was sent with version 1: its log still says so. */
    check_last_attempt(fx, wh, &d[0], &o, HOOKD_DS_RETRYING, 0);
    /* d[1] is sent with version 2. */
    hookd_outcome o2 = outcome_of(&d[1], HOOKD_DS_PENDING, 0, HOOKD_EV_SUCCEEDED, T0 + 2000);
    o2.version = 2;
    CHECK_INT(fx_record(fx, &o2), HOOKD_DS_SUCCEEDED);
    check_last_attempt(fx, v2, &d[1], &o2, HOOKD_DS_SUCCEEDED, 0);
    /* and d[0]'s next attempt, with version 2, shows version 2 */
    hookd_outcome o3 = outcome_of(&d[0], HOOKD_DS_RETRYING, 1, HOOKD_EV_SUCCEEDED, T0 + 3000);
    o3.version = 2;
    CHECK_INT(fx_record(fx, &o3), HOOKD_DS_SUCCEEDED);
    check_last_attempt(fx, v2, &d[0], &o3, HOOKD_DS_SUCCEEDED, 1);
    hookd_webhook_free(v2);
}

/* An attempt in flight when its webhook was disconnected: the outcome moves
 * the delivery from held, not from pending. */
STORE_TEST(outcome_lands_on_a_held_delivery)
{
    static const hookd_ds_event EV[] = {HOOKD_EV_SUCCEEDED, HOOKD_EV_FAILED, HOOKD_EV_RETRY};
    hookd_webhook *wh = fx_webhook(fx, WH_1);
    made_ref d[3];
    if (!wh || fx_deliver(fx, 3, "act::s", T0, d, 3) != 3)
        return;
    CHECK_INT(fx_connect(fx, wh, false), 0);
    for (int e = 0; e < 3; e++) {
        hookd_outcome o = outcome_of(&d[e], HOOKD_DS_PENDING, 0, EV[e], T0 + 1000);
        int want = hookd_ds_next(HOOKD_DS_HELD, EV[e], true);
        counts c0 = counts_of(fx, wh->key, T0 + 5000, T0 + 1020);
        CHECK_INT(fx_record(fx, &o), want);
        counts c1 = counts_of(fx, wh->key, T0 + 5000, T0 + 1020);
        check_effect(&c0, &c1, HOOKD_DS_HELD, EV[e], want);
        check_last_attempt(fx, wh, &d[e], &o, want, 0);
    }
    fx_check_none_due(fx, wh->key); /* the retry it asked for waits for a connect */
}

/* An attempt in flight when its webhook was deleted: the delivery stays
 * cancelled and counts nowhere. */
STORE_TEST(outcome_lands_on_a_cancelled_delivery)
{
    hookd_webhook *wh = fx_webhook(fx, WH_1);
    made_ref d[2];
    if (!wh || fx_deliver(fx, 2, "act::s", T0, d, 2) != 2)
        return;
    CHECK_INT(hookd_store_webhook_delete(fx->st, wh->id), 0);
    hookd_outcome o[2] = {outcome_of(&d[0], HOOKD_DS_PENDING, 0, HOOKD_EV_SUCCEEDED, T0 + 1000),
                          outcome_of(&d[1], HOOKD_DS_PENDING, 0, HOOKD_EV_RETRY, T0 + 1000)};
    int states[2] = {-99, -99};
    CHECK_INT(hookd_store_record_outcomes(fx->st, o, 2, states, NULL), 0);
    CHECK_INT(states[0], HOOKD_DS_CANCELLED);
    CHECK_INT(states[1], HOOKD_DS_CANCELLED);
    fx_check_zero_counts(fx, wh->key, T0 + 1020);
    fx_check_none_due(fx, wh->key);
}

/* A delivery that is gone reads HOOKD_DS_REFUSED; the others of the batch
 * are recorded all the same. */
STORE_TEST(outcome_for_a_missing_delivery_is_refused)
{
    hookd_webhook *wh = fx_webhook(fx, WH_2);
    made_ref d[2];
    if (!wh || fx_deliver(fx, 2, "act::s", T0, d, 2) != 2)
        return;
    made_ref ghost = {.seq = d[1].seq + 1000, .webhook = wh->key, .id = "ghost"};
    hookd_outcome o[3] = {outcome_of(&d[0], HOOKD_DS_PENDING, 0, HOOKD_EV_SUCCEEDED, T0),
                          outcome_of(&ghost, HOOKD_DS_PENDING, 0, HOOKD_EV_SUCCEEDED, T0),
                          outcome_of(&d[1], HOOKD_DS_PENDING, 0, HOOKD_EV_FAILED, T0)};
    int states[3] = {-99, -99, -99};
    CHECK_INT(hookd_store_record_outcomes(fx->st, o, 3, states, NULL), 0);
    CHECK_INT(states[0], HOOKD_DS_SUCCEEDED);
    CHECK_INT(states[1], HOOKD_DS_REFUSED);
    CHECK_INT(states[2], HOOKD_DS_FAILED);
    hookd_webhook_stats s = fx_stats(fx, wh->key, T0 + 1000);
    CHECK_INT(s.pending, 0);
    CHECK_INT(s.succeeded_24h, 1);
    CHECK_INT(s.failed_24h, 1);
    int64_t top = 0;
    CHECK_INT(hookd_store_max_seq(fx->st, &top), 0);
    CHECK_INT(top, d[1].seq);
    /* an empty batch is fine */
    CHECK_INT(hookd_store_record_outcomes(fx->st, o, 0, states, NULL), 0);
}

/* A delivery counts once when it finishes, however its outcomes were split
 * over commits, and an outcome recorded again (an engine that could not
 * tell whether its write went through) counts its attempt but finishes
 * nothing twice. */
STORE_TEST(outcome_counts_each_delivery_once)
{
    hookd_webhook *wh = fx_webhook(fx, WH_2);
    made_ref d[2];
    if (!wh || fx_deliver(fx, 2, "act::s", T0, d, 2) != 2)
        return;
    int64_t t = T0 + HOUR_MS / 2;
    hookd_outcome r = outcome_of(&d[0], HOOKD_DS_PENDING, 0, HOOKD_EV_RETRY, t);
    hookd_outcome ok = outcome_of(&d[0], HOOKD_DS_RETRYING, 1, HOOKD_EV_SUCCEEDED, t + 60000);
    hookd_outcome first = outcome_of(&d[1], HOOKD_DS_PENDING, 0, HOOKD_EV_SUCCEEDED, t + 1);
    CHECK_INT(fx_record(fx, &r), HOOKD_DS_RETRYING);
    CHECK_INT(fx_record(fx, &ok), HOOKD_DS_SUCCEEDED);
    CHECK_INT(fx_record(fx, &first), HOOKD_DS_SUCCEEDED);
    /* the same outcomes once more */
    CHECK_INT(fx_record(fx, &ok), HOOKD_DS_SUCCEEDED);
    CHECK_INT(fx_record(fx, &first), HOOKD_DS_SUCCEEDED);
    hookd_webhook_stats s = fx_stats(fx, wh->key, t + HOUR_MS);
    CHECK_INT(s.succeeded_24h, 2);
    CHECK_INT(s.failed_24h, 0);
    CHECK_INT(s.pending, 0);
    hookd_hour_counts h = {0};
    CHECK_INT(hookd_store_webhook_hours(fx->st, wh->key, hour_of(t), 1, &h), 0);
    CHECK_INT(h.succeeded, 2);
    CHECK_INT(h.retried, 1);
    /* Every attempt recorded is in the log: as many details as attempts. */
    for (int i = 0; i < 2; i++) {
        hookd_attempt *att = NULL;
        size_t n = 0;
        hookd_delivery *got = fx_get(fx, wh->key, d[i].id, &att, &n);
        if (got) {
            CHECK_INT(got->attempts, i == 0 ? 3 : 2);
            CHECK_INT(n, (size_t)got->attempts);
        }
        hookd_attempts_free(att, n);
        hookd_delivery_free(got);
    }
}

/* The hourly counts go to the hour the attempt finished in (start plus
 * duration), and stats count finishes from the start of the hour 24 h
 * before now. */
STORE_TEST(outcome_counts_by_the_hour_of_the_finish)
{
    hookd_webhook *wh = fx_webhook(fx, WH_2);
    made_ref d[4];
    if (!wh || fx_deliver(fx, 4, "act::s", T0, d, 4) != 4)
        return;
    int64_t h1 = T0 + 5 * HOUR_MS;
    /* starts 100 ms before h1, finishes 100 ms into it */
    hookd_outcome a = outcome_of(&d[0], HOOKD_DS_PENDING, 0, HOOKD_EV_SUCCEEDED, h1 - 100);
    a.duration_ms = 200;
    /* finishes 1 ms before h1 */
    hookd_outcome b = outcome_of(&d[1], HOOKD_DS_PENDING, 0, HOOKD_EV_FAILED, h1 - 21);
    hookd_outcome c = outcome_of(&d[2], HOOKD_DS_PENDING, 0, HOOKD_EV_RETRY, h1 + HOUR_MS + 5);
    hookd_outcome o[3] = {a, b, c};
    CHECK_INT(hookd_store_record_outcomes(fx->st, o, 3, NULL, NULL), 0);
    hookd_hour_counts h[4];
    memset(h, 0xff, sizeof h);
    CHECK_INT(hookd_store_webhook_hours(fx->st, wh->key, h1 - 2 * HOUR_MS, 4, h), 0);
    /* hours: h1-2h, h1-1h, h1, h1+1h */
    CHECK(h[0].succeeded == 0 && h[0].failed == 0 && h[0].retried == 0);
    CHECK(h[1].succeeded == 0 && h[1].failed == 1 && h[1].retried == 0);
    CHECK(h[2].succeeded == 1 && h[2].failed == 0 && h[2].retried == 0);
    CHECK(h[3].succeeded == 0 && h[3].failed == 0 && h[3].retried == 1);

    /* The 24 h window starts at the hour that held now - 24 h. */
    int64_t now = h1 + 24 * HOUR_MS + 30 * 60000; /* h1 + 24 h 30 min */
    hookd_webhook_stats s = fx_stats(fx, wh->key, now);
    CHECK_INT(s.succeeded_24h, 1); /* in h1: counted, 24.5 h before now */
    CHECK_INT(s.failed_24h, 0);    /* in the hour before: out */
    s = fx_stats(fx, wh->key, h1 + 24 * HOUR_MS - 1);
    CHECK_INT(s.failed_24h, 1);
    s = fx_stats(fx, wh->key, h1 + 25 * HOUR_MS);
    CHECK_INT(s.succeeded_24h, 0);
    CHECK_INT(s.pending, 2); /* c retrying, d[3] pending */
}

/* ---- the answer's person fields (update_contact_from_response) ------------------------ */

static const char *first_name(store_fx *fx, char *out, size_t cap)
{
    hookd_person *p = NULL;
    CHECK_INT(hookd_store_person_get(fx->st, fx_contact(fx), &p), 0);
    const char *v = p ? json_string_value(json_object_get(p->fields, "str::first")) : NULL;
    snprintf(out, cap, "%s", v ? v : "");
    hookd_person_free(p);
    return out;
}

/* Merged into the delivery's person by the outcome that makes it succeeded,
 * and only by that one: a retry does not apply them, and the same success
 * recorded again (a repeated answer) does not apply them twice. */
STORE_TEST(outcome_contact_fields_merged_once_on_success)
{
    char first[64];
    hookd_webhook *w = fx_webhook(fx, WH_2);
    made_ref d[1];
    if (!w || fx_deliver(fx, 1, "act::s", T0, d, 1) != 1)
        return;
    json_t *ann = json_pack("{s:s}", "str::first", "Ann");
    hookd_outcome o = outcome_of(&d[0], HOOKD_DS_PENDING, 0, HOOKD_EV_RETRY, T0 + 1000);
    o.contact_fields = ann;
    CHECK_INT(fx_record(fx, &o), HOOKD_DS_RETRYING);
    CHECK_STR(first_name(fx, first, sizeof first), "Fix");
    o = outcome_of(&d[0], HOOKD_DS_RETRYING, 1, HOOKD_EV_SUCCEEDED, T0 + 2000);
    o.contact_fields = ann;
    CHECK_INT(fx_record(fx, &o), HOOKD_DS_SUCCEEDED);
    CHECK_STR(first_name(fx, first, sizeof first), "Ann");
    /* Someone changes the field; the answer comes again. */
    hookd_merge_person m =
        mp_make("{\"str::email\":\"fixture@example.com\",\"str::first\":\"Zed\"}", NULL, NULL, 0);
    hookd_merge_result res = {0};
    CHECK_INT(hookd_store_people_merge(fx->st, &m, 1, T0 + 3000, &res), 0);
    hookd_merge_person_clear(&m);
    CHECK_INT(fx_record(fx, &o), HOOKD_DS_SUCCEEDED);
    CHECK_STR(first_name(fx, first, sizeof first), "Zed");
    json_decref(ann);
}

/* ---- streaks of failed attempts -------------------------------------------------- */

/* Records one attempt of d (as outcome_of makes it) and returns its
 * webhook's streak as the commit left it. */
static hookd_streak record_streak(store_fx *fx, const made_ref *d, hookd_delivery_state from,
                                  int attempts, hookd_ds_event ev, int64_t time_ms)
{
    hookd_outcome o = outcome_of(d, from, attempts, ev, time_ms);
    hookd_streak s = {-1, -1};
    int state = -99;
    CHECK_INT(hookd_store_record_outcomes(fx->st, &o, 1, &state, &s), 0);
    return s;
}

#define CHECK_STREAK(s_, since_, failed_)                                                          \
    do {                                                                                           \
        hookd_streak got_ = (s_);                                                                  \
        CHECK_INT(got_.since_ms, (since_));                                                        \
        CHECK_INT(got_.failed, (failed_));                                                         \
    } while (0)

/* Every failed attempt counts (a retry as much as a failure), from the
 * first one's start; a success ends the streak; and the streak is the
 * store's, so a reopen (a restart) keeps it. */
STORE_TEST(streak_counts_failed_attempts_until_a_success)
{
    hookd_webhook *wh = fx_webhook(fx, WH_2);
    made_ref d[3];
    if (!wh || fx_deliver(fx, 3, "act::s", T0, d, 3) != 3)
        return;
    CHECK_STREAK(record_streak(fx, &d[0], HOOKD_DS_PENDING, 0, HOOKD_EV_RETRY, T0 + 100), T0 + 100,
                 1);
    CHECK_STREAK(record_streak(fx, &d[1], HOOKD_DS_PENDING, 0, HOOKD_EV_FAILED, T0 + 200), T0 + 100,
                 2);
    if (!fx_reopen(fx))
        return;
    CHECK_STREAK(record_streak(fx, &d[0], HOOKD_DS_RETRYING, 1, HOOKD_EV_RETRY, T0 + 300), T0 + 100,
                 3);
    CHECK_STREAK(record_streak(fx, &d[2], HOOKD_DS_PENDING, 0, HOOKD_EV_SUCCEEDED, T0 + 400), 0, 0);
    CHECK_STREAK(record_streak(fx, &d[0], HOOKD_DS_RETRYING, 2, HOOKD_EV_RETRY, T0 + 500), T0 + 500,
                 1);
}

/* Within one batch the answers count in order: failures told after the
 * last success make the streak. Each webhook has its own, and an attempt
 * of a delivery that is gone counts too (the endpoint answered it). */
STORE_TEST(streak_of_a_batch_counts_after_its_last_success)
{
    hookd_webhook *a = fx_webhook(fx, WH_2);
    made_ref d[4];
    if (!a || fx_deliver(fx, 4, "act::s", T0, d, 4) != 4)
        return;
    hookd_webhook *b = fx_webhook(fx, WH_1);
    made_ref e[2];
    if (!b || fx_deliver(fx, 1, "act::s", T0, e, 2) != 2)
        return;
    if (e[0].webhook != b->key)
        e[0] = e[1]; /* the new webhook's delivery, whatever the order */
    made_ref ghost = {.seq = d[3].seq + 1000, .webhook = b->key, .id = "ghost"};
    hookd_outcome o[6] = {
        outcome_of(&d[0], HOOKD_DS_PENDING, 0, HOOKD_EV_RETRY, T0 + 10),
        outcome_of(&d[1], HOOKD_DS_PENDING, 0, HOOKD_EV_SUCCEEDED, T0 + 20),
        outcome_of(&d[2], HOOKD_DS_PENDING, 0, HOOKD_EV_FAILED, T0 + 40),
        outcome_of(&e[0], HOOKD_DS_PENDING, 0, HOOKD_EV_RETRY, T0 + 5),
        outcome_of(&ghost, HOOKD_DS_PENDING, 0, HOOKD_EV_FAILED, T0 + 1),
        outcome_of(&d[3], HOOKD_DS_PENDING, 0, HOOKD_EV_RETRY, T0 + 30),
    };
    int states[6];
    hookd_streak s[6];
    memset(s, 0xff, sizeof s);
    CHECK_INT(hookd_store_record_outcomes(fx->st, o, 6, states, s), 0);
    for (int i = 0; i < 6; i++) {
        if (i == 3 || i == 4)
            CHECK_STREAK(s[i], T0 + 1, 2); /* e[0] and the ghost */
        else
            CHECK_STREAK(s[i], T0 + 30, 2); /* d[2] and d[3], after d[1]'s success */
    }
}

/* A disconnect or a connect starts the streak afresh; a deleted webhook
 * keeps none. */
STORE_TEST(streak_ends_on_connect_disconnect_and_delete)
{
    hookd_webhook *wh = fx_webhook(fx, WH_2);
    made_ref d[2];
    if (!wh || fx_deliver(fx, 2, "act::s", T0, d, 2) != 2)
        return;
    CHECK_STREAK(record_streak(fx, &d[0], HOOKD_DS_PENDING, 0, HOOKD_EV_RETRY, T0 + 100), T0 + 100,
                 1);
    CHECK_INT(fx_connect(fx, wh, false), 0);
    /* an attempt in flight when it was disconnected still counts, afresh */
    CHECK_STREAK(record_streak(fx, &d[1], HOOKD_DS_PENDING, 0, HOOKD_EV_RETRY, T0 + 200), T0 + 200,
                 1);
    CHECK_INT(fx_connect(fx, wh, true), 0);
    CHECK_STREAK(record_streak(fx, &d[0], HOOKD_DS_RETRYING, 1, HOOKD_EV_RETRY, T0 + 300), T0 + 300,
                 1);
    CHECK_INT(hookd_store_webhook_delete(fx->st, wh->id), 0);
    CHECK_STREAK(record_streak(fx, &d[1], HOOKD_DS_RETRYING, 1, HOOKD_EV_RETRY, T0 + 400), 0, 0);
}

/*
 * test_store_logs.c — conformance of the log reads (delivery_list paging
 * newest first, filtered by states, per webhook; delivery_get per webhook)
 * and of the counters read back (webhook_stats for several keys,
 * webhook_hours bucket by bucket). Backend-neutral: see test_store.h.
 */
#include <stdlib.h>

#include "test_store.h"

#define N_ITEMS 250 /* two deliveries each: 500 over three webhooks */

/* Three webhooks: s (act::s), o (act::o), all ("*"); items alternate act::s
 * and act::o, so every item makes one for all and one for s or o. */
typedef struct logs {
    hookd_webhook *wh[3];
    made_ref d[2 * N_ITEMS];
    size_t n;
} logs;

static bool make_logs(store_fx *fx, logs *l)
{
    l->wh[0] = fx_webhook(fx, WH_JSON("s", ACTS_S));
    l->wh[1] = fx_webhook(fx, WH_JSON("o", ACTS_O));
    l->wh[2] = fx_webhook(fx, WH_JSON("all", ACTS_ALL));
    if (!l->wh[0] || !l->wh[1] || !l->wh[2])
        return false;
    l->n = 0;
    for (int batch = 0; batch < N_ITEMS / 50; batch++) {
        for (int parity = 0; parity < 2; parity++) {
            size_t got = fx_deliver(fx, 25, parity ? "act::o" : "act::s", T0 + batch, l->d + l->n,
                                    2 * N_ITEMS - l->n);
            l->n += got;
        }
    }
    CHECK_INT(l->n, 2 * N_ITEMS);
    return l->n == 2 * N_ITEMS;
}

/* The deliveries of webhook key, in seq order. */
static size_t of_webhook(const logs *l, int64_t key, const made_ref **out)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->d[i].webhook == key)
            out[n++] = &l->d[i];
    }
    return n;
}

/* Pages through key's log in states (n_states) by limit and checks it is
 * exactly want[0..n_want) (seq order) newest first: every page full but the
 * last, next_cursor 0 exactly on the last. */
static void check_log(store_fx *fx, int64_t key, const hookd_delivery_state *states,
                      size_t n_states, int limit, const made_ref *const *want, size_t n_want)
{
    int64_t cursor = 0;
    size_t seen = 0, pages = 0;
    do {
        hookd_delivery **list = NULL;
        size_t n = 0;
        int64_t next = -1;
        int rc = hookd_store_delivery_list(fx->st, key, states, n_states, limit, cursor, &list, &n,
                                           &next);
        CHECK_INT(rc, 0);
        if (rc)
            return;
        pages++;
        for (size_t i = 0; i < n; i++) {
            size_t k = seen + i;
            if (k < n_want) {
                const made_ref *w = want[n_want - 1 - k]; /* newest first */
                if (list[i]->seq != w->seq || strcmp(list[i]->id, w->id) != 0)
                    unit_fail(__FILE__, __LINE__,
                              "entry %zu of webhook %lld: seq %lld, expected %lld", k,
                              (long long)key, (long long)list[i]->seq, (long long)w->seq);
            }
            bool in = n_states == 0;
            for (size_t s = 0; s < n_states; s++)
                in = in || list[i]->state == states[s];
            CHECK(in);
        }
        seen += n;
        bool last = seen >= n_want;
        CHECK_INT(n, last ? n_want - (pages - 1) * (size_t)limit : (size_t)limit);
        CHECK_INT(next, last ? 0 : list[n - 1]->seq);
        for (size_t i = 0; i < n; i++)
            hookd_delivery_free(list[i]);
        free(list);
        cursor = next;
    } while (cursor && pages <= n_want);
    CHECK_INT(seen, n_want);
}

STORE_TEST(logs_page_newest_first_per_webhook)
{
    static logs l;
    if (!make_logs(fx, &l))
        return;
    static const made_ref *mine[2 * N_ITEMS];
    for (int w = 0; w < 3; w++) {
        size_t n = of_webhook(&l, l.wh[w]->key, mine);
        CHECK_INT(n, w == 2 ? 250 : 125);
        check_log(fx, l.wh[w]->key, NULL, 0, 7, mine, n);
        check_log(fx, l.wh[w]->key, NULL, 0, 25, mine, n); /* 125 = 5 full pages */
        check_log(fx, l.wh[w]->key, NULL, 0, 1000, mine, n);
    }
    check_log(fx, 424242, NULL, 0, 10, NULL, 0);
    /* A delivery is found only under its own webhook. */
    hookd_delivery *d = NULL;
    hookd_attempt *a = NULL;
    size_t na = 0;
    const made_ref *s0 = NULL;
    of_webhook(&l, l.wh[0]->key, mine);
    s0 = mine[0];
    CHECK_INT(hookd_store_delivery_get(fx->st, l.wh[2]->key, s0->id, &d, &a, &na), HOOKD_ENOTFOUND);
    CHECK_INT(hookd_store_delivery_get(fx->st, l.wh[1]->key, s0->id, &d, &a, &na), HOOKD_ENOTFOUND);
    CHECK_INT(hookd_store_delivery_get(fx->st, l.wh[0]->key, "no-such-delivery", &d, &a, &na),
              HOOKD_ENOTFOUND);
    CHECK(d == NULL);
}

/* A page ends after the delivery that takes it past HOOKD_STORE_PAGE_BYTES
 * (12 bodies of 1 MiB: a limit of 50 would read and answer them all at
 * once), and the next page goes on from there: every delivery once, newest
 * first. The bodies do not compress, so PostgreSQL's statement itself must
 * leave the rest in the database. */
STORE_TEST(logs_page_stops_at_its_byte_budget)
{
    enum { N = 12 };
    hookd_webhook *wh = fx_webhook(fx, WH_JSON("big", ACTS_ALL));
    if (!wh)
        return;
    const char *contact = fx_contact(fx);
    hookd_ingest_item items[N];
    for (size_t i = 0; i < N; i++)
        items[i] = (hookd_ingest_item){.contact_id = contact, .created_ms = T0};
    test_plan tp = TEST_PLAN("big");
    tp.pad = 1u << 20;
    CHECK_INT(fx_ingest(fx, items, N, &tp, NULL), 0);
    CHECK_INT(tp.n_made, N);
    int64_t cursor = 0, last_seq = INT64_MAX;
    size_t seen = 0, pages = 0;
    do {
        hookd_delivery **list = NULL;
        size_t n = 0;
        int64_t next = -1;
        int rc = hookd_store_delivery_list(fx->st, wh->key, NULL, 0, 50, cursor, &list, &n, &next);
        CHECK_INT(rc, 0);
        if (rc)
            break;
        pages++;
        size_t bytes = 0;
        for (size_t i = 0; i < n; i++) {
            CHECK(list[i]->seq < last_seq); /* newest first, none twice */
            last_seq = list[i]->seq;
            CHECK(strlen(list[i]->body) > tp.pad); /* whole bodies */
            if (i + 1 < n)
                bytes += strlen(list[i]->body);
        }
        CHECK(n >= 1);
        CHECK(bytes < HOOKD_STORE_PAGE_BYTES); /* only the last may take it past */
        seen += n;
        CHECK_INT(next, seen < N ? list[n - 1]->seq : 0);
        for (size_t i = 0; i < n; i++)
            hookd_delivery_free(list[i]);
        free(list);
        cursor = next;
    } while (cursor && pages <= N);
    CHECK_INT(seen, N);
    CHECK_INT(pages, 2); /* 8 MiB, then the 4 left */
    test_plan_clear(&tp);
}

/* The same delivery reads the same from the list and from get. */
STORE_TEST(logs_list_and_get_agree)
{
    hookd_webhook *wh = fx_webhook(fx, "{\"name\":\"g\",\"url\":\"https://g.example.com/\","
                                       "\"method\":\"DELETE\",\"activities\":[\"*\"]}");
    made_ref d[2];
    if (!wh || fx_deliver(fx, 2, "act::s", T0, d, 2) != 2)
        return;
    hookd_outcome o = outcome_of(&d[1], HOOKD_DS_PENDING, 0, HOOKD_EV_RETRY, T0 + 1000);
    CHECK_INT(fx_record(fx, &o), HOOKD_DS_RETRYING);
    hookd_delivery **list = NULL;
    size_t n = 0;
    int64_t next = -1;
    CHECK_INT(hookd_store_delivery_list(fx->st, wh->key, NULL, 0, 10, 0, &list, &n, &next), 0);
    CHECK_INT(n, 2);
    for (size_t i = 0; i < n; i++) {
        hookd_delivery *g = fx_get(fx, wh->key, list[i]->id, NULL, NULL);
        if (!g)
            continue;
        const hookd_delivery *a = list[i];
        CHECK(a->seq == g->seq && a->kind == g->kind && a->state == g->state &&
              a->attempts == g->attempts && a->created_at == g->created_at &&
              a->next_attempt_at == g->next_attempt_at && a->method == g->method &&
              a->last_at == g->last_at && a->status_code == g->status_code &&
              a->duration_ms == g->duration_ms);
        CHECK_INT(a->method, HOOKD_METHOD_DELETE);
        CHECK(a->query != NULL); /* DELETE carries its payload as a query */
        CHECK_STR_OR_NULL(a->query, g->query);
        CHECK_STR_OR_NULL(a->body, g->body);
        CHECK_STR_OR_NULL(a->error, g->error);
        CHECK_STR_OR_NULL(a->response_body, g->response_body);
        CHECK_STR_OR_NULL(a->signature, g->signature);
        CHECK_STR_OR_NULL(a->sent_url, g->sent_url);
        CHECK_STR_OR_NULL(a->headers, g->headers);
        CHECK_STR_OR_NULL(a->activity_id, g->activity_id);
        CHECK_STR_OR_NULL(a->field_id, g->field_id);
        hookd_delivery_free(g);
    }
    for (size_t i = 0; i < n; i++)
        hookd_delivery_free(list[i]);
    free(list);
}

STORE_TEST(logs_filter_by_states)
{
    static logs l;
    if (!make_logs(fx, &l))
        return;
    int64_t key = l.wh[2]->key;
    static const made_ref *all[2 * N_ITEMS];
    size_t n = of_webhook(&l, key, all);
    /* by k % 5: retrying, last_try, succeeded, failed, pending */
    static hookd_outcome o[2 * N_ITEMS];
    size_t no = 0;
    for (size_t k = 0; k < n; k++) {
        static const hookd_ds_event EV[4] = {HOOKD_EV_RETRY, HOOKD_EV_FAILED, HOOKD_EV_SUCCEEDED,
                                             HOOKD_EV_FAILED};
        if (k % 5 < 4)
            o[no++] = outcome_of(all[k], HOOKD_DS_PENDING, 0, EV[k % 5], T0 + 1000);
    }
    CHECK_INT(hookd_store_record_outcomes(fx->st, o, no, NULL, NULL), 0);
    for (size_t k = 1; k < n; k += 5)
        CHECK_INT(hookd_store_delivery_retry(fx->st, l.wh[2]->id, all[k]->id, T0 + 2000), 0);

    static const made_ref *want[2 * N_ITEMS];
    static const hookd_delivery_state RETRYING[] = {HOOKD_DS_RETRYING, HOOKD_DS_LAST_TRY};
    size_t nw = 0;
    for (size_t k = 0; k < n; k++) {
        if (k % 5 < 2)
            want[nw++] = all[k];
    }
    check_log(fx, key, RETRYING, 2, 9, want, nw);
    check_log(fx, key, RETRYING, 2, 20, want, nw); /* 100: five full pages */
    static const hookd_delivery_state DONE[] = {HOOKD_DS_SUCCEEDED, HOOKD_DS_FAILED};
    nw = 0;
    for (size_t k = 0; k < n; k++) {
        if (k % 5 == 2 || k % 5 == 3)
            want[nw++] = all[k];
    }
    check_log(fx, key, DONE, 2, 13, want, nw);
    static const hookd_delivery_state PENDING[] = {HOOKD_DS_PENDING};
    nw = 0;
    for (size_t k = 0; k < n; k++) {
        if (k % 5 == 4)
            want[nw++] = all[k];
    }
    check_log(fx, key, PENDING, 1, 11, want, nw);
    static const hookd_delivery_state NONE[] = {HOOKD_DS_HELD, HOOKD_DS_CANCELLED};
    check_log(fx, key, NONE, 2, 10, NULL, 0);
    /* The other webhooks' logs did not move. */
    n = of_webhook(&l, l.wh[0]->key, all);
    check_log(fx, l.wh[0]->key, PENDING, 1, 50, all, n);
}

/* ---- stats and hours ---------------------------------------------------------- */

STORE_TEST(stats_for_several_keys_at_once)
{
    hookd_webhook *a = fx_webhook(fx, WH_JSON("a", ACTS_S));
    hookd_webhook *b = fx_webhook(fx, WH_JSON("b", ACTS_ALL));
    made_ref d[6];
    if (!a || !b || fx_deliver(fx, 3, "act::s", T0, d, 6) != 6)
        return;
    /* a: one succeeded, one failed, one pending; b: all three pending, and
     * one activity skipped while disconnected */
    size_t ia = 0;
    for (size_t i = 0; i < 6; i++) {
        if (d[i].webhook != a->key)
            continue;
        hookd_ds_event ev = ia == 0 ? HOOKD_EV_SUCCEEDED : HOOKD_EV_FAILED;
        if (ia++ < 2) {
            hookd_outcome o = outcome_of(&d[i], HOOKD_DS_PENDING, 0, ev, T0 + 1000);
            fx_record(fx, &o);
        }
    }
    CHECK_INT(fx_connect(fx, b, false), 0);
    made_ref more[1];
    CHECK_INT(fx_deliver(fx, 1, "act::o", T0, more, 1), 0); /* b skips it, a does not want it */
    int64_t keys[4] = {a->key, 987654, b->key, a->key};
    hookd_webhook_stats s[4];
    memset(s, 0xff, sizeof s);
    CHECK_INT(hookd_store_webhook_stats(fx->st, keys, 4, T0 + HOUR_MS, s), 0);
    CHECK(s[0].succeeded_24h == 1 && s[0].failed_24h == 1 && s[0].pending == 1 &&
          s[0].skipped == 0);
    CHECK(s[1].succeeded_24h == 0 && s[1].failed_24h == 0 && s[1].pending == 0 &&
          s[1].skipped == 0);
    CHECK(s[2].succeeded_24h == 0 && s[2].failed_24h == 0 && s[2].pending == 3 &&
          s[2].skipped == 1);
    CHECK(memcmp(&s[3], &s[0], sizeof s[0]) == 0);
    CHECK_INT(hookd_store_webhook_stats(fx->st, keys, 0, T0, s), 0);
}

STORE_TEST(hours_bucket_by_hour_zeros_included)
{
    hookd_webhook *a = fx_webhook(fx, WH_JSON("a", ACTS_S));
    hookd_webhook *b = fx_webhook(fx, WH_JSON("b", ACTS_S));
    made_ref d[10];
    if (!a || !b || fx_deliver(fx, 5, "act::s", T0, d, 10) != 10)
        return;
    const int64_t first = T0 - 2 * HOUR_MS;
    /* finishes at: -90 min (bucket 0), +30 min (2), +30 min (2), +3h01 (5),
     * +3h59 retry (5); b gets one at +30 min that a must not see */
    static const struct {
        int64_t at;
        hookd_ds_event ev;
    } A[5] = {{T0 - 90 * 60000, HOOKD_EV_SUCCEEDED},
              {T0 + 30 * 60000, HOOKD_EV_FAILED},
              {T0 + 30 * 60000, HOOKD_EV_SUCCEEDED},
              {T0 + 181 * 60000, HOOKD_EV_SUCCEEDED},
              {T0 + 239 * 60000, HOOKD_EV_RETRY}};
    size_t ia = 0, ib = 0;
    for (size_t i = 0; i < 10; i++) {
        hookd_outcome o;
        if (d[i].webhook == a->key && ia < 5) {
            o = outcome_of(&d[i], HOOKD_DS_PENDING, 0, A[ia].ev, A[ia].at - 20);
            ia++;
        } else if (d[i].webhook == b->key && ib++ == 0) {
            o = outcome_of(&d[i], HOOKD_DS_PENDING, 0, HOOKD_EV_SUCCEEDED, T0 + 30 * 60000);
        } else {
            continue;
        }
        fx_record(fx, &o);
    }
    hookd_hour_counts h[7];
    memset(h, 0xff, sizeof h);
    CHECK_INT(hookd_store_webhook_hours(fx->st, a->key, first, 7, h), 0);
    static const hookd_hour_counts WANT[7] = {{1, 0, 0}, {0, 0, 0}, {1, 1, 0}, {0, 0, 0},
                                              {0, 0, 0}, {1, 0, 1}, {0, 0, 0}};
    for (int i = 0; i < 7; i++) {
        if (h[i].succeeded != WANT[i].succeeded || h[i].failed != WANT[i].failed ||
            h[i].retried != WANT[i].retried)
            unit_fail(__FILE__, __LINE__, "hour %d: %lld/%lld/%lld, expected %lld/%lld/%lld", i,
                      (long long)h[i].succeeded, (long long)h[i].failed, (long long)h[i].retried,
                      (long long)WANT[i].succeeded, (long long)WANT[i].failed,
                      (long long)WANT[i].retried);
    }
    /* a window that starts later shifts the buckets */
    CHECK_INT(hookd_store_webhook_hours(fx->st, a->key, T0, 1, h), 0);
    CHECK(h[0].succeeded == 1 && h[0].failed == 1 && h[0].retried == 0);
    /* a webhook with nothing, and one that does not exist: zeros */
    hookd_hour_counts z[3];
    memset(z, 0xff, sizeof z);
    CHECK_INT(hookd_store_webhook_hours(fx->st, 987654, first, 3, z), 0);
    for (int i = 0; i < 3; i++)
        CHECK(z[i].succeeded == 0 && z[i].failed == 0 && z[i].retried == 0);
}

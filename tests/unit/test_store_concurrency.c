/*
 * test_store_concurrency.c — conformance under concurrent callers: many
 * threads ingesting at once (with merges, webhook changes and failing
 * commands mixed in) each get their own right answer, every delivery is
 * stored and told exactly once in rising seq order, and the counters add
 * up, before and after a reopen. A log read racing prune and outcomes
 * always answers one consistent page. Backend-neutral: see test_store.h.
 *
 * Threads record their own failures (the harness's CHECK is for the main
 * thread) and the main thread reports them after the join.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_store.h"

#define THREADS 8
#define ROUNDS 20
#define ITEMS 4

typedef struct worker {
    store_fx *fx;
    int n;                   /* which thread */
    const char *spare_id;    /* the webhook every thread renames now and then */
    test_plan tp;            /* every delivery this thread's ingests planned */
    bool shared_new[ROUNDS]; /* item 2, the same activity id in every thread */
    int changes;             /* renames of the spare webhook that went through */
    int failures;
    char first_failure[200];
} worker;

static void fail(worker *w, const char *what, int got, int want)
{
    if (w->failures++ == 0)
        snprintf(w->first_failure, sizeof w->first_failure, "thread %d: %s: %d, expected %d", w->n,
                 what, got, want);
}

static void expect(worker *w, const char *what, int got, int want)
{
    if (got != want)
        fail(w, what, got, want);
}

static void *work(void *arg)
{
    worker *w = arg;
    hookd_store *st = w->fx->st;
    char email[64], ids[ROUNDS][ITEMS][48];
    snprintf(email, sizeof email, "{\"str::email\":\"t%d@example.com\"}", w->n);
    hookd_merge_person me = mp_make(email, NULL, NULL, 0);
    hookd_merge_result r = {0};
    expect(w, "people_merge", hookd_store_people_merge(st, &me, 1, T0, &r), 0);
    expect(w, "created", r.created, 1);
    for (int round = 0; round < ROUNDS; round++) {
        snprintf(ids[round][0], sizeof ids[round][0], "t%d-r%d-0", w->n, round);
        snprintf(ids[round][1], sizeof ids[round][1], "t%d-r%d-1", w->n, round);
        snprintf(ids[round][2], sizeof ids[round][2], "shared-r%d", round);
        /* item 3 repeats the previous round's item 0 (an action in round 0) */
        hookd_ingest_item items[ITEMS] = {
            {.activity_id = ids[round][0], .merge = &me, .created_ms = T0 + round},
            {.activity_id = ids[round][1], .contact_id = r.id, .created_ms = T0 + round},
            {.activity_id = ids[round][2], .contact_id = r.id, .created_ms = T0 + round},
            {.activity_id = round ? ids[round - 1][0] : NULL,
             .contact_id = r.id,
             .created_ms = T0 + round}};
        size_t made_before = w->tp.n_made;
        expect(w, "ingest", fx_ingest(w->fx, items, ITEMS, &w->tp, NULL), 0);
        expect(w, "item 0 duplicate", items[0].duplicate, 0);
        expect(w, "item 1 duplicate", items[1].duplicate, 0);
        expect(w, "item 3 duplicate", items[3].duplicate, round > 0);
        w->shared_new[round] = !items[2].duplicate;
        /* two webhooks want everything: two deliveries per new item */
        size_t new_items = 2 + w->shared_new[round] + (round == 0);
        expect(w, "deliveries made", (int)(w->tp.n_made - made_before), (int)(2 * new_items));

        if (round % 5 == 2) {
            char patch[64];
            snprintf(patch, sizeof patch, "{\"name\":\"t%d-r%d\"}", w->n, round);
            int rc = hookd_store_webhook_change(st, w->spare_id, change_apply, patch, NULL);
            expect(w, "webhook_change", rc, 0);
            w->changes += rc == 0;
        }
        if (round % 7 == 3) {
            char last[96];
            snprintf(last, sizeof last,
                     "{\"str::email\":\"t%d@example.com\",\"str::last\":\"r%d\"}", w->n, round);
            hookd_merge_person m = mp_make(last, NULL, NULL, 0);
            hookd_merge_result again = {0};
            expect(w, "people_merge again", hookd_store_people_merge(st, &m, 1, T0, &again), 0);
            expect(w, "merged into the same person", strcmp(again.id, r.id), 0);
            hookd_merge_person_clear(&m);
        }
        if (round % 6 == 4) {
            /* Commands that fail beside the others must fail alone. */
            hookd_ingest_item bad[2] = {
                {.activity_id = "never-kept", .contact_id = r.id, .created_ms = T0},
                {.activity_id = "never-kept-2",
                 .contact_id = "0190f3a2-0000-7000-8000-0000000dead0",
                 .created_ms = T0}};
            test_plan tp = TEST_PLAN("bad");
            size_t failed = 99;
            expect(w, "bad ingest", fx_ingest(w->fx, bad, 2, &tp, &failed), HOOKD_ENOTFOUND);
            expect(w, "failed_index", (int)failed, 1);
            test_plan_clear(&tp);
        }
    }
    hookd_merge_person_clear(&me);
    return NULL;
}

/* Sorts made ids for comparison. */
static int cmp_id(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

STORE_TEST(concurrent_ingest_group_commit)
{
    hookd_webhook *a = fx_webhook(fx, WH_JSON("a", ACTS_ALL));
    hookd_webhook *b = fx_webhook(fx, "{\"name\":\"b\",\"url\":\"https://b.example.com/\","
                                      "\"method\":\"GET\",\"activities\":[\"*\"]}");
    hookd_webhook *spare = fx_webhook(fx, WH_JSON("spare", ACTS_O));
    if (!a || !b || !spare)
        return;
    static worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.fx = fx, .n = i, .spare_id = spare->id};
        w[i].tp = (test_plan)TEST_PLAN("conc");
    }
    size_t mark = rec_mark(&fx->rec);
    for (int i = 0; i < THREADS; i++)
        CHECK_INT(pthread_create(&t[i], NULL, work, &w[i]), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);

    size_t made = 0, for_a = 0;
    int changes = 0;
    for (int i = 0; i < THREADS; i++) {
        if (w[i].failures)
            unit_fail(__FILE__, __LINE__, "%d failures, the first: %s", w[i].failures,
                      w[i].first_failure);
        made += w[i].tp.n_made;
        changes += w[i].changes;
        for (size_t k = 0; k < w[i].tp.n_made; k++)
            for_a += w[i].tp.made[k].webhook == a->key;
    }
    /* Exactly one thread stored each shared activity id. */
    for (int round = 0; round < ROUNDS; round++) {
        int winners = 0;
        for (int i = 0; i < THREADS; i++)
            winners += w[i].shared_new[round];
        CHECK_INT(winners, 1);
    }

    /* The listener saw every delivery made, once, and nothing of the
     * failed commands; seqs rise within each call, and from one call to the
     * next where one writer commits in order (a store of one process:
     * store.h says a shared store may call from several threads at once). */
    bool ordered = !hookd_store_shared(fx->st);
    const char **told = calloc(made + 1, sizeof *told),
               **planned = calloc(made + 1, sizeof *planned);
    size_t n_told = 0, n_planned = 0;
    int64_t last = 0, highest = 0;
    bool rising = true;
    for (size_t i = mark; i < fx->rec.n; i++) {
        const rec_event *e = &fx->rec.ev[i];
        if (e->kind != REC_FRESH)
            continue;
        bool same_call = i > mark && fx->rec.ev[i - 1].kind == REC_FRESH &&
                         fx->rec.ev[i - 1].call == e->call;
        if (ordered || same_call)
            rising = rising && e->job.seq > last;
        last = e->job.seq;
        if (last > highest)
            highest = last;
        if (n_told < made)
            told[n_told] = e->job.id;
        n_told++;
    }
    CHECK(rising);
    CHECK_INT(n_told, made);
    for (int i = 0; i < THREADS; i++)
        for (size_t k = 0; k < w[i].tp.n_made && n_planned < made; k++)
            planned[n_planned++] = w[i].tp.made[k].id;
    if (told && planned && n_told == made && n_planned == made) {
        qsort(told, made, sizeof *told, cmp_id);
        qsort(planned, made, sizeof *planned, cmp_id);
        for (size_t i = 0; i < made; i++) {
            if (strcmp(told[i], planned[i]) != 0 || (i && strcmp(told[i], told[i - 1]) == 0)) {
                unit_fail(__FILE__, __LINE__, "told %s where %s was planned", told[i], planned[i]);
                break;
            }
        }
    }
    free(told);
    free(planned);

    /* Stored once each, counted once each: before and after a reopen. */
    for (int pass = 0; pass < 2; pass++) {
        CHECK_INT(fx_stats(fx, a->key, T0).pending, for_a);
        CHECK_INT(fx_stats(fx, b->key, T0).pending, made - for_a);
        CHECK_INT(fx_log_walk(fx, a->key, NULL, NULL), for_a);
        CHECK_INT(fx_log_walk(fx, b->key, NULL, NULL), made - for_a);
        int64_t top = 0;
        CHECK_INT(hookd_store_max_seq(fx->st, &top), 0);
        /* The highest seq told, not the last: a shared store tells from
         * several threads, in no order between calls. */
        CHECK_INT(top, highest);
        hookd_webhook *got = NULL;
        CHECK_INT(hookd_store_webhook_get(fx->st, spare->id, &got), 0);
        if (got)
            CHECK_INT(got->version, 1 + (uint64_t)changes);
        hookd_webhook_free(got);
        if (pass == 0 && !fx_reopen(fx))
            break;
    }
    CHECK_INT(changes, THREADS * ((ROUNDS + 2) / 5));
    for (int i = 0; i < THREADS; i++)
        test_plan_clear(&w[i].tp);
}

/* ---- log reads racing prune and outcomes ---------------------------------------- */

typedef struct lister {
    store_fx *fx;
    int64_t key;
    const char *hot; /* a delivery whose attempts keep coming */
    atomic_int stop;
    int reads, failures, wrong_state, wrong_attempts;
    int first_rc;
} lister;

static void note_rc(lister *l, int rc)
{
    if (rc && l->failures++ == 0)
        l->first_rc = rc;
}

/* One page of pending entries: all pending. */
static void read_page(lister *l)
{
    static const hookd_delivery_state PENDING[] = {HOOKD_DS_PENDING};
    hookd_delivery **list = NULL;
    size_t n = 0;
    int64_t next = 0;
    int rc = hookd_store_delivery_list(l->fx->st, l->key, PENDING, 1, 100, 0, &list, &n, &next);
    note_rc(l, rc);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        l->wrong_state += list[i]->state != HOOKD_DS_PENDING;
        hookd_delivery_free(list[i]);
    }
    free(list);
}

/* The hot delivery: as many attempts listed as it says it has, in order. */
static void read_hot(lister *l)
{
    hookd_delivery *d = NULL;
    hookd_attempt *a = NULL;
    size_t n = 0;
    int rc = hookd_store_delivery_get(l->fx->st, l->key, l->hot, &d, &a, &n);
    note_rc(l, rc);
    if (rc == 0) {
        bool ok = n == (size_t)d->attempts;
        for (size_t i = 1; i < n; i++)
            ok = ok && a[i - 1].time_ms < a[i].time_ms;
        l->wrong_attempts += !ok;
    }
    hookd_delivery_free(d);
    hookd_attempts_free(a, n);
}

static void *list_loop(void *arg)
{
    lister *l = arg;
    while (!atomic_load(&l->stop) || l->reads < 5) {
        read_page(l);
        read_hot(l);
        l->reads++;
    }
    return NULL;
}

/* A read answers from one state of the store: entries that go (pruned) or
 * change (an outcome) while a page is read are in it as they were or not in
 * it, never an error or an entry outside the filter; a delivery read while
 * its attempts are recorded lists as many attempts as it counts. */
STORE_TEST(concurrent_log_reads_see_one_state)
{
    hookd_webhook *wh = fx_webhook(fx, WH_JSON("a", ACTS_ALL));
    static made_ref d[601];
    if (!wh || fx_deliver(fx, 601, "act::s", T0, d, 601) != 601)
        return;
    lister l = {.fx = fx, .key = wh->key, .hot = d[600].id};
    pthread_t t;
    CHECK_INT(pthread_create(&t, NULL, list_loop, &l), 0);
    /* Finish them newest first in small batches, pruning as they go, so the
     * lister's newest-first pages keep losing entries to both; the hot one
     * gets an attempt each time. */
    for (int i = 599, k = 0; i >= 0; i -= 10, k++) {
        hookd_outcome o[11];
        for (int j = 0; j < 10; j++)
            o[j] = outcome_of(&d[i - j], HOOKD_DS_PENDING, 0, HOOKD_EV_SUCCEEDED, T0 + 1000);
        o[10] = outcome_of(&d[600], k ? HOOKD_DS_RETRYING : HOOKD_DS_PENDING, k, HOOKD_EV_RETRY,
                           T0 + 1000 + k);
        CHECK_INT(hookd_store_record_outcomes(fx->st, o, 11, NULL, NULL), 0);
        int deleted = 0;
        CHECK_INT(hookd_store_prune(fx->st, FAR, 1000, &deleted), 0);
    }
    atomic_store(&l.stop, 1);
    pthread_join(t, NULL);
    CHECK(l.reads > 0);
    if (l.failures)
        unit_fail(__FILE__, __LINE__, "%d of %d reads failed (first: %d)", l.failures, 2 * l.reads,
                  l.first_rc);
    CHECK_INT(l.wrong_state, 0);
    CHECK_INT(l.wrong_attempts, 0);
}

/*
 * test_store_ingest.c — conformance of hookd_store_ingest: idempotency by
 * activity id, contacts by id or merge inside the batch, the plan (called
 * once per new item, in order, with the person, account and every webhook
 * as of the command), skipped counts, what the listener's fresh is told,
 * and "everything or nothing". Backend-neutral: see test_store.h.
 */
#include <stdlib.h>

#include "test_store.h"
#include "util/timeutil.h"

#define WH_ALL WH_JSON("all", ACTS_ALL)
#define WH_GET_S                                                                                   \
    "{\"name\":\"get-s\",\"url\":\"https://get.example.com/q\",\"method\":\"GET\","                \
    "\"activities\":[\"act::s\"]}"
#define WH_O WH_JSON("o", ACTS_O)

static hookd_ingest_item by_id(const char *activity_id, const char *contact, int64_t created)
{
    return (hookd_ingest_item){
        .activity_id = activity_id, .contact_id = contact, .created_ms = created};
}

static hookd_ingest_item by_merge(const char *activity_id, const hookd_merge_person *m,
                                  int64_t created)
{
    return (hookd_ingest_item){.activity_id = activity_id, .merge = m, .created_ms = created};
}

/* Merges one person (and account); returns its contact id in out. */
static void person(store_fx *fx, const char *fields, const char *account, char out[HOOKD_ID_MAX])
{
    hookd_merge_person m = mp_make(fields, account, NULL, 0);
    hookd_merge_result r = {0};
    CHECK_INT(hookd_store_people_merge(fx->st, &m, 1, T0, &r), 0);
    hookd_merge_person_clear(&m);
    memcpy(out, r.id, HOOKD_ID_MAX);
}

/* Checks that the fresh events after mark are exactly the deliveries tp
 * planned, in plan order, with rising seqs above *last_seq (updated), as a
 * new delivery is: pending, never attempted, due now, its bytes as planned. */
static void check_fresh(store_fx *fx, size_t mark, const test_plan *tp, int64_t *last_seq)
{
    int64_t now = hookd_now_ms();
    size_t k = 0;
    for (size_t i = mark; i < fx->rec.n; i++) {
        const rec_event *e = &fx->rec.ev[i];
        if (e->kind != REC_FRESH)
            continue;
        if (k >= tp->n_made) {
            unit_fail(__FILE__, __LINE__, "a fresh delivery nobody planned: %s", e->job.id);
            k++;
            continue;
        }
        const plan_made *m = &tp->made[k++];
        const hookd_job *j = &e->job;
        CHECK_STR(j->id, m->id);
        CHECK(j->seq > *last_seq);
        *last_seq = j->seq;
        CHECK_INT(j->webhook, m->webhook);
        CHECK_INT(e->key, m->webhook);
        CHECK_INT(j->method, m->method);
        CHECK_INT(j->state, HOOKD_DS_PENDING);
        CHECK_INT(j->attempts, 0);
        CHECK(j->next_at > 0 && j->next_at <= now);
        CHECK_STR_OR_NULL(j->query, m->query);
        CHECK_STR(j->body, m->body);
        CHECK_INT(j->body_len, strlen(m->body));
    }
    CHECK_INT(k, tp->n_made);
}

/* Nothing of a failed batch is there: no delivery, no counter, no listener
 * call (after mark). */
static void check_nothing_made(store_fx *fx, size_t mark, const hookd_webhook *wh)
{
    int64_t top = -1;
    CHECK_INT(hookd_store_max_seq(fx->st, &top), 0);
    CHECK_INT(top, 0);
    CHECK_INT(rec_mark(&fx->rec), mark);
    hookd_webhook_stats s = fx_stats(fx, wh->key, T0);
    CHECK_INT(s.pending, 0);
    CHECK_INT(s.skipped, 0);
    hookd_delivery **list = NULL;
    size_t n = 99;
    int64_t next = -1;
    CHECK_INT(hookd_store_delivery_list(fx->st, wh->key, NULL, 0, 10, 0, &list, &n, &next), 0);
    CHECK_INT(n, 0);
    free(list);
}

STORE_TEST(ingest_makes_the_planned_deliveries)
{
    hookd_webhook *all = fx_webhook(fx, WH_ALL), *get = fx_webhook(fx, WH_GET_S),
                  *other = fx_webhook(fx, WH_O);
    if (!all || !get || !other)
        return;
    char p[HOOKD_ID_MAX];
    person(fx, "{\"str::email\":\"p@example.com\",\"str::first\":\"Pat\"}",
           "{\"str:o:name\":\"Acme\"}", p);
    hookd_ingest_item items[3] = {by_id("a1", p, T0), by_id("a2", p, T0 + 1),
                                  by_id("a3", p, T0 + 2)};
    test_plan tp = TEST_PLAN("made");
    size_t mark = rec_mark(&fx->rec);
    CHECK_INT(fx_ingest(fx, items, 3, &tp, NULL), 0);
    for (int i = 0; i < 3; i++)
        CHECK(!items[i].duplicate);

    /* The plan: once per item, in order, with the person, its account and
     * every webhook oldest first. */
    CHECK_INT(tp.n_calls, 3);
    for (size_t i = 0; i < tp.n_calls; i++) {
        const plan_call *c = &tp.calls[i];
        CHECK_INT(c->index, i);
        CHECK_STR(c->contact_id, p);
        CHECK_STR(json_string_value(json_object_get(c->person, "str::first")), "Pat");
        CHECK(c->account != NULL);
        CHECK_STR(json_string_value(json_object_get(c->account, "str:o:name")), "Acme");
        CHECK_INT(c->n_webhooks, 3);
        CHECK(c->keys[0] == all->key && c->keys[1] == get->key && c->keys[2] == other->key);
        CHECK(c->connected[0] && c->connected[1] && c->connected[2]);
    }
    CHECK_INT(tp.n_made, 6); /* all and get-s want act::s; o does not */
    int64_t last = 0;
    check_fresh(fx, mark, &tp, &last);

    /* The log shows each as planned, never attempted. */
    for (size_t k = 0; k < tp.n_made; k++) {
        const plan_made *m = &tp.made[k];
        hookd_attempt *att = NULL;
        size_t n_att = 99;
        hookd_delivery *d = fx_get(fx, m->webhook, m->id, &att, &n_att);
        if (!d)
            continue;
        const rec_event *e = rec_fresh(&fx->rec, m->id);
        CHECK_INT(d->seq, e ? e->job.seq : -1);
        CHECK_INT(d->kind, HOOKD_KIND_ACTIVITY);
        CHECK_STR(d->activity_id, items[m->item].activity_id);
        CHECK_STR(d->field_id, "act::s");
        CHECK_INT(d->state, HOOKD_DS_PENDING);
        CHECK_INT(d->attempts, 0);
        CHECK_INT(d->created_at, T0 + (int64_t)m->item);
        CHECK_INT(d->next_attempt_at, e ? e->job.next_at : -1);
        CHECK_INT(d->method, m->method);
        CHECK_STR_OR_NULL(d->query, m->query);
        CHECK_STR(d->body, m->body);
        CHECK(d->sent_url == NULL && d->signature == NULL && d->headers == NULL);
        CHECK(d->error == NULL && d->response_body == NULL);
        CHECK_INT(d->status_code, 0);
        CHECK_INT(d->duration_ms, -1);
        CHECK_INT(n_att, 0);
        hookd_attempts_free(att, n_att);
        hookd_delivery_free(d);
    }
    CHECK_INT(fx_stats(fx, all->key, T0).pending, 3);
    CHECK_INT(fx_stats(fx, get->key, T0).pending, 3);
    CHECK_INT(fx_stats(fx, other->key, T0).pending, 0);
    int64_t top = 0;
    CHECK_INT(hookd_store_max_seq(fx->st, &top), 0);
    CHECK_INT(top, last);
    /* Due now: the engine's read finds them. */
    hookd_job *due = NULL;
    CHECK_INT(fx_due_all(fx, all->key, hookd_now_ms(), &due), 3);
    fx_jobs_free(due, 3);
    test_plan_clear(&tp);
}

STORE_TEST(ingest_duplicates_get_no_plan_call)
{
    hookd_webhook *all = fx_webhook(fx, WH_ALL);
    if (!all)
        return;
    const char *p = fx_contact(fx);
    hookd_ingest_item first[2] = {by_id("a1", p, T0), by_id("a2", p, T0)};
    test_plan tp1 = TEST_PLAN("first");
    CHECK_INT(fx_ingest(fx, first, 2, &tp1, NULL), 0);
    CHECK(!first[0].duplicate && !first[1].duplicate);

    /* a2 and a1 are stored; a3 comes twice in this batch; the action (no
     * activity id) is never a duplicate. */
    hookd_ingest_item second[5] = {by_id("a2", p, T0 + 1), by_id("a3", p, T0 + 1),
                                   by_id("a3", p, T0 + 1), by_id(NULL, p, T0 + 1),
                                   by_id("a1", p, T0 + 1)};
    test_plan tp2 = TEST_PLAN("second");
    size_t mark = rec_mark(&fx->rec);
    CHECK_INT(fx_ingest(fx, second, 5, &tp2, NULL), 0);
    static const bool DUP[5] = {true, false, true, false, true};
    for (int i = 0; i < 5; i++)
        CHECK_INT(second[i].duplicate, DUP[i]);
    CHECK_INT(tp2.n_calls, 2);
    if (tp2.n_calls == 2)
        CHECK(tp2.calls[0].index == 1 && tp2.calls[1].index == 3);
    CHECK_INT(tp2.n_made, 2);
    int64_t last = 0;
    check_fresh(fx, mark, &tp2, &last);
    CHECK_INT(fx_stats(fx, all->key, T0).pending, 4);
    test_plan_clear(&tp1);
    test_plan_clear(&tp2);
}

STORE_TEST(ingest_actions_are_not_deduplicated)
{
    hookd_webhook *all = fx_webhook(fx, WH_ALL);
    if (!all)
        return;
    for (int round = 0; round < 2; round++) {
        hookd_ingest_item it = by_id(NULL, fx_contact(fx), T0 + round);
        test_plan tp = TEST_PLAN("action");
        CHECK_INT(fx_ingest(fx, &it, 1, &tp, NULL), 0);
        CHECK(!it.duplicate);
        CHECK_INT(tp.n_calls, 1);
        CHECK_INT(tp.n_made, 1);
        hookd_delivery *d = tp.n_made ? fx_get(fx, all->key, tp.made[0].id, NULL, NULL) : NULL;
        if (d) {
            CHECK_INT(d->kind, HOOKD_KIND_ACTION);
            CHECK(d->activity_id == NULL);
        }
        hookd_delivery_free(d);
        test_plan_clear(&tp);
    }
    CHECK_INT(rec_count(&fx->rec, REC_FRESH), 2);
    CHECK_INT(fx_stats(fx, all->key, T0).pending, 2);
}

/* A batch that fails on item 3 (an unknown contact id) leaves nothing of
 * items 0–2: no activity ids, no deliveries, no person made or changed by a
 * merge, no account, no listener call. */
STORE_TEST(ingest_unknown_contact_stores_nothing)
{
    hookd_webhook *all = fx_webhook(fx, WH_ALL);
    if (!all)
        return;
    char old[HOOKD_ID_MAX];
    person(fx, "{\"str::email\":\"old@example.com\",\"str::first\":\"Old\"}", NULL, old);
    hookd_merge_person fresh =
        mp_make("{\"str::email\":\"new@example.com\"}", "{\"str:o:name\":\"NewCo\"}", NULL, 0);
    hookd_merge_person change =
        mp_make("{\"str::email\":\"old@example.com\",\"str::first\":\"Changed\"}", NULL, NULL, 0);
    hookd_ingest_item items[5] = {
        by_merge("x0", &fresh, T0), by_merge("x1", &change, T0), by_id("x2", old, T0),
        by_id("x3", "0190f3a2-0000-7000-8000-00000000dead", T0), by_id("x4", old, T0)};
    test_plan tp = TEST_PLAN("doomed");
    size_t mark = rec_mark(&fx->rec), failed = 99;
    CHECK_INT(fx_ingest(fx, items, 5, &tp, &failed), HOOKD_ENOTFOUND);
    CHECK_INT(failed, 3);
    check_nothing_made(fx, mark, all);

    /* The merged person is as before, also to a later ingest (a store that
     * caches people must have forgotten the change). */
    hookd_ingest_item again[3] = {by_id("x0", old, T0 + 1), by_id("x1", old, T0 + 1),
                                  by_id("x2", old, T0 + 1)};
    test_plan tp2 = TEST_PLAN("again");
    CHECK_INT(fx_ingest(fx, again, 3, &tp2, NULL), 0);
    for (int i = 0; i < 3; i++)
        CHECK(!again[i].duplicate); /* the ids were not kept */
    CHECK_INT(tp2.n_calls, 3);
    if (tp2.n_calls)
        CHECK_STR(json_string_value(json_object_get(tp2.calls[0].person, "str::first")), "Old");
    hookd_person *p = NULL;
    CHECK_INT(hookd_store_person_get(fx->st, old, &p), 0);
    if (p)
        CHECK_STR(json_string_value(json_object_get(p->fields, "str::first")), "Old");
    hookd_person_free(p);
    /* Neither the new person nor its account was kept. */
    hookd_merge_result r = {0};
    CHECK_INT(hookd_store_people_merge(fx->st, &fresh, 1, T0 + 2, &r), 0);
    CHECK(r.created);
    json_t *acc = json_pack("{s:s}", "str:o:name", "OtherCo");
    hookd_merge_result ra = {0};
    CHECK_INT(hookd_store_accounts_merge(fx->st, &acc, 1, T0 + 2, &ra), 0);
    CHECK(ra.created);
    json_decref(acc);
    hookd_merge_person_clear(&fresh);
    hookd_merge_person_clear(&change);
    test_plan_clear(&tp);
    test_plan_clear(&tp2);
}

STORE_TEST(ingest_plan_error_aborts_everything)
{
    hookd_webhook *all = fx_webhook(fx, WH_ALL);
    if (!all)
        return;
    hookd_merge_person m = mp_make("{\"str::email\":\"m@example.com\"}", NULL, NULL, 0);
    hookd_ingest_item items[3] = {by_merge("p0", &m, T0), by_id("p1", fx_contact(fx), T0),
                                  by_id("p2", fx_contact(fx), T0)};
    test_plan tp = TEST_PLAN("fails");
    tp.fail_at = 1;
    tp.fail_rc = -55;
    size_t mark = rec_mark(&fx->rec);
    CHECK_INT(fx_ingest(fx, items, 3, &tp, NULL), -55);
    CHECK_INT(tp.n_calls, 2); /* the third item is never planned */
    check_nothing_made(fx, mark, all);
    hookd_merge_result r = {0};
    CHECK_INT(hookd_store_people_merge(fx->st, &m, 1, T0, &r), 0);
    CHECK(r.created);
    /* The ids were not kept: the same batch goes through now. */
    test_plan ok = TEST_PLAN("ok");
    CHECK_INT(fx_ingest(fx, items, 3, &ok, NULL), 0);
    for (int i = 0; i < 3; i++)
        CHECK(!items[i].duplicate);
    CHECK_INT(ok.n_made, 3);
    hookd_merge_person_clear(&m);
    test_plan_clear(&tp);
    test_plan_clear(&ok);
}

/* The command's check runs first, against every webhook as of the command;
 * its refusal stores nothing: no person merged, no activity id kept, no
 * delivery (the cap of --max-deliveries-per-request rides on it). */
STORE_TEST(ingest_check_refuses_before_anything_is_written)
{
    hookd_webhook *all = fx_webhook(fx, WH_ALL), *off = fx_webhook(fx, WH_O);
    if (!all || !off)
        return;
    CHECK_INT(fx_connect(fx, off, false), 0);
    hookd_merge_person m = mp_make("{\"str::email\":\"cap@example.com\"}", NULL, NULL, 0);
    hookd_ingest_item items[2] = {by_merge("c0", &m, T0), by_id("c1", fx_contact(fx), T0)};
    test_plan tp = TEST_PLAN("refused");
    tp.check = true;
    tp.check_rc = -56;
    size_t mark = rec_mark(&fx->rec);
    CHECK_INT(fx_ingest(fx, items, 2, &tp, NULL), -56);
    CHECK(tp.n_checks >= 1);
    CHECK_INT(tp.calls_before_check, 0);
    CHECK_INT(tp.n_calls, 0);
    CHECK_INT(tp.check_webhooks, 2);
    CHECK_INT(tp.check_connected, 1);
    check_nothing_made(fx, mark, all);
    hookd_merge_result r = {0};
    CHECK_INT(hookd_store_people_merge(fx->st, &m, 1, T0, &r), 0);
    CHECK(r.created);
    /* Passed, the same batch goes through: its ids were not kept. */
    test_plan ok = TEST_PLAN("passed");
    ok.check = true;
    CHECK_INT(fx_ingest(fx, items, 2, &ok, NULL), 0);
    CHECK_INT(ok.n_checks, 1);
    CHECK(!items[0].duplicate && !items[1].duplicate);
    CHECK_INT(ok.n_made, 2);
    hookd_merge_person_clear(&m);
    test_plan_clear(&tp);
    test_plan_clear(&ok);
}

/* Contacts merged inside the batch: a later item sees the person as earlier
 * items left it, whether it names it by merge or by id. */
STORE_TEST(ingest_merges_contacts_inside_the_batch)
{
    hookd_webhook *all = fx_webhook(fx, WH_ALL);
    if (!all)
        return;
    char q[HOOKD_ID_MAX];
    person(fx, "{\"str::email\":\"q@example.com\"}", NULL, q);
    hookd_merge_person m0 = mp_make("{\"str::email\":\"m@example.com\",\"str::first\":\"M\"}",
                                    "{\"str:o:name\":\"Emm\"}", NULL, 0);
    hookd_merge_person m1 =
        mp_make("{\"str::email\":\"m@example.com\",\"str::last\":\"L\"}", NULL, NULL, 0);
    hookd_merge_person mq =
        mp_make("{\"str::email\":\"q@example.com\",\"str::first\":\"Q\"}", NULL, NULL, 0);
    hookd_ingest_item items[4] = {by_merge("m0", &m0, T0), by_merge("m1", &m1, T0),
                                  by_id("q0", q, T0), by_merge("q1", &mq, T0)};
    test_plan tp = TEST_PLAN("merge");
    CHECK_INT(fx_ingest(fx, items, 4, &tp, NULL), 0);
    CHECK_INT(tp.n_calls, 4);
    if (tp.n_calls == 4) {
        const plan_call *c = tp.calls;
        CHECK_STR(c[1].contact_id, c[0].contact_id);
        CHECK(c[0].account && c[1].account);
        CHECK_STR(c[1].account_id, c[0].account_id);
        json_t *want0 = json_pack("{s:s,s:s}", "str::email", "m@example.com", "str::first", "M");
        json_t *want1 = json_pack("{s:s,s:s,s:s}", "str::email", "m@example.com", "str::first", "M",
                                  "str::last", "L");
        CHECK(json_equal(c[0].person, want0));
        CHECK(json_equal(c[1].person, want1));
        json_decref(want0);
        json_decref(want1);
        CHECK_STR(c[2].contact_id, q);
        CHECK(c[2].account == NULL);
        CHECK(json_object_get(c[2].person, "str::first") == NULL);
        CHECK_STR(c[3].contact_id, q);
        CHECK_STR(json_string_value(json_object_get(c[3].person, "str::first")), "Q");
        hookd_person *p = NULL;
        CHECK_INT(hookd_store_person_get(fx->st, c[0].contact_id, &p), 0);
        if (p) {
            CHECK_STR(json_string_value(json_object_get(p->fields, "str::last")), "L");
            CHECK_STR(p->account_id, c[0].account_id);
        }
        hookd_person_free(p);
    }
    hookd_merge_person_clear(&m0);
    hookd_merge_person_clear(&m1);
    hookd_merge_person_clear(&mq);
    test_plan_clear(&tp);
}

/* The plan gets the webhooks as of the command: one inserted just before is
 * there, a disconnected one says so (and counts what it skipped), a deleted
 * one is gone, a changed one has its new version. */
STORE_TEST(ingest_sees_webhooks_as_of_the_command)
{
    hookd_webhook *w1 = fx_webhook(fx, WH_ALL);
    if (!w1)
        return;
    hookd_ingest_item it = by_id(NULL, fx_contact(fx), T0);
    test_plan tp = TEST_PLAN("one");
    CHECK_INT(fx_ingest(fx, &it, 1, &tp, NULL), 0);
    CHECK(tp.n_calls == 1 && tp.calls[0].n_webhooks == 1);
    test_plan_clear(&tp);

    hookd_webhook *w2 = fx_webhook(fx, WH_ALL);
    if (!w2)
        return;
    CHECK_INT(fx_connect(fx, w1, false), 0);
    hookd_ingest_item three[3] = {by_id("s1", fx_contact(fx), T0), by_id("s2", fx_contact(fx), T0),
                                  by_id("s3", fx_contact(fx), T0)};
    CHECK_INT(fx_ingest(fx, three, 3, &tp, NULL), 0);
    CHECK_INT(tp.n_calls, 3);
    if (tp.n_calls) {
        const plan_call *c = &tp.calls[0];
        CHECK_INT(c->n_webhooks, 2);
        CHECK(c->keys[0] == w1->key && !c->connected[0] && c->versions[0] == 2);
        CHECK(c->keys[1] == w2->key && c->connected[1] && c->versions[1] == 1);
    }
    CHECK_INT(tp.n_made, 3);
    for (size_t k = 0; k < tp.n_made; k++)
        CHECK_INT(tp.made[k].webhook, w2->key);
    test_plan_clear(&tp);
    hookd_webhook_stats s1 = fx_stats(fx, w1->key, T0), s2 = fx_stats(fx, w2->key, T0);
    CHECK_INT(s1.skipped, 3);
    CHECK_INT(s1.pending, 1); /* the first delivery, held */
    CHECK_INT(s2.skipped, 0);
    CHECK_INT(s2.pending, 3);

    CHECK_INT(hookd_store_webhook_delete(fx->st, w2->id), 0);
    CHECK_INT(hookd_store_webhook_change(fx->st, w1->id, change_apply, "{\"name\":\"v3\"}", NULL),
              0);
    CHECK_INT(fx_ingest(fx, &it, 1, &tp, NULL), 0);
    if (tp.n_calls == 1) {
        CHECK_INT(tp.calls[0].n_webhooks, 1);
        CHECK(tp.calls[0].keys[0] == w1->key && tp.calls[0].versions[0] == 3);
    }
    CHECK_INT(tp.n_made, 0);
    CHECK_INT(fx_stats(fx, w1->key, T0).skipped, 4);
    test_plan_clear(&tp);
}

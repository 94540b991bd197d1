/*
 * test_store_sqlite.c — the SQLite-only section of the store conformance
 * suite: "a failed command changes nothing" for failures that no valid
 * input makes happen through the seam (one person of a merge, one outcome
 * of a batch, the version row of a webhook). A trigger added to the
 * database file by a second connection makes that one write fail; the test
 * then checks through the seam that nothing of the command stayed, the
 * writer's caches of people and webhooks included.
 *
 * A second backend proves the same with its own injected failures (for
 * PostgreSQL, the same kind of trigger) in a section like this one.
 */
#include <sqlite3.h>
#include <stdlib.h>

#include "test_store.h"

/* Runs sql on the test's database file beside the store. */
static bool inject(store_fx *fx, const char *sql)
{
    char path[512];
    snprintf(path, sizeof path, "%s/" STORE_SQLITE_FILE, fx->dir);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK)
        unit_fail(__FILE__, __LINE__, "cannot inject (%s): %s", db ? sqlite3_errmsg(db) : "?", sql);
    sqlite3_close(db);
    return rc == SQLITE_OK;
}

/* A command expected to fail, its log line kept off the test's output. */
#define FAILS(call)                                                                                \
    do {                                                                                           \
        int q_ = quiet_begin();                                                                    \
        int rc_ = (call);                                                                          \
        quiet_end(q_);                                                                             \
        if (rc_ == 0)                                                                              \
            unit_fail(__FILE__, __LINE__, "%s succeeded despite the injected failure", #call);     \
    } while (0)

static const char *field(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* What the next ingest's plan sees of contact: its first name and its
 * account's industry. */
static void plan_sees(store_fx *fx, const char *contact, const char *first, const char *industry)
{
    hookd_ingest_item it = {.contact_id = contact, .created_ms = T0};
    test_plan tp = TEST_PLAN("sees");
    CHECK_INT(fx_ingest(fx, &it, 1, &tp, NULL), 0);
    CHECK_INT(tp.n_calls, 1);
    if (tp.n_calls == 1) {
        CHECK_STR_OR_NULL(field(tp.calls[0].person, "str::first"), first);
        CHECK_STR_OR_NULL(field(tp.calls[0].account, "str:o:industry"), industry);
    }
    test_plan_clear(&tp);
}

BACKEND_TEST("sqlite", sqlite_people_merge_batch_is_atomic)
{
    hookd_merge_person e =
        mp_make("{\"str::email\":\"e@example.com\",\"str::first\":\"Old\"}",
                "{\"str:o:name\":\"Acme\",\"str:o:industry\":\"Tools\"}", NULL, 0);
    hookd_merge_result re = {0};
    CHECK_INT(hookd_store_people_merge(fx->st, &e, 1, T0, &re), 0);
    hookd_merge_person_clear(&e);
    plan_sees(fx, re.id, "Old", "Tools"); /* the writer now holds e */
    if (!inject(fx, "CREATE TRIGGER inject BEFORE INSERT ON people WHEN "
                    "json_extract(NEW.fields, '$.\"str::first\"') = 'FAIL' BEGIN "
                    "SELECT RAISE(ABORT, 'injected'); END;"))
        return;
    hookd_merge_person m[3] = {
        mp_make("{\"str::email\":\"e@example.com\",\"str::first\":\"New\"}",
                "{\"str:o:name\":\"Acme\",\"str:o:industry\":\"Changed\"}", NULL, 0),
        mp_make("{\"str::email\":\"n@example.com\"}", "{\"str:o:name\":\"NewCo\"}", NULL, 0),
        mp_make("{\"str::email\":\"x@example.com\",\"str::first\":\"FAIL\"}", NULL, NULL, 0)};
    hookd_merge_result out[3];
    FAILS(hookd_store_people_merge(fx->st, m, 3, T0 + 10, out));
    if (!inject(fx, "DROP TRIGGER inject;"))
        goto out;
    /* The changed person and account are as they were, to reads and to
     * the next ingest alike. */
    hookd_person *p = NULL;
    CHECK_INT(hookd_store_person_get(fx->st, re.id, &p), 0);
    if (p) {
        CHECK_STR(field(p->fields, "str::first"), "Old");
        CHECK_INT(p->updated_at, T0);
    }
    hookd_person_free(p);
    plan_sees(fx, re.id, "Old", "Tools");
    /* Neither the new person nor the new account was kept. */
    json_t *acc = json_pack("{s:s}", "str:o:name", "NewCo");
    hookd_merge_result ra = {0}, rn = {0};
    CHECK_INT(hookd_store_accounts_merge(fx->st, &acc, 1, T0 + 20, &ra), 0);
    CHECK(ra.created);
    json_decref(acc);
    CHECK_INT(hookd_store_people_merge(fx->st, &m[1], 1, T0 + 20, &rn), 0);
    CHECK(rn.created);
out:
    for (int i = 0; i < 3; i++)
        hookd_merge_person_clear(&m[i]);
}

BACKEND_TEST("sqlite", sqlite_accounts_merge_batch_is_atomic)
{
    json_t *acme = json_pack("{s:s,s:s}", "str:o:name", "Acme", "str:o:industry", "Tools");
    hookd_merge_result r = {0};
    CHECK_INT(hookd_store_accounts_merge(fx->st, &acme, 1, T0, &r), 0);
    json_decref(acme);
    if (!inject(fx, "CREATE TRIGGER inject BEFORE INSERT ON accounts WHEN NEW.name = 'FAIL' "
                    "BEGIN SELECT RAISE(ABORT, 'injected'); END;"))
        return;
    json_t *f[3] = {json_pack("{s:s,s:s}", "str:o:name", "Acme", "str:o:industry", "Changed"),
                    json_pack("{s:s}", "str:o:name", "Beta"),
                    json_pack("{s:s}", "str:o:name", "FAIL")};
    hookd_merge_result out[3];
    FAILS(hookd_store_accounts_merge(fx->st, f, 3, T0 + 10, out));
    hookd_account *a = NULL;
    CHECK_INT(hookd_store_account_get(fx->st, r.id, &a), 0);
    if (a)
        CHECK_STR(field(a->fields, "str:o:industry"), "Tools");
    hookd_account_free(a);
    hookd_merge_result rb = {0};
    CHECK_INT(hookd_store_accounts_merge(fx->st, &f[1], 1, T0 + 20, &rb), 0);
    CHECK(rb.created);
    for (int i = 0; i < 3; i++)
        json_decref(f[i]);
}

BACKEND_TEST("sqlite", sqlite_record_outcomes_batch_is_atomic)
{
    hookd_webhook *wh = fx_webhook(fx, WH_JSON("a", ACTS_ALL));
    made_ref d[2];
    if (!wh || fx_deliver(fx, 2, "act::s", T0, d, 2) != 2)
        return;
    if (!inject(fx, "CREATE TRIGGER inject BEFORE UPDATE ON delivery_state WHEN "
                    "NEW.status = 599 BEGIN SELECT RAISE(ABORT, 'injected'); END;"))
        return;
    hookd_outcome o[2] = {outcome_of(&d[0], HOOKD_DS_PENDING, 0, HOOKD_EV_SUCCEEDED, T0 + 1000),
                          outcome_of(&d[1], HOOKD_DS_PENDING, 0, HOOKD_EV_RETRY, T0 + 1000)};
    o[1].status_code = 599;
    int states[2];
    FAILS(hookd_store_record_outcomes(fx->st, o, 2, states, NULL));
    for (int i = 0; i < 2; i++) {
        hookd_attempt *att = NULL;
        size_t n = 0;
        hookd_delivery *got = fx_get(fx, wh->key, d[i].id, &att, &n);
        if (got) {
            CHECK_INT(got->state, HOOKD_DS_PENDING);
            CHECK_INT(got->attempts, 0);
            CHECK_INT(n, 0);
        }
        hookd_attempts_free(att, n);
        hookd_delivery_free(got);
    }
    hookd_webhook_stats s = fx_stats(fx, wh->key, T0 + 2000);
    CHECK(s.pending == 2 && s.succeeded_24h == 0 && s.failed_24h == 0);
    hookd_hour_counts h = {-1, -1, -1};
    CHECK_INT(hookd_store_webhook_hours(fx->st, wh->key, T0, 1, &h), 0);
    CHECK(h.succeeded == 0 && h.failed == 0 && h.retried == 0);
}

/* A webhook whose version row cannot be written is not stored, and the
 * next ingest plans without it; a change that fails the same way after
 * flipping connected moves no delivery and leaves the webhook as it was. */
BACKEND_TEST("sqlite", sqlite_failed_webhook_writes_leave_no_trace)
{
    hookd_webhook *good = fx_webhook(fx, WH_JSON("good", ACTS_ALL));
    made_ref d[1];
    if (!good || fx_deliver(fx, 1, "act::s", T0, d, 1) != 1)
        return;
    if (!inject(fx, "CREATE TRIGGER inject BEFORE INSERT ON webhook_versions WHEN "
                    "NEW.url LIKE '%fail.example%' BEGIN SELECT RAISE(ABORT, 'injected'); END;"))
        return;
    size_t told = rec_count(&fx->rec, REC_WEBHOOK);
    hookd_webhook *bad = wh_make("{\"name\":\"bad\",\"url\":\"https://fail.example/\","
                                 "\"activities\":[\"*\"]}");
    if (!bad)
        return;
    FAILS(hookd_store_webhook_insert(fx->st, bad));
    hookd_webhook *got = NULL;
    CHECK_INT(hookd_store_webhook_get(fx->st, bad->id, &got), HOOKD_ENOTFOUND);
    hookd_webhook_free(bad);
    FAILS(hookd_store_webhook_change(fx->st, good->id, change_apply,
                                     "{\"url\":\"https://fail.example/\",\"connected\":false}",
                                     NULL));
    CHECK_INT(rec_count(&fx->rec, REC_WEBHOOK), told);
    hookd_delivery *del = fx_get(fx, good->key, d[0].id, NULL, NULL);
    if (del)
        CHECK_INT(del->state, HOOKD_DS_PENDING);
    hookd_delivery_free(del);
    CHECK_INT(hookd_store_webhook_get(fx->st, good->id, &got), 0);
    if (got)
        CHECK(got->version == 1 && got->connected);
    hookd_webhook_free(got);
    /* The next ingest plans against the good webhook as it was, alone. */
    hookd_ingest_item it = {.contact_id = fx_contact(fx), .created_ms = T0};
    test_plan tp = TEST_PLAN("after");
    CHECK_INT(fx_ingest(fx, &it, 1, &tp, NULL), 0);
    if (tp.n_calls == 1) {
        CHECK_INT(tp.calls[0].n_webhooks, 1);
        CHECK(tp.calls[0].keys[0] == good->key && tp.calls[0].connected[0] &&
              tp.calls[0].versions[0] == 1);
    }
    CHECK_INT(tp.n_made, 1);
    test_plan_clear(&tp);
}

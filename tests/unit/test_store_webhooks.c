/*
 * test_store_webhooks.c — conformance of the webhook commands (insert,
 * change, get, list, delete and what the listener is told), custom fields
 * and API keys. Backend-neutral: see test_store.h.
 */
#include <stdlib.h>

#include "test_store.h"

#define WH_A "{\"name\":\"alpha\",\"url\":\"https://a.example.com/hook\",\"activities\":[\"*\"]}"
#define WH_B "{\"name\":\"beta\",\"url\":\"https://b.example.com/hook\",\"activities\":[\"*\"]}"

/* Reads the webhook id; NULL (failure recorded) if it is not there. */
static hookd_webhook *get(store_fx *fx, const char *id)
{
    hookd_webhook *wh = NULL;
    int rc = hookd_store_webhook_get(fx->st, id, &wh);
    if (rc) {
        unit_fail(__FILE__, __LINE__, "webhook_get(%s): %d", id, rc);
        return NULL;
    }
    return wh;
}

/* ---- insert --------------------------------------------------------------------- */

STORE_TEST(webhook_insert_sets_key_and_version)
{
    hookd_webhook *a = wh_make(WH_A), *b = wh_make(WH_B);
    if (!a || !b)
        goto out;
    CHECK_INT(a->key, 0);
    CHECK_INT(hookd_store_webhook_insert(fx->st, a), 0);
    CHECK_INT(hookd_store_webhook_insert(fx->st, b), 0);
    CHECK(a->key > 0);
    CHECK(b->key > a->key); /* oldest first is key order */
    CHECK_INT(a->version, 1);
    CHECK_INT(b->version, 1);
    /* What get returns is what was inserted, password and secret included. */
    hookd_webhook *got = get(fx, a->id);
    if (got) {
        CHECK_INT(got->key, a->key);
        CHECK_INT(got->version, 1);
        CHECK_STR(got->name, "alpha");
        CHECK_STR(got->url, "https://a.example.com/hook");
        CHECK_STR(got->secret, a->secret);
        CHECK(got->connected);
        CHECK_INT(got->created_at, a->created_at);
    }
    hookd_webhook_free(got);
out:
    hookd_webhook_free(a);
    hookd_webhook_free(b);
}

STORE_TEST(webhook_insert_keeps_every_setting)
{
    hookd_webhook *wh = fx_webhook(
        fx, "{\"name\":\"full\",\"url\":\"https://x.example.com/p?q=1\",\"method\":\"PUT\","
            "\"send_activity\":false,\"basic_auth\":{\"username\":\"u\",\"password\":\"p@ss\"},"
            "\"headers\":[{\"key\":\"X-One\",\"value\":\"1\"}],"
            "\"fields\":[{\"field_id\":\"str::first\",\"key\":\"given\"}],"
            "\"activities\":[\"act::s\"],\"connected\":false}");
    if (!wh)
        return;
    hookd_webhook *got = get(fx, wh->id);
    if (!got)
        return;
    json_t *want = hookd_webhook_to_doc(wh), *have = hookd_webhook_to_doc(got);
    CHECK(want && have && json_equal(want, have));
    CHECK_STR(got->basic_pass, "p@ss");
    CHECK_INT(got->method, HOOKD_METHOD_PUT);
    CHECK(!got->connected);
    json_decref(want);
    json_decref(have);
    hookd_webhook_free(got);
}

STORE_TEST(webhook_insert_duplicate_id_conflicts)
{
    hookd_webhook *a = fx_webhook(fx, WH_A);
    hookd_webhook *dup = wh_make(WH_B);
    if (!a || !dup)
        goto out;
    memcpy(dup->id, a->id, HOOKD_ID_MAX);
    size_t told = rec_count(&fx->rec, REC_WEBHOOK);
    CHECK_INT(hookd_store_webhook_insert(fx->st, dup), HOOKD_ECONFLICT);
    /* The first one stands as it was; nobody was told of the second. */
    hookd_webhook *got = get(fx, a->id);
    if (got) {
        CHECK_STR(got->name, "alpha");
        CHECK_INT(got->version, 1);
    }
    hookd_webhook_free(got);
    CHECK_INT(rec_count(&fx->rec, REC_WEBHOOK), told);
    hookd_webhook **list = NULL;
    size_t n = 0;
    int64_t next = -1;
    CHECK_INT(hookd_store_webhook_list(fx->st, 0, 10, &list, &n, &next), 0);
    CHECK_INT(n, 1);
    hookd_webhook_list_free(list, n);
out:
    hookd_webhook_free(dup);
}

/* Keys are never reused: not after deleting the newest, not across a
 * reopen (a log or a cursor naming an old key must never find a new
 * webhook). */
STORE_TEST(webhook_keys_never_reused)
{
    hookd_webhook *a = fx_webhook(fx, WH_A), *b = fx_webhook(fx, WH_B);
    if (!a || !b)
        return;
    int64_t top = b->key;
    CHECK_INT(hookd_store_webhook_delete(fx->st, b->id), 0);
    hookd_webhook *c = fx_webhook(fx, WH_B);
    if (!c)
        return;
    CHECK(c->key > top);
    top = c->key;
    CHECK_INT(hookd_store_webhook_delete(fx->st, c->id), 0);
    if (!fx_reopen(fx))
        return;
    hookd_webhook *d = fx_webhook(fx, WH_B);
    if (d)
        CHECK(d->key > top);
}

/* ---- get, change ----------------------------------------------------------------- */

STORE_TEST(webhook_get_unknown_is_not_found)
{
    hookd_webhook *wh = NULL;
    CHECK_INT(hookd_store_webhook_get(fx->st, "0190f3a2-0000-7000-8000-000000000000", &wh),
              HOOKD_ENOTFOUND);
    CHECK(wh == NULL);
}

STORE_TEST(webhook_change_applies_and_bumps_version)
{
    hookd_webhook *a = fx_webhook(fx, WH_A);
    if (!a)
        return;
    hookd_webhook *out = NULL;
    CHECK_INT(hookd_store_webhook_change(
                  fx->st, a->id, change_apply,
                  "{\"name\":\"renamed\",\"url\":\"https://n.example.com/\"}", &out),
              0);
    if (out) {
        CHECK_INT(out->version, 2);
        CHECK_INT(out->key, a->key);
        CHECK_STR(out->id, a->id);
        CHECK_STR(out->name, "renamed");
        CHECK_STR(out->secret, a->secret);
    }
    hookd_webhook_free(out);
    /* out may be NULL: the change is made all the same. */
    CHECK_INT(hookd_store_webhook_change(fx->st, a->id, change_apply, "{\"name\":\"third\"}", NULL),
              0);
    hookd_webhook *got = get(fx, a->id);
    if (got) {
        CHECK_INT(got->version, 3);
        CHECK_STR(got->name, "third");
        CHECK_STR(got->url, "https://n.example.com/");
    }
    hookd_webhook_free(got);
}

/* A change function that changes things and then refuses. */
static int change_then_fail(hookd_webhook *wh, void *ctx)
{
    (void)ctx;
    free(wh->name);
    wh->name = strdup("never saved");
    wh->connected = false;
    return -77;
}

STORE_TEST(webhook_change_error_changes_nothing)
{
    hookd_webhook *a = fx_webhook(fx, WH_A);
    made_ref d[1];
    if (!a || fx_deliver(fx, 1, "act::s", T0, d, 1) != 1)
        return;
    size_t told = rec_count(&fx->rec, REC_WEBHOOK);
    hookd_webhook *out = NULL;
    CHECK_INT(hookd_store_webhook_change(fx->st, a->id, change_then_fail, NULL, &out), -77);
    CHECK(out == NULL);
    hookd_webhook *got = get(fx, a->id);
    if (got) {
        CHECK_INT(got->version, 1);
        CHECK_STR(got->name, "alpha");
        CHECK(got->connected);
    }
    hookd_webhook_free(got);
    /* The disconnect the function made was not applied to the deliveries. */
    hookd_delivery *del = fx_get(fx, a->key, d[0].id, NULL, NULL);
    if (del) {
        CHECK_INT(del->state, HOOKD_DS_PENDING);
        CHECK(del->next_attempt_at != 0);
    }
    hookd_delivery_free(del);
    CHECK_INT(fx_stats(fx, a->key, T0).pending, 1);
    CHECK_INT(rec_count(&fx->rec, REC_WEBHOOK), told);
}

static int count_calls(hookd_webhook *wh, void *ctx)
{
    (void)wh;
    ++*(int *)ctx;
    return 0;
}

STORE_TEST(webhook_change_unknown_is_not_found)
{
    int calls = 0;
    hookd_webhook *out = NULL;
    CHECK_INT(hookd_store_webhook_change(fx->st, "0190f3a2-0000-7000-8000-000000000000",
                                         count_calls, &calls, &out),
              HOOKD_ENOTFOUND);
    CHECK_INT(calls, 0);
    CHECK(out == NULL);
    CHECK_INT(rec_count(&fx->rec, REC_WEBHOOK), 0);
}

/* The change function runs inside the command and may read the store (the
 * API's field lookup does). */
typedef struct read_ctx {
    hookd_store *st;
    int rc;
    char name[64];
} read_ctx;

static int change_reading(hookd_webhook *wh, void *vctx)
{
    read_ctx *c = vctx;
    hookd_custom_field *f = NULL;
    c->rc = hookd_store_field_get(c->st, "str:cm:team", &f);
    if (c->rc == 0) {
        free(wh->name);
        wh->name = strdup(f->name);
    }
    hookd_custom_field_free(f);
    return c->rc;
}

STORE_TEST(webhook_change_fn_may_read)
{
    hookd_webhook *a = fx_webhook(fx, WH_A);
    hookd_custom_field f = {.id = "str:cm:team",
                            .name = "Team",
                            .type = HOOKD_FT_STR,
                            .object = HOOKD_OBJ_PERSON,
                            .created_at = T0};
    if (!a)
        return;
    CHECK_INT(hookd_store_field_insert(fx->st, &f), 0);
    read_ctx c = {.st = fx->st};
    CHECK_INT(hookd_store_webhook_change(fx->st, a->id, change_reading, &c, NULL), 0);
    CHECK_INT(c.rc, 0);
    hookd_webhook *got = get(fx, a->id);
    if (got)
        CHECK_STR(got->name, "Team");
    hookd_webhook_free(got);
}

/* ---- list ------------------------------------------------------------------------ */

/* Walks every page of limit and checks it holds the keys want[0..n) in
 * order, each page full but the last, next 0 exactly on the last. */
static void check_pages(store_fx *fx, int limit, const int64_t *want, size_t n_want)
{
    int64_t after = 0;
    size_t seen = 0, pages = 0;
    do {
        hookd_webhook **list = NULL;
        size_t n = 0;
        int64_t next = -1;
        int rc = hookd_store_webhook_list(fx->st, after, limit, &list, &n, &next);
        CHECK_INT(rc, 0);
        if (rc)
            return;
        pages++;
        for (size_t i = 0; i < n; i++) {
            if (seen + i < n_want)
                CHECK_INT(list[i]->key, want[seen + i]);
            CHECK(list[i]->version >= 1);
        }
        seen += n;
        bool last = seen >= n_want;
        CHECK_INT(n, last ? n_want - (pages - 1) * (size_t)limit : (size_t)limit);
        CHECK_INT(next, last ? 0 : list[n - 1]->key);
        hookd_webhook_list_free(list, n);
        after = next;
    } while (after && pages <= n_want);
    CHECK_INT(seen, n_want);
    CHECK_INT(pages, n_want ? (n_want + (size_t)limit - 1) / (size_t)limit : 1);
}

STORE_TEST(webhook_list_pages_oldest_first)
{
    int64_t keys[7];
    for (int i = 0; i < 7; i++) {
        hookd_webhook *wh = fx_webhook(fx, WH_A);
        if (!wh)
            return;
        keys[i] = wh->key;
    }
    check_pages(fx, 3, keys, 7); /* 3 + 3 + 1 */
    check_pages(fx, 7, keys, 7); /* exactly one full page: next is 0 */
    check_pages(fx, 1, keys, 7);
    check_pages(fx, 100, keys, 7);
    /* after a key in the middle: what follows it */
    hookd_webhook **list = NULL;
    size_t n = 0;
    int64_t next = -1;
    CHECK_INT(hookd_store_webhook_list(fx->st, keys[4], 10, &list, &n, &next), 0);
    CHECK_INT(n, 2);
    if (n == 2)
        CHECK(list[0]->key == keys[5] && list[1]->key == keys[6]);
    CHECK_INT(next, 0);
    hookd_webhook_list_free(list, n);
}

STORE_TEST(webhook_list_empty_and_after_deleted)
{
    check_pages(fx, 5, NULL, 0);
    hookd_webhook *a = fx_webhook(fx, WH_A), *b = fx_webhook(fx, WH_B), *c = fx_webhook(fx, WH_A);
    if (!a || !b || !c)
        return;
    CHECK_INT(hookd_store_webhook_delete(fx->st, b->id), 0);
    int64_t left[] = {a->key, c->key};
    check_pages(fx, 1, left, 2);
    /* A cursor naming a deleted webhook still continues after it. */
    hookd_webhook **list = NULL;
    size_t n = 0;
    int64_t next = -1;
    CHECK_INT(hookd_store_webhook_list(fx->st, b->key, 10, &list, &n, &next), 0);
    CHECK_INT(n, 1);
    if (n == 1)
        CHECK_INT(list[0]->key, c->key);
    CHECK_INT(next, 0);
    hookd_webhook_list_free(list, n);
}

/* ---- delete and the listener ---------------------------------------------------------- */

STORE_TEST(webhook_delete_then_not_found)
{
    hookd_webhook *a = fx_webhook(fx, WH_A), *b = fx_webhook(fx, WH_B);
    if (!a || !b)
        return;
    CHECK_INT(hookd_store_webhook_delete(fx->st, a->id), 0);
    hookd_webhook *wh = NULL;
    CHECK_INT(hookd_store_webhook_get(fx->st, a->id, &wh), HOOKD_ENOTFOUND);
    CHECK_INT(hookd_store_webhook_delete(fx->st, a->id), HOOKD_ENOTFOUND);
    CHECK_INT(hookd_store_webhook_change(fx->st, a->id, change_connected, NULL, NULL),
              HOOKD_ENOTFOUND);
    /* The other one is untouched. */
    hookd_webhook *got = get(fx, b->id);
    if (got)
        CHECK_INT(got->version, 1);
    hookd_webhook_free(got);
    /* A deleted webhook's stats read as zeros. */
    hookd_webhook_stats s = fx_stats(fx, a->key, T0);
    CHECK(s.pending == 0 && s.skipped == 0 && s.succeeded_24h == 0 && s.failed_24h == 0);
}

STORE_TEST(webhook_listener_told_in_commit_order)
{
    hookd_webhook *a = fx_webhook(fx, WH_A), *b = fx_webhook(fx, WH_B);
    if (!a || !b)
        return;
    CHECK_INT(hookd_store_webhook_change(fx->st, a->id, change_apply, "{\"name\":\"a2\"}", NULL),
              0);
    CHECK_INT(fx_connect(fx, b, false), 0);
    CHECK_INT(hookd_store_webhook_change(fx->st, a->id, change_then_fail, NULL, NULL), -77);
    CHECK_INT(hookd_store_webhook_delete(fx->st, a->id), 0);
    static const struct {
        int which; /* 0: a, 1: b */
        uint64_t version;
        const char *name;
        bool connected, gone;
    } WANT[] = {
        {0, 1, "alpha", true, false}, {1, 1, "beta", true, false}, {0, 2, "a2", true, false},
        {1, 2, "beta", false, false}, {0, 0, NULL, false, true},
    };
    size_t n = sizeof WANT / sizeof WANT[0];
    CHECK_INT(rec_count(&fx->rec, REC_WEBHOOK), n);
    size_t k = 0;
    for (size_t i = 0; i < fx->rec.n && k < n; i++) {
        const rec_event *e = &fx->rec.ev[i];
        if (e->kind != REC_WEBHOOK)
            continue;
        CHECK_INT(e->key, WANT[k].which ? b->key : a->key);
        CHECK_INT(e->gone, WANT[k].gone);
        if (!WANT[k].gone) {
            CHECK_INT(e->version, WANT[k].version);
            CHECK_STR(e->name, WANT[k].name);
            CHECK_INT(e->connected, WANT[k].connected);
        }
        k++;
    }
    /* No deliveries: a disconnect and a delete make nothing due. */
    CHECK_INT(rec_count(&fx->rec, REC_DUE), 0);
    CHECK_INT(rec_count(&fx->rec, REC_FRESH), 0);
}

/* ---- custom fields -------------------------------------------------------------- */

STORE_TEST(fields_insert_get_list_conflict)
{
    hookd_custom_field f1 = {.id = "str:cm:job-title",
                             .name = "Job title",
                             .type = HOOKD_FT_STR,
                             .object = HOOKD_OBJ_PERSON,
                             .created_at = T0};
    hookd_custom_field f2 = {.id = "int:oc:seats",
                             .name = "Seats",
                             .type = HOOKD_FT_INT,
                             .object = HOOKD_OBJ_ACCOUNT,
                             .created_at = T0 + 1};
    hookd_custom_field **list = NULL;
    size_t n = 99;
    CHECK_INT(hookd_store_field_list(fx->st, &list, &n), 0);
    CHECK_INT(n, 0);
    free(list);
    CHECK_INT(hookd_store_field_insert(fx->st, &f1), 0);
    CHECK_INT(hookd_store_field_insert(fx->st, &f2), 0);
    hookd_custom_field dup = f1;
    dup.name = "Another";
    CHECK_INT(hookd_store_field_insert(fx->st, &dup), HOOKD_ECONFLICT);

    hookd_custom_field *got = NULL;
    CHECK_INT(hookd_store_field_get(fx->st, "int:oc:seats", &got), 0);
    if (got) {
        CHECK_STR(got->id, "int:oc:seats");
        CHECK_STR(got->name, "Seats");
        CHECK_INT(got->type, HOOKD_FT_INT);
        CHECK_INT(got->object, HOOKD_OBJ_ACCOUNT);
        CHECK_INT(got->created_at, T0 + 1);
    }
    hookd_custom_field_free(got);
    got = NULL;
    CHECK_INT(hookd_store_field_get(fx->st, "str:cm:nope", &got), HOOKD_ENOTFOUND);

    /* oldest first, the refused duplicate changed nothing */
    CHECK_INT(hookd_store_field_list(fx->st, &list, &n), 0);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(list[0]->id, "str:cm:job-title");
        CHECK_STR(list[0]->name, "Job title");
        CHECK_INT(list[0]->type, HOOKD_FT_STR);
        CHECK_INT(list[0]->object, HOOKD_OBJ_PERSON);
        CHECK_STR(list[1]->id, "int:oc:seats");
    }
    for (size_t i = 0; i < n; i++)
        hookd_custom_field_free(list[i]);
    free(list);
}

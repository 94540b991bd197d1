/*
 * test_store_reopen.c — conformance of durability through the seam: what
 * was written is all there after a close and an open of the same data
 * (webhooks with their keys and versions, fields, API keys, people,
 * accounts, deliveries with their attempts, counters, idempotency ids), and
 * the store goes on from there (keys and seqs never given again, the
 * listener told). Backend-neutral: see test_store.h.
 */
#include <stdlib.h>

#include "test_store.h"

/* ---- everything the seam shows, as one JSON value ------------------------------- */

static json_t *delivery_json(const hookd_delivery *d, const hookd_attempt *a, size_t n)
{
    json_t *att = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            att, json_pack("{s:I,s:i,s:s?,s:I,s:s?}", "time", (json_int_t)a[i].time_ms, "status",
                           a[i].status_code, "error", a[i].error, "duration",
                           (json_int_t)a[i].duration_ms, "response", a[i].response_body));
    return json_pack("{s:I,s:s,s:i,s:s?,s:s?,s:i,s:i,s:I,s:I,s:i,s:s?,s:s,s:s?,s:I,s:i,s:s?,"
                     "s:s?,s:I,s:s?,s:s?,s:o}",
                     "seq", (json_int_t)d->seq, "id", d->id, "kind", (int)d->kind, "activity",
                     d->activity_id, "field", d->field_id, "state", (int)d->state, "attempts",
                     d->attempts, "created", (json_int_t)d->created_at, "next",
                     (json_int_t)d->next_attempt_at, "method", (int)d->method, "query", d->query,
                     "body", d->body, "url", d->sent_url, "last", (json_int_t)d->last_at, "status",
                     d->status_code, "error", d->error, "response", d->response_body, "duration",
                     (json_int_t)d->duration_ms, "signature", d->signature, "headers", d->headers,
                     "attempts_detail", att);
}

typedef struct log_ctx {
    store_fx *fx;
    int64_t key;
    json_t *out;
} log_ctx;

/* One entry of the log as get shows it, with its attempts. */
static void log_entry(void *vctx, const hookd_delivery *d)
{
    log_ctx *c = vctx;
    hookd_attempt *a = NULL;
    size_t na = 0;
    hookd_delivery *g = fx_get(c->fx, c->key, d->id, &a, &na);
    if (g)
        json_array_append_new(c->out, delivery_json(g, a, na));
    hookd_attempts_free(a, na);
    hookd_delivery_free(g);
}

/* Every delivery of key, newest first, each with its attempts. */
static json_t *log_json(store_fx *fx, int64_t key)
{
    log_ctx c = {.fx = fx, .key = key, .out = json_array()};
    fx_log_walk(fx, key, log_entry, &c);
    return c.out;
}

static json_t *counters_json(store_fx *fx, int64_t key)
{
    hookd_webhook_stats s = fx_stats(fx, key, T0 + HOUR_MS);
    hookd_hour_counts h[4] = {0};
    CHECK_INT(hookd_store_webhook_hours(fx->st, key, T0 - HOUR_MS, 4, h), 0);
    json_t *hours = json_array();
    for (int i = 0; i < 4; i++)
        json_array_append_new(hours, json_pack("[I,I,I]", (json_int_t)h[i].succeeded,
                                               (json_int_t)h[i].failed, (json_int_t)h[i].retried));
    return json_pack("{s:I,s:I,s:I,s:I,s:o}", "succeeded", (json_int_t)s.succeeded_24h, "failed",
                     (json_int_t)s.failed_24h, "pending", (json_int_t)s.pending, "skipped",
                     (json_int_t)s.skipped, "hours", hours);
}

static json_t *webhooks_json(store_fx *fx)
{
    json_t *out = json_array();
    hookd_webhook **list = NULL;
    size_t n = 0;
    int64_t next = 0;
    CHECK_INT(hookd_store_webhook_list(fx->st, 0, 100, &list, &n, &next), 0);
    for (size_t i = 0; i < n; i++) {
        json_t *doc = hookd_webhook_to_doc(list[i]);
        json_object_set_new(doc, "key", json_integer(list[i]->key));
        json_object_set_new(doc, "version", json_integer((json_int_t)list[i]->version));
        json_array_append_new(out, doc);
    }
    hookd_webhook_list_free(list, n);
    return out;
}

static json_t *fields_json(store_fx *fx)
{
    json_t *out = json_array();
    hookd_custom_field **list = NULL;
    size_t n = 0;
    CHECK_INT(hookd_store_field_list(fx->st, &list, &n), 0);
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(out, json_pack("{s:s,s:s,s:i,s:i,s:I}", "id", list[i]->id, "name",
                                             list[i]->name, "type", (int)list[i]->type, "object",
                                             (int)list[i]->object, "created",
                                             (json_int_t)list[i]->created_at));
        hookd_custom_field_free(list[i]);
    }
    free(list);
    return out;
}

/* The API keys as a sorted list of "hash id scope" strings (the seam gives
 * no order), and the keys as listed (ordered by the seam). */
static json_t *keys_json(store_fx *fx)
{
    hookd_key_entry *all = NULL;
    size_t n = 0;
    CHECK_INT(hookd_store_key_entries(fx->st, &all, &n), 0);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        char text[2 * HOOKD_KEY_HASH_LEN + HOOKD_ID_MAX + 16];
        for (int b = 0; b < HOOKD_KEY_HASH_LEN; b++)
            snprintf(text + 2 * b, 3, "%02x", all[i].hash[b]);
        snprintf(text + 2 * HOOKD_KEY_HASH_LEN, sizeof text - 2 * HOOKD_KEY_HASH_LEN, " %s %d",
                 all[i].id, (int)all[i].scope);
        json_array_append_new(out, json_string(text));
    }
    free(all);
    size_t n_out = json_array_size(out);
    for (size_t i = 1; i < n_out; i++) { /* insertion sort: two or three keys */
        for (size_t j = i; j > 0; j--) {
            json_t *x = json_array_get(out, j - 1), *y = json_array_get(out, j);
            if (strcmp(json_string_value(x), json_string_value(y)) <= 0)
                break;
            json_incref(x);
            json_array_set(out, j - 1, y);
            json_array_set_new(out, j, x);
        }
    }
    hookd_key *keys = NULL;
    CHECK_INT(hookd_store_key_list(fx->st, &keys, &n), 0);
    json_t *listed = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(listed, json_pack("{s:s,s:s,s:i,s:I,s:I}", "id", keys[i].id, "name",
                                                keys[i].name, "scope", (int)keys[i].scope,
                                                "created", (json_int_t)keys[i].created_at, "used",
                                                (json_int_t)keys[i].last_used_at));
    hookd_key_list_free(keys, n);
    return json_pack("{s:o,s:o}", "entries", out, "listed", listed);
}

static json_t *person_json(store_fx *fx, const char *id)
{
    hookd_person *p = NULL;
    CHECK_INT(hookd_store_person_get(fx->st, id, &p), 0);
    if (!p)
        return json_null();
    json_t *out = json_pack("{s:s,s:s,s:O,s:I,s:I}", "id", p->contact_id, "account", p->account_id,
                            "fields", p->fields, "created", (json_int_t)p->created_at, "updated",
                            (json_int_t)p->updated_at);
    hookd_account *a = NULL;
    if (p->account_id[0] && hookd_store_account_get(fx->st, p->account_id, &a) == 0) {
        json_object_set_new(out, "account_fields", json_deep_copy(a->fields));
        hookd_account_free(a);
    }
    hookd_person_free(p);
    return out;
}

typedef struct world {
    int64_t keys[3];
    char people[2][HOOKD_ID_MAX];
} world;

static json_t *snapshot(store_fx *fx, const world *w)
{
    int64_t top = 0;
    CHECK_INT(hookd_store_max_seq(fx->st, &top), 0);
    json_t *per = json_array();
    for (int i = 0; i < 3; i++)
        json_array_append_new(per, json_pack("{s:o,s:o}", "log", log_json(fx, w->keys[i]),
                                             "counters", counters_json(fx, w->keys[i])));
    return json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:I}", "webhooks", webhooks_json(fx), "fields", fields_json(fx),
        "api_keys", keys_json(fx), "people",
        json_pack("[o,o]", person_json(fx, w->people[0]), person_json(fx, w->people[1])),
        "per_webhook", per, "max_seq", (json_int_t)top);
}

/* ---- the test ---------------------------------------------------------------------- */

static void record(store_fx *fx, const made_ref *d, hookd_delivery_state from, int attempts,
                   hookd_ds_event ev, int64_t t)
{
    hookd_outcome o = outcome_of(d, from, attempts, ev, t);
    fx_record(fx, &o);
}

/* A store with a bit of everything: a changed webhook, a disconnected one
 * with held deliveries and skipped activities, a deleted one with cancelled
 * deliveries, fields, keys, people with an account, deliveries in every
 * state with attempts. */
static bool build(store_fx *fx, world *w, hookd_webhook **deleted_out)
{
    hookd_webhook *a = fx_webhook(fx, "{\"name\":\"a\",\"url\":\"https://a.example.com/\","
                                      "\"activities\":[\"*\"],\"headers\":[{\"key\":\"X-A\","
                                      "\"value\":\"1\"}]}");
    hookd_webhook *b = fx_webhook(fx, "{\"name\":\"b\",\"url\":\"https://b.example.com/\","
                                      "\"method\":\"GET\",\"activities\":[\"act::s\"]}");
    hookd_webhook *c = fx_webhook(fx, WH_JSON("c", ACTS_S));
    if (!a || !b || !c)
        return false;
    w->keys[0] = a->key;
    w->keys[1] = b->key;
    w->keys[2] = c->key;
    *deleted_out = c;
    hookd_custom_field f = {.id = "str:cm:team",
                            .name = "Team",
                            .type = HOOKD_FT_STR,
                            .object = HOOKD_OBJ_PERSON,
                            .created_at = T0};
    CHECK_INT(hookd_store_field_insert(fx->st, &f), 0);
    char text[HOOKD_KEY_TEXT_MAX];
    hookd_key k;
    CHECK_INT(hookd_store_key_create(fx->st, "one", HOOKD_SCOPE_ADMIN, text, &k), 0);
    CHECK_INT(hookd_store_key_touch(fx->st, k.id, T0), 0);
    CHECK_INT(hookd_store_key_create(fx->st, "two", HOOKD_SCOPE_INGEST, text, NULL), 0);
    hookd_merge_person m[2] = {mp_make("{\"str::email\":\"p@example.com\",\"str:cm:team\":\"red\"}",
                                       "{\"str:o:name\":\"Acme\"}", NULL, 0),
                               mp_make("{\"str::email\":\"q@example.com\"}", NULL, NULL, 0)};
    hookd_merge_result r[2];
    CHECK_INT(hookd_store_people_merge(fx->st, m, 2, T0, r), 0);
    hookd_merge_person_clear(&m[0]);
    hookd_merge_person_clear(&m[1]);
    memcpy(w->people[0], r[0].id, HOOKD_ID_MAX);
    memcpy(w->people[1], r[1].id, HOOKD_ID_MAX);

    /* activity ids kept: "kept-1", "kept-2" */
    hookd_ingest_item items[2] = {
        {.activity_id = "kept-1", .contact_id = r[0].id, .created_ms = T0},
        {.activity_id = "kept-2", .contact_id = r[1].id, .created_ms = T0 + 1}};
    test_plan tp = TEST_PLAN("reopen");
    CHECK_INT(fx_ingest(fx, items, 2, &tp, NULL), 0);
    test_plan_clear(&tp);
    made_ref d[15];
    size_t n = fx_deliver(fx, 5, "act::s", T0 + 2, d, 15); /* a, b, c each */
    if (n != 15)
        return false;
    made_ref *da[5], *db[5];
    size_t na = 0, nb = 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i].webhook == a->key)
            da[na++] = &d[i];
        if (d[i].webhook == b->key)
            db[nb++] = &d[i];
    }
    record(fx, da[0], HOOKD_DS_PENDING, 0, HOOKD_EV_RETRY, T0 + 1000);
    record(fx, da[0], HOOKD_DS_RETRYING, 1, HOOKD_EV_RETRY, T0 + 2000);
    record(fx, da[1], HOOKD_DS_PENDING, 0, HOOKD_EV_RETRY, T0 + 1000);
    record(fx, da[1], HOOKD_DS_RETRYING, 1, HOOKD_EV_SUCCEEDED, T0 + 3000);
    record(fx, da[2], HOOKD_DS_PENDING, 0, HOOKD_EV_FAILED, T0 + 1000);
    record(fx, da[3], HOOKD_DS_PENDING, 0, HOOKD_EV_FAILED, T0 + 1000);
    CHECK_INT(hookd_store_delivery_retry(fx->st, a->id, da[3]->id, T0 + 4000), 0);
    record(fx, db[0], HOOKD_DS_PENDING, 0, HOOKD_EV_RETRY, T0 + 1000);
    CHECK_INT(hookd_store_webhook_change(fx->st, a->id, change_apply, "{\"name\":\"a2\"}", NULL),
              0);
    CHECK_INT(hookd_store_webhook_change(fx->st, a->id, change_apply,
                                         "{\"headers\":[{\"key\":\"X-A\",\"value\":\"2\"}]}", NULL),
              0);
    CHECK_INT(fx_connect(fx, b, false), 0);
    fx_deliver(fx, 2, "act::s", T0 + 3, d, 15); /* skipped by b */
    CHECK_INT(hookd_store_webhook_delete(fx->st, c->id), 0);
    char tid[HOOKD_ID_MAX];
    CHECK(hookd_id_new(tid) == 0);
    hookd_test_record t = {.id = tid,
                           .webhook = a,
                           .created_ms = T0 + 50,
                           .method = HOOKD_METHOD_POST,
                           .body = "{\"test\":1}",
                           .state = HOOKD_DS_SUCCEEDED,
                           .attempt = {.time_ms = T0 + 50,
                                       .duration_ms = 3,
                                       .status_code = 200,
                                       .version = 3,
                                       .signature = "v1,t"}};
    CHECK_INT(hookd_store_record_test(fx->st, &t), 0);
    return true;
}

STORE_TEST(reopen_keeps_everything)
{
    world w;
    hookd_webhook *deleted = NULL;
    if (!build(fx, &w, &deleted))
        return;
    json_t *before = snapshot(fx, &w);
    if (!fx_reopen(fx)) {
        json_decref(before);
        return;
    }
    json_t *after = snapshot(fx, &w);
    if (!before || !after || !json_equal(before, after)) {
        char *x = json_dumps(before, JSON_SORT_KEYS | JSON_COMPACT);
        char *y = json_dumps(after, JSON_SORT_KEYS | JSON_COMPACT);
        unit_fail(__FILE__, __LINE__, "after a reopen the store shows\n%s\nwhere it showed\n%s",
                  y ? y : "(null)", x ? x : "(null)");
        free(x);
        free(y);
    }
    /* the snapshot is not empty: the build did what it meant to */
    CHECK_INT(json_array_size(json_object_get(before, "webhooks")), 2);
    CHECK_INT(json_array_size(json_object_get(
                  json_array_get(json_object_get(before, "per_webhook"), 0), "log")),
              10);
    json_decref(before);
    json_decref(after);

    /* It goes on from there: ids still known, keys and seqs never again,
     * the listener told. */
    hookd_ingest_item again = {
        .activity_id = "kept-2", .contact_id = w.people[1], .created_ms = T0 + 10};
    test_plan tp = TEST_PLAN("after");
    CHECK_INT(fx_ingest(fx, &again, 1, &tp, NULL), 0);
    CHECK(again.duplicate);
    CHECK_INT(tp.n_calls, 0);
    test_plan_clear(&tp);
    int64_t top = 0;
    CHECK_INT(hookd_store_max_seq(fx->st, &top), 0);
    size_t fresh = rec_count(&fx->rec, REC_FRESH);
    made_ref d[1];
    if (fx_deliver(fx, 1, "act::o", T0 + 20, d, 1) == 1)
        CHECK(d[0].seq > top);
    CHECK_INT(rec_count(&fx->rec, REC_FRESH), fresh + 1);
    hookd_webhook *n = fx_webhook(fx, "{\"name\":\"n\",\"url\":\"https://n.example.com/\"}");
    if (n)
        CHECK(n->key > deleted->key);
}

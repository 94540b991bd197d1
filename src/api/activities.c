/*
 * activities.c — POST /api/v1/activities and POST /api/v1/webhooks/{id}/send
 * (SPEC §2): validate everything first (all or nothing), then in one write
 * transaction resolve contacts, store activities, and make one delivery per
 * subscribed, connected webhook with its payload built once. The 202 is
 * answered only after that transaction committed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/contacts.h"
#include "api/handlers.h"
#include "model/catalog.h"
#include "model/fieldvalue.h"
#include "model/payload.h"
#include "util/crypto.h"
#include "util/json.h"
#include "util/timeutil.h"
#include "util/utf8.h"

#define ACTIVITIES_MAX 1000
#define ACTIVITY_ID_MAX 64

/* One validated activity of a request. */
typedef struct ingest_item {
    const char *client_id;    /* the request's "id", or NULL (borrowed) */
    const char *field_id;     /* borrowed */
    const char *contact_id;   /* contact by id (borrowed), or NULL */
    hookd_merge_person merge; /* contact by merge when contact_id is NULL */
    json_t *attr;             /* normalised, bol::t dropped (new) */
    int64_t created_ns;
    json_t *campaign;         /* borrowed, or NULL */
    bool transactional;
} ingest_item;

static void item_clear(ingest_item *it)
{
    hookd_merge_person_clear(&it->merge);
    json_decref(it->attr);
}

/* attr: attribute id → value of its type; bol::t is dropped (hookd sets it). */
static int validate_attr(const json_t *v, const char *path, json_t **out, hookd_error *err)
{
    char field[HOOKD_ERR_FIELD_MAX];
    json_t *norm = json_object();
    if (!v) {
        *out = norm;
        return 0;
    }
    if (!json_is_object(v)) {
        json_decref(norm);
        return hookd_invalid(err, path, "%s must be an object of attribute id → value", path);
    }
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)v, k, val)
    {
        snprintf(field, sizeof field, "%s.%s", path, k);
        if (strcmp(k, "bol::t") == 0)
            continue;
        hookd_field_type t = hookd_attr_type(k);
        json_t *nv = NULL;
        if (t == HOOKD_FT_INVALID) {
            json_decref(norm);
            return hookd_invalid(err, field,
                                 "'%s' is not a catalog attribute or a custom <type>:cm:<name> id",
                                 k);
        }
        if (hookd_field_value_check(t, val, field, &nv, err) != 0) {
            json_decref(norm);
            return HOOKD_EINVAL;
        }
        json_object_set_new(norm, k, nv);
    }
    *out = norm;
    return 0;
}

static int validate_created(const json_t *v, const char *path, int64_t now_ns, int64_t *out,
                            hookd_error *err)
{
    if (!v) {
        *out = now_ns;
        return 0;
    }
    if (!json_is_string(v) || hookd_time_parse_rfc3339(json_string_value(v), out) != 0)
        return hookd_invalid(err, path,
                             "%s must be an RFC 3339 timestamp like 2023-01-16T23:40:54Z", path);
    return 0;
}

static int validate_campaign(const json_t *v, const char *path, ingest_item *it, hookd_error *err)
{
    static const char *const ALLOWED[] = {"id", "name", "transactional", NULL};
    char field[HOOKD_ERR_FIELD_MAX];
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return hookd_invalid(err, path, "%s must be {\"id\",\"name\",\"transactional\"}", path);
    if (hookd_json_only_keys(v, ALLOWED, path, err))
        return HOOKD_EINVAL;
    const json_t *id = json_object_get(v, "id"), *name = json_object_get(v, "name"),
                 *tr = json_object_get(v, "transactional");
    snprintf(field, sizeof field, "%s.id", path);
    if (id && !json_is_string(id))
        return hookd_invalid(err, field, "%s must be a string", field);
    snprintf(field, sizeof field, "%s.name", path);
    if (name && !json_is_string(name))
        return hookd_invalid(err, field, "%s must be a string", field);
    snprintf(field, sizeof field, "%s.transactional", path);
    if (tr && !json_is_boolean(tr))
        return hookd_invalid(err, field, "%s must be true or false", field);
    it->campaign = (json_t *)v;
    it->transactional = json_is_true(tr);
    return 0;
}

/* contact: {"contact_id"} or {"fields","merge_by"}. */
static int validate_contact(const json_t *v, const char *path, ingest_item *it, hookd_error *err)
{
    char field[HOOKD_ERR_FIELD_MAX];
    if (!json_is_object(v))
        return hookd_invalid(err, path,
                             "%s must be {\"contact_id\"} or {\"fields\":{…},\"merge_by\":[…]}",
                             path);
    const json_t *cid = json_object_get(v, "contact_id");
    if (cid) {
        static const char *const ALLOWED[] = {"contact_id", NULL};
        if (hookd_json_only_keys(v, ALLOWED, path, err))
            return HOOKD_EINVAL;
        snprintf(field, sizeof field, "%s.contact_id", path);
        if (!json_is_string(cid))
            return hookd_invalid(err, field, "%s must be a string", field);
        it->contact_id = json_string_value(cid);
        return 0;
    }
    const char *merge_by[HOOKD_MERGE_BY_MAX];
    int n;
    snprintf(field, sizeof field, "%s.merge_by", path);
    if (hookd_merge_by_validate(json_object_get(v, "merge_by"), field, merge_by, &n, err))
        return HOOKD_EINVAL;
    return hookd_merge_person_validate(v, path, merge_by, n, false, &it->merge, err);
}

static int validate_item(const json_t *v, size_t i, int64_t now_ns, ingest_item *it,
                         hookd_error *err)
{
    static const char *const ALLOWED[] = {"id", "field_id", "contact", "attr",
                                          "created", "campaign", NULL};
    char path[64], field[96];
    snprintf(path, sizeof path, "activities[%zu]", i);
    if (!json_is_object(v))
        return hookd_invalid(err, path, "%s must be an object", path);
    if (hookd_json_only_keys(v, ALLOWED, path, err))
        return HOOKD_EINVAL;
    const json_t *id = json_object_get(v, "id");
    snprintf(field, sizeof field, "%s.id", path);
    if (id) {
        size_t n = json_is_string(id) ? hookd_utf8_chars(json_string_value(id)) : 0;
        if (n < 1 || n > ACTIVITY_ID_MAX)
            return hookd_invalid(err, field, "%s must be a string of 1 to %d characters", field,
                                 ACTIVITY_ID_MAX);
        it->client_id = json_string_value(id);
    }
    const json_t *fid = json_object_get(v, "field_id");
    snprintf(field, sizeof field, "%s.field_id", path);
    if (!fid)
        return hookd_invalid(err, field, "%s is required", field);
    if (!json_is_string(fid) || !hookd_activity_id_valid(json_string_value(fid), false))
        return hookd_invalid(err, field,
                             "%s must be a catalog activity id or act:cm:<name> / act:oc:<name>",
                             field);
    it->field_id = json_string_value(fid);
    snprintf(field, sizeof field, "%s.contact", path);
    if (!json_object_get(v, "contact"))
        return hookd_invalid(err, field, "%s is required", field);
    if (validate_contact(json_object_get(v, "contact"), field, it, err))
        return HOOKD_EINVAL;
    snprintf(field, sizeof field, "%s.attr", path);
    if (validate_attr(json_object_get(v, "attr"), field, &it->attr, err))
        return HOOKD_EINVAL;
    snprintf(field, sizeof field, "%s.created", path);
    if (validate_created(json_object_get(v, "created"), field, now_ns, &it->created_ns, err))
        return HOOKD_EINVAL;
    snprintf(field, sizeof field, "%s.campaign", path);
    return validate_campaign(json_object_get(v, "campaign"), field, it, err);
}

/* The activity object of SPEC §3. */
static json_t *activity_doc(const char *id, const char *field_id, int64_t created_ns,
                            const json_t *attr)
{
    char created[HOOKD_TIME_MAX];
    int64_t s = created_ns / 1000000000LL - (created_ns % 1000000000LL < 0);
    hookd_time_format_s(s, created);
    return json_pack("{s:s,s:s,s:s,s:O}", "id", id, "field_id", field_id, "created", created,
                     "attr", attr);
}

/* Everything a delivery's payload is made from, for one contact. */
typedef struct contact_view {
    hookd_person *person;
    hookd_account *account; /* NULL when none */
} contact_view;

static void view_clear(contact_view *cv)
{
    hookd_person_free(cv->person);
    hookd_account_free(cv->account);
    cv->person = NULL;
    cv->account = NULL;
}

/* Resolves a contact inside tx: by id (ENOTFOUND if unknown) or by merge. */
static int resolve_contact(hookd_txn *tx, const char *contact_id, const hookd_merge_person *m,
                           int64_t now_ms, contact_view *cv)
{
    int rc;
    bool created;
    if (contact_id)
        rc = hookd_id_valid(contact_id) ? hookd_txn_person_get(tx, contact_id, &cv->person)
                                        : HOOKD_ENOTFOUND;
    else
        rc = hookd_merge_person_apply(tx, m, now_ms, &cv->person, &created);
    if (rc)
        return rc;
    if (cv->person->account_id[0]) {
        rc = hookd_txn_account_get(tx, cv->person->account_id, &cv->account);
        if (rc == HOOKD_ENOTFOUND)
            rc = 0; /* a link to a vanished account reads as no account */
    }
    return rc;
}

/* Builds and stores one delivery of kind for webhook wh. */
static int make_delivery(hookd_txn *tx, const hookd_webhook *wh, hookd_delivery_kind kind,
                         const contact_view *cv, const json_t *activity, bool transactional,
                         const json_t *action, int64_t now_ns, char *out_id)
{
    hookd_delivery d = {0};
    if (hookd_id_new(d.id) != 0)
        return HOOKD_EUNAVAIL;
    hookd_payload_input in = {
        .webhook = wh,
        .kind = kind,
        .delivery_id = d.id,
        .time_ns = now_ns,
        .contact_id = cv->person->contact_id,
        .person_fields = cv->person->fields,
        .account_fields = cv->account ? cv->account->fields : NULL,
        .activity = activity,
        .transactional = transactional,
        .action = action,
    };
    json_t *payload = hookd_payload_build(&in);
    if (!payload)
        return HOOKD_ENOMEM;
    int rc = hookd_payload_request(payload, wh->method, wh->url, &d.url, &d.body);
    json_decref(payload);
    if (rc != 0)
        return HOOKD_ENOMEM;
    snprintf(d.webhook_id, sizeof d.webhook_id, "%s", wh->id);
    d.kind = kind == HOOKD_KIND_ACTION ? "action" : kind == HOOKD_KIND_TEST ? "test" : "activity";
    d.activity_id = activity ? (char *)json_string_value(json_object_get(activity, "id")) : NULL;
    d.field_id = activity ? (char *)json_string_value(json_object_get(activity, "field_id")) : NULL;
    d.state = HOOKD_DS_PENDING;
    d.created_at = now_ns / 1000000;
    d.next_attempt_at = d.created_at;
    d.method = (char *)hookd_method_name(wh->method);
    rc = hookd_txn_delivery_insert(tx, &d);
    if (rc == 0 && out_id)
        snprintf(out_id, HOOKD_ID_MAX, "%s", d.id);
    free(d.url);
    free(d.body);
    return rc;
}

/* The last contact given by id, kept across the activities of one request:
 * a batch usually reports many activities of few people, and reading and
 * decoding the same person for each one dominated ingest profiles. A contact
 * given by merge is never cached, since merging changes the person. */
typedef struct contact_cache {
    char contact_id[HOOKD_ID_MAX];
    contact_view cv;
} contact_cache;

static void cache_clear_contact(contact_cache *cc)
{
    view_clear(&cc->cv);
    cc->contact_id[0] = '\0';
}

static int cached_contact(hookd_txn *tx, const ingest_item *it, int64_t now_ms,
                          contact_cache *cc, contact_view *cv, bool *borrowed)
{
    *borrowed = false;
    if (!it->contact_id) {
        /* A merge may change the cached person: forget it. */
        cache_clear_contact(cc);
        return resolve_contact(tx, NULL, &it->merge, now_ms, cv);
    }
    if (cc->contact_id[0] && strcmp(cc->contact_id, it->contact_id) == 0) {
        *cv = cc->cv;
        *borrowed = true;
        return 0;
    }
    int rc = resolve_contact(tx, it->contact_id, NULL, now_ms, cv);
    if (rc == 0) {
        cache_clear_contact(cc);
        cc->cv = *cv;
        snprintf(cc->contact_id, sizeof cc->contact_id, "%s", it->contact_id);
        *borrowed = true;
    }
    return rc;
}

/* Stores one new activity and its deliveries. skipped[w] counts, per
 * webhook, the activities it did not get while disconnected. */
static int ingest_one(hookd_txn *tx, const ingest_item *it, const char *id, hookd_webhook **whs,
                      size_t n_wh, int *skipped, int64_t now_ns, contact_cache *cc,
                      hookd_error *err, size_t index)
{
    contact_view cv = {0};
    bool borrowed;
    int rc = cached_contact(tx, it, now_ns / 1000000, cc, &cv, &borrowed);
    if (rc == HOOKD_ENOTFOUND) {
        char field[64];
        snprintf(field, sizeof field, "activities[%zu].contact.contact_id", index);
        return hookd_invalid(err, field, "no person has the contact_id '%.40s'", it->contact_id);
    }
    if (rc)
        return hookd_error_from_rc(err, rc, "contact");
    json_t *doc = activity_doc(id, it->field_id, it->created_ns, it->attr);
    hookd_activity_rec rec = {.id = id,
                              .field_id = it->field_id,
                              .contact_id = cv.person->contact_id,
                              .created_ns = it->created_ns,
                              .doc = doc,
                              .campaign = it->campaign};
    rc = doc ? hookd_txn_activity_insert(tx, &rec) : HOOKD_ENOMEM;
    for (size_t w = 0; rc == 0 && w < n_wh; w++) {
        if (!hookd_webhook_wants(whs[w], it->field_id))
            continue;
        if (!whs[w]->connected) {
            skipped[w]++;
            continue;
        }
        rc = make_delivery(tx, whs[w], HOOKD_KIND_ACTIVITY, &cv, doc, it->transactional, NULL,
                           now_ns, NULL);
    }
    json_decref(doc);
    if (!borrowed)
        view_clear(&cv);
    return rc ? hookd_error_from_rc(err, rc, "activity") : 0;
}

/* Runs the whole request in one transaction; answers[i] gets {"id","duplicate"}. */
static int ingest(hookd_api_ctx *ctx, ingest_item *items, size_t n, int64_t now_ns,
                  json_t *answers, hookd_error *err)
{
    hookd_txn *tx = NULL;
    hookd_webhook **whs = NULL;
    size_t n_wh = 0;
    int *skipped = NULL;
    contact_cache cc = {0};
    json_t *seen = NULL; /* client ids of this request, as a set */
    int rc = hookd_store_begin(ctx->store, &tx);
    if (rc)
        return hookd_error_from_rc(err, rc, "activities");
    seen = json_object();
    if ((rc = hookd_txn_webhooks(tx, &whs, &n_wh)) != 0 ||
        !(skipped = calloc(n_wh ? n_wh : 1, sizeof *skipped)) || !seen) {
        rc = hookd_error_from_rc(err, rc ? rc : HOOKD_ENOMEM, "activities");
        goto done;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        char id[ACTIVITY_ID_MAX * 4 + 1];
        bool dup = false;
        if (items[i].client_id) {
            snprintf(id, sizeof id, "%s", items[i].client_id);
            int exists = json_object_get(seen, id) ? 1 : hookd_txn_activity_exists(tx, id);
            if (exists < 0) {
                rc = hookd_error_from_rc(err, exists, "activities");
                break;
            }
            dup = exists == 1;
            json_object_set_new(seen, id, json_true());
        } else if (hookd_id_new(id) != 0) {
            rc = hookd_error_from_rc(err, HOOKD_EUNAVAIL, "activities");
            break;
        }
        if (!dup)
            rc = ingest_one(tx, &items[i], id, whs, n_wh, skipped, now_ns, &cc, err, i);
        json_array_append_new(answers, json_pack("{s:s,s:b}", "id", id, "duplicate", dup));
    }
    for (size_t w = 0; rc == 0 && w < n_wh; w++) {
        if (skipped[w] && (rc = hookd_txn_webhook_add_skipped(tx, whs[w]->id, skipped[w])) != 0)
            hookd_error_from_rc(err, rc, "activities");
    }
done:
    if (rc == 0 && (rc = hookd_txn_commit(tx)) != 0)
        hookd_error_from_rc(err, rc, "activities");
    else if (rc)
        hookd_txn_rollback(tx);
    hookd_webhook_list_free(whs, n_wh);
    free(skipped);
    cache_clear_contact(&cc);
    json_decref(seen);
    return rc;
}

/* Validates a whole request body into items (new array, *n entries, caller
 * clears each and frees), all or nothing. */
static int validate_request(const json_t *body, int64_t now_ns, ingest_item **out, size_t *n,
                            hookd_error *err)
{
    static const char *const ALLOWED[] = {"activities", NULL};
    const json_t *list = json_object_get(body, "activities");
    if (hookd_json_only_keys(body, ALLOWED, "", err))
        return HOOKD_EINVAL;
    *n = json_array_size(list);
    if (!json_is_array(list) || *n < 1 || *n > ACTIVITIES_MAX)
        return hookd_invalid(err, "activities", "activities must be a list of 1 to %d activities",
                             ACTIVITIES_MAX);
    ingest_item *items = calloc(*n, sizeof *items);
    if (!items)
        return hookd_error_from_rc(err, HOOKD_ENOMEM, "activities");
    int rc = 0;
    for (size_t i = 0; i < *n && rc == 0; i++)
        rc = validate_item(json_array_get(list, i), i, now_ns, &items[i], err);
    *out = items;
    return rc;
}

static void items_free(ingest_item *items, size_t n)
{
    for (size_t i = 0; items && i < n; i++)
        item_clear(&items[i]);
    free(items);
}

int hookd_activities_check(const json_t *body, hookd_error *err)
{
    ingest_item *items = NULL;
    size_t n = 0;
    if (!json_is_object(body))
        return hookd_invalid(err, NULL, "the body must be a JSON object");
    int rc = validate_request(body, hookd_now_ns(), &items, &n, err);
    items_free(items, n);
    return rc;
}

int hookd_h_activities(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                       hookd_error *err)
{
    ingest_item *items = NULL;
    size_t n = 0;
    int64_t now_ns = hookd_now_ns();
    json_t *answers = json_array();
    int rc = validate_request(req->body, now_ns, &items, &n, err);
    if (rc == 0 && (rc = ingest(ctx, items, n, now_ns, answers, err)) == 0)
        hookd_engine_wake(ctx->engine);
    items_free(items, n);
    if (rc) {
        json_decref(answers);
        return rc;
    }
    resp->status = 202;
    resp->json = json_pack("{s:o}", "activities", answers);
    return 0;
}

/* ---- /webhooks/{id}/send ------------------------------------------------ */

/* The optional activity of an action: {"id"?, "field_id", "created"?, "attr"?}. */
static int validate_action_activity(const json_t *v, int64_t now_ns, json_t **out,
                                    hookd_error *err)
{
    static const char *const ALLOWED[] = {"id", "field_id", "created", "attr", NULL};
    if (!json_is_object(v))
        return hookd_invalid(err, "activity", "activity must be an object");
    if (hookd_json_only_keys(v, ALLOWED, "activity", err))
        return HOOKD_EINVAL;
    const json_t *fid = json_object_get(v, "field_id"), *id = json_object_get(v, "id");
    if (!json_is_string(fid) || !hookd_activity_id_valid(json_string_value(fid), false))
        return hookd_invalid(err, "activity.field_id",
                             "activity.field_id must be a catalog activity id or act:cm:<name>");
    size_t idn = json_is_string(id) ? hookd_utf8_chars(json_string_value(id)) : 0;
    if (id && (idn < 1 || idn > ACTIVITY_ID_MAX))
        return hookd_invalid(err, "activity.id", "activity.id must be 1 to %d characters",
                             ACTIVITY_ID_MAX);
    int64_t created;
    json_t *attr = NULL;
    char gen[HOOKD_ID_MAX];
    if (validate_created(json_object_get(v, "created"), "activity.created", now_ns, &created, err) ||
        validate_attr(json_object_get(v, "attr"), "activity.attr", &attr, err))
        return HOOKD_EINVAL;
    if (!id && hookd_id_new(gen) != 0) {
        json_decref(attr);
        return hookd_error_from_rc(err, HOOKD_EUNAVAIL, "activity");
    }
    *out = activity_doc(id ? json_string_value(id) : gen, json_string_value(fid), created, attr);
    json_decref(attr);
    return *out ? 0 : hookd_error_from_rc(err, HOOKD_ENOMEM, "activity");
}

static int validate_action(const json_t *body, json_t **action, hookd_error *err)
{
    static const char *const KEYS[] = {"campaign_id", "campaign_name", "action_id", "action_name"};
    *action = json_object();
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++) {
        const json_t *v = json_object_get(body, KEYS[i]);
        if (!v || json_is_null(v))
            continue;
        if (!json_is_string(v)) {
            json_decref(*action);
            return hookd_invalid(err, KEYS[i], "%s must be a string", KEYS[i]);
        }
        json_object_set(*action, KEYS[i], (json_t *)v);
    }
    return 0;
}

int hookd_h_webhook_send(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                         hookd_error *err)
{
    static const char *const ALLOWED[] = {"contact",       "activity",  "campaign_id",
                                          "campaign_name", "action_id", "action_name", NULL};
    ingest_item it = {0};
    json_t *activity = NULL, *action = NULL;
    hookd_webhook *wh = NULL;
    contact_view cv = {0};
    hookd_txn *tx = NULL;
    char delivery_id[HOOKD_ID_MAX];
    int64_t now_ns = hookd_now_ns();
    int rc;
    if (!hookd_id_valid(req->params[0]))
        return hookd_error_from_rc(err, HOOKD_ENOTFOUND, "webhook");
    if ((rc = hookd_json_only_keys(req->body, ALLOWED, "", err)))
        return rc;
    if (!json_object_get(req->body, "contact"))
        return hookd_invalid(err, "contact", "contact is required");
    if ((rc = validate_contact(json_object_get(req->body, "contact"), "contact", &it, err)) ||
        (rc = validate_action(req->body, &action, err)))
        goto done;
    const json_t *act = json_object_get(req->body, "activity");
    if (act && !json_is_null(act) && (rc = validate_action_activity(act, now_ns, &activity, err)))
        goto done;
    if ((rc = hookd_store_begin(ctx->store, &tx)) != 0) {
        hookd_error_from_rc(err, rc, "webhook");
        goto done;
    }
    /* Read inside the transaction so a concurrent disconnect cannot slip
     * between the check and the insert. */
    hookd_webhook **whs = NULL;
    size_t n_wh = 0;
    if ((rc = hookd_txn_webhooks(tx, &whs, &n_wh)) != 0) {
        hookd_error_from_rc(err, rc, "webhook");
        goto done;
    }
    for (size_t i = 0; i < n_wh; i++) {
        if (!wh && strcmp(whs[i]->id, req->params[0]) == 0) {
            wh = whs[i];
            whs[i] = NULL;
        }
    }
    hookd_webhook_list_free(whs, n_wh);
    if (!wh) {
        rc = hookd_error_from_rc(err, HOOKD_ENOTFOUND, "webhook");
        goto done;
    }
    if (!wh->connected) {
        rc = hookd_error_set(err, 409, "conflict", NULL,
                             "the webhook is disconnected: connect it before sending");
        goto done;
    }
    rc = resolve_contact(tx, it.contact_id, &it.merge, now_ns / 1000000, &cv);
    if (rc == HOOKD_ENOTFOUND) {
        rc = hookd_invalid(err, "contact.contact_id", "no person has the contact_id '%.40s'",
                           it.contact_id);
        goto done;
    }
    if (rc || (rc = make_delivery(tx, wh, HOOKD_KIND_ACTION, &cv, activity, false, action,
                                  now_ns, delivery_id)) != 0) {
        hookd_error_from_rc(err, rc, "delivery");
        goto done;
    }
    rc = hookd_txn_commit(tx);
    tx = NULL;
    if (rc)
        hookd_error_from_rc(err, rc, "delivery");
done:
    hookd_txn_rollback(tx);
    view_clear(&cv);
    hookd_webhook_free(wh);
    json_decref(activity);
    json_decref(action);
    item_clear(&it);
    if (rc)
        return rc;
    hookd_engine_wake(ctx->engine);
    resp->status = 202;
    resp->json = json_pack("{s:s}", "delivery_id", delivery_id);
    return 0;
}

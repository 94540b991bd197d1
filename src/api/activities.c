/*
 * activities.c — POST /api/v1/activities and POST /api/v1/webhooks/{id}/send
 * (docs/api.md): validate everything first (all or nothing), then in one write
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
    const char *id;           /* the request's "id" (borrowed), or gen */
    char gen[HOOKD_ID_MAX];   /* a new id when the request gave none */
    const char *field_id;     /* borrowed */
    const char *contact_id;   /* contact by id (borrowed), or NULL */
    hookd_merge_person merge; /* contact by merge when contact_id is NULL */
    json_t *attr;             /* normalised, bol::t dropped (new) */
    int64_t created_ns;
    json_t *campaign;         /* borrowed, or NULL */
    bool transactional;
    json_t *doc;              /* the activity as payloads carry it (new) */
    char *doc_text;           /* doc as JSON text, bol::t settled (new) */
} ingest_item;

static void item_clear(ingest_item *it)
{
    hookd_merge_person_clear(&it->merge);
    json_decref(it->attr);
    json_decref(it->doc);
    free(it->doc_text);
}

/* attr: attribute id → value of its type; bol::t is dropped (hookd sets it). */
static int validate_attr(const json_t *v, const char *path, json_t **out, hookd_error *err)
{
    char field[HOOKD_ERR_FIELD_MAX];
    json_t *norm = json_object();
    if (!norm)
        return hookd_error_from_rc(err, HOOKD_ENOMEM, "activities");
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
        hookd_path(field, path, k);
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
        /* A value dropped here would be missing from every payload. */
        if (json_object_set_new(norm, k, nv) != 0) {
            json_decref(norm);
            return hookd_error_from_rc(err, HOOKD_ENOMEM, "activities");
        }
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
    hookd_path(field, path, "id");
    if (id && !json_is_string(id))
        return hookd_invalid(err, field, "%s must be a string", field);
    hookd_path(field, path, "name");
    if (name && !json_is_string(name))
        return hookd_invalid(err, field, "%s must be a string", field);
    hookd_path(field, path, "transactional");
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
        hookd_path(field, path, "contact_id");
        if (!json_is_string(cid))
            return hookd_invalid(err, field, "%s must be a string", field);
        it->contact_id = json_string_value(cid);
        return 0;
    }
    const char *merge_by[HOOKD_MERGE_BY_MAX];
    int n;
    hookd_path(field, path, "merge_by");
    if (hookd_merge_by_validate(json_object_get(v, "merge_by"), field, merge_by, &n, err))
        return HOOKD_EINVAL;
    return hookd_merge_person_validate(v, path, merge_by, n, false, &it->merge, err);
}

/* The activity object of docs/payload.md. */
static json_t *activity_doc(const char *id, const char *field_id, int64_t created_ns,
                            const json_t *attr)
{
    char created[HOOKD_TIME_MAX];
    int64_t s = created_ns / 1000000000LL - (created_ns % 1000000000LL < 0);
    hookd_time_format_s(s, created);
    /* Set member by member: json_pack parses its format on every call, and
     * this runs for every activity. */
    json_t *doc = json_object();
    if (!doc || json_object_set_new_nocheck(doc, "id", json_string(id)) != 0 ||
        json_object_set_new_nocheck(doc, "field_id", json_string(field_id)) != 0 ||
        json_object_set_new_nocheck(doc, "created", json_string(created)) != 0 ||
        json_object_set_nocheck(doc, "attr", (json_t *)attr) != 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static int validate_item(const json_t *v, size_t i, int64_t now_ns, ingest_item *it,
                         hookd_error *err)
{
    static const char *const ALLOWED[] = {"id", "field_id", "contact", "attr",
                                          "created", "campaign", NULL};
    char path[64], field[HOOKD_ERR_FIELD_MAX];
    snprintf(path, sizeof path, "activities[%zu]", i);
    if (!json_is_object(v))
        return hookd_invalid(err, path, "%s must be an object", path);
    if (hookd_json_only_keys(v, ALLOWED, path, err))
        return HOOKD_EINVAL;
    const json_t *id = json_object_get(v, "id");
    hookd_path(field, path, "id");
    if (id) {
        size_t n = json_is_string(id) ? hookd_utf8_chars(json_string_value(id)) : 0;
        if (n < 1 || n > ACTIVITY_ID_MAX)
            return hookd_invalid(err, field, "%s must be a string of 1 to %d characters", field,
                                 ACTIVITY_ID_MAX);
        it->id = json_string_value(id);
    } else if (hookd_id_new(it->gen) != 0) {
        return hookd_error_from_rc(err, HOOKD_EUNAVAIL, "activities");
    } else {
        it->id = it->gen;
    }
    const json_t *fid = json_object_get(v, "field_id");
    hookd_path(field, path, "field_id");
    if (!fid)
        return hookd_invalid(err, field, "%s is required", field);
    if (!json_is_string(fid) || !hookd_activity_id_valid(json_string_value(fid), false))
        return hookd_invalid(err, field,
                             "%s must be a catalog activity id or act:cm:<name> / act:oc:<name>",
                             field);
    it->field_id = json_string_value(fid);
    hookd_path(field, path, "contact");
    if (!json_object_get(v, "contact"))
        return hookd_invalid(err, field, "%s is required", field);
    if (validate_contact(json_object_get(v, "contact"), field, it, err))
        return HOOKD_EINVAL;
    hookd_path(field, path, "attr");
    if (validate_attr(json_object_get(v, "attr"), field, &it->attr, err))
        return HOOKD_EINVAL;
    hookd_path(field, path, "created");
    if (validate_created(json_object_get(v, "created"), field, now_ns, &it->created_ns, err))
        return HOOKD_EINVAL;
    hookd_path(field, path, "campaign");
    if (validate_campaign(json_object_get(v, "campaign"), field, it, err))
        return HOOKD_EINVAL;
    /* Made here, on the API thread, so the store's writer only copies it
     * into each body. */
    it->doc = activity_doc(it->id, it->field_id, it->created_ns, it->attr);
    if (it->doc)
        it->doc_text = hookd_payload_activity_text(it->doc, it->transactional);
    return it->doc_text ? 0 : hookd_error_from_rc(err, HOOKD_ENOMEM, "activities");
}

/* Builds one delivery of kind for webhook wh into the plan: the payload is
 * made once here and stored as the exact bytes every attempt sends. With
 * the activity's text at hand (activity_text), a JSON body is spliced from
 * it instead of being built and written out again for each webhook. */
static int plan_delivery(hookd_plan *plan, const hookd_webhook *wh, hookd_delivery_kind kind,
                         const hookd_person *p, const hookd_account *a, const json_t *activity,
                         const char *activity_text, bool transactional, const json_t *action,
                         int64_t now_ns)
{
    hookd_new_delivery *d = hookd_plan_add(plan);
    if (!d || hookd_id_new(d->id) != 0)
        return d ? HOOKD_EUNAVAIL : HOOKD_ENOMEM;
    hookd_payload_input in = {
        .webhook = wh,
        .kind = kind,
        .delivery_id = d->id,
        .time_ns = now_ns,
        .contact_id = p->contact_id,
        .person_fields = p->fields,
        .account_fields = a ? a->fields : NULL,
        .activity = activity,
        .transactional = transactional,
        .action = action,
    };
    bool query_form = wh->method == HOOKD_METHOD_GET || wh->method == HOOKD_METHOD_DELETE;
    if (activity_text && !query_form) {
        if (!(d->body = hookd_payload_body(&in, activity_text)))
            return HOOKD_ENOMEM;
    } else {
        json_t *payload = hookd_payload_build(&in);
        int rc = payload ? hookd_payload_wire(payload, wh->method, &d->query, &d->body) : -1;
        json_decref(payload);
        if (rc != 0)
            return HOOKD_ENOMEM;
    }
    d->webhook = wh;
    d->kind = kind;
    d->activity_id = activity ? json_string_value(json_object_get(activity, "id")) : NULL;
    d->field_id = activity ? json_string_value(json_object_get(activity, "field_id")) : NULL;
    d->created_ms = now_ns / 1000000;
    d->body_len = strlen(d->body);
    return 0;
}

/* What the ingest plan needs besides the store's arguments. */
typedef struct ingest_plan {
    ingest_item *items;
    size_t n;
    int64_t now_ns;
    size_t max_deliveries; /* --max-deliveries-per-request */
    bool over_cap;         /* out: check_fanout refused the request */
} ingest_plan;

/* How many deliveries an activity of type field_id makes: one per connected
 * webhook that wants it (plan_activity's rule). */
static size_t fanout_of(const char *field_id, hookd_webhook *const *whs, size_t n_wh)
{
    size_t k = 0;
    for (size_t w = 0; w < n_wh; w++)
        k += whs[w]->connected && hookd_webhook_wants(whs[w], field_id);
    return k;
}

/* The cap (docs/api.md#limits) on one request's deliveries. Run by the store inside the
 * ingest command, before anything is written, so it counts the webhooks as
 * they are when the deliveries would be made. Every activity of the request
 * counts, a duplicate too: the request is judged by what it asks for. A run
 * of activities of one type (the usual batch) is counted once. */
static int check_fanout(void *vctx, hookd_webhook *const *whs, size_t n_wh)
{
    ingest_plan *ctx = vctx;
    size_t total = 0, k = 0;
    ctx->over_cap = false;
    for (size_t i = 0; i < ctx->n; i++) {
        const char *fid = ctx->items[i].field_id;
        if (i == 0 || strcmp(fid, ctx->items[i - 1].field_id) != 0)
            k = fanout_of(fid, whs, n_wh);
        total += k;
        if (total > ctx->max_deliveries) {
            ctx->over_cap = true;
            return HOOKD_EINVAL;
        }
    }
    return 0;
}

/* The plan of POST /activities: one delivery per connected webhook that
 * wants the activity; disconnected ones count it as skipped. */
static int plan_activity(void *vctx, size_t index, const hookd_person *p, const hookd_account *a,
                         hookd_webhook *const *whs, size_t n_wh, hookd_plan *plan)
{
    ingest_plan *ctx = vctx;
    const ingest_item *it = &ctx->items[index];
    for (size_t w = 0; w < n_wh; w++) {
        if (!hookd_webhook_wants(whs[w], it->field_id))
            continue;
        if (!whs[w]->connected) {
            plan->skipped[w]++;
            continue;
        }
        int rc = plan_delivery(plan, whs[w], HOOKD_KIND_ACTIVITY, p, a, it->doc, it->doc_text,
                               it->transactional, NULL, ctx->now_ns);
        if (rc)
            return rc;
    }
    return 0;
}

/* {"id","duplicate"}: one per activity, so built without json_pack. */
static json_t *answer_of(const char *id, bool duplicate)
{
    json_t *a = json_object();
    if (a && (json_object_set_new_nocheck(a, "id", json_string(id)) != 0 ||
              json_object_set_new_nocheck(a, "duplicate", json_boolean(duplicate)) != 0)) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* Runs the whole request as one ingest command; answers[i] gets
 * {"id","duplicate"}. */
static int ingest(hookd_api_ctx *ctx, ingest_item *items, size_t n, int64_t now_ns,
                  json_t *answers, hookd_error *err)
{
    hookd_ingest_item *in_items = calloc(n, sizeof *in_items);
    if (!in_items)
        return hookd_error_from_rc(err, HOOKD_ENOMEM, "activities");
    for (size_t i = 0; i < n; i++) {
        in_items[i].activity_id = items[i].id;
        in_items[i].contact_id = items[i].contact_id;
        in_items[i].merge = items[i].contact_id ? NULL : &items[i].merge;
        in_items[i].created_ms = now_ns / 1000000;
    }
    ingest_plan plan = {.items = items, .n = n, .now_ns = now_ns,
                        .max_deliveries = ctx->max_deliveries};
    hookd_ingest in = {.items = in_items, .n = n, .plan = plan_activity, .ctx = &plan,
                       .check = ctx->max_deliveries ? check_fanout : NULL};
    int rc = hookd_store_ingest(ctx->store, &in);
    if (rc && plan.over_cap) {
        rc = hookd_invalid(err, "activities",
                           "these activities would make more than %zu deliveries (each activity "
                           "goes to every connected webhook that wants it; the cap is "
                           "--max-deliveries-per-request): send fewer per request",
                           ctx->max_deliveries);
    } else if (rc == HOOKD_ENOTFOUND) {
        char field[64];
        snprintf(field, sizeof field, "activities[%zu].contact.contact_id", in.failed_index);
        rc = hookd_invalid(err, field, "no person has the contact_id '%.40s'",
                           items[in.failed_index].contact_id);
    } else if (rc) {
        hookd_error_from_rc(err, rc, "activities");
    }
    /* After the commit: a 503 here is safe to retry, the activities come
     * back as duplicates. */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (json_array_append_new(answers, answer_of(items[i].id, in_items[i].duplicate)) != 0)
            rc = hookd_error_from_rc(err, HOOKD_ENOMEM, "answer");
    }
    free(in_items);
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
    int rc = answers ? validate_request(req->body, now_ns, &items, &n, err)
                     : hookd_error_from_rc(err, HOOKD_ENOMEM, "activities");
    if (rc == 0)
        rc = ingest(ctx, items, n, now_ns, answers, err);
    items_free(items, n);
    if (rc) {
        json_decref(answers);
        return rc;
    }
    resp->json = json_pack("{s:o}", "activities", answers);
    if (!resp->json)
        return hookd_error_from_rc(err, HOOKD_ENOMEM, "answer");
    resp->status = 202;
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

/* The plan of /webhooks/{id}/send: one action delivery to that webhook,
 * whatever its activities; 409 when it is disconnected. */
typedef struct send_plan {
    const char *webhook_id;
    const json_t *activity; /* or NULL */
    const json_t *action;
    int64_t now_ns;
    char delivery_id[HOOKD_ID_MAX];
    bool no_webhook, disconnected;
} send_plan;

static int plan_send(void *vctx, size_t index, const hookd_person *p, const hookd_account *a,
                     hookd_webhook *const *whs, size_t n_wh, hookd_plan *plan)
{
    send_plan *ctx = vctx;
    (void)index;
    for (size_t w = 0; w < n_wh; w++) {
        if (strcmp(whs[w]->id, ctx->webhook_id) != 0)
            continue;
        /* Checked inside the command, so a disconnect cannot slip between
         * the check and the insert. */
        if (!whs[w]->connected) {
            ctx->disconnected = true;
            return HOOKD_ECONFLICT;
        }
        int rc = plan_delivery(plan, whs[w], HOOKD_KIND_ACTION, p, a, ctx->activity, NULL, false,
                               ctx->action, ctx->now_ns);
        if (rc == 0)
            memcpy(ctx->delivery_id, plan->d[plan->n - 1].id, HOOKD_ID_MAX);
        return rc;
    }
    ctx->no_webhook = true;
    return HOOKD_ENOTFOUND;
}

int hookd_h_webhook_send(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                         hookd_error *err)
{
    static const char *const ALLOWED[] = {"contact",       "activity",  "campaign_id",
                                          "campaign_name", "action_id", "action_name", NULL};
    ingest_item it = {0};
    json_t *activity = NULL, *action = NULL;
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
    send_plan plan = {.webhook_id = req->params[0],
                      .activity = activity,
                      .action = action,
                      .now_ns = now_ns};
    /* An action is not an activity report: no idempotency id is kept. */
    hookd_ingest_item item = {.contact_id = it.contact_id,
                              .merge = it.contact_id ? NULL : &it.merge,
                              .created_ms = now_ns / 1000000};
    hookd_ingest in = {.items = &item, .n = 1, .plan = plan_send, .ctx = &plan};
    rc = hookd_store_ingest(ctx->store, &in);
    if (rc == 0) {
        /* After the commit: a 503 here means the delivery may well be
         * made (at least once, as every delivery). */
        resp->json = json_pack("{s:s}", "delivery_id", plan.delivery_id);
        if (resp->json)
            resp->status = 202;
        else
            rc = hookd_error_from_rc(err, HOOKD_ENOMEM, "answer");
    } else if (plan.disconnected) {
        hookd_error_set(err, 409, "conflict", NULL,
                        "the webhook is disconnected: connect it before sending");
    } else if (plan.no_webhook) {
        hookd_error_from_rc(err, HOOKD_ENOTFOUND, "webhook");
    } else if (rc == HOOKD_ENOTFOUND) {
        hookd_invalid(err, "contact.contact_id", "no person has the contact_id '%.40s'",
                      it.contact_id);
    } else {
        hookd_error_from_rc(err, rc, "delivery");
    }
done:
    json_decref(activity);
    json_decref(action);
    item_clear(&it);
    return rc;
}

/*
 * logs.c — GET /api/v1/webhooks/{id}/logs and /logs/{delivery_id} (docs/api.md
 * Logs): a webhook's deliveries newest first, with the request as it is sent
 * and the last answer, and one delivery with every attempt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/handlers.h"
#include "model/payload.h"
#include "model/webhook.h"
#include "util/crypto.h"
#include "util/json.h"
#include "util/timeutil.h"
#include "util/version.h"

#define LOGS_LIMIT_DEFAULT 50
#define LOGS_LIMIT_MAX 200


static json_t *time_or_null(int64_t ms)
{
    char t[HOOKD_TIME_MAX];
    if (ms <= 0)
        return json_null();
    hookd_time_format_ms(ms, t);
    return json_string(t);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static const char *kind_name(hookd_delivery_kind k)
{
    return k == HOOKD_KIND_ACTION ? "action" : k == HOOKD_KIND_TEST ? "test" : "activity";
}

/* The headers a delivery travels with (docs/api.md#delivery), Authorization redacted:
 * after an attempt, those it was sent with (the stored signature and the
 * headers of the webhook version it went out under); before one, what every
 * attempt carries now (webhook-timestamp and webhook-signature are made per
 * attempt). */
static json_t *request_headers(const hookd_webhook *wh, const hookd_delivery *d)
{
    json_t *h = json_object();
    if (d->body[0])
        json_object_set_new(h, "Content-Type", json_string("application/json"));
    json_object_set_new(h, "User-Agent", json_string("hookd/" HOOKD_VERSION));
    json_object_set_new(h, "webhook-id", json_string(d->msg_id[0] ? d->msg_id : d->id));
    char *tail_text = NULL;
    if (d->attempts > 0 && d->signature) {
        char ts[24];
        snprintf(ts, sizeof ts, "%lld", (long long)(d->last_at / 1000));
        json_object_set_new(h, "webhook-timestamp", json_string(ts));
        json_object_set_new(h, "webhook-signature", json_string(d->signature));
    }
    if (!d->headers)
        tail_text = hookd_webhook_tail_shown(wh);
    const char *tail_src = d->headers ? d->headers : tail_text ? tail_text : "{}";
    json_t *tail = hookd_json_loadb(tail_src, strlen(tail_src), 0, NULL);
    free(tail_text);
    if (tail)
        json_object_update(h, tail);
    json_decref(tail);
    return h;
}

static json_t *entry_json(const hookd_webhook *wh, const hookd_delivery *d)
{
    bool scheduled = hookd_ds_waiting(d->state);
    json_t *response = json_null();
    if (d->attempts > 0)
        response = json_pack("{s:o,s:o,s:o}", "status_code",
                             d->status_code ? json_integer(d->status_code) : json_null(), "body",
                             str_or_null(d->response_body), "duration_ms",
                             d->duration_ms >= 0 ? json_integer(d->duration_ms) : json_null());
    /* The URL it went to, or goes to: a delivery follows its webhook's URL. */
    char *url = hookd_payload_url(d->sent_url ? d->sent_url : wh->url, d->query);
    json_t *entry = json_pack(
        "{s:s,s:s,s:o,s:o,s:s,s:i,s:o,s:o,s:o,s:o,s:{s:s,s:s?,s:o,s:s},s:o}", "id", d->id, "kind",
        kind_name(d->kind), "activity_id", str_or_null(d->activity_id), "field_id",
        str_or_null(d->field_id), "state", hookd_ds_name(d->state), "attempts", d->attempts,
        "created_at", time_or_null(d->created_at), "next_attempt_at",
        scheduled ? time_or_null(d->next_attempt_at) : json_null(), "status_code",
        d->status_code ? json_integer(d->status_code) : json_null(), "error", str_or_null(d->error),
        "request", "method", hookd_method_name(d->method), "url", url, "headers",
        request_headers(wh, d), "body", d->body, "response", response);
    free(url);
    return entry;
}

int hookd_h_logs_list(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                      hookd_error *err)
{
    int64_t limit, cursor, next = 0;
    hookd_delivery_state states[HOOKD_DS_COUNT];
    size_t n_states = 0;
    const char *state = hookd_api_query_str(req, "state");
    if (state && (n_states = hookd_ds_parse(state, states)) == 0)
        return hookd_invalid(err, "state",
                             "state must be pending, retrying, succeeded, failed, held or "
                             "cancelled");
    hookd_webhook *wh = NULL;
    hookd_delivery **list = NULL;
    size_t n = 0;
    if (hookd_api_query_int(req, "limit", 1, LOGS_LIMIT_MAX, LOGS_LIMIT_DEFAULT, &limit, err) ||
        hookd_api_query_cursor(req, &cursor, err) ||
        hookd_api_load_webhook(ctx, req->params[0], &wh, err))
        return HOOKD_EINVAL;
    int rc = hookd_store_delivery_list(ctx->store, wh->key, states, n_states, (int)limit, cursor,
                                       &list, &n, &next);
    if (rc) {
        hookd_webhook_free(wh);
        return hookd_error_from_rc(err, rc, "logs");
    }
    json_t *entries = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(entries, entry_json(wh, list[i]));
        hookd_delivery_free(list[i]);
    }
    free(list);
    hookd_webhook_free(wh);
    resp->status = 200;
    resp->json = json_pack("{s:o,s:o}", "entries", entries, "next_cursor",
                           hookd_api_cursor_json(next));
    return resp->json ? 0 : hookd_error_from_rc(err, HOOKD_ENOMEM, "logs");
}

int hookd_h_logs_get(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                     hookd_error *err)
{
    hookd_webhook *wh = NULL;
    hookd_delivery *d = NULL;
    hookd_attempt *att = NULL;
    size_t na = 0;
    if (hookd_api_load_webhook(ctx, req->params[0], &wh, err))
        return HOOKD_EINVAL;
    int rc = hookd_id_valid(req->params[1])
                 ? hookd_store_delivery_get(ctx->store, wh->key, req->params[1], &d, &att, &na)
                 : HOOKD_ENOTFOUND;
    if (rc) {
        hookd_webhook_free(wh);
        return hookd_error_from_rc(err, rc, "delivery");
    }
    json_t *entry = entry_json(wh, d);
    json_t *detail = json_array();
    for (size_t i = 0; i < na; i++)
        json_array_append_new(
            detail, json_pack("{s:o,s:o,s:o,s:I,s:o}", "time", time_or_null(att[i].time_ms),
                              "status_code",
                              att[i].status_code ? json_integer(att[i].status_code) : json_null(),
                              "error", str_or_null(att[i].error), "duration_ms",
                              (json_int_t)att[i].duration_ms, "response_body",
                              str_or_null(att[i].response_body)));
    json_object_set_new(entry, "attempts_detail", detail);
    hookd_attempts_free(att, na);
    hookd_delivery_free(d);
    hookd_webhook_free(wh);
    resp->status = 200;
    resp->json = entry;
    return entry ? 0 : hookd_error_from_rc(err, HOOKD_ENOMEM, "delivery");
}

/* Sends a finished delivery again as a new one (docs/api.md) and answers with
 * the new entry. */
int hookd_h_logs_resend(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                        hookd_error *err)
{
    if (!hookd_id_valid(req->params[0]) || !hookd_id_valid(req->params[1]))
        return hookd_error_from_rc(err, HOOKD_ENOTFOUND, "delivery");
    /* A disconnected webhook sends nothing: a resend would wait unseen. */
    hookd_webhook *wh = NULL;
    int rc = hookd_store_webhook_get(ctx->store, req->params[0], &wh);
    if (rc)
        return hookd_error_from_rc(err, rc, "delivery");
    bool connected = wh->connected;
    hookd_webhook_free(wh);
    if (!connected)
        return hookd_error_set(err, 409, "conflict", NULL,
                               "the webhook is disconnected: connect it to resend");
    char id[HOOKD_ID_MAX];
    if (hookd_id_new(id) != 0)
        return hookd_error_from_rc(err, HOOKD_ENOMEM, "delivery");
    rc = hookd_store_delivery_resend(ctx->store, req->params[0], req->params[1], id,
                                         hookd_now_ms());
    if (rc == HOOKD_ECONFLICT)
        return hookd_error_set(err, 409, "conflict", NULL,
                               "only a succeeded or failed delivery can be resent");
    if (rc)
        return hookd_error_from_rc(err, rc, "delivery");
    hookd_req fresh = *req;
    fresh.params[1] = id;
    rc = hookd_h_logs_get(ctx, &fresh, resp, err);
    if (rc == 0)
        resp->status = 202;
    return rc;
}

int hookd_h_logs_retry(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                       hookd_error *err)
{
    if (!hookd_id_valid(req->params[0]) || !hookd_id_valid(req->params[1]))
        return hookd_error_from_rc(err, HOOKD_ENOTFOUND, "delivery");
    int rc = hookd_store_delivery_retry(ctx->store, req->params[0], req->params[1],
                                        hookd_now_ms());
    if (rc == HOOKD_ECONFLICT)
        return hookd_error_set(err, 409, "conflict", NULL,
                               "only a failed, retrying or pending delivery can be retried");
    if (rc)
        return hookd_error_from_rc(err, rc, "delivery");
    rc = hookd_h_logs_get(ctx, req, resp, err);
    if (rc == 0)
        resp->status = 202;
    return rc;
}

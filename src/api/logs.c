/*
 * logs.c — GET /api/v1/webhooks/{id}/logs and /logs/{delivery_id} (SPEC §2
 * Logs): a webhook's deliveries newest first, with the request as it is sent
 * and the last answer, and one delivery with every attempt.
 */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/handlers.h"
#include "model/webhook.h"
#include "util/crypto.h"
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

/* The headers a delivery travels with (SPEC §5), Authorization redacted.
 * webhook-timestamp and webhook-signature change with every attempt and are
 * made when it is sent. */
static json_t *request_headers(const hookd_webhook *wh, const hookd_delivery *d)
{
    json_t *h = json_object();
    if (d->body[0])
        json_object_set_new(h, "Content-Type", json_string("application/json"));
    json_object_set_new(h, "User-Agent", json_string("hookd/" HOOKD_VERSION));
    json_object_set_new(h, "webhook-id", json_string(d->id));
    if (wh && wh->basic_user)
        json_object_set_new(h, "Authorization", json_string("[redacted]"));
    for (size_t i = 0; wh && i < wh->n_headers; i++) {
        bool auth = strcasecmp(wh->headers[i].key, "Authorization") == 0;
        json_object_set_new(h, wh->headers[i].key,
                            json_string(auth ? "[redacted]" : wh->headers[i].value));
    }
    return h;
}

static json_t *entry_json(const hookd_webhook *wh, const hookd_delivery *d)
{
    json_t *headers = d->request_headers ? json_loads(d->request_headers, 0, NULL) : NULL;
    if (!headers)
        headers = request_headers(wh, d);
    bool scheduled = (d->state == HOOKD_DS_PENDING || d->state == HOOKD_DS_RETRYING);
    json_t *response = json_null();
    if (d->attempts > 0)
        response = json_pack("{s:o,s:o,s:o}", "status_code",
                             d->status_code ? json_integer(d->status_code) : json_null(), "body",
                             str_or_null(d->response_body), "duration_ms",
                             d->duration_ms >= 0 ? json_integer(d->duration_ms) : json_null());
    return json_pack(
        "{s:s,s:s,s:o,s:o,s:s,s:i,s:o,s:o,s:o,s:o,s:{s:s,s:s,s:o,s:s},s:o}", "id", d->id, "kind",
        d->kind, "activity_id", str_or_null(d->activity_id), "field_id", str_or_null(d->field_id),
        "state", hookd_delivery_state_name(d->state), "attempts", d->attempts, "created_at",
        time_or_null(d->created_at), "next_attempt_at",
        scheduled ? time_or_null(d->next_attempt_at) : json_null(), "status_code",
        d->status_code ? json_integer(d->status_code) : json_null(), "error",
        str_or_null(d->error), "request", "method", d->method, "url", d->url, "headers",
        headers, "body", d->body, "response", response);
}

/* Reads the optional query parameters state, limit, cursor. */
static int logs_query(const hookd_req *req, int *state, int *limit, int64_t *cursor,
                      hookd_error *err)
{
    struct MHD_Connection *c = req->conn;
    const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");
    const char *l = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    const char *cur = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cursor");
    *state = -1;
    *limit = LOGS_LIMIT_DEFAULT;
    *cursor = 0;
    if (s && *s && (*state = hookd_delivery_state_parse(s)) < 0)
        return hookd_invalid(err, "state",
                             "state must be pending, retrying, succeeded, failed, held or "
                             "cancelled");
    if (l && *l) {
        char *end;
        long v = strtol(l, &end, 10);
        if (*end || v < 1 || v > LOGS_LIMIT_MAX)
            return hookd_invalid(err, "limit", "limit must be an integer from 1 to %d",
                                 LOGS_LIMIT_MAX);
        *limit = (int)v;
    }
    if (cur && *cur) {
        char *end;
        long long v = strtoll(cur, &end, 10);
        if (*end || v < 1)
            return hookd_invalid(err, "cursor", "cursor must be a next_cursor from a logs answer");
        *cursor = v;
    }
    return 0;
}

int hookd_h_logs_list(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                      hookd_error *err)
{
    int state, limit;
    int64_t cursor, next = 0;
    hookd_webhook *wh = NULL;
    hookd_delivery **list = NULL;
    size_t n = 0;
    if (logs_query(req, &state, &limit, &cursor, err) || hookd_api_load_webhook(ctx, req->params[0], &wh, err))
        return HOOKD_EINVAL;
    int rc = hookd_store_delivery_list(ctx->store, wh->id, state, limit, cursor, &list, &n, &next);
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
    char cur[32];
    snprintf(cur, sizeof cur, "%lld", (long long)next);
    resp->status = 200;
    resp->json = json_pack("{s:o,s:o}", "entries", entries, "next_cursor",
                           next ? json_string(cur) : json_null());
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
                 ? hookd_store_delivery_get(ctx->store, wh->id, req->params[1], &d, &att, &na)
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
    hookd_engine_wake(ctx->engine);
    rc = hookd_h_logs_get(ctx, req, resp, err);
    if (rc == 0)
        resp->status = 202;
    return rc;
}

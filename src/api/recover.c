/*
 * recover.c — POST /api/v1/webhooks/{id}/recover (docs/api.md): puts a webhook's
 * failed deliveries of a time window back on the way, each with one more
 * attempt as a manual retry gives (the store moves them by the state
 * machine's retry-now event). Owns nothing past a call.
 */
#include <stdint.h>

#include "api/handlers.h"
#include "util/timeutil.h"

/* The RFC 3339 time in body[name] into *ms; absent is *present false. */
static int read_time(const json_t *body, const char *name, bool *present, int64_t *ms,
                     hookd_error *err)
{
    const json_t *v = json_object_get(body, name);
    int64_t ns = 0;
    *present = v && !json_is_null(v);
    if (!*present)
        return 0;
    if (!json_is_string(v) || hookd_time_parse_rfc3339(json_string_value(v), &ns) != 0)
        return hookd_invalid(err, name,
                             "%s must be an RFC 3339 timestamp like 2023-01-16T23:40:54Z", name);
    *ms = ns / 1000000;
    return 0;
}

int hookd_h_webhook_recover(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                            hookd_error *err)
{
    if (!hookd_id_valid(req->params[0]))
        return hookd_error_from_rc(err, HOOKD_ENOTFOUND, "webhook");
    if (!json_is_object(req->body))
        return hookd_invalid(err, "since", "the body must be a JSON object with since");
    bool has_since, has_until;
    int64_t since = 0, until = INT64_MAX;
    int rc = read_time(req->body, "since", &has_since, &since, err);
    if (rc == 0 && !has_since)
        rc = hookd_invalid(err, "since", "since is required");
    if (rc == 0)
        rc = read_time(req->body, "until", &has_until, &until, err);
    if (rc == 0 && has_until && until <= since)
        rc = hookd_invalid(err, "until", "until must be later than since");
    if (rc)
        return rc;
    int64_t n = 0;
    rc = hookd_store_recover(ctx->store, req->params[0], since, until, hookd_now_ms(), &n);
    if (rc)
        return hookd_error_from_rc(err, rc, "webhook");
    resp->status = 202;
    resp->json = json_pack("{s:I}", "recovered", (json_int_t)n);
    return resp->json ? 0 : hookd_error_from_rc(err, HOOKD_ENOMEM, "recover");
}

/*
 * catalog.c — /api/v1/catalog/activities and /catalog/attributes (docs/api.md):
 * the seed's catalog as JSON, plus /healthz.
 */
#include "api/handlers.h"
#include "model/catalog.h"

static json_t *entries_json(const hookd_catalog_entry *e, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "field_id", e[i].field_id, "name",
                                             e[i].name, "group", e[i].group));
    return arr;
}

int hookd_h_catalog_activities(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                               hookd_error *err)
{
    (void)ctx;
    (void)req;
    size_t n;
    const hookd_catalog_entry *e = hookd_catalog_activities(&n);
    resp->status = 200;
    resp->json = json_pack("{s:o}", "activities", entries_json(e, n));
    return resp->json ? 0 : hookd_error_from_rc(err, HOOKD_ENOMEM, "catalog");
}

int hookd_h_catalog_attributes(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                               hookd_error *err)
{
    (void)ctx;
    (void)req;
    size_t n;
    const hookd_catalog_entry *e = hookd_catalog_attributes(&n);
    resp->status = 200;
    resp->json = json_pack("{s:o}", "attributes", entries_json(e, n));
    return resp->json ? 0 : hookd_error_from_rc(err, HOOKD_ENOMEM, "catalog");
}

int hookd_h_healthz(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp, hookd_error *err)
{
    (void)ctx;
    (void)req;
    resp->status = 200;
    resp->json = json_pack("{s:s}", "status", "ok");
    return resp->json ? 0 : hookd_error_from_rc(err, HOOKD_ENOMEM, "health");
}

/*
 * web.c — GET / (the page) and GET /assets/<name> (its scripts, styles and
 * icons), both public: the page itself asks for the API key and sends it
 * only to /api/v1.
 *
 * Asset URLs carry no content hash (the JavaScript modules import each other
 * by plain name, with no build step to rewrite them), so nothing may be
 * cached without asking: "no-cache" makes the browser revalidate every time,
 * and the ETag turns that into a 304 without a body until hookd is upgraded.
 *
 * GET /api/v1/openapi.json, the API's description, is served the same way
 * and is public too: it holds no secret, and a generator or Swagger UI
 * should read it without a key.
 */
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/web.h"

#define PAGE_CACHE_CONTROL "no-cache"

static int by_name(const void *key, const void *elem)
{
    return strcmp(key, ((const hookd_web_asset *)elem)->name);
}

const hookd_web_asset *hookd_web_asset_find(const char *name)
{
    return bsearch(name, hookd_web_assets, hookd_web_asset_count, sizeof hookd_web_assets[0],
                   by_name);
}

/* Answers with the asset, or the 404 every unknown path gets. */
static int serve(const hookd_web_asset *a, const hookd_req *req, hookd_resp *resp, hookd_error *err)
{
    if (!a)
        return hookd_error_set(err, 404, "not_found", NULL, "no such path: %s", req->path);
    resp->status = 200;
    resp->type = a->type;
    resp->bytes = a->data;
    resp->len = a->len;
    resp->etag = a->etag;
    resp->cache = PAGE_CACHE_CONTROL;
    return 0;
}

int hookd_h_web_index(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp, hookd_error *err)
{
    (void)ctx;
    return serve(hookd_web_asset_find("index.html"), req, resp, err);
}

int hookd_h_web_asset(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp, hookd_error *err)
{
    (void)ctx;
    return serve(hookd_web_asset_find(req->params[0]), req, resp, err);
}

int hookd_h_openapi(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp, hookd_error *err)
{
    (void)ctx;
    return serve(hookd_openapi_asset_count ? &hookd_openapi_assets[0] : NULL, req, resp, err);
}

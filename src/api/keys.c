/*
 * keys.c — /api/v1/keys (docs/api.md): make a key (the only answer that shows
 * it), list the keys (never a key or its hash), revoke one. After a change
 * the server's cache of accepted keys is read again at once, so a revoked
 * key is refused by the very next request to this process.
 */
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "model/apikey.h"
#include "util/crypto.h"
#include "util/json.h"
#include "util/timeutil.h"

static void keys_changed(hookd_api_ctx *ctx)
{
    if (ctx->keys_reload)
        ctx->keys_reload(ctx->keys);
}

static json_t *time_json(int64_t ms)
{
    char t[HOOKD_TIME_MAX];
    if (ms <= 0)
        return json_null();
    hookd_time_format_ms(ms, t);
    return json_string(t);
}

int hookd_h_keys_create(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                        hookd_error *err)
{
    static const char *const ALLOWED[] = {"name", "scope", NULL};
    if (hookd_json_only_keys(req->body, ALLOWED, "", err))
        return HOOKD_EINVAL;
    const json_t *jname = json_object_get(req->body, "name");
    const char *problem = hookd_key_name_problem(json_string_value(jname));
    if (problem)
        return hookd_invalid(err, "name", "%s", problem);
    const json_t *jscope = json_object_get(req->body, "scope");
    hookd_key_scope scope = hookd_key_scope_from_name(json_string_value(jscope));
    if (scope == HOOKD_SCOPE_INVALID)
        return hookd_invalid(err, "scope", "scope is required: " HOOKD_KEY_SCOPES_TEXT);

    char text[HOOKD_KEY_TEXT_MAX];
    hookd_key k;
    int rc = hookd_store_key_create(ctx->store, json_string_value(jname), scope, text, &k);
    if (rc == HOOKD_EUNAVAIL)
        return hookd_error_set(err, 503, "unavailable", NULL,
                               "the key could not be made or stored; try again");
    if (rc)
        return hookd_error_from_rc(err, rc, "key");
    keys_changed(ctx);
    resp->status = 201;
    resp->json = json_pack("{s:s,s:s,s:s,s:s,s:o}", "id", k.id, "name", k.name, "scope",
                           hookd_key_scope_name(scope), "key", text, "created_at",
                           time_json(k.created_at));
    memset(text, 0, sizeof text);
    return resp->json ? 0 : hookd_error_from_rc(err, HOOKD_ENOMEM, "key");
}

int hookd_h_keys_list(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                      hookd_error *err)
{
    (void)req;
    hookd_key *keys = NULL;
    size_t n = 0;
    int rc = hookd_store_key_list(ctx->store, &keys, &n);
    if (rc)
        return hookd_error_from_rc(err, rc, "keys");
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        /* The store's time may be up to a minute old (server.c writes it
         * rarely); this process may know a later one. */
        int64_t used = keys[i].last_used_at;
        int64_t seen = ctx->key_last_used ? ctx->key_last_used(ctx->keys, keys[i].id) : 0;
        if (seen > used)
            used = seen;
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:o,s:o}", "id", keys[i].id, "name",
                                             keys[i].name, "scope",
                                             hookd_key_scope_name(keys[i].scope), "created_at",
                                             time_json(keys[i].created_at), "last_used_at",
                                             time_json(used)));
    }
    hookd_key_list_free(keys, n);
    resp->status = 200;
    resp->json = arr ? json_pack("{s:o}", "keys", arr) : NULL;
    return resp->json ? 0 : hookd_error_from_rc(err, HOOKD_ENOMEM, "keys");
}

int hookd_h_keys_revoke(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                        hookd_error *err)
{
    const char *id = req->params[0];
    int rc = hookd_id_valid(id) ? hookd_store_key_revoke(ctx->store, id) : HOOKD_ENOTFOUND;
    if (rc == HOOKD_ENOTFOUND)
        return hookd_error_set(err, 404, "not_found", NULL, "no key with id %s", id);
    if (rc)
        return hookd_error_from_rc(err, rc, "key");
    keys_changed(ctx);
    resp->status = 204;
    return 0;
}

/*
 * router.c — the table of every route of the API and the matcher over it.
 * Keeping the table in one place makes the whole surface of docs/api.md (and the
 * page, docs/web.md) readable at a glance, and makes 404 versus 405 a property of
 * the table.
 */
#include <string.h>

#include "api/handlers.h"

static const hookd_route ROUTES[] = {
    {"GET", "/healthz", hookd_h_healthz, ROUTE_PUBLIC},
    /* The page is public: it asks for the key and sends it to /api/v1 only. */
    {"GET", "/", hookd_h_web_index, ROUTE_PUBLIC},
    {"GET", "/assets/*", hookd_h_web_asset, ROUTE_PUBLIC},
    {"POST", "/api/v1/webhooks", hookd_h_webhook_create, ROUTE_BODY},
    {"GET", "/api/v1/webhooks", hookd_h_webhook_list, 0},
    {"GET", "/api/v1/webhooks/*", hookd_h_webhook_get, 0},
    {"PATCH", "/api/v1/webhooks/*", hookd_h_webhook_patch, ROUTE_BODY},
    {"DELETE", "/api/v1/webhooks/*", hookd_h_webhook_delete, 0},
    {"POST", "/api/v1/webhooks/*/connect", hookd_h_webhook_connect, 0},
    {"POST", "/api/v1/webhooks/*/disconnect", hookd_h_webhook_disconnect, 0},
    {"POST", "/api/v1/webhooks/*/rotate-secret", hookd_h_webhook_rotate, 0},
    {"POST", "/api/v1/webhooks/test", hookd_h_webhook_test_unsaved, ROUTE_BODY},
    {"POST", "/api/v1/webhooks/*/test", hookd_h_webhook_test, 0},
    {"POST", "/api/v1/webhooks/*/send", hookd_h_webhook_send, ROUTE_BODY},
    {"POST", "/api/v1/webhooks/*/logs/*/retry", hookd_h_logs_retry, 0},
    {"POST", "/api/v1/webhooks/*/logs/*/resend", hookd_h_logs_resend, 0},
    {"POST", "/api/v1/webhooks/*/recover", hookd_h_webhook_recover, ROUTE_BODY},
    {"GET", "/api/v1/webhooks/*/logs", hookd_h_logs_list, 0},
    {"GET", "/api/v1/webhooks/*/stats", hookd_h_webhook_stats, 0},
    {"GET", "/api/v1/webhooks/*/logs/*", hookd_h_logs_get, 0},
    {"POST", "/api/v1/people/merge", hookd_h_people_merge, ROUTE_BODY},
    {"GET", "/api/v1/people/*", hookd_h_person_get, 0},
    {"POST", "/api/v1/accounts/merge", hookd_h_accounts_merge, ROUTE_BODY},
    {"GET", "/api/v1/accounts/*", hookd_h_account_get, 0},
    {"POST", "/api/v1/activities", hookd_h_activities, ROUTE_BODY},
    {"GET", "/api/v1/fields", hookd_h_fields_list, 0},
    {"POST", "/api/v1/fields", hookd_h_fields_create, ROUTE_BODY},
    {"GET", "/api/v1/catalog/activities", hookd_h_catalog_activities, 0},
    {"GET", "/api/v1/catalog/attributes", hookd_h_catalog_attributes, 0},
    {"POST", "/api/v1/keys", hookd_h_keys_create, ROUTE_BODY},
    {"GET", "/api/v1/keys", hookd_h_keys_list, 0},
    {"DELETE", "/api/v1/keys/*", hookd_h_keys_revoke, 0},
    /* The API's description (docs/openapi.json) is public: it holds no secret. */
    {"GET", "/api/v1/openapi.json", hookd_h_openapi, ROUTE_PUBLIC},
    /* Needs a key unless --metrics-public (server.c). */
    {"GET", "/metrics", hookd_h_metrics, ROUTE_METRICS},
};

/* Matches path against pattern; on success fills params from scratch. */
static int match(const char *pattern, const char *path, hookd_req *req, char *scratch)
{
    int np = 0;
    const char *p = pattern, *s = path;
    char *out = scratch;
    while (*p && *s) {
        if (*p == '*') {
            size_t len = strcspn(s, "/");
            if (len == 0 || np == HOOKD_API_MAX_PARAMS)
                return 0;
            memcpy(out, s, len);
            out[len] = '\0';
            req->params[np++] = out;
            out += len + 1;
            s += len;
            p++;
        } else if (*p == *s) {
            p++;
            s++;
        } else {
            return 0;
        }
    }
    return *p == '\0' && *s == '\0';
}

const hookd_route *hookd_route_find(const char *method, const char *path, hookd_req *req,
                                    char *scratch, int *status)
{
    *status = 404;
    for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++) {
        if (!match(ROUTES[i].pattern, path, req, scratch))
            continue;
        if (strcmp(ROUTES[i].method, method) == 0)
            return &ROUTES[i];
        *status = 405;
    }
    return NULL;
}

size_t hookd_route_count(void)
{
    return sizeof ROUTES / sizeof ROUTES[0];
}

const hookd_route *hookd_route_at(size_t i)
{
    return i < hookd_route_count() ? &ROUTES[i] : NULL;
}

long hookd_route_index(const hookd_route *r)
{
    return r >= ROUTES && r < ROUTES + hookd_route_count() ? (long)(r - ROUTES) : -1;
}

long hookd_route_of_path(const char *path)
{
    hookd_req req;
    char scratch[256];
    if (strlen(path) >= sizeof scratch)
        return -1; /* no route's path is this long */
    for (size_t i = 0; i < hookd_route_count(); i++) {
        if (match(ROUTES[i].pattern, path, &req, scratch))
            return (long)i;
    }
    return -1;
}

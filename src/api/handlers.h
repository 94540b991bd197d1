/*
 * handlers.h — private to src/api: what a route handler gets and gives.
 *
 * The server (server.c) reads and checks the request (auth, size, media
 * type, JSON syntax) before any handler runs, so a handler sees a parsed JSON
 * object when its route takes a body. A handler fills either resp (returning
 * 0) or err (returning non-zero); the server turns either into the answer.
 *
 * An answer is JSON (resp->json, a new reference the server releases) or raw
 * bytes of any media type (resp->type and resp->bytes: the page, later
 * /metrics). Raw bytes are borrowed for the life of the process (compiled-in
 * data) unless resp->owned says the server must free() them, which it does
 * whatever happens to the answer. Handlers never see libmicrohttpd: the
 * server adds the headers every answer carries and answers If-None-Match.
 *
 * Threads: a handler runs on one of the server's handler threads and may
 * wait for the store, but never for the network. A handler whose answer
 * needs something that runs elsewhere (a test send, on the tester's thread:
 * delivery/tester.h) answers later: it calls hookd_api_defer with its second
 * half, starts the work, and returns HOOKD_API_LATER. Its connection stays
 * suspended and holds no handler thread meanwhile; when the work calls
 * hookd_api_resume, the second half runs on a handler thread (where it may
 * call the store) and fills resp or err as a handler does.
 */
#ifndef HOOKD_API_HANDLERS_H
#define HOOKD_API_HANDLERS_H

#include <jansson.h>
#include <stdbool.h>

#include "delivery/request.h"
#include "delivery/tester.h"
#include "store/store.h"
#include "util/error.h"

#define HOOKD_API_MAX_PARAMS 3

typedef struct hookd_api_ctx {
    hookd_store *store;
    hookd_send_opts send; /* for test sends */
    /* The server's cache of accepted keys, for the keys handlers: read the
     * keys again at once (after one was made or revoked), and the latest use
     * of a stored key this process knows (ms, 0 for none). */
    void *keys;
    void (*keys_reload)(void *keys);
    int64_t (*key_last_used)(void *keys, const char *id);
    size_t max_deliveries; /* one ingest's deliveries at most (docs/api.md); 0: no cap */
    hookd_tester *tester; /* runs test sends (the server's) */
} hookd_api_ctx;

/* A request whose answer comes later (see the top comment); the server's. */
typedef struct hookd_api_later hookd_api_later;

typedef struct hookd_req {
    const char *method;
    const char *path;
    const char *params[HOOKD_API_MAX_PARAMS]; /* the path's "*" segments, in order */
    json_t *body;                             /* borrowed; NULL unless the route takes one */
    void *conn;                               /* struct MHD_Connection *, for query args */
    hookd_api_later *later;                   /* NULL when it cannot wait (hookd stopping) */
} hookd_req;

typedef struct hookd_resp {
    int status;
    json_t *json;      /* a JSON answer; NULL with no type for no body (204) */
    const char *type;  /* or raw bytes: their Content-Type (static) */
    const void *bytes; /* the body, len bytes */
    size_t len;
    bool owned;        /* bytes were malloc'd for this answer; the server frees them */
    const char *etag;  /* quoted strong validator (static), or NULL */
    const char *cache; /* Cache-Control (static); NULL: "no-store", as for all JSON */
    unsigned retry_after; /* a Retry-After header's seconds (for the answer or the
                           * error), 0 for none */
} hookd_resp;

typedef int (*hookd_handler)(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                             hookd_error *err);

/* ---- answers given later ---- */

/* What a handler returns when its answer comes from its second half. */
#define HOOKD_API_LATER 1

/* A handler's second half: runs on a handler thread with the state given to
 * hookd_api_defer, which it owns (and frees); fills resp or err. */
typedef int (*hookd_api_second_half)(hookd_api_ctx *ctx, void *state, hookd_resp *resp,
                                     hookd_error *err);

/* Makes req's answer wait for second(state): returns the token to resume
 * it with, or NULL when req cannot wait (the handler answers now). After
 * this, a handler that returns HOOKD_API_LATER must have arranged exactly
 * one hookd_api_resume; one that returns anything else is answered by what
 * it returns, as usual (the deferral is dropped). */
hookd_api_later *hookd_api_defer(const hookd_req *req, hookd_api_second_half second, void *state);

/* The work is done: the second half may run. Any thread, once. */
void hookd_api_resume(hookd_api_later *later);

/* Route flags. */
enum { ROUTE_PUBLIC = 1, ROUTE_BODY = 2, ROUTE_METRICS = 4 /* public with --metrics-public */ };

typedef struct hookd_route {
    const char *method;
    const char *pattern; /* a "*" segment matches any one path segment */
    hookd_handler handler;
    int flags;
} hookd_route;

/* Finds the route for method and path, filling req->params. Returns the
 * route, or NULL with *status set to 404 (no such path) or 405 (path known,
 * method not). params point into scratch, which must hold len(path)+1. */
const hookd_route *hookd_route_find(const char *method, const char *path, hookd_req *req,
                                    char *scratch, int *status);

/* Handlers, one file per resource. */
int hookd_h_healthz(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_webhook_create(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_webhook_list(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_webhook_get(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_webhook_patch(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_webhook_delete(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_webhook_connect(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_webhook_disconnect(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_webhook_rotate(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_fields_list(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_fields_create(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_people_merge(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_person_get(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_accounts_merge(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_account_get(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_activities(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_webhook_send(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_webhook_test(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_webhook_test_unsaved(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_logs_retry(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_logs_resend(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_webhook_recover(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_logs_list(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_logs_get(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_catalog_activities(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_catalog_attributes(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_webhook_stats(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_web_index(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_web_asset(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_keys_create(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_keys_list(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_keys_revoke(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);
int hookd_h_openapi(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);

int hookd_h_metrics(hookd_api_ctx *, const hookd_req *, hookd_resp *, hookd_error *);

/* The route table by index (router.c), for counting requests by route:
 * how many routes, the i-th (NULL past the end), a route's index (-1 for
 * none), and the index of the first route whose pattern matches path
 * whatever its method (-1 for none): the route of a request refused
 * before its route was looked up (401) or for its method (405). */
#define HOOKD_API_ROUTES_MAX 128 /* rows of the table at most (metrics.c counts by row) */
size_t hookd_route_count(void);
const hookd_route *hookd_route_at(size_t i);
long hookd_route_index(const hookd_route *r);
long hookd_route_of_path(const char *path);

/* Counts one answered request by its route (NULL: found again from path)
 * and status (metrics.c); any thread, lock-free. */
void hookd_api_metrics_count(const hookd_route *route, const char *path, int status);

/* Query parameters (query.c). An integer in [min, max], dflt when absent;
 * a cursor (0 when absent); a string (NULL when absent or empty); and a
 * next_cursor for an answer (null for 0). Bad values are a 400 naming the
 * parameter: the functions return HOOKD_EINVAL with err filled. */
int hookd_api_query_int(const hookd_req *req, const char *name, int64_t min, int64_t max,
                        int64_t dflt, int64_t *out, hookd_error *err);
int hookd_api_query_cursor(const hookd_req *req, int64_t *out, hookd_error *err);
const char *hookd_api_query_str(const hookd_req *req, const char *name);
json_t *hookd_api_cursor_json(int64_t next);

/* Validates a POST /api/v1/activities body without storing anything: the
 * all-or-nothing check the handler runs first (exposed for the fuzz driver).
 * Returns 0 or HOOKD_EINVAL with err filled. */
int hookd_activities_check(const json_t *body, hookd_error *err);

/* Loads the webhook a path names (new, caller frees); 404 for an id hookd
 * could not have made or does not hold. Returns 0 or the error's code. */
int hookd_api_load_webhook(hookd_api_ctx *ctx, const char *id, hookd_webhook **wh,
                           hookd_error *err);

/* Looks a field id up among built-in and stored custom fields; the
 * hookd_field_lookup_fn of model/webhook.h with ctx = hookd_api_ctx. */
int hookd_api_field_lookup(void *ctx, const char *field_id, char **default_key);

#endif

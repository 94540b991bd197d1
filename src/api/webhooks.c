/*
 * webhooks.c — the /api/v1/webhooks handlers (docs/api.md#webhooks). Every
 * change goes through hookd_store_webhook_change, so validation and the write
 * happen in one transaction: a refused change leaves nothing behind. Test
 * sends (create, /test, the unsaved /test) answer later: see "test sends".
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/handlers.h"
#include "delivery/testsend.h"
#include "model/fields.h"
#include "model/webhook.h"
#include "util/timeutil.h"

int hookd_api_field_lookup(void *vctx, const char *field_id, char **default_key)
{
    hookd_api_ctx *ctx = vctx;
    const hookd_field_def *def = hookd_fields_builtin_find(field_id);
    if (def) {
        *default_key = strdup(def->default_key);
        return *default_key ? 1 : HOOKD_ENOMEM;
    }
    hookd_custom_field *f = NULL;
    int rc = hookd_store_field_get(ctx->store, field_id, &f);
    if (rc == HOOKD_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    hookd_custom_field_free(f);
    *default_key = hookd_field_default_key(field_id);
    return *default_key ? 1 : HOOKD_ENOMEM;
}

/* Answers with one webhook (consumed). */
static int reply_webhook(hookd_resp *resp, int status, hookd_webhook *wh, hookd_error *err)
{
    resp->status = status;
    resp->json = hookd_webhook_to_json(wh);
    hookd_webhook_free(wh);
    return resp->json ? 0 : hookd_error_from_rc(err, HOOKD_ENOMEM, "webhook");
}

/* Ids hookd never made cannot name a webhook: 404 without asking the store. */
static int check_id(const char *id, hookd_error *err)
{
    if (hookd_id_valid(id))
        return 0;
    return hookd_error_from_rc(err, HOOKD_ENOTFOUND, "webhook");
}

int hookd_api_load_webhook(hookd_api_ctx *ctx, const char *id, hookd_webhook **wh,
                           hookd_error *err)
{
    if (check_id(id, err))
        return HOOKD_ENOTFOUND;
    int rc = hookd_store_webhook_get(ctx->store, id, wh);
    return rc ? hookd_error_from_rc(err, rc, "webhook") : 0;
}

/* --https-only: an http URL is refused where one is given (create, the
 * unsaved test, a PATCH that sets url); a stored one fails at delivery. */
static int check_https_only(const hookd_api_ctx *ctx, const json_t *body,
                            const hookd_webhook *wh, hookd_error *err)
{
    if (!ctx->send.https_only || !json_object_get(body, "url") ||
        strncasecmp(wh->url, "https:", 6) == 0)
        return 0;
    return hookd_invalid(err, "url", "url must be an https:// URL: hookd runs with --https-only");
}

/* ---- test sends --------------------------------------------------------- */

/* A test is sent on the tester's thread (delivery/tester.h), never on a
 * handler thread: the handler starts it and defers its answer, and the
 * second half (created, tested, tested_unsaved) runs on a handler thread
 * once the test is back: it stores what must be stored and answers. */

#define TOO_MANY "too many test sends in progress"

typedef struct test_job {
    hookd_webhook *wh;     /* owned */
    hookd_test *test;      /* owned; finished once the second half runs */
    hookd_api_later *later;
    bool secret_chosen;    /* unsaved: the body chose the secret */
} test_job;

static void job_free(test_job *job)
{
    hookd_webhook_free(job->wh);
    hookd_test_free(job->test);
    free(job);
}

/* The tester's callback (its thread): the test goes back to a handler. */
static void test_done(hookd_test *t, void *ctx)
{
    test_job *job = ctx;
    job->test = t;
    hookd_api_resume(job->later);
}

/* Starts the test of wh (taken) with second as the second half. Returns
 * HOOKD_API_LATER; or 0 when the test could not be sent, with *why
 * (static) and *retry_after (0 unless the cap is reached) set and wh handed
 * back in *back; or an error code with err filled (wh freed). */
static int start_test(hookd_api_ctx *ctx, const hookd_req *req, hookd_webhook *wh,
                      hookd_api_second_half second, bool secret_chosen, hookd_webhook **back,
                      const char **why, unsigned *retry_after, hookd_error *err)
{
    test_job *job = calloc(1, sizeof *job);
    hookd_test *t = job ? hookd_test_new(wh, &ctx->send) : NULL;
    if (!t) {
        free(job);
        hookd_webhook_free(wh);
        return hookd_error_from_rc(err, HOOKD_ENOMEM, "test");
    }
    job->wh = wh;
    job->secret_chosen = secret_chosen;
    *retry_after = 0;
    *why = "hookd is stopping";
    /* Deferred first: the test may be back before submit returns. */
    if ((job->later = hookd_api_defer(req, second, job)) != NULL &&
        hookd_tester_submit(ctx->tester, t, test_done, job, retry_after) == 0)
        return HOOKD_API_LATER;
    if (*retry_after)
        *why = TOO_MANY;
    hookd_test_free(t);
    *back = wh;
    free(job);
    return 0;
}

/* /test could not send: 429 past the cap, 503 while hookd stops. */
static int not_sent(hookd_resp *resp, const char *why, unsigned retry_after, hookd_error *err)
{
    if (!retry_after)
        return hookd_error_set(err, 503, "unavailable", NULL, "%s", why);
    resp->retry_after = retry_after;
    return hookd_error_set(err, 429, "rate_limited", NULL, "%s; retry in %u s", why,
                           retry_after);
}

/* The test object of a create's answer (docs/api.md: ok, status_code, error). */
static json_t *create_test_json(bool ok, json_t *status_code, const char *error)
{
    return json_pack("{s:b,s:o,s:o}", "ok", ok, "status_code", status_code, "error",
                     error ? json_string(error) : json_null());
}

/* Answers 201 with the stored webhook (consumed) and its test object (consumed). */
static int reply_created(hookd_resp *resp, hookd_webhook *wh, json_t *test, hookd_error *err)
{
    int rc = reply_webhook(resp, 201, wh, err);
    if (rc == 0 && (!test || json_object_set_new(resp->json, "test", test) != 0)) {
        json_decref(resp->json);
        resp->json = NULL;
        return hookd_error_from_rc(err, HOOKD_ENOMEM, "webhook");
    }
    if (rc)
        json_decref(test);
    return rc;
}

/* A create's second half: the webhook and its test's log row in one
 * commit, or neither (503): a test result is never answered without its
 * row in the log. */
static int created(hookd_api_ctx *ctx, void *state, hookd_resp *resp, hookd_error *err)
{
    test_job *job = state;
    hookd_test_record rec = hookd_test_record_of(job->test, job->wh);
    int rc = hookd_store_webhook_insert_tested(ctx->store, job->wh, &rec);
    if (rc) {
        job_free(job);
        return hookd_error_from_rc(err, rc, "webhook");
    }
    const hookd_attempt_result *res = &job->test->res;
    json_t *test = create_test_json(job->test->ok,
                                    res->status_code ? json_integer(res->status_code)
                                                     : json_null(),
                                    res->error);
    hookd_webhook *wh = job->wh;
    job->wh = NULL;
    job_free(job);
    return reply_created(resp, wh, test, err);
}

int hookd_h_webhook_create(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                           hookd_error *err)
{
    hookd_webhook *wh = hookd_webhook_new(hookd_now_ms());
    if (!wh)
        return hookd_error_from_rc(err, HOOKD_ENOMEM, "webhook");
    int rc = hookd_webhook_apply(wh, req->body, true, hookd_api_field_lookup, ctx, err);
    if (rc == 0)
        rc = check_https_only(ctx, req->body, wh, err);
    if (rc) {
        hookd_webhook_free(wh);
        return rc;
    }
    /* The test goes first and the webhook is stored with its row (created).
     * Creation succeeds whatever the test's outcome (docs/api.md), and when no
     * test can be sent now, without one. */
    const char *why;
    unsigned retry_after;
    hookd_webhook *back = NULL;
    rc = start_test(ctx, req, wh, created, false, &back, &why, &retry_after, err);
    if (rc)
        return rc;
    wh = back;
    if ((rc = hookd_store_webhook_insert(ctx->store, wh)) != 0) {
        hookd_webhook_free(wh);
        return hookd_error_from_rc(err, rc, "webhook");
    }
    return reply_created(resp, wh, create_test_json(false, json_null(), why), err);
}

/* /webhooks/{id}/test's second half: the answer only once it is logged. */
static int tested(hookd_api_ctx *ctx, void *state, hookd_resp *resp, hookd_error *err)
{
    test_job *job = state;
    hookd_test_record rec = hookd_test_record_of(job->test, job->wh);
    int rc = hookd_store_record_test(ctx->store, &rec);
    if (rc == 0 && !(resp->json = hookd_test_answer(job->test)))
        rc = HOOKD_ENOMEM;
    job_free(job);
    if (rc)
        return hookd_error_from_rc(err, rc, "test");
    resp->status = 200;
    return 0;
}

int hookd_h_webhook_test(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                         hookd_error *err)
{
    hookd_webhook *wh = NULL;
    int rc = hookd_api_load_webhook(ctx, req->params[0], &wh, err);
    if (rc)
        return rc;
    const char *why;
    unsigned retry_after;
    hookd_webhook *back = NULL;
    rc = start_test(ctx, req, wh, tested, false, &back, &why, &retry_after, err);
    if (rc)
        return rc;
    hookd_webhook_free(back);
    return not_sent(resp, why, retry_after, err);
}

/* /webhooks/test's second half: an unsaved webhook has no log. */
static int tested_unsaved(hookd_api_ctx *ctx, void *state, hookd_resp *resp, hookd_error *err)
{
    (void)ctx;
    test_job *job = state;
    resp->json = hookd_test_answer(job->test);
    /* Without a chosen secret the test was signed with a new one: answer it,
     * so the receiver can be set up with it and the webhook created with it. */
    if (resp->json && !job->secret_chosen &&
        json_object_set_new(resp->json, "secret", json_string(job->wh->secret)) != 0) {
        json_decref(resp->json);
        resp->json = NULL;
    }
    job_free(job);
    resp->status = 200;
    return resp->json ? 0 : hookd_error_from_rc(err, HOOKD_ENOMEM, "test");
}

int hookd_h_webhook_test_unsaved(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                                 hookd_error *err)
{
    hookd_webhook *wh = hookd_webhook_new(hookd_now_ms());
    if (!wh)
        return hookd_error_from_rc(err, HOOKD_ENOMEM, "webhook");
    int rc = hookd_webhook_apply(wh, req->body, true, hookd_api_field_lookup, ctx, err);
    if (rc == 0)
        rc = check_https_only(ctx, req->body, wh, err);
    if (rc) {
        hookd_webhook_free(wh);
        return rc;
    }
    const char *why;
    unsigned retry_after;
    hookd_webhook *back = NULL;
    rc = start_test(ctx, req, wh, tested_unsaved, json_object_get(req->body, "secret") != NULL,
                    &back, &why, &retry_after, err);
    if (rc)
        return rc;
    hookd_webhook_free(back);
    return not_sent(resp, why, retry_after, err);
}

#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX 1000
#define STATS_HOURS_MAX 720
#define HOUR_MS 3600000LL

/* The webhooks of a page with their stats: one counters read per page. */
static json_t *page_json(hookd_api_ctx *ctx, hookd_webhook **list, size_t n, int *rc)
{
    int64_t *keys = calloc(n ? n : 1, sizeof *keys);
    hookd_webhook_stats *st = calloc(n ? n : 1, sizeof *st);
    json_t *arr = json_array();
    *rc = keys && st && arr ? 0 : HOOKD_ENOMEM;
    for (size_t i = 0; *rc == 0 && i < n; i++)
        keys[i] = list[i]->key;
    if (*rc == 0)
        *rc = hookd_store_webhook_stats(ctx->store, keys, n, hookd_now_ms(), st);
    for (size_t i = 0; *rc == 0 && i < n; i++) {
        json_t *j = hookd_webhook_to_json(list[i]);
        if (!j || json_object_set_new(j, "stats",
                                      json_pack("{s:I,s:I,s:I,s:I}", "succeeded_24h",
                                                (json_int_t)st[i].succeeded_24h, "failed_24h",
                                                (json_int_t)st[i].failed_24h, "pending",
                                                (json_int_t)st[i].pending, "skipped",
                                                (json_int_t)st[i].skipped)) != 0 ||
            json_array_append_new(arr, j) != 0)
            *rc = HOOKD_ENOMEM;
    }
    free(keys);
    free(st);
    if (*rc) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

int hookd_h_webhook_list(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                         hookd_error *err)
{
    int64_t limit, after;
    if (hookd_api_query_int(req, "limit", 1, LIST_LIMIT_MAX, LIST_LIMIT_DEFAULT, &limit, err) ||
        hookd_api_query_cursor(req, &after, err))
        return HOOKD_EINVAL;
    hookd_webhook **list = NULL;
    size_t n = 0;
    int64_t next = 0;
    int rc = hookd_store_webhook_list(ctx->store, after, (int)limit, &list, &n, &next);
    json_t *arr = rc ? NULL : page_json(ctx, list, n, &rc);
    hookd_webhook_list_free(list, n);
    if (rc)
        return hookd_error_from_rc(err, rc, "webhooks");
    resp->status = 200;
    resp->json = json_pack("{s:o,s:o}", "webhooks", arr, "next_cursor",
                           hookd_api_cursor_json(next));
    return resp->json ? 0 : hookd_error_from_rc(err, HOOKD_ENOMEM, "webhooks");
}

int hookd_h_webhook_stats(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                          hookd_error *err)
{
    int64_t hours;
    hookd_webhook *wh = NULL;
    if (hookd_api_query_int(req, "hours", 1, STATS_HOURS_MAX, 24, &hours, err) ||
        hookd_api_load_webhook(ctx, req->params[0], &wh, err))
        return HOOKD_EINVAL;
    int64_t key = wh->key;
    hookd_webhook_free(wh);
    /* The last bucket is the hour now running. */
    int64_t now = hookd_now_ms();
    int64_t first = now - now % HOUR_MS - (hours - 1) * HOUR_MS;
    hookd_hour_counts *c = calloc((size_t)hours, sizeof *c);
    int rc = c ? hookd_store_webhook_hours(ctx->store, key, first, (int)hours, c) : HOOKD_ENOMEM;
    json_t *buckets = rc ? NULL : json_array();
    for (int64_t i = 0; buckets && i < hours; i++) {
        char t[HOOKD_TIME_MAX];
        hookd_time_format_s((first + i * HOUR_MS) / 1000, t);
        if (json_array_append_new(buckets,
                                  json_pack("{s:s,s:I,s:I,s:I}", "hour", t, "succeeded",
                                            (json_int_t)c[i].succeeded, "failed",
                                            (json_int_t)c[i].failed, "retried",
                                            (json_int_t)c[i].retried)) != 0) {
            json_decref(buckets);
            buckets = NULL;
            rc = HOOKD_ENOMEM;
        }
    }
    free(c);
    if (rc)
        return hookd_error_from_rc(err, rc, "stats");
    resp->status = 200;
    resp->json = json_pack("{s:o}", "buckets", buckets);
    return resp->json ? 0 : hookd_error_from_rc(err, HOOKD_ENOMEM, "stats");
}

int hookd_h_webhook_get(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                        hookd_error *err)
{
    hookd_webhook *wh = NULL;
    int rc = hookd_api_load_webhook(ctx, req->params[0], &wh, err);
    return rc ? rc : reply_webhook(resp, 200, wh, err);
}

/* What a change callback needs: the API context, the body, and where to put
 * a validation error. */
typedef struct change_ctx {
    hookd_api_ctx *api;
    const json_t *body;
    hookd_error *err;
    enum { CHANGE_PATCH, CHANGE_CONNECT, CHANGE_DISCONNECT, CHANGE_ROTATE } what;
} change_ctx;

static int apply_change(hookd_webhook *wh, void *vctx)
{
    change_ctx *c = vctx;
    int rc = 0;
    switch (c->what) {
    case CHANGE_PATCH:
        rc = hookd_webhook_apply(wh, c->body, false, hookd_api_field_lookup, c->api, c->err);
        if (rc == 0)
            rc = check_https_only(c->api, c->body, wh, c->err);
        break;
    case CHANGE_CONNECT:
        hookd_webhook_set_connected(wh, true, HOOKD_DISC_NONE, NULL);
        break;
    case CHANGE_DISCONNECT:
        hookd_webhook_set_connected(wh, false, HOOKD_DISC_USER, NULL);
        break;
    case CHANGE_ROTATE:
        if (hookd_webhook_rotate_secret(wh, hookd_now_ms()) != 0)
            rc = hookd_error_set(c->err, 503, "unavailable", NULL, "the CSPRNG failed");
        break;
    }
    if (rc == 0)
        wh->updated_at = hookd_now_ms();
    return rc;
}

static int change(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp, hookd_error *err,
                  int what)
{
    change_ctx c = {.api = ctx, .body = req->body, .err = err, .what = what};
    hookd_webhook *wh = NULL;
    if (check_id(req->params[0], err))
        return HOOKD_ENOTFOUND;
    int rc = hookd_store_webhook_change(ctx->store, req->params[0], apply_change, &c, &wh);
    if (rc) {
        /* A validation error was already written by the callback. */
        if (rc != HOOKD_EINVAL || !err->code)
            hookd_error_from_rc(err, rc, "webhook");
        return rc;
    }
    return reply_webhook(resp, 200, wh, err);
}

int hookd_h_webhook_patch(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                          hookd_error *err)
{
    return change(ctx, req, resp, err, CHANGE_PATCH);
}

int hookd_h_webhook_connect(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                            hookd_error *err)
{
    return change(ctx, req, resp, err, CHANGE_CONNECT);
}

int hookd_h_webhook_disconnect(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                               hookd_error *err)
{
    return change(ctx, req, resp, err, CHANGE_DISCONNECT);
}

int hookd_h_webhook_rotate(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                           hookd_error *err)
{
    return change(ctx, req, resp, err, CHANGE_ROTATE);
}

int hookd_h_webhook_delete(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                           hookd_error *err)
{
    if (check_id(req->params[0], err))
        return HOOKD_ENOTFOUND;
    int rc = hookd_store_webhook_delete(ctx->store, req->params[0]);
    if (rc)
        return hookd_error_from_rc(err, rc, "webhook");
    resp->status = 204;
    resp->json = NULL;
    return 0;
}

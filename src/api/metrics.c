/*
 * metrics.c — GET /metrics: every figure of util/metrics.h, the API's
 * requests by route and status, and the store's gauges, in the Prometheus
 * text exposition format 0.0.4.
 *
 * Requests are counted in a fixed table of route × status, so a request
 * costs one atomic add and the series stay bounded whatever paths clients
 * send: a route is its pattern (`/api/v1/webhooks/{id}`), never the path,
 * and a path no route matches counts under `route="unmatched"`.
 *
 * The pending and held gauges come from the store's counters (the open
 * deliveries of each webhook, kept in the same commits that move them), so
 * they hold for every process sharing a PostgreSQL store, not only this one.
 * A disconnect holds every waiting delivery of its webhook and a connect
 * makes them all due, so a connected webhook's open deliveries are pending
 * (or retrying) and a disconnected one's are held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "store/store.h"
#include "util/metrics.h"
#include "util/timeutil.h"
#include "util/version.h"

#define ROUTES_MAX HOOKD_API_ROUTES_MAX
#define WEBHOOK_PAGE 500

/* The statuses hookd answers; any other counts under "other". */
static const int STATUSES[] = {200, 201, 202, 204, 304, 400, 401, 403, 404,
                               405, 409, 413, 415, 429, 431, 500, 503};
#define N_STATUS (sizeof STATUSES / sizeof STATUSES[0] + 1)

/* [route index, or ROUTES_MAX for no route][status index] */
static hookd_counter requests[ROUTES_MAX + 1][N_STATUS];

static size_t status_index(int status)
{
    for (size_t i = 0; i + 1 < N_STATUS; i++) {
        if (STATUSES[i] == status)
            return i;
    }
    return N_STATUS - 1;
}

void hookd_api_metrics_count(const hookd_route *route, const char *path, int status)
{
    long r = route ? hookd_route_index(route) : hookd_route_of_path(path);
    if (r < 0 || r >= ROUTES_MAX)
        r = ROUTES_MAX;
    hookd_counter_add(&requests[r][status_index(status)], 1);
}

/* The name of a "*" segment that follows segment (the API reference's). */
static const char *param_name(const char *segment, size_t len)
{
    static const struct {
        const char *segment, *name;
    } NAMES[] = {{"webhooks", "id"},         {"logs", "delivery_id"}, {"people", "contact_id"},
                 {"accounts", "account_id"}, {"keys", "id"},          {"assets", "file"}};
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        if (strlen(NAMES[i].segment) == len && strncmp(segment, NAMES[i].segment, len) == 0)
            return NAMES[i].name;
    }
    return "param";
}

/* A route's label: its pattern with each "*" named after the segment
 * before it, "/api/v1/webhooks/{id}/logs/{delivery_id}". */
static void route_label(const char *pattern, hookd_buf *b)
{
    const char *prev = "";
    size_t prev_len = 0;
    for (const char *p = pattern; *p;) {
        size_t len = strcspn(p, "/");
        if (len == 1 && *p == '*') {
            hookd_buf_puts(b, "{");
            hookd_buf_puts(b, param_name(prev, prev_len));
            hookd_buf_puts(b, "}");
        } else {
            hookd_buf_append(b, p, len);
        }
        prev = p;
        prev_len = len;
        p += len;
        if (*p == '/') {
            hookd_buf_append(b, "/", 1);
            p++;
        }
    }
}

/* hookd_http_requests_total: every (route, status) counted so far. */
static void write_requests(hookd_buf *b)
{
    hookd_metrics_family(b, "hookd_http_requests_total", "counter",
                         "API requests answered, by route pattern and status.");
    size_t n_routes = hookd_route_count();
    for (size_t r = 0; r <= ROUTES_MAX; r++) {
        if (r < ROUTES_MAX && r >= n_routes)
            continue;
        for (size_t st = 0; st < N_STATUS; st++) {
            uint64_t v = hookd_counter_get(&requests[r][st]);
            if (!v)
                continue;
            hookd_buf labels = {0};
            hookd_buf_puts(&labels, "route=\"");
            if (r < ROUTES_MAX)
                route_label(hookd_route_at(r)->pattern, &labels);
            else
                hookd_buf_puts(&labels, "unmatched");
            char status[32];
            if (st + 1 < N_STATUS)
                snprintf(status, sizeof status, "\",status=\"%d\"", STATUSES[st]);
            else
                snprintf(status, sizeof status, "\",status=\"other\"");
            hookd_buf_puts(&labels, status);
            if (labels.failed)
                b->failed = true;
            else
                hookd_metrics_sample(b, "hookd_http_requests_total", labels.data, (double)v);
            hookd_buf_free(&labels);
        }
    }
}

static void write_counters(hookd_buf *b)
{
    static const char *const OUTCOMES[HOOKD_M_OUTCOMES] = {"succeeded", "failed", "retried"};
    static const char *const CLASSES[HOOKD_M_CLASSES] = {"2xx", "3xx", "4xx", "5xx", "error"};
    char labels[64];
    hookd_metrics_family(b, "hookd_deliveries_total", "counter",
                         "Deliveries finished as succeeded or failed, and retries scheduled, by "
                         "this process (test sends are not counted).");
    for (int i = 0; i < HOOKD_M_OUTCOMES; i++) {
        snprintf(labels, sizeof labels, "outcome=\"%s\"", OUTCOMES[i]);
        hookd_metrics_sample(b, "hookd_deliveries_total", labels,
                             (double)hookd_counter_get(&hookd_m.deliveries[i]));
    }
    hookd_metrics_family(b, "hookd_attempts_total", "counter",
                         "Delivery attempts made by this process, by the class of the answer's "
                         "status (error: no answer).");
    for (int i = 0; i < HOOKD_M_CLASSES; i++) {
        snprintf(labels, sizeof labels, "class=\"%s\"", CLASSES[i]);
        hookd_metrics_sample(b, "hookd_attempts_total", labels,
                             (double)hookd_counter_get(&hookd_m.attempts[i]));
    }
    hookd_metrics_family(b, "hookd_attempts_refused_total", "counter",
                         "Delivery attempts refused before connecting: by the address guard, "
                         "or an http URL under --https-only.");
    hookd_metrics_sample(b, "hookd_attempts_refused_total", NULL,
                         (double)hookd_counter_get(&hookd_m.guard_refused));
    hookd_metrics_family(b, "hookd_retry_after_total", "counter",
                         "Retries whose wait an answer's Retry-After made longer than the "
                         "schedule's (at most 24 h).");
    hookd_metrics_sample(b, "hookd_retry_after_total", NULL,
                         (double)hookd_counter_get(&hookd_m.retry_after));
    hookd_metrics_family(b, "hookd_in_flight", "gauge", "Delivery attempts running now.");
    hookd_metrics_sample(b, "hookd_in_flight", NULL, (double)hookd_gauge_get(&hookd_m.in_flight));
}

static void write_histograms(hookd_buf *b)
{
    static const struct {
        const char *name, *help;
        const hookd_histogram *h;
    } H[] = {
        {"hookd_attempt_duration_seconds", "How long one delivery attempt took.",
         &hookd_m.attempt_ms},
        {"hookd_ingest_to_attempt_seconds",
         "From a delivery's creation (its activity's ingest, or a resend) to the start of its "
         "first attempt.",
         &hookd_m.ingest_to_attempt_ms},
        {"hookd_store_outcome_commit_seconds",
         "How long the store took to commit one batch of attempt outcomes.",
         &hookd_m.outcome_commit_us},
        {"hookd_store_outcome_batch_size", "Attempt outcomes stored per batch (one commit).",
         &hookd_m.outcome_batch},
    };
    for (size_t i = 0; i < sizeof H / sizeof H[0]; i++) {
        hookd_metrics_family(b, H[i].name, "histogram", H[i].help);
        hookd_metrics_histogram(b, H[i].name, H[i].h);
    }
}

/* The open deliveries of connected webhooks (pending) and of disconnected
 * ones (held), read from the store's counters a page of webhooks at a
 * time. */
static int read_gauges(hookd_store *st, int64_t *pending, int64_t *held)
{
    int64_t after = 0, now = hookd_now_ms();
    *pending = *held = 0;
    do {
        hookd_webhook **list = NULL;
        size_t n = 0;
        int rc = hookd_store_webhook_list(st, after, WEBHOOK_PAGE, &list, &n, &after);
        if (rc)
            return rc;
        int64_t keys[WEBHOOK_PAGE];
        hookd_webhook_stats stats[WEBHOOK_PAGE];
        for (size_t i = 0; i < n; i++)
            keys[i] = list[i]->key;
        rc = n ? hookd_store_webhook_stats(st, keys, n, now, stats) : 0;
        for (size_t i = 0; rc == 0 && i < n; i++)
            *(list[i]->connected ? pending : held) += stats[i].pending;
        hookd_webhook_list_free(list, n);
        if (rc)
            return rc;
    } while (after);
    return 0;
}

static void write_gauges(hookd_buf *b, hookd_store *st)
{
    int64_t pending, held;
    if (read_gauges(st, &pending, &held) != 0)
        return; /* left out of this scrape: the store cannot be read now */
    hookd_metrics_family(b, "hookd_deliveries_pending", "gauge",
                         "Deliveries waiting for an attempt or a retry, in the store (every "
                         "process sharing it).");
    hookd_metrics_sample(b, "hookd_deliveries_pending", NULL, (double)pending);
    hookd_metrics_family(b, "hookd_deliveries_held", "gauge",
                         "Deliveries held while their webhook is disconnected, in the store.");
    hookd_metrics_sample(b, "hookd_deliveries_held", NULL, (double)held);
}

int hookd_h_metrics(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp, hookd_error *err)
{
    (void)req;
    hookd_buf b = {0};
    hookd_buf_reserve(&b, 16 * 1024);
    hookd_metrics_family(&b, "hookd_build_info", "gauge", "Always 1: the version of hookd.");
    hookd_metrics_sample(&b, "hookd_build_info", "version=\"" HOOKD_VERSION "\"", 1);
    write_counters(&b);
    write_histograms(&b);
    write_gauges(&b, ctx->store);
    write_requests(&b);
    if (b.failed) {
        hookd_buf_free(&b);
        return hookd_error_from_rc(err, HOOKD_ENOMEM, "metrics");
    }
    resp->status = 200;
    resp->type = "text/plain; version=0.0.4; charset=utf-8";
    resp->len = b.len;
    resp->bytes = hookd_buf_take(&b);
    resp->owned = true;
    if (!resp->bytes)
        return hookd_error_from_rc(err, HOOKD_ENOMEM, "metrics");
    return 0;
}

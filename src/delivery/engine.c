#include "delivery/engine.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/outcome.h"
#include "util/log.h"
#include "util/timeutil.h"

#define IDLE_POLL_MS 1000
#define STOP_POLL_MS 50
#define PRUNE_BATCH 1000
/* Outcomes are stored together: up to this many, or once the oldest has
 * waited this long — one fsync for a burst instead of one per loop. */
#define FLUSH_MAX 512
#define FLUSH_MS 5
/* A claim outlives any attempt: the request timeout plus a margin. Only a
 * second process (PostgreSQL) ever looks at it; SQLite drops claims at start. */
#define LEASE_MARGIN_MS 60000

/* One attempt in flight. Allocated on its own so the request inside stays at
 * one address while libcurl holds pointers to it. */
typedef struct xfer {
    hookd_request req;
    hookd_delivery *d;
    hookd_attempt_result result;
    hookd_outcome outcome;
} xfer;

/* How many attempts one webhook has in flight. */
typedef struct wcount {
    char id[HOOKD_ID_MAX];
    int n;
} wcount;

/* Webhooks the engine has read, kept until the store says any webhook
 * changed (a version number bumped by every webhook write): re-reading and
 * re-parsing them for every batch was a sixth of the engine's time. */
typedef struct webhook_cache {
    hookd_webhook **wh;
    size_t n;
    uint64_t version;
} webhook_cache;

struct hookd_engine {
    hookd_engine_options opt;
    int64_t *schedule;
    CURLM *multi;
    pthread_t thread;
    atomic_bool stopping;
    atomic_bool woken;

    CURL **idle; /* easy handles kept for reuse: they keep their TLS sessions warm */
    size_t n_idle, cap_idle;
    int in_flight;
    wcount *counts;
    size_t n_counts;
    hookd_delivery **waiting; /* claimed, but their webhook is at its cap */
    size_t n_waiting, cap_waiting;
    xfer **done; /* finished, outcome not yet stored */
    size_t n_done, cap_done;
    int64_t next_claim_ms;
    int64_t next_prune_ms;
    int64_t first_done_ms; /* when the oldest unstored outcome finished */
    bool more_due;         /* the last claim was full: no need to ask before the next */
    webhook_cache cache;
};

/* ---- bookkeeping ------------------------------------------------------- */

static wcount *count_for(hookd_engine *e, const char *webhook_id)
{
    for (size_t i = 0; i < e->n_counts; i++) {
        if (strcmp(e->counts[i].id, webhook_id) == 0)
            return &e->counts[i];
    }
    wcount *grown = realloc(e->counts, (e->n_counts + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    e->counts = grown;
    wcount *c = &e->counts[e->n_counts++];
    snprintf(c->id, sizeof c->id, "%s", webhook_id);
    c->n = 0;
    return c;
}

/* Appends p to a growable array of pointers. */
static int push(void ***arr, size_t *n, size_t *cap, void *p)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        void **grown = realloc(*arr, ncap * sizeof *grown);
        if (!grown)
            return -1;
        *arr = grown;
        *cap = ncap;
    }
    (*arr)[(*n)++] = p;
    return 0;
}

static CURL *easy_get(hookd_engine *e)
{
    return e->n_idle ? e->idle[--e->n_idle] : curl_easy_init();
}

static void easy_put(hookd_engine *e, CURL *easy)
{
    if (push((void ***)&e->idle, &e->n_idle, &e->cap_idle, easy) != 0)
        curl_easy_cleanup(easy);
}

/* ---- starting attempts ------------------------------------------------- */

static void cache_clear(webhook_cache *wc)
{
    hookd_webhook_list_free(wc->wh, wc->n);
    wc->wh = NULL;
    wc->n = 0;
}

static hookd_webhook *cached_webhook(hookd_engine *e, const char *id)
{
    webhook_cache *wc = &e->cache;
    uint64_t version = hookd_store_webhooks_version(e->opt.store);
    if (version != wc->version) {
        cache_clear(wc);
        wc->version = version;
    }
    for (size_t i = 0; i < wc->n; i++) {
        if (strcmp(wc->wh[i]->id, id) == 0)
            return wc->wh[i];
    }
    hookd_webhook *wh = NULL;
    if (hookd_store_webhook_get(e->opt.store, id, &wh) != 0)
        return NULL; /* deleted (its deliveries are cancelled) or unreadable */
    hookd_webhook **grown = realloc(wc->wh, (wc->n + 1) * sizeof *grown);
    if (!grown) {
        hookd_webhook_free(wh);
        return NULL;
    }
    wc->wh = grown;
    wc->wh[wc->n++] = wh;
    return wh;
}

/* Starts d now, queues it behind its webhook's cap, or drops it (webhook
 * gone or disconnected: the store already moved it to cancelled/held). */
static void start_or_queue(hookd_engine *e, hookd_delivery *d)
{
    hookd_webhook *wh = cached_webhook(e, d->webhook_id);
    wcount *c = wh ? count_for(e, d->webhook_id) : NULL;
    if (!wh || !wh->connected || !c) {
        hookd_delivery_free(d);
        return;
    }
    if (c->n >= e->opt.max_in_flight_per_webhook) {
        if (push((void ***)&e->waiting, &e->n_waiting, &e->cap_waiting, d) != 0)
            hookd_delivery_free(d); /* still claimed; due again when the claim lapses */
        return;
    }
    xfer *x = calloc(1, sizeof *x);
    CURL *easy = x ? easy_get(e) : NULL;
    if (!easy || hookd_request_setup(&x->req, easy, wh, d->id, d->method, d->url, d->body,
                                     &e->opt.send) != 0 ||
        curl_multi_add_handle(e->multi, easy) != CURLM_OK) {
        hookd_log_error("engine: cannot start delivery %s (out of memory)", d->id);
        if (x)
            hookd_request_cleanup(&x->req);
        if (easy)
            easy_put(e, easy);
        free(x);
        hookd_delivery_free(d);
        return;
    }
    x->d = d;
    c->n++;
    e->in_flight++;
}

/* Starts queued deliveries whose webhook has room again. */
static void start_waiting(hookd_engine *e)
{
    size_t keep = 0;
    for (size_t i = 0; i < e->n_waiting; i++) {
        hookd_delivery *d = e->waiting[i];
        wcount *c = count_for(e, d->webhook_id);
        if (c && c->n < e->opt.max_in_flight_per_webhook && !atomic_load(&e->stopping))
            start_or_queue(e, d);
        else
            e->waiting[keep++] = d;
    }
    e->n_waiting = keep;
}

static void claim(hookd_engine *e, int64_t now)
{
    int room = e->opt.max_in_flight - e->in_flight - (int)e->n_waiting;
    if (room <= 0)
        return;
    hookd_delivery **list = NULL;
    size_t n = 0;
    int64_t lease = e->opt.send.timeout_ms + LEASE_MARGIN_MS;
    if (hookd_store_claim_due(e->opt.store, now, lease, room, &list, &n) != 0) {
        e->next_claim_ms = now + IDLE_POLL_MS; /* store busy: try again soon */
        return;
    }
    for (size_t i = 0; i < n; i++)
        start_or_queue(e, list[i]);
    free(list);
    e->more_due = (int)n == room;
    if (e->more_due) {
        e->next_claim_ms = now; /* more may be due right away */
    } else {
        int64_t due = 0;
        if (hookd_store_next_due(e->opt.store, &due) != 0 || due == 0 || due > now + IDLE_POLL_MS)
            due = now + IDLE_POLL_MS;
        e->next_claim_ms = due;
    }
}

/* Whether a claim could find anything, asked of a read connection: an idle
 * engine then never takes the write lock just to learn there is no work. */
static bool due_now(hookd_engine *e, int64_t now)
{
    int64_t due = 0;
    if (hookd_store_next_due(e->opt.store, &due) != 0)
        return true; /* cannot tell: let the claim find out */
    if (due == 0 || due > now) {
        int64_t next = due == 0 ? now + IDLE_POLL_MS : due;
        e->next_claim_ms = next < now + IDLE_POLL_MS ? next : now + IDLE_POLL_MS;
        return false;
    }
    return true;
}

/* ---- finishing attempts ------------------------------------------------ */

static void finish(hookd_engine *e, CURL *easy, CURLcode code, int64_t now)
{
    hookd_request *r = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
    xfer *x = (xfer *)r; /* req is the first member */
    hookd_request_finish(&x->req, code, &x->result);
    hookd_outcome *o = &x->outcome;
    int attempt = x->d->attempts + 1;
    o->delivery_id = x->d->id;
    o->time_ms = x->result.started_ms;
    o->status_code = x->result.status_code;
    o->error = x->result.error;
    o->duration_ms = x->result.duration_ms;
    o->response_body = x->result.body;
    o->request_headers = x->req.shown_headers;
    switch (hookd_outcome_classify(x->result.status_code, x->result.refused)) {
    case HOOKD_VERDICT_SUCCESS:
        o->state = HOOKD_DS_SUCCEEDED;
        break;
    case HOOKD_VERDICT_FINAL:
        o->state = HOOKD_DS_FAILED;
        break;
    case HOOKD_VERDICT_RETRY: {
        int64_t delay = hookd_retry_next_delay(e->schedule, e->opt.retry_schedule_len,
                                               e->opt.max_retries, attempt);
        o->state = delay < 0 ? HOOKD_DS_FAILED : HOOKD_DS_RETRYING;
        o->next_attempt_at = delay < 0 ? 0 : now + delay;
        break;
    }
    }
    curl_multi_remove_handle(e->multi, easy);
    easy_put(e, easy);
    wcount *c = count_for(e, x->d->webhook_id);
    if (c && c->n > 0)
        c->n--;
    e->in_flight--;
    if (e->n_done == 0)
        e->first_done_ms = now;
    if (push((void ***)&e->done, &e->n_done, &e->cap_done, x) != 0) {
        /* Cannot remember the outcome: the claim lapses and it is retried. */
        hookd_log_error("engine: out of memory recording delivery %s", x->d->id);
        hookd_request_cleanup(&x->req);
        hookd_delivery_free(x->d);
        free(x);
    }
}

/* Stores every finished attempt's outcome in one transaction. */
static void flush(hookd_engine *e)
{
    if (e->n_done == 0)
        return;
    hookd_outcome *o = malloc(e->n_done * sizeof *o);
    int rc = HOOKD_ENOMEM;
    if (o) {
        for (size_t i = 0; i < e->n_done; i++) {
            o[i] = e->done[i]->outcome;
            /* A retry due before the next planned claim pulls it forward. */
            if (o[i].state == HOOKD_DS_RETRYING && o[i].next_attempt_at < e->next_claim_ms)
                e->next_claim_ms = o[i].next_attempt_at;
        }
        rc = hookd_store_record_outcomes(e->opt.store, o, e->n_done);
        free(o);
    }
    if (rc != 0)
        hookd_log_error("engine: cannot store %zu outcomes (%d); they will be attempted again",
                        e->n_done, rc);
    for (size_t i = 0; i < e->n_done; i++) {
        hookd_request_cleanup(&e->done[i]->req);
        hookd_delivery_free(e->done[i]->d);
        free(e->done[i]);
    }
    e->n_done = 0;
}

static void harvest(hookd_engine *e, int64_t now)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(e->multi, &left)) != NULL) {
        if (m->msg == CURLMSG_DONE)
            finish(e, m->easy_handle, m->data.result, now);
    }
}

static void prune(hookd_engine *e, int64_t now)
{
    int deleted = PRUNE_BATCH;
    while (deleted == PRUNE_BATCH) {
        if (hookd_store_prune(e->opt.store, now - e->opt.log_retention_ms, PRUNE_BATCH,
                              &deleted) != 0)
            break;
    }
    int64_t every = e->opt.log_retention_ms / 2;
    e->next_prune_ms = now + (every < 200 ? 200 : every > 60000 ? 60000 : every);
}

/* ---- the thread -------------------------------------------------------- */

static void *run(void *arg)
{
    hookd_engine *e = arg;
    for (;;) {
        int64_t now = hookd_now_ms();
        bool stopping = atomic_load(&e->stopping);
        bool woken = atomic_exchange(&e->woken, false);
        if (woken)
            e->next_claim_ms = now;
        if (!stopping && now >= e->next_claim_ms && (woken || e->more_due || due_now(e, now)))
            claim(e, now);
        int running = 0;
        curl_multi_perform(e->multi, &running);
        harvest(e, hookd_now_ms());
        now = hookd_now_ms();
        if (e->n_done >= FLUSH_MAX || now - e->first_done_ms >= FLUSH_MS || stopping ||
            e->in_flight == 0)
            flush(e);
        if (e->n_waiting && !stopping)
            start_waiting(e);
        if (!stopping && now >= e->next_prune_ms)
            prune(e, now);
        if (stopping && e->in_flight == 0)
            break;
        now = hookd_now_ms();
        int64_t wait = stopping ? STOP_POLL_MS : e->next_claim_ms - now;
        if (wait > IDLE_POLL_MS)
            wait = IDLE_POLL_MS;
        if (e->n_done && wait > e->first_done_ms + FLUSH_MS - now)
            wait = e->first_done_ms + FLUSH_MS - now;
        if (wait < 0)
            wait = 0;
        curl_multi_poll(e->multi, NULL, 0, (int)wait, NULL);
    }
    return NULL;
}

int hookd_engine_start(const hookd_engine_options *opt, hookd_engine **out)
{
    hookd_engine *e = calloc(1, sizeof *e);
    if (!e)
        return HOOKD_ENOMEM;
    e->opt = *opt;
    if (e->opt.max_in_flight <= 0)
        e->opt.max_in_flight = 512;
    if (e->opt.max_in_flight_per_webhook <= 0)
        e->opt.max_in_flight_per_webhook = 16;
    e->schedule = malloc(opt->retry_schedule_len * sizeof *e->schedule);
    e->multi = curl_multi_init();
    if (!e->schedule || !e->multi || opt->retry_schedule_len == 0) {
        curl_multi_cleanup(e->multi);
        free(e->schedule);
        free(e);
        return HOOKD_ENOMEM;
    }
    memcpy(e->schedule, opt->retry_schedule_ms, opt->retry_schedule_len * sizeof *e->schedule);
    e->opt.retry_schedule_ms = e->schedule;
    /* Keep-alive: one cache for every host, sized to the overall cap. */
    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)e->opt.max_in_flight);
    int rc = hookd_store_release_claims(opt->store);
    if (rc == 0 && pthread_create(&e->thread, NULL, run, e) != 0)
        rc = HOOKD_ENOMEM;
    if (rc) {
        curl_multi_cleanup(e->multi);
        free(e->schedule);
        free(e);
        return rc;
    }
    *out = e;
    return 0;
}

void hookd_engine_wake(hookd_engine *e)
{
    if (!e)
        return;
    atomic_store(&e->woken, true);
    curl_multi_wakeup(e->multi);
}

void hookd_engine_stop(hookd_engine *e)
{
    if (!e)
        return;
    atomic_store(&e->stopping, true);
    curl_multi_wakeup(e->multi);
    pthread_join(e->thread, NULL);
    for (size_t i = 0; i < e->n_waiting; i++)
        hookd_delivery_free(e->waiting[i]);
    free(e->waiting);
    cache_clear(&e->cache);
    for (size_t i = 0; i < e->n_idle; i++)
        curl_easy_cleanup(e->idle[i]);
    free(e->idle);
    free(e->done);
    free(e->counts);
    curl_multi_cleanup(e->multi);
    free(e->schedule);
    free(e);
}

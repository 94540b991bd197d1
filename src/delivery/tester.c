/*
 * tester.c — the test sends' thread (see tester.h).
 *
 * Every test from its submit to its callback is on the running list,
 * oldest first (Retry-After reads its head), and counts against the cap.
 * Submit also queues it on `incoming`; a resolver thread queues one whose
 * host is resolved on `resolved`. The thread takes both queues under
 * `lock`; they are followed by curl_multi_wakeup. The multi handle and the
 * transfers are the thread's alone.
 */
#include "delivery/tester.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "util/error.h"
#include "util/log.h"

#define IDLE_POLL_MS 1000 /* a safety net: every wake-up has its own cause */

struct hookd_tester {
    unsigned max;
    int64_t timeout_ms;
    CURLM *multi;
    pthread_t thread;
    pthread_mutex_t lock;
    /* lock guards these */
    hookd_test *run_head, *run_tail; /* submitted, callback not yet called */
    unsigned in_flight;
    hookd_test *incoming, *resolved; /* queues to the thread, linked by qnext */
    bool stopping;
    /* resolver threads that may still touch the tester */
    atomic_int notifying;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the running list (lock held) -------------------------------------------- */

static void run_add(hookd_tester *tr, hookd_test *t)
{
    t->prev = tr->run_tail;
    t->next = NULL;
    if (tr->run_tail)
        tr->run_tail->next = t;
    else
        tr->run_head = t;
    tr->run_tail = t;
    tr->in_flight++;
}

static void run_remove(hookd_tester *tr, hookd_test *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        tr->run_head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        tr->run_tail = t->prev;
    t->prev = t->next = NULL;
    tr->in_flight--;
}

/* Seconds until the oldest test in flight has ended at the latest. */
static unsigned retry_after(const hookd_tester *tr)
{
    int64_t left = tr->run_head->submitted_ms + tr->timeout_ms - mono_ms();
    return left <= 1000 ? 1 : (unsigned)((left + 999) / 1000);
}

static void queue_push(hookd_test **q, hookd_test *t)
{
    t->qnext = *q;
    *q = t;
}

/* The queue in the order it was filled. */
static hookd_test *queue_take(hookd_test **q)
{
    hookd_test *rev = NULL;
    for (hookd_test *t = *q, *next; t; t = next) {
        next = t->qnext;
        t->qnext = rev;
        rev = t;
    }
    *q = NULL;
    return rev;
}

/* ---- the thread -------------------------------------------------------------- */

/* The test is over: off the running list, then handed back. */
static void complete(hookd_tester *tr, hookd_test *t, CURLcode code)
{
    hookd_test_finish(t, code);
    pthread_mutex_lock(&tr->lock);
    run_remove(tr, t);
    pthread_mutex_unlock(&tr->lock);
    t->done(t, t->done_ctx);
}

static void add(hookd_tester *tr, hookd_test *t)
{
    if (curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t) != CURLE_OK ||
        curl_multi_add_handle(tr->multi, t->easy) != CURLM_OK) {
        hookd_log_error("tester: cannot start test send %s (out of memory)", t->id);
        complete(tr, t, CURLE_OUT_OF_MEMORY);
    }
}

/* Runs on a resolver thread (glibc's): the answer is read on the tester's,
 * which owns the request. */
static void on_resolved(void *ctx)
{
    hookd_test *t = ctx;
    hookd_tester *tr = t->tester;
    pthread_mutex_lock(&tr->lock);
    queue_push(&tr->resolved, t);
    pthread_mutex_unlock(&tr->lock);
    curl_multi_wakeup(tr->multi);
    /* The last touch of tr: a stop frees it only once no thread is here. */
    atomic_fetch_sub(&tr->notifying, 1);
}

/* Through a proxy the host is resolved first, off this thread (then
 * on_resolved); a resolution that cannot start fails the test as a DNS
 * failure would, through resolve_finish. */
static void start(hookd_tester *tr, hookd_test *t)
{
    if (!hookd_request_needs_resolve(&t->req)) {
        add(tr, t);
        return;
    }
    atomic_fetch_add(&tr->notifying, 1);
    if (hookd_request_resolve_start(&t->req, on_resolved, t) != 0) {
        atomic_fetch_sub(&tr->notifying, 1);
        hookd_request_resolve_finish(&t->req);
        add(tr, t);
    }
}

static void harvest(hookd_tester *tr)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(tr->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode code = m->data.result;
        char *priv = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        curl_multi_remove_handle(tr->multi, easy);
        complete(tr, (hookd_test *)(void *)priv, code);
    }
}

static void *tester_main(void *arg)
{
    hookd_tester *tr = arg;
    pthread_setname_np(pthread_self(), "hookd-tester");
    for (;;) {
        pthread_mutex_lock(&tr->lock);
        hookd_test *in = queue_take(&tr->incoming), *res = queue_take(&tr->resolved);
        bool over = tr->stopping && tr->in_flight == 0;
        pthread_mutex_unlock(&tr->lock);
        if (over)
            break;
        for (hookd_test *t = in, *next; t; t = next) {
            next = t->qnext;
            start(tr, t);
        }
        for (hookd_test *t = res, *next; t; t = next) {
            next = t->qnext;
            hookd_request_resolve_finish(&t->req);
            add(tr, t);
        }
        int running = 0;
        curl_multi_perform(tr->multi, &running);
        harvest(tr);
        curl_multi_poll(tr->multi, NULL, 0, IDLE_POLL_MS, NULL);
    }
    return NULL;
}

/* ---- the API ------------------------------------------------------------------- */

int hookd_tester_start(unsigned max, int64_t timeout_ms, hookd_tester **out)
{
    hookd_tester *tr = calloc(1, sizeof *tr);
    if (!tr)
        return HOOKD_ENOMEM;
    tr->max = max ? max : 1;
    tr->timeout_ms = timeout_ms;
    pthread_mutex_init(&tr->lock, NULL);
    tr->multi = curl_multi_init();
    if (!tr->multi || pthread_create(&tr->thread, NULL, tester_main, tr) != 0) {
        if (tr->multi)
            curl_multi_cleanup(tr->multi);
        pthread_mutex_destroy(&tr->lock);
        free(tr);
        return HOOKD_ENOMEM;
    }
    *out = tr;
    return 0;
}

int hookd_tester_submit(hookd_tester *tr, hookd_test *t, hookd_test_done_fn done, void *ctx,
                        unsigned *retry_after_s)
{
    int rc = 0;
    *retry_after_s = 0;
    t->done = done;
    t->done_ctx = ctx;
    t->tester = tr;
    t->submitted_ms = mono_ms();
    pthread_mutex_lock(&tr->lock);
    if (tr->stopping) {
        rc = HOOKD_EUNAVAIL;
    } else if (tr->in_flight >= tr->max) {
        *retry_after_s = retry_after(tr);
        rc = HOOKD_EUNAVAIL;
    } else {
        run_add(tr, t);
        queue_push(&tr->incoming, t);
    }
    pthread_mutex_unlock(&tr->lock);
    if (rc == 0)
        curl_multi_wakeup(tr->multi);
    return rc;
}

void hookd_tester_stop(hookd_tester *tr)
{
    if (!tr)
        return;
    pthread_mutex_lock(&tr->lock);
    tr->stopping = true;
    pthread_mutex_unlock(&tr->lock);
    curl_multi_wakeup(tr->multi);
    pthread_join(tr->thread, NULL);
    /* Every test has ended, but a resolver thread may still be returning
     * from its wake-up: wait it out before freeing. */
    while (atomic_load(&tr->notifying) > 0)
        sched_yield();
    curl_multi_cleanup(tr->multi);
    pthread_mutex_destroy(&tr->lock);
    free(tr);
}

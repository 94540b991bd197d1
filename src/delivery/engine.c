/*
 * engine.c — the delivery engine (see engine.h for what it does and which
 * thread does what).
 *
 * Messages: everything that reaches the engine thread — fresh deliveries and
 * webhook changes from the store's listener (on the store's writer thread),
 * and the results of the worker's store calls — is a `msg` appended to one
 * inbox under a mutex, followed by curl_multi_wakeup. The worker takes its
 * tasks (msgs too) from its own queue and posts each back with its result.
 * So the engine thread owns every in-memory structure below without locks.
 *
 * Which deliveries the engine holds: `held` maps the seq of every delivery
 * in memory (queued, in flight, or with an outcome not yet stored) to its
 * node. A read of due deliveries skips held ones, and is bounded by the
 * highest seq the listener has told of, so a delivery is never taken twice:
 * the store tells the listener about commits in order, and the worker runs
 * reads and outcome writes one after the other.
 *
 * In a shared store (several processes, store.h "claims") the same holds
 * within the process, and claims keep other processes off what it holds:
 * the engine renews the claims of everything it holds and releases what it
 * drops, so another process can take it at once. A release must never undo
 * a claim the engine has made again since: a read queued before the
 * release task returns the seq still claimed by this process, and the
 * release then frees it while the engine attempts it, for another process
 * to attempt too. So `letgo` keeps every seq whose release is not yet
 * stored, and reads skip those (their webhook reads again: the worker runs
 * tasks in order, so that read comes after the release).
 */
#include "delivery/engine.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/contact.h"
#include "delivery/outcome.h"
#include "delivery/pace.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/intmap.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/timeutil.h"

#define IDLE_POLL_MS 1000     /* a safety net: every wake-up has its own cause */
#define STOP_POLL_MS 50
#define PRUNE_BATCH 1000
#define PER_WEBHOOK_MAX 2048  /* deliveries of one webhook held in memory */
#define SCAN_LOW_WATER 256    /* read more of a backlog when fewer are queued */
#define STORE_RETRY_MS 1000   /* after a failed store call */
#define MEMORY_MAX_DEFAULT (8u << 20)
/* Outcomes are stored together: once this many wait, or the oldest has
 * waited this long. Each commit rewrites every page it touches (the state
 * rows, two index ranges) and fsyncs; batching a few milliseconds of
 * outcomes cut the WAL written per delivery (see docs/performance.md). */
#define FLUSH_MAX 512
#define FLUSH_MS 10
/* Answered attempts whose outcome is not stored yet. While the store cannot
 * take them (locked, unreachable) they are kept and stored again every
 * STORE_RETRY_MS; past this many no attempt starts, so an outage costs at
 * most this many outcomes in memory (each up to the 4 KiB of answer kept). */
#define UNSTORED_MAX 2048
/* A webhook whose attempts keep failing is logged at most once per this
 * long, and only once this many of its attempts in a row failed: a webhook
 * failing at full speed must not write a line per attempt. */
#define FAILING_LOG_MS 60000
#define FAILING_LOG_MIN 3

/* ---- what the engine holds --------------------------------------------------- */

/* A delivery in memory. */
typedef struct jnode {
    hookd_job j;
    size_t bytes; /* what it counts against memory_max */
    struct jnode *next;
} jnode;

/* A webhook version's request template, shared by the attempts made with
 * it; freed when the last one lets go. Engine thread only. */
typedef struct tplref {
    hookd_request_tpl t;
    int refs;
} tplref;

typedef struct wstate wstate;

/* One attempt: in flight with its request and delivery, then — once
 * answered — only what its outcome needs until that is stored, so a backlog
 * of outcomes waiting for a commit holds a few hundred bytes each, not the
 * request's buffers and the body. libcurl's private pointer is the xfer. */
typedef struct xfer {
    hookd_request *req;   /* while in flight */
    jnode *job;           /* while in flight */
    wstate *w;
    tplref *tpl;
    hookd_outcome o;
    int stored_state;     /* the state the store moved it to */
    hookd_streak streak;  /* its webhook's, as the store left it */
    char *response, *error;
    char signature[HOOKD_SIGNATURE_MAX];
    char delivery_id[HOOKD_ID_MAX]; /* named by a 410's disconnect reason */
    struct msg *resolved;  /* made at start: posted when the host is resolved */
    struct xfer *next;
    json_t *contact_fields; /* the answer's person fields (o.contact_fields) */
    bool refused;          /* refused before connecting (address guard, --https-only) */
} xfer;

/* One webhook as the engine sees it. */
struct wstate {
    hookd_engine *engine;
    int64_t key;
    bool connected, gone;
    tplref *tpl;           /* NULL when the webhook cannot be sent to */
    jnode *head, *tail;    /* queued, oldest first */
    size_t n_ready;
    int in_flight;
    int owed;              /* attempts whose outcome is not stored yet */
    /* The store holds due deliveries of it that memory does not. Each
     * signal bumps gen; a pass of reads ends the backlog only if no signal
     * came since it began. */
    bool backlog, scanning;
    unsigned gen, pass_gen;
    hookd_due_cursor cursor;
    int64_t scan_after;    /* ms: no read before (after a failure) */
    int64_t next_due;      /* ms of its earliest retry in the store, 0 none */
    bool in_ring, in_scanq;
    wstate *ring_next, *scan_next;
    /* Endpoints that die (docs/api.md): whether a disconnect of it is being
     * stored (its streak of failed attempts lives in the store). */
    char id[HOOKD_ID_MAX];
    bool disabling;
    /* Its settings' pace: attempts at once (0: the engine's default) and
     * the rate limit. Over the rate it waits in `paced` (not in the ring)
     * until a token is due; its deliveries stay queued, in order. */
    int max_in_flight;
    hookd_pace pace;
    bool in_paced;
    wstate *paced_next;
    bool update_contact; /* update_contact_from_response */
    /* The "keeps failing" log line (log_outcome): when it was last
     * written, whether no "answers again" followed it yet, and the failed
     * attempts since the last line about the webhook. */
    int64_t failing_logged_ms;
    bool failing_open;
    int64_t failing_unlogged;
};

/* ---- messages ----------------------------------------------------------------- */

enum msg_kind {
    M_FRESH,    /* listener: deliveries just committed */
    M_WEBHOOK,  /* listener: a webhook changed (wh) or went (wh NULL) */
    M_DUE,      /* listener, or a drop: read this webhook's due deliveries */
    M_FLUSH,    /* task/result: store these outcomes */
    M_SCAN,     /* task/result: read due deliveries of one webhook */
    M_NEXT_DUE, /* task/result: when one webhook's next retry is due */
    M_PRUNE,    /* task/result */
    M_RELEASE,  /* task/result: give up the claims of seqs (a shared store) */
    M_RENEW,    /* task/result: renew the claims of seqs (a shared store) */
    M_RESOLVED, /* a resolver thread: an attempt's host is resolved (xfers) */
    M_DISABLE,  /* task/result: hookd disconnects a webhook (id, reason) */
    M_STOP,     /* task: the worker ends */
};

typedef struct msg {
    enum msg_kind kind;
    struct msg *next;
    int rc;
    int64_t key;
    hookd_webhook *wh;        /* M_WEBHOOK (owned) */
    jnode *jobs;              /* M_FRESH, M_SCAN result */
    size_t n;
    xfer *xfers;              /* M_FLUSH */
    int64_t now, when, max_seq;
    hookd_due_cursor cursor;  /* M_SCAN */
    int limit;
    int64_t *seqs;            /* M_RELEASE, M_RENEW (owned; n of them); M_FRESH:
                                 the dropped ones (n_dropped) */
    size_t n_dropped;
    char id[HOOKD_ID_MAX];    /* M_DISABLE: the webhook */
    char *reason;             /* M_DISABLE (owned) */
} msg;

typedef struct queue {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    msg *head, *tail;
} queue;

struct hookd_engine {
    hookd_engine_options opt;
    int64_t *schedule;
    CURLM *multi;
    pthread_t thread, worker;
    atomic_bool stopping;

    queue inbox;  /* to the engine thread */
    queue tasks;  /* to the worker */
    msg *stop;    /* made at start, so stopping cannot fail */
    atomic_llong known_seq;  /* the highest seq the listener told of */
    atomic_size_t memory;    /* bytes of deliveries in memory */
    atomic_int notifying;    /* resolver threads that may still touch the engine */
    bool shared;             /* the store has claims (see the top comment) */

    /* engine thread only */
    hookd_intmap webhooks;   /* key → wstate */
    hookd_intmap held;       /* seq → jnode */
    wstate *ring_head, *ring_tail;   /* webhooks with queued deliveries and room */
    wstate *scanq_head, *scanq_tail; /* webhooks with a backlog to read */
    wstate *paced;           /* webhooks waiting for a token (unordered) */
    CURL **idle;
    size_t n_idle, cap_idle;
    int in_flight;
    xfer *done;              /* finished, outcome not stored yet */
    size_t n_done;
    int64_t first_done_ms;   /* when the oldest of them finished */
    int64_t flush_after;     /* ms: no batch before (the last one failed) */
    size_t n_unstored;       /* done, plus the batch being stored */
    bool flushing, pruning;
    int64_t earliest_due;    /* min over webhooks' next_due, 0 none */
    int64_t next_prune_ms;
    int64_t *releasing;      /* seqs dropped since the last release task */
    hookd_intmap letgo;      /* seqs let go whose release is not stored yet */
    size_t n_releasing, cap_releasing;
    bool renewing, released_all;
    int64_t next_renew_ms;
};

/* ---- queues -------------------------------------------------------------------- */

static void queue_init(queue *q)
{
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
    q->head = q->tail = NULL;
}

static void queue_destroy(queue *q)
{
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
}

static void queue_push(queue *q, msg *m)
{
    m->next = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

/* Everything queued, oldest first; waits for some when wait is set. */
static msg *queue_take(queue *q, bool wait)
{
    pthread_mutex_lock(&q->lock);
    while (wait && !q->head)
        pthread_cond_wait(&q->cond, &q->lock);
    msg *all = q->head;
    q->head = q->tail = NULL;
    pthread_mutex_unlock(&q->lock);
    return all;
}

static void post(hookd_engine *e, msg *m)
{
    queue_push(&e->inbox, m);
    curl_multi_wakeup(e->multi);
}

static msg *msg_new(enum msg_kind kind, int64_t key)
{
    msg *m = calloc(1, sizeof *m);
    if (m) {
        m->kind = kind;
        m->key = key;
    }
    return m;
}

static void msg_free(msg *m)
{
    free(m->reason);
    free(m->seqs);
    free(m);
}

/* ---- deliveries in memory -------------------------------------------------------- */

static void job_free(hookd_engine *e, jnode *n)
{
    atomic_fetch_sub(&e->memory, n->bytes);
    hookd_job_clear(&n->j);
    free(n);
}

static void jobs_free(hookd_engine *e, jnode *n)
{
    while (n) {
        jnode *next = n->next;
        job_free(e, n);
        n = next;
    }
}

/* Wraps a job (taking its strings) as a node counted against memory. */
static jnode *job_wrap(hookd_engine *e, hookd_job *j)
{
    jnode *n = malloc(sizeof *n);
    if (!n) {
        hookd_job_clear(j);
        return NULL;
    }
    n->j = *j;
    memset(j, 0, sizeof *j);
    n->bytes = sizeof *n + n->j.body_len + (n->j.query ? strlen(n->j.query) : 0);
    n->next = NULL;
    atomic_fetch_add(&e->memory, n->bytes);
    return n;
}

/* ---- the listener (runs on the store's writer thread) ------------------------ */

/* Fresh deliveries go to memory while there is room; past it they stay in
 * the store only, and their webhook reads them back in order. */
static void on_fresh(void *ctx, hookd_job *jobs, size_t n)
{
    hookd_engine *e = ctx;
    msg *m = msg_new(M_FRESH, 0);
    jnode **tail = m ? &m->jobs : NULL;
    int64_t dropped[8];
    size_t n_dropped = 0;
    int64_t top = atomic_load(&e->known_seq);
    /* A shared store: what is dropped is let go, for any process, by the
     * engine thread (it owns `letgo`). Without room to say so, the claims
     * run out with their lease. */
    if (m && e->shared && !(m->seqs = malloc(n * sizeof *m->seqs))) {
        free(m);
        m = NULL;
        tail = NULL;
    }
    for (size_t i = 0; i < n; i++) {
        hookd_job *j = &jobs[i];
        if (j->seq > top)
            top = j->seq;
        jnode *node = NULL;
        if (m && atomic_load(&e->memory) + j->body_len <= e->opt.memory_max)
            node = job_wrap(e, j);
        if (node) {
            *tail = node;
            tail = &node->next;
            m->n++;
            continue;
        }
        if (m && m->seqs)
            m->seqs[m->n_dropped++] = j->seq;
        hookd_job_clear(j);
        bool seen = false;
        for (size_t k = 0; k < n_dropped && !seen; k++)
            seen = dropped[k] == j->webhook;
        if (!seen && n_dropped < sizeof dropped / sizeof dropped[0])
            dropped[n_dropped++] = j->webhook;
        else if (!seen)
            dropped[0] = 0; /* too many to name: every webhook reads its backlog */
    }
    /* Published before the messages: a read bounded by it covers only
     * deliveries the engine was told of. */
    atomic_store(&e->known_seq, top);
    if (m && (m->n || m->n_dropped))
        post(e, m);
    else if (m)
        msg_free(m);
    for (size_t k = 0; k < n_dropped; k++) {
        msg *d = msg_new(M_DUE, dropped[k]);
        if (d)
            post(e, d);
    }
}

static void on_webhook(void *ctx, int64_t key, const hookd_webhook *wh)
{
    hookd_engine *e = ctx;
    msg *m = msg_new(M_WEBHOOK, key);
    if (!m || (wh && !(m->wh = hookd_webhook_clone(wh)))) {
        /* Cannot tell the engine: it would go on with old settings. */
        hookd_log_error("engine: out of memory taking webhook %lld's change", (long long)key);
        free(m);
        return;
    }
    post(e, m);
}

static void on_due(void *ctx, int64_t key)
{
    hookd_engine *e = ctx;
    msg *m = msg_new(M_DUE, key);
    if (m)
        post(e, m);
}

/* ---- the worker: store calls, one at a time --------------------------------------- */

static void run_flush(hookd_engine *e, msg *m)
{
    hookd_outcome *o = malloc(m->n * sizeof *o);
    int *states = malloc(m->n * sizeof *states);
    hookd_streak *streaks = malloc(m->n * sizeof *streaks);
    size_t i = 0;
    for (xfer *x = m->xfers; o && x; x = x->next)
        o[i++] = x->o;
    int64_t t0 = hookd_now_ns();
    m->rc = o && states && streaks
                ? hookd_store_record_outcomes(e->opt.store, o, m->n, states, streaks)
                : HOOKD_ENOMEM;
    hookd_histogram_observe(&hookd_m.outcome_commit_us, (hookd_now_ns() - t0) / 1000);
    hookd_histogram_observe(&hookd_m.outcome_batch, (int64_t)m->n);
    i = 0;
    for (xfer *x = m->xfers; x; x = x->next, i++) {
        x->stored_state = m->rc == 0 ? states[i] : HOOKD_DS_REFUSED;
        x->streak = m->rc == 0 ? streaks[i] : (hookd_streak){0, 0};
    }
    free(o);
    free(states);
    free(streaks);
}

static void run_scan(hookd_engine *e, msg *m)
{
    hookd_job *jobs = NULL;
    size_t n = 0;
    m->rc = hookd_store_due(e->opt.store, m->key, m->now, &m->cursor, m->max_seq, m->limit, &jobs,
                            &n);
    jnode **tail = &m->jobs;
    for (size_t i = 0; m->rc == 0 && i < n; i++) {
        jnode *node = job_wrap(e, &jobs[i]);
        if (!node)
            continue; /* stays in the store; the backlog read goes on */
        *tail = node;
        tail = &node->next;
    }
    m->n = n;
    for (size_t i = 0; i < n; i++)
        hookd_job_clear(&jobs[i]);
    free(jobs);
}

static void run_prune(hookd_engine *e, msg *m)
{
    int deleted = PRUNE_BATCH;
    while (deleted == PRUNE_BATCH && !atomic_load(&e->stopping)) {
        if ((m->rc = hookd_store_prune(e->opt.store, m->now - e->opt.log_retention_ms,
                                       PRUNE_BATCH, &deleted)) != 0)
            break;
    }
}

/* The change a hookd disconnect makes: the store moves the webhook's
 * waiting deliveries to held in the same commit, as for a manual one. */
static int disable_change(hookd_webhook *wh, void *reason)
{
    if (!wh->connected)
        return HOOKD_ECONFLICT; /* a person (or another process) was first */
    hookd_webhook_set_connected(wh, false, HOOKD_DISC_HOOKD, reason);
    wh->updated_at = hookd_now_ms();
    return 0;
}

static void *worker_main(void *arg)
{
    hookd_engine *e = arg;
    pthread_setname_np(pthread_self(), "hookd-engine-io");
    for (;;) {
        msg *all = queue_take(&e->tasks, true);
        while (all) {
            msg *m = all;
            all = all->next;
            switch (m->kind) {
            case M_FLUSH:
                run_flush(e, m);
                break;
            case M_SCAN:
                run_scan(e, m);
                break;
            case M_NEXT_DUE:
                m->rc = hookd_store_next_due(e->opt.store, m->key, m->now, &m->when);
                break;
            case M_PRUNE:
                run_prune(e, m);
                break;
            case M_RELEASE:
                m->rc = hookd_store_release(e->opt.store, m->seqs, m->n);
                break;
            case M_RENEW:
                m->rc = hookd_store_renew(e->opt.store, m->seqs, m->n);
                break;
            case M_DISABLE:
                m->rc = hookd_store_webhook_change(e->opt.store, m->id, disable_change, m->reason,
                                                   NULL);
                break;
            case M_STOP:
                free(m);
                return NULL;
            default:
                break;
            }
            post(e, m);
        }
    }
}

static void task(hookd_engine *e, msg *m)
{
    queue_push(&e->tasks, m);
}

/* ---- webhooks -------------------------------------------------------------------- */

static void tpl_release(tplref *t)
{
    if (t && --t->refs == 0) {
        hookd_request_tpl_clear(&t->t);
        free(t);
    }
}

static int cap_of(const hookd_engine *e, const wstate *w)
{
    return w->max_in_flight > 0 ? w->max_in_flight : e->opt.max_in_flight_per_webhook;
}

/* Sets w aside until its next token is due (see wake_paced). */
static void paced_add(hookd_engine *e, wstate *w)
{
    if (w->in_paced)
        return;
    w->in_paced = true;
    w->paced_next = e->paced;
    e->paced = w;
}

static void ring_add(hookd_engine *e, wstate *w)
{
    if (w->in_ring || w->in_paced || !w->n_ready || !w->connected || w->gone || !w->tpl ||
        w->in_flight >= cap_of(e, w))
        return;
    if (w->pace.rate > 0 && !hookd_pace_ready(&w->pace, hookd_now_ms() * 1000)) {
        paced_add(e, w);
        return;
    }
    w->in_ring = true;
    w->ring_next = NULL;
    if (e->ring_tail)
        e->ring_tail->ring_next = w;
    else
        e->ring_head = w;
    e->ring_tail = w;
}

static wstate *ring_pop(hookd_engine *e)
{
    wstate *w = e->ring_head;
    if (w) {
        e->ring_head = w->ring_next;
        if (!e->ring_head)
            e->ring_tail = NULL;
        w->in_ring = false;
    }
    return w;
}

static void scanq_add(hookd_engine *e, wstate *w)
{
    if (w->in_scanq)
        return;
    w->in_scanq = true;
    w->scan_next = NULL;
    if (e->scanq_tail)
        e->scanq_tail->scan_next = w;
    else
        e->scanq_head = w;
    e->scanq_tail = w;
}

/* Remembers that the engine let go of seq (a shared store only): the
 * claim is given up with the next release task. If memory runs out the
 * claim simply runs out with its lease (and reads keep returning it to this
 * process, which is safe). */
static void let_go(hookd_engine *e, int64_t seq)
{
    if (!e->shared || hookd_intmap_get(&e->letgo, seq) ||
        hookd_array_grow(&e->releasing, &e->cap_releasing, e->n_releasing,
                         sizeof *e->releasing) != 0 ||
        hookd_intmap_put(&e->letgo, seq, e) != 0)
        return;
    e->releasing[e->n_releasing++] = seq;
}

/* A release task came back: those seqs may be read again. */
static void released(hookd_engine *e, msg *m)
{
    if (m->rc != 0)
        hookd_log_warn("engine: cannot release %zu claims (%d); their leases run out",
                       m->n, m->rc);
    for (size_t i = 0; i < m->n; i++)
        hookd_intmap_del(&e->letgo, m->seqs[i]);
}

static void send_releases(hookd_engine *e)
{
    if (!e->n_releasing)
        return;
    msg *m = msg_new(M_RELEASE, 0);
    if (!m)
        return; /* tried again on the next turn */
    m->seqs = e->releasing;
    m->n = e->n_releasing;
    e->releasing = NULL;
    e->n_releasing = e->cap_releasing = 0;
    task(e, m);
}

/* The store holds due deliveries of w that memory does not. */
static void backlog(hookd_engine *e, wstate *w)
{
    w->backlog = true;
    w->gen++;
    scanq_add(e, w);
}

/* Drops w's queued deliveries from memory (they stay in the store). */
static void drop_queued(hookd_engine *e, wstate *w)
{
    jnode *n = w->head;
    while (n) {
        jnode *next = n->next;
        hookd_intmap_del(&e->held, n->j.seq);
        let_go(e, n->j.seq);
        job_free(e, n);
        n = next;
    }
    w->head = w->tail = NULL;
    w->n_ready = 0;
}

static void webhook_free(hookd_engine *e, wstate *w)
{
    drop_queued(e, w);
    tpl_release(w->tpl);
    free(w);
}

/* A webhook that is gone is forgotten once nothing refers to it. */
static void maybe_forget(hookd_engine *e, wstate *w)
{
    if (w->gone && w->in_flight == 0 && w->owed == 0 && !w->scanning && !w->in_ring &&
        !w->in_scanq && !w->in_paced) {
        hookd_intmap_del(&e->webhooks, w->key);
        webhook_free(e, w);
    }
}

static wstate *webhook_of(hookd_engine *e, int64_t key)
{
    return hookd_intmap_get(&e->webhooks, key);
}

/* Takes a webhook's new settings: a new template when its version moved;
 * a disconnect or delete drops what is queued (the store now holds them
 * held or cancelled). */
static void webhook_set(hookd_engine *e, int64_t key, hookd_webhook *wh)
{
    wstate *w = webhook_of(e, key);
    if (!w && wh) {
        if (!(w = calloc(1, sizeof *w)) || hookd_intmap_put(&e->webhooks, key, w) != 0) {
            free(w);
            hookd_log_error("engine: out of memory adding webhook %s", wh->id);
            return;
        }
        w->key = key;
        w->engine = e;
    }
    if (!w)
        return;
    if (!wh) {
        w->gone = true;
        w->connected = false;
        drop_queued(e, w);
        maybe_forget(e, w);
        return;
    }
    if (!w->tpl || w->tpl->t.version != wh->version) {
        tplref *t = calloc(1, sizeof *t);
        if (!t || hookd_request_tpl_init(&t->t, wh) != 0) {
            hookd_log_error("engine: cannot prepare requests of webhook %s", wh->id);
            if (t)
                hookd_request_tpl_clear(&t->t);
            free(t);
            t = NULL;
        } else {
            t->refs = 1;
        }
        tpl_release(w->tpl);
        w->tpl = t;
    }
    memcpy(w->id, wh->id, sizeof w->id);
    w->connected = wh->connected;
    w->max_in_flight = wh->max_in_flight;
    hookd_pace_set(&w->pace, wh->rate_limit, hookd_now_ms() * 1000);
    w->update_contact = wh->update_contact_from_response;
    if (!w->connected)
        drop_queued(e, w);
    ring_add(e, w);
}

/* Queues fresh or read deliveries of their webhooks; what cannot be held
 * now stays in the store, and its webhook reads it back in order. */
static void take_jobs(hookd_engine *e, jnode *list, bool fresh)
{
    while (list) {
        jnode *n = list;
        list = list->next;
        n->next = NULL;
        wstate *w = webhook_of(e, n->j.webhook);
        bool have = hookd_intmap_get(&e->held, n->j.seq) != NULL;
        bool usable = w && w->connected && !w->gone;
        if (!have && hookd_intmap_get(&e->letgo, n->j.seq)) {
            /* Read before its release ran: the claim is about to go. */
            if (usable)
                backlog(e, w);
            job_free(e, n);
            continue;
        }
        /* A fresh one behind a backlog waits its turn in the store. */
        bool room = w && !(fresh && w->backlog) && w->n_ready < PER_WEBHOOK_MAX;
        if (have || !usable || !room || hookd_intmap_put(&e->held, n->j.seq, n) != 0) {
            if (!have && usable)
                backlog(e, w);
            if (!have)
                let_go(e, n->j.seq);
            job_free(e, n);
            continue;
        }
        if (w->tail)
            w->tail->next = n;
        else
            w->head = n;
        w->tail = n;
        w->n_ready++;
        ring_add(e, w);
    }
}

/* ---- starting attempts ------------------------------------------------------------- */

static CURL *easy_get(hookd_engine *e)
{
    return e->n_idle ? e->idle[--e->n_idle] : curl_easy_init();
}

static void easy_put(hookd_engine *e, CURL *easy)
{
    if (hookd_array_grow(&e->idle, &e->cap_idle, e->n_idle, sizeof *e->idle) != 0) {
        curl_easy_cleanup(easy);
        return;
    }
    e->idle[e->n_idle++] = easy;
}

/* Lets go of what only the attempt needed: the request and the body. */
static void xfer_shrink(hookd_engine *e, xfer *x)
{
    if (x->req) {
        hookd_request_cleanup(x->req);
        free(x->req);
        x->req = NULL;
    }
    if (x->job) {
        job_free(e, x->job);
        x->job = NULL;
    }
}

static void xfer_free(hookd_engine *e, xfer *x)
{
    xfer_shrink(e, x);
    hookd_intmap_del(&e->held, x->o.seq);
    tpl_release(x->tpl);
    free(x->response);
    free(x->error);
    json_decref(x->contact_fields);
    free(x);
}

/* An attempt that could not start stays waiting in the store; its webhook
 * reads it again later. */
static void start_failed(hookd_engine *e, wstate *w, jnode *n, xfer *x, hookd_request *r,
                         CURL *easy)
{
    hookd_log_error("engine: cannot start delivery %s (out of memory)", n->j.id);
    if (r && easy)
        hookd_request_cleanup(r);
    if (easy)
        easy_put(e, easy);
    free(r);
    if (x)
        free(x->resolved);
    free(x);
    hookd_intmap_del(&e->held, n->j.seq);
    let_go(e, n->j.seq);
    job_free(e, n);
    w->scan_after = hookd_now_ms() + STORE_RETRY_MS;
    backlog(e, w);
}

/* Runs on a resolver thread (glibc's): the answer is read on the engine
 * thread, which owns the attempt. */
static void on_resolved(void *ctx)
{
    xfer *x = ctx;
    hookd_engine *e = x->w->engine;
    post(e, x->resolved);
    /* The last touch of e: a stop frees it only once no thread is here. */
    atomic_fetch_sub(&e->notifying, 1);
}

/* Starts w's oldest queued delivery. Through a proxy its host is resolved
 * first, off this thread, and libcurl gets it once the answer is in (see
 * resolved()). */
static void start_one(hookd_engine *e, wstate *w)
{
    jnode *n = w->head;
    w->head = n->next;
    if (!w->head)
        w->tail = NULL;
    w->n_ready--;
    n->next = NULL;
    /* Taken even if the start fails: the delivery is read again later. */
    if (w->pace.rate > 0)
        hookd_pace_take(&w->pace, hookd_now_ms() * 1000);
    xfer *x = calloc(1, sizeof *x);
    hookd_request *r = x ? malloc(sizeof *r) : NULL;
    CURL *easy = r ? easy_get(e) : NULL;
    if (!easy || hookd_request_setup(r, easy, &w->tpl->t, hookd_job_msg_id(&n->j), n->j.method, n->j.query,
                                     n->j.body, n->j.body_len, &e->opt.send) != 0 ||
        curl_easy_setopt(easy, CURLOPT_PRIVATE, x) != CURLE_OK) {
        start_failed(e, w, n, x, r, easy);
        return;
    }
    bool resolve = hookd_request_needs_resolve(r);
    if (resolve) {
        if (!(x->resolved = msg_new(M_RESOLVED, 0))) {
            start_failed(e, w, n, x, r, easy);
            return;
        }
        x->resolved->xfers = x;
    } else if (curl_multi_add_handle(e->multi, easy) != CURLM_OK) {
        start_failed(e, w, n, x, r, easy);
        return;
    }
    x->req = r;
    x->job = n;
    x->o.seq = n->j.seq;
    x->w = w;
    x->tpl = w->tpl;
    w->tpl->refs++;
    w->in_flight++;
    w->owed++;
    e->in_flight++;
    hookd_gauge_add(&hookd_m.in_flight, 1);
    if (resolve)
        atomic_fetch_add(&e->notifying, 1);
    if (resolve && hookd_request_resolve_start(r, on_resolved, x) != 0) {
        atomic_fetch_sub(&e->notifying, 1);
        /* Not started: the attempt fails as a DNS failure, and is retried. */
        post(e, x->resolved);
    }
}

/* An attempt's host is resolved: pin it (or block it) and let libcurl run
 * it. Blocked ones run too, failing without a connection, so every attempt
 * ends in finish(). */
static void resolved(hookd_engine *e, msg *m)
{
    xfer *x = m->xfers;
    x->resolved = NULL; /* it is m, freed by the caller */
    hookd_request_resolve_finish(x->req);
    if (curl_multi_add_handle(e->multi, x->req->easy) != CURLM_OK) {
        /* Cannot run it: give it back to the store like a failed start. */
        hookd_log_error("engine: cannot start delivery %s (out of memory)", x->job->j.id);
        wstate *w = x->w;
        hookd_request_cleanup(x->req);
        easy_put(e, x->req->easy);
        free(x->req);
        x->req = NULL;
        hookd_intmap_del(&e->held, x->o.seq);
        let_go(e, x->o.seq);
        w->in_flight--;
        w->owed--;
        e->in_flight--;
        hookd_gauge_add(&hookd_m.in_flight, -1);
        w->scan_after = hookd_now_ms() + STORE_RETRY_MS;
        backlog(e, w);
        xfer_free(e, x);
        ring_add(e, w);
        maybe_forget(e, w);
    }
}

/* Webhooks whose token came due rejoin the ring; those with nothing left
 * to send leave the list at once. */
static void wake_paced(hookd_engine *e, int64_t now)
{
    wstate **link = &e->paced;
    while (*link) {
        wstate *w = *link;
        bool idle = !w->n_ready || !w->connected || w->gone;
        if (!idle && !hookd_pace_ready(&w->pace, now * 1000)) {
            link = &w->paced_next;
            continue;
        }
        *link = w->paced_next;
        w->in_paced = false;
        ring_add(e, w);
        maybe_forget(e, w);
    }
}

/* Webhooks take turns, one attempt each, until the overall cap. */
static void start_attempts(hookd_engine *e)
{
    while (e->in_flight < e->opt.max_in_flight && e->n_unstored < UNSTORED_MAX) {
        wstate *w = ring_pop(e);
        if (!w)
            break;
        /* The pace is asked again: a new rate may have come since. */
        if (w->n_ready && w->connected && !w->gone && w->tpl && w->in_flight < cap_of(e, w) &&
            (w->pace.rate <= 0 || hookd_pace_ready(&w->pace, hookd_now_ms() * 1000)))
            start_one(e, w);
        ring_add(e, w);
        maybe_forget(e, w);
    }
}

/* ---- finishing attempts ------------------------------------------------------------- */

static hookd_ds_event event_of(hookd_engine *e, const hookd_attempt_result *res, int attempt,
                               int64_t now, int64_t *next_at, bool wants_object, bool is_object)
{
    switch (
        hookd_outcome_classify_answer(res->status_code, res->refused, wants_object, is_object)) {
    case HOOKD_VERDICT_SUCCESS:
        return HOOKD_EV_SUCCEEDED;
    case HOOKD_VERDICT_FINAL:
        return HOOKD_EV_FAILED;
    case HOOKD_VERDICT_RETRY:
        break;
    }
    int64_t delay = hookd_retry_next_delay(e->schedule, e->opt.retry_schedule_len,
                                           e->opt.max_retries, attempt);
    if (delay < 0)
        return HOOKD_EV_FAILED; /* a Retry-After adds no attempt */
    int64_t wait = hookd_retry_after_delay(delay, res->retry_after_ms);
    if (wait > delay)
        hookd_counter_add(&hookd_m.retry_after, 1);
    *next_at = now + wait;
    return HOOKD_EV_RETRY;
}

/* Counts one finished attempt of j (its first when j had none before):
 * atomic adds only, on the engine's hot path. */
static void count_attempt(const hookd_job *j, const hookd_attempt_result *res)
{
    hookd_counter_add(&hookd_m.attempts[hookd_metrics_class(res->status_code)], 1);
    if (res->refused)
        hookd_counter_add(&hookd_m.guard_refused, 1);
    hookd_histogram_observe(&hookd_m.attempt_ms, res->duration_ms);
    /* A delivery's id is a UUIDv7 of when it was made (at ingest, or at a
     * resend), so its age needs no store read. */
    int64_t made = hookd_id_ms(j->id);
    if (j->attempts == 0 && made > 0)
        hookd_histogram_observe(&hookd_m.ingest_to_attempt_ms, res->started_ms - made);
    hookd_gauge_add(&hookd_m.in_flight, -1);
}

static void finish(hookd_engine *e, CURL *easy, CURLcode code, int64_t now)
{
    xfer *x = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
    hookd_attempt_result res;
    hookd_request_finish(x->req, code, &res);
    const hookd_job *j = &x->job->j;
    /* Kept beyond the request: copies of what the log stores. If a copy
     * cannot be made the log shows none, the outcome itself still counts. */
    x->response = res.body ? strdup(res.body) : NULL;
    x->error = res.error ? strdup(res.error) : NULL;
    /* A 2xx to a webhook whose answers update the person: its body must be
     * a JSON object; its "fields" go to the store with the outcome. */
    bool wants_object =
        x->w->update_contact && !res.error && res.status_code >= 200 && res.status_code <= 299;
    bool is_object = true;
    if (wants_object) {
        char *why = NULL;
        is_object = hookd_contact_answer(res.body, &x->contact_fields, &why);
        if (!is_object)
            why = strdup("the answer is not a JSON object, which update_contact_from_response "
                         "needs");
        free(x->error);
        x->error = why;
    }
    memcpy(x->signature, x->req->signature, sizeof x->signature);
    memcpy(x->delivery_id, j->id, sizeof x->delivery_id);
    x->o = (hookd_outcome){.seq = j->seq,
                           .webhook = j->webhook,
                           .from = j->state,
                           .attempts = j->attempts,
                           .time_ms = res.started_ms,
                           .duration_ms = res.duration_ms,
                           .status_code = res.status_code,
                           .error = x->error,
                           .response_body = x->response,
                           .version = x->tpl->t.version,
                           .signature = x->signature,
                           .contact_fields = x->contact_fields};
    x->o.event = event_of(e, &res, j->attempts + 1, now, &x->o.next_at, wants_object, is_object);
    x->refused = res.refused;
    count_attempt(j, &res);
    curl_multi_remove_handle(e->multi, easy);
    easy_put(e, easy);
    xfer_shrink(e, x);
    /* Still held: no read may take it again before its outcome is stored. */
    if (hookd_intmap_put(&e->held, x->o.seq, x) != 0)
        hookd_log_error("engine: out of memory holding delivery %lld", (long long)x->o.seq);
    x->w->in_flight--;
    e->in_flight--;
    ring_add(e, x->w);
    if (!e->done)
        e->first_done_ms = now;
    x->next = e->done;
    e->done = x;
    e->n_done++;
    e->n_unstored++;
}

static void harvest(hookd_engine *e)
{
    CURLMsg *m;
    int left;
    int64_t now = hookd_now_ms();
    while ((m = curl_multi_info_read(e->multi, &left)) != NULL) {
        if (m->msg == CURLMSG_DONE)
            finish(e, m->easy_handle, m->data.result, now);
    }
}

/* Hands every finished attempt to the worker in one batch; while it is
 * stored, the next batch gathers. */
static void flush(hookd_engine *e, int64_t now, bool stopping)
{
    if (e->flushing || !e->done)
        return;
    if (!stopping && (now < e->flush_after ||
                      (e->n_done < FLUSH_MAX && now - e->first_done_ms < FLUSH_MS)))
        return;
    msg *m = msg_new(M_FLUSH, 0);
    if (!m)
        return; /* tried again on the next turn */
    m->xfers = e->done;
    m->n = e->n_done;
    e->done = NULL;
    e->n_done = 0;
    e->flushing = true;
    task(e, m);
}

static void note_due(hookd_engine *e, wstate *w, int64_t when)
{
    if (!when)
        return;
    if (!w->next_due || when < w->next_due)
        w->next_due = when;
    if (!e->earliest_due || when < e->earliest_due)
        e->earliest_due = when;
}

/* A batch the store could not take for now (busy past its timeout, no
 * connection) is stored again later, still held: each of its attempts was
 * made and answered, and sending it again would be a needless duplicate
 * (and, for an answer that came just before the request timeout, could end
 * in a timeout logged instead of the answer). At a stop it is let go. */
static bool keep_unstored(hookd_engine *e, msg *m)
{
    if ((m->rc != HOOKD_EUNAVAIL && m->rc != HOOKD_ENOMEM) || atomic_load(&e->stopping))
        return false;
    hookd_log_warn("engine: cannot store %zu outcomes (%d); storing them again in %d ms",
                   m->n, m->rc, STORE_RETRY_MS);
    xfer *last = m->xfers;
    while (last->next)
        last = last->next;
    int64_t now = hookd_now_ms();
    if (!e->done)
        e->first_done_ms = now;
    last->next = e->done;
    e->done = m->xfers;
    e->n_done += m->n;
    e->flush_after = now + STORE_RETRY_MS;
    return true;
}

/* "5d", "90m", "2s", "1500ms": an interval in the largest unit that
 * divides it, as --disable-after takes it. */
static void format_interval(int64_t ms, char *out, size_t len)
{
    static const struct {
        int64_t ms;
        const char *unit;
    } UNITS[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
    size_t i = 0;
    while (ms % UNITS[i].ms != 0)
        i++;
    snprintf(out, len, "%lld%s", (long long)(ms / UNITS[i].ms), UNITS[i].unit);
}

/* Asks the worker to disconnect w for reason (taken); one at a time. */
static void disable(hookd_engine *e, wstate *w, char *reason)
{
    msg *m = reason ? msg_new(M_DISABLE, w->key) : NULL;
    if (!m) {
        free(reason); /* the next failed attempt asks again */
        return;
    }
    memcpy(m->id, w->id, sizeof m->id);
    m->reason = reason;
    w->disabling = true;
    task(e, m);
}

/* After one stored attempt of w: disconnects w when the endpoint said 410
 * Gone, or when the store's streak (every process's attempts, kept over
 * restarts) has failed for disable_after with at least
 * HOOKD_DISABLE_ATTEMPTS_MIN failed attempts (docs/api.md). */
static void streak(hookd_engine *e, wstate *w, const xfer *x, int64_t now)
{
    const hookd_streak *st = &x->streak;
    if (x->o.event == HOOKD_EV_SUCCEEDED || !w->connected || w->gone || w->disabling ||
        !w->id[0])
        return;
    char *reason = NULL;
    if (x->o.status_code == 410) {
        if (asprintf(&reason, "the endpoint answered 410 Gone to delivery %s", x->delivery_id) < 0)
            reason = NULL;
    } else if (st->failed >= HOOKD_DISABLE_ATTEMPTS_MIN &&
               now - st->since_ms >= e->opt.disable_after_ms) {
        char for_[32], since[HOOKD_TIME_MAX];
        format_interval(e->opt.disable_after_ms, for_, sizeof for_);
        hookd_time_format_ms(st->since_ms, since);
        if (asprintf(&reason,
                     "every attempt failed for more than %s: %lld failed attempts and no "
                     "success since %s",
                     for_, (long long)st->failed, since) < 0)
            reason = NULL;
    } else {
        return;
    }
    disable(e, w, reason);
}

static void disabled(hookd_engine *e, msg *m)
{
    wstate *w = webhook_of(e, m->key);
    if (w)
        w->disabling = false;
    if (m->rc == 0)
        hookd_log_warn("webhook %s disconnected by hookd: %s; its waiting deliveries are held "
                       "until it is connected again",
                       m->id, m->reason);
    else if (m->rc != HOOKD_ECONFLICT && m->rc != HOOKD_ENOTFOUND)
        hookd_log_error("engine: cannot disconnect webhook %s (%d): %s", m->id, m->rc, m->reason);
}

/* What an attempt came to, in words for the log: "HTTP 503", "HTTP 200:
 * <why it is retried>", or the error ("Connection refused", the guard's
 * "address … is not allowed …"). */
static void attempt_words(const xfer *x, char *out, size_t len)
{
    if (x->o.status_code && x->error)
        snprintf(out, len, "HTTP %d: %s", x->o.status_code, x->error);
    else if (x->o.status_code)
        snprintf(out, len, "HTTP %d", x->o.status_code);
    else
        snprintf(out, len, "%s", x->error ? x->error : "no answer");
}

/* The log lines of one stored attempt: one for a delivery that failed for
 * good (and for an attempt the guard refused), and, at most once per
 * FAILING_LOG_MS per webhook, one for a webhook whose attempts keep failing,
 * counting those not logged since; the first success after such a line
 * says so. The limit holds across successes, so a webhook that flaps (fails
 * three times, succeeds, fails again) writes no more than one pair of lines
 * a minute either. */
static void log_outcome(wstate *w, const xfer *x, const hookd_ds_effect *ef, int64_t now)
{
    char what[400];
    attempt_words(x, what, sizeof what);
    if (ef->failed)
        hookd_log_warn("delivery %s of webhook %s failed for good after %d attempt%s: %s%s",
                       x->delivery_id, w->id, x->o.attempts + 1, x->o.attempts ? "s" : "",
                       x->refused ? "refused: " : "", what);
    else if (x->refused)
        hookd_log_warn("delivery %s of webhook %s: attempt %d refused: %s", x->delivery_id,
                       w->id, x->o.attempts + 1, what);
    if (x->o.event == HOOKD_EV_SUCCEEDED) {
        if (w->failing_open) {
            hookd_log_info("webhook %s answers again (%lld failed attempts since the last line)",
                           w->id, (long long)w->failing_unlogged);
            w->failing_open = false;
            w->failing_unlogged = 0;
        }
        return;
    }
    w->failing_unlogged++;
    if (x->streak.failed < FAILING_LOG_MIN ||
        (w->failing_logged_ms && now - w->failing_logged_ms < FAILING_LOG_MS))
        return;
    char since[HOOKD_TIME_MAX];
    hookd_time_format_ms(x->streak.since_ms, since);
    hookd_log_warn("webhook %s keeps failing: %lld failed attempts in a row since %s, %lld of "
                   "them since the last line; the last one: %s",
                   w->id, (long long)x->streak.failed, since, (long long)w->failing_unlogged,
                   what);
    w->failing_logged_ms = now;
    w->failing_open = true;
    w->failing_unlogged = 0;
}

/* Counts a stored outcome as the store's counters do: a delivery when it
 * finishes, a retry when one is scheduled (hookd_ds_effect_of, the one
 * rule for both). */
static void count_outcome(const hookd_ds_effect *ef)
{
    if (ef->succeeded)
        hookd_counter_add(&hookd_m.deliveries[HOOKD_M_SUCCEEDED], 1);
    if (ef->failed)
        hookd_counter_add(&hookd_m.deliveries[HOOKD_M_FAILED], 1);
    if (ef->retried)
        hookd_counter_add(&hookd_m.deliveries[HOOKD_M_RETRIED], 1);
}

static void flushed(hookd_engine *e, msg *m)
{
    e->flushing = false;
    if (m->xfers && keep_unstored(e, m))
        return;
    e->n_unstored -= m->n;
    if (m->rc != 0)
        hookd_log_error("engine: cannot store %zu outcomes (%d); they will be attempted again",
                        m->n, m->rc);
    int64_t now = hookd_now_ms();
    for (xfer *x = m->xfers, *next; x; x = next) {
        next = x->next;
        wstate *w = x->w;
        w->owed--;
        if (m->rc != 0) {
            /* Still waiting in the store, due now: read it again, later. */
            w->scan_after = now + STORE_RETRY_MS;
            if (w->connected && !w->gone)
                backlog(e, w);
        } else if (x->stored_state == HOOKD_DS_RETRYING) {
            note_due(e, w, x->o.next_at);
        }
        if (m->rc == 0 && x->stored_state != HOOKD_DS_REFUSED) {
            hookd_ds_effect ef = hookd_ds_effect_of(x->o.from, x->o.event, x->stored_state);
            count_outcome(&ef);
            if (w->id[0])
                log_outcome(w, x, &ef, now);
            streak(e, w, x, now);
        }
        xfer_free(e, x);
        maybe_forget(e, w);
    }
}

/* ---- reading the store ---------------------------------------------------------------- */

/* Asks the worker for the next part of each backlog that memory has room
 * for. */
static void scan_backlogs(hookd_engine *e, int64_t now)
{
    wstate **link = &e->scanq_head, *prev = NULL;
    while (*link) {
        wstate *w = *link;
        size_t memory = atomic_load(&e->memory);
        bool drop = !w->backlog || !w->connected || w->gone;
        bool wait = w->scanning || w->n_ready >= SCAN_LOW_WATER || now < w->scan_after ||
                    memory >= e->opt.memory_max;
        if (!drop && wait) {
            prev = w;
            link = &w->scan_next;
            continue;
        }
        *link = w->scan_next;
        if (e->scanq_tail == w)
            e->scanq_tail = prev;
        w->in_scanq = false;
        if (drop) {
            maybe_forget(e, w);
            continue;
        }
        msg *m = msg_new(M_SCAN, w->key);
        if (!m) {
            scanq_add(e, w);
            return;
        }
        if (w->cursor.next_at == 0 && w->cursor.seq == 0)
            w->pass_gen = w->gen;
        m->now = now;
        m->cursor = w->cursor;
        m->max_seq = atomic_load(&e->known_seq);
        m->limit = (int)(PER_WEBHOOK_MAX - w->n_ready);
        w->scanning = true;
        task(e, m);
        return; /* one read at a time keeps the worker free for outcomes */
    }
}

static void scanned(hookd_engine *e, msg *m)
{
    wstate *w = webhook_of(e, m->key);
    if (!w) {
        jobs_free(e, m->jobs);
        return;
    }
    w->scanning = false;
    if (m->rc != 0) {
        w->scan_after = hookd_now_ms() + STORE_RETRY_MS;
        scanq_add(e, w);
        return;
    }
    w->cursor = m->cursor;
    take_jobs(e, m->jobs, false);
    if ((int)m->n == m->limit) {
        scanq_add(e, w); /* more of the pass to read */
    } else if (w->gen == w->pass_gen) {
        /* Read to the end with no new signal: memory holds all that is due.
         * Ask when the next retry comes due. */
        w->backlog = false;
        w->cursor = (hookd_due_cursor){0, 0};
        msg *t = msg_new(M_NEXT_DUE, w->key);
        if (t) {
            t->now = m->now;
            task(e, t);
        }
    } else {
        w->cursor = (hookd_due_cursor){0, 0};
        scanq_add(e, w);
    }
    maybe_forget(e, w);
}

/* Retries that came due make their webhook read its backlog. */
static void check_due(hookd_engine *e, int64_t now)
{
    if (!e->earliest_due || now < e->earliest_due)
        return;
    e->earliest_due = 0;
    for (size_t i = 0; i < e->webhooks.cap; i++) {
        wstate *w = e->webhooks.keys[i] ? e->webhooks.vals[i] : NULL;
        if (!w || !w->next_due)
            continue;
        if (w->next_due <= now) {
            w->next_due = 0;
            if (w->connected && !w->gone)
                backlog(e, w);
        } else if (!e->earliest_due || w->next_due < e->earliest_due) {
            e->earliest_due = w->next_due;
        }
    }
}

/* ---- the engine thread ---------------------------------------------------------------- */

static void handle(hookd_engine *e, msg *m)
{
    wstate *w;
    switch (m->kind) {
    case M_FRESH:
        take_jobs(e, m->jobs, true);
        for (size_t i = 0; i < m->n_dropped; i++) {
            if (!hookd_intmap_get(&e->held, m->seqs[i]))
                let_go(e, m->seqs[i]);
        }
        break;
    case M_WEBHOOK:
        webhook_set(e, m->key, m->wh);
        hookd_webhook_free(m->wh);
        break;
    case M_DUE:
        if (m->key == 0) {
            for (size_t i = 0; i < e->webhooks.cap; i++) {
                if (e->webhooks.keys[i] && (w = e->webhooks.vals[i])->connected)
                    backlog(e, w);
            }
        } else if ((w = webhook_of(e, m->key)) && w->connected && !w->gone) {
            /* No need to rewind the read under way: the signal makes
             * another whole pass follow it. */
            backlog(e, w);
        }
        break;
    case M_FLUSH:
        flushed(e, m);
        break;
    case M_SCAN:
        scanned(e, m);
        break;
    case M_NEXT_DUE:
        if (!(w = webhook_of(e, m->key)))
            break;
        if (m->rc == 0) {
            note_due(e, w, m->when);
        } else if (w->connected && !w->gone) {
            /* Not knowing when its next retry is due, nothing would wake
             * the engine for it: read the backlog again, later (that pass
             * asks again). */
            w->scan_after = hookd_now_ms() + STORE_RETRY_MS;
            backlog(e, w);
        }
        break;
    case M_PRUNE:
        e->pruning = false;
        break;
    case M_RELEASE:
        released(e, m);
        break;
    case M_RENEW:
        e->renewing = false;
        if (m->rc != 0)
            hookd_log_warn("engine: cannot renew %zu claims (%d)", m->n, m->rc);
        break;
    case M_RESOLVED:
        resolved(e, m);
        break;
    case M_DISABLE:
        disabled(e, m);
        break;
    case M_STOP:
        break;
    }
    msg_free(m);
}

/* Renews the claims of every delivery the engine holds (a shared store). */
static void maybe_renew(hookd_engine *e, int64_t now)
{
    if (!e->shared || e->renewing || now < e->next_renew_ms)
        return;
    e->next_renew_ms = now + HOOKD_STORE_RENEW_MS;
    if (!e->held.n)
        return;
    msg *m = msg_new(M_RENEW, 0);
    if (!m || !(m->seqs = malloc(e->held.n * sizeof *m->seqs))) {
        free(m);
        return;
    }
    for (size_t i = 0; i < e->held.cap; i++) {
        if (e->held.keys[i])
            m->seqs[m->n++] = e->held.keys[i];
    }
    e->renewing = true;
    task(e, m);
}

/* At a stop, what waits in memory is let go for the other processes. */
static void release_queued(hookd_engine *e)
{
    if (!e->shared || e->released_all)
        return;
    e->released_all = true;
    for (size_t i = 0; i < e->webhooks.cap; i++) {
        if (e->webhooks.keys[i])
            drop_queued(e, e->webhooks.vals[i]);
    }
}

static void maybe_prune(hookd_engine *e, int64_t now)
{
    if (e->pruning || now < e->next_prune_ms)
        return;
    msg *m = msg_new(M_PRUNE, 0);
    if (!m)
        return;
    m->now = now;
    e->pruning = true;
    task(e, m);
    int64_t every = e->opt.log_retention_ms / 2;
    e->next_prune_ms = now + (every < 200 ? 200 : every > 60000 ? 60000 : every);
}

/* How long the engine may sleep: until its next timer, never spinning. */
static int sleep_ms(hookd_engine *e, int64_t now, bool stopping)
{
    int64_t until = now + (stopping ? STOP_POLL_MS : IDLE_POLL_MS);
    if (e->earliest_due && e->earliest_due < until)
        until = e->earliest_due;
    if (!e->pruning && e->next_prune_ms < until)
        until = e->next_prune_ms;
    if (e->done && !e->flushing) {
        int64_t at = e->first_done_ms + FLUSH_MS;
        if (at < e->flush_after)
            at = e->flush_after;
        if (at < until)
            until = at;
    }
    if (e->shared && !e->renewing && e->next_renew_ms < until)
        until = e->next_renew_ms;
    for (wstate *w = e->scanq_head; w; w = w->scan_next) {
        if (w->scan_after > now && w->scan_after < until)
            until = w->scan_after;
    }
    /* A webhook over its rate wakes the engine when its next token is due
     * (rounded up: waking early would only sleep again). */
    for (wstate *w = e->paced; w; w = w->paced_next) {
        int64_t at = (hookd_pace_ready_at(&w->pace, now * 1000) + 999) / 1000;
        if (at < until)
            until = at;
    }
    return until > now ? (int)(until - now) : 0;
}

static void *engine_main(void *arg)
{
    hookd_engine *e = arg;
    pthread_setname_np(pthread_self(), "hookd-engine");
    for (;;) {
        for (msg *m = queue_take(&e->inbox, false), *next; m; m = next) {
            next = m->next;
            handle(e, m);
        }
        /* Releases go before the reads below, which would skip them. */
        send_releases(e);
        int64_t now = hookd_now_ms();
        bool stopping = atomic_load(&e->stopping);
        if (!stopping) {
            check_due(e, now);
            scan_backlogs(e, now);
            wake_paced(e, now);
            start_attempts(e);
            maybe_prune(e, now);
            maybe_renew(e, now);
        } else {
            release_queued(e);
        }
        send_releases(e);
        int running = 0;
        curl_multi_perform(e->multi, &running);
        harvest(e);
        flush(e, hookd_now_ms(), stopping);
        /* Slots that just came free are filled before sleeping. */
        if (!stopping) {
            wake_paced(e, hookd_now_ms());
            start_attempts(e);
        }
        if (stopping && e->in_flight == 0 && !e->done && !e->flushing && !e->pruning)
            break;
        curl_multi_poll(e->multi, NULL, 0, sleep_ms(e, hookd_now_ms(), stopping), NULL);
    }
    return NULL;
}

/* ---- start and stop ------------------------------------------------------------------- */

/* Every webhook, each with a backlog: after a start, all that waits in the
 * store is read. */
static int load_webhooks(hookd_engine *e)
{
    int64_t after = 0;
    do {
        hookd_webhook **list = NULL;
        size_t n = 0;
        int rc = hookd_store_webhook_list(e->opt.store, after, 500, &list, &n, &after);
        if (rc)
            return rc;
        for (size_t i = 0; i < n; i++) {
            webhook_set(e, list[i]->key, list[i]);
            wstate *w = webhook_of(e, list[i]->key);
            if (w && w->connected)
                backlog(e, w);
        }
        hookd_webhook_list_free(list, n);
    } while (after);
    return 0;
}

static void engine_free(hookd_engine *e)
{
    for (size_t i = 0; i < e->webhooks.cap; i++) {
        if (e->webhooks.keys[i])
            webhook_free(e, e->webhooks.vals[i]);
    }
    hookd_intmap_free(&e->webhooks);
    hookd_intmap_free(&e->held);
    hookd_intmap_free(&e->letgo);
    for (msg *m = queue_take(&e->inbox, false), *next; m; m = next) {
        next = m->next;
        jobs_free(e, m->jobs);
        hookd_webhook_free(m->wh);
        msg_free(m);
    }
    free(e->releasing);
    for (size_t i = 0; i < e->n_idle; i++)
        curl_easy_cleanup(e->idle[i]);
    free(e->idle);
    curl_multi_cleanup(e->multi);
    free(e->schedule);
    free(e->stop);
    queue_destroy(&e->inbox);
    queue_destroy(&e->tasks);
    free(e);
}

int hookd_engine_start(const hookd_engine_options *opt, hookd_engine **out)
{
    hookd_engine *e = calloc(1, sizeof *e);
    if (!e)
        return HOOKD_ENOMEM;
    e->opt = *opt;
    e->shared = hookd_store_shared(opt->store);
    if (e->opt.max_in_flight <= 0)
        e->opt.max_in_flight = 512;
    if (e->opt.max_in_flight_per_webhook <= 0)
        e->opt.max_in_flight_per_webhook = 16;
    if (e->opt.memory_max == 0)
        e->opt.memory_max = MEMORY_MAX_DEFAULT;
    if (e->opt.disable_after_ms <= 0)
        e->opt.disable_after_ms = 5 * 86400000LL;
    queue_init(&e->inbox);
    queue_init(&e->tasks);
    e->schedule = malloc((opt->retry_schedule_len ? opt->retry_schedule_len : 1) *
                         sizeof *e->schedule);
    e->multi = curl_multi_init();
    e->stop = msg_new(M_STOP, 0);
    if (!e->schedule || !e->multi || !e->stop || opt->retry_schedule_len == 0) {
        engine_free(e);
        return HOOKD_ENOMEM;
    }
    memcpy(e->schedule, opt->retry_schedule_ms, opt->retry_schedule_len * sizeof *e->schedule);
    e->opt.retry_schedule_ms = e->schedule;
    /* Keep-alive: one cache for every host, sized to the overall cap. */
    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)e->opt.max_in_flight);
    hookd_store_listener l = {.ctx = e, .fresh = on_fresh, .webhook = on_webhook, .due = on_due};
    hookd_store_listen(opt->store, &l);
    int64_t top = 0;
    int rc = hookd_store_max_seq(opt->store, &top);
    atomic_store(&e->known_seq, top);
    if (rc == 0)
        rc = load_webhooks(e);
    if (rc == 0 && pthread_create(&e->worker, NULL, worker_main, e) != 0)
        rc = HOOKD_ENOMEM;
    if (rc == 0 && pthread_create(&e->thread, NULL, engine_main, e) != 0) {
        task(e, e->stop);
        e->stop = NULL;
        pthread_join(e->worker, NULL);
        rc = HOOKD_ENOMEM;
    }
    if (rc) {
        hookd_store_listen(opt->store, &(hookd_store_listener){0});
        engine_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

void hookd_engine_stop(hookd_engine *e)
{
    if (!e)
        return;
    atomic_store(&e->stopping, true);
    curl_multi_wakeup(e->multi);
    pthread_join(e->thread, NULL);
    task(e, e->stop);
    e->stop = NULL;
    pthread_join(e->worker, NULL);
    hookd_store_listen(e->opt.store, &(hookd_store_listener){0});
    /* Every attempt has ended, but a resolver thread may still be returning
     * from its post (curl_multi_wakeup): wait it out before freeing. */
    while (atomic_load(&e->notifying) > 0)
        sched_yield();
    engine_free(e);
}

#include "api/deadline.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "util/error.h"
#include "util/log.h"

#define TICK_MAX_MS 1000 /* how late past its deadline a connection may be shut */
#define TICK_MIN_MS 20

enum phase { PHASE_HEAD, PHASE_BODY, PHASE_HANDLING, PHASE_ANSWERING, PHASE_IDLE };

struct hookd_conn_clock {
    hookd_conn_clock *prev, *next; /* d->list, under d->lock */
    int fd;
    bool reaped;                   /* under d->lock */
    _Atomic int64_t deadline_ms;   /* monotonic; 0: none. Written by the serving thread */
    /* Read and written only by the thread serving the connection. */
    enum phase phase;
    int64_t request_start_ms;
};

struct hookd_deadlines {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    pthread_t reaper;
    hookd_conn_clock *list;
    int64_t head_ms, total_ms, idle_ms, tick_ms;
    atomic_ulong reaped;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Why shutting down c->fd here can never hit another connection's socket:
 * the fd is read and shut down only under d->lock, and only while c is in
 * the list. c leaves the list in hookd_deadlines_remove, which server.c
 * calls from libmicrohttpd's MHD_CONNECTION_NOTIFY_CLOSED, and libmicrohttpd
 * 0.9.75 sends that notice before it closes the socket, on every path
 * (MHD_cleanup_connections, and the failure path of new_connection_process_,
 * both in daemon.c). So while the reaper holds the lock and sees c, the fd
 * is still c's open socket: its number cannot yet have been reused by
 * another accept, another connection's socket or a file the store opens. */
static unsigned reap_due(hookd_deadlines *d, int64_t now)
{
    unsigned n = 0;
    pthread_mutex_lock(&d->lock);
    for (hookd_conn_clock *c = d->list; c; c = c->next) {
        int64_t due = atomic_load_explicit(&c->deadline_ms, memory_order_relaxed);
        if (due && now >= due && !c->reaped) {
            shutdown(c->fd, SHUT_RDWR);
            c->reaped = true;
            n++;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return n;
}

static void *reaper_main(void *arg)
{
    hookd_deadlines *d = arg;
    pthread_setname_np(pthread_self(), "hookd-deadline");
    pthread_mutex_lock(&d->lock);
    while (!d->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += (long)(d->tick_ms % 1000) * 1000000L;
        until.tv_sec += d->tick_ms / 1000 + until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&d->wake, &d->lock, &until);
        if (d->stopping)
            break;
        pthread_mutex_unlock(&d->lock);
        unsigned n = reap_due(d, mono_ms());
        if (n) {
            atomic_fetch_add(&d->reaped, n);
            /* At most one line a tick, however many clients are slow. */
            hookd_log_info("api: closed %u connection%s too slow to send a request or read "
                           "an answer in time",
                           n, n == 1 ? "" : "s");
        }
        pthread_mutex_lock(&d->lock);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

int hookd_deadlines_start(int64_t head_ms, int64_t total_ms, int64_t idle_ms,
                          hookd_deadlines **out)
{
    hookd_deadlines *d = calloc(1, sizeof *d);
    if (!d)
        return HOOKD_ENOMEM;
    d->head_ms = head_ms;
    d->total_ms = total_ms;
    d->idle_ms = idle_ms;
    d->tick_ms = head_ms / 4 < TICK_MIN_MS   ? TICK_MIN_MS
                 : head_ms / 4 > TICK_MAX_MS ? TICK_MAX_MS
                                             : head_ms / 4;
    pthread_mutex_init(&d->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&d->reaper, NULL, reaper_main, d) != 0) {
        pthread_cond_destroy(&d->wake);
        pthread_mutex_destroy(&d->lock);
        free(d);
        return HOOKD_ENOMEM;
    }
    *out = d;
    return 0;
}

static void set_deadline(hookd_conn_clock *c, int64_t due)
{
    atomic_store_explicit(&c->deadline_ms, due, memory_order_relaxed);
}

hookd_conn_clock *hookd_deadlines_add(hookd_deadlines *d, int fd)
{
    hookd_conn_clock *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    c->phase = PHASE_HEAD;
    c->request_start_ms = mono_ms();
    set_deadline(c, c->request_start_ms + d->head_ms);
    pthread_mutex_lock(&d->lock);
    c->next = d->list;
    if (d->list)
        d->list->prev = c;
    d->list = c;
    pthread_mutex_unlock(&d->lock);
    return c;
}

void hookd_deadlines_request_line(hookd_deadlines *d, hookd_conn_clock *c)
{
    if (!c || c->phase == PHASE_HEAD)
        return; /* a new connection's clock runs from accept */
    c->phase = PHASE_HEAD;
    c->request_start_ms = mono_ms();
    set_deadline(c, c->request_start_ms + d->head_ms);
}

void hookd_deadlines_head_done(hookd_deadlines *d, hookd_conn_clock *c)
{
    if (!c)
        return;
    c->phase = PHASE_BODY;
    set_deadline(c, c->request_start_ms + d->total_ms);
}

void hookd_deadlines_handling(hookd_deadlines *d, hookd_conn_clock *c)
{
    (void)d;
    if (!c)
        return;
    c->phase = PHASE_HANDLING;
    set_deadline(c, 0);
}

void hookd_deadlines_answering(hookd_deadlines *d, hookd_conn_clock *c)
{
    if (!c)
        return;
    c->phase = PHASE_ANSWERING;
    set_deadline(c, mono_ms() + d->total_ms);
}

void hookd_deadlines_idle(hookd_deadlines *d, hookd_conn_clock *c)
{
    if (!c)
        return;
    c->phase = PHASE_IDLE;
    set_deadline(c, mono_ms() + d->idle_ms);
}

void hookd_deadlines_remove(hookd_deadlines *d, hookd_conn_clock *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&d->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        d->list = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&d->lock);
    free(c);
}

unsigned long hookd_deadlines_reaped(hookd_deadlines *d)
{
    return atomic_load(&d->reaped);
}

void hookd_deadlines_stop(hookd_deadlines *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    d->stopping = true;
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->reaper, NULL);
    for (hookd_conn_clock *c = d->list, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

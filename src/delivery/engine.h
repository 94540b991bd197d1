/*
 * engine.h — the delivery engine (docs/api.md#delivery): attempts deliveries over
 * libcurl's multi interface, many at once over kept-alive connections, and
 * hands their outcomes back to the store.
 *
 * The store is the log, the engine's memory the queue. Fresh deliveries come
 * straight from each ingest commit (the store's listener) into a per-webhook
 * queue in memory; the store is read only for what memory does not hold:
 * retries that come due, deliveries held back while memory was full, those a
 * connect or a retry made due, and everything after a restart.
 *
 * Two threads: the engine thread runs libcurl and every in-memory decision
 * and never waits on the store; a worker thread runs the store calls (batches
 * of outcomes, reads of due deliveries, pruning) and posts their results
 * back. The engine sleeps in curl_multi_poll until a transfer, a post, or
 * its next timer: a full set of slots costs no CPU. Each webhook has at most
 * its `max_in_flight` attempts running (max_in_flight_per_webhook when it
 * holds none) and starts at most its `rate_limit` per second (pace.h), and
 * webhooks take turns, so a slow one cannot hold up the others. An outcome the store cannot take for
 * the moment (busy, unreachable) is kept and stored again a second later;
 * its delivery is not attempted again meanwhile.
 *
 * The store is borrowed and must outlive the engine. Start and stop from one
 * thread.
 */
#ifndef HOOKD_DELIVERY_ENGINE_H
#define HOOKD_DELIVERY_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "delivery/request.h"
#include "store/store.h"

typedef struct hookd_engine hookd_engine;

typedef struct hookd_engine_options {
    hookd_store *store;
    hookd_send_opts send;
    const int64_t *retry_schedule_ms; /* copied */
    size_t retry_schedule_len;
    int max_retries;
    int64_t log_retention_ms;
    int max_in_flight;             /* overall, default 512 */
    int max_in_flight_per_webhook; /* for a webhook without max_in_flight, default 16 */
    size_t memory_max;             /* bytes of deliveries held in memory, default 8 MiB */
    /* A webhook whose attempts have all failed for this long, and at least
     * HOOKD_DISABLE_ATTEMPTS_MIN times, is disconnected by hookd (docs/api.md);
     * 0: 5 days. A 410 answer disconnects it at once. */
    int64_t disable_after_ms;
} hookd_engine_options;

#define HOOKD_DISABLE_ATTEMPTS_MIN 10

/* Becomes the store's listener (so call it before anything writes to the
 * store), reads the webhooks, and starts both threads. Everything waiting in
 * the store is due again: what was in flight at a crash is attempted again. */
int hookd_engine_start(const hookd_engine_options *opt, hookd_engine **out)
    __attribute__((warn_unused_result));

/* Stops starting attempts, lets those in flight finish (each bounded by the
 * request timeout), stores their outcomes, joins both threads and frees
 * everything. The store must stay open until it returns. Accepts NULL. */
void hookd_engine_stop(hookd_engine *e);

#endif

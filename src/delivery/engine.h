/*
 * engine.h — the delivery engine (SPEC §5): one thread owning a libcurl
 * multi handle. It claims due deliveries from the store in batches, runs many
 * attempts at once over kept-alive connections (at most a per-webhook and an
 * overall number in flight), classifies each answer, and writes the outcomes
 * back in one transaction per batch.
 *
 * The store is borrowed and must outlive the engine. hookd_engine_wake may be
 * called from any thread; everything else from the thread that started it.
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
    int max_in_flight_per_webhook; /* default 16 */
} hookd_engine_options;

/* Starts the engine thread. Claims left by an earlier process are released
 * first, so what was in flight at a crash is simply due again. */
int hookd_engine_start(const hookd_engine_options *opt, hookd_engine **out)
    __attribute__((warn_unused_result));

/* Tells the engine new deliveries may be due (after a commit). Thread-safe,
 * cheap, never blocks. Accepts NULL. */
void hookd_engine_wake(hookd_engine *e);

/* Stops claiming, lets attempts in flight finish (each bounded by the request
 * timeout), stores their outcomes, joins the thread and frees everything.
 * Accepts NULL. */
void hookd_engine_stop(hookd_engine *e);

#endif

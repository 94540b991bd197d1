/*
 * metrics.h — what hookd counts as it runs, for GET /metrics (api/metrics.c
 * writes them out in the Prometheus text format).
 *
 * Counters and histograms are lock-free: an observation is one or two
 * relaxed atomic adds on memory made at start, never a lock or an
 * allocation, so the engine thread and the API's threads count on their hot
 * paths without waiting on each other or on a scrape. A scrape reads each
 * value on its own: a histogram's buckets and its count are always
 * consistent with each other (the count is their total), its sum may lead or
 * trail them by the observations made during the read.
 *
 * The figures of the whole process live in one structure, hookd_metrics,
 * written by the delivery engine (deliveries, attempts, in flight, outcome
 * batches) and read by the API. Every function is safe from any thread.
 */
#ifndef HOOKD_UTIL_METRICS_H
#define HOOKD_UTIL_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

typedef struct hookd_counter {
    _Atomic uint64_t v;
} hookd_counter;

typedef struct hookd_gauge {
    _Atomic int64_t v;
} hookd_gauge;

static inline void hookd_counter_add(hookd_counter *c, uint64_t n)
{
    atomic_fetch_add_explicit(&c->v, n, memory_order_relaxed);
}

static inline uint64_t hookd_counter_get(const hookd_counter *c)
{
    return atomic_load_explicit(&((hookd_counter *)c)->v, memory_order_relaxed);
}

static inline void hookd_gauge_add(hookd_gauge *g, int64_t n)
{
    atomic_fetch_add_explicit(&g->v, n, memory_order_relaxed);
}

static inline int64_t hookd_gauge_get(const hookd_gauge *g)
{
    return atomic_load_explicit(&((hookd_gauge *)g)->v, memory_order_relaxed);
}

#define HOOKD_HIST_BUCKETS_MAX 16

/* A histogram over integers in a unit of its own (microseconds, outcomes):
 * bounds are the buckets' inclusive upper bounds, ascending, in that unit,
 * and a last bucket (+Inf) takes the rest. scale converts the unit to the
 * one written out (1000 for milliseconds shown as seconds). Counts per
 * bucket are not cumulative here; the writer sums them. */
typedef struct hookd_histogram {
    const int64_t *bounds; /* static */
    size_t n;              /* <= HOOKD_HIST_BUCKETS_MAX */
    double scale;
    _Atomic uint64_t counts[HOOKD_HIST_BUCKETS_MAX + 1];
    _Atomic int64_t sum;
} hookd_histogram;

/* Counts one value v (in the histogram's unit; a negative one counts as 0). */
void hookd_histogram_observe(hookd_histogram *h, int64_t v);

/* ---- the process's figures ---------------------------------------------- */

/* Deliveries by how an attempt left them (docs/api.md#metrics, hookd_deliveries_total). */
enum { HOOKD_M_SUCCEEDED, HOOKD_M_FAILED, HOOKD_M_RETRIED, HOOKD_M_OUTCOMES };
/* Attempts by what came back: a status class, or no status (error). */
enum { HOOKD_M_2XX, HOOKD_M_3XX, HOOKD_M_4XX, HOOKD_M_5XX, HOOKD_M_ERROR, HOOKD_M_CLASSES };

typedef struct hookd_metrics {
    hookd_counter deliveries[HOOKD_M_OUTCOMES];
    hookd_counter attempts[HOOKD_M_CLASSES];
    hookd_counter guard_refused;          /* attempts the address guard refused */
    hookd_counter retry_after;            /* retries a Retry-After pushed past the schedule */
    hookd_gauge in_flight;                /* attempts running now */
    hookd_histogram attempt_ms;           /* one attempt's duration */
    hookd_histogram ingest_to_attempt_ms; /* a delivery's creation to its first attempt */
    hookd_histogram outcome_commit_us;    /* storing one batch of outcomes */
    hookd_histogram outcome_batch;        /* outcomes per batch */
} hookd_metrics;

/* The process's figures (static storage: always there, zero at start). */
extern hookd_metrics hookd_m;

/* The class of an attempt that ended with HTTP status (0: none came). */
int hookd_metrics_class(int status);

/* ---- the text format (Prometheus exposition format 0.0.4) ---------------- */

/* "# HELP name help" and "# TYPE name type". */
void hookd_metrics_family(hookd_buf *b, const char *name, const char *type, const char *help);

/* "name{labels} value": labels is the inside of the braces (already
 * escaped, e.g. `outcome="failed"`) or NULL for none. */
void hookd_metrics_sample(hookd_buf *b, const char *name, const char *labels, double value);

/* name_bucket{le=…} for every bound and +Inf (cumulative), name_sum (in
 * the scaled unit) and name_count. */
void hookd_metrics_histogram(hookd_buf *b, const char *name, const hookd_histogram *h);

/* Appends s as a label value: backslash, double quote and line feed
 * escaped as the format asks. */
void hookd_metrics_label_value(hookd_buf *b, const char *s);

#endif

/*
 * metrics.c — lock-free counters and histograms, and the writer of the
 * Prometheus text format (see metrics.h).
 */
#include "util/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bucket bounds. Attempts: a local receiver answers in a few ms, a slow
 * endpoint in seconds, the default --request-timeout is 30 s. Ingest to
 * first attempt: milliseconds when hookd keeps up, minutes when it does not
 * (or a webhook's rate limit queues). Commits: SQLite's fsync is a few ms,
 * anything past a second is an alarm. Batches: FLUSH_MAX in the engine is
 * 512; outcomes kept through a store outage come back in larger ones. */
static const int64_t ATTEMPT_MS[] = {5,    10,   25,   50,    100,   250,  500,
                                     1000, 2500, 5000, 10000, 30000, 60000};
static const int64_t INGEST_MS[] = {5,    10,   25,    50,    100,   250,    500,    1000,
                                    2500, 5000, 10000, 30000, 60000, 300000, 3600000};
static const int64_t COMMIT_US[] = {500,    1000,   2000,   5000,    10000,   25000,  50000,
                                    100000, 250000, 500000, 1000000, 2500000, 5000000};
static const int64_t BATCH[] = {1, 2, 5, 10, 25, 50, 100, 250, 512, 1024, 2048};

#define HIST(b, s)                                                                                 \
    {                                                                                              \
        .bounds = (b), .n = sizeof(b) / sizeof((b)[0]), .scale = (s)                               \
    }

hookd_metrics hookd_m = {
    .attempt_ms = HIST(ATTEMPT_MS, 1000),
    .ingest_to_attempt_ms = HIST(INGEST_MS, 1000),
    .outcome_commit_us = HIST(COMMIT_US, 1000000),
    .outcome_batch = HIST(BATCH, 1),
};

void hookd_histogram_observe(hookd_histogram *h, int64_t v)
{
    if (v < 0)
        v = 0;
    size_t i = 0;
    while (i < h->n && v > h->bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum, v, memory_order_relaxed);
}

int hookd_metrics_class(int status)
{
    if (status >= 200 && status <= 299)
        return HOOKD_M_2XX;
    if (status >= 300 && status <= 399)
        return HOOKD_M_3XX;
    if (status >= 400 && status <= 499)
        return HOOKD_M_4XX;
    if (status >= 500 && status <= 599)
        return HOOKD_M_5XX;
    return HOOKD_M_ERROR; /* no answer, or a status outside 200–599 */
}

/* ---- the text format ----------------------------------------------------- */

/* A value as the format writes it: integers without a fraction, others in
 * the shortest form that reads back the same. */
static void format_value(double v, char text[40])
{
    if (isnan(v))
        snprintf(text, 40, "NaN");
    else if (isinf(v))
        snprintf(text, 40, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(text, 40, "%.0f", v);
    else if (snprintf(text, 40, "%.15g", v) > 0 && strtod(text, NULL) != v)
        snprintf(text, 40, "%.17g", v);
}

static void put_value(hookd_buf *b, double v)
{
    char text[40];
    format_value(v, text);
    hookd_buf_puts(b, text);
}

void hookd_metrics_family(hookd_buf *b, const char *name, const char *type, const char *help)
{
    hookd_buf_puts(b, "# HELP ");
    hookd_buf_puts(b, name);
    hookd_buf_puts(b, " ");
    hookd_buf_puts(b, help); /* our own sentences: no backslash or line feed */
    hookd_buf_puts(b, "\n# TYPE ");
    hookd_buf_puts(b, name);
    hookd_buf_puts(b, " ");
    hookd_buf_puts(b, type);
    hookd_buf_puts(b, "\n");
}

static void sample(hookd_buf *b, const char *name, const char *suffix, const char *labels,
                   const char *extra, double value)
{
    hookd_buf_puts(b, name);
    hookd_buf_puts(b, suffix);
    if ((labels && *labels) || extra) {
        hookd_buf_puts(b, "{");
        if (labels && *labels) {
            hookd_buf_puts(b, labels);
            if (extra)
                hookd_buf_puts(b, ",");
        }
        if (extra)
            hookd_buf_puts(b, extra);
        hookd_buf_puts(b, "}");
    }
    hookd_buf_puts(b, " ");
    put_value(b, value);
    hookd_buf_puts(b, "\n");
}

void hookd_metrics_sample(hookd_buf *b, const char *name, const char *labels, double value)
{
    sample(b, name, "", labels, NULL, value);
}

void hookd_metrics_histogram(hookd_buf *b, const char *name, const hookd_histogram *h)
{
    hookd_histogram *m = (hookd_histogram *)h; /* atomics are read, not written */
    uint64_t total = 0;
    char le[48];
    for (size_t i = 0; i <= h->n; i++) {
        total += atomic_load_explicit(&m->counts[i], memory_order_relaxed);
        char bound[40] = "+Inf";
        if (i < h->n)
            format_value((double)h->bounds[i] / h->scale, bound);
        snprintf(le, sizeof le, "le=\"%s\"", bound);
        sample(b, name, "_bucket", NULL, le, (double)total);
    }
    sample(b, name, "_sum", NULL, NULL,
           (double)atomic_load_explicit(&m->sum, memory_order_relaxed) / h->scale);
    sample(b, name, "_count", NULL, NULL, (double)total);
}

void hookd_metrics_label_value(hookd_buf *b, const char *s)
{
    for (const char *p = s; *p; p++) {
        const char *esc = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : NULL;
        if (esc)
            hookd_buf_puts(b, esc);
        else
            hookd_buf_append(b, p, 1);
    }
}

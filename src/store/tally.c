/*
 * tally.c — the counter changes of one command (see tally.h).
 */
#include "store/tally.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/error.h"

int64_t hookd_hour_of(int64_t ms)
{
    return ms - ((ms % HOOKD_HOUR_MS) + HOOKD_HOUR_MS) % HOOKD_HOUR_MS;
}

int hookd_tally_add(hookd_tally *t, int64_t key, int64_t finish_ms, const hookd_ds_effect *e)
{
    bool counts = e->succeeded || e->failed || e->retried;
    int64_t hour = counts ? hookd_hour_of(finish_ms) : 0; /* else only the open delta */
    if (e->open == 0 && !counts)
        return 0;
    for (size_t i = 0; i < t->n; i++) {
        hookd_tally_row *r = &t->rows[i];
        if (r->key == key && r->hour == hour) {
            r->open += e->open;
            r->c.succeeded += e->succeeded;
            r->c.failed += e->failed;
            r->c.retried += e->retried;
            return 0;
        }
    }
    if (hookd_array_grow(&t->rows, &t->cap, t->n, sizeof *t->rows) != 0)
        return HOOKD_ENOMEM;
    t->rows[t->n++] = (hookd_tally_row){
        .key = key,
        .hour = hour,
        .open = e->open,
        .c = {.succeeded = e->succeeded, .failed = e->failed, .retried = e->retried}};
    return 0;
}

int hookd_tally_attempt(hookd_tally *t, int64_t key, bool succeeded, int64_t time_ms)
{
    hookd_tally_streak *r = NULL;
    for (size_t i = 0; i < t->n_streaks && !r; i++)
        if (t->streaks[i].key == key)
            r = &t->streaks[i];
    if (!r) {
        if (hookd_array_grow(&t->streaks, &t->cap_streaks, t->n_streaks, sizeof *t->streaks) != 0)
            return HOOKD_ENOMEM;
        r = &t->streaks[t->n_streaks++];
        *r = (hookd_tally_streak){.key = key};
    }
    if (succeeded) {
        /* Attempts come in the order their answers did: a success ends the
         * failures told before it. */
        r->reset = true;
        r->failed = 0;
        r->since_ms = 0;
        return 0;
    }
    if (!r->failed || time_ms < r->since_ms)
        r->since_ms = time_ms;
    r->failed++;
    return 0;
}

hookd_streak hookd_tally_streak_of(const hookd_tally *t, int64_t key)
{
    for (size_t i = 0; i < t->n_streaks; i++)
        if (t->streaks[i].key == key)
            return t->streaks[i].now;
    return (hookd_streak){0, 0};
}

static int cmp_streak(const void *a, const void *b)
{
    const hookd_tally_streak *x = a, *y = b;
    return (x->key > y->key) - (x->key < y->key);
}

static int cmp_row(const void *a, const void *b)
{
    const hookd_tally_row *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->hour > y->hour) - (x->hour < y->hour);
}

void hookd_tally_sort(hookd_tally *t)
{
    if (t->n > 1)
        qsort(t->rows, t->n, sizeof *t->rows, cmp_row);
    if (t->n_streaks > 1)
        qsort(t->streaks, t->n_streaks, sizeof *t->streaks, cmp_streak);
}

void hookd_tally_clear(hookd_tally *t)
{
    free(t->rows);
    free(t->streaks);
    memset(t, 0, sizeof *t);
}

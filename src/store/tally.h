/*
 * tally.h — private to src/store: the counter changes of one command (open
 * deliveries per webhook, finished and retried ones per webhook and hour),
 * summed in memory from hookd_ds_effect_of and written once at the end of
 * the command by whichever backend runs it; and the change of each
 * webhook's streak of failed attempts.
 *
 * A tally owns its rows; hookd_tally_clear frees them.
 */
#ifndef HOOKD_STORE_TALLY_H
#define HOOKD_STORE_TALLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/delivery_state.h"
#include "store/store.h"

#define HOOKD_HOUR_MS 3600000LL
/* Counts by hour are kept for the longest window docs/api.md#counts-by-hour allows. */
#define HOOKD_HOURS_KEPT 720

/* One webhook's changes within one hour (hour 0: the open delta alone). */
typedef struct hookd_tally_row {
    int64_t key, hour;
    int64_t open;
    hookd_hour_counts c;
} hookd_tally_row;

/* One webhook's streak change (hookd_streak): whether an attempt in the
 * command succeeded (ending the streak before it), and the failed attempts
 * after the last success. The backend writes it with the command and sets
 * now to what the commit leaves. */
typedef struct hookd_tally_streak {
    int64_t key;
    bool reset;
    int64_t failed;
    int64_t since_ms; /* the first of those failed attempts, when failed > 0 */
    hookd_streak now;
} hookd_tally_streak;

typedef struct hookd_tally {
    hookd_tally_row *rows;
    size_t n, cap;
    hookd_tally_streak *streaks;
    size_t n_streaks, cap_streaks;
} hookd_tally;

/* The start of the hour that holds ms (times before 1970 included). */
int64_t hookd_hour_of(int64_t ms);

/* Adds the effect of one move of a webhook's delivery that finished (or
 * was retried) at finish_ms. Returns 0 or HOOKD_ENOMEM. */
int hookd_tally_add(hookd_tally *t, int64_t key, int64_t finish_ms, const hookd_ds_effect *e)
    __attribute__((warn_unused_result));

/* Adds one answered attempt of the webhook key, made at time_ms, to its
 * streak. Returns 0 or HOOKD_ENOMEM. */
int hookd_tally_attempt(hookd_tally *t, int64_t key, bool succeeded, int64_t time_ms)
    __attribute__((warn_unused_result));

/* The streak of key as the command left it (after the backend wrote it),
 * or {0, 0} when the command had no attempt of it. */
hookd_streak hookd_tally_streak_of(const hookd_tally *t, int64_t key);

/* Orders the rows by (key, hour) and the streaks by key: concurrent
 * writers then lock counter rows, and streak rows, in one order. */
void hookd_tally_sort(hookd_tally *t);

void hookd_tally_clear(hookd_tally *t);

#endif

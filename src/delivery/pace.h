/*
 * pace.h — one webhook's rate limit (docs/api.md#pace
 * `rate_limit`) as a token bucket in the GCRA form: one time (when the
 * bucket will next be full again, "theoretical arrival time") instead of a
 * count of tokens and a refill time, exact in integer microseconds.
 *
 * The bucket holds 100 ms worth of tokens, at least one: at 5/s one attempt
 * every 200 ms, at 1000/s up to 100 at once. So any second sees at most
 * rate + max(1, rate / 10) attempts, and the engine, whose timers are in
 * milliseconds, still reaches 10000/s.
 *
 * Pure values: no allocation, no clock of its own (the caller passes its
 * time). The engine thread owns each one.
 */
#ifndef HOOKD_DELIVERY_PACE_H
#define HOOKD_DELIVERY_PACE_H

#include <stdbool.h>
#include <stdint.h>

#define HOOKD_PACE_BURST_US 100000 /* the bucket holds this much time's worth */

typedef struct hookd_pace {
    double rate;      /* per second; 0: no limit */
    int64_t interval; /* µs between two attempts at the rate */
    int64_t slack;    /* µs an attempt may come before its turn (the burst) */
    int64_t tat;      /* µs: when the next attempt is due at the rate */
} hookd_pace;

/* Sets the rate (0 for none) at now_us. A bucket that had no limit starts
 * full; one whose rate changes keeps what it owes, but never waits longer
 * than one interval of the new rate. */
void hookd_pace_set(hookd_pace *p, double rate, int64_t now_us);

/* When an attempt may start (µs, <= now_us if at once). */
int64_t hookd_pace_ready_at(const hookd_pace *p, int64_t now_us);

/* True if an attempt may start at now_us. */
bool hookd_pace_ready(const hookd_pace *p, int64_t now_us);

/* Takes a token for an attempt starting at now_us (call only when ready). */
void hookd_pace_take(hookd_pace *p, int64_t now_us);

#endif

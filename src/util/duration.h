/*
 * duration.h — parsing of durations such as "30s", "5m", "1d" (docs/configuration.md) and of
 * comma-separated lists of them ("5m,15m,1h,5h,1d").
 *
 * Pure functions; the list parser returns a new array the caller frees.
 */
#ifndef HOOKD_UTIL_DURATION_H
#define HOOKD_UTIL_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* An integer and a unit: ms, s, m, h or d. No sign, no fraction, no spaces.
 * Returns 0 and sets *ms, or -1 if s is not a duration or overflows. */
int hookd_duration_parse(const char *s, int64_t *ms) __attribute__((warn_unused_result));

/* A comma-separated, non-empty list of durations, each > 0. Returns 0 and sets
 * *out (new, caller frees) and *n, or -1 with nothing allocated. */
int hookd_duration_list_parse(const char *s, int64_t **out, size_t *n)
    __attribute__((warn_unused_result));

#endif

/*
 * timeutil.h — wall-clock time and RFC 3339 formatting/parsing, all in UTC.
 *
 * Pure functions over caller-owned buffers; thread-safe.
 */
#ifndef HOOKD_UTIL_TIMEUTIL_H
#define HOOKD_UTIL_TIMEUTIL_H

#include <stdint.h>

/* Enough for "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" and a NUL. */
#define HOOKD_TIME_MAX 40

int64_t hookd_now_ns(void);
int64_t hookd_now_ms(void);

/* "2023-01-16T23:41:18.123Z" (milliseconds). out must hold HOOKD_TIME_MAX. */
void hookd_time_format_ms(int64_t ms, char *out);
/* "2023-01-16T23:41:18Z" (seconds). */
void hookd_time_format_s(int64_t seconds, char *out);
/* "2023-01-16T23:41:18.948713601Z" (nanoseconds, always 9 digits). */
void hookd_time_format_ns(int64_t ns, char *out);

/* Parses an RFC 3339 timestamp ("T" or " " separator is not accepted: only
 * "T"/"t"; "Z" or ±HH:MM offset required; any number of fraction digits, of
 * which nanoseconds are kept). Returns 0 and sets *ns (UTC, since the epoch),
 * or -1 if s is not a valid timestamp or lies outside what int64 nanoseconds
 * hold (about 1677 to 2262). */
int hookd_time_parse_rfc3339(const char *s, int64_t *ns);

#endif

/*
 * fuzz_time.c — libFuzzer driver for the RFC 3339 parser
 * (hookd_time_parse_rfc3339, src/util/timeutil.h), which reads every
 * activity's `created` and every `tme` field value that comes in over the API.
 *
 * The input is the timestamp text itself, handed over as an exact-size heap
 * copy (the bytes and one NUL) so AddressSanitizer reports any read past the
 * end. Invariants checked:
 *   - the parser accepts exactly the strings of the documented grammar
 *     (YYYY-MM-DD, T or t, hh:mm:ss, optional fraction of any length, Z, z or
 *     ±hh:mm) that name a real date and time and fit int64 nanoseconds; the
 *     grammar and the calendar are checked here independently of the parser,
 *     the calendar and the instant with the C library's timegm/gmtime_r;
 *   - what it accepts is the same instant timegm computes (offset applied,
 *     a leap second held at :59, nanoseconds from the first nine fraction
 *     digits);
 *   - the instant formatted by the codebase's own formatters (ns, ms and s)
 *     parses back to the same instant (truncated to ms or s) and, in UTC, is
 *     the canonical spelling of the input.
 */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/timeutil.h"

#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_time: invariant failed: %s: ", #cond);                           \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define NS 1000000000LL

/* What the grammar oracle read out of a candidate timestamp. */
typedef struct stamp {
    int year, month, day, hour, minute, second;
    int64_t frac_ns;      /* first nine fraction digits, scaled to ns */
    int offset_s;         /* local minus UTC, seconds */
} stamp;

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool num(const char *s, size_t len, size_t at, size_t n, int *out)
{
    int v = 0;
    if (at + n > len)
        return false;
    for (size_t i = at; i < at + n; i++) {
        if (!is_digit(s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* The grammar of timeutil.h, written out again from the documentation: true
 * and *st filled if s (len bytes, no NUL inside) has the shape, whatever the
 * numbers. */
static bool grammar(const char *s, size_t len, stamp *st)
{
    if (!num(s, len, 0, 4, &st->year) || len < 5 || s[4] != '-' ||
        !num(s, len, 5, 2, &st->month) || len < 8 || s[7] != '-' ||
        !num(s, len, 8, 2, &st->day) || len < 11 || (s[10] != 'T' && s[10] != 't') ||
        !num(s, len, 11, 2, &st->hour) || len < 14 || s[13] != ':' ||
        !num(s, len, 14, 2, &st->minute) || len < 17 || s[16] != ':' ||
        !num(s, len, 17, 2, &st->second))
        return false;
    size_t p = 19;
    st->frac_ns = 0;
    if (p < len && s[p] == '.') {
        size_t start = ++p;
        int64_t scale = NS / 10;
        while (p < len && is_digit(s[p])) {
            st->frac_ns += (s[p] - '0') * scale;
            scale /= 10;
            p++;
        }
        if (p == start)
            return false;
    }
    st->offset_s = 0;
    if (p < len && (s[p] == 'Z' || s[p] == 'z'))
        return p + 1 == len;
    int oh, om;
    if (p < len && (s[p] == '+' || s[p] == '-') && num(s, len, p + 1, 2, &oh) && p + 3 < len &&
        s[p + 3] == ':' && num(s, len, p + 4, 2, &om) && p + 6 == len) {
        if (oh > 23 || om > 59)
            return false;
        st->offset_s = (oh * 3600 + om * 60) * (s[p] == '-' ? -1 : 1);
        return true;
    }
    return false;
}

/* The calendar and clock checked by the C library: timegm normalises an
 * impossible date (Feb 30 → Mar 2), so a date is real when gmtime_r gives the
 * same fields back. Returns true and sets *secs (UTC seconds, leap second
 * held at :59, offset applied) for a real date and time. */
static bool oracle_instant(const stamp *st, int64_t *secs)
{
    if (st->month < 1 || st->month > 12 || st->day < 1 || st->hour > 23 || st->minute > 59 ||
        st->second > 60)
        return false;
    struct tm tm = {0};
    tm.tm_year = st->year - 1900;
    tm.tm_mon = st->month - 1;
    tm.tm_mday = st->day;
    tm.tm_hour = st->hour;
    tm.tm_min = st->minute;
    tm.tm_sec = st->second == 60 ? 59 : st->second;
    time_t t = timegm(&tm);
    struct tm back;
    if (!gmtime_r(&t, &back))
        return false;
    if (back.tm_year != st->year - 1900 || back.tm_mon != st->month - 1 ||
        back.tm_mday != st->day)
        return false;
    *secs = (int64_t)t - st->offset_s;
    return true;
}

/* Parses text (which must parse) and returns the instant. */
static int64_t reparse(const char *text, const char *what)
{
    int64_t ns = 0;
    FUZZ_CHECK(hookd_time_parse_rfc3339(text, &ns) == 0, "%s output '%s' does not parse back",
               what, text);
    return ns;
}

static int64_t floordiv(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Formats ns with each formatter and parses every result back. */
static void check_formatters(int64_t ns)
{
    char out[HOOKD_TIME_MAX];
    memset(out, 'x', sizeof out);
    hookd_time_format_ns(ns, out);
    FUZZ_CHECK(memchr(out, '\0', sizeof out) != NULL, "format_ns output not terminated");
    FUZZ_CHECK(reparse(out, "format_ns") == ns, "format_ns(%lld) = '%s' parses to another instant",
               (long long)ns, out);

    int64_t ms = floordiv(ns, 1000000);
    hookd_time_format_ms(ms, out);
    FUZZ_CHECK(reparse(out, "format_ms") == ms * 1000000, "format_ms(%lld) = '%s' is another ms",
               (long long)ms, out);

    int64_t s = floordiv(ns, NS);
    hookd_time_format_s(s, out);
    FUZZ_CHECK(reparse(out, "format_s") == s * NS, "format_s(%lld) = '%s' is another second",
               (long long)s, out);
}

/* In UTC, format_ns writes the input's canonical spelling: upper-case T and
 * Z, nine fraction digits (cut or padded), second 60 held at 59. */
static void check_canonical(const char *in, size_t len, const stamp *st, int64_t ns)
{
    if (st->offset_s != 0 || (in[len - 1] != 'Z' && in[len - 1] != 'z'))
        return;
    char want[64], got[HOOKD_TIME_MAX];
    snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", st->year, st->month,
             st->day, st->hour, st->minute, st->second == 60 ? 59 : st->second,
             (long long)st->frac_ns);
    hookd_time_format_ns(ns, got);
    FUZZ_CHECK(strcmp(want, got) == 0, "'%.*s' formats as '%s', expected '%s'", (int)len, in, got,
               want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exactly the input and its terminator: a read of one byte more is an
     * ASan report. */
    char *s = malloc(size + 1);
    FUZZ_CHECK(s != NULL, "malloc");
    memcpy(s, data, size);
    s[size] = '\0';
    /* The parser reads a C string; callers refuse a NUL inside first
     * (fieldvalue.c checks the length, the API refuses "\u0000"), so the
     * oracle looks at the same bytes the parser sees. */
    size_t len = strlen(s);

    int64_t ns = 0x5a5a5a5a5a5a5a5aLL;
    int rc = hookd_time_parse_rfc3339(s, &ns);
    FUZZ_CHECK(rc == 0 || rc == -1, "rc=%d", rc);

    stamp st;
    int64_t secs = 0;
    bool shape = grammar(s, len, &st);
    bool real = shape && oracle_instant(&st, &secs);
    bool fits = real && secs > LLONG_MIN / NS && secs < LLONG_MAX / NS;
    FUZZ_CHECK((rc == 0) == fits, "'%.200s': parser says %s, the grammar %s, the calendar %s%s",
               s, rc == 0 ? "yes" : "no", shape ? "matches" : "does not match",
               real ? "is real" : "is not", real && !fits ? ", out of range" : "");
    if (rc == 0) {
        FUZZ_CHECK(ns == secs * NS + st.frac_ns, "'%.200s' parsed to %lld, timegm says %lld", s,
                   (long long)ns, (long long)(secs * NS + st.frac_ns));
        check_formatters(ns);
        check_canonical(s, len, &st, ns);
    }
    free(s);
    return 0;
}

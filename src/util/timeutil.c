#include "util/timeutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t hookd_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t hookd_now_ms(void)
{
    return hookd_now_ns() / 1000000LL;
}

/* floor division so times before 1970 still format correctly */
static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static void format_base(int64_t seconds, char *out, size_t cap)
{
    time_t t = (time_t)seconds;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
}

void hookd_time_format_s(int64_t seconds, char *out)
{
    format_base(seconds, out, HOOKD_TIME_MAX);
    size_t n = strlen(out);
    snprintf(out + n, HOOKD_TIME_MAX - n, "Z");
}

void hookd_time_format_ms(int64_t ms, char *out)
{
    int64_t s = floordiv(ms, 1000);
    format_base(s, out, HOOKD_TIME_MAX);
    size_t n = strlen(out);
    snprintf(out + n, HOOKD_TIME_MAX - n, ".%03dZ", (int)(ms - s * 1000));
}

void hookd_time_format_ns(int64_t ns, char *out)
{
    int64_t s = floordiv(ns, 1000000000LL);
    format_base(s, out, HOOKD_TIME_MAX);
    size_t n = strlen(out);
    snprintf(out + n, HOOKD_TIME_MAX - n, ".%09dZ", (int)(ns - s * 1000000000LL));
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int hookd_time_parse_rfc3339(const char *s, int64_t *ns)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int Y, M, D, h, mi, sec;
    if (strlen(s) < 20)
        return -1;
    if (digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) || s[7] != '-' ||
        digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
        s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
        return -1;
    if (M < 1 || M > 12 || D < 1 || h > 23 || mi > 59 || sec > 60)
        return -1;
    int dim = mdays[M - 1] + (M == 2 && is_leap(Y));
    if (D > dim)
        return -1;
    if (sec == 60) /* leap second: hold at :59, as most systems do */
        sec = 59;
    const char *p = s + 19;
    int64_t frac = 0;
    if (*p == '.') {
        p++;
        int nd = 0;
        while (*p >= '0' && *p <= '9') {
            if (nd < 9) {
                frac = frac * 10 + (*p - '0');
            }
            nd++;
            p++;
        }
        if (nd == 0)
            return -1;
        for (int i = nd; i < 9; i++)
            frac *= 10;
    }
    int64_t offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    int64_t secs = days_from_civil(Y, M, D) * 86400 + h * 3600 + mi * 60 + sec - offset;
    /* Nanoseconds since the epoch fit int64 only from 1677-09-21 to
     * 2262-04-11; refuse what would overflow rather than wrap. */
    if (secs <= INT64_MIN / 1000000000LL || secs >= INT64_MAX / 1000000000LL)
        return -1;
    *ns = secs * 1000000000LL + frac;
    return 0;
}

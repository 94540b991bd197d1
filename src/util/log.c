#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "util/timeutil.h"

void hookd_log(const char *level, const char *fmt, ...)
{
    char line[1024];
    char ts[HOOKD_TIME_MAX];
    hookd_time_format_ms(hookd_now_ms(), ts);
    int n = snprintf(line, sizeof line, "%s %s ", ts, level);
    if (n < 0 || (size_t)n >= sizeof line)
        return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    size_t len = (size_t)n + ((size_t)m < sizeof line - (size_t)n - 1 ? (size_t)m : sizeof line - (size_t)n - 2);
    line[len++] = '\n';
    /* One write per line so concurrent threads never interleave. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

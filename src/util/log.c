#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/timeutil.h"
#include "util/utf8.h"

/* A message is cut at this many bytes; as JSON each byte may grow to six
 * ("\u0001"), so the line buffer is six times as large and never cuts one. */
#define MSG_MAX 1024
#define LINE_MAX_BYTES (MSG_MAX * 6 + 128)

static const char *const LEVEL_NAMES[] = {
    [HOOKD_LOG_DEBUG] = "debug",
    [HOOKD_LOG_INFO] = "info",
    [HOOKD_LOG_WARN] = "warn",
    [HOOKD_LOG_ERROR] = "error",
};

/* Written once before other threads start (log.h), read only after. */
static hookd_log_format log_format = HOOKD_LOG_TEXT;
static hookd_log_level log_min = HOOKD_LOG_INFO;

int hookd_log_level_parse(const char *s, hookd_log_level *out)
{
    for (size_t i = 0; i < sizeof LEVEL_NAMES / sizeof LEVEL_NAMES[0]; i++) {
        if (s && strcmp(s, LEVEL_NAMES[i]) == 0) {
            *out = (hookd_log_level)i;
            return 0;
        }
    }
    return -1;
}

int hookd_log_format_parse(const char *s, hookd_log_format *out)
{
    if (s && strcmp(s, "text") == 0)
        *out = HOOKD_LOG_TEXT;
    else if (s && strcmp(s, "json") == 0)
        *out = HOOKD_LOG_JSON;
    else
        return -1;
    return 0;
}

void hookd_log_configure(hookd_log_format format, hookd_log_level min)
{
    log_format = format;
    log_min = min;
}

bool hookd_log_enabled(hookd_log_level level)
{
    return level >= log_min;
}

/* Appends s to out[*len..cap) as the inside of a JSON string. s is valid
 * UTF-8 (sanitized by the caller); cap leaves room for every escape. */
static void json_escape(char *out, size_t *len, size_t cap, const char *s)
{
    static const char HEX[] = "0123456789abcdef";
    size_t n = *len;
    for (const unsigned char *p = (const unsigned char *)s; *p && n + 7 < cap; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else if (c == '\t') {
            out[n++] = '\\';
            out[n++] = 't';
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(out + n, "\\u00", 4);
            out[n + 4] = HEX[c >> 4];
            out[n + 5] = HEX[c & 15];
            n += 6;
        } else {
            out[n++] = (char)c;
        }
    }
    *len = n;
}

/* Appends the NUL-terminated s to out[*len..cap) if it fits whole. */
static void append(char *out, size_t *len, size_t cap, const char *s)
{
    size_t k = strlen(s);
    if (*len + k < cap) {
        memcpy(out + *len, s, k);
        *len += k;
    }
}

void hookd_log(hookd_log_level level, const char *fmt, ...)
{
    if (level < log_min || level > HOOKD_LOG_ERROR)
        return;
    char msg[MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    char ts[HOOKD_TIME_MAX];
    hookd_time_format_ms(hookd_now_ms(), ts);
    char line[LINE_MAX_BYTES];
    size_t len = 0;
    if (log_format == HOOKD_LOG_JSON) {
        /* A message cut by the bounded format may end inside a character;
         * a JSON line must be UTF-8 through and through. */
        hookd_utf8_sanitize(msg);
        append(line, &len, sizeof line, "{\"time\":\"");
        append(line, &len, sizeof line, ts);
        append(line, &len, sizeof line, "\",\"level\":\"");
        append(line, &len, sizeof line, LEVEL_NAMES[level]);
        append(line, &len, sizeof line, "\",\"msg\":\"");
        json_escape(line, &len, sizeof line - 3, msg);
        append(line, &len, sizeof line, "\"}");
    } else {
        append(line, &len, sizeof line, ts);
        append(line, &len, sizeof line, " ");
        append(line, &len, sizeof line, LEVEL_NAMES[level]);
        append(line, &len, sizeof line, " ");
        append(line, &len, sizeof line, msg);
    }
    line[len++] = '\n';
    /* One write per line so concurrent threads never interleave. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

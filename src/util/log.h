/*
 * log.h — one-line, timestamped log messages on stderr, as text
 * ("<time> <level> <message>") or as one JSON object a line
 * ({"time":"…","level":"…","msg":"…"}), from the given level up.
 *
 * Safe from any thread: each message is formatted into a local buffer and
 * written with a single write(2), so lines never interleave. The format and
 * level are set once, by hookd_log_configure on the main thread before any
 * other thread starts; until then lines are text from info up.
 */
#ifndef HOOKD_UTIL_LOG_H
#define HOOKD_UTIL_LOG_H

#include <stdbool.h>

typedef enum hookd_log_level {
    HOOKD_LOG_DEBUG,
    HOOKD_LOG_INFO,
    HOOKD_LOG_WARN,
    HOOKD_LOG_ERROR,
} hookd_log_level;

typedef enum hookd_log_format {
    HOOKD_LOG_TEXT,
    HOOKD_LOG_JSON,
} hookd_log_format;

/* "debug", "info", "warn", "error" → *out; 0, or -1 for any other text. */
int hookd_log_level_parse(const char *s, hookd_log_level *out) __attribute__((warn_unused_result));
/* "text", "json" → *out; 0, or -1 for any other text. */
int hookd_log_format_parse(const char *s, hookd_log_format *out)
    __attribute__((warn_unused_result));

/* Lines below min are dropped from now on; format is how the rest look.
 * Main thread, before other threads start. */
void hookd_log_configure(hookd_log_format format, hookd_log_level min);

/* Whether a line of this level would be written (to skip costly arguments). */
bool hookd_log_enabled(hookd_log_level level);

void hookd_log(hookd_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define hookd_log_debug(...) hookd_log(HOOKD_LOG_DEBUG, __VA_ARGS__)
#define hookd_log_info(...) hookd_log(HOOKD_LOG_INFO, __VA_ARGS__)
#define hookd_log_warn(...) hookd_log(HOOKD_LOG_WARN, __VA_ARGS__)
#define hookd_log_error(...) hookd_log(HOOKD_LOG_ERROR, __VA_ARGS__)

#endif

/*
 * log.h — one-line, timestamped log messages on stderr.
 *
 * Safe from any thread: each message is formatted into a local buffer and
 * written with a single write(2), so lines never interleave.
 */
#ifndef HOOKD_UTIL_LOG_H
#define HOOKD_UTIL_LOG_H

void hookd_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define hookd_log_info(...) hookd_log("info", __VA_ARGS__)
#define hookd_log_warn(...) hookd_log("warn", __VA_ARGS__)
#define hookd_log_error(...) hookd_log("error", __VA_ARGS__)

#endif

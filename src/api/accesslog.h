/*
 * accesslog.h — the optional access log of the API (--access-log): one line
 * per answered request, appended to a file (or written to standard output).
 *
 *   2026-11-29T21:30:00.123Z 127.0.0.1 GET /api/v1/webhooks/{…} 200 1234 3.217
 *
 * time (UTC, ms), client address, method, path (never the query string,
 * which may carry a payload; bytes outside printable ASCII and "%" escaped
 * as %XX), status, bytes of the answer's body, duration in milliseconds
 * from the request's head to its answer being written.
 *
 * Each line is formatted on the caller's stack and written with one
 * write(2) to a file opened O_APPEND, so lines of concurrent requests never
 * interleave and several processes may share the file. Safe from any
 * thread; the log is owned by its opener and closed with
 * hookd_access_log_close.
 */
#ifndef HOOKD_API_ACCESSLOG_H
#define HOOKD_API_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct hookd_access_log hookd_access_log;

/* Opens path for appending (made with mode 0640 if missing), or standard
 * output for "-". Returns 0 and sets *out, or a negative code with a
 * one-line reason in err. */
int hookd_access_log_open(const char *path, hookd_access_log **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Writes one request's line; client may be NULL ("-"). A failed write is
 * dropped (the log must never hold up an answer). */
void hookd_access_log_write(hookd_access_log *l, const struct sockaddr *client, const char *method,
                            const char *path, int status, uint64_t bytes, int64_t duration_us);

/* Closes the file (not standard output). Accepts NULL. */
void hookd_access_log_close(hookd_access_log *l);

#endif

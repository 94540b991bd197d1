/*
 * deadline.h — deadlines on the API's connections against slow clients
 * (slowloris): a client must send a whole request head within head_ms of
 * starting it, head and body within total_ms, read its answer within
 * total_ms of its being queued, and start its next request within idle_ms
 * of the last one ending. Every clock starts at an event and is never
 * restarted by bytes arriving, unlike libmicrohttpd's idle timeout, which
 * one byte every few seconds keeps from firing forever.
 *
 * server.c tells the module what each connection does (the functions below,
 * called from libmicrohttpd's callbacks on the thread that serves the
 * connection); a reaper thread wakes a few times a second and shuts down
 * (shutdown(2), SHUT_RDWR) the socket of every connection past its deadline.
 * libmicrohttpd then sees the socket fail and closes the connection through
 * its usual path, so nothing of libmicrohttpd is touched from the reaper.
 * While a handler runs (hookd's own work) no deadline applies.
 *
 * Ownership: hookd_deadlines_add returns a clock the module owns until
 * hookd_deadlines_remove, which must be called before the socket is closed
 * (see deadline.c on why that makes shutdown safe). The other functions
 * accept a NULL clock and do nothing.
 */
#ifndef HOOKD_API_DEADLINE_H
#define HOOKD_API_DEADLINE_H

#include <stdint.h>

typedef struct hookd_deadlines hookd_deadlines;
typedef struct hookd_conn_clock hookd_conn_clock;

/* Starts the reaper. Returns 0, or HOOKD_ENOMEM. */
int hookd_deadlines_start(int64_t head_ms, int64_t total_ms, int64_t idle_ms,
                          hookd_deadlines **out) __attribute__((warn_unused_result));

/* A connection on socket fd was accepted: its first request head is due
 * within head_ms. NULL if out of memory (the caller should refuse it). */
hookd_conn_clock *hookd_deadlines_add(hookd_deadlines *d, int fd);
/* The request line arrived. On a connection that was idle, a new request's
 * clocks start now; on a new connection they started at accept. */
void hookd_deadlines_request_line(hookd_deadlines *d, hookd_conn_clock *c);
/* The head is in: head and body are due within total_ms of the request's start. */
void hookd_deadlines_head_done(hookd_deadlines *d, hookd_conn_clock *c);
/* The request is with a handler: no deadline until it answers. */
void hookd_deadlines_handling(hookd_deadlines *d, hookd_conn_clock *c);
/* An answer is queued: it must be read within total_ms. */
void hookd_deadlines_answering(hookd_deadlines *d, hookd_conn_clock *c);
/* The request is done: the next one must start within idle_ms. */
void hookd_deadlines_idle(hookd_deadlines *d, hookd_conn_clock *c);
/* The connection is about to close: forgets it and frees c. Must come before
 * its socket is closed. */
void hookd_deadlines_remove(hookd_deadlines *d, hookd_conn_clock *c);

/* How many connections the reaper has shut down so far. */
unsigned long hookd_deadlines_reaped(hookd_deadlines *d);

/* Stops the reaper and frees d; clocks still added are freed too (their
 * sockets are the caller's). Accepts NULL. */
void hookd_deadlines_stop(hookd_deadlines *d);

#endif

/*
 * progress.h — how far a long command (`people import`, `activities send`)
 * has come, on stderr: on a terminal a bar redrawn in place with \r (count,
 * rate, and percent and ETA when the input's size is known), otherwise a
 * plain line every interval, for logs. Messages printed in between go
 * through hookd_progress_note so they never land on the bar's line.
 *
 * Single-threaded; the struct is the caller's, nothing to free.
 */
#ifndef HOOKD_CLI_PROGRESS_H
#define HOOKD_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct hookd_progress {
    const char *prog;    /* "hookd people import", borrowed */
    const char *unit;    /* "rows", borrowed */
    bool tty;            /* a bar; else lines */
    bool quiet;          /* nothing at all */
    int64_t total_bytes; /* the input's size, 0 if unknown (a pipe) */
    int64_t interval_ms; /* between plain lines */
    int64_t start_ms, last_ms;
    bool drawn; /* the bar is on screen */
} hookd_progress;

/* Starts the clock. */
void hookd_progress_start(hookd_progress *p);

/* Shows rows done and bytes of the input consumed, if it is time to (a bar
 * at most 10 times a second, a line every interval_ms). */
void hookd_progress_update(hookd_progress *p, uint64_t rows, int64_t bytes);

/* Prints one line of text on stderr below (not over) the bar. */
void hookd_progress_note(hookd_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Draws the final state and ends the bar's line. */
void hookd_progress_finish(hookd_progress *p, uint64_t rows, int64_t bytes);

/* Milliseconds since start. */
int64_t hookd_progress_elapsed_ms(const hookd_progress *p);

#endif

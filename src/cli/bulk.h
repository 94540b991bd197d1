/*
 * bulk.h — sends rows of a file to a list endpoint of the API
 * (/api/v1/activities, /api/v1/people/merge) in batches of 1,000 (and never
 * over the API's 1 MiB body), and finds which row a refused batch stumbled
 * on: the API answers all or nothing and names the row in the error's
 * field ("people[37].fields.str::email"), so the row is reported with its
 * line in the file and the message, and the batch goes again without it
 * (--on-error continue) or with only the rows before it (stop).
 *
 * The caller owns the hookd_bulk; items given to hookd_bulk_add are taken
 * (the bulk owns them). Single-threaded.
 */
#ifndef HOOKD_CLI_BULK_H
#define HOOKD_CLI_BULK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "cli/args.h"
#include "cli/progress.h"

#define HOOKD_BULK_BATCH 1000             /* the API's most items per call */
#define HOOKD_BULK_BODY_MAX (1000 * 1024) /* under the API's 1 MiB body cap */

typedef struct hookd_bulk {
    const hookd_cli *cli;
    const char *path;     /* "/api/v1/people/merge" */
    const char *list_key; /* "people": the body's list, and the error fields' prefix */
    json_t *extra;        /* other keys of every body ("merge_by"), borrowed, or NULL */
    bool keep_going;      /* --on-error continue */
    hookd_progress *progress;
    /* Called for each row the server took, with its item of the answer. */
    void (*on_answer)(void *ctx, long line, const json_t *answer);
    void *ctx;

    /* the batch being filled */
    json_t *items;
    long *lines;
    size_t n, cap;
    size_t body_bytes;
    int64_t bytes_read; /* input consumed, for the progress */

    /* counts */
    uint64_t sent, failed;
    long stopped_at; /* the line --on-error stop stopped at, or 0 */
    bool fatal;      /* a refusal no row is to blame for (key, server down) */
} hookd_bulk;

/* 0, or -1 out of memory. */
int hookd_bulk_init(hookd_bulk *b) __attribute__((warn_unused_result));

/* Adds item (taken) of the given line; sends the batch when full. Returns
 * true to read on, false to stop (stopped at a bad row, or fatal). */
bool hookd_bulk_add(hookd_bulk *b, json_t *item, long line);

/* A row the command could not even make an item of: reported like one the
 * server refused. Returns true to read on. */
bool hookd_bulk_bad_row(hookd_bulk *b, long line, const char *message);

/* Sends what is left. Returns true unless it stopped or failed. */
bool hookd_bulk_flush(hookd_bulk *b);

void hookd_bulk_free(hookd_bulk *b);

#endif

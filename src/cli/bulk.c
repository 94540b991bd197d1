/*
 * bulk.c — batches, and the rows a refused batch is blamed on (bulk.h).
 */
#include "cli/bulk.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"

#define BUSY_TRIES 5 /* 429 or 503: waits of 1, 2, 4, 8 and 16 s */

typedef enum { SENT, STOP, FATAL } send_result;

int hookd_bulk_init(hookd_bulk *b)
{
    b->items = json_array();
    b->cap = HOOKD_BULK_BATCH;
    b->lines = calloc(b->cap, sizeof *b->lines);
    return b->items && b->lines ? 0 : -1;
}

void hookd_bulk_free(hookd_bulk *b)
{
    json_decref(b->items);
    free(b->lines);
    b->items = NULL;
    b->lines = NULL;
}

/* ---- reporting -------------------------------------------------------------------- */

/* The index of the row "<list_key>[N]…" names, or -1. */
static long row_index(const hookd_bulk *b, const char *field)
{
    size_t k = strlen(b->list_key);
    if (!field || strncmp(field, b->list_key, k) != 0 || field[k] != '[')
        return -1;
    char *end;
    long i = strtol(field + k + 1, &end, 10);
    return end != field + k + 1 && *end == ']' && i >= 0 ? i : -1;
}

/* msg with "people[37]." dropped and "people[37]" read "the row": the
 * index is the batch's, which means nothing to the reader of the file.
 * New string. */
static char *row_message(const hookd_bulk *b, const char *msg, long idx)
{
    char tag[64];
    snprintf(tag, sizeof tag, "%s[%ld]", b->list_key, idx);
    size_t tlen = strlen(tag);
    hookd_buf out = {0};
    for (const char *p = msg; *p;) {
        if (idx >= 0 && strncmp(p, tag, tlen) == 0) {
            p += tlen;
            if (*p == '.')
                p++;
            else
                hookd_buf_puts(&out, "the row");
        } else {
            hookd_buf_append(&out, p, 1);
            p++;
        }
    }
    return hookd_buf_take(&out);
}

/* A bad row: "line N: message" on stderr, {"line","error"} with --json. */
static void report_row(hookd_bulk *b, long line, const json_t *error, const char *msg)
{
    b->failed++;
    hookd_progress_note(b->progress, "%s: line %ld: %s", b->cli->prog, line, msg);
    if (b->cli->json) {
        json_t *o = json_pack("{s:I,s:O}", "line", (json_int_t)line, "error", error);
        hookd_cli_print_json(o);
        json_decref(o);
    }
}

/* The server refused the row at idx of items (lines): reports it. */
static void report_refused(hookd_bulk *b, const hookd_client_answer *a, long idx, long line)
{
    const json_t *e = json_object_get(a->json, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    char *text = msg ? row_message(b, msg, idx) : NULL;
    const char *code = json_string_value(json_object_get(e, "code"));
    char full[1024];
    if (text)
        snprintf(full, sizeof full, "%s (HTTP %ld %s)", text, a->status, code ? code : "");
    else
        hookd_client_error_text(a, full, sizeof full);
    json_t *fallback = e ? NULL : json_pack("{s:s}", "message", full);
    report_row(b, line, e ? e : fallback, full);
    json_decref(fallback);
    free(text);
}

bool hookd_bulk_bad_row(hookd_bulk *b, long line, const char *message)
{
    /* The rows read before it go first, so rows are reported in the file's
     * order and a stop stops at the first bad row, wherever it was found. */
    if (!hookd_bulk_flush(b))
        return false;
    json_t *e = json_pack("{s:s,s:s}", "code", "unreadable", "message", message);
    report_row(b, line, e, message);
    json_decref(e);
    if (!b->keep_going)
        b->stopped_at = line;
    return b->keep_going;
}

/* ---- sending ----------------------------------------------------------------------- */

static void remove_row(json_t *items, long *lines, size_t i)
{
    size_t n = json_array_size(items);
    json_array_remove(items, i);
    memmove(lines + i, lines + i + 1, (n - i - 1) * sizeof *lines);
}

static send_result send_rows(hookd_bulk *b, json_t *items, long *lines);

/* A refusal that names no row of a batch of several (too many deliveries
 * for one call, say): each half goes on its own, down to the row to blame. */
static send_result send_halves(hookd_bulk *b, json_t *items, long *lines)
{
    size_t n = json_array_size(items), half = n / 2;
    send_result r = SENT;
    for (size_t part = 0; part < 2 && r == SENT; part++) {
        size_t from = part ? half : 0, to = part ? n : half;
        json_t *slice = json_array();
        long *sl = malloc((to - from) * sizeof *sl);
        if (!slice || !sl) {
            hookd_progress_note(b->progress, "%s: out of memory", b->cli->prog);
            b->fatal = true;
            r = FATAL;
        }
        for (size_t i = from; r == SENT && i < to; i++) {
            json_array_append(slice, json_array_get(items, i));
            sl[i - from] = lines[i];
        }
        if (r == SENT)
            r = send_rows(b, slice, sl);
        json_decref(slice);
        free(sl);
    }
    return r;
}

static void nap_s(int s)
{
    struct timespec ts = {s, 0};
    nanosleep(&ts, NULL);
}

/* One call with items; 0 with *a, or FATAL (printed). */
static int post(hookd_bulk *b, json_t *items, hookd_client_answer *a)
{
    json_t *body = b->extra ? json_deep_copy(b->extra) : json_object();
    if (!body || json_object_set(body, b->list_key, items) != 0) {
        json_decref(body);
        hookd_progress_note(b->progress, "%s: out of memory", b->cli->prog);
        return FATAL;
    }
    char err[512];
    int rc = hookd_client_call(&b->cli->client, "POST", b->path, body, a, err, sizeof err);
    json_decref(body);
    if (rc != 0) {
        hookd_progress_note(b->progress, "%s: cannot reach the server: %s", b->cli->prog, err);
        return FATAL;
    }
    return 0;
}

/* Sends items (lines: the line of each) until the server takes what is
 * left of them; items and lines lose the rows blamed on the way. */
static send_result send_rows(hookd_bulk *b, json_t *items, long *lines)
{
    bool stop_after = false;
    for (int busy = 0;;) {
        size_t n = json_array_size(items);
        if (n == 0)
            return stop_after ? STOP : SENT;
        hookd_client_answer a;
        if (post(b, items, &a) != 0) {
            b->fatal = true;
            return FATAL;
        }
        if (a.status >= 200 && a.status < 300) {
            const json_t *answers = json_object_get(a.json, b->list_key);
            for (size_t i = 0; i < n && b->on_answer; i++)
                b->on_answer(b->ctx, lines[i], json_array_get(answers, i));
            b->sent += n;
            hookd_client_answer_clear(&a);
            return stop_after ? STOP : SENT;
        }
        if ((a.status == 429 || a.status == 503) && busy < BUSY_TRIES) {
            hookd_client_answer_clear(&a);
            nap_s(1 << busy++);
            continue;
        }
        if (a.status != 400 && a.status != 413) {
            char msg[768];
            hookd_client_error_text(&a, msg, sizeof msg);
            hookd_progress_note(b->progress, "%s: %s", b->cli->prog, msg);
            hookd_client_answer_clear(&a);
            b->fatal = true;
            return FATAL;
        }
        const json_t *e = json_object_get(a.json, "error");
        long idx = row_index(b, json_string_value(json_object_get(e, "field")));
        if (idx < 0 && n > 1) {
            hookd_client_answer_clear(&a);
            send_result r = send_halves(b, items, lines);
            return r == SENT && stop_after ? STOP : r;
        }
        if (idx < 0 || (size_t)idx >= n)
            idx = 0; /* a batch of one: its row */
        report_refused(b, &a, idx, lines[idx]);
        hookd_client_answer_clear(&a);
        if (b->keep_going) {
            remove_row(items, lines, (size_t)idx);
        } else {
            /* The rows before the bad one go, none after it. */
            b->stopped_at = lines[idx];
            stop_after = true;
            while (json_array_size(items) > (size_t)idx)
                json_array_remove(items, json_array_size(items) - 1);
        }
    }
}

bool hookd_bulk_flush(hookd_bulk *b)
{
    send_result r = send_rows(b, b->items, b->lines);
    json_array_clear(b->items);
    b->n = 0;
    b->body_bytes = 0;
    hookd_progress_update(b->progress, b->sent + b->failed, b->bytes_read);
    return r == SENT;
}

bool hookd_bulk_add(hookd_bulk *b, json_t *item, long line)
{
    size_t size = json_dumpb(item, NULL, 0, JSON_COMPACT) + 1;
    if (b->n > 0 && b->body_bytes + size > HOOKD_BULK_BODY_MAX && !hookd_bulk_flush(b)) {
        json_decref(item);
        return false;
    }
    if (json_array_append_new(b->items, item) != 0) {
        hookd_progress_note(b->progress, "%s: out of memory", b->cli->prog);
        b->fatal = true;
        return false;
    }
    b->lines[b->n++] = line;
    b->body_bytes += size;
    if (b->n == HOOKD_BULK_BATCH)
        return hookd_bulk_flush(b);
    return true;
}

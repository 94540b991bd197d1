/*
 * csv.c — the CSV reader (csv.h).
 */
#include "cli/csv.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

static int put_char(hookd_csv *c, char ch)
{
    if (c->text_len + 1 >= c->text_cap) {
        size_t cap = c->text_cap ? c->text_cap * 2 : 256;
        char *t = realloc(c->text, cap);
        if (!t)
            return -1;
        c->text = t;
        c->text_cap = cap;
    }
    c->text[c->text_len++] = ch;
    return 0;
}

/* Ends the current cell and starts the next at the text's end. */
static int next_cell(hookd_csv *c)
{
    if (put_char(c, '\0') != 0 || hookd_array_grow(&c->starts, &c->cap, c->n, sizeof *c->starts))
        return -1;
    c->starts[c->n++] = c->text_len;
    return 0;
}

/* Reads a line into linebuf; its length, or -1 at the end. */
static ssize_t read_line(hookd_csv *c)
{
    ssize_t len = getline(&c->linebuf, &c->linecap, c->f);
    if (len < 0)
        return -1;
    c->line++;
    c->bytes += len;
    return len;
}

/* The cells of starts as pointers. */
static int finish(hookd_csv *c)
{
    if (put_char(c, '\0') != 0)
        return -1;
    char **cells = realloc(c->cells, (c->cap ? c->cap : 1) * sizeof *cells);
    if (!cells)
        return -1;
    c->cells = cells;
    for (size_t i = 0; i < c->n; i++)
        cells[i] = c->text + c->starts[i];
    return 1;
}

int hookd_csv_read(hookd_csv *c, long *first, char *err, size_t errlen)
{
    c->text_len = 0;
    c->n = 0;
    ssize_t len = read_line(c);
    if (len < 0)
        return 0;
    *first = c->line;
    if (hookd_array_grow(&c->starts, &c->cap, 0, sizeof *c->starts))
        goto oom;
    c->starts[c->n++] = 0;
    bool quoted = false;
    for (;;) {
        for (ssize_t i = 0; i < len; i++) {
            char ch = c->linebuf[i];
            if (quoted) {
                if (ch == '"' && i + 1 < len && c->linebuf[i + 1] == '"')
                    i++; /* "" is one quote */
                else if (ch == '"') {
                    quoted = false;
                    continue;
                }
                if (put_char(c, ch) != 0)
                    goto oom;
            } else if (ch == '"') {
                quoted = true;
            } else if (ch == ',') {
                if (next_cell(c) != 0)
                    goto oom;
            } else if (ch == '\n' || (ch == '\r' && i + 1 < len && c->linebuf[i + 1] == '\n')) {
                return finish(c) < 0 ? -1 : 1;
            } else if (put_char(c, ch) != 0) {
                goto oom;
            }
        }
        if (!quoted)
            return finish(c) < 0 ? -1 : 1; /* the last line, without a line break */
        if ((len = read_line(c)) < 0) {
            snprintf(err, errlen, "line %ld: a quoted cell is never closed", *first);
            return -1;
        }
    }
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

void hookd_csv_free(hookd_csv *c)
{
    free(c->linebuf);
    free(c->text);
    free(c->starts);
    free(c->cells);
}

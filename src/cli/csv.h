/*
 * csv.h — reads CSV (RFC 4180: comma separated, double quotes around a
 * cell that holds commas, quotes or line breaks, "" for a quote, LF or CRLF
 * line ends) one record at a time, telling the line each record starts on.
 *
 * The reader owns the record's cells; they stay valid until the next read
 * or hookd_csv_free.
 */
#ifndef HOOKD_CLI_CSV_H
#define HOOKD_CLI_CSV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct hookd_csv {
    FILE *f;       /* borrowed */
    long line;     /* lines consumed so far */
    int64_t bytes; /* bytes consumed so far */
    char *linebuf; /* getline's */
    size_t linecap;
    char *text; /* the record's cells, each NUL-terminated */
    size_t text_len, text_cap;
    size_t *starts; /* offset of each cell in text */
    char **cells;   /* the cells, made from starts after a read */
    size_t n, cap;
} hookd_csv;

/* Reads the next record: 1 with rec's cells in c->cells[0..n) and *first
 * its first line; 0 at the end; -1 out of memory or for a quote never
 * closed (the reason in err). */
int hookd_csv_read(hookd_csv *c, long *first, char *err, size_t errlen)
    __attribute__((warn_unused_result));

void hookd_csv_free(hookd_csv *c);

#endif

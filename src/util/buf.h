/*
 * buf.h — a growable byte buffer for text built in pieces (query strings,
 * JSON). Failure is sticky: once an allocation fails every later append is a
 * no-op and the caller checks `failed` once at the end, which keeps encoders
 * free of error plumbing.
 *
 * The buffer owns data; hookd_buf_take hands it to the caller, hookd_buf_free
 * releases it. data is always NUL-terminated once anything was appended.
 */
#ifndef HOOKD_UTIL_BUF_H
#define HOOKD_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct hookd_buf {
    char *data;
    size_t len, cap;
    bool failed;
} hookd_buf;

/* Makes room for n more bytes, so a writer that knows its size grows the
 * buffer once. */
void hookd_buf_reserve(hookd_buf *b, size_t n);

/* Makes room in a growable array *items of *cap elements of elem_size
 * bytes for one more after the n it holds, doubling (from 16). Returns 0,
 * or -1 if memory ran out (the array is unchanged). */
int hookd_array_grow(void *items, size_t *cap, size_t n, size_t elem_size)
    __attribute__((warn_unused_result));

/* Appends n bytes of s. */
void hookd_buf_append(hookd_buf *b, const char *s, size_t n);

/* Appends the C string s. */
void hookd_buf_puts(hookd_buf *b, const char *s);

/* The text (new string, caller frees; "" if nothing was appended), or NULL
 * if an allocation failed. The buffer is empty afterwards. */
char *hookd_buf_take(hookd_buf *b);

void hookd_buf_free(hookd_buf *b);

#endif

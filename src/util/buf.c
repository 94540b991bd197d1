#include "util/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int hookd_array_grow(void *items, size_t *cap, size_t n, size_t elem_size)
{
    if (n < *cap)
        return 0;
    size_t want = *cap ? *cap * 2 : 16;
    if (want > SIZE_MAX / elem_size)
        return -1;
    void **p = items;
    void *grown = realloc(*p, want * elem_size);
    if (!grown)
        return -1;
    *p = grown;
    *cap = want;
    return 0;
}

void hookd_buf_reserve(hookd_buf *b, size_t n)
{
    if (b->failed)
        return;
    /* Room for n bytes and the NUL that keeps data a C string. */
    if (b->cap - b->len <= n) {
        if (n > SIZE_MAX / 4 || b->len > SIZE_MAX / 4) {
            b->failed = true;
            return;
        }
        /* Doubling keeps many small appends cheap; a reservation larger
         * than that is taken as it is. */
        size_t cap = b->cap ? b->cap * 2 : 64;
        if (cap < b->len + n + 1)
            cap = b->len + n + 1;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->failed = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
}

void hookd_buf_append(hookd_buf *b, const char *s, size_t n)
{
    hookd_buf_reserve(b, n);
    if (b->failed)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void hookd_buf_puts(hookd_buf *b, const char *s)
{
    hookd_buf_append(b, s, strlen(s));
}

char *hookd_buf_take(hookd_buf *b)
{
    if (!b->failed && !b->data)
        hookd_buf_append(b, "", 0);
    char *out = b->failed ? NULL : b->data;
    if (!out)
        free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = false;
    return out;
}

void hookd_buf_free(hookd_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

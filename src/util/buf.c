#include "util/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void hookd_buf_append(hookd_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    /* Room for n bytes and the NUL that keeps data a C string. */
    if (b->cap - b->len <= n) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap - b->len <= n) {
            if (cap > SIZE_MAX / 2) {
                b->failed = true;
                return;
            }
            cap *= 2;
        }
        char *d = realloc(b->data, cap);
        if (!d) {
            b->failed = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
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

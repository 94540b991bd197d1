/*
 * lz.c — see lz.h.
 */
#include "util/lz.h"

#include <lz4.h>
#include <stdint.h>
#include <stdlib.h>

/* Values up to this size are packed; bodies are capped far below it. */
#define LZ_MAX ((size_t)64 << 20)

int hookd_lz_pack(const void *src, size_t n, unsigned char **out, size_t *out_len)
{
    if (n < 64 || n > LZ_MAX)
        return 0;
    int bound = LZ4_compressBound((int)n);
    unsigned char *buf = malloc(4 + (size_t)bound);
    if (!buf)
        return -1;
    int z = LZ4_compress_default(src, (char *)buf + 4, (int)n, bound);
    /* Packing pays only when it saves a tenth: below that, the time to
     * unpack on every read is not worth the bytes. */
    if (z <= 0 || (size_t)z + 4 > n - n / 10) {
        free(buf);
        return 0;
    }
    for (int i = 0; i < 4; i++)
        buf[i] = (unsigned char)(n >> (8 * i));
    unsigned char *fit = realloc(buf, 4 + (size_t)z);
    *out = fit ? fit : buf;
    *out_len = 4 + (size_t)z;
    return 1;
}

int hookd_lz_unpack(const void *src, size_t n, char **out, size_t *out_len)
{
    const unsigned char *p = src;
    if (n < 4)
        return -1;
    size_t len = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
    if (len > LZ_MAX)
        return -1;
    char *buf = malloc(len + 1);
    if (!buf)
        return -1;
    int got = LZ4_decompress_safe((const char *)p + 4, buf, (int)(n - 4), (int)len);
    if (got < 0 || (size_t)got != len) {
        free(buf);
        return -1;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return 0;
}

/*
 * lz.c — see lz.h.
 */
#include "util/lz.h"

#include <lz4.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

/* Values up to this size are packed; bodies are capped far below it. */
#define LZ_MAX ((size_t)64 << 20)

/* Each thread keeps one LZ4 stream state: LZ4_compress_default clears a
 * 16 KiB table on every call, more than half of what packing a 1 KB body
 * cost; a kept stream is restarted with LZ4_resetStream_fast instead. */
static pthread_key_t stream_key;
static pthread_once_t stream_once = PTHREAD_ONCE_INIT;

static void stream_free(void *p)
{
    LZ4_freeStream(p);
}

static void stream_init(void)
{
    pthread_key_create(&stream_key, stream_free);
}

static LZ4_stream_t *thread_stream(void)
{
    pthread_once(&stream_once, stream_init);
    LZ4_stream_t *st = pthread_getspecific(stream_key);
    if (!st && (st = LZ4_createStream()) && pthread_setspecific(stream_key, st) != 0) {
        LZ4_freeStream(st);
        st = NULL;
    }
    return st;
}

int hookd_lz_pack(const void *src, size_t n, unsigned char **out, size_t *out_len)
{
    if (n < 64 || n > LZ_MAX)
        return 0;
    LZ4_stream_t *st = thread_stream();
    if (!st)
        return -1;
    int bound = LZ4_compressBound((int)n);
    unsigned char *buf = malloc(4 + (size_t)bound);
    if (!buf)
        return -1;
    /* A new stream for every value: each block stands alone. */
    LZ4_resetStream_fast(st);
    int z = LZ4_compress_fast_continue(st, src, (char *)buf + 4, (int)n, bound, 1);
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

#include "util/json.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

/* Set when one of jansson's allocations failed on this thread (see json.h). */
static _Thread_local bool json_alloc_failed;

static void *json_alloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        json_alloc_failed = true;
    return p;
}

void hookd_json_setup(void)
{
    json_set_alloc_funcs(json_alloc, free);
}

json_t *hookd_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err)
{
    json_error_t local;
    if (!err)
        err = &local;
    json_alloc_failed = false;
    json_t *v = json_loadb(buf, len, flags, err);
    if (!json_alloc_failed)
        return v;
    json_decref(v);
    /* Where jansson keeps the code json_error_code reads. */
    snprintf(err->text, JSON_ERROR_TEXT_LENGTH - 1, "out of memory");
    err->text[JSON_ERROR_TEXT_LENGTH - 1] = (char)json_error_out_of_memory;
    return NULL;
}

int hookd_json_only_keys(const json_t *obj, const char *const *allowed, const char *prefix,
                         hookd_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, k) == 0;
        if (!ok) {
            char field[HOOKD_ERR_FIELD_MAX];
            snprintf(field, sizeof field, "%s%s%s", prefix, *prefix ? "." : "", k);
            return hookd_invalid(err, field, "unknown key '%s'", k);
        }
    }
    return 0;
}

/* A JSON string, escaped exactly as jansson does without flags: quote,
 * backslash and control characters only; \b \f \n \r \t by name, the rest as
 * \u00XX (upper-case hex). */
static void put_string(hookd_buf *b, const char *s, size_t n)
{
    static const char HEX[] = "0123456789ABCDEF";
    /* Bytes that need an escape: a table lookup per byte keeps the scan of
     * long plain runs (most of a payload) tight. */
    static const bool ESCAPE[256] = {
        [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1,
        [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1,
        [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1,
        [0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1,
        [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1, ['"'] = 1,  ['\\'] = 1,
    };
    hookd_buf_reserve(b, n + 2);
    hookd_buf_append(b, "\"", 1);
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (i < n && !ESCAPE[(unsigned char)s[i]])
            i++;
        hookd_buf_append(b, s + run, i - run);
        if (i == n)
            break;
        unsigned char c = (unsigned char)s[i++];
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t elen = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = HEX[c >> 4];
            esc[5] = HEX[c & 0xf];
            elen = 6;
        }
        hookd_buf_append(b, esc, elen);
    }
    hookd_buf_append(b, "\"", 1);
}

static void put_value(hookd_buf *b, const json_t *v)
{
    char num[32];
    int n;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        size_t klen;
        json_t *child;
        int first = 1;
        hookd_buf_append(b, "{", 1);
        json_object_keylen_foreach((json_t *)v, k, klen, child)
        {
            if (!first)
                hookd_buf_append(b, ",", 1);
            first = 0;
            put_string(b, k, klen);
            hookd_buf_append(b, ":", 1);
            put_value(b, child);
        }
        hookd_buf_append(b, "}", 1);
        break;
    }
    case JSON_ARRAY:
        hookd_buf_append(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                hookd_buf_append(b, ",", 1);
            put_value(b, json_array_get(v, i));
        }
        hookd_buf_append(b, "]", 1);
        break;
    case JSON_STRING:
        put_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        hookd_buf_append(b, num, (size_t)n);
        break;
    case JSON_REAL: {
        /* Rare here (no field type is real); jansson's own formatting keeps
         * the bytes identical. */
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        if (!text) {
            b->failed = true;
            return;
        }
        hookd_buf_append(b, text, strlen(text));
        free(text);
        break;
    }
    case JSON_TRUE:
        hookd_buf_append(b, "true", 4);
        break;
    case JSON_FALSE:
        hookd_buf_append(b, "false", 5);
        break;
    case JSON_NULL:
        hookd_buf_append(b, "null", 4);
        break;
    }
}

/* Each thread writes into a scratch buffer that keeps its size from one
 * document to the next, then hands out an exact copy: growing a fresh buffer
 * by doubling cost six reallocs for a 1 KB payload, a tenth of the writer's
 * time in profiles. A scratch grown past SCRATCH_KEEP by a rare big document
 * is let go again. */
#define SCRATCH_KEEP (64 * 1024)

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

/* A thread's scratch goes when the thread does. */
static void scratch_free(void *p)
{
    hookd_buf_free(p);
    free(p);
}

static void scratch_init(void)
{
    pthread_key_create(&scratch_key, scratch_free);
}

void hookd_json_append(hookd_buf *b, const json_t *v)
{
    put_value(b, v);
}

void hookd_json_append_string(hookd_buf *b, const char *s, size_t n)
{
    put_string(b, s, n);
}

char *hookd_json_dumps(const json_t *v)
{
    pthread_once(&scratch_once, scratch_init);
    hookd_buf *scratch = pthread_getspecific(scratch_key);
    if (!scratch && (!(scratch = calloc(1, sizeof *scratch)) ||
                     pthread_setspecific(scratch_key, scratch) != 0)) {
        free(scratch);
        return NULL;
    }
    scratch->len = 0;
    scratch->failed = false;
    put_value(scratch, v);
    char *out = scratch->failed ? NULL : malloc(scratch->len + 1);
    if (out) {
        memcpy(out, scratch->data ? scratch->data : "", scratch->len);
        out[scratch->len] = '\0';
    }
    if (scratch->cap > SCRATCH_KEEP || scratch->failed)
        hookd_buf_free(scratch);
    return out;
}

/*
 * bench_util.h — small helpers shared by the benchmark programs in bench/
 * (core_client.c, floor_sender.c, ingest_bench.c). Header-only, every
 * function static, so each program stays one file to compile and read.
 *
 * Nothing here allocates except bench_buf_write, whose buffer the caller
 * owns and frees with free(b->data).
 */
#ifndef HOOKD_BENCH_UTIL_H
#define HOOKD_BENCH_UTIL_H

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Bytes of an answer kept (for error messages and the JSON the clients read);
 * a runaway answer cannot eat memory. */
#define BENCH_RESP_MAX (4 * 1024 * 1024)

/* CLOCK_MONOTONIC in nanoseconds: one clock for every process on the
 * machine, so timestamps taken by different programs compare directly. */
static inline int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline double bench_now_s(void)
{
    return (double)bench_now_ns() / 1e9;
}

/* Parses a whole decimal string into [lo, hi]; strtol because atoi cannot
 * tell "abc" from "0". Returns 0 or -1. */
static inline int bench_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* These programs are load generators: they must never point at anything but
 * this machine, so every URL they are given is checked first. */
static inline bool bench_is_loopback_url(const char *url)
{
    static const char *const OK[] = {"http://127.0.0.1:", "http://127.0.0.1/",
                                     "http://localhost:", "http://[::1]:"};
    for (size_t i = 0; i < sizeof OK / sizeof OK[0]; i++) {
        if (strncmp(url, OK[i], strlen(OK[i])) == 0)
            return true;
    }
    return false;
}

/* A growable byte buffer for answers, capped at BENCH_RESP_MAX and always
 * NUL-terminated once something was written. */
typedef struct bench_buf {
    char *data;
    size_t len;
    size_t cap;
} bench_buf;

/* A libcurl write callback (CURLOPT_WRITEFUNCTION) appending to a bench_buf
 * given as CURLOPT_WRITEDATA. Bytes past the cap are dropped, not an error. */
static inline size_t bench_buf_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    bench_buf *b = userdata;
    size_t n = size * nmemb;
    size_t keep = b->len + n > BENCH_RESP_MAX ? BENCH_RESP_MAX - b->len : n;
    if (b->len + keep + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + keep + 1)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown)
            return 0; /* makes curl fail the transfer: reported as a failure */
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, keep);
    b->len += keep;
    b->data[b->len] = '\0';
    return n;
}

/* The answer as a string for messages: "" when nothing came. */
static inline const char *bench_buf_str(const bench_buf *b)
{
    return b->data ? b->data : "";
}

/* hookd's ids are UUIDs; anything else a server answers is refused before
 * it is printed for a shell script to use. */
static inline bool bench_is_id(const char *s)
{
    size_t n = 0;
    if (!s)
        return false;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
              c == '-'))
            return false;
    }
    return n > 0 && n < 64;
}

/* An easy handle for hookd's API: bearer key, JSON, the answer into *resp,
 * the whole request limited to timeout_s. The caller frees *headers after
 * curl_easy_cleanup. One handle is kept per connection, so curl keeps it
 * alive between calls. NULL if curl could not make one. */
static inline CURL *bench_api_handle(const char *key, long timeout_s, struct curl_slist **headers,
                                     bench_buf *resp)
{
    char auth[512];
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    *headers = curl_slist_append(NULL, auth);
    *headers = curl_slist_append(*headers, "Content-Type: application/json");
    /* Without this, curl may wait for a "100 Continue" hookd never sends
     * before a large body, which would measure a timer, not hookd. */
    *headers = curl_slist_append(*headers, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, bench_buf_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, ""); /* never through a proxy from the environment */
    return c;
}

#endif

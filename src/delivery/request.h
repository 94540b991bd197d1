/*
 * request.h — one HTTP attempt of a delivery, as SPEC §5 says it is sent:
 * method, URL, stored body, and headers in order (Content-Type, User-Agent,
 * webhook-id, webhook-timestamp, webhook-signature, Authorization, custom
 * headers); http/https only, redirects never followed, the request timeout,
 * the address guard on the address actually connected to, and at most 4 KiB
 * of the answer kept.
 *
 * Shared by the delivery engine (libcurl multi) and test sends (a blocking
 * easy perform). A hookd_request is owned by its caller: set up, hand its
 * easy handle to libcurl, then hookd_request_finish and hookd_request_cleanup.
 * It must stay at one address while libcurl runs it (callbacks point to it).
 */
#ifndef HOOKD_DELIVERY_REQUEST_H
#define HOOKD_DELIVERY_REQUEST_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "model/webhook.h"
#include "util/version.h"

#define HOOKD_RESPONSE_KEEP 4096          /* bytes of an answer kept for the log */
#define HOOKD_RESPONSE_READ_MAX (1 << 20) /* bytes read before hookd stops reading */


typedef struct hookd_send_opts {
    bool allow_private;
    int64_t timeout_ms;
} hookd_send_opts;

typedef struct hookd_request {
    CURL *easy;                 /* borrowed */
    struct curl_slist *headers;
    char *shown_headers;        /* JSON object text for the log, Authorization redacted */
    char response[HOOKD_RESPONSE_KEEP + 1];
    size_t response_len;
    size_t response_total;
    bool refused;               /* the address guard said no */
    char why[256];
    char errbuf[CURL_ERROR_SIZE];
    int64_t started_ms;
    bool allow_private;
} hookd_request;

/* What an attempt came to. Strings point into the request (valid until
 * cleanup). */
typedef struct hookd_attempt_result {
    int status_code;     /* 0 when no answer came */
    const char *error;   /* NULL when an answer came and was read */
    const char *body;    /* first 4 KiB of the answer, valid UTF-8 */
    int64_t duration_ms;
    int64_t started_ms;
    bool refused;
} hookd_attempt_result;

/* Prepares easy (reset first) to send one attempt of the delivery
 * delivery_id for wh. body "" means no body. Returns 0, or -1 if memory ran
 * out (then cleanup is still safe). */
int hookd_request_setup(hookd_request *r, CURL *easy, const hookd_webhook *wh,
                        const char *delivery_id, const char *method, const char *url,
                        const char *body, const hookd_send_opts *opts)
    __attribute__((warn_unused_result));

/* Reads the result after libcurl finished with code. */
void hookd_request_finish(hookd_request *r, CURLcode code, hookd_attempt_result *out);

/* Frees what setup allocated (not the easy handle). Accepts a zeroed one. */
void hookd_request_cleanup(hookd_request *r);

/* The Standard Webhooks signature "v1,<base64>" of id.timestamp.body keyed
 * with the secret's decoded bytes (after "whsec_"). out must hold 64 bytes.
 * Returns 0, or -1 if the secret is not valid. */
int hookd_sign(const char *secret, const char *id, int64_t timestamp, const char *body,
               char out[64]) __attribute__((warn_unused_result));

#endif

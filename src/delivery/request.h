/*
 * request.h — one HTTP attempt of a delivery, as SPEC §5 says it is sent:
 * method, URL, stored body, and headers in order (Content-Type, User-Agent,
 * webhook-id, webhook-timestamp, webhook-signature, Authorization, custom
 * headers); http/https only, redirects never followed, the request timeout,
 * the address guard on the address actually connected to, and at most 4 KiB
 * of the answer kept.
 *
 * What a webhook version sends with every attempt is made once, in a
 * hookd_request_tpl: the header lines after the signature and the signing
 * keys made ready (the secret's, and the previous secret's after a
 * rotation). An attempt then only formats its three Standard Webhooks
 * headers into its own buffers, linked in front of the template's lines, and
 * signs the stored body: nothing is allocated per attempt. Whether the
 * previous secret still signs is judged per attempt, from the stored time of
 * the rotation, so every process agrees and a template outlives no overlap.
 *
 * Shared by the delivery engine (libcurl multi) and test sends (a blocking
 * easy perform). Both structures are owned by their caller. A template must
 * outlive every request made from it and is used by one thread at a time
 * (its signing key is); a request must stay at one address while libcurl
 * runs it (callbacks point to it).
 */
#ifndef HOOKD_DELIVERY_REQUEST_H
#define HOOKD_DELIVERY_REQUEST_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "model/webhook.h"
#include "util/crypto.h"
#include "util/version.h"

#define HOOKD_RESPONSE_KEEP 4096          /* bytes of an answer kept for the log */
#define HOOKD_RESPONSE_READ_MAX (1 << 20) /* bytes read before hookd stops reading */
/* webhook-signature's value: "v1," + base64 of 32 bytes, twice during a
 * rotation overlap (new then previous, space separated), + NUL. */
#define HOOKD_SIGNATURE_ONE 47 /* one "v1,…" without the NUL */
#define HOOKD_SIGNATURE_MAX (2 * HOOKD_SIGNATURE_ONE + 2)

typedef struct hookd_send_opts {
    bool allow_private;
    int64_t timeout_ms;
    int64_t rotation_overlap_ms; /* the previous secret signs this long after a rotation */
} hookd_send_opts;

/* What every attempt of one webhook version carries. */
typedef struct hookd_request_tpl {
    struct curl_slist *tail; /* Authorization, custom headers, then libcurl's defaults off */
    hookd_hmac_key key;      /* the secret's decoded bytes */
    uint64_t version;        /* the webhook version it was made from */
    char *url;               /* the webhook's URL */
    hookd_hmac_key prev;     /* the previous secret's bytes, when rotated_at is set */
    int64_t rotated_at;      /* ms since the epoch; 0 when never rotated */
} hookd_request_tpl;

/* Makes the template of wh. Returns 0, or -1 if memory ran out or the
 * secret is not valid (then clearing is still safe). */
int hookd_request_tpl_init(hookd_request_tpl *t, const hookd_webhook *wh)
    __attribute__((warn_unused_result));
void hookd_request_tpl_clear(hookd_request_tpl *t);

typedef struct hookd_request {
    CURL *easy;                       /* borrowed */
    struct curl_slist head[5];        /* Content-Type … webhook-signature, then the tail */
    char id_line[64], ts_line[48], sig_line[24 + HOOKD_SIGNATURE_MAX];
    char signature[HOOKD_SIGNATURE_MAX]; /* as sent, for the log */
    char *url;                        /* owned when a query was added, else NULL */
    char response[HOOKD_RESPONSE_KEEP + 1];
    size_t response_len;
    size_t response_total;
    bool refused;                     /* the address guard said no */
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

/* Prepares easy (reset first) to send one attempt of delivery_id with
 * template t: to t's URL followed by query (GET/DELETE's payload, or NULL),
 * with body (body_len bytes; "" for none), signed with the secret and, until
 * opts->rotation_overlap_ms after t's rotation, the previous secret too.
 * Returns 0, or -1 if memory ran out or signing failed (then cleanup is
 * still safe). */
int hookd_request_setup(hookd_request *r, CURL *easy, hookd_request_tpl *t,
                        const char *delivery_id, hookd_method method, const char *query,
                        const char *body, size_t body_len, const hookd_send_opts *opts)
    __attribute__((warn_unused_result));

/* Reads the result after libcurl finished with code. */
void hookd_request_finish(hookd_request *r, CURLcode code, hookd_attempt_result *out);

/* Frees what setup allocated (not the easy handle). Accepts a zeroed one. */
void hookd_request_cleanup(hookd_request *r);

/* The Standard Webhooks signature "v1,<base64>" of id.timestamp.body keyed
 * with the secret's decoded bytes (after "whsec_"). out must hold
 * HOOKD_SIGNATURE_ONE + 1 bytes. Returns 0, or -1 if the secret is not valid. */
int hookd_sign(const char *secret, const char *id, int64_t timestamp, const char *body,
               char out[HOOKD_SIGNATURE_ONE + 1]) __attribute__((warn_unused_result));

#endif

/*
 * request.h — one HTTP attempt of a delivery, as docs/api.md#delivery says it is sent:
 * method, URL, stored body, and headers in order (Content-Type, User-Agent,
 * webhook-id, webhook-timestamp, webhook-signature, Authorization, custom
 * headers); http/https only, redirects never followed, the request timeout,
 * the address guard on the address actually connected to, and at most 4 KiB
 * of the answer kept. No proxy is ever taken from the environment
 * (http_proxy, https_proxy, all_proxy, no_proxy): only --proxy.
 *
 * With a proxy, libcurl connects only to the proxy, so the guard cannot see
 * the webhook's address on a socket. hookd then resolves the webhook's host
 * itself (hookd_request_resolve_*), judges those addresses, and pins the
 * connection to the first allowed one: the proxy is always asked for a
 * CONNECT tunnel to that address (CURLOPT_HTTPPROXYTUNNEL and
 * CURLOPT_CONNECT_TO), while Host and the TLS name stay the webhook's host.
 * A later DNS answer (rebinding) cannot change where the tunnel goes.
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
 * Shared by the delivery engine and the test sends' thread (delivery/tester.h),
 * each on a libcurl multi handle of its own. Both structures are owned by
 * their caller. A template must
 * outlive every request made from it and is used by one thread at a time
 * (its signing key is); a request must stay at one address while libcurl
 * runs it (callbacks point to it).
 */
#ifndef HOOKD_DELIVERY_REQUEST_H
#define HOOKD_DELIVERY_REQUEST_H

#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "delivery/guard.h"
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
    const hookd_netlist *allow_networks; /* --allow-networks, or NULL (borrowed) */
    bool https_only;                     /* http URLs fail for good, "not allowed" */
    const char *proxy;                   /* http:// or https:// proxy, or NULL */
    const char *ca_file;                 /* CA bundle, or NULL: the system's */
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
    /* Judged per connection attempt: refused only when every socket libcurl
     * asked for was refused and none was opened. */
    const hookd_send_opts *opts;      /* borrowed; outlives the request */
    int n_refused, n_opened;
    /* Decided before libcurl runs (a scheme refused by --https-only, or
     * hookd's own resolution with a proxy): every socket is then refused,
     * so nothing — not even the proxy — is contacted. */
    bool blocked, blocked_final;
    struct hookd_resolve *resolve;    /* with a proxy: hookd's own DNS (owned) */
    struct curl_slist connect_to;     /* the pinned address, one line */
    char connect_to_line[INET6_ADDRSTRLEN + 16];
} hookd_request;

/* What an attempt came to. Strings point into the request (valid until
 * cleanup). */
typedef struct hookd_attempt_result {
    int status_code;     /* 0 when no answer came */
    const char *error;   /* NULL when a status line came, even if the rest
                          * of the answer was cut short (the status decides) */
    const char *body;    /* first 4 KiB of the answer, valid UTF-8 */
    int64_t duration_ms;
    int64_t started_ms;
    bool refused;
    int64_t retry_after_ms; /* the wait the answer's Retry-After asked for,
                             * from when it was read; 0 when none or unreadable */
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

/* True when r goes through a proxy and hookd must resolve its host before
 * libcurl may run it (call after setup). */
bool hookd_request_needs_resolve(const hookd_request *r);

/* Starts resolving r's host without blocking (glibc getaddrinfo_a); done(ctx)
 * is called once, on another thread, when the answer is there. Then call
 * hookd_request_resolve_finish on the thread that runs r, before handing r's
 * handle to libcurl. Returns 0, or -1 if it could not start (then
 * resolve_finish may still be called: the attempt fails and is retried). */
int hookd_request_resolve_start(hookd_request *r, void (*done)(void *ctx), void *ctx)
    __attribute__((warn_unused_result));

/* Judges the resolved addresses and pins r to the first allowed one; when
 * none is allowed (or resolution failed) r is blocked and fails without any
 * connection, refused for good ("not allowed") or retried (DNS failure). */
void hookd_request_resolve_finish(hookd_request *r);

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

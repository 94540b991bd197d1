/*
 * api.h — hookd's HTTP API (docs/api.md) served by libmicrohttpd.
 *
 * hookd_api_start runs libmicrohttpd with an internal epoll thread pool that
 * moves bytes, a pool of handler threads that parse requests and run
 * their handlers (which may wait on the store), and the thread that sends
 * tests (delivery/tester.h), which no handler thread waits for.
 * The caller owns the store and must keep it open until hookd_api_stop
 * returns. hookd_api_stop waits for requests in flight to finish, test
 * sends included.
 *
 * Against abusive clients it caps connections (in all and per client
 * address), puts deadlines on slow clients (api/deadline.h), caps the
 * request head, the body and its JSON nesting, and optionally rate-limits
 * each client address (api/ratelimit.h).
 */
#ifndef HOOKD_API_API_H
#define HOOKD_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "delivery/request.h"
#include "store/store.h"

typedef struct hookd_api hookd_api;

typedef struct hookd_api_options {
    const char *host;       /* numeric IPv4/IPv6 address, or "localhost" */
    uint16_t port;          /* 0: any free port, see hookd_api_port */
    unsigned io_threads;    /* libmicrohttpd's threads (they only move bytes) */
    unsigned threads;       /* handler threads (they may wait on the store) */
    hookd_store *store;     /* borrowed */
    const char *admin_key;  /* --api-key, or NULL; copied */
    hookd_send_opts send;   /* for test sends */
    /* Abuse limits and TLS (docs/security.md). */
    unsigned connections_per_client; /* open connections per client address; 0: no cap */
    int64_t request_deadline_ms; /* a request's head and body, an answer's reading and
                                  * an idle wait each within this; the head alone within
                                  * min(10 s, this). > 0 */
    double rate_limit;           /* requests per second per client address; 0: off */
    const char *tls_cert;        /* PEM files: serve over TLS; both or neither */
    const char *tls_key;
    int max_deliveries_per_request; /* one ingest's deliveries at most; 0: no cap */
    unsigned max_test_sends;     /* test sends in flight at once (past it: 429); > 0 */
    bool metrics_public;         /* GET /metrics without a key */
    const char *access_log;      /* a file to append a line per request to, "-" for
                                  * standard output, or NULL */
} hookd_api_options;

/* Starts serving. Returns 0 and sets *out, or a negative code with a one-line
 * reason in err. */
int hookd_api_start(const hookd_api_options *opt, hookd_api **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Checks that the files of --tls-cert and --tls-key are a PEM certificate
 * and its unencrypted PEM key, as hookd_api_start will; for a check at start
 * before anything else is opened. Returns 0, or HOOKD_EINVAL with a
 * one-line reason naming the option in err. */
int hookd_api_check_tls(const char *cert_path, const char *key_path, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The port actually bound (useful with port 0). */
uint16_t hookd_api_port(const hookd_api *api);

/* From now on a new connection is closed as soon as it is accepted;
 * requests in flight go on. */
void hookd_api_quiesce(hookd_api *api);

/* Waits for requests in flight, then frees everything. Accepts NULL. */
void hookd_api_stop(hookd_api *api);

#endif

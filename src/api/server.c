/*
 * server.c — libmicrohttpd glue: reads each request, applies the checks every
 * call shares (API key, 1 MiB body cap, media type, JSON syntax, 404/405) and
 * hands a parsed request to its route's handler.
 *
 * Every check that needs only the headers runs on the first callback, before
 * any body byte is read, so a refused upload is answered at once (413 for a
 * declared Content-Length over the cap). A body that grows past the cap
 * without declaring its length is dropped as it arrives and answered 413.
 *
 * Threads: libmicrohttpd's own threads only move bytes. Once a request's
 * body is in, its connection is suspended and the request goes to a pool of
 * handler threads, which parse it, run its handler (which may wait for the
 * store's writer) and resume the connection; the answer is then queued on
 * libmicrohttpd's thread. A handler that waits never holds up the other
 * connections libmicrohttpd serves on the same thread: with handlers run in
 * place, four clients sharing one of its threads were parsed, stored and
 * answered one after the other.
 *
 * Nothing on a handler thread waits for the network. A test send runs on
 * the tester's thread (delivery/tester.h, at most --max-test-sends at once);
 * its handler defers its answer (handlers.h: hookd_api_defer) and returns,
 * the connection staying suspended. Two events must both have happened
 * before the second half is queued to the pool — the handler returned, and
 * the tester resumed it — whichever comes last queues it, under the pool's
 * lock. A stop lets every deferred request finish before the pool's threads
 * end, so no connection is left suspended when libmicrohttpd stops.
 *
 * Abuse limits (docs/security.md): connections are capped in all (below the
 * file-descriptor limit) and per client address; slow clients meet the
 * deadlines of api/deadline.h, fed from libmicrohttpd's connection, URI-log
 * and completion notices; a head over HEAD_MAX is answered 431, a body
 * nesting deeper than JSON_DEPTH_MAX 400; with a rate limit set, a client
 * address past it is answered 429 before anything else is looked at.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <microhttpd.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/accesslog.h"
#include "api/api.h"
#include "api/deadline.h"
#include "api/handlers.h"
#include "model/apikey.h"
#include "api/ratelimit.h"
#include "delivery/tester.h"
#include "util/json.h"
#include "util/json_depth.h"
#include "util/crypto.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/utf8.h"

#define BODY_MAX (1024 * 1024)
#define HEAVY_BODY (64 * 1024) /* a body past this is parsed a few at a time */
#define PATH_MAX_LEN 2048
/* Connections in all, at most: fewer when half the file-descriptor limit
 * is lower (the other half is for deliveries, the store and the log). */
#define CONNECTION_LIMIT 4096
/* The keys are read again from the store at most this often, when a
 * request comes: a key made or revoked elsewhere (another process on a shared
 * store, or `hookd keys … --db` beside a running server) counts within about
 * this long. One small read a second costs nothing beside the requests. */
#define KEYS_REREAD_MS 1000
/* A key's last use is written to the store at most this often: writing on
 * every request would add a write to each ingest call. */
#define KEY_TOUCH_MS 60000

/* One accepted key: a stored one (id set) or the one given by option (id
 * ""). used_ms is the latest request with it this process saw, written_ms
 * when that was last written to the store. */
typedef struct key_slot {
    unsigned char hash[HOOKD_KEY_HASH_LEN];
    hookd_key_scope scope;
    char id[HOOKD_ID_MAX];
    int64_t used_ms, written_ms;
} key_slot;
/* A request head (request line and header fields) past this is answered
 * 431. libmicrohttpd holds the head in a per-connection pool of
 * CONNECTION_MEMORY bytes; a head too big for the pool never reaches hookd,
 * and libmicrohttpd itself answers 431 (414 when the request line alone
 * does not fit) with a short HTML body and closes the connection. */
#define HEAD_MAX (16 * 1024)
#define CONNECTION_MEMORY (32 * 1024)
/* Arrays and objects nested deeper than this are refused before parsing
 * (jansson's own limit is 2048); hookd's bodies need fewer than ten. */
#define JSON_DEPTH_MAX 64
#define HEAD_DEADLINE_MS 10000 /* the head alone, unless the request deadline is shorter */
/* At a stop, how long answers the handlers have just made may take to be
 * written before libmicrohttpd closes every connection. */
#define STOP_FLUSH_MS 2000
#define TLS_FILE_MAX (1024 * 1024)
/* gnutls priorities: TLS 1.2 and 1.3 only. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* A deferred answer (handlers.h): its second half, that half's state, and
 * how many of the two events (the handler returned, the work resumed it)
 * are still to come (under the pool's lock). */
struct hookd_api_later {
    hookd_api *api;
    struct req_state *rs;
    hookd_api_second_half second;
    void *state;
    int waiting;
    bool queued; /* the second half is queued or running */
};

/* Per-request state, from the first callback to MHD's completion notice. */
typedef struct req_state {
    const hookd_route *route;
    hookd_req req;
    char *scratch; /* holds the path's captured segments */
    char *body;
    size_t len, cap;
    int too_large;
    int answered; /* a response is queued already; drop any further body */
    /* Handed to the pool: what its handler made, read once it is ready. */
    struct MHD_Connection *conn;
    struct req_state *next;
    bool ready;
    int rc;
    hookd_resp resp;
    hookd_error err;
    hookd_conn_clock *clock; /* the connection's deadlines, or NULL */
    hookd_api_later later;
    /* For /metrics and the access log: when the head came (monotonic ns),
     * and the status and body bytes of the answer queued (status 0: none). */
    int64_t start_ns;
    int sent_status;
    size_t sent_bytes;
} req_state;

/* The handler threads and the requests waiting for one. */
typedef struct pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    req_state *head, *tail;
    bool stopping;
    pthread_t *threads;
    unsigned n;
    /* Large bodies (a 1,000-activity ingest) are parsed and held a few at a
     * time: each is a JSON tree of several MiB until its commit, and more of
     * them at once than there are cores only adds memory, not speed. */
    pthread_cond_t heavy_free;
    unsigned heavy, heavy_max;
    /* Requests whose handler returned HOOKD_API_LATER and whose second half
     * is not queued yet: the pool does not end while there are any. */
    unsigned deferred;
    /* Requests handed to the pool whose answer is not written yet (no
     * completion notice): a stop lets them be written (STOP_FLUSH_MS). */
    atomic_uint unsent;
} pool;

struct hookd_api {
    struct MHD_Daemon *daemon;
    /* Set at quiesce: new connections are closed as they are accepted.
     * Not MHD_quiesce_daemon: with an epoll daemon running its own
     * thread it races that thread removing the listening socket from
     * epoll, and libmicrohttpd aborts the process when it loses (an open
     * libmicrohttpd defect; CI hit it about once in 900 stops). */
    atomic_bool quiesced;
    hookd_api_ctx ctx;
    /* The keys accepted: the stored ones and the one given by option,
     * read again at most once per KEYS_REREAD_MS (keys_lock guards them). */
    pthread_mutex_t keys_lock;
    key_slot *keys;
    size_t n_keys;
    int64_t keys_read_ms;
    /* Reads of the store run without the lock; each takes a ticket, and one
     * that finishes after a later one started is dropped, so a read begun
     * before a revoke cannot bring the revoked key back. */
    uint64_t keys_ticket, keys_installed;
    const char *admin_key;
    uint16_t port;
    pool pool;
    hookd_deadlines *deadlines;
    hookd_ratelimit *ratelimit; /* NULL: no rate limit */
    double rate;
    char *tls_cert_pem, *tls_key_pem; /* kept until the daemon stops; the key wiped */
    bool metrics_public;              /* --metrics-public: /metrics needs no key */
    hookd_access_log *access_log;     /* --access-log, or NULL */
};

/* ---- answers ----------------------------------------------------------- */

/* Sent with every answer, JSON included, so no answer of hookd can load
 * anything from another origin, be framed, or be sniffed into another type.
 * The page (web/) is written to need nothing more: no inline script or
 * style, no outside font, image or connection. */
static const char *const COMMON_HEADERS[][2] = {
    {"Content-Security-Policy",
     "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
};

/* True if an If-None-Match value names etag: "*", or a comma-separated list
 * compared weakly (a W/ prefix is ignored), as RFC 9110 §13.1.2 asks. */
static bool etag_matches(const char *inm, const char *etag)
{
    size_t elen = strlen(etag);
    const char *p = inm;
    while (*p) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",");
        size_t t = n;
        while (t && (p[t - 1] == ' ' || p[t - 1] == '\t'))
            t--;
        const char *tag = p;
        if (t >= 2 && strncmp(tag, "W/", 2) == 0) {
            tag += 2;
            t -= 2;
        }
        if ((t == 1 && *tag == '*') || (t == elen && memcmp(tag, etag, elen) == 0))
            return true;
        p += n;
    }
    return false;
}

/* The answer's body and its media type: the rendered JSON, the handler's
 * bytes, or nothing. Owned bytes pass to the MHD response, which frees them. */
static struct MHD_Response *make_body(hookd_resp *resp, const char **type, size_t *len)
{
    struct MHD_Response *r;
    *type = NULL;
    *len = 0;
    if (resp->json) {
        char *text = hookd_json_dumps(resp->json);
        if (!text)
            return NULL;
        *len = strlen(text);
        r = MHD_create_response_from_buffer(*len, text, MHD_RESPMEM_MUST_FREE);
        if (!r)
            free(text);
        *type = "application/json";
        return r;
    }
    if (!resp->type)
        return MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    /* PERSISTENT: MHD only reads the buffer, and compiled-in data outlives
     * every response; the cast drops a const MHD's signature lacks. */
    r = MHD_create_response_from_buffer(resp->len, (void *)resp->bytes,
                                        resp->owned ? MHD_RESPMEM_MUST_FREE
                                                    : MHD_RESPMEM_PERSISTENT);
    if (r)
        resp->owned = false;
    *type = resp->type;
    *len = resp->len;
    return r;
}

/* Drops what resp holds: the JSON reference and owned bytes. */
static void resp_release(hookd_resp *resp)
{
    json_decref(resp->json);
    resp->json = NULL;
    if (resp->owned)
        free((void *)resp->bytes);
    resp->owned = false;
    resp->type = NULL;
}

/* Queues resp, or a 304 without a body when the client holds its ETag
 * already, and releases what resp holds whatever happens. retry_after: the
 * seconds of a Retry-After header, 0 for none. What was queued is noted in
 * rs (for /metrics and the access log). */
static enum MHD_Result queue_resp(struct MHD_Connection *c, hookd_resp *resp,
                                  unsigned retry_after, req_state *rs)
{
    int status = resp->status;
    if (resp->etag) {
        const char *inm =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
        if (inm && etag_matches(inm, resp->etag)) {
            status = MHD_HTTP_NOT_MODIFIED;
            resp_release(resp);
        }
    }
    const char *type;
    size_t len;
    struct MHD_Response *r = make_body(resp, &type, &len);
    resp_release(resp);
    if (!r)
        return MHD_NO;
    rs->sent_status = status;
    rs->sent_bytes = len;
    if (type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                            resp->cache ? resp->cache : "no-store");
    if (resp->etag)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, resp->etag);
    if (retry_after) {
        char secs[16];
        snprintf(secs, sizeof secs, "%u", retry_after);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, secs);
    }
    for (size_t i = 0; i < sizeof COMMON_HEADERS / sizeof COMMON_HEADERS[0]; i++)
        MHD_add_response_header(r, COMMON_HEADERS[i][0], COMMON_HEADERS[i][1]);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

/* The error answer of docs/api.md, with a Retry-After when retry_after > 0. */
static enum MHD_Result send_error_retry(struct MHD_Connection *c, const hookd_error *in,
                                        unsigned retry_after, req_state *rs)
{
    /* Messages may quote request bytes or a character cut by a bounded
     * format: make them valid UTF-8 so the answer can always be built. */
    hookd_error err_copy = *in;
    const hookd_error *err = &err_copy;
    hookd_utf8_sanitize(err_copy.message);
    hookd_utf8_sanitize(err_copy.field);
    json_t *e = json_pack("{s:s,s:s}", "code", err->code ? err->code : "unavailable", "message",
                          err->message);
    if (!e)
        return MHD_NO;
    if (err->field[0])
        json_object_set_new(e, "field", json_string(err->field));
    hookd_resp resp = {.status = err->status ? err->status : 503,
                       .json = json_pack("{s:o}", "error", e)};
    return queue_resp(c, &resp, retry_after, rs);
}

/* ---- header checks ----------------------------------------------------- */

static int load_keys(hookd_api *api);

/* The slot of the key whose hash is hash, or -1. Compares against every key
 * in constant time, so timing tells nothing about how close a guess came. */
static long key_find(const hookd_api *api, const unsigned char hash[HOOKD_KEY_HASH_LEN])
{
    long found = -1;
    for (size_t i = 0; i < api->n_keys; i++) {
        long eq = CRYPTO_memcmp(hash, api->keys[i].hash, HOOKD_KEY_HASH_LEN) == 0;
        found = (found & (eq - 1)) | ((long)i & -eq);
    }
    return found;
}

/* Checks the request's key: 0 with its scope, or -1 if there is none or it
 * is not (or no longer) accepted. Records the key's use, writing it to the
 * store at most once per KEY_TOUCH_MS. */
static int check_key(hookd_api *api, struct MHD_Connection *c, hookd_key_scope *scope)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return -1;
    const char *key = h + 7;
    while (*key == ' ')
        key++;
    unsigned char hash[HOOKD_KEY_HASH_LEN];
    hookd_key_hash(key, strlen(key), hash);
    char touch[HOOKD_ID_MAX] = "";
    int64_t now = hookd_now_ms();
    /* Stale keys are read again first, so a key made or revoked elsewhere
     * counts within KEYS_REREAD_MS. One request reads; the others go on
     * with the keys as they were. */
    pthread_mutex_lock(&api->keys_lock);
    bool stale = now - api->keys_read_ms >= KEYS_REREAD_MS;
    if (stale)
        api->keys_read_ms = now;
    pthread_mutex_unlock(&api->keys_lock);
    if (stale)
        (void)load_keys(api); /* on failure the keys read before stay */
    pthread_mutex_lock(&api->keys_lock);
    long i = key_find(api, hash);
    if (i >= 0) {
        key_slot *k = &api->keys[i];
        *scope = k->scope;
        k->used_ms = now;
        if (k->id[0] && now - k->written_ms >= KEY_TOUCH_MS) {
            k->written_ms = now;
            memcpy(touch, k->id, HOOKD_ID_MAX);
        }
    }
    pthread_mutex_unlock(&api->keys_lock);
    /* Outside the lock: other requests need not wait for this write. A
     * failed write is only a last-use time lost. */
    if (touch[0] && hookd_store_key_touch(api->ctx.store, touch, now) != 0)
        hookd_log_warn("api: cannot record the last use of key %s", touch);
    return i >= 0 ? 0 : -1;
}

/* The keys handlers' view of the cache (hookd_api_ctx): read the keys again
 * now (after one was made or revoked here), and the latest use of a key. */
static void keys_reload(void *ctx)
{
    hookd_api *api = ctx;
    if (load_keys(api) != 0)
        hookd_log_warn("api: cannot read the API keys again");
}

static int64_t key_last_used(void *ctx, const char *id)
{
    hookd_api *api = ctx;
    int64_t used = 0;
    pthread_mutex_lock(&api->keys_lock);
    for (size_t i = 0; i < api->n_keys; i++) {
        if (strcmp(api->keys[i].id, id) == 0)
            used = api->keys[i].used_ms;
    }
    pthread_mutex_unlock(&api->keys_lock);
    return used;
}

/* "application/json", optionally with "; charset=utf-8" (any case, quoted or not). */
static int is_json_type(const char *ct)
{
    if (!ct)
        return 0;
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, "application/json", 16) != 0)
        return 0;
    const char *p = ct + 16;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0')
        return 1;
    if (*p++ != ';')
        return 0;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncasecmp(p, "charset=", 8) != 0)
        return 0;
    p += 8;
    if (strncasecmp(p, "utf-8", 5) == 0 && p[5] == '\0')
        return 1;
    return strncasecmp(p, "\"utf-8\"", 7) == 0 && p[7] == '\0';
}

/* 403 for a key whose scope does not cover the call. */
static int forbidden(hookd_error *err, hookd_key_scope scope)
{
    return hookd_error_set(err, 403, "forbidden", NULL,
                           "this call needs an admin key; an %s key may call only "
                           "/api/v1/people…, /api/v1/accounts… and /api/v1/activities",
                           hookd_key_scope_name(scope));
}

/* ---- abuse limits ------------------------------------------------------ */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mono_ms(void)
{
    return mono_ns() / 1000000;
}

/* The refusals that come before the key and the route: a client address
 * past its rate (429; *retry_after set) and a head over HEAD_MAX (431).
 * /healthz is never rate-limited and spends nothing: a load balancer's
 * health checks (which behind a proxy share the proxy's address with every
 * client) must not fail because clients are throttled. */
static int check_limits(hookd_api *api, struct MHD_Connection *c, const char *url,
                        unsigned *retry_after, hookd_error *err)
{
    if (api->ratelimit && strcmp(url, "/healthz") != 0) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        unsigned wait =
            hookd_ratelimit_take(api->ratelimit, ci ? ci->client_addr : NULL, mono_ms());
        if (wait) {
            *retry_after = wait;
            return hookd_error_set(err, 429, "rate_limited", NULL,
                                   "more than %g requests per second from this address; "
                                   "retry in %u s",
                                   api->rate, wait);
        }
    }
    const union MHD_ConnectionInfo *head =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    if (head && head->header_size > HEAD_MAX)
        return hookd_error_set(err, 431, "too_large", NULL,
                               "the request line and headers are larger than %d bytes",
                               HEAD_MAX);
    return 0;
}

/* The deadlines of c's connection (set when it was accepted), or NULL. */
static hookd_conn_clock *conn_clock(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Runs every check that needs only the headers. Returns 0 to go on reading
 * the body, or non-zero with err filled. */
static int check_headers(hookd_api *api, struct MHD_Connection *c, const char *url,
                         const char *method, req_state *rs, hookd_error *err)
{
    int status;
    size_t ulen = strlen(url);
    int is_api = strncmp(url, "/api/", 5) == 0;
    if (ulen > PATH_MAX_LEN)
        return hookd_error_set(err, 404, "not_found", NULL, "no such path");
    hookd_key_scope scope = HOOKD_SCOPE_INVALID;
    if (!(rs->scratch = malloc(ulen + 1)))
        return hookd_error_set(err, 503, "unavailable", NULL, "out of memory");
    rs->route = hookd_route_find(method, url, &rs->req, rs->scratch, &status);
    /* Under /api/ the key comes before the route is named (an unknown path
     * is a 401 too, not a 404), except on a public route: the API's own
     * description (GET /api/v1/openapi.json). */
    if (rs->route && (rs->route->flags & ROUTE_PUBLIC))
        is_api = 0;
    if (is_api && check_key(api, c, &scope) != 0)
        return hookd_error_set(err, 401, "unauthorized", NULL,
                               "a valid API key is required: Authorization: Bearer <key>");
    if (is_api && !hookd_key_scope_allows(scope, url))
        return forbidden(err, scope);
    if (!rs->route && status == 405)
        return hookd_error_set(err, 405, "method_not_allowed", NULL,
                               "%s is not allowed on %s", method, url);
    if (!rs->route)
        return hookd_error_set(err, 404, "not_found", NULL, "no such path: %s", url);
    bool open = (rs->route->flags & ROUTE_PUBLIC) ||
                ((rs->route->flags & ROUTE_METRICS) && api->metrics_public);
    if (!is_api && !open) {
        if (check_key(api, c, &scope) != 0)
            return hookd_error_set(err, 401, "unauthorized", NULL, "a valid API key is required");
        if (!hookd_key_scope_allows(scope, url))
            return forbidden(err, scope);
    }

    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (n > BODY_MAX)
            return hookd_error_set(err, 413, "too_large", NULL,
                                   "the body is larger than %d bytes", BODY_MAX);
        rs->cap = (size_t)n;
    }
    if (rs->route->flags & ROUTE_BODY) {
        const char *ct =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!is_json_type(ct))
            return hookd_error_set(err, 415, "unsupported_media_type", NULL,
                                   "the body must be application/json, not %s",
                                   ct ? ct : "(none)");
    }
    rs->req.method = method;
    rs->req.path = url;
    rs->req.conn = c;
    return 0;
}

/* ---- body -------------------------------------------------------------- */

static void take_body(req_state *rs, const char *data, size_t n)
{
    if (rs->too_large || rs->len + n > BODY_MAX) {
        rs->too_large = 1; /* keep draining so the 413 can still be sent */
        return;
    }
    if (!(rs->route->flags & ROUTE_BODY))
        return; /* calls that take no input ignore any body */
    if (rs->len + n > rs->cap || !rs->body) {
        size_t cap = rs->cap > rs->len + n ? rs->cap : (rs->len + n) * 2;
        if (cap > BODY_MAX)
            cap = BODY_MAX;
        char *grown = realloc(rs->body, cap + 1);
        if (!grown) {
            rs->too_large = 1;
            return;
        }
        rs->body = grown;
        rs->cap = cap;
    }
    memcpy(rs->body + rs->len, data, n);
    rs->len += n;
}

/* Puts prefix in front of path, cutting the end if it no longer fits. */
static void prepend(char *path, size_t cap, const char *prefix)
{
    size_t plen = strlen(prefix), len = strlen(path);
    if (plen >= cap)
        plen = cap - 1;
    if (plen + len >= cap)
        len = cap - 1 - plen;
    memmove(path + plen, path, len);
    path[plen + len] = '\0';
    memcpy(path, prefix, plen);
}

/* True if v holds a string (or key) with a NUL character. When found, the
 * path to it is written into path on the way back up, so the common case of
 * no NUL formats nothing. */
static bool has_nul(const json_t *v, char *path, size_t cap)
{
    if (json_is_string(v))
        return memchr(json_string_value(v), '\0', json_string_length(v)) != NULL;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (has_nul(json_array_get(v, i), path, cap)) {
                char seg[32];
                snprintf(seg, sizeof seg, "[%zu]", i);
                prepend(path, cap, seg);
                return true;
            }
        }
    } else if (json_is_object(v)) {
        const char *k;
        size_t klen;
        json_t *child;
        json_object_keylen_foreach((json_t *)v, k, klen, child)
        {
            if (memchr(k, '\0', klen) || has_nul(child, path, cap)) {
                prepend(path, cap, k);
                prepend(path, cap, ".");
                return true;
            }
        }
    }
    return false;
}

/* Refuses any string holding a NUL character, naming its path: C strings
 * stop at NUL, so no such value may reach a handler. */
static int find_nul(const json_t *body, hookd_error *err)
{
    char path[HOOKD_ERR_FIELD_MAX] = "";
    if (!has_nul(body, path, sizeof path))
        return 0;
    const char *field = path[0] == '.' ? path + 1 : path;
    return hookd_invalid(err, *field ? field : NULL, "%s must not contain NUL characters",
                         *field ? field : "the body");
}

/* Parses the body and runs the handler: rs->rc, with rs->resp or rs->err
 * filled. Runs on a handler thread and touches nothing of libmicrohttpd's
 * but the connection's request values (read-only while it is suspended). */
static void run_request(hookd_api *api, req_state *rs)
{
    hookd_error *err = &rs->err;
    json_t *body = NULL;
    rs->rc = HOOKD_EINVAL;
    if (rs->too_large) {
        hookd_error_set(err, 413, "too_large", NULL, "the body is larger than %d bytes",
                        BODY_MAX);
        return;
    }
    if (rs->route->flags & ROUTE_BODY) {
        json_error_t jerr;
        int line, column;
        if (hookd_json_too_deep(rs->body ? rs->body : "", rs->len, JSON_DEPTH_MAX, &line,
                                &column)) {
            hookd_error_set(err, 400, "malformed_json", NULL,
                            "line %d, column %d: arrays and objects nest deeper than %d levels",
                            line, column, JSON_DEPTH_MAX);
            return;
        }
        /* DECODE_ANY so a scalar body is "not an object" (invalid) rather than
         * malformed; ALLOW_NUL so a "\u0000" can be refused by its path. */
        body = hookd_json_loadb(rs->body ? rs->body : "", rs->len,
                                JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (!body && json_error_code(&jerr) == json_error_out_of_memory) {
            hookd_error_from_rc(err, HOOKD_ENOMEM, "body");
            return;
        }
        if (!body) {
            hookd_error_set(err, 400, "malformed_json", NULL, "line %d, column %d: %s",
                            jerr.line, jerr.column, jerr.text);
            return;
        }
        if (!json_is_object(body)) {
            json_decref(body);
            hookd_invalid(err, NULL, "the body must be a JSON object");
            return;
        }
        /* A NUL can only come from a \u0000 escape (raw control bytes are
         * malformed JSON): without one in the text, no string can hold a
         * NUL, and the walk over every value is not needed. */
        if (memmem(rs->body ? rs->body : "", rs->len, "\\u0000", 6) && find_nul(body, err) != 0) {
            json_decref(body);
            return;
        }
        rs->req.body = body;
    }
    /* Parsed: the text is not needed any more (a 1 MiB ingest holds its
     * tree and its copies for as long as the store takes). */
    free(rs->body);
    rs->body = NULL;
    rs->rc = rs->route->handler(&api->ctx, &rs->req, &rs->resp, err);
    json_decref(body);
    rs->req.body = NULL;
    if (rs->rc == HOOKD_API_LATER && !rs->req.later) /* cannot happen: defer said no */
        rs->rc = hookd_error_set(err, 503, "unavailable", NULL, "hookd is stopping");
    if (rs->rc != 0 && rs->rc != HOOKD_API_LATER && !err->code)
        hookd_error_from_rc(err, rs->rc, "resource");
}

/* Runs a deferred request's second half, as run_request runs a handler. */
static void run_second_half(hookd_api *api, req_state *rs)
{
    hookd_error *err = &rs->err;
    rs->rc = rs->later.second(&api->ctx, rs->later.state, &rs->resp, err);
    if (rs->rc == HOOKD_API_LATER) /* a second half answers: it cannot wait again */
        rs->rc = hookd_error_set(err, 503, "unavailable", NULL, "internal error");
    if (rs->rc != 0 && !err->code)
        hookd_error_from_rc(err, rs->rc, "resource");
}

/* Queues what run_request made; what the answer held is released. */
static enum MHD_Result answer(struct MHD_Connection *c, req_state *rs)
{
    if (rs->rc == 0)
        return queue_resp(c, &rs->resp, rs->resp.retry_after, rs);
    resp_release(&rs->resp); /* a handler that failed half-way may hold something */
    return send_error_retry(c, &rs->err, rs->resp.retry_after, rs);
}

/* ---- the handler pool -------------------------------------------------- */

/* rs has its answer: its connection resumes, and rs belongs to
 * libmicrohttpd's thread again from here on. */
static void answered(req_state *rs)
{
    rs->ready = true;
    MHD_resume_connection(rs->conn);
}

/* Queues rs for a pool thread. Pool lock held. */
static void pool_append(pool *p, req_state *rs)
{
    rs->next = NULL;
    if (p->tail)
        p->tail->next = rs;
    else
        p->head = rs;
    p->tail = rs;
    pthread_cond_signal(&p->cond);
}

/* One of a deferred request's two events; the last queues its second half
 * (even while the pool stops: it waits for every deferred request). Pool
 * lock held. */
static void later_arrive(pool *p, hookd_api_later *l)
{
    if (--l->waiting > 0)
        return;
    req_state *rs = l->rs;
    l->queued = true;
    p->deferred--; /* counted when its handler returned, which it has */
    pool_append(p, rs);
}

hookd_api_later *hookd_api_defer(const hookd_req *req, hookd_api_second_half second, void *state)
{
    hookd_api_later *l = req->later;
    if (!l)
        return NULL;
    l->second = second;
    l->state = state;
    l->waiting = 2;
    l->queued = false;
    return l;
}

void hookd_api_resume(hookd_api_later *l)
{
    pool *p = &l->api->pool;
    pthread_mutex_lock(&p->lock);
    later_arrive(p, l);
    pthread_mutex_unlock(&p->lock);
}

static void *pool_main(void *arg)
{
    hookd_api *api = arg;
    pthread_setname_np(pthread_self(), "hookd-handler");
    pool *p = &api->pool;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !(p->stopping && p->deferred == 0))
            pthread_cond_wait(&p->cond, &p->lock);
        req_state *rs = p->head;
        if (!rs) {
            /* Stopping, and nothing left or to come: the others may be
             * asleep since before the last deferred request came back. */
            pthread_cond_broadcast(&p->cond);
            break;
        }
        p->head = rs->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->lock);
        if (rs->later.queued) {
            run_second_half(api, rs);
            answered(rs);
            pthread_mutex_lock(&p->lock);
            continue;
        }
        bool heavy = rs->len > HEAVY_BODY;
        if (heavy) {
            pthread_mutex_lock(&p->lock);
            while (p->heavy >= p->heavy_max)
                pthread_cond_wait(&p->heavy_free, &p->lock);
            p->heavy++;
            pthread_mutex_unlock(&p->lock);
        }
        run_request(api, rs);
        if (heavy) {
            pthread_mutex_lock(&p->lock);
            p->heavy--;
            pthread_cond_signal(&p->heavy_free);
            pthread_mutex_unlock(&p->lock);
        }
        if (rs->rc == HOOKD_API_LATER) {
            pthread_mutex_lock(&p->lock);
            p->deferred++;
            later_arrive(p, &rs->later);
            continue; /* rs is the tester's, or queued again */
        }
        answered(rs);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Hands rs to the pool, its connection suspended until it is answered.
 * false when the pool is stopping: the caller runs it in place. */
static bool pool_push(hookd_api *api, struct MHD_Connection *c, req_state *rs)
{
    pool *p = &api->pool;
    pthread_mutex_lock(&p->lock);
    bool taken = !p->stopping && p->n > 0;
    if (taken) {
        rs->conn = c;
        rs->next = NULL;
        /* Only a request on the pool can wait: its connection is suspended. */
        rs->later.api = api;
        rs->later.rs = rs;
        rs->req.later = &rs->later;
        atomic_fetch_add(&p->unsent, 1);
        /* Suspended under the lock, so no pool thread can resume it first. */
        MHD_suspend_connection(c);
        pool_append(p, rs);
    }
    pthread_mutex_unlock(&p->lock);
    return taken;
}

static int pool_start(hookd_api *api, unsigned n, unsigned heavy_max)
{
    pool *p = &api->pool;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    pthread_cond_init(&p->heavy_free, NULL);
    p->heavy_max = heavy_max ? heavy_max : 1;
    if (!(p->threads = calloc(n, sizeof *p->threads)))
        return HOOKD_ENOMEM;
    for (; p->n < n; p->n++) {
        if (pthread_create(&p->threads[p->n], NULL, pool_main, api) != 0)
            return p->n ? 0 : HOOKD_ENOMEM; /* fewer threads still serve */
    }
    return 0;
}

/* Lets the pool finish every request it holds (resuming their
 * connections), then joins it. */
static void pool_stop(hookd_api *api)
{
    pool *p = &api->pool;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    p->threads = NULL;
    p->n = 0;
}

/* Accepts a connection unless hookd is stopping. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    (void)addr;
    (void)addrlen;
    return atomic_load(&((hookd_api *)cls)->quiesced) ? MHD_NO : MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    hookd_api *api = cls;
    req_state *rs = *con_cls;
    (void)version;
    if (!rs) {
        if (!(rs = calloc(1, sizeof *rs)))
            return MHD_NO;
        *con_cls = rs;
        rs->start_ns = mono_ns();
        /* libmicrohttpd keeps both until the request completes. */
        rs->req.method = method;
        rs->req.path = url;
        rs->clock = conn_clock(c);
        hookd_deadlines_head_done(api->deadlines, rs->clock);
        hookd_error err = {0};
        unsigned retry_after = 0;
        if (check_limits(api, c, url, &retry_after, &err) != 0 ||
            check_headers(api, c, url, method, rs, &err) != 0) {
            rs->answered = 1;
            hookd_deadlines_answering(api->deadlines, rs->clock);
            return send_error_retry(c, &err, retry_after, rs);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!rs->answered)
            take_body(rs, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (rs->ready) {
        hookd_deadlines_answering(api->deadlines, rs->clock);
        return answer(c, rs);
    }
    if (rs->answered)
        return MHD_YES;
    rs->answered = 1;
    hookd_deadlines_handling(api->deadlines, rs->clock);
    if (pool_push(api, c, rs))
        return MHD_YES;
    run_request(api, rs);
    hookd_deadlines_answering(api->deadlines, rs->clock);
    return answer(c, rs);
}

/* A request whose answer was queued: counted for /metrics, and a line in
 * the access log. */
static void request_done(hookd_api *api, struct MHD_Connection *c, const req_state *rs)
{
    const char *path = rs->req.path ? rs->req.path : "";
    hookd_api_metrics_count(rs->route, path, rs->sent_status);
    if (!api->access_log)
        return;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    hookd_access_log_write(api->access_log, ci ? ci->client_addr : NULL, rs->req.method, path,
                           rs->sent_status, rs->sent_bytes, (mono_ns() - rs->start_ns) / 1000);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    hookd_api *api = cls;
    (void)toe;
    hookd_deadlines_idle(api->deadlines, conn_clock(c));
    req_state *rs = *con_cls;
    if (!rs)
        return;
    if (rs->sent_status)
        request_done(api, c, rs);
    if (rs->conn) /* it went through the pool */
        atomic_fetch_sub(&api->pool.unsent, 1);
    free(rs->scratch);
    free(rs->body);
    resp_release(&rs->resp); /* an answer never sent (connection gone) */
    free(rs);
    *con_cls = NULL;
}

/* A connection accepted (its deadlines start) or about to be closed (they
 * are forgotten; libmicrohttpd sends this before it closes the socket,
 * which is what makes the reaper's shutdown safe: see deadline.c). */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    hookd_api *api = cls;
    if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        hookd_deadlines_remove(api->deadlines, *socket_context);
        *socket_context = NULL;
        return;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return;
    *socket_context = hookd_deadlines_add(api->deadlines, ci->connect_fd);
    if (!*socket_context) /* out of memory: no deadline could guard it */
        shutdown(ci->connect_fd, SHUT_RDWR);
}

/* The request line arrived (the head may still be coming). Returns the
 * request's first context: NULL, as on_request expects. */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)uri;
    hookd_deadlines_request_line(((hookd_api *)cls)->deadlines, conn_clock(c));
    return NULL;
}

/* libmicrohttpd's own messages, at most MHD_LOG_PER_S a second: a flood of
 * refused connections ("reached connection limit") must not flood the log.
 * What is dropped is counted in the next line written. */
#define MHD_LOG_PER_S 5
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static int64_t window;
    static unsigned written, dropped;
    char msg[512];
    (void)cls;
    int64_t now_s = mono_ms() / 1000;
    pthread_mutex_lock(&lock);
    if (now_s != window) {
        window = now_s;
        written = 0;
    }
    bool write = written < MHD_LOG_PER_S;
    unsigned before = write ? dropped : 0;
    if (write) {
        written++;
        dropped = 0;
    } else {
        dropped++;
    }
    pthread_mutex_unlock(&lock);
    if (!write)
        return;
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    if (before)
        hookd_log_warn("http: %s (%u messages of libmicrohttpd dropped before this one)", msg, before);
    else
        hookd_log_warn("http: %s", msg);
}

/* ---- lifecycle --------------------------------------------------------- */

/* Makes stored[0..n) and the key given by option the accepted keys,
 * carrying over what this process knows of each key's use. keys_lock held. */
static int install_keys(hookd_api *api, const hookd_key_entry *stored, size_t n)
{
    size_t total = n + (api->admin_key ? 1 : 0);
    key_slot *keys = calloc(total ? total : 1, sizeof *keys);
    if (!keys)
        return HOOKD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        memcpy(keys[i].hash, stored[i].hash, HOOKD_KEY_HASH_LEN);
        keys[i].scope = stored[i].scope;
        memcpy(keys[i].id, stored[i].id, HOOKD_ID_MAX);
        for (size_t j = 0; j < api->n_keys; j++) {
            if (strcmp(api->keys[j].id, keys[i].id) == 0) {
                keys[i].used_ms = api->keys[j].used_ms;
                keys[i].written_ms = api->keys[j].written_ms;
            }
        }
    }
    /* The key given by option: admin, never stored. */
    if (api->admin_key) {
        hookd_key_hash(api->admin_key, strlen(api->admin_key), keys[n].hash);
        keys[n].scope = HOOKD_SCOPE_ADMIN;
    }
    free(api->keys);
    api->keys = keys;
    api->n_keys = total;
    return 0;
}

/* (Re)reads the accepted keys, the store read without keys_lock held (a
 * slow store holds up no other request); on failure the old ones stay. */
static int load_keys(hookd_api *api)
{
    pthread_mutex_lock(&api->keys_lock);
    uint64_t ticket = ++api->keys_ticket;
    pthread_mutex_unlock(&api->keys_lock);
    hookd_key_entry *stored = NULL;
    size_t n = 0;
    int rc = hookd_store_key_entries(api->ctx.store, &stored, &n);
    if (rc)
        return rc;
    pthread_mutex_lock(&api->keys_lock);
    if (ticket > api->keys_installed) {
        rc = install_keys(api, stored, n);
        if (rc == 0)
            api->keys_installed = ticket;
    }
    pthread_mutex_unlock(&api->keys_lock);
    free(stored);
    return rc;
}

/* Writes the last use of every key used since its last write, so a stop
 * loses none. */
static void keys_flush_use(hookd_api *api)
{
    for (size_t i = 0; i < api->n_keys; i++) {
        const key_slot *k = &api->keys[i];
        if (k->id[0] && k->used_ms > k->written_ms &&
            hookd_store_key_touch(api->ctx.store, k->id, k->used_ms) != 0)
            hookd_log_warn("api: cannot record the last use of key %s", k->id);
    }
}

/* The connection cap: CONNECTION_LIMIT, or half the file-descriptor limit
 * when that is lower (main raises the soft limit to the hard one first). */
static unsigned connection_cap(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return CONNECTION_LIMIT;
    rlim_t half = rl.rlim_cur / 2;
    return half >= CONNECTION_LIMIT ? CONNECTION_LIMIT : half < 16 ? 16 : (unsigned)half;
}

/* Reads a whole file of at most TLS_FILE_MAX bytes into a new NUL-ended
 * buffer. */
static char *read_small_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(TLS_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, TLS_FILE_MAX + 1, f) : 0;
    fclose(f);
    if (!buf || n == 0 || n > TLS_FILE_MAX) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return 0; /* an encrypted key is refused rather than asked for */
}

/* Checks with OpenSSL what gnutls would only refuse as "cannot start": the
 * files hold a PEM certificate and an unencrypted PEM key that belong
 * together. err names the option at fault. */
static int check_tls_pem(const char *cert_pem, size_t cert_len, const char *key_pem,
                         size_t key_len, const char *cert_path, const char *key_path, char *err,
                         size_t errlen)
{
    BIO *cb = BIO_new_mem_buf(cert_pem, (int)cert_len);
    BIO *kb = BIO_new_mem_buf(key_pem, (int)key_len);
    X509 *cert = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    EVP_PKEY *key = kb ? PEM_read_bio_PrivateKey(kb, NULL, no_password, NULL) : NULL;
    int rc = HOOKD_EINVAL;
    if (!cert)
        snprintf(err, errlen, "--tls-cert: %s holds no PEM certificate", cert_path);
    else if (!key)
        snprintf(err, errlen, "--tls-key: %s holds no PEM private key (an encrypted key is not "
                 "supported)", key_path);
    else if (X509_check_private_key(cert, key) != 1)
        snprintf(err, errlen, "--tls-key: %s is not the key of the certificate in %s", key_path,
                 cert_path);
    else
        rc = 0;
    EVP_PKEY_free(key);
    X509_free(cert);
    BIO_free(kb);
    BIO_free(cb);
    return rc;
}

/* Reads the files of --tls-cert and --tls-key into new buffers and checks
 * them. On failure nothing is left allocated. */
static int read_tls(const char *cert_path, const char *key_path, char **cert_pem, char **key_pem,
                    char *err, size_t errlen)
{
    size_t cert_len = 0, key_len = 0;
    *cert_pem = *key_pem = NULL;
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(err, errlen, "--tls-cert: this libmicrohttpd was built without TLS");
        return HOOKD_EINVAL;
    }
    int rc = HOOKD_EINVAL;
    if (!(*cert_pem = read_small_file(cert_path, &cert_len)))
        snprintf(err, errlen, "--tls-cert: cannot read %s (or it is empty or over %d bytes)",
                 cert_path, TLS_FILE_MAX);
    else if (!(*key_pem = read_small_file(key_path, &key_len)))
        snprintf(err, errlen, "--tls-key: cannot read %s (or it is empty or over %d bytes)",
                 key_path, TLS_FILE_MAX);
    else
        rc = check_tls_pem(*cert_pem, cert_len, *key_pem, key_len, cert_path, key_path, err,
                           errlen);
    if (rc) {
        free(*cert_pem);
        if (*key_pem)
            OPENSSL_cleanse(*key_pem, key_len);
        free(*key_pem);
        *cert_pem = *key_pem = NULL;
    }
    return rc;
}

int hookd_api_check_tls(const char *cert_path, const char *key_path, char *err, size_t errlen)
{
    char *cert, *key;
    int rc = read_tls(cert_path, key_path, &cert, &key, err, errlen);
    if (rc == 0) {
        free(cert);
        OPENSSL_cleanse(key, strlen(key));
        free(key);
    }
    return rc;
}

/* Reads and checks the certificate and key of --tls-cert/--tls-key into
 * api (nothing to do without them). */
static int load_tls(hookd_api *api, const hookd_api_options *opt, char *err, size_t errlen)
{
    if (!opt->tls_cert && !opt->tls_key)
        return 0;
    if (!opt->tls_cert || !opt->tls_key) {
        snprintf(err, errlen, "--tls-cert and --tls-key go together: give both or neither");
        return HOOKD_EINVAL;
    }
    return read_tls(opt->tls_cert, opt->tls_key, &api->tls_cert_pem, &api->tls_key_pem, err,
                    errlen);
}

/* The request deadline; hookd_api_options requires one, this guards a
 * caller that left it 0. */
static int64_t request_deadline_ms(const hookd_api_options *opt)
{
    return opt->request_deadline_ms > 0 ? opt->request_deadline_ms : 60000;
}

/* Frees what hookd_api_start made besides the daemon and the pool (the
 * tester too: by then no request can submit a test). */
static void free_limits(hookd_api *api)
{
    hookd_tester_stop(api->ctx.tester);
    api->ctx.tester = NULL;
    hookd_deadlines_stop(api->deadlines);
    hookd_ratelimit_free(api->ratelimit);
    hookd_access_log_close(api->access_log);
    api->access_log = NULL;
    free(api->tls_cert_pem);
    if (api->tls_key_pem)
        OPENSSL_cleanse(api->tls_key_pem, strlen(api->tls_key_pem));
    free(api->tls_key_pem);
}

/* Starts what guards the daemon: the deadlines' reaper, the rate limiter
 * and the TLS files. */
static int start_limits(hookd_api *api, const hookd_api_options *opt, char *err, size_t errlen)
{
    int rc = load_tls(api, opt, err, errlen);
    if (rc)
        return rc;
    int64_t total = request_deadline_ms(opt);
    int64_t head = total < HEAD_DEADLINE_MS ? total : HEAD_DEADLINE_MS;
    if (hookd_deadlines_start(head, total, total, &api->deadlines) != 0) {
        snprintf(err, errlen, "cannot start the API's deadline thread");
        return HOOKD_ENOMEM;
    }
    api->rate = opt->rate_limit;
    if (opt->rate_limit > 0 && hookd_ratelimit_new(opt->rate_limit, &api->ratelimit) != 0) {
        snprintf(err, errlen, "cannot set up --api-rate-limit");
        return HOOKD_ENOMEM;
    }
    if (opt->access_log)
        return hookd_access_log_open(opt->access_log, &api->access_log, err, errlen);
    return 0;
}

int hookd_api_start(const hookd_api_options *opt, hookd_api **out, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    char port[8];
    snprintf(port, sizeof port, "%u", opt->port);
    int gai = getaddrinfo(opt->host, port, &hints, &ai);
    if (gai != 0) {
        snprintf(err, errlen, "--listen: cannot resolve %s: %s", opt->host, gai_strerror(gai));
        return HOOKD_EINVAL;
    }
    hookd_api *api = calloc(1, sizeof *api);
    if (!api) {
        freeaddrinfo(ai);
        snprintf(err, errlen, "out of memory");
        return HOOKD_ENOMEM;
    }
    api->ctx.store = opt->store;
    api->ctx.send = opt->send;
    api->admin_key = opt->admin_key;
    api->ctx.keys = api;
    api->ctx.keys_reload = keys_reload;
    api->ctx.key_last_used = key_last_used;
    api->ctx.max_deliveries = (size_t)opt->max_deliveries_per_request;
    api->metrics_public = opt->metrics_public;
    pthread_mutex_init(&api->keys_lock, NULL);
    api->keys_read_ms = hookd_now_ms();
    if (load_keys(api) != 0) {
        freeaddrinfo(ai);
        free(api);
        snprintf(err, errlen, "cannot read API keys from the store");
        return HOOKD_EUNAVAIL;
    }
    int lrc = start_limits(api, opt, err, errlen);
    if (lrc == 0 && hookd_tester_start(opt->max_test_sends, opt->send.timeout_ms,
                                       &api->ctx.tester) != 0) {
        snprintf(err, errlen, "cannot start the test sends' thread");
        lrc = HOOKD_ENOMEM;
    }
    if (lrc != 0) {
        freeaddrinfo(ai);
        free_limits(api);
        free(api->keys);
        free(api);
        return lrc;
    }
    if (pool_start(api, opt->threads ? opt->threads : 8, opt->io_threads + 1) != 0) {
        freeaddrinfo(ai);
        pool_stop(api);
        free_limits(api);
        free(api->keys);
        free(api);
        snprintf(err, errlen, "cannot start the API's handler threads");
        return HOOKD_ENOMEM;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
                     (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0) |
                     (api->tls_cert_pem ? MHD_USE_TLS : 0);
    /* libmicrohttpd's idle timeout stays, in whole seconds, beside the
     * deadlines: it closes a connection no byte moved on for that long. */
    unsigned idle_s = (unsigned)((request_deadline_ms(opt) + 999) / 1000);
    /* The TLS options come last: without TLS they end the list early. */
    api->daemon = MHD_start_daemon(
        flags, 0, on_accept, api, on_request, api, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, opt->io_threads ? opt->io_threads : 2,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, api,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, api,
        MHD_OPTION_URI_LOG_CALLBACK, on_request_line, api,
        MHD_OPTION_CONNECTION_LIMIT, connection_cap(),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, opt->connections_per_client,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        MHD_OPTION_CONNECTION_TIMEOUT, idle_s,
        api->tls_cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, api->tls_cert_pem,
        MHD_OPTION_HTTPS_MEM_KEY, api->tls_key_pem,
        MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!api->daemon) {
        snprintf(err, errlen, "cannot listen on %s:%u (address in use or not available%s)",
                 opt->host, opt->port,
                 api->tls_cert_pem ? ", or the TLS certificate or key was refused" : "");
        pool_stop(api);
        free_limits(api);
        free(api->keys);
        free(api);
        return HOOKD_EUNAVAIL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(api->daemon, MHD_DAEMON_INFO_BIND_PORT);
    api->port = info ? info->port : opt->port;
    *out = api;
    return 0;
}

uint16_t hookd_api_port(const hookd_api *api)
{
    return api->port;
}

void hookd_api_quiesce(hookd_api *api)
{
    atomic_store(&api->quiesced, true);
}

void hookd_api_stop(hookd_api *api)
{
    if (!api)
        return;
    /* No connection may stay suspended when libmicrohttpd stops: the pool
     * ends once every request it holds is answered, those waiting for a
     * test send included (each within the request timeout). */
    pool_stop(api);
    /* Nothing is in flight at the tester now, and nothing can submit. */
    hookd_tester_stop(api->ctx.tester);
    api->ctx.tester = NULL;
    /* The last answers were handed to libmicrohttpd's threads just now;
     * stopping the daemon at once would close their connections unwritten.
     * A client that does not read is not waited for past STOP_FLUSH_MS. */
    for (int64_t until = mono_ms() + STOP_FLUSH_MS;
         atomic_load(&api->pool.unsent) > 0 && mono_ms() < until;)
        nanosleep(&(struct timespec){.tv_nsec = 5 * 1000000}, NULL);
    MHD_stop_daemon(api->daemon);
    /* After the daemon: every connection has been closed (and forgotten by
     * the deadlines) by then. */
    free_limits(api);
    pthread_mutex_destroy(&api->pool.lock);
    pthread_cond_destroy(&api->pool.cond);
    pthread_cond_destroy(&api->pool.heavy_free);
    keys_flush_use(api);
    pthread_mutex_destroy(&api->keys_lock);
    free(api->keys);
    free(api);
}

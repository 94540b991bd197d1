/*
 * request.c — one attempt's HTTP request (see request.h).
 */
#include "delivery/request.h"

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "delivery/guard.h"
#include "delivery/outcome.h"
#include "model/payload.h"
#include "util/timeutil.h"
#include "util/utf8.h"

/* The secret's key bytes: base64 after "whsec_" (which decodes to fewer
 * bytes than its text). Returns the length, or -1 if the secret is not
 * valid. */
static long secret_key(const char *secret, unsigned char key[HOOKD_SECRET_MAX])
{
    if (strncmp(secret, "whsec_", 6) != 0 || strlen(secret) >= HOOKD_SECRET_MAX)
        return -1;
    long n = hookd_base64_decode(secret + 6, key);
    return n > 0 ? n : -1;
}

/* "v1," + base64 of the MAC of "id.timestamp." followed by the body; out
 * must hold HOOKD_SIGNATURE_ONE + 1 bytes. */
static int sign_with(hookd_hmac_key *key, const char *id, int64_t timestamp, const char *body,
                     size_t body_len, char *out)
{
    unsigned char mac[32];
    char prefix[128];
    int n = snprintf(prefix, sizeof prefix, "%s.%lld.", id, (long long)timestamp);
    if (n < 0 || (size_t)n >= sizeof prefix ||
        hookd_hmac_key_sign(key, prefix, (size_t)n, body, body_len, mac) != 0)
        return -1;
    memcpy(out, "v1,", 3);
    hookd_base64_encode(mac, sizeof mac, out + 3);
    return 0;
}

int hookd_sign(const char *secret, const char *id, int64_t timestamp, const char *body,
               char out[HOOKD_SIGNATURE_ONE + 1])
{
    unsigned char raw[HOOKD_SECRET_MAX];
    long keylen = secret_key(secret, raw);
    hookd_hmac_key key = {0};
    int rc = -1;
    if (keylen > 0 && hookd_hmac_key_init(&key, raw, (size_t)keylen) == 0)
        rc = sign_with(&key, id, timestamp, body, strlen(body), out);
    hookd_hmac_key_clear(&key);
    return rc;
}

/* ---- the template ---------------------------------------------------------- */

static int add_tail(void *ctx, const char *name, const char *value, bool redacted)
{
    hookd_request_tpl *t = ctx;
    (void)redacted;
    size_t len = strlen(name) + strlen(value) + 3;
    char *line = malloc(len);
    if (!line)
        return -1;
    /* libcurl leaves out a line "Name: " whose value is blank (that is how
     * its own headers are switched off) and sends "Name;" as the empty
     * header "Name:". A blank value is still a header the webhook asked for,
     * and HTTP trims the blanks anyway. */
    if (value[strspn(value, " \t\v\f\r\n")] == '\0')
        snprintf(line, len, "%s;", name);
    else
        snprintf(line, len, "%s: %s", name, value);
    struct curl_slist *l = curl_slist_append(t->tail, line);
    free(line);
    if (!l)
        return -1;
    t->tail = l;
    return 0;
}

int hookd_request_tpl_init(hookd_request_tpl *t, const hookd_webhook *wh)
{
    unsigned char raw[HOOKD_SECRET_MAX];
    memset(t, 0, sizeof *t);
    t->version = wh->version;
    long keylen = secret_key(wh->secret, raw);
    if (keylen < 0 || hookd_hmac_key_init(&t->key, raw, (size_t)keylen) != 0 ||
        !(t->url = strdup(wh->url)) || hookd_webhook_tail_headers(wh, add_tail, t) != 0)
        return -1;
    if (wh->rotated_at && wh->secret_prev[0]) {
        if ((keylen = secret_key(wh->secret_prev, raw)) < 0 ||
            hookd_hmac_key_init(&t->prev, raw, (size_t)keylen) != 0)
            return -1;
        t->rotated_at = wh->rotated_at;
    }
    /* libcurl's own defaults that the contract does not list. */
    struct curl_slist *l = curl_slist_append(t->tail, "Accept:");
    if (!l || !(t->tail = l) || !(l = curl_slist_append(t->tail, "Expect:")))
        return -1;
    t->tail = l;
    return 0;
}

void hookd_request_tpl_clear(hookd_request_tpl *t)
{
    curl_slist_free_all(t->tail);
    hookd_hmac_key_clear(&t->key);
    hookd_hmac_key_clear(&t->prev);
    free(t->url);
    memset(t, 0, sizeof *t);
}

/* ---- one attempt ----------------------------------------------------------- */

/* Libcurl asks us to open each socket: judge the resolved address first, so
 * whatever spelling or DNS answer led here, the refused ranges stay closed
 * unless allowed. Each address libcurl tries is judged on its own: a refused
 * one is skipped and libcurl goes on to the next, and the attempt is refused
 * only if no socket was opened at all (see hookd_request_finish). */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    hookd_request *r = clientp;
    (void)purpose;
    if (r->blocked) {
        r->n_refused++;
        return CURL_SOCKET_BAD;
    }
    /* Through a proxy the only socket is the proxy's, an address the
     * operator chose; the webhook's own was judged on hookd's resolution. */
    if (!r->opts->proxy) {
        hookd_guard_policy p = {.allow_private = r->allow_private,
                                .allow = r->opts->allow_networks};
        char why[sizeof r->why];
        if (!hookd_guard_check(&a->addr, a->addrlen, &p, why, sizeof why)) {
            if (r->n_refused++ == 0)
                memcpy(r->why, why, sizeof why); /* the first refusal tells why */
            return CURL_SOCKET_BAD;
        }
    }
    r->n_opened++;
    return socket(a->family, a->socktype, a->protocol);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    hookd_request *r = userp;
    size_t n = size * nmemb;
    if (r->response_len < HOOKD_RESPONSE_KEEP) {
        size_t take = HOOKD_RESPONSE_KEEP - r->response_len;
        if (take > n)
            take = n;
        memcpy(r->response + r->response_len, data, take);
        r->response_len += take;
    }
    r->response_total += n;
    /* Past the cap, stop reading: the status line already told the outcome. */
    return r->response_total > HOOKD_RESPONSE_READ_MAX ? 0 : n;
}

/* The header list of this attempt: its own lines in r->head (no copies;
 * libcurl only reads a list), linked in front of the template's tail. */
static int build_headers(hookd_request *r, hookd_request_tpl *t, const char *delivery_id,
                         const char *body, size_t body_len, int64_t overlap_ms)
{
    static char CONTENT_TYPE[] = "Content-Type: application/json";
    static char USER_AGENT[] = "User-Agent: hookd/" HOOKD_VERSION;
    int64_t now_ms = hookd_now_ms(), now_s = now_ms / 1000;
    if (sign_with(&t->key, delivery_id, now_s, body, body_len, r->signature) != 0)
        return -1;
    /* During the overlap the previous secret signs too, after the new one,
     * so receivers not yet updated keep verifying (Standard Webhooks lets a
     * header hold several signatures). */
    if (t->rotated_at && now_ms - t->rotated_at < overlap_ms) {
        char *prev = r->signature + HOOKD_SIGNATURE_ONE;
        *prev++ = ' ';
        if (sign_with(&t->prev, delivery_id, now_s, body, body_len, prev) != 0)
            return -1;
    }
    snprintf(r->id_line, sizeof r->id_line, "webhook-id: %s", delivery_id);
    snprintf(r->ts_line, sizeof r->ts_line, "webhook-timestamp: %lld", (long long)now_s);
    snprintf(r->sig_line, sizeof r->sig_line, "webhook-signature: %s", r->signature);
    char *lines[5];
    int n = 0;
    if (body[0])
        lines[n++] = CONTENT_TYPE;
    lines[n++] = USER_AGENT;
    lines[n++] = r->id_line;
    lines[n++] = r->ts_line;
    lines[n++] = r->sig_line;
    for (int i = 0; i < n; i++) {
        r->head[i].data = lines[i];
        r->head[i].next = i + 1 < n ? &r->head[i + 1] : t->tail;
    }
    return 0;
}

#define SETOPT(easy, opt, val) (curl_easy_setopt(easy, opt, val) != CURLE_OK)

/* ---- decided before libcurl runs -------------------------------------------- */

/* hookd's own resolution of the webhook's host (with a proxy). */
struct hookd_resolve {
    struct gaicb cb;
    struct addrinfo hints;
    struct sigevent ev;
    char host[256];
    char port[8];
    int rc;          /* getaddrinfo's answer when run synchronously */
    bool started;    /* getaddrinfo_a runs it: its answer is in cb */
    void (*done)(void *ctx);
    void *ctx;
};

/* The attempt fails without a connection: every socket is refused (so not
 * even a proxy is contacted) and no cached connection is reused. final: the
 * guard refused it, for good; else it is retried (a DNS failure). */
__attribute__((format(printf, 3, 4))) static void block(hookd_request *r, bool final,
                                                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
    r->blocked = true;
    r->blocked_final = final;
}

/* Where the bytes go and how they are trusted: on every handle, so nothing
 * comes from the environment or from the handle's previous use. */
static int set_transport(hookd_request *r, CURL *easy, const hookd_send_opts *opts)
{
    /* "" is "no proxy" even when http_proxy/https_proxy/all_proxy are set;
     * NOPROXY "" keeps no_proxy from sending around --proxy. */
    int bad = SETOPT(easy, CURLOPT_PROXY, opts->proxy ? opts->proxy : "") ||
              SETOPT(easy, CURLOPT_NOPROXY, "") ||
              SETOPT(easy, CURLOPT_SSL_VERIFYPEER, 1L) ||
              SETOPT(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    if (opts->ca_file)
        bad = bad || SETOPT(easy, CURLOPT_CAINFO, opts->ca_file) ||
              SETOPT(easy, CURLOPT_PROXY_CAINFO, opts->ca_file);
    if (opts->proxy) {
        /* Always a tunnel, so the proxy connects to the checked address
         * (CONNECT_TO names it) and never resolves the host on its own. */
        bad = bad || SETOPT(easy, CURLOPT_HTTPPROXYTUNNEL, 1L);
    }
    if (r->blocked)
        bad = bad || SETOPT(easy, CURLOPT_FRESH_CONNECT, 1L) ||
              SETOPT(easy, CURLOPT_FORBID_REUSE, 1L);
    return bad;
}

/* Reads host and port of url the way libcurl will. Returns 0, or -1 if
 * memory ran out; a URL it cannot read blocks the attempt. */
static int resolve_prepare(hookd_request *r, const char *url)
{
    struct hookd_resolve *rs = calloc(1, sizeof *rs);
    if (!rs)
        return -1;
    r->resolve = rs;
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL;
    if (!u)
        return -1;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        block(r, true, "address not allowed: cannot read the host of the URL");
    } else {
        /* "[::1]" is the URL's spelling; getaddrinfo takes "::1". */
        size_t n = strlen(host);
        const char *h = host;
        if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
            h = host + 1;
            n -= 2;
        }
        if (n >= sizeof rs->host || strlen(port) >= sizeof rs->port) {
            block(r, true, "address not allowed: the URL's host is too long");
        } else {
            memcpy(rs->host, h, n);
            rs->host[n] = '\0';
            memcpy(rs->port, port, strlen(port) + 1);
        }
    }
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    rs->hints.ai_family = AF_UNSPEC;
    rs->hints.ai_socktype = SOCK_STREAM;
    rs->hints.ai_flags = AI_NUMERICSERV;
    rs->cb.ar_name = rs->host;
    rs->cb.ar_service = rs->port;
    rs->cb.ar_request = &rs->hints;
    return 0;
}

bool hookd_request_needs_resolve(const hookd_request *r)
{
    return r->resolve && !r->blocked;
}

static void resolved(union sigval v)
{
    struct hookd_resolve *rs = v.sival_ptr;
    rs->done(rs->ctx);
}

int hookd_request_resolve_start(hookd_request *r, void (*done)(void *ctx), void *ctx)
{
    struct hookd_resolve *rs = r->resolve;
    struct gaicb *list[1] = {&rs->cb};
    rs->done = done;
    rs->ctx = ctx;
    rs->ev.sigev_notify = SIGEV_THREAD;
    rs->ev.sigev_notify_function = resolved;
    rs->ev.sigev_value.sival_ptr = rs;
    rs->started = true;
    int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, &rs->ev);
    if (rc != 0) {
        rs->started = false;
        rs->rc = rc;
        return -1;
    }
    return 0;
}

void hookd_request_resolve_finish(hookd_request *r)
{
    struct hookd_resolve *rs = r->resolve;
    if (!rs || r->blocked)
        return;
    int rc = rs->started ? gai_error(&rs->cb) : rs->rc;
    struct addrinfo *res = rs->cb.ar_result;
    rs->cb.ar_result = NULL;
    if (rc != 0) {
        block(r, false, "could not resolve host %s: %s", rs->host,
              rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
    } else {
        hookd_guard_policy p = {.allow_private = r->allow_private,
                                .allow = r->opts->allow_networks};
        char why[sizeof r->why] = "";
        const struct addrinfo *pick = NULL;
        for (const struct addrinfo *ai = res; ai && !pick; ai = ai->ai_next) {
            if (hookd_guard_check(ai->ai_addr, ai->ai_addrlen, &p, why[0] ? NULL : why,
                                  sizeof why))
                pick = ai;
        }
        char text[INET6_ADDRSTRLEN] = "";
        if (pick) {
            const void *a = pick->ai_family == AF_INET6
                                ? (const void *)&((struct sockaddr_in6 *)pick->ai_addr)->sin6_addr
                                : (const void *)&((struct sockaddr_in *)pick->ai_addr)->sin_addr;
            if (!inet_ntop(pick->ai_family, a, text, sizeof text))
                text[0] = '\0';
        }
        if (!pick && why[0]) {
            block(r, true, "%s", why);
        } else if (!text[0]) {
            block(r, false, "could not resolve host %s: no usable address", rs->host);
        } else {
            /* Any host and port of the request goes to the checked address. */
            bool v6 = pick->ai_family == AF_INET6;
            snprintf(r->connect_to_line, sizeof r->connect_to_line, "::%s%s%s:%s", v6 ? "[" : "",
                     text, v6 ? "]" : "", rs->port);
            r->connect_to.data = r->connect_to_line;
            r->connect_to.next = NULL;
            if (SETOPT(r->easy, CURLOPT_CONNECT_TO, &r->connect_to))
                block(r, false, "could not pin the connection to %s", text);
        }
    }
    if (res)
        freeaddrinfo(res);
    if (r->blocked) {
        curl_easy_setopt(r->easy, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(r->easy, CURLOPT_FORBID_REUSE, 1L);
    }
}

int hookd_request_setup(hookd_request *r, CURL *easy, hookd_request_tpl *t,
                        const char *delivery_id, hookd_method method, const char *query,
                        const char *body, size_t body_len, const hookd_send_opts *opts)
{
    memset(r, 0, offsetof(hookd_request, response));
    r->response_len = r->response_total = 0;
    r->refused = false;
    r->why[0] = r->errbuf[0] = '\0';
    r->easy = easy;
    r->allow_private = opts->allow_private;
    r->opts = opts;
    r->n_refused = r->n_opened = 0;
    r->blocked = r->blocked_final = false;
    r->resolve = NULL;
    r->connect_to_line[0] = '\0';
    curl_easy_reset(easy);
    if (build_headers(r, t, delivery_id, body, body_len, opts->rotation_overlap_ms) != 0)
        return -1;
    if (query && !(r->url = hookd_payload_url(t->url, query)))
        return -1;
    bool https = strncasecmp(t->url, "https:", 6) == 0;
    if (opts->https_only && !https)
        block(r, true, "%s", "http URL not allowed: https only (hookd runs with --https-only)");
    else if (opts->proxy && resolve_prepare(r, t->url) != 0)
        return -1;
    int bad = SETOPT(easy, CURLOPT_URL, r->url ? r->url : t->url) ||
              SETOPT(easy, CURLOPT_PROTOCOLS_STR, opts->https_only ? "https" : "http,https") ||
              SETOPT(easy, CURLOPT_FOLLOWLOCATION, 0L) || SETOPT(easy, CURLOPT_NOSIGNAL, 1L) ||
              SETOPT(easy, CURLOPT_TIMEOUT_MS, (long)opts->timeout_ms) ||
              SETOPT(easy, CURLOPT_HTTPHEADER, r->head) ||
              SETOPT(easy, CURLOPT_OPENSOCKETFUNCTION, open_socket) ||
              SETOPT(easy, CURLOPT_OPENSOCKETDATA, r) ||
              SETOPT(easy, CURLOPT_WRITEFUNCTION, on_body) || SETOPT(easy, CURLOPT_WRITEDATA, r) ||
              SETOPT(easy, CURLOPT_ERRORBUFFER, r->errbuf) || SETOPT(easy, CURLOPT_PRIVATE, r);
    bad = bad || set_transport(r, easy, opts);
    if (method == HOOKD_METHOD_GET) {
        bad = bad || SETOPT(easy, CURLOPT_HTTPGET, 1L);
    } else {
        if (method != HOOKD_METHOD_POST)
            bad = bad || SETOPT(easy, CURLOPT_CUSTOMREQUEST, hookd_method_name(method));
        if (method == HOOKD_METHOD_POST || body_len)
            bad = bad || SETOPT(easy, CURLOPT_POSTFIELDS, body) ||
                  SETOPT(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    r->started_ms = hookd_now_ms();
    return bad ? -1 : 0;
}

/* The wait the answer's Retry-After asks for (docs/api.md), 0 for none. Read from
 * the last response of the transfer (request -1): the one whose status
 * decides, not a 1xx or a proxy's CONNECT answer before it. */
static int64_t read_retry_after(CURL *easy)
{
    struct curl_header *h = NULL;
    if (curl_easy_header(easy, "Retry-After", 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h)
        return 0;
    int64_t ms = hookd_retry_after_parse(h->value, hookd_now_ms());
    return ms > 0 ? ms : 0;
}

void hookd_request_finish(hookd_request *r, CURLcode code, hookd_attempt_result *out)
{
    long status = 0;
    curl_off_t total_us = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    r->response[r->response_len] = '\0';
    hookd_utf8_sanitize(r->response);
    memset(out, 0, sizeof *out);
    out->status_code = (int)status;
    out->duration_ms = total_us / 1000;
    out->started_ms = r->started_ms;
    /* Refused only when no address was connected to: an attempt that reached
     * an allowed address is judged by its answer. */
    r->refused = r->blocked ? r->blocked_final : r->n_refused > 0 && r->n_opened == 0;
    out->refused = r->refused;
    out->body = status ? r->response : NULL;
    if (r->blocked) {
        out->status_code = 0;
        out->error = r->why;
        out->body = NULL;
    } else if (r->refused) {
        out->status_code = 0;
        out->error = r->why;
    } else if (code != CURLE_OK && status < 200) {
        /* No final answer: a transport failure, with libcurl's detail
         * ("Operation timed out after 500 ms …"). Once a final status line
         * came, it decides and error stays NULL whatever befell the rest of
         * the answer (cut short, reset, too large, too slow): the receiver
         * has acted on the request, so retrying a 2xx would send it the
         * message twice. */
        if (!r->errbuf[0])
            snprintf(r->errbuf, sizeof r->errbuf, "%s", curl_easy_strerror(code));
        hookd_utf8_sanitize(r->errbuf);
        out->error = r->errbuf;
        if (!status)
            out->body = NULL;
    }
    if (out->status_code)
        out->retry_after_ms = read_retry_after(r->easy);
}

void hookd_request_cleanup(hookd_request *r)
{
    free(r->url);
    r->url = NULL;
    if (r->resolve && r->resolve->cb.ar_result)
        freeaddrinfo(r->resolve->cb.ar_result);
    free(r->resolve);
    r->resolve = NULL;
}

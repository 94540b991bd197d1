/*
 * request.c — one attempt's HTTP request (see request.h).
 */
#include "delivery/request.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/guard.h"
#include "model/payload.h"
#include "util/timeutil.h"
#include "util/utf8.h"

/* The secret's key bytes: base64 after "whsec_" (88 characters decode to at
 * most 66 bytes). Returns the length, or -1 if the secret is not valid. */
static long secret_key(const char *secret, unsigned char key[96])
{
    if (strncmp(secret, "whsec_", 6) != 0 || strlen(secret + 6) > 88)
        return -1;
    long n = hookd_base64_decode(secret + 6, key);
    return n > 0 ? n : -1;
}

/* "v1," + base64 of the MAC of "id.timestamp." followed by the body. */
static int sign_with(hookd_hmac_key *key, const char *id, int64_t timestamp, const char *body,
                     size_t body_len, char out[HOOKD_SIGNATURE_MAX])
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
               char out[HOOKD_SIGNATURE_MAX])
{
    unsigned char raw[96];
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
    unsigned char raw[96];
    memset(t, 0, sizeof *t);
    t->version = wh->version;
    long keylen = secret_key(wh->secret, raw);
    if (keylen < 0 || hookd_hmac_key_init(&t->key, raw, (size_t)keylen) != 0 ||
        !(t->url = strdup(wh->url)) || hookd_webhook_tail_headers(wh, add_tail, t) != 0)
        return -1;
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
    free(t->url);
    memset(t, 0, sizeof *t);
}

/* ---- one attempt ----------------------------------------------------------- */

/* Libcurl asks us to open each socket: judge the resolved address first, so
 * whatever spelling or DNS answer led here, loopback and private ranges stay
 * closed unless allowed. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    hookd_request *r = clientp;
    (void)purpose;
    if (!hookd_guard_allowed(&a->addr, a->addrlen, r->allow_private, r->why, sizeof r->why)) {
        r->refused = true;
        return CURL_SOCKET_BAD;
    }
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
                         const char *body, size_t body_len)
{
    static char CONTENT_TYPE[] = "Content-Type: application/json";
    static char USER_AGENT[] = "User-Agent: hookd/" HOOKD_VERSION;
    int64_t now_s = hookd_now_ms() / 1000;
    if (sign_with(&t->key, delivery_id, now_s, body, body_len, r->signature) != 0)
        return -1;
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
    curl_easy_reset(easy);
    if (build_headers(r, t, delivery_id, body, body_len) != 0)
        return -1;
    if (query && !(r->url = hookd_payload_url(t->url, query)))
        return -1;
    int bad = SETOPT(easy, CURLOPT_URL, r->url ? r->url : t->url) ||
              SETOPT(easy, CURLOPT_PROTOCOLS_STR, "http,https") ||
              SETOPT(easy, CURLOPT_FOLLOWLOCATION, 0L) || SETOPT(easy, CURLOPT_NOSIGNAL, 1L) ||
              SETOPT(easy, CURLOPT_TIMEOUT_MS, (long)opts->timeout_ms) ||
              SETOPT(easy, CURLOPT_HTTPHEADER, r->head) ||
              SETOPT(easy, CURLOPT_OPENSOCKETFUNCTION, open_socket) ||
              SETOPT(easy, CURLOPT_OPENSOCKETDATA, r) ||
              SETOPT(easy, CURLOPT_WRITEFUNCTION, on_body) || SETOPT(easy, CURLOPT_WRITEDATA, r) ||
              SETOPT(easy, CURLOPT_ERRORBUFFER, r->errbuf) || SETOPT(easy, CURLOPT_PRIVATE, r);
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
    out->refused = r->refused;
    out->body = status ? r->response : NULL;
    if (r->refused) {
        out->status_code = 0;
        out->error = r->why;
    } else if (code != CURLE_OK && !(status && code == CURLE_WRITE_ERROR)) {
        /* keep libcurl's detail ("Operation timed out after 500 ms …") */
        if (!r->errbuf[0])
            snprintf(r->errbuf, sizeof r->errbuf, "%s", curl_easy_strerror(code));
        hookd_utf8_sanitize(r->errbuf);
        out->error = r->errbuf;
        if (!status)
            out->body = NULL;
    }
}

void hookd_request_cleanup(hookd_request *r)
{
    free(r->url);
    r->url = NULL;
}

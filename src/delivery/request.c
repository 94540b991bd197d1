#include "delivery/request.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "delivery/guard.h"
#include "util/crypto.h"
#include "util/timeutil.h"
#include "util/utf8.h"

int hookd_sign(const char *secret, const char *id, int64_t timestamp, const char *body,
               char out[64])
{
    unsigned char key[96], mac[32]; /* 88 base64 chars decode to at most 66 bytes */
    if (strncmp(secret, "whsec_", 6) != 0 || strlen(secret + 6) > 88)
        return -1;
    long keylen = hookd_base64_decode(secret + 6, key);
    if (keylen <= 0)
        return -1;
    /* id.timestamp.body, signed in pieces so the body is never copied. */
    char prefix[128];
    int n = snprintf(prefix, sizeof prefix, "%s.%lld.", id, (long long)timestamp);
    if (n < 0 || (size_t)n >= sizeof prefix)
        return -1;
    size_t blen = strlen(body);
    char *msg = malloc((size_t)n + blen + 1);
    if (!msg)
        return -1;
    memcpy(msg, prefix, (size_t)n);
    memcpy(msg + n, body, blen + 1);
    hookd_hmac_sha256(key, (size_t)keylen, msg, (size_t)n + blen, mac);
    free(msg);
    memcpy(out, "v1,", 3);
    hookd_base64_encode(mac, sizeof mac, out + 3);
    return 0;
}

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

/* Appends "Name: value" to the list and name → value to the shown object. */
static int add_header(hookd_request *r, json_t *shown, const char *name, const char *value,
                      bool redact)
{
    size_t len = strlen(name) + strlen(value) + 3;
    char *line = malloc(len);
    if (!line)
        return -1;
    snprintf(line, len, "%s: %s", name, value);
    struct curl_slist *l = curl_slist_append(r->headers, line);
    free(line);
    if (!l)
        return -1;
    r->headers = l;
    json_object_set_new(shown, name, json_string(redact ? "[redacted]" : value));
    return 0;
}

static int basic_auth_value(const hookd_webhook *wh, char **out)
{
    size_t ulen = strlen(wh->basic_user), plen = wh->basic_pass ? strlen(wh->basic_pass) : 0;
    char *plain = malloc(ulen + plen + 2);
    char *value = malloc(6 + 4 * ((ulen + plen + 1 + 2) / 3) + 1);
    if (!plain || !value) {
        free(plain);
        free(value);
        return -1;
    }
    snprintf(plain, ulen + plen + 2, "%s:%s", wh->basic_user, wh->basic_pass ? wh->basic_pass : "");
    memcpy(value, "Basic ", 6);
    hookd_base64_encode(plain, ulen + plen + 1, value + 6);
    free(plain);
    *out = value;
    return 0;
}

static int build_headers(hookd_request *r, const hookd_webhook *wh, const char *delivery_id,
                         const char *body)
{
    json_t *shown = json_object();
    char ts[24], sig[64];
    int64_t now_s = hookd_now_ms() / 1000;
    snprintf(ts, sizeof ts, "%lld", (long long)now_s);
    if (!shown || hookd_sign(wh->secret, delivery_id, now_s, body, sig) != 0)
        goto fail;
    if ((body[0] && add_header(r, shown, "Content-Type", "application/json", false)) ||
        add_header(r, shown, "User-Agent", "hookd/" HOOKD_VERSION, false) ||
        add_header(r, shown, "webhook-id", delivery_id, false) ||
        add_header(r, shown, "webhook-timestamp", ts, false) ||
        add_header(r, shown, "webhook-signature", sig, false))
        goto fail;
    if (wh->basic_user) {
        char *auth = NULL;
        int rc = basic_auth_value(wh, &auth);
        rc = rc ? rc : add_header(r, shown, "Authorization", auth, true);
        free(auth);
        if (rc)
            goto fail;
    }
    for (size_t i = 0; i < wh->n_headers; i++) {
        bool redact = strcasecmp(wh->headers[i].key, "Authorization") == 0;
        if (add_header(r, shown, wh->headers[i].key, wh->headers[i].value, redact))
            goto fail;
    }
    /* libcurl's own defaults that the contract does not list. */
    struct curl_slist *l = curl_slist_append(r->headers, "Accept:");
    if (!l || !(r->headers = l) || !(l = curl_slist_append(r->headers, "Expect:")))
        goto fail;
    r->headers = l;
    r->shown_headers = json_dumps(shown, JSON_COMPACT);
    json_decref(shown);
    return r->shown_headers ? 0 : -1;
fail:
    json_decref(shown);
    return -1;
}

int hookd_request_setup(hookd_request *r, CURL *easy, const hookd_webhook *wh,
                        const char *delivery_id, const char *method, const char *url,
                        const char *body, const hookd_send_opts *opts)
{
    memset(r, 0, sizeof *r);
    r->easy = easy;
    r->allow_private = opts->allow_private;
    curl_easy_reset(easy);
    if (build_headers(r, wh, delivery_id, body) != 0)
        return -1;
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)opts->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, r);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, r);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    } else {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
        if (body[0]) {
            curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
        }
    }
    r->started_ms = hookd_now_ms();
    return 0;
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
    curl_slist_free_all(r->headers);
    free(r->shown_headers);
    r->headers = NULL;
    r->shown_headers = NULL;
}

/*
 * client.c — the command line's HTTP client (client.h), on libcurl easy.
 */
#include "cli/client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/json.h"

#define ANSWER_MAX (16 * 1024 * 1024) /* no answer of hookd's comes near it */
#define CALL_TIMEOUT_MS 30000

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    hookd_buf *b = ctx;
    size_t len = size * n;
    if (b->len + len > ANSWER_MAX)
        return 0; /* curl stops with CURLE_WRITE_ERROR */
    hookd_buf_append(b, data, len);
    return b->failed ? 0 : len;
}

/* Sets every option; false if one was refused. */
static bool setup(CURL *h, const char *method, const char *url,
                  const char *body, struct curl_slist *headers, hookd_buf *answer)
{
    return curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_PROXY, "") == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)CALL_TIMEOUT_MS) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_WRITEDATA, answer) == CURLE_OK &&
           (!body || curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) == CURLE_OK);
}

int hookd_client_call(const hookd_client *c, const char *method, const char *path,
                      const json_t *body, hookd_client_answer *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char *url = NULL, *text = NULL, *auth = NULL;
    struct curl_slist *headers = NULL;
    hookd_buf answer = {0};
    int rc = -1;
    CURL *h = curl_easy_init();
    size_t ulen = strlen(c->base) + strlen(path) + 1;
    if (!h || !(url = malloc(ulen)) || (body && !(text = hookd_json_dumps(body)))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    /* "http://host:8080/" and "/api/v1/keys" make one slash. */
    size_t blen = strlen(c->base);
    while (blen && c->base[blen - 1] == '/')
        blen--;
    snprintf(url, ulen, "%.*s%s", (int)blen, c->base, path);
    if (c->key) {
        size_t alen = strlen(c->key) + 32;
        if (!(auth = malloc(alen))) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        snprintf(auth, alen, "Authorization: Bearer %s", c->key);
        headers = curl_slist_append(headers, auth);
    }
    if (body)
        headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Accept: application/json");
    if (!headers || !setup(h, method, url, text, headers, &answer)) {
        snprintf(err, errlen, "cannot set up the request");
        goto out;
    }
    CURLcode cr = curl_easy_perform(h);
    if (cr != CURLE_OK) {
        snprintf(err, errlen, "%s: %s", url, curl_easy_strerror(cr));
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    if (answer.len)
        out->json = json_loadb(answer.data, answer.len, 0, NULL);
    rc = 0;
out:
    if (auth) {
        memset(auth, 0, strlen(auth));
        free(auth);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    hookd_buf_free(&answer);
    free(text);
    free(url);
    return rc;
}

void hookd_client_error_text(const hookd_client_answer *a, char *buf, size_t len)
{
    const json_t *e = json_object_get(a->json, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *field = json_string_value(json_object_get(e, "field"));
    if (msg && field)
        snprintf(buf, len, "%s (field %s; HTTP %ld)", msg, field, a->status);
    else if (msg)
        snprintf(buf, len, "%s (HTTP %ld)", msg, a->status);
    else
        snprintf(buf, len, "the server answered HTTP %ld", a->status);
}

void hookd_client_answer_clear(hookd_client_answer *a)
{
    json_decref(a->json);
    a->json = NULL;
}

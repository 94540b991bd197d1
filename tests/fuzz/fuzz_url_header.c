/*
 * fuzz_url_header.c — libFuzzer driver for the single-value rules of a
 * webhook's `url` and custom `headers` (docs/api.md#webhook-settings): hookd_webhook_check_url,
 * hookd_webhook_check_header_key and hookd_webhook_check_header_value
 * (src/model/webhook.h), and for how an accepted header is sent (the header
 * lines of hookd_request_tpl_init, src/delivery/request.h, through libcurl).
 *
 * Input layout: byte 0 even → the rest is a URL; odd → byte 1 is the key's
 * length k, the next k bytes the header key, the rest its value. Inputs with a
 * NUL inside a string are skipped: the API refuses "\u0000" before any
 * validator runs, and these take C strings.
 *
 * Invariants checked:
 *   URL: a refusal is a 400 naming "url" with a message. An accepted URL is
 *   at most 2048 bytes without spaces or control characters; libcurl's URL
 *   parser (curl_url, default flags: schemes this libcurl speaks) reads it as
 *   http or https with a host and without user or password; and the URL a
 *   GET/DELETE payload travels to (hookd_payload_url) still parses, with the
 *   same scheme, host and port, the payload query at the end of its query
 *   and no fragment. Conversely, every URL libcurl reads that way and that
 *   meets the byte rules is accepted (hookd refuses nothing the contract
 *   allows).
 *   Header: the key is accepted exactly when it is an HTTP token (RFC 9110)
 *   that is not Host, Content-Length, Content-Type, Transfer-Encoding,
 *   Connection or webhook-*; the value exactly when it holds no CR or LF. An
 *   accepted pair, sent by libcurl over a socketpair from the template's
 *   header list, shows up in the request head as exactly one line for that
 *   name, byte for byte "key: value" ("key:" for a value libcurl would
 *   call blank), and the head has no CR or LF outside its line ends.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "delivery/request.h"
#include "model/payload.h"
#include "model/webhook.h"
#include "util/error.h"

#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_url_header: invariant failed: %s: ", #cond);                     \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The query hookd_payload_url appends in the check below. */
#define PAYLOAD_QUERY "hookd_fuzz=1"

static void poison(hookd_error *err)
{
    memset(err, 0x5a, sizeof *err);
    err->code = NULL;
    err->status = 0;
}

static void check_refusal(const hookd_error *err, const char *field, const char *what)
{
    FUZZ_CHECK(err->status == 400 && err->code && strcmp(err->code, "invalid") == 0,
               "%s: status %d code %s", what, err->status, err->code ? err->code : "(null)");
    FUZZ_CHECK(memchr(err->field, '\0', sizeof err->field) && strcmp(err->field, field) == 0,
               "%s: field '%.*s', expected '%s'", what, (int)sizeof err->field, err->field, field);
    FUZZ_CHECK(memchr(err->message, '\0', sizeof err->message) && err->message[0],
               "%s: no message", what);
}

/* ---- URL ----------------------------------------------------------------- */

/* The parts of url as libcurl reads it (flags for curl_url_set); false if
 * libcurl does not read it as a URL with a scheme and a host. */
typedef struct url_parts {
    char *scheme, *host, *port, *user, *password, *query, *fragment;
} url_parts;

static void parts_free(url_parts *p)
{
    curl_free(p->scheme);
    curl_free(p->host);
    curl_free(p->port);
    curl_free(p->user);
    curl_free(p->password);
    curl_free(p->query);
    curl_free(p->fragment);
    memset(p, 0, sizeof *p);
}

static bool url_read(const char *url, unsigned flags, url_parts *p)
{
    memset(p, 0, sizeof *p);
    CURLU *u = curl_url();
    FUZZ_CHECK(u != NULL, "curl_url");
    bool ok = curl_url_set(u, CURLUPART_URL, url, flags) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_SCHEME, &p->scheme, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &p->host, 0) == CURLUE_OK && p->host && *p->host;
    if (ok) {
        /* Absent parts answer an error code and leave the pointer NULL. */
        curl_url_get(u, CURLUPART_PORT, &p->port, CURLU_DEFAULT_PORT);
        curl_url_get(u, CURLUPART_USER, &p->user, 0);
        curl_url_get(u, CURLUPART_PASSWORD, &p->password, 0);
        curl_url_get(u, CURLUPART_QUERY, &p->query, 0);
        curl_url_get(u, CURLUPART_FRAGMENT, &p->fragment, 0);
    } else {
        parts_free(p);
    }
    curl_url_cleanup(u);
    return ok;
}

static bool http_scheme(const char *scheme)
{
    return scheme && (strcasecmp(scheme, "http") == 0 || strcasecmp(scheme, "https") == 0);
}

/* The byte rules of the contract and of hookd: length, no space or control
 * character, and the scheme followed at once by "://" and an authority
 * (libcurl would read "http:///x" and "http:/x" as host "x"). */
static bool url_bytes_ok(const char *url)
{
    if (strlen(url) > HOOKD_WEBHOOK_URL_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)url; *p; p++) {
        if (*p <= 0x20 || *p == 0x7f)
            return false;
    }
    const char *auth = strchr(url, ':');
    return auth && strncmp(auth, "://", 3) == 0 && auth[3] && !strchr("/?#", auth[3]);
}

static void check_accepted_url(const char *url)
{
    url_parts p;
    FUZZ_CHECK(url_bytes_ok(url), "accepted '%.300s' breaks the length or byte rules", url);
    FUZZ_CHECK(url_read(url, 0, &p), "accepted '%.300s' is no URL to libcurl", url);
    FUZZ_CHECK(http_scheme(p.scheme), "accepted '%.300s' has scheme %s", url, p.scheme);
    /* libcurl read the scheme where the text has it, "://" right after. */
    size_t sn = strlen(p.scheme);
    FUZZ_CHECK(strncasecmp(url, p.scheme, sn) == 0 && strncmp(url + sn, "://", 3) == 0,
               "accepted '%.300s' is read as scheme %s with the host elsewhere", url, p.scheme);
    FUZZ_CHECK(!p.user && !p.password, "accepted '%.300s' holds credentials (%s:%s)", url,
               p.user ? p.user : "", p.password ? p.password : "");

    /* A GET/DELETE delivery goes to the URL with the payload appended. */
    char *with_query = hookd_payload_url(url, PAYLOAD_QUERY);
    FUZZ_CHECK(with_query != NULL, "hookd_payload_url returned NULL");
    url_parts q;
    FUZZ_CHECK(url_read(with_query, 0, &q), "payload URL '%.300s' of '%.300s' does not parse",
               with_query, url);
    FUZZ_CHECK(strcasecmp(p.scheme, q.scheme) == 0 && strcmp(p.host, q.host) == 0 && p.port &&
                   q.port && strcmp(p.port, q.port) == 0,
               "payload URL '%.300s' goes elsewhere than '%.300s'", with_query, url);
    size_t qn = q.query ? strlen(q.query) : 0, an = strlen(PAYLOAD_QUERY);
    FUZZ_CHECK(qn >= an && strcmp(q.query + qn - an, PAYLOAD_QUERY) == 0 && !q.fragment,
               "payload URL '%.300s': query '%s', fragment '%s'", with_query,
               q.query ? q.query : "(none)", q.fragment ? q.fragment : "(none)");
    parts_free(&q);
    free(with_query);
    parts_free(&p);
}

static void fuzz_url(const char *url)
{
    hookd_error err;
    poison(&err);
    int rc = hookd_webhook_check_url(url, &err);
    if (rc == 0) {
        check_accepted_url(url);
        return;
    }
    FUZZ_CHECK(rc == HOOKD_EINVAL, "rc=%d", rc);
    check_refusal(&err, "url", "url");
    /* What libcurl reads as an http(s) URL with a host and no credentials,
     * within the byte rules, is what the contract allows. */
    url_parts p;
    if (url_bytes_ok(url) && url_read(url, CURLU_NON_SUPPORT_SCHEME, &p)) {
        bool allowed = http_scheme(p.scheme) && !p.user && !p.password;
        parts_free(&p);
        FUZZ_CHECK(!allowed, "'%.300s' refused (%s) though the contract allows it", url,
                   err.message);
    }
}

/* ---- headers ------------------------------------------------------------- */

static bool tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* docs/api.md#webhook-settings, written out again as the oracle. */
static bool key_allowed(const char *key)
{
    static const char *const REFUSED[] = {"Host", "Content-Length", "Content-Type",
                                          "Transfer-Encoding", "Connection"};
    if (!*key)
        return false;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        if (!tchar(*p))
            return false;
    }
    for (size_t i = 0; i < sizeof REFUSED / sizeof REFUSED[0]; i++) {
        if (strcasecmp(key, REFUSED[i]) == 0)
            return false;
    }
    return strncasecmp(key, "webhook-", 8) != 0;
}

/* libcurl leaves out a custom header whose value is blank by its isspace. */
static bool curl_blank(const char *value)
{
    for (const char *p = value; *p; p++) {
        if (!strchr(" \t\v\f\r\n", *p))
            return false;
    }
    return true;
}

static size_t discard(char *data, size_t size, size_t nmemb, void *userp)
{
    (void)data;
    (void)userp;
    return size * nmemb;
}

/* A listening loopback socket (non-blocking), made once; each send is one
 * connection to it. */
static int listener = -1;
static char listen_url[64];

static void listen_once(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof sa;
    listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(listener >= 0, "socket: %s", strerror(errno));
    FUZZ_CHECK(bind(listener, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(listener, 4) == 0 &&
                   getsockname(listener, (struct sockaddr *)&sa, &alen) == 0,
               "listen: %s", strerror(errno));
    snprintf(listen_url, sizeof listen_url, "http://127.0.0.1:%u/hook", ntohs(sa.sin_port));
}

/* Reads what is there from fd into *buf (growing it); true at EOF. */
static bool drain(int fd, char **buf, size_t *n, size_t *cap)
{
    for (;;) {
        if (*n + 1 >= *cap) {
            *cap *= 2;
            *buf = realloc(*buf, *cap);
            FUZZ_CHECK(*buf != NULL, "realloc");
        }
        ssize_t got = read(fd, *buf + *n, *cap - 1 - *n);
        if (got == 0)
            return true;
        if (got < 0) {
            FUZZ_CHECK(errno == EAGAIN || errno == EWOULDBLOCK, "read: %s", strerror(errno));
            (*buf)[*n] = '\0';
            return false;
        }
        *n += (size_t)got;
        (*buf)[*n] = '\0';
    }
}

/* Sends a GET with the header list through libcurl to the listener and
 * returns the request bytes as they arrived (new string, *len bytes). One
 * thread plays both sides: libcurl's multi interface, and between its steps
 * the server end, which answers 204 once the head is complete. */
static char *send_and_capture(struct curl_slist *list, size_t *len)
{
    static const char ANSWER[] = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
    CURL *easy = curl_easy_init();
    CURLM *multi = curl_multi_init();
    FUZZ_CHECK(easy && multi, "curl init");
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(easy, CURLOPT_URL, listen_url);
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
    curl_multi_add_handle(multi, easy);

    size_t cap = 1024, n = 0;
    char *buf = malloc(cap);
    FUZZ_CHECK(buf != NULL, "malloc");
    buf[0] = '\0';
    int conn = -1, running = 1;
    bool answered = false, eof = false;
    while (running) {
        FUZZ_CHECK(curl_multi_perform(multi, &running) == CURLM_OK, "curl_multi_perform");
        if (conn < 0)
            conn = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (conn >= 0 && !eof) {
            eof = drain(conn, &buf, &n, &cap);
            if (!answered && strstr(buf, "\r\n\r\n")) {
                FUZZ_CHECK(write(conn, ANSWER, sizeof ANSWER - 1) == (ssize_t)(sizeof ANSWER - 1),
                           "write: %s", strerror(errno));
                answered = true;
            }
        }
        struct curl_waitfd w = {.fd = conn >= 0 ? conn : listener, .events = CURL_WAIT_POLLIN};
        if (running)
            curl_multi_poll(multi, eof ? NULL : &w, eof ? 0 : 1, 100, NULL);
    }
    int left;
    CURLMsg *msg = curl_multi_info_read(multi, &left);
    FUZZ_CHECK(msg && msg->msg == CURLMSG_DONE, "no result from libcurl");
    CURLcode code = msg->data.result;
    FUZZ_CHECK(code == CURLE_OK, "libcurl could not send the header: %s %s",
               curl_easy_strerror(code), errbuf);
    curl_multi_remove_handle(multi, easy);
    curl_easy_cleanup(easy);
    curl_multi_cleanup(multi);
    FUZZ_CHECK(conn >= 0, "no connection arrived");
    /* libcurl has closed its end: whatever else it sent is there now. */
    for (int tries = 0; !eof; tries++) {
        FUZZ_CHECK(tries < 10000, "the connection stays open after libcurl is done");
        eof = drain(conn, &buf, &n, &cap);
        if (!eof)
            usleep(100);
    }
    close(conn);
    *len = n;
    return buf;
}

static void check_sent(const char *key, const char *value)
{
    hookd_webhook *wh = hookd_webhook_new(0);
    FUZZ_CHECK(wh != NULL, "hookd_webhook_new");
    free(wh->url);
    wh->url = strdup("http://127.0.0.1:9/hook");
    wh->headers = calloc(1, sizeof *wh->headers);
    FUZZ_CHECK(wh->url && wh->headers, "out of memory");
    wh->headers[0].key = strdup(key);
    wh->headers[0].value = strdup(value);
    wh->n_headers = 1;
    FUZZ_CHECK(wh->headers[0].key && wh->headers[0].value, "out of memory");

    hookd_request_tpl t;
    FUZZ_CHECK(hookd_request_tpl_init(&t, wh) == 0, "hookd_request_tpl_init failed");
    size_t len;
    char *head = send_and_capture(t.tail, &len);
    hookd_request_tpl_clear(&t);
    hookd_webhook_free(wh);

    FUZZ_CHECK(strlen(head) == len, "a NUL in the request head");
    FUZZ_CHECK(len >= 4 && strcmp(head + len - 4, "\r\n\r\n") == 0 &&
                   strstr(head, "\r\n\r\n") == head + len - 4,
               "the head does not end at its first empty line: %.500s", head);
    for (size_t i = 0; i < len; i++) {
        FUZZ_CHECK(head[i] != '\n' || (i > 0 && head[i - 1] == '\r'), "bare LF at %zu: %.500s", i,
                   head);
        FUZZ_CHECK(head[i] != '\r' || head[i + 1] == '\n', "bare CR at %zu: %.500s", i, head);
    }

    size_t klen = strlen(key);
    size_t want_len = klen + 1 + (curl_blank(value) ? 0 : 1 + strlen(value));
    int named = 0, exact = 0;
    /* Header lines: after the request line, up to the empty line. */
    for (char *line = strstr(head, "\r\n") + 2; *line && strncmp(line, "\r\n", 2) != 0;) {
        char *end = strstr(line, "\r\n");
        size_t n = (size_t)(end - line);
        if (n > klen && line[klen] == ':' && strncasecmp(line, key, klen) == 0) {
            named++;
            exact += n == want_len && strncmp(line, key, klen) == 0 &&
                     (want_len == klen + 1 ||
                      (line[klen + 1] == ' ' && memcmp(line + klen + 2, value, n - klen - 2) == 0));
        }
        line = end + 2;
    }
    FUZZ_CHECK(named == 1 && exact == 1,
               "header '%s' sent on %d lines (%d exact) for value '%.200s': %.800s", key, named,
               exact, value, head);
    free(head);
}

static void fuzz_header(const char *key, const char *value)
{
    hookd_error err;
    poison(&err);
    int krc = hookd_webhook_check_header_key(key, "headers[3].key", &err);
    FUZZ_CHECK(krc == 0 || krc == HOOKD_EINVAL, "key rc=%d", krc);
    if (krc)
        check_refusal(&err, "headers[3].key", "key");
    FUZZ_CHECK((krc == 0) == key_allowed(key), "key '%.300s' %s", key,
               krc == 0 ? "accepted but the contract refuses it" : "refused but allowed");

    poison(&err);
    int vrc = hookd_webhook_check_header_value(value, "headers[3].value", &err);
    FUZZ_CHECK(vrc == 0 || vrc == HOOKD_EINVAL, "value rc=%d", vrc);
    if (vrc)
        check_refusal(&err, "headers[3].value", "value");
    bool value_allowed = !strpbrk(value, "\r\n");
    FUZZ_CHECK((vrc == 0) == value_allowed, "value '%.300s' %s", value,
               vrc == 0 ? "accepted with CR or LF" : "refused without CR or LF");

    if (krc == 0 && vrc == 0)
        check_sent(key, value);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    listen_once();
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : 1;
}

/* n bytes of p as a new C string. Not strndup: ASan's strict string checks
 * (CI runs with strict_string_checks=1) read its source as a C string, past
 * the end of libFuzzer's input, which has no NUL. */
static char *dup_bytes(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    FUZZ_CHECK(s != NULL, "out of memory");
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if ((data[0] & 1) == 0) {
        if (memchr(data + 1, '\0', size - 1))
            return 0;
        char *url = dup_bytes(data + 1, size - 1);
        fuzz_url(url);
        free(url);
        return 0;
    }
    if (size < 2)
        return 0;
    size_t klen = data[1];
    if (klen > size - 2)
        klen = size - 2;
    const uint8_t *kp = data + 2, *vp = kp + klen;
    size_t vlen = size - 2 - klen;
    if (memchr(kp, '\0', klen) || memchr(vp, '\0', vlen))
        return 0;
    char *key = dup_bytes(kp, klen), *value = dup_bytes(vp, vlen);
    fuzz_header(key, value);
    free(key);
    free(value);
    return 0;
}

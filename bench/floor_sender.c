/*
 * floor_sender.c — the floor hookd's CPU per delivery is compared with (see
 * bench/README.md): the least a sender built on libcurl's multi interface
 * spends to send one signed webhook, with no storage, no parsing, no
 * payload building. Driven by bench/run_core.sh.
 *
 *   floor_sender --url URL --body FILE [-n N] [--conc C] [--loop socket|perform]
 *
 * Sends N POSTs of the body in FILE to URL over keep-alive connections with C
 * transfers in flight, each with the Standard Webhooks headers computed for
 * that request (webhook-id, webhook-timestamp, webhook-signature: v1,<base64
 * HMAC-SHA256 of id.timestamp.body> keyed with a random 32-byte secret, as
 * hookd signs). Every answer must be 2xx. Prints one human line on stderr
 * and "RESULT {json}" on stdout: requests/s, and CPU µs per request
 * (getrusage user + system over the sending, ÷ N).
 *
 * --loop socket (default) drives libcurl by its event interface
 * (curl_multi_socket_action + epoll), the cheapest way to run many
 * transfers; --loop perform uses curl_multi_perform + curl_multi_poll, the
 * simpler loop hookd's engine uses today, to show what the loop itself costs.
 *
 * Only loopback URLs are accepted. Exit status 0, 1 if a request failed or a
 * step broke, 2 on bad usage.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench_util.h"

#define CONC_MAX 4096
#define BODY_MAX (1024 * 1024)
#define SECRET_BYTES 32
#define EVENTS_MAX 256
#define REQUEST_TIMEOUT_S 30L

/* One transfer slot: an easy handle reused request after request (its
 * connection stays alive in the multi's pool) and the headers of its
 * current request. */
typedef struct slot {
    CURL *easy;
    struct curl_slist *headers;
} slot;

typedef struct sender {
    CURLM *multi;
    slot *slots;
    long conc;
    const char *url;
    const char *body;
    size_t body_len;
    EVP_MAC_CTX *mac; /* keyed once; duplicated per signature */
    long n, started, done, failed;
    int epfd;
    long timeout_ms; /* libcurl's timer, for the socket loop */
    char first_error[256];
} sender;

static int64_t g_id_hi; /* the random half of every webhook-id of the run */

/* webhook-signature for one request: "v1," + base64(HMAC-SHA256(secret,
 * id "." ts "." body)). Returns 0 or -1. */
static int sign(sender *s, const char *id, const char *ts, char *out, size_t cap)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    EVP_MAC_CTX *c = EVP_MAC_CTX_dup(s->mac);
    int ok = c && EVP_MAC_update(c, (const unsigned char *)id, strlen(id)) &&
             EVP_MAC_update(c, (const unsigned char *)".", 1) &&
             EVP_MAC_update(c, (const unsigned char *)ts, strlen(ts)) &&
             EVP_MAC_update(c, (const unsigned char *)".", 1) &&
             EVP_MAC_update(c, (const unsigned char *)s->body, s->body_len) &&
             EVP_MAC_final(c, mac, &mac_len, sizeof mac);
    EVP_MAC_CTX_free(c);
    if (!ok || cap < 3 + 4 * ((mac_len + 2) / 3) + 1)
        return -1;
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)mac_len);
    return 0;
}

/* Starts request number s->started on slot sl with fresh headers. */
static int start_request(sender *s, slot *sl)
{
    char id[64], ts[32], sig[128], h_id[96], h_ts[64], h_sig[160];
    long k = s->started++;
    /* A UUID-shaped id, unique in the run, like hookd's delivery ids. */
    snprintf(id, sizeof id, "%08" PRIx64 "-%04" PRIx64 "-7%03lx-8000-%012lx",
             (uint64_t)g_id_hi >> 32, (uint64_t)g_id_hi & 0xffff, (unsigned long)(k >> 48) & 0xfff,
             (unsigned long)k & 0xffffffffffffUL);
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    if (sign(s, id, ts, sig, sizeof sig))
        return -1;
    snprintf(h_id, sizeof h_id, "webhook-id: %s", id);
    snprintf(h_ts, sizeof h_ts, "webhook-timestamp: %s", ts);
    snprintf(h_sig, sizeof h_sig, "webhook-signature: %s", sig);
    curl_slist_free_all(sl->headers);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "User-Agent: hookd-floor/1");
    h = curl_slist_append(h, h_id);
    h = curl_slist_append(h, h_ts);
    sl->headers = curl_slist_append(h, h_sig);
    if (!sl->headers)
        return -1;
    curl_easy_setopt(sl->easy, CURLOPT_HTTPHEADER, sl->headers);
    return curl_multi_add_handle(s->multi, sl->easy) == CURLM_OK ? 0 : -1;
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * nmemb;
}

static int slot_init(sender *s, slot *sl)
{
    sl->easy = curl_easy_init();
    if (!sl->easy)
        return -1;
    curl_easy_setopt(sl->easy, CURLOPT_URL, s->url);
    curl_easy_setopt(sl->easy, CURLOPT_POSTFIELDS, s->body);
    curl_easy_setopt(sl->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->body_len);
    curl_easy_setopt(sl->easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(sl->easy, CURLOPT_PRIVATE, sl);
    curl_easy_setopt(sl->easy, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
    curl_easy_setopt(sl->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(sl->easy, CURLOPT_PROXY, "");
    return 0;
}

/* Takes every finished transfer, checks its answer and starts the next
 * request on its slot while any are left. */
static int harvest(sender *s)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(s->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *e = m->easy_handle;
        CURLcode res = m->data.result;
        long status = 0;
        slot *sl = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&sl);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        curl_multi_remove_handle(s->multi, e);
        s->done++;
        if (res != CURLE_OK || status < 200 || status > 299) {
            if (!s->failed++)
                snprintf(s->first_error, sizeof s->first_error, "status %ld, %s", status,
                         curl_easy_strerror(res));
        }
        if (s->started < s->n && start_request(s, sl))
            return -1;
    }
    return 0;
}

/* ---- the event loop (curl_multi_socket_action + epoll) ------------------ */

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    sender *s = userp;
    (void)e;
    struct epoll_event ev = {.data.fd = fd};
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
        curl_multi_assign(s->multi, fd, NULL);
        return 0;
    }
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    /* socketp is NULL until the socket was added once: then modify it. */
    if (epoll_ctl(s->epfd, socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0)
        return -1;
    curl_multi_assign(s->multi, fd, s);
    return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    ((sender *)userp)->timeout_ms = timeout_ms;
    return 0;
}

static int loop_socket(sender *s)
{
    struct epoll_event ev[EVENTS_MAX];
    int running = 0;
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0)
        return -1;
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
    s->timeout_ms = 0;
    for (long i = 0; i < s->conc && s->started < s->n; i++) {
        if (start_request(s, &s->slots[i]))
            return -1;
    }
    while (s->done < s->n) {
        int n = epoll_wait(s->epfd, ev, EVENTS_MAX, s->timeout_ms < 0 ? 1000 : (int)s->timeout_ms);
        if (n <= 0) {
            s->timeout_ms = -1;
            curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        for (int i = 0; i < n; i++) {
            int flags = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                        (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                        (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
            curl_multi_socket_action(s->multi, ev[i].data.fd, flags, &running);
        }
        if (harvest(s))
            return -1;
    }
    close(s->epfd);
    return 0;
}

/* ---- the simple loop (curl_multi_perform + curl_multi_poll) ------------- */

static int loop_perform(sender *s)
{
    int running = 0;
    for (long i = 0; i < s->conc && s->started < s->n; i++) {
        if (start_request(s, &s->slots[i]))
            return -1;
    }
    while (s->done < s->n) {
        if (curl_multi_perform(s->multi, &running) != CURLM_OK || harvest(s))
            return -1;
        if (s->done < s->n && curl_multi_poll(s->multi, NULL, 0, 1000, NULL) != CURLM_OK)
            return -1;
    }
    return 0;
}

/* ---- setup and main ---------------------------------------------------- */

static char *read_body(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b = malloc(BODY_MAX);
    if (!f || !b) {
        if (f)
            fclose(f);
        free(b);
        return NULL;
    }
    *len = fread(b, 1, BODY_MAX, f);
    fclose(f);
    return b;
}

static EVP_MAC_CTX *mac_new(void)
{
    unsigned char key[SECRET_BYTES];
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                           OSSL_PARAM_construct_end()};
    EVP_MAC_free(mac); /* the context holds its own reference */
    if (!c || RAND_bytes(key, sizeof key) != 1 || !EVP_MAC_init(c, key, sizeof key, params)) {
        EVP_MAC_CTX_free(c);
        return NULL;
    }
    return c;
}

static double rusage_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int usage(void)
{
    fputs("usage: floor_sender --url URL --body FILE [-n N] [--conc C] [--loop socket|perform]\n"
          "URL must be on loopback, e.g. http://127.0.0.1:8080/hook\n",
          stderr);
    return 2;
}

static int run(sender *s, bool socket_loop)
{
    s->slots = calloc((size_t)s->conc, sizeof *s->slots);
    s->multi = curl_multi_init();
    if (!s->slots || !s->multi)
        return -1;
    /* Keep a connection per slot in the pool, as hookd keeps its own. */
    curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, s->conc);
    for (long i = 0; i < s->conc; i++) {
        if (slot_init(s, &s->slots[i]))
            return -1;
    }
    double cpu0 = rusage_s(), t0 = bench_now_s();
    int rc = socket_loop ? loop_socket(s) : loop_perform(s);
    double el = bench_now_s() - t0, cpu = rusage_s() - cpu0;
    if (rc)
        return -1;
    fprintf(stderr,
            "  floor: %ld requests in %.2f s = %.0f/s, %ld in flight (%s loop), "
            "CPU %.2f s = %.1f µs a request, %ld failed\n",
            s->done, el, (double)s->done / el, s->conc, socket_loop ? "socket" : "perform", cpu,
            cpu * 1e6 / (double)s->done, s->failed);
    printf("RESULT {\"n\":%ld,\"conc\":%ld,\"loop\":\"%s\",\"elapsed_s\":%.4f,\"per_s\":%.1f,"
           "\"cpu_s\":%.4f,\"cpu_us_per\":%.3f,\"failed\":%ld,\"body_bytes\":%zu}\n",
           s->done, s->conc, socket_loop ? "socket" : "perform", el, (double)s->done / el, cpu,
           cpu * 1e6 / (double)s->done, s->failed, s->body_len);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option LONG[] = {{"url", 1, 0, 'u'},
                                         {"body", 1, 0, 'b'},
                                         {"conc", 1, 0, 'c'},
                                         {"loop", 1, 0, 'l'},
                                         {0, 0, 0, 0}};
    sender s = {.n = 100000, .conc = 64};
    const char *body_path = NULL, *loop = "socket";
    int ch;
    while ((ch = getopt_long(argc, argv, "n:", LONG, NULL)) != -1) {
        int bad = 0;
        switch (ch) {
        case 'u':
            s.url = optarg;
            break;
        case 'b':
            body_path = optarg;
            break;
        case 'l':
            loop = optarg;
            break;
        case 'n':
            bad = bench_parse_long(optarg, 1, 100000000, &s.n);
            break;
        case 'c':
            bad = bench_parse_long(optarg, 1, CONC_MAX, &s.conc);
            break;
        default:
            bad = 1;
        }
        if (bad)
            return usage();
    }
    bool socket_loop = strcmp(loop, "socket") == 0;
    if (!s.url || !body_path || !bench_is_loopback_url(s.url) ||
        (!socket_loop && strcmp(loop, "perform") != 0))
        return usage();
    char *body = read_body(body_path, &s.body_len);
    s.body = body;
    s.mac = mac_new();
    if (RAND_bytes((unsigned char *)&g_id_hi, sizeof g_id_hi) != 1 || !body || !s.mac ||
        curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "floor_sender: setup failed (body %s)\n", body_path);
        return 1;
    }
    int rc = run(&s, socket_loop);
    if (rc)
        fprintf(stderr, "floor_sender: FAILED: the transfer loop broke\n");
    else if (s.failed)
        fprintf(stderr, "floor_sender: FAILED: %ld requests, first: %s\n", s.failed, s.first_error);
    for (long i = 0; s.slots && i < s.conc; i++) {
        curl_multi_remove_handle(s.multi, s.slots[i].easy);
        curl_easy_cleanup(s.slots[i].easy);
        curl_slist_free_all(s.slots[i].headers);
    }
    curl_multi_cleanup(s.multi);
    curl_global_cleanup();
    EVP_MAC_CTX_free(s.mac);
    free(s.slots);
    free(body);
    return rc || s.failed ? 1 : 0;
}

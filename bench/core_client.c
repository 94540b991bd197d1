/*
 * core_client.c — the load client of bench/run_core.sh (see bench/README.md).
 * It sets hookd up, makes the activities every phase sends, and runs the
 * timed "ingest N activities until the last delivery succeeded" phases, in C
 * so the client takes as little as possible of the CPU hookd needs.
 *
 *   core_client people  BASE KEY COUNT OUT
 *       merges COUNT people (requests of 1000) and writes their contact ids
 *       to OUT, one a line.
 *   core_client webhook BASE KEY NAME URL ACTIVITIES [THEN_URL]
 *       creates a webhook (ACTIVITIES comma separated, e.g. "act::s" or "*")
 *       and prints its id. THEN_URL: PATCHed in afterwards, for a receiver
 *       that must not be hit by the creation test send (a slow one).
 *   core_client payload CONTACTS
 *       prints a body shaped and sized like the payload hookd sends for one
 *       of the activities below (for wrk and the floor sender).
 *   core_client activities CONTACTS N SHARDS PREFIX TAG
 *       writes N full activities as JSON lines to PREFIX.0 … PREFIX.SHARDS-1
 *       (for the latency phase and the BullMQ peer's producers).
 *   core_client payload-size BASE KEY WEBHOOK
 *       prints the byte length of the newest stored payload of WEBHOOK.
 *   core_client run --base URL --key KEY --webhook ID --contacts FILE -n N [options]
 *       the timed phase; see run_usage() below. Prints human lines on stderr
 *       and one line "RESULT {json}" on stdout.
 *
 * Every activity is built here, before any clock starts: ~1 KB each (unique
 * client id, contact by contact_id, several campaign attributes, a
 * transactional campaign), or ~100 B for the backlog's small ones.
 *
 * Only loopback URLs are accepted. Exit status: 0 done (also when a phase hit
 * its time limit: that is a result, marked "complete":false), 1 a step broke
 * (a request not answered as expected, a transport error), 2 bad usage.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "bench_util.h"

#define MERGE_BATCH 1000              /* people per merge request (the API's maximum) */
#define INGEST_BODY_MAX (1024 * 1024) /* hookd answers 413 past 1 MiB */
#define ACT_BYTES 1000                /* a full activity's JSON, padded to this size */
#define ACT_MAX 4096
#define PAD_MAX 2048
#define CONTACT_MAX 64
#define THREADS_MAX 64
#define REQUEST_TIMEOUT_S 120L
#define NGINX_POLL_MS 10 /* nginx's counter is free to read: read it often */
#define POLL_SHARE 5     /* the stats read may take at most 1/POLL_SHARE of the time */
#define PROGRESS_S 10    /* a progress line this often, for phases of minutes */

/* ---- activities -------------------------------------------------------- */

/* The campaign attributes every full activity carries. The journey log
 * (str::js) is the padding that makes an activity ACT_BYTES long. */
static const char ATTR_FMT[] =
    "\"str::s\":\"Spring sale #%zu: 20%% off everything until Sunday\","
    "\"str::cn\":\"Spring sale 2024\",\"str::asn\":\"Spring newsletter, week 12, variant B\","
    "\"idt::c\":\"cmp_0123456789abcdef\","
    "\"str::c\":\"https://shop.example.com/"
    "spring?utm_source=newsletter&utm_medium=email&item=%zu\","
    "\"str::js\":\"%.*s\"";
static const char CAMPAIGN[] =
    "{\"id\":\"cmp_0123456789abcdef\",\"name\":\"Spring sale 2024\",\"transactional\":true}";
static char g_pad[PAD_MAX + 1];

static void pad_init(void)
{
    static const char TEXT[] =
        "Entered journey Spring follow-up at step 3, waited 2 days, sent email B. ";
    for (size_t i = 0; i < PAD_MAX; i++)
        g_pad[i] = TEXT[i % (sizeof TEXT - 1)];
    g_pad[PAD_MAX] = '\0';
}

/* Writes activity i (id TAG-i, contact contacts[i % n]) into out. A full one
 * is ACT_BYTES long (a few bytes more for large i); a small one has no
 * attributes. Returns its length, or 0 if cap was too small. */
static size_t activity_json(char *out, size_t cap, bool small, const char *field, const char *tag,
                            size_t i, const char *contact)
{
    int n;
    if (small) {
        n = snprintf(out, cap,
                     "{\"id\":\"%s-%zu\",\"field_id\":\"%s\",\"contact\":{\"contact_id\":\"%s\"}}",
                     tag, i, field, contact);
        return n > 0 && (size_t)n < cap ? (size_t)n : 0;
    }
    int pad = 0;
    for (int pass = 0; pass < 2; pass++) { /* first measure, then pad to size */
        char attr[ACT_MAX];
        int a = snprintf(attr, sizeof attr, ATTR_FMT, i, i, pad, g_pad);
        if (a < 0 || (size_t)a >= sizeof attr)
            return 0;
        n = snprintf(out, cap,
                     "{\"id\":\"%s-%zu\",\"field_id\":\"%s\",\"contact\":{\"contact_id\":\"%s\"},"
                     "\"attr\":{%s},\"campaign\":%s}",
                     tag, i, field, contact, attr, CAMPAIGN);
        if (n < 0 || (size_t)n >= cap)
            return 0;
        if (pass == 0)
            pad = n < ACT_BYTES ? (ACT_BYTES - n < PAD_MAX ? ACT_BYTES - n : PAD_MAX) : 0;
    }
    return (size_t)n;
}

/* A payload as hookd builds it for activity i (docs/payload.md: the activity with
 * created and bol::t added, the contact with its email, delivery id, time,
 * webhook id), so wrk and the floor send what hookd sends. */
static size_t payload_json(char *out, size_t cap, const char *contact, size_t i)
{
    char act[ACT_MAX], attr[ACT_MAX];
    /* The journey log padded exactly as the activity's was. */
    if (!activity_json(act, sizeof act, false, "act::s", "core", i, contact))
        return 0;
    const char *js = strstr(act, "\"str::js\":\"");
    int js_len = js ? (int)strcspn(js + 11, "\"") : 0;
    int a = snprintf(attr, sizeof attr, ATTR_FMT, i, i, js_len, g_pad);
    if (a < 0 || (size_t)a >= sizeof attr)
        return 0;
    int n = snprintf(
        out, cap,
        "{\"activity\":{\"id\":\"core-%zu\",\"field_id\":\"act::s\",\"created\":"
        "\"2024-03-18T09:30:00Z\",\"attr\":{%s,\"bol::t\":true}},"
        "\"contact\":{\"contact_id\":\"%s\",\"email\":\"person%zu@example.com\"},"
        "\"id\":\"0190f3a2-8b4c-7d1e-9f00-%012zx\",\"time\":\"2024-03-18T09:30:00.123456789Z\","
        "\"webhook_id\":\"0190f3a2-8b4c-7d1e-9f00-00000000beef\"}",
        i, attr, contact, i, i);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* ---- contacts ---------------------------------------------------------- */

typedef struct contacts {
    char (*id)[CONTACT_MAX];
    size_t n;
} contacts;

static int contacts_load(const char *path, contacts *c)
{
    FILE *f = fopen(path, "r");
    char line[256];
    size_t cap = 0;
    c->id = NULL;
    c->n = 0;
    if (!f) {
        fprintf(stderr, "core_client: cannot read %s\n", path);
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || strlen(line) >= CONTACT_MAX)
            continue;
        if (c->n == cap) {
            cap = cap ? cap * 2 : 1024;
            void *grown = realloc(c->id, cap * sizeof *c->id);
            if (!grown)
                break;
            c->id = grown;
        }
        snprintf(c->id[c->n++], CONTACT_MAX, "%s", line);
    }
    fclose(f);
    if (c->n == 0) {
        fprintf(stderr, "core_client: no contact ids in %s\n", path);
        return -1;
    }
    return 0;
}

/* ---- HTTP -------------------------------------------------------------- */

/* One request on handle c: method, base + path, optional body. Returns the
 * HTTP status, or -1 (transport error, printed). */
static long http_do(CURL *c, bench_buf *resp, const char *method, const char *base,
                    const char *path, const char *body, size_t body_len)
{
    char url[1024];
    long status = -1;
    snprintf(url, sizeof url, "%s%s", base, path);
    resp->len = 0;
    if (resp->data)
        resp->data[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcmp(method, "GET") ? method : NULL);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        fprintf(stderr, "core_client: %s %s: %s\n", method, url, curl_easy_strerror(rc));
    return status;
}

/* A one-off call on its own handle; the answer parsed as JSON into *out
 * (NULL if it was not JSON). Returns the status or -1. */
static long api_json(const char *base, const char *key, const char *method, const char *path,
                     const char *body, json_t **out)
{
    struct curl_slist *headers = NULL;
    bench_buf resp = {0};
    long st = -1;
    *out = NULL;
    CURL *c = bench_api_handle(key, REQUEST_TIMEOUT_S, &headers, &resp);
    if (c) {
        st = http_do(c, &resp, method, base, path, body, body ? strlen(body) : 0);
        *out = resp.data ? json_loads(resp.data, 0, NULL) : NULL;
        if (st >= 300)
            fprintf(stderr, "core_client: %s %s: status %ld: %.300s\n", method, path, st,
                    bench_buf_str(&resp));
        curl_easy_cleanup(c);
    }
    curl_slist_free_all(headers);
    free(resp.data);
    return st;
}

/* ---- setup commands ---------------------------------------------------- */

static int merge_batch(const char *base, const char *key, long from, long count, FILE *out)
{
    json_t *people = json_array();
    for (long i = from; i < from + count; i++) {
        char email[64], first[32];
        snprintf(email, sizeof email, "person%ld@example.com", i);
        snprintf(first, sizeof first, "Person%ld", i);
        json_array_append_new(
            people, json_pack("{s:{s:s,s:s}}", "fields", "str::email", email, "str::first", first));
    }
    json_t *req = json_pack("{s:o}", "people", people);
    char *body = json_dumps(req, JSON_COMPACT);
    json_t *doc = NULL;
    long st = api_json(base, key, "POST", "/api/v1/people/merge", body, &doc);
    int rc = st == 200 ? 0 : -1;
    json_t *list = json_object_get(doc, "people");
    for (size_t i = 0; rc == 0 && i < json_array_size(list); i++) {
        const char *id = json_string_value(json_object_get(json_array_get(list, i), "contact_id"));
        if (!bench_is_id(id))
            rc = -1;
        else
            fprintf(out, "%s\n", id);
    }
    json_decref(doc);
    json_decref(req);
    free(body);
    return rc;
}

static int cmd_people(const char *base, const char *key, long count, const char *path)
{
    FILE *out = fopen(path, "w");
    if (!out) {
        fprintf(stderr, "core_client: cannot write %s\n", path);
        return 1;
    }
    int rc = 0;
    for (long from = 0; rc == 0 && from < count; from += MERGE_BATCH)
        rc = merge_batch(base, key, from, count - from < MERGE_BATCH ? count - from : MERGE_BATCH,
                         out);
    if (fclose(out) != 0)
        rc = -1;
    return rc == 0 ? 0 : 1;
}

static int cmd_webhook(const char *base, const char *key, const char *name, const char *url,
                       const char *acts, const char *then_url)
{
    json_t *list = json_array();
    /* ACTIVITIES is a comma-separated list: one JSON string per item. */
    for (const char *p = acts; *p;) {
        size_t len = strcspn(p, ",");
        if (len)
            json_array_append_new(list, json_stringn(p, len));
        p += len + (p[len] == ',');
    }
    json_t *req = json_pack("{s:s,s:s,s:o}", "name", name, "url", url, "activities", list);
    char *body = json_dumps(req, JSON_COMPACT);
    json_t *doc = NULL;
    long st = api_json(base, key, "POST", "/api/v1/webhooks", body, &doc);
    const char *id = json_string_value(json_object_get(doc, "id"));
    int rc = st == 201 && bench_is_id(id) ? 0 : 1;
    if (rc == 0 && then_url) {
        char path[256];
        json_t *patch = json_pack("{s:s}", "url", then_url), *pdoc = NULL;
        char *pbody = json_dumps(patch, JSON_COMPACT);
        snprintf(path, sizeof path, "/api/v1/webhooks/%s", id);
        rc = api_json(base, key, "PATCH", path, pbody, &pdoc) == 200 ? 0 : 1;
        json_decref(pdoc);
        json_decref(patch);
        free(pbody);
    }
    if (rc == 0)
        printf("%s\n", id);
    json_decref(doc);
    json_decref(req);
    free(body);
    return rc;
}

static int cmd_payload(const char *contacts_path)
{
    contacts cs;
    char out[ACT_MAX];
    if (contacts_load(contacts_path, &cs))
        return 1;
    size_t n = payload_json(out, sizeof out, cs.id[0], 0);
    free(cs.id);
    if (!n)
        return 1;
    fwrite(out, 1, n, stdout);
    return 0;
}

static int cmd_activities(const char *contacts_path, long n, long shards, const char *prefix,
                          const char *tag)
{
    contacts cs;
    char act[ACT_MAX], path[1024];
    int rc = 0;
    if (contacts_load(contacts_path, &cs))
        return 1;
    for (long s = 0; rc == 0 && s < shards; s++) {
        snprintf(path, sizeof path, "%s.%ld", prefix, s);
        FILE *f = fopen(path, "w");
        if (!f) {
            fprintf(stderr, "core_client: cannot write %s\n", path);
            rc = 1;
            break;
        }
        /* Contiguous ranges: shard s holds activities [s*n/shards, (s+1)*n/shards). */
        for (long i = s * n / shards; i < (s + 1) * n / shards; i++) {
            size_t len = activity_json(act, sizeof act, false, "act::s", tag, (size_t)i,
                                       cs.id[(size_t)i % cs.n]);
            if (!len || fwrite(act, 1, len, f) != len || fputc('\n', f) == EOF) {
                rc = 1;
                break;
            }
        }
        if (fclose(f) != 0)
            rc = 1;
    }
    free(cs.id);
    return rc;
}

static int cmd_payload_size(const char *base, const char *key, const char *webhook)
{
    char path[256];
    json_t *doc = NULL;
    if (!bench_is_id(webhook))
        return 2;
    snprintf(path, sizeof path, "/api/v1/webhooks/%s/logs?limit=1&state=succeeded", webhook);
    long st = api_json(base, key, "GET", path, NULL, &doc);
    json_t *body = json_object_get(
        json_object_get(json_array_get(json_object_get(doc, "entries"), 0), "request"), "body");
    int rc = st == 200 && json_is_string(body) ? 0 : 1;
    if (rc == 0)
        printf("%zu\n", json_string_length(body));
    json_decref(doc);
    return rc;
}

/* ---- /proc sampling ---------------------------------------------------- */

/* What the phase costs hookd, read from /proc at its start and its end. */
typedef struct proc_sample {
    long long ticks;       /* hookd's user + system time, clock ticks */
    long long write_bytes; /* hookd's /proc/<pid>/io write_bytes */
    long long hwm_kb;      /* VmHWM: peak resident set */
    long long mach_busy, mach_total;
} proc_sample;

static long long proc_field(const char *path, const char *name)
{
    FILE *f = fopen(path, "r");
    char line[256];
    long long v = -1;
    size_t len = strlen(name);
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, name, len) == 0) {
            v = strtoll(line + len, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static long long proc_ticks(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces; fields count from after its ')'. */
    char *p = strrchr(buf, ')');
    long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &ut, &st) != 2)
        return -1;
    return ut + st;
}

static void machine_ticks(long long *busy, long long *total)
{
    FILE *f = fopen("/proc/stat", "r");
    long long v[10] = {0};
    *busy = *total = 0;
    if (!f)
        return;
    if (fscanf(f, "cpu %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1], &v[2],
               &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) >= 8) {
        for (int i = 0; i < 8; i++) /* guest time is already inside user */
            *total += v[i];
        *busy = *total - v[3] - v[4]; /* less idle and iowait */
    }
    fclose(f);
}

static void proc_sample_take(long pid, proc_sample *s)
{
    char path[64];
    s->ticks = s->write_bytes = s->hwm_kb = -1;
    if (pid > 0) {
        s->ticks = proc_ticks(pid);
        snprintf(path, sizeof path, "/proc/%ld/io", pid);
        s->write_bytes = proc_field(path, "write_bytes:");
        snprintf(path, sizeof path, "/proc/%ld/status", pid);
        s->hwm_kb = proc_field(path, "VmHWM:");
    }
    machine_ticks(&s->mach_busy, &s->mach_total);
}

/* ---- the timed run ----------------------------------------------------- */

/* What a phase waits for: the webhook's stats.succeeded_24h grown by N
 * (SUCCEEDED); none of its deliveries pending any more, every one attempted
 * once (ATTEMPTED, the backlog's fill); or none pending and then N
 * succeeded (SETTLED: the end seen by one index lookup instead of a stats
 * read, whose cost today grows with every other webhook's rows too). */
enum { WAIT_SUCCEEDED, WAIT_ATTEMPTED, WAIT_SETTLED };

#define INGEST_MAX 8 /* --ingest URLs: hookd processes sharing one store */

typedef struct run_opts {
    const char *base, *key, *webhook, *contacts, *field, *tag, *curve, *nginx_status;
    const char *ingest[INGEST_MAX]; /* request r goes to ingest[r % n_ingest] */
    int n_ingest;
    long n, batch, conc, poll_ms, timeout_s, pid;
    bool small;
    int wait;
} run_opts;

typedef struct req_rec {
    int64_t t_send, t_ack; /* 0: not sent */
    long status;
} req_rec;

typedef struct sample {
    int64_t t;      /* ns since t0 */
    long long done; /* succeeded (or 1 = "none pending") since the start */
    long long nginx;
    double read_ms;
} sample;

typedef struct run_state {
    const run_opts *o;
    char **bodies;
    size_t *body_len;
    size_t nreq;
    req_rec *recs;
    atomic_size_t next;
    atomic_int senders_left;
    atomic_long failed;
    pthread_mutex_t lock;
    char first_error[600];
    int64_t t0, deadline;
    /* filled by the poller */
    long long base_done, base_nginx;
    sample *samples;
    size_t n_samples, cap_samples;
    int64_t t_done, t_nginx_done;
    bool complete;
    long long done_count;
    long long nginx_count; /* deliveries nginx had seen at the end */
    proc_sample end;
} run_state;

static void run_fail(run_state *st, const char *what)
{
    atomic_fetch_add(&st->failed, 1);
    pthread_mutex_lock(&st->lock);
    if (!st->first_error[0])
        snprintf(st->first_error, sizeof st->first_error, "%s", what);
    pthread_mutex_unlock(&st->lock);
}

/* Every request body, built before the clock starts. */
static int build_bodies(run_state *st, const contacts *cs)
{
    const run_opts *o = st->o;
    st->nreq = (size_t)((o->n + o->batch - 1) / o->batch);
    st->bodies = calloc(st->nreq, sizeof *st->bodies);
    st->body_len = calloc(st->nreq, sizeof *st->body_len);
    st->recs = calloc(st->nreq, sizeof *st->recs);
    if (!st->bodies || !st->body_len || !st->recs)
        return -1;
    for (size_t r = 0; r < st->nreq; r++) {
        char *b = malloc(INGEST_BODY_MAX);
        size_t off = 0;
        if (!b)
            return -1;
        st->bodies[r] = b;
        off = (size_t)snprintf(b, INGEST_BODY_MAX, "{\"activities\":[");
        size_t from = r * (size_t)o->batch, to = from + (size_t)o->batch;
        if (to > (size_t)o->n)
            to = (size_t)o->n;
        for (size_t i = from; i < to; i++) {
            if (i > from)
                b[off++] = ',';
            size_t len = activity_json(b + off, INGEST_BODY_MAX - off - 3, o->small, o->field,
                                       o->tag, i, cs->id[i % cs->n]);
            if (!len) {
                fprintf(stderr,
                        "core_client: %ld activities do not fit in 1 MiB (hookd's cap); "
                        "lower --batch\n",
                        o->batch);
                return -1;
            }
            off += len;
        }
        memcpy(b + off, "]}", 3);
        st->body_len[r] = off + 2;
    }
    return 0;
}

static void *sender_main(void *arg)
{
    run_state *st = arg;
    struct curl_slist *headers = NULL;
    bench_buf resp = {0};
    char what[600];
    CURL *c = bench_api_handle(st->o->key, REQUEST_TIMEOUT_S, &headers, &resp);
    while (c) {
        size_t r = atomic_fetch_add(&st->next, 1);
        if (r >= st->nreq || bench_now_ns() > st->deadline)
            break;
        st->recs[r].t_send = bench_now_ns();
        long status = http_do(c, &resp, "POST", st->o->ingest[r % (size_t)st->o->n_ingest],
                              "/api/v1/activities", st->bodies[r], st->body_len[r]);
        st->recs[r].t_ack = bench_now_ns();
        st->recs[r].status = status;
        if (status != 202) {
            snprintf(what, sizeof what, "request %zu: status %ld: %.400s", r, status,
                     bench_buf_str(&resp));
            run_fail(st, what);
        }
    }
    if (!c)
        run_fail(st, "curl_easy_init failed");
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    free(resp.data);
    atomic_fetch_sub(&st->senders_left, 1);
    return NULL;
}

/* The webhook's stats.succeeded_24h from GET /api/v1/webhooks (today a
 * count over the rows of every webhook listed; after the rewrite, counters).
 * -1 if the read failed. */
static long long read_succeeded(CURL *c, bench_buf *resp, const run_opts *o)
{
    long long v = -1;
    if (http_do(c, resp, "GET", o->base, "/api/v1/webhooks", NULL, 0) != 200)
        return -1;
    json_t *doc = json_loadb(resp->data, resp->len, 0, NULL);
    json_t *list = json_object_get(doc, "webhooks");
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *w = json_array_get(list, i);
        const char *id = json_string_value(json_object_get(w, "id"));
        if (id && strcmp(id, o->webhook) == 0)
            v = json_integer_value(json_object_get(json_object_get(w, "stats"), "succeeded_24h"));
    }
    json_decref(doc);
    return v;
}

/* 1 once none of the webhook's deliveries is pending (never attempted, or
 * its first attempt still in flight), 0 while some are, -1 if the read
 * failed. One index lookup (…/logs?state=pending&limit=1): cheap however
 * many rows are stored. */
static long long read_none_pending(CURL *c, bench_buf *resp, const run_opts *o)
{
    char path[256];
    long long v = -1;
    snprintf(path, sizeof path, "/api/v1/webhooks/%s/logs?state=pending&limit=1", o->webhook);
    if (http_do(c, resp, "GET", o->base, path, NULL, 0) != 200)
        return -1;
    json_t *doc = json_loadb(resp->data, resp->len, 0, NULL);
    json_t *e = json_object_get(doc, "entries");
    v = json_is_array(e) ? (json_array_size(e) == 0) : -1;
    json_decref(doc);
    return v;
}

/* nginx's stub_status "requests" counter (every request it has read,
 * these reads included), or -1. */
static long long read_nginx(CURL *c, bench_buf *resp, const char *url)
{
    long long acc, handled, reqs;
    if (http_do(c, resp, "GET", url, "", NULL, 0) != 200 || !resp->data)
        return -1;
    const char *p = strstr(resp->data, "requests");
    if (!p || sscanf(p + 8, " %lld %lld %lld", &acc, &handled, &reqs) != 3)
        return -1;
    return reqs;
}

static void add_sample(run_state *st, sample s)
{
    if (st->n_samples == st->cap_samples) {
        size_t cap = st->cap_samples ? st->cap_samples * 2 : 256;
        sample *grown = realloc(st->samples, cap * sizeof *grown);
        if (!grown)
            return;
        st->samples = grown;
        st->cap_samples = cap;
    }
    st->samples[st->n_samples++] = s;
}

static void sleep_ns(int64_t ns)
{
    if (ns <= 0)
        return;
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    nanosleep(&ts, NULL);
}

typedef struct poller {
    CURL *api, *ngx;
    struct curl_slist *h_api, *h_ngx;
    bench_buf r_api, r_ngx;
    long long ngx_reads; /* status reads since the base one, to subtract */
    long long ngx_last;
} poller;

/* Reads nginx's counter every NGINX_POLL_MS until `until`, noting when it
 * first showed every delivery: a bound the stats poll cannot see finer. */
static void nginx_watch(run_state *st, poller *p, int64_t until)
{
    while (p->ngx) {
        if (!st->t_nginx_done) {
            long long v = read_nginx(p->ngx, &p->r_ngx, st->o->nginx_status);
            p->ngx_reads++;
            if (v >= 0) {
                p->ngx_last = v - st->base_nginx - p->ngx_reads;
                if (p->ngx_last >= st->o->n)
                    st->t_nginx_done = bench_now_ns();
            }
        }
        int64_t left = until - bench_now_ns();
        if (left <= 0)
            return;
        sleep_ns(left < NGINX_POLL_MS * 1000000LL ? left : NGINX_POLL_MS * 1000000LL);
    }
    sleep_ns(until - bench_now_ns());
}

static void progress(run_state *st, int64_t now, long long done, long long nginx)
{
    size_t acked = 0;
    for (size_t r = 0; r < st->nreq; r++)
        acked += st->recs[r].t_ack && st->recs[r].status == 202;
    long long acts = (long long)acked * st->o->batch;
    fprintf(stderr, "  [%3.0f s] %lld/%ld activities accepted, ", (now - st->t0) / 1e9,
            acts < st->o->n ? acts : st->o->n, st->o->n);
    if (st->o->wait == WAIT_SUCCEEDED)
        fprintf(stderr, "%lld succeeded, ", done);
    fprintf(stderr, "nginx has had %lld\n", nginx);
}

static void *poller_main(void *arg)
{
    run_state *st = arg;
    poller pl = {0};
    pl.api = bench_api_handle(st->o->key, REQUEST_TIMEOUT_S, &pl.h_api, &pl.r_api);
    if (st->o->nginx_status)
        pl.ngx = bench_api_handle("-", REQUEST_TIMEOUT_S, &pl.h_ngx, &pl.r_ngx);
    int64_t interval = st->o->poll_ms * 1000000LL, next = st->t0 + interval;
    int64_t next_progress = st->t0 + PROGRESS_S * 1000000000LL;
    while (pl.api) {
        nginx_watch(st, &pl, next);
        bool by_stats = st->o->wait == WAIT_SUCCEEDED;
        /* The pending list tells only once every activity was accepted
         * (before that, empty means nothing yet, not everything). */
        if (!by_stats && atomic_load(&st->senders_left) > 0) {
            next = bench_now_ns() + interval;
            if (bench_now_ns() > st->deadline)
                break;
            if (bench_now_ns() >= next_progress) {
                progress(st, bench_now_ns(), 0, pl.ngx_last);
                next_progress += PROGRESS_S * 1000000000LL;
            }
            continue;
        }
        int64_t a = bench_now_ns();
        long long v = by_stats ? read_succeeded(pl.api, &pl.r_api, st->o)
                               : read_none_pending(pl.api, &pl.r_api, st->o);
        int64_t b = bench_now_ns();
        long long done = v < 0 ? -1 : by_stats ? v - st->base_done : v;
        add_sample(st, (sample){b - st->t0, done, pl.ngx_last, (b - a) / 1e6});
        bool finished = by_stats ? done >= st->o->n : done == 1;
        if (finished || b > st->deadline) {
            proc_sample_take(st->o->pid, &st->end);
            st->t_done = b;
            st->nginx_count = pl.ngx_last;
            if (st->o->wait == WAIT_SETTLED) { /* nothing pending: did all N succeed? */
                v = read_succeeded(pl.api, &pl.r_api, st->o);
                done = v < 0 ? -1 : v - st->base_done;
                finished = finished && done >= st->o->n;
            }
            st->complete = finished;
            st->done_count = done;
            break;
        }
        if (b >= next_progress) {
            progress(st, b, done, pl.ngx_last);
            next_progress += PROGRESS_S * 1000000000LL;
        }
        /* Poll gently: today a stats read counts rows and grows with the
         * table, so it may take at most 1/POLL_SHARE of the time. */
        int64_t gap = (b - a) * POLL_SHARE;
        next = b + (gap > interval ? gap : interval);
    }
    if (!pl.api)
        run_fail(st, "curl_easy_init failed (poller)");
    curl_easy_cleanup(pl.api);
    curl_easy_cleanup(pl.ngx);
    curl_slist_free_all(pl.h_api);
    curl_slist_free_all(pl.h_ngx);
    free(pl.r_api.data);
    free(pl.r_ngx.data);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(const double *v, size_t n, double p)
{
    if (!n)
        return 0;
    size_t k = (size_t)(p / 100.0 * (double)n);
    return v[k < n ? k : n - 1];
}

static void write_curve(const run_state *st)
{
    FILE *f = st->o->curve ? fopen(st->o->curve, "w") : NULL;
    if (!f)
        return;
    fprintf(f, "ms\tdone\tnginx\tread_ms\n");
    for (size_t i = 0; i < st->n_samples; i++)
        fprintf(f, "%.0f\t%lld\t%lld\t%.2f\n", st->samples[i].t / 1e6, st->samples[i].done,
                st->samples[i].nginx, st->samples[i].read_ms);
    fclose(f);
}

/* The RESULT line: every figure of the phase, for run_core.sh to keep. */
static void report(const run_state *st, const proc_sample *start)
{
    const run_opts *o = st->o;
    size_t acked = 0;
    int64_t last_ack = st->t0;
    double *lat = calloc(st->nreq + 1, sizeof *lat),
           *reads = calloc(st->n_samples + 1, sizeof *reads);
    for (size_t r = 0; r < st->nreq; r++) {
        if (st->recs[r].t_ack && st->recs[r].status == 202) {
            if (lat)
                lat[acked] = (st->recs[r].t_ack - st->recs[r].t_send) / 1e6;
            acked++;
            if (st->recs[r].t_ack > last_ack)
                last_ack = st->recs[r].t_ack;
        }
    }
    for (size_t i = 0; reads && i < st->n_samples; i++)
        reads[i] = st->samples[i].read_ms;
    if (lat)
        qsort(lat, acked, sizeof *lat, cmp_double);
    if (reads)
        qsort(reads, st->n_samples, sizeof *reads, cmp_double);
    long long acts = (long long)acked * o->batch > o->n ? o->n : (long long)acked * o->batch;
    double el = (st->t_done - st->t0) / 1e9, ingest_s = (last_ack - st->t0) / 1e9;
    /* A fill counts attempts: all N once none is pending, else what nginx saw. */
    long long delivered = o->wait != WAIT_ATTEMPTED ? st->done_count
                          : st->complete            ? o->n
                                                    : st->nginx_count;
    if (delivered < 0)
        delivered = 0;
    long hz = sysconf(_SC_CLK_TCK);
    double cpu_s = start->ticks >= 0 && st->end.ticks >= 0
                       ? (double)(st->end.ticks - start->ticks) / (double)hz
                       : -1;
    long long mt = st->end.mach_total - start->mach_total;
    json_t *r = json_pack(
        "{s:I,s:I,s:I,s:b,s:f,s:f,s:f,s:f,s:I,s:f,s:f,s:I,s:f,s:f,s:f,s:f}", "n", (json_int_t)o->n,
        "accepted", (json_int_t)acts, "delivered", (json_int_t)delivered, "complete", st->complete,
        "elapsed_s", el, "deliveries_per_s", el > 0 ? (double)delivered / el : 0.0, "ingest_s",
        ingest_s, "ingest_per_s", ingest_s > 0 ? (double)acts / ingest_s : 0.0, "polls",
        (json_int_t)st->n_samples, "read_ms_p50", pct(reads, st->n_samples, 50), "read_ms_max",
        st->n_samples && reads ? reads[st->n_samples - 1] : 0.0, "requests", (json_int_t)acked,
        "req_ms_p50", pct(lat, acked, 50), "req_ms_max", acked && lat ? lat[acked - 1] : 0.0,
        "machine_busy_pct",
        mt > 0 ? 100.0 * (double)(st->end.mach_busy - start->mach_busy) / (double)mt : 0.0,
        "nginx_all_s", st->t_nginx_done ? (st->t_nginx_done - st->t0) / 1e9 : -1.0);
    if (o->pid > 0) {
        json_object_set_new(r, "hookd_cpu_s", json_real(cpu_s));
        json_object_set_new(
            r, "hookd_cpu_us_per",
            json_real(delivered > 0 && cpu_s >= 0 ? cpu_s * 1e6 / (double)delivered : -1));
        json_object_set_new(r, "write_bytes",
                            json_integer(st->end.write_bytes - start->write_bytes));
        json_object_set_new(r, "write_bytes_start", json_integer(start->write_bytes));
        json_object_set_new(r, "vm_hwm_kb", json_integer(st->end.hwm_kb));
    }
    char *s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(6));
    printf("RESULT %s\n", s ? s : "{}");
    fprintf(stderr,
            "  %lld/%ld %s in %.2f s = %.0f/s%s; ingest %.2f s = %.0f activities/s "
            "(p50 %.0f ms a request); %zu reads of hookd's count, p50 %.1f ms\n",
            delivered, o->n, o->wait == WAIT_ATTEMPTED ? "attempted" : "succeeded", el,
            el > 0 ? (double)delivered / el : 0.0, st->complete ? "" : " (INCOMPLETE)", ingest_s,
            ingest_s > 0 ? (double)acts / ingest_s : 0.0, pct(lat, acked, 50), st->n_samples,
            pct(reads, st->n_samples, 50));
    free(s);
    json_decref(r);
    free(lat);
    free(reads);
}

static int run_usage(void)
{
    fputs("usage: core_client run --base URL --key KEY --webhook ID --contacts FILE -n N\n"
          "         [--small] [--field act::s] [--tag T] [--batch 1000] [--conc 4]\n"
          "         [--poll-ms 250] [--timeout 180] [--wait succeeded|attempted|settled]\n"
          "         [--pid HOOKD_PID] [--curve FILE] [--nginx-status URL] [--ingest URL]...\n"
          "  --ingest: spread the ingest requests over these hookd processes (one store;\n"
          "            default: --base, which is also the one polled)\n"
          "  --wait succeeded: until the webhook's stats.succeeded_24h grew by N\n"
          "  --wait attempted: until none of its deliveries is pending (each tried once)\n"
          "  --wait settled: until none is pending, then checks N succeeded (one cheap\n"
          "                  lookup a poll instead of a stats read)\n",
          stderr);
    return 2;
}

static int run_parse(int argc, char **argv, run_opts *o)
{
    static const struct option LONG[] = {{"base", 1, 0, 'b'},         {"key", 1, 0, 'k'},
                                         {"webhook", 1, 0, 'w'},      {"contacts", 1, 0, 'c'},
                                         {"small", 0, 0, 's'},        {"field", 1, 0, 'f'},
                                         {"tag", 1, 0, 't'},          {"batch", 1, 0, 'B'},
                                         {"conc", 1, 0, 'C'},         {"poll-ms", 1, 0, 'p'},
                                         {"timeout", 1, 0, 'T'},      {"wait", 1, 0, 'W'},
                                         {"pid", 1, 0, 'P'},          {"curve", 1, 0, 'v'},
                                         {"nginx-status", 1, 0, 'g'}, {"ingest", 1, 0, 'i'},
                                         {0, 0, 0, 0}};
    *o = (run_opts){.field = "act::s",
                    .tag = "core",
                    .batch = 1000,
                    .conc = 4,
                    .poll_ms = 250,
                    .timeout_s = 180,
                    .wait = WAIT_SUCCEEDED};
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "n:", LONG, NULL)) != -1) {
        int bad = 0;
        switch (ch) {
        case 'b':
            o->base = optarg;
            break;
        case 'k':
            o->key = optarg;
            break;
        case 'w':
            o->webhook = optarg;
            break;
        case 'c':
            o->contacts = optarg;
            break;
        case 's':
            o->small = true;
            break;
        case 'f':
            o->field = optarg;
            break;
        case 't':
            o->tag = optarg;
            break;
        case 'v':
            o->curve = optarg;
            break;
        case 'g':
            o->nginx_status = optarg;
            break;
        case 'i':
            bad = o->n_ingest == INGEST_MAX || !bench_is_loopback_url(optarg);
            if (!bad)
                o->ingest[o->n_ingest++] = optarg;
            break;
        case 'n':
            bad = bench_parse_long(optarg, 1, 100000000, &o->n);
            break;
        case 'B':
            bad = bench_parse_long(optarg, 1, 1000, &o->batch);
            break;
        case 'C':
            bad = bench_parse_long(optarg, 1, THREADS_MAX, &o->conc);
            break;
        case 'p':
            bad = bench_parse_long(optarg, 10, 60000, &o->poll_ms);
            break;
        case 'T':
            bad = bench_parse_long(optarg, 1, 86400, &o->timeout_s);
            break;
        case 'P':
            bad = bench_parse_long(optarg, 1, 1L << 30, &o->pid);
            break;
        case 'W':
            bad = strcmp(optarg, "succeeded") && strcmp(optarg, "attempted") &&
                  strcmp(optarg, "settled");
            o->wait = strcmp(optarg, "attempted") == 0 ? WAIT_ATTEMPTED
                      : strcmp(optarg, "settled") == 0 ? WAIT_SETTLED
                                                       : WAIT_SUCCEEDED;
            break;
        default:
            bad = 1;
        }
        if (bad)
            return -1;
    }
    if (o->n_ingest == 0 && o->base)
        o->ingest[o->n_ingest++] = o->base;
    if (!o->base || !o->key || !bench_is_id(o->webhook) || !o->contacts || o->n <= 0 ||
        !bench_is_loopback_url(o->base) ||
        (o->nginx_status && !bench_is_loopback_url(o->nginx_status)))
        return -1;
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    run_opts o;
    contacts cs = {0};
    run_state st = {0};
    pthread_t th[THREADS_MAX], poll_th;
    int rc = 1;
    if (run_parse(argc, argv, &o))
        return run_usage();
    st.o = &o;
    pthread_mutex_init(&st.lock, NULL);
    if (contacts_load(o.contacts, &cs) || build_bodies(&st, &cs)) {
        fprintf(stderr, "core_client: cannot build the request bodies\n");
        goto out;
    }
    fprintf(stderr,
            "  %ld %s activities (%s) in %zu requests of <= %ld (%.0f KiB each), %ld "
            "connections, %zu contacts\n",
            o.n, o.small ? "small" : "~1 KB", o.field, st.nreq, o.batch, st.body_len[0] / 1024.0,
            o.conc, cs.n);
    /* The counts before the clock starts: the phase waits for growth. */
    {
        poller pl = {0};
        pl.api = bench_api_handle(o.key, REQUEST_TIMEOUT_S, &pl.h_api, &pl.r_api);
        st.base_done = o.wait != WAIT_ATTEMPTED ? read_succeeded(pl.api, &pl.r_api, &o) : 0;
        if (o.nginx_status) {
            pl.ngx = bench_api_handle("-", REQUEST_TIMEOUT_S, &pl.h_ngx, &pl.r_ngx);
            st.base_nginx = read_nginx(pl.ngx, &pl.r_ngx, o.nginx_status);
        }
        curl_easy_cleanup(pl.api);
        curl_easy_cleanup(pl.ngx);
        curl_slist_free_all(pl.h_api);
        curl_slist_free_all(pl.h_ngx);
        free(pl.r_api.data);
        free(pl.r_ngx.data);
        if (st.base_done < 0 || (o.nginx_status && st.base_nginx < 0)) {
            fprintf(stderr, "core_client: cannot read the starting counts\n");
            goto out;
        }
    }
    proc_sample start;
    proc_sample_take(o.pid, &start);
    st.t0 = bench_now_ns();
    st.deadline = st.t0 + o.timeout_s * 1000000000LL;
    atomic_store(&st.senders_left, (int)o.conc);
    long started = 0;
    for (; started < o.conc; started++) {
        if (pthread_create(&th[started], NULL, sender_main, &st) != 0)
            break;
    }
    atomic_fetch_sub(&st.senders_left, (int)(o.conc - started));
    bool polling = pthread_create(&poll_th, NULL, poller_main, &st) == 0;
    for (long i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (polling)
        pthread_join(poll_th, NULL);
    if (started != o.conc || !polling)
        run_fail(&st, "cannot start a thread");
    write_curve(&st);
    report(&st, &start);
    if (atomic_load(&st.failed)) {
        fprintf(stderr, "core_client: FAILED: %ld requests; first: %s\n", atomic_load(&st.failed),
                st.first_error);
        goto out;
    }
    rc = 0;
out:
    for (size_t r = 0; st.bodies && r < st.nreq; r++)
        free(st.bodies[r]);
    free(st.bodies);
    free(st.body_len);
    free(st.recs);
    free(st.samples);
    free(cs.id);
    pthread_mutex_destroy(&st.lock);
    return rc;
}

/* ---- main -------------------------------------------------------------- */

static int usage(void)
{
    fputs("usage: core_client people BASE KEY COUNT OUT\n"
          "       core_client webhook BASE KEY NAME URL ACTIVITIES [THEN_URL]\n"
          "       core_client payload CONTACTS\n"
          "       core_client activities CONTACTS N SHARDS PREFIX TAG\n"
          "       core_client payload-size BASE KEY WEBHOOK\n"
          "       core_client run … (core_client run --help)\n"
          "BASE and every URL must be on loopback, e.g. http://127.0.0.1:8080\n",
          stderr);
    return 2;
}

int main(int argc, char **argv)
{
    long a, b;
    int rc = 2;
    if (argc < 2)
        return usage();
    const char *cmd = argv[1];
    pad_init();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    if (strcmp(cmd, "run") == 0)
        rc = cmd_run(argc, argv);
    else if (strcmp(cmd, "payload") == 0 && argc == 3)
        rc = cmd_payload(argv[2]);
    else if (strcmp(cmd, "activities") == 0 && argc == 7 &&
             !bench_parse_long(argv[3], 1, 100000000, &a) && !bench_parse_long(argv[4], 1, 64, &b))
        rc = cmd_activities(argv[2], a, b, argv[5], argv[6]);
    else if (argc >= 4 && !bench_is_loopback_url(argv[2]))
        rc = usage();
    else if (strcmp(cmd, "people") == 0 && argc == 6 && !bench_parse_long(argv[4], 1, 10000000, &a))
        rc = cmd_people(argv[2], argv[3], a, argv[5]);
    else if (strcmp(cmd, "webhook") == 0 && (argc == 7 || argc == 8) &&
             (argc == 7 || bench_is_loopback_url(argv[7])) && bench_is_loopback_url(argv[5]))
        rc = cmd_webhook(argv[2], argv[3], argv[4], argv[5], argv[6], argc == 8 ? argv[7] : NULL);
    else if (strcmp(cmd, "payload-size") == 0 && argc == 5)
        rc = cmd_payload_size(argv[2], argv[3], argv[4]);
    else
        rc = usage();
    curl_global_cleanup();
    return rc;
}

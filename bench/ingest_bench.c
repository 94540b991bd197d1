/*
 * ingest_bench.c — how fast hookd takes activities in, against the floor set
 * by its storage. Driven by bench/run_ingest.sh; see bench/README.md.
 *
 *   ingest_bench setup    BASE_URL API_KEY
 *       creates the two bench webhooks and the bench person on a running
 *       hookd; prints "<contact_id> <webhook_id>" (the webhook of ["*"]).
 *   ingest_bench ingest   BASE_URL API_KEY CONTACT_ID THREADS SECONDS
 *       posts one pre-built body of BENCH_BATCH activities again and again
 *       from THREADS keep-alive connections for SECONDS; every answer must
 *       be 202. Prints "ingest: N activities/s".
 *   ingest_bench payload-size BASE_URL API_KEY WEBHOOK_ID
 *       prints the byte length of the newest stored payload of that webhook.
 *   ingest_bench baseline DB_PATH SECONDS PAYLOAD_BYTES
 *       writes the rows hookd would write for the same activities straight
 *       into a new SQLite file with hookd's durability settings, one
 *       transaction per BENCH_BATCH activities. Prints "baseline (raw SQLite,
 *       same durability): N activities/s".
 *
 * Only loopback addresses are accepted for BASE_URL: this is a load
 * generator, and it must never point at anything but this machine.
 * Exit status: 0 on success, 1 if any request failed or a step broke, 2 on
 * bad usage.
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

#define BENCH_BATCH 1000   /* activities per request / per transaction */
#define BENCH_DELIVERIES 2 /* webhooks an act::s activity goes to */
#define BENCH_THREADS_MAX 64
#define BENCH_SECONDS_MAX 600
#define BENCH_PAYLOAD_MIN 64
#define BENCH_PAYLOAD_MAX 65536
#define BENCH_REQUEST_TIMEOUT_S 60L

/* ---- HTTP --------------------------------------------------------------- */

/* One call: method and optional body. Returns the HTTP status, or -1 with
 * the curl error printed. resp receives the answer. */
static long api_call(const char *base, const char *api_key, const char *method, const char *path,
                     const char *body, bench_buf *resp)
{
    char url[1024];
    struct curl_slist *headers = NULL;
    long status = -1;
    resp->len = 0;
    CURL *c = bench_api_handle(api_key, BENCH_REQUEST_TIMEOUT_S, &headers, resp);
    if (!c)
        return -1;
    snprintf(url, sizeof url, "%s%s", base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        fprintf(stderr, "ingest_bench: %s %s: %s\n", method, url, curl_easy_strerror(rc));
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    return status;
}

/* ---- setup -------------------------------------------------------------- */

static int cmd_setup(const char *base, const char *key)
{
    static const char *const WEBHOOKS[] = {
        "{\"name\":\"bench sent email\",\"url\":\"http://127.0.0.1:9/\","
        "\"activities\":[\"act::s\"]}",
        "{\"name\":\"bench everything\",\"url\":\"http://127.0.0.1:9/\",\"activities\":[\"*\"]}",
    };
    static const char PERSON[] =
        "{\"people\":[{\"fields\":{\"str::email\":\"bench@example.com\",\"str::first\":\"Ben\"}}]}";
    bench_buf resp = {0};
    char webhook_id[64] = "";
    int status = 1;
    json_t *doc = NULL;
    for (size_t i = 0; i < sizeof WEBHOOKS / sizeof WEBHOOKS[0]; i++) {
        long st = api_call(base, key, "POST", "/api/v1/webhooks", WEBHOOKS[i], &resp);
        if (st != 201) {
            fprintf(stderr, "ingest_bench: creating webhook %zu: status %ld: %.500s\n", i, st,
                    resp.data ? resp.data : "");
            goto out;
        }
        doc = json_loads(resp.data, 0, NULL);
        const char *id = json_string_value(json_object_get(doc, "id"));
        if (!id || !bench_is_id(id)) {
            fprintf(stderr, "ingest_bench: webhook answer without an id: %.500s\n", resp.data);
            goto out;
        }
        snprintf(webhook_id, sizeof webhook_id, "%s", id);
        json_decref(doc);
        doc = NULL;
    }
    long st = api_call(base, key, "POST", "/api/v1/people/merge", PERSON, &resp);
    if (st != 200) {
        fprintf(stderr, "ingest_bench: merging the person: status %ld: %.500s\n", st,
                resp.data ? resp.data : "");
        goto out;
    }
    doc = json_loads(resp.data, 0, NULL);
    const char *cid = json_string_value(
        json_object_get(json_array_get(json_object_get(doc, "people"), 0), "contact_id"));
    if (!cid || !bench_is_id(cid)) {
        fprintf(stderr, "ingest_bench: merge answer without a contact_id: %.500s\n", resp.data);
        goto out;
    }
    printf("%s %s\n", cid, webhook_id);
    status = 0;
out:
    json_decref(doc);
    free(resp.data);
    return status;
}

static int cmd_payload_size(const char *base, const char *key, const char *webhook_id)
{
    char path[256];
    bench_buf resp = {0};
    int status = 1;
    if (!bench_is_id(webhook_id)) {
        fprintf(stderr, "ingest_bench: bad webhook id\n");
        return 2;
    }
    snprintf(path, sizeof path, "/api/v1/webhooks/%s/logs?limit=1", webhook_id);
    long st = api_call(base, key, "GET", path, NULL, &resp);
    json_t *doc = st == 200 ? json_loads(resp.data, 0, NULL) : NULL;
    json_t *body = json_object_get(
        json_object_get(json_array_get(json_object_get(doc, "entries"), 0), "request"), "body");
    if (json_is_string(body)) {
        printf("%zu\n", json_string_length(body));
        status = 0;
    } else {
        fprintf(stderr, "ingest_bench: no stored payload to measure (status %ld)\n", st);
    }
    json_decref(doc);
    free(resp.data);
    return status;
}

/* ---- ingest ------------------------------------------------------------- */

/* The request body: BENCH_BATCH copies of the activity of the brief, all for
 * one stored person, none with a client id (so no duplicate check costs). */
static char *make_ingest_body(const char *contact_id)
{
    static const char HEAD[] = "{\"activities\":[";
    static const char TAIL[] = "]}";
    char one[512];
    int n = snprintf(one, sizeof one,
                     "{\"field_id\":\"act::s\",\"contact\":{\"contact_id\":\"%s\"},"
                     "\"attr\":{\"str::s\":\"Subject\",\"idt::c\":\"c1\",\"int::pv\":3},"
                     "\"campaign\":{\"id\":\"c1\",\"name\":\"Welcome\",\"transactional\":true}}",
                     contact_id);
    if (n < 0 || (size_t)n >= sizeof one)
        return NULL;
    size_t total = sizeof HEAD - 1 + (size_t)BENCH_BATCH * ((size_t)n + 1) + sizeof TAIL;
    char *body = malloc(total);
    if (!body)
        return NULL;
    size_t off = 0;
    memcpy(body, HEAD, sizeof HEAD - 1);
    off += sizeof HEAD - 1;
    for (int i = 0; i < BENCH_BATCH; i++) {
        if (i)
            body[off++] = ',';
        memcpy(body + off, one, (size_t)n);
        off += (size_t)n;
    }
    memcpy(body + off, TAIL, sizeof TAIL); /* with its NUL */
    return body;
}

typedef struct worker {
    pthread_t thread;
    const char *url;
    const char *api_key;
    const char *body;
    double deadline;
    /* results */
    long ok;
    long failed;
    double *lat; /* seconds per successful request */
    size_t n_lat, cap_lat;
    char first_error[600];
} worker;

static void worker_fail(worker *w, const char *what)
{
    w->failed++;
    if (!w->first_error[0])
        snprintf(w->first_error, sizeof w->first_error, "%s", what);
}

static void *worker_run(void *arg)
{
    worker *w = arg;
    struct curl_slist *headers = NULL;
    bench_buf resp = {0};
    CURL *c = bench_api_handle(w->api_key, BENCH_REQUEST_TIMEOUT_S, &headers, &resp);
    if (!c) {
        worker_fail(w, "curl_easy_init failed");
        return NULL;
    }
    /* One handle for the whole run: curl keeps its connection open between
     * requests, so the bench measures hookd, not TCP setup. */
    curl_easy_setopt(c, CURLOPT_URL, w->url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, w->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(w->body));
    while (bench_now_s() < w->deadline) {
        resp.len = 0;
        double t0 = bench_now_s();
        CURLcode rc = curl_easy_perform(c);
        double dt = bench_now_s() - t0;
        long status = 0;
        char what[sizeof w->first_error];
        if (rc != CURLE_OK) {
            snprintf(what, sizeof what, "transport error: %s", curl_easy_strerror(rc));
            worker_fail(w, what);
            continue;
        }
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status != 202) {
            snprintf(what, sizeof what, "status %ld: %.500s", status, resp.data ? resp.data : "");
            worker_fail(w, what);
            continue;
        }
        w->ok++;
        if (w->n_lat == w->cap_lat) {
            size_t cap = w->cap_lat ? w->cap_lat * 2 : 1024;
            double *grown = realloc(w->lat, cap * sizeof *grown);
            if (!grown)
                continue; /* the count still stands; only the latency is lost */
            w->lat = grown;
            w->cap_lat = cap;
        }
        w->lat[w->n_lat++] = dt;
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    free(resp.data);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmd_ingest(const char *base, const char *key, const char *contact_id, long threads,
                      long seconds)
{
    char url[1024];
    worker *ws = calloc((size_t)threads, sizeof *ws);
    char *body = make_ingest_body(contact_id);
    double *all = NULL;
    int status = 1;
    if (!ws || !body) {
        fprintf(stderr, "ingest_bench: out of memory\n");
        goto out;
    }
    snprintf(url, sizeof url, "%s/api/v1/activities", base);

    /* One request before the clock starts: it fails fast on a wrong key or
     * contact, and it takes first-use costs (statement preparation, page
     * cache) out of the measurement. */
    bench_buf resp = {0};
    long st = api_call(base, key, "POST", "/api/v1/activities", body, &resp);
    if (st != 202) {
        fprintf(stderr, "ingest_bench: warm-up request: status %ld: %.500s\n", st,
                resp.data ? resp.data : "");
        free(resp.data);
        goto out;
    }
    free(resp.data);

    double t0 = bench_now_s();
    long started = 0;
    for (long i = 0; i < threads; i++) {
        ws[i] =
            (worker){.url = url, .api_key = key, .body = body, .deadline = t0 + (double)seconds};
        if (pthread_create(&ws[i].thread, NULL, worker_run, &ws[i]) != 0) {
            fprintf(stderr, "ingest_bench: cannot start thread %ld\n", i);
            break;
        }
        started++;
    }
    long ok = 0, failed = 0;
    size_t n_all = 0;
    for (long i = 0; i < started; i++) {
        pthread_join(ws[i].thread, NULL);
        ok += ws[i].ok;
        failed += ws[i].failed;
        n_all += ws[i].n_lat;
    }
    /* The last requests may end after the deadline: divide by the time the
     * work really took, not by the nominal duration. */
    double elapsed = bench_now_s() - t0;

    all = malloc((n_all ? n_all : 1) * sizeof *all);
    size_t k = 0;
    for (long i = 0; all && i < started; i++) {
        memcpy(all + k, ws[i].lat, ws[i].n_lat * sizeof *all);
        k += ws[i].n_lat;
    }
    if (all && k) {
        qsort(all, k, sizeof *all, cmp_double);
        printf("requests: %ld ok, %ld failed, %ld threads, %.1f s; latency per request of %d "
               "activities: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
               ok, failed, started, elapsed, BENCH_BATCH, all[k / 2] * 1e3,
               all[(k * 99) / 100 < k ? (k * 99) / 100 : k - 1] * 1e3, all[k - 1] * 1e3);
    }
    for (long i = 0; i < started; i++) {
        if (ws[i].first_error[0])
            fprintf(stderr, "ingest_bench: thread %ld: %ld failed; first: %s\n", i, ws[i].failed,
                    ws[i].first_error);
    }
    if (started != threads || failed > 0 || ok == 0) {
        fprintf(stderr, "ingest_bench: FAILED: %ld requests failed, %ld succeeded\n", failed, ok);
        goto out;
    }
    printf("ingest: %.0f activities/s\n", (double)ok * BENCH_BATCH / elapsed);
    status = 0;
out:
    for (long i = 0; ws && i < threads; i++)
        free(ws[i].lat);
    free(all);
    free(ws);
    free(body);
    return status;
}

/* ---- baseline ----------------------------------------------------------- */

/* The floor writes into a database hookd itself created (run_ingest.sh
 * starts hookd once on it), so it pays for exactly hookd's tables and index
 * maintenance, whatever migrations add; a copy of the schema here drifted. */
static const char SQL_ACTIVITY[] = "INSERT INTO activities(id, field_id, contact_id, created_ns, "
                                   "doc, campaign) VALUES(?, ?, ?, ?, ?, ?)";
static const char SQL_DELIVERY[] =
    "INSERT INTO deliveries(id, webhook_id, kind, activity_id, field_id, state, attempts, "
    "created_at, next_attempt_at, method, url, body) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* Ids shaped like hookd's (util/crypto.c hookd_id_new): version-7 UUIDs, a
 * 48-bit millisecond clock then random bits. The shape matters to the floor:
 * time-ordered ids land at the right edge of each unique index, while
 * random ones would scatter over a growing B-tree and make the floor slower
 * than hookd itself. hookd draws the random part from the CSPRNG; a cheap
 * generator keeps that cost out of the floor. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng_next(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

static void uuid_new(char out[37])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    uint64_t a = rng_next(), b = rng_next();
    snprintf(out, 37, "%08" PRIx32 "-%04" PRIx32 "-7%03" PRIx32 "-%04" PRIx32 "-%012" PRIx64,
             (uint32_t)(ms >> 16), (uint32_t)(ms & 0xffff), (uint32_t)(a & 0xfff),
             (uint32_t)((b >> 48) & 0x3fff) | 0x8000, b & UINT64_C(0xffffffffffff));
}

static int sql_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "ingest_bench: %s: %s\n", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int step_done(sqlite3 *db, sqlite3_stmt *q)
{
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "ingest_bench: insert: %s\n", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

/* A delivery body of exactly want bytes: the payload of docs/payload.md for the
 * bench activity, padded inside a string so it stays JSON. */
static void make_body(char *out, size_t want, const char *act_id, const char *delivery_id,
                      const char *contact_id, const char *webhook_id)
{
    int n = snprintf(out, want + 1,
                     "{\"activity\":{\"id\":\"%s\",\"field_id\":\"act::s\",\"created\":"
                     "\"2023-01-16T23:40:54Z\",\"attr\":{\"str::s\":\"Subject\",\"idt::c\":\"c1\","
                     "\"int::pv\":3,\"bol::t\":true}},\"contact\":{\"contact_id\":\"%s\","
                     "\"email\":\"bench@example.com\"},\"id\":\"%s\",\"time\":"
                     "\"2023-01-16T23:41:18.948713601Z\",\"webhook_id\":\"%s\",\"pad\":\"",
                     act_id, contact_id, delivery_id, webhook_id);
    size_t len = n < 0 ? 0 : (size_t)n > want ? want : (size_t)n;
    while (len + 2 < want)
        out[len++] = 'x';
    if (len + 2 <= want) {
        out[len++] = '"';
        out[len++] = '}';
    }
    out[len] = '\0';
}

static int cmd_baseline(const char *path, long seconds, long payload_bytes)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *qa = NULL, *qd = NULL;
    char *body = malloc((size_t)payload_bytes + 1);
    int status = 1;
    long activities = 0;
    char contact_id[37], webhook_ids[BENCH_DELIVERIES][37];
    uuid_new(contact_id);
    for (int w = 0; w < BENCH_DELIVERIES; w++)
        uuid_new(webhook_ids[w]);
    if (!body)
        goto out;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fprintf(stderr, "ingest_bench: cannot open %s (made by hookd first?)\n", path);
        goto out;
    }
    /* hookd's settings: WAL, and FULL so a commit survives power loss, which
     * is what hookd's 202 promises. */
    if (sql_exec(db, "PRAGMA journal_mode=WAL") || sql_exec(db, "PRAGMA synchronous=FULL"))
        goto out;
    if (sqlite3_prepare_v2(db, SQL_ACTIVITY, -1, &qa, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, SQL_DELIVERY, -1, &qd, NULL) != SQLITE_OK) {
        fprintf(stderr, "ingest_bench: prepare: %s\n", sqlite3_errmsg(db));
        goto out;
    }
    static const char CAMPAIGN[] = "{\"id\":\"c1\",\"name\":\"Welcome\",\"transactional\":true}";
    double t0 = bench_now_s(), deadline = t0 + (double)seconds;
    while (bench_now_s() < deadline) {
        if (sql_exec(db, "BEGIN IMMEDIATE"))
            goto out;
        int64_t now_ms = (int64_t)time(NULL) * 1000;
        for (int i = 0; i < BENCH_BATCH; i++) {
            char act_id[37], doc[512];
            uuid_new(act_id);
            snprintf(doc, sizeof doc,
                     "{\"id\":\"%s\",\"field_id\":\"act::s\",\"created\":\"2023-01-16T23:40:54Z\","
                     "\"attr\":{\"str::s\":\"Subject\",\"idt::c\":\"c1\",\"int::pv\":3}}",
                     act_id);
            sqlite3_bind_text(qa, 1, act_id, -1, SQLITE_STATIC);
            sqlite3_bind_text(qa, 2, "act::s", -1, SQLITE_STATIC);
            sqlite3_bind_text(qa, 3, contact_id, -1, SQLITE_STATIC);
            sqlite3_bind_int64(qa, 4, now_ms * 1000000);
            sqlite3_bind_text(qa, 5, doc, -1, SQLITE_STATIC);
            sqlite3_bind_text(qa, 6, CAMPAIGN, -1, SQLITE_STATIC);
            if (step_done(db, qa))
                goto rollback;
            for (int w = 0; w < BENCH_DELIVERIES; w++) {
                char delivery_id[37];
                uuid_new(delivery_id);
                make_body(body, (size_t)payload_bytes, act_id, delivery_id, contact_id,
                          webhook_ids[w]);
                sqlite3_bind_text(qd, 1, delivery_id, -1, SQLITE_STATIC);
                sqlite3_bind_text(qd, 2, webhook_ids[w], -1, SQLITE_STATIC);
                sqlite3_bind_text(qd, 3, "activity", -1, SQLITE_STATIC);
                sqlite3_bind_text(qd, 4, act_id, -1, SQLITE_STATIC);
                sqlite3_bind_text(qd, 5, "act::s", -1, SQLITE_STATIC);
                sqlite3_bind_int(qd, 6, 0); /* pending */
                sqlite3_bind_int(qd, 7, 0);
                sqlite3_bind_int64(qd, 8, now_ms);
                sqlite3_bind_int64(qd, 9, now_ms);
                sqlite3_bind_text(qd, 10, "POST", -1, SQLITE_STATIC);
                sqlite3_bind_text(qd, 11, "http://127.0.0.1:9/", -1, SQLITE_STATIC);
                sqlite3_bind_text(qd, 12, body, -1, SQLITE_STATIC);
                if (step_done(db, qd))
                    goto rollback;
            }
        }
        if (sql_exec(db, "COMMIT"))
            goto rollback;
        activities += BENCH_BATCH;
    }
    double elapsed = bench_now_s() - t0;
    printf("baseline: %ld activities in %.1f s, %d deliveries each, %ld-byte payloads\n",
           activities, elapsed, BENCH_DELIVERIES, payload_bytes);
    printf("baseline (raw SQLite, same durability): %.0f activities/s\n",
           (double)activities / elapsed);
    status = 0;
    goto out;
rollback:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
    sqlite3_finalize(qa);
    sqlite3_finalize(qd);
    sqlite3_close(db);
    free(body);
    return status;
}

/* ---- main --------------------------------------------------------------- */

static int usage(void)
{
    fputs("usage: ingest_bench setup BASE_URL API_KEY\n"
          "       ingest_bench ingest BASE_URL API_KEY CONTACT_ID THREADS SECONDS\n"
          "       ingest_bench payload-size BASE_URL API_KEY WEBHOOK_ID\n"
          "       ingest_bench baseline DB_PATH SECONDS PAYLOAD_BYTES\n"
          "BASE_URL must be on loopback, e.g. http://127.0.0.1:8080\n",
          stderr);
    return 2;
}

int main(int argc, char **argv)
{
    long threads, seconds, bytes;
    if (argc < 2)
        return usage();
    const char *cmd = argv[1];
    if (strcmp(cmd, "baseline") == 0) {
        if (argc != 5 || bench_parse_long(argv[3], 1, BENCH_SECONDS_MAX, &seconds) ||
            bench_parse_long(argv[4], BENCH_PAYLOAD_MIN, BENCH_PAYLOAD_MAX, &bytes))
            return usage();
        return cmd_baseline(argv[2], seconds, bytes);
    }
    if (argc < 4 || !bench_is_loopback_url(argv[2]))
        return usage();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    int rc;
    if (strcmp(cmd, "setup") == 0 && argc == 4)
        rc = cmd_setup(argv[2], argv[3]);
    else if (strcmp(cmd, "payload-size") == 0 && argc == 5)
        rc = cmd_payload_size(argv[2], argv[3], argv[4]);
    else if (strcmp(cmd, "ingest") == 0 && argc == 7 && bench_is_id(argv[4]) &&
             bench_parse_long(argv[5], 1, BENCH_THREADS_MAX, &threads) == 0 &&
             bench_parse_long(argv[6], 1, BENCH_SECONDS_MAX, &seconds) == 0)
        rc = cmd_ingest(argv[2], argv[3], argv[4], threads, seconds);
    else
        rc = usage();
    curl_global_cleanup();
    return rc;
}

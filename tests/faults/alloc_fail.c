/*
 * alloc_fail.c — the fault suite's allocation-failure driver: runs three of
 * hookd's paths again and again, failing the Nth allocation of run N, and
 * checks that every failure is a clean error and leaves nothing behind.
 *
 * Paths (each in a child process of its own, so a crash in one is reported
 * with its N and the others still run):
 *   ingest   accounts merge, people merge, then an activities ingest that
 *            fans out to two subscribed webhooks (and is skipped by a
 *            disconnected one), through the API handlers and the real
 *            SQLite store on a file in a temporary directory;
 *   payload  building a payload for webhooks with fields and every wire
 *            form of it (model/payload.h);
 *   webhook  create (parse + store, as the create handler does before its
 *            test send), patch, disconnect, connect and delete through the
 *            handlers.
 *
 * Allocation failure: the build links with -Wl,--wrap=malloc,calloc,
 * realloc,strdup,strndup, so every allocation hookd's own objects make goes
 * through the counter below; jansson (through hookd_json_setup, whose
 * allocator calls the wrapped malloc), SQLite (SQLITE_CONFIG_MALLOC) and
 * OpenSSL (CRYPTO_set_mem_functions) are routed through it too. Exactly one allocation fails per run: the Nth counted
 * since the run started. N goes 1, 1+K, 1+2K, … (K = --stride) until a run
 * in which no allocation was failed: that run must succeed in full. libcurl
 * is not on these paths (test sends are not run), so it is not routed.
 *
 * Checks for each run N: every call either fails with a clean error (an
 * error code and an HTTP status of 5xx: a failed allocation is never the
 * client's fault) or succeeds with exactly the answer and effect of a run
 * without failure; after a failure the store holds nothing of the failed
 * request (counts of people, accounts, activity ids, deliveries, skipped
 * counters, webhooks unchanged; a webhook unchanged) and the same request
 * made again without failure succeeds; and LeakSanitizer finds no leak
 * (checked after every run, so a leak names its N). Figures go to stdout,
 * with a last line "ALLOC_FAIL_RESULT {json}" for the suite.
 *
 * Usage: alloc_fail [--path ingest|payload|webhook] [--stride K] [--max-n N]
 *                   [--from N] [--trace] [--verbose]
 * --from N starts at N (to look at one failure: --from N --max-n N --trace,
 * which prints the stack of the allocation failed); --verbose shows hookd's
 * log; --keep leaves each path's database and says where.
 * Exit status 0 when every path passed, 1 otherwise.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/handlers.h"
#include "model/fields.h"
#include "model/payload.h"
#include "model/webhook.h"
#include "store/store.h"
#include "util/json.h"
#include "util/seal.h"
#include "util/timeutil.h"

/* ---- the counting allocator ------------------------------------------- */

static _Atomic long g_fail_at;   /* the allocation to fail, 0: counting off */
static _Atomic long g_calls;     /* allocations counted since armed */
static _Atomic long g_fired;     /* failures injected since armed */
static _Atomic int g_paused;     /* the driver's own checks: not counted */
static bool g_trace;             /* --trace: print the stack of each failure */
static bool g_keep;              /* --keep: leave the database for a look */

static bool fail_now(void)
{
    long at = atomic_load(&g_fail_at);
    if (at == 0 || atomic_load(&g_paused))
        return false;
    if (atomic_fetch_add(&g_calls, 1) + 1 != at)
        return false;
    atomic_fetch_add(&g_fired, 1);
    if (g_trace) {
        fprintf(stderr, "alloc_fail: failing allocation %ld here:\n", at);
        __sanitizer_print_stack_trace();
    }
    return true;
}

static void arm(long n)
{
    atomic_store(&g_calls, 0);
    atomic_store(&g_fired, 0);
    atomic_store(&g_paused, 1); /* counted only inside the path's calls */
    atomic_store(&g_fail_at, n);
}

static void disarm(void)
{
    atomic_store(&g_fail_at, 0);
}

static void pause_count(void)
{
    atomic_store(&g_paused, 1);
}

static void resume_count(void)
{
    atomic_store(&g_paused, 0);
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

void *__wrap_malloc(size_t n)
{
    return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
    return fail_now() ? NULL : __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n)
{
    return fail_now() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return fail_now() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return fail_now() ? NULL : __real_strndup(s, n);
}

/* hookd's log (wrapped too): counted, and shown only with --verbose, since
 * every store failure logs a line. */
static bool g_verbose;
static _Atomic long g_log_lines;
void __wrap_hookd_log(const char *level, const char *fmt, ...);
void __wrap_hookd_log(const char *level, const char *fmt, ...)
{
    atomic_fetch_add(&g_log_lines, 1);
    if (!g_verbose)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "  hookd %s %s\n", level, line);
}

/* SQLite's allocator: its xSize needs each block's size, kept in a header. */
#define SQ_HDR 16
static void *sq_malloc(int n)
{
    if (fail_now())
        return NULL;
    size_t *p = __real_malloc((size_t)n + SQ_HDR);
    if (!p)
        return NULL;
    p[0] = (size_t)n;
    return (char *)p + SQ_HDR;
}

static void sq_free(void *p)
{
    if (p)
        free((char *)p - SQ_HDR);
}

static void *sq_realloc(void *p, int n)
{
    if (fail_now())
        return NULL;
    size_t *q = __real_realloc(p ? (char *)p - SQ_HDR : NULL, (size_t)n + SQ_HDR);
    if (!q)
        return NULL;
    q[0] = (size_t)n;
    return (char *)q + SQ_HDR;
}

static int sq_size(void *p)
{
    return p ? (int)*(size_t *)((char *)p - SQ_HDR) : 0;
}

static int sq_roundup(int n)
{
    return (n + 7) & ~7;
}

static int sq_init(void *x)
{
    (void)x;
    return SQLITE_OK;
}

static void sq_shutdown(void *x)
{
    (void)x;
}

static void *ossl_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    return fail_now() ? NULL : __real_malloc(n);
}

static void *ossl_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    return fail_now() ? NULL : __real_realloc(p, n);
}

static void ossl_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    free(p);
}

/* Routes the libraries' allocations through the counter; before any of
 * them allocates. */
static void route_libraries(void)
{
    static const sqlite3_mem_methods mem = {sq_malloc, sq_free,     sq_realloc, sq_size,
                                            sq_roundup, sq_init, sq_shutdown, NULL};
    if (!CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free))
        fprintf(stderr, "alloc_fail: OpenSSL allocated already: its allocations are not "
                        "counted\n");
    if (sqlite3_config(SQLITE_CONFIG_MALLOC, &mem) != SQLITE_OK ||
        sqlite3_initialize() != SQLITE_OK) {
        fprintf(stderr, "alloc_fail: cannot set SQLite's allocator\n");
        exit(2);
    }
    /* hookd's own allocator for jansson (util/json.h) calls malloc, which
     * this build wraps: jansson's allocations are counted through it. */
    hookd_json_setup();
}

/* LeakSanitizer's check after every run scans what ASan holds, freed
 * blocks in quarantine included: with its default 256 MB a check takes
 * about 50 ms, with 4 MB a few (a run frees far less than that, so a use
 * after free within a run is still caught). Leaks are checked at exit too. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "quarantine_size_mb=4:detect_leaks=1";
}

/* ---- what a path reports ----------------------------------------------- */

#define WHY_MAX 400

/* Shared with the parent (an anonymous shared mapping): a child that dies
 * leaves its last N here. */
typedef struct path_result {
    long runs;     /* values of N tried */
    long points;   /* runs in which an allocation was failed */
    long errors;   /* … and a call answered a clean error */
    long absorbed; /* … and every call still succeeded in full */
    long bad;      /* inconsistencies: wrong answer, half-written state, misreport */
    long leaks;    /* 1 if LeakSanitizer found a leak (the path stops there) */
    long total;    /* allocations of the run without failure */
    long last_n;
    long log_lines;
    bool done;
    char first_bad[WHY_MAX];
} path_result;

static path_result *g_res;

static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bad(const char *fmt, ...)
{
    char why[WHY_MAX - 40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    g_res->bad++;
    if (!g_res->first_bad[0])
        snprintf(g_res->first_bad, WHY_MAX, "N=%ld: %s", g_res->last_n, why);
    fprintf(stderr, "alloc_fail: N=%ld: %s\n", g_res->last_n, why);
}

static json_t *parse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *parse(const char *fmt, ...)
{
    char text[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (!j) {
        fprintf(stderr, "alloc_fail: bad fixture JSON (%s): %s\n", jerr.text, text);
        exit(2);
    }
    return j;
}

/* ---- the store and the API context ------------------------------------- */

typedef struct fixture {
    char dir[256];
    char db_path[300];
    hookd_sealer *sealer;
    hookd_store *store;
    hookd_api_ctx api;
    sqlite3 *check; /* the driver's own read connection, for counts */
} fixture;

static void fixture_open(fixture *f)
{
    /* Every run commits a few times: on a disk each fsync costs ~30 ms,
     * on /dev/shm (tmpfs) nothing, and what is tested is the same. */
    const char *tmp = getenv("TMPDIR");
    if (!tmp)
        tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(f->dir, sizeof f->dir, "%s/alloc_fail.XXXXXX", tmp);
    if (!mkdtemp(f->dir)) {
        perror("alloc_fail: mkdtemp");
        exit(2);
    }
    snprintf(f->db_path, sizeof f->db_path, "%s/hookd.db", f->dir);
    unsigned char key[HOOKD_SEAL_KEY_LEN];
    memset(key, 7, sizeof key);
    f->sealer = hookd_sealer_new(key);
    char err[512];
    hookd_store_options opt = {.db_path = f->db_path, .sealer = f->sealer,
                               .master_key_file = "(fixed)"};
    if (!f->sealer || hookd_store_open(&opt, &f->store, err, sizeof err) != 0) {
        fprintf(stderr, "alloc_fail: cannot open the store: %s\n", err);
        exit(2);
    }
    f->api.store = f->store;
    if (sqlite3_open_v2(f->db_path, &f->check, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "alloc_fail: cannot open %s to check it\n", f->db_path);
        exit(2);
    }
}

static void fixture_close(fixture *f)
{
    sqlite3_close(f->check);
    hookd_store_close(f->store);
    hookd_sealer_free(f->sealer);
    if (g_keep) {
        fprintf(stderr, "alloc_fail: kept %s\n", f->dir);
        return;
    }
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "alloc_fail: could not remove %s\n", f->dir);
}

static int64_t count(fixture *f, const char *sql)
{
    sqlite3_stmt *q = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(f->check, sql, -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    if (v < 0) {
        fprintf(stderr, "alloc_fail: %s: %s\n", sql, sqlite3_errmsg(f->check));
        exit(2);
    }
    return v;
}

/* What the ingest path changes, as counts. */
typedef struct tally {
    int64_t people, accounts, activities, deliveries, skipped, webhooks;
    int64_t content; /* rows of run N that hold what the requests said */
} tally;

static int64_t g_post_key; /* the ingest path's POST webhook */
static char g_post_id[HOOKD_ID_MAX];

/* The POST webhook's deliveries of run n that carry the activity's
 * attribute, the person's first name and the account's fields (bodies are
 * stored compressed: read through the store). */
static int64_t post_bodies_with(fixture *f, long n)
{
    char am[64], acme[64], emp[64];
    snprintf(am, sizeof am, "\"str::am\":\"subject %ld\"", n);
    snprintf(acme, sizeof acme, "\"acme-%ld\"", n);
    snprintf(emp, sizeof emp, "\"employees\":%ld", n);
    hookd_delivery **list = NULL;
    size_t k = 0;
    int64_t next = 0, c = 0;
    if (hookd_store_delivery_list(f->store, g_post_key, NULL, 0, 8, 0, &list, &k, &next) != 0) {
        fprintf(stderr, "alloc_fail: cannot list deliveries\n");
        exit(2);
    }
    for (size_t i = 0; i < k; i++) {
        const char *b = list[i]->body;
        c += b && strstr(b, am) && strstr(b, acme) && strstr(b, emp) &&
             strstr(b, "\"first_name\":\"Ann\"");
        hookd_delivery_free(list[i]);
    }
    free(list);
    return c;
}

/* What the rows of run n must hold, so that a value dropped on the way (an
 * unchecked json_object_set_new) cannot pass for success: the account with
 * its employees, the person with its first name and account, and the
 * payloads with the activity's attribute, the person's and the account's
 * fields (POST: a JSON body; GET: a query). */
static int64_t content_of(fixture *f, long n)
{
    char sql[600];
    int64_t c = 0;
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM accounts WHERE name = 'acme-%ld' AND "
             "json_extract(fields, '$.\"int:o:employees\"') = %ld",
             n, n);
    c += count(f, sql);
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM people WHERE json_extract(fields, '$.\"str::email\"') = "
             "'a-%ld@example.com' AND json_extract(fields, '$.\"str::first\"') = 'Ann' AND "
             "account_id IS NOT NULL",
             n);
    c += count(f, sql);
    c += post_bodies_with(f, n);
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM deliveries WHERE query LIKE '%%subject%%20%ld%%' "
             "AND query LIKE '%%first=Ann%%'",
             n);
    c += count(f, sql);
    return c;
}

static long g_n; /* the run's N */

static tally tally_of(fixture *f)
{
    tally t = {
        .content = content_of(f, g_n),
        .people = count(f, "SELECT COUNT(*) FROM people"),
        .accounts = count(f, "SELECT COUNT(*) FROM accounts"),
        .activities = count(f, "SELECT COUNT(*) FROM activity_ids"),
        .deliveries = count(f, "SELECT COUNT(*) FROM deliveries"),
        .skipped = count(f, "SELECT COALESCE(SUM(skipped), 0) FROM webhook_counts"),
        .webhooks = count(f, "SELECT COUNT(*) FROM webhooks"),
    };
    return t;
}

static bool tally_eq(tally a, tally b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static void tally_str(tally t, char *out, size_t cap)
{
    snprintf(out, cap,
             "people %lld accounts %lld activities %lld deliveries %lld skipped %lld "
             "webhooks %lld content %lld",
             (long long)t.people, (long long)t.accounts, (long long)t.activities,
             (long long)t.deliveries, (long long)t.skipped, (long long)t.webhooks,
             (long long)t.content);
}

static tally tally_add(tally a, tally d)
{
    a.people += d.people;
    a.accounts += d.accounts;
    a.activities += d.activities;
    a.deliveries += d.deliveries;
    a.skipped += d.skipped;
    a.webhooks += d.webhooks;
    a.content += d.content;
    return a;
}

/* ---- one handler call under the fault -------------------------------- */

/* What a call came to. */
enum { CALL_OK, CALL_ERROR };

/* Calls h counted; the driver's checks around it are not. A failure must
 * be clean: an error with a code and a 5xx status (a failed allocation is
 * never the client's fault), and only when an allocation was failed. */
static int call(hookd_handler h, hookd_api_ctx *ctx, const char *id, json_t *body,
                hookd_resp *resp, const char *what)
{
    hookd_req req = {.method = "POST", .path = what, .body = body};
    req.params[0] = id;
    hookd_error err;
    memset(&err, 0, sizeof err);
    memset(resp, 0, sizeof *resp);
    long fired = atomic_load(&g_fired);
    resume_count();
    int rc = h(ctx, &req, resp, &err);
    pause_count();
    bool failed_here = atomic_load(&g_fired) != fired;
    if (rc == 0) {
        if (!resp->json && resp->status != 204)
            bad("%s: success without an answer (status %d)", what, resp->status);
        return CALL_OK;
    }
    if (resp->json) {
        bad("%s: an error with an answer body too", what);
        json_decref(resp->json);
        resp->json = NULL;
    }
    if (!failed_here)
        bad("%s failed (%d %s: %s) with no allocation failed", what, err.status,
            err.code ? err.code : "(no code)", err.message);
    else if (!err.code || err.status < 500)
        bad("%s: a failed allocation answered %d %s (%s, field %s)", what, err.status,
            err.code ? err.code : "(no code)", err.message, err.field);
    return CALL_ERROR;
}

/* After a failed call the same call without a failure must work. */
static void call_again(hookd_handler h, hookd_api_ctx *ctx, const char *id, json_t *body,
                       hookd_resp *resp, const char *what)
{
    long at = atomic_load(&g_fail_at);
    disarm();
    char again[120];
    snprintf(again, sizeof again, "%s (again, no failure)", what);
    if (call(h, ctx, id, body, resp, again) != CALL_OK)
        bad("%s: the store did not take the request again after a failure", what);
    atomic_store(&g_fail_at, at);
}

/* ---- path: ingest ------------------------------------------------------ */

/* Two connected webhooks that want every activity (one POST with fields,
 * one GET) and a disconnected one that counts them as skipped. */
#define WEBHOOK_POST                                                                               \
    ("{\"name\":\"post\",\"url\":\"https://example.com/hook\",\"activities\":[\"*\"],"              \
     "\"fields\":[{\"field_id\":\"str::first\"},{\"field_id\":\"str:o:name\"},"                  \
     "{\"field_id\":\"int:o:employees\"}]}")
#define WEBHOOK_GET                                                                                \
    ("{\"name\":\"get\",\"url\":\"https://example.com/in?src=hookd\",\"method\":\"GET\","          \
     "\"activities\":[\"act::s\",\"act::c\"],\"keys\":{\"contact_id\":\"cid\"},"                 \
     "\"fields\":[{\"field_id\":\"str::first\",\"key\":\"first\"}]}")
static const char *const INGEST_WEBHOOKS[] = {
    WEBHOOK_POST,
    WEBHOOK_GET,
    ("{\"name\":\"off\",\"url\":\"https://example.com/off\",\"activities\":[\"*\"],"
     "\"connected\":false}"),
};

static int64_t webhook_store(fixture *f, const char *settings, char id_out[HOOKD_ID_MAX])
{
    json_t *body = parse("%s", settings);
    hookd_webhook *wh = hookd_webhook_new(hookd_now_ms());
    hookd_error err;
    memset(&err, 0, sizeof err);
    if (!wh || hookd_webhook_apply(wh, body, true, hookd_api_field_lookup, &f->api, &err) != 0 ||
        hookd_store_webhook_insert(f->store, wh) != 0) {
        fprintf(stderr, "alloc_fail: cannot store webhook %s: %s\n", settings, err.message);
        exit(2);
    }
    if (id_out)
        memcpy(id_out, wh->id, HOOKD_ID_MAX);
    int64_t key = wh->key;
    hookd_webhook_free(wh);
    json_decref(body);
    return key;
}

static void ingest_setup(fixture *f)
{
    g_post_key = webhook_store(f, INGEST_WEBHOOKS[0], g_post_id);
    for (size_t i = 1; i < sizeof INGEST_WEBHOOKS / sizeof *INGEST_WEBHOOKS; i++)
        webhook_store(f, INGEST_WEBHOOKS[i], NULL);
}

/* One step of the ingest path: its body, handler and what it adds. */
typedef struct ingest_op {
    const char *what;
    hookd_handler h;
    char *text;       /* the request body (parsed under the fault too) */
    tally adds;
    const char *list; /* the answer's list, one entry per item; NULL: delivery_id */
    size_t items;
    bool once;        /* not idempotent: made again, it makes more (/send) */
} ingest_op;

/* A new string of the format. */
static char *text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *text(const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return strdup(buf);
}

/* Parses a request body as the server does, counted: a failure must be
 * out of memory, and a parse that succeeds must be the whole document
 * (jansson alone would cut a string short, see util/json.h). Returns the
 * document, parsed again without failure where the counted parse failed. */
static json_t *parse_body(const char *what, const char *body, bool *failed)
{
    const size_t flags = JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL;
    json_error_t jerr;
    long fired = atomic_load(&g_fired);
    resume_count();
    json_t *got = hookd_json_loadb(body, strlen(body), flags, &jerr);
    pause_count();
    json_t *want = json_loadb(body, strlen(body), flags, NULL);
    if (!want) {
        fprintf(stderr, "alloc_fail: bad fixture JSON: %s\n", body);
        exit(2);
    }
    if (!got) {
        *failed = true;
        if (atomic_load(&g_fired) == fired)
            bad("%s: the body did not parse (%s) with no allocation failed", what, jerr.text);
        else if (json_error_code(&jerr) != json_error_out_of_memory)
            bad("%s: a failed allocation made the body malformed (%s): a 400 for the client",
                what, jerr.text);
        return want;
    }
    if (!json_equal(got, want))
        bad("%s: the body parsed under the failure differs from the body sent", what);
    json_decref(want);
    return got;
}

static void ingest_run(fixture *f, long n)
{
    g_n = n;
    ingest_op ops[] = {
        {"accounts merge", hookd_h_accounts_merge,
         text("{\"accounts\":[{\"fields\":{\"str:o:name\":\"acme-%ld\","
               "\"int:o:employees\":%ld}}]}",
               n, n),
         {.accounts = 1, .content = 1}, "accounts", 1, false},
        {"people merge", hookd_h_people_merge,
         text("{\"people\":[{\"fields\":{\"str::email\":\"a-%ld@example.com\","
               "\"str::first\":\"Ann\"},\"account\":{\"fields\":{\"str:o:name\":\"acme-%ld\"}}},"
               "{\"fields\":{\"str::email\":\"b-%ld@example.com\",\"str::last\":\"Bee\"}}]}",
               n, n, n),
         {.people = 2, .content = 1}, "people", 2, false},
        /* One activity to a known person, one that makes a new one; both go
         * to the POST webhook, the sent email to the GET one as well, and
         * both are skipped by the disconnected one. */
        {"activities", hookd_h_activities,
         text("{\"activities\":[{\"id\":\"s-%ld\",\"field_id\":\"act::s\","
               "\"contact\":{\"fields\":{\"str::email\":\"a-%ld@example.com\"}},"
               "\"attr\":{\"str::am\":\"subject %ld\"},"
               "\"campaign\":{\"id\":\"c1\",\"name\":\"Welcome\",\"transactional\":true}},"
               "{\"id\":\"o-%ld\",\"field_id\":\"act::o\","
               "\"contact\":{\"fields\":{\"str::email\":\"c-%ld@example.com\","
               "\"str::first\":\"Cy\"},\"merge_by\":[\"str::email\"]}}]}",
               n, n, n, n, n),
         {.people = 1, .activities = 2, .deliveries = 3, .skipped = 2, .content = 2},
         "activities", 2, false},
        /* An action to the POST webhook for a person found by merge. */
        {"send", hookd_h_webhook_send,
         text("{\"contact\":{\"fields\":{\"str::email\":\"b-%ld@example.com\"}},"
              "\"campaign_id\":\"c-%ld\",\"campaign_name\":\"Welcome\","
              "\"action_id\":\"x-1\",\"action_name\":\"Send webhook\"}",
              n, n),
         {.deliveries = 1}, NULL, 1, true},
    };
    bool failed = false;
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        ingest_op *op = &ops[i];
        tally before = tally_of(f), after, want = tally_add(before, op->adds);
        hookd_resp resp;
        char a[200], b[200];
        const char *id = op->list ? NULL : g_post_id;
        json_t *body = parse_body(op->what, op->text, &failed);
        int r = call(op->h, &f->api, id, body, &resp, op->what);
        after = tally_of(f);
        bool committed = false;
        if (r == CALL_ERROR) {
            failed = true;
            /* All or nothing: an answer that could not be made after the
             * commit is an error for a request that is all there (made
             * again, it changes nothing: merges and activity ids are
             * idempotent). */
            if (!tally_eq(after, before) && !tally_eq(after, want)) {
                tally_str(before, a, sizeof a);
                tally_str(after, b, sizeof b);
                bad("%s failed and the store holds part of it: before %s; after %s", op->what,
                    a, b);
            }
            /* A /send whose answer failed after its commit, made again, is a
             * second delivery (at least once, as every delivery). */
            committed = op->once && tally_eq(after, want) && !tally_eq(before, want);
            call_again(op->h, &f->api, id, body, &resp, op->what);
            after = tally_of(f);
        }
        if (committed)
            want = tally_add(want, op->adds);
        if (!tally_eq(after, want)) {
            tally_str(want, a, sizeof a);
            tally_str(after, b, sizeof b);
            bad("%s: the store holds %s; want %s", op->what, b, a);
        }
        if (resp.json && op->list &&
            json_array_size(json_object_get(resp.json, op->list)) != op->items)
            bad("%s answered %zu %s; want %zu", op->what,
                json_array_size(json_object_get(resp.json, op->list)), op->list, op->items);
        if (resp.json && !op->list && !json_is_string(json_object_get(resp.json, "delivery_id")))
            bad("%s answered without a delivery_id", op->what);
        json_decref(resp.json);
        json_decref(body);
        free(op->text);
    }
    if (failed)
        g_res->errors++;
}

/* ---- path: payload ----------------------------------------------------- */

static const char *const PAYLOAD_WEBHOOKS[] = {
    WEBHOOK_POST,
    WEBHOOK_GET,
    ("{\"name\":\"put\",\"url\":\"https://example.com/p\",\"method\":\"PUT\","
     "\"keys\":{\"contact_id\":\"uid\",\"action_id\":\"aid\"},"
     "\"fields\":[{\"field_id\":\"bol::gdpr\"},{\"field_id\":\"str::last\","
     "\"key\":\"last name\"},{\"field_id\":\"str:o:website\"},{\"field_id\":\"geo::country\"}]}"),
};
#define N_PAYLOAD (sizeof PAYLOAD_WEBHOOKS / sizeof *PAYLOAD_WEBHOOKS)

typedef struct payload_case {
    hookd_webhook *wh;
    hookd_payload_input in;
    /* what a run without failure makes */
    json_t *payload;
    char *query, *body, *url, *req_body, *act_text, *spliced, *qonly, *full_url;
} payload_case;

static struct {
    json_t *person, *account, *activity, *action;
    payload_case c[N_PAYLOAD * 2];
    size_t n;
} P;

/* Every product of one case; a product is NULL where its call failed. */
typedef struct payload_out {
    json_t *payload;
    int wire_rc, req_rc;
    char *query, *body, *url, *req_body, *act_text, *spliced, *qonly, *full_url;
} payload_out;

static void payload_make(payload_case *c, payload_out *o)
{
    memset(o, 0, sizeof *o);
    o->payload = hookd_payload_build(&c->in);
    if (o->payload) {
        o->wire_rc = hookd_payload_wire(o->payload, c->wh->method, &o->query, &o->body);
        o->req_rc = hookd_payload_request(o->payload, c->wh->method, c->wh->url, &o->url,
                                          &o->req_body);
        o->qonly = hookd_payload_query(o->payload);
    }
    if (c->in.activity) {
        o->act_text = hookd_payload_activity_text(c->in.activity, c->in.transactional);
        if (o->act_text)
            o->spliced = hookd_payload_body(&c->in, o->act_text);
    }
    o->full_url = hookd_payload_url(c->wh->url, "a=1&b=%20");
}

static void payload_out_free(payload_out *o)
{
    json_decref(o->payload);
    free(o->query);
    free(o->body);
    free(o->url);
    free(o->req_body);
    free(o->act_text);
    free(o->spliced);
    free(o->qonly);
    free(o->full_url);
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void payload_setup(fixture *f)
{
    (void)f;
    P.person = parse("{\"str::email\":\"a@example.com\",\"str::first\":\"Ann\","
                     "\"str::last\":\"Lee\",\"bol::gdpr\":true,\"geo::country\":"
                     "{\"name\":\"Australia\",\"code\":\"AU\"}}");
    P.account = parse("{\"str:o:name\":\"Acme\",\"int:o:employees\":12,"
                      "\"str:o:website\":\"https://acme.example\"}");
    P.activity = parse("{\"id\":\"act-1\",\"field_id\":\"act::s\",\"created\":"
                       "\"2023-01-16T23:40:54Z\",\"attr\":{\"str::am\":\"Hello\","
                       "\"idt::c\":\"c-1\"}}");
    P.action = parse("{\"campaign_id\":\"c-1\",\"campaign_name\":\"Welcome\","
                     "\"action_id\":\"x-1\",\"action_name\":\"Send webhook\"}");
    for (size_t i = 0; i < N_PAYLOAD; i++) {
        json_t *settings = parse("%s", PAYLOAD_WEBHOOKS[i]);
        hookd_error err;
        for (int k = 0; k < 2; k++) {
            payload_case *c = &P.c[P.n++];
            c->wh = hookd_webhook_new(0);
            if (!c->wh || hookd_webhook_apply(c->wh, settings, true, hookd_api_field_lookup,
                                              &f->api, &err) != 0) {
                fprintf(stderr, "alloc_fail: bad payload webhook %zu: %s %s\n", i, err.field, err.message);
                exit(2);
            }
            c->in = (hookd_payload_input){
                .webhook = c->wh,
                .kind = k == 0 ? HOOKD_KIND_ACTIVITY : HOOKD_KIND_ACTION,
                .delivery_id = "5f0e6a2b-8c1d-4e3f-a7b9-0c2d4e6f8a1b",
                .time_ns = 1673912478948713601LL,
                .contact_id = "0b7c1f4e-3d6a-4c58-9e7b-2a1d5f8c9e01",
                .person_fields = P.person,
                .account_fields = P.account,
                .activity = k == 0 ? P.activity : NULL,
                .transactional = k == 0,
                .action = k == 1 ? P.action : NULL,
            };
            payload_out o;
            payload_make(c, &o);
            if (!o.payload || o.wire_rc || o.req_rc || !o.qonly || !o.full_url ||
                (k == 0 && !o.spliced)) {
                fprintf(stderr, "alloc_fail: payload reference failed\n");
                exit(2);
            }
            c->payload = o.payload;
            c->query = o.query;
            c->body = o.body;
            c->url = o.url;
            c->req_body = o.req_body;
            c->act_text = o.act_text;
            c->spliced = o.spliced;
            c->qonly = o.qonly;
            c->full_url = o.full_url;
        }
        json_decref(settings);
    }
}

static void payload_teardown(void)
{
    for (size_t i = 0; i < P.n; i++) {
        payload_case *c = &P.c[i];
        payload_out o = {c->payload, 0, 0, c->query, c->body, c->url, c->req_body,
                         c->act_text, c->spliced, c->qonly, c->full_url};
        payload_out_free(&o);
        hookd_webhook_free(c->wh);
    }
    json_decref(P.person);
    json_decref(P.account);
    json_decref(P.activity);
    json_decref(P.action);
}

/* Each product is either absent (its call reported the failure) or exactly
 * the product of a run without failure. */
#define SAME_OR_NONE(field, label)                                                                 \
    do {                                                                                           \
        if (o.field) {                                                                             \
            if (!str_eq(o.field, c->field))                                                        \
                bad("payload %zu: %s differs from a run without failure", i, label);               \
        } else {                                                                                   \
            errors = true;                                                                         \
        }                                                                                          \
    } while (0)

static void payload_run(fixture *f, long n)
{
    (void)f;
    (void)n;
    bool errors = false;
    for (size_t i = 0; i < P.n; i++) {
        payload_case *c = &P.c[i];
        payload_out o;
        resume_count();
        payload_make(c, &o);
        pause_count();
        if (!o.payload) {
            errors = true;
        } else {
            if (!json_equal(o.payload, c->payload))
                bad("payload %zu: built without an error but differs from a run without failure",
                    i);
            if (o.wire_rc != 0) {
                errors = true;
                if (o.query || o.body)
                    bad("payload %zu: hookd_payload_wire failed but left strings", i);
            } else {
                if (!str_eq(o.query, c->query) || !str_eq(o.body, c->body))
                    bad("payload %zu: wire form differs from a run without failure", i);
            }
            if (o.req_rc != 0) {
                errors = true;
            } else if (!str_eq(o.url, c->url) || !str_eq(o.req_body, c->req_body)) {
                bad("payload %zu: request differs", i);
            }
            SAME_OR_NONE(qonly, "query");
        }
        if (c->in.activity) {
            SAME_OR_NONE(act_text, "activity text");
            if (o.act_text)
                SAME_OR_NONE(spliced, "spliced body");
        }
        SAME_OR_NONE(full_url, "url");
        payload_out_free(&o);
    }
    if (errors)
        g_res->errors++;
}

/* ---- path: webhook change ---------------------------------------------- */

static char *webhook_text(fixture *f, const char *id)
{
    hookd_webhook *wh = NULL;
    if (hookd_store_webhook_get(f->store, id, &wh) != 0)
        return NULL;
    json_t *j = hookd_webhook_to_json(wh);
    char *s = j ? hookd_json_dumps(j) : NULL;
    json_decref(j);
    hookd_webhook_free(wh);
    return s;
}

/* The create handler's steps before its test send (which needs the
 * network): a new webhook, the body applied, stored. Returns 0 or the
 * failing code, with err filled as the handler would. */
static int webhook_create(fixture *f, json_t *body, char id[HOOKD_ID_MAX], hookd_error *err)
{
    hookd_webhook *wh = hookd_webhook_new(hookd_now_ms());
    if (!wh)
        return hookd_error_from_rc(err, HOOKD_ENOMEM, "webhook");
    int rc = hookd_webhook_apply(wh, body, true, hookd_api_field_lookup, &f->api, err);
    if (rc == 0 && (rc = hookd_store_webhook_insert(f->store, wh)) != 0)
        hookd_error_from_rc(err, rc, "webhook");
    if (rc == 0)
        memcpy(id, wh->id, HOOKD_ID_MAX);
    hookd_webhook_free(wh);
    return rc;
}

/* A stored webhook's JSON without what differs from one run to the next
 * (id, times), to compare with the same webhook of the run without failure:
 * a member dropped on the way cannot pass for success. */
static char *normalized(const char *text)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    json_object_del(j, "id");
    json_object_del(j, "created_at");
    json_object_del(j, "updated_at");
    json_object_del(j, "secret");
    char *s = j ? json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

/* The webhook after create and after each change, in the warm-up run. */
static char *g_wh_ref[4];

static void webhook_ref_check(fixture *f, const char *id, int step, long n, const char *what)
{
    char *now = webhook_text(f, id), *norm = normalized(now);
    if (n == 0)
        g_wh_ref[step] = norm ? strdup(norm) : NULL;
    else if (!str_eq(norm, g_wh_ref[step]))
        bad("%s: the stored webhook %s differs from a run without failure: %s", what, norm,
            g_wh_ref[step]);
    free(norm);
    free(now);
}

static void webhook_teardown(void)
{
    for (size_t i = 0; i < sizeof g_wh_ref / sizeof *g_wh_ref; i++)
        free(g_wh_ref[i]);
}

static void webhook_run(fixture *f, long n)
{
    bool failed = false;
    char id[HOOKD_ID_MAX] = "";
    json_t *body = parse("{\"name\":\"w\",\"url\":\"https://example.com/w/1\","
                         "\"activities\":[\"act::s\",\"act::o\"],\"method\":\"POST\","
                         "\"headers\":[{\"key\":\"x-team\",\"value\":\"blue\"}],\"keys\":{\"email\":\"mail\"},"
                         "\"fields\":[{\"field_id\":\"str::first\"},"
                         "{\"field_id\":\"str:o:name\",\"key\":\"company\"}]}");
    int64_t before = count(f, "SELECT COUNT(*) FROM webhooks");
    hookd_error err;
    memset(&err, 0, sizeof err);
    long fired = atomic_load(&g_fired);
    resume_count();
    int rc = webhook_create(f, body, id, &err);
    pause_count();
    if (rc != 0) {
        failed = true;
        if (atomic_load(&g_fired) == fired)
            bad("create failed (%s) with no allocation failed", err.message);
        else if (!err.code || err.status < 500)
            bad("create: a failed allocation answered %d %s (%s, field %s)", err.status,
                err.code ? err.code : "(no code)", err.message, err.field);
        if (count(f, "SELECT COUNT(*) FROM webhooks") != before)
            bad("create failed but a webhook was stored");
        memset(&err, 0, sizeof err);
        long at = atomic_load(&g_fail_at);
        disarm();
        if (webhook_create(f, body, id, &err) != 0)
            bad("create: the store did not take the webhook again after a failure");
        atomic_store(&g_fail_at, at);
    }
    json_decref(body);
    if (count(f, "SELECT COUNT(*) FROM webhooks") != before + 1) {
        bad("create: %lld webhooks stored; want %lld",
            (long long)count(f, "SELECT COUNT(*) FROM webhooks"), (long long)before + 1);
        return;
    }
    webhook_ref_check(f, id, 0, n, "create");

    /* Each change: on failure the stored webhook is as it was; on success
     * its answer is the webhook as stored, changed as asked. */
    struct {
        const char *what;
        hookd_handler h;
        json_t *body;
        const char *expect; /* a substring of the changed webhook's JSON */
    } ops[] = {
        {"patch", hookd_h_webhook_patch,
         parse("{\"name\":\"patched\",\"method\":\"PUT\",\"activities\":[\"*\"],"
               "\"headers\":[{\"key\":\"x-team\",\"value\":\"red\"},{\"key\":\"x-n\",\"value\":\"7\"}],"
               "\"fields\":[{\"field_id\":\"str::last\",\"key\":\"surname\"},"
               "{\"field_id\":\"int:o:employees\"}]}"),
         "\"name\":\"patched\""},
        {"disconnect", hookd_h_webhook_disconnect, NULL, "\"connected\":false"},
        {"connect", hookd_h_webhook_connect, NULL, "\"connected\":true"},
    };
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        char *was = webhook_text(f, id);
        hookd_resp resp;
        int r = call(ops[i].h, &f->api, id, ops[i].body, &resp, ops[i].what);
        char *now = webhook_text(f, id);
        if (r == CALL_ERROR) {
            failed = true;
            /* Unchanged, or changed in full (the answer failed after the
             * commit; the same change made again is harmless). */
            if (!str_eq(was, now) && !(now && strstr(now, ops[i].expect)))
                bad("%s failed but the webhook changed: %s → %s", ops[i].what, was, now);
            call_again(ops[i].h, &f->api, id, ops[i].body, &resp, ops[i].what);
            free(now);
            now = webhook_text(f, id);
        }
        char *answered = resp.json ? hookd_json_dumps(resp.json) : NULL;
        if (!now || !strstr(now, ops[i].expect))
            bad("%s: the stored webhook %s lacks %s", ops[i].what, now ? now : "(none)",
                ops[i].expect);
        else if (!str_eq(answered, now))
            bad("%s answered %s but stored %s", ops[i].what, answered ? answered : "(none)", now);
        free(answered);
        free(was);
        free(now);
        json_decref(resp.json);
        json_decref(ops[i].body);
        webhook_ref_check(f, id, (int)i + 1, n, ops[i].what);
    }

    hookd_resp resp;
    if (call(hookd_h_webhook_delete, &f->api, id, NULL, &resp, "delete") == CALL_ERROR) {
        failed = true;
        if (count(f, "SELECT COUNT(*) FROM webhooks") != before + 1)
            bad("delete failed but the webhook is gone");
        call_again(hookd_h_webhook_delete, &f->api, id, NULL, &resp, "delete");
    }
    if (count(f, "SELECT COUNT(*) FROM webhooks") != before)
        bad("delete: the webhook is still stored");
    if (failed)
        g_res->errors++;
}

/* ---- the loop ---------------------------------------------------------- */

typedef struct path {
    const char *name;
    void (*setup)(fixture *f);
    void (*run)(fixture *f, long n);
    void (*teardown)(void);
} path;

static const path PATHS[] = {
    {"ingest", ingest_setup, ingest_run, NULL},
    {"payload", payload_setup, payload_run, payload_teardown},
    {"webhook", NULL, webhook_run, webhook_teardown},
};
#define N_PATHS (sizeof PATHS / sizeof *PATHS)

/* Runs one path for N = 1, 1+stride, … until a run fails no allocation (or
 * max_n), in this (child) process. */
static void path_loop(const path *p, long from, long stride, long max_n)
{
    fixture f;
    memset(&f, 0, sizeof f);
    fixture_open(&f);
    if (p->setup)
        p->setup(&f);
    /* A first run without failure warms what is made once per process
     * (statement caches, OpenSSL's state), so failures hit the path. */
    arm(LONG_MAX);
    p->run(&f, 0);
    disarm();
    if (g_res->bad || g_res->errors) {
        fprintf(stderr, "alloc_fail: %s: fails without any allocation failure\n", p->name);
        fixture_close(&f);
        g_res->done = true;
        return;
    }
    __lsan_do_recoverable_leak_check();
    for (long n = from; max_n == 0 || n <= max_n; n += stride) {
        g_res->last_n = n;
        g_res->runs++;
        long errors_before = g_res->errors;
        arm(n);
        p->run(&f, n);
        disarm();
        long calls = atomic_load(&g_calls), fired = atomic_load(&g_fired);
        if (fired) {
            g_res->points++;
            if (g_res->errors == errors_before)
                g_res->absorbed++;
        } else {
            g_res->total = calls;
            if (g_res->errors != errors_before)
                bad("%s: an error in a run with no allocation failed", p->name);
        }
        /* A leak stays unreachable, so every later check would report it
         * again: the first names its N, and the path stops there. */
        if (__lsan_do_recoverable_leak_check()) {
            g_res->leaks++;
            fprintf(stderr, "alloc_fail: %s: N=%ld: LeakSanitizer found a leak (above)\n",
                    p->name, n);
            if (!g_res->first_bad[0])
                snprintf(g_res->first_bad, WHY_MAX, "N=%ld: a leak", n);
            break;
        }
        if (!fired)
            break;
    }
    if (p->teardown)
        p->teardown();
    fixture_close(&f);
    g_res->log_lines = atomic_load(&g_log_lines);
    g_res->done = true;
}

static int usage(void)
{
    fprintf(stderr, "usage: alloc_fail [--path ingest|payload|webhook] [--stride K] "
                    "[--max-n N] [--from N] [--trace] [--keep] [--verbose]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *only = NULL;
    long stride = 1, max_n = 0, from = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--path") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--stride") == 0 && i + 1 < argc)
            stride = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--max-n") == 0 && i + 1 < argc)
            max_n = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--verbose") == 0)
            g_verbose = true;
        else if (strcmp(argv[i], "--trace") == 0)
            g_trace = true;
        else if (strcmp(argv[i], "--keep") == 0)
            g_keep = true;
        else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            from = strtol(argv[++i], NULL, 10);
        else
            return usage();
    }
    if (stride < 1 || max_n < 0 || from < 1)
        return usage();
    route_libraries();
    path_result *res = mmap(NULL, sizeof *res * N_PATHS, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (res == MAP_FAILED) {
        perror("alloc_fail: mmap");
        return 2;
    }
    memset(res, 0, sizeof *res * N_PATHS);
    int status_all = 0, ran = 0;
    char json[4096];
    size_t jl = (size_t)snprintf(json, sizeof json, "{\"stride\":%ld,\"max_n\":%ld,\"paths\":{",
                                 stride, max_n);
    for (size_t i = 0; i < N_PATHS; i++) {
        const path *p = &PATHS[i];
        if (only && strcmp(only, p->name) != 0)
            continue;
        int64_t t0 = hookd_now_ms();
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0) {
            perror("alloc_fail: fork");
            return 2;
        }
        if (pid == 0) {
            g_res = &res[i];
            path_loop(p, from, stride, max_n);
            fflush(stdout);
            fflush(stderr);
            /* exit, not _exit: LeakSanitizer's check at exit runs too. */
            exit(res[i].bad || res[i].leaks ? 1 : 0);
        }
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        path_result *r = &res[i];
        bool crashed = !r->done;
        bool ok = !crashed && r->bad == 0 && r->leaks == 0 && WIFEXITED(st) &&
                  WEXITSTATUS(st) == 0 && (max_n || r->total > 0);
        printf("%-8s %s: %ld allocations on the path; %ld failed one at a time (N=1..%ld, "
               "stride %ld): %ld clean errors, %ld absorbed; crashes %d, leaks %ld, "
               "inconsistencies %ld; %lld ms\n",
               p->name, ok ? "ok" : "FAILED", r->total, r->points, r->last_n, stride, r->errors,
               r->absorbed, crashed ? 1 : 0, r->leaks, r->bad,
               (long long)(hookd_now_ms() - t0));
        if (crashed)
            printf("%-8s crashed at N=%ld (%s %d)\n", p->name, r->last_n,
                   WIFSIGNALED(st) ? "signal" : "exit status",
                   WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        else if (!ok && r->bad == 0 && r->leaks == 0)
            printf("%-8s exit status %d (LeakSanitizer at exit?)\n", p->name,
                   WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        if (r->first_bad[0])
            printf("%-8s first inconsistency: %s\n", p->name, r->first_bad);
        if (!ok)
            status_all = 1;
        jl += (size_t)snprintf(json + jl, sizeof json - jl,
                               "%s\"%s\":{\"ok\":%s,\"allocations\":%ld,\"failed_points\":%ld,"
                               "\"clean_errors\":%ld,\"absorbed\":%ld,\"crashes\":%d,"
                               "\"leaks\":%ld,\"inconsistencies\":%ld,\"last_n\":%ld}",
                               ran++ ? "," : "", p->name, ok ? "true" : "false", r->total,
                               r->points, r->errors, r->absorbed, crashed ? 1 : 0, r->leaks,
                               r->bad, r->last_n);
    }
    if (!ran)
        return usage();
    snprintf(json + jl, sizeof json - jl, "},\"ok\":%s}", status_all ? "false" : "true");
    printf("ALLOC_FAIL_RESULT %s\n", json);
    return status_all;
}

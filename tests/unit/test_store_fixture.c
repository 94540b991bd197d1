/*
 * test_store_fixture.c — the store conformance suite's frame (see
 * test_store.h): the table of backends, registration of each STORE_TEST
 * once per backend, a fresh store per test, the recording listener, and the
 * helpers that make webhooks, people, plans and outcomes.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "model/fields.h"
#include "test_store.h"

/* ---- backends --------------------------------------------------------------- */

/* The master key every test store is sealed with (one for all: the suite
 * reopens stores and must read them back). */
const hookd_sealer *store_test_sealer(void)
{
    static hookd_sealer *sl;
    static const unsigned char KEY[HOOKD_SEAL_KEY_LEN] = "test master key, 32 bytes long!";
    if (!sl)
        sl = hookd_sealer_new(KEY);
    return sl;
}

static int sqlite_open(const char *dir, hookd_store **out, char *err, size_t errlen)
{
    char path[512];
    snprintf(path, sizeof path, "%s/" STORE_SQLITE_FILE, dir);
    hookd_store_options opt = {.db_path = path, .sealer = store_test_sealer()};
    /* Each open logs the schema migrations it applies: noise, once per test. */
    int q = quiet_begin();
    int rc = hookd_store_open(&opt, out, err, errlen);
    quiet_end(q);
    return rc;
}

/* PostgreSQL: HOOKD_TEST_DATABASE_URL is the admin URL of a throwaway server
 * (scripts/with_pg.sh starts one); each test gets a database of its own,
 * made on the first open of its dir, reached by the same URL with the
 * database name replaced, and dropped (WITH FORCE) after the test. */
#define PG_URL_ENV "HOOKD_TEST_DATABASE_URL"

static const char *pg_admin_url(void)
{
    const char *url = getenv(PG_URL_ENV);
    return url && *url ? url : NULL;
}

static const char *pg_unavailable(void)
{
    return pg_admin_url() ? NULL
                          : PG_URL_ENV " is not set (run under scripts/with_pg.sh, as make "
                                       "test does)";
}

/* The database of dir: hookd_t_<dir's basename, lower case, [a-z0-9_] only>
 * _<FNV-1a of the whole path>, so that the same dir names the same database
 * and two dirs differing only in case (mkdtemp) do not share one. At most
 * 8 + 31 + 1 + 16 = 56 characters (PostgreSQL keeps 63). */
static void pg_db_name(const char *dir, char *out, size_t outlen)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)dir; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    const char *base = strrchr(dir, '/');
    base = base ? base + 1 : dir;
    char clean[32];
    size_t n = 0;
    for (; *base && n < sizeof clean - 1; base++) {
        unsigned char c = (unsigned char)*base;
        clean[n++] = isalnum(c) ? (char)tolower(c) : '_';
    }
    clean[n] = '\0';
    snprintf(out, outlen, "hookd_t_%s_%016llx", clean, (unsigned long long)h);
}

/* admin (postgres://[user[:pw]@]host[:port][/db][?params]) with its
 * database replaced by db, the parameters kept. -1 if it is no such URL. */
static int pg_url_with_db(const char *admin, const char *db, char *out, size_t outlen)
{
    size_t scheme;
    if (strncmp(admin, "postgres://", 11) == 0)
        scheme = 11;
    else if (strncmp(admin, "postgresql://", 13) == 0)
        scheme = 13;
    else
        return -1;
    size_t end = scheme + strcspn(admin + scheme, "/?"); /* the authority's end */
    const char *query = strchr(admin + end, '?');
    int n = snprintf(out, outlen, "%.*s/%s%s", (int)end, admin, db, query ? query : "");
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static void pg_quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* A connection to the admin database, or NULL with err filled. */
static PGconn *pg_admin(char *err, size_t errlen)
{
    PGconn *c = PQconnectdb(pg_admin_url());
    if (!c || PQstatus(c) != CONNECTION_OK) {
        const char *why = c ? PQerrorMessage(c) : "out of memory";
        snprintf(err, errlen, "cannot connect to " PG_URL_ENV " (%s): %.*s", pg_admin_url(),
                 (int)strcspn(why, "\n"), why);
        PQfinish(c);
        return NULL;
    }
    /* DROP … IF EXISTS of a database never made says so: noise. */
    PQsetNoticeProcessor(c, pg_quiet_notice, NULL);
    return c;
}

/* Runs one command of the admin connection; 0, or -1 with err filled. */
static int pg_admin_exec(PGconn *c, const char *sql, int *rows, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
    if (rc) {
        const char *why = PQresultErrorMessage(r);
        snprintf(err, errlen, "%s: %.*s", sql, (int)strcspn(why, "\n"), why);
    } else if (rows) {
        *rows = PQntuples(r);
    }
    PQclear(r);
    return rc;
}

/* Makes the database name unless it exists (a reopen of the same dir). */
static int pg_create(const char *name, char *err, size_t errlen)
{
    PGconn *c = pg_admin(err, errlen);
    if (!c)
        return -1;
    char sql[256];
    int rows = 0;
    snprintf(sql, sizeof sql, "SELECT 1 FROM pg_database WHERE datname = '%s'", name);
    int rc = pg_admin_exec(c, sql, &rows, err, errlen);
    if (rc == 0 && rows == 0) {
        snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", name);
        rc = pg_admin_exec(c, sql, NULL, err, errlen);
    }
    PQfinish(c);
    return rc;
}

static int pg_open(const char *dir, hookd_store **out, char *err, size_t errlen)
{
    char name[64], url[1024];
    pg_db_name(dir, name, sizeof name);
    if (pg_url_with_db(pg_admin_url(), name, url, sizeof url) != 0) {
        snprintf(err, errlen, PG_URL_ENV " is not a postgres:// or postgresql:// URL: %s",
                 pg_admin_url());
        return HOOKD_EINVAL;
    }
    if (pg_create(name, err, errlen) != 0)
        return HOOKD_EUNAVAIL;
    hookd_store_options opt = {.database_url = url, .sealer = store_test_sealer()};
    /* As for SQLite: the schema it makes on a first open is noise. */
    int q = quiet_begin();
    int rc = hookd_store_open(&opt, out, err, errlen);
    quiet_end(q);
    return rc;
}

/* After the store is closed: the database goes, and any connection the
 * test left to it with it (WITH (FORCE)). A failure fails the test. */
static void pg_destroy(const char *dir)
{
    char name[64], err[512], sql[128];
    pg_db_name(dir, name, sizeof name);
    PGconn *c = pg_admin(err, sizeof err);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
    if (!c || pg_admin_exec(c, sql, NULL, err, sizeof err) != 0)
        unit_fail(__FILE__, __LINE__, "postgres: database %s of %s left behind: %s", name, dir,
                  err);
    PQfinish(c);
}

/* Every backend the suite runs against. A backend that needs a server says
 * through `unavailable` when none is configured: its tests are then
 * registered as not run, and the run's summary says so and why. */
const store_backend store_backends[] = {
    {.name = "sqlite", .open = sqlite_open},
    {.name = "postgres", .unavailable = pg_unavailable, .open = pg_open, .destroy = pg_destroy},
};
const size_t store_n_backends = sizeof store_backends / sizeof store_backends[0];

/* ---- stderr ------------------------------------------------------------------ */

int quiet_begin(void)
{
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
        dup2(null, STDERR_FILENO);
        close(null);
    }
    return saved;
}

void quiet_end(int saved)
{
    if (saved < 0)
        return;
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
}

/* ---- the recording listener ------------------------------------------------------ */

/* Grows *arr (of *cap elements of size) to hold one more; false on failure. */
static bool grow(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 16;
    void *grown = realloc(*arr, c * size);
    if (!grown)
        return false;
    *arr = grown;
    *cap = c;
    return true;
}

/* Appends e; false if memory ran out. Caller holds the lock. */
static bool rec_push(recorder *r, const rec_event *e)
{
    if (!grow((void **)&r->ev, &r->cap, r->n, sizeof *r->ev))
        return false;
    r->ev[r->n++] = *e;
    return true;
}

static void on_fresh(void *ctx, hookd_job *jobs, size_t n)
{
    recorder *r = ctx;
    pthread_mutex_lock(&r->lock);
    size_t call = ++r->calls;
    for (size_t i = 0; i < n; i++) {
        /* The callee takes the strings: the recorder keeps them. */
        rec_event e = {.kind = REC_FRESH, .key = jobs[i].webhook, .call = call, .job = jobs[i]};
        if (!rec_push(r, &e)) {
            unit_fail(__FILE__, __LINE__, "recorder: out of memory");
            hookd_job_clear(&jobs[i]);
        }
    }
    pthread_mutex_unlock(&r->lock);
}

static void on_webhook(void *ctx, int64_t key, const hookd_webhook *wh)
{
    recorder *r = ctx;
    pthread_mutex_lock(&r->lock);
    rec_event e = {.kind = REC_WEBHOOK, .key = key, .call = ++r->calls, .gone = !wh};
    if (wh) {
        e.version = wh->version;
        e.connected = wh->connected;
        snprintf(e.name, sizeof e.name, "%s", wh->name);
    }
    if (!rec_push(r, &e))
        unit_fail(__FILE__, __LINE__, "recorder: out of memory");
    pthread_mutex_unlock(&r->lock);
}

static void on_due(void *ctx, int64_t key)
{
    recorder *r = ctx;
    pthread_mutex_lock(&r->lock);
    rec_event e = {.kind = REC_DUE, .key = key, .call = ++r->calls};
    if (!rec_push(r, &e))
        unit_fail(__FILE__, __LINE__, "recorder: out of memory");
    pthread_mutex_unlock(&r->lock);
}

size_t rec_count(recorder *r, rec_kind kind)
{
    size_t n = 0;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n; i++)
        n += r->ev[i].kind == kind;
    pthread_mutex_unlock(&r->lock);
    return n;
}

size_t rec_mark(recorder *r)
{
    pthread_mutex_lock(&r->lock);
    size_t n = r->n;
    pthread_mutex_unlock(&r->lock);
    return n;
}

const rec_event *rec_fresh(recorder *r, const char *id)
{
    const rec_event *found = NULL;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n && !found; i++) {
        if (r->ev[i].kind == REC_FRESH && strcmp(r->ev[i].job.id, id) == 0)
            found = &r->ev[i];
    }
    pthread_mutex_unlock(&r->lock);
    return found;
}

void rec_reset(recorder *r)
{
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n; i++) {
        if (r->ev[i].kind == REC_FRESH)
            hookd_job_clear(&r->ev[i].job);
    }
    free(r->ev);
    r->ev = NULL;
    r->n = r->cap = 0;
    pthread_mutex_unlock(&r->lock);
}

/* ---- a fresh store per test --------------------------------------------------------- */

static bool fx_open(store_fx *fx)
{
    char err[256] = "";
    fx->st = NULL;
    if (fx->be->open(fx->dir, &fx->st, err, sizeof err) != 0 || !fx->st) {
        unit_fail(__FILE__, __LINE__, "%s: cannot open a store in %s: %s", fx->be->name, fx->dir,
                  err);
        fx->st = NULL;
        return false;
    }
    hookd_store_listener l = {
        .ctx = &fx->rec, .fresh = on_fresh, .webhook = on_webhook, .due = on_due};
    hookd_store_listen(fx->st, &l);
    return true;
}

bool fx_reopen(store_fx *fx)
{
    hookd_store_close(fx->st);
    return fx_open(fx);
}

/* Removes dir and the files in it (a backend keeps no subdirectories). */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* $TMPDIR if set, else /dev/shm where there is one: every commit of a
 * durable store syncs, and on tmpfs a sync costs nothing, which keeps the
 * suite at a few seconds. Close and reopen behave the same there. */
static const char *temp_root(void)
{
    const char *tmp = getenv("TMPDIR");
    if (tmp && *tmp)
        return tmp;
    DIR *shm = opendir("/dev/shm");
    if (shm) {
        closedir(shm);
        return "/dev/shm";
    }
    return "/tmp";
}

typedef struct store_reg {
    store_test_fn fn;
    const store_backend *be;
} store_reg;

static void store_run(void *arg)
{
    const store_reg *reg = arg;
    store_fx fx = {.be = reg->be};
    pthread_mutex_init(&fx.rec.lock, NULL);
    snprintf(fx.dir, sizeof fx.dir, "%s/hookd-store-XXXXXX", temp_root());
    if (!mkdtemp(fx.dir)) {
        unit_fail(__FILE__, __LINE__, "cannot make a temporary directory %s", fx.dir);
        pthread_mutex_destroy(&fx.rec.lock);
        return;
    }
    if (fx_open(&fx))
        reg->fn(&fx);
    hookd_store_close(fx.st);
    if (fx.be->destroy)
        fx.be->destroy(fx.dir);
    remove_dir(fx.dir);
    for (size_t i = 0; i < fx.n_owned; i++)
        hookd_webhook_free(fx.owned[i]);
    rec_reset(&fx.rec);
    pthread_mutex_destroy(&fx.rec.lock);
}

/* "store suite, backend <name>: <why it cannot run here>", made once per
 * backend (the harness groups the tests it keeps out by this text). */
static const char *not_run_reason(const store_backend *be, const char *why)
{
    static const char *made[8];
    size_t i = (size_t)(be - store_backends);
    if (i >= sizeof made / sizeof made[0])
        return why;
    if (!made[i]) {
        size_t len = strlen(be->name) + strlen(why) + 64;
        char *text = malloc(len);
        if (!text)
            return why;
        snprintf(text, len, "store suite, backend %s: %s", be->name, why);
        made[i] = text;
    }
    return made[i];
}

static void register_one(const store_backend *be, const char *name, store_test_fn fn)
{
    const char *why = be->unavailable ? be->unavailable() : NULL;
    /* All live as long as the program: the harness keeps them. */
    size_t len = strlen("store_") + strlen(name) + 1 + strlen(be->name) + 1;
    char *full = malloc(len);
    store_reg *reg = malloc(sizeof *reg);
    if (!full || !reg) {
        fprintf(stderr, "store suite: out of memory registering %s\n", name);
        exit(2);
    }
    snprintf(full, len, "store_%s/%s", name, be->name);
    if (why) {
        free(reg);
        unit_register_not_run(full, not_run_reason(be, why));
        return;
    }
    *reg = (store_reg){.fn = fn, .be = be};
    unit_register_arg(full, store_run, reg);
}

void store_register(const char *name, store_test_fn fn)
{
    for (size_t i = 0; i < store_n_backends; i++)
        register_one(&store_backends[i], name, fn);
}

void store_register_for(const char *backend, const char *name, store_test_fn fn)
{
    for (size_t i = 0; i < store_n_backends; i++) {
        if (strcmp(store_backends[i].name, backend) == 0)
            register_one(&store_backends[i], name, fn);
    }
}

/* ---- webhooks ------------------------------------------------------------------- */

/* Built-in fields only, as the API's lookup sees them on a store with no
 * custom fields. */
static int lookup(void *ctx, const char *id, char **default_key)
{
    (void)ctx;
    const hookd_field_def *d = hookd_fields_builtin_find(id);
    if (!d)
        return 0;
    *default_key = strdup(d->default_key);
    return *default_key ? 1 : HOOKD_ENOMEM;
}

static int apply_json(hookd_webhook *wh, const char *json, bool creating)
{
    json_error_t jerr;
    json_t *body = json_loads(json, 0, &jerr);
    if (!body) {
        unit_fail(__FILE__, __LINE__, "bad JSON in a test (%s): %s", jerr.text, json);
        return HOOKD_EINVAL;
    }
    hookd_error err = {0};
    int rc = hookd_webhook_apply(wh, body, creating, lookup, NULL, &err);
    json_decref(body);
    if (rc)
        unit_fail(__FILE__, __LINE__, "settings refused (%d) at %s: %s", rc, err.field,
                  err.message);
    return rc;
}

hookd_webhook *wh_make(const char *json)
{
    hookd_webhook *wh = hookd_webhook_new(T0);
    if (!wh) {
        unit_fail(__FILE__, __LINE__, "hookd_webhook_new failed");
        return NULL;
    }
    if (apply_json(wh, json, true) != 0) {
        hookd_webhook_free(wh);
        return NULL;
    }
    return wh;
}

hookd_webhook *fx_webhook(store_fx *fx, const char *json)
{
    if (fx->n_owned == FX_OWNED_MAX) {
        unit_fail(__FILE__, __LINE__, "fx_webhook: more than %d webhooks", FX_OWNED_MAX);
        return NULL;
    }
    hookd_webhook *wh = wh_make(json);
    if (!wh)
        return NULL;
    int rc = hookd_store_webhook_insert(fx->st, wh);
    if (rc) {
        unit_fail(__FILE__, __LINE__, "webhook_insert: %d", rc);
        hookd_webhook_free(wh);
        return NULL;
    }
    fx->owned[fx->n_owned++] = wh;
    return wh;
}

int change_connected(hookd_webhook *wh, void *ctx)
{
    wh->connected = ctx != NULL;
    return 0;
}

int change_apply(hookd_webhook *wh, void *ctx)
{
    return apply_json(wh, ctx, false);
}

int fx_connect(store_fx *fx, const hookd_webhook *wh, bool on)
{
    return hookd_store_webhook_change(fx->st, wh->id, change_connected, on ? "on" : NULL, NULL);
}

/* ---- people -------------------------------------------------------------------- */

hookd_merge_person mp_make(const char *fields, const char *account, const char *const *merge_by,
                           int n_merge_by)
{
    hookd_merge_person m = {0};
    json_error_t jerr;
    if (!(m.fields = json_loads(fields, 0, &jerr)))
        unit_fail(__FILE__, __LINE__, "bad JSON in a test (%s): %s", jerr.text, fields);
    if (account && !(m.account_fields = json_loads(account, 0, &jerr)))
        unit_fail(__FILE__, __LINE__, "bad JSON in a test (%s): %s", jerr.text, account);
    if (!merge_by) {
        m.merge_by[0] = "str::email";
        m.n_merge_by = 1;
    }
    for (int i = 0; merge_by && i < n_merge_by && i < HOOKD_MERGE_BY_MAX; i++)
        m.merge_by[m.n_merge_by++] = merge_by[i];
    return m;
}

const char *fx_contact(store_fx *fx)
{
    if (fx->contact[0])
        return fx->contact;
    hookd_merge_person m =
        mp_make("{\"str::email\":\"fixture@example.com\",\"str::first\":\"Fix\"}", NULL, NULL, 0);
    hookd_merge_result res = {0};
    int rc = hookd_store_people_merge(fx->st, &m, 1, T0, &res);
    hookd_merge_person_clear(&m);
    CHECK_INT(rc, 0);
    snprintf(fx->contact, sizeof fx->contact, "%s", rc == 0 ? res.id : "no-such-person");
    return fx->contact;
}

/* ---- the plan ---------------------------------------------------------------------- */

static int record_call(test_plan *tp, size_t index, const hookd_person *p, const hookd_account *a,
                       hookd_webhook *const *whs, size_t n_wh)
{
    if (!grow((void **)&tp->calls, &tp->cap_calls, tp->n_calls, sizeof *tp->calls))
        return HOOKD_ENOMEM;
    plan_call *c = &tp->calls[tp->n_calls++];
    memset(c, 0, sizeof *c);
    c->index = index;
    snprintf(c->contact_id, sizeof c->contact_id, "%s", p->contact_id);
    c->person = json_deep_copy(p->fields);
    if (a) {
        snprintf(c->account_id, sizeof c->account_id, "%s", a->account_id);
        c->account = json_deep_copy(a->fields);
    }
    c->n_webhooks = n_wh;
    for (size_t w = 0; w < n_wh && w < PLAN_WH_MAX; w++) {
        c->keys[w] = whs[w]->key;
        c->versions[w] = whs[w]->version;
        c->connected[w] = whs[w]->connected;
    }
    return 0;
}

/* The recognisable wire form of one planned delivery: GET and DELETE carry
 * it as a query (no body), the others as a JSON body. */
static int plan_wire(const test_plan *tp, size_t index, const char *contact,
                     const hookd_webhook *wh, char **query, char **body)
{
    char text[512];
    if (wh->method == HOOKD_METHOD_GET || wh->method == HOOKD_METHOD_DELETE) {
        snprintf(text, sizeof text, "tag=%s&item=%zu&contact=%s&webhook=%s", tp->tag, index,
                 contact, wh->id);
        *query = strdup(text);
        *body = strdup("");
        return *query && *body ? 0 : HOOKD_ENOMEM;
    }
    snprintf(text, sizeof text,
             "{\"tag\":\"%s\",\"item\":%zu,\"contact\":\"%s\",\"webhook\":\"%s\"", tp->tag, index,
             contact, wh->id);
    *query = NULL;
    size_t len = strlen(text), pad = tp->pad ? tp->pad + sizeof ",\"pad\":\"\"" : 0;
    if (!(*body = malloc(len + pad + 2)))
        return HOOKD_ENOMEM;
    memcpy(*body, text, len);
    if (tp->pad) {
        memcpy(*body + len, ",\"pad\":\"", 8);
        len += 8;
        uint32_t x = (uint32_t)index * 2654435761u + 1;
        for (size_t i = 0; i < tp->pad; i++) {
            x = x * 1664525u + 1013904223u; /* letters a compressor cannot shrink */
            (*body)[len++] = (char)('a' + (x >> 27) % 26);
        }
        (*body)[len++] = '"';
    }
    memcpy(*body + len, "}", 2);
    return 0;
}

static int plan_one(test_plan *tp, size_t index, const hookd_person *p, hookd_webhook *wh,
                    const char *field_id, hookd_plan *plan)
{
    const hookd_ingest_item *it = &tp->items[index];
    hookd_new_delivery *d = hookd_plan_add(plan);
    if (!d)
        return HOOKD_ENOMEM;
    if (hookd_id_new(d->id) != 0)
        return HOOKD_EUNAVAIL;
    d->webhook = wh;
    d->kind = it->activity_id ? HOOKD_KIND_ACTIVITY : HOOKD_KIND_ACTION;
    d->activity_id = it->activity_id;
    d->field_id = field_id;
    d->created_ms = it->created_ms;
    int rc = plan_wire(tp, index, p->contact_id, wh, &d->query, &d->body);
    if (rc)
        return rc;
    d->body_len = strlen(d->body);
    if (!grow((void **)&tp->made, &tp->cap_made, tp->n_made, sizeof *tp->made))
        return HOOKD_ENOMEM;
    plan_made *m = &tp->made[tp->n_made++];
    *m = (plan_made){.webhook = wh->key, .method = wh->method, .item = index};
    memcpy(m->id, d->id, HOOKD_ID_MAX);
    m->query = d->query ? strdup(d->query) : NULL;
    m->body = strdup(d->body);
    return 0;
}

static int plan_fn(void *ctx, size_t index, const hookd_person *p, const hookd_account *a,
                   hookd_webhook *const *whs, size_t n_wh, hookd_plan *plan)
{
    test_plan *tp = ctx;
    int rc = record_call(tp, index, p, a, whs, n_wh);
    if (rc)
        return rc;
    if (tp->fail_at >= 0 && (size_t)tp->fail_at == index)
        return tp->fail_rc;
    const char *field = tp->field_ids  ? tp->field_ids[index]
                        : tp->field_id ? tp->field_id
                                       : "act::s";
    for (size_t w = 0; w < n_wh && rc == 0; w++) {
        if (!hookd_webhook_wants(whs[w], field))
            continue;
        if (!whs[w]->connected)
            plan->skipped[w]++;
        else
            rc = plan_one(tp, index, p, whs[w], field, plan);
    }
    return rc;
}

void test_plan_clear(test_plan *tp)
{
    for (size_t i = 0; i < tp->n_calls; i++) {
        json_decref(tp->calls[i].person);
        json_decref(tp->calls[i].account);
    }
    for (size_t i = 0; i < tp->n_made; i++) {
        free(tp->made[i].query);
        free(tp->made[i].body);
    }
    free(tp->calls);
    free(tp->made);
    tp->calls = NULL;
    tp->made = NULL;
    tp->n_calls = tp->cap_calls = tp->n_made = tp->cap_made = 0;
}

static int check_fn(void *ctx, hookd_webhook *const *whs, size_t n_wh)
{
    test_plan *tp = ctx;
    tp->n_checks++;
    tp->calls_before_check = tp->n_calls;
    tp->check_webhooks = n_wh;
    tp->check_connected = 0;
    for (size_t w = 0; w < n_wh; w++)
        tp->check_connected += whs[w]->connected;
    return tp->check_rc;
}

int fx_ingest(store_fx *fx, hookd_ingest_item *items, size_t n, test_plan *tp, size_t *failed_index)
{
    tp->items = items;
    hookd_ingest in = {.items = items,
                       .n = n,
                       .plan = plan_fn,
                       .ctx = tp,
                       .failed_index = (size_t)-1,
                       .check = tp->check ? check_fn : NULL};
    int rc = hookd_store_ingest(fx->st, &in);
    if (failed_index)
        *failed_index = in.failed_index;
    return rc;
}

size_t fx_deliver(store_fx *fx, size_t n, const char *field_id, int64_t created_ms, made_ref *out,
                  size_t cap)
{
    const char *contact = fx_contact(fx);
    hookd_ingest_item *items = calloc(n, sizeof *items);
    if (!items) {
        unit_fail(__FILE__, __LINE__, "out of memory");
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        items[i] = (hookd_ingest_item){.contact_id = contact, .created_ms = created_ms};
    test_plan tp = TEST_PLAN("deliver");
    tp.field_id = field_id;
    size_t mark = rec_mark(&fx->rec);
    int rc = fx_ingest(fx, items, n, &tp, NULL);
    CHECK_INT(rc, 0);
    size_t got = 0;
    pthread_mutex_lock(&fx->rec.lock);
    for (size_t i = mark; i < fx->rec.n && got < cap; i++) {
        const rec_event *e = &fx->rec.ev[i];
        if (e->kind != REC_FRESH)
            continue;
        out[got] = (made_ref){.seq = e->job.seq, .webhook = e->job.webhook};
        memcpy(out[got].id, e->job.id, HOOKD_ID_MAX);
        got++;
    }
    pthread_mutex_unlock(&fx->rec.lock);
    CHECK_INT(got, tp.n_made < cap ? tp.n_made : cap);
    test_plan_clear(&tp);
    free(items);
    return got;
}

/* ---- outcomes and reads ------------------------------------------------------------ */

hookd_outcome outcome_of(const made_ref *d, hookd_delivery_state from, int attempts,
                         hookd_ds_event ev, int64_t time_ms)
{
    bool ok = ev == HOOKD_EV_SUCCEEDED;
    return (hookd_outcome){
        .seq = d->seq,
        .webhook = d->webhook,
        .from = from,
        .attempts = attempts,
        .event = ev,
        .next_at = ev == HOOKD_EV_RETRY ? time_ms + 60000 : 0,
        .time_ms = time_ms,
        .duration_ms = 20,
        .status_code = ok ? 200 : 503,
        .error = ok ? NULL : "HTTP 503",
        .response_body = ok ? "ok" : "busy",
        .version = 1,
        .signature = "v1,c2lnbmF0dXJl",
    };
}

int fx_record(store_fx *fx, const hookd_outcome *o)
{
    int state = HOOKD_DS_REFUSED;
    int rc = hookd_store_record_outcomes(fx->st, o, 1, &state, NULL);
    CHECK_INT(rc, 0);
    return rc == 0 ? state : HOOKD_DS_REFUSED;
}

hookd_delivery *fx_get(store_fx *fx, int64_t key, const char *id, hookd_attempt **att,
                       size_t *n_att)
{
    hookd_delivery *d = NULL;
    hookd_attempt *a = NULL;
    size_t na = 0;
    int rc = hookd_store_delivery_get(fx->st, key, id, &d, &a, &na);
    if (rc) {
        unit_fail(__FILE__, __LINE__, "delivery_get(%lld, %s): %d", (long long)key, id, rc);
        return NULL;
    }
    if (att) {
        *att = a;
        *n_att = na;
    } else {
        hookd_attempts_free(a, na);
    }
    return d;
}

hookd_webhook_stats fx_stats(store_fx *fx, int64_t key, int64_t now_ms)
{
    hookd_webhook_stats s = {-1, -1, -1, -1};
    int rc = hookd_store_webhook_stats(fx->st, &key, 1, now_ms, &s);
    CHECK_INT(rc, 0);
    return s;
}

size_t fx_due_all(store_fx *fx, int64_t key, int64_t now_ms, hookd_job **out)
{
    hookd_due_cursor cur = {0, 0};
    size_t n = 0;
    *out = NULL;
    int rc = hookd_store_due(fx->st, key, now_ms, &cur, INT64_MAX, 5000, out, &n);
    CHECK_INT(rc, 0);
    return rc == 0 ? n : 0;
}

void fx_jobs_free(hookd_job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hookd_job_clear(&jobs[i]);
    free(jobs);
}

void fx_check_none_due(store_fx *fx, int64_t key)
{
    hookd_job *jobs = NULL;
    size_t n = fx_due_all(fx, key, FAR, &jobs);
    if (n)
        unit_fail(__FILE__, __LINE__, "webhook %lld: %zu due, expected none", (long long)key, n);
    fx_jobs_free(jobs, n);
}

void fx_check_zero_counts(store_fx *fx, int64_t key, int64_t at_ms)
{
    hookd_webhook_stats s = fx_stats(fx, key, at_ms);
    hookd_hour_counts h = {-1, -1, -1};
    CHECK_INT(hookd_store_webhook_hours(fx->st, key, at_ms - at_ms % HOUR_MS, 1, &h), 0);
    if (s.pending || s.succeeded_24h || s.failed_24h || s.skipped || h.succeeded || h.failed ||
        h.retried)
        unit_fail(__FILE__, __LINE__,
                  "webhook %lld counts %lld/%lld/%lld/%lld and %lld/%lld/%lld, expected zeros",
                  (long long)key, (long long)s.pending, (long long)s.succeeded_24h,
                  (long long)s.failed_24h, (long long)s.skipped, (long long)h.succeeded,
                  (long long)h.failed, (long long)h.retried);
}

size_t fx_log_walk(store_fx *fx, int64_t key, void (*fn)(void *ctx, const hookd_delivery *d),
                   void *ctx)
{
    size_t total = 0;
    int64_t cursor = 0;
    do {
        hookd_delivery **list = NULL;
        size_t n = 0;
        int64_t next = 0;
        int rc = hookd_store_delivery_list(fx->st, key, NULL, 0, 200, cursor, &list, &n, &next);
        CHECK_INT(rc, 0);
        for (size_t i = 0; i < n; i++) {
            if (fn)
                fn(ctx, list[i]);
            hookd_delivery_free(list[i]);
        }
        free(list);
        total += n;
        cursor = rc ? 0 : next;
    } while (cursor);
    return total;
}

void fx_check_fields(const char *what, const char *id, const json_t *have, const char *want)
{
    json_t *w = json_loads(want, 0, NULL);
    if (!w || !json_equal(w, have)) {
        char *text = json_dumps(have, JSON_SORT_KEYS | JSON_COMPACT);
        unit_fail(__FILE__, __LINE__, "%s %s has %s, expected %s", what, id, text ? text : "(null)",
                  want);
        free(text);
    }
    json_decref(w);
}

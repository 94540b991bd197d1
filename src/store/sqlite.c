/*
 * sqlite.c — the SQLite backend's frame: schema migrations, connections and
 * their statement caches, the reader pool, the writer thread (group commit),
 * and custom fields. The other commands live in sqlite_webhooks.c,
 * sqlite_people.c, sqlite_deliveries.c and sqlite_keys.c; sqlite_int.h says how they fit.
 *
 * The file is opened in WAL mode with synchronous=FULL, so a commit that
 * returned is on disk even across power loss: that is what a 2xx promises.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "util/buf.h"
#include "util/files.h"
#include "util/json.h"
#include "util/log.h"
#include "util/lz.h"
#include "util/timeutil.h"

#define BUSY_TIMEOUT_MS 5000

/* Schema migrations, applied in order; PRAGMA user_version counts how many
 * have run. Never edit a migration that has shipped: append a new one.
 * Numbers stored in columns (state, kind, method) are those of
 * model/delivery_state.h, model/payload.h and model/webhook.h, which promise
 * never to renumber. */
static const char *const MIGRATIONS[] = {
    /* 1: foundation */
    "CREATE TABLE api_keys(hash BLOB PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE webhooks(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, doc TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL, skipped INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE fields(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
    "  type TEXT NOT NULL, object TEXT NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE TABLE people(seq INTEGER PRIMARY KEY, contact_id TEXT NOT NULL UNIQUE,"
    "  account_id TEXT, fields TEXT NOT NULL, created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    /* The usual merge keys get an index; merging by another field scans. */
    "CREATE INDEX people_email ON people(json_extract(fields, '$.\"str::email\"'));"
    "CREATE INDEX people_ei ON people(json_extract(fields, '$.\"str::ei\"'));"
    "CREATE TABLE accounts(seq INTEGER PRIMARY KEY, account_id TEXT NOT NULL UNIQUE,"
    "  name TEXT UNIQUE, fields TEXT NOT NULL, created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE TABLE activities(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    "  field_id TEXT NOT NULL, contact_id TEXT NOT NULL, created_ns INTEGER NOT NULL,"
    "  doc TEXT NOT NULL, campaign TEXT);"
    "CREATE TABLE deliveries(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    "  webhook_id TEXT NOT NULL, kind TEXT NOT NULL, activity_id TEXT, field_id TEXT,"
    "  state INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL, next_attempt_at INTEGER, finished_at INTEGER,"
    "  method TEXT NOT NULL, url TEXT NOT NULL, body TEXT NOT NULL, status_code INTEGER,"
    "  error TEXT, response_body TEXT, duration_ms INTEGER, request_headers TEXT,"
    "  lease_until INTEGER);"
    "CREATE INDEX deliveries_webhook ON deliveries(webhook_id, seq);"
    "CREATE INDEX deliveries_finished ON deliveries(finished_at) WHERE finished_at IS NOT NULL;"
    "CREATE INDEX deliveries_webhook_state ON deliveries(webhook_id, state, seq);"
    "CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE state IN (0, 1);"
    "CREATE TABLE attempts(seq INTEGER PRIMARY KEY, delivery_id TEXT NOT NULL,"
    "  time INTEGER NOT NULL, status_code INTEGER, error TEXT, duration_ms INTEGER,"
    "  response_body TEXT);"
    "CREATE INDEX attempts_delivery ON attempts(delivery_id, seq);",

    /* 2: lean rows and counters. A delivery is written once (deliveries:
     * the body and what never changes) and moved on in a narrow row
     * (delivery_state: state, attempts, the last attempt). Earlier attempts
     * go to attempts. The headers a webhook version sends live once per
     * version (webhook_versions), the URL follows the webhook (GET/DELETE
     * keep their payload query). Stats are counters kept in the same
     * commits (webhook_counts, webhook_hours), never counted from rows.
     * Idempotency keeps only activity ids; the documents stored before this
     * schema stay in activities_v1, no longer written. */
    "CREATE TABLE webhooks2(key INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    "  doc TEXT NOT NULL, created_at INTEGER NOT NULL, version INTEGER NOT NULL DEFAULT 1);"
    "INSERT INTO webhooks2(key, id, doc, created_at) SELECT seq, id, doc, created_at FROM webhooks;"
    "CREATE TABLE webhook_versions(webhook INTEGER NOT NULL, version INTEGER NOT NULL,"
    "  url TEXT NOT NULL, headers TEXT NOT NULL, PRIMARY KEY(webhook, version)) WITHOUT ROWID;"
    "CREATE TABLE webhook_counts(webhook INTEGER PRIMARY KEY, open INTEGER NOT NULL DEFAULT 0,"
    "  skipped INTEGER NOT NULL DEFAULT 0);"
    "INSERT INTO webhook_counts(webhook, open, skipped) SELECT w.seq, (SELECT COUNT(*) FROM"
    "  deliveries d WHERE d.webhook_id = w.id AND d.kind <> 'test' AND d.state IN (0, 1, 4)),"
    "  w.skipped FROM webhooks w;"
    "CREATE TABLE webhook_hours(webhook INTEGER NOT NULL, hour INTEGER NOT NULL,"
    "  succeeded INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,"
    "  retried INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(webhook, hour)) WITHOUT ROWID;"
    "INSERT INTO webhook_hours(webhook, hour, succeeded, failed) SELECT w.seq,"
    "  d.finished_at / 3600000 * 3600000, SUM(d.state = 2), SUM(d.state = 3) FROM deliveries d"
    "  JOIN webhooks w ON w.id = d.webhook_id WHERE d.kind <> 'test' AND d.state IN (2, 3)"
    "  AND d.finished_at IS NOT NULL GROUP BY 1, 2;"
    /* Retries: every attempt but a delivery's last, and the last one of a
     * delivery still retrying. */
    "INSERT INTO webhook_hours(webhook, hour, retried) SELECT w.seq,"
    "  (a.time + COALESCE(a.duration_ms, 0)) / 3600000 * 3600000, COUNT(*) FROM attempts a"
    "  JOIN deliveries d ON d.id = a.delivery_id JOIN webhooks w ON w.id = d.webhook_id"
    "  WHERE d.kind <> 'test' AND (d.state = 1 OR a.seq < (SELECT MAX(x.seq) FROM attempts x"
    "  WHERE x.delivery_id = a.delivery_id)) GROUP BY 1, 2"
    "  ON CONFLICT(webhook, hour) DO UPDATE SET retried = retried + excluded.retried;"
    "CREATE TABLE activity_ids(id TEXT PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO activity_ids(id, created_at) SELECT id, created_ns / 1000000 FROM activities;"
    /* AUTOINCREMENT: a seq is never given again, even after pruning took
     * the newest (the engine's cursors and the log's rely on seqs rising
     * with creation). delivery_state and attempts take their seq from here. */
    "CREATE TABLE deliveries2(seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  method INTEGER NOT NULL, person INTEGER, activity_id TEXT, field_id TEXT,"
    "  created_at INTEGER NOT NULL, query TEXT, body TEXT NOT NULL);"
    "INSERT INTO deliveries2(seq, id, kind, method, person, activity_id, field_id, created_at,"
    "  query, body) SELECT d.seq, d.id, CASE d.kind WHEN 'action' THEN 1 WHEN 'test' THEN 2"
    "  ELSE 0 END, CASE d.method WHEN 'GET' THEN 0 WHEN 'POST' THEN 1 WHEN 'PUT' THEN 2"
    "  WHEN 'PATCH' THEN 3 ELSE 4 END, (SELECT p.seq FROM activities a JOIN people p"
    "  ON p.contact_id = a.contact_id WHERE a.id = d.activity_id), d.activity_id, d.field_id,"
    "  d.created_at, CASE WHEN d.method NOT IN ('GET', 'DELETE') THEN NULL"
    /* The payload query is what follows the webhook's URL (fragment cut,
     * then '?' or '&' unless it ends in one); a URL changed since falls back
     * to what follows the first '?'. */
    "  WHEN substr(d.url, 1, length(b.base)) = b.base AND length(d.url) > length(b.base)"
    "  THEN substr(d.url, length(b.base) + 1 + (substr(b.base, -1) NOT IN ('?', '&')))"
    "  WHEN instr(d.url, '?') > 0 THEN substr(d.url, instr(d.url, '?') + 1) END,"
    "  d.body FROM deliveries d LEFT JOIN (SELECT id, CASE WHEN instr(u, '#') > 0"
    "  THEN substr(u, 1, instr(u, '#') - 1) ELSE u END AS base FROM (SELECT id,"
    "  json_extract(doc, '$.url') AS u FROM webhooks)) b ON b.id = d.webhook_id;"
    "CREATE TABLE delivery_state(seq INTEGER PRIMARY KEY, webhook INTEGER NOT NULL,"
    "  state INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER,"
    "  finished_at INTEGER, last_at INTEGER, status INTEGER, duration_ms INTEGER, error TEXT,"
    "  response TEXT, hver INTEGER, signature TEXT);"
    "INSERT INTO delivery_state(seq, webhook, state, attempts, next_at, finished_at, last_at,"
    "  status, duration_ms, error, response, hver, signature) SELECT d.seq, COALESCE(w.seq, 0),"
    "  d.state, d.attempts, CASE WHEN d.state IN (0, 1) THEN d.next_attempt_at END,"
    "  d.finished_at, (SELECT MAX(a.time) FROM attempts a WHERE a.delivery_id = d.id),"
    "  d.status_code, d.duration_ms, d.error, d.response_body,"
    "  CASE WHEN d.attempts > 0 THEN 1 END,"
    "  json_extract(d.request_headers, '$.\"webhook-signature\"')"
    "  FROM deliveries d LEFT JOIN webhooks w ON w.id = d.webhook_id;"
    "CREATE TABLE attempts2(seq INTEGER NOT NULL, n INTEGER NOT NULL, time INTEGER NOT NULL,"
    "  status INTEGER, error TEXT, duration_ms INTEGER, response TEXT, PRIMARY KEY(seq, n))"
    "  WITHOUT ROWID;"
    "INSERT INTO attempts2(seq, n, time, status, error, duration_ms, response) SELECT d.seq,"
    "  ROW_NUMBER() OVER (PARTITION BY a.delivery_id ORDER BY a.seq), a.time, a.status_code,"
    "  a.error, a.duration_ms, a.response_body FROM attempts a"
    "  JOIN deliveries d ON d.id = a.delivery_id;"
    /* The last attempt lives in delivery_state. */
    "DELETE FROM attempts2 WHERE (seq, n) IN (SELECT seq, MAX(n) FROM attempts2 GROUP BY seq);"
    "DROP TABLE attempts; DROP TABLE deliveries; DROP TABLE webhooks;"
    "ALTER TABLE activities RENAME TO activities_v1;"
    "ALTER TABLE webhooks2 RENAME TO webhooks;"
    "ALTER TABLE deliveries2 RENAME TO deliveries;"
    "ALTER TABLE attempts2 RENAME TO attempts;"
    "CREATE UNIQUE INDEX deliveries_id ON deliveries(id);"
    /* next_at is set exactly while a delivery waits for an attempt: finished
     * and held ones cost the scheduler nothing. */
    "CREATE INDEX delivery_due ON delivery_state(webhook, next_at) WHERE next_at IS NOT NULL;"
    /* (webhook, state, seq): a log page of one state is one range. */
    "CREATE INDEX delivery_log ON delivery_state(webhook, state);",

    /* 3: keys with names and scopes (model/apikey.h numbers the scopes). The
     * keys stored before had only a hash and a time: each was the key made
     * at first start, so each becomes an admin key named "initial", its id
     * a UUIDv7 of its creation time (as hookd_id_new makes). */
    "CREATE TABLE api_keys3(id TEXT PRIMARY KEY, name TEXT NOT NULL, scope INTEGER NOT NULL,"
    "  hash BLOB NOT NULL UNIQUE, created_at INTEGER NOT NULL, last_used_at INTEGER);"
    "INSERT INTO api_keys3(id, name, scope, hash, created_at) SELECT"
    "  printf('%08x-%04x-7%s-%s%s-%s', created_at >> 16, created_at & 65535,"
    "  substr(lower(hex(randomblob(2))), 1, 3), substr('89ab', 1 + abs(random() % 4), 1),"
    "  substr(lower(hex(randomblob(2))), 1, 3), lower(hex(randomblob(6)))),"
    "  'initial', 0, hash, created_at FROM api_keys;"
    "DROP TABLE api_keys;"
    "ALTER TABLE api_keys3 RENAME TO api_keys;",

    /* 4: secrets sealed at rest. The documents' secrets are sealed by
     * sq_webhooks_seal_all in the same transaction (SEAL_MIGRATION); meta
     * keeps the master key's check value. */
    "CREATE TABLE meta(name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",

    /* 5: a resend's webhook-id is its original's (NULL: the delivery's own
     * id). */
    "ALTER TABLE deliveries ADD COLUMN msg_id TEXT;",

    /* 6: each webhook's streak of failed attempts (hookd_streak), a row
     * only while one runs, so that a restart does not forget it. */
    ("CREATE TABLE webhook_streaks(webhook INTEGER PRIMARY KEY, since INTEGER NOT NULL,"
     "  failed INTEGER NOT NULL);"),
};
/* The migration after which webhook documents hold their secrets sealed. */
#define SEAL_MIGRATION 4
#define N_MIGRATIONS ((int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))

/* ---- statements -------------------------------------------------------- */

int sq_rc(sqlite3 *db, int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return HOOKD_OK;
    case SQLITE_CONSTRAINT:
        return HOOKD_ECONFLICT;
    case SQLITE_NOMEM:
        return HOOKD_ENOMEM;
    default:
        hookd_log_error("sqlite: %s (%d)", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), rc);
        return HOOKD_EUNAVAIL;
    }
}

sqlite3_stmt *sq_stmt(sq_conn *c, const char *sql)
{
    for (int i = 0; i < c->ncache; i++) {
        if (c->cache[i].sql == sql) {
            sqlite3_reset(c->cache[i].stmt);
            sqlite3_clear_bindings(c->cache[i].stmt);
            return c->cache[i].stmt;
        }
    }
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
    if (rc != SQLITE_OK) {
        sq_rc(c->db, rc);
        return NULL;
    }
    if (c->ncache == SQ_STMT_CACHE) {
        /* More literals than slots is a programming error. */
        hookd_log_error("sqlite: statement cache full");
        sqlite3_finalize(s);
        return NULL;
    }
    c->cache[c->ncache].sql = sql;
    c->cache[c->ncache].stmt = s;
    c->ncache++;
    return s;
}

int sq_step_done(sq_conn *c, sqlite3_stmt *q)
{
    int rc = sqlite3_step(q);
    int out = rc == SQLITE_DONE ? 0 : sq_rc(c->db, rc);
    sqlite3_reset(q);
    return out;
}

int sq_exec(sq_conn *c, const char *sql)
{
    return sq_rc(c->db, sqlite3_exec(c->db, sql, NULL, NULL, NULL));
}

void sq_bind_text(sqlite3_stmt *q, int idx, const char *s)
{
    if (s)
        sqlite3_bind_text(q, idx, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, idx);
}

void sq_bind_int64_or_null(sqlite3_stmt *q, int idx, int64_t v, bool is_null)
{
    if (is_null)
        sqlite3_bind_null(q, idx);
    else
        sqlite3_bind_int64(q, idx, v);
}

char *sq_column_strdup(sqlite3_stmt *q, int col)
{
    if (sqlite3_column_type(q, col) == SQLITE_NULL)
        return NULL;
    const unsigned char *t = sqlite3_column_text(q, col);
    size_t n = (size_t)sqlite3_column_bytes(q, col);
    char *s = malloc(n + 1);
    if (s && t) {
        memcpy(s, t, n);
        s[n] = '\0';
    }
    return s;
}

void sq_column_id(sqlite3_stmt *q, int col, char out[HOOKD_ID_MAX])
{
    const unsigned char *t = sqlite3_column_text(q, col);
    snprintf(out, HOOKD_ID_MAX, "%s", t ? (const char *)t : "");
}

json_t *sq_column_json(sqlite3_stmt *q, int col)
{
    if (sqlite3_column_type(q, col) == SQLITE_NULL)
        return NULL;
    return hookd_json_loadb((const char *)sqlite3_column_text(q, col),
                            (size_t)sqlite3_column_bytes(q, col), 0, NULL);
}

int sq_bind_json(sqlite3_stmt *q, int idx, const json_t *v)
{
    if (!v) {
        sqlite3_bind_null(q, idx);
        return 0;
    }
    char *text = hookd_json_dumps(v);
    if (!text)
        return HOOKD_ENOMEM;
    sqlite3_bind_text(q, idx, text, -1, free);
    return 0;
}

int sq_bind_body(sqlite3_stmt *q, int idx, const char *body, size_t len)
{
    unsigned char *packed;
    size_t plen;
    int rc = hookd_lz_pack(body, len, &packed, &plen);
    if (rc < 0)
        return HOOKD_ENOMEM;
    if (rc == 1)
        sqlite3_bind_blob(q, idx, packed, (int)plen, free);
    else
        sqlite3_bind_text(q, idx, body, (int)len, SQLITE_STATIC);
    return 0;
}

int sq_column_body(sqlite3_stmt *q, int col, char **out, size_t *len)
{
    *out = NULL;
    if (sqlite3_column_type(q, col) == SQLITE_BLOB) {
        if (hookd_lz_unpack(sqlite3_column_blob(q, col), (size_t)sqlite3_column_bytes(q, col), out,
                            len) == 0)
            return 0;
        hookd_log_error("sqlite: a stored body is damaged");
        return HOOKD_EUNAVAIL;
    }
    if (!(*out = sq_column_strdup(q, col)))
        return HOOKD_ENOMEM;
    *len = (size_t)sqlite3_column_bytes(q, col);
    return 0;
}

int sq_collect(sq_conn *c, sqlite3_stmt *q, size_t max, sq_row_fn decode, void (*free_fn)(void *),
               void ***out, size_t *n)
{
    void **list = NULL;
    size_t count = 0, cap = 0;
    int rc = 0, step = SQLITE_DONE;
    while (count < max && (step = sqlite3_step(q)) == SQLITE_ROW) {
        if (hookd_array_grow(&list, &cap, count, sizeof *list) != 0) {
            rc = HOOKD_ENOMEM;
            break;
        }
        if (!(list[count] = decode(q))) {
            rc = HOOKD_ENOMEM;
            break;
        }
        count++;
    }
    if (rc == 0 && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = sq_rc(c->db, step);
    sqlite3_reset(q);
    if (rc) {
        for (size_t i = 0; i < count; i++)
            free_fn(list[i]);
        free(list);
        return rc;
    }
    *out = list;
    *n = count;
    return 0;
}

static void conn_close(sq_conn *c)
{
    for (int i = 0; i < c->ncache; i++)
        sqlite3_finalize(c->cache[i].stmt);
    c->ncache = 0;
    if (c->db)
        sqlite3_close(c->db);
    c->db = NULL;
}

/* ---- readers ----------------------------------------------------------- */

sq_conn *sq_reader_get(sq_store *s)
{
    pthread_mutex_lock(&s->rlock);
    for (;;) {
        for (int i = 0; i < SQ_READERS; i++) {
            if (!s->reader_busy[i]) {
                s->reader_busy[i] = 1;
                pthread_mutex_unlock(&s->rlock);
                return &s->readers[i];
            }
        }
        pthread_cond_wait(&s->rfree, &s->rlock);
    }
}

void sq_reader_put(sq_store *s, sq_conn *c)
{
    /* Resetting every statement ends the implicit read transaction, so the
     * next read sees the latest commit and checkpoints are not held back. */
    for (int i = 0; i < c->ncache; i++)
        sqlite3_reset(c->cache[i].stmt);
    pthread_mutex_lock(&s->rlock);
    s->reader_busy[c - s->readers] = 0;
    pthread_cond_signal(&s->rfree);
    pthread_mutex_unlock(&s->rlock);
}

/* ---- the writer -------------------------------------------------------- */

void sq_caches_drop(sq_store *s)
{
    hookd_webhook_list_free(s->webhooks, s->n_webhooks);
    s->webhooks = NULL;
    s->n_webhooks = 0;
    s->webhooks_valid = false;
    sq_contacts_drop(s);
}

int sq_submit(sq_store *s, sq_cmd *c)
{
    c->done = false;
    c->next = NULL;
    c->rc = 0;
    pthread_mutex_lock(&s->qlock);
    if (s->stopping) {
        pthread_mutex_unlock(&s->qlock);
        return HOOKD_EUNAVAIL;
    }
    if (s->qtail)
        s->qtail->next = c;
    else
        s->qhead = c;
    s->qtail = c;
    pthread_cond_signal(&s->qcond);
    while (!c->done)
        pthread_cond_wait(&s->donecond, &s->qlock);
    pthread_mutex_unlock(&s->qlock);
    return c->rc;
}

static const char SQL_SAVEPOINT[] = "SAVEPOINT cmd";
static const char SQL_RELEASE[] = "RELEASE cmd";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO cmd";
static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";

static int run_stmt(sq_conn *c, const char *sql)
{
    sqlite3_stmt *q = sq_stmt(c, sql);
    return q ? sq_step_done(c, q) : HOOKD_EUNAVAIL;
}

static const char SQL_BEGIN_READ[] = "BEGIN";

int sq_read_begin(sq_conn *c)
{
    return run_stmt(c, SQL_BEGIN_READ);
}

void sq_read_end(sq_conn *c)
{
    /* A read transaction has nothing to lose: make sure it is over. */
    if (run_stmt(c, SQL_COMMIT) != 0 && !sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, SQL_ROLLBACK, NULL, NULL, NULL);
}

/* Runs one command in a savepoint of its own: if it fails, what it wrote is
 * undone and its neighbours' writes stay. */
static void run_one(sq_store *s, sq_cmd *c)
{
    if ((c->rc = run_stmt(&s->w, SQL_SAVEPOINT)) != 0)
        return;
    c->rc = c->run(s, c);
    if (c->rc != 0) {
        /* The caches may hold what was just undone. */
        sq_caches_drop(s);
        if (run_stmt(&s->w, SQL_ROLLBACK_TO) != 0)
            c->rc = HOOKD_EUNAVAIL;
    }
    if (run_stmt(&s->w, SQL_RELEASE) != 0 && c->rc == 0)
        c->rc = HOOKD_EUNAVAIL;
}

/* One group: BEGIN, every command, one COMMIT (one fsync), then the
 * listener and the waiters. */
static void run_batch(sq_store *s, sq_cmd *batch)
{
    int rc = run_stmt(&s->w, SQL_BEGIN);
    bool any = false;
    for (sq_cmd *c = batch; c; c = c->next) {
        if (rc) {
            c->rc = rc;
            continue;
        }
        run_one(s, c);
        any = any || c->rc == 0;
    }
    if (rc == 0 && (rc = run_stmt(&s->w, any ? SQL_COMMIT : SQL_ROLLBACK)) != 0) {
        if (!sqlite3_get_autocommit(s->w.db))
            sqlite3_exec(s->w.db, SQL_ROLLBACK, NULL, NULL, NULL);
        sq_caches_drop(s);
        for (sq_cmd *c = batch; c; c = c->next) {
            if (c->rc == 0)
                c->rc = rc;
        }
    }
    for (sq_cmd *c = batch; c; c = c->next) {
        if (c->rc == 0 && c->after)
            c->after(s, c);
    }
}

static void *writer_main(void *arg)
{
    sq_store *s = arg;
    pthread_setname_np(pthread_self(), "hookd-writer");
    pthread_mutex_lock(&s->qlock);
    for (;;) {
        while (!s->qhead && !s->stopping)
            pthread_cond_wait(&s->qcond, &s->qlock);
        if (!s->qhead)
            break; /* stopping, and nothing left */
        sq_cmd *batch = s->qhead;
        s->qhead = s->qtail = NULL;
        pthread_mutex_unlock(&s->qlock);
        run_batch(s, batch);
        pthread_mutex_lock(&s->qlock);
        /* Read next before marking done: a waiter frees its command as soon
         * as it sees done. */
        for (sq_cmd *c = batch, *next; c; c = next) {
            next = c->next;
            c->done = true;
        }
        pthread_cond_broadcast(&s->donecond);
    }
    pthread_mutex_unlock(&s->qlock);
    return NULL;
}

/* ---- custom fields ----------------------------------------------------- */

typedef struct field_cmd {
    sq_cmd base;
    const hookd_custom_field *f;
} field_cmd;

static int field_insert_run(sq_store *s, sq_cmd *c)
{
    static const char SQL[] =
        "INSERT INTO fields(id, name, type, object, created_at) VALUES(?, ?, ?, ?, ?)";
    const hookd_custom_field *f = ((field_cmd *)c)->f;
    sqlite3_stmt *q = sq_stmt(&s->w, SQL);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_text(q, 1, f->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, f->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, hookd_field_type_name(f->type), -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, f->object == HOOKD_OBJ_ACCOUNT ? "account" : "person", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, f->created_at);
    return sq_step_done(&s->w, q);
}

static int sq_field_insert(hookd_store *st, const hookd_custom_field *f)
{
    field_cmd c = {.base.run = field_insert_run, .f = f};
    return sq_submit(SQ(st), &c.base);
}

static void *row_field(sqlite3_stmt *q)
{
    hookd_custom_field *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    const char *type = (const char *)sqlite3_column_text(q, 2);
    f->id = sq_column_strdup(q, 0);
    f->name = sq_column_strdup(q, 1);
    f->type = hookd_field_type_from_name(type, strlen(type));
    f->object = strcmp((const char *)sqlite3_column_text(q, 3), "account") == 0
                    ? HOOKD_OBJ_ACCOUNT
                    : HOOKD_OBJ_PERSON;
    f->created_at = sqlite3_column_int64(q, 4);
    if (!f->id || !f->name) {
        hookd_custom_field_free(f);
        return NULL;
    }
    return f;
}

static void free_field(void *p)
{
    hookd_custom_field_free(p);
}

#define FIELD_COLS "id, name, type, object, created_at"

static int sq_field_get(hookd_store *st, const char *id, hookd_custom_field **out)
{
    static const char SQL[] = "SELECT " FIELD_COLS " FROM fields WHERE id = ?";
    sq_store *s = SQ(st);
    sq_conn *c = sq_reader_get(s);
    sqlite3_stmt *q = sq_stmt(c, SQL);
    int rc = HOOKD_EUNAVAIL;
    if (q) {
        sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
        int step = sqlite3_step(q);
        if (step == SQLITE_ROW)
            rc = (*out = row_field(q)) ? 0 : HOOKD_ENOMEM;
        else
            rc = step == SQLITE_DONE ? HOOKD_ENOTFOUND : sq_rc(c->db, step);
    }
    sq_reader_put(s, c);
    return rc;
}

static int sq_field_list(hookd_store *st, hookd_custom_field ***out, size_t *n)
{
    static const char SQL[] = "SELECT " FIELD_COLS " FROM fields ORDER BY seq";
    sq_store *s = SQ(st);
    sq_conn *c = sq_reader_get(s);
    sqlite3_stmt *q = sq_stmt(c, SQL);
    int rc = q ? sq_collect(c, q, SIZE_MAX, row_field, free_field, (void ***)out, n)
               : HOOKD_EUNAVAIL;
    sq_reader_put(s, c);
    return rc;
}

/* ---- open / close ------------------------------------------------------ */

static void sq_close(hookd_store *st)
{
    sq_store *s = SQ(st);
    if (s->writer_started) {
        pthread_mutex_lock(&s->qlock);
        s->stopping = true;
        pthread_cond_signal(&s->qcond);
        pthread_mutex_unlock(&s->qlock);
        pthread_join(s->writer_thread, NULL);
    }
    sq_caches_drop(s);
    for (int i = 0; i < SQ_READERS; i++)
        conn_close(&s->readers[i]);
    conn_close(&s->w);
    pthread_mutex_destroy(&s->qlock);
    pthread_cond_destroy(&s->qcond);
    pthread_cond_destroy(&s->donecond);
    pthread_mutex_destroy(&s->rlock);
    pthread_cond_destroy(&s->rfree);
    free(s);
}

static const hookd_store_ops SQLITE_OPS = {
    .close = sq_close,
    .key_add = sq_key_add,
    .key_list = sq_key_list,
    .key_entries = sq_key_entries,
    .key_revoke = sq_key_revoke,
    .key_touch = sq_key_touch,
    .webhook_insert = sq_webhook_insert,
    .webhook_change = sq_webhook_change,
    .webhook_get = sq_webhook_get,
    .webhook_list = sq_webhook_list,
    .webhook_delete = sq_webhook_delete,
    .webhook_stats = sq_webhook_stats,
    .webhook_hours = sq_webhook_hours,
    .field_insert = sq_field_insert,
    .field_get = sq_field_get,
    .field_list = sq_field_list,
    .people_merge = sq_people_merge,
    .accounts_merge = sq_accounts_merge,
    .person_get = sq_person_get,
    .account_get = sq_account_get,
    .ingest = sq_ingest,
    .due = sq_due,
    .next_due = sq_next_due,
    .max_seq = sq_max_seq,
    .record_outcomes = sq_record_outcomes,
    .delivery_retry = sq_delivery_retry,
    .recover = sq_recover,
    .delivery_resend = sq_delivery_resend,
    .record_test = sq_record_test,
    .prune = sq_prune,
    .delivery_list = sq_delivery_list,
    .delivery_get = sq_delivery_get,
    .webhook_insert_tested = sq_webhook_insert_tested,
};

/* Rewrites every page of the file and empties the WAL, so no clear copy of
 * a secret sealed since (or of a table an earlier migration dropped) stays
 * in free pages, old WAL frames or the slack of a page. */
static int scrub(sq_conn *c)
{
    return sq_exec(c, "VACUUM") == 0 && sq_exec(c, "PRAGMA wal_checkpoint(TRUNCATE)") == 0 ? 0
                                                                                      : -1;
}

static int migrate(sq_conn *c, const hookd_sealer *sl, char *err, size_t errlen)
{
    sqlite3_stmt *q;
    int version = 0;
    if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK)
        goto sqlfail;
    if (sqlite3_step(q) == SQLITE_ROW)
        version = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    if (version > N_MIGRATIONS) {
        snprintf(err, errlen, "database schema version %d is newer than this hookd (%d)", version,
                 N_MIGRATIONS);
        return HOOKD_EUNAVAIL;
    }
    /* Clear secrets are about to be overwritten: zero what is freed. */
    bool sealing_old = version > 0 && version < SEAL_MIGRATION;
    if (sealing_old && sq_exec(c, "PRAGMA secure_delete=ON") != 0)
        goto sqlfail;
    for (int v = version; v < N_MIGRATIONS; v++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
        if (sq_exec(c, "BEGIN IMMEDIATE") != 0)
            goto sqlfail;
        if (sq_exec(c, MIGRATIONS[v]) != 0 || sq_exec(c, bump) != 0) {
            snprintf(err, errlen, "schema migration %d failed: %s", v + 1, sqlite3_errmsg(c->db));
            sq_exec(c, "ROLLBACK");
            return HOOKD_EUNAVAIL;
        }
        /* Rows a migration cannot write in SQL alone (each webhook's
         * version row, made from its document; the sealed secrets). */
        const hookd_sealer *docs_sl = v + 1 >= SEAL_MIGRATION ? sl : NULL;
        if ((v + 1 == SEAL_MIGRATION && sq_webhooks_seal_all(c, sl) != 0) ||
            sq_webhooks_fix_versions(c, docs_sl) != 0 || sq_exec(c, "COMMIT") != 0) {
            snprintf(err, errlen, "schema migration %d failed: %s", v + 1, sqlite3_errmsg(c->db));
            sq_exec(c, "ROLLBACK");
            return HOOKD_EUNAVAIL;
        }
        hookd_log_info("store: applied schema migration %d", v + 1);
    }
    if (sealing_old) {
        if (scrub(c) != 0 || sq_exec(c, "PRAGMA secure_delete=OFF") != 0)
            goto sqlfail;
        hookd_log_info("store: sealed the secrets of the existing webhooks");
    }
    return 0;
sqlfail:
    snprintf(err, errlen, "schema migration failed: %s", sqlite3_errmsg(c->db));
    return HOOKD_EUNAVAIL;
}

static int open_conn(sq_conn *c, const char *path, int flags, char *err, size_t errlen)
{
    int rc = sqlite3_open_v2(path, &c->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open database %s: %s", path,
                 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        return HOOKD_EUNAVAIL;
    }
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(c->db, 1);
    return 0;
}

/* Checks the master key against the stored check value, or stores one. */
static int check_key(sq_conn *c, const hookd_store_options *opt, char *err, size_t errlen)
{
    static const char SQL_GET[] = "SELECT value FROM meta WHERE name = 'seal_check'";
    static const char SQL_PUT[] = "INSERT INTO meta(name, value) VALUES('seal_check', ?)";
    sqlite3_stmt *q = sq_stmt(c, SQL_GET);
    if (!q)
        goto sqlfail;
    char *stored = NULL, *made = NULL;
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW && !(stored = sq_column_strdup(q, 0))) {
        sqlite3_reset(q);
        snprintf(err, errlen, "out of memory");
        return HOOKD_ENOMEM;
    }
    sqlite3_reset(q);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        goto sqlfail;
    int rc = hookd_seal_check(opt, stored, &made, err, errlen);
    free(stored);
    if (rc || !made)
        return rc;
    q = sq_stmt(c, SQL_PUT);
    if (q)
        sqlite3_bind_text(q, 1, made, -1, free);
    else
        free(made);
    if (!q || sq_step_done(c, q) != 0)
        goto sqlfail;
    return 0;
sqlfail:
    snprintf(err, errlen, "cannot read the master key's check value: %s", sqlite3_errmsg(c->db));
    return HOOKD_EUNAVAIL;
}

/* Makes the database file mode 0600 before SQLite opens it (SQLite gives
 * its -wal and -shm the mode of the database file), and warns about
 * existing files that others may read. */
static int private_files(const char *path, char *err, size_t errlen)
{
    static const char *const SUFFIXES[] = {"", "-wal", "-shm"};
    char name[4096];
    for (size_t i = 0; i < sizeof SUFFIXES / sizeof SUFFIXES[0]; i++) {
        snprintf(name, sizeof name, "%s%s", path, SUFFIXES[i]);
        hookd_file_warn_loose(name);
    }
    if (hookd_file_create_private(path) != 0) {
        snprintf(err, errlen, "cannot create database %s: %s", path, strerror(errno));
        return HOOKD_EUNAVAIL;
    }
    return 0;
}

int hookd_store_open_sqlite(const hookd_store_options *opt, hookd_store **out, char *err,
                            size_t errlen)
{
    const char *path = opt->db_path;
    sq_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return HOOKD_ENOMEM;
    }
    s->base.ops = &SQLITE_OPS;
    s->base.sealer = opt->sealer;
    pthread_mutex_init(&s->qlock, NULL);
    pthread_cond_init(&s->qcond, NULL);
    pthread_cond_init(&s->donecond, NULL);
    pthread_mutex_init(&s->rlock, NULL);
    pthread_cond_init(&s->rfree, NULL);
    int rc = private_files(path, err, errlen);
    if (rc == 0)
        rc = open_conn(&s->w, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err, errlen);
    if (rc)
        goto fail;
    /* WAL so readers never block the writer; FULL so a COMMIT that returned
     * survives power loss, which is what a 2xx promises. */
    if (sq_exec(&s->w, "PRAGMA journal_mode=WAL") != 0 ||
        sq_exec(&s->w, "PRAGMA synchronous=FULL") != 0 ||
        sq_exec(&s->w, "PRAGMA foreign_keys=ON") != 0) {
        snprintf(err, errlen, "cannot set up database %s: %s", path, sqlite3_errmsg(s->w.db));
        rc = HOOKD_EUNAVAIL;
        goto fail;
    }
    if ((rc = migrate(&s->w, opt->sealer, err, errlen)) != 0 ||
        (rc = check_key(&s->w, opt, err, errlen)) != 0)
        goto fail;
    for (int i = 0; i < SQ_READERS; i++) {
        if ((rc = open_conn(&s->readers[i], path, SQLITE_OPEN_READONLY, err, errlen)) != 0)
            goto fail;
        /* Readers look up a page of rows at a time; the OS caches the file
         * for them. A small cache each keeps four from holding 8 MiB. */
        sq_exec(&s->readers[i], "PRAGMA cache_size = -512");
    }
    if (pthread_create(&s->writer_thread, NULL, writer_main, s) != 0) {
        snprintf(err, errlen, "cannot start the store's writer thread");
        rc = HOOKD_ENOMEM;
        goto fail;
    }
    s->writer_started = true;
    *out = &s->base;
    return 0;
fail:
    sq_close(&s->base);
    return rc;
}

/*
 * store_sqlite.c — the SQLite backend of store.h.
 *
 * One write connection behind a mutex runs every write in its own
 * BEGIN IMMEDIATE … COMMIT; a small pool of read-only connections serves
 * reads beside it (WAL lets readers and the writer run at once). The file is
 * opened with synchronous=FULL, so a commit that returned is on disk, even
 * across power loss. Statements are prepared once per connection and reused.
 */
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_impl.h"
#include "util/json.h"
#include "util/log.h"
#include "util/timeutil.h"

#define READERS 4
#define STMT_CACHE 32
#define BUSY_TIMEOUT_MS 5000
#define CLAIM_BUSY_TIMEOUT_MS 100

typedef struct conn {
    sqlite3 *db;
    struct {
        const char *sql; /* compared by address: every statement is a literal */
        sqlite3_stmt *stmt;
    } cache[STMT_CACHE];
    int ncache;
} conn;

typedef struct sqlite_store {
    hookd_store base;
    pthread_mutex_t wlock;
    conn writer;
    pthread_mutex_t rlock;
    pthread_cond_t rfree;
    conn readers[READERS];
    int reader_busy[READERS];
    bool sync_off; /* synchronous=FULL could not be restored after a claim */
} sqlite_store;

/* Schema migrations, applied in order; PRAGMA user_version counts how many
 * have run. Never edit a migration that has shipped: append a new one. */
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
    /* state is hookd_delivery_state's number; times are ms since the epoch. */
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
    /* Partial: finished deliveries cost the scheduler nothing. */
    "CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE state IN (0, 1);"
    "CREATE TABLE attempts(seq INTEGER PRIMARY KEY, delivery_id TEXT NOT NULL,"
    "  time INTEGER NOT NULL, status_code INTEGER, error TEXT, duration_ms INTEGER,"
    "  response_body TEXT);"
    "CREATE INDEX attempts_delivery ON attempts(delivery_id, seq);",
};
#define N_MIGRATIONS ((int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))

static sqlite_store *S(hookd_store *st)
{
    return (sqlite_store *)st;
}

/* Maps an SQLite result to a hookd code, logging what the caller cannot see. */
static int map_rc(sqlite3 *db, int rc)
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

/* A prepared statement for sql on c, reset and ready to bind; NULL on error. */
static sqlite3_stmt *stmt(conn *c, const char *sql)
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
        map_rc(c->db, rc);
        return NULL;
    }
    if (c->ncache < STMT_CACHE) {
        c->cache[c->ncache].sql = sql;
        c->cache[c->ncache].stmt = s;
        c->ncache++;
    } else {
        /* A full cache is a programming error (more literals than slots). */
        hookd_log_error("sqlite: statement cache full");
        sqlite3_finalize(s);
        return NULL;
    }
    return s;
}

static void conn_close(conn *c)
{
    for (int i = 0; i < c->ncache; i++)
        sqlite3_finalize(c->cache[i].stmt);
    c->ncache = 0;
    if (c->db)
        sqlite3_close(c->db);
    c->db = NULL;
}

static int exec(conn *c, const char *sql)
{
    return map_rc(c->db, sqlite3_exec(c->db, sql, NULL, NULL, NULL));
}

/* ---- transactions ------------------------------------------------------ */

static int wbegin(sqlite_store *s)
{
    pthread_mutex_lock(&s->wlock);
    if (s->sync_off && (s->sync_off = exec(&s->writer, "PRAGMA synchronous=FULL") != 0)) {
        pthread_mutex_unlock(&s->wlock);
        return HOOKD_EUNAVAIL;
    }
    int rc = exec(&s->writer, "BEGIN IMMEDIATE");
    if (rc != 0)
        pthread_mutex_unlock(&s->wlock);
    return rc;
}

static void wrollback(sqlite_store *s)
{
    if (!sqlite3_get_autocommit(s->writer.db))
        exec(&s->writer, "ROLLBACK");
    pthread_mutex_unlock(&s->wlock);
}

/* Commits, or rolls back if rc is already an error or the commit fails. */
static int wend(sqlite_store *s, int rc)
{
    if (rc == 0)
        rc = exec(&s->writer, "COMMIT");
    if (rc != 0) {
        wrollback(s);
        return rc;
    }
    pthread_mutex_unlock(&s->wlock);
    return 0;
}

static conn *reader_get(sqlite_store *s)
{
    pthread_mutex_lock(&s->rlock);
    for (;;) {
        for (int i = 0; i < READERS; i++) {
            if (!s->reader_busy[i]) {
                s->reader_busy[i] = 1;
                pthread_mutex_unlock(&s->rlock);
                return &s->readers[i];
            }
        }
        pthread_cond_wait(&s->rfree, &s->rlock);
    }
}

static void reader_put(sqlite_store *s, conn *c)
{
    /* Ends the implicit read transaction so WAL checkpoints can proceed. */
    for (int i = 0; i < c->ncache; i++)
        sqlite3_reset(c->cache[i].stmt);
    pthread_mutex_lock(&s->rlock);
    s->reader_busy[c - s->readers] = 0;
    pthread_cond_signal(&s->rfree);
    pthread_mutex_unlock(&s->rlock);
}

/* Runs one statement that returns no rows; returns a hookd code. */
static int step_done(conn *c, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    int out = rc == SQLITE_DONE ? 0 : map_rc(c->db, rc);
    sqlite3_reset(st);
    return out;
}

/* Decodes the current row into a new object, or NULL if memory ran out. */
typedef void *(*row_decoder)(sqlite3_stmt *q);

/* Steps q to its end (or max rows), decoding each row into a growing array.
 * On error frees what was decoded with free_fn. q is reset afterwards. */
static int collect_rows(conn *c, sqlite3_stmt *q, size_t max, row_decoder decode,
                        void (*free_fn)(void *), void ***out, size_t *n)
{
    void **list = NULL;
    size_t count = 0, cap = 0;
    int rc = 0, step = SQLITE_DONE;
    while (count < max && (step = sqlite3_step(q)) == SQLITE_ROW) {
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            void **grown = realloc(list, cap * sizeof *grown);
            if (!grown) {
                rc = HOOKD_ENOMEM;
                break;
            }
            list = grown;
        }
        if (!(list[count] = decode(q))) {
            rc = HOOKD_ENOMEM;
            break;
        }
        count++;
    }
    if (rc == 0 && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = map_rc(c->db, step);
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

/* ---- api keys ---------------------------------------------------------- */

static int sq_api_key_add(hookd_store *st, const unsigned char hash[HOOKD_KEY_HASH_LEN])
{
    static const char SQL[] = "INSERT OR IGNORE INTO api_keys(hash, created_at) VALUES(?, ?)";
    sqlite_store *s = S(st);
    int rc = wbegin(s);
    if (rc)
        return rc;
    sqlite3_stmt *q = stmt(&s->writer, SQL);
    if (!q)
        return wend(s, HOOKD_EUNAVAIL);
    sqlite3_bind_blob(q, 1, hash, HOOKD_KEY_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, hookd_now_ms());
    return wend(s, step_done(&s->writer, q));
}

static int sq_api_key_hashes(hookd_store *st, unsigned char **hashes, size_t *n)
{
    static const char SQL[] = "SELECT hash FROM api_keys";
    sqlite_store *s = S(st);
    conn *c = reader_get(s);
    sqlite3_stmt *q = stmt(c, SQL);
    unsigned char *out = NULL;
    size_t count = 0;
    int rc = q ? 0 : HOOKD_EUNAVAIL, step;
    while (q && (step = sqlite3_step(q)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(q, 0) != HOOKD_KEY_HASH_LEN)
            continue;
        unsigned char *grown = realloc(out, (count + 1) * HOOKD_KEY_HASH_LEN);
        if (!grown) {
            rc = HOOKD_ENOMEM;
            break;
        }
        out = grown;
        memcpy(out + count * HOOKD_KEY_HASH_LEN, sqlite3_column_blob(q, 0), HOOKD_KEY_HASH_LEN);
        count++;
    }
    if (q && rc == 0 && step != SQLITE_DONE)
        rc = map_rc(c->db, step);
    reader_put(s, c);
    if (rc) {
        free(out);
        return rc;
    }
    *hashes = out;
    *n = count;
    return 0;
}

/* ---- webhooks ---------------------------------------------------------- */

/* Decodes the doc column (0) of a row into a new webhook. */
static void *row_webhook(sqlite3_stmt *q)
{
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)sqlite3_column_text(q, 0),
                             (size_t)sqlite3_column_bytes(q, 0), 0, &jerr);
    if (!doc) {
        hookd_log_error("sqlite: webhook doc damaged: %s", jerr.text);
        return NULL;
    }
    hookd_webhook *wh = hookd_webhook_from_doc(doc);
    json_decref(doc);
    return wh;
}

static void free_webhook(void *p)
{
    hookd_webhook_free(p);
}

static int bind_doc(sqlite3_stmt *q, int idx, const hookd_webhook *wh)
{
    json_t *doc = hookd_webhook_to_doc(wh);
    char *text = doc ? hookd_json_dumps(doc) : NULL;
    json_decref(doc);
    if (!text)
        return HOOKD_ENOMEM;
    sqlite3_bind_text(q, idx, text, -1, free);
    return 0;
}

static int sq_webhook_insert(hookd_store *st, const hookd_webhook *wh)
{
    static const char SQL[] = "INSERT INTO webhooks(id, doc, created_at) VALUES(?, ?, ?)";
    sqlite_store *s = S(st);
    int rc = wbegin(s);
    if (rc)
        return rc;
    sqlite3_stmt *q = stmt(&s->writer, SQL);
    if (!q)
        return wend(s, HOOKD_EUNAVAIL);
    sqlite3_bind_text(q, 1, wh->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, wh->created_at);
    if ((rc = bind_doc(q, 2, wh)) == 0)
        rc = step_done(&s->writer, q);
    return wend(s, rc);
}

static int get_webhook(conn *c, const char *sql, const char *id, hookd_webhook **out)
{
    sqlite3_stmt *q = stmt(c, sql);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    int rc;
    if (step == SQLITE_ROW)
        rc = (*out = row_webhook(q)) ? 0 : HOOKD_ENOMEM;
    else if (step == SQLITE_DONE)
        rc = HOOKD_ENOTFOUND;
    else
        rc = map_rc(c->db, step);
    sqlite3_reset(q);
    return rc;
}

static const char SQL_WEBHOOK_GET[] = "SELECT doc FROM webhooks WHERE id = ?";
static const char SQL_WEBHOOK_LIST[] = "SELECT doc FROM webhooks ORDER BY seq";
static int list_webhooks(conn *c, const char *sql, hookd_webhook ***out, size_t *n);

/* Disconnecting holds the waiting deliveries; connecting makes them due now
 * (pending or retrying by whether they were attempted), attempts kept. */
static int hold_or_resume(conn *c, const char *webhook_id, bool connected, int64_t now_ms)
{
    static const char SQL_HOLD[] = "UPDATE deliveries SET state = 4, next_attempt_at = NULL, "
                                   "lease_until = NULL WHERE webhook_id = ?1 AND state IN (0, 1)";
    static const char SQL_RESUME[] =
        "UPDATE deliveries SET state = CASE WHEN attempts > 0 THEN 1 ELSE 0 END, "
        "next_attempt_at = ?2, lease_until = NULL WHERE webhook_id = ?1 AND state = 4";
    sqlite3_stmt *q = stmt(c, connected ? SQL_RESUME : SQL_HOLD);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_text(q, 1, webhook_id, -1, SQLITE_STATIC);
    if (connected)
        sqlite3_bind_int64(q, 2, now_ms);
    return step_done(c, q);
}

static int sq_webhook_change(hookd_store *st, const char *id, hookd_webhook_change_fn fn,
                             void *ctx, hookd_webhook **out)
{
    static const char SQL_PUT[] = "UPDATE webhooks SET doc = ? WHERE id = ?";
    sqlite_store *s = S(st);
    hookd_webhook *wh = NULL;
    int rc = wbegin(s);
    if (rc)
        return rc;
    if ((rc = get_webhook(&s->writer, SQL_WEBHOOK_GET, id, &wh)) != 0)
        goto done;
    bool was_connected = wh->connected;
    if ((rc = fn(wh, ctx)) != 0)
        goto done;
    if (wh->connected != was_connected &&
        (rc = hold_or_resume(&s->writer, id, wh->connected, hookd_now_ms())) != 0)
        goto done;
    sqlite3_stmt *q = stmt(&s->writer, SQL_PUT);
    if (!q) {
        rc = HOOKD_EUNAVAIL;
        goto done;
    }
    sqlite3_bind_text(q, 2, id, -1, SQLITE_STATIC);
    if ((rc = bind_doc(q, 1, wh)) == 0)
        rc = step_done(&s->writer, q);
done:
    rc = wend(s, rc);
    if (rc == 0 && out)
        *out = wh;
    else
        hookd_webhook_free(wh);
    return rc;
}

static int sq_webhook_get(hookd_store *st, const char *id, hookd_webhook **out)
{
    sqlite_store *s = S(st);
    conn *c = reader_get(s);
    int rc = get_webhook(c, SQL_WEBHOOK_GET, id, out);
    reader_put(s, c);
    return rc;
}

static int sq_webhook_list(hookd_store *st, hookd_webhook ***out, size_t *n)
{
    sqlite_store *s = S(st);
    conn *c = reader_get(s);
    int rc = list_webhooks(c, SQL_WEBHOOK_LIST, out, n);
    reader_put(s, c);
    return rc;
}

static int sq_webhook_delete(hookd_store *st, const char *id)
{
    static const char SQL[] = "DELETE FROM webhooks WHERE id = ?";
    /* Its waiting deliveries end as cancelled (SPEC §2), kept for the record. */
    static const char SQL_CANCEL[] = "UPDATE deliveries SET state = 5, next_attempt_at = NULL "
                                     "WHERE webhook_id = ? AND state IN (0, 1, 4)";
    sqlite_store *s = S(st);
    int rc = wbegin(s);
    if (rc)
        return rc;
    sqlite3_stmt *q = stmt(&s->writer, SQL);
    if (!q)
        return wend(s, HOOKD_EUNAVAIL);
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    rc = step_done(&s->writer, q);
    if (rc == 0 && sqlite3_changes(s->writer.db) == 0)
        rc = HOOKD_ENOTFOUND;
    if (rc == 0 && (q = stmt(&s->writer, SQL_CANCEL)) != NULL) {
        sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
        rc = step_done(&s->writer, q);
    }
    return wend(s, rc);
}

/* ---- custom fields ----------------------------------------------------- */

static int sq_field_insert(hookd_store *st, const hookd_custom_field *f)
{
    static const char SQL[] =
        "INSERT INTO fields(id, name, type, object, created_at) VALUES(?, ?, ?, ?, ?)";
    sqlite_store *s = S(st);
    int rc = wbegin(s);
    if (rc)
        return rc;
    sqlite3_stmt *q = stmt(&s->writer, SQL);
    if (!q)
        return wend(s, HOOKD_EUNAVAIL);
    sqlite3_bind_text(q, 1, f->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, f->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, hookd_field_type_name(f->type), -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, f->object == HOOKD_OBJ_ACCOUNT ? "account" : "person", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, f->created_at);
    return wend(s, step_done(&s->writer, q));
}

static hookd_custom_field *row_field(sqlite3_stmt *q)
{
    hookd_custom_field *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    const char *type = (const char *)sqlite3_column_text(q, 2);
    f->id = strdup((const char *)sqlite3_column_text(q, 0));
    f->name = strdup((const char *)sqlite3_column_text(q, 1));
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

static int sq_field_get(hookd_store *st, const char *id, hookd_custom_field **out)
{
    static const char SQL[] = "SELECT id, name, type, object, created_at FROM fields WHERE id = ?";
    sqlite_store *s = S(st);
    conn *c = reader_get(s);
    sqlite3_stmt *q = stmt(c, SQL);
    int rc = HOOKD_EUNAVAIL;
    if (q) {
        sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
        int step = sqlite3_step(q);
        if (step == SQLITE_ROW)
            rc = (*out = row_field(q)) ? 0 : HOOKD_ENOMEM;
        else
            rc = step == SQLITE_DONE ? HOOKD_ENOTFOUND : map_rc(c->db, step);
    }
    reader_put(s, c);
    return rc;
}

static void *row_field_any(sqlite3_stmt *q)
{
    return row_field(q);
}

static void free_field(void *p)
{
    hookd_custom_field_free(p);
}

static int sq_field_list(hookd_store *st, hookd_custom_field ***out, size_t *n)
{
    static const char SQL[] = "SELECT id, name, type, object, created_at FROM fields ORDER BY seq";
    sqlite_store *s = S(st);
    conn *c = reader_get(s);
    sqlite3_stmt *q = stmt(c, SQL);
    int rc = q ? collect_rows(c, q, SIZE_MAX, row_field_any, free_field, (void ***)out, n)
               : HOOKD_EUNAVAIL;
    reader_put(s, c);
    return rc;
}

/* ---- write transactions ---------------------------------------------- */

typedef struct sqlite_txn {
    hookd_txn base;
} sqlite_txn;

static int sq_begin(hookd_store *st, hookd_txn **out)
{
    sqlite_txn *tx = calloc(1, sizeof *tx);
    if (!tx)
        return HOOKD_ENOMEM;
    int rc = wbegin(S(st));
    if (rc) {
        free(tx);
        return rc;
    }
    tx->base.st = st;
    *out = &tx->base;
    return 0;
}

static int sq_commit(hookd_txn *tx)
{
    int rc = wend(S(tx->st), 0);
    free(tx);
    return rc;
}

static void sq_rollback(hookd_txn *tx)
{
    wrollback(S(tx->st));
    free(tx);
}

/* The writer connection of a transaction's store. */
static conn *W(hookd_txn *tx)
{
    return &S(tx->st)->writer;
}

static json_t *column_json(sqlite3_stmt *q, int col)
{
    if (sqlite3_column_type(q, col) == SQLITE_NULL)
        return NULL;
    return json_loadb((const char *)sqlite3_column_text(q, col),
                      (size_t)sqlite3_column_bytes(q, col), 0, NULL);
}

static char *column_strdup(sqlite3_stmt *q, int col)
{
    if (sqlite3_column_type(q, col) == SQLITE_NULL)
        return NULL;
    return strdup((const char *)sqlite3_column_text(q, col));
}

static void column_id(sqlite3_stmt *q, int col, char out[HOOKD_ID_MAX])
{
    const unsigned char *t = sqlite3_column_text(q, col);
    snprintf(out, HOOKD_ID_MAX, "%s", t ? (const char *)t : "");
}

/* Binds a JSON value as compact text (SQLite takes ownership). */
static int bind_json(sqlite3_stmt *q, int idx, const json_t *j)
{
    if (!j) {
        sqlite3_bind_null(q, idx);
        return 0;
    }
    char *text = hookd_json_dumps(j);
    if (!text)
        return HOOKD_ENOMEM;
    sqlite3_bind_text(q, idx, text, -1, free);
    return 0;
}

#define PERSON_COLS "contact_id, account_id, fields, created_at, updated_at"

static int row_person(sqlite3_stmt *q, hookd_person **out)
{
    hookd_person *p = calloc(1, sizeof *p);
    if (!p)
        return HOOKD_ENOMEM;
    column_id(q, 0, p->contact_id);
    column_id(q, 1, p->account_id);
    p->fields = column_json(q, 2);
    p->created_at = sqlite3_column_int64(q, 3);
    p->updated_at = sqlite3_column_int64(q, 4);
    if (!p->fields) {
        hookd_person_free(p);
        return HOOKD_EUNAVAIL;
    }
    *out = p;
    return 0;
}

/* Runs q (bound) expecting at most one row, decoded by fn. */
static int one_row(conn *c, sqlite3_stmt *q, int (*fn)(sqlite3_stmt *, void *), void *out)
{
    int step = sqlite3_step(q);
    int rc;
    if (step == SQLITE_ROW)
        rc = fn(q, out);
    else
        rc = step == SQLITE_DONE ? HOOKD_ENOTFOUND : map_rc(c->db, step);
    sqlite3_reset(q);
    return rc;
}

static int person_cb(sqlite3_stmt *q, void *out)
{
    return row_person(q, out);
}

static int person_by_id(conn *c, const char *sql, const char *id, hookd_person **out)
{
    sqlite3_stmt *q = stmt(c, sql);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    return one_row(c, q, person_cb, out);
}

static const char SQL_PERSON_GET[] = "SELECT " PERSON_COLS " FROM people WHERE contact_id = ?";

static int sq_person_get(hookd_txn *tx, const char *contact_id, hookd_person **out)
{
    return person_by_id(W(tx), SQL_PERSON_GET, contact_id, out);
}

static int sq_person_find(hookd_txn *tx, const char *field_id, const char *value,
                          hookd_person **out)
{
    /* Literal paths so the expression indexes serve the usual merge keys. */
    static const char SQL_EMAIL[] = "SELECT " PERSON_COLS " FROM people WHERE "
                                    "json_extract(fields, '$.\"str::email\"') = ?2 ORDER BY seq "
                                    "LIMIT 1";
    static const char SQL_EI[] = "SELECT " PERSON_COLS " FROM people WHERE "
                                 "json_extract(fields, '$.\"str::ei\"') = ?2 ORDER BY seq LIMIT 1";
    static const char SQL_ANY[] = "SELECT " PERSON_COLS " FROM people WHERE "
                                  "json_extract(fields, '$.\"' || ?1 || '\"') = ?2 ORDER BY seq "
                                  "LIMIT 1";
    const char *sql = strcmp(field_id, "str::email") == 0 ? SQL_EMAIL
                      : strcmp(field_id, "str::ei") == 0  ? SQL_EI
                                                          : SQL_ANY;
    conn *c = W(tx);
    sqlite3_stmt *q = stmt(c, sql);
    if (!q)
        return HOOKD_EUNAVAIL;
    if (sql == SQL_ANY)
        sqlite3_bind_text(q, 1, field_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, value, -1, SQLITE_STATIC);
    return one_row(c, q, person_cb, out);
}

static int sq_person_put(hookd_txn *tx, const hookd_person *p)
{
    static const char SQL[] =
        "INSERT INTO people(contact_id, account_id, fields, created_at, updated_at) "
        "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(contact_id) DO UPDATE SET "
        "account_id = excluded.account_id, fields = excluded.fields, "
        "updated_at = excluded.updated_at";
    conn *c = W(tx);
    sqlite3_stmt *q = stmt(c, SQL);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_text(q, 1, p->contact_id, -1, SQLITE_STATIC);
    if (p->account_id[0])
        sqlite3_bind_text(q, 2, p->account_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, p->created_at);
    sqlite3_bind_int64(q, 5, p->updated_at);
    int rc = bind_json(q, 3, p->fields);
    return rc ? rc : step_done(c, q);
}

#define ACCOUNT_COLS "account_id, fields, created_at, updated_at"

static int account_cb(sqlite3_stmt *q, void *vout)
{
    hookd_account *a = calloc(1, sizeof *a);
    if (!a)
        return HOOKD_ENOMEM;
    column_id(q, 0, a->account_id);
    a->fields = column_json(q, 1);
    a->created_at = sqlite3_column_int64(q, 2);
    a->updated_at = sqlite3_column_int64(q, 3);
    if (!a->fields) {
        hookd_account_free(a);
        return HOOKD_EUNAVAIL;
    }
    *(hookd_account **)vout = a;
    return 0;
}

static const char SQL_ACCOUNT_GET[] = "SELECT " ACCOUNT_COLS " FROM accounts WHERE account_id = ?";

static int account_by(conn *c, const char *sql, const char *key, hookd_account **out)
{
    sqlite3_stmt *q = stmt(c, sql);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    return one_row(c, q, account_cb, out);
}

static int sq_account_get(hookd_txn *tx, const char *account_id, hookd_account **out)
{
    return account_by(W(tx), SQL_ACCOUNT_GET, account_id, out);
}

static int sq_account_find(hookd_txn *tx, const char *name, hookd_account **out)
{
    static const char SQL[] = "SELECT " ACCOUNT_COLS " FROM accounts WHERE name = ?";
    return account_by(W(tx), SQL, name, out);
}

static int sq_account_put(hookd_txn *tx, const hookd_account *a)
{
    static const char SQL[] =
        "INSERT INTO accounts(account_id, name, fields, created_at, updated_at) "
        "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(account_id) DO UPDATE SET "
        "name = excluded.name, fields = excluded.fields, updated_at = excluded.updated_at";
    conn *c = W(tx);
    sqlite3_stmt *q = stmt(c, SQL);
    if (!q)
        return HOOKD_EUNAVAIL;
    const char *name = json_string_value(json_object_get(a->fields, "str:o:name"));
    sqlite3_bind_text(q, 1, a->account_id, -1, SQLITE_STATIC);
    if (name)
        sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, a->created_at);
    sqlite3_bind_int64(q, 5, a->updated_at);
    int rc = bind_json(q, 3, a->fields);
    return rc ? rc : step_done(c, q);
}

static int sq_activity_exists(hookd_txn *tx, const char *id)
{
    static const char SQL[] = "SELECT 1 FROM activities WHERE id = ?";
    conn *c = W(tx);
    sqlite3_stmt *q = stmt(c, SQL);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    sqlite3_reset(q);
    if (step == SQLITE_ROW)
        return 1;
    return step == SQLITE_DONE ? 0 : map_rc(c->db, step);
}

static int sq_activity_insert(hookd_txn *tx, const hookd_activity_rec *a)
{
    static const char SQL[] = "INSERT INTO activities(id, field_id, contact_id, created_ns, doc, "
                              "campaign) VALUES(?, ?, ?, ?, ?, ?)";
    conn *c = W(tx);
    sqlite3_stmt *q = stmt(c, SQL);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_text(q, 1, a->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, a->field_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, a->contact_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, a->created_ns);
    int rc = bind_json(q, 5, a->doc);
    if (!rc)
        rc = bind_json(q, 6, a->campaign);
    return rc ? rc : step_done(c, q);
}

static int list_webhooks(conn *c, const char *sql, hookd_webhook ***out, size_t *n)
{
    sqlite3_stmt *q = stmt(c, sql);
    if (!q)
        return HOOKD_EUNAVAIL;
    return collect_rows(c, q, SIZE_MAX, row_webhook, free_webhook, (void ***)out, n);
}

static int sq_txn_webhooks(hookd_txn *tx, hookd_webhook ***out, size_t *n)
{
    return list_webhooks(W(tx), SQL_WEBHOOK_LIST, out, n);
}

static int sq_webhook_add_skipped(hookd_txn *tx, const char *webhook_id, int n)
{
    static const char SQL[] = "UPDATE webhooks SET skipped = skipped + ? WHERE id = ?";
    conn *c = W(tx);
    sqlite3_stmt *q = stmt(c, SQL);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_int(q, 1, n);
    sqlite3_bind_text(q, 2, webhook_id, -1, SQLITE_STATIC);
    return step_done(c, q);
}

static void bind_text_or_null(sqlite3_stmt *q, int idx, const char *s)
{
    if (s)
        sqlite3_bind_text(q, idx, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, idx);
}

static int sq_delivery_insert(hookd_txn *tx, const hookd_delivery *d)
{
    static const char SQL[] =
        "INSERT INTO deliveries(id, webhook_id, kind, activity_id, field_id, state, attempts, "
        "created_at, next_attempt_at, method, url, body) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    conn *c = W(tx);
    sqlite3_stmt *q = stmt(c, SQL);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_text(q, 1, d->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, d->webhook_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, d->kind, -1, SQLITE_STATIC);
    bind_text_or_null(q, 4, d->activity_id);
    bind_text_or_null(q, 5, d->field_id);
    sqlite3_bind_int(q, 6, (int)d->state);
    sqlite3_bind_int(q, 7, d->attempts);
    sqlite3_bind_int64(q, 8, d->created_at);
    if (d->next_attempt_at)
        sqlite3_bind_int64(q, 9, d->next_attempt_at);
    sqlite3_bind_text(q, 10, d->method, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 11, d->url, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 12, d->body, -1, SQLITE_STATIC);
    return step_done(c, q);
}

/* ---- reads of people, accounts and deliveries -------------------------- */

static int sq_store_person_get(hookd_store *st, const char *contact_id, hookd_person **out)
{
    sqlite_store *s = S(st);
    conn *c = reader_get(s);
    int rc = person_by_id(c, SQL_PERSON_GET, contact_id, out);
    reader_put(s, c);
    return rc;
}

static int sq_store_account_get(hookd_store *st, const char *account_id, hookd_account **out)
{
    sqlite_store *s = S(st);
    conn *c = reader_get(s);
    int rc = account_by(c, SQL_ACCOUNT_GET, account_id, out);
    reader_put(s, c);
    return rc;
}

#define DELIVERY_COLS                                                                              \
    "seq, id, webhook_id, kind, activity_id, field_id, state, attempts, created_at, "             \
    "next_attempt_at, method, url, body, status_code, error, response_body, duration_ms, "        \
    "request_headers"

static const char *kind_static(const char *k)
{
    static const char *const KINDS[] = {"activity", "action", "test"};
    for (size_t i = 0; k && i < sizeof KINDS / sizeof KINDS[0]; i++) {
        if (strcmp(k, KINDS[i]) == 0)
            return KINDS[i];
    }
    return "activity";
}

static hookd_delivery *row_delivery(sqlite3_stmt *q)
{
    hookd_delivery *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->seq = sqlite3_column_int64(q, 0);
    column_id(q, 1, d->id);
    column_id(q, 2, d->webhook_id);
    d->kind = kind_static((const char *)sqlite3_column_text(q, 3));
    d->activity_id = column_strdup(q, 4);
    d->field_id = column_strdup(q, 5);
    d->state = (hookd_delivery_state)sqlite3_column_int(q, 6);
    d->attempts = sqlite3_column_int(q, 7);
    d->created_at = sqlite3_column_int64(q, 8);
    d->next_attempt_at = sqlite3_column_int64(q, 9);
    d->method = column_strdup(q, 10);
    d->url = column_strdup(q, 11);
    d->body = column_strdup(q, 12);
    d->status_code = sqlite3_column_int(q, 13);
    d->error = column_strdup(q, 14);
    d->response_body = column_strdup(q, 15);
    d->duration_ms = sqlite3_column_type(q, 16) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 16);
    d->request_headers = column_strdup(q, 17);
    if (!d->method || !d->url || !d->body) {
        hookd_delivery_free(d);
        return NULL;
    }
    return d;
}

static void *row_delivery_any(sqlite3_stmt *q)
{
    return row_delivery(q);
}

static void free_delivery(void *p)
{
    hookd_delivery_free(p);
}

static int sq_delivery_list(hookd_store *st, const char *webhook_id, int state, int limit,
                            int64_t cursor, hookd_delivery ***out, size_t *n, int64_t *next_cursor)
{
    static const char SQL_ANY[] = "SELECT " DELIVERY_COLS " FROM deliveries WHERE webhook_id = ?1 "
                                  "AND seq < ?3 ORDER BY seq DESC LIMIT ?4";
    static const char SQL_STATE[] = "SELECT " DELIVERY_COLS " FROM deliveries WHERE "
                                    "webhook_id = ?1 AND state = ?2 AND seq < ?3 ORDER BY seq DESC "
                                    "LIMIT ?4";
    sqlite_store *s = S(st);
    conn *c = reader_get(s);
    sqlite3_stmt *q = stmt(c, state < 0 ? SQL_ANY : SQL_STATE);
    int rc = HOOKD_EUNAVAIL;
    *next_cursor = 0;
    if (q) {
        sqlite3_bind_text(q, 1, webhook_id, -1, SQLITE_STATIC);
        if (state >= 0)
            sqlite3_bind_int(q, 2, state);
        sqlite3_bind_int64(q, 3, cursor > 0 ? cursor : INT64_MAX);
        sqlite3_bind_int(q, 4, limit + 1); /* one more tells whether a next page exists */
        rc = collect_rows(c, q, SIZE_MAX, row_delivery_any, free_delivery, (void ***)out, n);
    }
    reader_put(s, c);
    if (rc == 0 && *n > (size_t)limit) {
        hookd_delivery_free((*out)[limit]);
        *n = (size_t)limit;
        *next_cursor = (*out)[limit - 1]->seq;
    }
    return rc;
}

static int sq_delivery_get(hookd_store *st, const char *webhook_id, const char *delivery_id,
                           hookd_delivery **out, hookd_attempt **attempts, size_t *n_attempts)
{
    static const char SQL[] =
        "SELECT " DELIVERY_COLS " FROM deliveries WHERE id = ?1 AND webhook_id = ?2";
    static const char SQL_ATT[] = "SELECT time, status_code, error, duration_ms, response_body "
                                  "FROM attempts WHERE delivery_id = ? ORDER BY seq";
    sqlite_store *s = S(st);
    conn *c = reader_get(s);
    hookd_delivery *d = NULL;
    hookd_attempt *att = NULL;
    size_t na = 0;
    int rc = HOOKD_EUNAVAIL, step;
    sqlite3_stmt *q = stmt(c, SQL);
    if (!q)
        goto done;
    sqlite3_bind_text(q, 1, delivery_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, webhook_id, -1, SQLITE_STATIC);
    step = sqlite3_step(q);
    if (step != SQLITE_ROW) {
        rc = step == SQLITE_DONE ? HOOKD_ENOTFOUND : map_rc(c->db, step);
        goto done;
    }
    if (!(d = row_delivery(q))) {
        rc = HOOKD_ENOMEM;
        goto done;
    }
    if (!(q = stmt(c, SQL_ATT)))
        goto done;
    sqlite3_bind_text(q, 1, delivery_id, -1, SQLITE_STATIC);
    rc = 0;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        hookd_attempt *grown = realloc(att, (na + 1) * sizeof *att);
        if (!grown) {
            rc = HOOKD_ENOMEM;
            break;
        }
        att = grown;
        hookd_attempt *a = &att[na++];
        a->time_ms = sqlite3_column_int64(q, 0);
        a->status_code = sqlite3_column_int(q, 1);
        a->error = column_strdup(q, 2);
        a->duration_ms = sqlite3_column_int64(q, 3);
        a->response_body = column_strdup(q, 4);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = map_rc(c->db, step);
done:
    reader_put(s, c);
    if (rc) {
        hookd_delivery_free(d);
        hookd_attempts_free(att, na);
        return rc;
    }
    *out = d;
    *attempts = att;
    *n_attempts = na;
    return 0;
}

/* ---- the delivery engine's side ---------------------------------------- */

/* Ends a claim transaction and puts full durability back on before the lock
 * is given up, so no other write ever runs without it. */
static int claim_end(sqlite_store *s, int rc)
{
    if (rc == 0)
        rc = exec(&s->writer, "COMMIT");
    if (rc != 0 && !sqlite3_get_autocommit(s->writer.db))
        exec(&s->writer, "ROLLBACK");
    /* If FULL cannot be restored, every write is refused (wbegin tries
     * again) rather than committed without its fsync. */
    s->sync_off = exec(&s->writer, "PRAGMA synchronous=FULL") != 0;
    sqlite3_busy_timeout(s->writer.db, BUSY_TIMEOUT_MS);
    pthread_mutex_unlock(&s->wlock);
    return rc ? rc : s->sync_off ? HOOKD_EUNAVAIL : 0;
}

static int sq_claim_due(hookd_store *st, int64_t now_ms, int64_t lease_ms, int limit,
                        hookd_delivery ***out, size_t *n)
{
    static const char SQL[] =
        "UPDATE deliveries SET lease_until = ?2 WHERE seq IN (SELECT seq FROM deliveries "
        "WHERE state IN (0, 1) AND next_attempt_at <= ?1 AND "
        "(lease_until IS NULL OR lease_until < ?1) ORDER BY next_attempt_at LIMIT ?3) "
        "RETURNING " DELIVERY_COLS;
    sqlite_store *s = S(st);
    /* A claim need not survive power loss: with one process, claims are
     * dropped at start anyway. So this transaction skips the fsync (the next
     * durable commit carries its WAL frames to disk), which made claims half
     * of the engine's commit cost. */
    pthread_mutex_lock(&s->wlock);
    /* Claims can wait: when another process holds the database, give up
     * quickly instead of holding hookd's write lock for the full busy
     * timeout while API writes queue behind it. */
    sqlite3_busy_timeout(s->writer.db, CLAIM_BUSY_TIMEOUT_MS);
    int rc = exec(&s->writer, "PRAGMA synchronous=OFF");
    if (rc == 0)
        rc = exec(&s->writer, "BEGIN IMMEDIATE");
    if (rc)
        return claim_end(s, rc);
    sqlite3_stmt *q = stmt(&s->writer, SQL);
    if (!q)
        return claim_end(s, HOOKD_EUNAVAIL);
    sqlite3_bind_int64(q, 1, now_ms);
    sqlite3_bind_int64(q, 2, now_ms + lease_ms);
    sqlite3_bind_int(q, 3, limit);
    hookd_delivery **list = NULL;
    size_t count = 0;
    rc = collect_rows(&s->writer, q, SIZE_MAX, row_delivery_any, free_delivery, (void ***)&list,
                      &count);
    if ((rc = claim_end(s, rc)) != 0) {
        for (size_t i = 0; i < count; i++)
            hookd_delivery_free(list[i]);
        free(list);
        return rc;
    }
    *out = list;
    *n = count;
    return 0;
}

static int sq_next_due(hookd_store *st, int64_t *when_ms)
{
    static const char SQL[] = "SELECT MIN(next_attempt_at) FROM deliveries WHERE state IN (0, 1) "
                              "AND lease_until IS NULL";
    sqlite_store *s = S(st);
    conn *c = reader_get(s);
    sqlite3_stmt *q = stmt(c, SQL);
    int rc = HOOKD_EUNAVAIL;
    if (q) {
        int step = sqlite3_step(q);
        if (step == SQLITE_ROW) {
            *when_ms = sqlite3_column_int64(q, 0); /* NULL reads as 0: none */
            rc = 0;
        } else {
            rc = map_rc(c->db, step);
        }
    }
    reader_put(s, c);
    return rc;
}

static int sq_release_claims(hookd_store *st)
{
    static const char SQL[] = "UPDATE deliveries SET lease_until = NULL "
                              "WHERE lease_until IS NOT NULL";
    sqlite_store *s = S(st);
    int rc = wbegin(s);
    if (rc)
        return rc;
    sqlite3_stmt *q = stmt(&s->writer, SQL);
    return wend(s, q ? step_done(&s->writer, q) : HOOKD_EUNAVAIL);
}

/* Records one attempt's row. */
static int insert_attempt(conn *c, const char *delivery_id, const hookd_outcome *o)
{
    static const char SQL[] = "INSERT INTO attempts(delivery_id, time, status_code, error, "
                              "duration_ms, response_body) VALUES(?, ?, ?, ?, ?, ?)";
    sqlite3_stmt *q = stmt(c, SQL);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_text(q, 1, delivery_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, o->time_ms);
    if (o->status_code)
        sqlite3_bind_int(q, 3, o->status_code);
    bind_text_or_null(q, 4, o->error);
    sqlite3_bind_int64(q, 5, o->duration_ms);
    bind_text_or_null(q, 6, o->response_body);
    return step_done(c, q);
}

static int sq_record_outcomes(hookd_store *st, const hookd_outcome *o, size_t n)
{
    /* A cancelled delivery stays cancelled; a held one stays held unless the
     * attempt finished it. */
    static const char SQL[] =
        "UPDATE deliveries SET "
        "state = CASE WHEN state = 5 THEN 5 WHEN state = 4 AND ?2 = 1 THEN 4 ELSE ?2 END, "
        "next_attempt_at = CASE WHEN ?2 = 1 AND state IN (0, 1) THEN ?3 ELSE NULL END, "
        "finished_at = CASE WHEN ?2 IN (2, 3) AND state <> 5 THEN ?4 ELSE finished_at END, "
        "attempts = attempts + 1, lease_until = NULL, status_code = ?5, error = ?6, "
        "response_body = ?7, duration_ms = ?8, request_headers = ?9 WHERE id = ?1";
    sqlite_store *s = S(st);
    int rc = wbegin(s);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        sqlite3_stmt *q = stmt(&s->writer, SQL);
        if (!q) {
            rc = HOOKD_EUNAVAIL;
            break;
        }
        sqlite3_bind_text(q, 1, o[i].delivery_id, -1, SQLITE_STATIC);
        sqlite3_bind_int(q, 2, (int)o[i].state);
        sqlite3_bind_int64(q, 3, o[i].next_attempt_at);
        sqlite3_bind_int64(q, 4, o[i].time_ms + o[i].duration_ms);
        if (o[i].status_code)
            sqlite3_bind_int(q, 5, o[i].status_code);
        bind_text_or_null(q, 6, o[i].error);
        bind_text_or_null(q, 7, o[i].response_body);
        sqlite3_bind_int64(q, 8, o[i].duration_ms);
        bind_text_or_null(q, 9, o[i].request_headers);
        if ((rc = step_done(&s->writer, q)) == 0)
            rc = insert_attempt(&s->writer, o[i].delivery_id, &o[i]);
    }
    return wend(s, rc);
}

static int sq_delivery_retry(hookd_store *st, const char *webhook_id, const char *delivery_id,
                             int64_t now_ms)
{
    static const char SQL_STATE[] = "SELECT state FROM deliveries WHERE id = ? AND webhook_id = ?";
    static const char SQL[] = "UPDATE deliveries SET state = CASE WHEN state = 3 THEN 1 "
                              "ELSE state END, next_attempt_at = ?2, finished_at = NULL "
                              "WHERE id = ?1 AND state IN (0, 1, 3)";
    sqlite_store *s = S(st);
    int rc = wbegin(s);
    if (rc)
        return rc;
    sqlite3_stmt *q = stmt(&s->writer, SQL_STATE);
    if (!q)
        return wend(s, HOOKD_EUNAVAIL);
    sqlite3_bind_text(q, 1, delivery_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, webhook_id, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    int state = step == SQLITE_ROW ? sqlite3_column_int(q, 0) : -1;
    sqlite3_reset(q);
    if (step != SQLITE_ROW)
        return wend(s, step == SQLITE_DONE ? HOOKD_ENOTFOUND : map_rc(s->writer.db, step));
    /* held waits for connect; succeeded and cancelled are over */
    if (state != 0 && state != 1 && state != 3)
        return wend(s, HOOKD_ECONFLICT);
    if (!(q = stmt(&s->writer, SQL)))
        return wend(s, HOOKD_EUNAVAIL);
    sqlite3_bind_text(q, 1, delivery_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, now_ms);
    return wend(s, step_done(&s->writer, q));
}

static int sq_record_test(hookd_store *st, const hookd_delivery *d, const hookd_outcome *o)
{
    static const char SQL[] =
        "INSERT INTO deliveries(id, webhook_id, kind, state, attempts, created_at, finished_at, "
        "method, url, body, status_code, error, response_body, duration_ms, request_headers) "
        "VALUES(?, ?, 'test', ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    sqlite_store *s = S(st);
    int rc = wbegin(s);
    if (rc)
        return rc;
    sqlite3_stmt *q = stmt(&s->writer, SQL);
    if (!q)
        return wend(s, HOOKD_EUNAVAIL);
    sqlite3_bind_text(q, 1, d->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, d->webhook_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, (int)o->state);
    sqlite3_bind_int64(q, 4, d->created_at);
    sqlite3_bind_int64(q, 5, o->time_ms + o->duration_ms);
    sqlite3_bind_text(q, 6, d->method, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 7, d->url, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 8, d->body, -1, SQLITE_STATIC);
    if (o->status_code)
        sqlite3_bind_int(q, 9, o->status_code);
    bind_text_or_null(q, 10, o->error);
    bind_text_or_null(q, 11, o->response_body);
    sqlite3_bind_int64(q, 12, o->duration_ms);
    bind_text_or_null(q, 13, o->request_headers);
    if ((rc = step_done(&s->writer, q)) == 0)
        rc = insert_attempt(&s->writer, d->id, o);
    return wend(s, rc);
}

static int sq_prune(hookd_store *st, int64_t before_ms, int limit, int *deleted)
{
    static const char SQL_ATT[] =
        "DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE "
        "finished_at < ?1 AND state IN (2, 3, 5) ORDER BY finished_at LIMIT ?2)";
    static const char SQL_DEL[] =
        "DELETE FROM deliveries WHERE seq IN (SELECT seq FROM deliveries WHERE "
        "finished_at < ?1 AND state IN (2, 3, 5) ORDER BY finished_at LIMIT ?2)";
    sqlite_store *s = S(st);
    int rc = wbegin(s);
    if (rc)
        return rc;
    for (int i = 0; i < 2 && rc == 0; i++) {
        sqlite3_stmt *q = stmt(&s->writer, i == 0 ? SQL_ATT : SQL_DEL);
        if (!q) {
            rc = HOOKD_EUNAVAIL;
            break;
        }
        sqlite3_bind_int64(q, 1, before_ms);
        sqlite3_bind_int(q, 2, limit);
        rc = step_done(&s->writer, q);
    }
    *deleted = rc == 0 ? sqlite3_changes(s->writer.db) : 0;
    return wend(s, rc);
}

static int sq_webhook_stats(hookd_store *st, const char *webhook_id, int64_t since_ms,
                            hookd_webhook_stats *out)
{
    static const char SQL[] =
        "SELECT "
        "(SELECT COUNT(*) FROM deliveries WHERE webhook_id = ?1 AND kind <> 'test' AND state = 2 "
        "  AND finished_at >= ?2), "
        "(SELECT COUNT(*) FROM deliveries WHERE webhook_id = ?1 AND kind <> 'test' AND state = 3 "
        "  AND finished_at >= ?2), "
        "(SELECT COUNT(*) FROM deliveries WHERE webhook_id = ?1 AND kind <> 'test' "
        "  AND state IN (0, 1, 4)), "
        "(SELECT skipped FROM webhooks WHERE id = ?1)";
    sqlite_store *s = S(st);
    conn *c = reader_get(s);
    sqlite3_stmt *q = stmt(c, SQL);
    int rc = HOOKD_EUNAVAIL;
    if (q) {
        sqlite3_bind_text(q, 1, webhook_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, since_ms);
        int step = sqlite3_step(q);
        if (step == SQLITE_ROW) {
            out->succeeded_24h = sqlite3_column_int64(q, 0);
            out->failed_24h = sqlite3_column_int64(q, 1);
            out->pending = sqlite3_column_int64(q, 2);
            out->skipped = sqlite3_column_int64(q, 3);
            rc = 0;
        } else {
            rc = map_rc(c->db, step);
        }
    }
    reader_put(s, c);
    return rc;
}

/* ---- open / close ------------------------------------------------------ */

static void sq_close(hookd_store *st)
{
    sqlite_store *s = S(st);
    for (int i = 0; i < READERS; i++)
        conn_close(&s->readers[i]);
    conn_close(&s->writer);
    pthread_mutex_destroy(&s->wlock);
    pthread_mutex_destroy(&s->rlock);
    pthread_cond_destroy(&s->rfree);
    free(s);
}

static const hookd_store_ops SQLITE_OPS = {
    .close = sq_close,
    .api_key_add = sq_api_key_add,
    .api_key_hashes = sq_api_key_hashes,
    .webhook_insert = sq_webhook_insert,
    .webhook_change = sq_webhook_change,
    .webhook_get = sq_webhook_get,
    .webhook_list = sq_webhook_list,
    .webhook_delete = sq_webhook_delete,
    .field_insert = sq_field_insert,
    .field_get = sq_field_get,
    .field_list = sq_field_list,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .person_get = sq_person_get,
    .person_find = sq_person_find,
    .person_put = sq_person_put,
    .account_get = sq_account_get,
    .account_find = sq_account_find,
    .account_put = sq_account_put,
    .activity_exists = sq_activity_exists,
    .activity_insert = sq_activity_insert,
    .txn_webhooks = sq_txn_webhooks,
    .webhook_add_skipped = sq_webhook_add_skipped,
    .delivery_insert = sq_delivery_insert,
    .store_person_get = sq_store_person_get,
    .store_account_get = sq_store_account_get,
    .delivery_list = sq_delivery_list,
    .delivery_get = sq_delivery_get,
    .claim_due = sq_claim_due,
    .next_due = sq_next_due,
    .release_claims = sq_release_claims,
    .record_outcomes = sq_record_outcomes,
    .delivery_retry = sq_delivery_retry,
    .record_test = sq_record_test,
    .prune = sq_prune,
    .webhook_stats = sq_webhook_stats,
};

static int migrate(conn *c, char *err, size_t errlen)
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
    for (int v = version; v < N_MIGRATIONS; v++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
        if (exec(c, "BEGIN IMMEDIATE") != 0)
            goto sqlfail;
        if (exec(c, MIGRATIONS[v]) != 0 || exec(c, bump) != 0 || exec(c, "COMMIT") != 0) {
            exec(c, "ROLLBACK");
            goto sqlfail;
        }
        hookd_log_info("store: applied schema migration %d", v + 1);
    }
    return 0;
sqlfail:
    snprintf(err, errlen, "schema migration failed: %s", sqlite3_errmsg(c->db));
    return HOOKD_EUNAVAIL;
}

static int open_conn(conn *c, const char *path, int flags, char *err, size_t errlen)
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

int hookd_store_open_sqlite(const char *path, hookd_store **out, char *err, size_t errlen)
{
    sqlite_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return HOOKD_ENOMEM;
    }
    s->base.ops = &SQLITE_OPS;
    pthread_mutex_init(&s->wlock, NULL);
    pthread_mutex_init(&s->rlock, NULL);
    pthread_cond_init(&s->rfree, NULL);
    int rc = open_conn(&s->writer, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err, errlen);
    if (rc)
        goto fail;
    /* WAL so readers never block the writer; FULL so a COMMIT that returned
     * survives power loss, which is what a 2xx promises. */
    if (exec(&s->writer, "PRAGMA journal_mode=WAL") != 0 ||
        exec(&s->writer, "PRAGMA synchronous=FULL") != 0 ||
        exec(&s->writer, "PRAGMA foreign_keys=ON") != 0) {
        snprintf(err, errlen, "cannot set up database %s: %s", path,
                 sqlite3_errmsg(s->writer.db));
        rc = HOOKD_EUNAVAIL;
        goto fail;
    }
    if ((rc = migrate(&s->writer, err, errlen)) != 0)
        goto fail;
    for (int i = 0; i < READERS; i++) {
        if ((rc = open_conn(&s->readers[i], path, SQLITE_OPEN_READONLY, err, errlen)) != 0)
            goto fail;
    }
    *out = &s->base;
    return 0;
fail:
    sq_close(&s->base);
    return rc;
}

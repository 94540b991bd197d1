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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_impl.h"
#include "util/log.h"
#include "util/timeutil.h"

#define READERS 4
#define STMT_CACHE 32
#define BUSY_TIMEOUT_MS 5000

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
} sqlite_store;

/* Schema migrations, applied in order; PRAGMA user_version counts how many
 * have run. Never edit a migration that has shipped: append a new one. */
static const char *const MIGRATIONS[] = {
    /* 1: foundation */
    "CREATE TABLE api_keys(hash BLOB PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE webhooks(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, doc TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL, skipped INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE fields(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
    "  type TEXT NOT NULL, object TEXT NOT NULL, created_at INTEGER NOT NULL);",
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

/* Decodes the doc column of a row into a new webhook. */
static int row_webhook(sqlite3_stmt *q, int col, hookd_webhook **out)
{
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)sqlite3_column_text(q, col),
                             (size_t)sqlite3_column_bytes(q, col), 0, &jerr);
    if (!doc) {
        hookd_log_error("sqlite: webhook doc damaged: %s", jerr.text);
        return HOOKD_EUNAVAIL;
    }
    *out = hookd_webhook_from_doc(doc);
    json_decref(doc);
    return *out ? 0 : HOOKD_ENOMEM;
}

static int bind_doc(sqlite3_stmt *q, int idx, const hookd_webhook *wh)
{
    json_t *doc = hookd_webhook_to_doc(wh);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
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
        rc = row_webhook(q, 0, out);
    else if (step == SQLITE_DONE)
        rc = HOOKD_ENOTFOUND;
    else
        rc = map_rc(c->db, step);
    sqlite3_reset(q);
    return rc;
}

static const char SQL_WEBHOOK_GET[] = "SELECT doc FROM webhooks WHERE id = ?";

static int sq_webhook_change(hookd_store *st, const char *id, hookd_webhook_change_fn fn,
                             void *ctx, hookd_webhook **out)
{
    static const char SQL_W_GET[] = "SELECT doc FROM webhooks WHERE id = ?";
    static const char SQL_PUT[] = "UPDATE webhooks SET doc = ? WHERE id = ?";
    sqlite_store *s = S(st);
    hookd_webhook *wh = NULL;
    int rc = wbegin(s);
    if (rc)
        return rc;
    if ((rc = get_webhook(&s->writer, SQL_W_GET, id, &wh)) != 0)
        goto done;
    if ((rc = fn(wh, ctx)) != 0)
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
    static const char SQL[] = "SELECT doc FROM webhooks ORDER BY seq";
    sqlite_store *s = S(st);
    conn *c = reader_get(s);
    sqlite3_stmt *q = stmt(c, SQL);
    hookd_webhook **list = NULL;
    size_t count = 0;
    int rc = q ? 0 : HOOKD_EUNAVAIL, step = SQLITE_DONE;
    while (q && (step = sqlite3_step(q)) == SQLITE_ROW) {
        hookd_webhook **grown = realloc(list, (count + 1) * sizeof *list);
        if (!grown) {
            rc = HOOKD_ENOMEM;
            break;
        }
        list = grown;
        if ((rc = row_webhook(q, 0, &list[count])) != 0)
            break;
        count++;
    }
    if (q && rc == 0 && step != SQLITE_DONE)
        rc = map_rc(c->db, step);
    reader_put(s, c);
    if (rc) {
        hookd_webhook_list_free(list, count);
        return rc;
    }
    *out = list;
    *n = count;
    return 0;
}

static int sq_webhook_delete(hookd_store *st, const char *id)
{
    static const char SQL[] = "DELETE FROM webhooks WHERE id = ?";
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

static int sq_field_list(hookd_store *st, hookd_custom_field ***out, size_t *n)
{
    static const char SQL[] = "SELECT id, name, type, object, created_at FROM fields ORDER BY seq";
    sqlite_store *s = S(st);
    conn *c = reader_get(s);
    sqlite3_stmt *q = stmt(c, SQL);
    hookd_custom_field **list = NULL;
    size_t count = 0;
    int rc = q ? 0 : HOOKD_EUNAVAIL, step = SQLITE_DONE;
    while (q && (step = sqlite3_step(q)) == SQLITE_ROW) {
        hookd_custom_field **grown = realloc(list, (count + 1) * sizeof *list);
        if (!grown || !(grown[count] = row_field(q))) {
            if (grown)
                list = grown;
            rc = HOOKD_ENOMEM;
            break;
        }
        list = grown;
        count++;
    }
    if (q && rc == 0 && step != SQLITE_DONE)
        rc = map_rc(c->db, step);
    reader_put(s, c);
    if (rc) {
        for (size_t i = 0; i < count; i++)
            hookd_custom_field_free(list[i]);
        free(list);
        return rc;
    }
    *out = list;
    *n = count;
    return 0;
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

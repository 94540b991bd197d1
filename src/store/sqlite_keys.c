/*
 * sqlite_keys.c — the SQLite backend's API keys (store.h "API keys"): rows of
 * api_keys (id, name, scope, hash, created_at, last_used_at), written by the
 * writer thread, read from the reader pool. The key itself is never stored.
 */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"

typedef struct key_cmd {
    sq_cmd base;
    const hookd_key *k;
    const unsigned char *hash;
    const char *id;
    int64_t used_ms;
} key_cmd;

static int key_add_run(sq_store *s, sq_cmd *c)
{
    static const char SQL[] =
        "INSERT INTO api_keys(id, name, scope, hash, created_at) VALUES(?, ?, ?, ?, ?)";
    const key_cmd *kc = (const key_cmd *)c;
    sqlite3_stmt *q = sq_stmt((&s->w), SQL);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_text(q, 1, kc->k->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, kc->k->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, (int)kc->k->scope);
    sqlite3_bind_blob(q, 4, kc->hash, HOOKD_KEY_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, kc->k->created_at);
    return sq_step_done((&s->w), q);
}

int sq_key_add(hookd_store *st, const hookd_key *k, const unsigned char hash[HOOKD_KEY_HASH_LEN])
{
    key_cmd c = {.base.run = key_add_run, .k = k, .hash = hash};
    return sq_submit(SQ(st), &c.base);
}

static int key_revoke_run(sq_store *s, sq_cmd *c)
{
    static const char SQL[] = "DELETE FROM api_keys WHERE id = ?";
    sq_conn *w = &s->w;
    sqlite3_stmt *q = sq_stmt(w, SQL);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_text(q, 1, ((key_cmd *)c)->id, -1, SQLITE_STATIC);
    int rc = sq_step_done(w, q);
    return rc ? rc : sqlite3_changes(w->db) == 1 ? 0 : HOOKD_ENOTFOUND;
}

int sq_key_revoke(hookd_store *st, const char *id)
{
    key_cmd c = {.base.run = key_revoke_run, .id = id};
    return sq_submit(SQ(st), &c.base);
}

static int key_touch_run(sq_store *s, sq_cmd *c)
{
    static const char SQL[] = "UPDATE api_keys SET last_used_at = ? WHERE id = ? AND"
                              " (last_used_at IS NULL OR last_used_at < ?)";
    const key_cmd *kc = (const key_cmd *)c;
    sqlite3_stmt *q = sq_stmt((&s->w), SQL);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_int64(q, 1, kc->used_ms);
    sqlite3_bind_text(q, 2, kc->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, kc->used_ms);
    return sq_step_done((&s->w), q);
}

int sq_key_touch(hookd_store *st, const char *id, int64_t used_ms)
{
    key_cmd c = {.base.run = key_touch_run, .id = id, .used_ms = used_ms};
    return sq_submit(SQ(st), &c.base);
}

/* Runs q on a reader, calling row for each row into a growing array of
 * elements of size each. */
static int read_rows(sq_store *s, const char *sql, size_t each,
                     int (*row)(sqlite3_stmt *q, void *out), void **out, size_t *n)
{
    sq_conn *c = sq_reader_get(s);
    sqlite3_stmt *q = sq_stmt(c, sql);
    char *arr = NULL;
    size_t count = 0;
    int rc = q ? 0 : HOOKD_EUNAVAIL, step = SQLITE_DONE;
    while (q && (step = sqlite3_step(q)) == SQLITE_ROW) {
        char *grown = realloc(arr, (count + 1) * each);
        if (!grown) {
            rc = HOOKD_ENOMEM;
            break;
        }
        arr = grown;
        memset(arr + count * each, 0, each);
        int r = row(q, arr + count * each);
        if (r < 0) {
            rc = r;
            break;
        }
        count += r == 0; /* r > 0: a row to skip */
    }
    if (q && rc == 0 && step != SQLITE_DONE)
        rc = sq_rc(c->db, step);
    if (q)
        sqlite3_reset(q);
    sq_reader_put(s, c);
    if (rc) {
        *out = arr;
        *n = count;
        return rc;
    }
    if (count == 0) {
        free(arr);
        arr = NULL;
    }
    *out = arr;
    *n = count;
    return 0;
}

static int row_key(sqlite3_stmt *q, void *out)
{
    hookd_key *k = out;
    sq_column_id(q, 0, k->id);
    k->scope = (hookd_key_scope)sqlite3_column_int(q, 2);
    k->created_at = sqlite3_column_int64(q, 3);
    k->last_used_at = sqlite3_column_int64(q, 4); /* NULL reads as 0: never */
    return (k->name = sq_column_strdup(q, 1)) ? 0 : HOOKD_ENOMEM;
}

int sq_key_list(hookd_store *st, hookd_key **out, size_t *n)
{
    static const char SQL[] = "SELECT id, name, scope, created_at, last_used_at FROM api_keys"
                              " ORDER BY created_at, id";
    void *arr = NULL;
    int rc = read_rows(SQ(st), SQL, sizeof(hookd_key), row_key, &arr, n);
    if (rc) {
        hookd_key_list_free(arr, *n);
        return rc;
    }
    *out = arr;
    return 0;
}

static int row_entry(sqlite3_stmt *q, void *out)
{
    hookd_key_entry *e = out;
    if (sqlite3_column_bytes(q, 0) != HOOKD_KEY_HASH_LEN)
        return 1; /* damaged: no key can match it */
    memcpy(e->hash, sqlite3_column_blob(q, 0), HOOKD_KEY_HASH_LEN);
    e->scope = (hookd_key_scope)sqlite3_column_int(q, 1);
    sq_column_id(q, 2, e->id);
    return 0;
}

int sq_key_entries(hookd_store *st, hookd_key_entry **out, size_t *n)
{
    static const char SQL[] = "SELECT hash, scope, id FROM api_keys";
    void *arr = NULL;
    int rc = read_rows(SQ(st), SQL, sizeof(hookd_key_entry), row_entry, &arr, n);
    if (rc) {
        free(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

/*
 * pg_keys.c — the PostgreSQL backend's API keys (store.h "API keys"): rows of
 * api_keys (id, name, scope, hash, created_at, last_used_at). The key itself
 * is never stored. Every process reads the same rows, so a key made or
 * revoked by one is seen by the others at their next read (the API re-reads
 * at most once a second: api/server.c).
 */
#include <stdlib.h>
#include <string.h>

#include "store/pg_int.h"

typedef struct key_ctx {
    const hookd_key *k;
    const unsigned char *hash;
    const char *id;
    int64_t used_ms;
    const char *sql; /* reads: which statement */
    PGresult *rows;  /* reads: the result, for the caller to decode */
} key_ctx;

static int key_add_run(pg_store *s, pg_conn *c, void *ctx)
{
    (void)s;
    static const char SQL[] = "INSERT INTO api_keys(id, name, scope, hash, created_at)"
                              " VALUES ($1, $2, $3, $4, $5)";
    const key_ctx *k = ctx;
    pg_params p = {.n = 0};
    pg_p_text(&p, k->k->id);
    pg_p_text(&p, k->k->name);
    pg_p_int(&p, (int64_t)k->k->scope);
    pg_p_bytes(&p, k->hash, HOOKD_KEY_HASH_LEN);
    pg_p_int(&p, k->k->created_at);
    return pg_run(c, SQL, &p, NULL);
}

int pg_key_add(hookd_store *st, const hookd_key *k, const unsigned char hash[HOOKD_KEY_HASH_LEN])
{
    key_ctx ctx = {.k = k, .hash = hash};
    return pg_tx(PG(st), key_add_run, &ctx);
}

static int key_revoke_run(pg_store *s, pg_conn *c, void *ctx)
{
    (void)s;
    static const char SQL[] = "DELETE FROM api_keys WHERE id = $1 RETURNING id";
    pg_params p = {.n = 0};
    pg_p_text(&p, ((key_ctx *)ctx)->id);
    PGresult *r = NULL;
    int rc = pg_run_row(c, SQL, &p, &r);
    PQclear(r);
    return rc;
}

int pg_key_revoke(hookd_store *st, const char *id)
{
    key_ctx ctx = {.id = id};
    return pg_tx(PG(st), key_revoke_run, &ctx);
}

static int key_touch_run(pg_store *s, pg_conn *c, void *ctx)
{
    (void)s;
    static const char SQL[] = "UPDATE api_keys SET last_used_at = $2 WHERE id = $1"
                              " AND (last_used_at IS NULL OR last_used_at < $2)";
    const key_ctx *k = ctx;
    pg_params p = {.n = 0};
    pg_p_text(&p, k->id);
    pg_p_int(&p, k->used_ms);
    return pg_run(c, SQL, &p, NULL);
}

int pg_key_touch(hookd_store *st, const char *id, int64_t used_ms)
{
    key_ctx ctx = {.id = id, .used_ms = used_ms};
    return pg_once(PG(st), key_touch_run, &ctx);
}

static const char SQL_LIST[] = "SELECT id, name, scope, created_at, last_used_at FROM api_keys"
                               " ORDER BY created_at, id";
static const char SQL_ENTRIES[] = "SELECT hash, scope, id FROM api_keys";

static int key_read_run(pg_store *s, pg_conn *c, void *ctx)
{
    (void)s;
    key_ctx *k = ctx;
    PQclear(k->rows);
    k->rows = NULL;
    return pg_run(c, k->sql, NULL, &k->rows);
}

int pg_key_list(hookd_store *st, hookd_key **out, size_t *n)
{
    key_ctx ctx = {.sql = SQL_LIST};
    int rc = pg_once(PG(st), key_read_run, &ctx);
    if (rc)
        return rc;
    int rows = PQntuples(ctx.rows);
    hookd_key *keys = rows ? calloc((size_t)rows, sizeof *keys) : NULL;
    for (int i = 0; keys && i < rows; i++) {
        pg_id(ctx.rows, i, 0, keys[i].id);
        keys[i].scope = (hookd_key_scope)pg_int(ctx.rows, i, 2);
        keys[i].created_at = pg_int(ctx.rows, i, 3);
        keys[i].last_used_at = pg_int(ctx.rows, i, 4); /* NULL reads as 0: never */
        if (!(keys[i].name = pg_strdup(ctx.rows, i, 1))) {
            hookd_key_list_free(keys, (size_t)rows);
            keys = NULL;
        }
    }
    PQclear(ctx.rows);
    if (rows && !keys)
        return HOOKD_ENOMEM;
    *out = keys;
    *n = (size_t)rows;
    return 0;
}

int pg_key_entries(hookd_store *st, hookd_key_entry **out, size_t *n)
{
    key_ctx ctx = {.sql = SQL_ENTRIES};
    int rc = pg_once(PG(st), key_read_run, &ctx);
    if (rc)
        return rc;
    int rows = PQntuples(ctx.rows);
    hookd_key_entry *e = rows ? calloc((size_t)rows, sizeof *e) : NULL;
    size_t count = 0;
    for (int i = 0; e && i < rows; i++) {
        size_t len = 0;
        unsigned char *h =
            PQunescapeBytea((const unsigned char *)PQgetvalue(ctx.rows, i, 0), &len);
        if (h && len == HOOKD_KEY_HASH_LEN) { /* else damaged: no key can match it */
            memcpy(e[count].hash, h, HOOKD_KEY_HASH_LEN);
            e[count].scope = (hookd_key_scope)pg_int(ctx.rows, i, 1);
            pg_id(ctx.rows, i, 2, e[count].id);
            count++;
        }
        PQfreemem(h);
    }
    PQclear(ctx.rows);
    if (rows && !e)
        return HOOKD_ENOMEM;
    if (count == 0) {
        free(e);
        e = NULL;
    }
    *out = e;
    *n = count;
    return 0;
}

/*
 * pg_webhooks.c — webhooks in the PostgreSQL backend: their documents and
 * versions, the snapshot ingest plans against, and the counters behind
 * stats. The behaviour is sqlite_webhooks.c's; what differs is how it stays
 * true with many threads and processes writing at once.
 *
 * A webhook is one JSON document per row (the model's sealed doc: its
 * secrets sealed with the master key, the rest readable).
 * Every write makes a new version and a webhook_versions row with what its
 * deliveries are sent with, so a log shows what went out even after the
 * webhook changed.
 *
 * Every write of a webhook takes the webhook lock alone (pg_lock_webhooks)
 * and bumps meta.webhooks_gen. Ingest takes the lock shared and reads the
 * generation, so the generation names exactly one set of webhooks: the
 * snapshot of the last generation read is kept in the handle (under its
 * lock, shared by reference count) and read again only when the generation
 * moved, by this process or another.
 *
 * Listener calls are made by the thread that ran the command, after its
 * COMMIT, never from inside a transaction that may still run again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_int.h"
#include "util/json.h"
#include "util/log.h"
#include "util/timeutil.h"

#define HOUR_MS 3600000LL

#define WEBHOOK_COLS "key, version, doc"

/* The start of the hour that holds ms (negative times round down too). */
static int64_t hour_of(int64_t ms)
{
    return ms - ((ms % HOUR_MS) + HOUR_MS) % HOUR_MS;
}

/* ---- rows ---------------------------------------------------------------- */

/* The webhook in row i (columns WEBHOOK_COLS), or NULL if its document is
 * damaged (logged by pg_json or here) or memory ran out. */
static hookd_webhook *row_webhook(const hookd_sealer *sl, const PGresult *r, int i)
{
    json_t *doc = pg_json(r, i, 2);
    if (!doc)
        return NULL;
    /* No sealer: a document written before the schema sealed them. */
    hookd_webhook *wh = sl ? hookd_webhook_from_sealed_doc(doc, sl) : hookd_webhook_from_doc(doc);
    json_decref(doc);
    if (!wh) {
        hookd_log_error("postgres: webhook %lld: its document is damaged or its secrets do not "
                        "open with the master key",
                        (long long)pg_int(r, i, 0));
        return NULL;
    }
    wh->key = pg_int(r, i, 0);
    wh->version = (uint64_t)pg_int(r, i, 1);
    return wh;
}

/* Runs sql (rows of WEBHOOK_COLS) and decodes every row into a new list
 * (NULL when there is none). Like SQLite's sq_collect, an undecodable row
 * fails the read with HOOKD_ENOMEM. */
static int webhooks_read(pg_conn *c, const char *sql, const pg_params *p, hookd_webhook ***out,
                         size_t *n)
{
    PGresult *r;
    int rc = pg_run(c, sql, p, &r);
    if (rc)
        return rc;
    size_t rows = (size_t)PQntuples(r);
    hookd_webhook **list = rows ? calloc(rows, sizeof *list) : NULL;
    if (rows && !list)
        rc = HOOKD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < rows; i++) {
        if (!(list[i] = row_webhook(c->sealer, r, (int)i)))
            rc = HOOKD_ENOMEM;
    }
    PQclear(r);
    if (rc) {
        hookd_webhook_list_free(list, rows); /* calloc'd: unread slots are NULL */
        return rc;
    }
    *out = list;
    *n = rows;
    return 0;
}

/* Runs sql expecting at most one webhook row: ENOTFOUND for none. */
static int webhook_one(pg_conn *c, const char *sql, const pg_params *p, hookd_webhook **out)
{
    hookd_webhook **list = NULL;
    size_t n = 0;
    int rc = webhooks_read(c, sql, p, &list, &n);
    if (rc == 0 && n == 0)
        rc = HOOKD_ENOTFOUND;
    if (rc == 0) {
        *out = list[0];
        list[0] = NULL;
    }
    hookd_webhook_list_free(list, n);
    return rc;
}

/* The document text stored for wh (new string), or NULL if memory ran out. */
static char *doc_text(const hookd_sealer *sl, const hookd_webhook *wh)
{
    json_t *doc = hookd_webhook_to_sealed_doc(wh, sl);
    char *text = doc ? hookd_json_dumps(doc) : NULL;
    json_decref(doc);
    return text;
}

/* Writes the version row of wh as key's version (its URL and shown
 * headers) if missing. */
static int version_put(pg_conn *c, int64_t key, uint64_t version, const hookd_webhook *wh)
{
    static const char SQL[] = "INSERT INTO webhook_versions(webhook, version, url, headers) "
                              "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
    char *shown = hookd_webhook_tail_shown(wh);
    if (!shown)
        return HOOKD_ENOMEM;
    pg_params p = {.n = 0};
    pg_p_int(&p, key);
    pg_p_int(&p, (int64_t)version);
    pg_p_text(&p, wh->url);
    pg_p_text(&p, shown);
    int rc = pg_run(c, SQL, &p, NULL);
    free(shown);
    return rc;
}

/* What every write of a webhook starts with: the webhook lock alone (no
 * ingest plans against the set while it changes), and a new generation, so
 * every process's snapshot is read again. */
static int webhooks_write_begin(pg_conn *c)
{
    static const char SQL_GEN[] = "UPDATE meta SET webhooks_gen = webhooks_gen + 1 WHERE id = 1";
    int rc = pg_lock_webhooks(c, true);
    return rc ? rc : pg_run(c, SQL_GEN, NULL, NULL);
}

/* ---- the snapshot ingest plans against ------------------------------------ */

static void snapshot_free(pg_webhooks *w)
{
    hookd_webhook_list_free(w->list, w->n);
    free(w);
}

static int generation(pg_conn *c, int64_t *gen)
{
    static const char SQL[] = "SELECT webhooks_gen FROM meta WHERE id = 1";
    PGresult *r;
    int rc = pg_run(c, SQL, NULL, &r);
    if (rc)
        return rc;
    if (PQntuples(r) == 1) {
        *gen = pg_int(r, 0, 0);
    } else {
        hookd_log_error("postgres: the meta row is missing");
        rc = HOOKD_EUNAVAIL;
    }
    PQclear(r);
    return rc;
}

int pg_webhooks_get(pg_store *s, pg_conn *c, pg_webhooks **out)
{
    static const char SQL_ALL[] = "SELECT " WEBHOOK_COLS " FROM webhooks ORDER BY key";
    int64_t gen;
    int rc = generation(c, &gen);
    if (rc)
        return rc;
    pthread_mutex_lock(&s->lock);
    pg_webhooks *w = s->webhooks;
    if (w && w->gen == gen)
        w->refs++;
    pthread_mutex_unlock(&s->lock);
    if (w && w->gen == gen) {
        *out = w;
        return 0;
    }
    /* Read outside the handle's lock (it guards the pool too). The caller
     * holds the webhook lock shared, so no writer commits between the
     * generation read above and this read: the list is that generation's. */
    if (!(w = calloc(1, sizeof *w)))
        return HOOKD_ENOMEM;
    if ((rc = webhooks_read(c, SQL_ALL, NULL, &w->list, &w->n)) != 0) {
        free(w);
        return rc;
    }
    w->gen = gen;
    w->refs = 1; /* the caller's */
    /* Kept unless a newer generation got there first (threads reading at
     * once finish in any order; keeping the older would only cost a
     * reread). */
    pg_webhooks *old = NULL;
    pthread_mutex_lock(&s->lock);
    if (!s->webhooks || s->webhooks->gen < gen) {
        old = s->webhooks;
        s->webhooks = w;
        w->refs++; /* the handle's */
        if (old && --old->refs > 0)
            old = NULL; /* still in use: its last user frees it */
    }
    pthread_mutex_unlock(&s->lock);
    if (old)
        snapshot_free(old);
    *out = w;
    return 0;
}

void pg_webhooks_put(pg_store *s, pg_webhooks *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&s->lock);
    bool last = --w->refs == 0;
    pthread_mutex_unlock(&s->lock);
    if (last)
        snapshot_free(w);
}

int pg_webhooks_seal_all(pg_conn *c, const hookd_sealer *sl)
{
    static const char SQL_PUT[] = "UPDATE webhooks SET doc = $1 WHERE key = $2";
    hookd_webhook **list = NULL;
    size_t n = 0;
    const hookd_sealer *conn_sl = c->sealer;
    c->sealer = NULL; /* the documents are still clear */
    int rc = webhooks_read(c, "SELECT " WEBHOOK_COLS " FROM webhooks", NULL, &list, &n);
    c->sealer = conn_sl;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char *doc = doc_text(sl, list[i]);
        pg_params p = {.n = 0};
        pg_p_text(&p, doc);
        pg_p_int(&p, list[i]->key);
        rc = doc ? pg_run(c, SQL_PUT, &p, NULL) : HOOKD_ENOMEM;
        free(doc);
    }
    hookd_webhook_list_free(list, n);
    return rc;
}

int pg_webhook_by_key(pg_conn *c, int64_t key, hookd_webhook **out)
{
    static const char SQL[] = "SELECT " WEBHOOK_COLS " FROM webhooks WHERE key = $1";
    pg_params p = {.n = 0};
    pg_p_int(&p, key);
    return webhook_one(c, SQL, &p, out);
}

/* ---- counters ----------------------------------------------------------------- */

/* open or skipped may be NULL: no change of that counter (pg_deliveries.c
 * records outcomes, which open and close deliveries but skip nothing). */
int pg_counts_add(pg_conn *c, const int64_t *keys, const int64_t *open, const int64_t *skipped,
                  size_t n)
{
    /* The rows are locked in key order by the CTE (its sort runs before its
     * locks), whatever join the planner picks for the UPDATE: a plain
     * UPDATE … FROM unnest(…) hash-joins and locks in the table's physical
     * order for a few keys but in the array's order for many, so two
     * transactions could lock the same rows in opposite orders and
     * deadlock. Keys given twice are added up (an UPDATE … FROM would apply
     * only one of them). A webhook deleted meanwhile has no row and is left
     * out, as in SQLite. */
    static const char SQL[] =
        "WITH u AS (SELECT k, sum(o)::bigint AS o, sum(s)::bigint AS s "
        "  FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS t(k, o, s) GROUP BY k), "
        "l AS MATERIALIZED (SELECT w.webhook, u.o, u.s FROM webhook_counts w "
        "  JOIN u ON w.webhook = u.k ORDER BY w.webhook FOR UPDATE OF w) "
        "UPDATE webhook_counts w SET open = w.open + l.o, skipped = w.skipped + l.s "
        "FROM l WHERE w.webhook = l.webhook";
    hookd_buf k = {0}, o = {0}, sk = {0};
    size_t used = 0;
    pg_array_begin(&k);
    pg_array_begin(&o);
    pg_array_begin(&sk);
    for (size_t i = 0; i < n; i++) {
        int64_t add_open = open ? open[i] : 0, add_skipped = skipped ? skipped[i] : 0;
        if (add_open == 0 && add_skipped == 0)
            continue;
        pg_array_int(&k, keys[i]);
        pg_array_int(&o, add_open);
        pg_array_int(&sk, add_skipped);
        used++;
    }
    int rc = pg_array_end(&k);
    if (rc == 0)
        rc = pg_array_end(&o);
    if (rc == 0)
        rc = pg_array_end(&sk);
    if (rc == 0 && used) {
        pg_params p = {.n = 0};
        pg_p_text(&p, k.data);
        pg_p_text(&p, o.data);
        pg_p_text(&p, sk.data);
        rc = pg_run(c, SQL, &p, NULL);
    }
    hookd_buf_free(&k);
    hookd_buf_free(&o);
    hookd_buf_free(&sk);
    return rc;
}

int pg_hours_add(pg_conn *c, const pg_hour_row *rows, size_t n)
{
    /* Rows of one (webhook, hour) given twice are added up first: ON
     * CONFLICT DO UPDATE refuses to change one row twice in a statement.
     * ORDER BY makes the upsert lock rows in (webhook, hour) order, the
     * same in every transaction. */
    static const char SQL[] =
        "INSERT INTO webhook_hours AS h(webhook, hour, succeeded, failed, retried) "
        "SELECT k, hr, sum(sc)::bigint, sum(f)::bigint, sum(rt)::bigint "
        "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) "
        "AS u(k, hr, sc, f, rt) GROUP BY k, hr ORDER BY k, hr "
        "ON CONFLICT (webhook, hour) DO UPDATE SET succeeded = h.succeeded + excluded.succeeded, "
        "failed = h.failed + excluded.failed, retried = h.retried + excluded.retried";
    hookd_buf b[5] = {{0}};
    size_t used = 0;
    int rc = 0;
    for (int j = 0; j < 5; j++)
        pg_array_begin(&b[j]);
    for (size_t i = 0; i < n; i++) {
        const hookd_hour_counts *hc = &rows[i].c;
        if (hc->succeeded == 0 && hc->failed == 0 && hc->retried == 0)
            continue;
        pg_array_int(&b[0], rows[i].key);
        pg_array_int(&b[1], hour_of(rows[i].hour));
        pg_array_int(&b[2], hc->succeeded);
        pg_array_int(&b[3], hc->failed);
        pg_array_int(&b[4], hc->retried);
        used++;
    }
    for (int j = 0; j < 5; j++) {
        if (pg_array_end(&b[j]) != 0)
            rc = HOOKD_ENOMEM;
    }
    if (rc == 0 && used) {
        pg_params p = {.n = 0};
        for (int j = 0; j < 5; j++)
            pg_p_text(&p, b[j].data);
        rc = pg_run(c, SQL, &p, NULL);
    }
    for (int j = 0; j < 5; j++)
        hookd_buf_free(&b[j]);
    return rc;
}

/* ---- commands -------------------------------------------------------------- */

static void tell_webhook(pg_store *s, int64_t key, const hookd_webhook *wh)
{
    if (s->base.listener.webhook)
        s->base.listener.webhook(s->base.listener.ctx, key, wh);
}

typedef struct webhook_cmd {
    hookd_webhook *wh; /* insert: the caller's; change: the saved one */
    const char *id;
    char *doc;         /* insert: wh's document text */
    hookd_webhook_change_fn fn;
    void *ctx;
    int64_t key;       /* insert, delete: the webhook's key */
    bool resumed;      /* change: connected again */
    const hookd_test_record *test; /* insert_tested: the test's log row */
} webhook_cmd;

static int insert_tx(pg_store *s, pg_conn *c, void *ctx)
{
    static const char SQL[] = "INSERT INTO webhooks(id, doc, created_at, version) "
                              "VALUES ($1, $2, $3, 1) RETURNING key";
    static const char SQL_COUNTS[] = "INSERT INTO webhook_counts(webhook) VALUES ($1)";
    webhook_cmd *x = ctx;
    x->key = 0;
    int rc = webhooks_write_begin(c);
    if (rc)
        return rc;
    pg_params p = {.n = 0};
    pg_p_text(&p, x->wh->id);
    pg_p_text(&p, x->doc);
    pg_p_int(&p, x->wh->created_at);
    PGresult *r;
    if ((rc = pg_run(c, SQL, &p, &r)) != 0) /* HOOKD_ECONFLICT: the id exists */
        return rc;
    x->key = pg_int(r, 0, 0);
    PQclear(r);
    p.n = 0;
    pg_p_int(&p, x->key);
    if ((rc = pg_run(c, SQL_COUNTS, &p, NULL)) != 0 ||
        (rc = version_put(c, x->key, 1, x->wh)) != 0)
        return rc;
    return pg_notify(c, s, 'w', x->key);
}

/* The webhook and its test's row in one transaction: the row is written
 * under the key just made. */
static int insert_tested_tx(pg_store *s, pg_conn *c, void *ctx)
{
    webhook_cmd *x = ctx;
    int rc = insert_tx(s, c, ctx);
    if (rc)
        return rc;
    x->wh->key = x->key;
    x->wh->version = 1;
    return pg_test_write(s, c, x->test);
}

/* Inserts wh, with its test's row when test is not NULL. */
static int insert(pg_store *s, hookd_webhook *wh, const hookd_test_record *test)
{
    /* Made once, outside the transaction, so the webhook lock is held for
     * the statements alone. */
    webhook_cmd x = {.wh = wh, .doc = doc_text(s->base.sealer, wh), .test = test};
    if (!x.doc)
        return HOOKD_ENOMEM;
    int rc = pg_tx(s, test ? insert_tested_tx : insert_tx, &x);
    free(x.doc);
    if (rc) {
        wh->key = 0;
        wh->version = 0;
        return rc;
    }
    wh->key = x.key;
    wh->version = 1;
    tell_webhook(s, wh->key, wh);
    return 0;
}

int pg_webhook_insert(hookd_store *st, hookd_webhook *wh)
{
    return insert(PG(st), wh, NULL);
}

int pg_webhook_insert_tested(hookd_store *st, hookd_webhook *wh, const hookd_test_record *t)
{
    return insert(PG(st), wh, t);
}

static const char SQL_BY_ID[] = "SELECT " WEBHOOK_COLS " FROM webhooks WHERE id = $1";

static int change_tx(pg_store *s, pg_conn *c, void *ctx)
{
    static const char SQL_LOAD[] =
        "SELECT " WEBHOOK_COLS " FROM webhooks WHERE id = $1 FOR UPDATE";
    static const char SQL_PUT[] = "UPDATE webhooks SET doc = $1, version = $2 WHERE key = $3";
    webhook_cmd *x = ctx;
    /* A run again after a deadlock starts from the stored webhook. */
    hookd_webhook_free(x->wh);
    x->wh = NULL;
    x->resumed = false;
    hookd_webhook *wh = NULL;
    char *doc = NULL;
    bool due = false;
    int rc = webhooks_write_begin(c);
    pg_params p = {.n = 0};
    pg_p_text(&p, x->id);
    if (rc || (rc = webhook_one(c, SQL_LOAD, &p, &wh)) != 0)
        return rc;
    bool was_connected = wh->connected;
    if ((rc = x->fn(wh, x->ctx)) != 0)
        goto fail;
    /* A connect or a disconnect starts the streak afresh. Its row is
     * taken before the delivery rows, where an outcome batch takes it
     * after them: a batch of this webhook committing at this moment may
     * meet this change in a deadlock, which PostgreSQL breaks and pg_tx
     * runs again (rare: connects are; batches meet each other in one
     * order). */
    if (wh->connected != was_connected &&
        ((rc = pg_streak_end(c, wh->key)) != 0 ||
         (rc = pg_deliveries_move(s, c, wh->key,
                                  wh->connected ? HOOKD_EV_CONNECT : HOOKD_EV_DISCONNECT,
                                  hookd_now_ms(), &due)) != 0))
        goto fail;
    wh->version++;
    if (!(doc = doc_text(s->base.sealer, wh))) {
        rc = HOOKD_ENOMEM;
        goto fail;
    }
    p.n = 0;
    pg_p_text(&p, doc);
    pg_p_int(&p, (int64_t)wh->version);
    pg_p_int(&p, wh->key);
    if ((rc = pg_run(c, SQL_PUT, &p, NULL)) != 0 ||
        (rc = version_put(c, wh->key, wh->version, wh)) != 0 ||
        (rc = pg_notify(c, s, 'w', wh->key)) != 0 ||
        (due && (rc = pg_notify(c, s, 'd', wh->key)) != 0))
        goto fail;
    free(doc);
    x->wh = wh;
    x->resumed = wh->connected && !was_connected;
    return 0;
fail:
    free(doc);
    hookd_webhook_free(wh);
    return rc;
}

int pg_webhook_change(hookd_store *st, const char *id, hookd_webhook_change_fn fn, void *ctx,
                      hookd_webhook **out)
{
    pg_store *s = PG(st);
    webhook_cmd x = {.id = id, .fn = fn, .ctx = ctx};
    int rc = pg_tx(s, change_tx, &x);
    if (rc) {
        hookd_webhook_free(x.wh); /* a run that succeeded before a COMMIT that failed */
        return rc;
    }
    tell_webhook(s, x.wh->key, x.wh);
    /* As SQLite: connecting again tells due, whether or not anything
     * waits (the engine reads and finds out). */
    if (x.resumed && s->base.listener.due)
        s->base.listener.due(s->base.listener.ctx, x.wh->key);
    if (out)
        *out = x.wh;
    else
        hookd_webhook_free(x.wh);
    return 0;
}

static int delete_tx(pg_store *s, pg_conn *c, void *ctx)
{
    static const char SQL_KEY[] = "SELECT key FROM webhooks WHERE id = $1 FOR UPDATE";
    /* Its counters, versions and streak go with it, as in SQLite; its deliveries
     * stay (cancelled) for the record until pruned. */
    static const char SQL_DELETE[] =
        "WITH c AS (DELETE FROM webhook_counts WHERE webhook = $1), "
        "h AS (DELETE FROM webhook_hours WHERE webhook = $1), "
        "v AS (DELETE FROM webhook_versions WHERE webhook = $1), "
        "s AS (DELETE FROM webhook_streaks WHERE webhook = $1) "
        "DELETE FROM webhooks WHERE key = $1";
    webhook_cmd *x = ctx;
    x->key = 0;
    int rc = webhooks_write_begin(c);
    pg_params p = {.n = 0};
    pg_p_text(&p, x->id);
    PGresult *r;
    if (rc || (rc = pg_run(c, SQL_KEY, &p, &r)) != 0)
        return rc;
    int64_t key = PQntuples(r) == 1 ? pg_int(r, 0, 0) : 0;
    PQclear(r);
    if (!key)
        return HOOKD_ENOTFOUND;
    /* Its waiting deliveries end as cancelled (docs/api.md). */
    if ((rc = pg_deliveries_move(s, c, key, HOOKD_EV_DELETE, hookd_now_ms(), NULL)) != 0)
        return rc;
    p.n = 0;
    pg_p_int(&p, key);
    if ((rc = pg_run(c, SQL_DELETE, &p, NULL)) != 0 || (rc = pg_notify(c, s, 'w', key)) != 0)
        return rc;
    x->key = key;
    return 0;
}

int pg_webhook_delete(hookd_store *st, const char *id)
{
    pg_store *s = PG(st);
    webhook_cmd x = {.id = id};
    int rc = pg_tx(s, delete_tx, &x);
    if (rc == 0)
        tell_webhook(s, x.key, NULL);
    return rc;
}

/* ---- reads ---------------------------------------------------------------- */

typedef struct read_ctx {
    const char *id;
    int64_t after, key, since, first_hour;
    int limit, hours;
    const int64_t *keys;
    size_t n;
    hookd_webhook *wh;
    hookd_webhook **list;
    hookd_webhook_stats *stats;
    hookd_hour_counts *counts;
} read_ctx;

static int get_run(pg_store *s, pg_conn *c, void *ctx)
{
    (void)s;
    read_ctx *x = ctx;
    pg_params p = {.n = 0};
    pg_p_text(&p, x->id);
    return webhook_one(c, SQL_BY_ID, &p, &x->wh);
}

int pg_webhook_get(hookd_store *st, const char *id, hookd_webhook **out)
{
    read_ctx x = {.id = id};
    int rc = pg_once(PG(st), get_run, &x);
    if (rc == 0)
        *out = x.wh;
    return rc;
}

static int list_run(pg_store *s, pg_conn *c, void *ctx)
{
    (void)s;
    static const char SQL[] =
        "SELECT " WEBHOOK_COLS " FROM webhooks WHERE key > $1 ORDER BY key LIMIT $2";
    read_ctx *x = ctx;
    pg_params p = {.n = 0};
    pg_p_int(&p, x->after);
    pg_p_int(&p, (int64_t)x->limit + 1); /* one more tells whether a next page exists */
    return webhooks_read(c, SQL, &p, &x->list, &x->n);
}

int pg_webhook_list(hookd_store *st, int64_t after, int limit, hookd_webhook ***out, size_t *n,
                    int64_t *next)
{
    read_ctx x = {.after = after, .limit = limit < 0 ? 0 : limit};
    *next = 0;
    int rc = pg_once(PG(st), list_run, &x);
    if (rc)
        return rc;
    if (x.n > (size_t)x.limit) {
        hookd_webhook_free(x.list[x.limit]);
        x.n = (size_t)x.limit;
        /* A page of none (limit 0) continues from where it started. */
        *next = x.limit ? x.list[x.limit - 1]->key : after;
    }
    *out = x.list;
    *n = x.n;
    return 0;
}

static int stats_run(pg_store *s, pg_conn *c, void *ctx)
{
    (void)s;
    /* One statement for every key: each key's counters by primary key and
     * the sums of its hours since the window start by the (webhook, hour)
     * primary key. Only a webhook with counters has stats (as in SQLite):
     * hours alone are left out. */
    static const char SQL[] =
        "SELECT k.i, c.open, c.skipped, h.succeeded, h.failed "
        "FROM unnest($1::bigint[]) WITH ORDINALITY AS k(key, i) "
        "LEFT JOIN webhook_counts c ON c.webhook = k.key "
        "LEFT JOIN LATERAL (SELECT sum(x.succeeded)::bigint AS succeeded, "
        "  sum(x.failed)::bigint AS failed FROM webhook_hours x "
        "  WHERE x.webhook = c.webhook AND x.hour >= $2) h ON true";
    read_ctx *x = ctx;
    hookd_buf keys = {0};
    pg_array_begin(&keys);
    for (size_t i = 0; i < x->n; i++)
        pg_array_int(&keys, x->keys[i]);
    int rc = pg_array_end(&keys);
    PGresult *r = NULL;
    if (rc == 0) {
        pg_params p = {.n = 0};
        pg_p_text(&p, keys.data);
        pg_p_int(&p, x->since);
        rc = pg_run(c, SQL, &p, &r);
    }
    hookd_buf_free(&keys);
    if (rc)
        return rc;
    for (int row = 0; row < PQntuples(r); row++) {
        int64_t i = pg_int(r, row, 0) - 1; /* ordinality counts from 1 */
        if (i < 0 || (size_t)i >= x->n)
            continue;
        /* NULL (no counters, no hours) reads as 0. */
        x->stats[i].pending = pg_int(r, row, 1);
        x->stats[i].skipped = pg_int(r, row, 2);
        x->stats[i].succeeded_24h = pg_int(r, row, 3);
        x->stats[i].failed_24h = pg_int(r, row, 4);
    }
    PQclear(r);
    return 0;
}

int pg_webhook_stats(hookd_store *st, const int64_t *keys, size_t n, int64_t now_ms,
                     hookd_webhook_stats *out)
{
    /* The window starts at the hour that held "24 h ago" (decisions.md):
     * the same rule as SQLite's. */
    read_ctx x = {.keys = keys, .n = n, .stats = out, .since = hour_of(now_ms - 24 * HOUR_MS)};
    memset(out, 0, n * sizeof *out);
    if (n == 0)
        return 0;
    int rc = pg_once(PG(st), stats_run, &x);
    if (rc)
        memset(out, 0, n * sizeof *out); /* nothing half-read */
    return rc;
}

static int hours_run(pg_store *s, pg_conn *c, void *ctx)
{
    (void)s;
    static const char SQL[] = "SELECT hour, succeeded, failed, retried FROM webhook_hours "
                              "WHERE webhook = $1 AND hour >= $2 AND hour < $3";
    read_ctx *x = ctx;
    pg_params p = {.n = 0};
    pg_p_int(&p, x->key);
    pg_p_int(&p, x->first_hour);
    pg_p_int(&p, x->first_hour + (int64_t)x->hours * HOUR_MS);
    PGresult *r;
    int rc = pg_run(c, SQL, &p, &r);
    if (rc)
        return rc;
    for (int row = 0; row < PQntuples(r); row++) {
        int64_t i = (pg_int(r, row, 0) - x->first_hour) / HOUR_MS;
        if (i < 0 || i >= x->hours)
            continue;
        x->counts[i].succeeded = pg_int(r, row, 1);
        x->counts[i].failed = pg_int(r, row, 2);
        x->counts[i].retried = pg_int(r, row, 3);
    }
    PQclear(r);
    return 0;
}

int pg_webhook_hours(hookd_store *st, int64_t key, int64_t first_hour_ms, int hours,
                     hookd_hour_counts *out)
{
    if (hours <= 0)
        return 0;
    read_ctx x = {.key = key, .first_hour = first_hour_ms, .hours = hours, .counts = out};
    memset(out, 0, (size_t)hours * sizeof *out);
    return pg_once(PG(st), hours_run, &x);
}

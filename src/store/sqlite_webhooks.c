/*
 * sqlite_webhooks.c — webhooks in the SQLite backend: their documents and
 * versions, the writer's snapshot of them, and the counters behind stats.
 *
 * A webhook is one JSON document per row (the model's sealed doc: its
 * secrets sealed with the master key, the rest readable). Every write
 * makes a new version and a webhook_versions row with what its deliveries
 * are sent with (URL, shown headers), so a log shows what went out even
 * after the webhook changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "store/tally.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/log.h"
#include "util/timeutil.h"

const char SQ_WEBHOOK_COLS[] = "key, version, doc";

hookd_webhook *sq_row_webhook(const hookd_sealer *sl, sqlite3_stmt *q)
{
    json_error_t jerr;
    json_t *doc = hookd_json_loadb((const char *)sqlite3_column_text(q, 2),
                                   (size_t)sqlite3_column_bytes(q, 2), 0, &jerr);
    if (!doc) {
        hookd_log_error("sqlite: webhook document damaged: %s", jerr.text);
        return NULL;
    }
    /* No sealer: a document written before the schema sealed them. */
    hookd_webhook *wh = sl ? hookd_webhook_from_sealed_doc(doc, sl) : hookd_webhook_from_doc(doc);
    json_decref(doc);
    if (!wh)
        hookd_log_error("sqlite: webhook %lld: its document is damaged or its secrets do not "
                        "open with the master key",
                        (long long)sqlite3_column_int64(q, 0));
    if (wh) {
        wh->key = sqlite3_column_int64(q, 0);
        wh->version = (uint64_t)sqlite3_column_int64(q, 1);
    }
    return wh;
}

/* Runs q (columns SQ_WEBHOOK_COLS) to its end, decoding every row into a
 * new list; an undecodable row fails the read (HOOKD_ENOMEM, as
 * sq_collect). Resets q. */
static int collect_webhooks(sq_conn *c, const hookd_sealer *sl, sqlite3_stmt *q,
                            hookd_webhook ***out, size_t *n)
{
    hookd_webhook **list = NULL;
    size_t count = 0, cap = 0;
    int rc = 0, step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        if (hookd_array_grow(&list, &cap, count, sizeof *list) != 0 ||
            !(list[count] = sq_row_webhook(sl, q))) {
            rc = HOOKD_ENOMEM;
            break;
        }
        count++;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = sq_rc(c->db, step);
    sqlite3_reset(q);
    if (rc) {
        hookd_webhook_list_free(list, count);
        return rc;
    }
    *out = list;
    *n = count;
    return 0;
}

static int bind_doc(sqlite3_stmt *q, int idx, const hookd_sealer *sl, const hookd_webhook *wh)
{
    json_t *doc = hookd_webhook_to_sealed_doc(wh, sl);
    int rc = doc ? sq_bind_json(q, idx, doc) : HOOKD_ENOMEM;
    json_decref(doc);
    return rc;
}

int sq_webhook_version_put(sq_conn *c, const hookd_webhook *wh)
{
    static const char SQL[] = "INSERT OR IGNORE INTO webhook_versions(webhook, version, url, "
                              "headers) VALUES(?, ?, ?, ?)";
    sqlite3_stmt *q = sq_stmt(c, SQL);
    char *shown = hookd_webhook_tail_shown(wh);
    if (!q || !shown) {
        free(shown);
        return q ? HOOKD_ENOMEM : HOOKD_EUNAVAIL;
    }
    sqlite3_bind_int64(q, 1, wh->key);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)wh->version);
    sqlite3_bind_text(q, 3, wh->url, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, shown, -1, free);
    return sq_step_done(c, q);
}

int sq_webhooks_fix_versions(sq_conn *c, const hookd_sealer *sl)
{
    static const char SQL[] = "SELECT key, version, doc FROM webhooks w WHERE NOT EXISTS "
                              "(SELECT 1 FROM webhook_versions v WHERE v.webhook = w.key AND "
                              "v.version = w.version)";
    sqlite3_stmt *q;
    /* Before the schema has versions there is nothing to fix. */
    if (sqlite3_prepare_v2(c->db, SQL, -1, &q, NULL) != SQLITE_OK)
        return 0;
    hookd_webhook **list = NULL;
    size_t n = 0;
    int rc = collect_webhooks(c, sl, q, &list, &n);
    sqlite3_finalize(q);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = sq_webhook_version_put(c, list[i]);
    hookd_webhook_list_free(list, n);
    return rc;
}

int sq_webhooks_seal_all(sq_conn *c, const hookd_sealer *sl)
{
    static const char SQL_PUT[] = "UPDATE webhooks SET doc = ? WHERE key = ?";
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(c->db, "SELECT key, version, doc FROM webhooks", -1, &q, NULL) !=
        SQLITE_OK)
        return sq_rc(c->db, SQLITE_ERROR);
    hookd_webhook **list = NULL;
    size_t n = 0;
    int rc = collect_webhooks(c, NULL, q, &list, &n);
    sqlite3_finalize(q);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!(q = sq_stmt(c, SQL_PUT))) {
            rc = HOOKD_EUNAVAIL;
            break;
        }
        sqlite3_bind_int64(q, 2, list[i]->key);
        if ((rc = bind_doc(q, 1, sl, list[i])) == 0)
            rc = sq_step_done(c, q);
    }
    hookd_webhook_list_free(list, n);
    return rc;
}

int sq_counts_add(sq_conn *c, int64_t key, int64_t open, int64_t skipped)
{
    static const char SQL[] =
        "UPDATE webhook_counts SET open = open + ?2, skipped = skipped + ?3 WHERE webhook = ?1";
    if (open == 0 && skipped == 0)
        return 0;
    sqlite3_stmt *q = sq_stmt(c, SQL);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_int64(q, 1, key);
    sqlite3_bind_int64(q, 2, open);
    sqlite3_bind_int64(q, 3, skipped);
    return sq_step_done(c, q);
}

int sq_hours_add(sq_conn *c, int64_t key, int64_t hour_ms, const hookd_hour_counts *add)
{
    static const char SQL[] =
        "INSERT INTO webhook_hours(webhook, hour, succeeded, failed, retried) "
        "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(webhook, hour) DO UPDATE SET "
        "succeeded = succeeded + ?3, failed = failed + ?4, retried = retried + ?5";
    if (add->succeeded == 0 && add->failed == 0 && add->retried == 0)
        return 0;
    sqlite3_stmt *q = sq_stmt(c, SQL);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_int64(q, 1, key);
    sqlite3_bind_int64(q, 2, hookd_hour_of(hour_ms));
    sqlite3_bind_int64(q, 3, add->succeeded);
    sqlite3_bind_int64(q, 4, add->failed);
    sqlite3_bind_int64(q, 5, add->retried);
    return sq_step_done(c, q);
}

/* ---- the writer's snapshot ----------------------------------------------- */

static const char SQL_ALL[] = "SELECT key, version, doc FROM webhooks ORDER BY key";

int sq_webhooks_current(sq_store *s, hookd_webhook *const **list, size_t *n)
{
    if (!s->webhooks_valid) {
        sqlite3_stmt *q = sq_stmt(&s->w, SQL_ALL);
        if (!q)
            return HOOKD_EUNAVAIL;
        int rc = collect_webhooks(&s->w, s->base.sealer, q, &s->webhooks, &s->n_webhooks);
        if (rc)
            return rc;
        s->webhooks_valid = true;
    }
    *list = s->webhooks;
    *n = s->n_webhooks;
    return 0;
}

/* Puts a copy of wh into the snapshot (replacing its older self), or takes
 * it out when gone. A snapshot that cannot be kept true is dropped; the next
 * ingest reloads it. */
static void snapshot_set(sq_store *s, int64_t key, const hookd_webhook *wh)
{
    if (!s->webhooks_valid)
        return;
    size_t i = 0;
    while (i < s->n_webhooks && s->webhooks[i]->key < key)
        i++;
    bool found = i < s->n_webhooks && s->webhooks[i]->key == key;
    hookd_webhook *copy = wh ? hookd_webhook_clone(wh) : NULL;
    if (wh && !copy) {
        sq_caches_drop(s);
        return;
    }
    if (found) {
        hookd_webhook_free(s->webhooks[i]);
        if (copy) {
            s->webhooks[i] = copy;
        } else {
            memmove(&s->webhooks[i], &s->webhooks[i + 1],
                    (s->n_webhooks - i - 1) * sizeof *s->webhooks);
            s->n_webhooks--;
        }
        return;
    }
    if (!copy)
        return;
    hookd_webhook **grown = realloc(s->webhooks, (s->n_webhooks + 1) * sizeof *grown);
    if (!grown) {
        hookd_webhook_free(copy);
        sq_caches_drop(s);
        return;
    }
    s->webhooks = grown;
    memmove(&s->webhooks[i + 1], &s->webhooks[i], (s->n_webhooks - i) * sizeof *s->webhooks);
    s->webhooks[i] = copy;
    s->n_webhooks++;
}

static void tell_webhook(sq_store *s, int64_t key, const hookd_webhook *wh)
{
    if (s->base.listener.webhook)
        s->base.listener.webhook(s->base.listener.ctx, key, wh);
}

/* ---- commands -------------------------------------------------------------- */

typedef struct webhook_cmd {
    sq_cmd base;
    hookd_webhook *wh;      /* insert: the caller's; change: the saved one */
    const char *id;
    hookd_webhook_change_fn fn;
    void *ctx;
    int64_t key;
    bool resumed;           /* change: connected again */
    const hookd_test_record *test; /* insert_tested: the test's log row */
} webhook_cmd;

static int insert_run(sq_store *s, sq_cmd *c)
{
    static const char SQL[] = "INSERT INTO webhooks(id, doc, created_at, version) "
                              "VALUES(?, ?, ?, 1)";
    static const char SQL_COUNTS[] = "INSERT INTO webhook_counts(webhook) VALUES(?)";
    hookd_webhook *wh = ((webhook_cmd *)c)->wh;
    sqlite3_stmt *q = sq_stmt(&s->w, SQL);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_text(q, 1, wh->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, wh->created_at);
    int rc = bind_doc(q, 2, s->base.sealer, wh);
    if (rc || (rc = sq_step_done(&s->w, q)) != 0)
        return rc;
    wh->key = sqlite3_last_insert_rowid(s->w.db);
    wh->version = 1;
    if (!(q = sq_stmt(&s->w, SQL_COUNTS)))
        return HOOKD_EUNAVAIL;
    sqlite3_bind_int64(q, 1, wh->key);
    if ((rc = sq_step_done(&s->w, q)) != 0 || (rc = sq_webhook_version_put(&s->w, wh)) != 0)
        return rc;
    snapshot_set(s, wh->key, wh);
    return 0;
}

static void insert_after(sq_store *s, sq_cmd *c)
{
    hookd_webhook *wh = ((webhook_cmd *)c)->wh;
    tell_webhook(s, wh->key, wh);
}

int sq_webhook_insert(hookd_store *st, hookd_webhook *wh)
{
    webhook_cmd c = {.base.run = insert_run, .base.after = insert_after, .wh = wh};
    return sq_submit(SQ(st), &c.base);
}

/* One command, so one savepoint: a test row that cannot be written undoes
 * the webhook too. */
static int insert_tested_run(sq_store *s, sq_cmd *c)
{
    int rc = insert_run(s, c);
    return rc ? rc : sq_test_write(s, ((webhook_cmd *)c)->test);
}

int sq_webhook_insert_tested(hookd_store *st, hookd_webhook *wh, const hookd_test_record *t)
{
    webhook_cmd c = {
        .base.run = insert_tested_run, .base.after = insert_after, .wh = wh, .test = t};
    return sq_submit(SQ(st), &c.base);
}

static const char SQL_BY_ID[] = "SELECT key, version, doc FROM webhooks WHERE id = ?";

static int load(sq_conn *c, const hookd_sealer *sl, const char *id, hookd_webhook **out)
{
    sqlite3_stmt *q = sq_stmt(c, SQL_BY_ID);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(q), rc;
    if (step == SQLITE_ROW)
        rc = (*out = sq_row_webhook(sl, q)) ? 0 : HOOKD_ENOMEM;
    else
        rc = step == SQLITE_DONE ? HOOKD_ENOTFOUND : sq_rc(c->db, step);
    sqlite3_reset(q);
    return rc;
}

static int change_run(sq_store *s, sq_cmd *cmd)
{
    static const char SQL_PUT[] = "UPDATE webhooks SET doc = ?, version = ? WHERE key = ?";
    webhook_cmd *c = (webhook_cmd *)cmd;
    hookd_webhook *wh = NULL;
    int rc = load(&s->w, s->base.sealer, c->id, &wh);
    if (rc)
        return rc;
    bool was_connected = wh->connected;
    if ((rc = c->fn(wh, c->ctx)) != 0)
        goto fail;
    if (wh->connected != was_connected &&
        ((rc = sq_deliveries_move(s, wh->key,
                                  wh->connected ? HOOKD_EV_CONNECT : HOOKD_EV_DISCONNECT,
                                  hookd_now_ms())) != 0 ||
         (rc = sq_streak_end(&s->w, wh->key)) != 0))
        goto fail;
    wh->version++;
    sqlite3_stmt *q = sq_stmt(&s->w, SQL_PUT);
    if (!q) {
        rc = HOOKD_EUNAVAIL;
        goto fail;
    }
    sqlite3_bind_int64(q, 2, (sqlite3_int64)wh->version);
    sqlite3_bind_int64(q, 3, wh->key);
    if ((rc = bind_doc(q, 1, s->base.sealer, wh)) != 0 || (rc = sq_step_done(&s->w, q)) != 0 ||
        (rc = sq_webhook_version_put(&s->w, wh)) != 0)
        goto fail;
    snapshot_set(s, wh->key, wh);
    c->wh = wh;
    c->resumed = wh->connected && !was_connected;
    return 0;
fail:
    hookd_webhook_free(wh);
    return rc;
}

static void change_after(sq_store *s, sq_cmd *cmd)
{
    webhook_cmd *c = (webhook_cmd *)cmd;
    tell_webhook(s, c->wh->key, c->wh);
    if (c->resumed && s->base.listener.due)
        s->base.listener.due(s->base.listener.ctx, c->wh->key);
}

int sq_webhook_change(hookd_store *st, const char *id, hookd_webhook_change_fn fn, void *ctx,
                      hookd_webhook **out)
{
    webhook_cmd c = {.base.run = change_run, .base.after = change_after, .id = id, .fn = fn,
                     .ctx = ctx};
    int rc = sq_submit(SQ(st), &c.base);
    if (rc == 0 && out)
        *out = c.wh;
    else
        hookd_webhook_free(c.wh);
    return rc;
}

static int delete_run(sq_store *s, sq_cmd *cmd)
{
    static const char *const SQL[] = {
        "DELETE FROM webhooks WHERE key = ?",
        "DELETE FROM webhook_counts WHERE webhook = ?",
        "DELETE FROM webhook_hours WHERE webhook = ?",
        "DELETE FROM webhook_versions WHERE webhook = ?",
        "DELETE FROM webhook_streaks WHERE webhook = ?",
    };
    webhook_cmd *c = (webhook_cmd *)cmd;
    hookd_webhook *wh = NULL;
    int rc = load(&s->w, s->base.sealer, c->id, &wh);
    if (rc)
        return rc;
    c->key = wh->key;
    hookd_webhook_free(wh);
    /* Its waiting deliveries end as cancelled (docs/api.md), kept for the
     * record until pruned. */
    if ((rc = sq_deliveries_move(s, c->key, HOOKD_EV_DELETE, hookd_now_ms())) != 0)
        return rc;
    for (size_t i = 0; i < sizeof SQL / sizeof SQL[0]; i++) {
        sqlite3_stmt *q = sq_stmt(&s->w, SQL[i]);
        if (!q)
            return HOOKD_EUNAVAIL;
        sqlite3_bind_int64(q, 1, c->key);
        if ((rc = sq_step_done(&s->w, q)) != 0)
            return rc;
    }
    snapshot_set(s, c->key, NULL);
    return 0;
}

static void delete_after(sq_store *s, sq_cmd *cmd)
{
    tell_webhook(s, ((webhook_cmd *)cmd)->key, NULL);
}

int sq_webhook_delete(hookd_store *st, const char *id)
{
    webhook_cmd c = {.base.run = delete_run, .base.after = delete_after, .id = id};
    return sq_submit(SQ(st), &c.base);
}

/* ---- reads ---------------------------------------------------------------- */

int sq_webhook_get(hookd_store *st, const char *id, hookd_webhook **out)
{
    sq_store *s = SQ(st);
    sq_conn *c = sq_reader_get(s);
    int rc = load(c, s->base.sealer, id, out);
    sq_reader_put(s, c);
    return rc;
}

int sq_webhook_list(hookd_store *st, int64_t after, int limit, hookd_webhook ***out, size_t *n,
                    int64_t *next)
{
    static const char SQL[] =
        "SELECT key, version, doc FROM webhooks WHERE key > ? ORDER BY key LIMIT ?";
    sq_store *s = SQ(st);
    sq_conn *c = sq_reader_get(s);
    sqlite3_stmt *q = sq_stmt(c, SQL);
    int rc = HOOKD_EUNAVAIL;
    *next = 0;
    if (q) {
        sqlite3_bind_int64(q, 1, after);
        sqlite3_bind_int(q, 2, limit + 1); /* one more tells whether a next page exists */
        rc = collect_webhooks(c, s->base.sealer, q, out, n);
    }
    sq_reader_put(s, c);
    if (rc == 0 && *n > (size_t)limit) {
        hookd_webhook_free((*out)[limit]);
        *n = (size_t)limit;
        *next = (*out)[limit - 1]->key;
    }
    return rc;
}

int sq_webhook_stats(hookd_store *st, const int64_t *keys, size_t n, int64_t now_ms,
                     hookd_webhook_stats *out)
{
    static const char SQL[] =
        "SELECT c.open, c.skipped, (SELECT COALESCE(SUM(h.succeeded), 0) FROM webhook_hours h "
        "WHERE h.webhook = ?1 AND h.hour >= ?2), (SELECT COALESCE(SUM(h.failed), 0) FROM "
        "webhook_hours h WHERE h.webhook = ?1 AND h.hour >= ?2) FROM webhook_counts c "
        "WHERE c.webhook = ?1";
    sq_store *s = SQ(st);
    sq_conn *c = sq_reader_get(s);
    int rc = 0;
    /* The window starts at the hour that held "24 h ago": a finish is never
     * left out for being a few minutes over the day, at the price of counting
     * up to 59 minutes more (decisions.md). */
    int64_t since = hookd_hour_of(now_ms - 24 * HOOKD_HOUR_MS);
    for (size_t i = 0; i < n && rc == 0; i++) {
        sqlite3_stmt *q = sq_stmt(c, SQL);
        if (!q) {
            rc = HOOKD_EUNAVAIL;
            break;
        }
        sqlite3_bind_int64(q, 1, keys[i]);
        sqlite3_bind_int64(q, 2, since);
        memset(&out[i], 0, sizeof out[i]);
        int step = sqlite3_step(q);
        if (step == SQLITE_ROW) {
            out[i].pending = sqlite3_column_int64(q, 0);
            out[i].skipped = sqlite3_column_int64(q, 1);
            out[i].succeeded_24h = sqlite3_column_int64(q, 2);
            out[i].failed_24h = sqlite3_column_int64(q, 3);
        } else if (step != SQLITE_DONE) {
            rc = sq_rc(c->db, step);
        }
        sqlite3_reset(q);
    }
    sq_reader_put(s, c);
    return rc;
}

int sq_webhook_hours(hookd_store *st, int64_t key, int64_t first_hour_ms, int hours,
                     hookd_hour_counts *out)
{
    static const char SQL[] = "SELECT hour, succeeded, failed, retried FROM webhook_hours "
                              "WHERE webhook = ?1 AND hour >= ?2 AND hour < ?3";
    sq_store *s = SQ(st);
    sq_conn *c = sq_reader_get(s);
    sqlite3_stmt *q = sq_stmt(c, SQL);
    int rc = q ? 0 : HOOKD_EUNAVAIL, step = SQLITE_DONE;
    memset(out, 0, (size_t)hours * sizeof *out);
    if (q) {
        sqlite3_bind_int64(q, 1, key);
        sqlite3_bind_int64(q, 2, first_hour_ms);
        sqlite3_bind_int64(q, 3, first_hour_ms + (int64_t)hours * HOOKD_HOUR_MS);
        while ((step = sqlite3_step(q)) == SQLITE_ROW) {
            int64_t i = (sqlite3_column_int64(q, 0) - first_hour_ms) / HOOKD_HOUR_MS;
            if (i < 0 || i >= hours)
                continue;
            out[i].succeeded = sqlite3_column_int64(q, 1);
            out[i].failed = sqlite3_column_int64(q, 2);
            out[i].retried = sqlite3_column_int64(q, 3);
        }
        if (step != SQLITE_DONE)
            rc = sq_rc(c->db, step);
    }
    sq_reader_put(s, c);
    return rc;
}

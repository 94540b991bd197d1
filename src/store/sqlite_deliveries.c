/*
 * sqlite_deliveries.c — deliveries in the SQLite backend: ingest, the
 * engine's reads and outcomes, retry, test sends, pruning and the log.
 *
 * A delivery is two rows: `deliveries` (written once: id, kind, method,
 * body) and `delivery_state` (narrow, moved on by outcomes: state, attempts,
 * next_at, the last attempt). next_at is set while a delivery waits for a
 * scheduled attempt (a retry, or one a connect or "retry now" made due), so
 * the due index holds only those. A fresh delivery — pending, never
 * attempted, due since it was made — has none: it is found by the
 * (webhook, state, seq) index the log uses anyway, so ingest and its first
 * outcome touch the due index not at all. The last attempt lives in
 * delivery_state; an earlier one moves to `attempts` when the next is
 * recorded, so a delivery that succeeds at once writes no attempt row at
 * all.
 *
 * Every state change asks model/delivery_state.h for the new state and is
 * applied "if the state is still the one it was read in"; the counters of
 * the same transition (hookd_ds_effect_of) are kept in the same write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "store/tally.h"
#include "util/buf.h"
#include "util/log.h"

#define PRUNE_PAGE 256

int sq_streak_end(sq_conn *c, int64_t key)
{
    sqlite3_stmt *q = sq_stmt(c, "DELETE FROM webhook_streaks WHERE webhook = ?");
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_int64(q, 1, key);
    return sq_step_done(c, q);
}

/* Writes one webhook's streak change and reads what it leaves. */
static int streak_write(sq_conn *c, hookd_tally_streak *r)
{
    static const char SQL_ADD[] =
        "INSERT INTO webhook_streaks(webhook, since, failed) SELECT ?1, ?2, ?3 "
        "WHERE EXISTS (SELECT 1 FROM webhooks WHERE key = ?1) " /* not one deleted */
        "ON CONFLICT(webhook) DO UPDATE SET since = MIN(since, excluded.since), "
        "failed = failed + excluded.failed RETURNING since, failed";
    r->now = (hookd_streak){0, 0};
    int rc;
    if (r->reset && (rc = sq_streak_end(c, r->key)) != 0)
        return rc;
    if (!r->failed)
        return 0;
    sqlite3_stmt *q = sq_stmt(c, SQL_ADD);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_int64(q, 1, r->key);
    sqlite3_bind_int64(q, 2, r->since_ms);
    sqlite3_bind_int64(q, 3, r->failed);
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW)
        r->now = (hookd_streak){sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1)};
    sqlite3_reset(q);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : sq_rc(c->db, step);
}

/* Writes a tally's counters, then its streaks (setting each one's now). */
static int tally_write(sq_conn *c, hookd_tally *t)
{
    int rc = 0;
    for (size_t i = 0; i < t->n && rc == 0; i++) {
        hookd_tally_row *r = &t->rows[i];
        if ((rc = sq_counts_add(c, r->key, r->open, 0)) == 0 && r->hour)
            rc = sq_hours_add(c, r->key, r->hour, &r->c);
    }
    for (size_t i = 0; i < t->n_streaks && rc == 0; i++)
        rc = streak_write(c, &t->streaks[i]);
    return rc;
}

/* ---- moving a webhook's deliveries ------------------------------------------- */

int sq_deliveries_move(sq_store *s, int64_t key, hookd_ds_event ev, int64_t now_ms)
{
    static const char SQL[] =
        "UPDATE delivery_state SET state = ?4, next_at = ?5, finished_at = ?6 "
        "WHERE webhook = ?1 AND state = ?2 AND (attempts > 0) = ?3";
    int64_t open = 0;
    /* Every (state, attempted) the machine moves on ev, set to where it says:
     * the rule lives in the table, not in this SQL. */
    for (int from = 0; from < HOOKD_DS_COUNT; from++) {
        for (int attempted = 0; attempted < 2; attempted++) {
            int to = hookd_ds_next((hookd_delivery_state)from, ev, attempted);
            if (to == from || to == HOOKD_DS_REFUSED)
                continue;
            sqlite3_stmt *q = sq_stmt(&s->w, SQL);
            if (!q)
                return HOOKD_EUNAVAIL;
            sqlite3_bind_int64(q, 1, key);
            sqlite3_bind_int(q, 2, from);
            sqlite3_bind_int(q, 3, attempted);
            sqlite3_bind_int(q, 4, to);
            sq_bind_int64_or_null(q, 5, now_ms, !hookd_ds_waiting(to));
            sq_bind_int64_or_null(q, 6, now_ms, !hookd_ds_finished(to));
            int rc = sq_step_done(&s->w, q);
            if (rc)
                return rc;
            hookd_ds_effect e = hookd_ds_effect_of((hookd_delivery_state)from, ev, to);
            open += (int64_t)e.open * sqlite3_changes(s->w.db);
        }
    }
    return sq_counts_add(&s->w, key, open, 0);
}

/* ---- ingest ------------------------------------------------------------------ */

typedef struct ingest_cmd {
    sq_cmd base;
    hookd_ingest *in;
    hookd_job *jobs; /* made by this command, for the listener */
    size_t n_jobs, cap_jobs;
} ingest_cmd;

static void jobs_free(hookd_job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hookd_job_clear(&jobs[i]);
    free(jobs);
}

/* Records the activity id; 1 if it was stored already (a duplicate). */
static int record_activity(sq_conn *c, const hookd_ingest_item *it)
{
    static const char SQL[] = "INSERT OR IGNORE INTO activity_ids(id, created_at) VALUES(?, ?)";
    sqlite3_stmt *q = sq_stmt(c, SQL);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_text(q, 1, it->activity_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, it->created_ms);
    int rc = sq_step_done(c, q);
    return rc ? rc : sqlite3_changes(c->db) == 0;
}

/* Stores one planned delivery, pending and due now, and keeps it as a job
 * (taking its query and body). */
static int store_delivery(sq_store *s, ingest_cmd *c, hookd_new_delivery *d,
                          const hookd_person *p)
{
    static const char SQL_D[] =
        "INSERT INTO deliveries(id, kind, method, person, activity_id, field_id, created_at, "
        "query, body) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)";
    /* Fresh: no next_at (see the top comment). */
    static const char SQL_S[] = "INSERT INTO delivery_state(seq, webhook, state, attempts) "
                                "VALUES(?, ?, ?, 0)";
    if (hookd_array_grow(&c->jobs, &c->cap_jobs, c->n_jobs, sizeof *c->jobs) != 0)
        return HOOKD_ENOMEM;
    sqlite3_stmt *q = sq_stmt(&s->w, SQL_D);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_text(q, 1, d->id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, (int)d->kind);
    sqlite3_bind_int(q, 3, (int)d->webhook->method);
    sqlite3_bind_int64(q, 4, p->key);
    sq_bind_text(q, 5, d->activity_id);
    sq_bind_text(q, 6, d->field_id);
    sqlite3_bind_int64(q, 7, d->created_ms);
    sq_bind_text(q, 8, d->query);
    int rc = sq_bind_body(q, 9, d->body, d->body_len);
    if (rc == 0)
        rc = sq_step_done(&s->w, q);
    if (rc)
        return rc;
    int64_t seq = sqlite3_last_insert_rowid(s->w.db);
    if (!(q = sq_stmt(&s->w, SQL_S)))
        return HOOKD_EUNAVAIL;
    sqlite3_bind_int64(q, 1, seq);
    sqlite3_bind_int64(q, 2, d->webhook->key);
    sqlite3_bind_int(q, 3, HOOKD_DS_PENDING);
    if ((rc = sq_step_done(&s->w, q)) != 0)
        return rc;
    hookd_job_of_new(&c->jobs[c->n_jobs++], seq, d);
    return 0;
}

static void plan_clear(hookd_plan *plan)
{
    for (size_t i = 0; i < plan->n; i++) {
        free(plan->d[i].query);
        free(plan->d[i].body);
    }
    plan->n = 0;
}

/* The index of the webhook with key in the (key-ordered) list. */
static size_t webhook_index(hookd_webhook *const *whs, size_t n, int64_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (whs[mid]->key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Resolves an item's contact: by id through the cache, or by merging. */
static int resolve(sq_store *s, const hookd_ingest_item *it, sq_contact **sc)
{
    bool created;
    if (it->contact_id)
        return sq_contact_by_id(s, it->contact_id, sc);
    return sq_contact_merge(s, it->merge, it->created_ms, sc, &created);
}

static int ingest_items(sq_store *s, ingest_cmd *c, hookd_webhook *const *whs, size_t n_wh,
                        hookd_plan *plan, int64_t *opened)
{
    hookd_ingest *in = c->in;
    for (size_t i = 0; i < in->n; i++) {
        hookd_ingest_item *it = &in->items[i];
        int rc;
        if (it->activity_id) {
            if ((rc = record_activity(&s->w, it)) < 0)
                return rc;
            if ((it->duplicate = rc == 1))
                continue;
        }
        sq_contact *sc = NULL;
        if ((rc = resolve(s, it, &sc)) != 0) {
            in->failed_index = i;
            return rc;
        }
        if ((rc = in->plan(in->ctx, i, sc->person, sc->account, whs, n_wh, plan)) != 0)
            return rc;
        for (size_t k = 0; k < plan->n && rc == 0; k++) {
            opened[webhook_index(whs, n_wh, plan->d[k].webhook->key)]++;
            rc = store_delivery(s, c, &plan->d[k], sc->person);
        }
        plan_clear(plan);
        if (rc)
            return rc;
    }
    return 0;
}

static int ingest_run(sq_store *s, sq_cmd *cmd)
{
    ingest_cmd *c = (ingest_cmd *)cmd;
    hookd_webhook *const *whs;
    size_t n_wh;
    int rc = sq_webhooks_current(s, &whs, &n_wh);
    if (rc == 0 && c->in->check)
        rc = c->in->check(c->in->ctx, whs, n_wh);
    if (rc)
        return rc;
    hookd_plan plan = {.skipped = calloc(n_wh ? n_wh : 1, sizeof(int))};
    int64_t *opened = calloc(n_wh ? n_wh : 1, sizeof *opened);
    if (!plan.skipped || !opened)
        rc = HOOKD_ENOMEM;
    if (rc == 0)
        rc = ingest_items(s, c, whs, n_wh, &plan, opened);
    for (size_t w = 0; rc == 0 && w < n_wh; w++)
        rc = sq_counts_add(&s->w, whs[w]->key, opened[w], plan.skipped[w]);
    plan_clear(&plan);
    free(plan.d);
    free(plan.skipped);
    free(opened);
    if (rc) {
        jobs_free(c->jobs, c->n_jobs);
        c->jobs = NULL;
        c->n_jobs = c->cap_jobs = 0;
    }
    return rc;
}

static void ingest_after(sq_store *s, sq_cmd *cmd)
{
    ingest_cmd *c = (ingest_cmd *)cmd;
    if (c->n_jobs && s->base.listener.fresh) {
        s->base.listener.fresh(s->base.listener.ctx, c->jobs, c->n_jobs);
        free(c->jobs); /* the listener took every job's strings */
    } else {
        jobs_free(c->jobs, c->n_jobs);
    }
    c->jobs = NULL;
    c->n_jobs = 0;
}

int sq_ingest(hookd_store *st, hookd_ingest *in)
{
    ingest_cmd c = {.base.run = ingest_run, .base.after = ingest_after, .in = in};
    int rc = sq_submit(SQ(st), &c.base);
    jobs_free(c.jobs, c.n_jobs); /* what the listener did not take: after a failed commit */
    return rc;
}

/* ---- the engine's reads -------------------------------------------------------- */

/* Where a read of due deliveries stands: first the scheduled ones by
 * (next_at, seq), then the fresh ones by seq (cursor.next_at FRESH). */
#define FRESH INT64_MAX

static const char SQL_DUE_SCHEDULED[] =
    "SELECT s.seq, d.id, s.state, s.attempts, s.next_at, d.method, d.query, d.body, d.msg_id "
    "FROM delivery_state s JOIN deliveries d ON d.seq = s.seq WHERE s.webhook = ?1 AND "
    "s.next_at IS NOT NULL AND s.next_at <= ?2 AND (s.next_at, s.seq) > (?3, ?4) AND "
    "s.seq <= ?5 ORDER BY s.next_at, s.seq LIMIT ?6";
/* ?7: the state of a fresh delivery (?2 and ?3 are left unused). */
static const char SQL_DUE_FRESH[] =
    "SELECT s.seq, d.id, s.state, s.attempts, d.created_at, d.method, d.query, d.body, d.msg_id "
    "FROM delivery_state s JOIN deliveries d ON d.seq = s.seq WHERE s.webhook = ?1 AND "
    "s.state = ?7 AND s.next_at IS NULL AND s.seq > ?4 AND s.seq <= ?5 "
    "ORDER BY s.seq LIMIT ?6";

/* Reads up to limit rows of one phase into jobs[*count…]; moves the cursor. */
static int due_rows(sq_conn *c, const char *sql, int64_t key, int64_t now_ms,
                    hookd_due_cursor *cursor, int64_t max_seq, int limit, hookd_job *jobs,
                    size_t *count)
{
    sqlite3_stmt *q = sq_stmt(c, sql);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_int64(q, 1, key);
    sqlite3_bind_int64(q, 2, now_ms);
    sqlite3_bind_int64(q, 3, cursor->next_at);
    sqlite3_bind_int64(q, 4, cursor->seq);
    sqlite3_bind_int64(q, 5, max_seq);
    sqlite3_bind_int(q, 6, limit);
    sqlite3_bind_int(q, 7, HOOKD_DS_PENDING);
    int rc = 0, step = SQLITE_DONE, n = 0;
    while (n < limit && (step = sqlite3_step(q)) == SQLITE_ROW) {
        hookd_job *j = &jobs[(*count)++];
        n++;
        j->seq = sqlite3_column_int64(q, 0);
        sq_column_id(q, 1, j->id);
        j->webhook = key;
        j->state = (hookd_delivery_state)sqlite3_column_int(q, 2);
        j->attempts = sqlite3_column_int(q, 3);
        j->next_at = sqlite3_column_int64(q, 4);
        j->method = (hookd_method)sqlite3_column_int(q, 5);
        j->query = sq_column_strdup(q, 6);
        if (sqlite3_column_type(q, 8) != SQLITE_NULL)
            sq_column_id(q, 8, j->msg_id);
        if ((rc = sq_column_body(q, 7, &j->body, &j->body_len)) != 0)
            break;
        if (sqlite3_column_type(q, 6) != SQLITE_NULL && !j->query) {
            rc = HOOKD_ENOMEM;
            break;
        }
        cursor->seq = j->seq;
        if (sql == SQL_DUE_SCHEDULED)
            cursor->next_at = j->next_at;
    }
    if (rc == 0 && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = sq_rc(c->db, step);
    sqlite3_reset(q);
    return rc;
}

int sq_due(hookd_store *st, int64_t key, int64_t now_ms, hookd_due_cursor *cursor,
           int64_t max_seq, int limit, hookd_job **out, size_t *n)
{
    sq_store *s = SQ(st);
    hookd_job *jobs = calloc((size_t)(limit > 0 ? limit : 1), sizeof *jobs);
    size_t count = 0;
    if (!jobs)
        return HOOKD_ENOMEM;
    sq_conn *c = sq_reader_get(s);
    int rc = 0;
    /* Scheduled ones first (retries have waited longest), then fresh. */
    if (cursor->next_at != FRESH) {
        rc = due_rows(c, SQL_DUE_SCHEDULED, key, now_ms, cursor, max_seq, limit, jobs, &count);
        if (rc == 0 && (int)count < limit)
            *cursor = (hookd_due_cursor){FRESH, 0};
    }
    if (rc == 0 && (int)count < limit)
        rc = due_rows(c, SQL_DUE_FRESH, key, now_ms, cursor, max_seq, limit - (int)count, jobs,
                      &count);
    sq_reader_put(s, c);
    if (rc) {
        jobs_free(jobs, count);
        return rc;
    }
    *out = jobs;
    *n = count;
    return 0;
}

/* Runs a one-number query with up to two int64 parameters on a reader. */
static int read_number(sq_store *s, const char *sql, int64_t a, int64_t b, int64_t *out)
{
    sq_conn *c = sq_reader_get(s);
    sqlite3_stmt *q = sq_stmt(c, sql);
    int rc = HOOKD_EUNAVAIL;
    if (q) {
        if (sqlite3_bind_parameter_count(q) >= 1)
            sqlite3_bind_int64(q, 1, a);
        if (sqlite3_bind_parameter_count(q) >= 2)
            sqlite3_bind_int64(q, 2, b);
        int step = sqlite3_step(q);
        if (step == SQLITE_ROW) {
            *out = sqlite3_column_int64(q, 0); /* NULL reads as 0: none */
            rc = 0;
        } else {
            rc = sq_rc(c->db, step);
        }
    }
    sq_reader_put(s, c);
    return rc;
}

int sq_next_due(hookd_store *st, int64_t key, int64_t now_ms, int64_t *when_ms)
{
    static const char SQL[] =
        "SELECT MIN(next_at) FROM delivery_state WHERE webhook = ?1 AND next_at > ?2";
    return read_number(SQ(st), SQL, key, now_ms, when_ms);
}

int sq_max_seq(hookd_store *st, int64_t *seq)
{
    static const char SQL[] = "SELECT MAX(seq) FROM delivery_state";
    return read_number(SQ(st), SQL, 0, 0, seq);
}

/* ---- outcomes ---------------------------------------------------------------- */

static const char SQL_STATE_OF[] = "SELECT state, attempts FROM delivery_state WHERE seq = ?";

/* The last attempt moves to the history before the next overwrites it. */
static int push_history(sq_conn *c, int64_t seq)
{
    static const char SQL[] =
        "INSERT OR REPLACE INTO attempts(seq, n, time, status, error, duration_ms, response) "
        "SELECT seq, attempts, last_at, status, error, duration_ms, response FROM "
        "delivery_state WHERE seq = ? AND attempts > 0";
    sqlite3_stmt *q = sq_stmt(c, SQL);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_int64(q, 1, seq);
    return sq_step_done(c, q);
}

/* Applies one outcome if the delivery is still in from; 1 if it was. */
static int apply_outcome(sq_conn *c, const hookd_outcome *o, int from, int to)
{
    static const char SQL[] =
        "UPDATE delivery_state SET state = ?3, attempts = attempts + 1, next_at = ?4, "
        "finished_at = ?5, last_at = ?6, status = ?7, duration_ms = ?8, error = ?9, "
        "response = ?10, hver = ?11, signature = ?12 WHERE seq = ?1 AND state = ?2";
    sqlite3_stmt *q = sq_stmt(c, SQL);
    if (!q)
        return HOOKD_EUNAVAIL;
    int64_t finish = o->time_ms + o->duration_ms;
    sqlite3_bind_int64(q, 1, o->seq);
    sqlite3_bind_int(q, 2, from);
    sqlite3_bind_int(q, 3, to);
    sq_bind_int64_or_null(q, 4, o->next_at, !hookd_ds_waiting(to));
    sq_bind_int64_or_null(q, 5, finish, !hookd_ds_finished(to));
    sqlite3_bind_int64(q, 6, o->time_ms);
    sq_bind_int64_or_null(q, 7, o->status_code, o->status_code == 0);
    sqlite3_bind_int64(q, 8, o->duration_ms);
    sq_bind_text(q, 9, o->error);
    sq_bind_text(q, 10, o->response_body);
    sqlite3_bind_int64(q, 11, (sqlite3_int64)o->version);
    sq_bind_text(q, 12, o->signature);
    int rc = sq_step_done(c, q);
    return rc ? rc : sqlite3_changes(c->db) == 1;
}

/* The delivery's state now, or HOOKD_DS_REFUSED when it is gone. */
static int state_now(sq_conn *c, int64_t seq, int *state)
{
    sqlite3_stmt *q = sq_stmt(c, SQL_STATE_OF);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_int64(q, 1, seq);
    int step = sqlite3_step(q);
    *state = step == SQLITE_ROW ? sqlite3_column_int(q, 0) : HOOKD_DS_REFUSED;
    sqlite3_reset(q);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : sq_rc(c->db, step);
}

/* Records one outcome: the fast way when the delivery is still where the
 * attempt found it, else from whatever state it moved to meanwhile. */
static int record_one(sq_conn *c, const hookd_outcome *o, hookd_tally *t, int *out_state,
                      int *out_from)
{
    int rc;
    /* o->attempts spares a first attempt the history statement. It is what
     * the engine read, so it only holds while the delivery is still in
     * o->from: once it moved (the same outcome recorded again), the row
     * decides (push_history keeps nothing when it has no attempt). */
    bool pushed = o->attempts > 0;
    if (pushed && (rc = push_history(c, o->seq)) != 0)
        return rc;
    int from = (int)o->from;
    int to = hookd_ds_next(o->from, o->event, true);
    for (int tries = 0; tries < 2; tries++) {
        if (to == HOOKD_DS_REFUSED)
            to = from; /* never refused for outcomes; keep the state if it were */
        if ((rc = apply_outcome(c, o, from, to)) < 0)
            return rc;
        if (rc == 1) {
            hookd_ds_effect e = hookd_ds_effect_of((hookd_delivery_state)from, o->event, to);
            *out_state = to;
            *out_from = from;
            return hookd_tally_add(t, o->webhook, o->time_ms + o->duration_ms, &e);
        }
        if ((rc = state_now(c, o->seq, &from)) != 0)
            return rc;
        if (from == HOOKD_DS_REFUSED)
            break; /* gone (pruned or never stored) */
        if (!pushed && (rc = push_history(c, o->seq)) != 0)
            return rc;
        pushed = true;
        to = hookd_ds_next((hookd_delivery_state)from, o->event, true);
    }
    *out_state = HOOKD_DS_REFUSED;
    return 0;
}

typedef struct outcomes_cmd {
    sq_cmd base;
    const hookd_outcome *o;
    size_t n;
    int *states;
    hookd_streak *streaks;
} outcomes_cmd;

static int outcomes_run(sq_store *s, sq_cmd *cmd)
{
    outcomes_cmd *c = (outcomes_cmd *)cmd;
    hookd_tally t = {0};
    int rc = 0;
    for (size_t i = 0; i < c->n && rc == 0; i++) {
        int state = HOOKD_DS_REFUSED, from = HOOKD_DS_REFUSED;
        const hookd_outcome *o = &c->o[i];
        rc = record_one(&s->w, o, &t, &state, &from);
        if (c->states)
            c->states[i] = state;
        /* An answer is the endpoint's, whatever became of its delivery. */
        if (rc == 0)
            rc = hookd_tally_attempt(&t, o->webhook, o->event == HOOKD_EV_SUCCEEDED, o->time_ms);
        if (rc == 0 && o->contact_fields && state == HOOKD_DS_SUCCEEDED &&
            from != HOOKD_DS_SUCCEEDED)
            rc = sq_person_update_of(s, o->seq, o->contact_fields, o->time_ms + o->duration_ms);
    }
    if (rc == 0)
        rc = tally_write(&s->w, &t);
    for (size_t i = 0; rc == 0 && c->streaks && i < c->n; i++)
        c->streaks[i] = hookd_tally_streak_of(&t, c->o[i].webhook);
    hookd_tally_clear(&t);
    return rc;
}

int sq_record_outcomes(hookd_store *st, const hookd_outcome *o, size_t n, int *states,
                       hookd_streak *streaks)
{
    outcomes_cmd c = {.base.run = outcomes_run, .o = o, .n = n, .states = states,
                      .streaks = streaks};
    return n ? sq_submit(SQ(st), &c.base) : 0;
}

/* ---- retry now ----------------------------------------------------------------- */

typedef struct retry_cmd {
    sq_cmd base;
    const char *webhook_id, *delivery_id;
    int64_t now_ms;
    int64_t key;
} retry_cmd;

/* A delivery as a call names it (its id and its webhook's), for the
 * commands that move one: retry and resend. */
typedef struct named_delivery {
    int64_t seq, key;
    int state, attempts, kind;
} named_delivery;

static int find_named(sq_store *s, const char *webhook_id, const char *delivery_id,
                      named_delivery *out)
{
    static const char SQL[] =
        "SELECT s.seq, s.state, s.attempts, s.webhook, d.kind FROM delivery_state s JOIN "
        "deliveries d ON d.seq = s.seq JOIN webhooks w ON w.key = s.webhook WHERE d.id = ?1 "
        "AND w.id = ?2";
    sqlite3_stmt *q = sq_stmt(&s->w, SQL);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_text(q, 1, delivery_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, webhook_id, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    *out = (named_delivery){.seq = sqlite3_column_int64(q, 0),
                            .state = sqlite3_column_int(q, 1),
                            .attempts = sqlite3_column_int(q, 2),
                            .key = sqlite3_column_int64(q, 3),
                            .kind = sqlite3_column_int(q, 4)};
    sqlite3_reset(q);
    if (step != SQLITE_ROW)
        return step == SQLITE_DONE ? HOOKD_ENOTFOUND : sq_rc(s->w.db, step);
    return 0;
}

static int retry_run(sq_store *s, sq_cmd *cmd)
{
    static const char SQL_SET[] = "UPDATE delivery_state SET state = ?3, next_at = ?4, "
                                  "finished_at = NULL WHERE seq = ?1 AND state = ?2";
    retry_cmd *c = (retry_cmd *)cmd;
    named_delivery d;
    int rc = find_named(s, c->webhook_id, c->delivery_id, &d);
    if (rc)
        return rc;
    c->key = d.key;
    int64_t seq = d.seq;
    int from = d.state, attempts = d.attempts;
    sqlite3_stmt *q;
    int to = hookd_ds_next((hookd_delivery_state)from, HOOKD_EV_RETRY_NOW, attempts > 0);
    if (to == HOOKD_DS_REFUSED)
        return HOOKD_ECONFLICT;
    if (!(q = sq_stmt(&s->w, SQL_SET)))
        return HOOKD_EUNAVAIL;
    sqlite3_bind_int64(q, 1, seq);
    sqlite3_bind_int(q, 2, from);
    sqlite3_bind_int(q, 3, to);
    sq_bind_int64_or_null(q, 4, c->now_ms, !hookd_ds_waiting(to));
    if ((rc = sq_step_done(&s->w, q)) != 0)
        return rc;
    hookd_ds_effect e = hookd_ds_effect_of((hookd_delivery_state)from, HOOKD_EV_RETRY_NOW, to);
    return sq_counts_add(&s->w, c->key, e.open, 0);
}

static void retry_after(sq_store *s, sq_cmd *cmd)
{
    if (s->base.listener.due)
        s->base.listener.due(s->base.listener.ctx, ((retry_cmd *)cmd)->key);
}

int sq_delivery_retry(hookd_store *st, const char *webhook_id, const char *delivery_id,
                      int64_t now_ms)
{
    retry_cmd c = {.base.run = retry_run,
                   .base.after = retry_after,
                   .webhook_id = webhook_id,
                   .delivery_id = delivery_id,
                   .now_ms = now_ms};
    return sq_submit(SQ(st), &c.base);
}

/* The key of the webhook id into *key; ENOTFOUND for none. */
static int read_key(sq_store *s, const char *sql, const char *id, int64_t *key)
{
    sqlite3_stmt *q = sq_stmt(&s->w, sql);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    *key = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    if (step != SQLITE_ROW)
        return step == SQLITE_DONE ? HOOKD_ENOTFOUND : sq_rc(s->w.db, step);
    return 0;
}

/* ---- resend ------------------------------------------------------------------ */

typedef struct resend_cmd {
    sq_cmd base;
    const char *webhook_id, *delivery_id, *new_id;
    int64_t now_ms;
    int64_t key;
    hookd_job job; /* the new delivery, for the listener's fresh */
} resend_cmd;

/* Reads the new delivery seq as the engine needs it into j. */
static int resend_job(sq_conn *c, int64_t seq, int64_t key, hookd_job *j)
{
    static const char SQL[] = "SELECT id, created_at, method, query, body, msg_id FROM deliveries "
                              "WHERE seq = ?1";
    sqlite3_stmt *q = sq_stmt(c, SQL);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_int64(q, 1, seq);
    int step = sqlite3_step(q), rc = 0;
    if (step == SQLITE_ROW) {
        *j = (hookd_job){.seq = seq, .webhook = key, .state = HOOKD_DS_PENDING};
        sq_column_id(q, 0, j->id);
        j->next_at = sqlite3_column_int64(q, 1);
        j->method = (hookd_method)sqlite3_column_int(q, 2);
        j->query = sq_column_strdup(q, 3);
        if (sqlite3_column_type(q, 3) != SQLITE_NULL && !j->query)
            rc = HOOKD_ENOMEM;
        if (rc == 0)
            rc = sq_column_body(q, 4, &j->body, &j->body_len);
        if (sqlite3_column_type(q, 5) != SQLITE_NULL)
            sq_column_id(q, 5, j->msg_id);
    } else {
        rc = step == SQLITE_DONE ? HOOKD_ENOTFOUND : sq_rc(c->db, step);
    }
    sqlite3_reset(q);
    if (rc)
        hookd_job_clear(j);
    return rc;
}

static int resend_run(sq_store *s, sq_cmd *cmd)
{
    static const char SQL_COPY[] =
        "INSERT INTO deliveries(id, kind, method, person, activity_id, field_id, created_at, "
        "query, body, msg_id) SELECT ?1, kind, method, person, activity_id, field_id, ?2, query, "
        "body, COALESCE(msg_id, id) FROM deliveries WHERE seq = ?3";
    /* next_at NULL: a fresh delivery, handed to the engine as ingest does. */
    static const char SQL_STATE[] = "INSERT INTO delivery_state(seq, webhook, state, attempts) "
                                    "VALUES (?1, ?2, ?3, 0)";
    resend_cmd *c = (resend_cmd *)cmd;
    named_delivery d;
    int rc = find_named(s, c->webhook_id, c->delivery_id, &d);
    if (rc)
        return rc;
    c->key = d.key;
    int64_t seq = d.seq;
    int state = d.state, kind = d.kind;
    sqlite3_stmt *q;
    /* A test send counts nowhere and is not sent again as a delivery. */
    if (!hookd_ds_resendable(state) || kind == HOOKD_KIND_TEST)
        return HOOKD_ECONFLICT;
    if (!(q = sq_stmt(&s->w, SQL_COPY)))
        return HOOKD_EUNAVAIL;
    sqlite3_bind_text(q, 1, c->new_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, c->now_ms);
    sqlite3_bind_int64(q, 3, seq);
    if ((rc = sq_step_done(&s->w, q)) != 0)
        return rc;
    int64_t fresh = sqlite3_last_insert_rowid(s->w.db);
    if (!(q = sq_stmt(&s->w, SQL_STATE)))
        return HOOKD_EUNAVAIL;
    sqlite3_bind_int64(q, 1, fresh);
    sqlite3_bind_int64(q, 2, c->key);
    sqlite3_bind_int(q, 3, HOOKD_DS_PENDING);
    if ((rc = sq_step_done(&s->w, q)) ||
        (rc = sq_counts_add(&s->w, c->key, hookd_ds_open(HOOKD_DS_PENDING), 0)))
        return rc;
    return resend_job(&s->w, fresh, c->key, &c->job);
}

static void resend_after(sq_store *s, sq_cmd *cmd)
{
    resend_cmd *c = (resend_cmd *)cmd;
    if (s->base.listener.fresh)
        s->base.listener.fresh(s->base.listener.ctx, &c->job, 1); /* takes its strings */
    else
        hookd_job_clear(&c->job);
    c->job = (hookd_job){0};
}

int sq_delivery_resend(hookd_store *st, const char *webhook_id, const char *delivery_id,
                       const char *new_id, int64_t now_ms)
{
    resend_cmd c = {.base.run = resend_run,
                    .base.after = resend_after,
                    .webhook_id = webhook_id,
                    .delivery_id = delivery_id,
                    .new_id = new_id,
                    .now_ms = now_ms};
    int rc = sq_submit(SQ(st), &c.base);
    hookd_job_clear(&c.job); /* a command that failed after reading it */
    return rc;
}

/* ---- recover ----------------------------------------------------------------- */

typedef struct recover_cmd {
    sq_cmd base;
    const char *webhook_id;
    int64_t since_ms, until_ms, now_ms;
    int64_t key, recovered;
} recover_cmd;

static int recover_run(sq_store *s, sq_cmd *cmd)
{
    static const char SQL_KEY[] = "SELECT key FROM webhooks WHERE id = ?1";
    static const char SQL_SET[] =
        "UPDATE delivery_state SET state = ?3, next_at = ?4, finished_at = NULL "
        "WHERE webhook = ?1 AND state = ?2 AND finished_at >= ?5 AND finished_at < ?6 "
        "AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.seq = delivery_state.seq AND d.kind = ?7)";
    recover_cmd *c = (recover_cmd *)cmd;
    int rc = read_key(s, SQL_KEY, c->webhook_id, &c->key);
    if (rc)
        return rc;
    /* Only failed deliveries are recovered; where they go is the table's. */
    int from = HOOKD_DS_FAILED;
    int to = hookd_ds_next(HOOKD_DS_FAILED, HOOKD_EV_RETRY_NOW, true);
    if (to == HOOKD_DS_REFUSED || to == from)
        return 0;
    sqlite3_stmt *q = sq_stmt(&s->w, SQL_SET);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_int64(q, 1, c->key);
    sqlite3_bind_int(q, 2, from);
    sqlite3_bind_int(q, 3, to);
    sq_bind_int64_or_null(q, 4, c->now_ms, !hookd_ds_waiting(to));
    sqlite3_bind_int64(q, 5, c->since_ms);
    sqlite3_bind_int64(q, 6, c->until_ms);
    sqlite3_bind_int(q, 7, HOOKD_KIND_TEST);
    if ((rc = sq_step_done(&s->w, q)))
        return rc;
    c->recovered = sqlite3_changes(s->w.db);
    hookd_ds_effect e = hookd_ds_effect_of(HOOKD_DS_FAILED, HOOKD_EV_RETRY_NOW, to);
    return sq_counts_add(&s->w, c->key, (int64_t)e.open * c->recovered, 0);
}

static void recover_after(sq_store *s, sq_cmd *cmd)
{
    recover_cmd *c = (recover_cmd *)cmd;
    if (c->recovered && s->base.listener.due)
        s->base.listener.due(s->base.listener.ctx, c->key);
}

int sq_recover(hookd_store *st, const char *webhook_id, int64_t since_ms, int64_t until_ms,
               int64_t now_ms, int64_t *recovered)
{
    recover_cmd c = {.base.run = recover_run,
                     .base.after = recover_after,
                     .webhook_id = webhook_id,
                     .since_ms = since_ms,
                     .until_ms = until_ms,
                     .now_ms = now_ms};
    int rc = sq_submit(SQ(st), &c.base);
    if (rc == 0)
        *recovered = c.recovered;
    return rc;
}

/* ---- test sends -------------------------------------------------------------- */

typedef struct test_cmd {
    sq_cmd base;
    const hookd_test_record *t;
} test_cmd;

int sq_test_write(sq_store *s, const hookd_test_record *t)
{
    static const char SQL_D[] =
        "INSERT INTO deliveries(id, kind, method, created_at, query, body) VALUES(?, ?, ?, ?, ?, ?)";
    static const char SQL_S[] =
        "INSERT INTO delivery_state(seq, webhook, state, attempts, finished_at, last_at, status, "
        "duration_ms, error, response, hver, signature) VALUES(?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)";
    const hookd_outcome *a = &t->attempt;
    sqlite3_stmt *q = sq_stmt(&s->w, SQL_D);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_text(q, 1, t->id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, HOOKD_KIND_TEST);
    sqlite3_bind_int(q, 3, (int)t->method);
    sqlite3_bind_int64(q, 4, t->created_ms);
    sq_bind_text(q, 5, t->query);
    int rc = sq_bind_body(q, 6, t->body, strlen(t->body));
    if (rc == 0)
        rc = sq_step_done(&s->w, q);
    if (rc || !(q = sq_stmt(&s->w, SQL_S)))
        return rc ? rc : HOOKD_EUNAVAIL;
    sqlite3_bind_int64(q, 1, sqlite3_last_insert_rowid(s->w.db));
    sqlite3_bind_int64(q, 2, t->webhook->key);
    sqlite3_bind_int(q, 3, (int)t->state);
    sqlite3_bind_int64(q, 4, a->time_ms + a->duration_ms);
    sqlite3_bind_int64(q, 5, a->time_ms);
    sq_bind_int64_or_null(q, 6, a->status_code, a->status_code == 0);
    sqlite3_bind_int64(q, 7, a->duration_ms);
    sq_bind_text(q, 8, a->error);
    sq_bind_text(q, 9, a->response_body);
    sqlite3_bind_int64(q, 10, (sqlite3_int64)t->webhook->version);
    sq_bind_text(q, 11, a->signature);
    return sq_step_done(&s->w, q);
}

static int test_run(sq_store *s, sq_cmd *cmd)
{
    return sq_test_write(s, ((test_cmd *)cmd)->t);
}

int sq_record_test(hookd_store *st, const hookd_test_record *t)
{
    test_cmd c = {.base.run = test_run, .t = t};
    return sq_submit(SQ(st), &c.base);
}

/* ---- pruning ------------------------------------------------------------------ */

typedef struct prune_cmd {
    sq_cmd base;
    int64_t before_ms;
    int limit;
    int deleted;
} prune_cmd;

static int delete_delivery(sq_conn *c, int64_t seq)
{
    static const char *const SQL[] = {
        "DELETE FROM deliveries WHERE seq = ?",
        "DELETE FROM delivery_state WHERE seq = ?",
        "DELETE FROM attempts WHERE seq = ?",
    };
    for (size_t i = 0; i < sizeof SQL / sizeof SQL[0]; i++) {
        sqlite3_stmt *q = sq_stmt(c, SQL[i]);
        if (!q)
            return HOOKD_EUNAVAIL;
        sqlite3_bind_int64(q, 1, seq);
        int rc = sq_step_done(c, q);
        if (rc)
            return rc;
    }
    return 0;
}

/* Walks deliveries oldest first: those finished before the cutoff go; the
 * walk ends at the first one made after it (it cannot have finished
 * before). Long-waiting old ones are stepped over, so no index on
 * finished_at is kept for pruning alone. */
static int prune_run(sq_store *s, sq_cmd *cmd)
{
    static const char SQL_PAGE[] =
        "SELECT s.seq, s.state, s.finished_at, d.created_at FROM delivery_state s JOIN "
        "deliveries d ON d.seq = s.seq WHERE s.seq > ? ORDER BY s.seq LIMIT ?";
    static const char SQL_HOURS[] = "DELETE FROM webhook_hours WHERE hour < ?";
    prune_cmd *c = (prune_cmd *)cmd;
    int64_t after = 0, doomed[PRUNE_PAGE];
    bool more = true;
    int rc = 0;
    while (more && c->deleted < c->limit && rc == 0) {
        sqlite3_stmt *q = sq_stmt(&s->w, SQL_PAGE);
        if (!q)
            return HOOKD_EUNAVAIL;
        sqlite3_bind_int64(q, 1, after);
        sqlite3_bind_int(q, 2, PRUNE_PAGE);
        int n = 0, rows = 0, step;
        while ((step = sqlite3_step(q)) == SQLITE_ROW) {
            rows++;
            after = sqlite3_column_int64(q, 0);
            if (sqlite3_column_int64(q, 3) >= c->before_ms) {
                more = false;
                break;
            }
            if (hookd_ds_finished(sqlite3_column_int(q, 1)) &&
                sqlite3_column_type(q, 2) != SQLITE_NULL &&
                sqlite3_column_int64(q, 2) < c->before_ms && c->deleted + n < c->limit)
                doomed[n++] = after;
        }
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            rc = sq_rc(s->w.db, step);
        sqlite3_reset(q);
        more = more && rows == PRUNE_PAGE;
        for (int i = 0; i < n && rc == 0; i++)
            rc = delete_delivery(&s->w, doomed[i]);
        c->deleted += n;
    }
    sqlite3_stmt *q = rc ? NULL : sq_stmt(&s->w, SQL_HOURS);
    if (q) {
        sqlite3_bind_int64(q, 1, c->before_ms - (int64_t)HOOKD_HOURS_KEPT * HOOKD_HOUR_MS);
        rc = sq_step_done(&s->w, q);
    }
    return rc;
}

int sq_prune(hookd_store *st, int64_t before_ms, int limit, int *deleted)
{
    prune_cmd c = {.base.run = prune_run, .before_ms = before_ms, .limit = limit};
    int rc = sq_submit(SQ(st), &c.base);
    *deleted = rc == 0 ? c.deleted : 0;
    return rc;
}

/* ---- the log ------------------------------------------------------------------- */

#define LOG_COLS                                                                                   \
    "s.seq, d.id, d.kind, d.activity_id, d.field_id, s.state, s.attempts, d.created_at, "         \
    "s.next_at, d.method, d.query, d.body, s.last_at, s.status, s.error, s.response, "            \
    "s.duration_ms, s.signature, v.url, v.headers, COALESCE(d.msg_id, d.id) "                    \
    "FROM delivery_state s JOIN deliveries d ON "                                                 \
    "d.seq = s.seq LEFT JOIN webhook_versions v ON v.webhook = s.webhook AND v.version = s.hver "

static hookd_delivery *row_delivery(sqlite3_stmt *q)
{
    hookd_delivery *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->seq = sqlite3_column_int64(q, 0);
    sq_column_id(q, 1, d->id);
    d->kind = (hookd_delivery_kind)sqlite3_column_int(q, 2);
    d->activity_id = sq_column_strdup(q, 3);
    d->field_id = sq_column_strdup(q, 4);
    d->state = (hookd_delivery_state)sqlite3_column_int(q, 5);
    d->attempts = sqlite3_column_int(q, 6);
    d->created_at = sqlite3_column_int64(q, 7);
    d->next_attempt_at = sqlite3_column_int64(q, 8);
    /* A fresh delivery keeps no next_at: it is due since it was made. */
    if (!d->next_attempt_at && d->state == HOOKD_DS_PENDING && d->attempts == 0)
        d->next_attempt_at = d->created_at;
    d->method = (hookd_method)sqlite3_column_int(q, 9);
    d->query = sq_column_strdup(q, 10);
    size_t body_len;
    if (sq_column_body(q, 11, &d->body, &body_len) != 0)
        d->body = NULL;
    d->last_at = sqlite3_column_int64(q, 12);
    d->status_code = sqlite3_column_int(q, 13);
    d->error = sq_column_strdup(q, 14);
    d->response_body = sq_column_strdup(q, 15);
    d->duration_ms = sqlite3_column_type(q, 16) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 16);
    d->signature = sq_column_strdup(q, 17);
    d->sent_url = sq_column_strdup(q, 18);
    d->headers = sq_column_strdup(q, 19);
    sq_column_id(q, 20, d->msg_id);
    if (!d->body) {
        hookd_delivery_free(d);
        return NULL;
    }
    return d;
}

static int cmp_seq_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x < y) - (x > y);
}

/* The seqs of the page: the newest limit+1 below cursor over every state
 * asked for, each state one range of the (webhook, state, seq) index. */
static int page_seqs(sq_conn *c, int64_t key, const hookd_delivery_state *states, size_t n_states,
                     int limit, int64_t cursor, int64_t *seqs, size_t *n)
{
    static const char SQL[] = "SELECT seq FROM delivery_state WHERE webhook = ?1 AND state = ?2 "
                              "AND seq < ?3 ORDER BY seq DESC LIMIT ?4";
    *n = 0;
    for (size_t i = 0; i < n_states; i++) {
        sqlite3_stmt *q = sq_stmt(c, SQL);
        if (!q)
            return HOOKD_EUNAVAIL;
        sqlite3_bind_int64(q, 1, key);
        sqlite3_bind_int(q, 2, (int)states[i]);
        sqlite3_bind_int64(q, 3, cursor > 0 ? cursor : INT64_MAX);
        sqlite3_bind_int(q, 4, limit + 1);
        int step;
        while ((step = sqlite3_step(q)) == SQLITE_ROW)
            seqs[(*n)++] = sqlite3_column_int64(q, 0);
        sqlite3_reset(q);
        if (step != SQLITE_DONE)
            return sq_rc(c->db, step);
    }
    qsort(seqs, *n, sizeof *seqs, cmp_seq_desc);
    if (*n > (size_t)limit + 1)
        *n = (size_t)limit + 1;
    return 0;
}

/* Reads the rows of seqs[0..n) into out, stopping after the one that takes
 * the page past HOOKD_STORE_PAGE_BYTES; *read says how many it read. */
static int rows_by_seq(sq_conn *c, const int64_t *seqs, size_t n, hookd_delivery **out,
                       size_t *read)
{
    static const char SQL[] = "SELECT " LOG_COLS "WHERE s.seq = ?";
    size_t bytes = 0;
    *read = 0;
    for (size_t i = 0; i < n && bytes < HOOKD_STORE_PAGE_BYTES; i++) {
        sqlite3_stmt *q = sq_stmt(c, SQL);
        if (!q)
            return HOOKD_EUNAVAIL;
        sqlite3_bind_int64(q, 1, seqs[i]);
        int step = sqlite3_step(q), rc = 0;
        if (step == SQLITE_ROW)
            rc = (out[i] = row_delivery(q)) ? 0 : HOOKD_ENOMEM;
        else
            rc = step == SQLITE_DONE ? HOOKD_EUNAVAIL : sq_rc(c->db, step);
        sqlite3_reset(q);
        if (rc)
            return rc;
        *read = i + 1;
        bytes += hookd_delivery_bytes(out[i]);
    }
    return 0;
}

int sq_delivery_list(hookd_store *st, int64_t key, const hookd_delivery_state *states,
                     size_t n_states, int limit, int64_t cursor, hookd_delivery ***out, size_t *n,
                     int64_t *next_cursor)
{
    int64_t *seqs = malloc(n_states * ((size_t)limit + 1) * sizeof *seqs);
    hookd_delivery **list = calloc((size_t)limit + 1, sizeof *list);
    size_t count = 0, read = 0;
    int rc = seqs && list ? 0 : HOOKD_ENOMEM;
    sq_store *s = SQ(st);
    sq_conn *c = sq_reader_get(s);
    /* Both steps read one snapshot: a row pruned or moved on between them
     * would fail the page or break its filter. */
    if (rc == 0 && (rc = sq_read_begin(c)) == 0) {
        rc = page_seqs(c, key, states, n_states, limit, cursor, seqs, &count);
        if (rc == 0)
            rc = rows_by_seq(c, seqs, count, list, &read);
        sq_read_end(c);
    }
    sq_reader_put(s, c);
    free(seqs);
    if (rc) {
        for (size_t i = 0; list && i < count; i++)
            hookd_delivery_free(list[i]);
        free(list);
        return rc;
    }
    *next_cursor = 0;
    if (read < count) {
        /* Cut short by bytes: the next page starts after the last read. */
        count = read;
        *next_cursor = list[read - 1]->seq;
    } else if (count > (size_t)limit) {
        hookd_delivery_free(list[limit]);
        count = (size_t)limit;
        *next_cursor = list[limit - 1]->seq;
    }
    *out = list;
    *n = count;
    return 0;
}

/* Every attempt of the delivery, oldest first: the history, then the last. */
static int attempts_of(sq_conn *c, const hookd_delivery *d, hookd_attempt **out, size_t *n)
{
    static const char SQL[] = "SELECT time, status, error, duration_ms, response FROM attempts "
                              "WHERE seq = ? ORDER BY n";
    sqlite3_stmt *q = sq_stmt(c, SQL);
    if (!q)
        return HOOKD_EUNAVAIL;
    hookd_attempt *att = calloc((size_t)d->attempts + 1, sizeof *att);
    size_t na = 0;
    int rc = att ? 0 : HOOKD_ENOMEM, step = SQLITE_DONE;
    sqlite3_bind_int64(q, 1, d->seq);
    /* The history holds at most attempts - 1 rows; room is kept for the last. */
    while (rc == 0 && na < (size_t)d->attempts && (step = sqlite3_step(q)) == SQLITE_ROW) {
        hookd_attempt *a = &att[na++];
        a->time_ms = sqlite3_column_int64(q, 0);
        a->status_code = sqlite3_column_int(q, 1);
        a->error = sq_column_strdup(q, 2);
        a->duration_ms = sqlite3_column_int64(q, 3);
        a->response_body = sq_column_strdup(q, 4);
    }
    if (rc == 0 && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = sq_rc(c->db, step);
    sqlite3_reset(q);
    if (rc == 0 && d->attempts > 0) {
        hookd_attempt *a = &att[na++];
        a->time_ms = d->last_at;
        a->status_code = d->status_code;
        a->duration_ms = d->duration_ms < 0 ? 0 : d->duration_ms;
        if ((d->error && !(a->error = strdup(d->error))) ||
            (d->response_body && !(a->response_body = strdup(d->response_body))))
            rc = HOOKD_ENOMEM;
    }
    if (rc) {
        hookd_attempts_free(att, na);
        return rc;
    }
    *out = att;
    *n = na;
    return 0;
}

int sq_delivery_get(hookd_store *st, int64_t key, const char *delivery_id, hookd_delivery **out,
                    hookd_attempt **attempts, size_t *n_attempts)
{
    static const char SQL[] = "SELECT " LOG_COLS "WHERE d.id = ?1 AND s.webhook = ?2";
    sq_store *s = SQ(st);
    sq_conn *c = sq_reader_get(s);
    hookd_delivery *d = NULL;
    /* The row and its attempts read one snapshot: an attempt recorded
     * between them would be listed twice. */
    int rc = sq_read_begin(c);
    if (rc) {
        sq_reader_put(s, c);
        return rc;
    }
    sqlite3_stmt *q = sq_stmt(c, SQL);
    rc = HOOKD_EUNAVAIL;
    if (q) {
        sqlite3_bind_text(q, 1, delivery_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, key);
        int step = sqlite3_step(q);
        if (step == SQLITE_ROW)
            rc = (d = row_delivery(q)) ? 0 : HOOKD_ENOMEM;
        else
            rc = step == SQLITE_DONE ? HOOKD_ENOTFOUND : sq_rc(c->db, step);
        sqlite3_reset(q);
    }
    if (rc == 0)
        rc = attempts_of(c, d, attempts, n_attempts);
    sq_read_end(c);
    sq_reader_put(s, c);
    if (rc) {
        hookd_delivery_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

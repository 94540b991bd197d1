/*
 * pg_deliveries.c — deliveries in the PostgreSQL backend: ingest, claims and
 * the engine's reads, outcomes, retry, test sends, pruning and the log.
 *
 * The rows are those of the SQLite backend (deliveries written once,
 * delivery_state narrow, attempts for all but the last), plus `queue`: one
 * row per waiting delivery with when it is due and who holds its claim
 * (pg_int.h). Finished deliveries have none, so claims never look at them.
 *
 * Every statement that can is one per batch: an ingest of a thousand
 * activities is a dozen statements (COPY for the bodies), a batch of
 * outcomes one statement plus the counters, a read of due deliveries one.
 * Every state change asks model/delivery_state.h for the new state and is
 * applied "if the state is still the one it was read in"; the counters of
 * the same transition move in the same transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_int.h"
#include "store/tally.h"
#include "util/lz.h"
#include "util/log.h"
#include "util/timeutil.h"

#define PRUNE_PAGE 256

static void jobs_free(hookd_job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hookd_job_clear(&jobs[i]);
    free(jobs);
}

/* "t"/"f" for a boolean parameter. */
static const char *pg_bool(bool v)
{
    return v ? "t" : "f";
}

/* ---- counters ------------------------------------------------------------------ */

int pg_streak_end(pg_conn *c, int64_t key)
{
    static const char SQL[] = "DELETE FROM webhook_streaks WHERE webhook = $1";
    pg_params p = {.n = 0};
    pg_p_int(&p, key);
    return pg_run(c, SQL, &p, NULL);
}

/* Writes the failures of the tally's streaks and sets what each leaves.
 * The successes ended their streaks in the batch statement already
 * (outcomes_batch), so what is added here after a success starts a new
 * row. */
static int streaks_write(pg_conn *c, hookd_tally *t)
{
    /* A webhook deleted meanwhile gets no row. */
    static const char SQL[] =
        "INSERT INTO webhook_streaks(webhook, since, failed) SELECT t.k, t.s, t.f "
        "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS t(k, s, f) "
        "WHERE EXISTS (SELECT 1 FROM webhooks w WHERE w.key = t.k) ORDER BY t.k "
        "ON CONFLICT (webhook) DO UPDATE SET since = LEAST(webhook_streaks.since, "
        "excluded.since), failed = webhook_streaks.failed + excluded.failed "
        "RETURNING webhook, since, failed";
    hookd_buf k = {0}, since = {0}, failed = {0};
    size_t n_failed = 0;
    pg_array_begin(&k);
    pg_array_begin(&since);
    pg_array_begin(&failed);
    for (size_t i = 0; i < t->n_streaks; i++) {
        hookd_tally_streak *r = &t->streaks[i];
        r->now = (hookd_streak){0, 0};
        if (r->failed) {
            pg_array_int(&k, r->key);
            pg_array_int(&since, r->since_ms);
            pg_array_int(&failed, r->failed);
            n_failed++;
        }
    }
    int rc = pg_array_end(&k);
    if (rc == 0)
        rc = pg_array_end(&since);
    if (rc == 0)
        rc = pg_array_end(&failed);
    PGresult *r = NULL;
    if (rc == 0 && n_failed) {
        pg_params p = {.n = 0};
        pg_p_text(&p, k.data);
        pg_p_text(&p, since.data);
        pg_p_text(&p, failed.data);
        rc = pg_run(c, SQL, &p, &r);
    }
    for (int row = 0; rc == 0 && r && row < PQntuples(r); row++) {
        int64_t key = pg_int(r, row, 0);
        for (size_t i = 0; i < t->n_streaks; i++)
            if (t->streaks[i].key == key)
                t->streaks[i].now = (hookd_streak){pg_int(r, row, 1), pg_int(r, row, 2)};
    }
    PQclear(r);
    hookd_buf_free(&k);
    hookd_buf_free(&since);
    hookd_buf_free(&failed);
    return rc;
}

/* Writes a tally's counters: open deltas per webhook in one statement,
 * counts by hour in another, in (key, hour) order. The caller clears it. */
static int tally_write(pg_conn *c, hookd_tally *t)
{
    hookd_tally_sort(t);
    int64_t *keys = malloc((t->n ? t->n : 1) * sizeof *keys);
    int64_t *open = malloc((t->n ? t->n : 1) * sizeof *open);
    pg_hour_row *hours = malloc((t->n ? t->n : 1) * sizeof *hours);
    size_t nk = 0, nh = 0;
    int rc = keys && open && hours ? 0 : HOOKD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < t->n; i++) {
        const hookd_tally_row *r = &t->rows[i];
        if (nk && keys[nk - 1] == r->key) {
            open[nk - 1] += r->open;
        } else {
            keys[nk] = r->key;
            open[nk++] = r->open;
        }
        if (r->hour)
            hours[nh++] = (pg_hour_row){.key = r->key, .hour = r->hour, .c = r->c};
    }
    if (rc == 0)
        rc = pg_counts_add(c, keys, open, NULL, nk);
    if (rc == 0 && nh)
        rc = pg_hours_add(c, hours, nh);
    free(keys);
    free(open);
    free(hours);
    return rc;
}

/* ---- moving a webhook's deliveries ------------------------------------------------- */

int pg_deliveries_move(pg_store *s, pg_conn *c, int64_t key, hookd_ds_event ev, int64_t now_ms,
                       bool *due)
{
    (void)s;
    /* The queue row follows: made (or re-scheduled, unclaimed) for those
     * that now wait, removed for those that no longer do. */
    static const char SQL[] =
        "WITH u AS (UPDATE delivery_state SET state = $4, next_at = $5::bigint, "
        "finished_at = $6::bigint WHERE webhook = $1 AND state = $2 AND (attempts > 0) = $3 "
        "RETURNING seq), "
        "qi AS (INSERT INTO queue(seq, webhook, next_at) SELECT seq, $1, $5::bigint FROM u "
        "WHERE $5::bigint IS NOT NULL ON CONFLICT (seq) DO UPDATE SET next_at = excluded.next_at, "
        "owner = NULL, lease_until = 0), "
        "qd AS (DELETE FROM queue q USING u WHERE q.seq = u.seq AND $5::bigint IS NULL) "
        "SELECT count(*) FROM u";
    int64_t open = 0;
    if (due)
        *due = false;
    /* Every (state, attempted) the machine moves on ev, set to where it
     * says: the rule lives in the table, not in this SQL. */
    for (int from = 0; from < HOOKD_DS_COUNT; from++) {
        for (int attempted = 0; attempted < 2; attempted++) {
            int to = hookd_ds_next((hookd_delivery_state)from, ev, attempted);
            if (to == from || to == HOOKD_DS_REFUSED)
                continue;
            pg_params p = {.n = 0};
            pg_p_int(&p, key);
            pg_p_int(&p, from);
            pg_p_text(&p, pg_bool(attempted));
            pg_p_int(&p, to);
            pg_p_int_or_null(&p, now_ms, !hookd_ds_waiting(to));
            pg_p_int_or_null(&p, now_ms, !hookd_ds_finished(to));
            PGresult *r;
            int rc = pg_run(c, SQL, &p, &r);
            if (rc)
                return rc;
            int64_t moved = pg_int(r, 0, 0);
            PQclear(r);
            hookd_ds_effect e = hookd_ds_effect_of((hookd_delivery_state)from, ev, to);
            open += (int64_t)e.open * moved;
            if (due && moved && hookd_ds_waiting(to))
                *due = true;
        }
    }
    return open ? pg_counts_add(c, &key, &open, NULL, 1) : 0;
}

/* ---- ingest ------------------------------------------------------------------------ */

typedef struct ingest_ctx {
    hookd_ingest *in;
    hookd_plan plan;        /* every delivery of the command, in item order */
    int64_t *person;        /* plan.d[i]'s person key */
    size_t cap_person;
    hookd_job *jobs;        /* made by this command, for the listener */
    size_t n_jobs;
    pg_contacts cs;
    pg_webhooks *whs;
} ingest_ctx;

static void plan_clear(hookd_plan *plan)
{
    for (size_t i = 0; i < plan->n; i++) {
        free(plan->d[i].query);
        free(plan->d[i].body);
    }
    plan->n = 0;
}

/* Lets go of what one run of the command made. */
static void ingest_free(pg_store *s, ingest_ctx *x)
{
    plan_clear(&x->plan);
    free(x->plan.skipped);
    x->plan.skipped = NULL;
    jobs_free(x->jobs, x->n_jobs);
    x->jobs = NULL;
    x->n_jobs = 0;
    pg_contacts_clear(&x->cs);
    if (x->whs)
        pg_webhooks_put(s, x->whs);
    x->whs = NULL;
}

/* Back to the start: a transaction that met a deadlock runs again. */
static void ingest_reset(pg_store *s, ingest_ctx *x)
{
    ingest_free(s, x);
    for (size_t i = 0; i < x->in->n; i++)
        x->in->items[i].duplicate = false;
}

/* A set of strings (borrowed), open addressing: the activity ids of one
 * batch. */
typedef struct strset {
    const char **slot;
    size_t mask;
} strset;

static uint64_t str_hash(const char *s)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

static int strset_init(strset *set, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    set->mask = cap - 1;
    return (set->slot = calloc(cap, sizeof *set->slot)) ? 0 : HOOKD_ENOMEM;
}

/* Adds s; false if it was there already. */
static bool strset_add(strset *set, const char *s)
{
    for (size_t i = str_hash(s) & set->mask;; i = (i + 1) & set->mask) {
        if (!set->slot[i]) {
            set->slot[i] = s;
            return true;
        }
        if (strcmp(set->slot[i], s) == 0)
            return false;
    }
}

static bool strset_has(const strset *set, const char *s)
{
    for (size_t i = str_hash(s) & set->mask; set->slot[i]; i = (i + 1) & set->mask) {
        if (strcmp(set->slot[i], s) == 0)
            return true;
    }
    return false;
}

/* Marks duplicates: activity ids already stored, and repeats within the
 * batch (the first one counts). One statement records every new id. */
static int record_activities(pg_conn *c, hookd_ingest *in)
{
    static const char SQL[] =
        "INSERT INTO activity_ids(id, created_at) SELECT * FROM unnest($1::text[], $2::bigint[]) "
        "ON CONFLICT (id) DO NOTHING RETURNING id";
    hookd_buf ids = {0}, times = {0};
    size_t asked = 0;
    strset seen;
    if (strset_init(&seen, in->n) != 0)
        return HOOKD_ENOMEM;
    pg_array_begin(&ids);
    pg_array_begin(&times);
    for (size_t i = 0; i < in->n; i++) {
        hookd_ingest_item *it = &in->items[i];
        if (!it->activity_id || (it->duplicate = !strset_add(&seen, it->activity_id)))
            continue;
        pg_array_text(&ids, it->activity_id);
        pg_array_int(&times, it->created_ms);
        asked++;
    }
    free(seen.slot);
    int rc = pg_array_end(&ids) || pg_array_end(&times) ? HOOKD_ENOMEM : 0;
    PGresult *r = NULL;
    if (rc == 0 && asked) {
        pg_params p = {.n = 0};
        pg_p_text(&p, ids.data);
        pg_p_text(&p, times.data);
        rc = pg_run(c, SQL, &p, &r);
    }
    hookd_buf_free(&ids);
    hookd_buf_free(&times);
    if (rc || !asked)
        return rc;
    /* Those the database did not take were stored before. */
    strset taken;
    if (strset_init(&taken, (size_t)PQntuples(r)) != 0) {
        PQclear(r);
        return HOOKD_ENOMEM;
    }
    for (int k = 0; k < PQntuples(r); k++)
        strset_add(&taken, PQgetvalue(r, k, 0));
    for (size_t i = 0; i < in->n; i++) {
        hookd_ingest_item *it = &in->items[i];
        if (it->activity_id && !it->duplicate)
            it->duplicate = !strset_has(&taken, it->activity_id);
    }
    free(taken.slot);
    PQclear(r);
    return 0;
}

/* Reads every contact named by id in one go. */
static int load_contacts(pg_conn *c, ingest_ctx *x)
{
    const char **ids = malloc((x->in->n ? x->in->n : 1) * sizeof *ids);
    size_t n = 0;
    if (!ids)
        return HOOKD_ENOMEM;
    for (size_t i = 0; i < x->in->n; i++) {
        const hookd_ingest_item *it = &x->in->items[i];
        if (!it->duplicate && it->contact_id)
            ids[n++] = it->contact_id;
    }
    int rc = n ? pg_contacts_load(c, &x->cs, ids, n) : 0;
    free(ids);
    return rc;
}

static int plan_items(pg_conn *c, ingest_ctx *x)
{
    hookd_ingest *in = x->in;
    for (size_t i = 0; i < in->n; i++) {
        hookd_ingest_item *it = &in->items[i];
        if (it->duplicate)
            continue;
        pg_contact *pc = NULL;
        int rc = 0;
        bool created;
        if (it->contact_id)
            rc = (pc = pg_contacts_find(&x->cs, it->contact_id)) ? 0 : HOOKD_ENOTFOUND;
        else
            rc = pg_contact_merge(c, &x->cs, it->merge, it->created_ms, &pc, &created);
        if (rc) {
            in->failed_index = i;
            return rc;
        }
        size_t before = x->plan.n;
        if ((rc = in->plan(in->ctx, i, pc->person, pc->account, x->whs->list, x->whs->n,
                           &x->plan)) != 0)
            return rc;
        for (size_t k = before; k < x->plan.n; k++) {
            if (hookd_array_grow(&x->person, &x->cap_person, k, sizeof *x->person) != 0)
                return HOOKD_ENOMEM;
            x->person[k] = pc->person->key;
        }
    }
    return 0;
}

/* Seqs for n new deliveries, rising. */
static int new_seqs(pg_conn *c, size_t n, int64_t *seqs)
{
    static const char SQL[] =
        "SELECT nextval('delivery_seq') FROM generate_series(1, $1) ORDER BY 1";
    pg_params p = {.n = 0};
    pg_p_int(&p, (int64_t)n);
    PGresult *r;
    int rc = pg_run(c, SQL, &p, &r);
    if (rc)
        return rc;
    if ((size_t)PQntuples(r) != n)
        rc = HOOKD_EUNAVAIL;
    for (size_t i = 0; rc == 0 && i < n; i++)
        seqs[i] = pg_int(r, (int)i, 0);
    PQclear(r);
    return rc;
}

/* Writes the planned deliveries: bodies by COPY, their state, and their
 * queue rows claimed by this process (it attempts them from memory). */
static int store_deliveries(pg_store *s, pg_conn *c, ingest_ctx *x, const int64_t *seqs)
{
    static const char SQL_COPY[] =
        "COPY deliveries(seq, id, kind, method, person, activity_id, field_id, created_at, "
        "query, body, packed) FROM STDIN (FORMAT binary)";
    static const char SQL_STATE[] = "COPY delivery_state(seq, webhook, state) FROM STDIN "
                                    "(FORMAT binary)";
    /* next_at 0: fresh (see "the engine's reads"). */
    static const char SQL_QUEUE[] =
        "INSERT INTO queue(seq, webhook, next_at, owner, lease_until) SELECT q.s, q.w, 0, $3, "
        "hookd_ms() + $4 FROM unnest($1::bigint[], $2::bigint[]) AS q(s, w)";
    pg_copy d, st;
    pg_copy_begin(&d);
    pg_copy_begin(&st);
    hookd_buf qs = {0}, qw = {0};
    pg_array_begin(&qs);
    pg_array_begin(&qw);
    for (size_t i = 0; i < x->plan.n; i++) {
        const hookd_new_delivery *nd = &x->plan.d[i];
        pg_copy_row(&d, 11);
        pg_copy_int8(&d, seqs[i]);
        pg_copy_text(&d, nd->id);
        pg_copy_int2(&d, (int)nd->kind);
        pg_copy_int2(&d, (int)nd->webhook->method);
        pg_copy_int8(&d, x->person[i]);
        pg_copy_text(&d, nd->activity_id);
        pg_copy_text(&d, nd->field_id);
        pg_copy_int8(&d, nd->created_ms);
        pg_copy_text(&d, nd->query);
        pg_copy_body(&d, nd->body, nd->body_len);
        pg_copy_row(&st, 3);
        pg_copy_int8(&st, seqs[i]);
        pg_copy_int8(&st, nd->webhook->key);
        pg_copy_int2(&st, HOOKD_DS_PENDING);
        pg_array_int(&qs, seqs[i]);
        pg_array_int(&qw, nd->webhook->key);
    }
    int rc = pg_array_end(&qs) || pg_array_end(&qw) ? HOOKD_ENOMEM : 0;
    if (rc == 0)
        rc = pg_copy_end(c, &d, SQL_COPY);
    else
        hookd_buf_free(&d.b);
    if (rc == 0)
        rc = pg_copy_end(c, &st, SQL_STATE);
    else
        hookd_buf_free(&st.b);
    if (rc == 0) {
        pg_params p = {.n = 0};
        pg_p_text(&p, qs.data);
        pg_p_text(&p, qw.data);
        pg_p_text(&p, s->owner);
        pg_p_int(&p, HOOKD_STORE_LEASE_MS);
        rc = pg_run(c, SQL_QUEUE, &p, NULL);
    }
    hookd_buf_free(&qs);
    hookd_buf_free(&qw);
    return rc;
}

/* The jobs the listener gets after the commit (taking the bodies). */
static int make_jobs(ingest_ctx *x, const int64_t *seqs)
{
    if (!(x->jobs = calloc(x->plan.n ? x->plan.n : 1, sizeof *x->jobs)))
        return HOOKD_ENOMEM;
    for (size_t i = 0; i < x->plan.n; i++)
        hookd_job_of_new(&x->jobs[x->n_jobs++], seqs[i], &x->plan.d[i]);
    return 0;
}

/* Open deliveries made and activities skipped, per webhook, in one
 * statement (the snapshot is ordered by key). */
static int ingest_counts(pg_conn *c, ingest_ctx *x)
{
    size_t n = x->whs->n;
    int64_t *keys = calloc(n ? n : 1, sizeof *keys);
    int64_t *open = calloc(n ? n : 1, sizeof *open);
    int64_t *skipped = calloc(n ? n : 1, sizeof *skipped);
    int rc = keys && open && skipped ? 0 : HOOKD_ENOMEM;
    for (size_t w = 0; rc == 0 && w < n; w++) {
        keys[w] = x->whs->list[w]->key;
        skipped[w] = x->plan.skipped[w];
    }
    for (size_t i = 0; rc == 0 && i < x->plan.n; i++) {
        /* The plan's webhooks are the snapshot's: find by key. */
        size_t lo = 0, hi = n;
        int64_t key = x->plan.d[i].webhook->key;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (keys[mid] < key)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < n)
            open[lo]++;
    }
    if (rc == 0)
        rc = pg_counts_add(c, keys, open, skipped, n);
    free(keys);
    free(open);
    free(skipped);
    return rc;
}

static int ingest_run(pg_store *s, pg_conn *c, void *ctx)
{
    ingest_ctx *x = ctx;
    ingest_reset(s, x);
    int rc = pg_lock_webhooks(c, false);
    if (rc == 0)
        rc = pg_webhooks_get(s, c, &x->whs);
    if (rc == 0 && x->in->check)
        rc = x->in->check(x->in->ctx, x->whs->list, x->whs->n);
    if (rc == 0 && !(x->plan.skipped = calloc(x->whs->n ? x->whs->n : 1, sizeof(int))))
        rc = HOOKD_ENOMEM;
    if (rc == 0)
        rc = record_activities(c, x->in);
    if (rc == 0)
        rc = load_contacts(c, x);
    if (rc == 0)
        rc = plan_items(c, x);
    int64_t *seqs = NULL;
    if (rc == 0 && x->plan.n) {
        if (!(seqs = malloc(x->plan.n * sizeof *seqs)))
            rc = HOOKD_ENOMEM;
        if (rc == 0)
            rc = new_seqs(c, x->plan.n, seqs);
        if (rc == 0)
            rc = store_deliveries(s, c, x, seqs);
    }
    if (rc == 0)
        rc = ingest_counts(c, x);
    if (rc == 0 && x->plan.n)
        rc = make_jobs(x, seqs);
    free(seqs);
    return rc;
}

int pg_ingest(hookd_store *st, hookd_ingest *in)
{
    pg_store *s = PG(st);
    ingest_ctx x = {.in = in};
    int rc = pg_tx(s, ingest_run, &x);
    if (rc == 0 && x.n_jobs && s->base.listener.fresh) {
        s->base.listener.fresh(s->base.listener.ctx, x.jobs, x.n_jobs);
        free(x.jobs); /* the listener took every job's strings */
        x.jobs = NULL;
        x.n_jobs = 0;
    }
    ingest_free(s, &x);
    free(x.plan.d);
    free(x.person);
    return rc;
}

/* ---- claims and the engine's reads ---------------------------------------------------- */

/* A read of due deliveries goes as in the SQLite backend: first the
 * scheduled ones (retries, connects, retry now: next_at > 0) by
 * (next_at, seq), then the fresh ones (next_at 0: due since they were made)
 * by seq, the cursor's next_at FRESH marking the second phase. Both are
 * ranges of one index, queue (webhook, next_at, seq). */
#define FRESH INT64_MAX

typedef struct due_ctx {
    int64_t key, now, max_seq;
    hookd_due_cursor *cursor;
    int limit;
    hookd_job *jobs;
    size_t n;
} due_ctx;

/* Claims and reads in one statement: rows no other process's live claim
 * holds (this process's own only up to max_seq, as store.h says), skipping
 * those another process is claiming this very moment. $1 key, $2 cursor
 * seq, $3 max_seq, $4 owner, $5 lease, $6 limit; the scheduled phase adds
 * $7 now and $8 the cursor's next_at. */
#define DUE_SQL(where, order)                                                                      \
    "WITH c AS (UPDATE queue q SET owner = $4, lease_until = hookd_ms() + $5 "                    \
    "WHERE q.seq IN (SELECT seq FROM queue WHERE webhook = $1 AND " where " AND "               \
    "(lease_until < hookd_ms() OR (owner = $4 AND seq <= $3)) ORDER BY " order " LIMIT $6 "    \
    "FOR UPDATE SKIP LOCKED) RETURNING q.seq, q.next_at) "                                       \
    "SELECT c.seq, d.id, s.state, s.attempts, c.next_at, d.method, d.query, d.body, d.packed, "  \
    "d.created_at, d.msg_id FROM c JOIN deliveries d ON d.seq = c.seq JOIN delivery_state s "              \
    "ON s.seq = c.seq ORDER BY " order

static const char SQL_DUE_SCHEDULED[] =
    DUE_SQL("next_at > 0 AND next_at <= $7 AND (next_at, seq) > ($8::bigint, $2::bigint)",
            "next_at, seq");
static const char SQL_DUE_FRESH[] = DUE_SQL("next_at = 0 AND seq > $2", "seq");

/* Reads up to limit - x->n rows of one phase into x->jobs; moves the
 * cursor. */
static int due_rows(pg_store *s, pg_conn *c, due_ctx *x, const char *sql)
{
    bool fresh = sql == SQL_DUE_FRESH;
    pg_params p = {.n = 0};
    pg_p_int(&p, x->key);
    pg_p_int(&p, x->cursor->seq);
    pg_p_int(&p, x->max_seq);
    pg_p_text(&p, s->owner);
    pg_p_int(&p, HOOKD_STORE_LEASE_MS);
    pg_p_int(&p, x->limit - (int)x->n);
    if (!fresh) {
        pg_p_int(&p, x->now);
        pg_p_int(&p, x->cursor->next_at);
    }
    PGresult *r;
    int rc = pg_run(c, sql, &p, &r);
    if (rc)
        return rc;
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        hookd_job *j = &x->jobs[x->n++];
        j->seq = pg_int(r, i, 0);
        pg_id(r, i, 1, j->id);
        j->webhook = x->key;
        j->state = (hookd_delivery_state)pg_int(r, i, 2);
        j->attempts = (int)pg_int(r, i, 3);
        j->next_at = fresh ? pg_int(r, i, 9) : pg_int(r, i, 4);
        j->method = (hookd_method)pg_int(r, i, 5);
        if (!pg_null(r, i, 10))
            pg_id(r, i, 10, j->msg_id);
        if (!pg_null(r, i, 6) && !(j->query = pg_strdup(r, i, 6)))
            rc = HOOKD_ENOMEM;
        if (rc == 0)
            rc = pg_body(r, i, 7, &j->body, &j->body_len);
        x->cursor->seq = j->seq;
        if (!fresh)
            x->cursor->next_at = j->next_at;
    }
    PQclear(r);
    return rc;
}

static int due_run(pg_store *s, pg_conn *c, void *ctx)
{
    due_ctx *x = ctx;
    int rc = 0;
    if (x->cursor->next_at != FRESH) {
        rc = due_rows(s, c, x, SQL_DUE_SCHEDULED);
        if (rc == 0 && (int)x->n < x->limit)
            *x->cursor = (hookd_due_cursor){FRESH, 0};
    }
    if (rc == 0 && (int)x->n < x->limit)
        rc = due_rows(s, c, x, SQL_DUE_FRESH);
    return rc;
}

int pg_due(hookd_store *st, int64_t key, int64_t now_ms, hookd_due_cursor *cursor,
           int64_t max_seq, int limit, hookd_job **out, size_t *n)
{
    hookd_due_cursor at = *cursor;
    due_ctx x = {.key = key, .now = now_ms, .max_seq = max_seq, .cursor = &at, .limit = limit};
    if (!(x.jobs = calloc((size_t)(limit > 0 ? limit : 1), sizeof *x.jobs)))
        return HOOKD_ENOMEM;
    int rc = pg_once(PG(st), due_run, &x);
    if (rc) {
        /* What was claimed and not returned runs out with its lease. */
        jobs_free(x.jobs, x.n);
        return rc;
    }
    *cursor = at;
    *out = x.jobs;
    *n = x.n;
    return 0;
}

/* A one-number read with nparams int parameters (a, b). */
typedef struct number_ctx {
    const char *sql;
    int nparams;
    int64_t a, b;
    int64_t out;
} number_ctx;

static int number_run(pg_store *s, pg_conn *c, void *ctx)
{
    (void)s;
    number_ctx *x = ctx;
    pg_params p = {.n = 0};
    if (x->nparams > 0)
        pg_p_int(&p, x->a);
    if (x->nparams > 1)
        pg_p_int(&p, x->b);
    PGresult *r;
    int rc = pg_run(c, x->sql, &p, &r);
    if (rc == 0) {
        x->out = pg_int(r, 0, 0); /* NULL reads as 0: none */
        PQclear(r);
    }
    return rc;
}

int pg_next_due(hookd_store *st, int64_t key, int64_t now_ms, int64_t *when_ms)
{
    static const char SQL[] = "SELECT MIN(next_at) FROM queue WHERE webhook = $1 AND next_at > $2";
    number_ctx x = {.sql = SQL, .nparams = 2, .a = key, .b = now_ms};
    int rc = pg_once(PG(st), number_run, &x);
    *when_ms = x.out;
    return rc;
}

int pg_max_seq(hookd_store *st, int64_t *seq)
{
    static const char SQL[] = "SELECT MAX(seq) FROM delivery_state";
    number_ctx x = {.sql = SQL};
    int rc = pg_once(PG(st), number_run, &x);
    *seq = x.out;
    return rc;
}

typedef struct claims_ctx {
    const int64_t *seqs;
    size_t n;
} claims_ctx;

static int seq_array(hookd_buf *b, const int64_t *seqs, size_t n)
{
    pg_array_begin(b);
    for (size_t i = 0; i < n; i++)
        pg_array_int(b, seqs[i]);
    return pg_array_end(b);
}

static int renew_run(pg_store *s, pg_conn *c, void *ctx)
{
    static const char SQL[] = "UPDATE queue SET lease_until = hookd_ms() + $3 "
                              "WHERE seq = ANY($1::bigint[]) AND owner = $2";
    claims_ctx *x = ctx;
    hookd_buf b = {0};
    int rc = seq_array(&b, x->seqs, x->n);
    if (rc == 0) {
        pg_params p = {.n = 0};
        pg_p_text(&p, b.data);
        pg_p_text(&p, s->owner);
        pg_p_int(&p, HOOKD_STORE_LEASE_MS);
        rc = pg_run(c, SQL, &p, NULL);
    }
    hookd_buf_free(&b);
    return rc;
}

int pg_renew(hookd_store *st, const int64_t *seqs, size_t n)
{
    claims_ctx x = {.seqs = seqs, .n = n};
    return pg_once(PG(st), renew_run, &x);
}

static int release_run(pg_store *s, pg_conn *c, void *ctx)
{
    static const char SQL[] =
        "WITH r AS (UPDATE queue SET owner = NULL, lease_until = 0 WHERE seq = ANY($1::bigint[]) "
        "AND owner = $2 RETURNING webhook) SELECT DISTINCT webhook FROM r";
    claims_ctx *x = ctx;
    hookd_buf b = {0};
    int rc = seq_array(&b, x->seqs, x->n);
    PGresult *r = NULL;
    if (rc == 0) {
        pg_params p = {.n = 0};
        pg_p_text(&p, b.data);
        pg_p_text(&p, s->owner);
        rc = pg_run(c, SQL, &p, &r);
    }
    hookd_buf_free(&b);
    /* The others hear of it when this commits. */
    for (int i = 0; rc == 0 && i < PQntuples(r); i++)
        rc = pg_notify(c, s, 'd', pg_int(r, i, 0));
    PQclear(r);
    return rc;
}

int pg_release(hookd_store *st, const int64_t *seqs, size_t n)
{
    claims_ctx x = {.seqs = seqs, .n = n};
    return pg_tx(PG(st), release_run, &x);
}

/* A claim promises that its owner is attempting the delivery; an owner
 * whose session lock is gone has died (or lost its notice connection for a
 * moment: then an attempt may be made twice, which docs/api.md#delivery allows). */
static int reclaim_run(pg_store *s, pg_conn *c, void *ctx)
{
    (void)ctx;
    static const char SQL[] =
        "WITH live AS (SELECT (l.classid::bigint << 32) | l.objid::bigint AS k FROM pg_locks l "
        "  WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted AND l.database = "
        "  (SELECT oid FROM pg_database WHERE datname = current_database())), "
        "r AS (UPDATE queue q SET owner = NULL, lease_until = 0 WHERE q.owner IS NOT NULL "
        "  AND q.owner <> $1 AND q.lease_until > hookd_ms() "
        "  AND ('x' || q.owner)::bit(64)::bigint NOT IN (SELECT k FROM live) "
        "  RETURNING q.webhook) "
        "SELECT webhook, count(*) FROM r GROUP BY webhook";
    pg_params p = {.n = 0};
    pg_p_text(&p, s->owner);
    PGresult *r;
    int rc = pg_run(c, SQL, &p, &r);
    int64_t freed = 0;
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        freed += pg_int(r, i, 1);
        rc = pg_notify(c, s, 'd', pg_int(r, i, 0));
    }
    if (rc == 0 && freed)
        hookd_log_info("store: took back %lld deliveries claimed by processes that are gone",
                       (long long)freed);
    PQclear(r);
    return rc;
}

int pg_reclaim_dead(pg_store *s)
{
    return pg_tx(s, reclaim_run, NULL);
}

/* ---- outcomes ---------------------------------------------------------------------- */

typedef struct outcomes_ctx {
    const hookd_outcome *o;
    size_t n;
    int *states;  /* each one's new state (the caller's, or ours) */
    hookd_streak *streaks; /* the caller's, or NULL */
    bool *done;   /* recorded by the batch statement */
} outcomes_ctx;

/* The arrays of the batch statement, one element per outcome. */
typedef struct outcome_arrays {
    hookd_buf seq, from, to, next_at, finished, last_at, status, duration, error, response, hver,
        signature;
} outcome_arrays;

#define OA_EACH(a, F)                                                                              \
    F(&(a)->seq);                                                                                  \
    F(&(a)->from);                                                                                 \
    F(&(a)->to);                                                                                   \
    F(&(a)->next_at);                                                                              \
    F(&(a)->finished);                                                                             \
    F(&(a)->last_at);                                                                              \
    F(&(a)->status);                                                                               \
    F(&(a)->duration);                                                                             \
    F(&(a)->error);                                                                                \
    F(&(a)->response);                                                                             \
    F(&(a)->hver);                                                                                 \
    F(&(a)->signature)

static void array_int_or_null(hookd_buf *b, int64_t v, bool is_null)
{
    if (is_null)
        pg_array_text(b, NULL);
    else
        pg_array_int(b, v);
}

static void arrays_add(outcome_arrays *a, const hookd_outcome *o, int to)
{
    pg_array_int(&a->seq, o->seq);
    pg_array_int(&a->from, o->from);
    pg_array_int(&a->to, to);
    array_int_or_null(&a->next_at, o->next_at, !hookd_ds_waiting(to));
    array_int_or_null(&a->finished, o->time_ms + o->duration_ms, !hookd_ds_finished(to));
    pg_array_int(&a->last_at, o->time_ms);
    array_int_or_null(&a->status, o->status_code, o->status_code == 0);
    pg_array_int(&a->duration, o->duration_ms);
    pg_array_text(&a->error, o->error);
    pg_array_text(&a->response, o->response_body);
    pg_array_int(&a->hver, (int64_t)o->version);
    pg_array_text(&a->signature, o->signature);
}

static int arrays_end(outcome_arrays *a)
{
    int rc = 0;
#define END(b)                                                                                     \
    do {                                                                                           \
        if (pg_array_end(b))                                                                       \
            rc = HOOKD_ENOMEM;                                                                     \
    } while (0)
    OA_EACH(a, END);
#undef END
    return rc;
}

/* Every outcome whose delivery is still in the state the attempt found,
 * in one statement: the last attempt moves to the history, the state row
 * moves on, the queue row goes (finished) or waits again unclaimed. Marks
 * those done. */
static int outcomes_batch(pg_conn *c, outcomes_ctx *x)
{
    static const char SQL[] =
        "WITH o AS (SELECT * FROM unnest($1::bigint[], $2::smallint[], $3::smallint[], "
        "$4::bigint[], $5::bigint[], $6::bigint[], $7::int[], $8::bigint[], $9::text[], "
        "$10::text[], $11::bigint[], $12::text[]) AS o(seq, from_state, to_state, next_at, "
        "finished_at, last_at, status, duration_ms, error, response, hver, signature)), "
        "u AS (UPDATE delivery_state s SET state = o.to_state, attempts = s.attempts + 1, "
        "next_at = o.next_at, finished_at = o.finished_at, last_at = o.last_at, "
        "status = o.status, duration_ms = o.duration_ms, error = o.error, "
        "response = o.response, hver = o.hver, signature = o.signature FROM o "
        "WHERE s.seq = o.seq AND s.state = o.from_state RETURNING s.seq, o.next_at), "
        /* The statement's snapshot still shows each row as it was. */
        "h AS (INSERT INTO attempts(seq, n, time, status, error, duration_ms, response) "
        "SELECT p.seq, p.attempts, p.last_at, p.status, p.error, p.duration_ms, p.response "
        "FROM delivery_state p JOIN u ON u.seq = p.seq WHERE p.attempts > 0 "
        "ON CONFLICT (seq, n) DO NOTHING), "
        "qd AS (DELETE FROM queue q USING u WHERE q.seq = u.seq AND u.next_at IS NULL), "
        "qu AS (UPDATE queue q SET next_at = u.next_at, owner = NULL, lease_until = 0 FROM u "
        "WHERE q.seq = u.seq AND u.next_at IS NOT NULL), "
        /* A success ends its webhook's streak (hookd_streak) here, in a
         * statement the batch runs anyway: a healthy webhook's outcomes
         * cost no statement more. */
        "se AS (DELETE FROM webhook_streaks WHERE webhook = ANY($13::bigint[])) "
        "SELECT seq FROM u";
    outcome_arrays a;
    memset(&a, 0, sizeof a);
    hookd_buf ended = {0};
    OA_EACH(&a, pg_array_begin);
    pg_array_begin(&ended);
    for (size_t i = 0; i < x->n; i++) {
        int to = hookd_ds_next(x->o[i].from, x->o[i].event, true);
        arrays_add(&a, &x->o[i], to == HOOKD_DS_REFUSED ? (int)x->o[i].from : to);
        if (x->o[i].event == HOOKD_EV_SUCCEEDED)
            pg_array_int(&ended, x->o[i].webhook);
    }
    int rc = arrays_end(&a);
    if (rc == 0)
        rc = pg_array_end(&ended);
    PGresult *r = NULL;
    if (rc == 0) {
        pg_params p = {.n = 0};
        pg_p_text(&p, a.seq.data);
        pg_p_text(&p, a.from.data);
        pg_p_text(&p, a.to.data);
        pg_p_text(&p, a.next_at.data);
        pg_p_text(&p, a.finished.data);
        pg_p_text(&p, a.last_at.data);
        pg_p_text(&p, a.status.data);
        pg_p_text(&p, a.duration.data);
        pg_p_text(&p, a.error.data);
        pg_p_text(&p, a.response.data);
        pg_p_text(&p, a.hver.data);
        pg_p_text(&p, a.signature.data);
        pg_p_text(&p, ended.data);
        rc = pg_run(c, SQL, &p, &r);
    }
    OA_EACH(&a, hookd_buf_free);
    hookd_buf_free(&ended);
    if (rc)
        return rc;
    /* Seqs of one batch are distinct (one attempt of a delivery at a
     * time), so a seq names one outcome. */
    for (int k = 0; k < PQntuples(r); k++) {
        int64_t seq = pg_int(r, k, 0);
        for (size_t i = 0; i < x->n; i++) {
            if (x->o[i].seq == seq && !x->done[i]) {
                x->done[i] = true;
                break;
            }
        }
    }
    PQclear(r);
    return 0;
}

/* One outcome whose delivery moved since the attempt (held, cancelled,
 * retried meanwhile): recorded from the state it is in now. */
static int outcome_slow(pg_conn *c, const hookd_outcome *o, int *state, hookd_ds_event *ev_out,
                        int *from_out)
{
    static const char SQL_LOCK[] =
        "SELECT state, webhook FROM delivery_state WHERE seq = $1 FOR UPDATE";
    static const char SQL_HISTORY[] =
        "INSERT INTO attempts(seq, n, time, status, error, duration_ms, response) "
        "SELECT seq, attempts, last_at, status, error, duration_ms, response FROM "
        "delivery_state WHERE seq = $1 AND attempts > 0 ON CONFLICT (seq, n) DO NOTHING";
    static const char SQL_SET[] =
        "UPDATE delivery_state SET state = $2, attempts = attempts + 1, next_at = $3, "
        "finished_at = $4, last_at = $5, status = $6, duration_ms = $7, error = $8, "
        "response = $9, hver = $10, signature = $11 WHERE seq = $1";
    static const char SQL_WAIT[] =
        "INSERT INTO queue(seq, webhook, next_at) VALUES ($1, $2, $3) ON CONFLICT (seq) DO "
        "UPDATE SET next_at = excluded.next_at, owner = NULL, lease_until = 0";
    static const char SQL_DONE[] = "DELETE FROM queue WHERE seq = $1";
    pg_params p = {.n = 0};
    pg_p_int(&p, o->seq);
    PGresult *r;
    int rc = pg_run_row(c, SQL_LOCK, &p, &r);
    if (rc == HOOKD_ENOTFOUND) {
        *state = HOOKD_DS_REFUSED; /* gone (pruned or never stored) */
        return 0;
    }
    if (rc)
        return rc;
    int from = (int)pg_int(r, 0, 0);
    int64_t webhook = pg_int(r, 0, 1);
    PQclear(r);
    int to = hookd_ds_next((hookd_delivery_state)from, o->event, true);
    if (to == HOOKD_DS_REFUSED)
        to = from; /* never refused for outcomes; keep the state if it were */
    if ((rc = pg_run(c, SQL_HISTORY, &p, NULL)) != 0)
        return rc;
    pg_params q = {.n = 0};
    pg_p_int(&q, o->seq);
    pg_p_int(&q, to);
    pg_p_int_or_null(&q, o->next_at, !hookd_ds_waiting(to));
    pg_p_int_or_null(&q, o->time_ms + o->duration_ms, !hookd_ds_finished(to));
    pg_p_int(&q, o->time_ms);
    pg_p_int_or_null(&q, o->status_code, o->status_code == 0);
    pg_p_int(&q, o->duration_ms);
    pg_p_text(&q, o->error);
    pg_p_text(&q, o->response_body);
    pg_p_int(&q, (int64_t)o->version);
    pg_p_text(&q, o->signature);
    if ((rc = pg_run(c, SQL_SET, &q, NULL)) != 0)
        return rc;
    pg_params w = {.n = 0};
    pg_p_int(&w, o->seq);
    if (hookd_ds_waiting(to)) {
        pg_p_int(&w, webhook);
        pg_p_int(&w, o->next_at);
    }
    if ((rc = pg_run(c, hookd_ds_waiting(to) ? SQL_WAIT : SQL_DONE, &w, NULL)) != 0)
        return rc;
    *state = to;
    *ev_out = o->event;
    *from_out = from;
    return 0;
}

static int outcomes_run(pg_store *s, pg_conn *c, void *ctx)
{
    (void)s;
    outcomes_ctx *x = ctx;
    memset(x->done, 0, x->n * sizeof *x->done);
    /* The streaks first: an answer is the endpoint's, whatever became of
     * its delivery, so they are known before the batch. They are written
     * right after the batch statement (which ends those of the successes),
     * before the counters: every outcome batch takes its delivery rows,
     * then its streak rows, then its counter rows, so two processes'
     * batches on one webhook never wait on each other in a circle. */
    hookd_tally t = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < x->n; i++)
        rc = hookd_tally_attempt(&t, x->o[i].webhook, x->o[i].event == HOOKD_EV_SUCCEEDED,
                                 x->o[i].time_ms);
    if (rc == 0)
        rc = outcomes_batch(c, x);
    if (rc == 0)
        rc = streaks_write(c, &t);
    for (size_t i = 0; rc == 0 && i < x->n; i++) {
        const hookd_outcome *o = &x->o[i];
        int from = (int)o->from, to;
        hookd_ds_event ev = o->event;
        if (x->done[i]) {
            to = hookd_ds_next(o->from, o->event, true);
            if (to == HOOKD_DS_REFUSED)
                to = from;
        } else if ((rc = outcome_slow(c, o, &to, &ev, &from)) != 0) {
            break;
        }
        x->states[i] = to;
        if (to == HOOKD_DS_REFUSED)
            continue;
        hookd_ds_effect e = hookd_ds_effect_of((hookd_delivery_state)from, ev, to);
        rc = hookd_tally_add(&t, o->webhook, o->time_ms + o->duration_ms, &e);
        /* The answer's fields, on the move to succeeded only: once. */
        if (rc == 0 && o->contact_fields && to == HOOKD_DS_SUCCEEDED && from != HOOKD_DS_SUCCEEDED)
            rc = pg_person_update_of(c, o->seq, o->contact_fields, o->time_ms + o->duration_ms);
    }
    if (rc == 0)
        rc = tally_write(c, &t);
    for (size_t i = 0; rc == 0 && x->streaks && i < x->n; i++)
        x->streaks[i] = hookd_tally_streak_of(&t, x->o[i].webhook);
    hookd_tally_clear(&t);
    return rc;
}

int pg_record_outcomes(hookd_store *st, const hookd_outcome *o, size_t n, int *states,
                       hookd_streak *streaks)
{
    if (!n)
        return 0;
    outcomes_ctx x = {.o = o, .n = n, .states = states, .streaks = streaks};
    int *own = states ? NULL : malloc(n * sizeof *own);
    x.done = malloc(n * sizeof *x.done);
    if (!states)
        x.states = own;
    int rc = x.states && x.done ? pg_tx(PG(st), outcomes_run, &x) : HOOKD_ENOMEM;
    free(own);
    free(x.done);
    return rc;
}

/* ---- retry now ------------------------------------------------------------------- */

typedef struct retry_ctx {
    const char *webhook_id, *delivery_id;
    int64_t now_ms;
    int64_t key;
} retry_ctx;

/* A delivery as a call names it (its id and its webhook's), locked for the
 * commands that move one: retry and resend. */
typedef struct named_delivery {
    int64_t seq, key;
    int state, attempts, kind;
} named_delivery;

static int find_named(pg_conn *c, const char *webhook_id, const char *delivery_id,
                      named_delivery *out)
{
    static const char SQL[] =
        "SELECT s.seq, s.state, s.attempts, s.webhook, d.kind FROM delivery_state s JOIN "
        "deliveries d ON d.seq = s.seq JOIN webhooks w ON w.key = s.webhook WHERE d.id = $1 "
        "AND w.id = $2 FOR UPDATE OF s";
    pg_params p = {.n = 0};
    pg_p_text(&p, delivery_id);
    pg_p_text(&p, webhook_id);
    PGresult *r;
    int rc = pg_run_row(c, SQL, &p, &r);
    if (rc)
        return rc;
    *out = (named_delivery){.seq = pg_int(r, 0, 0),
                            .state = (int)pg_int(r, 0, 1),
                            .attempts = (int)pg_int(r, 0, 2),
                            .key = pg_int(r, 0, 3),
                            .kind = (int)pg_int(r, 0, 4)};
    PQclear(r);
    return 0;
}

static int retry_run(pg_store *s, pg_conn *c, void *ctx)
{
    static const char SQL_SET[] = "UPDATE delivery_state SET state = $2, next_at = $3, "
                                  "finished_at = NULL WHERE seq = $1";
    static const char SQL_WAIT[] =
        "INSERT INTO queue(seq, webhook, next_at) VALUES ($1, $2, $3) ON CONFLICT (seq) DO "
        "UPDATE SET next_at = excluded.next_at, owner = NULL, lease_until = 0";
    retry_ctx *x = ctx;
    named_delivery d;
    int rc = find_named(c, x->webhook_id, x->delivery_id, &d);
    if (rc)
        return rc;
    x->key = d.key;
    int64_t seq = d.seq;
    int from = d.state, attempts = d.attempts;
    int to = hookd_ds_next((hookd_delivery_state)from, HOOKD_EV_RETRY_NOW, attempts > 0);
    if (to == HOOKD_DS_REFUSED)
        return HOOKD_ECONFLICT;
    pg_params q = {.n = 0};
    pg_p_int(&q, seq);
    pg_p_int(&q, to);
    pg_p_int_or_null(&q, x->now_ms, !hookd_ds_waiting(to));
    if ((rc = pg_run(c, SQL_SET, &q, NULL)) != 0)
        return rc;
    if (hookd_ds_waiting(to)) {
        pg_params w = {.n = 0};
        pg_p_int(&w, seq);
        pg_p_int(&w, x->key);
        pg_p_int(&w, x->now_ms);
        if ((rc = pg_run(c, SQL_WAIT, &w, NULL)) != 0)
            return rc;
    }
    hookd_ds_effect e = hookd_ds_effect_of((hookd_delivery_state)from, HOOKD_EV_RETRY_NOW, to);
    int64_t open = e.open;
    if (open && (rc = pg_counts_add(c, &x->key, &open, NULL, 1)) != 0)
        return rc;
    return pg_notify(c, s, 'd', x->key);
}

int pg_delivery_retry(hookd_store *st, const char *webhook_id, const char *delivery_id,
                      int64_t now_ms)
{
    pg_store *s = PG(st);
    retry_ctx x = {.webhook_id = webhook_id, .delivery_id = delivery_id, .now_ms = now_ms};
    int rc = pg_tx(s, retry_run, &x);
    if (rc == 0 && s->base.listener.due)
        s->base.listener.due(s->base.listener.ctx, x.key);
    return rc;
}

/* ---- resend ------------------------------------------------------------------------ */

typedef struct resend_ctx {
    const char *webhook_id, *delivery_id, *new_id;
    int64_t now_ms;
    int64_t key;
    hookd_job job; /* the new delivery, for the listener's fresh */
} resend_ctx;

static int resend_run(pg_store *s, pg_conn *c, void *ctx)
{
    /* The body is copied as stored (packed or not). */
    static const char SQL_COPY[] =
        "WITH n AS (INSERT INTO deliveries(seq, id, kind, method, person, activity_id, field_id, "
        "created_at, query, body, packed, msg_id) SELECT $1, $2, kind, method, person, "
        "activity_id, field_id, $3, query, body, packed, COALESCE(msg_id, id) FROM deliveries "
        "WHERE seq = $4 RETURNING seq), "
        "st AS (INSERT INTO delivery_state(seq, webhook, state) SELECT seq, $5, $6 FROM n), "
        /* fresh and claimed by this process, as ingest's */
        "qi AS (INSERT INTO queue(seq, webhook, next_at, owner, lease_until) SELECT seq, $5, 0, "
        "$7, hookd_ms() + $8 FROM n) "
        "SELECT d.method, d.query, d.body, d.packed, COALESCE(d.msg_id, d.id) FROM deliveries d "
        "WHERE d.seq = $4";
    resend_ctx *x = ctx;
    hookd_job_clear(&x->job); /* a transaction run again */
    named_delivery d;
    int rc = find_named(c, x->webhook_id, x->delivery_id, &d);
    if (rc)
        return rc;
    x->key = d.key;
    int64_t seq = d.seq;
    int state = d.state, kind = d.kind;
    /* A test send counts nowhere and is not sent again as a delivery. */
    if (!hookd_ds_resendable(state) || kind == HOOKD_KIND_TEST)
        return HOOKD_ECONFLICT;
    int64_t fresh;
    if ((rc = new_seqs(c, 1, &fresh)) != 0)
        return rc;
    pg_params q = {.n = 0};
    pg_p_int(&q, fresh);
    pg_p_text(&q, x->new_id);
    pg_p_int(&q, x->now_ms);
    pg_p_int(&q, seq);
    pg_p_int(&q, x->key);
    pg_p_int(&q, HOOKD_DS_PENDING);
    pg_p_text(&q, s->owner);
    pg_p_int(&q, HOOKD_STORE_LEASE_MS);
    PGresult *r;
    if ((rc = pg_run_row(c, SQL_COPY, &q, &r)) != 0)
        return rc;
    hookd_job *j = &x->job;
    *j = (hookd_job){.seq = fresh, .webhook = x->key, .state = HOOKD_DS_PENDING,
                     .next_at = x->now_ms};
    snprintf(j->id, sizeof j->id, "%s", x->new_id);
    j->method = (hookd_method)pg_int(r, 0, 0);
    if (!pg_null(r, 0, 1) && !(j->query = pg_strdup(r, 0, 1)))
        rc = HOOKD_ENOMEM;
    if (rc == 0)
        rc = pg_body(r, 0, 2, &j->body, &j->body_len);
    if (!pg_null(r, 0, 4))
        pg_id(r, 0, 4, j->msg_id);
    PQclear(r);
    if (rc)
        return rc;
    int64_t open = hookd_ds_open(HOOKD_DS_PENDING);
    if ((rc = pg_counts_add(c, &x->key, &open, NULL, 1)) != 0)
        return rc;
    return pg_notify(c, s, 'd', x->key);
}

int pg_delivery_resend(hookd_store *st, const char *webhook_id, const char *delivery_id,
                       const char *new_id, int64_t now_ms)
{
    pg_store *s = PG(st);
    resend_ctx x = {.webhook_id = webhook_id,
                    .delivery_id = delivery_id,
                    .new_id = new_id,
                    .now_ms = now_ms};
    int rc = pg_tx(s, resend_run, &x);
    if (rc == 0 && s->base.listener.fresh) {
        s->base.listener.fresh(s->base.listener.ctx, &x.job, 1); /* takes its strings */
        x.job = (hookd_job){0};
    }
    hookd_job_clear(&x.job);
    return rc;
}

/* ---- recover ----------------------------------------------------------------------- */

typedef struct recover_ctx {
    const char *webhook_id;
    int64_t since_ms, until_ms, now_ms;
    int64_t key, recovered;
} recover_ctx;

static int recover_run(pg_store *s, pg_conn *c, void *ctx)
{
    static const char SQL_KEY[] = "SELECT key FROM webhooks WHERE id = $1";
    /* The moved deliveries join the queue due now, as a retry's does. */
    static const char SQL_MOVE[] =
        "WITH moved AS (UPDATE delivery_state s SET state = $3, next_at = $4, finished_at = NULL "
        "WHERE s.webhook = $1 AND s.state = $2 AND s.finished_at >= $5 AND s.finished_at < $6 "
        "AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.seq = s.seq AND d.kind = $7) "
        "RETURNING s.seq), "
        "waits AS (INSERT INTO queue(seq, webhook, next_at) SELECT seq, $1, $4 FROM moved "
        "ON CONFLICT (seq) DO UPDATE SET next_at = excluded.next_at, owner = NULL, "
        "lease_until = 0) SELECT count(*) FROM moved";
    recover_ctx *x = ctx;
    pg_params p = {.n = 0};
    pg_p_text(&p, x->webhook_id);
    PGresult *r;
    int rc = pg_run_row(c, SQL_KEY, &p, &r);
    if (rc)
        return rc;
    x->key = pg_int(r, 0, 0);
    PQclear(r);
    /* Only failed deliveries are recovered; where they go is the table's. */
    int to = hookd_ds_next(HOOKD_DS_FAILED, HOOKD_EV_RETRY_NOW, true);
    if (to == HOOKD_DS_REFUSED || to == HOOKD_DS_FAILED || !hookd_ds_waiting(to))
        return 0;
    pg_params q = {.n = 0};
    pg_p_int(&q, x->key);
    pg_p_int(&q, HOOKD_DS_FAILED);
    pg_p_int(&q, to);
    pg_p_int(&q, x->now_ms);
    pg_p_int(&q, x->since_ms);
    pg_p_int(&q, x->until_ms);
    pg_p_int(&q, HOOKD_KIND_TEST);
    if ((rc = pg_run_row(c, SQL_MOVE, &q, &r)) != 0)
        return rc;
    x->recovered = pg_int(r, 0, 0);
    PQclear(r);
    if (!x->recovered)
        return 0;
    hookd_ds_effect e = hookd_ds_effect_of(HOOKD_DS_FAILED, HOOKD_EV_RETRY_NOW, to);
    int64_t open = (int64_t)e.open * x->recovered;
    if (open && (rc = pg_counts_add(c, &x->key, &open, NULL, 1)) != 0)
        return rc;
    return pg_notify(c, s, 'd', x->key);
}

int pg_recover(hookd_store *st, const char *webhook_id, int64_t since_ms, int64_t until_ms,
               int64_t now_ms, int64_t *recovered)
{
    pg_store *s = PG(st);
    recover_ctx x = {.webhook_id = webhook_id,
                     .since_ms = since_ms,
                     .until_ms = until_ms,
                     .now_ms = now_ms};
    int rc = pg_tx(s, recover_run, &x);
    if (rc)
        return rc;
    *recovered = x.recovered;
    if (x.recovered && s->base.listener.due)
        s->base.listener.due(s->base.listener.ctx, x.key);
    return 0;
}

/* ---- test sends -------------------------------------------------------------------- */

int pg_test_write(pg_store *s, pg_conn *c, const hookd_test_record *t)
{
    (void)s;
    static const char SQL_D[] =
        "COPY deliveries(seq, id, kind, method, created_at, query, body, packed) FROM STDIN "
        "(FORMAT binary)";
    static const char SQL_S[] =
        "INSERT INTO delivery_state(seq, webhook, state, attempts, finished_at, last_at, status, "
        "duration_ms, error, response, hver, signature) "
        "VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8, $9, $10, $11)";
    const hookd_outcome *a = &t->attempt;
    int64_t seq;
    int rc = new_seqs(c, 1, &seq);
    if (rc)
        return rc;
    pg_copy d;
    pg_copy_begin(&d);
    pg_copy_row(&d, 8);
    pg_copy_int8(&d, seq);
    pg_copy_text(&d, t->id);
    pg_copy_int2(&d, HOOKD_KIND_TEST);
    pg_copy_int2(&d, (int)t->method);
    pg_copy_int8(&d, t->created_ms);
    pg_copy_text(&d, t->query);
    pg_copy_body(&d, t->body, strlen(t->body));
    if ((rc = pg_copy_end(c, &d, SQL_D)) != 0)
        return rc;
    pg_params p = {.n = 0};
    pg_p_int(&p, seq);
    pg_p_int(&p, t->webhook->key);
    pg_p_int(&p, (int)t->state);
    pg_p_int(&p, a->time_ms + a->duration_ms);
    pg_p_int(&p, a->time_ms);
    pg_p_int_or_null(&p, a->status_code, a->status_code == 0);
    pg_p_int(&p, a->duration_ms);
    pg_p_text(&p, a->error);
    pg_p_text(&p, a->response_body);
    pg_p_int(&p, (int64_t)t->webhook->version);
    pg_p_text(&p, a->signature);
    return pg_run(c, SQL_S, &p, NULL);
}

static int test_run(pg_store *s, pg_conn *c, void *ctx)
{
    return pg_test_write(s, c, ctx);
}

int pg_record_test(hookd_store *st, const hookd_test_record *t)
{
    return pg_tx(PG(st), test_run, (void *)t);
}

/* ---- pruning ----------------------------------------------------------------------- */

typedef struct prune_ctx {
    int64_t before_ms;
    int limit;
    int deleted;
} prune_ctx;

static int delete_seqs(pg_conn *c, const int64_t *seqs, size_t n)
{
    static const char *const SQL[] = {
        "DELETE FROM deliveries WHERE seq = ANY($1::bigint[])",
        "DELETE FROM delivery_state WHERE seq = ANY($1::bigint[])",
        "DELETE FROM attempts WHERE seq = ANY($1::bigint[])",
    };
    hookd_buf b = {0};
    int rc = seq_array(&b, seqs, n);
    for (size_t i = 0; rc == 0 && i < sizeof SQL / sizeof SQL[0]; i++) {
        pg_params p = {.n = 0};
        pg_p_text(&p, b.data);
        rc = pg_run(c, SQL[i], &p, NULL);
    }
    hookd_buf_free(&b);
    return rc;
}

/* Walks deliveries oldest first, as the SQLite backend does: those
 * finished before the cutoff go; the walk ends at the first one made after
 * it (it cannot have finished before). */
static int prune_run(pg_store *s, pg_conn *c, void *ctx)
{
    (void)s;
    static const char SQL_PAGE[] =
        "SELECT s.seq, s.state, s.finished_at, d.created_at FROM delivery_state s JOIN "
        "deliveries d ON d.seq = s.seq WHERE s.seq > $1 ORDER BY s.seq LIMIT $2";
    static const char SQL_HOURS[] = "DELETE FROM webhook_hours WHERE hour < $1";
    prune_ctx *x = ctx;
    int64_t after = 0, doomed[PRUNE_PAGE];
    bool more = true;
    int rc = 0;
    x->deleted = 0;
    while (more && x->deleted < x->limit && rc == 0) {
        pg_params p = {.n = 0};
        pg_p_int(&p, after);
        pg_p_int(&p, PRUNE_PAGE);
        PGresult *r;
        if ((rc = pg_run(c, SQL_PAGE, &p, &r)) != 0)
            break;
        int rows = PQntuples(r), n = 0;
        for (int i = 0; i < rows; i++) {
            after = pg_int(r, i, 0);
            if (pg_int(r, i, 3) >= x->before_ms) {
                more = false;
                break;
            }
            if (hookd_ds_finished((int)pg_int(r, i, 1)) && !pg_null(r, i, 2) &&
                pg_int(r, i, 2) < x->before_ms && x->deleted + n < x->limit)
                doomed[n++] = after;
        }
        PQclear(r);
        more = more && rows == PRUNE_PAGE;
        if (n)
            rc = delete_seqs(c, doomed, (size_t)n);
        x->deleted += n;
    }
    if (rc == 0) {
        pg_params p = {.n = 0};
        pg_p_int(&p, x->before_ms - (int64_t)HOOKD_HOURS_KEPT * HOOKD_HOUR_MS);
        rc = pg_run(c, SQL_HOURS, &p, NULL);
    }
    return rc;
}

int pg_prune(hookd_store *st, int64_t before_ms, int limit, int *deleted)
{
    prune_ctx x = {.before_ms = before_ms, .limit = limit};
    int rc = pg_tx(PG(st), prune_run, &x);
    *deleted = rc == 0 ? x.deleted : 0;
    return rc;
}

/* ---- the log ------------------------------------------------------------------------- */

/* LOG_COLS columns 0-21; what a query selects after them starts at 22. */
#define LOG_COLS                                                                                   \
    "s.seq, d.id, d.kind, d.activity_id, d.field_id, s.state, s.attempts, d.created_at, "         \
    "s.next_at, d.method, d.query, d.body, d.packed, s.last_at, s.status, s.error, s.response, "  \
    "s.duration_ms, s.signature, v.url, v.headers, COALESCE(d.msg_id, d.id)"
#define LOG_JOINS                                                                                  \
    " JOIN deliveries d ON d.seq = s.seq LEFT JOIN webhook_versions v ON v.webhook = s.webhook "  \
    "AND v.version = s.hver"

static hookd_delivery *row_delivery(const PGresult *r, int i)
{
    hookd_delivery *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->seq = pg_int(r, i, 0);
    pg_id(r, i, 1, d->id);
    d->kind = (hookd_delivery_kind)pg_int(r, i, 2);
    d->activity_id = pg_strdup(r, i, 3);
    d->field_id = pg_strdup(r, i, 4);
    d->state = (hookd_delivery_state)pg_int(r, i, 5);
    d->attempts = (int)pg_int(r, i, 6);
    d->created_at = pg_int(r, i, 7);
    d->next_attempt_at = pg_int(r, i, 8);
    /* A fresh delivery keeps no next_at in its state row: due since made. */
    if (!d->next_attempt_at && d->state == HOOKD_DS_PENDING && d->attempts == 0)
        d->next_attempt_at = d->created_at;
    d->method = (hookd_method)pg_int(r, i, 9);
    d->query = pg_strdup(r, i, 10);
    size_t body_len;
    if (pg_body(r, i, 11, &d->body, &body_len) != 0)
        d->body = NULL;
    d->last_at = pg_int(r, i, 13);
    d->status_code = (int)pg_int(r, i, 14);
    d->error = pg_strdup(r, i, 15);
    d->response_body = pg_strdup(r, i, 16);
    d->duration_ms = pg_null(r, i, 17) ? -1 : pg_int(r, i, 17);
    d->signature = pg_strdup(r, i, 18);
    d->sent_url = pg_strdup(r, i, 19);
    d->headers = pg_strdup(r, i, 20);
    pg_id(r, i, 21, d->msg_id);
    if (!d->body) {
        hookd_delivery_free(d);
        return NULL;
    }
    return d;
}

typedef struct list_ctx {
    int64_t key, cursor;
    const hookd_delivery_state *states;
    size_t n_states;
    int limit;
    hookd_delivery **list;
    size_t n;
    bool cut; /* ended by HOOKD_STORE_PAGE_BYTES before its last row */
} list_ctx;

static int list_run(pg_store *s, pg_conn *c, void *ctx)
{
    (void)s;
    /* The newest limit+1 below the cursor over every state asked for, each
     * state one range of the (webhook, state, -seq) index, and
     * their rows: one statement, so one snapshot. Rows that start past
     * HOOKD_STORE_PAGE_BYTES of stored bodies and answers ($5) are left in
     * the database, so the result itself stays bounded; n_p (the last
     * column) says how many the page had. */
    static const char SQL[] =
        "WITH p AS (SELECT x.seq FROM unnest($2::smallint[]) AS st(state), LATERAL (SELECT seq "
        "FROM delivery_state WHERE webhook = $1 AND state = st.state AND -seq > -$3::bigint "
        "ORDER BY -seq LIMIT $4) x ORDER BY x.seq DESC LIMIT $4), "
        "q AS (SELECT p.seq, count(*) OVER () AS n_p, coalesce(sum(octet_length(d.body) + "
        "coalesce(octet_length(d.query), 0) + coalesce(octet_length(s.response), 0)) OVER "
        "(ORDER BY p.seq DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before "
        "FROM p JOIN deliveries d ON d.seq = p.seq JOIN delivery_state s ON s.seq = p.seq) "
        "SELECT " LOG_COLS ", q.n_p FROM q JOIN delivery_state s ON s.seq = q.seq" LOG_JOINS
        " WHERE q.before < $5 ORDER BY s.seq DESC";
    list_ctx *x = ctx;
    hookd_buf states = {0};
    pg_array_begin(&states);
    for (size_t i = 0; i < x->n_states; i++)
        pg_array_int(&states, x->states[i]);
    int rc = pg_array_end(&states);
    PGresult *r = NULL;
    if (rc == 0) {
        pg_params p = {.n = 0};
        pg_p_int(&p, x->key);
        pg_p_text(&p, states.data);
        pg_p_int(&p, x->cursor > 0 ? x->cursor : INT64_MAX);
        pg_p_int(&p, x->limit + 1);
        pg_p_int(&p, HOOKD_STORE_PAGE_BYTES);
        rc = pg_run(c, SQL, &p, &r);
    }
    hookd_buf_free(&states);
    if (rc)
        return rc;
    int rows = PQntuples(r);
    int64_t n_p = rows ? pg_int(r, 0, 22) : 0;
    x->list = calloc((size_t)rows + 1, sizeof *x->list);
    rc = x->list ? 0 : HOOKD_ENOMEM;
    /* Bodies are stored compressed: the budget counts them again as read. */
    size_t bytes = 0;
    for (x->n = 0; rc == 0 && x->n < (size_t)rows && bytes < HOOKD_STORE_PAGE_BYTES; x->n++) {
        if (!(x->list[x->n] = row_delivery(r, (int)x->n)))
            rc = HOOKD_ENOMEM;
        else
            bytes += hookd_delivery_bytes(x->list[x->n]);
    }
    x->cut = (int64_t)x->n < n_p;
    PQclear(r);
    return rc;
}

static void list_free(hookd_delivery **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        hookd_delivery_free(list[i]);
    free(list);
}

int pg_delivery_list(hookd_store *st, int64_t key, const hookd_delivery_state *states,
                     size_t n_states, int limit, int64_t cursor, hookd_delivery ***out, size_t *n,
                     int64_t *next_cursor)
{
    list_ctx x = {
        .key = key, .cursor = cursor, .states = states, .n_states = n_states, .limit = limit};
    int rc = pg_once(PG(st), list_run, &x);
    if (rc) {
        list_free(x.list, x.n);
        return rc;
    }
    *next_cursor = 0;
    if (x.cut) {
        /* Cut short by bytes: the next page starts after the last read. */
        *next_cursor = x.list[x.n - 1]->seq;
    } else if (x.n > (size_t)limit) {
        hookd_delivery_free(x.list[limit]);
        x.n = (size_t)limit;
        *next_cursor = x.list[limit - 1]->seq;
    }
    *out = x.list;
    *n = x.n;
    return 0;
}

typedef struct get_ctx {
    int64_t key;
    const char *id;
    hookd_delivery *d;
    hookd_attempt *att;
    size_t n_att;
} get_ctx;

/* The history (a JSON array of [time, status, error, duration, response],
 * oldest first) and the last attempt, into x->att. */
static int attempts_of(get_ctx *x, const PGresult *r)
{
    hookd_delivery *d = x->d;
    json_t *hist = pg_json(r, 0, 22);
    size_t nh = json_array_size(hist);
    x->att = calloc(nh + 1, sizeof *x->att);
    int rc = x->att ? 0 : HOOKD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < nh && x->n_att < (size_t)d->attempts; i++) {
        json_t *a = json_array_get(hist, i);
        hookd_attempt *at = &x->att[x->n_att++];
        const char *err = json_string_value(json_array_get(a, 2));
        const char *resp = json_string_value(json_array_get(a, 4));
        at->time_ms = json_integer_value(json_array_get(a, 0));
        at->status_code = (int)json_integer_value(json_array_get(a, 1));
        at->duration_ms = json_integer_value(json_array_get(a, 3));
        if ((err && !(at->error = strdup(err))) || (resp && !(at->response_body = strdup(resp))))
            rc = HOOKD_ENOMEM;
    }
    json_decref(hist);
    if (rc == 0 && d->attempts > 0) {
        hookd_attempt *at = &x->att[x->n_att++];
        at->time_ms = d->last_at;
        at->status_code = d->status_code;
        at->duration_ms = d->duration_ms < 0 ? 0 : d->duration_ms;
        if ((d->error && !(at->error = strdup(d->error))) ||
            (d->response_body && !(at->response_body = strdup(d->response_body))))
            rc = HOOKD_ENOMEM;
    }
    return rc;
}

static int get_run(pg_store *s, pg_conn *c, void *ctx)
{
    (void)s;
    /* The row and its history in one statement: an attempt recorded in
     * between cannot be listed twice. */
    static const char SQL[] =
        "SELECT " LOG_COLS ", (SELECT json_agg(json_build_array(a.time, a.status, a.error, "
        "a.duration_ms, a.response) ORDER BY a.n) FROM attempts a WHERE a.seq = s.seq) "
        "FROM delivery_state s" LOG_JOINS " WHERE d.id = $1 AND s.webhook = $2";
    get_ctx *x = ctx;
    pg_params p = {.n = 0};
    pg_p_text(&p, x->id);
    pg_p_int(&p, x->key);
    PGresult *r;
    int rc = pg_run_row(c, SQL, &p, &r);
    if (rc)
        return rc;
    if (!(x->d = row_delivery(r, 0)))
        rc = HOOKD_ENOMEM;
    else
        rc = attempts_of(x, r);
    PQclear(r);
    return rc;
}

int pg_delivery_get(hookd_store *st, int64_t key, const char *delivery_id, hookd_delivery **out,
                    hookd_attempt **attempts, size_t *n_attempts)
{
    get_ctx x = {.key = key, .id = delivery_id};
    int rc = pg_once(PG(st), get_run, &x);
    if (rc) {
        hookd_delivery_free(x.d);
        hookd_attempts_free(x.att, x.n_att);
        return rc;
    }
    *out = x.d;
    *attempts = x.att;
    *n_attempts = x.n_att;
    return 0;
}

/*
 * pg.c — the PostgreSQL backend's frame (see pg_int.h): the schema and its
 * migrations, the pool of connections, statements and COPY, transactions,
 * notices between processes, custom fields, and the table of commands
 * (API keys: pg_keys.c).
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/pg_int.h"
#include "util/crypto.h"
#include "util/json.h"
#include "util/log.h"
#include "util/lz.h"
#include "util/timeutil.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define TX_TRIES 8         /* runs of one transaction before giving up */
#define BACKSTOP_MS 1000   /* the notice thread's look at everything */
/* pg_advisory_lock keys: any numbers no other program on the database
 * uses; "hookd" in ASCII, then which lock. */
#define LOCK_MIGRATE 0x686f6f6b6401LL
#define LOCK_WEBHOOKS 0x686f6f6b6402LL

/* ---- the schema ---------------------------------------------------------
 *
 * Applied in order under an advisory lock, so processes starting together
 * apply each once; hookd_migrations records which ran. Never edit one that
 * has shipped: append. Numbers stored (state, kind, method) are those of
 * model/delivery_state.h, model/payload.h and model/webhook.h. Times are
 * Unix milliseconds from hookd's clock, except lease_until, which is the
 * database's (hookd_ms()), so processes with different clocks agree on
 * when a claim ran out.
 */
static const char *const MIGRATIONS[] = {
    /* 1: everything */
    "CREATE FUNCTION hookd_ms() RETURNS bigint LANGUAGE sql VOLATILE AS "
    "  $$SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint$$;"
    "CREATE TABLE meta(id int PRIMARY KEY CHECK (id = 1), webhooks_gen bigint NOT NULL);"
    "INSERT INTO meta VALUES (1, 1);"
    "CREATE TABLE api_keys(hash bytea PRIMARY KEY, created_at bigint NOT NULL);"
    "CREATE TABLE webhooks(key bigserial PRIMARY KEY, id text NOT NULL UNIQUE,"
    "  doc text NOT NULL, created_at bigint NOT NULL, version bigint NOT NULL);"
    "CREATE TABLE webhook_versions(webhook bigint NOT NULL, version bigint NOT NULL,"
    "  url text NOT NULL, headers text NOT NULL, PRIMARY KEY (webhook, version));"
    "CREATE TABLE webhook_counts(webhook bigint PRIMARY KEY, open bigint NOT NULL DEFAULT 0,"
    "  skipped bigint NOT NULL DEFAULT 0);"
    "CREATE TABLE webhook_hours(webhook bigint NOT NULL, hour bigint NOT NULL,"
    "  succeeded bigint NOT NULL DEFAULT 0, failed bigint NOT NULL DEFAULT 0,"
    "  retried bigint NOT NULL DEFAULT 0, PRIMARY KEY (webhook, hour));"
    "CREATE TABLE fields(seq bigserial PRIMARY KEY, id text NOT NULL UNIQUE,"
    "  name text NOT NULL, type text NOT NULL, object text NOT NULL,"
    "  created_at bigint NOT NULL);"
    "CREATE TABLE people(key bigserial PRIMARY KEY, contact_id text NOT NULL UNIQUE,"
    "  account_id text, fields json NOT NULL, created_at bigint NOT NULL,"
    "  updated_at bigint NOT NULL);"
    /* The usual merge keys get an index; merging by another field scans. */
    "CREATE INDEX people_email ON people ((fields->>'str::email'));"
    "CREATE INDEX people_ei ON people ((fields->>'str::ei'));"
    "CREATE TABLE accounts(key bigserial PRIMARY KEY, account_id text NOT NULL UNIQUE,"
    "  name text UNIQUE, fields json NOT NULL, created_at bigint NOT NULL,"
    "  updated_at bigint NOT NULL);"
    "CREATE TABLE activity_ids(id text PRIMARY KEY, created_at bigint NOT NULL);"
    /* A delivery: what never changes (deliveries, the body LZ4-packed when
     * that pays), its state (delivery_state, narrow), its earlier attempts
     * (attempts; the last lives in delivery_state), and while it waits a
     * queue row with its claim. */
    "CREATE SEQUENCE delivery_seq;"
    "CREATE TABLE deliveries(seq bigint PRIMARY KEY, id text NOT NULL UNIQUE,"
    "  kind smallint NOT NULL, method smallint NOT NULL, person bigint, activity_id text,"
    "  field_id text, created_at bigint NOT NULL, query text, body bytea NOT NULL,"
    "  packed boolean NOT NULL);"
    "CREATE TABLE delivery_state(seq bigint PRIMARY KEY, webhook bigint NOT NULL,"
    "  state smallint NOT NULL, attempts int NOT NULL DEFAULT 0, next_at bigint,"
    "  finished_at bigint, last_at bigint, status int, duration_ms bigint, error text,"
    "  response text, hver bigint, signature text);"
    /* A log page of one state is one range of (webhook, state, -seq). On
     * seq itself the planner, not knowing the state, would rather walk the
     * primary key backwards and filter (a second instead of a
     * millisecond when the state is rare); only this index gives -seq
     * order. */
    "CREATE INDEX delivery_log ON delivery_state (webhook, state, (-seq));"
    "CREATE TABLE attempts(seq bigint NOT NULL, n int NOT NULL, time bigint NOT NULL,"
    "  status int, error text, duration_ms bigint, response text, PRIMARY KEY (seq, n));"
    "CREATE TABLE queue(seq bigint PRIMARY KEY, webhook bigint NOT NULL,"
    "  next_at bigint NOT NULL, owner text, lease_until bigint NOT NULL DEFAULT 0)"
    "  WITH (fillfactor = 70);"
    "CREATE INDEX queue_due ON queue (webhook, next_at, seq);",

    /* 2: keys with names and scopes (model/apikey.h numbers the scopes). The
     * keys stored before had only a hash and a time: each was the key made
     * at first start, so each becomes an admin key named "initial", its id
     * a UUIDv7 of its creation time (as hookd_id_new makes). */
    "CREATE TABLE api_keys2(id text PRIMARY KEY, name text NOT NULL, scope smallint NOT NULL,"
    "  hash bytea NOT NULL UNIQUE, created_at bigint NOT NULL, last_used_at bigint);"
    "INSERT INTO api_keys2(id, name, scope, hash, created_at) SELECT"
    "  substr(t, 1, 8) || '-' || substr(t, 9, 4) || '-7' || substr(md5(random()::text), 1, 3)"
    "  || '-' || substr('89ab', 1 + floor(random() * 4)::int, 1)"
    "  || substr(md5(random()::text), 1, 3) || '-' || substr(md5(random()::text), 1, 12),"
    "  'initial', 0, hash, created_at"
    "  FROM (SELECT hash, created_at, lpad(to_hex(created_at), 12, '0') AS t FROM api_keys) k;"
    "DROP TABLE api_keys;"
    "ALTER TABLE api_keys2 RENAME TO api_keys;",

    /* 3: secrets sealed at rest. The documents' secrets are sealed by
     * pg_webhooks_seal_all in the same transaction (SEAL_MIGRATION); meta
     * keeps the master key's check value. */
    "ALTER TABLE meta ADD COLUMN seal_check text;",

    /* 4: a resend's webhook-id is its original's (NULL: the delivery's own
     * id). */
    "ALTER TABLE deliveries ADD COLUMN msg_id text;",

    /* 5: each webhook's streak of failed attempts (hookd_streak), a row
     * only while one runs, shared by every process and kept over
     * restarts. */
    ("CREATE TABLE webhook_streaks(webhook bigint PRIMARY KEY, since bigint NOT NULL,"
     "  failed bigint NOT NULL);"),
};
/* The migration after which webhook documents hold their secrets sealed. */
#define SEAL_MIGRATION 3
#define N_MIGRATIONS ((int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))

/* ---- statements ------------------------------------------------------------ */

void pg_p_text(pg_params *p, const char *s)
{
    p->v[p->n] = s;
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

void pg_p_int(pg_params *p, int64_t v)
{
    snprintf(p->num[p->n], sizeof p->num[p->n], "%lld", (long long)v);
    pg_p_text(p, p->num[p->n]);
}

void pg_p_int_or_null(pg_params *p, int64_t v, bool is_null)
{
    if (is_null)
        pg_p_text(p, NULL);
    else
        pg_p_int(p, v);
}

void pg_p_bytes(pg_params *p, const void *data, size_t len)
{
    p->v[p->n] = data;
    p->len[p->n] = (int)len;
    p->fmt[p->n] = 1;
    p->n++;
}

void pg_array_begin(hookd_buf *b)
{
    b->len = 0;
    hookd_buf_append(b, "{", 1);
}

static void array_sep(hookd_buf *b)
{
    if (b->len > 1)
        hookd_buf_append(b, ",", 1);
}

void pg_array_int(hookd_buf *b, int64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%lld", (long long)v);
    array_sep(b);
    hookd_buf_append(b, num, (size_t)n);
}

void pg_array_text(hookd_buf *b, const char *s)
{
    array_sep(b);
    if (!s) {
        hookd_buf_append(b, "NULL", 4);
        return;
    }
    /* Quoted, with " and \ escaped: any text survives, "NULL" included. */
    hookd_buf_append(b, "\"", 1);
    for (const char *p = s; *p;) {
        size_t run = strcspn(p, "\"\\");
        hookd_buf_append(b, p, run);
        p += run;
        if (*p) {
            char esc[2] = {'\\', *p++};
            hookd_buf_append(b, esc, 2);
        }
    }
    hookd_buf_append(b, "\"", 1);
}

int pg_array_end(hookd_buf *b)
{
    hookd_buf_append(b, "}", 1);
    return b->failed ? HOOKD_ENOMEM : 0;
}

/* Maps the failed result r (or the connection) to a code, noting the
 * SQLSTATE and logging what the caller cannot expect. */
static int fail(pg_conn *c, PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    snprintf(c->sqlstate, sizeof c->sqlstate, "%s", state ? state : "");
    if (PQstatus(c->db) != CONNECTION_OK)
        c->broken = true;
    int rc = HOOKD_EUNAVAIL;
    if (strcmp(c->sqlstate, "23505") == 0)
        rc = HOOKD_ECONFLICT;
    else if (strcmp(c->sqlstate, "40P01") == 0 || strcmp(c->sqlstate, "40001") == 0)
        rc = PG_ERETRY;
    if (rc == HOOKD_EUNAVAIL) {
        const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c->db);
        hookd_log_error("postgres: %s%s%.*s", c->sqlstate[0] ? c->sqlstate : "",
                        c->sqlstate[0] ? " " : "", (int)strcspn(msg, "\n"), msg);
    }
    PQclear(r);
    return rc;
}

static bool result_ok(const PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* The name of sql's prepared statement on c, preparing it if needed;
 * NULL on failure (rc set). */
static const char *prepared(pg_conn *c, const char *sql, char name[16], int *rc)
{
    int i;
    for (i = 0; i < c->nprepared; i++) {
        if (c->prepared[i] == sql)
            break;
    }
    snprintf(name, 16, "s%d", i);
    if (i < c->nprepared)
        return name;
    if (i == PG_STMT_CACHE) {
        *rc = 1; /* no room: the caller runs it unprepared */
        return NULL;
    }
    PGresult *r = PQprepare(c->db, name, sql, 0, NULL);
    if (!result_ok(r)) {
        *rc = fail(c, r);
        return NULL;
    }
    PQclear(r);
    c->prepared[c->nprepared++] = sql;
    return name;
}

int pg_run(pg_conn *c, const char *sql, const pg_params *p, PGresult **res)
{
    static const pg_params none = {.n = 0};
    char name[16];
    int rc = 0;
    if (!p)
        p = &none;
    c->sqlstate[0] = '\0';
    const char *stmt = prepared(c, sql, name, &rc);
    if (!stmt && rc < 0)
        return rc;
    PGresult *r = stmt ? PQexecPrepared(c->db, stmt, p->n, p->v, p->len, p->fmt, 0)
                       : PQexecParams(c->db, sql, p->n, NULL, p->v, p->len, p->fmt, 0);
    if (!result_ok(r))
        return fail(c, r);
    if (res)
        *res = r;
    else
        PQclear(r);
    return 0;
}

int pg_run_row(pg_conn *c, const char *sql, const pg_params *p, PGresult **res)
{
    int rc = pg_run(c, sql, p, res);
    if (rc == 0 && PQntuples(*res) == 0) {
        PQclear(*res);
        *res = NULL;
        rc = HOOKD_ENOTFOUND;
    }
    return rc;
}

int pg_exec(pg_conn *c, const char *sql)
{
    c->sqlstate[0] = '\0';
    PGresult *r = PQexec(c->db, sql);
    if (!result_ok(r))
        return fail(c, r);
    PQclear(r);
    return 0;
}

int64_t pg_int(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

bool pg_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col);
}

char *pg_strdup(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : strdup(PQgetvalue(r, row, col));
}

void pg_id(const PGresult *r, int row, int col, char out[HOOKD_ID_MAX])
{
    snprintf(out, HOOKD_ID_MAX, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

json_t *pg_json(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return NULL;
    json_error_t jerr;
    json_t *v =
        hookd_json_loadb(PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col), 0, &jerr);
    if (!v)
        hookd_log_error("postgres: a stored document is damaged: %s", jerr.text);
    return v;
}

int pg_body(const PGresult *r, int row, int col, char **out, size_t *len)
{
    size_t n;
    unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &n);
    *out = NULL;
    if (!raw)
        return HOOKD_ENOMEM;
    int rc = 0;
    if (strcmp(PQgetvalue(r, row, col + 1), "t") == 0) {
        if (hookd_lz_unpack(raw, n, out, len) != 0) {
            hookd_log_error("postgres: a stored body is damaged");
            rc = HOOKD_EUNAVAIL;
        }
    } else if ((*out = malloc(n + 1)) != NULL) {
        memcpy(*out, raw, n);
        (*out)[n] = '\0';
        *len = n;
    } else {
        rc = HOOKD_ENOMEM;
    }
    PQfreemem(raw);
    return rc;
}

/* ---- COPY in PostgreSQL's binary format -------------------------------------- */

static void copy_raw(pg_copy *cp, const void *p, size_t n)
{
    hookd_buf_append(&cp->b, p, n);
}

static void copy_len(pg_copy *cp, int32_t n)
{
    uint32_t be = htobe32((uint32_t)n);
    copy_raw(cp, &be, 4);
}

void pg_copy_begin(pg_copy *cp)
{
    static const char HEAD[] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0"; /* + flags, ext length */
    memset(cp, 0, sizeof *cp);
    copy_raw(cp, HEAD, 19);
}

void pg_copy_row(pg_copy *cp, int nfields)
{
    uint16_t be = htobe16((uint16_t)nfields);
    copy_raw(cp, &be, 2);
}

void pg_copy_int8(pg_copy *cp, int64_t v)
{
    uint64_t be = htobe64((uint64_t)v);
    copy_len(cp, 8);
    copy_raw(cp, &be, 8);
}

void pg_copy_int4(pg_copy *cp, int v)
{
    uint32_t be = htobe32((uint32_t)v);
    copy_len(cp, 4);
    copy_raw(cp, &be, 4);
}

void pg_copy_int2(pg_copy *cp, int v)
{
    uint16_t be = htobe16((uint16_t)v);
    copy_len(cp, 2);
    copy_raw(cp, &be, 2);
}

void pg_copy_null(pg_copy *cp)
{
    copy_len(cp, -1);
}

void pg_copy_text(pg_copy *cp, const char *s)
{
    if (!s) {
        pg_copy_null(cp);
        return;
    }
    size_t n = strlen(s);
    copy_len(cp, (int32_t)n);
    copy_raw(cp, s, n);
}

void pg_copy_body(pg_copy *cp, const char *body, size_t len)
{
    unsigned char *packed = NULL;
    size_t plen = 0;
    int rc = hookd_lz_pack(body, len, &packed, &plen);
    if (rc < 0) {
        cp->failed = HOOKD_ENOMEM;
        return;
    }
    copy_len(cp, (int32_t)(rc == 1 ? plen : len));
    copy_raw(cp, rc == 1 ? (const char *)packed : body, rc == 1 ? plen : len);
    copy_len(cp, 1);
    copy_raw(cp, rc == 1 ? "\1" : "\0", 1);
    free(packed);
}

int pg_copy_end(pg_conn *c, pg_copy *cp, const char *sql)
{
    static const char TRAILER[2] = {'\377', '\377'};
    copy_raw(cp, TRAILER, 2);
    int rc = cp->failed || cp->b.failed ? HOOKD_ENOMEM : 0;
    if (rc == 0) {
        c->sqlstate[0] = '\0';
        PGresult *r = PQexec(c->db, sql);
        if (PQresultStatus(r) != PGRES_COPY_IN) {
            rc = fail(c, r);
        } else {
            PQclear(r);
            if (PQputCopyData(c->db, cp->b.data, (int)cp->b.len) != 1 ||
                PQputCopyEnd(c->db, NULL) != 1) {
                rc = fail(c, NULL);
            } else {
                /* The COPY's result, then the end of the results. */
                while ((r = PQgetResult(c->db)) != NULL) {
                    if (rc == 0 && !result_ok(r))
                        rc = fail(c, r);
                    else
                        PQclear(r);
                }
            }
        }
    }
    hookd_buf_free(&cp->b);
    return rc;
}

/* ---- the pool ---------------------------------------------------------------- */

/* libpq would print the server's notices on stderr itself, past the log's
 * format and level: they go through the log instead. A NOTICE (such as
 * "relation … already exists, skipping" at each start) is debug, a WARNING
 * warn. */
static void on_server_notice(void *arg, const PGresult *res)
{
    (void)arg;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    hookd_log(sev && strcmp(sev, "WARNING") == 0 ? HOOKD_LOG_WARN : HOOKD_LOG_DEBUG,
              "postgres: %s: %s", sev ? sev : "NOTICE", msg ? msg : "");
}

static void conn_close(pg_conn *c)
{
    if (c->db)
        PQfinish(c->db);
    memset(c, 0, sizeof *c);
}

/* Connects c; 0, or HOOKD_EUNAVAIL with the reason in err. */
static int conn_open(pg_store *s, pg_conn *c, char *err, size_t errlen)
{
    conn_close(c);
    c->db = PQconnectdb(s->conninfo);
    if (c->db)
        PQsetNoticeReceiver(c->db, on_server_notice, NULL);
    if (PQstatus(c->db) != CONNECTION_OK) {
        const char *msg = PQerrorMessage(c->db);
        snprintf(err, errlen, "%.*s", (int)strcspn(msg, "\n"), msg);
        conn_close(c);
        return HOOKD_EUNAVAIL;
    }
    /* Stored text is UTF-8 (JSON, bodies); a database in another encoding
     * would convert or refuse it. */
    const char *enc = PQparameterStatus(c->db, "server_encoding");
    if (!enc || strcmp(enc, "UTF8") != 0) {
        snprintf(err, errlen, "the database's encoding is %s; hookd needs UTF8 "
                              "(CREATE DATABASE … ENCODING 'UTF8')", enc ? enc : "unknown");
        conn_close(c);
        return HOOKD_EUNAVAIL;
    }
    /* Every write waits for its commit to be durable: a 2xx means on disk. */
    if (pg_exec(c, "SET synchronous_commit = on; SET client_encoding = 'UTF8'; "
                   "SET application_name = 'hookd'") != 0) {
        snprintf(err, errlen, "cannot set up the connection");
        conn_close(c);
        return HOOKD_EUNAVAIL;
    }
    c->sealer = s->base.sealer;
    return 0;
}

pg_conn *pg_get(pg_store *s, int *rc)
{
    pthread_mutex_lock(&s->lock);
    int i;
    for (;;) {
        for (i = 0; i < PG_POOL && s->busy[i]; i++)
            ;
        if (i < PG_POOL)
            break;
        pthread_cond_wait(&s->freed, &s->lock);
    }
    s->busy[i] = true;
    pg_conn *c = &s->pool[i];
    bool need = c->db == NULL;
    int64_t now = hookd_now_ms();
    bool wait = need && now < s->retry_at;
    pthread_mutex_unlock(&s->lock);
    if (!need)
        return c;
    char err[256];
    /* While the database is away, callers fail at once (503) rather than
     * each waiting for a connect timeout; one try per backoff period. */
    *rc = wait ? HOOKD_EUNAVAIL : conn_open(s, c, err, sizeof err);
    pthread_mutex_lock(&s->lock);
    if (*rc == 0) {
        s->backoff_ms = 0;
        s->retry_at = 0;
    } else if (!wait) {
        s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_MIN_MS;
        if (s->backoff_ms > BACKOFF_MAX_MS)
            s->backoff_ms = BACKOFF_MAX_MS;
        s->retry_at = hookd_now_ms() + s->backoff_ms;
        hookd_log_error("postgres: cannot connect: %s (next try in %lld ms)", err,
                        (long long)s->backoff_ms);
    }
    if (*rc) {
        s->busy[i] = false;
        pthread_cond_signal(&s->freed);
        c = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    return c;
}

void pg_put(pg_store *s, pg_conn *c)
{
    if (c->broken || (c->db && PQstatus(c->db) != CONNECTION_OK))
        conn_close(c);
    pthread_mutex_lock(&s->lock);
    s->busy[c - s->pool] = false;
    pthread_cond_signal(&s->freed);
    pthread_mutex_unlock(&s->lock);
}

/* ---- transactions ------------------------------------------------------------- */

int pg_tx(pg_store *s, pg_tx_fn fn, void *ctx)
{
    int rc = 0;
    for (int tries = 0; tries < TX_TRIES; tries++) {
        pg_conn *c = pg_get(s, &rc);
        if (!c)
            return rc;
        rc = pg_exec(c, "BEGIN");
        if (rc == 0)
            rc = fn(s, c, ctx);
        /* A COMMIT that fails on a lost connection may still have
         * committed: it is not run again (HOOKD_EUNAVAIL, as for any
         * write the store could not confirm). */
        if (rc == 0)
            rc = pg_exec(c, "COMMIT");
        else if (!c->broken)
            pg_exec(c, "ROLLBACK");
        pg_put(s, c);
        if (rc != PG_ERETRY)
            return rc;
        /* Deadlock or serialization: the other transaction went on; wait a
         * moment that grows, so the two do not meet again at once. */
        usleep((useconds_t)(1000 << (tries < 6 ? tries : 6)));
    }
    hookd_log_error("postgres: a transaction met conflicts %d times; giving up", TX_TRIES);
    return HOOKD_EUNAVAIL;
}

int pg_once(pg_store *s, pg_tx_fn fn, void *ctx)
{
    int rc = 0;
    for (int tries = 0; tries < 2; tries++) {
        pg_conn *c = pg_get(s, &rc);
        if (!c)
            return rc;
        rc = fn(s, c, ctx);
        bool lost = c->broken;
        pg_put(s, c);
        /* A connection found dead (the database restarted) is made again
         * once; a read is safe to repeat. */
        if (!lost)
            return rc;
    }
    return rc;
}

int pg_notify(pg_conn *c, pg_store *s, char kind, int64_t key)
{
    static const char SQL[] = "SELECT pg_notify('" PG_CHANNEL "', $1)";
    char payload[64];
    snprintf(payload, sizeof payload, "%c %lld %s", kind, (long long)key, s->owner);
    pg_params p = {.n = 0};
    pg_p_text(&p, payload);
    return pg_run(c, SQL, &p, NULL);
}

int pg_lock_webhooks(pg_conn *c, bool exclusive)
{
    static const char SQL_SHARED[] = "SELECT pg_advisory_xact_lock_shared($1)";
    static const char SQL_ALONE[] = "SELECT pg_advisory_xact_lock($1)";
    pg_params p = {.n = 0};
    pg_p_int(&p, LOCK_WEBHOOKS);
    return pg_run(c, exclusive ? SQL_ALONE : SQL_SHARED, &p, NULL);
}

/* ---- migrations ------------------------------------------------------------------ */

/* Checks the master key against the stored check value, or stores one
 * (under the migration lock, so processes starting together agree). */
static int check_key(pg_conn *c, const hookd_store_options *opt, char *err, size_t errlen)
{
    PGresult *r = NULL;
    int rc = pg_run(c, "SELECT seal_check FROM meta WHERE id = 1", NULL, &r);
    if (rc || PQntuples(r) != 1) {
        PQclear(r);
        snprintf(err, errlen, "cannot read the master key's check value");
        return rc ? rc : HOOKD_EUNAVAIL;
    }
    char *made = NULL;
    rc = hookd_seal_check(opt, PQgetisnull(r, 0, 0) ? NULL : PQgetvalue(r, 0, 0), &made, err,
                          errlen);
    PQclear(r);
    if (rc == 0 && made) {
        pg_params p = {.n = 0};
        pg_p_text(&p, made);
        if ((rc = pg_run(c, "UPDATE meta SET seal_check = $1 WHERE id = 1", &p, NULL)) != 0)
            snprintf(err, errlen, "cannot store the master key's check value");
        free(made);
    }
    return rc;
}

static int migrate(pg_conn *c, const hookd_store_options *opt, char *err, size_t errlen)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_advisory_lock(%lld)", LOCK_MIGRATE);
    int rc = pg_exec(c, sql);
    if (rc == 0)
        rc = pg_exec(c, "CREATE TABLE IF NOT EXISTS hookd_migrations(version int PRIMARY KEY,"
                        " applied_at timestamptz NOT NULL DEFAULT now())");
    PGresult *r = NULL;
    if (rc == 0)
        rc = pg_run(c, "SELECT COALESCE(MAX(version), 0) FROM hookd_migrations", NULL, &r);
    int have = rc == 0 ? (int)pg_int(r, 0, 0) : 0;
    PQclear(r);
    if (rc == 0 && have > N_MIGRATIONS) {
        snprintf(err, errlen, "the database's schema (%d) is newer than this hookd (%d)", have,
                 N_MIGRATIONS);
        rc = HOOKD_EUNAVAIL;
    }
    for (int v = have + 1; rc == 0 && v <= N_MIGRATIONS; v++) {
        char done[96];
        snprintf(done, sizeof done, "INSERT INTO hookd_migrations(version) VALUES (%d)", v);
        rc = pg_exec(c, "BEGIN");
        if (rc == 0)
            rc = pg_exec(c, MIGRATIONS[v - 1]);
        if (rc == 0 && v == SEAL_MIGRATION)
            rc = pg_webhooks_seal_all(c, opt->sealer);
        if (rc == 0)
            rc = pg_exec(c, done);
        if (rc == 0)
            rc = pg_exec(c, "COMMIT");
        if (rc) {
            pg_exec(c, "ROLLBACK");
            snprintf(err, errlen, "schema migration %d failed", v);
        } else {
            hookd_log_info("store: applied schema migration %d", v);
        }
    }
    if (rc == 0)
        rc = check_key(c, opt, err, errlen);
    snprintf(sql, sizeof sql, "SELECT pg_advisory_unlock(%lld)", LOCK_MIGRATE);
    if (c->db && !c->broken)
        pg_exec(c, sql);
    if (rc && !err[0])
        snprintf(err, errlen, "cannot read the schema's version");
    return rc;
}

/* ---- notices between processes ------------------------------------------------------ */

typedef struct webhook_ctx {
    int64_t key;
    hookd_webhook *wh;
} webhook_ctx;

static int load_by_key(pg_store *s, pg_conn *c, void *ctx)
{
    (void)s;
    webhook_ctx *w = ctx;
    return pg_webhook_by_key(c, w->key, &w->wh);
}

/* A webhook another process changed (or deleted): tell the listener. */
static void webhook_changed(pg_store *s, int64_t key, uint64_t version_seen)
{
    uint64_t known = (uint64_t)(uintptr_t)hookd_intmap_get(&s->versions, key);
    if (version_seen && version_seen == known)
        return;
    webhook_ctx w = {.key = key};
    int rc = pg_once(s, load_by_key, &w);
    if (rc == HOOKD_ENOTFOUND) {
        if (hookd_intmap_del(&s->versions, key) && s->base.listener.webhook)
            s->base.listener.webhook(s->base.listener.ctx, key, NULL);
        return;
    }
    if (rc)
        return; /* the next backstop tries again */
    if (w.wh->version != known) {
        if (hookd_intmap_put(&s->versions, key, (void *)(uintptr_t)w.wh->version) == 0 &&
            s->base.listener.webhook)
            s->base.listener.webhook(s->base.listener.ctx, key, w.wh);
    }
    hookd_webhook_free(w.wh);
}

static void due(pg_store *s, int64_t key)
{
    if (s->base.listener.due)
        s->base.listener.due(s->base.listener.ctx, key);
}

static void on_notice(pg_store *s, const char *payload)
{
    char kind = 0, owner[PG_OWNER_LEN + 1] = "";
    long long key = 0;
    if (sscanf(payload, "%c %lld %17s", &kind, &key, owner) != 3 || strcmp(owner, s->owner) == 0)
        return; /* its own: told when it committed */
    if (kind == 'w')
        webhook_changed(s, key, 0);
    else if (kind == 'd')
        due(s, key);
}

typedef struct backstop_ctx {
    PGresult *r;
} backstop_ctx;

static int backstop_read(pg_store *s, pg_conn *c, void *ctx)
{
    (void)s;
    static const char SQL[] =
        "SELECT w.key, w.version, EXISTS (SELECT 1 FROM queue q WHERE q.webhook = w.key AND "
        "q.next_at <= $1 AND q.lease_until < hookd_ms() ORDER BY q.webhook, q.next_at LIMIT 1) "
        "FROM webhooks w ORDER BY w.key";
    pg_params p = {.n = 0};
    pg_p_int(&p, hookd_now_ms());
    return pg_run(c, SQL, &p, &((backstop_ctx *)ctx)->r);
}

/* Once a second: every webhook's version and whether unclaimed work is due,
 * against what this process was told (a notice can be lost with its
 * connection). The first look only learns the versions: the engine read
 * the webhooks itself when it started. */
static void backstop(pg_store *s, bool first)
{
    backstop_ctx b = {0};
    if (pg_once(s, backstop_read, &b) != 0)
        return;
    int rows = PQntuples(b.r);
    hookd_intmap seen = {0};
    for (int i = 0; i < rows; i++) {
        int64_t key = pg_int(b.r, i, 0);
        uint64_t version = (uint64_t)pg_int(b.r, i, 1);
        if (hookd_intmap_put(&seen, key, (void *)1) != 0)
            break;
        if (first) {
            if (hookd_intmap_put(&s->versions, key, (void *)(uintptr_t)version) != 0)
                break;
            continue;
        }
        webhook_changed(s, key, version);
        if (strcmp(PQgetvalue(b.r, i, 2), "t") == 0)
            due(s, key);
    }
    /* Known but no longer there: deleted. Gathered first, since deleting
     * moves keys within the map being walked. */
    int64_t *gone = NULL;
    size_t n_gone = 0, cap_gone = 0;
    for (size_t i = 0; !first && i < s->versions.cap; i++) {
        int64_t key = s->versions.keys[i];
        if (key && !hookd_intmap_get(&seen, key) &&
            hookd_array_grow(&gone, &cap_gone, n_gone, sizeof *gone) == 0)
            gone[n_gone++] = key;
    }
    for (size_t i = 0; i < n_gone; i++) {
        hookd_intmap_del(&s->versions, gone[i]);
        if (s->base.listener.webhook)
            s->base.listener.webhook(s->base.listener.ctx, gone[i], NULL);
    }
    free(gone);
    hookd_intmap_free(&seen);
    PQclear(b.r);
}

/* The notice connection: it listens, and holds the session lock that says
 * this process is alive (pg_reclaim_dead, at another's start). */
static PGconn *listen_conn(pg_store *s)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT " PG_OWNER_LOCK_SQL("'%s'") "; LISTEN " PG_CHANNEL,
             s->owner);
    PGconn *db = PQconnectdb(s->conninfo);
    if (db)
        PQsetNoticeReceiver(db, on_server_notice, NULL);
    PGresult *r = PQstatus(db) == CONNECTION_OK ? PQexec(db, sql) : NULL;
    bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        PQfinish(db);
        return NULL;
    }
    return db;
}

static void *notice_main(void *arg)
{
    pg_store *s = arg;
    pthread_setname_np(pthread_self(), "hookd-pg-notice");
    PGconn *db = s->notice_db; /* made by pg_listen, or NULL: connect here */
    s->notice_db = NULL;
    int64_t next_backstop = 0, next_connect = 0, backoff = BACKOFF_MIN_MS;
    bool first = true;
    for (;;) {
        int64_t now = hookd_now_ms();
        if (!db && now >= next_connect) {
            if ((db = listen_conn(s)) != NULL) {
                backoff = BACKOFF_MIN_MS;
                next_backstop = now; /* notices may have been missed meanwhile */
            } else {
                next_connect = now + backoff;
                backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
            }
        }
        if (now >= next_backstop) {
            backstop(s, first);
            first = false;
            next_backstop = now + BACKSTOP_MS;
        }
        int64_t until = next_backstop;
        if (!db && next_connect < until)
            until = next_connect;
        struct pollfd fds[2] = {{.fd = s->wake[0], .events = POLLIN},
                                {.fd = db ? PQsocket(db) : -1, .events = POLLIN}};
        int wait = until > now ? (int)(until - now) : 0;
        if (poll(fds, 2, wait) < 0 && errno != EINTR)
            break;
        if (fds[0].revents)
            break; /* stop */
        if (db && fds[1].revents) {
            if (PQconsumeInput(db) != 1) {
                PQfinish(db);
                db = NULL;
                continue;
            }
            PGnotify *n;
            while ((n = PQnotifies(db)) != NULL) {
                on_notice(s, n->extra);
                PQfreemem(n);
            }
        }
    }
    /* Said before the connection closes (its server process may take a
     * moment to end): a process started right after this one closed
     * must not find it still alive. */
    if (db)
        PQclear(PQexec(db, "SELECT pg_advisory_unlock_all()"));
    PQfinish(db);
    return NULL;
}

static void notice_stop(pg_store *s)
{
    if (!s->notice_running)
        return;
    if (write(s->wake[1], "x", 1) != 1)
        hookd_log_error("postgres: cannot wake the notice thread");
    pthread_join(s->notice_thread, NULL);
    s->notice_running = false;
    char drain[16];
    while (read(s->wake[0], drain, sizeof drain) > 0)
        ;
}

/* The listener changes: the notice thread runs while there is one. */
static void pg_listen(hookd_store *st, const hookd_store_listener *l)
{
    pg_store *s = PG(st);
    notice_stop(s);
    st->listener = *l;
    if (!l->fresh && !l->webhook && !l->due)
        return;
    /* Connected before anything is claimed, so this process is seen alive
     * from its first claim on (if this fails, the thread keeps trying). */
    s->notice_db = listen_conn(s);
    if (pthread_create(&s->notice_thread, NULL, notice_main, s) == 0) {
        s->notice_running = true;
    } else {
        PQfinish(s->notice_db);
        s->notice_db = NULL;
        hookd_log_error("postgres: cannot start the notice thread; other processes' changes "
                        "reach this one only at a restart");
    }
}

/* ---- custom fields ------------------------------------------------------------ */

#define FIELD_COLS "id, name, type, object, created_at"

typedef struct field_ctx {
    const hookd_custom_field *f;
    const char *id;
    hookd_custom_field **list;
    size_t n;
} field_ctx;

static int field_insert_run(pg_store *s, pg_conn *c, void *ctx)
{
    (void)s;
    static const char SQL[] =
        "INSERT INTO fields(id, name, type, object, created_at) VALUES ($1, $2, $3, $4, $5)";
    const hookd_custom_field *f = ((field_ctx *)ctx)->f;
    pg_params p = {.n = 0};
    pg_p_text(&p, f->id);
    pg_p_text(&p, f->name);
    pg_p_text(&p, hookd_field_type_name(f->type));
    pg_p_text(&p, f->object == HOOKD_OBJ_ACCOUNT ? "account" : "person");
    pg_p_int(&p, f->created_at);
    return pg_run(c, SQL, &p, NULL);
}

static int pg_field_insert(hookd_store *st, const hookd_custom_field *f)
{
    field_ctx x = {.f = f};
    return pg_tx(PG(st), field_insert_run, &x);
}

static hookd_custom_field *row_field(const PGresult *r, int i)
{
    hookd_custom_field *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    const char *type = PQgetvalue(r, i, 2);
    f->id = pg_strdup(r, i, 0);
    f->name = pg_strdup(r, i, 1);
    f->type = hookd_field_type_from_name(type, strlen(type));
    f->object = strcmp(PQgetvalue(r, i, 3), "account") == 0 ? HOOKD_OBJ_ACCOUNT
                                                             : HOOKD_OBJ_PERSON;
    f->created_at = pg_int(r, i, 4);
    if (!f->id || !f->name) {
        hookd_custom_field_free(f);
        return NULL;
    }
    return f;
}

static int field_read_run(pg_store *s, pg_conn *c, void *ctx)
{
    (void)s;
    static const char SQL_ONE[] = "SELECT " FIELD_COLS " FROM fields WHERE id = $1";
    static const char SQL_ALL[] = "SELECT " FIELD_COLS " FROM fields ORDER BY seq";
    field_ctx *x = ctx;
    pg_params p = {.n = 0};
    if (x->id)
        pg_p_text(&p, x->id);
    PGresult *r;
    int rc = pg_run(c, x->id ? SQL_ONE : SQL_ALL, &p, &r);
    if (rc)
        return rc;
    int rows = PQntuples(r);
    x->list = calloc((size_t)(rows ? rows : 1), sizeof *x->list);
    rc = x->list ? 0 : HOOKD_ENOMEM;
    for (x->n = 0; rc == 0 && x->n < (size_t)rows; x->n++) {
        if (!(x->list[x->n] = row_field(r, (int)x->n)))
            rc = HOOKD_ENOMEM;
    }
    PQclear(r);
    return rc;
}

static void fields_free(hookd_custom_field **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        hookd_custom_field_free(list[i]);
    free(list);
}

static int pg_field_get(hookd_store *st, const char *id, hookd_custom_field **out)
{
    field_ctx x = {.id = id};
    int rc = pg_once(PG(st), field_read_run, &x);
    if (rc == 0 && x.n == 0)
        rc = HOOKD_ENOTFOUND;
    if (rc == 0) {
        *out = x.list[0];
        x.list[0] = NULL;
    }
    fields_free(x.list, x.n);
    return rc;
}

static int pg_field_list(hookd_store *st, hookd_custom_field ***out, size_t *n)
{
    field_ctx x = {0};
    int rc = pg_once(PG(st), field_read_run, &x);
    if (rc) {
        fields_free(x.list, x.n);
        return rc;
    }
    *out = x.list;
    *n = x.n;
    return 0;
}

/* ---- opening and closing ----------------------------------------------------------- */

static void pg_close(hookd_store *st)
{
    pg_store *s = PG(st);
    notice_stop(s);
    for (int i = 0; i < PG_POOL; i++)
        conn_close(&s->pool[i]);
    if (s->webhooks) {
        hookd_webhook_list_free(s->webhooks->list, s->webhooks->n);
        free(s->webhooks);
    }
    hookd_intmap_free(&s->versions);
    if (s->wake[0] >= 0) {
        close(s->wake[0]);
        close(s->wake[1]);
    }
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->freed);
    free(s->conninfo);
    free(s);
}

static const hookd_store_ops PG_OPS = {
    .close = pg_close,
    .listen = pg_listen,
    .key_add = pg_key_add,
    .key_list = pg_key_list,
    .key_entries = pg_key_entries,
    .key_revoke = pg_key_revoke,
    .key_touch = pg_key_touch,
    .webhook_insert = pg_webhook_insert,
    .webhook_change = pg_webhook_change,
    .webhook_get = pg_webhook_get,
    .webhook_list = pg_webhook_list,
    .webhook_delete = pg_webhook_delete,
    .webhook_stats = pg_webhook_stats,
    .webhook_hours = pg_webhook_hours,
    .field_insert = pg_field_insert,
    .field_get = pg_field_get,
    .field_list = pg_field_list,
    .people_merge = pg_people_merge,
    .accounts_merge = pg_accounts_merge,
    .person_get = pg_person_get,
    .account_get = pg_account_get,
    .ingest = pg_ingest,
    .due = pg_due,
    .next_due = pg_next_due,
    .renew = pg_renew,
    .release = pg_release,
    .max_seq = pg_max_seq,
    .record_outcomes = pg_record_outcomes,
    .delivery_retry = pg_delivery_retry,
    .recover = pg_recover,
    .delivery_resend = pg_delivery_resend,
    .record_test = pg_record_test,
    .prune = pg_prune,
    .delivery_list = pg_delivery_list,
    .delivery_get = pg_delivery_get,
    .webhook_insert_tested = pg_webhook_insert_tested,
};

int hookd_store_open_pg(const hookd_store_options *opt, hookd_store **out, char *err,
                        size_t errlen)
{
    const char *url = opt->database_url;
    pg_store *s = calloc(1, sizeof *s);
    unsigned char id[8];
    if (!s || !(s->conninfo = strdup(url)) || hookd_random_bytes(id, sizeof id) != 0) {
        if (s)
            free(s->conninfo);
        free(s);
        snprintf(err, errlen, "out of memory");
        return HOOKD_ENOMEM;
    }
    for (size_t i = 0; i < sizeof id; i++)
        snprintf(s->owner + 2 * i, 3, "%02x", id[i]);
    s->base.ops = &PG_OPS;
    s->base.sealer = opt->sealer;
    s->wake[0] = s->wake[1] = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->freed, NULL);
    err[0] = '\0';
    int rc = pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) == 0 ? 0 : HOOKD_EUNAVAIL;
    if (rc)
        snprintf(err, errlen, "cannot make a pipe: %s", strerror(errno));
    /* The first connection proves the URL and runs the migrations; the
     * others are made when first needed. */
    if (rc == 0 && (rc = conn_open(s, &s->pool[0], err, errlen)) == 0)
        rc = migrate(&s->pool[0], opt, err, errlen);
    if (rc == 0 && (rc = pg_reclaim_dead(s)) != 0)
        snprintf(err, errlen, "cannot read the claims of earlier processes");
    if (rc) {
        pg_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

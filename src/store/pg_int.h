/*
 * pg_int.h — private to the PostgreSQL backend (pg*.c): its handle, its
 * connections, statements, transactions, and how processes sharing one
 * database tell each other what changed.
 *
 * Connections: a pool of PG_POOL libpq connections. A command takes one,
 * runs in a transaction of its own (pg_tx), and gives it back. Concurrent
 * commands commit on different connections, and PostgreSQL flushes their
 * commit records together (its own group commit), so the backend needs no
 * writer thread. Statements are prepared once per connection, by the
 * address of their SQL literal.
 *
 * Claims (store.h): a waiting delivery has a row in `queue` with the claim
 * of the process that holds it (owner, lease_until by the database's
 * clock). Ingest makes its deliveries claimed by the ingesting process; a
 * read of due deliveries claims what it returns (FOR UPDATE SKIP LOCKED);
 * an outcome ends the claim. Only waiting deliveries have a queue row, so
 * the claim path never sees finished ones however long the history grows.
 *
 * Between processes: a writing transaction that others must react to sends
 * one NOTIFY on channel "hookd" ("w <key> <owner>": a webhook changed; "d
 * <key> <owner>": deliveries of a webhook became claimable). A thread with
 * its own connection LISTENs, and once a second compares every webhook's
 * version and unclaimed due work with what it knows (the backstop for a
 * notification lost with a connection). It calls the listener for what
 * other processes did.
 *
 * Errors: a lost connection fails the command with HOOKD_EUNAVAIL (the API
 * answers 503) and is made again on the next use, no sooner than a backoff
 * after the last failed attempt; a deadlock or serialization failure runs
 * the whole transaction again.
 */
#ifndef HOOKD_STORE_PG_INT_H
#define HOOKD_STORE_PG_INT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>

#include "store/store_impl.h"
#include "util/buf.h"
#include "util/intmap.h"

#define PG_POOL 12
#define PG_STMT_CACHE 64
#define PG_MAX_PARAMS 16
#define PG_OWNER_LEN 17 /* 16 hex digits and the NUL */
#define PG_CHANNEL "hookd"
/* The session advisory lock a live process holds on its notice connection,
 * keyed by its owner name (16 hex digits, as an SQL text expression). */
#define PG_OWNER_LOCK_SQL(owner) "pg_advisory_lock(('x' || " owner ")::bit(64)::bigint)"

typedef struct pg_conn {
    PGconn *db;             /* NULL until connected */
    const char *prepared[PG_STMT_CACHE]; /* SQL literals, compared by address */
    int nprepared;
    bool broken;            /* the connection failed: dropped when put back */
    char sqlstate[6];       /* of the last error, "" for none */
    /* Opens webhook documents' secrets: the store's sealer, or NULL while a
     * migration reads documents from before the schema sealed them. */
    const hookd_sealer *sealer;
} pg_conn;

/* The webhooks as of one generation (meta.webhooks_gen), shared by the
 * commands that plan against them; freed when the last lets go. */
typedef struct pg_webhooks {
    int64_t gen;
    hookd_webhook **list; /* oldest first */
    size_t n;
    int refs;
} pg_webhooks;

typedef struct pg_store {
    hookd_store base;
    char *conninfo;
    char owner[PG_OWNER_LEN]; /* this process's name in claims and notices */

    pthread_mutex_t lock;     /* the pool, the backoff, the webhooks snapshot */
    pthread_cond_t freed;
    pg_conn pool[PG_POOL];
    bool busy[PG_POOL];
    int64_t retry_at;         /* ms: no new connection before (backoff) */
    int64_t backoff_ms;
    pg_webhooks *webhooks;    /* NULL until read */

    /* the notice thread (started by listen) */
    pthread_t notice_thread;
    bool notice_running, notice_stop;
    PGconn *notice_db;        /* its first connection, made by listen */
    int wake[2];              /* a pipe: written to stop the thread */
    hookd_intmap versions;    /* notice thread only: key → version it told of */
} pg_store;

static inline pg_store *PG(hookd_store *st)
{
    return (pg_store *)st;
}

/* ---- pg.c: connections, statements, transactions ---- */

/* A connection from the pool, connected; NULL (and *rc) when the database
 * cannot be reached now. */
pg_conn *pg_get(pg_store *s, int *rc);
/* Gives c back; one that failed is dropped and made again later. */
void pg_put(pg_store *s, pg_conn *c);

/* Parameters of one statement, as text (NULL for SQL NULL) or binary. */
typedef struct pg_params {
    const char *v[PG_MAX_PARAMS];
    int len[PG_MAX_PARAMS];
    int fmt[PG_MAX_PARAMS];
    char num[PG_MAX_PARAMS][24];
    int n;
} pg_params;

void pg_p_text(pg_params *p, const char *s); /* NULL for SQL NULL */
void pg_p_int(pg_params *p, int64_t v);
void pg_p_int_or_null(pg_params *p, int64_t v, bool is_null);
void pg_p_bytes(pg_params *p, const void *data, size_t len); /* bytea, binary */

/* Array literals for = ANY($n) and unnest($n): built into b, NUL-ended. */
void pg_array_begin(hookd_buf *b);
void pg_array_int(hookd_buf *b, int64_t v);
void pg_array_text(hookd_buf *b, const char *s); /* NULL for SQL NULL */
int pg_array_end(hookd_buf *b);                  /* 0, or HOOKD_ENOMEM */

/* A code of this backend alone: the transaction met a deadlock or a
 * serialization failure and may simply run again. */
#define PG_ERETRY (-100)

/* Runs the literal sql (prepared on c the first time) with p (may be NULL).
 * Returns 0 with *res (the caller PQclears it; res may be NULL to drop it),
 * or a negative code: HOOKD_ECONFLICT for a unique violation, PG_ERETRY,
 * else HOOKD_EUNAVAIL (logged). c->sqlstate tells the error. */
int pg_run(pg_conn *c, const char *sql, const pg_params *p, PGresult **res);
/* pg_run for a statement that finds a row: HOOKD_ENOTFOUND (nothing
 * kept) when it returns none. */
int pg_run_row(pg_conn *c, const char *sql, const pg_params *p, PGresult **res);
/* Runs sql (not prepared, no parameters, no rows kept). */
int pg_exec(pg_conn *c, const char *sql);

/* Field helpers over a text-format result. */
int64_t pg_int(const PGresult *r, int row, int col);   /* NULL reads as 0 */
bool pg_null(const PGresult *r, int row, int col);
char *pg_strdup(const PGresult *r, int row, int col);  /* NULL for NULL; NULL on ENOMEM too */
void pg_id(const PGresult *r, int row, int col, char out[HOOKD_ID_MAX]);
json_t *pg_json(const PGresult *r, int row, int col);   /* NULL for NULL or damage */
/* A delivery body stored by pg_copy_body: (bytea col, packed col). */
int pg_body(const PGresult *r, int row, int col, char **out, size_t *len);

/* A binary COPY … FROM STDIN, built in memory and sent at once. */
typedef struct pg_copy {
    hookd_buf b;
    int failed; /* HOOKD_ENOMEM once a write failed */
} pg_copy;

void pg_copy_begin(pg_copy *cp);
void pg_copy_row(pg_copy *cp, int nfields);
void pg_copy_int8(pg_copy *cp, int64_t v);
void pg_copy_int2(pg_copy *cp, int v);
void pg_copy_int4(pg_copy *cp, int v);
void pg_copy_text(pg_copy *cp, const char *s); /* NULL for SQL NULL */
void pg_copy_null(pg_copy *cp);
/* Two fields: the body (packed with util/lz when that pays) and whether
 * it was packed. */
void pg_copy_body(pg_copy *cp, const char *body, size_t len);
/* Sends the rows with sql ("COPY t(cols) FROM STDIN (FORMAT binary)") and
 * frees the buffer. */
int pg_copy_end(pg_conn *c, pg_copy *cp, const char *sql);

/* A transaction: fn runs between BEGIN and COMMIT on one connection; a
 * non-zero return rolls back and is returned. On a deadlock or
 * serialization failure everything runs again (fn must start from
 * scratch each time, reset says how). */
typedef int (*pg_tx_fn)(pg_store *s, pg_conn *c, void *ctx);
int pg_tx(pg_store *s, pg_tx_fn fn, void *ctx);
/* Runs fn outside a transaction (one statement, or a read that needs none),
 * on a connection from the pool, once again after a lost connection. */
int pg_once(pg_store *s, pg_tx_fn fn, void *ctx);

/* Queues a notice for the other processes, sent with the transaction. */
int pg_notify(pg_conn *c, pg_store *s, char kind, int64_t key);

/* Locks: the webhook set, shared by ingest (which plans against it) and
 * taken alone by a webhook's change, so no ingest plans against a webhook
 * a concurrent change is moving. Held to the end of the transaction. */
int pg_lock_webhooks(pg_conn *c, bool exclusive);

/* ---- pg_keys.c ---- */

int pg_key_add(hookd_store *st, const hookd_key *k, const unsigned char hash[HOOKD_KEY_HASH_LEN]);
int pg_key_list(hookd_store *st, hookd_key **out, size_t *n);
int pg_key_entries(hookd_store *st, hookd_key_entry **out, size_t *n);
int pg_key_revoke(hookd_store *st, const char *id);
int pg_key_touch(hookd_store *st, const char *id, int64_t used_ms);

/* ---- pg_webhooks.c ---- */

/* The webhooks as the current transaction sees them (after
 * pg_lock_webhooks): a shared snapshot; let go with pg_webhooks_put. */
int pg_webhooks_get(pg_store *s, pg_conn *c, pg_webhooks **out);
void pg_webhooks_put(pg_store *s, pg_webhooks *w);
/* One webhook by key, for the notice thread. ENOTFOUND if it is gone. */
int pg_webhook_by_key(pg_conn *c, int64_t key, hookd_webhook **out);
/* Seals the secrets of every webhook document written before the schema
 * sealed them (a migration step, inside its transaction). */
int pg_webhooks_seal_all(pg_conn *c, const hookd_sealer *sl);
/* Adds to webhooks' counters in one statement: open and skipped deltas of
 * keys[0..n) (sorted by key). */
int pg_counts_add(pg_conn *c, const int64_t *keys, const int64_t *open, const int64_t *skipped,
                  size_t n);
/* Adds counts by hour: rows of (key, hour_ms, counts), sorted. */
typedef struct pg_hour_row {
    int64_t key, hour;
    hookd_hour_counts c;
} pg_hour_row;
int pg_hours_add(pg_conn *c, const pg_hour_row *rows, size_t n);

int pg_webhook_insert(hookd_store *st, hookd_webhook *wh);
int pg_webhook_change(hookd_store *st, const char *id, hookd_webhook_change_fn fn, void *ctx,
                      hookd_webhook **out);
int pg_webhook_get(hookd_store *st, const char *id, hookd_webhook **out);
int pg_webhook_list(hookd_store *st, int64_t after, int limit, hookd_webhook ***out, size_t *n,
                    int64_t *next);
int pg_webhook_delete(hookd_store *st, const char *id);
int pg_webhook_stats(hookd_store *st, const int64_t *keys, size_t n, int64_t now_ms,
                     hookd_webhook_stats *out);
int pg_webhook_hours(hookd_store *st, int64_t key, int64_t first_hour_ms, int hours,
                     hookd_hour_counts *out);

/* ---- pg_people.c ---- */

/* People and accounts met by one command, by contact id, so an item sees
 * what earlier items of the same command merged. */
typedef struct pg_contact {
    hookd_person *person;
    hookd_account *account; /* NULL for none */
} pg_contact;

typedef struct pg_contacts {
    pg_contact *v;
    size_t n, cap;
} pg_contacts;

void pg_contacts_clear(pg_contacts *cs);
/* Reads the people with the contact ids ids[0..n) (and their accounts)
 * into cs in two statements. Unknown ids are left out. */
int pg_contacts_load(pg_conn *c, pg_contacts *cs, const char *const *ids, size_t n);
/* The contact with id in cs, or NULL. */
pg_contact *pg_contacts_find(pg_contacts *cs, const char *contact_id);
/* Merges one person inside the current transaction (locking its merge
 * keys first), keeping cs true; *out is borrowed from cs. */
/* Merges fields (validated) into the person a delivery was made for,
 * locking its row; 0 when it has none. Inside the caller's transaction. */
int pg_person_update_of(pg_conn *c, int64_t delivery_seq, const json_t *fields, int64_t now_ms);
int pg_contact_merge(pg_conn *c, pg_contacts *cs, const hookd_merge_person *m, int64_t now_ms,
                     pg_contact **out, bool *created);

int pg_people_merge(hookd_store *st, const hookd_merge_person *people, size_t n, int64_t now_ms,
                    hookd_merge_result *out);
int pg_accounts_merge(hookd_store *st, json_t *const *fields, size_t n, int64_t now_ms,
                      hookd_merge_result *out);
int pg_person_get(hookd_store *st, const char *contact_id, hookd_person **out);
int pg_account_get(hookd_store *st, const char *account_id, hookd_account **out);

/* ---- pg_deliveries.c ---- */

int pg_ingest(hookd_store *st, hookd_ingest *in);
int pg_due(hookd_store *st, int64_t key, int64_t now_ms, hookd_due_cursor *cursor,
           int64_t max_seq, int limit, hookd_job **out, size_t *n);
int pg_next_due(hookd_store *st, int64_t key, int64_t now_ms, int64_t *when_ms);
int pg_max_seq(hookd_store *st, int64_t *seq);
int pg_renew(hookd_store *st, const int64_t *seqs, size_t n);
int pg_release(hookd_store *st, const int64_t *seqs, size_t n);
/* At start: frees the claims of processes that are gone (no session holds
 * their owner lock), so a restart after a crash need not wait out their
 * leases; live processes are told. */
int pg_reclaim_dead(pg_store *s);
/* Ends the webhook key's streak of failed attempts (hookd_streak): a
 * connect or a disconnect. */
int pg_streak_end(pg_conn *c, int64_t key);
int pg_record_outcomes(hookd_store *st, const hookd_outcome *o, size_t n, int *states,
                       hookd_streak *streaks);
int pg_delivery_retry(hookd_store *st, const char *webhook_id, const char *delivery_id,
                      int64_t now_ms);
int pg_delivery_resend(hookd_store *st, const char *webhook_id, const char *delivery_id,
                       const char *new_id, int64_t now_ms);
int pg_recover(hookd_store *st, const char *webhook_id, int64_t since_ms, int64_t until_ms,
               int64_t now_ms, int64_t *recovered);
int pg_record_test(hookd_store *st, const hookd_test_record *t);
int pg_webhook_insert_tested(hookd_store *st, hookd_webhook *wh, const hookd_test_record *t);
/* Writes a test send's log row inside the transaction on c (record_test's
 * statements, shared with webhook_insert_tested). */
int pg_test_write(pg_store *s, pg_conn *c, const hookd_test_record *t);
int pg_prune(hookd_store *st, int64_t before_ms, int limit, int *deleted);
int pg_delivery_list(hookd_store *st, int64_t key, const hookd_delivery_state *states,
                     size_t n_states, int limit, int64_t cursor, hookd_delivery ***out, size_t *n,
                     int64_t *next_cursor);
int pg_delivery_get(hookd_store *st, int64_t key, const char *delivery_id, hookd_delivery **out,
                    hookd_attempt **attempts, size_t *n_attempts);

/* The move of a webhook's deliveries by ev (connect, disconnect, delete),
 * with its counters, inside the current transaction. *due (if not NULL) is
 * set when deliveries became due. */
int pg_deliveries_move(pg_store *s, pg_conn *c, int64_t key, hookd_ds_event ev, int64_t now_ms,
                       bool *due);

#endif

/*
 * sqlite_int.h — private to the SQLite backend (sqlite*.c): its handle, its
 * connections, and the writer that runs every write.
 *
 * Threads and connections:
 * - One writer thread owns the write connection. Callers hand it commands
 *   (sq_cmd) and wait; it takes every command waiting, runs them in ONE
 *   BEGIN IMMEDIATE … COMMIT (each in a savepoint of its own, so a failed one
 *   rolls back alone), and wakes them all after the one fsync. Under load this
 *   turns thousands of small writes a second into tens of transactions. The
 *   writer alone tells the listener about commits, so it does so in commit
 *   order.
 * - A small pool of read-only connections serves reads beside it (WAL).
 *
 * The writer keeps two caches that only it touches: the webhooks as of the
 * last commit (ingest plans against them) and recently used people (ingest
 * resolves contact ids against them). A command that changes either keeps
 * them true; a rollback throws both away.
 */
#ifndef HOOKD_STORE_SQLITE_INT_H
#define HOOKD_STORE_SQLITE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "store/store_impl.h"

#define SQ_READERS 4
#define SQ_STMT_CACHE 48
#define SQ_PEOPLE_CACHE 4096 /* slots of the writer's person cache (direct-mapped) */

typedef struct sq_conn {
    sqlite3 *db;
    struct {
        const char *sql; /* compared by address: every statement is a literal */
        sqlite3_stmt *stmt;
    } cache[SQ_STMT_CACHE];
    int ncache;
} sq_conn;

/* A person resolved by the writer, with its account. */
typedef struct sq_contact {
    hookd_person *person;
    hookd_account *account; /* NULL for none */
} sq_contact;

typedef struct sq_store sq_store;

/* A command for the writer. run executes inside the shared transaction (in
 * its own savepoint) and returns 0 or a negative code; after runs once the
 * transaction committed (listener calls go there). */
typedef struct sq_cmd sq_cmd;
struct sq_cmd {
    int (*run)(sq_store *s, sq_cmd *c);
    void (*after)(sq_store *s, sq_cmd *c); /* may be NULL */
    int rc;
    bool done;
    sq_cmd *next;
};

struct sq_store {
    hookd_store base;

    /* the writer */
    pthread_t writer_thread;
    bool writer_started;
    pthread_mutex_t qlock;
    pthread_cond_t qcond;    /* commands arrived, or stopping */
    pthread_cond_t donecond; /* a batch finished */
    sq_cmd *qhead, *qtail;
    bool stopping;
    sq_conn w;

    /* writer-only caches (see the top comment) */
    hookd_webhook **webhooks; /* by key, oldest first */
    size_t n_webhooks;
    bool webhooks_valid;
    sq_contact people[SQ_PEOPLE_CACHE];

    /* readers */
    pthread_mutex_t rlock;
    pthread_cond_t rfree;
    sq_conn readers[SQ_READERS];
    int reader_busy[SQ_READERS];
};

static inline sq_store *SQ(hookd_store *st)
{
    return (sq_store *)st;
}

/* ---- sqlite.c: connections, statements, the writer ---- */

/* Maps an SQLite result to a hookd code, logging what the caller cannot see. */
int sq_rc(sqlite3 *db, int rc);
/* The prepared statement for the literal sql on c, reset and unbound; NULL
 * on error (logged). */
sqlite3_stmt *sq_stmt(sq_conn *c, const char *sql);
/* Runs a statement that returns no rows; resets it. */
int sq_step_done(sq_conn *c, sqlite3_stmt *q);
int sq_exec(sq_conn *c, const char *sql);

sq_conn *sq_reader_get(sq_store *s);
void sq_reader_put(sq_store *s, sq_conn *c);
/* A read made of several statements that must see one state of the
 * database: without it each statement reset ends its read transaction and a
 * commit can land between two of them. Every sq_read_begin that returned 0
 * is ended by sq_read_end before the connection is put back. */
int sq_read_begin(sq_conn *c);
void sq_read_end(sq_conn *c);

/* Hands c to the writer and waits until it committed or failed: c->rc. */
int sq_submit(sq_store *s, sq_cmd *c);

/* Binding and reading columns. */
void sq_bind_text(sqlite3_stmt *q, int idx, const char *s); /* NULL binds NULL */
void sq_bind_int64_or_null(sqlite3_stmt *q, int idx, int64_t v, bool is_null);
char *sq_column_strdup(sqlite3_stmt *q, int col);          /* NULL for NULL */
void sq_column_id(sqlite3_stmt *q, int col, char out[HOOKD_ID_MAX]);
json_t *sq_column_json(sqlite3_stmt *q, int col);         /* NULL for NULL or damage */
/* Binds v as compact JSON text (SQLite takes the text); NULL binds NULL. */
int sq_bind_json(sqlite3_stmt *q, int idx, const json_t *v);

/* A delivery body: stored LZ4-packed (a BLOB) when that pays, else as the
 * text itself; read back as text either way. The body is most of a
 * delivery's bytes, and the JSON of a payload packs well. */
int sq_bind_body(sqlite3_stmt *q, int idx, const char *body, size_t len);
/* The body in column col as a new string (*len its length); NULL and
 * HOOKD_EUNAVAIL if it is damaged, HOOKD_ENOMEM if memory ran out. */
int sq_column_body(sqlite3_stmt *q, int col, char **out, size_t *len);

/* Runs q to its end (or max rows), decoding each row into a growing array;
 * on error frees what was decoded. Resets q. */
typedef void *(*sq_row_fn)(sqlite3_stmt *q);
int sq_collect(sq_conn *c, sqlite3_stmt *q, size_t max, sq_row_fn decode, void (*free_fn)(void *),
               void ***out, size_t *n);

/* Forgets the writer's caches (after a rollback, or when unsure). */
void sq_caches_drop(sq_store *s);

/* ---- sqlite_webhooks.c ---- */

/* The writer's webhooks as of now, loaded if needed. Writer thread only. */
int sq_webhooks_current(sq_store *s, hookd_webhook *const **list, size_t *n);
/* Writes the version row of wh (its URL and shown headers) if missing. */
int sq_webhook_version_put(sq_conn *c, const hookd_webhook *wh);
/* Adds to a webhook's counters (open deliveries, skipped activities). */
int sq_counts_add(sq_conn *c, int64_t key, int64_t open, int64_t skipped);
/* Adds to a webhook's counts of the hour starting at hour_ms. */
int sq_hours_add(sq_conn *c, int64_t key, int64_t hour_ms, const hookd_hour_counts *add);
/* Fills the version rows every webhook needs (after a migration). */
int sq_webhooks_fix_versions(sq_conn *c, const hookd_sealer *sl);
/* Seals the secrets of every webhook document written before the schema
 * sealed them (a migration step, inside its transaction). */
int sq_webhooks_seal_all(sq_conn *c, const hookd_sealer *sl);
extern const char SQ_WEBHOOK_COLS[];
/* The webhook of a row of SQ_WEBHOOK_COLS, its secrets opened with sl (NULL:
 * a clear document from before the schema sealed them, for migrations
 * only); NULL if damaged or it does not open (logged). */
hookd_webhook *sq_row_webhook(const hookd_sealer *sl, sqlite3_stmt *q);

/* ---- sqlite_people.c ---- */

/* The person with contact_id (and its account), through the writer's cache:
 * borrowed until the next write of people. ENOTFOUND if none. */
int sq_contact_by_id(sq_store *s, const char *contact_id, sq_contact **out);
/* Merges one person inside the current write, returning it (borrowed as
 * above) and whether it was made. */
int sq_contact_merge(sq_store *s, const hookd_merge_person *m, int64_t now_ms, sq_contact **out,
                     bool *created);
void sq_contacts_drop(sq_store *s);
/* Merges fields (validated) into the person a delivery was made for; 0
 * when it has none. Writer thread, inside the caller's transaction. */
int sq_person_update_of(sq_store *s, int64_t delivery_seq, const json_t *fields, int64_t now_ms);

/* ---- ops of each file, gathered into the table by sqlite.c ---- */

int sq_key_add(hookd_store *st, const hookd_key *k, const unsigned char hash[HOOKD_KEY_HASH_LEN]);
int sq_key_list(hookd_store *st, hookd_key **out, size_t *n);
int sq_key_entries(hookd_store *st, hookd_key_entry **out, size_t *n);
int sq_key_revoke(hookd_store *st, const char *id);
int sq_key_touch(hookd_store *st, const char *id, int64_t used_ms);
int sq_webhook_insert(hookd_store *st, hookd_webhook *wh);
int sq_webhook_change(hookd_store *st, const char *id, hookd_webhook_change_fn fn, void *ctx,
                      hookd_webhook **out);
int sq_webhook_get(hookd_store *st, const char *id, hookd_webhook **out);
int sq_webhook_list(hookd_store *st, int64_t after, int limit, hookd_webhook ***out, size_t *n,
                    int64_t *next);
int sq_webhook_delete(hookd_store *st, const char *id);
int sq_webhook_stats(hookd_store *st, const int64_t *keys, size_t n, int64_t now_ms,
                     hookd_webhook_stats *out);
int sq_webhook_hours(hookd_store *st, int64_t key, int64_t first_hour_ms, int hours,
                     hookd_hour_counts *out);
int sq_people_merge(hookd_store *st, const hookd_merge_person *people, size_t n, int64_t now_ms,
                    hookd_merge_result *out);
int sq_accounts_merge(hookd_store *st, json_t *const *fields, size_t n, int64_t now_ms,
                      hookd_merge_result *out);
int sq_person_get(hookd_store *st, const char *contact_id, hookd_person **out);
int sq_account_get(hookd_store *st, const char *account_id, hookd_account **out);
int sq_ingest(hookd_store *st, hookd_ingest *in);
int sq_due(hookd_store *st, int64_t key, int64_t now_ms, hookd_due_cursor *cursor,
           int64_t max_seq, int limit, hookd_job **out, size_t *n);
int sq_next_due(hookd_store *st, int64_t key, int64_t now_ms, int64_t *when_ms);
int sq_max_seq(hookd_store *st, int64_t *seq);
/* Ends the webhook key's streak of failed attempts (hookd_streak): a
 * success, a connect or a disconnect. */
int sq_streak_end(sq_conn *c, int64_t key);
int sq_record_outcomes(hookd_store *st, const hookd_outcome *o, size_t n, int *states,
                       hookd_streak *streaks);
int sq_delivery_retry(hookd_store *st, const char *webhook_id, const char *delivery_id,
                      int64_t now_ms);
int sq_delivery_resend(hookd_store *st, const char *webhook_id, const char *delivery_id,
                       const char *new_id, int64_t now_ms);
int sq_recover(hookd_store *st, const char *webhook_id, int64_t since_ms, int64_t until_ms,
               int64_t now_ms, int64_t *recovered);
int sq_record_test(hookd_store *st, const hookd_test_record *t);
int sq_webhook_insert_tested(hookd_store *st, hookd_webhook *wh, const hookd_test_record *t);
/* Writes a test send's log row inside the current write (record_test's
 * statements, shared with webhook_insert_tested). */
int sq_test_write(sq_store *s, const hookd_test_record *t);
int sq_prune(hookd_store *st, int64_t before_ms, int limit, int *deleted);
int sq_delivery_list(hookd_store *st, int64_t key, const hookd_delivery_state *states,
                     size_t n_states, int limit, int64_t cursor, hookd_delivery ***out, size_t *n,
                     int64_t *next_cursor);
int sq_delivery_get(hookd_store *st, int64_t key, const char *delivery_id, hookd_delivery **out,
                    hookd_attempt **attempts, size_t *n_attempts);

/* The move of a webhook's deliveries by ev (connect, disconnect, delete),
 * with its counters, inside the current write. */
int sq_deliveries_move(sq_store *s, int64_t key, hookd_ds_event ev, int64_t now_ms);

#endif

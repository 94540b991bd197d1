/*
 * store.h — hookd's durable state behind one seam any backend can implement.
 * Nothing outside src/store speaks SQL; callers hand in and get back model
 * values.
 *
 * The seam is a handful of coarse commands ("ingest this batch", "record
 * these outcomes", "merge these people", "change this webhook"), each of
 * which a backend runs atomically in its own way: SQLite queues them to one
 * writer thread that commits many callers' commands together (group commit);
 * PostgreSQL runs each in a transaction of its own. No caller holds a
 * transaction or a lock across calls, so a read-check-write sequence is
 * always inside one command.
 *
 * Durability: every write command returns only after its effect is durably
 * committed (or not made at all), so the API may answer 2xx as soon as one
 * returns 0.
 *
 * Delivery states change only by model/delivery_state.h: a backend applies
 * "set the state to what hookd_ds_next says, if it is still the state it
 * was read in", and keeps the counters of hookd_ds_effect_of in the same
 * transaction.
 *
 * Threads: every function may be called from any thread at once, except
 * that hookd_store_listen is called before other threads use the store, and
 * hookd_store_close when none does. Listener callbacks run on the thread that
 * committed, before the command that caused them returns (SQLite: its one
 * writer, so in commit order; PostgreSQL: whichever thread ran the command,
 * possibly at once), or — for what another process sharing the store did —
 * on the backend's own thread as it learns of it. They must not call back
 * into the store.
 *
 * Several processes (a shared store, see "claims" below) may run on one
 * PostgreSQL database; then each delivery is attempted by the one process
 * that claimed it.
 *
 * Return values: 0, or a negative HOOKD_E* code from util/error.h:
 * HOOKD_ENOTFOUND, HOOKD_ECONFLICT, HOOKD_EUNAVAIL (the store cannot take the
 * command now: disk full, read-only, locked, I/O error), HOOKD_ENOMEM.
 * Objects returned through out-parameters are new: the caller frees them.
 */
#ifndef HOOKD_STORE_STORE_H
#define HOOKD_STORE_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/apikey.h"
#include "model/delivery_state.h"
#include "model/fields.h"
#include "model/payload.h"
#include "model/person.h"
#include "model/webhook.h"

typedef struct hookd_store hookd_store;

/* ---- opening ---------------------------------------------------------- */

typedef struct hookd_store_options {
    const char *db_path;      /* SQLite file (created with its schema), when no URL */
    const char *database_url; /* postgres://… */
    /* Seals the secrets in webhook documents (required; borrowed, must
     * outlive the store), and the file its key came from (for messages). */
    const hookd_sealer *sealer;
    const char *master_key_file;
} hookd_store_options;

/* Opens the backend the options name, applying pending schema migrations.
 * On failure returns a negative code with a one-line reason in err. */
int hookd_store_open(const hookd_store_options *opt, hookd_store **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Stops the backend's threads and closes every connection. Accepts NULL.
 * No other call may be running. */
void hookd_store_close(hookd_store *st);

/* ---- what a commit tells the delivery engine ----------------------------- */

/* A delivery as an attempt needs it. Strings and body are owned by whoever
 * holds the job; hookd_job_clear frees them. */
typedef struct hookd_job {
    int64_t seq;                  /* the store's number for it, rising with creation */
    char id[HOOKD_ID_MAX];
    int64_t webhook;              /* its webhook's key */
    hookd_method method;
    hookd_delivery_state state;   /* as read: the "if still" of the next outcome */
    int attempts;
    int64_t next_at;              /* ms */
    char *query;                  /* GET/DELETE: the payload as a query string, sent
                                     after the webhook's URL; NULL for the others */
    char *body;                   /* exact bytes sent; "" for none */
    size_t body_len;
    char msg_id[HOOKD_ID_MAX];    /* the webhook-id it is sent with when not its own
                                     id (a resend's: its original's); "" for its id */
} hookd_job;

void hookd_job_clear(hookd_job *j);

/* The webhook-id a job is sent (and signed) with. */
const char *hookd_job_msg_id(const hookd_job *j);

/* Callbacks a backend makes after each commit, in commit order, on the
 * committing thread, before the command returns (see the top comment). */
typedef struct hookd_store_listener {
    void *ctx;
    /* Deliveries this commit made, due now. The callee takes jobs[i]'s
     * strings (the array itself stays the store's). Seqs rise from one call
     * to the next. */
    void (*fresh)(void *ctx, hookd_job *jobs, size_t n);
    /* A webhook was created or changed (wh, borrowed for the call), or
     * deleted (wh NULL). */
    void (*webhook)(void *ctx, int64_t key, const hookd_webhook *wh);
    /* Deliveries of the webhook became due that no fresh call carried
     * (connect, retry now): read them with hookd_store_due. */
    void (*due)(void *ctx, int64_t key);
} hookd_store_listener;

/* Sets the listener (copied). Call before any command runs. */
void hookd_store_listen(hookd_store *st, const hookd_store_listener *l);

/* ---- API keys: only SHA-256 hashes are stored ---------------------------- */

/* A stored key as the keys API lists it. */
typedef struct hookd_key {
    char id[HOOKD_ID_MAX];
    char *name;
    hookd_key_scope scope;
    int64_t created_at;   /* ms */
    int64_t last_used_at; /* ms, 0 for never (as last written: see touch) */
} hookd_key;

void hookd_key_list_free(hookd_key *keys, size_t n);

/* What the API's cache of accepted keys needs of one. */
typedef struct hookd_key_entry {
    unsigned char hash[HOOKD_KEY_HASH_LEN];
    hookd_key_scope scope;
    char id[HOOKD_ID_MAX];
} hookd_key_entry;

/* Stores a new key (k->last_used_at is ignored) with the hash of its text.
 * ECONFLICT if the id or the hash is stored already. */
int hookd_store_key_add(hookd_store *st, const hookd_key *k,
                        const unsigned char hash[HOOKD_KEY_HASH_LEN])
    __attribute__((warn_unused_result));
/* Makes a new key (model/apikey.h) with name and scope and stores it (the
 * hash only): text receives the key, to be shown once; *out (if not NULL)
 * what is stored of it, its name borrowed from name. HOOKD_EUNAVAIL if the
 * CSPRNG failed. */
int hookd_store_key_create(hookd_store *st, const char *name, hookd_key_scope scope,
                           char text[HOOKD_KEY_TEXT_MAX], hookd_key *out)
    __attribute__((warn_unused_result));
/* Every stored key, oldest first, without hashes. Free with
 * hookd_key_list_free. */
int hookd_store_key_list(hookd_store *st, hookd_key **out, size_t *n)
    __attribute__((warn_unused_result));
/* Every stored key's hash, scope and id as one new array (NULL when n is 0). */
int hookd_store_key_entries(hookd_store *st, hookd_key_entry **out, size_t *n)
    __attribute__((warn_unused_result));
/* Deletes a key: ENOTFOUND if there is none with this id. */
int hookd_store_key_revoke(hookd_store *st, const char *id) __attribute__((warn_unused_result));
/* Records that the key id was used at used_ms (never moving it back). A key
 * revoked meanwhile is no error. Callers write this rarely (see server.c):
 * it is a write, and a key may be used thousands of times a second. */
int hookd_store_key_touch(hookd_store *st, const char *id, int64_t used_ms)
    __attribute__((warn_unused_result));

/* ---- webhooks --------------------------------------------------------------- */

/* Stores a new webhook; sets wh->key and wh->version. ECONFLICT if the id
 * exists. */
int hookd_store_webhook_insert(hookd_store *st, hookd_webhook *wh)
    __attribute__((warn_unused_result));

/* Changes one webhook atomically: loads it, calls fn with it (fn may change
 * it; a non-zero return aborts and is returned), and saves the result with a
 * new version. When the change flips `connected`, its deliveries move by
 * HOOKD_EV_DISCONNECT / HOOKD_EV_CONNECT in the same commit. On success *out
 * (if not NULL) receives the saved webhook. ENOTFOUND if there is none. fn
 * runs inside the command (on a backend's writer thread): it must not write
 * to the store; it may read. */
typedef int (*hookd_webhook_change_fn)(hookd_webhook *wh, void *ctx);
int hookd_store_webhook_change(hookd_store *st, const char *id, hookd_webhook_change_fn fn,
                               void *ctx, hookd_webhook **out) __attribute__((warn_unused_result));

int hookd_store_webhook_get(hookd_store *st, const char *id, hookd_webhook **out)
    __attribute__((warn_unused_result));

/* A page of webhooks, oldest first: at most limit, after the webhook whose
 * key is after (0: from the first). *next is the key to continue after, or 0
 * when this was the last page. Free the list with hookd_webhook_list_free. */
int hookd_store_webhook_list(hookd_store *st, int64_t after, int limit, hookd_webhook ***out,
                             size_t *n, int64_t *next) __attribute__((warn_unused_result));
void hookd_webhook_list_free(hookd_webhook **list, size_t n);

/* Deletes a webhook; its open deliveries move by HOOKD_EV_DELETE. */
int hookd_store_webhook_delete(hookd_store *st, const char *id)
    __attribute__((warn_unused_result));

/* docs/api.md stats of the webhooks keys[0..n), read from counters (never by
 * counting deliveries): finished as succeeded / failed from the start of the
 * hour 24 h before now_ms, open now, skipped since creation. Test sends count
 * in none. A key with no webhook reads as zeros. */
typedef struct hookd_webhook_stats {
    int64_t succeeded_24h, failed_24h, pending, skipped;
} hookd_webhook_stats;
int hookd_store_webhook_stats(hookd_store *st, const int64_t *keys, size_t n, int64_t now_ms,
                              hookd_webhook_stats *out) __attribute__((warn_unused_result));

/* docs/api.md counts by hour of one webhook: out[i] is the hour starting at
 * first_hour_ms + i hours, for i < hours (zeros included). */
typedef struct hookd_hour_counts {
    int64_t succeeded, failed, retried;
} hookd_hour_counts;
int hookd_store_webhook_hours(hookd_store *st, int64_t key, int64_t first_hour_ms, int hours,
                              hookd_hour_counts *out) __attribute__((warn_unused_result));

/* ---- custom fields (the built-in ones live in model/fields) ------------------ */

typedef struct hookd_custom_field {
    char *id; /* "str:cm:job-title" */
    char *name;
    hookd_field_type type;
    hookd_field_object object;
    int64_t created_at;
} hookd_custom_field;

void hookd_custom_field_free(hookd_custom_field *f);

/* ECONFLICT if the id exists. */
int hookd_store_field_insert(hookd_store *st, const hookd_custom_field *f)
    __attribute__((warn_unused_result));
int hookd_store_field_get(hookd_store *st, const char *id, hookd_custom_field **out)
    __attribute__((warn_unused_result));
/* Every custom field, oldest first; free each and the array. */
int hookd_store_field_list(hookd_store *st, hookd_custom_field ***out, size_t *n)
    __attribute__((warn_unused_result));

/* ---- people and accounts ----------------------------------------------------- */

/* What a merge did to one person or account. */
typedef struct hookd_merge_result {
    char id[HOOKD_ID_MAX]; /* contact_id or account_id */
    bool created;
} hookd_merge_result;

/* Merges people[0..n) in order, atomically: each is found by its merge_by
 * fields in order (the first that matches wins) or made; given fields
 * overwrite, null removes, others stay; an account given is found by
 * str:o:name (or made), merged, and linked. out[i] says what became of
 * people[i]. */
int hookd_store_people_merge(hookd_store *st, const hookd_merge_person *people, size_t n,
                             int64_t now_ms, hookd_merge_result *out)
    __attribute__((warn_unused_result));

/* Merges accounts by str:o:name (each fields[i] must hold it), atomically. */
int hookd_store_accounts_merge(hookd_store *st, json_t *const *fields, size_t n, int64_t now_ms,
                               hookd_merge_result *out) __attribute__((warn_unused_result));

int hookd_store_person_get(hookd_store *st, const char *contact_id, hookd_person **out)
    __attribute__((warn_unused_result));
int hookd_store_account_get(hookd_store *st, const char *account_id, hookd_account **out)
    __attribute__((warn_unused_result));

/* ---- ingest: activities and /send ------------------------------------------ */

/* One delivery a plan asks for. */
typedef struct hookd_new_delivery {
    char id[HOOKD_ID_MAX];
    const hookd_webhook *webhook; /* borrowed: one of the webhooks the plan was given */
    hookd_delivery_kind kind;     /* activity or action */
    const char *activity_id;      /* borrowed, NULL for none */
    const char *field_id;         /* borrowed, NULL for none */
    int64_t created_ms;
    char *query;                  /* owned: GET/DELETE's payload query, else NULL */
    char *body;                   /* owned: the exact bytes sent, "" for none */
    size_t body_len;
} hookd_new_delivery;

/* What a plan fills: the deliveries to make for one item (owned by the
 * plan; hookd_plan_add grows the array), and per webhook (by its index in
 * the list the plan was given) how many activities it skipped while
 * disconnected. */
typedef struct hookd_plan {
    hookd_new_delivery *d;
    size_t n, cap;
    int *skipped;
} hookd_plan;

/* A new slot at the end of plan->d (zeroed), or NULL if memory ran out. */
hookd_new_delivery *hookd_plan_add(hookd_plan *plan);

/* One activity (or action) of an ingest command. */
typedef struct hookd_ingest_item {
    const char *activity_id;        /* recorded for idempotency, or NULL (actions) */
    const char *contact_id;         /* a stored person, or NULL … */
    const hookd_merge_person *merge; /* … then merged from this */
    int64_t created_ms;
    bool duplicate;                 /* out: the activity id was already stored */
} hookd_ingest_item;

/* Called inside the command for each item that is not a duplicate, in
 * order, with its person (after any merge; borrowed), the person's account
 * (NULL for none) and every webhook as of this command (borrowed, oldest
 * first). Appends to plan the deliveries to make. A non-zero return aborts
 * the whole command and is returned. */
typedef int (*hookd_plan_fn)(void *ctx, size_t index, const hookd_person *p,
                             const hookd_account *a, hookd_webhook *const *webhooks,
                             size_t n_webhooks, hookd_plan *plan);

/* Called once inside the command, before anything is read or written for
 * its items, with every webhook as of this command (as the plan gets them):
 * a check of the whole request against them. A non-zero return aborts the
 * whole command and is returned. */
typedef int (*hookd_ingest_check_fn)(void *ctx, hookd_webhook *const *webhooks,
                                     size_t n_webhooks);

typedef struct hookd_ingest {
    hookd_ingest_item *items;
    size_t n;
    hookd_plan_fn plan;
    void *ctx;
    size_t failed_index; /* out: the item an ENOTFOUND (unknown contact_id) is about */
    hookd_ingest_check_fn check; /* or NULL; given ctx too */
} hookd_ingest;

/* Stores a batch atomically: runs the check, if any; then for each item,
 * skips it as a duplicate if its activity id is stored (or came earlier in
 * the batch), else resolves its contact (ENOTFOUND with failed_index for an unknown contact_id), records
 * the activity id, asks the plan for deliveries and stores them pending, due
 * now; adds the skipped counts. After the commit the listener's fresh gets
 * the deliveries. Everything or nothing. */
int hookd_store_ingest(hookd_store *st, hookd_ingest *in) __attribute__((warn_unused_result));

/* ---- the delivery engine's side ------------------------------------------- */

/* ---- claims: several processes on one store ----------------------------------
 *
 * In a shared store a process may attempt only deliveries it has claimed:
 * those its own commits made (the listener's fresh ones are claimed by the
 * process that ingested them) and those hookd_store_due returned to it. A
 * claim lasts HOOKD_STORE_LEASE_MS unless renewed; then any process may take
 * the delivery, which is how the work of a process that died passes to the
 * others. So the holder renews what it holds every HOOKD_STORE_RENEW_MS,
 * releases what it will not attempt soon, and an outcome recorded ends the
 * claim. A store of one process (SQLite) has no claims: renew and release
 * do nothing there, and hookd_store_shared says false. Claims are between
 * processes: within one, the caller keeps track of what it holds, as with
 * a store of one.
 */
#define HOOKD_STORE_LEASE_MS 30000
#define HOOKD_STORE_RENEW_MS 10000

/* True when other processes may share the store (claims matter). */
bool hookd_store_shared(const hookd_store *st);

/* Extends this process's claims on the deliveries seqs[0..n) by a lease
 * from now. Those it no longer holds are left as they are. */
int hookd_store_renew(hookd_store *st, const int64_t *seqs, size_t n)
    __attribute__((warn_unused_result));

/* Gives up this process's claims on seqs[0..n): any process may take them,
 * and every process is told (listener due) that their webhooks have work. */
int hookd_store_release(hookd_store *st, const int64_t *seqs, size_t n)
    __attribute__((warn_unused_result));

/* Where a read of due deliveries got to, in the backend's own terms;
 * {0, 0} to start from the beginning. */
typedef struct hookd_due_cursor {
    int64_t next_at, seq;
} hookd_due_cursor;

/* Waiting deliveries of the webhook key that are due (next_at <= now_ms),
 * after *cursor, with seq <= max_seq (deliveries the caller was told about),
 * at most limit; those scheduled (retries, connects) come by (next_at, seq),
 * those never attempted by seq. The cursor moves past what was read; fewer
 * than limit means the end was reached. Free each job and the array.
 * In a shared store what another process's live claim holds is never read,
 * and what is read becomes this process's claim. max_seq bounds only this
 * process's own deliveries (those its listener was told of); work other
 * processes released or let run out is read whatever its seq. So within a
 * process the read behaves as in a store of one, and between processes the
 * claims keep a delivery from being taken twice. */
int hookd_store_due(hookd_store *st, int64_t key, int64_t now_ms, hookd_due_cursor *cursor,
                    int64_t max_seq, int limit, hookd_job **out, size_t *n)
    __attribute__((warn_unused_result));

/* The earliest next_at after now_ms of a waiting delivery of the webhook
 * key, or 0 for none. */
int hookd_store_next_due(hookd_store *st, int64_t key, int64_t now_ms, int64_t *when_ms)
    __attribute__((warn_unused_result));

/* The highest delivery seq stored (0 for none): at start, every delivery
 * the engine must know of. */
int hookd_store_max_seq(hookd_store *st, int64_t *seq) __attribute__((warn_unused_result));

/* What one attempt came to. */
typedef struct hookd_outcome {
    int64_t seq;
    int64_t webhook;             /* its webhook's key */
    hookd_delivery_state from;   /* the state the attempt was made from */
    int attempts;                /* attempts before this one */
    hookd_ds_event event;        /* HOOKD_EV_SUCCEEDED, _FAILED or _RETRY */
    int64_t next_at;             /* ms, for HOOKD_EV_RETRY */
    int64_t time_ms;             /* when the attempt started */
    int64_t duration_ms;
    int status_code;             /* 0 when no answer came */
    const char *error;           /* NULL for none */
    const char *response_body;   /* first 4 KiB, valid UTF-8, or NULL */
    uint64_t version;            /* the webhook version whose headers were sent */
    const char *signature;       /* webhook-signature as sent */
    /* Validated person fields from the answer (update_contact_from_response),
     * or NULL: merged into the delivery's person in the same commit, and only
     * when this outcome is the one that makes the delivery succeeded — so an
     * answer is applied once per delivery, whatever repeats it. */
    const json_t *contact_fields;
} hookd_outcome;

/* A webhook's current run of failed attempts, kept in the store so that
 * every process and every restart sees the same one (docs/api.md#dead-endpoints: endpoints that
 * die): when its first failed attempt started and how many failed; {0, 0}
 * when its last attempt succeeded. A success, a connect and a disconnect
 * end it. */
typedef struct hookd_streak {
    int64_t since_ms;
    int64_t failed;
} hookd_streak;

/* Records attempts in one commit: each counts an attempt, keeps it for the
 * log, and moves its delivery by event from the state it is in now (which
 * may have changed since `from`: held or cancelled meanwhile), keeping the
 * counters (an attempt of a delivery that is gone counts in none) and its
 * webhook's streak (every attempt counts: the answer is the endpoint's).
 * states (if not NULL) receives each delivery's new state
 * (HOOKD_DS_REFUSED for a delivery that is gone); streaks (if not NULL)
 * each outcome's webhook's streak as the commit left it. */
int hookd_store_record_outcomes(hookd_store *st, const hookd_outcome *o, size_t n, int *states,
                                hookd_streak *streaks) __attribute__((warn_unused_result));

/* Moves a delivery of the webhook by HOOKD_EV_RETRY_NOW (due now), and
 * tells the listener's due. ECONFLICT where the state machine refuses it,
 * ENOTFOUND for none. */
int hookd_store_delivery_retry(hookd_store *st, const char *webhook_id, const char *delivery_id,
                               int64_t now_ms) __attribute__((warn_unused_result));

/* Moves every failed delivery (tests aside) of the webhook that finished in
 * [since_ms, until_ms) by HOOKD_EV_RETRY_NOW, due now, in one commit, and
 * tells the listener's due; *recovered receives how many. ENOTFOUND for an
 * unknown webhook. */
int hookd_store_recover(hookd_store *st, const char *webhook_id, int64_t since_ms,
                        int64_t until_ms, int64_t now_ms, int64_t *recovered)
    __attribute__((warn_unused_result));

/* Stores a new delivery new_id of the webhook, due now, with the body,
 * kind, method, person and webhook-id of its delivery delivery_id (its
 * message id: a resend of a resend keeps the first one's), and tells the
 * listener's due. ECONFLICT when that delivery is not one hookd_ds_resendable
 * allows, ENOTFOUND for none. */
int hookd_store_delivery_resend(hookd_store *st, const char *webhook_id, const char *delivery_id,
                                const char *new_id, int64_t now_ms)
    __attribute__((warn_unused_result));

/* Logs a test send: a finished delivery of kind test with its one attempt.
 * Counts in no stats. */
typedef struct hookd_test_record {
    const char *id;
    const hookd_webhook *webhook;
    int64_t created_ms;
    hookd_method method;
    const char *query;          /* GET/DELETE's payload query, else NULL */
    const char *body;
    hookd_delivery_state state; /* succeeded or failed */
    hookd_outcome attempt;      /* seq, from, event and next_at unused */
} hookd_test_record;
int hookd_store_record_test(hookd_store *st, const hookd_test_record *t)
    __attribute__((warn_unused_result));

/* Stores a new webhook and the log row of the test sent to it before it
 * was stored (t->webhook is wh) in one commit: both or neither, so a create
 * never keeps a webhook whose test is missing from its log. Sets wh->key
 * and wh->version as hookd_store_webhook_insert does; ECONFLICT if the id
 * of either exists. */
int hookd_store_webhook_insert_tested(hookd_store *st, hookd_webhook *wh,
                                      const hookd_test_record *t)
    __attribute__((warn_unused_result));

/* Deletes finished deliveries that finished before before_ms, with their
 * attempts, oldest first, at most limit per call. Returns 0 and *deleted; a
 * caller calls again while *deleted == limit. */
int hookd_store_prune(hookd_store *st, int64_t before_ms, int limit, int *deleted)
    __attribute__((warn_unused_result));

/* ---- logs ------------------------------------------------------------------- */

/* A delivery as the log shows it. */
typedef struct hookd_delivery {
    int64_t seq;                /* the log's cursor */
    char id[HOOKD_ID_MAX];
    hookd_delivery_kind kind;
    char *activity_id;          /* NULL for none */
    char *field_id;             /* NULL for none */
    hookd_delivery_state state;
    int attempts;
    int64_t created_at;         /* ms */
    int64_t next_attempt_at;    /* ms, 0 for none */
    hookd_method method;
    char *query;                /* GET/DELETE's payload query, else NULL */
    char *body;                 /* exact bytes sent; "" for none */
    /* the last attempt (attempts > 0) */
    char *sent_url;             /* the webhook URL it went to (before the query),
                                   NULL before an attempt */
    int64_t last_at;            /* ms, when it started */
    int status_code;            /* 0 when no answer came */
    char *error;                /* NULL for none */
    char *response_body;        /* first 4 KiB, NULL before an answer */
    int64_t duration_ms;        /* -1 before an attempt */
    char *signature;            /* webhook-signature sent, NULL before an attempt */
    char *headers;              /* JSON object text of the headers sent after
                                   webhook-signature, NULL before an attempt */
    char msg_id[HOOKD_ID_MAX];  /* its webhook-id: a resend's original's, else id */
} hookd_delivery;

void hookd_delivery_free(hookd_delivery *d);

/* One attempt of a delivery, for the log's attempts_detail. */
typedef struct hookd_attempt {
    int64_t time_ms;
    int status_code; /* 0 when no answer came */
    char *error;     /* NULL for none */
    int64_t duration_ms;
    char *response_body;
} hookd_attempt;

void hookd_attempts_free(hookd_attempt *a, size_t n);

/* A page of a webhook's deliveries, newest first, in any of states[0..n)
 * (n_states 0: any state). cursor is 0 for the first page; *next_cursor is 0
 * when there are no more. A page holds at most limit deliveries, and ends
 * early, after the one that takes it past HOOKD_STORE_PAGE_BYTES of bodies
 * and answers (so at least one): a limit of 200 bodies of up to 1 MiB each
 * would otherwise be read, held and answered at once. */
#define HOOKD_STORE_PAGE_BYTES (8u << 20)
int hookd_store_delivery_list(hookd_store *st, int64_t key, const hookd_delivery_state *states,
                              size_t n_states, int limit, int64_t cursor, hookd_delivery ***out,
                              size_t *n, int64_t *next_cursor) __attribute__((warn_unused_result));

/* One delivery of a webhook with every attempt, oldest first (the last one
 * included). */
int hookd_store_delivery_get(hookd_store *st, int64_t key, const char *delivery_id,
                             hookd_delivery **out, hookd_attempt **attempts, size_t *n_attempts)
    __attribute__((warn_unused_result));

#endif

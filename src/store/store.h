/*
 * store.h — hookd's durable state behind one interface. Nothing outside
 * src/store speaks SQL; callers hand in and get back model values.
 *
 * Backends: SQLite (store_sqlite.c, the default) and, later, PostgreSQL. A
 * hookd_store is safe to use from every thread at once: writes are serialised
 * inside the backend and run in their own transaction, reads use separate
 * connections. Every write function returns only after its transaction is
 * durably committed (or rolled back entirely on failure), so the API may
 * answer 2xx as soon as it returns 0.
 *
 * Return values: 0, or a negative HOOKD_E* code from util/error.h:
 * HOOKD_ENOTFOUND, HOOKD_ECONFLICT, HOOKD_EUNAVAIL (the store cannot take the
 * operation: disk full, read-only, locked, I/O error), HOOKD_ENOMEM. Objects
 * returned through out-parameters are new: the caller frees them.
 */
#ifndef HOOKD_STORE_STORE_H
#define HOOKD_STORE_STORE_H

#include <stddef.h>
#include <jansson.h>
#include <stdint.h>

#include "model/fields.h"
#include "model/webhook.h"

typedef struct hookd_store hookd_store;

/* Opens (creating if needed) the SQLite file at path, applies pending schema
 * migrations, and returns the store in *out. On failure returns a negative
 * code with a one-line reason in err. */
int hookd_store_open_sqlite(const char *path, hookd_store **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Closes every connection. Accepts NULL. No call may be running. */
void hookd_store_close(hookd_store *st);

/* ---- API keys: only SHA-256 hashes are stored ---- */
#define HOOKD_KEY_HASH_LEN 32
int hookd_store_api_key_add(hookd_store *st, const unsigned char hash[HOOKD_KEY_HASH_LEN])
    __attribute__((warn_unused_result));
/* All stored hashes as one new array of n*32 bytes (NULL when n is 0). */
int hookd_store_api_key_hashes(hookd_store *st, unsigned char **hashes, size_t *n)
    __attribute__((warn_unused_result));

/* ---- webhooks ---- */
/* ECONFLICT if the id exists. */
int hookd_store_webhook_insert(hookd_store *st, const hookd_webhook *wh)
    __attribute__((warn_unused_result));

/* Changes one webhook atomically: loads it inside a write transaction, calls
 * fn with it (fn may change it; a non-zero return aborts and is returned), and
 * saves the result. On success *out (if not NULL) receives the saved webhook.
 * ENOTFOUND if there is no such webhook. fn runs on the calling thread while
 * the store's write lock is held: it must not write to the store. When the
 * change flips `connected`, the webhook's waiting deliveries turn held
 * (disconnect) or due now (connect, keeping their attempts) in the same
 * transaction. */
typedef int (*hookd_webhook_change_fn)(hookd_webhook *wh, void *ctx);
int hookd_store_webhook_change(hookd_store *st, const char *id, hookd_webhook_change_fn fn,
                               void *ctx, hookd_webhook **out) __attribute__((warn_unused_result));

int hookd_store_webhook_get(hookd_store *st, const char *id, hookd_webhook **out)
    __attribute__((warn_unused_result));

/* Every webhook, oldest first, as a new array of new webhooks; free with
 * hookd_webhook_list_free. */
int hookd_store_webhook_list(hookd_store *st, hookd_webhook ***out, size_t *n)
    __attribute__((warn_unused_result));
void hookd_webhook_list_free(hookd_webhook **list, size_t n);

int hookd_store_webhook_delete(hookd_store *st, const char *id)
    __attribute__((warn_unused_result));

/* A number that changes whenever a webhook is created, changed or deleted
 * through this store, so a cache of webhooks knows when it is stale. */
uint64_t hookd_store_webhooks_version(hookd_store *st);

/* ---- custom fields (the built-in ones live in model/fields) ---- */
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

/* ---- people, accounts, activities, deliveries ---- */

typedef struct hookd_person {
    char contact_id[HOOKD_ID_MAX];
    char account_id[HOOKD_ID_MAX]; /* "" when linked to no account */
    json_t *fields;                /* object: field id → normalised value */
    int64_t created_at, updated_at; /* ms */
} hookd_person;

typedef struct hookd_account {
    char account_id[HOOKD_ID_MAX];
    json_t *fields; /* object; "str:o:name" is the merge key */
    int64_t created_at, updated_at;
} hookd_account;

void hookd_person_free(hookd_person *p);
void hookd_account_free(hookd_account *a);

/* An activity as stored: doc is {"id","field_id","created","attr"}
 * (normalised, as sent in payloads), campaign the request's campaign or NULL. */
typedef struct hookd_activity_rec {
    const char *id;
    const char *field_id;
    const char *contact_id;
    int64_t created_ns;
    const json_t *doc;
    const json_t *campaign;
} hookd_activity_rec;

typedef enum hookd_delivery_state {
    HOOKD_DS_PENDING,
    HOOKD_DS_RETRYING,
    HOOKD_DS_SUCCEEDED,
    HOOKD_DS_FAILED,
    HOOKD_DS_HELD,
    HOOKD_DS_CANCELLED,
} hookd_delivery_state;

const char *hookd_delivery_state_name(hookd_delivery_state s);
/* -1 if name is not a state. */
int hookd_delivery_state_parse(const char *name);

/* A delivery: one payload for one webhook, and what became of it. */
typedef struct hookd_delivery {
    int64_t seq;                /* the store's order of creation (log cursors) */
    char id[HOOKD_ID_MAX];
    char webhook_id[HOOKD_ID_MAX];
    const char *kind;           /* "activity", "action", "test" (static) */
    char *activity_id;          /* NULL for none */
    char *field_id;             /* the activity's field id, NULL for none */
    hookd_delivery_state state;
    int attempts;
    int64_t created_at;         /* ms */
    int64_t next_attempt_at;    /* ms, 0 for none */
    char *method;
    char *url;                  /* as sent: with the query for GET/DELETE */
    char *body;                 /* exact bytes sent; "" for none */
    int status_code;            /* of the last attempt, 0 for none */
    char *error;                /* of the last attempt, NULL for none */
    char *response_body;        /* first 4 KiB of the last answer, NULL before one */
    int64_t duration_ms;        /* of the last attempt, -1 before one */
    char *request_headers;      /* JSON object text of the last attempt's headers, or NULL */
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

/* A write transaction: everything done through it commits or rolls back as
 * one. It holds the store's write lock from begin to commit/rollback, so keep
 * it short and do not call other store functions that write meanwhile.
 * commit and rollback free the handle. */
typedef struct hookd_txn hookd_txn;

int hookd_store_begin(hookd_store *st, hookd_txn **tx) __attribute__((warn_unused_result));
int hookd_txn_commit(hookd_txn *tx) __attribute__((warn_unused_result));
void hookd_txn_rollback(hookd_txn *tx);

int hookd_txn_person_get(hookd_txn *tx, const char *contact_id, hookd_person **out)
    __attribute__((warn_unused_result));
/* The person whose field field_id (a string) equals value; ENOTFOUND if none.
 * If several match, the oldest. */
int hookd_txn_person_find(hookd_txn *tx, const char *field_id, const char *value,
                          hookd_person **out) __attribute__((warn_unused_result));
/* Inserts or replaces the person with this contact_id. */
int hookd_txn_person_put(hookd_txn *tx, const hookd_person *p) __attribute__((warn_unused_result));

int hookd_txn_account_get(hookd_txn *tx, const char *account_id, hookd_account **out)
    __attribute__((warn_unused_result));
int hookd_txn_account_find(hookd_txn *tx, const char *name, hookd_account **out)
    __attribute__((warn_unused_result));
int hookd_txn_account_put(hookd_txn *tx, const hookd_account *a)
    __attribute__((warn_unused_result));

/* 1 if an activity with this id is stored, 0 if not, or a negative code. */
int hookd_txn_activity_exists(hookd_txn *tx, const char *id) __attribute__((warn_unused_result));
int hookd_txn_activity_insert(hookd_txn *tx, const hookd_activity_rec *a)
    __attribute__((warn_unused_result));

/* Every webhook, as in hookd_store_webhook_list, read inside the transaction. */
int hookd_txn_webhooks(hookd_txn *tx, hookd_webhook ***out, size_t *n)
    __attribute__((warn_unused_result));
int hookd_txn_webhook_add_skipped(hookd_txn *tx, const char *webhook_id, int n)
    __attribute__((warn_unused_result));

int hookd_txn_delivery_insert(hookd_txn *tx, const hookd_delivery *d)
    __attribute__((warn_unused_result));

/* ---- the delivery engine's side ---- */

/* What one attempt came to, for hookd_store_record_outcomes. */
typedef struct hookd_outcome {
    const char *delivery_id;
    hookd_delivery_state state;  /* succeeded, failed or retrying */
    int64_t next_attempt_at;     /* ms, when retrying */
    int64_t time_ms;             /* when the attempt started */
    int status_code;             /* 0 when no answer came */
    const char *error;           /* NULL for none */
    int64_t duration_ms;
    const char *response_body;   /* first 4 KiB, valid UTF-8, or NULL */
    const char *request_headers; /* JSON object text of the headers as sent */
} hookd_outcome;

/* Claims up to limit due deliveries (pending or retrying, next_attempt_at <=
 * now, not claimed by a live lease) for lease_ms, oldest due first. */
int hookd_store_claim_due(hookd_store *st, int64_t now_ms, int64_t lease_ms, int limit,
                          hookd_delivery ***out, size_t *n) __attribute__((warn_unused_result));
/* The earliest next_attempt_at of an unclaimed waiting delivery (ms), or 0. */
int hookd_store_next_due(hookd_store *st, int64_t *when_ms) __attribute__((warn_unused_result));
/* Drops every claim: at start, when this process is the only one (SQLite),
 * claims left by a crash are void and those deliveries are simply due. */
int hookd_store_release_claims(hookd_store *st) __attribute__((warn_unused_result));
/* Stores many outcomes in one transaction: each counts an attempt, records
 * it, clears the claim and moves the delivery on — unless it was cancelled
 * meanwhile (it stays cancelled) or held (a retry stays held). */
int hookd_store_record_outcomes(hookd_store *st, const hookd_outcome *o, size_t n)
    __attribute__((warn_unused_result));
/* Makes a delivery due now (SPEC §2 retry): failed, retrying or pending ones;
 * ECONFLICT for succeeded or cancelled, ENOTFOUND for none. */
int hookd_store_delivery_retry(hookd_store *st, const char *webhook_id, const char *delivery_id,
                               int64_t now_ms) __attribute__((warn_unused_result));
/* Logs a test send (kind test, finished) with its one attempt. */
int hookd_store_record_test(hookd_store *st, const hookd_delivery *d, const hookd_outcome *o)
    __attribute__((warn_unused_result));
/* Deletes finished deliveries (succeeded, failed, cancelled) that finished
 * before before_ms, with their attempts; at most limit of them. */
int hookd_store_prune(hookd_store *st, int64_t before_ms, int limit, int *deleted)
    __attribute__((warn_unused_result));

typedef struct hookd_webhook_stats {
    int64_t succeeded_24h, failed_24h, pending, skipped;
} hookd_webhook_stats;

/* SPEC §2 stats, test sends left out; since_ms is now minus 24 h. */
int hookd_store_webhook_stats(hookd_store *st, const char *webhook_id, int64_t since_ms,
                              hookd_webhook_stats *out) __attribute__((warn_unused_result));

/* Reads outside a transaction. */
int hookd_store_person_get(hookd_store *st, const char *contact_id, hookd_person **out)
    __attribute__((warn_unused_result));
int hookd_store_account_get(hookd_store *st, const char *account_id, hookd_account **out)
    __attribute__((warn_unused_result));

/* A page of a webhook's deliveries, newest first. state < 0 means any. cursor
 * is 0 for the first page; *next_cursor is 0 when there are no more. */
int hookd_store_delivery_list(hookd_store *st, const char *webhook_id, int state, int limit,
                              int64_t cursor, hookd_delivery ***out, size_t *n,
                              int64_t *next_cursor) __attribute__((warn_unused_result));
/* One delivery of a webhook with its attempts, oldest first. */
int hookd_store_delivery_get(hookd_store *st, const char *webhook_id, const char *delivery_id,
                             hookd_delivery **out, hookd_attempt **attempts, size_t *n_attempts)
    __attribute__((warn_unused_result));

#endif

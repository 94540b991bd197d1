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
 * the store's write lock is held: it must not write to the store. */
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

#endif

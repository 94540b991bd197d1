/*
 * store_impl.h — private to src/store: the table of operations every backend
 * fills in. store.c dispatches each public call through it, so callers never
 * know which backend runs.
 */
#ifndef HOOKD_STORE_IMPL_H
#define HOOKD_STORE_IMPL_H

#include <stdatomic.h>

#include "store/store.h"

typedef struct hookd_store_ops {
    void (*close)(hookd_store *st);
    int (*api_key_add)(hookd_store *st, const unsigned char hash[HOOKD_KEY_HASH_LEN]);
    int (*api_key_hashes)(hookd_store *st, unsigned char **hashes, size_t *n);
    int (*webhook_insert)(hookd_store *st, const hookd_webhook *wh);
    int (*webhook_change)(hookd_store *st, const char *id, hookd_webhook_change_fn fn, void *ctx,
                          hookd_webhook **out);
    int (*webhook_get)(hookd_store *st, const char *id, hookd_webhook **out);
    int (*webhook_list)(hookd_store *st, hookd_webhook ***out, size_t *n);
    int (*webhook_delete)(hookd_store *st, const char *id);
    int (*field_insert)(hookd_store *st, const hookd_custom_field *f);
    int (*field_get)(hookd_store *st, const char *id, hookd_custom_field **out);
    int (*field_list)(hookd_store *st, hookd_custom_field ***out, size_t *n);
    int (*begin)(hookd_store *st, hookd_txn **tx);
    int (*commit)(hookd_txn *tx);
    void (*rollback)(hookd_txn *tx);
    int (*person_get)(hookd_txn *tx, const char *contact_id, hookd_person **out);
    int (*person_find)(hookd_txn *tx, const char *field_id, const char *value, hookd_person **out);
    int (*person_put)(hookd_txn *tx, const hookd_person *p);
    int (*account_get)(hookd_txn *tx, const char *account_id, hookd_account **out);
    int (*account_find)(hookd_txn *tx, const char *name, hookd_account **out);
    int (*account_put)(hookd_txn *tx, const hookd_account *a);
    int (*activity_exists)(hookd_txn *tx, const char *id);
    int (*activity_insert)(hookd_txn *tx, const hookd_activity_rec *a);
    int (*txn_webhooks)(hookd_txn *tx, hookd_webhook ***out, size_t *n);
    int (*webhook_add_skipped)(hookd_txn *tx, const char *webhook_id, int n);
    int (*delivery_insert)(hookd_txn *tx, const hookd_delivery *d);
    int (*store_person_get)(hookd_store *st, const char *contact_id, hookd_person **out);
    int (*store_account_get)(hookd_store *st, const char *account_id, hookd_account **out);
    int (*delivery_list)(hookd_store *st, const char *webhook_id, int state, int limit,
                         int64_t cursor, hookd_delivery ***out, size_t *n, int64_t *next_cursor);
    int (*delivery_get)(hookd_store *st, const char *webhook_id, const char *delivery_id,
                        hookd_delivery **out, hookd_attempt **attempts, size_t *n_attempts);
    int (*claim_due)(hookd_store *st, int64_t now_ms, int64_t lease_ms, int limit,
                     hookd_delivery ***out, size_t *n);
    int (*next_due)(hookd_store *st, int64_t *when_ms);
    int (*release_claims)(hookd_store *st);
    int (*record_outcomes)(hookd_store *st, const hookd_outcome *o, size_t n);
    int (*delivery_retry)(hookd_store *st, const char *webhook_id, const char *delivery_id,
                          int64_t now_ms);
    int (*record_test)(hookd_store *st, const hookd_delivery *d, const hookd_outcome *o);
    int (*prune)(hookd_store *st, int64_t before_ms, int limit, int *deleted);
    int (*webhook_stats)(hookd_store *st, const char *webhook_id, int64_t since_ms,
                         hookd_webhook_stats *out);
} hookd_store_ops;

/* Every backend's handle starts with this. */
struct hookd_store {
    const hookd_store_ops *ops;
    atomic_uint_fast64_t webhooks_version; /* bumped by store.c on every webhook write */
};

/* Every backend's transaction starts with this. */
struct hookd_txn {
    hookd_store *st;
};

#endif

/*
 * store_impl.h — private to src/store: the table of operations every backend
 * fills in. store.c dispatches each public call through it, so callers never
 * know which backend runs.
 */
#ifndef HOOKD_STORE_IMPL_H
#define HOOKD_STORE_IMPL_H

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
} hookd_store_ops;

/* Every backend's handle starts with this. */
struct hookd_store {
    const hookd_store_ops *ops;
};

#endif

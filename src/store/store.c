/*
 * store.c — dispatches the public store calls to the open backend.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_impl.h"

void hookd_store_close(hookd_store *st)
{
    if (st)
        st->ops->close(st);
}

int hookd_store_api_key_add(hookd_store *st, const unsigned char hash[HOOKD_KEY_HASH_LEN])
{
    return st->ops->api_key_add(st, hash);
}

int hookd_store_api_key_hashes(hookd_store *st, unsigned char **hashes, size_t *n)
{
    return st->ops->api_key_hashes(st, hashes, n);
}

/* Every successful webhook write bumps the version, so readers that cache
 * webhooks (the engine) know when to read them again. */
static int bump(hookd_store *st, int rc)
{
    if (rc == 0)
        atomic_fetch_add(&st->webhooks_version, 1);
    return rc;
}

uint64_t hookd_store_webhooks_version(hookd_store *st)
{
    return atomic_load(&st->webhooks_version);
}

int hookd_store_webhook_insert(hookd_store *st, const hookd_webhook *wh)
{
    return bump(st, st->ops->webhook_insert(st, wh));
}

int hookd_store_webhook_change(hookd_store *st, const char *id, hookd_webhook_change_fn fn,
                               void *ctx, hookd_webhook **out)
{
    return bump(st, st->ops->webhook_change(st, id, fn, ctx, out));
}

int hookd_store_webhook_get(hookd_store *st, const char *id, hookd_webhook **out)
{
    return st->ops->webhook_get(st, id, out);
}

int hookd_store_webhook_list(hookd_store *st, hookd_webhook ***out, size_t *n)
{
    return st->ops->webhook_list(st, out, n);
}

void hookd_webhook_list_free(hookd_webhook **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hookd_webhook_free(list[i]);
    free(list);
}

int hookd_store_webhook_delete(hookd_store *st, const char *id)
{
    return bump(st, st->ops->webhook_delete(st, id));
}

void hookd_custom_field_free(hookd_custom_field *f)
{
    if (!f)
        return;
    free(f->id);
    free(f->name);
    free(f);
}

int hookd_store_field_insert(hookd_store *st, const hookd_custom_field *f)
{
    return st->ops->field_insert(st, f);
}

int hookd_store_field_get(hookd_store *st, const char *id, hookd_custom_field **out)
{
    return st->ops->field_get(st, id, out);
}

int hookd_store_field_list(hookd_store *st, hookd_custom_field ***out, size_t *n)
{
    return st->ops->field_list(st, out, n);
}

static const char *const STATE_NAMES[] = {"pending", "retrying",  "succeeded",
                                          "failed",  "held",      "cancelled"};

const char *hookd_delivery_state_name(hookd_delivery_state s)
{
    return STATE_NAMES[s];
}

int hookd_delivery_state_parse(const char *name)
{
    for (size_t i = 0; i < sizeof STATE_NAMES / sizeof STATE_NAMES[0]; i++) {
        if (strcmp(STATE_NAMES[i], name) == 0)
            return (int)i;
    }
    return -1;
}

void hookd_person_free(hookd_person *p)
{
    if (!p)
        return;
    json_decref(p->fields);
    free(p);
}

void hookd_account_free(hookd_account *a)
{
    if (!a)
        return;
    json_decref(a->fields);
    free(a);
}

void hookd_delivery_free(hookd_delivery *d)
{
    if (!d)
        return;
    free(d->activity_id);
    free(d->field_id);
    free(d->method);
    free(d->url);
    free(d->body);
    free(d->error);
    free(d->response_body);
    free(d->request_headers);
    free(d);
}

void hookd_attempts_free(hookd_attempt *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].error);
        free(a[i].response_body);
    }
    free(a);
}

int hookd_store_begin(hookd_store *st, hookd_txn **tx)
{
    return st->ops->begin(st, tx);
}

int hookd_txn_commit(hookd_txn *tx)
{
    return tx->st->ops->commit(tx);
}

void hookd_txn_rollback(hookd_txn *tx)
{
    if (tx)
        tx->st->ops->rollback(tx);
}

int hookd_txn_person_get(hookd_txn *tx, const char *contact_id, hookd_person **out)
{
    return tx->st->ops->person_get(tx, contact_id, out);
}

int hookd_txn_person_find(hookd_txn *tx, const char *field_id, const char *value,
                          hookd_person **out)
{
    return tx->st->ops->person_find(tx, field_id, value, out);
}

int hookd_txn_person_put(hookd_txn *tx, const hookd_person *p)
{
    return tx->st->ops->person_put(tx, p);
}

int hookd_txn_account_get(hookd_txn *tx, const char *account_id, hookd_account **out)
{
    return tx->st->ops->account_get(tx, account_id, out);
}

int hookd_txn_account_find(hookd_txn *tx, const char *name, hookd_account **out)
{
    return tx->st->ops->account_find(tx, name, out);
}

int hookd_txn_account_put(hookd_txn *tx, const hookd_account *a)
{
    return tx->st->ops->account_put(tx, a);
}

int hookd_txn_activity_exists(hookd_txn *tx, const char *id)
{
    return tx->st->ops->activity_exists(tx, id);
}

int hookd_txn_activity_insert(hookd_txn *tx, const hookd_activity_rec *a)
{
    return tx->st->ops->activity_insert(tx, a);
}

int hookd_txn_webhooks(hookd_txn *tx, hookd_webhook ***out, size_t *n)
{
    return tx->st->ops->txn_webhooks(tx, out, n);
}

int hookd_txn_webhook_add_skipped(hookd_txn *tx, const char *webhook_id, int n)
{
    return tx->st->ops->webhook_add_skipped(tx, webhook_id, n);
}

int hookd_txn_delivery_insert(hookd_txn *tx, const hookd_delivery *d)
{
    return tx->st->ops->delivery_insert(tx, d);
}

int hookd_store_person_get(hookd_store *st, const char *contact_id, hookd_person **out)
{
    return st->ops->store_person_get(st, contact_id, out);
}

int hookd_store_account_get(hookd_store *st, const char *account_id, hookd_account **out)
{
    return st->ops->store_account_get(st, account_id, out);
}

int hookd_store_delivery_list(hookd_store *st, const char *webhook_id, int state, int limit,
                              int64_t cursor, hookd_delivery ***out, size_t *n,
                              int64_t *next_cursor)
{
    return st->ops->delivery_list(st, webhook_id, state, limit, cursor, out, n, next_cursor);
}

int hookd_store_delivery_get(hookd_store *st, const char *webhook_id, const char *delivery_id,
                             hookd_delivery **out, hookd_attempt **attempts, size_t *n_attempts)
{
    return st->ops->delivery_get(st, webhook_id, delivery_id, out, attempts, n_attempts);
}

int hookd_store_claim_due(hookd_store *st, int64_t now_ms, int64_t lease_ms, int limit,
                          hookd_delivery ***out, size_t *n)
{
    return st->ops->claim_due(st, now_ms, lease_ms, limit, out, n);
}

int hookd_store_next_due(hookd_store *st, int64_t *when_ms)
{
    return st->ops->next_due(st, when_ms);
}

int hookd_store_release_claims(hookd_store *st)
{
    return st->ops->release_claims(st);
}

int hookd_store_record_outcomes(hookd_store *st, const hookd_outcome *o, size_t n)
{
    return st->ops->record_outcomes(st, o, n);
}

int hookd_store_delivery_retry(hookd_store *st, const char *webhook_id, const char *delivery_id,
                               int64_t now_ms)
{
    return st->ops->delivery_retry(st, webhook_id, delivery_id, now_ms);
}

int hookd_store_record_test(hookd_store *st, const hookd_delivery *d, const hookd_outcome *o)
{
    return st->ops->record_test(st, d, o);
}

int hookd_store_prune(hookd_store *st, int64_t before_ms, int limit, int *deleted)
{
    return st->ops->prune(st, before_ms, limit, deleted);
}

int hookd_store_webhook_stats(hookd_store *st, const char *webhook_id, int64_t since_ms,
                              hookd_webhook_stats *out)
{
    return st->ops->webhook_stats(st, webhook_id, since_ms, out);
}

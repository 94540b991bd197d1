/*
 * store.c — dispatches the public store calls to the open backend.
 */
#include <stdlib.h>

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

int hookd_store_webhook_insert(hookd_store *st, const hookd_webhook *wh)
{
    return st->ops->webhook_insert(st, wh);
}

int hookd_store_webhook_change(hookd_store *st, const char *id, hookd_webhook_change_fn fn,
                               void *ctx, hookd_webhook **out)
{
    return st->ops->webhook_change(st, id, fn, ctx, out);
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
    return st->ops->webhook_delete(st, id);
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

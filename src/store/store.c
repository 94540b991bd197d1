/*
 * store.c — opens the backend the options name and dispatches every public
 * call to it; the small value helpers of store.h live here too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_impl.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/timeutil.h"

int hookd_store_open(const hookd_store_options *opt, hookd_store **out, char *err, size_t errlen)
{
    /* Every process writes sealed documents, so none may run without the
     * key (docs/security.md). */
    if (!opt->sealer) {
        snprintf(err, errlen, "no master key: the store's secrets are sealed with one");
        return HOOKD_EINVAL;
    }
    if (opt->database_url)
        return hookd_store_open_pg(opt, out, err, errlen);
    return hookd_store_open_sqlite(opt, out, err, errlen);
}

int hookd_seal_check(const hookd_store_options *opt, const char *stored, char **made, char *err,
                     size_t errlen)
{
    if (!stored) {
        *made = hookd_seal(opt->sealer, HOOKD_SEAL_CHECK_TEXT, HOOKD_SEAL_CHECK_AAD);
        if (*made)
            return 0;
        snprintf(err, errlen, "cannot seal the master key's check value");
        return HOOKD_ENOMEM;
    }
    char *plain = NULL;
    int rc = hookd_unseal(opt->sealer, stored, HOOKD_SEAL_CHECK_AAD, &plain);
    bool ok = rc == 0 && strcmp(plain, HOOKD_SEAL_CHECK_TEXT) == 0;
    free(plain);
    if (rc == HOOKD_ENOMEM) {
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    if (!ok) {
        snprintf(err, errlen, "the master key in %s does not open this database's secrets",
                 opt->master_key_file ? opt->master_key_file : "(none given)");
        return HOOKD_EINVAL;
    }
    return 0;
}

void hookd_store_close(hookd_store *st)
{
    if (st)
        st->ops->close(st);
}

void hookd_store_listen(hookd_store *st, const hookd_store_listener *l)
{
    if (st->ops->listen)
        st->ops->listen(st, l);
    else
        st->listener = *l;
}

/* ---- values ------------------------------------------------------------ */

void hookd_job_of_new(hookd_job *j, int64_t seq, hookd_new_delivery *d)
{
    *j = (hookd_job){.seq = seq,
                     .webhook = d->webhook->key,
                     .method = d->webhook->method,
                     .state = HOOKD_DS_PENDING,
                     .next_at = d->created_ms,
                     .query = d->query,
                     .body = d->body,
                     .body_len = d->body_len};
    memcpy(j->id, d->id, HOOKD_ID_MAX);
    d->query = NULL;
    d->body = NULL;
}

void hookd_job_clear(hookd_job *j)
{
    free(j->query);
    free(j->body);
    j->query = NULL;
    j->body = NULL;
}

hookd_new_delivery *hookd_plan_add(hookd_plan *plan)
{
    if (hookd_array_grow(&plan->d, &plan->cap, plan->n, sizeof *plan->d) != 0)
        return NULL;
    hookd_new_delivery *d = &plan->d[plan->n++];
    memset(d, 0, sizeof *d);
    return d;
}

void hookd_webhook_list_free(hookd_webhook **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hookd_webhook_free(list[i]);
    free(list);
}

void hookd_key_list_free(hookd_key *keys, size_t n)
{
    for (size_t i = 0; keys && i < n; i++)
        free(keys[i].name);
    free(keys);
}

void hookd_custom_field_free(hookd_custom_field *f)
{
    if (!f)
        return;
    free(f->id);
    free(f->name);
    free(f);
}

size_t hookd_delivery_bytes(const hookd_delivery *d)
{
    return strlen(d->body) + (d->query ? strlen(d->query) : 0) +
           (d->response_body ? strlen(d->response_body) : 0);
}

void hookd_delivery_free(hookd_delivery *d)
{
    if (!d)
        return;
    free(d->activity_id);
    free(d->field_id);
    free(d->query);
    free(d->body);
    free(d->sent_url);
    free(d->error);
    free(d->response_body);
    free(d->signature);
    free(d->headers);
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

/* ---- dispatch ---------------------------------------------------------- */

int hookd_store_key_add(hookd_store *st, const hookd_key *k,
                        const unsigned char hash[HOOKD_KEY_HASH_LEN])
{
    return st->ops->key_add(st, k, hash);
}

int hookd_store_key_create(hookd_store *st, const char *name, hookd_key_scope scope,
                           char text[HOOKD_KEY_TEXT_MAX], hookd_key *out)
{
    unsigned char hash[HOOKD_KEY_HASH_LEN];
    hookd_key k = {.name = (char *)name, .scope = scope, .created_at = hookd_now_ms()};
    if (hookd_key_new(text) != 0 || hookd_id_new(k.id) != 0)
        return HOOKD_EUNAVAIL;
    hookd_key_hash(text, strlen(text), hash);
    int rc = st->ops->key_add(st, &k, hash);
    if (rc) {
        memset(text, 0, HOOKD_KEY_TEXT_MAX);
        return rc;
    }
    if (out)
        *out = k;
    return 0;
}

int hookd_store_key_list(hookd_store *st, hookd_key **out, size_t *n)
{
    return st->ops->key_list(st, out, n);
}

int hookd_store_key_entries(hookd_store *st, hookd_key_entry **out, size_t *n)
{
    return st->ops->key_entries(st, out, n);
}

int hookd_store_key_revoke(hookd_store *st, const char *id)
{
    return st->ops->key_revoke(st, id);
}

int hookd_store_key_touch(hookd_store *st, const char *id, int64_t used_ms)
{
    return st->ops->key_touch(st, id, used_ms);
}

int hookd_store_webhook_insert(hookd_store *st, hookd_webhook *wh)
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

int hookd_store_webhook_list(hookd_store *st, int64_t after, int limit, hookd_webhook ***out,
                             size_t *n, int64_t *next)
{
    return st->ops->webhook_list(st, after, limit, out, n, next);
}

int hookd_store_webhook_delete(hookd_store *st, const char *id)
{
    return st->ops->webhook_delete(st, id);
}

int hookd_store_webhook_stats(hookd_store *st, const int64_t *keys, size_t n, int64_t now_ms,
                              hookd_webhook_stats *out)
{
    return st->ops->webhook_stats(st, keys, n, now_ms, out);
}

int hookd_store_webhook_hours(hookd_store *st, int64_t key, int64_t first_hour_ms, int hours,
                              hookd_hour_counts *out)
{
    return st->ops->webhook_hours(st, key, first_hour_ms, hours, out);
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

int hookd_store_people_merge(hookd_store *st, const hookd_merge_person *people, size_t n,
                             int64_t now_ms, hookd_merge_result *out)
{
    return st->ops->people_merge(st, people, n, now_ms, out);
}

int hookd_store_accounts_merge(hookd_store *st, json_t *const *fields, size_t n, int64_t now_ms,
                               hookd_merge_result *out)
{
    return st->ops->accounts_merge(st, fields, n, now_ms, out);
}

int hookd_store_person_get(hookd_store *st, const char *contact_id, hookd_person **out)
{
    return st->ops->person_get(st, contact_id, out);
}

int hookd_store_account_get(hookd_store *st, const char *account_id, hookd_account **out)
{
    return st->ops->account_get(st, account_id, out);
}

int hookd_store_ingest(hookd_store *st, hookd_ingest *in)
{
    return st->ops->ingest(st, in);
}

int hookd_store_due(hookd_store *st, int64_t key, int64_t now_ms, hookd_due_cursor *cursor,
                    int64_t max_seq, int limit, hookd_job **out, size_t *n)
{
    return st->ops->due(st, key, now_ms, cursor, max_seq, limit, out, n);
}

int hookd_store_next_due(hookd_store *st, int64_t key, int64_t now_ms, int64_t *when_ms)
{
    return st->ops->next_due(st, key, now_ms, when_ms);
}

bool hookd_store_shared(const hookd_store *st)
{
    return st->ops->renew != NULL;
}

int hookd_store_renew(hookd_store *st, const int64_t *seqs, size_t n)
{
    return st->ops->renew && n ? st->ops->renew(st, seqs, n) : 0;
}

int hookd_store_release(hookd_store *st, const int64_t *seqs, size_t n)
{
    return st->ops->release && n ? st->ops->release(st, seqs, n) : 0;
}

int hookd_store_max_seq(hookd_store *st, int64_t *seq)
{
    return st->ops->max_seq(st, seq);
}

int hookd_store_record_outcomes(hookd_store *st, const hookd_outcome *o, size_t n, int *states,
                                hookd_streak *streaks)
{
    return st->ops->record_outcomes(st, o, n, states, streaks);
}

int hookd_store_delivery_retry(hookd_store *st, const char *webhook_id, const char *delivery_id,
                               int64_t now_ms)
{
    return st->ops->delivery_retry(st, webhook_id, delivery_id, now_ms);
}

int hookd_store_delivery_resend(hookd_store *st, const char *webhook_id, const char *delivery_id,
                                const char *new_id, int64_t now_ms)
{
    return st->ops->delivery_resend(st, webhook_id, delivery_id, new_id, now_ms);
}

const char *hookd_job_msg_id(const hookd_job *j)
{
    return j->msg_id[0] ? j->msg_id : j->id;
}

int hookd_store_recover(hookd_store *st, const char *webhook_id, int64_t since_ms,
                        int64_t until_ms, int64_t now_ms, int64_t *recovered)
{
    *recovered = 0;
    return st->ops->recover(st, webhook_id, since_ms, until_ms, now_ms, recovered);
}

int hookd_store_record_test(hookd_store *st, const hookd_test_record *t)
{
    return st->ops->record_test(st, t);
}

int hookd_store_webhook_insert_tested(hookd_store *st, hookd_webhook *wh,
                                      const hookd_test_record *t)
{
    return st->ops->webhook_insert_tested(st, wh, t);
}

int hookd_store_prune(hookd_store *st, int64_t before_ms, int limit, int *deleted)
{
    return st->ops->prune(st, before_ms, limit, deleted);
}

int hookd_store_delivery_list(hookd_store *st, int64_t key, const hookd_delivery_state *states,
                              size_t n_states, int limit, int64_t cursor, hookd_delivery ***out,
                              size_t *n, int64_t *next_cursor)
{
    /* "Any state" is every state: backends always get the list. */
    hookd_delivery_state all[HOOKD_DS_COUNT];
    if (n_states == 0) {
        for (int i = 0; i < HOOKD_DS_COUNT; i++)
            all[i] = (hookd_delivery_state)i;
        states = all;
        n_states = HOOKD_DS_COUNT;
    }
    return st->ops->delivery_list(st, key, states, n_states, limit, cursor, out, n, next_cursor);
}

int hookd_store_delivery_get(hookd_store *st, int64_t key, const char *delivery_id,
                             hookd_delivery **out, hookd_attempt **attempts, size_t *n_attempts)
{
    return st->ops->delivery_get(st, key, delivery_id, out, attempts, n_attempts);
}

/*
 * store_impl.h — private to src/store: the table of commands every backend
 * fills in. store.c dispatches each public call through it, so callers never
 * know which backend runs. One entry per command of store.h; a backend owns
 * everything behind its handle (threads, connections, caches).
 */
#ifndef HOOKD_STORE_IMPL_H
#define HOOKD_STORE_IMPL_H

#include "store/store.h"

typedef struct hookd_store_ops {
    void (*close)(hookd_store *st);
    /* Takes a new listener (NULL: store.c copies it into the handle). */
    void (*listen)(hookd_store *st, const hookd_store_listener *l);
    int (*key_add)(hookd_store *st, const hookd_key *k, const unsigned char hash[HOOKD_KEY_HASH_LEN]);
    int (*key_list)(hookd_store *st, hookd_key **out, size_t *n);
    int (*key_entries)(hookd_store *st, hookd_key_entry **out, size_t *n);
    int (*key_revoke)(hookd_store *st, const char *id);
    int (*key_touch)(hookd_store *st, const char *id, int64_t used_ms);
    int (*webhook_insert)(hookd_store *st, hookd_webhook *wh);
    int (*webhook_change)(hookd_store *st, const char *id, hookd_webhook_change_fn fn, void *ctx,
                          hookd_webhook **out);
    int (*webhook_get)(hookd_store *st, const char *id, hookd_webhook **out);
    int (*webhook_list)(hookd_store *st, int64_t after, int limit, hookd_webhook ***out, size_t *n,
                        int64_t *next);
    int (*webhook_delete)(hookd_store *st, const char *id);
    int (*webhook_stats)(hookd_store *st, const int64_t *keys, size_t n, int64_t now_ms,
                         hookd_webhook_stats *out);
    int (*webhook_hours)(hookd_store *st, int64_t key, int64_t first_hour_ms, int hours,
                         hookd_hour_counts *out);
    int (*field_insert)(hookd_store *st, const hookd_custom_field *f);
    int (*field_get)(hookd_store *st, const char *id, hookd_custom_field **out);
    int (*field_list)(hookd_store *st, hookd_custom_field ***out, size_t *n);
    int (*people_merge)(hookd_store *st, const hookd_merge_person *people, size_t n,
                        int64_t now_ms, hookd_merge_result *out);
    int (*accounts_merge)(hookd_store *st, json_t *const *fields, size_t n, int64_t now_ms,
                          hookd_merge_result *out);
    int (*person_get)(hookd_store *st, const char *contact_id, hookd_person **out);
    int (*account_get)(hookd_store *st, const char *account_id, hookd_account **out);
    int (*ingest)(hookd_store *st, hookd_ingest *in);
    int (*due)(hookd_store *st, int64_t key, int64_t now_ms, hookd_due_cursor *cursor,
               int64_t max_seq, int limit, hookd_job **out, size_t *n);
    int (*next_due)(hookd_store *st, int64_t key, int64_t now_ms, int64_t *when_ms);
    /* Claims (a shared store): both NULL for a backend of one process. */
    int (*renew)(hookd_store *st, const int64_t *seqs, size_t n);
    int (*release)(hookd_store *st, const int64_t *seqs, size_t n);
    int (*max_seq)(hookd_store *st, int64_t *seq);
    int (*record_outcomes)(hookd_store *st, const hookd_outcome *o, size_t n, int *states,
                           hookd_streak *streaks);
    int (*delivery_retry)(hookd_store *st, const char *webhook_id, const char *delivery_id,
                          int64_t now_ms);
    int (*record_test)(hookd_store *st, const hookd_test_record *t);
    int (*delivery_resend)(hookd_store *st, const char *webhook_id, const char *delivery_id,
                           const char *new_id, int64_t now_ms);
    int (*recover)(hookd_store *st, const char *webhook_id, int64_t since_ms, int64_t until_ms,
                   int64_t now_ms, int64_t *recovered);
    int (*prune)(hookd_store *st, int64_t before_ms, int limit, int *deleted);
    /* n_states is never 0 here: store.c turns "any state" into all of them. */
    int (*delivery_list)(hookd_store *st, int64_t key, const hookd_delivery_state *states,
                         size_t n_states, int limit, int64_t cursor, hookd_delivery ***out,
                         size_t *n, int64_t *next_cursor);
    int (*delivery_get)(hookd_store *st, int64_t key, const char *delivery_id,
                        hookd_delivery **out, hookd_attempt **attempts, size_t *n_attempts);
    int (*webhook_insert_tested)(hookd_store *st, hookd_webhook *wh, const hookd_test_record *t);
} hookd_store_ops;

/* Every backend's handle starts with this. */
struct hookd_store {
    const hookd_store_ops *ops;
    hookd_store_listener listener; /* zeroed until hookd_store_listen */
    const hookd_sealer *sealer;    /* borrowed from the options: seals webhook docs */
};

/* Backends. */
int hookd_store_open_sqlite(const hookd_store_options *opt, hookd_store **out, char *err,
                            size_t errlen);
int hookd_store_open_pg(const hookd_store_options *opt, hookd_store **out, char *err,
                        size_t errlen);

/* The check value every store keeps: a known text sealed with the master
 * key, so that a wrong key is refused at start rather than when a secret is
 * first needed. */
#define HOOKD_SEAL_CHECK_TEXT "hookd master key check"
#define HOOKD_SEAL_CHECK_AAD "hookd/meta/seal_check"
/* Checks (stored non-NULL) or makes (*made, new string) the check value.
 * Returns 0, or HOOKD_EINVAL with the one-line message for a wrong key. */
int hookd_seal_check(const hookd_store_options *opt, const char *stored, char **made, char *err,
                     size_t errlen);

/* The job the listener is told of for a delivery just stored at seq: pending,
 * due at once, taking d's query and body (d keeps neither). Every backend
 * hands over its fresh deliveries through it. */
void hookd_job_of_new(hookd_job *j, int64_t seq, hookd_new_delivery *d);

/* What a listed delivery counts against HOOKD_STORE_PAGE_BYTES: its body,
 * query and answer. */
size_t hookd_delivery_bytes(const hookd_delivery *d);

#endif

/*
 * contacts.h — private to src/api: validating person/account field maps and
 * merging people and accounts inside a write transaction. Shared by
 * /people/merge, /accounts/merge, /activities and /webhooks/{id}/send, so a
 * contact given by merge means the same thing everywhere.
 */
#ifndef HOOKD_API_CONTACTS_H
#define HOOKD_API_CONTACTS_H

#include <jansson.h>
#include <stdbool.h>

#include "model/fields.h"
#include "store/store.h"
#include "util/error.h"

#define HOOKD_MERGE_BY_MAX 3

/* A person to merge, validated: fields normalised, merge_by resolved. */
typedef struct hookd_merge_person {
    json_t *fields;                      /* new reference */
    const char *merge_by[HOOKD_MERGE_BY_MAX]; /* borrowed from the request */
    int n_merge_by;
    json_t *account_fields;              /* new reference, or NULL */
} hookd_merge_person;

void hookd_merge_person_clear(hookd_merge_person *m);

/* Validates a merge_by list at path (1–3 string-typed person field ids; NULL
 * v means the default ["str::email"]). */
int hookd_merge_by_validate(const json_t *v, const char *path, const char **ids, int *n,
                            hookd_error *err);

/* Validates {"fields":{…},"account":{"fields":{…}}} at path with merge_by
 * ids. At least one merge_by field must have a value. */
int hookd_merge_person_validate(const json_t *v, const char *path, const char **merge_by,
                                int n_merge_by, bool allow_account, hookd_merge_person *out,
                                hookd_error *err);

/* Finds the person by the merge_by fields in order (the first that matches
 * wins), or makes one; overwrites the given fields, keeps the others, links
 * the account (found or made by str:o:name) when one is given. *created
 * tells which. Returns the stored person (new) in *out. */
int hookd_merge_person_apply(hookd_txn *tx, const hookd_merge_person *m, int64_t now_ms,
                             hookd_person **out, bool *created);

#endif

/*
 * person.h — people and accounts as hookd keeps them
 * (docs/api.md#people-accounts-and-fields), and the merge rule every write of them follows: given fields overwrite, a null
 * removes the field, others stay.
 *
 * Plain values: a hookd_person / hookd_account owns its fields object; a
 * hookd_merge_person owns its field objects and borrows its merge_by ids
 * (from the request they came in). Thread-safe as long as one value is not
 * shared between threads while it changes.
 */
#ifndef HOOKD_MODEL_PERSON_H
#define HOOKD_MODEL_PERSON_H

#include <jansson.h>
#include <stdint.h>

#include "model/fields.h"
#include "util/crypto.h"
#include "util/error.h"

#define HOOKD_MERGE_BY_MAX 3

typedef struct hookd_person {
    int64_t key;                   /* the store's number for it */
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
/* A deep copy, or NULL if memory ran out. */
hookd_person *hookd_person_clone(const hookd_person *p);
hookd_account *hookd_account_clone(const hookd_account *a);

/* A person to merge, validated: fields normalised, merge_by resolved. */
typedef struct hookd_merge_person {
    json_t *fields;                           /* new reference */
    const char *merge_by[HOOKD_MERGE_BY_MAX]; /* borrowed from the request */
    int n_merge_by;
    json_t *account_fields;                   /* new reference, or NULL */
} hookd_merge_person;

void hookd_merge_person_clear(hookd_merge_person *m);

/* Overwrites dst's fields with src's; a null in src removes the field.
 * Returns 0, or -1 if memory ran out (dst is then partly merged). */
int hookd_fields_merge(json_t *dst, const json_t *src) __attribute__((warn_unused_result));

/* The person a merge writes (the merge rule, the same in every store):
 * found (taken) with fields merged in, or — found NULL — a new person with
 * a fresh contact id made at now_ms; updated_at is now_ms. NULL if memory
 * ran out (found is freed then). */
hookd_person *hookd_person_merged(hookd_person *found, const json_t *fields, int64_t now_ms);

/* Validates a field map of object (keys: its field ids; values of their
 * types) at path, as people/merge does: an unknown id or a value of the
 * wrong type is an "invalid" error naming path.<id>; null clears a field.
 * Returns 0 and a new normalised object in *out. */
int hookd_fields_validate(const json_t *v, hookd_field_object object, const char *path,
                          json_t **out, hookd_error *err) __attribute__((warn_unused_result));

#endif

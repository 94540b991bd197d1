/*
 * contacts.h — private to src/api: validating person/account field maps and
 * the people to merge. Shared by /people/merge, /activities and
 * /webhooks/{id}/send, so a contact given by merge means the same thing
 * everywhere (the store's merge commands do the merging).
 */
#ifndef HOOKD_API_CONTACTS_H
#define HOOKD_API_CONTACTS_H

#include <jansson.h>
#include <stdbool.h>

#include "model/fields.h"
#include "model/person.h"
#include "util/error.h"

/* Validates a merge_by list at path (1–3 string-typed person field ids; NULL
 * v means the default ["str::email"]). */
int hookd_merge_by_validate(const json_t *v, const char *path, const char **ids, int *n,
                            hookd_error *err);

/* Validates {"fields":{…},"account":{"fields":{…}}} at path with merge_by
 * ids. At least one merge_by field must have a value. */
int hookd_merge_person_validate(const json_t *v, const char *path, const char **merge_by,
                                int n_merge_by, bool allow_account, hookd_merge_person *out,
                                hookd_error *err);

#endif

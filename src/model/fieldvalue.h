/*
 * fieldvalue.h — checks a JSON value against a field type of docs/payload.md#field-ids and
 * returns it in the form hookd stores and sends (timestamps in UTC).
 *
 * Pure functions; thread-safe. Returned values are new references.
 */
#ifndef HOOKD_MODEL_FIELDVALUE_H
#define HOOKD_MODEL_FIELDVALUE_H

#include <jansson.h>

#include "model/fields.h"
#include "util/error.h"

/* Checks v against type t. On success returns 0 and sets *out to the
 * normalised value (new reference): a `tme` becomes "YYYY-MM-DDTHH:MM:SSZ" in
 * UTC, every other type is returned as given (a new reference to an equal
 * value). On failure returns HOOKD_EINVAL with err naming path (e.g.
 * "activities[3].attr.int::pv") and saying what was expected. t must not be
 * HOOKD_FT_ACT or HOOKD_FT_INVALID. */
int hookd_field_value_check(hookd_field_type t, const json_t *v, const char *path, json_t **out,
                            hookd_error *err) __attribute__((warn_unused_result));

#endif

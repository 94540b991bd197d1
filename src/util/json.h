/*
 * json.h — the one strictness rule every JSON input of the API shares:
 * unknown keys are refused (SPEC §2), naming the key by its full path.
 */
#ifndef HOOKD_UTIL_JSON_H
#define HOOKD_UTIL_JSON_H

#include <jansson.h>

#include "util/error.h"

/* Refuses any key of obj not in allowed (NULL-terminated): a 400 whose field
 * is prefix + "." + key (just the key when prefix is ""). Returns 0 or
 * HOOKD_EINVAL. */
int hookd_json_only_keys(const json_t *obj, const char *const *allowed, const char *prefix,
                         hookd_error *err);

#endif

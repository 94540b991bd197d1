/*
 * error.h — the one error value that travels from validation and the store up
 * to the API, where it becomes {"error":{"code","message","field"}}.
 *
 * A hookd_error is a plain value owned by whoever declares it (usually on the
 * stack); it holds no pointers, so there is nothing to free.
 */
#ifndef HOOKD_UTIL_ERROR_H
#define HOOKD_UTIL_ERROR_H

#include <stddef.h>

/* Negative return codes used across modules. 0 is success. */
enum {
    HOOKD_OK = 0,
    HOOKD_EINVAL = -1,      /* bad input; details in a hookd_error */
    HOOKD_ENOTFOUND = -2,   /* no such record */
    HOOKD_ECONFLICT = -3,   /* record exists / state forbids the change */
    HOOKD_EUNAVAIL = -4,    /* the store cannot take the operation now */
    HOOKD_ENOMEM = -5,      /* allocation failed */
};

#define HOOKD_ERR_MSG_MAX 256
#define HOOKD_ERR_FIELD_MAX 256

typedef struct hookd_error {
    int status;                         /* HTTP status to answer with */
    const char *code;                   /* "invalid", "not_found", … (static) */
    char message[HOOKD_ERR_MSG_MAX];
    char field[HOOKD_ERR_FIELD_MAX];    /* path in the request body, "" if none */
} hookd_error;

/* Fills err (if not NULL). field may be NULL. Always returns HOOKD_EINVAL so
 * validators can `return hookd_error_set(...)`. */
int hookd_error_set(hookd_error *err, int status, const char *code, const char *field,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Shorthand for a 400 "invalid" naming field. */
int hookd_invalid(hookd_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes the path base.name into out (just name when base is empty), cut to
 * fit: how validators name the field they check. Cheaper than snprintf, which
 * showed in ingest profiles, since a path is made for every value checked. */
void hookd_path(char out[HOOKD_ERR_FIELD_MAX], const char *base, const char *name);

/* Fills err from a store/result code (not found, conflict, unavailable, …). */
int hookd_error_from_rc(hookd_error *err, int rc, const char *what);

#endif

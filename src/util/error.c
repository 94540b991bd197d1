#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void set_va(hookd_error *err, int status, const char *code, const char *field,
                   const char *fmt, va_list ap)
{
    err->status = status;
    err->code = code;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
}

int hookd_error_set(hookd_error *err, int status, const char *code, const char *field,
                    const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        set_va(err, status, code, field, fmt, ap);
        va_end(ap);
    }
    return HOOKD_EINVAL;
}

int hookd_invalid(hookd_error *err, const char *field, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        set_va(err, 400, "invalid", field, fmt, ap);
        va_end(ap);
    }
    return HOOKD_EINVAL;
}

int hookd_error_from_rc(hookd_error *err, int rc, const char *what)
{
    switch (rc) {
    case HOOKD_ENOTFOUND:
        hookd_error_set(err, 404, "not_found", NULL, "%s not found", what);
        break;
    case HOOKD_ECONFLICT:
        hookd_error_set(err, 409, "conflict", NULL, "%s conflicts with the current state", what);
        break;
    case HOOKD_ENOMEM:
        hookd_error_set(err, 503, "unavailable", NULL, "out of memory");
        break;
    case HOOKD_EINVAL:
        /* Validators fill err themselves; keep what they said. */
        break;
    default:
        hookd_error_set(err, 503, "unavailable", NULL, "the store cannot take writes right now");
        break;
    }
    return rc;
}

void hookd_path(char out[HOOKD_ERR_FIELD_MAX], const char *base, const char *name)
{
    size_t n = 0, cap = HOOKD_ERR_FIELD_MAX - 1;
    for (const char *p = base; *p && n < cap; p++)
        out[n++] = *p;
    if (n && n < cap)
        out[n++] = '.';
    for (const char *p = name; *p && n < cap; p++)
        out[n++] = *p;
    out[n] = '\0';
}

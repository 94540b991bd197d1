/*
 * fieldvalue.c — the JSON shape of each field type of docs/payload.md#field-ids, checked value
 * by value, so people, accounts and activity attributes all refuse the same
 * things with the same words.
 *
 * Every refusal names the path it was given (or a child of it: "x[2]",
 * "x.year") and says what was expected and which JSON type arrived.
 */
#include "model/fieldvalue.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/timeutil.h"

/* A phone's country calling code is at most 4 digits ("1" to "1684"); E.164
 * caps the whole number at 15 digits, and 17 leaves room for extensions
 * some senders keep in the national part. */
#define PHN_C_MAX 4
#define PHN_N_MAX 17

/* Long enough for any IANA name ("America/Argentina/ComodRivadavia" is 32). */
#define DTZ_TIMEZONE_MAX 64
#define DTZ_YEAR_MIN 1
#define DTZ_YEAR_MAX 9999

/* hookd keeps times as int64 nanoseconds since 1970, which reach from
 * 1677-09-21 to 2262-04-11; hookd_time_parse_rfc3339 does not check that
 * range, so years whose times could overflow are refused before parsing. A
 * day of margin either side covers any UTC offset. */
#define TME_YEAR_MIN 1678
#define TME_YEAR_MAX 2261

#define U4S_MAX 4294967295LL

#define NS_PER_S 1000000000LL

typedef int (*value_checker)(const json_t *v, const char *path, json_t **out, hookd_error *err);

/* ---- helpers ------------------------------------------------------------ */

/* The JSON type of v as a message names it ("got a string"). NULL is what a
 * caller passes for a value that was not there at all. */
static const char *json_kind(const json_t *v)
{
    if (!v)
        return "nothing";
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "a number";
    case JSON_REAL:
        return "a decimal number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "an unknown JSON value";
}

/* Accepted as given. v is const only because the checkers never change
 * it; taking a reference does not alter the value, which is what the
 * contract promises the caller. */
static int keep(const json_t *v, json_t **out)
{
    *out = json_incref((json_t *)v);
    return 0;
}

/* A child path: "<path>.<key>". Truncated at the error field's size, which
 * is as much as an error could carry anyway. */
static void path_key(char *buf, size_t cap, const char *path, const char *key)
{
    snprintf(buf, cap, "%s.%s", path, key);
}

static void path_index(char *buf, size_t cap, const char *path, size_t i)
{
    snprintf(buf, cap, "%s[%zu]", path, i);
}

static bool all_digits(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

static bool is_leap(json_int_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(json_int_t year, json_int_t month)
{
    static const int DAYS[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return DAYS[month - 1] + (month == 2 && is_leap(year));
}

/* Refuses any key of obj not in allowed (NULL-terminated), naming it as a
 * child of path, since docs/api.md rejects unknown keys everywhere. */
static int refuse_unknown_keys(const json_t *obj, const char *path, const char *const *allowed,
                               const char *holds, hookd_error *err)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        (void)val;
        bool known = false;
        for (size_t i = 0; allowed[i] && !known; i++)
            known = strcmp(key, allowed[i]) == 0;
        if (!known) {
            char sub[HOOKD_ERR_FIELD_MAX];
            path_key(sub, sizeof sub, path, key);
            return hookd_invalid(err, sub, "%s is not allowed: %s holds only %s", sub, path, holds);
        }
    }
    return 0;
}

/* ---- scalars ------------------------------------------------------------ */

/* idt, str, txt: any string; the request's size cap is the only length cap. */
static int check_string(const json_t *v, const char *path, json_t **out, hookd_error *err)
{
    if (!json_is_string(v))
        return hookd_invalid(err, path, "%s must be a string, got %s", path, json_kind(v));
    return keep(v, out);
}

static int check_bol(const json_t *v, const char *path, json_t **out, hookd_error *err)
{
    if (!json_is_boolean(v))
        return hookd_invalid(err, path, "%s must be true or false, got %s", path, json_kind(v));
    return keep(v, out);
}

/* Any real is refused, 12.0 included: the sender wrote a decimal, and the
 * contract's answer to decimals is to scale them, not to guess. */
static int check_int(const json_t *v, const char *path, json_t **out, hookd_error *err)
{
    if (json_is_real(v))
        return hookd_invalid(err, path,
                             "%s must be an integer: decimals travel as the value × 1000 "
                             "(12.5 is 12500)",
                             path);
    if (!json_is_integer(v))
        return hookd_invalid(err, path, "%s must be an integer, got %s", path, json_kind(v));
    return keep(v, out);
}

static int tme_refuse(const char *path, const json_t *v, hookd_error *err)
{
    return hookd_invalid(err, path,
                         "%s must be an RFC 3339 timestamp like 2023-01-16T23:40:54Z, got %s", path,
                         json_kind(v));
}

/* The year a timestamp string starts with, or -1 if it does not start with
 * four digits (the parser then refuses it). */
static int leading_year(const char *s, size_t len)
{
    if (len < 4 || !all_digits(s, 4))
        return -1;
    return (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
}

/* tme: normalised to whole UTC seconds, the one form hookd stores and sends;
 * a fraction is dropped rather than rounded so a time never moves forward. */
static int check_tme(const json_t *v, const char *path, json_t **out, hookd_error *err)
{
    if (!json_is_string(v))
        return tme_refuse(path, v, err);
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    /* The parser reads a C string: a NUL inside would hide what follows. */
    if (strlen(s) != len)
        return tme_refuse(path, v, err);
    int year = leading_year(s, len);
    if (year >= 0 && (year < TME_YEAR_MIN || year > TME_YEAR_MAX))
        return hookd_invalid(err, path,
                             "%s must be a timestamp in the years %d to %d, got year %04d", path,
                             TME_YEAR_MIN, TME_YEAR_MAX, year);
    int64_t ns;
    if (hookd_time_parse_rfc3339(s, &ns) != 0)
        return tme_refuse(path, v, err);
    /* Floor, not truncation: -0.5 s is 23:59:59 of the day before. */
    int64_t secs = ns / NS_PER_S - (ns % NS_PER_S < 0);
    char buf[HOOKD_TIME_MAX];
    hookd_time_format_s(secs, buf);
    json_t *norm = json_string(buf);
    if (!norm)
        return hookd_error_from_rc(err, HOOKD_ENOMEM, path);
    *out = norm;
    return 0;
}

/* ---- arrays ------------------------------------------------------------- */

static int check_sst(const json_t *v, const char *path, json_t **out, hookd_error *err)
{
    if (!json_is_array(v))
        return hookd_invalid(err, path, "%s must be an array of strings, got %s", path,
                             json_kind(v));
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        if (!json_is_string(item)) {
            char sub[HOOKD_ERR_FIELD_MAX];
            path_index(sub, sizeof sub, path, i);
            return hookd_invalid(err, sub, "%s must be a string, got %s", sub, json_kind(item));
        }
    }
    return keep(v, out);
}

static int check_u4s(const json_t *v, const char *path, json_t **out, hookd_error *err)
{
    if (!json_is_array(v))
        return hookd_invalid(err, path,
                             "%s must be an array of integers from 0 to 4294967295, got %s", path,
                             json_kind(v));
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        char sub[HOOKD_ERR_FIELD_MAX];
        if (!json_is_integer(item)) {
            path_index(sub, sizeof sub, path, i);
            return hookd_invalid(err, sub, "%s must be an integer from 0 to 4294967295, got %s",
                                 sub, json_kind(item));
        }
        json_int_t n = json_integer_value(item);
        if (n < 0 || n > U4S_MAX) {
            path_index(sub, sizeof sub, path, i);
            return hookd_invalid(
                err, sub, "%s must be from 0 to 4294967295, got %" JSON_INTEGER_FORMAT, sub, n);
        }
    }
    return keep(v, out);
}

/* ---- objects ------------------------------------------------------------ */

/* A phone part: a string of min..max ASCII digits, nothing else (no '+', no
 * spaces), so receivers can join c and n without cleaning them. */
static int check_digits_key(const json_t *obj, const char *path, const char *key, size_t max,
                            const char *example, hookd_error *err)
{
    char sub[HOOKD_ERR_FIELD_MAX];
    path_key(sub, sizeof sub, path, key);
    const json_t *val = json_object_get(obj, key);
    if (!val)
        return hookd_invalid(err, sub, "%s is required: a string of 1 to %zu digits like \"%s\"",
                             sub, max, example);
    if (!json_is_string(val))
        return hookd_invalid(err, sub, "%s must be a string of 1 to %zu digits like \"%s\", got %s",
                             sub, max, example, json_kind(val));
    size_t len = json_string_length(val);
    if (len < 1 || len > max || !all_digits(json_string_value(val), len))
        return hookd_invalid(err, sub, "%s must be 1 to %zu digits (0-9 only) like \"%s\"", sub,
                             max, example);
    return 0;
}

static int check_phn(const json_t *v, const char *path, json_t **out, hookd_error *err)
{
    static const char *const KEYS[] = {"c", "n", NULL};
    if (!json_is_object(v))
        return hookd_invalid(err, path,
                             "%s must be an object like {\"c\":\"61\",\"n\":\"401234567\"}, got %s",
                             path, json_kind(v));
    int rc = refuse_unknown_keys(v, path, KEYS, "c and n", err);
    if (rc == 0)
        rc = check_digits_key(v, path, "c", PHN_C_MAX, "61", err);
    if (rc == 0)
        rc = check_digits_key(v, path, "n", PHN_N_MAX, "401234567", err);
    if (rc != 0)
        return rc;
    return keep(v, out);
}

static int check_geo(const json_t *v, const char *path, json_t **out, hookd_error *err)
{
    static const char *const KEYS[] = {"name", NULL};
    if (!json_is_object(v))
        return hookd_invalid(err, path, "%s must be an object like {\"name\":\"Sydney\"}, got %s",
                             path, json_kind(v));
    int rc = refuse_unknown_keys(v, path, KEYS, "name", err);
    if (rc != 0)
        return rc;
    char sub[HOOKD_ERR_FIELD_MAX];
    path_key(sub, sizeof sub, path, "name");
    const json_t *name = json_object_get(v, "name");
    if (!name)
        return hookd_invalid(err, sub, "%s is required: a place name like \"Sydney\"", sub);
    if (!json_is_string(name))
        return hookd_invalid(err, sub, "%s must be a string like \"Sydney\", got %s", sub,
                             json_kind(name));
    if (json_string_length(name) == 0)
        return hookd_invalid(err, sub, "%s must be a non-empty place name like \"Sydney\"", sub);
    return keep(v, out);
}

/* One integer member of a dtz, within lo..hi. what names the range for the
 * message ("a month from 1 to 12"). */
static int dtz_int(const json_t *obj, const char *path, const char *key, json_int_t lo,
                   json_int_t hi, const char *what, json_int_t *value, hookd_error *err)
{
    char sub[HOOKD_ERR_FIELD_MAX];
    path_key(sub, sizeof sub, path, key);
    const json_t *val = json_object_get(obj, key);
    if (!val)
        return hookd_invalid(err, sub, "%s is required: %s", sub, what);
    if (!json_is_integer(val))
        return hookd_invalid(err, sub, "%s must be %s, got %s", sub, what, json_kind(val));
    json_int_t n = json_integer_value(val);
    if (n < lo || n > hi)
        return hookd_invalid(err, sub, "%s must be %s, got %" JSON_INTEGER_FORMAT, sub, what, n);
    *value = n;
    return 0;
}

static int dtz_timezone(const json_t *obj, const char *path, hookd_error *err)
{
    char sub[HOOKD_ERR_FIELD_MAX];
    path_key(sub, sizeof sub, path, "timezone");
    const json_t *tz = json_object_get(obj, "timezone");
    if (!tz)
        return hookd_invalid(err, sub, "%s is required: a time zone name like \"Australia/Sydney\"",
                             sub);
    if (!json_is_string(tz))
        return hookd_invalid(err, sub,
                             "%s must be a time zone name like \"Australia/Sydney\", got %s", sub,
                             json_kind(tz));
    size_t len = json_string_length(tz);
    /* Names are not checked against a tz database (which would tie hookd to
     * the host's copy); a NUL would cut the name short for C readers. */
    if (len == 0 || len > DTZ_TIMEZONE_MAX || strlen(json_string_value(tz)) != len)
        return hookd_invalid(
            err, sub, "%s must be a time zone name of 1 to %d bytes like \"Australia/Sydney\"", sub,
            DTZ_TIMEZONE_MAX);
    return 0;
}

static int check_dtz(const json_t *v, const char *path, json_t **out, hookd_error *err)
{
    static const char *const KEYS[] = {"year", "month", "day", "timezone", NULL};
    if (!json_is_object(v))
        return hookd_invalid(err, path,
                             "%s must be an object like {\"year\":1990,\"month\":4,\"day\":23,"
                             "\"timezone\":\"Australia/Sydney\"}, got %s",
                             path, json_kind(v));
    int rc = refuse_unknown_keys(v, path, KEYS, "year, month, day and timezone", err);
    if (rc != 0)
        return rc;
    json_int_t year = 0, month = 0, day = 0;
    rc = dtz_int(v, path, "year", DTZ_YEAR_MIN, DTZ_YEAR_MAX, "a year from 1 to 9999", &year, err);
    if (rc == 0)
        rc = dtz_int(v, path, "month", 1, 12, "a month from 1 to 12", &month, err);
    if (rc == 0) {
        /* The day's range depends on the month and year just checked. */
        int dim = days_in_month(year, month);
        char what[64];
        snprintf(what, sizeof what, "a day from 1 to %d (%04d-%02d has %d days)", dim, (int)year,
                 (int)month, dim);
        rc = dtz_int(v, path, "day", 1, dim, what, &day, err);
    }
    if (rc == 0)
        rc = dtz_timezone(v, path, err);
    if (rc != 0)
        return rc;
    return keep(v, out);
}

/* ---- dispatch ----------------------------------------------------------- */

/* HOOKD_FT_INVALID and HOOKD_FT_ACT have no value shape and so no entry. */
static const value_checker CHECKERS[] = {
    [HOOKD_FT_IDT] = check_string, [HOOKD_FT_STR] = check_string, [HOOKD_FT_TXT] = check_string,
    [HOOKD_FT_SST] = check_sst,    [HOOKD_FT_U4S] = check_u4s,    [HOOKD_FT_BOL] = check_bol,
    [HOOKD_FT_INT] = check_int,    [HOOKD_FT_TME] = check_tme,    [HOOKD_FT_PHN] = check_phn,
    [HOOKD_FT_GEO] = check_geo,    [HOOKD_FT_DTZ] = check_dtz,
};

int hookd_field_value_check(hookd_field_type t, const json_t *v, const char *path, json_t **out,
                            hookd_error *err)
{
    if (!path)
        path = "";
    /* Misuse by a caller is answered as an error, not a crash: the request
     * fails, and the message says where to look. */
    size_t ti = (size_t)t;
    if (ti >= sizeof CHECKERS / sizeof CHECKERS[0] || !CHECKERS[ti])
        return hookd_invalid(
            err, path, "%s cannot be checked: field type %d has no value shape (a bug in hookd)",
            path, (int)t);
    if (!out)
        return hookd_invalid(err, path, "%s was checked with nowhere to put the result", path);
    json_t *result = NULL;
    int rc = CHECKERS[ti](v, path, &result, err);
    if (rc != 0)
        return rc;
    *out = result;
    return 0;
}

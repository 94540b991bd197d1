/* Unit tests for src/model/fieldvalue.c: the JSON shape of each field type
 * (docs/payload.md#field-types), what is refused, and where the refusal points. */
#include <jansson.h>
#include <string.h>

#include "model/fieldvalue.h"
#include "unit.h"

#define PATH "activities[3].attr.x"

/* Parses text (decoding any value, not only arrays and objects). */
static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!v)
        unit_fail(__FILE__, __LINE__, "test JSON did not parse: %s (%s)", text, jerr.text);
    return v;
}

/* Expects text to be accepted as type t and returned equal to itself. */
static void accepted_as_given(int line, hookd_field_type t, const char *text)
{
    json_t *v = parse(text);
    if (!v)
        return;
    json_t *out = NULL;
    hookd_error err = {0};
    int rc = hookd_field_value_check(t, v, PATH, &out, &err);
    if (rc != 0)
        unit_fail(__FILE__, line, "%s refused: %s (field %s)", text, err.message, err.field);
    else if (!out || !json_equal(out, v))
        unit_fail(__FILE__, line, "%s not returned as given", text);
    json_decref(out);
    json_decref(v);
}

/* Expects text to be refused as type t with a 400 naming field, *out left
 * alone, and a message naming field and holding want (NULL: anything). */
static void refused(int line, hookd_field_type t, const char *text, const char *field,
                    const char *want)
{
    json_t *v = parse(text);
    if (!v)
        return;
    json_t *out = (json_t *)&out; /* a sentinel: a refusal must not touch it */
    hookd_error err = {0};
    int rc = hookd_field_value_check(t, v, PATH, &out, &err);
    if (rc != HOOKD_EINVAL)
        unit_fail(__FILE__, line, "%s: rc %d, expected HOOKD_EINVAL", text, rc);
    if (out != (json_t *)&out)
        unit_fail(__FILE__, line, "%s: *out changed on refusal", text);
    if (err.status != 400 || !err.code || strcmp(err.code, "invalid") != 0)
        unit_fail(__FILE__, line, "%s: status %d code %s", text, err.status,
                  err.code ? err.code : "(null)");
    if (strcmp(err.field, field) != 0)
        unit_fail(__FILE__, line, "%s: field \"%s\", expected \"%s\"", text, err.field, field);
    /* Every message names the path it blames and says what it expected. */
    if (!strstr(err.message, field))
        unit_fail(__FILE__, line, "%s: message \"%s\" does not name %s", text, err.message, field);
    if (!strstr(err.message, "must") && !strstr(err.message, "required") &&
        !strstr(err.message, "not allowed"))
        unit_fail(__FILE__, line, "%s: message \"%s\" says nothing expected", text, err.message);
    if (want && !strstr(err.message, want))
        unit_fail(__FILE__, line, "%s: message \"%s\" lacks \"%s\"", text, err.message, want);
    json_decref(v);
}

/* tme: text accepted and normalised to want. */
static void tme_is(int line, const char *text, const char *want)
{
    json_t *v = json_string(text);
    json_t *out = NULL;
    hookd_error err = {0};
    int rc = hookd_field_value_check(HOOKD_FT_TME, v, PATH, &out, &err);
    if (rc != 0)
        unit_fail(__FILE__, line, "%s refused: %s", text, err.message);
    else if (!json_is_string(out) || strcmp(json_string_value(out), want) != 0)
        unit_fail(__FILE__, line, "%s became %s, expected %s", text,
                  json_is_string(out) ? json_string_value(out) : "(not a string)", want);
    json_decref(out);
    json_decref(v);
}

#define OK(t, text) accepted_as_given(__LINE__, t, text)
#define BAD(t, text, field, want) refused(__LINE__, t, text, field, want)
#define TME(text, want) tme_is(__LINE__, text, want)

TEST(fieldvalue_strings)
{
    static const hookd_field_type T[] = {HOOKD_FT_IDT, HOOKD_FT_STR, HOOKD_FT_TXT};
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        OK(T[i], "\"Ann\"");
        OK(T[i], "\"\"");
        OK(T[i], "\"caf\\u00e9 \\ud83d\\ude00\"");
        BAD(T[i], "12", PATH, "got a number");
        BAD(T[i], "1.5", PATH, "got a decimal number");
        BAD(T[i], "true", PATH, "got a boolean");
        BAD(T[i], "null", PATH, "got null");
        BAD(T[i], "[\"a\"]", PATH, "got an array");
        BAD(T[i], "{\"a\":\"b\"}", PATH, "got an object");
    }
}

TEST(fieldvalue_sst)
{
    OK(HOOKD_FT_SST, "[]");
    OK(HOOKD_FT_SST, "[\"a\"]");
    OK(HOOKD_FT_SST, "[\"a\",\"\",\"a\"]");
    BAD(HOOKD_FT_SST, "\"a\"", PATH, "array of strings");
    BAD(HOOKD_FT_SST, "{}", PATH, "got an object");
    BAD(HOOKD_FT_SST, "[\"a\",\"b\",3]", PATH "[2]", "got a number");
    BAD(HOOKD_FT_SST, "[null]", PATH "[0]", "got null");
    BAD(HOOKD_FT_SST, "[\"a\",[\"b\"]]", PATH "[1]", "got an array");
}

TEST(fieldvalue_u4s)
{
    OK(HOOKD_FT_U4S, "[]");
    OK(HOOKD_FT_U4S, "[0]");
    OK(HOOKD_FT_U4S, "[4294967295]");
    OK(HOOKD_FT_U4S, "[1,2,3,1]");
    BAD(HOOKD_FT_U4S, "[-1]", PATH "[0]", "0 to 4294967295");
    BAD(HOOKD_FT_U4S, "[1,4294967296]", PATH "[1]", "got 4294967296");
    BAD(HOOKD_FT_U4S, "[1,2,3.0]", PATH "[2]", "got a decimal number");
    BAD(HOOKD_FT_U4S, "[1,\"2\"]", PATH "[1]", "got a string");
    BAD(HOOKD_FT_U4S, "[true]", PATH "[0]", "got a boolean");
    BAD(HOOKD_FT_U4S, "7", PATH, "array of integers");
}

TEST(fieldvalue_bol)
{
    OK(HOOKD_FT_BOL, "true");
    OK(HOOKD_FT_BOL, "false");
    BAD(HOOKD_FT_BOL, "1", PATH, "true or false");
    BAD(HOOKD_FT_BOL, "\"true\"", PATH, "got a string");
    BAD(HOOKD_FT_BOL, "null", PATH, "got null");
}

TEST(fieldvalue_int)
{
    OK(HOOKD_FT_INT, "0");
    OK(HOOKD_FT_INT, "-42");
    OK(HOOKD_FT_INT, "12500");
    OK(HOOKD_FT_INT, "9223372036854775807");
    OK(HOOKD_FT_INT, "-9223372036854775808");
    /* Any real, 12.0 and 1e3 included, is a decimal the sender should scale. */
    BAD(HOOKD_FT_INT, "12.5", PATH, "1000");
    BAD(HOOKD_FT_INT, "12.0", PATH, "1000");
    BAD(HOOKD_FT_INT, "1e3", PATH, "12.5 is 12500");
    BAD(HOOKD_FT_INT, "\"12\"", PATH, "must be an integer, got a string");
    BAD(HOOKD_FT_INT, "true", PATH, "got a boolean");
    BAD(HOOKD_FT_INT, "[1]", PATH, "got an array");

    json_t *v = json_real(12.5);
    hookd_error err = {0};
    json_t *out = NULL;
    CHECK_INT(hookd_field_value_check(HOOKD_FT_INT, v, "activities[3].attr.int::pv", &out, &err),
              HOOKD_EINVAL);
    CHECK_STR(err.message, "activities[3].attr.int::pv must be an integer: decimals travel as "
                           "the value × 1000 (12.5 is 12500)");
    CHECK(out == NULL);
    json_decref(v);

    v = json_string("7");
    CHECK_INT(hookd_field_value_check(HOOKD_FT_INT, v, "activities[3].attr.int::pv", &out, &err),
              HOOKD_EINVAL);
    CHECK_STR(err.message, "activities[3].attr.int::pv must be an integer, got a string");
    CHECK_STR(err.field, "activities[3].attr.int::pv");
    json_decref(v);
}

TEST(fieldvalue_tme)
{
    TME("2023-01-16T23:40:54Z", "2023-01-16T23:40:54Z");
    TME("2023-01-17T10:40:54+11:00", "2023-01-16T23:40:54Z");
    TME("2023-01-16T20:10:54-03:30", "2023-01-16T23:40:54Z");
    TME("2023-01-16T23:40:54.999999999Z", "2023-01-16T23:40:54Z");
    TME("2023-01-16t23:40:54.5z", "2023-01-16T23:40:54Z");
    TME("2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z");
    TME("2023-12-31T23:30:00-01:00", "2024-01-01T00:30:00Z");
    /* Before 1970 a fraction still drops toward the past, not toward zero. */
    TME("1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59Z");
    TME("1900-06-01T12:00:00.25Z", "1900-06-01T12:00:00Z");
    TME("1678-01-01T00:00:00Z", "1678-01-01T00:00:00Z");
    TME("2261-12-31T23:59:59Z", "2261-12-31T23:59:59Z");

    static const char *const BAD_TEXT[] = {
        "\"2023-02-29T00:00:00Z\"",
        "\"2023-13-01T00:00:00Z\"",
        "\"2023-01-32T00:00:00Z\"",
        "\"2023-01-16T24:00:00Z\"",
        "\"2023-01-16 23:40:54Z\"",
        "\"2023-01-16T23:40:54\"",
        "\"2023-01-16\"",
        "\"yesterday\"",
        "\"\"",
        "\"2023-01-16T23:40:54.Z\"",
        "\"2023-01-16T23:40:54+1100\"",
        "\"2023-01-16T23:40:54Z \"",
        "\"2023-01-16T23:40:54Z\\u0000x\"",
    };
    for (size_t i = 0; i < sizeof BAD_TEXT / sizeof BAD_TEXT[0]; i++) {
        json_error_t jerr;
        json_t *v = json_loads(BAD_TEXT[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        json_t *out = NULL;
        hookd_error err = {0};
        CHECK(v != NULL);
        if (hookd_field_value_check(HOOKD_FT_TME, v, PATH, &out, &err) != HOOKD_EINVAL)
            unit_fail(__FILE__, __LINE__, "tme %s accepted", BAD_TEXT[i]);
        CHECK_STR(err.field, PATH);
        CHECK(strstr(err.message, "RFC 3339") != NULL);
        CHECK(strstr(err.message, "2023-01-16T23:40:54Z") != NULL);
        CHECK(out == NULL);
        json_decref(v);
    }
    BAD(HOOKD_FT_TME, "1673912454", PATH, "got a number");
    BAD(HOOKD_FT_TME, "null", PATH, "RFC 3339");
    BAD(HOOKD_FT_TME, "{}", PATH, "got an object");
    /* Outside what int64 nanoseconds hold. */
    BAD(HOOKD_FT_TME, "\"0001-01-01T00:00:00Z\"", PATH, "1678 to 2261");
    BAD(HOOKD_FT_TME, "\"9999-12-31T23:59:59Z\"", PATH, "1678 to 2261");
    BAD(HOOKD_FT_TME, "\"1677-12-31T23:59:59Z\"", PATH, "1678 to 2261");
    BAD(HOOKD_FT_TME, "\"2262-01-01T00:00:00Z\"", PATH, "1678 to 2261");
}

TEST(fieldvalue_phn)
{
    OK(HOOKD_FT_PHN, "{\"c\":\"61\",\"n\":\"401234567\"}");
    OK(HOOKD_FT_PHN, "{\"n\":\"0\",\"c\":\"1\"}");
    OK(HOOKD_FT_PHN, "{\"c\":\"1684\",\"n\":\"12345678901234567\"}");
    BAD(HOOKD_FT_PHN, "\"+61401234567\"", PATH, "got a string");
    BAD(HOOKD_FT_PHN, "{\"n\":\"401234567\"}", PATH ".c", "required");
    BAD(HOOKD_FT_PHN, "{\"c\":\"61\"}", PATH ".n", "required");
    BAD(HOOKD_FT_PHN, "{}", PATH ".c", "required");
    BAD(HOOKD_FT_PHN, "{\"c\":\"61\",\"n\":\"401234567\",\"x\":\"1\"}", PATH ".x", "not allowed");
    BAD(HOOKD_FT_PHN, "{\"c\":\"+61\",\"n\":\"401234567\"}", PATH ".c", "digits");
    BAD(HOOKD_FT_PHN, "{\"c\":\"61\",\"n\":\"401 234 567\"}", PATH ".n", "digits");
    BAD(HOOKD_FT_PHN, "{\"c\":\"61\",\"n\":\"40123456a\"}", PATH ".n", "digits");
    BAD(HOOKD_FT_PHN, "{\"c\":\"\",\"n\":\"401234567\"}", PATH ".c", "1 to 4");
    BAD(HOOKD_FT_PHN, "{\"c\":\"12345\",\"n\":\"401234567\"}", PATH ".c", "1 to 4");
    BAD(HOOKD_FT_PHN, "{\"c\":\"61\",\"n\":\"\"}", PATH ".n", "1 to 17");
    BAD(HOOKD_FT_PHN, "{\"c\":\"61\",\"n\":\"123456789012345678\"}", PATH ".n", "1 to 17");
    BAD(HOOKD_FT_PHN, "{\"c\":61,\"n\":\"401234567\"}", PATH ".c", "got a number");
    BAD(HOOKD_FT_PHN, "{\"c\":\"61\",\"n\":null}", PATH ".n", "got null");
}

TEST(fieldvalue_geo)
{
    OK(HOOKD_FT_GEO, "{\"name\":\"Sydney\"}");
    OK(HOOKD_FT_GEO, "{\"name\":\"S\\u00e3o Paulo\"}");
    BAD(HOOKD_FT_GEO, "\"Sydney\"", PATH, "got a string");
    BAD(HOOKD_FT_GEO, "{}", PATH ".name", "required");
    BAD(HOOKD_FT_GEO, "{\"name\":\"\"}", PATH ".name", "non-empty");
    BAD(HOOKD_FT_GEO, "{\"name\":7}", PATH ".name", "got a number");
    BAD(HOOKD_FT_GEO, "{\"name\":\"Sydney\",\"code\":\"SYD\"}", PATH ".code", "not allowed");
}

TEST(fieldvalue_dtz)
{
    OK(HOOKD_FT_DTZ, "{\"year\":1990,\"month\":4,\"day\":23,\"timezone\":\"Australia/Sydney\"}");
    OK(HOOKD_FT_DTZ, "{\"timezone\":\"UTC\",\"day\":31,\"month\":12,\"year\":9999}");
    OK(HOOKD_FT_DTZ, "{\"year\":1,\"month\":1,\"day\":1,\"timezone\":\"Etc/GMT+10\"}");
    /* Feb 29: leap years (every 4th, not every 100th, but every 400th). */
    OK(HOOKD_FT_DTZ, "{\"year\":2024,\"month\":2,\"day\":29,\"timezone\":\"UTC\"}");
    OK(HOOKD_FT_DTZ, "{\"year\":2000,\"month\":2,\"day\":29,\"timezone\":\"UTC\"}");
    BAD(HOOKD_FT_DTZ, "{\"year\":2023,\"month\":2,\"day\":29,\"timezone\":\"UTC\"}", PATH ".day",
        "1 to 28");
    BAD(HOOKD_FT_DTZ, "{\"year\":1900,\"month\":2,\"day\":29,\"timezone\":\"UTC\"}", PATH ".day",
        "1 to 28");
    BAD(HOOKD_FT_DTZ, "{\"year\":2023,\"month\":4,\"day\":31,\"timezone\":\"UTC\"}", PATH ".day",
        "1 to 30");
    BAD(HOOKD_FT_DTZ, "{\"year\":2023,\"month\":1,\"day\":0,\"timezone\":\"UTC\"}", PATH ".day",
        "got 0");
    BAD(HOOKD_FT_DTZ, "{\"year\":0,\"month\":1,\"day\":1,\"timezone\":\"UTC\"}", PATH ".year",
        "1 to 9999");
    BAD(HOOKD_FT_DTZ, "{\"year\":10000,\"month\":1,\"day\":1,\"timezone\":\"UTC\"}", PATH ".year",
        "1 to 9999");
    BAD(HOOKD_FT_DTZ, "{\"year\":1990.0,\"month\":1,\"day\":1,\"timezone\":\"UTC\"}", PATH ".year",
        "got a decimal number");
    BAD(HOOKD_FT_DTZ, "{\"year\":\"1990\",\"month\":1,\"day\":1,\"timezone\":\"UTC\"}",
        PATH ".year", "got a string");
    BAD(HOOKD_FT_DTZ, "{\"year\":1990,\"month\":0,\"day\":1,\"timezone\":\"UTC\"}", PATH ".month",
        "1 to 12");
    BAD(HOOKD_FT_DTZ, "{\"year\":1990,\"month\":13,\"day\":1,\"timezone\":\"UTC\"}", PATH ".month",
        "1 to 12");
    BAD(HOOKD_FT_DTZ, "{\"month\":1,\"day\":1,\"timezone\":\"UTC\"}", PATH ".year", "required");
    BAD(HOOKD_FT_DTZ, "{\"year\":1990,\"day\":1,\"timezone\":\"UTC\"}", PATH ".month", "required");
    BAD(HOOKD_FT_DTZ, "{\"year\":1990,\"month\":1,\"timezone\":\"UTC\"}", PATH ".day", "required");
    BAD(HOOKD_FT_DTZ, "{\"year\":1990,\"month\":1,\"day\":1}", PATH ".timezone", "required");
    BAD(HOOKD_FT_DTZ, "{\"year\":1990,\"month\":1,\"day\":1,\"timezone\":\"\"}", PATH ".timezone",
        "1 to 64");
    BAD(HOOKD_FT_DTZ, "{\"year\":1990,\"month\":1,\"day\":1,\"timezone\":10}", PATH ".timezone",
        "got a number");
    BAD(HOOKD_FT_DTZ, "{\"year\":1990,\"month\":1,\"day\":1,\"timezone\":\"UTC\",\"hour\":3}",
        PATH ".hour", "not allowed");
    BAD(HOOKD_FT_DTZ, "\"1990-04-23\"", PATH, "got a string");
    BAD(HOOKD_FT_DTZ, "[1990,4,23]", PATH, "got an array");

    /* The timezone's cap is 64 bytes: 64 is fine, 65 is not. */
    char tz[66];
    memset(tz, 'A', sizeof tz - 1);
    tz[65] = '\0';
    json_t *v = json_pack("{s:i,s:i,s:i,s:s#}", "year", 1990, "month", 1, "day", 1, "timezone", tz,
                          (size_t)64);
    json_t *out = NULL;
    hookd_error err = {0};
    CHECK_INT(hookd_field_value_check(HOOKD_FT_DTZ, v, PATH, &out, &err), 0);
    CHECK(json_equal(out, v));
    json_decref(out);
    json_decref(v);
    out = NULL;
    v = json_pack("{s:i,s:i,s:i,s:s}", "year", 1990, "month", 1, "day", 1, "timezone", tz);
    CHECK_INT(hookd_field_value_check(HOOKD_FT_DTZ, v, PATH, &out, &err), HOOKD_EINVAL);
    CHECK_STR(err.field, PATH ".timezone");
    CHECK_INT(err.status, 400);
    CHECK(out == NULL);
    json_decref(v);
}

TEST(fieldvalue_misuse)
{
    json_t *v = json_string("x");
    json_t *out = NULL;
    hookd_error err = {0};
    CHECK_INT(hookd_field_value_check(HOOKD_FT_ACT, v, PATH, &out, &err), HOOKD_EINVAL);
    CHECK_INT(err.status, 400);
    CHECK_STR(err.field, PATH);
    CHECK(out == NULL);
    CHECK_INT(hookd_field_value_check(HOOKD_FT_INVALID, v, PATH, &out, &err), HOOKD_EINVAL);
    CHECK(out == NULL);
    CHECK_INT(hookd_field_value_check((hookd_field_type)999, v, PATH, &out, &err), HOOKD_EINVAL);
    CHECK(out == NULL);
    /* A missing value (NULL) and a NULL path are refused, not crashed on. */
    CHECK_INT(hookd_field_value_check(HOOKD_FT_STR, NULL, PATH, &out, &err), HOOKD_EINVAL);
    CHECK(strstr(err.message, "got nothing") != NULL);
    CHECK_INT(hookd_field_value_check(HOOKD_FT_DTZ, NULL, PATH, &out, &err), HOOKD_EINVAL);
    CHECK_INT(hookd_field_value_check(HOOKD_FT_INT, v, NULL, &out, &err), HOOKD_EINVAL);
    CHECK_STR(err.field, "");
    CHECK(out == NULL);
    /* A NULL err is allowed: the caller only wants the verdict. */
    CHECK_INT(hookd_field_value_check(HOOKD_FT_INT, v, PATH, &out, NULL), HOOKD_EINVAL);
    json_decref(v);
}

TEST(fieldvalue_new_reference)
{
    /* The value returned is the caller's to release, independently of v. */
    json_t *v = json_pack("{s:s,s:s}", "c", "61", "n", "401234567");
    json_t *out = NULL;
    hookd_error err = {0};
    CHECK_INT(hookd_field_value_check(HOOKD_FT_PHN, v, PATH, &out, &err), 0);
    json_decref(v);
    CHECK(json_is_object(out));
    CHECK_STR(json_string_value(json_object_get(out, "n")), "401234567");
    json_decref(out);

    /* A long path is cut to the error's size, not overrun. */
    char path[600];
    memset(path, 'p', sizeof path - 1);
    path[sizeof path - 1] = '\0';
    v = json_pack("{s:s}", "name", "");
    CHECK_INT(hookd_field_value_check(HOOKD_FT_GEO, v, path, &out, &err), HOOKD_EINVAL);
    CHECK_INT(strlen(err.field), HOOKD_ERR_FIELD_MAX - 1);
    json_decref(v);
}

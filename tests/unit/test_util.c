/* Unit tests for src/util: durations, RFC 3339 time, ids, base64. */
#include <stdlib.h>

#include "unit.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/duration.h"
#include "util/timeutil.h"
#include "util/utf8.h"

TEST(duration_units)
{
    int64_t ms = -1;
    CHECK_INT(hookd_duration_parse("250ms", &ms), 0);
    CHECK_INT(ms, 250);
    CHECK_INT(hookd_duration_parse("30s", &ms), 0);
    CHECK_INT(ms, 30000);
    CHECK_INT(hookd_duration_parse("5m", &ms), 0);
    CHECK_INT(ms, 300000);
    CHECK_INT(hookd_duration_parse("1h", &ms), 0);
    CHECK_INT(ms, 3600000);
    CHECK_INT(hookd_duration_parse("30d", &ms), 0);
    CHECK_INT(ms, 30LL * 86400000);
    CHECK_INT(hookd_duration_parse("0s", &ms), 0);
    CHECK_INT(ms, 0);
}

TEST(duration_rejects)
{
    static const char *const BAD[] = {"1.5s", "", "s", "10", "-1s", "+1s", " 1s", "1s ", "1S",
                                      "1 s",  "1sec", "1y", "ms", "99999999999999999999s",
                                      "36501d", "1e3s", "0x10s"};
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        int64_t ms = 0;
        if (hookd_duration_parse(BAD[i], &ms) == 0)
            unit_fail(__FILE__, __LINE__, "duration '%s' was accepted", BAD[i]);
    }
}

TEST(duration_list)
{
    int64_t *v = NULL;
    size_t n = 0;
    CHECK_INT(hookd_duration_list_parse("5m,15m,1h,5h,1d", &v, &n), 0);
    CHECK_INT(n, 5);
    if (n == 5) {
        CHECK_INT(v[0], 300000);
        CHECK_INT(v[1], 900000);
        CHECK_INT(v[2], 3600000);
        CHECK_INT(v[3], 18000000);
        CHECK_INT(v[4], 86400000);
    }
    free(v);
    CHECK_INT(hookd_duration_list_parse("1s", &v, &n), 0);
    CHECK_INT(n, 1);
    free(v);
    CHECK(hookd_duration_list_parse("", &v, &n) != 0);
    CHECK(hookd_duration_list_parse("5m,,1h", &v, &n) != 0);
    CHECK(hookd_duration_list_parse("5m,", &v, &n) != 0);
    CHECK(hookd_duration_list_parse(",5m", &v, &n) != 0);
    CHECK(hookd_duration_list_parse("5m, 1h", &v, &n) != 0);
    CHECK(hookd_duration_list_parse("0s", &v, &n) != 0); /* a zero delay is no schedule */
}

TEST(time_format)
{
    char out[HOOKD_TIME_MAX];
    hookd_time_format_s(1673912454, out);
    CHECK_STR(out, "2023-01-16T23:40:54Z");
    hookd_time_format_ns(1673912478948713601LL, out);
    CHECK_STR(out, "2023-01-16T23:41:18.948713601Z");
    hookd_time_format_ns(1673912478000000001LL, out);
    CHECK_STR(out, "2023-01-16T23:41:18.000000001Z");
    hookd_time_format_ms(1673912478948LL, out);
    CHECK_STR(out, "2023-01-16T23:41:18.948Z");
    hookd_time_format_ms(-1, out);
    CHECK_STR(out, "1969-12-31T23:59:59.999Z");
}

TEST(time_parse)
{
    int64_t ns = 0;
    CHECK_INT(hookd_time_parse_rfc3339("2023-01-16T23:40:54Z", &ns), 0);
    CHECK_INT(ns, 1673912454LL * 1000000000);
    CHECK_INT(hookd_time_parse_rfc3339("2023-01-17T10:40:54+11:00", &ns), 0);
    CHECK_INT(ns, 1673912454LL * 1000000000);
    CHECK_INT(hookd_time_parse_rfc3339("2023-01-16T18:40:54.5-05:00", &ns), 0);
    CHECK_INT(ns, 1673912454LL * 1000000000 + 500000000);
    CHECK_INT(hookd_time_parse_rfc3339("2024-02-29T00:00:00z", &ns), 0);
    static const char *const BAD[] = {"2023-01-16", "2023-01-16 23:40:54Z", "2023-02-29T00:00:00Z",
                                      "2023-13-01T00:00:00Z", "2023-01-16T24:00:00Z",
                                      "2023-01-16T23:40:54", "2023-01-16T23:40:54.Z",
                                      "2023-01-16T23:40:54+1100", "2023-01-16T23:40:54Zx",
                                      "2023-1-16T23:40:54Z", "", "0999-01-01T00:00:00Z",
                                      "2263-01-01T00:00:00Z"};
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        if (hookd_time_parse_rfc3339(BAD[i], &ns) == 0)
            unit_fail(__FILE__, __LINE__, "time '%s' was accepted", BAD[i]);
    }
}

TEST(ids_are_uuid7_and_sort_by_time)
{
    char a[HOOKD_ID_MAX], b[HOOKD_ID_MAX];
    CHECK_INT(hookd_id_new(a), 0);
    CHECK(hookd_id_valid(a));
    CHECK_INT(a[14], '7');
    CHECK(strchr("89ab", a[19]) != NULL);
    CHECK_INT(hookd_id_new(b), 0);
    CHECK(strcmp(a, b) != 0);
    CHECK(strncmp(a, b, 8) <= 0); /* the leading 32 bits of milliseconds never go back */
    CHECK(!hookd_id_valid("not-an-id"));
    CHECK(!hookd_id_valid("01A21934-DB42-7A85-A32B-7700833E2647"));
}

TEST(base64_round_trip)
{
    unsigned char out[16];
    char enc[16];
    CHECK_INT(hookd_base64_encode("hi!", 3, enc), 4);
    CHECK_STR(enc, "aGkh");
    CHECK_INT(hookd_base64_encode("hi", 2, enc), 4);
    CHECK_STR(enc, "aGk=");
    CHECK_INT(hookd_base64_decode("aGk=", out), 2);
    CHECK(memcmp(out, "hi", 2) == 0);
    CHECK_INT(hookd_base64_decode("aGk", out), -1);
}

TEST(hmac_sha256_known_vector)
{
    /* RFC 4231 test case 2. */
    unsigned char mac[32];
    static const unsigned char WANT[32] = {
        0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
        0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
    hookd_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
    CHECK(memcmp(mac, WANT, 32) == 0);
}

TEST(utf8_chars)
{
    CHECK_INT(hookd_utf8_chars(""), 0);
    CHECK_INT(hookd_utf8_chars("abc"), 3);
    CHECK_INT(hookd_utf8_chars("h\xc3\xa9llo"), 5);       /* héllo */
    CHECK_INT(hookd_utf8_chars("\xf0\x9f\x98\x80!"), 2); /* 😀! */
}

TEST(utf8_sanitize_replaces_only_bad_bytes)
{
    char a[] = "ok h\xc3\xa9 \xf0\x9f\x98\x80";
    hookd_utf8_sanitize(a);
    CHECK_STR(a, "ok h\xc3\xa9 \xf0\x9f\x98\x80");
    char b[] = "/api/\xff\xfe-x";
    hookd_utf8_sanitize(b);
    CHECK_STR(b, "/api/?" "?-x"); /* split: "??/" is a trigraph */
    char c[] = "cut \xc3"; /* a two-byte character cut in half */
    hookd_utf8_sanitize(c);
    CHECK_STR(c, "cut ?");
    char d[] = "\xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80"; /* overlong, surrogate, > U+10FFFF */
    hookd_utf8_sanitize(d);
    CHECK_STR(d, "?? ??? ????");
}

TEST(buf_appends_and_hands_over)
{
    hookd_buf b = {0};
    char *empty = hookd_buf_take(&b);
    CHECK_STR(empty, "");
    free(empty);
    for (int i = 0; i < 100; i++)
        hookd_buf_puts(&b, "0123456789");
    hookd_buf_append(&b, "xyz", 2);
    CHECK_INT(b.len, 1002);
    char *s = hookd_buf_take(&b);
    CHECK_INT(strlen(s), 1002);
    CHECK(strcmp(s + 1000, "xy") == 0);
    CHECK(b.data == NULL && b.len == 0);
    free(s);
    hookd_buf failed = {.failed = true};
    hookd_buf_puts(&failed, "ignored");
    CHECK(hookd_buf_take(&failed) == NULL);
}

/* Unit tests for src/delivery/request.c: the Standard Webhooks signature. */
#include "delivery/request.h"
#include "unit.h"

TEST(sign_matches_the_standard_webhooks_vector)
{
    /* The published example of the Standard Webhooks spec, also checked
     * against Python's hmac when this test was written. */
    char sig[64];
    CHECK_INT(hookd_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                         1614265330, "{\"test\": 2432232314}", sig),
              0);
    CHECK_STR(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(sign_changes_with_every_input_and_refuses_bad_secrets)
{
    char a[64], b[64];
    const char *secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    CHECK_INT(hookd_sign(secret, "id", 1, "", a), 0);
    CHECK_INT(hookd_sign(secret, "id", 2, "", b), 0);
    CHECK(strcmp(a, b) != 0);
    CHECK_INT(hookd_sign(secret, "id2", 1, "", b), 0);
    CHECK(strcmp(a, b) != 0);
    CHECK_INT(hookd_sign(secret, "id", 1, "x", b), 0);
    CHECK(strcmp(a, b) != 0);
    CHECK(hookd_sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "id", 1, "", a) != 0); /* no prefix */
    CHECK(hookd_sign("whsec_not*base64", "id", 1, "", a) != 0);
}

/* Found by fuzz_url_header: libcurl leaves out a line "Name: " with a blank
 * value, so an empty custom header was never sent. The template must give
 * libcurl "Name;", which it sends as the empty header "Name:" (the e2e test
 * tests/e2e/test_header_values.py checks what a receiver gets). */
TEST(request_template_sends_blank_header_values)
{
    hookd_webhook *wh = hookd_webhook_new(0);
    CHECK(wh != NULL);
    if (!wh)
        return;
    wh->url = strdup("https://example.com/h");
    wh->headers = calloc(3, sizeof *wh->headers);
    const char *values[3] = {"", " \t ", " v "};
    for (int i = 0; i < 3; i++) {
        char key[16];
        snprintf(key, sizeof key, "X-%d", i);
        wh->headers[i].key = strdup(key);
        wh->headers[i].value = strdup(values[i]);
    }
    wh->n_headers = 3;
    hookd_request_tpl t;
    CHECK_INT(hookd_request_tpl_init(&t, wh), 0);
    const char *want[] = {"X-0;", "X-1;", "X-2:  v "};
    struct curl_slist *l = t.tail;
    for (int i = 0; i < 3; i++, l = l ? l->next : NULL) {
        CHECK(l != NULL);
        if (l)
            CHECK_STR(l->data, want[i]);
    }
    hookd_request_tpl_clear(&t);
    hookd_webhook_free(wh);
}

/* Unit tests for src/delivery/request.c: the Standard Webhooks signature, one
 * or two (new then previous) during a rotation overlap. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>

#include "delivery/request.h"
#include "unit.h"
#include "util/timeutil.h"

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

/* The Standard Webhooks signature computed here with OpenSSL alone:
 * "v1," + base64(HMAC-SHA256(base64-decoded secret, "id.ts.body")). */
static void expected_sig(const char *secret, const char *id, const char *ts, const char *body,
                         char out[64])
{
    unsigned char key[96], mac[32];
    unsigned int maclen = sizeof mac;
    char msg[512];
    const char *b64 = secret + 6;
    int keylen = EVP_DecodeBlock(key, (const unsigned char *)b64, (int)strlen(b64));
    for (const char *p = b64 + strlen(b64); p > b64 && p[-1] == '='; p--)
        keylen--;
    snprintf(msg, sizeof msg, "%s.%s.%s", id, ts, body);
    HMAC(EVP_sha256(), key, keylen, (unsigned char *)msg, strlen(msg), mac, &maclen);
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)maclen);
}

/* The value of header name in r's list, or NULL. */
static const char *header_value(const hookd_request *r, const char *name)
{
    size_t n = strlen(name);
    for (const struct curl_slist *l = r->head; l; l = l->next) {
        if (strncmp(l->data, name, n) == 0 && l->data[n] == ':')
            return l->data + n + 2;
    }
    return NULL;
}

/* Sets one attempt up with overlap_ms and checks webhook-signature against
 * the independent computation: the new signature, then the previous one when
 * want_prev. */
static void check_attempt(hookd_request_tpl *t, const hookd_webhook *wh, int64_t overlap_ms,
                          bool want_prev)
{
    static const char BODY[] = "{\"id\":\"x\",\"test\":true}";
    hookd_send_opts opts = {.timeout_ms = 1000, .rotation_overlap_ms = overlap_ms};
    hookd_request r;
    CURL *easy = curl_easy_init();
    CHECK_INT(hookd_request_setup(&r, easy, t, "msg_1", HOOKD_METHOD_POST, NULL, BODY,
                                  strlen(BODY), &opts),
              0);
    const char *ts = header_value(&r, "webhook-timestamp");
    const char *sent = header_value(&r, "webhook-signature");
    CHECK(ts != NULL && sent != NULL);
    if (ts && sent) {
        char want[200], prev[64];
        expected_sig(wh->secret, "msg_1", ts, BODY, want);
        if (want_prev) {
            expected_sig(wh->secret_prev, "msg_1", ts, BODY, prev);
            strcat(strcat(want, " "), prev);
        }
        CHECK_STR(sent, want);
        CHECK_STR(r.signature, want); /* what the log keeps is what was sent */
    }
    hookd_request_cleanup(&r);
    curl_easy_cleanup(easy);
}

TEST(rotation_overlap_signs_with_new_then_previous_secret)
{
    hookd_webhook *wh = hookd_webhook_new(hookd_now_ms());
    if (!wh) {
        CHECK(wh != NULL);
        return;
    }
    wh->url = strdup("http://127.0.0.1:9/h");
    /* 64- and 24-byte secrets: the longest and shortest a webhook may hold. */
    snprintf(wh->secret, sizeof wh->secret, "whsec_%s",
             "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJCrze8SNFZ4kKvN7xI0VniQ"
             "q83vEjRWeJCrze8SNFZ4kA==");
    snprintf(wh->secret_prev, sizeof wh->secret_prev, "whsec_%s",
             "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    hookd_request_tpl t;

    /* Never rotated: one signature whatever the overlap. */
    wh->rotated_at = 0;
    CHECK_INT(hookd_request_tpl_init(&t, wh), 0);
    check_attempt(&t, wh, 86400000, false);
    hookd_request_tpl_clear(&t);

    /* Rotated a second ago: both within a 1 h overlap; the same template
     * signs once the overlap is over (judged per attempt, not per template). */
    wh->rotated_at = hookd_now_ms() - 1000;
    CHECK_INT(hookd_request_tpl_init(&t, wh), 0);
    check_attempt(&t, wh, 3600000, true);
    check_attempt(&t, wh, 500, false);
    check_attempt(&t, wh, 0, false);
    hookd_request_tpl_clear(&t);
    hookd_webhook_free(wh);
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

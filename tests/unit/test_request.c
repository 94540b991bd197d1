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

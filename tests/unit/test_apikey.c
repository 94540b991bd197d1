/* Unit tests for src/model/apikey: scopes, what each may call, key names and
 * new keys. */
#include <string.h>

#include "model/apikey.h"
#include "unit.h"
#include "util/crypto.h"

TEST(apikey_scope_names)
{
    CHECK_STR(hookd_key_scope_name(HOOKD_SCOPE_ADMIN), "admin");
    CHECK_STR(hookd_key_scope_name(HOOKD_SCOPE_INGEST), "ingest");
    CHECK(hookd_key_scope_name(HOOKD_SCOPE_INVALID) == NULL);
    CHECK(hookd_key_scope_name((hookd_key_scope)7) == NULL);
    CHECK_INT(hookd_key_scope_from_name("admin"), HOOKD_SCOPE_ADMIN);
    CHECK_INT(hookd_key_scope_from_name("ingest"), HOOKD_SCOPE_INGEST);
    static const char *const BAD[] = {"", "Admin", "ADMIN", "ingest ", "root", "admin\n"};
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++)
        CHECK_INT(hookd_key_scope_from_name(BAD[i]), HOOKD_SCOPE_INVALID);
    CHECK_INT(hookd_key_scope_from_name(NULL), HOOKD_SCOPE_INVALID);
}

TEST(apikey_ingest_paths)
{
    static const char *const ALLOWED[] = {
        "/api/v1/people/merge", "/api/v1/people/0190f3a2-0000-7000-8000-000000000000",
        "/api/v1/people", "/api/v1/accounts/merge", "/api/v1/accounts/x", "/api/v1/activities"};
    static const char *const REFUSED[] = {
        "/api/v1/webhooks", "/api/v1/webhooks/x/logs", "/api/v1/keys", "/api/v1/keys/x",
        "/api/v1/fields", "/api/v1/catalog/activities", "/api/v1/peoplex",
        "/api/v1/accountsx/merge", "/api/v1/activities/x", "/api/v1/activitiesx",
        "/api/v1/People/merge", "/api/v2/people/merge", "/api/v1/", "/metrics", "", "/"};
    for (size_t i = 0; i < sizeof ALLOWED / sizeof ALLOWED[0]; i++) {
        CHECK(hookd_key_scope_allows(HOOKD_SCOPE_INGEST, ALLOWED[i]));
        CHECK(hookd_key_scope_allows(HOOKD_SCOPE_ADMIN, ALLOWED[i]));
    }
    for (size_t i = 0; i < sizeof REFUSED / sizeof REFUSED[0]; i++) {
        CHECK(!hookd_key_scope_allows(HOOKD_SCOPE_INGEST, REFUSED[i]));
        CHECK(hookd_key_scope_allows(HOOKD_SCOPE_ADMIN, REFUSED[i]));
    }
    /* No scope, no call. */
    CHECK(!hookd_key_scope_allows(HOOKD_SCOPE_INVALID, "/api/v1/people/merge"));
    CHECK(!hookd_key_scope_allows(HOOKD_SCOPE_INGEST, NULL));
}

TEST(apikey_names)
{
    char name[HOOKD_KEY_NAME_MAX * 2 + 3];
    CHECK(hookd_key_name_problem("shop") == NULL);
    CHECK(hookd_key_name_problem("é") == NULL);
    memset(name, 'a', HOOKD_KEY_NAME_MAX);
    name[HOOKD_KEY_NAME_MAX] = '\0';
    CHECK(hookd_key_name_problem(name) == NULL);
    name[HOOKD_KEY_NAME_MAX] = 'a';
    name[HOOKD_KEY_NAME_MAX + 1] = '\0';
    CHECK(hookd_key_name_problem(name) != NULL);
    /* Characters, not bytes: 200 two-byte characters are fine. */
    for (int i = 0; i < HOOKD_KEY_NAME_MAX; i++)
        memcpy(name + 2 * i, "\xc3\xa9", 2);
    name[2 * HOOKD_KEY_NAME_MAX] = '\0';
    CHECK(hookd_key_name_problem(name) == NULL);
    CHECK(hookd_key_name_problem("") != NULL);
    CHECK(hookd_key_name_problem(NULL) != NULL);
    CHECK(hookd_key_name_problem("a\nb") != NULL);
    CHECK(hookd_key_name_problem("tab\there") != NULL);
    CHECK(hookd_key_name_problem("del\x7f") != NULL);
}

TEST(apikey_new_keys)
{
    char a[HOOKD_KEY_TEXT_MAX], b[HOOKD_KEY_TEXT_MAX];
    CHECK_INT(hookd_key_new(a), 0);
    CHECK_INT(hookd_key_new(b), 0);
    CHECK(strcmp(a, b) != 0);
    CHECK_INT((int)strlen(a), 46);
    CHECK(strncmp(a, "hk_", 3) == 0);
    CHECK_INT((int)strspn(a + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              43);
    unsigned char h[HOOKD_KEY_HASH_LEN], want[32];
    hookd_key_hash(a, strlen(a), h);
    hookd_sha256(a, strlen(a), want);
    CHECK(memcmp(h, want, sizeof want) == 0);
}

/* Unit tests for src/util/seal.c (AES-256-GCM sealing, the key file) and
 * for the sealed doc of src/model/webhook.c: no secret in clear in what the
 * store keeps, secret headers redacted wherever they are shown and kept by
 * a PATCH that leaves their value out. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/webhook.h"
#include "util/error.h"
#include "util/seal.h"
#include "unit.h"

static const unsigned char KEY_A[HOOKD_SEAL_KEY_LEN] = "0123456789abcdef0123456789abcde";
static const unsigned char KEY_B[HOOKD_SEAL_KEY_LEN] = "0123456789abcdef0123456789abcdX";

TEST(seal_round_trip)
{
    hookd_sealer *sl = hookd_sealer_new(KEY_A);
    const char *texts[] = {"hunter2", "", "ünïcødé ✓", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char *sealed = hookd_seal(sl, texts[i], "webhook/x/field");
        char *plain = NULL;
        CHECK(sealed && hookd_is_sealed(sealed));
        if (texts[i][0])
            CHECK(sealed && !strstr(sealed, texts[i]));
        CHECK_INT(hookd_unseal(sl, sealed, "webhook/x/field", &plain), 0);
        CHECK_STR(plain, texts[i]);
        /* A fresh nonce each time: the same text never seals the same. */
        char *again = hookd_seal(sl, texts[i], "webhook/x/field");
        CHECK(again && sealed && strcmp(again, sealed) != 0);
        free(again);
        free(sealed);
        free(plain);
    }
    hookd_sealer_free(sl);
}

TEST(seal_refuses_tampering_wrong_key_and_wrong_aad)
{
    hookd_sealer *a = hookd_sealer_new(KEY_A), *b = hookd_sealer_new(KEY_B);
    char *sealed = hookd_seal(a, "the password", "webhook/1/basic_auth.password");
    char *plain = NULL;
    CHECK(sealed != NULL);
    if (!sealed)
        return;
    CHECK_INT(hookd_unseal(b, sealed, "webhook/1/basic_auth.password", &plain), HOOKD_EINVAL);
    CHECK_INT(hookd_unseal(a, sealed, "webhook/2/basic_auth.password", &plain), HOOKD_EINVAL);
    CHECK_INT(hookd_unseal(a, sealed, "webhook/1/secret", &plain), HOOKD_EINVAL);
    /* Every byte of the body matters: nonce, ciphertext and tag. */
    size_t prefix = strlen(HOOKD_SEAL_PREFIX), n = strlen(sealed);
    for (size_t i = prefix; i + 2 < n; i += 3) {
        char *t = strdup(sealed);
        t[i] = t[i] == 'A' ? 'B' : 'A';
        CHECK_INT(hookd_unseal(a, t, "webhook/1/basic_auth.password", &plain), HOOKD_EINVAL);
        free(t);
    }
    CHECK_INT(hookd_unseal(a, "the password", "webhook/1/basic_auth.password", &plain),
              HOOKD_EINVAL);
    CHECK_INT(hookd_unseal(a, HOOKD_SEAL_PREFIX "AAAA", "x", &plain), HOOKD_EINVAL);
    CHECK_INT(hookd_unseal(a, HOOKD_SEAL_PREFIX "not base64!", "x", &plain), HOOKD_EINVAL);
    CHECK(plain == NULL);
    free(sealed);
    hookd_sealer_free(a);
    hookd_sealer_free(b);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

TEST(master_key_file_read_and_create)
{
    char dir[] = "/tmp/hookd-seal-XXXXXX", path[64], err[256];
    unsigned char key[HOOKD_SEAL_KEY_LEN], again[HOOKD_SEAL_KEY_LEN];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/k", dir);
    write_file(path, "00112233445566778899aabbccddeeffFFEEDDCCBBAA99887766554433221100\n");
    CHECK_INT(hookd_master_key_read(path, key, err, sizeof err), 0);
    CHECK_INT(key[1], 0x11);
    CHECK_INT(key[16], 0xff);
    const char *bad[] = {"",
                         "0011",
                         "zz112233445566778899aabbccddeeffFFEEDDCCBBAA99887766554433221100",
                         "00112233445566778899aabbccddeeffFFEEDDCCBBAA998877665544332211",
                         "00112233445566778899aabbccddeeffFFEEDDCCBBAA99887766554433221100\n\n",
                         "00112233445566778899aabbccddeeffFFEEDDCCBBAA9988776655443322110g",
                         "00112233445566778899aabbccddeeffFFEEDDCCBBAA998877665544332211000"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(path, bad[i]);
        err[0] = '\0';
        CHECK_INT(hookd_master_key_read(path, key, err, sizeof err), -1);
        CHECK(strstr(err, "64 hex characters") != NULL);
    }
    unlink(path);
    CHECK_INT(hookd_master_key_read(path, key, err, sizeof err), -1);
    CHECK_INT(hookd_master_key_create(path, key, err, sizeof err), 0);
    struct stat st;
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK_INT(hookd_master_key_read(path, again, err, sizeof err), 0);
    CHECK(memcmp(key, again, sizeof key) == 0);
    /* Never overwritten: that would lose every secret sealed with it. */
    CHECK_INT(hookd_master_key_create(path, again, err, sizeof err), -1);
    CHECK_INT(hookd_master_key_read(path, again, err, sizeof err), 0);
    CHECK(memcmp(key, again, sizeof key) == 0);
    unlink(path);
    rmdir(dir);
}

/* ---- the sealed doc ------------------------------------------------------ */

#define PASSWORD "pa55-w0rd-in-clear"
#define TOKEN "tok-3c1d-secret-header"

static hookd_webhook *secret_webhook(void)
{
    const char *text = "{\"name\":\"n\",\"url\":\"https://example.com/h\","
                       "\"basic_auth\":{\"username\":\"user\",\"password\":\"" PASSWORD "\"},"
                       "\"headers\":[{\"key\":\"X-Plain\",\"value\":\"shown\"},"
                       "{\"key\":\"X-Api-Key\",\"value\":\"" TOKEN "\",\"secret\":true}]}";
    json_t *body = json_loads(text, 0, NULL);
    hookd_webhook *wh = hookd_webhook_new(1000);
    hookd_error err;
    int rc = hookd_webhook_apply(wh, body, true, NULL, NULL, &err);
    json_decref(body);
    CHECK_INT(rc, 0);
    return wh;
}

/* The base64 body of the signing secret, which is what a receiver keys
 * with: it must not appear either. */
static const char *secret_body(const hookd_webhook *wh)
{
    return wh->secret + strlen("whsec_");
}

TEST(sealed_doc_holds_no_secret_and_round_trips)
{
    hookd_sealer *sl = hookd_sealer_new(KEY_A);
    hookd_webhook *wh = secret_webhook();
    json_t *doc = hookd_webhook_to_sealed_doc(wh, sl);
    char *text = json_dumps(doc, 0);
    CHECK(text != NULL);
    if (text) {
        CHECK(!strstr(text, PASSWORD));
        CHECK(!strstr(text, TOKEN));
        CHECK(!strstr(text, secret_body(wh)));
        CHECK(strstr(text, "\"shown\"") != NULL); /* a plain header stays readable */
    }
    hookd_webhook *back = hookd_webhook_from_sealed_doc(doc, sl);
    CHECK(back != NULL);
    if (back) {
        CHECK_STR(back->basic_pass, PASSWORD);
        CHECK_STR(back->secret, wh->secret);
        CHECK_STR(back->headers[1].value, TOKEN);
        CHECK(back->headers[1].secret && !back->headers[0].secret);
        hookd_webhook_free(back);
    }
    /* A wrong key opens nothing. */
    hookd_sealer *other = hookd_sealer_new(KEY_B);
    CHECK(hookd_webhook_from_sealed_doc(doc, other) == NULL);
    /* A clear doc is not taken for a sealed one. */
    json_t *clear = hookd_webhook_to_doc(wh);
    CHECK(hookd_webhook_from_sealed_doc(clear, sl) == NULL);
    json_decref(clear);
    free(text);
    json_decref(doc);
    hookd_sealer_free(other);
    hookd_webhook_free(wh);
    hookd_sealer_free(sl);
}

TEST(sealed_value_does_not_open_in_another_webhook_or_field)
{
    hookd_sealer *sl = hookd_sealer_new(KEY_A);
    hookd_webhook *a = secret_webhook(), *b = secret_webhook();
    json_t *da = hookd_webhook_to_sealed_doc(a, sl), *db = hookd_webhook_to_sealed_doc(b, sl);
    json_t *pa = json_object_get(json_object_get(da, "basic_auth"), "password");
    /* a's password moved into b's doc. */
    json_t *moved = json_deep_copy(db);
    json_object_set(json_object_get(moved, "basic_auth"), "password", pa);
    CHECK(hookd_webhook_from_sealed_doc(moved, sl) == NULL);
    json_decref(moved);
    /* a's password moved into a's own secret. */
    moved = json_deep_copy(da);
    json_object_set(moved, "secret", pa);
    CHECK(hookd_webhook_from_sealed_doc(moved, sl) == NULL);
    json_decref(moved);
    /* A header value moved to another header name. */
    moved = json_deep_copy(da);
    json_object_set_new(json_array_get(json_object_get(moved, "headers"), 1), "key",
                        json_string("X-Other"));
    CHECK(hookd_webhook_from_sealed_doc(moved, sl) == NULL);
    json_decref(moved);
    json_decref(da);
    json_decref(db);
    hookd_webhook_free(a);
    hookd_webhook_free(b);
    hookd_sealer_free(sl);
}

TEST(secret_header_redacted_in_answer_and_log_headers)
{
    hookd_webhook *wh = secret_webhook();
    json_t *j = hookd_webhook_to_json(wh);
    char *answer = json_dumps(j, 0), *shown = hookd_webhook_tail_shown(wh);
    json_t *h1 = json_array_get(json_object_get(j, "headers"), 1);
    CHECK_STR(json_string_value(json_object_get(h1, "value")), HOOKD_REDACTED);
    CHECK(json_is_true(json_object_get(h1, "secret")));
    /* A plain header has no "secret" member: answers stay as they were. */
    CHECK(json_object_get(json_array_get(json_object_get(j, "headers"), 0), "secret") == NULL);
    CHECK(answer && !strstr(answer, TOKEN) && !strstr(answer, PASSWORD));
    CHECK(shown && !strstr(shown, TOKEN));
    CHECK(shown && strstr(shown, "\"X-Api-Key\":\"[redacted]\"") != NULL);
    free(answer);
    free(shown);
    json_decref(j);
    hookd_webhook_free(wh);
}

/* Applies a PATCH body to wh; returns the code and err. */
static int patch(hookd_webhook *wh, const char *text, hookd_error *err)
{
    json_t *body = json_loads(text, 0, NULL);
    memset(err, 0, sizeof *err);
    int rc = hookd_webhook_apply(wh, body, false, NULL, NULL, err);
    json_decref(body);
    return rc;
}

TEST(secret_header_kept_by_patch_without_value)
{
    hookd_webhook *wh = secret_webhook();
    hookd_error err;
    /* Same name in another case, no value: the stored one stays. */
    CHECK_INT(patch(wh, "{\"headers\":[{\"key\":\"x-api-key\",\"secret\":true}]}", &err), 0);
    CHECK_INT(wh->n_headers, 1);
    CHECK_STR(wh->headers[0].value, TOKEN);
    CHECK(wh->headers[0].secret);
    /* Sending back what an answer showed keeps it too, still secret. */
    CHECK_INT(patch(wh, "{\"headers\":[{\"key\":\"X-Api-Key\",\"value\":\"[redacted]\"}]}",
                    &err),
              0);
    CHECK_STR(wh->headers[0].value, TOKEN);
    CHECK(wh->headers[0].secret);
    /* A new value replaces it. */
    CHECK_INT(patch(wh, "{\"headers\":[{\"key\":\"X-Api-Key\",\"value\":\"new\",\"secret\":true}]}",
                    &err),
              0);
    CHECK_STR(wh->headers[0].value, "new");
    /* A new secret header needs a value. */
    CHECK_INT(patch(wh, "{\"headers\":[{\"key\":\"X-Api-Key\",\"secret\":true},"
                        "{\"key\":\"X-New\",\"secret\":true}]}",
                    &err),
              HOOKD_EINVAL);
    CHECK_STR(err.field, "headers[1].value");
    /* A plain header named without value is not kept from a secret one. */
    CHECK_INT(patch(wh, "{\"headers\":[{\"key\":\"X-Api-Key\"}]}", &err), HOOKD_EINVAL);
    CHECK_STR(err.field, "headers[0].value");
    CHECK_INT(patch(wh, "{\"headers\":[{\"key\":\"X-Api-Key\",\"value\":\"v\",\"secret\":1}]}",
                    &err),
              HOOKD_EINVAL);
    CHECK_STR(err.field, "headers[0].secret");
    hookd_webhook_free(wh);
}

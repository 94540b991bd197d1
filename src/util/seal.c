#include "util/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/crypto.h"
#include "util/error.h"
#include "util/files.h"
#include "util/log.h"

#define NONCE_LEN 12
#define TAG_LEN 16
#define PREFIX_LEN (sizeof HOOKD_SEAL_PREFIX - 1)

struct hookd_sealer {
    unsigned char key[HOOKD_SEAL_KEY_LEN];
};

hookd_sealer *hookd_sealer_new(const unsigned char key[HOOKD_SEAL_KEY_LEN])
{
    hookd_sealer *sl = malloc(sizeof *sl);
    if (sl)
        memcpy(sl->key, key, sizeof sl->key);
    return sl;
}

void hookd_sealer_free(hookd_sealer *sl)
{
    if (!sl)
        return;
    OPENSSL_cleanse(sl->key, sizeof sl->key);
    free(sl);
}

bool hookd_is_sealed(const char *s)
{
    return s && strncmp(s, HOOKD_SEAL_PREFIX, PREFIX_LEN) == 0;
}

/* One GCM pass: encrypts (enc) or decrypts in into out, with aad; the tag is
 * written (enc) or checked. Returns 0, or -1 if OpenSSL failed or the tag
 * did not match. */
static int gcm(const hookd_sealer *sl, bool enc, const unsigned char *nonce, const char *aad,
               const unsigned char *in, size_t n, unsigned char *out, unsigned char *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, ok = ctx != NULL && n <= (size_t)INT32_MAX;
    ok = ok && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
         EVP_CipherInit_ex(ctx, NULL, NULL, sl->key, nonce, enc) == 1 &&
         EVP_CipherUpdate(ctx, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
         (n == 0 || EVP_CipherUpdate(ctx, out, &len, in, (int)n) == 1);
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1;
    ok = ok && EVP_CipherFinal_ex(ctx, out + (n ? (size_t)len : 0), &len) == 1;
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

char *hookd_seal(const hookd_sealer *sl, const char *plain, const char *aad)
{
    size_t n = strlen(plain), raw_len = NONCE_LEN + n + TAG_LEN;
    unsigned char *raw = malloc(raw_len);
    char *out = malloc(PREFIX_LEN + 4 * ((raw_len + 2) / 3) + 1);
    if (!raw || !out || hookd_random_bytes(raw, NONCE_LEN) != 0 ||
        gcm(sl, true, raw, aad, (const unsigned char *)plain, n, raw + NONCE_LEN,
            raw + NONCE_LEN + n) != 0) {
        free(raw);
        free(out);
        return NULL;
    }
    memcpy(out, HOOKD_SEAL_PREFIX, PREFIX_LEN);
    hookd_base64_encode(raw, raw_len, out + PREFIX_LEN);
    free(raw);
    return out;
}

int hookd_unseal(const hookd_sealer *sl, const char *sealed, const char *aad, char **plain)
{
    if (!hookd_is_sealed(sealed))
        return HOOKD_EINVAL;
    const char *b64 = sealed + PREFIX_LEN;
    unsigned char *raw = malloc(3 * strlen(b64) / 4 + 1);
    if (!raw)
        return HOOKD_ENOMEM;
    long raw_len = hookd_base64_decode(b64, raw);
    if (raw_len < NONCE_LEN + TAG_LEN) {
        free(raw);
        return HOOKD_EINVAL;
    }
    size_t n = (size_t)raw_len - NONCE_LEN - TAG_LEN;
    char *out = malloc(n + 1);
    if (!out) {
        free(raw);
        return HOOKD_ENOMEM;
    }
    int rc = gcm(sl, false, raw, aad, raw + NONCE_LEN, n, (unsigned char *)out,
                 raw + NONCE_LEN + n);
    free(raw);
    /* A NUL inside is no string hookd sealed. */
    if (rc != 0 || memchr(out, '\0', n)) {
        OPENSSL_cleanse(out, n);
        free(out);
        return HOOKD_EINVAL;
    }
    out[n] = '\0';
    *plain = out;
    return 0;
}

/* ---- the key file ---------------------------------------------------------- */

static int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int hookd_master_key_read(const char *path, unsigned char key[HOOKD_SEAL_KEY_LEN], char *err,
                          size_t errlen)
{
    char text[2 * HOOKD_SEAL_KEY_LEN + 4];
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "cannot read the master key file %s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    /* One trailing newline (as echo or an editor leaves it) is allowed. */
    if (n > 0 && text[n - 1] == '\n')
        n--;
    if (n > 0 && text[n - 1] == '\r')
        n--;
    bool ok = n == 2 * HOOKD_SEAL_KEY_LEN;
    for (size_t i = 0; ok && i < HOOKD_SEAL_KEY_LEN; i++) {
        int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
        ok = hi >= 0 && lo >= 0;
        key[i] = ok ? (unsigned char)(hi << 4 | lo) : 0;
    }
    OPENSSL_cleanse(text, sizeof text);
    if (!ok) {
        OPENSSL_cleanse(key, HOOKD_SEAL_KEY_LEN);
        snprintf(err, errlen, "the master key file %s must hold 64 hex characters", path);
        return -1;
    }
    return 0;
}

int hookd_master_key_create(const char *path, unsigned char key[HOOKD_SEAL_KEY_LEN], char *err,
                            size_t errlen)
{
    char text[2 * HOOKD_SEAL_KEY_LEN + 2];
    if (hookd_random_bytes(key, HOOKD_SEAL_KEY_LEN) != 0) {
        snprintf(err, errlen, "cannot make a master key: the CSPRNG failed");
        return -1;
    }
    for (size_t i = 0; i < HOOKD_SEAL_KEY_LEN; i++)
        snprintf(text + 2 * i, 3, "%02x", key[i]);
    text[2 * HOOKD_SEAL_KEY_LEN] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create the master key file %s: %s", path, strerror(errno));
        OPENSSL_cleanse(text, sizeof text);
        return -1;
    }
    size_t len = 2 * HOOKD_SEAL_KEY_LEN + 1;
    bool ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    int saved = errno;
    ok = close(fd) == 0 && ok;
    OPENSSL_cleanse(text, sizeof text);
    if (!ok) {
        unlink(path);
        snprintf(err, errlen, "cannot write the master key file %s: %s", path, strerror(saved));
        return -1;
    }
    return 0;
}

int hookd_master_key_load(const char *key_file, const char *db_path,
                          unsigned char key[HOOKD_SEAL_KEY_LEN], char **path_used, char *err,
                          size_t errlen)
{
    char *path = NULL;
    if (key_file)
        path = strdup(key_file);
    else if (db_path && asprintf(&path, "%s.key", db_path) < 0)
        path = NULL;
    if (!path) {
        snprintf(err, errlen, key_file || db_path ? "out of memory" : "no master key file");
        return -1;
    }
    int rc;
    if (key_file || access(path, F_OK) == 0) {
        hookd_file_warn_loose(path);
        rc = hookd_master_key_read(path, key, err, errlen);
    } else if ((rc = hookd_master_key_create(path, key, err, errlen)) == 0) {
        hookd_log_info("made the master key file %s (mode 0600): it seals the secrets in %s; keep "
                       "it with the database and back up both, without it those secrets cannot "
                       "be read",
                       path, db_path);
    }
    if (rc) {
        free(path);
        return -1;
    }
    *path_used = path;
    return 0;
}

hookd_sealer *hookd_sealer_load(const char *key_file, const char *db_path, char **path_used,
                                char *err, size_t errlen)
{
    unsigned char key[HOOKD_SEAL_KEY_LEN];
    if (hookd_master_key_load(key_file, db_path, key, path_used, err, errlen) != 0)
        return NULL;
    hookd_sealer *sl = hookd_sealer_new(key);
    OPENSSL_cleanse(key, sizeof key);
    if (!sl) {
        snprintf(err, errlen, "out of memory");
        free(*path_used);
        *path_used = NULL;
    }
    return sl;
}

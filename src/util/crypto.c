#include "util/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "util/timeutil.h"

int hookd_random_bytes(void *buf, size_t n)
{
    return RAND_bytes(buf, (int)n) == 1 ? 0 : -1;
}

size_t hookd_base64_encode(const void *in, size_t n, char *out)
{
    return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

long hookd_base64_decode(const char *in, unsigned char *out)
{
    size_t len = strlen(in);
    if (len % 4 != 0)
        return -1;
    int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
    if (n < 0)
        return -1;
    /* EVP_DecodeBlock counts padding as zero bytes; take them back off. */
    if (len >= 1 && in[len - 1] == '=')
        n--;
    if (len >= 2 && in[len - 2] == '=')
        n--;
    return n;
}

void hookd_sha256(const void *data, size_t n, unsigned char out[32])
{
    SHA256(data, n, out);
}

void hookd_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                       unsigned char out[32])
{
    unsigned int outlen = 32;
    HMAC(EVP_sha256(), key, (int)keylen, data, n, out, &outlen);
}

int hookd_hmac_key_init(hookd_hmac_key *k, const void *key, size_t keylen)
{
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac); /* the context keeps its own reference */
    k->ctx = ctx;
    if (!ctx || EVP_MAC_init(ctx, key, keylen, params) != 1)
        return -1;
    return 0;
}

void hookd_hmac_key_clear(hookd_hmac_key *k)
{
    EVP_MAC_CTX_free(k->ctx);
    k->ctx = NULL;
}

int hookd_hmac_key_sign(hookd_hmac_key *k, const void *a, size_t alen, const void *b, size_t blen,
                        unsigned char out[32])
{
    size_t outlen = 0;
    /* A NULL key restarts with the key already set. */
    if (!k->ctx || EVP_MAC_init(k->ctx, NULL, 0, NULL) != 1 ||
        EVP_MAC_update(k->ctx, a, alen) != 1 || EVP_MAC_update(k->ctx, b, blen) != 1 ||
        EVP_MAC_final(k->ctx, out, &outlen, 32) != 1 || outlen != 32)
        return -1;
    return 0;
}

/* Ids need uniqueness, not secrecy, and several are made per activity: draw
 * their random bits from a per-thread pool refilled from the CSPRNG 4 KiB at
 * a time, instead of one locked RAND_bytes call per id. Secrets never come
 * from here. */
static int id_random(unsigned char *b, size_t n)
{
    static _Thread_local unsigned char pool[4096];
    static _Thread_local size_t left;
    if (left < n) {
        if (hookd_random_bytes(pool, sizeof pool) != 0)
            return -1;
        left = sizeof pool;
    }
    memcpy(b, pool + sizeof pool - left, n);
    left -= n;
    return 0;
}

int hookd_id_new(char out[HOOKD_ID_MAX])
{
    unsigned char b[16];
    if (id_random(b, sizeof b) != 0)
        return -1;
    uint64_t ms = (uint64_t)hookd_now_ms();
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (40 - 8 * i));
    b[6] = (unsigned char)(0x70 | (b[6] & 0x0f)); /* version 7 */
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3f)); /* RFC 9562 variant */
    /* Hand-rolled hex: ids are made several times per activity on the ingest
     * path, where a 16-conversion snprintf showed in profiles. */
    static const char HEX[] = "0123456789abcdef";
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = HEX[b[i] >> 4];
        *o++ = HEX[b[i] & 0x0f];
    }
    *o = '\0';
    return 0;
}

int hookd_id_valid(const char *s)
{
    if (strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

int64_t hookd_id_ms(const char *s)
{
    if (!hookd_id_valid(s))
        return -1;
    int64_t ms = 0;
    for (int i = 0; i < 13; i++) {
        if (i == 8)
            continue; /* the first '-' */
        int c = s[i];
        ms = ms * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return ms;
}

/*
 * crypto.h — the few cryptographic helpers hookd needs, all backed by OpenSSL:
 * random bytes from the CSPRNG, base64, SHA-256, HMAC-SHA256, and ids.
 *
 * Pure functions over caller-owned buffers; thread-safe.
 */
#ifndef HOOKD_UTIL_CRYPTO_H
#define HOOKD_UTIL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/* Fills buf with n bytes from OpenSSL's CSPRNG. Returns 0, or -1 if the CSPRNG
 * failed (the caller must not go on with predictable bytes). */
int hookd_random_bytes(void *buf, size_t n) __attribute__((warn_unused_result));

/* Standard base64 with padding. out must hold 4*ceil(n/3)+1 bytes. Returns the
 * length written (without the NUL). */
size_t hookd_base64_encode(const void *in, size_t n, char *out);

/* Decodes standard base64 (padding required). out must hold 3*strlen(in)/4
 * bytes. Returns the decoded length, or -1 if in is not valid base64. */
long hookd_base64_decode(const char *in, unsigned char *out);

void hookd_sha256(const void *data, size_t n, unsigned char out[32]);

void hookd_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                       unsigned char out[32]);

/* An HMAC-SHA256 key made ready once, so that signing a message costs only
 * the hashing of the message (the key's pads are not hashed again, and
 * nothing is allocated). One key must not be used by two threads at once. */
typedef struct hookd_hmac_key {
    void *ctx; /* EVP_MAC_CTX */
} hookd_hmac_key;

/* Returns 0, or -1 if OpenSSL failed (then clearing is still safe). */
int hookd_hmac_key_init(hookd_hmac_key *k, const void *key, size_t keylen)
    __attribute__((warn_unused_result));
void hookd_hmac_key_clear(hookd_hmac_key *k);
/* The MAC of a followed by b. Returns 0 or -1. */
int hookd_hmac_key_sign(hookd_hmac_key *k, const void *a, size_t alen, const void *b, size_t blen,
                        unsigned char out[32]) __attribute__((warn_unused_result));

/* Length of a formatted id: a UUIDv7 "0190f3a2-…" (36 chars) and a NUL. */
#define HOOKD_ID_MAX 37

/* A new UUIDv7: 48 bits of Unix milliseconds then random bits (from a
 * per-thread pool filled by the CSPRNG), so ids sort by creation time. Ids
 * are unique, not secret. Returns 0, or -1 if the CSPRNG failed. */
int hookd_id_new(char out[HOOKD_ID_MAX]) __attribute__((warn_unused_result));

/* True if s has the shape of an id made by hookd_id_new (lower-case hex). */
int hookd_id_valid(const char *s);

/* The Unix milliseconds an id made by hookd_id_new was made at (its first
 * 48 bits), or -1 when s does not have that shape. */
int64_t hookd_id_ms(const char *s);

#endif

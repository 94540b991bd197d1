/*
 * seal.h — secrets sealed at rest: AES-256-GCM (OpenSSL EVP) under one
 * master key, and the key file that holds it.
 *
 * A sealed value is text, so it sits in a JSON document like the clear one
 * did: "sealed:v1:" + base64(12-byte random nonce ‖ ciphertext ‖ 16-byte
 * tag). The associated data (aad) names what the value belongs to (e.g.
 * "webhook/<id>/basic_auth.password"): a sealed value copied into another
 * record or field does not open there.
 *
 * A hookd_sealer keeps only the key bytes; each call makes its own cipher
 * context, so one sealer is used by any number of threads at once. Strings
 * returned are new: the caller frees them.
 */
#ifndef HOOKD_UTIL_SEAL_H
#define HOOKD_UTIL_SEAL_H

#include <stdbool.h>
#include <stddef.h>

#define HOOKD_SEAL_KEY_LEN 32
#define HOOKD_SEAL_PREFIX "sealed:v1:"

typedef struct hookd_sealer hookd_sealer;

/* A sealer with a copy of key, or NULL if memory ran out. */
hookd_sealer *hookd_sealer_new(const unsigned char key[HOOKD_SEAL_KEY_LEN]);
/* Wipes the key and frees. Accepts NULL. */
void hookd_sealer_free(hookd_sealer *sl);

/* The sealed text of plain bound to aad (new string), or NULL if memory or
 * the CSPRNG failed. */
char *hookd_seal(const hookd_sealer *sl, const char *plain, const char *aad);

/* Opens sealed (made by hookd_seal with the same key and aad) into *plain
 * (new string). Returns 0; HOOKD_EINVAL if sealed is not sealed text, or the
 * key, the aad or any byte differs (GCM's tag does not tell which);
 * HOOKD_ENOMEM. */
int hookd_unseal(const hookd_sealer *sl, const char *sealed, const char *aad, char **plain)
    __attribute__((warn_unused_result));

/* True if s has the sealed prefix (not whether it opens). */
bool hookd_is_sealed(const char *s);

/* ---- the key file: 64 hex characters, a trailing newline allowed ---------- */

/* Reads the key in path. Returns 0, or -1 with a one-line reason in err
 * (cannot read it; not 64 hex characters). */
int hookd_master_key_read(const char *path, unsigned char key[HOOKD_SEAL_KEY_LEN], char *err,
                          size_t errlen) __attribute__((warn_unused_result));

/* Makes path (O_CREAT|O_EXCL, mode 0600) holding a new random key, and
 * returns that key. Returns 0, or -1 with a reason in err (the file exists,
 * or cannot be written: then it is removed). */
int hookd_master_key_create(const char *path, unsigned char key[HOOKD_SEAL_KEY_LEN], char *err,
                            size_t errlen) __attribute__((warn_unused_result));

/* The master key as every hookd process finds it (docs/api.md): from key_file
 * when given; else (SQLite) from "<db_path>.key", made with a new key (and
 * logged) when missing. A key file others may read is warned about.
 * *path_used (new string) names the file for messages. Returns 0, or -1
 * with a one-line reason in err. */
int hookd_master_key_load(const char *key_file, const char *db_path,
                          unsigned char key[HOOKD_SEAL_KEY_LEN], char **path_used, char *err,
                          size_t errlen) __attribute__((warn_unused_result));

/* hookd_master_key_load made into a sealer, the key bytes wiped from the
 * stack: what every command that opens the store starts with. Returns the
 * sealer (free with hookd_sealer_free), or NULL with a reason in err. */
hookd_sealer *hookd_sealer_load(const char *key_file, const char *db_path, char **path_used,
                                char *err, size_t errlen);

#endif

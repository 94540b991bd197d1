/*
 * apikey.h — API keys (docs/api.md): the one place for their scopes, how a new
 * key looks, the hash that is all a store ever keeps of one, and which paths
 * a scope may call.
 *
 * A key is "hk_" followed by 32 random bytes in URL-safe base64 without
 * padding (easy to paste into a shell or a header). Only its SHA-256 is
 * stored; the key itself is shown once, when it is made.
 *
 * Pure functions over caller-owned buffers; thread-safe. Returned strings are
 * static.
 */
#ifndef HOOKD_MODEL_APIKEY_H
#define HOOKD_MODEL_APIKEY_H

#include <stdbool.h>
#include <stddef.h>

/* Stored as these numbers: never renumber. */
typedef enum hookd_key_scope {
    HOOKD_SCOPE_ADMIN = 0,  /* everything */
    HOOKD_SCOPE_INGEST = 1, /* people, accounts and activities only */
    HOOKD_SCOPE_INVALID = -1
} hookd_key_scope;

#define HOOKD_KEY_HASH_LEN 32
/* "hk_" + 43 base64 characters + NUL. */
#define HOOKD_KEY_TEXT_MAX 48
/* A key's name: 1–200 characters, as a webhook's. */
#define HOOKD_KEY_NAME_MAX 200
/* The name of the key hookd makes at first start (and of keys migrated from
 * the schema that had no names). */
#define HOOKD_KEY_INITIAL_NAME "initial"

/* "admin", "ingest" (NULL for an invalid scope). */
const char *hookd_key_scope_name(hookd_key_scope s);
/* The scope called name, or HOOKD_SCOPE_INVALID. */
hookd_key_scope hookd_key_scope_from_name(const char *name);
/* A sentence listing the scopes, for error messages: "admin" or "ingest". */
#define HOOKD_KEY_SCOPES_TEXT "\"admin\" or \"ingest\""

/* NULL if name is a valid key name (1–200 characters, no control
 * characters: names are printed in tables), else why not, as a sentence. */
const char *hookd_key_name_problem(const char *name);

/* Makes a new random key into out. Returns 0, or -1 if the CSPRNG failed (no
 * key is made then). */
int hookd_key_new(char out[HOOKD_KEY_TEXT_MAX]) __attribute__((warn_unused_result));

/* The hash a store keeps of key (len bytes). */
void hookd_key_hash(const char *key, size_t len, unsigned char out[HOOKD_KEY_HASH_LEN]);

/* True if a key of scope s may call path (the request's path, without its
 * query): admin anything; ingest only /api/v1/people…, /api/v1/accounts…
 * and /api/v1/activities. */
bool hookd_key_scope_allows(hookd_key_scope s, const char *path);

#endif

/*
 * apikey.c — scopes, new keys, their hash and what each scope may call.
 */
#include "model/apikey.h"

#include <stdio.h>
#include <string.h>

#include "util/crypto.h"
#include "util/utf8.h"

#define KEY_RANDOM_BYTES 32
#define STR_(x) #x
#define STR(x) STR_(x)

static const char *const SCOPE_NAMES[] = {
    [HOOKD_SCOPE_ADMIN] = "admin",
    [HOOKD_SCOPE_INGEST] = "ingest",
};
#define N_SCOPES (sizeof SCOPE_NAMES / sizeof SCOPE_NAMES[0])

/* What an ingest key may call: a prefix, and whether paths below it count
 * too ("/api/v1/people" covers "/api/v1/people/merge"). Routes are matched
 * literally (router.c), so "/api/v1/people/../webhooks" reaches no route. */
static const struct {
    const char *prefix;
    bool subtree;
} INGEST_PATHS[] = {
    {"/api/v1/people", true},
    {"/api/v1/accounts", true},
    {"/api/v1/activities", false},
};

const char *hookd_key_scope_name(hookd_key_scope s)
{
    return s >= 0 && (size_t)s < N_SCOPES ? SCOPE_NAMES[s] : NULL;
}

hookd_key_scope hookd_key_scope_from_name(const char *name)
{
    for (size_t i = 0; name && i < N_SCOPES; i++) {
        if (strcmp(name, SCOPE_NAMES[i]) == 0)
            return (hookd_key_scope)i;
    }
    return HOOKD_SCOPE_INVALID;
}

const char *hookd_key_name_problem(const char *name)
{
    if (!name)
        return "name is required and must be a string";
    size_t n = hookd_utf8_chars(name);
    if (n < 1 || n > HOOKD_KEY_NAME_MAX)
        return "name must be 1 to " STR(HOOKD_KEY_NAME_MAX) " characters";
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return "name must not contain control characters";
    }
    return NULL;
}

int hookd_key_new(char out[HOOKD_KEY_TEXT_MAX])
{
    unsigned char raw[KEY_RANDOM_BYTES];
    char b64[4 * ((KEY_RANDOM_BYTES + 2) / 3) + 1];
    if (hookd_random_bytes(raw, sizeof raw) != 0)
        return -1;
    hookd_base64_encode(raw, sizeof raw, b64);
    /* URL-safe alphabet, no padding: easy to paste into a shell. */
    size_t k = 0;
    for (const char *p = b64; *p && *p != '='; p++)
        b64[k++] = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    b64[k] = '\0';
    snprintf(out, HOOKD_KEY_TEXT_MAX, "hk_%s", b64);
    memset(raw, 0, sizeof raw);
    memset(b64, 0, sizeof b64);
    return 0;
}

void hookd_key_hash(const char *key, size_t len, unsigned char out[HOOKD_KEY_HASH_LEN])
{
    hookd_sha256(key, len, out);
}

bool hookd_key_scope_allows(hookd_key_scope s, const char *path)
{
    if (s == HOOKD_SCOPE_ADMIN)
        return true;
    if (s != HOOKD_SCOPE_INGEST || !path)
        return false;
    for (size_t i = 0; i < sizeof INGEST_PATHS / sizeof INGEST_PATHS[0]; i++) {
        size_t n = strlen(INGEST_PATHS[i].prefix);
        if (strncmp(path, INGEST_PATHS[i].prefix, n) != 0)
            continue;
        if (path[n] == '\0' || (INGEST_PATHS[i].subtree && path[n] == '/'))
            return true;
    }
    return false;
}

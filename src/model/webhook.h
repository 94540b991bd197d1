/*
 * webhook.h — a webhook's settings (docs/api.md#webhooks): the in-memory form,
 * validation of API input against every rule of the contract, and the JSON
 * forms: the public one answered by the API (password and secret header
 * values never included), the private "doc" (every value in clear, for
 * copies in memory), and the sealed doc the store keeps (its secrets sealed
 * with the master key, docs/security.md).
 *
 * A hookd_webhook owns every string it points to; hookd_webhook_free releases
 * them all. Functions here touch no global state and are safe from any thread
 * as long as one webhook is not shared between threads while it changes.
 */
#ifndef HOOKD_MODEL_WEBHOOK_H
#define HOOKD_MODEL_WEBHOOK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/crypto.h"
#include "util/error.h"
#include "util/seal.h"

#define HOOKD_WEBHOOK_NAME_MAX 200      /* characters */
#define HOOKD_WEBHOOK_URL_MAX 2048      /* bytes */
#define HOOKD_WEBHOOK_HEADERS_MAX 20
#define HOOKD_WEBHOOK_FIELDS_MAX 10
#define HOOKD_WEBHOOK_ACTIVITIES_MAX 500
#define HOOKD_HEADER_KEY_MAX 256        /* bytes */
#define HOOKD_HEADER_VALUE_MAX 8192     /* bytes */
#define HOOKD_PAYLOAD_KEY_MAX 100       /* characters */
#define HOOKD_BASIC_USER_MAX 256        /* bytes */
#define HOOKD_BASIC_PASS_MAX 1024       /* bytes */
#define HOOKD_SECRET_BYTES_MIN 24       /* a chosen secret's decoded length, bytes */
#define HOOKD_SECRET_BYTES_MAX 64
#define HOOKD_SECRET_MAX 95             /* "whsec_" + base64 of 64 bytes (88) + NUL */
#define HOOKD_REDACTED "[redacted]"     /* what answers and logs show for a secret */
#define HOOKD_DISCONNECT_REASON_MAX 256 /* bytes of disconnected_reason, NUL included */
/* Pace (docs/api.md#pace): rate_limit in deliveries per second
 * (0 in memory for none), max_in_flight attempts at once. */
#define HOOKD_RATE_LIMIT_MIN 0.1
#define HOOKD_RATE_LIMIT_MAX 10000.0
#define HOOKD_MAX_IN_FLIGHT_MIN 1
#define HOOKD_MAX_IN_FLIGHT_MAX 256
#define HOOKD_MAX_IN_FLIGHT_DEFAULT 16

/* Stores keep these numbers: never renumber, only append. */
typedef enum hookd_method {
    HOOKD_METHOD_GET,
    HOOKD_METHOD_POST,
    HOOKD_METHOD_PUT,
    HOOKD_METHOD_PATCH,
    HOOKD_METHOD_DELETE,
} hookd_method;

/* The six locked payload fields, in the table order of docs/api.md (the order in
 * which duplicate keys are counted). */
enum hookd_locked_key {
    HOOKD_KEY_CONTACT_ID,
    HOOKD_KEY_EMAIL,
    HOOKD_KEY_CAMPAIGN_ID,
    HOOKD_KEY_CAMPAIGN_NAME,
    HOOKD_KEY_ACTION_ID,
    HOOKD_KEY_ACTION_NAME,
    HOOKD_LOCKED_KEYS
};
extern const char *const hookd_locked_key_names[HOOKD_LOCKED_KEYS];

/* Who disconnected a webhook (docs/api.md#pace). Stores keep
 * these numbers: never renumber, only append. */
typedef enum hookd_disconnector {
    HOOKD_DISC_NONE,  /* connected */
    HOOKD_DISC_USER,  /* POST …/disconnect, or a PATCH with "connected": false */
    HOOKD_DISC_HOOKD, /* a 410 answer, or failing for --disable-after */
} hookd_disconnector;

typedef struct hookd_header {
    char *key;
    char *value;
    bool secret; /* sealed at rest, "[redacted]" in answers and logs */
} hookd_header;

typedef struct hookd_webhook_field {
    char *field_id;
    char *key;
} hookd_webhook_field;

typedef struct hookd_webhook {
    char id[HOOKD_ID_MAX];
    char *name;
    char *url;
    hookd_method method;
    bool send_activity;
    char *basic_user; /* NULL when there is no basic auth */
    char *basic_pass;
    hookd_header *headers;
    size_t n_headers;
    char *keys[HOOKD_LOCKED_KEYS];
    hookd_webhook_field *fields;
    size_t n_fields;
    char **activities;
    size_t n_activities;
    bool connected;
    char secret[HOOKD_SECRET_MAX];
    int64_t created_at; /* ms since the epoch */
    int64_t updated_at;
    /* Set by the store: its number for this webhook (never reused) and the
     * version of these settings (every change makes a new one); 0 before
     * the webhook is stored. */
    int64_t key;
    uint64_t version;
    /* The secret before the last rotate-secret, which still signs for the
     * rotation overlap after rotated_at (ms since the epoch); "" and 0 when
     * the secret was never rotated. */
    char secret_prev[HOOKD_SECRET_MAX];
    int64_t rotated_at;
    /* Read-only in the API: who disconnected it and why ("" for no reason);
     * HOOKD_DISC_NONE and "" while connected. Change them only through
     * hookd_webhook_set_connected. */
    hookd_disconnector disconnected_by;
    char disconnected_reason[HOOKD_DISCONNECT_REASON_MAX];
    /* Attempts per second the engine may start, 0 for no limit (the API's
     * null), and how many may run at once. */
    double rate_limit;
    int max_in_flight;
    /* A 2xx answer's {"fields":{…}} is merged into the delivery's person
     * (see delivery/contact.h); off by default. */
    bool update_contact_from_response;
} hookd_webhook;

/* Tells whether field_id names an existing person or account field. Returns 1
 * and sets *default_key (new, caller frees) if it does, 0 if not, or a
 * negative HOOKD_E* code if the answer cannot be had (store down). */
typedef int (*hookd_field_lookup_fn)(void *ctx, const char *field_id, char **default_key);

const char *hookd_method_name(hookd_method m);

/* A new webhook with the defaults of docs/api.md, a new id and a new secret, or
 * NULL if memory or the CSPRNG failed. */
hookd_webhook *hookd_webhook_new(int64_t now_ms);

void hookd_webhook_free(hookd_webhook *wh);

/* Validates an API body (create when creating is true, else PATCH) and applies
 * it to wh. On failure err names the field and wh is left half-changed: apply
 * to a clone and throw it away. Returns 0, HOOKD_EINVAL, or another negative
 * code from lookup. */
int hookd_webhook_apply(hookd_webhook *wh, const json_t *body, bool creating,
                        hookd_field_lookup_fn lookup, void *lookup_ctx, hookd_error *err)
    __attribute__((warn_unused_result));

/* The single-value rules hookd_webhook_apply uses for `url` and for one
 * custom header (docs/api.md), public so tests/fuzz/fuzz_url_header.c can drive
 * them directly; nothing else needs to call them. Each returns 0, or
 * HOOKD_EINVAL with err naming field ("url" for the URL). The URL check
 * also answers 503 if libcurl cannot allocate. The key check does not know
 * about basic auth: Authorization alongside it is refused by apply. */
int hookd_webhook_check_url(const char *url, hookd_error *err);
int hookd_webhook_check_header_key(const char *key, const char *field, hookd_error *err);
int hookd_webhook_check_header_value(const char *value, const char *field, hookd_error *err);

/* Replaces the secret with a fresh "whsec_…" one. Returns 0 or -1. */
int hookd_webhook_new_secret(hookd_webhook *wh) __attribute__((warn_unused_result));

/* rotate-secret: the current secret becomes the previous one (rotated at
 * now_ms) and a fresh one replaces it. Returns 0, or -1 if the CSPRNG failed
 * (then wh is unchanged). */
int hookd_webhook_rotate_secret(hookd_webhook *wh, int64_t now_ms)
    __attribute__((warn_unused_result));

/* Checks a secret given by the operator: "whsec_" then standard base64, with
 * the padding base64 needs, of HOOKD_SECRET_BYTES_MIN..MAX bytes. Returns 0,
 * or HOOKD_EINVAL with err naming field. */
int hookd_webhook_secret_check(const char *secret, const char *field, hookd_error *err);

/* The public JSON answered by the API (new reference; NULL if out of memory). */
json_t *hookd_webhook_to_json(const hookd_webhook *wh);

/* The private JSON with every secret in clear (new reference): a copy in
 * memory only; a store keeps hookd_webhook_to_sealed_doc. */
json_t *hookd_webhook_to_doc(const hookd_webhook *wh);

/* Rebuilds a webhook from a doc made by hookd_webhook_to_doc. Returns a new
 * webhook, or NULL if doc is damaged or memory ran out. */
hookd_webhook *hookd_webhook_from_doc(const json_t *doc);

/* The doc as a store keeps it: hookd_webhook_to_doc with every secret
 * (signing secrets, the basic-auth password, secret header values) sealed
 * by sl, each bound to this webhook's id and its field (new reference; NULL
 * if memory or the CSPRNG failed). The clear doc stays in memory only. */
json_t *hookd_webhook_to_sealed_doc(const hookd_webhook *wh, const hookd_sealer *sl);

/* Rebuilds a webhook from a sealed doc. Returns NULL if doc is damaged, a
 * secret is not sealed, or does not open with sl (wrong key, or moved from
 * another webhook or field). */
hookd_webhook *hookd_webhook_from_sealed_doc(const json_t *doc, const hookd_sealer *sl);

/* A deep copy (key and version included), or NULL if memory ran out. */
hookd_webhook *hookd_webhook_clone(const hookd_webhook *wh);

/* The headers every delivery of wh carries after the Standard Webhooks trio
 * (docs/api.md#delivery), in order: Authorization when basic auth is set, then each
 * custom header. fn gets each name, the value sent, and whether logs show it
 * as "[redacted]"; the first non-zero return stops the walk and is returned.
 * Returns 0, or -1 if memory ran out. */
typedef int (*hookd_header_fn)(void *ctx, const char *name, const char *value, bool redacted);
int hookd_webhook_tail_headers(const hookd_webhook *wh, hookd_header_fn fn, void *ctx);

/* Those headers as logs show them: a JSON object text, name → value with
 * Authorization and secret header values "[redacted]" (new string), or NULL
 * if memory ran out. */
char *hookd_webhook_tail_shown(const hookd_webhook *wh);

/* Connects wh (clearing who disconnected it and why), or disconnects it
 * recording by and reason (NULL for none; cut to fit). Disconnecting a
 * webhook that is already disconnected keeps the first record. */
void hookd_webhook_set_connected(hookd_webhook *wh, bool connected, hookd_disconnector by,
                                 const char *reason);

/* True if the webhook is triggered by the activity field_id. */
bool hookd_webhook_wants(const hookd_webhook *wh, const char *field_id);

#endif

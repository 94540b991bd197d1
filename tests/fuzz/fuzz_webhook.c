/*
 * fuzz_webhook.c — libFuzzer driver for the webhook validator
 * (hookd_webhook_apply, src/model/webhook.h) and the webhook's JSON forms.
 *
 * Input layout: byte 0 picks the path and the world; the rest is the request
 * body, parsed the way the server parses it (duplicate keys refused, any JSON
 * value, no "\u0000": the server refuses a NUL before any handler runs).
 *   bit 0     0: create (POST /webhooks, apply to a new webhook);
 *             1: PATCH, apply to one of the BASES below
 *   bits 1-2  which base a PATCH starts from
 *   bit 3     the store is down: looking up a custom field fails
 * Field ids are looked up as the API does (hookd_api_field_lookup): built-in
 * fields from the catalog, custom ones from the store, which here holds the
 * ids in STORED (each checked with hookd_object_field_type, the rule the API
 * creates them by); a custom id not stored is unknown, as it is to the API.
 *
 * Invariants checked:
 *   - the answer is 0, HOOKD_EINVAL with a 400 "invalid", a message and a
 *     field path that names where the body went wrong (a key of the body,
 *     walked as far as the body goes; only "the body must be an object" has
 *     no path), or, with the store down, the lookup's own code as a 503;
 *   - on success, the webhook holds exactly what the body said (a header,
 *     key or name byte for byte; fields with the catalog's default key when
 *     none is given; activities without repeats; basic_auth's password kept
 *     when left out) and everything the body did not name is as before, id,
 *     secret and times included;
 *   - on success, the webhook meets every rule of docs/api.md#webhook-settings on its own (counts,
 *     tokens, refused header names, Authorization beside basic auth, no two
 *     equal payload keys, action keys not top-level names), checked here
 *     without webhook.c's helpers, so a PATCH cannot make a webhook that a
 *     create would refuse;
 *   - applying the same body again changes nothing, and a create body
 *     holding every setting of the result is accepted and gives the same
 *     webhook (so a sequence of PATCHes cannot get past a rule);
 *   - the store form round-trips: to_doc, to text and back, from_doc gives an
 *     equal webhook whose doc is equal; hookd_webhook_clone is equal too;
 *   - the public form (to_json) shows every setting as held, basic_auth as
 *     {username, password_set}, no "password" anywhere, and created_at /
 *     updated_at that parse back to the held milliseconds; the log form
 *     (tail_shown) is a JSON object with Authorization redacted.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model/fields.h"
#include "model/webhook.h"
#include "util/error.h"
#include "util/json.h"
#include "util/timeutil.h"

#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_webhook: invariant failed: %s: ", #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A fixed clock: created_at and updated_at of every webhook here. */
#define NOW_MS 1673912478948LL

/* ---- the store and the field lookup --------------------------------------- */

/* Custom fields the store holds (made by POST /api/v1/fields). */
static const struct {
    const char *id;
    hookd_field_object object;
} STORED[] = {
    {"str:cm:job-title", HOOKD_OBJ_PERSON}, {"int:cm:score", HOOKD_OBJ_PERSON},
    {"bol:cm:vip", HOOKD_OBJ_PERSON},       {"tme:cm:last-seen", HOOKD_OBJ_PERSON},
    {"str:oc:tier", HOOKD_OBJ_ACCOUNT},     {"geo:oc:hq", HOOKD_OBJ_ACCOUNT},
};
#define N_STORED (sizeof STORED / sizeof STORED[0])

typedef struct fuzz_store {
    bool down;
} fuzz_store;

/* hookd_api_field_lookup's answers, with the store above. */
static int field_lookup(void *ctx, const char *field_id, char **default_key)
{
    const fuzz_store *store = ctx;
    const hookd_field_def *def = hookd_fields_builtin_find(field_id);
    if (def) {
        *default_key = strdup(def->default_key);
        return *default_key ? 1 : HOOKD_ENOMEM;
    }
    if (store->down)
        return HOOKD_EUNAVAIL;
    for (size_t i = 0; i < N_STORED; i++) {
        if (strcmp(field_id, STORED[i].id) == 0) {
            *default_key = hookd_field_default_key(field_id);
            return *default_key ? 1 : HOOKD_ENOMEM;
        }
    }
    return 0;
}

/* The key a field gets when the body gives none (new string). */
static char *default_key_of(const char *field_id)
{
    fuzz_store up = {.down = false};
    char *key = NULL;
    FUZZ_CHECK(field_lookup(&up, field_id, &key) == 1, "%s is no field", field_id);
    return key;
}

/* ---- the calls into webhook.c ------------------------------------------------
 * Every call the driver makes into the code under test is here, so a change
 * of signature (a sealer for the secrets, say) is adjusted in one place. */

static hookd_webhook *wh_new(void)
{
    hookd_webhook *wh = hookd_webhook_new(NOW_MS);
    FUZZ_CHECK(wh != NULL, "hookd_webhook_new");
    return wh;
}

static int wh_apply(hookd_webhook *wh, const json_t *body, bool creating, fuzz_store *store,
                    hookd_error *err)
{
    return hookd_webhook_apply(wh, body, creating, field_lookup, store, err);
}

static json_t *wh_to_doc(const hookd_webhook *wh)
{
    return hookd_webhook_to_doc(wh);
}

static hookd_webhook *wh_from_doc(const json_t *doc)
{
    return hookd_webhook_from_doc(doc);
}

static json_t *wh_to_json(const hookd_webhook *wh)
{
    return hookd_webhook_to_json(wh);
}

static hookd_webhook *wh_clone(const hookd_webhook *wh)
{
    return hookd_webhook_clone(wh);
}

static char *wh_tail_shown(const hookd_webhook *wh)
{
    return hookd_webhook_tail_shown(wh);
}

/* ---- the webhooks a PATCH starts from -------------------------------------- */

/* Each valid; together they hold basic auth (so a PATCH can keep or drop the
 * password, or run into Authorization), custom headers including
 * Authorization and a secret one (a PATCH may keep its value unnamed), renamed keys, built-in, account and custom fields, and
 * activities of every kind. */
static const char *const BASES[] = {
    "{\"name\":\"plain\",\"url\":\"https://example.com/hook\"}",

    "{\"name\":\"auth\",\"url\":\"https://example.com/a?x=1\",\"method\":\"PUT\","
    "\"basic_auth\":{\"username\":\"user\",\"password\":\"p@ss:word\"},"
    "\"headers\":[{\"key\":\"X-Api-Key\",\"value\":\"k1\"},{\"key\":\"X-Empty\",\"value\":\"\"},"
    "{\"key\":\"X-Token\",\"value\":\"t0k\",\"secret\":true}],"
    "\"activities\":[\"*\"]}",

    "{\"name\":\"renamed\",\"url\":\"http://127.0.0.1:8080/in\",\"method\":\"GET\","
    "\"send_activity\":false,\"connected\":false,"
    "\"keys\":{\"contact_id\":\"uid\",\"email\":\"mail\",\"action_name\":\"act\"},"
    "\"fields\":[{\"field_id\":\"str::email\"},{\"field_id\":\"str::first\",\"key\":\"given\"},"
    "{\"field_id\":\"str:o:name\"},{\"field_id\":\"str:cm:job-title\"}],"
    "\"activities\":[\"act::s\",\"act:cm:signed-up\",\"act:oc:renewed\"]}",

    "{\"name\":\"token\",\"url\":\"https://[::1]:9443/p#frag\",\"method\":\"DELETE\","
    "\"headers\":[{\"key\":\"Authorization\",\"value\":\"Bearer t\"}],"
    "\"fields\":[{\"field_id\":\"int:cm:score\",\"key\":\"score\"},{\"field_id\":\"geo:oc:hq\"}],"
    "\"activities\":[\"act::o\"]}",
};

static hookd_webhook *make_base(size_t i)
{
    json_error_t jerr;
    json_t *body = json_loads(BASES[i], JSON_REJECT_DUPLICATES, &jerr);
    FUZZ_CHECK(body != NULL, "base %zu does not parse: %s", i, jerr.text);
    hookd_webhook *wh = wh_new();
    hookd_error err;
    memset(&err, 0, sizeof err);
    fuzz_store up = {.down = false};
    int rc = wh_apply(wh, body, true, &up, &err);
    FUZZ_CHECK(rc == 0, "base %zu refused: %s: %s", i, err.field, err.message);
    json_decref(body);
    return wh;
}

/* ---- comparisons --------------------------------------------------------- */

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* A JSON string equal to s, byte for byte over its whole length. */
static bool json_str_is(const json_t *v, const char *s)
{
    return json_is_string(v) && s && json_string_length(v) == strlen(s) &&
           memcmp(json_string_value(v), s, strlen(s)) == 0;
}

static void same_headers(const hookd_webhook *a, const hookd_webhook *b, const char *what)
{
    FUZZ_CHECK(a->n_headers == b->n_headers, "%s: %zu headers, then %zu", what, a->n_headers,
               b->n_headers);
    for (size_t i = 0; i < a->n_headers; i++)
        FUZZ_CHECK(str_eq(a->headers[i].key, b->headers[i].key) &&
                       str_eq(a->headers[i].value, b->headers[i].value),
                   "%s: headers[%zu] differ", what, i);
}

static void same_fields(const hookd_webhook *a, const hookd_webhook *b, const char *what)
{
    FUZZ_CHECK(a->n_fields == b->n_fields, "%s: %zu fields, then %zu", what, a->n_fields,
               b->n_fields);
    for (size_t i = 0; i < a->n_fields; i++)
        FUZZ_CHECK(str_eq(a->fields[i].field_id, b->fields[i].field_id) &&
                       str_eq(a->fields[i].key, b->fields[i].key),
                   "%s: fields[%zu] differ", what, i);
}

static void same_activities(const hookd_webhook *a, const hookd_webhook *b, const char *what)
{
    FUZZ_CHECK(a->n_activities == b->n_activities, "%s: %zu activities, then %zu", what,
               a->n_activities, b->n_activities);
    for (size_t i = 0; i < a->n_activities; i++)
        FUZZ_CHECK(str_eq(a->activities[i], b->activities[i]), "%s: activities[%zu] differ",
                   what, i);
}

/* Everything a webhook holds but the store's key and version. */
static void same_webhook(const hookd_webhook *a, const hookd_webhook *b, const char *what)
{
    FUZZ_CHECK(strcmp(a->id, b->id) == 0, "%s: id", what);
    FUZZ_CHECK(strcmp(a->secret, b->secret) == 0, "%s: secret", what);
    FUZZ_CHECK(str_eq(a->name, b->name), "%s: name", what);
    FUZZ_CHECK(str_eq(a->url, b->url), "%s: url", what);
    FUZZ_CHECK(a->method == b->method, "%s: method", what);
    FUZZ_CHECK(a->send_activity == b->send_activity, "%s: send_activity", what);
    FUZZ_CHECK(a->connected == b->connected, "%s: connected", what);
    FUZZ_CHECK(str_eq(a->basic_user, b->basic_user), "%s: basic_auth.username", what);
    FUZZ_CHECK(str_eq(a->basic_pass, b->basic_pass), "%s: basic_auth.password", what);
    for (int i = 0; i < HOOKD_LOCKED_KEYS; i++)
        FUZZ_CHECK(str_eq(a->keys[i], b->keys[i]), "%s: keys.%s", what,
                   hookd_locked_key_names[i]);
    same_headers(a, b, what);
    same_fields(a, b, what);
    same_activities(a, b, what);
    FUZZ_CHECK(a->created_at == b->created_at && a->updated_at == b->updated_at, "%s: times",
               what);
    FUZZ_CHECK(a->rate_limit == b->rate_limit && a->max_in_flight == b->max_in_flight,
               "%s: rate_limit or max_in_flight", what);
}

/* ---- what apply must have done ---------------------------------------------- */

/* The value of before's secret header named key (case-insensitive), or
 * NULL: the public form marks such a header "secret": true. Today no header
 * is secret; this keeps the driver right once they are. */
static const char *kept_secret_value(const hookd_webhook *before, const char *key)
{
    json_t *j = wh_to_json(before);
    const json_t *h = json_object_get(j, "headers");
    const char *kept = NULL;
    for (size_t i = 0; i < json_array_size(h) && i < before->n_headers && !kept; i++) {
        if (json_is_true(json_object_get(json_array_get(h, i), "secret")) &&
            strcasecmp(before->headers[i].key, key) == 0)
            kept = before->headers[i].value;
    }
    json_decref(j);
    return kept;
}

static void check_applied(const hookd_webhook *before, const hookd_webhook *wh, const json_t *body)
{
    const json_t *v;
    /* What apply never touches; the secret only when the body chooses one
     * (a create may, once chosen secrets are in). */
    FUZZ_CHECK(strcmp(before->id, wh->id) == 0 && before->created_at == wh->created_at &&
                   before->updated_at == wh->updated_at,
               "apply changed the id or a time");
    v = json_object_get(body, "secret");
    FUZZ_CHECK(v ? json_str_is(v, wh->secret) : strcmp(before->secret, wh->secret) == 0,
               "secret");

    v = json_object_get(body, "name");
    FUZZ_CHECK(v ? json_str_is(v, wh->name) : str_eq(before->name, wh->name), "name");
    v = json_object_get(body, "url");
    FUZZ_CHECK(v ? json_str_is(v, wh->url) : str_eq(before->url, wh->url), "url");
    v = json_object_get(body, "method");
    FUZZ_CHECK(v ? json_str_is(v, hookd_method_name(wh->method)) : before->method == wh->method,
               "method");
    v = json_object_get(body, "send_activity");
    FUZZ_CHECK(v ? json_is_true(v) == wh->send_activity
                 : before->send_activity == wh->send_activity,
               "send_activity");
    v = json_object_get(body, "connected");
    FUZZ_CHECK(v ? json_is_true(v) == wh->connected : before->connected == wh->connected,
               "connected");

    v = json_object_get(body, "rate_limit");
    FUZZ_CHECK(v ? (json_is_null(v) ? wh->rate_limit == 0
                                    : json_number_value(v) == wh->rate_limit)
                 : before->rate_limit == wh->rate_limit,
               "rate_limit");
    v = json_object_get(body, "max_in_flight");
    FUZZ_CHECK(v ? json_integer_value(v) == wh->max_in_flight
                 : before->max_in_flight == wh->max_in_flight,
               "max_in_flight");

    v = json_object_get(body, "basic_auth");
    if (!v) {
        FUZZ_CHECK(str_eq(before->basic_user, wh->basic_user) &&
                       str_eq(before->basic_pass, wh->basic_pass),
                   "basic_auth changed without being named");
    } else if (json_is_null(v)) {
        FUZZ_CHECK(!wh->basic_user && !wh->basic_pass, "basic_auth null left credentials");
    } else {
        const json_t *pw = json_object_get(v, "password");
        FUZZ_CHECK(json_str_is(json_object_get(v, "username"), wh->basic_user),
                   "basic_auth.username not as given");
        FUZZ_CHECK(pw ? json_str_is(pw, wh->basic_pass)
                      : (before->basic_pass && str_eq(before->basic_pass, wh->basic_pass)),
                   "basic_auth.password neither as given nor kept");
    }

    v = json_object_get(body, "headers");
    if (!v) {
        same_headers(before, wh, "headers not named");
    } else {
        FUZZ_CHECK(json_array_size(v) == wh->n_headers, "headers: %zu given, %zu held",
                   json_array_size(v), wh->n_headers);
        for (size_t i = 0; i < wh->n_headers; i++) {
            const json_t *e = json_array_get(v, i);
            const json_t *val = json_object_get(e, "value");
            FUZZ_CHECK(json_str_is(json_object_get(e, "key"), wh->headers[i].key),
                       "headers[%zu].key not as given", i);
            /* A secret header (once they exist) named without a value, or
             * with the "[redacted]" an answer showed, keeps its value. */
            if (!val || json_str_is(val, "[redacted]")) {
                const char *kept = kept_secret_value(before, wh->headers[i].key);
                if (kept) {
                    FUZZ_CHECK(strcmp(kept, wh->headers[i].value) == 0,
                               "headers[%zu] secret value not kept", i);
                    continue;
                }
            }
            FUZZ_CHECK(json_str_is(val, wh->headers[i].value), "headers[%zu].value not as given",
                       i);
        }
    }

    v = json_object_get(body, "keys");
    for (int i = 0; i < HOOKD_LOCKED_KEYS; i++) {
        const json_t *k = v ? json_object_get(v, hookd_locked_key_names[i]) : NULL;
        FUZZ_CHECK(k ? json_str_is(k, wh->keys[i]) : str_eq(before->keys[i], wh->keys[i]),
                   "keys.%s", hookd_locked_key_names[i]);
    }

    v = json_object_get(body, "fields");
    if (!v) {
        same_fields(before, wh, "fields not named");
    } else {
        FUZZ_CHECK(json_array_size(v) == wh->n_fields, "fields: %zu given, %zu held",
                   json_array_size(v), wh->n_fields);
        for (size_t i = 0; i < wh->n_fields; i++) {
            const json_t *e = json_array_get(v, i);
            const json_t *k = json_object_get(e, "key");
            FUZZ_CHECK(json_str_is(json_object_get(e, "field_id"), wh->fields[i].field_id),
                       "fields[%zu].field_id", i);
            if (k && !json_is_null(k)) {
                FUZZ_CHECK(json_str_is(k, wh->fields[i].key), "fields[%zu].key not as given", i);
            } else {
                char *def = default_key_of(wh->fields[i].field_id);
                FUZZ_CHECK(strcmp(def, wh->fields[i].key) == 0,
                           "fields[%zu].key is '%s', the default is '%s'", i, wh->fields[i].key,
                           def);
                free(def);
            }
        }
    }

    v = json_object_get(body, "activities");
    if (!v) {
        same_activities(before, wh, "activities not named");
    } else {
        /* The given ids in order, each once. */
        size_t kept = 0;
        for (size_t i = 0; i < json_array_size(v); i++) {
            const char *id = json_string_value(json_array_get(v, i));
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++)
                seen = strcmp(id, json_string_value(json_array_get(v, j))) == 0;
            if (seen)
                continue;
            FUZZ_CHECK(kept < wh->n_activities && strcmp(wh->activities[kept], id) == 0,
                       "activities[%zu] '%s' not held in order", i, id);
            kept++;
        }
        FUZZ_CHECK(kept == wh->n_activities, "%zu activities held, %zu given", wh->n_activities,
                   kept);
    }
}

/* ---- docs/api.md#webhook-settings, checked on the result --------------------- */

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p & 0xc0) != 0x80;
    return n;
}

static bool has_ctl(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return true;
    }
    return false;
}

static bool is_token(const char *s)
{
    if (!*s)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
        if (!alnum && !strchr("!#$%&'*+-.^_`|~", *p))
            return false;
    }
    return true;
}

static void check_rules(const hookd_webhook *wh)
{
    static const char *const REFUSED[] = {"Host", "Content-Length", "Content-Type",
                                          "Transfer-Encoding", "Connection"};
    static const char *const TOP_LEVEL[] = {"activity", "contact", "id", "time", "webhook_id",
                                            "test"};
    FUZZ_CHECK(wh->name && utf8_chars(wh->name) >= 1 && utf8_chars(wh->name) <= 200, "name");
    FUZZ_CHECK(wh->url && strlen(wh->url) <= HOOKD_WEBHOOK_URL_MAX && !has_ctl(wh->url) &&
                   !strchr(wh->url, ' ') &&
                   (strncasecmp(wh->url, "http://", 7) == 0 ||
                    strncasecmp(wh->url, "https://", 8) == 0),
               "url '%.300s'", wh->url ? wh->url : "(null)");
    FUZZ_CHECK((wh->basic_user == NULL) == (wh->basic_pass == NULL),
               "basic auth with a user but no password, or the other way round");
    FUZZ_CHECK(!wh->basic_user || (!strchr(wh->basic_user, ':') && !has_ctl(wh->basic_user)),
               "basic_auth.username '%s'", wh->basic_user);

    FUZZ_CHECK(wh->n_headers <= HOOKD_WEBHOOK_HEADERS_MAX, "%zu headers", wh->n_headers);
    for (size_t i = 0; i < wh->n_headers; i++) {
        const char *k = wh->headers[i].key, *val = wh->headers[i].value;
        FUZZ_CHECK(is_token(k), "headers[%zu].key '%s' is no token", i, k);
        FUZZ_CHECK(!strpbrk(val, "\r\n"), "headers[%zu].value holds CR or LF", i);
        FUZZ_CHECK(strncasecmp(k, "webhook-", 8) != 0, "headers[%zu].key '%s'", i, k);
        for (size_t r = 0; r < sizeof REFUSED / sizeof REFUSED[0]; r++)
            FUZZ_CHECK(strcasecmp(k, REFUSED[r]) != 0, "headers[%zu].key '%s'", i, k);
        FUZZ_CHECK(!wh->basic_user || strcasecmp(k, "Authorization") != 0,
                   "Authorization header beside basic auth");
    }

    FUZZ_CHECK(wh->n_fields <= HOOKD_WEBHOOK_FIELDS_MAX, "%zu fields", wh->n_fields);
    fuzz_store up = {.down = false};
    for (size_t i = 0; i < wh->n_fields; i++) {
        char *def = NULL;
        FUZZ_CHECK(field_lookup(&up, wh->fields[i].field_id, &def) == 1, "fields[%zu] '%s'", i,
                   wh->fields[i].field_id);
        free(def);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(wh->fields[i].field_id, wh->fields[j].field_id) != 0,
                       "fields[%zu] repeats fields[%zu]", i, j);
    }

    /* Payload keys: the six locked ones, then each field's, all different. */
    const char *keys[HOOKD_LOCKED_KEYS + HOOKD_WEBHOOK_FIELDS_MAX];
    size_t n = 0;
    for (int i = 0; i < HOOKD_LOCKED_KEYS; i++)
        keys[n++] = wh->keys[i];
    for (size_t i = 0; i < wh->n_fields; i++)
        keys[n++] = wh->fields[i].key;
    for (size_t i = 0; i < n; i++) {
        size_t chars = utf8_chars(keys[i]);
        FUZZ_CHECK(chars >= 1 && chars <= HOOKD_PAYLOAD_KEY_MAX && !has_ctl(keys[i]),
                   "payload key %zu '%s'", i, keys[i]);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(keys[i], keys[j]) != 0, "payload key '%s' twice", keys[i]);
    }
    for (int i = HOOKD_KEY_CAMPAIGN_ID; i <= HOOKD_KEY_ACTION_NAME; i++) {
        for (size_t t = 0; t < sizeof TOP_LEVEL / sizeof TOP_LEVEL[0]; t++)
            FUZZ_CHECK(strcmp(wh->keys[i], TOP_LEVEL[t]) != 0,
                       "keys.%s is the top-level key '%s'", hookd_locked_key_names[i],
                       TOP_LEVEL[t]);
    }

    FUZZ_CHECK(wh->rate_limit == 0 || (wh->rate_limit >= HOOKD_RATE_LIMIT_MIN &&
                                       wh->rate_limit <= HOOKD_RATE_LIMIT_MAX),
               "rate_limit %g", wh->rate_limit);
    FUZZ_CHECK(wh->max_in_flight >= HOOKD_MAX_IN_FLIGHT_MIN &&
                   wh->max_in_flight <= HOOKD_MAX_IN_FLIGHT_MAX,
               "max_in_flight %d", wh->max_in_flight);

    FUZZ_CHECK(wh->n_activities <= HOOKD_WEBHOOK_ACTIVITIES_MAX, "%zu activities",
               wh->n_activities);
    for (size_t i = 0; i < wh->n_activities; i++) {
        FUZZ_CHECK(hookd_activity_id_valid(wh->activities[i], true), "activities[%zu] '%s'", i,
                   wh->activities[i]);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(wh->activities[i], wh->activities[j]) != 0,
                       "activities[%zu] repeats [%zu]", i, j);
    }
}

/* ---- the JSON forms ---------------------------------------------------------- */

static void check_doc_round_trip(const hookd_webhook *wh)
{
    json_t *doc = wh_to_doc(wh);
    FUZZ_CHECK(doc != NULL, "to_doc returned NULL");
    /* The store keeps the doc as text. */
    char *text = hookd_json_dumps(doc);
    FUZZ_CHECK(text != NULL, "the doc does not serialise");
    json_error_t jerr;
    json_t *loaded = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    FUZZ_CHECK(loaded != NULL, "the doc's text does not parse: %s: %.300s", jerr.text, text);
    FUZZ_CHECK(json_equal(loaded, doc), "the doc's text reads back different: %.300s", text);
    hookd_webhook *back = wh_from_doc(loaded);
    FUZZ_CHECK(back != NULL, "from_doc refused to_doc's doc: %.500s", text);
    same_webhook(wh, back, "to_doc/from_doc");
    json_t *doc2 = wh_to_doc(back);
    FUZZ_CHECK(doc2 && json_equal(doc, doc2), "the doc changed in a round trip");

    hookd_webhook *c = wh_clone(wh);
    FUZZ_CHECK(c != NULL, "clone returned NULL");
    same_webhook(wh, c, "clone");
    FUZZ_CHECK(c->key == wh->key && c->version == wh->version, "clone: key or version");

    hookd_webhook_free(c);
    json_decref(doc2);
    hookd_webhook_free(back);
    json_decref(loaded);
    free(text);
    json_decref(doc);
}

/* No object anywhere in v has a key "password". */
static bool has_password_key(const json_t *v)
{
    const char *k;
    json_t *e;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, e)
        {
            if (strcmp(k, "password") == 0 || has_password_key(e))
                return true;
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, e)
        {
            if (has_password_key(e))
                return true;
        }
    }
    return false;
}

static void check_time(const json_t *v, int64_t ms, const char *what)
{
    int64_t ns = 0;
    FUZZ_CHECK(json_is_string(v) && hookd_time_parse_rfc3339(json_string_value(v), &ns) == 0 &&
                   ns == ms * 1000000,
               "%s is not %lld ms", what, (long long)ms);
}

static void check_public(const hookd_webhook *wh)
{
    static const char *const KEYS[] = {"id",        "name",       "url",        "method",
                                       "send_activity", "headers", "keys",       "fields",
                                       "activities", "connected", "secret",     "basic_auth",
                                       "created_at", "updated_at", "rate_limit", "max_in_flight",
                                       "disconnected_by", "disconnected_reason",
                                       "update_contact_from_response"};
    json_t *j = wh_to_json(wh);
    FUZZ_CHECK(json_is_object(j), "to_json gave no object");
    FUZZ_CHECK(json_object_size(j) == sizeof KEYS / sizeof KEYS[0], "to_json has %zu keys",
               json_object_size(j));
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++)
        FUZZ_CHECK(json_object_get(j, KEYS[i]) != NULL, "to_json lacks %s", KEYS[i]);
    FUZZ_CHECK(!has_password_key(j), "to_json shows a password");
    const json_t *rl = json_object_get(j, "rate_limit");
    FUZZ_CHECK(wh->rate_limit == 0 ? json_is_null(rl) : json_number_value(rl) == wh->rate_limit,
               "to_json: rate_limit");
    FUZZ_CHECK(json_is_integer(json_object_get(j, "max_in_flight")) &&
                   json_integer_value(json_object_get(j, "max_in_flight")) == wh->max_in_flight,
               "to_json: max_in_flight");

    FUZZ_CHECK(json_str_is(json_object_get(j, "id"), wh->id) &&
                   json_str_is(json_object_get(j, "name"), wh->name) &&
                   json_str_is(json_object_get(j, "url"), wh->url) &&
                   json_str_is(json_object_get(j, "method"), hookd_method_name(wh->method)) &&
                   json_str_is(json_object_get(j, "secret"), wh->secret),
               "to_json: id, name, url, method or secret not as held");
    FUZZ_CHECK(json_is_true(json_object_get(j, "send_activity")) == wh->send_activity &&
                   json_is_boolean(json_object_get(j, "send_activity")) &&
                   json_is_true(json_object_get(j, "connected")) == wh->connected &&
                   json_is_boolean(json_object_get(j, "connected")),
               "to_json: send_activity or connected");

    const json_t *ba = json_object_get(j, "basic_auth");
    if (!wh->basic_user) {
        FUZZ_CHECK(json_is_null(ba), "to_json: basic_auth should be null");
    } else {
        FUZZ_CHECK(json_object_size(ba) == 2 &&
                       json_str_is(json_object_get(ba, "username"), wh->basic_user) &&
                       json_is_boolean(json_object_get(ba, "password_set")) &&
                       json_is_true(json_object_get(ba, "password_set")) ==
                           (wh->basic_pass != NULL),
                   "to_json: basic_auth is not {username, password_set}");
    }

    const json_t *h = json_object_get(j, "headers");
    FUZZ_CHECK(json_array_size(h) == wh->n_headers, "to_json: headers");
    for (size_t i = 0; i < wh->n_headers; i++) {
        const json_t *e = json_array_get(h, i);
        /* A header marked secret is shown "[redacted]", any other as held. */
        bool secret = json_is_true(json_object_get(e, "secret"));
        FUZZ_CHECK(json_str_is(json_object_get(e, "key"), wh->headers[i].key) &&
                       json_str_is(json_object_get(e, "value"),
                                   secret ? "[redacted]" : wh->headers[i].value),
                   "to_json: headers[%zu]", i);
    }
    const json_t *k = json_object_get(j, "keys");
    FUZZ_CHECK(json_object_size(k) == HOOKD_LOCKED_KEYS, "to_json: keys is not the map of six");
    for (int i = 0; i < HOOKD_LOCKED_KEYS; i++)
        FUZZ_CHECK(json_str_is(json_object_get(k, hookd_locked_key_names[i]), wh->keys[i]),
                   "to_json: keys.%s", hookd_locked_key_names[i]);
    const json_t *f = json_object_get(j, "fields");
    FUZZ_CHECK(json_array_size(f) == wh->n_fields, "to_json: fields");
    for (size_t i = 0; i < wh->n_fields; i++) {
        const json_t *e = json_array_get(f, i);
        FUZZ_CHECK(json_str_is(json_object_get(e, "field_id"), wh->fields[i].field_id) &&
                       json_str_is(json_object_get(e, "key"), wh->fields[i].key),
                   "to_json: fields[%zu]", i);
    }
    const json_t *a = json_object_get(j, "activities");
    FUZZ_CHECK(json_array_size(a) == wh->n_activities, "to_json: activities");
    for (size_t i = 0; i < wh->n_activities; i++)
        FUZZ_CHECK(json_str_is(json_array_get(a, i), wh->activities[i]),
                   "to_json: activities[%zu]", i);
    check_time(json_object_get(j, "created_at"), wh->created_at, "created_at");
    check_time(json_object_get(j, "updated_at"), wh->updated_at, "updated_at");

    /* The answer goes out as text. */
    char *text = hookd_json_dumps(j);
    FUZZ_CHECK(text != NULL, "to_json does not serialise");
    free(text);
    json_decref(j);

    char *shown = wh_tail_shown(wh);
    FUZZ_CHECK(shown != NULL, "tail_shown returned NULL");
    json_t *sj = json_loads(shown, 0, NULL);
    FUZZ_CHECK(json_is_object(sj), "tail_shown is no JSON object: %.300s", shown);
    if (wh->basic_user)
        FUZZ_CHECK(json_str_is(json_object_get(sj, "Authorization"), "[redacted]"),
                   "basic auth shown in logs: %.300s", shown);
    json_decref(sj);
    free(shown);
}

/* ---- every webhook could have been created as it is ------------------------- */

/* The create body that says everything wh holds (new reference). */
static json_t *create_body_of(const hookd_webhook *wh)
{
    json_t *headers = json_array(), *keys = json_object(), *fields = json_array(),
           *acts = json_array();
    for (size_t i = 0; i < wh->n_headers; i++)
        json_array_append_new(headers, json_pack("{s:s,s:s}", "key", wh->headers[i].key, "value",
                                                 wh->headers[i].value));
    for (int i = 0; i < HOOKD_LOCKED_KEYS; i++)
        json_object_set_new(keys, hookd_locked_key_names[i], json_string(wh->keys[i]));
    for (size_t i = 0; i < wh->n_fields; i++)
        json_array_append_new(fields, json_pack("{s:s,s:s}", "field_id", wh->fields[i].field_id,
                                                "key", wh->fields[i].key));
    for (size_t i = 0; i < wh->n_activities; i++)
        json_array_append_new(acts, json_string(wh->activities[i]));
    json_t *auth = wh->basic_user ? json_pack("{s:s,s:s}", "username", wh->basic_user, "password",
                                              wh->basic_pass)
                                  : json_null();
    json_t *body = json_pack("{s:s,s:s,s:s,s:b,s:b,s:o,s:o,s:o,s:o,s:o}", "name", wh->name, "url",
                             wh->url, "method", hookd_method_name(wh->method), "send_activity",
                             wh->send_activity, "connected", wh->connected, "basic_auth", auth,
                             "headers", headers, "keys", keys, "fields", fields, "activities",
                             acts);
    FUZZ_CHECK(body != NULL, "could not build a create body");
    json_object_set_new(body, "rate_limit",
                        wh->rate_limit > 0 ? json_real(wh->rate_limit) : json_null());
    json_object_set_new(body, "max_in_flight", json_integer(wh->max_in_flight));
    return body;
}

/* Whatever a PATCH leads to, a create with the same settings is accepted
 * and gives the same webhook: no sequence of changes gets past a rule. */
static void check_recreatable(const hookd_webhook *wh)
{
    json_t *body = create_body_of(wh);
    hookd_webhook *c = wh_new();
    memcpy(c->id, wh->id, sizeof wh->id);
    memcpy(c->secret, wh->secret, sizeof wh->secret);
    c->created_at = wh->created_at;
    c->updated_at = wh->updated_at;
    fuzz_store up = {.down = false};
    hookd_error err;
    memset(&err, 0, sizeof err);
    int rc = wh_apply(c, body, true, &up, &err);
    FUZZ_CHECK(rc == 0, "a webhook held could not be created: %s: %s", err.field, err.message);
    same_webhook(wh, c, "created again");
    hookd_webhook_free(c);
    json_decref(body);
}

/* ---- errors ----------------------------------------------------------------- */

/* True if path names a place in body: a top-level key, then as far as the
 * body goes each ".name" (an object's key; the rest of the path may be one
 * key holding '.' or '[') or "[i]" (an index inside the array). The last
 * step may be missing ("… is required"). */
static bool path_in(const json_t *v, const char *path)
{
    while (*path) {
        if (*path == '[') {
            char *end;
            unsigned long i = strtoul(path + 1, &end, 10);
            if (!json_is_array(v) || end == path + 1 || *end != ']' || i >= json_array_size(v))
                return false;
            v = json_array_get(v, i);
            path = end + 1;
        } else if (*path == '.') {
            if (!json_is_object(v))
                return false;
            path++;
            if (json_object_get(v, path))
                return true; /* the rest is one key */
            size_t n = strcspn(path, ".[");
            char name[HOOKD_ERR_FIELD_MAX];
            snprintf(name, sizeof name, "%.*s", (int)n, path);
            const json_t *next = json_object_get(v, name);
            if (!next)
                return path[n] == '\0'; /* a missing leaf */
            v = next;
            path += n;
        } else {
            return false;
        }
    }
    return true;
}

static void check_error(int rc, const hookd_error *err, const json_t *body, bool store_down)
{
    FUZZ_CHECK(memchr(err->message, '\0', sizeof err->message) && err->message[0],
               "an error without a message");
    FUZZ_CHECK(memchr(err->field, '\0', sizeof err->field), "field not terminated");
    if (rc == HOOKD_EUNAVAIL) {
        FUZZ_CHECK(store_down, "unavailable with the store up");
        FUZZ_CHECK(err->status == 503 && err->code && strcmp(err->code, "unavailable") == 0,
                   "a failed lookup answered %d %s", err->status, err->code);
        return;
    }
    FUZZ_CHECK(rc == HOOKD_EINVAL, "rc=%d", rc);
    FUZZ_CHECK(err->status == 400 && err->code && strcmp(err->code, "invalid") == 0,
               "refusal answered %d %s: %s", err->status, err->code, err->message);
    if (!json_is_object(body))
        return;
    const char *f = err->field;
    /* The one path that is empty: an unknown key "" at the top. */
    FUZZ_CHECK(f[0] || json_object_get(body, ""), "refusal without a field: %s", err->message);
    /* The setting blamed: a key of the body (the whole field when the key is
     * unknown and holds '.' or '['), or, for the rules across settings, one
     * the body did not name but a PATCH kept or a default filled in. */
    if (json_object_get(body, f) || strlen(f) == HOOKD_ERR_FIELD_MAX - 1)
        return;
    size_t n = strcspn(f, ".[");
    char top[HOOKD_ERR_FIELD_MAX];
    snprintf(top, sizeof top, "%.*s", (int)n, f);
    const json_t *v = json_object_get(body, top);
    if (v) {
        FUZZ_CHECK(path_in(v, f + n), "field '%s' is not in the body: %s", f, err->message);
    } else {
        FUZZ_CHECK(strcmp(top, "keys") == 0 || strcmp(top, "fields") == 0 ||
                       strcmp(top, "headers") == 0 || strcmp(top, "name") == 0 ||
                       strcmp(top, "url") == 0,
                   "field '%s' names nothing of the body: %s", f, err->message);
    }
}

/* ---- the driver ---------------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* The store only holds ids the API would have made. */
    for (size_t i = 0; i < N_STORED; i++)
        FUZZ_CHECK(hookd_object_field_type(STORED[i].id, STORED[i].object) != HOOKD_FT_INVALID,
                   "%s is no custom field id", STORED[i].id);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    bool patch = sel & 1;
    fuzz_store store = {.down = (sel >> 3) & 1};

    json_error_t jerr;
    json_t *body = json_loadb((const char *)data + 1, size - 1,
                              JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!body)
        return 0; /* malformed_json, before any handler */

    hookd_webhook *wh = patch ? make_base((sel >> 1) & 3) : wh_new();
    /* What wh held before: a clone of a base; for a create, another new
     * webhook given the same id and secret (a new one has no name or URL,
     * so it has no doc to clone through). */
    hookd_webhook *before = patch ? wh_clone(wh) : wh_new();
    FUZZ_CHECK(before != NULL, "clone");
    if (!patch) {
        memcpy(before->id, wh->id, sizeof wh->id);
        memcpy(before->secret, wh->secret, sizeof wh->secret);
    }
    hookd_error err;
    memset(&err, 0x5a, sizeof err);
    err.code = NULL;
    err.status = 0;

    int rc = wh_apply(wh, body, !patch, &store, &err);
    /* FUZZ_TRACE=1 ./build-fuzz/fuzz_webhook input… says what each input got. */
    if (getenv("FUZZ_TRACE"))
        fprintf(stderr, "%s%s: rc=%d %s %s\n", patch ? "patch" : "create",
                store.down ? " (store down)" : "", rc, rc ? err.field : "",
                rc ? err.message : "");
    if (rc != 0) {
        check_error(rc, &err, body, store.down);
    } else {
        check_applied(before, wh, body);
        check_rules(wh);
        check_doc_round_trip(wh);
        check_public(wh);
        check_recreatable(wh);

        /* Once more: the same body finds nothing left to change. */
        hookd_webhook *again = wh_clone(wh);
        FUZZ_CHECK(again != NULL, "clone");
        int rc2 = wh_apply(again, body, !patch, &store, &err);
        FUZZ_CHECK(rc2 == 0, "applied once, refused twice: %s: %s", err.field, err.message);
        same_webhook(wh, again, "applied twice");
        hookd_webhook_free(again);
    }
    hookd_webhook_free(before);
    hookd_webhook_free(wh);
    json_decref(body);
    return 0;
}

/*
 * fuzz_payload.c — libFuzzer driver for payload building (src/model/payload.h):
 * hookd_payload_build, then both wire forms, hookd_payload_request and
 * hookd_payload_query.
 *
 * Input layout: the first byte picks the webhook (one of a few fixed, valid
 * settings: POST and GET/DELETE/PUT, renamed locked keys, built-in, account
 * and custom fields), the delivery kind and the transactional flag; the rest
 * is JSON {"person":{…},"account":{…},"activity":{…},"action":{…},
 * "contact_id":"…"}, any part of which may be missing or of the wrong shape.
 * Only objects are passed on (the builder's contract takes objects or NULL),
 * but what is inside them is whatever the fuzzer made: the builder runs on
 * stored data, and a store row that a later version reads differently must
 * not crash delivery.
 *
 * Invariants checked: build never returns NULL; the payload carries the
 * delivery id and the webhook id; a POST/PUT/PATCH body parses back as JSON
 * equal to the payload and the URL is the webhook's; a GET/DELETE request has
 * an empty body and a URL that is the webhook's followed by '?' (or '&' when
 * it has a query already) and exactly hookd_payload_query's string; that
 * string holds only RFC 3986 unreserved characters, %XX escapes, '=' and '&',
 * with one '=' per parameter.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/fields.h"
#include "model/payload.h"
#include "util/json.h"
#include "model/webhook.h"

#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_payload: invariant failed: %s: ", #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Webhook settings the driver picks from. Each is valid for
 * hookd_webhook_apply; together they cover both wire forms, a URL that
 * already has a query, renamed locked keys (including non-ASCII ones that
 * must be percent-encoded), person, account and custom fields, and
 * send_activity off. */
static const char *const SETTINGS[] = {
    "{\"name\":\"post\",\"url\":\"https://example.com/hook\",\"activities\":[\"*\"],"
    "\"fields\":[{\"field_id\":\"str::first\"},{\"field_id\":\"str:o:name\"}]}",

    "{\"name\":\"get\",\"url\":\"https://example.com/in?src=hookd&x=1\",\"method\":\"GET\","
    "\"keys\":{\"contact_id\":\"id_of_contact\",\"email\":\"e-mail\"},"
    "\"fields\":[{\"field_id\":\"str::first\",\"key\":\"first name\"},"
    "{\"field_id\":\"phn::phone\"},{\"field_id\":\"dtz::b\"},{\"field_id\":\"str:o:name\"},"
    "{\"field_id\":\"int:o:employees\"},{\"field_id\":\"geo:o:city\"}]}",

    "{\"name\":\"delete\",\"url\":\"http://127.0.0.1:9/x\",\"method\":\"DELETE\","
    "\"send_activity\":false,\"keys\":{\"campaign_id\":\"cid\",\"action_name\":\"act \\u00e9\"},"
    "\"fields\":[{\"field_id\":\"geo::country\"},{\"field_id\":\"str:cm:job-title\"}]}",

    "{\"name\":\"put\",\"url\":\"https://example.com/p\",\"method\":\"PUT\","
    "\"keys\":{\"contact_id\":\"uid\",\"action_id\":\"aid\"},"
    "\"fields\":[{\"field_id\":\"bol::gdpr\"},{\"field_id\":\"str:oc:tier\",\"key\":\"tier\"},"
    "{\"field_id\":\"str::last\"},{\"field_id\":\"str:o:website\"}]}",
};
#define N_SETTINGS (sizeof SETTINGS / sizeof SETTINGS[0])

static const hookd_delivery_kind KINDS[] = {HOOKD_KIND_ACTIVITY, HOOKD_KIND_ACTION, HOOKD_KIND_TEST,
                                            HOOKD_KIND_ACTIVITY};

/* The field lookup hookd_webhook_apply needs. The real one
 * (hookd_api_field_lookup) asks the store for custom fields; here every
 * well-formed custom id counts as stored, so custom fields are covered too. */
static int fuzz_field_lookup(void *ctx, const char *field_id, char **default_key)
{
    (void)ctx;
    const hookd_field_def *def = hookd_fields_builtin_find(field_id);
    if (def) {
        *default_key = strdup(def->default_key);
        return *default_key ? 1 : HOOKD_ENOMEM;
    }
    if (hookd_object_field_type(field_id, HOOKD_OBJ_PERSON) != HOOKD_FT_INVALID ||
        hookd_object_field_type(field_id, HOOKD_OBJ_ACCOUNT) != HOOKD_FT_INVALID) {
        *default_key = hookd_field_default_key(field_id);
        return *default_key ? 1 : HOOKD_ENOMEM;
    }
    return 0;
}

static hookd_webhook *make_webhook(size_t variant)
{
    json_error_t jerr;
    json_t *settings = json_loads(SETTINGS[variant], 0, &jerr);
    FUZZ_CHECK(settings != NULL, "settings %zu do not parse: %s", variant, jerr.text);
    hookd_webhook *wh = hookd_webhook_new(0);
    FUZZ_CHECK(wh != NULL, "hookd_webhook_new failed");
    hookd_error err;
    memset(&err, 0, sizeof err);
    int rc = hookd_webhook_apply(wh, settings, true, fuzz_field_lookup, NULL, &err);
    /* The settings are fixed and valid: a refusal is a regression in
     * webhook.c (or in this driver), not something to fuzz past. */
    FUZZ_CHECK(rc == 0, "settings %zu refused: %s: %s", variant, err.field, err.message);
    json_decref(settings);
    return wh;
}

static const json_t *object_or_null(const json_t *root, const char *key)
{
    const json_t *v = json_object_get(root, key);
    return json_is_object(v) ? v : NULL;
}

static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/* Checks the query string's grammar: param ("&" param)*, param = key "=" value,
 * key non-empty, both made of unreserved characters and %XX escapes. */
static void check_query(const char *q)
{
    size_t eq = 0;
    size_t key_len = 0;
    bool in_key = true;
    for (const unsigned char *p = (const unsigned char *)q;; p++) {
        if (*p == '\0' || *p == '&') {
            /* An empty query is allowed (every value left out); an empty
             * parameter between two '&' is not. */
            if (*p == '\0' && p == (const unsigned char *)q)
                return;
            FUZZ_CHECK(eq == 1, "parameter without exactly one '=' in %.200s", q);
            FUZZ_CHECK(key_len > 0, "empty key in %.200s", q);
            if (*p == '\0')
                return;
            eq = 0;
            key_len = 0;
            in_key = true;
        } else if (*p == '=') {
            eq++;
            in_key = false;
        } else if (*p == '%') {
            FUZZ_CHECK(is_hex(p[1]) && is_hex(p[2]), "bad escape at %.20s", (const char *)p);
            p += 2;
            key_len += in_key;
        } else {
            FUZZ_CHECK(is_unreserved(*p), "unencoded byte 0x%02x in %.200s", *p, q);
            key_len += in_key;
        }
    }
}

static void check_request(const json_t *payload, const hookd_webhook *wh)
{
    char *url = NULL, *body = NULL;
    int rc = hookd_payload_request(payload, wh->method, wh->url, &url, &body);
    FUZZ_CHECK(rc == 0, "hookd_payload_request rc=%d", rc);
    FUZZ_CHECK(url != NULL && body != NULL, "request with a NULL url or body");

    if (wh->method == HOOKD_METHOD_GET || wh->method == HOOKD_METHOD_DELETE) {
        size_t n = strlen(wh->url);
        FUZZ_CHECK(body[0] == '\0', "%s with a body: %.200s", hookd_method_name(wh->method), body);
        FUZZ_CHECK(strncmp(url, wh->url, n) == 0, "url %.200s does not start with %s", url,
                   wh->url);
        char *query = hookd_payload_query(payload);
        FUZZ_CHECK(query != NULL, "hookd_payload_query returned NULL");
        check_query(query);
        if (query[0] != '\0') {
            char sep = strchr(wh->url, '?') ? '&' : '?';
            FUZZ_CHECK(url[n] == sep && strcmp(url + n + 1, query) == 0,
                       "url %.300s is not the webhook url, '%c' and the query %.300s", url, sep,
                       query);
        }
        free(query);
    } else {
        FUZZ_CHECK(strcmp(url, wh->url) == 0, "url %.200s is not %s", url, wh->url);
        json_error_t jerr;
        json_t *back = json_loads(body, JSON_REJECT_DUPLICATES, &jerr);
        FUZZ_CHECK(back != NULL, "body does not parse (%s): %.300s", jerr.text, body);
        FUZZ_CHECK(json_equal(back, payload), "body differs from the payload: %.300s", body);
        json_decref(back);
        /* The query form must work for any payload too, whatever the method
         * a webhook is later patched to. */
        char *query = hookd_payload_query(payload);
        FUZZ_CHECK(query != NULL, "hookd_payload_query returned NULL");
        check_query(query);
        free(query);
    }
    free(url);
    free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    size_t variant = sel % N_SETTINGS;
    hookd_delivery_kind kind = KINDS[(sel >> 2) & 3];
    bool transactional = (sel >> 4) & 1;

    json_error_t jerr;
    json_t *root = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, &jerr);
    /* Input that is not an object still builds: a payload from a contact
     * with nothing but an id is a real case. */
    const json_t *person = object_or_null(root, "person");
    const json_t *account = object_or_null(root, "account");
    const json_t *activity = object_or_null(root, "activity");
    const json_t *action = object_or_null(root, "action");
    const json_t *cid = json_object_get(root, "contact_id");
    const char *contact_id =
        json_is_string(cid) ? json_string_value(cid) : "0b7c1f4e-3d6a-4c58-9e7b-2a1d5f8c9e01";

    hookd_webhook *wh = make_webhook(variant);
    hookd_payload_input in = {
        .webhook = wh,
        .kind = kind,
        .delivery_id = "5f0e6a2b-8c1d-4e3f-a7b9-0c2d4e6f8a1b",
        /* A fixed clock with a non-zero nanosecond part: "time" keeps all nine digits. */
        .time_ns = 1673912478948713601LL,
        .contact_id = contact_id,
        .person_fields = person,
        .account_fields = account,
        .activity = activity,
        .transactional = transactional,
        .action = kind == HOOKD_KIND_ACTION ? action : NULL,
    };
    json_t *payload = hookd_payload_build(&in);
    FUZZ_CHECK(payload != NULL, "hookd_payload_build returned NULL");
    FUZZ_CHECK(json_is_object(payload), "the payload is not an object");
    FUZZ_CHECK(json_is_string(json_object_get(payload, "id")) &&
                   strcmp(json_string_value(json_object_get(payload, "id")), in.delivery_id) == 0,
               "payload id is not the delivery id");
    FUZZ_CHECK(json_is_string(json_object_get(payload, "webhook_id")) &&
                   strcmp(json_string_value(json_object_get(payload, "webhook_id")), wh->id) == 0,
               "payload webhook_id is not the webhook's id");

    check_request(payload, wh);

    /* Ingest splices the activity's text into each body: the same bytes. */
    char *act = activity ? hookd_payload_activity_text(activity, transactional) : NULL;
    char *fast = hookd_payload_body(&in, act);
    char *slow = hookd_json_dumps(payload);
    FUZZ_CHECK(fast && slow && strcmp(fast, slow) == 0, "spliced body %.300s differs from %.300s",
               fast ? fast : "(null)", slow ? slow : "(null)");
    free(act);
    free(fast);
    free(slow);

    json_decref(payload);
    hookd_webhook_free(wh);
    json_decref(root);
    return 0;
}

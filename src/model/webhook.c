#include "model/webhook.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model/fields.h"
#include "util/json.h"
#include "util/timeutil.h"
#include "util/utf8.h"

const char *const hookd_locked_key_names[HOOKD_LOCKED_KEYS] = {
    "contact_id", "email", "campaign_id", "campaign_name", "action_id", "action_name",
};

static const char *const METHOD_NAMES[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};

/* Top-level payload keys that an action key (which lands at the top level of
 * the payload, docs/payload.md) must not take, or it would overwrite them. */
static const char *const TOP_LEVEL_KEYS[] = {"activity", "contact", "id", "time", "webhook_id",
                                             "test"};

/* Header names the contract refuses (compared case-insensitively);
 * Authorization only while basic auth is set, webhook-* by prefix. */
static const char *const REFUSED_HEADERS[] = {"Host", "Content-Length", "Content-Type",
                                              "Transfer-Encoding", "Connection"};

const char *hookd_method_name(hookd_method m)
{
    return METHOD_NAMES[m];
}

/* Returns 0 and sets *m for an exact, upper-case method name; -1 otherwise. */
static int method_parse(const char *s, hookd_method *m)
{
    for (size_t i = 0; i < sizeof METHOD_NAMES / sizeof METHOD_NAMES[0]; i++) {
        if (strcmp(s, METHOD_NAMES[i]) == 0) {
            *m = (hookd_method)i;
            return 0;
        }
    }
    return -1;
}

/* ---- lifetime ---------------------------------------------------------- */

static void free_headers(hookd_header *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(h[i].key);
        free(h[i].value);
    }
    free(h);
}

static void free_fields(hookd_webhook_field *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(f[i].field_id);
        free(f[i].key);
    }
    free(f);
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void hookd_webhook_free(hookd_webhook *wh)
{
    if (!wh)
        return;
    free(wh->name);
    free(wh->url);
    free(wh->basic_user);
    free(wh->basic_pass);
    free_headers(wh->headers, wh->n_headers);
    for (int i = 0; i < HOOKD_LOCKED_KEYS; i++)
        free(wh->keys[i]);
    free_fields(wh->fields, wh->n_fields);
    free_strv(wh->activities, wh->n_activities);
    free(wh);
}

/* Replaces *dst with a copy of src (NULL allowed). Returns 0 or -1. */
static int set_str(char **dst, const char *src)
{
    char *copy = NULL;
    if (src && !(copy = strdup(src)))
        return -1;
    free(*dst);
    *dst = copy;
    return 0;
}

int hookd_webhook_new_secret(hookd_webhook *wh)
{
    unsigned char raw[32];
    char b64[48];
    if (hookd_random_bytes(raw, sizeof raw) != 0)
        return -1;
    hookd_base64_encode(raw, sizeof raw, b64);
    snprintf(wh->secret, sizeof wh->secret, "whsec_%s", b64);
    return 0;
}

int hookd_webhook_rotate_secret(hookd_webhook *wh, int64_t now_ms)
{
    char prev[HOOKD_SECRET_MAX];
    memcpy(prev, wh->secret, sizeof prev);
    if (hookd_webhook_new_secret(wh) != 0)
        return -1;
    /* Only the secret just replaced keeps signing: a second rotation within
     * the overlap drops the oldest one. */
    memcpy(wh->secret_prev, prev, sizeof prev);
    wh->rotated_at = now_ms;
    return 0;
}

int hookd_webhook_secret_check(const char *secret, const char *field, hookd_error *err)
{
    unsigned char raw[HOOKD_SECRET_MAX];
    char again[HOOKD_SECRET_MAX];
    size_t len = strlen(secret);
    long n = -1;
    if (strncmp(secret, "whsec_", 6) == 0 && len < HOOKD_SECRET_MAX)
        n = hookd_base64_decode(secret + 6, raw);
    /* Encoding the bytes again must give the same text: that refuses
     * whitespace, stray padding and non-zero spare bits, which decoders
     * treat differently, so every receiver's library reads the same key. */
    if (n >= HOOKD_SECRET_BYTES_MIN && n <= HOOKD_SECRET_BYTES_MAX) {
        hookd_base64_encode(raw, (size_t)n, again);
        if (strcmp(again, secret + 6) != 0)
            n = -1;
    }
    if (n < HOOKD_SECRET_BYTES_MIN || n > HOOKD_SECRET_BYTES_MAX)
        return hookd_invalid(err, field,
                             "%s must be \"whsec_\" followed by the standard base64 (with "
                             "padding) of %d to %d random bytes",
                             field, HOOKD_SECRET_BYTES_MIN, HOOKD_SECRET_BYTES_MAX);
    return 0;
}

hookd_webhook *hookd_webhook_new(int64_t now_ms)
{
    hookd_webhook *wh = calloc(1, sizeof *wh);
    if (!wh)
        return NULL;
    wh->method = HOOKD_METHOD_POST;
    wh->send_activity = true;
    wh->connected = true;
    wh->max_in_flight = HOOKD_MAX_IN_FLIGHT_DEFAULT;
    wh->created_at = wh->updated_at = now_ms;
    for (int i = 0; i < HOOKD_LOCKED_KEYS; i++) {
        if (set_str(&wh->keys[i], hookd_locked_key_names[i]) != 0)
            goto fail;
    }
    if (hookd_id_new(wh->id) != 0 || hookd_webhook_new_secret(wh) != 0)
        goto fail;
    return wh;
fail:
    hookd_webhook_free(wh);
    return NULL;
}

/* ---- validation helpers ------------------------------------------------ */

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
    static const char TCHARS[] = "!#$%&'*+-.^_`|~";
    if (!*s)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              (*p && strchr(TCHARS, *p))))
            return false;
    }
    return true;
}

/* A string value of min..max characters. */
static int want_string(const json_t *v, const char *field, size_t min, size_t max,
                       const char **out, hookd_error *err)
{
    if (!json_is_string(v))
        return hookd_invalid(err, field, "%s must be a string", field);
    const char *s = json_string_value(v);
    size_t n = hookd_utf8_chars(s);
    if (n < min || n > max)
        return hookd_invalid(err, field, "%s must be %zu to %zu characters, got %zu", field, min,
                             max, n);
    *out = s;
    return 0;
}

static int want_bool(const json_t *v, const char *field, bool *out, hookd_error *err)
{
    if (!json_is_boolean(v))
        return hookd_invalid(err, field, "%s must be true or false", field);
    *out = json_is_true(v);
    return 0;
}

int hookd_webhook_check_url(const char *url, hookd_error *err)
{
    if (strlen(url) > HOOKD_WEBHOOK_URL_MAX)
        return hookd_invalid(err, "url", "url must be at most %d bytes", HOOKD_WEBHOOK_URL_MAX);
    if (has_ctl(url) || strchr(url, ' '))
        return hookd_invalid(err, "url", "url must not contain spaces or control characters");
    /* The host must follow "scheme://" at once: libcurl also reads
     * "http:///path" as host "path" and "http:/host" as host "host", which
     * nobody means. The first ':' ends the scheme; a "://" found anywhere
     * later (in a path or a query) says nothing about the host. */
    const char *auth = strchr(url, ':');
    if (!auth || strncmp(auth, "://", 3) != 0 || strchr("/?#", auth[3]))
        return hookd_invalid(err, "url", "url must be an absolute http:// or https:// URL with a host");
    /* Validate with libcurl's own parser so hookd accepts exactly what it can
     * later send. */
    CURLU *u = curl_url();
    if (!u)
        return hookd_error_set(err, 503, "unavailable", NULL, "out of memory");
    int rc = 0;
    char *scheme = NULL, *host = NULL, *user = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host) {
        rc = hookd_invalid(err, "url", "url must be an absolute http:// or https:// URL");
    } else if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
        rc = hookd_invalid(err, "url", "url scheme must be http or https, not '%s'", scheme);
    } else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK && user) {
        rc = hookd_invalid(err, "url", "url must not hold credentials; use basic_auth instead");
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_url_cleanup(u);
    return rc;
}

static int apply_basic_auth(hookd_webhook *wh, const json_t *v, hookd_error *err)
{
    static const char *const ALLOWED[] = {"username", "password", NULL};
    if (json_is_null(v)) {
        set_str(&wh->basic_user, NULL);
        set_str(&wh->basic_pass, NULL);
        return 0;
    }
    if (!json_is_object(v))
        return hookd_invalid(err, "basic_auth",
                             "basic_auth must be {\"username\",\"password\"} or null");
    if (hookd_json_only_keys(v, ALLOWED, "basic_auth", err))
        return HOOKD_EINVAL;
    const json_t *u = json_object_get(v, "username");
    const json_t *p = json_object_get(v, "password");
    const char *user, *pass = NULL;
    if (!u)
        return hookd_invalid(err, "basic_auth.username", "basic_auth.username is required");
    if (want_string(u, "basic_auth.username", 1, HOOKD_BASIC_USER_MAX, &user, err))
        return HOOKD_EINVAL;
    if (strchr(user, ':') || has_ctl(user))
        return hookd_invalid(err, "basic_auth.username",
                             "basic_auth.username must not contain ':' or control characters");
    if (p) {
        if (want_string(p, "basic_auth.password", 0, HOOKD_BASIC_PASS_MAX, &pass, err))
            return HOOKD_EINVAL;
    } else if (!wh->basic_pass) {
        /* Leaving the password out keeps the stored one; with none stored
         * there is nothing to keep. */
        return hookd_invalid(err, "basic_auth.password", "basic_auth.password is required");
    }
    if (set_str(&wh->basic_user, user) || (pass && set_str(&wh->basic_pass, pass)))
        return hookd_error_set(err, 503, "unavailable", NULL, "out of memory");
    return 0;
}

/* The stored secret header named key (case-insensitive), or NULL. */
static const hookd_header *stored_secret_header(const hookd_webhook *wh, const char *key)
{
    for (size_t i = 0; i < wh->n_headers; i++) {
        if (wh->headers[i].secret && strcasecmp(wh->headers[i].key, key) == 0)
            return &wh->headers[i];
    }
    return NULL;
}

int hookd_webhook_check_header_key(const char *key, const char *field, hookd_error *err)
{
    if (!is_token(key))
        return hookd_invalid(err, field, "%s must be an HTTP header name (letters, digits and "
                                         "!#$%%&'*+-.^_`|~)", field);
    for (size_t r = 0; r < sizeof REFUSED_HEADERS / sizeof REFUSED_HEADERS[0]; r++) {
        if (strcasecmp(key, REFUSED_HEADERS[r]) == 0)
            return hookd_invalid(err, field, "header %s is set by hookd and cannot be given", key);
    }
    if (strncasecmp(key, "webhook-", 8) == 0)
        return hookd_invalid(err, field, "webhook-* headers are set by hookd and cannot be given");
    return 0;
}

int hookd_webhook_check_header_value(const char *value, const char *field, hookd_error *err)
{
    if (strpbrk(value, "\r\n"))
        return hookd_invalid(err, field, "%s must not contain CR or LF", field);
    return 0;
}

static int apply_headers(hookd_webhook *wh, const json_t *v, hookd_error *err)
{
    static const char *const ALLOWED[] = {"key", "value", "secret", NULL};
    char field[64];
    if (!json_is_array(v))
        return hookd_invalid(err, "headers", "headers must be an array of {\"key\",\"value\"}");
    size_t n = json_array_size(v);
    if (n > HOOKD_WEBHOOK_HEADERS_MAX)
        return hookd_invalid(err, "headers", "headers may hold at most %d entries, got %zu",
                             HOOKD_WEBHOOK_HEADERS_MAX, n);
    hookd_header *h = calloc(n ? n : 1, sizeof *h);
    if (!h)
        return hookd_error_set(err, 503, "unavailable", NULL, "out of memory");
    size_t i;
    for (i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        const char *key, *value;
        snprintf(field, sizeof field, "headers[%zu]", i);
        if (!json_is_object(e)) {
            hookd_invalid(err, field, "%s must be {\"key\",\"value\"}", field);
            goto fail;
        }
        if (hookd_json_only_keys(e, ALLOWED, field, err))
            goto fail;
        snprintf(field, sizeof field, "headers[%zu].key", i);
        if (!json_object_get(e, "key")) {
            hookd_invalid(err, field, "%s is required", field);
            goto fail;
        }
        if (want_string(json_object_get(e, "key"), field, 1, HOOKD_HEADER_KEY_MAX, &key, err))
            goto fail;
        if (hookd_webhook_check_header_key(key, field, err))
            goto fail;
        snprintf(field, sizeof field, "headers[%zu].secret", i);
        const json_t *sv = json_object_get(e, "secret");
        if (sv && want_bool(sv, field, &h[i].secret, err))
            goto fail;
        snprintf(field, sizeof field, "headers[%zu].value", i);
        /* A secret header is never shown again, so naming it without a
         * value keeps the stored one (docs/api.md); so does sending back the
         * "[redacted]" an answer showed, so that a client that PATCHes what
         * it read does not overwrite the secret with that word. */
        const json_t *given = json_object_get(e, "value");
        bool echoed =
            json_is_string(given) && strcmp(json_string_value(given), HOOKD_REDACTED) == 0;
        const hookd_header *kept =
            (h[i].secret && !given) || echoed ? stored_secret_header(wh, key) : NULL;
        if (kept) {
            h[i].secret = true;
            value = kept->value;
        } else if (!json_object_get(e, "value")) {
            hookd_invalid(err, field, "%s is required", field);
            goto fail;
        } else if (want_string(json_object_get(e, "value"), field, 0, HOOKD_HEADER_VALUE_MAX,
                               &value, err)) {
            goto fail;
        }
        if (hookd_webhook_check_header_value(value, field, err))
            goto fail;
        if (!(h[i].key = strdup(key)) || !(h[i].value = strdup(value))) {
            hookd_error_set(err, 503, "unavailable", NULL, "out of memory");
            i++;
            goto fail;
        }
    }
    free_headers(wh->headers, wh->n_headers);
    wh->headers = h;
    wh->n_headers = n;
    return 0;
fail:
    free_headers(h, n);
    return HOOKD_EINVAL;
}

static int apply_keys(hookd_webhook *wh, const json_t *v, hookd_error *err)
{
    char field[HOOKD_ERR_FIELD_MAX];
    if (!json_is_object(v))
        return hookd_invalid(err, "keys", "keys must be an object like {\"contact_id\":\"id\"}");
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)v, k, val)
    {
        int idx = -1;
        for (int i = 0; i < HOOKD_LOCKED_KEYS; i++) {
            if (strcmp(k, hookd_locked_key_names[i]) == 0)
                idx = i;
        }
        hookd_path(field, "keys", k);
        if (idx < 0)
            return hookd_invalid(err, field,
                                 "unknown key '%s' (keys are contact_id, email, campaign_id, "
                                 "campaign_name, action_id, action_name)",
                                 k);
        const char *s;
        if (want_string(val, field, 1, HOOKD_PAYLOAD_KEY_MAX, &s, err))
            return HOOKD_EINVAL;
        if (has_ctl(s))
            return hookd_invalid(err, field, "%s must not contain control characters", field);
        if (set_str(&wh->keys[idx], s))
            return hookd_error_set(err, 503, "unavailable", NULL, "out of memory");
    }
    return 0;
}

static int apply_fields(hookd_webhook *wh, const json_t *v, hookd_field_lookup_fn lookup,
                        void *ctx, hookd_error *err)
{
    static const char *const ALLOWED[] = {"field_id", "key", NULL};
    char field[64];
    if (!json_is_array(v))
        return hookd_invalid(err, "fields", "fields must be an array of {\"field_id\",\"key\"}");
    size_t n = json_array_size(v);
    if (n > HOOKD_WEBHOOK_FIELDS_MAX)
        return hookd_invalid(err, "fields", "fields may hold at most %d entries, got %zu",
                             HOOKD_WEBHOOK_FIELDS_MAX, n);
    hookd_webhook_field *f = calloc(n ? n : 1, sizeof *f);
    if (!f)
        return hookd_error_set(err, 503, "unavailable", NULL, "out of memory");
    int rc = HOOKD_EINVAL;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        const char *id, *key = NULL;
        snprintf(field, sizeof field, "fields[%zu]", i);
        if (!json_is_object(e)) {
            hookd_invalid(err, field, "%s must be {\"field_id\",\"key\"}", field);
            goto fail;
        }
        if (hookd_json_only_keys(e, ALLOWED, field, err))
            goto fail;
        snprintf(field, sizeof field, "fields[%zu].field_id", i);
        if (!json_object_get(e, "field_id")) {
            hookd_invalid(err, field, "%s is required", field);
            goto fail;
        }
        if (want_string(json_object_get(e, "field_id"), field, 1, 200, &id, err))
            goto fail;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(f[j].field_id, id) == 0) {
                hookd_invalid(err, field, "field %s is already in fields[%zu]", id, j);
                goto fail;
            }
        }
        char *default_key = NULL;
        int found = lookup(ctx, id, &default_key);
        if (found < 0) {
            rc = hookd_error_from_rc(err, found, "field");
            goto fail;
        }
        if (found == 0) {
            hookd_invalid(err, field, "%s: no person or account field has the id '%s'", field,
                          id);
            goto fail;
        }
        f[i].field_id = strdup(id);
        snprintf(field, sizeof field, "fields[%zu].key", i);
        const json_t *kv = json_object_get(e, "key");
        if (kv && !json_is_null(kv)) {
            if (want_string(kv, field, 1, HOOKD_PAYLOAD_KEY_MAX, &key, err) ||
                (has_ctl(key) &&
                 hookd_invalid(err, field, "%s must not contain control characters", field))) {
                free(default_key);
                goto fail;
            }
            f[i].key = strdup(key);
            free(default_key);
        } else {
            f[i].key = default_key;
        }
        if (!f[i].field_id || !f[i].key) {
            rc = hookd_error_set(err, 503, "unavailable", NULL, "out of memory");
            goto fail;
        }
    }
    free_fields(wh->fields, wh->n_fields);
    wh->fields = f;
    wh->n_fields = n;
    return 0;
fail:
    free_fields(f, n);
    return rc;
}

static int apply_activities(hookd_webhook *wh, const json_t *v, hookd_error *err)
{
    char field[64];
    if (!json_is_array(v))
        return hookd_invalid(err, "activities", "activities must be an array of activity ids");
    size_t n = json_array_size(v);
    if (n > HOOKD_WEBHOOK_ACTIVITIES_MAX)
        return hookd_invalid(err, "activities", "activities may hold at most %d ids",
                             HOOKD_WEBHOOK_ACTIVITIES_MAX);
    char **a = calloc(n ? n : 1, sizeof *a);
    if (!a)
        return hookd_error_set(err, 503, "unavailable", NULL, "out of memory");
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        snprintf(field, sizeof field, "activities[%zu]", i);
        if (!json_is_string(e)) {
            hookd_invalid(err, field, "%s must be a string", field);
            goto fail;
        }
        const char *id = json_string_value(e);
        if (!hookd_activity_id_valid(id, true)) {
            hookd_invalid(err, field,
                          "%s: '%.80s' is not a catalog activity, act:cm:<name>, act:oc:<name> "
                          "or *",
                          field, id);
            goto fail;
        }
        bool dup = false;
        for (size_t j = 0; j < kept; j++)
            dup = dup || strcmp(a[j], id) == 0;
        if (dup) /* a repeated id means the same subscription: keep one */
            continue;
        if (!(a[kept++] = strdup(id))) {
            hookd_error_set(err, 503, "unavailable", NULL, "out of memory");
            goto fail;
        }
    }
    free_strv(wh->activities, wh->n_activities);
    wh->activities = a;
    wh->n_activities = kept;
    return 0;
fail:
    free_strv(a, kept);
    return HOOKD_EINVAL;
}

/* rate_limit: null (no limit) or a number of deliveries per second. */
static int apply_rate_limit(hookd_webhook *wh, const json_t *v, hookd_error *err)
{
    if (json_is_null(v)) {
        wh->rate_limit = 0;
        return 0;
    }
    double r = json_is_number(v) ? json_number_value(v) : -1;
    if (r < HOOKD_RATE_LIMIT_MIN || r > HOOKD_RATE_LIMIT_MAX)
        return hookd_invalid(err, "rate_limit",
                             "rate_limit must be null or a number of deliveries per second "
                             "from %g to %g",
                             HOOKD_RATE_LIMIT_MIN, HOOKD_RATE_LIMIT_MAX);
    wh->rate_limit = r;
    return 0;
}

static int apply_max_in_flight(hookd_webhook *wh, const json_t *v, hookd_error *err)
{
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;
    if (n < HOOKD_MAX_IN_FLIGHT_MIN || n > HOOKD_MAX_IN_FLIGHT_MAX)
        return hookd_invalid(err, "max_in_flight", "max_in_flight must be an integer from %d to %d",
                             HOOKD_MAX_IN_FLIGHT_MIN, HOOKD_MAX_IN_FLIGHT_MAX);
    wh->max_in_flight = (int)n;
    return 0;
}

/* Rules that span several settings: Authorization with basic auth, and no
 * two equal payload keys (the later one is blamed, docs/api.md). */
static int check_cross(const hookd_webhook *wh, hookd_error *err)
{
    char field[64];
    if (wh->basic_user) {
        for (size_t i = 0; i < wh->n_headers; i++) {
            if (strcasecmp(wh->headers[i].key, "Authorization") == 0) {
                snprintf(field, sizeof field, "headers[%zu].key", i);
                return hookd_invalid(err, field,
                                     "an Authorization header cannot be given with basic_auth");
            }
        }
    }
    size_t total = HOOKD_LOCKED_KEYS + wh->n_fields;
    for (size_t i = 1; i < total; i++) {
        const char *ki = i < HOOKD_LOCKED_KEYS ? wh->keys[i] : wh->fields[i - HOOKD_LOCKED_KEYS].key;
        for (size_t j = 0; j < i; j++) {
            const char *kj =
                j < HOOKD_LOCKED_KEYS ? wh->keys[j] : wh->fields[j - HOOKD_LOCKED_KEYS].key;
            if (strcmp(ki, kj) != 0)
                continue;
            if (i < HOOKD_LOCKED_KEYS)
                snprintf(field, sizeof field, "keys.%s", hookd_locked_key_names[i]);
            else
                snprintf(field, sizeof field, "fields[%zu].key", i - HOOKD_LOCKED_KEYS);
            return hookd_invalid(err, field, "payload key '%s' is used twice", ki);
        }
    }
    for (int i = HOOKD_KEY_CAMPAIGN_ID; i <= HOOKD_KEY_ACTION_NAME; i++) {
        for (size_t t = 0; t < sizeof TOP_LEVEL_KEYS / sizeof TOP_LEVEL_KEYS[0]; t++) {
            if (strcmp(wh->keys[i], TOP_LEVEL_KEYS[t]) == 0) {
                snprintf(field, sizeof field, "keys.%s", hookd_locked_key_names[i]);
                return hookd_invalid(err, field,
                                     "'%s' is a top-level payload key of its own; choose another",
                                     wh->keys[i]);
            }
        }
    }
    return 0;
}

int hookd_webhook_apply(hookd_webhook *wh, const json_t *body, bool creating,
                        hookd_field_lookup_fn lookup, void *lookup_ctx, hookd_error *err)
{
    static const char *const ALLOWED[] = {"name",    "url",  "method", "send_activity",
                                          "basic_auth", "headers", "keys", "fields",
                                          "activities", "connected", "secret",
                                          "rate_limit", "max_in_flight",
                                          "update_contact_from_response", NULL};
    const json_t *v;
    const char *s;
    int rc;
    if (!json_is_object(body))
        return hookd_invalid(err, NULL, "the body must be a JSON object");
    if (!creating && json_object_get(body, "secret"))
        return hookd_invalid(err, "secret",
                             "secret cannot be changed by PATCH; POST "
                             "/api/v1/webhooks/{id}/rotate-secret makes a new one");
    static const char *const READ_ONLY[] = {"disconnected_by", "disconnected_reason", NULL};
    for (size_t i = 0; READ_ONLY[i]; i++) {
        if (json_object_get(body, READ_ONLY[i]))
            return hookd_invalid(err, READ_ONLY[i],
                                 "%s is read-only: POST /api/v1/webhooks/{id}/connect or "
                                 "/disconnect changes it",
                                 READ_ONLY[i]);
    }
    if (hookd_json_only_keys(body, ALLOWED, "", err))
        return HOOKD_EINVAL;
    if (creating && !json_object_get(body, "name"))
        return hookd_invalid(err, "name", "name is required");
    if (creating && !json_object_get(body, "url"))
        return hookd_invalid(err, "url", "url is required");

    if ((v = json_object_get(body, "name"))) {
        if (want_string(v, "name", 1, HOOKD_WEBHOOK_NAME_MAX, &s, err))
            return HOOKD_EINVAL;
        if (set_str(&wh->name, s))
            return hookd_error_set(err, 503, "unavailable", NULL, "out of memory");
    }
    if ((v = json_object_get(body, "url"))) {
        if (!json_is_string(v))
            return hookd_invalid(err, "url", "url must be a string");
        if (hookd_webhook_check_url(json_string_value(v), err))
            return HOOKD_EINVAL;
        if (set_str(&wh->url, json_string_value(v)))
            return hookd_error_set(err, 503, "unavailable", NULL, "out of memory");
    }
    if ((v = json_object_get(body, "secret"))) {
        if (!json_is_string(v))
            return hookd_invalid(err, "secret", "secret must be a string");
        if (hookd_webhook_secret_check(json_string_value(v), "secret", err))
            return HOOKD_EINVAL;
        snprintf(wh->secret, sizeof wh->secret, "%s", json_string_value(v));
    }
    if ((v = json_object_get(body, "method"))) {
        if (!json_is_string(v) || method_parse(json_string_value(v), &wh->method) != 0)
            return hookd_invalid(err, "method", "method must be GET, POST, PUT, PATCH or DELETE");
    }
    if ((v = json_object_get(body, "send_activity")) &&
        want_bool(v, "send_activity", &wh->send_activity, err))
        return HOOKD_EINVAL;
    if ((v = json_object_get(body, "connected"))) {
        bool connected = wh->connected;
        if (want_bool(v, "connected", &connected, err))
            return HOOKD_EINVAL;
        hookd_webhook_set_connected(wh, connected, HOOKD_DISC_USER, NULL);
    }
    if ((v = json_object_get(body, "basic_auth")) && (rc = apply_basic_auth(wh, v, err)))
        return rc;
    if ((v = json_object_get(body, "headers")) && (rc = apply_headers(wh, v, err)))
        return rc;
    if ((v = json_object_get(body, "keys")) && (rc = apply_keys(wh, v, err)))
        return rc;
    if ((v = json_object_get(body, "fields")) &&
        (rc = apply_fields(wh, v, lookup, lookup_ctx, err)))
        return rc;
    if ((v = json_object_get(body, "activities")) && (rc = apply_activities(wh, v, err)))
        return rc;
    if ((v = json_object_get(body, "rate_limit")) && (rc = apply_rate_limit(wh, v, err)))
        return rc;
    if ((v = json_object_get(body, "max_in_flight")) && (rc = apply_max_in_flight(wh, v, err)))
        return rc;
    if ((v = json_object_get(body, "update_contact_from_response")) &&
        want_bool(v, "update_contact_from_response", &wh->update_contact_from_response, err))
        return HOOKD_EINVAL;
    return check_cross(wh, err);
}

void hookd_webhook_set_connected(hookd_webhook *wh, bool connected, hookd_disconnector by,
                                 const char *reason)
{
    if (connected) {
        wh->disconnected_by = HOOKD_DISC_NONE;
        wh->disconnected_reason[0] = '\0';
    } else if (wh->connected) {
        wh->disconnected_by = by;
        snprintf(wh->disconnected_reason, sizeof wh->disconnected_reason, "%s",
                 reason ? reason : "");
    }
    wh->connected = connected;
}

static const char *disconnector_name(hookd_disconnector by)
{
    switch (by) {
    case HOOKD_DISC_USER:
        return "user";
    case HOOKD_DISC_HOOKD:
        return "hookd";
    default:
        return NULL;
    }
}

/* Appends disconnected_by and disconnected_reason to j (null when unset).
 * Returns 0 or -1. */
static int disconnected_json(json_t *j, const hookd_webhook *wh)
{
    const char *by = disconnector_name(wh->disconnected_by);
    const char *why = wh->disconnected_reason;
    return json_object_set_new(j, "disconnected_by", by ? json_string(by) : json_null()) ||
           json_object_set_new(j, "disconnected_reason", by && why[0] ? json_string(why)
                                                                       : json_null());
}

bool hookd_webhook_wants(const hookd_webhook *wh, const char *field_id)
{
    for (size_t i = 0; i < wh->n_activities; i++) {
        if (strcmp(wh->activities[i], "*") == 0 || strcmp(wh->activities[i], field_id) == 0)
            return true;
    }
    return false;
}

/* ---- JSON forms -------------------------------------------------------- */

/* null for no limit; a whole rate as an integer, so 5 is answered as given. */
static json_t *rate_limit_json(double r)
{
    if (r <= 0)
        return json_null();
    if (r == (double)(json_int_t)r)
        return json_integer((json_int_t)r);
    return json_real(r);
}

/* Builds the settings both forms share; NULL if memory ran out. Every
 * member must make it: a document missing one is stored damaged for good. */
static json_t *settings_json(const hookd_webhook *wh)
{
    json_t *headers = json_array(), *keys = json_object(), *fields = json_array(),
           *acts = json_array();
    bool ok = headers && keys && fields && acts;
    for (size_t i = 0; ok && i < wh->n_headers; i++) {
        json_t *h = json_pack("{s:s,s:s}", "key", wh->headers[i].key, "value",
                              wh->headers[i].value);
        if (h && wh->headers[i].secret && json_object_set_new(h, "secret", json_true()) != 0) {
            json_decref(h);
            h = NULL;
        }
        ok = json_array_append_new(headers, h) == 0;
    }
    for (int i = 0; ok && i < HOOKD_LOCKED_KEYS; i++)
        ok = json_object_set_new(keys, hookd_locked_key_names[i], json_string(wh->keys[i])) == 0;
    for (size_t i = 0; ok && i < wh->n_fields; i++)
        ok = json_array_append_new(fields, json_pack("{s:s,s:s}", "field_id",
                                                     wh->fields[i].field_id, "key",
                                                     wh->fields[i].key)) == 0;
    for (size_t i = 0; ok && i < wh->n_activities; i++)
        ok = json_array_append_new(acts, json_string(wh->activities[i])) == 0;
    if (!ok) {
        json_decref(headers);
        json_decref(keys);
        json_decref(fields);
        json_decref(acts);
        return NULL;
    }
    return json_pack("{s:s,s:s,s:s,s:s,s:b,s:o,s:o,s:o,s:o,s:b,s:s,s:o,s:i,s:b}", "id", wh->id,
                     "name", wh->name, "url", wh->url, "method", hookd_method_name(wh->method),
                     "send_activity", wh->send_activity, "headers", headers, "keys", keys,
                     "fields", fields, "activities", acts, "connected", wh->connected, "secret",
                     wh->secret, "rate_limit", rate_limit_json(wh->rate_limit), "max_in_flight",
                     wh->max_in_flight, "update_contact_from_response",
                     wh->update_contact_from_response);
}

json_t *hookd_webhook_to_json(const hookd_webhook *wh)
{
    char created[HOOKD_TIME_MAX], updated[HOOKD_TIME_MAX];
    json_t *j = settings_json(wh);
    if (!j)
        return NULL;
    /* A secret header's value is never answered again. */
    json_t *headers = json_object_get(j, "headers");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < json_array_size(headers); i++) {
        json_t *h = json_array_get(headers, i);
        if (json_is_true(json_object_get(h, "secret")))
            rc = json_object_set_new(h, "value", json_string(HOOKD_REDACTED));
    }
    hookd_time_format_ms(wh->created_at, created);
    hookd_time_format_ms(wh->updated_at, updated);
    if (rc != 0 ||
        json_object_set_new(j, "basic_auth",
                            wh->basic_user ? json_pack("{s:s,s:b}", "username", wh->basic_user,
                                                       "password_set", wh->basic_pass != NULL)
                                           : json_null()) != 0 ||
        json_object_set_new(j, "created_at", json_string(created)) != 0 ||
        json_object_set_new(j, "updated_at", json_string(updated)) != 0 ||
        disconnected_json(j, wh) != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

json_t *hookd_webhook_to_doc(const hookd_webhook *wh)
{
    json_t *j = settings_json(wh);
    if (!j)
        return NULL;
    if (json_object_set_new(j, "basic_auth",
                            wh->basic_user ? json_pack("{s:s,s:s?}", "username", wh->basic_user,
                                                       "password", wh->basic_pass)
                                           : json_null()) != 0 ||
        json_object_set_new(j, "created_at", json_integer(wh->created_at)) != 0 ||
        json_object_set_new(j, "updated_at", json_integer(wh->updated_at)) != 0 ||
        (wh->secret_prev[0] &&
         json_object_set_new(j, "secret_prev", json_string(wh->secret_prev)) != 0) ||
        json_object_set_new(j, "rotated_at", json_integer(wh->rotated_at)) != 0 ||
        disconnected_json(j, wh) != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

hookd_webhook *hookd_webhook_from_doc(const json_t *doc)
{
    const char *id, *name, *url, *method, *secret;
    int send_activity, connected;
    json_int_t created, updated;
    json_t *basic, *headers, *keys, *fields, *acts;
    if (json_unpack((json_t *)doc, "{s:s,s:s,s:s,s:s,s:b,s:o,s:o,s:o,s:o,s:o,s:b,s:s,s:I,s:I}",
                    "id", &id, "name", &name, "url", &url, "method", &method, "send_activity",
                    &send_activity, "basic_auth", &basic, "headers", &headers, "keys", &keys,
                    "fields", &fields, "activities", &acts, "connected", &connected, "secret",
                    &secret, "created_at", &created, "updated_at", &updated) != 0)
        return NULL;
    hookd_webhook *wh = calloc(1, sizeof *wh);
    if (!wh)
        return NULL;
    snprintf(wh->id, sizeof wh->id, "%s", id);
    snprintf(wh->secret, sizeof wh->secret, "%s", secret);
    /* Docs written before rotation kept a previous secret hold neither. */
    const char *prev = json_string_value(json_object_get(doc, "secret_prev"));
    snprintf(wh->secret_prev, sizeof wh->secret_prev, "%s", prev ? prev : "");
    wh->rotated_at = json_integer_value(json_object_get(doc, "rotated_at"));
    /* Docs written before the pace settings hold neither: no limit, 16. */
    const json_t *rl = json_object_get(doc, "rate_limit");
    const json_t *mif = json_object_get(doc, "max_in_flight");
    wh->rate_limit = json_is_number(rl) ? json_number_value(rl) : 0;
    wh->max_in_flight =
        json_is_integer(mif) ? (int)json_integer_value(mif) : HOOKD_MAX_IN_FLIGHT_DEFAULT;
    if ((rl && !json_is_null(rl) && (wh->rate_limit < HOOKD_RATE_LIMIT_MIN ||
                                     wh->rate_limit > HOOKD_RATE_LIMIT_MAX)) ||
        wh->max_in_flight < HOOKD_MAX_IN_FLIGHT_MIN || wh->max_in_flight > HOOKD_MAX_IN_FLIGHT_MAX)
        goto fail;
    /* Documents stored before the option read as off, its default. */
    wh->update_contact_from_response =
        json_is_true(json_object_get(doc, "update_contact_from_response"));
    wh->send_activity = send_activity;
    wh->connected = connected;
    /* Docs written before disconnected_by was kept hold neither. */
    const char *by = json_string_value(json_object_get(doc, "disconnected_by"));
    const char *why = json_string_value(json_object_get(doc, "disconnected_reason"));
    if (!connected) {
        wh->disconnected_by = by && strcmp(by, "hookd") == 0  ? HOOKD_DISC_HOOKD
                              : by && strcmp(by, "user") == 0 ? HOOKD_DISC_USER
                                                              : HOOKD_DISC_NONE;
        snprintf(wh->disconnected_reason, sizeof wh->disconnected_reason, "%s", why ? why : "");
    }
    wh->created_at = created;
    wh->updated_at = updated;
    if (method_parse(method, &wh->method) || set_str(&wh->name, name) ||
        set_str(&wh->url, url))
        goto fail;
    if (json_is_object(basic) &&
        (set_str(&wh->basic_user, json_string_value(json_object_get(basic, "username"))) ||
         set_str(&wh->basic_pass, json_string_value(json_object_get(basic, "password")))))
        goto fail;
    for (int i = 0; i < HOOKD_LOCKED_KEYS; i++) {
        const char *k = json_string_value(json_object_get(keys, hookd_locked_key_names[i]));
        if (set_str(&wh->keys[i], k ? k : hookd_locked_key_names[i]))
            goto fail;
    }
    size_t n = json_array_size(headers);
    if (!(wh->headers = calloc(n ? n : 1, sizeof *wh->headers)))
        goto fail;
    for (; wh->n_headers < n; wh->n_headers++) {
        json_t *e = json_array_get(headers, wh->n_headers);
        hookd_header *h = &wh->headers[wh->n_headers];
        h->secret = json_is_true(json_object_get(e, "secret"));
        if (set_str(&h->key, json_string_value(json_object_get(e, "key"))) ||
            set_str(&h->value, json_string_value(json_object_get(e, "value"))) || !h->key ||
            !h->value) {
            wh->n_headers++;
            goto fail;
        }
    }
    n = json_array_size(fields);
    if (!(wh->fields = calloc(n ? n : 1, sizeof *wh->fields)))
        goto fail;
    for (; wh->n_fields < n; wh->n_fields++) {
        json_t *e = json_array_get(fields, wh->n_fields);
        hookd_webhook_field *f = &wh->fields[wh->n_fields];
        if (set_str(&f->field_id, json_string_value(json_object_get(e, "field_id"))) ||
            set_str(&f->key, json_string_value(json_object_get(e, "key"))) || !f->field_id ||
            !f->key) {
            wh->n_fields++;
            goto fail;
        }
    }
    n = json_array_size(acts);
    if (!(wh->activities = calloc(n ? n : 1, sizeof *wh->activities)))
        goto fail;
    for (; wh->n_activities < n; wh->n_activities++) {
        const char *a = json_string_value(json_array_get(acts, wh->n_activities));
        if (!a || !(wh->activities[wh->n_activities] = strdup(a)))
            goto fail;
    }
    return wh;
fail:
    hookd_webhook_free(wh);
    return NULL;
}

/* ---- the sealed doc ------------------------------------------------------ */

/* The doc's secrets outside the headers, each a path of one or two object
 * keys. A new secret field of the doc is sealed at rest by adding its line
 * here (absent or null fields are left alone). */
static const char *const SEALED_FIELDS[][2] = {
    {"secret", NULL},
    {"secret_prev", NULL},
    {"basic_auth", "password"},
};

/* Seals (sealing) or opens the string obj[name] in place, bound to aad.
 * Returns 0, or -1 if it is not a string, does not open, or memory ran
 * out. */
static int doc_field_seal(json_t *obj, const char *name, const char *aad, const hookd_sealer *sl,
                          bool sealing)
{
    json_t *v = json_object_get(obj, name);
    char *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    if (sealing)
        out = hookd_seal(sl, json_string_value(v), aad);
    else if (hookd_unseal(sl, json_string_value(v), aad, &out) != 0)
        return -1;
    int rc = out ? json_object_set_new(obj, name, json_string(out)) : -1;
    free(out);
    return rc;
}

/* Seals or opens every secret of doc in place; the associated data is
 * "webhook/<id>/<field>", a header's field "headers/<lower-case name>". */
static int doc_secrets(json_t *doc, const hookd_sealer *sl, bool sealing)
{
    const char *id = json_string_value(json_object_get(doc, "id"));
    char aad[HOOKD_ID_MAX + HOOKD_HEADER_KEY_MAX + 32];
    if (!id || strlen(id) >= HOOKD_ID_MAX)
        return -1;
    for (size_t i = 0; i < sizeof SEALED_FIELDS / sizeof SEALED_FIELDS[0]; i++) {
        const char *top = SEALED_FIELDS[i][0], *sub = SEALED_FIELDS[i][1];
        json_t *obj = sub ? json_object_get(doc, top) : doc;
        if (!json_is_object(obj))
            continue;
        snprintf(aad, sizeof aad, "webhook/%s/%s%s%s", id, top, sub ? "." : "", sub ? sub : "");
        if (doc_field_seal(obj, sub ? sub : top, aad, sl, sealing) != 0)
            return -1;
    }
    json_t *headers = json_object_get(doc, "headers");
    for (size_t i = 0; i < json_array_size(headers); i++) {
        json_t *h = json_array_get(headers, i);
        const char *key = json_string_value(json_object_get(h, "key"));
        if (!json_is_true(json_object_get(h, "secret")))
            continue;
        if (!key || strlen(key) > HOOKD_HEADER_KEY_MAX)
            return -1;
        int n = snprintf(aad, sizeof aad, "webhook/%s/headers/", id);
        for (const char *k = key; *k; k++)
            aad[n++] = (char)tolower((unsigned char)*k);
        aad[n] = '\0';
        if (doc_field_seal(h, "value", aad, sl, sealing) != 0)
            return -1;
    }
    return 0;
}

json_t *hookd_webhook_to_sealed_doc(const hookd_webhook *wh, const hookd_sealer *sl)
{
    json_t *doc = hookd_webhook_to_doc(wh);
    if (doc && doc_secrets(doc, sl, true) != 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

hookd_webhook *hookd_webhook_from_sealed_doc(const json_t *doc, const hookd_sealer *sl)
{
    json_t *clear = json_deep_copy(doc);
    hookd_webhook *wh = NULL;
    if (clear && doc_secrets(clear, sl, false) == 0)
        wh = hookd_webhook_from_doc(clear);
    json_decref(clear);
    return wh;
}

hookd_webhook *hookd_webhook_clone(const hookd_webhook *wh)
{
    json_t *doc = hookd_webhook_to_doc(wh);
    hookd_webhook *c = doc ? hookd_webhook_from_doc(doc) : NULL;
    json_decref(doc);
    if (c) {
        c->key = wh->key;
        c->version = wh->version;
    }
    return c;
}

/* "Basic " + base64("user:password"), new string or NULL. */
static char *basic_auth_value(const hookd_webhook *wh)
{
    size_t ulen = strlen(wh->basic_user), plen = wh->basic_pass ? strlen(wh->basic_pass) : 0;
    char *plain = malloc(ulen + plen + 2);
    char *value = malloc(6 + 4 * ((ulen + plen + 1 + 2) / 3) + 1);
    if (!plain || !value) {
        free(plain);
        free(value);
        return NULL;
    }
    snprintf(plain, ulen + plen + 2, "%s:%s", wh->basic_user, wh->basic_pass ? wh->basic_pass : "");
    memcpy(value, "Basic ", 6);
    hookd_base64_encode(plain, ulen + plen + 1, value + 6);
    free(plain);
    return value;
}

int hookd_webhook_tail_headers(const hookd_webhook *wh, hookd_header_fn fn, void *ctx)
{
    int rc;
    if (wh->basic_user) {
        char *auth = basic_auth_value(wh);
        if (!auth)
            return -1;
        rc = fn(ctx, "Authorization", auth, true);
        free(auth);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < wh->n_headers; i++) {
        /* A custom Authorization header (allowed without basic auth) is a
         * credential too. */
        bool redact =
            wh->headers[i].secret || strcasecmp(wh->headers[i].key, "Authorization") == 0;
        if ((rc = fn(ctx, wh->headers[i].key, wh->headers[i].value, redact)) != 0)
            return rc;
    }
    return 0;
}

static int add_shown(void *ctx, const char *name, const char *value, bool redacted)
{
    return json_object_set_new(ctx, name, json_string(redacted ? HOOKD_REDACTED : value));
}

char *hookd_webhook_tail_shown(const hookd_webhook *wh)
{
    json_t *shown = json_object();
    char *text = NULL;
    if (shown && hookd_webhook_tail_headers(wh, add_shown, shown) == 0)
        text = hookd_json_dumps(shown);
    json_decref(shown);
    return text;
}

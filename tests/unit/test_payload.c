/* Unit tests for src/model/payload.c: the golden cases of tests/golden/payload
 * (one JSON file per case: the inputs of a delivery, the exact body and, for
 * GET/DELETE, the exact URL), then edge cases of the query form and the
 * promise that inputs are never changed. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>

#include "model/fields.h"
#include "model/payload.h"
#include "util/json.h"
#include "unit.h"

#define GOLDEN_DIR "tests/golden/payload"
#define GOLDEN_MAX 256

/* Built-in fields, and any custom person (cm) or account (oc) id, as the API's
 * lookup would see them once those fields exist. */
static int lookup(void *ctx, const char *id, char **default_key)
{
    (void)ctx;
    const hookd_field_def *d = hookd_fields_builtin_find(id);
    if (d) {
        *default_key = strdup(d->default_key);
        return *default_key ? 1 : -1;
    }
    const char *ns = strchr(id, ':');
    if (ns && (strncmp(ns, ":cm:", 4) == 0 || strncmp(ns, ":oc:", 4) == 0)) {
        *default_key = hookd_field_default_key(id);
        return *default_key ? 1 : -1;
    }
    return 0;
}

/* The webhook of a case: its settings in the API's create shape, applied to a
 * new webhook, and its "id" pinned so the expected payload can name it. */
static hookd_webhook *case_webhook(const char *name, const json_t *settings)
{
    if (!json_is_object(settings)) {
        unit_fail(__FILE__, __LINE__, "%s: input.webhook must be an object", name);
        return NULL;
    }
    const char *id = json_string_value(json_object_get(settings, "id"));
    if (!id || strlen(id) >= HOOKD_ID_MAX) {
        unit_fail(__FILE__, __LINE__, "%s: input.webhook.id must be a string under %d bytes", name,
                  HOOKD_ID_MAX);
        return NULL;
    }
    /* "id" is not a setting the API takes, so apply a copy without it. */
    json_t *body = json_deep_copy(settings);
    json_object_del(body, "id");
    hookd_webhook *wh = hookd_webhook_new(0);
    hookd_error err = {0};
    int rc = wh ? hookd_webhook_apply(wh, body, true, lookup, NULL, &err) : -99;
    json_decref(body);
    if (rc != 0) {
        unit_fail(__FILE__, __LINE__, "%s: webhook refused (%d): %s: %s", name, rc, err.field,
                  err.message);
        hookd_webhook_free(wh);
        return NULL;
    }
    snprintf(wh->id, sizeof wh->id, "%s", id);
    return wh;
}

static int parse_kind(const char *s, hookd_delivery_kind *kind)
{
    if (s && strcmp(s, "activity") == 0)
        *kind = HOOKD_KIND_ACTIVITY;
    else if (s && strcmp(s, "action") == 0)
        *kind = HOOKD_KIND_ACTION;
    else if (s && strcmp(s, "test") == 0)
        *kind = HOOKD_KIND_TEST;
    else
        return -1;
    return 0;
}

/* An optional object input: absent or null means NULL. Anything else is a
 * broken case file, reported so a typo cannot quietly weaken a case. */
static const json_t *opt_object(const char *name, const json_t *input, const char *key)
{
    const json_t *v = json_object_get(input, key);
    if (v && !json_is_object(v) && !json_is_null(v))
        unit_fail(__FILE__, __LINE__, "%s: input.%s must be an object or null", name, key);
    return json_is_object(v) ? v : NULL;
}

/* A misspelt input key would silently test the wrong thing: refuse it. */
static bool input_keys_known(const char *name, const json_t *input)
{
    static const char *const KNOWN[] = {
        "webhook",        "kind",     "delivery_id",   "time_ns", "contact_id", "person_fields",
        "account_fields", "activity", "transactional", "action",  NULL};
    const char *k;
    json_t *v;
    bool ok = true;
    json_object_foreach((json_t *)input, k, v)
    {
        bool found = false;
        for (const char *const *kn = KNOWN; *kn; kn++)
            found = found || strcmp(*kn, k) == 0;
        if (!found) {
            unit_fail(__FILE__, __LINE__, "%s: unknown input key '%s'", name, k);
            ok = false;
        }
    }
    return ok;
}

/* Compares a built payload with the expected one: equal values, and the same
 * key order (the compact dumps match byte for byte). */
static void check_body(const char *name, const json_t *got, const json_t *want)
{
    char *g = json_dumps(got, JSON_COMPACT);
    char *w = json_dumps(want, JSON_COMPACT);
    if (!json_equal(got, want))
        unit_fail(__FILE__, __LINE__, "%s: body differs:\n  got  %s\n  want %s", name, g ? g : "?",
                  w ? w : "?");
    else if (!g || !w || strcmp(g, w) != 0)
        unit_fail(__FILE__, __LINE__, "%s: key order differs:\n  got  %s\n  want %s", name,
                  g ? g : "?", w ? w : "?");
    free(g);
    free(w);
}

/* Checks the wire form: the body as sent for POST/PUT/PATCH (parsed back and
 * also compared as bytes), the URL for GET/DELETE. */
static void check_request(const char *name, const hookd_webhook *wh, const json_t *payload,
                          const json_t *want_body, const json_t *want_url)
{
    char *url = NULL, *body = NULL;
    if (hookd_payload_request(payload, wh->method, wh->url, &url, &body) != 0) {
        unit_fail(__FILE__, __LINE__, "%s: hookd_payload_request failed", name);
        return;
    }
    bool in_query = wh->method == HOOKD_METHOD_GET || wh->method == HOOKD_METHOD_DELETE;
    if (in_query) {
        if (!json_is_string(want_url))
            unit_fail(__FILE__, __LINE__, "%s: a GET/DELETE case needs expected_url", name);
        else if (strcmp(url, json_string_value(want_url)) != 0)
            unit_fail(__FILE__, __LINE__, "%s: url differs:\n  got  %s\n  want %s", name, url,
                      json_string_value(want_url));
        if (strcmp(body, "") != 0)
            unit_fail(__FILE__, __LINE__, "%s: GET/DELETE body must be empty, got %s", name, body);
    } else {
        const char *expect_url = json_is_string(want_url) ? json_string_value(want_url) : wh->url;
        if (strcmp(url, expect_url) != 0)
            unit_fail(__FILE__, __LINE__, "%s: url differs:\n  got  %s\n  want %s", name, url,
                      expect_url);
        json_error_t jerr;
        json_t *sent = json_loads(body, JSON_REJECT_DUPLICATES, &jerr);
        char *w = json_dumps(want_body, JSON_COMPACT);
        if (!sent)
            unit_fail(__FILE__, __LINE__, "%s: body is not JSON (%s): %s", name, jerr.text, body);
        else
            check_body(name, sent, want_body);
        if (!w || strcmp(body, w) != 0)
            unit_fail(__FILE__, __LINE__, "%s: body bytes differ:\n  got  %s\n  want %s", name,
                      body, w ? w : "?");
        free(w);
        json_decref(sent);
    }
    free(url);
    free(body);
}

/* The spliced body (hookd_payload_body) must be the very bytes of the built
 * one: ingest uses the first, everything else is checked on the second. */
static void check_spliced(const char *name, const hookd_payload_input *in, const json_t *payload)
{
    char *act = in->activity ? hookd_payload_activity_text(in->activity, in->transactional) : NULL;
    char *fast = hookd_payload_body(in, act);
    char *slow = hookd_json_dumps(payload);
    if (!fast || !slow || strcmp(fast, slow) != 0)
        unit_fail(__FILE__, __LINE__, "%s: spliced body differs:\n  got  %s\n  want %s", name,
                  fast ? fast : "(null)", slow ? slow : "(null)");
    free(act);
    free(fast);
    free(slow);
}

static void run_case(const char *file, const json_t *c)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    if (!name)
        name = file;
    const json_t *input = json_object_get(c, "input");
    const json_t *want_body = json_object_get(c, "expected_body");
    if (!json_is_object(input) || !json_is_object(want_body)) {
        unit_fail(__FILE__, __LINE__, "%s: needs an input and an expected_body object", name);
        return;
    }
    if (!input_keys_known(name, input))
        return;
    hookd_payload_input in = {0};
    const json_t *t = json_object_get(input, "time_ns");
    if (parse_kind(json_string_value(json_object_get(input, "kind")), &in.kind) != 0 ||
        !json_is_integer(t)) {
        unit_fail(__FILE__, __LINE__, "%s: input.kind or input.time_ns is missing or bad", name);
        return;
    }
    hookd_webhook *wh = case_webhook(name, json_object_get(input, "webhook"));
    if (!wh)
        return;
    json_t *before = json_deep_copy(input);
    in.webhook = wh;
    in.delivery_id = json_string_value(json_object_get(input, "delivery_id"));
    in.time_ns = json_integer_value(t);
    in.contact_id = json_string_value(json_object_get(input, "contact_id"));
    in.person_fields = opt_object(name, input, "person_fields");
    in.account_fields = opt_object(name, input, "account_fields");
    in.activity = opt_object(name, input, "activity");
    in.transactional = json_is_true(json_object_get(input, "transactional"));
    in.action = opt_object(name, input, "action");

    json_t *payload = hookd_payload_build(&in);
    if (!payload) {
        unit_fail(__FILE__, __LINE__, "%s: hookd_payload_build returned NULL", name);
    } else {
        check_body(name, payload, want_body);
        check_request(name, wh, payload, want_body, json_object_get(c, "expected_url"));
        check_spliced(name, &in, payload);
    }
    if (!json_equal(input, before))
        unit_fail(__FILE__, __LINE__, "%s: the input was modified", name);
    json_decref(payload);
    json_decref(before);
    hookd_webhook_free(wh);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The case files, sorted so failures come out in a stable order. Returns how
 * many were found (names are new; caller frees), or -1 if the folder cannot
 * be read. */
static int list_cases(char **names)
{
    DIR *d = opendir(GOLDEN_DIR);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < GOLDEN_MAX) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0 && e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_names);
    return n;
}

TEST(payload_golden)
{
    char *names[GOLDEN_MAX];
    int n = list_cases(names);
    if (n < 0) {
        unit_fail(__FILE__, __LINE__, "cannot open %s (run from the repository root)", GOLDEN_DIR);
        return;
    }
    if (n == 0)
        unit_fail(__FILE__, __LINE__, "no golden cases in %s", GOLDEN_DIR);
    for (int i = 0; i < n; i++) {
        char path[512];
        json_error_t jerr;
        snprintf(path, sizeof path, "%s/%s", GOLDEN_DIR, names[i]);
        json_t *c = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (!c)
            unit_fail(__FILE__, __LINE__, "%s: bad JSON at line %d: %s", names[i], jerr.line,
                      jerr.text);
        else
            run_case(names[i], c);
        json_decref(c);
        free(names[i]);
    }
}

/* ---- the query form ----------------------------------------------------- */

/* The query of a JSON text, compared with want. */
static void check_query(int line, const char *text, const char *want)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!v) {
        unit_fail(__FILE__, line, "bad test JSON: %s", text);
        return;
    }
    char *q = hookd_payload_query(v);
    if (!q)
        unit_fail(__FILE__, line, "query of %s is NULL", text);
    else if (strcmp(q, want) != 0)
        unit_fail(__FILE__, line, "query of %s:\n  got  %s\n  want %s", text, q, want);
    free(q);
    json_decref(v);
}

#define QUERY(text, want) check_query(__LINE__, text, want)

TEST(payload_query_edges)
{
    QUERY("{}", "");
    QUERY("{\"a\":{},\"b\":[],\"c\":null,\"d\":[null,[]]}", "");
    QUERY("{\"a\":{\"b\":{}},\"c\":1}", "c=1");
    QUERY("{\"a\":[1,[2,3]]}", "a=1&a=2&a=3");
    QUERY("{\"a\":[{\"b\":1,\"c\":[\"x\"]},{\"b\":2}]}", "a.b=1&a.c=x&a.b=2");
    QUERY("{\"i\":-9223372036854775807,\"j\":0,\"r\":0.5,\"t\":true,\"f\":false}",
          "i=-9223372036854775807&j=0&r=0.5&t=true&f=false");
    QUERY("{\"r\":0.1}", "r=0.10000000000000001");
    QUERY("{\"s\":\"\"}", "s=");
    QUERY("{\"\":\"e\"}", "=e");
    QUERY("{\"-._~AZaz09\":\"-._~AZaz09\"}", "-._~AZaz09=-._~AZaz09");
    QUERY("{\"k y\":\"a b&c=d+e/f?g#h%i\"}", "k%20y=a%20b%26c%3Dd%2Be%2Ff%3Fg%23h%25i");
    QUERY("{\"str::s\":\"\\u00e9\\u20ac\\ud83d\\ude00\"}",
          "str%3A%3As=%C3%A9%E2%82%AC%F0%9F%98%80");
    QUERY("{\"n\":\"a\\u0000b\\n\"}", "n=a%00b%0A");
    QUERY("{\"a\":{\"b.c\":{\"d\":\"x\"}}}", "a.b.c.d=x");
    QUERY("{\"x\":{\"y\":1},\"z\":2}", "x.y=1&z=2");
}

TEST(payload_query_not_object)
{
    /* Only an object names its values; anything else has no parameters. */
    QUERY("[1,2]", "");
    QUERY("\"s\"", "");
    QUERY("null", "");
}

/* ---- building: details the golden cases cannot show ------------------- */

static hookd_webhook *plain_webhook(const char *settings)
{
    json_t *body = json_loads(settings, 0, NULL);
    hookd_webhook *wh = hookd_webhook_new(0);
    hookd_error err = {0};
    if (!body || !wh || hookd_webhook_apply(wh, body, true, lookup, NULL, &err) != 0) {
        unit_fail(__FILE__, __LINE__, "webhook refused: %s: %s", err.field, err.message);
        hookd_webhook_free(wh);
        wh = NULL;
    }
    json_decref(body);
    return wh;
}

TEST(payload_inputs_untouched)
{
    hookd_webhook *wh = plain_webhook("{\"name\":\"n\",\"url\":\"https://x.io/"
                                      "h\",\"fields\":[{\"field_id\":\"phn::phone\"},"
                                      "{\"field_id\":\"str:o:name\"}]}");
    if (!wh)
        return;
    json_t *person = json_loads(
        "{\"str::email\":\"a@x.io\",\"phn::phone\":{\"c\":\"61\",\"n\":\"4\"}}", 0, NULL);
    json_t *account = json_loads("{\"str:o:name\":\"Acme\"}", 0, NULL);
    /* No attr at all, and an Email activity of a transactional campaign: the
     * builder must add attr to its copy, not to this object. */
    json_t *activity = json_loads("{\"id\":\"a1\",\"field_id\":\"act::s\",\"created\":"
                                  "\"2023-01-16T23:40:54Z\"}",
                                  0, NULL);
    json_t *action = json_loads("{\"campaign_id\":\"c1\",\"action_name\":\"Send\"}", 0, NULL);
    json_t *copies[4] = {json_deep_copy(person), json_deep_copy(account), json_deep_copy(activity),
                         json_deep_copy(action)};
    hookd_payload_input in = {
        .webhook = wh,
        .kind = HOOKD_KIND_ACTION,
        .delivery_id = "d1",
        .time_ns = 0,
        .contact_id = "p1",
        .person_fields = person,
        .account_fields = account,
        .activity = activity,
        .transactional = true,
        .action = action,
    };
    json_t *p = hookd_payload_build(&in);
    CHECK(p != NULL);
    CHECK(json_equal(person, copies[0]));
    CHECK(json_equal(account, copies[1]));
    CHECK(json_equal(activity, copies[2]));
    CHECK(json_equal(action, copies[3]));
    CHECK(json_is_true(
        json_object_get(json_object_get(json_object_get(p, "activity"), "attr"), "bol::t")));
    /* The payload owns copies: changing it leaves the inputs alone. */
    json_object_set_new(json_object_get(json_object_get(p, "contact"), "phone_number"), "c",
                        json_string("1"));
    CHECK(json_equal(person, copies[0]));
    CHECK_STR(json_string_value(json_object_get(p, "time")), "1970-01-01T00:00:00.000000000Z");
    json_decref(p);
    for (int i = 0; i < 4; i++)
        json_decref(copies[i]);
    json_decref(person);
    json_decref(account);
    json_decref(activity);
    json_decref(action);
    hookd_webhook_free(wh);
}

TEST(payload_bol_t_only_from_hookd)
{
    /* A bol::t that slipped into the input is never passed on: hookd alone
     * decides it (docs/api.md#activities, docs/payload.md), and it never travels as false. */
    hookd_webhook *wh = plain_webhook("{\"name\":\"n\",\"url\":\"https://x.io/h\"}");
    if (!wh)
        return;
    json_t *act = json_loads("{\"id\":\"a\",\"field_id\":\"act::sph\",\"created\":\"x\","
                             "\"attr\":{\"bol::t\":false,\"str::s\":\"s\"}}",
                             0, NULL);
    hookd_payload_input in = {.webhook = wh,
                              .kind = HOOKD_KIND_ACTIVITY,
                              .delivery_id = "d",
                              .contact_id = "c",
                              .activity = act,
                              .transactional = true};
    json_t *p = hookd_payload_build(&in);
    json_t *want = json_loads("{\"str::s\":\"s\"}", 0, NULL);
    CHECK(p && json_equal(json_object_get(json_object_get(p, "activity"), "attr"), want));
    json_decref(p);
    json_decref(want);
    json_decref(act);
    hookd_webhook_free(wh);
}

TEST(payload_request_urls)
{
    json_t *p = json_loads("{\"a\":\"b c\"}", 0, NULL);
    json_t *empty = json_object();
    static const struct {
        const char *url, *want;
    } CASES[] = {
        {"https://x.io/h", "https://x.io/h?a=b%20c"},
        {"https://x.io/h?", "https://x.io/h?a=b%20c"},
        {"https://x.io/h?k=1", "https://x.io/h?k=1&a=b%20c"},
        {"https://x.io/h?k=1&", "https://x.io/h?k=1&a=b%20c"},
        {"https://x.io/h#f", "https://x.io/h?a=b%20c"},
        {"https://x.io/h?k=1#f?g", "https://x.io/h?k=1&a=b%20c"},
        {"https://x.io/h?#", "https://x.io/h?a=b%20c"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char *url = NULL, *body = NULL;
        CHECK_INT(hookd_payload_request(p, HOOKD_METHOD_DELETE, CASES[i].url, &url, &body), 0);
        CHECK_STR(url, CASES[i].want);
        CHECK_STR(body, "");
        free(url);
        free(body);
    }
    /* Nothing to add: the URL stays as it is. */
    char *url = NULL, *body = NULL;
    CHECK_INT(hookd_payload_request(empty, HOOKD_METHOD_GET, "https://x.io/h?k=1", &url, &body), 0);
    CHECK_STR(url, "https://x.io/h?k=1");
    CHECK_STR(body, "");
    free(url);
    free(body);
    /* A body method keeps the URL and sends UTF-8 as it is. */
    json_t *u = json_loads("{\"s\":\"\\u00e9/\"}", 0, NULL);
    CHECK_INT(hookd_payload_request(u, HOOKD_METHOD_PUT, "https://x.io/h?k=1#f", &url, &body), 0);
    CHECK_STR(url, "https://x.io/h?k=1#f");
    CHECK_STR(body, "{\"s\":\"\xc3\xa9/\"}");
    free(url);
    free(body);
    json_decref(u);
    json_decref(p);
    json_decref(empty);
}

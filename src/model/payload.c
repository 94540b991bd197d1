/*
 * payload.c — the payload of docs/payload.md and its two wire forms (see payload.h).
 *
 * Everything here is a pure function of its arguments: no globals, no clock,
 * no store. Inputs are only read; every value placed in a payload is a deep
 * copy, so a caller may change or free its inputs while the payload lives.
 */
#include "model/payload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/catalog.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/timeutil.h"

/* ---- building ---------------------------------------------------------- */

/* Sets key on obj to a new string copy of s. A NULL s leaves the key out, so a
 * missing id never turns into a JSON null. Returns 0 or -1 (out of memory). */
static int set_string(json_t *obj, const char *key, const char *s)
{
    if (!s)
        return 0;
    return json_object_set_new(obj, key, json_string(s));
}

/* Sets key on obj to a deep copy of value, unless value is missing or null:
 * docs/payload.md leaves out what the person (or action) has no value for. */
static int set_copy(json_t *obj, const char *key, const json_t *value)
{
    if (!value || json_is_null(value))
        return 0;
    return json_object_set_new(obj, key, json_deep_copy(value));
}

/* True for an account field: built-in account fields have the namespace "o",
 * custom ones "oc" (docs/payload.md#field-ids). Person fields have "" or "cm". */
static bool is_account_field(const char *field_id)
{
    const char *ns = strchr(field_id, ':');
    if (!ns)
        return false;
    ns++;
    const char *end = strchr(ns, ':');
    if (!end)
        return false;
    size_t n = (size_t)(end - ns);
    return (n == 1 && ns[0] == 'o') || (n == 2 && ns[0] == 'o' && ns[1] == 'c');
}

/* Whether this delivery carries its activity: activity and action deliveries
 * only when the webhook asks for it, the test payload always (docs/api.md#delivery). */
static bool wants_activity(const hookd_payload_input *in)
{
    if (!in->activity)
        return false;
    if (in->kind == HOOKD_KIND_TEST)
        return true;
    return in->webhook->send_activity;
}

/* A copy of the activity with "bol::t" set as docs/payload.md says: true for an
 * Email or SMS activity of a transactional campaign, absent otherwise. Any
 * "bol::t" already in the input is dropped first, because hookd alone decides
 * it and it must never travel as false. NULL if memory ran out. */
static json_t *build_activity(const hookd_payload_input *in)
{
    json_t *act = json_deep_copy(in->activity);
    if (!act)
        return NULL;
    if (!json_is_object(act))
        return act;
    json_t *attr = json_object_get(act, "attr");
    if (json_is_object(attr))
        json_object_del(attr, "bol::t");
    const json_t *fid = json_object_get(act, "field_id");
    if (!in->transactional || !json_is_string(fid) ||
        !hookd_catalog_is_email_or_sms(json_string_value(fid)))
        return act;
    if (!json_is_object(attr)) {
        /* An activity without attributes still has to say it is
         * transactional, so it gets an attr of its own. */
        attr = json_object();
        if (json_object_set_new(act, "attr", attr) != 0)
            goto fail;
    }
    if (json_object_set_new(attr, "bol::t", json_true()) != 0)
        goto fail;
    return act;
fail:
    json_decref(act);
    return NULL;
}

/* The "contact" object: contact_id, email, then the webhook's fields in their
 * order, each under its key. NULL if memory ran out. */
static json_t *build_contact(const hookd_payload_input *in)
{
    const hookd_webhook *wh = in->webhook;
    json_t *c = json_object();
    if (!c)
        return NULL;
    if (set_string(c, wh->keys[HOOKD_KEY_CONTACT_ID], in->contact_id) != 0)
        goto fail;
    if (in->person_fields &&
        set_copy(c, wh->keys[HOOKD_KEY_EMAIL], json_object_get(in->person_fields, "str::email")))
        goto fail;
    for (size_t i = 0; i < wh->n_fields; i++) {
        const hookd_webhook_field *f = &wh->fields[i];
        /* No account (NULL) means no account field has a value. */
        const json_t *src = is_account_field(f->field_id) ? in->account_fields : in->person_fields;
        if (src && set_copy(c, f->key, json_object_get(src, f->field_id)) != 0)
            goto fail;
    }
    return c;
fail:
    json_decref(c);
    return NULL;
}

/* The four action values, top level, under their keys (action deliveries). */
static int add_action(json_t *p, const hookd_payload_input *in)
{
    static const struct {
        const char *name;
        enum hookd_locked_key key;
    } ACTION_VALUES[] = {
        {"campaign_id", HOOKD_KEY_CAMPAIGN_ID},
        {"campaign_name", HOOKD_KEY_CAMPAIGN_NAME},
        {"action_id", HOOKD_KEY_ACTION_ID},
        {"action_name", HOOKD_KEY_ACTION_NAME},
    };
    if (!in->action)
        return 0;
    for (size_t i = 0; i < sizeof ACTION_VALUES / sizeof ACTION_VALUES[0]; i++) {
        const json_t *v = json_object_get(in->action, ACTION_VALUES[i].name);
        if (set_copy(p, in->webhook->keys[ACTION_VALUES[i].key], v) != 0)
            return -1;
    }
    return 0;
}

json_t *hookd_payload_build(const hookd_payload_input *in)
{
    char when[HOOKD_TIME_MAX];
    json_t *p = json_object();
    if (!p)
        return NULL;
    /* Keys are added in the order of docs/payload.md; jansson keeps insertion order,
     * which is the order of the body and of the query parameters. */
    if (wants_activity(in) && json_object_set_new(p, "activity", build_activity(in)) != 0)
        goto fail;
    if (json_object_set_new(p, "contact", build_contact(in)) != 0)
        goto fail;
    if (in->kind == HOOKD_KIND_ACTION && add_action(p, in) != 0)
        goto fail;
    if (set_string(p, "id", in->delivery_id) != 0)
        goto fail;
    hookd_time_format_ns(in->time_ns, when);
    if (set_string(p, "time", when) != 0 || set_string(p, "webhook_id", in->webhook->id) != 0)
        goto fail;
    if (in->kind == HOOKD_KIND_TEST && json_object_set_new(p, "test", json_true()) != 0)
        goto fail;
    return p;
fail:
    json_decref(p);
    return NULL;
}

/* Writes obj's attr member as build_activity leaves it: without any
 * bol::t, then "bol::t":true when the activity gets it. */
static void put_attr(hookd_buf *b, const json_t *attr, bool gets_t)
{
    const char *k;
    size_t klen;
    json_t *v;
    bool first = true;
    hookd_buf_append(b, "{", 1);
    json_object_keylen_foreach((json_t *)attr, k, klen, v)
    {
        if (klen == 6 && memcmp(k, "bol::t", 6) == 0)
            continue;
        if (!first)
            hookd_buf_append(b, ",", 1);
        first = false;
        hookd_json_append_string(b, k, klen);
        hookd_buf_append(b, ":", 1);
        hookd_json_append(b, v);
    }
    if (gets_t)
        hookd_buf_puts(b, first ? "\"bol::t\":true" : ",\"bol::t\":true");
    hookd_buf_append(b, "}", 1);
}

/* The text of build_activity(activity) written straight from activity, so
 * the 1 KB or so of a typical activity is not copied first. */
char *hookd_payload_activity_text(const json_t *activity, bool transactional)
{
    if (!json_is_object(activity))
        return hookd_json_dumps(activity);
    const json_t *fid = json_object_get(activity, "field_id");
    bool gets_t = transactional && json_is_string(fid) &&
                  hookd_catalog_is_email_or_sms(json_string_value(fid));
    hookd_buf b = {0};
    const char *k;
    size_t klen;
    json_t *v;
    bool first = true, had_attr = false;
    hookd_buf_append(&b, "{", 1);
    json_object_keylen_foreach((json_t *)activity, k, klen, v)
    {
        if (!first)
            hookd_buf_append(&b, ",", 1);
        first = false;
        hookd_json_append_string(&b, k, klen);
        hookd_buf_append(&b, ":", 1);
        if (klen == 4 && memcmp(k, "attr", 4) == 0 && (json_is_object(v) || gets_t)) {
            /* A non-object attr is replaced where it stands, as
             * build_activity does. */
            had_attr = true;
            if (json_is_object(v))
                put_attr(&b, v, gets_t);
            else
                hookd_buf_puts(&b, "{\"bol::t\":true}");
        } else {
            hookd_json_append(&b, v);
        }
    }
    /* An activity without attributes still says it is transactional. */
    if (gets_t && !had_attr)
        hookd_buf_puts(&b, first ? "\"attr\":{\"bol::t\":true}" : ",\"attr\":{\"bol::t\":true}");
    hookd_buf_append(&b, "}", 1);
    return hookd_buf_take(&b);
}

/* Appends ,"key": and marks that a member was written. */
static void put_key(hookd_buf *b, const char *key, bool *first)
{
    if (!*first)
        hookd_buf_append(b, ",", 1);
    *first = false;
    hookd_json_append_string(b, key, strlen(key));
    hookd_buf_append(b, ":", 1);
}

static void put_str_member(hookd_buf *b, const char *key, const char *value, bool *first)
{
    put_key(b, key, first);
    hookd_json_append_string(b, value, strlen(value));
}

/* The same members, in the same order, as hookd_payload_build makes: keep
 * the two in step (a unit test and the payload fuzzer compare them). */
char *hookd_payload_body(const hookd_payload_input *in, const char *activity_text)
{
    hookd_buf b = {0};
    bool first = true;
    char when[HOOKD_TIME_MAX];
    /* The contact, ids and times rarely take more than 1 KiB beside the
     * activity: one allocation for the whole body. */
    hookd_buf_reserve(&b, (activity_text ? strlen(activity_text) : 0) + 1024);
    hookd_buf_append(&b, "{", 1);
    if (activity_text && (in->kind == HOOKD_KIND_TEST || in->webhook->send_activity)) {
        put_key(&b, "activity", &first);
        hookd_buf_puts(&b, activity_text);
    }
    json_t *contact = build_contact(in);
    if (!contact) {
        hookd_buf_free(&b);
        return NULL;
    }
    put_key(&b, "contact", &first);
    hookd_json_append(&b, contact);
    json_decref(contact);
    if (in->kind == HOOKD_KIND_ACTION && in->action) {
        json_t *p = json_object();
        if (!p || add_action(p, in) != 0)
            b.failed = true;
        const char *k;
        json_t *v;
        json_object_foreach(p, k, v)
        {
            put_key(&b, k, &first);
            hookd_json_append(&b, v);
        }
        json_decref(p);
    }
    if (in->delivery_id)
        put_str_member(&b, "id", in->delivery_id, &first);
    hookd_time_format_ns(in->time_ns, when);
    put_str_member(&b, "time", when, &first);
    put_str_member(&b, "webhook_id", in->webhook->id, &first);
    if (in->kind == HOOKD_KIND_TEST) {
        put_key(&b, "test", &first);
        hookd_buf_append(&b, "true", 4);
    }
    hookd_buf_append(&b, "}", 1);
    /* Bodies wait in memory and in the engine's queue: give back the slack. */
    char *body = hookd_buf_take(&b);
    char *fit = body ? realloc(body, strlen(body) + 1) : NULL;
    return fit ? fit : body;
}

/* RFC 3986 §2.3: only unreserved characters go as they are. */
static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* Appends n bytes of s percent-encoded, with upper-case hex (RFC 3986 §2.1
 * asks producers for upper case). Runs of unreserved bytes are copied in one
 * append. */
static void query_encode(hookd_buf *b, const char *s, size_t n)
{
    static const char HEX[] = "0123456789ABCDEF";
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c))
            continue;
        hookd_buf_append(b, s + run, i - run);
        char esc[3] = {'%', HEX[c >> 4], HEX[c & 0xf]};
        hookd_buf_append(b, esc, sizeof esc);
        run = i + 1;
    }
    hookd_buf_append(b, s + run, n - run);
}

/* ---- the query form ----------------------------------------------------- */

/* Appends one "key=value" pair; key is already encoded. */
static void add_pair(hookd_buf *out, const hookd_buf *key, const char *value, size_t n)
{
    if (out->len > 0)
        hookd_buf_append(out, "&", 1);
    hookd_buf_append(out, key->data ? key->data : "", key->len);
    hookd_buf_append(out, "=", 1);
    query_encode(out, value, n);
}

/* Appends the pairs of v, whose encoded key path is in key. Depth-first in
 * object order; arrays repeat their key for each item (an object inside an
 * array flattens under that same key); null adds nothing. key is restored to
 * its length on entry before returning. */
static void flatten(hookd_buf *out, hookd_buf *key, const json_t *v)
{
    char num[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        size_t klen;
        json_t *child;
        size_t base = key->len;
        json_object_keylen_foreach((json_t *)v, k, klen, child)
        {
            if (base > 0)
                hookd_buf_append(key, ".", 1);
            query_encode(key, k, klen);
            flatten(out, key, child);
            key->len = base;
            if (key->data)
                key->data[base] = '\0';
        }
        break;
    }
    case JSON_ARRAY:
        for (size_t i = 0; i < json_array_size(v); i++)
            flatten(out, key, json_array_get(v, i));
        break;
    case JSON_STRING:
        add_pair(out, key, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        add_pair(out, key, num, strlen(num));
        break;
    case JSON_REAL:
        /* 17 significant digits round-trip any double. */
        snprintf(num, sizeof num, "%.17g", json_real_value(v));
        add_pair(out, key, num, strlen(num));
        break;
    case JSON_TRUE:
        add_pair(out, key, "true", 4);
        break;
    case JSON_FALSE:
        add_pair(out, key, "false", 5);
        break;
    case JSON_NULL:
        break;
    }
}

char *hookd_payload_query(const json_t *payload)
{
    hookd_buf out = {0}, key = {0};
    /* Only an object has keys to name its values; anything else (never a
     * payload) gives an empty query rather than nameless pairs. */
    if (json_is_object(payload))
        flatten(&out, &key, payload);
    bool key_failed = key.failed;
    hookd_buf_free(&key);
    if (key_failed) {
        hookd_buf_free(&out);
        return NULL;
    }
    return hookd_buf_take(&out);
}

/* ---- the request -------------------------------------------------------- */

/* The URL for GET/DELETE: url without its fragment (never sent, and the query
 * must come before it), then '?' or '&' unless the URL already ends in one,
 * then the query. An empty query leaves url as it is. */
char *hookd_payload_url(const char *url, const char *query)
{
    if (!query || !*query)
        return strdup(url);
    size_t n = strcspn(url, "#");
    hookd_buf b = {0};
    hookd_buf_append(&b, url, n);
    const char *q = memchr(url, '?', n);
    if (!q)
        hookd_buf_append(&b, "?", 1);
    else if (url[n - 1] != '?' && url[n - 1] != '&')
        hookd_buf_append(&b, "&", 1);
    hookd_buf_puts(&b, query);
    return hookd_buf_take(&b);
}

int hookd_payload_wire(const json_t *payload, hookd_method method, char **query, char **body)
{
    *query = NULL;
    if (method == HOOKD_METHOD_GET || method == HOOKD_METHOD_DELETE) {
        /* docs/payload.md: no body; the payload travels in the URL. */
        *query = hookd_payload_query(payload);
        *body = *query ? strdup("") : NULL;
    } else {
        /* Compact, and UTF-8 as it is (no \u escapes): the signed bytes are
         * exactly these. */
        *body = hookd_json_dumps(payload);
    }
    if (*body)
        return 0;
    free(*query);
    *query = NULL;
    return -1;
}

int hookd_payload_request(const json_t *payload, hookd_method method, const char *url,
                          char **out_url, char **out_body)
{
    char *query, *body;
    if (hookd_payload_wire(payload, method, &query, &body) != 0)
        return -1;
    char *u = query ? hookd_payload_url(url, query) : strdup(url);
    free(query);
    if (!u) {
        free(body);
        return -1;
    }
    *out_url = u;
    *out_body = body;
    return 0;
}

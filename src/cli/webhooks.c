/*
 * webhooks.c — `hookd webhooks list|show|create|edit|delete|connect|
 * disconnect|test` (cli.h): one API call each (list follows its pages),
 * the webhook printed as "key: value" lines, a table, or the server's JSON.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/buf.h"
#include "util/json.h"

#define PATH_MAX_LEN 512
#define LIST_PAGE 1000 /* the API's largest page */

/* ---- paths and printing ------------------------------------------------------ */

/* "/api/v1/webhooks/<id>" + tail into path. 0, or 2 after a usage error. */
static int webhook_path(const hookd_cli *cli, const char *id, const char *tail, char *path,
                        size_t cap)
{
    snprintf(path, cap, "/api/v1/webhooks/");
    if (!*id || hookd_cli_path_segment(path, cap, id) != 0)
        return hookd_cli_usage_error(cli, "'%.80s' is no webhook id", id);
    strncat(path, tail, cap - strlen(path) - 1);
    return 0;
}

/* An object of strings as "k=v, k=v" (keys), or NULL if it is not one.
 * New string. */
static char *join_map(const json_t *v)
{
    const char *k;
    const json_t *item;
    json_object_foreach((json_t *)v, k, item)
    {
        if (!json_is_string(item))
            return NULL;
    }
    hookd_buf b = {0};
    json_object_foreach((json_t *)v, k, item)
    {
        hookd_buf_puts(&b, b.len ? ", " : "");
        hookd_buf_puts(&b, k);
        hookd_buf_puts(&b, "=");
        hookd_buf_puts(&b, json_string_value(item));
    }
    return hookd_buf_take(&b);
}

/* A list of strings as "a, b" (activities), of {"field_id","key"} as
 * "id=key, id=key" (fields); NULL if it is neither. New string. */
static char *join_list(const json_t *v)
{
    size_t i;
    const json_t *item;
    bool strings = true, fields = true;
    json_array_foreach(v, i, item)
    {
        strings = strings && json_is_string(item);
        fields = fields && json_is_string(json_object_get(item, "field_id")) &&
                 json_is_string(json_object_get(item, "key"));
    }
    if (!strings && !fields)
        return NULL;
    hookd_buf b = {0};
    json_array_foreach(v, i, item)
    {
        hookd_buf_puts(&b, i ? ", " : "");
        if (strings) {
            hookd_buf_puts(&b, json_string_value(item));
        } else {
            hookd_buf_puts(&b, json_string_value(json_object_get(item, "field_id")));
            hookd_buf_puts(&b, "=");
            hookd_buf_puts(&b, json_string_value(json_object_get(item, "key")));
        }
    }
    return hookd_buf_take(&b);
}

/* A value as one line of text: a string as is, true/false as yes/no, null
 * and empty lists as "-", lists and maps joined, anything else as compact
 * JSON. New string. */
static char *value_text(const json_t *v)
{
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_boolean(v))
        return strdup(json_is_true(v) ? "yes" : "no");
    if (json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0))
        return strdup("-");
    char *text = json_is_object(v) ? join_map(v) : json_is_array(v) ? join_list(v) : NULL;
    return text ? text : hookd_json_dumps(v);
}

/* The order a webhook's keys are shown in; others follow as they come. */
static const char *const SHOW_ORDER[] = {
    "id",
    "name",
    "url",
    "method",
    "connected",
    "disconnected_by",
    "disconnected_reason",
    "activities",
    "send_activity",
    "headers",
    "fields",
    "keys",
    "basic_auth",
    "rate_limit",
    "max_in_flight",
    "update_contact_from_response",
    "secret",
    "created_at",
    "updated_at",
    "stats",
    NULL,
};

static void show_key(const char *key, const json_t *v)
{
    if (strcmp(key, "headers") == 0 && json_is_array(v)) {
        size_t i;
        const json_t *h;
        printf("%-30s%s\n", "headers:", json_array_size(v) ? "" : "-");
        json_array_foreach(v, i, h)
        {
            printf("  %s: %s\n", json_string_value(json_object_get(h, "key")),
                   json_string_value(json_object_get(h, "value")));
        }
        return;
    }
    char *text = value_text(v);
    char label[64];
    snprintf(label, sizeof label, "%s:", key);
    printf("%-30s%s\n", label, text ? text : "?");
    free(text);
}

/* The webhook w as "key: value" lines (the test's outcome not included). */
static void show_webhook(const json_t *w)
{
    for (size_t i = 0; SHOW_ORDER[i]; i++) {
        const json_t *v = json_object_get(w, SHOW_ORDER[i]);
        if (v)
            show_key(SHOW_ORDER[i], v);
    }
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)w, key, v)
    {
        bool known = strcmp(key, "test") == 0;
        for (size_t i = 0; !known && SHOW_ORDER[i]; i++)
            known = strcmp(key, SHOW_ORDER[i]) == 0;
        if (!known)
            show_key(key, v);
    }
}

/* A test's outcome ({"ok","status_code","error","duration_ms"}) as one
 * line. Returns 0 if it went well, else 1. */
static int show_test(const json_t *t)
{
    bool ok = json_is_true(json_object_get(t, "ok"));
    const json_t *code = json_object_get(t, "status_code");
    const char *error = json_string_value(json_object_get(t, "error"));
    const json_t *ms = json_object_get(t, "duration_ms");
    printf("test: %s", ok ? "ok" : "failed");
    if (json_is_integer(code))
        printf(", HTTP %lld", (long long)json_integer_value(code));
    if (json_is_integer(ms))
        printf(", %lld ms", (long long)json_integer_value(ms));
    if (error && *error)
        printf(": %s", error);
    putchar('\n');
    return ok ? 0 : 1;
}

/* Prints an answer holding a webhook: the JSON, or its lines. */
static void print_webhook_answer(const hookd_cli *cli, const json_t *w)
{
    if (cli->json)
        hookd_cli_print_json(w);
    else
        show_webhook(w);
}

/* ---- list ----------------------------------------------------------------------------- */

static const char *stat_text(const json_t *w, const char *key, char *buf, size_t len)
{
    const json_t *v = json_object_get(json_object_get(w, "stats"), key);
    if (!json_is_integer(v))
        return NULL;
    snprintf(buf, len, "%lld", (long long)json_integer_value(v));
    return buf;
}

#define LIST_COLS 8

static void print_list(const hookd_cli *cli, const json_t *all)
{
    size_t n = json_array_size(all);
    const char **cells = calloc((n + 1) * LIST_COLS, sizeof *cells);
    char(*nums)[3][24] = calloc(n ? n : 1, sizeof *nums);
    if (!cells || !nums) {
        free(cells);
        free(nums);
        hookd_cli_fail(cli, "out of memory");
        return;
    }
    const char *head[LIST_COLS] = {"ID",  "NAME",   "STATE",      "METHOD",
                                   "URL", "OK 24H", "FAILED 24H", "PENDING"};
    memcpy(cells, head, sizeof head);
    for (size_t i = 0; i < n; i++) {
        const json_t *w = json_array_get(all, i);
        const char **row = cells + (i + 1) * LIST_COLS;
        row[0] = json_string_value(json_object_get(w, "id"));
        row[1] = json_string_value(json_object_get(w, "name"));
        row[2] = json_is_true(json_object_get(w, "connected")) ? "connected" : "disconnected";
        row[3] = json_string_value(json_object_get(w, "method"));
        row[4] = json_string_value(json_object_get(w, "url"));
        row[5] = stat_text(w, "succeeded_24h", nums[i][0], sizeof nums[i][0]);
        row[6] = stat_text(w, "failed_24h", nums[i][1], sizeof nums[i][1]);
        row[7] = stat_text(w, "pending", nums[i][2], sizeof nums[i][2]);
    }
    hookd_cli_table(cli, cells, n + 1, LIST_COLS);
    free(cells);
    free(nums);
}

/* Every webhook, page after page (the answer's next_cursor). */
static int run_list(hookd_cli *cli)
{
    json_t *all = json_array();
    char path[PATH_MAX_LEN];
    char *cursor = NULL;
    int rc = all ? 0 : hookd_cli_fail(cli, "out of memory");
    while (rc == 0) {
        snprintf(path, sizeof path, "/api/v1/webhooks?limit=%d%s", LIST_PAGE,
                 cursor ? "&cursor=" : "");
        if (cursor && hookd_cli_path_segment(path, sizeof path, cursor) != 0)
            break;
        free(cursor);
        cursor = NULL;
        hookd_client_answer a;
        if ((rc = hookd_cli_call(cli, "GET", path, NULL, &a)) != 0)
            break;
        json_array_extend(all, json_object_get(a.json, "webhooks"));
        const char *next = json_string_value(json_object_get(a.json, "next_cursor"));
        cursor = next ? strdup(next) : NULL;
        hookd_client_answer_clear(&a);
        if (!cursor)
            break;
    }
    free(cursor);
    if (rc == 0 && cli->json) {
        json_t *out = json_pack("{s:O,s:n}", "webhooks", all, "next_cursor");
        hookd_cli_print_json(out);
        json_decref(out);
    } else if (rc == 0) {
        print_list(cli, all);
    }
    json_decref(all);
    return rc;
}

/* ---- calls on one webhook ------------------------------------------------------------ */

/* method on /api/v1/webhooks/ID<tail>, then prints the webhook answered. */
static int one_call(hookd_cli *cli, const char *method, const char *tail, const char *done)
{
    char path[PATH_MAX_LEN];
    if (webhook_path(cli, cli->pos[0], tail, path, sizeof path) != 0)
        return 2;
    hookd_client_answer a;
    int rc = hookd_cli_call(cli, method, path, NULL, &a);
    if (rc)
        return rc;
    if (done && !cli->json) {
        printf("%s %s (%s)\n", done, cli->pos[0],
               json_string_value(json_object_get(a.json, "name")));
    } else if (a.json) {
        print_webhook_answer(cli, a.json);
    }
    hookd_client_answer_clear(&a);
    return 0;
}

static int run_show(hookd_cli *cli)
{
    return one_call(cli, "GET", "", NULL);
}

static int run_connect(hookd_cli *cli)
{
    return one_call(cli, "POST", "/connect", "connected");
}

static int run_disconnect(hookd_cli *cli)
{
    return one_call(cli, "POST", "/disconnect", "disconnected");
}

static int run_delete(hookd_cli *cli)
{
    char path[PATH_MAX_LEN];
    if (webhook_path(cli, cli->pos[0], "", path, sizeof path) != 0)
        return 2;
    hookd_client_answer a;
    int rc = hookd_cli_call(cli, "DELETE", path, NULL, &a);
    if (rc)
        return rc;
    hookd_client_answer_clear(&a);
    if (!cli->json)
        printf("deleted %s\n", cli->pos[0]);
    return 0;
}

static int run_test(hookd_cli *cli)
{
    char path[PATH_MAX_LEN];
    if (webhook_path(cli, cli->pos[0], "/test", path, sizeof path) != 0)
        return 2;
    hookd_client_answer a;
    int rc = hookd_cli_call(cli, "POST", path, NULL, &a);
    if (rc)
        return rc;
    bool ok = json_is_true(json_object_get(a.json, "ok"));
    if (cli->json)
        hookd_cli_print_json(a.json);
    else
        show_test(a.json);
    hookd_client_answer_clear(&a);
    return ok ? 0 : 1;
}

/* ---- create and edit: the body from a file and flags ------------------------------------ */

/* The JSON object in path ("-": stdin). New, or NULL with the reason in err. */
static json_t *load_body(const char *path, char *err, size_t errlen)
{
    json_error_t je;
    json_t *v;
    if (strcmp(path, "-") == 0) {
        v = json_loadf(stdin, JSON_REJECT_DUPLICATES, &je);
    } else {
        FILE *f = fopen(path, "r");
        if (!f) {
            snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
            return NULL;
        }
        v = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
        fclose(f);
    }
    if (!v)
        snprintf(err, errlen, "%s: line %d, column %d: %s", path, je.line, je.column, je.text);
    else if (!json_is_object(v)) {
        snprintf(err, errlen, "%s must hold one JSON object", path);
        json_decref(v);
        v = NULL;
    }
    return v;
}

/* "yes"/"true"/"1" or "no"/"false"/"0". -1 for anything else. */
static int parse_bool(const char *s)
{
    if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "1") || !strcmp(s, "on"))
        return 1;
    if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "0") || !strcmp(s, "off"))
        return 0;
    return -1;
}

/* "Name: value" (or "Name=value") into {"key","value"[,"secret":true]}. */
static json_t *header_of(const char *s, bool secret)
{
    size_t k = strcspn(s, ":=");
    if (!s[k] || k == 0)
        return NULL;
    const char *v = s + k + 1;
    while (*v == ' ')
        v++;
    json_t *h = json_pack("{s:s%,s:s}", "key", s, k, "value", v);
    if (h && secret)
        json_object_set_new(h, "secret", json_true());
    return h;
}

/* The list-valued flags: each value is turned into one item. */
typedef enum { L_ACTIVITY, L_HEADER, L_SECRET_HEADER, L_FIELD } list_kind;

static json_t *list_item(list_kind kind, const char *s)
{
    switch (kind) {
    case L_ACTIVITY:
        return json_string(s);
    case L_HEADER:
    case L_SECRET_HEADER:
        return header_of(s, kind == L_SECRET_HEADER);
    case L_FIELD: {
        size_t k = strcspn(s, "=");
        if (k == 0)
            return NULL;
        json_t *f = json_pack("{s:s%}", "field_id", s, k);
        if (f && s[k])
            json_object_set_new(f, "key", json_string(s + k + 1));
        return f;
    }
    }
    return NULL;
}

/* Sets body[key] to the list of every value of flag, if any was given.
 * 0, or 2 after a usage error. */
static int set_list(hookd_cli *cli, json_t *body, const char *flag, const char *key, list_kind kind,
                    bool *changed)
{
    if (!hookd_cli_nth(cli, flag, 0))
        return 0;
    /* Headers and secret headers share one list: the first of either flag
     * starts it afresh. */
    json_t *list = json_object_get(body, key);
    if (!*changed || !json_is_array(list)) {
        list = json_array();
        json_object_set_new(body, key, list);
    }
    const char *s;
    for (size_t i = 0; (s = hookd_cli_nth(cli, flag, i)) != NULL; i++) {
        if (kind == L_ACTIVITY && !*s)
            continue; /* --activity '' clears the list */
        json_t *item = list_item(kind, s);
        if (!item)
            return hookd_cli_usage_error(cli, "%s '%s': expected %s", flag, s,
                                         kind == L_FIELD ? "FIELD_ID or FIELD_ID=KEY"
                                                         : "'Name: value'");
        json_array_append_new(list, item);
    }
    *changed = true;
    return 0;
}

/* A number flag into body[key]; "none" is null where allowed. */
static int set_number(hookd_cli *cli, json_t *body, const char *flag, const char *key, bool integer,
                      bool nullable)
{
    const char *s = hookd_cli_get(cli, flag);
    if (!s)
        return 0;
    if (nullable && (strcmp(s, "none") == 0 || strcmp(s, "null") == 0)) {
        json_object_set_new(body, key, json_null());
        return 0;
    }
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (!*s || *end || errno || (integer && d != (double)(long long)d))
        return hookd_cli_usage_error(cli, "%s must be %s%s (got '%s')", flag,
                                     integer ? "a whole number" : "a number",
                                     nullable ? " or none" : "", s);
    json_object_set_new(body, key, integer ? json_integer((json_int_t)d) : json_real(d));
    return 0;
}

static int set_bool(hookd_cli *cli, json_t *body, const char *flag, const char *key)
{
    const char *s = hookd_cli_get(cli, flag);
    if (!s)
        return 0;
    int b = parse_bool(s);
    if (b < 0)
        return hookd_cli_usage_error(cli, "%s must be true or false (got '%s')", flag, s);
    json_object_set_new(body, key, json_boolean(b));
    return 0;
}

/* --rename LOCKED=KEY into body.keys (merged with what the body has). */
static int set_renames(hookd_cli *cli, json_t *body)
{
    const char *s;
    for (size_t i = 0; (s = hookd_cli_nth(cli, "--rename", i)) != NULL; i++) {
        size_t k = strcspn(s, "=");
        if (k == 0 || !s[k])
            return hookd_cli_usage_error(cli,
                                         "--rename '%s': expected LOCKED=KEY, like "
                                         "contact_id=id",
                                         s);
        json_t *keys = json_object_get(body, "keys");
        if (!json_is_object(keys)) {
            keys = json_object();
            json_object_set_new(body, "keys", keys);
        }
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(k < 63 ? k : 63), s);
        json_object_set_new(keys, name, json_string(s + k + 1));
    }
    return 0;
}

/* --basic-auth USER:PASSWORD (or "none"). */
static int set_basic_auth(hookd_cli *cli, json_t *body)
{
    const char *s = hookd_cli_get(cli, "--basic-auth");
    if (!s)
        return 0;
    if (strcmp(s, "none") == 0) {
        json_object_set_new(body, "basic_auth", json_null());
        return 0;
    }
    size_t k = strcspn(s, ":");
    if (!s[k])
        return hookd_cli_usage_error(cli, "--basic-auth must be USER:PASSWORD or none");
    json_object_set_new(body, "basic_auth",
                        json_pack("{s:s%,s:s}", "username", s, k, "password", s + k + 1));
    return 0;
}

/* The body of create or edit: --json-body's object, then each flag given
 * over it. New, or NULL with *status set. */
static json_t *build_body(hookd_cli *cli, int *status)
{
    const char *file = hookd_cli_get(cli, "--json-body");
    char err[512];
    json_t *body = file ? load_body(file, err, sizeof err) : json_object();
    if (!body) {
        *status = file ? hookd_cli_usage_error(cli, "--json-body %s", err)
                       : hookd_cli_fail(cli, "out of memory");
        return NULL;
    }
    static const struct {
        const char *flag, *key;
    } STRINGS[] = {
        {"--name", "name"}, {"--url", "url"}, {"--method", "method"}, {"--secret", "secret"}};
    for (size_t i = 0; i < sizeof STRINGS / sizeof STRINGS[0]; i++) {
        const char *s = hookd_cli_get(cli, STRINGS[i].flag);
        if (s)
            json_object_set_new(body, STRINGS[i].key, json_string(s));
    }
    bool acts = false, heads = false, fields = false;
    int rc = set_list(cli, body, "--activity", "activities", L_ACTIVITY, &acts);
    if (!rc)
        rc = set_list(cli, body, "--header", "headers", L_HEADER, &heads);
    if (!rc)
        rc = set_list(cli, body, "--secret-header", "headers", L_SECRET_HEADER, &heads);
    if (!rc)
        rc = set_list(cli, body, "--field", "fields", L_FIELD, &fields);
    if (!rc)
        rc = set_bool(cli, body, "--send-activity", "send_activity");
    if (!rc)
        rc = set_bool(cli, body, "--connected", "connected");
    if (!rc)
        rc = set_bool(cli, body, "--update-contact-from-response", "update_contact_from_response");
    if (!rc)
        rc = set_number(cli, body, "--rate-limit", "rate_limit", false, true);
    if (!rc)
        rc = set_number(cli, body, "--max-in-flight", "max_in_flight", true, false);
    if (!rc)
        rc = set_renames(cli, body);
    if (!rc)
        rc = set_basic_auth(cli, body);
    if (rc) {
        json_decref(body);
        *status = rc;
        return NULL;
    }
    return body;
}

static int run_create(hookd_cli *cli)
{
    int rc = 0;
    json_t *body = build_body(cli, &rc);
    if (!body)
        return rc;
    hookd_client_answer a;
    rc = hookd_cli_call(cli, "POST", "/api/v1/webhooks", body, &a);
    json_decref(body);
    if (rc)
        return rc;
    print_webhook_answer(cli, a.json);
    const json_t *test = json_object_get(a.json, "test");
    if (!cli->json && test)
        show_test(test);
    hookd_client_answer_clear(&a);
    return 0;
}

static int run_edit(hookd_cli *cli)
{
    char path[PATH_MAX_LEN];
    if (webhook_path(cli, cli->pos[0], "", path, sizeof path) != 0)
        return 2;
    int rc = 0;
    json_t *body = build_body(cli, &rc);
    if (!body)
        return rc;
    if (json_object_size(body) == 0) {
        json_decref(body);
        return hookd_cli_usage_error(cli, "nothing to change: give --json-body or a setting's "
                                          "flag");
    }
    hookd_client_answer a;
    rc = hookd_cli_call(cli, "PATCH", path, body, &a);
    json_decref(body);
    if (rc)
        return rc;
    print_webhook_answer(cli, a.json);
    hookd_client_answer_clear(&a);
    return 0;
}

/* ---- the tables ------------------------------------------------------------------------- */

/* The settings of create and edit, in the API's words. */
static const hookd_cli_opt SETTINGS[] = {
    {"--json-body", "FILE",
     "the webhook as the API's JSON object, from FILE or - for stdin; "
     "the flags below are set over it"},
    {"--name", "NAME", "its name"},
    {"--url", "URL", "where deliveries go (the server is then --server or HOOKD_URL)"},
    {"--method", "METHOD", "GET, POST, PUT, PATCH or DELETE (default POST)"},
    {"--activity", "FIELD_ID",
     "an activity that triggers it, e.g. act::s; * for every one; "
     "repeat for more"},
    {"--header", "'NAME: VALUE'", "a custom header; repeat for more"},
    {"--secret-header", "'NAME: VALUE'", "a custom header kept sealed and shown [redacted]"},
    {"--field", "FIELD_ID[=KEY]", "a person or account field to send; repeat for more"},
    {"--rename", "LOCKED=KEY", "rename a locked key, e.g. contact_id=id; repeat for more"},
    {"--basic-auth", "USER:PASSWORD", "HTTP basic authentication, or none"},
    {"--send-activity", "BOOL", "send the activity payload if relevant (default true)"},
    {"--connected", "BOOL", "connected or not (default true)"},
    {"--rate-limit", "N", "deliveries per second (0.1–10000), or none"},
    {"--max-in-flight", "N", "attempts at once (1–256, default 16)"},
    {"--update-contact-from-response", "BOOL",
     "merge {\"fields\"} of a 2xx answer into the "
     "person"},
    {"--secret", "SECRET", "the signing secret (whsec_…); hookd makes one by default"},
    {NULL, NULL, NULL},
};

static const hookd_cli_opt NO_OPTS[] = {{NULL, NULL, NULL}};

const hookd_cli_cmd HOOKD_CLI_WEBHOOKS_LIST = {
    "webhooks list",
    NULL,
    0,
    "List every webhook, with its deliveries of the last 24 hours.",
    "A table on a terminal (tab-separated when stdout is not one); with --json "
    "{\"webhooks\":[…],\"next_cursor\":null} holding every page.",
    NO_OPTS,
    run_list};
const hookd_cli_cmd HOOKD_CLI_WEBHOOKS_SHOW = {
    "webhooks show", "ID", 1, "Show one webhook's settings.", NULL, NO_OPTS, run_show};
const hookd_cli_cmd HOOKD_CLI_WEBHOOKS_CREATE = {
    "webhooks create",
    NULL,
    0,
    "Create a webhook; hookd sends it the test payload once.",
    "Give the body as the API takes it (--json-body) or flags, or both. Exit status 0 "
    "whatever the test's outcome (it is printed).",
    SETTINGS,
    run_create};
const hookd_cli_cmd HOOKD_CLI_WEBHOOKS_EDIT = {
    "webhooks edit",
    "ID",
    1,
    "Change some of a webhook's settings (the API's PATCH).",
    "Only what is given changes; a list flag (--activity, --header, --field) replaces the "
    "whole list; --activity '' empties it.",
    SETTINGS,
    run_edit};
const hookd_cli_cmd HOOKD_CLI_WEBHOOKS_DELETE = {
    "webhooks delete",
    "ID",
    1,
    "Delete a webhook; its waiting deliveries are cancelled.",
    NULL,
    NO_OPTS,
    run_delete};
const hookd_cli_cmd HOOKD_CLI_WEBHOOKS_CONNECT = {
    "webhooks connect", "ID", 1, "Connect a webhook: its held deliveries go out.", NULL, NO_OPTS,
    run_connect};
const hookd_cli_cmd HOOKD_CLI_WEBHOOKS_DISCONNECT = {
    "webhooks disconnect",
    "ID",
    1,
    "Disconnect a webhook: its waiting deliveries are held.",
    NULL,
    NO_OPTS,
    run_disconnect};
const hookd_cli_cmd HOOKD_CLI_WEBHOOKS_TEST = {
    "webhooks test",
    "ID",
    1,
    "Send a webhook the test payload now.",
    "Exit status 1 when the test failed (no 2xx answer).",
    NO_OPTS,
    run_test};

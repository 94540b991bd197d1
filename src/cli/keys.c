/*
 * keys.c — `hookd keys create|list|revoke` (keys.h): parses the command's
 * options, then runs it against a running server (cli/client.h) or, with
 * --db / --database-url, against the store itself.
 */
#include "cli/keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/client.h"
#include "model/apikey.h"
#include "store/store.h"
#include "util/seal.h"
#include "util/timeutil.h"

#define KEY_FILE_MAX 300

typedef struct keys_opts {
    const char *cmd;  /* "create", "list", "revoke" */
    const char *id;   /* revoke's ID */
    const char *name, *scope;
    const char *url, *api_key, *api_key_file;
    const char *db, *database_url, *master_key_file;
} keys_opts;

/* ---- options ---------------------------------------------------------------- */

/* A usage error: the reason, then where the usage is (it is long). */
static int usage_error(const char *usage, const char *fmt, const char *arg)
{
    (void)usage;
    fprintf(stderr, "hookd keys: ");
    fprintf(stderr, fmt, arg);
    fputs(" (hookd keys --help shows the usage)\n", stderr);
    return 2;
}

/* Every option of `hookd keys` (all take a value) and where it goes: the
 * source of `hookd keys --help` and of the man page. */
enum key_opt {
    KOPT_NAME,
    KOPT_SCOPE,
    KOPT_URL,
    KOPT_API_KEY,
    KOPT_API_KEY_FILE,
    KOPT_DB,
    KOPT_DATABASE_URL,
    KOPT_MASTER_KEY_FILE,
    /* The client commands' names for the key (HOOKD_KEY stays apart from
     * the server's HOOKD_API_KEY); the same slots as --api-key(-file). */
    KOPT_KEY,
    KOPT_KEY_FILE,
    KOPT_COUNT
};

static const hookd_option KEY_OPTS[KOPT_COUNT] = {
    [KOPT_NAME] = {"--name", NULL, NULL, true, .arg = "NAME",
                   .help = "create: the key's name, shown in lists"},
    [KOPT_SCOPE] = {"--scope", NULL, NULL, true, .arg = "admin|ingest",
                    .help = "create: what the key may do: admin, everything; ingest, only send "
                            "activities and people"},
    [KOPT_URL] = {"--url", "HOOKD_URL", "http://127.0.0.1:8080", true, .arg = "URL",
                  .help = "the running server to talk to"},
    [KOPT_API_KEY] = {"--api-key", "HOOKD_API_KEY", NULL, true, .arg = "KEY",
                      .help = "an admin key of that server"},
    [KOPT_API_KEY_FILE] = {"--api-key-file", "HOOKD_API_KEY_FILE", NULL, true, .arg = "FILE",
                           .help = "the same, read from a file"},
    [KOPT_DB] = {"--db", NULL, NULL, true, .arg = "FILE",
                 .help = "work in this SQLite file directly: no server or key needed"},
    [KOPT_DATABASE_URL] = {"--database-url", NULL, NULL, true, .arg = "URL",
                           .help = "work in this PostgreSQL database directly (with "
                                   "--master-key-file)"},
    [KOPT_MASTER_KEY_FILE] = {"--master-key-file", "HOOKD_MASTER_KEY_FILE", NULL, true,
                              .arg = "FILE", .unset = "<db>.key",
                              .help = "the store's master key, as for hookd serve"},
    [KOPT_KEY] = {"--key", "HOOKD_KEY", NULL, true, .arg = "KEY",
                  .help = "the same as --api-key, by the client commands' name"},
    [KOPT_KEY_FILE] = {"--key-file", "HOOKD_KEY_FILE", NULL, true, .arg = "FILE",
                       .help = "the same as --api-key-file, by the client commands' name"},
};

const hookd_option *hookd_cli_keys_options(size_t *count)
{
    *count = KOPT_COUNT;
    return KEY_OPTS;
}

/* Where the value of flag goes in o, or NULL for no such option. */
static const char **opt_slot(keys_opts *o, const char *flag)
{
    static const size_t SLOTS[KOPT_COUNT] = {
        [KOPT_NAME] = offsetof(keys_opts, name),
        [KOPT_SCOPE] = offsetof(keys_opts, scope),
        [KOPT_URL] = offsetof(keys_opts, url),
        [KOPT_API_KEY] = offsetof(keys_opts, api_key),
        [KOPT_API_KEY_FILE] = offsetof(keys_opts, api_key_file),
        [KOPT_DB] = offsetof(keys_opts, db),
        [KOPT_DATABASE_URL] = offsetof(keys_opts, database_url),
        [KOPT_MASTER_KEY_FILE] = offsetof(keys_opts, master_key_file),
        [KOPT_KEY] = offsetof(keys_opts, api_key),
        [KOPT_KEY_FILE] = offsetof(keys_opts, api_key_file),
    };
    for (size_t i = 0; i < KOPT_COUNT; i++) {
        if (strcmp(flag, KEY_OPTS[i].flag) == 0)
            return (const char **)((char *)o + SLOTS[i]);
    }
    return NULL;
}

/* Fills o from argv ("--flag value" or "--flag=value", the command and
 * revoke's ID). Returns 0 or the exit status of a usage error. */
static int parse(keys_opts *o, int argc, char **argv, const char *usage)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            if (!o->cmd)
                o->cmd = a;
            else if (strcmp(o->cmd, "revoke") == 0 && !o->id)
                o->id = a;
            else
                return usage_error(usage, "unexpected argument '%s'", a);
            continue;
        }
        char flag[64];
        const char *eq = strchr(a, '=');
        size_t flen = eq ? (size_t)(eq - a) : strlen(a);
        if (flen >= sizeof flag)
            return usage_error(usage, "unknown option '%s'", a);
        memcpy(flag, a, flen);
        flag[flen] = '\0';
        const char **slot = opt_slot(o, flag);
        if (!slot)
            return usage_error(usage, "unknown option '%s'", flag);
        if (eq)
            *slot = eq + 1;
        else if (i + 1 < argc)
            *slot = argv[++i];
        else
            return usage_error(usage, "%s needs a value", flag);
    }
    if (!o->cmd)
        return usage_error(usage, "%s", "a command is required: create, list or revoke");
    if (strcmp(o->cmd, "create") != 0 && strcmp(o->cmd, "list") != 0 &&
        strcmp(o->cmd, "revoke") != 0)
        return usage_error(usage, "unknown command '%s' (create, list or revoke)", o->cmd);
    if (strcmp(o->cmd, "revoke") == 0 && !o->id)
        return usage_error(usage, "%s", "revoke needs the key's ID (see hookd keys list)");
    if (strcmp(o->cmd, "create") == 0) {
        if (!o->name)
            return usage_error(usage, "%s", "create needs --name NAME");
        const char *problem = hookd_key_name_problem(o->name);
        if (problem)
            return usage_error(usage, "--name: %s", problem);
        if (hookd_key_scope_from_name(o->scope) == HOOKD_SCOPE_INVALID)
            return usage_error(usage, "%s", "create needs --scope admin or --scope ingest");
    }
    if (o->db && o->database_url)
        return usage_error(usage, "%s", "give --db or --database-url, not both");
    return 0;
}

/* The key in path: its text without the trailing line break (as `hookd
 * serve --api-key-file` reads it). 0, or -1 with a reason on stderr. */
static int read_key_file(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "hookd keys: cannot read the key file '%s'\n", path);
        return -1;
    }
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = '\0';
    while (n && strchr("\r\n\t ", out[n - 1]))
        out[--n] = '\0';
    if (n == 0) {
        fprintf(stderr, "hookd keys: the key file '%s' is empty\n", path);
        return -1;
    }
    return 0;
}

/* ---- output -------------------------------------------------------------------- */

static void print_created(const char *key, const char *id, const char *name, const char *scope)
{
    printf("api key: %s\nid: %s\nname: %s\nscope: %s\n", key, id, name, scope);
    printf("(the key is shown only now: keep it somewhere safe)\n");
}

typedef struct row {
    const char *id, *name, *scope, *created, *used;
} row;

static void print_table(const row *rows, size_t n)
{
    int wname = 4;
    for (size_t i = 0; i < n; i++) {
        int len = (int)strlen(rows[i].name);
        wname = len > wname ? len : wname;
    }
    printf("%-36s  %-*s  %-6s  %-24s  %s\n", "ID", wname, "NAME", "SCOPE", "CREATED",
           "LAST USED");
    for (size_t i = 0; i < n; i++)
        printf("%-36s  %-*s  %-6s  %-24s  %s\n", rows[i].id, wname, rows[i].name, rows[i].scope,
               rows[i].created, rows[i].used ? rows[i].used : "never");
}

/* ---- against a running server ----------------------------------------------------- */

static int http_fail(const hookd_client_answer *a)
{
    char msg[512];
    hookd_client_error_text(a, msg, sizeof msg);
    fprintf(stderr, "hookd keys: %s\n", msg);
    return 1;
}

static int http_run(const keys_opts *o, const char *key)
{
    hookd_client c = {.base = o->url, .key = key};
    hookd_client_answer a;
    char err[512];
    json_t *body = NULL;
    char path[128];
    const char *method = "GET";
    if (strcmp(o->cmd, "create") == 0) {
        method = "POST";
        body = json_pack("{s:s,s:s}", "name", o->name, "scope", o->scope);
        if (!body) {
            fprintf(stderr, "hookd keys: out of memory\n");
            return 1;
        }
    } else if (strcmp(o->cmd, "revoke") == 0) {
        method = "DELETE";
    }
    /* An ID that is no id cannot be revoked: the server says so (404); it
     * is cut, not escaped, to keep the path one segment. */
    snprintf(path, sizeof path, "/api/v1/keys%s%.*s", strcmp(o->cmd, "revoke") == 0 ? "/" : "",
             (int)strcspn(o->id ? o->id : "", "/?#%"), o->id ? o->id : "");
    int rc = hookd_client_call(&c, method, path, body, &a, err, sizeof err);
    json_decref(body);
    if (rc) {
        fprintf(stderr, "hookd keys: cannot reach the server: %s\n", err);
        return 1;
    }
    int status = 0;
    if (strcmp(o->cmd, "create") == 0 && a.status == 201) {
        const json_t *j = a.json;
        print_created(json_string_value(json_object_get(j, "key")),
                      json_string_value(json_object_get(j, "id")),
                      json_string_value(json_object_get(j, "name")),
                      json_string_value(json_object_get(j, "scope")));
    } else if (strcmp(o->cmd, "list") == 0 && a.status == 200 &&
               json_is_array(json_object_get(a.json, "keys"))) {
        const json_t *keys = json_object_get(a.json, "keys");
        size_t n = json_array_size(keys);
        row *rows = calloc(n ? n : 1, sizeof *rows);
        for (size_t i = 0; rows && i < n; i++) {
            const json_t *k = json_array_get(keys, i);
            const char *name = json_string_value(json_object_get(k, "name"));
            rows[i] = (row){json_string_value(json_object_get(k, "id")), name ? name : "",
                            json_string_value(json_object_get(k, "scope")),
                            json_string_value(json_object_get(k, "created_at")),
                            json_string_value(json_object_get(k, "last_used_at"))};
            if (!rows[i].id || !rows[i].scope || !rows[i].created)
                rows[i] = (row){"?", name ? name : "", "?", "?", NULL};
        }
        if (rows)
            print_table(rows, n);
        free(rows);
        status = rows ? 0 : 1;
    } else if (strcmp(o->cmd, "revoke") == 0 && a.status == 204) {
        printf("revoked %s\n", o->id);
    } else {
        status = http_fail(&a);
    }
    hookd_client_answer_clear(&a);
    return status;
}

/* ---- against the store ---------------------------------------------------------------- */

static int store_create(hookd_store *st, const keys_opts *o)
{
    char text[HOOKD_KEY_TEXT_MAX];
    hookd_key k;
    int rc = hookd_store_key_create(st, o->name, hookd_key_scope_from_name(o->scope), text, &k);
    if (rc) {
        fprintf(stderr, "hookd keys: cannot store the key (%d)\n", rc);
        return 1;
    }
    print_created(text, k.id, k.name, hookd_key_scope_name(k.scope));
    memset(text, 0, sizeof text);
    return 0;
}

static int store_list(hookd_store *st)
{
    hookd_key *keys = NULL;
    size_t n = 0;
    if (hookd_store_key_list(st, &keys, &n) != 0) {
        fprintf(stderr, "hookd keys: cannot read the keys\n");
        return 1;
    }
    row *rows = calloc(n ? n : 1, sizeof *rows);
    char (*times)[2][HOOKD_TIME_MAX] = calloc(n ? n : 1, sizeof *times);
    for (size_t i = 0; rows && times && i < n; i++) {
        hookd_time_format_ms(keys[i].created_at, times[i][0]);
        if (keys[i].last_used_at)
            hookd_time_format_ms(keys[i].last_used_at, times[i][1]);
        rows[i] = (row){keys[i].id, keys[i].name, hookd_key_scope_name(keys[i].scope),
                        times[i][0], keys[i].last_used_at ? times[i][1] : NULL};
    }
    int status = rows && times ? 0 : 1;
    if (status == 0)
        print_table(rows, n);
    free(rows);
    free(times);
    hookd_key_list_free(keys, n);
    return status;
}

static int store_run(const keys_opts *o)
{
    /* Opening a SQLite path that does not exist would make a new, empty
     * database: a typo must not look like success. */
    if (o->db && access(o->db, F_OK) != 0) {
        fprintf(stderr, "hookd keys: no database at '%s'\n", o->db);
        return 1;
    }
    /* API keys are hashes, never sealed; but opening the store may migrate
     * and seal its webhooks, which needs the master key like serve. */
    char err[512];
    char *key_path = NULL;
    hookd_sealer *sealer = hookd_sealer_load(o->master_key_file, o->database_url ? NULL : o->db,
                                             &key_path, err, sizeof err);
    if (!sealer) {
        fprintf(stderr, "hookd keys: %s\n", err);
        return 1;
    }
    hookd_store_options sopt = {.db_path = o->db, .database_url = o->database_url,
                                .sealer = sealer, .master_key_file = key_path};
    hookd_store *st = NULL;
    if (hookd_store_open(&sopt, &st, err, sizeof err) != 0) {
        fprintf(stderr, "hookd keys: %s\n", err);
        hookd_sealer_free(sealer);
        free(key_path);
        return 1;
    }
    int status;
    if (strcmp(o->cmd, "create") == 0) {
        status = store_create(st, o);
    } else if (strcmp(o->cmd, "list") == 0) {
        status = store_list(st);
    } else {
        int rc = hookd_id_valid(o->id) ? hookd_store_key_revoke(st, o->id) : HOOKD_ENOTFOUND;
        if (rc == 0)
            printf("revoked %s\n", o->id);
        else
            fprintf(stderr, "hookd keys: %s\n",
                    rc == HOOKD_ENOTFOUND ? "no key with this id" : "cannot revoke the key");
        status = rc ? 1 : 0;
    }
    hookd_store_close(st);
    hookd_sealer_free(sealer);
    free(key_path);
    return status;
}

int hookd_cli_keys(int argc, char **argv, hookd_getenv_fn getenv_fn, const char *usage)
{
    keys_opts o = {0};
    int rc = parse(&o, argc, argv, usage);
    if (rc)
        return rc;
    if (!o.master_key_file)
        o.master_key_file = getenv_fn(KEY_OPTS[KOPT_MASTER_KEY_FILE].env);
    fflush(stdout);
    if (o.db || o.database_url)
        return store_run(&o);

    if (!o.url)
        o.url = getenv_fn(KEY_OPTS[KOPT_URL].env);
    if (!o.url || !*o.url)
        o.url = KEY_OPTS[KOPT_URL].def;
    /* No key flag: the first variable set, the client commands' names
     * first (a shell that talks to servers sets those). */
    static const enum key_opt ENV_ORDER[] = {KOPT_KEY, KOPT_KEY_FILE, KOPT_API_KEY,
                                             KOPT_API_KEY_FILE};
    for (size_t i = 0; !o.api_key && !o.api_key_file && i < 4; i++) {
        const char *v = getenv_fn(KEY_OPTS[ENV_ORDER[i]].env);
        if (v && *v)
            *opt_slot(&o, KEY_OPTS[ENV_ORDER[i]].flag) = v;
    }
    if (o.api_key && o.api_key_file) {
        /* Both flags given: the same rule as serve's. */
        return usage_error(usage, "%s", "give a key or a key file, not both");
    }
    char key[KEY_FILE_MAX];
    if (!o.api_key && o.api_key_file && *o.api_key_file) {
        if (read_key_file(o.api_key_file, key, sizeof key) != 0)
            return 1;
        o.api_key = key;
    }
    if (!o.api_key)
        return usage_error(usage, "%s",
                           "an admin key is needed to talk to the server: --key, --key-file, "
                           "HOOKD_KEY (or --api-key, HOOKD_API_KEY); or --db/--database-url to "
                           "write to the store directly");
    rc = http_run(&o, o.api_key);
    memset(key, 0, sizeof key);
    return rc;
}

/*
 * import.c — `hookd activities send FILE|-` (JSON lines: one activity
 * object of the API per line) and `hookd people import FILE|-` (CSV whose
 * header row names field ids, or JSON lines), sent through bulk.h with a
 * progress bar (progress.h), a line per bad row and a summary at the end.
 *
 * A CSV cell becomes the JSON value its field's type takes (the type is the
 * first part of the field's id, and its namespace says person or account:
 * model/fields.h): text as is, int and bol parsed, the object types (phn,
 * geo, dtz, sst, u4s) written as JSON in the cell; an empty cell leaves the
 * field out. A cell that does not parse is sent as text, so the server's
 * message says what is wrong with it.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/bulk.h"
#include "cli/cli.h"
#include "cli/csv.h"
#include "model/fields.h"
#include "util/duration.h"

#define HEADER_ID_MAX 256 /* a field id's longest, with room to spare */

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* What one run keeps: its input, counts and options. */
typedef struct import_run {
    hookd_cli *cli;
    FILE *in;
    hookd_progress progress;
    hookd_bulk bulk;
    json_t *fields; /* id -> field of the server's fields (people), NULL if not readable */
    uint64_t created, updated, duplicates;
    long last_line;
} import_run;

/* ---- options and input -------------------------------------------------------------- */

/* Opens the input, reads the options shared by both commands. 0, or an exit
 * status. */
static int open_run(import_run *r, hookd_cli *cli)
{
    memset(r, 0, sizeof *r);
    r->cli = cli;
    const char *on_error = hookd_cli_get(cli, "--on-error");
    if (on_error && strcmp(on_error, "stop") != 0 && strcmp(on_error, "continue") != 0)
        return hookd_cli_usage_error(cli, "--on-error must be stop or continue (got '%s')",
                                     on_error);
    int64_t every_ms = 5000;
    const char *every = hookd_cli_get(cli, "--progress-interval");
    if (every && (hookd_duration_parse(every, &every_ms) != 0 || every_ms < 1))
        return hookd_cli_usage_error(cli, "--progress-interval must be a duration, like 10s");
    const char *path = cli->pos[0];
    r->in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!r->in)
        return hookd_cli_usage_error(cli, "cannot read '%s': %s", path, strerror(errno));
    struct stat st;
    int64_t total = fstat(fileno(r->in), &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : 0;
    r->progress = (hookd_progress){.prog = cli->prog,
                                   .unit = "rows",
                                   .tty = cli->tty_err,
                                   .quiet = hookd_cli_get(cli, "--quiet") != NULL,
                                   .total_bytes = total,
                                   .interval_ms = every_ms};
    r->bulk.cli = cli;
    r->bulk.keep_going = on_error && strcmp(on_error, "continue") == 0;
    r->bulk.progress = &r->progress;
    r->bulk.ctx = r;
    if (hookd_bulk_init(&r->bulk) != 0)
        return hookd_cli_fail(cli, "out of memory");
    struct sigaction sa = {0};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return 0;
}

static void close_run(import_run *r)
{
    if (r->in && r->in != stdin)
        fclose(r->in);
    hookd_bulk_free(&r->bulk);
    json_decref(r->fields);
}

/* Sends what is left: what was read before a stop (Ctrl-C) still goes. A
 * batch the server refused is already empty. */
static void flush_rest(import_run *r)
{
    if (!r->bulk.fatal && !r->bulk.stopped_at)
        hookd_bulk_flush(&r->bulk);
}

/* Prints the summary (detail: " (3 created, 1 updated)", after the count
 * sent); the exit status. */
static int finish_run(import_run *r, const char *detail)
{
    hookd_bulk *b = &r->bulk;
    hookd_progress_finish(&r->progress, b->sent + b->failed, b->bytes_read);
    double secs = (double)hookd_progress_elapsed_ms(&r->progress) / 1000.0;
    hookd_progress_note(&r->progress, "%s: %llu sent%s, %llu failed, in %.1f s (%.0f rows/s)",
                        r->cli->prog, (unsigned long long)b->sent, detail,
                        (unsigned long long)b->failed, secs,
                        secs > 0 ? (double)(b->sent + b->failed) / secs : 0.0);
    if (b->stopped_at)
        hookd_progress_note(&r->progress,
                            "%s: stopped at line %ld (--on-error stop): the rows before it were "
                            "sent, none after it",
                            r->cli->prog, b->stopped_at);
    else if (interrupted)
        hookd_progress_note(&r->progress, "%s: interrupted after line %ld", r->cli->prog,
                            r->last_line);
    return b->failed || b->fatal || interrupted ? 1 : 0;
}

/* Prints the server's answer for one row with its line (--json). */
static void print_answer(const hookd_cli *cli, long line, const json_t *answer)
{
    if (!cli->json)
        return;
    json_t *o = json_is_object(answer) ? json_copy((json_t *)answer) : json_object();
    if (o && json_object_set_new(o, "line", json_integer(line)) == 0)
        hookd_cli_print_json(o);
    json_decref(o);
}

/* Whether s is only spaces and line ends. */
static bool blank(const char *s)
{
    return s[strspn(s, " \t\r\n")] == '\0';
}

/* Reads JSON lines, handing each object to make (which returns the item to
 * send, taken, or NULL with a reason for a bad row). */
static bool read_json_lines(import_run *r, json_t *(*make)(import_run *, json_t *, char *, size_t))
{
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    long line = r->last_line;
    bool on = true;
    while (on && !interrupted && (len = getline(&buf, &cap, r->in)) >= 0) {
        r->last_line = ++line;
        r->bulk.bytes_read += len;
        if (blank(buf))
            continue;
        json_error_t je;
        char why[300];
        json_t *v = json_loadb(buf, (size_t)len, JSON_REJECT_DUPLICATES, &je);
        json_t *item = NULL;
        if (!v)
            snprintf(why, sizeof why, "not JSON: %s (column %d)", je.text, je.column);
        else if (!json_is_object(v))
            snprintf(why, sizeof why, "not a JSON object");
        else
            item = make(r, v, why, sizeof why);
        on = item ? hookd_bulk_add(&r->bulk, item, line) : hookd_bulk_bad_row(&r->bulk, line, why);
        json_decref(v);
        hookd_progress_update(&r->progress, r->bulk.sent + r->bulk.failed, r->bulk.bytes_read);
    }
    free(buf);
    return on;
}

/* ---- activities send ------------------------------------------------------------------ */

static void on_activity(void *ctx, long line, const json_t *answer)
{
    import_run *r = ctx;
    r->duplicates += json_is_true(json_object_get(answer, "duplicate"));
    print_answer(r->cli, line, answer);
}

static json_t *activity_item(import_run *r, json_t *v, char *why, size_t len)
{
    (void)r, (void)why, (void)len;
    return json_incref(v);
}

static int run_activities(hookd_cli *cli)
{
    import_run r;
    int rc = open_run(&r, cli);
    if (rc) {
        close_run(&r);
        return rc;
    }
    r.bulk.path = "/api/v1/activities";
    r.bulk.list_key = "activities";
    r.bulk.on_answer = on_activity;
    hookd_progress_start(&r.progress);
    read_json_lines(&r, activity_item);
    flush_rest(&r);
    char detail[64];
    snprintf(detail, sizeof detail, " (%llu duplicates)", (unsigned long long)r.duplicates);
    rc = finish_run(&r, detail);
    close_run(&r);
    return rc;
}

/* ---- people import --------------------------------------------------------------------- */

static void on_person(void *ctx, long line, const json_t *answer)
{
    import_run *r = ctx;
    const char *status = json_string_value(json_object_get(answer, "status"));
    if (status && strcmp(status, "created") == 0)
        r->created++;
    else
        r->updated++;
    print_answer(r->cli, line, answer);
}

/* The server's fields (GET /api/v1/fields) into r->fields, id -> field,
 * to check a CSV's header before anything is sent. An ingest key may not
 * read them (403): then r->fields stays NULL and the server judges each
 * row. 0, or 1 (printed). */
static int load_fields(import_run *r)
{
    hookd_client_answer a;
    char err[512];
    if (hookd_client_call(&r->cli->client, "GET", "/api/v1/fields", NULL, &a, err, sizeof err))
        return hookd_cli_fail(r->cli, "cannot reach the server: %s", err);
    if (a.status == 403) {
        hookd_client_answer_clear(&a);
        return 0;
    }
    if (a.status != 200) {
        hookd_client_error_text(&a, err, sizeof err);
        hookd_client_answer_clear(&a);
        return hookd_cli_fail(r->cli, "%s", err);
    }
    r->fields = json_object();
    size_t i;
    const json_t *f;
    json_array_foreach(json_object_get(a.json, "fields"), i, f)
    {
        const char *id = json_string_value(json_object_get(f, "id"));
        if (id && r->fields)
            json_object_set(r->fields, id, (json_t *)f);
    }
    hookd_client_answer_clear(&a);
    return r->fields ? 0 : hookd_cli_fail(r->cli, "out of memory");
}

/* Whose field id is (the model's rule: its namespace), and its type's
 * name; false if it is no person or account field id. */
static bool field_of(const char *id, bool *account, const char **type)
{
    hookd_field_type t = hookd_object_field_type(id, HOOKD_OBJ_PERSON);
    *account = t == HOOKD_FT_INVALID;
    if (*account)
        t = hookd_object_field_type(id, HOOKD_OBJ_ACCOUNT);
    *type = t == HOOKD_FT_INVALID ? NULL : hookd_field_type_name(t);
    return *type != NULL;
}

/* A CSV cell as the value of a field of type (see the top comment). New. */
static json_t *cell_value(const char *type, const char *cell)
{
    if (!strcmp(type, "str") || !strcmp(type, "txt") || !strcmp(type, "idt") ||
        !strcmp(type, "tme"))
        return json_string(cell);
    if (!strcmp(type, "int")) {
        char *end;
        errno = 0;
        long long v = strtoll(cell, &end, 10);
        if (!*end && !errno)
            return json_integer(v);
        /* 12.5 goes as the number it is: the server's answer then explains
         * that decimals travel ×1000. */
        json_t *n = json_loads(cell, JSON_DECODE_ANY, NULL);
        if (json_is_number(n))
            return n;
        json_decref(n);
        return json_string(cell);
    }
    if (!strcmp(type, "bol")) {
        if (!strcmp(cell, "true") || !strcmp(cell, "yes") || !strcmp(cell, "1"))
            return json_true();
        if (!strcmp(cell, "false") || !strcmp(cell, "no") || !strcmp(cell, "0"))
            return json_false();
        return json_string(cell);
    }
    json_t *v = json_loads(cell, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    return v ? v : json_string(cell);
}

/* {"fields":{…}} with "account":{"fields":{…}} when account fields were
 * given, from person and account maps (taken). */
static json_t *person_item(json_t *person, json_t *account)
{
    json_t *item = json_pack("{s:o}", "fields", person);
    if (item && json_object_size(account))
        json_object_set_new(item, "account", json_pack("{s:O}", "fields", account));
    json_decref(account);
    return item;
}

/* A JSON line: {"fields",…} as it is, or a flat map of field ids split
 * into the person's and the account's fields. */
static json_t *person_from_json(import_run *r, json_t *v, char *why, size_t len)
{
    (void)r, (void)why, (void)len;
    if (json_object_get(v, "fields"))
        return json_incref(v);
    json_t *person = json_object(), *account = json_object();
    const char *key, *type;
    json_t *value;
    bool is_account;
    json_object_foreach(v, key, value)
    {
        /* An id that is no field's goes with the person: the server says
         * what is wrong with it. */
        field_of(key, &is_account, &type);
        json_object_set(is_account && type ? account : person, key, value);
    }
    return person_item(person, account);
}

/* One CSV column. */
typedef struct column {
    const char *id;   /* borrowed from the header's record copy */
    const char *type; /* "str", "int", … (static) */
    bool account;
} column;

/* The CSV's header: each column's field. 0, or 1 (printed). */
static int read_header(import_run *r, hookd_csv *csv, column **cols, char **ids, size_t *n)
{
    char err[256];
    long first;
    int got = hookd_csv_read(csv, &first, err, sizeof err);
    if (got <= 0)
        return hookd_cli_fail(r->cli, "%s",
                              got < 0 ? err
                                      : "the file is empty: a header row "
                                        "of field ids is expected");
    r->last_line = csv->line;
    *n = csv->n;
    *cols = calloc(csv->n, sizeof **cols);
    *ids = calloc(csv->n, HEADER_ID_MAX);
    if (!*cols || !*ids)
        return hookd_cli_fail(r->cli, "out of memory");
    for (size_t i = 0; i < csv->n; i++) {
        const char *id = csv->cells[i];
        if (i == 0 && strncmp(id, "\xEF\xBB\xBF", 3) == 0)
            id += 3; /* the byte order mark spreadsheets write */
        snprintf(*ids + i * HEADER_ID_MAX, HEADER_ID_MAX, "%s", id);
        column *c = &(*cols)[i];
        c->id = *ids + i * HEADER_ID_MAX;
        bool known = field_of(c->id, &c->account, &c->type) &&
                     (!r->fields || json_object_get(r->fields, c->id));
        if (!known)
            return hookd_cli_fail(r->cli,
                                  "line %ld, column %zu: '%s' is not a field id of the "
                                  "server (str::email, str:cm:plan, …; GET "
                                  "/api/v1/fields lists them)",
                                  first, i + 1, id);
    }
    return 0;
}

static json_t *person_from_record(const hookd_csv *csv, const column *cols, size_t ncols)
{
    json_t *person = json_object(), *account = json_object();
    for (size_t i = 0; i < ncols; i++) {
        if (*csv->cells[i])
            json_object_set_new(cols[i].account ? account : person, cols[i].id,
                                cell_value(cols[i].type, csv->cells[i]));
    }
    return person_item(person, account);
}

static int read_csv(import_run *r, bool *on)
{
    hookd_csv csv = {.f = r->in};
    column *cols = NULL;
    char *ids = NULL;
    size_t ncols = 0;
    int rc = read_header(r, &csv, &cols, &ids, &ncols);
    char err[256];
    long first;
    while (rc == 0 && *on && !interrupted) {
        int got = hookd_csv_read(&csv, &first, err, sizeof err);
        if (got == 0)
            break;
        r->last_line = csv.line;
        r->bulk.bytes_read = csv.bytes;
        if (got < 0) {
            *on = hookd_bulk_bad_row(&r->bulk, first, err);
            break;
        }
        if (csv.n == 1 && !*csv.cells[0])
            continue; /* an empty line */
        if (csv.n != ncols) {
            char why[128];
            snprintf(why, sizeof why, "%zu cells where the header has %zu", csv.n, ncols);
            *on = hookd_bulk_bad_row(&r->bulk, first, why);
        } else {
            *on = hookd_bulk_add(&r->bulk, person_from_record(&csv, cols, ncols), first);
        }
        hookd_progress_update(&r->progress, r->bulk.sent + r->bulk.failed, r->bulk.bytes_read);
    }
    free(cols);
    free(ids);
    hookd_csv_free(&csv);
    return rc;
}

/* "csv" or "jsonl": --format, else what the first character says. */
static const char *sniff_format(import_run *r)
{
    const char *given = hookd_cli_get(r->cli, "--format");
    if (given)
        return given;
    int ch;
    while ((ch = getc(r->in)) != EOF && strchr(" \t\r\n", ch))
        ; /* a blank line before the first row is not worth a line count */
    if (ch == EOF)
        return "csv";
    ungetc(ch, r->in);
    return ch == '{' ? "jsonl" : "csv";
}

static int run_people(hookd_cli *cli)
{
    import_run r;
    int rc = open_run(&r, cli);
    if (rc) {
        close_run(&r);
        return rc;
    }
    const char *format = sniff_format(&r);
    if (strcmp(format, "csv") != 0 && strcmp(format, "jsonl") != 0) {
        close_run(&r);
        return hookd_cli_usage_error(cli, "--format must be csv or jsonl (got '%s')", format);
    }
    json_t *extra = NULL;
    const char *merge_by = hookd_cli_get(cli, "--merge-by");
    if (merge_by) {
        json_t *ids = json_array();
        for (const char *p = merge_by; *p;) {
            size_t k = strcspn(p, ",");
            json_array_append_new(ids, json_stringn(p, k));
            p += k + (p[k] == ',');
        }
        extra = json_pack("{s:o}", "merge_by", ids);
    }
    r.bulk.path = "/api/v1/people/merge";
    r.bulk.list_key = "people";
    r.bulk.extra = extra;
    r.bulk.on_answer = on_person;
    rc = load_fields(&r);
    bool on = true;
    if (rc == 0) {
        hookd_progress_start(&r.progress);
        if (strcmp(format, "csv") == 0)
            rc = read_csv(&r, &on);
        else
            on = read_json_lines(&r, person_from_json);
    }
    if (rc == 0) {
        flush_rest(&r);
        char detail[96];
        snprintf(detail, sizeof detail, " (%llu created, %llu updated)",
                 (unsigned long long)r.created, (unsigned long long)r.updated);
        rc = finish_run(&r, detail);
    }
    json_decref(extra);
    close_run(&r);
    return rc;
}

/* ---- the tables ------------------------------------------------------------------------- */

/* What both bulk commands take, written once. */
/* clang-format off */
#define BULK_OPTS                                                                                  \
    {"--on-error", "stop|continue",                                                                \
     "at a bad row: stop there (default; the rows before it are sent), or skip it and go on "      \
     "(exit status 1 at the end)"},                                                                \
    {"--progress-interval", "DURATION",                                                            \
     "between progress lines when stderr is no terminal (default 5s)"},                            \
    {"--quiet", NULL, "no progress bar or lines (bad rows and the summary still print)"}
/* clang-format on */

static const hookd_cli_opt ACTIVITIES_OPTS[] = {
    BULK_OPTS,
    {NULL, NULL, NULL},
};

static const hookd_cli_opt PEOPLE_OPTS[] = {
    {"--format", "csv|jsonl",
     "the input's format (default: JSON lines if it starts with {, "
     "else CSV)"},
    {"--merge-by", "IDS",
     "the field ids people are found by, comma separated (default "
     "str::email)"},
    BULK_OPTS,
    {NULL, NULL, NULL},
};

const hookd_cli_cmd HOOKD_CLI_ACTIVITIES_SEND = {
    "activities send",
    "FILE|-",
    1,
    "Send activities from a file of JSON lines.",
    "Each line is one activity object as POST /api/v1/activities takes it; they go in batches "
    "of 1,000. A bad row is reported with its line and the server's message. With --json each "
    "row the server took prints as its answer with \"line\" added, and each bad row as "
    "{\"line\",\"error\"}.",
    ACTIVITIES_OPTS,
    run_activities};

const hookd_cli_cmd HOOKD_CLI_PEOPLE_IMPORT = {
    "people import",
    "FILE|-",
    1,
    "Create or update people from CSV or JSON lines.",
    "CSV: a header row of field ids (str::email,str::first,str:o:name,…), then one person a "
    "row; account fields (str:o:…) go to the person's account. JSON lines: "
    "{\"fields\":{…},\"account\":{…}} as POST /api/v1/people/merge takes it, or a flat map of "
    "field ids. Sent in batches of 1,000; --json prints {\"line\",\"contact_id\",\"status\"} "
    "per row and {\"line\",\"error\"} per bad row.",
    PEOPLE_OPTS,
    run_people};

/*
 * logs.c — `hookd logs WEBHOOK` (a webhook's deliveries, newest first, or
 * followed as they come) and `hookd retry WEBHOOK DELIVERY` (cli.h).
 *
 * --follow polls the first page of the log every --interval and prints each
 * delivery the first time it is seen, until SIGINT or SIGTERM (exit 0). It
 * watches the newest page only (200 entries, the API's largest): a delivery
 * that reaches the --state asked for while more than a page of newer ones
 * already has is not seen.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "util/duration.h"

#define PATH_MAX_LEN 600
#define LOGS_PAGE 200 /* the API's largest page */
#define LOGS_DEFAULT 50

static volatile sig_atomic_t stop_asked;

static void on_stop(int sig)
{
    (void)sig;
    stop_asked = 1;
}

/* ---- the set of deliveries seen (--follow) ------------------------------------------- */

typedef struct seen_set {
    char **slots;
    size_t cap, n;
} seen_set;

static size_t hash_of(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Adds id; returns 1 if it was new, 0 if seen before, -1 out of memory. */
static int seen_add(seen_set *s, const char *id)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        char **slots = calloc(cap, sizeof *slots);
        if (!slots)
            return -1;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->slots[i])
                continue;
            size_t j = hash_of(s->slots[i]) & (cap - 1);
            while (slots[j])
                j = (j + 1) & (cap - 1);
            slots[j] = s->slots[i];
        }
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    size_t j = hash_of(id) & (s->cap - 1);
    for (; s->slots[j]; j = (j + 1) & (s->cap - 1)) {
        if (strcmp(s->slots[j], id) == 0)
            return 0;
    }
    if (!(s->slots[j] = strdup(id)))
        return -1;
    s->n++;
    return 1;
}

static void seen_free(seen_set *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i]);
    free(s->slots);
}

/* ---- printing ----------------------------------------------------------------------------- */

/* One entry's cells: CREATED DELIVERY KIND ACTIVITY STATE ATTEMPTS STATUS
 * NEXT/ERROR. */
#define ENTRY_COLS 8
static const char *const ENTRY_HEAD[ENTRY_COLS] = {"CREATED", "DELIVERY", "KIND",   "ACTIVITY",
                                                   "STATE",   "ATTEMPTS", "STATUS", "ERROR / NEXT"};
static const int ENTRY_WIDTH[ENTRY_COLS] = {24, 36, 8, 20, 9, 8, 6, 0};

static void print_row(const hookd_cli *cli, const char *const *cells)
{
    for (int c = 0; c < ENTRY_COLS; c++) {
        const char *s = cells[c] && *cells[c] ? cells[c] : "-";
        if (!cli->tty_out)
            printf("%s%s", s, c + 1 < ENTRY_COLS ? "\t" : "\n");
        else if (c + 1 < ENTRY_COLS)
            printf("%-*s  ", ENTRY_WIDTH[c], s);
        else
            printf("%s\n", s);
    }
}

static void print_entry(const hookd_cli *cli, const json_t *e)
{
    if (cli->json) {
        hookd_cli_print_json(e);
        fflush(stdout); /* --follow into a pipe: each line as it comes */
        return;
    }
    char attempts[24], status[24], last[300];
    snprintf(attempts, sizeof attempts, "%lld",
             (long long)json_integer_value(json_object_get(e, "attempts")));
    const json_t *code = json_object_get(e, "status_code");
    snprintf(status, sizeof status, "%lld", (long long)json_integer_value(code));
    const char *error = json_string_value(json_object_get(e, "error"));
    const char *next = json_string_value(json_object_get(e, "next_attempt_at"));
    snprintf(last, sizeof last, "%s%s%s", error ? error : "", error && next ? "; " : "",
             next ? "next " : "");
    if (next)
        strncat(last, next, sizeof last - strlen(last) - 1);
    const char *cells[ENTRY_COLS] = {
        json_string_value(json_object_get(e, "created_at")),
        json_string_value(json_object_get(e, "id")),
        json_string_value(json_object_get(e, "kind")),
        json_string_value(json_object_get(e, "field_id")),
        json_string_value(json_object_get(e, "state")),
        attempts,
        json_is_integer(code) ? status : NULL,
        last,
    };
    print_row(cli, cells);
    fflush(stdout);
}

/* ---- reading pages ---------------------------------------------------------------------- */

/* GET one page of WEBHOOK's log: limit entries from cursor (NULL: the
 * newest). 0 with *a filled, or 1 (printed). */
static int get_page(const hookd_cli *cli, int limit, const char *cursor, hookd_client_answer *a)
{
    char path[PATH_MAX_LEN] = "/api/v1/webhooks/";
    const char *state = hookd_cli_get(cli, "--state");
    if (hookd_cli_path_segment(path, sizeof path, cli->pos[0]) != 0)
        return hookd_cli_usage_error(cli, "'%.80s' is no webhook id", cli->pos[0]);
    size_t len = strlen(path);
    snprintf(path + len, sizeof path - len, "/logs?limit=%d", limit);
    if (state) {
        strncat(path, "&state=", sizeof path - strlen(path) - 1);
        if (hookd_cli_path_segment(path, sizeof path, state) != 0)
            return hookd_cli_usage_error(cli, "--state is too long");
    }
    if (cursor) {
        strncat(path, "&cursor=", sizeof path - strlen(path) - 1);
        if (hookd_cli_path_segment(path, sizeof path, cursor) != 0)
            return hookd_cli_fail(cli, "the server's cursor is too long");
    }
    return hookd_cli_call(cli, "GET", path, NULL, a);
}

/* Up to want entries, newest first, page after page, into *entries (new);
 * *next gets the cursor after them (new, or NULL at the end). */
static int read_entries(const hookd_cli *cli, long want, json_t **entries, char **next)
{
    json_t *all = json_array();
    char *cursor = NULL;
    int rc = all ? 0 : hookd_cli_fail(cli, "out of memory");
    while (rc == 0 && (long)json_array_size(all) < want) {
        long left = want - (long)json_array_size(all);
        hookd_client_answer a;
        if ((rc = get_page(cli, left < LOGS_PAGE ? (int)left : LOGS_PAGE, cursor, &a)) != 0)
            break;
        json_array_extend(all, json_object_get(a.json, "entries"));
        const char *c = json_string_value(json_object_get(a.json, "next_cursor"));
        free(cursor);
        cursor = c ? strdup(c) : NULL;
        hookd_client_answer_clear(&a);
        if (!cursor)
            break;
    }
    if (rc) {
        json_decref(all);
        free(cursor);
        return rc;
    }
    *entries = all;
    *next = cursor;
    return 0;
}

/* Prints the entries of list not yet in seen, oldest first. */
static int print_new(const hookd_cli *cli, const json_t *list, seen_set *seen)
{
    for (size_t i = json_array_size(list); i-- > 0;) {
        const json_t *e = json_array_get(list, i);
        const char *id = json_string_value(json_object_get(e, "id"));
        int r = id ? seen_add(seen, id) : 0;
        if (r < 0)
            return hookd_cli_fail(cli, "out of memory");
        if (r > 0)
            print_entry(cli, e);
    }
    return 0;
}

/* Sleeps ms, or less if a stop was asked. */
static void nap(int64_t ms)
{
    while (ms > 0 && !stop_asked) {
        int64_t step = ms < 100 ? ms : 100;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

static int follow(const hookd_cli *cli, const json_t *first, int64_t interval_ms)
{
    seen_set seen = {0};
    struct sigaction sa = {0};
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int rc = print_new(cli, first, &seen);
    while (rc == 0 && !stop_asked) {
        nap(interval_ms);
        if (stop_asked)
            break;
        hookd_client_answer a;
        if ((rc = get_page(cli, LOGS_PAGE, NULL, &a)) != 0)
            break;
        rc = print_new(cli, json_object_get(a.json, "entries"), &seen);
        hookd_client_answer_clear(&a);
    }
    seen_free(&seen);
    return rc;
}

static int run_logs(hookd_cli *cli)
{
    long want = LOGS_DEFAULT;
    const char *limit = hookd_cli_get(cli, "--limit");
    if (limit) {
        char *end;
        want = strtol(limit, &end, 10);
        if (!*limit || *end || want < 1 || want > 1000000)
            return hookd_cli_usage_error(cli, "--limit must be a number from 1 to 1000000");
    }
    int64_t interval_ms = 1000;
    const char *interval = hookd_cli_get(cli, "--interval");
    if (interval && (hookd_duration_parse(interval, &interval_ms) != 0 || interval_ms < 100))
        return hookd_cli_usage_error(cli, "--interval must be a duration of 100ms or more, "
                                          "like 2s");
    bool following = hookd_cli_get(cli, "--follow") != NULL;
    json_t *entries = NULL;
    char *next = NULL;
    int rc = read_entries(cli, want, &entries, &next);
    if (rc)
        return rc;
    if (!cli->json || following) {
        if (!cli->json)
            print_row(cli, ENTRY_HEAD);
        if (following) {
            rc = follow(cli, entries, interval_ms);
        } else {
            for (size_t i = 0; i < json_array_size(entries); i++)
                print_entry(cli, json_array_get(entries, i));
        }
    } else {
        json_t *out = json_pack("{s:O,s:s?}", "entries", entries, "next_cursor", next);
        if (out && !next)
            json_object_set_new(out, "next_cursor", json_null());
        hookd_cli_print_json(out);
        json_decref(out);
    }
    json_decref(entries);
    free(next);
    return rc;
}

static int run_retry(hookd_cli *cli)
{
    char path[PATH_MAX_LEN] = "/api/v1/webhooks/";
    if (hookd_cli_path_segment(path, sizeof path, cli->pos[0]) != 0 ||
        (strncat(path, "/logs/", sizeof path - strlen(path) - 1),
         hookd_cli_path_segment(path, sizeof path, cli->pos[1]) != 0))
        return hookd_cli_usage_error(cli, "the ids are too long");
    strncat(path, "/retry", sizeof path - strlen(path) - 1);
    hookd_client_answer a;
    int rc = hookd_cli_call(cli, "POST", path, NULL, &a);
    if (rc)
        return rc;
    if (cli->json) {
        hookd_cli_print_json(a.json);
    } else {
        printf("retrying %s: %s, %lld attempts so far\n", cli->pos[1],
               json_string_value(json_object_get(a.json, "state")),
               (long long)json_integer_value(json_object_get(a.json, "attempts")));
    }
    hookd_client_answer_clear(&a);
    return 0;
}

static const hookd_cli_opt LOGS_OPTS[] = {
    {"--state", "STATE",
     "only deliveries in this state: pending, retrying, succeeded, failed, "
     "held or cancelled"},
    {"--limit", "N", "how many of the newest to show (default 50)"},
    {"--follow", NULL, "keep printing deliveries as they appear, until Ctrl-C"},
    {"--interval", "DURATION", "how often --follow asks (default 1s)"},
    {NULL, NULL, NULL},
};

static const hookd_cli_opt NO_OPTS[] = {{NULL, NULL, NULL}};

const hookd_cli_cmd HOOKD_CLI_LOGS = {
    "logs",
    "WEBHOOK",
    1,
    "Show a webhook's deliveries, newest first.",
    "WEBHOOK is the webhook's id. With --follow the newest are printed oldest first, then each "
    "new delivery once, when it is first seen; with --json each is one line of JSON (without "
    "--follow: the API's {\"entries\":[…],\"next_cursor\"}).",
    LOGS_OPTS,
    run_logs};

const hookd_cli_cmd HOOKD_CLI_RETRY = {
    "retry",
    "WEBHOOK DELIVERY",
    2,
    "Send a delivery again now.",
    "A failed delivery gets one more attempt; a pending or retrying one goes out at once. "
    "A succeeded or cancelled delivery is refused (exit status 1).",
    NO_OPTS,
    run_retry};

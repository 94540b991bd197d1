/*
 * args.h — what every client command (`hookd webhooks|logs|retry|activities|
 * people …`) shares: its description as data (one table of options per
 * command, the source of its --help and, later, of the man page), the
 * parsing of argv against that table, the connection options (--url,
 * --key, --key-file, --json), and the ways a command ends (usage error: 2;
 * refused by the server: 1).
 *
 * Runs on the main thread of a short-lived process. Parsed values point
 * into argv (borrowed); a hookd_cli owns only its value list, freed by
 * hookd_cli_free.
 */
#ifndef HOOKD_CLI_ARGS_H
#define HOOKD_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cli/client.h"
#include "config.h"

/* One option of a command. arg is the name of its value ("N", "FILE"), or
 * NULL for a switch. */
typedef struct hookd_cli_opt {
    const char *flag;
    const char *arg;
    const char *help;
} hookd_cli_opt;

struct hookd_cli;

/* One command: "webhooks list", "logs". args is the synopsis of its
 * positional arguments ("WEBHOOK DELIVERY"), n_args how many it takes.
 * opts ends with an entry whose flag is NULL. */
typedef struct hookd_cli_cmd {
    const char *name;
    const char *args;
    int n_args;
    const char *summary;
    const char *about; /* a paragraph after the summary, or NULL */
    const hookd_cli_opt *opts;
    int (*run)(struct hookd_cli *cli);
} hookd_cli_cmd;

/* The options every client command takes, beside its own. */
extern const hookd_cli_opt HOOKD_CLI_COMMON_OPTS[];

#define HOOKD_CLI_DEFAULT_URL "http://127.0.0.1:8080"
#define HOOKD_CLI_KEY_MAX 300

typedef struct hookd_cli_value {
    const hookd_cli_opt *opt; /* its entry in a table (static) */
    const char *value;        /* "" for a switch; borrowed from argv */
} hookd_cli_value;

/* A parsed command line. */
typedef struct hookd_cli {
    const hookd_cli_cmd *cmd;
    char prog[64]; /* "hookd webhooks list", the prefix of every message */
    const char *pos[4];
    int n_pos;
    hookd_cli_value *values; /* in the order given */
    size_t n_values;
    hookd_client client;
    bool json;    /* --json */
    bool tty_out; /* stdout is a terminal */
    bool tty_err; /* stderr is a terminal */
    char key[HOOKD_CLI_KEY_MAX];
} hookd_cli;

/* Parses argv (what follows the command's words) for cmd, fills the
 * connection from the options and getenv_fn. Returns -1 when parsed (run
 * the command), or an exit status: 0 after --help was printed, 2 after a
 * usage error was printed. */
int hookd_cli_parse(hookd_cli *cli, const hookd_cli_cmd *cmd, int argc, char **argv,
                    hookd_getenv_fn getenv_fn);

void hookd_cli_free(hookd_cli *cli);

/* The last value given for flag (a switch gives ""), or NULL. A command's
 * own option shadows a common one of the same name (`webhooks create
 * --url` is the webhook's URL; the server is then --server or HOOKD_URL). */
const char *hookd_cli_get(const hookd_cli *cli, const char *flag);

/* The i-th value given for a repeatable flag, or NULL past the last. */
const char *hookd_cli_nth(const hookd_cli *cli, const char *flag, size_t i);

/* Prints cmd's --help to f. */
void hookd_cli_help(const hookd_cli_cmd *cmd, FILE *f);

/* "prog: <message>" on stderr and 2. */
int hookd_cli_usage_error(const hookd_cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "prog: <message>" on stderr and 1. */
int hookd_cli_fail(const hookd_cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Makes one call. Returns 0 when it got an answer with a status in
 * [200, 300), filling *a; otherwise prints why (the server's message, or
 * why there was no answer) and returns 1 with *a cleared. */
int hookd_cli_call(const hookd_cli *cli, const char *method, const char *path, const json_t *body,
                   hookd_client_answer *a);

/* Prints v as one line of JSON on stdout (the --json output). */
void hookd_cli_print_json(const json_t *v);

/* Appends s to path percent-escaped, so an argument is always one segment.
 * Returns 0, or -1 if it does not fit in cap. */
int hookd_cli_path_segment(char *path, size_t cap, const char *s);

/* A table: rows of cells (borrowed strings, NULL shown as "-"); the first
 * row is the header. On a terminal the columns are aligned and the widest
 * cells cut to the terminal's width; otherwise cells are separated by tabs
 * and never cut, for cut(1) and awk. */
void hookd_cli_table(const hookd_cli *cli, const char *const *cells, size_t rows, size_t cols);

#endif

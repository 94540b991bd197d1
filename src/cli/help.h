/*
 * help.h — every help text of the command line, written from data: the
 * commands main.c lists (hookd_command) and their option tables
 * (hookd_option, config.h). The same data gives the plain help on a
 * terminal, the man page hookd.1 (roff) and the option tables of
 * docs/configuration.md (Markdown), so none of them is a hand copy.
 *
 * Pure output to the FILE given; nothing is kept. Main thread.
 */
#ifndef HOOKD_CLI_HELP_H
#define HOOKD_CLI_HELP_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"

typedef enum hookd_help_format {
    HOOKD_HELP_TEXT,     /* a terminal: wrapped to 80 columns */
    HOOKD_HELP_ROFF,     /* the man page's markup */
    HOOKD_HELP_MARKDOWN, /* tables for docs/ */
} hookd_help_format;

/* One command of `hookd`. Static data, borrowed. */
typedef struct hookd_command {
    const char *name;     /* "serve" */
    const char *synopsis; /* what follows the name; one form a line ("list\nrevoke ID") */
    const char *summary;  /* one line: what the command does */
    int (*run)(int argc, char **argv); /* the arguments after the name; the exit status */
    /* The command's options, or NULL if it has none. */
    const hookd_option *(*options)(size_t *count);
    bool grouped;      /* its options are listed under their groups' headings */
    const char *about; /* a paragraph after the summary in the help and man page, or NULL */
    /* false: main.c answers `--help`/`-h` anywhere in the arguments with
     * hookd_help_command; true: the command answers them itself (per
     * subcommand, say). */
    bool own_help;
} hookd_command;

/* Writes opts[0..n) in fmt, under their groups' headings if grouped. */
void hookd_help_options(FILE *out, hookd_help_format fmt, const hookd_option *opts, size_t n,
                        bool grouped);

/* `hookd --help`: every command, then where each one's options are. */
void hookd_help_usage(FILE *out, const hookd_command *cmds, size_t n);

/* `hookd CMD --help`: the command's forms, summary and options. */
void hookd_help_command(FILE *out, const hookd_command *cmd);

/* The man page hookd.1: every command, the options of each, the
 * environment variables they read, files and exit status. */
void hookd_help_man(FILE *out, const hookd_command *cmds, size_t n, const char *version);

/* The option tables of docs/configuration.md: each command that has
 * options, under a "## hookd NAME" heading, grouped as in its help. */
void hookd_help_markdown(FILE *out, const hookd_command *cmds, size_t n);

/* The command named name in cmds[0..n), or NULL. */
const hookd_command *hookd_help_find(const hookd_command *cmds, size_t n, const char *name);

#endif

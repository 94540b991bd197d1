/*
 * cli.h — the command line's client commands, `hookd webhooks|logs|retry|
 * activities|people …`, which talk to a running server over its API: one
 * table of commands (cli.c) that main.c hands argv to.
 *
 * Runs on the main thread of a short-lived process.
 */
#ifndef HOOKD_CLI_CLI_H
#define HOOKD_CLI_CLI_H

#include <stdio.h>

#include "cli/args.h"
#include "config.h"

/* Runs the client command group ("webhooks", "logs", …; a row of main.c's
 * command table) with what follows its name in argv. Returns its exit
 * status (0, 1 refused or failed, 2 usage error), or -1 if group is no
 * client command. */
int hookd_cli_group(const char *group, int argc, char **argv, hookd_getenv_fn getenv_fn);


/* The commands, for their help and the man page: one per word pair. */
extern const hookd_cli_cmd *const HOOKD_CLI_COMMANDS[];

/* Each command group's table (webhooks.c, logs.c, import.c). */
extern const hookd_cli_cmd HOOKD_CLI_WEBHOOKS_LIST, HOOKD_CLI_WEBHOOKS_SHOW,
    HOOKD_CLI_WEBHOOKS_CREATE, HOOKD_CLI_WEBHOOKS_EDIT, HOOKD_CLI_WEBHOOKS_DELETE,
    HOOKD_CLI_WEBHOOKS_CONNECT, HOOKD_CLI_WEBHOOKS_DISCONNECT, HOOKD_CLI_WEBHOOKS_TEST,
    HOOKD_CLI_LOGS, HOOKD_CLI_RETRY, HOOKD_CLI_ACTIVITIES_SEND, HOOKD_CLI_PEOPLE_IMPORT;

#endif

/*
 * cli.c — the table of client commands (cli.h) and how argv finds one: the
 * first word names a command or a group ("webhooks"), the second the
 * group's command ("list").
 */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>


const hookd_cli_cmd *const HOOKD_CLI_COMMANDS[] = {
    &HOOKD_CLI_WEBHOOKS_LIST,
    &HOOKD_CLI_WEBHOOKS_SHOW,
    &HOOKD_CLI_WEBHOOKS_CREATE,
    &HOOKD_CLI_WEBHOOKS_EDIT,
    &HOOKD_CLI_WEBHOOKS_DELETE,
    &HOOKD_CLI_WEBHOOKS_CONNECT,
    &HOOKD_CLI_WEBHOOKS_DISCONNECT,
    &HOOKD_CLI_WEBHOOKS_TEST,
    &HOOKD_CLI_LOGS,
    &HOOKD_CLI_RETRY,
    &HOOKD_CLI_ACTIVITIES_SEND,
    &HOOKD_CLI_PEOPLE_IMPORT,
    NULL,
};

/* The length of name's first word. */
static size_t group_len(const char *name)
{
    return strcspn(name, " ");
}

static bool in_group(const hookd_cli_cmd *c, const char *group)
{
    return group_len(c->name) == strlen(group) && strncmp(c->name, group, strlen(group)) == 0;
}

static void usage_line(const hookd_cli_cmd *c, FILE *f)
{
    char left[64];
    snprintf(left, sizeof left, "%s%s%s", c->name, c->args ? " " : "", c->args ? c->args : "");
    fprintf(f, "  hookd %-34s %s\n", left, c->summary);
}

/* `hookd webhooks` with no command, or one it does not have: the group's
 * commands, on stdout with status 0 for --help, else on stderr with 2. */
static int group_usage(const char *group, const char *problem)
{
    FILE *f = problem ? stderr : stdout;
    if (problem)
        fprintf(f, "hookd %s: %s\n", group, problem);
    fprintf(f, "usage:\n");
    for (size_t i = 0; HOOKD_CLI_COMMANDS[i]; i++) {
        if (in_group(HOOKD_CLI_COMMANDS[i], group))
            usage_line(HOOKD_CLI_COMMANDS[i], f);
    }
    fprintf(f, "(hookd %s COMMAND --help shows a command's options)\n", group);
    return problem ? 2 : 0;
}

static bool is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "help") == 0;
}

int hookd_cli_group(const char *group, int argc, char **argv, hookd_getenv_fn getenv_fn)
{
    const char *sub = argc >= 1 ? argv[0] : NULL; /* "list" of "webhooks list" */
    const hookd_cli_cmd *cmd = NULL;
    bool grouped = false;
    for (size_t i = 0; HOOKD_CLI_COMMANDS[i]; i++) {
        const hookd_cli_cmd *c = HOOKD_CLI_COMMANDS[i];
        if (!in_group(c, group))
            continue;
        if (!strchr(c->name, ' ')) {
            cmd = c;
            break;
        }
        grouped = true;
        if (sub && strcmp(c->name + strlen(group) + 1, sub) == 0) {
            cmd = c;
            break;
        }
    }
    if (!cmd && !grouped)
        return -1;
    if (!cmd) {
        if (!sub)
            return group_usage(group, "a command is needed");
        if (is_help(sub))
            return group_usage(group, NULL);
        char problem[128];
        snprintf(problem, sizeof problem, "unknown command '%.60s'", sub);
        return group_usage(group, problem);
    }
    int skip = strchr(cmd->name, ' ') ? 1 : 0;
    hookd_cli cli;
    int rc = hookd_cli_parse(&cli, cmd, argc - skip, argv + skip, getenv_fn);
    if (rc < 0) {
        fflush(stdout);
        rc = cmd->run(&cli);
    }
    hookd_cli_free(&cli);
    fflush(stdout);
    return rc;
}

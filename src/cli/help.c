/*
 * help.c — the help texts (help.h): plain text wrapped for a terminal, roff
 * for the man page, Markdown tables for docs/configuration.md.
 */
#include "cli/help.h"

#include "cli/cli.h"

#include <string.h>

#define WIDTH 80
#define HELP_COL 32 /* where an option's explanation starts */

/* ---- plain text ---------------------------------------------------------- */

static void spaces(FILE *out, int n)
{
    for (int i = 0; i < n; i++)
        fputc(' ', out);
}

/* Writes text's words from column col, each line that it wraps to starting
 * at column indent; ends the last line. */
static void wrap(FILE *out, const char *text, int col, int indent)
{
    const char *p = text;
    bool first = true;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (len == 0)
            break;
        if (!first && col + 1 + (int)len > WIDTH) {
            fputc('\n', out);
            spaces(out, indent);
            col = indent;
        } else if (!first) {
            fputc(' ', out);
            col++;
        }
        fwrite(p, 1, len, out);
        col += (int)len;
        p += len;
        first = false;
    }
    fputc('\n', out);
}

/* The default as shown: the value, what no value means, or NULL. */
static const char *shown_default(const hookd_option *o)
{
    return o->def ? o->def : o->unset;
}

static void text_option(FILE *out, const hookd_option *o)
{
    char head[128];
    int col =
        snprintf(head, sizeof head, "  %s%s%s", o->flag, o->arg ? " " : "", o->arg ? o->arg : "");
    fputs(head, out);
    if (col + 2 > HELP_COL) {
        fputc('\n', out);
        col = 0;
    }
    spaces(out, HELP_COL - col);
    wrap(out, o->help ? o->help : "", HELP_COL, HELP_COL);
    char where[256];
    const char *def = shown_default(o);
    snprintf(where, sizeof where, "[%s%s%s%s%s]", o->env ? o->env : "",
             o->env && !o->takes_value ? "=1" : "", o->env && def ? "; " : "",
             def ? "default: " : "", def ? def : "");
    if (strcmp(where, "[]") != 0) {
        spaces(out, HELP_COL);
        wrap(out, where, HELP_COL, HELP_COL);
    }
}

/* ---- roff ---------------------------------------------------------------- */

/* Writes s as roff text: backslashes and hyphens escaped (so a flag
 * renders as ASCII and can be copied), a leading dot or quote defused. */
static void roff_puts(FILE *out, const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", out);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '-')
            fputs("\\-", out);
        else if (*s == '\n')
            fputs("\n.br\n", out);
        else
            fputc(*s, out);
    }
}

/* An option's item in the man page: its tag (flag and argument), its
 * help. */
static void roff_item(FILE *out, const char *flag, const char *arg, const char *help)
{
    fputs(".TP\n\\fB", out);
    roff_puts(out, flag);
    fputs("\\fR", out);
    if (arg) {
        fputs(" \\fI", out);
        roff_puts(out, arg);
        fputs("\\fR", out);
    }
    fputc('\n', out);
    roff_puts(out, help ? help : "");
}

static void roff_option(FILE *out, const hookd_option *o)
{
    roff_item(out, o->flag, o->arg, o->help);
    fputs(".\n.br\n", out);
    const char *def = shown_default(o);
    if (o->env) {
        fputs("Environment: \\fB", out);
        roff_puts(out, o->env);
        fputs(o->takes_value ? "\\fR" : "=1\\fR", out);
        fputs(def ? ". " : ".\n", out);
    }
    if (def) {
        fputs("Default: ", out);
        roff_puts(out, def);
        fputs(".\n", out);
    }
}

/* ---- Markdown -------------------------------------------------------------- */

/* Writes s for a table cell: a | would end the cell, and outside a code
 * span (code false) <db> would be read as an HTML tag. */
static void md_puts_as(FILE *out, const char *s, bool code)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", out);
        else if (!code && *s == '<')
            fputs("&lt;", out);
        else if (!code && *s == '>')
            fputs("&gt;", out);
        else
            fputc(*s, out);
    }
}

static void md_puts(FILE *out, const char *s)
{
    md_puts_as(out, s, true);
}

static void md_text(FILE *out, const char *s)
{
    md_puts_as(out, s, false);
}

static void md_header(FILE *out)
{
    fputs("| flag | variable | default | meaning |\n|---|---|---|---|\n", out);
}

static void md_option(FILE *out, const hookd_option *o)
{
    fputs("| `", out);
    md_puts(out, o->flag);
    if (o->arg) {
        fputc(' ', out);
        md_puts(out, o->arg);
    }
    fputs("` | ", out);
    if (o->env) {
        fputc('`', out);
        md_puts(out, o->env);
        fputs(o->takes_value ? "`" : "=1`", out);
    } else {
        fputs("—", out);
    }
    fputs(" | ", out);
    if (o->def) {
        fputc('`', out);
        md_puts(out, o->def);
        fputc('`', out);
    } else {
        md_text(out, o->unset ? o->unset : "—");
    }
    fputs(" | ", out);
    md_text(out, o->help ? o->help : "");
    fputs(" |\n", out);
}

/* ---- lists of options -------------------------------------------------------- */

static void one_option(FILE *out, hookd_help_format fmt, const hookd_option *o)
{
    if (fmt == HOOKD_HELP_ROFF)
        roff_option(out, o);
    else if (fmt == HOOKD_HELP_MARKDOWN)
        md_option(out, o);
    else
        text_option(out, o);
}

static void group_heading(FILE *out, hookd_help_format fmt, const char *title)
{
    if (fmt == HOOKD_HELP_ROFF) {
        fputs(".SS ", out);
        roff_puts(out, title);
        fputc('\n', out);
    } else if (fmt == HOOKD_HELP_MARKDOWN) {
        fprintf(out, "### %s\n\n", title);
        md_header(out);
    } else {
        fprintf(out, "\n%s:\n", title);
    }
}

void hookd_help_options(FILE *out, hookd_help_format fmt, const hookd_option *opts, size_t n,
                        bool grouped)
{
    if (!grouped) {
        if (fmt == HOOKD_HELP_MARKDOWN)
            md_header(out);
        for (size_t i = 0; i < n; i++)
            one_option(out, fmt, &opts[i]);
        return;
    }
    /* A group past the known ones (a table row without one) still shows,
     * under "Other", so no option is ever left out of the help. */
    for (int g = 0; g <= HOOKD_OPTG_COUNT; g++) {
        bool any = false;
        for (size_t i = 0; i < n; i++) {
            int og = opts[i].group < HOOKD_OPTG_COUNT ? (int)opts[i].group : HOOKD_OPTG_COUNT;
            if (og != g)
                continue;
            if (!any) {
                if (fmt == HOOKD_HELP_MARKDOWN && g > 0)
                    fputc('\n', out);
                group_heading(out, fmt, hookd_option_group_title((hookd_option_group)g));
            }
            any = true;
            one_option(out, fmt, &opts[i]);
        }
    }
}

/* ---- commands ------------------------------------------------------------------ */

/* Writes "hookd NAME FORM" for each form of cmd's synopsis, each line
 * starting with first (the first line) or rest. */
static void text_forms(FILE *out, const hookd_command *cmd, const char *first, const char *rest)
{
    const char *p = cmd->synopsis ? cmd->synopsis : "";
    bool again = false;
    do {
        size_t len = strcspn(p, "\n");
        fprintf(out, "%shookd %s%s%.*s\n", again ? rest : first, cmd->name, len ? " " : "",
                (int)len, p);
        p += len;
        again = true;
    } while (*p && *++p);
}

const hookd_command *hookd_help_find(const hookd_command *cmds, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++) {
        if (strcmp(cmds[i].name, name) == 0)
            return &cmds[i];
    }
    return NULL;
}

void hookd_help_command(FILE *out, const hookd_command *cmd)
{
    text_forms(out, cmd, "usage: ", "       ");
    fputc('\n', out);
    wrap(out, cmd->summary, 0, 0);
    if (cmd->about) {
        fputc('\n', out);
        wrap(out, cmd->about, 0, 0);
    }
    if (cmd->options) {
        size_t n;
        const hookd_option *opts = cmd->options(&n);
        fputs("\noptions:\n", out);
        hookd_help_options(out, HOOKD_HELP_TEXT, opts, n, cmd->grouped);
    }
}

void hookd_help_usage(FILE *out, const hookd_command *cmds, size_t n)
{
    fputs("usage: hookd COMMAND [ARGUMENTS]\n\ncommands:\n", out);
    for (size_t i = 0; i < n; i++) {
        text_forms(out, &cmds[i], "  ", "  ");
        spaces(out, 6);
        wrap(out, cmds[i].summary, 6, 6);
    }
    fputs("\n`hookd COMMAND --help` shows a command's options; `man hookd` has them all.\n", out);
}

/* ---- the man page ----------------------------------------------------------------- */

static const char MAN_DESCRIPTION[] =
    "hookd receives activities and people over an HTTP API and delivers them to webhooks: "
    "each delivery a signed HTTP POST (Standard Webhooks), retried on a schedule until it "
    "succeeds or its retries run out, and logged. It keeps its state in a SQLite file or a "
    "PostgreSQL database, and serves an operator page beside the API.\n"
    "The same binary is the server (hookd serve) and a command line that talks to a running "
    "server.";

static void man_forms(FILE *out, const hookd_command *cmd)
{
    const char *p = cmd->synopsis ? cmd->synopsis : "";
    do {
        size_t len = strcspn(p, "\n");
        char form[256];
        snprintf(form, sizeof form, "%.*s", (int)len, p);
        fputs(".br\n\\fBhookd ", out);
        roff_puts(out, cmd->name);
        fputs("\\fR", out);
        if (len) {
            fputc(' ', out);
            roff_puts(out, form);
        }
        fputc('\n', out);
        p += len;
    } while (*p && *++p);
}

/* Whether env is read by an option of cmds[0..c] before opts[i] of cmds[c]. */
static bool env_seen(const hookd_command *cmds, size_t c, size_t i, const char *env)
{
    for (size_t k = 0; k <= c; k++) {
        if (!cmds[k].options)
            continue;
        size_t n;
        const hookd_option *opts = cmds[k].options(&n);
        for (size_t j = 0; j < (k == c ? i : n); j++) {
            if (opts[j].env && strcmp(opts[j].env, env) == 0)
                return true;
        }
    }
    return false;
}

/* "As --flag of hookd CMD" for every option of cmds[c..] that reads env. */
static void env_uses(FILE *out, const hookd_command *cmds, size_t ncmds, size_t c, const char *env)
{
    const char *sep = "As ";
    bool is_switch = false;
    for (; c < ncmds; c++) {
        if (!cmds[c].options)
            continue;
        size_t n;
        const hookd_option *opts = cmds[c].options(&n);
        for (size_t i = 0; i < n; i++) {
            if (!opts[i].env || strcmp(opts[i].env, env) != 0)
                continue;
            fputs(sep, out);
            fputs("\\fB", out);
            roff_puts(out, opts[i].flag);
            fputs("\\fR of \\fBhookd ", out);
            roff_puts(out, cmds[c].name);
            fputs("\\fR", out);
            sep = "; as ";
            is_switch = is_switch || !opts[i].takes_value;
        }
    }
    fputs(is_switch ? " (1, true or yes; 0, false, no or empty: off).\n" : ".\n", out);
}

/* ENVIRONMENT: every variable of cmds' options once, with the options of
 * every command that reads it. */
static void man_environment(FILE *out, const hookd_command *cmds, size_t ncmds)
{
    for (size_t c = 0; c < ncmds; c++) {
        if (!cmds[c].options)
            continue;
        size_t n;
        const hookd_option *opts = cmds[c].options(&n);
        for (size_t i = 0; i < n; i++) {
            if (!opts[i].env || env_seen(cmds, c, i, opts[i].env))
                continue;
            fputs(".TP\n\\fB", out);
            roff_puts(out, opts[i].env);
            fputs("\\fR\n", out);
            env_uses(out, cmds, ncmds, c, opts[i].env);
        }
    }
}

static void roff_cli_option(FILE *out, const hookd_cli_opt *o)
{
    roff_item(out, o->flag, o->arg, o->help);
    fputs(".\n", out);
}

/* The client commands (cli/cli.h), each with its own options, from the
 * tables their --help prints. */
static void man_client_commands(FILE *out)
{
    fputs(".SH CLIENT COMMANDS\n"
          "These talk to a running server over its API. Each takes the options below "
          "besides its own; it exits 0 when done, 1 when the server refused (its message on "
          "stderr) and 2 on a usage error.\n",
          out);
    for (const hookd_cli_opt *o = HOOKD_CLI_COMMON_OPTS; o->flag; o++)
        roff_cli_option(out, o);
    for (size_t i = 0; HOOKD_CLI_COMMANDS[i]; i++) {
        const hookd_cli_cmd *c = HOOKD_CLI_COMMANDS[i];
        fputs(".SS \"hookd ", out);
        roff_puts(out, c->name);
        if (c->args) {
            fputc(' ', out);
            roff_puts(out, c->args);
        }
        fputs("\"\n", out);
        roff_puts(out, c->summary); /* a sentence with its stop */
        fputc('\n', out);
        if (c->about) {
            fputs(".PP\n", out);
            roff_puts(out, c->about);
            fputc('\n', out);
        }
        for (const hookd_cli_opt *o = c->opts; o && o->flag; o++)
            roff_cli_option(out, o);
    }
}

void hookd_help_man(FILE *out, const hookd_command *cmds, size_t n, const char *version)
{
    fputs(".TH HOOKD 1 \"\" \"hookd ", out);
    roff_puts(out, version);
    fputs("\" \"User Commands\"\n.nh\n.ad l\n.SH NAME\nhookd \\- webhook delivery server and "
          "its command line\n.SH SYNOPSIS\n",
          out);
    for (size_t i = 0; i < n; i++)
        man_forms(out, &cmds[i]);
    fputs(".SH DESCRIPTION\n", out);
    roff_puts(out, MAN_DESCRIPTION);
    fputs("\n.SH COMMANDS\n", out);
    const hookd_command *grouped = NULL;
    for (size_t i = 0; i < n; i++) {
        const hookd_command *c = &cmds[i];
        fputs(".TP\n\\fB", out);
        roff_puts(out, c->name);
        fputs("\\fR\n", out);
        roff_puts(out, c->summary);
        fputs(".\n", out);
        if (c->about) {
            fputs(".IP\n", out);
            roff_puts(out, c->about);
            fputc('\n', out);
        }
        if (c->options && c->grouped) {
            fputs(".IP\nIts options are under \\fBOPTIONS\\fR.\n", out);
            grouped = grouped ? grouped : c;
        } else if (c->options) {
            size_t k;
            const hookd_option *opts = c->options(&k);
            fputs(".IP\nOptions:\n.RS\n", out);
            hookd_help_options(out, HOOKD_HELP_ROFF, opts, k, false);
            fputs(".RE\n", out);
        }
    }
    if (grouped) {
        size_t k;
        const hookd_option *opts = grouped->options(&k);
        fputs(".SH OPTIONS\nThe options of \\fBhookd ", out);
        roff_puts(out, grouped->name);
        fputs("\\fR.\n", out);
        hookd_help_options(out, HOOKD_HELP_ROFF, opts, k, true);
    }
    man_client_commands(out);
    fputs(".SH ENVIRONMENT\n", out);
    fputs("Every option of \\fBhookd serve\\fR is also an environment variable; a flag wins "
          "over its variable.\n",
          out);
    man_environment(out, cmds, n);
    fputs(".SH FILES\n"
          ".TP\n.I hookd.db\nThe SQLite database, by default in the working directory "
          "(\\fB\\-\\-db\\fR).\n"
          ".TP\n.I hookd.db.key\nThe master key that seals webhook secrets at rest, beside "
          "the database and made at its first start unless \\fB\\-\\-master\\-key\\-file\\fR "
          "names another. Keep it with the database's backups: without it the secrets cannot "
          "be read.\n"
          ".TP\n.I /var/lib/hookd/hookd.db\nThe database of the systemd unit installed as an "
          "example (\\fIshare/doc/hookd/hookd.service\\fR).\n"
          ".SH EXIT STATUS\n"
          ".TP\n.B 0\nSuccess; the server stopped on SIGTERM or SIGINT after finishing the "
          "attempts in flight.\n"
          ".TP\n.B 1\nA failure: the server could not start or stopped on an error, or the "
          "server refused a command (its message is printed).\n"
          ".TP\n.B 2\nA usage error: an unknown command or option, or an invalid value; the "
          "message on stderr says which.\n"
          ".SH SEE ALSO\n"
          "\\fBsystemd.exec\\fR(5), \\fBcurl\\fR(1). The manual in the source tree: "
          "docs/configuration.md, docs/api.md.\n",
          out);
}

void hookd_help_markdown(FILE *out, const hookd_command *cmds, size_t n)
{
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (!cmds[i].options)
            continue;
        size_t k;
        const hookd_option *opts = cmds[i].options(&k);
        fprintf(out, "%s## hookd %s\n\n", first ? "" : "\n", cmds[i].name);
        hookd_help_options(out, HOOKD_HELP_MARKDOWN, opts, k, cmds[i].grouped);
        first = false;
    }
}

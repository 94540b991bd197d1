/*
 * args.c — parsing, help and the shared ends of the client commands
 * (args.h).
 */
#include "cli/args.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/json.h"

const hookd_cli_opt HOOKD_CLI_COMMON_OPTS[] = {
    {"--url", "URL", "the server to talk to (HOOKD_URL; default " HOOKD_CLI_DEFAULT_URL ")"},
    {"--server", "URL", "the same as --url (where a command's own --url means something else)"},
    {"--key", "KEY", "an API key of that server (HOOKD_KEY)"},
    {"--key-file", "FILE", "the same, read from a file (HOOKD_KEY_FILE)"},
    {"--json", NULL, "print the server's JSON instead of text, for scripts"},
    {"--help", NULL, "show this help"},
    {NULL, NULL, NULL},
};
#define COMMON_N (sizeof HOOKD_CLI_COMMON_OPTS / sizeof HOOKD_CLI_COMMON_OPTS[0])

/* ---- help ---------------------------------------------------------------- */

#define HELP_WIDTH 79
#define HELP_LEFT 27 /* where an option's help starts */

/* Prints text from column col (the cursor is there) wrapped at HELP_WIDTH,
 * each next line indented to indent; ends the line. */
static void wrap(FILE *f, const char *text, int col, int indent)
{
    bool line_start = true;
    for (const char *p = text; *p;) {
        size_t word = strcspn(p, " ");
        int wlen = 0; /* columns: UTF-8 continuation bytes take none */
        for (size_t i = 0; i < word; i++)
            wlen += ((unsigned char)p[i] & 0xC0) != 0x80;
        if (!line_start && col + 1 + wlen > HELP_WIDTH) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
            line_start = true;
        }
        if (!line_start) {
            fputc(' ', f);
            col++;
        }
        fwrite(p, 1, word, f);
        col += wlen;
        line_start = false;
        p += word;
        while (*p == ' ')
            p++;
    }
    fputc('\n', f);
}

static void help_opts(const hookd_cli_opt *opts, FILE *f)
{
    for (const hookd_cli_opt *o = opts; o && o->flag; o++) {
        char left[64];
        snprintf(left, sizeof left, "%s%s%s", o->flag, o->arg ? " " : "", o->arg ? o->arg : "");
        if (strlen(left) > HELP_LEFT - 3)
            fprintf(f, "  %s\n%*s", left, HELP_LEFT, ""); /* too long: help below it */
        else
            fprintf(f, "  %-*s ", HELP_LEFT - 3, left);
        wrap(f, o->help, HELP_LEFT, HELP_LEFT);
    }
}

void hookd_cli_help(const hookd_cli_cmd *cmd, FILE *f)
{
    fprintf(f, "usage: hookd %s%s%s [options]\n\n%s\n", cmd->name, cmd->args ? " " : "",
            cmd->args ? cmd->args : "", cmd->summary);
    if (cmd->about) {
        fputc('\n', f);
        wrap(f, cmd->about, 0, 0);
    }
    if (cmd->opts && cmd->opts->flag) {
        fputs("\noptions:\n", f);
        help_opts(cmd->opts, f);
    }
    fputs("\ncommon options:\n", f);
    help_opts(HOOKD_CLI_COMMON_OPTS, f);
    fputs("\nexit status: 0 done, 1 refused by the server or failed, 2 usage error\n", f);
}

/* ---- messages -------------------------------------------------------------- */

static void vmessage(const hookd_cli *cli, const char *fmt, va_list ap)
{
    fflush(stdout);
    fprintf(stderr, "%s: ", cli->prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int hookd_cli_usage_error(const hookd_cli *cli, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(cli, fmt, ap);
    va_end(ap);
    fprintf(stderr, "(hookd %s --help shows the usage)\n", cli->cmd->name);
    return 2;
}

int hookd_cli_fail(const hookd_cli *cli, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(cli, fmt, ap);
    va_end(ap);
    return 1;
}

/* ---- parsing ----------------------------------------------------------------- */

/* The table entry of flag among the command's and the common options. */
static const hookd_cli_opt *find_opt(const hookd_cli_cmd *cmd, const char *flag, size_t len)
{
    const hookd_cli_opt *tables[] = {cmd->opts, HOOKD_CLI_COMMON_OPTS};
    for (size_t t = 0; t < 2; t++) {
        for (const hookd_cli_opt *o = tables[t]; o && o->flag; o++) {
            if (strlen(o->flag) == len && strncmp(o->flag, flag, len) == 0)
                return o;
        }
    }
    return NULL;
}

/* The key in path without its trailing line break, as `hookd serve
 * --api-key-file` reads it. 0, or 1 with the reason printed. */
static int read_key_file(hookd_cli *cli, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return hookd_cli_fail(cli, "cannot read the key file '%s'", path);
    size_t n = fread(cli->key, 1, sizeof cli->key - 1, f);
    fclose(f);
    cli->key[n] = '\0';
    while (n && strchr("\r\n\t ", cli->key[n - 1]))
        cli->key[--n] = '\0';
    if (n == 0)
        return hookd_cli_fail(cli, "the key file '%s' is empty", path);
    return 0;
}

/* The last value of the common option flag (not a command's own option of
 * the same name), or NULL. */
static const char *common_get(const hookd_cli *cli, const char *flag)
{
    for (size_t i = cli->n_values; i-- > 0;) {
        const hookd_cli_opt *o = cli->values[i].opt;
        if (o >= HOOKD_CLI_COMMON_OPTS && o < HOOKD_CLI_COMMON_OPTS + COMMON_N &&
            strcmp(o->flag, flag) == 0)
            return cli->values[i].value;
    }
    return NULL;
}

/* --url and the key, from the options or the environment. 0, or an exit
 * status. */
static int connect_opts(hookd_cli *cli, hookd_getenv_fn getenv_fn)
{
    const char *url = common_get(cli, "--server");
    if (!url)
        url = common_get(cli, "--url");
    if (!url || !*url)
        url = getenv_fn("HOOKD_URL");
    cli->client.base = url && *url ? url : HOOKD_CLI_DEFAULT_URL;
    if (strncmp(cli->client.base, "http://", 7) != 0 &&
        strncmp(cli->client.base, "https://", 8) != 0)
        return hookd_cli_usage_error(cli, "--url must start with http:// or https:// (got '%s')",
                                     cli->client.base);
    const char *key = common_get(cli, "--key");
    const char *file = common_get(cli, "--key-file");
    if (key && file)
        return hookd_cli_usage_error(cli, "give --key or --key-file, not both");
    if (!key && !file) {
        key = getenv_fn("HOOKD_KEY");
        if (!key || !*key) {
            key = NULL;
            file = getenv_fn("HOOKD_KEY_FILE");
        }
    }
    if (!key && file && *file) {
        if (read_key_file(cli, file) != 0)
            return 1;
        key = cli->key;
    }
    if (!key || !*key)
        return hookd_cli_usage_error(cli, "an API key is needed: --key, --key-file, HOOKD_KEY "
                                          "or HOOKD_KEY_FILE");
    cli->client.key = key;
    return 0;
}

/* Takes argv[*i] (an option) into cli. 0, or an exit status. */
static int take_option(hookd_cli *cli, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    const char *eq = strchr(a, '=');
    size_t flen = eq ? (size_t)(eq - a) : strlen(a);
    const hookd_cli_opt *o = find_opt(cli->cmd, a, flen);
    if (!o)
        return hookd_cli_usage_error(cli, "unknown option '%.*s'", (int)flen, a);
    const char *value = "";
    if (o->arg && eq)
        value = eq + 1;
    else if (o->arg && *i + 1 < argc)
        value = argv[++*i];
    else if (o->arg)
        return hookd_cli_usage_error(cli, "%s needs a value (%s)", o->flag, o->arg);
    else if (eq)
        return hookd_cli_usage_error(cli, "%s takes no value", o->flag);
    cli->values[cli->n_values++] = (hookd_cli_value){o, value};
    return 0;
}

int hookd_cli_parse(hookd_cli *cli, const hookd_cli_cmd *cmd, int argc, char **argv,
                    hookd_getenv_fn getenv_fn)
{
    memset(cli, 0, sizeof *cli);
    cli->cmd = cmd;
    snprintf(cli->prog, sizeof cli->prog, "hookd %s", cmd->name);
    cli->values = calloc((size_t)argc + 1, sizeof *cli->values);
    if (!cli->values)
        return hookd_cli_fail(cli, "out of memory");
    bool dashdash = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!dashdash && strcmp(a, "--") == 0) {
            dashdash = true;
        } else if (!dashdash && strncmp(a, "--", 2) == 0) {
            int rc = take_option(cli, argc, argv, &i);
            if (rc)
                return rc;
        } else if (cli->n_pos < cmd->n_args) {
            cli->pos[cli->n_pos++] = a;
        } else {
            return hookd_cli_usage_error(cli, "unexpected argument '%s'", a);
        }
    }
    if (hookd_cli_get(cli, "--help")) {
        hookd_cli_help(cmd, stdout);
        return 0;
    }
    if (cli->n_pos < cmd->n_args)
        return hookd_cli_usage_error(cli, "%s: %s missing", cmd->args,
                                     cmd->n_args - cli->n_pos > 1 ? "arguments" : "argument");
    cli->json = hookd_cli_get(cli, "--json") != NULL;
    cli->tty_out = isatty(STDOUT_FILENO);
    cli->tty_err = isatty(STDERR_FILENO);
    int rc = connect_opts(cli, getenv_fn);
    return rc ? rc : -1;
}

void hookd_cli_free(hookd_cli *cli)
{
    free(cli->values);
    cli->values = NULL;
    memset(cli->key, 0, sizeof cli->key);
}

const char *hookd_cli_get(const hookd_cli *cli, const char *flag)
{
    for (size_t i = cli->n_values; i-- > 0;) {
        if (strcmp(cli->values[i].opt->flag, flag) == 0)
            return cli->values[i].value;
    }
    return NULL;
}

const char *hookd_cli_nth(const hookd_cli *cli, const char *flag, size_t n)
{
    for (size_t i = 0; i < cli->n_values; i++) {
        if (strcmp(cli->values[i].opt->flag, flag) == 0 && n-- == 0)
            return cli->values[i].value;
    }
    return NULL;
}

/* ---- calls and output --------------------------------------------------------- */

int hookd_cli_call(const hookd_cli *cli, const char *method, const char *path, const json_t *body,
                   hookd_client_answer *a)
{
    char err[512];
    if (hookd_client_call(&cli->client, method, path, body, a, err, sizeof err) != 0)
        return hookd_cli_fail(cli, "cannot reach the server: %s", err);
    if (a->status >= 200 && a->status < 300)
        return 0;
    char msg[768];
    hookd_client_error_text(a, msg, sizeof msg);
    hookd_client_answer_clear(a);
    return hookd_cli_fail(cli, "%s", msg);
}

void hookd_cli_print_json(const json_t *v)
{
    char *text = hookd_json_dumps(v);
    if (text) {
        puts(text);
        free(text);
    }
}

int hookd_cli_path_segment(char *path, size_t cap, const char *s)
{
    size_t len = strlen(path);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr("-._~", *p);
        int n = plain ? snprintf(path + len, cap - len, "%c", *p)
                      : snprintf(path + len, cap - len, "%%%02X", *p);
        if (n < 0 || (size_t)n >= cap - len)
            return -1;
        len += (size_t)n;
    }
    return 0;
}

/* The terminal's width, or 100 if it cannot be told. */
static size_t term_width(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 100;
}

/* Characters of s as a terminal shows them (UTF-8 continuation bytes do
 * not count). */
static size_t text_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Prints s in w columns, cut with "…" if longer; pad when not last. */
static void print_cell(const char *s, size_t w, bool last)
{
    size_t tw = text_width(s);
    if (tw > w) {
        size_t shown = 0;
        for (const char *p = s; *p; p++) {
            if (((unsigned char)*p & 0xC0) != 0x80 && shown++ == w - 1)
                break; /* a character's first byte, and the one past the cut */
            fputc(*p, stdout);
        }
        fputs("…", stdout);
        tw = w;
    } else {
        fputs(s, stdout);
    }
    if (!last)
        printf("%*s", (int)(w - tw + 2), "");
}

void hookd_cli_table(const hookd_cli *cli, const char *const *cells, size_t rows, size_t cols)
{
    if (!cli->tty_out) {
        for (size_t r = 0; r < rows; r++) {
            for (size_t c = 0; c < cols; c++) {
                const char *s = cells[r * cols + c];
                printf("%s%s", s ? s : "-", c + 1 < cols ? "\t" : "\n");
            }
        }
        return;
    }
    size_t w[16] = {0}, total = 0;
    for (size_t c = 0; c < cols && c < 16; c++) {
        for (size_t r = 0; r < rows; r++) {
            size_t tw = text_width(cells[r * cols + c] ? cells[r * cols + c] : "-");
            w[c] = tw > w[c] ? tw : w[c];
        }
        total += w[c] + 2;
    }
    /* Too wide: take from the widest column until it fits (not below 8). */
    size_t width = term_width();
    while (total > width + 2) {
        size_t widest = 0;
        for (size_t c = 1; c < cols; c++)
            widest = w[c] > w[widest] ? c : widest;
        if (w[widest] <= 8)
            break;
        w[widest]--;
        total--;
    }
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < cols; c++) {
            const char *s = cells[r * cols + c];
            print_cell(s ? s : "-", w[c], c + 1 == cols);
        }
        fputc('\n', stdout);
    }
}

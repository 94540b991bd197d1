/* Unit tests for the option table (config.c) as the source of the help
 * (cli/help.c), and for the log's format and level (util/log.c). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/help.h"
#include "cli/keys.h"
#include "config.h"
#include "unit.h"
#include "util/log.h"

static const char *no_env(const char *name)
{
    (void)name;
    return NULL;
}

/* Every row is whole: a flag, a variable, an argument name exactly when it
 * takes a value, a help line; no flag or variable twice. A row added
 * without its help fails here rather than printing an empty line. */
static void check_table(const hookd_option *opts, size_t n, bool need_env)
{
    for (size_t i = 0; i < n; i++) {
        const hookd_option *o = &opts[i];
        CHECK(o->flag && strncmp(o->flag, "--", 2) == 0);
        CHECK(!need_env || (o->env && strncmp(o->env, "HOOKD_", 6) == 0));
        CHECK(o->help && *o->help && !strchr(o->help, '\n'));
        CHECK((o->arg != NULL) == o->takes_value);
        CHECK(o->group < HOOKD_OPTG_COUNT);
        for (size_t j = 0; j < i; j++) {
            CHECK(strcmp(o->flag, opts[j].flag) != 0);
            CHECK(!o->env || !opts[j].env || strcmp(o->env, opts[j].env) != 0);
        }
    }
}

TEST(help_option_tables_are_whole)
{
    size_t n;
    const hookd_option *opts = hookd_serve_options(&n);
    CHECK(n >= 26);
    check_table(opts, n, true);
    opts = hookd_cli_keys_options(&n);
    CHECK(n >= 8);
    check_table(opts, n, false);
}

/* A table's default is what parsing nothing gives: each default parses. */
TEST(help_defaults_parse)
{
    size_t n;
    const hookd_option *opts = hookd_serve_options(&n);
    for (size_t i = 0; i < n; i++) {
        if (!opts[i].def)
            continue;
        hookd_config cfg;
        char err[256];
        const char *argv[] = {opts[i].flag, opts[i].def};
        CHECK_INT(hookd_config_parse(&cfg, 2, (char **)argv, no_env, err, sizeof err), 0);
        hookd_config_free(&cfg);
    }
}

static char *render(hookd_help_format fmt)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    size_t n;
    const hookd_option *opts = hookd_serve_options(&n);
    hookd_help_options(f, fmt, opts, n, true);
    fclose(f);
    return text;
}

TEST(help_every_format_has_every_option)
{
    size_t n;
    const hookd_option *opts = hookd_serve_options(&n);
    char *text = render(HOOKD_HELP_TEXT);
    char *md = render(HOOKD_HELP_MARKDOWN);
    char *roff = render(HOOKD_HELP_ROFF);
    for (size_t i = 0; i < n; i++) {
        CHECK(strstr(text, opts[i].flag) != NULL);
        CHECK(strstr(text, opts[i].env) != NULL);
        CHECK(strstr(md, opts[i].flag) != NULL);
        CHECK(strstr(md, opts[i].env) != NULL);
    }
    /* Markdown: a | inside a cell is escaped, or it would split the cell. */
    CHECK(strstr(md, "`--log-format text\\|json`") != NULL);
    /* roff: hyphens escaped, so flags render as ASCII and can be copied. */
    CHECK(strstr(roff, "\\fB\\-\\-max\\-retries\\fR \\fIN\\fR") != NULL);
    CHECK(strstr(roff, "--") == NULL);
    /* Text: no line past 80 columns but a long flag itself. */
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        CHECK(strlen(line) <= 80 || strncmp(line, "  --", 4) == 0);
    free(text);
    free(md);
    free(roff);
}

TEST(log_options_parse)
{
    hookd_config cfg;
    char err[256];
    CHECK_INT(hookd_config_parse(&cfg, 0, NULL, no_env, err, sizeof err), 0);
    CHECK_INT(cfg.log_format, HOOKD_LOG_TEXT);
    CHECK_INT(cfg.log_level, HOOKD_LOG_INFO);
    hookd_config_free(&cfg);
    const char *argv[] = {"--log-format=json", "--log-level", "debug"};
    CHECK_INT(hookd_config_parse(&cfg, 3, (char **)argv, no_env, err, sizeof err), 0);
    CHECK_INT(cfg.log_format, HOOKD_LOG_JSON);
    CHECK_INT(cfg.log_level, HOOKD_LOG_DEBUG);
    hookd_config_free(&cfg);
    const char *bad1[] = {"--log-format", "JSON"};
    CHECK(hookd_config_parse(&cfg, 2, (char **)bad1, no_env, err, sizeof err) != 0);
    CHECK(strstr(err, "--log-format") && strstr(err, "text or json"));
    const char *bad2[] = {"--log-level", "warning"};
    CHECK(hookd_config_parse(&cfg, 2, (char **)bad2, no_env, err, sizeof err) != 0);
    CHECK(strstr(err, "--log-level") && strstr(err, "debug, info, warn or error"));
}

/* Runs hookd_log with stderr sent to a file; returns what was written. */
static char *logged(hookd_log_format fmt, hookd_log_level min, hookd_log_level level,
                    const char *msg)
{
    FILE *f = tmpfile();
    int saved = dup(STDERR_FILENO);
    dup2(fileno(f), STDERR_FILENO);
    hookd_log_configure(fmt, min);
    hookd_log(level, "%s", msg);
    hookd_log_configure(HOOKD_LOG_TEXT, HOOKD_LOG_INFO);
    dup2(saved, STDERR_FILENO);
    close(saved);
    long len = ftell(f);
    char *out = calloc(1, (size_t)len + 1);
    rewind(f);
    size_t got = fread(out, 1, (size_t)len, f);
    out[got] = '\0';
    fclose(f);
    return out;
}

TEST(log_json_lines_parse)
{
    /* Quotes, backslashes, control bytes, a line break, UTF-8 and a byte
     * that is not UTF-8: still one line, one object, the text kept. */
    const char *msg = "say \"hi\" \\ to\tme\nnow \x01 caf\xc3\xa9 \xff end";
    char *line = logged(HOOKD_LOG_JSON, HOOKD_LOG_INFO, HOOKD_LOG_WARN, msg);
    CHECK(strchr(line, '\n') == line + strlen(line) - 1);
    json_error_t e;
    json_t *j = json_loads(line, 0, &e);
    CHECK(j != NULL);
    CHECK_STR(json_string_value(json_object_get(j, "level")), "warn");
    CHECK_STR(json_string_value(json_object_get(j, "msg")),
              "say \"hi\" \\ to\tme\nnow \x01 caf\xc3\xa9 ? end");
    const char *t = json_string_value(json_object_get(j, "time"));
    CHECK(t && strlen(t) == 24 && t[23] == 'Z');
    json_decref(j);
    free(line);

    /* A message as long as the buffer: cut, still valid JSON. */
    char big[3000];
    memset(big, '"', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    line = logged(HOOKD_LOG_JSON, HOOKD_LOG_INFO, HOOKD_LOG_ERROR, big);
    j = json_loads(line, 0, &e);
    CHECK(j != NULL);
    CHECK(strlen(json_string_value(json_object_get(j, "msg"))) >= 1000);
    json_decref(j);
    free(line);
}

TEST(log_level_drops_lower_lines)
{
    char *s = logged(HOOKD_LOG_TEXT, HOOKD_LOG_WARN, HOOKD_LOG_INFO, "quiet");
    CHECK_STR(s, "");
    free(s);
    s = logged(HOOKD_LOG_TEXT, HOOKD_LOG_WARN, HOOKD_LOG_ERROR, "loud");
    CHECK(strstr(s, " error loud\n") != NULL);
    free(s);
    s = logged(HOOKD_LOG_TEXT, HOOKD_LOG_INFO, HOOKD_LOG_DEBUG, "detail");
    CHECK_STR(s, "");
    free(s);
    s = logged(HOOKD_LOG_TEXT, HOOKD_LOG_DEBUG, HOOKD_LOG_DEBUG, "detail");
    CHECK(strstr(s, " debug detail\n") != NULL);
    free(s);
    hookd_log_level l;
    CHECK(hookd_log_level_parse("warn", &l) == 0 && l == HOOKD_LOG_WARN);
    CHECK(hookd_log_level_parse("WARN", &l) != 0);
}

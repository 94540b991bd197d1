#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/duration.h"

#define MAX_RETRIES_LIMIT 1000

/* Every option, its variable, and whether it takes a value. Order is the
 * order of SPEC §1. */
enum opt_id {
    OPT_LISTEN,
    OPT_DB,
    OPT_DATABASE_URL,
    OPT_API_KEY,
    OPT_ALLOW_PRIVATE,
    OPT_RETRY_SCHEDULE,
    OPT_MAX_RETRIES,
    OPT_REQUEST_TIMEOUT,
    OPT_LOG_RETENTION,
    OPT_COUNT
};

static const struct {
    const char *flag;
    const char *env;
    const char *def;
    bool takes_value;
} OPTS[OPT_COUNT] = {
    [OPT_LISTEN] = {"--listen", "HOOKD_LISTEN", "127.0.0.1:8080", true},
    [OPT_DB] = {"--db", "HOOKD_DB", "hookd.db", true},
    [OPT_DATABASE_URL] = {"--database-url", "HOOKD_DATABASE_URL", NULL, true},
    [OPT_API_KEY] = {"--api-key", "HOOKD_API_KEY", NULL, true},
    [OPT_ALLOW_PRIVATE] = {"--allow-private-networks", "HOOKD_ALLOW_PRIVATE_NETWORKS", NULL, false},
    [OPT_RETRY_SCHEDULE] = {"--retry-schedule", "HOOKD_RETRY_SCHEDULE", "5m,15m,1h,5h,1d", true},
    [OPT_MAX_RETRIES] = {"--max-retries", "HOOKD_MAX_RETRIES", "12", true},
    [OPT_REQUEST_TIMEOUT] = {"--request-timeout", "HOOKD_REQUEST_TIMEOUT", "30s", true},
    [OPT_LOG_RETENTION] = {"--log-retention", "HOOKD_LOG_RETENTION", "30d", true},
};

int hookd_parse_listen(const char *s, char **host, uint16_t *port)
{
    const char *colon;
    const char *hstart = s;
    size_t hlen;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return -1;
        hstart = s + 1;
        hlen = (size_t)(close - hstart);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s)))
            return -1; /* bare IPv6 needs brackets */
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen > 255)
        return -1;
    const char *p = colon + 1;
    if (*p == '\0' || strlen(p) > 5)
        return -1;
    long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (v > 65535)
        return -1;
    *host = strndup(hstart, hlen);
    if (!*host)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

static int parse_bool_env(const char *v, bool *out)
{
    if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes")) {
        *out = true;
        return 0;
    }
    if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "")) {
        *out = false;
        return 0;
    }
    return -1;
}

static int parse_int(const char *v, int lo, int hi, int *out)
{
    if (*v == '\0')
        return -1;
    long n = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        n = n * 10 + (*p - '0');
        if (n > hi)
            return -1;
    }
    if (n < lo)
        return -1;
    *out = (int)n;
    return 0;
}

/* Applies one option's final value (flag, else variable, else default). */
static int apply(hookd_config *cfg, enum opt_id id, const char *v, const char *src, char *err,
                 size_t errlen)
{
    int64_t ms;
    switch (id) {
    case OPT_LISTEN:
        free(cfg->listen_host);
        cfg->listen_host = NULL;
        if (hookd_parse_listen(v, &cfg->listen_host, &cfg->listen_port) != 0)
            goto bad;
        return 0;
    case OPT_DB:
        if (*v == '\0')
            goto bad;
        return (cfg->db_path = strdup(v)) ? 0 : -1;
    case OPT_DATABASE_URL:
        if (strncmp(v, "postgres://", 11) != 0 && strncmp(v, "postgresql://", 13) != 0) {
            snprintf(err, errlen, "%s: expected a postgres:// or postgresql:// URL", src);
            return -1;
        }
        return (cfg->database_url = strdup(v)) ? 0 : -1;
    case OPT_API_KEY:
        if (strlen(v) < 16 || strlen(v) > 256 || strpbrk(v, " \t\r\n")) {
            snprintf(err, errlen, "%s: an API key is 16–256 characters without whitespace", src);
            return -1;
        }
        return (cfg->api_key = strdup(v)) ? 0 : -1;
    case OPT_ALLOW_PRIVATE:
        if (parse_bool_env(v, &cfg->allow_private_networks) != 0)
            goto bad;
        return 0;
    case OPT_RETRY_SCHEDULE:
        free(cfg->retry_schedule_ms);
        cfg->retry_schedule_ms = NULL;
        if (hookd_duration_list_parse(v, &cfg->retry_schedule_ms, &cfg->retry_schedule_len) != 0) {
            snprintf(err, errlen,
                     "%s: invalid value '%s' (expected durations like 5m,15m,1h: an integer and "
                     "ms, s, m, h or d, each above zero)",
                     src, v);
            return -1;
        }
        return 0;
    case OPT_MAX_RETRIES:
        if (parse_int(v, 0, MAX_RETRIES_LIMIT, &cfg->max_retries) != 0) {
            snprintf(err, errlen, "%s: invalid value '%s' (expected an integer 0–%d)", src, v,
                     MAX_RETRIES_LIMIT);
            return -1;
        }
        return 0;
    case OPT_REQUEST_TIMEOUT:
    case OPT_LOG_RETENTION:
        if (hookd_duration_parse(v, &ms) != 0 || ms <= 0) {
            snprintf(err, errlen,
                     "%s: invalid duration '%s' (expected an integer above zero and ms, s, m, h "
                     "or d, like 30s)",
                     src, v);
            return -1;
        }
        if (id == OPT_REQUEST_TIMEOUT)
            cfg->request_timeout_ms = ms;
        else
            cfg->log_retention_ms = ms;
        return 0;
    case OPT_COUNT:
        break;
    }
bad:
    snprintf(err, errlen, "%s: invalid value '%s'", src, v);
    return -1;
}

int hookd_config_parse(hookd_config *cfg, int argc, char **argv, hookd_getenv_fn getenv_fn,
                       char *err, size_t errlen)
{
    const char *given[OPT_COUNT] = {0};
    memset(cfg, 0, sizeof *cfg);
    if (errlen)
        err[0] = '\0';

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        size_t name_len = eq ? (size_t)(eq - a) : strlen(a);
        int found = -1;
        for (int o = 0; o < OPT_COUNT; o++) {
            if (strlen(OPTS[o].flag) == name_len && strncmp(a, OPTS[o].flag, name_len) == 0)
                found = o;
        }
        if (found < 0) {
            snprintf(err, errlen, "unknown option '%s' (see hookd --help)", a);
            return -1;
        }
        if (!OPTS[found].takes_value) {
            if (eq) {
                snprintf(err, errlen, "%s takes no value", OPTS[found].flag);
                return -1;
            }
            given[found] = "1";
        } else if (eq) {
            given[found] = eq + 1;
        } else if (i + 1 < argc) {
            given[found] = argv[++i];
        } else {
            snprintf(err, errlen, "%s needs a value", OPTS[found].flag);
            return -1;
        }
    }

    for (int o = 0; o < OPT_COUNT; o++) {
        const char *v = given[o];
        const char *src = OPTS[o].flag;
        if (!v && (v = getenv_fn(OPTS[o].env)) != NULL)
            src = OPTS[o].env;
        if (!v)
            v = OPTS[o].def;
        if (!v)
            continue;
        if (apply(cfg, (enum opt_id)o, v, src, err, errlen) != 0) {
            if (errno == ENOMEM && err[0] == '\0')
                snprintf(err, errlen, "out of memory");
            hookd_config_free(cfg);
            return -1;
        }
    }
    return 0;
}

void hookd_config_free(hookd_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->listen_host);
    free(cfg->db_path);
    free(cfg->database_url);
    free(cfg->api_key);
    free(cfg->retry_schedule_ms);
    memset(cfg, 0, sizeof *cfg);
}

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "delivery/guard.h"
#include "util/duration.h"

#define MAX_RETRIES_LIMIT 1000
#define CONNECTIONS_PER_CLIENT_MAX 100000
#define REQUEST_DEADLINE_MAX_MS (3600 * 1000)
#define MAX_DELIVERIES_LIMIT 1000000000
#define MAX_TEST_SENDS_LIMIT 1000

/* Every option: its variable, default, value and help (config.h says what
 * each field is for). The enum's order is the order options are applied
 * in; the help lists them by group. */
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
    /* docs/configuration.md: keys, secrets, network */
    OPT_MASTER_KEY_FILE,
    OPT_ALLOW_NETWORKS,
    OPT_HTTPS_ONLY,
    OPT_PROXY,
    OPT_CA_FILE,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_ROTATION_OVERLAP,
    OPT_API_KEY_FILE,
    OPT_API_RATE_LIMIT,
    /* abuse limits of the API (docs/security.md) */
    OPT_API_CONNECTIONS_PER_CLIENT,
    OPT_API_REQUEST_DEADLINE,
    /* the bound on one ingest's fan-out, docs/api.md#limits */
    OPT_MAX_DELIVERIES_PER_REQUEST,
    OPT_MAX_TEST_SENDS,
    /* docs/api.md#dead-endpoints */
    OPT_DISABLE_AFTER,
    /* how the log looks (util/log.h) */
    OPT_LOG_FORMAT,
    OPT_LOG_LEVEL,
    /* observability: /metrics and the access log */
    OPT_METRICS_PUBLIC,
    OPT_ACCESS_LOG,
    OPT_COUNT
};

#define STR_(x) #x
#define STR(x) STR_(x)

static const hookd_option OPTS[OPT_COUNT] = {
    [OPT_LISTEN] = {"--listen", "HOOKD_LISTEN", "127.0.0.1:8080", true, .arg = "ADDR",
                    .group = HOOKD_OPTG_SERVER,
                    .help = "address of the API and the web page: host:port or [v6]:port "
                            "(port 0 picks a free one, printed at start)"},
    [OPT_DB] = {"--db", "HOOKD_DB", "hookd.db", true, .arg = "FILE", .group = HOOKD_OPTG_STORE,
                .help = "SQLite file, created with its schema at first start"},
    [OPT_DATABASE_URL] = {"--database-url", "HOOKD_DATABASE_URL", NULL, true, .arg = "URL",
                          .group = HOOKD_OPTG_STORE,
                          .help = "a postgres:// or postgresql:// URL: use PostgreSQL instead of "
                                  "SQLite (needs --master-key-file)"},
    [OPT_API_KEY] = {"--api-key", "HOOKD_API_KEY", NULL, true, .arg = "KEY",
                     .group = HOOKD_OPTG_KEYS,
                     .help = "an admin API key to accept, never stored (16 to 256 characters); "
                             "with none given and none stored, hookd makes one at first start "
                             "and prints it once on stdout"},
    [OPT_ALLOW_PRIVATE] = {"--allow-private-networks", "HOOKD_ALLOW_PRIVATE_NETWORKS", NULL, false,
                           .unset = "off", .group = HOOKD_OPTG_NETWORK,
                           .help = "permit delivery to loopback, private, link-local and "
                                   "unique-local addresses"},
    [OPT_RETRY_SCHEDULE] = {"--retry-schedule", "HOOKD_RETRY_SCHEDULE", "5m,15m,1h,5h,1d", true,
                            .arg = "LIST", .group = HOOKD_OPTG_DELIVERY,
                            .help = "delays before retries 1, 2, ... (durations above zero); the "
                                    "last one repeats"},
    [OPT_MAX_RETRIES] = {"--max-retries", "HOOKD_MAX_RETRIES", "12", true, .arg = "N",
                         .group = HOOKD_OPTG_DELIVERY,
                         .help = "retries after the first attempt (0 to " STR(MAX_RETRIES_LIMIT)
                                 ")"},
    [OPT_REQUEST_TIMEOUT] = {"--request-timeout", "HOOKD_REQUEST_TIMEOUT", "30s", true,
                             .arg = "DUR", .group = HOOKD_OPTG_DELIVERY,
                             .help = "time limit of one attempt, connection to answer (above "
                                     "zero)"},
    [OPT_LOG_RETENTION] = {"--log-retention", "HOOKD_LOG_RETENTION", "30d", true, .arg = "DUR",
                           .group = HOOKD_OPTG_DELIVERY,
                           .help = "finished deliveries older than this are pruned (above zero)"},
    [OPT_MASTER_KEY_FILE] = {"--master-key-file", "HOOKD_MASTER_KEY_FILE", NULL, true,
                             .arg = "FILE", .unset = "<db>.key", .group = HOOKD_OPTG_STORE,
                             .help = "64 hex characters: the key that seals secrets at rest; "
                                     "made (mode 0600) if missing on SQLite, required with "
                                     "--database-url"},
    [OPT_ALLOW_NETWORKS] = {"--allow-networks", "HOOKD_ALLOW_NETWORKS", NULL, true,
                            .arg = "CIDRS", .group = HOOKD_OPTG_NETWORK,
                            .help = "networks open to delivery in spite of the guard, like "
                                    "10.1.0.0/16,fd00::/8 (a bare address is that address)"},
    [OPT_HTTPS_ONLY] = {"--https-only", "HOOKD_HTTPS_ONLY", NULL, false, .unset = "off",
                        .group = HOOKD_OPTG_NETWORK,
                        .help = "refuse http:// webhook URLs (create, test, edit); a stored one "
                                "fails at delivery"},
    [OPT_PROXY] = {"--proxy", "HOOKD_PROXY", NULL, true, .arg = "URL",
                   .group = HOOKD_OPTG_NETWORK,
                   .help = "an http:// or https:// proxy for every outbound request (http_proxy "
                           "and the like are never read)"},
    [OPT_CA_FILE] = {"--ca-file", "HOOKD_CA_FILE", NULL, true, .arg = "FILE",
                     .unset = "the system's CAs", .group = HOOKD_OPTG_NETWORK,
                     .help = "CA certificates (PEM) trusted for https endpoints and an https "
                             "proxy"},
    [OPT_TLS_CERT] = {"--tls-cert", "HOOKD_TLS_CERT", NULL, true, .arg = "FILE",
                      .group = HOOKD_OPTG_SERVER,
                      .help = "PEM certificate (chain allowed): serve the API over TLS 1.2/1.3; "
                              "goes with --tls-key"},
    [OPT_TLS_KEY] = {"--tls-key", "HOOKD_TLS_KEY", NULL, true, .arg = "FILE",
                     .group = HOOKD_OPTG_SERVER,
                     .help = "the unencrypted PEM key of --tls-cert"},
    [OPT_ROTATION_OVERLAP] = {"--rotation-overlap", "HOOKD_ROTATION_OVERLAP", "24h", true,
                              .arg = "DUR", .group = HOOKD_OPTG_DELIVERY,
                              .help = "after a secret is rotated, deliveries are also signed "
                                      "with the previous one this long (0: cut over at once)"},
    [OPT_API_KEY_FILE] = {"--api-key-file", "HOOKD_API_KEY_FILE", NULL, true, .arg = "FILE",
                          .group = HOOKD_OPTG_KEYS,
                          .help = "like --api-key, read from a file (its trailing line break "
                                  "dropped): keeps the key out of the process list"},
    [OPT_API_RATE_LIMIT] = {"--api-rate-limit", "HOOKD_API_RATE_LIMIT", NULL, true, .arg = "N",
                            .unset = "off", .group = HOOKD_OPTG_LIMITS,
                            .help = "requests per second per client address (IPv6: per /64), "
                                    "above 0 up to 1000000; past it 429 with Retry-After"},
    [OPT_API_CONNECTIONS_PER_CLIENT] = {"--api-connections-per-client",
                                        "HOOKD_API_CONNECTIONS_PER_CLIENT", "128", true,
                                        .arg = "N", .group = HOOKD_OPTG_LIMITS,
                                        .help = "open connections one client address may hold "
                                                "(0 to " STR(CONNECTIONS_PER_CLIENT_MAX)
                                                "; 0: no cap)"},
    [OPT_API_REQUEST_DEADLINE] = {"--api-request-deadline", "HOOKD_API_REQUEST_DEADLINE", "60s",
                                  true, .arg = "DUR", .group = HOOKD_OPTG_LIMITS,
                                  .help = "a request must arrive, its answer be read and an idle "
                                          "connection go on within this (1s to 1h)"},
    [OPT_MAX_DELIVERIES_PER_REQUEST] = {"--max-deliveries-per-request",
                                        "HOOKD_MAX_DELIVERIES_PER_REQUEST", "100000", true,
                                        .arg = "N", .group = HOOKD_OPTG_LIMITS,
                                        .help = "the most deliveries one POST of activities may "
                                                "make (1 to " STR(MAX_DELIVERIES_LIMIT) ")"},
    [OPT_MAX_TEST_SENDS] = {"--max-test-sends", "HOOKD_MAX_TEST_SENDS", "16", true, .arg = "N",
                            .group = HOOKD_OPTG_LIMITS,
                            .help = "test sends in flight at once (1 to " STR(MAX_TEST_SENDS_LIMIT)
                                    "); past it a test answers 429"},
    [OPT_DISABLE_AFTER] = {"--disable-after", "HOOKD_DISABLE_AFTER", "5d", true, .arg = "DUR",
                           .group = HOOKD_OPTG_DELIVERY,
                           .help = "disconnect a webhook whose attempts have all failed this "
                                   "long, 10 of them at least (1s to 365d)"},
    [OPT_LOG_FORMAT] = {"--log-format", "HOOKD_LOG_FORMAT", "text", true, .arg = "text|json",
                        .group = HOOKD_OPTG_LOGGING,
                        .help = "how stderr's lines look; json: one object a line with time, "
                                "level and msg"},
    [OPT_LOG_LEVEL] = {"--log-level", "HOOKD_LOG_LEVEL", "info", true,
                       .arg = "debug|info|warn|error", .group = HOOKD_OPTG_LOGGING,
                       .help = "lines below this level are not written"},
    [OPT_METRICS_PUBLIC] = {"--metrics-public", "HOOKD_METRICS_PUBLIC", NULL, false,
                            .group = HOOKD_OPTG_LOGGING,
                            .help = "serve GET /metrics without a key"},
    [OPT_ACCESS_LOG] = {"--access-log", "HOOKD_ACCESS_LOG", NULL, true, .arg = "FILE|-",
                        .group = HOOKD_OPTG_LOGGING,
                        .help = "append a line per API request to FILE (- for standard output)"},
};

static const char *const GROUP_TITLES[HOOKD_OPTG_COUNT] = {
    [HOOKD_OPTG_SERVER] = "Listening",
    [HOOKD_OPTG_STORE] = "Store",
    [HOOKD_OPTG_KEYS] = "API keys",
    [HOOKD_OPTG_DELIVERY] = "Delivery",
    [HOOKD_OPTG_NETWORK] = "Where deliveries may go",
    [HOOKD_OPTG_LIMITS] = "Limits of the API",
    [HOOKD_OPTG_LOGGING] = "Logging",
};

const hookd_option *hookd_serve_options(size_t *count)
{
    *count = OPT_COUNT;
    return OPTS;
}

const char *hookd_option_group_title(hookd_option_group g)
{
    return g < HOOKD_OPTG_COUNT && GROUP_TITLES[g] ? GROUP_TITLES[g] : "Other";
}

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

static int set_api_key(hookd_config *cfg, const char *v, const char *src, char *err,
                       size_t errlen)
{
    if (cfg->api_key) {
        snprintf(err, errlen, "%s: give --api-key or --api-key-file, not both", src);
        return -1;
    }
    if (strlen(v) < 16 || strlen(v) > 256 || strpbrk(v, " \t\r\n")) {
        snprintf(err, errlen, "%s: an API key is 16–256 characters without whitespace", src);
        return -1;
    }
    return (cfg->api_key = strdup(v)) ? 0 : -1;
}

/* The key is the file's text without its trailing line break, so a file
 * written by `echo KEY > file` works. */
static int read_api_key_file(hookd_config *cfg, const char *path, const char *src, char *err,
                             size_t errlen)
{
    char buf[300];
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot read '%s': %s", src, path, strerror(errno));
        return -1;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        snprintf(err, errlen, "%s: cannot read '%s'", src, path);
        return -1;
    }
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
                 buf[n - 1] == '\t'))
        buf[--n] = '\0';
    int rc = set_api_key(cfg, buf, src, err, errlen);
    memset(buf, 0, sizeof buf);
    return rc;
}

/* A file option; must_exist: checked now so a typo stops hookd at start
 * with a clear line instead of at the first connection. */
static int set_path(char **dst, const char *v, bool must_exist, const char *src, char *err,
                    size_t errlen)
{
    if (*v == '\0') {
        snprintf(err, errlen, "%s: a file name is required", src);
        return -1;
    }
    if (must_exist && access(v, R_OK) != 0) {
        snprintf(err, errlen, "%s: cannot read '%s': %s", src, v, strerror(errno));
        return -1;
    }
    return (*dst = strdup(v)) ? 0 : -1;
}

static int parse_rate(const char *v, double *out, const char *src, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (*v == '\0' || *end != '\0' || errno || !isfinite(d) || d <= 0 || d > 1e6) {
        snprintf(err, errlen, "%s: invalid value '%s' (expected requests per second above 0, "
                 "like 20 or 0.5)", src, v);
        return -1;
    }
    *out = d;
    return 0;
}

/* A duration option within [lo_ms, hi_ms]; range says so in the error. */
static int parse_duration_opt(const char *v, int64_t lo_ms, int64_t hi_ms, const char *range,
                              int64_t *out, const char *src, char *err, size_t errlen)
{
    int64_t ms;
    if (hookd_duration_parse(v, &ms) != 0 || ms < lo_ms || ms > hi_ms) {
        snprintf(err, errlen,
                 "%s: invalid duration '%s' (expected an integer and ms, s, m, h or d, %s)", src,
                 v, range);
        return -1;
    }
    *out = ms;
    return 0;
}

/* Rules between options, checked once every option has its value. */
static int check_together(const hookd_config *cfg, char *err, size_t errlen)
{
    if (!cfg->tls_cert != !cfg->tls_key) {
        snprintf(err, errlen, "--tls-cert and --tls-key go together: give both or neither");
        return -1;
    }
    if (cfg->database_url && !cfg->master_key_file) {
        snprintf(err, errlen,
                 "--database-url needs --master-key-file (every process must seal secrets "
                 "with the same key)");
        return -1;
    }
    return 0;
}

/* Applies one option's final value (flag, else variable, else default). */
static int apply(hookd_config *cfg, enum opt_id id, const char *v, const char *src, char *err,
                 size_t errlen)
{
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
        return set_api_key(cfg, v, src, err, errlen);
    case OPT_API_KEY_FILE:
        return read_api_key_file(cfg, v, src, err, errlen);
    case OPT_MASTER_KEY_FILE:
        return set_path(&cfg->master_key_file, v, false, src, err, errlen);
    case OPT_CA_FILE:
        return set_path(&cfg->ca_file, v, true, src, err, errlen);
    case OPT_TLS_CERT:
        return set_path(&cfg->tls_cert, v, true, src, err, errlen);
    case OPT_TLS_KEY:
        return set_path(&cfg->tls_key, v, true, src, err, errlen);
    case OPT_ALLOW_NETWORKS: {
        /* Checked here so a typo stops hookd at start instead of leaving a
         * network closed; main.c parses it again into the guard's list. */
        hookd_netlist l;
        char why[160];
        if (hookd_netlist_parse(v, &l, why, sizeof why) != 0) {
            if (errno == ENOMEM)
                return -1;
            snprintf(err, errlen, "%s: %s", src, why);
            return -1;
        }
        hookd_netlist_free(&l);
        return (cfg->allow_networks = strdup(v)) ? 0 : -1;
    }
    case OPT_HTTPS_ONLY:
        if (parse_bool_env(v, &cfg->https_only) != 0)
            goto bad;
        return 0;
    case OPT_PROXY:
        /* http(s) proxies only: hookd pins each connection with a CONNECT
         * tunnel to the address it checked (see delivery/request.h). */
        if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
            snprintf(err, errlen, "%s: invalid proxy '%s' (expected an http:// or https:// URL)",
                     src, v);
            return -1;
        }
        return (cfg->proxy = strdup(v)) ? 0 : -1;
    case OPT_ROTATION_OVERLAP:
        return parse_duration_opt(v, 0, INT64_MAX, "0 or more, like 24h", &cfg->rotation_overlap_ms,
                                  src, err, errlen);
    case OPT_DISABLE_AFTER:
        /* 1 s at least: a shorter streak is shorter than one attempt's own
         * round trip and would only serve to disconnect at the first blip. */
        return parse_duration_opt(v, 1000, 365LL * 86400000, "1s to 365d, like 5d",
                                  &cfg->disable_after_ms, src, err, errlen);
    case OPT_API_RATE_LIMIT:
        return parse_rate(v, &cfg->api_rate_limit, src, err, errlen);
    case OPT_API_CONNECTIONS_PER_CLIENT: {
        int n;
        if (parse_int(v, 0, CONNECTIONS_PER_CLIENT_MAX, &n) != 0) {
            snprintf(err, errlen, "%s: invalid value '%s' (expected an integer 0–%d; 0: no cap)",
                     src, v, CONNECTIONS_PER_CLIENT_MAX);
            return -1;
        }
        cfg->api_connections_per_client = (unsigned)n;
        return 0;
    }
    case OPT_API_REQUEST_DEADLINE:
        return parse_duration_opt(v, 1000, REQUEST_DEADLINE_MAX_MS, "1s to 1h, like 60s",
                                  &cfg->api_request_deadline_ms, src, err, errlen);
    case OPT_MAX_DELIVERIES_PER_REQUEST:
        /* No "off": an unbounded fan-out is what the cap is for. */
        if (parse_int(v, 1, MAX_DELIVERIES_LIMIT, &cfg->max_deliveries_per_request) != 0) {
            snprintf(err, errlen, "%s: invalid value '%s' (expected an integer 1–%d)", src, v,
                     MAX_DELIVERIES_LIMIT);
            return -1;
        }
        return 0;
    case OPT_MAX_TEST_SENDS: {
        int n;
        if (parse_int(v, 1, MAX_TEST_SENDS_LIMIT, &n) != 0) {
            snprintf(err, errlen, "%s: invalid value '%s' (expected an integer 1–%d)", src, v,
                     MAX_TEST_SENDS_LIMIT);
            return -1;
        }
        cfg->max_test_sends = (unsigned)n;
        return 0;
    }
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
        return parse_duration_opt(v, 1, INT64_MAX, "above zero, like 30s",
                                  &cfg->request_timeout_ms, src, err, errlen);
    case OPT_LOG_RETENTION:
        return parse_duration_opt(v, 1, INT64_MAX, "above zero, like 30d", &cfg->log_retention_ms,
                                  src, err, errlen);
    case OPT_LOG_FORMAT:
        if (hookd_log_format_parse(v, &cfg->log_format) != 0) {
            snprintf(err, errlen, "%s: invalid value '%s' (expected text or json)", src, v);
            return -1;
        }
        return 0;
    case OPT_LOG_LEVEL:
        if (hookd_log_level_parse(v, &cfg->log_level) != 0) {
            snprintf(err, errlen,
                     "%s: invalid value '%s' (expected debug, info, warn or error)", src, v);
            return -1;
        }
        return 0;
    case OPT_METRICS_PUBLIC:
        if (parse_bool_env(v, &cfg->metrics_public) != 0)
            goto bad;
        return 0;
    case OPT_ACCESS_LOG:
        /* "-": standard output. A file is made now if missing, so a path
         * that cannot be written is a bad option (status 2), not a failure
         * found after the store was opened. */
        if (*v && strcmp(v, "-") != 0) {
            int fd = open(v, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
            if (fd < 0) {
                snprintf(err, errlen, "%s: cannot open '%s' for appending: %s", src, v,
                         strerror(errno));
                return -1;
            }
            close(fd);
        }
        return set_path(&cfg->access_log, v, false, src, err, errlen);
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
            snprintf(err, errlen, "unknown option '%s' (see hookd serve --help)", a);
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
    if (check_together(cfg, err, errlen) != 0) {
        hookd_config_free(cfg);
        return -1;
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
    if (cfg->api_key)
        memset(cfg->api_key, 0, strlen(cfg->api_key));
    free(cfg->api_key);
    free(cfg->allow_networks);
    free(cfg->proxy);
    free(cfg->ca_file);
    free(cfg->tls_cert);
    free(cfg->tls_key);
    free(cfg->master_key_file);
    free(cfg->retry_schedule_ms);
    free(cfg->access_log);
    memset(cfg, 0, sizeof *cfg);
}

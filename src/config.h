/*
 * config.h — the options of `hookd serve`: flags, their environment
 * variables, defaults, validation, and the text that explains each. The
 * option table in config.c is the one source of `hookd serve --help`, the
 * man page and docs/configuration.md (cli/help.h renders them); adding an
 * option is one row there (and its case in apply()).
 *
 * hookd_config_parse fills a hookd_config the caller owns; release it with
 * hookd_config_free. Strings inside point into new allocations owned by the
 * config. Runs once, on the main thread, before anything else starts.
 */
#ifndef HOOKD_CONFIG_H
#define HOOKD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/log.h"

/* Where an option is listed in the help and the man page, in this order. */
typedef enum hookd_option_group {
    HOOKD_OPTG_SERVER,   /* listening, TLS */
    HOOKD_OPTG_STORE,    /* the database and the master key */
    HOOKD_OPTG_KEYS,     /* access to the API */
    HOOKD_OPTG_DELIVERY, /* retries, timeouts, retention */
    HOOKD_OPTG_NETWORK,  /* where deliveries may go, and through what */
    HOOKD_OPTG_LIMITS,   /* abuse limits of the API */
    HOOKD_OPTG_LOGGING,
    HOOKD_OPTG_COUNT
} hookd_option_group;

/* One option of a command. Static data, borrowed by every reader. */
typedef struct hookd_option {
    const char *flag;  /* "--listen" */
    const char *env;   /* "HOOKD_LISTEN", or NULL: a flag only */
    const char *def;   /* the default, applied as if given; NULL: none */
    bool takes_value;  /* false: a switch (its variable takes 1/true/yes, 0/false/no) */
    const char *arg;   /* what the value is, for the help: "ADDR"; NULL for a switch */
    const char *unset; /* what no value means, shown as the default when def is NULL
                        * ("off", "<db>.key"); NULL: nothing ("-") */
    hookd_option_group group;
    const char *help;  /* one line, with the range of the value where it has one */
} hookd_option;

typedef struct hookd_config {
    char *listen_host;        /* "127.0.0.1", "::1", "0.0.0.0" */
    uint16_t listen_port;     /* 0 picks a free port (printed at start) */
    char *db_path;            /* SQLite file */
    char *database_url;       /* postgres://…, or NULL */
    char *api_key;            /* admin key to accept (from --api-key or the file of
                               * --api-key-file), or NULL; never stored */
    bool allow_private_networks;
    char *allow_networks;     /* "CIDR,CIDR…" opened in spite of the guard, or NULL */
    bool https_only;          /* http URLs refused at create/PATCH and at delivery */
    char *proxy;              /* outbound proxy URL, or NULL (never from the environment) */
    char *ca_file;            /* CA bundle for https endpoints, or NULL: the system's */
    char *tls_cert;           /* PEM files to serve the API over TLS; both or neither */
    char *tls_key;
    char *master_key_file;    /* 64 hex characters sealing secrets at rest, or NULL:
                               * "<db>.key" on SQLite (made if missing) */
    int64_t rotation_overlap_ms; /* the previous secret still signs this long */
    double api_rate_limit;    /* requests per second per client address; 0: off */
    int64_t *retry_schedule_ms; /* delays before retries 1, 2, …; last repeats */
    size_t retry_schedule_len;
    int max_retries;
    int64_t request_timeout_ms;
    int64_t log_retention_ms;
    unsigned api_connections_per_client; /* open connections per client address; 0: no cap */
    int64_t api_request_deadline_ms;  /* whole request head and body, an answer's
                                       * reading, an idle keep-alive wait */
    int max_deliveries_per_request;   /* deliveries one ingest may make (docs/api.md) */
    unsigned max_test_sends;  /* test sends in flight at once; past it /test answers 429 */
    int64_t disable_after_ms; /* a webhook failing this long (>= 10 attempts) is disconnected */
    hookd_log_format log_format;
    hookd_log_level log_level;
    bool metrics_public;      /* GET /metrics without a key */
    char *access_log;         /* a file to append a line per API request to, "-" for
                               * standard output, or NULL: none */
} hookd_config;

/* Looks up an environment variable; NULL if unset. Tests pass their own. */
typedef const char *(*hookd_getenv_fn)(const char *name);

/* Parses the arguments after "serve" (argv[0] is the first option) with
 * defaults from getenv_fn. Returns 0, or -1 with a one-line reason in err and
 * nothing left allocated in cfg. */
int hookd_config_parse(hookd_config *cfg, int argc, char **argv, hookd_getenv_fn getenv_fn,
                       char *err, size_t errlen) __attribute__((warn_unused_result));

/* Splits "host:port", "[v6]:port" into host and port. Returns 0 or -1. */
int hookd_parse_listen(const char *s, char **host, uint16_t *port)
    __attribute__((warn_unused_result));

void hookd_config_free(hookd_config *cfg);

/* The options of `hookd serve`, *count of them, in their table's order. */
const hookd_option *hookd_serve_options(size_t *count);

/* The heading of a group in the help and the man page: "Store". */
const char *hookd_option_group_title(hookd_option_group g);

#endif

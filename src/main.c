/*
 * main.c — `hookd serve`: parses options, loads the master key, opens the
 * store, makes the first API key if there is none, starts the engine and the
 * API, and waits for SIGTERM/SIGINT. The other commands are in src/cli/;
 * COMMANDS below lists every command once, for the dispatch and every help
 * text (cli/help.h).
 *
 * Signals are blocked before any thread starts and taken with sigwait on the
 * main thread, so no other thread is ever interrupted by them.
 */
#include <curl/curl.h>
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "api/api.h"
#include "cli/help.h"
#include "cli/cli.h"
#include "cli/keys.h"
#include "config.h"
#include "delivery/engine.h"
#include "store/store.h"
#include "util/crypto.h"
#include "util/json.h"
#include "util/log.h"
#include "util/seal.h"
#include "util/version.h"


static const char *env_lookup(const char *name)
{
    return getenv(name);
}

/* With no key given and none stored, makes one, stores it as an admin key
 * named "initial" and prints it once: it is never shown again (it is listed
 * and can be revoked like any other). */
static int ensure_api_key(hookd_store *st, const hookd_config *cfg)
{
    hookd_key_entry *stored = NULL;
    size_t n = 0;
    int rc = hookd_store_key_entries(st, &stored, &n);
    free(stored);
    if (rc)
        return rc;
    if (n > 0 || cfg->api_key)
        return 0;
    char key[HOOKD_KEY_TEXT_MAX];
    if ((rc = hookd_store_key_create(st, HOOKD_KEY_INITIAL_NAME, HOOKD_SCOPE_ADMIN, key, NULL)) !=
        0)
        return rc;
    printf("api key: %s\n", key);
    fflush(stdout);
    return 0;
}

/* Handler threads: more than cores, since a handler may wait for the
 * store's writer (a test send holds none: it runs on the tester's thread). */
static unsigned thread_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN) * 2;
    return n < 8 ? 8 : n > 32 ? 32 : (unsigned)n;
}

/* Every connection the API holds is a file descriptor: the soft limit
 * (often 1024) goes up to the hard one so the API's connection cap, which
 * keeps to half the limit, is not lower than it need be. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        hookd_log_warn("cannot raise the open-file limit to %llu: %s",
                       (unsigned long long)rl.rlim_max, strerror(errno));
}

/* libmicrohttpd's threads only move bytes: one per core. */
static unsigned io_thread_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 2 ? 2 : n > 8 ? 8 : (unsigned)n;
}

/* What a running server holds, in the order it is started; stopped in
 * reverse by server_stop, whatever was reached. */
typedef struct server {
    hookd_sealer *sealer;
    char *key_path;
    hookd_netlist allow_networks;
    hookd_store *store;
    hookd_engine *engine;
    hookd_api *api;
} server;

/* The master key, then the store (migrated, its first key made), the
 * delivery engine, then the API. Returns 0, or -1 with the reason printed. */
static int server_start(server *srv, const hookd_config *cfg)
{
    char err[512];
    srv->sealer = hookd_sealer_load(cfg->master_key_file, cfg->database_url ? NULL : cfg->db_path,
                                    &srv->key_path, err, sizeof err);
    if (!srv->sealer)
        goto fail;
    hookd_store_options sopt = {.db_path = cfg->db_path,
                                .database_url = cfg->database_url,
                                .sealer = srv->sealer,
                                .master_key_file = srv->key_path};
    if (hookd_store_open(&sopt, &srv->store, err, sizeof err) != 0)
        goto fail;
    hookd_log_debug("store open: %s", cfg->database_url ? "postgres" : cfg->db_path);
    if (ensure_api_key(srv->store, cfg) != 0) {
        snprintf(err, sizeof err, "cannot store the first API key");
        goto fail;
    }
    /* Checked at parse time: only memory can fail here. */
    if (cfg->allow_networks &&
        hookd_netlist_parse(cfg->allow_networks, &srv->allow_networks, err, sizeof err) != 0) {
        snprintf(err, sizeof err, "--allow-networks: out of memory");
        goto fail;
    }
    hookd_send_opts send = {.allow_private = cfg->allow_private_networks,
                            .timeout_ms = cfg->request_timeout_ms,
                            .allow_networks = &srv->allow_networks,
                            .https_only = cfg->https_only,
                            .proxy = cfg->proxy,
                            .ca_file = cfg->ca_file,
                            .rotation_overlap_ms = cfg->rotation_overlap_ms};
    hookd_engine_options eopt = {.store = srv->store,
                                 .send = send,
                                 .retry_schedule_ms = cfg->retry_schedule_ms,
                                 .retry_schedule_len = cfg->retry_schedule_len,
                                 .max_retries = cfg->max_retries,
                                 .log_retention_ms = cfg->log_retention_ms,
                                 .disable_after_ms = cfg->disable_after_ms};
    if (hookd_engine_start(&eopt, &srv->engine) != 0) {
        snprintf(err, sizeof err, "cannot start the delivery engine");
        goto fail;
    }
    hookd_log_debug("delivery engine started: %zu retry delays, at most %d retries, %lld ms an "
                    "attempt", cfg->retry_schedule_len, cfg->max_retries,
                    (long long)cfg->request_timeout_ms);
    hookd_api_options opt = {.host = cfg->listen_host, .port = cfg->listen_port,
                             .io_threads = io_thread_count(), .threads = thread_count(),
                             .store = srv->store, .admin_key = cfg->api_key,
                             .send = send,
                             .connections_per_client = cfg->api_connections_per_client,
                             .request_deadline_ms = cfg->api_request_deadline_ms,
                             .rate_limit = cfg->api_rate_limit,
                             .tls_cert = cfg->tls_cert, .tls_key = cfg->tls_key,
                             .max_deliveries_per_request = cfg->max_deliveries_per_request,
                             .max_test_sends = cfg->max_test_sends,
                             .metrics_public = cfg->metrics_public,
                             .access_log = cfg->access_log};
    if (hookd_api_start(&opt, &srv->api, err, sizeof err) != 0)
        goto fail;
    hookd_log_debug("api started: %u handler threads, %u I/O threads", opt.threads,
                    opt.io_threads);
    return 0;
fail:
    hookd_log_error("%s", err);
    return -1;
}

/* API first (no new work), then the engine lets attempts in flight finish
 * and stores their outcomes, then the store closes. */
static void server_stop(server *srv)
{
    hookd_api_stop(srv->api);
    hookd_log_debug("api stopped");
    hookd_engine_stop(srv->engine);
    hookd_log_debug("delivery engine stopped");
    hookd_store_close(srv->store);
    hookd_sealer_free(srv->sealer);
    free(srv->key_path);
    hookd_netlist_free(&srv->allow_networks);
}

static int serve(int argc, char **argv)
{
    hookd_config cfg;
    char err[512];
    if (hookd_config_parse(&cfg, argc, argv, env_lookup, err, sizeof err) != 0) {
        fprintf(stderr, "hookd: %s\n", err);
        return 2;
    }
    /* Before anything that logs, the store's migrations included. */
    hookd_log_configure(cfg.log_format, cfg.log_level);
    /* Bad TLS files are a bad option: refused (status 2) before the store
     * is opened or created. */
    if (cfg.tls_cert && hookd_api_check_tls(cfg.tls_cert, cfg.tls_key, err, sizeof err) != 0) {
        fprintf(stderr, "hookd: %s\n", err);
        hookd_config_free(&cfg);
        return 2;
    }
    raise_fd_limit();
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    int status = 1;
    server srv = {0};
    if (server_start(&srv, &cfg) == 0) {
        /* The URL is not echoed: it may hold a password. */
        hookd_log_info("hookd %s listening on %s%s%s:%u (%s, %s%s)", HOOKD_VERSION,
                       strchr(cfg.listen_host, ':') ? "[" : "", cfg.listen_host,
                       strchr(cfg.listen_host, ':') ? "]" : "", hookd_api_port(srv.api),
                       cfg.tls_cert ? "https" : "http", cfg.database_url ? "postgres" : "db ",
                       cfg.database_url ? "" : cfg.db_path);
        int sig = 0;
        sigwait(&sigs, &sig);
        hookd_log_info("signal %d: stopping", sig);
        hookd_api_quiesce(srv.api);
        status = 0;
    }
    server_stop(&srv);
    hookd_config_free(&cfg);
    if (status == 0)
        hookd_log_info("stopped");
    return status;
}

/* glibc's malloc, tuned for a server that parses a 1 MiB request, frees it
 * all, and does it again: by default each thread's heap shrank after every
 * request and grew again for the next (about five mprotect calls a request
 * on every handler thread, each one a TLB flush across the process), and the
 * 1 MiB body buffer was an mmap/munmap pair. Keeping a few MiB per arena and
 * taking buffers under 4 MiB from the heap stops both. Two arenas, not the
 * default 8 per core: each handler thread's JSON trees otherwise spread
 * over arenas of their own, and what each kept raised the peak RSS of the
 * 200,000-activity benchmark from 61 to 73 MiB (one arena made every thread
 * wait on one lock and halved the rate). */
static void tune_malloc(void)
{
    mallopt(M_ARENA_MAX, 2);
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 4 << 20);
    mallopt(M_TOP_PAD, 1 << 20);
}

/* ---- the commands ------------------------------------------------------ */

static int keys_cmd(int argc, char **argv)
{
    return hookd_cli_keys(argc, argv, env_lookup, NULL);
}

/* The client commands: each group parses its own options and help
 * (cli/cli.h's tables). */
static int webhooks_cmd(int argc, char **argv)
{
    return hookd_cli_group("webhooks", argc, argv, env_lookup);
}

static int logs_cmd(int argc, char **argv)
{
    return hookd_cli_group("logs", argc, argv, env_lookup);
}

static int retry_cmd(int argc, char **argv)
{
    return hookd_cli_group("retry", argc, argv, env_lookup);
}

static int activities_cmd(int argc, char **argv)
{
    return hookd_cli_group("activities", argc, argv, env_lookup);
}

static int people_cmd(int argc, char **argv)
{
    return hookd_cli_group("people", argc, argv, env_lookup);
}

static int version_cmd(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("hookd %s\n", HOOKD_VERSION);
    return 0;
}

static int help_cmd(int argc, char **argv);

static const char SERVE_ABOUT[] =
    "Every option is also an environment variable, named beside it: a flag wins over its "
    "variable, a variable over the default. Durations are an integer and a unit: ms, s, m, "
    "h or d (1.5s is invalid). A switch's variable takes 1, true or yes; 0, false, no or "
    "empty leave it off. An invalid option stops hookd at start with a one-line message "
    "and exit status 2.";

/* Every command, in the order the help lists them. A new command is one
 * row here (cli/help.h says what each field is for). */
static const hookd_command COMMANDS[] = {
    {"serve", "[options]", "run the server: the API, the operator page and the deliveries",
     serve, .options = hookd_serve_options, .grouped = true, .about = SERVE_ABOUT},
    {"keys",
     "create --name NAME --scope admin|ingest [options]\nlist [options]\nrevoke ID [options]",
     "make, list and revoke API keys, through a running server or in the store itself",
     keys_cmd, .options = hookd_cli_keys_options},
    {"webhooks",
     "list [options]\nshow ID\ncreate [options]\nedit ID [options]\ndelete ID\nconnect ID\n"
     "disconnect ID\ntest ID",
     "manage webhooks on a running server", webhooks_cmd, .own_help = true},
    {"logs", "WEBHOOK [--state STATE] [--limit N] [--follow]", "a webhook's deliveries",
     logs_cmd, .own_help = true},
    {"retry", "WEBHOOK DELIVERY", "send a delivery again now", retry_cmd, .own_help = true},
    {"activities", "send FILE|-", "send activities from JSON lines", activities_cmd,
     .own_help = true},
    {"people", "import FILE|-", "create or update people from CSV or JSON lines", people_cmd,
     .own_help = true},
    {"version", "", "print hookd's version", version_cmd, .options = NULL},
    {"help", "[COMMAND]\n--man|--markdown",
     "this text, a command's help, the man page (roff) or the option tables of "
     "docs/configuration.md (Markdown)",
     help_cmd, .own_help = true},
};
#define COMMAND_COUNT (sizeof COMMANDS / sizeof COMMANDS[0])

/* `hookd help [COMMAND|--man|--markdown]`; --markdown writes the option
 * tables of docs/configuration.md. */
static int help_cmd(int argc, char **argv)
{
    if (argc == 0) {
        hookd_help_usage(stdout, COMMANDS, COMMAND_COUNT);
        return 0;
    }
    const hookd_command *cmd = hookd_help_find(COMMANDS, COMMAND_COUNT, argv[0]);
    if (argc == 1 && strcmp(argv[0], "--man") == 0) {
        hookd_help_man(stdout, COMMANDS, COMMAND_COUNT, HOOKD_VERSION);
    } else if (argc == 1 && strcmp(argv[0], "--markdown") == 0) {
        hookd_help_markdown(stdout, COMMANDS, COMMAND_COUNT);
    } else if (argc == 1 && cmd) {
        hookd_help_command(stdout, cmd);
    } else {
        fprintf(stderr, "hookd help: unknown command '%s' (hookd help lists the commands)\n",
                argv[argc == 1 ? 0 : 1]);
        return 2;
    }
    return 0;
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    }
    return false;
}

int main(int argc, char **argv)
{
    tune_malloc();
    hookd_json_setup();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const char *name = argc >= 2 ? argv[1] : NULL;
    if (name && (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0))
        name = "help";
    if (name && strcmp(name, "--version") == 0)
        name = "version";
    const hookd_command *cmd = hookd_help_find(COMMANDS, COMMAND_COUNT, name);
    if (!cmd) {
        if (name)
            fprintf(stderr, "hookd: unknown command '%s'\n\n", name);
        else
            fputs("hookd: a command is required\n\n", stderr);
        hookd_help_usage(stderr, COMMANDS, COMMAND_COUNT);
        return 2;
    }
    if (!cmd->own_help && wants_help(argc - 2, argv + 2)) {
        hookd_help_command(stdout, cmd);
        return 0;
    }
    return cmd->run(argc - 2, argv + 2);
}

/* Unit tests for src/config.c: every option of docs/configuration.md, flags over
 * environment over defaults, and the refusals that make hookd exit 2. */
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"

/* A fake environment: NULL-terminated name/value pairs. */
static const char *const *fake_env;

static const char *env_get(const char *name)
{
    for (const char *const *p = fake_env; p && *p; p += 2) {
        if (strcmp(p[0], name) == 0)
            return p[1];
    }
    return NULL;
}

static int parse(hookd_config *cfg, const char *const *env, int argc, const char *const *argv,
                 char *err)
{
    fake_env = env;
    return hookd_config_parse(cfg, argc, (char **)argv, env_get, err, 256);
}

TEST(config_defaults)
{
    hookd_config cfg;
    char err[256];
    CHECK_INT(parse(&cfg, NULL, 0, NULL, err), 0);
    CHECK_STR(cfg.listen_host, "127.0.0.1");
    CHECK_INT(cfg.listen_port, 8080);
    CHECK_STR(cfg.db_path, "hookd.db");
    CHECK(cfg.database_url == NULL);
    CHECK(cfg.api_key == NULL);
    CHECK(!cfg.allow_private_networks);
    CHECK_INT(cfg.retry_schedule_len, 5);
    CHECK_INT(cfg.retry_schedule_ms[0], 5 * 60000);
    CHECK_INT(cfg.retry_schedule_ms[4], 86400000);
    CHECK_INT(cfg.max_retries, 12);
    CHECK_INT(cfg.request_timeout_ms, 30000);
    CHECK_INT(cfg.log_retention_ms, 30LL * 86400000);
    hookd_config_free(&cfg);
}

TEST(config_flags_both_forms)
{
    hookd_config cfg;
    char err[256];
    const char *argv[] = {"--listen",        "[::1]:9000", "--db=/tmp/x.db",  "--max-retries", "3",
                          "--retry-schedule", "1s,2s",     "--request-timeout=500ms",
                          "--log-retention", "7d",         "--allow-private-networks",
                          "--api-key",       "0123456789abcdef", "--database-url",
                          "postgres://u@127.0.0.1/db", "--master-key-file", "/tmp/x.key"};
    CHECK_INT(parse(&cfg, NULL, (int)(sizeof argv / sizeof argv[0]), argv, err), 0);
    CHECK_STR(cfg.listen_host, "::1");
    CHECK_INT(cfg.listen_port, 9000);
    CHECK_STR(cfg.db_path, "/tmp/x.db");
    CHECK_INT(cfg.max_retries, 3);
    CHECK_INT(cfg.retry_schedule_len, 2);
    CHECK_INT(cfg.retry_schedule_ms[1], 2000);
    CHECK_INT(cfg.request_timeout_ms, 500);
    CHECK_INT(cfg.log_retention_ms, 7LL * 86400000);
    CHECK(cfg.allow_private_networks);
    CHECK_STR(cfg.api_key, "0123456789abcdef");
    CHECK_STR(cfg.database_url, "postgres://u@127.0.0.1/db");
    hookd_config_free(&cfg);
}

TEST(config_env_and_flag_precedence)
{
    hookd_config cfg;
    char err[256];
    const char *const env[] = {"HOOKD_LISTEN",        "0.0.0.0:81", "HOOKD_MAX_RETRIES", "4",
                               "HOOKD_DB",            "env.db",     "HOOKD_ALLOW_PRIVATE_NETWORKS",
                               "1",                   "HOOKD_REQUEST_TIMEOUT", "2s",
                               "HOOKD_RETRY_SCHEDULE", "3s",        "HOOKD_LOG_RETENTION", "1h",
                               NULL};
    const char *argv[] = {"--max-retries", "5"};
    CHECK_INT(parse(&cfg, env, 2, argv, err), 0);
    CHECK_STR(cfg.listen_host, "0.0.0.0");
    CHECK_INT(cfg.listen_port, 81);
    CHECK_INT(cfg.max_retries, 5); /* the flag wins over the variable */
    CHECK_STR(cfg.db_path, "env.db");
    CHECK(cfg.allow_private_networks);
    CHECK_INT(cfg.request_timeout_ms, 2000);
    CHECK_INT(cfg.retry_schedule_ms[0], 3000);
    CHECK_INT(cfg.log_retention_ms, 3600000);
    hookd_config_free(&cfg);
}

TEST(config_refusals_name_the_option)
{
    static const struct {
        const char *argv[2];
        int argc;
        const char *names;
    } CASES[] = {
        {{"--request-timeout", "1.5s"}, 2, "--request-timeout"},
        {{"--request-timeout", "0s"}, 2, "--request-timeout"},
        {{"--retry-schedule", "5m,,1h"}, 2, "--retry-schedule"},
        {{"--max-retries", "-1"}, 2, "--max-retries"},
        {{"--max-retries", "abc"}, 2, "--max-retries"},
        {{"--max-retries", "1001"}, 2, "--max-retries"},
        {{"--log-retention", "10"}, 2, "--log-retention"},
        {{"--listen", "nonsense"}, 2, "--listen"},
        {{"--listen", "127.0.0.1:65536"}, 2, "--listen"},
        {{"--listen", "::1:80"}, 2, "--listen"},
        {{"--database-url", "mysql://x"}, 2, "--database-url"},
        {{"--api-key", "short"}, 2, "--api-key"},
        {{"--db"}, 1, "--db"},
        {{"--bogus"}, 1, "--bogus"},
        {{"--allow-private-networks=yes"}, 1, "--allow-private-networks"},
        {{"--database-url", "postgres://x/db"}, 2, "--master-key-file"},
        {{"--tls-cert", "/dev/null"}, 2, "--tls-key"},
        {{"--tls-key", "/dev/null"}, 2, "--tls-cert"},
        {{"--ca-file", "/nonexistent/ca.pem"}, 2, "--ca-file"},
        {{"--api-key-file", "/nonexistent/key"}, 2, "--api-key-file"},
        {{"--proxy", "ftp://x"}, 2, "--proxy"},
        {{"--proxy", "socks5://127.0.0.1:1080"}, 2, "--proxy"},
        {{"--proxy", "socks5h://127.0.0.1:1080"}, 2, "--proxy"},
        {{"--allow-networks", "10.0.0.0/33"}, 2, "10.0.0.0/33"},
        {{"--allow-networks", "10.1.0.0/16,bogus"}, 2, "bogus"},
        {{"--allow-networks", "10.1.2.3/16"}, 2, "--allow-networks"},
        {{"--allow-networks", "10.0.0.0/8,"}, 2, "--allow-networks"},
        {{"--allow-networks", "0x0a.0.0.0/8"}, 2, "0x0a.0.0.0/8"},
        {{"--rotation-overlap", "1.5h"}, 2, "--rotation-overlap"},
        {{"--api-rate-limit", "0"}, 2, "--api-rate-limit"},
        {{"--api-rate-limit", "ten"}, 2, "--api-rate-limit"},
        {{"--https-only=1"}, 1, "--https-only"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        hookd_config cfg;
        char err[256] = "";
        if (parse(&cfg, NULL, CASES[i].argc, CASES[i].argv, err) == 0) {
            unit_fail(__FILE__, __LINE__, "%s %s was accepted", CASES[i].argv[0],
                      CASES[i].argc > 1 ? CASES[i].argv[1] : "");
            hookd_config_free(&cfg);
            continue;
        }
        if (!strstr(err, CASES[i].names))
            unit_fail(__FILE__, __LINE__, "error '%s' does not name %s", err, CASES[i].names);
        if (strchr(err, '\n'))
            unit_fail(__FILE__, __LINE__, "error '%s' is not one line", err);
    }
}

/* A bad --allow-networks item stops hookd with a message naming the option
 * and the item; good lists, with spaces and both families, pass as given. */
TEST(config_allow_networks_checked)
{
    hookd_config cfg;
    char err[256] = "";
    const char *bad[] = {"--allow-networks", "10.1.0.0/16, fd00::/8,192.168.1.1/24"};
    CHECK(parse(&cfg, NULL, 2, bad, err) != 0);
    CHECK(strstr(err, "--allow-networks") != NULL);
    CHECK(strstr(err, "'192.168.1.1/24'") != NULL);
    const char *good[] = {"--allow-networks", "10.1.0.0/16, fd00::/8,127.0.0.1"};
    CHECK_INT(parse(&cfg, NULL, 2, good, err), 0);
    CHECK_STR(cfg.allow_networks, "10.1.0.0/16, fd00::/8,127.0.0.1");
    hookd_config_free(&cfg);
}

/* The later options: defaults, values, and the key read from a file
 * without its line break. */
TEST(config_security_options)
{
    hookd_config cfg;
    char err[256];
    CHECK_INT(parse(&cfg, NULL, 0, NULL, err), 0);
    CHECK_INT(cfg.rotation_overlap_ms, 24LL * 3600000);
    CHECK(!cfg.https_only && !cfg.proxy && !cfg.allow_networks && !cfg.master_key_file);
    CHECK(cfg.api_rate_limit == 0);
    hookd_config_free(&cfg);

    char path[] = "/tmp/hookd-keyfile-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_INT(write(fd, "0123456789abcdefXYZ\n", 20), 20);
    close(fd);
    const char *argv[] = {"--api-key-file", path, "--https-only", "--proxy", "http://127.0.0.1:3128",
                          "--allow-networks", "10.1.0.0/16", "--rotation-overlap", "0s",
                          "--api-rate-limit", "2.5", "--tls-cert", path, "--tls-key", path};
    CHECK_INT(parse(&cfg, NULL, (int)(sizeof argv / sizeof argv[0]), argv, err), 0);
    CHECK_STR(cfg.api_key, "0123456789abcdefXYZ");
    CHECK(cfg.https_only);
    CHECK_STR(cfg.proxy, "http://127.0.0.1:3128");
    CHECK_STR(cfg.allow_networks, "10.1.0.0/16");
    CHECK_INT(cfg.rotation_overlap_ms, 0);
    CHECK(cfg.api_rate_limit == 2.5);
    hookd_config_free(&cfg);

    const char *both[] = {"--api-key", "0123456789abcdef", "--api-key-file", path};
    CHECK(parse(&cfg, NULL, 4, both, err) != 0);
    CHECK(strstr(err, "not both") != NULL);
    unlink(path);
}

TEST(config_env_refusal_names_the_variable)
{
    hookd_config cfg;
    char err[256];
    const char *const env[] = {"HOOKD_REQUEST_TIMEOUT", "1.5s", NULL};
    CHECK(parse(&cfg, env, 0, NULL, err) != 0);
    CHECK(strstr(err, "HOOKD_REQUEST_TIMEOUT") != NULL);
    const char *const env2[] = {"HOOKD_ALLOW_PRIVATE_NETWORKS", "maybe", NULL};
    CHECK(parse(&cfg, env2, 0, NULL, err) != 0);
    CHECK(strstr(err, "HOOKD_ALLOW_PRIVATE_NETWORKS") != NULL);
}

TEST(listen_forms)
{
    char *host = NULL;
    uint16_t port = 0;
    CHECK_INT(hookd_parse_listen("127.0.0.1:0", &host, &port), 0);
    CHECK_STR(host, "127.0.0.1");
    CHECK_INT(port, 0);
    free(host);
    CHECK_INT(hookd_parse_listen("localhost:8080", &host, &port), 0);
    CHECK_STR(host, "localhost");
    free(host);
    CHECK_INT(hookd_parse_listen("[::]:443", &host, &port), 0);
    CHECK_STR(host, "::");
    CHECK_INT(port, 443);
    free(host);
    CHECK(hookd_parse_listen(":80", &host, &port) != 0);
    CHECK(hookd_parse_listen("host:", &host, &port) != 0);
    CHECK(hookd_parse_listen("host:8x", &host, &port) != 0);
    CHECK(hookd_parse_listen("[::1]80", &host, &port) != 0);
}

/* The API's abuse limits: defaults, flag over variable, and refusals that
 * name the option. */
TEST(config_api_limits)
{
    hookd_config cfg;
    char err[256];
    CHECK_INT(parse(&cfg, NULL, 0, NULL, err), 0);
    CHECK_INT(cfg.api_connections_per_client, 128);
    CHECK_INT(cfg.api_request_deadline_ms, 60000);
    hookd_config_free(&cfg);

    const char *const env[] = {"HOOKD_API_CONNECTIONS_PER_CLIENT", "500",
                               "HOOKD_API_REQUEST_DEADLINE", "2m", NULL};
    CHECK_INT(parse(&cfg, env, 0, NULL, err), 0);
    CHECK_INT(cfg.api_connections_per_client, 500);
    CHECK_INT(cfg.api_request_deadline_ms, 120000);
    hookd_config_free(&cfg);

    const char *argv[] = {"--api-connections-per-client", "0", "--api-request-deadline=2s"};
    CHECK_INT(parse(&cfg, env, 3, argv, err), 0);
    CHECK_INT(cfg.api_connections_per_client, 0);
    CHECK_INT(cfg.api_request_deadline_ms, 2000);
    hookd_config_free(&cfg);

    static const char *const bad[][2] = {
        {"--api-connections-per-client", "-1"}, {"--api-connections-per-client", "lots"},
        {"--api-connections-per-client", "100001"}, {"--api-request-deadline", "500ms"},
        {"--api-request-deadline", "2h"},        {"--api-request-deadline", "10"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *a[] = {bad[i][0], bad[i][1]};
        CHECK(parse(&cfg, NULL, 2, a, err) != 0);
        CHECK(strstr(err, bad[i][0]) != NULL);
    }
    const char *const env_bad[] = {"HOOKD_API_REQUEST_DEADLINE", "0s", NULL};
    CHECK(parse(&cfg, env_bad, 0, NULL, err) != 0);
    CHECK(strstr(err, "HOOKD_API_REQUEST_DEADLINE") != NULL);
}

TEST(config_max_deliveries_per_request)
{
    hookd_config cfg;
    char err[256];
    CHECK_INT(parse(&cfg, NULL, 0, NULL, err), 0);
    CHECK_INT(cfg.max_deliveries_per_request, 100000);
    hookd_config_free(&cfg);
    const char *const env[] = {"HOOKD_MAX_DELIVERIES_PER_REQUEST", "7", NULL};
    CHECK_INT(parse(&cfg, env, 0, NULL, err), 0);
    CHECK_INT(cfg.max_deliveries_per_request, 7);
    hookd_config_free(&cfg);
    const char *argv[] = {"--max-deliveries-per-request=1000000000"};
    CHECK_INT(parse(&cfg, env, 1, argv, err), 0);
    CHECK_INT(cfg.max_deliveries_per_request, 1000000000);
    hookd_config_free(&cfg);
    static const char *const bad[] = {"0", "-1", "1000000001", "1e5", "", "5x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *a[] = {"--max-deliveries-per-request", bad[i]};
        CHECK(parse(&cfg, NULL, 2, a, err) != 0);
        CHECK(strstr(err, "--max-deliveries-per-request") != NULL);
    }
}

TEST(config_max_test_sends)
{
    hookd_config cfg;
    char err[256];
    CHECK_INT(parse(&cfg, NULL, 0, NULL, err), 0);
    CHECK_INT(cfg.max_test_sends, 16);
    hookd_config_free(&cfg);

    const char *const env[] = {"HOOKD_MAX_TEST_SENDS", "3", NULL};
    CHECK_INT(parse(&cfg, env, 0, NULL, err), 0);
    CHECK_INT(cfg.max_test_sends, 3);
    hookd_config_free(&cfg);
    const char *argv[] = {"--max-test-sends=1000"};
    CHECK_INT(parse(&cfg, env, 1, argv, err), 0);
    CHECK_INT(cfg.max_test_sends, 1000);
    hookd_config_free(&cfg);

    static const char *const bad[] = {"0", "-1", "1001", "many", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *a[] = {"--max-test-sends", bad[i]};
        CHECK(parse(&cfg, NULL, 2, a, err) != 0);
        CHECK(strstr(err, "--max-test-sends") != NULL);
    }
    const char *const env_bad[] = {"HOOKD_MAX_TEST_SENDS", "0", NULL};
    CHECK(parse(&cfg, env_bad, 0, NULL, err) != 0);
    CHECK(strstr(err, "HOOKD_MAX_TEST_SENDS") != NULL);
}

TEST(config_disable_after)
{
    hookd_config cfg;
    char err[256];
    CHECK_INT(parse(&cfg, NULL, 0, NULL, err), 0);
    CHECK_INT(cfg.disable_after_ms, 5LL * 86400000);
    hookd_config_free(&cfg);

    const char *const env[] = {"HOOKD_DISABLE_AFTER", "12h", NULL};
    CHECK_INT(parse(&cfg, env, 0, NULL, err), 0);
    CHECK_INT(cfg.disable_after_ms, 12LL * 3600000);
    hookd_config_free(&cfg);
    const char *argv[] = {"--disable-after", "1s"};
    CHECK_INT(parse(&cfg, env, 2, argv, err), 0);
    CHECK_INT(cfg.disable_after_ms, 1000);
    hookd_config_free(&cfg);

    /* below 1 s, above 365 d, or not a duration */
    static const char *const bad[] = {"999ms", "0s", "366d", "5", "5 d", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *a[] = {"--disable-after", bad[i]};
        CHECK(parse(&cfg, NULL, 2, a, err) != 0);
        CHECK(strstr(err, "--disable-after") != NULL);
    }
}

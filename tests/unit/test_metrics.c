/* Unit tests for src/util/metrics.c (buckets, the text format's lines) and
 * the id's time it reads (util/crypto.h hookd_id_ms), plus the options of
 * src/config.c that /metrics and the access log add. */
#include <stdlib.h>

#include "api/handlers.h"
#include "config.h"
#include "unit.h"
#include "util/crypto.h"
#include "util/metrics.h"
#include "util/timeutil.h"

static const int64_t BOUNDS[] = {10, 100, 1000};

TEST(metrics_histogram_buckets_and_text)
{
    hookd_histogram h = {.bounds = BOUNDS, .n = 3, .scale = 1000};
    int64_t values[] = {0, 10, 11, 100, 5000, -3};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        hookd_histogram_observe(&h, values[i]);
    /* le is inclusive: 10 is in the first bucket, 11 in the second; a
     * negative value counts as 0. */
    CHECK_INT(h.counts[0], 3);
    CHECK_INT(h.counts[1], 2);
    CHECK_INT(h.counts[2], 0);
    CHECK_INT(h.counts[3], 1);
    hookd_buf b = {0};
    hookd_metrics_family(&b, "x_seconds", "histogram", "X.");
    hookd_metrics_histogram(&b, "x_seconds", &h);
    char *text = hookd_buf_take(&b);
    CHECK_STR(text, "# HELP x_seconds X.\n"
                    "# TYPE x_seconds histogram\n"
                    "x_seconds_bucket{le=\"0.01\"} 3\n"
                    "x_seconds_bucket{le=\"0.1\"} 5\n"
                    "x_seconds_bucket{le=\"1\"} 5\n"
                    "x_seconds_bucket{le=\"+Inf\"} 6\n"
                    "x_seconds_sum 5.121\n"
                    "x_seconds_count 6\n");
    free(text);
}

TEST(metrics_samples_and_label_escapes)
{
    hookd_buf b = {0};
    hookd_buf_puts(&b, "path=\"");
    hookd_metrics_label_value(&b, "a\"b\\c\nd");
    hookd_buf_puts(&b, "\"");
    char *labels = hookd_buf_take(&b);
    hookd_metrics_sample(&b, "y_total", labels, 42);
    hookd_metrics_sample(&b, "z", NULL, 0.25);
    char *text = hookd_buf_take(&b);
    CHECK_STR(text, "y_total{path=\"a\\\"b\\\\c\\nd\"} 42\nz 0.25\n");
    free(labels);
    free(text);
}

TEST(metrics_status_classes)
{
    CHECK_INT(hookd_metrics_class(200), HOOKD_M_2XX);
    CHECK_INT(hookd_metrics_class(302), HOOKD_M_3XX);
    CHECK_INT(hookd_metrics_class(410), HOOKD_M_4XX);
    CHECK_INT(hookd_metrics_class(599), HOOKD_M_5XX);
    CHECK_INT(hookd_metrics_class(0), HOOKD_M_ERROR);
    CHECK_INT(hookd_metrics_class(101), HOOKD_M_ERROR);
}

TEST(metrics_route_table_fits_the_counters)
{
    /* Past the cap, requests of the last routes would be counted as
     * "unmatched": raise HOOKD_API_ROUTES_MAX with the table. */
    CHECK(hookd_route_count() <= HOOKD_API_ROUTES_MAX);
    long i = hookd_route_of_path("/api/v1/webhooks/abc/logs/def");
    CHECK(i >= 0);
    CHECK_STR(hookd_route_at((size_t)i)->pattern, "/api/v1/webhooks/*/logs/*");
    CHECK_INT(hookd_route_of_path("/nope"), -1);
    CHECK_INT(hookd_route_index(hookd_route_at(0)), 0);
}

TEST(id_ms_reads_the_creation_time)
{
    char id[HOOKD_ID_MAX];
    int64_t before = hookd_now_ms();
    CHECK_INT(hookd_id_new(id), 0);
    int64_t ms = hookd_id_ms(id);
    CHECK(ms >= before && ms <= hookd_now_ms());
    CHECK_INT(hookd_id_ms("0190f3a2-1b2c-7000-8000-000000000000"), 0x0190f3a21b2cLL);
    CHECK_INT(hookd_id_ms("not an id"), -1);
}

static const char *no_env(const char *name)
{
    (void)name;
    return NULL;
}

static const char *metrics_env(const char *name)
{
    if (strcmp(name, "HOOKD_METRICS_PUBLIC") == 0)
        return "1";
    if (strcmp(name, "HOOKD_ACCESS_LOG") == 0)
        return "-";
    return NULL;
}

TEST(config_metrics_public_and_access_log)
{
    hookd_config cfg;
    char err[256];
    CHECK_INT(hookd_config_parse(&cfg, 0, NULL, no_env, err, sizeof err), 0);
    CHECK(!cfg.metrics_public);
    CHECK(cfg.access_log == NULL);
    hookd_config_free(&cfg);
    const char *argv[] = {"--metrics-public", "--access-log", "/tmp/a.log"};
    CHECK_INT(hookd_config_parse(&cfg, 3, (char **)argv, no_env, err, sizeof err), 0);
    CHECK(cfg.metrics_public);
    CHECK_STR(cfg.access_log, "/tmp/a.log");
    hookd_config_free(&cfg);
    CHECK_INT(hookd_config_parse(&cfg, 0, NULL, metrics_env, err, sizeof err), 0);
    CHECK(cfg.metrics_public);
    CHECK_STR(cfg.access_log, "-");
    hookd_config_free(&cfg);
    const char *bad[] = {"--metrics-public=yes"};
    CHECK_INT(hookd_config_parse(&cfg, 1, (char **)bad, no_env, err, sizeof err), -1);
    CHECK(strstr(err, "--metrics-public") != NULL);
    const char *empty[] = {"--access-log", ""};
    CHECK_INT(hookd_config_parse(&cfg, 2, (char **)empty, no_env, err, sizeof err), -1);
    CHECK(strstr(err, "--access-log") != NULL);
    const char *nodir[] = {"--access-log", "/nonexistent-dir-of-hookd/access.log"};
    CHECK_INT(hookd_config_parse(&cfg, 2, (char **)nodir, no_env, err, sizeof err), -1);
    CHECK(strstr(err, "--access-log: cannot open") != NULL);
}

#include "util/duration.h"

#include <stdlib.h>
#include <string.h>

/* Longest accepted duration: 100 years, far past any sane retry or retention. */
#define DURATION_MAX_MS (100LL * 365 * 24 * 3600 * 1000)
#define DURATION_LIST_MAX 64

int hookd_duration_parse(const char *s, int64_t *ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    const char *p = s;
    int64_t v = 0;
    if (*p < '0' || *p > '9')
        return -1;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p - '0');
        if (v > DURATION_MAX_MS)
            return -1;
        p++;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(p, units[i].unit) == 0) {
            if (v > DURATION_MAX_MS / units[i].ms)
                return -1;
            *ms = v * units[i].ms;
            return 0;
        }
    }
    return -1;
}

int hookd_duration_list_parse(const char *s, int64_t **out, size_t *n)
{
    int64_t tmp[DURATION_LIST_MAX];
    size_t count = 0;
    const char *p = s;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[32];
        if (len == 0 || len >= sizeof item || count == DURATION_LIST_MAX)
            return -1;
        memcpy(item, p, len);
        item[len] = '\0';
        if (hookd_duration_parse(item, &tmp[count]) != 0 || tmp[count] <= 0)
            return -1;
        count++;
        if (!comma)
            break;
        p = comma + 1;
    }
    int64_t *arr = malloc(count * sizeof *arr);
    if (!arr)
        return -1;
    memcpy(arr, tmp, count * sizeof *arr);
    *out = arr;
    *n = count;
    return 0;
}

#include "util/json.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int hookd_json_only_keys(const json_t *obj, const char *const *allowed, const char *prefix,
                         hookd_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, k) == 0;
        if (!ok) {
            char field[HOOKD_ERR_FIELD_MAX];
            snprintf(field, sizeof field, "%s%s%s", prefix, *prefix ? "." : "", k);
            return hookd_invalid(err, field, "unknown key '%s'", k);
        }
    }
    return 0;
}

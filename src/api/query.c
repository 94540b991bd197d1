/*
 * query.c — reading an API call's query parameters (limit, cursor, hours,
 * state, …) the same way everywhere: a bad value is a 400 naming it.
 */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/handlers.h"

static const char *param(const hookd_req *req, const char *name)
{
    const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
    return v && *v ? v : NULL;
}

int hookd_api_query_int(const hookd_req *req, const char *name, int64_t min, int64_t max,
                        int64_t dflt, int64_t *out, hookd_error *err)
{
    const char *v = param(req, name);
    *out = dflt;
    if (!v)
        return 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end || n < min || n > max)
        return hookd_invalid(err, name, "%s must be an integer from %lld to %lld", name,
                             (long long)min, (long long)max);
    *out = n;
    return 0;
}

int hookd_api_query_cursor(const hookd_req *req, int64_t *out, hookd_error *err)
{
    const char *v = param(req, "cursor");
    *out = 0;
    if (!v)
        return 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end || n < 1)
        return hookd_invalid(err, "cursor", "cursor must be a next_cursor from an earlier answer");
    *out = n;
    return 0;
}

const char *hookd_api_query_str(const hookd_req *req, const char *name)
{
    return param(req, name);
}

json_t *hookd_api_cursor_json(int64_t next)
{
    char cur[32];
    if (!next)
        return json_null();
    snprintf(cur, sizeof cur, "%lld", (long long)next);
    return json_string(cur);
}

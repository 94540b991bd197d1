/*
 * web.h — the operator's page (docs/web.md): the files of web/, compiled into the
 * binary, and their lookup by name.
 *
 * scripts/gen_web.sh turns every file of web/ into $(BUILD)/gen/web_assets.c
 * at build time, with its media type and a strong ETag (its SHA-256), so the
 * page needs no file on disk and cannot drift from the binary serving it.
 * Everything here is static, read-only data: safe from any thread, and every
 * pointer is borrowed for the life of the process.
 */
#ifndef HOOKD_API_WEB_H
#define HOOKD_API_WEB_H

#include <stddef.h>

typedef struct hookd_web_asset {
    const char *name; /* its file name under web/: "app.js" */
    const char *type; /* Content-Type: "text/javascript; charset=utf-8" */
    const unsigned char *data;
    size_t len;
    const char *etag; /* quoted, as sent: "\"9f86d081884c7d65…\"" */
} hookd_web_asset;

/* The generated table, sorted by name (byte order). */
extern const hookd_web_asset hookd_web_assets[];
extern const size_t hookd_web_asset_count;

/* The asset with exactly this name, or NULL. */
const hookd_web_asset *hookd_web_asset_find(const char *name);

/* The API's OpenAPI document (docs/openapi.json), compiled in by the same
 * generator: one entry, "openapi.json", served at GET /api/v1/openapi.json. */
extern const hookd_web_asset hookd_openapi_assets[];
extern const size_t hookd_openapi_asset_count;

#endif

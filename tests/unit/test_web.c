/* The compiled-in page table (src/api/web.h): sorted for bsearch, every entry
 * labelled and validated, lookups exact. */
#include <string.h>

#include "api/web.h"
#include "unit.h"

TEST(web_table_is_sorted_and_complete)
{
    CHECK(hookd_web_asset_count > 0);
    for (size_t i = 0; i < hookd_web_asset_count; i++) {
        const hookd_web_asset *a = &hookd_web_assets[i];
        CHECK(a->name && a->name[0]);
        CHECK(a->type && a->type[0]);
        CHECK(a->data != NULL);
        /* A strong validator: the quoted hex of a SHA-256 prefix. */
        CHECK(a->etag && strlen(a->etag) == 34 && a->etag[0] == '"' && a->etag[33] == '"');
        CHECK(strspn(a->etag + 1, "0123456789abcdef") == 32);
        /* The generator appends one NUL past the counted bytes. */
        CHECK(a->data[a->len] == 0);
        if (i > 0)
            CHECK(strcmp(hookd_web_assets[i - 1].name, a->name) < 0);
    }
}

TEST(web_find_is_exact)
{
    const hookd_web_asset *index = hookd_web_asset_find("index.html");
    CHECK(index != NULL);
    if (index)
        CHECK_STR(index->type, "text/html; charset=utf-8");
    for (size_t i = 0; i < hookd_web_asset_count; i++)
        CHECK(hookd_web_asset_find(hookd_web_assets[i].name) == &hookd_web_assets[i]);
    CHECK(hookd_web_asset_find("") == NULL);
    CHECK(hookd_web_asset_find("INDEX.HTML") == NULL);
    CHECK(hookd_web_asset_find("index.html.") == NULL);
    CHECK(hookd_web_asset_find("../index.html") == NULL);
    CHECK(hookd_web_asset_find("index") == NULL);
}

/*
 * test_store_keys.c — the store conformance suite's API keys: add, list,
 * the entries the API's cache reads, revoke, last use, and (SQLite) the
 * migration of a key stored by the schema that had only hashes.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "model/apikey.h"
#include "test_store.h"
#include "util/crypto.h"

static hookd_key key_of(const char *name, hookd_key_scope scope, int64_t created)
{
    hookd_key k = {.name = (char *)name, .scope = scope, .created_at = created};
    CHECK_INT(hookd_id_new(k.id), 0);
    return k;
}

/* The entry of id among all[0..n), or NULL. */
static const hookd_key_entry *entry_of(const hookd_key_entry *all, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(all[i].id, id) == 0)
            return &all[i];
    }
    return NULL;
}

STORE_TEST(keys_round_trip)
{
    hookd_key_entry *all = (hookd_key_entry *)"x";
    hookd_key *list = NULL;
    size_t n = 99;
    CHECK_INT(hookd_store_key_entries(fx->st, &all, &n), 0);
    CHECK_INT(n, 0);
    CHECK(all == NULL);
    CHECK_INT(hookd_store_key_list(fx->st, &list, &n), 0);
    CHECK_INT(n, 0);

    unsigned char h1[HOOKD_KEY_HASH_LEN], h2[HOOKD_KEY_HASH_LEN];
    for (int i = 0; i < HOOKD_KEY_HASH_LEN; i++) {
        h1[i] = (unsigned char)i;
        h2[i] = (unsigned char)(255 - i);
    }
    h2[5] = 0; /* a NUL inside: hashes are bytes, not strings */
    /* b is made first but is the younger: the list goes by creation time. */
    hookd_key a = key_of("ingest ünïcode", HOOKD_SCOPE_INGEST, T0);
    hookd_key b = key_of("admin one", HOOKD_SCOPE_ADMIN, T0 + 1000);
    CHECK_INT(hookd_store_key_add(fx->st, &b, h2), 0);
    CHECK_INT(hookd_store_key_add(fx->st, &a, h1), 0);
    /* The same hash or the same id twice is refused, and nothing changes. */
    hookd_key c = key_of("again", HOOKD_SCOPE_ADMIN, T0 + 2000);
    CHECK_INT(hookd_store_key_add(fx->st, &c, h1), HOOKD_ECONFLICT);
    unsigned char h3[HOOKD_KEY_HASH_LEN];
    memset(h3, 3, sizeof h3);
    CHECK_INT(hookd_store_key_add(fx->st, &a, h3), HOOKD_ECONFLICT);

    CHECK_INT(hookd_store_key_list(fx->st, &list, &n), 0);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(list[0].id, a.id);
        CHECK_STR(list[0].name, "ingest ünïcode");
        CHECK_INT(list[0].scope, HOOKD_SCOPE_INGEST);
        CHECK(list[0].created_at == T0);
        CHECK(list[0].last_used_at == 0);
        CHECK_STR(list[1].id, b.id);
        CHECK_STR(list[1].name, "admin one");
        CHECK_INT(list[1].scope, HOOKD_SCOPE_ADMIN);
        CHECK(list[1].created_at == T0 + 1000);
    }
    hookd_key_list_free(list, n);

    CHECK_INT(hookd_store_key_entries(fx->st, &all, &n), 0);
    CHECK_INT(n, 2);
    const hookd_key_entry *ea = entry_of(all, n, a.id), *eb = entry_of(all, n, b.id);
    CHECK(ea && eb);
    if (ea && eb) {
        CHECK(memcmp(ea->hash, h1, HOOKD_KEY_HASH_LEN) == 0);
        CHECK_INT(ea->scope, HOOKD_SCOPE_INGEST);
        CHECK(memcmp(eb->hash, h2, HOOKD_KEY_HASH_LEN) == 0);
        CHECK_INT(eb->scope, HOOKD_SCOPE_ADMIN);
    }
    free(all);
    CHECK(fx_reopen(fx));
    CHECK_INT(hookd_store_key_entries(fx->st, &all, &n), 0);
    CHECK_INT(n, 2);
    free(all);
}

STORE_TEST(keys_revoke)
{
    char t1[HOOKD_KEY_TEXT_MAX], t2[HOOKD_KEY_TEXT_MAX];
    hookd_key k1, k2;
    CHECK_INT(hookd_store_key_create(fx->st, "one", HOOKD_SCOPE_ADMIN, t1, &k1), 0);
    CHECK_INT(hookd_store_key_create(fx->st, "two", HOOKD_SCOPE_INGEST, t2, &k2), 0);
    CHECK_INT(hookd_store_key_revoke(fx->st, k1.id), 0);
    CHECK_INT(hookd_store_key_revoke(fx->st, k1.id), HOOKD_ENOTFOUND);
    char other[HOOKD_ID_MAX];
    CHECK_INT(hookd_id_new(other), 0);
    CHECK_INT(hookd_store_key_revoke(fx->st, other), HOOKD_ENOTFOUND);
    hookd_key_entry *all = NULL;
    size_t n = 0;
    CHECK_INT(hookd_store_key_entries(fx->st, &all, &n), 0);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_STR(all[0].id, k2.id);
        unsigned char h[HOOKD_KEY_HASH_LEN];
        hookd_key_hash(t2, strlen(t2), h);
        CHECK(memcmp(all[0].hash, h, HOOKD_KEY_HASH_LEN) == 0);
    }
    free(all);
    hookd_key *list = NULL;
    CHECK_INT(hookd_store_key_list(fx->st, &list, &n), 0);
    CHECK_INT(n, 1);
    if (n == 1)
        CHECK_STR(list[0].name, "two");
    hookd_key_list_free(list, n);
}

STORE_TEST(keys_create_stores_only_the_hash)
{
    char text[HOOKD_KEY_TEXT_MAX];
    hookd_key k;
    CHECK_INT(hookd_store_key_create(fx->st, "made", HOOKD_SCOPE_INGEST, text, &k), 0);
    CHECK(strncmp(text, "hk_", 3) == 0);
    CHECK_INT((int)strlen(text), 3 + 43); /* 32 bytes, base64 without padding */
    CHECK(strpbrk(text, "+/=") == NULL);
    CHECK(hookd_id_valid(k.id));
    CHECK_STR(k.name, "made");
    char other[HOOKD_KEY_TEXT_MAX];
    CHECK_INT(hookd_store_key_create(fx->st, "made", HOOKD_SCOPE_INGEST, other, NULL), 0);
    CHECK(strcmp(text, other) != 0);
    hookd_key_entry *all = NULL;
    size_t n = 0;
    CHECK_INT(hookd_store_key_entries(fx->st, &all, &n), 0);
    unsigned char h[HOOKD_KEY_HASH_LEN];
    hookd_key_hash(text, strlen(text), h);
    const hookd_key_entry *e = entry_of(all, n, k.id);
    CHECK(e && memcmp(e->hash, h, HOOKD_KEY_HASH_LEN) == 0);
    CHECK(e && e->scope == HOOKD_SCOPE_INGEST);
    free(all);
}

STORE_TEST(keys_touch_only_moves_forward)
{
    char text[HOOKD_KEY_TEXT_MAX];
    hookd_key k;
    CHECK_INT(hookd_store_key_create(fx->st, "used", HOOKD_SCOPE_ADMIN, text, &k), 0);
    CHECK_INT(hookd_store_key_touch(fx->st, k.id, T0 + 5000), 0);
    CHECK_INT(hookd_store_key_touch(fx->st, k.id, T0), 0);
    hookd_key *list = NULL;
    size_t n = 0;
    CHECK_INT(hookd_store_key_list(fx->st, &list, &n), 0);
    CHECK(n == 1 && list[0].last_used_at == T0 + 5000);
    hookd_key_list_free(list, n);
    /* A key revoked meanwhile: no error, nothing comes back. */
    CHECK_INT(hookd_store_key_revoke(fx->st, k.id), 0);
    CHECK_INT(hookd_store_key_touch(fx->st, k.id, T0 + 9000), 0);
    CHECK_INT(hookd_store_key_list(fx->st, &list, &n), 0);
    CHECK_INT(n, 0);
    hookd_key_list_free(list, n);
}

/* ---- migration (SQLite: the file is at hand) --------------------------------------- */

static bool exec_file(store_fx *fx, const char *sql)
{
    char path[512];
    snprintf(path, sizeof path, "%s/" STORE_SQLITE_FILE, fx->dir);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        unit_fail(__FILE__, __LINE__, "%s: %s", sql, db ? sqlite3_errmsg(db) : "?");
    sqlite3_close(db);
    return rc == SQLITE_OK;
}

BACKEND_TEST("sqlite", keys_migrate_from_hashes_only)
{
    /* The schema of migration 2 with one key of the first start. */
    hookd_store_close(fx->st);
    fx->st = NULL;
    CHECK(exec_file(fx, "DROP TABLE api_keys;"
                        "CREATE TABLE api_keys(hash BLOB PRIMARY KEY, created_at INTEGER NOT NULL)"
                        " WITHOUT ROWID;"
                        "INSERT INTO api_keys VALUES(x'" /* 32 bytes */
                        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff',"
                        " 1699999200123);"
                        "DROP TABLE meta;" /* added by a later migration */
                        "ALTER TABLE deliveries DROP COLUMN msg_id;" /* and this */
                        "DROP TABLE webhook_streaks;"                /* and this */
                        "PRAGMA user_version = 2;"));
    CHECK(fx_reopen(fx));
    if (!fx->st)
        return;
    hookd_key *list = NULL;
    size_t n = 0;
    CHECK_INT(hookd_store_key_list(fx->st, &list, &n), 0);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_STR(list[0].name, HOOKD_KEY_INITIAL_NAME);
        CHECK_INT(list[0].scope, HOOKD_SCOPE_ADMIN);
        CHECK(list[0].created_at == 1699999200123LL);
        CHECK(list[0].last_used_at == 0);
        CHECK(hookd_id_valid(list[0].id));
        /* A UUIDv7 of its time: 0x018bcfd9337b is 1699999200123. */
        CHECK(strncmp(list[0].id, "018bcfd9-337b-7", 15) == 0);
        CHECK(strchr("89ab", list[0].id[19]) != NULL);
    }
    hookd_key_entry *all = NULL;
    size_t ne = 0;
    CHECK_INT(hookd_store_key_entries(fx->st, &all, &ne), 0);
    CHECK_INT(ne, 1);
    if (ne == 1 && n == 1) {
        CHECK(all[0].hash[0] == 0x00 && all[0].hash[1] == 0x11 && all[0].hash[31] == 0xff);
        CHECK_STR(all[0].id, list[0].id);
        CHECK_INT(all[0].scope, HOOKD_SCOPE_ADMIN);
        /* Revocable like any other. */
        CHECK_INT(hookd_store_key_revoke(fx->st, list[0].id), 0);
    }
    free(all);
    hookd_key_list_free(list, n);
}

/*
 * sqlite_people.c — people and accounts in the SQLite backend: the merge
 * commands, reads, and the writer's cache of recently used people.
 *
 * Ingest resolves every activity's contact inside the writer; reports
 * usually name few people many times, and reading and decoding the same
 * person for each activity dominated ingest profiles. So the writer keeps
 * people it has read in a direct-mapped cache keyed by contact id, with their
 * account. Every write of a person or account goes through the writer, which
 * keeps the cache true; a rollback throws it away (sq_caches_drop).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "util/log.h"

#define PERSON_COLS "seq, contact_id, account_id, fields, created_at, updated_at"
#define ACCOUNT_COLS "account_id, fields, created_at, updated_at"

static const char SQL_PERSON_BY_ID[] = "SELECT " PERSON_COLS " FROM people WHERE contact_id = ?";
static const char SQL_ACCOUNT_BY_ID[] =
    "SELECT " ACCOUNT_COLS " FROM accounts WHERE account_id = ?";
static const char SQL_ACCOUNT_BY_NAME[] = "SELECT " ACCOUNT_COLS " FROM accounts WHERE name = ?";

/* ---- rows ---------------------------------------------------------------- */

static hookd_person *row_person(sqlite3_stmt *q)
{
    hookd_person *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->key = sqlite3_column_int64(q, 0);
    sq_column_id(q, 1, p->contact_id);
    sq_column_id(q, 2, p->account_id);
    p->fields = sq_column_json(q, 3);
    p->created_at = sqlite3_column_int64(q, 4);
    p->updated_at = sqlite3_column_int64(q, 5);
    if (!p->fields) {
        hookd_person_free(p);
        return NULL;
    }
    return p;
}

static hookd_account *row_account(sqlite3_stmt *q)
{
    hookd_account *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    sq_column_id(q, 0, a->account_id);
    a->fields = sq_column_json(q, 1);
    a->created_at = sqlite3_column_int64(q, 2);
    a->updated_at = sqlite3_column_int64(q, 3);
    if (!a->fields) {
        hookd_account_free(a);
        return NULL;
    }
    return a;
}

/* Runs q (one text parameter bound to key) expecting at most one row. */
static int one(sq_conn *c, const char *sql, const char *key, void *(*decode)(sqlite3_stmt *),
               void **out)
{
    sqlite3_stmt *q = sq_stmt(c, sql);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    int step = sqlite3_step(q), rc;
    if (step == SQLITE_ROW)
        rc = (*out = decode(q)) ? 0 : HOOKD_ENOMEM;
    else
        rc = step == SQLITE_DONE ? HOOKD_ENOTFOUND : sq_rc(c->db, step);
    sqlite3_reset(q);
    return rc;
}

static void *person_any(sqlite3_stmt *q)
{
    return row_person(q);
}

static void *account_any(sqlite3_stmt *q)
{
    return row_account(q);
}

static int person_by_id(sq_conn *c, const char *id, hookd_person **out)
{
    return one(c, SQL_PERSON_BY_ID, id, person_any, (void **)out);
}

static int account_by(sq_conn *c, const char *sql, const char *key, hookd_account **out)
{
    return one(c, sql, key, account_any, (void **)out);
}

/* ---- the writer's cache ---------------------------------------------------- */

static size_t slot_of(const char *contact_id)
{
    /* FNV-1a: ids are random enough that any spread-out hash will do. */
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)contact_id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % SQ_PEOPLE_CACHE;
}

static void slot_clear(sq_contact *sc)
{
    hookd_person_free(sc->person);
    hookd_account_free(sc->account);
    sc->person = NULL;
    sc->account = NULL;
}

void sq_contacts_drop(sq_store *s)
{
    for (size_t i = 0; i < SQ_PEOPLE_CACHE; i++)
        slot_clear(&s->people[i]);
}

/* Forgets every cached person linked to the account (it changed). */
static void forget_account(sq_store *s, const char *account_id)
{
    for (size_t i = 0; i < SQ_PEOPLE_CACHE; i++) {
        sq_contact *sc = &s->people[i];
        if (sc->person && strcmp(sc->person->account_id, account_id) == 0)
            slot_clear(sc);
    }
}

/* Reads the person's account into sc (a link to a vanished account reads as
 * no account). */
static int load_account(sq_store *s, sq_contact *sc)
{
    if (!sc->person->account_id[0])
        return 0;
    int rc = account_by(&s->w, SQL_ACCOUNT_BY_ID, sc->person->account_id, &sc->account);
    return rc == HOOKD_ENOTFOUND ? 0 : rc;
}

/* Puts p (taken) into the cache, with its account read afresh. */
static int cache_put(sq_store *s, hookd_person *p, sq_contact **out)
{
    sq_contact *sc = &s->people[slot_of(p->contact_id)];
    slot_clear(sc);
    sc->person = p;
    int rc = load_account(s, sc);
    if (rc) {
        slot_clear(sc);
        return rc;
    }
    *out = sc;
    return 0;
}

int sq_contact_by_id(sq_store *s, const char *contact_id, sq_contact **out)
{
    sq_contact *sc = &s->people[slot_of(contact_id)];
    if (sc->person && strcmp(sc->person->contact_id, contact_id) == 0) {
        *out = sc;
        return 0;
    }
    hookd_person *p = NULL;
    int rc = person_by_id(&s->w, contact_id, &p);
    return rc ? rc : cache_put(s, p, out);
}

/* ---- merging ------------------------------------------------------------- */

/* The person whose text field field_id equals value (the oldest if several). */
static int person_find(sq_conn *c, const char *field_id, const char *value, hookd_person **out)
{
    /* Literal paths so the expression indexes serve the usual merge keys. */
    static const char SQL_EMAIL[] = "SELECT " PERSON_COLS " FROM people WHERE "
                                    "json_extract(fields, '$.\"str::email\"') = ?2 ORDER BY seq "
                                    "LIMIT 1";
    static const char SQL_EI[] = "SELECT " PERSON_COLS " FROM people WHERE "
                                 "json_extract(fields, '$.\"str::ei\"') = ?2 ORDER BY seq LIMIT 1";
    static const char SQL_ANY[] = "SELECT " PERSON_COLS " FROM people WHERE "
                                  "json_extract(fields, '$.\"' || ?1 || '\"') = ?2 ORDER BY seq "
                                  "LIMIT 1";
    const char *sql = strcmp(field_id, "str::email") == 0 ? SQL_EMAIL
                      : strcmp(field_id, "str::ei") == 0  ? SQL_EI
                                                          : SQL_ANY;
    sqlite3_stmt *q = sq_stmt(c, sql);
    if (!q)
        return HOOKD_EUNAVAIL;
    if (sql == SQL_ANY)
        sqlite3_bind_text(q, 1, field_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, value, -1, SQLITE_STATIC);
    int step = sqlite3_step(q), rc;
    if (step == SQLITE_ROW)
        rc = (*out = row_person(q)) ? 0 : HOOKD_ENOMEM;
    else
        rc = step == SQLITE_DONE ? HOOKD_ENOTFOUND : sq_rc(c->db, step);
    sqlite3_reset(q);
    return rc;
}

static int person_write(sq_conn *c, hookd_person *p, bool created)
{
    static const char SQL_NEW[] = "INSERT INTO people(contact_id, account_id, fields, created_at, "
                                  "updated_at) VALUES(?1, ?2, ?3, ?4, ?5)";
    static const char SQL_SET[] = "UPDATE people SET account_id = ?2, fields = ?3, "
                                  "updated_at = ?5 WHERE contact_id = ?1";
    sqlite3_stmt *q = sq_stmt(c, created ? SQL_NEW : SQL_SET);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_text(q, 1, p->contact_id, -1, SQLITE_STATIC);
    sq_bind_text(q, 2, p->account_id[0] ? p->account_id : NULL);
    sqlite3_bind_int64(q, 4, p->created_at);
    sqlite3_bind_int64(q, 5, p->updated_at);
    int rc = sq_bind_json(q, 3, p->fields);
    if (rc || (rc = sq_step_done(c, q)) != 0)
        return rc;
    if (created)
        p->key = sqlite3_last_insert_rowid(c->db);
    return 0;
}

/* Finds the account by str:o:name or makes one, overwriting given fields. */
static int account_merge(sq_store *s, const json_t *fields, int64_t now_ms, hookd_account **out,
                         bool *created)
{
    static const char SQL_PUT[] =
        "INSERT INTO accounts(account_id, name, fields, created_at, updated_at) "
        "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(account_id) DO UPDATE SET "
        "name = excluded.name, fields = excluded.fields, updated_at = excluded.updated_at";
    const char *name = json_string_value(json_object_get(fields, "str:o:name"));
    hookd_account *a = NULL;
    int rc = account_by(&s->w, SQL_ACCOUNT_BY_NAME, name, &a);
    *created = rc == HOOKD_ENOTFOUND;
    if (*created) {
        if (!(a = calloc(1, sizeof *a)) || !(a->fields = json_object()) ||
            hookd_id_new(a->account_id) != 0) {
            hookd_account_free(a);
            return HOOKD_ENOMEM;
        }
        a->created_at = now_ms;
    } else if (rc) {
        return rc;
    }
    if (hookd_fields_merge(a->fields, fields) != 0) {
        hookd_account_free(a);
        return HOOKD_ENOMEM;
    }
    a->updated_at = now_ms;
    sqlite3_stmt *q = sq_stmt(&s->w, SQL_PUT);
    rc = q ? 0 : HOOKD_EUNAVAIL;
    if (q) {
        const char *new_name = json_string_value(json_object_get(a->fields, "str:o:name"));
        sqlite3_bind_text(q, 1, a->account_id, -1, SQLITE_STATIC);
        sq_bind_text(q, 2, new_name);
        sqlite3_bind_int64(q, 4, a->created_at);
        sqlite3_bind_int64(q, 5, a->updated_at);
        if ((rc = sq_bind_json(q, 3, a->fields)) == 0)
            rc = sq_step_done(&s->w, q);
    }
    if (rc) {
        hookd_account_free(a);
        return rc;
    }
    forget_account(s, a->account_id);
    *out = a;
    return 0;
}

int sq_contact_merge(sq_store *s, const hookd_merge_person *m, int64_t now_ms, sq_contact **out,
                     bool *created)
{
    hookd_person *p = NULL;
    int rc = HOOKD_ENOTFOUND;
    for (int i = 0; i < m->n_merge_by && rc == HOOKD_ENOTFOUND; i++) {
        const char *value = json_string_value(json_object_get(m->fields, m->merge_by[i]));
        if (value)
            rc = person_find(&s->w, m->merge_by[i], value, &p);
    }
    *created = rc == HOOKD_ENOTFOUND;
    if (rc && !*created)
        return rc;
    if (!(p = hookd_person_merged(p, m->fields, now_ms)))
        return HOOKD_ENOMEM;
    if (m->account_fields) {
        hookd_account *a = NULL;
        bool acc_created;
        if ((rc = account_merge(s, m->account_fields, now_ms, &a, &acc_created)) != 0) {
            hookd_person_free(p);
            return rc;
        }
        snprintf(p->account_id, sizeof p->account_id, "%s", a->account_id);
        hookd_account_free(a);
    }
    if ((rc = person_write(&s->w, p, *created)) != 0) {
        hookd_person_free(p);
        return rc;
    }
    return cache_put(s, p, out);
}

int sq_person_update_of(sq_store *s, int64_t delivery_seq, const json_t *fields, int64_t now_ms)
{
    static const char SQL[] = "SELECT " PERSON_COLS " FROM people WHERE seq = "
                              "(SELECT person FROM deliveries WHERE seq = ?)";
    sqlite3_stmt *q = sq_stmt(&s->w, SQL);
    if (!q)
        return HOOKD_EUNAVAIL;
    sqlite3_bind_int64(q, 1, delivery_seq);
    hookd_person *p = NULL;
    int step = sqlite3_step(q), rc = 0;
    if (step == SQLITE_ROW)
        rc = (p = row_person(q)) ? 0 : HOOKD_ENOMEM;
    else if (step != SQLITE_DONE)
        rc = sq_rc(s->w.db, step);
    sqlite3_reset(q);
    if (rc || !p)
        return rc; /* no person (deleted since): nothing to update */
    if (!(p = hookd_person_merged(p, fields, now_ms)))
        return HOOKD_ENOMEM;
    if ((rc = person_write(&s->w, p, false)) != 0) {
        hookd_person_free(p);
        return rc;
    }
    sq_contact *sc;
    return cache_put(s, p, &sc);
}

/* ---- commands -------------------------------------------------------------- */

typedef struct merge_cmd {
    sq_cmd base;
    const hookd_merge_person *people;
    json_t *const *accounts;
    size_t n;
    int64_t now_ms;
    hookd_merge_result *out;
} merge_cmd;

static int people_run(sq_store *s, sq_cmd *cmd)
{
    merge_cmd *c = (merge_cmd *)cmd;
    for (size_t i = 0; i < c->n; i++) {
        sq_contact *sc;
        int rc = sq_contact_merge(s, &c->people[i], c->now_ms, &sc, &c->out[i].created);
        if (rc)
            return rc;
        memcpy(c->out[i].id, sc->person->contact_id, HOOKD_ID_MAX);
    }
    return 0;
}

int sq_people_merge(hookd_store *st, const hookd_merge_person *people, size_t n, int64_t now_ms,
                    hookd_merge_result *out)
{
    merge_cmd c = {.base.run = people_run, .people = people, .n = n, .now_ms = now_ms, .out = out};
    return sq_submit(SQ(st), &c.base);
}

static int accounts_run(sq_store *s, sq_cmd *cmd)
{
    merge_cmd *c = (merge_cmd *)cmd;
    for (size_t i = 0; i < c->n; i++) {
        hookd_account *a = NULL;
        int rc = account_merge(s, c->accounts[i], c->now_ms, &a, &c->out[i].created);
        if (rc)
            return rc;
        memcpy(c->out[i].id, a->account_id, HOOKD_ID_MAX);
        hookd_account_free(a);
    }
    return 0;
}

int sq_accounts_merge(hookd_store *st, json_t *const *fields, size_t n, int64_t now_ms,
                      hookd_merge_result *out)
{
    merge_cmd c = {
        .base.run = accounts_run, .accounts = fields, .n = n, .now_ms = now_ms, .out = out};
    return sq_submit(SQ(st), &c.base);
}

/* ---- reads ------------------------------------------------------------------ */

int sq_person_get(hookd_store *st, const char *contact_id, hookd_person **out)
{
    sq_store *s = SQ(st);
    sq_conn *c = sq_reader_get(s);
    int rc = person_by_id(c, contact_id, out);
    sq_reader_put(s, c);
    return rc;
}

int sq_account_get(hookd_store *st, const char *account_id, hookd_account **out)
{
    sq_store *s = SQ(st);
    sq_conn *c = sq_reader_get(s);
    int rc = account_by(c, SQL_ACCOUNT_BY_ID, account_id, out);
    sq_reader_put(s, c);
    return rc;
}

/*
 * pg_people.c — people and accounts in the PostgreSQL backend: the merge
 * commands, reads, and the set of people one command has met (pg_contacts).
 * The behaviour is sqlite_people.c's; what differs is how it stays true
 * when several transactions (threads, processes) merge at once.
 *
 * A person's fields are a json column holding the compact JSON text
 * (hookd_json_dumps), so what is read back is what SQLite keeps, key order
 * included. The usual merge keys (str::email, str::ei) have expression
 * indexes; merging by another field scans.
 *
 * Merging at once: SQLite has one writer, so "find by merge key, else make"
 * never races there. Here two transactions could both find nobody and both
 * make the person. So a merge first takes a transaction-scoped advisory
 * lock named by a hash of each (merge field, value) it will look up, and of
 * its account's name; a second merge of the same key waits until the first
 * committed and then, its next statement seeing the new row, finds it. All
 * of a person's keys are taken in one statement in ascending order; a
 * command merging many people takes all of theirs at once, so two commands
 * never wait for each other in a cycle. People and accounts found are also
 * read FOR UPDATE, so a merge that reached the same person by another key
 * waits instead of overwriting the first one's fields.
 *
 * pg_contacts is kept sorted by contact id (found by binary search: an
 * ingest batch meets up to a thousand people); each entry owns its person
 * and a copy of its account. A pointer into it lasts until the next load or
 * merge into the same set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_int.h"
#include "util/crypto.h"
#include "util/json.h"
#include "util/log.h"

#define PERSON_COLS "key, contact_id, account_id, fields, created_at, updated_at"
#define ACCOUNT_COLS "account_id, fields, created_at, updated_at"
#define ACCOUNT_NAME "str:o:name"

static const char SQL_PERSON_BY_ID[] = "SELECT " PERSON_COLS " FROM people WHERE contact_id = $1";
static const char SQL_ACCOUNT_BY_ID[] =
    "SELECT " ACCOUNT_COLS " FROM accounts WHERE account_id = $1";

/* ---- rows ---------------------------------------------------------------- */

/* The person in row i (columns PERSON_COLS), or NULL if its fields are
 * damaged (logged by pg_json) or memory ran out. */
static hookd_person *row_person(const PGresult *r, int i)
{
    hookd_person *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->key = pg_int(r, i, 0);
    pg_id(r, i, 1, p->contact_id);
    pg_id(r, i, 2, p->account_id);
    p->fields = pg_json(r, i, 3);
    p->created_at = pg_int(r, i, 4);
    p->updated_at = pg_int(r, i, 5);
    if (!json_is_object(p->fields)) {
        hookd_person_free(p);
        return NULL;
    }
    return p;
}

/* The account in row i (columns ACCOUNT_COLS), or NULL as above. */
static hookd_account *row_account(const PGresult *r, int i)
{
    hookd_account *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    pg_id(r, i, 0, a->account_id);
    a->fields = pg_json(r, i, 1);
    a->created_at = pg_int(r, i, 2);
    a->updated_at = pg_int(r, i, 3);
    if (!json_is_object(a->fields)) {
        hookd_account_free(a);
        return NULL;
    }
    return a;
}

/* Runs sql (person columns) expecting at most one row: ENOTFOUND for none.
 * As in SQLite, a row that cannot be decoded reads as HOOKD_ENOMEM. */
static int person_one(pg_conn *c, const char *sql, const pg_params *p, hookd_person **out)
{
    PGresult *r;
    int rc = pg_run_row(c, sql, p, &r);
    if (rc)
        return rc;
    if (!(*out = row_person(r, 0)))
        rc = HOOKD_ENOMEM;
    PQclear(r);
    return rc;
}

static int account_one(pg_conn *c, const char *sql, const pg_params *p, hookd_account **out)
{
    PGresult *r;
    int rc = pg_run_row(c, sql, p, &r);
    if (rc)
        return rc;
    if (!(*out = row_account(r, 0)))
        rc = HOOKD_ENOMEM;
    PQclear(r);
    return rc;
}

static int account_by_id(pg_conn *c, const char *account_id, hookd_account **out)
{
    pg_params p = {.n = 0};
    pg_p_text(&p, account_id);
    return account_one(c, SQL_ACCOUNT_BY_ID, &p, out);
}

/* ---- the people a command met ------------------------------------------------ */

static void contact_clear(pg_contact *e)
{
    hookd_person_free(e->person);
    hookd_account_free(e->account);
    e->person = NULL;
    e->account = NULL;
}

void pg_contacts_clear(pg_contacts *cs)
{
    for (size_t i = 0; i < cs->n; i++)
        contact_clear(&cs->v[i]);
    free(cs->v);
    memset(cs, 0, sizeof *cs);
}

/* Where contact_id is in cs, or where it would go (*found false). */
static size_t contacts_slot(const pg_contacts *cs, const char *contact_id, bool *found)
{
    size_t lo = 0, hi = cs->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(cs->v[mid].person->contact_id, contact_id);
        if (cmp == 0) {
            *found = true;
            return mid;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

pg_contact *pg_contacts_find(pg_contacts *cs, const char *contact_id)
{
    bool found;
    size_t i = contacts_slot(cs, contact_id, &found);
    return found ? &cs->v[i] : NULL;
}

/* The account account_id as some entry of cs holds it, or NULL. */
static const hookd_account *contacts_account(const pg_contacts *cs, const char *account_id)
{
    for (size_t i = 0; i < cs->n; i++) {
        const hookd_account *a = cs->v[i].account;
        if (a && strcmp(a->account_id, account_id) == 0)
            return a;
    }
    return NULL;
}

static int by_contact_id(const void *a, const void *b)
{
    return strcmp(((const pg_contact *)a)->person->contact_id,
                  ((const pg_contact *)b)->person->contact_id);
}

static int by_account_id(const void *a, const void *b)
{
    return strcmp((*(hookd_account *const *)a)->account_id,
                  (*(hookd_account *const *)b)->account_id);
}

/* Reads the accounts of the entries cs->v[from..n) (none yet) in one
 * statement and gives each entry a copy of its own. A link to a vanished
 * account reads as no account, as in SQLite. */
static int contacts_load_accounts(pg_conn *c, pg_contacts *cs, size_t from)
{
    static const char SQL[] =
        "SELECT " ACCOUNT_COLS " FROM accounts WHERE account_id = ANY($1::text[])";
    hookd_buf ids = {0};
    size_t wanted = 0;
    pg_array_begin(&ids);
    for (size_t i = from; i < cs->n; i++) {
        if (cs->v[i].person->account_id[0]) {
            pg_array_text(&ids, cs->v[i].person->account_id);
            wanted++;
        }
    }
    int rc = pg_array_end(&ids);
    PGresult *r = NULL;
    if (rc == 0 && wanted) {
        pg_params p = {.n = 0};
        pg_p_text(&p, ids.data);
        rc = pg_run(c, SQL, &p, &r);
    }
    hookd_buf_free(&ids);
    if (rc || !wanted)
        return rc;
    size_t rows = (size_t)PQntuples(r);
    hookd_account **accounts = rows ? calloc(rows, sizeof *accounts) : NULL;
    if (rows && !accounts)
        rc = HOOKD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < rows; i++) {
        if (!(accounts[i] = row_account(r, (int)i)))
            rc = HOOKD_ENOMEM;
    }
    PQclear(r);
    if (rc == 0 && rows)
        qsort(accounts, rows, sizeof *accounts, by_account_id);
    for (size_t i = from; rc == 0 && i < cs->n; i++) {
        pg_contact *e = &cs->v[i];
        if (!e->person->account_id[0])
            continue;
        hookd_account key, *keyp = &key;
        snprintf(key.account_id, sizeof key.account_id, "%s", e->person->account_id);
        hookd_account **hit = rows ? bsearch(&keyp, accounts, rows, sizeof *accounts,
                                             by_account_id)
                                   : NULL;
        if (hit && !(e->account = hookd_account_clone(*hit)))
            rc = HOOKD_ENOMEM;
    }
    for (size_t i = 0; i < rows && accounts; i++)
        hookd_account_free(accounts[i]);
    free(accounts);
    return rc;
}

int pg_contacts_load(pg_conn *c, pg_contacts *cs, const char *const *ids, size_t n)
{
    static const char SQL[] =
        "SELECT " PERSON_COLS " FROM people WHERE contact_id = ANY($1::text[])";
    /* Only ids cs does not hold yet: what this command merged is newer in
     * cs than anywhere else (and the same in the database). */
    hookd_buf want = {0};
    size_t wanted = 0;
    pg_array_begin(&want);
    for (size_t i = 0; i < n; i++) {
        if (ids[i] && !pg_contacts_find(cs, ids[i])) {
            pg_array_text(&want, ids[i]);
            wanted++;
        }
    }
    int rc = pg_array_end(&want);
    PGresult *r = NULL;
    if (rc == 0 && wanted) {
        pg_params p = {.n = 0};
        pg_p_text(&p, want.data);
        rc = pg_run(c, SQL, &p, &r);
    }
    hookd_buf_free(&want);
    if (rc || !wanted)
        return rc;
    /* New entries go at the end, then the whole set is sorted once; until
     * then none of them is searched (contact ids are unique, so the rows
     * are distinct and none is in cs already). */
    size_t from = cs->n;
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        hookd_person *p = row_person(r, i);
        if (!p || hookd_array_grow(&cs->v, &cs->cap, cs->n, sizeof *cs->v) != 0) {
            hookd_person_free(p);
            rc = HOOKD_ENOMEM;
            break;
        }
        cs->v[cs->n++] = (pg_contact){.person = p};
    }
    PQclear(r);
    if (rc == 0)
        rc = contacts_load_accounts(c, cs, from);
    if (rc) {
        /* cs stays as it was. */
        for (size_t i = from; i < cs->n; i++)
            contact_clear(&cs->v[i]);
        cs->n = from;
        return rc;
    }
    if (cs->n > 1) /* none at all: v may be NULL, which qsort must not get */
        qsort(cs->v, cs->n, sizeof *cs->v, by_contact_id);
    return 0;
}

/* Puts p and a (both taken, a may be NULL) into cs as one entry, replacing
 * p's older self; *out points at it. */
static int contacts_put(pg_contacts *cs, hookd_person *p, hookd_account *a, pg_contact **out)
{
    bool found;
    size_t i = contacts_slot(cs, p->contact_id, &found);
    if (!found) {
        if (hookd_array_grow(&cs->v, &cs->cap, cs->n, sizeof *cs->v) != 0) {
            hookd_person_free(p);
            hookd_account_free(a);
            return HOOKD_ENOMEM;
        }
        memmove(&cs->v[i + 1], &cs->v[i], (cs->n - i) * sizeof *cs->v);
        cs->n++;
    } else {
        contact_clear(&cs->v[i]);
    }
    cs->v[i] = (pg_contact){.person = p, .account = a};
    *out = &cs->v[i];
    return 0;
}

/* The account linked from p as it stands now (new, NULL for none): from
 * cs if an entry holds it, else read. */
static int linked_account(pg_conn *c, const pg_contacts *cs, const hookd_person *p,
                          hookd_account **out)
{
    *out = NULL;
    if (!p->account_id[0])
        return 0;
    const hookd_account *known = contacts_account(cs, p->account_id);
    if (known)
        return (*out = hookd_account_clone(known)) ? 0 : HOOKD_ENOMEM;
    int rc = account_by_id(c, p->account_id, out);
    return rc == HOOKD_ENOTFOUND ? 0 : rc;
}

/* ---- merge locks ---------------------------------------------------------------- */

/* Every lock key one person's merge takes: each merge_by field it has a
 * value for, and its account's name. */
#define PERSON_KEYS_MAX (HOOKD_MERGE_BY_MAX + 1)

/* The advisory lock key of field_id = value: the first 8 bytes of
 * SHA-256("field_id\0value"), so every process names a key alike and no
 * input can be chosen to make many keys meet. The top bit is set: pg.c's
 * own locks are small positive numbers. */
static int lock_key(const char *field_id, const char *value, int64_t *key)
{
    hookd_buf b = {0};
    hookd_buf_append(&b, field_id, strlen(field_id) + 1);
    hookd_buf_puts(&b, value);
    if (b.failed) {
        hookd_buf_free(&b);
        return HOOKD_ENOMEM;
    }
    unsigned char h[32];
    hookd_sha256(b.data, b.len, h);
    hookd_buf_free(&b);
    uint64_t k = 0;
    for (int i = 0; i < 8; i++)
        k = k << 8 | h[i];
    *key = (int64_t)(k | 1ULL << 63);
    return 0;
}

/* Appends to keys[*n] the lock keys of the account fields' name. */
static int account_keys(const json_t *fields, int64_t *keys, size_t *n)
{
    const char *name = json_string_value(json_object_get(fields, ACCOUNT_NAME));
    if (!name)
        return 0; /* an account without a name is only ever made, never found */
    return lock_key(ACCOUNT_NAME, name, &keys[(*n)++]);
}

/* Appends to keys[*n] the lock keys of m (at most PERSON_KEYS_MAX). */
static int person_keys(const hookd_merge_person *m, int64_t *keys, size_t *n)
{
    for (int i = 0; i < m->n_merge_by; i++) {
        const char *value = json_string_value(json_object_get(m->fields, m->merge_by[i]));
        int rc = value ? lock_key(m->merge_by[i], value, &keys[(*n)++]) : 0;
        if (rc)
            return rc;
    }
    return m->account_fields ? account_keys(m->account_fields, keys, n) : 0;
}

static int by_key(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Takes the advisory locks keys[0..n) (sorted here) for the rest of the
 * transaction, in ascending order: every transaction takes them in that
 * order, so none waits for another in a cycle. */
static int lock_keys(pg_conn *c, int64_t *keys, size_t n)
{
    /* The sort runs before the locks (PostgreSQL computes a volatile
     * output after ORDER BY); the array is sorted anyway. */
    static const char SQL[] =
        "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k ORDER BY k";
    if (n == 0)
        return 0;
    qsort(keys, n, sizeof *keys, by_key);
    hookd_buf b = {0};
    pg_array_begin(&b);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || keys[i] != keys[i - 1])
            pg_array_int(&b, keys[i]);
    }
    int rc = pg_array_end(&b);
    if (rc == 0) {
        pg_params p = {.n = 0};
        pg_p_text(&p, b.data);
        rc = pg_run(c, SQL, &p, NULL);
    }
    hookd_buf_free(&b);
    return rc;
}

/* ---- merging ------------------------------------------------------------- */

/* The person whose text field field_id equals value (the oldest if
 * several), locked for this transaction. */
static int person_find(pg_conn *c, const char *field_id, const char *value, hookd_person **out)
{
    /* Literal paths so the expression indexes serve the usual merge keys. */
    static const char SQL_EMAIL[] = "SELECT " PERSON_COLS " FROM people WHERE "
                                    "fields->>'str::email' = $1 ORDER BY key LIMIT 1 FOR UPDATE";
    static const char SQL_EI[] = "SELECT " PERSON_COLS " FROM people WHERE "
                                 "fields->>'str::ei' = $1 ORDER BY key LIMIT 1 FOR UPDATE";
    static const char SQL_ANY[] = "SELECT " PERSON_COLS " FROM people WHERE "
                                  "fields->>$1 = $2 ORDER BY key LIMIT 1 FOR UPDATE";
    const char *sql = strcmp(field_id, "str::email") == 0 ? SQL_EMAIL
                      : strcmp(field_id, "str::ei") == 0  ? SQL_EI
                                                          : SQL_ANY;
    pg_params p = {.n = 0};
    if (sql == SQL_ANY)
        pg_p_text(&p, field_id);
    pg_p_text(&p, value);
    return person_one(c, sql, &p, out);
}

static int person_write(pg_conn *c, hookd_person *p, bool created)
{
    static const char SQL_NEW[] = "INSERT INTO people(contact_id, account_id, fields, created_at, "
                                  "updated_at) VALUES ($1, $2, $3, $5, $4) RETURNING key";
    static const char SQL_SET[] = "UPDATE people SET account_id = $2, fields = $3, "
                                  "updated_at = $4 WHERE contact_id = $1";
    char *fields = hookd_json_dumps(p->fields);
    if (!fields)
        return HOOKD_ENOMEM;
    pg_params q = {.n = 0};
    pg_p_text(&q, p->contact_id);
    pg_p_text(&q, p->account_id[0] ? p->account_id : NULL);
    pg_p_text(&q, fields);
    pg_p_int(&q, p->updated_at);
    if (created)
        pg_p_int(&q, p->created_at);
    PGresult *r = NULL;
    int rc = pg_run(c, created ? SQL_NEW : SQL_SET, &q, created ? &r : NULL);
    free(fields);
    if (rc == 0 && created)
        p->key = pg_int(r, 0, 0);
    PQclear(r);
    return rc;
}

int pg_person_update_of(pg_conn *c, int64_t delivery_seq, const json_t *fields, int64_t now_ms)
{
    static const char SQL[] = "SELECT " PERSON_COLS " FROM people WHERE key = "
                              "(SELECT person FROM deliveries WHERE seq = $1) FOR UPDATE";
    pg_params p = {.n = 0};
    pg_p_int(&p, delivery_seq);
    hookd_person *found = NULL;
    int rc = person_one(c, SQL, &p, &found);
    if (rc == HOOKD_ENOTFOUND)
        return 0; /* no person (deleted since): nothing to update */
    if (rc)
        return rc;
    hookd_person *merged = hookd_person_merged(found, fields, now_ms);
    if (!merged)
        return HOOKD_ENOMEM;
    rc = person_write(c, merged, false);
    hookd_person_free(merged);
    return rc;
}

/* Gives every entry of cs linked to a (it changed) a copy of it. */
static int contacts_refresh_account(pg_contacts *cs, const hookd_account *a)
{
    for (size_t i = 0; i < cs->n; i++) {
        pg_contact *e = &cs->v[i];
        if (strcmp(e->person->account_id, a->account_id) != 0)
            continue;
        hookd_account *copy = hookd_account_clone(a);
        if (!copy)
            return HOOKD_ENOMEM;
        hookd_account_free(e->account);
        e->account = copy;
    }
    return 0;
}

/* Finds the account by str:o:name or makes one, overwriting given fields.
 * The caller holds the name's lock (account_keys). */
static int account_merge(pg_conn *c, pg_contacts *cs, const json_t *fields, int64_t now_ms,
                         hookd_account **out, bool *created)
{
    static const char SQL_BY_NAME[] =
        "SELECT " ACCOUNT_COLS " FROM accounts WHERE name = $1 FOR UPDATE";
    static const char SQL_PUT[] =
        "INSERT INTO accounts(account_id, name, fields, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id) DO UPDATE SET "
        "name = excluded.name, fields = excluded.fields, updated_at = excluded.updated_at";
    const char *name = json_string_value(json_object_get(fields, ACCOUNT_NAME));
    hookd_account *a = NULL;
    pg_params p = {.n = 0};
    pg_p_text(&p, name); /* NULL matches nothing: made, as in SQLite */
    int rc = account_one(c, SQL_BY_NAME, &p, &a);
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
    char *text = NULL;
    if (hookd_fields_merge(a->fields, fields) != 0 || !(text = hookd_json_dumps(a->fields))) {
        hookd_account_free(a);
        return HOOKD_ENOMEM;
    }
    a->updated_at = now_ms;
    p.n = 0;
    pg_p_text(&p, a->account_id);
    pg_p_text(&p, json_string_value(json_object_get(a->fields, ACCOUNT_NAME)));
    pg_p_text(&p, text);
    pg_p_int(&p, a->created_at);
    pg_p_int(&p, a->updated_at);
    rc = pg_run(c, SQL_PUT, &p, NULL);
    free(text);
    if (rc == 0)
        rc = contacts_refresh_account(cs, a);
    if (rc) {
        hookd_account_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

/* pg_contact_merge once m's lock keys are held. */
static int contact_merge_locked(pg_conn *c, pg_contacts *cs, const hookd_merge_person *m,
                                int64_t now_ms, pg_contact **out, bool *created)
{
    hookd_person *p = NULL;
    int rc = HOOKD_ENOTFOUND;
    for (int i = 0; i < m->n_merge_by && rc == HOOKD_ENOTFOUND; i++) {
        const char *value = json_string_value(json_object_get(m->fields, m->merge_by[i]));
        if (value)
            rc = person_find(c, m->merge_by[i], value, &p);
    }
    *created = rc == HOOKD_ENOTFOUND;
    if (rc && !*created)
        return rc;
    if (!(p = hookd_person_merged(p, m->fields, now_ms)))
        return HOOKD_ENOMEM;
    hookd_account *a = NULL;
    if (m->account_fields) {
        bool acc_created;
        if ((rc = account_merge(c, cs, m->account_fields, now_ms, &a, &acc_created)) != 0) {
            hookd_person_free(p);
            return rc;
        }
        snprintf(p->account_id, sizeof p->account_id, "%s", a->account_id);
    } else {
        rc = linked_account(c, cs, p, &a);
    }
    if (rc == 0)
        rc = person_write(c, p, *created);
    if (rc) {
        hookd_person_free(p);
        hookd_account_free(a);
        return rc;
    }
    return contacts_put(cs, p, a, out);
}

int pg_contact_merge(pg_conn *c, pg_contacts *cs, const hookd_merge_person *m, int64_t now_ms,
                     pg_contact **out, bool *created)
{
    int64_t keys[PERSON_KEYS_MAX];
    size_t n = 0;
    int rc = person_keys(m, keys, &n);
    if (rc == 0)
        rc = lock_keys(c, keys, n);
    return rc ? rc : contact_merge_locked(c, cs, m, now_ms, out, created);
}

/* ---- commands -------------------------------------------------------------- */

typedef struct merge_cmd {
    const hookd_merge_person *people;
    json_t *const *accounts;
    size_t n;
    int64_t now_ms;
    hookd_merge_result *out;
    pg_contacts cs;
} merge_cmd;

/* Locks the keys of every item of the command at once (see the top
 * comment): people's, or (people NULL) accounts' names. */
static int lock_command(pg_conn *c, const merge_cmd *x)
{
    int64_t *keys = calloc(x->n ? x->n * PERSON_KEYS_MAX : 1, sizeof *keys);
    size_t n = 0;
    int rc = keys ? 0 : HOOKD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < x->n; i++)
        rc = x->people ? person_keys(&x->people[i], keys, &n)
                       : account_keys(x->accounts[i], keys, &n);
    if (rc == 0)
        rc = lock_keys(c, keys, n);
    free(keys);
    return rc;
}

/* Starts (or starts again, after a deadlock) a merge command's run. */
static void merge_reset(merge_cmd *x)
{
    pg_contacts_clear(&x->cs);
    memset(x->out, 0, x->n * sizeof *x->out);
}

static int people_tx(pg_store *s, pg_conn *c, void *ctx)
{
    (void)s;
    merge_cmd *x = ctx;
    merge_reset(x);
    int rc = lock_command(c, x);
    for (size_t i = 0; rc == 0 && i < x->n; i++) {
        pg_contact *e;
        rc = contact_merge_locked(c, &x->cs, &x->people[i], x->now_ms, &e, &x->out[i].created);
        if (rc == 0)
            memcpy(x->out[i].id, e->person->contact_id, HOOKD_ID_MAX);
    }
    return rc;
}

int pg_people_merge(hookd_store *st, const hookd_merge_person *people, size_t n, int64_t now_ms,
                    hookd_merge_result *out)
{
    merge_cmd x = {.people = people, .n = n, .now_ms = now_ms, .out = out};
    int rc = pg_tx(PG(st), people_tx, &x);
    pg_contacts_clear(&x.cs);
    return rc;
}

static int accounts_tx(pg_store *s, pg_conn *c, void *ctx)
{
    (void)s;
    merge_cmd *x = ctx;
    merge_reset(x);
    int rc = lock_command(c, x);
    for (size_t i = 0; rc == 0 && i < x->n; i++) {
        hookd_account *a = NULL;
        rc = account_merge(c, &x->cs, x->accounts[i], x->now_ms, &a, &x->out[i].created);
        if (rc == 0)
            memcpy(x->out[i].id, a->account_id, HOOKD_ID_MAX);
        hookd_account_free(a);
    }
    return rc;
}

int pg_accounts_merge(hookd_store *st, json_t *const *fields, size_t n, int64_t now_ms,
                      hookd_merge_result *out)
{
    merge_cmd x = {.accounts = fields, .n = n, .now_ms = now_ms, .out = out};
    int rc = pg_tx(PG(st), accounts_tx, &x);
    pg_contacts_clear(&x.cs);
    return rc;
}

/* ---- reads ------------------------------------------------------------------ */

typedef struct get_ctx {
    const char *id;
    hookd_person *person;
    hookd_account *account;
} get_ctx;

static int person_get_run(pg_store *s, pg_conn *c, void *ctx)
{
    (void)s;
    get_ctx *x = ctx;
    pg_params p = {.n = 0};
    pg_p_text(&p, x->id);
    return person_one(c, SQL_PERSON_BY_ID, &p, &x->person);
}

int pg_person_get(hookd_store *st, const char *contact_id, hookd_person **out)
{
    get_ctx x = {.id = contact_id};
    int rc = pg_once(PG(st), person_get_run, &x);
    if (rc == 0)
        *out = x.person;
    return rc;
}

static int account_get_run(pg_store *s, pg_conn *c, void *ctx)
{
    (void)s;
    get_ctx *x = ctx;
    return account_by_id(c, x->id, &x->account);
}

int pg_account_get(hookd_store *st, const char *account_id, hookd_account **out)
{
    get_ctx x = {.id = account_id};
    int rc = pg_once(PG(st), account_get_run, &x);
    if (rc == 0)
        *out = x.account;
    return rc;
}

/*
 * test_store.h — the store conformance suite's shared parts: the table of
 * backends, STORE_TEST, and the fixtures every test_store_*.c file uses.
 *
 * Every STORE_TEST is written once against store.h and registered once per
 * available backend as "name/backend", each run on a fresh, empty store.
 * Nothing here knows which backend runs: a new backend joins by adding an
 * entry to store_backends (test_store_fixture.c).
 *
 * Times: tests pass explicit times around T0 (an hour boundary in 2023)
 * wherever the seam takes one. Connect, disconnect and delete take none (the
 * store uses its own clock), so those tests read due work with FAR.
 */
#ifndef HOOKD_TESTS_TEST_STORE_H
#define HOOKD_TESTS_TEST_STORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "unit.h"

#define HOUR_MS 3600000LL
#define T0 1699999200000LL  /* 2023-11-14T22:00:00Z, an hour boundary */
#define FAR 4102444800000LL /* 2100-01-01: later than any clock a store reads */

/* ---- backends ------------------------------------------------------------ */

typedef struct store_backend {
    const char *name;
    /* NULL when the backend can run here, else why not (its tests are then
     * registered as not run: the summary counts them and gives the reason). */
    const char *(*unavailable)(void);
    /* Opens the store whose data belongs to dir, a fresh empty directory per
     * test: opening with the same dir again opens the same data. */
    int (*open)(const char *dir, hookd_store **out, char *err, size_t errlen);
    /* Throws away what open made for dir outside dir (a server-side
     * database); the suite removes dir itself. May be NULL. */
    void (*destroy)(const char *dir);
} store_backend;

extern const store_backend store_backends[];
extern const size_t store_n_backends;

/* ---- what the listener was told --------------------------------------------- */

typedef enum { REC_FRESH, REC_WEBHOOK, REC_DUE } rec_kind;

typedef struct rec_event {
    rec_kind kind;
    int64_t key;   /* the webhook's key (fresh: the job's) */
    size_t call;   /* the callback call it came with (rising) */
    hookd_job job; /* REC_FRESH: as told, strings owned here */
    bool gone;     /* REC_WEBHOOK: told with NULL (deleted) */
    uint64_t version;
    bool connected;
    char name[64];
} rec_event;

typedef struct recorder {
    pthread_mutex_t lock;
    rec_event *ev;
    size_t n, cap;
    size_t calls;
} recorder;

size_t rec_count(recorder *r, rec_kind kind);
/* How many events so far: events after a mark came from what followed. */
size_t rec_mark(recorder *r);
/* The fresh event of the delivery id, or NULL. */
const rec_event *rec_fresh(recorder *r, const char *id);
/* Forgets every event. */
void rec_reset(recorder *r);

/* ---- the fixture ------------------------------------------------------------- */

#define FX_OWNED_MAX 64

typedef struct store_fx {
    const store_backend *be;
    char dir[256];
    hookd_store *st;
    recorder rec;
    hookd_webhook *owned[FX_OWNED_MAX]; /* made by fx_webhook, freed at the end */
    size_t n_owned;
    char contact[HOOKD_ID_MAX]; /* fx_contact's person, "" until made */
} store_fx;

typedef void (*store_test_fn)(store_fx *fx);
void store_register(const char *name, store_test_fn fn);

#define STORE_TEST(name)                                                                           \
    static void store_test_##name(store_fx *fx);                                                   \
    __attribute__((constructor)) static void store_register_##name(void)                           \
    {                                                                                              \
        store_register(#name, store_test_##name);                                                  \
    }                                                                                              \
    static void store_test_##name(store_fx *fx)

/* A test of one backend alone, for what cannot be made to happen through
 * the seam (a failure injected inside the backend): registered as
 * store_<name>/<backend> when that backend is available. */
void store_register_for(const char *backend, const char *name, store_test_fn fn);

#define BACKEND_TEST(backend, name)                                                                \
    static void store_test_##name(store_fx *fx);                                                   \
    __attribute__((constructor)) static void store_register_##name(void)                           \
    {                                                                                              \
        store_register_for(backend, #name, store_test_##name);                                     \
    }                                                                                              \
    static void store_test_##name(store_fx *fx)

/* The SQLite backend's file in a test's directory. */
#define STORE_SQLITE_FILE "hookd.db"

/* Closes the store and opens the same data again (the listener set again).
 * False (a failure recorded) if it did not open. */
bool fx_reopen(store_fx *fx);

/* The master key every test store is sealed with. */
const hookd_sealer *store_test_sealer(void);

/* Runs what follows with stderr sent to /dev/null (a store logging a
 * failure a test provokes on purpose); quiet_end restores it. */
int quiet_begin(void);
void quiet_end(int saved);

/* ---- values ---------------------------------------------------------------- */

/* The settings of a plain webhook: name, https://<name>.example.com/, and
 * the activities it wants (a JSON list body: "\"*\"", "\"act::s\""). */
#define WH_JSON(name, activities)                                                                  \
    "{\"name\":\"" name "\",\"url\":\"https://" name ".example.com/\",\"activities\":[" activities \
    "]}"
#define ACTS_ALL "\"*\""
#define ACTS_S "\"act::s\""
#define ACTS_O "\"act::o\""

/* A webhook made as the API makes one: hookd_webhook_new + apply of the JSON
 * settings (built-in fields only). NULL (a failure recorded) if refused. */
hookd_webhook *wh_make(const char *json);
/* wh_make + insert; the fixture frees it. NULL (failure recorded) on error. */
hookd_webhook *fx_webhook(store_fx *fx, const char *json);

/* Change functions for hookd_store_webhook_change. */
int change_connected(hookd_webhook *wh, void *ctx); /* ctx: "on" or NULL */
int change_apply(hookd_webhook *wh, void *ctx);     /* ctx: PATCH JSON text */
/* Sets connected through hookd_store_webhook_change; returns its code. */
int fx_connect(store_fx *fx, const hookd_webhook *wh, bool on);

/* A person to merge from JSON fields (and account fields, or NULL), merged by
 * the ids in merge_by (NULL: str::email). Clear with hookd_merge_person_clear. */
hookd_merge_person mp_make(const char *fields, const char *account, const char *const *merge_by,
                           int n_merge_by);
/* The contact id of one person made once per test (for ingests that do not
 * care who). */
const char *fx_contact(store_fx *fx);

/* ---- the plan ----------------------------------------------------------------- */

#define PLAN_WH_MAX 16

/* One call of the plan, as it was made. */
typedef struct plan_call {
    size_t index;
    char contact_id[HOOKD_ID_MAX];
    json_t *person; /* a copy of the person's fields */
    char account_id[HOOKD_ID_MAX];
    json_t *account; /* a copy of the account's fields, NULL for none */
    size_t n_webhooks;
    int64_t keys[PLAN_WH_MAX];
    uint64_t versions[PLAN_WH_MAX];
    bool connected[PLAN_WH_MAX];
} plan_call;

/* One delivery the plan asked for. */
typedef struct plan_made {
    char id[HOOKD_ID_MAX];
    int64_t webhook;
    hookd_method method;
    size_t item;
    char *query, *body; /* copies of what was planned */
} plan_made;

/* The test's plan: for each item, one delivery per connected webhook that
 * wants the item's activity, with a body naming tag, item, contact and
 * webhook; a disconnected webhook that wants it counts it as skipped. */
typedef struct test_plan {
    const hookd_ingest_item *items; /* set by fx_ingest */
    const char *field_id;           /* the activity of every item ("act::s" if NULL) */
    const char *const *field_ids;   /* or one per item */
    const char *tag;
    long fail_at; /* fail at this index with fail_rc (-1: never) */
    int fail_rc;
    plan_call *calls;
    size_t n_calls, cap_calls;
    plan_made *made;
    size_t n_made, cap_made;
    /* The command's check (hookd_ingest.check): given when check is set;
     * returns check_rc and records what it saw. */
    bool check;
    int check_rc;
    size_t n_checks, check_webhooks, check_connected, calls_before_check;
    size_t pad; /* a JSON body gets "pad": this many letters that do not compress */
} test_plan;

#define TEST_PLAN(tag_)                                                                            \
    {                                                                                              \
        .tag = (tag_), .fail_at = -1                                                               \
    }

void test_plan_clear(test_plan *tp);
/* Runs one ingest command with tp as its plan; failed_index (if not NULL)
 * gets the command's. */
int fx_ingest(store_fx *fx, hookd_ingest_item *items, size_t n, test_plan *tp,
              size_t *failed_index);

/* A delivery the listener was told of. */
typedef struct made_ref {
    int64_t seq, webhook;
    char id[HOOKD_ID_MAX];
} made_ref;

/* Ingests n activities of field_id (fx_contact's person, no activity id
 * kept) made at created_ms, checks it worked, and copies the deliveries the
 * listener got into out (at most cap, seq order). Returns how many. */
size_t fx_deliver(store_fx *fx, size_t n, const char *field_id, int64_t created_ms, made_ref *out,
                  size_t cap);

/* ---- outcomes and reads ------------------------------------------------------ */

/* An attempt of d from state from after attempts earlier ones, made at
 * time_ms (20 ms long), answered as ev suggests; next_at for a retry is
 * time_ms + 60 s. Strings are static. */
hookd_outcome outcome_of(const made_ref *d, hookd_delivery_state from, int attempts,
                         hookd_ds_event ev, int64_t time_ms);
/* Records one outcome, checking the command worked; returns the state it
 * reported (HOOKD_DS_REFUSED also when the command failed). */
int fx_record(store_fx *fx, const hookd_outcome *o);

/* The delivery (and its attempts if att is not NULL), or NULL with a
 * failure recorded. */
hookd_delivery *fx_get(store_fx *fx, int64_t key, const char *id, hookd_attempt **att,
                       size_t *n_att);
hookd_webhook_stats fx_stats(store_fx *fx, int64_t key, int64_t now_ms);
/* Every due delivery of key at now_ms (from the start, no seq bound). */
size_t fx_due_all(store_fx *fx, int64_t key, int64_t now_ms, hookd_job **out);
void fx_jobs_free(hookd_job *jobs, size_t n);
/* Checks nothing of key is due, however late. */
void fx_check_none_due(store_fx *fx, int64_t key);
/* Checks key's stats at at_ms and its counts of the hour of at_ms are all
 * zero (a webhook that counts nothing, or no longer exists). */
void fx_check_zero_counts(store_fx *fx, int64_t key, int64_t at_ms);
/* Calls fn (if not NULL) with every entry of key's log, newest first, page
 * by page; returns how many there were. */
size_t fx_log_walk(store_fx *fx, int64_t key, void (*fn)(void *ctx, const hookd_delivery *d),
                   void *ctx);
/* Checks the JSON object have holds exactly the JSON text want; what and id
 * name it in the failure. */
void fx_check_fields(const char *what, const char *id, const json_t *have, const char *want);

/* CHECK_STR that also accepts two NULLs. */
#define CHECK_STR_OR_NULL(a, b)                                                                    \
    do {                                                                                           \
        const char *x_ = (a), *y_ = (b);                                                           \
        if (x_ || y_)                                                                              \
            CHECK_STR(x_, y_);                                                                     \
    } while (0)

#endif

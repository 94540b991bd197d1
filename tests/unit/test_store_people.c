/*
 * test_store_people.c — conformance of people_merge, accounts_merge,
 * person_get and account_get: found by merge_by in order or made, given
 * fields overwrite, null removes, others stay; accounts found by
 * str:o:name, made once and linked. Backend-neutral: see test_store.h.
 *
 * That a failing batch leaves nothing is checked through ingest (an item
 * with an unknown contact after merges, test_store_ingest.c): no valid
 * input makes one person of a people_merge fail through the seam, so the
 * SQLite-only section injects that failure (test_store_sqlite.c).
 */
#include <stdlib.h>

#include "test_store.h"

static const char *const BY_EI_EMAIL[] = {"str::ei", "str::email"};
static const char *const BY_EMAIL_EI[] = {"str::email", "str::ei"};

/* Merges one person; returns the command's code, *res what became of it. */
static int merge1(store_fx *fx, const char *fields, const char *account,
                  const char *const *merge_by, int n_by, int64_t now, hookd_merge_result *res)
{
    hookd_merge_person m = mp_make(fields, account, merge_by, n_by);
    int rc = hookd_store_people_merge(fx->st, &m, 1, now, res);
    hookd_merge_person_clear(&m);
    return rc;
}

/* The person's fields equal the JSON text want (and other checks by the
 * caller on the returned person, which the caller frees). */
static hookd_person *person_is(store_fx *fx, const char *id, const char *want)
{
    hookd_person *p = NULL;
    int rc = hookd_store_person_get(fx->st, id, &p);
    CHECK_INT(rc, 0);
    if (rc)
        return NULL;
    CHECK_STR(p->contact_id, id);
    fx_check_fields("person", id, p->fields, want);
    return p;
}

static hookd_account *account_is(store_fx *fx, const char *id, const char *want)
{
    hookd_account *a = NULL;
    int rc = hookd_store_account_get(fx->st, id, &a);
    CHECK_INT(rc, 0);
    if (rc)
        return NULL;
    CHECK_STR(a->account_id, id);
    fx_check_fields("account", id, a->fields, want);
    return a;
}

STORE_TEST(people_merge_creates_then_updates)
{
    hookd_merge_person m[2] = {
        mp_make("{\"str::email\":\"a@example.com\",\"str::first\":\"Ann\"}", NULL, NULL, 0),
        mp_make("{\"str::email\":\"b@example.com\"}", NULL, NULL, 0),
    };
    hookd_merge_result out[2] = {0};
    CHECK_INT(hookd_store_people_merge(fx->st, m, 2, T0, out), 0);
    hookd_merge_person_clear(&m[0]);
    hookd_merge_person_clear(&m[1]);
    CHECK(out[0].created && out[1].created);
    CHECK(out[0].id[0] && strcmp(out[0].id, out[1].id) != 0);

    hookd_merge_result again = {0};
    CHECK_INT(merge1(fx, "{\"str::email\":\"a@example.com\",\"str::last\":\"Lee\"}", NULL, NULL, 0,
                     T0 + 1000, &again),
              0);
    CHECK(!again.created);
    CHECK_STR(again.id, out[0].id);
    hookd_person *p = person_is(
        fx, out[0].id,
        "{\"str::email\":\"a@example.com\",\"str::first\":\"Ann\",\"str::last\":\"Lee\"}");
    if (p) {
        CHECK_INT(p->created_at, T0);
        CHECK_INT(p->updated_at, T0 + 1000);
        CHECK_STR(p->account_id, "");
    }
    hookd_person_free(p);
    /* the other one is as it was made */
    hookd_person_free(person_is(fx, out[1].id, "{\"str::email\":\"b@example.com\"}"));
}

STORE_TEST(people_merge_null_removes_others_stay)
{
    hookd_merge_result r = {0}, r2 = {0};
    CHECK_INT(merge1(fx,
                     "{\"str::email\":\"a@example.com\",\"str::first\":\"Ann\","
                     "\"str::last\":\"Lee\"}",
                     NULL, NULL, 0, T0, &r),
              0);
    CHECK_INT(merge1(fx,
                     "{\"str::email\":\"a@example.com\",\"str::first\":null,"
                     "\"str::postal\":\"1234\"}",
                     NULL, NULL, 0, T0 + 1, &r2),
              0);
    CHECK_STR(r2.id, r.id);
    hookd_person_free(person_is(
        fx, r.id,
        "{\"str::email\":\"a@example.com\",\"str::last\":\"Lee\",\"str::postal\":\"1234\"}"));
}

/* The same batch merges in order: a later entry finds what an earlier one
 * made. */
STORE_TEST(people_merge_in_order_within_a_batch)
{
    hookd_merge_person m[2] = {
        mp_make("{\"str::email\":\"c@example.com\",\"str::first\":\"C\"}", NULL, NULL, 0),
        mp_make("{\"str::email\":\"c@example.com\",\"str::last\":\"D\"}", NULL, NULL, 0),
    };
    hookd_merge_result out[2] = {0};
    CHECK_INT(hookd_store_people_merge(fx->st, m, 2, T0, out), 0);
    hookd_merge_person_clear(&m[0]);
    hookd_merge_person_clear(&m[1]);
    CHECK(out[0].created);
    CHECK(!out[1].created);
    CHECK_STR(out[1].id, out[0].id);
    hookd_person_free(
        person_is(fx, out[0].id,
                  "{\"str::email\":\"c@example.com\",\"str::first\":\"C\",\"str::last\":\"D\"}"));
}

STORE_TEST(people_merge_by_first_field_that_matches)
{
    hookd_merge_result p1, p2, p3, p4, r;
    CHECK_INT(merge1(fx, "{\"str::ei\":\"E1\",\"str::email\":\"p1@example.com\"}", NULL, NULL, 0,
                     T0, &p1),
              0);
    CHECK_INT(merge1(fx, "{\"str::ei\":\"E2\",\"str::email\":\"p2@example.com\"}", NULL, NULL, 0,
                     T0, &p2),
              0);
    CHECK_INT(merge1(fx, "{\"str::ei\":\"E3\",\"str::email\":\"p3@example.com\"}", NULL, NULL, 0,
                     T0, &p3),
              0);
    CHECK_INT(merge1(fx, "{\"str::ei\":\"E4\",\"str::email\":\"p4@example.com\"}", NULL, NULL, 0,
                     T0, &p4),
              0);

    /* Both fields match someone: the first merge_by field wins. */
    CHECK_INT(merge1(fx,
                     "{\"str::ei\":\"E1\",\"str::email\":\"p2@example.com\",\"str::first\":\"X\"}",
                     NULL, BY_EI_EMAIL, 2, T0 + 1, &r),
              0);
    CHECK(!r.created);
    CHECK_STR(r.id, p1.id);
    hookd_person_free(
        person_is(fx, p2.id, "{\"str::ei\":\"E2\",\"str::email\":\"p2@example.com\"}"));
    CHECK_INT(merge1(fx,
                     "{\"str::ei\":\"E3\",\"str::email\":\"p4@example.com\",\"str::first\":\"Y\"}",
                     NULL, BY_EMAIL_EI, 2, T0 + 2, &r),
              0);
    CHECK(!r.created);
    CHECK_STR(r.id, p4.id);
    hookd_person_free(person_is(
        fx, p4.id, "{\"str::ei\":\"E3\",\"str::email\":\"p4@example.com\",\"str::first\":\"Y\"}"));
    hookd_person_free(
        person_is(fx, p3.id, "{\"str::ei\":\"E3\",\"str::email\":\"p3@example.com\"}"));

    /* The first field has no value, or matches nobody: the next one decides. */
    CHECK_INT(merge1(fx, "{\"str::email\":\"p3@example.com\",\"str::last\":\"Z\"}", NULL,
                     BY_EI_EMAIL, 2, T0 + 3, &r),
              0);
    CHECK(!r.created);
    CHECK_STR(r.id, p3.id);
    CHECK_INT(merge1(fx, "{\"str::ei\":\"E-none\",\"str::email\":\"p3@example.com\"}", NULL,
                     BY_EI_EMAIL, 2, T0 + 4, &r),
              0);
    CHECK(!r.created);
    CHECK_STR(r.id, p3.id);
    /* Nobody matches: made. */
    CHECK_INT(merge1(fx, "{\"str::ei\":\"E9\",\"str::email\":\"p9@example.com\"}", NULL,
                     BY_EI_EMAIL, 2, T0 + 5, &r),
              0);
    CHECK(r.created);
    CHECK(strcmp(r.id, p1.id) && strcmp(r.id, p2.id) && strcmp(r.id, p3.id) && strcmp(r.id, p4.id));
}

STORE_TEST(people_merge_account_made_once_and_linked)
{
    hookd_merge_result a, b;
    CHECK_INT(merge1(fx, "{\"str::email\":\"a@example.com\"}",
                     "{\"str:o:name\":\"Acme\",\"str:o:industry\":\"Tools\"}", NULL, 0, T0, &a),
              0);
    CHECK_INT(merge1(fx, "{\"str::email\":\"b@example.com\"}",
                     "{\"str:o:name\":\"Acme\",\"str:o:website\":\"acme.example\"}", NULL, 0,
                     T0 + 10, &b),
              0);
    hookd_person *pa = person_is(fx, a.id, "{\"str::email\":\"a@example.com\"}");
    hookd_person *pb = person_is(fx, b.id, "{\"str::email\":\"b@example.com\"}");
    if (!pa || !pb)
        goto out;
    CHECK(pa->account_id[0] != '\0');
    CHECK_STR(pb->account_id, pa->account_id);
    hookd_account *acc = account_is(fx, pa->account_id,
                                    "{\"str:o:name\":\"Acme\",\"str:o:industry\":\"Tools\","
                                    "\"str:o:website\":\"acme.example\"}");
    if (acc) {
        CHECK_INT(acc->created_at, T0);
        CHECK_INT(acc->updated_at, T0 + 10);
    }
    hookd_account_free(acc);

    /* accounts_merge finds it by name: null removes, others stay. */
    json_t *fields[2] = {json_pack("{s:s,s:n}", "str:o:name", "Acme", "str:o:industry"),
                         json_pack("{s:s}", "str:o:name", "Beta")};
    hookd_merge_result out[2] = {0};
    CHECK_INT(hookd_store_accounts_merge(fx->st, fields, 2, T0 + 20, out), 0);
    json_decref(fields[0]);
    json_decref(fields[1]);
    CHECK(!out[0].created);
    CHECK_STR(out[0].id, pa->account_id);
    CHECK(out[1].created);
    CHECK(strcmp(out[1].id, pa->account_id) != 0);
    hookd_account_free(account_is(fx, pa->account_id,
                                  "{\"str:o:name\":\"Acme\",\"str:o:website\":\"acme.example\"}"));
    hookd_account_free(account_is(fx, out[1].id, "{\"str:o:name\":\"Beta\"}"));

    /* A person given another account is linked to that one. */
    hookd_merge_result again;
    CHECK_INT(merge1(fx, "{\"str::email\":\"a@example.com\"}", "{\"str:o:name\":\"Beta\"}", NULL, 0,
                     T0 + 30, &again),
              0);
    CHECK(!again.created);
    hookd_person *moved = person_is(fx, a.id, "{\"str::email\":\"a@example.com\"}");
    if (moved)
        CHECK_STR(moved->account_id, out[1].id);
    hookd_person_free(moved);
out:
    hookd_person_free(pa);
    hookd_person_free(pb);
}

STORE_TEST(people_get_unknown_is_not_found)
{
    hookd_person *p = NULL;
    hookd_account *a = NULL;
    CHECK_INT(hookd_store_person_get(fx->st, "0190f3a2-0000-7000-8000-000000000000", &p),
              HOOKD_ENOTFOUND);
    CHECK_INT(hookd_store_account_get(fx->st, "0190f3a2-0000-7000-8000-000000000000", &a),
              HOOKD_ENOTFOUND);
    CHECK(p == NULL && a == NULL);
}

/*
 * test_store_claims.c — claims between processes (store.h "claims"), with
 * two handles on one PostgreSQL database standing for two processes: what
 * one ingests it holds, the other cannot read it until it is released, a
 * release gives up only the releaser's own claims, and a renewal extends
 * only its own. SQLite is one process's store: it has no claims to test.
 */
#include <stdlib.h>

#include "test_store.h"

/* The seqs read as due for key by st (from the start, up to max_seq). */
static size_t due_seqs(hookd_store *st, int64_t key, int64_t max_seq, int64_t *out, size_t cap)
{
    hookd_due_cursor cur = {0, 0};
    hookd_job *jobs = NULL;
    size_t n = 0;
    CHECK_INT(hookd_store_due(st, key, FAR, &cur, max_seq, 100, &jobs, &n), 0);
    for (size_t i = 0; i < n && i < cap; i++)
        out[i] = jobs[i].seq;
    fx_jobs_free(jobs, n);
    return n;
}

BACKEND_TEST("postgres", claims_keep_two_processes_apart)
{
    hookd_webhook *wh = fx_webhook(fx, WH_JSON("claims", ACTS_S));
    if (!wh)
        return;
    made_ref d[3];
    CHECK_INT(fx_deliver(fx, 3, "act::s", T0, d, 3), 3);
    hookd_store *b = NULL;
    char err[256] = "";
    int q = quiet_begin();
    int rc = fx->be->open(fx->dir, &b, err, sizeof err);
    quiet_end(q);
    CHECK_INT(rc, 0);
    if (rc)
        return;
    CHECK(hookd_store_shared(fx->st) && hookd_store_shared(b));
    int64_t got[8];
    int64_t top = d[2].seq;

    /* What A ingested, A holds: B reads nothing, however late. */
    CHECK_INT(due_seqs(b, wh->key, INT64_MAX, got, 8), 0);
    /* A reads its own claims back (bounded by the seq it was told of). */
    CHECK_INT(due_seqs(fx->st, wh->key, top, got, 8), 3);
    CHECK_INT(due_seqs(fx->st, wh->key, d[0].seq, got, 8), 1);

    /* A lets go of two: B takes them, and A no longer sees them. */
    int64_t two[2] = {d[0].seq, d[1].seq};
    CHECK_INT(hookd_store_release(fx->st, two, 2), 0);
    CHECK_INT(due_seqs(b, wh->key, INT64_MAX, got, 8), 2);
    CHECK_INT(got[0], d[0].seq);
    CHECK_INT(got[1], d[1].seq);
    CHECK_INT(due_seqs(fx->st, wh->key, top, got, 8), 1);
    CHECK_INT(got[0], d[2].seq);

    /* A release or a renewal by A leaves B's claims alone. */
    CHECK_INT(hookd_store_release(fx->st, two, 2), 0);
    CHECK_INT(hookd_store_renew(fx->st, two, 2), 0);
    CHECK_INT(due_seqs(fx->st, wh->key, top, got, 8), 1);
    CHECK_INT(due_seqs(b, wh->key, INT64_MAX, got, 8), 2);
    CHECK_INT(hookd_store_renew(b, two, 2), 0);
    CHECK_INT(due_seqs(b, wh->key, INT64_MAX, got, 8), 2);

    /* An outcome stored by B ends the delivery for both. */
    hookd_outcome o = outcome_of(&d[0], HOOKD_DS_PENDING, 0, HOOKD_EV_SUCCEEDED, T0 + 1000);
    int state = -1;
    CHECK_INT(hookd_store_record_outcomes(b, &o, 1, &state, NULL), 0);
    CHECK_INT(state, HOOKD_DS_SUCCEEDED);
    CHECK_INT(due_seqs(b, wh->key, INT64_MAX, got, 8), 1);
    CHECK_INT(got[0], d[1].seq);
    hookd_store_close(b);
}

/* Both backends: a store opened again after the one before it went away
 * (here closed with deliveries it had claimed and not attempted; in life
 * a process killed) gives those deliveries to the new one at once, not
 * after a lease runs out. */
STORE_TEST(claims_of_a_process_gone_are_due_at_once_after_a_restart)
{
    hookd_webhook *wh = fx_webhook(fx, WH_JSON("restart", ACTS_S));
    if (!wh)
        return;
    made_ref d[3];
    CHECK_INT(fx_deliver(fx, 3, "act::s", T0, d, 3), 3);
    int64_t key = wh->key, got[8];
    if (!fx_reopen(fx))
        return;
    CHECK_INT(due_seqs(fx->st, key, INT64_MAX, got, 8), 3);
    CHECK_INT(got[0], d[0].seq);
    CHECK_INT(got[2], d[2].seq);
}

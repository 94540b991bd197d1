/*
 * delivery_state.c — the transition table of delivery_state.h.
 */
#include "model/delivery_state.h"

#include <string.h>

/* Cells of the table besides a plain target state. */
enum {
    SAME = -2,   /* the event does not concern this state: nothing changes */
    RESUME = -3, /* pending if never attempted, else retrying */
    NO = HOOKD_DS_REFUSED,
};

#define P HOOKD_DS_PENDING
#define R HOOKD_DS_RETRYING
#define S HOOKD_DS_SUCCEEDED
#define F HOOKD_DS_FAILED
#define H HOOKD_DS_HELD
#define C HOOKD_DS_CANCELLED
#define L HOOKD_DS_LAST_TRY

/* NEXT[from][event]. Columns: SUCCEEDED, FAILED, RETRY, DISCONNECT, CONNECT,
 * DELETE, RETRY_NOW. */
static const signed char NEXT[HOOKD_DS_COUNT][HOOKD_EV_COUNT] = {
    /* pending   */ {S, F, R, H, SAME, C, P},
    /* retrying  */ {S, F, R, H, SAME, C, R},
    /* succeeded */ {SAME, SAME, SAME, SAME, SAME, SAME, NO},
    /* failed    */ {SAME, SAME, SAME, SAME, SAME, SAME, L},
    /* An attempt already in flight when the webhook was disconnected still
     * finishes the delivery; a retry it asks for waits for the connect. */
    /* held      */ {S, F, H, SAME, RESUME, C, NO},
    /* cancelled */ {SAME, SAME, SAME, SAME, SAME, SAME, NO},
    /* last_try: one more attempt, and whatever it gets is the end */
    /* last_try  */ {S, F, F, H, SAME, C, L},
};

#undef P
#undef R
#undef S
#undef F
#undef H
#undef C
#undef L

static const struct {
    const char *api_name;
    unsigned flags;
} STATES[HOOKD_DS_COUNT] = {
#define HOOKD_DS_ROW(name, num, api, fl) [num] = {api, fl},
    HOOKD_DS_TABLE(HOOKD_DS_ROW)
#undef HOOKD_DS_ROW
};

static bool valid(int state)
{
    return state >= 0 && state < HOOKD_DS_COUNT;
}

int hookd_ds_next(hookd_delivery_state from, hookd_ds_event ev, bool attempted)
{
    if (!valid((int)from) || ev < 0 || ev >= HOOKD_EV_COUNT)
        return NO;
    int to = NEXT[from][ev];
    if (to == SAME)
        return (int)from;
    if (to == RESUME)
        return attempted ? HOOKD_DS_RETRYING : HOOKD_DS_PENDING;
    return to;
}

unsigned hookd_ds_flags(int state)
{
    return valid(state) ? STATES[state].flags : 0;
}

bool hookd_ds_waiting(int state)
{
    return hookd_ds_flags(state) & HOOKD_DSF_WAITING;
}

bool hookd_ds_open(int state)
{
    return hookd_ds_flags(state) & HOOKD_DSF_OPEN;
}

bool hookd_ds_finished(int state)
{
    return hookd_ds_flags(state) & HOOKD_DSF_FINISHED;
}

const char *hookd_ds_name(int state)
{
    return valid(state) ? STATES[state].api_name : "unknown";
}

size_t hookd_ds_parse(const char *name, hookd_delivery_state *out)
{
    size_t n = 0;
    for (int s = 0; name && s < HOOKD_DS_COUNT; s++) {
        if (strcmp(STATES[s].api_name, name) == 0)
            out[n++] = (hookd_delivery_state)s;
    }
    return n;
}

hookd_ds_effect hookd_ds_effect_of(hookd_delivery_state from, hookd_ds_event ev, int to)
{
    hookd_ds_effect e = {0};
    if (!valid(to) || !valid((int)from))
        return e;
    e.open = (int)hookd_ds_open(to) - (int)hookd_ds_open((int)from);
    /* A delivery counts once, when it becomes finished as succeeded or
     * failed; an outcome that lands on a cancelled one counts nowhere. */
    if (!hookd_ds_finished((int)from)) {
        e.succeeded = to == HOOKD_DS_SUCCEEDED;
        e.failed = to == HOOKD_DS_FAILED;
    }
    /* A retry is counted when one is scheduled: held ones are not. */
    e.retried = ev == HOOKD_EV_RETRY && to == HOOKD_DS_RETRYING;
    return e;
}

bool hookd_ds_resendable(int state)
{
    return state == HOOKD_DS_SUCCEEDED || state == HOOKD_DS_FAILED;
}

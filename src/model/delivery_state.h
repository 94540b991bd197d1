/*
 * delivery_state.h — the one delivery state machine (docs/api.md#logs and #delivery): the
 * states a delivery can be in, what each one means, and the pure transition
 * function that every module uses to move a delivery on. The engine (attempt
 * outcomes), test sends, retry, connect, disconnect and delete all ask
 * hookd_ds_next; a store only applies "set the state to Y if it is still X"
 * with the Y this table gives, so a new rule is a change to this one file.
 *
 *                 attempt ok ──▶ succeeded
 *   pending ──┬── attempt failed for good ──▶ failed ──retry now──▶ last_try
 *      ▲      └── attempt to retry ──▶ retrying ──(due)──▶ attempt …
 *      │            disconnect: pending/retrying/last_try ──▶ held
 *   connect ◀──── held          delete: every waiting state ──▶ cancelled
 *
 * last_try is a failed delivery that was retried by hand: it gets exactly one
 * more attempt (docs/api.md#logs, retry by hand), so a retryable answer fails it instead of
 * scheduling another. The API shows it as "retrying".
 *
 * Pure functions over constant tables; thread-safe.
 */
#ifndef HOOKD_MODEL_DELIVERY_STATE_H
#define HOOKD_MODEL_DELIVERY_STATE_H

#include <stdbool.h>
#include <stddef.h>

/* X(NAME, number kept in stores, API name, flags). The numbers are stored:
 * never renumber, only append. */
#define HOOKD_DS_TABLE(X)                                                                          \
    X(PENDING, 0, "pending", HOOKD_DSF_WAITING | HOOKD_DSF_OPEN)                                   \
    X(RETRYING, 1, "retrying", HOOKD_DSF_WAITING | HOOKD_DSF_OPEN)                                 \
    X(SUCCEEDED, 2, "succeeded", HOOKD_DSF_FINISHED)                                               \
    X(FAILED, 3, "failed", HOOKD_DSF_FINISHED)                                                     \
    X(HELD, 4, "held", HOOKD_DSF_OPEN)                                                             \
    X(CANCELLED, 5, "cancelled", HOOKD_DSF_FINISHED)                                               \
    X(LAST_TRY, 6, "retrying", HOOKD_DSF_WAITING | HOOKD_DSF_OPEN)

/* What a state means. */
enum {
    HOOKD_DSF_WAITING = 1,  /* an attempt is made when next_attempt_at comes */
    HOOKD_DSF_OPEN = 2,     /* not finished: counted as "pending" in stats */
    HOOKD_DSF_FINISHED = 4, /* over: pruned after the log retention */
};

typedef enum hookd_delivery_state {
#define HOOKD_DS_ENUM(name, num, api, flags) HOOKD_DS_##name = num,
    HOOKD_DS_TABLE(HOOKD_DS_ENUM)
#undef HOOKD_DS_ENUM
        HOOKD_DS_COUNT
} hookd_delivery_state;

/* What can happen to a delivery. */
typedef enum hookd_ds_event {
    HOOKD_EV_SUCCEEDED,  /* an attempt was answered 200–399 */
    HOOKD_EV_FAILED,     /* an attempt failed for good (final status, address refused,
                            no retry left) */
    HOOKD_EV_RETRY,      /* an attempt failed and a retry is left */
    HOOKD_EV_DISCONNECT, /* its webhook was disconnected */
    HOOKD_EV_CONNECT,    /* its webhook was connected */
    HOOKD_EV_DELETE,     /* its webhook was deleted */
    HOOKD_EV_RETRY_NOW,  /* POST …/logs/{id}/retry */
    HOOKD_EV_COUNT
} hookd_ds_event;

#define HOOKD_DS_REFUSED (-1)

/* The state a delivery in from moves to on ev. attempted tells whether it has
 * had an attempt (a connected webhook's held deliveries resume as pending or
 * retrying by it). Returns from itself when ev does not concern from (an
 * outcome arriving for a cancelled delivery: it stays cancelled), or
 * HOOKD_DS_REFUSED when ev is not allowed in from (retrying a succeeded,
 * cancelled or held delivery: 409). */
int hookd_ds_next(hookd_delivery_state from, hookd_ds_event ev, bool attempted);

/* Flags of a state (HOOKD_DSF_*); 0 for a number that is not a state. */
unsigned hookd_ds_flags(int state);
bool hookd_ds_waiting(int state);
bool hookd_ds_open(int state);
bool hookd_ds_finished(int state);

/* The name the API shows ("retrying" for last_try); "unknown" for a number
 * that is not a state. */
const char *hookd_ds_name(int state);

/* The states an API name stands for, in order, into out (room for
 * HOOKD_DS_COUNT). Returns how many (0 when name is no state's name). */
size_t hookd_ds_parse(const char *name, hookd_delivery_state *out);

/* What a transition does to a webhook's counters (the stats of
 * docs/api.md#list-webhooks, the counts of #counts-by-hour): the change of its open deliveries, and whether the delivery
 * finished as succeeded or failed, or an attempt ended in a retry. */
typedef struct hookd_ds_effect {
    int open;      /* -1, 0 or +1 */
    int succeeded; /* 0 or 1 */
    int failed;    /* 0 or 1 */
    int retried;   /* 0 or 1 */
} hookd_ds_effect;

/* Whether a delivery in state may be sent again as a new one (POST
 * …/logs/{id}/resend): succeeded or failed, not one still on its way. */
bool hookd_ds_resendable(int state);

hookd_ds_effect hookd_ds_effect_of(hookd_delivery_state from, hookd_ds_event ev, int to);

#endif

/*
 * payload.h — builds the exact payload of docs/payload.md for one delivery, and its
 * wire forms: a JSON body for POST/PUT/PATCH, URL query parameters for
 * GET/DELETE.
 *
 * A pure function of its inputs (the clock and ids are inputs too), so every
 * rule can be pinned by golden tests. Built once when a delivery is made and
 * stored, so every attempt sends the same bytes. Thread-safe; returned
 * values are new (caller frees / decrefs); inputs are borrowed.
 */
#ifndef HOOKD_MODEL_PAYLOAD_H
#define HOOKD_MODEL_PAYLOAD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "model/webhook.h"

/* Stores keep these numbers: never renumber, only append. */
typedef enum hookd_delivery_kind {
    HOOKD_KIND_ACTIVITY,
    HOOKD_KIND_ACTION,
    HOOKD_KIND_TEST,
} hookd_delivery_kind;

typedef struct hookd_payload_input {
    const hookd_webhook *webhook;
    hookd_delivery_kind kind;
    const char *delivery_id;      /* the payload's "id" */
    int64_t time_ns;              /* the payload's "time": when the delivery was made */
    const char *contact_id;
    const json_t *person_fields;  /* object field id → value (normalised), or NULL */
    const json_t *account_fields; /* object field id → value, or NULL: no account */
    /* The activity, or NULL: {"id","field_id","created","attr":{…}} with values
     * already normalised and any client "bol::t" already dropped. */
    const json_t *activity;
    bool transactional;           /* the activity's campaign.transactional */
    /* Action deliveries only: {"campaign_id","campaign_name","action_id",
     * "action_name"} (any may be missing); NULL otherwise. */
    const json_t *action;
} hookd_payload_input;

/* The payload object, keys in the order of docs/payload.md: activity, contact, the
 * action fields (action deliveries), id, time, webhook_id, test (test
 * deliveries). NULL only if memory ran out. */
json_t *hookd_payload_build(const hookd_payload_input *in);

/* The request a payload travels as: for POST/PUT/PATCH the webhook's URL and
 * the compact JSON body; for GET/DELETE the URL with the payload as query
 * parameters and an empty body. Returns 0 and sets *url and *body (new
 * strings, caller frees), or -1 if memory ran out. */
int hookd_payload_request(const json_t *payload, hookd_method method, const char *url,
                          char **out_url, char **out_body) __attribute__((warn_unused_result));

/* The fast way to a POST/PUT/PATCH body when one activity goes to many
 * webhooks: the activity object as every payload carries it ("bol::t"
 * settled), as compact JSON text made once (new string, NULL if out of
 * memory)… */
char *hookd_payload_activity_text(const json_t *activity, bool transactional);
/* …spliced into each body, which is byte for byte
 * hookd_json_dumps(hookd_payload_build(in)) with in->activity's text given
 * as activity_text (NULL for none; in->activity itself is not read). New
 * string, or NULL if memory ran out. */
char *hookd_payload_body(const hookd_payload_input *in, const char *activity_text);

/* The wire form of a payload as stored: for GET/DELETE *query is the query
 * string (hookd_payload_query) and *body ""; for the others *query is NULL
 * and *body the compact JSON. New strings; returns 0 or -1 (out of
 * memory). */
int hookd_payload_wire(const json_t *payload, hookd_method method, char **query, char **body)
    __attribute__((warn_unused_result));

/* The URL a GET/DELETE payload travels to: url without its fragment, then
 * '?' or '&' (unless url already ends in one), then query; url itself when
 * query is NULL or empty. New string, or NULL if memory ran out. */
char *hookd_payload_url(const char *url, const char *query);

/* The query-string form alone (no leading '?'): each key the dot-joined path,
 * arrays as repeated parameters, true/false and numbers as in JSON, null and
 * empty arrays left out, everything but RFC 3986 unreserved characters
 * percent-encoded. New string, or NULL if memory ran out. */
char *hookd_payload_query(const json_t *payload);

#endif

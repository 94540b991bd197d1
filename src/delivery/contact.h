/*
 * contact.h — what a webhook's answer asks of the delivery's person when the
 * webhook has update_contact_from_response
 * (docs/api.md#answers-that-update-the-person): the answer's {"fields":{…}}, validated as POST
 * /api/v1/people/merge validates a person's fields.
 *
 * Pure; runs on the engine thread. The store merges the fields (see
 * hookd_outcome.contact_fields); nothing here touches it.
 */
#ifndef HOOKD_DELIVERY_CONTACT_H
#define HOOKD_DELIVERY_CONTACT_H

#include <jansson.h>
#include <stdbool.h>

/* Reads a 2xx answer's body (the part hookd keeps: HOOKD_RESPONSE_KEEP
 * bytes). Returns false when it is not a JSON object (then the attempt is
 * retried, see hookd_outcome_classify_answer). Otherwise true, with
 * *fields a new normalised object to merge (NULL when the answer has no
 * "fields" or they were refused) and *error a new message naming the refused
 * field (NULL when none). */
bool hookd_contact_answer(const char *body, json_t **fields, char **error);

#endif

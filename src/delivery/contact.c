/*
 * contact.c — reads a webhook's answer for the person update (see
 * contact.h).
 */
#include "delivery/contact.h"

#include <stdio.h>
#include <string.h>

#include "model/person.h"
#include "util/json.h"

bool hookd_contact_answer(const char *body, json_t **fields, char **error)
{
    *fields = NULL;
    *error = NULL;
    json_error_t jerr;
    json_t *answer = body ? hookd_json_loadb(body, strlen(body), 0, &jerr) : NULL;
    if (!json_is_object(answer)) {
        json_decref(answer);
        return false;
    }
    /* An object without "fields" asks for nothing: the receiver simply
     * answered in JSON. */
    const json_t *v = json_object_get(answer, "fields");
    hookd_error err = {0};
    if (v && hookd_fields_validate(v, HOOKD_OBJ_PERSON, "fields", fields, &err) != 0) {
        /* The delivery still succeeded: the refusal goes to the attempt's
         * error, naming the field as people/merge would. */
        char msg[sizeof err.message + sizeof err.field + 64];
        snprintf(msg, sizeof msg, "person not updated from the answer: %s%s%s", err.message,
                 err.field[0] ? " (" : "", err.field[0] ? err.field : "");
        if (err.field[0])
            strncat(msg, ")", sizeof msg - strlen(msg) - 1);
        *error = strdup(msg);
        *fields = NULL;
    }
    json_decref(answer);
    return true;
}

/*
 * fields.h — field ids (docs/payload.md#field-ids: "type:namespace:name"), their types, and the
 * built-in person and account fields with their default payload keys.
 *
 * Custom fields live in the store; this module only knows the built-ins and
 * the rules that make a custom id from a name. Static, read-only data: safe
 * from any thread, returned pointers borrowed for the life of the process.
 */
#ifndef HOOKD_MODEL_FIELDS_H
#define HOOKD_MODEL_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum hookd_field_type {
    HOOKD_FT_INVALID = 0,
    HOOKD_FT_IDT,
    HOOKD_FT_STR,
    HOOKD_FT_TXT,
    HOOKD_FT_SST,
    HOOKD_FT_U4S,
    HOOKD_FT_BOL,
    HOOKD_FT_INT,
    HOOKD_FT_TME,
    HOOKD_FT_PHN,
    HOOKD_FT_GEO,
    HOOKD_FT_DTZ,
    HOOKD_FT_ACT, /* activity ids: "act::s" */
} hookd_field_type;

typedef enum hookd_field_object { HOOKD_OBJ_PERSON, HOOKD_OBJ_ACCOUNT } hookd_field_object;

typedef struct hookd_field_def {
    const char *id;          /* "str::first" */
    const char *name;        /* "First name" */
    hookd_field_type type;
    hookd_field_object object;
    const char *default_key; /* "first_name" */
} hookd_field_def;

/* The built-in person then account fields, in the order of docs/payload.md#built-in-fields. */
const hookd_field_def *hookd_fields_builtin(size_t *n);

/* The built-in field with this id, or NULL. */
const hookd_field_def *hookd_fields_builtin_find(const char *id);

/* The type named by an id's first part ("str" → HOOKD_FT_STR), or
 * HOOKD_FT_INVALID. */
hookd_field_type hookd_field_type_from_name(const char *name, size_t len);
const char *hookd_field_type_name(hookd_field_type t);

/* The slug of a custom field's name (docs/api.md): lower-cased, each run of
 * characters other than a-z0-9 turned into one '-', trimmed of '-'. Returns 0,
 * or -1 if the result is empty or does not fit in cap. */
int hookd_field_slug(const char *name, char *out, size_t cap);

/* A custom field's default key: the id's name part with '-' turned to '_'.
 * Returns a new string (caller frees) or NULL on allocation failure. */
char *hookd_field_default_key(const char *id);

/* True for an activity id an activity may carry or a webhook subscribe to: a
 * catalog activity or a custom one (act:cm:<name>, act:oc:<name>, name of
 * 1–100 characters from a-z 0-9 - _); "*" too when allow_star. */
bool hookd_activity_id_valid(const char *id, bool allow_star);

/* The type of an activity attribute id: a catalog attribute (whose type is
 * its first part, "str:sr" included) or a custom "<type>:cm:<name>".
 * HOOKD_FT_INVALID for anything else, and for act/idt-less junk. */
hookd_field_type hookd_attr_type(const char *id);

/* The type of a field id valid on object: built-in fields of that object, or
 * custom ones ("<type>:cm:<name>" for people, "<type>:oc:<name>" for
 * accounts, a type of docs/payload.md#field-types but idt and u4s, name as hookd_field_slug makes).
 * HOOKD_FT_INVALID if id is no such field. */
hookd_field_type hookd_object_field_type(const char *id, hookd_field_object object);

#endif

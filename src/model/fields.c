#include "model/fields.h"

#include <stdlib.h>
#include <string.h>

#include "model/catalog.h"

static const hookd_field_def BUILTIN[] = {
    {"str::first", "First name", HOOKD_FT_STR, HOOKD_OBJ_PERSON, "first_name"},
    {"str::last", "Last name", HOOKD_FT_STR, HOOKD_OBJ_PERSON, "last_name"},
    {"str::email", "Email", HOOKD_FT_STR, HOOKD_OBJ_PERSON, "email"},
    {"phn::phone", "Phone", HOOKD_FT_PHN, HOOKD_OBJ_PERSON, "phone_number"},
    {"geo::city", "City", HOOKD_FT_GEO, HOOKD_OBJ_PERSON, "city"},
    {"geo::country", "Country", HOOKD_FT_GEO, HOOKD_OBJ_PERSON, "country"},
    {"geo::region", "Region", HOOKD_FT_GEO, HOOKD_OBJ_PERSON, "region"},
    {"str::postal", "Postal code", HOOKD_FT_STR, HOOKD_OBJ_PERSON, "postal"},
    {"dtz::b", "Birthday", HOOKD_FT_DTZ, HOOKD_OBJ_PERSON, "birthday"},
    {"str::ei", "External ID", HOOKD_FT_STR, HOOKD_OBJ_PERSON, "external_id"},
    {"str::language", "Language", HOOKD_FT_STR, HOOKD_OBJ_PERSON, "language"},
    {"bol::gdpr", "GDPR", HOOKD_FT_BOL, HOOKD_OBJ_PERSON, "gdpr"},
    {"bol::p", "Email permission", HOOKD_FT_BOL, HOOKD_OBJ_PERSON, "email_permission"},
    {"bol::sp", "SMS permission", HOOKD_FT_BOL, HOOKD_OBJ_PERSON, "sms_permission"},
    {"str:o:name", "Account name", HOOKD_FT_STR, HOOKD_OBJ_ACCOUNT, "account_name"},
    {"int:o:employees", "Employees", HOOKD_FT_INT, HOOKD_OBJ_ACCOUNT, "employees"},
    {"str:o:industry", "Industry", HOOKD_FT_STR, HOOKD_OBJ_ACCOUNT, "industry"},
    {"str:o:website", "Website", HOOKD_FT_STR, HOOKD_OBJ_ACCOUNT, "website"},
    {"geo:o:city", "Account city", HOOKD_FT_GEO, HOOKD_OBJ_ACCOUNT, "account_city"},
    {"geo:o:country", "Account country", HOOKD_FT_GEO, HOOKD_OBJ_ACCOUNT, "account_country"},
};

static const char *const TYPE_NAMES[] = {
    [HOOKD_FT_IDT] = "idt", [HOOKD_FT_STR] = "str", [HOOKD_FT_TXT] = "txt",
    [HOOKD_FT_SST] = "sst", [HOOKD_FT_U4S] = "u4s", [HOOKD_FT_BOL] = "bol",
    [HOOKD_FT_INT] = "int", [HOOKD_FT_TME] = "tme", [HOOKD_FT_PHN] = "phn",
    [HOOKD_FT_GEO] = "geo", [HOOKD_FT_DTZ] = "dtz", [HOOKD_FT_ACT] = "act",
};

const hookd_field_def *hookd_fields_builtin(size_t *n)
{
    *n = sizeof BUILTIN / sizeof BUILTIN[0];
    return BUILTIN;
}

const hookd_field_def *hookd_fields_builtin_find(const char *id)
{
    for (size_t i = 0; i < sizeof BUILTIN / sizeof BUILTIN[0]; i++) {
        if (strcmp(BUILTIN[i].id, id) == 0)
            return &BUILTIN[i];
    }
    return NULL;
}

hookd_field_type hookd_field_type_from_name(const char *name, size_t len)
{
    for (size_t t = 1; t < sizeof TYPE_NAMES / sizeof TYPE_NAMES[0]; t++) {
        if (strlen(TYPE_NAMES[t]) == len && memcmp(TYPE_NAMES[t], name, len) == 0)
            return (hookd_field_type)t;
    }
    return HOOKD_FT_INVALID;
}

const char *hookd_field_type_name(hookd_field_type t)
{
    if (t <= HOOKD_FT_INVALID || t > HOOKD_FT_ACT)
        return "?";
    return TYPE_NAMES[t];
}

/* Splits a field id into its three parts. Returns 0 and sets the outputs
 * (pointers into id), or -1 if id does not have exactly two colons and a
 * known type. */
static int field_id_split(const char *id, hookd_field_type *type, const char **ns,
                          size_t *ns_len, const char **name)
{
    const char *c1 = strchr(id, ':');
    if (!c1)
        return -1;
    const char *c2 = strchr(c1 + 1, ':');
    if (!c2 || strchr(c2 + 1, ':'))
        return -1;
    hookd_field_type t = hookd_field_type_from_name(id, (size_t)(c1 - id));
    if (t == HOOKD_FT_INVALID)
        return -1;
    *type = t;
    *ns = c1 + 1;
    *ns_len = (size_t)(c2 - c1 - 1);
    *name = c2 + 1;
    return 0;
}

int hookd_field_slug(const char *name, char *out, size_t cap)
{
    size_t n = 0;
    int pending_dash = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        unsigned char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            /* A dash is written only between two kept characters, which both
             * collapses runs and trims both ends. */
            if (pending_dash && n > 0) {
                if (n + 1 >= cap)
                    return -1;
                out[n++] = '-';
            }
            pending_dash = 0;
            if (n + 1 >= cap)
                return -1;
            out[n++] = (char)c;
        } else {
            pending_dash = 1;
        }
    }
    if (n == 0)
        return -1;
    out[n] = '\0';
    return 0;
}

char *hookd_field_default_key(const char *id)
{
    const char *name = strrchr(id, ':');
    name = name ? name + 1 : id;
    char *key = strdup(name);
    if (!key)
        return NULL;
    for (char *p = key; *p; p++) {
        if (*p == '-')
            *p = '_';
    }
    return key;
}

/* A custom name: 1–100 of a-z 0-9 - _. */
static bool custom_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 100)
        return false;
    for (const char *p = name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return false;
    }
    return true;
}

bool hookd_activity_id_valid(const char *id, bool allow_star)
{
    if (allow_star && strcmp(id, "*") == 0)
        return true;
    if (hookd_catalog_activity(id))
        return true;
    if (strncmp(id, "act:cm:", 7) == 0 || strncmp(id, "act:oc:", 7) == 0)
        return custom_name_ok(id + 7);
    return false;
}

hookd_field_type hookd_attr_type(const char *id)
{
    const char *colon = strchr(id, ':');
    if (!colon)
        return HOOKD_FT_INVALID;
    hookd_field_type t = hookd_field_type_from_name(id, (size_t)(colon - id));
    if (t == HOOKD_FT_INVALID || t == HOOKD_FT_ACT)
        return HOOKD_FT_INVALID;
    if (hookd_catalog_attribute(id))
        return t;
    if (strncmp(colon, ":cm:", 4) == 0 && custom_name_ok(colon + 4))
        return t;
    return HOOKD_FT_INVALID;
}

hookd_field_type hookd_object_field_type(const char *id, hookd_field_object object)
{
    const hookd_field_def *d = hookd_fields_builtin_find(id);
    if (d)
        return d->object == object ? d->type : HOOKD_FT_INVALID;
    hookd_field_type t;
    const char *ns, *name;
    size_t ns_len;
    if (field_id_split(id, &t, &ns, &ns_len, &name) != 0)
        return HOOKD_FT_INVALID;
    const char *want = object == HOOKD_OBJ_ACCOUNT ? "oc" : "cm";
    if (ns_len != 2 || strncmp(ns, want, 2) != 0 || t == HOOKD_FT_ACT || t == HOOKD_FT_IDT ||
        t == HOOKD_FT_U4S)
        return HOOKD_FT_INVALID;
    /* Only names a slug could be: lower-case runs joined by single dashes. */
    char slug[128];
    if (hookd_field_slug(name, slug, sizeof slug) != 0 || strcmp(slug, name) != 0)
        return HOOKD_FT_INVALID;
    return t;
}

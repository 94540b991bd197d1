/*
 * person.c — people, accounts and the merge rule (see person.h).
 */
#include "model/person.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/fieldvalue.h"

void hookd_person_free(hookd_person *p)
{
    if (!p)
        return;
    json_decref(p->fields);
    free(p);
}

void hookd_account_free(hookd_account *a)
{
    if (!a)
        return;
    json_decref(a->fields);
    free(a);
}

hookd_person *hookd_person_clone(const hookd_person *p)
{
    hookd_person *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    *c = *p;
    if (!(c->fields = json_deep_copy(p->fields))) {
        free(c);
        return NULL;
    }
    return c;
}

hookd_account *hookd_account_clone(const hookd_account *a)
{
    hookd_account *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    *c = *a;
    if (!(c->fields = json_deep_copy(a->fields))) {
        free(c);
        return NULL;
    }
    return c;
}

void hookd_merge_person_clear(hookd_merge_person *m)
{
    json_decref(m->fields);
    json_decref(m->account_fields);
    memset(m, 0, sizeof *m);
}

int hookd_fields_merge(json_t *dst, const json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)src, k, v)
    {
        if (json_is_null(v))
            json_object_del(dst, k);
        else if (json_object_set(dst, k, v) != 0)
            return -1;
    }
    return 0;
}

hookd_person *hookd_person_merged(hookd_person *found, const json_t *fields, int64_t now_ms)
{
    hookd_person *p = found;
    if (!p) {
        if (!(p = calloc(1, sizeof *p)) || !(p->fields = json_object()) ||
            hookd_id_new(p->contact_id) != 0) {
            hookd_person_free(p);
            return NULL;
        }
        p->created_at = now_ms;
    }
    if (hookd_fields_merge(p->fields, fields) != 0) {
        hookd_person_free(p);
        return NULL;
    }
    p->updated_at = now_ms;
    return p;
}

/* people/merge's rule, shared with the person update from a webhook's
 * answer (delivery/contact.c). */
int hookd_fields_validate(const json_t *v, hookd_field_object object, const char *path,
                          json_t **out, hookd_error *err)
{
    char field[HOOKD_ERR_FIELD_MAX];
    if (!json_is_object(v))
        return hookd_invalid(err, path, "%s must be an object of field id → value", path);
    json_t *norm = json_object();
    if (!norm)
        return hookd_error_from_rc(err, HOOKD_ENOMEM, "fields");
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)v, k, val)
    {
        hookd_path(field, path, k);
        hookd_field_type t = hookd_object_field_type(k, object);
        if (t == HOOKD_FT_INVALID) {
            json_decref(norm);
            return hookd_invalid(err, field, "'%s' is not a %s field", k,
                                 object == HOOKD_OBJ_ACCOUNT ? "account" : "person");
        }
        json_t *nv = NULL;
        if (json_is_null(val)) {
            nv = json_null(); /* null clears the field */
        } else if (hookd_field_value_check(t, val, field, &nv, err) != 0) {
            json_decref(norm);
            return HOOKD_EINVAL;
        }
        /* A value dropped here would turn into a 400 about the field. */
        if (json_object_set_new(norm, k, nv) != 0) {
            json_decref(norm);
            return hookd_error_from_rc(err, HOOKD_ENOMEM, "fields");
        }
    }
    *out = norm;
    return 0;
}

/*
 * person.c — people, accounts and the merge rule (see person.h).
 */
#include "model/person.h"

#include <stdlib.h>
#include <string.h>

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

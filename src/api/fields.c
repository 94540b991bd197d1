/*
 * fields.c — /api/v1/fields (docs/api.md): the built-in person and account fields
 * followed by the custom ones, and creation of custom fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "model/fields.h"
#include "util/json.h"
#include "util/timeutil.h"
#include "util/utf8.h"

#define FIELD_NAME_MAX 100

static json_t *field_json(const char *id, const char *name, hookd_field_type type,
                          hookd_field_object obj, const char *default_key, bool builtin)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "id", id, "name", name, "type",
                     hookd_field_type_name(type), "object",
                     obj == HOOKD_OBJ_ACCOUNT ? "account" : "person", "default_key", default_key,
                     "builtin", builtin);
}

static json_t *custom_json(const hookd_custom_field *f)
{
    char *key = hookd_field_default_key(f->id);
    json_t *j = key ? field_json(f->id, f->name, f->type, f->object, key, false) : NULL;
    free(key);
    return j;
}

int hookd_h_fields_list(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                        hookd_error *err)
{
    (void)req;
    size_t nb, nc = 0;
    const hookd_field_def *b = hookd_fields_builtin(&nb);
    hookd_custom_field **custom = NULL;
    int rc = hookd_store_field_list(ctx->store, &custom, &nc);
    if (rc)
        return hookd_error_from_rc(err, rc, "fields");
    json_t *arr = json_array();
    for (size_t i = 0; i < nb; i++)
        json_array_append_new(arr, field_json(b[i].id, b[i].name, b[i].type, b[i].object,
                                              b[i].default_key, true));
    for (size_t i = 0; i < nc; i++) {
        json_array_append_new(arr, custom_json(custom[i]));
        hookd_custom_field_free(custom[i]);
    }
    free(custom);
    resp->status = 200;
    resp->json = json_pack("{s:o}", "fields", arr);
    return resp->json ? 0 : hookd_error_from_rc(err, HOOKD_ENOMEM, "fields");
}

int hookd_h_fields_create(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                          hookd_error *err)
{
    static const char *const ALLOWED[] = {"name", "type", "object", NULL};
    if (hookd_json_only_keys(req->body, ALLOWED, "", err))
        return HOOKD_EINVAL;
    const json_t *jname = json_object_get(req->body, "name");
    const json_t *jtype = json_object_get(req->body, "type");
    const json_t *jobj = json_object_get(req->body, "object");
    if (!json_is_string(jname))
        return hookd_invalid(err, "name", "name is required and must be a string");
    const char *name = json_string_value(jname);
    size_t nchars = hookd_utf8_chars(name);
    if (nchars < 1 || nchars > FIELD_NAME_MAX)
        return hookd_invalid(err, "name", "name must be 1 to %d characters", FIELD_NAME_MAX);
    char slug[FIELD_NAME_MAX * 4 + 1];
    if (hookd_field_slug(name, slug, sizeof slug) != 0)
        return hookd_invalid(err, "name", "name must contain at least one letter or digit");
    if (!json_is_string(jtype))
        return hookd_invalid(err, "type", "type is required and must be a string");
    const char *tname = json_string_value(jtype);
    hookd_field_type type = hookd_field_type_from_name(tname, strlen(tname));
    if (type == HOOKD_FT_INVALID || type == HOOKD_FT_IDT || type == HOOKD_FT_U4S ||
        type == HOOKD_FT_ACT)
        return hookd_invalid(err, "type",
                             "type must be one of str, txt, sst, bol, int, tme, phn, geo, dtz");
    hookd_field_object obj = HOOKD_OBJ_PERSON;
    if (jobj) {
        const char *o = json_string_value(jobj);
        if (o && strcmp(o, "account") == 0)
            obj = HOOKD_OBJ_ACCOUNT;
        else if (!o || strcmp(o, "person") != 0)
            return hookd_invalid(err, "object", "object must be \"person\" or \"account\"");
    }
    char id[sizeof slug + 16];
    snprintf(id, sizeof id, "%s:%s:%s", hookd_field_type_name(type),
             obj == HOOKD_OBJ_ACCOUNT ? "oc" : "cm", slug);
    hookd_custom_field f = {.id = id, .name = (char *)name, .type = type, .object = obj,
                            .created_at = hookd_now_ms()};
    int rc = hookd_store_field_insert(ctx->store, &f);
    if (rc == HOOKD_ECONFLICT)
        return hookd_error_set(err, 409, "conflict", "name", "a field with the id %s exists", id);
    if (rc)
        return hookd_error_from_rc(err, rc, "field");
    resp->status = 201;
    resp->json = custom_json(&f);
    return resp->json ? 0 : hookd_error_from_rc(err, HOOKD_ENOMEM, "field");
}

/*
 * people.c — people and accounts (docs/api.md): field-map validation (shared
 * with activities and /send through contacts.h), and the /people/merge,
 * /people/{id}, /accounts/merge, /accounts/{id} handlers. The merging itself
 * is the store's command, atomic over the whole request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/contacts.h"
#include "api/handlers.h"
#include "model/fieldvalue.h"
#include "util/crypto.h"
#include "util/json.h"
#include "util/timeutil.h"

#define MERGE_MAX 1000

int hookd_merge_by_validate(const json_t *v, const char *path, const char **ids, int *n,
                            hookd_error *err)
{
    char field[HOOKD_ERR_FIELD_MAX];
    if (!v) {
        ids[0] = "str::email";
        *n = 1;
        return 0;
    }
    size_t len = json_array_size(v);
    if (!json_is_array(v) || len < 1 || len > HOOKD_MERGE_BY_MAX)
        return hookd_invalid(err, path, "%s must be a list of 1 to %d person field ids", path,
                             HOOKD_MERGE_BY_MAX);
    for (size_t i = 0; i < len; i++) {
        const char *id = json_string_value(json_array_get(v, i));
        snprintf(field, sizeof field, "%s[%zu]", path, i);
        hookd_field_type t = id ? hookd_object_field_type(id, HOOKD_OBJ_PERSON) : HOOKD_FT_INVALID;
        if (t != HOOKD_FT_STR && t != HOOKD_FT_TXT && t != HOOKD_FT_IDT)
            return hookd_invalid(err, field, "%s must be the id of a text person field, like "
                                             "str::email", field);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(ids[j], id) == 0)
                return hookd_invalid(err, field, "%s repeats %s", field, id);
        }
        ids[i] = id;
    }
    *n = (int)len;
    return 0;
}

int hookd_merge_person_validate(const json_t *v, const char *path, const char **merge_by,
                                int n_merge_by, bool allow_account, hookd_merge_person *out,
                                hookd_error *err)
{
    char field[HOOKD_ERR_FIELD_MAX];
    memset(out, 0, sizeof *out);
    if (!json_is_object(v))
        return hookd_invalid(err, path, "%s must be an object", path);
    /* A person of /people/merge may carry an account (merge_by is the
     * request's); an activity's contact carries its own merge_by. */
    static const char *const MERGE_PERSON[] = {"fields", "account", NULL};
    static const char *const CONTACT[] = {"fields", "merge_by", NULL};
    if (hookd_json_only_keys(v, allow_account ? MERGE_PERSON : CONTACT, path, err))
        return HOOKD_EINVAL;
    hookd_path(field, path, "fields");
    if (!json_object_get(v, "fields"))
        return hookd_invalid(err, field, "%s is required", field);
    if (hookd_fields_validate(json_object_get(v, "fields"), HOOKD_OBJ_PERSON, field, &out->fields,
                              err) != 0)
        return HOOKD_EINVAL;
    bool keyed = false;
    for (int i = 0; i < n_merge_by; i++) {
        out->merge_by[i] = merge_by[i];
        keyed = keyed || json_is_string(json_object_get(out->fields, merge_by[i]));
    }
    out->n_merge_by = n_merge_by;
    if (!keyed) {
        hookd_merge_person_clear(out);
        return hookd_invalid(err, field, "%s needs a value for a merge_by field (%s)", field,
                             merge_by[0]);
    }
    const json_t *acc = json_object_get(v, "account");
    if (acc && !json_is_null(acc)) {
        hookd_path(field, path, "account");
        if (!json_is_object(acc) || json_object_size(acc) != 1 || !json_object_get(acc, "fields")) {
            hookd_merge_person_clear(out);
            return hookd_invalid(err, field, "%s must be {\"fields\":{…}}", field);
        }
        hookd_path(field, path, "account.fields");
        if (hookd_fields_validate(json_object_get(acc, "fields"), HOOKD_OBJ_ACCOUNT, field,
                                  &out->account_fields, err) != 0) {
            hookd_merge_person_clear(out);
            return HOOKD_EINVAL;
        }
        if (!json_is_string(json_object_get(out->account_fields, "str:o:name"))) {
            hookd_merge_person_clear(out);
            return hookd_invalid(err, field, "%s needs str:o:name, the account's merge key",
                                 field);
        }
    }
    return 0;
}

/* ---- handlers ---------------------------------------------------------- */

/* [{id_key, "status"}] for res[0..n), or NULL with *rc and err set. Made
 * after the merge committed: a 503 then is safe to retry (a merge again
 * finds what the first made). */
static json_t *merge_answers(const char *id_key, const hookd_merge_result *res, size_t n,
                             int *rc, hookd_error *err)
{
    json_t *answers = json_array();
    for (size_t i = 0; answers && i < n; i++) {
        if (json_array_append_new(answers,
                                  json_pack("{s:s,s:s}", id_key, res[i].id, "status",
                                            res[i].created ? "created" : "updated")) != 0) {
            json_decref(answers);
            answers = NULL;
        }
    }
    if (!answers)
        *rc = hookd_error_from_rc(err, HOOKD_ENOMEM, "answer");
    return answers;
}

/* Answers 200 {key: list} (list consumed). */
static int answer_list(hookd_resp *resp, const char *key, json_t *list, hookd_error *err)
{
    resp->json = json_pack("{s:o}", key, list);
    if (!resp->json)
        return hookd_error_from_rc(err, HOOKD_ENOMEM, "answer");
    resp->status = 200;
    return 0;
}

/* The list at key: 1..MERGE_MAX items. */
static const json_t *want_list(const json_t *body, const char *key, hookd_error *err)
{
    const json_t *list = json_object_get(body, key);
    if (!json_is_array(list) || json_array_size(list) < 1 || json_array_size(list) > MERGE_MAX) {
        hookd_invalid(err, key, "%s must be a list of 1 to %d items", key, MERGE_MAX);
        return NULL;
    }
    return list;
}

int hookd_h_people_merge(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                         hookd_error *err)
{
    static const char *const ALLOWED[] = {"people", "merge_by", NULL};
    const char *merge_by[HOOKD_MERGE_BY_MAX];
    int n_merge_by;
    char path[64];
    if (hookd_json_only_keys(req->body, ALLOWED, "", err))
        return HOOKD_EINVAL;
    const json_t *list = want_list(req->body, "people", err);
    if (!list)
        return HOOKD_EINVAL;
    if (hookd_merge_by_validate(json_object_get(req->body, "merge_by"), "merge_by", merge_by,
                                &n_merge_by, err))
        return HOOKD_EINVAL;
    size_t n = json_array_size(list);
    hookd_merge_person *m = calloc(n, sizeof *m);
    if (!m)
        return hookd_error_from_rc(err, HOOKD_ENOMEM, "people");
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        snprintf(path, sizeof path, "people[%zu]", i);
        rc = hookd_merge_person_validate(json_array_get(list, i), path, merge_by, n_merge_by, true,
                                         &m[i], err);
    }
    hookd_merge_result *res = rc == 0 ? calloc(n, sizeof *res) : NULL;
    if (rc == 0 && !res)
        rc = hookd_error_from_rc(err, HOOKD_ENOMEM, "people");
    if (rc == 0 && (rc = hookd_store_people_merge(ctx->store, m, n, hookd_now_ms(), res)) != 0)
        hookd_error_from_rc(err, rc, "people");
    json_t *answers = rc == 0 ? merge_answers("contact_id", res, n, &rc, err) : NULL;
    free(res);
    for (size_t i = 0; i < n; i++)
        hookd_merge_person_clear(&m[i]);
    free(m);
    return rc ? rc : answer_list(resp, "people", answers, err);
}

int hookd_h_accounts_merge(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                           hookd_error *err)
{
    static const char *const ALLOWED[] = {"accounts", NULL};
    char path[64];
    if (hookd_json_only_keys(req->body, ALLOWED, "", err))
        return HOOKD_EINVAL;
    const json_t *list = want_list(req->body, "accounts", err);
    if (!list)
        return HOOKD_EINVAL;
    size_t n = json_array_size(list);
    json_t *norm = json_array();
    int rc = norm ? 0 : hookd_error_from_rc(err, HOOKD_ENOMEM, "accounts");
    for (size_t i = 0; i < n && rc == 0; i++) {
        const json_t *a = json_array_get(list, i);
        json_t *fields = NULL;
        snprintf(path, sizeof path, "accounts[%zu]", i);
        if (!json_is_object(a) || json_object_size(a) != 1 || !json_object_get(a, "fields")) {
            rc = hookd_invalid(err, path, "%s must be {\"fields\":{…}}", path);
            break;
        }
        snprintf(path, sizeof path, "accounts[%zu].fields", i);
        if ((rc = hookd_fields_validate(json_object_get(a, "fields"), HOOKD_OBJ_ACCOUNT, path,
                                        &fields, err)) != 0)
            break;
        if (!json_is_string(json_object_get(fields, "str:o:name"))) {
            json_decref(fields);
            rc = hookd_invalid(err, path, "%s needs str:o:name, the account's merge key", path);
            break;
        }
        if (json_array_append_new(norm, fields) != 0)
            rc = hookd_error_from_rc(err, HOOKD_ENOMEM, "accounts");
    }
    hookd_merge_result *res = rc == 0 ? calloc(n, sizeof *res) : NULL;
    json_t **fields = rc == 0 ? calloc(n, sizeof *fields) : NULL;
    if (rc == 0 && (!res || !fields))
        rc = hookd_error_from_rc(err, HOOKD_ENOMEM, "accounts");
    for (size_t i = 0; rc == 0 && i < n; i++)
        fields[i] = json_array_get(norm, i);
    if (rc == 0 && (rc = hookd_store_accounts_merge(ctx->store, fields, n, hookd_now_ms(), res)))
        hookd_error_from_rc(err, rc, "accounts");
    json_t *answers = rc == 0 ? merge_answers("account_id", res, n, &rc, err) : NULL;
    free(res);
    free(fields);
    json_decref(norm);
    return rc ? rc : answer_list(resp, "accounts", answers, err);
}

int hookd_h_person_get(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                       hookd_error *err)
{
    hookd_person *p = NULL;
    if (!hookd_id_valid(req->params[0]))
        return hookd_error_from_rc(err, HOOKD_ENOTFOUND, "person");
    int rc = hookd_store_person_get(ctx->store, req->params[0], &p);
    if (rc)
        return hookd_error_from_rc(err, rc, "person");
    resp->status = 200;
    resp->json = json_pack("{s:s,s:O,s:s?}", "contact_id", p->contact_id, "fields", p->fields,
                           "account_id", p->account_id[0] ? p->account_id : NULL);
    hookd_person_free(p);
    return 0;
}

int hookd_h_account_get(hookd_api_ctx *ctx, const hookd_req *req, hookd_resp *resp,
                        hookd_error *err)
{
    hookd_account *a = NULL;
    if (!hookd_id_valid(req->params[0]))
        return hookd_error_from_rc(err, HOOKD_ENOTFOUND, "account");
    int rc = hookd_store_account_get(ctx->store, req->params[0], &a);
    if (rc)
        return hookd_error_from_rc(err, rc, "account");
    resp->status = 200;
    resp->json = json_pack("{s:s,s:O}", "account_id", a->account_id, "fields", a->fields);
    hookd_account_free(a);
    return 0;
}

#include "delivery/testsend.h"

#include <stdlib.h>
#include <string.h>

#include "delivery/outcome.h"
#include "model/fields.h"
#include "model/payload.h"
#include "util/crypto.h"
#include "util/log.h"
#include "util/timeutil.h"

#define SAMPLE_CONTACT_ID "00000000-0000-7000-8000-000000000000"

/* A plausible value of each type, so the receiver sees every field it will
 * get, in the shape it will get it. */
static json_t *sample_value(hookd_field_type t, const char *now_s)
{
    switch (t) {
    case HOOKD_FT_SST:
        return json_pack("[s]", "sample");
    case HOOKD_FT_U4S:
        return json_pack("[i]", 1);
    case HOOKD_FT_BOL:
        return json_true();
    case HOOKD_FT_INT:
        return json_integer(1000);
    case HOOKD_FT_TME:
        return json_string(now_s);
    case HOOKD_FT_PHN:
        return json_pack("{s:s,s:s}", "c", "61", "n", "400000000");
    case HOOKD_FT_GEO:
        return json_pack("{s:s}", "name", "Sydney");
    case HOOKD_FT_DTZ:
        return json_pack("{s:i,s:i,s:i,s:s}", "year", 1990, "month", 1, "day", 1, "timezone",
                         "UTC");
    default:
        return json_string("sample");
    }
}

/* Sample person and account field maps holding every field of the webhook. */
static void sample_fields(const hookd_webhook *wh, const char *now_s, json_t *person,
                          json_t *account)
{
    json_object_set_new(person, "str::email", json_string("test@example.com"));
    for (size_t i = 0; i < wh->n_fields; i++) {
        const char *id = wh->fields[i].field_id;
        const char *colon = strchr(id, ':');
        hookd_field_type t = hookd_field_type_from_name(id, colon ? (size_t)(colon - id) : 0);
        bool acct = colon && (strncmp(colon, ":o:", 3) == 0 || strncmp(colon, ":oc:", 4) == 0);
        json_object_set_new(acct ? account : person, id, sample_value(t, now_s));
    }
}

json_t *hookd_test_send(const hookd_webhook *wh, const hookd_send_opts *opts, hookd_store *st)
{
    char did[HOOKD_ID_MAX], aid[HOOKD_ID_MAX], now_s[HOOKD_TIME_MAX];
    int64_t now_ns = hookd_now_ns();
    hookd_time_format_s(now_ns / 1000000000LL, now_s);
    if (hookd_id_new(did) != 0 || hookd_id_new(aid) != 0)
        return NULL;
    json_t *person = json_object(), *account = json_object();
    sample_fields(wh, now_s, person, account);
    json_t *activity = json_pack("{s:s,s:s,s:s,s:{}}", "id", aid, "field_id", "act::test_webhook",
                                 "created", now_s, "attr");
    hookd_payload_input in = {.webhook = wh,
                              .kind = HOOKD_KIND_TEST,
                              .delivery_id = did,
                              .time_ns = now_ns,
                              .contact_id = SAMPLE_CONTACT_ID,
                              .person_fields = person,
                              .account_fields = account,
                              .activity = activity};
    json_t *payload = hookd_payload_build(&in);
    json_decref(person);
    json_decref(account);
    json_decref(activity);
    char *query = NULL, *body = NULL;
    json_t *answer = NULL;
    CURL *easy = curl_easy_init();
    hookd_request_tpl tpl = {0};
    hookd_request r = {0};
    if (!payload || !easy || hookd_payload_wire(payload, wh->method, &query, &body) != 0 ||
        hookd_request_tpl_init(&tpl, wh) != 0 ||
        hookd_request_setup(&r, easy, &tpl, did, wh->method, query, body, strlen(body), opts) != 0)
        goto out;
    /* Through a proxy, hookd resolves and judges the host itself; a handler
     * thread may wait for DNS. */
    if (hookd_request_needs_resolve(&r))
        hookd_request_resolve_sync(&r);
    CURLcode code = curl_easy_perform(easy);
    hookd_attempt_result res;
    hookd_request_finish(&r, code, &res);
    bool ok = hookd_outcome_classify(res.status_code, res.refused) == HOOKD_VERDICT_SUCCESS;
    answer = json_pack("{s:b,s:o,s:o,s:I,s:o}", "ok", ok, "status_code",
                       res.status_code ? json_integer(res.status_code) : json_null(),
                       "response_body", res.body ? json_string(res.body) : json_null(),
                       "duration_ms", (json_int_t)res.duration_ms, "error",
                       res.error ? json_string(res.error) : json_null());
    if (st) {
        /* A test is sent once and never retried: its one outcome is final. */
        hookd_ds_event ev = ok ? HOOKD_EV_SUCCEEDED : HOOKD_EV_FAILED;
        hookd_test_record t = {
            .id = did,
            .webhook = wh,
            .created_ms = now_ns / 1000000,
            .method = wh->method,
            .query = query,
            .body = body,
            .state = (hookd_delivery_state)hookd_ds_next(HOOKD_DS_PENDING, ev, false),
            .attempt = {.time_ms = res.started_ms,
                        .status_code = res.status_code,
                        .error = res.error,
                        .duration_ms = res.duration_ms,
                        .response_body = res.body,
                        .version = wh->version,
                        .signature = r.signature},
        };
        if (hookd_store_record_test(st, &t) != 0)
            hookd_log_warn("test send to webhook %s could not be logged", wh->id);
    }
out:
    hookd_request_cleanup(&r);
    hookd_request_tpl_clear(&tpl);
    if (easy)
        curl_easy_cleanup(easy);
    json_decref(payload);
    free(query);
    free(body);
    return answer;
}

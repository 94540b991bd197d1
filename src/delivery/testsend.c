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

hookd_test *hookd_test_new(const hookd_webhook *wh, const hookd_send_opts *opts)
{
    char aid[HOOKD_ID_MAX], now_s[HOOKD_TIME_MAX];
    hookd_test *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    int64_t now_ns = hookd_now_ns();
    hookd_time_format_s(now_ns / 1000000000LL, now_s);
    t->created_ms = now_ns / 1000000;
    t->method = wh->method;
    memcpy(t->webhook_id, wh->id, sizeof t->webhook_id);
    if (hookd_id_new(t->id) != 0 || hookd_id_new(aid) != 0) {
        free(t);
        return NULL;
    }
    json_t *person = json_object(), *account = json_object();
    sample_fields(wh, now_s, person, account);
    json_t *activity = json_pack("{s:s,s:s,s:s,s:{}}", "id", aid, "field_id", "act::test_webhook",
                                 "created", now_s, "attr");
    hookd_payload_input in = {.webhook = wh,
                              .kind = HOOKD_KIND_TEST,
                              .delivery_id = t->id,
                              .time_ns = now_ns,
                              .contact_id = SAMPLE_CONTACT_ID,
                              .person_fields = person,
                              .account_fields = account,
                              .activity = activity};
    json_t *payload = hookd_payload_build(&in);
    json_decref(person);
    json_decref(activity);
    json_decref(account);
    t->easy = curl_easy_init();
    bool made = payload && t->easy &&
                hookd_payload_wire(payload, wh->method, &t->query, &t->body) == 0 &&
                hookd_request_tpl_init(&t->tpl, wh) == 0 &&
                hookd_request_setup(&t->req, t->easy, &t->tpl, t->id, wh->method, t->query,
                                    t->body, strlen(t->body), opts) == 0 &&
                /* Each test opens its own connection, as a test made with
                 * its own easy handle always did: it checks the endpoint as
                 * it is now, and the tester keeps no idle connections. */
                curl_easy_setopt(t->easy, CURLOPT_FRESH_CONNECT, 1L) == CURLE_OK &&
                curl_easy_setopt(t->easy, CURLOPT_FORBID_REUSE, 1L) == CURLE_OK;
    json_decref(payload);
    if (!made) {
        hookd_test_free(t);
        return NULL;
    }
    return t;
}

void hookd_test_finish(hookd_test *t, CURLcode code)
{
    hookd_request_finish(&t->req, code, &t->res);
    t->ok = hookd_outcome_classify(t->res.status_code, t->res.refused) == HOOKD_VERDICT_SUCCESS;
    if (t->res.refused) /* a test send is never counted, but a refusal is always logged */
        hookd_log_warn("test send %s%s%s refused: %s", t->id, t->webhook_id[0] ? " to webhook " : "",
                       t->webhook_id, t->res.error ? t->res.error : "not allowed");
    /* The outcome's strings live in req's own buffers, which stay. */
    hookd_request_cleanup(&t->req);
    curl_easy_cleanup(t->easy);
    t->easy = NULL;
    t->req.easy = NULL;
    hookd_request_tpl_clear(&t->tpl);
}

json_t *hookd_test_answer(const hookd_test *t)
{
    const hookd_attempt_result *res = &t->res;
    return json_pack("{s:b,s:o,s:o,s:I,s:o}", "ok", t->ok, "status_code",
                     res->status_code ? json_integer(res->status_code) : json_null(),
                     "response_body", res->body ? json_string(res->body) : json_null(),
                     "duration_ms", (json_int_t)res->duration_ms, "error",
                     res->error ? json_string(res->error) : json_null());
}

hookd_test_record hookd_test_record_of(const hookd_test *t, const hookd_webhook *wh)
{
    /* A test is sent once and never retried: its one outcome is final. */
    hookd_ds_event ev = t->ok ? HOOKD_EV_SUCCEEDED : HOOKD_EV_FAILED;
    return (hookd_test_record){
        .id = t->id,
        .webhook = wh,
        .created_ms = t->created_ms,
        .method = t->method,
        .query = t->query,
        .body = t->body,
        .state = (hookd_delivery_state)hookd_ds_next(HOOKD_DS_PENDING, ev, false),
        .attempt = {.time_ms = t->res.started_ms,
                    .status_code = t->res.status_code,
                    .error = t->res.error,
                    .duration_ms = t->res.duration_ms,
                    .response_body = t->res.body,
                    .version = wh->version,
                    .signature = t->req.signature},
    };
}

void hookd_test_free(hookd_test *t)
{
    if (!t)
        return;
    if (t->easy) {
        hookd_request_cleanup(&t->req);
        curl_easy_cleanup(t->easy);
        hookd_request_tpl_clear(&t->tpl);
    }
    free(t->query);
    free(t->body);
    free(t);
}

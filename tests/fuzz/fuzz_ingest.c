/*
 * fuzz_ingest.c — libFuzzer driver for the validation of a POST
 * /api/v1/activities body (hookd_activities_check, src/api/handlers.h).
 *
 * The bytes are parsed the way the server parses a request body (jansson,
 * duplicate keys refused); every object that comes out is handed to the
 * validator. That validator is the whole gate between the outside world and
 * the store, so besides "no crash, no leak, no undefined behaviour" the
 * driver checks the contract of its answer: success, or a 400 "invalid" with
 * a message a person can read and a bounded, terminated field path. It also
 * checks that the body is left as it was, because the handler goes on to use
 * the same parsed body after the check.
 *
 * Build and run: `make -f Makefile -f mk/extra.mk fuzz-run` (see mk/extra.mk).
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "util/error.h"

/* A broken invariant is a finding: say which one, then abort so libFuzzer
 * records the input. assert() is not used because NDEBUG would silence it. */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_ingest: invariant failed: %s: ", #cond);                         \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!body)
        return 0; /* the server answers malformed_json before any handler runs */
    if (!json_is_object(body)) {
        json_decref(body);
        return 0; /* so does the server for a body that is not an object */
    }

    json_t *before = json_deep_copy(body);
    FUZZ_CHECK(before != NULL, "json_deep_copy failed");

    /* Filled with a pattern rather than zeros so a validator that fails
     * without filling err cannot pass by luck. */
    hookd_error err;
    memset(&err, 0x5a, sizeof err);
    err.code = NULL;
    err.status = 0;

    int rc = hookd_activities_check(body, &err);
    FUZZ_CHECK(rc == 0 || rc == HOOKD_EINVAL, "rc=%d", rc);
    if (rc != 0) {
        FUZZ_CHECK(err.code != NULL, "failure without an error code");
        FUZZ_CHECK(strcmp(err.code, "invalid") == 0, "code=%s", err.code);
        FUZZ_CHECK(err.status == 400, "status=%d", err.status);
        FUZZ_CHECK(memchr(err.message, '\0', sizeof err.message) != NULL, "message not terminated");
        FUZZ_CHECK(err.message[0] != '\0', "empty message");
        FUZZ_CHECK(memchr(err.field, '\0', sizeof err.field) != NULL, "field not terminated");
    }
    FUZZ_CHECK(json_equal(before, body), "the validator changed its (const) input");

    json_decref(before);
    json_decref(body);
    return 0;
}

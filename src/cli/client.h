/*
 * client.h — a small blocking HTTP client for the command line's talks with a
 * running hookd (libcurl easy): one JSON call, its status and body, and the
 * message of an error answer.
 *
 * Proxies are never taken from the environment (http_proxy would otherwise
 * receive the API key), and only http and https are spoken. The caller owns
 * the client and each answer; free both.
 */
#ifndef HOOKD_CLI_CLIENT_H
#define HOOKD_CLI_CLIENT_H

#include <jansson.h>
#include <stddef.h>

typedef struct hookd_client {
    const char *base; /* "http://127.0.0.1:8080", borrowed */
    const char *key;  /* Bearer key, borrowed; NULL for none */
} hookd_client;

typedef struct hookd_client_answer {
    long status;
    json_t *json; /* the body parsed, or NULL if it was empty or not JSON */
} hookd_client_answer;

/* Calls method base+path with body (JSON, or NULL for none). Returns 0 with
 * *out filled whatever the status, or -1 with a one-line reason in err when
 * no answer came. */
int hookd_client_call(const hookd_client *c, const char *method, const char *path,
                      const json_t *body, hookd_client_answer *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The message of an error answer ({"error":{"message","field"}}), with its
 * field, into buf; or a line naming the status. */
void hookd_client_error_text(const hookd_client_answer *a, char *buf, size_t len);

void hookd_client_answer_clear(hookd_client_answer *a);

#endif

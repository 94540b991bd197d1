/*
 * json.h — JSON helpers shared across layers: the strictness rule every API
 * input follows (unknown keys are refused, docs/api.md), and a fast compact
 * serialiser for the hot path (payload bodies and stored documents).
 */
#ifndef HOOKD_UTIL_JSON_H
#define HOOKD_UTIL_JSON_H

#include <jansson.h>

#include "util/buf.h"
#include "util/error.h"

/* Refuses any key of obj not in allowed (NULL-terminated): a 400 whose field
 * is prefix + "." + key (just the key when prefix is ""). Returns 0 or
 * HOOKD_EINVAL. */
int hookd_json_only_keys(const json_t *obj, const char *const *allowed, const char *prefix,
                         hookd_error *err);

/* jansson's parser drops a byte it cannot append (its lexer ignores a
 * failed growth of its buffer), so a parse short of memory can return a
 * document with a string or a number cut short. hookd_json_setup (once, at
 * start, before any other jansson call) makes jansson's allocations note
 * their failures per thread; hookd_json_loadb is json_loadb that throws
 * away a parse during which one failed and answers NULL with
 * json_error_code(err) == json_error_out_of_memory. Every parse of stored
 * or received JSON goes through it. */
void hookd_json_setup(void);
json_t *hookd_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err);

/* The compact JSON text of v, byte for byte what jansson's
 * json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) writes (UTF-8 kept, keys in
 * insertion order), made in one growing buffer instead of jansson's
 * per-token callbacks — it was a third of ingest time. New string (free()),
 * or NULL if memory ran out. */
char *hookd_json_dumps(const json_t *v);

/* Appends the compact JSON text of v (as hookd_json_dumps writes it) to b;
 * a failure is b's sticky failure. */
void hookd_json_append(hookd_buf *b, const json_t *v);
/* Appends s (n bytes) as a JSON string, quoted and escaped. */
void hookd_json_append_string(hookd_buf *b, const char *s, size_t n);

#endif

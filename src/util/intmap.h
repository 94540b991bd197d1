/*
 * intmap.h — a hash map from non-zero 64-bit integers to pointers (open
 * addressing, linear probing, backward-shift deletion, so no tombstones pile
 * up under churn). The delivery engine keys its webhooks by store key and
 * the deliveries it holds by seq.
 *
 * The map owns its table, not the values. Not thread-safe.
 */
#ifndef HOOKD_UTIL_INTMAP_H
#define HOOKD_UTIL_INTMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct hookd_intmap {
    int64_t *keys; /* 0 marks a free slot */
    void **vals;
    size_t cap;    /* a power of two, or 0 */
    size_t n;
} hookd_intmap;

/* The value of key, or NULL. */
void *hookd_intmap_get(const hookd_intmap *m, int64_t key);
/* Sets key (non-zero) to val (non-NULL). Returns 0, or -1 if memory ran
 * out (the map is unchanged). */
int hookd_intmap_put(hookd_intmap *m, int64_t key, void *val) __attribute__((warn_unused_result));
/* Removes key; returns its value, or NULL if it was not there. */
void *hookd_intmap_del(hookd_intmap *m, int64_t key);
/* Frees the table (not the values). */
void hookd_intmap_free(hookd_intmap *m);

/* Walks every entry: for (size_t i = 0; i < m->cap; i++) if (m->keys[i]) … */

#endif

/*
 * intmap.c — see intmap.h.
 */
#include "util/intmap.h"

#include <stdlib.h>

static size_t slot(int64_t key, size_t cap)
{
    /* Fibonacci hashing spreads sequential keys (seqs) over the table. */
    return (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
}

void *hookd_intmap_get(const hookd_intmap *m, int64_t key)
{
    if (!m->cap || !key)
        return NULL;
    for (size_t i = slot(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key)
            return m->vals[i];
        if (!m->keys[i])
            return NULL;
    }
}

static void insert(int64_t *keys, void **vals, size_t cap, int64_t key, void *val)
{
    size_t i = slot(key, cap);
    while (keys[i] && keys[i] != key)
        i = (i + 1) & (cap - 1);
    keys[i] = key;
    vals[i] = val;
}

static int grow(hookd_intmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    int64_t *keys = calloc(cap, sizeof *keys);
    void **vals = calloc(cap, sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i])
            insert(keys, vals, cap, m->keys[i], m->vals[i]);
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return 0;
}

int hookd_intmap_put(hookd_intmap *m, int64_t key, void *val)
{
    if (!key || !val)
        return -1;
    /* Keep the load under 1/2 so probes stay short. */
    if ((m->n + 1) * 2 > m->cap && grow(m) != 0)
        return -1;
    size_t i = slot(key, m->cap);
    while (m->keys[i] && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    if (!m->keys[i])
        m->n++;
    m->keys[i] = key;
    m->vals[i] = val;
    return 0;
}

void *hookd_intmap_del(hookd_intmap *m, int64_t key)
{
    if (!m->cap || !key)
        return NULL;
    size_t i = slot(key, m->cap);
    while (m->keys[i] != key) {
        if (!m->keys[i])
            return NULL;
        i = (i + 1) & (m->cap - 1);
    }
    void *val = m->vals[i];
    m->n--;
    /* Backward-shift: pull later entries of the run into the hole so every
     * entry stays reachable from its home slot. */
    for (size_t j = (i + 1) & (m->cap - 1); m->keys[j]; j = (j + 1) & (m->cap - 1)) {
        size_t home = slot(m->keys[j], m->cap);
        /* Move j into i unless its home lies cyclically in (i, j]. */
        if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            i = j;
        }
    }
    m->keys[i] = 0;
    m->vals[i] = NULL;
    return val;
}

void hookd_intmap_free(hookd_intmap *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->cap = m->n = 0;
}

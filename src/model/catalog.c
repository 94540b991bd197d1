/*
 * catalog.c — lookups over the activity and attribute catalog.
 *
 * The entries themselves are generated from data/catalog.tsv into
 * build/gen/catalog_data.c (scripts/gen_catalog.awk), in the seed's order,
 * which is the order the catalog endpoints list them in. Lookups by id need a
 * different order, so the first lookup builds, once per process, an array of
 * pointers per table sorted by field_id; every lookup after that is a bsearch.
 * The index is written only inside pthread_once and read-only afterwards, so
 * all functions here are safe from any thread. It is never freed: it lives as
 * long as the tables it points into.
 */
#include "model/catalog.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Defined in the generated build/gen/catalog_data.c. */
extern const hookd_catalog_entry hookd_catalog_activity_table[];
extern const size_t hookd_catalog_activity_count;
extern const hookd_catalog_entry hookd_catalog_attribute_table[];
extern const size_t hookd_catalog_attribute_count;

typedef struct catalog_index {
    const hookd_catalog_entry *table; /* the generated table, seed order */
    size_t count;
    const hookd_catalog_entry **sorted; /* count pointers by field_id; NULL if allocation failed */
} catalog_index;

static catalog_index activity_index;
static catalog_index attribute_index;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static int cmp_entry_ptrs(const void *a, const void *b)
{
    const hookd_catalog_entry *const *ea = a;
    const hookd_catalog_entry *const *eb = b;
    return strcmp((*ea)->field_id, (*eb)->field_id);
}

static int cmp_id_to_entry_ptr(const void *key, const void *elem)
{
    const hookd_catalog_entry *const *e = elem;
    return strcmp(key, (*e)->field_id);
}

static void index_build(catalog_index *ix, const hookd_catalog_entry *table, size_t count)
{
    ix->table = table;
    ix->count = count;
    ix->sorted = malloc(count * sizeof *ix->sorted);
    /* Running out of memory this early leaves the index NULL; lookups then
     * scan the table instead, slower but still right, so no caller has to
     * handle a lookup that "fails" for a valid id. */
    if (!ix->sorted)
        return;
    for (size_t i = 0; i < count; i++)
        ix->sorted[i] = &table[i];
    qsort(ix->sorted, count, sizeof *ix->sorted, cmp_entry_ptrs);
    /* The generator refuses duplicate ids; an exact-id lookup would be
     * ambiguous otherwise. */
    for (size_t i = 1; i < count; i++)
        assert(strcmp(ix->sorted[i - 1]->field_id, ix->sorted[i]->field_id) != 0);
}

static void indexes_build(void)
{
    index_build(&activity_index, hookd_catalog_activity_table, hookd_catalog_activity_count);
    index_build(&attribute_index, hookd_catalog_attribute_table, hookd_catalog_attribute_count);
}

static const hookd_catalog_entry *index_find(const catalog_index *ix, const char *field_id)
{
    if (!field_id)
        return NULL;
    if (ix->sorted) {
        const hookd_catalog_entry *const *hit =
            bsearch(field_id, ix->sorted, ix->count, sizeof *ix->sorted, cmp_id_to_entry_ptr);
        return hit ? *hit : NULL;
    }
    for (size_t i = 0; i < ix->count; i++) {
        if (strcmp(ix->table[i].field_id, field_id) == 0)
            return &ix->table[i];
    }
    return NULL;
}

const hookd_catalog_entry *hookd_catalog_activities(size_t *n)
{
    *n = hookd_catalog_activity_count;
    return hookd_catalog_activity_table;
}

const hookd_catalog_entry *hookd_catalog_attributes(size_t *n)
{
    *n = hookd_catalog_attribute_count;
    return hookd_catalog_attribute_table;
}

const hookd_catalog_entry *hookd_catalog_activity(const char *field_id)
{
    pthread_once(&index_once, indexes_build);
    return index_find(&activity_index, field_id);
}

const hookd_catalog_entry *hookd_catalog_attribute(const char *field_id)
{
    pthread_once(&index_once, indexes_build);
    return index_find(&attribute_index, field_id);
}

bool hookd_catalog_is_email_or_sms(const char *field_id)
{
    const hookd_catalog_entry *e = hookd_catalog_activity(field_id);
    return e && (strcmp(e->group, "Email") == 0 || strcmp(e->group, "SMS") == 0);
}

/*
 * catalog.h — the activity and attribute catalog of the product doc (docs/api.md#catalog):
 * every activity and attribute id of the seed, with its description ("name")
 * and its section ("group").
 *
 * The entries are data: data/catalog.tsv, turned into a C table by the build
 * (scripts/gen_catalog.awk → build/gen/catalog_data.c). Everything here is
 * static and read-only, so it is safe from any thread; returned pointers are
 * borrowed for the life of the process.
 */
#ifndef HOOKD_MODEL_CATALOG_H
#define HOOKD_MODEL_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct hookd_catalog_entry {
    const char *field_id; /* "act::s", "str::s", "str:sr" */
    const char *name;     /* the seed's description: "Person: Sent email" */
    const char *group;    /* its section: "Email", "campaign", … */
} hookd_catalog_entry;

/* All activities / attributes, in the seed's order. */
const hookd_catalog_entry *hookd_catalog_activities(size_t *n);
const hookd_catalog_entry *hookd_catalog_attributes(size_t *n);

/* The entry with this exact id, or NULL. O(log n). */
const hookd_catalog_entry *hookd_catalog_activity(const char *field_id);
const hookd_catalog_entry *hookd_catalog_attribute(const char *field_id);

/* True for a catalog activity of the Email or SMS group (the ones that get
 * "bol::t": true when their campaign is transactional, docs/payload.md). */
bool hookd_catalog_is_email_or_sms(const char *field_id);

#endif

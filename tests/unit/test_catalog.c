/*
 * test_catalog.c — the activity/attribute catalog (src/model/catalog.c) and
 * the data it is generated from (data/catalog.tsv).
 *
 * The counts are hard-coded from a hand count of the seed's tables, so a line
 * lost from the TSV (or by the generator) fails here rather than showing up
 * as a webhook that never fires.
 */
#include "model/catalog.h"
#include "unit.h"

/* Per seed table: Email 20, SMS 38, Push 17, Web and user session 2, Audience
 * and tag 18, Playbook 4, Journey 8, Capture widget 19, Talk 11, WhatsApp 22. */
#define SEED_ACTIVITIES 159
/* campaign 44, push 6, ad 11, playbook 6, unsubscribe 3, web session 23,
 * Talk 35. */
#define SEED_ATTRIBUTES 128

static size_t count_group(const hookd_catalog_entry *t, size_t n, const char *group)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += strcmp(t[i].group, group) == 0;
    return c;
}

/* Looks id up with lookup and checks the entry it finds, reporting the
 * caller's line on failure. */
#define CHECK_ENTRY(lookup, id, want_group, want_name)                                             \
    do {                                                                                           \
        const hookd_catalog_entry *e_ = lookup(id);                                                \
        CHECK(e_ != NULL);                                                                         \
        if (e_) {                                                                                  \
            CHECK_STR(e_->field_id, id);                                                           \
            CHECK_STR(e_->group, want_group);                                                      \
            CHECK_STR(e_->name, want_name);                                                        \
        }                                                                                          \
    } while (0)

TEST(catalog_counts)
{
    size_t nact = 0, nattr = 0;
    const hookd_catalog_entry *act = hookd_catalog_activities(&nact);
    const hookd_catalog_entry *attr = hookd_catalog_attributes(&nattr);
    CHECK(act != NULL);
    CHECK(attr != NULL);
    CHECK_INT(nact, SEED_ACTIVITIES);
    CHECK_INT(nattr, SEED_ATTRIBUTES);

    CHECK_INT(count_group(act, nact, "Email"), 20);
    CHECK_INT(count_group(act, nact, "SMS"), 38);
    CHECK_INT(count_group(act, nact, "Push"), 17);
    CHECK_INT(count_group(act, nact, "Web and user session"), 2);
    CHECK_INT(count_group(act, nact, "Audience and tag"), 18);
    CHECK_INT(count_group(act, nact, "Playbook"), 4);
    CHECK_INT(count_group(act, nact, "Journey"), 8);
    CHECK_INT(count_group(act, nact, "Capture widget"), 19);
    CHECK_INT(count_group(act, nact, "Talk"), 11);
    CHECK_INT(count_group(act, nact, "WhatsApp"), 22);

    CHECK_INT(count_group(attr, nattr, "campaign"), 44);
    CHECK_INT(count_group(attr, nattr, "push"), 6);
    CHECK_INT(count_group(attr, nattr, "ad"), 11);
    CHECK_INT(count_group(attr, nattr, "playbook"), 6);
    CHECK_INT(count_group(attr, nattr, "unsubscribe"), 3);
    CHECK_INT(count_group(attr, nattr, "web session"), 23);
    CHECK_INT(count_group(attr, nattr, "Talk"), 35);
}

TEST(catalog_seed_order)
{
    size_t nact = 0, nattr = 0;
    const hookd_catalog_entry *act = hookd_catalog_activities(&nact);
    const hookd_catalog_entry *attr = hookd_catalog_attributes(&nattr);
    if (nact != SEED_ACTIVITIES || nattr != SEED_ATTRIBUTES)
        return; /* catalog_counts reports it; indexing below would overrun */

    CHECK_STR(act[0].field_id, "act::s");
    CHECK_STR(act[1].field_id, "act::c");
    CHECK_STR(act[20].field_id, "act::ss"); /* first after the 20 Email entries */
    CHECK_STR(act[nact - 1].field_id, "act:o:waoo-a");

    CHECK_STR(attr[0].field_id, "idt::a");
    CHECK_STR(attr[43].field_id, "u4s::t");
    CHECK_STR(attr[44].field_id, "str::prs");
    CHECK_STR(attr[nattr - 1].field_id, "sst::tags");
}

TEST(catalog_activity_lookup)
{
    /* First, middle and last of several tables. */
    CHECK_ENTRY(hookd_catalog_activity, "act::s", "Email", "Person: Sent email");
    CHECK_ENTRY(hookd_catalog_activity, "act::d", "Email", "Person: Deferred email");
    CHECK_ENTRY(hookd_catalog_activity, "act:o:d", "Email", "Account: Deferred email");
    CHECK_ENTRY(hookd_catalog_activity, "act::ss", "SMS", "Person: Sent SMS");
    CHECK_ENTRY(hookd_catalog_activity, "act::oos-all", "SMS", "Person: Opted out from all SMS");
    CHECK_ENTRY(hookd_catalog_activity, "act:o:scf", "SMS", "Account: SMS consent failed");
    CHECK_ENTRY(hookd_catalog_activity, "act::sph", "Push", "Sent push");
    CHECK_ENTRY(hookd_catalog_activity, "act::oows-a", "Push", "Opted out of to web push audience");
    CHECK_ENTRY(hookd_catalog_activity, "act::iws-ab", "Push", "Web push subscription abuse");
    CHECK_ENTRY(hookd_catalog_activity, "act::ws", "Web and user session", "Website session");
    CHECK_ENTRY(hookd_catalog_activity, "act::us", "Web and user session", "User session");
    CHECK_ENTRY(hookd_catalog_activity, "act::enter-audience", "Audience and tag",
                "Person: Entered audience");
    CHECK_ENTRY(hookd_catalog_activity, "act:o:s-ab", "Audience and tag",
                "Account: Abuse reported");
    CHECK_ENTRY(hookd_catalog_activity, "act::ep", "Playbook", "Entered playbook");
    CHECK_ENTRY(hookd_catalog_activity, "act::fpa", "Playbook", "Failed playbook action");
    CHECK_ENTRY(hookd_catalog_activity, "act::ej", "Journey", "Person: Entered journey");
    CHECK_ENTRY(hookd_catalog_activity, "act:o:foja", "Journey",
                "Account: Failed account journey action");
    CHECK_ENTRY(hookd_catalog_activity, "act::cw", "Capture widget", "Person: Clicked widget");
    CHECK_ENTRY(hookd_catalog_activity, "act:o:swnps", "Capture widget", "Account: Submitted NPS");
    CHECK_ENTRY(hookd_catalog_activity, "act:o:wwv", "Capture widget",
                "Account: Watched widget video");
    CHECK_ENTRY(hookd_catalog_activity, "act::cop", "Talk", "Conversation opened");
    CHECK_ENTRY(hookd_catalog_activity, "act::cut", "Talk", "Conversation un-tagged");
    CHECK_ENTRY(hookd_catalog_activity, "act::wasa", "WhatsApp", "Person: Accepted WhatsApp");
    CHECK_ENTRY(hookd_catalog_activity, "act:o:waoo-a", "WhatsApp",
                "Account: Unsubscribed from WhatsApp audience");

    /* Activities and attributes are separate namespaces. */
    CHECK(hookd_catalog_activity("str::s") == NULL);
    CHECK(hookd_catalog_attribute("act::s") == NULL);
}

TEST(catalog_attribute_lookup)
{
    CHECK_ENTRY(hookd_catalog_attribute, "idt::a", "campaign", "Audience ID");
    CHECK_ENTRY(hookd_catalog_attribute, "idt::jri", "campaign",
                "Journey run ID This identifies the specific entry in the journey. So if a journey "
                "can be entered multiple times, you can tell the difference between each entry.");
    CHECK_ENTRY(hookd_catalog_attribute, "bol::t", "campaign",
                "Set to true if the campaign is transactional; not included if it's "
                "non-transactional.");
    CHECK_ENTRY(hookd_catalog_attribute, "u4s::t", "campaign", "Tag IDs");
    CHECK_ENTRY(hookd_catalog_attribute, "str::prs", "push", "Push response");
    CHECK_ENTRY(hookd_catalog_attribute, "str::sdkv", "push", "SDK version");
    CHECK_ENTRY(hookd_catalog_attribute, "str::aclid", "ad", "Ad click ID");
    CHECK_ENTRY(hookd_catalog_attribute, "bol::aa", "ad", "Ad anonymous user");
    CHECK_ENTRY(hookd_catalog_attribute, "str::at", "playbook", "Display title action ID");
    CHECK_ENTRY(hookd_catalog_attribute, "str::pal", "playbook", "Action log message");
    CHECK_ENTRY(hookd_catalog_attribute, "str::mrn", "unsubscribe", "Message data missing reason");
    CHECK_ENTRY(hookd_catalog_attribute, "str::rno", "unsubscribe", "Reason (other)");
    CHECK_ENTRY(hookd_catalog_attribute, "int::pv", "web session", "Pages visited");
    CHECK_ENTRY(hookd_catalog_attribute, "int:sw", "web session", "Screen width");
    CHECK_ENTRY(hookd_catalog_attribute, "bol:ts", "web session", "Touch screen");
    CHECK_ENTRY(hookd_catalog_attribute, "idt::cid", "Talk", "Conversation ID");
    CHECK_ENTRY(hookd_catalog_attribute, "int::crt", "Talk", "Conversation rating");
    CHECK_ENTRY(hookd_catalog_attribute, "sst::tags", "Talk", "Conversation tags");

    /* Same name, different type: separate entries. */
    CHECK_ENTRY(hookd_catalog_attribute, "str::cs", "Talk", "Conversation source");
    CHECK_ENTRY(hookd_catalog_attribute, "bol::cs", "Talk", "Conversation secure");
}

TEST(catalog_single_colon_ids)
{
    /* The seed spells some web session ids with one colon; they are kept as
     * given and are not the same ids as their two-colon look-alikes. */
    const hookd_catalog_entry *one = hookd_catalog_attribute("str:sr");
    const hookd_catalog_entry *two = hookd_catalog_attribute("str::sr");
    CHECK(one != NULL);
    CHECK(two != NULL);
    CHECK(one != two);
    if (one && two) {
        CHECK_STR(one->name, "Screen resolution");
        CHECK_STR(one->group, "web session");
        CHECK_STR(two->name, "Skipped reason or SMS response (depending on activity context)");
        CHECK_STR(two->group, "campaign");
    }
    CHECK_ENTRY(hookd_catalog_attribute, "int:sr", "web session", "Screen pixel ratio");
    CHECK(hookd_catalog_attribute("int::sr") == NULL);
    CHECK(hookd_catalog_attribute("bol::ts") == NULL);
}

TEST(catalog_unknown_ids)
{
    CHECK(hookd_catalog_activity("act::nope") == NULL);
    CHECK(hookd_catalog_activity("") == NULL);
    CHECK(hookd_catalog_activity("act::S") == NULL); /* ids are case-sensitive */
    CHECK(hookd_catalog_activity("act::s ") == NULL);
    CHECK(hookd_catalog_activity("act::") == NULL);
    CHECK(hookd_catalog_activity("act:cm:s") == NULL);
    CHECK(hookd_catalog_activity(NULL) == NULL);
    CHECK(hookd_catalog_attribute("str::nope") == NULL);
    CHECK(hookd_catalog_attribute("") == NULL);
    CHECK(hookd_catalog_attribute("STR::S") == NULL);
    CHECK(hookd_catalog_attribute(NULL) == NULL);
    /* Just past either end of the sorted order. */
    CHECK(hookd_catalog_activity("a") == NULL);
    CHECK(hookd_catalog_activity("zzz") == NULL);
    CHECK(hookd_catalog_attribute("a") == NULL);
    CHECK(hookd_catalog_attribute("zzz") == NULL);
}

TEST(catalog_is_email_or_sms)
{
    CHECK(hookd_catalog_is_email_or_sms("act::s"));
    CHECK(hookd_catalog_is_email_or_sms("act:o:d"));
    CHECK(hookd_catalog_is_email_or_sms("act::ss"));
    CHECK(hookd_catalog_is_email_or_sms("act:o:scf"));
    CHECK(hookd_catalog_is_email_or_sms("act::sf")); /* "Submitted form", but in the SMS table */

    CHECK(!hookd_catalog_is_email_or_sms("act::sph"));
    CHECK(!hookd_catalog_is_email_or_sms("act::ws"));
    CHECK(!hookd_catalog_is_email_or_sms("act::wasa"));
    CHECK(!hookd_catalog_is_email_or_sms("act::u-all")); /* about email, but Audience and tag */
    CHECK(!hookd_catalog_is_email_or_sms("act::nope"));
    CHECK(!hookd_catalog_is_email_or_sms("act:cm:s"));
    CHECK(!hookd_catalog_is_email_or_sms("str::s"));
    CHECK(!hookd_catalog_is_email_or_sms(""));
    CHECK(!hookd_catalog_is_email_or_sms(NULL));

    /* Exactly the 58 entries of the two groups. */
    size_t n = 0, yes = 0;
    const hookd_catalog_entry *act = hookd_catalog_activities(&n);
    for (size_t i = 0; i < n; i++)
        yes += hookd_catalog_is_email_or_sms(act[i].field_id);
    CHECK_INT(yes, 20 + 38);
}

TEST(catalog_activity_ids_prefixed)
{
    size_t n = 0;
    const hookd_catalog_entry *act = hookd_catalog_activities(&n);
    for (size_t i = 0; i < n; i++) {
        if (strncmp(act[i].field_id, "act:", 4) != 0)
            unit_fail(__FILE__, __LINE__, "activity %zu \"%s\" does not start with act:", i,
                      act[i].field_id);
    }
    /* And no attribute is an activity id. */
    const hookd_catalog_entry *attr = hookd_catalog_attributes(&n);
    for (size_t i = 0; i < n; i++) {
        if (strncmp(attr[i].field_id, "act:", 4) == 0)
            unit_fail(__FILE__, __LINE__, "attribute %zu \"%s\" starts with act:", i,
                      attr[i].field_id);
    }
}

static void check_unique_and_findable(const hookd_catalog_entry *t, size_t n,
                                      const hookd_catalog_entry *(*lookup)(const char *),
                                      const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (!t[i].field_id[0] || !t[i].name[0] || !t[i].group[0])
            unit_fail(__FILE__, __LINE__, "%s %zu has an empty field", what, i);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(t[i].field_id, t[j].field_id) == 0)
                unit_fail(__FILE__, __LINE__, "%s \"%s\" at %zu and %zu", what, t[i].field_id, j,
                          i);
        }
        /* Every entry is found by its own id, and the lookup answers with the
         * table's own entry, not a copy. */
        if (lookup(t[i].field_id) != &t[i])
            unit_fail(__FILE__, __LINE__, "%s \"%s\" not found by lookup", what, t[i].field_id);
    }
}

TEST(catalog_ids_unique)
{
    size_t n = 0;
    const hookd_catalog_entry *act = hookd_catalog_activities(&n);
    check_unique_and_findable(act, n, hookd_catalog_activity, "activity");
    const hookd_catalog_entry *attr = hookd_catalog_attributes(&n);
    check_unique_and_findable(attr, n, hookd_catalog_attribute, "attribute");
}

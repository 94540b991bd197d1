/* Unit tests for src/delivery/guard: every range boundary of docs/api.md#delivery's
 * outbound address guard, the IPv4-embedding IPv6 forms, the why text, the
 * CIDR parser and --allow-networks lists. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/un.h>

#include "delivery/guard.h"
#include "unit.h"

/* Fills ss with the address text (IPv4 or IPv6) and returns its length, or 0
 * when the text is not an address (a bug in the test table). */
static socklen_t make_addr(const char *text, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(443);
        return sizeof *sin;
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(443);
        return sizeof *sin6;
    }
    return 0;
}

/* kind is the word the why text must carry for a refused address (and form
 * the embedding named, if any); kind NULL means the address is allowed. Each
 * refused range has its first and last address, and the addresses just
 * outside it where those are not in another range. */
static const struct {
    const char *addr;
    const char *kind;
    const char *form;
} CASES[] = {
    /* 0/8 */
    {"0.0.0.0", "unspecified", NULL},
    {"0.255.255.255", "unspecified", NULL},
    {"1.0.0.0", NULL, NULL},
    /* 10/8 */
    {"10.0.0.0", "private", NULL},
    {"10.255.255.255", "private", NULL},
    {"9.255.255.255", NULL, NULL},
    {"11.0.0.0", NULL, NULL},
    /* 100.64/10 */
    {"100.64.0.0", "carrier-grade NAT", NULL},
    {"100.127.255.255", "carrier-grade NAT", NULL},
    {"100.63.255.255", NULL, NULL},
    {"100.128.0.0", NULL, NULL},
    /* 127/8 */
    {"127.0.0.0", "loopback", NULL},
    {"127.0.0.1", "loopback", NULL},
    {"127.255.255.255", "loopback", NULL},
    {"126.255.255.255", NULL, NULL},
    {"128.0.0.0", NULL, NULL},
    /* 169.254/16 */
    {"169.254.0.0", "link-local", NULL},
    {"169.254.169.254", "link-local", NULL},
    {"169.254.255.255", "link-local", NULL},
    {"169.253.255.255", NULL, NULL},
    {"169.255.0.0", NULL, NULL},
    /* 172.16/12 */
    {"172.16.0.0", "private", NULL},
    {"172.31.255.255", "private", NULL},
    {"172.15.255.255", NULL, NULL},
    {"172.32.0.0", NULL, NULL},
    /* 192.0.0/24 */
    {"192.0.0.0", "IETF protocol assignments", NULL},
    {"192.0.0.255", "IETF protocol assignments", NULL},
    {"191.255.255.255", NULL, NULL},
    {"192.0.1.0", NULL, NULL},
    /* 192.0.2/24 */
    {"192.0.2.0", "documentation", NULL},
    {"192.0.2.255", "documentation", NULL},
    {"192.0.1.255", NULL, NULL},
    {"192.0.3.0", NULL, NULL},
    /* 192.168/16 */
    {"192.168.0.0", "private", NULL},
    {"192.168.255.255", "private", NULL},
    {"192.167.255.255", NULL, NULL},
    {"192.169.0.0", NULL, NULL},
    /* 198.18/15 */
    {"198.18.0.0", "benchmarking", NULL},
    {"198.19.255.255", "benchmarking", NULL},
    {"198.17.255.255", NULL, NULL},
    {"198.20.0.0", NULL, NULL},
    /* 198.51.100/24 */
    {"198.51.100.0", "documentation", NULL},
    {"198.51.100.255", "documentation", NULL},
    {"198.51.99.255", NULL, NULL},
    {"198.51.101.0", NULL, NULL},
    /* 203.0.113/24 */
    {"203.0.113.0", "documentation", NULL},
    {"203.0.113.255", "documentation", NULL},
    {"203.0.112.255", NULL, NULL},
    {"203.0.114.0", NULL, NULL},
    /* 224/4 */
    {"224.0.0.0", "multicast", NULL},
    {"239.255.255.255", "multicast", NULL},
    {"223.255.255.255", NULL, NULL},
    /* 240/4, and the broadcast address inside it named as such */
    {"240.0.0.0", "reserved", NULL},
    {"255.255.255.254", "reserved", NULL},
    {"255.255.255.255", "broadcast", NULL},
    /* public */
    {"8.8.8.8", NULL, NULL},
    {"1.1.1.1", NULL, NULL},
    /* IPv6 :: and ::1 */
    {"::", "unspecified", NULL},
    {"::1", "loopback", NULL},
    /* fe80::/10 */
    {"fe80::", "link-local", NULL},
    {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "link-local", NULL},
    {"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL, NULL},
    {"fec0::", NULL, NULL},
    /* fc00::/7 */
    {"fc00::", "unique-local", NULL},
    {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "unique-local", NULL},
    {"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL, NULL},
    {"fe00::", NULL, NULL},
    /* ff00::/8 */
    {"ff00::", "multicast", NULL},
    {"ff02::1", "multicast", NULL},
    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "multicast", NULL},
    {"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL, NULL},
    /* 2001:db8::/32 */
    {"2001:db8::", "documentation", NULL},
    {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "documentation", NULL},
    {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", NULL, NULL},
    {"2001:db9::", NULL, NULL},
    /* IPv4-mapped ::ffff:0:0/96 */
    {"::ffff:127.0.0.1", "loopback", "IPv4-mapped"},
    {"::ffff:10.0.0.1", "private", "IPv4-mapped"},
    {"::ffff:100.64.0.1", "carrier-grade NAT", "IPv4-mapped"},
    {"::ffff:169.254.169.254", "link-local", "IPv4-mapped"},
    {"::ffff:0.0.0.0", "unspecified", "IPv4-mapped"},
    {"::ffff:255.255.255.255", "broadcast", "IPv4-mapped"},
    {"::ffff:8.8.8.8", NULL, NULL},
    {"::fffe:127.0.0.1", NULL, NULL}, /* ::fffe:7f00:1 sits outside every embedding */
    {"::1:ffff:127.0.0.1", NULL, NULL},
    /* IPv4-compatible ::/96 (:: and ::1 are judged as themselves above) */
    {"::127.0.0.1", "loopback", "IPv4-compatible"},
    {"::10.1.2.3", "private", "IPv4-compatible"},
    {"::2", "unspecified", "IPv4-compatible"},
    {"::8.8.8.8", NULL, NULL},
    /* NAT64 64:ff9b::/96 */
    {"64:ff9b::7f00:1", "loopback", "NAT64"},
    {"64:ff9b::a00:1", "private", "NAT64"},
    {"64:ff9b::c000:201", "documentation", "NAT64"},
    {"64:ff9b::808:808", NULL, NULL},
    {"64:ff9b:1::7f00:1", NULL, NULL}, /* the local-use /48, not the well-known /96 */
    /* 6to4 2002::/16, the IPv4 address in bits 16-47 */
    {"2002:7f00:1::", "loopback", "6to4"},
    {"2002:7f00:1:1:1:1:1:1", "loopback", "6to4"},
    {"2002:c0a8:101::1", "private", "6to4"},
    {"2002:a9fe:a9fe::", "link-local", "6to4"},
    {"2002:808:808::", NULL, NULL},
    {"2003:7f00:1::", NULL, NULL},
    /* public IPv6 */
    {"2001:4860:4860::8888", NULL, NULL},
    {"2606:4700::1111", NULL, NULL},
};

TEST(guard_ranges)
{
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        struct sockaddr_storage ss;
        socklen_t len = make_addr(CASES[i].addr, &ss);
        if (len == 0) {
            unit_fail(__FILE__, __LINE__, "bad test address %s", CASES[i].addr);
            continue;
        }
        char why[256] = "";
        bool ok = hookd_guard_allowed((struct sockaddr *)&ss, len, false, why, sizeof why);
        if (ok != (CASES[i].kind == NULL)) {
            unit_fail(__FILE__, __LINE__, "%s: allowed %d, expected %d (%s)", CASES[i].addr, ok,
                      CASES[i].kind == NULL, why);
            continue;
        }
        if (ok)
            continue;
        /* The why text names the address as inet_ntop prints it; the table
         * spells every address that way. */
        if (!strstr(why, "not allowed") || !strstr(why, CASES[i].addr) ||
            !strstr(why, CASES[i].kind) || (CASES[i].form && !strstr(why, CASES[i].form)))
            unit_fail(__FILE__, __LINE__, "%s: why \"%s\"", CASES[i].addr, why);
    }
}

TEST(guard_allow_private_allows_every_ip)
{
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        struct sockaddr_storage ss;
        socklen_t len = make_addr(CASES[i].addr, &ss);
        char why[256] = "";
        if (!hookd_guard_allowed((struct sockaddr *)&ss, len, true, why, sizeof why))
            unit_fail(__FILE__, __LINE__, "%s refused with allow_private: %s", CASES[i].addr, why);
    }
}

/* Judges addr under --allow-networks list (no --allow-private-networks). */
static bool allowed_with(const char *list, const char *addr)
{
    hookd_netlist l;
    char err[200] = "";
    if (hookd_netlist_parse(list, &l, err, sizeof err) != 0) {
        unit_fail(__FILE__, __LINE__, "list %s: %s", list, err);
        return false;
    }
    struct sockaddr_storage ss;
    socklen_t len = make_addr(addr, &ss);
    hookd_guard_policy p = {.allow = &l};
    char why[256] = "";
    bool ok = len && hookd_guard_check((struct sockaddr *)&ss, len, &p, why, sizeof why);
    if (!ok && !strstr(why, "not allowed"))
        unit_fail(__FILE__, __LINE__, "%s refused without a why: %s", addr, why);
    hookd_netlist_free(&l);
    return ok;
}

TEST(guard_allow_networks)
{
    /* an IPv4 network opens its addresses and every IPv6 form of them */
    CHECK(allowed_with("127.0.0.0/8", "127.0.0.1"));
    CHECK(allowed_with("127.0.0.0/8", "127.255.255.255"));
    CHECK(allowed_with("127.0.0.0/8", "::ffff:127.0.0.1"));
    CHECK(allowed_with("127.0.0.0/8", "::127.0.0.1"));
    CHECK(allowed_with("127.0.0.0/8", "64:ff9b::7f00:1"));
    CHECK(allowed_with("127.0.0.0/8", "2002:7f00:1::"));
    CHECK(!allowed_with("127.0.0.0/8", "10.0.0.1"));
    CHECK(!allowed_with("127.0.0.0/8", "::1")); /* IPv6 loopback is another network */
    CHECK(!allowed_with("127.0.0.0/8", "::ffff:10.0.0.1"));
    /* a single address, the prefix implied */
    CHECK(allowed_with("127.0.0.1", "127.0.0.1"));
    CHECK(!allowed_with("127.0.0.1", "127.0.0.2"));
    CHECK(allowed_with("127.0.0.1/32", "127.0.0.1"));
    CHECK(!allowed_with("127.0.0.1/32", "127.0.0.0"));
    CHECK(allowed_with("::1", "::1"));
    CHECK(!allowed_with("::1", "127.0.0.1"));
    /* boundaries of a network that is not byte-aligned */
    CHECK(allowed_with("10.1.0.0/17", "10.1.0.0"));
    CHECK(allowed_with("10.1.0.0/17", "10.1.127.255"));
    CHECK(!allowed_with("10.1.0.0/17", "10.1.128.0"));
    CHECK(!allowed_with("10.1.0.0/17", "10.0.255.255"));
    CHECK(allowed_with("100.64.0.0/10", "100.127.255.255"));
    /* IPv6 networks */
    CHECK(allowed_with("fd00::/8", "fd12:3456::1"));
    CHECK(!allowed_with("fd00::/8", "fc00::1"));
    CHECK(allowed_with("fe80::/10", "febf::1"));
    CHECK(allowed_with("::ffff:0:0/96", "::ffff:10.0.0.1")); /* the IPv6 form opened as such */
    CHECK(!allowed_with("::ffff:0:0/96", "10.0.0.1"));
    /* several items, spaces allowed around them */
    CHECK(allowed_with("10.0.0.0/8, fd00::/8 ,192.168.1.0/24", "192.168.1.7"));
    CHECK(allowed_with("10.0.0.0/8, fd00::/8 ,192.168.1.0/24", "fd00::7"));
    CHECK(!allowed_with("10.0.0.0/8, fd00::/8 ,192.168.1.0/24", "192.168.2.7"));
    /* everything of one family */
    CHECK(allowed_with("0.0.0.0/0", "255.255.255.255"));
    CHECK(!allowed_with("0.0.0.0/0", "::1"));
    CHECK(allowed_with("::/0", "::1"));
    /* public addresses stay allowed */
    CHECK(allowed_with("10.0.0.0/8", "8.8.8.8"));
}

TEST(guard_policy_null_and_private)
{
    struct sockaddr_storage ss;
    socklen_t len = make_addr("10.0.0.1", &ss);
    char why[256] = "";
    CHECK(!hookd_guard_check((struct sockaddr *)&ss, len, NULL, why, sizeof why));
    hookd_guard_policy p = {.allow_private = true};
    CHECK(hookd_guard_check((struct sockaddr *)&ss, len, &p, why, sizeof why));
    hookd_netlist empty = {0};
    p = (hookd_guard_policy){.allow = &empty};
    CHECK(!hookd_guard_check((struct sockaddr *)&ss, len, &p, why, sizeof why));
}

/* Parses s as a whole string. */
static int cidr(const char *s, hookd_cidr *c)
{
    return hookd_cidr_parse(s, strlen(s), c);
}

TEST(cidr_parse_valid)
{
    hookd_cidr c;
    CHECK_INT(cidr("10.0.0.0/8", &c), 0);
    CHECK_INT(c.family, AF_INET);
    CHECK_INT(c.prefix, 8);
    CHECK(c.addr[0] == 10 && c.addr[1] == 0 && c.addr[2] == 0 && c.addr[3] == 0);
    CHECK_INT(cidr("1.2.3.4", &c), 0);
    CHECK_INT(c.prefix, 32);
    CHECK_INT(cidr("1.2.3.4/32", &c), 0);
    CHECK_INT(c.prefix, 32);
    CHECK_INT(cidr("0.0.0.0/0", &c), 0);
    CHECK_INT(c.prefix, 0);
    CHECK_INT(cidr("128.0.0.0/1", &c), 0);
    CHECK_INT(cidr("255.255.255.255/32", &c), 0);
    CHECK_INT(cidr("10.1.128.0/17", &c), 0);
    CHECK_INT(c.prefix, 17);
    CHECK_INT(cidr("::1", &c), 0);
    CHECK_INT(c.family, AF_INET6);
    CHECK_INT(c.prefix, 128);
    CHECK_INT(cidr("::/0", &c), 0);
    CHECK_INT(c.prefix, 0);
    CHECK_INT(cidr("fd00::/8", &c), 0);
    CHECK_INT(c.prefix, 8);
    CHECK_INT(c.addr[0], 0xfd);
    CHECK_INT(cidr("2001:db8::/32", &c), 0);
    CHECK_INT(cidr("::ffff:0:0/96", &c), 0);
    CHECK_INT(cidr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", &c), 0);
    /* only len bytes are read */
    CHECK_INT(hookd_cidr_parse("10.0.0.0/8,junk", 10, &c), 0);
    CHECK_INT(c.prefix, 8);
}

TEST(cidr_parse_invalid)
{
    static const char *const BAD[] = {
        "", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/08", "10.0.0.0/-1",
        "10.0.0.0/+8", "10.0.0.0/8/8", "10.0.0.0/ 8", " 10.0.0.0/8", "10.0.0.0/8 ",
        "10.0.0.0/1000", "10.0.0.0/8x", "10.0.0.0/0x8",
        /* host bits set past the prefix */
        "10.1.0.0/8", "10.1.2.3/16", "10.1.128.0/16", "fd00::1/8", "::ffff:1.2.3.4/96",
        "128.0.0.0/0",
        /* spellings other parsers read differently */
        "0x7f.0.0.1", "0x7f000001", "2130706433", "127.1", "127.0.1", "0177.0.0.1",
        "010.0.0.0/8", "1.2.3.4.5", "1.2.3", "256.0.0.0", "fe80::1%eth0/64", "fe80::1%1",
        "[::1]", "[::1]/128", ":::/0", "1::2::3", "localhost", "10.0.0.0/8,10.0.0.0/8",
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        hookd_cidr c;
        if (cidr(BAD[i], &c) == 0)
            unit_fail(__FILE__, __LINE__, "'%s' accepted (prefix %u)", BAD[i], c.prefix);
    }
    hookd_cidr c;
    /* a NUL inside the given length, and text longer than any network */
    CHECK(hookd_cidr_parse("10.0.0.0\0/8", 11, &c) != 0);
    char longer[200];
    memset(longer, '1', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    CHECK(cidr(longer, &c) != 0);
    CHECK(hookd_cidr_parse(NULL, 0, &c) != 0);
}

TEST(cidr_contains_families)
{
    hookd_cidr all4, all6;
    CHECK_INT(cidr("0.0.0.0/0", &all4), 0);
    CHECK_INT(cidr("::/0", &all6), 0);
    unsigned char v4[16] = {8, 8, 8, 8}, v6[16] = {0x20, 0x01};
    CHECK(hookd_cidr_contains(&all4, AF_INET, v4));
    CHECK(!hookd_cidr_contains(&all4, AF_INET6, v6));
    CHECK(hookd_cidr_contains(&all6, AF_INET6, v6));
    CHECK(!hookd_cidr_contains(&all6, AF_INET, v4));
}

TEST(netlist_parse)
{
    hookd_netlist l;
    char err[200] = "";
    CHECK_INT(hookd_netlist_parse("10.0.0.0/8", &l, err, sizeof err), 0);
    CHECK_INT(l.n, 1);
    hookd_netlist_free(&l);
    CHECK_INT(hookd_netlist_parse(" 10.0.0.0/8 ,\tfd00::/8,127.0.0.1 ", &l, err, sizeof err), 0);
    CHECK_INT(l.n, 3);
    CHECK_INT(l.items[1].family, AF_INET6);
    CHECK_INT(l.items[2].prefix, 32);
    hookd_netlist_free(&l);
    CHECK_INT(l.n, 0);
    hookd_netlist_free(&l); /* twice is harmless */

    static const struct {
        const char *list, *names;
    } BAD[] = {
        {"", "empty"},
        {" ", "empty"},
        {",10.0.0.0/8", "empty"},
        {"10.0.0.0/8,", "empty"},
        {"10.0.0.0/8,,::1", "empty"},
        {"10.0.0.0/8,bogus", "'bogus'"},
        {"10.0.0.0/8, 10.1.2.3/16 ,::1", "'10.1.2.3/16'"},
        {"fd00::/8;10.0.0.0/8", "'fd00::/8;10.0.0.0/8'"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        err[0] = '\0';
        if (hookd_netlist_parse(BAD[i].list, &l, err, sizeof err) == 0) {
            unit_fail(__FILE__, __LINE__, "'%s' accepted", BAD[i].list);
            hookd_netlist_free(&l);
            continue;
        }
        if (!strstr(err, BAD[i].names))
            unit_fail(__FILE__, __LINE__, "'%s': error '%s' does not name %s", BAD[i].list, err,
                      BAD[i].names);
        CHECK(l.items == NULL && l.n == 0);
    }
}

TEST(guard_why_texts)
{
    struct sockaddr_storage ss;
    char why[256] = "";
    socklen_t len = make_addr("127.0.0.1", &ss);
    CHECK(!hookd_guard_allowed((struct sockaddr *)&ss, len, false, why, sizeof why));
    CHECK_STR(why, "address 127.0.0.1 is not allowed: loopback "
                   "(open it with --allow-networks or --allow-private-networks)");
    len = make_addr("::ffff:10.0.0.1", &ss);
    CHECK(!hookd_guard_allowed((struct sockaddr *)&ss, len, false, why, sizeof why));
    CHECK(strncmp(why, "address ::ffff:10.0.0.1 is not allowed: private (IPv4-mapped)",
                  strlen("address ::ffff:10.0.0.1 is not allowed: private (IPv4-mapped)")) == 0);
}

TEST(guard_why_optional_and_bounded)
{
    struct sockaddr_storage ss;
    socklen_t len = make_addr("fe80::1", &ss);
    CHECK(!hookd_guard_allowed((struct sockaddr *)&ss, len, false, NULL, 0));
    CHECK(!hookd_guard_allowed((struct sockaddr *)&ss, len, false, NULL, 64));
    /* A short buffer gets a truncated but terminated sentence; ASan catches
     * any write past it. */
    char small[12];
    memset(small, 'x', sizeof small);
    CHECK(!hookd_guard_allowed((struct sockaddr *)&ss, len, false, small, sizeof small));
    CHECK_INT(strlen(small), sizeof small - 1);
    CHECK(strncmp(small, "address fe8", sizeof small - 1) == 0);
    char one[1] = {'x'};
    CHECK(!hookd_guard_allowed((struct sockaddr *)&ss, len, false, one, sizeof one));
    CHECK_INT(one[0], '\0');
}

TEST(guard_other_families_refused)
{
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, "/tmp/sock", sizeof "/tmp/sock");
    char why[256] = "";
    CHECK(!hookd_guard_allowed((struct sockaddr *)&sun, sizeof sun, false, why, sizeof why));
    CHECK(strstr(why, "not allowed") != NULL);
    why[0] = '\0';
    CHECK(!hookd_guard_allowed((struct sockaddr *)&sun, sizeof sun, true, why, sizeof why));
    CHECK(strstr(why, "not allowed") != NULL);

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_family = AF_UNSPEC;
    why[0] = '\0';
    CHECK(!hookd_guard_allowed((struct sockaddr *)&ss, sizeof ss, true, why, sizeof why));
    CHECK(strstr(why, "not allowed") != NULL);
}

TEST(guard_short_lengths_refused)
{
    struct sockaddr_storage ss;
    char why[256];
    socklen_t len = make_addr("8.8.8.8", &ss);
    CHECK(hookd_guard_allowed((struct sockaddr *)&ss, len, false, why, sizeof why));
    why[0] = '\0';
    CHECK(!hookd_guard_allowed((struct sockaddr *)&ss, len - 1, false, why, sizeof why));
    CHECK(strstr(why, "not allowed") != NULL);
    CHECK(!hookd_guard_allowed((struct sockaddr *)&ss, len - 1, true, why, sizeof why));
    CHECK(!hookd_guard_allowed((struct sockaddr *)&ss, 0, true, why, sizeof why));
    CHECK(!hookd_guard_allowed((struct sockaddr *)&ss, 1, true, why, sizeof why));
    CHECK(!hookd_guard_allowed(NULL, 0, true, why, sizeof why));

    len = make_addr("2001:4860:4860::8888", &ss);
    CHECK(hookd_guard_allowed((struct sockaddr *)&ss, len, false, why, sizeof why));
    why[0] = '\0';
    /* Long enough for a sockaddr_in but not a sockaddr_in6. */
    CHECK(!hookd_guard_allowed((struct sockaddr *)&ss, sizeof(struct sockaddr_in), true, why,
                               sizeof why));
    CHECK(strstr(why, "not allowed") != NULL);
}

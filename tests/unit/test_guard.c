/* Unit tests for src/delivery/guard: every range boundary of SPEC §5's
 * outbound address guard, the IPv4-embedding IPv6 forms, and the why text. */
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

/* kind is the word the why text must carry for a refused address; NULL means
 * the address is allowed. */
static const struct {
    const char *addr;
    const char *kind;
} CASES[] = {
    /* IPv4 loopback 127/8 */
    {"127.0.0.1", "loopback"},
    {"127.0.0.0", "loopback"},
    {"127.255.255.255", "loopback"},
    {"126.255.255.255", NULL},
    {"128.0.0.0", NULL},
    /* 10/8 */
    {"10.0.0.0", "private"},
    {"10.255.255.255", "private"},
    {"9.255.255.255", NULL},
    {"11.0.0.0", NULL},
    /* 172.16/12 */
    {"172.15.255.255", NULL},
    {"172.16.0.0", "private"},
    {"172.31.255.255", "private"},
    {"172.32.0.0", NULL},
    {"172.32.0.1", NULL},
    /* 192.168/16 */
    {"192.168.0.0", "private"},
    {"192.168.1.1", "private"},
    {"192.168.255.255", "private"},
    {"192.167.255.255", NULL},
    {"192.169.0.0", NULL},
    {"192.169.0.1", NULL},
    /* 169.254/16 */
    {"169.254.0.0", "link-local"},
    {"169.254.169.254", "link-local"},
    {"169.254.255.255", "link-local"},
    {"169.253.255.255", NULL},
    {"169.255.0.0", NULL},
    /* 0/8 */
    {"0.0.0.0", "unspecified"},
    {"0.1.2.3", "unspecified"},
    {"0.255.255.255", "unspecified"},
    {"1.0.0.0", NULL},
    /* public, and ranges SPEC §5 does not list (CGNAT) */
    {"8.8.8.8", NULL},
    {"1.1.1.1", NULL},
    {"100.64.0.1", NULL},
    {"255.255.255.255", NULL},
    /* IPv6 loopback and unspecified */
    {"::1", "loopback"},
    {"::", "unspecified"},
    {"::2", "unspecified"}, /* IPv4-compatible 0.0.0.2 */
    /* fe80::/10 */
    {"fe80::", "link-local"},
    {"fe80::1", "link-local"},
    {"febf::1", "link-local"},
    {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "link-local"},
    {"fe7f::1", NULL},
    {"fec0::1", NULL},
    /* fc00::/7 */
    {"fc00::", "unique-local"},
    {"fc00::1", "unique-local"},
    {"fdff::1", "unique-local"},
    {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "unique-local"},
    {"fbff::1", NULL},
    {"fe00::1", NULL},
    /* IPv4-mapped ::ffff:0:0/96 */
    {"::ffff:127.0.0.1", "IPv4-mapped"},
    {"::ffff:10.0.0.1", "IPv4-mapped"},
    {"::ffff:172.16.0.1", "IPv4-mapped"},
    {"::ffff:192.168.0.1", "IPv4-mapped"},
    {"::ffff:169.254.169.254", "IPv4-mapped"},
    {"::ffff:0.0.0.0", "IPv4-mapped"},
    {"::ffff:8.8.8.8", NULL},
    {"::ffff:172.32.0.1", NULL},
    {"::fffe:127.0.0.1", NULL}, /* ::fffe:7f00:1 sits outside every embedding */
    /* IPv4-compatible ::/96 */
    {"::127.0.0.1", "IPv4-compatible"},
    {"::10.1.2.3", "IPv4-compatible"},
    {"::8.8.8.8", NULL},
    /* NAT64 64:ff9b::/96 */
    {"64:ff9b::7f00:1", "NAT64"},
    {"64:ff9b::a00:1", "NAT64"},
    {"64:ff9b::808:808", NULL},
    {"64:ff9b:1::7f00:1", NULL}, /* the local-use /48, not the well-known /96 */
    /* public IPv6 */
    {"2001:db8::1", NULL},
    {"2001:4860:4860::8888", NULL},
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
            !strstr(why, CASES[i].kind))
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

TEST(guard_why_texts)
{
    struct sockaddr_storage ss;
    char why[256] = "";
    socklen_t len = make_addr("127.0.0.1", &ss);
    CHECK(!hookd_guard_allowed((struct sockaddr *)&ss, len, false, why, sizeof why));
    CHECK_STR(why, "address 127.0.0.1 is not allowed: loopback "
                   "(start hookd with --allow-private-networks to permit it)");
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

/*
 * fuzz_cidr.c — libFuzzer driver for the CIDR parser behind --allow-networks
 * and the address guard (src/delivery/guard.h): hookd_cidr_parse on the
 * input as it is, hookd_netlist_parse on it as a string, and
 * hookd_guard_check on the input's bytes taken as an IPv4 and an IPv6
 * address, with and without the parsed list as the allow-list.
 *
 * Invariants checked: a parsed network has AF_INET or AF_INET6, a prefix
 * within its family, no bit set past the prefix, and contains its own
 * address; printed back (inet_ntop + "/prefix") it parses to the same
 * network, and the address with the first host bit set is inside it while
 * the one with the last prefix bit flipped is not; a list parse either
 * yields at least one network or an error message, never both; an address
 * inside an allowed network passes the guard; the guard with
 * allow_private passes every IPv4 and IPv6 address; a refusal's why is
 * terminated and says "not allowed".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/guard.h"

#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_cidr: invariant failed: %s: ", #cond);                           \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static size_t width(int family)
{
    return family == AF_INET ? 4 : 16;
}

static bool bit(const unsigned char *a, unsigned i)
{
    return (a[i / 8] >> (7 - i % 8)) & 1;
}

static void flip(unsigned char *a, unsigned i)
{
    a[i / 8] ^= (unsigned char)(0x80 >> (i % 8));
}

/* Builds a socket address of family for the first bytes of a. */
static socklen_t sockaddr_of(int family, const unsigned char *a, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, a, 4);
        return sizeof *sin;
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    memcpy(&sin6->sin6_addr, a, 16);
    return sizeof *sin6;
}

static bool judge(int family, const unsigned char *a, const hookd_guard_policy *p)
{
    struct sockaddr_storage ss;
    socklen_t len = sockaddr_of(family, a, &ss);
    char why[256];
    memset(why, 'x', sizeof why);
    bool ok = hookd_guard_check((struct sockaddr *)&ss, len, p, why, sizeof why);
    if (!ok) {
        FUZZ_CHECK(memchr(why, '\0', sizeof why) != NULL, "why not terminated");
        FUZZ_CHECK(strstr(why, "not allowed") != NULL, "why: %s", why);
    }
    return ok;
}

static void check_network(const hookd_cidr *c)
{
    FUZZ_CHECK(c->family == AF_INET || c->family == AF_INET6, "family %d", c->family);
    unsigned max = (unsigned)width(c->family) * 8;
    FUZZ_CHECK(c->prefix <= max, "prefix %u", c->prefix);
    for (unsigned i = c->prefix; i < 128; i++)
        FUZZ_CHECK(!bit(c->addr, i), "bit %u set past prefix %u", i, c->prefix);
    FUZZ_CHECK(hookd_cidr_contains(c, c->family, c->addr), "does not contain itself");

    char text[INET6_ADDRSTRLEN + 8];
    FUZZ_CHECK(inet_ntop(c->family, c->addr, text, INET6_ADDRSTRLEN) != NULL, "inet_ntop");
    size_t n = strlen(text);
    snprintf(text + n, sizeof text - n, "/%u", c->prefix);
    hookd_cidr again;
    FUZZ_CHECK(hookd_cidr_parse(text, strlen(text), &again) == 0, "'%s' does not parse back",
               text);
    FUZZ_CHECK(again.family == c->family && again.prefix == c->prefix &&
                   memcmp(again.addr, c->addr, sizeof c->addr) == 0,
               "'%s' parses back differently", text);

    unsigned char a[16];
    if (c->prefix < max) {
        memcpy(a, c->addr, 16);
        flip(a, c->prefix);
        FUZZ_CHECK(hookd_cidr_contains(c, c->family, a), "first host bit outside %s", text);
        FUZZ_CHECK(!hookd_cidr_contains(c, c->family == AF_INET ? AF_INET6 : AF_INET, a),
                   "other family inside %s", text);
    }
    if (c->prefix > 0) {
        memcpy(a, c->addr, 16);
        flip(a, c->prefix - 1);
        FUZZ_CHECK(!hookd_cidr_contains(c, c->family, a), "last prefix bit ignored in %s", text);
    }
    /* Whatever the guard refuses, an allow-list holding the network opens
     * its address. */
    hookd_netlist l = {.items = (hookd_cidr *)c, .n = 1};
    hookd_guard_policy p = {.allow = &l};
    FUZZ_CHECK(judge(c->family, c->addr, &p), "%s refused though allowed", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hookd_cidr c;
    if (hookd_cidr_parse((const char *)data, size, &c) == 0)
        check_network(&c);

    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    hookd_netlist l;
    char err[200] = "";
    bool listed = hookd_netlist_parse(s, &l, err, sizeof err) == 0;
    if (listed) {
        FUZZ_CHECK(l.n >= 1 && l.items != NULL, "empty list accepted");
        for (size_t i = 0; i < l.n; i++)
            check_network(&l.items[i]);
    } else {
        FUZZ_CHECK(err[0] != '\0' && l.items == NULL && l.n == 0, "refused without a message");
    }

    /* The input's bytes as addresses, against the list (if any) and open. */
    unsigned char a[16] = {0};
    memcpy(a, data, size < 16 ? size : 16);
    hookd_guard_policy p = {.allow = listed ? &l : NULL};
    hookd_guard_policy open = {.allow_private = true};
    for (int f = 0; f < 2; f++) {
        int family = f ? AF_INET6 : AF_INET;
        bool ok = judge(family, a, &p);
        FUZZ_CHECK(judge(family, a, &open), "refused with allow_private");
        /* the allow-list only opens: without it nothing more passes */
        if (!judge(family, a, NULL) && ok)
            FUZZ_CHECK(listed, "passed with no list");
        if (ok && !listed)
            FUZZ_CHECK(judge(family, a, NULL), "a list that failed to parse opened something");
    }
    hookd_netlist_free(&l);
    free(s);
    return 0;
}

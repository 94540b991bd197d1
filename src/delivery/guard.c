/*
 * guard.c — the outbound address guard of docs/api.md#delivery and the CIDR parser of
 * --allow-networks. The guard judges the address a connection is about to be
 * made to (after DNS), so every spelling of an address is judged by its
 * numeric value. IPv6 forms that embed an IPv4 address (IPv4-mapped,
 * IPv4-compatible, NAT64, 6to4) are judged by that IPv4 address, since a
 * connection to them may reach the IPv4 host.
 */
#include "delivery/guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD_HINT "open it with --allow-networks or --allow-private-networks"

#define V4(a, b, c, d, len) {AF_INET, {a, b, c, d}, len}
#define V6(len, ...) {AF_INET6, {__VA_ARGS__}, len}

/* Every range the guard refuses, and the word the log gives for it. The
 * first match names the kind, so the broadcast address comes before 240/4. */
static const struct {
    hookd_cidr net;
    const char *kind;
} REFUSED[] = {
    {V4(255, 255, 255, 255, 32), "broadcast"},
    {V4(0, 0, 0, 0, 8), "unspecified"}, /* "this network": 0.0.0.0 reaches the local host */
    {V4(10, 0, 0, 0, 8), "private"},
    {V4(100, 64, 0, 0, 10), "shared address space (carrier-grade NAT)"},
    {V4(127, 0, 0, 0, 8), "loopback"},
    {V4(169, 254, 0, 0, 16), "link-local"}, /* cloud metadata services live here */
    {V4(172, 16, 0, 0, 12), "private"},
    {V4(192, 0, 0, 0, 24), "IETF protocol assignments"},
    {V4(192, 0, 2, 0, 24), "documentation"},
    {V4(192, 168, 0, 0, 16), "private"},
    {V4(198, 18, 0, 0, 15), "benchmarking"},
    {V4(198, 51, 100, 0, 24), "documentation"},
    {V4(203, 0, 113, 0, 24), "documentation"},
    {V4(224, 0, 0, 0, 4), "multicast"},
    {V4(240, 0, 0, 0, 4), "reserved"},
    {V6(128, 0), "unspecified"},
    {V6(128, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), "loopback"},
    {V6(10, 0xfe, 0x80), "link-local"},
    {V6(7, 0xfc), "unique-local"},
    {V6(8, 0xff), "multicast"},
    {V6(32, 0x20, 0x01, 0x0d, 0xb8), "documentation"},
};

/* IPv6 forms that carry an IPv4 address, and where it sits. A connection to
 * any of them may end at the IPv4 host: the kernel maps ::ffff:a.b.c.d, some
 * stacks still route ::a.b.c.d, a DNS64 resolver can hand out 64:ff9b::a.b.c.d
 * for any name and the NAT64 gateway then connects for hookd, and a 6to4
 * relay unwraps 2002:AABB:CCDD::. :: and ::1 sit inside ::/96 but are judged
 * above as the IPv6 addresses they are. */
static const struct {
    hookd_cidr net;
    unsigned v4_at; /* byte offset of the IPv4 address */
    const char *form;
} EMBEDDED[] = {
    {V6(96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff), 12, "IPv4-mapped"},
    {V6(96, 0), 12, "IPv4-compatible"},
    {V6(96, 0x00, 0x64, 0xff, 0x9b), 12, "NAT64"},
    {V6(16, 0x20, 0x02), 2, "6to4"},
};

/* ---- CIDRs ------------------------------------------------------------------ */

static size_t family_bytes(int family)
{
    return family == AF_INET ? 4 : 16;
}

bool hookd_cidr_contains(const hookd_cidr *c, int family, const unsigned char *addr)
{
    if (c->family != family)
        return false;
    unsigned whole = c->prefix / 8, rest = c->prefix % 8;
    if (memcmp(c->addr, addr, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (c->addr[whole] & mask) == (addr[whole] & mask);
}

int hookd_cidr_parse(const char *s, size_t len, hookd_cidr *out)
{
    char text[INET6_ADDRSTRLEN + 8];
    if (!s || len == 0 || len >= sizeof text)
        return -1;
    memcpy(text, s, len);
    text[len] = '\0';
    if (memchr(s, '\0', len))
        return -1;
    memset(out, 0, sizeof *out);
    char *slash = strchr(text, '/');
    if (slash)
        *slash = '\0';
    if (inet_pton(AF_INET, text, out->addr) == 1)
        out->family = AF_INET;
    else if (inet_pton(AF_INET6, text, out->addr) == 1)
        out->family = AF_INET6;
    else
        return -1;
    unsigned max = (unsigned)family_bytes(out->family) * 8;
    out->prefix = max;
    if (slash) {
        const char *p = slash + 1;
        size_t n = strlen(p);
        if (n == 0 || n > 3 || (n > 1 && p[0] == '0'))
            return -1;
        unsigned v = 0;
        for (size_t i = 0; i < n; i++) {
            if (p[i] < '0' || p[i] > '9')
                return -1;
            v = v * 10 + (unsigned)(p[i] - '0');
        }
        if (v > max)
            return -1;
        out->prefix = v;
    }
    /* Host bits: the network must be its own first address. */
    hookd_cidr masked = *out;
    unsigned whole = out->prefix / 8, rest = out->prefix % 8;
    if (whole < 16) {
        if (rest)
            masked.addr[whole] &= (unsigned char)(0xff << (8 - rest));
        memset(masked.addr + whole + (rest ? 1 : 0), 0, 16 - whole - (rest ? 1 : 0));
    }
    return memcmp(masked.addr, out->addr, sizeof out->addr) == 0 ? 0 : -1;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

int hookd_netlist_parse(const char *s, hookd_netlist *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    if (!(out->items = calloc(cap, sizeof *out->items)))
        return -1;
    const char *p = s;
    for (;;) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && is_space(*a))
            a++;
        while (b > a && is_space(b[-1]))
            b--;
        if (hookd_cidr_parse(a, (size_t)(b - a), &out->items[out->n]) != 0) {
            if (a == b)
                snprintf(err, errlen, "empty network in '%s'", s);
            else
                snprintf(err, errlen,
                         "invalid network '%.*s' (expected a CIDR like 10.1.0.0/16 or "
                         "fd00::/8, no bits set past the prefix)",
                         (int)(b - a > 64 ? 64 : b - a), a);
            hookd_netlist_free(out);
            errno = EINVAL;
            return -1;
        }
        out->n++;
        if (!*end)
            return 0;
        p = end + 1;
    }
}

void hookd_netlist_free(hookd_netlist *l)
{
    if (!l)
        return;
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* ---- the guard ---------------------------------------------------------------- */

static bool allow_listed(const hookd_guard_policy *p, int family, const unsigned char *addr)
{
    if (!p || !p->allow)
        return false;
    for (size_t i = 0; i < p->allow->n; i++) {
        if (hookd_cidr_contains(&p->allow->items[i], family, addr))
            return true;
    }
    return false;
}

/* The kind of a refused address, or NULL when no range of the table holds
 * it. */
static const char *refused_kind(int family, const unsigned char *addr)
{
    for (size_t i = 0; i < sizeof REFUSED / sizeof REFUSED[0]; i++) {
        if (hookd_cidr_contains(&REFUSED[i].net, family, addr))
            return REFUSED[i].kind;
    }
    return NULL;
}

/* The verdict on one address: NULL when it may be reached, else its kind;
 * *form names the embedding when the verdict came from an IPv4 address
 * inside an IPv6 one. */
static const char *judge(const hookd_guard_policy *p, int family, const unsigned char *addr,
                         const char **form)
{
    *form = NULL;
    if (allow_listed(p, family, addr))
        return NULL;
    const char *kind = refused_kind(family, addr);
    if (kind || family != AF_INET6)
        return kind;
    for (size_t i = 0; i < sizeof EMBEDDED / sizeof EMBEDDED[0]; i++) {
        if (!hookd_cidr_contains(&EMBEDDED[i].net, AF_INET6, addr))
            continue;
        const unsigned char *v4 = addr + EMBEDDED[i].v4_at;
        if (allow_listed(p, AF_INET, v4))
            return NULL;
        *form = EMBEDDED[i].form;
        return refused_kind(AF_INET, v4);
    }
    return NULL;
}

static void say(char *why, size_t why_len, const char *fmt, unsigned value)
{
    if (why && why_len > 0)
        snprintf(why, why_len, fmt, value);
}

bool hookd_guard_check(const struct sockaddr *addr, socklen_t len, const hookd_guard_policy *p,
                       char *why, size_t why_len)
{
    sa_family_t family;
    if (!addr || (size_t)len < offsetof(struct sockaddr, sa_family) + sizeof family) {
        say(why, why_len, "address is not allowed: truncated socket address (%u bytes)",
            (unsigned)len);
        return false;
    }
    /* Copy instead of casting: the caller's buffer need not be aligned for
     * the wider sockaddr_in6. */
    memcpy(&family, (const char *)addr + offsetof(struct sockaddr, sa_family), sizeof family);
    unsigned char bytes[16];
    if (family == AF_INET) {
        struct sockaddr_in sin;
        if ((size_t)len < sizeof sin) {
            say(why, why_len, "address is not allowed: truncated IPv4 socket address (%u bytes)",
                (unsigned)len);
            return false;
        }
        memcpy(&sin, addr, sizeof sin);
        memcpy(bytes, &sin.sin_addr, 4);
    } else if (family == AF_INET6) {
        struct sockaddr_in6 sin6;
        if ((size_t)len < sizeof sin6) {
            say(why, why_len, "address is not allowed: truncated IPv6 socket address (%u bytes)",
                (unsigned)len);
            return false;
        }
        memcpy(&sin6, addr, sizeof sin6);
        memcpy(bytes, &sin6.sin6_addr, 16);
    } else {
        /* hookd only ever connects over IP; anything else (a Unix socket,
         * say) would bypass the checks above, so --allow-private-networks
         * does not open it either. */
        say(why, why_len, "address of family %u is not allowed: only IPv4 and IPv6 addresses are",
            (unsigned)family);
        return false;
    }
    if (p && p->allow_private)
        return true;
    const char *form;
    const char *kind = judge(p, family, bytes, &form);
    if (!kind)
        return true;
    if (why && why_len > 0) {
        char text[INET6_ADDRSTRLEN];
        if (!inet_ntop(family, bytes, text, sizeof text))
            snprintf(text, sizeof text, "?");
        if (form)
            snprintf(why, why_len, "address %s is not allowed: %s (%s) (" GUARD_HINT ")", text,
                     kind, form);
        else
            snprintf(why, why_len, "address %s is not allowed: %s (" GUARD_HINT ")", text, kind);
    }
    return false;
}

bool hookd_guard_allowed(const struct sockaddr *addr, socklen_t len, bool allow_private,
                         char *why, size_t why_len)
{
    hookd_guard_policy p = {.allow_private = allow_private};
    return hookd_guard_check(addr, len, &p, why, why_len);
}

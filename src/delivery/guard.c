/*
 * guard.c — the outbound address guard of SPEC §5. It judges the address a
 * connection is about to be made to (after DNS), so every spelling of an
 * address is judged by its numeric value. IPv6 forms that embed an IPv4
 * address (IPv4-mapped, IPv4-compatible, NAT64) are judged by that IPv4
 * address, since a connection to them may reach the IPv4 host.
 */
#include "delivery/guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define GUARD_HINT "start hookd with --allow-private-networks to permit it"

/* The kind of a refused IPv4 address (a in host byte order), or NULL when it
 * may be reached. SPEC §5 refuses only loopback, private, link-local,
 * unique-local and unspecified addresses, so other special ranges — carrier-
 * grade NAT 100.64/10, documentation, multicast, broadcast — are allowed: they
 * are either public in effect or fail on their own when connected to. */
static const char *guard_ipv4_kind(uint32_t a)
{
    if ((a & 0xff000000u) == 0x7f000000u) /* 127/8 */
        return "loopback";
    if ((a & 0xff000000u) == 0x0a000000u) /* 10/8 */
        return "private";
    if ((a & 0xfff00000u) == 0xac100000u) /* 172.16/12 */
        return "private";
    if ((a & 0xffff0000u) == 0xc0a80000u) /* 192.168/16 */
        return "private";
    if ((a & 0xffff0000u) == 0xa9fe0000u) /* 169.254/16 */
        return "link-local";
    if ((a & 0xff000000u) == 0x00000000u) /* 0/8: "this network", 0.0.0.0 reaches the local host */
        return "unspecified";
    return NULL;
}

static uint32_t guard_ipv4_at(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

static bool guard_all_zero(const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return false;
    return true;
}

/* The kind of a refused IPv6 address, or NULL when it may be reached. *form
 * names the embedding when the verdict came from an embedded IPv4 address. */
static const char *guard_ipv6_kind(const unsigned char b[16], const char **form)
{
    static const unsigned char NAT64_PREFIX[12] = {0x00, 0x64, 0xff, 0x9b};
    *form = NULL;
    if (guard_all_zero(b, 16))
        return "unspecified";
    if (guard_all_zero(b, 15) && b[15] == 1)
        return "loopback";
    if ((b[0] & 0xfe) == 0xfc) /* fc00::/7 */
        return "unique-local";
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* fe80::/10 */
        return "link-local";
    if (guard_all_zero(b, 10) && b[10] == 0xff && b[11] == 0xff) {
        *form = "IPv4-mapped";
        return guard_ipv4_kind(guard_ipv4_at(b + 12));
    }
    /* Deprecated, but some stacks still route ::a.b.c.d to a.b.c.d; :: and ::1
     * were judged above as the IPv6 addresses they are. */
    if (guard_all_zero(b, 12)) {
        *form = "IPv4-compatible";
        return guard_ipv4_kind(guard_ipv4_at(b + 12));
    }
    /* A DNS64 resolver can hand out 64:ff9b::a.b.c.d for any name, and the
     * NAT64 gateway then connects to a.b.c.d on hookd's behalf. */
    if (memcmp(b, NAT64_PREFIX, sizeof NAT64_PREFIX) == 0) {
        *form = "NAT64";
        return guard_ipv4_kind(guard_ipv4_at(b + 12));
    }
    return NULL;
}

static void guard_refuse(char *why, size_t why_len, const char *text, const char *kind,
                         const char *form)
{
    if (!why || why_len == 0)
        return;
    if (form)
        snprintf(why, why_len, "address %s is not allowed: %s (%s) (" GUARD_HINT ")", text, kind,
                 form);
    else
        snprintf(why, why_len, "address %s is not allowed: %s (" GUARD_HINT ")", text, kind);
}

bool hookd_guard_allowed(const struct sockaddr *addr, socklen_t len, bool allow_private, char *why,
                         size_t why_len)
{
    char text[INET6_ADDRSTRLEN];
    sa_family_t family;

    if (!addr || (size_t)len < offsetof(struct sockaddr, sa_family) + sizeof family) {
        if (why && why_len > 0)
            snprintf(why, why_len, "address is not allowed: truncated socket address (%u bytes)",
                     (unsigned)len);
        return false;
    }
    /* Copy instead of casting: the caller's buffer need not be aligned for
     * the wider sockaddr_in6. */
    memcpy(&family, (const char *)addr + offsetof(struct sockaddr, sa_family), sizeof family);

    if (family == AF_INET) {
        struct sockaddr_in sin;
        if ((size_t)len < sizeof sin) {
            if (why && why_len > 0)
                snprintf(why, why_len,
                         "address is not allowed: truncated IPv4 socket address (%u bytes)",
                         (unsigned)len);
            return false;
        }
        if (allow_private)
            return true;
        memcpy(&sin, addr, sizeof sin);
        const char *kind = guard_ipv4_kind(ntohl(sin.sin_addr.s_addr));
        if (!kind)
            return true;
        if (!inet_ntop(AF_INET, &sin.sin_addr, text, sizeof text))
            snprintf(text, sizeof text, "?");
        guard_refuse(why, why_len, text, kind, NULL);
        return false;
    }
    if (family == AF_INET6) {
        struct sockaddr_in6 sin6;
        if ((size_t)len < sizeof sin6) {
            if (why && why_len > 0)
                snprintf(why, why_len,
                         "address is not allowed: truncated IPv6 socket address (%u bytes)",
                         (unsigned)len);
            return false;
        }
        if (allow_private)
            return true;
        memcpy(&sin6, addr, sizeof sin6);
        const char *form;
        const char *kind = guard_ipv6_kind(sin6.sin6_addr.s6_addr, &form);
        if (!kind)
            return true;
        if (!inet_ntop(AF_INET6, &sin6.sin6_addr, text, sizeof text))
            snprintf(text, sizeof text, "?");
        guard_refuse(why, why_len, text, kind, form);
        return false;
    }
    /* hookd only ever connects over IP; anything else (a Unix socket, say)
     * would bypass the checks above, so --allow-private-networks does not
     * open it either. */
    if (why && why_len > 0)
        snprintf(why, why_len,
                 "address of family %u is not allowed: only IPv4 and IPv6 addresses are",
                 (unsigned)family);
    return false;
}

/*
 * guard.h — the outbound address guard of docs/api.md#delivery: which addresses hookd may
 * connect to. Checked on the address actually connected to (after DNS, from
 * libcurl's open-socket callback, or on hookd's own resolution when a proxy
 * is used), so DNS tricks and odd spellings of an address (0x7f.1,
 * ::ffff:127.0.0.1) are judged by what they resolve to.
 *
 * Also the CIDR parser behind --allow-networks: networks an operator opens
 * in spite of the guard.
 *
 * Pure functions; thread-safe. A hookd_netlist owns its array (free it with
 * hookd_netlist_free); a policy only borrows one.
 */
#ifndef HOOKD_DELIVERY_GUARD_H
#define HOOKD_DELIVERY_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* One network: family AF_INET (4 bytes of addr used) or AF_INET6 (16), and a
 * prefix length up to 32 or 128. Bits past the prefix are zero. */
typedef struct hookd_cidr {
    int family;
    unsigned char addr[16];
    unsigned prefix;
} hookd_cidr;

/* Parses "a.b.c.d/n" or "v6::addr/n" (len bytes of s; no NUL needed). The
 * address is in the strict spelling of inet_pton (dotted decimal for IPv4:
 * no hex, octal or short forms, which mean different things to different
 * parsers); the prefix is decimal, without sign or leading zero. Without
 * "/n" the network is the one address (/32 or /128). Bits set past the
 * prefix ("10.1.2.3/8") are refused rather than masked: the operator meant
 * one of two different things. Returns 0, or -1 when s is not a network. */
int hookd_cidr_parse(const char *s, size_t len, hookd_cidr *out)
    __attribute__((warn_unused_result));

/* True if the address (addr holds 4 bytes for AF_INET, 16 for AF_INET6) is
 * inside c. Families must match: an IPv4 network holds no IPv6 address. */
bool hookd_cidr_contains(const hookd_cidr *c, int family, const unsigned char *addr);

typedef struct hookd_netlist {
    hookd_cidr *items;
    size_t n;
} hookd_netlist;

/* Parses "CIDR,CIDR,…" (spaces around items are ignored; an empty item is
 * an error) into out (zeroed first). Returns 0, or -1 with err naming the bad
 * item (and nothing left allocated); -1 with errno ENOMEM if memory ran
 * out. */
int hookd_netlist_parse(const char *s, hookd_netlist *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void hookd_netlist_free(hookd_netlist *l);

/* What is open in spite of the guard. */
typedef struct hookd_guard_policy {
    bool allow_private;          /* --allow-private-networks: every refused range */
    const hookd_netlist *allow;  /* --allow-networks, or NULL */
} hookd_guard_policy;

/* True if a connection to addr is allowed under p (NULL: nothing opened).
 * Refused: every range of the table in guard.c (loopback, private, shared
 * (CGNAT), link-local, unique-local, unspecified, documentation,
 * benchmarking, IETF assignments, multicast, reserved, broadcast), and the
 * IPv4-mapped, IPv4-compatible, NAT64 (64:ff9b::/96) and 6to4 (2002::/16)
 * forms of IPv6 judged by the IPv4 address inside. An address inside a
 * network of p->allow passes (an embedding form also when its IPv4 address
 * is inside an IPv4 network). Families other than AF_INET and AF_INET6 are
 * always refused. When refused, why (if not NULL) receives a sentence for the
 * log containing "not allowed", the address and the kind: "address 127.0.0.1
 * is not allowed: loopback (open it with --allow-networks or
 * --allow-private-networks)". */
bool hookd_guard_check(const struct sockaddr *addr, socklen_t len, const hookd_guard_policy *p,
                       char *why, size_t why_len);

/* hookd_guard_check with only allow_private. */
bool hookd_guard_allowed(const struct sockaddr *addr, socklen_t len, bool allow_private,
                         char *why, size_t why_len);

#endif

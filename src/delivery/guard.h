/*
 * guard.h — the outbound address guard of SPEC §5: which addresses hookd may
 * connect to. Checked on the address actually connected to (after DNS, from
 * libcurl's open-socket callback), so DNS tricks and odd spellings of an
 * address (0x7f.1, ::ffff:127.0.0.1) are judged by what they resolve to.
 *
 * Pure functions; thread-safe.
 */
#ifndef HOOKD_DELIVERY_GUARD_H
#define HOOKD_DELIVERY_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* True if a connection to addr is allowed. Refused unless allow_private:
 * loopback (127/8, ::1), private (10/8, 172.16/12, 192.168/16), link-local
 * (169.254/16, fe80::/10), unique-local (fc00::/7), unspecified (0.0.0.0/8,
 * ::), and the IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d)
 * IPv6 forms of any refused IPv4 address. Families other than AF_INET and
 * AF_INET6 are always refused. When refused, why (if not NULL) receives a
 * sentence for the log, containing "not allowed", the address and the kind:
 * "address 127.0.0.1 is not allowed: loopback (use --allow-private-networks)". */
bool hookd_guard_allowed(const struct sockaddr *addr, socklen_t len, bool allow_private,
                         char *why, size_t why_len);

#endif

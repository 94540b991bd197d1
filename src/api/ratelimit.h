/*
 * ratelimit.h — --api-rate-limit: a token bucket per client address, kept in
 * a table of fixed size so that memory does not grow with the number of
 * addresses a client (or an attacker) comes from.
 *
 * Each address may make `rate` requests per second on average and a burst of
 * max(1, rate) at once. IPv4 addresses count one by one; IPv6 addresses count
 * by their /64 (one host or one LAN usually owns a whole /64, and would
 * otherwise get a fresh bucket for every address it picks).
 *
 * The table holds RATELIMIT_SETS sets of RATELIMIT_WAYS buckets; an address
 * hashes (with a random seed, so collisions cannot be aimed) to one set, and
 * a new address takes the set's least recently used bucket. A bucket that has
 * been idle for a second is full again and loses nothing by being taken; an
 * active one that is taken gives its address a fresh burst. That can only
 * happen when more than RATELIMIT_WAYS addresses were active in one set
 * within about a second.
 *
 * Thread-safe: any thread may call hookd_ratelimit_take (sets are guarded by
 * striped locks). The caller owns the limiter and frees it with
 * hookd_ratelimit_free once no thread uses it.
 */
#ifndef HOOKD_API_RATELIMIT_H
#define HOOKD_API_RATELIMIT_H

#include <stdint.h>
#include <sys/socket.h>

#define RATELIMIT_SETS 4096
#define RATELIMIT_WAYS 4

typedef struct hookd_ratelimit hookd_ratelimit;

/* A limiter of rate requests per second (> 0). Returns 0, or HOOKD_ENOMEM /
 * HOOKD_EUNAVAIL (no random seed). */
int hookd_ratelimit_new(double rate, hookd_ratelimit **out) __attribute__((warn_unused_result));

/* Spends one request of addr's bucket at now_ms (a monotonic clock). Returns
 * 0 when the request may go on, else the whole seconds (at least 1) until
 * addr may make its next request: the Retry-After to answer. A refused
 * request spends nothing. addr NULL or of another family than IPv4/IPv6
 * counts as one shared address. */
unsigned hookd_ratelimit_take(hookd_ratelimit *rl, const struct sockaddr *addr, int64_t now_ms);

/* Accepts NULL. */
void hookd_ratelimit_free(hookd_ratelimit *rl);

#endif

/* Unit tests for the API's abuse limits that need no server: the rate
 * limiter's buckets (src/api/ratelimit.c), the JSON nesting scan
 * (src/util/json_depth.c) and the deadlines' reaper (src/api/deadline.c)
 * on real sockets. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/deadline.h"
#include "api/ratelimit.h"
#include "unit.h"
#include "util/json_depth.h"

static struct sockaddr_in v4(const char *ip)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static struct sockaddr_in6 v6(const char *ip)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, ip, &a.sin6_addr);
    return a;
}

#define SA(x) ((const struct sockaddr *)&(x))

TEST(ratelimit_burst_then_retry_after)
{
    hookd_ratelimit *rl;
    CHECK_INT(hookd_ratelimit_new(2, &rl), 0);
    struct sockaddr_in a = v4("192.0.2.1"), b = v4("192.0.2.2");
    int64_t t = 1000000;
    CHECK_INT(hookd_ratelimit_take(rl, SA(a), t), 0);
    CHECK_INT(hookd_ratelimit_take(rl, SA(a), t), 0);
    CHECK_INT(hookd_ratelimit_take(rl, SA(a), t), 1); /* a token back in 0.5 s: say 1 s */
    CHECK_INT(hookd_ratelimit_take(rl, SA(b), t), 0); /* another address has its own */
    CHECK_INT(hookd_ratelimit_take(rl, SA(a), t + 499), 1);
    CHECK_INT(hookd_ratelimit_take(rl, SA(a), t + 500), 0); /* refused ones spent nothing */
    CHECK_INT(hookd_ratelimit_take(rl, SA(a), t + 500), 1);
    /* Idle for long: the burst is back, and no more than the burst. */
    CHECK_INT(hookd_ratelimit_take(rl, SA(a), t + 60000), 0);
    CHECK_INT(hookd_ratelimit_take(rl, SA(a), t + 60000), 0);
    CHECK_INT(hookd_ratelimit_take(rl, SA(a), t + 60000), 1);
    hookd_ratelimit_free(rl);
}

TEST(ratelimit_slow_rate_retry_after_in_whole_seconds)
{
    hookd_ratelimit *rl;
    CHECK_INT(hookd_ratelimit_new(0.2, &rl), 0); /* one request every 5 s, burst 1 */
    struct sockaddr_in a = v4("198.51.100.7");
    CHECK_INT(hookd_ratelimit_take(rl, SA(a), 5000), 0);
    CHECK_INT(hookd_ratelimit_take(rl, SA(a), 5000), 5);
    CHECK_INT(hookd_ratelimit_take(rl, SA(a), 8000), 2); /* 2 s left, rounded up */
    CHECK_INT(hookd_ratelimit_take(rl, SA(a), 10000), 0);
    hookd_ratelimit_free(rl);
}

TEST(ratelimit_ipv6_counts_by_64_and_mapped_v4_as_v4)
{
    hookd_ratelimit *rl;
    CHECK_INT(hookd_ratelimit_new(1, &rl), 0);
    struct sockaddr_in6 x = v6("2001:db8:1:2::1"), y = v6("2001:db8:1:2:ffff::9");
    struct sockaddr_in6 other = v6("2001:db8:1:3::1");
    CHECK_INT(hookd_ratelimit_take(rl, SA(x), 1000), 0);
    CHECK(hookd_ratelimit_take(rl, SA(y), 1000) > 0); /* the same /64 */
    CHECK_INT(hookd_ratelimit_take(rl, SA(other), 1000), 0);
    struct sockaddr_in a = v4("203.0.113.5");
    struct sockaddr_in6 mapped = v6("::ffff:203.0.113.5");
    CHECK_INT(hookd_ratelimit_take(rl, SA(a), 1000), 0);
    CHECK(hookd_ratelimit_take(rl, SA(mapped), 1000) > 0);
    hookd_ratelimit_free(rl);
}

/* A million addresses pass through a table of fixed size; the limiter
 * still limits an address that keeps coming. */
TEST(ratelimit_many_addresses_bounded_table)
{
    hookd_ratelimit *rl;
    CHECK_INT(hookd_ratelimit_new(1, &rl), 0);
    struct sockaddr_in hot = v4("192.0.2.200");
    int64_t t = 1000;
    unsigned refused = 0;
    for (uint32_t i = 0; i < 1000000; i++) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x0a000000u + i)};
        CHECK_INT(hookd_ratelimit_take(rl, SA(a), t), 0); /* each new: a full bucket */
        if (i % 1000 == 0)
            refused += hookd_ratelimit_take(rl, SA(hot), t) > 0;
    }
    /* 1,000 tries at one instant: one passes, and the rest are refused
     * unless a flood of other addresses evicted the hot one's bucket. */
    CHECK(refused > 900);
    hookd_ratelimit_free(rl);
}

TEST(json_depth_counts_brackets_outside_strings)
{
    int line = 0, col = 0;
    CHECK(!hookd_json_too_deep("{\"a\":[[1]]}", 11, 3, &line, &col));
    CHECK(hookd_json_too_deep("{\"a\":[[[1]]]}", 13, 3, &line, &col));
    CHECK_INT(line, 1);
    CHECK_INT(col, 8);
    /* Brackets in strings, escaped quotes, and siblings do not nest. */
    const char *s = "{\"a\":\"[[[[\\\"{{{{\",\"b\":[1],\"c\":[2],\"d\":{}}";
    CHECK(!hookd_json_too_deep(s, strlen(s), 2, &line, &col));
    /* Line and column as jansson counts them: UTF-8 characters, lines from 1. */
    const char *u = "{\"é\":\n  [[1]]}";
    CHECK(hookd_json_too_deep(u, strlen(u), 2, &line, &col));
    CHECK_INT(line, 2);
    CHECK_INT(col, 4);
    char deep[2001];
    memset(deep, '[', 1000);
    memset(deep + 1000, ']', 1000);
    CHECK(hookd_json_too_deep(deep, 2000, 64, &line, &col));
    CHECK_INT(col, 65);
    CHECK(!hookd_json_too_deep(deep + 936, 128, 64, &line, &col)); /* 64 [ then ] */
}

/* True if the peer of s has been shut down: a read sees end of file. */
static bool peer_shut(int s)
{
    char c;
    return recv(s, &c, 1, MSG_DONTWAIT) == 0;
}

TEST(deadline_reaper_shuts_late_connections_only)
{
    hookd_deadlines *d;
    CHECK_INT(hookd_deadlines_start(200, 400, 300, &d), 0);
    int head[2], handling[2], body[2];
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, head), 0);
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, handling), 0);
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, body), 0);
    hookd_conn_clock *ch = hookd_deadlines_add(d, head[0]);
    hookd_conn_clock *cw = hookd_deadlines_add(d, handling[0]);
    hookd_conn_clock *cb = hookd_deadlines_add(d, body[0]);
    hookd_deadlines_head_done(d, cw);
    hookd_deadlines_handling(d, cw); /* hookd's own work: no deadline */
    hookd_deadlines_head_done(d, cb); /* due 400 ms after accept */
    usleep(300 * 1000);
    CHECK(peer_shut(head[1]));   /* the head was due at 200 ms */
    CHECK(!peer_shut(body[1]));
    CHECK(!peer_shut(handling[1]));
    usleep(300 * 1000);
    CHECK(peer_shut(body[1]));
    CHECK(!peer_shut(handling[1]));
    CHECK_INT(hookd_deadlines_reaped(d), 2);
    /* Idle after an answer: the next request is due within idle_ms. */
    hookd_deadlines_answering(d, cw);
    hookd_deadlines_idle(d, cw);
    usleep(150 * 1000);
    hookd_deadlines_request_line(d, cw); /* a request starts: 200 ms for its head */
    usleep(150 * 1000);
    CHECK(!peer_shut(handling[1])); /* 300 ms of idle would have passed */
    usleep(200 * 1000);
    CHECK(peer_shut(handling[1]));
    hookd_deadlines_remove(d, ch);
    hookd_deadlines_remove(d, cb);
    hookd_deadlines_remove(d, cw);
    hookd_deadlines_stop(d);
    for (int i = 0; i < 2; i++) {
        close(head[i]);
        close(handling[i]);
        close(body[i]);
    }
}

/* Removed clocks are never shut, even when their fd number is reused at once. */
TEST(deadline_removed_connection_is_never_shut)
{
    hookd_deadlines *d;
    CHECK_INT(hookd_deadlines_start(50, 50, 50, &d), 0);
    int p[2];
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
    hookd_conn_clock *c = hookd_deadlines_add(d, p[0]);
    hookd_deadlines_remove(d, c);
    close(p[0]);
    int q[2];
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, q), 0); /* likely takes p[0]'s number */
    usleep(200 * 1000);
    CHECK(!peer_shut(q[1]));
    CHECK_INT(hookd_deadlines_reaped(d), 0);
    hookd_deadlines_stop(d);
    close(p[1]);
    close(q[0]);
    close(q[1]);
}

#include "api/ratelimit.h"

#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/crypto.h"
#include "util/error.h"

#define LOCK_STRIPES 64 /* sets share locks: 4096 mutexes would cost more than the table */

typedef struct bucket {
    unsigned char key[16];
    int64_t last_ms; /* when tokens was last brought up to date */
    double tokens;
    uint32_t used;   /* the set's tick at its last use; 0: never used */
} bucket;

typedef struct bucket_set {
    uint32_t tick; /* counts uses, so "least recently used" needs no clock */
    bucket ways[RATELIMIT_WAYS];
} bucket_set;

struct hookd_ratelimit {
    double rate, burst;
    uint64_t seed[2];
    pthread_mutex_t locks[LOCK_STRIPES];
    bucket_set sets[RATELIMIT_SETS];
};

/* The address a bucket belongs to: IPv4 as its IPv4-mapped IPv6 form (so a
 * client seen over either family counts once), IPv6 cut to its /64. */
static void addr_key(const struct sockaddr *addr, unsigned char key[16])
{
    memset(key, 0, 16);
    if (addr && addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &in->sin_addr, 4);
    } else if (addr && addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        memcpy(key, &in6->sin6_addr, 16);
        if (!IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            memset(key + 8, 0, 8);
    }
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static unsigned set_of(const hookd_ratelimit *rl, const unsigned char key[16])
{
    uint64_t a, b;
    memcpy(&a, key, 8);
    memcpy(&b, key + 8, 8);
    return (unsigned)(mix(mix(a ^ rl->seed[0]) ^ b ^ rl->seed[1]) % RATELIMIT_SETS);
}

int hookd_ratelimit_new(double rate, hookd_ratelimit **out)
{
    hookd_ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return HOOKD_ENOMEM;
    if (hookd_random_bytes(rl->seed, sizeof rl->seed) != 0) {
        free(rl);
        return HOOKD_EUNAVAIL;
    }
    rl->rate = rate;
    rl->burst = rate > 1 ? rate : 1;
    for (int i = 0; i < LOCK_STRIPES; i++)
        pthread_mutex_init(&rl->locks[i], NULL);
    *out = rl;
    return 0;
}

/* The bucket of key in its set: found, or the least recently used one made
 * over to key, full. */
static bucket *find_bucket(bucket_set *set, const unsigned char key[16], double burst)
{
    bucket *b = NULL, *lru = &set->ways[0];
    for (int w = 0; w < RATELIMIT_WAYS && !b; w++) {
        bucket *x = &set->ways[w];
        if (x->used && memcmp(x->key, key, 16) == 0)
            b = x;
        else if (x->used < lru->used)
            lru = x;
    }
    if (!b) {
        b = lru;
        memcpy(b->key, key, 16);
        b->last_ms = 0;
        b->tokens = burst;
    }
    if (++set->tick == 0) { /* wrapped: start the set's order afresh */
        for (int w = 0; w < RATELIMIT_WAYS; w++)
            set->ways[w].used = set->ways[w].used ? 1 : 0;
        set->tick = 2;
    }
    b->used = set->tick;
    return b;
}

unsigned hookd_ratelimit_take(hookd_ratelimit *rl, const struct sockaddr *addr, int64_t now_ms)
{
    unsigned char key[16];
    addr_key(addr, key);
    unsigned s = set_of(rl, key);
    pthread_mutex_t *lock = &rl->locks[s % LOCK_STRIPES];
    pthread_mutex_lock(lock);
    bucket *b = find_bucket(&rl->sets[s], key, rl->burst);
    if (b->last_ms && now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * rl->rate / 1000.0;
        if (b->tokens > rl->burst)
            b->tokens = rl->burst;
    }
    if (now_ms > b->last_ms)
        b->last_ms = now_ms > 0 ? now_ms : 1;
    unsigned wait = 0;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
    } else {
        double s_left = ceil((1.0 - b->tokens) / rl->rate);
        wait = s_left < 1 ? 1 : s_left > 86400 ? 86400 : (unsigned)s_left;
    }
    pthread_mutex_unlock(lock);
    return wait;
}

void hookd_ratelimit_free(hookd_ratelimit *rl)
{
    if (!rl)
        return;
    for (int i = 0; i < LOCK_STRIPES; i++)
        pthread_mutex_destroy(&rl->locks[i]);
    free(rl);
}

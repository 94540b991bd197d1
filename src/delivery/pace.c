#include "delivery/pace.h"

void hookd_pace_set(hookd_pace *p, double rate, int64_t now_us)
{
    double was = p->rate;
    if (rate == was)
        return; /* another setting changed: the bucket goes on as it was */
    if (rate <= 0) {
        *p = (hookd_pace){0};
        return;
    }
    p->rate = rate;
    p->interval = (int64_t)(1e6 / rate + 0.5);
    if (p->interval < 1)
        p->interval = 1;
    p->slack = HOOKD_PACE_BURST_US > p->interval ? HOOKD_PACE_BURST_US - p->interval : 0;
    if (was <= 0 || p->tat < now_us)
        p->tat = now_us;
    else if (p->tat > now_us + p->interval + p->slack)
        p->tat = now_us + p->interval + p->slack;
}

int64_t hookd_pace_ready_at(const hookd_pace *p, int64_t now_us)
{
    if (p->rate <= 0)
        return now_us;
    /* tat is never more than a burst and an interval ahead, unless the wall
     * clock was set back: then the bucket starts again, full, rather than
     * wait out the jump. */
    if (p->tat > now_us + p->interval + p->slack)
        return now_us;
    return p->tat - p->slack;
}

bool hookd_pace_ready(const hookd_pace *p, int64_t now_us)
{
    return hookd_pace_ready_at(p, now_us) <= now_us;
}

void hookd_pace_take(hookd_pace *p, int64_t now_us)
{
    if (p->rate <= 0)
        return;
    int64_t from = p->tat;
    if (from < now_us || from > now_us + p->interval + p->slack)
        from = now_us;
    p->tat = from + p->interval;
}

/*
 * progress.c — the progress bar and lines (progress.h).
 */
#include "cli/progress.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

#define BAR_WIDTH 30
#define BAR_EVERY_MS 100

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hookd_progress_start(hookd_progress *p)
{
    p->start_ms = p->last_ms = mono_ms();
    p->drawn = false;
    if (p->interval_ms <= 0)
        p->interval_ms = 5000;
}

int64_t hookd_progress_elapsed_ms(const hookd_progress *p)
{
    return mono_ms() - p->start_ms;
}

/* "1:05" or "12s". */
static void format_eta(double s, char *out, size_t len)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else if (t >= 60)
        snprintf(out, len, "%ld:%02ld", t / 60, t % 60);
    else
        snprintf(out, len, "%lds", t);
}

/* The fraction of the input consumed, or -1 if its size is unknown. */
static double fraction(const hookd_progress *p, int64_t bytes)
{
    if (p->total_bytes <= 0)
        return -1;
    double f = (double)bytes / (double)p->total_bytes;
    return f > 1 ? 1 : f;
}

static void draw(hookd_progress *p, uint64_t rows, int64_t bytes, int64_t now)
{
    double secs = (double)(now - p->start_ms) / 1000.0;
    double rate = secs > 0 ? (double)rows / secs : 0;
    double f = fraction(p, bytes);
    char eta[32] = "?";
    if (f > 0)
        format_eta(secs * (1 - f) / f, eta, sizeof eta);
    if (p->tty) {
        fputc('\r', stderr);
        if (f >= 0) {
            int filled = (int)(f * BAR_WIDTH + 0.5);
            fputc('[', stderr);
            for (int i = 0; i < BAR_WIDTH; i++)
                fputs(i < filled ? "#" : "-", stderr);
            fprintf(stderr, "] %3d%%  ", (int)(f * 100));
        }
        fprintf(stderr, "%llu %s  %.0f %s/s", (unsigned long long)rows, p->unit, rate, p->unit);
        if (f >= 0)
            fprintf(stderr, "  ETA %s", eta);
        fputs("\033[K", stderr); /* clear what a longer earlier draw left */
        p->drawn = true;
    } else {
        fprintf(stderr, "%s: %llu %s, %.0f %s/s", p->prog, (unsigned long long)rows, p->unit, rate,
                p->unit);
        if (f >= 0)
            fprintf(stderr, ", %d%%, ETA %s", (int)(f * 100), eta);
        fputc('\n', stderr);
    }
    fflush(stderr);
    p->last_ms = now;
}

void hookd_progress_update(hookd_progress *p, uint64_t rows, int64_t bytes)
{
    if (p->quiet)
        return;
    int64_t now = mono_ms();
    if (now - p->last_ms >= (p->tty ? BAR_EVERY_MS : p->interval_ms))
        draw(p, rows, bytes, now);
}

void hookd_progress_note(hookd_progress *p, const char *fmt, ...)
{
    if (p->drawn) {
        fputs("\r\033[K", stderr);
        p->drawn = false;
    }
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

void hookd_progress_finish(hookd_progress *p, uint64_t rows, int64_t bytes)
{
    if (p->quiet || !p->tty)
        return; /* without a terminal the summary says the rest */
    draw(p, rows, bytes, mono_ms());
    fputc('\n', stderr);
    p->drawn = false;
}

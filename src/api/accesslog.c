/*
 * accesslog.c — the API's access log (see accesslog.h).
 */
#include "api/accesslog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"
#include "util/timeutil.h"

#define LINE_MAX_LEN 2048
#define PATH_SHOWN_MAX 1024 /* bytes of a path written, escapes included */

struct hookd_access_log {
    int fd;
    int owned; /* the fd is ours to close (not standard output) */
};

int hookd_access_log_open(const char *path, hookd_access_log **out, char *err, size_t errlen)
{
    hookd_access_log *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return HOOKD_ENOMEM;
    }
    if (strcmp(path, "-") == 0) {
        l->fd = STDOUT_FILENO;
    } else {
        l->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (l->fd < 0) {
            snprintf(err, errlen, "--access-log: cannot open '%s' for appending: %s", path,
                     strerror(errno));
            free(l);
            return HOOKD_EINVAL;
        }
        l->owned = 1;
    }
    *out = l;
    return 0;
}

/* The client's address as text ("-" when unknown). */
static void client_text(const struct sockaddr *sa, char *out, size_t len)
{
    const void *a = NULL;
    if (sa && sa->sa_family == AF_INET)
        a = &((const struct sockaddr_in *)sa)->sin_addr;
    else if (sa && sa->sa_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (!a || !inet_ntop(sa->sa_family, a, out, (socklen_t)len))
        snprintf(out, len, "-");
}

/* Appends path to out[*n..cap), escaping what a reader of the log could
 * mistake for a field's end or a control sequence. */
static void put_path(char *out, size_t *n, size_t cap, const char *path)
{
    static const char HEX[] = "0123456789ABCDEF";
    size_t start = *n;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        bool plain = *p > 0x20 && *p < 0x7f && *p != '%';
        size_t need = plain ? 1 : 3;
        if (*n + need + 3 >= cap || *n - start + need > PATH_SHOWN_MAX) {
            memcpy(out + *n, "...", 3);
            *n += 3;
            return;
        }
        if (plain) {
            out[(*n)++] = (char)*p;
        } else {
            out[(*n)++] = '%';
            out[(*n)++] = HEX[*p >> 4];
            out[(*n)++] = HEX[*p & 15];
        }
    }
    if (*n == start)
        out[(*n)++] = '-';
}

void hookd_access_log_write(hookd_access_log *l, const struct sockaddr *client, const char *method,
                            const char *path, int status, uint64_t bytes, int64_t duration_us)
{
    if (!l)
        return;
    char line[LINE_MAX_LEN], ts[HOOKD_TIME_MAX], addr[INET6_ADDRSTRLEN];
    hookd_time_format_ms(hookd_now_ms(), ts);
    client_text(client, addr, sizeof addr);
    int w = snprintf(line, sizeof line, "%s %s %.16s ", ts, addr, method ? method : "-");
    if (w < 0)
        return;
    size_t n = (size_t)w;
    put_path(line, &n, sizeof line - 64, path ? path : "");
    w = snprintf(line + n, sizeof line - n, " %d %llu %lld.%03lld\n", status,
                 (unsigned long long)bytes, (long long)(duration_us / 1000),
                 (long long)(duration_us % 1000));
    if (w < 0 || (size_t)w >= sizeof line - n)
        return;
    n += (size_t)w;
    ssize_t done = write(l->fd, line, n);
    (void)done; /* a full disk loses lines, never an answer */
}

void hookd_access_log_close(hookd_access_log *l)
{
    if (!l)
        return;
    if (l->owned)
        close(l->fd);
    free(l);
}

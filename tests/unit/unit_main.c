#include <stdarg.h>
#include <stdlib.h>

#include "unit.h"

#define MAX_TESTS 1024

static struct {
    const char *name;
    unit_fn fn;
    unit_arg_fn arg_fn;
    void *arg;
    const char *not_run; /* why it cannot run here, or NULL */
} tests[MAX_TESTS];
static int ntests;
static int current_failed;

static void add(const char *name, unit_fn fn, unit_arg_fn arg_fn, void *arg)
{
    if (ntests == MAX_TESTS) {
        fprintf(stderr, "too many tests\n");
        exit(2);
    }
    tests[ntests].name = name;
    tests[ntests].fn = fn;
    tests[ntests].arg_fn = arg_fn;
    tests[ntests].arg = arg;
    ntests++;
}

void unit_register(const char *name, unit_fn fn)
{
    add(name, fn, NULL, NULL);
}

void unit_register_arg(const char *name, unit_arg_fn fn, void *arg)
{
    add(name, NULL, fn, arg);
}

void unit_register_not_run(const char *name, const char *why)
{
    add(name, NULL, NULL, NULL);
    tests[ntests - 1].not_run = why;
}

void unit_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    current_failed = 1;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0, not_run = 0;
    for (int i = 0; i < ntests; i++) {
        if (argc > 1 && !strstr(tests[i].name, argv[1]))
            continue;
        if (tests[i].not_run) {
            not_run++;
            continue;
        }
        current_failed = 0;
        if (tests[i].fn)
            tests[i].fn();
        else
            tests[i].arg_fn(tests[i].arg);
        if (current_failed) {
            fprintf(stderr, "FAIL %s\n", tests[i].name);
            failed++;
        } else {
            passed++;
        }
    }
    if (!not_run) {
        printf("unit: %d passed, %d failed\n", passed, failed);
        return failed ? 1 : 0;
    }
    printf("unit: %d passed, %d failed, %d NOT RUN\n", passed, failed, not_run);
    /* Each reason once, with how many of the selected tests it kept out. */
    for (int i = 0; i < ntests; i++) {
        if (!tests[i].not_run || (argc > 1 && !strstr(tests[i].name, argv[1])))
            continue;
        int n = 0, seen = 0;
        for (int j = 0; j < ntests; j++) {
            if (!tests[j].not_run || strcmp(tests[j].not_run, tests[i].not_run) != 0 ||
                (argc > 1 && !strstr(tests[j].name, argv[1])))
                continue;
            seen |= j < i;
            n++;
        }
        if (!seen)
            printf("unit: NOT RUN: %d test%s: %s\n", n, n == 1 ? "" : "s", tests[i].not_run);
    }
    return failed ? 1 : 0;
}

"""Prints run_budget.sh's table: what one delivery costs hookd, by part.

Instructions come from callgrind_annotate's inclusive costs of each thread's
entry function (and a few functions inside them worth naming); system calls
from perf stat --per-thread, grouped by the name hookd gives each thread.
"""

import argparse
import collections
import re

# Thread names hookd sets (pthread_setname_np) → the part they do.
PARTS = [
    ("MHD-worker", "HTTP in (libmicrohttpd)"),
    ("hookd-handler", "handlers (parse, validate)"),
    ("hookd-writer", "store writer"),
    ("hookd-engine-io", "engine's store calls"),
    ("hookd-engine", "engine (HTTP out)"),
]

# Entry function of each part in callgrind's report, then what to name
# inside it.
CG_PARTS = [
    ("handlers (parse, validate)", "server.c:pool_main"),
    ("store writer", "sqlite.c:writer_main"),
    ("engine (HTTP out)", "engine.c:engine_main"),
    ("engine's store calls", "engine.c:worker_main"),
]
CG_DETAIL = [
    ("  jansson parse", "json_loadb"),
    ("  jansson free", "json_delete'2"),
    ("  validate", "activities.c:validate_request"),
    ("  ingest command", "sqlite_deliveries.c:ingest_run"),
    ("    LZ4 pack", "lz.c:hookd_lz_pack"),
    ("  outcome command", "sqlite_deliveries.c:outcomes_run"),
    ("  libcurl", "curl_multi_perform"),
    ("  HMAC", "request.c:sign_with"),
]


def callgrind(path):
    costs = {}
    total = 0
    for line in open(path):
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$", line)
        if not m:
            continue
        n = int(m.group(1).replace(",", ""))
        what = m.group(2)
        if what.startswith("PROGRAM TOTALS"):
            total = n
        # keep the largest entry for a name (callgrind repeats recursive ones)
        costs[what] = max(costs.get(what, 0), n)
    return total, costs


def find(costs, needle):
    best = 0
    for what, n in costs.items():
        fn = what.split(" [")[0]
        if fn.endswith(needle) or fn.split(":")[-1] == needle or needle in fn.split("/")[-1]:
            best = max(best, n)
    return best


def perf_stat(path):
    per = collections.defaultdict(lambda: collections.Counter())
    for line in open(path):
        m = re.match(r"\s*(\S+)-(\d+)\s+([\d.,]+)\s+(msec task-clock|syscalls:sys_enter_(\w+))", line)
        if not m:
            continue
        comm = m.group(1)
        value = float(m.group(3).replace(",", ""))
        key = "cpu_ms" if m.group(4).startswith("msec") else m.group(5)
        per[comm][key] += value
    return per


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--annotate")
    ap.add_argument("--cg-n", type=int)
    ap.add_argument("--stat")
    ap.add_argument("--n", type=int)
    ap.add_argument("--written", type=int)
    ap.add_argument("--kept", type=int)
    ap.add_argument("--run")
    a = ap.parse_args()

    total, costs = callgrind(a.annotate)
    print("== instructions per delivery (callgrind, %d activities of ~1 KB, one webhook)" % a.cg_n)
    print("%-30s %12s" % ("part", "instructions"))
    named = 0
    for name, fn in CG_PARTS:
        n = find(costs, fn)
        named += n
        print("%-30s %12s" % (name, "{:,}".format(n // a.cg_n)))
        if name.startswith("handlers"):
            for dname, dfn in CG_DETAIL[:3]:
                print("%-30s %12s" % (dname, "{:,}".format(find(costs, dfn) // a.cg_n)))
        if name.startswith("store writer"):
            for dname, dfn in CG_DETAIL[3:6]:
                print("%-30s %12s" % (dname, "{:,}".format(find(costs, dfn) // a.cg_n)))
        if name.startswith("engine (HTTP"):
            for dname, dfn in CG_DETAIL[6:]:
                print("%-30s %12s" % (dname, "{:,}".format(find(costs, dfn) // a.cg_n)))
    print("%-30s %12s" % ("the rest (libmicrohttpd, start)", "{:,}".format((total - named) // a.cg_n)))
    print("%-30s %12s" % ("total", "{:,}".format(total // a.cg_n)))

    per = perf_stat(a.stat)
    groups = collections.OrderedDict((label, collections.Counter()) for _, label in PARTS)
    for comm, counts in per.items():
        for prefix, label in PARTS:
            if comm == prefix:
                groups[label] += counts
                break
    print()
    print("== per delivery at full speed (perf stat, %d activities)" % a.n)
    calls = ["sendto", "recvfrom", "poll", "epoll_wait", "pwrite64", "pread64", "fdatasync",
             "futex", "mprotect"]
    print("%-30s %8s %8s " % ("part", "CPU µs", "syscalls") + " ".join("%9s" % c for c in calls))
    for label, c in groups.items():
        sys_total = sum(v for k, v in c.items() if k != "cpu_ms")
        print("%-30s %8.1f %8.2f " % (label, c["cpu_ms"] * 1000 / a.n, sys_total / a.n)
              + " ".join("%9.3f" % (c[k] / a.n) for k in calls))
    print()
    print("written %d B and kept %d B a delivery (database files, WAL included while running)"
          % (a.written // a.n, a.kept // a.n))
    for line in open(a.run):
        if "succeeded in" in line:
            print(line.strip())


if __name__ == "__main__":
    main()

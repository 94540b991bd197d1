#!/usr/bin/env python3
"""core_report.py — the summary of bench/run_core.sh (see bench/README.md).

    core_report.py RESULTS_DIR OUT_JSON

Reads the figures each phase left in RESULTS_DIR/<phase>.json, prints the
details and then the summary, one figure a line with its goal and MET or
MISSED, as the last lines, and writes the whole (figures, goals, verdicts and
every phase's raw results) to OUT_JSON so runs can be compared. Standard
library only.
"""
import json
import os
import sys

KIB = 1024.0


def load(d, name):
    p = os.path.join(d, name + ".json")
    if not os.path.exists(p):
        return {}
    with open(p) as f:
        return json.load(f)


def num(v, digits=0):
    if v is None:
        return "n/a"
    return "{:,.{}f}".format(v, digits)


def div(a, b):
    return a / b if a is not None and b else None


def cpu_us(r):
    """hookd's CPU µs a delivery of a run, None when nothing was delivered."""
    v = r.get("hookd_cpu_us_per")
    return v if v is not None and v >= 0 else None


class Summary:
    """The goal lines: each a figure, its goal, and MET/MISSED (or n/a)."""

    def __init__(self):
        self.lines = []
        self.figures = {}

    def goal(self, key, text, value, ok, goal_text, complete=True):
        if value is None:
            verdict = "n/a"
        else:
            verdict = "MET" if ok(value) else "MISSED"
            if not complete:
                verdict += " (INCOMPLETE)"
        self.lines.append("%-19s %s; goal %s" % (verdict, text, goal_text))
        self.figures[key] = {"value": value, "goal": goal_text, "verdict": verdict,
                             "complete": complete}


def main():
    d, out = sys.argv[1], sys.argv[2]
    meta, wrk, floor, e2e = load(d, "meta"), load(d, "wrk"), load(d, "floor"), load(d, "e2e")
    lat, backlog, slow, peer = load(d, "latency"), load(d, "backlog"), load(d, "slow"), load(d, "peer")
    s = Summary()
    det = []

    wrk_rate = wrk.get("per_s")
    floors = [f for f in (floor.get("perform"), floor.get("socket")) if f]
    fl = min(floors, key=lambda f: f["cpu_us_per"]) if floors else None
    run = e2e.get("run") or {}
    rate = run.get("deliveries_per_s")
    n = run.get("delivered") or None
    ok3 = bool(run.get("complete"))
    pe, pa = peer.get("everysec") or {}, peer.get("always") or {}

    det.append("== details ==")
    if wrk_rate:
        det.append("wrk: %s req/s (-t1 -c%s, %s B body)" % (num(wrk_rate), wrk.get("conns"), wrk.get("body_bytes")))
    for f in floors:
        det.append("floor sender (%s loop, %d in flight): %s req/s, %.1f µs CPU a request"
                   % (f["loop"], f["conc"], num(f["per_s"]), f["cpu_us_per"]))
    if run:
        det.append("end to end: %s of %s succeeded in %.2f s = %s/s%s; ingest %s activities/s; "
                   "nginx had every delivery at %.2f s; %d stats reads (p50 %.1f ms, max %.1f ms); "
                   "machine %.0f%% busy"
                   % (num(run["delivered"]), num(run["n"]), run["elapsed_s"], num(rate),
                      "" if ok3 else " (INCOMPLETE)", num(run["ingest_per_s"]), run.get("nginx_all_s", -1),
                      run["polls"], run["read_ms_p50"], run["read_ms_max"], run["machine_busy_pct"]))
        det.append("  hookd CPU %.2f s = %.1f µs a delivery; payload %s B; wrote %s B during the phase, "
                   "%s B with the stop; database grew %s B (empty %s B)"
                   % (run.get("hookd_cpu_s", -1), run.get("hookd_cpu_us_per", -1), e2e.get("payload_bytes"),
                      num(run.get("write_bytes")), num(e2e.get("written_with_stop_bytes")),
                      num(e2e.get("kept_bytes")), num(e2e.get("empty_db_bytes"))))
    la = (lat.get("run") or {})
    if la:
        det.append("latency at %s activities/s: from the 202 p50 %.2f / p90 %.2f / p99 %.2f / max %.2f ms; "
                   "from the send p50 %.2f / p99 %.2f ms; 202 itself p50 %.2f / p99 %.2f ms; %d missing, %d duplicates"
                   % (num(la.get("offered_per_s")), la["from_202_ms"]["p50"], la["from_202_ms"]["p90"],
                      la["from_202_ms"]["p99"], la["from_202_ms"]["max"], la["from_send_ms"]["p50"],
                      la["from_send_ms"]["p99"], la["ingest_202_ms"]["p50"], la["ingest_202_ms"]["p99"],
                      la["missing"], la["duplicates"]))
    fill, bw, bo = backlog.get("fill") or {}, backlog.get("with") or {}, backlog.get("without") or {}
    if fill:
        det.append("backlog fill: %s small activities accepted in %.1f s (%s/s), all attempted once after %.1f s%s"
                   % (num(fill["accepted"]), fill["ingest_s"], num(fill["ingest_per_s"]), fill["elapsed_s"],
                      "" if fill["complete"] else " (INCOMPLETE: not all attempted)"))
    for name, r in (("with the backlog", bw), ("without", bo)):
        if r:
            det.append("  %s: %s/s (%s in %.2f s%s), %s µs CPU a delivery, pending lookups p50 %.1f ms, "
                       "RSS %s MiB, machine %.0f%% busy"
                       % (name, num(r["deliveries_per_s"]), num(r["delivered"]), r["elapsed_s"],
                          "" if r["complete"] else ", INCOMPLETE", num(cpu_us(r), 1),
                          r["read_ms_p50"], num(r.get("vm_hwm_kb", 0) / KIB), r["machine_busy_pct"]))
    sa, st, sw = slow.get("alone") or {}, slow.get("twin") or {}, slow.get("with") or {}
    for name, r in (("fast webhook alone", sa), ("beside a second fast one", st),
                    ("beside the slow one", sw)):
        if r:
            det.append("  %s: %s/s (%s in %.2f s%s), machine %.0f%% busy"
                       % (name, num(r["deliveries_per_s"]), num(r["delivered"]), r["elapsed_s"],
                          "" if r["complete"] else ", INCOMPLETE", r["machine_busy_pct"]))
    if sw:
        rx = slow.get("receiver") or {}
        det.append("  the slow receiver (answers after %s s) held at most %s requests at once (%s in all); "
                   "hookd's CPU while they wait: %s%% of a core"
                   % (num(rx.get("hold_ms", 0) / 1000.0), rx.get("held_max", "?"), rx.get("received", "?"),
                      slow.get("idle_cpu_pct")))
    for name, r in (("everysec", pe), ("always", pa)):
        if r:
            det.append("BullMQ peer (Redis appendonly, appendfsync %s): %s/s (%s in %.2f s%s), adds %s/s, worker %.2f s + Redis %.2f s "
                       "CPU = %.1f µs a delivery (producers %.2f s)"
                       % (name, num(r["per_s"]), num(r["completed"]), r["elapsed_s"],
                          "" if r["complete"] else ", INCOMPLETE", num(r["add_per_s"]), r["worker_cpu_s"],
                          r["redis_cpu_s"], r["cpu_us_per"], r["producer_cpu_s"]))
    if pe:
        det.append("  (hookd fsyncs every commit before its 202; appendfsync everysec may lose the last second, "
                   "so only the 'always' run is equal durability)")
    det.append("phases (s): %s; total %s s" % (meta.get("phase_s", ""), meta.get("total_s", "")))
    print("\n".join(det))

    # ---- the goals
    floor_us = fl["cpu_us_per"] if fl else None
    s.goal("e2e_vs_wrk", "end to end %s/s = %s × wrk (%s req/s)" % (num(rate), num(div(rate, wrk_rate), 3), num(wrk_rate)),
           div(rate, wrk_rate), lambda v: v >= 0.25, ">= 0.25 × (aim 0.3)", ok3)
    s.goal("e2e_vs_peer", "end to end = %s × the BullMQ peer (%s/s, appendfsync everysec)"
           % (num(div(rate, pe.get("per_s")), 2), num(pe.get("per_s"))),
           div(rate, pe.get("per_s")), lambda v: v >= 3, ">= 3 ×", ok3 and pe.get("complete", True))
    cpu = cpu_us(run)
    s.goal("cpu_vs_floor", "hookd CPU %s µs a delivery = %s × the floor's %s µs"
           % (num(cpu, 1), num(div(cpu, floor_us), 2), num(floor_us, 1)),
           div(cpu, floor_us), lambda v: v <= 2.5, "<= 2.5 ×", ok3)
    s.goal("ingest", "ingest %s activities/s" % num(run.get("ingest_per_s")), run.get("ingest_per_s"),
           lambda v: v >= 50000, ">= 50,000/s", run.get("accepted") == run.get("n"))
    kept = div(e2e.get("kept_bytes"), n)
    written = div(run.get("write_bytes"), n)
    written_stop = div(e2e.get("written_with_stop_bytes"), n)
    s.goal("kept_per_delivery", "kept %s B a delivery (written %s B, %s B with the stop)"
           % (num(kept), num(written), num(written_stop)),
           kept, lambda v: v <= 1.5 * KIB, "<= 1.5 KiB (1,536 B)", ok3)
    f202 = la.get("from_202_ms", {}) if la else {}
    s.goal("latency_p99", "p99 202→first attempt %s ms (p50 %s ms)" % (num(f202.get("p99"), 2), num(f202.get("p50"), 2)),
           f202.get("p99"), lambda v: v <= 20, "<= 20 ms", bool(la) and not la.get("missing"))
    br = div(bw.get("deliveries_per_s"), bo.get("deliveries_per_s"))
    s.goal("backlog_ratio", "backlog ratio %s (%s/s with %s waiting retries, %s/s without)"
           % (num(br, 2), num(bw.get("deliveries_per_s")), num(meta.get("backlog")), num(bo.get("deliveries_per_s"))),
           br, lambda v: v >= 0.9, ">= 0.9",
           bool(fill.get("complete")) and bool(bw.get("complete")) and bool(bo.get("complete")))
    # VmHWM read just before each hookd was stopped (else at the last success).
    rss_e2e = e2e.get("vm_hwm_stop_kb") or run.get("vm_hwm_kb")
    rss_bl = backlog.get("with_vm_hwm_stop_kb") or bw.get("vm_hwm_kb")
    rss = [v / KIB for v in (rss_e2e, rss_bl) if v]
    s.goal("peak_rss", "peak RSS %s MiB (end to end %s, with the backlog %s)"
           % (num(max(rss) if rss else None, 1), num(rss_e2e / KIB if rss_e2e else None, 1),
              num(rss_bl / KIB if rss_bl else None, 1)),
           max(rss) if rss else None, lambda v: v <= 64, "<= 64 MiB")
    # Against the twin (same work to store), so the ratio is the slowness's
    # cost; the ratio to the webhook alone is in the details.
    sr = div(sw.get("deliveries_per_s"), st.get("deliveries_per_s"))
    s.goal("slow_ratio", "slow-webhook ratio %s (%s/s beside it, %s/s beside a fast twin; %s/s alone)"
           % (num(sr, 2), num(sw.get("deliveries_per_s")), num(st.get("deliveries_per_s")),
              num(sa.get("deliveries_per_s"))),
           sr, lambda v: v >= 0.9, ">= 0.9", bool(sw.get("complete")) and bool(st.get("complete")))

    doc = {"meta": meta, "figures": s.figures,
           "extra": {"wrk_per_s": wrk_rate, "floor_cpu_us_per": fl and fl["cpu_us_per"],
                     "floor_loop": fl and fl["loop"], "e2e_per_s": rate,
                     "written_per_delivery": written, "written_with_stop_per_delivery": written_stop,
                     "peer_everysec_per_s": pe.get("per_s"), "peer_always_per_s": pa.get("per_s"),
                     "peer_cpu_us_per": pe.get("cpu_us_per"), "slow_idle_cpu_pct": slow.get("idle_cpu_pct"),
                     "backlog_fill_s": fill.get("elapsed_s")},
           "phases": {"wrk": wrk, "floor": floor, "e2e": e2e, "latency": lat, "backlog": backlog,
                      "slow": slow, "peer": peer}}
    with open(out, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
    print("== summary (hookd %s, %s cores, machine %s%% busy before the run and %s%% after, %s) =="
          % (meta.get("commit"), meta.get("cores"), meta.get("idle_busy_pct"), meta.get("after_busy_pct"),
             meta.get("date")))
    print("\n".join(s.lines))
    print("summary JSON: %s" % out)


if __name__ == "__main__":
    main()

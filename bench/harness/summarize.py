#!/usr/bin/env python3
"""Summarize run-relay-bench.sh JSON lines: median [min-max] per label and workload,
plus the ratio of medians against a baseline label. Prints a Markdown table."""
import argparse, json, statistics
from collections import OrderedDict

METRICS = [("accept_mps", "accept msg/s"), ("e2e_mps", "e2e msg/s"),
           ("lat_p50_ms", "lat p50 ms"), ("lat_p99_ms", "lat p99 ms"),
           ("cpu_s_per_1k", "CPU s/1k msg"), ("peak_rss_mb", "peak RSS MB"),
           ("peak_pss_mb", "peak PSS MB")]

ap = argparse.ArgumentParser()
ap.add_argument("files", nargs="+")
ap.add_argument("--baseline", help="label to compute ratios against (default: first label)")
a = ap.parse_args()
rows = []
for fn in a.files:
    with open(fn) as f:
        rows += [json.loads(l) for l in f if l.strip().startswith("{")]
groups = OrderedDict()
for r in rows:
    key = (r["count"], r["concurrency"], r["size"], r["rcpts"], r.get("per_conn", 1), r["client"])
    groups.setdefault(key, OrderedDict()).setdefault(r["label"], []).append(r)


def cell(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "n/a", None
    m = statistics.median(vals)
    return f"{m:g} [{min(vals):g}-{max(vals):g}]", m


for (count, conc, size, rcpts, per_conn, client), labels in groups.items():
    base = a.baseline if a.baseline in labels else next(iter(labels))
    conn = "a new connection per message" if per_conn <= 1 else f"{per_conn} messages per connection"
    print(f"\n### {count} msgs, {rcpts} rcpt/msg, {size} B body, concurrency {conc}, {conn}, client {client}\n")
    print("| label | runs | complete | " + " | ".join(h for _, h in METRICS) + " |")
    print("|---" * (3 + len(METRICS)) + "|")
    meds = {}
    for lab, rs in labels.items():
        cells = []
        for k, _ in METRICS:
            c, m = cell([r.get(k) for r in rs])
            meds[(lab, k)] = m
            cells.append(c)
        done = sum(1 for r in rs if r.get("complete"))
        print(f"| {lab} | {len(rs)} | {done}/{len(rs)} | " + " | ".join(cells) + " |")
    if len(labels) > 1:
        print(f"\nRatio of medians vs **{base}**:\n")
        print("| label | " + " | ".join(h for _, h in METRICS) + " |")
        print("|---" * (1 + len(METRICS)) + "|")
        for lab in labels:
            out = []
            for k, _ in METRICS:
                x, b = meds.get((lab, k)), meds.get((base, k))
                out.append(f"{x / b:.2f}x" if x is not None and b else "n/a")
            print(f"| {lab} | " + " | ".join(out) + " |")

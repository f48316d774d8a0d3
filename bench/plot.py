#!/usr/bin/env python3
"""Draw one PNG per scenario from bench/run.sh's result rows (TSV).

    plot.py <results.tsv> <directory>

Rows: scenario, clients, synchronous_commit, notify, events/s, baseline
events/s, ratio, target, errors, note (scenario n: load clients, -, -,
notify, median ms, p99 ms, max ms, target, missing, note).  Writes
bench_<scenario>.png for each scenario present (g is drawn within a).
Uses matplotlib (Debian: python3-matplotlib).
"""

import collections
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

TITLES = {
    "a": "(a) one event per append, random streams: ratio to a plain INSERT",
    "b": "(b) one hot stream: ratio to plain INSERTs",
    "c": "(c) 100-event batches: ratio to a 100-row INSERT",
    "d": "(d) read_stream_forward: ratio to a plain SELECT",
    "e": "(e) read_all_forward: ratio to a plain SELECT",
}
TARGETS = {"a": 0.90, "b": 0.50, "c": 0.80, "d": 0.95, "e": 0.95}


def read(path):
    rows = collections.defaultdict(list)
    with open(path) as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 7:
                rows[cols[0]].append(cols)
    return rows


def ratio_chart(scen, rows, out):
    """Bars of ratio per clients; one group per (sync, notify)."""
    series = collections.OrderedDict()
    clients = []
    for r in rows:
        key = "sync %s" % r[2] + ("" if scen not in ("a",) else ", notify %s" % r[3])
        series.setdefault(key, {})[r[1]] = float(r[6]) if r[6] not in ("-", "") else 0.0
        if r[1] not in clients:
            clients.append(r[1])
    fig, ax = plt.subplots(figsize=(8, 4.2))
    width = 0.8 / max(1, len(series))
    for i, (key, vals) in enumerate(series.items()):
        xs = [c + (i - (len(series) - 1) / 2) * width for c in range(len(clients))]
        ys = [vals.get(c, 0) for c in clients]
        bars = ax.bar(xs, ys, width, label=key)
        for x, y in zip(xs, ys):
            ax.text(x, y + 0.01, "%.2f" % y, ha="center", va="bottom", fontsize=7)
    ax.axhline(1.0, color="black", linewidth=0.8)
    if scen in TARGETS:
        ax.axhline(TARGETS[scen], color="red", linestyle="--", linewidth=0.8,
                   label="target %.2f" % TARGETS[scen])
    ax.set_xticks(range(len(clients)))
    ax.set_xticklabels(["%s clients" % c for c in clients])
    ax.set_ylabel("events/s ÷ baseline events/s")
    ax.set_ylim(0, max(1.2, max((max(v.values()) for v in series.values()), default=1) + 0.15))
    ax.set_title(TITLES.get(scen, scen), fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def latency_chart(rows, out):
    labels = ["%s, load %s" % (r[3], r[1]) for r in rows]
    med = [float(r[4]) if r[4] != "-" else 0 for r in rows]
    p99 = [float(r[5]) if r[5] != "-" else 0 for r in rows]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], med, 0.4, label="median")
    ax.bar([x + 0.2 for x in xs], p99, 0.4, label="p99")
    for x, m, p in zip(xs, med, p99):
        ax.text(x - 0.2, m, "%.1f" % m, ha="center", va="bottom", fontsize=7)
        ax.text(x + 0.2, p, "%.1f" % p, ha="center", va="bottom", fontsize=7)
    ax.axhline(20, color="red", linestyle="--", linewidth=0.8, label="target p99 20 ms")
    ax.set_xticks(list(xs))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("ms from the append's reply to the notification")
    ax.set_title("(n) notify latency at a LISTENing client (notify mode, clients of load)",
                 fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main():
    rows = read(sys.argv[1])
    outdir = sys.argv[2]
    for scen, rs in sorted(rows.items()):
        out = os.path.join(outdir, "bench_%s.png" % scen)
        if scen == "n":
            latency_chart(rs, out)
        elif scen in TITLES:
            ratio_chart(scen, rs, out)
        else:
            continue
        print("drew %s" % out)


if __name__ == "__main__":
    main()

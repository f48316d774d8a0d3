#!/usr/bin/env python3
"""Draw the upper-bound experiment of docs/benchmarks.md (issue 13, round 5).

    plot_bounds.py <round5_bounds.tsv> <out.png>

Rows (header first): run, clients, variant, appends/s, INSERTs/s, ratio, CPU
µs per append, CPU µs per INSERT.  One horizontal bar per row, grouped by
run, with the targets of (a) drawn in.  Uses matplotlib (Debian:
python3-matplotlib).
"""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        rows = [line.rstrip("\n").split("\t") for line in f][1:]
    labels, ratios, colours = [], [], []
    palette = {"32": "tab:red", "8a": "tab:blue", "8b": "tab:green"}
    for run, clients, variant, _, _, ratio, cpu, base_cpu in reversed(rows):
        labels.append("%s clients (%s): %s\n%s µs CPU per append, INSERT %s" %
                      (clients, run, variant, cpu, base_cpu))
        ratios.append(float(ratio))
        colours.append(palette.get(run, "tab:gray"))
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(rows) + 1.2))
    bars = ax.barh(range(len(rows)), ratios, color=colours)
    for bar, r in zip(bars, ratios):
        ax.text(r + 0.005, bar.get_y() + bar.get_height() / 2, "%.2f" % r,
                va="center", fontsize=8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.axvline(0.90, color="black", linestyle="--", linewidth=0.8,
               label="target 0.90 (async, 8 and 32)")
    ax.axvline(0.95, color="gray", linestyle=":", linewidth=0.8,
               label="target 0.95 (notify off, 8)")
    ax.set_xlim(0.6, 1.05)
    ax.set_xlabel("appends/s ÷ plain INSERTs/s, same run (median of 3–4 alternating rounds)")
    ax.set_title("Issue 13, round 5: what the stream-state read costs (upper bounds)", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()

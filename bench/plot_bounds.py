#!/usr/bin/env python3
"""Draw an upper-bound experiment of docs/benchmarks.md (issue 13, rounds 5 and 6).

    plot_bounds.py <bounds.tsv> <out.png> [title]
    plot_bounds.py --paired <paired.tsv> <out.png> [title]

Bounds rows (header first): run, clients, variant, appends/s, INSERTs/s,
ratio, CPU µs per append, CPU µs per INSERT.  One horizontal bar per row,
grouped by run; the ratio is the file's (round 5: ratio of medians; round 6:
median of the rounds' own ratios).

Paired rows (header first, bench/paired.sh's figures): clients, variant, the
ratios of the rounds, comma separated (each a variant's events/s over the
plain INSERT's in the same round).  One row of dots per variant with its
median as a bar, so that the noise shows beside the medians.

Both draw the targets of (a) in.  Uses matplotlib (Debian: python3-matplotlib).
"""

import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_rows(path):
    with open(path) as f:
        return [line.rstrip("\n").split("\t") for line in f][1:]


def draw_bounds(ax, rows):
    labels, ratios, colours = [], [], []
    palette = {"32": "tab:red", "32b": "tab:orange", "8a": "tab:blue", "8b": "tab:green"}
    for run, clients, variant, _, _, ratio, cpu, base_cpu in reversed(rows):
        labels.append("%s clients (%s): %s\n%s µs CPU per append, INSERT %s" %
                      (clients, run, variant, cpu, base_cpu))
        ratios.append(float(ratio))
        colours.append(palette.get(run, "tab:gray"))
    bars = ax.barh(range(len(rows)), ratios, color=colours)
    for bar, r in zip(bars, ratios):
        ax.text(r + 0.005, bar.get_y() + bar.get_height() / 2, "%.2f" % r,
                va="center", fontsize=8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xlabel("appends/s ÷ plain INSERTs/s, same run (median over alternating rounds)")
    return "lower right"


def draw_paired(ax, rows):
    colours = {"8": "tab:blue", "32": "tab:red"}
    labels = []
    for y, (clients, variant, ratios) in enumerate(reversed(rows)):
        values = [float(r) for r in ratios.split(",")]
        med = statistics.median(values)
        colour = colours.get(clients, "tab:gray")
        ax.scatter(values, [y] * len(values), s=14, color=colour, alpha=0.6)
        ax.plot([med, med], [y - 0.3, y + 0.3], color=colour, linewidth=2.5)
        ax.text(1.125, y, "%.2f" % med, va="center", fontsize=8)
        labels.append("%s clients: %s" % (clients, variant))
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.axvline(1.00, color="lightgray", linewidth=0.8)
    ax.set_xlabel("events/s ÷ plain INSERTs/s in the same round (dots: rounds; bar: median)")
    return "lower left"


def main():
    args = sys.argv[1:]
    paired = bool(args) and args[0] == "--paired"
    if paired:
        args = args[1:]
    if len(args) not in (2, 3):
        sys.exit(__doc__)
    rows = read_rows(args[0])
    fig, ax = plt.subplots(figsize=(10, (0.45 if paired else 0.55) * len(rows) + 1.3))
    legend_at = (draw_paired if paired else draw_bounds)(ax, rows)
    ax.axvline(0.90, color="black", linestyle="--", linewidth=0.8,
               label="target 0.90 (async, 8 and 32)")
    ax.axvline(0.95, color="gray", linestyle=":", linewidth=0.8,
               label="target 0.95 (notify off, 8)")
    ax.set_xlim(0.6, 1.1 if not paired else 1.16)
    ax.set_title(args[2] if len(args) == 3 else
                 "Issue 13, round 5: what the stream-state read costs (upper bounds)",
                 fontsize=10)
    ax.legend(fontsize=7, loc=legend_at)
    fig.tight_layout()
    fig.savefig(args[1], dpi=110)


if __name__ == "__main__":
    main()

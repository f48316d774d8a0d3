#!/usr/bin/env python3
"""Compare two `perf record -a -g -F 997` profiles per transaction.

    perf_per_tx.py <a.data> <transactions of a> <b.data> <transactions of b>

Each profile's self samples are summed per (command, symbol) and turned into
microseconds per transaction (one sample is 1/997 s of one CPU), then
printed largest difference (b - a) first.  Record both the same way, e.g.

    perf record -a -g -F 997 -o a.data -- pgbench -n -M prepared -c 8 -T 10 -f a.sql
    perf record -a -g -F 997 -o b.data -- pgbench -n -M prepared -c 8 -T 10 -f b.sql

and pass pgbench's "number of transactions actually processed".
"""

import collections
import subprocess
import sys

HZ = 997


def load(data):
    out = subprocess.run(
        ["perf", "report", "-i", data, "--no-children", "--sort", "comm,dso,symbol",
         "-q", "-g", "none", "--percent-limit", "0", "-F", "sample,comm,dso,sym",
         "-t", "\t"],
        capture_output=True, text=True, check=True).stdout
    samples = collections.Counter()
    for line in out.splitlines():
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) < 4 or not fields[0].isdigit():
            continue
        samples[(fields[1], fields[3])] += int(fields[0])
    return samples


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    a, tx_a = load(sys.argv[1]), int(sys.argv[2])
    b, tx_b = load(sys.argv[3]), int(sys.argv[4])
    us = 1e6 / HZ
    total_a = sum(a.values()) * us / tx_a
    total_b = sum(b.values()) * us / tx_b
    print(f"µs per transaction: a {total_a:.1f}  b {total_b:.1f}  b - a {total_b - total_a:.1f}")
    keys = sorted(set(a) | set(b), key=lambda k: -(b[k] * us / tx_b - a[k] * us / tx_a))
    for k in keys[:40] + [None] + keys[-10:]:
        if k is None:
            print("...")
            continue
        da, db = a[k] * us / tx_a, b[k] * us / tx_b
        print(f"{db - da:8.2f}  a {da:7.2f}  b {db:7.2f}  {k[0]} {k[1]}")


if __name__ == "__main__":
    main()

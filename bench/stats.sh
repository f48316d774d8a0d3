# shellcheck shell=bash
# bench/stats.sh: the arithmetic bench/run.sh and bench/paired.sh share.
# Sourced, not run.

# median <value>...: the middle value (the mean of the two middle ones for
# an even count)
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# ratio <a> <b>: a / b to two places, "-" when b is 0
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}'; }

# round_ratios "<tps of each round>" "<baseline tps of each round>": each
# round's own ratio (0 where the baseline has none), space separated
round_ratios() {
    local -a a b
    local i
    read -ra a <<<"$1"
    read -ra b <<<"$2"
    for i in "${!a[@]}"; do
        awk -v x="${a[$i]}" -v y="${b[$i]:-0}" 'BEGIN {if (y > 0) printf "%s ", x / y; else printf "0 "}'
    done
}

# paired_ratio "<tps of each round>" "<baseline tps of each round>": the
# median of the rounds' own ratios.  A slow spell of a shared machine moves a
# round's baseline and scenario together, so this drifts less than the ratio
# of the medians (docs/benchmarks.md, issue 13, round 6).
paired_ratio() {
    local -a r
    read -ra r <<<"$(round_ratios "$1" "$2")"
    awk -v m="$(median "${r[@]}")" 'BEGIN {printf "%.2f", m}'
}

# pgbench_tps: the tps pgbench printed (its output on stdin), empty if none
pgbench_tps() { sed -nE 's/^tps = ([0-9.]+) \(without initial connection time\)/\1/p'; }

#!/usr/bin/env bash
# memory.sh — peak memory of `sighunt hunt -` on generated auditd streams of
# increasing size: bounded state means the peak RSS stays flat as the input grows.
#
# Usage:   bench/memory.sh [GIB ...]          (default: 1 4)
#          SIGHUNT=/path/to/sighunt bench/memory.sh 0.25 1
#
# bench/gen_audit.py writes the stream (exec events of ever-new pids over 256 hosts,
# and every 2,000 events the seed's two sequences: chmod +x then nohup of a /tmp
# payload, nohup nc then bind and listen), piped straight into `sighunt hunt - --format
# jsonl`, so nothing is stored on disk. `/usr/bin/time -v` reports the peak resident set
# size. Findings (one per 1,000 events here) are sorted newest first in bounded
# memory (on disk beyond 16 MiB of them): bench/memory-findings.sh measures that part.
#
# Needs python3 and GNU time (apt-get install -y time). Builds the release binary when
# SIGHUNT is not set.

set -euo pipefail
cd "$(dirname "$0")/.."

command -v python3 >/dev/null || { echo "memory.sh: python3 is needed" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "memory.sh: GNU time is needed (apt-get install -y time)" >&2; exit 2; }
if [[ -z ${SIGHUNT-} ]]; then
    cargo build --release --quiet
    SIGHUNT=${CARGO_TARGET_DIR:-target}/release/sighunt
fi
sizes=("$@")
((${#sizes[@]})) || sizes=(1 4)

tmp=$(mktemp -d /tmp/sighunt-membench.XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT

printf '%-8s %-12s %-10s %-10s %-12s %-10s\n' "input" "events" "findings" "seconds" "peak RSS" "MB/s"
for gib in "${sizes[@]}"; do
    bytes=$(python3 -c "print(int(float('$gib') * 1024**3))")
    python3 bench/gen_audit.py "$bytes" |
        /usr/bin/time -v -o "$tmp/time.txt" "$SIGHUNT" hunt - --format jsonl -o "$tmp/out.jsonl" \
            2>"$tmp/summary.txt"
    rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time.txt")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tmp/time.txt")
    secs=$(python3 -c "p='$wall'.split(':'); print(round(sum(float(x) * 60**i for i, x in enumerate(reversed(p))), 1))")
    events=$(grep -o '[0-9]* events' "$tmp/summary.txt" | cut -d' ' -f1)
    findings=$(wc -l <"$tmp/out.jsonl")
    printf '%-8s %-12s %-10s %-10s %-12s %-10s\n' "${gib} GiB" "$events" "$findings" "$secs" \
        "$((rss_kb / 1024)) MiB" "$(python3 -c "print(round($bytes / 1048576 / max($secs, 0.1)))")"
done
echo "(MB/s is bounded by the generator, python3, not by sighunt: see the README)"

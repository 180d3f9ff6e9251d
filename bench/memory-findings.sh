#!/usr/bin/env bash
# memory-findings.sh — peak RSS of `sighunt hunt` against the number of findings:
# audit streams of N nohup launches (one finding each, distinct pid, target and
# time) piped into `sighunt hunt -`, sorted newest first (`--sort time`: the on-disk
# sort) and `--sort none` (written as released). GNU time reports the peak resident
# set size ("Maximum resident set size"). Flat figures mean bounded memory.
#
# Usage:   bench/memory-findings.sh [COUNT ...]     (default: 100000 1000000 3000000)
#          SIGHUNT=/path/to/sighunt THREADS=1 bench/memory-findings.sh 100000
#
# Needs python3 and GNU time (apt-get install -y time). Builds the release binary when
# SIGHUNT is not set.

set -euo pipefail
cd "$(dirname "$0")/.."

command -v python3 >/dev/null || { echo "memory-findings.sh: python3 is needed" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "memory-findings.sh: GNU time is needed (apt-get install -y time)" >&2; exit 2; }
if [[ -z ${SIGHUNT-} ]]; then
    cargo build --release --quiet
    SIGHUNT=${CARGO_TARGET_DIR:-target}/release/sighunt
fi
counts=("$@")
((${#counts[@]})) || counts=(100000 1000000 3000000)

tmp=$(mktemp -d /tmp/sighunt-findings-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# N nohup execs, one finding each, one millisecond apart.
gen() {
    python3 - "$1" <<'PY'
import sys
out = sys.stdout
for i in range(int(sys.argv[1])):
    s = 1000 + i; t = 1_700_000_000 + s // 1000; ms = s % 1000
    target = f"/tmp/.x/agent-{i}-" + "A" * 64
    hx = ("nohup\0" + target).encode().hex().upper()
    out.write(
        f'type=SYSCALL msg=audit({t}.{ms:03}:{s}): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=2 ppid=1 pid={10000 + i} auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=1 comm="nohup" exe="/usr/bin/nohup" key=(null)\n'
        f'type=EXECVE msg=audit({t}.{ms:03}:{s}): argc=2 a0="nohup" a1="{target}"\n'
        f'type=PROCTITLE msg=audit({t}.{ms:03}:{s}): proctitle={hx}\n')
PY
}

printf '%-10s %-6s %13s %10s %10s\n' findings sort peak_rss_MiB wall written
for n in "${counts[@]}"; do
    for sort in time none; do
        gen "$n" | /usr/bin/time -v -o "$tmp/time" "$SIGHUNT" hunt --no-config --no-progress \
            ${THREADS:+-j "$THREADS"} -f jsonl --sort "$sort" - > "$tmp/out" 2> "$tmp/err"
        kib=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$tmp/time")
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tmp/time")
        written=$(wc -l < "$tmp/out")
        [[ $written -eq $n ]] || { echo "expected $n findings, got $written" >&2; cat "$tmp/err" >&2; exit 1; }
        printf '%-10s %-6s %13.1f %10s %10s\n' "$n" "$sort" "$(awk "BEGIN {print $kib / 1024}")" "$wall" "$written"
        rm -f "$tmp/out"
    done
done

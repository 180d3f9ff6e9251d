#!/usr/bin/env bash
# Overhead of `sighunt sense` (the eBPF sensor) on the host it watches: three
# storms timed with and without the sensor running, alternating, REPS times each,
# medians reported; plus the sensor's own CPU time and what it counted.
#
#   exec:  bash forks and execs /bin/true N_EXEC times (every child's exec and its
#          libc/bash rt_sigaction calls cross the tracepoints; none is SIG_IGN on
#          a reported signal, so all are filtered in the kernel);
#   sig:   one perl process sets SIGTERM to SIG_IGN and back N_SIG times (every
#          other call passes the filter and hits the per-process rate limit);
#   trap:  N_TRAP short-lived `sh -c "trap '' TERM"` processes (each one a full
#          event: ring buffer, /proc enrichment, judgement, output).
#
# Usage: bench/sense-overhead.sh [SIGHUNT_BINARY]   (root; built with --features ebpf)
set -euo pipefail

BIN=${1:-target/release/sighunt}
N_EXEC=${N_EXEC:-2000}
N_SIG=${N_SIG:-200000}
N_TRAP=${N_TRAP:-500}
REPS=${REPS:-5}
# STORMS: which storms to run (default "exec sig trap").

[ "$(id -u)" = 0 ] || { echo "sense-overhead: needs root" >&2; exit 2; }
[ -x "$BIN" ] || { echo "sense-overhead: no binary $BIN (cargo build --release --features ebpf)" >&2; exit 2; }
command -v perl >/dev/null || { echo "sense-overhead: needs perl" >&2; exit 2; }

work=$(mktemp -d)
trap 'kill "${SENSE_PID:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

now_ns() { date +%s%N; }
storm() {
  case $1 in
    exec) env --default-signal bash -c "for ((i=0;i<$N_EXEC;i++)); do /bin/true; done" ;;
    sig) env --default-signal perl -e "for (1..$N_SIG) { \$SIG{TERM}='IGNORE'; \$SIG{TERM}='DEFAULT' }" ;;
    trap) env --default-signal bash -c "for ((i=0;i<$N_TRAP;i++)); do sh -c \"trap '' TERM; :\"; done" ;;
  esac
}
timed() { local t0; t0=$(now_ns); storm "$1"; echo $(( ($(now_ns) - t0) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cpu_ms() { # utime+stime of a pid, in ms
  awk -v hz="$(getconf CLK_TCK)" '{sub(/.*\) /,""); print ($12+$13)*1000/hz}' "/proc/$1/stat"
}

start_sensor() {
  "$BIN" sense --format jsonl --no-config --rate 16 >"$work/findings.jsonl" 2>"$work/sense.err" &
  SENSE_PID=$!
  for _ in $(seq 200); do grep -q 'watching' "$work/sense.err" 2>/dev/null && return; sleep 0.05; done
  echo "sense-overhead: the sensor did not start:" >&2; cat "$work/sense.err" >&2; exit 1
}
stop_sensor() { kill -INT "$SENSE_PID"; wait "$SENSE_PID" || true; SENSE_PID=; }

printf '%-6s %10s %12s %12s %9s %12s\n' storm ops "off ms(med)" "on ms(med)" overhead "sensor cpu"
for s in ${STORMS:-exec sig trap}; do
  off=(); on=(); cpu=0
  for _ in $(seq "$REPS"); do
    off+=("$(timed "$s")")
    start_sensor
    c0=$(cpu_ms "$SENSE_PID")
    on+=("$(timed "$s")")
    sleep 0.3 # let it judge what is still queued
    c1=$(cpu_ms "$SENSE_PID")
    cpu=$(awk -v a="$cpu" -v b="$c0" -v c="$c1" 'BEGIN{print a + c - b}')
    stop_sensor
    tail -n1 "$work/sense.err" >"$work/summary.$s"
  done
  m_off=$(printf '%s\n' "${off[@]}" | median)
  m_on=$(printf '%s\n' "${on[@]}" | median)
  ops=$([ "$s" = exec ] && echo "$N_EXEC" || { [ "$s" = sig ] && echo "$N_SIG"; } || echo "$N_TRAP")
  [ "$s" = trap ] && ops=$N_TRAP
  printf '%-6s %10s %12s %12s %8s%% %10sms\n' "$s" "$ops" "$m_off" "$m_on" \
    "$(awk -v a="$m_off" -v b="$m_on" 'BEGIN{printf "%.1f", (b-a)*100/a}')" \
    "$(awk -v c="$cpu" -v r="$REPS" 'BEGIN{printf "%.0f", c/r}')"
  echo "  last run: $(cat "$work/summary.$s")"
done
echo "sense-overhead: done (REPS=$REPS, medians; sensor cpu is per run)"

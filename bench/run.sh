#!/usr/bin/env bash
# The side-by-side benchmark: sighunt against grep, ripgrep, ausearch, Chainsaw and
# Hayabusa, on a large generated auditd corpus and a multi-file EVTX set.
#
#   bench/run.sh            # one command on a fresh machine
#
# What it does:
#  1. installs grep/ripgrep/auditd (ausearch)/GNU time from Debian's packages if
#     missing (as root with apt-get; BENCH_NO_INSTALL=1 skips this);
#  2. builds sighunt (release) and the corpus generator (bench/gen);
#  3. generates BENCH_SIZE_MB (default 1024) MiB of realistic raw audit.log
#     (bench/gen: mostly non-exec syscalls and benign execs of many pids, records
#     of up to 8 events interleaved, ~1 planted launch in 2,000 events: nohup, hex
#     `sh -c`, split arguments, wrappers, `trap ''`/SIG_IGN), plus a 1/8-size one
#     to show that peak RSS does not grow with the input;
#  4. assembles an EVTX set: the shared corpus's .evtx files copied
#     BENCH_EVTX_COPIES times (default 40, ~100 MB);
#  5. times each tool (wall clock and peak RSS with /usr/bin/time) with the files
#     in the page cache, and prints a table: MB/s and peak RSS side by side.
#
# Chainsaw and Hayabusa are never built by this script: give their binaries as
# $CHAINSAW / $HAYABUSA (or have them on PATH); without them their rows say "not
# available". They run the equivalent Sigma rules of bench/sigma/rules/ (Chainsaw
# with bench/sigma/chainsaw-mapping.yml; Hayabusa needs its rules config dir,
# $HAYABUSA_CONFIG, default: rules/config next to the binary).
#
# Environment: BENCH_DIR (data, default target/bench), BENCH_SIZE_MB,
# BENCH_EVTX_COPIES, BENCH_RUNS (best of N, default 1), SIGHUNT_CORPUS (default
# ../shared/corpus), BENCH_NO_INSTALL.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=${BENCH_DIR:-$ROOT/target/bench}
SIZE_MB=${BENCH_SIZE_MB:-1024}
EVTX_COPIES=${BENCH_EVTX_COPIES:-40}
RUNS=${BENCH_RUNS:-1}
CORPUS=${SIGHUNT_CORPUS:-$ROOT/../shared/corpus}
export LC_ALL=C

say() { printf '== %s\n' "$*" >&2; }

# --- 1. tools ------------------------------------------------------------------
need=()
command -v rg >/dev/null || need+=(ripgrep)
command -v ausearch >/dev/null || need+=(auditd)
[ -x /usr/bin/time ] || need+=(time)
command -v grep >/dev/null || need+=(grep)
if [ ${#need[@]} -gt 0 ] && [ -z "${BENCH_NO_INSTALL:-}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  say "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
[ -x /usr/bin/time ] || { echo "bench: GNU time (/usr/bin/time) is required" >&2; exit 2; }

# --- 2. build ------------------------------------------------------------------
say "building sighunt and the corpus generator"
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" --bin sighunt
cargo build --release --quiet --manifest-path "$ROOT/bench/gen/Cargo.toml"
SIGHUNT="$ROOT/target/release/sighunt"
GEN="$ROOT/bench/gen/target/release/sighunt-bench-gen"

# --- 3. auditd corpus ----------------------------------------------------------
mkdir -p "$DATA"
gen() { # gen FILE MB
  local file=$1 mb=$2
  if [ ! -s "$file" ] || [ ! -s "$file.planted" ] || [ "$(cat "$file.mb" 2>/dev/null)" != "$mb" ]; then
    say "generating $mb MiB of audit log: $file"
    local t0=$SECONDS
    "$GEN" "$file" "$mb" > "$file.planted"
    echo "$mb" > "$file.mb"
    say "  generated in $((SECONDS - t0)) s"
  fi
}
SMALL_MB=$(( SIZE_MB / 8 > 0 ? SIZE_MB / 8 : 1 ))
AUDIT="$DATA/audit.log"
AUDIT_SMALL="$DATA/audit-small.log"
gen "$AUDIT" "$SIZE_MB"
gen "$AUDIT_SMALL" "$SMALL_MB"
planted() { awk -F= '{s += $2} END {print s}' "$1.planted"; }

# --- 4. EVTX set ---------------------------------------------------------------
EVTX="$DATA/evtx"
evtx_src=("$CORPUS"/windows/*.evtx)
if [ -f "${evtx_src[0]}" ]; then
  if [ "$(cat "$EVTX.copies" 2>/dev/null)" != "$EVTX_COPIES" ]; then
    say "assembling the EVTX set: ${#evtx_src[@]} files x $EVTX_COPIES"
    rm -rf "$EVTX" && mkdir -p "$EVTX"
    for i in $(seq -w 1 "$EVTX_COPIES"); do
      for f in "${evtx_src[@]}"; do cp "$f" "$EVTX/$i-$(basename "$f")"; done
    done
    echo "$EVTX_COPIES" > "$EVTX.copies"
  fi
else
  say "no EVTX files under $CORPUS/windows: EVTX rows skipped"
  EVTX=""
fi

# --- 5. measure ----------------------------------------------------------------
bytes_of() { du -sb "$1" | cut -f1; }
warm() { cat "$1" > /dev/null 2>&1 || find "$1" -type f -exec cat {} + > /dev/null; }

rows=()
# measure NAME CORPUS_LABEL PATH RESULT_CMD -- CMD...   (RESULT_CMD reads $OUT)
measure() {
  local name=$1 label=$2 path=$3 result=$4; shift 5
  local size best_s="" best_rss="" out="$DATA/out.$$" tf="$DATA/time.$$"
  size=$(bytes_of "$path")
  warm "$path"
  for _ in $(seq 1 "$RUNS"); do
    /usr/bin/time -f '%e %M' -o "$tf" "$@" > "$out" 2> "$out.err" || true
    read -r s rss < <(tail -n 1 "$tf")
    if [ -z "$best_s" ] || awk "BEGIN{exit !($s < $best_s)}"; then best_s=$s; best_rss=$rss; fi
  done
  local res
  res=$(OUT="$out" ERR="$out.err" bash -c "$result" 2>/dev/null || echo "?")
  rm -f "$out" "$out.err" "$tf"
  rows+=("$(awk -v n="$name" -v l="$label" -v b="$size" -v s="$best_s" -v r="$best_rss" -v res="$res" 'BEGIN {
      mb = b / 1048576; t = (s > 0 ? s : 0.005);
      printf "%-30s|%-14s|%9.0f|%8.2f|%9.1f|%9.1f|%s", n, l, mb, s, mb / t, r / 1024, res }')")
}
na() { rows+=("$(printf '%-30s|%-14s|%9s|%8s|%9s|%9s|%s' "$1" "$2" - - - - "not available")"); }

tool() { # tool ENVVAR NAME: the binary from $ENVVAR or PATH
  local v=${!1:-}
  if [ -n "$v" ] && [ -x "$v" ]; then echo "$v"; elif command -v "$2" >/dev/null; then command -v "$2"; fi
}

say "timing (best of $RUNS run(s), files in the page cache)"
# Every planted launch must be one finding: the result column shows both counts.
found_of() { echo "echo \"\$(wc -l < \"\$OUT\") findings / $(planted "$1") planted\""; }
measure "sighunt hunt (full detection)" "auditd" "$AUDIT" "$(found_of "$AUDIT")" -- \
  "$SIGHUNT" hunt -q -f jsonl "$AUDIT"
measure "sighunt hunt (one thread, -j1)" "auditd" "$AUDIT" "$(found_of "$AUDIT")" -- \
  "$SIGHUNT" hunt -q -j1 -f jsonl "$AUDIT"
measure "sighunt hunt (1/8 size)" "auditd 1/8" "$AUDIT_SMALL" "$(found_of "$AUDIT_SMALL")" -- \
  "$SIGHUNT" hunt -q -f jsonl "$AUDIT_SMALL"
measure "grep -c nohup" "auditd" "$AUDIT" 'echo "$(cat "$OUT") lines"' -- grep -c nohup "$AUDIT"
if command -v rg >/dev/null; then
  measure "rg -c nohup" "auditd" "$AUDIT" 'echo "$(cat "$OUT") lines"' -- rg -c nohup "$AUDIT"
else na "rg -c nohup" auditd; fi
if command -v ausearch >/dev/null; then
  measure "ausearch -if -m EXECVE --raw" "auditd" "$AUDIT" 'echo "$(grep -c "type=EXECVE" "$OUT") records"' -- \
    ausearch -if "$AUDIT" -m EXECVE --raw
else na "ausearch -m EXECVE" auditd; fi

if [ -n "$EVTX" ]; then
  measure "sighunt hunt (full detection)" "evtx" "$EVTX" \
    'echo "$(wc -l < "$OUT") findings, $(grep -o "[0-9]* events" "$ERR" | tail -n 1)"' -- \
    "$SIGHUNT" hunt -f jsonl "$EVTX"
  CH=$(tool CHAINSAW chainsaw)
  if [ -n "$CH" ]; then
    measure "chainsaw hunt (Sigma)" "evtx" "$EVTX" 'echo "$(grep -c . "$OUT") detections"' -- \
      "$CH" hunt -q --jsonl -s "$ROOT/bench/sigma/rules" --mapping "$ROOT/bench/sigma/chainsaw-mapping.yml" "$EVTX"
  else na "chainsaw hunt (Sigma)" evtx; fi
  HB=$(tool HAYABUSA hayabusa)
  if [ -n "$HB" ]; then
    HB_CONFIG=${HAYABUSA_CONFIG:-$(dirname "$HB")/rules/config}
    measure "hayabusa dfir-timeline (Sigma)" "evtx" "$EVTX" "echo \"\$(grep -c . '$DATA/hayabusa.jsonl' || true) detections\"" -- \
      "$HB" dfir-timeline -w -q -Q -C -t jsonl -d "$EVTX" -r "$ROOT/bench/sigma/rules" -c "$HB_CONFIG" -o "$DATA/hayabusa.jsonl"
  else na "hayabusa dfir-timeline (Sigma)" evtx; fi
fi

# --- table -----------------------------------------------------------------------
echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM; $(uname -sr)"
printf '%-30s|%-14s|%9s|%8s|%9s|%9s|%s\n' "tool" "corpus" "MB" "seconds" "MB/s" "peak MB" "result"
printf '%s\n' "------------------------------|--------------|---------|--------|---------|---------|------------------------"
printf '%s\n' "${rows[@]}"

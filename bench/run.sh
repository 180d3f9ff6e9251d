#!/usr/bin/env bash
# The side-by-side benchmark: sighunt against grep, ripgrep, ausearch, Chainsaw,
# Hayabusa and Zircolite, on a large generated auditd corpus, a multi-file EVTX set
# and an NDJSON (OTRF) event log; sighunt on one thread and on all of them.
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
#     BENCH_EVTX_COPIES times (default 40, ~100 MB), two attacks planted in each
#     copy (bench/plant_evtx.py rewrites a real 4104 script block and a real Sysmon
#     1 command line in place: error suppression plus a download cradle), and an
#     NDJSON log: the corpus's OTRF .json exports concatenated BENCH_JSON_COPIES
#     times (default 4, ~50 MB; its attacks are the two Empire stager launches);
#  5. times each tool (wall clock and peak RSS with /usr/bin/time) with the files
#     in the page cache, and prints a table: threads used, MB/s, MB/s per core
#     (MB/s / threads) and peak RSS side by side;
#  6. with SIGHUNT_BASELINE=/path/to/an/older/sighunt, times it too and diffs its
#     JSON findings against this build's on every corpus ("same findings": the
#     contract of every optimisation).
#
# Chainsaw, Hayabusa and Zircolite are never built by this script (see
# bench/build-peers.sh): give them as $CHAINSAW / $HAYABUSA / $ZIRCOLITE (an
# executable, or zircolite.py run with $ZIRCOLITE_PYTHON) or have them on PATH;
# without them their rows say "not available". Each runs on all cores and on one
# (Chainsaw --num-threads, Hayabusa --threads, Zircolite -P) the equivalent Sigma
# rules of bench/sigma/rules/: Chainsaw with bench/sigma/chainsaw-mapping.yml (EVTX)
# and chainsaw-mapping-jsonl.yml (the NDJSON log, read through a .jsonl link);
# Hayabusa (EVTX only: its JSON input is Winlogbeat/Elastic-shaped, not flat
# exports) needs its rules config dir, $HAYABUSA_CONFIG (default: rules/config next
# to the binary). Their result column counts matching events; sighunt's counts
# findings (one per process and attack).
#
# Environment: BENCH_DIR (data, default target/bench), BENCH_SIZE_MB,
# BENCH_EVTX_COPIES, BENCH_JSON_COPIES, BENCH_RUNS (best of N, default 1),
# SIGHUNT_CORPUS (default ../shared/corpus), BENCH_NO_INSTALL, SIGHUNT_BIN and
# BENCH_GEN (prebuilt binaries: nothing is built, e.g. on a machine without Rust),
# SIGHUNT_BASELINE.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=${BENCH_DIR:-$ROOT/target/bench}
SIZE_MB=${BENCH_SIZE_MB:-1024}
EVTX_COPIES=${BENCH_EVTX_COPIES:-40}
JSON_COPIES=${BENCH_JSON_COPIES:-4}
CORES=$(nproc)
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
SIGHUNT=${SIGHUNT_BIN:-$ROOT/target/release/sighunt}
GEN=${BENCH_GEN:-$ROOT/bench/gen/target/release/sighunt-bench-gen}
if [ -z "${SIGHUNT_BIN:-}" ]; then
  say "building sighunt"
  cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" --bin sighunt
fi
if [ -z "${BENCH_GEN:-}" ]; then
  say "building the corpus generator"
  cargo build --release --quiet --manifest-path "$ROOT/bench/gen/Cargo.toml"
fi
BASE=${SIGHUNT_BASELINE:-}

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
# The corpus files hold no record that silences errors *and* downloads, so two of
# them get one such record each (bench/plant_evtx.py rewrites a real 4104 script
# block and a real Sysmon 1 command line in place): every tool must find
# EVTX_PLANTED = 2 x copies, and nothing else.
EVTX="$DATA/evtx"
evtx_src=("$CORPUS"/windows/*.evtx)
EVTX_PLANTED=0
if [ -f "${evtx_src[0]}" ] && command -v python3 >/dev/null; then
  EVTX_PLANTED=$(( 2 * EVTX_COPIES ))
  if [ "$(cat "$EVTX.copies" 2>/dev/null)" != "$EVTX_COPIES planted" ]; then
    say "assembling the EVTX set: ${#evtx_src[@]} files x $EVTX_COPIES, 2 attacks planted per copy"
    rm -rf "$EVTX" "$DATA/evtx-planted" && mkdir -p "$EVTX"
    python3 "$ROOT/bench/plant_evtx.py" "$CORPUS/windows" "$DATA/evtx-planted" >&2
    for i in $(seq -w 1 "$EVTX_COPIES"); do
      for f in "${evtx_src[@]}"; do
        src=$f; [ -f "$DATA/evtx-planted/$(basename "$f")" ] && src="$DATA/evtx-planted/$(basename "$f")"
        cp "$src" "$EVTX/$i-$(basename "$f")"
      done
    done
    echo "$EVTX_COPIES planted" > "$EVTX.copies"
  fi
else
  say "no EVTX files under $CORPUS/windows (or no python3): EVTX rows skipped"
  EVTX=""
fi

# NDJSON: the OTRF exports (one event per line), concatenated.
JSON="$DATA/otrf.json"
json_src=("$CORPUS"/windows/OTRF_*.json)
if [ -f "${json_src[0]}" ]; then
  if [ "$(cat "$JSON.copies" 2>/dev/null)" != "$JSON_COPIES" ]; then
    say "assembling the NDJSON log: ${#json_src[@]} OTRF files x $JSON_COPIES"
    : > "$JSON"
    for _ in $(seq 1 "$JSON_COPIES"); do cat "${json_src[@]}" >> "$JSON"; done
    echo "$JSON_COPIES" > "$JSON.copies"
  fi
else
  say "no OTRF .json files under $CORPUS/windows: JSON rows skipped"
  JSON=""
fi

# --- 5. measure ----------------------------------------------------------------
bytes_of() { du -sb "$1" | cut -f1; }
warm() { cat "$1" > /dev/null 2>&1 || find "$1" -type f -exec cat {} + > /dev/null; }

rows=()
# measure NAME CORPUS_LABEL PATH THREADS RESULT_CMD -- CMD...   (RESULT_CMD reads
# $OUT; THREADS: how many cores the tool uses, for the per-core column)
measure() {
  local name=$1 label=$2 path=$3 threads=$4 result=$5; shift 6
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
  rows+=("$(awk -v n="$name" -v l="$label" -v b="$size" -v s="$best_s" -v r="$best_rss" -v res="$res" -v j="$threads" 'BEGIN {
      mb = b / 1048576; t = (s > 0 ? s : 0.005);
      printf "%-34s|%-10s|%3d|%7.0f|%8.2f|%8.1f|%8.1f|%8.1f|%s", n, l, j, mb, s, mb / t, mb / t / j, r / 1024, res }')")
}
na() { rows+=("$(printf '%-34s|%-10s|%3s|%7s|%8s|%8s|%8s|%8s|%s' "$1" "$2" - - - - - - "not available")"); }

tool() { # tool ENVVAR NAME: the binary from $ENVVAR or PATH
  local v=${!1:-}
  if [ -n "$v" ] && [ -x "$v" ]; then echo "$v"; elif command -v "$2" >/dev/null; then command -v "$2"; fi
}

say "timing (best of $RUNS run(s), files in the page cache)"
# Every planted launch must be one finding: the result column shows both counts.
found_of() { echo "echo \"\$(wc -l < \"\$OUT\") findings / $(planted "$1") planted\""; }
events_of='echo "$(wc -l < "$OUT") findings, $(grep -o "[0-9]* events" "$ERR" | tail -n 1)"'
# sighunt_rows LABEL PATH RESULT: this build on all cores and on one, then the
# baseline likewise when there is one.
sighunt_rows() {
  local label=$1 path=$2 result=$3 bin tag
  for bin in "$SIGHUNT" ${BASE:+"$BASE"}; do
    tag=""; [ "$bin" = "$BASE" ] && tag=" [baseline]"
    measure "sighunt hunt$tag" "$label" "$path" "$CORES" "$result" -- "$bin" hunt -f jsonl "$path"
    measure "sighunt hunt -j1$tag" "$label" "$path" 1 "$result" -- "$bin" hunt -j1 -f jsonl "$path"
  done
}
sighunt_rows auditd "$AUDIT" "$(found_of "$AUDIT")"
measure "sighunt hunt (1/8 size)" "auditd 1/8" "$AUDIT_SMALL" "$CORES" "$(found_of "$AUDIT_SMALL")" -- \
  "$SIGHUNT" hunt -q -f jsonl "$AUDIT_SMALL"
measure "grep -c nohup" "auditd" "$AUDIT" 1 'echo "$(cat "$OUT") lines"' -- grep -c nohup "$AUDIT"
if command -v rg >/dev/null; then
  measure "rg -c nohup" "auditd" "$AUDIT" "$CORES" 'echo "$(cat "$OUT") lines"' -- rg -c nohup "$AUDIT"
  measure "rg -j1 -c nohup" "auditd" "$AUDIT" 1 'echo "$(cat "$OUT") lines"' -- rg -j1 -c nohup "$AUDIT"
else na "rg -c nohup" auditd; fi
if command -v ausearch >/dev/null; then
  measure "ausearch -if -m EXECVE --raw" "auditd" "$AUDIT" 1 'echo "$(grep -c "type=EXECVE" "$OUT") records"' -- \
    ausearch -if "$AUDIT" -m EXECVE --raw
else na "ausearch -m EXECVE" auditd; fi

CH=$(tool CHAINSAW chainsaw)
HB=$(tool HAYABUSA hayabusa)
ZL=$(tool ZIRCOLITE zircolite)
# Zircolite: bench/build-peers.sh's wrapper, or zircolite.py itself (run from its
# own directory: it reads config/ relative to it).
zl=()
if [ -n "${ZIRCOLITE:-}" ] && [[ $ZIRCOLITE == *.py ]] && command -v python3 >/dev/null; then
  zl=(env -C "$(dirname "$ZIRCOLITE")" "${ZIRCOLITE_PYTHON:-python3}" "$ZIRCOLITE")
elif [ -n "$ZL" ]; then zl=("$ZL"); fi
SIGMA="$ROOT/bench/sigma/rules"
# Detections of the Sigma peers, counted per matching event.
ch_count='echo "$(grep -c . "$OUT") detections'
hb_count() { echo "echo \"\$(grep -c . '$DATA/hayabusa.jsonl' 2>/dev/null) detections$1\""; }
zl_count() { echo "echo \"\$(python3 -c 'import json,sys; print(sum(r.get(\"count\", 0) for r in json.load(open(sys.argv[1]))))' '$DATA/zircolite.json' 2>/dev/null) detections$1\""; }
# peers LABEL PATH PLANTED_NOTE KIND: Chainsaw, Hayabusa (EVTX only) and Zircolite
# on all cores and on one.
peers() {
  local label=$1 path=$2 note=$3 kind=$4 j tj
  for j in "$CORES" 1; do
    tj=""; [ "$j" = 1 ] && tj=" -j1"
    rm -f "$DATA/hayabusa.jsonl" "$DATA/zircolite.json"
    if [ -n "$CH" ]; then
      if [ "$kind" = evtx ]; then
        measure "chainsaw hunt (Sigma)$tj" "$label" "$path" "$j" "$ch_count$note\"" -- \
          "$CH" --num-threads "$j" hunt -q --jsonl -s "$SIGMA" --mapping "$ROOT/bench/sigma/chainsaw-mapping.yml" "$path"
      else
        measure "chainsaw hunt (Sigma)$tj" "$label" "$path" "$j" "$ch_count$note\"" -- \
          "$CH" --num-threads "$j" hunt -q --jsonl --load-unknown -s "$SIGMA" --mapping "$ROOT/bench/sigma/chainsaw-mapping-jsonl.yml" "$DATA/otrf.jsonl"
      fi
    else na "chainsaw hunt (Sigma)$tj" "$label"; fi
    if [ "$kind" = evtx ]; then
      if [ -n "$HB" ]; then
        HB_CONFIG=${HAYABUSA_CONFIG:-$(dirname "$HB")/rules/config}
        measure "hayabusa dfir-timeline (Sigma)$tj" "$label" "$path" "$j" "$(hb_count "$note")" -- \
          "$HB" dfir-timeline -w -q -Q -C --threads "$j" -t jsonl -d "$path" -r "$SIGMA" -c "$HB_CONFIG" -o "$DATA/hayabusa.jsonl"
      else na "hayabusa dfir-timeline (Sigma)$tj" "$label"; fi
    fi
    if [ ${#zl[@]} -gt 0 ]; then
      local zargs=(--evtx "$path"); [ "$kind" = json ] && zargs=(-j --evtx "$DATA/otrf.jsonl")
      [ "$j" = 1 ] && zargs+=(-P)
      measure "zircolite (Sigma)$tj" "$label" "$path" "$j" "$(zl_count "$note")" -- \
        "${zl[@]}" "${zargs[@]}" -q --ruleset "$SIGMA" --outfile "$DATA/zircolite.json" -l "$DATA/zircolite.log"
    else na "zircolite (Sigma)$tj" "$label"; fi
  done
}

if [ -n "$EVTX" ]; then
  sighunt_rows evtx "$EVTX" "$events_of\" / $EVTX_PLANTED planted\""
  peers evtx "$EVTX" " / $EVTX_PLANTED planted" evtx
fi
if [ -n "$JSON" ]; then
  # Chainsaw and Zircolite read JSON Lines by the .jsonl name.
  ln -sf "$(basename "$JSON")" "$DATA/otrf.jsonl"
  sighunt_rows json "$JSON" "$events_of"
  measure "grep -c EventID..4104" "json" "$JSON" 1 'echo "$(cat "$OUT") lines"' -- grep -c '"EventID":4104' "$JSON"
  if command -v rg >/dev/null; then
    measure "rg -j1 -c EventID..4104" "json" "$JSON" 1 'echo "$(cat "$OUT") lines"' -- rg -j1 -c '"EventID":4104' "$JSON"
  fi
  peers json "$JSON" "" json
fi

# Same findings: this build and the baseline, on every corpus (sorted JSON lines).
same=()
if [ -n "$BASE" ]; then
  for path in "$AUDIT" ${EVTX:+"$EVTX"} ${JSON:+"$JSON"}; do
    "$SIGHUNT" hunt -q -j1 -f jsonl "$path" 2>/dev/null | sort > "$DATA/new.jsonl" || true
    "$BASE" hunt -q -j1 -f jsonl "$path" 2>/dev/null | sort > "$DATA/base.jsonl" || true
    if cmp -s "$DATA/new.jsonl" "$DATA/base.jsonl"; then
      same+=("same findings as the baseline on $(basename "$path"): $(wc -l < "$DATA/new.jsonl") lines")
    else
      same+=("DIFFERENT findings from the baseline on $(basename "$path"): diff $DATA/base.jsonl $DATA/new.jsonl")
    fi
  done
fi

# --- table -----------------------------------------------------------------------
echo
echo "machine: $CORES cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM; $(uname -sr)"
printf '%-34s|%-10s|%3s|%7s|%8s|%8s|%8s|%8s|%s\n' "tool" "corpus" "j" "MB" "seconds" "MB/s" "MB/s/core" "peak MB" "result"
printf '%s\n' "----------------------------------|----------|---|-------|--------|--------|--------|--------|------------------------"
printf '%s\n' "${rows[@]}"
if [ ${#same[@]} -gt 0 ]; then printf '%s\n' "${same[@]}"; fi

#!/usr/bin/env bash
# Short fuzz run for CI: every target for FUZZ_SECONDS seconds (default 8; about a
# minute and a half in all, plus the build).
#
# Coverage-guided libFuzzer (cargo fuzz) when a nightly toolchain and cargo-fuzz
# are installed; otherwise the stable-Rust mutation runner (src/bin/stable-fuzz.rs).
# FUZZ_ENGINE=libfuzzer|stable forces one. A crash fails the run and leaves its
# input in fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")"
secs=${FUZZ_SECONDS:-8}
targets=(auditd shell command sniff lines text_sources evtx win_xml win_json powershell mde)

# EVTX seeds: chunks of the shared corpus's EVTX files (never copied into the repo).
mkdir -p work/evtx
for f in ../../shared/corpus/windows/*.evtx; do
  [ -f "$f" ] || continue
  size=$(stat -c %s "$f")
  n=$(( (size - 4096) / 65536 ))
  for i in $(seq 0 $(( n < 3 ? n - 1 : 2 ))); do
    tail -c +$(( 4097 + i * 65536 )) "$f" | head -c 65536 > "work/evtx/$(basename "$f" .evtx)-$i" || true
  done
done

engine=${FUZZ_ENGINE:-auto}
if [ "$engine" = auto ]; then
  if cargo +nightly --version >/dev/null 2>&1 && cargo fuzz --version >/dev/null 2>&1; then
    engine=libfuzzer
  else
    engine=stable
  fi
fi
echo "fuzz: engine $engine, ${secs}s per target"

failed=()
if [ "$engine" = libfuzzer ]; then
  cargo +nightly fuzz build -O
  for t in "${targets[@]}"; do
    # corpus/evtx has no committed seeds (they come from the shared corpus into
    # work/evtx), and libFuzzer exits when a corpus directory is missing.
    mkdir -p "work/$t" "corpus/$t" "artifacts/$t"
    # work/ first: what libFuzzer finds goes there, the committed seeds stay as they are.
    if ! "./target/x86_64-unknown-linux-gnu/release/$t" "work/$t" "corpus/$t" \
        -artifact_prefix="artifacts/$t/" -max_total_time="$secs" -max_len=65536 \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 2> "artifacts/$t.log"; then
      failed+=("$t")
      tail -n 40 "artifacts/$t.log"
    fi
    echo "fuzz $t: $(grep -E '^Done' "artifacts/$t.log" || echo 'see artifacts/'"$t"'.log')"
  done
else
  cargo build --release --bin stable-fuzz
  for t in "${targets[@]}"; do
    ./target/release/stable-fuzz "$t" "$secs" || failed+=("$t")
  done
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in: ${failed[*]} (inputs under fuzz/artifacts/)"
  exit 1
fi
echo "fuzz: ${#targets[@]} passed, 0 failed"

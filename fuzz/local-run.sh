#!/usr/bin/env bash
# Long local fuzz session of one target with libFuzzer (cargo fuzz, nightly):
#   fuzz/local-run.sh TARGET SECONDS
# The growing corpus is kept in fuzz/work/TARGET (not committed); crashes go to
# fuzz/artifacts/TARGET/. Run `cargo +nightly fuzz build -O` first.
set -euo pipefail
cd "$(dirname "$0")"
t=$1 secs=$2
mkdir -p "work/$t" "artifacts/$t" logs
cp -n "corpus/$t"/* "work/$t/" 2>/dev/null || true
if [ "$t" = evtx ] && [ -z "$(ls work/evtx)" ]; then
  # Seeds: the chunks of the shared corpus's EVTX files.
  for f in ../../shared/corpus/windows/*.evtx; do
    n=$(( ($(stat -c %s "$f") - 4096) / 65536 ))
    for i in $(seq 0 $(( n - 1 ))); do
      tail -c +$(( 4097 + i * 65536 )) "$f" | head -c 65536 > "work/evtx/$(basename "$f" .evtx)-$i" || true
    done
  done
fi
exec nice -n 10 "./target/x86_64-unknown-linux-gnu/release/$t" "work/$t" \
  -artifact_prefix="artifacts/$t/" -max_total_time="$secs" -max_len=65536 \
  -rss_limit_mb=2048 -timeout=10 -print_final_stats=1

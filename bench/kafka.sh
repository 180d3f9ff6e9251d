#!/usr/bin/env bash
# kafka.sh — throughput of `sighunt stream` (messages/s) with one and with two instances
# in a consumer group, against a tansu broker on loopback (in-memory storage).
#
# Usage:   bench/kafka.sh [HOSTS]        (default 200 hosts)
# Needs:   tansu on PATH (scripts/ci-kafka.sh install), cmake, a Rust toolchain.
#
# The load: HOSTS hosts each send the real kernel audit log of the T1564.011 scenarios
# (examples/linux/audit-raw.log, `node=HOST` prefixed as auditd's name_format writes
# it), one record per message, keyed by host, hosts interleaved line by line, to a
# 4-partition topic. It is produced first; each run then consumes the whole topic with
# a fresh group (both instances of the second run in the same one) and
# `--stop-after-idle`, and the rate is messages / (last message − first message), from
# the instances' summaries. Findings go to an output topic.

set -euo pipefail

HOSTS=${1:-200}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$HOME/.cargo/bin:$PATH"
WORK=$(mktemp -d /tmp/sighunt-bench-kafka.XXXXXX)
BROKER_PID=
cleanup() {
    [[ -n $BROKER_PID ]] && kill "$BROKER_PID" 2>/dev/null
    rm -rf -- "$WORK"
}
trap cleanup EXIT

command -v tansu >/dev/null || { echo "tansu not found (scripts/ci-kafka.sh install)" >&2; exit 1; }
(cd "$ROOT" && nice -n 10 cargo build --release --bin sighunt --example kafka-load >&2)
SIGHUNT=$ROOT/target/release/sighunt
LOAD=$ROOT/target/release/examples/kafka-load

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BROKERS=127.0.0.1:$PORT
tansu broker --storage-engine memory://tansu/ --listener-url "tcp://$BROKERS" \
    --advertised-listener-url "tcp://$BROKERS" >"$WORK/broker.log" 2>&1 &
BROKER_PID=$!
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done

"$LOAD" create "$BROKERS" logs 4
"$LOAD" create "$BROKERS" findings 4
"$LOAD" produce "$BROKERS" logs "$HOSTS" "$ROOT/examples/linux/audit-raw.log" 2>"$WORK/produce.err"
cat "$WORK/produce.err" >&2
TOTAL=$(sed -n 's/^kafka-load: \([0-9]*\) messages.*/\1/p' "$WORK/produce.err")
echo "topic logs: $TOTAL messages from $HOSTS hosts, 4 partitions" >&2

# run N: N instances in a fresh group; prints messages/s over the whole topic.
run() {
    local n=$1 i pids=() group="bench-$1-$RANDOM"
    for i in $(seq 1 "$n"); do
        "$SIGHUNT" stream --no-config --brokers "$BROKERS" --input-topic logs --output-topic findings \
            --group "$group" --stop-after-idle 3 2>"$WORK/run$n-$i.err" &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
    python3 - "$TOTAL" "$WORK"/run"$n"-*.err <<'PY'
import re, sys
total = int(sys.argv[1])
firsts, lasts, msgs, findings = [], [], 0, 0
for path in sys.argv[2:]:
    text = open(path).read()
    m = re.search(r"stream: (\d+) messages .*?(\d+) findings sent.*first message at (\d+) ms, last at (\d+) ms", text)
    if not m:
        sys.exit(f"no summary in {path}:\n{text}")
    msgs += int(m.group(1)); findings += int(m.group(2))
    if int(m.group(1)) > 0:
        firsts.append(int(m.group(3))); lasts.append(int(m.group(4)))
span = (max(lasts) - min(firsts)) / 1000
print(f"{len(sys.argv) - 2} instance(s): {msgs} messages ({total} in the topic), {findings} findings, "
      f"{span:.2f} s, {msgs / span:,.0f} messages/s")
PY
}

echo "== sighunt stream, $(nproc) cores, $(uname -m)"
run 1
run 2

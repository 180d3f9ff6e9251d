#!/usr/bin/env bash
# kafka.sh — throughput of `sighunt stream` (messages/s) with one and with two instances
# in a consumer group, against a tansu broker on loopback (in-memory storage).
#
# Usage:   bench/kafka.sh [HOSTS]        (default 400 hosts)
# Needs:   tansu on PATH (scripts/ci-kafka.sh install), cmake, a Rust toolchain.
#
# The load: HOSTS hosts each send the real kernel audit log of the T1564.011 scenarios
# (examples/linux/audit-raw.log, `node=HOST` prefixed as auditd's name_format writes
# it), one record per message, keyed by host, hosts interleaved line by line, to a
# 4-partition topic. Each run uses a fresh topic: its instances (one group) are
# started and given their partitions, then the load is produced as fast as the broker
# takes it; the instances stop once idle for 3 s. The rate is messages / (last message
# − first message), from the instances' summaries. Findings go to an output topic.
# Numbers depend on the machine (and on what else runs on it): both instances, the
# producer and the broker share its cores.

set -euo pipefail

HOSTS=${1:-400}
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

"$LOAD" create "$BROKERS" findings 4

# run N: a fresh 4-partition topic; N instances in one group are started and given
# their partitions first, then the load is produced; prints messages/s.
run() {
    local n=$1 i pids=() topic="logs-$1" group="bench-$1"
    "$LOAD" create "$BROKERS" "$topic" 4
    for i in $(seq 1 "$n"); do
        "$SIGHUNT" stream --no-config --brokers "$BROKERS" --input-topic "$topic" --output-topic findings \
            --group "$group" --stop-after-idle 3 2>"$WORK/run$n-$i.err" &
        pids+=($!)
    done
    # Wait until the group has shared out the 4 partitions.
    for _ in $(seq 1 600); do
        local owned
        owned=$(for i in $(seq 1 "$n"); do
            grep '; reading ' "$WORK/run$n-$i.err" 2>/dev/null | tail -n 1 | sed 's/.*; reading //' | tr ',' '\n'
        done | grep -c "$topic/" || true)
        local each_has=1
        for i in $(seq 1 "$n"); do
            grep '; reading ' "$WORK/run$n-$i.err" 2>/dev/null | tail -n 1 | grep -q "$topic/" || each_has=0
        done
        [[ $owned -eq 4 && $each_has -eq 1 ]] && break
        sleep 0.1
    done
    "$LOAD" produce "$BROKERS" "$topic" "$HOSTS" "$ROOT/examples/linux/audit-raw.log" 2>"$WORK/produce$n.err"
    local total
    total=$(sed -n 's/^kafka-load: \([0-9]*\) messages.*/\1/p' "$WORK/produce$n.err")
    for i in "${pids[@]}"; do wait "$i"; done
    python3 - "$total" "$WORK"/run"$n"-*.err <<'PY'
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

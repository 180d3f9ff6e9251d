#!/usr/bin/env bash
# ci-kafka.sh — what the Kafka integration test (tests/kafka.rs) and bench/kafka.sh need.
#
# Usage:
#   scripts/ci-kafka.sh install   cmake (builds rdkafka's bundled librdkafka) from Debian's
#                                 packages, and the tansu broker with `cargo install`
#                                 (about 10 minutes; skipped when the pinned version is
#                                 already installed: cache ~/.cargo/bin/tansu between runs)
#   scripts/ci-kafka.sh start     start a tansu broker on 127.0.0.1 (a free port, in-memory
#                                 storage) and print `export SIGHUNT_KAFKA_BROKERS=…`;
#                                 only needed to share one broker, since the test starts
#                                 its own when tansu is on PATH
#   scripts/ci-kafka.sh stop      stop the broker `start` started
#
# In CI:   scripts/ci-kafka.sh install
#          SIGHUNT_REQUIRE_KAFKA_TESTS=1 cargo test --test kafka
#
# Exit status: 0 ok, 1 failure.

set -euo pipefail

readonly TANSU_VERSION=${TANSU_VERSION:-0.6.0}
readonly STATE_DIR=${SIGHUNT_KAFKA_STATE:-/tmp/sighunt-ci-kafka}
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf 'ci-kafka: %s\n' "$*" >&2; }

install() {
    if ! command -v cmake >/dev/null 2>&1; then
        log "installing cmake"
        if [[ $(id -u) == 0 ]]; then
            apt-get install -y cmake >/dev/null || { apt-get update >/dev/null && apt-get install -y cmake >/dev/null; }
        else
            sudo apt-get install -y cmake >/dev/null
        fi
    fi
    if command -v tansu >/dev/null 2>&1 && tansu --version 2>/dev/null | grep -qF "$TANSU_VERSION"; then
        log "tansu $TANSU_VERSION already installed ($(command -v tansu))"
    else
        log "installing tansu $TANSU_VERSION (cargo install, about 10 minutes)"
        nice -n 10 cargo install tansu --version "$TANSU_VERSION" --features dynostore --locked
    fi
    tansu --version >&2
}

start() {
    mkdir -p "$STATE_DIR"
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    local url="tcp://127.0.0.1:$port"
    tansu broker --storage-engine memory://tansu/ --listener-url "$url" --advertised-listener-url "$url" \
        >"$STATE_DIR/broker.log" 2>&1 &
    echo $! >"$STATE_DIR/broker.pid"
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "export SIGHUNT_KAFKA_BROKERS=127.0.0.1:$port"
            return 0
        fi
        sleep 0.1
    done
    log "tansu did not start: $(tail -n 20 "$STATE_DIR/broker.log")"
    return 1
}

stop() {
    local pid
    pid=$(cat "$STATE_DIR/broker.pid" 2>/dev/null) || return 0
    kill "$pid" 2>/dev/null || true
    rm -f "$STATE_DIR/broker.pid"
}

case ${1-} in
    install) install ;;
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 install|start|stop" >&2; exit 1 ;;
esac

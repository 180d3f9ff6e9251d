#!/usr/bin/env bash
# ci-ebpf.sh — build and test `sighunt sense` (the eBPF sensor, feature `ebpf`) on
# this machine's kernel.
#
# Usage:
#   scripts/ci-ebpf.sh install   clang (compiles the BPF program), make, gcc, pkg-config,
#                                libelf-dev, zlib1g-dev (libbpf-sys builds its vendored
#                                libbpf with them) from Debian's packages, only what is
#                                missing; mounts tracefs when
#                                it is not (tracepoint ids are read from it)
#   scripts/ci-ebpf.sh test      install, then cargo test --release --features ebpf --test sense
#                                (release: CI has built the dependencies so already)
#                                with SIGHUNT_REQUIRE_EBPF_TESTS=1: a missing root, BTF
#                                or tool fails the run instead of skipping it
#   scripts/ci-ebpf.sh           same as `test`
#
# Needs root (apt-get, loading BPF programs). Exit status: 0 ok, 1 failure.

set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'ci-ebpf: %s\n' "$*" >&2; }

install() {
    local missing=()
    command -v clang >/dev/null 2>&1 || missing+=(clang)
    command -v make >/dev/null 2>&1 || missing+=(make)
    command -v cc >/dev/null 2>&1 || missing+=(gcc)
    for pkg in libelf-dev zlib1g-dev pkg-config; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
            { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
    fi
    if [[ ! -d /sys/kernel/tracing/events && ! -d /sys/kernel/debug/tracing/events ]]; then
        log "mounting tracefs at /sys/kernel/tracing"
        mount -t tracefs nodev /sys/kernel/tracing
    fi
    [[ -r /sys/kernel/btf/vmlinux ]] || { log "this kernel has no BTF (/sys/kernel/btf/vmlinux)"; return 1; }
}

run_tests() {
    install
    export RUSTC_WRAPPER=${RUSTC_WRAPPER:-$(command -v sccache || true)}
    [[ -n $RUSTC_WRAPPER ]] || unset RUSTC_WRAPPER
    local out
    out=$(mktemp)
    if SIGHUNT_REQUIRE_EBPF_TESTS=1 cargo test --release --features ebpf --test sense 2>&1 | tee "$out" >&2 &&
        SIGHUNT_REQUIRE_EBPF_TESTS=1 cargo test --release --features ebpf --lib sense 2>&1 | tee -a "$out" >&2; then
        if grep -q '^SKIP' "$out"; then
            log "FAIL: a test skipped"
            rm -f "$out"
            return 1
        fi
        log "ok: $(grep -c '^test .* ok$' "$out") eBPF sensor tests passed on $(uname -r)"
        rm -f "$out"
    else
        log "FAIL: cargo test --features ebpf (see above)"
        rm -f "$out"
        return 1
    fi
}

case ${1:-test} in
    install) install && log "ok: toolchain ready" ;;
    test) run_tests ;;
    *) log "usage: $0 [install|test]"; exit 1 ;;
esac

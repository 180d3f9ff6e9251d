#!/usr/bin/env bash
# The real tools tests/decode.rs makes its inputs with: xz, bzip2, lz4, gzip, zstd,
# and systemd's journalctl and systemd-journal-remote for binary journal files.
#   scripts/ci-decode.sh install   # idempotent
#   scripts/ci-decode.sh test
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
install)
    missing=()
    command -v xz >/dev/null || missing+=(xz-utils)
    command -v bzip2 >/dev/null || missing+=(bzip2)
    command -v lz4 >/dev/null || missing+=(lz4)
    command -v zstd >/dev/null || missing+=(zstd)
    command -v journalctl >/dev/null || missing+=(systemd)
    [ -x /usr/lib/systemd/systemd-journal-remote ] || [ -x /lib/systemd/systemd-journal-remote ] \
        || missing+=(systemd-journal-remote)
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    fi
    ;;
test)
    cargo test --test decode --test cli --test table --test progress
    ;;
*)
    echo "usage: $0 install|test" >&2
    exit 2
    ;;
esac

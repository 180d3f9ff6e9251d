#!/usr/bin/env bash
# Builds the side-by-side benchmark's Sigma peers, Chainsaw, Hayabusa and
# Zircolite, from their published sources at pinned commits, for bench/run.sh:
#
#   bench/build-peers.sh              # then: eval "$(bench/build-peers.sh --env)"
#   CHAINSAW="…" HAYABUSA="…" HAYABUSA_CONFIG="…" ZIRCOLITE="…" bench/run.sh
#
# Not part of CI (it refuses to run with CI set) and it never downloads a
# repository: the sources are given to it, each as a git directory (a clone or a
# bare mirror: the pinned commit is checked out of it with `git archive`) or as a
# directory already holding that commit's files:
#
#   CHAINSAW_SRC       https://github.com/WithSecureLabs/chainsaw  f219fadcd0bef254da1ab24b0436a5c3edf5d469 (v2.16.4)
#   MFT_SRC            https://github.com/alexkornitzer/mft        ffd95113e843f3416567e79e94dabd4e769048df (0.6.1)
#   HAYABUSA_SRC       https://github.com/Yamato-Security/hayabusa 188e22eb4c3b14e344ffbf82577d3958013fb8a9 (v4.0.0)
#   HAYABUSA_EVTX_SRC  https://github.com/Yamato-Security/hayabusa-evtx  68a50d9cf251e5fcb7ce1e87cb26749cd1179984 (0.9.10)
#   HAYABUSA_RULES_SRC https://github.com/Yamato-Security/hayabusa-rules e9a98d49313eed67fe1a2c21c0b108e04fdebe66 (hayabusa 4.0.0's submodule)
#   ZIRCOLITE_SRC      https://github.com/wagga40/Zircolite        b3724a0b90378547712ba5431ea4ad6d50ce5c00 (v3.7.0)
#
# (defaults: /work/.mirror/<owner>+<name>/repo, where this project's sessions keep
# fetched snapshots). Crates come from crates.io, Python packages from PyPI.
#
# Where the published pins cannot be had, and what is done instead:
#  * Chainsaw 2.16.4's Cargo.toml patches libesedb, mft and notatin to git forks
#    (alexkornitzer/rust-libesedb 0470248, mft b724817, notatin 61b2d3d). Without
#    them: libesedb 0.2.7 and notatin 1.0.1 from crates.io, mft from MFT_SRC; and
#    notatin 1.0.1 asks for `nom >= 6`, which resolves to nom 8 and does not
#    compile (nom 8 made parsers `Parser` values), so nom is held at 7.1.3 for it.
#    Registry hives and ESE databases (what the forks fix) are not what `hunt`
#    reads here: EVTX and JSON go through evtx 0.12 and serde_json, as pinned.
#  * Hayabusa 4.0.0 pins hayabusa-evtx at 31be1c3 (0.9.11); the newest snapshot
#    reachable here is 68a50d9 (0.9.10, 2026-07-17): it is used as a path
#    dependency. Hayabusa declares rust-version 1.97.1; it is built with
#    --ignore-rust-version by the toolchain on PATH. OpenSSL (for git2/ureq, the
#    rule updater: not used by a timeline run) comes from the system
#    (OPENSSL_NO_VENDOR=1, libssl-dev) instead of a vendored build.
#  * Release profiles are the projects' own (Hayabusa: lto = true).
#
# Output (PEERS_DIR, default target/peers): src/ (the extracted trees, patched),
# target-*/ (cargo), zl-venv/, bin/{chainsaw,hayabusa,zircolite},
# hayabusa-config/ (the rules config Hayabusa needs), versions.txt. Idempotent:
# a peer whose binary is there and whose pins have not changed is not rebuilt.
# Build jobs: CARGO_BUILD_JOBS (default 1: the dev machine is shared); cargo target
# dirs: CHAINSAW_TARGET_DIR / HAYABUSA_TARGET_DIR (default PEERS_DIR/target-*).
set -euo pipefail

if [ -n "${CI:-}" ]; then
  echo "build-peers: not run in CI (it builds three third-party tools)" >&2
  exit 0
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
P=${PEERS_DIR:-$ROOT/target/peers}
MIRROR=${MIRROR:-/work/.mirror}
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
CHAINSAW_TARGET_DIR=${CHAINSAW_TARGET_DIR:-$P/target-chainsaw}
HAYABUSA_TARGET_DIR=${HAYABUSA_TARGET_DIR:-$P/target-hayabusa}

CHAINSAW_REV=f219fadcd0bef254da1ab24b0436a5c3edf5d469
MFT_REV=ffd95113e843f3416567e79e94dabd4e769048df
HAYABUSA_REV=188e22eb4c3b14e344ffbf82577d3958013fb8a9
HAYABUSA_EVTX_REV=68a50d9cf251e5fcb7ce1e87cb26749cd1179984
HAYABUSA_RULES_REV=e9a98d49313eed67fe1a2c21c0b108e04fdebe66
ZIRCOLITE_REV=b3724a0b90378547712ba5431ea4ad6d50ce5c00

CHAINSAW_SRC=${CHAINSAW_SRC:-$MIRROR/WithSecureLabs+chainsaw/repo}
MFT_SRC=${MFT_SRC:-$MIRROR/alexkornitzer+mft/repo}
HAYABUSA_SRC=${HAYABUSA_SRC:-$MIRROR/Yamato-Security+hayabusa/repo}
HAYABUSA_EVTX_SRC=${HAYABUSA_EVTX_SRC:-$MIRROR/Yamato-Security+hayabusa-evtx/repo}
HAYABUSA_RULES_SRC=${HAYABUSA_RULES_SRC:-$MIRROR/Yamato-Security+hayabusa-rules/repo}
ZIRCOLITE_SRC=${ZIRCOLITE_SRC:-$MIRROR/wagga40+Zircolite/repo}

if [ "${1:-}" = "--env" ]; then
  echo "export CHAINSAW='$P/bin/chainsaw' HAYABUSA='$P/bin/hayabusa' HAYABUSA_CONFIG='$P/hayabusa-config' ZIRCOLITE='$P/bin/zircolite'"
  exit 0
fi

say() { printf '== build-peers: %s\n' "$*" >&2; }

# extract SRC REV DEST PATH...: the pinned commit's PATHs into DEST (fresh).
extract() {
  local src=$1 rev=$2 dest=$3; shift 3
  rm -rf "$dest" && mkdir -p "$dest"
  local gitdir=""
  if git --git-dir="$src" rev-parse -q --verify "$rev^{commit}" >/dev/null 2>&1; then
    gitdir=$src
  elif [ -d "$src/.git" ] && git -C "$src" rev-parse -q --verify "$rev^{commit}" >/dev/null 2>&1; then
    gitdir=$src/.git
  fi
  if [ -n "$gitdir" ]; then
    # Through a scratch index, not `git archive`: snapshots may lack the blobs of
    # large files (samples, archives) that the build does not need, and only the
    # named paths' blobs are read this way.
    local idx
    idx=$(mktemp)
    GIT_INDEX_FILE=$idx git --git-dir="$gitdir" read-tree "$rev"
    GIT_INDEX_FILE=$idx git --git-dir="$gitdir" --work-tree="$dest" ls-files -z -- "$@" |
      GIT_INDEX_FILE=$idx git --git-dir="$gitdir" --work-tree="$dest" checkout-index -f -z --stdin
    rm -f "$idx"
  elif [ -d "$src" ] && [ ! -d "$src/objects" ]; then
    say "$src is not a git directory: taken as the files of $rev"
    local path
    for path in "$@"; do cp -a "$src/$path" "$dest/"; done
  else
    echo "build-peers: $src holds no commit $rev" >&2
    exit 1
  fi
}

# fresh NAME STAMP: true when NAME was built from STAMP's pins already.
fresh() { [ -x "$P/bin/$1" ] && [ "$(cat "$P/stamp.$1" 2>/dev/null)" = "$2" ]; }

mkdir -p "$P/bin" "$P/src"

# --- Chainsaw ------------------------------------------------------------------
stamp="$CHAINSAW_REV $MFT_REV crates.io-libesedb-notatin nom7"
if fresh chainsaw "$stamp"; then
  say "chainsaw: up to date"
else
  say "chainsaw $CHAINSAW_REV"
  extract "$CHAINSAW_SRC" "$CHAINSAW_REV" "$P/src/chainsaw" Cargo.toml Cargo.lock src mappings LICENCE README.md
  extract "$MFT_SRC" "$MFT_REV" "$P/src/mft" Cargo.toml build.rs src LICENSE-MIT LICENSE-APACHE README.md
  python3 - "$P/src/chainsaw/Cargo.toml" <<'EOF'
import re, sys
path = sys.argv[1]
text = open(path).read()
# The [patch] section names three git forks; keep only mft, from the local tree.
text, n = re.subn(r"\[patch\.crates-io\]\n(?:[^\[\n][^\n]*\n?)*",
                  '[patch.crates-io]\nmft = { path = "../mft" }\n', text)
assert n == 1, "chainsaw Cargo.toml: no [patch.crates-io] section"
# Its own workspace: the default PEERS_DIR lies inside sighunt's.
if "\n[workspace]" not in text:
    text += "\n[workspace]\n"
open(path, "w").write(text)
EOF
  (
    cd "$P/src/chainsaw"
    # Resolve the three crates from crates.io, keeping every other pin of the lock.
    cargo metadata --format-version 1 > /dev/null
    if cargo tree -i nom@8.0.0 > /dev/null 2>&1; then
      cargo update -p nom@8.0.0 --precise 7.1.3
    fi
    CARGO_TARGET_DIR="$CHAINSAW_TARGET_DIR" cargo build --release --bin chainsaw
  )
  cp "$CHAINSAW_TARGET_DIR/release/chainsaw" "$P/bin/chainsaw"
  echo "$stamp" > "$P/stamp.chainsaw"
fi

# --- Hayabusa ------------------------------------------------------------------
stamp="$HAYABUSA_REV $HAYABUSA_EVTX_REV $HAYABUSA_RULES_REV system-openssl"
if fresh hayabusa "$stamp"; then
  say "hayabusa: up to date"
else
  say "hayabusa $HAYABUSA_REV"
  if ! pkg-config --exists openssl 2>/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libssl-dev pkg-config >/dev/null
  fi
  extract "$HAYABUSA_SRC" "$HAYABUSA_REV" "$P/src/hayabusa" \
    Cargo.toml Cargo.lock src config art contributors.txt LICENSE.txt README.md CHANGELOG.md
  extract "$HAYABUSA_EVTX_SRC" "$HAYABUSA_EVTX_REV" "$P/src/hayabusa-evtx" \
    Cargo.toml src README.md LICENSE-MIT LICENSE-APACHE
  extract "$HAYABUSA_RULES_SRC" "$HAYABUSA_RULES_REV" "$P/src/hayabusa-rules" config
  sed -i 's|^evtx = { git = .*|evtx = { path = "../hayabusa-evtx", features = ["fast-alloc"] }|' \
    "$P/src/hayabusa/Cargo.toml"
  grep -q '^evtx = { path = "../hayabusa-evtx"' "$P/src/hayabusa/Cargo.toml" || {
    echo "build-peers: hayabusa Cargo.toml: evtx dependency not found" >&2
    exit 1
  }
  # Its own workspace: the default PEERS_DIR lies inside sighunt's.
  grep -q '^\[workspace\]' "$P/src/hayabusa/Cargo.toml" || printf '\n[workspace]\n' >>"$P/src/hayabusa/Cargo.toml"
  (
    cd "$P/src/hayabusa"
    OPENSSL_NO_VENDOR=1 CARGO_TARGET_DIR="$HAYABUSA_TARGET_DIR" \
      cargo build --release --ignore-rust-version --bin hayabusa
  )
  cp "$HAYABUSA_TARGET_DIR/release/hayabusa" "$P/bin/hayabusa"
  rm -rf "$P/hayabusa-config" && cp -a "$P/src/hayabusa-rules/config" "$P/hayabusa-config"
  echo "$stamp" > "$P/stamp.hayabusa"
fi

# --- Zircolite -----------------------------------------------------------------
stamp="$ZIRCOLITE_REV $(python3 --version 2>&1)"
if fresh zircolite "$stamp"; then
  say "zircolite: up to date"
else
  say "zircolite $ZIRCOLITE_REV"
  extract "$ZIRCOLITE_SRC" "$ZIRCOLITE_REV" "$P/src/zircolite" \
    zircolite.py zircolite config templates requirements.txt LICENSE README.md
  rm -rf "$P/zl-venv"
  python3 -m venv "$P/zl-venv"
  "$P/zl-venv/bin/pip" install -q -r "$P/src/zircolite/requirements.txt"
  # Zircolite reads config/ relative to the working directory.
  cat > "$P/bin/zircolite" <<EOF
#!/bin/sh
cd '$P/src/zircolite' && exec '$P/zl-venv/bin/python' zircolite.py "\$@"
EOF
  chmod +x "$P/bin/zircolite"
  echo "$stamp" > "$P/stamp.zircolite"
fi

{
  echo "chainsaw: $("$P/bin/chainsaw" --version 2>&1 | head -n 1) (WithSecureLabs/chainsaw $CHAINSAW_REV; libesedb 0.2.7 + notatin 1.0.1 from crates.io, nom 7.1.3; alexkornitzer/mft $MFT_REV)"
  echo "hayabusa: $(grep -o -m1 'v[0-9][0-9.]*' < <("$P/bin/hayabusa" help 2>&1) || true) (Yamato-Security/hayabusa $HAYABUSA_REV; hayabusa-evtx $HAYABUSA_EVTX_REV; rules config hayabusa-rules $HAYABUSA_RULES_REV)"
  echo "zircolite: $(grep -o -m1 'v[0-9][0-9.]*' < <("$P/bin/zircolite" --version 2>&1) || true) (wagga40/Zircolite $ZIRCOLITE_REV; $(python3 --version 2>&1); $("$P/zl-venv/bin/pip" freeze 2>/dev/null | grep -i -E '^(pysigma|pysigma-backend-sqlite|evtx|orjson)=' | tr '\n' ' '))"
  echo "rustc: $(rustc --version)"
} > "$P/versions.txt"
cat "$P/versions.txt" >&2

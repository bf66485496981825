#!/usr/bin/env bash
# The test command of the README: every crate's unit and integration tests.
#
# The checkpoint tests also run anvil as a root chain: it is installed from npm
# (@foundry-rs/anvil-linux-amd64) into $ANVIL_DIR (default ~/.cache/bttc-anvil) when npm is
# there, and found through BTTC_ANVIL. Without npm that one test says it did not run, unless
# BTTC_REQUIRE_ANVIL=1 (CI), where it fails.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${BTTC_ANVIL:-}" ]; then
  anvil_dir="${ANVIL_DIR:-$HOME/.cache/bttc-anvil}"
  anvil="$anvil_dir/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
  if [ ! -x "$anvil" ] && command -v npm >/dev/null; then
    echo "installing anvil (npm @foundry-rs/anvil-linux-amd64) into $anvil_dir"
    mkdir -p "$anvil_dir"
    (cd "$anvil_dir" && { [ -f package.json ] || npm init -y >/dev/null; } \
      && npm install --no-audit --no-fund @foundry-rs/anvil-linux-amd64 >/dev/null) \
      || echo "anvil could not be installed; the anvil root-chain test will not run" >&2
  fi
  if [ -x "$anvil" ]; then
    export BTTC_ANVIL="$anvil"
  fi
fi
exec cargo test --workspace --locked "$@"

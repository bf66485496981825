#!/usr/bin/env bash
# The README's "run it" command for what exists today (the execution core): build bttc,
# generate a synthetic chain of 2,000 blocks of ERC-20 transfers, `bttc init` + `bttc import`
# it into a fresh datadir, re-run the import (it resumes: nothing left to do) and show
# `bttc db stats`. Pass a directory to keep the datadir; default is a temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-$(mktemp -d)}"
blocks="${BLOCKS:-2000}"
cargo build --release -p bttc -p bttc-bench
bin=target/release
[ -n "${CARGO_TARGET_DIR:-}" ] && bin="$CARGO_TARGET_DIR/release"
"$bin/bttc-bench" gen --workload erc20 --blocks "$blocks" --txs 100 --out "$out/chain"
"$bin/bttc" init --genesis "$out/chain/genesis.json" --datadir "$out/data"
"$bin/bttc" import --datadir "$out/data" "$out/chain/chain.rlp"
echo "-- importing again resumes from the stored head:"
"$bin/bttc" import --datadir "$out/data" "$out/chain/chain.rlp"
"$bin/bttc" db stats --datadir "$out/data"
echo "datadir: $out/data"

#!/usr/bin/env bash
# Benchmarks of the execution core; figures go to docs/benchmarks.md.
#   exec : bttc import (validate + execute + incremental root + MDBX commit) vs raw revm on an
#          in-memory database, same transactions, same run -> Mgas/s and ratio
#   import: 10k-block import through the `bttc` binary -> blocks/s, Mgas/s, peak RSS
#   root : state-root time per block with 10k vs 1M accounts (criterion, bttc-trie)
#   rpc  : `bttc node --dev` next to anvil (npm @foundry-rs/anvil-linux-amd64, installed into
#          $ANVIL_DIR, default ~/.cache/bttc-anvil): 5000 pre-signed transfers (ETH, ERC-20,
#          automine), read QPS / p50 / p99 at 1 and 32 clients (with wrk), RSS -> ratios
#   admission: eth_sendRawTransaction latency p50/p99 with the RPC execution lane idle vs
#          saturated by clients looping gas-cap eth_calls; the deadline inspector's cost
#          per EVM call (plain vs with it)
#   net  : a 4-validator `bttc devnet` next to a 1 s dev node: block time vs target, finality
#          latency p50/p99, sustained ETH-transfer TPS (ratio), full-node sync of 10k
#          certified blocks (blocks/s)
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -p bttc -p bttc-bench
if [ "$what" = all ] || [ "$what" = exec ]; then
  for w in eth erc20; do
    "$target/release/bttc-bench" exec --workload "$w" --blocks "${EXEC_BLOCKS:-100}" --txs "${EXEC_TXS:-500}" --senders 5000
  done
fi
if [ "$what" = all ] || [ "$what" = import ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  "$target/release/bttc-bench" gen --workload erc20 --blocks "${IMPORT_BLOCKS:-10000}" --txs "${IMPORT_TXS:-50}" --senders 5000 --out "$tmp/chain"
  "$target/release/bttc" init --genesis "$tmp/chain/genesis.json" --datadir "$tmp/data"
  "$target/release/bttc" import --datadir "$tmp/data" "$tmp/chain/chain.rlp"
  "$target/release/bttc" db stats --datadir "$tmp/data" | tail -3
fi
if [ "$what" = all ] || [ "$what" = root ]; then
  cargo bench -p bttc-trie --bench state_root
fi
if [ "$what" = all ] || [ "$what" = rpc ]; then
  anvil_dir="${ANVIL_DIR:-$HOME/.cache/bttc-anvil}"
  anvil="$anvil_dir/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
  if [ ! -x "$anvil" ]; then
    mkdir -p "$anvil_dir"
    (cd "$anvil_dir" && npm init -y >/dev/null && npm install --no-audit --no-fund @foundry-rs/anvil-linux-amd64 >/dev/null)
  fi
  command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || true; }
  "$anvil" --version | head -1
  wrk_arg=()
  if command -v wrk >/dev/null; then wrk_arg=(--wrk "$(command -v wrk)"); fi
  "$target/release/bttc-rpc-bench" --bttc "$target/release/bttc" --anvil "$anvil" "${wrk_arg[@]}" ${RPC_BENCH_ARGS:-}
fi
if [ "$what" = all ] || [ "$what" = admission ]; then
  "$target/release/bttc-rpc-bench" --bttc "$target/release/bttc" --nodes bttc --runs admission
  "$target/release/bttc-bench" deadline
fi
if [ "$what" = all ] || [ "$what" = net ]; then
  "$target/release/bttc-net-bench" --bttc "$target/release/bttc" ${NET_BENCH_ARGS:-}
fi

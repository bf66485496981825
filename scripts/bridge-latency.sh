#!/usr/bin/env bash
# Bridge latency on a local devnet (4 validators, its own root with 1 s blocks, a checkpoint
# every 2 blocks): deposit latency (deposit mined on the root -> credited on bttc, as
# `bttc bridge deposit --child-rpc` reports it) and withdrawal latency (withdrawal mined on
# bttc -> `bttc_getWithdrawalStatus` says checkpointed, i.e. the exit can be sent).
#
#   scripts/bridge-latency.sh [path/to/bttc] [deposits] [withdrawals]
set -euo pipefail
BTTC=${1:-target/release/bttc}
DEPOSITS=${2:-10}
WITHDRAWALS=${3:-5}
DIR=$(mktemp -d)
HTTP=18545; ROOT=18645; P2P=31301
"$BTTC" devnet --validators 4 --datadir "$DIR/net" --http.base-port $HTTP --p2p.base-port $P2P \
  --root.port $ROOT --set checkpointInterval=2 > "$DIR/devnet.log" 2>&1 &
DEVNET=$!
trap 'kill $DEVNET 2>/dev/null; wait $DEVNET 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 120); do grep -q childTestToken "$DIR/net/roots.json" 2>/dev/null && break; sleep 1; done
MANAGER=$(python3 -c "import json;print(json.load(open('$DIR/net/roots.json'))[0]['bridge']['rootChainManager'])")
KEY=0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6 # dev account 3
CHILD=http://127.0.0.1:$HTTP
deps=()
for i in $(seq "$DEPOSITS"); do
  out=$("$BTTC" bridge deposit --token btt --amount 1 --manager "$MANAGER" \
    --rpc-url http://127.0.0.1:$ROOT --child-rpc $CHILD --private-key $KEY)
  deps+=("$(echo "$out" | sed -n 's/.*(\([0-9.]*\) s after.*/\1/p')")
done
wds=()
for i in $(seq "$WITHDRAWALS"); do
  out=$("$BTTC" bridge withdraw --token btt --amount 1 --rpc-url $CHILD --private-key $KEY)
  tx=$(echo "$out" | awk '/^withdrawal/ {print $2}')
  start=$(date +%s.%N)
  for _ in $(seq 600); do
    s=$(curl -s -H 'content-type: application/json' -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"bttc_getWithdrawalStatus\",\"params\":[\"$tx\"]}" $CHILD)
    echo "$s" | grep -q '"checkpointed"' && break
    sleep 0.1
  done
  wds+=("$(echo "$(date +%s.%N) - $start" | bc)")
done
python3 - "${deps[*]}" "${wds[*]}" <<'PY'
import sys, statistics as st
for name, raw in (("deposit (root inclusion -> credited on bttc)", sys.argv[1]), ("withdrawal (bttc inclusion -> exit possible)", sys.argv[2])):
    v = sorted(float(x) for x in raw.split())
    print(f"{name}: n={len(v)} p50={st.median(v):.2f} s max={v[-1]:.2f} s min={v[0]:.2f} s")
PY

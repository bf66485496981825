#!/usr/bin/env bash
# End-to-end test with web3.py (from PyPI): starts `bttc node --dev` on a free port and runs
# scripts/web3py_e2e.py against it. The virtualenv is cached in $BTTC_VENV
# (default ~/.cache/bttc-web3py-venv). Usage: scripts/e2e-web3py.sh [path/to/bttc]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-}"
if [ -z "$BIN" ]; then
  cargo build --locked -q -p bttc
  BIN="${CARGO_TARGET_DIR:-target}/debug/bttc"
fi
VENV="${BTTC_VENV:-$HOME/.cache/bttc-web3py-venv}"
if ! "$VENV/bin/python" -c "import web3" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "web3==8.0.0"
fi
LOG="$(mktemp)"
"$BIN" node --dev --http.port 0 >"$LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 100); do
  ADDR="$(sed -n 's/^Listening on //p' "$LOG")"
  [ -n "$ADDR" ] && break
  sleep 0.1
done
[ -n "${ADDR:-}" ] || { cat "$LOG"; echo "node did not start" >&2; exit 1; }
"$VENV/bin/python" scripts/web3py_e2e.py "http://$ADDR"

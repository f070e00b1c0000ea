#!/usr/bin/env bash
# Bytes per idle websocket connection with WS_IDLE_CONNS (10,000) open:
# raises the open-files limit to the hard limit (each connection is one
# descriptor in the client and one in the server), builds and runs
# benches/ws_idle.rs, which prints one Markdown row.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ulimit -n "$(ulimit -Hn)"
cd "$ROOT"
cargo bench --bench ws_idle --no-run >/dev/null 2>&1
BIN=$(ls -t target/release/deps/ws_idle-* | grep -v '\.d$' | head -1)
"$BIN" --bench

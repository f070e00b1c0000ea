#!/usr/bin/env bash
# Runs the Autobahn fuzzingclient (autobahntestsuite) against examples/ws_echo.rs:
# every case but the compression groups 12 and 13, twice:
#   1. the default 1 MiB limit: every case OK (or INFORMATIONAL) except the
#      group-9 cases whose messages are over 1 MiB, which must fail with 1009;
#   2. a 16 MiB limit, group 9 only: every case OK.
# Installs what it needs (a Python 2.7 virtualenv under target/, rebuilt
# from the registry when missing). Reports go to target/autobahn/.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROOT=$PWD
VENV=$ROOT/target/autobahn-venv
OUT=$ROOT/target/autobahn
PY2=${PY2:-$HOME/.pyenv/versions/2.7.18/bin/python}

if [ ! -x "$VENV/bin/wstest" ]; then
  echo "autobahn: installing autobahntestsuite into $VENV"
  if [ ! -x "$PY2" ]; then
    PY2=$(command -v python2.7 || true)
  fi
  if [ -z "$PY2" ] || [ ! -x "$PY2" ]; then
    echo "autobahn: no Python 2.7 found (pyenv 2.7.18 or python2.7)" >&2
    exit 1
  fi
  python3 -m pip install --quiet --user 'virtualenv<20.22'
  rm -rf "$VENV"
  python3 -m virtualenv --quiet -p "$PY2" "$VENV"
  "$VENV/bin/pip" install --quiet autobahntestsuite
fi

cargo build --quiet --release --example ws_echo
SERVER=$ROOT/target/release/examples/ws_echo
rm -rf "$OUT"
mkdir -p "$OUT"

# run NAME PORT LIMIT CASES...: one fuzzingclient run against a fresh server.
run() {
  local name=$1 port=$2 limit=$3
  shift 3
  local cases
  cases=$(printf '"%s",' "$@")
  cat >"$OUT/$name.json" <<JSON
{
  "outdir": "$OUT/$name",
  "servers": [{"agent": "sanio", "url": "ws://127.0.0.1:$port"}],
  "cases": [${cases%,}],
  "exclude-cases": ["12.*", "13.*"],
  "exclude-agent-cases": {}
}
JSON
  SANIO_PORT=$port SANIO_WORKERS=1 SANIO_WS_MAX_MESSAGE_SIZE=$limit SANIO_WS_MAX_FRAME_SIZE=$limit "$SERVER" >"$OUT/$name.server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    sleep 0.1
  done
  local started=$SECONDS
  (cd "$OUT" && "$VENV/bin/wstest" -m fuzzingclient -s "$OUT/$name.json" >"$OUT/$name.wstest.log" 2>&1) || {
    kill "$pid" 2>/dev/null || true
    echo "autobahn: wstest failed; see $OUT/$name.wstest.log" >&2
    tail -20 "$OUT/$name.wstest.log" >&2
    exit 1
  }
  echo "autobahn: $name took $((SECONDS - started)) s"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

run default 9101 1048576 '*'
run limit16m 9102 16777216 '9.*'

python3 tests/autobahn/check.py "$OUT/default/index.json" "$OUT/limit16m/index.json"

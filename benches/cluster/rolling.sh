#!/usr/bin/env bash
# A rolling restart under load (not CI): two demo instances (2 workers
# each, one redis-server, built with --features redis) behind nginx on
# loopback, loaded by wrk. While wrk runs: SIGTERM instance A, start it
# again, wait until it is ready, then the same for B. Prints wrk's figures
# and the failed requests (non-2xx answers plus socket errors); exits 1 if
# there was any.
#
#   benches/cluster/rolling.sh            # 30 s of load, 64 connections
#   benches/cluster/rolling.sh 60 128     # SECONDS CONNECTIONS
#
# Needs redis-server, nginx (Debian's nginx-light is enough), wrk, curl.
# Each instance drains for SANIO_DRAIN_DELAY (1 s here): /readyz answers
# 503 while it still serves; nginx (open source) does not poll readiness,
# it retries a refused or reset idempotent request on the other instance
# (proxy_next_upstream), which is what keeps the failures at zero.
set -euo pipefail
cd "$(dirname "$0")/../.."

SECONDS_OF_LOAD="${1:-30}"
CONNECTIONS="${2:-64}"
for tool in redis-server nginx wrk curl; do
  command -v "$tool" >/dev/null || { echo "rolling.sh: $tool is not installed" >&2; exit 2; }
done

cargo build --quiet --release --features redis --example demo
DEMO=target/release/examples/demo
WORK="$(mktemp -d)"
PIDS=()
NGINX=""
cleanup() {
  # nginx first, by SIGTERM, so that its master takes its worker along.
  if [[ -n "$NGINX" ]]; then kill -TERM "$NGINX" 2>/dev/null || true; wait "$NGINX" 2>/dev/null || true; fi
  for pid in "${PIDS[@]}"; do
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
REDIS_PORT="$(free_port)"
PORT_A="$(free_port)"
PORT_B="$(free_port)"
PORT_LB="$(free_port)"

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
PIDS+=($!)

declare -A PID
start_instance() { # NAME PORT
  SANIO_HOST=127.0.0.1 SANIO_PORT="$2" SANIO_WORKERS=2 \
    SANIO_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" SANIO_REDIS_PREFIX=rolling \
    SANIO_DRAIN_DELAY=1 SANIO_GRACEFUL_TIMEOUT=10 \
    "$DEMO" >>"$WORK/$1.log" 2>&1 &
  PID[$1]=$!
  PIDS+=($!)
  # Ready: answering /readyz with 200 (every worker up, not draining).
  for _ in $(seq 1 600); do
    if curl -sf "http://127.0.0.1:$2/readyz" >/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "rolling.sh: instance $1 did not become ready" >&2
  exit 1
}

# SIGTERM, then wait for the graceful stop to end.
stop_instance() { # NAME
  kill -TERM "${PID[$1]}"
  wait "${PID[$1]}" || true
}

T0="$(date +%s.%N)"
since() { awk -v t0="$T0" -v t="$(date +%s.%N)" 'BEGIN { printf "%.1f", t - t0 }'; }

start_instance a "$PORT_A"
start_instance b "$PORT_B"

cat >"$WORK/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/body;
  proxy_temp_path $WORK/proxy;
  upstream sanio {
    server 127.0.0.1:$PORT_A max_fails=1 fail_timeout=1s;
    server 127.0.0.1:$PORT_B max_fails=1 fail_timeout=1s;
    keepalive 64;
  }
  server {
    listen 127.0.0.1:$PORT_LB;
    location / {
      proxy_pass http://sanio;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout http_502 http_503;
      proxy_next_upstream_tries 3;
    }
  }
}
EOF
nginx -c "$WORK/nginx.conf" -p "$WORK" -e "$WORK/nginx-error.log" &
NGINX=$!
for _ in $(seq 1 100); do
  if curl -sf "http://127.0.0.1:$PORT_LB/" >/dev/null; then break; fi
  sleep 0.1
done

echo "rolling restart: $SECONDS_OF_LOAD s of wrk, $CONNECTIONS connections, through nginx to two instances"
wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_OF_LOAD}s" --latency "http://127.0.0.1:$PORT_LB/" >"$WORK/wrk.txt" 2>&1 &
WRK=$!
T0="$(date +%s.%N)"
sleep 3
for name in a b; do
  port_var="PORT_${name^^}"
  echo "  +$(since) s: SIGTERM $name"
  stop_instance "$name"
  echo "  +$(since) s: $name stopped; starting it again"
  start_instance "$name" "${!port_var}"
  echo "  +$(since) s: $name ready"
  sleep 3
done
if ! kill -0 "$WRK" 2>/dev/null; then
  echo "rolling.sh: wrk ended before the restarts did; give it more seconds" >&2
  exit 1
fi
wait "$WRK"

cat "$WORK/wrk.txt"
non2xx="$(sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$WORK/wrk.txt")"
socket="$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$WORK/wrk.txt")"
failed=$(( ${non2xx:-0} ))
for n in $socket; do failed=$(( failed + n )); done
retried="$(grep -c 'upstream' "$WORK/nginx-error.log" || true)"
echo "failed requests: $failed (non-2xx: ${non2xx:-0}; socket errors connect/read/write/timeout: ${socket:-0 0 0 0})"
echo "upstream errors nginx retried on the other instance: $retried"
[[ "$failed" == 0 ]]

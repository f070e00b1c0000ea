#!/usr/bin/env bash
# Compares sanio's HTTP and websocket servers with hyper and tokio-tungstenite.
#
# For every server (interleaved, REPEATS times, each repeat a fresh server):
#   - plaintext keep-alive: wrk -t1 -c64 -d${DURATION}s --latency
#   - plaintext pipelined 16 deep: the same with a lua script, 16 requests a write
#   - syscalls per request: a short wrk run under `strace -c -f` on the server
#   - peak RSS (VmHWM)
#   - websocket: ws_load, 64 connections ping-ponging 32-byte text messages
# Server CPU time is the delta of the first field of /proc/PID/task/*/schedstat
# (ns on CPU) over the load run, divided by requests (or messages); the
# user-space part comes from /proc/PID/stat utime. The server runs on CPU
# $SERVER_CPU and the load generator on CPU $LOAD_CPU, both under chrt -f 50.
#
# Usage (as root, from anywhere):  benches/compare/run.sh
# Environment: REPEATS (3), DURATION (5), STRACE_DURATION (2), CONNS (64),
#   WS_CONNS (64), DEPTH (16), SERVER_CPU (0), LOAD_CPU (1), BASE_PORT (18080),
#   SKIP_BUILD=1 to use what is built, OUT (results folder).
set -euo pipefail

REPEATS=${REPEATS:-3}
DURATION=${DURATION:-5}
STRACE_DURATION=${STRACE_DURATION:-2}
CONNS=${CONNS:-64}
WS_CONNS=${WS_CONNS:-64}
DEPTH=${DEPTH:-16}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
BASE_PORT=${BASE_PORT:-18080}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$(mktemp -d /tmp/sanio-compare.XXXXXX)}
mkdir -p "$OUT"
RESULTS="$OUT/results.tsv" # server  test  metric  value
: >"$RESULTS"

SERVER_PID=""
STRACE_PID=""

die() {
    echo "run.sh: $*" >&2
    exit 1
}

cleanup() {
    [[ -n "$STRACE_PID" ]] && kill "$STRACE_PID" 2>/dev/null || true
    [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null || true
    [[ -n "$SERVER_PID" ]] && wait "$SERVER_PID" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ----- setup -----------------------------------------------------------------

need_pkg() { # command package
    command -v "$1" >/dev/null && return
    echo "installing $2"
    apt-get install -y "$2" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y "$2" >/dev/null; }
    command -v "$1" >/dev/null || die "could not install $2"
}
need_pkg wrk wrk
need_pkg strace strace
[[ $(id -u) == 0 ]] || die "run as root (chrt -f needs it)"

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    echo "building benches/compare and sanio's examples (release)"
    (cd "$HERE" && cargo build --release --quiet)
    (cd "$ROOT" && cargo build --release --examples --quiet)
fi
CMP="$HERE/target/release"
EX="$ROOT/target/release/examples"

cat >"$OUT/pipeline.lua" <<EOF
-- $DEPTH requests per write (HTTP pipelining); wrk counts each response.
init = function(args)
  local r = {}
  for i = 1, $DEPTH do r[i] = wrk.format(nil, "/") end
  req = table.concat(r)
end
request = function() return req end
EOF

# ----- servers ----------------------------------------------------------------
# name | binary | kind (http/ws) | env (space-separated K=V; PORT is filled in) | ws path

SERVERS=(
    "sanio|$EX/hello|http|SANIO_PORT=@PORT@ SANIO_HOST=127.0.0.1 SANIO_WORKERS=1|"
    "hyper|$CMP/hyper_hello|http|PORT=@PORT@|"
    "hyper-pipeline-flush|$CMP/hyper_hello|http|PORT=@PORT@ PIPELINE_FLUSH=1|"
    "sanio-ws|$EX/demo|ws|SANIO_PORT=@PORT@ SANIO_HOST=127.0.0.1 SANIO_WORKERS=1|/echo"
    "tokio-tungstenite|$CMP/tt_echo|ws|PORT=@PORT@|/"
)
[[ -x "$CMP/ws_load" ]] || die "$CMP/ws_load is missing (build failed?)"

ACTIVE=()
for s in "${SERVERS[@]}"; do
    IFS='|' read -r name bin _ _ _ <<<"$s"
    if [[ -x "$bin" ]]; then
        ACTIVE+=("$s")
    else
        echo "SKIP $name: $bin does not exist (not built yet)"
    fi
done

# ----- helpers ----------------------------------------------------------------

cpu_ns() { # sum of on-CPU ns over all threads of $1
    local sum=0 f v
    for f in /proc/"$1"/task/*/schedstat; do
        read -r v _ <"$f" || true
        sum=$((sum + v))
    done
    echo "$sum"
}
utime_stime() { # "utime stime" in clock ticks
    awk '{ sub(/^.*\) /, ""); print $12, $13 }' /proc/"$1"/stat
}
CLK_TCK=$(getconf CLK_TCK)

alive() { kill -0 "$SERVER_PID" 2>/dev/null || die "server $1 died; its log:"$'\n'"$(tail -20 "$OUT/$1.log")"; }

start_server() { # spec port
    local name bin kind envs path
    IFS='|' read -r name bin kind envs path <<<"$1"
    if (exec 3<>/dev/tcp/127.0.0.1/"$2") 2>/dev/null; then die "port $2 is already in use"; fi
    # shellcheck disable=SC2086 # envs is a list of K=V words
    taskset -c "$SERVER_CPU" chrt -f 50 env ${envs//@PORT@/$2} "$bin" "$2" >"$OUT/$name.log" 2>&1 &
    SERVER_PID=$!
    local i
    for i in $(seq 1 100); do
        alive "$name"
        if (exec 3<>/dev/tcp/127.0.0.1/"$2") 2>/dev/null; then return; fi
        sleep 0.1
    done
    die "server $name did not accept on port $2 within 10 s"
}

stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

to_ms() { # wrk latency like 1.23ms / 456.00us / 1.02s -> ms
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); print v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); print v }
        else if (v ~ /m$/) { sub(/m$/, "", v); print v * 60000 }
        else { sub(/s$/, "", v); print v * 1000 } }'
}

record() { echo -e "$1\t$2\t$3\t$4" >>"$RESULTS"; }

# wrk under measurement: name test port [extra wrk args]
http_run() {
    local name=$1 test=$2 port=$3
    shift 3
    local c0 u0 c1 u1 log="$OUT/$name.$test.wrk"
    c0=$(cpu_ns "$SERVER_PID")
    read -r u0 _ < <(utime_stime "$SERVER_PID")
    taskset -c "$LOAD_CPU" chrt -f 50 wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$@" \
        "http://127.0.0.1:$port/" >"$log" 2>&1 || die "wrk failed: $(cat "$log")"
    c1=$(cpu_ns "$SERVER_PID")
    read -r u1 _ < <(utime_stime "$SERVER_PID")
    alive "$name"
    local reqs rps p50 p90
    reqs=$(awk '/requests in/ { print $1 }' "$log")
    rps=$(awk '/^Requests\/sec/ { print $2 }' "$log")
    p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$log")")
    p90=$(to_ms "$(awk '$1 == "90%" { print $2 }' "$log")")
    [[ -n "$reqs" && "$reqs" -gt 0 ]] || die "$name $test served no requests: $(cat "$log")"
    grep -E "Non-2xx|Socket errors" "$log" | sed "s/^/WARN $name $test: /" || true
    record "$name" "$test" rps "$rps"
    # wrk's percentiles break with pipelining (it prints 0.00us for the upper
    # ones); a zero is left out rather than reported.
    if [[ "$p50" != 0 ]]; then record "$name" "$test" p50_ms "$p50"; fi
    if [[ "$p90" != 0 ]]; then record "$name" "$test" p90_ms "$p90"; fi
    record "$name" "$test" cpu_us "$(awk -v c="$((c1 - c0))" -v n="$reqs" 'BEGIN { print c / n / 1000 }')"
    record "$name" "$test" user_us "$(awk -v u="$((u1 - u0))" -v t="$CLK_TCK" -v n="$reqs" 'BEGIN { print u / t * 1e6 / n }')"
    echo "  $name $test: $rps req/s, p50 $p50 ms, p90 $p90 ms, $(( (c1 - c0) / reqs )) ns CPU/req"
}

# syscalls per request: a short run with strace -c attached to every thread
strace_run() {
    local name=$1 test=$2 port=$3
    shift 3
    local log="$OUT/$name.$test.strace" wlog="$OUT/$name.$test.strace.wrk" pids=()
    local t
    for t in /proc/"$SERVER_PID"/task/*; do pids+=(-p "${t##*/}"); done
    strace -c -f -o "$log" "${pids[@]}" 2>/dev/null &
    STRACE_PID=$!
    sleep 0.5
    taskset -c "$LOAD_CPU" chrt -f 50 wrk -t1 -c"$CONNS" -d"${STRACE_DURATION}s" "$@" \
        "http://127.0.0.1:$port/" >"$wlog" 2>&1 || die "wrk (strace run) failed"
    kill -INT "$STRACE_PID"
    wait "$STRACE_PID" 2>/dev/null || true
    STRACE_PID=""
    alive "$name"
    local reqs calls
    reqs=$(awk '/requests in/ { print $1 }' "$wlog")
    calls=$(awk '$NF == "total" { print $4 }' "$log")
    [[ -n "$reqs" && "$reqs" -gt 0 && -n "$calls" ]] || die "$name $test strace run: no figures"
    record "$name" "$test" syscalls "$(awk -v c="$calls" -v n="$reqs" 'BEGIN { print c / n }')"
}

ws_run() {
    local name=$1 port=$2 path=$3
    local c0 u0 c1 u1 log="$OUT/$name.ws.load"
    c0=$(cpu_ns "$SERVER_PID")
    read -r u0 _ < <(utime_stime "$SERVER_PID")
    taskset -c "$LOAD_CPU" chrt -f 50 "$CMP/ws_load" "ws://127.0.0.1:$port$path" "$WS_CONNS" "$DURATION" \
        >"$log" 2>&1 || die "ws_load against $name failed: $(cat "$log")"
    c1=$(cpu_ns "$SERVER_PID")
    read -r u1 _ < <(utime_stime "$SERVER_PID")
    alive "$name"
    local rtps total
    rtps=$(awk '{ print $2 }' "$log")
    total=$(awk '{ print $4 }' "$log")
    [[ "$total" -gt 0 ]] || die "$name: no round-trips"
    record "$name" ws rps "$rtps"
    record "$name" ws cpu_us "$(awk -v c="$((c1 - c0))" -v n="$total" 'BEGIN { print c / n / 1000 }')"
    record "$name" ws user_us "$(awk -v u="$((u1 - u0))" -v t="$CLK_TCK" -v n="$total" 'BEGIN { print u / t * 1e6 / n }')"
    echo "  $name ws: $rtps round-trips/s, $(( (c1 - c0) / total )) ns CPU/message"
}

hwm_kib() { awk '/^VmHWM/ { print $2 }' /proc/"$1"/status; }

# ----- the runs -----------------------------------------------------------------

echo "results in $OUT; $REPEATS repeats; server on CPU $SERVER_CPU, load on CPU $LOAD_CPU"
for r in $(seq 1 "$REPEATS"); do
    echo "repeat $r/$REPEATS"
    i=0
    for s in "${ACTIVE[@]}"; do
        IFS='|' read -r name _ kind _ path <<<"$s"
        port=$((BASE_PORT + i))
        i=$((i + 1))
        start_server "$s" "$port"
        if [[ "$kind" == http ]]; then
            http_run "$name" keepalive "$port"
            http_run "$name" pipelined "$port" -s "$OUT/pipeline.lua"
            strace_run "$name" keepalive "$port"
            strace_run "$name" pipelined "$port" -s "$OUT/pipeline.lua"
            hwm=$(hwm_kib "$SERVER_PID")
            record "$name" keepalive hwm_kib "$hwm"
            record "$name" pipelined hwm_kib "$hwm"
        else
            ws_run "$name" "$port" "$path"
            record "$name" ws hwm_kib "$(hwm_kib "$SERVER_PID")"
        fi
        stop_server
    done
done

# ----- medians ----------------------------------------------------------------------

median() { # of the values of server/test/metric
    awk -F'\t' -v s="$1" -v t="$2" -v m="$3" '$1 == s && $2 == t && $3 == m { print $4 }' "$RESULTS" |
        sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "";
            else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
fmt() { [[ -z "$1" ]] && echo "n/a" || awk -v v="$1" -v d="$2" 'BEGIN { printf "%.*f", d, v }'; }
ratio() { # value base
    [[ -z "$1" || -z "$2" ]] && { echo "n/a"; return; }
    awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'
}

echo
echo "### Medians of $REPEATS interleaved repeats ($(date -u +%Y-%m-%d), wrk -t1 -c$CONNS -d${DURATION}s; pipelined $DEPTH deep; ws $WS_CONNS connections)"
echo
echo "| server | test | req/s | p50 ms | p90 ms | CPU µs/req | user µs/req | syscalls/req | VmHWM KiB | req/s ÷ sanio | CPU/req ÷ sanio |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for test in keepalive pipelined ws; do
    base="sanio"
    [[ $test == ws ]] && base="sanio-ws"
    brps=$(median "$base" "$test" rps)
    bcpu=$(median "$base" "$test" cpu_us)
    for s in "${ACTIVE[@]}"; do
        IFS='|' read -r name _ kind _ _ <<<"$s"
        if [[ $test == ws ]]; then [[ $kind == ws ]] || continue; else [[ $kind == http ]] || continue; fi
        rps=$(median "$name" "$test" rps)
        cpu=$(median "$name" "$test" cpu_us)
        echo "| $name | $test | $(fmt "$rps" 0) | $(fmt "$(median "$name" "$test" p50_ms)" 3) |" \
            "$(fmt "$(median "$name" "$test" p90_ms)" 3) | $(fmt "$cpu" 2) |" \
            "$(fmt "$(median "$name" "$test" user_us)" 2) | $(fmt "$(median "$name" "$test" syscalls)" 2) |" \
            "$(fmt "$(median "$name" "$test" hwm_kib)" 0) | $(ratio "$rps" "$brps") | $(ratio "$cpu" "$bcpu") |"
    done
done
echo
echo "(ws rows: req/s = round-trips/s, CPU per message; p50/p90 and syscalls not measured for ws.)"

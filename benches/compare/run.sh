#!/usr/bin/env bash
# Compares sanio's HTTP and websocket servers with hyper, actix-web,
# may_minihttp, axum, tokio-tungstenite and Sanic (installed from PyPI into
# benches/compare/.venv).
#
# For every server (interleaved, REPEATS times, each repeat a fresh server):
#   - plaintext keep-alive: wrk -t1 -c64 -d${DURATION}s --latency
#   - plaintext pipelined 16 deep: the same with a lua script, 16 requests a write
#   - syscalls per request: a short wrk run under `strace -c -f` on the server
#   - peak RSS (VmHWM)
#   - websocket: ws_load, 64 connections ping-ponging 32-byte text messages
#   - idle keep-alive connections (its own fresh server): VmRSS after one
#     warm-up request, then with IDLE_CONNS connections open that have each
#     had one request answered and sit idle; (after - before) / IDLE_CONNS
#   - HTTPS (sanio built with `--features tls`, next to hyper + tokio-rustls,
#     both rustls 0.23 with the ring provider, tests/data/cert.pem, an ECDSA
#     P-256 certificate): full handshakes per second (tls_load: HS_CONNS
#     client threads each connect, handshake with no resumption, send one
#     `GET /` with `Connection: close` and read to the close) with the server
#     CPU per handshake; keep-alive req/s and CPU per request over TLS (wrk
#     on https://); bytes per idle TLS connection (as the idle test, each
#     connection a TLS one answered once)
# Server CPU time is the delta of the first field of /proc/PID/task/*/schedstat
# (ns on CPU) over the load run, divided by requests (or messages); the
# user-space part comes from /proc/PID/stat utime. The server runs on CPU
# $SERVER_CPU and the load generator on CPU $LOAD_CPU, both under chrt -f 50.
#
# Usage (as root, from anywhere):  benches/compare/run.sh
# Environment: REPEATS (3), DURATION (5), STRACE_DURATION (2), CONNS (64),
#   WS_CONNS (64), HS_CONNS (8), DEPTH (16), SERVER_CPU (0), LOAD_CPU (1), BASE_PORT (18080),
#   IDLE_CONNS (10000; lowered to fit `ulimit -Hn`), SKIP_BUILD=1 to use what
#   is built, OUT (raw results folder), ONLY (a regex of server names to run).
# Writes the tables to benches/compare/results.md and a bar chart to
# benches/compare/results.svg (RESULTS_MD / RESULTS_SVG to change).
set -euo pipefail

REPEATS=${REPEATS:-3}
DURATION=${DURATION:-5}
STRACE_DURATION=${STRACE_DURATION:-2}
CONNS=${CONNS:-64}
WS_CONNS=${WS_CONNS:-64}
HS_CONNS=${HS_CONNS:-8}
DEPTH=${DEPTH:-16}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
BASE_PORT=${BASE_PORT:-18080}
IDLE_CONNS=${IDLE_CONNS:-10000}
ONLY=${ONLY:-.}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$(mktemp -d /tmp/sanio-compare.XXXXXX)}
mkdir -p "$OUT"
RESULTS="$OUT/results.tsv" # server  test  metric  value
: >"$RESULTS"
RESULTS_MD=${RESULTS_MD:-$HERE/results.md}
RESULTS_SVG=${RESULTS_SVG:-$HERE/results.svg}
VENV="$HERE/.venv"

SERVER_PID=""
STRACE_PID=""
CLIENT_PID=""

die() {
    echo "run.sh: $*" >&2
    exit 1
}

cleanup() {
    [[ -n "$STRACE_PID" ]] && kill "$STRACE_PID" 2>/dev/null || true
    [[ -n "$CLIENT_PID" ]] && kill "$CLIENT_PID" 2>/dev/null || true
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

# Every idle connection is one descriptor in the server and one in the client.
HARD_NOFILE=$(ulimit -Hn)
if [[ "$HARD_NOFILE" != unlimited ]] && ((IDLE_CONNS + 200 > HARD_NOFILE)); then
    IDLE_CONNS=$((HARD_NOFILE - 200))
    echo "NOTE: ulimit -Hn is $HARD_NOFILE; idle test lowered to $IDLE_CONNS connections"
fi
ulimit -n $((IDLE_CONNS + 200))

if [[ "${SKIP_BUILD:-0}" != 1 || ! -x "$VENV/bin/python" ]]; then
    if ! "$VENV/bin/python" -c 'import sanic' 2>/dev/null; then
        echo "installing sanic into $VENV"
        python3 -m venv "$VENV" || die "python3 -m venv failed (python3-venv missing?)"
        "$VENV/bin/pip" install -q sanic || die "pip install sanic failed"
    fi
fi
SANIC_VERSION=$("$VENV/bin/python" -c 'import sanic; print(sanic.__version__)' 2>/dev/null || echo "?")

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    echo "building benches/compare and sanio's examples (release)"
    (cd "$HERE" && cargo build --release --quiet)
    (cd "$ROOT" && cargo build --release --examples --quiet)
    # The HTTPS rows: the same examples with the `tls` feature, built apart
    # so that the plain rows measure the default build.
    (cd "$ROOT" && cargo build --release --examples --features tls --target-dir "$ROOT/target/tls" --quiet)
fi
CMP="$HERE/target/release"
EX="$ROOT/target/release/examples"
EX_TLS="$ROOT/target/tls/release/examples"
CERT="$ROOT/tests/data/cert.pem"
KEY="$ROOT/tests/data/key.pem"

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
# name | command (program, then arguments; the port is appended) |
# kind (http: wrk runs and the idle test; http-load: wrk runs only; ws) |
# env (space-separated K=V; @PORT@ is filled in) | ws path

SERVERS=(
    "sanio|$EX/hello|http|SANIO_PORT=@PORT@ SANIO_HOST=127.0.0.1 SANIO_WORKERS=1|"
    "hyper|$CMP/hyper_hello|http|PORT=@PORT@|"
    "hyper-pipeline-flush|$CMP/hyper_hello|http-load|PORT=@PORT@ PIPELINE_FLUSH=1|"
    "actix-web|$CMP/actix_hello|http|PORT=@PORT@|"
    "may-minihttp|$CMP/may_hello|http|PORT=@PORT@|"
    "axum|$CMP/axum_hello|http|PORT=@PORT@|"
    "sanic|$VENV/bin/python $HERE/sanic_app.py|http|PORT=@PORT@|"
    "sanio-ws|$EX/demo|ws|SANIO_PORT=@PORT@ SANIO_HOST=127.0.0.1 SANIO_WORKERS=1|/echo"
    "tokio-tungstenite|$CMP/tt_echo|ws|PORT=@PORT@|/"
    "sanic-ws|$VENV/bin/python $HERE/sanic_app.py|ws|PORT=@PORT@|/echo"
    "sanio-tls|$EX_TLS/hello|tls|SANIO_PORT=@PORT@ SANIO_HOST=127.0.0.1 SANIO_WORKERS=1 SANIO_TLS_CERT=$CERT SANIO_TLS_KEY=$KEY|"
    "hyper-rustls|$CMP/hyper_rustls_hello|tls|PORT=@PORT@ TLS_CERT=$CERT TLS_KEY=$KEY|"
)
[[ -x "$CMP/ws_load" ]] || die "$CMP/ws_load is missing (build failed?)"
[[ -x "$CMP/idle_conns" ]] || die "$CMP/idle_conns is missing (build failed?)"
[[ -x "$CMP/tls_load" ]] || die "$CMP/tls_load is missing (build failed?)"

ACTIVE=()
for s in "${SERVERS[@]}"; do
    IFS='|' read -r name cmd _ _ _ <<<"$s"
    [[ "$name" =~ $ONLY ]] || continue
    if [[ -x "${cmd%% *}" ]]; then
        ACTIVE+=("$s")
    else
        echo "SKIP $name: ${cmd%% *} does not exist (not built yet)"
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
    local name cmd kind envs path
    IFS='|' read -r name cmd kind envs path <<<"$1"
    if (exec 3<>/dev/tcp/127.0.0.1/"$2") 2>/dev/null; then die "port $2 is already in use"; fi
    # shellcheck disable=SC2086 # envs is a list of K=V words, cmd a list of words
    taskset -c "$SERVER_CPU" chrt -f 50 env ${envs//@PORT@/$2} $cmd "$2" >>"$OUT/$name.log" 2>&1 &
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
        "${SCHEME:-http}://127.0.0.1:$port/" >"$log" 2>&1 || die "wrk failed: $(cat "$log")"
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
rss_kib() { awk '/^VmRSS/ { print $2 }' /proc/"$1"/status; }

# Full TLS handshakes per second (one request each), and server CPU per
# handshake.
handshake_run() {
    local name=$1 port=$2 c0 c1 log="$OUT/$1.handshakes"
    c0=$(cpu_ns "$SERVER_PID")
    taskset -c "$LOAD_CPU" chrt -f 50 "$CMP/tls_load" handshakes "127.0.0.1:$port" "$CERT" "$DURATION" "$HS_CONNS" \
        >"$log" 2>&1 || die "tls_load against $name failed: $(cat "$log")"
    c1=$(cpu_ns "$SERVER_PID")
    alive "$name"
    local hps total
    hps=$(awk '{ print $2 }' "$log")
    total=$(awk '{ print $4 }' "$log")
    [[ "$total" -gt 0 ]] || die "$name: no handshakes"
    record "$name" handshake rps "$hps"
    record "$name" handshake cpu_us "$(awk -v c="$((c1 - c0))" -v n="$total" 'BEGIN { print c / n / 1000 }')"
    echo "  $name handshakes: $hps/s, $(( (c1 - c0) / total )) ns CPU/handshake"
}

# Idle keep-alive connections, on a fresh server: VmRSS after one warm-up
# request, then with IDLE_CONNS connections idle (each answered once).
# With SCHEME=https the client is tls_load's idle mode.
idle_run() {
    local name=$1 port=$2 log="$OUT/$1.idle" fifo="$OUT/idle.fifo" before after i
    local -a client=("$CMP/idle_conns" "127.0.0.1:$port")
    [[ "${SCHEME:-http}" == https ]] && client=("$CMP/tls_load" idle "127.0.0.1:$port" "$CERT")
    taskset -c "$LOAD_CPU" "${client[@]}" 1 </dev/null >/dev/null 2>&1 ||
        die "$name: warm-up request failed"
    sleep 0.5
    before=$(rss_kib "$SERVER_PID")
    rm -f "$fifo"
    mkfifo "$fifo"
    taskset -c "$LOAD_CPU" chrt -f 50 "${client[@]}" "$IDLE_CONNS" <"$fifo" >"$log" 2>&1 &
    CLIENT_PID=$!
    exec 7>"$fifo" # the client's stdin; closing it lets the client go
    for i in $(seq 1 1200); do
        grep -q '^ready' "$log" && break
        kill -0 "$CLIENT_PID" 2>/dev/null || break
        sleep 0.1
    done
    grep -q '^ready' "$log" || { exec 7>&-; die "$name: idle connections failed: $(tail -3 "$log")"; }
    sleep 1
    alive "$name"
    after=$(rss_kib "$SERVER_PID")
    exec 7>&-
    wait "$CLIENT_PID" 2>/dev/null || true
    CLIENT_PID=""
    rm -f "$fifo"
    record "$name" idle rss0_kib "$before"
    record "$name" idle rss_kib "$after"
    record "$name" idle bytes_per_conn "$(awk -v a="$after" -v b="$before" -v n="$IDLE_CONNS" 'BEGIN { print (a - b) * 1024 / n }')"
    echo "  $name idle: VmRSS $before KiB -> $after KiB with $IDLE_CONNS connections," \
        "$(awk -v a="$after" -v b="$before" -v n="$IDLE_CONNS" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }') B/conn"
}

# ----- the runs -----------------------------------------------------------------

echo "results in $OUT; $REPEATS repeats; server on CPU $SERVER_CPU, load on CPU $LOAD_CPU"
for r in $(seq 1 "$REPEATS"); do
    echo "repeat $r/$REPEATS"
    i=0
    for s in "${ACTIVE[@]}"; do
        IFS='|' read -r name _ kind _ path <<<"$s"
        port=$((BASE_PORT + i))
        i=$((i + 1))
        if [[ "$kind" == tls ]]; then
            SCHEME=https
            start_server "$s" $((port + 50))
            idle_run "$name" $((port + 50))
            stop_server
            start_server "$s" "$port"
            handshake_run "$name" "$port"
            http_run "$name" tls-keepalive "$port"
            stop_server
            SCHEME=http
            continue
        fi
        if [[ "$kind" == http ]]; then
            start_server "$s" $((port + 50))
            idle_run "$name" $((port + 50))
            stop_server
        fi
        start_server "$s" "$port"
        if [[ "$kind" == http* ]]; then
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

MEDIANS="$OUT/medians.tsv" # server  test  metric  median (input of the chart)
: >"$MEDIANS"
for s in "${ACTIVE[@]}"; do
    IFS='|' read -r name _ _ _ _ <<<"$s"
    for tm in keepalive:rps keepalive:cpu_us keepalive:user_us pipelined:rps pipelined:cpu_us \
        pipelined:user_us ws:rps ws:cpu_us ws:user_us idle:bytes_per_conn; do
        v=$(median "$name" "${tm%%:*}" "${tm##*:}")
        [[ -n "$v" ]] && echo -e "$name\t${tm%%:*}\t${tm##*:}\t$v" >>"$MEDIANS"
    done
done

CPU_MODEL=$(lscpu | awk -F': *' '/^Model name/ { print $2; exit }')
report() {
    echo "### Medians of $REPEATS interleaved repeats"
    echo
    echo "$(date -u +%Y-%m-%d), $(nproc) vCPU \`$CPU_MODEL\`, kernel $(uname -r), $(rustc --version | cut -d' ' -f1-2)," \
        "Sanic $SANIC_VERSION on $("$VENV/bin/python" --version 2>&1); server on CPU $SERVER_CPU, load on CPU $LOAD_CPU," \
        "both \`chrt -f 50\`; wrk -t1 -c$CONNS -d${DURATION}s; pipelined $DEPTH deep; ws $WS_CONNS connections" \
        "(32-byte text); idle: $IDLE_CONNS keep-alive connections. Command: \`benches/compare/run.sh\`" \
        "(REPEATS=$REPEATS DURATION=$DURATION)."
    echo
    echo "| server | test | req/s | p50 ms | p90 ms | CPU µs/req | user µs/req | syscalls/req | VmHWM KiB | req/s ÷ sanio | CPU/req ÷ sanio | user/req ÷ sanio |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
    local test base brps bcpu buser s name kind rps cpu user
    for test in keepalive pipelined ws; do
        base="sanio"
        [[ $test == ws ]] && base="sanio-ws"
        brps=$(median "$base" "$test" rps)
        bcpu=$(median "$base" "$test" cpu_us)
        buser=$(median "$base" "$test" user_us)
        for s in "${ACTIVE[@]}"; do
            IFS='|' read -r name _ kind _ _ <<<"$s"
            if [[ $test == ws ]]; then [[ $kind == ws ]] || continue; else [[ $kind == http* ]] || continue; fi
            rps=$(median "$name" "$test" rps)
            cpu=$(median "$name" "$test" cpu_us)
            user=$(median "$name" "$test" user_us)
            echo "| $name | $test | $(fmt "$rps" 0) | $(fmt "$(median "$name" "$test" p50_ms)" 3) |" \
                "$(fmt "$(median "$name" "$test" p90_ms)" 3) | $(fmt "$cpu" 2) | $(fmt "$user" 2) |" \
                "$(fmt "$(median "$name" "$test" syscalls)" 2) | $(fmt "$(median "$name" "$test" hwm_kib)" 0) |" \
                "$(ratio "$rps" "$brps") | $(ratio "$cpu" "$bcpu") | $(ratio "$user" "$buser") |"
        done
    done
    echo
    echo "ws rows: req/s = round-trips/s, CPU per round-trip; p50/p90 and syscalls are not measured for ws."
    echo
    echo "### Idle keep-alive connections ($IDLE_CONNS, each answered once, then idle)"
    echo
    echo "| server | VmRSS before KiB | VmRSS with $IDLE_CONNS idle KiB | bytes per idle connection | ÷ sanio |"
    echo "|---|---|---|---|---|"
    local bidle idle
    bidle=$(median sanio idle bytes_per_conn)
    for s in "${ACTIVE[@]}"; do
        IFS='|' read -r name _ kind _ _ <<<"$s"
        [[ $kind == http ]] || continue
        idle=$(median "$name" idle bytes_per_conn)
        echo "| $name | $(fmt "$(median "$name" idle rss0_kib)" 0) | $(fmt "$(median "$name" idle rss_kib)" 0) |" \
            "$(fmt "$idle" 0) | $(ratio "$idle" "$bidle") |"
    done
    local any_tls=0
    for s in "${ACTIVE[@]}"; do
        IFS='|' read -r name _ kind _ _ <<<"$s"
        [[ $kind == tls ]] && any_tls=1
    done
    ((any_tls)) || return 0
    echo
    echo "### HTTPS: rustls 0.23 + ring on both servers, ECDSA P-256 certificate, TLS 1.3"
    echo
    echo "Handshakes: $HS_CONNS client threads, each a full handshake (no resumption) and one request per connection;" \
        "keep-alive: wrk -t1 -c$CONNS over https; idle: $IDLE_CONNS TLS connections, each answered once."
    echo
    echo "| server | handshakes/s | CPU µs/handshake | keep-alive req/s | CPU µs/req | bytes per idle TLS connection | CPU/handshake ÷ sanio-tls | CPU/req ÷ sanio-tls | idle ÷ sanio-tls |"
    echo "|---|---|---|---|---|---|---|---|---|"
    local bhs bka btidle
    bhs=$(median sanio-tls handshake cpu_us)
    bka=$(median sanio-tls tls-keepalive cpu_us)
    btidle=$(median sanio-tls idle bytes_per_conn)
    for s in "${ACTIVE[@]}"; do
        IFS='|' read -r name _ kind _ _ <<<"$s"
        [[ $kind == tls ]] || continue
        echo "| $name | $(fmt "$(median "$name" handshake rps)" 0) | $(fmt "$(median "$name" handshake cpu_us)" 1) |" \
            "$(fmt "$(median "$name" tls-keepalive rps)" 0) | $(fmt "$(median "$name" tls-keepalive cpu_us)" 2) |" \
            "$(fmt "$(median "$name" idle bytes_per_conn)" 0) | $(ratio "$(median "$name" handshake cpu_us)" "$bhs") |" \
            "$(ratio "$(median "$name" tls-keepalive cpu_us)" "$bka") | $(ratio "$(median "$name" idle bytes_per_conn)" "$btidle") |"
    done
}

echo
report | tee "$RESULTS_MD.tmp"
mv "$RESULTS_MD.tmp" "$RESULTS_MD"

# ----- chart ------------------------------------------------------------------------
# One panel per test, one bar per server, the figure and the CPU per request
# written next to each bar. Plain SVG, made here with python3's standard library.

python3 - "$MEDIANS" "$RESULTS_SVG" "$(date -u +%Y-%m-%d)" "$IDLE_CONNS" <<'PY'
import sys
from collections import defaultdict
from xml.sax.saxutils import escape

src, dst, day, idle_n = sys.argv[1:5]
med = defaultdict(dict)
order = []
for line in open(src):
    name, test, metric, value = line.rstrip("\n").split("\t")
    if name not in order:
        order.append(name)
    med[(name, test)][metric] = float(value)

def si(v):
    return f"{v / 1e6:.2f} M" if v >= 1e6 else f"{v / 1e3:.0f} k"

panels = [
    ("keepalive", "rps", "Plaintext keep-alive, wrk -c64: requests/s (higher is better)"),
    ("pipelined", "rps", "Plaintext pipelined 16 deep: requests/s (higher is better)"),
    ("ws", "rps", "WebSocket echo, 64 connections: round-trips/s (higher is better)"),
    ("idle", "bytes_per_conn", f"Resident bytes per idle keep-alive connection, {idle_n} open (lower is better)"),
]
W, LEFT, BAR, ROW, TOP = 1000, 170, 440, 22, 44
out = []
y = TOP
for test, metric, title in panels:
    rows = [(n, med[(n, test)]) for n in order if metric in med[(n, test)]]
    if not rows:
        continue
    out.append(f'<text x="10" y="{y}" class="t">{escape(title)}</text>')
    y += 10
    top = max(r[metric] for _, r in rows) or 1
    for name, r in rows:
        v = r[metric]
        w = max(1.0, BAR * v / top)
        cls = "s" if name.startswith("sanio") else "p"
        out.append(f'<text x="{LEFT - 8}" y="{y + 15}" class="n">{escape(name)}</text>')
        out.append(f'<rect x="{LEFT}" y="{y + 3}" width="{w:.1f}" height="{ROW - 6}" class="{cls}"/>')
        if metric == "rps":
            label = f"{si(v)} " + ("round-trips/s" if test == "ws" else "req/s")
            if "cpu_us" in r:
                label += f"  ·  {r['cpu_us']:.2f} µs CPU"
                if "user_us" in r:
                    label += f" ({r['user_us']:.2f} user)"
                label += " per " + ("round-trip" if test == "ws" else "request")
        else:
            label = f"{v / 1024:.1f} KiB ({v:.0f} B)"
        out.append(f'<text x="{LEFT + w + 6:.1f}" y="{y + 15}" class="v">{escape(label)}</text>')
        y += ROW
    y += 26
H = y
head = f'''<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">
<style>.t{{font-weight:bold;font-size:13px}} .n{{text-anchor:end}} .v{{fill:#333}} .s{{fill:#d9480f}} .p{{fill:#5c7cfa}} .h{{font-size:15px;font-weight:bold}}</style>
<rect width="{W}" height="{H}" fill="white"/>
<text x="10" y="22" class="h">sanio and its peers, one core each ({escape(day)}; medians; CPU = server CPU time, user + system)</text>'''
with open(dst, "w") as f:
    f.write(head + "\n" + "\n".join(out) + "\n</svg>\n")
print(f"chart: {dst}")
PY
echo "tables: $RESULTS_MD; raw figures: $OUT"

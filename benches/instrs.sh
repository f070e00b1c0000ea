#!/usr/bin/env bash
# Instructions per request on the server's thread, per scenario, with
# callgrind: the `allocs` bench binary runs one scenario with SMALL and
# then LARGE round trips under `valgrind --tool=callgrind
# --separate-threads=yes --dump-instr=no`; the server thread's file is the
# one that ran `serve_connection`, and
#   (instructions at LARGE - instructions at SMALL) / (LARGE - SMALL)
# is its cost per request, warm-up and start-up cancelled out.
#
# Usage: benches/instrs.sh [scenario...]   (plaintext json param ws)
# Environment: SMALL (1000), LARGE (6000), BIN (the allocs bench binary;
#   built with `cargo bench --bench allocs --no-run` when unset).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SMALL=${SMALL:-1000}
LARGE=${LARGE:-6000}
if [[ -z "${BIN:-}" ]]; then
    (cd "$ROOT" && cargo bench --bench allocs --no-run >/dev/null 2>&1)
    BIN=$(ls -t "$ROOT"/target/release/deps/allocs-* | grep -v '\.d$' | head -1)
fi
SCENARIOS=("$@")
[[ ${#SCENARIOS[@]} -eq 0 ]] && SCENARIOS=(plaintext json param ws)
WORK=$(mktemp -d /tmp/sanio-instrs.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# Instructions of the server thread in a run of `rounds` round trips.
server_instrs() { # scenario rounds
    local dir="$WORK/$1-$2"
    mkdir -p "$dir"
    ALLOCS_ONLY=$1 ALLOCS_ROUNDS=$2 valgrind --tool=callgrind --separate-threads=yes \
        --dump-instr=no --callgrind-out-file="$dir/cg.out" "$BIN" >/dev/null 2>"$dir/log"
    local f
    for f in "$dir"/cg.out-*; do
        if grep -q 'serve_connection' "$f"; then
            grep '^summary:' "$f" | awk '{print $2}'
            return
        fi
    done
    echo "no server thread found in $dir" >&2
    exit 1
}

echo "| scenario | instructions/request (server thread) |"
echo "|---|---:|"
for s in "${SCENARIOS[@]}"; do
    a=$(server_instrs "$s" "$SMALL")
    b=$(server_instrs "$s" "$LARGE")
    echo "| $s | $(( (b - a) / (LARGE - SMALL) )) |"
done

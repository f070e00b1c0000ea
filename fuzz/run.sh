#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 20) each, starting from the
# seeds in fuzz/seeds/<target> and a working corpus in fuzz/corpus/<target>
# (not committed; rebuilt from the seeds when missing). Prints executions
# and coverage per target; fails on the first crash (the input is left in
# fuzz/artifacts/<target>/; add it to the regression tests).
#   fuzz/run.sh            # CI: 20 s each
#   fuzz/run.sh 600        # long (benches/fuzz_long.sh)
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${1:-20}
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
TOOLCHAIN=+nightly
rustup run nightly rustc --version >/dev/null 2>&1 || TOOLCHAIN=
TARGETS="http_head http_body router query ws_handshake ws_session"
cargo $TOOLCHAIN fuzz build -s none
printf '%-14s %10s %8s %8s %9s\n' target runs cov ft seconds
for t in $TARGETS; do
  mkdir -p "corpus/$t"
  log=$(mktemp)
  if ! cargo $TOOLCHAIN fuzz run -s none "$t" "corpus/$t" "seeds/$t" -- \
      -max_total_time="$SECONDS_EACH" -max_len=4096 -rss_limit_mb=1024 -timeout=20 \
      -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "fuzz: $t FAILED; the input is in fuzz/artifacts/$t/" >&2
    exit 1
  fi
  runs=$(grep -o 'Done [0-9]* runs' "$log" | grep -o '[0-9]*' || echo '?')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo '?')
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo '?')
  printf '%-14s %10s %8s %8s %9s\n' "$t" "$runs" "$cov" "$ft" "$SECONDS_EACH"
  rm -f "$log"
done

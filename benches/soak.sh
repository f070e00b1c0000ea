#!/usr/bin/env bash
# A soak under faults against examples/demo: SECONDS long (default 600; CI
# runs 60). What it runs and checks: benches/soak.py's doc. Python 3 stdlib
# only. Prints a summary table; exits 1 on any failed check.
#   benches/soak.sh          # 10 minutes
#   benches/soak.sh 60       # the CI form
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release --example demo
python3 benches/soak.py target/release/examples/demo --seconds "${1:-600}"

#!/usr/bin/env bash
# Differential parsing: sanio vs hyper vs h11 (tests/differential/README.md).
# Builds examples/parse_report (feature `fuzzing`) and hyper_parse/, installs
# h11 for the user when missing, runs the named cases plus N mutations
# (default 2000) and fails if sanio frames a request neither reference does.
set -euo pipefail
cd "$(dirname "$0")/../.."
MUTATIONS=${1:-2000}
python3 -c 'import h11' 2>/dev/null || python3 -m pip install --quiet --user 'h11>=0.16,<0.17'
cargo build --quiet --example parse_report --features fuzzing
(cd tests/differential/hyper_parse && cargo build --quiet --release)
python3 tests/differential/run.py target/debug/examples/parse_report \
  tests/differential/hyper_parse/target/release/hyper-parse --mutations "$MUTATIONS"

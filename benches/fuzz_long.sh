#!/usr/bin/env bash
# Runs every fuzz target long: SECONDS each (default 600, one hour in all).
# The working corpus grows in fuzz/corpus/ and is kept between runs.
set -euo pipefail
exec "$(dirname "$0")/../fuzz/run.sh" "${1:-600}"

#!/usr/bin/env bash
# The main demo: what this machine offers (`tandem info`), then a quick CPU benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh build
build/bin/tandem info
echo
build/bin/tandem bench --json build/bench.json
echo
echo "results as JSON: build/bench.json"

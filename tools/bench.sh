#!/usr/bin/env bash
# Runs the Google Benchmark programs and prints the tables BENCHMARKS.md quotes: every figure
# is a ratio against a baseline measured in the same run. Raw JSON goes to build/bench/*.json.
#   tools/bench.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh build >/dev/null
reps=5
[ "${1:-}" = "--quick" ] && reps=1
out=build/bench
for b in dispatch gemm conv codec; do
  echo "running bench_$b ($reps repetitions)..." >&2
  "$out/bench_$b" --benchmark_repetitions=$reps --benchmark_report_aggregates_only=true \
    --benchmark_out="$out/$b.json" --benchmark_out_format=json >/dev/null
done
python3 tools/bench_report.py "$out"

#!/usr/bin/env bash
# The whole test suite: set-up, build, then every CTest test (GPU tests skip without a GPU), the
# sanitizer builds (tools/sanitize.sh) and the fuzz targets. Ends with each stage's time.
set -euo pipefail
cd "$(dirname "$0")/.."
stages=()
stage() {  # stage <name> <command...>: runs it, records its time
  local name=$1 t0=$SECONDS
  shift
  "$@"
  stages+=("$name $((SECONDS - t0)) s")
}
stage "set-up and build:" tools/build.sh build
stage "tests (CTest):" bash -c 'cd build && ctest --parallel "$(nproc)" --output-on-failure --timeout 600'
# ASan+UBSan on every test (build-asan/), TSan on the threaded ones (build-tsan/)
stage "sanitizers:" tools/sanitize.sh all
stage "fuzz targets:" tools/fuzz.sh 10  # each libFuzzer target briefly; tools/fuzz.sh 600 for a long run
echo "test: all passed in $SECONDS s; ${stages[*]/%/;}" | sed 's/;$//'

#!/usr/bin/env bash
# The whole test suite, CI's command (README "Tests, sanitizers and fuzzing"):
#   tools/test.sh           everything, each build configured by a CMakePresets.json preset:
#     1. set-up: the Debian packages (tools/setup-deps.sh)
#     2. build/ (preset default: g++ -O3, -Werror, CUDA and every module found): what only it
#        compiles (target tandem_unsanitized_only: the CUDA backend and kernels, their tests, the
#        benchmarks, with the libraries they link) and its tests that no other build runs here
#        (label cuda: skipped without a GPU, saying so; label build: the default generator)
#     3. build-asan/ (preset asan: clang, ASan + UBSan): the whole CPU suite, then every fuzz
#        target briefly (the libraries that read outside data carry libFuzzer's coverage)
#     4. build-tsan/ (preset tsan: g++, ThreadSanitizer): the tests that run threads or ranks
#   tools/test.sh --quick   the inner loop: incremental build/ and its whole suite, no sanitizers
# Ends with each stage's time.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
case ${1:-} in
  --quick) quick=1 ;;
  "") ;;
  *) echo "usage: tools/test.sh [--quick]" >&2; exit 2 ;;
esac
stages=()
stage() {  # stage <name> <command...>: runs it, records its time
  local name=$1 t0=$SECONDS
  shift
  echo "== test: $name" >&2
  "$@"
  stages+=("$name $((SECONDS - t0)) s")
}
summary() { echo "test: all passed in $SECONDS s; ${stages[*]/%/;}" | sed 's/;$//'; }
suite() { (cd build && ctest --parallel "$(nproc)" --output-on-failure --timeout 900 "$@"); }

stage "set-up" tools/setup-deps.sh
if [ $quick = 1 ]; then
  stage "build" tools/build.sh build
  stage "suite (build/)" suite
  summary
  exit 0
fi
stage "build (CUDA, benchmarks)" tools/build.sh build --target tandem_unsanitized_only
stage "tests only build/ runs" suite -L '^(cuda|build)$'
stage "ASan+UBSan build and CPU suite" tools/sanitize.sh asan
stage "fuzz targets" tools/fuzz.sh --preset asan 10  # tools/fuzz.sh --runs 1000000 TARGET for a long run
stage "TSan build and threaded tests" tools/sanitize.sh tsan
summary

#!/usr/bin/env bash
# The whole test suite: set-up, build, then every CTest test (GPU tests skip without a GPU), the
# sanitizer builds (tools/sanitize.sh) and the fuzz targets.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh build
cd build
ctest --parallel "$(nproc)" --output-on-failure --timeout 600
cd ..
tools/sanitize.sh all  # ASan+UBSan on every test (build-asan/), TSan on the threaded ones (build-tsan/)
tools/fuzz.sh 10  # each libFuzzer target briefly; tools/fuzz.sh 600 for a long run

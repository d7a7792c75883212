#!/usr/bin/env bash
# Installs what is missing, then configures (first time only) and builds incrementally.
#   tools/build.sh [build-dir] [extra cmake -D options...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
tools/setup-deps.sh
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTANDEM_WERROR=ON "$@"
elif [ $# -gt 0 ]; then
  cmake "$build" "$@"
fi
cmake --build "$build" --parallel "$(nproc)"

#!/usr/bin/env bash
# Installs what is missing, then configures (first time only) from a CMakePresets.json preset and
# builds incrementally.
#   tools/build.sh [build-dir] [extra cmake -D options...]    the default preset, in build-dir
#   TANDEM_PRESET=cuda tools/build.sh                          another preset (cmake --list-presets)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
preset=${TANDEM_PRESET:-default}
tools/setup-deps.sh
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake --preset "$preset" -B "$build" "$@"
elif [ $# -gt 0 ]; then
  cmake "$build" "$@"
fi
cmake --build "$build" --parallel "$(nproc)"

#!/usr/bin/env bash
# Installs what is missing, then configures (first time only) from a CMakePresets.json preset and
# builds incrementally.
#   tools/build.sh [build-dir] [extra cmake -D options...] [--target T...]
#                                      the default preset, in build-dir; every target, or those named
#   TANDEM_PRESET=cuda tools/build.sh  another preset (cmake --list-presets)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
options=() targets=()
while [ $# -gt 0 ]; do
  case $1 in
    --target) targets+=("$2"); shift 2 ;;
    *) options+=("$1"); shift ;;
  esac
done
preset=${TANDEM_PRESET:-default}
tools/setup-deps.sh
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake --preset "$preset" -B "$build" "${options[@]}"
elif [ ${#options[@]} -gt 0 ]; then
  cmake "$build" "${options[@]}"
fi
cmake --build "$build" --parallel "$(nproc)" ${targets[@]:+--target "${targets[@]}"}

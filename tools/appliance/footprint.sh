#!/usr/bin/env bash
# The footprint of a minimal CPU-only appliance: every optional module off (CUDA, NCCL, OpenCL,
# XRT, MPI, hwloc), libtandem.a built and installed, tools/appliance/appliance.c linked against
# it statically (system libraries shared), stripped. Prints the binary's size and the peak
# resident memory of classifying images with the given model, and writes the JSON summary.
#   tools/appliance/footprint.sh MODEL [build dir, default build-min] [images, default 1000]
set -euo pipefail
cd "$(dirname "$0")/../.."
model=${1:?usage: footprint.sh MODEL [build dir] [images]}
b=${2:-build-min}
images=${3:-1000}
mkdir -p "$b"
cmake --preset minimal -B "$b" > "$b/configure.log"  # CMakePresets.json: every optional module off
cmake --build "$b" --target tandem_c tandem_c_static > "$b/build.log"
cmake --install "$b" --prefix "$b/prefix" > /dev/null
export PKG_CONFIG_PATH=$PWD/$b/prefix/lib/pkgconfig
app=$b/appliance-static
# shellcheck disable=SC2046  # pkg-config's flags are meant to split
cc -O2 -std=c11 tools/appliance/appliance.c -o "$app" $(pkg-config --cflags tandem) \
  $(pkg-config --static --libs --define-variable=libname=:libtandem.a tandem) -lz
strip "$app"
size=$(stat -c %s "$app")
echo "minimal CPU-only static appliance: $app, $((size / 1024)) KiB stripped"
echo "shared libraries it still needs: $(ldd "$app" | awk '{print $1}' | tr '\n' ' ')"
"$app" "$model" --images "$images" --devices cpu:0 | tee "$b/appliance.txt"
echo "{\"binary_bytes\": $size, \"run\": $(tail -n 1 "$b/appliance.txt")}" > "$b/footprint.json"

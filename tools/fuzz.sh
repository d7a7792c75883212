#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined) and runs each
# for a while from its seed corpus in the repo (new inputs go to build/fuzz/, not the repo).
#   tools/fuzz.sh [seconds per target, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
out=build/fuzz
mkdir -p "$out"
cxx=$(command -v clang++ || command -v clang++-14 || true)
[ -n "$cxx" ] || { echo "fuzz: clang++ not found (apt-get install clang)" >&2; exit 1; }
flags="-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Iruntime/include"
# the target's folder (<dir>/<name>.cpp, seeds in <dir>/corpus/<name without fuzz_>/), its name,
# then its sources besides the fuzz entry point (and extra flags, such as -lz)
build_and_run() {
  local dir=$1 name=$2; shift 2
  "$cxx" $flags "$dir/$name.cpp" "$@" -o "$out/$name"
  mkdir -p "$out/corpus-$name"
  cp -n "$dir"/corpus/"${name#fuzz_}"/* "$out/corpus-$name/" 2>/dev/null || true
  echo "fuzz: $name for ${seconds}s" >&2
  if ! "$out/$name" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$out/" "$out/corpus-$name" > "$out/$name.log" 2>&1; then
    tail -n 40 "$out/$name.log" >&2
    echo "fuzz: $name FAILED (crashing input saved under $out/; log $out/$name.log)" >&2
    return 1
  fi
  echo "fuzz: $name ok, $(grep -o 'number_of_executed_units: [0-9]*' "$out/$name.log" | cut -d' ' -f2) executions, no crash or leak" >&2
}
build_and_run compression/fuzz fuzz_wire compression/src/wire.cpp runtime/src/error.cpp
build_and_run compression/fuzz fuzz_decode compression/src/wire.cpp compression/src/spec.cpp compression/src/payload_check.cpp \
  runtime/src/error.cpp runtime/src/shape.cpp runtime/src/dtype.cpp
build_and_run runtime/fuzz fuzz_model_file runtime/nn/model_file.cpp runtime/nn/checkpoint.cpp runtime/nn/model.cpp \
  runtime/src/file.cpp runtime/src/error.cpp runtime/src/shape.cpp runtime/src/dtype.cpp -lz
build_and_run runtime/fuzz fuzz_idx runtime/nn/idx.cpp runtime/src/error.cpp -lz
build_and_run runtime/fuzz fuzz_model_json runtime/nn/model.cpp runtime/src/error.cpp runtime/src/shape.cpp \
  runtime/src/dtype.cpp

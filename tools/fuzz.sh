#!/usr/bin/env bash
# Builds the libFuzzer targets (runtime/fuzz/CMakeLists.txt: every fuzz_*.cpp of runtime/fuzz and
# compression/fuzz, linked with the project's libraries) in build-fuzz/ with clang, AddressSanitizer,
# UndefinedBehaviorSanitizer and coverage in every library, then runs each from its seed corpus in
# the repo (new inputs go to build-fuzz/fuzz/corpus-<target>/, not the repo).
#   tools/fuzz.sh [SECONDS] [TARGET...]                    each target SECONDS (default 10)
#   tools/fuzz.sh --runs N [--max-time SECONDS] [TARGET...]  each target N executions (libFuzzer's
#                                                          -runs), or SECONDS if that comes first
# Prints each target's executions; a crash, sanitizer report, leak or hang fails the run: the
# input is saved as build-fuzz/fuzz/<target>-crash-… (or leak-, timeout-, oom-), the log's tail is
# shown. Every target runs either way. Summary: build-fuzz/fuzz/summary.csv (target, seconds,
# executions, execs/s, corpus files and bytes, peak RSS, result).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=10 runs="" max_time="" targets=()
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --max-time) max_time=$2; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    [0-9]*) seconds=$1; shift ;;
    *) targets+=("$1"); shift ;;
  esac
done
tools/setup-deps.sh
build=build-fuzz
out=$build/fuzz
command -v clang++ > /dev/null || { echo "fuzz: clang++ not found (apt-get install clang)" >&2; exit 1; }

# A CPU-only build (MPI, OpenCL, hwloc, CUDA and NCCL off: none reads outside data; XRT stays on
# when found, for the xclbin parser), -O1 -g like the sanitizers' usual builds, assertions on
# (nlohmann's among them), no tests or benchmarks: only the fuzz targets are built.
sanitize="address;undefined;fuzzer-no-link"
if [ -f "$build/CMakeCache.txt" ] && ! grep -qx "TANDEM_SANITIZE:STRING=$sanitize" "$build/CMakeCache.txt"; then
  echo "fuzz: $build was configured otherwise; starting afresh" >&2
  rm -rf "$build"
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
  mkdir -p "$build"
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DTANDEM_SANITIZE="$sanitize" -DTANDEM_FUZZ=ON -DTANDEM_BUILD_TESTS=OFF -DTANDEM_BUILD_BENCHMARKS=OFF \
    -DTANDEM_WITH_HWLOC=OFF -DTANDEM_WITH_MPI=OFF -DTANDEM_WITH_OPENCL=OFF -DTANDEM_WITH_CUDA=OFF \
    -DTANDEM_WITH_NCCL=OFF > "$build/configure.log" 2>&1 || { tail -n 40 "$build/configure.log" >&2; exit 1; }
fi
cmake --build "$build" --target tandem_fuzz_targets --parallel "$(nproc)"

# One thread for OpenBLAS and OpenMP: runs are reproducible and leave the other cores alone.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export UBSAN_OPTIONS=print_stacktrace=1
limit=(-max_total_time="$seconds")
[ -n "$runs" ] && limit=(-runs="$runs")
[ -n "$runs" ] && [ -n "$max_time" ] && limit+=(-max_total_time="$max_time")
for t in "${targets[@]}"; do
  grep -q "^$t " "$out/targets.txt" || { echo "fuzz: no target $t (built: $(cut -d' ' -f1 "$out/targets.txt" | xargs))" >&2; exit 2; }
done
summary=$out/summary.csv
echo "target,seconds,executions,execs_per_s,corpus_files,corpus_bytes,peak_rss_mb,result" > "$summary"
failed=0
while read -r name seeds; do
  if [ ${#targets[@]} -gt 0 ] && [[ " ${targets[*]} " != *" $name "* ]]; then continue; fi
  corpus=$out/corpus-$name
  mkdir -p "$corpus"
  cp -n "$seeds"/* "$corpus/" 2> /dev/null || true
  echo "fuzz: $name for $([ -n "$runs" ] && echo "$runs runs" || echo "${seconds}s")" >&2
  start=$(date +%s%N)
  # -timeout: an input that takes 25 s is a hang, a finding like a crash.
  result=ok
  if ! "$out/$name" "${limit[@]}" -timeout=25 -print_final_stats=1 -artifact_prefix="$out/$name-" "$corpus" \
    > "$out/$name.log" 2>&1; then
    result=FAILED
  fi
  took=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  execs=$(awk '/^stat::number_of_executed_units:/ { n = $2 } END { print n }' "$out/$name.log")
  rss=$(awk '/^stat::peak_rss_mb:/ { n = $2 } END { print n }' "$out/$name.log")
  files=$(find "$corpus" -type f | wc -l)
  bytes=$(du -sb "$corpus" | cut -f1)
  rate=$(awk -v n="${execs:-0}" -v t="$took" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }')
  echo "$name,$took,${execs:-0},$rate,$files,$bytes,${rss:-0},$result" >> "$summary"
  if [ $result = FAILED ]; then
    tail -n 40 "$out/$name.log" >&2
    echo "fuzz: $name FAILED (crashing input saved under $out/$name-*; log $out/$name.log)" >&2
    failed=1
    continue
  fi
  echo "fuzz: $name ok, ${execs:-0} executions in $took s ($rate/s), no crash or leak" >&2
done < "$out/targets.txt"
echo "fuzz: summary in $summary" >&2
exit $failed

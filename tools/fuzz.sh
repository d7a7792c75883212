#!/usr/bin/env bash
# Builds the libFuzzer targets (runtime/fuzz/CMakeLists.txt: every fuzz_*.cpp of runtime/fuzz and
# compression/fuzz, linked with the project's libraries) with clang, AddressSanitizer,
# UndefinedBehaviorSanitizer and libFuzzer's coverage in the libraries that read outside data
# (runtime/fuzz/CMakeLists.txt), then runs each from its seed corpus in
# the repo (new inputs go to <build>/fuzz/corpus-<target>/, not the repo), as many at once as
# there are cores.
#   tools/fuzz.sh [--preset P] [SECONDS] [TARGET...]              each target SECONDS (default 10)
#   tools/fuzz.sh [--preset P] --runs N [--max-time S] [TARGET...]  each N executions (libFuzzer's
#                                                          -runs), or S seconds if that comes first
# --preset: the CMakePresets.json preset whose build holds the targets, in build-<P>/: fuzz (the
# default: only the modules that parse outside data, the quickest to build) or asan (the sanitizer
# build of the whole suite, which tools/test.sh fuzzes in; there too the libraries that read
# outside data carry libFuzzer's coverage, runtime/fuzz/CMakeLists.txt).
# Prints each target's executions; a crash, sanitizer report, leak or hang fails the run: the
# input is saved as <build>/fuzz/<target>-crash-… (or leak-, timeout-, oom-), the log's tail is
# shown. Every target runs either way. Summary: <build>/fuzz/summary.csv (target, seconds,
# executions, execs/s, corpus files and bytes, peak RSS, result).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=10 runs="" max_time="" targets=() preset=fuzz
while [ $# -gt 0 ]; do
  case $1 in
    --preset) preset=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --max-time) max_time=$2; shift 2 ;;
    -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
    [0-9]*) seconds=$1; shift ;;
    *) targets+=("$1"); shift ;;
  esac
done
tools/setup-deps.sh
case $preset in
  fuzz | asan) ;;
  *) echo "fuzz: --preset $preset: the fuzz targets are built by the presets fuzz and asan" >&2; exit 2 ;;
esac
build=build-$preset
out=$build/fuzz
command -v clang++ > /dev/null || { echo "fuzz: clang++ not found (apt-get install clang)" >&2; exit 1; }
mkdir -p "$build"
cmake --preset "$preset" > "$build/configure.log" 2>&1 || { tail -n 40 "$build/configure.log" >&2; exit 1; }
cmake --build "$build" --target tandem_fuzz_targets --parallel "$(nproc)"

# As many targets at once as there are cores (counted first: nproc reads OMP_NUM_THREADS).
cores=$(nproc)
# One thread for OpenBLAS and OpenMP: runs are reproducible and leave the other cores alone.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export UBSAN_OPTIONS=print_stacktrace=1
# The third-party leaks the sanitizer runs suppress (tools/sanitizers/lsan.supp, each with its
# reason); the asan build has the modules (hwloc, OpenCL) whose libraries they are in.
export LSAN_OPTIONS="suppressions=$PWD/tools/sanitizers/lsan.supp:print_suppressions=0"
limit=(-max_total_time="$seconds")
[ -n "$runs" ] && limit=(-runs="$runs")
[ -n "$runs" ] && [ -n "$max_time" ] && limit+=(-max_total_time="$max_time")
for t in "${targets[@]}"; do
  grep -q "^$t " "$out/targets.txt" || { echo "fuzz: no target $t (built: $(cut -d' ' -f1 "$out/targets.txt" | xargs))" >&2; exit 2; }
done
summary=$out/summary.csv
# fuzz_one <name> <seeds>: runs one target; its summary line goes to $out/<name>.csv.
fuzz_one() {
  local name=$1 seeds=$2 corpus=$out/corpus-$1 result=ok start took execs rss files bytes rate
  mkdir -p "$corpus"
  cp -n "$seeds"/* "$corpus/" 2> /dev/null || true
  echo "fuzz: $name for $([ -n "$runs" ] && echo "$runs runs" || echo "${seconds}s")" >&2
  start=$(date +%s%N)
  # -timeout: an input that takes 25 s is a hang, a finding like a crash.
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
  echo "$name,$took,${execs:-0},$rate,$files,$bytes,${rss:-0},$result" > "$out/$name.csv"
  if [ $result = FAILED ]; then
    tail -n 40 "$out/$name.log" >&2
    echo "fuzz: $name FAILED (crashing input saved under $out/$name-*; log $out/$name.log)" >&2
    return 1
  fi
  echo "fuzz: $name ok, ${execs:-0} executions in $took s ($rate/s), no crash or leak" >&2
}
names=()
while read -r name seeds; do
  if [ ${#targets[@]} -gt 0 ] && [[ " ${targets[*]} " != *" $name "* ]]; then continue; fi
  names+=("$name")
  rm -f "$out/$name.csv"
  while [ "$(jobs -rp | wc -l)" -ge "$cores" ]; do wait -n || true; done
  fuzz_one "$name" "$seeds" &
done < "$out/targets.txt"
wait
echo "target,seconds,executions,execs_per_s,corpus_files,corpus_bytes,peak_rss_mb,result" > "$summary"
failed=0
for name in "${names[@]}"; do
  if [ -f "$out/$name.csv" ]; then cat "$out/$name.csv" >> "$summary"; else echo "$name,0,0,0,0,0,0,FAILED" >> "$summary"; fi
  grep -q ',ok$' "$out/$name.csv" 2> /dev/null || failed=1
done
echo "fuzz: summary in $summary" >&2
exit $failed

#!/usr/bin/env bash
# Sanitizer builds of the CPU test suite (CUDA and NCCL off, every other module on), configured by
# the presets of CMakePresets.json:
#   tools/sanitize.sh [asan|tsan|all]      (default: all)
# asan: build-asan/ (clang), AddressSanitizer (with LeakSanitizer) + UndefinedBehaviorSanitizer,
#       every CTest test of that build: the whole CPU suite. The same build carries libFuzzer's
#       coverage and holds the fuzz targets (tools/fuzz.sh --preset asan).
# tsan: build-tsan/ (g++), ThreadSanitizer, the tests that run threads or ranks: streams and events, the
#       memory account freed on another thread, the executor over several devices, the XRT
#       driver's runs, the MPI communicator (collectives, gradient sync, data-parallel training,
#       a killed rank) and the C API's threads sharing a model. Only their targets are built.
# Every report fails the run: the test that raised it fails, and so does the run when any report
# was written at all (each goes to a file under <build>/sanitizer-logs/, so that tests whose exit
# status CTest does not look at cannot hide one). Suppressions are for third-party code only,
# each with its reason: tools/sanitizers/.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
case $what in
  asan | tsan | all) ;;
  *) echo "usage: tools/sanitize.sh [asan|tsan|all]" >&2; exit 2 ;;
esac
tools/setup-deps.sh
root=$PWD
supp=$root/tools/sanitizers
jobs=$(nproc)

# Configures <dir> from <preset> (CMakePresets.json; a second configure of the same preset takes
# seconds and puts back whatever was changed), then builds <targets> (all when none are named).
build() {
  local preset=$1 dir=$2
  shift 2
  mkdir -p "$dir"
  cmake --preset "$preset" > "$dir/configure.log" 2>&1 || { tail -n 40 "$dir/configure.log" >&2; exit 1; }
  nice cmake --build "$dir" --parallel "$jobs" ${1:+--target "$@"}
}

# Runs CTest in <dir> with [ctest arguments], then fails if any sanitizer wrote a report.
run_tests() {
  local dir=$1 rc=0
  shift
  rm -rf "$dir/sanitizer-logs" "$dir/pocl-cache"
  mkdir -p "$dir/sanitizer-logs" "$dir/pocl-cache"
  # An empty OpenCL kernel cache: PoCL then compiles each kernel here as on a fresh machine, so a
  # run checks the same code paths wherever it runs (tools/sanitizers/lsan.supp, PoCL).
  ctest_in() { (cd "$dir" && POCL_CACHE_DIR="$PWD/pocl-cache" ctest --output-on-failure --timeout 900 "$@"); }
  ctest_in --parallel "$jobs" "$@" || rc=$?
  # LeakSanitizer's own tracer now and then crashes at a process's exit ("Tracer caught signal
  # 11 ... LeakSanitizer has encountered a fatal error", google/sanitizers#1353): no finding, and
  # no leak check either. When such crashes account for every failed test (at most one test per
  # crash), those tests run again and must pass then; any other failure is never retried.
  # The MPI programs (several processes, each exiting with OpenMPI's and PoCL's threads) meet it
  # most, and a retry has been seen to meet it again (2026-12-03): up to three retries.
  local crashed failed_list=$dir/Testing/Temporary/LastTestsFailed.log attempt
  for attempt in 1 2 3; do
    crashed=$(grep -l "LeakSanitizer has encountered a fatal error" "$dir"/sanitizer-logs/* 2>/dev/null || true)
    if [ "$rc" -ne 0 ] && [ -n "$crashed" ] && [ -f "$failed_list" ] &&
      [ "$(wc -l < "$failed_list")" -le "$(echo "$crashed" | wc -l)" ]; then
      echo "sanitize: $dir: LeakSanitizer's tracer crashed ($(echo "$crashed" | xargs -n1 basename | xargs));" \
        "running again ($attempt of 3): $(cut -d: -f2 "$failed_list" | xargs)" >&2
      mkdir -p "$dir/sanitizer-logs/tracer-crashes"
      echo "$crashed" | xargs mv -t "$dir/sanitizer-logs/tracer-crashes"
      rc=0
      ctest_in --rerun-failed "$@" || rc=$?
    fi
  done
  # Every report ends with a SUMMARY line; files without one hold warnings only (such as
  # allocator_may_return_null's "failed to allocate").
  local reports
  reports=$(grep -l "^SUMMARY: " "$dir"/sanitizer-logs/* 2>/dev/null || true)
  if [ -n "$reports" ]; then
    for f in $reports; do
      echo "=== $f" >&2
      cat "$f" >&2
    done
    echo "sanitize: $dir: the sanitizer reports above (kept in $dir/sanitizer-logs/)" >&2
    rc=1
  fi
  return "$rc"
}

# Options every sanitizer shares, for the build <dir>: each report goes to its own file (one per
# process, named after the program), and ends the process with a status no test expects (86).
# allocator_may_return_null: tests ask for absurd allocations on purpose (BadInput.AllocationTooLarge)
# and expect std::bad_alloc, as the unsanitized program gets, not a report.
common() { echo "log_path=$root/$1/sanitizer-logs/report:log_exe_name=1:exitcode=86:allocator_may_return_null=1"; }

# The ThreadSanitizer set (see the top). The C API test needs the pruned CNN, which CTest trains
# first, under ThreadSanitizer too (its fixture, cli.train_pruned_cnn). Training runs on 2 ranks
# only: 4 ranks run the same code, but on 2 cores under ThreadSanitizer past the test's 300 s.
tsan_targets=(test_core test_training test_xrt_noop test_collectives test_training_mpi test_capi tandem_cli)
# CTest names GoogleTest suites as such ("Stream", "xrt.Noop": cmake/TandemGTest.cmake).
tsan_tests='^(Stream|MemoryAccount|Log|Executor)$|^xrt\.(Noop|Backend)$|^collectives_np|^training_np2$|^killed_rank_ends_the_job$|^capi\.c_end_to_end$'

# A failed build ends the script (set -e); failed tests fail it at the end, after the other stage.
status=0
timing=()
if [ "$what" != tsan ]; then
  t0=$SECONDS
  build asan build-asan
  t1=$SECONDS
  # MPI programs (tools/sanitizers/asan-by-program/<program>, and every rank tools/mpirun.sh
  # starts) record whole allocation stacks: OpenMPI unloads plugins whose allocations then have
  # no name, and only the frames below them (MPI_Init, hwloc_topology_load) say whose leak it is
  # (tools/sanitizers/lsan.supp). Slow unwinding makes each malloc about 40x dearer, so the CLI
  # run as a single process does not (the whole stage took 17 min with it, on 2 cores).
  ASAN_OPTIONS="$(common build-asan):detect_leaks=1:check_initialization_order=1:strict_init_order=1:include_if_exists=$supp/asan-by-program/%b" \
    UBSAN_OPTIONS="$(common build-asan):print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp" \
    LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0" \
    run_tests build-asan || status=1
  timing+=("asan: build $((t1 - t0)) s, tests $((SECONDS - t1)) s")
fi
if [ "$what" != asan ]; then
  t0=$SECONDS
  build tsan build-tsan "${tsan_targets[@]}"
  t1=$SECONDS
  # OMP_NUM_THREADS=1: OpenMP's runtime (libgomp) is not built with ThreadSanitizer, which then
  # cannot see its barriers and reports every parallel loop (OpenBLAS's included). One thread
  # runs the same code; our own threads (std::thread, pthreads, the MPI watchdog) are checked.
  OMP_NUM_THREADS=1 \
    TSAN_OPTIONS="$(common build-tsan):halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp" \
    run_tests build-tsan -R "$tsan_tests" || status=1
  timing+=("tsan: build $((t1 - t0)) s, tests $((SECONDS - t1)) s")
fi
for line in "${timing[@]}"; do echo "sanitize: $line" >&2; done
exit "$status"

#!/usr/bin/env bash
# Everything issue 9 needs a GPU for, in one run (< 8 minutes on an H100/H200 machine), results
# as files under $OUT (default build/gpu):
#   nvidia-smi.txt                 the card
#   tests-*.json / tests-*.log     the op, gradient and compression suites on cuda:0, and cuda.*
#   bench_cuda.json / .txt         GEMM vs cuBLAS, codec primitives vs device copies, NCCL (1 GPU);
#   bench_cuda_tf32.json / .txt    the same with TF32 on both sides
#   train-*.jsonl / .log           the CNN for one epoch: cuda:0 (batch 64 and 256), cuda:0 over
#                                  NCCL (mpirun, one rank per GPU), and the CPU on the same machine
# Builds into build-gpu (CUDA_ARCH, default 90) unless $TANDEM_GPU_BUILD (or build-gpu) holds
# bin/tandem already: a build carried over from another machine, as tools/gpu_bundle.sh packs it,
# with the data in $TANDEM_DATA. Needs no network.
#   tools/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-build/gpu}
mkdir -p "$out"
log() { echo "== $*" | tee -a "$out/summary.txt" >&2; }
: > "$out/summary.txt"

nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || log "nvidia-smi failed (no driver?)"
b=${TANDEM_GPU_BUILD:-build-gpu}
if [ ! -x "$b/bin/tandem" ]; then
  log "building (CUDA arch ${CUDA_ARCH:-90})"
  cmake --preset cuda -B "$b" -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCH:-90}" > "$out/configure.log" 2>&1 ||
    { log "configure failed"; exit 1; }
  cmake --build "$b" --parallel "$(nproc)" > "$out/build.log" 2>&1 || { log "build failed (see build.log)"; exit 1; }
fi
# Debian 12's OpenBLAS (0.3.21) may not know a newer CPU and fall back to its Prescott (SSE3)
# kernels, which would make the CPU baseline unfairly slow: pick the newest the CPU's flags allow.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && "$b/bin/tandem" info 2>/dev/null | grep -q 'OpenBLAS.*Prescott'; then
  if grep -q avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX; elif grep -q avx2 /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=Haswell; fi
  log "OpenBLAS chose Prescott kernels; OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
fi
"$b/bin/tandem" info > "$out/info.txt" 2>&1
grep -q '^cuda:0' "$out/info.txt" || log "no cuda:0 in tandem info (see info.txt)"

status=0
for t in test_backend_ops test_compression test_gradients; do
  log "$t on cuda"
  timeout 150 "$b/tests/$t" --gtest_filter='*cuda*' --gtest_output="json:$out/tests-$t.json" > "$out/tests-$t.log" 2>&1 ||
    { log "$t FAILED"; status=1; }
  tail -3 "$out/tests-$t.log" >> "$out/summary.txt"
done
cuda_test=$(find "$b" -name test_cuda -type f -perm -u+x | head -1)
if [ -n "$cuda_test" ]; then
  log "test_cuda"
  timeout 60 "$cuda_test" --gtest_output="json:$out/tests-test_cuda.json" > "$out/tests-test_cuda.log" 2>&1 ||
    { log "test_cuda FAILED"; status=1; }
  tail -3 "$out/tests-test_cuda.log" >> "$out/summary.txt"
fi

log "bench_cuda"
timeout 150 "$b/bench/bench_cuda" --json "$out/bench_cuda.json" > "$out/bench_cuda.txt" 2>&1 || log "bench_cuda failed"
TANDEM_CUDA_TF32=1 timeout 90 "$b/bench/bench_cuda" --json "$out/bench_cuda_tf32.json" > "$out/bench_cuda_tf32.txt" 2>&1 ||
  log "bench_cuda (tf32) failed"

train=(train --model cnn --epochs 1 --test-subset 2000 ${TANDEM_DATA:+--data "$TANDEM_DATA"})
log "train on cuda:0"
timeout 90 "$b/bin/tandem" "${train[@]}" --device cuda:0 --metrics "$out/train-cuda.jsonl" > "$out/train-cuda.log" 2>&1 ||
  { log "train on cuda:0 FAILED"; status=1; }
timeout 90 "$b/bin/tandem" "${train[@]}" --batch 256 --device cuda:0 --metrics "$out/train-cuda-b256.jsonl" \
  > "$out/train-cuda-b256.log" 2>&1 || { log "train on cuda:0 at batch 256 FAILED"; status=1; }
log "train on cuda over NCCL (one rank per GPU)"
gpus=$(grep -c '^cuda:' "$out/info.txt" || true)
timeout 90 tools/mpirun.sh -np "${gpus:-1}" "$b/bin/tandem" "${train[@]}" --device cuda --comm nccl \
  --compress int8 --metrics "$out/train-nccl.jsonl" > "$out/train-nccl.log" 2>&1 || log "train over NCCL FAILED"
log "train on cpu:0 (baseline)"
timeout 90 "$b/bin/tandem" "${train[@]}" --device cpu:0 --metrics "$out/train-cpu.jsonl" > "$out/train-cpu.log" 2>&1 ||
  log "train on cpu:0 failed"
timeout 90 "$b/bin/tandem" "${train[@]}" --batch 256 --device cpu:0 --metrics "$out/train-cpu-b256.jsonl" \
  > "$out/train-cpu-b256.log" 2>&1 || log "train on cpu:0 at batch 256 failed"
tail -n 4 "$out"/train-*.log >> "$out/summary.txt"
cat "$out/summary.txt"
exit $status

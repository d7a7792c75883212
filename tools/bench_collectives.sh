#!/usr/bin/env bash
# Allreduce bus bandwidth through the runtime vs MPI_Allreduce, and the compressed allreduce of
# a 25M-float gradient per codec (measured here; wire time at 10/25/100 Gb/s modeled), on 2
# ranks. Markdown on stdout, JSON in build/bench/allreduce.json.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh build >/dev/null
OMP_NUM_THREADS=1 tools/mpirun.sh -np "${1:-2}" build/bench/bench_allreduce build/bench/allreduce.json

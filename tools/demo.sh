#!/usr/bin/env bash
# The main demo: what this machine offers (`tandem info`), then the benchmark CNN trained on
# Fashion-MNIST for 5 epochs (about 1.5 minutes on 2 cores) with its summary table.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh build
build/bin/tandem info
echo
mkdir -p build/demo
rm -f build/demo/metrics.jsonl
build/bin/tandem train --model cnn --epochs 5 --metrics build/demo/metrics.jsonl \
  --checkpoint build/demo/checkpoint --overwrite --export build/demo/cnn.tdm
echo
echo "per-epoch metrics: build/demo/metrics.jsonl; checkpoint: build/demo/checkpoint/; model: build/demo/cnn.tdm"

#!/usr/bin/env bash
# Training throughput (samples/s) of the built-in CNN and MLP on this machine's cores, Tandem
# against PyTorch CPU (Debian python3-torch, installed here if missing) with the same model,
# optimizer, batch, data and thread count. Runs alternate (ours, PyTorch, ours, ...) three
# times per row; the table shows medians. Prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh build >/dev/null
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends python3-torch
fi
threads=$(nproc)
out=build/throughput
mkdir -p "$out"
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| model | batch | Tandem samples/s | PyTorch samples/s | Tandem / PyTorch |"
echo "|---|---|---|---|---|"
for model in cnn mlp; do
  for batch in 64 256; do
    samples=$([ "$model" = cnn ] && echo 12800 || echo 51200)
    : > "$out/ours"; : > "$out/torch"
    for round in 1 2 3; do
      echo "  $model batch $batch round $round" >&2
      rm -f "$out/m.jsonl"
      build/bin/tandem train --model "$model" --batch "$batch" --epochs 1 --train-subset "$samples" --test-subset 500 \
        --metrics "$out/m.jsonl" > /dev/null
      python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readline())['samples_per_s'])" "$out/m.jsonl" >> "$out/ours"
      /usr/bin/python3 tools/bench_torch.py "$model" "$batch" "$samples" "$threads" >> "$out/torch"
    done
    ours=$(median < "$out/ours"); theirs=$(median < "$out/torch")
    python3 -c "print(f'| $model | $batch | {$ours:.0f} | {$theirs:.0f} | {$ours / $theirs:.2f} |')"
  done
done

#!/usr/bin/env bash
# Fashion-MNIST test accuracy after fixed schedules: dense CNN and MLP, the CNN pruned to 80%
# (gradual magnitude pruning, then fine-tuning) and 2:4. Prints a markdown table; per-epoch
# metrics go to build/accuracy/*.jsonl. Takes about 10 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh build >/dev/null
out=build/accuracy
mkdir -p "$out"
run() {  # name, then tandem train arguments
  local name=$1; shift
  rm -f "$out/$name.jsonl"
  echo "running $name: tandem train $*" >&2
  build/bin/tandem train "$@" --metrics "$out/$name.jsonl" > "$out/$name.log"
}
run cnn-dense   --model cnn --epochs 10
run mlp-dense   --model mlp --epochs 10
run cnn-mag80   --model cnn --epochs 14 --prune magnitude:0.8 --prune-at 6 --prune-steps 3
run cnn-2of4    --model cnn --epochs 12 --prune 2:4 --prune-at 8
echo "| run | schedule | final test accuracy | sparsity (prunable weights) | mean samples/s |"
echo "|---|---|---|---|---|"
for name in cnn-dense mlp-dense cnn-mag80 cnn-2of4; do
  python3 - "$out/$name.jsonl" "$name" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
last = rows[-1]
sched = {"cnn-dense": "10 epochs", "mlp-dense": "10 epochs",
         "cnn-mag80": "14 epochs; magnitude pruning at epochs 7-9 (gradual) to 80%, fine-tune to 14",
         "cnn-2of4": "12 epochs; 2:4 at epoch 9, fine-tune to 12"}[sys.argv[2]]
sps = sum(r["samples_per_s"] for r in rows) / len(rows)
print(f"| {sys.argv[2]} | {sched} | {100 * last['test_accuracy']:.2f}% | {100 * last['sparsity']:.1f}% | {sps:.0f} |")
PY
done

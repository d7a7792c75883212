#!/usr/bin/env bash
# Fashion-MNIST test accuracy after fixed schedules: dense CNN and MLP, the CNN pruned to 80%
# (gradual magnitude pruning, then fine-tuning) and 2:4. Prints a markdown table; per-epoch
# metrics go to build/accuracy/*.jsonl. Takes about 10 minutes on 2 cores. GRAPH=1 adds resnet20
# and mobilenet against PyTorch (below); GRAPH=only runs those alone.
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
if [ "${GRAPH:-0}" != only ]; then
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
fi

# GRAPH=1 (or only, without the runs above): the graph models against PyTorch with the same recipe (tools/bench_torch.py accuracy):
# SGD with momentum 0.9, lr 0.1, weight decay 5e-4, cosine, batch 128, EPOCHS (default 30) on
# TRAIN_SUBSET training samples (default all 60000). Targets: resnet20 ≥ 93.5 %, mobilenet
# ≥ 92.5 %, each within 0.3 points of PyTorch. About 3 h on 2 cores for both models at 30 epochs.
if [ "${GRAPH:-0}" != 0 ]; then
  epochs=${EPOCHS:-30} subset=${TRAIN_SUBSET:-60000}
  echo
  echo "| model | epochs | training samples | Tandem test accuracy | PyTorch test accuracy | difference (points) |"
  echo "|---|---|---|---|---|---|"
  for model in ${GRAPH_MODELS:-resnet20 mobilenet}; do
    run "$model-graph" --model "$model" --epochs "$epochs" --batch 128 --lr 0.1 --momentum 0.9 --weight-decay 5e-4 \
      --schedule cosine --train-subset "$subset"
    echo "running $model in PyTorch" >&2
    TANDEM=build/bin/tandem /usr/bin/python3 tools/bench_torch.py accuracy "$model" "$epochs" 128 0.1 "$(nproc)" \
      "$subset" > "$out/$model-torch.log"
    python3 - "$out/$model-graph.jsonl" "$out/$model-torch.log" "$model" "$epochs" "$subset" <<'PY'
import json, sys
ours = 100 * [json.loads(l) for l in open(sys.argv[1])][-1]["test_accuracy"]
theirs = 100 * float(open(sys.argv[2]).read().split()[-1])
print(f"| {sys.argv[3]} | {sys.argv[4]} | {sys.argv[5]} | {ours:.2f}% | {theirs:.2f}% | {ours - theirs:+.2f} |")
PY
  done
fi

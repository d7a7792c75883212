#!/usr/bin/env bash
# Heterogeneous execution on this machine, in three tables (markdown on stdout; raw results in
# build/placement/):
#   1. planner accuracy: the step time the planner predicts from a fresh calibration vs the step
#      time measured when that placement runs (tandem plan --check), per model and batch;
#   2. automatic placement vs the best single device (same runs);
#   3. load balancing: the CNN trained on the CPU alone, on OpenCL alone, and on both at once
#      (two ranks under mpirun, one per device) with and without --balance.
#   tools/bench_placement.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${TANDEM_BIN:-}" ] || tools/build.sh build >/dev/null
bin=${TANDEM_BIN:-build/bin/tandem}
out=build/placement
mkdir -p "$out"
profile="$out/profile.json"

echo "calibrating ..." >&2
"$bin" calibrate --models cnn,mlp --batches 4,16,64 --repeats 7 --profile "$profile" > "$out/calibrate.txt" 2>&1
for model in cnn mlp; do
  for batch in 16 64 256; do
    echo "plan --check: $model at batch $batch" >&2
    "$bin" plan --model "$model" --batch "$batch" --profile "$profile" --check --repeats 10 \
      --json "$out/plan-$model-$batch.json" > "$out/plan-$model-$batch.txt" 2>&1
  done
done

have_cl=$("$bin" info | grep -c '^opencl:0' || true)
train=(train --model cnn --epochs 1 --train-subset 8192 --test-subset 1000)
runs=("cpu:0|1|" "opencl:0|1|" "cpu:0,opencl:0|2|" "cpu:0,opencl:0|2|--balance")
if [ "$have_cl" -gt 0 ]; then
  for run in "${runs[@]}"; do
    IFS='|' read -r devs np flags <<< "$run"
    name="$out/train-${devs//[:,]/_}-np$np${flags//-/_}.jsonl"
    rm -f "$name"
    echo "training on $devs ($np rank(s)) $flags" >&2
    # shellcheck disable=SC2086
    tools/mpirun.sh -np "$np" "$bin" "${train[@]}" --device "$devs" $flags --metrics "$name" > "$name.log" 2>&1
  done
fi

python3 - "$out" "$have_cl" <<'PY'
import glob, json, os, sys
out, have_cl = sys.argv[1], int(sys.argv[2])
print("| model | batch | placement | predicted ms | measured ms | error | timing |")
print("|---|---|---|---|---|---|---|")
best = []
for model in ("cnn", "mlp"):
    for batch in (16, 64, 256):
        j = json.load(open(f"{out}/plan-{model}-{batch}.json"))
        for c in j["check"]:
            print(f"| {model} | {batch} | {c['placement']} | {1e3 * c['predicted_seconds']:.3f} | "
                  f"{1e3 * c['measured_seconds']:.3f} | {100 * c['error']:+.1f}% | {c['timing']} |")
        plan = j["check"][0]
        singles = [c for c in j["check"][1:] if c["timing"] == "measured"]
        b = min(singles, key=lambda c: c["measured_seconds"])
        placed = sorted({l["device"] for l in j["layers"]})
        best.append((model, batch, ", ".join(placed), plan["measured_seconds"], b["placement"], b["measured_seconds"],
                     plan["timing"]))
print()
print("| model | batch | planner's placement (devices used) | its step, ms | best single device (measured) | its step, ms | speedup of the plan |")
print("|---|---|---|---|---|---|---|")
for model, batch, placed, plan_s, bname, bs, timing in best:
    same = bname == "all on " + placed  # the plan is that device alone: two runs of one placement
    note = " (same placement: run-to-run spread)" if same else ""
    print(f"| {model} | {batch} | {placed} | {1e3 * plan_s:.3f} ({timing}) | {bname} | {1e3 * bs:.3f} | "
          f"{bs / plan_s:.2f}×{note} |")
if have_cl:
    print()
    print("| devices | ranks | split | samples/s | vs the faster device alone | test accuracy |")
    print("|---|---|---|---|---|---|")
    rows = {}
    for f in sorted(glob.glob(f"{out}/train-*.jsonl")):
        r = [json.loads(l) for l in open(f)][-1]
        rows[os.path.basename(f)] = r
    alone = max(v["samples_per_s"] for k, v in rows.items() if "np1" in k)
    for k, r in rows.items():
        devs = "cpu:0" if k.startswith("train-cpu_0-") else "opencl:0" if k.startswith("train-opencl_0") else "cpu:0 + opencl:0"
        split = "balanced" if "balance" in k else "equal" if r["ranks"] > 1 else "-"
        shares = "/".join(str(s) for s in r["rank_shares"])
        print(f"| {devs} | {r['ranks']} | {split} ({shares}) | {r['samples_per_s']:.0f} | {r['samples_per_s'] / alone:.2f} | "
              f"{100 * r['test_accuracy']:.2f}% |")
PY

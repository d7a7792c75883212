#!/usr/bin/env bash
# Fashion-MNIST CNN accuracy per gradient codec against dense, same schedule (10 epochs, batch
# 64, the defaults of tandem train): what each codec's compression costs in accuracy. Prints a
# markdown table; per-epoch metrics go to build/codecs/*.jsonl. About 30 minutes on 2 cores.
#   tools/bench_codecs.sh            (TANDEM_BIN=path runs another tandem binary)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${TANDEM_BIN:-build/bin/tandem}
[ -n "${TANDEM_BIN:-}" ] || tools/build.sh build >/dev/null
out=build/codecs
mkdir -p "$out"
runs=(
  "dense|none|"
  "fp16|fp16|"
  "int8|int8|"
  "qsgd:16|qsgd:16|"
  "terngrad|terngrad|"
  "sign + EF|sign|--error-feedback"
  "topk:0.01|topk:0.01|"
  "topk:0.01 + EF|topk:0.01|--error-feedback"
  "topk_sampled:0.01 + EF|topk_sampled:0.01|--error-feedback"
  "powersgd:4 + EF|powersgd:4|--error-feedback"
)
for r in "${runs[@]}"; do
  IFS='|' read -r label codec flags <<< "$r"
  file="$out/$(echo "$label" | tr ' :+' '___').jsonl"
  [ -s "$file" ] && [ "${FRESH:-0}" = 0 ] && continue  # finished earlier: keep (FRESH=1 reruns)
  echo "running $label: tandem train --model cnn --epochs 10 --compress $codec $flags" >&2
  # shellcheck disable=SC2086
  "$bin" train --model cnn --epochs 10 --compress "$codec" $flags --metrics "$file.tmp" > "$file.log" 2>&1
  mv "$file.tmp" "$file"
done
echo "| codec | compression (gradient bytes / message bytes) | final test accuracy | vs dense |"
echo "|---|---|---|---|"
python3 - "$out" "${runs[@]}" <<'PY'
import json, sys
out, runs = sys.argv[1], sys.argv[2:]
def last(label):
    name = label.replace(" ", "_").replace(":", "_").replace("+", "_")
    return [json.loads(l) for l in open(f"{out}/{name}.jsonl")][-1]
dense = last("dense")["test_accuracy"]
for r in runs:
    label = r.split("|")[0]
    row = last(label)
    ratio = row.get("compression_ratio", 1.0)
    print(f"| {label} | {ratio:.1f}× | {100 * row['test_accuracy']:.2f}% | {100 * (row['test_accuracy'] - dense):+.2f} pt |")
PY

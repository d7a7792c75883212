#!/usr/bin/env bash
# Data-parallel scaling on this machine: the CNN for one epoch on 1, 2 and 4 ranks (one thread
# per rank, so ranks × threads ≤ cores up to 2 ranks on 2 cores; 4 ranks oversubscribe): dense,
# top-k 1% + error feedback, and dense with --balance (its 1-rank row is the dense one). Prints a
# markdown table; metrics go to build/ranks/*.jsonl.
#   tools/bench_ranks.sh [epochs, default 1]
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-1}
[ -n "${TANDEM_BIN:-}" ] || tools/build.sh build >/dev/null
bin=${TANDEM_BIN:-build/bin/tandem}
out=build/ranks
mkdir -p "$out"
for codec in none topk:0.01 balance; do
  flags=""
  [ "$codec" = topk:0.01 ] && flags="--error-feedback"
  [ "$codec" = balance ] && flags="--balance" && codec=none
  for np in 1 2 4; do
    [ "$flags" = --balance ] && [ "$np" = 1 ] && continue  # one rank has nothing to balance
    name="$out/${codec//[:.]/_}${flags:+$flags}-np$np.jsonl"
    name=${name//--error-feedback/}
    rm -f "$name"
    echo "running $codec on $np rank(s)" >&2
    # shellcheck disable=SC2086
    OMP_NUM_THREADS=1 tools/mpirun.sh -np "$np" "$bin" train --model cnn --epochs "$epochs" --compress "$codec" $flags \
      --metrics "$name" > "$name.log" 2>&1
  done
done
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
print("| codec | ranks | samples/s | speedup vs 1 rank | efficiency | comm share of step time | bytes sent per step per rank | test accuracy |")
print("|---|---|---|---|---|---|---|---|")
for codec in ("none", "topk_0_01", "none--balance"):
    base = None
    for np in (1, 2, 4):
        one = f"{out}/{codec}-np{np}.jsonl" if np > 1 or codec != "none--balance" else f"{out}/none-np1.jsonl"
        rows = [json.loads(l) for l in open(one)]
        sps = sum(r["samples_per_s"] for r in rows) / len(rows)
        secs = sum(r["seconds"] for r in rows)
        comm = sum(r.get("comm_seconds", 0) for r in rows)
        base = base or sps
        label = {"none": "dense", "topk_0_01": "top-k 1% + EF", "none--balance": "dense, --balance"}[codec]
        print(f"| {label} | {np} | {sps:.0f} | {sps / base:.2f} | {sps / base / np:.2f} | {100 * comm / secs:.1f}% | "
              f"{rows[-1].get('bytes_per_step', 0) / 1e3:.1f} KB | {100 * rows[-1]['test_accuracy']:.2f}% |")
PY

#!/usr/bin/env bash
# A rank killed mid-run, under tools/elastic.sh: the job restarts from rank 0's last checkpoint
# and ends with exactly the result of an uninterrupted run (same final loss and accuracy).
# Usage: elastic_restart.sh <source dir> <tandem binary>
set -u
src=$1 tandem=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
msg=$("$src/tools/elastic.sh" -- true 2>&1); rc=$?
[ "$rc" -eq 2 ] && grep -q "no --checkpoint DIR" <<< "$msg" || { echo "FAIL: a command without --checkpoint: $msg"; exit 1; }
args=(train --model cnn --epochs 6 --train-subset 4000 --test-subset 500 --checkpoint-every 8 --comm-timeout 20)
export OMP_NUM_THREADS=1
"$src/tools/mpirun.sh" -np 2 "$tandem" "${args[@]}" --checkpoint "$work/straight" --metrics "$work/straight.jsonl" \
  > "$work/straight.log" 2>&1 || { cat "$work/straight.log"; echo "FAIL: the uninterrupted run failed"; exit 1; }

"$src/tools/elastic.sh" --restarts 2 -- "$src/tools/mpirun.sh" -np 2 "$tandem" "${args[@]}" \
  --checkpoint "$work/elastic" --metrics "$work/elastic.jsonl" > "$work/elastic.log" 2>&1 &
job=$!
for _ in $(seq 1 300); do  # the first checkpoint is down: kill a rank
  [ -f "$work/elastic/checkpoint.tdm" ] && break
  sleep 0.05
done
victim=$(pgrep -f -n "$tandem train --model cnn --epochs 6 --train-subset 4000")
[ -n "$victim" ] || { cat "$work/elastic.log"; echo "FAIL: no rank process found"; exit 1; }
kill -9 "$victim"
wait "$job"; rc=$?
cat "$work/elastic.log"
[ "$rc" -eq 0 ] || { echo "FAIL: the elastic job failed (exit status $rc)"; exit 1; }
grep -q "restart 1 of 2 from the checkpoint" "$work/elastic.log" || { echo "FAIL: no restart from the checkpoint"; exit 1; }
python3 - "$work/straight.jsonl" "$work/elastic.jsonl" <<'PY' || exit 1
import json, sys
a = json.loads(open(sys.argv[1]).read().splitlines()[-1])
b = json.loads(open(sys.argv[2]).read().splitlines()[-1])
for key in ("epoch", "loss", "test_accuracy"):
    if a[key] != b[key]:
        sys.exit(f"FAIL: final {key} differs: uninterrupted {a[key]}, restarted {b[key]}")
print(f"final epoch {b['epoch']}: loss {b['loss']:.6f}, accuracy {b['test_accuracy']:.4f} in both runs")
PY
echo "PASS"

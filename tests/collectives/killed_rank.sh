#!/usr/bin/env bash
# A rank killed mid-run (SIGKILL, as by the OOM killer) must end the whole job within 30 s with
# a message naming the lost rank — no hang. Usage: killed_rank.sh <source dir> <tandem binary>
set -u
src=$1 tandem=$2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
OMP_NUM_THREADS=1 "$src/tools/mpirun.sh" -np 2 "$tandem" train --model mlp --epochs 50 --train-subset 6000 \
  --comm-timeout 20 > "$log" 2>&1 &
job=$!
# Wait until both ranks are training (the job prints its first epoch header), then kill one.
for _ in $(seq 1 100); do
  grep -q "training mlp" "$log" && break
  sleep 0.2
done
victim=$(pgrep -f -n "$tandem train --model mlp --epochs 50")
[ -n "$victim" ] || { echo "no rank process found"; cat "$log"; exit 1; }
sleep 1
kill -9 "$victim"
start=$(date +%s)
for _ in $(seq 1 300); do
  kill -0 "$job" 2>/dev/null || break
  sleep 0.1
done
elapsed=$(( $(date +%s) - start ))
if kill -0 "$job" 2>/dev/null; then
  echo "FAIL: the job still runs ${elapsed}s after a rank was killed"
  kill -9 "$job"; pkill -9 -f "$tandem train --model mlp --epochs 50"
  exit 1
fi
wait "$job"; rc=$?
cat "$log"
echo "job ended ${elapsed}s after the kill, exit status $rc"
[ "$rc" -ne 0 ] || { echo "FAIL: the job reported success"; exit 1; }
grep -Eq "rank [0-9]+.*(signal 9|Killed)|process rank [0-9]+" "$log" || { echo "FAIL: no message names the lost rank"; exit 1; }
[ "$elapsed" -le 30 ] || { echo "FAIL: took more than 30 s"; exit 1; }
echo "PASS"

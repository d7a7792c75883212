#!/usr/bin/env bash
# A rank stopped mid-run (SIGSTOP: hung, not dead, so mpirun sees nothing wrong) must end the
# whole job at the communicator timeout with an error that names the stopped rank: as never
# arrived at the collective, or (stopped inside it, after its notice of arrival) as the one
# peer that has not completed it. Usage: stopped_rank.sh <source dir> <tandem binary> [train options]
set -u
src=$1 tandem=$2
shift 2
timeout=5
log=$(mktemp)
victim=""
# Nothing may outlive the test: a stopped process ignores everything but SIGKILL and SIGCONT.
cleanup() {
  if [ -n "$victim" ]; then
    kill -CONT "$victim" 2>/dev/null
    kill -9 "$victim" 2>/dev/null
  fi
  rm -f "$log"
}
trap cleanup EXIT
# --epochs 100 (killed_rank.sh runs 50): each script finds and cleans up only its own job.
args=(train --model mlp --epochs 100 --train-subset 6000 --comm-timeout "$timeout" "$@")
OMP_NUM_THREADS=1 "$src/tools/mpirun.sh" -np 2 "$tandem" "${args[@]}" > "$log" 2>&1 &
job=$!
# Wait until both ranks are training (the job prints its first epoch header).
for _ in $(seq 1 100); do
  grep -q "training mlp" "$log" && break
  sleep 0.2
done
# Both ranks (and mpirun) have this command line: the victim is the process whose environment
# says it is a rank other than 0, so the rank to expect in the message is known.
rank=""
for pid in $(pgrep -f -- "$tandem ${args[*]}"); do
  r=$(tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | sed -n 's/^OMPI_COMM_WORLD_RANK=//p')
  if [ -n "$r" ] && [ "$r" != 0 ]; then
    victim=$pid rank=$r
    break
  fi
done
[ -n "$victim" ] || { echo "FAIL: no rank process other than rank 0 found"; cat "$log"; kill -9 "$job"; exit 1; }
sleep 1
kill -STOP "$victim"
start=$(date +%s)
limit=$((timeout + 30))
while kill -0 "$job" 2>/dev/null && [ $(( $(date +%s) - start )) -le "$limit" ]; do
  sleep 0.1
done
elapsed=$(( $(date +%s) - start ))
if kill -0 "$job" 2>/dev/null; then
  echo "FAIL: the job still runs ${elapsed}s after rank $rank was stopped"
  cat "$log"
  kill -9 "$job"
  pkill -9 -f -- "$tandem ${args[*]}"
  exit 1
fi
wait "$job"; rc=$?
cat "$log"
echo "job ended ${elapsed}s after rank $rank (pid $victim) was stopped, exit status $rc"
[ "$rc" -ne 0 ] || { echo "FAIL: the job reported success"; exit 1; }
# (A ring-ordered split, on machines with several NUMA nodes, names it with its world rank.)
named="rank ($rank|[0-9]+ \(world rank $rank\)) (never arrived|arrived but has not completed it)"
grep -Eq "not complete after $timeout\.0+ s: $named" "$log" ||
  { echo "FAIL: no timeout message names rank $rank"; exit 1; }
[ "$elapsed" -ge $((timeout - 1)) ] || { echo "FAIL: ended before the ${timeout} s timeout"; exit 1; }
echo "PASS"

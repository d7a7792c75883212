#!/usr/bin/env bash
# A multi-rank training soak. A job of N ranks trains with frequent checkpoints while this script
# keeps breaking it, in turn: a rank killed (SIGKILL, as by the OOM killer), a collective failing
# on one rank, a kernel launch failing on one rank, the checkpoint write failing on rank 0 (the
# last three through TANDEM_FAULTS). After each failure it checks that the whole job ended within
# a deadline with an error naming the rank or the fault, that no rank process is left and nothing
# half-written lies in the checkpoint directory (a rank 0 killed mid-write may leave its temporary
# file, which the next attempt must remove), and then restarts the job from its last checkpoint
# (--resume). When the budget is spent the job runs to its end undisturbed, and its result must
# equal an uninterrupted run's exactly: final loss and accuracy, and the exported model byte for byte.
#   tools/soak.sh [--seconds S | --attempts A] [--ranks N] [--epochs E] [--build DIR] [--out DIR] [--seed K]
# Defaults: 120 s, 2 ranks, 6 epochs, build/, a temporary directory, seed from the clock.
# --attempts A: exactly A disruptions (the four kinds in turn) whatever the machine's speed; with
# --seed the same ranks and fault counters every run (the CTest test soak.short).
# Writes DIR/soak.csv (one row per attempt: seconds from the kill to the job's end, or for an
# injected fault the attempt's whole run) and DIR/soak.json (the summary); exits 1 on any failed
# check.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=120 attempts=0 ranks=2 epochs=6 build=build out="" seed=$(date +%s)
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --attempts) attempts=$2; shift 2 ;;
    --ranks) ranks=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    *) echo "soak.sh: unknown option $1 (see the usage at the top of tools/soak.sh)" >&2; exit 2 ;;
  esac
done
tandem=$(cd "$build" 2>/dev/null && pwd)/bin/tandem
[ -x "$tandem" ] || { echo "soak.sh: $tandem not found: build first (tools/build.sh $build)" >&2; exit 2; }
[ -n "$out" ] || { out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; }
mkdir -p "$out"
RANDOM=$seed
export OMP_NUM_THREADS=1
timeout_s=15  # --comm-timeout: how long a rank waits for a lost peer before it ends the job
deadline=$((timeout_s + 30))
ckpt=$out/ckpt
args=(train --model mlp --epochs "$epochs" --train-subset 6000 --test-subset 1000 --seed 5 --compress topk:0.05
  --error-feedback --checkpoint-every 25 --comm-timeout "$timeout_s")

fail() { echo "soak.sh: FAIL: $*" >&2; exit 1; }
ranks_alive() { pgrep -f -- "--checkpoint $ckpt" | while read -r p; do
  [ "$(ps -o comm= -p "$p" 2>/dev/null)" = tandem ] && echo "$p"; done || true; }
step_of() {  # the step a checkpoint holds, from its JSON header
  python3 - "$1" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack_from("<I", b, 12)[0] if len(b) >= 16 else 0  # magic, version, header length
try:
    h = json.loads(b[16:16 + n])
    print(h["state"]["step"])
except Exception:
    print("?")
PY
}

echo "soak: reference run (${ranks} ranks, ${epochs} epochs, uninterrupted)"
t0=$(date +%s)
tools/mpirun.sh -np "$ranks" "$tandem" "${args[@]}" --checkpoint "$out/reference-ckpt" --metrics "$out/reference.jsonl" \
  --export "$out/reference.tdm" > "$out/reference.log" 2>&1 || { tail -20 "$out/reference.log"; fail "the reference run failed"; }
echo "soak: reference took $(( $(date +%s) - t0 )) s"

echo "attempt,disruption,rank,outcome,seconds,checkpoint_step,message" > "$out/soak.csv"
kinds=(kill collective launch write)
start=$(date +%s) attempt=0 disrupted=0
budget_left() {
  if [ "$attempts" -gt 0 ]; then [ "$attempt" -lt "$attempts" ]; else [ $(( $(date +%s) - start )) -lt "$seconds" ]; fi
}
temporaries() { find "$ckpt" -maxdepth 1 -type f -name '.checkpoint*.tdm.*' 2>/dev/null || true; }
while budget_left; do
  attempt=$((attempt + 1))
  kind=${kinds[$(( (attempt - 1) % 4 ))]}
  rank=$(( RANDOM % ranks ))
  resume=()
  [ -f "$ckpt/checkpoint.tdm" ] && resume=(--resume)
  faults=""
  case $kind in
    collective) faults="rank=$rank,collective=$(( 5 + RANDOM % 100 ))" ;;
    launch) faults="rank=$rank,launch=$(( 100 + RANDOM % 1500 ))" ;;
    write) rank=0; faults="rank=0,write@checkpoint.tdm=$(( 1 + RANDOM % 3 ))" ;;
  esac
  log=$out/attempt-$attempt.log
  before=$( [ -f "$ckpt/checkpoint.tdm" ] && stat -c %Y.%N "$ckpt/checkpoint.tdm" || echo none)
  TANDEM_FAULTS=$faults tools/mpirun.sh -np "$ranks" "$tandem" "${args[@]}" --checkpoint "$ckpt" "${resume[@]}" \
    --metrics "$out/attempt-$attempt.jsonl" > "$log" 2>&1 &
  job=$!
  if [ "$kind" = kill ]; then  # once the job has written a new checkpoint, kill one of its ranks
    for _ in $(seq 1 600); do
      now=$( [ -f "$ckpt/checkpoint.tdm" ] && stat -c %Y.%N "$ckpt/checkpoint.tdm" || echo none)
      [ "$now" != "$before" ] && break
      kill -0 "$job" 2>/dev/null || break
      sleep 0.1
    done
    mapfile -t pids < <(ranks_alive)
    [ "${#pids[@]}" -gt 0 ] && kill -9 "${pids[$(( RANDOM % ${#pids[@]} ))]}" 2>/dev/null || true
  fi
  hit=$(date +%s)
  while kill -0 "$job" 2>/dev/null; do
    [ $(( $(date +%s) - hit )) -le "$deadline" ] || { kill -9 "$job"; pkill -9 -f -- "--checkpoint $ckpt" || true;
      tail -20 "$log"; fail "attempt $attempt ($kind): the job still ran ${deadline} s after the failure"; }
    sleep 0.1
  done
  rc=0; wait "$job" || rc=$?
  took=$(( $(date +%s) - hit ))
  sleep 0.5
  [ -z "$(ranks_alive)" ] || fail "attempt $attempt ($kind): rank processes outlived the job"
  # A rank 0 killed mid-write leaves its temporary file (nothing can remove it then); any other
  # failure removes its own, and the next attempt's start removes a killed writer's.
  stray=$(find "$ckpt" -maxdepth 1 -type f ! -name checkpoint.tdm ! -name checkpoint.prev.tdm 2>/dev/null || true)
  [ "$kind" = kill ] && stray=$(grep -v -F -x -f <(temporaries) <<< "$stray" || true)
  [ -z "$stray" ] || fail "attempt $attempt ($kind): left in the checkpoint directory: $stray"
  [ "$kind" != kill ] || [ -z "$(temporaries)" ] || echo "soak: attempt $attempt: the killed writer left $(temporaries | xargs -n1 basename | xargs)"
  step=$( [ -f "$ckpt/checkpoint.tdm" ] && step_of "$ckpt/checkpoint.tdm" || echo none)
  if [ "$rc" -eq 0 ]; then
    outcome=finished; message="the job finished before the $kind struck"
    echo "$attempt,$kind,$rank,$outcome,$took,$step,\"$message\"" >> "$out/soak.csv"
    echo "soak: attempt $attempt: $message (checkpoint step $step)"
    rm -rf "$ckpt"  # start over: the budget is for failures
    continue
  fi
  case $kind in
    kill) pattern="rank [0-9]+.*(signal 9|Killed)|process rank [0-9]+|peer rank has died|never arrived|arrived but has not completed" ;;
    *) pattern="fault injected by TANDEM_FAULTS" ;;
  esac
  message=$(grep -E -m1 "$pattern" "$log" | tr -d '"' | cut -c1-200 || true)
  [ -n "$message" ] || { tail -20 "$log"; fail "attempt $attempt ($kind): no message names the failure"; }
  disrupted=$((disrupted + 1))
  if [ "$kind" = kill ]; then  # the victim was a random process: take its rank from mpirun's report
    rank=$(grep -oE "process rank [0-9]+" <<< "$message" | grep -oE "[0-9]+$" || echo "?")
    when="after the kill"
  else
    when="after its start"
  fi
  echo "$attempt,$kind,$rank,failed,$took,$step,\"$message\"" >> "$out/soak.csv"
  printf 'soak: attempt %d: %-10s rank %s, the job ended %2d s %s; last checkpoint: step %s\n' "$attempt" "$kind" \
    "$rank" "$took" "$when" "$step"
done

echo "soak: $(( $(date +%s) - start )) s of disruptions ($disrupted failures in $attempt attempts); finishing from the last checkpoint"
resume=()
[ -f "$ckpt/checkpoint.tdm" ] && resume=(--resume)
tools/mpirun.sh -np "$ranks" "$tandem" "${args[@]}" --checkpoint "$ckpt" "${resume[@]}" --metrics "$out/final.jsonl" \
  --export "$out/final.tdm" > "$out/final.log" 2>&1 || { tail -20 "$out/final.log"; fail "the final run failed"; }
[ -z "$(temporaries)" ] || fail "the final run left temporary files: $(temporaries | xargs)"
python3 - "$out" "$attempt" "$disrupted" "$seconds" "$ranks" <<'PY'
import json, sys
out, attempts, disrupted, seconds, ranks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
ref = json.loads(open(f"{out}/reference.jsonl").read().splitlines()[-1])
fin = json.loads(open(f"{out}/final.jsonl").read().splitlines()[-1])
same_model = open(f"{out}/reference.tdm", "rb").read() == open(f"{out}/final.tdm", "rb").read()
summary = {"seconds": seconds, "ranks": ranks, "attempts": attempts, "failures": disrupted,
           "final": {k: fin[k] for k in ("epoch", "loss", "test_accuracy")},
           "reference": {k: ref[k] for k in ("epoch", "loss", "test_accuracy")}, "same_model_bytes": same_model}
json.dump(summary, open(f"{out}/soak.json", "w"), indent=2)
for key in ("epoch", "loss", "test_accuracy"):
    if ref[key] != fin[key]:
        sys.exit(f"soak.sh: FAIL: final {key} differs: uninterrupted {ref[key]}, after the soak {fin[key]}")
if not same_model:
    sys.exit("soak.sh: FAIL: the exported model differs from the uninterrupted run's")
print(f"soak: PASS: {disrupted} failures in {attempts} attempts; final epoch {fin['epoch']}: loss {fin['loss']:.6f}, "
      f"accuracy {fin['test_accuracy']:.4f}, exported model identical to the uninterrupted run's")
PY

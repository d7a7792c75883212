#!/usr/bin/env bash
# The hostile inputs of issue 22 through the real programs: each must end with a one-line error
# naming the file, option or rank, exit 1 or 2 (never a signal), and replace or lose nothing.
# Nothing here depends on timing. Usage: hostile_inputs.sh <build dir> [sanitized: yes|no]
set -u
bin=$(cd "$1" && pwd)/bin sanitized=${2:-no}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
tiny=(--model mlp --epochs 1 --train-subset 256 --test-subset 64)
# expect <regex> <command...>: fails the script unless the command exits 1 or 2 with one line on
# stderr matching the regex (besides warnings and calibration progress).
expect() {
  local want=$1
  shift
  "$@" > "$work/out" 2> "$work/err"
  local rc=$?
  if [ "$rc" -ne 1 ] && [ "$rc" -ne 2 ]; then
    echo "FAIL (exit $rc): $*"; cat "$work/err"; failed=1
  elif [ "$(grep -Ecv '^(warning:|calibrating )' "$work/err")" -ne 1 ] || ! grep -Eq -- "$want" "$work/err"; then
    echo "FAIL (message): $*"; echo "  wanted one line matching: $want"; sed 's/^/  got: /' "$work/err"; failed=1
  else
    echo "ok: $* -> $(grep -Ev '^(warning:|calibrating )' "$work/err")"
  fi
}

mkfifo "$work/fifo"
ln -s /dev/zero "$work/zeros"
ln -s /dev/null "$work/null-link"

# 1, 2: outputs are checked before the first step, never replace what is not a regular file.
expect "--export: .*/dev/null is a character device" "$bin/tandem" train "${tiny[@]}" --export "$work/null-link"
expect "--export: directory /nonexistent/dir" "$bin/tandem" train "${tiny[@]}" --export /nonexistent/dir/m.tdm
expect "--json: .*fifo is a FIFO" "$bin/tandem" plan --model mlp --devices cpu:0 --json "$work/fifo"
[ -L "$work/null-link" ] && [ -p "$work/fifo" ] && [ -c /dev/null ] || { echo "FAIL: an output replaced a link, FIFO or device"; failed=1; }
# 3: numbers.
expect "--comm-timeout: expected a finite number in \[0.1, 86400\], not nan" "$bin/tandem" train "${tiny[@]}" --comm-timeout nan
expect "--lr: expected a finite number in \(0, 1000\], not inf" "$bin/tandem" train "${tiny[@]}" --lr inf
# 4: divergence stops the run, and nothing is exported.
expect "diverged at step [0-9]+ \(epoch 1\): the loss is -?nan; first non-finite parameter: fc1.weight" \
  "$bin/tandem" train "${tiny[@]}" --lr 1000 --export "$work/diverged.tdm"
[ ! -e "$work/diverged.tdm" ] || { echo "FAIL: a diverged model was exported"; failed=1; }
# 5: unbounded reads end at once.
expect "--model: .*zeros.* not a regular file|--model: .*character device" "$bin/tandem" train --model "$work/zeros"
mkdir -p "$work/ckpt" && mkfifo "$work/ckpt/checkpoint.tdm"
expect "checkpoint .*checkpoint.tdm is a FIFO" "$bin/tandem" train "${tiny[@]}" --checkpoint "$work/ckpt" --resume
expect "model file .*fifo is a FIFO" "$bin/appliance" "$work/fifo"
# 6: pins naming no layer.
expect "--place conv9=cpu:0: no layer is named conv9 \(layers: fc1, relu2, fc2, relu4, fc3\)" \
  "$bin/tandem" train "${tiny[@]}" --place conv9=cpu:0
# 8: a fresh run over a checkpoint.
"$bin/tandem" train "${tiny[@]}" --checkpoint "$work/run" > /dev/null 2>&1 || { echo "FAIL: a first run failed"; failed=1; }
expect "holds a checkpoint of an earlier run: --resume continues it, --overwrite starts afresh" \
  "$bin/tandem" train "${tiny[@]}" --checkpoint "$work/run"
# 7: resume on other data.
expect "was made on train data .* 256 samples.*this run has .*128 samples" \
  "$bin/tandem" train --model mlp --epochs 1 --train-subset 128 --test-subset 64 --checkpoint "$work/run" --resume
# 9: a write that fails (a file-size limit on the process stands in for a full disk) is an error,
# not exit 0 with an empty file.
# (16 blocks of 512 bytes: room for LLVM's OpenMP runtime's small shared-memory file, not for 30 epochs' metrics.)
sh -c 'trap "" XFSZ; ulimit -f 16; exec "$@"' _ "$bin/tandem" train --model mlp --epochs 30 --train-subset 128 \
  --test-subset 64 --metrics "$work/metrics.jsonl" > /dev/null 2> "$work/err"
rc=$?
if [ "$rc" -eq 1 ] && [ "$(wc -l < "$work/err")" -eq 1 ] && grep -q "metrics .*: write failed: File too large" "$work/err"; then
  echo "ok: --metrics past the file-size limit -> $(cat "$work/err")"
else
  echo "FAIL (exit $rc): --metrics past the file-size limit"; cat "$work/err"; failed=1
fi
expect "writing to standard output failed: No space left on device" sh -c "exec '$bin/tandem' info > /dev/full"
# 10: an allocation that cannot be made says what, how much and where (the address-space limit
# stands in for a full machine; AddressSanitizer's shadow memory cannot live under one).
if [ "$sanitized" = no ]; then
  ( ulimit -v 4000000; expect "(host|cpu:0) .*: cannot allocate [0-9]" \
    "$bin/tandem" plan --model mlp --devices cpu:0 --batch 1048576 --profile "$work/profile.json"
    [ "$failed" -eq 0 ] ) || failed=1
fi
# 11: no usable home: calibrated for this run, nothing written where the command runs.
mkdir -p "$work/cwd"
( cd "$work/cwd" && env -u HOME -u XDG_CACHE_HOME -u TANDEM_PROFILE "$bin/tandem" plan --model mlp --devices cpu:0 \
    > "$work/plan.out" 2>&1 ) || { echo "FAIL: plan without a home"; cat "$work/plan.out"; failed=1; }
grep -q "no profile cache .*calibrated for this run only" "$work/plan.out" || { echo "FAIL: plan did not say it did not cache"; failed=1; }
[ -z "$(ls -A "$work/cwd")" ] || { echo "FAIL: plan wrote into the current directory: $(ls -A "$work/cwd")"; failed=1; }
# 12: the appliance's numbers and an empty test set.
expect "--memory-mib nan: expected a finite number" "$bin/appliance" "$work/m.tdm" --memory-mib nan
expect "--memory-mib 1e30: expected a finite number" "$bin/appliance" "$work/m.tdm" --memory-mib 1e30
expect "--images -1: expected a whole number" "$bin/appliance" "$work/m.tdm" --images -1
"$bin/tandem" train "${tiny[@]}" --export "$work/m.tdm" > /dev/null 2>&1 || { echo "FAIL: export for the appliance"; failed=1; }
mkdir -p "$work/empty"
python3 - "$work/empty" <<'PY'
import gzip, struct, sys
with gzip.open(sys.argv[1] + "/t10k-images-idx3-ubyte.gz", "wb") as f: f.write(struct.pack(">4B3I", 0, 0, 8, 3, 0, 28, 28))
with gzip.open(sys.argv[1] + "/t10k-labels-idx1-ubyte.gz", "wb") as f: f.write(struct.pack(">4BI", 0, 0, 8, 1, 0))
PY
expect "t10k-images-idx3-ubyte.gz holds no images" "$bin/appliance" "$work/m.tdm" --data "$work/empty"

[ "$failed" -eq 0 ] && echo "PASS"

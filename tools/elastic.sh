#!/usr/bin/env bash
# Reruns a failed multi-rank training job from its last checkpoint, as torchrun's --max-restarts
# does. Retrying a collective in place is not safe (a peer may be gone, or have moved on), so
# the unit of retry is the job: every rank restarts together from the checkpoint rank 0 wrote
# last (atomically), with --resume, and continues exactly where it stood.
#   tools/elastic.sh [--restarts N] -- <tools/mpirun.sh ...> tandem train ... --checkpoint DIR
# N defaults to 3. Without --checkpoint a restart would begin from scratch: refused.
set -uo pipefail
restarts=3
while [ $# -gt 0 ]; do
  case $1 in
    --restarts) restarts=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "elastic.sh: unknown option $1 (usage: elastic.sh [--restarts N] -- command...)" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || { echo "elastic.sh: no command given" >&2; exit 2; }
[[ "$restarts" =~ ^[0-9]+$ ]] || { echo "elastic.sh: --restarts $restarts: expected a count" >&2; exit 2; }

dir="" resume=0 prev=""
for a in "$@"; do
  [ "$prev" = --checkpoint ] && dir=$a
  case $a in --checkpoint=*) dir=${a#--checkpoint=} ;; --resume) resume=1 ;; esac
  prev=$a
done
[ -n "$dir" ] || { echo "elastic.sh: the command has no --checkpoint DIR to restart from" >&2; exit 2; }

cmd=("$@")
for attempt in $(seq 0 "$restarts"); do
  "${cmd[@]}"
  rc=$?
  [ "$rc" -eq 0 ] && exit 0
  if [ "$attempt" -eq "$restarts" ]; then
    echo "elastic.sh: the job failed (exit status $rc) after $restarts restart(s); giving up" >&2
    exit "$rc"
  fi
  if [ -f "$dir/checkpoint.tdm" ] && [ "$resume" -eq 0 ]; then
    cmd+=(--resume)
    resume=1
  fi
  what="from the checkpoint in $dir"
  [ "$resume" -eq 1 ] || what="from the start (no checkpoint written yet)"
  echo "elastic.sh: the job failed (exit status $rc); restart $((attempt + 1)) of $restarts $what" >&2
  sleep 1
done

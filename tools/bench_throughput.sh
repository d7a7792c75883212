#!/usr/bin/env bash
# Training throughput (samples/s) and peak memory (the process's maximum resident set) of the
# built-in models on this machine's cores, Tandem against PyTorch CPU (Debian python3-torch,
# installed here if missing) with the same model, optimizer, batch, data and thread count. Runs
# alternate (ours, PyTorch, ours, ...) ROUNDS times per row (default 3); the table shows medians.
# MODELS (default "cnn mlp"; also resnet20, mobilenet, vit, encoder[:...] on synthetic tokens),
# BATCHES (default "64 256") and SAMPLES (per run; default 12800 for convolutional models, 51200
# for the MLP) choose the rows. Prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh build >/dev/null
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends python3-torch
fi
threads=$(nproc)
out=build/throughput
mkdir -p "$out"
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| model | batch | Tandem samples/s | PyTorch samples/s | Tandem / PyTorch | Tandem peak RSS MiB | PyTorch peak RSS MiB | memory ratio |"
echo "|---|---|---|---|---|---|---|---|"
for model in ${MODELS:-cnn mlp}; do
  for batch in ${BATCHES:-64 256}; do
    samples=${SAMPLES:-$([ "$model" = mlp ] && echo 51200 || echo 12800)}
    data=(--test-subset 500)
    case $model in  # token models: synthetic tokens, as many sequences as the run takes and 1% more held out
      encoder*)
        seq=$(build/bin/tandem model --model "$model" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['input'][0])")
        data=(--synthetic-tokens $(((samples * 102 / 100 + 2) * seq)) --test-fraction 0.01) ;;
    esac
    : > "$out/ours"; : > "$out/torch"; : > "$out/ours_rss"; : > "$out/torch_rss"
    for round in $(seq "${ROUNDS:-3}"); do
      echo "  $model batch $batch round $round" >&2
      rm -f "$out/m.jsonl"
      # The child's peak resident set, as getrusage reports PyTorch's own.
      python3 -c "import resource,subprocess,sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); \
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)" \
        build/bin/tandem train --model "$model" --batch "$batch" --epochs 1 --train-subset "$samples" "${data[@]}" \
        --metrics "$out/m.jsonl" >> "$out/ours_rss"
      python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readline())['samples_per_s'])" "$out/m.jsonl" >> "$out/ours"
      TANDEM=build/bin/tandem /usr/bin/python3 tools/bench_torch.py "$model" "$batch" "$samples" "$threads" > "$out/t"
      cut -d' ' -f1 "$out/t" >> "$out/torch"; cut -d' ' -f2 "$out/t" >> "$out/torch_rss"
    done
    ours=$(median < "$out/ours"); theirs=$(median < "$out/torch")
    ours_rss=$(median < "$out/ours_rss"); theirs_rss=$(median < "$out/torch_rss")
    python3 -c "print(f'| $model | $batch | {$ours:.0f} | {$theirs:.0f} | {$ours / $theirs:.2f} | {$ours_rss:.0f} | {$theirs_rss:.0f} | {$ours_rss / $theirs_rss:.2f} |')"
  done
done

#!/usr/bin/env bash
# Items/s of `segsam spark predict` embedded with local[1] and local[2] (docs/DISTRIBUTED.md), interleaved, one task
# thread each (--threads 1), so that the ratio is the scaling over task slots, not over GEMM threads.
# Usage: [SLOTS='1 2'] scripts/spark-scaling.sh [MODEL] [ITEMS] [REPS]
#   MODEL: weights (default: the embedded demo SEG-SAM model); ITEMS: manifest rows (default 16); REPS: rounds (default 2)
# Each item is the demo CT slice with the demo's three box prompts. Prints one line per run: wall time of the job
# (session start excluded), items/s, CPU seconds of the whole JVM, and the machine's load average (it may be shared).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d -t segsam-spark-scaling.XXXXXX)"
trap 'rm -rf "$work"' EXIT
"$here/segsam" spark predict --help >/dev/null 2>&1 || true    # builds the jobs once
( cd "$work" && unzip -q -o "$here/cli/target/segsam.jar" 'dev/segsam/cli/demo/*' )
demo="$work/dev/segsam/cli/demo"
model="${1:-$demo/segsam-demo.safetensors}"; items="${2:-16}"; reps="${3:-2}"; masters="${SLOTS:-1 2}"
prompts="$(tr -d '\n ' < "$demo/prompts.json" | sed 's/"/""/g')"
{ echo "id,image,prompts"; for i in $(seq 1 "$items"); do echo "item$i,$demo/sample.png,\"$prompts\""; done; } > "$work/manifest.csv"
echo "model $(basename "$model"), $items items, $(nproc) cores, $(date -u +%FT%TZ)"
for r in $(seq 1 "$reps"); do
  if [ $((r % 2)) = 1 ]; then order="$masters"; else order="$(echo "$masters" | tr ' ' '\n' | tac | tr '\n' ' ')"; fi
  for n in $order; do
    out="$work/out-$n-$r"
    /usr/bin/time -f '%U %S' -o "$work/time" "$here/segsam" spark predict --master "local[$n]" --threads 1 \
        --model "$model" --manifest "$work/manifest.csv" --out "$out" > "$work/log" 2>&1 || { tail "$work/log"; exit 1; }
    cpu="$(awk '{print $1 + $2}' "$work/time")"
    echo "rep $r local[$n]: $(sed -n 's/^segsam spark predict: //p' "$work/log") | $(grep '^per item' "$work/log") | JVM CPU ${cpu}s | load $(cut -d' ' -f1-3 /proc/loadavg)"
  done
done

#!/usr/bin/env bash
# Reproduces the ablation table of docs/TRAINING.md on real labelled MRI: Colin27 T1 + AAL (Debian mricron-data,
# fetched first), 16 structures, axial slices split by bands of positions; one full set of runs per seed.
#   per seed:
#   1. stage encoder: a small SAM (ViT 4 blocks x 96, 256 input) trained from scratch, binary loss   (~30-45 min)
#   2. five SEG-SAM runs from that checkpoint with a frozen encoder: baseline, so, co, t2vse, full  (~10-20 min each)
#   then the table: mean ± sd over the seeds, val and test
# Usage: SEEDS="1 2 3" scripts/train-ablation.sh [RUNS_DIR]
#   (default runs/colin27; seed s goes to RUNS_DIR/seed-s; refuses an existing seed folder unless FORCE=1)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$here/runs/colin27}"
seeds="${SEEDS:-1 2 3}"
force=(); [ "${FORCE:-0}" = 1 ] && force=(--force)
for s in $seeds; do
  if [ -e "$out/seed-$s" ] && [ "${FORCE:-0}" != 1 ]; then
    echo "train-ablation: $out/seed-$s exists; remove it or run with FORCE=1" >&2
    exit 1
  fi
done
"$here/scripts/fetch-data.sh" mricron
S="$here/segsam"
dirs=()
for s in $seeds; do
  d="$out/seed-$s"
  dirs+=("$d")
  common=(--data colin27 --focal-weight 1 --seed "$s")
  time "$S" train "${common[@]}" --stage encoder --steps 2000 --warmup 100 --lr 1e-3 --eval-every 500 --out "$d/encoder" "${force[@]}"
  for a in baseline so co t2vse full; do
    time "$S" train "${common[@]}" --stage segsam --ablation "$a" --init "$d/encoder/model.safetensors" \
      --steps 1000 --warmup 50 --lr 5e-4 --eval-every 250 --out "$d/$a" "${force[@]}"
  done
done
"$S" ablation-report --split both "${dirs[@]}"

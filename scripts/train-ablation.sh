#!/usr/bin/env bash
# Reproduces the ablation table of docs/TRAINING.md on real labelled MRI: Colin27 T1 + AAL (Debian mricron-data,
# fetched first), 10 deep-grey-matter/cerebellar structures, slices split by position.
#   1. stage encoder: a small SAM (ViT 4 blocks x 96, 256 input) trained from scratch, binary loss   (~30 min)
#   2. five SEG-SAM runs from that checkpoint with a frozen encoder: baseline, so, co, t2vse, full  (~10 min each)
#   3. the table (test split)
# Usage: scripts/train-ablation.sh [RUNS_DIR]        (default runs/colin27; refuses an existing one unless FORCE=1)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$here/runs/colin27}"
if [ -e "$out" ] && [ "${FORCE:-0}" != 1 ]; then
  echo "train-ablation: $out exists; remove it or run with FORCE=1" >&2
  exit 1
fi
force=(); [ "${FORCE:-0}" = 1 ] && force=(--force)
"$here/scripts/fetch-data.sh" mricron
S="$here/segsam"
common=(--data colin27 --focal-weight 1 --seed 1)
time "$S" train "${common[@]}" --stage encoder --steps 2000 --warmup 100 --lr 1e-3 --eval-every 500 --out "$out/encoder" "${force[@]}"
for a in baseline so co t2vse full; do
  time "$S" train "${common[@]}" --stage segsam --ablation "$a" --init "$out/encoder/model.safetensors" \
    --steps 1000 --warmup 50 --lr 5e-4 --eval-every 0 --out "$out/$a" "${force[@]}"
done
"$S" ablation-report "$out"

#!/usr/bin/env bash
# Reproduces the ablation table of docs/TRAINING.md on real labelled MRI: Colin27 T1 + AAL (Debian mricron-data,
# fetched first), 16 structures, axial slices split by bands of positions; one full set of runs per seed.
#   per seed s (the issue's recipe, the default):
#   1. stage encoder: a small SAM (ViT 4 blocks x 96, 256 input) trained from scratch, binary loss   (~30-45 min)
#   2. five SEG-SAM runs from that checkpoint with a frozen encoder: baseline, so, co, t2vse, full  (~10-20 min each)
#   then the table: mean ± sd over the seeds, val and test
# Usage: SEEDS="1 2 3" scripts/train-ablation.sh [RUNS_DIR]
#   (default runs/colin27; seed s goes to RUNS_DIR/seed-s; refuses an existing seed folder unless FORCE=1)
# Settings (environment):
#   SEEDS="1 2 3"   the seeds, run in this order (all five variants of one seed before the next seed)
#   INIT=FILE       skip stage 1: every stage-2 run starts from FILE (--init FILE --init-parts $INIT_PARTS), e.g.
#                   INIT=cli/src/main/resources/dev/segsam/cli/demo-mri/segsam-mri.safetensors (the shipped MRI model: its
#                   frozen image encoder is the seed-1 stage-1 encoder); the seed then varies stage 2 only
#   INIT_PARTS=sam  what of INIT: sam = encoder, prompt encoder and SAM mask decoder, SEG-SAM parts fresh from the seed;
#                   encoder = the image encoder only, everything else fresh; all = every tensor of INIT
#   STEPS=1000 WARMUP=50   stage-2 steps and warm-up (the recipe's); EVAL_EVERY=250
#   PARALLEL=1      stage-2 runs at a time (with INIT; in seed-major order); NICE=0 their nice level;
#   THREADS=        -Dsegsam.threads per run (empty: the default)
# Each run logs to RUNS_DIR/seed-s/VARIANT.log (and writes train.json, eval.json, loss.png in its folder).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$here/runs/colin27}"
seeds="${SEEDS:-1 2 3}"
init="${INIT:-}"
steps="${STEPS:-1000}" warmup="${WARMUP:-50}" eval_every="${EVAL_EVERY:-250}"
parallel="${PARALLEL:-1}" nice="${NICE:-0}" threads="${THREADS:-}"
force=(); [ "${FORCE:-0}" = 1 ] && force=(--force)
for s in $seeds; do
  if [ -e "$out/seed-$s" ] && [ "${FORCE:-0}" != 1 ]; then
    echo "train-ablation: $out/seed-$s exists; remove it or run with FORCE=1" >&2
    exit 1
  fi
done
[ -z "$init" ] || [ -f "$init" ] || { echo "train-ablation: INIT=$init: no such file" >&2; exit 1; }
"$here/scripts/fetch-data.sh" mricron
S="$here/segsam"
[ -z "$threads" ] || export SEGSAM_JVM_OPTS="${SEGSAM_JVM_OPTS:-} -Dsegsam.threads=$threads"
stage2() { # seed variant encoder-file [extra options]
  local s="$1" a="$2" enc="$3"; shift 3
  mkdir -p "$out/seed-$s"
  echo "train-ablation: seed $s $a started $(date -u +%H:%M:%S)" >&2
  nice -n "$nice" "$S" train --data colin27 --focal-weight 1 --seed "$s" --stage segsam --ablation "$a" --init "$enc" "$@" \
    --steps "$steps" --warmup "$warmup" --lr 5e-4 --eval-every "$eval_every" --out "$out/seed-$s/$a" "${force[@]}" \
    >"$out/seed-$s/$a.log" 2>&1 || { echo "train-ablation: seed $s $a failed, see $out/seed-$s/$a.log" >&2; return 1; }
  echo "train-ablation: seed $s $a done $(date -u +%H:%M:%S)" >&2
}
dirs=()
for s in $seeds; do dirs+=("$out/seed-$s"); done
if [ -n "$init" ]; then
  export -f stage2; export S out steps warmup eval_every nice init
  export force_flag="${force[*]:-}"
  init_flags="--init-parts ${INIT_PARTS:-sam}"; export init_flags
  jobs=()
  for s in $seeds; do for a in baseline so co t2vse full; do jobs+=("$s" "$a"); done; done
  # seed-major queue, PARALLEL runs at a time: a partial set is still whole seeds first
  printf '%s\n' "${jobs[@]}" | xargs -n 2 -P "$parallel" bash -c \
    'force=(); [ -n "$force_flag" ] && force=($force_flag); stage2 "$0" "$1" "$init" $init_flags'
else
  for s in $seeds; do
    d="$out/seed-$s"
    common=(--data colin27 --focal-weight 1 --seed "$s")
    time nice -n "$nice" "$S" train "${common[@]}" --stage encoder --steps 2000 --warmup 100 --lr 1e-3 --eval-every 500 --out "$d/encoder" "${force[@]}"
    for a in baseline so co t2vse full; do time stage2 "$s" "$a" "$d/encoder/model.safetensors"; done
  done
fi
"$S" ablation-report --split both "${dirs[@]}"

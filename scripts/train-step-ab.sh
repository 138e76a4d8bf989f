#!/usr/bin/env bash
# One SEG-SAM training step (bench TrainStepRun: ViT-B decoder sizes, 5 targets, 12 classes, four losses), interleaved:
# the work tree's segsam, a git ref's segsam (the "before" tape) and PyTorch 1.13 autograd
# (tools/reference/train_step_torch.py), each in its own process, round after round on the same machine.
#
#   scripts/train-step-ab.sh REF [rounds] [steps] [threads]      e.g. scripts/train-step-ab.sh main 3 5 2
#
# Each process: 2 warm-up steps, then `steps` timed ones; prints the median wall and process-CPU ms per step. The ref's
# tree is exported with git archive to $TMPDIR and built there (TrainStepRun copied in if it lacks it). Needs
# /usr/bin/python3 with torch. About (rounds × (3 + steps) × 3 processes × step time): ~15 min at the defaults on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
ref=${1:?usage: train-step-ab.sh REF [rounds] [steps] [threads]}
rounds=${2:-3}
steps=${3:-5}
threads=${4:-2}
java=$(ls -d /usr/lib/jvm/*25*/bin/java | head -1)
jvm=(--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow --add-modules=jdk.incubator.vector -Xmx6g
     -Dsegsam.cpu=fast -Dsegsam.threads="$threads")
old=${TMPDIR:-/tmp}/segsam-train-ab-$(git rev-parse --short "$ref")
if [ ! -f "$old/bench/target/benchmarks.jar" ]; then
  rm -rf "$old" && mkdir -p "$old"
  git archive "$ref" | tar -x -C "$old"
  for f in TrainStepRun TrainStepBench; do
    [ -f "$old/bench/src/main/java/dev/segsam/bench/$f.java" ] || cp "bench/src/main/java/dev/segsam/bench/$f.java" "$old/bench/src/main/java/dev/segsam/bench/"
  done
  (cd "$old" && ./mvnw -q -o -pl bench -am package -DskipTests)
fi
[ -f bench/target/benchmarks.jar ] || ./mvnw -q -o -pl bench -am package -DskipTests
new=${TMPDIR:-/tmp}/segsam-train-ab-worktree-$$.jar   # a copy: rebuilding during the run changes nothing
cp bench/target/benchmarks.jar "$new"
trap 'rm -f "$new"' EXIT
for r in $(seq 1 "$rounds"); do
  echo "round $r, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo -n "  new ($(git rev-parse --short HEAD)+wt): "; "$java" "${jvm[@]}" -cp "$new" dev.segsam.bench.TrainStepRun "$steps" 2 2>/dev/null | tail -1
  echo -n "  old ($ref): "; "$java" "${jvm[@]}" -cp "$old/bench/target/benchmarks.jar" dev.segsam.bench.TrainStepRun "$steps" 2 2>/dev/null | tail -1
  echo -n "  torch: "; /usr/bin/python3 tools/reference/train_step_torch.py --steps "$steps" --warmup 2 --threads "$threads" | tail -1
done

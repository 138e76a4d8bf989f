#!/usr/bin/env bash
# Whole-process comparison for docs/PERF.md: `./segsam predict` (the launcher's defaults: AOT cache, small heap) vs a
# small ONNX Runtime Java runner doing the same job (bench OrtRun: read the PNG, resize, normalise, encode, decode one
# box, threshold, write mask/overlay/JSON/safetensors), `./segsam predict` without its decoder warm-up, and with 4 boxes
# (with and without the AOT cache), interleaved, several rounds. Each run: wall time, user+sys CPU, peak RSS (/usr/bin/time), and segsam's stage timings
# (-Dsegsam.timing=true: load, encode, first decodes, write).
#
#   scripts/peer-process.sh [OUT_DIR]      ROUNDS=3 by default; ONNX_DIR as in perf-table.sh (default target/onnx)
#
# Inputs (written once into target/peer): the seeded ViT-B weights as safetensors and the 600×450 test image; the
# prompts file asks for the same box 4 times, so the first decodes of a fresh process show their warm-up.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$here/target/peer-$(date -u +%Y%m%dT%H%M%SZ)}"
onnx="${ONNX_DIR:-$here/target/onnx}"
peer="$here/target/peer"
mkdir -p "$out" "$peer"
. "$here/scripts/find-jdk.sh"
java="$SEGSAM_JAVA_HOME/bin/java"
if [ ! -f "$onnx/sam_vitb_encoder.onnx" ]; then
  echo "peer-process: no ONNX files in $onnx: run python3 tools/reference/export_onnx.py $onnx first" >&2
  exit 2
fi
echo "peer-process: building the benchmark jar and the CLI..." >&2
"$here/mvnw" -q -B -Dstyle.color=never -DskipTests -pl bench,cli -am package >"$out/build.log" 2>&1 || { tail -n 40 "$out/build.log" >&2; exit 2; }
"$java" --enable-native-access=ALL-UNNAMED --add-modules=jdk.incubator.vector -cp "$here/bench/target/benchmarks.jar" \
    dev.segsam.bench.PeerInputs "$peer" >/dev/null 2>&1
printf '[{"box": [150, 100, 420, 330]}, {"box": [150, 100, 420, 330]}, {"box": [150, 100, 420, 330]}, {"box": [150, 100, 420, 330]}]\n' > "$peer/prompts4.json"
# a copy of the jar (SEGSAM_JAR: never rebuilt), so that editing the sources during the rounds cannot make the launcher
# rebuild in the middle of a measurement (it did once)
cp "$here/cli/target/segsam.jar" "$out/segsam.jar"
export SEGSAM_JAR="$out/segsam.jar"
"$here/segsam" --version >/dev/null 2>&1 # the AOT cache for the copy, outside the timed runs
{
  echo "date: $(date -u)"; echo "host: $(uname -srm), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
  echo "commit: $(git -C "$here" rev-parse --short HEAD)$(git -C "$here" diff --quiet HEAD -- . 2>/dev/null || echo ' (+ uncommitted changes)')"
} > "$out/machine.txt"
run() { # name, command...
  local name=$1; shift
  rm -rf "$out/o-$name"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/$name.txt"
  /usr/bin/time -f "TIME wall %e s, cpu %U+%S s, maxrss %M KB" "$@" >> "$out/$name.txt" 2>&1 || echo "FAILED" >> "$out/$name.txt"
  grep -h "TIME\|segsam: timing\|OrtRun:" "$out/$name.txt" | tail -n 3 | sed "s/^/$name: /"
}
for r in $(seq 1 "${ROUNDS:-3}"); do
  echo "== round $r, load $(cut -d' ' -f1-3 /proc/loadavg)"
  SEGSAM_JVM_OPTS=-Dsegsam.timing=true run segsam "$here/segsam" predict --model "$peer/vitb.safetensors" --image "$peer/image.png" \
      --box 150,100,420,330 --out "$out/o-segsam" --quiet
  SEGSAM_JVM_OPTS=-Dsegsam.timing=true run segsam-nowarmup "$here/segsam" predict --model "$peer/vitb.safetensors" --image "$peer/image.png" \
      --box 150,100,420,330 --out "$out/o-segsam-nowarmup" --quiet --no-decoder-warmup
  run ort "$java" --enable-native-access=ALL-UNNAMED -cp "$here/bench/target/benchmarks.jar" dev.segsam.bench.OrtRun \
      --onnx "$onnx" --image "$peer/image.png" --box 150,100,420,330 --out "$out/o-ort"
  SEGSAM_JVM_OPTS=-Dsegsam.timing=true run segsam4 "$here/segsam" predict --model "$peer/vitb.safetensors" --image "$peer/image.png" \
      --prompts "$peer/prompts4.json" --out "$out/o-segsam4" --quiet
  SEGSAM_AOT=0 SEGSAM_JVM_OPTS=-Dsegsam.timing=true run segsam4-noaot "$here/segsam" predict --model "$peer/vitb.safetensors" \
      --image "$peer/image.png" --prompts "$peer/prompts4.json" --out "$out/o-segsam4-noaot" --quiet
done | tee "$out/summary.txt"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"
cat "$out/machine.txt"
echo "raw results: $out"

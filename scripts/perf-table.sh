#!/usr/bin/env bash
# The CPU performance table of docs/PERF.md in one command: JMH (segsam, fast and reference CPU backends), the
# ONNX Runtime peer (OrtBench: segsam and ORT on the same inputs, several rounds) and the PyTorch + OpenBLAS baselines
# back to back on this machine, then the side-by-side tables with the ratios.
#
#   scripts/perf-table.sh [OUT_DIR]        OUT_DIR defaults to target/perf-<date>; raw JMH JSON and PyTorch output stay there
#   QUICK=1 scripts/perf-table.sh          skip the reference backend's op benchmarks (saves ~3 minutes)
#   ONLY=ort scripts/perf-table.sh         only the segsam / ORT / PyTorch end-to-end comparison (~6 minutes per round)
#   ROUNDS=3 scripts/perf-table.sh         OrtBench rounds (default 2); the table shows the best and the median ratio
#   ONNX_DIR=...                           where export_onnx.py wrote the ONNX files (default target/onnx; generate
#                                          them once with: python3 tools/reference/export_onnx.py target/onnx)
#
# About 9 minutes on the 2-vCPU development VM (5 without the reference ops). Run it on a quiet machine: other
# processes' load shows up in both columns but not equally. PyTorch must load OpenBLAS (Debian: libopenblas0-pthread;
# bench_torch_ops.py prints the BLAS it loaded).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$here/target/perf-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"
py=/usr/bin/python3
. "$here/scripts/find-jdk.sh"
echo "perf-table: building the benchmark jar..." >&2
"$here/mvnw" -q -B -Dstyle.color=never -DskipTests -pl bench -am package >"$out/build.log" 2>&1 || { tail -n 40 "$out/build.log" >&2; exit 2; }
bench() {
  # -Djmh.ignoreLock: the machine may be shared with other JMH runs (/tmp/jmh.lock); the tables compare interleaved runs
  "$SEGSAM_JAVA_HOME/bin/java" -Djmh.ignoreLock=true --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
      --add-modules=jdk.incubator.vector -jar "$here/bench/target/benchmarks.jar" "$@" -rf json
}
cd "$out"
{
  echo "date: $(date -u)"; echo "host: $(uname -srm), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} > machine.txt
onnx="${ONNX_DIR:-$here/target/onnx}"
# segsam vs ONNX Runtime: each round runs encode, decode, decodeBoxes16 with both sides back to back (agreement
# checked in the first round's ORT set-up, see OrtBench)
if [ -f "$onnx/sam_vitb_encoder.onnx" ] && [ -f "$onnx/sam_vitb_decoder.onnx" ]; then
  for r in $(seq 1 "${ROUNDS:-2}"); do
    echo "load before OrtBench round $r: $(cut -d' ' -f1-3 /proc/loadavg)" >> machine.txt
    bench 'OrtBench' -p onnxDir="$onnx" -rff "ort-$r.json" | tee "ort-$r.log" | grep -E 'OrtBench agreement|^OrtBench' || true
  done
else
  echo "perf-table: skipping ONNX Runtime: no ONNX files in $onnx (python3 tools/reference/export_onnx.py $onnx makes them)" | tee -a machine.txt >&2
fi
if [ "${ONLY:-}" != ort ]; then
  # segsam: end to end, SGEMM 1024³, every op (fast, then reference with one short iteration)
  bench 'SamBench' -rff sam.json
  bench 'SgemmBench.fast$' -p shape=mm:1024x1024x1024 -rff sgemm.json
  bench 'CpuOpsBench' -p cpu=fast -wi 1 -i 3 -rff ops-fast.json
  if [ "${QUICK:-0}" != 1 ]; then
    bench 'CpuOpsBench' -p cpu=reference -wi 1 -i 1 -rff ops-reference.json
  fi
fi
# PyTorch + OpenBLAS: the same work
"$py" "$here/tools/reference/bench_sam_torch.py" > torch-sam.txt
if [ "${ONLY:-}" != ort ]; then
  "$py" "$here/tools/reference/bench_torch_ops.py" --only cases > torch-ops.txt
  "$py" "$here/tools/reference/bench_torch_ops.py" --only sgemm --shape mm:1024x1024x1024 --repeats 9 > torch-sgemm.txt
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> machine.txt
cat machine.txt
"$py" "$here/tools/reference/perf_table.py" "$out" | tee table.md
echo "raw results: $out"

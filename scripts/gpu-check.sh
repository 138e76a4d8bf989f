#!/usr/bin/env bash
# The GPU check for the CUDA backend: device facts, the committed fatbin against nvcc, every kernels test (GPU tests
# included), the JMH benchmarks (GpuGemmBench; issue 6: GpuAttentionBench, GpuDecodeBench), the PyTorch baselines on
# the same card (torch.matmul; SDPA / SAM decoder), one SEG-SAM training step (segsam CUDA vs PyTorch autograd on the
# card, issue 14 §2), then the summary tables.
# Meant for a GPU host without network: finishes within 8 minutes (each step gets a share of a 7.5-minute budget;
# a step that runs out of its share is cut and reported, the later steps still run).
#
#   scripts/gpu-check.sh [--bundle DIR|DIR.tar.xz] [--out DIR]
#
# --bundle: jars (and optionally a Java runtime) made by scripts/gpu-bundle.sh [--jre] on a machine with Maven
#           Central; without it the script builds with ./mvnw --offline (needs a JDK 25 and a filled ~/.m2).
# --out:    where logs, JUnit reports, jmh.json, torch.json and summary.md go (default $OUT if set, else
#           target/gpu-check). Run from anywhere; paths are relative to the repository root.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
start=$(date +%s)
deadline=$((start + 450))
bundle=""
out="${OUT:-$here/target/gpu-check}"
while [ $# -gt 0 ]; do
    case "$1" in
        --bundle) bundle="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        *) echo "usage: $0 [--bundle DIR|DIR.tar.xz] [--out DIR]" >&2; exit 2 ;;
    esac
done
mkdir -p "$out"
out="$(cd "$out" && pwd)"
left() { local l=$((deadline - $(date +%s))); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
say() { printf '\n== %s (t+%ds)\n' "$*" $(($(date +%s) - start)); }
status_tests="not run"; status_fatbin="not run"; status_jmh="not run"; status_torch="not run"

say "device"
nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total,clocks.max.sm --format=csv 2>&1 | tee "$out/nvidia-smi.csv"
nvcc --version 2>/dev/null | tail -n 2
echo "libcublas.so.12: $(ldconfig -p 2>/dev/null | grep -c 'libcublas\.so\.12') entries in the loader cache (JCublas2 needs it)"
python3 -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda)' 2>&1

# ---------------------------------------------------------------- Java and the jars
java=""
if [ -n "$bundle" ]; then
    if [ -f "$bundle" ]; then
        dir="$(mktemp -d -t segsam-bundle.XXXXXX)"
        python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$bundle" "$dir" || exit 2
        bundle="$(echo "$dir"/*)"
    fi
    bundle="$(cd "$bundle" && pwd)"
    [ -x "$bundle/jre/bin/java" ] && java="$bundle/jre/bin/java"
    echo "bundle: $bundle (commit $(cat "$bundle/COMMIT" 2>/dev/null), checkout $(git rev-parse HEAD 2>/dev/null))"
fi
if [ -z "$java" ]; then # find-jdk.sh exits when it finds nothing: ask it in a subshell
    jdk="$(. "$here/scripts/find-jdk.sh" >/dev/null 2>&1 && echo "$SEGSAM_JAVA_HOME")"
    [ -n "$jdk" ] && java="$jdk/bin/java"
fi
if [ -z "$java" ]; then
    for c in "$(command -v java 2>/dev/null)"; do [ -n "$c" ] && java="$c"; done
fi
[ -n "$java" ] || { echo "gpu-check: no Java 25 found: make a bundle with a runtime (scripts/gpu-bundle.sh --jre) and pass --bundle" >&2; exit 2; }
"$java" -version 2>&1 | head -n 1
jvm=(--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow --add-modules=jdk.incubator.vector)

# ---------------------------------------------------------------- the committed fatbin against this host's nvcc
if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
    say "fatbin vs nvcc"
    NVCC="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)" timeout "$(left 60)" kernels/build-fatbin.sh check 2>&1 | tail -n 3
    status_fatbin=$([ "${PIPESTATUS[0]}" = 0 ] && echo ok || echo FAILED)
fi

# ---------------------------------------------------------------- tests
say "kernels tests (GPU tests included)"
if [ -n "$bundle" ]; then
    cp=$(ls "$bundle"/lib/*.jar | tr '\n' ':')"$bundle/segsam-kernels-tests.jar"
    (cd kernels && timeout "$(left 170)" "$java" "${jvm[@]}" -Xmx16g -jar "$bundle"/junit-platform-console-standalone-*.jar execute \
        --class-path "$cp" --scan-class-path "$bundle/segsam-kernels-tests.jar" --exclude-tag emu --fail-if-no-tests \
        --reports-dir "$out/junit" --details summary --disable-banner) > "$out/tests.log" 2>&1
    rc=$?
else
    timeout "$(left 230)" ./mvnw -o -q -B -Dstyle.color=never -Pgpu -pl kernels -am test > "$out/tests.log" 2>&1
    rc=$?
fi
tail -n 25 "$out/tests.log"
status_tests=$([ $rc = 0 ] && echo passed || echo "FAILED (exit $rc, see tests.log)")
grep -hE "cuBLAS: " "$out/tests.log" "$out"/junit/*.xml 2>/dev/null | head -n 1

# ---------------------------------------------------------------- JMH
# One JMH run per benchmark class (its own time share); results merged into jmh.json for the summary.
say "JMH: GpuGemmBench, GpuAttentionBench, GpuDecodeBench"
modes="FP32,TF32"
ldconfig -p 2>/dev/null | grep -q 'libcublas\.so\.12' && modes="$modes,CUBLAS_FP32,CUBLAS_TF32"
if [ -z "$bundle" ]; then
    ./mvnw -o -q -B -Dstyle.color=never -DskipTests -pl bench -am package > "$out/jmh.log" 2>&1
fi
jmh() { # name seconds args...
    local name="$1" secs="$2"
    shift 2
    if [ -n "$bundle" ]; then
        timeout "$(left "$secs")" "$java" "${jvm[@]}" -cp "$bundle/lib/*" org.openjdk.jmh.Main "$@" -rf json -rff "$out/jmh-$name.json" \
            -foe false -jvm "$java" >> "$out/jmh.log" 2>&1
    else
        timeout "$(left "$secs")" "$java" "${jvm[@]}" -jar bench/target/benchmarks.jar "$@" -rf json -rff "$out/jmh-$name.json" \
            -foe false -jvm "$java" >> "$out/jmh.log" 2>&1
    fi
}
jmh gemm 100 GpuGemmBench -p "mode=$modes"; rc_gemm=$?
jmh attention 60 GpuAttentionBench -wi 1 -i 2; rc_attn=$?
jmh decode 60 GpuDecodeBench -p mode=FP32 -wi 1 -i 2; rc_dec=$?  # fp32 (the default product path): 6 forks
python3 - "$out" <<'PY'
import json, os, sys
out, merged = sys.argv[1], []
for n in ("gemm", "attention", "decode"):
    try:
        merged += json.load(open(os.path.join(out, f"jmh-{n}.json")))
    except (OSError, ValueError):
        pass
json.dump(merged, open(os.path.join(out, "jmh.json"), "w"), indent=1)
PY
grep -E "^Gpu(Gemm|Attention|Decode)Bench|^Benchmark" "$out/jmh.log" | tail -n 50
results=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$out/jmh.json" 2>/dev/null || echo 0)
status_jmh="gemm exit $rc_gemm, attention exit $rc_attn, decode exit $rc_dec; $results results"
[ $rc_gemm = 0 ] && [ $rc_attn = 0 ] && [ $rc_dec = 0 ] && [ "$results" -gt 0 ] && status_jmh="ok ($results results)"

# ---------------------------------------------------------------- PyTorch
say "PyTorch baseline (torch.matmul, CUDA events)"
timeout "$(left 45)" python3 tools/reference/bench_torch_gemm_gpu.py --json "$out/torch.json" 2>&1 | tee "$out/torch.log"
status_torch=$([ "${PIPESTATUS[0]}" = 0 ] && echo "gemm ok" || echo "gemm FAILED")
say "PyTorch baseline for issue 6 (SDPA with SAM's rel-pos, SAM decoder, postprocess_masks)"
timeout "$(left 60)" python3 tools/reference/bench_torch_attention_gpu.py --json "$out/torch_attention.json" 2>&1 | tee "$out/torch_attention.log"
status_torch="$status_torch, attention $([ "${PIPESTATUS[0]}" = 0 ] && echo ok || echo FAILED)"

# ---------------------------------------------------------------- training step (issue 14 §2)
# One SEG-SAM training step at ViT-B decoder sizes (5 box targets, K = 12, all four losses, forward + backward):
# segsam's TrainStepRun on the CUDA backend vs tools/reference/train_step_torch.py --device cuda, same card, medians.
say "training step: segsam CUDA vs PyTorch autograd on the same card"
if [ -n "$bundle" ]; then tcp="$bundle/lib/*"; else tcp="bench/target/benchmarks.jar"; fi
timeout "$(left 60)" "$java" "${jvm[@]}" -Xmx8g -Dsegsam.device=cuda -cp "$tcp" dev.segsam.bench.TrainStepRun 5 2 12 > "$out/train_step.log" 2>&1
rc_ts=$?
timeout "$(left 45)" python3 tools/reference/train_step_torch.py --device cuda --steps 5 --warmup 2 --classes 12 >> "$out/train_step.log" 2>&1
rc_tt=$?
grep -E "^(segsam|torch) " "$out/train_step.log"
status_train="segsam exit $rc_ts, torch exit $rc_tt"

# ---------------------------------------------------------------- the table
say "summary"
{
    echo "GPU check $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null), $(head -n 2 "$out/nvidia-smi.csv" | tail -n 1)"
    echo "tests: $status_tests; fatbin vs nvcc: $status_fatbin; JMH: $status_jmh; PyTorch: $status_torch; training step: ${status_train:-not run}; $(($(date +%s) - start)) s"
    grep -hE "^(segsam|torch) " "$out/train_step.log" 2>/dev/null | sed 's/^/training step: /'
    [ -f "$out/jmh.json" ] && python3 tools/reference/gpu_summary.py "$out/jmh.json" "$out/torch.json" "$out/torch_attention.json"
} 2>&1 | tee "$out/summary.md"
[ "$status_tests" = passed ]

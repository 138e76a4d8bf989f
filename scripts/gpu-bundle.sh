#!/usr/bin/env bash
# Prepares what scripts/gpu-check.sh needs on a GPU host without network (and possibly without a JDK): the jars of
# core-tensor, kernels and bench (GpuGemmBench) with their runtime and test dependencies, the kernels' test classes,
# the JUnit console launcher, and with --jre a jlink'ed Java 25 runtime. Run it where Maven Central is reachable:
#
#   scripts/gpu-bundle.sh [--jre] [DIR]     → DIR/ (default gpu-bundle/, git-ignored) and DIR.tar.xz
#   scripts/gpu-check.sh --bundle DIR.tar.xz   on the GPU host (the repository checkout beside it)
#
# Sizes: ~10 MB of jars (JCuda's natives jar is repacked without the 24 MB NvPTXCompiler library, which segsam never
# uses), ~25 MB more with --jre; the .tar.xz is what fits next to the repository in a 64 MiB device upload.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$here/scripts/find-jdk.sh"
jre=0
out="$here/gpu-bundle"
for a in "$@"; do
    case "$a" in
        --jre) jre=1 ;;
        -*) echo "usage: $0 [--jre] [DIR]" >&2; exit 2 ;;
        *) mkdir -p "$a"; out="$(cd "$a" && pwd)" ;;
    esac
done
rm -rf "$out" "$out.tar.xz"
mkdir -p "$out/lib"
log="$(mktemp -t segsam-bundle.XXXXXX)"
cd "$here"
fail() { tail -n 40 "$log" >&2; echo "gpu-bundle: $1 failed (log: $log)" >&2; exit 2; }
./mvnw -q -B -Dstyle.color=never -DskipTests -pl kernels,bench -am package dependency:copy-dependencies \
    -DincludeScope=test -DoutputDirectory="$out/lib" >"$log" 2>&1 || fail "the build"
./mvnw -q -B -Dstyle.color=never dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.4 \
    -DoutputDirectory="$out" >"$log" 2>&1 || fail "fetching the JUnit console"
rm -f "$log"
cp kernels/target/segsam-kernels-0.1.0-SNAPSHOT.jar bench/target/segsam-bench-0.1.0-SNAPSHOT.jar "$out/lib/"
"$SEGSAM_JAVA_HOME/bin/jar" cf "$out/segsam-kernels-tests.jar" -C kernels/target/test-classes .
# not needed on the GPU host: JUnit (the console launcher has its own). The io/model modules and their libraries stay:
# the kernels' model-level GPU tests (SamCudaGpuTest, TrainingRunCudaGpuTest) and the training-step run use them.
rm -f "$out"/lib/junit-*.jar "$out"/lib/opentest4j-*.jar "$out"/lib/apiguardian-*.jar
python3 - "$out"/lib/jcuda-natives-*.jar <<'PY'
import sys, zipfile, os
src = sys.argv[1]; tmp = src + ".tmp"
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
    for item in zin.infolist():
        if "NvPTXCompiler" not in item.filename and "JNvrtc" not in item.filename:
            zout.writestr(item, zin.read(item.filename))
os.replace(tmp, src)
PY
if [ "$jre" = 1 ]; then
    "$SEGSAM_JAVA_HOME/bin/jlink" --add-modules java.base,java.logging,java.management,java.xml,java.sql,jdk.incubator.vector,jdk.unsupported,jdk.zipfs \
        --strip-debug --no-man-pages --no-header-files --compress=zip-9 --output "$out/jre" 2>&1 | grep -v "incubator modules" || true
fi
git -C "$here" rev-parse HEAD > "$out/COMMIT"
tar -C "$(dirname "$out")" -cJf "$out.tar.xz" "$(basename "$out")"
echo "gpu-bundle: $out ($(du -sh "$out" | cut -f1)) and $out.tar.xz ($(du -h "$out.tar.xz" | cut -f1)), commit $(cut -c1-12 "$out/COMMIT")"

#!/usr/bin/env bash
# A/B of SAM ViT-B encode and decode between a git revision and the working tree, interleaved in one JVM
# (tools/ab/Ab.java): for a shared machine, where separate runs see different load. Ratios of per-pair CPU time
# are the number to read.
#   scripts/ab-sam.sh BASE_REV [ENCODES=8] [DECODE_SAMPLES=40]
# AB_MODEL=segsam: the ViT-B SAM made a SEG-SAM (tools/ab/Bench.java). MVN_FLAGS (e.g. -o) go to both builds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$here/scripts/find-jdk.sh"
rev="${1:?usage: scripts/ab-sam.sh BASE_REV [ENCODES] [DECODE_SAMPLES]}"
work="$(mktemp -d -t segsam-ab.XXXXXX)"
git -C "$here" archive "$rev" | tar -x -C "$work" && mkdir -p "$work/ab"
echo "ab: building $rev and the working tree (bench jars)" >&2
(cd "$work" && ./mvnw -q -B ${MVN_FLAGS:-} -DskipTests -pl bench -am package) >"$work/build-a.log" 2>&1 || { tail -n 30 "$work/build-a.log" >&2; exit 2; }
"$here/mvnw" -q -B ${MVN_FLAGS:-} -DskipTests -pl bench -am package >"$work/build-b.log" 2>&1 || { tail -n 30 "$work/build-b.log" >&2; exit 2; }
cp "$here/bench/target/benchmarks.jar" "$work/b.jar"
"$SEGSAM_JAVA_HOME/bin/javac" -d "$work/ab" -cp "$work/b.jar" "$here/tools/ab/Bench.java" "$here/tools/ab/Ab.java"
exec "$SEGSAM_JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
  --add-modules=jdk.incubator.vector -Xmx8g -Dab.model="${AB_MODEL:-sam}" -cp "$work/ab" Ab "$work/bench/target/benchmarks.jar" "$work/b.jar" \
  "${2:-8}" "${3:-40}" "$work/ab"

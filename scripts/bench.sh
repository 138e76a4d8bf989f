#!/usr/bin/env bash
# Builds the JMH benchmark jar and runs it with a JDK >= 25.
#   scripts/bench.sh                       all benchmarks, default iterations
#   scripts/bench.sh 'matmulSquare' -p n=256 -f 1 -wi 1 -i 1     any JMH arguments (java -jar benchmarks.jar -h)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$here/scripts/find-jdk.sh"
log="$(mktemp -t segsam-bench-build.XXXXXX)"
"$here/mvnw" -q -B -Dstyle.color=never -DskipTests -pl bench -am package >"$log" 2>&1 || { tail -n 40 "$log" >&2; echo "bench: build failed, log: $log" >&2; exit 2; }
rm -f "$log"
exec "$SEGSAM_JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow --add-modules=jdk.incubator.vector -jar "$here/bench/target/benchmarks.jar" "$@"

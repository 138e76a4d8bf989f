#!/usr/bin/env bash
# `segsam spark predict|embed ...`: the Spark jobs of the spark module, embedded (the driver JVM runs the tasks on
# local[N] threads; default local[*], or --master / SEGSAM_SPARK_MASTER). Builds spark/target/segsam-spark.jar and
# spark/target/classpath.txt (Spark 4.2 from Maven Central, ~200 MB in ~/.m2) on first use or when sources are newer.
# On a cluster use spark-submit instead (docs/DISTRIBUTED.md).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$here/scripts/find-jdk.sh"
jar="$here/spark/target/segsam-spark.jar"
cp_file="$here/spark/target/classpath.txt"
stale=0
if [ "${SEGSAM_SPARK_BUILD:-auto}" = never ]; then
  :   # measurements: run the jar as built, even while its sources are being edited
elif [ ! -f "$jar" ] || [ ! -f "$cp_file" ]; then
  stale=1
elif [ -n "$(find "$here" -path "$here/*/target" -prune -o \( -name '*.java' -o -name 'pom.xml' -o -path '*/src/main/resources/*' \) -newer "$jar" -print -quit 2>/dev/null)" ]; then
  stale=1
fi
if [ "$stale" = 1 ]; then
  echo "segsam spark: building the Spark jobs (one-time; the first build fetches Spark from Maven Central)..." >&2
  log="$(mktemp -t segsam-spark-build.XXXXXX)"
  if ! "$here/mvnw" -q -B -DskipTests -pl spark -am package >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "segsam spark: build failed; full log: $log" >&2
    exit 2
  fi
  rm -f "$log"
fi
java="$SEGSAM_JAVA_HOME/bin/java"
# the Vector API and native access (as for segsam), plus what Spark's own launcher gives every driver/executor JVM
opts=(--enable-native-access=ALL-UNNAMED --add-modules=jdk.incubator.vector
  -XX:+IgnoreUnrecognizedVMOptions --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED
  --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED
  -Dio.netty.tryReflectionSetAccessible=true --sun-misc-unsafe-memory-access=allow
  "-Xmx${SEGSAM_HEAP:-3g}" "-Dsegsam.spark.master=${SEGSAM_SPARK_MASTER:-local[*]}"
  -Dlog4j2.configurationFile=dev/segsam/spark/log4j2-embedded.properties)
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
# shellcheck disable=SC2086
exec "$java" "${opts[@]}" ${SEGSAM_JVM_OPTS:-} -cp "$jar:$(cat "$cp_file")" dev.segsam.spark.SparkMain "$@"

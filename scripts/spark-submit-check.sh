#!/usr/bin/env bash
# Runs `segsam spark predict` the way a cluster runs it: through Spark's own launcher (what bin/spark-submit execs,
# org.apache.spark.launcher.Main → SparkSubmit) with segsam's jars given as --jars / application jar, against a
# SPARK_HOME assembled from the Maven Central jars with Spark's own Jackson (2.21, as in spark-4.2.0-bin-hadoop3)
# instead of the project's 2.23 — there is no Spark distribution on Maven Central. Master local[2] by default.
# Usage: scripts/spark-submit-check.sh [MASTER]        (needs ./mvnw -pl spark -am package, which ./segsam spark does)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$here/scripts/find-jdk.sh"
master="${1:-local[2]}"
work="$(mktemp -d -t segsam-submit.XXXXXX)"
trap 'rm -rf "$work"' EXIT
home="$work/spark-home"; mkdir -p "$home/jars" "$home/conf"
m2="$HOME/.m2/repository/com/fasterxml/jackson"
for j in $(tr ':' '\n' < "$here/spark/target/classpath.txt" | grep -v "$here"); do
  case "$(basename "$j")" in   # Spark 4.2.0's own Jackson family instead of the BOM-aligned 2.23
    jackson-databind-2.23.0.jar) j="$m2/core/jackson-databind/2.21.2/jackson-databind-2.21.2.jar" ;;
    jackson-core-2.23.0.jar) j="$m2/core/jackson-core/2.21.2/jackson-core-2.21.2.jar" ;;
    jackson-annotations-2.23.jar) j="$m2/core/jackson-annotations/2.21/jackson-annotations-2.21.jar" ;;
    jackson-module-scala_2.13-2.23.0.jar) j="$m2/module/jackson-module-scala_2.13/2.21.2/jackson-module-scala_2.13-2.21.2.jar" ;;
    jackson-dataformat-yaml-2.23.0.jar) j="$m2/dataformat/jackson-dataformat-yaml/2.21.2/jackson-dataformat-yaml-2.21.2.jar" ;;
    jackson-datatype-jsr310-2.23.0.jar) j="$m2/datatype/jackson-datatype-jsr310/2.21.2/jackson-datatype-jsr310-2.21.2.jar" ;;
    picocli-*|commons-compress-*|jcuda*|segsam-*) continue ;;   # segsam's side: in cli/target/segsam.jar
  esac
  [ -f "$j" ] || { echo "missing $j" >&2; exit 1; }
  ln -sf "$j" "$home/jars/"
done
echo "Spark 4.2.0 assembled from Maven Central jars" > "$home/RELEASE"   # a distribution: jars/ is the class path
cp "$here/spark/src/main/resources/dev/segsam/spark/log4j2-embedded.properties" "$home/conf/log4j2.properties"
( cd "$work" && unzip -q -o "$here/cli/target/segsam.jar" 'dev/segsam/cli/demo/*' )
demo="$work/dev/segsam/cli/demo"
prompts="$(tr -d '\n ' < "$demo/prompts.json" | sed 's/"/""/g')"
{ echo "id,image,prompts"; for i in 1 2 3; do echo "item$i,$demo/sample.png,\"$prompts\""; done; echo "lost,$work/lost.png,\"$prompts\""; } > "$work/items.csv"
export SPARK_HOME="$home" SPARK_SCALA_VERSION=2.13 SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}" JAVA_HOME="$SEGSAM_JAVA_HOME"
mapfile -t cmd < <("$SEGSAM_JAVA_HOME/bin/java" -cp "$home/jars/*" org.apache.spark.launcher.Main org.apache.spark.deploy.SparkSubmit \
  --master "$master" --conf spark.ui.enabled=false \
  --conf spark.driver.extraJavaOptions=--enable-native-access=ALL-UNNAMED --conf spark.executor.extraJavaOptions=--enable-native-access=ALL-UNNAMED \
  --class dev.segsam.spark.SparkMain --jars "$here/cli/target/segsam.jar" "$here/spark/target/segsam-spark.jar" \
  predict --manifest "$work/items.csv" --model "$demo/segsam-demo.safetensors" --out "$work/out" --files --threads 1 | tr '\0' '\n' | grep -v '^\s*$')
"${cmd[@]}"
echo "jackson on the class path: $(ls "$home/jars" | grep jackson-databind)"
ls "$work/out/files"

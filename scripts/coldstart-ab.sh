#!/usr/bin/env bash
# Cold-start A/B for docs/PERF.md ("cold start", issue 16 §4): fresh `segsam predict` processes on the seeded ViT-B
# weights with 4 identical boxes, several launcher/CLI variants interleaved, several rounds. Each run: wall time,
# user+sys CPU and peak RSS (/usr/bin/time), segsam's stage timings (-Dsegsam.timing=true) with the four decode
# times; at the end, per variant, the medians and the first/fourth decode ratio (the same process's decodes 1 and 4).
#
#   scripts/coldstart-ab.sh [OUT_DIR]     ROUNDS=3; BUILD=0 skips the build; VARIANTS overrides the list below (one "name|ENV=v ...|predict
#                                         args|JVM options" per line); the jar is a copy in OUT_DIR (SEGSAM_JAR), so
#                                         a rebuild during the run changes nothing, and its AOT cache is made before
#                                         timing. Two builds: a variant "before|SEGSAM_JAR=/tmp/before.jar|" runs another
#                                         jar (make its AOT cache first: SEGSAM_JAR=/tmp/before.jar ./segsam --version).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$here/target/coldstart-$(date -u +%Y%m%dT%H%M%SZ)}"
peer="$here/target/peer"
mkdir -p "$out" "$peer"
. "$here/scripts/find-jdk.sh"
java="$SEGSAM_JAVA_HOME/bin/java"
default_variants='default||
no-warmup||--no-decoder-warmup
no-aot|SEGSAM_AOT=0|
no-aot-no-warmup|SEGSAM_AOT=0|--no-decoder-warmup'
variants="${VARIANTS:-$default_variants}"
if [ "${BUILD:-1}" != 0 ]; then # BUILD=0: measure the jars already built
  echo "coldstart-ab: building the benchmark jar and the CLI..." >&2
  "$here/mvnw" -q -B -Dstyle.color=never -DskipTests -pl bench,cli -am package >"$out/build.log" 2>&1 || { tail -n 40 "$out/build.log" >&2; exit 2; }
fi
[ -f "$peer/vitb.safetensors" ] || "$java" --enable-native-access=ALL-UNNAMED --add-modules=jdk.incubator.vector \
    -cp "$here/bench/target/benchmarks.jar" dev.segsam.bench.PeerInputs "$peer" >/dev/null 2>&1
printf '[{"box": [150, 100, 420, 330]}, {"box": [150, 100, 420, 330]}, {"box": [150, 100, 420, 330]}, {"box": [150, 100, 420, 330]}]\n' > "$peer/prompts4.json"
cp "$here/cli/target/segsam.jar" "$out/segsam.jar"
export SEGSAM_JAR="$out/segsam.jar"
"$here/segsam" --version >/dev/null 2>&1 # the AOT cache for the copy, outside the timed runs
{
  echo "date: $(date -u)"; echo "host: $(uname -srm), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
  echo "commit: $(git -C "$here" rev-parse --short HEAD)$(git -C "$here" diff --quiet HEAD -- . 2>/dev/null || echo ' (+ uncommitted changes)')"
} > "$out/machine.txt"
for r in $(seq 1 "${ROUNDS:-3}"); do
  while IFS='|' read -r name envs args jvm; do
    [ -n "$name" ] || continue
    rm -rf "$out/o-$name"
    load="$(cut -d' ' -f1 /proc/loadavg)"
    # shellcheck disable=SC2086
    res="$(env $envs SEGSAM_JVM_OPTS="-Dsegsam.timing=true ${jvm:-} ${SEGSAM_JVM_OPTS:-}" /usr/bin/time -f "TIME wall %e cpu %U %S rss %M" \
        "$here/segsam" predict --model "$peer/vitb.safetensors" --image "$peer/image.png" --prompts "$peer/prompts4.json" \
        --out "$out/o-$name" --quiet $args 2>&1 | tee -a "$out/$name.log" | grep "^TIME\|segsam: timing" | sed 's/segsam: timing: //' | tr '\n' ' ' || true)"
    echo "round $r | $name | load $load | $res"
  done <<< "$variants"
done | tee "$out/runs.txt"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"
# per variant: medians of wall, CPU (user+sys), peak RSS, decodes 1..4, and of the per-run ratio decode 1 / decode 4
awk -F' [|] ' '
  function med(s,   a, n, i, j, t) { n = split(s, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
                                     return n == 0 ? "-" : (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2) }
  { name = $2; line = $4
    if (!(name in seen)) { seen[name] = 1; order[++k] = name }
    if (match(line, /TIME wall [0-9.]+ cpu [0-9.]+ [0-9.]+ rss [0-9]+/)) { split(substr(line, RSTART, RLENGTH), t, " ")
      wall[name] = wall[name] " " t[3]; cpu[name] = cpu[name] " " (t[5] + t[6]); rss[name] = rss[name] " " t[8] / 1048576 }
    if (match(line, /process CPU ms: JVM start to load [0-9]+, load [0-9]+, encode [0-9]+, decode and write [0-9]+/)) {
      split(substr(line, RSTART, RLENGTH), c, /[^0-9]+/); ccpu[name] = ccpu[name] " " c[4] / 1000; dcpu[name] = dcpu[name] " " c[5] / 1000 }
    if (match(line, /decode and write [0-9]+, decodes \[[0-9, ]+\]/)) { s = substr(line, RSTART, RLENGTH); sub(/.*\[/, "", s); sub(/\]/, "", s)
      n = split(s, d, ", "); if (n >= 4 && d[4] > 0) cratio[name] = cratio[name] " " d[1] / d[4]
      for (i = 1; i <= 4 && i <= n; i++) cdec[name, i] = cdec[name, i] " " d[i] }
    if (match(line, /decode ms \[[0-9., ]+\]/)) { s = substr(line, RSTART + 11, RLENGTH - 12); n = split(s, d, ", ")
      for (i = 1; i <= 4 && i <= n; i++) dec[name, i] = dec[name, i] " " d[i]
      if (n >= 4 && d[4] > 0) ratio[name] = ratio[name] " " d[1] / d[4] }
  }
  END { printf "%-22s %8s %8s %12s %14s %8s %28s %10s %28s %10s  (medians over rounds)\n", "variant", "wall s", "cpu s", "encode cpu s",
               "dec+write cpu", "rss GB", "decodes 1, 2, 3, 4 ms", "d1/d4", "decode CPU 1, 2, 3, 4 ms", "cpu d1/d4"
        for (i = 1; i <= k; i++) { n = order[i]
          printf "%-22s %8s %8s %12s %14s %8.2f %28s %10.2f %28s %10.2f\n", n, med(wall[n]), med(cpu[n]), med(ccpu[n]), med(dcpu[n]), med(rss[n]),
                 sprintf("%.0f, %.0f, %.0f, %.0f", med(dec[n, 1]), med(dec[n, 2]), med(dec[n, 3]), med(dec[n, 4])), med(ratio[n]),
                 sprintf("%.0f, %.0f, %.0f, %.0f", med(cdec[n, 1]), med(cdec[n, 2]), med(cdec[n, 3]), med(cdec[n, 4])), med(cratio[n]) } }
' "$out/runs.txt" | tee "$out/summary.txt"
cat "$out/machine.txt"
echo "raw results: $out"

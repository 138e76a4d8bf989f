#!/usr/bin/env bash
# Coverage-guided fuzzing of segsam's parsers of untrusted files with Jazzer (libFuzzer for the JVM).
#
#   scripts/fuzz.sh TARGET [MINUTES]      fuzz one target (default 5 minutes)
#   scripts/fuzz.sh all [MINUTES]         every target in turn, MINUTES each
#   scripts/fuzz.sh list                  the targets
#
# Targets (io/src/test/java/dev/segsam/io/fuzz): safetensors, pth, pickle, nifti, nifti-gz, dicom, dicom-deflated, image;
# (cli/src/test/java/dev/segsam/cli/fuzz): prompts (predict --prompts JSON), config (train --config JSON).
# The fuzz JVM runs with a small heap (FUZZ_HEAP, default 384m) and libFuzzer's RSS limit (FUZZ_RSS_MB, default
# 1536): an OutOfMemoryError or a process past the RSS limit is a finding, like an unexpected exception (the
# invariant is in Invariant.java). Findings are written to
# <module>/src/test/resources/dev/segsam/<module>/fuzz/<Class>Inputs/<method>/{crash,oom,timeout}-<sha1>, where ./mvnw test
# replays them; fix the cause, keep the file, and record the finding in docs/FUZZING.md. The growing corpus stays
# in <module>/.cifuzz-corpus/ (ignored by git). Extra libFuzzer flags: FUZZ_ARGS="-jobs=1 -max_len=8192".
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

declare -A TARGETS=(
  [safetensors]=SafeTensorsFuzzTest#safetensors
  [pth]=PthFuzzTest#archive
  [pickle]=PthFuzzTest#pickle
  [nifti]=NiftiFuzzTest#nifti
  [nifti-gz]=NiftiFuzzTest#niftiGzip
  [dicom]=DicomFuzzTest#dicom
  [dicom-deflated]=DicomFuzzTest#dicomDeflated
  [image]=ImageFuzzTest#image
  [prompts]=cli:PromptFuzzTest#prompts
  [config]=cli:ConfigFuzzTest#config
)
ORDER=(safetensors pth pickle nifti nifti-gz dicom dicom-deflated image prompts config)

target="${1:-}"
minutes="${2:-5}"
if [ -z "$target" ] || [ "$target" = list ] || [ "$target" = -h ] || [ "$target" = --help ]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit 0
fi
[[ "$minutes" =~ ^[0-9]+$ ]] && [ "$minutes" -ge 1 ] || { echo "fuzz.sh: MINUTES must be a whole number >= 1, got '$minutes'" >&2; exit 2; }

fuzz_one() {
  local name="$1" test="${TARGETS[$1]}" secs=$(( minutes * 60 )) log module=io
  if [[ "$test" == *:* ]]; then module="${test%%:*}"; test="${test#*:}"; fi
  local dir="$module/src/test/resources/dev/segsam/$module/fuzz/${test%%#*}Inputs/${test##*#}"
  local before; before=$(ls "$dir" 2>/dev/null | grep -cE '^(crash|oom|timeout|slow-unit)-' || true)
  log="$(mktemp -t "segsam-fuzz-$name.XXXXXX.log")"
  echo "fuzz.sh: $name ($test) for $minutes min, heap ${FUZZ_HEAP:-384m}, RSS limit ${FUZZ_RSS_MB:-1536} MB; log $log" >&2
  local args=(-Djazzer.hooks=true -Djazzer.internal.arg.0=fuzz "-Djazzer.internal.arg.1=-max_total_time=$secs"
              "-Djazzer.internal.arg.2=-rss_limit_mb=${FUZZ_RSS_MB:-1536}")
  local i=3
  for a in ${FUZZ_ARGS:-}; do args+=("-Djazzer.internal.arg.$i=$a"); i=$((i + 1)); done
  local rc=0
  JAZZER_FUZZ=1 ./mvnw -B -pl "$module" -am test -Dtest="$test" -Dsurefire.failIfNoSpecifiedTests=false \
    -Dsegsam.test.heap="${FUZZ_HEAP:-384m}" "${args[@]}" >"$log" 2>&1 || rc=$?
  grep -E '^#[0-9]+ +(DONE|pulse)|cov: .* exec/s' "$log" | tail -n 1 >&2 || true
  local after; after=$(ls "$dir" 2>/dev/null | grep -cE '^(crash|oom|timeout|slow-unit)-' || true)
  if [ "$rc" != 0 ] || [ "$after" != "$before" ]; then
    echo "fuzz.sh: $name: FINDING (exit $rc; $((after - before)) new input(s) in $dir)" >&2
    grep -E 'FuzzTestFinding|Exception|Error|out-of-memory|Test unit written' "$log" | grep -v '^\s*at ' | head -n 15 >&2 || true
    return 1
  fi
  echo "fuzz.sh: $name: no finding" >&2
}

status=0
if [ "$target" = all ]; then
  for t in "${ORDER[@]}"; do fuzz_one "$t" || status=1; done
elif [ -n "${TARGETS[$target]:-}" ]; then
  fuzz_one "$target" || status=1
else
  echo "fuzz.sh: unknown target '$target'; one of: ${ORDER[*]} all" >&2
  exit 2
fi
exit $status

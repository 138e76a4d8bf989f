#!/usr/bin/env bash
# Builds the CUDA kernels (src/main/cuda/segsam.cu) into the fatbin the jar ships, and keeps the committed copy honest.
#
#   kernels/build-fatbin.sh [--check]  (default): compile into target/cuda, fail unless the committed
#                                      src/main/resources/dev/segsam/kernels/segsam.fatbin.gz decompresses to
#                                      byte-identical contents
#   kernels/build-fatbin.sh --update   compile, gzip the fatbin into src/main/resources and copy its stamp (commit both)
#
# The fatbin is committed gzip-compressed (5.8 MB → 1.1 MB per version in the history); the Maven build decompresses
# it into the classes (kernels/pom.xml), so the jar holds the plain fatbin as before and loading it costs nothing extra
# (docs/kernels-cuda.md, "Compiled kernels"). The stamp records the SHA-256 of the uncompressed fatbin.
#
# Maven runs the check before the tests wherever /usr/local/cuda/bin/nvcc exists (profile "nvcc" in kernels/pom.xml;
# -Dsegsam.fatbin.mode=update regenerates, for the jar of the next build). Machines without nvcc use the committed fatbin; there,
# KernelSourceTest checks the stamp (SHA-256 of every CUDA source, the nvcc flags and the fatbin) against the sources,
# so an edited kernel with a stale fatbin fails the tests everywhere, with or without nvcc.
#
# nvcc output is deterministic given -frandom-seed (checked: identical bytes from different directories), so the
# byte comparison is exact. It is skipped, with a warning, when the local nvcc is another release than the one
# recorded in the stamp (then only the source hashes are checked).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

mode=${1:-check}
mode=${mode#--}
NVCC=${NVCC:-/usr/local/cuda/bin/nvcc}
FLAGS="-fatbin -gencode arch=compute_80,code=[sm_80,compute_80] -gencode arch=compute_90,code=sm_90 --no-compress -frandom-seed=1"
res=src/main/resources/dev/segsam/kernels
out=target/cuda
mkdir -p "$out"

version=$("$NVCC" --version | grep -o 'release [0-9.]*, V[0-9.]*')
sources=$(cd . && sha256sum src/main/cuda/*.cu src/main/cuda/*.cuh | LC_ALL=C sort -k2)

# the fresh build is reused while sources, flags and compiler are unchanged
key=$(printf '%s\n%s\n%s\n' "$version" "$FLAGS" "$sources" | sha256sum | cut -c1-64)
if [[ ! -f $out/segsam.fatbin || "$(cat "$out/key" 2>/dev/null)" != "$key" ]]; then
    echo "build-fatbin: nvcc $version: compiling src/main/cuda/segsam.cu"
    # shellcheck disable=SC2086
    "$NVCC" $FLAGS -Xptxas -v -o "$out/segsam.fatbin" src/main/cuda/segsam.cu 2> "$out/resource-usage.txt" \
        || { cat "$out/resource-usage.txt" >&2; exit 1; }
    if grep -E 'bytes spill (stores|loads)' "$out/resource-usage.txt" | grep -qv ' 0 bytes spill stores, 0 bytes spill loads'; then
        echo "build-fatbin: WARNING: ptxas reports register spills (see $out/resource-usage.txt)" >&2
    fi
    echo "$key" > "$out/key"
fi

stamp() {
    echo "# segsam.fatbin is built from exactly these inputs by kernels/build-fatbin.sh; KernelSourceTest checks them."
    echo "nvcc: $version"
    echo "flags: $FLAGS"
    echo "fatbin: $(sha256sum "$out/segsam.fatbin" | cut -c1-64)"
    echo "$sources"
}
stamp > "$out/segsam.fatbin.sha256"

case "$mode" in
    update)
        mkdir -p "$res"
        gzip -9 -n -c "$out/segsam.fatbin" > "$res/segsam.fatbin.gz"
        rm -f "$res/segsam.fatbin" # the uncompressed form of earlier versions
        cp "$out/segsam.fatbin.sha256" "$res/segsam.fatbin.sha256"
        echo "build-fatbin: updated $res/segsam.fatbin.gz ($(wc -c < "$out/segsam.fatbin") bytes, $(wc -c < "$res/segsam.fatbin.gz") compressed) and its stamp: commit both"
        ;;
    check)
        committed_version=$(sed -n 's/^nvcc: //p' "$res/segsam.fatbin.sha256" 2>/dev/null || true)
        if [[ "$committed_version" != "$version" ]]; then
            echo "build-fatbin: WARNING: the committed fatbin was built by nvcc '$committed_version', this is '$version':" \
                 "bytes not compared (KernelSourceTest still checks the source hashes)" >&2
        elif ! gzip -dc "$res/segsam.fatbin.gz" 2>/dev/null | cmp -s "$out/segsam.fatbin" - \
                || ! cmp -s "$out/segsam.fatbin.sha256" "$res/segsam.fatbin.sha256"; then
            echo "build-fatbin: the committed $res/segsam.fatbin.gz is stale (a fresh nvcc build differs)." >&2
            echo "  Regenerate and commit it: kernels/build-fatbin.sh --update   (or ./mvnw ... -Dsegsam.fatbin.mode=update)" >&2
            exit 1
        else
            echo "build-fatbin: committed fatbin matches a fresh build"
        fi
        ;;
    *) echo "usage: $0 [check|update]" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# segsam serve's prompt -> mask round trip with the image embedding cached (docs/PERF.md, "segsam serve"): starts
# `./segsam serve` on a free port (or uses the server at $1), uploads the embedded demo slice, encodes it once, warms
# up, then times N box prompts over HTTP with curl (request to last byte of the JSON answer with the mask and label-map
# PNGs) and prints the median, 90th percentile and the server's own decoder time.
# Usage: scripts/serve-latency.sh [URL] [N=50]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
url="${1:-}"
n="${2:-50}"
log=""
if [ -z "$url" ]; then
  log="$(mktemp -t segsam-serve.XXXXXX)"
  "$here/segsam" serve --port 0 >"$log" 2>&1 &
  pid=$!
  trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
  for _ in $(seq 1 600); do
    url="$(grep -o 'http://[^ ]*' "$log" || true)"
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.5
  done
  [ -n "$url" ] || { echo "serve-latency: the server did not start" >&2; exit 1; }
fi
url="${url%/}"
id="$(curl -sf -X POST "$url/api/images/demo" | sed -E 's/.*"id":"([a-z0-9]+)".*/\1/')"
t0=$(date +%s%N)
until curl -sf -X POST "$url/api/images/$id/encode" | grep -q '"state":"ready"'; do sleep 0.05; done
echo "encode (upload to ready, polled every 50 ms): $(( ($(date +%s%N) - t0) / 1000000 )) ms"

times="$(mktemp -t segsam-lat.XXXXXX)"
server="$(mktemp -t segsam-dec.XXXXXX)"
total="$(mktemp -t segsam-tot.XXXXXX)"
for i in $(seq 1 $((n + 10))); do
  # boxes around the liver, shifted a little each time (no answer can come from a cache)
  body="[{\"box\": [$((46 + i % 7)), 84, $((135 - i % 5)), 160]}]"
  out="$(curl -s -o /tmp/segsam-lat-body.$$ -w '%{http_code} %{time_total}' -X POST --data "$body" "$url/api/images/$id/predict")"
  [ "${out%% *}" = 200 ] || { echo "serve-latency: HTTP ${out%% *}: $(cat /tmp/segsam-lat-body.$$)" >&2; exit 1; }
  if [ "$i" -gt 10 ]; then
    echo "${out##* }" >>"$times"
    echo "$(sed -E 's/.*"decode_ms":([0-9.]+).*/\1/' /tmp/segsam-lat-body.$$)" >>"$server"
    echo "$(sed -E 's/.*"server_ms":([0-9.]+).*/\1/' /tmp/segsam-lat-body.$$)" >>"$total"
  fi
done
rm -f /tmp/segsam-lat-body.$$
stats() { sort -n "$1" | awk -v s="$2" '{a[NR]=$1*s} END {printf "median %.1f ms, p90 %.1f ms, min %.1f ms", a[int((NR+1)/2)], a[int(NR*0.9+0.5)], a[1]}'; }
echo "round trip (curl, $n prompts): $(stats "$times" 1000)"
echo "server decode (predictor, same prompts): $(stats "$server" 1)"
echo "server total (body read to answer ready): $(stats "$total" 1)"
rm -f "$times" "$server" "$total"

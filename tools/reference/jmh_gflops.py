#!/usr/bin/env python3
"""GFLOP/s table from a SgemmBench or GpuGemmBench JMH JSON result (scripts/bench.sh SgemmBench -rf json -rff sgemm.json).

    python3 tools/reference/jmh_gflops.py sgemm.json

Per benchmark and shape: the median iteration time, JMH's mean ± 99.9 % error, and GFLOP/s at the median
(FLOP = 2·batch·M·K·N, shape names as in SgemmBench: op:MxKxN or op:BxMxKxN). Parameters other than the shape
(GpuGemmBench's mode) are appended to the benchmark name.
"""
import json
import sys


def flop(shape):
    d = [int(x) for x in shape.split(":")[1].split("x")]
    batch, m, k, n = d if len(d) == 4 else [1] + d
    return 2.0 * batch * m * k * n


rows = json.load(open(sys.argv[1]))
print(f"{'benchmark':12s} {'shape':26s} {'median ms':>10s} {'mean ± err ms':>20s} {'GFLOP/s':>8s}")
for r in rows:
    shape = r["params"]["shape"]
    pm = r["primaryMetric"]
    assert pm["scoreUnit"] == "ms/op", pm["scoreUnit"]
    med = pm["scorePercentiles"]["50.0"]
    name = r["benchmark"].rsplit(".", 1)[1]
    extra = [v for k, v in sorted(r["params"].items()) if k != "shape"]
    name = " ".join([name] + extra)
    print(f"{name:12s} {shape:26s} {med:10.2f} {pm['score']:11.2f} ± {pm['scoreError']:6.2f} {flop(shape) / med / 1e6:8.1f}")

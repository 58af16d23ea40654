#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Helper of tests/suite-config.sh, independent of p2m: builds the inputs
with Google protobuf (tools/gen_profiles.py) and decodes p2m's OTLP metrics
output with Google protobuf (proto/metrics.proto).

    config_check.py inputs DIR
        writes DIR/go.otlp, DIR/ebpf.otlp, DIR/bare.otlp, DIR/go2.stream
    config_check.py dump OUT.pb
        one line per metric and per data point, sorted:
          metric NAME|UNIT|sum or gauge|temporality|monotonic
          point NAME|key=value,...|VALUE   (VALUE: an integer, or a double
                                            written by Python's repr)
    config_check.py string INPUT.otlp INDEX
        the request's string_table[INDEX] (v1.10 layout)
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
import gen_profiles as G  # noqa: E402

PROC = "process.executable.name"
THREAD = "thread.name"
T0 = G.BASE_TIME
DUR = 10_000_000_000


def go_request():
    """One resource (service.name shop), four profiles:
       cpu/nanoseconds: my-app-1/worker-1 1.5 s, my-app-1/main 0.25 s,
                        other/worker-2 4 s
       alloc_space/bytes: my-app-1/worker-1 3072, other/main 1048576
       off_cpu/nanoseconds: my-app-1/worker-1 2 ms, other/worker-2 7 ms
       inuse_space/bytes: my-app-1/main 8192"""
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "shop"}))
    st = b.stack([b.location(["main"])])
    w1 = {PROC: "my-app-1", THREAD: "worker-1"}
    m1 = {PROC: "my-app-1", THREAD: "main"}
    o2 = {PROC: "other", THREAD: "worker-2"}
    om = {PROC: "other", THREAD: "main"}
    cpu = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(cpu, st, values=[1_500_000_000], attrs=w1)
    b.sample(cpu, st, values=[250_000_000], attrs=m1)
    b.sample(cpu, st, values=[4_000_000_000], attrs=o2)
    mem = b.profile(sp, ("alloc_space", "bytes"), ("space", "bytes"), 524288, time=T0,
                    duration=DUR)
    b.sample(mem, st, values=[3072], attrs=w1)
    b.sample(mem, st, values=[1048576], attrs=om)
    off = b.profile(sp, ("off_cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(off, st, values=[2_000_000], attrs=w1)
    b.sample(off, st, values=[7_000_000], attrs=o2)
    heap = b.profile(sp, ("inuse_space", "bytes"), time=T0, duration=DUR)
    b.sample(heap, st, values=[8192], attrs=m1)
    return b


def ebpf_request():
    """Two resources without service.name, as the eBPF profiler sends them:
       container.id c1 / process.pid 11: node/node 2 samples x 50 ms
       container.id c2 / process.pid 12: node/node 3 samples x 50 ms"""
    b = G.Builder("v1.10")
    for cid, pid, n in (("c1", 11, 2), ("c2", 12, 3)):
        sp = b.scope(b.resource({"container.id": cid, "process.pid": pid}))
        p = b.cpu_profile(sp, time=T0, duration=DUR)
        b.sample(p, values=[n], attrs={PROC: "node", THREAD: "node"})
    return b


def bare_request():
    """A resource with no attributes and one whose only attribute is
       empty: cpu/nanoseconds, a/a 5 ns and b/b 6 ns."""
    b = G.Builder("v1.10")
    for attrs, who, v in (({}, "a", 5), ({"k": ""}, "b", 6)):
        sp = b.scope(b.resource(attrs))
        p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
        b.sample(p, values=[v], attrs={PROC: who, THREAD: who})
    return b


def cmd_inputs(d):
    os.makedirs(d, exist_ok=True)
    for name, b in (("go", go_request()), ("ebpf", ebpf_request()), ("bare", bare_request())):
        with open(os.path.join(d, name + ".otlp"), "wb") as f:
            f.write(b.to_bytes())
    # one resource in two messages of a stream: the same resource, not a merge
    one = go_request().to_bytes()
    with open(os.path.join(d, "go2.stream"), "wb") as f:
        f.write(G.frame([one, one]))


def cmd_dump(path):
    M = G.module("metrics")
    req = M.ExportMetricsServiceRequest()
    with open(path, "rb") as f:
        req.ParseFromString(f.read())
    lines = []
    for rm in req.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                if kind == "sum":
                    pts, temp, mono = m.sum.data_points, m.sum.aggregation_temporality, \
                        m.sum.is_monotonic
                else:
                    pts, temp, mono = m.gauge.data_points, 0, False
                lines.append("metric %s|%s|%s|%d|%s" % (m.name, m.unit, kind, temp,
                                                        "monotonic" if mono else "-"))
                for dp in pts:
                    attrs = ",".join("%s=%s" % (kv.key, getattr(kv.value, kv.value.WhichOneof(
                        "value") or "string_value")) for kv in dp.attributes)
                    v = dp.as_int if dp.WhichOneof("value") == "as_int" else repr(dp.as_double)
                    lines.append("point %s|%s|%s" % (m.name, attrs, v))
    for line in sorted(set(lines)):
        print(line)


def cmd_string(path, index):
    M = G.module("v1.10")
    req = M.ExportProfilesServiceRequest()
    with open(path, "rb") as f:
        req.ParseFromString(f.read())
    print(req.dictionary.string_table[int(index)])


def main():
    G.ensure_modules()
    cmd = sys.argv[1]
    if cmd == "inputs":
        cmd_inputs(sys.argv[2])
    elif cmd == "dump":
        cmd_dump(sys.argv[2])
    elif cmd == "string":
        cmd_string(sys.argv[2], sys.argv[3])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()

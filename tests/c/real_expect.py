# SPDX-License-Identifier: MIT
"""Independent expectation for a real v1.8 capture, read with Google protobuf
(module generated from proto/profiles_v1_8.proto into the directory given
first). Prints "<samples> <cpu_ns>": the number of Sample messages and the
cpu_time total in nanoseconds under docs/spec.md section 3 (cpu/time profiles, or
samples/count profiles with a cpu period, the latter ignored in a scope that
holds the former; value = sum of values, else number of timestamps; samples
with an attribute index outside the table are skipped)."""
import sys

sys.path.insert(0, sys.argv[1])
import profiles_v1_8_pb2 as pb  # noqa: E402

TIME = {"nanoseconds": 1, "ns": 1, "microseconds": 1000, "us": 1000,
        "milliseconds": 1000000, "ms": 1000000, "seconds": 10**9, "s": 10**9}

req = pb.ExportProfilesServiceRequest()
with open(sys.argv[2], "rb") as f:
    req.ParseFromString(f.read())
st = req.dictionary.string_table
nattr = len(req.dictionary.attribute_table)


def s(i):
    return st[i] if 0 <= i < len(st) else None


samples = 0
cpu = 0
for rp in req.resource_profiles:
    for sp in rp.scope_profiles:
        kinds = []
        for p in sp.profiles:
            t, u = s(p.sample_type.type_strindex), s(p.sample_type.unit_strindex)
            pt, pu = s(p.period_type.type_strindex), s(p.period_type.unit_strindex)
            if t == "cpu" and u in TIME:
                kinds.append(("time", TIME[u]))
            elif t == "samples" and u == "count" and pt == "cpu" and pu in TIME and p.period > 0:
                kinds.append(("count", p.period * TIME[pu]))
            else:
                kinds.append((None, 0))
        has_time = any(k == "time" for k, _ in kinds)
        for p, (kind, mult) in zip(sp.profiles, kinds):
            samples += len(p.samples)
            if kind is None or (kind == "count" and has_time):
                continue
            for smp in p.samples:
                if any(a < 0 or a >= nattr for a in smp.attribute_indices):
                    continue
                v = sum(smp.values) if len(smp.values) else len(smp.timestamps_unix_nano)
                cpu += v * mult
print(samples, cpu)

# SPDX-License-Identifier: MIT
"""Differential decoding: random valid requests from tools/gen_profiles.py
(every layout, packed and unpacked, both KeyValue forms in v1.10, dictionary
first or last, random shapes by seed; and in four variants, a quarter each:
"plain" as the generator writes them, "shuffled" with every message's fields
in a random order, "unknown" with fields of unused numbers of every wire type
but groups inserted at every depth, "both"; gen_profiles --shuffle-fields and
--unknown-fields), converted by build/p2m as one framed
stream (--input-format otlp-stream; --layout auto for packed requests, the
generating layout for unpacked ones, which carry no layout evidence; default
configuration: the data point attributes process.executable.name and
thread.name), against totals computed
from Google protobuf's decoding of the same bytes under docs/spec.md sections 2 and 3.

For every request and every output resource: the cpu_time (ns) and
memory_allocation (bytes) value of every (process, thread) pair, the
resource attributes and schema_url must equal the independent ones.

usage: [P2M=path/to/p2m] diff_decode.py N [FIRST_SEED]   prints "N requests, M mismatches"
with the counts per layout, per variant and per layout and variant; exit 1
when M > 0 (the first mismatches are shown, and each mismatching request is
written to build/fuzz/diff-mismatch/seed-<seed>.otlp)."""
import os
import random
import struct
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import gen_profiles as G  # noqa: E402

PROC, THREAD = "process.executable.name", "thread.name"
TIME = {"nanoseconds": 1, "ns": 1, "microseconds": 1000, "us": 1000,
        "milliseconds": 10**6, "ms": 10**6, "seconds": 10**9, "s": 10**9}


def any_value(av, st):
    which = av.WhichOneof("value")
    if which is None:
        return None
    if which == "string_value_strindex":
        return st[av.string_value_strindex]
    return getattr(av, which)


def kv_key(kv, st):
    if kv.key:
        return kv.key
    if hasattr(kv, "key_strindex"):
        return st[kv.key_strindex]
    return kv.key


def expected(req):
    """[(resource attrs, schema_url, {(metric, proc, thread): value})] for
    resources with at least one data point, in input order."""
    d = req.dictionary
    st = d.string_table

    def table_attrs(indices):
        out = {}
        for i in indices:
            e = d.attribute_table[i]
            out[st[e.key_strindex]] = any_value(e.value, st)
        return out

    res_out = []
    for rp in req.resource_profiles:
        res = {}
        for kv in rp.resource.attributes:
            res[kv_key(kv, st)] = any_value(kv.value, st)
        vals = {}
        for sp in rp.scope_profiles:
            kinds = []
            for p in sp.profiles:
                stype = (st[p.sample_type.type_strindex], st[p.sample_type.unit_strindex])
                ptype = (st[p.period_type.type_strindex], st[p.period_type.unit_strindex])
                if stype[0] == "cpu" and stype[1] in TIME:
                    kinds.append(("cpu_time", TIME[stype[1]], "time"))
                elif stype == ("samples", "count") and ptype[0] == "cpu" and \
                        ptype[1] in TIME and p.period > 0:
                    kinds.append(("cpu_time", p.period * TIME[ptype[1]], "count"))
                elif stype[1] == "bytes" and stype[0].startswith("alloc_") and \
                        (stype[0].endswith("_space") or stype[0].endswith("_bytes")):
                    kinds.append(("memory_allocation", 1, "mem"))
                else:
                    kinds.append(None)
            has_time = any(k and k[2] == "time" for k in kinds)
            for p, k in zip(sp.profiles, kinds):
                if k is None or (k[2] == "count" and has_time):
                    continue
                prof = table_attrs(p.attribute_indices)
                for s in p.samples:
                    if not len(s.values) and not len(s.timestamps_unix_nano):
                        continue
                    eff = dict(res)
                    eff.update(prof)
                    eff.update(table_attrs(s.attribute_indices))
                    v = sum(s.values) if len(s.values) else len(s.timestamps_unix_nano)
                    proc = eff.get(PROC) if isinstance(eff.get(PROC), str) else None
                    thr = eff.get(THREAD) if isinstance(eff.get(THREAD), str) else None
                    key = (k[0], proc or None, thr or None)
                    vals[key] = vals.get(key, 0) + v * k[1]
        if vals:
            res_out.append((sorted((k, repr(v)) for k, v in res.items()), rp.schema_url, vals))
    return res_out


def got(mreq):
    out = []
    for rm in mreq.resource_metrics:
        vals = {}
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                for dp in m.sum.data_points:
                    a = {kv.key: kv.value.string_value for kv in dp.attributes}
                    key = (m.name, a.get(PROC) or None, a.get(THREAD) or None)
                    v = dp.as_int if dp.WhichOneof("value") == "as_int" else dp.as_double
                    vals[key] = vals.get(key, 0) + v
        res = sorted((kv.key, repr(any_value(kv.value, []))) for kv in rm.resource.attributes)
        out.append((res, rm.schema_url, vals))
    return out


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    first = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    p2m = os.environ.get("P2M") or os.path.join(ROOT, "build", "p2m")
    metrics_pb2 = G.module("metrics")
    mism, shown, layouts, variants, cross = 0, 0, {}, {}, {}
    mdir = os.path.join(ROOT, "build", "fuzz", "diff-mismatch")
    batch = 500
    for b0 in range(0, n, batch):
        reqs, blobs = [], []
        for i in range(b0, min(n, b0 + batch)):
            seed = first + i
            rnd = random.Random(seed * 7919)
            layout = rnd.choice(["v1.8", "v1.9", "v1.10"])
            kv = rnd.choice(["inline", "strindex"]) if layout == "v1.10" else "inline"
            unpacked = rnd.random() < 0.5
            dfirst = rnd.random() < 0.5
            shape = "demo" if rnd.random() < 0.1 else "small"
            # drawn last, so a seed's other choices are what they always were
            variant = rnd.choice(["plain", "shuffled", "unknown", "both"])
            data = G.generate(shape, layout, seed, kv).to_bytes(
                unpacked=unpacked, dict_first_=dfirst,
                shuffle=variant in ("shuffled", "both"),
                unknown=variant in ("unknown", "both"), rewrite_seed=seed)
            req = G.module(layout).ExportProfilesServiceRequest()
            req.ParseFromString(data)
            reqs.append(((seed, layout, kv, unpacked, dfirst, shape, variant), req))
            blobs.append(struct.pack(">I", len(data)) + data)
            layouts[layout] = layouts.get(layout, 0) + 1
            variants[variant] = variants.get(variant, 0) + 1
            cross[(layout, variant)] = cross.get((layout, variant), 0) + 1
        # packed requests with --layout auto; unpacked ones name their layout
        # (docs/spec.md section 1: unpacked v1.8/v1.9 samples carry no layout evidence)
        out = [None] * len(reqs)
        groups = {}
        for j, ((seed, layout, kv, unpacked, dfirst, shape, variant), _) in enumerate(reqs):
            groups.setdefault(layout if unpacked else "auto", []).append(j)
        for lay, idx in sorted(groups.items()):
            r = subprocess.run([p2m, "convert", "--input-format", "otlp-stream", "--now", "1",
                                "--layout", lay],
                               input=b"".join(blobs[j] for j in idx), capture_output=True)
            if r.returncode != 0:
                print("FAIL diff-decode: p2m exited %d: %s" % (r.returncode, r.stderr[:300]))
                return 1
            pos, k = 0, 0
            while pos < len(r.stdout):
                ln = struct.unpack(">I", r.stdout[pos:pos + 4])[0]
                m = metrics_pb2.ExportMetricsServiceRequest()
                m.ParseFromString(r.stdout[pos + 4:pos + 4 + ln])
                if k < len(idx):
                    out[idx[k]] = m
                k += 1
                pos += 4 + ln
            if k != len(idx):
                print("FAIL diff-decode: %d requests in, %d out (layout %s)" % (len(idx), k, lay))
                return 1
        for j, ((what, req), m) in enumerate(zip(reqs, out)):
            e, g = expected(req), got(m)
            if e != g:
                mism += 1
                os.makedirs(mdir, exist_ok=True)
                path = os.path.join(mdir, "seed-%d.otlp" % what[0])
                with open(path, "wb") as f:
                    f.write(blobs[j][4:])
                if shown < 5:
                    shown += 1
                    print("# mismatch seed=%d layout=%s kv=%s unpacked=%s dict_first=%s shape=%s"
                          " variant=%s" % what)
                    print("#   input %s" % os.path.relpath(path, ROOT))
                    print("#   expected %r" % (e,)[:600])
                    print("#   got      %r" % (g,)[:600])
    order = ["plain", "shuffled", "unknown", "both"]
    line = "diff-decode: %d requests (%s; %s), %d mismatches" % (
        n, ", ".join("%s %d" % kv for kv in sorted(layouts.items())),
        ", ".join("%s %d" % (v, variants.get(v, 0)) for v in order), mism)
    for lay in G.LAYOUTS:
        print("# %-5s %s" % (lay, "  ".join("%s %d" % (v, cross.get((lay, v), 0))
                                            for v in order)))
    print(("PASS " if mism == 0 else "FAIL ") + line)
    return 1 if mism else 0


if __name__ == "__main__":
    sys.exit(main())

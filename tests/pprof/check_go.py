#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks p2m's metrics of real Go profiles against `go tool pprof -raw`.

Run by tests/suite-pprof-go.sh, which has built the Go generator, written
B/cpu.pb.gz and B/heap.pb.gz, B/cpu.raw and B/heap.raw (go tool pprof -raw)
and B/cpu.top (-top), built B/pprof_driver (the library directly) and
compiled proto/metrics.proto into PYTHONPATH.

    check_go.py B P2M

The independent path is Go's: every expected number is summed here from the
text `go tool pprof -raw` prints (its sample values, labels and times). What
p2m made is read with Google protobuf (OTLP output) and the json module
(result view of the driver, `p2m convert -f json`). One PASS or FAIL line per
check; exit 1 when any failed.
"""
import calendar
import collections
import datetime
import gzip
import json
import os
import re
import subprocess
import sys

from google.protobuf import empty_pb2
from google.protobuf.unknown_fields import UnknownFieldSet

import metrics_pb2

B, P2M = sys.argv[1], sys.argv[2]
DRIVER = os.path.join(B, "pprof_driver")
SERVICE = "pprof-gen"
fails = 0


def check(name, cond, why=""):
    global fails
    if cond:
        print("PASS pprof-go." + name)
    else:
        fails += 1
        print("FAIL pprof-go.%s: %s" % (name, why))
    sys.stdout.flush()
    return cond


# ---- the independent path: go tool pprof -raw --------------------------------

SAMPLE_RE = re.compile(r"^\s+(-?\d+(?:\s+-?\d+)*):((?:\s+\d+)*)\s*$")
LABEL_RE = re.compile(r"([^\s:\[\]]+):\[([^\]]*)\]")
TIME_RE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(\d{1,9}))? ([+-])(\d\d)(\d\d) ")


def go_time_ns(text):
    """Unix nanoseconds of pprof's `Time:` line (Go's time.Time String)."""
    m = TIME_RE.match(text)
    if not m:
        raise ValueError("unreadable Time: %r" % text)
    dt = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")
    secs = calendar.timegm(dt.timetuple())
    off = (int(m.group(4)) * 3600 + int(m.group(5)) * 60) * (1 if m.group(3) == "+" else -1)
    frac = (m.group(2) or "").ljust(9, "0")
    return (secs - off) * 10**9 + int(frac or 0)


def go_duration(ns):
    """time.Duration(ns).String() for durations of a second or more."""
    s, frac = divmod(ns, 10**9)
    text = str(s)
    if frac:
        text += "." + ("%09d" % frac).rstrip("0")
    return text + "s"


def parse_raw(path):
    """(header dict, column names, samples) of `go tool pprof -raw` text;
    each sample is (values, {label key: value text})."""
    lines = open(path).read().split("\n")
    hdr = {}
    i = 0
    while i < len(lines) and lines[i] != "Samples:":
        k, _, v = lines[i].partition(": ")
        hdr[k] = v
        i += 1
    if i + 1 >= len(lines):
        raise ValueError("%s: no Samples: section" % path)
    cols = lines[i + 1].split()
    samples = []
    for line in lines[i + 2:]:
        m = SAMPLE_RE.match(line)
        if m:
            samples.append(([int(v) for v in m.group(1).split()], {}))
        elif line.startswith(" ") and LABEL_RE.search(line) and samples:
            for k, v in LABEL_RE.findall(line):
                samples[-1][1][k] = v
        else:
            break
    for vals, _ in samples:
        if len(vals) != len(cols):
            raise ValueError("%s: a sample with %d values for %d columns" % (path, len(vals), len(cols)))
    return hdr, cols, samples


def col_sum(cols, samples, col, keyf=None):
    """Sum of column col, in total or per keyf(labels)."""
    c = cols.index(col)
    if keyf is None:
        return sum(v[c] for v, _ in samples)
    out = collections.Counter()
    for v, lab in samples:
        out[keyf(lab)] += v[c]
    return dict(out)


try:
    cpu_hdr, cpu_cols, cpu_samples = parse_raw(os.path.join(B, "cpu.raw"))
    heap_hdr, heap_cols, heap_samples = parse_raw(os.path.join(B, "heap.raw"))
    cpu_time_ns = go_time_ns(cpu_hdr["Time"])
    heap_time_ns = go_time_ns(heap_hdr["Time"])
except (OSError, ValueError, KeyError) as e:
    check("raw-parse", False, "go tool pprof -raw output unreadable: %s" % e)
    sys.exit(1)

CPU_COLS = ["samples/count", "cpu/nanoseconds"]
HEAP_COLS = ["alloc_objects/count", "alloc_space/bytes", "inuse_objects/count", "inuse_space/bytes"]
n_cpu, n_heap = len(cpu_samples), len(heap_samples)

# The expectations are only as good as this parse: check it against what the
# generator is known to do and against pprof's own -top total.
ok = check("raw-cpu", cpu_cols == CPU_COLS and cpu_hdr.get("PeriodType") == "cpu nanoseconds"
           and cpu_hdr.get("Period") == "10000000"
           # about 300 on an idle core; a busy shared machine gives fewer
           and col_sum(cpu_cols, cpu_samples, "samples/count") >= 50
           # the workers' samples carry both labels; the runtime's own (GC
           # workers, say) none: they may appear, but rarely
           and all((lab.get("worker"), lab.get("kind")) in (("a", "hash"), ("b", "sort"), ("c", "hash"))
                   or not lab for _, lab in cpu_samples)
           and sum(v[1] for v, lab in cpu_samples if lab) * 10 >= sum(v[1] for v, _ in cpu_samples) * 9
           and all(v[0] * 10000000 == v[1] for v, _ in cpu_samples),
           "columns %s, period %s %s, %d samples, labels %s" % (
               cpu_cols, cpu_hdr.get("PeriodType"), cpu_hdr.get("Period"), n_cpu,
               sorted({tuple(sorted(lab.items())) for _, lab in cpu_samples})[:5]))
CPU_TOTAL = col_sum(cpu_cols, cpu_samples, "cpu/nanoseconds") if ok else 0
top = open(os.path.join(B, "cpu.top")).read()
m = re.search(r"Total samples = ([0-9.]+)(ms|s)\b", top)
check("raw-cpu-top", m and abs(float(m.group(1)) * (1e9 if m.group(2) == "s" else 1e6) - CPU_TOTAL) < 0.01e9,
      "-raw sums %d ns, -top says %r" % (CPU_TOTAL, m and m.group(0)))
# pprof's own label filter (-tagfocus worker=^w$) against the labels read
# from the -raw text: the per-label expectations below rest on that parse
try:
    focus = {w: col_sum(*parse_raw(os.path.join(B, "cpu-worker-%s.raw" % w))[1:], col="cpu/nanoseconds")
             for w in ("a", "b", "c")}
except (OSError, ValueError) as e:
    focus = {"error": str(e)}
parsed = col_sum(cpu_cols, cpu_samples, "cpu/nanoseconds", lambda lab: lab.get("worker"))
unlabelled = parsed.pop(None, 0)
check("raw-tagfocus", focus == parsed and sum(parsed.values()) + unlabelled == CPU_TOTAL,
      "-tagfocus sums %s, -raw labels %s" % (focus, parsed))
ok = check("raw-heap", heap_cols == HEAP_COLS and heap_hdr.get("PeriodType") == "space bytes"
           and n_heap > 0 and all("bytes" in lab for _, lab in heap_samples)
           and col_sum(heap_cols, heap_samples, "alloc_space/bytes") > 1 << 20
           and 0 < col_sum(heap_cols, heap_samples, "inuse_space/bytes")
           < col_sum(heap_cols, heap_samples, "alloc_space/bytes"),
           "columns %s, %d samples" % (heap_cols, n_heap))
ALLOC_TOTAL = col_sum(heap_cols, heap_samples, "alloc_space/bytes")
INUSE_TOTAL = col_sum(heap_cols, heap_samples, "inuse_space/bytes")
# Go's heap profile has no duration: no Duration line
cpu_dur_text = cpu_hdr.get("Duration", "")

# ---- what p2m made -------------------------------------------------------------


def view_metrics(doc, res=0):
    """{name: (metric json, [(attrs, value, start, time)])} of one resource
    of the driver's result view; attrs is a sorted tuple of (key, type, value)."""
    out = {}
    for mt in doc["resources"][res]["metrics"]:
        pts = [(tuple(sorted((k, t, v) for k, (t, v) in p["attributes"])), p["value"],
                p["start"], p["time"]) for p in mt["points"]]
        out[mt["name"]] = (mt, pts)
    return out


def any_value(v):
    kind = v.WhichOneof("value")
    if kind == "string_value":
        return ("string", v.string_value)
    if kind == "int_value":
        return ("int", v.int_value)
    return (kind, str(getattr(v, kind)) if kind else None)


def otlp_metrics(data):
    """The same shape as view_metrics, from OTLP protobuf: one resource."""
    req = metrics_pb2.ExportMetricsServiceRequest()
    req.ParseFromString(data)
    out = {}
    res = [[(a.key,) + any_value(a.value) for a in rm.resource.attributes] for rm in req.resource_metrics]
    for rm in req.resource_metrics:
        for sm in rm.scope_metrics:
            for mt in sm.metrics:
                data_kind = mt.WhichOneof("data")
                dps = getattr(mt, data_kind).data_points
                pts = [(tuple(sorted((a.key,) + any_value(a.value) for a in p.attributes)),
                        p.as_int if p.WhichOneof("value") == "as_int" else p.as_double,
                        p.start_time_unix_nano, p.time_unix_nano) for p in dps]
                out[mt.name] = ({"unit": mt.unit, "gauge": data_kind == "gauge",
                                 "monotonic": data_kind == "sum" and mt.sum.is_monotonic}, pts)
    return res, out


def json_any(v):
    if "stringValue" in v:
        return ("string", v["stringValue"])
    if "intValue" in v:
        return ("int", int(v["intValue"]))
    return ("other", json.dumps(v))


def cli_json_metrics(text):
    """The same shape as view_metrics, from `p2m convert -f json` (one line)."""
    req = json.loads(text)
    out = {}
    for rm in req.get("resourceMetrics", []):
        for sm in rm.get("scopeMetrics", []):
            for mt in sm.get("metrics", []):
                kind = "gauge" if "gauge" in mt else "sum"
                pts = [(tuple(sorted((a["key"],) + json_any(a["value"]) for a in p.get("attributes", []))),
                        int(p["asInt"]) if "asInt" in p else p.get("asDouble"),
                        int(p.get("startTimeUnixNano", 0)), int(p.get("timeUnixNano", 0)))
                       for p in mt[kind].get("dataPoints", [])]
                out[mt["name"]] = ({"unit": mt.get("unit"), "gauge": kind == "gauge"}, pts)
    return out


def total(ms, name):
    return sum(p[1] for p in ms[name][1]) if name in ms else None


def per_attr(ms, name, keys):
    """Sums of metric name per value of the attributes keys (a tuple of
    value texts, None where absent), leaving out zero sums."""
    out = collections.Counter()
    for attrs, val, _, _ in ms.get(name, (None, []))[1]:
        d = {k: v for k, _, v in attrs}
        out[tuple(None if d.get(k) is None else str(d[k]) for k in keys)] += val
    return {k: v for k, v in out.items() if v}


def raw_per(cols, samples, col, keys):
    d = col_sum(cols, samples, col, lambda lab: tuple(lab.get(k) for k in keys))
    return {k: v for k, v in d.items() if v}


def run(name, argv):
    """Runs argv; (exit code, stdout bytes, stderr text)."""
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        check(name, False, "%s: %s" % (argv[0], e))
        return None, b"", ""
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


cpu_pb = gzip.decompress(open(os.path.join(B, "cpu.pb.gz"), "rb").read())
heap_pb = gzip.decompress(open(os.path.join(B, "heap.pb.gz"), "rb").read())
open(os.path.join(B, "cpu.pb"), "wb").write(cpu_pb)
open(os.path.join(B, "heap.pb"), "wb").write(heap_pb)


def file_samples(data):
    """Samples (Profile field 2) in a pprof message, counted by Google
    protobuf's unknown-field reader. go tool pprof leaves out samples whose
    values are all zero (Go's heap profile has such a sample), p2m counts
    every sample of the file: its statistics are checked against this."""
    m = empty_pb2.Empty()
    m.ParseFromString(data)
    return sum(1 for f in UnknownFieldSet(m) if f.field_number == 2)


f_cpu, f_heap = file_samples(cpu_pb), file_samples(heap_pb)
check("file-samples", f_cpu == n_cpu and f_heap >= n_heap,
      "the files have %d and %d samples, go tool pprof shows %d and %d" % (f_cpu, f_heap, n_cpu, n_heap))


def driver(tag, inp, *args):
    """The driver on an inflated profile: (result view json, otlp metrics,
    otlp resource attributes), or None after a FAIL line."""
    if not os.path.exists(DRIVER):
        check("lib-" + tag, False, "no %s (see pprof-go.driver)" % DRIVER)
        return None
    pb, js = os.path.join(B, "d-%s.pb" % tag), os.path.join(B, "d-%s.json" % tag)
    rc, _, err = run("lib-" + tag, [DRIVER, "--resource-attr", "service.name=" + SERVICE,
                                    "-o", pb, "-j", js] + list(args) + [inp])
    if rc is None:
        return None
    if not check("lib-" + tag, rc == 0, "pprof_driver exited %s: %s" % (rc, err.strip()[:600])):
        return None
    doc = json.load(open(js))
    res, om = otlp_metrics(open(pb, "rb").read())
    vm = view_metrics(doc)
    check("lib-%s-view-is-otlp" % tag,
          sorted(vm) == sorted(om) and all(sorted(vm[k][1]) == sorted(om[k][1]) for k in vm)
          and all(vm[k][0]["gauge"] == om[k][0]["gauge"] and vm[k][0]["unit"] == om[k][0]["unit"]
                  for k in vm),
          "result view %s, OTLP %s" % ({k: len(v[1]) for k, v in vm.items()},
                                      {k: len(v[1]) for k, v in om.items()}))
    cs = dict(doc["convert_stats"], bytes_out=0)
    check("lib-%s-stats-agree" % tag, cs == dict(doc["stats"], bytes_out=0),
          "convert %s, aggregate %s" % (doc["convert_stats"], doc["stats"]))
    return doc, om, res


# ---- the library, CPU profile ---------------------------------------------------

cpu_in, heap_in = os.path.join(B, "cpu.pb"), os.path.join(B, "heap.pb")
r = driver("cpu", cpu_in)
if r:
    doc, om, res = r
    st = doc["stats"]
    check("lib-cpu-total", total(om, "cpu_time") == CPU_TOTAL,
          "cpu_time %s, go tool pprof cpu/nanoseconds %d" % (total(om, "cpu_time"), CPU_TOTAL))
    # Go writes samples/count x period == cpu/nanoseconds for every sample,
    # so a profile counted twice would show as exactly 2 x CPU_TOTAL
    check("lib-cpu-once", total(om, "cpu_time") != 2 * CPU_TOTAL and st["profiles"] == 2
          and st["samples"] == 2 * f_cpu and st["profiles_unclassified"] == 0
          and st["profiles_unfed"] == 0 and st["samples_unfed"] == 0 and doc["unfed"] == []
          and st["samples_kept"] == f_cpu,
          "cpu_time %s (pprof %d); stats %s, unfed %s" % (total(om, "cpu_time"), CPU_TOTAL, st, doc["unfed"]))
    check("lib-cpu-metrics", sorted(om) == ["cpu_time"] and om["cpu_time"][0]["unit"] == "ns"
          and om["cpu_time"][0]["monotonic"] and not om["cpu_time"][0]["gauge"],
          "metrics %s" % {k: v[0] for k, v in om.items()})
    # default rules read process.executable.name and thread.name, which pprof
    # does not have: one point without attributes
    check("lib-cpu-default-attributes", [p[0] for p in om.get("cpu_time", (0, []))[1]] == [()],
          "points' attributes %s" % [p[0] for p in om.get("cpu_time", (0, []))[1]])
    check("lib-cpu-resource", res == [[("service.name", "string", SERVICE)]]
          and st["resources"] == 1 and st["layout"] == "pprof" and st["bytes_in"] == len(cpu_pb),
          "resources %s, stats %s" % (res, st))
    pts = om.get("cpu_time", (0, []))[1]
    check("lib-cpu-window", pts and all(p[2] == cpu_time_ns for p in pts)
          and all(go_duration(p[3] - p[2])[:4] == cpu_dur_text for p in pts),
          "points (start, end) %s; pprof Time %d, Duration %r" % (
              [(p[2], p[3]) for p in pts], cpu_time_ns, cpu_dur_text))

r = driver("cpu-labels", cpu_in, "--attr", "worker", "--attr", "kind")
if r:
    doc, om, res = r
    pts = om.get("cpu_time", (0, []))[1]
    check("lib-cpu-label-attributes", pts and all(
        [(k, t) for k, t, _ in p[0]] == [("kind", "string"), ("worker", "string")]
        or (p[0] == () and p[1] == unlabelled) for p in pts),
        "points' attributes %s" % [p[0] for p in pts])
    for keys in (("worker",), ("kind",), ("worker", "kind")):
        want = raw_per(cpu_cols, cpu_samples, "cpu/nanoseconds", keys)
        got = per_attr(om, "cpu_time", keys)
        check("lib-cpu-per-" + "-".join(keys), got == want and len(want) >= 2,
              "p2m %s, go tool pprof %s" % (sorted(got.items(), key=repr),
                                            sorted(want.items(), key=repr)))
    check("lib-cpu-labels-total", total(om, "cpu_time") == CPU_TOTAL,
          "cpu_time %s, pprof %d" % (total(om, "cpu_time"), CPU_TOTAL))

# ---- the library, heap profile --------------------------------------------------

r = driver("heap", heap_in)
if r:
    doc, om, res = r
    st = doc["stats"]
    check("lib-heap-alloc-space", total(om, "memory_allocation") == ALLOC_TOTAL,
          "memory_allocation %s, go tool pprof alloc_space %d" % (total(om, "memory_allocation"), ALLOC_TOTAL))
    check("lib-heap-metrics", sorted(om) == ["memory_allocation"]
          and om["memory_allocation"][0]["unit"] == "By" and om["memory_allocation"][0]["monotonic"],
          "metrics %s" % {k: v[0] for k, v in om.items()})
    unfed = [(u["type"] + "/" + u["unit"], u["profiles"], u["samples"]) for u in doc["unfed"]]
    want = [(c, 1, f_heap) for c in HEAP_COLS if c != "alloc_space/bytes"]
    check("lib-heap-stats", st["profiles"] == 4 and st["samples"] == 4 * f_heap
          and st["profiles_unclassified"] == 3 and st["profiles_unfed"] == 3
          and st["samples_unfed"] == 3 * f_heap and unfed == want and st["resources"] == 1,
          "stats %s, unfed %s (want %s)" % (st, unfed, want))
    pts = om.get("memory_allocation", (0, []))[1]
    # a heap profile has time_nanos and no duration: the window is one instant
    check("lib-heap-window", pts and all(p[2] == heap_time_ns and p[3] == heap_time_ns for p in pts)
          and "Duration" not in heap_hdr,
          "points (start, end) %s; pprof Time %d" % ([(p[2], p[3]) for p in pts], heap_time_ns))

r = driver("heap-inuse", heap_in, "--extra", "heap_in_use=inuse_space/bytes", "--attr", "bytes")
if r:
    doc, om, res = r
    st = doc["stats"]
    g = om.get("heap_in_use")
    check("lib-heap-inuse-gauge", g and g[0]["gauge"] and g[0]["unit"] == "By"
          and total(om, "heap_in_use") == INUSE_TOTAL,
          "heap_in_use %s total %s, go tool pprof inuse_space %d" % (
              g and g[0], total(om, "heap_in_use"), INUSE_TOTAL))
    check("lib-heap-inuse-time", g and all(p[3] == heap_time_ns for p in g[1]),
          "gauge point times %s, pprof Time %d" % (g and sorted({p[3] for p in g[1]}), heap_time_ns))
    check("lib-heap-inuse-alloc", total(om, "memory_allocation") == ALLOC_TOTAL,
          "memory_allocation %s, pprof %d" % (total(om, "memory_allocation"), ALLOC_TOTAL))
    unfed = [u["type"] + "/" + u["unit"] for u in doc["unfed"]]
    check("lib-heap-inuse-stats", st["profiles_unfed"] == 2 and st["profiles_unclassified"] == 2
          and unfed == ["alloc_objects/count", "inuse_objects/count"],
          "stats %s, unfed %s" % (st, unfed))
    # Go's heap samples carry the numeric label bytes (the block size): an
    # int attribute, summed per value as pprof's label shows it. (Only the
    # all-zero sample has no label: its point, if any, is 0.)
    allp = om.get("memory_allocation", (0, []))[1] + (g[1] if g else [])
    check("lib-heap-numeric-label", allp and all(
        [(k, t) for k, t, _ in p[0]] == [("bytes", "int")] or (p[0] == () and p[1] == 0) for p in allp)
        and any(p[0] for p in allp),
        "attributes %s" % sorted({p[0] for p in allp})[:6])
    for col, metric in (("alloc_space/bytes", "memory_allocation"), ("inuse_space/bytes", "heap_in_use")):
        want = raw_per(heap_cols, heap_samples, col, ("bytes",))
        got = per_attr(om, metric, ("bytes",))
        check("lib-heap-per-bytes-" + col.split("/")[0], got == want and len(want) >= 4,
              "p2m %s, go tool pprof %s" % (sorted(got.items(), key=repr),
                                            sorted(want.items(), key=repr)))

# ---- the tool: gzip as Go wrote it, and --input-format pprof ------------------

cfg = os.path.join(B, "labels.yaml")
with open(cfg, "w") as f:
    f.write("metrics:\n"
            "  extra:\n"
            "    - {metric_name: heap_in_use, unit: By, sample_types: [\"inuse_space/bytes\"]}\n"
            "attributes:\n"
            "  - {key: worker, type: attribute, from: worker}\n"
            "  - {key: kind, type: attribute, from: kind}\n")
rc, out, err = run("cli-help", [P2M, "convert", "--help"])
if not check("cli-input-format", rc == 0 and b"pprof" in out,
             "p2m convert --help names no pprof input format (exit %s)" % rc):
    sys.exit(1)


def stats_of(err):
    for line in err.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    return {}


def cli(tag, *args):
    rc, out, err = run("cli-" + tag, [P2M, "convert"] + list(args))
    if rc is None:
        return None, {}, ""
    if not check("cli-" + tag, rc == 0, "p2m convert %s exited %s: %s" % (" ".join(args), rc, err.strip()[:600])):
        return None, {}, err
    return out, stats_of(err), err


gz_cpu, gz_heap = os.path.join(B, "cpu.pb.gz"), os.path.join(B, "heap.pb.gz")
out, st, _ = cli("cpu-gzip-detected", "-c", cfg, "-f", "json", "--stats",
                 "--resource-attr", "service.name=" + SERVICE, gz_cpu)
if out is not None:
    ms = cli_json_metrics(out.decode())
    check("cli-cpu-total", total(ms, "cpu_time") == CPU_TOTAL,
          "cpu_time %s, go tool pprof %d" % (total(ms, "cpu_time"), CPU_TOTAL))
    for keys in (("worker",), ("worker", "kind")):
        want = raw_per(cpu_cols, cpu_samples, "cpu/nanoseconds", keys)
        got = per_attr(ms, "cpu_time", keys)
        check("cli-cpu-per-" + "-".join(keys), got == want,
              "p2m %s, go tool pprof %s" % (sorted(got.items(), key=repr),
                                            sorted(want.items(), key=repr)))
    check("cli-cpu-stats", st.get("layout") == "pprof" and st.get("profiles") == 2
          and st.get("samples") == 2 * f_cpu and st.get("profiles_unfed") == 0
          and st.get("profiles_unclassified") == 0 and st.get("bytes_in") == len(cpu_pb),
          "--stats %s" % st)

out, st, _ = cli("cpu-input-format", "--input-format", "pprof", "-f", "json", cpu_in)
if out is not None:
    ms = cli_json_metrics(out.decode())
    check("cli-cpu-inflated-total", total(ms, "cpu_time") == CPU_TOTAL,
          "cpu_time %s, go tool pprof %d" % (total(ms, "cpu_time"), CPU_TOTAL))

# uncompressed pprof is recognised by its fields, without --input-format
out, st, _ = cli("cpu-detected", "-f", "json", "--stats", cpu_in)
if out is not None:
    ms = cli_json_metrics(out.decode())
    check("cli-cpu-detected-total", total(ms, "cpu_time") == CPU_TOTAL and st.get("layout") == "pprof",
          "cpu_time %s, go tool pprof %d; --stats %s" % (total(ms, "cpu_time"), CPU_TOTAL, st))

out, st, err = cli("heap-gzip", "--input-format", "pprof", "-c", cfg, "-f", "json", "--stats", gz_heap)
if out is not None:
    ms = cli_json_metrics(out.decode())
    check("cli-heap-alloc-space", total(ms, "memory_allocation") == ALLOC_TOTAL,
          "memory_allocation %s, go tool pprof %d" % (total(ms, "memory_allocation"), ALLOC_TOTAL))
    g = ms.get("heap_in_use")
    check("cli-heap-inuse-gauge", g and g[0]["gauge"] and total(ms, "heap_in_use") == INUSE_TOTAL,
          "heap_in_use %s total %s, go tool pprof %d" % (g and g[0], total(ms, "heap_in_use"), INUSE_TOTAL))
    check("cli-heap-stats", st.get("profiles") == 4 and st.get("profiles_unfed") == 2
          and st.get("samples_unfed") == 2 * f_heap and "alloc_objects" in err and "inuse_objects" in err,
          "--stats %s; stderr %r" % (st, err))

# The tool and the library give the same bytes for the same input
if os.path.exists(os.path.join(B, "d-cpu.pb")):
    cpu_out = os.path.join(B, "cli-cpu.pb")
    out, _, _ = cli("cpu-otlp", "--resource-attr", "service.name=" + SERVICE, "-o", cpu_out, gz_cpu)
    if out is not None:
        check("cli-same-as-library", open(cpu_out, "rb").read() == open(os.path.join(B, "d-cpu.pb"), "rb").read(),
              "p2m convert -f otlp of cpu.pb.gz differs from p2m_pprof_convert of the inflated bytes")

sys.exit(1 if fails else 0)

#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Golden tests of `p2m convert`: build OTLP profiles requests with Google
protobuf (tools/gen_profiles.py), run the CLI, decode its OTLP metrics output
with Google protobuf (proto/metrics.proto), and compare with values worked
out by hand from docs/spec.md. Nothing expected here was taken from p2m's output.

One line per check: `PASS <name>` or `FAIL <name>: <why>`. Exit status 1 when
anything failed. Every input (and config) is kept under build/golden/ named
after its check, so a failure can be replayed:
    build/p2m convert -c build/golden/NAME.yaml -f otlp -o x.pb --stats build/golden/NAME.otlp
"""

import json
import os
import re
import struct
import subprocess
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import gen_profiles as G  # noqa: E402

P2M = os.environ.get("P2M", os.path.join(ROOT, "build", "p2m"))
CALL_TIMEOUT = int(os.environ.get("P2M_TEST_CALL_TIMEOUT", "15"))     # seconds for one p2m run
SUITE_BUDGET = 110     # seconds; later checks fail fast past it (a hanging p2m)
GOLDEN = os.path.join(ROOT, "build", "golden")
REAL = os.path.join(ROOT, "tests", "data", "real")
HEADER = os.path.join(ROOT, "profile2metrics.h")

G.ensure_modules()
M = G.module("metrics")

T0 = G.BASE_TIME                 # a profile's time_unix_nano
DUR = 10_000_000_000             # its duration_nano
PERIOD = 50_000_000              # 50 ms
SEC = 1_000_000_000
PROC = "process.executable.name"
THREAD = "thread.name"
SCHEMA = "https://opentelemetry.io/schemas/1.37.0"


def version_string():
    """P2M_VERSION_STRING, read from the header text."""
    with open(HEADER) as f:
        m = re.search(r'#define\s+P2M_VERSION_STRING\s+"([^"]*)"', f.read())
    return m.group(1) if m else None


# ---- running the CLI --------------------------------------------------------


class Fail(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise Fail(msg)


def eq(actual, expected, what):
    if actual != expected:
        raise Fail("%s: expected %r, got %r" % (what, expected, actual))


class Run:
    pass


def run_cli(name, data, args=(), config=None, out=True, stats=True, fmt="otlp"):
    """Runs p2m convert on data (kept as build/golden/NAME.otlp). Returns a Run
    with rc, stdout, stderr, output bytes (None when no file) and stats."""
    if not os.path.exists(P2M):
        raise Fail("%s does not exist (make builds it)" % os.path.relpath(P2M, ROOT))
    os.makedirs(GOLDEN, exist_ok=True)
    inp = os.path.join(GOLDEN, name + ".otlp")
    outp = os.path.join(GOLDEN, name + ".out.pb")
    with open(inp, "wb") as f:
        f.write(data)
    cmd = [P2M, "convert"]
    if config is not None:
        cfg = os.path.join(GOLDEN, name + ".yaml")
        with open(cfg, "w") as f:
            f.write(config)
        cmd += ["-c", cfg]
    cmd += ["-f", fmt]
    if out:
        if os.path.exists(outp):
            os.remove(outp)
        cmd += ["-o", outp]
    if stats:
        cmd.append("--stats")
    cmd += list(args) + [inp]
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=CALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Fail("timed out: %s" % " ".join(cmd))
    r = Run()
    r.cmd = " ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd)
    r.rc, r.stdout, r.stderr = p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")
    r.output = None
    if out and os.path.exists(outp):
        with open(outp, "rb") as f:
            r.output = f.read()
    r.stats = None
    for line in r.stderr.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                r.stats = json.loads(line)
            except ValueError:
                pass
    return r


def convert_ok(name, data, args=(), config=None):
    """Converts and decodes; fails unless exit 0 with an output and stats."""
    r = run_cli(name, data, args, config)
    need(r.rc == 0, "exit %d (expected 0): %s; stderr: %s" % (r.rc, r.cmd, r.stderr.strip()[:300]))
    need(r.output is not None, "no output file: %s" % r.cmd)
    req = M.ExportMetricsServiceRequest()
    try:
        req.ParseFromString(r.output)
    except Exception as e:  # noqa: BLE001
        raise Fail("output is not an ExportMetricsServiceRequest: %s" % e)
    need(r.stats is not None, "no JSON stats object on stderr: %r" % r.stderr[:300])
    r.req = req
    return r


# ---- reading the output -----------------------------------------------------


def any_value(av):
    which = av.WhichOneof("value")
    return (which, getattr(av, which)) if which else (None, None)


def attrs_of(kvs):
    """[(key, python value)] in wire order; strings must be string_value."""
    return [(kv.key, any_value(kv.value)[1]) for kv in kvs]


def metric(rm, name):
    found = [m for sm in rm.scope_metrics for m in sm.metrics if m.name == name]
    need(len(found) <= 1, "metric %s appears %d times" % (name, len(found)))
    return found[0] if found else None


def points(req, name, res=0):
    """[(attrs list, value)] of metric name in ResourceMetrics res."""
    need(len(req.resource_metrics) > res, "expected ResourceMetrics #%d, have %d" % (
        res, len(req.resource_metrics)))
    m = metric(req.resource_metrics[res], name)
    need(m is not None, "metric %s missing in resource %d" % (name, res))
    need(m.WhichOneof("data") == "sum", "metric %s is not a Sum" % name)
    out = []
    for dp in m.sum.data_points:
        v = dp.as_int if dp.WhichOneof("value") == "as_int" else (
            dp.as_double if dp.WhichOneof("value") == "as_double" else None)
        out.append((attrs_of(dp.attributes), v))
    return out


def pa(proc=None, thread=None):
    """Expected default-rule attributes."""
    a = []
    if proc is not None:
        a.append((PROC, proc))
    if thread is not None:
        a.append((THREAD, thread))
    return a


def stat(r, key, expected):
    need(key in r.stats, "stats has no key %r: %r" % (key, r.stats))
    eq(r.stats[key], expected, "stats." + key)


# ---- the checks -------------------------------------------------------------

CHECKS = []


def check(name, checks=CHECKS):
    """Decorator: registers fn as check name (in checks, this file's by default)."""
    def deco(fn):
        checks.append((name, fn))
        return fn
    return deco


def basic(layout, kv_form="inline"):
    """The reference request. cpu (samples/count, period 50 ms cpu/ns):
         alpha/t1: 2 timestamps + 1 timestamp = 3 x 50 ms = 150 000 000
         beta/t2 : values [3]                  = 3 x 50 ms = 150 000 000
         alpha/t2: values [2], 3 timestamps    = values win: 100 000 000
       memory (alloc_space/bytes): alpha/t1 4096 + (1000 + 24) = 5120.
       profile_id is set (v1.8: Profile field 8 with wire type 2 is v1.8
       evidence) and a profile attribute (v1.8 field 12) that no rule reads."""
    b = G.Builder(layout, kv_form)
    rp = b.resource({"service.name": "svc-a", "host.name": "node-1"}, schema_url=SCHEMA)
    sp = b.scope(rp)
    st = b.stack([b.location(["main"]), b.location(["start"])])
    cpu = b.cpu_profile(sp, time=T0, duration=DUR, attrs={"profile.note": "n"})
    cpu.profile_id = b"\x11" * 16
    a1, b2, a2 = ({PROC: "alpha", THREAD: "t1", "process.pid": 7},
                  {PROC: "beta", THREAD: "t2"}, {PROC: "alpha", THREAD: "t2"})
    b.sample(cpu, st, timestamps=[T0 + 1, T0 + 2], attrs=a1)
    b.sample(cpu, st, values=[3], attrs=b2)
    b.sample(cpu, st, timestamps=[T0 + 3], attrs=a1)
    b.sample(cpu, st, values=[2], timestamps=[T0 + 4, T0 + 5, T0 + 6], attrs=a2)
    mem = b.profile(sp, ("alloc_space", "bytes"), ("space", "bytes"), 524288,
                    time=T0, duration=DUR, attrs={"profile.note": "n"})
    mem.profile_id = b"\x22" * 16
    b.sample(mem, st, values=[4096], attrs=a1)
    b.sample(mem, st, values=[1000, 24], attrs=a1)
    return b


BASIC_CPU = [(pa("alpha", "t1"), 150_000_000), (pa("beta", "t2"), 150_000_000),
             (pa("alpha", "t2"), 100_000_000)]
BASIC_MEM = [(pa("alpha", "t1"), 5120)]


def verify_basic(r, layout):
    eq(points(r.req, "cpu_time"), BASIC_CPU, "cpu_time points")
    eq(points(r.req, "memory_allocation"), BASIC_MEM, "memory_allocation points")
    stat(r, "layout", layout)
    stat(r, "resources", 1)
    stat(r, "profiles", 2)
    stat(r, "profiles_unclassified", 0)
    stat(r, "samples", 6)
    stat(r, "samples_kept", 6)
    stat(r, "empty_samples", 0)
    stat(r, "invalid_references", 0)
    stat(r, "series", 4)
    stat(r, "overflow_samples", 0)


def add_layout_matrix():
    # (layout, unpacked, dict_first, kv_form, forced?, expected auto layout or None)
    cases = []
    for lay in G.LAYOUTS:
        for unpacked in (False, True):
            cases.append((lay, unpacked, False, "inline", True))
            # Unpacked v1.9 carries no evidence that tells it from v1.10
            # (docs/spec.md section 1: no evidence = v1.10), so auto is not asked of it.
            if not (lay == "v1.9" and unpacked):
                cases.append((lay, unpacked, False, "inline", False))
        cases.append((lay, False, True, "inline", False))
    for unpacked in (False, True):
        for forced in (True, False):
            cases.append(("v1.10", unpacked, False, "strindex", forced))
    cases.append(("v1.10", False, True, "strindex", False))
    for lay, unpacked, dfirst, kv, forced in cases:
        name = "layout_%s_%s_%s_%s_%s" % (lay.replace(".", "_"), "unpacked" if unpacked else "packed",
                                          "dictfirst" if dfirst else "dictlast", kv,
                                          "forced" if forced else "auto")

        def fn(lay=lay, unpacked=unpacked, dfirst=dfirst, kv=kv, forced=forced, name=name):
            data = basic(lay, kv).to_bytes(unpacked, dfirst)
            r = convert_ok(name, data, ["--layout", lay if forced else "auto"])
            verify_basic(r, lay)
            stat(r, "bytes_in", len(data))
            stat(r, "bytes_out", len(r.output))
        check(name)(fn)


add_layout_matrix()


@check("generator_unpacked_rewriter_roundtrip")
def _():
    for lay in G.LAYOUTS:
        b = basic(lay)
        packed = b.to_bytes()
        unpacked = b.to_bytes(unpacked=True)
        need(unpacked != packed, "unpacked bytes equal packed for %s" % lay)
        m = G.module(lay).ExportProfilesServiceRequest()
        m.ParseFromString(unpacked)
        need(m == b.req, "unpacked %s parses to a different message" % lay)
        # No packed (wire type 2) Sample.values/timestamps remain.
        top = G.parse_fields(unpacked)
        rp = [v for f, _, v, _ in top if f == 1][0]
        sp = [v for f, _, v, _ in G.parse_fields(rp) if f == 2][0]
        prof = [v for f, _, v, _ in G.parse_fields(sp) if f == 2][0]
        for f, _, smp, _ in G.parse_fields(prof):
            if f == 2:
                for sf, wt, _, _ in G.parse_fields(smp):
                    need(not (sf in (2, 3, 4, 5) and wt == 2),
                         "%s sample field %d still packed" % (lay, sf))
        first = G.parse_fields(b.to_bytes(dict_first_=True))[0][0]
        eq(first, 2, "first top-level field with dict_first")
        eq(G.parse_fields(packed)[0][0], 1, "first top-level field by default")


# -- sample shapes --

@check("sample_shapes")
def _():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p, values=[5, 7], attrs={THREAD: "vals"})                       # 12
    b.sample(p, timestamps=[T0 + 1, T0 + 2, T0 + 3], attrs={THREAD: "ts"})   # 3
    b.sample(p, values=[10], timestamps=[T0 + 1, T0 + 2], attrs={THREAD: "both"})  # 10
    b.sample(p, attrs={THREAD: "none"})                                      # skipped
    b.sample(p, values=[0], attrs={THREAD: "zero"})                          # 0
    b.sample(p, values=[3, -3], attrs={THREAD: "zero2"})                     # 0
    r = convert_ok("sample_shapes", b.to_bytes())
    eq(points(r.req, "cpu_time"),
       [(pa(None, "vals"), 12), (pa(None, "ts"), 3), (pa(None, "both"), 10),
        (pa(None, "zero"), 0), (pa(None, "zero2"), 0)], "cpu_time points")
    stat(r, "samples", 6)
    stat(r, "empty_samples", 1)
    stat(r, "series", 5)


# -- classification (docs/spec.md section 3) --

def one_profile(layout, sample_type, period_type=None, period=0, values=(7,)):
    b = G.Builder(layout)
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, sample_type, period_type, period, time=T0, duration=DUR)
    b.sample(p, values=list(values), attrs={PROC: "p"})
    return b.to_bytes()


CLASSIFY = [
    # (name, sample_type, period_type, period, metric or None, expected value for values [7])
    ("cpu_nanoseconds", ("cpu", "nanoseconds"), None, 0, "cpu_time", 7),
    ("cpu_ns", ("cpu", "ns"), None, 0, "cpu_time", 7),
    ("cpu_microseconds", ("cpu", "microseconds"), None, 0, "cpu_time", 7_000),
    ("cpu_us", ("cpu", "us"), None, 0, "cpu_time", 7_000),
    ("cpu_milliseconds", ("cpu", "milliseconds"), None, 0, "cpu_time", 7_000_000),
    ("cpu_ms", ("cpu", "ms"), None, 0, "cpu_time", 7_000_000),
    ("cpu_seconds", ("cpu", "seconds"), None, 0, "cpu_time", 7_000_000_000),
    ("cpu_s", ("cpu", "s"), None, 0, "cpu_time", 7_000_000_000),
    ("samples_count_period_ns", ("samples", "count"), ("cpu", "nanoseconds"), 50_000_000,
     "cpu_time", 350_000_000),
    ("samples_count_period_us", ("samples", "count"), ("cpu", "microseconds"), 250,
     "cpu_time", 7 * 250 * 1_000),
    ("samples_count_period_ms", ("samples", "count"), ("cpu", "ms"), 10,
     "cpu_time", 7 * 10 * 1_000_000),
    ("samples_count_period_s", ("samples", "count"), ("cpu", "s"), 2,
     "cpu_time", 14_000_000_000),
    ("samples_count_period_0", ("samples", "count"), ("cpu", "nanoseconds"), 0, None, None),
    ("samples_count_period_wall", ("samples", "count"), ("wall", "nanoseconds"), 1000, None, None),
    ("alloc_space_bytes", ("alloc_space", "bytes"), ("space", "bytes"), 524288,
     "memory_allocation", 7),
    ("alloc_in_new_tlab_bytes", ("alloc_in_new_tlab_bytes", "bytes"), None, 0,
     "memory_allocation", 7),
    ("alloc_space_count", ("alloc_space", "count"), None, 0, None, None),
    ("inuse_space", ("inuse_space", "bytes"), None, 0, None, None),
    ("wall", ("wall", "nanoseconds"), None, 0, None, None),
    ("off_cpu", ("off_cpu", "nanoseconds"), None, 0, None, None),
    ("alloc_objects", ("alloc_objects", "count"), None, 0, None, None),
]


def add_classify():
    for cname, stype, ptype, period, mname, val in CLASSIFY:
        name = "classify_" + cname

        def fn(stype=stype, ptype=ptype, period=period, mname=mname, val=val, name=name):
            r = convert_ok(name, one_profile("v1.10", stype, ptype, period))
            stat(r, "profiles", 1)
            if mname is None:
                stat(r, "profiles_unclassified", 1)
                eq(len(r.req.resource_metrics), 0, "ResourceMetrics of an unclassified-only request")
            else:
                stat(r, "profiles_unclassified", 0)
                eq(points(r.req, mname), [(pa("p"), val)], mname + " points")
                other = "memory_allocation" if mname == "cpu_time" else "cpu_time"
                eq(metric(r.req.resource_metrics[0], other), None, "metric " + other)
        check(name)(fn)


add_classify()


@check("dedup_cpu_and_samples_count_same_scope")
def _():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p1 = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p1, values=[1000], attrs={PROC: "x"})
    p2 = b.cpu_profile(sp, time=T0, duration=DUR)
    b.sample(p2, values=[2], attrs={PROC: "x"})
    r = convert_ok("dedup_same_scope", b.to_bytes())
    eq(points(r.req, "cpu_time"), [(pa("x"), 1000)], "cpu_time points (only cpu/ns counts)")


@check("dedup_only_within_one_scope")
def _():
    b = G.Builder("v1.10")
    rp = b.resource({"service.name": "s"})
    p1 = b.profile(b.scope(rp), ("cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p1, values=[1000], attrs={PROC: "x"})
    p2 = b.cpu_profile(b.scope(rp), time=T0, duration=DUR)
    b.sample(p2, values=[2], attrs={PROC: "x"})
    r = convert_ok("dedup_two_scopes", b.to_bytes())
    eq(points(r.req, "cpu_time"), [(pa("x"), 1000 + 2 * PERIOD)], "cpu_time points")


# -- attributes --

def add_precedence():
    for lay in G.LAYOUTS:
        name = "attribute_precedence_" + lay.replace(".", "_")

        def fn(lay=lay, name=name):
            b = G.Builder(lay)
            rp = b.resource({PROC: "res-proc", THREAD: "res-thread", "service.name": "s"})
            sp = b.scope(rp)
            p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR,
                          attrs={THREAD: "prof-thread"})
            b.sample(p, values=[1])
            b.sample(p, values=[2], attrs={THREAD: "samp-thread"})
            b.sample(p, values=[4], attrs={PROC: "samp-proc"})
            p2 = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
            b.sample(p2, values=[8])
            r = convert_ok(name, b.to_bytes(), ["--layout", lay])
            eq(points(r.req, "cpu_time"),
               [(pa("res-proc", "prof-thread"), 1), (pa("res-proc", "samp-thread"), 2),
                (pa("samp-proc", "prof-thread"), 4), (pa("res-proc", "res-thread"), 8)],
               "cpu_time points")
        check(name)(fn)


add_precedence()


@check("default_attribute_rules")
def _():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s", "host.name": "h"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p, values=[1], attrs={THREAD: "t", PROC: "p", "process.pid": 9, "k8s.pod.name": "x"})
    b.sample(p, values=[2], attrs={PROC: "p"})
    b.sample(p, values=[4])
    b.sample(p, values=[8], attrs={PROC: "p", THREAD: ""})
    r = convert_ok("default_attribute_rules", b.to_bytes())
    # Rule order (process, thread), not sample order; absent or empty
    # values give no attribute.
    eq(points(r.req, "cpu_time"), [(pa("p", "t"), 1), (pa("p"), 2 + 8), ([], 4)],
       "cpu_time points")


@check("config_literal_and_attribute_rules")
def _():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p, values=[3], attrs={PROC: "a", THREAD: "t1", "process.pid": 42})
    b.sample(p, values=[5], attrs={PROC: "a", THREAD: "t2", "process.pid": 42})
    b.sample(p, values=[7], attrs={PROC: "b", "process.pid": 43})
    cfg = ("attributes:\n"
           "  - {key: env, type: literal, value: prod}\n"
           "  - {key: proc, type: attribute, from: process.executable.name}\n"
           "  - {key: pid, type: attribute, from: process.pid}\n")
    r = convert_ok("config_literal_and_attribute_rules", b.to_bytes(), config=cfg)
    eq(points(r.req, "cpu_time"),
       [([("env", "prod"), ("proc", "a"), ("pid", 42)], 8),
        ([("env", "prod"), ("proc", "b"), ("pid", 43)], 7)], "cpu_time points")
    m = metric(r.req.resource_metrics[0], "cpu_time")
    for dp in m.sum.data_points:
        kinds = [(kv.key, kv.value.WhichOneof("value")) for kv in dp.attributes]
        eq(kinds, [("env", "string_value"), ("proc", "string_value"), ("pid", "int_value")],
           "attribute value types")


@check("config_empty_attribute_list")
def _():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p, values=[3], attrs={PROC: "a"})
    b.sample(p, values=[4], attrs={PROC: "b"})
    r = convert_ok("config_empty_attribute_list", b.to_bytes(), config="attributes: []\n")
    eq(points(r.req, "cpu_time"), [([], 7)], "cpu_time points")


@check("series_identity_by_value_with_duplicate_entries")
def _():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    i1 = b.attr(THREAD, "dup")
    i2 = b.attr(THREAD, "dup", dup=True)   # new table entry and new string entry
    need(i1 != i2, "builder did not make a duplicate")
    need(b.d.attribute_table[i1].key_strindex != b.d.attribute_table[i2].key_strindex,
         "builder did not duplicate the key string")
    b.sample(p, values=[3], attrs=[i1])
    b.sample(p, values=[4], attrs=[i2])
    b.sample(p, values=[5], attrs=[i2, b.attr(PROC, "q")])
    r = convert_ok("series_identity_duplicates", b.to_bytes())
    eq(points(r.req, "cpu_time"), [(pa(None, "dup"), 7), (pa("q", "dup"), 5)], "cpu_time points")


@check("max_series_overflow")
def _():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    for t, v in (("a", 1), ("b", 2), ("c", 4), ("a", 16), ("d", 8)):
        b.sample(p, values=[v], attrs={THREAD: t})
    mem = b.profile(sp, ("alloc_space", "bytes"), time=T0, duration=DUR)
    for t, v in (("a", 100), ("b", 200)):
        b.sample(mem, values=[v], attrs={THREAD: t})
    r = convert_ok("max_series_overflow", b.to_bytes(), config="max_series: 2\n")
    eq(points(r.req, "cpu_time"),
       [(pa(None, "a"), 17), (pa(None, "b"), 2), ([("otel.metric.overflow", True)], 12)],
       "cpu_time points")
    m = metric(r.req.resource_metrics[0], "cpu_time")
    eq(m.sum.data_points[2].attributes[0].value.WhichOneof("value"), "bool_value",
       "overflow attribute type")
    eq(points(r.req, "memory_allocation"), [(pa(None, "a"), 100), (pa(None, "b"), 200)],
       "memory points (limit is per metric)")
    stat(r, "overflow_samples", 2)


# -- time windows --

def times(req, name, res=0):
    m = metric(req.resource_metrics[res], name)
    need(m is not None, "metric %s missing" % name)
    return [(dp.start_time_unix_nano, dp.time_unix_nano) for dp in m.sum.data_points]


@check("time_window_over_profiles")
def _():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p1 = b.profile(sp, ("cpu", "nanoseconds"), time=1000 * SEC, duration=50 * SEC)
    b.sample(p1, values=[1], attrs={PROC: "x"})
    p2 = b.profile(sp, ("cpu", "nanoseconds"), time=1010 * SEC, duration=10 * SEC)
    b.sample(p2, values=[1], attrs={PROC: "x"})
    b.sample(p2, values=[1], attrs={PROC: "y"})
    p3 = b.profile(sp, ("cpu", "nanoseconds"), time=990 * SEC, duration=5 * SEC)
    b.sample(p3, values=[1], attrs={PROC: "z"})
    r = convert_ok("time_window_over_profiles", b.to_bytes())
    eq(times(r.req, "cpu_time"),
       [(1000 * SEC, 1050 * SEC), (1010 * SEC, 1020 * SEC), (990 * SEC, 995 * SEC)],
       "(start, time) per point")


@check("time_window_from_sample_timestamps")
def _():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.cpu_profile(sp, time=0, duration=0)
    b.sample(p, timestamps=[T0 + 500, T0 + 100], attrs={PROC: "x"})
    b.sample(p, timestamps=[T0 + 900], attrs={PROC: "x"})
    b.sample(p, timestamps=[T0 + 300], attrs={PROC: "y"})
    r = convert_ok("time_window_from_sample_timestamps", b.to_bytes(), ["--now", str(5 * SEC)])
    eq(points(r.req, "cpu_time"), [(pa("x"), 3 * PERIOD), (pa("y"), PERIOD)], "cpu_time points")
    # The profile's window is its timestamps' min and max.
    eq(times(r.req, "cpu_time"), [(T0 + 100, T0 + 900), (T0 + 100, T0 + 900)],
       "(start, time) per point")


@check("time_window_now")
def _():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"))
    b.sample(p, values=[5], attrs={PROC: "x"})
    now = 1_800_000_000_123_456_789
    r = convert_ok("time_window_now", b.to_bytes(), ["--now", str(now)])
    eq(times(r.req, "cpu_time"), [(now, now)], "(start, time)")
    # Without --now: the current time.
    before = time.time_ns()
    r = convert_ok("time_window_now_default", b.to_bytes())
    after = time.time_ns()
    (start, end), = times(r.req, "cpu_time")
    need(before - SEC <= start <= after + SEC and start == end,
         "default now: (%d, %d) outside [%d, %d]" % (start, end, before, after))


# -- output structure --

def three_resources(kv_form):
    b = G.Builder("v1.10", kv_form)
    rp1 = b.resource([("service.name", "first"), ("container.id", "c1"), ("pid.int", 5)],
                     schema_url=SCHEMA)
    sp = b.scope(rp1)
    mem = b.profile(sp, ("alloc_space", "bytes"), time=T0, duration=DUR)   # memory first
    b.sample(mem, values=[64], attrs={PROC: "m"})
    cpu = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(cpu, values=[9], attrs={PROC: "m"})
    rp2 = b.resource([("service.name", "nodata")])
    p = b.profile(b.scope(rp2), ("wall", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p, values=[1], attrs={PROC: "m"})
    rp3 = b.resource([("service.name", "third")], schema_url="https://example.com/s/1")
    p = b.profile(b.scope(rp3), ("cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p, values=[2_500_000], attrs={PROC: "n"})
    return b


def add_structure():
    for kv in ("inline", "strindex"):
        name = "output_structure_" + kv

        def fn(kv=kv, name=name):
            r = convert_ok(name, three_resources(kv).to_bytes())
            req = r.req
            eq(len(req.resource_metrics), 2, "ResourceMetrics count (the no-data one is left out)")
            rm1, rm2 = req.resource_metrics
            eq(attrs_of(rm1.resource.attributes),
               [("service.name", "first"), ("container.id", "c1"), ("pid.int", 5)],
               "first resource attributes")
            for kvp in rm1.resource.attributes:
                need(kvp.key != "", "resource attribute key not resolved to plain key")
            eq(rm1.schema_url, SCHEMA, "first schema_url")
            eq(attrs_of(rm2.resource.attributes), [("service.name", "third")],
               "second resource attributes")
            eq(rm2.schema_url, "https://example.com/s/1", "second schema_url")
            for rm in (rm1, rm2):
                eq(len(rm.scope_metrics), 1, "ScopeMetrics per ResourceMetrics")
                eq(rm.scope_metrics[0].scope.name, "profile2metrics", "scope name")
                eq(rm.scope_metrics[0].scope.version, version_string(), "scope version")
            eq([m.name for m in rm1.scope_metrics[0].metrics], ["cpu_time", "memory_allocation"],
               "metric order")
            eq([m.name for m in rm2.scope_metrics[0].metrics], ["cpu_time"], "metrics of third")
            cpu, mem = rm1.scope_metrics[0].metrics
            eq((cpu.unit, mem.unit), ("ns", "By"), "units")
            need(cpu.description != "" and mem.description != "", "empty description")
            for m in (cpu, mem):
                eq(m.WhichOneof("data"), "sum", m.name + " data")
                eq(m.sum.is_monotonic, True, m.name + " is_monotonic")
                eq(m.sum.aggregation_temporality, 1, m.name + " temporality")
                for dp in m.sum.data_points:
                    eq(dp.WhichOneof("value"), "as_int", m.name + " value kind")
            eq(points(req, "cpu_time", 0), [(pa("m"), 9)], "first cpu")
            eq(points(req, "memory_allocation", 0), [(pa("m"), 64)], "first memory")
            eq(points(req, "cpu_time", 1), [(pa("n"), 2_500_000)], "third cpu")
            stat(r, "resources", 3)
            stat(r, "profiles", 4)
            stat(r, "profiles_unclassified", 1)
        check(name)(fn)


add_structure()


@check("config_cpu_unit_ms_names_descriptions")
def _():
    cfg = ("metrics:\n"
           "  cpu: {enabled: true, metric_name: proc_cpu, unit: ms, description: \"cpu here\"}\n"
           "  memory: {enabled: true, metric_name: proc_mem, unit: By, description: \"mem here\"}\n")
    r = convert_ok("config_cpu_unit_ms", three_resources("inline").to_bytes(), config=cfg)
    rm1 = r.req.resource_metrics[0]
    eq([(m.name, m.unit, m.description) for m in rm1.scope_metrics[0].metrics],
       [("proc_cpu", "ms", "cpu here"), ("proc_mem", "By", "mem here")], "metrics")
    cpu = rm1.scope_metrics[0].metrics[0]
    eq(cpu.sum.data_points[0].WhichOneof("value"), "as_double", "cpu value kind in ms")
    (a1, v1), = points(r.req, "proc_cpu", 0)
    eq(a1, pa("m"), "first cpu attributes")
    need(abs(v1 - 9e-6) <= 1e-15, "first cpu: expected 9e-06 ms, got %r" % v1)
    eq(points(r.req, "proc_cpu", 1), [(pa("n"), 2.5)], "third cpu (ms)")


@check("config_memory_disabled")
def _():
    cfg = "metrics:\n  memory: {enabled: false}\n"
    r = convert_ok("config_memory_disabled", three_resources("inline").to_bytes(), config=cfg)
    eq([m.name for m in r.req.resource_metrics[0].scope_metrics[0].metrics], ["cpu_time"],
       "metrics")


@check("config_errors_exit_2")
def _():
    data = basic("v1.10").to_bytes()
    for i, cfg in enumerate(("no_such_key: 1\n",
                             "process_filter: {enabled: true}\n",
                             "metrics:\n  cpu: {enabled: false}\n  memory: {enabled: false}\n")):
        r = run_cli("config_error_%d" % i, data, config=cfg)
        need(r.rc == 2, "config %r: exit %d, expected 2; stderr %r" % (cfg, r.rc, r.stderr[:200]))


# -- invalid references --

def bad_refs():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p, values=[1], attrs={PROC: "ok"})
    n = len(b.d.attribute_table)  # after "ok" was added; the next two are added below
    b.sample(p, values=[2], attrs=[-1])
    b.sample(p, values=[4], attrs=[b.attr(PROC, "ok"), n + 50])
    b.sample(p, values=[8], attrs={PROC: "ok"})
    return b


@check("invalid_references_skipped_and_counted")
def _():
    r = convert_ok("invalid_references", bad_refs().to_bytes())
    eq(points(r.req, "cpu_time"), [(pa("ok"), 9)], "cpu_time points")
    stat(r, "invalid_references", 2)
    stat(r, "samples", 4)


@check("invalid_references_strict_exit_1")
def _():
    r = run_cli("invalid_references_strict", bad_refs().to_bytes(), config="strict: true\n")
    eq(r.rc, 1, "exit status")
    eq(r.stdout, b"", "stdout")


def wide_keys(n_samples=48):
    """Attribute entries written key first whose keys are string indices of
    two and three varint bytes (a string table of over 16 384 strings), as a
    large window's are: the dictionary index recognises such keys by their
    bytes, in a cache entry per key index mod 8. "other" (whose varint starts
    with thread.name's first byte) shares thread.name's entry and takes it
    over every fourth sample; an entry with a key outside the string table,
    and one whose value is a long string, go the general way. Returns the
    builder and the expected cpu_time points, summed here from the samples'
    definition."""
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)

    def key_at(key, at_least, mod8):
        while len(b.d.string_table) < at_least or len(b.d.string_table) % 8 != mod8:
            b.s("filler-%d" % len(b.d.string_table))
        return b.s(key)

    keys = (key_at(PROC, 200, 1), key_at(THREAD, 16_400, 2), key_at("thread.id", 0, 3))
    keys += (key_at("other", keys[1] + 128, 2),)  # thread.name's first varint byte too
    need(keys[0] >= 128 and keys[1] >= 16_384 and keys[3] == keys[1] + 128,
         "key indices %r" % (keys,))
    expect, order = {}, []
    for i in range(n_samples):
        proc, thread = "exe-%d" % (i % 3), "w-%d" % (i % 20)
        attrs = [(PROC, proc), (THREAD, thread), ("thread.id", 1000 + i)]
        if i % 4 == 3:
            attrs.append(("other", "o%d" % i))
        b.sample(p, values=[i + 1], attrs=attrs)
        if (proc, thread) not in expect:
            order.append((proc, thread))
        expect[(proc, thread)] = expect.get((proc, thread), 0) + i + 1
    bad = b.d.attribute_table.add()             # a key past the string table's end
    bad.key_strindex = 100_000
    bad.value.string_value = "x"
    b.sample(p, values=[1_000_000], attrs=[b.attr(PROC, "exe-0"), len(b.d.attribute_table) - 1])
    long_name = "long-" + "x" * 130             # a string value of two length bytes
    b.sample(p, values=[7], attrs={PROC: "exe-1", THREAD: long_name})
    order.append(("exe-1", long_name))
    expect[("exe-1", long_name)] = 7
    return b, [(pa(k[0], k[1]), expect[k]) for k in order]


@check("attribute_keys_of_several_bytes")
def _():
    b, expected = wide_keys()
    r = convert_ok("attribute_keys_of_several_bytes", b.to_bytes())
    eq(points(r.req, "cpu_time"), expected, "cpu_time points")
    stat(r, "invalid_references", 1)


# -- wire robustness that is not an error --

PROFILE0 = [(1, 0), (2, 0), (2, 0)]


@check("unknown_fields_skipped")
def _():
    b = basic("v1.10")
    data = b.to_bytes()
    unk = (G.f_varint(99, 5) + G.f_fixed64(100, 7) + G.f_bytes(101, b"\x08\x01zz")
           + G.enc_tag(102, 5) + b"\x01\x02\x03\x04" + G.f_varint(536870911, 1))
    for path in ([], [(2, 0)], [(1, 0)], [(1, 0), (1, 0)], [(1, 0), (2, 0)], PROFILE0,
                 PROFILE0 + [(2, 1)], PROFILE0 + [(1, 0)], [(2, 0), (6, 1)], [(2, 0), (7, 1)],
                 [(2, 0), (6, 1), (2, 0)], [(1, 0), (1, 0), (1, 0)]):
        data = G.append_raw(data, path, unk)
    # Google protobuf still reads it as the same request.
    chk = G.module("v1.10").ExportProfilesServiceRequest()
    chk.ParseFromString(data)
    chk.DiscardUnknownFields()
    need(chk == b.req, "test bug: injected request differs")
    r = convert_ok("unknown_fields", data, ["--layout", "auto"])
    verify_basic(r, "v1.10")


@check("repeated_scalar_last_wins")
def _():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.cpu_profile(sp, time=5, duration=1)
    p.period = 1
    b.sample(p, values=[3], attrs={PROC: "x"})
    data = b.to_bytes()
    # Later copies of period (6), time_unix_nano (3), duration_nano (4).
    data = G.append_raw(data, PROFILE0, G.f_varint(6, PERIOD) + G.f_fixed64(3, T0)
                        + G.f_varint(4, DUR))
    chk = G.module("v1.10").ExportProfilesServiceRequest()
    chk.ParseFromString(data)
    eq(chk.resource_profiles[0].scope_profiles[0].profiles[0].period, PERIOD, "test bug: period")
    r = convert_ok("repeated_scalar_last_wins", data)
    eq(points(r.req, "cpu_time"), [(pa("x"), 3 * PERIOD)], "cpu_time points")
    eq(times(r.req, "cpu_time"), [(T0, T0 + DUR)], "(start, time)")


# -- malformed input --

MALFORMED_RE = re.compile(r"^p2m: malformed input at byte (\d+): .+", re.M)


def malformed(name, data, lo=0, hi=None):
    """Runs the CLI writing to stdout; expects exit 1, empty stdout and the
    message with an offset in [lo, hi]."""
    r = run_cli(name, data, out=False, stats=False)
    if r.rc != 1:
        return "exit %d (expected 1), stderr %r" % (r.rc, r.stderr[:160])
    if r.stdout:
        return "%d bytes on stdout" % len(r.stdout)
    m = MALFORMED_RE.search(r.stderr)
    if not m:
        return "no 'p2m: malformed input at byte N: ...' on stderr: %r" % r.stderr[:160]
    off = int(m.group(1))
    hi = len(data) if hi is None else hi
    if not lo <= off <= hi:
        return "offset %d outside [%d, %d]" % (off, lo, hi)
    return None


def small_valid():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "m"}))
    p = b.cpu_profile(sp, time=T0, duration=DUR)
    st = b.stack([b.location(["f"]), b.location(["g"])])
    b.sample(p, st, timestamps=[T0 + 1, T0 + 2], attrs={PROC: "a", THREAD: "t"})
    b.sample(p, st, values=[3], attrs={PROC: "b"})
    return b.to_bytes()


@check("malformed_every_truncation")
def _():
    data = small_valid()
    need(100 < len(data) < 1000, "test bug: size %d" % len(data))
    # Truncation at a top-level field boundary leaves a valid request.
    bounds = {0}
    pos = 0
    for _, _, _, raw in G.parse_fields(data):
        pos += len(raw)
        bounds.add(pos)
    errors = []
    for n in range(len(data)):
        if n == 0:  # no bytes at all: p2m calls that an empty input (exit 1)
            r = run_cli("trunc_boundary_0", b"", out=False, stats=False)
            if r.rc != 1 or "p2m: empty input" not in r.stderr:
                errors.append("prefix 0 (empty): exit %d %r" % (r.rc, r.stderr[:100]))
            continue
        if n in bounds:
            r = run_cli("trunc_boundary_%d" % n, data[:n], out=False, stats=False)
            if r.rc != 0:
                errors.append("prefix %d (a field boundary, valid): exit %d" % (n, r.rc))
            continue
        e = malformed("trunc_%d" % n, data[:n])
        if e:
            errors.append("prefix %d: %s" % (n, e))
            if len(errors) >= 20:
                break
        elif not errors:
            os.remove(os.path.join(GOLDEN, "trunc_%d.otlp" % n))
    need(not errors, "%d of %d prefixes wrong; first: %s" % (len(errors), len(data), "; ".join(errors[:3])))


@check("malformed_length_prefixes")
def _():
    data = small_valid()
    top = G.parse_fields(data)
    f1, _, val, raw = top[0]
    hdr = len(raw) - len(val)             # tag + length bytes of the first field
    errors = []
    for i, ln in enumerate((len(val) + 1, len(val) + 100, 0x7FFFFFFF, (1 << 64) - 1)):
        bad = G.enc_tag(1, 2) + G.enc_varint(ln) + val + data[len(raw):]
        e = malformed("len_top_%d" % i, bad)
        if e:
            errors.append("top length %d: %s" % (ln, e))
    # A nested length one byte longer than its parent's remaining content.
    rp = G.parse_fields(val)
    sp_field = [x for x in rp if x[0] == 2][0]
    pre = b"".join(x[3] for x in rp[:rp.index(sp_field)])
    post = b"".join(x[3] for x in rp[rp.index(sp_field) + 1:])
    bad_sp = G.enc_tag(2, 2) + G.enc_varint(len(sp_field[2]) + len(post) + 1) + sp_field[2] + post
    new_rp = pre + bad_sp
    bad = G.enc_tag(1, 2) + G.enc_varint(len(new_rp)) + new_rp + data[len(raw):]
    e = malformed("len_nested", bad)
    if e:
        errors.append("nested length: %s" % e)
    need(hdr > 1, "test bug")
    need(not errors, "; ".join(errors))


@check("malformed_wire_types_3_4_6_7")
def _():
    data = small_valid()
    errors = []
    for wt in (3, 4, 6, 7):
        tag = G.enc_tag(9, wt)
        e = malformed("wiretype_%d_top" % wt, data + tag + b"\x00" * 8, len(data), len(data) + len(tag))
        if e:
            errors.append("top wt %d: %s" % (wt, e))
        nested = G.append_raw(data, PROFILE0 + [(2, 0)], tag + b"\x00" * 8)
        e = malformed("wiretype_%d_sample" % wt, nested)
        if e:
            errors.append("sample wt %d: %s" % (wt, e))
    need(not errors, "; ".join(errors))


@check("malformed_field_number_0")
def _():
    data = small_valid()
    errors = []
    for i, raw in enumerate((b"\x00\x00", b"\x02\x00", b"\x01" + b"\x00" * 8, b"\x05\x00\x00\x00\x00")):
        e = malformed("field0_top_%d" % i, data + raw, len(data), len(data) + 1)
        if e:
            errors.append("top %r: %s" % (raw, e))
    e = malformed("field0_sample", G.append_raw(data, PROFILE0 + [(2, 1)], b"\x00\x01"))
    if e:
        errors.append("sample: %s" % e)
    need(not errors, "; ".join(errors))


def nested_arrays(depth):
    """An AnyValue holding depth nested ArrayValues (innermost a string)."""
    av = G.f_bytes(1, "deep")                      # AnyValue{string_value}
    for _ in range(depth):
        av = G.f_bytes(5, G.f_bytes(1, av))        # AnyValue{array_value{values: av}}
    return av


@check("malformed_nesting_deeper_than_32")
def _():
    data = small_valid()
    kv = G.f_bytes(1, "deep.attr") + G.f_bytes(2, nested_arrays(40))
    bad = G.append_raw(data, [(1, 0), (1, 0)], G.f_bytes(1, kv))
    e = malformed("nesting_40", bad)
    need(e is None, "80+ levels of nesting: %s" % (e,))


@check("malformed_attribute_value_length_is_checked")
def _():
    # An attribute-table entry no sample uses whose AnyValue is a
    # string_value with a two-byte length running one byte past its end: the
    # first length byte plus two equals the AnyValue's size, as a one-byte
    # length would.
    data = small_valid()
    av = b"\x0a\x85\x01" + b"x" * 132
    need(len(av) == 0x85 + 2, "the AnyValue's size")
    entry = G.f_varint(1, 0) + G.f_bytes(2, av)
    bad = G.append_raw(data, [(2, 0)], G.f_bytes(6, entry))
    e = malformed("attribute_value_length", bad)
    need(e is None, "a string_value's length past its AnyValue: %s" % (e,))


@check("attribute_entries_in_any_field_order")
def _():
    # Attribute-table entries as senders write them and as they may: key
    # first, value first (Go's eBPF profiler), the key as an overlong
    # two-byte varint, a unit after the value, the key twice (the last
    # counts). Each sample refers to one; its thread.name must come out.
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "m"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    st = b.stack([b.location(["f"])])
    kt, ku, kx = b.s(THREAD), b.s("bytes"), b.s("other.key")
    need(kt < 128, "test bug: the key's index takes one byte")
    n0 = len(b.d.attribute_table)

    def val(text):
        return G.f_bytes(2, G.f_bytes(1, text))
    entries = [G.f_varint(1, kt) + val("t0"),
               val("t1") + G.f_varint(1, kt),
               val("t2") + bytes([0x08, 0x80 | kt, 0x00]),
               G.f_varint(1, kt) + val("t3") + G.f_varint(3, ku),
               G.f_varint(1, kx) + val("t4") + G.f_varint(1, kt)]
    for i in range(len(entries)):
        b.sample(p, st, values=[10 + i], attrs=[n0 + i])
    data = b.to_bytes()
    for e in entries:
        data = G.append_raw(data, [(2, 0)], G.f_bytes(6, e))
    r = convert_ok("attribute_entry_order", data)
    eq(sorted(points(r.req, "cpu_time")), [(pa(thread="t%d" % i), 10 + i) for i in range(5)],
       "cpu_time points")


@check("nesting_within_limit_accepted")
def _():
    data = small_valid()
    kv = G.f_bytes(1, "deep.attr") + G.f_bytes(2, nested_arrays(10))
    ok = G.append_raw(data, [(1, 0), (1, 0)], G.f_bytes(1, kv))
    r = convert_ok("nesting_10", ok)
    eq(len(r.req.resource_metrics), 1, "ResourceMetrics")


@check("malformed_varint_longer_than_10")
def _():
    data = small_valid()
    errors = []
    long = b"\x80" * 10 + b"\x00"
    e = malformed("varint11_top", data + G.enc_tag(9, 0) + long)
    if e:
        errors.append("value at top: %s" % e)
    e = malformed("varint11_tag", data + b"\x88" + b"\x80" * 9 + b"\x00")
    if e:
        errors.append("tag at top: %s" % e)
    e = malformed("varint11_sample", G.append_raw(data, PROFILE0 + [(2, 0)], G.enc_tag(1, 0) + long))
    if e:
        errors.append("sample stack_index: %s" % e)
    need(not errors, "; ".join(errors))


# -- real captures --

def effective_totals(req):
    """Independent count over a decoded v1.8 request: cpu ns per
    (resource index, process name) for samples/count profiles with a
    cpu period, value = sum(values) or len(timestamps), times period."""
    d = req.dictionary
    st = d.string_table

    def kv_list(kvs):
        out = {}
        for kv in kvs:
            w, v = any_value(kv.value)
            out[kv.key] = v
        return out

    def table_attrs(indices):
        out = {}
        for i in indices:
            e = d.attribute_table[i]
            out[st[e.key_strindex]] = any_value(e.value)[1]
        return out

    totals = {}
    for ri, rp in enumerate(req.resource_profiles):
        res = kv_list(rp.resource.attributes)
        for sp in rp.scope_profiles:
            for p in sp.profiles:
                stype = (st[p.sample_type.type_strindex], st[p.sample_type.unit_strindex])
                ptype = (st[p.period_type.type_strindex], st[p.period_type.unit_strindex])
                need(stype == ("samples", "count") and ptype == ("cpu", "nanoseconds"),
                     "capture has an unexpected profile type %r %r" % (stype, ptype))
                prof = table_attrs(p.attribute_indices)
                for s in p.samples:
                    eff = dict(res)
                    eff.update(prof)
                    eff.update(table_attrs(s.attribute_indices))
                    v = sum(s.values) if len(s.values) else len(s.timestamps_unix_nano)
                    key = (ri, eff.get(PROC))
                    totals[key] = totals.get(key, 0) + v * p.period
    return totals


def output_totals(req):
    """cpu_time per (ResourceMetrics index, process name) from our output."""
    out = {}
    for ri, rm in enumerate(req.resource_metrics):
        m = metric(rm, "cpu_time")
        if m is None:
            continue
        for dp in m.sum.data_points:
            a = dict(attrs_of(dp.attributes))
            key = (ri, a.get(PROC))
            out[key] = out.get(key, 0) + dp.as_int
    return out


def renumber(totals, nonempty):
    """Maps input resource indices to output ResourceMetrics indices (those
    with no cpu data are left out of the output)."""
    order = {ri: i for i, ri in enumerate(nonempty)}
    return {(order[ri], p): v for (ri, p), v in totals.items()}


def expected_auto_layout(data):
    """docs/spec.md section 1 evidence, read with our own wire splitter."""
    old = new = v18 = False
    for f, wt, rp, _ in G.parse_fields(data):
        if f != 1:
            continue
        for f2, _, sp, _ in G.parse_fields(rp):
            if f2 != 2:
                continue
            for f3, _, prof, _ in G.parse_fields(sp):
                if f3 != 2:
                    continue
                for pf, pwt, smp, _ in G.parse_fields(prof):
                    if pf == 12 or (pf == 8 and pwt == 2) or (pf == 7 and pwt == 0):
                        v18 = True
                    if pf == 2:
                        for sf, swt, _, _ in G.parse_fields(smp):
                            old |= sf == 3 and swt == 2
                            new |= sf == 4 and swt == 2
    need(not new, "capture has v1.10 evidence")
    return "v1.8" if v18 else ("v1.9" if old else "v1.10")


def real_path(name):
    path = os.path.join(REAL, name)
    need(os.path.exists(path), "capture %s not found" % path)
    with open(path, "rb") as f:
        return f.read()


@check("real_capture_profile_auto_cpu_per_process")
def _():
    data = real_path("sig-profiling-profile.otlp")
    req = G.module("v1.8").ExportProfilesServiceRequest()
    req.ParseFromString(data)
    expected = effective_totals(req)
    nonempty = sorted({ri for ri, _ in expected})
    r = convert_ok("real_profile", data, ["--layout", "auto"])
    stat(r, "layout", expected_auto_layout(data))
    stat(r, "samples", sum(len(p.samples) for rp in req.resource_profiles
                           for sp in rp.scope_profiles for p in sp.profiles))
    eq(len(r.req.resource_metrics), len(nonempty), "ResourceMetrics count")
    got = output_totals(r.req)
    eq(got, renumber(expected, nonempty), "cpu ns per (resource, process)")
    need(sum(got.values()) > 0, "no cpu time at all")
    # Resource, schema_url and time window of each output resource.
    for oi, ri in enumerate(nonempty):
        rp, rm = req.resource_profiles[ri], r.req.resource_metrics[oi]
        eq(attrs_of(rm.resource.attributes), attrs_of(rp.resource.attributes),
           "resource %d attributes" % ri)
        eq(rm.schema_url, rp.schema_url, "resource %d schema_url" % ri)
        profs = [p for sp in rp.scope_profiles for p in sp.profiles if len(p.samples)]
        win = (min(p.time_unix_nano for p in profs),
               max(p.time_unix_nano + p.duration_nano for p in profs))
        for t in times(r.req, "cpu_time", oi):
            eq(t, win, "resource %d (start, time)" % ri)


@check("real_capture_profile_forced_v1_8")
def _():
    data = real_path("sig-profiling-profile.otlp")
    req = G.module("v1.8").ExportProfilesServiceRequest()
    req.ParseFromString(data)
    expected = effective_totals(req)
    nonempty = sorted({ri for ri, _ in expected})
    r = convert_ok("real_profile_v1_8", data, ["--layout", "v1.8"])
    stat(r, "layout", "v1.8")
    eq(output_totals(r.req), renumber(expected, nonempty), "cpu ns per (resource, process)")


def unframe(data):
    msgs = []
    pos = 0
    while pos < len(data):
        need(pos + 4 <= len(data), "stream: truncated length at %d" % pos)
        n = struct.unpack(">I", data[pos:pos + 4])[0]
        need(pos + 4 + n <= len(data), "stream: truncated message at %d" % pos)
        msgs.append(data[pos + 4:pos + 4 + n])
        pos += 4 + n
    return msgs


@check("real_capture_k8s_stream")
def _():
    data = real_path("sig-profiling-k8s.otlp")
    inputs = unframe(data)
    eq(len(inputs), 2, "test bug: messages in the capture")
    r = run_cli("real_k8s_stream", data, ["--input-format", "otlp-stream"])
    need(r.rc == 0, "exit %d: %s; stderr %s" % (r.rc, r.cmd, r.stderr[:300]))
    need(r.output is not None, "no output")
    outs = unframe(r.output)
    eq(len(outs), len(inputs), "metrics messages in the output stream")
    for i, (inp, outp) in enumerate(zip(inputs, outs)):
        req = G.module("v1.8").ExportProfilesServiceRequest()
        req.ParseFromString(inp)
        expected = effective_totals(req)
        nonempty = sorted({ri for ri, _ in expected})
        mreq = M.ExportMetricsServiceRequest()
        mreq.ParseFromString(outp)
        eq(output_totals(mreq), renumber(expected, nonempty), "message %d: cpu ns per process" % i)


@check("demo_otlp_converts")
def _():
    with open(os.path.join(ROOT, "examples", "demo.otlp"), "rb") as f:
        data = f.read()
    need(len(data) < 20_000, "demo.otlp is %d bytes" % len(data))
    req = G.module("v1.10").ExportProfilesServiceRequest()
    req.ParseFromString(data)
    # Independent totals: cpu = timestamps x period; memory = sum of values.
    cpu = mem = 0
    for rp in req.resource_profiles:
        for sp in rp.scope_profiles:
            for p in sp.profiles:
                st = req.dictionary.string_table
                t = st[p.sample_type.type_strindex]
                for s in p.samples:
                    if t == "samples":
                        cpu += len(s.timestamps_unix_nano) * p.period
                    elif t == "alloc_space":
                        mem += sum(s.values)
    r = convert_ok("demo", data)
    got_cpu = sum(v for i in range(len(r.req.resource_metrics)) for _, v in points(r.req, "cpu_time", i))
    got_mem = sum(v for _, v in points(r.req, "memory_allocation", 0))
    eq((got_cpu, got_mem), (cpu, mem), "(cpu ns, memory bytes) totals")
    stat(r, "resources", 2)


# -- filters (docs/spec.md section 4) --

def filter_request():
    """Samples (values on cpu/ns): alpha/t1 1, beta/t1 2, alpha/t2 4,
    (no process)/t1 8, alpha/t1 env prod-eu 16, gamma/prodthread 32."""
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p, values=[1], attrs={PROC: "alpha", THREAD: "t1"})
    b.sample(p, values=[2], attrs={PROC: "beta", THREAD: "t1"})
    b.sample(p, values=[4], attrs={PROC: "alpha", THREAD: "t2"})
    b.sample(p, values=[8], attrs={THREAD: "t1"})
    b.sample(p, values=[16], attrs={PROC: "alpha", THREAD: "t1",
                                    "deployment.environment.name": "prod-eu"})
    b.sample(p, values=[32], attrs={PROC: "gamma", THREAD: "prodthread"})
    return b.to_bytes()


FILTERS = [
    # (name, config, expected cpu points, dropped stat, dropped count)
    ("process_filter", "process_filter: {enabled: true, pattern: \"^al\"}\n",
     [(pa("alpha", "t1"), 17), (pa("alpha", "t2"), 4)], "dropped_process", 3),
    ("process_filter_patterns", "process_filter: {enabled: true, pattern: \"^b\", patterns: [\"mm\"]}\n",
     [(pa("beta", "t1"), 2), (pa("gamma", "prodthread"), 32)], "dropped_process", 4),
    ("thread_filter", "thread_filter: {enabled: true, patterns: [\"^t1$\", \"^zz\"]}\n",
     [(pa("alpha", "t1"), 17), (pa("beta", "t1"), 2), (pa(None, "t1"), 8)], "dropped_thread", 2),
    ("thread_filter_case", "thread_filter: {enabled: true, pattern: \"(?i)^PROD\"}\n",
     [(pa("gamma", "prodthread"), 32)], "dropped_thread", 5),
    ("pattern_filter_keys", "pattern_filter: {enabled: true, pattern: \"prod\", "
     "keys: [deployment.environment.name]}\n",
     [(pa("alpha", "t1"), 16)], "dropped_pattern", 5),
    ("pattern_filter_any_key", "pattern_filter: {enabled: true, pattern: \"prod\"}\n",
     [(pa("alpha", "t1"), 16), (pa("gamma", "prodthread"), 32)], "dropped_pattern", 4),
]


def add_filters():
    for fname, cfg, expected, key, dropped in FILTERS:
        name = "filter_" + fname

        def fn(cfg=cfg, expected=expected, key=key, dropped=dropped, name=name):
            r = convert_ok(name, filter_request(), config=cfg)
            eq(points(r.req, "cpu_time"), expected, "cpu_time points")
            stat(r, key, dropped)
            stat(r, "samples", 6)
            stat(r, "samples_kept", 6 - dropped)
        check(name)(fn)


add_filters()


@check("filter_drops_everything")
def _():
    r = convert_ok("filter_drops_everything", filter_request(),
                   config="process_filter: {enabled: true, pattern: \"^nomatch$\"}\n")
    eq(len(r.req.resource_metrics), 0, "ResourceMetrics")
    stat(r, "dropped_process", 6)
    stat(r, "samples_kept", 0)


@check("config_process_key")
def _():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p, values=[1], attrs={"proc.comm": "alpha", PROC: "zzz"})
    b.sample(p, values=[2], attrs={"proc.comm": "beta", PROC: "alpha"})
    r = convert_ok("config_process_key", b.to_bytes(),
                   config="attributes: []\nprocess_key: proc.comm\n"
                          "process_filter: {enabled: true, pattern: \"^alpha$\"}\n")
    eq(points(r.req, "cpu_time"), [([], 1)], "cpu_time points")
    stat(r, "dropped_process", 1)


@check("connector_documented_example")
def _():
    # The Go connector's architecture page: string table main, worker-1,
    # my-service, production; attributes service.name, process.name,
    # thread.name; process filter "main|worker.*", thread filter
    # "worker-.*", pattern filter "my-.*". Only samples whose process,
    # thread and some attribute all match make metrics.
    b = G.Builder("v1.10")
    for text in ("main", "worker-1", "my-service", "production"):
        b.s(text)
    sp = b.scope(b.resource({}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p, values=[100], attrs={"service.name": "my-service", "process.name": "main",
                                     "thread.name": "worker-1"})
    b.sample(p, values=[10], attrs={"service.name": "my-service", "process.name": "main",
                                    "thread.name": "main"})
    b.sample(p, values=[20], attrs={"service.name": "my-service", "process.name": "other",
                                    "thread.name": "worker-1"})
    b.sample(p, values=[40], attrs={"service.name": "production", "process.name": "main",
                                    "thread.name": "worker-1"})
    cfg = ("attributes:\n"
           "  - {key: service.name, type: attribute, from: service.name}\n"
           "  - {key: process.name, type: attribute, from: process.name}\n"
           "  - {key: thread.name, type: attribute, from: thread.name}\n"
           "process_key: process.name\n"
           "process_filter: {enabled: true, pattern: \"main|worker.*\"}\n"
           "thread_filter: {enabled: true, pattern: \"worker-.*\"}\n"
           "pattern_filter: {enabled: true, pattern: \"my-.*\"}\n")
    r = convert_ok("connector_documented_example", b.to_bytes(), config=cfg)
    eq(points(r.req, "cpu_time"),
       [([("service.name", "my-service"), ("process.name", "main"), ("thread.name", "worker-1")], 100)],
       "cpu_time points")
    stat(r, "dropped_process", 1)
    stat(r, "dropped_thread", 1)
    stat(r, "dropped_pattern", 1)
    stat(r, "samples_kept", 1)


@check("filter_memoised_per_distinct_value")
def _():
    # 1200 samples over 3 process names and 2 thread names. Each distinct
    # value is searched once per request: alpha needs 1 search (^a matches),
    # beta 2, gamma 2 (the second pattern matches); of the threads of the
    # samples that pass (alpha, gamma), t1 and t2 need 1 each: 7 searches.
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    for i in range(1200):
        b.sample(p, values=[1], attrs={PROC: ("alpha", "beta", "gamma")[i % 3],
                                       THREAD: ("t1", "t2")[i % 2]})
    cfg = ("process_filter: {enabled: true, patterns: [\"^a\", \"^g\"]}\n"
           "thread_filter: {enabled: true, pattern: \"1$\"}\n")
    r = convert_ok("filter_memoised", b.to_bytes(), config=cfg)
    stat(r, "regex_searches", 7)
    stat(r, "dropped_process", 400)
    stat(r, "dropped_thread", 400)
    eq(points(r.req, "cpu_time"), [(pa("alpha", "t1"), 200), (pa("gamma", "t1"), 200)],
       "cpu_time points")


@check("memo_runs_of_known_samples")
def _():
    # 600 samples in one profile, so that the sample memo is on: runs of
    # samples whose attribute bytes the memo knows, broken by what it does
    # not know (a new thread every 50 samples, a sample with a field the
    # in-place reader leaves to the field reader), with known samples whose
    # outcome is a drop (process filter), an invalid attribute reference or
    # no value. Expected values come from the builder's own samples.
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("samples", "count"), ("cpu", "nanoseconds"), G.PERIOD, T0, DUR)
    sets = [("alpha", "t1"), ("beta", "t1"), ("gamma", "t2"), ("alpha", "t2")]
    want, kept, drop, bad, empty, odd = {}, 0, 0, 0, 0, []
    for i in range(600):
        proc, thread = sets[i % 4] if i % 50 != 49 else ("gamma", "new-%d" % (i // 50))
        attrs = {PROC: proc, THREAD: thread}
        if i % 13 == 5:  # one more index, outside the attribute table
            smp = b.sample(p, values=[1], attrs=attrs)
            smp.attribute_indices.append(9999)
            bad += 1
            continue
        if proc == "beta":
            b.sample(p, values=[1 + i % 7], attrs=attrs)
            drop += 1
            continue
        if i % 17 == 3:
            b.sample(p, attrs=attrs)
            empty += 1
            continue
        if i % 3 == 0:  # timestamps only: one period each
            n = 1 + i % 4
            b.sample(p, timestamps=[T0 + k for k in range(n)], attrs=attrs)
        else:
            n = 1 + i % 7
            b.sample(p, values=[n], attrs=attrs)
        want[(proc, thread)] = want.get((proc, thread), 0) + n * G.PERIOD
        kept += 1
        if i % 11 == 7:
            odd.append(i)
    data = b.to_bytes()
    for i in odd:  # a field with a two-byte tag: not read in place
        data = G.append_raw(data, PROFILE0 + [(2, i)], G.f_varint(20, 1))
    cfg = "process_filter: {enabled: true, patterns: [\"^a\", \"^g\"]}\n"
    r = convert_ok("memo_runs", data, config=cfg)
    stat(r, "samples", 600)
    stat(r, "samples_kept", kept)
    stat(r, "dropped_process", drop)
    stat(r, "invalid_references", bad)
    stat(r, "empty_samples", empty)
    eq(sorted(points(r.req, "cpu_time")), sorted((pa(k[0], k[1]), v) for k, v in want.items()),
       "cpu_time points")


@check("memo_by_slot_values")
def _():
    # 400 samples whose attribute bytes all differ (a thread.id of their
    # own, which no rule or filter reads) over a few (process, thread)
    # pairs: the memo may answer from the values the engine reads. A drop,
    # an invalid reference and an empty sample among them, and max_series
    # sending the third pair to the overflow point. Expected values are
    # summed here from the builder's samples.
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    pairs = [("alpha", "t1"), ("beta", "t1"), ("alpha", "t2"), ("gamma", "t1"), ("gamma", "t3")]
    want, over, drop, bad, empty = {}, 0, 0, 0, 0
    seen = []
    for i in range(400):
        proc, thread = pairs[(i * 7 + i // 5) % len(pairs)]
        attrs = {PROC: proc, THREAD: thread, "thread.id": 100000 + i}
        if i % 29 == 11:
            smp = b.sample(p, values=[1], attrs=attrs)
            smp.attribute_indices.append(99999)
            bad += 1
        elif proc == "beta":
            b.sample(p, values=[1], attrs=attrs)
            drop += 1
        elif i % 31 == 7:
            b.sample(p, attrs=attrs)
            empty += 1
        else:
            b.sample(p, values=[1 + i % 5], attrs=attrs)
            if (proc, thread) not in seen:
                seen.append((proc, thread))
            if seen.index((proc, thread)) < 2:
                want[(proc, thread)] = want.get((proc, thread), 0) + 1 + i % 5
            else:
                over += 1 + i % 5
    cfg = "max_series: 2\nprocess_filter: {enabled: true, patterns: [\"^a\", \"^g\"]}\n"
    r = convert_ok("memo_by_slots", b.to_bytes(), config=cfg)
    stat(r, "dropped_process", drop)
    stat(r, "invalid_references", bad)
    stat(r, "empty_samples", empty)
    expect = [(pa(k[0], k[1]), v) for k, v in want.items()] + [([("otel.metric.overflow", True)],
                                                                 over)]
    eq(sorted(points(r.req, "cpu_time")), sorted(expect), "cpu_time points")


# -- attribute rules (docs/spec.md section 5) --

@check("rule_regex_sources_and_default")
def _():
    b = G.Builder("v1.10")
    b.s("zzz")
    b.s("v2.7")     # first string-table match of ^v(\d+\.\d+)$
    b.s("v3.1")
    sp = b.scope(b.resource({"service.name": "s", "k8s.pod.name": "checkout-7d9f8b-x2x9q"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    st1 = b.stack([b.location([("main.handle", 10), ("main.inlined", 3)]), b.location(["main.main"])])
    st2 = b.stack([b.location(["runtime.mallocgc"]), b.location(["main.main"])])
    b.sample(p, st1, values=[1], attrs={THREAD: "web-1"})
    b.sample(p, st2, values=[2], attrs={THREAD: "db-1"})
    cfg = ("attributes:\n"
           "  - {key: pod, type: regex, source: k8s.pod.name, value: \"^(.*)-[a-z0-9]+-[a-z0-9]+$\"}\n"
           "  - {key: ver, type: regex, value: \"^v(\\\\d+\\\\.\\\\d+)$\"}\n"
           "  - {key: fn, type: regex, source: function, value: \"^main\\\\.\\\\w+\"}\n"
           "  - {key: tier, type: regex, source: thread.name, value: \"^(web)-\", default: other}\n"
           "  - {key: first, type: string_table, index: 1}\n")
    r = convert_ok("rule_regex", b.to_bytes(), config=cfg)
    eq(points(r.req, "cpu_time"),
       [([("pod", "checkout"), ("ver", "2.7"), ("fn", "main.handle"), ("tier", "web"),
          ("first", "zzz")], 1),
        ([("pod", "checkout"), ("ver", "2.7"), ("tier", "other"), ("first", "zzz")], 2)],
       "cpu_time points")


@check("rule_same_key_fallback_order")
def _():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p, values=[1], attrs={THREAD: "t", "custom.name": "c"})
    b.sample(p, values=[2], attrs={THREAD: "t"})
    b.sample(p, values=[4], attrs={THREAD: "t", "custom.name": ""})
    cfg = ("attributes:\n"
           "  - {key: name, type: attribute, from: thread.name}\n"
           "  - {key: other, type: literal, value: x}\n"
           "  - {key: name, type: attribute, from: custom.name}\n")
    r = convert_ok("rule_same_key_fallback", b.to_bytes(), config=cfg)
    eq(points(r.req, "cpu_time"),
       [([("other", "x"), ("name", "c")], 1), ([("name", "t"), ("other", "x")], 6)],
       "cpu_time points")


# -- type rules, layout and collector configuration --

@check("config_type_rules")
def _():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("wall", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p, values=[5], attrs={PROC: "w"})
    p = b.profile(sp, ("heap_kb", "kilobytes"), time=T0, duration=DUR)
    b.sample(p, values=[3], attrs={PROC: "h"})
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p, values=[7], attrs={PROC: "c"})
    cfg = ("type_rules:\n"
           "  - {type: wall, unit: nanoseconds, metric: cpu, scale: 2}\n"
           "  - {type: heap_kb, unit: kilobytes, metric: memory, scale: 1024}\n"
           "  - {type: cpu, unit: nanoseconds, metric: none, scale: 1}\n")
    r = convert_ok("config_type_rules", b.to_bytes(), config=cfg)
    eq(points(r.req, "cpu_time"), [(pa("w"), 10)], "cpu_time points")
    eq(points(r.req, "memory_allocation"), [(pa("h"), 3072)], "memory points")
    stat(r, "profiles_unclassified", 1)


@check("config_type_rule_scale_saturates")
def _():
    # docs/spec.md sections 2.2 and 3.4: values are int64; a scaled value past the int64 range saturates
    # (docs/behaviour.md); a scale that is not finite is a config error.
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("wall", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p, values=[5], attrs={PROC: "up"})
    b.sample(p, values=[-5], attrs={PROC: "down"})
    b.sample(p, values=[1], attrs={PROC: "one"})
    cfg = "type_rules:\n  - {type: wall, unit: nanoseconds, metric: cpu, scale: 1e300}\n"
    r = convert_ok("config_type_rule_scale_big", b.to_bytes(), config=cfg)
    eq(points(r.req, "cpu_time"), [(pa("up"), 2**63 - 1), (pa("down"), -2**63), (pa("one"), 2**63 - 1)],
       "cpu_time points")
    for i, v in enumerate((".inf", "1e999", "-1", "0")):
        cfg = "type_rules:\n  - {type: wall, unit: nanoseconds, metric: cpu, scale: %s}\n" % v
        r = run_cli("config_type_rule_scale_bad_%d" % i, b.to_bytes(), config=cfg)
        need(r.rc == 2 and "type_rules[0].scale" in r.stderr,
             "scale %s: exit %d, expected 2 naming type_rules[0].scale; stderr %r" % (v, r.rc, r.stderr[:200]))


@check("config_layout_key_and_cli_override")
def _():
    data = basic("v1.8").to_bytes()
    r = convert_ok("config_layout_v1_8", data, config="layout: v1.8\n")
    verify_basic(r, "v1.8")
    r = convert_ok("config_layout_override", data, ["--layout", "v1.8"], config="layout: v1.10\n")
    verify_basic(r, "v1.8")


@check("config_collector_form")
def _():
    cfg = ("receivers:\n  otlp: {}\n"
           "connectors:\n"
           "  profiletometrics:\n"
           "    max_series: 1\n"
           "    temporality: delta\n"
           "    metrics:\n      cpu: {metric_name: coll_cpu}\n"
           "service:\n  pipelines: {}\n")
    r = convert_ok("config_collector_form", basic("v1.10").to_bytes(), config=cfg)
    eq(points(r.req, "coll_cpu"), [(pa("alpha", "t1"), 150_000_000),
                                   ([("otel.metric.overflow", True)], 250_000_000)],
       "coll_cpu points")


# -- function metric (docs/spec.md section 6) --

def function_request():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    lib = b.mapping("/usr/lib/x86_64-linux-gnu/libfoo.so.1")
    la, lb, lc = b.location(["a"]), b.location(["b"]), b.location([("c", 1), ("b", 2)])
    unsym = b.location([], lib, 0x1234)
    nomap = b.location([], 0, 0x99)
    b.sample(p, b.stack([la, lb]), values=[1])            # self a; incl a, b
    b.sample(p, b.stack([lc, la, lb]), values=[2])        # self c; incl c, b, a (b once)
    b.sample(p, b.stack([unsym, la]), values=[4])         # self libfoo.so.1; incl libfoo.so.1, a
    b.sample(p, b.stack([nomap]), values=[8])             # self [unknown]
    mem = b.profile(sp, ("alloc_space", "bytes"), time=T0, duration=DUR)
    b.sample(mem, b.stack([la]), values=[1000])           # memory: not in function metric
    return b.to_bytes()


def fn_points(r):
    return sorted((dict(a).get("function.name"), v) for a, v in points(r.req, "function_cpu_time"))


@check("function_metric_self")
def _():
    cfg = "attributes: []\nmetrics:\n  function: {enabled: true}\n"
    r = convert_ok("function_self", function_request(), config=cfg)
    eq(fn_points(r), sorted([("a", 1), ("c", 2), ("libfoo.so.1", 4), ("[unknown]", 8)]),
       "function_cpu_time points")
    eq([m.name for m in r.req.resource_metrics[0].scope_metrics[0].metrics],
       ["cpu_time", "memory_allocation", "function_cpu_time"], "metric order")


def reverse_sample_fields(data):
    """The request with each sample's fields in reverse order, as Go's eBPF
    profiler writes them (a repeated field's records reversed too)."""
    def rewrite(buf, path):
        out = b""
        for f, wt, val, raw in G.parse_fields(buf):
            if wt == 2 and path and f == path[0]:
                if len(path) == 1:   # a sample
                    val = b"".join(r for _, _, _, r in reversed(list(G.parse_fields(val))))
                else:
                    val = rewrite(val, path[1:])
                raw = G.f_bytes(f, val)
            out += raw
        return out
    return rewrite(data, [1, 2, 2, 2])


@check("sample_field_forms")
def _():
    # Samples in the forms senders write and in others: a stack index of one
    # and two bytes, a link_index, values (before the attributes in v1.8,
    # after them in v1.10), timestamps (one to four, and sixteen or
    # seventeen: a length of two bytes), both, neither, no attributes, more
    # indices than a one-byte length holds; packed, then unpacked and with
    # the fields shuffled or reversed (Go's eBPF profiler); and a sample that
    # ends the input (the reader looks two bytes past a sample when it can).
    # Each thread's cpu time, and its inclusive function time per name (the
    # stacks differ in their names, so a stack index read wrong shows), is
    # worked out here from what the builder was given.
    import random
    cfg = ("metrics:\n  function: {enabled: true, mode: inclusive,"
           " attribute_key: function.name}\n")
    for layout in ("v1.8", "v1.10"):
        for variant in ("packed", "unpacked", "shuffled", "reversed", "last"):
            rnd = random.Random(5)
            b = G.Builder(layout)
            sp = b.scope(b.resource({"service.name": "s"}))
            p = b.cpu_profile(sp, time=T0, duration=DUR)
            period = p.period
            fnames = ["f%d" % j for j in range(7)]
            locs = [b.location([f]) for f in fnames]
            names = [[fnames[(i + d) % 7] for d in range(1 + i % 3)] for i in range(200)]
            stacks = [b.stack([locs[fnames.index(f)] for f in ns], dup=True) for ns in names]
            link = b.link()
            filler = [b.attr("k%d" % i, "v%d" % i) for i in range(150)]
            want, want_fn = {}, {}
            for k in range(400):
                thread = "t%d" % (k % 7)
                attrs = {PROC: "app", THREAD: thread}
                if k % 3 == 1:  # attributes no rule reads before those it reads
                    attrs = {"k.a": "a%d" % (k % 5), "k.b": "b", PROC: "app", THREAD: thread}
                values, ts = None, None
                form = k % 4          # 3: neither values nor timestamps (empty)
                if form in (0, 2):
                    values = [rnd.randrange(1, 1 << rnd.choice((7, 14, 30)))
                              for _ in range(rnd.randint(1, 3))]
                if form in (1, 2):
                    nts = 16 + k % 2 if k % 9 == 1 else rnd.randint(1, 4)
                    ts = [T0 + rnd.randrange(DUR) for _ in range(nts)]
                if k % 13 == 0:
                    attrs = {}
                si = rnd.randrange(len(stacks))
                smp = b.sample(p, stacks[si], values=values,
                               timestamps=ts, attrs=attrs, link=link if k % 5 == 0 else 0)
                if k % 11 == 0 and attrs:
                    smp.attribute_indices.extend(filler)
                v = sum(values) if values else len(ts or [])
                key = ("app", thread) if attrs else (None, None)
                if form != 3:
                    want[key] = want.get(key, 0) + v * period
                    for f in set(names[si]):
                        want_fn[key + (f,)] = want_fn.get(key + (f,), 0) + v * period
            n = 400
            last = b.attrs({PROC: "app", THREAD: "t0"})
            data = b.to_bytes(unpacked=variant == "unpacked", shuffle=variant == "shuffled",
                              dict_first_=variant == "last")
            if variant == "reversed":
                data = reverse_sample_fields(data)
            if variant == "last":  # the one profile is the input's last message
                raw = (G.f_varint(1, stacks[0]) +
                       G.f_bytes(3 if layout == "v1.8" else 2,
                                 b"".join(G.enc_varint(i) for i in last)) +
                       G.f_bytes(5, struct.pack("<QQ", T0 + 1, T0 + 2)))
                data = G.append_raw(data, PROFILE0, G.f_bytes(2, raw))
                need(data.endswith(raw), "the appended sample does not end the input")
                want[("app", "t0")] += 2 * period
                for f in set(names[0]):
                    want_fn[("app", "t0", f)] = want_fn.get(("app", "t0", f), 0) + 2 * period
                n += 1
            # unpacked v1.8 attribute indices read as v1.10 link indices
            # without other evidence (docs/spec.md section 1): named here
            args = ("--layout", layout) if variant == "unpacked" else ()
            r = convert_ok("sample_forms_%s_%s" % (layout, variant), data, args, config=cfg)
            got = {}
            for a, v in points(r.req, "cpu_time"):
                d = dict(a)
                got[(d.get(PROC), d.get(THREAD))] = v
            eq(sorted(got.items(), key=repr), sorted(want.items(), key=repr),
               "%s %s: cpu_time per thread" % (layout, variant))
            got = {}
            for a, v in points(r.req, "function_cpu_time"):
                d = dict(a)
                got[(d.get(PROC), d.get(THREAD), d.get("function.name"))] = v
            eq(sorted(got.items(), key=repr), sorted(want_fn.items(), key=repr),
               "%s %s: function_cpu_time per thread and name" % (layout, variant))
            stat(r, "samples", n)
            stat(r, "samples_kept", n - 100)
            stat(r, "empty_samples", 100)


@check("sample_timestamps_not_whole")
def _():
    # A timestamps field whose length is not a multiple of 8 is malformed,
    # in a sample of the shape profilers write (stack index, attribute
    # indices, timestamps) in field order and reversed, with more input
    # after it or at the input's end: exit 1 and the offset within that
    # sample.
    for layout in ("v1.8", "v1.10"):
        for reverse in (False, True):
            for at_end in (False, True):
                b = G.Builder(layout)
                sp = b.scope(b.resource({"service.name": "s"}))
                p = b.cpu_profile(sp, time=T0, duration=DUR)
                st = b.stack([b.location(["f"])])
                b.sample(p, st, timestamps=[T0 + 1], attrs={PROC: "a", THREAD: "t"})
                ai = b.attrs({PROC: "a", THREAD: "t"})
                fields = [G.f_varint(1, st),
                          G.f_bytes(3 if layout == "v1.8" else 2,
                                    b"".join(G.enc_varint(i) for i in ai)),
                          G.f_bytes(5, struct.pack("<QI", T0 + 1, 7))]
                raw = G.f_bytes(2, b"".join(reversed(fields) if reverse else fields))
                data = G.append_raw(b.to_bytes(dict_first_=at_end), PROFILE0, raw)
                at = data.index(raw)
                need(data.endswith(raw) == at_end, "test bug: the sample's place")
                e = malformed("ts_12_%s_%s_%s" % (layout, reverse, at_end), data, at,
                              at + len(raw))
                need(e is None, "%s reversed=%s at_end=%s: %s" % (layout, reverse, at_end, e))


@check("samples_read_against_the_last")
def _():
    # In a run of samples the sample memo knows, a sample in field order
    # (stack index, attribute indices, timestamps) whose attribute list has
    # the tag and length of the last such sample's is read against it.
    # Samples here differ from that shape only where that read looks: a
    # timestamps length of two bytes whose first is a multiple of 8 (0x88
    # 0x00, eight bytes written long) with an unknown field after the
    # timestamp, so that the sample's rest is 2 + 0x88 bytes long; two
    # timestamps fields; another thread's list of the same length; a longer
    # list, and one whose bytes past the two of the usual list read as a
    # timestamps field to the sample's end; a list of more than 16 bytes;
    # and no timestamps at all; stack indices of one byte, of two (past
    # 127) and none written. Each thread's cpu time is worked out here from
    # the timestamps given.
    import random
    for layout in ("v1.8", "v1.10"):
        rnd = random.Random(7)
        b = G.Builder(layout)
        sp = b.scope(b.resource({"service.name": "s"}))
        p = b.cpu_profile(sp, time=T0, duration=DUR)
        st = b.stack([b.location(["f"])])
        for i in range(130):
            big = b.stack([b.location(["g%d" % i])])
        need(st < 128 <= big, "test bug: the stack indices")
        af = 3 if layout == "v1.8" else 2
        filler = [b.attr("k%d" % i, "v") for i in range(60)]
        lists = {t: b.attrs({PROC: "app", THREAD: t}) for t in ("t0", "t1")}
        lists["t0+"] = b.attrs({"k.a": "a", PROC: "app", THREAD: "t0"})
        lists["t1++"] = lists["t1"] + filler[:17]
        # after t0's two bytes: 0x2a (timestamps), 16, then six bytes; with
        # the two-byte list's reading, 16 bytes to the sample's end
        lists["t0+x"] = lists["t0"] + [0x2a, 16] + filler[:6]
        need(len(lists["t0"]) == len(lists["t1"]) == 2 and len(lists["t1++"]) > 16 and
             0x2a in filler and 16 in filler and max(max(x) for x in lists.values()) < 128,
             "test bug: the attribute lists")

        def sample(lst, ts_field, stk):
            return G.f_bytes(2, (G.f_varint(1, stk) if stk is not None else b"") +
                             G.f_bytes(af, b"".join(G.enc_varint(i) for i in lists[lst])) +
                             ts_field)

        def stamp():
            return struct.pack("<Q", T0 + rnd.randrange(DUR))

        long_ts = bytes([0x2a, 0x88, 0x00]) + stamp() + bytes([0x7a, 125]) + bytes(125)
        forms = {  # the timestamps' bytes, and how many timestamps they hold
            "one": lambda: (G.f_bytes(5, stamp()), 1),
            "three": lambda: (G.f_bytes(5, stamp() + stamp() + stamp()), 3),
            "long_length": lambda: (long_ts, 1),
            "two_fields": lambda: (G.f_bytes(5, stamp()) + G.f_bytes(5, stamp() + stamp()), 3),
            "none": lambda: (b"", 0),
        }
        raw, want, n, empty = b"", {}, 0, 0
        for k in range(240):
            lst = "t0" if k < 8 else rnd.choice(
                ("t0", "t0", "t0", "t1", "t1", "t0+", "t1++", "t0+x"))
            form = "one" if k < 8 else rnd.choice(
                ("one", "one", "three", "long_length", "two_fields", "none"))
            ts, c = forms[form]()
            raw += sample(lst, ts, st if k < 8 else rnd.choice((st, st, st, big, None)))
            thread = lst[:2]
            want[thread] = want.get(thread, 0) + c * p.period
            n += 1
            empty += c == 0
        need(raw.count(long_ts) > 10, "test bug: too few long lengths")
        data = G.append_raw(b.to_bytes(), PROFILE0, raw)
        r = convert_ok("read_against_last_%s" % layout, data)
        got = {}
        for a, v in points(r.req, "cpu_time"):
            got[dict(a)[THREAD]] = v
        eq(sorted(got.items()), sorted(want.items()), "%s: cpu_time per thread" % layout)
        stat(r, "samples", n)
        stat(r, "empty_samples", empty)


@check("attribute_int_values_checked")
def _():
    # An int value of an attribute entry is one varint that ends its
    # AnyValue, also under a key nothing reads (thread.id here): varints of
    # 1 to 10 bytes convert, and the same bytes made malformed without
    # changing their length (every byte continued, so the varint runs past
    # its value; or a varint that ends early, then a field of number 0) stop
    # the conversion at that entry, in a dictionary that comes first or last.
    for n in range(1, 11):
        v = 5 if n == 1 else -5 if n == 10 else 1 << (7 * (n - 1))
        enc = G.enc_varint(v % (1 << 64))
        need(len(enc) == n, "test bug: varint of %d bytes" % n)
        forms = {"run_past": bytes([0x80 | x for x in enc])}
        if n > 1:
            forms["ends_early"] = bytes([5]) + bytes(n - 1)
        for dict_first in (False, True):
            b = G.Builder("v1.10")
            sp = b.scope(b.resource({"service.name": "s"}))
            p = b.cpu_profile(sp, time=T0, duration=DUR)
            b.sample(p, 0, values=[3], attrs=[(PROC, "app"), (THREAD, "t"), ("thread.id", v)])
            data = b.to_bytes(dict_first_=dict_first)
            pat = bytes([0x12, n + 1, 0x18]) + enc
            need(data.count(pat) == 1, "test bug: the entry's value is not found once")
            at = data.index(pat)
            r = convert_ok("int_value_%d_%s" % (n, dict_first), data)
            eq(points(r.req, "cpu_time"), [(pa("app", "t"), 3 * p.period)],
               "%d-byte int value: cpu_time" % n)
            for name, bad in forms.items():
                e = malformed("int_value_%d_%s_%s" % (n, dict_first, name),
                              data[:at + 3] + bad + data[at + 3 + n:], at - 8, at + 3 + n)
                need(e is None, "%d-byte int value, %s, dict first %s: %s" %
                     (n, name, dict_first, e))


@check("values_interned_past_16_bits")
def _():
    # Interning keeps a hash of value ids, of 16 bits while the request's
    # bound of values fits and of 32 bits past it: a table of 40 000 thread
    # names (ids past 32 767) and one of 70 000 (ids past 65 535). Some names
    # have a second, duplicate entry after all the others; samples through
    # either entry of a name are one thread, so a value interned twice (a
    # lookup that missed) would show as two points of the same attributes.
    for n in (40_000, 70_000):
        b = G.Builder("v1.10")
        sp = b.scope(b.resource({"service.name": "s"}))
        p = b.cpu_profile(sp, time=T0, duration=DUR)
        proc = b.attr(PROC, "app")
        first = [b.attr(THREAD, "t%d" % i) for i in range(n)]
        picked = sorted(set(list(range(0, n, 331)) + [32_767, 32_768, 39_999] +
                            ([65_534, 65_535, 65_536, 69_999] if n > 65_536 else [])))
        dup = {i: b.attr(THREAD, "t%d" % i, dup=True) for i in picked[::3]}
        want = {}
        for k, i in enumerate(picked):
            v = 1 + k % 5
            b.sample(p, 0, values=[v], attrs=[proc, first[i]])
            want["t%d" % i] = want.get("t%d" % i, 0) + v * p.period
            if i in dup:
                b.sample(p, 0, values=[2], attrs=[proc, dup[i]])
                want["t%d" % i] += 2 * p.period
        need(max(dup.values()) > n, "test bug: the duplicates come after the names")
        r = convert_ok("interned_%d" % n, b.to_bytes(), config="max_series: 5000\n")
        pts = points(r.req, "cpu_time")
        eq(len(pts), len(want), "%d names: one point per thread" % n)
        got = {}
        for a, v in pts:
            d = dict(a)
            need(d.get(PROC) == "app", "%d names: a point without the process: %r" % (n, d))
            got[d.get(THREAD)] = got.get(d.get(THREAD), 0) + v
        eq(sorted(got.items()), sorted(want.items()), "%d names: cpu_time per thread" % n)


@check("sample_memo_across_profiles")
def _():
    # The sample memo's tries carry from one profile of a request to the
    # next. Here the first profiles' samples all have attribute bytes of
    # their own (a thread.id per sample) and use the tries up; later ones
    # repeat bytes, and repeat slot values under new bytes, only after more
    # samples than a profile's fewest tries, and again in the next resource.
    # Each thread's cpu time per resource is worked out here.
    import random
    rnd = random.Random(7)
    b = G.Builder("v1.10")
    want = {}
    for ri in range(2):
        sp = b.scope(b.resource({"service.name": "s%d" % ri}))
        for pi in range(4):
            p = b.cpu_profile(sp, time=T0, duration=DUR)
            unique = pi < 2 and ri == 0
            for k in range(60):
                thread = "t%d" % (k % 12 if not unique else k)
                tid = 1000 * pi + k if unique or k % 24 >= 12 else k % 12
                attrs = [(PROC, "app%d" % (k % 2)), (THREAD, thread), ("thread.id", tid)]
                v = rnd.randint(1, 9)
                b.sample(p, 0, values=[v], attrs=attrs)
                key = (ri, "app%d" % (k % 2), thread)
                want[key] = want.get(key, 0) + v * p.period
    r = convert_ok("memo_across_profiles", b.to_bytes())
    got = {}
    for ri in range(2):
        for a, v in points(r.req, "cpu_time", ri):
            d = dict(a)
            key = (ri, d.get(PROC), d.get(THREAD))
            need(key not in got, "two points for %r" % (key,))
            got[key] = v
    eq(sorted(got.items()), sorted(want.items()), "cpu_time per resource and thread")


@check("time_window_through_the_memo_lane")
def _():
    # Most samples of a profile repeat an attribute set the sample memo
    # knows and are added to their series in the memo's lane, which takes
    # the profile's time window as already in the series. Four profiles of
    # one scope, with windows that widen a series' window at either end or
    # not at all, samples of a few threads in random order (each profile
    # with threads of its own too), in profiles with a window of their own
    # and with one from the samples' timestamps. Each point's window is
    # worked out here.
    import random
    rnd = random.Random(5)
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    wins = [(1000 * SEC, 50 * SEC), (1010 * SEC, 10 * SEC), (0, 0), (1100 * SEC, 100 * SEC)]
    want = {}
    for pi, (t, d) in enumerate(wins):
        p = b.cpu_profile(sp, time=t, duration=d)
        threads = ["t0", "t1", "t2", "own%d" % pi]
        stamps = []
        rows = []
        for k in range(80):
            thread = threads[rnd.randrange(4)] if k >= 4 else threads[k]
            ts = [990 * SEC + rnd.randrange(5 * SEC) for _ in range(1 + rnd.randrange(3))]
            stamps += ts
            rows.append((thread, ts))
        lo, hi = (t, t + d) if t else (min(stamps), max(stamps))
        for thread, ts in rows:
            b.sample(p, 0, timestamps=ts, attrs=[(PROC, "app"), (THREAD, thread)])
            w = want.setdefault(thread, [lo, hi, 0])
            w[0], w[1] = min(w[0], lo), max(w[1], hi)
            w[2] += len(ts) * p.period
    r = convert_ok("time_window_lane", b.to_bytes())
    got = {}
    m = metric(r.req.resource_metrics[0], "cpu_time")
    for dp in m.sum.data_points:
        d = dict(attrs_of(dp.attributes))
        got[d[THREAD]] = [dp.start_time_unix_nano, dp.time_unix_nano, dp.as_int]
    eq(sorted(got.items()), sorted(want.items()), "(start, time, cpu ns) per thread")


@check("profiles_classified_one_by_one")
def _():
    # A request's profiles are classified by their sample type, period type
    # and period; profiles that repeat the one before's take over its
    # result. Here cpu profiles of two periods, one of the same sample type
    # whose period type is wall time (unclassified), one of memory between
    # cpu ones, and a cpu profile whose value types are written with their
    # fields the other way round (the same strings in other bytes). Each
    # point is worked out here.
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    cpu, wall = ("cpu", "nanoseconds"), ("wall", "nanoseconds")
    profs = [(("samples", "count"), cpu, 10_000_000), (("samples", "count"), cpu, 20_000_000),
             (("samples", "count"), wall, 20_000_000), (("alloc_space", "bytes"), None, 0),
             (("samples", "count"), cpu, 10_000_000), (("samples", "count"), cpu, 20_000_000)]
    want_cpu, want_mem = {}, {}
    for pi, (st, pt, period) in enumerate(profs):
        p = b.profile(sp, st, pt, period, time=T0, duration=DUR)
        for k in range(40):
            thread, v = "t%d" % (k % 3), 1 + (k * 7 + pi) % 5
            b.sample(p, 0, values=[v], attrs=[(PROC, "app"), (THREAD, thread)])
            if pt == cpu:
                want_cpu[thread] = want_cpu.get(thread, 0) + v * period
            elif st[0] == "alloc_space":
                want_mem[thread] = want_mem.get(thread, 0) + v
    data = b.to_bytes()
    # the last profile's value types, type and unit written in reverse order
    req = G.module("v1.10").ExportProfilesServiceRequest()
    req.ParseFromString(data)
    last = req.resource_profiles[0].scope_profiles[0].profiles[-1]
    old = bytes(G.f_varint(1, last.sample_type.type_strindex) +
                G.f_varint(2, last.sample_type.unit_strindex))
    new = bytes(G.f_varint(2, last.sample_type.unit_strindex) +
                G.f_varint(1, last.sample_type.type_strindex))
    pb = last.SerializeToString()  # sample_type (field 1) first
    need(data.count(pb) == 1 and pb.startswith(bytes([0x0a, len(old)]) + old),
         "test bug: the last profile's bytes")
    data = data.replace(pb, pb[:2] + new + pb[2 + len(old):])
    r = convert_ok("classified_one_by_one", data)
    eq(sorted((dict(a)[THREAD], v) for a, v in points(r.req, "cpu_time")),
       sorted(want_cpu.items()), "cpu_time per thread")
    eq(sorted((dict(a)[THREAD], v) for a, v in points(r.req, "memory_allocation")),
       sorted(want_mem.items()), "memory_allocation per thread")
    stat(r, "profiles_unclassified", 1)


@check("function_metric_inclusive")
def _():
    cfg = ("attributes: []\nmetrics:\n"
           "  function: {enabled: true, mode: inclusive, attribute_key: function.name}\n")
    r = convert_ok("function_inclusive", function_request(), config=cfg)
    eq(fn_points(r), sorted([("a", 1 + 2 + 4), ("b", 1 + 2), ("c", 2), ("libfoo.so.1", 4),
                             ("[unknown]", 8)]), "function_cpu_time points")


INCL = "metrics:\n  function: {enabled: true, mode: inclusive, attribute_key: function.name}\n"


@check("function_points_share_attributes")
def _():
    # The points one sample makes share every attribute but the name, and
    # the encoder copies them from the point written before; here a name of
    # 40,000 bytes (a point whose size is not known in advance) sits among
    # short ones, threads and processes alternate, and some samples repeat a
    # stack that an earlier thread already named. Every point must carry
    # its own sample's attributes, worked out here.
    long_name = "L" * 40_000
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    names = ["f%d" % i for i in range(6)] + [long_name]
    locs = {n: b.location([n]) for n in names}
    stacks = [[names[(s + k) % len(names)] for k in range(2 + s % 4)] for s in range(9)]
    want = {}
    for k in range(60):
        proc, thread = "app%d" % (k % 2), "t%d" % (k % 5)
        st = stacks[(k * 7) % len(stacks)]
        b.sample(p, b.stack([locs[n] for n in st]), values=[k + 1],
                 attrs={PROC: proc, THREAD: thread})
        for n in set(st):
            key = (proc, thread, n)
            want[key] = want.get(key, 0) + k + 1
    r = convert_ok("function_share", b.to_bytes(), config=INCL)
    got = {}
    for a, v in points(r.req, "function_cpu_time"):
        d = dict(a)
        eq(sorted(d), sorted([PROC, THREAD, "function.name"]), "a point's attribute keys")
        eq([k for k, _ in a][-1], "function.name", "the name comes last")
        got[(d[PROC], d[THREAD], d["function.name"])] = v
    eq(len(got), len(want), "function points")
    for key, v in want.items():
        eq(got.get(key), v, "function point %r" % ((key[0], key[1], key[2][:8]),))


@check("function_points_when_a_rule_writes_the_name_key")
def _():
    # The function metric's key is one a rule writes too (thread.name): the
    # name replaces the thread, so the function points of a process add up
    # the samples of every thread and of the samples with no thread at all,
    # which come in random order (a point first made from either kind is
    # found again from the other). app1's samples of thread t1 carry a
    # process name of their own, app1-t1: their points stay apart from
    # app1's. Each point's value is worked out here.
    import random
    rnd = random.Random(11)
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    names = ["fn%d" % i for i in range(400)]
    locs = [b.location([n]) for n in names]
    want_fn, want_cpu = {}, {}
    for k in range(300):
        st = [rnd.randrange(len(names)) for _ in range(rnd.randint(1, 40))]
        proc = "app%d" % (k % 2)
        thread = rnd.choice(["t1", "t2", "t3", None])
        if proc == "app1" and thread == "t1":
            proc = "app1-t1"
        attrs = {PROC: proc}
        if thread:
            attrs[THREAD] = thread
        v = rnd.randint(1, 1000)
        b.sample(p, b.stack([locs[i] for i in st]), values=[v], attrs=attrs)
        for i in set(st):
            key = (proc, names[i])
            want_fn[key] = want_fn.get(key, 0) + v
        want_cpu[(proc, thread)] = want_cpu.get((proc, thread), 0) + v
    cfg = "metrics:\n  function: {enabled: true, mode: inclusive, attribute_key: thread.name}\n"
    r = convert_ok("function_name_key_of_a_rule", b.to_bytes(), config=cfg)
    got = {}
    for a, v in points(r.req, "function_cpu_time"):
        d = dict(a)
        eq(sorted(d), sorted([PROC, THREAD]), "a function point's attribute keys")
        key = (d[PROC], d[THREAD])
        need(key not in got, "two function points for %r" % (key,))
        got[key] = v
    eq(sorted(got.items()), sorted(want_fn.items()), "function_cpu_time points")
    got = {}
    for a, v in points(r.req, "cpu_time"):
        d = dict(a)
        got[(d[PROC], d.get(THREAD))] = v
    eq(sorted(got.items(), key=repr), sorted(want_cpu.items(), key=repr), "cpu_time points")


@check("function_series_at_the_frames_bound")
def _():
    # The working memory of the inclusive function metric is sized for a
    # resource's samples times the names one stack can feed: its frames
    # (bytes below 0x80 in the stack entry) times the most lines of a
    # location. Here a resource of few samples reaches that bound: each
    # sample has a thread of its own and a stack of distinct locations of
    # two lines each (every name different), with location indices of one,
    # two and three bytes, one stack of one-byte indices only (its entry's
    # bytes are its frames and two), locations without lines (named after
    # their mapping) and a sample without a stack. A second resource has
    # many samples that share short stacks. Every point's value is worked
    # out here; the same request written unpacked (one tag per location
    # index) must give the same points.
    import random
    rnd = random.Random(5)
    b = G.Builder("v1.10")
    lib = b.mapping("/opt/lib/libbare.so")
    names = iter("fn%d" % i for i in range(100000))
    lines_of = {}

    def loc2():
        a, c = next(names), next(names)
        i = b.location([a, c])
        lines_of[i] = [a, c]
        return i

    small = [loc2() for _ in range(60)]            # indices below 128
    bare = [b.location([], lib, 0x1000 + i) for i in range(4)]
    for i in bare:
        lines_of[i] = ["libbare.so"]
    while len(b.d.location_table) < 16390:           # fillers, up to 3-byte indices
        b.location([], 0, len(b.d.location_table))
    wide = [loc2() for _ in range(200)]
    want = {}
    rp = b.scope(b.resource({"service.name": "few"}))
    p = b.profile(rp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    stacks = [small[:]]                                 # one-byte indices only
    for _ in range(2):
        st = rnd.sample(wide, 50) + rnd.sample(small, 10) + bare[:2]
        rnd.shuffle(st)
        stacks.append(st)
    stacks.append([])                                   # no stack: [unknown]
    for k, st in enumerate(stacks):
        v = 1000 + k
        thread = "t%d" % k
        b.sample(p, b.stack(st), values=[v], attrs={PROC: "few", THREAD: thread})
        fed = {n for i in st for n in lines_of[i]} or {"[unknown]"}
        for n in fed:
            want[("few", thread, n)] = want.get(("few", thread, n), 0) + v
    rp = b.scope(b.resource({"service.name": "many"}))
    p = b.profile(rp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    shared = [[rnd.choice(wide + small) for _ in range(rnd.randint(1, 5))] for _ in range(8)]
    for k in range(300):
        st = rnd.choice(shared)
        v = rnd.randint(1, 100)
        thread = "m%d" % (k % 7)
        b.sample(p, b.stack(st), values=[v], attrs={PROC: "many", THREAD: thread})
        for n in {n for i in st for n in lines_of[i]}:
            want[("many", thread, n)] = want.get(("many", thread, n), 0) + v
    need(max(max(st) for st in stacks if st) >= 16384, "a three-byte location index")
    cfg = "metrics:\n  function: {enabled: true, mode: inclusive}\n"
    for unpacked in (False, True):
        r = convert_ok("function_frames_bound" + ("_unpacked" if unpacked else ""),
                       b.to_bytes(unpacked=unpacked), config=cfg)
        got = {}
        for ri, proc in enumerate(("few", "many")):
            for a, v in points(r.req, "function_cpu_time", ri):
                d = dict(a)
                key = (d.get(PROC), d.get(THREAD), d.get("function.name"))
                need(d.get(PROC) == proc, "a point of %r in resource %d" % (key, ri))
                need(key not in got, "two function points for %r" % (key,))
                got[key] = v
        eq(sorted(got.items()), sorted(want.items()),
           "function_cpu_time points" + (" (unpacked)" if unpacked else ""))


@check("function_metric_address_lengths")
def _():
    # Locations whose address is a varint of each length from 1 to 10 bytes,
    # read past in one word where the location has room for it and byte by
    # byte near its end: with lines (one, or two inlined), and without (the
    # address then ends the location; named after the mapping's file).
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    lib = b.mapping("/opt/lib/libaddr.so")
    want = {}
    for k in range(1, 11):
        addr = 1 << (7 * (k - 1))        # a varint of exactly k bytes
        one = b.location(["one%d" % k], 0, addr)
        two = b.location([("in%d" % k, 3), ("out%d" % k, 4)], lib, addr + 1)
        bare = b.location([], lib, addr)
        b.sample(p, b.stack([one]), values=[k])
        b.sample(p, b.stack([two, one]), values=[100 * k])
        b.sample(p, b.stack([bare]), values=[10000 * k])
        want["one%d" % k] = k + 100 * k
        want["in%d" % k] = want["out%d" % k] = 100 * k
        want["libaddr.so"] = want.get("libaddr.so", 0) + 10000 * k
    r = convert_ok("function_address_lengths", b.to_bytes(), config="attributes: []\n" + INCL)
    eq(fn_points(r), sorted(want.items()), "function_cpu_time points")


@check("function_inclusive_overflow_matches_reference")
def _():
    # Two resources, random stacks with inlined frames and repeated
    # functions, max_series 3: which (sample, function) feeds reach a series
    # and which the overflow point is worked out here from what the builder
    # was given (first come, per resource), then compared with the output.
    import random
    rnd = random.Random(7)
    names = ["f%d" % i for i in range(12)]
    b = G.Builder("v1.10")
    want, total_ovf = [], 0
    for ri in range(2):
        sp = b.scope(b.resource({"service.name": "s%d" % ri}))
        p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
        admitted, ovf = {}, 0
        for _ in range(300):
            frames = [[rnd.choice(names) for _ in range(rnd.randint(1, 2))] for _ in range(rnd.randint(0, 6))]
            v = rnd.randint(1, 1000)
            b.sample(p, b.stack([b.location(fr) for fr in frames]), values=[v])
            distinct = []
            for n in (n for fr in frames for n in fr):
                if n not in distinct:
                    distinct.append(n)
            for n in distinct or ["[unknown]"]:
                if n in admitted:
                    admitted[n] += v
                elif len(admitted) < 3:
                    admitted[n] = v
                else:
                    ovf += v
                    total_ovf += 1
        want.append((sorted(admitted.items()), ovf))
    r = convert_ok("function_inclusive_overflow", b.to_bytes(),
                   config="attributes: []\nmax_series: 3\n" + INCL)
    for ri, (adm, ovf) in enumerate(want):
        got = points(r.req, "function_cpu_time", ri)
        need(ovf > 0, "the reference has no overflow in resource %d" % ri)
        eq(sorted((dict(a).get("function.name"), v) for a, v in got[:-1]), adm,
           "resource %d: function_cpu_time series" % ri)
        eq(got[-1], ([("otel.metric.overflow", True)], ovf), "resource %d: overflow point" % ri)
    stat(r, "overflow_samples", total_ovf)


@check("function_inclusive_shared_stacks_in_order")
def _():
    # Samples share stacks, as an agent's do (the library keeps each stack's
    # names after its first sample), over few locations, so that later
    # stacks no longer fit the library's pool and are walked at every
    # sample. Each point's value and the points' order (first fed, first
    # out) are worked out here from what the builder was given.
    import random
    rnd = random.Random(11)
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    frames = [["a"], ["b"], [("c", 1), ("a", 2)], ["d"], ["e"]]   # a location per entry
    locs = [b.location(fr) for fr in frames]
    stacks = []
    for _ in range(25):
        depth = rnd.randint(1, 9)
        idx = [rnd.randrange(len(locs)) for _ in range(depth)]
        stacks.append((b.stack([locs[i] for i in idx], dup=True), idx))
    stacks.append((b.stack([], dup=True), []))                  # no frame: [unknown]
    total, order = {}, []
    for _ in range(400):
        st, idx = rnd.choice(stacks)
        v = rnd.randint(1, 1000)
        b.sample(p, st, values=[v])
        distinct = []
        for n in (f if isinstance(f, str) else f[0] for i in idx for f in frames[i]):
            if n not in distinct:
                distinct.append(n)
        for n in distinct or ["[unknown]"]:
            if n not in total:
                order.append(n)
                total[n] = 0
            total[n] += v
    r = convert_ok("function_inclusive_shared_stacks", b.to_bytes(),
                   config="attributes: []\n" + INCL)
    got = [(dict(a).get("function.name"), v) for a, v in points(r.req, "function_cpu_time")]
    eq(got, [(n, total[n]) for n in order], "function_cpu_time points, in order")


@check("function_inclusive_attributes_per_point")
def _():
    # Threads, each with a string and an integer attribute, share stacks: a
    # function point carries its sample's attributes in rule order, then the
    # name. One sample's points differ only in the name (the encoder copies
    # the rest from the point written before), other threads' do not, and
    # max_series 40 sends the first resource's later feeds to its overflow
    # point. Each point's attributes, value and place are worked out here
    # from what the builder was given.
    import random
    rnd = random.Random(5)
    cfg = ("attributes:\n"
           "  - {key: thread.name, type: attribute, from: thread.name}\n"
           "  - {key: tid, type: attribute, from: thread.id}\n"
           "max_series: 40\n" + INCL)
    b = G.Builder("v1.10")
    locs = [b.location([n]) for n in "abcdef"]
    want = []
    for ri, (n_samples, n_threads) in enumerate(((150, 10), (12, 2))):
        threads = [("worker-%d" % t, 100 + t) for t in range(n_threads)]
        sp = b.scope(b.resource({"service.name": "s%d" % ri}))
        p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
        stacks = [[rnd.randrange(6) for _ in range(rnd.randint(1, 5))] for _ in range(8)]
        order, total, ovf = [], {}, 0
        for _ in range(n_samples):
            tname, tid = rnd.choice(threads)
            idx = rnd.choice(stacks)
            v = rnd.randint(1, 1000)
            b.sample(p, b.stack([locs[i] for i in idx]), values=[v],
                     attrs=[("thread.name", tname), ("thread.id", tid)])
            for n in dict.fromkeys("abcdef"[i] for i in idx):
                k = (tname, tid, n)
                if k in total:
                    total[k] += v
                elif len(total) < 40:
                    order.append(k)
                    total[k] = v
                else:
                    ovf += v
        want.append(([([("thread.name", t), ("tid", i), ("function.name", n)], total[(t, i, n)])
                      for t, i, n in order], ovf))
    r = convert_ok("function_inclusive_attributes", b.to_bytes(), config=cfg)
    need(want[0][1] > 0 and want[1][1] == 0, "the reference overflows in resource 0 only")
    for ri, (pts, ovf) in enumerate(want):
        got = points(r.req, "function_cpu_time", ri)
        if ovf:
            eq(got[-1], ([("otel.metric.overflow", True)], ovf), "resource %d: overflow point" % ri)
            got = got[:-1]
        eq(got, pts, "resource %d: function_cpu_time points, in order" % ri)


@check("function_feeds_from_the_cpu_overflow_point")
def _():
    # max_series 2: two threads whose samples refer to a stack outside the
    # table make the cpu metric's two series and feed no function (an
    # invalid reference each), so two more threads' samples go to the cpu
    # overflow point while the function metric still has room. Every
    # thread repeats its attribute bytes 32 times, so the sample memo
    # recalls most samples; the overflow point keeps no attribute set, and
    # each of its samples must still feed its functions under its own
    # thread (the function metric's own limit then sends later feeds to
    # its overflow point, worked out here as the engine must). The samples
    # carry no a0..a3, so points have thread.name and function.name only.
    import random
    rnd = random.Random(11)
    # (five attributes read: the memo then keys on attribute bytes alone)
    cfg = ("attributes:\n"
           "  - {key: thread.name, type: attribute, from: thread.name}\n"
           + "".join("  - {key: k%d, type: attribute, from: a%d}\n" % (i, i) for i in range(4))
           + "max_series: 2\n" + INCL)
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    good = b.stack([b.location(["a"]), b.location(["b"])])
    cpu, fn, ovf, fn_ovf = {}, {}, 0, 0
    for _ in range(32):
        for t in range(4):
            v = rnd.randint(1, 1000)
            name = "t%d" % t
            b.sample(p, good if t >= 2 else 999, values=[v], attrs=[("thread.name", name)])
            if t < 2:
                cpu[name] = cpu.get(name, 0) + v
                continue
            ovf += v
            for f in "ab":
                if (name, f) in fn or len(fn) < 2:
                    fn[(name, f)] = fn.get((name, f), 0) + v
                else:
                    fn_ovf += v
    r = convert_ok("function_feeds_from_the_cpu_overflow_point", b.to_bytes(), config=cfg)
    got = points(r.req, "cpu_time")
    eq(sorted(got[:-1]), sorted(([("thread.name", t)], v) for t, v in cpu.items()),
       "cpu_time points")
    eq(got[-1], ([("otel.metric.overflow", True)], ovf), "cpu_time overflow point")
    got = points(r.req, "function_cpu_time")
    eq(sorted(got[:-1]),
       sorted(([("thread.name", t), ("function.name", f)], v) for (t, f), v in fn.items()),
       "function_cpu_time points")
    eq(got[-1], ([("otel.metric.overflow", True)], fn_ovf), "function_cpu_time overflow point")
    stat(r, "invalid_references", 64)


def unreferenced_bad_locations(refer=None):
    """Locations a, b used by a sample, and locations no sample uses: one whose
    line names a function outside the table, one whose function's name is
    outside the string table, one whose Line is malformed (a truncated
    varint). refer: the name of a bad one to use in a second sample."""
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    la, lb = b.location(["a"]), b.location(["b"])
    bad = {}
    b.d.location_table.add().lines.add().function_index = 999
    bad["function"] = len(b.d.location_table) - 1
    b.d.function_table.add().name_strindex = 99999
    b.d.location_table.add().lines.add().function_index = len(b.d.function_table) - 1
    bad["name"] = len(b.d.location_table) - 1
    bad["malformed"] = b.location(["c"])
    b.sample(p, b.stack([la, lb]), values=[5])
    if refer:
        b.sample(p, b.stack([bad[refer], la]), values=[7])
    return G.append_raw(b.to_bytes(), [(2, 0), (2, bad["malformed"])], G.f_bytes(3, b"\x08\x80"))


@check("function_inclusive_unreferenced_bad_locations")
def _():
    # Inclusive mode reads every location ahead of the samples; what no
    # sample reaches is neither an error nor an invalid reference.
    data = unreferenced_bad_locations()
    for strict in ("false", "true"):
        r = convert_ok("function_inclusive_unreferenced_%s" % strict, data,
                       config="attributes: []\nstrict: %s\n" % strict + INCL)
        eq(fn_points(r), [("a", 5), ("b", 5)], "function_cpu_time points (strict %s)" % strict)
        stat(r, "invalid_references", 0)
    # Reached by a sample, each is reported as before.
    for refer in ("function", "name"):
        data = unreferenced_bad_locations(refer)
        r = convert_ok("function_inclusive_bad_%s" % refer, data, config="attributes: []\n" + INCL)
        eq(fn_points(r), [("a", 5), ("b", 5)], "%s: function_cpu_time points" % refer)
        stat(r, "invalid_references", 1)
        r = run_cli("function_inclusive_bad_%s_strict" % refer, data,
                    config="attributes: []\nstrict: true\n" + INCL)
        eq(r.rc, 1, "%s, strict: exit status" % refer)
    data = unreferenced_bad_locations("malformed")
    r = run_cli("function_inclusive_bad_malformed", data, config="attributes: []\n" + INCL, out=False, stats=False)
    eq(r.rc, 1, "malformed line reached: exit status")
    need(MALFORMED_RE.search(r.stderr), "malformed line reached: stderr %r" % r.stderr[:200])


# -- streams --

@check("stream_generated_three_messages")
def _():
    msgs = []
    for i in range(3):
        b = G.Builder("v1.10")
        sp = b.scope(b.resource({"service.name": "s%d" % i}))
        p = b.profile(sp, ("cpu", "nanoseconds"), time=T0 + i * SEC, duration=SEC)
        b.sample(p, values=[10 + i], attrs={PROC: "x"})
        msgs.append(b.to_bytes())
    r = run_cli("stream_three", G.frame(msgs), ["--input-format", "otlp-stream"])
    need(r.rc == 0, "exit %d: %s" % (r.rc, r.stderr[:200]))
    outs = unframe(r.output or b"")
    eq(len(outs), 3, "output messages")
    for i, o in enumerate(outs):
        m = M.ExportMetricsServiceRequest()
        m.ParseFromString(o)
        eq(points(m, "cpu_time"), [(pa("x"), 10 + i)], "message %d points" % i)
        eq(times(m, "cpu_time"), [(T0 + i * SEC, T0 + (i + 1) * SEC)], "message %d times" % i)
        eq(attrs_of(m.resource_metrics[0].resource.attributes), [("service.name", "s%d" % i)],
           "message %d resource" % i)


@check("stream_malformed_frames")
def _():
    good = small_valid()
    errors = []
    cases = [("truncated_length", G.frame([good]) + b"\x00\x00"),
             ("length_past_end", G.frame([good]) + struct.pack(">I", 1000) + good),
             ("bad_second_message", G.frame([good, good[:-3]]))]
    for cname, data in cases:
        r = run_cli("stream_" + cname, data, ["--input-format", "otlp-stream"], out=False, stats=False)
        if r.rc != 1 or r.stdout:
            errors.append("%s: exit %d, %d bytes on stdout" % (cname, r.rc, len(r.stdout)))
        elif not MALFORMED_RE.search(r.stderr):
            errors.append("%s: stderr %r" % (cname, r.stderr[:120]))
    need(not errors, "; ".join(errors))


@check("cumulative_stream_keeps_state")
def _():
    msgs = []
    for i in range(2):
        b = G.Builder("v1.10")
        sp = b.scope(b.resource({"service.name": "s"}))
        p = b.profile(sp, ("cpu", "nanoseconds"), time=T0 + i * SEC, duration=SEC)
        b.sample(p, values=[10], attrs={PROC: "x"})
        if i == 1:
            b.sample(p, values=[5], attrs={PROC: "y"})
        msgs.append(b.to_bytes())
    r = run_cli("cumulative_stream", G.frame(msgs), ["--input-format", "otlp-stream"],
                config="temporality: cumulative\n")
    need(r.rc == 0, "exit %d: %s" % (r.rc, r.stderr[:200]))
    outs = unframe(r.output or b"")
    eq(len(outs), 2, "output messages")
    m1, m2 = M.ExportMetricsServiceRequest(), M.ExportMetricsServiceRequest()
    m1.ParseFromString(outs[0])
    m2.ParseFromString(outs[1])
    eq(metric(m1.resource_metrics[0], "cpu_time").sum.aggregation_temporality, 2, "temporality")
    eq(points(m1, "cpu_time"), [(pa("x"), 10)], "first call")
    eq(points(m2, "cpu_time"), [(pa("x"), 20), (pa("y"), 5)], "second call (running totals)")
    eq(times(m2, "cpu_time"), [(T0, T0 + 2 * SEC), (T0 + SEC, T0 + 2 * SEC)],
       "second call (first start kept)")


# -- more layout evidence, references and nested values --

@check("layout_contradicting_evidence_malformed")
def _():
    errors = []
    # v1.10 samples (field 4 packed) and a v1.8 Profile field 12.
    data = G.append_raw(basic("v1.10").to_bytes(), PROFILE0, G.f_bytes(12, b"\x01"))
    e = malformed("contradict_12_vs_4", data)
    if e:
        errors.append("Profile 12 + Sample 4 packed, auto: %s" % e)
    r = run_cli("contradict_forced_v1_10", data, ["--layout", "v1.10"])
    if r.rc != 0:
        errors.append("same input forced v1.10 (field 12 unknown there): exit %d" % r.rc)
    # Old-layout samples (field 3 packed) and a v1.10 KeyValue.key_strindex.
    b = basic("v1.9")
    data = G.append_raw(b.to_bytes(), [(1, 0), (1, 0)],
                        G.f_bytes(1, G.f_varint(3, b.s("service.name")) + G.f_bytes(2, G.f_bytes(1, "x"))))
    e = malformed("contradict_3_vs_strindex", data)
    if e:
        errors.append("Sample 3 packed + key_strindex, auto: %s" % e)
    need(not errors, "; ".join(errors))


@check("invalid_string_references_in_attributes")
def _():
    b = G.Builder("v1.10", "strindex")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p, values=[1], attrs={PROC: "ok"})
    bad_key = b.d.attribute_table.add()                  # key_strindex past the end
    bad_key.key_strindex = 100000
    bad_key.value.string_value = "v"
    # key_strindex -1 (2^64 - 1 on the wire) before any key whose index is
    # 7 mod 8, which the library's table of recent keys would hold
    neg_key = b.d.attribute_table.add()
    neg_key.key_strindex = -1
    neg_key.value.string_value = "v"
    bad_val = b.d.attribute_table.add()                  # string_value_strindex past the end
    bad_val.key_strindex = b.s(THREAD)
    bad_val.value.string_value_strindex = 100000
    neg_val = b.d.attribute_table.add()                  # negative string_value_strindex
    neg_val.key_strindex = b.s(THREAD)
    neg_val.value.string_value_strindex = -2
    need(all(i % 8 != 7 for i in (0, b.s(PROC), 100000)), "test bug: an earlier key is 7 mod 8")
    n = len(b.d.attribute_table)
    b.sample(p, values=[2], attrs=[n - 4])
    b.sample(p, values=[4], attrs=[n - 3])
    b.sample(p, values=[8], attrs=[n - 2])
    b.sample(p, values=[32], attrs=[n - 1])
    b.sample(p, values=[16], attrs={PROC: "ok"})
    r = convert_ok("invalid_string_references", b.to_bytes())
    eq(points(r.req, "cpu_time"), [(pa("ok"), 17)], "cpu_time points")
    stat(r, "invalid_references", 4)


@check("resource_nested_values_resolved")
def _():
    b = G.Builder("v1.10", "strindex")
    rp = b.resource([("service.name", "s"), ("tags", ["a", "b", 3]),
                     ("meta", {"team": "core", "n": 2})])
    p = b.profile(b.scope(rp), ("cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p, values=[1], attrs={PROC: "x"})
    r = convert_ok("resource_nested_values", b.to_bytes())
    res = r.req.resource_metrics[0].resource.attributes
    eq([kv.key for kv in res], ["service.name", "tags", "meta"], "keys")
    arr = res[1].value.array_value.values
    eq([(v.WhichOneof("value"), any_value(v)[1]) for v in arr],
       [("string_value", "a"), ("string_value", "b"), ("int_value", 3)], "array value")
    kvl = res[2].value.kvlist_value.values
    eq([(kv.key, any_value(kv.value)) for kv in kvl],
       [("team", ("string_value", "core")), ("n", ("int_value", 2))], "kvlist value")


@check("nested_keyvalue_empty_key_then_strindex")
def _():
    # docs/spec.md section 1: a KeyValue's key is `key` when non-empty, else
    # string_table[key_strindex]. Inside a kvlist value the fields come as
    # key_strindex, an empty key, then the value: the key is "resolved".
    b = G.Builder("v1.10", "strindex")
    rp = b.resource([("service.name", "s")])
    p = b.profile(b.scope(rp), ("cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p, values=[1], attrs={PROC: "x"})
    inner = G.f_varint(3, b.s("resolved")) + G.f_bytes(1, b"") + G.f_bytes(2, G.f_varint(3, 5))
    later = G.f_bytes(1, "a") + G.f_bytes(1, b"") + G.f_varint(3, b.s("last")) + G.f_bytes(2, G.f_varint(3, 6))
    kvl = G.f_bytes(1, inner) + G.f_bytes(1, later)
    data = G.append_raw(b.to_bytes(), [(1, 0), (1, 0)],
                        G.f_bytes(1, G.f_bytes(1, "nest2") + G.f_bytes(2, G.f_bytes(6, kvl))))
    r = convert_ok("nested_kv_empty_key", data)
    res = r.req.resource_metrics[0].resource.attributes
    eq([kv.key for kv in res], ["service.name", "nest2"], "keys")
    eq([(kv.key, any_value(kv.value)) for kv in res[1].value.kvlist_value.values],
       [("resolved", ("int_value", 5)), ("last", ("int_value", 6))], "kvlist keys")


def independent_series(req, layout):
    """{(resource, metric, attrs tuple): value} from a decoded generated
    request with the default rules and samples/count or alloc_space profiles."""
    d = req.dictionary
    st = d.string_table
    out = {}
    for ri, rp in enumerate(req.resource_profiles):
        res = {}
        for kv in rp.resource.attributes:
            w, val = any_value(kv.value)
            res[kv.key or st[kv.key_strindex]] = st[val] if w == "string_value_strindex" else val
        for sp in rp.scope_profiles:
            for p in sp.profiles:
                t = st[p.sample_type.type_strindex]
                for s in p.samples:
                    eff = dict(res)
                    for i in list(p.attribute_indices) + list(s.attribute_indices):
                        e = d.attribute_table[i]
                        w, val = any_value(e.value)
                        eff[st[e.key_strindex]] = st[val] if w == "string_value_strindex" else val
                    v = sum(s.values) if len(s.values) else len(s.timestamps_unix_nano)
                    if t == "samples":
                        name, v = "cpu_time", v * p.period
                    elif t == "alloc_space":
                        name = "memory_allocation"
                    else:
                        raise Fail("test bug: profile type %s" % t)
                    key = (ri, name, tuple((k, eff[k]) for k in (PROC, THREAD) if eff.get(k)))
                    out[key] = out.get(key, 0) + v
    return out


def output_series(req):
    out = {}
    for ri, rm in enumerate(req.resource_metrics):
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                for dp in m.sum.data_points:
                    key = (ri, m.name, tuple(attrs_of(dp.attributes)))
                    need(key not in out, "series %r appears twice" % (key,))
                    out[key] = dp.as_int
    return out


def add_generated():
    for lay, unpacked, kv in (("v1.10", False, "strindex"), ("v1.8", True, "inline"),
                              ("v1.9", False, "inline")):
        name = "generated_typical_%s_%s_%s" % (lay.replace(".", "_"),
                                              "unpacked" if unpacked else "packed", kv)

        def fn(lay=lay, unpacked=unpacked, kv=kv, name=name):
            b = G.generate("typical", lay, 7, kv)
            data = b.to_bytes(unpacked)
            r = convert_ok(name, data, ["--layout", lay])
            expected = independent_series(b.req, lay)
            got = output_series(r.req)
            need(len(expected) > 100, "test bug: only %d series" % len(expected))
            eq(len(got), len(expected), "number of series")
            diff = [(k, expected.get(k), got.get(k)) for k in set(expected) | set(got)
                    if expected.get(k) != got.get(k)]
            need(not diff, "%d series differ, e.g. %r" % (len(diff), diff[:2]))
            stat(r, "samples", sum(len(p.samples) for rp in b.req.resource_profiles
                                   for sp in rp.scope_profiles for p in sp.profiles))
        check(name)(fn)


add_generated()


@check("generator_shapes_deterministic")
def _():
    a = G.generate("small", "v1.10", 5).to_bytes()
    eq(G.generate("small", "v1.10", 5).to_bytes() == a, True, "same seed, same bytes")
    need(G.generate("small", "v1.10", 6).to_bytes() != a, "another seed gives the same bytes")
    need(3_000 <= len(a) <= 8_000, "small shape is %d bytes" % len(a))
    t = G.generate("typical", "v1.10", 1)
    n = len(t.to_bytes())
    need(1_500_000 <= n <= 2_600_000, "typical shape is %d bytes" % n)
    d = t.req.dictionary
    need(len(d.location_table) > 25_000 and len(d.stack_table) > 5_000
         and len(d.string_table) > 12_000, "typical tables too small")
    samples = sum(len(p.samples) for rp in t.req.resource_profiles
                  for sp in rp.scope_profiles for p in sp.profiles)
    need(7_000 <= samples <= 9_000, "typical has %d samples" % samples)
    demo = G.generate("demo", "v1.10", 1).to_bytes()
    with open(os.path.join(ROOT, "examples", "demo.otlp"), "rb") as f:
        eq(f.read() == demo, True, "examples/demo.otlp is --shape demo --seed 1")


@check("series_identity_keeps_value_type")
def _():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p, values=[1], attrs={"process.pid": 42})
    b.sample(p, values=[2], attrs={"process.pid": "42"})
    b.sample(p, values=[4], attrs={"process.pid": 42})
    r = convert_ok("series_identity_value_type", b.to_bytes(),
                   config="attributes:\n  - {key: pid, type: attribute, from: process.pid}\n")
    m = metric(r.req.resource_metrics[0], "cpu_time")
    got = [(any_value(dp.attributes[0].value), dp.as_int) for dp in m.sum.data_points]
    eq(got, [(("int_value", 42), 5), (("string_value", "42"), 2)], "points (int 42 vs string 42)")


@check("max_series_is_per_resource")
def _():
    b = G.Builder("v1.10")
    for r_i in range(2):
        sp = b.scope(b.resource({"service.name": "s%d" % r_i}))
        p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
        for t, v in (("a", 1), ("b", 2), ("c", 4)):
            b.sample(p, values=[v * (r_i + 1)], attrs={THREAD: t})
    r = convert_ok("max_series_per_resource", b.to_bytes(), config="max_series: 2\n")
    for r_i in range(2):
        k = r_i + 1
        eq(points(r.req, "cpu_time", r_i),
           [(pa(None, "a"), k), (pa(None, "b"), 2 * k), ([("otel.metric.overflow", True)], 4 * k)],
           "resource %d points" % r_i)
    stat(r, "overflow_samples", 2)


@check("strict_without_invalid_references_exit_0")
def _():
    r = convert_ok("strict_clean", basic("v1.10").to_bytes(), config="strict: true\n")
    verify_basic(r, "v1.10")


@check("all_samples_empty_no_output_resource")
def _():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p, attrs={PROC: "x"})
    b.sample(p, attrs={PROC: "y"})
    r = convert_ok("all_samples_empty", b.to_bytes())
    eq(len(r.req.resource_metrics), 0, "ResourceMetrics")
    stat(r, "empty_samples", 2)


@check("generated_huge_v1_10_against_independent_count")
def _():
    b = G.generate("huge", "v1.10", 3)
    data = b.to_bytes()
    need(len(data) > 15_000_000, "test bug: huge is %d bytes" % len(data))
    r = convert_ok("generated_huge", data)
    expected = independent_series(b.req, "v1.10")
    got = output_series(r.req)
    diff = [(k, expected.get(k), got.get(k)) for k in set(expected) | set(got)
            if expected.get(k) != got.get(k)]
    need(not diff, "%d of %d series differ, e.g. %r" % (len(diff), len(expected), diff[:2]))
    os.remove(os.path.join(GOLDEN, "generated_huge.otlp"))  # 18 MB; regenerate with seed 3


@check("max_series_default_2000")
def _():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    for i in range(2100):
        b.sample(p, values=[i + 1], attrs={THREAD: "t%04d" % i})
    r = convert_ok("max_series_default", b.to_bytes())
    pts = points(r.req, "cpu_time")
    eq(len(pts), 2001, "points (2000 series and the overflow point)")
    eq(pts[1999], (pa(None, "t1999"), 2000), "last regular point")
    eq(pts[2000], ([("otel.metric.overflow", True)], sum(range(2001, 2101))), "overflow point")
    stat(r, "overflow_samples", 100)


def evidence_request(layout, comments=(), dropped=0):
    b = G.Builder(layout)
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR, comments=comments)
    p.dropped_attributes_count = dropped
    b.sample(p, values=[1, 2], attrs={PROC: "x"})
    return b


@check("layout_auto_evidence_rules")
def _():
    errors = []
    cases = [
        # (name, bytes, expected layout) -- docs/spec.md section 1 evidence rules
        ("v1_8_unpacked_comment_field7_wt0",
         evidence_request("v1.8", comments=["c"]).to_bytes(unpacked=True), "v1.8"),
        ("v1_8_packed_comment_field7_wt2_is_no_evidence",
         evidence_request("v1.8", comments=["c"]).to_bytes(), "v1.9"),
        ("v1_9_dropped_count_field8_wt0", evidence_request("v1.9", dropped=3).to_bytes(), "v1.9"),
        ("v1_10_dropped_count_unpacked", evidence_request("v1.10", dropped=3).to_bytes(True), "v1.10"),
        ("empty_request", b"", "v1.10"),
    ]
    for cname, data, lay in cases:
        r = run_cli("evidence_" + cname, data, ["--layout", "auto"])
        if not data:  # p2m refuses no bytes as an empty input (exit 1)
            if r.rc != 1 or "p2m: empty input" not in r.stderr:
                errors.append("%s: exit %d %s" % (cname, r.rc, r.stderr[:100]))
            continue
        if r.rc != 0 or r.stats is None:
            errors.append("%s: exit %d %s" % (cname, r.rc, r.stderr[:100]))
            continue
        if r.stats.get("layout") != lay:
            errors.append("%s: layout %r, expected %r" % (cname, r.stats.get("layout"), lay))
        if data:
            req = M.ExportMetricsServiceRequest()
            req.ParseFromString(r.output or b"")
            try:
                eq(points(req, "cpu_time"), [(pa("x"), 3)], cname + " points")
            except Fail as e:
                errors.append(str(e))
    # Profile field 8 as a varint (v1.9 or later) and field 12 (v1.8 only).
    bad = G.append_raw(evidence_request("v1.9", dropped=3).to_bytes(), PROFILE0,
                       G.f_bytes(12, b"\x01"))
    e = malformed("evidence_field8_wt0_and_field12", bad)
    if e:
        errors.append("field 8 varint + field 12: %s" % e)
    need(not errors, "; ".join(errors))


@check("layout_evidence_in_a_later_sample")
def _():
    # Samples with no layout evidence (values alone in v1.9, attributes alone
    # in v1.10) and then one with some: the survey reads on until it finds it.
    b = G.Builder("v1.9")
    p = b.profile(b.scope(b.resource({"service.name": "s"})), ("cpu", "nanoseconds"),
                  time=T0, duration=DUR)
    for i in range(40):
        b.sample(p, values=[3], attrs={PROC: "x"} if i == 39 else None)
    r = convert_ok("evidence_later_v1_9", b.to_bytes(), ["--layout", "auto"])
    stat(r, "layout", "v1.9")
    eq(sorted(points(r.req, "cpu_time")), [([], 39 * 3), (pa("x"), 3)], "v1.9 points")
    b = G.Builder("v1.10")
    p = b.profile(b.scope(b.resource({"service.name": "s"})), ("cpu", "nanoseconds"),
                  time=T0, duration=DUR)
    for i in range(40):
        b.sample(p, values=[3] if i == 39 else None, attrs={PROC: "x"})
    r = run_cli("evidence_later_v1_10", b.to_bytes(), ["--layout", "v1.9"])
    eq(r.rc, 0, "forced v1.9: exit status")
    need("but the input's fields point to v1.10" in r.stderr,
         "no layout conflict reported: %r" % r.stderr[:300])


def past_the_survey(layout, n=40):
    """A request whose first n samples carry no layout evidence (v1.10:
    attributes and timestamps alone; v1.9: values alone), more than the
    survey reads for it (P2M__EV_SAMPLES): what comes later is seen by the
    walk, and the outcome must be the one of reading every sample."""
    b = G.Builder(layout)
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.cpu_profile(sp, time=T0, duration=DUR)
    for i in range(n):
        if layout == "v1.10":
            b.sample(p, timestamps=[T0 + i], attrs={PROC: "x"})
        else:
            b.sample(p, values=[3])
    return b, sp, p


@check("layout_evidence_past_the_survey")
def _():
    # (The statistics' layout_evidence of these, and a malformed late sample:
    # c.api.late_layout_evidence, which converts without p2m_work_size first.)
    # v1.10: packed values on the last sample, the only evidence
    b, sp, p = past_the_survey("v1.10")
    b.sample(p, values=[3], attrs={PROC: "x"})
    r = convert_ok("evidence_past_values", b.to_bytes())
    stat(r, "layout", "v1.10")
    eq(points(r.req, "cpu_time"), [(pa("x"), (40 + 3) * 50_000_000)], "v1.10 points")
    # v1.9: attribute indices (old layout) only in a profile that feeds no
    # metric, after the cpu profile: the cpu samples' field 2 are values
    b, sp, p = past_the_survey("v1.9")
    q = b.profile(sp, ("goroutine", "count"), time=T0, duration=DUR)
    b.sample(q, values=[1], attrs={PROC: "y"})
    r = convert_ok("evidence_past_unfed_old", b.to_bytes())
    stat(r, "layout", "v1.9")
    stat(r, "profiles_unfed", 1)
    eq(points(r.req, "cpu_time"), [([], 40 * 3 * 50_000_000)], "v1.9 points")
    # v1.10: packed values only in the profile that feeds no metric
    b, sp, p = past_the_survey("v1.10")
    q = b.profile(sp, ("goroutine", "count"), time=T0, duration=DUR)
    b.sample(q, values=[1], attrs={PROC: "y"})
    r = convert_ok("evidence_past_unfed_v1_10", b.to_bytes())
    eq(points(r.req, "cpu_time"), [(pa("x"), 40 * 50_000_000)], "v1.10 points (unfed)")
    # Profile field 12 (v1.8 only) and packed values (v1.10 only) on a late
    # sample: contradicting evidence, the request is malformed
    b, sp, p = past_the_survey("v1.10")
    b.sample(p, values=[3], attrs={PROC: "x"})
    bad = G.append_raw(b.to_bytes(), PROFILE0, G.f_bytes(12, b"\x01"))
    r = run_cli("evidence_past_contradiction", bad, out=False, stats=False)
    eq(r.rc, 1, "contradicting late evidence: exit status")
    need("contradicting layout evidence: v1.8 and a newer layout" in r.stderr,
         "not the survey's message: %r" % r.stderr[:300])


@check("cli_stdin_stdout_and_missing_file")
def _():
    data = basic("v1.10").to_bytes()
    r = convert_ok("cli_io", data, ["--now", "1"])
    need(os.path.exists(P2M), "no p2m")
    p = subprocess.run([P2M, "convert", "-f", "otlp", "--now", "1", "-"], input=data,
                       capture_output=True, timeout=CALL_TIMEOUT)
    eq(p.returncode, 0, "stdin to stdout: exit status")
    eq(p.stdout, r.output, "stdout bytes equal the -o file bytes")
    p = subprocess.run([P2M, "convert", "-f", "otlp", os.path.join(GOLDEN, "no-such-file.otlp")],
                       capture_output=True, timeout=CALL_TIMEOUT)
    eq(p.returncode, 2, "missing input file: exit status")
    eq(p.stdout, b"", "missing input file: stdout")



# -- declared metrics of their own (docs/spec.md section 3.5) --------------------

EXTRA_CONFIG = """metrics:
  cpu: {enabled: true}
  extra:
    - {metric_name: off_cpu_time, unit: ns, sample_types: ["off_cpu/nanoseconds"]}
    - {metric_name: wall_time, unit: s, sample_types: ["wall/nanoseconds", "wall/count"]}
    - {metric_name: lock_contentions, unit: "{contentions}", sample_types: ["contentions/count"]}
    - {metric_name: lock_delay, unit: ms, sample_types: ["delay/nanoseconds"]}
    - {metric_name: allocated_objects, unit: "{objects}", sample_types: ["alloc_objects/count"],
       description: "Objects allocated"}
    - {metric_name: heap_in_use, unit: bytes, sample_types: ["inuse_space/bytes"]}
"""


def extra_request(layout):
    """Per process a and b (values worked out by hand):
         off_cpu/nanoseconds        a 1500 + 500, b 40          -> off_cpu_time a 2000, b 40 (ns)
         wall/nanoseconds (scope 1) a 3 000 000 000
         wall/count x 10 ms (scope 1: left out, the time profile of that scope counts)
         wall/count x 10 ms (scope 2) a 5 -> 50 000 000       -> wall_time a 3.05 (s)
         contentions/count          a 4 + 6                   -> lock_contentions a 10
         delay/nanoseconds          a 2 500 000               -> lock_delay a 2.5 (ms)
         alloc_objects/count        b 17                      -> allocated_objects b 17
         inuse_space/bytes          a 4096 + 1024             -> heap_in_use a 5120 (Gauge)
         goroutine/count            a 3 samples               -> nothing (unclassified)
         cpu/count x cpu 1 ms (a V8 inspector sender) b 7     -> cpu_time b 7 000 000"""
    b = G.Builder(layout)
    rp = b.resource({"service.name": "s"})
    sp = b.scope(rp)
    A, B = {PROC: "a"}, {PROC: "b"}
    p = b.profile(sp, ("off_cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p, values=[1500], attrs=A)
    b.sample(p, values=[500], attrs=A)
    b.sample(p, values=[40], attrs=B)
    p = b.profile(sp, ("wall", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p, values=[3_000_000_000], attrs=A)
    p = b.profile(sp, ("wall", "count"), ("wall", "nanoseconds"), 10_000_000, time=T0, duration=DUR)
    b.sample(p, values=[300], attrs=A)
    p = b.profile(sp, ("contentions", "count"), time=T0, duration=DUR)
    b.sample(p, values=[4], attrs=A)
    b.sample(p, values=[6], attrs=A)
    p = b.profile(sp, ("delay", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p, values=[2_500_000], attrs=A)
    p = b.profile(sp, ("alloc_objects", "count"), time=T0, duration=DUR)
    b.sample(p, values=[17], attrs=B)
    p = b.profile(sp, ("inuse_space", "bytes"), time=T0, duration=DUR)
    b.sample(p, values=[4096], attrs=A)
    b.sample(p, values=[1024], attrs=A)
    p = b.profile(sp, ("goroutine", "count"), time=T0, duration=DUR)
    for _ in range(3):
        b.sample(p, values=[1], attrs=A)
    sp2 = b.scope(rp)
    p = b.profile(sp2, ("wall", "count"), ("wall", "nanoseconds"), 10_000_000, time=T0, duration=DUR)
    b.sample(p, values=[5], attrs=A)
    p = b.profile(sp2, ("cpu", "count"), ("cpu", "nanoseconds"), 1_000_000, time=T0, duration=DUR)
    b.sample(p, values=[7], attrs=B)
    return b.to_bytes()


def gauge_points(req, name, res=0):
    m = metric(req.resource_metrics[res], name)
    need(m is not None, "metric %s missing" % name)
    need(m.WhichOneof("data") == "gauge", "metric %s is not a Gauge" % name)
    return [(attrs_of(dp.attributes), dp.as_int if dp.WhichOneof("value") == "as_int" else dp.as_double,
             dp.start_time_unix_nano, dp.time_unix_nano) for dp in m.gauge.data_points]


def verify_extra(req):
    rm = req.resource_metrics
    eq(len(rm), 1, "ResourceMetrics")
    names = [m.name for m in rm[0].scope_metrics[0].metrics]
    eq(names, ["cpu_time", "off_cpu_time", "wall_time", "lock_contentions", "lock_delay",
               "allocated_objects", "heap_in_use"], "metric order")
    eq(points(req, "cpu_time"), [(pa("b"), 7_000_000)], "cpu_time ((cpu, count) x 1 ms)")
    eq(points(req, "off_cpu_time"), [(pa("a"), 2000), (pa("b"), 40)], "off_cpu_time")
    eq(points(req, "wall_time"), [(pa("a"), 3.05)], "wall_time in s")
    eq(points(req, "lock_contentions"), [(pa("a"), 10)], "lock_contentions")
    eq(points(req, "lock_delay"), [(pa("a"), 2.5)], "lock_delay in ms")
    eq(points(req, "allocated_objects"), [(pa("b"), 17)], "allocated_objects")
    eq(gauge_points(req, "heap_in_use"), [(pa("a"), 5120, 0, T0 + DUR)], "heap_in_use gauge")
    units = {m.name: m.unit for m in rm[0].scope_metrics[0].metrics}
    eq(units, {"cpu_time": "ns", "off_cpu_time": "ns", "wall_time": "s",
               "lock_contentions": "{contentions}", "lock_delay": "ms",
               "allocated_objects": "{objects}", "heap_in_use": "By"}, "units (UCUM)")
    for m in rm[0].scope_metrics[0].metrics:
        if m.WhichOneof("data") == "sum":
            need(m.sum.is_monotonic and m.sum.aggregation_temporality == 1,
                 "%s: a monotonic delta Sum" % m.name)
    eq(metric(rm[0], "allocated_objects").description, "Objects allocated", "description")


def add_extra_checks():
    for lay in G.LAYOUTS:
        name = "extra_metrics_" + lay.replace(".", "_")

        def fn(lay=lay, name=name):
            r = convert_ok(name, extra_request(lay), config=EXTRA_CONFIG)
            verify_extra(r.req)
            stat(r, "profiles", 10)
            stat(r, "profiles_unclassified", 1)
            stat(r, "profiles_unfed", 1)
            stat(r, "samples_unfed", 3)
        check(name)(fn)


add_extra_checks()


@check("extra_metrics_json_matches_protobuf")
def _():
    """-f json of the same conversion, read by Google protobuf's JSON parser,
    is the same message as the -f otlp output (so the Gauge and the declared
    Sums are in OTLP/JSON form)."""
    from google.protobuf import json_format
    data = extra_request("v1.10")
    r = convert_ok("extra_metrics_json_pb", data, config=EXTRA_CONFIG)
    j = run_cli("extra_metrics_json", data, config=EXTRA_CONFIG, fmt="json")
    need(j.rc == 0 and j.output is not None, "json: exit %d: %s" % (j.rc, j.stderr[:300]))
    lines = [ln for ln in j.output.decode().splitlines() if ln.strip()]
    eq(len(lines), 1, "JSON lines")
    parsed = json_format.Parse(lines[0], M.ExportMetricsServiceRequest())
    need(parsed == r.req, "JSON output parses to a different message than the protobuf output")
    doc = json.loads(lines[0])
    heap = [m for m in doc["resourceMetrics"][0]["scopeMetrics"][0]["metrics"] if m["name"] == "heap_in_use"]
    need(len(heap) == 1 and "gauge" in heap[0] and "sum" not in heap[0], "heap_in_use is a JSON gauge")


@check("text_outputs_replace_bytes_that_are_not_utf8")
def _():
    """String values may hold any bytes in the input (the reader does not
    check UTF-8); -f json replaces each ill-formed part with U+FFFD, as
    Python's decoder does, so the output is JSON (UTF-8) with every other
    character as it came."""
    names = [b"ok-\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x98\x80",  # well formed: kept
             b"cut-\xe2\x82",                                  # a cut sequence: one U+FFFD
             b"bad-\xff\xc0\xaf-\xed\xa0\x80-\xf4\x90\x80\x80-\x80"]
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    prof = b.cpu_profile(sp, time=T0, duration=DUR)
    holders = ["@%02d%s" % (i, "#" * (len(n) - 3)) for i, n in enumerate(names)]
    for i, h in enumerate(holders):
        b.sample(prof, values=[i + 1], attrs={PROC: "p", THREAD: h})
    data = b.to_bytes()
    for h, n in zip(holders, names):
        need(data.count(h.encode()) == 1 and len(h) == len(n), "placeholder %s" % h)
        data = data.replace(h.encode(), n)
    j = run_cli("json_utf8", data, fmt="json")
    need(j.rc == 0 and j.output is not None, "json: exit %d: %s" % (j.rc, j.stderr[:300]))
    text = j.output.decode("utf-8")  # strict: fails on any byte that is not UTF-8
    doc = json.loads(text.splitlines()[0])
    got = {}
    for m in doc["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]:
        for dp in m["sum"]["dataPoints"]:
            attrs = {a["key"]: a["value"]["stringValue"] for a in dp["attributes"]}
            got[attrs[THREAD]] = int(dp["asInt"])
    want = {n.decode("utf-8", "replace"): (i + 1) * 50_000_000 for i, n in enumerate(names)}
    eq(got, want, "thread names (U+FFFD for each ill-formed part) and their cpu time")
    # the Prometheus exposition is UTF-8 too: promtool accepts it, the labels
    # read back as Python decodes the names
    pr = run_cli("prom_utf8", data, fmt="prom")
    need(pr.rc == 0 and pr.output is not None, "prom: exit %d: %s" % (pr.rc, pr.stderr[:300]))
    text = pr.output.decode("utf-8")
    lint = subprocess.run(["promtool", "check", "metrics"], input=pr.output, capture_output=True,
                          timeout=CALL_TIMEOUT)
    need(lint.returncode == 0 and not lint.stdout and not lint.stderr,
         "promtool: exit %d: %s" % (lint.returncode, (lint.stdout + lint.stderr)[:300]))
    labels = sorted(line.split('thread_name="', 1)[1].split('"', 1)[0]
                    for line in text.splitlines() if line.startswith("cpu_time_seconds_total{"))
    eq(labels, sorted(want), "thread_name labels")


@check("classify_cpu_count_v8_sender")
def _():
    """A V8 inspector based Node.js sender: (cpu, count) with a (cpu, nanoseconds)
    period of 1 ms; 7 samples are 7 ms of cpu time."""
    r = convert_ok("classify_cpu_count", one_profile("v1.10", ("cpu", "count"), ("cpu", "nanoseconds"),
                                                     1_000_000))
    eq(points(r.req, "cpu_time"), [(pa("p"), 7_000_000)], "cpu_time points")
    stat(r, "profiles_unclassified", 0)


@check("classify_cpu_count_and_cpu_time_same_scope")
def _():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p1 = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p1, values=[1000], attrs={PROC: "x"})
    p2 = b.profile(sp, ("cpu", "count"), ("cpu", "nanoseconds"), 1_000_000, time=T0, duration=DUR)
    b.sample(p2, values=[2], attrs={PROC: "x"})
    r = convert_ok("classify_cpu_count_dedup", b.to_bytes())
    eq(points(r.req, "cpu_time"), [(pa("x"), 1000)], "cpu_time points (only cpu/ns counts)")


def main(checks=None):
    """Runs checks (default: this file's), those whose name contains one of
    the command-line arguments when there are any."""
    only = sys.argv[1:]
    failed = 0
    start = time.monotonic()
    for name, fn in CHECKS if checks is None else checks:
        if only and not any(o in name for o in only):
            continue
        if time.monotonic() - start > SUITE_BUDGET:
            failed += 1
            print("FAIL %s: not run, the suite's time budget of %d s is spent" % (name, SUITE_BUDGET))
            continue
        try:
            fn()
            print("PASS %s" % name, flush=True)
        except Fail as e:
            failed += 1
            print("FAIL %s: %s" % (name, str(e).replace("\n", " ")), flush=True)
        except Exception as e:  # noqa: BLE001 - a test bug still gives a FAIL line
            failed += 1
            tb = traceback.extract_tb(e.__traceback__)[-1]
            print("FAIL %s: %s: %s (%s:%d)" % (
                name, type(e).__name__, str(e).replace("\n", " ")[:300],
                os.path.basename(tb.filename), tb.lineno), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""pprof input of the header (issue 17, docs/spec.md section 11).

Profiles are built with Google protobuf from proto/pprof.proto (the unpacked
form of the repeated scalars with gen_profiles' wire rewriter, since proto3
writes them packed), run through the header's p2m_pprof_work_size and
p2m_pprof_convert by the small C driver tests/c/pprof_drive.c (built by
tests/suite-pprof.sh with and without ASan/UBSan), and the OTLP metrics it
writes are decoded with Google protobuf (proto/metrics.proto).

Expected points come from `ref`, a computation of the mapping contract over
the Profile message the check built (or over Google protobuf's decode of the
bytes given to the driver); it never runs p2m and reads nothing of the
header. A few checks also spell their totals out by hand, which checks `ref`.

One line per check, `PASS name` or `FAIL name: why`; inputs, configs and
outputs stay in build/pprof/golden/NAME.*, so a failure can be replayed:
    build/pprof/pprof_drive [-c NAME.yaml] -o x NAME.pprof
"""

import importlib
import json
import os
import random
import subprocess
import sys
from collections import OrderedDict

import test_convert as TC
from test_convert import G, need, eq, Fail, PROC, THREAD

ROOT = TC.ROOT
B = os.path.join(ROOT, "build", "pprof")
GOLD = os.path.join(B, "golden")
# The sanitizer build runs every check; the optimised gcc build runs the
# differential test too (PPROF_DRIVE / PPROF_DRIVE_ASAN override).
DRIVE_ASAN = os.environ.get("PPROF_DRIVE_ASAN", os.path.join(B, "pprof_drive_asan"))
DRIVE = os.environ.get("PPROF_DRIVE", os.path.join(B, "pprof_drive"))
TC.SUITE_BUDGET = int(os.environ.get("PPROF_SUITE_BUDGET", "240"))

G.ensure_modules()
PP = importlib.import_module("pprof_pb2")
M = TC.M

NOW = 1700000000000000000           # the driver's options.now_unix_nano
T0 = 1_760_000_000_000_000_000      # a profile's time_nanos
DUR = 10_000_000_000
PERIOD = 10_000_000                 # Go's 100 Hz
OVERFLOW = [("otel.metric.overflow", True)]
DEFAULT_RULES = [("attribute", PROC, PROC), ("attribute", THREAD, THREAD)]
TIME_UNITS = {"nanoseconds": 1, "ns": 1, "microseconds": 1000, "us": 1000,
              "milliseconds": 10**6, "ms": 10**6, "seconds": 10**9, "s": 10**9}
ST_OK, ST_MALFORMED, ST_INVALID_REF, ST_TOO_SMALL = 0, 1, 2, 5

CHECKS = []


def check(name):
    return TC.check(name, CHECKS)


# ---- building profiles --------------------------------------------------------


class PB:
    """A pprof Profile under construction. Ids are handed out sparse and out
    of order unless given: functions from 1000 down by 7, locations from 5000
    up by 13 with every other one far away, mappings 900, 40, 901, ..."""

    def __init__(self, types, period_type=None, period=0, time=T0, duration=DUR):
        self.p = PP.Profile()
        self.p.string_table.append("")
        self.idx = {"": 0}
        for t, u in types:
            st = self.p.sample_type.add()
            st.type, st.unit = self.s(t), self.s(u)
        if period_type:
            self.p.period_type.type = self.s(period_type[0])
            self.p.period_type.unit = self.s(period_type[1])
        self.p.period = period
        self.p.time_nanos = time
        self.p.duration_nanos = duration
        self.fn_by_name = {}
        self.next_fn, self.next_loc, self.n_map = 1000, 5000, 0

    def s(self, text):
        if text not in self.idx:
            self.idx[text] = len(self.p.string_table)
            self.p.string_table.append(text)
        return self.idx[text]

    def function(self, name, fid=None, system_name=None, filename="src.go", start_line=1):
        if fid is None and name in self.fn_by_name:
            return self.fn_by_name[name]
        if fid is None:
            fid = self.next_fn
            self.next_fn -= 7
        f = self.p.function.add()
        f.id, f.name = fid, self.s(name)
        f.system_name = self.s(system_name or name)
        f.filename, f.start_line = self.s(filename), start_line
        self.fn_by_name.setdefault(name, fid)
        return fid

    def mapping(self, filename, mid=None):
        if mid is None:
            mid = (900, 40)[self.n_map % 2] + self.n_map
        self.n_map += 1
        m = self.p.mapping.add()
        m.id, m.filename = mid, self.s(filename)
        m.memory_start, m.memory_limit, m.file_offset = 0x400000, 0x800000, 0x1000
        m.build_id = self.s("b1d%d" % mid)
        m.has_functions = True
        return mid

    def location(self, names=(), mapping_id=0, address=0x1234, lid=None, folded=False):
        """names: innermost first (pprof's inline order); a name or a raw
        function id (an int) per line."""
        if lid is None:
            lid = self.next_loc if len(self.p.location) % 2 == 0 else self.next_loc * 1000 + 1
            self.next_loc += 13
        loc = self.p.location.add()
        loc.id, loc.mapping_id, loc.address, loc.is_folded = lid, mapping_id, address, folded
        for i, n in enumerate(names):
            ln = loc.line.add()
            ln.function_id = n if isinstance(n, int) else self.function(n)
            ln.line = 10 + i
        return lid

    def sample(self, locs, values, labels=None):
        """labels: list of (key, value) where value is a str (string label),
        an int (numeric label), (int, unit) or a raw Label tuple
        ("raw", key_idx, str_idx, num, num_unit)."""
        smp = self.p.sample.add()
        smp.location_id.extend(locs)
        smp.value.extend(values)
        for lab in labels or []:
            lb = smp.label.add()
            if lab[0] == "raw":
                lb.key, lb.str, lb.num, lb.num_unit = lab[1:]
                continue
            k, v = lab
            lb.key = self.s(k)
            if isinstance(v, str):
                lb.str = self.s(v)
            elif isinstance(v, tuple):
                lb.num, lb.num_unit = v[0], self.s(v[1])
            else:
                lb.num = v
        return smp

    def bytes(self, unpacked=False):
        data = self.p.SerializeToString()
        return G.unpack_repeated(data, PP.Profile.DESCRIPTOR) if unpacked else data


def entries(data):
    """Top-level fields of a serialised Profile: [(field, start, end)]."""
    out, pos = [], 0
    for f, _, _, raw in G.parse_fields(data):
        out.append((f, pos, pos + len(raw)))
        pos += len(raw)
    return out


def entry_range(data, field, nth):
    """(start, end) of the nth top-level field `field` of data."""
    got = [(s, e) for f, s, e in entries(data) if f == field]
    need(len(got) > nth, "test bug: no entry %d of field %d" % (nth, field))
    return got[nth]


# ---- running the driver ---------------------------------------------------------


class Res:
    pass


def run(name, inputs, config=None, args=(), drive=None):
    """Runs the driver on inputs (bytes or a list of bytes, one engine and
    state for all). Returns a list of Res: .j (its JSON line), .req (the
    decoded ExportMetricsServiceRequest when OK)."""
    drive = drive or DRIVE_ASAN
    if not os.path.exists(drive):
        raise Fail("%s does not exist (tests/suite-pprof.sh builds it)" % os.path.relpath(drive, ROOT))
    if isinstance(inputs, bytes):
        inputs = [inputs]
    os.makedirs(GOLD, exist_ok=True)
    base = os.path.join(GOLD, name)
    cmd = [drive]
    if config is not None:
        with open(base + ".yaml", "w") as f:
            f.write(config)
        cmd += ["-c", base + ".yaml"]
    cmd += list(args) + ["-o", base + ".out"]
    for i, data in enumerate(inputs):
        path = base + ("" if len(inputs) == 1 else ".%d" % (i + 1)) + ".pprof"
        with open(path, "wb") as f:
            f.write(data)
        cmd.append(path)
        out = "%s.out.%d" % (base, i + 1)
        if os.path.exists(out):
            os.remove(out)
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=TC.CALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Fail("timed out: %s" % " ".join(cmd))
    err = p.stderr.decode("utf-8", "replace")
    need(p.returncode == 0, "driver exit %d: %s" % (p.returncode, err.strip()[-600:]))
    lines = [ln for ln in p.stdout.decode().splitlines() if ln.startswith("{")]
    eq(len(lines), len(inputs), "driver JSON lines")
    out = []
    for i, ln in enumerate(lines):
        r = Res()
        r.j = json.loads(ln)
        r.req = None
        r.stats = r.j
        if r.j["status"] == ST_OK:
            with open("%s.out.%d" % (base, i + 1), "rb") as f:
                r.raw = f.read()
            r.req = M.ExportMetricsServiceRequest()
            r.req.ParseFromString(r.raw)
            eq(r.j["bytes_out"], len(r.raw), "stats.bytes_out")
            eq(r.j["bytes_in"], len(inputs[i]), "stats.bytes_in")
            eq(r.j["layout"], "pprof", "stats.layout name")
            eq(r.j["layout_code"], 1, "stats.layout (P2M_LAYOUT_PPROF)")
            need(r.j["same_twice"] is not False, "a second call gave other bytes")
        else:
            need(r.j["untouched"], "a failed call wrote into the output buffer")
        out.append(r)
    return out


def ok(name, data, config=None, args=(), drive=None):
    r = run(name, data, config, args, drive)[0]
    need(r.j["status"] == ST_OK, "status %d (%s): %s" % (r.j["status"], r.j["status_name"],
                                                      r.j["message"]))
    return r


def fails(name, data, status, lo, hi, config=None, args=()):
    """Expects status with an offset in [lo, hi]. p2m_pprof_work_size may
    pass malformed input (it need not read all of it) but must not call
    anything else an error."""
    r = run(name, data, config, args)[0]
    eq(r.j["status"], status, "status (%s: %r)" % (r.j["status_name"], r.j["message"]))
    need(lo <= r.j["offset"] <= hi, "offset %d outside [%d, %d] (message %r)" % (
        r.j["offset"], lo, hi, r.j["message"]))
    need(r.j["message"], "no error message")
    need(r.j["work_status"] in (ST_OK, ST_MALFORMED), "p2m_pprof_work_size status %d" %
         r.j["work_status"])
    need(r.j["work_status"] == ST_OK or status == ST_MALFORMED,
         "p2m_pprof_work_size said MALFORMED, convert %d" % status)
    return r


def metric_of(req, name):
    ms = [m for rm in req.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
          if m.name == name]
    need(len(ms) <= 1, "metric %s appears %d times" % (name, len(ms)))
    return ms[0] if ms else None


def pts(req, name):
    """[(attrs, value)] of a Sum or Gauge metric; [] when absent."""
    m = metric_of(req, name)
    if m is None:
        return []
    kind = m.WhichOneof("data")
    dps = m.sum.data_points if kind == "sum" else m.gauge.data_points
    out = []
    for dp in dps:
        v = getattr(dp, dp.WhichOneof("value"))
        out.append((TC.attrs_of(dp.attributes), v))
    return out


def times(req, name):
    m = metric_of(req, name)
    need(m is not None, "metric %s missing" % name)
    dps = m.sum.data_points if m.WhichOneof("data") == "sum" else m.gauge.data_points
    return sorted(set((dp.start_time_unix_nano, dp.time_unix_nano) for dp in dps))


def names(req):
    return [m.name for rm in req.resource_metrics for sm in rm.scope_metrics for m in sm.metrics]


def stat(r, key, want):
    eq(r.j[key], want, "stats." + key)


# ---- the reference: the contract computed over a Profile message ------------------


class Invalid(Exception):
    pass


def classify(t, u, pt, period, type_rules):
    """(metric, factor) of a column by docs/spec.md section 3 (metric None:
    feeds nothing); metric "cpu_count" is a cpu count column."""
    for rt, ru, metric, scale in type_rules:
        if (t, u) == (rt, ru):
            return metric, scale
    if t == "cpu" and u in TIME_UNITS:
        return "cpu", TIME_UNITS[u]
    if (t, u) in (("samples", "count"), ("cpu", "count")) and pt and pt[0] == "cpu" and \
            pt[1] in TIME_UNITS and period > 0:
        return "cpu_count", period * TIME_UNITS[pt[1]]
    if u == "bytes" and t.startswith("alloc_") and (t.endswith("_space") or t.endswith("_bytes")):
        return "memory", 1
    return None, 0


def ref(prof, rules=DEFAULT_RULES, function=None, fkey="function.name", extra=(),
        type_rules=(), resource=None, max_series=2000, cpu="cpu_time", memory="memory_allocation",
        symbolize=False):
    """Expected output of one Profile: (OrderedDict metric -> [(attrs, value)]
    with the overflow point last, stats dict). rules: ("attribute", key,
    from) | ("literal", key, value) | ("fnregex", key, compiled pattern).
    extra: [(name, [(type, unit)], per)] where per is "ns" (time types and
    cpu-period counts in ns), "By" or "1". symbolize: the driver's
    --symbolize (an unsymbolised frame at an odd address is "sym_D")."""
    S = list(prof.string_table)
    need(S and S[0] == "", "test bug: string_table[0]")

    def s(i):
        if not 0 <= i < len(S):
            raise Invalid()
        return S[i]

    funcs = {f.id: f for f in prof.function}
    maps = {m.id: m for m in prof.mapping}
    locs = {loc.id: loc for loc in prof.location}
    types = [(S[st.type], S[st.unit]) for st in prof.sample_type]
    pt = (S[prof.period_type.type], S[prof.period_type.unit]) if prof.HasField("period_type") else None
    cls = [classify(t, u, pt, prof.period, type_rules) for t, u in types]
    has_cpu_time = any(c[0] == "cpu" for c in cls)

    def loc_names(loc):
        if loc.line:
            out = []
            for ln in loc.line:
                if ln.function_id not in funcs:
                    raise Invalid()
                out.append(s(funcs[ln.function_id].name))
            return out
        if symbolize and loc.address & 1:
            return ["sym_%d" % (loc.address % 10)]
        if loc.mapping_id:
            if loc.mapping_id not in maps:
                raise Invalid()
            fn = s(maps[loc.mapping_id].filename)
            if fn:
                return [fn.rsplit("/", 1)[-1]]
        return ["[unknown]"]

    def stack_names(smp, leaf_only):
        out = []
        for lid in smp.location_id[:1] if leaf_only else smp.location_id:
            if lid not in locs:
                raise Invalid()
            out.append(loc_names(locs[lid]))
        return out

    order = [cpu, memory] + ([function and "function_cpu_time"] if function else []) + \
        [e[0] for e in extra]
    series = OrderedDict((m, OrderedDict()) for m in order if m)
    ovf = {m: [0, 0] for m in series}
    st = {"invalid_references": 0, "samples_kept": 0, "overflow_samples": 0,
          "profiles": len(types), "samples": len(types) * len(prof.sample)}

    def add(metric, key, v):
        ser = series[metric]
        if key in ser or len(ser) < max_series:
            ser[key] = ser.get(key, 0) + v
        else:
            ovf[metric][0] += v
            ovf[metric][1] += 1
            st["overflow_samples"] += 1

    for c, (t, u) in enumerate(types):
        kind, factor = cls[c]
        feeds = []
        if kind == "cpu" or (kind == "cpu_count" and not has_cpu_time):
            feeds.append((cpu, factor))
            if function:
                feeds.append(("function_cpu_time", factor))
        elif kind == "memory":
            feeds.append((memory, factor))
        for name, etypes, per in extra:
            if (t, u) not in etypes:
                continue
            if per == "ns" and u in TIME_UNITS:
                feeds.append((name, TIME_UNITS[u]))
            elif per == "ns" and (t, u) in (("samples", "count"), ("cpu", "count")):
                if not any(tu[1] in TIME_UNITS and tu in etypes and tu[0] == "cpu" for tu in types):
                    feeds.append((name, prof.period * TIME_UNITS[pt[1]]))
            else:
                feeds.append((name, 1))
        if not feeds:
            continue        # a column that feeds nothing is not walked
        for smp in prof.sample:
            try:
                eff = dict(resource or {})
                for lb in smp.label:
                    if lb.str:
                        eff[s(lb.key)] = s(lb.str)
                    elif lb.num or lb.num_unit:
                        s(lb.num_unit)
                        eff[s(lb.key)] = lb.num
            except Invalid:
                st["invalid_references"] += 1
                continue
            # a stack is judged only as far as it is read: the leaf for the
            # self mode and regex rules on `function`, all of it for the
            # inclusive mode; a bad one drops the sample when an attribute
            # needs it, else only its function metric feed
            stack, stack_bad = None, False
            if any(r[0] == "fnregex" for r in rules) or \
                    any(m == "function_cpu_time" for m, _ in feeds):
                try:
                    stack = stack_names(smp, function != "inclusive")
                except Invalid:
                    st["invalid_references"] += 1
                    stack_bad = True
                    if any(r[0] == "fnregex" for r in rules):
                        continue
            st["samples_kept"] += 1
            key = []
            for rule in rules:
                if rule[0] == "attribute" and rule[2] in eff:
                    key.append((rule[1], eff[rule[2]]))
                elif rule[0] == "literal":
                    key.append((rule[1], rule[2]))
                elif rule[0] == "fnregex":
                    leaf = stack[0][0] if stack else "[unknown]"
                    m = rule[2].search(leaf)
                    if m:
                        key.append((rule[1], m.group(1) if m.groups() else m.group(0)))
            v = smp.value[c]
            for metric, f in feeds:
                if metric == "function_cpu_time":
                    if stack_bad:
                        continue
                    if function == "self":
                        fnames = [stack[0][0] if stack else "[unknown]"]
                    else:
                        fnames = []
                        for n in (n for loc in stack for n in loc):
                            if n not in fnames:
                                fnames.append(n)
                        fnames = fnames or ["[unknown]"]
                    for n in fnames:
                        add(metric, tuple(key + [(fkey, n)]), v * f)
                else:
                    add(metric, tuple(key), v * f)
    out = OrderedDict()
    for m, ser in series.items():
        p = [(list(k), v) for k, v in ser.items()]
        if ovf[m][1]:
            p.append((OVERFLOW, ovf[m][0]))
        if p:
            out[m] = p
    st["series"] = sum(len(v) for v in out.values())
    return out, st


def verify(r, want, st=None, keys=("invalid_references", "samples_kept", "overflow_samples",
                                   "profiles", "samples", "series")):
    """The output's points equal ref's, metric by metric, in order."""
    got = OrderedDict((n, pts(r.req, n)) for n in names(r.req))
    eq(list(got), list(want), "metrics")
    for n in want:
        eq(got[n], want[n], "points of %s" % n)
    if st:
        for k in keys:
            stat(r, k, st[k])


# ---- checks: shapes of real profiles ---------------------------------------------------


def go_cpu(n_threads=3, unpacked=False):
    """A Go CPU profile: (samples, count) and (cpu, nanoseconds), period 10 ms."""
    b = PB([("samples", "count"), ("cpu", "nanoseconds")], ("cpu", "nanoseconds"), PERIOD)
    exe = b.mapping("/usr/local/bin/server")
    la = b.location(["main.work"], exe, 0x401000)
    lb = b.location(["main.main"], exe, 0x402000)
    lc = b.location(["runtime.memmove", "main.copy"], exe, 0x403000)
    for i in range(n_threads):
        b.sample([la, lb], [3 + i, (3 + i) * PERIOD + 17], [(THREAD, "w%d" % i)])
        b.sample([lc, la, lb], [1, PERIOD - 5], [(THREAD, "w%d" % i), ("worker", "x")])
    return b


@check("go_cpu_shape_cpu_once_resource_and_stats")
def _():
    b = go_cpu()
    data = b.bytes()
    r = ok("go_cpu", data, args=["--resource-attr", "service.name=checkout",
                                 "--resource-attr", "host.name=h1"])
    # by hand: thread wi has (3+i)*P+17 + P-5 ns in the cpu column; the
    # samples/count column feeds nothing (cpu once)
    by_hand = [([(THREAD, "w%d" % i)], (4 + i) * PERIOD + 12) for i in range(3)]
    eq(pts(r.req, "cpu_time"), by_hand, "cpu_time points")
    want, st = ref(b.p, resource={"service.name": "checkout", "host.name": "h1"})
    verify(r, want, st)
    eq(len(r.req.resource_metrics), 1, "ResourceMetrics")
    eq(TC.attrs_of(r.req.resource_metrics[0].resource.attributes),
       [("service.name", "checkout"), ("host.name", "h1")], "resource attributes")
    stat(r, "resources", 1)
    stat(r, "profiles", 2)
    stat(r, "samples", 2 * len(b.p.sample))
    eq(times(r.req, "cpu_time"), [(T0, T0 + DUR)], "(start, time) of every point")
    eq(metric_of(r.req, "cpu_time").sum.aggregation_temporality, 1, "delta")


@check("cpu_count_column_alone_uses_period")
def _():
    for t in ("samples", "cpu"):
        b = PB([(t, "count")], ("cpu", "nanoseconds"), PERIOD)
        loc = b.location(["f"])
        b.sample([loc], [7], [(THREAD, "a")])
        b.sample([loc], [2], [(THREAD, "b")])
        r = ok("cpu_count_alone_" + t, b.bytes())
        eq(pts(r.req, "cpu_time"), [([(THREAD, "a")], 7 * PERIOD), ([(THREAD, "b")], 2 * PERIOD)],
           "%s/count: cpu_time points" % t)
        verify(r, *ref(b.p))
    # a period in microseconds
    b = PB([("samples", "count")], ("cpu", "microseconds"), 250)
    b.sample([b.location(["f"])], [4], [(THREAD, "a")])
    r = ok("cpu_count_alone_us", b.bytes())
    eq(pts(r.req, "cpu_time"), [([(THREAD, "a")], 4 * 250 * 1000)], "period in us")


def go_heap():
    b = PB([("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"),
            ("inuse_space", "bytes")], ("space", "bytes"), 524288, duration=0)
    la = b.location(["bytes.growSlice", "bytes.(*Buffer).grow"])
    lb = b.location(["main.alloc"])
    b.sample([la, lb], [4, 4096, 1, 1024], [("bytes", (4096, "bytes")), (THREAD, "a")])
    b.sample([lb], [10, 640, 0, 0], [("bytes", (64, "bytes")), (THREAD, "b")])
    b.sample([la], [2, 100, 2, 100], [(THREAD, "a")])
    return b


@check("several_sample_types_go_heap")
def _():
    b = go_heap()
    r = ok("go_heap", b.bytes())
    eq(pts(r.req, "memory_allocation"), [([(THREAD, "a")], 4196), ([(THREAD, "b")], 640)],
       "memory_allocation (alloc_space column)")
    verify(r, *ref(b.p))
    stat(r, "profiles", 4)
    stat(r, "samples", 12)
    stat(r, "profiles_unclassified", 3)
    eq(names(r.req), ["memory_allocation"], "metrics")
    eq(times(r.req, "memory_allocation"), [(T0, T0)], "(start, time) with duration 0")


@check("declared_gauge_inuse_space_and_counts")
def _():
    b = go_heap()
    cfg = ("metrics:\n  extra:\n"
           "    - {metric_name: heap_in_use, sample_types: [\"inuse_space/bytes\"]}\n"
           "    - {metric_name: allocated_objects, unit: \"{objects}\", "
           "sample_types: [\"alloc_objects/count\"]}\n")
    r = ok("go_heap_declared", b.bytes(), cfg)
    want, st = ref(b.p, extra=[("heap_in_use", [("inuse_space", "bytes")], "By"),
                               ("allocated_objects", [("alloc_objects", "count")], "1")])
    verify(r, want, st)
    eq(pts(r.req, "heap_in_use"), [([(THREAD, "a")], 1124), ([(THREAD, "b")], 0)], "by hand")
    m = metric_of(r.req, "heap_in_use")
    eq(m.WhichOneof("data"), "gauge", "heap_in_use is a Gauge")
    eq(set(dp.time_unix_nano for dp in m.gauge.data_points), {T0}, "gauge time = profile end")
    eq(metric_of(r.req, "allocated_objects").WhichOneof("data"), "sum", "allocated_objects")
    stat(r, "profiles_unclassified", 1)


@check("declared_metrics_and_type_rules_mutex_block_wall")
def _():
    # Go's block profile (contentions/count, delay/nanoseconds) and a wall
    # column mapped to cpu by a type rule; an off_cpu column to nothing.
    b = PB([("contentions", "count"), ("delay", "nanoseconds"), ("wall", "nanoseconds"),
            ("off_cpu", "nanoseconds")], ("contentions", "count"), 1)
    la = b.location(["sync.(*Mutex).Lock"])
    b.sample([la], [3, 3000, 5, 9], [(THREAD, "a")])
    b.sample([la], [1, 250, 6, 9], [(THREAD, "b")])
    b.sample([la], [2, 7, 7, 9], [(THREAD, "a")])
    cfg = ("metrics:\n  extra:\n"
           "    - {metric_name: lock_contentions, unit: \"{contentions}\", "
           "sample_types: [\"contentions/count\"]}\n"
           "    - {metric_name: lock_delay, sample_types: [\"delay/nanoseconds\"]}\n"
           "type_rules:\n  - {type: wall, unit: nanoseconds, metric: cpu, scale: 3}\n"
           "  - {type: off_cpu, unit: nanoseconds, metric: none, scale: 1}\n")
    r = ok("block_declared", b.bytes(), cfg)
    want, st = ref(b.p, extra=[("lock_contentions", [("contentions", "count")], "1"),
                               ("lock_delay", [("delay", "nanoseconds")], "ns")],
                   type_rules=[("wall", "nanoseconds", "cpu", 3),
                               ("off_cpu", "nanoseconds", None, 0)])
    verify(r, want, st)
    eq(pts(r.req, "cpu_time"), [([(THREAD, "a")], 36), ([(THREAD, "b")], 18)], "by hand")
    eq(pts(r.req, "lock_delay"), [([(THREAD, "a")], 3007), ([(THREAD, "b")], 250)], "by hand")
    stat(r, "profiles_unclassified", 1)


@check("declared_metric_cpu_once")
def _():
    # a declared metric fed by both cpu columns of a Go CPU profile counts
    # the time column only
    b = go_cpu(2)
    cfg = ("metrics:\n  extra:\n    - {metric_name: all_cpu, "
           "sample_types: [\"samples/count\", \"cpu/nanoseconds\"]}\n")
    r = ok("declared_cpu_once", b.bytes(), cfg)
    want, st = ref(b.p, extra=[("all_cpu", [("samples", "count"), ("cpu", "nanoseconds")], "ns")])
    verify(r, want, st)
    eq(pts(r.req, "all_cpu"), pts(r.req, "cpu_time"), "all_cpu equals cpu_time")


# ---- checks: ids, stacks and the function metric ----------------------------------------

SELF = "metrics:\n  function: {enabled: true}\n"
INCL = "metrics:\n  function: {enabled: true, mode: inclusive}\n"


def sparse_profile(shuffle_seed=3):
    """Ids far apart and tables in a shuffled order; inlined lines; a folded
    location; an unsymbolised location with a mapping, one without."""
    b = PB([("cpu", "nanoseconds")])
    libc = b.mapping("/lib/x86_64-linux-gnu/libc.so.6", mid=2**40 + 5)
    exe = b.mapping("/srv/app", mid=7)
    fa = b.function("main.a", fid=2**63 + 11)
    fb = b.function("main.b", fid=3)
    fc = b.function("main.c", fid=999999)
    la = b.location([fa], exe, lid=2**62 + 1)
    lb = b.location([fb], exe, lid=77)
    lc = b.location([fc, fb], exe, lid=5, folded=True)      # c inlined into b
    lu = b.location([], libc, 0x7f00, lid=123456)
    ln = b.location([], 0, 0x99, lid=9)
    b.sample([la, lb], [1], [(THREAD, "t")])
    b.sample([lc, la, lb], [2], [(THREAD, "t")])
    b.sample([lu, la], [4], [(THREAD, "u")])
    b.sample([ln], [8], [(THREAD, "u")])
    b.sample([lb, lb, lc], [16], [(THREAD, "t")])             # recursion: b counts once
    rnd = random.Random(shuffle_seed)
    for tbl in (b.p.function, b.p.location, b.p.mapping):
        shuffle_table(tbl, rnd)
    return b


def shuffle_table(tbl, rnd):
    """Puts the entries of a repeated message field in a random order."""
    items = [type(tbl[0])() for _ in tbl]
    for dst, src in zip(items, tbl):
        dst.CopyFrom(src)
    rnd.shuffle(items)
    del tbl[:]
    tbl.extend(items)


@check("sparse_unordered_ids_function_self")
def _():
    b = sparse_profile()
    r = ok("ids_self", b.bytes(), "attributes: []\n" + SELF)
    by_hand = [("main.a", 1), ("main.c", 2), ("libc.so.6", 4), ("[unknown]", 8), ("main.b", 16)]
    eq(sorted((dict(a)["function.name"], v) for a, v in pts(r.req, "function_cpu_time")),
       sorted(by_hand), "function_cpu_time (self) by hand")
    verify(r, *ref(b.p, rules=[], function="self"))


@check("sparse_unordered_ids_function_inclusive_inlined")
def _():
    b = sparse_profile()
    r = ok("ids_inclusive", b.bytes(), "attributes: []\n" + INCL)
    by_hand = {"main.a": 1 + 2 + 4, "main.b": 1 + 2 + 16, "main.c": 2 + 16, "libc.so.6": 4,
               "[unknown]": 8}
    eq(sorted((dict(a)["function.name"], v) for a, v in pts(r.req, "function_cpu_time")),
       sorted(by_hand.items()), "function_cpu_time (inclusive) by hand")
    verify(r, *ref(b.p, rules=[], function="inclusive"))


@check("symboliser_names_unsymbolised_frames")
def _():
    # ln (address 0x99, odd) gets the symboliser's "sym_3"; lu (0x7f00, even)
    # is unknown to it and keeps its mapping's base name
    b = sparse_profile()
    r = ok("symbolize", b.bytes(), "attributes: []\n" + SELF, ["--symbolize"])
    by_hand = [("main.a", 1), ("main.c", 2), ("libc.so.6", 4), ("sym_3", 8), ("main.b", 16)]
    eq(sorted((dict(a)["function.name"], v) for a, v in pts(r.req, "function_cpu_time")),
       sorted(by_hand), "function_cpu_time (self) by hand")
    verify(r, *ref(b.p, rules=[], function="self", symbolize=True))


@check("frame_rules_stack_filter_stack_pattern")
def _():
    # sparse_profile's samples: [la lb] 1, [lc la lb] 2, [lu la] 4, [ln] 8,
    # [lb lb lc] 16; la, lb, lc in /srv/app, lu in libc, ln without mapping
    b = sparse_profile()
    data = b.bytes()
    cfg = ("attributes:\n  - {key: lib, type: frame, from: library}\n"
           "  - {key: fn, type: frame, from: function}\n"
           "  - {key: ft, type: frame, from: type}\n")
    r = ok("frame_rules", data, cfg)
    eq(pts(r.req, "cpu_time"), [([("lib", "app"), ("fn", "main.a")], 1),
                                ([("lib", "app"), ("fn", "main.c")], 2),
                                ([("lib", "libc.so.6"), ("fn", "libc.so.6")], 4),
                                ([("fn", "[unknown]")], 8),
                                ([("lib", "app"), ("fn", "main.b")], 16)],
       "frame rules (pprof frames carry no type)")
    cfg = ("attributes: []\nstack_filter: {enabled: true, pattern: \"^main\\\\.c$\"}\n"
           "metrics:\n  extra:\n    - {metric_name: under_a, sample_types: [\"cpu/nanoseconds\"], "
           "stack_pattern: \"^main\\\\.a$\"}\n")
    r = ok("stack_filter", data, cfg)
    eq(pts(r.req, "cpu_time"), [([], 2 + 16)], "stack filter: samples with main.c")
    eq(pts(r.req, "under_a"), [([], 2)], "stack pattern main.a among the kept samples")
    stat(r, "dropped_stack", 3)
    cfg = ("attributes: []\nmetrics:\n  extra:\n    - {metric_name: under_a, "
           "sample_types: [\"cpu/nanoseconds\"], stack_pattern: \"^main\\\\.a$\"}\n")
    r = ok("stack_pattern", data, cfg)
    eq(pts(r.req, "under_a"), [([], 1 + 2 + 4)], "stack pattern main.a")
    eq(pts(r.req, "cpu_time"), [([], 31)], "cpu_time whole")


@check("regex_rule_on_function_name")
def _():
    import re
    b = sparse_profile()
    cfg = ("attributes:\n  - {key: pkg, type: regex, source: function, value: \"^([a-z]+)\\\\.\"}\n"
           "  - {key: thread.name, type: attribute, from: thread.name}\n")
    r = ok("regex_function", b.bytes(), cfg)
    want, st = ref(b.p, rules=[("fnregex", "pkg", re.compile(r"^([a-z]+)\.")),
                               ("attribute", THREAD, THREAD)])
    verify(r, want, st)
    eq(sum(v for _, v in pts(r.req, "cpu_time")), 31, "cpu total")


@check("folded_flag_has_no_effect")
def _():
    b = sparse_profile()
    cfg = "attributes: []\n" + INCL
    r1 = ok("folded_on", b.bytes(), cfg)
    for loc in b.p.location:
        loc.is_folded = not loc.is_folded
    r2 = ok("folded_flipped", b.bytes(), cfg)
    eq(pts(r2.req, "function_cpu_time"), pts(r1.req, "function_cpu_time"), "points")


def missing(kind):
    """One good sample (value 1) and one (value 2) whose leaf needs a missing
    id: the location itself, the function of its first Line, or the mapping
    that names an unsymbolised leaf. Returns (builder, top-level field and
    index of the entry that holds the reference)."""
    b = PB([("cpu", "nanoseconds")])
    exe = b.mapping("/srv/app", mid=4)
    good = b.location(["main.ok"], exe, lid=10)
    b.sample([good], [1], [(THREAD, "t")])
    if kind == "location":
        b.sample([404, good], [2], [(THREAD, "t")])
        return b, 2, 1
    if kind == "function":
        bad = b.location([505, "main.ok"], exe, lid=11)
    else:
        bad = b.location([], 606, lid=11)
    b.sample([bad, good], [2], [(THREAD, "t")])
    return b, 4, 1


@check("wide_missing_ids_fit_the_work_size")
def _():
    # ids of locations that do not exist, each ten bytes wide, in a table of
    # dense ids (so copied as they came) and with inclusive function names:
    # the exact p2m_pprof_work_size must be enough (it once planned for
    # stack entries as narrow as the table's indices and came out short)
    b = PB([("cpu", "nanoseconds")])
    for i in range(1, 2001):
        b.location([b.function("f%d" % i, fid=i)], lid=i)
    b.sample([1 << 62] * 5, [7], [(THREAD, "t")])
    b.sample([1, 2, 3], [5], [(THREAD, "t")])
    r = ok("wide_missing_ids", b.bytes(), INCL)
    stat(r, "invalid_references", 1)
    verify(r, *ref(b.p, function="inclusive"))


@check("missing_ids_unread_with_default_config")
def _():
    for kind in ("location", "function", "mapping"):
        b, _, _ = missing(kind)
        r = ok("missing_%s_default" % kind, b.bytes())
        eq(pts(r.req, "cpu_time"), [([(THREAD, "t")], 3)], "%s: cpu_time" % kind)
        stat(r, "invalid_references", 0)


@check("missing_ids_read_by_function_metric_or_regex")
def _():
    # the function metric loses the sample, cpu_time keeps it; a regex rule on
    # `function` needs the name for the sample's attributes: the sample is skipped
    import re
    for kind in ("location", "function", "mapping"):
        b, _, _ = missing(kind)
        for cname, cfg, kw, cpu, fn in (
                ("self", SELF, {"function": "self"}, 3, 1),
                ("incl", INCL, {"function": "inclusive"}, 3, 1),
                ("regex", "attributes:\n  - {key: f, type: regex, source: function, value: \"main\"}\n",
                 {"rules": [("fnregex", "f", re.compile("main"))]}, 1, None)):
            r = ok("missing_%s_%s" % (kind, cname), b.bytes(), cfg)
            want, st = ref(b.p, **kw)
            eq(st["invalid_references"], 1, "test bug: reference model")
            verify(r, want, st, keys=("invalid_references", "profiles", "samples", "series"))
            eq(sum(v for _, v in pts(r.req, "cpu_time")), cpu, "%s/%s: cpu total" % (kind, cname))
            if fn:
                eq([v for _, v in pts(r.req, "function_cpu_time")], [fn],
                   "%s/%s: function_cpu_time" % (kind, cname))


@check("missing_ids_strict_invalid_reference_offset")
def _():
    for kind in ("location", "function", "mapping"):
        b, field, nth = missing(kind)
        data = b.bytes()
        lo, hi = entry_range(data, field, nth)
        for cname, cfg in (("default", "strict: true\n"), ("self", "strict: true\n" + SELF)):
            fails("missing_%s_strict_%s" % (kind, cname), data, ST_INVALID_REF, lo, hi, cfg)


@check("id_zero_means_none_in_references")
def _():
    # mapping_id 0 and function_id 0 are "none", not invalid, even in strict mode
    b = PB([("cpu", "nanoseconds")])
    l1 = b.location(["main.f"], 0, lid=3)
    l2 = b.location([0], 0, lid=4)
    b.sample([l1, l2], [5], [(THREAD, "t")])
    r = ok("id_zero_none", b.bytes(), "strict: true\n")
    eq(pts(r.req, "cpu_time"), [([(THREAD, "t")], 5)], "cpu_time")
    stat(r, "invalid_references", 0)


@check("id_zero_in_a_table_is_malformed")
def _():
    for field, kind in ((5, "function"), (4, "location"), (3, "mapping")):
        b = PB([("cpu", "nanoseconds")])
        b.mapping("/a", mid=8)
        b.location(["f"], 8, lid=6)
        b.sample([6], [1])
        if kind == "function":
            b.function("zero", fid=0)
        elif kind == "location":
            b.location(["f"], 8, lid=0)
        else:
            b.mapping("/b", mid=0)
        data = b.bytes()
        nth = len([1 for f, _, _ in entries(data) if f == field]) - 1
        lo, hi = entry_range(data, field, nth)
        fails("id_zero_%s" % kind, data, ST_MALFORMED, lo, hi)


@check("duplicate_ids_are_malformed")
def _():
    for field, kind in ((5, "function"), (4, "location"), (3, "mapping")):
        b = PB([("cpu", "nanoseconds")])
        b.mapping("/a", mid=8)
        b.function("f", fid=12)
        b.location([12], 8, lid=6)
        b.sample([6], [1])
        if kind == "function":
            b.function("g", fid=12)
        elif kind == "location":
            b.location([12], 8, lid=6)
        else:
            b.mapping("/b", mid=8)
        data = b.bytes()
        lo, hi = entry_range(data, field, 1)   # the second entry with that id
        fails("duplicate_%s" % kind, data, ST_MALFORMED, lo, hi)
        fails("duplicate_%s_function" % kind, data, ST_MALFORMED, lo, hi, SELF)


# ---- checks: labels, times, wire forms ------------------------------------------------


@check("labels_string_numeric_units_last_wins_ignored")
def _():
    b = PB([("cpu", "nanoseconds")])
    loc = b.location(["f"])
    b.sample([loc], [1], [(THREAD, "t1"), ("bytes", (4096, "bytes")), ("n", -3)])
    b.sample([loc], [2], [(THREAD, "t1"), ("bytes", (4096, "bytes")), ("n", -3)])
    b.sample([loc], [4], [(THREAD, "t0"), (THREAD, "t2"), ("bytes", 7), ("n", 0)])
    b.sample([loc], [8], [(THREAD, "t2"), ("bytes", (0, "bytes"))])      # num 0 with a unit
    b.sample([loc], [16], [("raw", b.s("n"), 0, 0, 0), (PROC, "p")])     # ignored label
    cfg = ("attributes:\n  - {key: thread.name, type: attribute, from: thread.name}\n"
           "  - {key: bytes, type: attribute, from: bytes}\n"
           "  - {key: n, type: attribute, from: n}\n"
           "  - {key: process.executable.name, type: attribute, from: process.executable.name}\n")
    r = ok("labels", b.bytes(), cfg)
    by_hand = [([(THREAD, "t1"), ("bytes", 4096), ("n", -3)], 3),
               ([(THREAD, "t2"), ("bytes", 7)], 4),
               ([(THREAD, "t2"), ("bytes", 0)], 8),
               ([(PROC, "p")], 16)]
    eq(pts(r.req, "cpu_time"), by_hand, "cpu_time points")
    m = metric_of(r.req, "cpu_time")
    eq(m.sum.data_points[0].attributes[1].value.WhichOneof("value"), "int_value",
       "numeric label type")
    verify(r, *ref(b.p, rules=[("attribute", k, k) for k in (THREAD, "bytes", "n", PROC)]))


@check("label_string_index_outside_table")
def _():
    b = PB([("cpu", "nanoseconds")])
    loc = b.location(["f"])
    b.sample([loc], [1], [(THREAD, "ok")])
    b.sample([loc], [2], [("raw", b.s(THREAD), 10**6, 0, 0)])
    b.sample([loc], [4], [("raw", 10**6, b.s("v"), 0, 0)])
    b.sample([loc], [8], [(THREAD, "ok")])
    data = b.bytes()
    r = ok("label_bad_index", data)
    eq(pts(r.req, "cpu_time"), [([(THREAD, "ok")], 9)], "cpu_time")
    stat(r, "invalid_references", 2)
    lo, hi = entry_range(data, 2, 1)
    fails("label_bad_index_strict", data, ST_INVALID_REF, lo, hi, "strict: true\n")


@check("sample_type_string_index_outside_table")
def _():
    b = PB([("cpu", "nanoseconds")])
    b.sample([b.location(["f"])], [1])
    b.p.sample_type[0].unit = 999
    data = b.bytes()
    lo, hi = entry_range(data, 1, 0)
    fails("sample_type_bad_index_strict", data, ST_INVALID_REF, lo, hi, "strict: true\n")


@check("time_window")
def _():
    b = PB([("cpu", "nanoseconds")], time=T0 + 5, duration=3 * DUR)
    b.sample([b.location(["f"])], [1], [(THREAD, "a")])
    b.sample([b.location(["g"])], [1], [(THREAD, "b")])
    r = ok("time_window", b.bytes())
    eq(times(r.req, "cpu_time"), [(T0 + 5, T0 + 5 + 3 * DUR)], "(start, time)")
    b = PB([("cpu", "nanoseconds")], time=0, duration=0)
    b.sample([b.location(["f"])], [1], [(THREAD, "a")])
    r = ok("time_window_none", b.bytes(), args=["--now", str(NOW + 42)])
    eq(times(r.req, "cpu_time"), [(NOW + 42, NOW + 42)], "(start, time) without time_nanos")


@check("no_effect_fields_default_sample_type_drop_keep_comment")
def _():
    b = go_cpu(2)
    base = ok("no_effect_base", b.bytes(), INCL)
    b.p.default_sample_type = b.s("samples")
    b.p.drop_frames = b.s("runtime\\..*")
    b.p.keep_frames = b.s("main\\..*")
    b.p.comment.extend([b.s("a comment"), b.s("another")])
    for m in b.p.mapping:
        m.has_filenames = m.has_line_numbers = m.has_inline_frames = True
    r = ok("no_effect", b.bytes(), INCL)
    eq(pts(r.req, "cpu_time"), pts(base.req, "cpu_time"), "cpu_time")
    eq(pts(r.req, "function_cpu_time"), pts(base.req, "function_cpu_time"), "function_cpu_time")
    verify(r, *ref(b.p, function="inclusive"))


@check("unknown_fields_inside_value_types")
def _():
    # a 300-byte unknown field inside each sample type and the period type:
    # the rewritten profile must leave it out (it once overwrote the samples
    # written next to it, and the conversion failed)
    b = go_cpu(2)
    base = ok("value_types_base", b.bytes())
    junk = bytes([15 << 3 | 2, 0xAC, 0x02]) + b"x" * 300
    for vt in list(b.p.sample_type) + [b.p.period_type]:
        grown = PP.ValueType()
        grown.ParseFromString(vt.SerializeToString() + junk)
        vt.CopyFrom(grown)
    data = b.bytes()
    eq(data.count(b"x" * 300), 3, "the unknown fields are in the input")
    r = ok("value_types_unknown", data)
    eq(pts(r.req, "cpu_time"), pts(base.req, "cpu_time"), "cpu_time")
    verify(r, *ref(b.p))


@check("packed_and_unpacked_repeated_fields")
def _():
    b = go_cpu(3)
    b.p.comment.extend([b.s("c1"), b.s("c2")])
    packed, unpacked = b.bytes(), b.bytes(unpacked=True)
    need(packed != unpacked, "test bug: the forms are equal")
    chk = PP.Profile()
    chk.ParseFromString(unpacked)
    need(chk == b.p, "test bug: the unpacked form parses to another message")
    n_unpacked = 0
    for f, _, smp, _ in G.parse_fields(unpacked):
        if f == 2:
            for sf, wt, _, _ in G.parse_fields(smp):
                need(not (sf in (1, 2) and wt == 2), "test bug: sample field %d packed" % sf)
                n_unpacked += sf in (1, 2)
    need(n_unpacked > 2 * len(b.p.sample), "test bug: nothing unpacked")
    # mixed: the first sample's values unpacked, the rest packed
    first = [e for e in G.parse_fields(unpacked) if e[0] == 2][0][3]
    mixed = first + b"".join(raw for f, _, _, raw in G.parse_fields(packed)
                             if f != 2) + b"".join(raw for f, _, _, raw in
                                                   G.parse_fields(packed) if f == 2)[len(first):]
    need(PP.Profile.FromString(mixed) == b.p, "test bug: mixed form")
    cfg = INCL
    want = ref(b.p, function="inclusive")
    outs = []
    for form, data in (("packed", packed), ("unpacked", unpacked), ("mixed", mixed)):
        r = ok("form_" + form, data, cfg)
        verify(r, *want)
        outs.append(r.raw)
    eq(outs[1], outs[0], "unpacked output bytes equal the packed output's")


@check("unknown_fields_and_repeated_scalars_last_wins")
def _():
    b = go_cpu(2)
    data = b.bytes()
    unk = (G.f_varint(99, 5) + G.f_fixed64(100, 7) + G.f_bytes(101, b"\x08\x01zz")
           + G.enc_tag(102, 5) + b"\x01\x02\x03\x04")
    # unknown fields inside every sample and every location, and at the top
    out = bytearray()
    for f, _, val, raw in G.parse_fields(data):
        out += G.f_bytes(f, val + unk) if f in (2, 3, 4, 5) else raw
    # the period and the time window given twice: the last wins
    out = (G.f_varint(12, 1) + G.f_varint(9, 5) + G.f_varint(10, 1) + bytes(out) + unk
           + G.f_varint(12, PERIOD) + G.f_varint(9, T0) + G.f_varint(10, DUR))
    chk = PP.Profile.FromString(bytes(out))
    chk.DiscardUnknownFields()
    need(chk == b.p, "test bug: the rewritten profile differs")
    r = ok("unknown_fields", bytes(out), INCL)
    verify(r, *ref(b.p, function="inclusive"))
    eq(times(r.req, "cpu_time"), [(T0, T0 + DUR)], "time window (last wins)")


@check("non_repeated_fields_last_wins_inside_entries")
def _():
    # ValueType.unit, Location.mapping_id, Function.name and Label.str each
    # given twice: the second counts (as Google protobuf reads them)
    b = PB([("cpu", "nanoseconds")])
    b.mapping("/lib/x.so", mid=5)
    b.mapping("/lib/wrong.so", mid=99)
    lu = b.location([], 0, lid=3)
    lf = b.location(["old.fn"], 0, lid=4)
    b.sample([lu], [1], [(THREAD, "first")])
    b.sample([lf], [2], [(THREAD, "first")])
    us, second, new_fn = b.s("microseconds"), b.s("second"), b.s("new.fn")
    out = bytearray()
    n_loc = n_smp = 0
    for f, _, val, raw in G.parse_fields(b.bytes()):
        if f == 1:
            out += G.f_bytes(1, val + G.f_varint(2, us))
        elif f == 4:
            out += G.f_bytes(4, (G.f_varint(2, 99) + val + G.f_varint(2, 5)) if n_loc == 0 else val)
            n_loc += 1
        elif f == 5:
            out += G.f_bytes(5, val + G.f_varint(2, new_fn))
        elif f == 2:
            lab = [v for lf_, _, v, _ in G.parse_fields(val) if lf_ == 3][0]
            rest = b"".join(r for lf_, _, _, r in G.parse_fields(val) if lf_ != 3)
            out += G.f_bytes(2, rest + G.f_bytes(3, lab + G.f_varint(2, second)) if n_smp else val)
            n_smp += 1
        else:
            out += raw
    data = bytes(out)
    prof = PP.Profile.FromString(data)
    eq((prof.location[0].mapping_id, prof.sample_type[0].unit), (5, us), "test bug: Google's reading")
    r = ok("last_wins_inside", data, SELF)
    eq(pts(r.req, "cpu_time"), [([(THREAD, "first")], 1000), ([(THREAD, "second")], 2000)],
       "cpu_time (unit microseconds, the second label value)")
    eq(sorted((dict(a)["function.name"], v) for a, v in pts(r.req, "function_cpu_time")),
       [("new.fn", 2000), ("x.so", 1000)], "function names (the last name, the last mapping)")
    verify(r, *ref(prof, function="self"))


@check("value_count_differs_from_sample_types")
def _():
    for n_values in (1, 3, 0):
        b = PB([("samples", "count"), ("cpu", "nanoseconds")], ("cpu", "nanoseconds"), PERIOD)
        loc = b.location(["f"])
        b.sample([loc], [1, PERIOD])
        b.sample([loc], [2, 3, 4][:n_values])
        b.sample([loc], [1, PERIOD])
        data = b.bytes()
        lo, hi = entry_range(data, 2, 1)
        fails("value_count_%d" % n_values, data, ST_MALFORMED, lo, hi)


@check("values_without_sample_types")
def _():
    b = PB([])
    b.sample([b.location(["f"])], [5])
    data = b.bytes()
    lo, hi = entry_range(data, 2, 0)
    fails("values_no_types", data, ST_MALFORMED, lo, hi)


@check("string_table_0_not_empty")
def _():
    b = go_cpu(1)
    b.p.string_table[0] = "x"
    data = b.bytes()
    lo, hi = entry_range(data, 6, 0)
    fails("string_table_0", data, ST_MALFORMED, 0, len(data))
    r = run("string_table_0_at", data)[0]
    need(lo <= r.j["offset"] <= hi, "offset %d not at string_table[0] [%d, %d]" % (
        r.j["offset"], lo, hi))


@check("cardinality_limit_overflow")
def _():
    b = PB([("cpu", "nanoseconds"), ("alloc_space", "bytes")])
    loc = b.location(["f"])
    for i, t in enumerate(["a", "b", "a", "c", "d", "b", "c"]):
        b.sample([loc], [10 + i, 100 + i], [(THREAD, t)])
    r = ok("max_series", b.bytes(), "max_series: 2\n")
    want, st = ref(b.p, max_series=2)
    verify(r, want, st)
    eq(pts(r.req, "cpu_time"), [([(THREAD, "a")], 22), ([(THREAD, "b")], 26),
                                (OVERFLOW, 13 + 14 + 16)], "cpu_time by hand")
    stat(r, "overflow_samples", 6)


@check("layout_setting_ignored")
def _():
    b = go_cpu(2)
    base = ok("layout_auto", b.bytes())
    for lay in ("v1.8", "v1.9", "v1.10"):
        r = ok("layout_" + lay.replace(".", "_"), b.bytes(), "layout: %s\n" % lay)
        eq(r.raw, base.raw, "output with layout %s" % lay)


@check("cumulative_failed_call_leaves_state")
def _():
    b1 = PB([("cpu", "nanoseconds")])
    b1.sample([b1.location(["f"])], [10], [(THREAD, "a")])
    bad = PB([("cpu", "nanoseconds")])
    bad.sample([bad.location(["f"])], [1000], [(THREAD, "a")])
    bad.sample([bad.location(["f"])], [1000, 1], [(THREAD, "c")])     # value count: malformed
    r1, r2, r3 = run("cumulative_failed", [b1.bytes(), bad.bytes(), b1.bytes()],
                     "temporality: cumulative\n")
    eq(r2.j["status"], ST_MALFORMED, "the second input")
    eq(pts(r3.req, "cpu_time"), [([(THREAD, "a")], 20)], "third call: the failed one left no trace")


@check("cumulative_two_calls")
def _():
    b1 = PB([("cpu", "nanoseconds")], time=T0, duration=DUR)
    loc = b1.location(["f"])
    b1.sample([loc], [10], [(THREAD, "a")])
    b2 = PB([("cpu", "nanoseconds")], time=T0 + DUR, duration=DUR)
    loc = b2.location(["f"])
    b2.sample([loc], [5], [(THREAD, "b")])
    b2.sample([loc], [7], [(THREAD, "a")])
    r1, r2 = run("cumulative", [b1.bytes(), b2.bytes()], "temporality: cumulative\n")
    for r in (r1, r2):
        need(r.j["status"] == ST_OK, "status %d: %s" % (r.j["status"], r.j["message"]))
    eq(metric_of(r1.req, "cpu_time").sum.aggregation_temporality, 2, "cumulative")
    eq(pts(r1.req, "cpu_time"), [([(THREAD, "a")], 10)], "first call")
    eq(pts(r2.req, "cpu_time"), [([(THREAD, "a")], 17), ([(THREAD, "b")], 5)], "second call")
    dps = metric_of(r2.req, "cpu_time").sum.data_points
    eq([(dp.start_time_unix_nano, dp.time_unix_nano) for dp in dps],
       [(T0, T0 + 2 * DUR), (T0 + DUR, T0 + 2 * DUR)], "second call times")


# ---- checks: malformed wire ---------------------------------------------------------------


def small_valid():
    b = go_cpu(1)
    return b.bytes()


@check("truncation_at_every_byte_asan")
def _():
    # every prefix of a packed and an unpacked hand-built profile and of the
    # real Go CPU profile, with the defaults and with strict + inclusive
    with open(os.path.join(ROOT, "tests", "corpus", "pprof", "go-cpu-real.pb"), "rb") as f:
        real = f.read()
    bad = []
    for dname, data in (("packed", small_valid()), ("unpacked", go_cpu(1).bytes(True)),
                        ("go_real", real)):
        need(100 < len(data) < 2000, "test bug: size %d" % len(data))
        bounds = {0} | set(e for _, _, e in entries(data))
        for cname, cfg in (("default", None), ("strict_incl", "strict: true\n" + INCL)):
            cmd = [DRIVE_ASAN]
            if cfg:
                cmd += ["-c", write_gold("truncations_%s.yaml" % cname, cfg.encode())]
            cmd += ["--prefixes", write_gold("truncations_%s.pprof" % dname, data)]
            p = subprocess.run(cmd, capture_output=True, timeout=120)
            need(p.returncode == 0, "%s/%s: driver exit %d: %s" % (
                dname, cname, p.returncode, p.stderr.decode("utf-8", "replace")[-800:]))
            rows = [list(map(int, ln.split())) for ln in p.stdout.decode().splitlines()]
            eq(len(rows), len(data) + 1, "prefix lines")
            for k, ws, wo, cs, co in rows:
                what = "%s/%s %d of %d: work_size %d@%d, convert %d@%d" % (
                    dname, cname, k, len(data), ws, wo, cs, co)
                # work_size may pass malformed input (it need not read all
                # of it); when it says MALFORMED, convert says so too
                if ws not in (ST_OK, ST_MALFORMED) or wo > k or co > k or \
                        (ws == ST_MALFORMED and cs != ST_MALFORMED):
                    bad.append(what)
                elif k in bounds:
                    # a valid message with fewer fields: OK (or, with the
                    # string table cut off, malformed or strict's error)
                    if cs not in (ST_OK, ST_MALFORMED) + ((ST_INVALID_REF,) if cfg else ()):
                        bad.append("boundary " + what)
                elif cs != ST_MALFORMED:
                    bad.append("inside a field " + what)
            eq(rows[-1][3], ST_OK, "%s/%s: the whole message" % (dname, cname))
    need(not bad, "%d prefixes wrong: %s" % (len(bad), "; ".join(bad[:6])))


def write_gold(name, data):
    os.makedirs(GOLD, exist_ok=True)
    path = os.path.join(GOLD, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def rewrite_first(data, field, fn):
    """data with its first top-level `field` entry's payload replaced by
    fn(payload) (fn returns the raw replacement of the whole entry)."""
    out, done = bytearray(), False
    for f, _, val, raw in G.parse_fields(data):
        if f == field and not done:
            out += fn(val)
            done = True
        else:
            out += raw
    return bytes(out)


@check("wrong_wire_types_and_lengths_asan")
def _():
    data = small_valid()
    n = len(data)
    cases = [
        # known top-level fields with a wrong wire type
        ("sample_as_varint", G.f_varint(2, 1) + data),
        ("string_table_as_varint", data + G.f_varint(6, 3)),
        ("time_nanos_as_len", data + G.f_bytes(9, b"\x01\x02")),
        ("period_as_fixed32", data + G.enc_tag(12, 5) + b"\x01\x00\x00\x00"),
        ("period_type_as_varint", data + G.f_varint(11, 1)),
        ("location_as_fixed64", data + G.f_fixed64(4, 1)),
        # inside a sample, a location, a line, a function, a mapping, a label
        ("label_as_varint", rewrite_first(data, 2, lambda v: G.f_bytes(2, v + G.f_varint(3, 1)))),
        ("value_as_fixed64", rewrite_first(data, 2, lambda v: G.f_bytes(2, v + G.f_fixed64(2, 1)))),
        ("line_as_varint", rewrite_first(data, 4, lambda v: G.f_bytes(4, v + G.f_varint(4, 1)))),
        ("location_id_as_len_garbage",
         rewrite_first(data, 2, lambda v: G.f_bytes(2, v + G.f_bytes(1, b"\x80")))),
        ("function_name_as_len", rewrite_first(data, 5, lambda v: G.f_bytes(5, v + G.f_bytes(2, b"x")))),
        ("mapping_id_as_fixed64", rewrite_first(data, 3, lambda v: G.f_bytes(3, v + G.f_fixed64(1, 9)))),
        ("valuetype_type_as_len", rewrite_first(data, 1, lambda v: G.f_bytes(1, v + G.f_bytes(1, b"")))),
        # lengths past the end
        ("top_length_past_end", data + G.enc_tag(5, 2) + G.enc_varint(50) + b"\x08\x01"),
        ("inner_length_past_entry",
         rewrite_first(data, 2, lambda v: G.f_bytes(2, v + G.enc_tag(3, 2) + G.enc_varint(40)))),
        ("huge_length", data + G.enc_tag(6, 2) + G.enc_varint(2**63)),
        # wire types 3, 4, 6, 7, field 0, a varint of 11 bytes
        ("wire_type_3", data + G.enc_tag(20, 3)),
        ("wire_type_4", data + G.enc_tag(20, 4)),
        ("wire_type_6", data + G.enc_tag(20, 6)),
        ("wire_type_7", data + G.enc_tag(20, 7)),
        ("field_zero", data + b"\x00\x01"),
        ("varint_11_bytes", data + G.enc_tag(9, 0) + b"\xff" * 10 + b"\x01"),
        ("truncated_fixed64", data + G.enc_tag(99, 1) + b"\x01\x02"),
    ]
    bad = []
    for cname, bdata in cases:
        try:
            fails("wire_" + cname, bdata, ST_MALFORMED, 0, len(bdata))
        except Fail as e:
            bad.append("%s: %s" % (cname, e))
    need(n > 0 and not bad, "; ".join(bad))


# ---- the differential test ----------------------------------------------------------------


MISSING_ID = 0xDEAD0000BEEF   # no table entry has it (the random ids avoid it)


def random_profile(rnd):
    """A random profile: 1-3 columns among cpu/samples/alloc types, sparse
    ids, inlined lines, labels of both kinds, unsymbolised locations, and a
    few references to ids no entry has (a location, a function, a mapping)."""
    cols = rnd.choice([[("samples", "count"), ("cpu", "nanoseconds")],
                       [("cpu", "nanoseconds")], [("samples", "count")],
                       [("alloc_objects", "count"), ("alloc_space", "bytes"),
                        ("inuse_space", "bytes")],
                       [("cpu", "milliseconds"), ("wall", "nanoseconds")]])
    b = PB(cols, ("cpu", "nanoseconds"), rnd.choice([1, 1000, PERIOD]),
           time=rnd.choice([0, T0]), duration=rnd.choice([0, DUR]))
    fn_names = ["pkg%d.f%d" % (rnd.randint(0, 3), i) for i in range(rnd.randint(1, 15))]
    maps = [b.mapping("/lib/lib%d.so" % i, mid=rnd.randint(1, 2**64 - 1)) for i in range(rnd.randint(0, 3))]
    for i, nm in enumerate(fn_names):
        b.function(nm, fid=rnd.randint(1, 2**64 - 1) if rnd.random() < 0.5 else 50000 - 3 * i)
    lids = []
    for i in range(rnd.randint(1, 20)):
        k = rnd.choice([0, 1, 1, 2, 3])
        lines = [rnd.choice(fn_names) for _ in range(k)]
        lid = rnd.randint(1, 2**64 - 1)
        while lid in lids or lid == MISSING_ID:
            lid = rnd.randint(1, 2**64 - 1)
        mid = rnd.choice(maps + [0])
        if rnd.random() < 0.05:
            mid = MISSING_ID                   # read only for an unsymbolised frame's name
        if lines and rnd.random() < 0.05:
            lines[rnd.randrange(len(lines))] = MISSING_ID
        lids.append(b.location(lines, mid, rnd.randint(0, 2**40), lid=lid,
                               folded=rnd.random() < 0.2))
    shuffle_table(b.p.location, rnd)
    threads = ["t%d" % i for i in range(rnd.randint(1, 6))]
    for _ in range(rnd.randint(0, 60)):
        labels = []
        if rnd.random() < 0.8:
            labels.append((THREAD, rnd.choice(threads)))
        if rnd.random() < 0.3:
            labels.append((PROC, rnd.choice(["a", "b"])))
        if rnd.random() < 0.3:
            labels.append(("bytes", (rnd.choice([64, 128, 4096]), "bytes")))
        if rnd.random() < 0.1:
            labels.append((THREAD, rnd.choice(threads)))
        stack = [rnd.choice(lids) for _ in range(rnd.randint(0, 8))]
        if stack and rnd.random() < 0.03:
            stack[rnd.randrange(len(stack))] = MISSING_ID
        b.sample(stack, [rnd.randint(0, 10**6) for _ in cols], labels)
    return b


DIFF_CONFIGS = [
    ("default", None, {}),
    ("incl_bytes", "attributes:\n  - {key: thread.name, type: attribute, from: thread.name}\n"
     "  - {key: bytes, type: attribute, from: bytes}\n" + INCL,
     {"function": "inclusive", "rules": [("attribute", THREAD, THREAD),
                                         ("attribute", "bytes", "bytes")]}),
    ("self_limit", "max_series: 4\n" + SELF, {"function": "self", "max_series": 4}),
]


def differential(n, drive, tag):
    rnd = random.Random(1717)
    bad = []
    for i in range(n):
        b = random_profile(rnd)
        data = b.bytes(unpacked=rnd.random() < 0.3)
        prof = PP.Profile.FromString(data)      # the reference reads Google's decode
        cname, cfg, kw = DIFF_CONFIGS[i % len(DIFF_CONFIGS)]
        want, st = ref(prof, **kw)
        try:
            r = ok("diff_%s_%d" % (tag, i), data, cfg, drive=drive)
            got = OrderedDict((nm, pts(r.req, nm)) for nm in names(r.req))
            # totals per (metric, attribute set); order is checked by the hand checks
            if {m: sorted(map(repr, p)) for m, p in got.items()} != \
                    {m: sorted(map(repr, p)) for m, p in want.items()}:
                raise Fail("points differ: got %r, want %r" % (dict(got), dict(want)))
            for k in ("invalid_references", "samples_kept", "overflow_samples", "profiles",
                      "samples", "series"):
                stat(r, k, st[k])
        except Fail as e:
            bad.append("profile %d (%s): %s" % (i, cname, str(e)[:400]))
    need(not bad, "%d of %d differ (inputs build/pprof/golden/diff_%s_N.pprof): %s" % (
        len(bad), n, tag, "; ".join(bad[:3])))


@check("differential_random_profiles_asan")
def _():
    differential(int(os.environ.get("PPROF_DIFF_N", "80")), DRIVE_ASAN, "asan")


@check("differential_random_profiles_gcc_O2")
def _():
    differential(5 * int(os.environ.get("PPROF_DIFF_N", "80")), DRIVE, "gcc")


@check("go_real_profiles_match_reference")
def _():
    # the real Go 1.19 profiles of the fuzz corpus (tests/fuzz/pprof_seeds.py)
    corpus = os.path.join(ROOT, "tests", "corpus", "pprof")
    heap_cfg = ("metrics:\n  extra:\n    - {metric_name: heap_in_use, "
                "sample_types: [\"inuse_space/bytes\"]}\n" + INCL[len("metrics:\n"):])
    for fname, cfg, kw in (
            ("go-cpu-real.pb", None, {}),
            ("go-cpu-real.pb", "attributes:\n  - {key: worker, type: attribute, from: worker}\n" + INCL,
             {"function": "inclusive", "rules": [("attribute", "worker", "worker")]}),
            ("go-heap-real.pb", SELF, {"function": "self"}),
            ("go-heap-real.pb", heap_cfg, {"function": "inclusive",
                                           "extra": [("heap_in_use", [("inuse_space", "bytes")], "By")]})):
        with open(os.path.join(corpus, fname), "rb") as f:
            data = f.read()
        prof = PP.Profile.FromString(data)
        r = ok("go_real_%s_%d" % (fname.split(".")[0], len(cfg or "")), data, cfg)
        verify(r, *ref(prof, **kw))
        if fname.startswith("go-cpu") and kw:
            workers = sorted(dict(a).get("worker") for a, _ in pts(r.req, "cpu_time"))
            eq(workers, ["alpha", "beta"], "pprof.Do labels as attributes")


def big_profile():
    """A large Go-CPU-shaped profile: 1500 functions, 3000 locations with
    inlined lines, 6000 samples with labels, ids sparse and shuffled."""
    rnd = random.Random(99)
    b = PB([("samples", "count"), ("cpu", "nanoseconds")], ("cpu", "nanoseconds"), PERIOD)
    maps = [b.mapping("/usr/lib/lib%d.so" % i) for i in range(20)]
    fns = [b.function("pkg%d.fn%d" % (i % 40, i), fid=7 * i + 3) for i in range(1500)]
    lids = [b.location([rnd.choice(fns) for _ in range(rnd.choice([0, 1, 1, 2]))],
                       rnd.choice(maps), lid=(i * 2654435761) % (1 << 40) + 1) for i in range(3000)]
    for _ in range(6000):
        n = rnd.randint(1, 3)
        b.sample([rnd.choice(lids) for _ in range(rnd.randint(1, 30))], [n, n * PERIOD],
                 [(THREAD, "t%d" % rnd.randint(0, 30)), ("bytes", (rnd.randint(0, 9), "bytes"))])
    rnd2 = random.Random(5)
    for tbl in (b.p.function, b.p.location, b.p.mapping):
        shuffle_table(tbl, rnd2)
    return b


@check("big_profile_matches_reference")
def _():
    # past the default max_series of 2000 (function metric, inclusive), with
    # both driver builds
    b = big_profile()
    data = b.bytes()
    for tag, drive in (("gcc", DRIVE), ("asan", DRIVE_ASAN)):
        for cname, cfg, kw in (("default", None, {}), ("incl", INCL, {"function": "inclusive"})):
            r = ok("big_%s_%s" % (tag, cname), data, cfg, drive=drive)
            want, st = ref(b.p, **kw)
            verify(r, want, st)
    need(st["overflow_samples"] > 0, "test bug: no overflow")


@check("zero_heap_allocations")
def _():
    # build/pprof/pprof_noalloc (tests/c/pprof_noalloc.c) runs every entry
    # point with an interposed allocator that counts calls
    noalloc = os.path.join(B, "pprof_noalloc")
    need(os.path.exists(noalloc), "%s missing (tests/suite-pprof.sh builds it)" % noalloc)
    corpus = os.path.join(ROOT, "tests", "corpus", "pprof")
    files = [os.path.join(corpus, f) for f in sorted(os.listdir(corpus))]
    files.append(write_gold("big.pprof", big_profile().bytes()))
    p = subprocess.run([noalloc] + files, capture_output=True, timeout=120)
    out = p.stdout.decode("utf-8", "replace")
    failed = [ln for ln in out.splitlines() if ln.startswith("FAIL")]
    need(p.returncode == 0 and not failed, "exit %d: %s %s" % (
        p.returncode, "; ".join(failed[:5]), p.stderr.decode("utf-8", "replace")[-300:]))
    eq(out.count("PASS pprof.noalloc."), 1 + 3 * len(files), "PASS lines")


@check("reference_model_agrees_with_hand_values")
def _():
    # ref itself against totals written by hand (the checks above compare
    # the output with both)
    want, st = ref(go_cpu().p)
    eq(want["cpu_time"], [([(THREAD, "w%d" % i)], (4 + i) * PERIOD + 12) for i in range(3)],
       "go_cpu")
    want, st = ref(sparse_profile().p, rules=[], function="inclusive")
    eq(sorted((dict(a)["function.name"], v) for a, v in want["function_cpu_time"]),
       sorted({"main.a": 7, "main.b": 19, "main.c": 18, "libc.so.6": 4, "[unknown]": 8}.items()),
       "sparse inclusive")
    b, _, _ = missing("function")
    eq(ref(b.p, function="self")[1]["invalid_references"], 1, "missing function")


if __name__ == "__main__":
    sys.exit(TC.main(CHECKS))

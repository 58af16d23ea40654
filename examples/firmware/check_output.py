#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Checks of the firmware example's output (used by tests/suite-firmware.sh).

  check_output.py GEN_DIR TARGET_OUT HOST_OUT [STACK_JSON]

GEN_DIR holds the inputs written by gen_requests.py (small.otlp,
firmware.otlp, symbols.json); TARGET_OUT is what the firmware printed under
QEMU, HOST_OUT what the host build of the same program printed.

Prints one "PASS name" or "FAIL name: why" line per check:
  - the target's bytes equal the host's, case by case;
  - the bytes streamed through the nanopb adapter equal those of the
    buffered conversion (compared on the device), in pieces of at most the
    stream buffer, with the engine loaded from a host-compiled image;
  - a stream that is full (nanopb's max_size) or whose callback fails
    stops the conversion with P2M_ERR_WRITE and nanopb's message;
  - each output decodes as an ExportMetricsServiceRequest (Google
    protobuf, from proto/metrics.proto);
  - its metrics hold the values computed here from the input request,
    decoded with Google protobuf, with the rules of docs/spec.md written out in Python
    and the symbol table of symbols.json: cpu time per (process, thread),
    function cpu time per (process, thread, function) in self and
    inclusive mode, unsymbolised frames named by the symboliser, by the
    mapping's base name when it knows nothing, "[unknown]" without mapping;
  - the symboliser was asked once per distinct unsymbolised location;
  - the measured stack (target) stays within the call-graph bound of its
    entry point (p2m_convert_stream, with the adapter, pb_write and the
    stream's callback; p2m_convert), and the stream's bound within 2 KB.
"""

import bisect
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import gen_profiles as gp  # noqa: E402

FAILED = []


def check(name, ok, why=""):
    if ok:
        print("PASS %s" % name)
    else:
        print("FAIL %s: %s" % (name, why))
        FAILED.append(name)


def parse_run(path):
    """case -> {"lines": [...compared lines...], "hex": bytes, "end": {..}, "info": {..}};
    "refuse", "ram", "raminfo" and "badimage" lines go to the case of that name
    (lines only)."""
    cases, order = {}, []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            parts = line.split(" ")
            if parts[0] in ("refuse", "ram", "raminfo", "badimage"):
                c = cases.setdefault(parts[0], {"lines": [], "hex": "", "end": {}, "info": {}})
                c["lines"].append(line)
                continue
            if len(parts) < 2 or parts[0] not in ("case", "hex", "end", "info", "error"):
                continue
            c = cases.setdefault(parts[1], {"lines": [], "hex": "", "end": {}, "info": {}})
            if parts[1] not in order:
                order.append(parts[1])
            if parts[0] == "hex":
                c["hex"] += parts[2]
            if parts[0] in ("end", "info"):
                c[parts[0]] = {k: int(v) for k, v in (x.split("=", 1) for x in parts[2:])}
            if parts[0] != "info":
                c["lines"].append(line)
    return cases, order


# ---- the expectation, from the input alone ---------------------------------

def anyvalue_py(av, strings):
    """A hashable Python form of an AnyValue: str, bool, int, float, bytes,
    ("array", items...) or ("kvlist", (key, value)...). strings resolves
    string_value_strindex (input only; output never uses it)."""
    kind = av.WhichOneof("value")
    if kind == "string_value":
        return av.string_value
    if kind == "string_value_strindex":
        return strings[av.string_value_strindex]
    if kind in ("int_value", "bool_value", "double_value", "bytes_value"):
        return getattr(av, kind)
    if kind == "array_value":
        return ("array",) + tuple(anyvalue_py(x, strings) for x in av.array_value.values)
    if kind == "kvlist_value":
        return ("kvlist",) + tuple((kv_key(kv, strings), anyvalue_py(kv.value, strings))
                                   for kv in av.kvlist_value.values)
    return None


def kv_key(kv, strings):
    return kv.key if kv.key or strings is None else strings[kv.key_strindex]


class Symbols:
    def __init__(self, meta):
        self.build_id = meta["build_id"]
        self.syms = sorted(meta["symbols"])
        self.starts = [s[0] for s in self.syms]

    def name(self, address, build_id):
        if build_id and build_id != self.build_id:
            return None
        i = bisect.bisect_right(self.starts, address) - 1
        if i >= 0 and self.syms[i][0] <= address < self.syms[i][1]:
            return self.syms[i][2]
        return None


def expected(req, symbols, mode, thread_patterns=None, kind_rx=None, copy_keys=()):
    """Per resource {"cpu": {key: ns}, "function": {key: ns}, ...} and the
    number of distinct unsymbolised locations the symboliser must see.
    thread_patterns: the thread filter (Python re.search, any one matching);
    kind_rx: the pattern of the task.kind rule (first group, thread.name);
    copy_keys: attribute rules after it, copying an effective attribute of
    any type."""
    d = req.dictionary
    S = list(d.string_table)

    def attr_entry(i):
        e = d.attribute_table[i]
        return S[e.key_strindex], anyvalue_py(e.value, S)

    def loc_names(li):
        loc = d.location_table[li]
        if len(loc.lines):
            return [S[d.function_table[ln.function_index].name_strindex] or "[unknown]"
                    for ln in loc.lines], False
        build, fname = "", ""
        if loc.mapping_index:
            m = d.mapping_table[loc.mapping_index]
            fname = S[m.filename_strindex]
            for ai in m.attribute_indices:
                k, v = attr_entry(ai)
                if k.startswith("process.executable.build_id") and isinstance(v, str) and v:
                    build = v
                    break
        n = symbols.name(loc.address, build) if symbols else None
        if n is None:  # docs/spec.md section 6: the base name of the mapping's file, else [unknown]
            n = fname.rsplit("/", 1)[-1] or "[unknown]"
        return [n], True

    out, asked = [], set()
    for rp in req.resource_profiles:
        res_attrs = {kv_key(kv, S): anyvalue_py(kv.value, S) for kv in rp.resource.attributes}
        cpu, fn = {}, {}
        for sp in rp.scope_profiles:
            for p in sp.profiles:
                st = (S[p.sample_type.type_strindex], S[p.sample_type.unit_strindex])
                pt = (S[p.period_type.type_strindex], S[p.period_type.unit_strindex])
                assert st == ("samples", "count") and pt == ("cpu", "nanoseconds") and p.period > 0
                pattrs = dict(attr_entry(i) for i in p.attribute_indices)
                for s in p.samples:
                    eff = dict(res_attrs)
                    eff.update(pattrs)
                    eff.update(attr_entry(i) for i in s.attribute_indices)
                    n = sum(s.values) if len(s.values) else len(s.timestamps_unix_nano)
                    v = n * p.period
                    thread = eff.get("thread.name")
                    if thread_patterns is not None and not (
                            isinstance(thread, str) and any(re.search(x, thread)
                                                            for x in thread_patterns)):
                        continue
                    key = tuple((k, eff[k]) for k in ("process.executable.name", "thread.name")
                                if isinstance(eff.get(k), str))
                    if kind_rx is not None and isinstance(thread, str):
                        m = re.search(kind_rx, thread)
                        if m and m.group(1):
                            key += (("task.kind", m.group(1)),)
                    for k in copy_keys:
                        if eff.get(k) is not None:
                            key += ((k, eff[k]),)
                    cpu[key] = cpu.get(key, 0) + v
                    locs = list(d.stack_table[s.stack_index].location_indices)
                    if mode == "self":
                        if not locs:
                            continue
                        names, unsym = loc_names(locs[0])
                        if unsym:
                            asked.add(locs[0])
                        chosen = names[:1]
                    else:
                        chosen = []
                        for li in locs:
                            names, unsym = loc_names(li)
                            if unsym:
                                asked.add(li)
                            for nm in names:
                                if nm not in chosen:
                                    chosen.append(nm)
                    for nm in chosen:
                        k = key + (("function.name", nm),)
                        fn[k] = fn.get(k, 0) + v
        out.append({"cpu": cpu, "function": fn, "t0": p.time_unix_nano,
                    "t1": p.time_unix_nano + p.duration_nano, "resource": res_attrs})
    return out, len(asked)


# name, input, function mode, function metric on, thread filter, task.kind
# rule, copied attributes (the configurations of fw_configs.h)
CASES = [("small", "small.otlp", None, False, None, None, ()),
         ("small-max8", "small.otlp", None, False, None, None, ()),
         ("firmware", "firmware.otlp", "self", True, None, None, ()),
         ("firmware-inclusive", "firmware.otlp", "inclusive", True, None, None, ()),
         ("firmware-filtered", "firmware.otlp", "self", True, ["^sensor$", "radio"],
          "^([a-z]+)", ("device.config",))]


def load_inputs(gen):
    """The decoded input requests and the symbol table of GEN_DIR."""
    with open(os.path.join(gen, "symbols.json")) as f:
        symbols = Symbols(json.load(f))
    preq = gp.module("v1.10").ExportProfilesServiceRequest
    inputs = {}
    for fname in ("small.otlp", "firmware.otlp"):
        r = preq()
        with open(os.path.join(gen, fname), "rb") as f:
            r.ParseFromString(f.read())
        inputs[fname] = r
    return inputs, symbols


def metrics_of(data):
    m = gp.module("metrics").ExportMetricsServiceRequest()
    m.ParseFromString(data)
    return m


def point_key(dp):
    return tuple((a.key, anyvalue_py(a.value, None)) for a in dp.attributes)


def compare(name, got, exp, with_function):
    """got: decoded request; exp: expected() list. Returns a reason or ''."""
    if len(got.resource_metrics) != len(exp):
        return "%d resource metrics, expected %d" % (len(got.resource_metrics), len(exp))
    for rm, e in zip(got.resource_metrics, exp):
        ra = {a.key: anyvalue_py(a.value, None) for a in rm.resource.attributes}
        if ra != e["resource"]:
            return "resource attributes %r, expected %r" % (ra, e["resource"])
        if len(rm.scope_metrics) != 1 or rm.scope_metrics[0].scope.name != "profile2metrics":
            return "expected one ScopeMetrics named profile2metrics"
        ms = rm.scope_metrics[0].metrics
        want = ["cpu_time"] + (["function_cpu_time"] if with_function else [])
        if [m.name for m in ms] != want:
            return "metrics %r, expected %r" % ([m.name for m in ms], want)
        for m, kind in zip(ms, ("cpu", "function")):
            if m.unit != "ns" or not m.sum.is_monotonic or m.sum.aggregation_temporality != 1:
                return "%s: unit %r monotonic %r temporality %r" % (
                    m.name, m.unit, m.sum.is_monotonic, m.sum.aggregation_temporality)
            pts = {}
            for dp in m.sum.data_points:
                if dp.WhichOneof("value") != "as_int":
                    return "%s: point without as_int" % m.name
                if dp.start_time_unix_nano != e["t0"] or dp.time_unix_nano != e["t1"]:
                    return "%s: window %d..%d, expected %d..%d" % (
                        m.name, dp.start_time_unix_nano, dp.time_unix_nano, e["t0"], e["t1"])
                k = point_key(dp)
                if k in pts:
                    return "%s: two points for %r" % (m.name, k)
                pts[k] = dp.as_int
            if pts != e[kind]:
                missing = {k: v for k, v in e[kind].items() if pts.get(k) != v}
                extra = {k: v for k, v in pts.items() if e[kind].get(k) != v}
                return "%s: expected-but-not-got %r; got-but-not-expected %r" % (
                    m.name, missing, extra)
            if kind == "cpu":
                order = [point_key(dp) for dp in m.sum.data_points]
                if order != list(e["cpu"].keys()):
                    return "cpu_time points not in first-seen order: %r" % order
    return ""


def main(argv):
    if len(argv) not in (4, 5):
        sys.stderr.write(__doc__)
        return 2
    gen, tgt_path, host_path = argv[1], argv[2], argv[3]
    tgt, order = parse_run(tgt_path)
    host, horder = parse_run(host_path)
    inputs, symbols = load_inputs(gen)
    cases = CASES
    check("cases-present", order == [c[0] for c in cases] and horder == order,
          "target printed %r, host %r" % (order, horder))
    for case, fname, mode, fn, threads, kind, copy in cases:
        t, h = tgt.get(case), host.get(case)
        if t is None or h is None:
            check("%s-identical" % case, False, "case missing from the output")
            continue
        check("%s-identical" % case, t["lines"] == h["lines"] and t["hex"],
              "target and host differ (%d vs %d bytes of hex)" % (len(t["hex"]), len(h["hex"])))
        if t["end"].get("status") != 0:
            check("%s-converted" % case, False, "status %r" % t["end"].get("status"))
            continue
        try:
            got = metrics_of(bytes.fromhex(t["hex"]))
        except Exception as ex:  # noqa: BLE001 - any decode failure is the finding
            check("%s-decodes" % case, False, str(ex))
            continue
        check("%s-decodes" % case, len(bytes.fromhex(t["hex"])) == t["end"].get("out"),
              "hex length differs from out=")
        exp, n_asked = expected(inputs[fname], symbols if fn else None, mode or "self",
                                threads, kind, copy)
        why = compare(case, got, exp, fn)
        check("%s-values" % case, why == "", why)
        if fn:
            check("%s-symboliser-calls" % case, t["end"].get("calls") == n_asked,
                  "symboliser called %r times, %d distinct unsymbolised locations"
                  % (t["end"].get("calls"), n_asked))
        e = t["end"]
        info = t["info"]
        check("%s-stream-equals-buffered" % case,
              e.get("same") == 1 and e.get("out") == e.get("buffered"),
              "streamed %r bytes, buffered %r, same=%r" % (e.get("out"), e.get("buffered"),
                                                          e.get("same")))
        sb = info.get("stream_buffer", 0)
        check("%s-stream-pieces" % case,
              0 < e.get("max_piece", 0) <= sb and e.get("pieces", 0) * sb >= e.get("out", 0),
              "%r pieces, the largest %r bytes, stream buffer %r" % (
                  e.get("pieces"), e.get("max_piece"), sb))
        check("%s-engine-from-image" % case, info.get("image", 0) > 0 and info.get("engine", 0) > 0,
              "image %r bytes, engine %r" % (info.get("image"), info.get("engine")))
        check("%s-work" % case, 0 < info.get("work_used", 0) <= info.get("work_size", 0),
              "work_used %r, p2m_work_size %r" % (info.get("work_used"), info.get("work_size")))
    # Streams that stop taking bytes: (how, nanopb's message).
    refusals = {"stream-full": "stream full", "callback-fails": "io error"}
    got = {}
    for line in tgt.get("refuse", {}).get("lines", []):
        head, _, errmsg = line.partition(" errmsg=")
        parts = head.split(" ")
        got[parts[1]] = dict(x.split("=", 1) for x in parts[2:])
        got[parts[1]]["errmsg"] = errmsg
    check("refuse-identical", tgt.get("refuse", {}).get("lines") ==
          host.get("refuse", {}).get("lines"), "target and host differ")
    for how, msg in refusals.items():
        r = got.get(how, {})
        ok = (r.get("status") == "8" and r.get("errmsg") == msg
              and int(r.get("taken", "-1")) in range(0, int(r.get("limit", "0")) + 1))
        check("refuse-%s" % how, ok, "%r (expected status 8, errmsg %r, taken <= limit)"
              % (r, msg))
    # Damaged engine images: refused with P2M_ERR_IMAGE (9), as on the host.
    bad = tgt.get("badimage", {}).get("lines", [])
    check("badimage-identical", bad == host.get("badimage", {}).get("lines"),
          "target %r, host %r" % (bad, host.get("badimage", {}).get("lines")))
    for how in ("corrupt", "truncated"):
        line = [x for x in bad if x.startswith("badimage %s " % how)]
        check("badimage-%s-refused" % how, len(line) == 1 and " status=9 " in line[0],
              "%r (expected status 9, P2M_ERR_IMAGE)" % line)
    # RAM measurement of streamed conversions: same output size as the host's.
    ram = tgt.get("ram", {}).get("lines", [])
    check("ram-identical", ram == host.get("ram", {}).get("lines") and len(ram) == 2,
          "target %r, host %r" % (ram, host.get("ram", {}).get("lines")))
    for line in ram:
        parts = line.split(" ")
        kv = dict(x.split("=", 1) for x in parts[2:])
        check("ram-%s-converted" % parts[1], kv.get("status") == "0" and int(kv.get("out", 0)) > 0,
              line)
    if len(argv) == 5:
        with open(argv[4]) as f:
            sb = json.load(f)
        for root, key in (("p2m_convert_stream", "stack"), ("p2m_convert", "stack_buffered")):
            bound = sb["roots"].get(root, {}).get("bound")
            measured = max((c["info"].get(key, 0) for c in tgt.values()), default=0)
            if key == "stack":  # the RAM measurement's conversions are streamed too
                for line in tgt.get("raminfo", {}).get("lines", []):
                    kv = dict(x.split("=", 1) for x in line.split(" ")[2:])
                    measured = max(measured, int(kv.get("stack", 0)))
            check("stack-measured-within-bound-%s" % root,
                  bound is not None and 0 < measured <= bound and not sb["cycles"],
                  "measured %r bytes, call-graph bound %r, cycles %r"
                  % (measured, bound, sb["cycles"]))
        bound = sb["roots"].get("p2m_convert_stream", {}).get("bound")
        check("stack-bound-stream-within-2k", bound is not None and bound <= 2048,
              "call-graph bound of p2m_convert_stream (with the adapter, pb_write and the "
              "stream's callback) is %r bytes" % bound)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Independent checks of p2m's output formats (tests/suite-formats.sh).

    formats_check.py json OUT.json OUT.otlp [--stream]
        OUT.json (JSON Lines, one ExportMetricsServiceRequest per line) parsed
        by Google protobuf's json_format must equal the protobuf decode of
        OUT.otlp (one request, or a 4-byte length framed stream), compared as
        MessageToDict trees.
    formats_check.py prom OUT.prom OUT.otlp [--stream]
        Every sample line of the Prometheus text OUT.prom against the decoded
        metrics, mapped by the OpenTelemetry -> Prometheus rules as written
        here (names, unit suffixes, labels, job/instance, sums of series that
        map to the same line, deltas added up across messages, the latest
        cumulative total), and target_info against the resources.
    formats_check.py inputs DIR
        Writes the hand-built requests the suite converts into DIR.
    formats_check.py strindex|deep OUT.json OUT.otlp
        The conversion of DIR/nested-strindex.otlp (nested values whose
        strings and keys are all string table indices) or of
        DIR/nested-deep.otlp (the same, nested as deep as a request may be):
        the attributes of both outputs, the JSON parsed by json_format, must
        be the Python values the input was built from (STRINDEX_* / DEEP_*
        below), every index resolved.
    formats_check.py tojson IN.otlp OUT.jsonl [--layout v1.10] [--stream]
        An ExportProfilesServiceRequest (or framed stream) as OTLP/JSON
        Lines, written by json_format.MessageToJson.
Needs PYTHONPATH with metrics_pb2 / profiles_*_pb2 (protoc --python_out).
"""

import base64
import json
import math
import os
import re
import struct
import sys

from google.protobuf import json_format

import metrics_pb2

HERE = os.path.dirname(os.path.abspath(__file__))


def split_stream(data, stream):
    if not stream:
        return [data]
    out, at = [], 0
    while at < len(data):
        (n,) = struct.unpack(">I", data[at:at + 4])
        out.append(data[at + 4:at + 4 + n])
        at += 4 + n
    return out


def decode_metrics(path, stream):
    msgs = []
    for raw in split_stream(open(path, "rb").read(), stream):
        m = metrics_pb2.ExportMetricsServiceRequest()
        m.ParseFromString(raw)
        msgs.append(m)
    return msgs


def first_diff(a, b, path="$"):
    if type(a) is not type(b):
        return "%s: %r vs %r" % (path, a, b)
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return "%s.%s only in %s" % (path, k, "json" if k in a else "binary")
            d = first_diff(a[k], b[k], path + "." + k)
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return "%s: %d vs %d items" % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_diff(x, y, "%s[%d]" % (path, i))
            if d:
                return d
        return None
    if a != b and not (isinstance(a, float) and math.isnan(a) and math.isnan(b)):
        return "%s: %r vs %r" % (path, a, b)
    return None


def cmd_json(args):
    stream = "--stream" in args
    text = open(args[0], encoding="utf-8").read()
    lines = [l for l in text.split("\n") if l != ""]
    if not text.endswith("\n"):
        return "JSON output does not end with a newline"
    bins = decode_metrics(args[1], stream)
    if len(lines) != len(bins):
        return "%d JSON lines, %d binary messages" % (len(lines), len(bins))
    for i, (line, b) in enumerate(zip(lines, bins)):
        # strict JSON first (no NaN literals and the like), then the mapping
        try:
            json.loads(line, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
        except ValueError as e:
            return "line %d is not strict JSON: %s" % (i + 1, e)
        m = metrics_pb2.ExportMetricsServiceRequest()
        try:
            json_format.Parse(line, m)
        except json_format.ParseError as e:
            return "line %d rejected by json_format: %s" % (i + 1, e)
        da = json_format.MessageToDict(m)
        db = json_format.MessageToDict(b)
        d = first_diff(da, db)
        if d:
            return "message %d differs: %s" % (i + 1, d)
        if m != b:
            return "message %d: dicts equal but messages differ" % (i + 1)
        if not b.resource_metrics:
            continue
    return None


# ---- Prometheus ------------------------------------------------------------

# Prometheus base units (docs/cli.md, "-f prom"): the word a unit becomes
# and the factor from the OTLP unit to it (time in seconds, sizes in bytes).
UNITS = {"ns": ("seconds", 1e-9), "us": ("seconds", 1e-6), "ms": ("seconds", 1e-3),
         "s": ("seconds", 1), "min": ("seconds", 60), "h": ("seconds", 3600),
         "d": ("seconds", 86400), "By": ("bytes", 1), "KiBy": ("bytes", 1024),
         "MiBy": ("bytes", 1048576), "GiBy": ("bytes", 1 << 30), "KBy": ("bytes", 1e3),
         "MBy": ("bytes", 1e6), "GBy": ("bytes", 1e9), "bit": ("bits", 1),
         "%": ("percent", 1), "Hz": ("hertz", 1), "1": ("", 1)}


def prom_name(name, unit, gauge=False):
    n = re.sub(r"[^a-zA-Z0-9_:]", "_", name)
    n = re.sub(r"__+", "_", n)
    if n and n[0].isdigit():
        n = "_" + n
    u = UNITS.get(unit, (None, 1))[0]
    if u is None and unit and not unit.startswith("{"):
        u = re.sub(r"_+", "_", re.sub(r"[^a-zA-Z0-9_]", "_", unit))
    if u and not n.endswith("_" + u):
        n += "_" + u
    if not gauge and not n.endswith("_total"):
        n += "_total"
    return n


def unit_factor(unit):
    return UNITS.get(unit, (None, 1))[1]


def label_name(k):
    n = re.sub(r"[^a-zA-Z0-9_]", "_", k)
    if n and n[0].isdigit():
        n = "_" + n
    return n


# Non-string values as text, by the OpenTelemetry rules for non-OTLP formats
# (common/README.md "AnyValue representation for non-OTLP protocols"):
# top level: bools true/false, numbers as JSON numbers with NaN, Infinity,
# -Infinity unquoted, bytes base64, empty as ""; arrays and maps as JSON, in
# which strings and base64 bytes are JSON strings, the special doubles the
# strings "NaN", "Infinity", "-Infinity", and an empty value null.
def special_double(d):
    if math.isnan(d):
        return "NaN"
    if math.isinf(d):
        return "Infinity" if d > 0 else "-Infinity"
    return None


def any_text(v):
    w = v.WhichOneof("value")
    if w is None:
        return ""
    if w == "string_value":
        return v.string_value
    if w == "bool_value":
        return "true" if v.bool_value else "false"
    if w == "int_value":
        return str(v.int_value)
    if w == "double_value":
        return special_double(v.double_value) or repr(v.double_value)
    if w == "bytes_value":
        return base64.b64encode(v.bytes_value).decode()
    return json.dumps(any_plain(v), separators=(",", ":"), ensure_ascii=False)


def any_plain(v):
    w = v.WhichOneof("value")
    if w == "array_value":
        return [any_plain(x) for x in v.array_value.values]
    if w == "kvlist_value":
        return {kv.key: any_plain(kv.value) for kv in v.kvlist_value.values}
    if w == "bytes_value":
        return base64.b64encode(v.bytes_value).decode()
    if w == "double_value" and special_double(v.double_value):
        return special_double(v.double_value)
    if w is None:
        return None
    return getattr(v, w)


def labels_of(kvs):
    """OTel attributes -> {label: value}, colliding names joined with ';' in
    the order of the sorted original keys."""
    by = {}
    for kv in sorted(kvs, key=lambda kv: kv.key):
        by.setdefault(label_name(kv.key), []).append(any_text(kv.value))
    return {k: ";".join(v) for k, v in by.items()}


def job_instance(resource):
    a = {kv.key: any_text(kv.value) for kv in resource.attributes}
    out = {}
    if "service.name" in a:
        out["job"] = (a["service.namespace"] + "/" if a.get("service.namespace") else "") + \
            a["service.name"]
    if "service.instance.id" in a:
        out["instance"] = a["service.instance.id"]
    return out


GAUGES = set()  # names of the gauges expected_prom met


def expected_prom(msgs):
    totals = {}     # (name, frozenset(labels)) -> value
    targets = {}
    gauges = GAUGES
    for m in msgs:
        this = {}
        cumulative = False
        for rm in m.resource_metrics:
            ji = job_instance(rm.resource)
            rest = [kv for kv in rm.resource.attributes
                    if kv.key not in ("service.name", "service.namespace", "service.instance.id")]
            if rest:
                lab = labels_of(rest)
                lab.update(ji)
                lab = {k: v for k, v in lab.items() if v != ""}
                if lab:  # a target_info without labels is left out
                    targets[frozenset(lab.items())] = 1
            for sm in rm.scope_metrics:
                # every sample carries its scope (compatibility spec,
                # "Instrumentation Scope"): otel_scope_name and
                # otel_scope_version, replacing attributes of those names
                scope = {"otel_scope_name": sm.scope.name,
                         "otel_scope_version": sm.scope.version}
                for met in sm.metrics:
                    gauge = met.WhichOneof("data") == "gauge"
                    name = prom_name(met.name, met.unit, gauge)
                    if gauge:
                        GAUGES.add(name)
                    factor = unit_factor(met.unit)
                    points = met.gauge.data_points if gauge else met.sum.data_points
                    if not gauge:
                        cumulative = met.sum.aggregation_temporality == 2
                    for dp in points:
                        lab = labels_of(dp.attributes)
                        lab.update(ji)
                        lab.update(scope)
                        key = (name, frozenset((k, v) for k, v in lab.items() if v != ""))
                        val = dp.as_double if dp.WhichOneof("value") == "as_double" else dp.as_int
                        this[key] = this.get(key, 0) + val * factor
        for k, v in this.items():
            if cumulative or k[0] in gauges:
                totals[k] = v
            else:
                totals[k] = totals.get(k, 0) + v
    for lab in targets:
        totals[("target_info", frozenset((k, v) for k, v in lab if v != ""))] = 1
    return totals


LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def unescape(s):
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "\\": "\\", '"': '"'}[m.group(1)], s)


def parse_prom(text):
    got, types = {}, {}
    for line in text.split("\n"):
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
            continue
        if line.startswith("#"):
            continue
        m = LINE.match(line)
        if not m:
            raise ValueError("not a sample line: %r" % line)
        labels = {}
        rest = m.group(2) or ""
        pos = 0
        while pos < len(rest):
            lm = LABEL.match(rest, pos)
            if not lm:
                raise ValueError("bad labels in %r" % line)
            labels[lm.group(1)] = unescape(lm.group(2))
            pos = lm.end()
        key = (m.group(1), frozenset(labels.items()))
        if key in got:
            raise ValueError("duplicate series %r" % line)
        got[key] = float(m.group(3))
    return got, types


def cmd_prom(args):
    stream = "--stream" in args
    msgs = decode_metrics(args[1], stream)
    got, types = parse_prom(open(args[0], encoding="utf-8").read())
    want = expected_prom(msgs)
    gauges = {k[0] for k in want if k[0] == "target_info"} | GAUGES
    if set(got) != set(want):
        only_g = sorted(set(got) - set(want), key=repr)[:3]
        only_w = sorted(set(want) - set(got), key=repr)[:3]
        return "series differ: only in output %r; missing %r" % (only_g, only_w)
    for k, v in want.items():
        g = got[k]
        if not (g == v or abs(g - v) <= 1e-9 * max(abs(v), 1.0)):
            return "%r: output %r, expected %r" % (k, g, v)
        name = k[0]
        want_type = "gauge" if name in gauges else "counter"
        if types.get(name) != want_type:
            return "%s has TYPE %r, expected %s" % (name, types.get(name), want_type)
    if not want:
        return "nothing to compare (empty conversion)"
    return None


# ---- inputs ----------------------------------------------------------------

def cmd_inputs(args):
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
    import gen_profiles as g
    out = args[0]
    T0 = 1_795_305_600_000_000_000

    # nested values in resource and sample attributes, every scalar kind,
    # characters that need escaping, two resources with the same job
    b = g.Builder("v1.10", kv_form="inline")
    rp = b.resource([("service.name", "cart"), ("service.namespace", "shop"),
                     ("service.instance.id", "pod-1"),
                     ("host.arch", "amd64"), ("weird key-1", 'a"b\\c\nd'),
                     ("9lives", True), ("count", 42), ("ratio", 0.25),
                     ("raw", b"\x00\xffAB"),
                     ("list", [1, "two", 3.5, False, [b"x", {}]]),
                     ("map", {"a": 1, "b": ["c", {"d": "e"}], "": "empty key"})],
                    schema_url="https://opentelemetry.io/schemas/1.30.0")
    p = b.cpu_profile(b.scope(rp), time=T0, duration=10_000_000_000)
    b.sample(p, values=[3], attrs={"thread.name": "main", "process.executable.name": "cart"})
    b.sample(p, values=[2], attrs={"thread.name": ["a", 1], "process.executable.name": "cart"})
    b.sample(p, values=[4], attrs={"thread.name": {"k": [True]},
                                   "process.executable.name": "ca\"rt\\x\ny"})
    b.sample(p, values=[1], attrs={"thread.name": 7, "process.executable.name": 1.5})
    rp2 = b.resource([("service.name", "cart"), ("service.namespace", "shop"),
                      ("service.instance.id", "pod-1"), ("host.arch", "amd64")])
    p2 = b.cpu_profile(b.scope(rp2), time=T0 + 5, duration=1_000_000_000)
    b.sample(p2, values=[5], attrs={"thread.name": "main", "process.executable.name": "cart"})
    mem = b.profile(b.scope(rp2), ("alloc_space", "bytes"), time=T0, duration=1)
    b.sample(mem, values=[4096], attrs={"thread.name": "main", "process.executable.name": "cart"})
    rp3 = b.resource([("k8s.pod.name", "no-service"), ("a_b", "2"), ("a.b", "1")])
    p3 = b.cpu_profile(b.scope(rp3), time=T0, duration=1)
    b.sample(p3, values=[9], attrs={"thread.name": "t"})
    open(os.path.join(out, "nested.otlp"), "wb").write(b.to_bytes())

    # a Resource with dropped_attributes_count and entity_refs: the binary
    # encoder copies both; -f json must write them too
    b = g.Builder("v1.10", kv_form="inline")
    rp = b.resource([("service.name", "x")])
    rp.resource.dropped_attributes_count = 3
    e = rp.resource.entity_refs.add()
    e.type = "service"
    e.id_keys.append("service.name")
    p = b.cpu_profile(b.scope(rp), time=T0, duration=1)
    b.sample(p, values=[1], attrs={"thread.name": "t"})
    open(os.path.join(out, "dropped.otlp"), "wb").write(b.to_bytes())

    # nested values whose every string and key is a string table index
    # (v1.10 strindex form), in resource and sample attributes
    b = g.Builder("v1.10", kv_form="strindex")
    rp = b.resource(STRINDEX_RESOURCE)
    p = b.cpu_profile(b.scope(rp), time=T0, duration=1)
    for values, attrs in STRINDEX_SAMPLES:
        b.sample(p, values=values, attrs=attrs)
    open(os.path.join(out, "nested-strindex.otlp"), "wb").write(b.to_bytes())

    # as deep as docs/spec.md section 8 allows (32 message levels in all), strindex form
    b = g.Builder("v1.10", kv_form="strindex")
    rp = b.resource(DEEP_RESOURCE)
    p = b.cpu_profile(b.scope(rp), time=T0, duration=1)
    for values, attrs in DEEP_SAMPLES:
        b.sample(p, values=values, attrs=attrs)
    open(os.path.join(out, "nested-deep.otlp"), "wb").write(b.to_bytes())
    return None


# The input of nested-strindex.otlp. Strings repeat as keys and values, so
# they share string table entries; "" is string index 0.
STRINDEX_RESOURCE = [
    ("service.name", "cart"),
    ("list", ["x", {"k": "v"}, 7, True, 2.5, b"\x01\x02", float("-inf"), [], {}, ""]),
    ("map", {'q"uote': ["back\\slash", {"deep": {"k": "x"}}]}),
]
STRINDEX_SAMPLES = [   # (values, attributes); the default rules keep both keys
    ([3], {"thread.name": ["a", "b"], "process.executable.name": {"exe": "cart", "pid": 42}}),
    ([2], {"thread.name": float("-inf"), "process.executable.name": "cart"}),
]


def deep_value(levels):
    """levels wrappers around "leaf", [ ] and {"k": } taking turns."""
    v = "leaf"
    for i in range(levels):
        v = [v] if i % 2 == 0 else {"k": v}
    return v


# Request > ResourceProfiles > Resource > KeyValue > AnyValue is 5 levels,
# and 6 lists (2 levels each: ArrayValue, AnyValue) with 5 maps (3 each:
# KeyValueList, KeyValue, AnyValue) make 32. A sample attribute's AnyValue
# is one level higher (Request > ProfilesDictionary > KeyValueAndUnit).
DEEP_RESOURCE = [("service.name", "deep"), ("deep", deep_value(11))]
DEEP_SAMPLES = [([1], {"thread.name": deep_value(11), "process.executable.name": "p"})]


def expected_any(v):
    """The metrics AnyValue of a Python value, strings inline."""
    a = metrics_pb2.AnyValue()
    if isinstance(v, bool):
        a.bool_value = v
    elif isinstance(v, int):
        a.int_value = v
    elif isinstance(v, float):
        a.double_value = v
    elif isinstance(v, bytes):
        a.bytes_value = v
    elif isinstance(v, str):
        a.string_value = v
    elif isinstance(v, list):
        a.array_value.SetInParent()
        for x in v:
            a.array_value.values.add().CopyFrom(expected_any(x))
    else:
        a.kvlist_value.SetInParent()
        for k, x in v.items():
            kv = a.kvlist_value.values.add()
            kv.key = k
            kv.value.CopyFrom(expected_any(x))
    return a


def cmd_resolved(which, args):
    resource, samples = {"strindex": (STRINDEX_RESOURCE, STRINDEX_SAMPLES),
                         "deep": (DEEP_RESOURCE, DEEP_SAMPLES)}[which]
    want_res = [(k, expected_any(v)) for k, v in resource]
    # data point attributes in rule order: process.executable.name, thread.name
    want_points = [[(k, expected_any(a[k])) for k in ("process.executable.name", "thread.name")]
                   for _, a in samples]
    m = metrics_pb2.ExportMetricsServiceRequest()
    try:
        json_format.Parse(open(args[0], encoding="utf-8").read(), m)
    except json_format.ParseError as e:
        return "JSON rejected by json_format: %s" % e
    for what, msg in (("json", m), ("otlp", decode_metrics(args[1], False)[0])):
        if len(msg.resource_metrics) != 1:
            return "%s: %d resources, expected 1" % (what, len(msg.resource_metrics))
        rm = msg.resource_metrics[0]
        got = [(kv.key, kv.value) for kv in rm.resource.attributes]
        if got != want_res:
            return "%s: resource attributes %s, expected %s" % (what, got, want_res)
        pts = rm.scope_metrics[0].metrics[0].sum.data_points
        got = [[(kv.key, kv.value) for kv in dp.attributes] for dp in pts]
        if got != want_points:
            return "%s: point attributes %s, expected %s" % (what, got, want_points)
    return None


def cmd_tojson(args):
    layout = "v1.10"
    if "--layout" in args:
        layout = args[args.index("--layout") + 1]
    mod = __import__("profiles_%s_pb2" % layout.replace(".", "_"))
    stream = "--stream" in args
    lines = []
    for raw in split_stream(open(args[0], "rb").read(), stream):
        req = mod.ExportProfilesServiceRequest()
        req.ParseFromString(raw)
        lines.append(json_format.MessageToJson(req, indent=None))
    with open(args[1], "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return None


def main():
    cmds = {"json": cmd_json, "prom": cmd_prom, "inputs": cmd_inputs, "tojson": cmd_tojson,
            "strindex": lambda a: cmd_resolved("strindex", a),
            "deep": lambda a: cmd_resolved("deep", a)}
    if len(sys.argv) < 3 or sys.argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        why = cmds[sys.argv[1]](sys.argv[2:])
    except Exception as e:  # a crash is a failure with its reason
        why = "%s: %s" % (type(e).__name__, e)
    if why:
        print(why)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

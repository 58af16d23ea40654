#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Checks of tests/suite-docs-frames.sh (the recipe "Where the CPU goes").

  docs_frames_check.py docs-block DOC HEADING [LANG]
      prints the first ```LANG block (default yaml) after the heading
      "## HEADING" of DOC.
  docs_frames_check.py recipe INPUT OUTPUT PATTERN [--need-pattern]
      decodes INPUT (an OTLP profiles request) and OUTPUT (p2m's metrics
      for it with examples/where-the-cpu-goes.yaml, its stack_pattern
      replaced by PATTERN) with Google protobuf, and compares cpu_time,
      cpu_samples and gc_cpu_time per resource and attribute set with what
      docs/spec.md §5.2 and §4.4 say they are, computed here from the
      decoded profiles. Prints PASS/FAIL lines; exit 1 on any FAIL.

The computation follows the spec's text, not the header: a sample's value is
the sum of its values, else its number of timestamps; a samples/count
profile with a cpu/nanoseconds period contributes value x period ns.
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
import gen_profiles as G  # noqa: E402

FRAME_KEYS = ("frame.type", "frame.kind", "frame.library", "frame.syscall")
SYSCALL_PREFIXES = ("__x64_sys_", "__arm64_sys_", "__ia32_sys_", "__se_sys_", "__do_sys_",
                    "ksys_", "sys_")
TIME_NS = {"nanoseconds": 1, "ns": 1, "microseconds": 1000, "us": 1000,
           "milliseconds": 1000000, "ms": 1000000, "seconds": 10**9, "s": 10**9}

failed = False


def check(name, cond, why):
    global failed
    if cond:
        print("PASS " + name)
    else:
        failed = True
        print("FAIL %s: %s" % (name, why))


def docs_block(doc, heading, lang="yaml"):
    lines = open(doc, encoding="utf-8").read().split("\n")
    try:
        i = lines.index("## " + heading)
    except ValueError:
        sys.exit("no heading '## %s' in %s" % (heading, doc))
    while i < len(lines) and lines[i] != "```" + lang:
        i += 1
    j = i + 1
    while j < len(lines) and lines[j] != "```":
        j += 1
    if j >= len(lines):
        sys.exit("no ```%s block after '## %s' in %s" % (lang, heading, doc))
    sys.stdout.write("\n".join(lines[i + 1:j]) + "\n")


def decode_request(path):
    """The request, in whichever layout decodes it with a dictionary."""
    data = open(path, "rb").read()
    for layout in ("v1.8", "v1.10"):
        m = G.module(layout)
        cls = getattr(m, "ExportProfilesServiceRequest", None) or m.ProfilesData
        req = cls()
        try:
            req.ParseFromString(data)
        except Exception:  # noqa: BLE001
            continue
        if len(req.dictionary.string_table) > 1 and req.resource_profiles:
            return req
    sys.exit("cannot decode %s" % path)


def anystr(st, av):
    """The string of an AnyValue, or None when it is not a string."""
    which = av.WhichOneof("value")
    if which == "string_value":
        return av.string_value
    if which == "string_value_strindex":
        return st[av.string_value_strindex]
    return None


class Frames:
    """Stack properties by the rules of docs/spec.md §5.2."""

    def __init__(self, d):
        self.d = d
        self.st = d.string_table

    def key(self, a):
        if getattr(a, "key", ""):
            return a.key
        return self.st[a.key_strindex]

    def ftype(self, loc):
        t = None
        for ai in loc.attribute_indices:
            a = self.d.attribute_table[ai]
            if self.key(a) == "profile.frame.type":
                t = anystr(self.st, a.value)  # several: the last counts
        return t

    def line_names(self, loc):
        out = []
        for ln in loc.lines:
            name = self.st[self.d.function_table[ln.function_index].name_strindex]
            out.append(name or "[unknown]")
        return out

    def mapping_base(self, loc):
        if loc.mapping_index == 0:
            return ""
        fn = self.st[self.d.mapping_table[loc.mapping_index].filename_strindex]
        return fn.rsplit("/", 1)[-1]

    def names(self, loc):
        """Names of a location for the stack filter: its Lines, else the
        mapping's base name, else [unknown] (no symboliser in p2m)."""
        return self.line_names(loc) or [self.mapping_base(loc) or "[unknown]"]

    def props(self, stack_index):
        locs = [self.d.location_table[i] for i in self.d.stack_table[stack_index].location_indices]
        p = {}
        if not locs:
            return p, []
        leaf = locs[0]
        t = self.ftype(leaf)
        if t:
            p["frame.type"] = t
            p["frame.kind"] = "kernel" if t == "kernel" else "user"
        if t is None or t == "native":
            base = self.mapping_base(leaf)
            if base:
                p["frame.library"] = base
        for loc in locs:
            if self.ftype(loc) not in (None, "kernel"):
                continue
            hit = None
            for name in self.line_names(loc):
                for pre in SYSCALL_PREFIXES:
                    if name.startswith(pre) and len(name) > len(pre):
                        hit = name[len(pre):]
                        break
                if hit:
                    break
            if hit:
                p["frame.syscall"] = hit
                break
        return p, [n for loc in locs for n in self.names(loc)]


def expected(req, pattern):
    """{resource index: {metric: {attribute tuple: value}}} as the recipe
    defines its metrics, and the number of samples the pattern selected."""
    d = req.dictionary
    st = d.string_table
    fr = Frames(d)
    rx = re.compile(pattern)
    out = {}
    selected = 0
    for ri, rp in enumerate(req.resource_profiles):
        res = {"cpu_time": {}, "cpu_samples": {}, "gc_cpu_time": {}}
        for sp in rp.scope_profiles:
            for prof in sp.profiles:
                stype = (st[prof.sample_type.type_strindex], st[prof.sample_type.unit_strindex])
                ptype = (st[prof.period_type.type_strindex], st[prof.period_type.unit_strindex])
                if stype != ("samples", "count"):
                    sys.exit("the capture has a %s/%s profile: this check knows samples/count only"
                             % stype)
                if ptype[0] != "cpu" or ptype[1] not in TIME_NS or prof.period <= 0:
                    continue
                per = prof.period * TIME_NS[ptype[1]]
                for s in prof.samples:
                    v = sum(s.values) if len(s.values) else len(s.timestamps_unix_nano)
                    if not len(s.values) and not len(s.timestamps_unix_nano):
                        continue
                    props, names = fr.props(s.stack_index)
                    attrs = tuple((k, props[k]) for k in FRAME_KEYS if k in props)
                    res["cpu_time"][attrs] = res["cpu_time"].get(attrs, 0) + v * per
                    res["cpu_samples"][attrs] = res["cpu_samples"].get(attrs, 0) + v
                    if any(rx.search(n) for n in names):
                        selected += 1
                        res["gc_cpu_time"][attrs] = res["gc_cpu_time"].get(attrs, 0) + v * per
        out[ri] = res
    return out, selected


def got(path):
    m = G.module("metrics")
    req = m.ExportMetricsServiceRequest()
    req.ParseFromString(open(path, "rb").read())
    out = {}
    for rm in req.resource_metrics:
        # Resources without points are left out: match them by their
        # attributes (the four of the capture differ), in any order.
        key = tuple(sorted((kv.key, kv.value.string_value) for kv in rm.resource.attributes))
        res = {}
        for sm in rm.scope_metrics:
            for met in sm.metrics:
                pts = {}
                for dp in met.sum.data_points:
                    attrs = tuple((kv.key, kv.value.string_value) for kv in dp.attributes)
                    val = dp.as_int if dp.HasField("as_int") else dp.as_double
                    pts[attrs] = pts.get(attrs, 0) + val
                res[met.name] = (met.unit, met.sum.aggregation_temporality, pts)
        out[key] = res
    return out


def recipe(inp, outp, pattern, need_pattern):
    req = decode_request(inp)
    want, selected = expected(req, pattern)
    have = got(outp)
    tag = "docs-frames-recipe" if not need_pattern else "docs-frames-pattern"
    keys_seen = set()
    for ri, rp in enumerate(req.resource_profiles):
        rkey = tuple(sorted((kv.key, kv.value.string_value) for kv in rp.resource.attributes))
        h = have.get(rkey, {})
        for metric, unit in (("cpu_time", "ns"), ("cpu_samples", "1"), ("gc_cpu_time", "ns")):
            w = want[ri][metric]
            if not w:
                check("%s-%s-r%d" % (tag, metric, ri), metric not in h,
                      "no sample feeds it, yet the output has %r" % (h.get(metric),))
                continue
            if metric not in h:
                check("%s-%s-r%d" % (tag, metric, ri), False, "missing; expected %r" % w)
                continue
            u, temp, pts = h[metric]
            for attrs in pts:
                keys_seen.update(k for k, _ in attrs)
            check("%s-%s-r%d" % (tag, metric, ri), u == unit and temp == 1 and pts == w,
                  "unit %r temporality %r points %r, expected %s delta %r" % (u, temp, pts, unit, w))
    check(tag + "-keys", keys_seen == set(FRAME_KEYS),
          "attribute keys on the points: %s, expected exactly %s" % (sorted(keys_seen), FRAME_KEYS))
    if need_pattern:
        check(tag + "-selects", selected > 0, "the pattern %r selected no sample" % pattern)
    return 0 if not failed else 1


def main(argv):
    if len(argv) >= 3 and argv[0] == "docs-block":
        docs_block(argv[1], argv[2], argv[3] if len(argv) > 3 else "yaml")
        return 0
    if len(argv) >= 4 and argv[0] == "recipe":
        return recipe(argv[1], argv[2], argv[3], "--need-pattern" in argv[4:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Frame rules, the stack filter and stack_pattern of `p2m convert` (issue 22).

Hand-built requests (Google protobuf, tools/gen_profiles.py) whose expected
points are written by hand, sample by sample, in the tables below; and the
real captures of tests/data/real/, whose expected points come from `Ref`, a
computation of the contract over Google protobuf's decode of the same bytes
(it never runs p2m and reads nothing of the header). `Ref` is itself checked
against the hand tables first (check reference_model_agrees_with_hand_table).

The runner, the output readers and the CLI wrapper are those of
tests/test_convert.py. One line per check, `PASS name` or `FAIL name: why`;
inputs and configs stay in build/golden/frames_*.
"""

import re
import sys

import test_convert as TC
from test_convert import G, need, eq, pa, stat, PROC, THREAD, T0, DUR, PERIOD

FT = "profile.frame.type"
FROMS = ("type", "kind", "library", "function", "syscall")
SYSCALL_PREFIXES = ("__x64_sys_", "__arm64_sys_", "__ia32_sys_", "__se_sys_", "__do_sys_",
                    "ksys_", "sys_")
OVERFLOW = [("otel.metric.overflow", True)]
INVALID_RE = re.compile(r"^p2m: invalid reference at byte \d+: .+", re.M)

CHECKS = []


def check(name):
    return TC.check(name, CHECKS)


# ---- building stacks --------------------------------------------------------

LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"
APP = "/opt/app/bin/server"
VMLINUX = "vmlinux"


def frame_attrs(b, ftype):
    """Location attribute indices: None = none, a string = one frame type,
    a list = Builder.attrs items ((key, value) pairs or raw indices)."""
    if ftype is None:
        return []
    if isinstance(ftype, str):
        return [b.attr(FT, ftype)]
    return b.attrs(ftype)


def build_stack(b, frames):
    """A new stack of new locations, leaf first. Each frame is (function names
    innermost first, mapping file name or None, frame type as frame_attrs)."""
    locs = []
    for i, (names, mfile, ftype) in enumerate(frames):
        mp = b.mapping(mfile) if mfile else 0
        loc = b.location(names, mp, 0x1000 + 16 * i)
        b.d.location_table[loc].attribute_indices.extend(frame_attrs(b, ftype))
        locs.append(loc)
    return b.stack(locs, dup=True) if locs else 0


def K(name):
    """A kernel frame."""
    return ([name], VMLINUX, "kernel")


SPELLINGS = [("__x64_sys_", "read"), ("__arm64_sys_", "write"), ("__ia32_sys_", "openat"),
             ("__se_sys_", "close"), ("__do_sys_", "mmap"), ("ksys_", "fsync"),
             ("sys_", "epoll_wait")]

# (label, frames leaf first, the frame properties by hand; a missing key is absent)
TYPED = [
    ("go", [(["runtime.mallocgc"], APP, "go"), (["main.main"], APP, "go")],
     dict(type="go", kind="user", function="runtime.mallocgc")),
    ("jvm", [(["void com.example.Foo.bar()"], None, "jvm"), (["void java.lang.Thread.run()"], None, "jvm")],
     dict(type="jvm", kind="user", function="void com.example.Foo.bar()")),
    ("cpython", [(["<module>"], None, "cpython")], dict(type="cpython", kind="user", function="<module>")),
    ("v8js", [(["processTicksAndRejections"], None, "v8js")],
     dict(type="v8js", kind="user", function="processTicksAndRejections")),
    ("php", [(["Foo::bar"], None, "php")], dict(type="php", kind="user", function="Foo::bar")),
    ("ruby", [(["Array#each"], None, "ruby")], dict(type="ruby", kind="user", function="Array#each")),
    ("perl", [(["main::run"], None, "perl")], dict(type="perl", kind="user", function="main::run")),
    ("dotnet", [(["System.Threading.Thread.Sleep"], None, "dotnet")],
     dict(type="dotnet", kind="user", function="System.Threading.Thread.Sleep")),
    ("beam", [(["erlang:apply/2"], None, "beam")], dict(type="beam", kind="user", function="erlang:apply/2")),
    ("native_libc", [(["memcpy"], LIBC, "native"), (["main"], APP, "native")],
     dict(type="native", kind="user", library="libc.so.6", function="memcpy")),
    ("native_no_mapping_unsymbolised", [([], None, "native"), (["main"], APP, "native")],
     dict(type="native", kind="user", function="[unknown]")),
    ("native_libc_unsymbolised", [([], LIBC, "native")],
     dict(type="native", kind="user", library="libc.so.6", function="libc.so.6")),
    ("untyped_leaf", [(["inflate"], "/usr/lib/libz.so.1", None), (["main"], APP, "native")],
     dict(library="libz.so.1", function="inflate")),
    ("untyped_leaf_go_caller", [(["helper"], None, None), (["main.main"], APP, "go")],
     dict(function="helper")),
    ("empty_stack", [], dict()),
    ("duplicate_type_last_counts", [(["do_page_fault"], VMLINUX, [(FT, "native"), (FT, "kernel")])],
     dict(type="kernel", kind="kernel", function="do_page_fault")),
    ("type_then_other_attribute", [(["void a.B.c()"], LIBC, [(FT, "jvm"), ("other.attr", "x")])],
     dict(type="jvm", kind="user", function="void a.B.c()")),
] + [
    ("syscall_" + pre.strip("_"), [K("vfs_op"), K(pre + name), K("x64_sys_call"), K("do_syscall_64"),
                                   K("entry_SYSCALL_64_after_hwframe"), (["syscall"], LIBC, "native")],
     dict(type="kernel", kind="kernel", function="vfs_op", syscall=name))
    for pre, name in SPELLINGS
] + [
    ("syscall_none", [K("x64_sys_call"), K("do_syscall_64"), K("entry_SYSCALL_64_after_hwframe"),
                      (["read"], LIBC, "native")],
     dict(type="kernel", kind="kernel", function="x64_sys_call")),
    ("syscall_prefix_alone_is_no_entry", [K("__x64_sys_"), K("sys_"), K("ksys_"), K("__x64_sys_getpid")],
     dict(type="kernel", kind="kernel", function="__x64_sys_", syscall="getpid")),
    ("syscall_prefix_not_at_start", [K("do___x64_sys_read"), K("my_sys_read"), K("do_syscall_64")],
     dict(type="kernel", kind="kernel", function="do___x64_sys_read")),
    ("syscall_first_from_leaf", [K("ksys_pwrite"), K("__x64_sys_pwritev")],
     dict(type="kernel", kind="kernel", function="ksys_pwrite", syscall="pwrite")),
    ("syscall_inlined_innermost_first", [(["ksys_inner", "__x64_sys_outer"], VMLINUX, "kernel")],
     dict(type="kernel", kind="kernel", function="ksys_inner", syscall="inner")),
    ("syscall_inlined_outer_line", [(["do_vfs_ioctl", "__arm64_sys_ioctl"], VMLINUX, "kernel")],
     dict(type="kernel", kind="kernel", function="do_vfs_ioctl", syscall="ioctl")),
    ("syscall_user_frames_skipped", [(["sys_user_helper"], LIBC, "native"), (["__x64_sys_fake"], APP, "go"),
                                     K("__x64_sys_pread64")],
     dict(type="native", kind="user", library="libc.so.6", function="sys_user_helper", syscall="pread64")),
    ("syscall_user_frames_only", [(["sys_user_helper"], LIBC, "native"), (["__x64_sys_fake"], APP, "go")],
     dict(type="native", kind="user", library="libc.so.6", function="sys_user_helper")),
    ("syscall_untyped_frame", [(["__x64_sys_getuid"], None, None)],
     dict(function="__x64_sys_getuid", syscall="getuid")),
]


def typed_request(layout):
    """One cpu/nanoseconds profile; sample i of TYPED has the value 2**i and the
    process a or b; a last sample has a frame type entry with a key string
    of its own (a second string-table entry) after a kernel one.
    Returns the builder and [(properties by hand, value, process)]."""
    b = G.Builder(layout)
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    dup = build_stack(b, [(["runtime.futex"], APP, [b.attr(FT, "kernel"), b.attr(FT, "go", dup=True)])])
    rows = []
    for i, (label, frames, props) in enumerate(TYPED):
        b.sample(p, build_stack(b, frames), values=[2 ** i], attrs={PROC: "ab"[i % 2]})
        rows.append((props, 2 ** i, "ab"[i % 2]))
    b.sample(p, dup, values=[2 ** len(TYPED)], attrs={PROC: "a"})
    rows.append((dict(type="go", kind="user", function="runtime.futex"), 2 ** len(TYPED), "a"))
    return b, rows


def aggregate(rows):
    """[(attrs list, value)] summed per attribute list, in first-seen order."""
    out = {}
    for attrs, v in rows:
        k = tuple(attrs)
        out[k] = out.get(k, 0) + v
    return [(list(k), v) for k, v in out.items()]


def hand_points(rows, rules):
    """Expected points of the TYPED request from the hand table; rules are
    (key, from, default) with from a frame property or PROC."""
    out = []
    for props, value, proc in rows:
        attrs = []
        for key, frm, default in rules:
            v = proc if frm == PROC else props.get(frm, default)
            if v is not None:
                attrs.append((key, v))
        out.append((attrs, value))
    return aggregate(out)


def rules_yaml(rules):
    """attributes: of (key, from, default) rules; from PROC is an attribute rule."""
    out = "attributes:\n"
    for key, frm, default in rules:
        if frm == PROC:
            out += "  - {key: %s, type: attribute, from: %s}\n" % (key, frm)
        else:
            out += "  - {key: %s, type: frame, from: %s%s}\n" % (
                key, frm, "" if default is None else ", default: \"%s\"" % default)
    return out


# ---- the reference computation ----------------------------------------------

class Invalid(Exception):
    pass


class Ref:
    """The contract of /work/notes/frames.md (frame properties, names on a
    stack, references) over one decoded request."""

    def __init__(self, req):
        self.d = req.dictionary
        self.st = self.d.string_table

    def string(self, i):
        if not 0 <= i < len(self.st):
            raise Invalid("string %d" % i)
        return self.st[i]

    def location(self, li):
        """(frame type or None, mapping base name, names innermost first)."""
        d = self.d
        if not 0 <= li < len(d.location_table):
            raise Invalid("location %d" % li)
        need(li != 0, "a stack refers to location 0 (the zero entry): the reference does not model it")
        loc = d.location_table[li]
        ftype = None
        for ai in loc.attribute_indices:
            if not 0 <= ai < len(d.attribute_table):
                raise Invalid("attribute %d" % ai)
            a = d.attribute_table[ai]
            if self.string(a.key_strindex) == FT:
                which = a.value.WhichOneof("value")
                need(which in ("string_value", "string_value_strindex"), "a frame type that is not a string")
                ftype = a.value.string_value if which == "string_value" else \
                    self.string(a.value.string_value_strindex)
        if not 0 <= loc.mapping_index < len(d.mapping_table):
            raise Invalid("mapping %d" % loc.mapping_index)
        base = self.string(d.mapping_table[loc.mapping_index].filename_strindex).rsplit("/", 1)[-1]
        names = []
        for ln in loc.lines:
            if not 0 <= ln.function_index < len(d.function_table):
                raise Invalid("function %d" % ln.function_index)
            names.append(self.string(d.function_table[ln.function_index].name_strindex))
        return ftype, base, names or [base or "[unknown]"]

    def stack(self, si):
        """(frame properties, every name on the stack); raises Invalid."""
        if not 0 <= si < len(self.d.stack_table):
            raise Invalid("stack %d" % si)
        frames = [self.location(li) for li in self.d.stack_table[si].location_indices]
        props = {}
        if frames:
            t, base, names = frames[0]
            if t is not None:
                props["type"] = t
                props["kind"] = "kernel" if t == "kernel" else "user"
            if t in (None, "native") and base:
                props["library"] = base
            props["function"] = names[0]
        for t, _, names in frames:
            if "syscall" in props or t not in (None, "kernel"):
                continue
            for n in names:
                pre = [p for p in SYSCALL_PREFIXES if n.startswith(p) and len(n) > len(p)]
                if pre:
                    props["syscall"] = n[len(pre[0]):]
                    break
        return props, {n for _, _, names in frames for n in names}


def reference(req, rules, metrics=(("cpu_time", None),), stack_filter=None):
    """Expected output of a conversion of req (cpu profiles of samples/count
    with a cpu/nanoseconds period, as the captures hold): rules are
    (key, from, default) as hand_points; metrics (name, stack pattern or None),
    all fed by the cpu profiles; stack_filter a list of patterns or None.
    Returns ([(input resource index, {metric: points})] of the resources
    with a point, counts)."""
    ref = Ref(req)
    st = req.dictionary.string_table
    counts = dict(samples=0, kept=0, dropped_stack=0, invalid=0)
    out = []

    def table_attrs(indices):
        return {st[req.dictionary.attribute_table[i].key_strindex]:
                TC.any_value(req.dictionary.attribute_table[i].value)[1] for i in indices}

    for ri, rp in enumerate(req.resource_profiles):
        res = {kv.key: TC.any_value(kv.value)[1] for kv in rp.resource.attributes}
        rows = {name: [] for name, _ in metrics}
        for sp in rp.scope_profiles:
            for p in sp.profiles:
                stype = (st[p.sample_type.type_strindex], st[p.sample_type.unit_strindex])
                ptype = (st[p.period_type.type_strindex], st[p.period_type.unit_strindex])
                if stype == ("cpu", "nanoseconds"):
                    scale = 1
                else:
                    need(stype == ("samples", "count") and ptype == ("cpu", "nanoseconds") and p.period > 0,
                         "reference: unexpected profile type %r %r" % (stype, ptype))
                    scale = p.period
                prof = table_attrs(p.attribute_indices)
                for s in p.samples:
                    counts["samples"] += 1
                    try:
                        props, names = ref.stack(s.stack_index)
                    except Invalid:
                        counts["invalid"] += 1
                        continue
                    if stack_filter and not any(re.search(pt, n) for pt in stack_filter for n in names):
                        counts["dropped_stack"] += 1
                        continue
                    counts["kept"] += 1
                    need(len(s.values) or len(s.timestamps_unix_nano), "reference: an empty sample")
                    v = (sum(s.values) if len(s.values) else len(s.timestamps_unix_nano)) * scale
                    eff = dict(res)
                    eff.update(prof)
                    eff.update(table_attrs(s.attribute_indices))
                    attrs = []
                    for key, frm, default in rules:
                        val = eff.get(frm) if frm == PROC else props.get(frm)
                        if val is None or val == "":
                            val = default
                        if val is not None:
                            attrs = [(k, x) for k, x in attrs if k != key] + [(key, val)]
                    for name, pat in metrics:
                        if pat is None or any(re.search(pat, n) for n in names):
                            rows[name].append((attrs, v))
        if any(rows.values()):
            out.append((ri, {name: aggregate(r) for name, r in rows.items()}))
    return out, counts


def compare(inreq, outreq, expected, what):
    """Every point of every metric of every resource, in order."""
    rms = outreq.resource_metrics
    eq(len(rms), len(expected), "%s: ResourceMetrics count" % what)
    for oi, (ri, mets) in enumerate(expected):
        eq(TC.attrs_of(rms[oi].resource.attributes),
           TC.attrs_of(inreq.resource_profiles[ri].resource.attributes), "%s: resource %d" % (what, ri))
        have = sorted(m.name for sm in rms[oi].scope_metrics for m in sm.metrics)
        eq(have, sorted(n for n, pts in mets.items() if pts), "%s: metrics of resource %d" % (what, ri))
        for name, pts in mets.items():
            if pts:
                eq(TC.points(outreq, name, oi), pts, "%s: %s of resource %d" % (what, name, ri))


# ---- hand-built: one frame property at a time ---------------------------------

@check("reference_model_agrees_with_hand_table")
def _():
    # The computation used for the real captures gives the hand-worked values.
    for lay in ("v1.10", "v1.8"):
        b, rows = typed_request(lay)
        for frm in FROMS:
            rules = [("f", frm, None), ("p", PROC, None)]
            (res,), counts = reference(b.req, rules)
            eq(res[1]["cpu_time"], hand_points(rows, rules), "%s: reference, from %s" % (lay, frm))
            eq(counts, dict(samples=len(rows), kept=len(rows), dropped_stack=0, invalid=0), "counts")


def add_typed_checks():
    for lay in ("v1.10", "v1.8"):
        for frm in FROMS:
            name = "from_%s_%s" % (frm, lay.replace(".", "_"))

            def fn(lay=lay, frm=frm, name=name):
                b, rows = typed_request(lay)
                rules = [("frame." + frm, frm, None)]
                r = TC.convert_ok("frames_" + name, b.to_bytes(), ["--layout", lay], config=rules_yaml(rules))
                eq(TC.points(r.req, "cpu_time"), hand_points(rows, rules), "cpu_time points")
                stat(r, "samples", len(rows))
                stat(r, "invalid_references", 0)
                stat(r, "samples_kept", len(rows))
            check(name)(fn)


add_typed_checks()


@check("all_frame_rules_with_attribute_rules_in_rule_order")
def _():
    b, rows = typed_request("v1.10")
    rules = [("frame.syscall", "syscall", None), ("proc", PROC, None), ("frame.type", "type", None),
             ("frame.library", "library", None), ("frame.kind", "kind", None),
             ("frame.function", "function", None)]
    r = TC.convert_ok("frames_all_rules", b.to_bytes(), config=rules_yaml(rules))
    eq(TC.points(r.req, "cpu_time"), hand_points(rows, rules), "cpu_time points")


@check("frame_rules_with_default")
def _():
    b, rows = typed_request("v1.10")
    rules = [("lib", "library", "none"), ("sc", "syscall", "-"), ("t", "type", "untyped")]
    r = TC.convert_ok("frames_default", b.to_bytes(), config=rules_yaml(rules))
    pts = TC.points(r.req, "cpu_time")
    eq(pts, hand_points(rows, rules), "cpu_time points")
    need(any(a == [("lib", "none"), ("sc", "-"), ("t", "untyped")] for a, _ in pts),
         "no point with every default (the empty stack's)")


@check("samples_sharing_stacks_across_threads_and_resources")
def _():
    # One stack feeds samples of several threads and two resources: what is
    # resolved once per stack must not carry one sample's attributes to another.
    b = G.Builder("v1.10")
    rp1, rp2 = b.resource({"service.name": "one"}), b.resource({"service.name": "two"})
    p1 = b.profile(b.scope(rp1), ("cpu", "nanoseconds"), time=T0, duration=DUR)
    p2 = b.profile(b.scope(rp2), ("cpu", "nanoseconds"), time=T0, duration=DUR)
    go = build_stack(b, [(["runtime.mallocgc"], APP, "go"), (["main.main"], APP, "go")])
    kern = build_stack(b, [K("vfs_read"), K("ksys_read"), K("__x64_sys_read"), (["read"], LIBC, "native")])
    b.sample(p1, go, values=[1], attrs={THREAD: "t1"})
    b.sample(p1, go, values=[2], attrs={THREAD: "t2"})
    b.sample(p1, kern, values=[4], attrs={THREAD: "t1"})
    b.sample(p1, go, values=[8], attrs={THREAD: "t1"})
    b.sample(p1, kern, values=[16], attrs={THREAD: "t2"})
    b.sample(p2, kern, values=[32], attrs={THREAD: "t1"})
    b.sample(p2, go, values=[64], attrs={THREAD: "t3"})
    cfg = ("attributes:\n  - {key: thread, type: attribute, from: thread.name}\n"
           "  - {key: t, type: frame, from: type}\n  - {key: sc, type: frame, from: syscall}\n")
    r = TC.convert_ok("frames_shared_stacks", b.to_bytes(), config=cfg)
    eq(TC.points(r.req, "cpu_time", 0),
       [([("thread", "t1"), ("t", "go")], 9), ([("thread", "t2"), ("t", "go")], 2),
        ([("thread", "t1"), ("t", "kernel"), ("sc", "read")], 4),
        ([("thread", "t2"), ("t", "kernel"), ("sc", "read")], 16)], "resource one")
    eq(TC.points(r.req, "cpu_time", 1),
       [([("thread", "t1"), ("t", "kernel"), ("sc", "read")], 32), ([("thread", "t3"), ("t", "go")], 64)],
       "resource two")


@check("memo_tells_apart_stacks_of_other_properties")
def _():
    # Enough samples for the sample memo (256 or more): samples of the same
    # thread on stacks whose leaves differ in type must reach their own
    # series, however the library keys its memo on the stack's properties.
    # The points (thread, type, kind) and their order, first fed first, are
    # worked out here from what the builder was given.
    import random
    rnd = random.Random(5)
    b = G.Builder("v1.10")
    p = b.profile(b.scope(b.resource({"service.name": "s"})), ("cpu", "nanoseconds"),
                  time=T0, duration=DUR)
    types = ["go", "kernel", "native", "jvm", None]
    stacks = []
    for i in range(30):
        t = types[i % len(types)]
        leaf = (["leaf%d" % i], VMLINUX if t == "kernel" else APP, t)
        stacks.append((build_stack(b, [leaf, (["main"], APP, "go")]), t))
    total, order = {}, []
    for _ in range(600):
        st, t = rnd.choice(stacks)
        thread = rnd.choice(["t1", "t2", "t3"])
        v = rnd.randint(1, 1000)
        b.sample(p, st, values=[v], attrs={THREAD: thread})
        key = ((THREAD, thread),) + ((("t", t), ("k", "kernel" if t == "kernel" else "user"))
                                      if t else ())
        if key not in total:
            order.append(key)
            total[key] = 0
        total[key] += v
    cfg = ("attributes:\n  - {key: %s, type: attribute, from: %s}\n"
           "  - {key: t, type: frame, from: type}\n  - {key: k, type: frame, from: kind}\n"
           % (THREAD, THREAD))
    r = TC.convert_ok("frames_memo_many_samples", b.to_bytes(), config=cfg)
    eq(TC.points(r.req, "cpu_time", 0), [(list(k), total[k]) for k in order],
       "cpu_time points, in order")


def metric_mix_request():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    go = build_stack(b, [(["runtime.mallocgc"], APP, "go")])
    kern = build_stack(b, [K("schedule"), K("__x64_sys_futex")])
    nat = build_stack(b, [(["malloc"], LIBC, "native")])
    cpu = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(cpu, go, values=[1])
    b.sample(cpu, kern, values=[2])
    mem = b.profile(sp, ("alloc_space", "bytes"), ("space", "bytes"), 524288, time=T0, duration=DUR)
    b.sample(mem, go, values=[100])
    b.sample(mem, nat, values=[200])
    b.sample(mem, go, values=[400])
    off = b.profile(sp, ("off_cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(off, kern, values=[1000])
    b.sample(off, go, values=[3000])
    return b


@check("memory_and_declared_metrics_by_frame")
def _():
    cfg = ("metrics:\n  extra:\n"
           "    - {metric_name: off_cpu_time, unit: ns, sample_types: [\"off_cpu/nanoseconds\"]}\n"
           "attributes:\n  - {key: t, type: frame, from: type}\n  - {key: k, type: frame, from: kind}\n"
           "  - {key: lib, type: frame, from: library}\n  - {key: sc, type: frame, from: syscall}\n")
    r = TC.convert_ok("frames_metric_mix", metric_mix_request().to_bytes(), config=cfg)
    go, kern = [("t", "go"), ("k", "user")], [("t", "kernel"), ("k", "kernel"), ("sc", "futex")]
    eq(TC.points(r.req, "cpu_time"), [(go, 1), (kern, 2)], "cpu_time")
    eq(TC.points(r.req, "memory_allocation"),
       [(go, 500), ([("t", "native"), ("k", "user"), ("lib", "libc.so.6")], 200)], "memory_allocation")
    eq(TC.points(r.req, "off_cpu_time"), [(kern, 1000), (go, 3000)], "off_cpu_time")


@check("stack_filter_applies_to_memory_declared_and_function_metrics")
def _():
    cfg = ("metrics:\n  function: {enabled: true}\n  extra:\n"
           "    - {metric_name: off_cpu_time, unit: ns, sample_types: [\"off_cpu/nanoseconds\"]}\n"
           "attributes:\n  - {key: t, type: frame, from: type}\n"
           "stack_filter: {enabled: true, pattern: \"^(runtime\\\\.mallocgc|malloc)$\"}\n")
    r = TC.convert_ok("frames_stack_filter_metric_mix", metric_mix_request().to_bytes(), config=cfg)
    eq(TC.points(r.req, "cpu_time"), [([("t", "go")], 1)], "cpu_time")
    eq(TC.points(r.req, "memory_allocation"), [([("t", "go")], 500), ([("t", "native")], 200)],
       "memory_allocation")
    eq(TC.points(r.req, "off_cpu_time"), [([("t", "go")], 3000)], "off_cpu_time")
    eq(TC.points(r.req, "function_cpu_time"), [([("t", "go"), ("function.name", "runtime.mallocgc")], 1)],
       "function_cpu_time")
    stat(r, "samples", 7)
    stat(r, "dropped_stack", 2)
    stat(r, "samples_kept", 5)


@check("cumulative_stream_by_frame_type")
def _():
    msgs = []
    for i, samples in enumerate(([("go", 1), ("kernel", 2)], [("go", 4), ("native", 8)])):
        b = G.Builder("v1.10")
        sp = b.scope(b.resource({"service.name": "s"}))
        p = b.profile(sp, ("cpu", "nanoseconds"), time=T0 + i * 10 * DUR, duration=DUR)
        for t, v in samples:
            b.sample(p, build_stack(b, [(["f_" + t], None, t)]), values=[v])
        msgs.append(b.to_bytes())
    cfg = "temporality: cumulative\nattributes:\n  - {key: t, type: frame, from: type}\n"
    r = TC.run_cli("frames_cumulative", G.frame(msgs), ["--input-format", "otlp-stream"], config=cfg)
    need(r.rc == 0 and r.output is not None, "exit %d: %s; stderr %s" % (r.rc, r.cmd, r.stderr[:300]))
    outs = TC.unframe(r.output)
    eq(len(outs), 2, "output messages")
    want = ([([("t", "go")], 1), ([("t", "kernel")], 2)],
            [([("t", "go")], 5), ([("t", "kernel")], 2), ([("t", "native")], 8)])
    for i, o in enumerate(outs):
        m = TC.M.ExportMetricsServiceRequest()
        m.ParseFromString(o)
        eq(TC.points(m, "cpu_time"), want[i], "message %d cpu_time" % i)
        eq(TC.metric(m.resource_metrics[0], "cpu_time").sum.aggregation_temporality, 2,
           "message %d temporality" % i)


@check("max_series_1_overflow_by_frame_type")
def _():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    for t, v in (("go", 1), ("kernel", 2), ("go", 4), ("native", 8), ("jvm", 16)):
        b.sample(p, build_stack(b, [(["f_" + t], None, t)]), values=[v])
    cfg = "max_series: 1\nattributes:\n  - {key: t, type: frame, from: type}\n"
    r = TC.convert_ok("frames_max_series_1", b.to_bytes(), config=cfg)
    eq(TC.points(r.req, "cpu_time"), [([("t", "go")], 5), (OVERFLOW, 26)], "cpu_time points")
    stat(r, "overflow_samples", 3)
    stat(r, "series", 2)


# ---- invalid references -----------------------------------------------------

def bad_reference_request(kind):
    """A valid go sample (thread ok, 1) and a sample (thread bad, 2) whose
    stack refers outside a table, as kind says."""
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    b.sample(p, build_stack(b, [(["main.ok"], APP, "go")]), values=[1], attrs={THREAD: "ok"})
    leaf = ["main.bad"], APP, "go"
    caller = ["main.main"], APP, "go"
    if kind == "leaf_attribute_index":
        st = build_stack(b, [(leaf[0], APP, [(FT, "go"), 9999]), caller])
    elif kind == "caller_attribute_index":
        st = build_stack(b, [leaf, (caller[0], APP, [9999])])
    elif kind == "stack_index":
        st = 9999
    elif kind == "location_index":
        st = b.stack([b.d.stack_table[build_stack(b, [leaf])].location_indices[0], 9999], dup=True)
    elif kind == "function_index":
        st = build_stack(b, [leaf, caller])
        b.d.location_table[b.d.stack_table[st].location_indices[1]].lines[0].function_index = 9999
    elif kind == "mapping_index":
        st = build_stack(b, [leaf])
        b.d.location_table[b.d.stack_table[st].location_indices[0]].mapping_index = 9999
    else:
        raise ValueError(kind)
    b.sample(p, st, values=[2], attrs={THREAD: "bad"})
    return b.to_bytes()


BAD_KINDS = ("leaf_attribute_index", "caller_attribute_index", "stack_index", "location_index",
             "function_index", "mapping_index")
# (label, config, expected points of the valid sample)
OK_PROPS = dict(type="go", kind="user", function="main.ok")    # of the valid sample's stack
BAD_CONFIGS = [
    ("frame_rule_" + frm, "attributes:\n  - {key: t, type: frame, from: %s}\n" % frm,
     [([("t", OK_PROPS[frm])] if frm in OK_PROPS else [], 1)]) for frm in FROMS
] + [
    ("stack_filter", "stack_filter: {enabled: true, pattern: \"main\"}\n", [(pa(None, "ok"), 1)]),
    ("stack_pattern", "metrics:\n  extra:\n    - {metric_name: main_cpu_time, unit: ns, "
     "sample_types: [\"cpu/nanoseconds\"], stack_pattern: \"main\"}\n", [(pa(None, "ok"), 1)]),
]
# Which bad references each property reads (docs/spec.md section 5.2, "Invalid references":
# a stack is read only as far as what is asked of it needs). The bad sample's stack is a go
# leaf (main.bad, with Lines) and, for most kinds, a go caller (main.main).
READS_BAD = {
    "stack_index": {"type", "kind", "library", "function", "syscall", "stack_filter",
                    "stack_pattern"},
    "leaf_attribute_index": {"type", "kind", "library", "syscall"},  # the leaf's attributes
    "caller_attribute_index": {"syscall"},          # only syscall reads a caller's type
    "location_index": {"syscall", "stack_filter", "stack_pattern"},  # past the leaf
    "function_index": {"syscall", "stack_filter", "stack_pattern"},  # the caller's names
    "mapping_index": set(),                         # a go leaf with Lines: its mapping unread
}
# The points when the bad reference is not read: the second sample (thread bad, 2) counts too.
UNREAD_POINTS = {
    "frame_rule_type": [([("t", "go")], 3)],
    "frame_rule_kind": [([("t", "user")], 3)],
    "frame_rule_library": [([], 3)],
    "frame_rule_function": [([("t", "main.ok")], 1), ([("t", "main.bad")], 2)],
    "frame_rule_syscall": [([], 3)],
    "stack_filter": [(pa(None, "ok"), 1), (pa(None, "bad"), 2)],
    "stack_pattern": [(pa(None, "ok"), 1), (pa(None, "bad"), 2)],
}


def add_bad_reference_checks():
    for kind in BAD_KINDS:
        for label, cfg, want in BAD_CONFIGS:
            if not label.startswith("frame_rule") and kind not in ("caller_attribute_index", "function_index"):
                continue
            name = "invalid_reference_%s_%s" % (kind, label)

            def fn(kind=kind, cfg=cfg, want=want, label=label, name=name):
                data = bad_reference_request(kind)
                prop = label[len("frame_rule_"):] if label.startswith("frame_rule_") else label
                read = prop in READS_BAD[kind]
                if not read:
                    want = UNREAD_POINTS[label]
                r = TC.convert_ok("frames_" + name, data, config=cfg)
                eq(TC.points(r.req, "cpu_time"), want, "cpu_time points")
                if label == "stack_pattern":
                    eq(TC.points(r.req, "main_cpu_time"), want, "main_cpu_time points")
                stat(r, "invalid_references", 1 if read else 0)
                stat(r, "samples", 2)
                s = TC.run_cli("frames_" + name + "_strict", data, config="strict: true\n" + cfg)
                if not read:
                    eq(s.rc, 0, "strict, the bad reference unread: exit status")
                    return
                eq(s.rc, 1, "strict: exit status")
                need(INVALID_RE.search(s.stderr), "strict: no 'p2m: invalid reference at byte N: ...' "
                     "on stderr: %r" % s.stderr[:300])
                need(not s.output, "strict: an output was written")
            check(name)(fn)


add_bad_reference_checks()


@check("invalid_reference_judged_after_thread_filter_before_stack_filter")
def _():
    # A sample the thread filter drops counts there, whatever its stack; one
    # whose stack is invalid is not the stack filter's to count.
    cfg = ("thread_filter: {enabled: true, pattern: \"^ok$\"}\n"
           "attributes:\n  - {key: t, type: frame, from: type}\n")
    r = TC.convert_ok("frames_invalid_after_thread_filter", bad_reference_request("leaf_attribute_index"),
                      config=cfg)
    eq(TC.points(r.req, "cpu_time"), [([("t", "go")], 1)], "cpu_time points")
    stat(r, "dropped_thread", 1)
    stat(r, "invalid_references", 0)
    cfg = "stack_filter: {enabled: true, pattern: \"^main\\\\.ok$\"}\n"
    r = TC.convert_ok("frames_invalid_before_stack_filter", bad_reference_request("function_index"),
                      config=cfg)
    eq(TC.points(r.req, "cpu_time"), [(pa(None, "ok"), 1)], "cpu_time points")
    stat(r, "invalid_references", 1)
    stat(r, "dropped_stack", 0)


# ---- stack filter -------------------------------------------------------------

TARGET = "^app\\\\.target$"    # in a YAML double-quoted string: ^app\.target$

# (thread label, frames leaf first, kept by TARGET)
FILTER_STACKS = [
    ("leaf", [(["app.target"], APP, "go"), (["app.work"], APP, "go"), (["lib.root"], APP, "go")], True),
    ("middle", [(["app.work"], APP, "go"), (["app.target"], APP, "go"), (["lib.root"], APP, "go")], True),
    ("root", [(["app.work"], APP, "go"), (["app.helper"], APP, "go"), (["app.target"], APP, "go")], True),
    ("nowhere", [(["app.work"], APP, "go"), (["app.helper"], APP, "go"), (["lib.root"], APP, "go")], False),
    ("recursion", [(["app.target"], APP, "go"), (["app.work"], APP, "go"), (["app.target"], APP, "go"),
                   (["lib.root"], APP, "go")], True),
    ("inlined_inner", [(["app.target", "app.work"], APP, "go"), (["lib.root"], APP, "go")], True),
    ("inlined_outer", [(["app.work", "app.target"], APP, "go"), (["lib.root"], APP, "go")], True),
    ("unsymbolised_libtarget", [([], "/usr/lib/libtarget.so", "native"), (["app.work"], APP, "go")], False),
    ("unsymbolised_unknown", [([], None, "native")], False),
    ("near_miss", [(["app.target2"], APP, "go"), (["xapp.target"], APP, "go")], False),
    ("empty", [], False),
]


def filter_request(layout="v1.10"):
    """Sample i of FILTER_STACKS: thread label, value 2**i."""
    b = G.Builder(layout)
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    for i, (label, frames, _) in enumerate(FILTER_STACKS):
        b.sample(p, build_stack(b, frames), values=[2 ** i], attrs={THREAD: label})
    return b


def filter_expect(kept_labels):
    return [(pa(None, label), 2 ** i) for i, (label, _, _) in enumerate(FILTER_STACKS) if label in kept_labels]


def add_stack_filter_checks():
    for lay in ("v1.10", "v1.8"):
        name = "stack_filter_leaf_middle_root_recursion_inlined_" + lay.replace(".", "_")

        def fn(lay=lay, name=name):
            cfg = "stack_filter: {enabled: true, pattern: \"%s\"}\n" % TARGET
            r = TC.convert_ok("frames_" + name, filter_request(lay).to_bytes(), ["--layout", lay], config=cfg)
            kept = [label for label, _, k in FILTER_STACKS if k]
            eq(TC.points(r.req, "cpu_time"), filter_expect(kept), "cpu_time points")
            stat(r, "dropped_stack", len(FILTER_STACKS) - len(kept))
            stat(r, "samples_kept", len(kept))
            stat(r, "dropped_process", 0)
        check(name)(fn)


add_stack_filter_checks()


@check("stack_filter_unsymbolised_names_and_patterns")
def _():
    # pattern and patterns are alternatives; unsymbolised frames are named
    # by their mapping's base name, else [unknown]; unanchored search.
    cfg = "stack_filter: {enabled: true, pattern: \"libtarget\", patterns: [\"^\\\\[unknown\\\\]$\", \"^lib\\\\.\"]}\n"
    r = TC.convert_ok("frames_stack_filter_unsym", filter_request().to_bytes(), config=cfg)
    kept = ["leaf", "middle", "recursion", "inlined_inner", "inlined_outer", "unsymbolised_libtarget",
            "unsymbolised_unknown", "nowhere"]
    eq(TC.points(r.req, "cpu_time"), filter_expect(kept), "cpu_time points")
    stat(r, "dropped_stack", len(FILTER_STACKS) - len(kept))


@check("stack_filter_with_frame_and_attribute_rules")
def _():
    b = filter_request()
    cfg = ("stack_filter: {enabled: true, patterns: [\"^app\\\\.helper$\"]}\n"
           "attributes:\n  - {key: thread.name, type: attribute, from: thread.name}\n"
           "  - {key: fn, type: frame, from: function}\n")
    r = TC.convert_ok("frames_stack_filter_rule", b.to_bytes(), config=cfg)
    eq(TC.points(r.req, "cpu_time"),
       [([("thread.name", "root"), ("fn", "app.work")], 4), ([("thread.name", "nowhere"), ("fn", "app.work")], 8)],
       "cpu_time points")
    stat(r, "dropped_stack", len(FILTER_STACKS) - 2)


@check("stack_filter_after_process_filter")
def _():
    # A sample that fails both filters counts in dropped_process only.
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=T0, duration=DUR)
    hit = build_stack(b, [(["app.target"], APP, "go")])
    miss = build_stack(b, [(["app.work"], APP, "go")])
    b.sample(p, hit, values=[1], attrs={PROC: "keep", THREAD: "y"})
    b.sample(p, miss, values=[2], attrs={PROC: "keep", THREAD: "y"})
    b.sample(p, hit, values=[4], attrs={PROC: "drop", THREAD: "y"})
    b.sample(p, miss, values=[8], attrs={PROC: "drop", THREAD: "y"})
    b.sample(p, hit, values=[16], attrs={PROC: "keep", THREAD: "x"})
    b.sample(p, miss, values=[32], attrs={PROC: "keep", THREAD: "x"})
    cfg = ("process_filter: {enabled: true, pattern: \"^keep$\"}\n"
           "thread_filter: {enabled: true, pattern: \"^y$\"}\n"
           "stack_filter: {enabled: true, pattern: \"%s\"}\n" % TARGET)
    r = TC.convert_ok("frames_stack_filter_order", b.to_bytes(), config=cfg)
    eq(TC.points(r.req, "cpu_time"), [(pa("keep", "y"), 1)], "cpu_time points")
    stat(r, "dropped_process", 2)
    stat(r, "dropped_thread", 2)
    stat(r, "dropped_stack", 1)
    stat(r, "samples_kept", 1)


# ---- stack_pattern on a declared metric ---------------------------------------

GC = "^runtime\\\\.gc"    # in YAML: ^runtime\.gc


@check("stack_pattern_metric_next_to_cpu_and_unpatterned")
def _():
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "s"}))
    p = b.cpu_profile(sp, time=T0, duration=DUR)
    gc = build_stack(b, [(["runtime.gcDrain"], APP, "go"), (["runtime.gcBgMarkWorker"], APP, "go"),
                         (["runtime.goexit"], APP, "go")])
    app = build_stack(b, [(["main.work"], APP, "go"), (["main.main"], APP, "go"), (["runtime.main"], APP, "go")])
    malloc = build_stack(b, [(["runtime.mallocgc"], APP, "go"), (["main.alloc"], APP, "go")])
    inl = build_stack(b, [(["main.step"], APP, "go"), (["runtime.gcMarkTermination", "runtime.gcStart"], APP, "go"),
                          (["main.main"], APP, "go")])
    b.sample(p, gc, timestamps=[T0 + 1, T0 + 2], attrs={THREAD: "t1"})
    b.sample(p, app, timestamps=[T0 + 3], attrs={THREAD: "t1"})
    b.sample(p, malloc, timestamps=[T0 + 4, T0 + 5, T0 + 6], attrs={THREAD: "t2"})
    b.sample(p, gc, timestamps=[T0 + 7], attrs={THREAD: "t2"})
    b.sample(p, inl, timestamps=[T0 + 8], attrs={THREAD: "t1"})
    b.sample(p, malloc, timestamps=[T0 + 9], attrs={THREAD: "t3"})
    cfg = ("metrics:\n  extra:\n"
           "    - {metric_name: gc_cpu_time, unit: ns, sample_types: [\"samples/count\"], stack_pattern: \"%s\"}\n"
           "    - {metric_name: all_cpu_time, unit: ns, sample_types: [\"samples/count\"]}\n"
           "attributes:\n  - {key: thread.name, type: attribute, from: thread.name}\n" % GC)
    r = TC.convert_ok("frames_stack_pattern", b.to_bytes(), config=cfg)
    every = [(pa(None, "t1"), 4 * PERIOD), (pa(None, "t2"), 4 * PERIOD), (pa(None, "t3"), PERIOD)]
    eq(TC.points(r.req, "cpu_time"), every, "cpu_time")
    eq(TC.points(r.req, "all_cpu_time"), every, "all_cpu_time")
    eq(TC.points(r.req, "gc_cpu_time"), [(pa(None, "t1"), 3 * PERIOD), (pa(None, "t2"), PERIOD)], "gc_cpu_time")
    eq([m.name for m in r.req.resource_metrics[0].scope_metrics[0].metrics],
       ["cpu_time", "gc_cpu_time", "all_cpu_time"], "metric order")
    stat(r, "dropped_stack", 0)
    stat(r, "samples_kept", 6)


# ---- the real captures ----------------------------------------------------------

CAPTURES = ("sig-profiling-profile.otlp", "sig-profiling-k8s.otlp")


def convert_capture(name, capture, cfg):
    """Runs p2m on a capture (the k8s one as an otlp-stream). Returns the Run
    and [(decoded input, decoded output)] per message."""
    data = TC.real_path(capture)
    stream = "k8s" in capture
    inputs = TC.unframe(data) if stream else [data]
    r = TC.run_cli(name, data, ["--input-format", "otlp-stream"] if stream else [], config=cfg)
    need(r.rc == 0 and r.output is not None, "exit %d: %s; stderr %s" % (r.rc, r.cmd, r.stderr[:300]))
    need(r.stats is not None, "no JSON stats on stderr")
    outputs = TC.unframe(r.output) if stream else [r.output]
    eq(len(outputs), len(inputs), "output messages")
    pairs = []
    for i, o in zip(inputs, outputs):
        req = G.module("v1.8").ExportProfilesServiceRequest()
        req.ParseFromString(i)
        m = TC.M.ExportMetricsServiceRequest()
        m.ParseFromString(o)
        pairs.append((req, m))
    return r, pairs


def short(capture):
    return "profile" if "profile" in capture else "k8s"


def add_real_checks():
    for capture in CAPTURES:
        for frm in FROMS:
            name = "real_%s_cpu_by_%s" % (short(capture), frm)

            def fn(capture=capture, frm=frm, name=name):
                rules = [("frame." + frm, frm, None)]
                r, pairs = convert_capture("frames_" + name, capture, rules_yaml(rules))
                values = set()
                for i, (req, m) in enumerate(pairs):
                    exp, counts = reference(req, rules)
                    eq(counts["invalid"], 0, "test bug: invalid references in the capture")
                    compare(req, m, exp, "message %d" % i)
                    values |= {tuple(a) for _, mets in exp for a, _ in mets["cpu_time"]}
                need(len(values) >= 2, "vacuous: fewer than two %s values in the capture: %r" % (frm, values))
                stat(r, "invalid_references", 0)
            check(name)(fn)

        name = "real_%s_stack_filter" % short(capture)

        def fn(capture=capture, name=name):
            pats = ["^runtime\\.gc", "^do_syscall_64$"]
            rules = [("frame.type", "type", None), ("proc", PROC, None)]
            cfg = rules_yaml(rules) + ("stack_filter: {enabled: true, "
                                       "patterns: [\"^runtime\\\\.gc\", \"^do_syscall_64$\"]}\n")
            r, pairs = convert_capture("frames_" + name, capture, cfg)
            dropped = kept = 0
            for i, (req, m) in enumerate(pairs):
                exp, counts = reference(req, rules, stack_filter=pats)
                compare(req, m, exp, "message %d" % i)
                dropped += counts["dropped_stack"]
                kept += counts["kept"]
            need(dropped and kept, "vacuous: the filter keeps %d and drops %d" % (kept, dropped))
            stat(r, "dropped_stack", dropped)
            stat(r, "samples_kept", kept)
        check(name)(fn)

        name = "real_%s_stack_pattern" % short(capture)

        def fn(capture=capture, name=name):
            rules = [("proc", PROC, None), ("frame.kind", "kind", None)]
            metrics = [("cpu_time", None), ("runtime_cpu_time", "^runtime\\."),
                       ("syscall_cpu_time", "^entry_SYSCALL_64")]
            cfg = (rules_yaml(rules) + "metrics:\n  extra:\n"
                   "    - {metric_name: runtime_cpu_time, unit: ns, sample_types: [\"samples/count\"], "
                   "stack_pattern: \"^runtime\\\\.\"}\n"
                   "    - {metric_name: syscall_cpu_time, unit: ns, sample_types: [\"samples/count\"], "
                   "stack_pattern: \"^entry_SYSCALL_64\"}\n")
            r, pairs = convert_capture("frames_" + name, capture, cfg)
            fed = {n: 0 for n, _ in metrics}
            for i, (req, m) in enumerate(pairs):
                exp, counts = reference(req, rules, metrics)
                compare(req, m, exp, "message %d" % i)
                for _, mets in exp:
                    for n, pts in mets.items():
                        fed[n] += sum(v for _, v in pts)
            need(0 < fed["runtime_cpu_time"] < fed["cpu_time"] and 0 < fed["syscall_cpu_time"] < fed["cpu_time"],
                 "vacuous: totals %r" % fed)
            stat(r, "dropped_stack", 0)
        check(name)(fn)


add_real_checks()


if __name__ == "__main__":
    sys.exit(TC.main(CHECKS))

#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Generate OTLP profiles requests (ExportProfilesServiceRequest) shaped like
the output of the OpenTelemetry eBPF profiler, for tests and benchmarks.

Built with Google protobuf from our proto/ files (compiled into build/py on
first use). Deterministic for a given --seed. Wire variants that Google
protobuf does not write by itself (unpacked repeated scalars, dictionary
before the samples) come from a small wire-level rewriter below.

Command line:
    tools/gen_profiles.py --shape small|typical|huge|demo|request|shared|hicard
        [--scale 1] [--threads 200] [--layout v1.10]
        [--seed 1] [--kv-form inline|strindex] [--unpacked]
        [--dict-first|--dict-last] [--shuffle-fields] [--unknown-fields]
        [--frame-types some|all] -o FILE

--shuffle-fields writes the fields of every message (at every depth) in a
random order, --unknown-fields inserts fields the schema does not know into
messages at every depth; both are seeded from --seed and deterministic, and
without them the output is byte-identical to what it was before they existed.

Python API (used by tests/test_convert.py):
    b = Builder("v1.10", kv_form="inline")
    rp = b.resource({"service.name": "cart"})
    prof = b.profile(b.scope(rp), ("cpu", "nanoseconds"), time=..., duration=...)
    b.sample(prof, values=[5], attrs={"thread.name": "main"})
    data = b.to_bytes(unpacked=False, dict_first=False)
    data = b.to_bytes(shuffle=True, unknown=True, rewrite_seed=7)
"""

import argparse
import os
import random
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PROTO_DIR = os.path.join(ROOT, "proto")
PY_DIR = os.path.join(ROOT, "build", "py")
PROTO_FILES = ["profiles_v1_8.proto", "profiles_v1_9.proto",
               "profiles_v1_10.proto", "metrics.proto", "pprof.proto"]
LAYOUTS = ("v1.8", "v1.9", "v1.10")

# ---- compiling and loading the protos --------------------------------------


def ensure_modules(py_dir=PY_DIR):
    """Runs protoc into py_dir when a generated module is missing or older
    than its .proto, then makes py_dir importable."""
    stale = []
    for name in PROTO_FILES:
        src = os.path.join(PROTO_DIR, name)
        dst = os.path.join(py_dir, name.replace(".proto", "_pb2.py"))
        if not os.path.exists(dst) or os.path.getmtime(dst) < os.path.getmtime(src):
            stale.append(name)
    if stale:
        os.makedirs(py_dir, exist_ok=True)
        subprocess.run(["protoc", "-I" + PROTO_DIR, "--python_out=" + py_dir]
                       + [os.path.join(PROTO_DIR, n) for n in stale], check=True)
    if py_dir not in sys.path:
        sys.path.insert(0, py_dir)


def module(layout):
    """The generated module of a layout ("v1.8", "v1.9", "v1.10") or "metrics"."""
    ensure_modules()
    import importlib
    if layout == "metrics":
        return importlib.import_module("metrics_pb2")
    if layout not in LAYOUTS:
        raise ValueError("unknown layout %r" % layout)
    return importlib.import_module("profiles_%s_pb2" % layout.replace(".", "_"))


# ---- wire-level helpers ----------------------------------------------------

WT_VARINT, WT_I64, WT_LEN, WT_I32 = 0, 1, 2, 5


def enc_varint(v):
    """Base-128 varint; negative numbers as their 64-bit two's complement."""
    if v < 0:
        v += 1 << 64
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def enc_tag(field, wt):
    return enc_varint((field << 3) | wt)


def f_varint(field, v):
    return enc_tag(field, WT_VARINT) + enc_varint(v)


def f_fixed64(field, v):
    return enc_tag(field, WT_I64) + struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)


def f_bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return enc_tag(field, WT_LEN) + enc_varint(len(data)) + data


def dec_varint(buf, pos):
    """Returns (value, new_pos); raises ValueError when truncated or > 10 bytes."""
    v = 0
    shift = 0
    start = pos
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint at %d" % start)
        b = buf[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            return v & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
        if pos - start >= 10:
            raise ValueError("varint too long at %d" % start)


def parse_fields(buf):
    """Splits one message into [(field, wire_type, value, raw_bytes)]; value is
    an int for varint/fixed fields and the payload bytes for length-delimited."""
    out = []
    pos = 0
    n = len(buf)
    while pos < n:
        start = pos
        key, pos = dec_varint(buf, pos)
        field, wt = key >> 3, key & 7
        if wt == WT_VARINT:
            val, pos = dec_varint(buf, pos)
        elif wt == WT_I64:
            if pos + 8 > n:
                raise ValueError("truncated fixed64")
            val = struct.unpack_from("<Q", buf, pos)[0]
            pos += 8
        elif wt == WT_I32:
            if pos + 4 > n:
                raise ValueError("truncated fixed32")
            val = struct.unpack_from("<I", buf, pos)[0]
            pos += 4
        elif wt == WT_LEN:
            ln, pos = dec_varint(buf, pos)
            if pos + ln > n:
                raise ValueError("length past the end")
            val = bytes(buf[pos:pos + ln])
            pos += ln
        else:
            raise ValueError("wire type %d" % wt)
        out.append((field, wt, val, bytes(buf[start:pos])))
    return out


def _scalar_kind(fd):
    """Wire form of one element of a packed field: 'varint', 'i64' or 'i32'."""
    from google.protobuf.descriptor import FieldDescriptor as F
    if fd.type in (F.TYPE_FIXED64, F.TYPE_SFIXED64, F.TYPE_DOUBLE):
        return "i64"
    if fd.type in (F.TYPE_FIXED32, F.TYPE_SFIXED32, F.TYPE_FLOAT):
        return "i32"
    return "varint"


def unpack_repeated(buf, descriptor):
    """Rewrites a serialised message so that every packed repeated scalar field
    (at any depth) is written unpacked, one tag per element. The schema comes
    from the message descriptor; everything else is copied byte for byte."""
    from google.protobuf.descriptor import FieldDescriptor as F
    fields = descriptor.fields_by_number
    out = bytearray()
    for field, wt, val, raw in parse_fields(buf):
        fd = fields.get(field)
        if fd is None or wt != WT_LEN:
            out += raw
        elif fd.type == F.TYPE_MESSAGE:
            out += f_bytes(field, unpack_repeated(val, fd.message_type))
        elif fd.label == F.LABEL_REPEATED and fd.type not in (F.TYPE_STRING, F.TYPE_BYTES):
            kind = _scalar_kind(fd)
            pos = 0
            while pos < len(val):
                if kind == "varint":
                    v, pos = dec_varint(val, pos)
                    out += f_varint(field, v)
                elif kind == "i64":
                    out += enc_tag(field, WT_I64) + val[pos:pos + 8]
                    pos += 8
                else:
                    out += enc_tag(field, WT_I32) + val[pos:pos + 4]
                    pos += 4
        else:
            out += raw
    return bytes(out)


def dict_first(buf):
    """Moves the top-level dictionary (field 2) before resource_profiles."""
    parts = parse_fields(buf)
    return (b"".join(r for f, _, _, r in parts if f == 2)
            + b"".join(r for f, _, _, r in parts if f != 2))


# Field numbers of no message of any layout: every message in proto/ stops at
# 12 (Profile in v1.8), so 13 and up are unknown everywhere, and no unknown
# field can be taken for layout evidence (docs/spec.md section 1).
UNKNOWN_MIN = 13
FIELD_MAX = (1 << 29) - 1


def _unknown_field(rnd):
    """One field that no message knows: a random number from 13 up (mostly
    small, sometimes a 3- to 5-byte tag) and a random wire type among varint,
    i64, len and i32 with a random value. Start and end group (3, 4) are not
    written: the header refuses them as malformed (docs/security.md), as
    proto3 parsers may."""
    r = rnd.random()
    if r < 0.6:
        field = rnd.randrange(UNKNOWN_MIN, 128)
    elif r < 0.9:
        field = rnd.randrange(128, 1 << 16)
    else:
        field = rnd.randrange(1 << 16, FIELD_MAX + 1)
    wt = rnd.choice((WT_VARINT, WT_I64, WT_LEN, WT_I32))
    if wt == WT_VARINT:
        v = rnd.choice((0, 1, rnd.randrange(1 << 7), rnd.randrange(1 << 35),
                        rnd.randrange(1 << 64)))
        return f_varint(field, v)
    if wt == WT_I64:
        return f_fixed64(field, rnd.getrandbits(64))
    if wt == WT_I32:
        return enc_tag(field, WT_I32) + struct.pack("<I", rnd.getrandbits(32))
    n = rnd.choice((0, 1, rnd.randrange(2, 40), rnd.randrange(40, 300)))
    return f_bytes(field, bytes(rnd.getrandbits(8) for _ in range(n)))


def rewrite_fields(buf, descriptor, rnd, shuffle=False, unknown=False):
    """Rewrites a serialised message (and every message inside it, by the
    schema in descriptor) so that:
    shuffle: the fields come in a random order. The records of one field
      number keep their relative order (a repeated field's elements, a packed
      field's runs); records of different fields interleave freely, which is
      valid protobuf.
    unknown: about half of the messages get one to three fields no message
      knows (_unknown_field), each at a random position among the others.
    Everything else is copied byte for byte; lengths above are recomputed."""
    from google.protobuf.descriptor import FieldDescriptor as F
    fields = descriptor.fields_by_number
    recs = []
    for field, wt, val, raw in parse_fields(buf):
        fd = fields.get(field)
        if fd is not None and wt == WT_LEN and fd.type == F.TYPE_MESSAGE:
            raw = f_bytes(field, rewrite_fields(val, fd.message_type, rnd, shuffle, unknown))
        recs.append((field, raw))
    if shuffle and len(recs) > 1:
        queues = {}
        order = []
        for field, raw in recs:
            queues.setdefault(field, []).append(raw)
            order.append(field)
        rnd.shuffle(order)
        taken = {}
        out = []
        for field in order:
            k = taken.get(field, 0)
            out.append((field, queues[field][k]))
            taken[field] = k + 1
        recs = out
    if unknown and rnd.random() < 0.5:
        for _ in range(rnd.randrange(1, 4)):
            recs.insert(rnd.randrange(len(recs) + 1), (0, _unknown_field(rnd)))
    return b"".join(raw for _, raw in recs)


def append_raw(data, path, raw):
    """Appends raw wire bytes at the end of one nested message and fixes the
    length prefixes above it. path is a list of (field, occurrence) steps from
    the top, e.g. [(1, 0), (2, 0), (2, 1)] = second profile of the first scope
    of the first resource. An empty path appends at the top level."""
    if not path:
        return bytes(data) + raw
    (field, occ), rest = path[0], path[1:]
    out = bytearray()
    seen = 0
    found = False
    for f, wt, val, rawf in parse_fields(data):
        if f == field and wt == WT_LEN:
            if seen == occ:
                out += f_bytes(f, append_raw(val, rest, raw))
                found = True
                seen += 1
                continue
            seen += 1
        out += rawf
    if not found:
        raise ValueError("append_raw: no occurrence %d of field %d" % (occ, field))
    return bytes(out)


def frame(messages):
    """Collector file-exporter framing: each message behind a 4-byte
    big-endian length."""
    return b"".join(struct.pack(">I", len(m)) + m for m in messages)


# ---- the builder -----------------------------------------------------------


class Builder:
    """Builds one ExportProfilesServiceRequest of a given layout.

    Strings and attribute-table entries are interned (same text, same index)
    unless asked for a duplicate. Index 0 of every table is the zero entry.
    kv_form "strindex" (v1.10 only) writes resource/scope KeyValues with
    key_strindex and string AnyValues with string_value_strindex."""

    def __init__(self, layout="v1.10", kv_form="inline"):
        if kv_form not in ("inline", "strindex"):
            raise ValueError("kv_form must be inline or strindex")
        if kv_form == "strindex" and layout != "v1.10":
            raise ValueError("kv_form strindex needs layout v1.10")
        self.layout = layout
        self.kv_form = kv_form
        self.m = module(layout)
        self.req = self.m.ExportProfilesServiceRequest()
        d = self.req.dictionary
        self.d = d
        d.string_table.append("")
        d.mapping_table.add()
        d.location_table.add()
        d.function_table.add()
        d.link_table.add()
        d.attribute_table.add()
        d.stack_table.add()
        self._str = {"": 0}
        self._attr = {}
        self._func = {}
        self._stack = {}
        self._map = {}

    # -- dictionary tables --
    def s(self, text, dup=False):
        """Index of text in the string table (a new entry when dup)."""
        if not dup and text in self._str:
            return self._str[text]
        self.d.string_table.append(text)
        idx = len(self.d.string_table) - 1
        self._str.setdefault(text, idx)
        return idx

    def anyvalue(self, av, v, strindex=None):
        """Fills AnyValue av from a Python value (str, bool, int, float, bytes,
        list, dict)."""
        if strindex is None:
            strindex = self.kv_form == "strindex"
        if isinstance(v, bool):
            av.bool_value = v
        elif isinstance(v, int):
            av.int_value = v
        elif isinstance(v, float):
            av.double_value = v
        elif isinstance(v, bytes):
            av.bytes_value = v
        elif isinstance(v, str):
            if strindex:
                av.string_value_strindex = self.s(v)
            else:
                av.string_value = v
        elif isinstance(v, list):
            av.array_value.SetInParent()
            for x in v:
                self.anyvalue(av.array_value.values.add(), x, strindex)
        elif isinstance(v, dict):
            av.kvlist_value.SetInParent()
            for k, x in v.items():
                self.keyvalue(av.kvlist_value.values.add(), k, x)
        else:
            raise TypeError("no AnyValue for %r" % (v,))
        return av

    def keyvalue(self, kv, key, value, strindex=None):
        if strindex is None:
            strindex = self.kv_form == "strindex"
        if strindex:
            kv.key_strindex = self.s(key)
        else:
            kv.key = key
        self.anyvalue(kv.value, value, strindex)
        return kv

    def attr(self, key, value, dup=False, unit=""):
        """Index of a KeyValueAndUnit entry of the attribute table."""
        ident = (key, type(value).__name__, repr(value), unit)
        if not dup and ident in self._attr:
            return self._attr[ident]
        e = self.d.attribute_table.add()
        e.key_strindex = self.s(key, dup)
        self.anyvalue(e.value, value)
        if unit:
            e.unit_strindex = self.s(unit)
        idx = len(self.d.attribute_table) - 1
        self._attr.setdefault(ident, idx)
        return idx

    def attrs(self, spec):
        """Attribute indices from a dict or a list of (key, value) pairs;
        plain ints in a list are taken as raw indices."""
        if spec is None:
            return []
        items = spec.items() if isinstance(spec, dict) else spec
        out = []
        for it in items:
            if isinstance(it, int):
                out.append(it)
            else:
                out.append(self.attr(it[0], it[1]))
        return out

    def mapping(self, filename, start=0x400000, limit=0x800000, offset=0):
        key = (filename, start, limit, offset)
        if key in self._map:
            return self._map[key]
        mp = self.d.mapping_table.add()
        mp.memory_start, mp.memory_limit, mp.file_offset = start, limit, offset
        mp.filename_strindex = self.s(filename)
        self._map[key] = len(self.d.mapping_table) - 1
        return self._map[key]

    def function(self, name, filename="", system_name=""):
        key = (name, filename, system_name)
        if key in self._func:
            return self._func[key]
        f = self.d.function_table.add()
        f.name_strindex = self.s(name)
        if system_name:
            f.system_name_strindex = self.s(system_name)
        if filename:
            f.filename_strindex = self.s(filename)
        self._func[key] = len(self.d.function_table) - 1
        return self._func[key]

    def location(self, funcs=(), mapping=0, address=0, attrs=None):
        """A new Location; funcs are function names or (name, line) pairs,
        innermost first (several = inlined frames)."""
        loc = self.d.location_table.add()
        loc.mapping_index = mapping
        loc.address = address
        for f in funcs:
            name, line = (f, 0) if isinstance(f, str) else f
            ln = loc.lines.add()
            ln.function_index = self.function(name)
            ln.line = line
        loc.attribute_indices.extend(self.attrs(attrs))
        return len(self.d.location_table) - 1

    def stack(self, location_indices, dup=False):
        key = tuple(location_indices)
        if not dup and key in self._stack:
            return self._stack[key]
        st = self.d.stack_table.add()
        st.location_indices.extend(location_indices)
        idx = len(self.d.stack_table) - 1
        self._stack.setdefault(key, idx)
        return idx

    def link(self, trace_id=b"\x01" * 16, span_id=b"\x02" * 8):
        ln = self.d.link_table.add()
        ln.trace_id, ln.span_id = trace_id, span_id
        return len(self.d.link_table) - 1

    # -- resources, scopes, profiles, samples --
    def resource(self, attrs=None, schema_url=""):
        rp = self.req.resource_profiles.add()
        rp.resource.SetInParent()
        items = attrs.items() if isinstance(attrs, dict) else (attrs or [])
        for k, v in items:
            self.keyvalue(rp.resource.attributes.add(), k, v)
        if schema_url:
            rp.schema_url = schema_url
        return rp

    def scope(self, rp, name="go.opentelemetry.io/ebpf-profiler", version="", schema_url=""):
        sp = rp.scope_profiles.add()
        sp.scope.name = name
        if version:
            sp.scope.version = version
        if schema_url:
            sp.schema_url = schema_url
        return sp

    def profile(self, sp, sample_type=("samples", "count"), period_type=None,
                period=0, time=0, duration=0, attrs=None, comments=()):
        """A new Profile in ScopeProfiles sp. sample_type/period_type are
        (type, unit) pairs of strings."""
        p = sp.profiles.add()
        p.sample_type.type_strindex = self.s(sample_type[0])
        p.sample_type.unit_strindex = self.s(sample_type[1])
        if period_type is not None:
            p.period_type.type_strindex = self.s(period_type[0])
            p.period_type.unit_strindex = self.s(period_type[1])
        p.period = period
        p.time_unix_nano = time
        p.duration_nano = duration
        p.attribute_indices.extend(self.attrs(attrs))
        if comments and self.layout == "v1.8":
            p.comment_strindices.extend(self.s(c) for c in comments)
        return p

    def cpu_profile(self, sp, time=0, duration=0, period_ns=50_000_000, attrs=None):
        """The eBPF profiler's shape: samples/count, period of cpu/nanoseconds."""
        return self.profile(sp, ("samples", "count"), ("cpu", "nanoseconds"),
                            period_ns, time, duration, attrs)

    def sample(self, prof, stack=0, values=None, timestamps=None, attrs=None, link=0):
        smp = prof.samples.add()
        smp.stack_index = stack
        if values:
            smp.values.extend(values)
        if timestamps:
            smp.timestamps_unix_nano.extend(timestamps)
        smp.attribute_indices.extend(self.attrs(attrs))
        smp.link_index = link
        return smp

    # -- output --
    def to_bytes(self, unpacked=False, dict_first_=False, shuffle=False, unknown=False,
                 rewrite_seed=1):
        """The request's bytes; shuffle and unknown apply rewrite_fields last
        with random.Random(rewrite_seed) (after dict_first_, so shuffle also
        moves the dictionary among the resources)."""
        data = self.req.SerializeToString(deterministic=True)
        if unpacked:
            data = unpack_repeated(data, self.req.DESCRIPTOR)
        if dict_first_:
            data = dict_first(data)
        if shuffle or unknown:
            data = rewrite_fields(data, self.req.DESCRIPTOR, random.Random(rewrite_seed),
                                  shuffle, unknown)
        return data


# ---- shapes ----------------------------------------------------------------

BASE_TIME = 1_795_305_600_000_000_000  # 2026-11-22T00:00:00Z in ns
PERIOD = 50_000_000                    # 20 Hz, as the eBPF profiler

_WORDS = ("alloc buffer cache chan check client codec compress conn context crc "
          "decode dispatch encode event exec fetch flush frame gc handle hash heap "
          "http index init io json lock log loop map marshal mutex net parse poll "
          "pool proto queue read recv render request reset resolve route run "
          "sched scan send serve sort span stream sync table task timer token "
          "trace tree update wait walk write").split()


def _func_name(rnd, kind, i):
    a, b = rnd.choice(_WORDS), rnd.choice(_WORDS)
    if kind == "go":
        return "github.com/example/svc%d/pkg/%s.(*%s%s).%s%d" % (
            i % 17, a, a.capitalize(), b.capitalize(), b.capitalize(), i)
    if kind == "jvm":
        return "void com.example.app%d.%s%s.%s%d(java.lang.String)" % (
            i % 13, a.capitalize(), b.capitalize(), b, i)
    if kind == "kernel":
        return "%s_%s_%d" % (a, b, i)
    return "%s_%s%d" % (a, b, i)  # native


def _shape_params(shape, scale=1.0):
    P = _base_params(shape)
    if scale != 1.0:  # every count scaled; resources and depth stay (the window's shape)
        for k in ("funcs", "locs", "stacks", "samples", "mappings"):
            P[k] = max(4, int(round(P[k] * scale)))
    return P


def _base_params(shape):
    if shape == "small":
        return dict(resources=1, procs=1, threads=2, funcs=40, locs=60, stacks=20,
                    depth=8, samples=40, mappings=3, memory=False)
    if shape == "typical":
        return dict(resources=6, procs=4, threads=6, funcs=7500, locs=30000,
                    stacks=6000, depth=35, samples=8000, mappings=60, memory=True)
    if shape == "huge":
        return dict(resources=24, procs=6, threads=10, funcs=70000, locs=200000,
                    stacks=65000, depth=35, samples=80000, mappings=200, memory=True)
    raise ValueError("unknown shape %r" % shape)


def generate(shape="typical", layout="v1.10", seed=1, kv_form="inline", frame_types="some",
             scale=1.0, threads=200):
    """A Builder holding a request of the named shape. frame_types "some":
    every fifth location carries a profile.frame.type attribute; "all":
    every location does, the type of its function's kind (go, jvm, kernel,
    native), as the eBPF profiler writes them (the random draws are the same,
    so the stacks and samples are those of "some"). scale multiplies the
    counts of the shape (tables and samples; small, typical and huge keep
    their resources, processes, threads and stack depth); threads is the
    hicard shape's threads per process. With scale 1 every shape's bytes are
    what they were before scale existed."""
    if shape == "demo":
        return generate_demo(layout, seed, kv_form)
    if shape in ("request", "shared"):
        return generate_agent(shape, layout, seed, kv_form, scale)
    if shape == "hicard":
        return generate_hicard(layout, seed, kv_form, scale, threads)
    P = _shape_params(shape, scale)
    rnd = random.Random(seed)
    b = Builder(layout, kv_form)
    kinds = ("native", "go", "jvm", "kernel")
    maps = [b.mapping("/usr/lib/lib%s%d.so" % (rnd.choice(_WORDS), i),
                      0x7f0000000000 + i * 0x1000000, 0x7f0000000000 + i * 0x1000000 + 0x800000)
            for i in range(P["mappings"])]
    funcs = [(_func_name(rnd, kinds[i % 4], i), "src/%s/%s_%d.c" % (
        rnd.choice(_WORDS), rnd.choice(_WORDS), i % 997)) for i in range(P["funcs"])]
    locs = []
    for i in range(P["locs"]):
        fidx = rnd.randrange(len(funcs))
        fname, ffile = funcs[fidx]
        loc = _mapped_location(b, rnd, maps, fname, ffile)
        if i % 9 == 0:  # an inlined frame
            f2, file2 = funcs[rnd.randrange(len(funcs))]
            ln = loc.lines.add()
            ln.function_index = b.function(f2, file2)
            ln.line = rnd.randrange(1, 3000)
        if frame_types == "all":
            loc.attribute_indices.append(b.attr("profile.frame.type", kinds[fidx % 4]))
        elif i % 5 == 0:
            loc.attribute_indices.append(b.attr("profile.frame.type", kinds[i % 4]))
        locs.append(len(b.d.location_table) - 1)
    # Stacks share root-side prefixes, as real ones do.
    prefixes = [[rnd.choice(locs) for _ in range(P["depth"] * 2 // 3)]
                for _ in range(max(4, P["stacks"] // 50))]
    stacks = []
    for _ in range(P["stacks"]):
        depth = max(2, int(rnd.gauss(P["depth"], P["depth"] / 4)))
        root = rnd.choice(prefixes)[: depth * 2 // 3]
        leaf = [rnd.choice(locs) for _ in range(depth - len(root))]
        stacks.append(b.stack(leaf + root[::-1], dup=True))
    t0 = BASE_TIME + rnd.randrange(1_000_000) * 1000
    dur = 5_000_000_000
    per_res = P["samples"] // P["resources"]
    for r in range(P["resources"]):
        rp = _container_resource(b, rnd, r)
        sp = b.scope(rp)
        prof = b.cpu_profile(sp, time=t0, duration=dur)
        procs = []
        for pi in range(P["procs"]):
            pid = 1000 + r * 100 + pi
            exe = "%s-%s" % (rnd.choice(_WORDS), rnd.choice(_WORDS))
            pattrs = [("process.executable.name", exe),
                      ("process.executable.path", "/usr/bin/" + exe),
                      ("process.pid", pid)]
            threads = []
            for ti in range(P["threads"]):
                tname = exe if ti == 0 else "%s-%d" % (rnd.choice(_WORDS), ti)
                threads.append(pattrs + [("thread.name", tname), ("thread.id", pid + ti)])
            procs.append(threads)
        mem = None
        if P["memory"] and r % 2 == 0:
            mem = b.profile(sp, ("alloc_space", "bytes"), ("space", "bytes"), 524288,
                            time=t0, duration=dur)
        for _ in range(per_res):
            threads = rnd.choice(procs)
            attrs = threads[min(len(threads) - 1, int(rnd.expovariate(0.7)))]
            st = stacks[min(len(stacks) - 1, int(rnd.expovariate(3.0 / len(stacks))))]
            if mem is not None and rnd.random() < 0.15:
                b.sample(mem, st, values=[rnd.randrange(1, 1 << 20)],
                         timestamps=[t0 + rnd.randrange(dur)], attrs=attrs)
            else:
                n = 1 + int(rnd.expovariate(1.5))
                ts = sorted(t0 + rnd.randrange(dur) for _ in range(n))
                b.sample(prof, st, timestamps=ts, attrs=attrs)
    return b


# ---- agent-sized requests and the high-cardinality window --------------------

# Frame types of the eBPF profiler and how often each appears on the
# locations of the real captures (tests/data/real: go, kernel, native, v8js,
# jvm, in that order of frequency).
_AGENT_KINDS = (("go", 0.55), ("kernel", 0.22), ("native", 0.13), ("v8js", 0.04), ("jvm", 0.06))


def _pick_kind(rnd):
    r = rnd.random()
    for kind, w in _AGENT_KINDS:
        if r < w:
            return kind
        r -= w
    return _AGENT_KINDS[-1][0]


def _agent_dictionary(b, rnd, n_funcs, n_locs, n_maps, unsymbolised):
    """Functions, mappings and locations as the eBPF profiler writes them:
    every location has a profile.frame.type; a fraction `unsymbolised` of
    them (native and kernel frames the agent could not name) has an address
    and a mapping but no Line; the rest one Line, one in nine two (an
    inlined frame). Returns the location indices."""
    maps = [b.mapping("/usr/lib/lib%s%d.so" % (rnd.choice(_WORDS), i),
                      0x7f0000000000 + i * 0x1000000, 0x7f0000000000 + i * 0x1000000 + 0x800000)
            for i in range(n_maps)]
    funcs = []
    for i in range(n_funcs):
        kind = _pick_kind(rnd)
        name = _func_name(rnd, kind if kind in ("go", "jvm", "kernel") else "native", i)
        funcs.append((kind, name, "src/%s/%s_%d.c" % (rnd.choice(_WORDS), rnd.choice(_WORDS),
                                                      i % 997)))
    locs = []
    for i in range(n_locs):
        kind, fname, ffile = funcs[rnd.randrange(len(funcs))]
        loc = b.d.location_table.add()
        loc.mapping_index = rnd.choice(maps)
        loc.address = 0x1000 + rnd.randrange(1 << 24)
        if kind in ("native", "kernel") and rnd.random() < unsymbolised:
            pass  # an address only
        else:
            ln = loc.lines.add()
            ln.function_index = b.function(fname, ffile)
            ln.line = rnd.randrange(1, 3000)
            if i % 9 == 0:
                _, f2, file2 = funcs[rnd.randrange(len(funcs))]
                ln = loc.lines.add()
                ln.function_index = b.function(f2, file2)
                ln.line = rnd.randrange(1, 3000)
        loc.attribute_indices.append(b.attr("profile.frame.type", kind))
        locs.append(len(b.d.location_table) - 1)
    return locs


def _mapped_location(b, rnd, maps, fname, ffile):
    """A new Location in one of maps at a random address, with one Line of
    function fname (file ffile) at a random line."""
    loc = b.d.location_table.add()
    loc.mapping_index = rnd.choice(maps)
    loc.address = 0x1000 + rnd.randrange(1 << 24)
    ln = loc.lines.add()
    ln.function_index = b.function(fname, ffile)
    ln.line = rnd.randrange(1, 3000)
    return loc


def _container_resource(b, rnd, r):
    """Resource r: a container (a random id, also the service instance) of
    service svc-r, as the eBPF profiler names them."""
    cid = "%064x" % rnd.getrandbits(256)
    return b.resource([("container.id", cid), ("service.name", "svc-%d" % r),
                       ("service.instance.id", cid)],
                      schema_url="https://opentelemetry.io/schemas/1.37.0")


def _agent_stack(b, rnd, locs, root, depth):
    """A new stack table entry: random leaf-side frames below a shared
    root-side prefix (leaf first)."""
    root = root[: depth * 2 // 3]
    leaf = [rnd.choice(locs) for _ in range(max(1, depth - len(root)))]
    return b.stack(leaf + root[::-1], dup=True)


def generate_agent(shape="request", layout="v1.10", seed=1, kv_form="inline", scale=1.0):
    """One request of the OpenTelemetry eBPF profiler as an agent sends it,
    shaped like tests/data/real (scale 1 is about 25 KB, the size of
    sig-profiling-profile.otlp; 0.33 about 8 KB, 4.6 about 115 KB).
    A resource per container, one cpu profile (samples/count, period of 50 ms
    of cpu/nanoseconds) per resource, sample attributes thread.name,
    process.executable.name, process.executable.path, process.pid,
    thread.id and cpu.logical_number, stacks of depth ~16, every location
    typed (profile.frame.type), a fifth of the native and kernel frames
    without a Line.
    "request": as in the captures, every sample has a stack of its own and
      1 to ~8 timestamps (scale 1: 55 samples, 55 stacks).
    "shared": one process per resource whose samples share stacks, differing
      only in their thread's attributes (thread.name, thread.id and the cpu
      it runs on); scale 1: 317 samples on 103 stacks, one timestamp each."""
    rnd = random.Random(seed)
    b = Builder(layout, kv_form)
    n_res = max(1, int(round(4 * scale)))
    if shape == "shared":
        n_samples, n_stacks = max(4, int(round(317 * scale))), max(2, int(round(103 * scale)))
        n_funcs, n_locs = 150, 240
    else:
        n_samples = n_stacks = max(4, int(round(55 * scale)))
        n_funcs, n_locs = 210, 330
    locs = _agent_dictionary(b, rnd, max(8, int(round(n_funcs * scale))),
                             max(8, int(round(n_locs * scale))),
                             max(2, int(round(11 * scale))), 0.2)
    prefixes = [[rnd.choice(locs) for _ in range(12)] for _ in range(max(2, n_res * 2))]
    stacks = []
    for _ in range(n_stacks):
        depth = max(2, int(rnd.gauss(16, 6)))
        stacks.append(_agent_stack(b, rnd, locs, rnd.choice(prefixes), depth))
    t0 = BASE_TIME + rnd.randrange(1_000_000) * 1000
    dur = 5_000_000_000
    for r in range(n_res):
        rp = _container_resource(b, rnd, r)
        sp = b.scope(rp)
        prof = b.cpu_profile(sp, time=t0, duration=dur)
        threads = []
        for pi in range(1 if shape == "shared" else 1 + rnd.randrange(2)):
            pid = 200000 + rnd.randrange(800000)
            exe = "%s-%s" % (rnd.choice(_WORDS), rnd.choice(_WORDS))
            pattrs = [("process.executable.name", exe),
                      ("process.executable.path", "/usr/bin/" + exe), ("process.pid", pid)]
            for ti in range(1 + rnd.randrange(4)):
                tname = exe[:15] if ti == 0 else "%s-%d" % (rnd.choice(_WORDS), ti)
                threads.append((pattrs, tname, pid + 1 + rnd.randrange(500), rnd.randrange(32)))
        lo = r * n_samples // n_res
        hi = (r + 1) * n_samples // n_res
        for k in range(lo, hi):
            pattrs, tname, tid, cpu = rnd.choice(threads)
            if shape != "shared":  # "shared": a thread stays on its cpu
                cpu = rnd.randrange(32)
            attrs = [("thread.name", tname)] + pattrs + [("thread.id", tid),
                                                         ("cpu.logical_number", cpu)]
            if shape == "shared":
                st = stacks[min(n_stacks - 1, int(rnd.expovariate(3.0 / n_stacks)))]
                ts = [t0 + rnd.randrange(dur // PERIOD) * PERIOD]
            else:
                st = stacks[k]
                n = 1 + int(rnd.expovariate(0.4))
                ts = sorted(t0 + rnd.randrange(dur // PERIOD) * PERIOD for _ in range(n))
            b.sample(prof, st, timestamps=ts, attrs=attrs)
    return b


def generate_hicard(layout="v1.10", seed=1, kv_form="inline", scale=1.0, threads=200):
    """The high-cardinality window (issue 20): at scale 1, 40 resources (one
    process each), `threads` threads per process, 8 000 samples each carrying
    thread.name and a thread.id drawn from a large range (nearly unique per
    sample: about one attribute-table entry per sample), 6 000 stacks of depth
    ~35, 30 000 locations, 12 000 functions, every location typed; about
    2.2 MB, and with 200 threads about 5 000 cpu series (process, thread).
    scale multiplies every count, resources included; threads sets the
    cardinality at a given size."""
    rnd = random.Random(seed)
    b = Builder(layout, kv_form)
    n_res = max(1, int(round(40 * scale)))
    n_samples = max(n_res, int(round(8000 * scale)))
    kinds = ("native", "go", "jvm", "kernel")
    maps = [b.mapping("/usr/lib/lib%s%d.so" % (rnd.choice(_WORDS), i),
                      0x7f0000000000 + i * 0x1000000, 0x7f0000000000 + i * 0x1000000 + 0x800000)
            for i in range(max(2, int(round(60 * scale))))]
    funcs = [(_func_name(rnd, kinds[i % 4], i), "src/%s/%s_%d.c" % (
        rnd.choice(_WORDS), rnd.choice(_WORDS), i % 997))
        for i in range(max(8, int(round(12000 * scale))))]
    locs = []
    for i in range(max(8, int(round(30000 * scale)))):
        fidx = i if i < len(funcs) else rnd.randrange(len(funcs))  # every function used
        fname, ffile = funcs[fidx]
        loc = _mapped_location(b, rnd, maps, fname, ffile)
        loc.attribute_indices.append(b.attr("profile.frame.type", kinds[fidx % 4]))
        locs.append(len(b.d.location_table) - 1)
    n_stacks = max(2, int(round(6000 * scale)))
    prefixes = [[rnd.choice(locs) for _ in range(35 * 2 // 3)]
                for _ in range(max(4, n_stacks // 50))]
    stacks = [_agent_stack(b, rnd, locs, rnd.choice(prefixes), max(2, int(rnd.gauss(35, 35 / 4))))
              for _ in range(n_stacks)]
    t0 = BASE_TIME + rnd.randrange(1_000_000) * 1000
    dur = 5_000_000_000
    for r in range(n_res):
        rp = _container_resource(b, rnd, r)
        prof = b.cpu_profile(b.scope(rp), time=t0, duration=dur)
        pid = 1000 + r * 7919
        exe = "%s-%s-%d" % (rnd.choice(_WORDS), rnd.choice(_WORDS), r)
        pattrs = [("process.executable.name", exe), ("process.executable.path", "/usr/bin/" + exe),
                  ("process.pid", pid)]
        for _ in range(r * n_samples // n_res, (r + 1) * n_samples // n_res):
            attrs = pattrs + [("thread.name", "worker-%d" % rnd.randrange(threads)),
                              ("thread.id", pid * 100000 + rnd.randrange(1 << 30))]
            st = stacks[rnd.randrange(n_stacks)]
            n = 1 + int(rnd.expovariate(1.5))
            ts = sorted(t0 + rnd.randrange(dur) for _ in range(n))
            b.sample(prof, st, timestamps=ts, attrs=attrs)
    return b


def generate_demo(layout="v1.10", seed=1, kv_form="inline"):
    """A small readable request: two containers, a few named processes and
    threads, cpu samples (timestamps only) and one memory profile."""
    rnd = random.Random(seed)
    b = Builder(layout, kv_form)
    libc = b.mapping("libc.so.6")
    exe_map = b.mapping("checkout-server", 0x400000, 0x900000)

    def frames(*names):
        return b.stack([b.location([n], exe_map, 0x401000 + 16 * i)
                        for i, n in enumerate(names)])

    stacks = [
        frames("crypto/sha256.block", "crypto/sha256.(*digest).Write",
               "main.hashOrder", "main.handleCheckout", "net/http.HandlerFunc.ServeHTTP",
               "net/http.(*conn).serve", "runtime.goexit"),
        frames("encoding/json.(*encodeState).marshal", "encoding/json.Marshal",
               "main.writeReply", "main.handleCheckout", "net/http.(*conn).serve",
               "runtime.goexit"),
        frames("runtime.scanobject", "runtime.gcDrain", "runtime.gcBgMarkWorker",
               "runtime.goexit"),
        b.stack([b.location([], libc, 0x7f11a000 + 0x40),
                 b.location([], libc, 0x7f11a000 + 0x2210)]),
        frames("syscall.Syscall", "internal/poll.(*FD).Read", "net.(*conn).Read",
               "bufio.(*Reader).fill", "main.pollCart", "runtime.goexit"),
    ]
    t0 = BASE_TIME + 12 * 3600 * 1_000_000_000
    dur = 10_000_000_000
    containers = [
        ("checkout", "a3f9c2d1e0b4", [
            ("checkout-server", 4101, ["main", "http-worker-1", "http-worker-2", "gc"]),
            ("envoy", 4102, ["envoy", "wrk:worker_0"]),
        ]),
        ("cart", "77be01c5d9aa", [
            ("cart-api", 5201, ["cart-api", "redis-poller"]),
        ]),
    ]
    for ci, (svc, cid, procs) in enumerate(containers):
        rp = b.resource([("service.name", svc), ("container.id", cid),
                         ("k8s.namespace.name", "shop")],
                        schema_url="https://opentelemetry.io/schemas/1.37.0")
        sp = b.scope(rp, version="v0.0.202547")
        prof = b.cpu_profile(sp, time=t0, duration=dur)
        for exe, pid, threads in procs:
            for ti, th in enumerate(threads):
                attrs = [("process.executable.name", exe), ("process.pid", pid),
                         ("thread.name", th), ("thread.id", pid + ti)]
                for _ in range(rnd.randrange(1, 4)):
                    n = rnd.randrange(1, 7)
                    ts = sorted(t0 + rnd.randrange(dur // PERIOD) * PERIOD for _ in range(n))
                    b.sample(prof, rnd.choice(stacks), timestamps=ts, attrs=attrs)
        if ci == 0:
            mem = b.profile(sp, ("alloc_space", "bytes"), ("space", "bytes"), 524288,
                            time=t0, duration=dur)
            for th in ("main", "http-worker-1", "http-worker-2"):
                attrs = [("process.executable.name", "checkout-server"), ("process.pid", 4101),
                         ("thread.name", th), ("thread.id", 4101 + ["main", "http-worker-1",
                                                                     "http-worker-2"].index(th))]
                b.sample(mem, stacks[1], values=[rnd.randrange(1, 64) * 4096], attrs=attrs)
    return b


def main(argv=None):
    ap = argparse.ArgumentParser(description="Generate OTLP profiles requests.")
    ap.add_argument("--shape", default="typical",
                    choices=("small", "typical", "huge", "demo", "request", "shared", "hicard"))
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiply the shape's counts (not for demo); request and shared at 1"
                    " are about 25 KB, hicard about 2.2 MB")
    ap.add_argument("--threads", type=int, default=None,
                    help="threads per process of the hicard shape (its cardinality; default 200)")
    ap.add_argument("--layout", default="v1.10", choices=LAYOUTS)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kv-form", default="inline", choices=("inline", "strindex"))
    ap.add_argument("--unpacked", action="store_true",
                    help="write repeated scalars unpacked")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--dict-first", action="store_true",
                   help="dictionary before resource_profiles")
    g.add_argument("--dict-last", action="store_true",
                   help="dictionary after resource_profiles (default)")
    ap.add_argument("--shuffle-fields", action="store_true",
                    help="write every message's fields in a random order (seeded by --seed;"
                    " a repeated field's elements keep their order)")
    ap.add_argument("--unknown-fields", action="store_true",
                    help="insert fields of unused numbers (wire types varint, i64, len, i32)"
                    " into messages at every depth (seeded by --seed)")
    ap.add_argument("--frame-types", default="some", choices=("some", "all"),
                    help="which locations carry profile.frame.type: every fifth (default) or"
                    " all, each with its function's kind (a variant for the frame-rule bench)")
    ap.add_argument("--stream", type=int, default=0, metavar="N",
                    help="write N requests (seeds seed..seed+N-1) with 4-byte length framing")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args(argv)
    if a.kv_form == "strindex" and a.layout != "v1.10":
        ap.error("--kv-form strindex needs --layout v1.10")
    if not 0 < a.scale <= 64 or (a.scale != 1.0 and a.shape == "demo"):
        ap.error("--scale must be in (0, 64] and is not for --shape demo")
    if a.threads is not None and (a.shape != "hicard" or a.threads < 1):
        ap.error("--threads is for --shape hicard only, and at least 1")
    if a.frame_types != "some" and a.shape in ("request", "shared", "hicard"):
        ap.error("--frame-types is not for --shape %s: it types every location" % a.shape)

    def one(seed):
        return generate(a.shape, a.layout, seed, a.kv_form, a.frame_types, a.scale,
                        a.threads or 200).to_bytes(
            a.unpacked, a.dict_first, a.shuffle_fields, a.unknown_fields, seed)

    if a.stream:
        data = frame([one(a.seed + i) for i in range(a.stream)])
    else:
        data = one(a.seed)
    if a.output == "-":
        sys.stdout.buffer.write(data)
    else:
        with open(a.output, "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Generate large pprof profiles (profile.proto) shaped like Go's
runtime/pprof output, for the benchmark (make bench).

Written with a small hand encoder (varints, tags, packed repeated fields)
in the form Go's encoder (runtime/pprof/proto.go) uses: location ids and
values packed, zero fields left out, the string table after the tables
that index it (entry 0 is ""), ids dense, 1..N. Order: sample types,
samples, mappings, locations, functions, strings, then time, duration,
period type and period.
Deterministic for a given --seed; pure Python, no protobuf module.

Command line:
    tools/gen_pprof.py --shape go-cpu|go-heap [--seed 1] -o FILE

go-cpu:  sample types samples/count and cpu/nanoseconds, period type
         cpu/nanoseconds, period 10000000 (100 Hz); string labels on most
         samples, as pprof.Do(ctx, pprof.Labels(...)) leaves them.
go-heap: alloc_objects/count, alloc_space/bytes, inuse_objects/count,
         inuse_space/bytes, period type space/bytes, period 524288; no labels.

Both: thousands of functions and locations (some with inlined lines),
stacks 10 to 60 frames deep that share root-side prefixes.
"""

import argparse
import random
import struct
import sys

# ---- the encoder -------------------------------------------------------------


def varint(v):
    """Base-128 varint; negative numbers as their 64-bit two's complement."""
    if v < 0:
        v += 1 << 64
    out = bytearray()
    while v > 0x7F:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def f_int(field, v):
    """A varint field (omitted when 0, as proto3 and Go's encoder do)."""
    return varint(field << 3) + varint(v) if v else b""


def f_bool(field, v):
    return varint(field << 3) + b"\x01" if v else b""


def f_len(field, payload):
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def f_packed(field, values):
    if not values:
        return b""
    return f_len(field, b"".join(varint(v) for v in values))


class Strings:
    """The string table: entry 0 is "", each string once."""

    def __init__(self):
        self.table = [""]
        self.index = {"": 0}

    def __call__(self, s):
        i = self.index.get(s)
        if i is None:
            i = self.index[s] = len(self.table)
            self.table.append(s)
        return i


def value_type(st, typ, unit):
    return f_int(1, st(typ)) + f_int(2, st(unit))


# ---- Go-shaped content --------------------------------------------------------

_WORDS = ("alloc buffer cache call check client codec commit compress conn copy "
          "decode dial dispatch encode event exec fetch flush format gc handle hash "
          "http index init io json lock log loop map marshal mutex net parse poll "
          "pool proto queue read recv render request reset resolve route run "
          "sched scan send serve sort span stream sync table task timer token "
          "trace tree update wait walk write").split()

_PKGS = ("runtime", "net/http", "encoding/json", "crypto/tls", "bufio", "sync",
         "github.com/example/api/handler", "github.com/example/api/store",
         "github.com/example/api/cache", "google.golang.org/grpc",
         "google.golang.org/protobuf/proto", "database/sql")

SHAPES = {
    # functions, locations, distinct stacks, samples
    "go-cpu": dict(funcs=4000, locs=9000, stacks=12000, samples=20000),
    "go-heap": dict(funcs=3000, locs=7000, stacks=9000, samples=14000),
}


def build(shape="go-cpu", seed=1):
    """The bytes of one profile of the named shape."""
    P = SHAPES[shape]
    rnd = random.Random(seed)
    st = Strings()
    heap = shape == "go-heap"
    out = []
    if heap:
        types = [("alloc_objects", "count"), ("alloc_space", "bytes"),
                 ("inuse_objects", "count"), ("inuse_space", "bytes")]
        period_type, period = ("space", "bytes"), 524288
    else:
        types = [("samples", "count"), ("cpu", "nanoseconds")]
        period_type, period = ("cpu", "nanoseconds"), 10000000
    for t in types:
        out.append(f_len(1, value_type(st, *t)))
    period_vt = value_type(st, *period_type)  # interned now: the table is written before it

    # functions: Go names, files, start lines (ids 1..funcs)
    funcs = []
    for i in range(P["funcs"]):
        pkg = _PKGS[i % len(_PKGS)]
        a, b = rnd.choice(_WORDS), rnd.choice(_WORDS)
        if i % 3 == 0:
            name = "%s.(*%s%s).%s%d" % (pkg, a.capitalize(), b.capitalize(), b.capitalize(), i)
        else:
            name = "%s.%s%s%d" % (pkg, a, b.capitalize(), i)
        fname = "/src/%s/%s_%s.go" % (pkg, a, b)
        funcs.append(f_int(1, i + 1) + f_int(2, st(name)) + f_int(3, st(name)) +
                     f_int(4, st(fname)) + f_int(5, rnd.randrange(1, 2000)))

    # mappings: the binary, then a few shared objects, as Go reads /proc/self/maps
    maps = []
    names = ["/usr/local/bin/api-server", "/usr/lib/x86_64-linux-gnu/libc.so.6",
             "/usr/lib/x86_64-linux-gnu/libpthread.so.0", "[vdso]"]
    for i, path in enumerate(names):
        start = 0x400000 if i == 0 else 0x7f0000000000 + i * 0x10000000
        maps.append(f_int(1, i + 1) + f_int(2, start) + f_int(3, start + 0x2000000) +
                    f_int(4, 0 if i == 0 else 0x1000) + f_int(5, st(path)) +
                    f_int(6, st("%040x" % rnd.getrandbits(160))) +
                    f_bool(7, i == 0) + f_bool(8, i == 0) + f_bool(9, i == 0) +
                    f_bool(10, i == 0))

    # locations: mostly in the binary, one line each, every seventh with an
    # inlined caller (leaf first)
    locs = []
    for i in range(P["locs"]):
        mapping = 1 if i % 40 else 2 + i % 3
        addr = (0x400000 if mapping == 1 else 0x7f0000000000) + rnd.randrange(1 << 24)
        lines = [f_int(1, rnd.randrange(1, P["funcs"] + 1)) + f_int(2, rnd.randrange(1, 5000))]
        if i % 7 == 0:
            lines.append(f_int(1, rnd.randrange(1, P["funcs"] + 1)) +
                         f_int(2, rnd.randrange(1, 5000)))
        locs.append(f_int(1, i + 1) + f_int(2, mapping) + f_int(3, addr) +
                    b"".join(f_len(4, ln) for ln in lines))

    # stacks, leaf first, 10..60 deep, sharing root-side prefixes
    prefixes = [[rnd.randrange(1, P["locs"] + 1) for _ in range(40)] for _ in range(60)]
    stacks = []
    for _ in range(P["stacks"]):
        depth = rnd.randrange(10, 61)
        root = rnd.choice(prefixes)[: rnd.randrange(4, min(depth, 40) + 1)]
        leaf = [rnd.randrange(1, P["locs"] + 1) for _ in range(depth - len(root))]
        stacks.append(leaf + root[::-1])

    # pprof.Do-like string labels (most CPU samples carry one or two)
    label_sets = [[]]
    for w in range(8):
        label_sets.append([("worker", "w%d" % w)])
        for route in ("/api/orders", "/api/users", "/api/cart"):
            label_sets.append([("worker", "w%d" % w), ("route", route)])
    label_sets = [b"".join(f_len(3, f_int(1, st(k)) + f_int(2, st(v))) for k, v in ls)
                  for ls in label_sets]

    # samples: Go writes one per distinct (stack, labels); values packed
    for i in range(P["samples"]):
        stack = stacks[i % len(stacks) if i < len(stacks) else rnd.randrange(len(stacks))]
        if heap:
            objs = 1 + int(rnd.expovariate(0.05))
            size = objs * rnd.choice((16, 32, 64, 128, 512, 4096))
            inuse = rnd.randrange(0, objs + 1)
            values = [objs, size, inuse, inuse * size // objs]
            labels = b""
        else:
            n = 1 + int(rnd.expovariate(0.3))
            values = [n, n * period]
            labels = label_sets[rnd.randrange(len(label_sets))]
        out.append(f_len(2, f_packed(1, stack) + f_packed(2, values) + labels))
    out.extend(f_len(3, m) for m in maps)
    out.extend(f_len(4, loc) for loc in locs)
    out.extend(f_len(5, f) for f in funcs)
    for s in st.table:
        out.append(f_len(6, s.encode()))
    t0 = 1_700_000_000_000_000_000 + rnd.randrange(1_000_000) * 1000
    out.append(f_int(9, t0))
    out.append(f_int(10, 30_000_000_000))
    out.append(f_len(11, period_vt))
    out.append(f_int(12, period))
    return b"".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Generate Go-shaped pprof profiles.")
    ap.add_argument("--shape", default="go-cpu", choices=sorted(SHAPES))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args(argv)
    data = build(a.shape, a.seed)
    with open(a.output, "wb") as f:
        f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())

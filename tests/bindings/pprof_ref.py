#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""pprof inputs for the binding tests, with reference numbers computed here
from the profiles decoded by Google protobuf (proto/pprof.proto, compiled
into build/py), not by profile2metrics.

    pprof_ref.py DIR

writes into DIR:
  cpu.pprof, heap.pprof     Go's CPU and heap profiles (tests/corpus/pprof)
  cpu.pprof.gz, heap.pprof.gz   the same gzip'd (Python's gzip module)
  bad.pprof                 cpu.pprof followed by a sample field whose length
                            runs past the end: malformed at byte len(cpu.pprof)
  pprof.json                {"cpu": {"total", "samples", "unit"},
                             "heap": {"total", "samples", "unfed": [[type, unit], ...]},
                             "bad_offset"}
cpu total: the sum of the cpu/nanoseconds column (the cpu_time metric);
heap total: the sum of alloc_space/bytes (memory_allocation); unfed: the
heap profile's other sample types, in the profile's order.
"""
import gzip
import importlib
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import gen_profiles as G  # noqa: E402

CORPUS = os.path.join(ROOT, "tests", "corpus", "pprof")


def column(data, want):
    """Sum and count of the samples' values in the column of sample type want."""
    pp = importlib.import_module("pprof_pb2")
    prof = pp.Profile()
    prof.ParseFromString(data)
    types = [(prof.string_table[t.type], prof.string_table[t.unit]) for t in prof.sample_type]
    i = types.index(want)
    total = sum(s.value[i] for s in prof.sample)
    return total, len(prof.sample), [list(t) for t in types if t != want]


def main(argv):
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    G.ensure_modules()
    ref = {}
    for name, src, want in (("cpu", "go-cpu-real.pb", ("cpu", "nanoseconds")),
                            ("heap", "go-heap-real.pb", ("alloc_space", "bytes"))):
        with open(os.path.join(CORPUS, src), "rb") as f:
            data = f.read()
        total, n, unfed = column(data, want)
        ref[name] = {"total": total, "samples": n, "unit": want[1]}
        if name == "heap":
            ref[name]["unfed"] = unfed
        with open(os.path.join(out, name + ".pprof"), "wb") as f:
            f.write(data)
        with open(os.path.join(out, name + ".pprof.gz"), "wb") as f:
            f.write(gzip.compress(data))
        if name == "cpu":
            with open(os.path.join(out, "bad.pprof"), "wb") as f:
                f.write(data + b"\x12\x7f")  # field 2 (sample), 127 bytes: none follow
            ref["bad_offset"] = len(data)
    with open(os.path.join(out, "pprof.json"), "w") as f:
        json.dump(ref, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes the hand-built seeds of fuzz_pprof into a directory (default
tests/corpus/pprof), from the builders of tests/test_pprof.py:
    go-cpu-shape.pb      a Go CPU profile's shape (samples/count + cpu/ns)
    go-heap-shape.pb     a Go heap profile's four columns, numeric labels
    sparse-ids.pb        ids far apart, shuffled tables, inlined lines
    go-cpu-unpacked.pb   the CPU shape with unpacked location_id/value
The corpus's go-cpu-real.pb and go-heap-real.pb are real profiles written
by Go 1.19's runtime/pprof (a CPU profile of two goroutines labelled with
pprof.Do, and a heap profile), gunzipped; they are not regenerated here."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE)))
import test_pprof as T  # noqa: E402


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(HERE), "corpus", "pprof")
    os.makedirs(out, exist_ok=True)
    seeds = {"go-cpu-shape.pb": T.go_cpu().bytes(), "go-heap-shape.pb": T.go_heap().bytes(),
             "sparse-ids.pb": T.sparse_profile().bytes(),
             "go-cpu-unpacked.pb": T.go_cpu(2).bytes(unpacked=True)}
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print("%s: %d bytes" % (name, len(data)))


if __name__ == "__main__":
    main()

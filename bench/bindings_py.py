# SPDX-License-Identifier: MIT
"""make bench-pyjs: Converter.convert of the Python binding on one request
(default configuration), best of ROUNDS rounds of at least MIN_MS ms, in ns
per call.    python bindings_py.py FILE [ROUNDS] [MIN_MS]"""
import sys
import time

import profile2metrics as p2m

data = open(sys.argv[1], "rb").read()
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 7
min_ms = float(sys.argv[3]) if len(sys.argv) > 3 else 200
conv = p2m.Converter()
conv.convert(data, now=1700000000000000000)
best = float("inf")
for _ in range(rounds):
    it, t0 = 0, time.perf_counter_ns()
    while True:
        conv.convert(data, now=1700000000000000000)
        it += 1
        if time.perf_counter_ns() - t0 >= min_ms * 1e6:
            break
    best = min(best, (time.perf_counter_ns() - t0) / it)
print("%.0f" % best)

#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes the generated request the Go and Rust binding tests convert:
tools/gen_profiles.py's "typical" shape (6 resources of eBPF-profiler CPU and
memory profiles) plus one resource whose profiles feed the declared metrics
of config.yaml (off_cpu/nanoseconds, inuse_space/bytes) and one profile with
no time, which takes the call's "now". Built with Google protobuf, as every
generated test input is.

    gen_request.py OUT.otlp
    gen_request.py --invalid-reference OUT.otlp
        a small request whose second sample names a stack that does not
        exist (strict mode: an invalid reference; otherwise skipped)"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import gen_profiles as G  # noqa: E402


def invalid_reference(path):
    b = G.Builder("v1.10")
    sp = b.scope(b.resource({"service.name": "checkout"}))
    st = b.stack([b.location(["main"])])
    p = b.profile(sp, ("cpu", "nanoseconds"), time=G.BASE_TIME, duration=10_000_000_000)
    b.sample(p, stack=st, values=[5], attrs={"thread.name": "main"})
    b.sample(p, stack=9999, values=[7], attrs={"thread.name": "main"})
    with open(path, "wb") as f:
        f.write(b.to_bytes())


def main():
    if sys.argv[1] == "--invalid-reference":
        invalid_reference(sys.argv[2])
        return
    b = G.generate("typical", "v1.10", seed=3)
    sp = b.scope(b.resource({"service.name": "checkout", "service.instance.id": "i-1"}))
    locs = [b.location([name]) for name in ("wait", "handle", "main")]
    st = b.stack(locs)
    off = b.profile(sp, ("off_cpu", "nanoseconds"), time=G.BASE_TIME, duration=10_000_000_000)
    for th, v in (("worker-1", 7_000_000), ("worker-2", 3_500_000), ("main", 1_250_000)):
        b.sample(off, stack=st, values=[v],
                 attrs={"process.executable.name": "checkout-server", "thread.name": th})
    heap = b.profile(sp, ("inuse_space", "bytes"), time=G.BASE_TIME, duration=10_000_000_000)
    b.sample(heap, stack=st, values=[4096],
             attrs={"process.executable.name": "checkout-server", "thread.name": "main"})
    untimed = b.cpu_profile(sp)  # no time: the call's now
    b.sample(untimed, stack=st, values=[3],
             attrs={"process.executable.name": "java", "thread.name": "GC-1"})
    with open(sys.argv[1], "wb") as f:
        f.write(b.to_bytes())


if __name__ == "__main__":
    main()

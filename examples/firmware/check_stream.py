#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Checks of the nanopb stream test's decodes (used by tests/suite-firmware.sh).

  check_stream.py [--host-run HOST_OUT] OUT_DIR GEN_DIR NAME...

OUT_DIR holds, per case NAME, what stream_test wrote: NAME.bin (the bytes
p2m_convert_stream wrote through the nanopb adapter) and NAME.json (what
nanopb-generated code decoded from them, field by field, proto field
names). GEN_DIR holds the firmware example's inputs (gen_requests.py).

Prints one "PASS name" or "FAIL name: why" line per check:
  - NAME-nanopb-equals-protobuf: the nanopb decode, read into a Google
    protobuf ExportMetricsServiceRequest (json_format.ParseDict, which
    refuses unknown fields), equals Google protobuf's own decode of the
    same bytes: every resource, scope, metric, point, attribute and value;
  - NAME-nanopb-counts: the resource, metric and point counts of the
    nanopb decode, and that it has points at all;
  - for the firmware example's cases, NAME-nanopb-values: the nanopb decode
    holds the values check_output.py computes from the input request;
  - with --host-run (what the firmware's host build printed), for those
    cases, NAME-image-equals-compiled: the metrics of the firmware, whose
    engine was loaded from an image (p2m_engine_save on the host, then
    p2m_engine_load), are the bytes stream_test got from the engine that
    p2m_engine_compile built from the same configuration.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_output as co  # noqa: E402
from google.protobuf import json_format  # noqa: E402

check = co.check


def counts(m):
    res = len(m.resource_metrics)
    mets = sum(len(sm.metrics) for rm in m.resource_metrics for sm in rm.scope_metrics)
    pts = sum(len(getattr(x, x.WhichOneof("data")).data_points) if x.WhichOneof("data")
              in ("sum", "gauge") else 0
              for rm in m.resource_metrics for sm in rm.scope_metrics for x in sm.metrics)
    return res, mets, pts


def first_difference(a, b):
    la, lb = str(a).splitlines(), str(b).splitlines()
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            return "line %d: nanopb %r, protobuf %r" % (i + 1, x.strip(), y.strip())
    return "nanopb has %d lines of text format, protobuf %d" % (len(la), len(lb))


def main(argv):
    host = None
    if len(argv) > 2 and argv[1] == "--host-run":
        host, _ = co.parse_run(argv[2])
        argv = argv[:1] + argv[3:]
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    out, gen, names = argv[1], argv[2], argv[3:]
    inputs, symbols = co.load_inputs(gen)
    cases = {c[0]: c for c in co.CASES}
    Req = co.gp.module("metrics").ExportMetricsServiceRequest
    for name in names:
        try:
            with open(os.path.join(out, name + ".bin"), "rb") as f:
                data = f.read()
            with open(os.path.join(out, name + ".json")) as f:
                npb = json_format.ParseDict(json.load(f), Req())
        except Exception as ex:  # noqa: BLE001 - a missing or bad file is the finding
            check("%s-nanopb-equals-protobuf" % name, False, str(ex))
            continue
        ref = Req()
        ref.ParseFromString(data)
        check("%s-nanopb-equals-protobuf" % name, npb == ref, first_difference(npb, ref))
        cn, cr = counts(npb), counts(ref)
        check("%s-nanopb-counts" % name, cn == cr and cn[2] > 0,
              "nanopb (resources, metrics, points) %r, protobuf %r" % (cn, cr))
        if name in cases:
            _, fname, mode, fn, threads, kind, copy = cases[name]
            exp, _ = co.expected(inputs[fname], symbols if fn else None, mode or "self",
                                 threads, kind, copy)
            why = co.compare(name, npb, exp, fn)
            check("%s-nanopb-values" % name, why == "", why)
            if host is not None:
                h = bytes.fromhex(host.get(name, {}).get("hex", ""))
                check("%s-image-equals-compiled" % name, h == data,
                      "the firmware's host build wrote %d bytes, the compiled engine %d%s" % (
                          len(h), len(data), "" if len(h) != len(data) else " (they differ)"))
    return 1 if co.FAILED else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

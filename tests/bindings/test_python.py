# SPDX-License-Identifier: MIT
"""Tests of the Python binding (bindings/python), run by
tests/suite-bindings-python.sh with the interpreter of a virtual
environment the package was installed into offline, without environment
variables and without the repository on sys.path.

    python test_python.py CASES_DIR HEADER

CASES_DIR is what tests/bindings/cases.py wrote: inputs, configurations and
the bytes `build/p2m convert -f otlp` gave for them. One line per check,
`PASS name` or `FAIL name: why`; exit status 1 when anything failed.
"""
import json
import os
import pathlib
import random
import re
import subprocess
import sys
import threading
import time
import traceback

import profile2metrics as p2m

CASES = sys.argv[1]
HEADER = sys.argv[2]
failures = 0


def report(name, ok, why=""):
    global failures
    if ok:
        print("PASS " + name)
    else:
        failures += 1
        print("FAIL %s: %s" % (name, why))
    sys.stdout.flush()


def check(name):
    def deco(fn):
        try:
            why = fn()
            report(name, why is None, why or "")
        except Exception as e:  # noqa: BLE001
            report(name, False, "%s: %s" % (type(e).__name__, traceback.format_exc(limit=3)
                                            .strip().replace("\n", " | ")))
        return fn
    return deco


def read(name):
    with open(os.path.join(CASES, name), "rb") as f:
        return f.read()


def config(name):
    with open(os.path.join(CASES, name)) as f:
        return json.load(f)


M = json.loads(read("manifest.json"))
NOW = M["now"]


def diff(got, want):
    if got == want:
        return None
    n = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    return "output differs from p2m's (%d vs %d bytes, first difference at byte %d)" % (
        len(got), len(want), n)


# ---- installation ---------------------------------------------------------------

@check("py-import-without-env")
def _():
    if "PYTHONPATH" in os.environ or "LD_LIBRARY_PATH" in os.environ:
        return "the test must run without PYTHONPATH / LD_LIBRARY_PATH"
    where = os.path.dirname(p2m.__file__)
    if "site-packages" not in where:
        return "imported from %s, not from the installed package" % where
    with open(HEADER) as f:
        want = re.search(r'#define\s+P2M_VERSION_STRING\s+"([^"]*)"', f.read()).group(1)
    if p2m.version() != want:
        return "version() %r, header says %r" % (p2m.version(), want)


@check("py-typed-marker")
def _():
    d = os.path.dirname(p2m.__file__)
    if not os.path.isfile(os.path.join(d, "py.typed")):
        return "py.typed missing from %s" % d
    if not os.path.isfile(os.path.join(d, "_libp2m.so")):
        return "_libp2m.so missing from %s" % d


# ---- byte-identical to the CLI --------------------------------------------------

converters = {}


def conv_for(cfg_name):
    if cfg_name not in converters:
        converters[cfg_name] = p2m.Converter(config(cfg_name))
    return converters[cfg_name]


expected = {}
for case in M["cases"]:
    def run(case=case):
        got = conv_for(case["config"]).convert(read(case["input"]), now=NOW,
                                               resource_attributes=case.get(
                                                   "resource_attributes"))
        want = read(case["expect"])
        expected[case["name"]] = (case, want)
        return diff(got, want)
    check("py-identical-" + case["name"])(run)


for case in M.get("text_cases", []):
    def run(case=case):
        if case["format"] not in p2m.FORMATS:
            return "format %s missing from FORMATS %r" % (case["format"], p2m.FORMATS)
        kw = {}
        if case["promote"] is not None:
            kw["promote_resource_attributes"] = case["promote"]
        got = conv_for(case["config"]).convert(read(case["input"]), case["format"], now=NOW,
                                               **kw)
        if not isinstance(got, str):
            return "format %s gave %s, not str" % (case["format"], type(got).__name__)
        # bytes that are not UTF-8 come back as surrogate escapes
        return diff(got.encode("utf-8", "surrogateescape"), read(case["expect"]))
    check("py-identical-" + case["name"])(run)


@check("py-config-as-json-text-and-path")
def _():
    case = next(c for c in M["cases"] if c["name"] == "real-profile-rich")
    data, want = read(case["input"]), read(case["expect"])
    text = read(case["config"]).decode()
    for form, cfg in (("JSON str", text), ("JSON bytes", text.encode()),
                      ("pathlib.Path", pathlib.Path(CASES) / case["config"])):
        got = p2m.Converter(cfg).convert(data, now=NOW)
        if got != want:
            return "config as %s: %s" % (form, diff(got, want))
    # bytearray and memoryview inputs convert like bytes
    c = p2m.Converter(text)
    for form, d in (("bytearray", bytearray(data)), ("memoryview", memoryview(data))):
        if c.convert(d, now=NOW) != want:
            return "input as %s differs" % form


@check("py-resource-attribute-values")
def _():
    # typed values: each kind reaches the output (decoded here by hand: the
    # key and the value's bytes appear in the Resource), bad kinds are refused
    c = p2m.Converter()
    data = read("generated.otlp")
    out = c.convert(data, now=NOW, resource_attributes={
        "k.str": "v\u00e9", "k.bool": True, "k.int": -5, "k.float": 0.25, "k.bytes": b"\x00\x01"})
    for needle in (b"k.str", "v\u00e9".encode(), b"k.bool", b"k.int", b"k.float",
                   b"k.bytes", b"\x00\x01"):
        if needle not in out:
            return "%r not in the output" % needle
    for bad in ({"k": None}, {"k": [1]}, {1: "v"}, {"k": 1 << 64}):
        try:
            c.convert(data, now=NOW, resource_attributes=bad)
            return "%r accepted" % (bad,)
        except (TypeError, ValueError):
            pass


@check("py-stats")
def _():
    case = next(c for c in M["cases"] if c["name"] == "real-profile-default")
    c = p2m.Converter()
    out = c.convert(read(case["input"]), now=NOW)
    s = c.stats
    # the capture's README: 4 resources, 49 samples, wire layout v1.8
    if (s.bytes_out, s.bytes_in, s.resources, s.samples, s.layout) != (
            len(out), len(read(case["input"])), 4, 49, "v1.8"):
        return "stats %r" % (s,)


@check("py-cumulative-across-calls")
def _():
    cu = M["cumulative"]
    c = p2m.Converter(config(cu["config"]))
    if not c.cumulative:
        return "Converter.cumulative is False for temporality: cumulative"
    for inp, exp in zip(cu["inputs"], cu["expect"]):
        why = diff(c.convert(read(inp), now=NOW), read(exp))
        if why:
            return "%s after the earlier calls: %s" % (inp, why)
    c.reset()
    why = diff(c.convert(read(cu["inputs"][0]), now=NOW), read(cu["expect"][0]))
    if why:
        return "after reset(): " + why
    # the same as OTLP/JSON (the text of the running totals)
    c = p2m.Converter(config(cu["config"]))
    for inp, exp in zip(cu["inputs"], cu["expect_json"]):
        why = diff(c.convert(read(inp), "json", now=NOW).encode(), read(exp))
        if why:
            return "json, %s after the earlier calls: %s" % (inp, why)


@check("py-growth-from-needed")
def _():
    # outputs larger than the input: the first call's output buffer is too
    # small, and the converter grows it to the size the library names
    big = [c for c in M["cases"] if c["config"] == "bigout.json" and
           len(read(c["expect"])) > max(4096, len(read(c["input"])))]
    if len(big) < 2:
        return "fewer than 2 cases whose output outgrows the first buffer"
    for case in big:
        data, want = read(case["input"]), read(case["expect"])
        c = p2m.Converter(config(case["config"]))
        why = diff(c.convert(data, now=NOW), want)
        if why:
            return case["name"] + ": " + why
    # working memory sized by a small request, then a larger one: grown from
    # the P2M_ERR_MEMORY status's size
    c = p2m.Converter()
    for name in ("generated-default", "real-k8s-2-default"):
        case = next(x for x in M["cases"] if x["name"] == name)
        why = diff(c.convert(read(case["input"]), now=NOW), read(case["expect"]))
        if why:
            return "%s after a smaller request: %s" % (name, why)


# ---- errors ---------------------------------------------------------------------

for e in M["errors"]:
    def run(e=e):
        try:
            p2m.Converter().convert(read(e["input"]), now=NOW)
        except p2m.MalformedInputError as err:
            if not isinstance(err, p2m.P2MError):
                return "not a P2MError"
            got = (err.status, err.offset, err.message)
            want = (1, e["offset"], e["message"])
            if got != want:
                return "status, offset, message %r; p2m says %r" % (got, want)
            if "at byte %d" % e["offset"] not in str(err):
                return "str() does not give the offset: %s" % err
            return None
        return "no error"
    check("py-error-" + e["name"])(run)


def expect_error(cls, fn, status, field=None, message=None, offset=None):
    try:
        fn()
    except cls as err:
        if err.status != status:
            return "status %d, expected %d" % (err.status, status)
        if field is not None and err.field != field:
            return "field %r, expected %r" % (err.field, field)
        if message is not None and message not in err.message:
            return "message %r does not contain %r" % (err.message, message)
        if offset is not None and err.offset != offset:
            return "offset %d, expected %d" % (err.offset, offset)
        return None
    except Exception as err:  # noqa: BLE001
        return "raised %s: %s, expected %s" % (type(err).__name__, err, cls.__name__)
    return "no error, expected %s" % cls.__name__


@check("py-config-errors")
def _():
    C = p2m.Converter
    cases = [
        (lambda: C({"metrics": {"cpu": {"metirc_name": "x"}}}), "metrics.cpu.metirc_name",
         "unknown key", None),
        (lambda: C({"metrics": {"cpu": {"unit": "parsec"}}}), "metrics.cpu.unit", None, None),
        (lambda: C({"max_series": "7"}), "max_series", "expected an integer", None),
        (lambda: C({"strict": "yes"}), "strict", "true or false", None),
        (lambda: C({"attributes": [{"key": "k", "value": "v", "from": "x"}]}), "attributes[0].from",
         "not used by a literal", None),
        (lambda: C({"temporality": "sometimes"}), "temporality", "delta, cumulative", None),
        (lambda: C({"process_filter": {"enabled": True, "pattern": "(a"}}),
         "process_filter.pattern", None, None),
        (lambda: C('{"max_series": 3,}'), "", "JSON configuration", 17),
        (lambda: C('{"max_series": 1, "max_series": 2}'), "", "given twice", 18),
        (lambda: C({"layout": float("nan")}), None, "not JSON-like", None),
    ]
    for i, (fn, field, msg, off) in enumerate(cases):
        why = expect_error(p2m.ConfigError, fn, 3, field, msg, off)
        if why:
            return "case %d: %s" % (i, why)
    # the YAML loader is the CLI's: a .yaml path is refused with the reason
    why = expect_error(p2m.ConfigError, lambda: C(pathlib.Path(CASES) / "rich.yaml"), 3,
                       None, "YAML")
    if why:
        return "yaml path: " + why


# the stack settings (issue 22): every number of p2m --stats with
# frames.yaml, dropped_stack included, and the errors p2m validate names
for sc in M.get("stats_cases", []):
    def run(sc=sc):
        c = p2m.Converter(config(sc["config"]))
        c.convert(read(sc["input"]), now=NOW)
        bad = ["%s %r, p2m says %r" % (k, getattr(c.stats, k, "(no such field)"), v)
               for k, v in sc["stats"].items() if getattr(c.stats, k, None) != v]
        return "; ".join(bad) or None
    check("py-stats-" + sc["name"])(run)


for ce in M.get("config_errors", []):
    def run(ce=ce):
        return expect_error(p2m.ConfigError, lambda: p2m.Converter(ce["config"]), 3,
                            ce["field"], ce["message"])
    check("py-config-error-" + ce["name"])(run)


@check("py-format-and-limits")
def _():
    c = p2m.Converter()
    data = read("real-profile.otlp")
    if p2m.FORMATS != ("otlp", "json", "prom"):
        return "FORMATS %r: the library has the writers" % (p2m.FORMATS,)
    try:
        c.convert(data, "json", promote_resource_attributes=True)
        return "promote_resource_attributes with json: no error"
    except ValueError:
        pass
    try:
        c.convert(data, "yaml")
        return "format yaml: no error"
    except ValueError:
        pass
    why = expect_error(p2m.MemoryLimitError,
                       lambda: p2m.Converter(max_work=100).convert(data), 4, None,
                       "max_work=100")
    if why:
        return "max_work: " + why


# ---- hostile input never crashes the process -------------------------------------

FUZZ = r'''
import random, sys
import profile2metrics as p2m
seed, paths = int(sys.argv[1]), [a for a in sys.argv[2:] if a.endswith(".otlp")]
cfg_paths = [a for a in sys.argv[2:] if a.endswith(".json")]
rnd = random.Random(seed)
convs = [p2m.Converter(), p2m.Converter({"metrics": {"function": {"enabled": True}},
                                         "strict": True})]
ok = err = 0
def one(data):
    global ok, err
    for c, fmt in ((convs[0], "otlp"), (convs[1], "otlp"), (convs[0], "json"),
                   (convs[1], "prom")):
        try:
            out = c.convert(data, fmt, now=1)
            assert isinstance(out, bytes if fmt == "otlp" else str)
            ok += 1
        except p2m.P2MError:
            err += 1
for path in paths:
    data = open(path, "rb").read()
    step = max(1, len(data) // 400)
    for n in range(0, len(data), step):          # truncations
        one(data[:n])
    for _ in range(300):                          # byte flips
        b = bytearray(data)
        for _ in range(rnd.randint(1, 4)):
            b[rnd.randrange(len(b))] = rnd.randrange(256)
        one(bytes(b))
for _ in range(1000):                             # random bytes
    one(bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 300))))
# damaged configuration texts: compiled, or a ConfigError
cfg_ok = cfg_err = 0
for path in cfg_paths:
    text = open(path, "rb").read()
    for i in range(400):
        b = bytearray(text[:rnd.randint(0, len(text))] if i % 4 == 0 else text)
        for _ in range(rnd.randint(0, 3) if b else 0):
            b[rnd.randrange(len(b))] = rnd.choice(b'{}[]:,"\\0123456789 xtfn-.eE')
        try:
            p2m.Converter(bytes(b))
            cfg_ok += 1
        except p2m.ConfigError:
            cfg_err += 1
print(ok, err, cfg_ok, cfg_err)
'''


@check("py-malformed-never-crashes")
def _():
    paths = [os.path.join(CASES, n) for n in ("real-profile.otlp", "generated.otlp",
                                                 "real-k8s-1.otlp", "rich.json",
                                                 "collector.json", "filters.json")]
    p = subprocess.run([sys.executable, "-c", FUZZ, "7"] + paths, capture_output=True,
                       timeout=300)
    if p.returncode != 0:
        return "the process died (exit %d): %s" % (p.returncode, p.stderr.decode()[-400:])
    ok, err, cfg_ok, cfg_err = map(int, p.stdout.split())
    if err == 0 or ok == 0:
        return "expected both results and errors, got %d ok, %d errors" % (ok, err)
    if cfg_err == 0 or cfg_ok == 0:
        return "damaged configurations: expected both, got %d compiled, %d ConfigError" % (
            cfg_ok, cfg_err)


# ---- threads ----------------------------------------------------------------------

@check("py-threads-same-bytes")
def _():
    # one converter per configuration shared by 6 threads, each converting
    # every case 4 times in its own order; results must equal p2m's bytes
    jobs = [(c["config"], read(c["input"]), read(c["expect"]),
             {"resource_attributes": c.get("resource_attributes")}, "otlp")
            for c in M["cases"]]
    jobs += [(c["config"], read(c["input"]), read(c["expect"]).decode("utf-8",
                                                                    "surrogateescape"),
              {} if c["promote"] is None else {"promote_resource_attributes": c["promote"]},
              c["format"]) for c in M.get("text_cases", [])]
    shared = {c: p2m.Converter(config(c)) for c in set(j[0] for j in jobs)}
    bad = []

    def worker(seed):
        try:
            work(seed)
        except Exception as e:  # noqa: BLE001  (a thread's exception fails the check)
            bad.append("thread %d: %s: %s" % (seed, type(e).__name__, e))

    def work(seed):
        order = jobs * 4
        random.Random(seed).shuffle(order)
        for cfg, data, want, kw, fmt in order:
            conv = shared[cfg]
            got = conv.convert(data, fmt, now=NOW, **kw)
            if got != want:
                bad.append("%s %s: %d vs %d" % (cfg, fmt, len(got), len(want)))
            elif conv.stats.bytes_out != len(got.encode("utf-8", "surrogateescape")
                                             if isinstance(got, str) else got):
                bad.append("stats of another thread's call: bytes_out %d, output %d"
                           % (conv.stats.bytes_out, len(got)))
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if bad:
        return "%d mismatches, first: %s" % (len(bad), bad[0])


@check("py-threads-cumulative")
def _():
    # a cumulative converter is one state: calls take turns; the outputs of 24
    # calls on 4 threads are those of 24 calls in a row (the same input, so
    # the order of the threads does not matter)
    cu = M["cumulative"]
    data = read(cu["inputs"][0])
    seq = p2m.Converter(config(cu["config"]))
    want = sorted(seq.convert(data, now=NOW) for _ in range(24))
    shared = p2m.Converter(config(cu["config"]))
    got, lock = [], threading.Lock()

    def worker():
        for _ in range(6):
            out = shared.convert(data, now=NOW)
            with lock:
                got.append(out)
    ts = [threading.Thread(target=worker) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if sorted(got) != want:
        return "the outputs differ from 24 sequential calls"


@check("py-gil-released-during-convert")
def _():
    # A request that takes the C library a few tenths of a second: the
    # capture repeated (protobuf merges repeated top-level fields, so it
    # stays one valid request). The C call itself is timed by wrapping the
    # package's library handle; while it runs on one thread, this thread
    # keeps counting only if the call released the GIL.
    one = read("real-k8s-2.otlp")
    c = p2m.Converter()
    reps = 64
    while True:  # double the request until one call takes 0.1 s (at most 4096 copies)
        big = one * reps
        t0 = time.perf_counter()
        c.convert(big, now=NOW)  # also grows this thread's buffers
        if time.perf_counter() - t0 >= 0.1 or reps >= 4096:
            break
        reps *= 2
    lib, span = p2m._lib, {}

    class Timed:
        def __getattr__(self, name):
            return getattr(lib, name)

        def p2m_convert(self, *a):
            span["start"] = time.perf_counter()
            try:
                return lib.p2m_convert(*a)
            finally:
                span["end"] = time.perf_counter()
    ticks = []
    p2m._lib = Timed()
    try:
        t = threading.Thread(target=lambda: c.convert(big, now=NOW))
        t.start()
        while t.is_alive():
            ticks.append(time.perf_counter())
        t.join()
    finally:
        p2m._lib = lib
    a, b = span["start"], span["end"]
    lo, hi = a + (b - a) * 0.25, a + (b - a) * 0.75
    inside = sum(1 for x in ticks if lo <= x <= hi)
    if b - a < 0.02:
        return "the conversion took only %.1f ms: too short to tell" % ((b - a) * 1000)
    if inside < 100:
        return ("this thread ran %d times during the middle half of a %.0f ms p2m_convert "
                "on another thread: the GIL is not released" % (inside, (b - a) * 1000))


# ---- pprof input (cases/pprof: tests/bindings/pprof_ref.py, reference numbers
# from the profiles decoded by Google protobuf) ------------------------------

PPROF = os.path.join(CASES, "pprof")


def pprof_ref():
    with open(os.path.join(PPROF, "pprof.json")) as f:
        return json.load(f)


def pprof_read(name):
    with open(os.path.join(PPROF, name), "rb") as f:
        return f.read()


def metric_total(text, name):
    """Sum of the data points of metric name in an OTLP/JSON text, and their count."""
    pts = [p for rm in json.loads(text)["resourceMetrics"] for sm in rm["scopeMetrics"]
           for m in sm["metrics"] if m["name"] == name
           for p in m.get("sum", m.get("gauge", {})).get("dataPoints", [])]
    return sum(int(p["asInt"]) for p in pts), len(pts)


@check("py-pprof-totals")
def _():
    ref = pprof_ref()
    conv = p2m.Converter()
    for kind, metric in (("cpu", "cpu_time"), ("heap", "memory_allocation")):
        text = conv.convert(pprof_read(kind + ".pprof"), "json", input="pprof", now=1)
        total, n = metric_total(text, metric)
        if n == 0 or total != ref[kind]["total"]:
            return "%s: %s total %d in %d points, protobuf says %d" % (
                kind, metric, total, n, ref[kind]["total"])
        st = conv.stats
        if st.layout != "pprof" or st.samples_kept != ref[kind]["samples"]:
            return "%s: stats layout %r samples_kept %d, expected 'pprof' and %d" % (
                kind, st.layout, st.samples_kept, ref[kind]["samples"])
        # the protobuf output carries the same conversion (the same call but p2m_pprof_convert)
        pb = conv.convert(pprof_read(kind + ".pprof"), input="pprof", now=1)
        if not isinstance(pb, bytes) or conv.stats.bytes_out != len(pb) or len(pb) == 0:
            return "%s: otlp output %r bytes, stats.bytes_out %d" % (
                kind, len(pb), conv.stats.bytes_out)
    if conv.stats.profiles_unfed != len(ref["heap"]["unfed"]):
        return "heap: profiles_unfed %d, the profile has %d other sample types" % (
            conv.stats.profiles_unfed, len(ref["heap"]["unfed"]))


@check("py-pprof-gzip")
def _():
    conv = p2m.Converter()
    for kind in ("cpu", "heap"):
        plain = conv.convert(pprof_read(kind + ".pprof"), "json", input="pprof", now=1)
        gz = conv.convert(pprof_read(kind + ".pprof.gz"), "json", input="pprof", now=1)
        if gz != plain:
            return "%s: the gzip'd profile converts differently" % kind
    why = expect_error(p2m.MalformedInputError,
                       lambda: conv.convert(pprof_read("cpu.pprof.gz")[:20], input="pprof"),
                       1, message="does not inflate")
    if why:
        return "truncated gzip: " + why
    # OTLP input is never inflated: gzip bytes are malformed OTLP
    why = expect_error(p2m.MalformedInputError,
                       lambda: conv.convert(pprof_read("cpu.pprof.gz")), 1)
    return why and "gzip bytes as OTLP: " + why


@check("py-pprof-errors")
def _():
    ref = pprof_ref()
    conv = p2m.Converter()
    why = expect_error(p2m.MalformedInputError,
                       lambda: conv.convert(pprof_read("bad.pprof"), input="pprof"), 1,
                       offset=ref["bad_offset"])
    if why:
        return "bad.pprof: " + why
    why = expect_error(p2m.MalformedInputError,
                       lambda: conv.convert(pprof_read("bad.pprof"), "json", input="pprof"), 1,
                       offset=ref["bad_offset"])
    if why:
        return "bad.pprof as json: " + why
    # an OTLP request given as pprof: refused, the message says it was read as pprof
    why = expect_error(p2m.MalformedInputError,
                       lambda: conv.convert(read("real-profile.otlp"), input="pprof"), 1,
                       message="pprof")
    if why:
        return "OTLP bytes with input='pprof': " + why
    try:
        conv.convert(pprof_read("cpu.pprof"), input="jfr")
        return "input='jfr' accepted"
    except ValueError as e:
        if "otlp, pprof" not in str(e):
            return "input='jfr': %s" % e
    # the converter still converts OTLP as before
    conv.convert(read("real-profile.otlp"))
    if conv.stats.layout == "pprof":
        return "an OTLP call after pprof calls reports layout pprof"


sys.exit(1 if failures else 0)

#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Cases shared by the Python and JavaScript binding tests.

Writes into a directory (default build/bindings/cases):
  NAME.otlp            an input request
  CFG.yaml             a configuration as a person writes it for `p2m -c`
  CFG.json             the same configuration, written here by hand as the
                       dict a binding takes (not derived from the YAML text)
  NAME.CFG.expect.pb   `build/p2m convert -c CFG.yaml -f otlp --now NOW`
                       on NAME.otlp: the bytes each binding must reproduce
  NAME.resattr.expect.pb   the same with --resource-attr (case field
                       "resource_attributes")
  NAME.CFG.FMT.expect.txt  `p2m convert -f json` (its newline removed: the
                       bindings return the JSON text alone) and `-f prom`
                       (optionally --promote-resource-attrs): "text_cases"
  NAME.trunc.otlp      truncated inputs, with what p2m says about them
  NAME.frames.stats.json  `p2m convert --stats` with frames.yaml (the stack
                       settings): every number, dropped_stack included
  bad-NAME.yaml/.json  configurations p2m refuses, with the field and
                       message `p2m validate` names ("config_errors")
  pprof/               pprof inputs and reference numbers (pprof_ref.py)
  manifest.json        all of it: {"now", "cases": [...], "errors": [...],
                       "cumulative": {...}, "stats_cases": [...],
                       "config_errors": [...]}

The expected outputs come from the CLI, the independent path for the
bindings (a different program around the same header: YAML loader, its own
buffer handling); the generated request is built with Google protobuf
(tools/gen_profiles.py). Exit status 1 when the CLI fails on a case.
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import gen_profiles as G  # noqa: E402
import pprof_ref  # noqa: E402  (tests/bindings: pprof inputs and their reference numbers)

P2M = os.path.join(ROOT, "build", "p2m")
REAL = os.path.join(ROOT, "tests", "data", "real")
NOW = 1700000000000000000

# ---- configurations: YAML text and the equivalent dict, each by hand ---------

CONFIGS = {
    # the defaults: p2m without -c, a binding with an empty configuration
    "default": (None, {}),
    "rich": ("""\
metrics:
  cpu:      {enabled: true, metric_name: cpu_ms, unit: ms, description: "CPU time in ms"}
  memory:   {enabled: true, metric_name: mem_kib, unit: KiBy}
  function: {enabled: true, mode: inclusive, attribute_key: fn}
  extra:
    - {metric_name: off_cpu_time, unit: ms, sample_types: ["off_cpu/nanoseconds"]}
    - {metric_name: heap_in_use, sample_types: ["inuse_space/bytes"]}
    - {metric_name: contentions, unit: "{contentions}", sample_types: ["contentions/count"]}
attributes:
  - {key: service.name, type: literal, value: checkout}
  - {key: proc, type: attribute, from: process.executable.name}
  - {key: thread_word, type: regex, source: thread.name, value: "^([a-zA-Z]+)", default: other}
  - {key: first_string, type: string_table, index: 1}
  - {key: answer, value: 42}
max_series: 7
layout: auto
strict: false
type_rules:
  - {type: wall, unit: nanoseconds, metric: cpu, scale: 2}
""", {
        "metrics": {
            "cpu": {"enabled": True, "metric_name": "cpu_ms", "unit": "ms",
                    "description": "CPU time in ms"},
            "memory": {"enabled": True, "metric_name": "mem_kib", "unit": "KiBy"},
            "function": {"enabled": True, "mode": "inclusive", "attribute_key": "fn"},
            "extra": [
                {"metric_name": "off_cpu_time", "unit": "ms",
                 "sample_types": ["off_cpu/nanoseconds"]},
                {"metric_name": "heap_in_use", "sample_types": ["inuse_space/bytes"]},
                {"metric_name": "contentions", "unit": "{contentions}",
                 "sample_types": ["contentions/count"]},
            ],
        },
        "attributes": [
            {"key": "service.name", "type": "literal", "value": "checkout"},
            {"key": "proc", "type": "attribute", "from": "process.executable.name"},
            {"key": "thread_word", "type": "regex", "source": "thread.name",
             "value": "^([a-zA-Z]+)", "default": "other"},
            {"key": "first_string", "type": "string_table", "index": 1},
            {"key": "answer", "value": 42},
        ],
        "max_series": 7,
        "layout": "auto",
        "strict": False,
        "type_rules": [{"type": "wall", "unit": "nanoseconds", "metric": "cpu", "scale": 2}],
    }),
    "filters": ("""\
metrics:
  memory: {enabled: false}
attributes:
  - {key: thread, type: attribute, from: thread.name}
process_filter: {enabled: true, patterns: ["a", "e", "o"]}
thread_filter:  {enabled: true, pattern: "[a-z]"}
pattern_filter: {enabled: false, pattern: "x", keys: [host.name]}
process_key: process.executable.name
thread_key: thread.name
""", {
        "metrics": {"memory": {"enabled": False}},
        "attributes": [{"key": "thread", "type": "attribute", "from": "thread.name"}],
        "process_filter": {"enabled": True, "patterns": ["a", "e", "o"]},
        "thread_filter": {"enabled": True, "pattern": "[a-z]"},
        "pattern_filter": {"enabled": False, "pattern": "x", "keys": ["host.name"]},
        "process_key": "process.executable.name",
        "thread_key": "thread.name",
    }),
    # a whole Collector configuration; the binding takes the same document
    "collector": ("""\
receivers: {otlp: {protocols: {grpc: {}}}}
connectors:
  profiletometrics:
    metrics: {cpu: {unit: us}}
    attributes:
      - {key: svc, type: attribute, from: service.name, default: unknown}
      - {key: string_seven, type: string_table, value: "7"}
exporters: {debug: {}}
""", {
        "receivers": {"otlp": {"protocols": {"grpc": {}}}},
        "connectors": {"profiletometrics": {
            "metrics": {"cpu": {"unit": "us"}},
            "attributes": [
                {"key": "svc", "type": "attribute", "from": "service.name",
                 "default": "unknown"},
                {"key": "string_seven", "type": "string_table", "value": "7"},
            ],
        }},
        "exporters": {"debug": {}},
    }),
    # the stack settings: a frame rule of each kind, the stack filter and a
    # declared metric's stack_pattern
    "frames": ("""\
metrics:
  extra:
    - {metric_name: runtime_cpu_time, unit: ms, sample_types: ["samples/count"], stack_pattern: "^runtime\\\\."}
attributes:
  - {key: frame.type, type: frame, from: type}
  - {key: frame.kind, type: frame, from: kind, default: unknown}
  - {key: frame.library, type: frame, from: library}
  - {key: frame.function, type: frame, from: function}
  - {key: frame.syscall, type: frame, from: syscall, default: none}
  - {key: thread, type: attribute, from: thread.name}
stack_filter: {enabled: true, pattern: "^main$", patterns: ["^runtime\\\\.", "^leaf$"]}
""", {
        "metrics": {"extra": [{"metric_name": "runtime_cpu_time", "unit": "ms",
                               "sample_types": ["samples/count"],
                               "stack_pattern": "^runtime\\."}]},
        "attributes": [
            {"key": "frame.type", "type": "frame", "from": "type"},
            {"key": "frame.kind", "type": "frame", "from": "kind", "default": "unknown"},
            {"key": "frame.library", "type": "frame", "from": "library"},
            {"key": "frame.function", "type": "frame", "from": "function"},
            {"key": "frame.syscall", "type": "frame", "from": "syscall", "default": "none"},
            {"key": "thread", "type": "attribute", "from": "thread.name"},
        ],
        "stack_filter": {"enabled": True, "pattern": "^main$",
                         "patterns": ["^runtime\\.", "^leaf$"]},
    }),
    # a large literal value on every point: the output outgrows the input, so
    # the bindings must grow their output buffer from the size the library names
    "bigout": ("""\
attributes:
  - {key: padding, type: literal, value: "%s"}
  - {key: thread, type: attribute, from: thread.name}
""" % ("x" * 3000), {
        "attributes": [
            {"key": "padding", "type": "literal", "value": "x" * 3000},
            {"key": "thread", "type": "attribute", "from": "thread.name"},
        ],
    }),
}

# configurations p2m refuses (issue 22's keys): name, YAML, the same as a
# dict, and whether the JSON reader gives p2m's message word for word
CONFIG_ERRORS = [
    ("frame-bad-from", "attributes:\n  - {key: k, type: frame, from: runtime}\n",
     {"attributes": [{"key": "k", "type": "frame", "from": "runtime"}]}, False),
    ("frame-no-from", "attributes:\n  - {key: k, type: frame}\n",
     {"attributes": [{"key": "k", "type": "frame"}]}, True),
    ("stack-filter-keys", "stack_filter: {enabled: true, pattern: x, keys: [thread.name]}\n",
     {"stack_filter": {"enabled": True, "pattern": "x", "keys": ["thread.name"]}}, True),
    ("stack-filter-no-pattern", "stack_filter: {enabled: true}\n",
     {"stack_filter": {"enabled": True}}, True),
    ("stack-pattern-empty",
     "metrics:\n  extra:\n    - {metric_name: m, sample_types: [cpu/nanoseconds], "
     "stack_pattern: \"\"}\n",
     {"metrics": {"extra": [{"metric_name": "m", "sample_types": ["cpu/nanoseconds"],
                             "stack_pattern": ""}]}}, True),
]

CUMULATIVE = ("""\
temporality: cumulative
state_max_series: 100
""", {"temporality": "cumulative", "state_max_series": 100})


def generated_request():
    """A request of several resources and sample types, built with Google protobuf."""
    b = G.Builder("v1.10")
    t0, dur = G.BASE_TIME, 10_000_000_000
    st = b.stack([b.location(["leaf"]), b.location(["mid"]), b.location(["main"])])
    st2 = b.stack([b.location(["other"]), b.location(["main"])])
    for svc, proc in (("cart", "java"), ("checkout", "node"), ("search", "envoy")):
        rp = b.resource({"service.name": svc, "host.name": "node-1"})
        sp = b.scope(rp)
        cpu = b.cpu_profile(sp, time=t0, duration=dur)
        for i, thread in enumerate(("main", "worker-1", "gc", "worker-2")):
            b.sample(cpu, st if i % 2 else st2, values=[i + 1],
                     attrs={"process.executable.name": proc, "thread.name": thread})
        b.sample(cpu, st, timestamps=[t0 + 5, t0 + 6],
                 attrs={"process.executable.name": proc, "thread.name": "main"})
        mem = b.profile(sp, ("alloc_space", "bytes"), ("space", "bytes"), 524288,
                        time=t0, duration=dur)
        b.sample(mem, st, values=[4096], attrs={"process.executable.name": proc,
                                                "thread.name": "main"})
        off = b.profile(sp, ("off_cpu", "nanoseconds"), time=t0, duration=dur)
        b.sample(off, st2, values=[123456789], attrs={"process.executable.name": proc,
                                                       "thread.name": "io"})
        heap = b.profile(sp, ("inuse_space", "bytes"), time=t0, duration=dur)
        b.sample(heap, st, values=[1 << 20], attrs={"process.executable.name": proc})
        wall = b.profile(sp, ("wall", "nanoseconds"), time=t0, duration=dur)
        b.sample(wall, st, values=[1000], attrs={"process.executable.name": proc,
                                                 "thread.name": "main"})
    return b.to_bytes()


def bad_utf8_request():
    """A request whose thread name and service name are not UTF-8: built with
    Google protobuf around placeholders of the same length, which are then
    replaced in the bytes (protobuf's API takes only valid strings)."""
    b = G.Builder("v1.10")
    rp = b.resource({"service.name": "SVC\u00e9\u00e9"})  # 7 bytes in UTF-8
    sp = b.scope(rp)
    cpu = b.cpu_profile(sp, time=G.BASE_TIME, duration=10_000_000_000)
    st = b.stack([b.location(["main"])])
    b.sample(cpu, st, values=[3], attrs={"process.executable.name": "app",
                                         "thread.name": "QQQQ"})
    data = b.to_bytes()
    assert data.count(b"QQQQ") == 1 and data.count("SVC\u00e9\u00e9".encode()) == 1
    data = data.replace(b"QQQQ", b"w\xee\x80\xff")
    return data.replace("SVC\u00e9\u00e9".encode(), b"svc\xc3\x28\xa0\xa1")


def split_stream(data):
    """The requests of a 4-byte big-endian length-prefixed stream."""
    out, pos = [], 0
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        out.append(data[pos + 4:pos + 4 + n])
        pos += 4 + n
    return out


def is_utf8(data):
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def p2m(args, data_path):
    return subprocess.run([P2M, "convert", "--now", str(NOW)] + args + [data_path],
                          capture_output=True)


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else os.path.join(ROOT, "build", "bindings", "cases")
    os.makedirs(out_dir, exist_ok=True)
    G.ensure_modules()
    inputs = {}
    with open(os.path.join(REAL, "sig-profiling-profile.otlp"), "rb") as f:
        inputs["real-profile"] = f.read()
    with open(os.path.join(REAL, "sig-profiling-k8s.otlp"), "rb") as f:
        k8s = f.read()
    for i, msg in enumerate(split_stream(k8s)):
        inputs["real-k8s-%d" % (i + 1)] = msg
    inputs["generated"] = generated_request()
    inputs["badutf8"] = bad_utf8_request()
    for name, data in inputs.items():
        with open(os.path.join(out_dir, name + ".otlp"), "wb") as f:
            f.write(data)

    manifest = {"now": NOW, "cases": [], "errors": []}
    for cname, (yaml_text, cfg) in list(CONFIGS.items()) + [("cumulative", CUMULATIVE)]:
        with open(os.path.join(out_dir, cname + ".json"), "w") as f:
            json.dump(cfg, f)
        if yaml_text is not None:
            with open(os.path.join(out_dir, cname + ".yaml"), "w") as f:
                f.write(yaml_text)
    bad = 0
    for cname, (yaml_text, cfg) in CONFIGS.items():
        for name in inputs:
            args = ["-f", "otlp"]
            if yaml_text is not None:
                args = ["-c", os.path.join(out_dir, cname + ".yaml")] + args
            r = p2m(args, os.path.join(out_dir, name + ".otlp"))
            if r.returncode != 0:
                print("FAIL cases-%s-%s: p2m exit %d: %s" % (name, cname, r.returncode,
                                                             r.stderr.decode()[:300]))
                bad = 1
                continue
            exp = "%s.%s.expect.pb" % (name, cname)
            with open(os.path.join(out_dir, exp), "wb") as f:
                f.write(r.stdout)
            manifest["cases"].append({"name": "%s-%s" % (name, cname), "input": name + ".otlp",
                                      "config": cname + ".json", "expect": exp})

    # resource attributes given with the call, as p2m --resource-attr KEY=VALUE
    # (service.name replaces the generated request's own)
    attrs = {"service.name": "checkout", "deployment.environment.name": "prod"}
    attr_args = []
    for k, v in attrs.items():
        attr_args += ["--resource-attr", "%s=%s" % (k, v)]
    for name in inputs:
        r = p2m(["-c", os.path.join(out_dir, "rich.yaml"), "-f", "otlp", "-q"] + attr_args,
                os.path.join(out_dir, name + ".otlp"))
        if r.returncode != 0:
            print("FAIL cases-%s-resattr: p2m exit %d: %s" % (name, r.returncode,
                                                            r.stderr.decode()[:300]))
            bad = 1
            continue
        exp = "%s.resattr.expect.pb" % name
        with open(os.path.join(out_dir, exp), "wb") as f:
            f.write(r.stdout)
        manifest["cases"].append({"name": "%s-resattr" % name, "input": name + ".otlp",
                                  "config": "rich.json", "expect": exp,
                                  "resource_attributes": attrs})

    # text formats, when this p2m writes them through the library's writers
    manifest["text_cases"] = []
    promotes = [(None, []), (True, ["--promote-resource-attrs", "all"]),
                (["service.name", "host.name"],
                 ["--promote-resource-attrs", "service.name,host.name"])]
    for cname in ("default", "rich", "collector"):
        yaml_text = CONFIGS[cname][0]
        cfg_args = [] if yaml_text is None else ["-c", os.path.join(out_dir, cname + ".yaml")]
        for name in inputs:
            runs = [("json", None, [])] + [("prom", p, a) for p, a in promotes]
            for i, (fmt, promote, extra) in enumerate(runs):
                r = p2m(cfg_args + ["-f", fmt, "-q"] + extra,
                        os.path.join(out_dir, name + ".otlp"))
                if r.returncode != 0:
                    print("FAIL cases-%s-%s-%s: p2m exit %d: %s" % (
                        name, cname, fmt, r.returncode, r.stderr.decode()[:300]))
                    bad = 1
                    continue
                text = r.stdout
                if fmt == "json":
                    if not text.endswith(b"\n"):
                        print("FAIL cases-%s-%s-json: no newline after the JSON" % (name, cname))
                        bad = 1
                        continue
                    text = text[:-1]
                tag = fmt if i < 2 else "%s%d" % (fmt, i)
                exp = "%s.%s.%s.expect.txt" % (name, cname, tag)
                with open(os.path.join(out_dir, exp), "wb") as f:
                    f.write(text)
                manifest["text_cases"].append({
                    "name": "%s-%s-%s" % (name, cname, tag), "input": name + ".otlp",
                    "config": cname + ".json", "format": fmt, "promote": promote,
                    "expect": exp, "utf8": is_utf8(text)})

    # the statistics with the stack settings: p2m --stats' line, every number
    manifest["stats_cases"] = []
    for name in inputs:
        r = p2m(["-c", os.path.join(out_dir, "frames.yaml"), "--stats", "-q", "-o", os.devnull],
                os.path.join(out_dir, name + ".otlp"))
        if r.returncode != 0:
            print("FAIL cases-%s-frames-stats: p2m exit %d: %s" % (
                name, r.returncode, r.stderr.decode()[:300]))
            bad = 1
            continue
        manifest["stats_cases"].append({"name": "%s-frames" % name, "input": name + ".otlp",
                                        "config": "frames.json",
                                        "stats": json.loads(r.stderr.decode())})
    if not any(c["stats"]["dropped_stack"] for c in manifest["stats_cases"]):
        print("FAIL cases-frames-stats: the stack filter dropped no sample of any input")
        bad = 1

    # configurations p2m refuses: the field and message p2m validate names.
    # "same_message": False where the JSON reader words the message its own
    # way (the field is the same)
    manifest["config_errors"] = []
    for ename, yaml_text, cfg, same in CONFIG_ERRORS:
        with open(os.path.join(out_dir, "bad-%s.yaml" % ename), "w") as f:
            f.write(yaml_text)
        r = subprocess.run([P2M, "validate", os.path.join(out_dir, "bad-%s.yaml" % ename)],
                           capture_output=True)
        m = re.match(r"^p2m: config: (\S+): (.*) \(line \d+\)\n$", r.stderr.decode())
        if r.returncode != 2 or m is None:
            print("FAIL cases-bad-%s: p2m validate exit %d: %s" % (
                ename, r.returncode, r.stderr.decode()[:300]))
            bad = 1
            continue
        manifest["config_errors"].append({"name": ename, "config": cfg, "field": m.group(1),
                                          "message": m.group(2) if same else None})

    # cumulative: p2m keeps one state across the messages of a stream; a
    # binding keeps it across calls. Expected: the framed outputs, split.
    r = p2m(["-c", os.path.join(out_dir, "cumulative.yaml"), "-f", "otlp",
             "--input-format", "otlp-stream"], os.path.join(REAL, "sig-profiling-k8s.otlp"))
    if r.returncode != 0:
        print("FAIL cases-cumulative: p2m exit %d: %s" % (r.returncode, r.stderr.decode()[:300]))
        bad = 1
    else:
        outs = split_stream(r.stdout)
        names = []
        for i, o in enumerate(outs):
            names.append("cumulative.%d.expect.pb" % (i + 1))
            with open(os.path.join(out_dir, names[-1]), "wb") as f:
                f.write(o)
        manifest["cumulative"] = {"config": "cumulative.json",
                                  "inputs": ["real-k8s-1.otlp", "real-k8s-2.otlp"],
                                  "expect": names}
        # the same as OTLP/JSON: one line per message
        r = p2m(["-c", os.path.join(out_dir, "cumulative.yaml"), "-f", "json", "-q",
                 "--input-format", "otlp-stream"],
                os.path.join(REAL, "sig-profiling-k8s.otlp"))
        lines = r.stdout.split(b"\n")
        if r.returncode != 0 or len(lines) != 3 or lines[2] != b"":
            print("FAIL cases-cumulative-json: p2m exit %d, %d lines: %s" % (
                r.returncode, len(lines), r.stderr.decode()[:300]))
            bad = 1
        else:
            names = []
            for i, line in enumerate(lines[:2]):
                names.append("cumulative.%d.expect.json" % (i + 1))
                with open(os.path.join(out_dir, names[-1]), "wb") as f:
                    f.write(line)
            manifest["cumulative"]["expect_json"] = names

    # truncated and damaged inputs: what p2m reports (byte offset, message)
    prof = inputs["real-profile"]
    damaged = {
        "trunc-100": prof[:100],
        "trunc-half": prof[:len(prof) // 2],
        "trunc-minus1": prof[:-1],
        "gen-trunc-77": inputs["generated"][:77],
        "bad-wiretype": prof + b"\x0f",  # field 1 with wire type 7
    }
    for name, data in damaged.items():
        path = os.path.join(out_dir, name + ".otlp")
        with open(path, "wb") as f:
            f.write(data)
        r = p2m(["-f", "otlp"], path)
        m = re.search(r"malformed input at byte (\d+): ([^;\n]*)", r.stderr.decode())
        if r.returncode != 1 or m is None:
            print("FAIL cases-%s: p2m exit %d (expected 1 and 'malformed input at byte N'): %s"
                  % (name, r.returncode, r.stderr.decode()[:300]))
            bad = 1
            continue
        manifest["errors"].append({"name": name, "input": name + ".otlp",
                                   "offset": int(m.group(1)), "message": m.group(2)})
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    pprof_ref.main([argv[0], os.path.join(out_dir, "pprof")])
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""make firmware-size: what profile2metrics costs on a Cortex-M4.

Builds the probe program (examples/firmware/size_main.c) with and without
the library, for each variant (full; P2M_NO_REGEX when the header has that
switch; P2M_NO_ERRMSG; both; the feature switches; and, when the header has
p2m_engine_load, the runtime-only firmware: an engine image loaded with
p2m_engine_load and the output streamed with p2m_convert_stream, with
everything else on (runtime_full) or every switch (runtime_min)), and
reports:

  flash   (.text incl. .rodata, .ARM.exidx, .data initialisers) of the image
          with the library minus the image without it: what a firmware that
          calls p2m_engine_compile, p2m_work_size and p2m_convert pays,
          including the libc/libgcc routines the library pulls in;
  ram     (.data + .bss) difference: the library's own static memory (the
          caller's buffers are the caller's and are not counted);
  object  the header compiled alone (all API functions kept) with
          -ffunction-sections: the sum of its code and constant sections,
          without libc/libgcc;
  stack   the call-graph bound of the library's entry points
          (stack_bound.py over -fcallgraph-info=su and the image);

then the targets, the biggest functions (nm --size-sort) and the biggest
frames, and writes build/firmware-size.json. Numbers measured by the QEMU
run (working memory of the small request, measured stack) are taken from
the run's output when it is given (--run).
"""

import argparse
import bisect
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
HEADER = os.path.join(ROOT, "profile2metrics.h")

FLASH_SECTIONS = (".text", ".ARM.exidx", ".data")
RAM_SECTIONS = (".data", ".bss")
TARGETS = {"text_full": 16 * 1024, "text_no_regex": 10 * 1024, "stack_max": 2 * 1024,
           "work_small": 4 * 1024, "text_runtime_full": 16 * 1024,
           "text_runtime_min": 10 * 1024, "stack_runtime": 2 * 1024}
LIB_ROOTS = ("p2m_engine_compile", "p2m_work_size", "p2m_convert", "p2m_aggregate",
             "p2m_encode_otlp")
# The runtime-only probe (-DSIZE_RUNTIME): what it calls, and its callbacks.
RUNTIME_ROOTS = ("p2m_engine_load", "p2m_work_size", "p2m_convert_stream",
                 "p2m_encode_otlp_stream", "p2m_aggregate")
RUNTIME_SWITCHES = ["-DSIZE_RUNTIME", "-DP2M_NO_COMPILE"]
RUNTIME_MIN_SWITCHES = RUNTIME_SWITCHES + ["-DP2M_NO_REGEX", "-DP2M_NO_FUNCTION",
                                           "-DP2M_NO_CUMULATIVE", "-DP2M_MAX_EXTRA=0",
                                           "-DP2M_NO_ERRMSG"]


def stream_buffer(defs):
    """The P2M_STREAM_BUFFER a build uses: its -D, else the header's default."""
    for d in defs:
        if d.startswith("-DP2M_STREAM_BUFFER="):
            return int(d.split("=", 1)[1])
    with open(HEADER) as f:
        m = re.search(r'^#define P2M_STREAM_BUFFER (\d+)', f.read(), re.M)
    return int(m.group(1)) if m else None


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.stderr.write("$ %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
        raise SystemExit("size_report: command failed")
    return r.stdout


def sections(size_tool, path):
    """Section name -> size, from size -A."""
    out = {}
    for line in run([size_tool, "-A", path]).splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            out[parts[0]] = out.get(parts[0], 0) + int(parts[1])
    return out


def has_switch(name):
    with open(HEADER) as f:
        text = f.read()
    return re.search(r'#\s*if(?:n?def\s+|.*defined\s*\(?\s*)%s\b' % name, text) is not None


def header_sections():
    """(first line, name) of each top-level banner of profile2metrics.h."""
    out = []
    with open(HEADER) as f:
        for no, line in enumerate(f, 1):
            m = re.match(r'^/\* ---- (.+?) -{6,}', line)
            if m:
                out.append((no, m.group(1).strip()))
    return out


def code_by_section(objdump, nm, elf):
    """Bytes of code per header section, from the DWARF line table: every
    byte of a function counts for the source line the line table gives its
    address, so code inlined into p2m_aggregate is counted in the section
    that wrote it. Only bytes inside function symbols count (nm -S); the
    rest of .text is constant data (strings, tables), reported as
    "constants (.rodata)". Code outside the header (C library, libgcc, the
    probe) is "outside the header".

    The table is read with readelf's decoded view, not objdump -l or
    addr2line: --gc-sections leaves the line sequences of the functions it
    dropped in the table, relocated to address 0 on, where they overlap the
    real code at the image's low addresses (flash starts at 0 here) and
    binutils' lookup picks them. Those sequences start at address 0, which
    holds the vector table, never code, so they are skipped."""
    readelf = objdump[:-len("objdump")] + "readelf"
    secs = header_sections()
    starts = [n for n, _ in secs]

    def section_of(fname, line):
        if fname != "profile2metrics.h":
            return "outside the header"
        i = bisect.bisect_right(starts, line)
        return secs[i - 1][1] if i else "options"

    # [start, end) -> section, from the sequences of code that was kept
    spans, seq = [], []
    for line in run([readelf, "-W", "--debug-dump=decodedline", elf]).splitlines():
        p = line.split()
        if len(p) < 3 or not (p[1].isdigit() or p[1] == "-"):
            continue
        try:
            addr = int(p[2], 16)
        except ValueError:
            continue
        if p[1] == "-":  # end of a sequence
            if seq and seq[0][0] != 0:
                for (lo, sec), (hi, _) in zip(seq, seq[1:] + [(addr, None)]):
                    if hi > lo:
                        spans.append((lo, hi, sec))
            seq = []
        else:
            seq.append((addr, section_of(os.path.basename(p[0]), int(p[1]))))
    spans.sort()
    span_lo = [lo for lo, _, _ in spans]

    text_lo = text_size = 0
    for line in run([objdump[:-len("objdump")] + "size", "-A", elf]).splitlines():
        p = line.split()
        if len(p) == 3 and p[0] == ".text":
            text_size, text_lo = int(p[1]), int(p[2])
    funcs = set()
    for line in run([nm, "-S", elf]).splitlines():
        p = line.split()
        if len(p) == 4 and p[2] in "TtWw":
            lo = int(p[0], 16) & ~1
            if text_lo <= lo < text_lo + text_size:
                funcs.add((lo, lo + int(p[1], 16)))
    sizes = {}
    in_funcs, last_end = 0, 0
    for lo, hi in sorted(funcs):
        lo = max(lo, last_end)  # aliases and overlapping sizes count once
        if hi <= lo:
            continue
        last_end = hi
        in_funcs += hi - lo
        covered = 0
        i = max(bisect.bisect_right(span_lo, lo) - 1, 0)
        while i < len(spans) and spans[i][0] < hi:
            a, b = max(spans[i][0], lo), min(spans[i][1], hi)
            if b > a:
                sizes[spans[i][2]] = sizes.get(spans[i][2], 0) + b - a
                covered += b - a
            i += 1
        if covered < hi - lo:  # no line information: assembly (libgcc, libc)
            sizes["outside the header"] = sizes.get("outside the header", 0) + hi - lo - covered
    sizes["constants (.rodata)"] = text_size - in_funcs
    return sizes


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--cc", default="arm-none-eabi-gcc")
    ap.add_argument("--cflags", default="-std=c99 -Os -g -ffreestanding -mcpu=cortex-m4 -mthumb "
                    "-ffunction-sections -fdata-sections")
    ap.add_argument("--ldflags", default="-mcpu=cortex-m4 -mthumb --specs=nano.specs "
                    "-nostartfiles -Wl,--gc-sections")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "firmware", "size"))
    ap.add_argument("--json", default=os.path.join(ROOT, "build", "firmware-size.json"))
    ap.add_argument("--run", help="output of the QEMU run (make test-firmware)")
    ap.add_argument("--fw-stack", help="stack_bound JSON of the example firmware")
    a = ap.parse_args(argv)
    a.out, a.json = os.path.abspath(a.out), os.path.abspath(a.json)
    if a.run:
        a.run = os.path.abspath(a.run)
    if a.fw_stack:
        a.fw_stack = os.path.abspath(a.fw_stack)

    prefix = a.cc[:-3] if a.cc.endswith("gcc") else ""
    size_tool, nm_tool, objdump = prefix + "size", prefix + "nm", prefix + "objdump"
    cflags, ldflags = a.cflags.split(), a.ldflags.split()
    os.makedirs(a.out, exist_ok=True)
    fwdir = HERE
    inc = ["-I" + ROOT, "-I" + fwdir]

    regex = has_switch("P2M_NO_REGEX")
    variants = [("base", ["-DSIZE_NO_LIB"]), ("full", [])]
    if regex:
        variants.append(("no_regex", ["-DP2M_NO_REGEX"]))
    variants.append(("no_errmsg", ["-DP2M_NO_ERRMSG"]))
    if regex:
        variants.append(("no_regex_no_errmsg", ["-DP2M_NO_REGEX", "-DP2M_NO_ERRMSG"]))
    features = has_switch("P2M_NO_CUMULATIVE") and has_switch("P2M_NO_FUNCTION")
    if features:  # the feature switches: no cumulative state, no function metric
        variants.append(("no_cum_no_fn", ["-DP2M_NO_CUMULATIVE", "-DP2M_NO_FUNCTION"]))
        variants.append(("minimal", ["-DP2M_NO_REGEX", "-DP2M_NO_ERRMSG", "-DP2M_NO_CUMULATIVE",
                                     "-DP2M_NO_FUNCTION", "-DP2M_MAX_EXTRA=0"]))
    with open(HEADER) as f:  # the runtime probe needs p2m_engine_load and p2m_convert_stream
        runtime = re.search(r'\bp2m_engine_load\(', f.read()) is not None
    if runtime:  # the runtime-only firmware, against its own program without the library
        variants.append(("base_runtime", ["-DSIZE_NO_LIB", "-DSIZE_RUNTIME"]))
        variants.append(("runtime_full", RUNTIME_SWITCHES))
        # every switch the header has: P2M_NO_FLOAT too, where it exists
        variants.append(("runtime_min", RUNTIME_MIN_SWITCHES + (
            ["-DP2M_NO_FLOAT"] if has_switch("P2M_NO_FLOAT") else [])))

    target_o = os.path.join(a.out, "target.o")
    run([a.cc] + cflags + inc + ["-c", os.path.join(fwdir, "target.c"), "-o", target_o])
    res = {}
    for name, defs in variants:
        d = os.path.join(a.out, name)
        os.makedirs(d, exist_ok=True)
        obj, elf = os.path.join(d, "probe.o"), os.path.join(d, "probe.elf")
        run([a.cc] + cflags + defs + inc + ["-fstack-usage", "-fcallgraph-info=su",
                                            "-c", os.path.join(fwdir, "size_main.c"), "-o", obj],
            cwd=d)
        run([a.cc] + ldflags + ["-T", os.path.join(fwdir, "fw.ld"), "-o", elf, obj, target_o])
        sec = sections(size_tool, elf)
        res[name] = {"sections": sec,
                     "flash": sum(sec.get(s, 0) for s in FLASH_SECTIONS),
                     "ram": sum(sec.get(s, 0) for s in RAM_SECTIONS), "elf": elf, "dir": d}
        if not name.startswith("base"):
            # The header alone: every API function kept, no libc/libgcc.
            lib_c = os.path.join(d, "lib.c")
            with open(lib_c, "w") as f:
                f.write("/* SPDX-License-Identifier: MIT */\n#define P2M_NO_JSON\n#define P2M_NO_PROM\n#define P2M_IMPLEMENTATION\n"
                        "#include \"profile2metrics.h\"\n")
            lib_o = os.path.join(d, "lib.o")
            run([a.cc] + cflags + defs + inc + ["-c", lib_c, "-o", lib_o])
            osec = sections(size_tool, lib_o)
            res[name]["object"] = sum(v for k, v in osec.items()
                                      if k.startswith((".text", ".rodata", ".data")))
            res[name]["object_bss"] = sum(v for k, v in osec.items() if k.startswith(".bss"))
            sb_json = os.path.join(d, "stack.json")
            cmd = ["/usr/bin/python3", os.path.join(fwdir, "stack_bound.py"), "--elf", elf,
                   "--objdump", objdump, "--nm", nm_tool, "--indirect", "probe_symbolize",
                   "--json", sb_json]
            if name.startswith("runtime"):
                cmd += ["--indirect", "probe_stream"]
            for r in (RUNTIME_ROOTS if name.startswith("runtime") else LIB_ROOTS):
                cmd += ["--root", r]
            sb = subprocess.run(cmd + [os.path.join(d, "probe.ci")], capture_output=True,
                                text=True)
            with open(sb_json) as f:
                res[name]["stack"] = json.load(f)
            res[name]["stack_text"] = sb.stdout
            res[name]["stack_ok"] = sb.returncode == 0

    for name, v in res.items():
        if name.startswith("base"):
            continue
        base = res["base_runtime" if name.startswith("runtime") else "base"]
        v["flash_lib"] = v["flash"] - base["flash"]
        v["ram_lib"] = v["ram"] - base["ram"]

    full = res["full"]
    stack_max = full["stack"]["max"] if full["stack_ok"] else None
    report = {
        "text_full": full["flash_lib"],
        "text_no_regex": res["no_regex"]["flash_lib"] if regex else full["flash_lib"],
        "text_no_errmsg": res["no_errmsg"]["flash_lib"],
        "stack_max": stack_max,
        "regex_in_header": regex,
        "measure": "flash (.text+.rodata+.ARM.exidx+.data) of a Cortex-M4 image that calls "
                   "p2m_engine_compile, p2m_work_size and p2m_convert, minus the same image "
                   "without the library; -Os -mcpu=cortex-m4 -mthumb, newlib-nano, "
                   "--gc-sections; includes the libc/libgcc routines the library pulls in",
        "variants": {},
    }
    if features:
        report["text_no_cum_no_fn"] = res["no_cum_no_fn"]["flash_lib"]
        report["text_minimal"] = res["minimal"]["flash_lib"]
    if runtime:
        report["text_runtime_full"] = res["runtime_full"]["flash_lib"]
        report["text_runtime_min"] = res["runtime_min"]["flash_lib"]
        report["stream_buffer"] = stream_buffer(cflags + RUNTIME_SWITCHES)
        rs = [res[n]["stack"]["max"] if res[n]["stack_ok"] else None
              for n in ("runtime_full", "runtime_min")]
        report["stack_runtime"] = None if None in rs else max(rs)
        report["measure_runtime"] = (
            "the same for an image that calls p2m_engine_load, p2m_work_size and "
            "p2m_convert_stream (P2M_NO_COMPILE; a write callback, no output block), minus "
            "the same image without the library")
    if regex:
        report["text_no_regex_no_errmsg"] = res["no_regex_no_errmsg"]["flash_lib"]
    else:
        report["note"] = ("profile2metrics.h has no P2M_NO_REGEX switch yet (the regex "
                          "engine is not merged): text_no_regex is reported equal to "
                          "text_full, and text_full does not contain a regex engine")
    for name, v in res.items():
        if name.startswith("base"):
            report["variants"][name] = {"sections": v["sections"], "flash": v["flash"],
                                        "ram": v["ram"]}
            continue
        report["variants"][name] = {
            "sections": v["sections"], "flash_image": v["flash"], "flash_lib": v["flash_lib"],
            "ram_lib": v["ram_lib"], "object_text": v["object"], "object_bss": v["object_bss"],
            "stack_bound": v["stack"]["max"] if v["stack_ok"] else None,
            "stack_roots": {k: r["bound"] for k, r in v["stack"]["roots"].items()},
            "stack_problems": v["stack"]["problems"]}

    if a.run and os.path.exists(a.run):
        with open(a.run) as f:
            for line in f:
                m = re.match(r'^info (\S+) (.*)$', line.strip())
                if m:
                    kv = dict(x.split("=", 1) for x in m.group(2).split())
                    report.setdefault("measured", {})[m.group(1)] = {k: int(v) for k, v in kv.items()}
        sm = report.get("measured", {}).get("small")
        if sm:
            report["work_small"] = sm["work_used"]
            report["work_size_small"] = sm["work_size"]
            report["engine_small"] = sm["engine"]
        s8 = report.get("measured", {}).get("small-max8")
        if s8:
            report["work_small_max_series_8"] = s8["work_used"]
    if a.fw_stack and os.path.exists(a.fw_stack):
        with open(a.fw_stack) as f:
            fs = json.load(f)
        report["firmware_example_stack"] = {k: r["bound"] for k, r in fs["roots"].items()}

    # The biggest functions of the library image, and the biggest frames.
    by_addr = {}
    for line in run([nm_tool, "--size-sort", "-S", full["elf"]]).splitlines():
        p = line.split()
        if len(p) == 4 and p[2] in "TtWwRr":
            by_addr.setdefault(int(p[0], 16), (int(p[1], 16), []))[1].append(p[3])
    top = []
    for sz, names in sorted(by_addr.values(), reverse=True):
        # one entry per address: __adddf3 and __aeabi_dadd are one routine
        names.sort(key=lambda n: (n.startswith("__aeabi"), n))
        n = names[0]
        if n.startswith(("fw_", "probe_", "semihost", "Reset_", "Fault_")):
            continue
        top.append({"name": "/".join(names), "bytes": sz})
    # Group totals over the union of address ranges (__aeabi_dsub runs on
    # into __adddf3: nm gives overlapping sizes).
    groups = {"library": 0, "libgcc": 0, "libc": 0}
    covered = {"library": [], "libgcc": [], "libc": []}
    for addr, (sz, names) in sorted(by_addr.items()):
        n = sorted(names)[0]
        g = ("library" if n.startswith("p2m") else "libgcc" if n.startswith("__")
             else "libc" if n.startswith("mem") else None)
        if g is None:
            continue
        lo, hi = addr & ~1, (addr & ~1) + sz
        if covered[g] and lo < covered[g][-1]:
            lo = min(hi, covered[g][-1])
        groups[g] += hi - lo
        covered[g].append(max(hi, covered[g][-1] if covered[g] else hi))
    report["biggest_functions"] = top[:25]
    report["function_groups"] = groups
    frames = []
    su = os.path.join(full["dir"], "probe.su")
    with open(su) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) == 3:
                fname = p[0].rsplit(":", 1)[-1]
                if not fname.startswith(("fw_", "probe_")):
                    frames.append({"name": fname, "bytes": int(p[1]), "kind": p[2]})
    frames.sort(key=lambda e: -e["bytes"])
    report["biggest_frames"] = frames[:10]
    if full["stack_ok"]:
        report["stack_path"] = full["stack"]["roots"]["p2m_convert"]["path"]
        roots = full["stack"]["roots"]
        report["stack_by_entry"] = {k: roots[k]["bound"] for k in roots}
        worst = max(roots, key=lambda k: roots[k]["bound"])
        report["stack_max_entry"] = worst
        report["stack_max_path"] = roots[worst]["path"]

    for name in ("full", "no_regex", "runtime_full", "runtime_min"):
        if name in res:
            report["variants"][name]["code_by_section"] = dict(
                sorted(code_by_section(objdump, nm_tool, res[name]["elf"]).items(), key=lambda kv: -kv[1]))

    checks = {"text_full": report["text_full"], "text_no_regex": report["text_no_regex"],
              "stack_max": report["stack_max"], "work_small": report.get("work_small")}
    if runtime:
        for k in ("text_runtime_full", "text_runtime_min", "stack_runtime"):
            checks[k] = report[k]
    report["targets"] = {k: {"limit": TARGETS[k], "value": v,
                             "holds": (v is not None and v <= TARGETS[k])}
                         for k, v in checks.items()}
    if "work_small_max_series_8" in report:
        v = report["work_small_max_series_8"]
        report["targets"]["work_small_max_series_8"] = {
            "limit": TARGETS["work_small"], "value": v, "holds": v <= TARGETS["work_small"]}
    if "stack_by_entry" in report:
        v = report["stack_by_entry"].get("p2m_convert")
        report["targets"]["stack_convert"] = {
            "limit": TARGETS["stack_max"], "value": v, "holds": v is not None and v <= TARGETS["stack_max"]}

    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(report, f, indent=1)

    # ---- the printed report ----
    print("profile2metrics on Cortex-M4 (-Os -mthumb, newlib-nano): %s" % report["measure"])
    print()
    print("%-20s %8s %8s %8s %8s %8s" % ("variant", "flash", "ram", "object", "stack", "image"))
    for name, v in res.items():
        if name.startswith("base"):
            continue
        print("%-20s %8d %8d %8d %8s %8d" % (name, v["flash_lib"], v["ram_lib"], v["object"],
                                             v["stack"]["max"] if v["stack_ok"] else "-",
                                             v["flash"]))
    print("(flash/ram: library's share of the image; object: header alone, no libc/libgcc;")
    print(" stack: call-graph bound of the entry points; image: whole probe image)")
    print()
    for name, v in res.items():
        print("arm-none-eabi-size -A %s: %s" % (
            name, ", ".join("%s %d" % kv for kv in sorted(v["sections"].items())
                            if not kv[0].startswith((".debug", ".comment", ".ARM.attr")))))
    print()
    if not regex:
        print("NOTE: " + report["note"])
        print()
    if "stack_max_entry" in report:
        print("stack_max is the bound of %s: %s" % (report["stack_max_entry"],
                                                   " > ".join(report["stack_max_path"])))
    print(full["stack_text"].rstrip())
    for name in ("runtime_full", "runtime_min"):
        if name in res:
            print("%s (stream buffer %s B):" % (name, report.get("stream_buffer")))
            print(res[name]["stack_text"].rstrip())
    if "firmware_example_stack" in report:
        print("example firmware (fw.elf): %s" % ", ".join(
            "%s %d" % kv for kv in sorted(report["firmware_example_stack"].items())))
    if "measured" in report:
        for k, m in sorted(report["measured"].items()):
            print("measured on QEMU, %s: %s" % (k, ", ".join("%s %d" % kv for kv in sorted(m.items()))))
    print()
    print("targets:")
    for k, t in report["targets"].items():
        print("  %-24s %8s <= %6d  %s" % (k, t["value"], t["limit"],
                                           "holds" if t["holds"] else "DOES NOT HOLD"))
    print()
    print("biggest functions in the full image (nm --size-sort): library %d, libgcc %d, libc %d bytes"
          % (groups["library"], groups["libgcc"], groups["libc"]))
    for e in top[:25]:
        print("  %6d  %s" % (e["bytes"], e["name"]))
    for name in ("full", "no_regex", "runtime_full", "runtime_min"):
        if name in res:
            cbs = report["variants"][name]["code_by_section"]
            print("code by header section, %s (DWARF line table): %s" % (
                name, ", ".join("%s %d" % kv for kv in cbs.items())))
    print("biggest stack frames (-fstack-usage):")
    for e in frames[:10]:
        print("  %6d  %s (%s)" % (e["bytes"], e["name"], e["kind"]))
    print()
    print(json.dumps({k: report[k] for k in ("text_full", "text_no_regex", "stack_max",
                                             "text_runtime_full", "text_runtime_min",
                                             "stream_buffer") if k in report}))
    print("wrote %s" % os.path.relpath(a.json, ROOT))
    return 0 if all(v["stack_ok"] for n, v in res.items() if not n.startswith("base")) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

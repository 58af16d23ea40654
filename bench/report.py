#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""make bench, last step: issue 20's workload families and targets, and
p2m's instructions split by phase.

    bench/report.py --json build/bench.json --dir build/bench
        --header profile2metrics.h [--md build/bench/table.md]
        FAMILY=WORKLOAD,WORKLOAD,... ...

Reads the harness's JSON (bench/bench.c), and the callgrind files that
bench/instr.sh left in --dir (callgrind.NAME.SCENARIO and their .log). Adds
to the JSON, and writes it back:
  - to each "workload/scenario" entry of p2m's parse, e2e, function and
    pprof scenarios: "phases_instr_per_byte" (p2m's self cost by phase, per
    input byte), "phases_share" and "top_self" (the functions of largest self
    cost, instructions per byte);
  - "families": one entry per "family/scenario" (e2e, function, parse) with
    its members' sizes, series, instructions and time per byte and the
    peers' ratios (time and, where counted, instructions);
  - "targets": per family, issue 20's targets, each with the measured value,
    the limit and "met" (true/false).
Prints a targets table and a phase table, and appends both to --md. Never
fails because a target is not met: exit status 0 unless an input is missing
or unreadable (2)."""

import argparse
import json
import os
import re
import subprocess
import sys

# ---- phases: the header's sections, by their banner ----------------------
# A function's self cost goes to the phase of the section that defines it
# (the banners "/* ---- name ----" of profile2metrics.h; a banner is matched
# by its start). Functions the header does not define (libc's memset and
# memcpy) and the other sections (public entry points, errors, engine) go
# to "other". This table is the one place the mapping is written.
PHASES = (
    ("survey", ("one request: survey",)),
    ("dictionary", ("one request: dictionary index", "one request: working memory plan")),
    ("walk", ("one request: the sample walk", "one request: profiles and their classification",
              "one request: filters and regex rules", "regex", "byte sets", "emitting",
              "the Pike VM")),
    ("stacks", ("one request: function names", "one request: stack properties")),
    ("series", ("one request: series", "cumulative state")),
    ("encoder", ("OTLP metrics encoder", "encoding the result", "result view")),
    ("wire", ("wire reader", "nested values: structure check")),
    ("pprof", ("pprof input",)),
)
PHASE_NAMES = [p for p, _ in PHASES] + ["other"]
P2M_SCENARIOS = ("parse", "e2e", "function", "pprof")
FAMILY_SCENARIOS = ("e2e", "function", "parse")

# issue 20's targets: (key, scenario, label, op, limit)
TARGETS = (
    ("e2e_instr_per_byte", "e2e", "e2e instr/B", "<=", 3.0),
    ("e2e_vs_protobuf_c_instr", "e2e", "e2e x fewer instr than protobuf-c", ">=", 25.0),
    ("e2e_vs_cpp_arena_instr", "e2e", "e2e x fewer instr than C++ arena", ">=", 10.0),
    ("e2e_flat_instr", "e2e", "e2e instr/B max/min in family", "<=", 1.15),
    ("function_vs_cpp_arena_time", "function", "function x faster than C++ arena", ">=", 2.0),
    ("function_vs_protozero_time", "function", "function speed / protozero speed", ">=", 0.5),
    ("function_vs_protozero_instr", "function", "function instr/B / protozero's", "<=", 1.5),
    ("function_flat_instr", "function", "function instr/B max/min in family", "<=", 1.15),
)


def sections_of(header):
    """function name -> banner text of the section that defines it."""
    out = {}
    sec = ""
    with open(header, encoding="utf-8") as f:
        for ln in f:
            m = re.match(r"/\* ---- (.*?)(?: -{2,}.*)?$", ln)
            if m:
                sec = m.group(1).strip(" -*/")
                continue
            m = re.match(r"^(?:static |P2M_\w+ )[^;=()]*?\b(p2m_\w+)\(", ln)
            if m and not ln.rstrip().endswith(";"):
                out.setdefault(m.group(1), sec)
    return out


def phase_of(fn, sections):
    base = fn.split(".")[0]  # p2m__walk_profile.isra.0 -> p2m__walk_profile
    sec = sections.get(base)
    if sec is None:
        return "other"
    for phase, starts in PHASES:
        if any(sec.startswith(s) for s in starts):
            return phase
    return "other"


LINE = re.compile(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*?)(?: \[[^\]]*\])?$")


def self_costs(cg):
    """[(function, instructions)] of a callgrind file, self cost."""
    r = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", "--auto=no", cg],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = []
    for ln in r.stdout.splitlines():
        m = LINE.match(ln)
        if not m or "PROGRAM TOTALS" in ln:
            continue
        where = m.group(2)
        fn = where.rsplit(":", 1)[-1]
        out.append((fn, int(m.group(1).replace(",", ""))))
    return out


def log_fields(path):
    """The "bytes B samples S ... series N" line p2m_iter printed."""
    try:
        with open(path) as f:
            words = f.read().split()
    except OSError:
        return {}
    out = {}
    for k, v in zip(words[::2], words[1::2]):
        try:
            out[k] = int(v)
        except ValueError:
            pass
    return out


def fmt(v, nd=2):
    return "-" if v is None else ("%.*f" % (nd, v))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--header", required=True)
    ap.add_argument("--md")
    ap.add_argument("families", nargs="*", metavar="FAMILY=W1,W2,...")
    a = ap.parse_args(argv)
    try:
        with open(a.json) as f:
            d = json.load(f)
        sections = sections_of(a.header)
    except (OSError, ValueError) as e:
        print("report: %s" % e, file=sys.stderr)
        return 2
    families = []
    for spec in a.families:
        name, _, members = spec.partition("=")
        families.append((name, [m for m in members.split(",") if m]))

    # ---- phases of every p2m scenario that callgrind counted ----
    workloads = []
    for key in d:
        if "/" in key and key.split("/")[0] not in workloads:
            workloads.append(key.split("/")[0])
    for wl in workloads:
        for scen in P2M_SCENARIOS:
            e = d.get(wl + "/" + scen)
            cg = os.path.join(a.dir, "callgrind.%s.%s" % (wl, scen))
            if e is None or not os.path.exists(cg):
                continue
            lf = log_fields(cg + ".log")
            nbytes = lf.get("bytes") or e.get("bytes")
            if not nbytes:
                continue
            costs = self_costs(cg)
            total = sum(c for _, c in costs) or 1
            ph = dict((p, 0) for p in PHASE_NAMES)
            for fn, c in costs:
                ph[phase_of(fn, sections)] += c
            e["phases_instr_per_byte"] = dict((p, round(c / nbytes, 4)) for p, c in ph.items())
            e["phases_share"] = dict((p, round(c / total, 4)) for p, c in ph.items())
            e["top_self"] = [[fn, round(c / nbytes, 4), phase_of(fn, sections)]
                             for fn, c in sorted(costs, key=lambda x: -x[1])[:8]]
            if "series" in lf:  # of the counted run, summed over the requests
                e["p2m_series"] = lf["series"]
            if "out" in lf and scen != "parse":
                e["p2m_out_bytes"] = lf["out"]
                e["p2m_out_per_input_byte"] = round(lf["out"] / nbytes, 4)
    d["phase_map"] = dict(PHASES)

    # ---- families and targets ----
    fam_out = {}
    targets = {}

    def ent(wl, scen):
        return d.get(wl + "/" + scen, {})

    def num(v):
        return v if isinstance(v, (int, float)) else None

    for fam, members in families:
        for scen in FAMILY_SCENARIOS:
            rows = []
            for wl in members:
                e = ent(wl, scen)
                ipb = num(e.get("p2m_instr_per_byte"))
                row = {"workload": wl, "bytes": e.get("bytes"), "requests": e.get("requests"),
                       "samples": e.get("samples"),
                       "series": e.get("p2m_series"),
                       "series_unfiltered": ent(wl, "parse").get("p2m_series"),
                       "out_bytes": e.get("p2m_out_bytes"),
                       "p2m_instr_per_byte": ipb, "p2m_ns_per_byte": num(e.get("p2m_ns_per_byte")),
                       "p2m_mb_s": num(e.get("p2m_mb_s"))}
                for peer in ("protobuf_c", "nanopb", "cpp_arena", "protozero"):
                    tkey = "ratio_%s_decode" % peer if scen == "e2e" else "ratio_" + peer
                    row["time_ratio_" + peer] = num(e.get(tkey))
                    pi = num(ent(wl, "parse").get(peer + "_instr_per_byte"))
                    row["instr_ratio_" + peer] = (pi / ipb) if pi and ipb else None
                    row[peer + "_instr_per_byte"] = pi
                if scen in ("e2e", "function", "parse"):
                    row["phases_instr_per_byte"] = e.get("phases_instr_per_byte")
                rows.append(row)
            ipbs = [r["p2m_instr_per_byte"] for r in rows if r["p2m_instr_per_byte"]]
            nss = [r["p2m_ns_per_byte"] for r in rows if r["p2m_ns_per_byte"]]
            ok_all = len(ipbs) == len(rows) and rows
            fam_out["%s/%s" % (fam, scen)] = {
                "family": fam, "scenario": scen, "members": rows,
                "instr_per_byte_max_over_min": (max(ipbs) / min(ipbs)) if ok_all else None,
                "instr_per_byte_last_over_first": (ipbs[-1] / ipbs[0]) if ok_all else None,
                "ns_per_byte_max_over_min": (max(nss) / min(nss))
                if len(nss) == len(rows) and rows else None,
                "ns_per_byte_last_over_first": (nss[-1] / nss[0])
                if len(nss) == len(rows) and rows else None,
            }

        def worst(scen, field, op):
            vals = {}
            for r in fam_out["%s/%s" % (fam, scen)]["members"]:
                vals[r["workload"]] = r[field]
            known = [v for v in vals.values() if v is not None]
            if len(known) != len(vals) or not known:
                return None, vals
            return (max(known) if op == "<=" else min(known)), vals

        t = {}
        for key, scen, label, op, limit in TARGETS:
            if key.endswith("_flat_instr"):
                f = fam_out["%s/%s" % (fam, scen)]
                value = f["instr_per_byte_max_over_min"] if len(members) > 1 else None
                per = dict((r["workload"], r["p2m_instr_per_byte"]) for r in f["members"])
                extra = {"time_max_over_min": f["ns_per_byte_max_over_min"]}
            else:
                field = {"e2e_instr_per_byte": "p2m_instr_per_byte",
                         "e2e_vs_protobuf_c_instr": "instr_ratio_protobuf_c",
                         "e2e_vs_cpp_arena_instr": "instr_ratio_cpp_arena",
                         "function_vs_cpp_arena_time": "time_ratio_cpp_arena",
                         "function_vs_protozero_time": "time_ratio_protozero",
                         "function_vs_protozero_instr": "instr_ratio_protozero"}[key]
                value, per = worst(scen, field, op)
                if key == "function_vs_protozero_instr":  # p2m / walk, not walk / p2m
                    per = dict((w, (1 / v) if v else None) for w, v in per.items())
                    known = [v for v in per.values() if v is not None]
                    value = max(known) if known and len(known) == len(per) else None
                extra = {}
                if key.startswith("e2e_vs_"):
                    peer = key[len("e2e_vs_"):-len("_instr")]
                    _, tv = worst("e2e", "time_ratio_" + peer, ">=")
                    extra = {"time_ratio": tv}
            met = None if value is None else (value <= limit if op == "<=" else value >= limit)
            t[key] = dict({"label": label, "op": op, "limit": limit, "value": value,
                           "met": met, "per_member": per}, **extra)
        targets[fam] = t
    d["families"] = fam_out
    d["targets"] = targets
    with open(a.json + ".tmp", "w") as f:
        json.dump(d, f, indent=1, sort_keys=False)
        f.write("\n")
    os.replace(a.json + ".tmp", a.json)

    # ---- tables ----
    lines = []
    short = {"e2e_instr_per_byte": "e2e i/B<=3", "e2e_vs_protobuf_c_instr": "xPBC>=25",
             "e2e_vs_cpp_arena_instr": "xC++>=10", "e2e_flat_instr": "flat<=1.15",
             "function_vs_cpp_arena_time": "fn xC++>=2", "function_vs_protozero_time": "fn/pz>=.5",
             "function_vs_protozero_instr": "fn i/pz<=1.5", "function_flat_instr": "fn flat"}
    lines.append("Issue 20 targets, the worst member of each family (instructions by callgrind, "
                 "time by the rounds above; - = not measurable, e.g. flatness of one member):")
    lines.append("| family | " + " | ".join(short[k] for k, *_ in TARGETS) + " |")
    lines.append("|---|" + "---:|" * len(TARGETS))
    for fam, _ in families:
        cells = []
        for key, *_ in TARGETS:
            x = targets[fam][key]
            nd = 3 if x["limit"] < 2 else 2  # 1.154 is not met against 1.15
            cells.append("-" if x["value"] is None else
                         "%s %s" % (fmt(x["value"], nd), "met" if x["met"] else "NOT met"))
        lines.append("| %s | %s |" % (fam, " | ".join(cells)))
    lines.append("")
    for scen in ("e2e", "function"):
        lines.append("p2m %s: instructions per input byte by phase (self cost, callgrind):" % scen)
        shown = [p for p in PHASE_NAMES if p != "pprof"]  # no pprof workload in a family
        lines.append("| workload | series | out B / in B | " + " | ".join(shown) + " | total |")
        lines.append("|---|---:|---:|" + "---:|" * (len(shown) + 1))
        seen = []
        for fam, members in families:
            for wl in members:
                if wl in seen:
                    continue
                seen.append(wl)
                e = ent(wl, scen)
                ph = e.get("phases_instr_per_byte")
                if not ph:
                    continue
                lines.append("| %s | %s | %s | %s | %s |" % (
                    wl, e.get("p2m_series", "-"), fmt(e.get("p2m_out_per_input_byte")),
                    " | ".join(fmt(ph[p]) for p in shown), fmt(sum(ph.values()))))
        lines.append("")
    lines.append("Largest self cost (instructions per input byte, phase), each family's last "
                 "member:")
    lines.append("| workload | scenario | functions |")
    lines.append("|---|---|---|")
    for fam, members in families:
        for scen in ("e2e", "function"):
            top = ent(members[-1], scen).get("top_self") or []
            lines.append("| %s | %s | %s |" % (members[-1], scen, ", ".join(
                "`%s` %.2f (%s)" % (fn.split(".")[0], v, ph) for fn, v, ph in top[:4])))
    lines.append("")
    text = "\n".join(lines)
    print("\n" + text)
    if a.md:
        with open(a.md, "a") as f:
            f.write("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

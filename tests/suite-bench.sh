#!/bin/sh
# SPDX-License-Identifier: MIT
# Smoke check of `make bench` (the benchmark itself is not a test): builds
# the bench binaries and runs one very short round on the small workload, so
# a broken bench is noticed. Also a real check: the totals that protobuf-c,
# nanopb and Google protobuf (each decoding the request on its own, feeding
# bench/agg.c) compute must equal p2m's cpu and memory totals and series
# counts, and p2m must not allocate. The frame scenario (frame rules for the
# leaf's type and kind) must run without allocating, and its cpu and memory
# totals must equal the peers' unfiltered aggregation. The pprof scenario
# (p2m_pprof_convert on the generated Go heap profile) must run without
# allocating, beside the protozero walk of the pprof schema, and its memory
# total must equal the alloc_space column's sum decoded by protozero. The
# small workload's instructions are counted by callgrind (p2m's scenarios and
# the peers' decodes), and bench/report.py's split by phase must add up to
# callgrind's total. The generator's workload families (request, shared,
# hicard, --scale, --threads, --stream) are decoded by Google protobuf
# (tests/bench_gen_check.py) and must hold the counts docs/performance.md
# gives. Speed is not asserted.
set -u
cd "$(dirname "$0")/.." || exit 2
fails=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; fails=$((fails + 1)); }

for t in protoc protoc-c nanopb_generator.py c++ /usr/bin/python3; do
    if ! command -v "$t" >/dev/null 2>&1; then
        fail "bench-tools" "$t missing (make deps)"
    fi
done
[ "$fails" -eq 0 ] && pass "bench-tools"

log=build/bench-smoke.log
mkdir -p build
if make -j2 bench-smoke > "$log" 2>&1; then
    pass "bench-smoke-runs"
else
    fail "bench-smoke-runs" "make bench-smoke failed; last lines: $(tail -n 5 "$log" | tr '\n' ' ')"
    exit 1
fi

/usr/bin/python3 - build/bench/smoke.json <<'EOF'
import json, sys
ok = True
def check(name, cond, why):
    global ok
    if cond:
        print("PASS " + name)
    else:
        ok = False
        print("FAIL %s: %s" % (name, why))
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:  # noqa: BLE001
    print("FAIL bench-json: %s" % e)
    sys.exit(1)
check("bench-json-entries", all("small/" + s in d for s in ("parse", "e2e", "function", "frame")),
      "entries: %s" % sorted(d))
for s in ("parse", "e2e"):
    e = d.get("small/" + s, {})
    check("bench-%s-p2m" % s, isinstance(e.get("p2m_mb_s"), (int, float)) and e["p2m_mb_s"] > 0,
          "p2m_mb_s = %r (%s)" % (e.get("p2m_mb_s"), e.get("note")))
    check("bench-%s-no-heap" % s, e.get("p2m_heap_allocs") == 0 and e.get("p2m_runs", 0) > 0,
          "heap allocations %r in %r runs" % (e.get("p2m_heap_allocs"), e.get("p2m_runs")))
    for peer in ("protobuf_c", "nanopb", "cpp_arena"):
        check("bench-%s-%s" % (s, peer), isinstance(e.get(peer + "_mb_s"), (int, float)),
              "%s did not run: %s" % (peer, e.get(peer + "_error")))
check("bench-parse-protozero", isinstance(d.get("small/parse", {}).get("protozero_mb_s"), (int, float)),
      "protozero walk did not run: %s" % d.get("small/parse", {}).get("protozero_error"))
e = d.get("small/e2e", {})
check("bench-peers-agree", e.get("check") == "ok", "peer totals differ from p2m: %s" % e.get("check"))
f = d.get("small/function", {})
check("bench-function", (isinstance(f.get("p2m_mb_s"), (int, float)) and f.get("p2m_heap_allocs") == 0)
      or "not yet supported" in f.get("note", ""), "function scenario: %r" % f.get("note"))
g = d.get("small/frame", {})
check("bench-frame", isinstance(g.get("p2m_mb_s"), (int, float)) and g.get("p2m_heap_allocs") == 0
      and g.get("p2m_runs", 0) > 0,
      "frame scenario (default rules + frame type and kind): %r" % g.get("note"))
check("bench-frame-peers-agree", g.get("check") == "ok",
      "frame scenario's cpu/memory totals differ from the peers' unfiltered ones: %s" % g.get("check"))
p = d.get("go-heap/pprof", {})
check("bench-pprof-p2m", isinstance(p.get("p2m_mb_s"), (int, float)) and p["p2m_mb_s"] > 0,
      "p2m_mb_s = %r (%s)" % (p.get("p2m_mb_s"), p.get("note")))
check("bench-pprof-no-heap", p.get("p2m_heap_allocs") == 0 and p.get("p2m_runs", 0) > 0,
      "heap allocations %r in %r runs" % (p.get("p2m_heap_allocs"), p.get("p2m_runs")))
check("bench-pprof-protozero", isinstance(p.get("protozero_mb_s"), (int, float)),
      "protozero pprof walk did not run: %s" % p.get("protozero_error"))
check("bench-pprof-totals", p.get("check") == "ok",
      "p2m's cpu/memory totals differ from protozero's column sums: %s" % p.get("check"))
check("bench-pprof-only", not any(k.startswith("go-heap/") and k.count("/") == 1
                                  and k != "go-heap/pprof" for k in d)
      and "small/pprof" not in d, "scenarios on the wrong workloads: %s" % sorted(d))
for s in ("parse", "e2e", "function"):
    e = d.get("small/" + s, {})
    ipb, ph = e.get("p2m_instr_per_byte"), e.get("phases_instr_per_byte") or {}
    check("bench-phases-%s" % s, isinstance(ipb, (int, float)) and ph
          and abs(sum(ph.values()) - ipb) <= 0.01 * ipb and ph.get("walk", 0) > 0
          and ph.get("dictionary", 0) > 0,
          "phases %r do not add up to callgrind's %r instructions per byte" % (ph, ipb))
pe = d.get("small/parse", {})
check("bench-peer-instr", all(isinstance(pe.get(p + "_instr_per_byte"), (int, float))
                              and pe[p + "_instr_per_byte"] > 0
                              for p in ("protobuf_c", "cpp_arena", "protozero")),
      "peers' instructions not counted: %r" % {k: v for k, v in pe.items() if "instr" in k})
t = d.get("targets", {}).get("smoke", {})
check("bench-targets", len(t) == 8 and t.get("e2e_instr_per_byte", {}).get("value")
      == d.get("small/e2e", {}).get("p2m_instr_per_byte")
      and all(x.get("met") in (True, False, None) for x in t.values())
      and t.get("e2e_flat_instr", {}).get("met") is None,
      "targets of family smoke=small: %r" % t)
f = d.get("families", {}).get("smoke/e2e", {})
check("bench-family-entry", [m.get("workload") for m in f.get("members", [])] == ["small"]
      and isinstance(f["members"][0].get("instr_ratio_protobuf_c"), (int, float)),
      "family entry smoke/e2e: %r" % f)
sys.exit(0 if ok else 1)
EOF
[ $? -eq 0 ] || fails=$((fails + 1))

/usr/bin/python3 tests/bench_gen_check.py build/bench/gen-check || fails=$((fails + 1))
[ "$fails" -eq 0 ]

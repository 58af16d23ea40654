#!/bin/sh
# SPDX-License-Identifier: MIT
# Instructions per input byte of each p2m scenario, counted by callgrind,
# and of the peers counted the same way: the protozero full walk (scenario
# "protozero": the function scenario's peer) and, on OTLP workloads, the
# protobuf-c and Google protobuf C++ (arena) decodes ("protobuf_c",
# "cpp_arena": the e2e targets' peers; glibc's malloc and free, which
# callgrind does not replace, are counted with them).
# bench/report.py reads the callgrind files left in OUTDIR
# (callgrind.NAME.SCENARIO) for the split of p2m's instructions by phase.
# p2m_iter switches instrumentation and collection on around the conversion
# only (client requests; run with --instr-atstart=no --collect-atstart=no),
# so loading the file, compiling the engine and sizing the buffers are not
# counted. (Checked against the difference of a 3-conversion and a
# 1-conversion run, halved: typical e2e 13.08 M vs 13.11 M, within 0.2 %.)
#   bench/instr.sh P2M_ITER OUTDIR NAME=PATH[:stream][:v1.8|:pprof] ...
# A pprof workload (PATH:pprof) runs the pprof scenario and the protozero
# walk of the pprof schema; the others parse, e2e, function, frame, the
# protozero walk of the OTLP schema and the two decoders.
# Writes OUTDIR/instr.txt ("workload scenario instr_per_byte" lines) and, for
# the typical workload, callgrind_annotate listings OUTDIR/annotate-*.txt.
# Two valgrind runs at a time (the machine has two cores).
set -u
iter=$1
out=$2
mkdir -p "$out" || exit 1
shift 2
command -v valgrind >/dev/null 2>&1 || { echo "instr.sh: valgrind missing (make deps)" >&2; exit 1; }
rm -f "$out"/instr.*.row
one() { # name scenario path
    cg=$out/callgrind.$1.$2
    valgrind --tool=callgrind --instr-atstart=no --collect-atstart=no --callgrind-out-file="$cg" \
        "$iter" "$2" 1 "$3" > "$cg.log" 2> "$cg.err"
    rc=$?
    if [ "$rc" -eq 3 ]; then
        echo "instr: $1 $2: $(cat "$cg.log")"
        return
    elif [ "$rc" -ne 0 ]; then
        echo "instr: $1 $2: p2m_iter failed ($rc): $(tail -n 3 "$cg.err")" >&2
        return
    fi
    ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$cg" | head -n 1)
    bytes=$(sed -n 's/^bytes \([0-9]*\).*/\1/p' "$cg.log")
    allocs=$(sed -n 's/.* allocs \([0-9]*\).*/\1/p' "$cg.log")
    ipb=$(awk -v a="$ir" -v n="$bytes" 'BEGIN { printf "%.3f", a / n }')
    echo "$1 $2 $ipb" > "$out/instr.$1.$2.row"
    echo "instr: $1 $2: $ipb instructions/byte ($ir for $bytes bytes; heap allocations: $allocs)"
    if [ "$1" = typical ]; then
        callgrind_annotate --inclusive=no "$cg" > "$out/annotate-$1-$2.txt" 2>/dev/null
        callgrind_annotate --inclusive=yes "$cg" > "$out/annotate-$1-$2-inclusive.txt" 2>/dev/null
    fi
}
scenarios() { # spec
    case $1 in
    *:pprof) echo pprof protozero ;;
    *) echo parse e2e function frame protozero protobuf_c cpp_arena ;;
    esac
}
running=0
for spec in "$@"; do
    name=${spec%%=*}
    path=${spec#*=}
    for scen in $(scenarios "$spec"); do
        one "$name" "$scen" "$path" &
        running=$((running + 1))
        if [ "$running" -ge 2 ]; then
            wait
            running=0
        fi
    done
done
wait
: > "$out/instr.txt"
for spec in "$@"; do
    name=${spec%%=*}
    for scen in $(scenarios "$spec"); do
        [ -f "$out/instr.$name.$scen.row" ] && cat "$out/instr.$name.$scen.row" >> "$out/instr.txt"
    done
done
rm -f "$out"/instr.*.row
exit 0

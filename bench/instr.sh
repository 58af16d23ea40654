#!/bin/sh
# SPDX-License-Identifier: MIT
# Instructions per input byte of each p2m scenario, counted by callgrind:
# (Ir of 3 conversions - Ir of 1 conversion) / 2 / bytes, so that loading
# the file, compiling the engine and sizing the buffers cancel out.
#   bench/instr.sh P2M_ITER OUTDIR NAME=PATH[:stream][:v1.8] ...
# Writes OUTDIR/instr.txt ("workload scenario instr_per_byte" lines) and, for
# the typical workload, callgrind_annotate listings OUTDIR/annotate-*.txt.
set -u
iter=$1
out=$2
shift 2
command -v valgrind >/dev/null 2>&1 || { echo "instr.sh: valgrind missing (make deps)" >&2; exit 1; }
: > "$out/instr.txt"
# Ir total of one callgrind run; the program's own line goes to $log.
ir() { # scenario iterations path outfile log
    valgrind --tool=callgrind --callgrind-out-file="$4" "$iter" "$1" "$2" "$3" > "$5" 2>/dev/null
    rc=$?
    if [ "$rc" -ne 0 ]; then echo "rc$rc"; return; fi
    sed -n 's/^summary: *\([0-9]*\).*/\1/p;s/^totals: *\([0-9]*\).*/\1/p' "$4" | head -n 1
}
for spec in "$@"; do
    name=${spec%%=*}
    path=${spec#*=}
    path=${path%:v1.8}
    for scen in parse e2e function; do
        cg1=$out/callgrind.$name.$scen.1
        cg3=$out/callgrind.$name.$scen.3
        a=$(ir "$scen" 1 "$path" "$cg1" "$cg1.log")
        case $a in rc3) echo "instr: $name $scen: not yet supported: $(cat "$cg1.log")"; continue ;; rc*) echo "instr: $name $scen: failed ($a)" >&2; continue ;; esac
        b=$(ir "$scen" 3 "$path" "$cg3" "$cg3.log")
        case $b in rc*) echo "instr: $name $scen: failed ($b)" >&2; continue ;; esac
        bytes=$(sed -n 's/^bytes \([0-9]*\).*/\1/p' "$cg3.log")
        allocs=$(sed -n 's/.* allocs \([0-9]*\).*/\1/p' "$cg3.log")
        ipb=$(awk -v a="$a" -v b="$b" -v n="$bytes" 'BEGIN { printf "%.3f", (b - a) / 2 / n }')
        echo "$name $scen $ipb" >> "$out/instr.txt"
        echo "instr: $name $scen: $ipb instructions/byte ($(( (b - a) / 2 )) per conversion of $bytes bytes; heap allocations in 3 conversions: $allocs)"
        if [ "$name" = typical ]; then
            callgrind_annotate --inclusive=no "$cg3" > "$out/annotate-$name-$scen.txt" 2>/dev/null
            callgrind_annotate --inclusive=yes "$cg3" > "$out/annotate-$name-$scen-inclusive.txt" 2>/dev/null
        fi
        rm -f "$cg1"
    done
done

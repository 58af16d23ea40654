#!/bin/sh
# SPDX-License-Identifier: MIT
# The text writers of profile2metrics.h (p2m_write_json, p2m_write_prom,
# p2m_write_value_text):
#   - a TU with the header's implementation and the writers compiles clean
#     (the Makefile's WARN, -Werror) as C99 and as C++ under gcc and clang,
#     and with P2M_NO_JSON, P2M_NO_PROM, both, P2M_NO_ERRMSG; with
#     P2M_FORMAT_DOUBLE given, the writers use no snprintf / strtod
#   - tests/c/test_writers.c calls them directly (contracts of scratch and
#     output sizes, no heap) on a request it builds and on generated ones;
#     its texts must equal `p2m convert -f json` / `-f prom` of the same
#     input byte for byte, the JSON is checked by Google protobuf's
#     json_format against the protobuf decode of `-f otlp`
#     (tests/formats_check.py json), the Prometheus text by promtool and by
#     tests/formats_check.py prom, and the merged-resource count by p2m's note.
# Scratch files in build/writers.
cd "$(dirname "$0")/.." || exit 2
PY=/usr/bin/python3
P2M=${P2M:-build/p2m}
T=build/writers
NOW=1795305600000000000
WARN="-Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Wcast-qual -Wundef"
failed=0

pass() { printf "PASS %s\n" "$1"; }
fail() { printf "FAIL %s: %s\n" "$1" "$2"; failed=1; }

mkdir -p "$T"
[ -x "$P2M" ] || make -s build/p2m >/dev/null 2>&1
if [ ! -x "$P2M" ]; then
    echo "FAIL writers-build: build/p2m could not be built"
    exit 1
fi
for tool in gcc g++ clang clang++ protoc promtool; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "FAIL writers-deps: $tool not found (tools/install-deps.sh)"
        exit 1
    fi
done

# ---- compiling ----------------------------------------------------------------
printf '%s\n' '#define P2M_IMPLEMENTATION' '#include "profile2metrics.h"' \
    'int main(void) { return 0; }' > "$T/tu.c"
# compiles NAME COMPILER FLAGS...
compiles() {
    _n=$1
    shift
    # shellcheck disable=SC2086
    if "$@" $WARN -Werror -I. -c "$T/tu.c" -o "$T/tu.o" > "$T/$_n.log" 2>&1; then
        pass "writers-compile-$_n"
    else
        fail "writers-compile-$_n" "$(head -c 300 "$T/$_n.log")"
    fi
}
compiles gcc-c99 gcc -std=c99
compiles clang-c99 clang -std=c99
compiles gxx g++ -x c++
compiles clangxx clang++ -x c++
compiles no-json gcc -std=c99 -DP2M_NO_JSON
compiles no-prom gcc -std=c99 -DP2M_NO_PROM
compiles no-errmsg clang -std=c99 -DP2M_NO_ERRMSG
# P2M_FORMAT_DOUBLE replaces snprintf/strtod (builds without libc): none
# of the writers' code may name them then
FD='-DP2M_FORMAT_DOUBLE(b,c,d)=((void)(b),(void)(c),(void)(d),(size_t)0)'
if gcc -std=c99 "$FD" -E -P -I. "$T/tu.c" > "$T/fd.i" 2> "$T/fd.log" &&
        gcc -std=c99 $WARN -Werror "$FD" -I. -c "$T/tu.c" -o "$T/tu.o" >> "$T/fd.log" 2>&1; then
    if sed -n '/p2m__w_/,$p' "$T/fd.i" | grep -q 'snprintf\|strtod'; then
        fail writers-format-double "snprintf or strtod used although P2M_FORMAT_DOUBLE is given"
    else
        pass writers-format-double
    fi
else
    fail writers-format-double "$(head -c 300 "$T/fd.log")"
fi
if gcc -std=c99 -DP2M_NO_JSON -DP2M_NO_PROM -E -P -I. "$T/tu.c" 2>/dev/null |
        grep -q 'p2m_write_json(const'; then
    fail writers-cut "P2M_NO_JSON and P2M_NO_PROM still declare the writers"
else
    pass writers-cut
fi

# ---- inputs ---------------------------------------------------------------------
if ! protoc -Iproto --python_out="$T" proto/metrics.proto proto/profiles_v1_8.proto \
        proto/profiles_v1_9.proto proto/profiles_v1_10.proto 2> "$T/protoc.log"; then
    echo "FAIL writers-deps: protoc could not compile proto/: $(head -c 200 "$T/protoc.log")"
    exit 1
fi
export PYTHONPATH="$T"
if ! $PY tests/formats_check.py inputs "$T" > "$T/inputs.log" 2>&1 ||
        ! $PY tools/gen_profiles.py --shape typical -o "$T/typical.otlp" > /dev/null 2>&1 ||
        ! $PY tools/gen_profiles.py --shape small --kv-form strindex -o "$T/strindex.otlp" \
            > /dev/null 2>&1; then
    echo "FAIL writers-inputs: $(head -c 300 "$T/inputs.log")"
    exit 1
fi
set -- typical "$T/typical.otlp" strindex "$T/strindex.otlp" demo examples/demo.otlp \
    nested "$T/nested.otlp" nested-strindex "$T/nested-strindex.otlp" \
    nested-deep "$T/nested-deep.otlp" dropped "$T/dropped.otlp" \
    k8s-first tests/data/real/sig-profiling-profile.otlp

# ---- the C test -------------------------------------------------------------------
if ! gcc -std=c99 -O1 -g $WARN -Werror -I. -Itests/c -o "$T/test_writers" tests/c/test_writers.c \
        > "$T/test_writers.log" 2>&1; then
    fail writers-c-build "$(head -c 300 "$T/test_writers.log")"
    exit 1
fi
"$T/test_writers" "$T" "$NOW" "$@" > "$T/test_writers.out" 2>&1
rc=$?
grep '^PASS \|^FAIL ' "$T/test_writers.out"
if grep -q '^FAIL ' "$T/test_writers.out"; then
    failed=1
elif [ "$rc" -ne 0 ]; then
    fail writers-c-run "exit $rc: $(head -c 300 "$T/test_writers.out")"
fi

# ---- the texts against p2m and the independent checks --------------------------------
set -- wide "$T/wide.otlp" "$@"
while [ $# -ge 2 ]; do
    name=$1 in=$2
    shift 2
    for f in otlp json prom; do
        "$P2M" convert --now "$NOW" -f "$f" -o "$T/$name.p2m.$f" "$in" 2> "$T/$name.p2m.$f.err" ||
            fail "writers-$name-p2m-$f" "$(head -c 300 "$T/$name.p2m.$f.err")"
    done
    if cmp -s "$T/$name.json" "$T/$name.p2m.json"; then pass "writers-$name-json-as-p2m"; else
        fail "writers-$name-json-as-p2m" "$T/$name.json differs from p2m -f json"; fi
    if cmp -s "$T/$name.prom" "$T/$name.p2m.prom"; then pass "writers-$name-prom-as-p2m"; else
        fail "writers-$name-prom-as-p2m" "$T/$name.prom differs from p2m -f prom"; fi
    if why=$($PY tests/formats_check.py json "$T/$name.json" "$T/$name.p2m.otlp"); then
        pass "writers-$name-json-protobuf"
    else
        fail "writers-$name-json-protobuf" "$why"
    fi
    promtool check metrics < "$T/$name.prom" > "$T/$name.promtool" 2>&1
    prc=$?
    if [ "$prc" -ne 0 ] || [ -s "$T/$name.promtool" ]; then
        fail "writers-$name-promtool" "exit $prc: $(head -c 300 "$T/$name.promtool")"
    elif why=$($PY tests/formats_check.py prom "$T/$name.prom" "$T/$name.p2m.otlp"); then
        pass "writers-$name-prom-mapping"
    else
        fail "writers-$name-prom-mapping" "$why"
    fi
    # the merged count against p2m's note (none: no note)
    merged=$(cat "$T/$name.merged" 2>/dev/null)
    note=$(sed -n 's/^p2m: note: \([0-9]*\) resources had series with the same name.*/\1/p' \
        "$T/$name.p2m.prom.err")
    if [ "${note:-0}" = "$merged" ]; then pass "writers-$name-merged"; else
        fail "writers-$name-merged" "merged_resources $merged, p2m's note says ${note:-nothing}"; fi
done
exit $failed

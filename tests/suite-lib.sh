#!/bin/sh
# SPDX-License-Identifier: MIT
# The shared and static library (make lib, tools/packaging/packaging.mk):
#   - the SONAME, and the dynamic exports equal to the functions the header
#     declares with P2M_API (read from the header's text, not from the
#     library), so nothing private leaks and nothing public is missing
#   - libc use limited to what the core needs (memcpy, memset, strlen ...)
#     and, for the text writers' doubles, snprintf and strtod
#   - examples/linked.c linked to the .so and to the .a converts the demo
#     and the real captures to the same bytes as build/p2m
cd "$(dirname "$0")/.." || exit 2
B=build/lib-test
mkdir -p "$B"
fails=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
for t in nm readelf; do
    command -v $t >/dev/null 2>&1 || { fail "lib.tools: '$t' not found (binutils)"; exit 1; }
done

if ! make -s lib build/p2m build/examples/linked build/examples/linked-static > "$B/make.log" 2>&1; then
    fail "lib.build: $(tail -n 5 "$B/make.log" | tr '\n' ' ')"
    exit 1
fi
pass lib.build
SO=build/libprofile2metrics.so

soname=$(readelf -d "$SO" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" = libprofile2metrics.so.0 ]; then pass lib.soname
else fail "lib.soname: '$soname', expected libprofile2metrics.so.0"; fi
real=$(readlink -f "$SO")
case "$real" in
*/libprofile2metrics.so.0.*.*) pass lib.real-name ;;
*) fail "lib.real-name: $SO resolves to $real, expected libprofile2metrics.so.0.X.Y" ;;
esac

# The public functions: every "P2M_API <type> <name>(" in the header, the
# declaration possibly spanning lines (the name is the word before the '(').
awk '/^P2M_API/ { decl = $0; while (decl !~ /\(/ && (getline line) > 0) decl = decl " " line;
                  sub(/\(.*/, "", decl); n = split(decl, w, /[ *]+/); print w[n] }' \
    profile2metrics.h | sort -u > "$B/declared.txt"
nm -D --defined-only "$SO" | awk '$2 ~ /^[TDBRW]$/ { sub(/@.*/, "", $3); print $3 }' \
    | sort -u > "$B/exported.txt"
if [ ! -s "$B/declared.txt" ]; then
    fail "lib.exports: found no P2M_API declarations in profile2metrics.h"
elif cmp -s "$B/declared.txt" "$B/exported.txt"; then
    pass "lib.exports: $(wc -l < "$B/exported.txt") symbols, exactly the P2M_API functions"
else
    fail "lib.exports: exported and declared differ (< declared, > exported): $(diff "$B/declared.txt" "$B/exported.txt" | grep '^[<>]' | tr '\n' ' ')"
fi
if grep -qv '^p2m_' "$B/exported.txt"; then
    fail "lib.exports.prefix: exported without the p2m_ prefix: $(grep -v '^p2m_' "$B/exported.txt" | tr '\n' ' ')"
else
    pass lib.exports.prefix
fi

# The conversion core needs only the memory and string primitives from
# libc; the text writers (p2m_write_json, p2m_write_prom) add snprintf and
# strtod for shortest round-trip doubles (P2M_FORMAT_DOUBLE replaces them
# where there is no libc). Checked on the library, and on an object built
# without the writers.
CORE="memcpy memset memmove memcmp strlen"
WRITERS="snprintf strtod"
only_from() { # LIST FILE: the names in FILE that are not in LIST
    grep -vxF "$(echo "$1" | tr ' ' '\n')" "$2" | tr '\n' ' '
}
nm -D --undefined-only "$SO" | awk '$1 == "U" { sub(/@.*/, "", $2); print $2 }' | sort -u > "$B/undefined.txt"
extra=$(only_from "$CORE $WRITERS" "$B/undefined.txt")
if [ -z "$extra" ]; then pass "lib.libc: needs only $(tr '\n' ' ' < "$B/undefined.txt")"
else fail "lib.libc: needs more of libc than the core and the writers should: $extra"; fi
if ${CC:-cc} -std=c99 -O2 -fPIC -I. -DP2M_NO_JSON -DP2M_NO_PROM -c tools/packaging/profile2metrics.c \
        -o "$B/core.o" 2> "$B/core.log"; then
    nm --undefined-only "$B/core.o" | awk '{ print $NF }' | sort -u > "$B/core-undefined.txt"
    extra=$(only_from "$CORE" "$B/core-undefined.txt")
    if [ -z "$extra" ]; then pass "lib.libc.core: without the writers: $(tr '\n' ' ' < "$B/core-undefined.txt")"
    else fail "lib.libc.core: the core needs more of libc than memcpy, memset, strlen: $extra"; fi
else
    fail "lib.libc.core: build with P2M_NO_JSON P2M_NO_PROM: $(head -c 300 "$B/core.log")"
fi
needed=$(readelf -d "$SO" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
if [ "$needed" = "libc.so.6 " ]; then pass lib.needed
else fail "lib.needed: NEEDED is '$needed', expected libc.so.6 alone"; fi

# The archive: one member holding every public function.
nm --defined-only build/libprofile2metrics.a 2>/dev/null | awk '$2 == "T" { print $3 }' \
    | grep '^p2m_[^_]' | sort -u > "$B/archive.txt"
if cmp -s "$B/declared.txt" "$B/archive.txt"; then pass lib.archive
else fail "lib.archive: its public functions differ from the header's: $(diff "$B/declared.txt" "$B/archive.txt" | grep '^[<>]' | tr '\n' ' ')"; fi

# Same bytes as the tool, linked either way. The k8s capture is a stream of
# two length-prefixed requests: each is converted on its own.
if [ -f tests/data/real/sig-profiling-k8s.otlp ]; then
    /usr/bin/python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read(); i = k = 0
while i < len(d):
    n = struct.unpack(">I", d[i:i + 4])[0]; k += 1
    open("%s.%d.otlp" % (sys.argv[2], k), "wb").write(d[i + 4:i + 4 + n]); i += 4 + n
' tests/data/real/sig-profiling-k8s.otlp "$B/k8s"
fi
for f in examples/demo.otlp tests/data/real/sig-profiling-profile.otlp "$B/k8s.1.otlp" "$B/k8s.2.otlp"; do
    n=$(basename "$f" .otlp)
    if [ ! -f "$f" ]; then fail "lib.convert.$n: $f missing"; continue; fi
    build/p2m convert --now 1700000000000000000 -o "$B/$n.p2m.pb" "$f" 2>/dev/null
    for kind in linked linked-static; do
        LD_LIBRARY_PATH=build build/examples/$kind --now 1700000000000000000 "$f" \
            > "$B/$n.$kind.pb" 2> "$B/$n.$kind.err"
        rc=$?
        if [ "$rc" -ne 0 ]; then
            fail "lib.convert.$kind.$n: exit $rc: $(cat "$B/$n.$kind.err")"
        elif [ ! -s "$B/$n.p2m.pb" ]; then
            fail "lib.convert.$kind.$n: build/p2m wrote nothing to compare with"
        elif cmp -s "$B/$n.$kind.pb" "$B/$n.p2m.pb"; then
            pass "lib.convert.$kind.$n: $(wc -c < "$B/$n.p2m.pb") bytes, same as p2m"
        else
            fail "lib.convert.$kind.$n: output differs from build/p2m convert"
        fi
    done
done
# The shared one really came from build/ (not a copy compiled in).
if LD_LIBRARY_PATH=build ldd build/examples/linked | grep -q "libprofile2metrics.so.0 => .*build/"; then
    pass lib.linked-dynamically
else
    fail "lib.linked-dynamically: build/examples/linked does not load build/libprofile2metrics.so.0"
fi
[ "$fails" -eq 0 ]

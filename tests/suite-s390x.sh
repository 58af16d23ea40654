#!/bin/sh
# SPDX-License-Identifier: MIT
# Big-endian and 32-bit runs of the C tests, from the same sources as
# tests/suite-c.sh (tests/c) and tests/suite-regex.sh (tests/regex/regex_table.c):
#   s390x (big-endian, 64-bit): s390x-linux-gnu-gcc -static, run under qemu-s390x
#     test_api (output decoded with protobuf-c built for s390x), test_noalloc,
#     regex_table, and test_malformed reduced: its full run (about 120,000
#     conversions) takes about four minutes under qemu, so it runs with
#     P2M_MALFORMED_STRIDE=8 (S390X_MALFORMED_STRIDE): every 8th cut and
#     length case, every prefix ending on a field boundary, an 8th of the
#     seeded mutations, with the same assertions and the same PASS lines as
#     the full native run. The fuzz corpus replay below adds hostile input.
#   i686 (little-endian, 32-bit): i686-linux-gnu-gcc -static, run natively
#     where the kernel runs 32-bit programs, else under qemu-i386 (qemu-user:
#     some x86-64 kernels are built without IA-32 emulation and answer
#     "Exec format error"); test_malformed, test_noalloc, regex_table. test_malformed's
#     c.malformed.input_over_4gib claims an input of 5 GiB, which a 32-bit
#     size_t cannot hold ((size_t)5 << 30 is 1 GiB there), so that one check
#     is left out of the comparison on i686 (and reported with a note).
# Each program must exit 0 and print exactly the PASS lines that the same
# program built natively (x86-64 gcc) prints, so no check is lost or gained
# on the other target. Builds into build/s390x. A missing tool is a FAIL.
cd "$(dirname "$0")/.." || exit 2
INC=${P2M_INC:-.}
B=build/s390x
mkdir -p "$B/gen" "$B/py" "$B/native" "$B/s390x" "$B/i686"
fails=0
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
PY=/usr/bin/python3
WARN="-Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Wcast-qual -Wundef"
S390_CC=${S390_CC:-s390x-linux-gnu-gcc}
I686_CC=${I686_CC:-i686-linux-gnu-gcc}
QEMU=${QEMU_S390X:-qemu-s390x}
STRIDE=${S390X_MALFORMED_STRIDE:-8}

tools_ok=1
for t in gcc protoc "$S390_CC" "$QEMU" "$I686_CC"; do
    if ! command -v "$t" >/dev/null 2>&1; then
        fail "s390x.tools.$t: not found (run make deps: tools/install-deps.sh)"
        tools_ok=0
    fi
done
S390_PBC=/usr/lib/s390x-linux-gnu/libprotobuf-c.a
if [ ! -f "$S390_PBC" ]; then
    fail "s390x.tools.protobuf-c: $S390_PBC missing (libprotobuf-c-dev:s390x, make deps)"
    tools_ok=0
fi
if ! grep -q '^#ifdef P2M_IMPLEMENTATION' "$INC/profile2metrics.h"; then
    fail "s390x.build: profile2metrics.h has no implementation section yet"
    exit 1
fi
[ "$tools_ok" = 1 ] || exit 1

. tests/jobs.sh
# The builds and then the runs are jobs, JOBS_MAX at a time (tests/jobs.sh);
# their results go to files and are printed afterwards in a fixed order.
rm -f "$B"/*.failed "$B"/*/*.built "$B"/*/*.rc

# build NAME command...: one build step; on failure its FAIL line and the
# head of its errors go to $B/NAME.failed (printed by report_builds)
build() {
    name=$1; shift
    if ! "$@" > "$B/$name.log" 2>&1; then
        {
            echo "FAIL s390x.build.$name: $(head -c 300 "$B/$name.log" | tr '\n' ' ')"
            sed 's/^/# /' "$B/$name.log" | head -30
        } > "$B/$name.failed"
        return 1
    fi
    return 0
}

# the real capture and its expectation from Google protobuf, as suite-c
REAL=tests/data/real/sig-profiling-profile.otlp
[ -f "$REAL" ] || fail "s390x.real_capture: $REAL not found (see tests/data/real/README.md)"
REAL_ARGS="$REAL"
if build protoc-py protoc --python_out="$B/py" -Iproto proto/profiles_v1_8.proto &&
   $PY tests/c/real_expect.py "$B/py" "$REAL" > "$B/real_expect.txt" 2> "$B/real_expect.log"
then
    REAL_ARGS="$REAL $(cat "$B/real_expect.txt")"
else
    report_builds protoc-py
    fail "s390x.real_expect: Google protobuf could not read $REAL"
fi

build protoc-c protoc --c_out="$B/gen" -Iproto proto/metrics.proto || {
    report_builds protoc-c
    exit 1
}

# ---- builds ------------------------------------------------------------------------
# the programs on the implementation object, for one target: DIR CC
# EXTRA-FLAGS PROTOBUF-C-LIB; a built program leaves $B/DIR/PROGRAM.built
job_impl_progs() {
    d=$1; cc=$2; extra=$3; pbc=$4
    build "$d.impl" $cc -std=c99 -O2 -g $extra -I"$INC" -c tests/c/p2m_impl.c \
        -o "$B/$d/impl.o" || return
    if [ -n "$pbc" ] &&
       build "$d.pb-c" $cc -std=c11 -O1 $extra -I"$B/gen" -c "$B/gen/metrics.pb-c.c" \
           -o "$B/$d/metrics.pb-c.o" &&
       build "$d.test_api" $cc -std=c11 -O1 -g $extra $WARN -Werror -I"$INC" -Itests/c \
           -isystem "$B/gen" -o "$B/$d/test_api" tests/c/test_api.c "$B/$d/metrics.pb-c.o" \
           "$B/$d/impl.o" $pbc -lm
    then : > "$B/$d/test_api.built"; fi
    build "$d.test_malformed" $cc -std=c99 -O1 -g $extra $WARN -Werror -I"$INC" -Itests/c \
        -o "$B/$d/test_malformed" tests/c/test_malformed.c "$B/$d/impl.o" &&
        : > "$B/$d/test_malformed.built"
    build "$d.test_noalloc" $cc -std=c99 -O2 -g $extra $WARN -Werror -I"$INC" -Itests/c \
        -o "$B/$d/test_noalloc" tests/c/test_noalloc.c "$B/$d/impl.o" &&
        : > "$B/$d/test_noalloc.built"
}
# regex_table for one target: DIR CC EXTRA-FLAGS
job_regex_table() {
    d=$1; cc=$2; extra=$3
    build "$d.regex_table" $cc -std=c99 -O2 -g $extra $WARN -Werror -I"$INC" -Itests/regex \
        -o "$B/$d/regex_table" tests/regex/regex_table.c && : > "$B/$d/regex_table.built"
}
# the fuzz targets' invariants on s390x: the seed corpus and the regression
# inputs of fuzz_convert and fuzz_state replayed without libFuzzer
job_replay_build() {
    t=$1
    build "s390x.fuzz_$t" "$S390_CC" -static -std=c99 -O1 -g $WARN -Werror -I"$INC" \
        -Itests/fuzz -Itests/c -o "$B/s390x/replay_$t" "tests/fuzz/fuzz_$t.c" \
        tests/fuzz/replay_main.c
}
# two small programs: a 32-bit one (can this kernel run it?) and the
# byte order of s390x
job_probes() {
    printf 'int main(void){return 0;}\n' > "$B/probe32.c"
    build i686.probe "$I686_CC" -static -o "$B/i686/probe32" "$B/probe32.c" &&
        : > "$B/i686/probe32.built"
    printf '%s\n%s\n%s%s\n' '#include <stdio.h>' '#include <stdint.h>' \
        'int main(void){uint32_t x=1;unsigned char c;__builtin_memcpy(&c,&x,1);' \
        'printf("%s\n",c?"little":"big");return 0;}' > "$B/endian.c"
    build endian "$S390_CC" -static -o "$B/s390x/endian" "$B/endian.c" &&
        : > "$B/s390x/endian.built"
}
job_start job_impl_progs s390x "$S390_CC" "-static" "$S390_PBC"
job_start job_impl_progs native gcc "" "-lprotobuf-c"
job_start job_impl_progs i686 "$I686_CC" "-static" ""
job_start job_regex_table s390x "$S390_CC" "-static"
job_start job_regex_table native gcc ""
job_start job_regex_table i686 "$I686_CC" "-static"
job_start job_replay_build convert
job_start job_replay_build state
job_start job_probes
job_wait
for d in native s390x i686; do
    report_builds "$d.impl" "$d.pb-c" "$d.test_api" "$d.test_malformed" "$d.test_noalloc" \
        "$d.regex_table"
done

# how to run the i686 programs: natively if this kernel runs 32-bit x86
# programs, else under qemu-i386; neither is a FAIL, never a skip
I686_RUN=""
report_builds i686.probe
if [ -f "$B/i686/probe32.built" ]; then
    if "$B/i686/probe32" 2>/dev/null; then
        echo "# i686: run natively"
    elif command -v "${QEMU_I386:-qemu-i386}" >/dev/null 2>&1 &&
         "${QEMU_I386:-qemu-i386}" "$B/i686/probe32"; then
        I686_RUN=${QEMU_I386:-qemu-i386}
        echo "# i686: this kernel does not run 32-bit programs; run under $I686_RUN"
    else
        fail "i686.run: the kernel does not run 32-bit programs and qemu-i386 is missing (run make deps)"
    fi
fi

# big-endian for real: the s390x binaries store the high byte first
report_builds endian
if [ -f "$B/s390x/endian.built" ] && [ "$("$QEMU" "$B/s390x/endian" 2>&1)" = big ]; then
    echo "PASS s390x.big-endian (qemu-s390x runs a big-endian binary)"
else
    fail "s390x.big-endian: the s390x build does not run big-endian under $QEMU"
fi

# ---- runs ------------------------------------------------------------------------
args_of() { # program -> its arguments, as suite-c passes them
    case $1 in
        test_api) echo "$REAL_ARGS" ;;
        test_malformed|test_noalloc) echo "$REAL" ;;
        *) echo "" ;;
    esac
}

# run TARGET PROGRAM RUNNER...: its output into $B/TARGET/PROGRAM.out, its
# exit code into .rc
run() {
    d=$1; p=$2; shift 2
    # shellcheck disable=SC2046
    "$@" "$B/$d/$p" $(args_of "$p") > "$B/$d/$p.out" 2>&1
    echo $? > "$B/$d/$p.rc"
}
# qemu's runs first, the longest (test_malformed) leading
for p in test_malformed test_api test_noalloc regex_table; do
    [ -f "$B/native/$p.built" ] || continue
    if [ "$p" = test_malformed ] && [ -f "$B/s390x/$p.built" ]; then
        job_start run s390x "$p" env P2M_MALFORMED_STRIDE="$STRIDE" "$QEMU"
    elif [ -f "$B/s390x/$p.built" ]; then
        job_start run s390x "$p" "$QEMU"
    fi
done
for p in test_malformed test_api test_noalloc regex_table; do
    [ -f "$B/native/$p.built" ] || continue
    job_start run native "$p"
    # shellcheck disable=SC2086
    [ "$p" != test_api ] && [ -f "$B/i686/$p.built" ] && job_start run i686 "$p" $I686_RUN
done
job_replay() {
    t=$1
    set -- tests/corpus/$t/*
    [ -d "tests/corpus/regressions/$t" ] && set -- "$@" tests/corpus/regressions/$t/*
    "$QEMU" "$B/s390x/replay_$t" "s390x.fuzz_$t.replay" "$@" > "$B/s390x/replay_$t.out" 2>&1
    echo $? > "$B/s390x/replay_$t.rc"
}
for t in convert state; do
    [ -f "$B/s390x.fuzz_$t.failed" ] || job_start job_replay "$t"
done
job_wait

# cmp TARGET PROGRAM: exit 0 and the native PASS lines, no more
cmp_native() {
    d=$1; p=$2
    rc=$(cat "$B/$d/$p.rc")
    grep '^PASS ' "$B/$d/$p.out" | sed 's/ (.*//' | sort > "$B/$d/$p.pass"
    nf=$(grep -c '^FAIL ' "$B/$d/$p.out")
    ref=$B/native/$p.pass
    if [ "$d" = i686 ] && [ "$p" = test_malformed ] &&
       grep -q '^FAIL c.malformed.input_over_4gib' "$B/$d/$p.out"; then
        echo "# i686: c.malformed.input_over_4gib not applicable (32-bit size_t): left out"
        nf=$((nf - 1))
        [ "$rc" -eq 1 ] && [ "$nf" -eq 0 ] && rc=0
        grep -v '^PASS c.malformed.input_over_4gib$' "$B/native/$p.pass" > "$B/native/$p.pass32"
        ref=$B/native/$p.pass32
    fi
    if [ "$rc" -ne 0 ] || [ "$nf" -ne 0 ]; then
        fail "$d.$p: exit $rc, $nf FAIL lines (see $B/$d/$p.out):"
        grep '^FAIL ' "$B/$d/$p.out" | head -10 | sed 's/^/# /'
        [ "$nf" -eq 0 ] && tail -5 "$B/$d/$p.out" | sed 's/^/# /'
    elif ! cmp -s "$B/$d/$p.pass" "$ref"; then
        fail "$d.$p: PASS lines differ from the native build: $(diff "$ref" "$B/$d/$p.pass" | grep '^[<>]' | head -5 | tr '\n' ' ')"
    else
        echo "PASS $d.$p ($(wc -l < "$B/$d/$p.pass") checks, the same PASS lines as native)"
    fi
}

for p in test_api test_malformed test_noalloc regex_table; do
    if [ ! -f "$B/native/$p.built" ]; then
        fail "native.$p: not built, nothing to compare with"
        continue
    fi
    grep '^PASS ' "$B/native/$p.out" | sed 's/ (.*//' | sort > "$B/native/$p.pass"
    if [ -f "$B/s390x/$p.built" ]; then
        cmp_native s390x "$p"
        [ "$p" != test_malformed ] ||
            grep -q "^# P2M_MALFORMED_STRIDE=$STRIDE:" "$B/s390x/$p.out" || [ "$STRIDE" -le 1 ] ||
            fail "s390x.$p: the stride was not applied (see $B/s390x/$p.out)"
    else
        fail "s390x.$p: not built"
    fi
    if [ "$p" != test_api ]; then
        if [ -f "$B/i686/$p.built" ]; then
            cmp_native i686 "$p"
        else
            fail "i686.$p: not built"
        fi
    fi
done

for t in convert state; do
    report_builds "s390x.fuzz_$t"
    [ -f "$B/s390x/replay_$t.rc" ] || continue
    rc=$(cat "$B/s390x/replay_$t.rc")
    if [ "$rc" -ne 0 ] || ! grep -q '^PASS ' "$B/s390x/replay_$t.out"; then
        why=$(grep -m1 -A1 'invariant' "$B/s390x/replay_$t.out" | tr '\n' ' ')
        fail "s390x.fuzz_$t.replay: exit $rc: $why"
    else
        grep '^PASS ' "$B/s390x/replay_$t.out"
    fi
done

[ "$fails" -eq 0 ]

#!/bin/sh
# SPDX-License-Identifier: MIT
# C tests of the library API (tests/c): builds into build/c and runs
#   test_api       contract tests; output decoded again with protobuf-c
#   test_noalloc   zero heap allocation, with an interposed malloc family
#   test_no_extra  a build without declared metrics (P2M_MAX_EXTRA 0)
#   test_placement sizes (engine, state, work) against the placement, many configs
#   test_malformed hostile input under ASan + UBSan (clang)
#   test_threads   one engine shared by 4 threads under TSan; engine unchanged
#   test_image     engine images: header, round trip, every byte mutated and
#                  every truncation under ASan + UBSan
#   test_no_float  whole-number scales, built with and without P2M_NO_FLOAT
#   test_stream    the streaming encoder gives the buffered encoder's bytes
#                  (default buffer; a 16-byte one under ASan + UBSan)
#   test_api again under valgrind memcheck
# The real captures in tests/data/real are required: a missing one is a FAIL.
# A missing tool is a FAIL, never a skip.
cd "$(dirname "$0")/.." || exit 2
# P2M_INC: directory of the profile2metrics.h under test (default: the repo's)
INC=${P2M_INC:-.}
B=build/c
mkdir -p "$B/gen" "$B/py"
fails=0
fail() { echo "FAIL $1"; fails=$((fails + 1)); }

CC_GCC=${CC_GCC:-gcc}
CC_CLANG=${CC_CLANG:-clang}
PY=/usr/bin/python3
WARN="-Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Wcast-qual -Wundef"

need_tool() { # name command...
    name=$1; shift
    if ! command -v "$1" >/dev/null 2>&1; then
        fail "c.tools.$name: '$1' not found (run make deps)"
        return 1
    fi
    return 0
}
tools_ok=1
need_tool gcc "$CC_GCC" || tools_ok=0
need_tool clang "$CC_CLANG" || tools_ok=0
need_tool protoc protoc || tools_ok=0
need_tool valgrind valgrind || tools_ok=0
if [ ! -f /usr/include/protobuf-c/protobuf-c.h ]; then
    fail "c.tools.protobuf-c: /usr/include/protobuf-c/protobuf-c.h missing (libprotobuf-c-dev)"
    tools_ok=0
fi
if ! $PY -c 'import google.protobuf' 2>/dev/null; then
    fail "c.tools.python-protobuf: $PY cannot import google.protobuf (python3-protobuf)"
    tools_ok=0
fi
if ! grep -q '^#ifdef P2M_IMPLEMENTATION' "$INC/profile2metrics.h"; then
    fail "c.build: profile2metrics.h has no implementation section yet"
    exit 1
fi
[ "$tools_ok" = 1 ] || exit 1

. tests/jobs.sh

# The builds and runs below are jobs, JOBS_MAX at a time (tests/jobs.sh):
# each chain of steps that depend on each other is one job, and the results
# are printed afterwards in a fixed order.
rm -f "$B"/*.failed "$B"/*.rc

# build NAME command...: runs a build step; on failure its FAIL line and the
# head of its errors go to $B/NAME.failed (printed by report_builds)
build() {
    name=$1; shift
    if ! "$@" > "$B/$name.log" 2>&1; then
        {
            echo "FAIL c.build.$name: $(head -c 300 "$B/$name.log" | tr '\n' ' ')"
            sed 's/^/# /' "$B/$name.log" | head -40
        } > "$B/$name.failed"
        return 1
    fi
    return 0
}

# run NAME command...: runs a test, its output into $B/NAME.out and its exit
# code into $B/NAME.rc (read by report_run)
run() {
    name=$1; shift
    "$@" > "$B/$name.out" 2>&1
    echo $? > "$B/$name.rc"
}

REAL=tests/data/real/sig-profiling-profile.otlp
K8S=tests/data/real/sig-profiling-k8s.otlp
REAL_ARGS="$REAL"
real_expect_ok=0
if build protoc-py protoc --python_out="$B/py" -Iproto proto/profiles_v1_8.proto &&
   $PY tests/c/real_expect.py "$B/py" "$REAL" > "$B/real_expect.txt" 2> "$B/real_expect.log"
then
    REAL_ARGS="$REAL $(cat "$B/real_expect.txt")"
    real_expect_ok=1
fi
STREAM_IN="$(ls tests/corpus/convert/* tests/data/real/*.otlp) examples/demo.otlp"

export ASAN_OPTIONS="exitcode=86:detect_leaks=0:abort_on_error=0"
export UBSAN_OPTIONS="halt_on_error=1:exitcode=87:print_stacktrace=1"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -g -O1 -fno-omit-frame-pointer"
TSAN="-fsanitize=thread -g -O1"

# test_api, then (the longest run) test_api under valgrind; test_noalloc
# shares the implementation object
job_api() {
    if build protoc-c protoc --c_out="$B/gen" -Iproto proto/metrics.proto &&
       build impl "$CC_GCC" -std=c99 -O2 -g -I"$INC" -c tests/c/p2m_impl.c -o "$B/impl.o" &&
       build metrics.pb-c "$CC_GCC" -std=c11 -O1 -g -I"$B/gen" -c "$B/gen/metrics.pb-c.c" \
            -o "$B/metrics.pb-c.o" &&
       build test_api "$CC_GCC" -std=c11 -O1 -g $WARN -Werror -I"$INC" -Itests/c \
            -isystem "$B/gen" -o "$B/test_api" tests/c/test_api.c "$B/metrics.pb-c.o" \
            "$B/impl.o" -lprotobuf-c -lm
    then
        # shellcheck disable=SC2086
        run test_api "$B/test_api" $REAL_ARGS
        # shellcheck disable=SC2086
        run valgrind_api valgrind -q --error-exitcode=99 --track-origins=yes "$B/test_api" \
            $REAL_ARGS
    fi
    if [ -f "$B/impl.o" ] &&
       build test_noalloc "$CC_GCC" -std=c99 -O2 -g $WARN -Werror -I"$INC" -Itests/c \
            -o "$B/test_noalloc" tests/c/test_noalloc.c "$B/impl.o"
    then run test_noalloc "$B/test_noalloc" $REAL; fi
}
job_asan() {
    if build impl_asan "$CC_CLANG" -std=c99 $SAN -I"$INC" -c tests/c/p2m_impl.c \
            -o "$B/impl_asan.o" &&
       build test_malformed "$CC_CLANG" -std=c99 $SAN $WARN -Werror -I"$INC" -Itests/c \
            -o "$B/test_malformed" tests/c/test_malformed.c "$B/impl_asan.o"
    then run test_malformed "$B/test_malformed" $REAL $K8S; fi
    if [ -f "$B/impl_asan.o" ] &&
       build test_image "$CC_CLANG" -std=c99 $SAN $WARN -Werror -I"$INC" -Itests/c \
            -o "$B/test_image" tests/c/test_image.c "$B/impl_asan.o"
    then run test_image "$B/test_image"; fi
}
job_placement() {
    if build test_placement "$CC_GCC" -std=c99 -O1 -g $WARN -Werror -I"$INC" -Itests/c \
            -o "$B/test_placement" tests/c/test_placement.c
    then run test_placement "$B/test_placement"; fi
}
job_no_extra() {
    if build test_no_extra "$CC_GCC" -std=c99 -O2 -g $WARN -Werror -I"$INC" -Itests/c \
            -o "$B/test_no_extra" tests/c/test_no_extra.c
    then run test_no_extra "$B/test_no_extra"; fi
}
job_no_float() {
    if build test_no_float "$CC_GCC" -std=c99 -O2 -g $WARN -Werror -I"$INC" -Itests/c \
            -o "$B/test_no_float" tests/c/test_no_float.c &&
       build test_no_float_nf "$CC_GCC" -std=c99 -O2 -g $WARN -Werror -DP2M_NO_FLOAT -I"$INC" \
            -Itests/c -o "$B/test_no_float_nf" tests/c/test_no_float.c
    then
        run test_no_float "$B/test_no_float"
        run test_no_float_nf "$B/test_no_float_nf"
    fi
}
job_stream() {
    # shellcheck disable=SC2086
    if build test_stream "$CC_GCC" -std=c99 -O1 -g $WARN -Werror -I"$INC" -Itests/c \
            -o "$B/test_stream" tests/c/test_stream.c &&
       build test_stream16 "$CC_CLANG" -std=c99 $SAN $WARN -Werror -DP2M_STREAM_BUFFER=16 \
            -I"$INC" -Itests/c -o "$B/test_stream16" tests/c/test_stream.c
    then
        run test_stream "$B/test_stream" $STREAM_IN
        run test_stream16 "$B/test_stream16" $STREAM_IN
    fi
}
job_threads() {
    if build impl_tsan "$CC_CLANG" -std=c99 $TSAN -I"$INC" -c tests/c/p2m_impl.c \
            -o "$B/impl_tsan.o" &&
       build test_threads "$CC_CLANG" -std=c99 $TSAN $WARN -Werror -I"$INC" -Itests/c \
            -o "$B/test_threads" tests/c/test_threads.c "$B/impl_tsan.o" -lpthread
    then run test_threads env TSAN_OPTIONS="exitcode=88 halt_on_error=1" "$B/test_threads" $REAL
    fi
}
# the longest first
for j in api asan stream threads no_float no_extra placement; do
    job_start "job_$j"
done
job_wait

report_builds protoc-c impl metrics.pb-c test_api test_noalloc impl_asan test_malformed \
    test_image test_placement test_no_extra test_no_float test_no_float_nf test_stream \
    test_stream16 impl_tsan test_threads

for f in "$REAL" "$K8S"; do
    why="the real captures belong to the repository, see tests/data/real/README.md"
    [ -f "$f" ] || fail "c.real_captures: $f not found ($why)"
done
report_builds protoc-py
[ "$real_expect_ok" = 1 ] ||
    fail "c.real_expect: Google protobuf could not read $REAL: $(head -c 200 "$B/real_expect.log")"

# report_run NAME: shows the test's lines; a crash or sanitizer abort (exit
# code other than 0/1) or a non-zero exit without FAIL is a FAIL
report_run() {
    name=$1
    [ -f "$B/$name.rc" ] || return 0
    rc=$(cat "$B/$name.rc")
    grep -v '^==[0-9]*==\|^    #' "$B/$name.out" | grep '^PASS \|^FAIL \|^# ' 
    nf=$(grep -c '^FAIL ' "$B/$name.out")
    fails=$((fails + nf))
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
        fail "c.$name.run: exited $rc (crash or sanitizer report); see $B/$name.out:"
        grep -v '^PASS \|^FAIL ' "$B/$name.out" | head -40 | sed 's/^/# /'
    elif [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; then
        fail "c.$name.run: exited $rc without a FAIL line"
    fi
}
for t in test_api test_noalloc test_no_extra test_placement test_malformed test_image \
         test_no_float test_no_float_nf test_stream test_stream16 test_threads; do
    report_run "$t"
done

if [ -f "$B/valgrind_api.rc" ]; then
    rc=$(cat "$B/valgrind_api.rc")
    if [ "$rc" -eq 99 ]; then
        fail "c.valgrind.test_api: memcheck found errors; see $B/valgrind_api.out:"
        grep '^==' "$B/valgrind_api.out" | head -40 | sed 's/^/# /'
    elif [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$B/valgrind_api.out"; then
        fail "c.valgrind.test_api: exited $rc"
    else
        echo "PASS c.valgrind.test_api"
    fi
fi

[ "$fails" -eq 0 ]

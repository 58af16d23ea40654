#!/bin/sh
# SPDX-License-Identifier: MIT
# pprof input of the header (issue 17): tests/test_pprof.py builds pprof
# profiles with Google protobuf (proto/pprof.proto), runs them through the
# header's p2m_pprof_* entry points with the driver tests/c/pprof_drive.c and
# decodes the OTLP output with Google protobuf. The driver is built here
# twice into build/pprof: gcc -O2 (pprof_drive) and clang with ASan + UBSan
# (pprof_drive_asan, which runs the hand-built, malformed and truncated
# inputs); and tests/c/pprof_noalloc.c (no heap allocation). Its YAML configurations go through the tool's loader
# (tools/p2m_config.c, libyaml). A missing tool is a FAIL, never a skip.
# Arguments: names (substrings) of the checks to run.
cd "$(dirname "$0")/.." || exit 2
INC=${P2M_INC:-.}
B=build/pprof
PY=/usr/bin/python3
mkdir -p "$B"
fails=0
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
WARN="-Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Wcast-qual -Wundef"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -g -O1 -fno-omit-frame-pointer"

for t in gcc clang protoc; do
    command -v "$t" >/dev/null 2>&1 || fail "pprof.tools.$t: '$t' not found (run make deps)"
done
$PY -c 'import google.protobuf' 2>/dev/null ||
    fail "pprof.tools.python-protobuf: $PY cannot import google.protobuf (python3-protobuf)"
[ -f /usr/include/yaml.h ] || fail "pprof.tools.libyaml: /usr/include/yaml.h missing (libyaml-dev)"
[ "$fails" -eq 0 ] || exit 1
if ! grep -q 'p2m_pprof_convert' "$INC/profile2metrics.h"; then
    fail "pprof.build: $INC/profile2metrics.h has no p2m_pprof_convert yet"
    exit 1
fi

. tests/jobs.sh
# build NAME command...: one build step (a job, tests/jobs.sh), its exit code
# into $B/NAME.rc for built
build() {
    name=$1; shift
    "$@" > "$B/$name.log" 2>&1
    echo $? > "$B/$name.rc"
}
# built NAME: whether the step built; its errors shown if not
built() {
    [ "$(cat "$B/$1.rc" 2>/dev/null)" = 0 ] && return 0
    fail "pprof.build.$1: $(head -c 300 "$B/$1.log" | tr '\n' ' ')"
    sed 's/^/# /' "$B/$1.log" | head -30
    return 1
}
# The three builds are independent: JOBS_MAX at a time, reported in order
# (the first failure ends the suite).
rm -f "$B"/*.rc
SRC="tests/c/pprof_drive.c tests/c/p2m_impl.c tools/p2m_config.c"
job_start build pprof_drive_asan clang -std=c99 $SAN $WARN -Werror -I"$INC" -I. \
    -DP2M_HAVE_YAML -o "$B/pprof_drive_asan" $SRC -lyaml -lm
job_start build pprof_drive gcc -std=c99 -O2 -g $WARN -Werror -I"$INC" -I. -DP2M_HAVE_YAML \
    -o "$B/pprof_drive" $SRC -lyaml -lm
job_start build pprof_noalloc gcc -std=c99 -O2 -g $WARN -Werror -I"$INC" \
    -o "$B/pprof_noalloc" tests/c/pprof_noalloc.c tests/c/p2m_impl.c -lm
job_wait
built pprof_drive || exit 1
built pprof_noalloc || exit 1
built pprof_drive_asan || exit 1

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
$PY tests/test_pprof.py "$@" || fails=$((fails + 1))
[ "$fails" -eq 0 ]

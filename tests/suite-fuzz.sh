#!/bin/sh
# SPDX-License-Identifier: MIT
# libFuzzer targets (tests/fuzz), built with clang
# -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all into build/fuzz:
#   fuzz_convert  p2m_convert with fixed configurations, input fuzzed
#   fuzz_config   the configuration compiler, configuration fuzzed
#   fuzz_regex    the regex engine: pattern and subject fuzzed, step bound
#   fuzz_state    the cumulative state kept across calls and inputs
#   fuzz_pprof    the pprof entry points with fixed configurations
#   fuzz_image    engine images: p2m_engine_load, then save and convert
# For each target: every input in tests/corpus/regressions/<target>/ (the
# findings so far) must run clean, then a short fuzzing run from the seed
# corpus tests/corpus/<target>/ must find nothing. Plus align_check: each
# caller memory block at every offset 0..7 under ASan + UBSan. And 300
# requests of differential decoding (tests/fuzz/diff_decode.py, DIFF_N).
# Environment: FUZZ_SECONDS (per target, default 10), FUZZ_RUNS (most
# executions per target, default 300000; 0 = no limit), P2M_INC (directory
# of the profile2metrics.h under test), FUZZ_DIR (build directory, default
# build/fuzz), FUZZ_OPT (optimisation, default -O1; long campaigns use -O2),
# FUZZ_TRACE_CMP (1, the default: libFuzzer's comparison tracing as
# -fsanitize=fuzzer has it; 0 leaves it out of the library code, which
# doubles the executions per second but gives the mutator no comparison
# operands: for long campaigns on a grown corpus, see docs/security.md),
# FUZZ_ONLY (targets to build and run, default "convert config regex state
# pprof image"),
# FUZZ_BUILD_ONLY=1 (build, run nothing), FUZZ_CFLAGS (more flags for the
# harnesses, e.g. -DFZ_HUGE_SCALE=0 to run past a known finding).
# The harness code itself (all but fuzz_regex, whose file holds the
# implementation) is compiled with ASan + UBSan but without coverage
# instrumentation: only the library's branches guide the fuzzer, and the
# harness's checking loops do not pay for comparison tracing. `make fuzz FUZZ_SECONDS=N` runs each
# target N seconds without an execution limit, keeping its corpus in
# build/fuzz/corpus-<target>.
# A missing tool is a FAIL, never a skip.
cd "$(dirname "$0")/.." || exit 2
INC=${P2M_INC:-.}
B=${FUZZ_DIR:-build/fuzz}
OPT=${FUZZ_OPT:--O1}
ONLY=${FUZZ_ONLY:-convert config regex state pprof image}
SECS=${FUZZ_SECONDS:-10}
RUNS=${FUZZ_RUNS:-300000}
KEEP=${FUZZ_KEEP:-0}
CC_CLANG=${CC_CLANG:-clang}
mkdir -p "$B"
fails=0
fail() { echo "FAIL $1"; fails=$((fails + 1)); }

if ! command -v "$CC_CLANG" >/dev/null 2>&1; then
    fail "fuzz.tools.clang: '$CC_CLANG' not found (run make deps)"
    exit 1
fi
WARN="-Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Wcast-qual -Wundef -Werror"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
CFLAGS="-std=c99 -g $OPT $WARN -I$INC -Itests/fuzz -Itests/c ${FUZZ_CFLAGS:-}"

# the fuzzer runtime (libclang-rt-14-dev) must be there
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
    > "$B/probe.c"
if ! "$CC_CLANG" -fsanitize=fuzzer -o "$B/probe" "$B/probe.c" > "$B/probe.log" 2>&1; then
    fail "fuzz.tools.libfuzzer: clang -fsanitize=fuzzer does not link (libclang-rt-14-dev): $(head -c 200 "$B/probe.log" | tr '\n' ' ')"
    exit 1
fi

. tests/jobs.sh
# The builds, the fuzzing runs and the differential test are jobs, JOBS_MAX
# at a time (tests/jobs.sh); each keeps its own budget, seed, corpus and
# output. Stage 1 compiles (the implementation object, fuzz_regex, the
# harnesses), stage 2 links and runs each target; every job writes its lines
# to a file, and they are printed afterwards in the order of ONLY.
rm -f "$B"/*.failed "$B"/report_*

# build NAME command...: one build step; on failure its FAIL line and the
# head of its errors go to $B/NAME.failed
build() {
    name=$1; shift
    if ! "$@" > "$B/$name.log" 2>&1; then
        {
            echo "FAIL fuzz.build.$name: $(head -c 300 "$B/$name.log" | tr '\n' ' ')"
            sed 's/^/# /' "$B/$name.log" | head -30
        } > "$B/$name.failed"
        return 1
    fi
    return 0
}
# report FILE...: prints the files that exist, counting their FAIL lines
report() {
    for f in "$@"; do
        [ -f "$f" ] || continue
        cat "$f"
        fails=$((fails + $(grep -c '^FAIL ' "$f")))
    done
}

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

# show_crash LOG: the invariant or sanitizer lines and the top of the stack
show_crash() {
    grep -m1 -A1 'fuzz invariant broken\|runtime error\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|ERROR: libFuzzer' "$1" | sed 's/^/# /'
    grep -m8 '^    #[0-9]' "$1" | grep -v 'libFuzzer\|fuzzer::\|__sanitizer\|abort\|libc' | sed 's/^/# /'
}

# ---- stage 1: compile (and the differential test) ----------------------------
# differential decoding: generated valid requests through build/p2m against
# Google protobuf's decoding (make diff-decode N=... runs more)
DIFF_N=${DIFF_N:-300}
diff_decode_lines() {
    if [ ! -x build/p2m ]; then
        echo "FAIL fuzz.diff-decode: build/p2m missing (make)"
    elif ! /usr/bin/python3 -c 'import google.protobuf' 2>/dev/null; then
        echo "FAIL fuzz.diff-decode: /usr/bin/python3 cannot import google.protobuf" \
            "(python3-protobuf)"
    else
        /usr/bin/python3 tests/fuzz/diff_decode.py "$DIFF_N" > "$B/diff_decode.out" 2>&1
        rc=$?
        grep '^PASS \|^FAIL \|^# ' "$B/diff_decode.out" | head -12 > "$B/diff_decode.shown"
        cat "$B/diff_decode.shown"
        if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$B/diff_decode.out"; then
            echo "FAIL fuzz.diff-decode: exited $rc: $(tail -3 "$B/diff_decode.out" | tr '\n' ' ')"
        elif [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$B/diff_decode.shown"; then
            echo "FAIL fuzz.diff-decode: exited $rc (its FAIL lines: $B/diff_decode.out)"
        fi
    fi
}
job_diff_decode() { diff_decode_lines > "$B/report_diff_decode"; }

# the implementation once, with sanitizers and coverage, for every target
# but fuzz_regex (which reads the compiled pattern's internals)
FZSAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
NOCMP=""
[ "${FUZZ_TRACE_CMP:-1}" = 0 ] && NOCMP="-fno-sanitize-coverage=trace-cmp"
job_start build impl "$CC_CLANG" -std=c99 -g $OPT -I"$INC" \
    -fsanitize=fuzzer-no-link,address,undefined $NOCMP -fno-sanitize-recover=all \
    -c tests/c/p2m_impl.c -o "$B/impl.o"
# fuzz_regex (a whole implementation too) next, then the harnesses
case " $ONLY " in *" regex "*)
    job_start build fuzz_regex "$CC_CLANG" $CFLAGS $FZSAN $NOCMP -o "$B/fuzz_regex" \
        tests/fuzz/fuzz_regex.c ;;
esac
for t in $ONLY; do
    [ "$t" = regex ] && continue
    job_start build "fuzz_$t" "$CC_CLANG" $CFLAGS -DFZ_LINK_IMPL $SAN -c -o "$B/fuzz_$t.o" \
        "tests/fuzz/fuzz_$t.c"
done
[ "${FUZZ_BUILD_ONLY:-0}" = 1 ] || job_start job_diff_decode
job_wait
built_impl=0
[ -f "$B/impl.failed" ] || built_impl=1
report "$B/impl.failed"

# ---- stage 2: link and run -------------------------------------------------------
# align: each caller block at every offset, into $B/report_align
job_align() {
    build align_check "$CC_CLANG" $CFLAGS -DFZ_LINK_IMPL $SAN -o "$B/align_check" \
        tests/fuzz/align_check.c "$B/impl.o" || return
    for blk in engine state work output; do
        "$B/align_check" "$blk" > "$B/align_$blk.out" 2>&1
        rc=$?
        grep '^PASS \|^FAIL ' "$B/align_$blk.out"
        if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$B/align_$blk.out"; then
            echo "FAIL fuzz.align.$blk: $blk block at an offset not a multiple of 8:" \
                "sanitizer report (exit $rc):"
            show_crash "$B/align_$blk.out"
        fi
    done > "$B/report_align"
}

# target T: links fuzz_T (all but fuzz_regex), replays its regressions and
# fuzzes it from the seed corpus; its lines into $B/report_T
target_lines() {
    t=$1
    [ -f "$B/fuzz_$t.failed" ] && return
    if [ "$t" != regex ]; then
        [ "$built_impl" = 1 ] || return
        build "fuzz_$t.link" "$CC_CLANG" $FZSAN -o "$B/fuzz_$t" "$B/fuzz_$t.o" "$B/impl.o" ||
            return
    fi
    [ "${FUZZ_BUILD_ONLY:-0}" = 1 ] && return
    # regressions: every input of the target, in name order, in one process
    # (fuzz_state keeps its state across inputs, so a history of inputs
    # a-history-*-1, -2, -3 replays as found); a clean run passes
    reg=tests/corpus/regressions/$t
    if [ -d "$reg" ]; then
        set -- "$reg"/*
        if "$B/fuzz_$t" "$@" > "$B/reg_$t.out" 2>&1; then
            echo "PASS fuzz.$t.regressions ($# inputs)"
        else
            bad=$(grep -a '^Running: ' "$B/reg_$t.out" | tail -1 | sed 's/^Running: //')
            echo "FAIL fuzz.$t.regressions: crash or broken invariant at $bad (log $B/reg_$t.out)"
            show_crash "$B/reg_$t.out"
        fi
    fi
    # short fuzzing run from the seed corpus
    if [ "$KEEP" = 1 ]; then
        work=$B/corpus-$t
    else
        work=$B/run-$t
        rm -rf "$work"
    fi
    mkdir -p "$work" "$B/artifacts-$t"
    set -- -max_total_time="$SECS" -print_final_stats=1 -artifact_prefix="$B/artifacts-$t/" \
        -rss_limit_mb=1024
    [ "$RUNS" != 0 ] && set -- "$@" -runs="$RUNS"
    [ "$KEEP" = 1 ] || set -- "$@" -seed=1
    "$B/fuzz_$t" "$@" "$work" "tests/corpus/$t" > "$B/fuzz_$t.out" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$B/fuzz_$t.out")
    if [ "$rc" -ne 0 ]; then
        art=$(ls -t "$B/artifacts-$t/" 2>/dev/null | head -1)
        echo "FAIL fuzz.$t: finding after ${execs:-?} executions (exit $rc)," \
            "input $B/artifacts-$t/$art; log $B/fuzz_$t.out"
        show_crash "$B/fuzz_$t.out"
    elif [ -z "$execs" ] || [ "$execs" -eq 0 ]; then
        echo "FAIL fuzz.$t: no executions reported (log $B/fuzz_$t.out)"
    else
        echo "PASS fuzz.$t ($execs executions, ${SECS}s budget, no finding)"
    fi
}
job_target() { target_lines "$1" > "$B/report_$1"; }

[ "$built_impl" = 1 ] && job_start job_align
for t in $ONLY; do
    job_start job_target "$t"
done
job_wait

report "$B/align_check.failed" "$B/report_align"
for t in $ONLY; do
    # a harness is not compiled for want of the implementation object
    [ "$t" = regex ] || [ "$built_impl" = 1 ] || continue
    report "$B/fuzz_$t.failed" "$B/fuzz_$t.link.failed" "$B/report_$t"
done
[ "${FUZZ_BUILD_ONLY:-0}" = 1 ] || report "$B/report_diff_decode"

[ "$fails" -eq 0 ]

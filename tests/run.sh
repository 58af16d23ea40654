#!/bin/sh
# SPDX-License-Identifier: MIT
# The one test runner. Every tests/suite-*.sh prints one line per check,
# "PASS <name>" or "FAIL <name>: <why>"; this script runs them and reports
# them in order, ending with the line "N passed, N failed". Each suite's line
# gives its time in seconds (from its start to its end), to show where the
# run's time goes. A suite that exits non-zero without printing a FAIL line
# counts as one failure, so nothing fails quietly.
#
# The suites in ALONE run one at a time: they keep both processors busy on
# their own (tests/jobs.sh, make -j2). The others, mostly one process at a
# time, run two at a time (P2M_TEST_JOBS sets how many, as in tests/jobs.sh),
# each writing its own directory under build/; each ALONE suite waits for
# them to finish first.
set -u
cd "$(dirname "$0")/.." || exit 2
mkdir -p build
. tests/jobs.sh
ALONE=" bench c compile compile-image firmware fuzz install pprof regex s390x "
log=build/test.log
: > "$log"
passed=0
failed=0
started=""    # suites started in the background and not yet reported, in order

# run_suite SUITE: its output in build/NAME.out, exit code and seconds in
# build/NAME.rc and build/NAME.time
run_suite() {
    rs_name=$(basename "$1" .sh)
    rs_t0=$(date +%s)
    sh "$1" > "build/$rs_name.out" 2>&1
    echo $? > "build/$rs_name.rc"
    echo $(($(date +%s) - rs_t0)) > "build/$rs_name.time"
}

report() {
    r_name=$(basename "$1" .sh)
    r_out=build/$r_name.out
    r_rc=$(cat "build/$r_name.rc" 2>/dev/null || echo 99) # 99: it never finished
    echo "== $1"
    cat "$r_out" >> "$log"
    p=$(grep -c '^PASS ' "$r_out")
    f=$(grep -c '^FAIL ' "$r_out")
    grep '^FAIL ' "$r_out"
    if [ "$r_rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $1: exited $r_rc without a FAIL line; last lines:"
        tail -n 15 "$r_out"
        f=1
    fi
    echo "   $p passed, $f failed, $(cat "build/$r_name.time" 2>/dev/null || echo '?') s"
    passed=$((passed + p))
    failed=$((failed + f))
}

# flush: waits for the suites running in the background, then reports them
flush() {
    job_wait
    for f_suite in $started; do report "$f_suite"; done
    started=""
}

for suite in tests/suite-*.sh; do
    [ -f "$suite" ] || continue
    name=$(basename "$suite" .sh)
    rm -f "build/$name.rc" "build/$name.time"
    case $ALONE in
    *" ${name#suite-} "*)
        flush
        run_suite "$suite"
        report "$suite"
        ;;
    *)
        job_start run_suite "$suite"
        started="$started $suite"
        ;;
    esac
done
flush
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

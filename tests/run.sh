#!/bin/sh
# SPDX-License-Identifier: MIT
# The one test runner. Every tests/suite-*.sh prints one line per check,
# "PASS <name>" or "FAIL <name>: <why>"; this script runs them in order and
# ends with the line "N passed, N failed". Each suite's line gives its
# time in seconds, to show where the run's time goes. A suite that exits non-zero
# without printing a FAIL line counts as one failure, so nothing fails quietly.
set -u
cd "$(dirname "$0")/.." || exit 2
mkdir -p build
log=build/test.log
: > "$log"
passed=0
failed=0
for suite in tests/suite-*.sh; do
    [ -f "$suite" ] || continue
    echo "== $suite"
    out=build/$(basename "$suite" .sh).out
    t0=$(date +%s)
    sh "$suite" > "$out" 2>&1
    rc=$?
    t1=$(date +%s)
    cat "$out" >> "$log"
    p=$(grep -c '^PASS ' "$out")
    f=$(grep -c '^FAIL ' "$out")
    grep '^FAIL ' "$out"
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $suite: exited $rc without a FAIL line; last lines:"
        tail -n 15 "$out"
        f=1
    fi
    echo "   $p passed, $f failed, $((t1 - t0)) s"
    passed=$((passed + p))
    failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

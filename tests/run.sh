#!/bin/sh
# SPDX-License-Identifier: MIT
# The one test runner. Every tests/suite-*.sh prints one line per check,
# "PASS <name>" or "FAIL <name>: <why>"; this script runs them in order and
# ends with the line "N passed, N failed". A suite that exits non-zero
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
    sh "$suite" > "$out" 2>&1
    rc=$?
    cat "$out" >> "$log"
    p=$(grep -c '^PASS ' "$out")
    f=$(grep -c '^FAIL ' "$out")
    grep '^FAIL ' "$out"
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $suite: exited $rc without a FAIL line; last lines:"
        tail -n 15 "$out"
        f=1
    fi
    echo "   $p passed, $f failed"
    passed=$((passed + p))
    failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

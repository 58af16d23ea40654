#!/bin/sh
# SPDX-License-Identifier: MIT
# The JavaScript binding (bindings/js): the .wasm built by `make js`, then
# the tests under bindings/js/test with Node's test runner (in Node, in
# worker threads, and in headless Chromium from a loopback server), against
# what build/p2m writes for the cases of tests/bindings/cases.py. The
# runner's reporter prints PASS/FAIL lines.
cd "$(dirname "$0")/.." || exit 2
OUT=build/bindings
mkdir -p "$OUT"
if ! command -v node >/dev/null 2>&1; then
    echo "FAIL js-node: node not found (Debian: nodejs; tools/install-deps.sh)"
    exit 1
fi
if [ ! -x build/p2m ]; then
    make -s build/p2m >/dev/null 2>&1 || true
fi
if make -s js > "$OUT/wasm.log" 2>&1; then
    echo "PASS js-wasm-builds"
else
    echo "FAIL js-wasm-builds: make js: $(tail -n 5 "$OUT/wasm.log")"
    exit 1
fi
if ! /usr/bin/python3 tests/bindings/cases.py "$OUT/cases" > "$OUT/cases.log" 2>&1; then
    echo "FAIL js-cases: tests/bindings/cases.py failed: $(tail -n 5 "$OUT/cases.log")"
    exit 1
fi
# glibc's text of doubles, for the test of the module's formatDouble
if ! ${CC:-cc} -std=c99 -O2 -o "$OUT/doubles" tests/bindings/doubles.c > "$OUT/doubles.log" 2>&1 ||
   ! "$OUT/doubles" 100000 > "$OUT/cases/doubles.txt"; then
    echo "FAIL js-doubles: tests/bindings/doubles.c: $(tail -n 3 "$OUT/doubles.log")"
    exit 1
fi
cd bindings/js || exit 2
P2M_CASES="$(cd ../../"$OUT"/cases && pwd)" exec node --test \
    --test-reporter=./scripts/p2m-reporter.mjs test/convert.test.js test/browser.test.js

#!/bin/sh
# SPDX-License-Identifier: MIT
# Regex engine (SPEC section 4): table tests of every syntax element and
# error message (built-in, PCRE2 backend, P2M_NO_REGEX stubs, C++, clang with
# ASan/UBSan), the step-count complexity test, and the differential test
# against libpcre2-8. Needs libpcre2-dev, g++ and clang: a missing one is a FAIL.
set -u
cd "$(dirname "$0")/.." || exit 2
B=build/regex
mkdir -p "$B"
failed=0
if ! make -s regex-build > "$B/build.log" 2>&1; then
    echo "FAIL regex-build: make regex-build failed (libpcre2-dev, g++, clang installed?):"
    tail -n 20 "$B/build.log"
    exit 1
fi
echo "PASS regex-build"
for t in regex_table regex_table_pcre regex_table_noregex regex_table_cxx regex_table_clang regex_complexity; do
    "$B/$t" > "$B/$t.out" 2>&1
    rc=$?
    cat "$B/$t.out"
    if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$B/$t.out"; then
        echo "FAIL $t: exited $rc"
    fi
    [ "$rc" -eq 0 ] || failed=1
done
# differential: built-in vs PCRE2, and the PCRE2 backend vs plain PCRE2
# (and a shorter run under ASan/UBSan)
for d in "regex_diff 300000 20261122" "regex_diff_pcre 100000 7" "regex_diff_asan 30000 3"; do
    set -- $d
    out=$("$B/$1" "$2" "$3" 2>&1)
    rc=$?
    last=$(printf '%s\n' "$out" | tail -n 1)
    if [ "$rc" -eq 0 ] && printf '%s\n' "$last" | grep -q ' 0 mismatches$'; then
        echo "PASS $1 ($last)"
    else
        echo "FAIL $1: $last"
        printf '%s\n' "$out" | head -n 10
        failed=1
    fi
done
exit $failed

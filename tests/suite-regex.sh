#!/bin/sh
# SPDX-License-Identifier: MIT
# Regex engine (docs/spec.md section 4): table tests of every syntax element and
# error message (built-in, PCRE2 backend, P2M_NO_REGEX stubs, C++, clang with
# ASan/UBSan), the step-count complexity test, and the differential test
# against libpcre2-8. Needs libpcre2-dev, g++ and clang: a missing one is a FAIL.
set -u
cd "$(dirname "$0")/.." || exit 2
B=build/regex
mkdir -p "$B"
failed=0
. tests/jobs.sh
# the binaries are independent: built JOBS_MAX at a time, each one's
# messages kept together in the log (-Otarget)
if ! make -s -j"$JOBS_MAX" -Otarget regex-build > "$B/build.log" 2>&1; then
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
# p2m match: output and exit codes (0 all matched, 1 one did not, 2 bad pattern)
M="$B/regex_match"
check_match() { # name, expected exit, expected output, args...
    name=$1 want_rc=$2 want_out=$3
    shift 3
    got=$("$M" "$@" 2>&1)
    rc=$?
    if [ "$rc" -eq "$want_rc" ] && [ "$got" = "$want_out" ]; then
        echo "PASS regex-match-$name"
    else
        echo "FAIL regex-match-$name: exit $rc, output: $got (want exit $want_rc, output: $want_out)"
        failed=1
    fi
}
check_match extract 0 '"checkout-7d9f8b-x2kq": match, value "checkout" (bytes 0..8)' \
    '^(.*)-[a-z0-9]+-[a-z0-9]+$' checkout-7d9f8b-x2kq
check_match nomatch 1 '"checkout-7d9f8b-x2kq": match, value "checkout" (bytes 0..8)
"checkout": no match' '^(.*)-[a-z0-9]+-[a-z0-9]+$' checkout-7d9f8b-x2kq checkout
check_match whole 0 '"libjvm.so": match, value "jvm" (bytes 3..6)' 'jvm|python' libjvm.so
check_match nogroup 0 '"b": match, no value (group 1 did not take part)' '(a)|b' b
check_match badpattern 2 'p2m: pattern "a(b": position 3: missing )' 'a(b' x
check_match lookahead 2 'p2m: pattern "a(?=b)": position 1: look-around (?= (?! (?<= (?<! not supported' 'a(?=b)' ab
check_match usage 2 "p2m: no pattern given (p2m match PATTERN SUBJECT...)
Try 'p2m match --help'."

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

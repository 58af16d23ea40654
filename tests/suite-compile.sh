#!/bin/sh
# SPDX-License-Identifier: MIT
# Compile matrix of profile2metrics.h (tests/c/compile, build/c/compile):
# C99 and C11 with gcc and clang, C++11 and C++17 with g++ and clang++, all
# with the project's warnings and -Werror. For each dialect:
#   link     impl.c + user1.c + user2.c linked together (no duplicate or
#            missing symbols) and run
#   once     header without, then twice with P2M_IMPLEMENTATION in one TU
#   <option> option.c built with each entry of OPTIONS below
# plus the implementation compiled as C and used from C++ (extern "C").
# At most 2 jobs at a time. A missing compiler is a FAIL.
#
# To add an option build, add a line to OPTIONS: name|cflags|libs
cd "$(dirname "$0")/.." || exit 2
# P2M_INC: directory of the profile2metrics.h under test (default: the repo's)
INC=${P2M_INC:-.}
H="$INC/profile2metrics.h"
OPTIONS="
static|-DP2M_STATIC|
no_errmsg|-DP2M_NO_ERRMSG|
static_no_errmsg|-DP2M_STATIC -DP2M_NO_ERRMSG|
"
# Options that exist only once the header has them (checked by name):
grep -q 'P2M_NO_REGEX' "$H" && OPTIONS="$OPTIONS
no_regex|-DP2M_NO_REGEX|"
grep -q 'P2M_USE_PCRE2' "$H" && OPTIONS="$OPTIONS
pcre2|-DP2M_USE_PCRE2|-lpcre2-8"
grep -q 'P2M_NO_STDIO' "$H" && OPTIONS="$OPTIONS
no_stdio|-DP2M_NO_STDIO|"
grep -q 'P2M_NO_CUMULATIVE' "$H" && OPTIONS="$OPTIONS
no_cumulative|-DP2M_NO_CUMULATIVE|"
grep -q 'P2M_NO_FUNCTION' "$H" && OPTIONS="$OPTIONS
no_function|-DP2M_NO_FUNCTION|
minimal|-DP2M_NO_REGEX -DP2M_NO_ERRMSG -DP2M_NO_CUMULATIVE -DP2M_NO_FUNCTION -DP2M_MAX_EXTRA=0 -DP2M_STATIC|"
grep -q 'P2M_NO_COMPILE' "$H" && OPTIONS="$OPTIONS
no_compile|-DP2M_NO_COMPILE|
no_float|-DP2M_NO_FLOAT|
runtime_min|-DP2M_NO_COMPILE -DP2M_NO_REGEX -DP2M_NO_ERRMSG -DP2M_NO_CUMULATIVE -DP2M_NO_FUNCTION -DP2M_MAX_EXTRA=0 -DP2M_STATIC|"
grep -q 'P2M_MAX_EXTRA' "$H" && OPTIONS="$OPTIONS
no_extra|-DP2M_MAX_EXTRA=0|
many_extra|-DP2M_MAX_EXTRA=64|"

WARN="-Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Wcast-qual -Wundef -Werror"
SRC=tests/c/compile
B=build/c/compile
rm -rf "$B"
mkdir -p "$B/jobs"
fails=0

if ! grep -q '^#ifdef P2M_IMPLEMENTATION' "$H"; then
    echo "FAIL compile.header: profile2metrics.h has no implementation section yet"
    exit 1
fi

njob=0
# job NAME COMMAND-LINE: one shell line; PASS when it exits 0
job() {
    njob=$((njob + 1))
    id=$(printf '%03d' "$njob")
    {
        echo "cd '$PWD' || exit 2"
        echo "if { $2 ; } > $B/jobs/$id.log 2>&1; then echo 'PASS $1' > $B/jobs/$id.res;"
        echo "else echo \"FAIL $1: \$(grep -m1 -i 'error' $B/jobs/$id.log || head -n1 $B/jobs/$id.log)\" > $B/jobs/$id.res;"
        echo "sed 's/^/# /' $B/jobs/$id.log | head -n 20 >> $B/jobs/$id.res; fi"
    } > "$B/jobs/$id.sh"
}

have() { command -v "$1" >/dev/null 2>&1; }

# dialect NAME COMPILER STDFLAG LANGFLAG OPTLEVEL ALL_OPTIONS
# ALL_OPTIONS=1 builds every entry of OPTIONS, 0 only P2M_STATIC (the one
# whose warnings differ most between dialects), to keep the matrix fast.
# OPTLEVEL -O2 for gcc C99 (gcc has warnings that need the optimiser;
# clang's are all front-end), -O0 for the rest to keep the matrix fast.
dialect() {
    name=$1 cc=$2 std=$3 lang=$4 opt=$5 all=$6
    if ! have "$cc"; then
        echo "FAIL compile.$name: compiler '$cc' not found (run make deps)"
        fails=$((fails + 1))
        return
    fi
    o="$B/$name"
    flags="$lang $std $opt $WARN -I$INC"
    job "compile.$name.link" "$cc $flags -c $SRC/impl.c -o $o.impl.o && $cc $flags -c $SRC/user1.c -o $o.user1.o && $cc $flags -c $SRC/user2.c -o $o.user2.o && $cc $o.impl.o $o.user1.o $o.user2.o -o $o.link && $o.link"
    job "compile.$name.once" "$cc $flags $SRC/once.c -o $o.once && $o.once"
    echo "$OPTIONS" | while IFS='|' read -r oname ocflags olibs; do
        [ -n "$oname" ] || continue
        echo "$oname|$ocflags|$olibs"
    done > "$B/options.txt"
    while IFS='|' read -r oname ocflags olibs; do
        [ "$all" = 1 ] || [ "$oname" = static ] || continue
        job "compile.$name.$oname" "$cc $flags $ocflags $SRC/option.c -o $o.$oname $olibs && $o.$oname"
    done < "$B/options.txt"
}

dialect gcc.c99 gcc -std=c99 "-x c" -O2 1
dialect gcc.c11 gcc -std=c11 "-x c" -O0 0
dialect clang.c99 clang -std=c99 "-x c" -O0 1
dialect clang.c11 clang -std=c11 "-x c" -O0 0
dialect g++.c++11 g++ -std=c++11 "-x c++" -O0 1
dialect g++.c++17 g++ -std=c++17 "-x c++" -O0 0
dialect clang++.c++11 clang++ -std=c++11 "-x c++" -O0 0
dialect clang++.c++17 clang++ -std=c++17 "-x c++" -O0 1

# C implementation, C++ users: the declarations must have C linkage.
if have gcc && have g++; then
    job "compile.mixed.c_impl_cxx_users" "gcc -x c -std=c99 -O0 $WARN -I$INC -c $SRC/impl.c -o $B/mixed.impl.o && g++ -x c++ -std=c++11 -O2 $WARN -I$INC -c $SRC/user1.c -o $B/mixed.user1.o && g++ -x c++ -std=c++11 -O2 $WARN -I$INC -c $SRC/user2.c -o $B/mixed.user2.o && g++ $B/mixed.impl.o $B/mixed.user1.o $B/mixed.user2.o -o $B/mixed && $B/mixed"
fi

if [ "$njob" -gt 0 ]; then
    ls "$B"/jobs/*.sh | xargs -P 2 -n 1 sh
    for r in "$B"/jobs/*.res; do
        if [ ! -f "$r" ]; then
            echo "FAIL compile.runner: a job left no result ($r)"
            fails=$((fails + 1))
            continue
        fi
        cat "$r"
        grep -q '^FAIL ' "$r" && fails=$((fails + 1))
    done
    n_res=$(ls "$B"/jobs/*.res 2>/dev/null | wc -l)
    if [ "$n_res" -ne "$njob" ]; then
        echo "FAIL compile.runner: $njob jobs, $n_res results"
        fails=$((fails + 1))
    fi
fi
[ "$fails" -eq 0 ]

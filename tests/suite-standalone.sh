#!/bin/sh
# SPDX-License-Identifier: MIT
# The repository stands on its own: its tracked files (as they are in the
# working tree, uncommitted changes included) are copied into a fresh
# directory under /tmp with nothing next to it, p2m and the C API test are
# built there, and the checks that read the real captures run from that copy:
#   standalone.copy          the copy holds the real captures, no build/, and
#                            no shared folder stands next to it
#   standalone.no-outside-refs  no file of the copy names the shared folder
#                            next to the repository (a "../" + "shared" path)
#   standalone.build         make build/p2m in the copy
#   standalone.c.*           test_api on the real capture, against the totals
#                            tests/c/real_expect.py gets from Google protobuf
#   standalone.convert.*     the real-capture checks of tests/test_convert.py
#   standalone.cli.*         tests/suite-cli.sh (its conversions read the captures)
# The copy is removed at the end, also when a check fails.
set -u
cd "$(dirname "$0")/.." || exit 2
PY=/usr/bin/python3
WARN="-Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Wcast-qual -Wundef"
fails=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; fails=$((fails + 1)); }

for t in tar make gcc protoc; do
    command -v "$t" >/dev/null 2>&1 || { fail "standalone.tools" "$t not found (make deps)"; exit 1; }
done
if [ ! -f /usr/include/protobuf-c/protobuf-c.h ] || ! $PY -c 'import google.protobuf' 2>/dev/null; then
    fail "standalone.tools" "libprotobuf-c-dev or python3-protobuf missing (make deps)"
    exit 1
fi

TMP=$(mktemp -d /tmp/p2m-standalone.XXXXXX) || { fail "standalone.tmp" "mktemp failed"; exit 1; }
trap 'rm -rf "$TMP"' EXIT
trap 'exit 2' HUP INT TERM
R=$TMP/repo
mkdir "$R"

# The files git tracks, read from the working tree; outside a git checkout
# (an unpacked release, say), every file but build/.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # (a tracked file deleted in the working tree is left out, as a commit would)
    git ls-files -z --deleted > "$TMP/deleted"
    if ! git ls-files -z | $PY -c '
import sys
deleted = set(open(sys.argv[1], "rb").read().split(b"\0"))
names = [n for n in sys.stdin.buffer.read().split(b"\0") if n and n not in deleted]
sys.stdout.buffer.write(b"\0".join(names) + b"\0")' "$TMP/deleted" |
         tar --null -T - -cf - | tar -xf - -C "$R"; then
        fail "standalone.copy" "copying the tracked files failed"
        exit 1
    fi
else
    if ! tar --exclude=./build -cf - . | tar -xf - -C "$R"; then
        fail "standalone.copy" "copying the tree failed"
        exit 1
    fi
fi

why=""
for f in sig-profiling-profile.otlp sig-profiling-k8s.otlp LICENSE README.md; do
    [ -f "$R/tests/data/real/$f" ] || why="$why tests/data/real/$f missing from the copy (not tracked?);"
done
[ -e "$R/build" ] && why="$why build/ was copied;"
[ -e "$TMP/shared" ] && why="$why a shared folder stands next to the copy;"
if [ -z "$why" ]; then pass standalone.copy; else fail standalone.copy "$why"; fi

# The pattern is split so that this file does not match it.
hits=$(cd "$R" && grep -rnI -- "\.\./""shared" . | head -5)
if [ -z "$hits" ]; then pass standalone.no-outside-refs
else fail standalone.no-outside-refs "$(echo "$hits" | tr '\n' ' ')"; fi

if (cd "$R" && make -s build/p2m) > "$TMP/make.log" 2>&1 && [ -x "$R/build/p2m" ]; then
    pass standalone.build
else
    fail standalone.build "$(tail -n 5 "$TMP/make.log" | tr '\n' ' ')"
    exit 1
fi

# C API: test_api with the real capture and its expected totals, built and
# run in the copy the way tests/suite-c.sh does it.
B=$R/build/c
mkdir -p "$B/gen" "$B/py"
# shellcheck disable=SC2086
if (cd "$R" &&
    protoc --c_out="$B/gen" -Iproto proto/metrics.proto &&
    protoc --python_out="$B/py" -Iproto proto/profiles_v1_8.proto &&
    gcc -std=c99 -O1 -I. -c tests/c/p2m_impl.c -o "$B/impl.o" &&
    gcc -std=c11 -O1 -I"$B/gen" -c "$B/gen/metrics.pb-c.c" -o "$B/metrics.pb-c.o" &&
    gcc -std=c11 -O1 $WARN -Werror -I. -Itests/c -isystem "$B/gen" -o "$B/test_api" \
        tests/c/test_api.c "$B/metrics.pb-c.o" "$B/impl.o" -lprotobuf-c -lm) > "$TMP/c.log" 2>&1
then
    pass standalone.c.build
    real=tests/data/real/sig-profiling-profile.otlp
    if expect=$(cd "$R" && $PY tests/c/real_expect.py "$B/py" "$real" 2> "$TMP/expect.log"); then
        # shellcheck disable=SC2086
        (cd "$R" && "$B/test_api" "$real" $expect) > "$TMP/api.out" 2>&1
        if grep -q '^PASS c.api.real_capture$' "$TMP/api.out" && ! grep -q '^FAIL ' "$TMP/api.out"; then
            pass standalone.c.real_capture
        else
            fail standalone.c.real_capture "$(grep '^FAIL ' "$TMP/api.out" | head -3 | tr '\n' ' ')"
        fi
    else
        fail standalone.c.real_capture "real_expect.py: $(tail -n 3 "$TMP/expect.log" | tr '\n' ' ')"
    fi
else
    fail standalone.c.build "$(tail -n 5 "$TMP/c.log" | tr '\n' ' ')"
fi

# test_convert.py's real-capture checks (they read tests/data/real of the copy
# and run the copy's build/p2m)
(cd "$R" && env -u P2M $PY tests/test_convert.py real_capture) > "$TMP/convert.out" 2>&1
n=$(grep -c '^PASS real_capture' "$TMP/convert.out")
if [ "$n" -ge 3 ] && ! grep -q '^FAIL ' "$TMP/convert.out"; then
    pass "standalone.convert.real_captures"
else
    fail "standalone.convert.real_captures" "$n passed; $(grep '^FAIL \|Error' "$TMP/convert.out" | head -3 | tr '\n' ' ')"
fi

# the CLI suite, whose conversions read the real captures
(cd "$R" && env -u P2M sh tests/suite-cli.sh) > "$TMP/cli.out" 2>&1
rc=$?
n=$(grep -c '^PASS ' "$TMP/cli.out")
if [ "$rc" -eq 0 ] && [ "$n" -gt 0 ] && ! grep -q '^FAIL ' "$TMP/cli.out"; then
    pass "standalone.cli"
else
    fail "standalone.cli" "exit $rc, $n passed; $(grep '^FAIL ' "$TMP/cli.out" | head -3 | tr '\n' ' ')"
fi

[ "$fails" -eq 0 ]

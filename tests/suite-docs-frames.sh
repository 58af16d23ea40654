#!/bin/sh
# SPDX-License-Identifier: MIT
# The recipe "Where the CPU goes" of docs/configuration.md: the YAML shown
# there is examples/where-the-cpu-goes.yaml byte for byte, `p2m validate`
# accepts it, and converting the real eBPF capture
# tests/data/real/sig-profiling-profile.otlp with it gives the attributes
# and totals the recipe promises. The expected totals are computed in
# tests/docs_frames_check.py from Google protobuf's decode of the capture,
# by the rules of docs/spec.md §5.2 and §4.4, never by p2m.
# Scratch files in build/docs-frames.
cd "$(dirname "$0")/.." || exit 2
PY=/usr/bin/python3
P2M=${P2M:-build/p2m}
T=build/docs-frames
RECIPE=examples/where-the-cpu-goes.yaml
REAL=tests/data/real/sig-profiling-profile.otlp
failed=0

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; failed=1; }

mkdir -p "$T"
[ -x "$P2M" ] || make -s build/p2m >/dev/null 2>&1
if [ ! -x "$P2M" ]; then
    echo "FAIL docs-frames-build: build/p2m could not be built"
    exit 1
fi
if ! $PY -c 'import google.protobuf' 2>/dev/null; then
    echo "FAIL docs-frames-deps: $PY cannot import google.protobuf (python3-protobuf)"
    exit 1
fi
if ! command -v protoc >/dev/null 2>&1; then
    echo "FAIL docs-frames-deps: protoc not found (protobuf-compiler)"
    exit 1
fi

# The recipe's YAML in the docs is the checked file, not a copy that drifts.
if $PY tests/docs_frames_check.py docs-block docs/configuration.md "Recipe: Where the CPU goes" \
        > "$T/block.yaml" 2> "$T/block.err"; then
    if cmp -s "$T/block.yaml" "$RECIPE"; then
        pass "docs-frames-recipe-is-the-example"
    else
        fail "docs-frames-recipe-is-the-example" \
            "the YAML block under 'Recipe: Where the CPU goes' differs from $RECIPE: $(diff "$T/block.yaml" "$RECIPE" | head -c 300)"
    fi
else
    fail "docs-frames-recipe-is-the-example" "$(head -c 300 "$T/block.err")"
fi

# validate: exit 0, "ok", the four frame keys in the order written
"$P2M" validate -c "$RECIPE" > "$T/validate.out" 2> "$T/validate.err"
rc=$?
if [ "$rc" -ne 0 ]; then
    fail "docs-frames-validate" "exit $rc, expected 0; stderr: $(head -c 300 "$T/validate.err")"
elif [ "$(tail -n 1 "$T/validate.out")" != "ok" ]; then
    fail "docs-frames-validate" "last line is not ok: $(tail -n 1 "$T/validate.out")"
else
    keys=$(sed -n 's/^ *[0-9][0-9]*\. \([^ ]*\) .*/\1/p' "$T/validate.out" | tr '\n' ' ')
    if [ "$keys" = "frame.type frame.kind frame.library frame.syscall " ]; then
        pass "docs-frames-validate"
    else
        fail "docs-frames-validate" "attribute keys in validate's list: '$keys'"
    fi
fi

# convert the real capture; compare with the independent computation
conv() { # NAME CONFIG: output in $T/NAME.otlp
    "$P2M" convert -c "$2" -o "$T/$1.otlp" "$REAL" > "$T/$1.out" 2> "$T/$1.err"
    rc=$?
    if [ "$rc" -ne 0 ]; then
        fail "docs-frames-$1" "p2m convert exit $rc, expected 0; stderr: $(head -c 300 "$T/$1.err")"
        return 1
    fi
    return 0
}
if conv convert "$RECIPE"; then
    $PY tests/docs_frames_check.py recipe "$REAL" "$T/convert.otlp" "^runtime\\.gc" || failed=1
fi

# The same recording rule with a pattern this capture does match (it has no
# GC frames): gc_cpu_time then holds the CPU time of the Go runtime's stacks.
sed 's/stack_pattern: "^runtime\\\\.gc"/stack_pattern: "^runtime\\\\.(mallocgc|schedule)$"/' \
    "$RECIPE" > "$T/pattern.yaml"
if ! grep -q 'mallocgc|schedule' "$T/pattern.yaml"; then
    fail "docs-frames-pattern" "could not rewrite the recipe's stack_pattern"
elif conv pattern "$T/pattern.yaml"; then
    $PY tests/docs_frames_check.py recipe "$REAL" "$T/pattern.otlp" '^runtime\.(mallocgc|schedule)$' \
        --need-pattern || failed=1
fi

# The table excerpt shown in the recipe is what p2m prints for the capture.
"$P2M" convert -c "$RECIPE" -f table "$REAL" > "$T/table.out" 2> "$T/table.err"
rc=$?
if [ "$rc" -ne 0 ]; then
    fail "docs-frames-table" "exit $rc, expected 0; stderr: $(head -c 300 "$T/table.err")"
elif ! $PY tests/docs_frames_check.py docs-block docs/configuration.md \
        "Recipe: Where the CPU goes" text > "$T/excerpt.txt" 2> "$T/excerpt.err"; then
    fail "docs-frames-table" "$(head -c 300 "$T/excerpt.err")"
elif [ ! -s "$T/excerpt.txt" ] || grep -vxF -f "$T/table.out" "$T/excerpt.txt" > "$T/missing.txt"; then
    fail "docs-frames-table" "the table excerpt in configuration.md is not what p2m prints; lines it lacks: $(head -c 300 "$T/missing.txt")"
else
    pass "docs-frames-table"
fi

[ "$failed" -eq 0 ]

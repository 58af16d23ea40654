#!/bin/sh
# SPDX-License-Identifier: MIT
# Frame rules, stack filter and stack_pattern of `p2m convert` (issue 22),
# checked against hand-worked values and against an independent computation
# over Google protobuf's decode of the real captures (tests/test_frames.py,
# which reuses the runner and readers of tests/test_convert.py).
cd "$(dirname "$0")/.." || exit 2
PY=/usr/bin/python3
if ! $PY -c 'import google.protobuf' 2>/dev/null; then
    echo "FAIL frames-suite: $PY cannot import google.protobuf (python3-protobuf)"
    exit 1
fi
if ! command -v protoc >/dev/null 2>&1; then
    echo "FAIL frames-suite: protoc not found (protobuf-compiler)"
    exit 1
fi
if [ ! -x build/p2m ]; then
    make -s build/p2m >/dev/null 2>&1 || true
fi
exec $PY tests/test_frames.py "$@"

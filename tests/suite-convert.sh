#!/bin/sh
# SPDX-License-Identifier: MIT
# Golden tests of `p2m convert` against hand-worked expectations, decoded
# with Google protobuf (tests/test_convert.py). Compiles proto/ into
# build/py itself; inputs of every check stay in build/golden/.
cd "$(dirname "$0")/.." || exit 2
PY=/usr/bin/python3
if ! $PY -c 'import google.protobuf' 2>/dev/null; then
    echo "FAIL convert-suite: $PY cannot import google.protobuf (python3-protobuf)"
    exit 1
fi
if ! command -v protoc >/dev/null 2>&1; then
    echo "FAIL convert-suite: protoc not found (protobuf-compiler)"
    exit 1
fi
mkdir -p build/py build/golden
if [ ! -x build/p2m ]; then
    make -s build/p2m >/dev/null 2>&1 || true
fi
exec $PY tests/test_convert.py "$@"

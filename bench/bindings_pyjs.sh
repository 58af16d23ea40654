#!/bin/sh
# SPDX-License-Identifier: MIT
# make bench-pyjs (bench/bindings_pyjs.sh): one request (default: the typical workload) converted
# through the C call, the Python binding and the WebAssembly binding in
# Node; prints ns per call and the ratios to C, writes build/bench-pyjs.json.
# The issue's bounds: Python at most 1.5x, WebAssembly in Node at most 2x.
#     sh bench/bindings.sh C_BIN PY_DIR FILE
set -eu
c_bin=$1 py_dir=$2 file=$3
rounds=${BENCH_ROUNDS:-7}
min_ms=${BENCH_PYJS_MIN_MS:-200}
c_ns=$("$c_bin" "$file" "$rounds" "$min_ms")
py_ns=$(PYTHONPATH="$py_dir" /usr/bin/python3 bench/bindings_py.py "$file" "$rounds" "$min_ms")
js_ns=$(node bench/bindings_js.mjs "$file" "$rounds" "$min_ms")
wasm_bytes=$(wc -c < bindings/js/dist/profile2metrics.wasm)
size=$(wc -c < "$file")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf 'bench-pyjs: %s (%d bytes), best of %d rounds of >= %d ms\n' \
    "$file" "$size" "$rounds" "$min_ms"
printf '  %-28s %12s %8s %8s\n' binding ns/call xC bound
printf '  %-28s %12d %8s %8s\n' "C p2m_convert" "$c_ns" 1.00 -
printf '  %-28s %12d %8s %8s\n' "Python (ctypes)" "$py_ns" "$(ratio "$py_ns" "$c_ns")" 1.5
printf '  %-28s %12d %8s %8s\n' "WebAssembly in Node $(node --version)" "$js_ns" \
    "$(ratio "$js_ns" "$c_ns")" 2.0
printf '  profile2metrics.wasm: %d bytes\n' "$wasm_bytes"
mkdir -p build
fmt='{"file":"%s","bytes":%d,"c_ns":%d,"python_ns":%d,"wasm_node_ns":%d,'
fmt=$fmt'"python_ratio":%s,"wasm_ratio":%s,"wasm_bytes":%d}\n'
# shellcheck disable=SC2059
printf "$fmt" "$file" "$size" "$c_ns" "$py_ns" "$js_ns" "$(ratio "$py_ns" "$c_ns")" \
    "$(ratio "$js_ns" "$c_ns")" "$wasm_bytes" \
    > build/bench-pyjs.json

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
$PY tests/test_frames.py "$@"
rc=$?
[ $# -eq 0 ] || exit $rc
# Again with the hash of a stack's properties narrowed to one bit: stacks
# with other properties then share the sample memo's key, and only the
# memo's exact comparison of their properties keeps their samples apart.
if ! make -s BUILD=build/collide CFLAGS="-O2 -DP2M_TEST_STACK_HASH_MASK=1" build/collide/p2m \
        > build/collide.log 2>&1; then
    echo "FAIL frames-collide-build: $(tail -n 3 build/collide.log)"
    exit 1
fi
out=$(P2M=build/collide/p2m $PY tests/test_frames.py \
    memo_tells_apart_stacks_of_other_properties \
    samples_sharing_stacks_across_threads_and_resources frame_rules_with_default \
    real_profile_cpu_by_type real_profile_cpu_by_kind real_profile_cpu_by_library \
    real_k8s_cpu_by_type real_k8s_cpu_by_kind real_k8s_cpu_by_library real_k8s_cpu_by_syscall \
    real_k8s_stack_filter 2>&1)
crc=$?
printf '%s\n' "$out" | sed 's/^\(PASS\|FAIL\) /\1 collide-/'
[ "$rc" -eq 0 ] && [ "$crc" -eq 0 ]

#!/bin/sh
# SPDX-License-Identifier: MIT
# A long fuzzing campaign of one target on one core: the target (built by
# tests/suite-fuzz.sh with FUZZ_BUILD_ONLY=1 into DIR) runs in slices of
# SLICE seconds, one process at a time, on the corpus DIR/corpus-TARGET
# (seeded from tests/corpus/TARGET and any further directories given), until
# TOTAL seconds have passed. After each slice one line is appended to
# DIR/campaign-TARGET.log: time, slice executions, total executions, exit
# status, and the header commit. A slice that ends with a finding keeps the
# input under DIR/artifacts-TARGET/ and the campaign goes on with a new seed.
# With EXECS=N in the environment the campaign also stops once N executions
# are reached.
#   sh tests/fuzz/campaign.sh DIR TARGET TOTAL SLICE [EXTRA-CORPUS...]
cd "$(dirname "$0")/../.." || exit 2
D=$1; T=$2; TOTAL=$3; SLICE=$4
shift 4
BIN=$D/fuzz_$T
[ -x "$BIN" ] || { echo "campaign: $BIN missing" >&2; exit 2; }
mkdir -p "$D/corpus-$T" "$D/artifacts-$T"
LOG=$D/campaign-$T.log
HDR=$(cat "$D/header-commit" 2>/dev/null || echo unknown)
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
start=$(date +%s)
total=0
slice=0
while :; do
    now=$(date +%s)
    left=$((TOTAL - (now - start)))
    [ "$left" -le 5 ] && break
    runs=-1
    if [ -n "${EXECS:-}" ]; then
        [ "$total" -ge "$EXECS" ] && break
        runs=$((EXECS - total))
    fi
    s=$SLICE
    [ "$left" -lt "$s" ] && s=$left
    slice=$((slice + 1))
    out=$D/campaign-$T.$slice.out
    "$BIN" -max_total_time="$s" -runs="$runs" -print_final_stats=1 -rss_limit_mb=1536 \
        -artifact_prefix="$D/artifacts-$T/" "$D/corpus-$T" "tests/corpus/$T" "$@" > "$out" 2>&1
    rc=$?
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out")
    total=$((total + ${n:-0}))
    echo "$(date -u +%H:%M:%S) $T slice $slice: ${n:-?} executions (${rate:-?}/s), total $total, exit $rc, header $HDR" >> "$LOG"
    [ "$rc" -ne 0 ] && grep -m3 'invariant\|ERROR:\|runtime error' "$out" >> "$LOG"
done
echo "$(date -u +%H:%M:%S) $T done: $total executions in $(( $(date +%s) - start )) s, header $HDR" >> "$LOG"

#!/bin/sh
# SPDX-License-Identifier: MIT
# make bench-bindings: one request converted through the C call
# (bench/bindings_c.c), the Go binding (bindings/go/bench: Convert, a new
# slice per call, and ConvertAppend into one reused buffer) and the Rust
# crate (bindings/rust/examples/bench.rs), all with the default
# configuration. Rounds are interleaved (C, Go, Go append, Rust, C, ...) so
# that a busy machine slows all of them alike; each round is one process converting for at least MIN_MS
# milliseconds of wall-clock time. The measure is CPU time per call, of all
# the process's threads (Go's garbage collector included), which a machine
# shared with other work disturbs far less than wall-clock time. Reports
# the median of each and the ratios to C, and writes
# build/bench-bindings.json.
#
#   sh bench/bindings.sh INPUT [ROUNDS [MIN_MS]]
set -u
cd "$(dirname "$0")/.." || exit 2
IN=${1:?usage: bench/bindings.sh INPUT [ROUNDS [MIN_MS]]}
ROUNDS=${2:-7}
MIN_MS=${3:-200}
B=$(pwd)/build/bench-bindings
mkdir -p "$B"
CC=${CC:-cc}
# a normal Go build and run: no cgocheck=2 or gctrace left in GODEBUG, no
# collector or processor settings from the calling shell
unset GODEBUG GOGC GOMEMLIMIT GOMAXPROCS

$CC -std=c99 -O2 -g -Wall -Wextra -Werror -I. -o "$B/c" bench/bindings_c.c || exit 1
(cd bindings/go && GOPROXY=off GOFLAGS=-mod=readonly go build -o "$B/go" ./bench) || exit 1
(cd bindings/rust && CARGO_TARGET_DIR="$(pwd)/../../build/bindings-rust/target" \
    cargo build --offline --release -j 1 --example bench -q) || exit 1
cp build/bindings-rust/target/release/examples/bench "$B/rust" || exit 1

: > "$B/rounds.txt"
r=0
while [ "$r" -lt "$ROUNDS" ]; do
    for who in c go goappend rust; do
        case $who in
        goappend) line=$(P2M_BENCH_GO_APPEND=1 "$B/go" "$IN" "$MIN_MS") ;;
        *) line=$("$B/$who" "$IN" "$MIN_MS") ;;
        esac || { echo "bench-bindings: $who failed" >&2; exit 1; }
        echo "$who $line" >> "$B/rounds.txt"
    done
    r=$((r + 1))
done

# the same output size everywhere, or the comparison is void
sizes=$(awk '{ print $9 }' "$B/rounds.txt" | sort -u | wc -l)
if [ "$sizes" -ne 1 ]; then
    echo "bench-bindings: the three wrote different output sizes:" >&2
    cat "$B/rounds.txt" >&2
    exit 1
fi

median() { # WHO
    awk -v w="$1" '$1 == w { print $3 }' "$B/rounds.txt" | sort -n |
        awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
c=$(median c)
go=$(median go)
ga=$(median goappend)
rust=$(median rust)
awk -v c="$c" -v g="$go" -v ga="$ga" -v r="$rust" -v input="$IN" -v n="$ROUNDS" -v out="$B/../bench-bindings.json" 'BEGIN {
    printf "bench-bindings: %s, median of %d interleaved rounds\n", input, n
    printf "  %-10s %12s %8s %8s\n", "", "CPU us/call", "ratio", "target"
    printf "  %-10s %12.1f %8s %8s\n", "C", c / 1000, "1.000", ""
    printf "  %-10s %12.1f %8.3f %8s %s\n", "Go", g / 1000, g / c, "1.15", (g / c <= 1.15 ? "within" : "OVER")
    printf "  %-10s %12.1f %8.3f %8s %s\n", "Go append", ga / 1000, ga / c, "1.15", (ga / c <= 1.15 ? "within" : "OVER")
    printf "  %-10s %12.1f %8.3f %8s %s\n", "Rust", r / 1000, r / c, "1.15", (r / c <= 1.15 ? "within" : "OVER")
    printf "{\"input\":\"%s\",\"rounds\":%d,\"cpu_ns_per_call\":{\"c\":%.0f,\"go\":%.0f,\"go_append\":%.0f,\"rust\":%.0f},", \
        input, n, c, g, ga, r > out
    printf "\"ratio\":{\"go\":%.4f,\"go_append\":%.4f,\"rust\":%.4f}}\n", g / c, ga / c, r / c > out
}'

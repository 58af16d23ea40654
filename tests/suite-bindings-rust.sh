#!/bin/sh
# SPDX-License-Identifier: MIT
# The Rust crate (bindings/rust): `cargo test --offline`, one PASS/FAIL line
# per Rust test. The tests compare every output with build/p2m
# (bindings/testdata/config.yaml), errors with p2m's offsets and messages,
# and share one converter between threads. Also checked: no dependency from
# any registry, `unsafe` only in src/ffi.rs, a build without warnings.
# A missing cargo is a FAIL (make deps installs it when absent).
cd "$(dirname "$0")/.." || exit 2
B=$(pwd)/build/bindings-rust
mkdir -p "$B"
fails=0
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
if ! command -v cargo >/dev/null 2>&1; then
    fail "rust.tools: 'cargo' not found (run make deps: cargo)"
    exit 1
fi
if [ ! -x build/p2m ]; then
    make -s build/p2m >/dev/null 2>&1 || { fail "rust.p2m: build/p2m does not build"; exit 1; }
fi
export CARGO_TARGET_DIR="$B/target" CARGO_NET_OFFLINE=true
cd bindings/rust || exit 2

# no registry: the dependency tree is the crate alone
tree=$(cargo tree --offline -e normal,build,dev --prefix none 2>&1)
if [ "$(echo "$tree" | wc -l)" -eq 1 ] && echo "$tree" | grep -q '^profile2metrics '; then
    echo "PASS rust.no-dependencies"
else
    fail "rust.no-dependencies: cargo tree: $(echo "$tree" | tr '\n' ' ' | head -c 300)"
fi

# unsafe blocks, fns and impls only in the ffi module
found=$(grep -nE 'unsafe[[:space:]]*(\{|fn|impl|extern)' build.rs src/*.rs tests/*.rs | grep -v '^src/ffi.rs:')
if [ -z "$found" ] && grep -q '^#!\[deny(unsafe_code)\]' src/lib.rs; then echo "PASS rust.unsafe-in-ffi-only"
else fail "rust.unsafe-in-ffi-only: $(echo "$found" | head -3 | tr '\n' ' ')"; fi

if cargo build --offline -j 1 --all-targets > "$B/build.log" 2>&1; then
    if grep -q '^warning' "$B/build.log"; then
        fail "rust.build: warnings: $(grep -A4 '^warning' "$B/build.log" | head -8 | tr '\n' ' ')"
    else
        echo "PASS rust.build"
    fi
else
    fail "rust.build: $(grep -A6 '^error' "$B/build.log" | head -12 | tr '\n' ' ')"
    exit 1
fi

cargo test --offline -j 1 --no-fail-fast -- --test-threads=1 > "$B/test.log" 2>&1
rc=$?
cd ../.. || exit 2
# "test NAME ... ok" / "test NAME ... FAILED"
sed -n 's/^test \(.*\) \.\.\. ok$/PASS rust.\1/p' "$B/test.log" | sed 's/ - (line [0-9]*) - compile//'
grep '^test .* \.\.\. FAILED$' "$B/test.log" | while read -r _ name _; do
    why=$(grep -A2 "^---- $name stdout ----" "$B/test.log" | tail -n 1)
    [ -n "$why" ] || why=$(grep -m1 -A1 "panicked" "$B/test.log" | tail -n 1)
    echo "FAIL rust.$name: $why"
done
nf=$(grep -c '^test .* \.\.\. FAILED$' "$B/test.log")
fails=$((fails + nf))
if [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; then
    fail "rust.test: cargo test exited $rc: $(tail -n 8 "$B/test.log" | tr '\n' ' ')"
fi
[ "$fails" -eq 0 ]

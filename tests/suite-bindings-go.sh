#!/bin/sh
# SPDX-License-Identifier: MIT
# The Go binding (bindings/go): `go test -race` offline (GOPROXY=off), one
# PASS/FAIL line per Go test. The tests compare every output with build/p2m
# (bindings/testdata/config.yaml), errors with p2m's offsets and messages,
# and run one converter from many goroutines under the race detector; a
# second run checks cgo's pointer rules in full (GODEBUG=cgocheck=2).
# A missing Go toolchain is a FAIL (make deps installs golang-go).
cd "$(dirname "$0")/.." || exit 2
B=build/bindings-go
mkdir -p "$B"
fails=0
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
if ! command -v go >/dev/null 2>&1; then
    fail "go.tools: 'go' not found (run make deps: golang-go)"
    exit 1
fi
if [ ! -x build/p2m ] || [ ! -f /usr/bin/python3 ]; then
    make -s build/p2m >/dev/null 2>&1 || { fail "go.p2m: build/p2m does not build"; exit 1; }
fi
export GOPROXY=off GOFLAGS=-mod=readonly CGO_ENABLED=1 GOTOOLCHAIN=local
# Go's build cache hashes the package's own files, not profile2metrics.h and
# bindings/shim outside it: a define with their hash makes a changed header
# a new cache key instead of a stale object compiled from an older one
sum=$(cat profile2metrics.h bindings/shim/p2m_shim.c bindings/shim/p2m_shim.h | cksum | cut -d' ' -f1)
export CGO_CFLAGS="${CGO_CFLAGS:--O2 -g} -DP2M_SOURCES_CKSUM=$sum"
cd bindings/go || exit 2

# standard library only: the module requires nothing
mods=$(go list -m all 2>&1)
if [ "$mods" = profile2metrics ]; then echo "PASS go.no-dependencies"
else fail "go.no-dependencies: go list -m all: $(echo "$mods" | tr '\n' ' ')"; fi

if go vet . > "../../$B/vet.log" 2>&1; then echo "PASS go.vet"
else fail "go.vet: $(head -c 400 "../../$B/vet.log" | tr '\n' ' ')"; fi
unformatted=$(gofmt -l .)
if [ -z "$unformatted" ]; then echo "PASS go.gofmt"
else fail "go.gofmt: not gofmt-formatted: $unformatted"; fi

# the full cgo pointer checks (GODEBUG=cgocheck=2): no Go pointer passed
# to C inside Go memory, none kept by C
if GODEBUG=cgocheck=2 go test -count=1 -p 1 . > "../../$B/cgocheck.log" 2>&1; then echo "PASS go.cgocheck2"
else fail "go.cgocheck2: $(grep -m3 -e panic -e FAIL -e 'cgo argument' "../../$B/cgocheck.log" | tr '\n' ' ')"; fi

go test -race -count=1 -p 1 -v . > "../../$B/test.log" 2>&1
rc=$?
cd ../.. || exit 2
# one line per test: --- PASS: TestX (0.01s) / --- FAIL: TestX (0.01s)
sed -n 's/^--- PASS: \([^ ]*\).*/PASS go.\1/p' "$B/test.log"
grep '^--- FAIL: ' "$B/test.log" | while read -r _ _ name _; do
    echo "FAIL go.$name: $(grep -A3 "^--- FAIL: $name " "$B/test.log" | sed -n '2,4p' | tr -s ' \n' '  ')"
done
nf=$(grep -c '^--- FAIL: ' "$B/test.log")
fails=$((fails + nf))
if [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; then
    fail "go.test: go test exited $rc: $(tail -n 8 "$B/test.log" | tr '\n' ' ')"
fi
if grep -q 'WARNING: DATA RACE' "$B/test.log"; then fail "go.race: the race detector reported a race"; fi
[ "$fails" -eq 0 ]

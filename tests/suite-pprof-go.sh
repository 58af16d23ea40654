#!/bin/sh
# SPDX-License-Identifier: MIT
# pprof input against Go's own pprof tool (issue 17). A small Go program
# (tests/pprof/gen, standard library only, built offline with Debian's
# golang-go) writes a CPU profile of three goroutines labelled with pprof.Do
# and a heap profile; `go tool pprof -raw` prints what Go itself reads from
# them, and tests/pprof/check_go.py compares that with p2m's metrics:
# cpu_time, memory_allocation, a declared inuse_space gauge, per-label
# totals, the cpu-once rule and the statistics, both through the library
# directly (tests/pprof/pprof_driver.c on the inflated bytes, its OTLP
# output decoded by Google protobuf; built with ASan and UBSan) and through
# `p2m convert` (gzip as Go wrote it, JSON output). A missing Go toolchain is a FAIL, never a skip.
cd "$(dirname "$0")/.." || exit 2
PY=/usr/bin/python3
P2M=${P2M:-build/p2m}
B=build/pprof-go
WARN="-Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Wcast-qual -Wundef"
fails=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; fails=$((fails + 1)); }

mkdir -p "$B/home" "$B/py"
# Go writes nothing outside build/: its cache, GOPATH and HOME are here, no
# module is fetched (GOPROXY=off, GOPATH mode, standard library only) and no
# go.env outside is read.
GOCACHE=$(pwd)/$B/gocache GOPATH=$(pwd)/$B/gopath HOME=$(pwd)/$B/home \
    PPROF_TMPDIR=$(pwd)/$B/home GOPROXY=off GO111MODULE=off GOTOOLCHAIN=local GOENV=off \
    GOFLAGS='' CGO_ENABLED=0
export GOCACHE GOPATH HOME PPROF_TMPDIR GOPROXY GO111MODULE GOTOOLCHAIN GOENV GOFLAGS CGO_ENABLED

if ! command -v go >/dev/null 2>&1; then
    fail "pprof-go.tools" "'go' not found: install Debian's golang-go (make deps)"
    exit 1
fi
for t in gcc clang protoc; do
    command -v "$t" >/dev/null 2>&1 || { fail "pprof-go.tools" "$t not found (make deps)"; exit 1; }
done
if ! $PY -c 'import google.protobuf' 2>/dev/null; then
    fail "pprof-go.tools" "$PY cannot import google.protobuf (python3-protobuf)"
    exit 1
fi
pass "pprof-go.tools"

# the generator: gofmt-clean, vetted, built
if [ -z "$(gofmt -l tests/pprof/gen)" ]; then pass "pprof-go.gofmt"
else fail "pprof-go.gofmt" "not gofmt-formatted: $(gofmt -l tests/pprof/gen | tr '\n' ' ')"; fi
if go vet tests/pprof/gen/main.go > "$B/vet.log" 2>&1; then pass "pprof-go.vet"
else fail "pprof-go.vet" "$(head -c 300 "$B/vet.log" | tr '\n' ' ')"; fi
if ! go build -o "$B/gen" tests/pprof/gen/main.go > "$B/build.log" 2>&1; then
    fail "pprof-go.build" "$(head -c 400 "$B/build.log" | tr '\n' ' ')"
    exit 1
fi
pass "pprof-go.build"

# the profiles: one core (GOMAXPROCS=1) for 3 seconds gives about 300 samples
rm -f "$B/cpu.pb.gz" "$B/heap.pb.gz"
if ! GOMAXPROCS=1 "$B/gen" -cpu 3s -memrate 512 "$B" > "$B/gen.log" 2>&1; then
    fail "pprof-go.generate" "$(head -c 400 "$B/gen.log" | tr '\n' ' ')"
    exit 1
fi
pass "pprof-go.generate"

# what Go's pprof reads from them (-symbolize=none: the names are in the files)
for p in cpu heap; do
    if ! go tool pprof -raw -symbolize=none "$B/$p.pb.gz" > "$B/$p.raw" 2> "$B/$p.raw.err"; then
        fail "pprof-go.raw-$p" "go tool pprof -raw: $(head -c 300 "$B/$p.raw.err" | tr '\n' ' ')"
        exit 1
    fi
    go tool pprof -top -symbolize=none "$B/$p.pb.gz" > "$B/$p.top" 2>&1
done
# each worker's samples as pprof's own label filter selects them
for w in a b c; do
    go tool pprof -raw -symbolize=none -tagfocus="worker=^$w\$" "$B/cpu.pb.gz" \
        > "$B/cpu-worker-$w.raw" 2>&1
done

# the library directly, without the CLI (built again every run: the header
# may have changed): warning-free with gcc, and run as a clang build under
# ASan and UBSan, so the pprof reader meets real Go profiles checked
rm -f "$B/pprof_driver"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# $WARN and $SAN are lists of flags: split on purpose
# shellcheck disable=SC2086
if ! grep -q 'p2m_pprof_convert' profile2metrics.h; then
    fail "pprof-go.driver" "profile2metrics.h has no p2m_pprof_convert yet (issue 17)"
elif ! gcc -std=c99 -O0 $WARN -Werror -I. -c -o /dev/null tests/pprof/pprof_driver.c \
        > "$B/driver.log" 2>&1; then
    fail "pprof-go.driver" "gcc: $(head -c 400 "$B/driver.log" | tr '\n' ' ')"
elif clang -std=c99 -O0 -g $WARN -Werror $SAN -I. -o "$B/pprof_driver" tests/pprof/pprof_driver.c \
        > "$B/driver.log" 2>&1; then
    pass "pprof-go.driver"
else
    fail "pprof-go.driver" "clang: $(head -c 400 "$B/driver.log" | tr '\n' ' ')"
fi

[ -x "$P2M" ] || make -s build/p2m >/dev/null 2>&1
if ! protoc -Iproto --python_out="$B/py" proto/metrics.proto > "$B/protoc.log" 2>&1; then
    fail "pprof-go.protoc" "$(head -c 300 "$B/protoc.log" | tr '\n' ' ')"
    exit 1
fi
# the driver's own buffers on its error paths are not the library's: no leak report
ASAN_OPTIONS=detect_leaks=0 PYTHONPATH="$B/py" $PY tests/pprof/check_go.py "$B" "$P2M"
rc=$?
[ "$rc" -eq 0 ] || fails=$((fails + 1))
[ "$fails" -eq 0 ]

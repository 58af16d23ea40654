#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages that `make test` (lint included) and `make bench` need.
# Idempotent: packages already present are not fetched again. Needs root
# (or sudo). `make demo` needs none of this: only a C compiler and make.
set -eu

PKGS="protobuf-compiler python3-protobuf libyaml-dev libpcre2-dev zlib1g-dev libzstd-dev zstd \
libprotobuf-dev libprotobuf-c-dev protobuf-c-compiler \
nanopb libnanopb-dev libprotozero-dev \
clang libclang-rt-14-dev valgrind g++ prometheus cppcheck clang-tidy \
libmicrohttpd-dev libcurl4-gnutls-dev libnghttp2-dev libgnutls28-dev python3-grpcio openssl curl \
nginx-light nghttp2-client \
gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm \
gcc-s390x-linux-gnu libc6-dev-s390x-cross qemu-user libprotobuf-c-dev:s390x \
gcc-i686-linux-gnu libc6-dev-i386-cross"
# Python and JavaScript bindings (tests/suite-bindings-python.sh,
# tests/suite-bindings-js.sh): venv for the offline pip install, Node for the
# ES module and its tests, lld for wasm-ld, Chromium for the browser test.
PKGS="$PKGS python3-venv nodejs lld chromium"
# Debian's golang-go, always: tests/suite-pprof-go.sh builds a Go program
# with it (standard library only, offline) that writes real CPU and heap
# profiles, and checks p2m's totals against its `go tool pprof`. The Go
# binding's tests use it too (it has the race detector).
PKGS="$PKGS golang-go"
# The Rust binding's tests need cargo; one already on PATH (rustup's, say)
# is used as it is.
command -v cargo >/dev/null 2>&1 || PKGS="$PKGS cargo"
# (gcc-multilib conflicts with the s390x cross compiler in Debian 12, so the
# 32-bit build uses the i686 cross compiler; libprotobuf-c-dev:s390x needs the
# s390x foreign architecture, added below)

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
        echo "install-deps: need root to install:$missing" >&2
        exit 1
    fi
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
case "$missing" in *:s390x*)
    dpkg --print-foreign-architectures | grep -qx s390x || $SUDO dpkg --add-architecture s390x ;;
esac
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing

# SPDX-License-Identifier: MIT
# The Go and Rust bindings (docs/bindings.md). Each builds the library from
# profile2metrics.h itself; these targets only run their tests.
#
# make test-go     tests/suite-bindings-go.sh (go test -race, GOPROXY=off)
# make test-rust   tests/suite-bindings-rust.sh (cargo test --offline)
.PHONY: test-go test-rust
test-go: $(BUILD)/p2m
	sh tests/suite-bindings-go.sh
test-rust: $(BUILD)/p2m
	sh tests/suite-bindings-rust.sh

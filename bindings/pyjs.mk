# SPDX-License-Identifier: MIT
# Python and JavaScript bindings (bindings/python, bindings/js), included
# by the top Makefile.
#   make js           bindings/js/dist/profile2metrics.wasm (clang --target=wasm32, no libc)
#   make py-wheel     a wheel of bindings/python in build/bindings/wheel
#   make test-bindings-python / test-bindings-js   their suites alone
.PHONY: js py-wheel test-bindings-python test-bindings-js

WASM_CC     ?= clang
WASM_LD     ?= wasm-ld
WASM_OUT    := bindings/js/dist/profile2metrics.wasm
WASM_CFLAGS := --target=wasm32 -nostdlib -O2 -std=c99 -mbulk-memory $(WARN) -I. \
               -DP2M_MEMCPY=__builtin_memcpy -DP2M_MEMSET=__builtin_memset
# The exports the ES module calls; everything else is dropped by --gc-sections.
WASM_EXPORTS := p2m_version p2m_status_string p2m_work_size p2m_convert p2m_state_size \
                p2m_aggregate p2m_write_json p2m_write_prom \
                p2m_pprof_work_size p2m_pprof_aggregate p2m_pprof_convert \
                p2m_state_init p2mb_scratch_size p2mb_compile p2mb_stats_flat p2mb_sizeof \
                p2mb_offsetof \
                __heap_base
WASM_LDFLAGS := --no-entry --gc-sections --strip-debug -z stack-size=1048576 \
                $(addprefix --export=,$(WASM_EXPORTS))

$(BUILD)/wasm:
	mkdir -p $@

$(BUILD)/wasm/p2m_binding.o: bindings/common/p2m_binding.c profile2metrics.h | $(BUILD)/wasm
	$(WASM_CC) $(WASM_CFLAGS) -c -o $@ $<
$(BUILD)/wasm/wasm_rt.o: bindings/js/src/wasm_rt.c | $(BUILD)/wasm
	$(WASM_CC) $(WASM_CFLAGS) -fno-builtin -c -o $@ $<
$(WASM_OUT): $(BUILD)/wasm/p2m_binding.o $(BUILD)/wasm/wasm_rt.o
	mkdir -p $(dir $@)
	$(WASM_LD) $(WASM_LDFLAGS) -o $@ $^
	@echo "$@: $$(wc -c < $@) bytes"

js: $(WASM_OUT)

py-wheel:
	rm -rf $(BUILD)/bindings/wheel && mkdir -p $(BUILD)/bindings/wheel
	/usr/bin/python3 -m pip wheel --no-index --no-deps -w $(BUILD)/bindings/wheel \
	    bindings/python

test-bindings-python: $(BUILD)/p2m
	sh tests/suite-bindings-python.sh
test-bindings-js: $(BUILD)/p2m
	sh tests/suite-bindings-js.sh

# make bench-pyjs: the typical workload through the C call, Python and
# WebAssembly in Node (bench/bindings_pyjs.sh); also run by `make bench`.
.PHONY: bench-pyjs
PYJS_BENCH_FILE ?= $(BUILD)/bench/typical.otlp
$(BUILD)/bench/bindings_pyjs_c: bench/bindings_pyjs_c.c profile2metrics.h
	@mkdir -p $(@D)
	$(CC) -std=c99 -O2 $(WARN) -I. -o $@ $<
$(BUILD)/bench/pyjs-site/.done: bindings/common/p2m_binding.c profile2metrics.h \
                                $(wildcard bindings/python/*/*.py)
	rm -rf $(@D) && mkdir -p $(@D)
	/usr/bin/python3 -m pip install --quiet --no-index --no-deps --target $(@D) bindings/python
	touch $@
bench-pyjs: $(BUILD)/bench/bindings_pyjs_c $(BUILD)/bench/pyjs-site/.done $(WASM_OUT) $(PYJS_BENCH_FILE)
	sh bench/bindings_pyjs.sh $(BUILD)/bench/bindings_pyjs_c $(BUILD)/bench/pyjs-site $(PYJS_BENCH_FILE)
bench: bench-pyjs

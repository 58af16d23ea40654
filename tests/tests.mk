# SPDX-License-Identifier: MIT
# Test rules, included by the top Makefile. Each room keeps its own block.

# ---- golden conversion tests (tests/test_convert.py) -------------------------
# Protos compiled for Python into build/py; inputs kept under build/golden.
.PHONY: test-convert golden-inputs
test-convert: $(BUILD)/p2m
	sh tests/suite-convert.sh

# Generated requests for manual runs and benchmarks (not committed).
golden-inputs:
	mkdir -p $(BUILD)/golden
	for s in small typical huge; do \
	    /usr/bin/python3 tools/gen_profiles.py --shape $$s -o $(BUILD)/golden/$$s.otlp || exit 1; \
	done
# ---- end of golden conversion tests ------------------------------------------

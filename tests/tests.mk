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

# ---- regex engine (issue 3): tests/regex, tests/suite-regex.sh ----------
# Until the regex section is merged into profile2metrics.h the tests take it
# from the draft (REGEX_DRAFT); afterwards from the header alone.
REGEX_BUILD := $(BUILD)/regex
REGEX_DRAFT ?= ../scratch/regex
ifeq ($(shell grep -c p2m_regex_compile profile2metrics.h),0)
REGEX_SRC   := -DP2M_TEST_DRAFT_REGEX -I$(REGEX_DRAFT)
REGEX_DEPS  := $(wildcard $(REGEX_DRAFT)/p2m_regex.h)
endif
REGEX_CFLAGS := -std=c99 -O2 -g $(WARN) -Werror -I. -Itests/regex $(REGEX_SRC)
REGEX_HDRS  := profile2metrics.h tests/regex/regex_impl.h $(REGEX_DEPS)
N ?= 100000

.PHONY: regex-diff regex-tests

$(REGEX_BUILD):
	mkdir -p $@

$(REGEX_BUILD)/regex_diff: tests/regex/regex_diff.c $(REGEX_HDRS) | $(REGEX_BUILD)
	$(CC) $(REGEX_CFLAGS) -o $@ $< -lpcre2-8

regex-diff: $(REGEX_BUILD)/regex_diff
	$(REGEX_BUILD)/regex_diff $(N)
# ---- end regex -------------------------------------------------------------

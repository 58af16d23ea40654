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
# The tests take the regex code from the header, except while the header has
# none or only an interim copy (marked by P2M_REGEX_DRAFT_H) and the regex
# room's draft exists: then from the draft. `make REGEX_DRAFT= ...` forces
# the header.
REGEX_BUILD := $(BUILD)/regex
REGEX_DRAFT ?= ../scratch/regex
REGEX_DRAFT_FILE := $(if $(REGEX_DRAFT),$(wildcard $(REGEX_DRAFT)/p2m_regex.h))
REGEX_HDR_FINAL := $(shell grep -q p2m_regex_compile profile2metrics.h && \
                     ! grep -q 'define P2M_REGEX_DRAFT_H' profile2metrics.h && echo 1)
ifneq ($(REGEX_DRAFT_FILE),)
ifneq ($(REGEX_HDR_FINAL),1)
REGEX_SRC   := -DP2M_TEST_DRAFT_REGEX -I$(REGEX_DRAFT)
REGEX_DEPS  := $(REGEX_DRAFT_FILE)
endif
endif
REGEX_CFLAGS := -O2 -g $(WARN) -Werror -I. -Itests/regex $(REGEX_SRC)
REGEX_HDRS  := profile2metrics.h tests/regex/regex_impl.h tests/tests.mk $(REGEX_DEPS)
REGEX_BINS  := regex_diff regex_diff_pcre regex_table regex_table_pcre \
               regex_table_noregex regex_table_cxx regex_table_clang regex_complexity \
               regex_diff_asan regex_match
N ?= 100000

.PHONY: regex-diff regex-build

$(REGEX_BUILD):
	mkdir -p $@

$(REGEX_BUILD)/regex_diff: tests/regex/regex_diff.c $(REGEX_HDRS) | $(REGEX_BUILD)
	$(CC) -std=c99 $(REGEX_CFLAGS) -o $@ $< -lpcre2-8
$(REGEX_BUILD)/regex_diff_pcre: tests/regex/regex_diff.c $(REGEX_HDRS) | $(REGEX_BUILD)
	$(CC) -std=c99 $(REGEX_CFLAGS) -DP2M_USE_PCRE2 -o $@ $< -lpcre2-8
$(REGEX_BUILD)/regex_diff_asan: tests/regex/regex_diff.c $(REGEX_HDRS) | $(REGEX_BUILD)
	clang -std=c99 $(REGEX_CFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=all -o $@ $< -lpcre2-8
$(REGEX_BUILD)/regex_table: tests/regex/regex_table.c $(REGEX_HDRS) | $(REGEX_BUILD)
	$(CC) -std=c99 $(REGEX_CFLAGS) -o $@ $<
$(REGEX_BUILD)/regex_table_pcre: tests/regex/regex_table.c $(REGEX_HDRS) | $(REGEX_BUILD)
	$(CC) -std=c99 $(REGEX_CFLAGS) -DP2M_USE_PCRE2 -o $@ $< -lpcre2-8
$(REGEX_BUILD)/regex_table_noregex: tests/regex/regex_table.c $(REGEX_HDRS) | $(REGEX_BUILD)
	$(CC) -std=c99 $(REGEX_CFLAGS) -DP2M_NO_REGEX -o $@ $<
$(REGEX_BUILD)/regex_table_cxx: tests/regex/regex_table.c $(REGEX_HDRS) | $(REGEX_BUILD)
	g++ -x c++ -std=c++11 $(REGEX_CFLAGS) -o $@ $<
$(REGEX_BUILD)/regex_table_clang: tests/regex/regex_table.c $(REGEX_HDRS) | $(REGEX_BUILD)
	clang -std=c11 $(REGEX_CFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=all -o $@ $<
$(REGEX_BUILD)/regex_complexity: tests/regex/regex_complexity.c $(REGEX_HDRS) | $(REGEX_BUILD)
	$(CC) -std=c99 $(REGEX_CFLAGS) -o $@ $<

# p2m_cmd_match: from tools/ once wired into p2m, before that from the draft
REGEX_MATCH_SRC := $(firstword $(wildcard tools/p2m_match.c) $(if $(REGEX_DRAFT),$(wildcard $(REGEX_DRAFT)/p2m_match.c)))
$(REGEX_BUILD)/regex_match: tests/regex/match_main.c $(REGEX_MATCH_SRC) $(REGEX_HDRS) | $(REGEX_BUILD)
	$(CC) -std=c99 $(REGEX_CFLAGS) -o $@ $< $(REGEX_MATCH_SRC)

regex-build: $(addprefix $(REGEX_BUILD)/,$(REGEX_BINS))

# make regex-diff N=1000000 : "N pairs, M mismatches", exit 1 if M > 0
regex-diff: $(REGEX_BUILD)/regex_diff
	$(REGEX_BUILD)/regex_diff $(N)
# ---- end regex -------------------------------------------------------------

# ---- C API tests (tests/c, tests/suite-c.sh, tests/suite-compile.sh) --------
# Built into build/c by the suite scripts themselves (they need per-test
# compilers and sanitizer flags); these targets only run them.
.PHONY: test-c test-compile
test-c:
	sh tests/suite-c.sh
test-compile:
	sh tests/suite-compile.sh
# ---- end of C API tests -------------------------------------------------------

# ---- fuzzing and hostile input (issue 6): tests/fuzz, tests/corpus ------------
# make fuzz FUZZ_SECONDS=N : each libFuzzer target N seconds (no execution
# limit), corpus kept in build/fuzz/corpus-<target>; findings land in
# build/fuzz/artifacts-<target>/. make test runs tests/suite-fuzz.sh with a
# short fixed budget instead.
FUZZ_SECONDS ?= 60
.PHONY: fuzz test-fuzz test-s390x
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_RUNS=0 FUZZ_KEEP=1 sh tests/suite-fuzz.sh
test-fuzz:
	sh tests/suite-fuzz.sh
test-s390x:
	sh tests/suite-s390x.sh
# make fuzz-campaign FUZZ_TARGET=state FUZZ_SECONDS=3600 [FUZZ_EXECS=10000000]
# [FUZZ_TRACE_CMP=1] [FUZZ_CFLAGS=-DFZ_HUGE_SCALE=0] : one target on one core
# (tests/fuzz/campaign.sh), built -O2 with ASan + UBSan into
# build/fuzz-campaign (comparison tracing off unless FUZZ_TRACE_CMP=1), in
# slices of 10 minutes, corpus kept in build/fuzz-campaign/corpus-<target>;
# executions per slice and the header commit in campaign-<target>.log.
FUZZ_TARGET ?= state
FUZZ_EXECS ?=
FUZZ_TRACE_CMP ?= 0
FUZZ_CAMPAIGN_DIR ?= $(BUILD)/fuzz-campaign
.PHONY: fuzz-campaign
fuzz-campaign:
	mkdir -p $(FUZZ_CAMPAIGN_DIR)
	( git log -1 --format=%h -- profile2metrics.h; \
	  git diff --quiet -- profile2metrics.h || echo '+uncommitted' ) | tr -d '\n' \
	    > $(FUZZ_CAMPAIGN_DIR)/header-commit
	FUZZ_DIR=$(FUZZ_CAMPAIGN_DIR) FUZZ_OPT=-O2 FUZZ_TRACE_CMP=$(FUZZ_TRACE_CMP) \
	    FUZZ_ONLY=$(FUZZ_TARGET) FUZZ_BUILD_ONLY=1 sh tests/suite-fuzz.sh
	EXECS=$(FUZZ_EXECS) sh tests/fuzz/campaign.sh $(FUZZ_CAMPAIGN_DIR) $(FUZZ_TARGET) \
	    $(FUZZ_SECONDS) 600
# make diff-decode N=10000 : generated requests through p2m against Google
# protobuf's decoding; "N requests, M mismatches", exit 1 if M > 0
.PHONY: diff-decode
diff-decode: $(BUILD)/p2m
	/usr/bin/python3 tests/fuzz/diff_decode.py $(N)
# ---- end of fuzzing ---------------------------------------------------------

# ---- p2m serve (issue 19): tests/suite-serve.sh -------------------------------
.PHONY: test-serve
test-serve: $(BUILD)/p2m
	sh tests/suite-serve.sh
# ---- end of p2m serve ------------------------------------------------------------

# ---- pprof input against Go's pprof tool (issue 17): tests/suite-pprof-go.sh --
# Builds tests/pprof/gen with Debian's go (offline, caches under build/),
# writes a labelled CPU profile and a heap profile and checks p2m's totals
# against `go tool pprof -raw`, through tests/pprof/pprof_driver.c (the
# library directly) and `p2m convert`.
.PHONY: test-pprof-go
test-pprof-go: $(BUILD)/p2m
	sh tests/suite-pprof-go.sh
# ---- end of pprof input against Go's pprof tool ---------------------------------

# ---- pprof input (issue 17): tests/suite-pprof.sh ------------------------------
# Hand-built, malformed and random pprof profiles through the header's
# p2m_pprof_* functions (driver tests/c/pprof_drive.c, built into build/pprof
# with gcc and with clang ASan + UBSan), checked with Google protobuf.
# make test-pprof PPROF_DIFF_N=1000 : more random profiles in the differential
# test (default 80 through the sanitizer build, 5 times as many through gcc -O2).
PPROF_DIFF_N ?= 80
.PHONY: test-pprof
test-pprof:
	PPROF_DIFF_N=$(PPROF_DIFF_N) sh tests/suite-pprof.sh
# ---- end of pprof input -----------------------------------------------------------

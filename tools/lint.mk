# SPDX-License-Identifier: MIT
# make lint: static checks, run by `make test` before the suites.
#   lint-lines    no line over 100 columns (a tab counts 8)
#   lint-cppcheck cppcheck on the header and on tools/*.c
#   lint-tidy     clang-tidy (.clang-tidy: bugprone-*, clang-analyzer-*) on the same
# Each prints file:line for every finding; `make lint` runs all three and fails
# (exit 1) if any of them found something. cppcheck and clang-tidy come from
# `make deps` (tools/install-deps.sh).

# The header is checked through tools/lint/header_impl.c, which compiles its
# implementation: by clang-tidy in the default build (about 20 s of the
# analyzer; a second build would double it), by cppcheck with P2M_USE_PCRE2
# (it does not read pcre2.h). cppcheck's default build of the header is the
# one in tools/p2m.c (which defines P2M_IMPLEMENTATION too): checking it
# twice would cost 5 s and print each finding twice.
LINT_HDR_TU   := tools/lint/header_impl.c
LINT_TOOLS    := $(wildcard tools/*.c)
LINT_LONG     := profile2metrics.h \
                 $(wildcard tools/*.[ch] tools/*.py tools/*.sh tools/*.mk) \
                 $(wildcard tools/lint/*.*) \
                 $(wildcard tests/c/*.c tests/c/*.h bench/*.c)
LINT_MAXCOL   := 100

# Any -D makes cppcheck check that one configuration instead of every
# combination of #ifdefs (minutes on the header); P2M_LINT is that -D for the
# tools when no optional library was found.
LINT_CPPCHECK := cppcheck --std=c99 -q --enable=warning,performance,portability \
                 --error-exitcode=1 --inline-suppr --suppressions-list=tools/lint/cppcheck.supp \
                 --template='{file}:{line}:{column}: {severity}: {message} [{id}]'
LINT_TIDY     := clang-tidy --quiet
LINT_CFLAGS   := -std=c99 -I. -DP2M_LINT $(P2M_LIB_FLAGS)
# Functions defined in a header are analyzed only when this is set (by
# default clang's analyzer starts only from the main file's functions).
LINT_HDR_ANALYZE := -Xclang -analyzer-opt-analyze-headers

.PHONY: lint lint-lines lint-cppcheck lint-tidy lint-tools-present

lint:
	@fail=; \
	for t in lint-lines lint-cppcheck lint-tidy; do \
	    $(MAKE) --no-print-directory $$t || fail="$$fail $$t"; \
	done; \
	if [ -n "$$fail" ]; then echo "lint: FAILED:$$fail (findings above)" >&2; exit 1; fi; \
	echo "lint: clean"

lint-tools-present:
	@for t in cppcheck clang-tidy; do \
	    command -v $$t >/dev/null 2>&1 || { \
	        echo "lint: $$t is not installed: run 'make deps' (tools/install-deps.sh)" >&2; \
	        exit 2; }; \
	done

# Characters, not bytes: UTF-8 continuation bytes are not counted.
lint-lines:
	@LC_ALL=C awk -v max=$(LINT_MAXCOL) ' \
	    { s = $$0; gsub(/\t/, "        ", s); gsub(/[\200-\277]/, "", s); \
	      if (length(s) > max) { printf "%s:%d: line of %d columns (limit %d)\n", \
	                                    FILENAME, FNR, length(s), max; bad++ } } \
	    END { if (bad) { printf "lint-lines: %d line(s) over %d columns\n", bad, max; \
	                     exit 1 } }' \
	    $(LINT_LONG)

lint-cppcheck: lint-tools-present
	@fail=0; \
	echo "lint-cppcheck: profile2metrics.h (P2M_USE_PCRE2)"; \
	$(LINT_CPPCHECK) -I. -DP2M_IMPLEMENTATION -DP2M_USE_PCRE2 $(LINT_HDR_TU) || fail=1; \
	echo "lint-cppcheck: tools/*.c, and the header's default build through tools/p2m.c"; \
	$(LINT_CPPCHECK) -I. -Itools -DP2M_LINT $(P2M_LIB_FLAGS) $(LINT_TOOLS) || fail=1; \
	exit $$fail

# One clang-tidy process per file: several files in one process have given
# analyzer findings (valist.Uninitialized) that no single-file run reproduces.
# The header filter keeps each unit's findings to its own files; the analyzer
# still reports paths that start in a tool and end in the header. The files
# are checked LINT_JOBS at a time (the processors, at most 2; P2M_TEST_JOBS
# sets it as for the suites), each into its own file under build/lint-tidy,
# printed afterwards in the order of LINT_TIDY_FILES.
LINT_TIDY_FILES := $(LINT_HDR_TU) $(LINT_TOOLS)
LINT_JOBS     := $(or $(P2M_TEST_JOBS),$(shell n=$$(nproc 2>/dev/null || echo 1); \
                     [ "$$n" -gt 2 ] && n=2; echo $$n))
LINT_TIDY_DIR := build/lint-tidy

lint-tidy: lint-tools-present
	@rm -rf $(LINT_TIDY_DIR); mkdir -p $(LINT_TIDY_DIR); \
	i=0; for f in $(LINT_TIDY_FILES); do i=$$((i + 1)); echo "$$i $$f"; done | \
	xargs -P $(LINT_JOBS) -L 1 sh -c ' \
	    i=$$1; f=$$2; \
	    case $$f in \
	    $(LINT_HDR_TU)) filt="profile2metrics\.h"; extra="$(LINT_HDR_ANALYZE)" ;; \
	    *) filt="tools/"; extra= ;; \
	    esac; \
	    $(LINT_TIDY) --header-filter="$$filt" $$f -- $(LINT_CFLAGS) $$extra \
	        > $(LINT_TIDY_DIR)/$$i.out 2>&1 || : > $(LINT_TIDY_DIR)/$$i.failed' sh; \
	fail=0; i=0; \
	for f in $(LINT_TIDY_FILES); do \
	    i=$$((i + 1)); \
	    echo "lint-tidy: $$f"; \
	    [ ! -f $(LINT_TIDY_DIR)/$$i.failed ] || fail=1; \
	    [ -f $(LINT_TIDY_DIR)/$$i.out ] || \
	        { echo "lint-tidy: $$f was not checked" >&2; fail=1; }; \
	    grep -v -e 'warnings\? generated\.$$' -e '^Suppressed [0-9]* warnings' \
	        -e '^Use -header-filter=' $(LINT_TIDY_DIR)/$$i.out 2>/dev/null \
	        | sed 's|$(CURDIR)/\(\./\)\{0,1\}||'; \
	done; \
	exit $$fail

# SPDX-License-Identifier: MIT
# profile2metrics: `make demo` needs only a C compiler; `make test` installs
# the Debian packages it needs through tools/install-deps.sh.

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow \
           -Wcast-qual -Wundef
BUILD   := build

# Optional libraries, each used only when installed (make demo must
# build on a machine with nothing but a compiler): libyaml for -c.
HAVE_YAML := $(shell printf 'int yaml_get_version_string(void);\nint main(void){return !yaml_get_version_string();}\n' | \
               $(CC) -x c - -lyaml -o /dev/null 2>/dev/null && test -f /usr/include/yaml.h && echo 1)
ifeq ($(HAVE_YAML),1)
P2M_LIB_FLAGS := -DP2M_HAVE_YAML
P2M_LIB_LIBS  := -lyaml
endif

# gzip and zstd input need zlib and libzstd; without them p2m names such
# input and refuses it.
HAVE_ZLIB := $(shell printf '\043include <zlib.h>\nint main(void){return !zlibVersion();}\n' | \
               $(CC) -x c - -lz -o /dev/null 2>/dev/null && echo 1)
ifeq ($(HAVE_ZLIB),1)
P2M_LIB_FLAGS += -DP2M_HAVE_ZLIB
P2M_LIB_LIBS  += -lz
endif
HAVE_ZSTD := $(shell printf '\043include <zstd.h>\nint main(void){return !ZSTD_versionNumber();}\n' | \
               $(CC) -x c - -lzstd -o /dev/null 2>/dev/null && echo 1)
ifeq ($(HAVE_ZSTD),1)
P2M_LIB_FLAGS += -DP2M_HAVE_ZSTD
P2M_LIB_LIBS  += -lzstd
endif

P2M_SRCS := $(wildcard tools/p2m*.c)

.PHONY: all demo test deps clean FORCE

all: $(BUILD)/p2m

# The optional libraries found, kept in a file that changes only when they
# do: a p2m built before `make deps` installed them is rebuilt with them.
$(BUILD)/p2m.libs: FORCE | $(BUILD)
	@echo '$(P2M_LIB_FLAGS) $(P2M_LIB_LIBS)' | cmp -s - $@ || echo '$(P2M_LIB_FLAGS) $(P2M_LIB_LIBS)' > $@

$(BUILD)/p2m: $(P2M_SRCS) $(wildcard tools/*.h tools/*.inc) profile2metrics.h $(BUILD)/p2m.libs | $(BUILD)
	$(CC) -std=c99 $(CFLAGS) $(WARN) -I. $(P2M_LIB_FLAGS) -o $@ $(P2M_SRCS) $(P2M_LIB_LIBS) -lm

$(BUILD):
	mkdir -p $(BUILD)

demo: $(BUILD)/p2m
	$(BUILD)/p2m convert -f table --stats examples/demo.otlp

deps:
	sh tools/install-deps.sh

# The build comes after the install, in a second make that looks for the
# optional libraries again (this one looked before they were there).
test: deps
	$(MAKE) all
	$(MAKE) lint
	sh tests/run.sh

clean:
	rm -rf $(BUILD)

# Each room adds its own targets.
-include tests/tests.mk
-include bench/bench.mk
-include examples/examples.mk
-include tools/lint.mk
-include packaging/packaging.mk
-include bindings/go-rust.mk

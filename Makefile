# SPDX-License-Identifier: MIT
# profile2metrics: `make demo` needs only a C compiler; `make test` installs
# the Debian packages it needs through tools/install-deps.sh.

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow \
           -Wcast-qual -Wundef
BUILD   := build

# p2m reads YAML configuration only when libyaml is there (make demo must
# build on a machine with nothing but a compiler).
HAVE_YAML := $(shell printf 'int yaml_get_version_string(void);\nint main(void){return !yaml_get_version_string();}\n' | \
               $(CC) -x c - -lyaml -o /dev/null 2>/dev/null && test -f /usr/include/yaml.h && echo 1)
ifeq ($(HAVE_YAML),1)
P2M_YAML_FLAGS := -DP2M_HAVE_YAML
P2M_YAML_LIBS  := -lyaml
endif

P2M_SRCS := $(wildcard tools/p2m*.c)

.PHONY: all demo test deps clean

all: $(BUILD)/p2m

$(BUILD)/p2m: $(P2M_SRCS) $(wildcard tools/*.h) profile2metrics.h | $(BUILD)
	$(CC) -std=c99 $(CFLAGS) $(WARN) -I. $(P2M_YAML_FLAGS) -o $@ $(P2M_SRCS) $(P2M_YAML_LIBS) -lm

$(BUILD):
	mkdir -p $(BUILD)

demo: $(BUILD)/p2m
	$(BUILD)/p2m convert -f table --stats examples/demo.otlp

deps:
	sh tools/install-deps.sh

test: deps all
	sh tests/run.sh

clean:
	rm -rf $(BUILD)

# Each room adds its own targets.
-include tests/tests.mk
-include bench/bench.mk
-include examples/examples.mk

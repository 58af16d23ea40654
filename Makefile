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

# p2m serve needs libmicrohttpd (the HTTP receiver, /metrics) and threads;
# its OTLP exporter needs libcurl and its gRPC receiver libnghttp2. Without
# libmicrohttpd `p2m serve` says so and exits 2; without the others it runs
# without that part and says so.
HAVE_MHD := $(shell printf '\043include <stdint.h>\n\043include <sys/types.h>\n\043include <sys/socket.h>\n\043include <microhttpd.h>\nint main(void){return !MHD_get_version();}\n' | \
               $(CC) -x c - -lmicrohttpd -o /dev/null 2>/dev/null && echo 1)
ifeq ($(HAVE_MHD),1)
P2M_LIB_FLAGS += -DP2M_HAVE_MHD
P2M_LIB_LIBS  += -lmicrohttpd -lpthread
HAVE_CURL := $(shell printf '\043include <curl/curl.h>\nint main(void){return !curl_version();}\n' | \
               $(CC) -x c - -lcurl -o /dev/null 2>/dev/null && echo 1)
ifeq ($(HAVE_CURL),1)
P2M_LIB_FLAGS += -DP2M_HAVE_CURL
P2M_LIB_LIBS  += -lcurl
endif
HAVE_NGHTTP2 := $(shell printf '\043include <nghttp2/nghttp2.h>\nint main(void){return !nghttp2_version(0);}\n' | \
               $(CC) -x c - -lnghttp2 -o /dev/null 2>/dev/null && echo 1)
ifeq ($(HAVE_NGHTTP2),1)
P2M_LIB_FLAGS += -DP2M_HAVE_NGHTTP2
P2M_LIB_LIBS  += -lnghttp2
# TLS on the gRPC receiver (the HTTP one has it through libmicrohttpd)
HAVE_GNUTLS := $(shell printf '\043include <gnutls/gnutls.h>\nint main(void){return !gnutls_check_version(0);}\n' | \
               $(CC) -x c - -lgnutls -o /dev/null 2>/dev/null && echo 1)
ifeq ($(HAVE_GNUTLS),1)
P2M_LIB_FLAGS += -DP2M_HAVE_GNUTLS
P2M_LIB_LIBS  += -lgnutls
endif
endif
endif

P2M_SRCS := $(wildcard tools/p2m*.c)

.PHONY: all demo test deps clean FORCE

all: $(BUILD)/p2m

# The optional libraries found, kept in a file that changes only when they
# do: a p2m built before `make deps` installed them is rebuilt with them.
$(BUILD)/p2m.libs: FORCE | $(BUILD)
	@echo '$(P2M_LIB_FLAGS) $(P2M_LIB_LIBS)' | cmp -s - $@ || echo '$(P2M_LIB_FLAGS) $(P2M_LIB_LIBS)' > $@

$(BUILD)/p2m: $(P2M_SRCS) $(wildcard tools/*.h) profile2metrics.h $(BUILD)/p2m.libs | $(BUILD)
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

# Python and JavaScript bindings
-include bindings/pyjs.mk
-include tools/packaging/packaging.mk
-include bindings/go-rust.mk

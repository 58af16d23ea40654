# SPDX-License-Identifier: MIT
# The library as a shared and a static library, and `make install`
# (docs/packaging.md). Included by the top Makefile.
#
# make lib        build/libprofile2metrics.so (SONAME libprofile2metrics.so.0,
#                 only p2m_ symbols exported) and build/libprofile2metrics.a
# make install    PREFIX (default /usr/local), DESTDIR for staging; the
#                 directories below can be set one by one
# make uninstall  removes exactly what install put there (same variables)

P2M_VERSION := $(shell sed -n 's/^\#define P2M_VERSION_STRING "\(.*\)"$$/\1/p' profile2metrics.h)
P2M_SOVER   := $(firstword $(subst ., ,$(P2M_VERSION)))
LIB_DIR     := $(BUILD)/lib
LIB_SO      := $(BUILD)/libprofile2metrics.so
LIB_A       := $(BUILD)/libprofile2metrics.a
LIB_REAL    := libprofile2metrics.so.$(P2M_VERSION)
LIB_SONAME  := libprofile2metrics.so.$(P2M_SOVER)

PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
MANDIR      ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
CMAKEDIR    ?= $(LIBDIR)/cmake/profile2metrics
INSTALL     ?= install

.PHONY: lib install uninstall test-lib test-install

lib: $(LIB_SO) $(LIB_A)

# One object per kind: position-independent for the shared library, plain
# for the archive (static users get the code as if they had compiled it).
$(LIB_DIR)/shared.o: tools/packaging/profile2metrics.c profile2metrics.h
	@mkdir -p $(LIB_DIR)
	$(CC) -std=c99 $(CFLAGS) $(WARN) -I. -fPIC -c -o $@ tools/packaging/profile2metrics.c

$(LIB_DIR)/static.o: tools/packaging/profile2metrics.c profile2metrics.h
	@mkdir -p $(LIB_DIR)
	$(CC) -std=c99 $(CFLAGS) $(WARN) -I. -c -o $@ tools/packaging/profile2metrics.c

# The version script exports p2m_* and hides everything else; -z defs makes
# an unresolved symbol a link error instead of a surprise at load time.
$(LIB_DIR)/$(LIB_REAL): $(LIB_DIR)/shared.o tools/packaging/profile2metrics.map
	$(CC) -shared $(LDFLAGS) -Wl,-soname,$(LIB_SONAME) \
	    -Wl,--version-script=tools/packaging/profile2metrics.map -Wl,-z,defs -o $@ $(LIB_DIR)/shared.o

$(LIB_SO): $(LIB_DIR)/$(LIB_REAL)
	ln -sf lib/$(LIB_REAL) $(BUILD)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $@

$(LIB_A): $(LIB_DIR)/static.o
	rm -f $@
	$(AR) rcs $@ $(LIB_DIR)/static.o

$(LIB_DIR)/profile2metrics.pc: tools/packaging/profile2metrics.pc.in profile2metrics.h FORCE
	@mkdir -p $(LIB_DIR)
	@sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(P2M_VERSION)|g' $< > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(LIB_DIR)/profile2metricsConfig.cmake: tools/packaging/profile2metricsConfig.cmake.in profile2metrics.h FORCE
	@mkdir -p $(LIB_DIR)
	@sed -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	    -e 's|@LIB_REAL@|$(LIB_REAL)|g' -e 's|@LIB_SONAME@|$(LIB_SONAME)|g' $< > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(LIB_DIR)/profile2metricsConfigVersion.cmake: tools/packaging/profile2metricsConfigVersion.cmake.in profile2metrics.h
	@mkdir -p $(LIB_DIR)
	sed -e 's|@VERSION@|$(P2M_VERSION)|g' -e 's|@SOVER@|$(P2M_SOVER)|g' \
	    -e "s|@SIZEOF_VOID_P@|$$(printf '__SIZEOF_POINTER__\n' | $(CC) -E -P - | tr -d ' \n')|g" $< > $@

# the man page's header names the version of the header it is installed with
$(LIB_DIR)/p2m.1: tools/packaging/p2m.1 profile2metrics.h
	@mkdir -p $(LIB_DIR)
	sed -e 's/"profile2metrics [0-9][^"]*"/"profile2metrics $(P2M_VERSION)"/' $< > $@

P2M_PKG_FILES := $(LIB_DIR)/profile2metrics.pc $(LIB_DIR)/profile2metricsConfig.cmake \
                 $(LIB_DIR)/profile2metricsConfigVersion.cmake $(LIB_DIR)/p2m.1

install: lib $(BUILD)/p2m $(P2M_PKG_FILES)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(CMAKEDIR)
	$(INSTALL) -m 644 profile2metrics.h $(DESTDIR)$(INCLUDEDIR)/profile2metrics.h
	$(INSTALL) -m 755 $(LIB_DIR)/$(LIB_REAL) $(DESTDIR)$(LIBDIR)/$(LIB_REAL)
	ln -sf $(LIB_REAL) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libprofile2metrics.so
	$(INSTALL) -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/libprofile2metrics.a
	$(INSTALL) -m 644 $(LIB_DIR)/profile2metrics.pc $(DESTDIR)$(PKGCONFIGDIR)/profile2metrics.pc
	$(INSTALL) -m 644 $(LIB_DIR)/profile2metricsConfig.cmake \
	    $(LIB_DIR)/profile2metricsConfigVersion.cmake $(DESTDIR)$(CMAKEDIR)/
	$(INSTALL) -m 755 $(BUILD)/p2m $(DESTDIR)$(BINDIR)/p2m
	$(INSTALL) -m 644 $(LIB_DIR)/p2m.1 $(DESTDIR)$(MANDIR)/man1/p2m.1

# Removes the files install wrote and the package's own CMake directory;
# shared directories (bin, lib, include ...) stay even when empty.
uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/profile2metrics.h \
	    $(DESTDIR)$(LIBDIR)/$(LIB_REAL) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME) \
	    $(DESTDIR)$(LIBDIR)/libprofile2metrics.so $(DESTDIR)$(LIBDIR)/libprofile2metrics.a \
	    $(DESTDIR)$(PKGCONFIGDIR)/profile2metrics.pc \
	    $(DESTDIR)$(CMAKEDIR)/profile2metricsConfig.cmake \
	    $(DESTDIR)$(CMAKEDIR)/profile2metricsConfigVersion.cmake \
	    $(DESTDIR)$(BINDIR)/p2m $(DESTDIR)$(MANDIR)/man1/p2m.1
	-rmdir $(DESTDIR)$(CMAKEDIR) 2>/dev/null

test-lib:
	sh tests/suite-lib.sh
test-install:
	sh tests/suite-install.sh

# examples/linked.c against the library in build/, once shared, once static.
$(BUILD)/examples/linked: examples/linked.c profile2metrics.h $(LIB_SO)
	@mkdir -p $(BUILD)/examples
	$(CC) -std=c99 $(CFLAGS) $(WARN) -Werror -I. -o $@ examples/linked.c -L$(BUILD) -lprofile2metrics
$(BUILD)/examples/linked-static: examples/linked.c profile2metrics.h $(LIB_A)
	@mkdir -p $(BUILD)/examples
	$(CC) -std=c99 $(CFLAGS) $(WARN) -Werror -I. -o $@ examples/linked.c $(LIB_A)

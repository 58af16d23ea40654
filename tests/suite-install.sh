#!/bin/sh
# SPDX-License-Identifier: MIT
# make install / make uninstall (tools/packaging/packaging.mk) into temporary
# prefixes under build/install-test:
#   - exactly the expected files, symlinks and modes
#   - examples/minimal.c (the installed header) and examples/linked.c (the
#     installed libraries) built through pkg-config and through a CMake
#     project (tests/install), run, their output compared with build/p2m
#     and build/examples/minimal from the tree
#   - the installed p2m and its man page
#   - DESTDIR staging, and uninstall leaving no file behind
# A missing pkg-config or cmake is a FAIL.
cd "$(dirname "$0")/.." || exit 2
T=$(pwd)/build/install-test
rm -rf "$T"
mkdir -p "$T"
P=$T/prefix
fails=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
for t in pkg-config cmake cc groff; do
    command -v $t >/dev/null 2>&1 || { fail "install.tools: '$t' not found"; exit 1; }
done
VERSION=$(sed -n 's/^#define P2M_VERSION_STRING "\(.*\)"$/\1/p' profile2metrics.h)
DEMO=examples/demo.otlp
NOW=1700000000000000000

. tests/jobs.sh
# make install builds the libraries: they are built here already, beside the
# tool and the example (a failure shows again in make install's log)
job_start make -s lib > "$T/lib.log" 2>&1
make -s build/p2m build/examples/minimal > "$T/make.log" 2>&1
rc=$?
job_wait
if [ "$rc" -ne 0 ]; then
    fail "install.build: $(tail -n 5 "$T/make.log" | tr '\n' ' ')"
    exit 1
fi
build/p2m convert --now $NOW -o "$T/want.pb" "$DEMO"
build/examples/minimal "$DEMO" > "$T/want-minimal.txt"

# ---- make install PREFIX ----------------------------------------------------
if make -s install PREFIX="$P" > "$T/install.log" 2>&1; then pass install.make-install
else fail "install.make-install: $(tail -n 5 "$T/install.log" | tr '\n' ' ')"; exit 1; fi

(cd "$P" && find . \( -type f -o -type l \) | sort) > "$T/files.txt"
cat > "$T/files-want.txt" <<EOW
./bin/p2m
./include/profile2metrics.h
./lib/cmake/profile2metrics/profile2metricsConfig.cmake
./lib/cmake/profile2metrics/profile2metricsConfigVersion.cmake
./lib/libprofile2metrics.a
./lib/libprofile2metrics.so
./lib/libprofile2metrics.so.0
./lib/libprofile2metrics.so.$VERSION
./lib/pkgconfig/profile2metrics.pc
./share/man/man1/p2m.1
EOW
if cmp -s "$T/files.txt" "$T/files-want.txt"; then pass "install.files: $(wc -l < "$T/files.txt") files"
else fail "install.files: differ from the list (< installed, > expected): $(diff "$T/files.txt" "$T/files-want.txt" | grep '^[<>]' | tr '\n' ' ')"; fi
links="$(readlink "$P/lib/libprofile2metrics.so") $(readlink "$P/lib/libprofile2metrics.so.0")"
if [ "$links" = "libprofile2metrics.so.0 libprofile2metrics.so.$VERSION" ] && [ -f "$P/lib/libprofile2metrics.so.$VERSION" ] && [ ! -L "$P/lib/libprofile2metrics.so.$VERSION" ]; then
    pass install.symlinks
else
    fail "install.symlinks: .so -> .so.0 -> .so.$VERSION expected, found $links"
fi
if cmp -s "$P/include/profile2metrics.h" profile2metrics.h; then pass install.header
else fail "install.header: the installed header differs from profile2metrics.h"; fi
modes=$(stat -c '%a' "$P/bin/p2m" "$P/lib/libprofile2metrics.so.$VERSION" "$P/include/profile2metrics.h" "$P/lib/libprofile2metrics.a" | tr '\n' ' ')
if [ "$modes" = "755 755 644 644 " ]; then pass install.modes
else fail "install.modes: p2m, .so, .h, .a have $modes (want 755 755 644 644)"; fi

# ---- pkg-config ---------------------------------------------------------------
export PKG_CONFIG_PATH="$P/lib/pkgconfig"
v=$(pkg-config --modversion profile2metrics 2>&1)
if [ "$v" = "$VERSION" ]; then pass install.pkg-config.version
else fail "install.pkg-config.version: '$v', the header says $VERSION"; fi
CFL=$(pkg-config --cflags profile2metrics | sed 's/ *$//')
LIBS=$(pkg-config --libs profile2metrics | sed 's/ *$//')
if [ "$CFL" = "-I$P/include" ] && [ "$LIBS" = "-L$P/lib -lprofile2metrics" ]; then pass install.pkg-config.flags
else fail "install.pkg-config.flags: --cflags '$CFL' --libs '$LIBS'"; fi

# run_ex NAME BINARY WANT ARGS...: runs it (the installed .so on the path), compares
run_ex() {
    name=$1 bin=$2 want=$3
    shift 3
    LD_LIBRARY_PATH="$P/lib" "$bin" "$@" > "$T/$name.out" 2> "$T/$name.err"
    rc=$?
    if [ "$rc" -ne 0 ]; then fail "install.$name: exit $rc: $(head -c 300 "$T/$name.err")"
    elif cmp -s "$T/$name.out" "$want"; then pass "install.$name: same output as the tree's build"
    else fail "install.$name: output differs from $want"; fi
}
# The builds against the installed files are jobs (tests/jobs.sh): the
# programs through pkg-config, the CMake project, CMake's version check;
# their exit codes go to $T/NAME.rc, and the checks below read them in order.
# with_rc NAME command...: runs a command, its exit code into $T/NAME.rc
with_rc() {
    name=$1; shift
    "$@"
    echo $? > "$T/$name.rc"
}
ok() { [ "$(cat "$T/$1.rc" 2>/dev/null)" = 0 ]; }
CB=$T/cmake
job_cmake() {
    cmake -S tests/install -B "$CB" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_BUILD_TYPE=Release \
        > "$T/cmake.log" 2>&1 && cmake --build "$CB" -j 1 >> "$T/cmake.log" 2>&1
    echo $? > "$T/cmake.build.rc"
}
job_pc() {
    with_rc pc-minimal cc -std=c99 -O1 $CFL -o "$T/pc-minimal" examples/minimal.c \
        2> "$T/pc-minimal.log"
    with_rc pc-linked cc -std=c99 -O1 $CFL -o "$T/pc-linked" examples/linked.c $LIBS \
        2> "$T/pc-linked.log"
    with_rc pc-static cc -std=c99 -O1 $CFL -o "$T/pc-static" examples/linked.c -L"$P/lib" \
        -Wl,-Bstatic -lprofile2metrics -Wl,-Bdynamic 2> "$T/pc-static.log"
}
job_start job_cmake
job_start job_pc
job_start with_rc cmake-v1 cmake -S tests/install -B "$T/cmake-v1" -DCMAKE_PREFIX_PATH="$P" \
    -DP2M_WANT_VERSION=1.0 > "$T/cmake-v1.log" 2>&1
job_wait

# minimal.c defines P2M_IMPLEMENTATION: it needs only the installed header
# (examples/ has no header of its own, so the -I of pkg-config is the one used)
if ok pc-minimal; then
    run_ex pc-minimal "$T/pc-minimal" "$T/want-minimal.txt" "$DEMO"
else fail "install.pc-minimal: build: $(head -c 300 "$T/pc-minimal.log")"; fi
# linked.c links the installed shared library
if ok pc-linked; then
    run_ex pc-linked "$T/pc-linked" "$T/want.pb" --now $NOW "$DEMO"
    if LD_LIBRARY_PATH="$P/lib" ldd "$T/pc-linked" | grep -q "libprofile2metrics.so.0 => $P/lib/"; then
        pass install.pc-linked.loads-installed
    else fail "install.pc-linked.loads-installed: ldd does not show $P/lib/libprofile2metrics.so.0"; fi
else fail "install.pc-linked: build: $(head -c 300 "$T/pc-linked.log")"; fi
# and the static one (-static for the library only)
if ok pc-static; then
    run_ex pc-static "$T/pc-static" "$T/want.pb" --now $NOW "$DEMO"
else fail "install.pc-static: build: $(head -c 300 "$T/pc-static.log")"; fi

# ---- CMake ---------------------------------------------------------------------
if ok cmake.build; then
    pass install.cmake.build
    run_ex cmake-minimal "$CB/minimal" "$T/want-minimal.txt" "$DEMO"
    run_ex cmake-linked "$CB/linked" "$T/want.pb" --now $NOW "$DEMO"
    run_ex cmake-static "$CB/linked_static" "$T/want.pb" --now $NOW "$DEMO"
    # the imported shared target carries the path (no LD_LIBRARY_PATH needed)
    if ldd "$CB/linked" | grep -q "libprofile2metrics.so.0 => $P/lib/"; then pass install.cmake.rpath
    else fail "install.cmake.rpath: $CB/linked does not find $P/lib/libprofile2metrics.so.0 by itself"; fi
    if nm "$CB/linked_static" | grep -q ' T p2m_convert$'; then pass install.cmake.static-target
    else fail "install.cmake.static-target: linked_static has no p2m_convert of its own"; fi
else
    fail "install.cmake.build: $(grep -iE 'error|warning' "$T/cmake.log" | head -5 | tr '\n' ' ')"
fi
# a version the package cannot give is refused
if ok cmake-v1; then
    fail "install.cmake.version: find_package(profile2metrics 1.0) accepted version $VERSION"
elif grep -q 'compatible with requested version "1.0"' "$T/cmake-v1.log" && grep -q "version: $VERSION" "$T/cmake-v1.log"; then
    pass install.cmake.version
else fail "install.cmake.version: refused, but not for its version: $(head -c 300 "$T/cmake-v1.log" | tr '\n' ' ')"; fi

# ---- the tool and its man page ------------------------------------------------
if [ "$("$P/bin/p2m" --version)" = "p2m $VERSION" ] &&
   "$P/bin/p2m" convert --now $NOW -o "$T/tool.pb" "$DEMO" && cmp -s "$T/tool.pb" "$T/want.pb"; then
    pass install.p2m
else fail "install.p2m: the installed p2m does not convert the demo as build/p2m does"; fi
warn=$(groff -man -Tutf8 -ww -z "$P/share/man/man1/p2m.1" 2>&1)
if [ -z "$warn" ] && head -5 "$P/share/man/man1/p2m.1" | grep -q "^\.TH P2M 1 .*\"profile2metrics $VERSION\""; then
    pass install.man
else fail "install.man: groff: ${warn:-no warnings}; .TH: $(grep '^\.TH' "$P/share/man/man1/p2m.1")"; fi
if MANPATH="$P/share/man" man -P cat p2m 2>/dev/null | grep -q "p2m convert"; then pass install.man.found
else fail "install.man.found: MANPATH=$P/share/man man p2m does not show the page"; fi

# ---- uninstall --------------------------------------------------------------------
make -s uninstall PREFIX="$P" > "$T/uninstall.log" 2>&1
left=$(find "$P" \( -type f -o -type l \) | head -5 | tr '\n' ' ')
if [ -z "$left" ] && [ ! -d "$P/lib/cmake/profile2metrics" ]; then pass install.uninstall
else fail "install.uninstall: left behind: $left"; fi

# ---- DESTDIR staging -----------------------------------------------------------------
D=$T/stage
make -s install PREFIX=/usr/local DESTDIR="$D" > "$T/stage.log" 2>&1
(cd "$D/usr/local" && find . \( -type f -o -type l \) | sort) > "$T/stage-files.txt"
if cmp -s "$T/stage-files.txt" "$T/files-want.txt" && grep -qx 'prefix=/usr/local' "$D/usr/local/lib/pkgconfig/profile2metrics.pc" &&
   grep -q '"/usr/local/lib/libprofile2metrics.so' "$D/usr/local/lib/cmake/profile2metrics/profile2metricsConfig.cmake"; then
    pass install.destdir
else fail "install.destdir: staged files or their paths are wrong ($(diff "$T/stage-files.txt" "$T/files-want.txt" | grep '^[<>]' | tr '\n' ' '))"; fi
make -s uninstall PREFIX=/usr/local DESTDIR="$D" > "$T/unstage.log" 2>&1
left=$(find "$D" \( -type f -o -type l \) | head -5 | tr '\n' ' ')
if [ -z "$left" ]; then pass install.destdir.uninstall
else fail "install.destdir.uninstall: left behind: $left"; fi
[ "$fails" -eq 0 ]

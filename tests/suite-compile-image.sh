#!/bin/sh
# SPDX-License-Identifier: MIT
# Engine images through the command line: `p2m compile` (a configuration
# compiled into an image, raw or as a C header) and `p2m convert --engine`
# (the engine loaded from an image by p2m_engine_load).
#   same-*      for several configurations and every input of the repository,
#               convert -c CFG and convert --engine IMAGE give the same bytes,
#               stderr and exit code; the bytes decode with Google protobuf
#               (metrics.proto compiled by protoc) to data points
#   header-*    the .h output compiled (gcc, and g++ when present, with the
#               project's warnings and -Werror) into a program that loads the
#               array with p2m_engine_load and converts examples/demo.otlp:
#               its output is convert --engine's
#   corrupt-*   every byte of a small image flipped and every truncation (a
#               sample of a larger one) through an ASan + UBSan build of p2m:
#               exit 2 and a message naming the image, never 0, never a crash;
#               files that are not images are refused
#   usage-*, write-*   usage errors with their exact messages, write errors
#               naming the file, and no output file after a failure
cd "$(dirname "$0")/.." || exit 2
PY=/usr/bin/python3
P2M=${P2M:-build/p2m}   # P2M=path runs the suite on another build
T=build/compile-image
REAL=tests/data/real
DEMO=examples/demo.otlp
NOW=1764000000000000000  # --now: the same time for profiles that carry none
WARN="-Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Wcast-qual -Wundef"
failed=0

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; failed=1; }

rm -rf "$T"
mkdir -p "$T/py" "$T/cfg"
[ -x "$P2M" ] || make -s build/p2m >/dev/null 2>&1
if [ ! -x "$P2M" ]; then
    echo "FAIL image-build: $P2M could not be built"
    exit 1
fi
if ! $PY -c 'import google.protobuf' 2>/dev/null; then
    echo "FAIL image-deps: $PY cannot import google.protobuf (python3-protobuf)"
    exit 1
fi
if ! protoc -Iproto --python_out="$T/py" proto/metrics.proto; then
    echo "FAIL image-deps: protoc (protobuf-compiler) could not compile proto/metrics.proto"
    exit 1
fi
if ! "$P2M" validate -c /dev/null > /dev/null 2>&1; then
    echo "FAIL image-deps: $P2M reads no YAML (built without libyaml: tools/install-deps.sh)"
    exit 1
fi

# The builds of this suite run as jobs (tests/jobs.sh) beside its checks:
# the ASan + UBSan p2m of section (c) from here on, the programs of section
# (b) and the P2M_USE_PCRE2 p2m of section (d) once the images exist. Each
# leaves its exit code in $T/NAME.rc, read where the results are reported.
. tests/jobs.sh
# with_rc NAME command...: runs a command, its exit code into $T/NAME.rc
with_rc() {
    name=$1; shift
    "$@"
    echo $? > "$T/$name.rc"
}
ok() { [ "$(cat "$T/$1.rc" 2>/dev/null)" = 0 ]; }
# An ASan + UBSan build of p2m (clang, else gcc), rebuilt when a source is
# newer, with the optional libraries make found (build/p2m.libs).
LIBDEFS=$(tr ' ' '\n' < build/p2m.libs 2>/dev/null | grep '^-D')
LIBLIBS=$(tr ' ' '\n' < build/p2m.libs 2>/dev/null | grep '^-l')
ASAN=build/p2m-asan
SAN_CC=clang
command -v clang >/dev/null 2>&1 || SAN_CC=gcc
job_asan() {
    if [ ! -x "$ASAN" ] || [ -n "$(find tools profile2metrics.h -newer "$ASAN" \
            \( -name '*.c' -o -name '*.h' \) 2>/dev/null)" ]; then
        # shellcheck disable=SC2086 # several flags each
        $SAN_CC -std=c99 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer -I. $LIBDEFS -o "$ASAN" tools/p2m*.c $LIBLIBS -lm \
            2> "$T/asan.build.err" || rm -f "$ASAN"
    fi
}
job_start job_asan

# ---- the configurations ------------------------------------------------------
# NAME|FILE: the defaults (an empty file), regex rules with every filter and
# the function metric and declared metrics (the bindings' full configuration),
# frame rules with the stack filter, the declared metrics of the CPU recipe,
# the function metric alone (self time), cumulative temporality, strict mode,
# and a forced layout (its warning names the layout compiled into the image).
: > "$T/cfg/defaults.yaml"
cat > "$T/cfg/function.yaml" <<'EOF'
metrics:
  function: {enabled: true, mode: self}
attributes:
  - {key: runtime, type: regex, source: process.executable.name, value: "^([a-z]+)", default: other}
EOF
printf 'layout: v1.10\n' > "$T/cfg/forced.yaml"
printf 'layout: v1.10\nstrict: true\n' > "$T/cfg/forced-strict.yaml"
CONFIGS="defaults|$T/cfg/defaults.yaml
full|bindings/testdata/config.yaml
frames|bindings/testdata/frames.yaml
cpu-recipe|examples/where-the-cpu-goes.yaml
function|$T/cfg/function.yaml
cumulative|bindings/testdata/cumulative.yaml
strict|bindings/testdata/strict.yaml
forced|$T/cfg/forced.yaml
forced-strict|$T/cfg/forced-strict.yaml"

# the inputs: NAME|FILE|convert options
INPUTS="demo|$DEMO|
profile|$REAL/sig-profiling-profile.otlp|
k8s|$REAL/sig-profiling-k8s.otlp|--input-format otlp-stream"

# ---- (a) convert -c and convert --engine agree ------------------------------
# (the loops read here-documents, not pipes: they run in this shell, so
# that fail() sets failed)
while IFS='|' read -r name cfg; do
    "$P2M" compile -c "$cfg" -o "$T/$name.bin" > "$T/$name.compile.out" \
        2> "$T/$name.compile.err" < /dev/null
    rc=$?
    if [ "$rc" -ne 0 ]; then
        fail "compile-$name" "exit $rc: $(head -c 300 "$T/$name.compile.err")"
        continue
    fi
    if [ ! -s "$T/$name.bin" ] || [ -s "$T/$name.compile.out" ] || [ -s "$T/$name.compile.err" ]; then
        fail "compile-$name" "expected an image and nothing on stdout or stderr"
        continue
    fi
    pass "compile-$name"
    # the same configuration gives the same image
    "$P2M" compile -c "$cfg" -o "$T/$name.again.bin" 2>/dev/null < /dev/null
    if cmp -s "$T/$name.bin" "$T/$name.again.bin"; then pass "deterministic-$name"
    else fail "deterministic-$name" "two compiles of $cfg differ"; fi
    while IFS='|' read -r in file opts; do
        # shellcheck disable=SC2086 # opts: zero or more words
        "$P2M" convert -c "$cfg" --now "$NOW" $opts -o "$T/$name.$in.c.pb" "$file" \
            2> "$T/$name.$in.c.err" < /dev/null
        rc_c=$?
        # shellcheck disable=SC2086
        "$P2M" convert --engine "$T/$name.bin" --now "$NOW" $opts -o "$T/$name.$in.e.pb" "$file" \
            2> "$T/$name.$in.e.err" < /dev/null
        rc_e=$?
        if [ "$rc_c" -ne "$rc_e" ]; then
            fail "same-$name-$in" "exit $rc_c with -c, $rc_e with --engine: $(head -c 300 "$T/$name.$in.e.err")"
        elif [ "$rc_c" -ne 0 ] && [ "$name" != strict ] && [ "$name" != forced-strict ]; then
            fail "same-$name-$in" "both exit $rc_c: $(head -c 300 "$T/$name.$in.c.err")"
        elif ! cmp -s "$T/$name.$in.c.err" "$T/$name.$in.e.err"; then
            fail "same-$name-$in" "stderr differs: '$(head -c 300 "$T/$name.$in.c.err")' against '$(head -c 300 "$T/$name.$in.e.err")'"
        elif [ "$rc_c" -eq 0 ] && ! cmp -s "$T/$name.$in.c.pb" "$T/$name.$in.e.pb"; then
            fail "same-$name-$in" "the outputs differ"
        else
            pass "same-$name-$in"
            echo "$name $in $rc_c $opts" >> "$T/compared"
        fi
    done <<EOF
$INPUTS
EOF
done <<EOF
$CONFIGS
EOF

# Google protobuf decodes every output compared above: each -c output and its
# --engine twin parse to equal messages with data points (the stream input
# as length-prefixed frames), and the failures are the strict ones expected.
if $PY - "$T" <<'EOF'
import os, struct, sys
T = sys.argv[1]
sys.path.insert(0, os.path.join(T, "py"))
import metrics_pb2
bad = []
points = {}
for line in open(os.path.join(T, "compared")):
    name, inp, rc, *opts = line.split()
    if rc != "0":
        continue
    msgs = []
    for side in "ce":
        data = open(os.path.join(T, "%s.%s.%s.pb" % (name, inp, side)), "rb").read()
        frames = []
        if opts:  # otlp-stream: 4-byte big-endian lengths
            at = 0
            while at < len(data):
                n = struct.unpack(">I", data[at:at + 4])[0]
                frames.append(data[at + 4:at + 4 + n])
                at += 4 + n
        else:
            frames = [data]
        parsed = []
        for f in frames:
            m = metrics_pb2.ExportMetricsServiceRequest()
            m.ParseFromString(f)
            parsed.append(m)
        msgs.append(parsed)
    if msgs[0] != msgs[1]:
        bad.append("%s/%s: the decoded messages differ" % (name, inp))
    n = 0
    for m in msgs[0]:
        for rm in m.resource_metrics:
            for sm in rm.scope_metrics:
                for mt in sm.metrics:
                    kind = mt.WhichOneof("data")
                    n += len(getattr(mt, kind).data_points)
    points[name] = points.get(name, 0) + n
for name, n in sorted(points.items()):
    if n == 0:
        bad.append("%s: no data points in any output" % name)
if not points:
    bad.append("nothing was compared")
if bad:
    print("; ".join(bad))
    sys.exit(1)
print(" ".join("%s=%d" % kv for kv in sorted(points.items())))
EOF
then pass decode-protobuf; else fail decode-protobuf "see above"; fi

# strict mode with a forced layout the input contradicts: the same error from
# the image, naming the layout compiled into it
if grep -q 'drop the forced layout v1.10' "$T/forced-strict.profile.e.err" 2>/dev/null; then
    pass engine-layout-strict
else
    fail engine-layout-strict "expected the forced layout v1.10 named: $(head -c 300 "$T/forced-strict.profile.e.err" 2>/dev/null)"
fi
if grep -q 'warning: layout v1.10 is forced' "$T/forced.profile.e.err" 2>/dev/null; then
    pass engine-layout-warning
else
    fail engine-layout-warning "expected the warning of layout v1.10: $(head -c 300 "$T/forced.profile.e.err" 2>/dev/null)"
fi

# the other output formats from an image: table, OTLP/JSON, Prometheus text
for f in table json prom; do
    "$P2M" convert -c bindings/testdata/config.yaml --now "$NOW" -f "$f" "$DEMO" > "$T/fmt-$f.c" 2>&1
    "$P2M" convert --engine "$T/full.bin" --now "$NOW" -f "$f" "$DEMO" > "$T/fmt-$f.e" 2>&1
    if [ -s "$T/fmt-$f.c" ] && cmp -s "$T/fmt-$f.c" "$T/fmt-$f.e"; then pass "same-format-$f"
    else fail "same-format-$f" "-f $f differs between -c and --engine"; fi
done

# cumulative: one state over a stream of the demo request twice; the second
# message's points (Google protobuf) are twice the first's
if $PY - "$DEMO" "$T/demo2.stream" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write((struct.pack(">I", len(d)) + d) * 2)
EOF
then
    "$P2M" convert -c bindings/testdata/cumulative.yaml --now "$NOW" --input-format otlp-stream \
        -o "$T/cum.c.pb" "$T/demo2.stream" 2>/dev/null
    "$P2M" convert --engine "$T/cumulative.bin" --now "$NOW" --input-format otlp-stream \
        -o "$T/cum.e.pb" "$T/demo2.stream" 2>/dev/null
    if ! cmp -s "$T/cum.c.pb" "$T/cum.e.pb"; then
        fail cumulative-stream "the outputs of -c and --engine differ"
    elif $PY - "$T" <<'EOF'
import os, struct, sys
sys.path.insert(0, os.path.join(sys.argv[1], "py"))
import metrics_pb2
data = open(os.path.join(sys.argv[1], "cum.e.pb"), "rb").read()
frames, at = [], 0
while at < len(data):
    n = struct.unpack(">I", data[at:at + 4])[0]
    m = metrics_pb2.ExportMetricsServiceRequest()
    m.ParseFromString(data[at + 4:at + 4 + n])
    frames.append(m)
    at += 4 + n
def values(m):
    out = []
    for rm in m.resource_metrics:
        for sm in rm.scope_metrics:
            for mt in sm.metrics:
                assert mt.sum.aggregation_temporality == 2, mt.name  # CUMULATIVE
                for p in mt.sum.data_points:
                    out.append(p.as_int if p.WhichOneof("value") == "as_int" else p.as_double)
    return out
assert len(frames) == 2, len(frames)
a, b = values(frames[0]), values(frames[1])
assert a and len(a) == len(b), (a, b)
assert all(y == 2 * x for x, y in zip(a, b)), (a, b)
EOF
    then pass cumulative-stream
    else fail cumulative-stream "the second message is not twice the first"; fi
else
    fail cumulative-stream "could not write the stream"
fi

# ---- raw image on stdout, .h output -------------------------------------------
"$P2M" compile -c bindings/testdata/config.yaml -o - > "$T/full.stdout.bin" 2> "$T/stdout.err"
if cmp -s "$T/full.stdout.bin" "$T/full.bin" && [ ! -s "$T/stdout.err" ]; then pass compile-stdout
else fail compile-stdout "-o - did not write the image of -o FILE.bin: $(head -c 300 "$T/stdout.err")"; fi

"$P2M" compile -c bindings/testdata/config.yaml -o "$T/full.h" 2> "$T/h.err"
"$P2M" compile -c "$T/cfg/defaults.yaml" -o "$T/defaults.h" --name defaults_image 2>> "$T/h.err"
if [ -s "$T/h.err" ]; then
    fail header-write "$(head -c 300 "$T/h.err")"
elif $PY - "$T/full.h" "$T/full.bin" p2m_engine_image config.yaml \
        "$T/defaults.h" "$T/defaults.bin" defaults_image defaults.yaml <<'EOF'
import re, sys
a = sys.argv[1:]
for h, b, name, cfg in (a[0:4], a[4:8]):
    text = open(h).read()
    img = open(b, "rb").read()
    first = text.split("*/")[0]
    assert first.startswith("/*") and cfg in first and "p2m compile" in first, first
    m = re.search(r"#define %s_SIZE (\d+)\n" % name, text)
    assert m and int(m.group(1)) == len(img), "NAME_SIZE"
    m = re.search(r"static const unsigned char %s\[%s_SIZE\] = \{([^}]*)\};" % (name, name), text)
    assert m, "the array"
    got = bytes(int(x, 16) for x in re.findall(r"0x([0-9a-f]{2})", m.group(1)))
    assert got == img, "the array's bytes are not the image's"
EOF
then pass header-bytes; else fail header-bytes "the .h does not hold the image (see above)"; fi

# (b) a program built from the header: loads both arrays (two images in one
# file), converts the demo request with the first, prints the bytes; with
# --save-defaults it prints the image of the default configuration
# (p2m_config_init) instead, which must be the one p2m compile made of the
# empty file. Built natively with gcc (and g++), and for s390x (big-endian)
# and i686 (32-bit) as tests/suite-s390x.sh does: the image made here loads
# there, converts to the same bytes, and the image made there is the same.
cat > "$T/load.c" <<'EOF'
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"
#include "full.h"
#include "defaults.h"
#include "full.h" /* a second include is harmless */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const p2m_engine *load(const unsigned char *image, size_t size)
{
    p2m_error err;
    const p2m_engine *engine = NULL;
    void *mem;
    p2m_status st = p2m_engine_load(image, size, NULL, 0, &engine, &err);
    if (st != P2M_ERR_MEMORY || err.needed == 0) {
        fprintf(stderr, "size query: %s\n", p2m_status_string(st));
        exit(3);
    }
    mem = malloc(err.needed);
    if (mem == NULL || p2m_engine_load(image, size, mem, err.needed, &engine, &err) != P2M_OK) {
        fprintf(stderr, "load: %s\n", err.message);
        exit(3);
    }
    return engine;
}

int main(int argc, char **argv)
{
    static unsigned char input[1 << 20];
    const p2m_engine *engine = load(p2m_engine_image, p2m_engine_image_SIZE);
    p2m_options options;
    p2m_error err;
    size_t len, need = 0, n = 0;
    void *work;
    unsigned char *out;
    FILE *f;
    (void)load(defaults_image, defaults_image_SIZE);
#ifndef P2M_NO_COMPILE
    if (argc == 2 && strcmp(argv[1], "--save-defaults") == 0) {
        p2m_config cfg;
        void *emem = NULL;
        unsigned char *image = NULL;
        const p2m_engine *defaults = NULL;
        p2m_config_init(&cfg);
        if (p2m_engine_compile(&cfg, NULL, 0, &defaults, &err) != P2M_ERR_MEMORY ||
                (emem = malloc(err.needed)) == NULL ||
                p2m_engine_compile(&cfg, emem, err.needed, &defaults, &err) != P2M_OK ||
                p2m_engine_save(defaults, NULL, 0, &n, &err) != P2M_ERR_OUTPUT_TOO_SMALL ||
                (image = (unsigned char *)malloc(err.needed)) == NULL ||
                p2m_engine_save(defaults, image, err.needed, &n, &err) != P2M_OK) {
            fprintf(stderr, "defaults: %s\n", err.message);
            return 3;
        }
        fwrite(image, 1, n, stdout);
        return 0;
    }
#endif
    if (argc != 3 || (f = fopen(argv[1], "rb")) == NULL)
        return 3;
    len = fread(input, 1, sizeof input, f);
    fclose(f);
    memset(&options, 0, sizeof options);
    options.now_unix_nano = strtoull(argv[2], NULL, 10);
    if (p2m_work_size(engine, input, len, &need, &err) != P2M_OK || (work = malloc(need)) == NULL)
        return 3;
    if (p2m_convert(engine, input, len, &options, work, need, NULL, 0, &n, NULL, &err) !=
            P2M_ERR_OUTPUT_TOO_SMALL || (out = (unsigned char *)malloc(err.needed)) == NULL)
        return 3;
    if (p2m_convert(engine, input, len, &options, work, need, out, err.needed, &n, NULL, &err) !=
            P2M_OK) {
        fprintf(stderr, "convert: %s\n", err.message);
        return 3;
    }
    fwrite(out, 1, n, stdout);
    return 0;
}
EOF
# the builds, as jobs (another host's only where its compiler and runner
# are), and the P2M_USE_PCRE2 p2m of section (d)
# shellcheck disable=SC2086 # WARN: several flags
job_start with_rc load gcc -std=c99 $WARN -Werror -O1 -I. -I"$T" -o "$T/load" "$T/load.c" -lm \
    2> "$T/load.build.err"
# shellcheck disable=SC2086
job_start with_rc load-nocompile gcc -std=c99 $WARN -Werror -O1 -DP2M_NO_COMPILE -I. -I"$T" \
    -o "$T/load-nocompile" "$T/load.c" -lm 2> "$T/load-nocompile.build.err"
OTHER_HOSTS="s390x|${S390_CC:-s390x-linux-gnu-gcc}|${QEMU_S390X:-qemu-s390x}
i686|${I686_CC:-i686-linux-gnu-gcc}|${QEMU_I386:-qemu-i386}"
while IFS='|' read -r tname tcc trun; do
    command -v "$tcc" >/dev/null 2>&1 && command -v "$trun" >/dev/null 2>&1 || continue
    # shellcheck disable=SC2086
    job_start with_rc "load-$tname" "$tcc" -static -std=c99 $WARN -Werror -O1 -I. -I"$T" \
        -o "$T/load-$tname" "$T/load.c" -lm 2> "$T/load-$tname.build.err"
done <<EOF
$OTHER_HOSTS
EOF
command -v g++ >/dev/null 2>&1 &&
    job_start with_rc load-cxx g++ -std=c++11 -Wall -Wextra -Werror -O1 -I. -I"$T" -x c++ \
        -o "$T/load-cxx" "$T/load.c" 2> "$T/load-cxx.build.err"
if printf '#include <pcre2.h>\n' | cc -DPCRE2_CODE_UNIT_WIDTH=8 -E -x c - > /dev/null 2>&1; then
    yaml=""
    case "$LIBDEFS" in *P2M_HAVE_YAML*) yaml="-DP2M_HAVE_YAML -lyaml" ;; esac
    # shellcheck disable=SC2086 # yaml: several flags
    job_start with_rc p2m-pcre2 cc -std=c99 -O0 -DP2M_USE_PCRE2 -I. -o "$T/p2m-pcre2" tools/p2m*.c \
        $yaml -lpcre2-8 -lm 2> "$T/pcre2.build.err"
fi
"$P2M" convert --engine "$T/full.bin" --now "$NOW" -o "$T/load.want" "$DEMO" 2>/dev/null
job_wait
if ! ok load; then
    fail header-gcc "does not compile: $(head -c 600 "$T/load.build.err")"
elif ! "$T/load" "$DEMO" "$NOW" > "$T/load.out" 2> "$T/load.err"; then
    fail header-gcc "the program failed: $(head -c 300 "$T/load.err")"
elif [ ! -s "$T/load.want" ] || ! cmp -s "$T/load.out" "$T/load.want"; then
    fail header-gcc "its output is not convert --engine's"
else
    pass header-gcc
fi
# the firmware's build: no configuration compiler, no regex parser; the
# image (regex programs included) loads and converts the same
if ! ok load-nocompile; then
    fail header-no-compile "does not compile: $(head -c 600 "$T/load-nocompile.build.err")"
elif ! "$T/load-nocompile" "$DEMO" "$NOW" > "$T/load-nocompile.out" 2> "$T/load-nocompile.err"; then
    fail header-no-compile "the program failed: $(head -c 300 "$T/load-nocompile.err")"
elif ! cmp -s "$T/load-nocompile.out" "$T/load.want"; then
    fail header-no-compile "its output is not convert --engine's"
else
    pass header-no-compile
fi
if [ -x "$T/load" ] && "$T/load" --save-defaults > "$T/defaults.saved" 2> "$T/saved.err" &&
        cmp -s "$T/defaults.saved" "$T/defaults.bin"; then
    pass header-save-defaults
else
    fail header-save-defaults "p2m_engine_save of p2m_config_init's engine is not p2m compile's image of an empty file: $(head -c 300 "$T/saved.err")"
fi
# other hosts: NAME CC RUNNER (the runner empty: run natively)
for target in $OTHER_HOSTS; do
    IFS='|' read -r tname tcc trun <<EOF
$target
EOF
    if ! command -v "$tcc" >/dev/null 2>&1 || ! command -v "$trun" >/dev/null 2>&1; then
        fail "header-$tname" "$tcc or $trun not found (make deps: tools/install-deps.sh)"
        continue
    fi
    if ! ok "load-$tname"; then
        fail "header-$tname" "does not compile: $(head -c 300 "$T/load-$tname.build.err")"
    elif ! "$trun" "$T/load-$tname" "$DEMO" "$NOW" > "$T/load-$tname.out" 2> "$T/load-$tname.err" ||
            ! cmp -s "$T/load-$tname.out" "$T/load.want"; then
        fail "header-$tname" "the image made here does not convert to the same bytes there: $(head -c 300 "$T/load-$tname.err")"
    elif ! "$trun" "$T/load-$tname" --save-defaults > "$T/load-$tname.saved" 2>&1 ||
            ! cmp -s "$T/load-$tname.saved" "$T/defaults.bin"; then
        fail "header-$tname" "the image of the defaults made there differs from the one made here"
    else
        pass "header-$tname"
    fi
done
if command -v g++ >/dev/null 2>&1; then
    if ! ok load-cxx; then
        fail header-g++ "does not compile as C++: $(head -c 600 "$T/load-cxx.build.err")"
    elif ! "$T/load-cxx" "$DEMO" "$NOW" > "$T/load-cxx.out" 2>&1 ||
            ! cmp -s "$T/load-cxx.out" "$T/load.want"; then
        fail header-g++ "its output is not convert --engine's"
    else
        pass header-g++
    fi
fi

# ---- (c) corrupt, truncated and foreign images ---------------------------------
# the ASan + UBSan build of p2m (job_asan, finished at the job_wait above)
if [ -x "$ASAN" ]; then
    pass corrupt-asan-build
    SANP2M=$ASAN
else
    fail corrupt-asan-build "$(head -c 300 "$T/asan.build.err")"
    SANP2M=$P2M
fi
# A sanitizer's finding exits 86 or 87, apart from p2m's own 0, 1 and 2.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:exitcode=86
export UBSAN_OPTIONS=print_stacktrace=1:exitcode=87
# The image's frame, read here with Python's zlib (the layout the header
# documents at "engine images"): "p2mE", u32 version 1, u32 size of the
# whole image, u32 CRC-32 (zlib's) of the bytes from 16 on, little-endian.
if $PY - "$T/defaults.bin" "$T/full.bin" <<'EOF'
import struct, sys, zlib
for path in sys.argv[1:]:
    d = open(path, "rb").read()
    magic, version, size, crc = struct.unpack("<4sIII", d[:16])
    assert magic == b"p2mE" and version == 1, (path, magic, version)
    assert size == len(d), (path, size, len(d))
    assert crc == zlib.crc32(d[16:]), (path, "crc")
EOF
then pass image-frame; else fail image-frame "the images' frame is not as documented"; fi
# Every byte flipped (all of them up to 600 bytes, else 300 places) and
# every truncation (all up to 600, else 300 lengths): each must exit 2 with
# nothing on stdout and one line naming the image on stderr. (The runs of
# p2m go JOBS_MAX at a time, each thread with its own file; the results are
# taken in order.)
if JOBS_MAX=$JOBS_MAX $PY - "$SANP2M" "$T" "$DEMO" "$T/defaults.bin" "$T/full.bin" <<'EOF'
import os, random, re, subprocess, sys, threading
from concurrent.futures import ThreadPoolExecutor
p2m, T, demo = sys.argv[1:4]
images = sys.argv[4:]
rnd = random.Random(21)
bad, counts = [], {}
def places(n):
    if n <= 600:
        return list(range(n))
    return sorted(set([0, 1, 2, 3, n - 1, n - 2] + rnd.sample(range(n), 294)))
def run(data):
    path = os.path.join(T, "bad.%d.bin" % threading.get_ident())
    open(path, "wb").write(data)
    return subprocess.run([p2m, "convert", "--engine", path, "--now", "0", demo],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
def check(kind, r):
    err = r.stderr.decode("utf-8", "replace")
    first = err.splitlines()[0] if err else ""
    if r.returncode != 2 or r.stdout or not re.match(r"p2m: engine image \S+: .", first):
        bad.append("%s: exit %d, %d bytes out, stderr %r" % (kind, r.returncode,
                                                             len(r.stdout), err[:300]))
    elif " invalid at byte " in first:
        counts["image"] = counts.get("image", 0) + 1
    else:
        counts["other"] = counts.get("other", 0) + 1
for img in images:
    good = open(img, "rb").read()
    name = os.path.basename(img)
    cases = []
    for i, at in enumerate(places(len(good))):
        d = bytearray(good)
        d[at] ^= 0xFF if i % 2 == 0 else 0x01
        cases.append(("%s byte %d flipped" % (name, at), bytes(d)))
    for n in places(len(good)):
        cases.append(("%s cut at %d" % (name, n), good[:n]))
    with ThreadPoolExecutor(int(os.environ["JOBS_MAX"])) as pool:
        for (kind, _), r in zip(cases, pool.map(run, [d for _, d in cases])):
            check(kind, r)
    if len(bad) > 20:
        break
print("images %s: %s" % (", ".join("%s %d bytes" % (os.path.basename(i), os.path.getsize(i))
                                  for i in images),
                         ", ".join("%d %s errors" % (v, k) for k, v in sorted(counts.items()))))
if bad:
    print("\n".join(bad[:20]))
    sys.exit(1)
EOF
then pass corrupt-flips-truncations; else fail corrupt-flips-truncations "see above"; fi

# The same damage with the frame made right again (size and CRC-32 of the
# damaged bytes, by Python's zlib), so that it passes the checksum and
# reaches the loader's checks of every field, and a loaded engine then
# converts the demo request: p2m may refuse the image (exit 2 with a line
# naming it) or take it as another valid engine (exit 0, or 1 for the
# input), but never crash or trip ASan or UBSan. Every body byte of the
# defaults' image, 300 of the full one's (its regex programs included), 60
# cuts of each. (JOBS_MAX runs at a time, as above.)
if JOBS_MAX=$JOBS_MAX $PY - "$SANP2M" "$T" "$DEMO" "$T/defaults.bin" "$T/full.bin" <<'EOF'
import os, random, re, struct, subprocess, sys, threading, zlib
from concurrent.futures import ThreadPoolExecutor
p2m, T, demo = sys.argv[1:4]
rnd = random.Random(2121)
bad, counts = [], {}
def seal(body):
    return b"p2mE" + struct.pack("<III", 1, 16 + len(body), zlib.crc32(body)) + body
def run(data):
    path = os.path.join(T, "sealed.%d.bin" % threading.get_ident())
    open(path, "wb").write(data)
    return subprocess.run([p2m, "convert", "--engine", path, "--now", "0", "-f", "json", demo],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
cases = []
def add(kind, data):
    cases.append((kind, data))
def check(kind, r):
    err = r.stderr.decode("utf-8", "replace")
    if r.returncode == 2 and r.stdout == b"" and re.match(r"p2m: engine image \S+: .", err):
        counts["refused"] = counts.get("refused", 0) + 1
    elif r.returncode in (0, 1) and "Sanitizer" not in err and "runtime error" not in err:
        counts["loaded, exit %d" % r.returncode] = counts.get("loaded, exit %d" % r.returncode, 0) + 1
    else:
        bad.append("%s: exit %d, stderr %r" % (kind, r.returncode, err[:400]))
for img in sys.argv[4:]:
    body = open(img, "rb").read()[16:]
    name = os.path.basename(img)
    n = len(body)
    flips = range(n) if n <= 600 else sorted(rnd.sample(range(n), 300))
    for i, at in enumerate(flips):
        d = bytearray(body)
        d[at] ^= (0xFF, 0x01, 0x80, 0x10)[i % 4]
        add("%s body byte %d flipped, resealed" % (name, at), seal(bytes(d)))
    for cut in sorted(rnd.sample(range(n), min(n, 60))):
        add("%s body cut at %d, resealed" % (name, cut), seal(body[:cut]))
    add("%s body and one more byte, resealed" % name, seal(body + b"\0"))
with ThreadPoolExecutor(int(os.environ["JOBS_MAX"])) as pool:
    for (kind, _), r in zip(cases, pool.map(run, [d for _, d in cases])):
        check(kind, r)
print("resealed: " + ", ".join("%d %s" % (v, k) for k, v in sorted(counts.items())))
if bad:
    print("\n".join(bad[:20]))
    sys.exit(1)
EOF
then pass corrupt-resealed; else fail corrupt-resealed "see above"; fi

# expect NAME RC STDERR_REGEX P2M-ARGS...: exit code, empty stdout, stderr matches
expect() {
    name=$1 want=$2 pat=$3
    shift 3
    "$SANP2M" "$@" > "$T/$name.out" 2> "$T/$name.err" < /dev/null
    rc=$?
    if [ "$rc" -ne "$want" ]; then
        fail "$name" "exit $rc, expected $want: $(head -c 300 "$T/$name.err")"
    elif [ -s "$T/$name.out" ]; then
        fail "$name" "wrote to stdout on failure"
    elif ! grep -Eq -- "$pat" "$T/$name.err"; then
        fail "$name" "stderr does not match /$pat/: $(head -c 300 "$T/$name.err")"
    else
        pass "$name"
    fi
}
cat "$T/defaults.bin" "$T/defaults.bin" > "$T/twice.bin"
cp "$T/defaults.bin" "$T/trailing.bin" && printf '\0' >> "$T/trailing.bin"
: > "$T/empty.bin"
$PY -c 'import random,sys; r=random.Random(7); sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(4096)))' > "$T/random.bin"
expect corrupt-foreign-otlp 2 "^p2m: engine image $DEMO: invalid at byte [0-9]+: ." \
    convert --engine "$DEMO" "$DEMO"
expect corrupt-foreign-empty 2 "^p2m: engine image $T/empty.bin: invalid at byte 0: ." \
    convert --engine "$T/empty.bin" "$DEMO"
expect corrupt-foreign-random 2 "^p2m: engine image $T/random.bin: invalid at byte [0-9]+: ." \
    convert --engine "$T/random.bin" "$DEMO"
expect corrupt-image-twice 2 "^p2m: engine image $T/twice.bin: invalid at byte [0-9]+: ." \
    convert --engine "$T/twice.bin" "$DEMO"
expect corrupt-trailing-byte 2 "^p2m: engine image $T/trailing.bin: invalid at byte [0-9]+: ." \
    convert --engine "$T/trailing.bin" "$DEMO"
expect corrupt-header-given 2 "^p2m: engine image $T/full.h: invalid at byte 0: .*; the file is a C header: --engine reads the raw image \(p2m compile -o FILE.bin\)$" \
    convert --engine "$T/full.h" "$DEMO"
expect corrupt-missing-file 2 "^p2m: cannot open $T/nope.bin: No such file or directory$" \
    convert --engine "$T/nope.bin" "$DEMO"

# ---- (d) usage errors, configuration errors, write errors ------------------------
# expect_exact NAME RC MESSAGE P2M-ARGS...: exit code, empty stdout, stderr exactly MESSAGE
expect_exact() {
    name=$1 want=$2 msg=$3
    shift 3
    "$P2M" "$@" > "$T/$name.out" 2> "$T/$name.err" < /dev/null
    rc=$?
    printf '%s\n' "$msg" > "$T/$name.want"
    if [ "$rc" -ne "$want" ]; then
        fail "$name" "exit $rc, expected $want: $(head -c 300 "$T/$name.err")"
    elif [ -s "$T/$name.out" ]; then
        fail "$name" "wrote to stdout on failure"
    elif ! cmp -s "$T/$name.want" "$T/$name.err"; then
        fail "$name" "stderr '$(cat "$T/$name.err")', expected '$msg'"
    else
        pass "$name"
    fi
}
C="$T/cfg/defaults.yaml"
expect_exact usage-no-output 2 "p2m: no output given (-o FILE.bin for the image, -o FILE.h for a C header, -o - for the image on stdout)
Try 'p2m compile --help'." compile -c "$C"
expect_exact usage-no-config 2 "p2m: no configuration file given (-c FILE)
Try 'p2m compile --help'." compile -o "$T/x.bin"
expect_exact usage-name-digit 2 "p2m: --name takes a C identifier (letters, digits and _, not beginning with a digit, not a keyword), not '1st_image'
Try 'p2m compile --help'." compile -c "$C" -o "$T/x.h" --name 1st_image
expect_exact usage-name-dash 2 "p2m: --name takes a C identifier (letters, digits and _, not beginning with a digit, not a keyword), not 'my-image'
Try 'p2m compile --help'." compile -c "$C" -o "$T/x.h" --name my-image
expect_exact usage-name-keyword 2 "p2m: --name takes a C identifier (letters, digits and _, not beginning with a digit, not a keyword), not 'static'
Try 'p2m compile --help'." compile -c "$C" -o "$T/x.h" --name static
expect_exact usage-name-empty 2 "p2m: --name takes a C identifier (letters, digits and _, not beginning with a digit, not a keyword), not ''
Try 'p2m compile --help'." compile -c "$C" -o "$T/x.h" --name=
expect_exact usage-name-not-header 2 "p2m: --name names the array of a .h output; $T/x.bin gets the raw image
Try 'p2m compile --help'." compile -c "$C" -o "$T/x.bin" --name img
expect_exact usage-name-value 2 "p2m: option '--name' needs a value
Try 'p2m compile --help'." compile -c "$C" -o "$T/x.h" --name
expect_exact usage-compile-unknown 2 "p2m: unknown option '-f'
Try 'p2m compile --help'." compile -f otlp -c "$C" -o "$T/x.bin"
expect_exact usage-compile-argument 2 "p2m: unexpected argument 'extra.yaml'
Try 'p2m compile --help'." compile -c "$C" -o "$T/x.bin" extra.yaml
expect_exact usage-config-and-engine 2 "p2m: -c and --engine both give the engine: use one (--engine takes an image made by p2m compile)
Try 'p2m convert --help'." convert -c "$C" --engine "$T/defaults.bin" "$DEMO"
expect_exact usage-connector-and-engine 2 "p2m: --connector selects a connector of a -c configuration; an --engine image has none
Try 'p2m convert --help'." convert --connector a --engine "$T/defaults.bin" "$DEMO"
expect_exact usage-layout-and-engine 2 "p2m: --layout cannot change the layout compiled into an --engine image: set layout: in the configuration given to p2m compile
Try 'p2m convert --help'." convert --layout v1.8 --engine "$T/defaults.bin" "$DEMO"
expect_exact usage-engine-stdin-twice 2 "p2m: --engine - and the input both read standard input: give one of them as a file
Try 'p2m convert --help'." convert -f table --engine - -
expect_exact usage-engine-value 2 "p2m: option '--engine' needs a value
Try 'p2m convert --help'." convert -f table --engine
if [ ! -e "$T/x.bin" ] && [ ! -e "$T/x.h" ]; then pass usage-no-file
else fail usage-no-file "a usage error left $T/x.bin or $T/x.h"; fi
# --engine - : the image on stdin
if "$P2M" convert --engine - --now "$NOW" -o "$T/stdin.pb" "$DEMO" < "$T/full.bin" 2>/dev/null &&
        cmp -s "$T/stdin.pb" "$T/full.demo.e.pb"; then pass engine-stdin
else fail engine-stdin "--engine - did not convert as --engine FILE"; fi

# configuration errors: as p2m validate prints them, exit 2, no output file
printf 'metrics:\n  cpu: {metirc_name: x}\n' > "$T/cfg/typo.yaml"
"$P2M" validate -c "$T/cfg/typo.yaml" > /dev/null 2> "$T/typo.validate.err"
expect_exact config-error-as-validate 2 "$(cat "$T/typo.validate.err")" \
    compile -c "$T/cfg/typo.yaml" -o "$T/typo.bin"
printf 'process_filter: {enabled: true, pattern: "(ab"}\n' > "$T/cfg/badre.yaml"
"$P2M" validate -c "$T/cfg/badre.yaml" > /dev/null 2> "$T/badre.validate.err"
expect_exact config-engine-error-as-validate 2 "$(cat "$T/badre.validate.err")" \
    compile -c "$T/cfg/badre.yaml" -o "$T/badre.h"
expect_exact config-missing 2 "p2m: config: cannot open $T/cfg/nope.yaml: No such file or directory" \
    compile -c "$T/cfg/nope.yaml" -o "$T/nope.bin"
if [ -s "$T/typo.validate.err" ] && [ ! -e "$T/typo.bin" ] && [ ! -e "$T/badre.h" ] &&
        [ ! -e "$T/nope.bin" ]; then pass config-error-no-file
else fail config-error-no-file "a failed compile left an output file (or validate said nothing)"; fi

# a failure leaves an existing output as it was, and no temporary file
leftovers() { for f in "$T"/keep.bin.* "$T"/keep.h.*; do [ -e "$f" ] && echo "$f"; done; }
printf 'old\n' > "$T/keep.bin"
"$P2M" compile -c "$T/cfg/typo.yaml" -o "$T/keep.bin" 2>/dev/null
if [ "$(cat "$T/keep.bin")" = old ] && [ -z "$(leftovers)" ]; then
    pass write-failure-keeps-old
else
    fail write-failure-keeps-old "the old output changed or a temporary file remains: $(leftovers)"
fi
# a write that fails half-way (a file size limit of 512 bytes, SIGXFSZ
# ignored so that write fails with EFBIG): the message names OUT, the
# partial temporary file is removed and the old OUT stays
printf 'old\n' > "$T/keep.h"
(ulimit -f 1 && trap '' XFSZ && exec "$P2M" compile -c bindings/testdata/config.yaml \
    -o "$T/keep.h") > "$T/efbig.out" 2> "$T/efbig.err" < /dev/null
rc=$?
if [ "$rc" -eq 2 ] && [ "$(cat "$T/keep.h")" = old ] && [ -z "$(leftovers)" ] &&
        [ "$(cat "$T/efbig.err")" = "p2m: cannot write $T/keep.h: File too large" ]; then
    pass write-half-way
else
    fail write-half-way "exit $rc, stderr '$(cat "$T/efbig.err")', keep.h '$(head -c 40 "$T/keep.h")'"
fi
# a successful compile replaces it, and leaves no temporary file
if "$P2M" compile -c "$C" -o "$T/keep.bin" 2>/dev/null && cmp -s "$T/keep.bin" "$T/defaults.bin" &&
        [ -z "$(leftovers)" ]; then pass write-replaces
else fail write-replaces "the output was not replaced by the image"; fi
expect_exact write-no-directory 2 "p2m: cannot write $T/no/such/dir/e.bin: No such file or directory" \
    compile -c "$C" -o "$T/no/such/dir/e.bin"
if [ -w /dev/full ]; then
    expect_exact write-device-full 2 "p2m: cannot write /dev/full: No space left on device" \
        compile -c "$C" -o /dev/full
fi
expect_exact write-over-config 2 "p2m: the output $C is the configuration $C (the same file): it would be overwritten; write to another file" \
    compile -c "$C" -o "$C"
if [ ! -s "$C" ]; then pass write-over-config-kept; else fail write-over-config-kept "the configuration changed"; fi

# a configuration the library cannot image: PCRE2 patterns (a p2m built with
# P2M_USE_PCRE2, when libpcre2-dev is there): the library's reason, exit 2
if printf '#include <pcre2.h>\n' | cc -DPCRE2_CODE_UNIT_WIDTH=8 -E -x c - > /dev/null 2>&1; then
    if ok p2m-pcre2; then
        "$T/p2m-pcre2" compile -c bindings/testdata/config.yaml -o "$T/pcre2.bin" > "$T/pcre2.out" 2> "$T/pcre2.err"
        rc=$?
        if [ "$rc" -eq 2 ] && [ ! -s "$T/pcre2.out" ] && [ ! -e "$T/pcre2.bin" ] &&
                grep -Eq '^p2m: cannot make an engine image of bindings/testdata/config.yaml: .' "$T/pcre2.err"; then
            pass compile-pcre2-refused
        else
            fail compile-pcre2-refused "exit $rc, file $(ls "$T/pcre2.bin" 2>/dev/null), stderr $(head -c 300 "$T/pcre2.err")"
        fi
    else
        fail compile-pcre2-refused "a P2M_USE_PCRE2 p2m does not build: $(head -c 300 "$T/pcre2.build.err")"
    fi
fi

# ---- help ------------------------------------------------------------------------
"$P2M" help compile > "$T/help1" 2>&1
"$P2M" compile --help > "$T/help2" 2>&1
if cmp -s "$T/help1" "$T/help2" && head -1 "$T/help1" | grep -q '^usage: p2m compile' &&
        grep -q -- '--name' "$T/help1" && grep -q -- '--engine' docs/cli.md &&
        "$P2M" convert --help | grep -q -- '--engine IMAGE' &&
        "$P2M" --help | grep -q '^  compile ' &&
        [ "$(tail -1 "$T/help1")" = "Documentation: man p2m, or README.md in the profile2metrics sources." ]
then pass help-compile
else fail help-compile "p2m help compile, compile --help, convert --help or p2m --help lacks the command"; fi

exit $failed

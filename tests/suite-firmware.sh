#!/bin/sh
# SPDX-License-Identifier: MIT
# The firmware example (issues 7, 21): the header on a bare-metal Cortex-M4.
# Builds examples/firmware/ for QEMU's mps2-an386 and for the host, runs the
# image under qemu-system-arm (semihosting, with a timeout) and checks that
#   - the image converts with engines loaded from images compiled on the
#     host (P2M_NO_COMPILE), into a block and streamed through the nanopb
#     adapter, and the two outputs are the same bytes;
#   - the metrics bytes are identical to the host build's (same source,
#     inputs, configuration and "now");
#   - they decode (Google protobuf) to the values computed in Python from
#     the input requests (examples/firmware/check_output.py);
#   - a stream that stops taking bytes stops the conversion (P2M_ERR_WRITE);
#   - on the host (stream_test.c, check_stream.py), the streamed output of
#     the example's requests and of the repository's inputs equals
#     p2m_convert's over nanopb's buffer stream and a callback stream (with
#     the default and the smallest stream buffer), writers that fail after
#     K bytes give P2M_ERR_WRITE, and nanopb-generated code decodes the
#     stream to what Google protobuf decodes and check_output.py expects;
#   - the call graph has no recursion, so the stack bound is real, and the
#     stack measured on the target stays within it;
#   - the stack-bound tool does catch recursion (a negative control);
#   - a faulting image fails the run (negative control);
#   - the library has no static data of its own.
# Outputs under build/firmware/. Needs gcc-arm-none-eabi,
# libnewlib-arm-none-eabi and qemu-system-arm (tools/install-deps.sh).
cd "$(dirname "$0")/.." || exit 2
PY=/usr/bin/python3
D=build/firmware
failed=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; failed=1; }

missing=""
for t in arm-none-eabi-gcc arm-none-eabi-size arm-none-eabi-objdump arm-none-eabi-nm \
         qemu-system-arm protoc timeout nanopb_generator.py; do
    command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
$PY -c 'import google.protobuf' 2>/dev/null || missing="$missing python3-protobuf"
[ -f /usr/include/pb_encode.h ] || missing="$missing libnanopb-dev"
if [ -n "$missing" ]; then
    fail firmware-tools "missing:$missing (run tools/install-deps.sh)"
    exit 1
fi
pass firmware-tools

mkdir -p $D
. tests/jobs.sh
# the targets are independent: JOBS_MAX at a time, each one's messages kept
# together in the log (-Otarget)
if make -s -j"$JOBS_MAX" -Otarget firmware > $D/build.log 2>&1; then
    pass firmware-build
else
    fail firmware-build "make firmware failed: $(tail -n 5 $D/build.log | tr '\n' ' ')"
    exit 1
fi

# Three jobs (tests/jobs.sh): the same program logic built by clang
# (warning-free, same bytes below), QEMU's run of the image, and the library
# built alone for the target (no static data, at the end). Each leaves its
# exit code in $D/NAME.rc.
# with_rc NAME command...: runs a command, its exit code into $D/NAME.rc
with_rc() {
    name=$1; shift
    "$@"
    echo $? > "$D/$name.rc"
}
ok() { [ "$(cat "$D/$1.rc" 2>/dev/null)" = 0 ]; }
rm -f $D/fw-host-clang $D/*.rc $D/run.out.tmp
job_start with_rc clang clang -std=c99 -O2 -Wall -Wextra -Wpedantic -Wconversion \
    -Wsign-conversion -Wshadow -Wcast-qual -Wundef -Werror -I. -Iexamples/firmware -I$D/gen \
    -o $D/fw-host-clang examples/firmware/app.c examples/firmware/host.c \
    -lprotobuf-nanopb 2> $D/clang.log
job_start with_rc qemu timeout 60 qemu-system-arm -M mps2-an386 -display none -monitor none \
    -serial none -chardev file,id=semi,path=$D/run.out.tmp \
    -semihosting-config enable=on,target=native,chardev=semi \
    -kernel $D/fw.elf > $D/qemu.log 2>&1
# The library keeps no static data of its own (no mutable globals, docs/spec.md section 8):
# the header compiled alone for the target has empty .data and .bss. (The
# full size report, make firmware-size, is not part of the suite: it builds
# every variant and is a measurement, not a check.)
printf '%s\n' '/* SPDX-License-Identifier: MIT */' '#define P2M_IMPLEMENTATION' \
    '#include "profile2metrics.h"' > $D/lib-alone.c
job_start with_rc lib-alone arm-none-eabi-gcc -std=c99 -Os -ffreestanding -mcpu=cortex-m4 \
    -mthumb -fdata-sections -ffunction-sections -I. -c $D/lib-alone.c -o $D/lib-alone.o \
    2> $D/lib-alone.log
job_wait
rc=$(cat $D/qemu.rc)

if ok clang; then
    pass firmware-host-clang-build
else
    fail firmware-host-clang-build "$(head -n 5 $D/clang.log | tr '\n' ' ')"
fi

if [ $rc -eq 0 ] && grep -qx 'done OK' $D/run.out.tmp; then
    mv $D/run.out.tmp $D/run.out
    pass firmware-qemu-run
else
    [ $rc -eq 124 ] && why="timed out after 60 s" || why="exit status $rc"
    fail firmware-qemu-run "$why; last lines: $(tail -n 3 $D/run.out.tmp $D/qemu.log 2>/dev/null | tr '\n' ' ')"
    exit 1
fi

if $D/fw-host > $D/host.out && grep -qx 'done OK' $D/host.out; then
    pass firmware-host-run
else
    fail firmware-host-run "host build did not finish with done OK"
fi
if [ -x $D/fw-host-clang ]; then
    $D/fw-host-clang > $D/host-clang.out
    if cmp -s $D/host.out $D/host-clang.out; then
        pass firmware-host-gcc-equals-clang
    else
        fail firmware-host-gcc-equals-clang "gcc and clang host builds print different output"
    fi
fi

# No recursion anywhere: the bound of the call graph exists.
if make -s $D/stack.json > $D/stack.log 2>&1; then
    pass firmware-no-recursion
else
    why=$(grep -E 'PROBLEM|recursion' $D/stack.log | head -n 3 | tr '\n' ' ')
    [ -n "$why" ] || why="make $D/stack.json failed: $(tail -n 4 $D/stack.log | tr '\n' ' ')"
    fail firmware-no-recursion "$why"
fi

$PY examples/firmware/check_output.py $D/gen $D/run.out $D/host.out $D/stack.json || failed=1

# The firmware's images (mkimage.c, from p2m_config values) are the bytes
# `p2m compile` makes of the same configurations written in YAML
# (examples/firmware/configs/): the two ways in docs/embedded.md agree.
if make -s build/p2m > $D/p2m-build.log 2>&1; then
    for c in small small-max8 firmware firmware-inclusive firmware-filtered; do
        rm -f $D/cli-$c.bin
        if ! build/p2m compile -c examples/firmware/configs/$c.yaml -o $D/cli-$c.bin \
                2> $D/cli-$c.err; then
            fail firmware-image-equals-p2m-compile-$c "p2m compile: $(head -c 200 $D/cli-$c.err)"
            continue
        fi
        why=$($PY - "$D/gen/engines.h" "$c" "$D/cli-$c.bin" <<'EOF'
import re, sys
h, name, cli = open(sys.argv[1]).read(), sys.argv[2], open(sys.argv[3], "rb").read()
c = name.replace("-", "_")
m = re.search(r"fw_engine_%s\[fw_engine_%s_SIZE\] = \{([^}]*)\}" % (c, c), h)
img = bytes(int(x, 16) for x in re.findall(r"0x([0-9a-f]{2})", m.group(1))) if m else b""
if img != cli or not img:
    print("mkimage wrote %d bytes, p2m compile %d" % (len(img), len(cli)))
EOF
)
        if [ -z "$why" ]; then
            pass firmware-image-equals-p2m-compile-$c
        else
            fail firmware-image-equals-p2m-compile-$c "$why"
        fi
    done
else
    fail firmware-image-equals-p2m-compile "make build/p2m failed: $(tail -n 3 $D/p2m-build.log | tr '\n' ' ')"
fi

# The stream on the host, through Debian's nanopb: the example's cases and
# the repository's inputs, with the default stream buffer (256) and the
# smallest (16); nanopb's decode checked by check_stream.py.
# (sig-profiling-k8s.otlp holds two length-framed requests: real-k8s-1, -2)
names="small small-max8 firmware firmware-inclusive firmware-filtered demo real-profile"
names="$names real-k8s-1 real-k8s-2"
inputs="demo=examples/demo.otlp real-profile=tests/data/real/sig-profiling-profile.otlp"
inputs="$inputs real-k8s=framed:tests/data/real/sig-profiling-k8s.otlp"
for t in stream-test stream-test-16; do
    mkdir -p $D/$t.d
    rm -f $D/$t.d/*
    # shellcheck disable=SC2086 # word splitting of the lists is intended
    $D/$t $D/$t.d $inputs > $D/$t.out 2> $D/$t.err
    rc=$?
    sed "s/^\(PASS\|FAIL\) stream-/\1 $t-/" $D/$t.out
    if [ $rc -ne 0 ] || grep -q '^FAIL' $D/$t.out; then
        fail $t "exit $rc: $(head -c 300 $D/$t.err)"
    fi
    # shellcheck disable=SC2086
    $PY examples/firmware/check_stream.py --host-run $D/host.out $D/$t.d $D/gen $names | \
        sed "s/^\(PASS\|FAIL\) /\1 $t-/" > $D/$t.check
    cat $D/$t.check
    grep -q '^FAIL' $D/$t.check && failed=1
    grep -q '^PASS' $D/$t.check || fail $t-decode "check_stream.py checked nothing"
done

# Negative control: the bound tool must refuse a program with recursion.
N=$D/negative
mkdir -p $N
cat > $N/rec.c <<'EOF'
/* SPDX-License-Identifier: MIT */
#include "fw.h"
static int odd(unsigned n);
__attribute__((noinline)) static int even(unsigned n) { return n == 0 ? 1 : odd(n - 1); }
__attribute__((noinline)) static int odd(unsigned n) { return n == 0 ? 0 : even(n - 1); }
int fw_main(void) { fw_write(even(7) ? "even\n" : "odd\n"); return 0; }
EOF
if (cd $N && arm-none-eabi-gcc -std=c99 -Os -ffreestanding -mcpu=cortex-m4 -mthumb \
        -ffunction-sections -I../../../examples/firmware -fstack-usage -fcallgraph-info=su \
        -c rec.c -o rec.o) && \
   arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb --specs=nano.specs -nostartfiles \
        -Wl,--gc-sections -T examples/firmware/fw.ld -o $N/rec.elf $N/rec.o $D/target.o; then
    $PY examples/firmware/stack_bound.py --elf $N/rec.elf --root fw_main $N/rec.ci \
        > $N/bound.out 2>&1
    rc=$?
    if [ $rc -ne 0 ] && grep -q 'recursion: even -> odd' $N/bound.out; then
        pass firmware-stack-bound-catches-recursion
    else
        fail firmware-stack-bound-catches-recursion "exit $rc: $(tr '\n' ' ' < $N/bound.out)"
    fi
else
    fail firmware-stack-bound-catches-recursion "could not build the negative control"
fi

# Negative control: a firmware that faults must end QEMU with a failure
# (the fault handler reports over semihosting), not hang or pass.
cat > $N/fault.c <<'EOF'
/* SPDX-License-Identifier: MIT */
#include "fw.h"
int fw_main(void) { volatile unsigned *p = (unsigned *)0x70000000u; return (int)*p; }
EOF
if arm-none-eabi-gcc -std=c99 -Os -ffreestanding -mcpu=cortex-m4 -mthumb -Iexamples/firmware \
        -c $N/fault.c -o $N/fault.o && \
   arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb --specs=nano.specs -nostartfiles \
        -T examples/firmware/fw.ld -o $N/fault.elf $N/fault.o $D/target.o; then
    rm -f $N/fault.out
    timeout 30 qemu-system-arm -M mps2-an386 -display none -monitor none -serial none \
        -chardev file,id=semi,path=$N/fault.out \
        -semihosting-config enable=on,target=native,chardev=semi -kernel $N/fault.elf \
        > /dev/null 2>&1
    rc=$?
    if [ $rc -eq 1 ] && grep -q '^FAULT' $N/fault.out; then
        pass firmware-fault-fails-the-run
    else
        fail firmware-fault-fails-the-run "exit $rc, output: $(head -c 200 $N/fault.out 2>/dev/null)"
    fi
else
    fail firmware-fault-fails-the-run "could not build the negative control"
fi

# The library alone for the target (built above): no .data, no .bss.
if ok lib-alone; then
    statics=$(arm-none-eabi-size -A $D/lib-alone.o | \
              awk '$1 ~ /^\.(data|bss)/ && $2 > 0 { printf "%s %s ", $1, $2 }')
    if [ -z "$statics" ]; then
        pass firmware-library-no-static-data
    else
        fail firmware-library-no-static-data "static data in the library: $statics"
    fi
else
    fail firmware-library-no-static-data "$(head -n 3 $D/lib-alone.log | tr '\n' ' ')"
fi

exit $failed

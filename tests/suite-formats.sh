#!/bin/sh
# SPDX-License-Identifier: MIT
# p2m's other formats, each checked by an independent tool:
#   -f json   parsed by Google protobuf's json_format and compared with the
#             protobuf decode of `-f otlp` of the same input and settings
#   -f prom   `promtool check metrics` (Debian package prometheus) and every
#             sample against the decoded metrics mapped by the OpenTelemetry
#             -> Prometheus rules re-implemented in tests/formats_check.py
#   -f table  the demo's golden table (tests/golden/demo.table, written by
#             hand) and its totals against the protobuf decode
#   --input-format json   json_format.MessageToJson of the input converts to
#             the same bytes as the binary input
#   --resource-attr       decoded output carries the attribute
# Scratch files in build/formats.
cd "$(dirname "$0")/.." || exit 2
PY=/usr/bin/python3
P2M=${P2M:-build/p2m}
T=build/formats
REAL=tests/data/real
CHECK="$PY tests/formats_check.py"
failed=0

pass() { printf "PASS %s\n" "$1"; }
fail() { printf "FAIL %s: %s\n" "$1" "$2"; failed=1; }

mkdir -p "$T"
[ -x "$P2M" ] || make -s build/p2m >/dev/null 2>&1
if [ ! -x "$P2M" ]; then
    echo "FAIL formats-build: build/p2m could not be built"
    exit 1
fi
if ! $PY -c 'import google.protobuf' 2>/dev/null; then
    echo "FAIL formats-deps: $PY cannot import google.protobuf (python3-protobuf)"
    exit 1
fi
if ! command -v protoc >/dev/null 2>&1; then
    echo "FAIL formats-deps: protoc not found (protobuf-compiler)"
    exit 1
fi
if [ ! -f "$REAL/sig-profiling-profile.otlp" ] || [ ! -f "$REAL/sig-profiling-k8s.otlp" ]; then
    echo "FAIL formats-deps: real captures not found under $REAL"
    exit 1
fi
if ! protoc -Iproto --python_out="$T" proto/metrics.proto proto/profiles_v1_8.proto \
        proto/profiles_v1_9.proto proto/profiles_v1_10.proto; then
    echo "FAIL formats-deps: protoc could not compile proto/"
    exit 1
fi
export PYTHONPATH="$T"
O=$T/out
mkdir -p "$O"

# ---- inputs and configurations ---------------------------------------------
if ! $CHECK inputs "$T" > "$T/inputs.log" 2>&1; then
    echo "FAIL formats-inputs: $(head -c 300 "$T/inputs.log")"
    exit 1
fi
for s in small typical; do
    if ! $PY tools/gen_profiles.py --shape $s -o "$T/gen-$s.otlp" > /dev/null 2>&1; then
        echo "FAIL formats-inputs: gen_profiles.py --shape $s"
        exit 1
    fi
done
$PY tools/gen_profiles.py --shape small --layout v1.8 -o "$T/gen-small-v18.otlp" > /dev/null 2>&1
$PY tools/gen_profiles.py --shape small --stream 3 -o "$T/gen-stream.otlp" > /dev/null 2>&1

cat > "$T/default.yaml" <<'EOF'
temporality: delta
EOF
cat > "$T/cumulative.yaml" <<'EOF'
temporality: cumulative
EOF
cat > "$T/function.yaml" <<'EOF'
metrics:
  cpu: {unit: ms}
  function: {enabled: true, mode: inclusive}
EOF
cat > "$T/overflow.yaml" <<'EOF'
max_series: 2
metrics:
  memory: {metric_name: mem.alloc-bytes, description: "a \"quoted\"\\ line"}
EOF

# cases: NAME INPUT CONFIG STREAM(0/1)
CASES="demo examples/demo.otlp default 0
real-profile $REAL/sig-profiling-profile.otlp default 0
real-k8s $REAL/sig-profiling-k8s.otlp default 1
real-k8s-cumulative $REAL/sig-profiling-k8s.otlp cumulative 1
real-profile-function $REAL/sig-profiling-profile.otlp function 0
gen-small $T/gen-small.otlp default 0
gen-small-v18 $T/gen-small-v18.otlp function 0
gen-typical $T/gen-typical.otlp default 0
gen-typical-overflow $T/gen-typical.otlp overflow 0
gen-typical-function $T/gen-typical.otlp function 0
gen-stream-cumulative $T/gen-stream.otlp cumulative 1
gen-stream-overflow $T/gen-stream.otlp overflow 1
nested $T/nested.otlp default 0
nested-overflow $T/nested.otlp overflow 0
nested-strindex $T/nested-strindex.otlp default 0
nested-deep $T/nested-deep.otlp default 0
resource-dropped-count $T/dropped.otlp default 0"

# conv NAME INPUT CONFIG STREAM FORMAT [EXTRA...]: output in $T/NAME.FORMAT
conv() {
    _n=$1 _in=$2 _cfg=$3 _st=$4 _f=$5
    shift 5
    _sf=""
    [ "$_st" = 1 ] && _sf="--input-format otlp-stream"
    # shellcheck disable=SC2086
    "$P2M" convert -c "$T/$_cfg.yaml" $_sf --now 1795305600000000000 -f "$_f" "$@" \
        -o "$O/$_n.$_f" "$_in" 2> "$O/$_n.$_f.err"
}

# ---- -f json -----------------------------------------------------------------
echo "$CASES" | while read -r name in cfg st; do
    sflag=""
    [ "$st" = 1 ] && sflag=--stream
    if ! conv "$name" "$in" "$cfg" "$st" otlp; then
        fail "json-$name" "-f otlp failed: $(head -c 300 "$O/$name.otlp.err")"
    elif ! conv "$name" "$in" "$cfg" "$st" json; then
        fail "json-$name" "-f json failed: $(head -c 300 "$O/$name.json.err")"
    elif why=$($CHECK json "$O/$name.json" "$O/$name.otlp" $sflag); then
        pass "json-$name"
    else
        fail "json-$name" "$why"
    fi
done > "$T/json.results"
cat "$T/json.results"
grep -q '^FAIL' "$T/json.results" && failed=1

# ---- -f prom -----------------------------------------------------------------
# promtool check metrics exits 1 on a parse error, 3 on lint problems, 0
# clean; any output at all is a complaint (time is exposed in seconds and
# sizes in bytes, so not even "use base unit" is accepted).
if ! command -v promtool >/dev/null 2>&1; then
    fail prom-deps "promtool not found (Debian package prometheus, tools/install-deps.sh)"
else
    echo "$CASES" | while read -r name in cfg st; do
        sflag=""
        [ "$st" = 1 ] && sflag=--stream
        if ! conv "$name" "$in" "$cfg" "$st" prom; then
            fail "prom-$name" "-f prom failed: $(head -c 300 "$O/$name.prom.err")"
            continue
        fi
        promtool check metrics < "$O/$name.prom" > "$O/$name.promtool" 2>&1
        prc=$?
        if [ "$prc" -ne 0 ] || [ -s "$O/$name.promtool" ]; then
            fail "promtool-$name" "exit $prc: $(head -c 300 "$O/$name.promtool")"
        else
            pass "promtool-$name"
        fi
        if [ ! -s "$O/$name.otlp" ]; then
            fail "prom-$name" "no -f otlp output to compare with"
        elif why=$($CHECK prom "$O/$name.prom" "$O/$name.otlp" $sflag); then
            pass "prom-$name"
        else
            fail "prom-$name" "$why"
        fi
    done > "$T/prom.results"
    cat "$T/prom.results"
    grep -q '^FAIL' "$T/prom.results" && failed=1
fi

# hand-computed lines of the nested input (formats_check.py inputs): 50 ms
# CPU period, exposed in seconds; "main" has 3 samples in one resource and 5 in another with the
# same job (shop/cart) and instance, one line of 8 x 50 ms; colliding label
# names a.b / a_b joined in key order; the overflow config renames memory to
# mem.alloc-bytes (unit By: no second _bytes). Every sample carries the scope
# of the binary output (name profile2metrics, version P2M_VERSION_STRING of
# the header, written @VER@ here) as otel_scope_name / otel_scope_version;
# target_info does not.
VER=$(sed -n 's/^#define P2M_VERSION_STRING "\(.*\)"$/\1/p' profile2metrics.h)
[ -n "$VER" ] || fail prom-line "no P2M_VERSION_STRING in profile2metrics.h"
# check_lines FILE LINE...: each LINE (@VER@ replaced) is a whole line of FILE
check_lines() {
    _f=$1
    shift
    for _l in "$@"; do
        _l=$(printf '%s' "$_l" | sed "s/@VER@/$VER/g")
        if grep -qxF -- "$_l" "$_f"; then pass "prom-line: $_l"; else
            fail "prom-line" "missing in $_f: $_l"; fi
    done
}
check_lines "$O/nested.prom" \
    'cpu_time_seconds_total{instance="pod-1",job="shop/cart",otel_scope_name="profile2metrics",otel_scope_version="@VER@",process_executable_name="cart",thread_name="main"} 0.4' \
    'cpu_time_seconds_total{instance="pod-1",job="shop/cart",otel_scope_name="profile2metrics",otel_scope_version="@VER@",process_executable_name="ca\"rt\\x\ny",thread_name="{\"k\":[true]}"} 0.2' \
    'target_info{a_b="1;2",k8s_pod_name="no-service"} 1' \
    '# TYPE cpu_time_seconds_total counter' \
    '# HELP memory_allocation_bytes_total Bytes allocated, summed from the samples of allocation profiles'
# nested-strindex (STRINDEX_* in formats_check.py), every string and key a
# string table index: 3 and 2 samples x 50 ms; arrays and maps are compact
# JSON in the label value (then escaped: \ and "), bytes base64, -inf is
# -Infinity (a JSON string inside an array, bare at the top).
check_lines "$O/nested-strindex.prom" \
    'cpu_time_seconds_total{job="cart",otel_scope_name="profile2metrics",otel_scope_version="@VER@",process_executable_name="{\"exe\":\"cart\",\"pid\":42}",thread_name="[\"a\",\"b\"]"} 0.15' \
    'cpu_time_seconds_total{job="cart",otel_scope_name="profile2metrics",otel_scope_version="@VER@",process_executable_name="cart",thread_name="-Infinity"} 0.1' \
    'target_info{job="cart",list="[\"x\",{\"k\":\"v\"},7,true,2.5,\"AQI=\",\"-Infinity\",[],{},\"\"]",map="{\"q\\\"uote\":[\"back\\\\slash\",{\"deep\":{\"k\":\"x\"}}]}"} 1'
if [ "$(grep -c '^cpu_time' "$O/nested-strindex.prom")" = 2 ]; then pass prom-strindex-series; else
    fail prom-strindex-series "expected exactly 2 cpu_time lines"; fi
if grep -q '^mem_alloc_bytes_total{.*} 4096$' "$O/nested-overflow.prom" &&
        grep -qxF '# HELP mem_alloc_bytes_total a "quoted"\\ line' "$O/nested-overflow.prom"; then
    pass prom-renamed-metric
else
    fail prom-renamed-metric "no mem_alloc_bytes_total 4096 with its escaped HELP"
fi

# ---- -f table -------------------------------------------------------------------
# Nested values in the table: compact JSON with string indices resolved, the
# same text as the label values above (hand-derived from STRINDEX_* in
# formats_check.py): the resource's list and map, a sample's kvlist.
if "$P2M" convert -f table "$T/nested-strindex.otlp" > "$O/nested-strindex.table" 2> "$O/nested-strindex.table.err"; then
    for _l in '  list=["x",{"k":"v"},7,true,2.5,"AQI=","-Infinity",[],{},""],' \
              '  map={"q\"uote":["back\\slash",{"deep":{"k":"x"}}]}' \
              '    process.executable.name={"exe":"cart","pid":42},'; do
        if grep -qxF -- "$_l" "$O/nested-strindex.table"; then pass "table-nested: $_l"; else
            fail table-nested "missing in $O/nested-strindex.table: $_l"; fi
    done
else
    fail table-nested "-f table failed: $(head -c 300 "$O/nested-strindex.table.err")"
fi
# tests/golden/demo.table is written by hand from the table's layout rules
# (rows sorted by value, largest first; totals line; <= 80 columns). Its
# totals are checked here against the protobuf decode of -f otlp.
if "$P2M" convert -f table examples/demo.otlp > "$O/demo.table" 2> "$O/demo.table.err" &&
        cmp -s "$O/demo.table" tests/golden/demo.table; then
    pass table-golden-demo
else
    fail table-golden-demo "differs from tests/golden/demo.table: $(diff tests/golden/demo.table "$O/demo.table" | head -5 | tr '\n' '|')"
fi
why=$($PY - tests/golden/demo.table "$O/demo.otlp" <<'EOF'
import re, sys
import metrics_pb2
text = open(sys.argv[1]).read()
m = metrics_pb2.ExportMetricsServiceRequest()
m.ParseFromString(open(sys.argv[2], "rb").read())
want = []
for rm in m.resource_metrics:
    for met in rm.scope_metrics[0].metrics:
        want.append("total: %d %s" % (sum(dp.as_int for dp in met.sum.data_points), met.unit))
got = re.findall(r"total: \d+ \S+", text)
if got != want:
    print("totals %r, decode gives %r" % (got, want))
elif max(len(l) for l in text.split("\n")) > 80:
    print("a line is wider than 80 columns")
EOF
)
if [ $? -eq 0 ] && [ -z "$why" ]; then pass table-golden-totals; else fail table-golden-totals "$why"; fi

# ---- --input-format json ---------------------------------------------------------
# json_format.MessageToJson of each input (a JSON line per request) must give
# byte for byte the -f otlp output of the binary input.
$PY tools/gen_profiles.py --shape typical --kv-form strindex -o "$T/gen-strindex.otlp" > /dev/null 2>&1
$PY tools/gen_profiles.py --shape small --layout v1.9 -o "$T/gen-v19.otlp" > /dev/null 2>&1
# NAME INPUT PROTO-LAYOUT STREAM P2M-LAYOUT-FLAG
JCASES="gen-small $T/gen-small.otlp v1.10 0 -
gen-typical $T/gen-typical.otlp v1.10 0 -
gen-strindex $T/gen-strindex.otlp v1.10 0 -
gen-v19 $T/gen-v19.otlp v1.9 0 v1.9
nested $T/nested.otlp v1.10 0 -
nested-strindex $T/nested-strindex.otlp v1.10 0 -
real-profile $REAL/sig-profiling-profile.otlp v1.8 0 v1.8
real-k8s $REAL/sig-profiling-k8s.otlp v1.8 1 v1.8
real-k8s-auto $REAL/sig-profiling-k8s.otlp v1.8 1 -"
echo "$JCASES" | while read -r name in pl st lay; do
    sflag="" iflag="--input-format otlp" lflag=""
    [ "$st" = 1 ] && sflag=--stream && iflag="--input-format otlp-stream"
    jflag=json; [ "$st" = 1 ] && jflag=jsonl  # JSON Lines: framed output as otlp-stream
    [ "$lay" != - ] && lflag="--layout $lay"
    # shellcheck disable=SC2086
    if ! $CHECK tojson "$in" "$O/in-$name.jsonl" --layout "$pl" $sflag > "$O/in-$name.log" 2>&1; then
        fail "json-in-$name" "MessageToJson failed: $(head -c 200 "$O/in-$name.log")"
    elif ! "$P2M" convert --now 1 $iflag $lflag -o "$O/in-$name.bin" "$in" 2> "$O/in-$name.err"; then
        fail "json-in-$name" "binary conversion failed: $(head -c 200 "$O/in-$name.err")"
    elif ! "$P2M" convert --now 1 --input-format $jflag $lflag - < "$O/in-$name.jsonl" \
            > "$O/in-$name.fromjson" 2> "$O/in-$name.err"; then
        fail "json-in-$name" "JSON conversion failed: $(head -c 200 "$O/in-$name.err")"
    elif ! cmp -s "$O/in-$name.bin" "$O/in-$name.fromjson"; then
        fail "json-in-$name" "output differs from the binary input's"
    else
        pass "json-in-$name"
    fi
done > "$T/jsonin.results"
cat "$T/jsonin.results"
grep -q '^FAIL' "$T/jsonin.results" && failed=1
printf '{"resourceProfiles":[{"bogus":1}]}\n' > "$O/bad.jsonl"
if "$P2M" convert --input-format json -f table "$O/bad.jsonl" > "$O/bad.out" 2> "$O/bad.err"; then
    fail json-in-unknown-field "accepted an unknown field"
elif [ $? -ne 1 ] || [ -s "$O/bad.out" ] || ! grep -q "unknown field 'bogus'" "$O/bad.err"; then
    fail json-in-unknown-field "want exit 1, empty stdout, the field named: $(cat "$O/bad.err")"
else
    pass json-in-unknown-field
fi

# ---- --resource-attr ---------------------------------------------------------------
# Every output resource: the attributes of the plain conversion without the
# replaced keys, then the extras (a repeated key: its last value), in every
# format (json and prom checked against the otlp decode as above).
RA="--resource-attr service.name=over --resource-attr env=prod --resource-attr env=staging"
for c in "demo examples/demo.otlp 0" "real-k8s $REAL/sig-profiling-k8s.otlp 1"; do
    set -- $c
    name=ra-$1 in=$2 st=$3 sflag=""
    [ "$st" = 1 ] && sflag=--stream
    # shellcheck disable=SC2086
    if ! conv "$name" "$in" default "$st" otlp $RA || ! conv "$name" "$in" default "$st" json $RA ||
            ! conv "$name" "$in" default "$st" prom $RA || ! conv "$name-plain" "$in" default "$st" otlp; then
        fail "$name" "conversion failed: $(cat "$O/$name".*.err | head -c 300)"
        continue
    fi
    why=$($PY - "$O/$name.otlp" "$O/$name-plain.otlp" "$st" <<'EOF'
import struct, sys
import metrics_pb2
def msgs(path, stream):
    d = open(path, "rb").read()
    parts = []
    if stream:
        at = 0
        while at < len(d):
            (n,) = struct.unpack(">I", d[at:at + 4]); parts.append(d[at + 4:at + 4 + n]); at += 4 + n
    else:
        parts = [d]
    out = []
    for p in parts:
        m = metrics_pb2.ExportMetricsServiceRequest(); m.ParseFromString(p); out.append(m)
    return out
got, plain = msgs(sys.argv[1], sys.argv[3] == "1"), msgs(sys.argv[2], sys.argv[3] == "1")
n = 0
for g, p in zip(got, plain):
    for rg, rp in zip(g.resource_metrics, p.resource_metrics):
        want = [(a.key, a.value.string_value) for a in rp.resource.attributes
                if a.key not in ("service.name", "env")] + [("service.name", "over"), ("env", "staging")]
        have = [(a.key, a.value.string_value) for a in rg.resource.attributes]
        if have != want:
            print("resource attributes %r, expected %r" % (have, want)); sys.exit(0)
        rg.resource.Clear(); rp.resource.Clear()
        if rg != rp:
            print("something besides the resource changed"); sys.exit(0)
        n += 1
if len(got) != len(plain) or n == 0:
    print("message or resource counts differ")
EOF
)
    if [ -n "$why" ]; then fail "$name-otlp" "$why"; else pass "$name-otlp"; fi
    if why=$($CHECK json "$O/$name.json" "$O/$name.otlp" $sflag); then pass "$name-json"; else
        fail "$name-json" "$why"; fi
    if why=$($CHECK prom "$O/$name.prom" "$O/$name.otlp" $sflag) &&
            grep -q 'job="over"' "$O/$name.prom"; then pass "$name-prom"; else
        fail "$name-prom" "$why (or no job=\"over\")"; fi
done
expect_usage() {
    if "$P2M" convert "$@" examples/demo.otlp > "$O/usage.out" 2> "$O/usage.err"; then
        fail "ra-usage $*" "accepted"
    elif [ $? -ne 2 ] || [ -s "$O/usage.out" ] || ! grep -q 'KEY=VALUE' "$O/usage.err"; then
        fail "ra-usage $*" "want exit 2, empty stdout, KEY=VALUE named: $(cat "$O/usage.err")"
    else
        pass "ra-usage $*"
    fi
}
expect_usage -f table --resource-attr novalue
expect_usage -f table --resource-attr =x

# ---- - for stdin and stdout in the text formats -------------------------------------
ok=1
for f in json prom table; do
    "$P2M" convert --now 1795305600000000000 -f "$f" -o - - < examples/demo.otlp > "$O/dash.$f" 2>/dev/null &&
        "$P2M" convert --now 1795305600000000000 -f "$f" -o "$O/file.$f" examples/demo.otlp 2>/dev/null &&
        cmp -s "$O/dash.$f" "$O/file.$f" && [ -s "$O/file.$f" ] || ok=0
done
if [ $ok = 1 ]; then pass stdin-stdout-dash; else fail stdin-stdout-dash "'-o - -' differs from files"; fi
"$P2M" convert --stats -f prom -o "$O/stats.prom" examples/demo.otlp 2> "$O/stats.err"
if grep -q "\"bytes_out\":$(wc -c < "$O/stats.prom" | tr -d ' ')," "$O/stats.err"; then
    pass prom-stats-bytes-out
else
    fail prom-stats-bytes-out "bytes_out is not the size of the text: $(cat "$O/stats.err")"
fi

# ---- the nested-value decoder's own limits ------------------------------------------
# No request the library accepts nests deeper than 32 levels (nested-deep is
# the deepest), so the decoder's bound and its malformed-bytes path are driven
# directly through the writers' plain-JSON decoder (p2m__w_array, the
# decoder behind p2m_write_value_text and label values): 16 ArrayValues around a string (the leaf
# AnyValue 32 levels down) are written, 17 are refused with a reason, and a
# truncated ArrayValue is refused, never read past its end.
cat > "$T/nestlimit.c" <<'EOF'
/* SPDX-License-Identifier: MIT */
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"
#include <stdio.h>
#include <string.h>
/* k ArrayValues around AnyValue{string_value "x"}, as ArrayValue bytes */
static size_t wrap(unsigned char *b, int k)
{
    unsigned char tmp[256];
    size_t n = 3, i;
    b[0] = 0x0a; b[1] = 1; b[2] = 'x';                  /* AnyValue.string_value */
    for (i = 0; i < (size_t)k; i++) {
        tmp[0] = 0x0a; tmp[1] = (unsigned char)n;        /* ArrayValue.values */
        memcpy(tmp + 2, b, n);
        n += 2;
        if (i + 1 < (size_t)k) {                         /* AnyValue.array_value */
            b[0] = 0x2a; b[1] = (unsigned char)n;
            memcpy(b + 2, tmp, n);
            n += 2;
        } else {
            memcpy(b, tmp, n);
        }
    }
    return n;
}
static int text(int k, size_t cut, char *out, size_t cap, char *why)
{
    unsigned char b[256];
    char buf[256];
    p2m__w_sink s;
    p2m__w_ctx c;
    int rc;
    memset(&c, 0, sizeof c);
    p2m__w_sink_init(&s, buf, sizeof buf);
    why[0] = '\0';
    rc = p2m__w_array(&s, b, wrap(b, k) - cut, 1, 0, &c);
    if (rc != 0)
        snprintf(why, 160, "%s", c.why);
    snprintf(out, cap, "%.*s", (int)s.n, buf);
    return rc;
}
int main(void)
{
    char out[256], why[160];
    int rc = text(16, 0, out, sizeof out, why);
    printf("%d %s\n", rc, rc ? why : out);
    rc = text(17, 0, out, sizeof out, why);
    printf("%d %s\n", rc, rc ? why : out);
    rc = text(2, 1, out, sizeof out, why);
    printf("%d %s\n", rc, rc ? why : out);
    return 0;
}
EOF
want16='0 [[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]'
if ! ${CC:-cc} -std=c99 -O1 -I. -Itools -o "$T/nestlimit" "$T/nestlimit.c" \
        -lm > "$T/nestlimit.log" 2>&1; then
    fail nested-decoder-limits "driver did not build: $(head -c 300 "$T/nestlimit.log")"
elif ! "$T/nestlimit" > "$T/nestlimit.out" 2>&1; then
    fail nested-decoder-limits "driver failed: $(head -c 300 "$T/nestlimit.out")"
else
    l1=$(sed -n 1p "$T/nestlimit.out") l2=$(sed -n 2p "$T/nestlimit.out") l3=$(sed -n 3p "$T/nestlimit.out")
    if [ "$l1" != "$want16" ]; then
        fail nested-decoder-limits "16 levels: got '$l1', want '$want16'"
    elif [ "$l2" != "-1 attribute value nested more than 32 levels deep" ]; then
        fail nested-decoder-limits "17 levels: got '$l2'"
    elif [ "${l3#-1 malformed}" = "$l3" ]; then
        fail nested-decoder-limits "truncated bytes: got '$l3'"
    else
        pass nested-decoder-limits
    fi
fi

# ---- help and docs name every flag -------------------------------------------------
"$P2M" convert --help > "$O/help.out" 2>&1
missing=""
for flag in -c --config -f --format json prom table -o --output --input-format otlp-stream \
            --layout --resource-attr --now --stats --help; do
    grep -q -- "$flag" "$O/help.out" || missing="$missing help:$flag"
    grep -q -- "$flag" docs/cli.md || missing="$missing docs/cli.md:$flag"
done
if [ -z "$missing" ]; then pass help-and-docs-flags; else fail help-and-docs-flags "not described:$missing"; fi

# string indices inside nested values are resolved in -f json as in -f otlp:
# both outputs' attributes (the JSON through json_format) must be the values
# the input was built from (json-nested-strindex above compares the two)
for c in strindex deep; do
    if [ ! -s "$O/nested-$c.json" ] || [ ! -s "$O/nested-$c.otlp" ]; then
        fail "json-nested-$c-values" "no -f json / -f otlp output of nested-$c"
    elif why=$($CHECK $c "$O/nested-$c.json" "$O/nested-$c.otlp"); then
        pass "json-nested-$c-values"
    else
        fail "json-nested-$c-values" "$why"
    fi
done

# every Prometheus text this suite wrote (the cases above, --resource-attr,
# stdin/stdout, --stats): promtool must say nothing at all
if command -v promtool >/dev/null 2>&1; then
    n=0 bad=""
    for f in "$O"/*.prom; do
        [ -s "$f" ] || continue
        n=$((n + 1))
        if ! promtool check metrics < "$f" > "$f.promtool" 2>&1 || [ -s "$f.promtool" ]; then
            bad="$bad $(basename "$f"): $(head -c 200 "$f.promtool")"
        fi
    done
    if [ -n "$bad" ]; then fail promtool-every-output "$bad"
    elif [ "$n" -lt 10 ]; then fail promtool-every-output "only $n Prometheus outputs found"
    else pass "promtool-every-output ($n files)"; fi
fi

exit $failed

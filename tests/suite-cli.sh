#!/bin/sh
# SPDX-License-Identifier: MIT
# Behaviour of the p2m command line itself: help and version, usage errors,
# configuration errors that name the key, exit codes, "nothing on stdout on
# failure", stream framing, --stats, --now, --layout and the table. Values
# are checked against independent sources: Google protobuf decoding of our
# output and of the inputs (proto/ compiled by protoc), the capture README,
# and docs/spec.md rules re-implemented here in Python. The conversion values
# themselves are the golden suite's job (suite-convert.sh).
cd "$(dirname "$0")/.." || exit 2
PY=/usr/bin/python3
P2M=${P2M:-build/p2m}   # P2M=path runs the suite on another build (ASan, say)
T=build/cli-test
REAL=tests/data/real
failed=0

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; failed=1; }

mkdir -p "$T"
[ -x "$P2M" ] || make -s build/p2m >/dev/null 2>&1
if [ ! -x "$P2M" ]; then
    echo "FAIL cli-build: build/p2m could not be built"
    exit 1
fi
if ! $PY -c 'import google.protobuf' 2>/dev/null; then
    echo "FAIL cli-deps: $PY cannot import google.protobuf (python3-protobuf)"
    exit 1
fi
if ! command -v protoc >/dev/null 2>&1; then
    echo "FAIL cli-deps: protoc not found (protobuf-compiler)"
    exit 1
fi
if [ ! -f "$REAL/sig-profiling-profile.otlp" ] || [ ! -f "$REAL/sig-profiling-k8s.otlp" ]; then
    echo "FAIL cli-deps: real captures not found under $REAL"
    exit 1
fi
mkdir -p "$T/py"
if ! protoc -Iproto --python_out="$T/py" proto/metrics.proto proto/profiles_v1_8.proto \
        proto/profiles_v1_10.proto; then
    echo "FAIL cli-deps: protoc could not compile proto/"
    exit 1
fi
export PYTHONPATH="$T/py"

# run NAME EXPECTED_RC ARGS...: runs p2m, keeps stdout/stderr in $T/NAME.{out,err}
run() {
    name=$1 want=$2
    shift 2
    "$P2M" "$@" > "$T/$name.out" 2> "$T/$name.err" < /dev/null
    rc=$?
    if [ "$rc" -ne "$want" ]; then
        fail "$name" "exit $rc, expected $want; stderr: $(head -c 300 "$T/$name.err")"
        return 1
    fi
    return 0
}
# expect_err NAME EXPECTED_RC GREP_PATTERN ARGS...: exit code, empty stdout, stderr match
expect_err() {
    name=$1 want=$2 pat=$3
    shift 3
    run "$name" "$want" "$@" || return
    if [ -s "$T/$name.out" ]; then
        fail "$name" "wrote $(wc -c < "$T/$name.out") bytes to stdout on failure"
    elif ! grep -Eq -- "$pat" "$T/$name.err"; then
        fail "$name" "stderr does not match /$pat/: $(head -c 300 "$T/$name.err")"
    else
        pass "$name"
    fi
}

# ---- help and version ------------------------------------------------------
if run help 0 --help && grep -q 'convert' "$T/help.out" && grep -q 'validate' "$T/help.out" &&
        grep -q 'match' "$T/help.out"; then
    pass help
else
    fail help "p2m --help does not list convert, validate and match"
fi
if run convert-help 0 convert --help; then
    missing=""
    for flag in -c --config -f --format -o --output --input-format otlp-stream pprof --layout \
                --now --stats; do
        grep -q -- "$flag" "$T/convert-help.out" || missing="$missing $flag"
    done
    if [ -z "$missing" ]; then pass convert-help; else fail convert-help "not described:$missing"; fi
fi
want_version=$(sed -n 's/^#define P2M_VERSION_STRING "\(.*\)"$/\1/p' profile2metrics.h)
if run version 0 --version && grep -qx "p2m $want_version" "$T/version.out"; then
    pass version
else
    fail version "expected 'p2m $want_version', got '$(cat "$T/version.out")'"
fi

# ---- usage errors: exit 2, nothing on stdout --------------------------------
demo=$REAL/sig-profiling-profile.otlp
expect_err usage-no-args 2 'usage'
expect_err usage-unknown-command 2 "unknown command 'frobnicate'" frobnicate
expect_err usage-unknown-option 2 "unknown option '--bogus'" convert --bogus "$demo"
expect_err usage-bad-format 2 "unknown output format 'xml'" convert -f xml "$demo"
expect_err usage-bad-input-format 2 "unknown input format" convert --input-format csv "$demo"
expect_err usage-bad-layout 2 "unknown layout 'v2'" convert --layout v2 "$demo"
expect_err usage-bad-now 2 "--now" convert --now 12abc "$demo"
expect_err usage-now-overflow 2 "--now" convert --now 18446744073709551616 "$demo"
expect_err usage-missing-value 2 "needs a value" convert "$demo" -o
expect_err usage-two-inputs 2 "more than one input" convert "$demo" "$demo"
expect_err usage-no-such-file 2 "cannot open $T/nonexistent" convert "$T/nonexistent"
expect_err validate-no-file 2 "no configuration file" validate

# ---- output goes to -o, identical to stdout ---------------------------------
if run to-stdout 0 convert --now 1 "$demo" && run to-file 0 convert --now 1 -o "$T/o.pb" "$demo"; then
    if cmp -s "$T/to-stdout.out" "$T/o.pb" && [ ! -s "$T/to-file.out" ] && [ -s "$T/o.pb" ]; then
        pass output-file
    else
        fail output-file "-o file differs from stdout, or stdout not empty with -o"
    fi
fi
if "$P2M" convert --now 1 - < "$demo" > "$T/stdin.out" 2> "$T/stdin.err" &&
        cmp -s "$T/stdin.out" "$T/to-stdout.out"; then
    pass input-stdin
else
    fail input-stdin "reading '-' from stdin differs from reading the file"
fi

# ---- malformed input: exit 1, nothing written -------------------------------
head -c 1000 "$demo" > "$T/trunc.pb"
rm -f "$T/never.pb"
expect_err malformed-truncated 1 '^p2m: malformed input at byte [0-9]+: .+' \
    convert -o "$T/never.pb" "$T/trunc.pb"
if [ -e "$T/never.pb" ]; then fail malformed-no-output-file "-o file created on failure"; else
    pass malformed-no-output-file; fi
expect_err malformed-table 1 '^p2m: malformed input at byte [0-9]+: ' convert -f table "$T/trunc.pb"

# ---- stream framing ---------------------------------------------------------
K8S=$REAL/sig-profiling-k8s.otlp
$PY - "$K8S" "$T" <<'EOF'
import struct, sys
data = open(sys.argv[1], 'rb').read()
t = sys.argv[2]
n1 = struct.unpack('>I', data[:4])[0]
first = data[:4 + n1]
rest = data[4 + n1:]
n2 = struct.unpack('>I', rest[:4])[0]
open(t + '/frame1.pb', 'wb').write(data[4:4 + n1])
open(t + '/frame2.pb', 'wb').write(rest[4:4 + n2])
# ends inside the second frame's body, and inside its length prefix
open(t + '/cut-body.stream', 'wb').write(data[:-10])
open(t + '/cut-head.stream', 'wb').write(first + rest[:2])
# second message broken (its body cut to 300 bytes, frame length adjusted)
open(t + '/bad2.stream', 'wb').write(first + struct.pack('>I', 300) + rest[4:304])
open(t + '/offsets', 'w').write('%d %d\n' % (4 + n1, 4 + n1 + 4))
EOF
read -r second_frame second_body < "$T/offsets"
if run stream 0 convert --input-format otlp-stream --now 7 --stats "$K8S" &&
        run frame1 0 convert --now 7 "$T/frame1.pb" && run frame2 0 convert --now 7 "$T/frame2.pb"; then
    if $PY - "$T" <<'EOF'
import struct, sys
import metrics_pb2
t = sys.argv[1]
out = open(t + '/stream.out', 'rb').read()
frames, i = [], 0
while i < len(out):
    assert i + 4 <= len(out), 'truncated frame header at %d' % i
    n = struct.unpack('>I', out[i:i + 4])[0]
    assert i + 4 + n <= len(out), 'frame past end at %d' % i
    frames.append(out[i + 4:i + 4 + n])
    i += 4 + n
assert len(frames) == 2, '%d frames, expected 2' % len(frames)
for k, f in enumerate(frames):
    req = metrics_pb2.ExportMetricsServiceRequest()
    req.ParseFromString(f)
    assert len(req.resource_metrics) > 0, 'frame %d has no resource_metrics' % k
    single = open(t + '/frame%d.out' % (k + 1), 'rb').read()
    assert f == single, 'frame %d differs from converting that message alone' % k
EOF
    then pass stream-framing; else fail stream-framing "see above"; fi
    if $PY - "$T/stream.err" <<'EOF'
import json, sys
s = json.loads(open(sys.argv[1]).read().strip())
# README of the captures: 6 + 7 ResourceProfiles, 58 + 107 samples, v1.8
assert s['messages'] == 2, s
assert s['resources'] == 13, s
assert s['samples'] == 165, s
assert s['layout'] == 'v1.8', s
EOF
    then pass stream-stats; else fail stream-stats "$(cat "$T/stream.err")"; fi
fi
expect_err stream-cut-body 1 "^p2m: malformed input at byte $second_frame: " \
    convert --input-format otlp-stream "$T/cut-body.stream"
expect_err stream-cut-head 1 "^p2m: malformed input at byte $second_frame: " \
    convert --input-format otlp-stream "$T/cut-head.stream"
expect_err stream-bad-second 1 "^p2m: malformed input at byte [0-9]+: .*message 2" \
    convert --input-format otlp-stream "$T/bad2.stream"
if [ -f "$T/stream-bad-second.err" ]; then
    at=$(sed -n 's/^p2m: malformed input at byte \([0-9]*\):.*/\1/p' "$T/stream-bad-second.err")
    if [ -n "$at" ] && [ "$at" -ge "$second_body" ] && [ "$at" -lt $((second_body + 300)) ]; then
        pass stream-offset-in-stream
    else
        fail stream-offset-in-stream "offset '$at' not inside the second message ($second_body..)"
    fi
fi
if run stream-table 0 convert --input-format otlp-stream -f table "$K8S" &&
        [ "$(grep -c '^=== message' "$T/stream-table.out")" -eq 2 ]; then
    pass stream-table
else
    fail stream-table "expected two '=== message' separators"
fi

# ---- --stats keys, --layout --------------------------------------------------
if run stats 0 convert --stats -o "$T/stats.pb" "$demo" && $PY - "$T/stats.err" "$T/stats.pb" <<'EOF'
import json, os, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, 'stats must be one line: %r' % lines
s = json.loads(lines[0])
keys = ['bytes_in', 'bytes_out', 'layout', 'resources', 'profiles', 'profiles_unclassified',
        'samples', 'samples_kept', 'dropped_process', 'dropped_thread', 'dropped_pattern',
        'dropped_stack', 'empty_samples', 'invalid_references', 'series', 'overflow_samples', 'work_used']
missing = [k for k in keys if k not in s]
assert not missing, 'missing keys %s' % missing
assert 'messages' not in s
assert s['dropped_stack'] == 0, s  # no stack filter
# README: 4 ResourceProfiles, 49 samples, proto v1.8
assert (s['resources'], s['samples'], s['layout']) == (4, 49, 'v1.8'), s
assert s['bytes_in'] == os.path.getsize('tests/data/real/sig-profiling-profile.otlp')
assert s['bytes_out'] == os.path.getsize(sys.argv[2]), s
EOF
then pass stats-json; else fail stats-json "$(cat "$T/stats.err")"; fi
if run layout-override 0 convert --layout v1.9 --stats -o /dev/null "$demo" &&
        grep -q '"layout":"v1.9"' "$T/layout-override.err"; then
    pass layout-override
else
    fail layout-override "--layout v1.9 not reported in stats: $(cat "$T/layout-override.err")"
fi

# ---- --now: profiles without any time get it (docs/spec.md section 7) -----
$PY - "$T" <<'EOF'
import sys
import profiles_v1_10_pb2 as P
t = sys.argv[1]
r = P.ExportProfilesServiceRequest()
d = r.dictionary
d.string_table.extend(['', 'cpu', 'nanoseconds', 'thread.name', 'main'])
d.attribute_table.add()
a = d.attribute_table.add(); a.key_strindex = 3; a.value.string_value = 'main'
d.stack_table.add()
rp = r.resource_profiles.add()
kv = rp.resource.attributes.add(); kv.key = 'service.name'; kv.value.string_value = 'svc'
p = rp.scope_profiles.add().profiles.add()
p.sample_type.type_strindex = 1; p.sample_type.unit_strindex = 2
s = p.samples.add(); s.values.append(5); s.attribute_indices.append(1)
open(t + '/notime.pb', 'wb').write(r.SerializeToString())
s = p.samples.add(); s.values.append(7); s.attribute_indices.append(9)  # past the table
open(t + '/badref.pb', 'wb').write(r.SerializeToString())
EOF
if run now 0 convert --now 1234567890123 "$T/notime.pb" && $PY - "$T/now.out" <<'EOF'
import sys
import metrics_pb2
req = metrics_pb2.ExportMetricsServiceRequest()
req.ParseFromString(open(sys.argv[1], 'rb').read())
pts = [dp for rm in req.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
       for dp in m.sum.data_points]
assert pts, 'no data points'
for dp in pts:
    assert dp.start_time_unix_nano == 1234567890123, dp
    assert dp.time_unix_nano == 1234567890123, dp
EOF
then pass now-option; else fail now-option "points do not carry --now"; fi

# ---- configuration ----------------------------------------------------------
if ! "$P2M" validate -c /dev/null > "$T/yaml-probe.out" 2>&1; then
    if grep -q 'without YAML support' "$T/yaml-probe.out"; then
        if printf '#include <yaml.h>\nint main(void){return 0;}\n' |
                ${CC:-cc} -x c - -lyaml -o /dev/null 2>/dev/null; then
            echo "FAIL yaml-support: libyaml is installed but build/p2m was built without it"
        else
            echo "FAIL yaml-support: libyaml-dev is not installed (tools/install-deps.sh)"
        fi
        exit 1
    fi
    fail yaml-empty-file "an empty configuration file should be valid: $(cat "$T/yaml-probe.out")"
fi
C=$T/config
mkdir -p "$C"
# cfg NAME: the YAML text comes on stdin
cfg() { cat > "$C/$1.yaml"; }

cfg typo <<'EOF'
metrics:
  cpu:
    metirc_name: x
EOF
expect_err config-unknown-key 2 '^p2m: config: metrics\.cpu\.metirc_name: unknown key' \
    convert -c "$C/typo.yaml" "$demo"
expect_err validate-unknown-key 2 '^p2m: config: metrics\.cpu\.metirc_name: unknown key' \
    validate -c "$C/typo.yaml"

cfg top-typo <<'EOF'
max_serie: 5
EOF
expect_err config-unknown-top-key 2 '^p2m: config: max_serie: unknown key' validate "$C/top-typo.yaml"

cfg rule-missing-from <<'EOF'
attributes:
  - {key: a, type: literal, value: x}
  - {key: b, type: attribute, from: y}
  - {key: c, type: attribute}
EOF
expect_err config-rule-from 2 '^p2m: config: attributes\[2\]\.from: ' validate "$C/rule-missing-from.yaml"

cfg rule-bad-type <<'EOF'
attributes:
  - {key: a, type: constant, value: x}
EOF
expect_err config-rule-type 2 '^p2m: config: attributes\[0\]\.type: ' validate "$C/rule-bad-type.yaml"

cfg rule-stray-field <<'EOF'
attributes:
  - {key: a, type: literal, value: x, from: y}
EOF
expect_err config-rule-stray 2 '^p2m: config: attributes\[0\]\.from: ' validate "$C/rule-stray-field.yaml"

cfg max-series-word <<'EOF'
max_series: lots
EOF
expect_err config-max-series-int 2 '^p2m: config: max_series: ' validate "$C/max-series-word.yaml"

cfg max-series-frac <<'EOF'
max_series: 1.5
EOF
expect_err config-max-series-frac 2 '^p2m: config: max_series: ' validate "$C/max-series-frac.yaml"

cfg metrics-list <<'EOF'
metrics: [cpu, memory]
EOF
expect_err config-list-for-map 2 '^p2m: config: metrics: .*map' validate "$C/metrics-list.yaml"

cfg patterns-scalar <<'EOF'
thread_filter: {enabled: false, patterns: "main"}
EOF
expect_err config-scalar-for-list 2 '^p2m: config: thread_filter\.patterns: .*list' \
    validate "$C/patterns-scalar.yaml"

cfg bad-bool <<'EOF'
strict: maybe
EOF
expect_err config-bool 2 '^p2m: config: strict: ' validate "$C/bad-bool.yaml"

cfg bad-temporality <<'EOF'
temporality: sometimes
EOF
expect_err config-enum 2 '^p2m: config: temporality: ' validate "$C/bad-temporality.yaml"

cfg dup-key <<'EOF'
max_series: 5
max_series: 6
EOF
expect_err config-duplicate 2 '^p2m: config: max_series: ' validate "$C/dup-key.yaml"

cfg none-enabled <<'EOF'
metrics:
  cpu: {enabled: false}
  memory: {enabled: false}
EOF
expect_err config-engine-error 2 '^p2m: config: .*metrics' convert -c "$C/none-enabled.yaml" "$demo"

printf 'metrics: {cpu: [1, 2}\n' > "$C/syntax.yaml"
expect_err config-syntax 2 "^p2m: config: .*syntax.yaml:1:" validate "$C/syntax.yaml"
expect_err config-missing-file 2 '^p2m: config: cannot open' validate "$C/nope.yaml"

cfg collector-ambiguous <<'EOF'
connectors:
  profiletometrics/a: {}
  profiletometrics/b: {}
EOF
expect_err config-collector-two 2 '^p2m: config: connectors: ' validate "$C/collector-ambiguous.yaml"

cfg collector-typo <<'EOF'
connectors:
  profiletometrics:
    metrics: {memory: {enabeld: false}}
EOF
expect_err config-collector-path 2 \
    '^p2m: config: connectors\.profiletometrics\.metrics\.memory\.enabeld: unknown key' \
    validate "$C/collector-typo.yaml"

cfg valid <<'EOF'
metrics:
  cpu: {enabled: true, metric_name: cpu_time, unit: ns, description: "CPU time"}
  memory: {enabled: true, metric_name: memory_allocation, unit: By}
attributes:
  - {key: service.name, type: literal, value: checkout}
  - {key: process.executable.name, type: attribute, from: process.executable.name}
  - {key: first_string, type: string_table, index: 1}
temporality: delta
max_series: 2000
layout: auto
strict: false
EOF
if run validate-ok 0 validate -c "$C/valid.yaml" && grep -qx ok "$T/validate-ok.out"; then
    pass validate-ok
else
    fail validate-ok "expected 'ok' on stdout"
fi

# A Collector configuration: connectors.profiletometrics/NAME, with settings
# whose effect is visible in the output (decoded with Google protobuf).
cfg collector <<'EOF'
receivers:
  otlp: {protocols: {grpc: {}}}
connectors:
  profiletometrics/cpu:
    metrics:
      cpu: {metric_name: cpu_seconds_total_ns}
      memory: {enabled: false}
    attributes:
      - {key: team, type: literal, value: storage}
exporters:
  debug: {}
service:
  pipelines:
    profiles: {receivers: [otlp], exporters: [profiletometrics/cpu]}
EOF
cfg no-attrs <<'EOF'
attributes: []
EOF
if run collector 0 convert -c "$C/collector.yaml" "$demo" &&
        run no-attrs 0 convert -c "$C/no-attrs.yaml" "$demo" &&
        $PY - "$T/collector.out" "$T/no-attrs.out" <<'EOF'
import sys
import metrics_pb2
def points(path):
    req = metrics_pb2.ExportMetricsServiceRequest()
    req.ParseFromString(open(path, 'rb').read())
    return [(m.name, dp) for rm in req.resource_metrics for sm in rm.scope_metrics
            for m in sm.metrics for dp in m.sum.data_points]
pts = points(sys.argv[1])
assert pts, 'no points'
for name, dp in pts:
    assert name == 'cpu_seconds_total_ns', name
    attrs = [(a.key, a.value.string_value) for a in dp.attributes]
    assert attrs == [('team', 'storage')], attrs
pts = points(sys.argv[2])
assert pts, 'no points'
for name, dp in pts:
    assert len(dp.attributes) == 0, dp.attributes
EOF
then pass config-applied; else fail config-applied "collector/attributes settings not applied"; fi

# strict: an invalid reference is exit 1; not strict, it is counted
cfg strict <<'EOF'
strict: true
EOF
expect_err strict-invalid-reference 1 '^p2m: invalid reference at byte [0-9]+: ' \
    convert -c "$C/strict.yaml" "$T/badref.pb"
if run lenient 0 convert --stats -o /dev/null "$T/badref.pb" &&
        grep -q '"invalid_references":1' "$T/lenient.err"; then
    pass lenient-invalid-reference
else
    fail lenient-invalid-reference "$(cat "$T/lenient.err")"
fi

# ---- the table ---------------------------------------------------------------
# Totals: each resource's cpu total must be what docs/spec.md section 3 gives for the
# capture (samples/count with a cpu period: timestamps x period), computed
# here from the input with Google protobuf; human units re-derived here.
if run table 0 convert -f table "$demo" && $PY - "$demo" "$T/table.out" <<'EOF'
import re, sys
import profiles_v1_8_pb2 as P
req = P.ExportProfilesServiceRequest()
req.ParseFromString(open(sys.argv[1], 'rb').read())
st = req.dictionary.string_table
unit_ns = {'nanoseconds': 1, 'ns': 1, 'microseconds': 1000, 'us': 1000,
           'milliseconds': 10**6, 'ms': 10**6, 'seconds': 10**9, 's': 10**9}
want, spans = [], []
for rp in req.resource_profiles:
    total = 0
    starts, ends = [], []
    for sp in rp.scope_profiles:
        for p in sp.profiles:
            assert p.time_unix_nano > 0
            starts.append(p.time_unix_nano)
            ends.append(p.time_unix_nano + p.duration_nano)
            assert st[p.sample_type.type_strindex] == 'samples'
            assert st[p.period_type.type_strindex] == 'cpu'
            per = p.period * unit_ns[st[p.period_type.unit_strindex]]
            for s in p.samples:
                n = sum(s.values) if len(s.values) else len(s.timestamps_unix_nano)
                total += n * per
    want.append(total)
    spans.append((min(starts), max(ends)))

def when(ns, date):
    import datetime
    t = datetime.datetime.fromtimestamp(ns // 10**9, datetime.timezone.utc)
    ms = '.%03d' % (ns % 10**9 // 10**6)
    return (t.strftime('%Y-%m-%d %H:%M:%S') if date else t.strftime('%H:%M:%S')) + ms

def human(ns):
    x, u = float(ns), 'ns'
    for nxt in ('us', 'ms', 's'):
        if x < 999.5:
            break
        x, u = x / 1000, nxt
    if x >= 99.95 or x == 0:
        t = '%.0f' % x
    elif x >= 9.995:
        t = '%.1f' % x
    else:
        t = '%.2f' % x
    if '.' in t:
        t = t.rstrip('0').rstrip('.')
    return t + ' ' + u

text = open(sys.argv[2]).read()
got = re.findall(r'^ +total: (\d+) ns +(\S+ \S+)  100\.0 %$', text, re.M)
assert [int(g[0]) for g in got] == want, (got, want)
for exact, shown in got:
    assert shown == human(int(exact)), (exact, shown, human(int(exact)))
assert len(re.findall(r'^resource \d+ of 4:', text, re.M)) == 4
got_spans = re.findall(r'^    time: (.*)$', text, re.M)
want_spans = ['%s .. %s UTC' % (when(a, True), when(b, False)) for a, b in spans]
assert got_spans == want_spans, (got_spans, want_spans)
rows = [l for l in text.splitlines() if l.startswith('    ') and not l.startswith('    time: ')]
assert rows, 'no rows'
for l in rows:
    assert len(l) <= 80, 'row wider than 80 columns: %r' % l
    assert re.search(r'  \S+ (ns|us|ms|s)  ( <0\.1|[ \d]{2}\d\.\d) %$', l) or l.strip().endswith(','), l
EOF
then pass table-totals; else fail table-totals "see above"; fi

if [ -x build/p2m ] && run demo-table 0 convert -f table examples/demo.otlp; then
    if grep -q 'service.name=' "$T/demo-table.out" && grep -Eq ' (B|KiB|MiB)  ( <0\.1|[ 0-9]{2}[0-9]\.[0-9]) %$' "$T/demo-table.out"; then
        pass table-units
    else
        fail table-units "no service.name header or no byte units in the demo table"
    fi
fi

# Shares: every row's share of its metric's total (per resource), as the
# table shows it, against the data points of the OTLP output decoded with
# Google protobuf: rows largest first, "<0.1 %" for a share that one
# decimal would show as 0.0, and 100.0 % on the totals line. Three inputs:
# the eBPF capture (cpu), the demo (cpu and bytes), and a breakdown where a
# thread has less than 0.05 % of the time.
$PY - "$T" <<'EOF'
import sys
import profiles_v1_10_pb2 as P
t = sys.argv[1]
r = P.ExportProfilesServiceRequest()
d = r.dictionary
d.string_table.extend(['', 'samples', 'count', 'cpu', 'nanoseconds', 'thread.name', 'big', 'tiny'])
d.attribute_table.add()
for v in ('big', 'tiny'):
    a = d.attribute_table.add(); a.key_strindex = 5; a.value.string_value = v
d.stack_table.add()
p = r.resource_profiles.add().scope_profiles.add().profiles.add()
p.sample_type.type_strindex, p.sample_type.unit_strindex = 1, 2
p.period_type.type_strindex, p.period_type.unit_strindex = 3, 4
p.period = 1000
p.time_unix_nano = 1700000000000000000
p.duration_nano = 10**9
s = p.samples.add(); s.values.append(9999); s.attribute_indices.append(1)
s = p.samples.add(); s.values.append(4); s.attribute_indices.append(2)
open(t + '/shares.pb', 'wb').write(r.SerializeToString())
EOF
ok=1
for in in "$demo" examples/demo.otlp "$T/shares.pb"; do
    n=$(basename "$in" | tr . -)
    if ! run "share-$n" 0 convert -f table "$in" || ! run "share-$n-pb" 0 convert -o "$T/share-$n.otlp" "$in" ||
            ! $PY - "$T/share-$n.otlp" "$T/share-$n.out" <<'EOF'
import re, sys
import metrics_pb2
req = metrics_pb2.ExportMetricsServiceRequest()
req.ParseFromString(open(sys.argv[1], 'rb').read())

def share(v, total):
    pct = 100.0 * v / total
    return '<0.1 %' if 0 < pct < 0.05 else '%.1f %%' % pct

want = []
for rm in req.resource_metrics:
    for sm in rm.scope_metrics:
        for m in sm.metrics:
            pts = getattr(m, m.WhichOneof('data')).data_points
            vals = [pt.as_int if pt.WhichOneof('value') == 'as_int' else pt.as_double for pt in pts]
            total = sum(vals)
            want.append((m.name, [share(v, total) for v in sorted(vals, reverse=True)]
                         + [share(total, total)]))
got, text = [], open(sys.argv[2]).read()
for line in text.splitlines():
    h = re.match(r'^  (\S+) \(.*\), (delta sum|cumulative sum|gauge), ', line)
    if h:
        got.append((h.group(1), []))
        continue
    if len(line) > 80:
        assert line.startswith('  ') and not line.startswith('    '), 'row wider than 80: %r' % line
    m = re.search(r'\S  ( *)(<0\.1 %|\d+\.\d %)$', line)
    if m:
        assert len(m.group(1)) + len(m.group(2)) == 7, 'share column not 7 wide: %r' % line
        got[-1][1].append(m.group(2))
assert got == want, (got, want)
if 'tiny' in text:
    assert re.search(r'thread\.name=tiny +4 us   <0\.1 %$', text, re.M), text
EOF
    then ok=0; fi
done
if [ $ok -eq 1 ]; then pass table-shares; else fail table-shares "see above"; fi

# ---- p2m match: the extraction a regex rule would make, checked against
# Python's re on patterns where RE2 and Python agree ----------------------------
if $PY - "$P2M" <<'EOF'
import re, subprocess, sys
cases = [
    (r'^worker-(\d+)$', ['worker-12', 'main', 'worker-', 'worker-7']),
    (r'(?i)MAIN', ['main', 'Main thread', 'mane']),
    (r'\.', ['a', 'foo.bar']),
    (r'(\w+)@(\w+)', ['mail: bob@example', 'nobody']),
    (r'^(.*)-[a-z0-9]+-[a-z0-9]+$', ['checkout-7d9f8b-x2x4z', 'checkout']),
    (r'a|ab', ['xab']),
    (r'zzz', ['a', 'b']),
    (r'^[a-z]+$', ['abc', 'xyz']),
]
for pattern, subjects in cases:
    r = subprocess.run([sys.argv[1], 'match', pattern] + subjects, capture_output=True,
                       text=True)
    want, all_match = [], True
    for s in subjects:
        m = re.search(pattern, s)
        if m is None:
            want.append('"%s": no match' % s)
            all_match = False
        else:
            g = 1 if m.re.groups else 0
            if m.start(g) < 0:
                want.append('"%s": match, no value (group 1 did not take part)' % s)
            else:
                want.append('"%s": match, value "%s" (bytes %d..%d)' % (s, m.group(g), m.start(g), m.end(g)))
    got = r.stdout.splitlines()
    assert got == want, (pattern, got, want)
    assert r.returncode == (0 if all_match else 1), (pattern, r.returncode)
EOF
then pass match-extract; else fail match-extract "see above"; fi
expect_err match-bad-pattern 2 '^p2m: pattern "a.*b.": position 1: look-around' match 'a(?=b)' ab
expect_err match-no-pattern 2 'no pattern' match

# ---- a build without libyaml ---------------------------------------------------
if ${CC:-cc} -std=c99 -O0 -I. -o "$T/p2m-noyaml" tools/p2m*.c -lm 2> "$T/noyaml-build.err"; then
    "$T/p2m-noyaml" convert -c "$C/valid.yaml" "$demo" > "$T/noyaml.out" 2> "$T/noyaml.err"
    rc=$?
    if [ "$rc" -eq 2 ] && [ ! -s "$T/noyaml.out" ] && grep -q 'without YAML support' "$T/noyaml.err" &&
            "$T/p2m-noyaml" convert -f table "$demo" > /dev/null 2>&1; then
        pass no-yaml-build
    else
        fail no-yaml-build "rc=$rc: $(cat "$T/noyaml.err")"
    fi
else
    fail no-yaml-build "does not compile without P2M_HAVE_YAML: $(head -c 300 "$T/noyaml-build.err")"
fi

# =============================================================================
# ---- command-line details, input recognition and notes (issues 15 and 23) ----
# Every case checks the exact message and exit code. Inputs are made here by
# independent means: Python's gzip module and the zstd command compress,
# Google protobuf's json_format writes the JSON, a Python wire walker over
# the protobuf descriptors names the field a cut file ends in.
# =============================================================================
DOC_LINE="Documentation: man p2m, or README.md in the profile2metrics sources."
# expect_exact NAME RC EXPECTED_STDERR ARGS...: exit code, empty stdout, stderr exactly
expect_exact() {
    name=$1 want=$2 msg=$3
    shift 3
    run "$name" "$want" "$@" || return
    printf '%s\n' "$msg" > "$T/$name.want"
    if [ -s "$T/$name.out" ]; then
        fail "$name" "wrote $(wc -c < "$T/$name.out") bytes to stdout on failure"
    elif ! cmp -s "$T/$name.want" "$T/$name.err"; then
        fail "$name" "stderr '$(cat "$T/$name.err")', expected '$msg'"
    else
        pass "$name"
    fi
}

# -- p2m help COMMAND prints that command's help (as COMMAND --help does)
for sub in convert validate match; do
    if run "help-$sub" 0 help "$sub" && run "help-$sub-flag" 0 "$sub" --help &&
            cmp -s "$T/help-$sub.out" "$T/help-$sub-flag.out" &&
            head -1 "$T/help-$sub.out" | grep -q "^usage: p2m $sub"; then
        pass "help-command-$sub"
    else
        fail "help-command-$sub" "p2m help $sub differs from p2m $sub --help"
    fi
done
if run help-help 0 help && cmp -s "$T/help-help.out" "$T/help.out"; then pass help-no-command
else fail help-no-command "p2m help differs from p2m --help"; fi
expect_exact help-unknown 2 "p2m: unknown command 'bogus' (convert, validate, compile, match or serve)
Try 'p2m --help'." help bogus

# -- every help ends with the README line, none names docs/cli.md
bad=""
for h in help help-convert help-validate help-match; do
    [ "$(tail -1 "$T/$h.out")" = "$DOC_LINE" ] || bad="$bad $h"
    ! grep -q 'docs/cli.md' "$T/$h.out" || bad="$bad $h(docs/cli.md)"
done
if [ -z "$bad" ]; then pass help-doc-line; else fail help-doc-line "last line wrong in:$bad"; fi

# -- unknown options and unexpected arguments: one wording, exit 2, a Try line
expect_exact unknown-option-convert 2 "p2m: unknown option '--bogus'
Try 'p2m convert --help'." convert --bogus "$demo"
expect_exact unknown-option-validate 2 "p2m: unknown option '-f'
Try 'p2m validate --help'." validate -f x
expect_exact unknown-option-match 2 "p2m: unknown option '--bogus' (a pattern that starts with '-' follows --)
Try 'p2m match --help'." match --bogus x
expect_exact unknown-option-top 2 "p2m: unknown option '--bogus'
Try 'p2m --help'." --bogus
expect_exact unexpected-arg-validate 2 "p2m: unexpected argument 'b.yaml'
Try 'p2m validate --help'." validate a.yaml b.yaml
expect_exact unexpected-arg-convert 2 "p2m: unexpected argument 'b.pb' (more than one input given)
Try 'p2m convert --help'." convert a.pb b.pb
expect_exact unexpected-arg-help 2 "p2m: unexpected argument 'extra'
Try 'p2m --help'." help convert extra

# -- a terminal on stdin: convert says it reads stdin; match without subjects
# is an error (through a pty made by Python's pty module)
if $PY - "$P2M" "$T" <<'EOF'
import os, pty, select, subprocess, sys, time
p2m, t = sys.argv[1], sys.argv[2]
def on_tty(args, eof_after_first_line):
    master, slave = pty.openpty()
    pr = subprocess.Popen([p2m] + args, stdin=slave, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    os.close(slave)
    err = b''
    if eof_after_first_line:
        deadline = time.time() + 10
        while b'\n' not in err and time.time() < deadline:
            r, _, _ = select.select([pr.stderr], [], [], 0.5)
            if r:
                err += os.read(pr.stderr.fileno(), 4096)
        os.write(master, b'\x04')   # Ctrl-D at the start of a line: end of input
    out, rest = pr.communicate(timeout=10)
    os.close(master)
    return pr.returncode, out, (err + rest).decode()
rc, out, err = on_tty(['convert', '-f', 'table'], True)
want = ("p2m: reading standard input (a terminal): end it with Ctrl-D, or give an INPUT file "
        "(p2m convert --help)\np2m: empty input: standard input has no bytes\n")
assert (rc, out, err) == (1, b'', want), (rc, out, err)
rc, out, err = on_tty(['match', 'x'], False)
want = ("p2m: no subject given: name them after the pattern, or pipe them in, one a line\n"
        "Try 'p2m match --help'.\n")
assert (rc, out, err) == (2, b'', want), (rc, out, err)
EOF
then pass stdin-terminal; else fail stdin-terminal "see above"; fi

# -- match: no subject at all is an error; subjects piped in, one a line
expect_exact match-no-subject 2 "p2m: no subject given: none after the pattern and none on standard input
Try 'p2m match --help'." match 'x'
printf 'worker-12\nmain\r\nworker-7' > "$T/subjects.txt"
"$P2M" match '^worker-(\d+)$' < "$T/subjects.txt" > "$T/match-stdin.out" 2> "$T/match-stdin.err"
rc=$?
if [ $rc -eq 1 ] && $PY - "$T/subjects.txt" "$T/match-stdin.out" <<'EOF'
import re, sys
subjects = open(sys.argv[1], newline='').read().split('\n')
want = []
for s in subjects:
    s = s[:-1] if s.endswith('\r') else s
    m = re.search(r'^worker-(\d+)$', s)
    want.append('"%s": no match' % s if m is None else
                '"%s": match, value "%s" (bytes %d..%d)' % (s, m.group(1), m.start(1), m.end(1)))
got = open(sys.argv[2]).read().splitlines()
assert got == want, (got, want)
EOF
then pass match-stdin-subjects; else fail match-stdin-subjects "rc=$rc $(cat "$T/match-stdin.err")"; fi

# -- -o naming the input (also through ./ and a symlink) is refused, the
# input untouched; an output that does not exist yet is fine
cp "$demo" "$T/same.pb"
ln -sf same.pb "$T/same-link.pb"
expect_exact same-file 2 "p2m: the output $T/same.pb is the input $T/same.pb (the same file): it would be overwritten; write to another file" \
    convert -o "$T/same.pb" "$T/same.pb"
case $P2M in /*) p2m_abs=$P2M ;; *) p2m_abs=$PWD/$P2M ;; esac
(cd "$T" && "$p2m_abs" convert -o ./same.pb same.pb > same-dot.out 2> same-dot.err); rc=$?
if [ $rc -eq 2 ] && [ "$(cat "$T/same-dot.err")" = "p2m: the output ./same.pb is the input same.pb (the same file): it would be overwritten; write to another file" ]; then
    pass same-file-dot; else fail same-file-dot "rc=$rc $(cat "$T/same-dot.err")"; fi
expect_exact same-file-symlink 2 "p2m: the output $T/same-link.pb is the input $T/same.pb (the same file): it would be overwritten; write to another file" \
    convert -o "$T/same-link.pb" "$T/same.pb"
"$P2M" convert -o "$T/same.pb" < "$T/same.pb" > /dev/null 2> "$T/same-stdin.err"; rc=$?
if [ $rc -eq 2 ] && [ "$(cat "$T/same-stdin.err")" = "p2m: the output $T/same.pb is the input (standard input) (the same file): it would be overwritten; write to another file" ]; then
    pass same-file-stdin; else fail same-file-stdin "rc=$rc $(cat "$T/same-stdin.err")"; fi
if cmp -s "$demo" "$T/same.pb"; then pass same-file-untouched; else fail same-file-untouched "input changed"; fi
rm -f "$T/new-out.pb"
if run same-file-new 0 convert --now 1 -o "$T/new-out.pb" "$T/same.pb" && [ -s "$T/new-out.pb" ]; then
    pass same-file-new-output; else fail same-file-new-output "a new output file was refused"; fi

# -- inputs made here: gzip (Python), zstd (the zstd command), JSON pretty and
# on one line (json_format), JSON Lines of one and of two requests, cut files
$PY - "$demo" "$K8S" "$T" <<'EOF'
import gzip, struct, sys
from google.protobuf import json_format
import profiles_v1_8_pb2 as P
demo, k8s, t = sys.argv[1], sys.argv[2], sys.argv[3]
d = open(demo, 'rb').read()
s = open(k8s, 'rb').read()
open(t + '/demo.pb.gz', 'wb').write(gzip.compress(d))
open(t + '/k8s.stream.gz', 'wb').write(gzip.compress(s))
open(t + '/demo-2members.gz', 'wb').write(gzip.compress(d[:5000]) + gzip.compress(d[5000:]))
open(t + '/demo-cut.gz', 'wb').write(gzip.compress(d)[:-100])
open(t + '/empty.gz', 'wb').write(gzip.compress(b''))
req = P.ExportProfilesServiceRequest(); req.ParseFromString(d)
open(t + '/demo-pretty.json', 'w').write(json_format.MessageToJson(req))
one = json_format.MessageToJson(req, indent=None)
open(t + '/demo-line.json', 'w').write(one + '\n')
open(t + '/demo-line.json.gz', 'wb').write(gzip.compress((one + '\n').encode()))
msgs, i = [], 0
while i < len(s):
    n = struct.unpack('>I', s[i:i + 4])[0]
    m = P.ExportProfilesServiceRequest(); m.ParseFromString(s[i + 4:i + 4 + n])
    msgs.append(json_format.MessageToJson(m, indent=None))
    i += 4 + n
open(t + '/k8s.jsonl', 'w').write('\n'.join(msgs) + '\n')
open(t + '/k8s-first.jsonl', 'w').write(msgs[0] + '\n')
open(t + '/two-docs.json', 'w').write(json_format.MessageToJson(req) + '\n' + json_format.MessageToJson(req))
open(t + '/empty.pb', 'wb').write(b'')
open(t + '/blank.json', 'w').write(' \n\t')
EOF
zstd -q -f -c "$demo" > "$T/demo.pb.zst"
zstd -q -f -c "$K8S" > "$T/k8s.stream.zst"
zstd -q -f -c "$T/demo-line.json" > "$T/demo-line.json.zst"
head -c 200 "$T/demo.pb.zst" > "$T/demo-cut.zst"
run plain-demo 0 convert --now 1 -f json "$demo"
run plain-k8s 0 convert --now 1 -f json --input-format otlp-stream "$K8S"
# name ARGS... : the output must equal the plain input's (-f json, --now 1)
same_as() {
    name=$1 ref=$2
    shift 2
    if run "$name" 0 convert --now 1 -f json "$@" && cmp -s "$T/$name.out" "$T/$ref.out" &&
            [ -s "$T/$name.out" ]; then
        pass "$name"
    else
        fail "$name" "output differs from the uncompressed input's: $(head -c 200 "$T/$name.err")"
    fi
}
same_as gzip-otlp plain-demo "$T/demo.pb.gz"
same_as gzip-two-members plain-demo "$T/demo-2members.gz"
same_as gzip-stream plain-k8s --input-format otlp-stream "$T/k8s.stream.gz"
same_as gzip-json plain-demo --input-format json --layout v1.8 "$T/demo-line.json.gz"
same_as zstd-otlp plain-demo "$T/demo.pb.zst"
same_as zstd-stream plain-k8s --input-format otlp-stream "$T/k8s.stream.zst"
same_as zstd-json plain-demo --input-format json --layout v1.8 "$T/demo-line.json.zst"
same_as json-pretty plain-demo --input-format json --layout v1.8 "$T/demo-pretty.json"
same_as json-one-line plain-demo --input-format json --layout v1.8 "$T/demo-line.json"
same_as jsonl-two plain-k8s --input-format jsonl --layout v1.8 "$T/k8s.jsonl"
if "$P2M" convert --now 1 -f json - < "$T/demo.pb.gz" > "$T/gzip-stdin.out" 2>/dev/null &&
        cmp -s "$T/gzip-stdin.out" "$T/plain-demo.out"; then pass gzip-stdin
else fail gzip-stdin "gzip on stdin not recognised"; fi

# -- output framing follows the input format, not the number of requests:
# jsonl of one request and of two both give length-prefixed -f otlp output,
# one JSON line per request with -f json, a table section per message
run jsonl-one-otlp 0 convert --now 1 --input-format jsonl --layout v1.8 -o "$T/jsonl-one.bin" "$T/k8s-first.jsonl"
run jsonl-two-otlp 0 convert --now 1 --input-format jsonl --layout v1.8 -o "$T/jsonl-two.bin" "$T/k8s.jsonl"
run json-one-otlp 0 convert --now 1 --input-format json --layout v1.8 -o "$T/json-one.bin" "$T/demo-line.json"
if $PY - "$T" <<'EOF'
import struct, sys
import metrics_pb2
t = sys.argv[1]
def frames(path):
    b = open(path, 'rb').read()
    out, i = [], 0
    while i < len(b):
        n = struct.unpack('>I', b[i:i + 4])[0]
        assert i + 4 + n <= len(b), 'not length-prefixed: ' + path
        out.append(b[i + 4:i + 4 + n]); i += 4 + n
    return out
one, two = frames(t + '/jsonl-one.bin'), frames(t + '/jsonl-two.bin')
assert len(one) == 1 and len(two) == 2, (len(one), len(two))
assert one[0] == two[0]
for f in one + two:
    r = metrics_pb2.ExportMetricsServiceRequest(); r.ParseFromString(f)
    assert r.resource_metrics
r = metrics_pb2.ExportMetricsServiceRequest()
r.ParseFromString(open(t + '/json-one.bin', 'rb').read())   # json: one plain request
assert r.resource_metrics
EOF
then pass framing-by-input-format; else fail framing-by-input-format "see above"; fi
if run jsonl-one-json 0 convert --now 1 -f json --input-format jsonl --layout v1.8 "$T/k8s-first.jsonl" &&
        [ "$(wc -l < "$T/jsonl-one-json.out")" -eq 1 ] && [ "$(wc -l < "$T/jsonl-two.out")" -eq 2 ] &&
        run jsonl-one-table 0 convert --input-format jsonl --layout v1.8 -f table "$T/k8s-first.jsonl" &&
        [ "$(grep -c '^=== message' "$T/jsonl-one-table.out")" -eq 1 ]; then
    pass framing-json-lines
else
    fail framing-json-lines "one request in JSON Lines is not framed like two"
fi
expect_exact json-two-docs 1 "p2m: a second JSON request starts at byte $($PY -c "import sys; print(open(sys.argv[1]).read().index('\n{')+1)" "$T/two-docs.json") (line $(($(grep -n '^{' "$T/two-docs.json" | sed -n 2p | cut -d: -f1)))); --input-format json reads one: use --input-format jsonl for JSON Lines" \
    convert -f json --input-format json --layout v1.8 "$T/two-docs.json"

# -- the table's per-message header: input byte offsets, computed here
if run offsets-stream 0 convert -f table --input-format otlp-stream "$K8S" &&
        run offsets-jsonl 0 convert -f table --input-format jsonl --layout v1.8 "$T/k8s.jsonl" &&
        run offsets-gz 0 convert -f table --input-format otlp-stream "$T/k8s.stream.gz" &&
        $PY - "$K8S" "$T" <<'EOF'
import struct, sys
s = open(sys.argv[1], 'rb').read(); t = sys.argv[2]
want, i, k = [], 0, 1
while i < len(s):
    n = struct.unpack('>I', s[i:i + 4])[0]
    want.append('=== message %d (input bytes %d..%d) ===' % (k, i + 4, i + 4 + n))
    i += 4 + n; k += 1
got = [l for l in open(t + '/offsets-stream.out').read().splitlines() if l.startswith('===')]
assert got == want, (got, want)
j = open(t + '/k8s.jsonl', 'rb').read()
lines, at = [], 0
for k, line in enumerate(j.split(b'\n')[:-1]):
    lines.append('=== message %d (input bytes %d..%d) ===' % (k + 1, at, at + len(line)))
    at += len(line) + 1
got = [l for l in open(t + '/offsets-jsonl.out').read().splitlines() if l.startswith('===')]
assert got == lines, (got, lines)
gz = [w.replace(') ===', ', after gzip decompression) ===') for w in want]
got = [l for l in open(t + '/offsets-gz.out').read().splitlines() if l.startswith('===')]
assert got == gz, (got, gz)
EOF
then pass table-input-offsets; else fail table-input-offsets "see above"; fi

# -- compressed input refused: a bomb, a cap, a cut file, no library
$PY - "$T/bomb.gz" <<'EOF'
import gzip, sys
zeros = b'\0' * (1 << 20)
with gzip.open(sys.argv[1], 'wb', compresslevel=6) as f:   # 2 GiB of zeros, streamed
    for _ in range(2048):
        f.write(zeros)
EOF
expect_exact gzip-bomb 1 "p2m: gzip input refused: it inflates to more than 1073741824 bytes (--max-decompressed 1073741824); raise the limit if the input is genuine" \
    convert -o /dev/null "$T/bomb.gz"
rm -f "$T/bomb.gz"
expect_exact zstd-cap 1 "p2m: zstd input refused: it decompresses to more than 1024 bytes (--max-decompressed 1024); raise the limit if the input is genuine" \
    convert -o /dev/null --max-decompressed 1K "$T/demo.pb.zst"
expect_exact max-decompressed-bad 2 "p2m: --max-decompressed takes a size in bytes with an optional K, M or G (1G, 512M), not '1T'
Try 'p2m convert --help'." convert --max-decompressed 1T "$T/demo.pb.zst"
expect_exact gzip-cut 1 "p2m: gzip input: truncated: the compressed input ends at byte $(wc -c < "$T/demo-cut.gz") inside the gzip data" \
    convert -o /dev/null "$T/demo-cut.gz"
expect_exact zstd-cut 1 "p2m: zstd input: truncated: the compressed input ends at byte 200 inside a zstd frame" \
    convert -o /dev/null "$T/demo-cut.zst"
if [ -x "$T/p2m-noyaml" ]; then   # built above with no optional library
    "$T/p2m-noyaml" convert -o /dev/null "$T/demo.pb.gz" 2> "$T/nozlib.err"; rc=$?
    if [ $rc -eq 1 ] && [ "$(cat "$T/nozlib.err")" = "p2m: the input is gzip-compressed and this p2m was built without zlib: decompress it first (gunzip)" ]; then
        pass gzip-without-zlib; else fail gzip-without-zlib "rc=$rc $(cat "$T/nozlib.err")"; fi
    "$T/p2m-noyaml" convert -o /dev/null "$T/demo.pb.zst" 2> "$T/nozstd.err"; rc=$?
    if [ $rc -eq 1 ] && [ "$(cat "$T/nozstd.err")" = "p2m: the input is zstd-compressed and this p2m was built without libzstd: decompress it first (zstd -d)" ]; then
        pass zstd-without-libzstd; else fail zstd-without-libzstd "rc=$rc $(cat "$T/nozstd.err")"; fi
fi

# -- empty input is an error, whatever the format
expect_exact empty-file 1 "p2m: empty input: $T/empty.pb has no bytes" convert -o /dev/null "$T/empty.pb"
expect_exact empty-stream 1 "p2m: empty input: $T/empty.pb has no bytes" convert --input-format otlp-stream -o /dev/null "$T/empty.pb"
expect_exact empty-gzip 1 "p2m: empty input: $T/empty.gz decompresses to no bytes" convert -o /dev/null "$T/empty.gz"
expect_exact empty-json 1 "p2m: empty input: 3 bytes of whitespace and no JSON request" convert --input-format json -o /dev/null "$T/blank.json"
"$P2M" convert -o /dev/null < /dev/null 2> "$T/empty-stdin.err"; rc=$?
if [ $rc -eq 1 ] && [ "$(cat "$T/empty-stdin.err")" = "p2m: empty input: standard input has no bytes" ]; then
    pass empty-stdin; else fail empty-stdin "rc=$rc $(cat "$T/empty-stdin.err")"; fi

# -- the wrong input format: the error says what the input looks like and
# names the flag (the library's own reason in the middle is not checked)
expect_err hint-json 1 '^p2m: malformed input at byte 0: .*; the input looks like JSON: use --input-format json \(--input-format jsonl for JSON Lines\)$' \
    convert -o /dev/null "$T/demo-pretty.json"
expect_err hint-stream 1 '^p2m: malformed input at byte 0: .*; the input looks like a length-prefixed stream \(4-byte big-endian lengths\): use --input-format otlp-stream$' \
    convert -o /dev/null "$K8S"
head -c $(($(od -An -tu1 -N4 "$K8S" | awk '{print $1*16777216+$2*65536+$3*256+$4}') + 4)) "$K8S" > "$T/one-frame.stream"
expect_err hint-stream-one-frame 1 'use --input-format otlp-stream$' convert -o /dev/null "$T/one-frame.stream"
expect_exact hint-protobuf-as-json 1 "p2m: malformed JSON at byte 0 (line 1): expected '{' (the input does not look like JSON: for protobuf use --input-format otlp or otlp-stream)" \
    convert --input-format json -o /dev/null "$demo"

# -- a truncated file: "truncated", the offset where it ends and the field
# being read, named by an independent walk over the v1.8 descriptors
for cut in 1000 3000 15000 24000; do
    head -c $cut "$demo" > "$T/cut-$cut.pb"
    want=$($PY - "$T/cut-$cut.pb" <<'EOF'
import sys
import profiles_v1_8_pb2 as P
from google.protobuf.descriptor import FieldDescriptor as F
b = open(sys.argv[1], 'rb').read()
def varint(i, end):
    v = s = 0
    while i < end:
        c = b[i]; i += 1; v |= (c & 0x7f) << s; s += 7
        if not c & 0x80:
            return v, i
    return None, end
def walk(desc, i, end, path):
    counts = {}
    while i < end:
        start = i
        tag, i = varint(i, end)
        if tag is None:
            return path, start
        num, wt = tag >> 3, tag & 7
        f = desc.fields_by_number.get(num)
        k = counts.get(num, 0); counts[num] = k + 1
        name = f.name if f else 'field %d' % num
        if f is not None and f.label == F.LABEL_REPEATED and f.type in (F.TYPE_MESSAGE, F.TYPE_STRING, F.TYPE_BYTES):
            name += '[%d]' % k
        if wt == 2:
            n, j = varint(i, end)
            if n is None or j + n > len(b):
                p = path + [name]
                if n is not None and f is not None and f.type == F.TYPE_MESSAGE:
                    inner, at = walk(f.message_type, j, len(b), p)
                    if at is not None:
                        return inner, at
                return p, start
            i = j + n
        elif wt == 0:
            v, i = varint(i, end)
            if v is None:
                return path + [name], start
        else:
            raise SystemExit('unexpected wire type')
    return path, None
path, at = walk(P.ExportProfilesServiceRequest.DESCRIPTOR, 0, len(b), [])
import re
print(re.escape('; truncated: the input ends at byte %d while reading %s (from byte %d)'
                % (len(b), '.'.join(path), at)))
EOF
)
    expect_err "truncated-$cut" 1 "^p2m: malformed input at byte [0-9]+: .*$want\$" \
        convert -o /dev/null "$T/cut-$cut.pb"
done
expect_err truncated-stream 1 "^p2m: malformed input at byte $second_frame: truncated: a frame of [0-9]+ bytes runs past the end of the input \([0-9]+ bytes left\); the input ends at byte [0-9]+ while reading [a-z_]+.* \(message 2\)$" \
    convert --input-format otlp-stream -o /dev/null "$T/cut-body.stream"

# -- notes: an input without profiles; filters that drop every sample
$PY - "$T" <<'EOF'
import sys
import profiles_v1_10_pb2 as P
t = sys.argv[1]
r = P.ExportProfilesServiceRequest()
r.dictionary.string_table.extend([''])
rp = r.resource_profiles.add()
kv = rp.resource.attributes.add(); kv.key = 'service.name'; kv.value.string_value = 'svc'
rp.scope_profiles.add()
open(t + '/noprofiles.pb', 'wb').write(r.SerializeToString())
EOF
if run note-no-profiles 0 convert -o /dev/null "$T/noprofiles.pb" &&
        [ "$(cat "$T/note-no-profiles.err")" = "p2m: note: the input holds no profiles (1 resource): the output has no metrics" ] &&
        run note-no-profiles-quiet 0 convert --quiet -o /dev/null "$T/noprofiles.pb" &&
        [ ! -s "$T/note-no-profiles-quiet.err" ] &&
        run note-no-profiles-table 0 convert -q -f table "$T/noprofiles.pb" &&
        grep -qx "note: the input holds no profiles (1 resource): the output has no metrics" "$T/note-no-profiles-table.out"; then
    pass note-no-profiles
else
    fail note-no-profiles "$(cat "$T/note-no-profiles.err")"
fi
cfg drop-all <<'EOF'
process_filter: {enabled: true, pattern: "^no-such-process$"}
EOF
# README of the capture: 49 samples
if run note-filters 0 convert -c "$C/drop-all.yaml" -o /dev/null "$demo" &&
        [ "$(cat "$T/note-filters.err")" = "p2m: note: the filters dropped every sample (of 49): process_filter 49; check the filter's patterns (p2m match PATTERN SUBJECT... tries one)" ]; then
    pass note-filters-drop-all
else
    fail note-filters-drop-all "$(cat "$T/note-filters.err")"
fi
# -- dropped_stack: the samples the stack filter dropped, in --stats, the
# drop-all note, and added up over a stream's messages. A filter that
# matches nothing drops every sample (README: 49, and 58 + 107 in the
# stream); "^runtime\." keeps the samples with a symbolised function of
# that name on their stack, counted here from Google protobuf's decode
cfg stack-none <<'EOF'
stack_filter: {enabled: true, pattern: "^no-such-function$"}
EOF
cfg stack-runtime <<'EOF'
stack_filter: {enabled: true, pattern: "^runtime\\."}
EOF
if run stack-drop-all 0 convert --stats -c "$C/stack-none.yaml" -o /dev/null "$demo" &&
        [ "$(sed -n 1p "$T/stack-drop-all.err")" = "p2m: note: the filters dropped every sample (of 49): stack_filter 49; check the filter's patterns (p2m match PATTERN SUBJECT... tries one)" ] &&
        sed -n 2p "$T/stack-drop-all.err" | grep -q '"dropped_pattern":0,"dropped_stack":49,' &&
        run stack-drop-all-table 0 convert -q -f table -c "$C/stack-none.yaml" "$demo" &&
        grep -qxF "note: the filters dropped every sample (of 49): stack_filter 49; check the filter's patterns (p2m match PATTERN SUBJECT... tries one)" "$T/stack-drop-all-table.out"; then
    pass stats-dropped-stack-all
else
    fail stats-dropped-stack-all "$(cat "$T/stack-drop-all.err")"
fi
if run stack-stream 0 convert --stats --input-format otlp-stream -c "$C/stack-runtime.yaml" -o /dev/null "$K8S" &&
        run stack-frame1 0 convert --stats -c "$C/stack-runtime.yaml" -o /dev/null "$T/frame1.pb" &&
        run stack-frame2 0 convert --stats -c "$C/stack-runtime.yaml" -o /dev/null "$T/frame2.pb" &&
        $PY - "$T" <<'EOF'
import json, re, sys
import profiles_v1_8_pb2 as P
t = sys.argv[1]
def stats(name):
    return json.loads(open('%s/%s.err' % (t, name)).read().strip().splitlines()[-1])
def dropped(path):
    req = P.ExportProfilesServiceRequest()
    req.ParseFromString(open(path, 'rb').read())
    d = req.dictionary
    names = lambda loc: [d.string_table[d.function_table[l.function_index].name_strindex]
                         for l in loc.lines]
    n = 0
    for rp in req.resource_profiles:
        for sp in rp.scope_profiles:
            for p in sp.profiles:
                for s in p.samples:
                    locs = d.stack_table[s.stack_index].location_indices
                    if not any(re.search(r'^runtime\.', f)
                               for i in locs for f in names(d.location_table[i])):
                        n += 1
    return n
want = [dropped(t + '/frame1.pb'), dropped(t + '/frame2.pb')]
assert 0 < sum(want) < 165, want
s1, s2, s = stats('stack-frame1'), stats('stack-frame2'), stats('stack-stream')
assert [s1['dropped_stack'], s2['dropped_stack']] == want, (s1, s2, want)
assert s['dropped_stack'] == sum(want) and s['messages'] == 2, (s, want)
assert s['samples_kept'] == 165 - sum(want), s
EOF
then pass stats-dropped-stack-stream; else fail stats-dropped-stack-stream "$(cat "$T/stack-stream.err")"; fi
if run note-none 0 convert -o /dev/null "$demo" && [ ! -s "$T/note-none.err" ]; then
    pass note-none-when-all-fed; else fail note-none-when-all-fed "$(cat "$T/note-none.err")"; fi

# -- sample types that fed no metric: one note on stderr (and in the table),
# counted here from the request Python builds; --quiet removes it; a stream's
# messages add up
$PY - "$T" <<'EOF'
import struct, sys
import profiles_v1_10_pb2 as P
t = sys.argv[1]
r = P.ExportProfilesServiceRequest()
d = r.dictionary
d.string_table.extend(['', 'off_cpu', 'nanoseconds', 'thread.name', 'main', 'wall',
                       'inuse_space', 'bytes', 'cpu'])
d.attribute_table.add()
a = d.attribute_table.add(); a.key_strindex = 3; a.value.string_value = 'main'
d.stack_table.add()
rp = r.resource_profiles.add()
kv = rp.resource.attributes.add(); kv.key = 'service.name'; kv.value.string_value = 'svc'
sp = rp.scope_profiles.add()
st = d.string_table
def prof(ty, un, vals):
    p = sp.profiles.add()
    p.sample_type.type_strindex = ty; p.sample_type.unit_strindex = un
    p.time_unix_nano = 1000
    for v in vals:
        s = p.samples.add(); s.values.append(v); s.attribute_indices.append(1)
prof(1, 2, [5, 7, 9]); prof(1, 2, [11]); prof(5, 2, [100, 200]); prof(6, 7, [4096])
prof(8, 2, [1000])    # cpu/nanoseconds feeds cpu_time
b = r.SerializeToString()
open(t + '/unfed.pb', 'wb').write(b)
open(t + '/unfed.stream', 'wb').write((struct.pack('>I', len(b)) + b) * 2)
def note(times):
    order, count = [], {}
    for p in sp.profiles:
        k = (st[p.sample_type.type_strindex], st[p.sample_type.unit_strindex])
        if k == ('cpu', 'nanoseconds'):
            continue
        if k not in count:
            order.append(k); count[k] = [0, 0]
        count[k][0] += times; count[k][1] += times * len(p.samples)
    pl = lambda n, w: '%d %s%s' % (n, w, '' if n == 1 else 's')
    parts = ['%s/%s (%s, %s)' % (k[0], k[1], pl(count[k][0], 'profile'), pl(count[k][1], 'sample'))
             for k in order]
    return ('%d sample types fed no metric: %s; map them to a metric with metrics.extra in '
            'the configuration (docs/configuration.md)' % (len(order), ', '.join(parts)))
open(t + '/unfed.note', 'w').write(note(1) + '\n')
open(t + '/unfed2.note', 'w').write(note(2) + '\n')
EOF
unfed_note=$(cat "$T/unfed.note")
unfed2_note=$(cat "$T/unfed2.note")
if run note-unfed 0 convert -o /dev/null "$T/unfed.pb" &&
        [ "$(cat "$T/note-unfed.err")" = "p2m: note: $unfed_note" ]; then
    pass note-unfed; else fail note-unfed "$(cat "$T/note-unfed.err")"; fi
if run note-unfed-quiet 0 convert --quiet -o /dev/null "$T/unfed.pb" && [ ! -s "$T/note-unfed-quiet.err" ]; then
    pass note-unfed-quiet; else fail note-unfed-quiet "$(cat "$T/note-unfed-quiet.err")"; fi
if run note-unfed-table 0 convert -q -f table "$T/unfed.pb" &&
        [ "$(tail -1 "$T/note-unfed-table.out")" = "note: $unfed_note" ]; then
    pass note-unfed-table; else fail note-unfed-table "$(tail -2 "$T/note-unfed-table.out")"; fi
if run note-unfed-stream 0 convert --input-format otlp-stream -o /dev/null "$T/unfed.stream" &&
        [ "$(cat "$T/note-unfed-stream.err")" = "p2m: note: $unfed2_note" ]; then
    pass note-unfed-stream; else fail note-unfed-stream "$(cat "$T/note-unfed-stream.err")"; fi

# -- a forced layout the evidence contradicts (the capture is v1.8): a
# warning that --quiet keeps; under strict: true an error
if run layout-conflict 0 convert --quiet --layout v1.10 -o /dev/null "$demo" &&
        [ "$(cat "$T/layout-conflict.err")" = "p2m: warning: layout v1.10 is forced (--layout) but the input's fields point to v1.8: the values may be wrong; drop the forced layout, or set strict: true to make this an error" ]; then
    pass layout-conflict-warning; else fail layout-conflict-warning "$(cat "$T/layout-conflict.err")"; fi
cfg layout-forced <<'EOF'
layout: v1.9
EOF
if run layout-conflict-config 0 convert -c "$C/layout-forced.yaml" -o /dev/null "$demo" &&
        [ "$(cat "$T/layout-conflict-config.err")" = "p2m: warning: layout v1.9 is forced (layout: in the configuration) but the input's fields point to v1.8: the values may be wrong; drop the forced layout, or set strict: true to make this an error" ]; then
    pass layout-conflict-config; else fail layout-conflict-config "$(cat "$T/layout-conflict-config.err")"; fi
expect_err layout-conflict-strict 1 "^p2m: malformed input at byte 0: .*; the input's fields point to v1\.8: drop the forced layout v1\.10$" \
    convert -c "$C/strict.yaml" --layout v1.10 -o /dev/null "$demo"
if run layout-agrees 0 convert --layout v1.8 -o /dev/null "$demo" && [ ! -s "$T/layout-agrees.err" ]; then
    pass layout-agrees-silent; else fail layout-agrees-silent "$(cat "$T/layout-agrees.err")"; fi

# -- declared metrics (p2m_config.extra) in -f json and -f table, through a
# small C driver until the YAML key is there: off-CPU time as a monotonic
# Sum, in-use bytes as a Gauge; values summed here from the request, the
# JSON checked against the driver's protobuf decoded by Google protobuf
cat > "$T/extra-driver.c" <<'EOF'
#define P2M_IMPLEMENTATION
#include "profile2metrics.h"
#include "p2m_table.h"
#include <stdio.h>
#include <stdlib.h>
static void put(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
        exit(3);
}
int main(int argc, char **argv)
{
    static const char *const off[] = {"off_cpu/nanoseconds"};
    static const char *const inuse[] = {"inuse_space/bytes"};
    p2m_extra_metric ex[2] = {{"off_cpu_time", "ns", NULL, off, 1},
                              {"inuse_bytes", "By", NULL, inuse, 1}};
    static unsigned char in[1 << 16], engine_mem[1 << 16], work[1 << 20], pb[1 << 16];
    static unsigned char scratch[1 << 16], json[1 << 16];
    p2m_config cfg;
    const p2m_engine *e;
    const p2m_result *r;
    p2m_error err;
    p2m_options opt = {0};
    p2m_outbuf o = {NULL, 0, 0, 0};
    size_t n, pb_n = 0, json_n = 0;
    FILE *f;
    if (argc != 5 || (f = fopen(argv[1], "rb")) == NULL)
        return 2;
    n = fread(in, 1, sizeof in, f);
    fclose(f);
    p2m_config_init(&cfg);
    cfg.extra = ex;
    cfg.n_extra = 2;
    opt.now_unix_nano = 1;
    if (p2m_engine_compile(&cfg, engine_mem, sizeof engine_mem, &e, &err) != P2M_OK ||
        p2m_aggregate(e, in, n, &opt, work, sizeof work, &r, NULL, &err) != P2M_OK ||
        p2m_encode_otlp(r, pb, sizeof pb, &pb_n, &err) != P2M_OK) {
        fprintf(stderr, "%s: %s\n", err.field, err.message);
        return 1;
    }
    if (p2m_write_json(r, scratch, sizeof scratch, json, sizeof json, &json_n, &err) != P2M_OK)
        return 1;
    put(argv[2], json, json_n);
    p2m_table_write(&o, r);
    put(argv[3], o.data, o.len);
    put(argv[4], pb, pb_n);
    p2m_out_free(&o);
    return 0;
}
EOF
if ${CC:-cc} -std=c99 -D_POSIX_C_SOURCE=200809L -I. -Itools -o "$T/extra-driver" "$T/extra-driver.c" \
        tools/p2m_table.c tools/p2m_out.c -lm 2> "$T/extra-driver.log" &&
        "$T/extra-driver" "$T/unfed.pb" "$T/extra.json" "$T/extra.table" "$T/extra.pb" 2>> "$T/extra-driver.log" &&
        $PY - "$T" <<'EOF'
import json, sys
import metrics_pb2, profiles_v1_10_pb2 as P
t = sys.argv[1]
req = P.ExportProfilesServiceRequest(); req.ParseFromString(open(t + '/unfed.pb', 'rb').read())
st = req.dictionary.string_table
want = {'off_cpu_time': 0, 'inuse_bytes': 0}
for p in req.resource_profiles[0].scope_profiles[0].profiles:
    k = (st[p.sample_type.type_strindex], st[p.sample_type.unit_strindex])
    name = {('off_cpu', 'nanoseconds'): 'off_cpu_time', ('inuse_space', 'bytes'): 'inuse_bytes'}.get(k)
    if name:
        want[name] += sum(v for s in p.samples for v in s.values)
pb = metrics_pb2.ExportMetricsServiceRequest(); pb.ParseFromString(open(t + '/extra.pb', 'rb').read())
kinds = {m.name: m.WhichOneof('data') for m in pb.resource_metrics[0].scope_metrics[0].metrics}
assert kinds.get('off_cpu_time') == 'sum' and kinds.get('inuse_bytes') == 'gauge', kinds
j = json.loads(open(t + '/extra.json').read())
ms = {m['name']: m for m in j['resourceMetrics'][0]['scopeMetrics'][0]['metrics']}
off, inuse = ms['off_cpu_time'], ms['inuse_bytes']
assert 'gauge' not in off and off['sum']['isMonotonic'] is True, off
assert off['sum']['aggregationTemporality'] == 1, off
assert sum(int(p['asInt']) for p in off['sum']['dataPoints']) == want['off_cpu_time'], (off, want)
assert off['unit'] == 'ns' and inuse['unit'] == 'By', (off['unit'], inuse['unit'])
assert 'sum' not in inuse and set(inuse['gauge']) == {'dataPoints'}, inuse
assert sum(int(p['asInt']) for p in inuse['gauge']['dataPoints']) == want['inuse_bytes'], (inuse, want)
text = open(t + '/extra.table').read()
assert '\n  off_cpu_time (ns), delta sum, 1 point\n' in text, text
assert '\n  inuse_bytes (By), gauge, 1 point\n' in text, text
assert 'total: %d ns' % want['off_cpu_time'] in text and 'total: %d By' % want['inuse_bytes'] in text, text
EOF
then pass declared-metrics-json-table; else fail declared-metrics-json-table "$(head -c 300 "$T/extra-driver.log")"; fi

# -- a pretty-printed JSON request: errors give the line of the text
printf '{\n  "resourceProfiles": [\n    {"bogus": 1}\n  ]\n}\n' > "$T/pretty-bad.json"
expect_exact json-pretty-error-line 1 "p2m: malformed JSON at byte $($PY -c 'import sys; print(open(sys.argv[1]).read().index("\"bogus"))' "$T/pretty-bad.json") (line 3): unknown field 'bogus' for this layout (see --layout)" \
    convert --input-format json -o /dev/null "$T/pretty-bad.json"

# -- the wrong input format for a stream: one request, or JSON, given as
# otlp-stream (the frame length is the first 4 bytes, read here)
frame_len() { od -An -tu1 -N4 "$1" | awk '{printf "%d", $1*16777216+$2*65536+$3*256+$4}'; }
expect_exact hint-request-as-stream 1 "p2m: malformed input at byte 0: a frame of $(frame_len "$demo") bytes runs past the end of the input ($(($(wc -c < "$demo") - 4)) bytes left); the input may be one request without length prefixes: use --input-format otlp (message 1)" \
    convert --input-format otlp-stream -o /dev/null "$demo"
expect_exact hint-json-as-stream 1 "p2m: malformed input at byte 0: a frame of $(frame_len "$T/demo-line.json") bytes runs past the end of the input ($(($(wc -c < "$T/demo-line.json") - 4)) bytes left); the input looks like JSON: use --input-format jsonl (message 1)" \
    convert --input-format otlp-stream -o /dev/null "$T/demo-line.json"

# -- an error in compressed JSON: its offsets count in the decompressed text
printf '{"resourceProfiles":[{"bogus":1}]}\n' > "$T/bad-field.json"
$PY -c 'import gzip, sys; open(sys.argv[2], "wb").write(gzip.compress(open(sys.argv[1], "rb").read()))' \
    "$T/bad-field.json" "$T/bad-field.json.gz"
expect_exact json-gzip-error 1 "p2m: malformed JSON at byte $($PY -c 'import sys; print(open(sys.argv[1]).read().index("\"bogus"))' "$T/bad-field.json") (line 1 of the input after gzip decompression): unknown field 'bogus' for this layout (see --layout)" \
    convert --input-format json -o /dev/null "$T/bad-field.json.gz"

# -- declared metrics end to end from YAML (metrics.extra): -f json has the
# off-CPU Sum and the in-use Gauge, the table names them, the unfed note is
# gone for the mapped types and stays for wall/nanoseconds
cfg extra <<'EOF'
metrics:
  extra:
    - {metric_name: off_cpu_time, unit: ns, sample_types: ["off_cpu/nanoseconds"]}
    - {metric_name: heap_in_use, unit: By, sample_types: ["inuse_space/bytes"]}
EOF
if run extra-yaml-json 0 convert --now 1 -c "$C/extra.yaml" -f json "$T/unfed.pb" &&
        run extra-yaml-table 0 convert --now 1 -q -c "$C/extra.yaml" -f table "$T/unfed.pb" &&
        [ "$(cat "$T/extra-yaml-json.err")" = "p2m: note: 1 sample type fed no metric: wall/nanoseconds (1 profile, 2 samples); map them to a metric with metrics.extra in the configuration (docs/configuration.md)" ] &&
        $PY - "$T" <<'EOF'
import json, sys
t = sys.argv[1]
j = json.loads(open(t + '/extra-yaml-json.out').read())
ms = {m['name']: m for m in j['resourceMetrics'][0]['scopeMetrics'][0]['metrics']}
off, heap = ms['off_cpu_time'], ms['heap_in_use']
assert off['sum']['isMonotonic'] is True and 'gauge' not in off, off
assert sum(int(p['asInt']) for p in off['sum']['dataPoints']) == 5 + 7 + 9 + 11, off
assert set(heap) >= {'gauge'} and 'sum' not in heap, heap
assert 'aggregationTemporality' not in heap['gauge'] and 'isMonotonic' not in heap['gauge'], heap
assert sum(int(p['asInt']) for p in heap['gauge']['dataPoints']) == 4096, heap
text = open(t + '/extra-yaml-table.out').read()
assert '\n  off_cpu_time (ns), delta sum, 1 point\n' in text, text
assert '\n  heap_in_use (By), gauge, 1 point\n' in text, text
import re
assert re.search(r'heap_in_use \(By\), gauge, 1 point\n    time: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC \(snapshot\)\n', text), text
EOF
then pass declared-metrics-yaml; else fail declared-metrics-yaml "$(cat "$T/extra-yaml-json.err")"; fi

# =============================================================================
# ---- pprof input (issue 17): --input-format pprof, recognition, formats ----
# The profiles are written here by a small wire encoder of this suite's own
# (varints and tags, profile.proto's field numbers), the expected totals
# summed here from the same sample lists; gzip by Python's gzip module, zstd
# by the zstd command; outputs read by Google protobuf, Python's json and a
# text parser of the Prometheus lines.
# =============================================================================
cat > "$T/pprof_enc.py" <<'EOF'
"""A pprof Profile writer for the CLI suite: fields by number, as in
profile.proto (Profile 1..14, ValueType, Sample, Label, Mapping, Location,
Line, Function)."""
def varint(v):
    if v < 0:
        v += 1 << 64
    out = bytearray()
    while v > 0x7F:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)
def tag(field, wt):
    return varint(field << 3 | wt)
def vint(field, v):
    return tag(field, 0) + varint(v)
def ld(field, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return tag(field, 2) + varint(len(payload)) + payload
def packed(field, vals):
    return ld(field, b''.join(varint(v) for v in vals))
class Profile:
    """Samples: (location ids, values, labels); labels: (key, str) or
    (key, num, unit). unpacked=True writes a sample's repeated fields one by one."""
    def __init__(self):
        self.strings = ['']
        self.body = []
    def s(self, text):
        if text not in self.strings:
            self.strings.append(text)
        return self.strings.index(text)
    def value_type(self, typ, unit):
        return vint(1, self.s(typ)) + vint(2, self.s(unit))
    def sample_type(self, typ, unit):
        self.body.append(ld(1, self.value_type(typ, unit)))
    def sample(self, locs, values, labels=(), unpacked=False):
        if unpacked:
            b = b''.join(vint(1, l) for l in locs) + b''.join(vint(2, v) for v in values)
        else:
            b = packed(1, locs) + packed(2, values)
        for lab in labels:
            if len(lab) == 2:
                b += ld(3, vint(1, self.s(lab[0])) + vint(2, self.s(lab[1])))
            else:
                b += ld(3, vint(1, self.s(lab[0])) + vint(3, lab[1]) + vint(4, self.s(lab[2])))
        self.body.append(ld(2, b))
    def mapping(self, mid, start, limit, filename):
        self.body.append(ld(3, vint(1, mid) + vint(2, start) + vint(3, limit) +
                            vint(5, self.s(filename))))
    def function(self, fid, name, filename):
        self.body.append(ld(5, vint(1, fid) + vint(2, self.s(name)) + vint(3, self.s(name)) +
                            vint(4, self.s(filename))))
    def location(self, lid, mapping, address, functions):
        b = vint(1, lid) + vint(2, mapping) + vint(3, address)
        for f in functions:
            b += ld(4, vint(1, f) + vint(2, 10))
        self.body.append(ld(4, b))
    def to_bytes(self, time_nanos, duration, period_type, period):
        pt = self.value_type(*period_type)      # interned before the table is written
        return (b''.join(self.body) + b''.join(ld(6, x) for x in self.strings) +
                vint(9, time_nanos) + vint(10, duration) + ld(11, pt) + vint(12, period))
EOF
$PY - "$T" <<'EOF'
import gzip, json, sys
sys.path.insert(0, sys.argv[1])
from pprof_enc import Profile, ld, tag, varint
t = sys.argv[1]
T0, DUR = 1700000000000000000, 10000000000
# a Go CPU profile: samples/count and cpu/nanoseconds, pprof.Do-style labels
p = Profile()
p.sample_type('samples', 'count')
p.sample_type('cpu', 'nanoseconds')
cpu = [([1, 2], [3, 30000000], [('thread.name', 'worker-1'), ('process.executable.name', 'api')]),
       ([3], [2, 20000000], [('thread.name', 'worker-2')]),
       ([2, 3], [5, 50000000], [('thread.name', 'worker-1'), ('bytes', 512, 'bytes')])]
for i, (locs, vals, labels) in enumerate(cpu):
    p.sample(locs, vals, labels, unpacked=i == 1)
p.mapping(1, 0x400000, 0x800000, '/usr/local/bin/api')
for f, name in ((1, 'main.work'), (2, 'main.handle'), (3, 'runtime.goexit')):
    p.function(f, name, 'main.go')
for l in (1, 2, 3):
    p.location(l, 1, 0x401000 + l * 16, [l])
data = p.to_bytes(T0, DUR, ('cpu', 'nanoseconds'), 10000000)
open(t + '/cpu.pprof', 'wb').write(data)
open(t + '/cpu.pprof.gz', 'wb').write(gzip.compress(data))
by_thread = {}
for locs, vals, labels in cpu:
    th = dict(l for l in labels if len(l) == 2)['thread.name']
    by_thread[th] = by_thread.get(th, 0) + vals[1]
# a Go heap profile: four columns, space/bytes period, no labels
h = Profile()
for ty, un in (('alloc_objects', 'count'), ('alloc_space', 'bytes'),
               ('inuse_objects', 'count'), ('inuse_space', 'bytes')):
    h.sample_type(ty, un)
heap = [([1], [4, 4096, 1, 1024]), ([2, 1], [2, 65536, 2, 65536]), ([3], [10, 160, 0, 0])]
for locs, vals in heap:
    h.sample(locs, vals)
h.mapping(1, 0x400000, 0x800000, '/usr/local/bin/api')
for f in (1, 2, 3):
    h.function(f, 'main.f%d' % f, 'main.go')
    h.location(f, 1, 0x402000 + f, [f])
hdata = h.to_bytes(T0, 0, ('space', 'bytes'), 524288)
open(t + '/heap.pprof', 'wb').write(hdata)
open(t + '/heap.pprof.gz', 'wb').write(gzip.compress(hdata))
# a truncated gzip'd heap profile: cut inside its string table, after the
# mappings, locations and functions
open(t + '/heap-cut.pprof.gz', 'wb').write(gzip.compress(hdata[:len(hdata) - 30]))
# malformed: time_nanos (field 9, a varint) written length-delimited, at a
# known offset
bad_at = len(hdata)
open(t + '/bad-wt.pprof', 'wb').write(hdata + tag(9, 2) + varint(1) + b'\x00')
# malformed: the last sample's length runs past the end (at a known offset)
cut = Profile()
cut.sample_type('cpu', 'nanoseconds')
cbody = cut.to_bytes(T0, DUR, ('cpu', 'nanoseconds'), 10000000)
sample = ld(2, b'\x0a\x01\x01\x12\x01\x05')
trunc_at = len(cbody)
open(t + '/trunc.pprof', 'wb').write(cbody + sample[:-2])
json.dump({'cpu_total': sum(v[1] for _, v, _ in cpu), 'cpu_samples': len(cpu),
           'by_thread': by_thread, 'alloc_space': sum(v[1] for _, v in heap),
           'heap_samples': len(heap), 'cpu_bytes': len(data), 'heap_bytes': len(hdata),
           'bad_at': bad_at, 'trunc_at': trunc_at, 't0': T0, 'dur': DUR},
          open(t + '/pprof-want.json', 'w'))
EOF
zstd -q -f -c "$T/cpu.pprof" > "$T/cpu.pprof.zst"
pw() { $PY -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/pprof-want.json" "$1"; }

# -- every output format carries the profile's cpu total, split by the
# thread.name label; --resource-attr names the resource
if run pprof-otlp 0 convert --input-format pprof --now 1 --resource-attr service.name=api \
        -o "$T/pprof.pb" "$T/cpu.pprof" &&
        run pprof-json 0 convert --input-format pprof --now 1 --resource-attr service.name=api \
        -f json "$T/cpu.pprof" &&
        run pprof-prom 0 convert --input-format pprof --resource-attr service.name=api \
        -f prom "$T/cpu.pprof" &&
        run pprof-table 0 convert --input-format pprof --resource-attr service.name=api \
        -f table "$T/cpu.pprof" &&
        $PY - "$T" <<'EOF'
import json, re, sys
import metrics_pb2
t = sys.argv[1]
w = json.load(open(t + '/pprof-want.json'))
def attrs(kvs):
    return {kv.key: kv.value.string_value for kv in kvs}
r = metrics_pb2.ExportMetricsServiceRequest(); r.ParseFromString(open(t + '/pprof.pb', 'rb').read())
assert len(r.resource_metrics) == 1, r
rm = r.resource_metrics[0]
assert attrs(rm.resource.attributes) == {'service.name': 'api'}, rm.resource
ms = {m.name: m for m in rm.scope_metrics[0].metrics}
assert set(ms) == {'cpu_time'}, sorted(ms)
pts = ms['cpu_time'].sum.data_points
got = {}
for pt in pts:
    th = attrs(pt.attributes).get('thread.name')
    got[th] = got.get(th, 0) + pt.as_int
    assert (pt.start_time_unix_nano, pt.time_unix_nano) == (w['t0'], w['t0'] + w['dur']), pt
assert got == w['by_thread'], (got, w['by_thread'])
j = json.loads(open(t + '/pprof-json.out').read())
jr = j['resourceMetrics'][0]
assert {a['key']: a['value']['stringValue'] for a in jr['resource']['attributes']} == {'service.name': 'api'}, jr
jm = {m['name']: m for m in jr['scopeMetrics'][0]['metrics']}
assert sum(int(p['asInt']) for p in jm['cpu_time']['sum']['dataPoints']) == w['cpu_total'], jm
prom, by = 0.0, {}
for line in open(t + '/pprof-prom.out'):
    m = re.match(r'^cpu_time_seconds_total\{(.*)\} (\S+)$', line)
    if m:
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        assert labels.get('job') == 'api', labels
        by[labels['thread_name']] = by.get(labels['thread_name'], 0) + float(m.group(2))
assert {k: round(v * 1e9) for k, v in by.items()} == w['by_thread'], (by, w['by_thread'])
table = open(t + '/pprof-table.out').read()
assert 'total: %d ns' % w['cpu_total'] in table and 'service.name=api' in table, table
EOF
then pass pprof-every-format; else fail pprof-every-format "see above"; fi

# -- --stats: layout pprof, one resource, a profile per sample-type column,
# each sample counted in each column, the pprof bytes in
if run pprof-stats 0 convert --input-format pprof --stats -q -o /dev/null "$T/cpu.pprof" &&
        $PY - "$T" "$T/pprof-stats.err" <<'EOF'
import json, sys
w = json.load(open(sys.argv[1] + '/pprof-want.json'))
s = json.loads(open(sys.argv[2]).read())
want = {'layout': 'pprof', 'resources': 1, 'profiles': 2, 'samples': 2 * w['cpu_samples'],
        'bytes_in': w['cpu_bytes']}
assert {k: s[k] for k in want} == want, ({k: s[k] for k in want}, want)
EOF
then pass pprof-stats; else fail pprof-stats "$(cat "$T/pprof-stats.err")"; fi

# -- a heap profile: alloc_space is the memory metric; the other columns
# feed nothing and the note names them
if run pprof-heap 0 convert --input-format pprof --now 1 -f json "$T/heap.pprof" &&
        [ "$(cat "$T/pprof-heap.err")" = "p2m: note: 3 sample types fed no metric: alloc_objects/count (1 profile, 3 samples), inuse_objects/count (1 profile, 3 samples), inuse_space/bytes (1 profile, 3 samples); map them to a metric with metrics.extra in the configuration (docs/configuration.md)" ] &&
        $PY - "$T" <<'EOF'
import json, sys
t = sys.argv[1]
w = json.load(open(t + '/pprof-want.json'))
j = json.loads(open(t + '/pprof-heap.out').read())
ms = {m['name']: m for m in j['resourceMetrics'][0]['scopeMetrics'][0]['metrics']}
assert set(ms) == {'memory_allocation'}, sorted(ms)
assert sum(int(p['asInt']) for p in ms['memory_allocation']['sum']['dataPoints']) == w['alloc_space'], ms
EOF
then pass pprof-heap; else fail pprof-heap "$(cat "$T/pprof-heap.err")"; fi

# -- recognition: without --input-format, a pprof Profile (plain, gzip'd as
# Go writes it, zstd, on stdin) converts as with --input-format pprof
run pprof-given 0 convert --input-format pprof --now 1 -f json "$T/cpu.pprof"
for c in plain:cpu.pprof gzip:cpu.pprof.gz zstd:cpu.pprof.zst; do
    if run "pprof-detect-${c%%:*}" 0 convert --now 1 -f json "$T/${c#*:}" &&
            [ -s "$T/pprof-given.out" ] && cmp -s "$T/pprof-detect-${c%%:*}.out" "$T/pprof-given.out"; then
        pass "pprof-detect-${c%%:*}"
    else
        fail "pprof-detect-${c%%:*}" "not converted as pprof: $(head -c 200 "$T/pprof-detect-${c%%:*}.err")"
    fi
done
if "$P2M" convert --now 1 -f json - < "$T/cpu.pprof.gz" > "$T/pprof-stdin.out" 2> "$T/pprof-stdin.err" &&
        cmp -s "$T/pprof-stdin.out" "$T/pprof-given.out"; then pass pprof-detect-stdin
else fail pprof-detect-stdin "$(head -c 200 "$T/pprof-stdin.err")"; fi
if run pprof-gz-stats 0 convert --stats -q -o /dev/null "$T/cpu.pprof.gz" &&
        grep -q "\"bytes_in\":$(pw cpu_bytes),\"bytes_out\":[0-9]*,\"layout\":\"pprof\"" "$T/pprof-gz-stats.err"; then
    pass pprof-detect-gzip-stats; else fail pprof-detect-gzip-stats "$(cat "$T/pprof-gz-stats.err")"; fi
# an OTLP request is never taken for pprof
if run pprof-not-otlp 0 convert --stats -q -o /dev/null "$demo" &&
        grep -q '"layout":"v1.8"' "$T/pprof-not-otlp.err"; then pass pprof-detect-otlp-untouched
else fail pprof-detect-otlp-untouched "$(cat "$T/pprof-not-otlp.err")"; fi

# -- the wrong format asked for, and --layout
expect_exact pprof-as-otlp 1 "p2m: malformed input at byte 0: the input is a pprof Profile (its top-level fields are profile.proto's), not an OTLP request: use --input-format pprof, or no --input-format" \
    convert --input-format otlp -o /dev/null "$T/cpu.pprof"
expect_err otlp-as-pprof 1 "^p2m: malformed input at byte [0-9]+: .*; the input looks like an OTLP request: drop --input-format pprof \(pprof input\)$" \
    convert --input-format pprof -o /dev/null "$demo"
expect_exact pprof-layout 2 "p2m: --layout v1.8 applies to OTLP input, and the input is a pprof Profile (recognised by its fields): pprof has one layout; drop --layout
Try 'p2m convert --help'." convert --layout v1.8 -o /dev/null "$T/cpu.pprof.gz"
expect_exact pprof-layout-given 2 "p2m: --layout v1.10 applies to OTLP input, and the input is a pprof Profile: pprof has one layout; drop --layout
Try 'p2m convert --help'." convert --input-format pprof --layout v1.10 -o /dev/null "$T/cpu.pprof"
# layout: in a configuration (shared with OTLP inputs) and --layout auto
# leave pprof alone
if run pprof-layout-auto 0 convert --layout auto --now 1 -f json "$T/cpu.pprof" &&
        cmp -s "$T/pprof-layout-auto.out" "$T/pprof-given.out" &&
        run pprof-layout-config 0 convert -c "$C/layout-forced.yaml" --now 1 -f json "$T/cpu.pprof" &&
        cmp -s "$T/pprof-layout-config.out" "$T/pprof-given.out" && [ ! -s "$T/pprof-layout-config.err" ]; then
    pass pprof-layout-ignored; else fail pprof-layout-ignored "$(cat "$T/pprof-layout-auto.err" "$T/pprof-layout-config.err")"; fi

# -- malformed pprof: exit 1, the byte offset, nothing written
expect_err pprof-bad-wire-type 1 "^p2m: malformed input at byte $(pw bad_at): .* \(pprof input\)$" \
    convert --input-format pprof -f json "$T/bad-wt.pprof"
expect_err pprof-truncated 1 "^p2m: malformed input at byte $(pw trunc_at): .* \(pprof input\)$" \
    convert --input-format pprof -f json "$T/trunc.pprof"
$PY -c 'import gzip, sys; open(sys.argv[2], "wb").write(gzip.compress(open(sys.argv[1], "rb").read()))' \
    "$T/trunc.pprof" "$T/trunc.pprof.gz"
expect_err pprof-truncated-gzip 1 "^p2m: malformed input at byte $(pw trunc_at): .* \(pprof input; offsets in the gzip-decompressed input\)$" \
    convert --input-format pprof -f prom "$T/trunc.pprof.gz"
# an invalid reference (a sample's location id no location has) in strict
# mode: exit 1, the offset in the profile
$PY - "$T" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
from pprof_enc import Profile
p = Profile()
p.sample_type('cpu', 'nanoseconds')
p.sample([1], [10])
p.sample([99], [20])
p.function(1, 'main.f', 'main.go')
p.location(1, 0, 0x401000, [1])
data = p.to_bytes(1, 0, ('cpu', 'nanoseconds'), 1)
open(sys.argv[1] + '/badref.pprof', 'wb').write(data)
# the second sample's location_id field (its tag 0x0a), after the sample's own tag and length
print(data.index(p.body[2]) + 2, file=open(sys.argv[1] + '/badref.at', 'w'))
EOF
expect_err pprof-invalid-reference 1 "^p2m: invalid reference at byte $(cat "$T/badref.at"): .* \(pprof input\)$" \
    convert -c "$C/strict.yaml" -f json "$T/badref.pprof"
if run pprof-invalid-reference-lenient 0 convert --stats -q -f json "$T/badref.pprof" &&
        grep -q '"samples":2,"samples_kept":2,' "$T/pprof-invalid-reference-lenient.err"; then
    pass pprof-invalid-reference-unread
else
    fail pprof-invalid-reference-unread "default config (stacks unread): $(cat "$T/pprof-invalid-reference-lenient.err")"
fi
# a cut Go profile has lost its string table (written last): not recognised,
# read as OTLP, which fails; the message suggests pprof
expect_err pprof-cut-hint 1 "^p2m: malformed input at byte [0-9]+: .*; the input may be a pprof Profile cut short: try --input-format pprof \(offsets in the gzip-decompressed input\)$" \
    convert -f json "$T/heap-cut.pprof.gz"

exit $failed

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
    for flag in -c --config -f --format -o --output --input-format otlp-stream --layout \
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
        'empty_samples', 'invalid_references', 'series', 'overflow_samples', 'work_used']
missing = [k for k in keys if k not in s]
assert not missing, 'missing keys %s' % missing
assert 'messages' not in s
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
got = re.findall(r'^ +total: (\d+) ns +(\S+ \S+)$', text, re.M)
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
    assert re.search(r'  \S+ (ns|us|ms|s)$', l) or l.strip().endswith(','), l
EOF
then pass table-totals; else fail table-totals "see above"; fi

if [ -x build/p2m ] && run demo-table 0 convert -f table examples/demo.otlp; then
    if grep -q 'service.name=' "$T/demo-table.out" && grep -Eq ' (B|KiB|MiB)$' "$T/demo-table.out"; then
        pass table-units
    else
        fail table-units "no service.name header or no byte units in the demo table"
    fi
fi

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

exit $failed

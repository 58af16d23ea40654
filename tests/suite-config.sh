#!/bin/sh
# SPDX-License-Identifier: MIT
# Configuration files in the forms the Go profiletometrics connector accepts
# (rules without type, unit spellings, environment references, several
# named connectors, whole Collector files), metrics.extra, `p2m validate`'s
# effective configuration, every configuration error with its exact message
# and exit code, and the Prometheus output (base units, gauges,
# --promote-resource-attrs, the note on merged resources, no bare
# target_info). Inputs are built and outputs decoded with Google protobuf
# (tests/config_check.py), never by p2m; every -f prom output goes through
# `promtool check metrics`, which must say nothing at all.
# Scratch files in build/config.
cd "$(dirname "$0")/.." || exit 2
PY=/usr/bin/python3
P2M=${P2M:-build/p2m}
T=build/config
CHECK="$PY tests/config_check.py"
failed=0

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; failed=1; }

mkdir -p "$T"
[ -x "$P2M" ] || make -s build/p2m >/dev/null 2>&1
if [ ! -x "$P2M" ]; then
    echo "FAIL config-build: build/p2m could not be built"
    exit 1
fi
if ! $PY -c 'import google.protobuf' 2>/dev/null; then
    echo "FAIL config-deps: $PY cannot import google.protobuf (python3-protobuf)"
    exit 1
fi
if ! command -v promtool >/dev/null 2>&1; then
    echo "FAIL config-deps: promtool not found (Debian package prometheus, tools/install-deps.sh)"
    exit 1
fi
if ! "$P2M" validate -c /dev/null > /dev/null 2>&1; then
    echo "FAIL config-deps: build/p2m cannot read YAML (libyaml-dev, tools/install-deps.sh)"
    exit 1
fi
if ! $CHECK inputs "$T" > "$T/inputs.log" 2>&1; then
    echo "FAIL config-inputs: $(head -c 300 "$T/inputs.log")"
    exit 1
fi
GO=$T/go.otlp
EBPF=$T/ebpf.otlp
BARE=$T/bare.otlp

# cfg NAME: the YAML text comes on stdin
cfg() { cat > "$T/$1.yaml"; }

# run NAME EXPECTED_RC ARGS...: p2m's stdout/stderr in $T/NAME.{out,err}
run() {
    name=$1 want=$2
    shift 2
    "$P2M" "$@" > "$T/$name.out" 2> "$T/$name.err" < /dev/null
    rc=$?
    if [ "$rc" -ne "$want" ]; then
        fail "$name" "exit $rc, expected $want; stderr: $(head -c 400 "$T/$name.err")"
        return 1
    fi
    return 0
}

# expect_err NAME RC MESSAGE ARGS...: exit code RC, nothing on stdout, and
# stderr exactly the one line MESSAGE
expect_err() {
    name=$1 want=$2 msg=$3
    shift 3
    run "$name" "$want" "$@" || return
    if [ -s "$T/$name.out" ]; then
        fail "$name" "wrote $(wc -c < "$T/$name.out") bytes to stdout on failure"
    elif [ "$(cat "$T/$name.err")" != "$msg" ]; then
        fail "$name" "stderr is '$(head -c 400 "$T/$name.err")', expected '$msg'"
    else
        pass "$name"
    fi
}

# converts NAME ARGS...: p2m convert -o $T/NAME.pb, decoded into $T/NAME.dump
converts() {
    name=$1
    shift
    run "$name" 0 convert -o "$T/$name.pb" "$@" || return 1
    $CHECK dump "$T/$name.pb" > "$T/$name.dump" 2>&1 || {
        fail "$name" "cannot decode the output: $(head -c 300 "$T/$name.dump")"
        return 1
    }
}

# has NAME LINE...: each LINE is a whole line of $T/NAME.dump
has() {
    _n=$1
    shift
    for _l in "$@"; do
        if ! grep -qxF -- "$_l" "$T/$_n.dump"; then
            fail "$_n" "missing '$_l'; decoded: $(tr '\n' ';' < "$T/$_n.dump" | head -c 600)"
            return 1
        fi
    done
    pass "$_n"
}

# promcheck NAME: $T/NAME.out is Prometheus text; promtool must say nothing
PROMS=""
promcheck() {
    PROMS="$PROMS $1"
    if ! promtool check metrics < "$T/$1.out" > "$T/$1.promtool" 2>&1 || [ -s "$T/$1.promtool" ]; then
        fail "promtool-$1" "$(head -c 300 "$T/$1.promtool")"
    else
        pass "promtool-$1"
    fi
}

# prom_lines NAME LINE...: each LINE is a whole line of $T/NAME.out
prom_lines() {
    _n=$1
    shift
    for _l in "$@"; do
        if ! grep -qxF -- "$_l" "$T/$_n.out"; then
            fail "$_n-lines" "missing '$_l'"
            return 1
        fi
    done
    pass "$_n-lines"
}

SCOPE='otel_scope_name="profile2metrics",otel_scope_version="'$(sed -n 's/^#define P2M_VERSION_STRING "\(.*\)"$/\1/p' profile2metrics.h)'"'

# ---- the Go connector's own forms -------------------------------------------
# Its documented "complete configuration example", a whole Collector file:
# rules without type (literals there), unit s and bytes, filters with one
# pattern each. Kept: my-app-1/worker-1 only (1.5 s of CPU, 3072 bytes).
cfg go-complete <<'EOF'
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
      http:
        endpoint: 0.0.0.0:4318

connectors:
  profiletometrics:
    # Metrics configuration
    metrics:
      cpu:
        enabled: true
        metric_name: "cpu_time"
        description: "CPU time in seconds"
        unit: "s"
      memory:
        enabled: true
        metric_name: "memory_allocation"
        description: "Memory allocation in bytes"
        unit: "bytes"

    # Attribute extraction
    attributes:
      - key: "service.name"
        value: "my-service"
      - key: "environment"
        value: "production"

    # Filtering
    process_filter:
      enabled: true
      pattern: "my-app.*"

    thread_filter:
      enabled: true
      pattern: "worker-.*"

exporters:
  debug:
    verbosity: detailed
  otlp:
    endpoint: "http://observability-platform:4317"

service:
  pipelines:
    profiles:
      receivers: [otlp]
      exporters: [profiletometrics]
    metrics:
      receivers: [profiletometrics]
      exporters: [debug, otlp]
  telemetry:
    logs:
      level: debug
EOF
converts go-complete -c "$T/go-complete.yaml" "$GO" &&
    has go-complete 'metric cpu_time|s|sum|1|monotonic' \
        'point cpu_time|service.name=my-service,environment=production|1.5' \
        'metric memory_allocation|By|sum|1|monotonic' \
        'point memory_allocation|service.name=my-service,environment=production|3072'
if [ -f "$T/go-complete.dump" ] && [ "$(grep -c '^point' "$T/go-complete.dump")" = 2 ]; then
    pass go-complete-only-kept
else
    fail go-complete-only-kept "expected exactly 2 points: $(tr '\n' ';' < "$T/go-complete.dump" 2>/dev/null)"
fi

# Its basic configuration: a literal rule without type replaces the default
# attributes, so every sample of the resource adds up in one point per metric
cfg go-basic <<'EOF'
connectors:
  profiletometrics:
    metrics:
      cpu:
        enabled: true
        metric_name: "cpu_time"
      memory:
        enabled: true
        metric_name: "memory_allocation"
    attributes:
      - key: "service.name"
        value: "my-service"
EOF
converts go-basic -c "$T/go-basic.yaml" "$GO" &&
    has go-basic 'metric cpu_time|ns|sum|1|monotonic' 'point cpu_time|service.name=my-service|5750000000' \
        'metric memory_allocation|By|sum|1|monotonic' 'point memory_allocation|service.name=my-service|1051648'

# unit spellings: values converted (ms: doubles; nanoseconds: integers;
# kibibytes: 3072 bytes = 3 KiBy, 1 MiB = 1024 KiBy)
cfg units <<'EOF'
metrics:
  cpu: {unit: ms}
  memory: {unit: kibibytes}
attributes:
  - {key: p, type: attribute, from: process.executable.name}
EOF
converts units -c "$T/units.yaml" "$GO" &&
    has units 'metric cpu_time|ms|sum|1|monotonic' 'metric memory_allocation|KiBy|sum|1|monotonic' \
        'point cpu_time|p=my-app-1|1750.0' 'point cpu_time|p=other|4000.0' \
        'point memory_allocation|p=my-app-1|3.0' 'point memory_allocation|p=other|1024.0'
cfg units-ns <<'EOF'
metrics:
  cpu: {unit: nanoseconds}
  memory: {unit: bytes}
attributes: [{key: p, type: attribute, from: process.executable.name}]
EOF
converts units-ns -c "$T/units-ns.yaml" "$GO" &&
    has units-ns 'metric cpu_time|ns|sum|1|monotonic' 'metric memory_allocation|By|sum|1|monotonic' \
        'point cpu_time|p=my-app-1|1750000000' 'point memory_allocation|p=other|1048576'

# string_table with the index as value (the Go connector's form)
cfg string-table-value <<'EOF'
attributes:
  - {key: first, type: string_table, value: "1"}
metrics: {memory: {enabled: false}}
EOF
first=$($CHECK string "$GO" 1)
converts string-table-value -c "$T/string-table-value.yaml" "$GO" &&
    has string-table-value "point cpu_time|first=$first|5750000000"

# ---- environment references -------------------------------------------------
cfg env <<'EOF'
connectors:
  profiletometrics:
    process_filter: {enabled: true, pattern: "${env:P2M_T_PROC}"}
    thread_filter: {enabled: "${P2M_T_THREADS_ON}", pattern: "${env:P2M_T_UNSET_X:-^worker-}"}
    metrics:
      memory: {enabled: false}
      cpu: {metric_name: "${env:P2M_T_UNSET_Y:-cpu}_$${HOME}"}
    attributes:
      - key: price
        value: "$$5 ${P2M_T_CURRENCY} $$$$"
      - key: "${env:P2M_T_KEY}"
        value: "$x$"
EOF
P2M_T_PROC='^other$' P2M_T_THREADS_ON=true P2M_T_CURRENCY=EUR P2M_T_KEY='$key' \
    converts env -c "$T/env.yaml" "$GO" &&
    has env 'metric cpu_${HOME}|ns|sum|1|monotonic' \
        'point cpu_${HOME}|price=$5 EUR $$,$key=$x$|4000000000'
P2M_T_PROC='^my-app' P2M_T_THREADS_ON=false P2M_T_CURRENCY= P2M_T_KEY=k \
    converts env-other -c "$T/env.yaml" "$GO" &&
    has env-other 'point cpu_${HOME}|price=$5  $$,k=$x$|1750000000'

cfg env-unset <<'EOF'
metrics:
  cpu: {enabled: true}
process_filter:
  enabled: true
  pattern: ${env:P2M_T_PROC_PATTERN}
EOF
expect_err env-unset 2 'p2m: config: process_filter.pattern: environment variable P2M_T_PROC_PATTERN is not set (set it, or give a default: ${env:P2M_T_PROC_PATTERN:-VALUE}) (line 5)' \
    convert -o "$T/x.pb" -c "$T/env-unset.yaml" "$GO"
expect_err env-unset-validate 2 'p2m: config: process_filter.pattern: environment variable P2M_T_PROC_PATTERN is not set (set it, or give a default: ${env:P2M_T_PROC_PATTERN:-VALUE}) (line 5)' \
    validate -c "$T/env-unset.yaml"
printf 'attributes:\n  - {key: a, value: "${file:/etc/hostname}"}\n' > "$T/env-scheme.yaml"
expect_err env-scheme 2 "p2m: config: attributes[0].value: '\${file:/etc/hostname}': only environment references (\${env:NAME}) are supported (line 2)" \
    validate "$T/env-scheme.yaml"
printf 'attributes:\n  - {key: a, value: "${env:1X}"}\n' > "$T/env-name.yaml"
expect_err env-name 2 "p2m: config: attributes[0].value: '\${env:1X}': '1X' is not an environment variable name (line 2)" \
    validate "$T/env-name.yaml"
printf 'attributes:\n  - {key: a, value: "${env:X"}\n' > "$T/env-open.yaml"
expect_err env-unterminated 2 "p2m: config: attributes[0].value: '\${' without a closing '}' (write \$\$ for a literal \$) (line 2)" \
    validate "$T/env-open.yaml"
# a reference elsewhere in a Collector file is not the tool's business
cfg env-elsewhere <<'EOF'
exporters:
  otlp: {endpoint: "${env:P2M_T_NOT_SET_ANYWHERE}"}
connectors:
  profiletometrics: {}
EOF
if run env-elsewhere 0 validate -c "$T/env-elsewhere.yaml" && tail -n 1 "$T/env-elsewhere.out" | grep -qx ok; then
    pass env-elsewhere
fi

# ---- several connectors -------------------------------------------------------
cfg two <<'EOF'
receivers: {otlp: {protocols: {grpc: {}}}}
connectors:
  profiletometrics/cpu:
    metrics: {memory: {enabled: false}, cpu: {metric_name: cpu_only}}
    attributes: [{key: team, value: a}]
  profiletometrics/mem:
    metrics: {cpu: {enabled: false}, memory: {metric_name: mem_only, unit: MiBy}}
    attributes: []
  spanmetrics: {}
exporters: {debug: {}}
service:
  pipelines:
    profiles: {receivers: [otlp], exporters: [profiletometrics/cpu, profiletometrics/mem]}
    metrics: {receivers: [profiletometrics/cpu, profiletometrics/mem], exporters: [debug]}
EOF
converts two-cpu -c "$T/two.yaml" --connector cpu "$GO" &&
    has two-cpu 'metric cpu_only|ns|sum|1|monotonic' 'point cpu_only|team=a|5750000000'
converts two-mem -c "$T/two.yaml" --connector profiletometrics/mem "$GO" &&
    has two-mem 'metric mem_only|MiBy|sum|1|monotonic' 'point mem_only||1.0029296875'
expect_err two-no-name 2 'p2m: config: connectors: 2 profiletometrics connectors (profiletometrics/cpu, profiletometrics/mem); choose one with --connector NAME (line 3)' \
    convert -o "$T/x.pb" -c "$T/two.yaml" "$GO"
expect_err two-wrong-name 2 'p2m: config: connectors: no connector profiletometrics/memory (there is: profiletometrics/cpu, profiletometrics/mem) (line 3)' \
    validate --connector memory -c "$T/two.yaml"
cfg plain <<'EOF'
max_series: 10
EOF
expect_err connector-not-collector 2 "p2m: config: --connector cpu: $T/plain.yaml is not a Collector configuration (it has no connectors section)" \
    validate --connector cpu "$T/plain.yaml"
expect_err connector-no-config 2 'p2m: config: --connector cpu needs a configuration file (-c FILE)' \
    convert --connector cpu -o "$T/x.pb" "$GO"

# ---- compile errors carry the full key path and the line --------------------
cfg bad-regex <<'EOF'
connectors:
  profiletometrics:
    metrics:
      cpu: {enabled: true}
    process_filter:
      enabled: true
      pattern: "my-app(.*"
EOF
expect_err compile-regex-line 2 'p2m: config: connectors.profiletometrics.process_filter.pattern: position 9: missing ) (line 7)' \
    validate -c "$T/bad-regex.yaml"
cfg bad-regex-list <<'EOF'
thread_filter:
  enabled: true
  patterns:
    - ok
    - "[z-a]"
EOF
expect_err compile-regex-list 2 'p2m: config: thread_filter.patterns[1]: position 1: invalid character class range (line 5)' \
    validate -c "$T/bad-regex-list.yaml"
cfg none-enabled <<'EOF'
connectors:
  profiletometrics/x:
    metrics:
      cpu:
        enabled: false
      memory: {enabled: false}
EOF
expect_err compile-no-metric 2 'p2m: config: connectors.profiletometrics/x.metrics.cpu.enabled: at least one of metrics.cpu and metrics.memory must be enabled (line 5)' \
    convert -o "$T/x.pb" -c "$T/none-enabled.yaml" "$GO"
cfg bad-unit <<'EOF'
metrics:
  memory:
    unit: megabytes
EOF
expect_err compile-bad-unit 2 'p2m: config: metrics.memory.unit: must be one of By, KiBy, MiBy (or bytes, kibibytes, mebibytes) (line 3)' \
    validate -c "$T/bad-unit.yaml"
printf 'connectors:\n  profiletometrics:\n    metrics:\n      cpu: {unit: minutes}\n' > "$T/bad-cpu-unit.yaml"
run compile-bad-cpu-unit 2 validate -c "$T/bad-cpu-unit.yaml" &&
    if [ "$(cat "$T/compile-bad-cpu-unit.err")" = 'p2m: config: connectors.profiletometrics.metrics.cpu.unit: must be one of ns, us, ms, s (or nanoseconds, microseconds, milliseconds, seconds) (line 4)' ]; then
        pass compile-bad-cpu-unit
    else
        fail compile-bad-cpu-unit "$(cat "$T/compile-bad-cpu-unit.err")"
    fi

# ---- loader errors of the new keys -------------------------------------------
cfg rule-no-value <<'EOF'
attributes:
  - key: team
EOF
expect_err rule-without-type-no-value 2 'p2m: config: attributes[0].value: missing (a rule without type is a literal, which needs value) (line 2)' \
    validate "$T/rule-no-value.yaml"
cfg rule-no-type-from <<'EOF'
attributes:
  - {key: team, value: a, from: b}
EOF
expect_err rule-without-type-from 2 'p2m: config: attributes[0].from: not used by a literal (a rule without type is a literal; give type) (line 2)' \
    validate "$T/rule-no-type-from.yaml"
cfg st-bad <<'EOF'
attributes:
  - {key: s, type: string_table, value: first}
EOF
expect_err string-table-value-word 2 "p2m: config: attributes[0].value: a string_table rule takes the index into the string table (0 to 4294967295), not 'first' (line 2)" \
    validate "$T/st-bad.yaml"
cfg st-both <<'EOF'
attributes:
  - {key: s, type: string_table, value: "1", index: 2}
EOF
expect_err string-table-value-and-index 2 'p2m: config: attributes[0].value: give index or value (the index, as the Go connector reads it), not both (line 2)' \
    validate "$T/st-both.yaml"
# ---- frame rules, the stack filter, stack_pattern: loader and compile errors ----
cfg frame-bad-from <<'EOF'
attributes:
  - {key: frame.type, type: frame, from: runtime}
EOF
expect_err frame-bad-from 2 "p2m: config: attributes[0].from: 'runtime' is not one of type, kind, library, function or syscall (line 2)" \
    validate "$T/frame-bad-from.yaml"
cfg frame-no-from <<'EOF'
attributes:
  - key: frame.type
    type: frame
EOF
expect_err frame-missing-from 2 'p2m: config: attributes[0].from: missing (type frame needs it) (line 2)' \
    validate "$T/frame-no-from.yaml"
cfg frame-value <<'EOF'
attributes:
  - {key: frame.type, type: frame, from: type, value: go}
EOF
expect_err frame-stray-value 2 'p2m: config: attributes[0].value: not used by type frame (line 2)' \
    validate "$T/frame-value.yaml"
cfg frame-bad-from-collector <<'EOF'
connectors:
  profiletometrics:
    attributes:
      - key: k
        type: frame
        from: Kind
EOF
expect_err frame-bad-from-collector 2 "p2m: config: connectors.profiletometrics.attributes[0].from: 'Kind' is not one of type, kind, library, function or syscall (line 6)" \
    validate "$T/frame-bad-from-collector.yaml"
cfg stack-filter-keys <<'EOF'
stack_filter:
  enabled: true
  pattern: "^runtime\\."
  keys: [thread.name]
EOF
expect_err stack-filter-keys 2 'p2m: config: stack_filter.keys: not used by the stack filter (it matches the function names on the stack; remove the key) (line 4)' \
    validate "$T/stack-filter-keys.yaml"
cfg stack-filter-typo <<'EOF'
stack_filter: {enabled: true, patern: "^main"}
EOF
expect_err stack-filter-unknown-key 2 'p2m: config: stack_filter.patern: unknown key (did you mean pattern?) (line 1)' \
    validate "$T/stack-filter-typo.yaml"
cfg stack-filter-no-pattern <<'EOF'
stack_filter:
  enabled: true
EOF
expect_err stack-filter-no-pattern 2 'p2m: config: stack_filter.pattern: an enabled filter needs pattern or patterns (line 2)' \
    validate "$T/stack-filter-no-pattern.yaml"
cfg stack-filter-bad-regex <<'EOF'
connectors:
  profiletometrics:
    stack_filter:
      enabled: true
      patterns: ["^main", "(x"]
EOF
expect_err stack-filter-bad-regex 2 'p2m: config: connectors.profiletometrics.stack_filter.patterns[1]: position 2: missing ) (line 5)' \
    validate "$T/stack-filter-bad-regex.yaml"
cfg stack-pattern-empty <<'EOF'
metrics:
  extra:
    - metric_name: gc_cpu_time
      sample_types: ["cpu/nanoseconds"]
      stack_pattern: ""
EOF
expect_err stack-pattern-empty 2 'p2m: config: metrics.extra[0].stack_pattern: must not be empty (leave it out to take every sample) (line 5)' \
    validate "$T/stack-pattern-empty.yaml"
cfg stack-pattern-list <<'EOF'
metrics:
  extra:
    - {metric_name: gc_cpu_time, sample_types: ["cpu/nanoseconds"], stack_pattern: ["^runtime"]}
EOF
expect_err stack-pattern-list 2 'p2m: config: metrics.extra[0].stack_pattern: expected a single value, found a list (line 3)' \
    validate "$T/stack-pattern-list.yaml"
cfg extra-typo <<'EOF'
metrics:
  extra:
    - {metric_name: off_cpu_time, sample_type: ["off_cpu/nanoseconds"]}
EOF
expect_err extra-unknown-key 2 'p2m: config: metrics.extra[0].sample_type: unknown key (did you mean sample_types?) (line 3)' \
    validate "$T/extra-typo.yaml"
cfg extra-no-types <<'EOF'
metrics:
  extra:
    - {metric_name: off_cpu_time}
EOF
expect_err extra-no-sample-types 2 'p2m: config: metrics.extra[0].sample_types: missing (a list of "type/unit" sample types, e.g. ["off_cpu/nanoseconds"]) (line 3)' \
    validate "$T/extra-no-types.yaml"
cfg extra-empty-types <<'EOF'
metrics:
  extra:
    - {metric_name: off_cpu_time, sample_types: []}
EOF
expect_err extra-empty-sample-types 2 'p2m: config: metrics.extra[0].sample_types: empty (give at least one "type/unit" sample type) (line 3)' \
    validate "$T/extra-empty-types.yaml"
cfg extra-no-name <<'EOF'
metrics:
  extra:
    - {unit: ns, sample_types: [off_cpu/nanoseconds]}
EOF
expect_err extra-no-name 2 'p2m: config: metrics.extra[0].metric_name: missing (the name of the declared metric) (line 3)' \
    validate "$T/extra-no-name.yaml"
{
    echo 'metrics:'
    echo '  extra:'
    for i in 1 2 3 4 5 6 7 8 9; do echo "    - {metric_name: m$i, sample_types: [t$i/count]}"; done
} > "$T/extra-many.yaml"
expect_err extra-too-many 2 'p2m: config: metrics.extra: 9 declared metrics; this build holds at most 8 (P2M_MAX_EXTRA) (line 3)' \
    validate "$T/extra-many.yaml"

# errors the library finds in declared metrics, with their lines
cfg extra-bad-type <<'EOF'
metrics:
  extra:
    - metric_name: off_cpu_time
      sample_types:
        - "off_cpu"
EOF
expect_err extra-sample-type-form 2 'p2m: config: metrics.extra[0].sample_types: each entry must be written type/unit, as off_cpu/nanoseconds (line 5)' \
    validate "$T/extra-bad-type.yaml"
cfg extra-mixed <<'EOF'
connectors:
  profiletometrics/x:
    metrics:
      extra:
        - {metric_name: heap, sample_types: [inuse_space/bytes, alloc_space/bytes]}
EOF
expect_err extra-mixed-kinds 2 'p2m: config: connectors.profiletometrics/x.metrics.extra[0].sample_types: mixes snapshot (inuse_*) and accrued sample types; declare two metrics (line 5)' \
    validate "$T/extra-mixed.yaml"

# ---- declared metrics ----------------------------------------------------------
# off_cpu 2 ms + 7 ms in ms (doubles), inuse_space a Gauge in By
cfg extra <<'EOF'
metrics:
  memory: {enabled: false}
  extra:
    - {metric_name: off_cpu_time, unit: ms, sample_types: ["off_cpu/nanoseconds"],
       description: "Off-CPU time"}
    - {metric_name: heap_in_use, unit: By, sample_types: ["inuse_space/bytes"],
       description: "Heap in use"}
attributes:
  - {key: p, type: attribute, from: process.executable.name}
EOF
converts extra -c "$T/extra.yaml" "$GO" &&
    has extra 'metric off_cpu_time|ms|sum|1|monotonic' 'point off_cpu_time|p=my-app-1|2.0' \
        'point off_cpu_time|p=other|7.0' 'metric heap_in_use|By|gauge|0|-' \
        'point heap_in_use|p=my-app-1|8192' 'point cpu_time|p=other|4000000000'

# ---- validate: the effective configuration --------------------------------------
cfg show <<'EOF'
connectors:
  profiletometrics/shop:
    metrics:
      cpu: {unit: seconds}
      memory: {metric_name: alloc, unit: bytes}
      extra:
        - {metric_name: off_cpu_time, sample_types: ["off_cpu/nanoseconds"]}
        - {metric_name: heap_in_use, sample_types: ["inuse_space/bytes"]}
    attributes:
      - {key: service.name, value: checkout}
      - {key: pod, type: regex, source: k8s.pod.name, value: "^(.*)-[a-z0-9]+$"}
      - {key: service.name, type: attribute, from: svc}
    thread_filter: {enabled: true, patterns: ["worker-.*", "main"]}
    temporality: cumulative
    max_series: 50
EOF
cat > "$T/show.want" <<EOF
configuration: $T/show.yaml
connector: profiletometrics/shop
metrics:
  cpu       cpu_time                 Sum    s (written seconds)
  memory    alloc                    Sum    By (written bytes)
  function  off
  declared  off_cpu_time             Sum    ns, from off_cpu/nanoseconds
  declared  heap_in_use              Gauge  By, from inuse_space/bytes
data point attributes, in order:
  1. service.name             literal "checkout"
  2. pod                      regex "^(.*)-[a-z0-9]+\$" on k8s.pod.name
     service.name             attribute from svc (fallback for the same key)
  (this list replaces the default rules process.executable.name and thread.name)
filters:
  process_filter  off
  thread_filter   on: "worker-.*", "main" against thread.name
  pattern_filter  off
  stack_filter    off
temporality: cumulative
limits: max_series 50 per metric per resource; state_max_series 8192, state_bytes 1048576
layout: auto
strict: false
ok
EOF
if run validate-show 0 validate -c "$T/show.yaml" && diff "$T/show.want" "$T/validate-show.out" > "$T/show.diff"; then
    pass validate-effective
else
    fail validate-effective "$(head -c 600 "$T/show.diff")"
fi
# defaults: the process and thread keys; the same with an attributes list
# that does not name them shows them gone
printf 'max_series: 7\n' > "$T/defaults.yaml"
if run validate-defaults 0 validate "$T/defaults.yaml" &&
        grep -qxF '  1. process.executable.name  (default rule: attribute process.executable.name)' "$T/validate-defaults.out" &&
        grep -qxF '  2. thread.name              (default rule: attribute thread.name)' "$T/validate-defaults.out" &&
        grep -qxF 'limits: max_series 7 per metric per resource' "$T/validate-defaults.out"; then
    pass validate-defaults
else
    fail validate-defaults "$(cat "$T/validate-defaults.out")"
fi
if run validate-go 0 validate -c "$T/go-complete.yaml" &&
        ! grep -q 'process.executable.name  \|thread.name  ' "$T/validate-go.out" &&
        grep -qxF '  1. service.name             literal "my-service"' "$T/validate-go.out" &&
        grep -qxF '  2. environment              literal "production"' "$T/validate-go.out"; then
    pass validate-attributes-replace-defaults
else
    fail validate-attributes-replace-defaults "$(cat "$T/validate-go.out")"
fi

# frame rules of every `from`, the stack filter and a declared metric's
# stack_pattern: the effective configuration, in a Collector file
cfg frames <<'EOF'
connectors:
  profiletometrics:
    metrics:
      extra:
        - metric_name: gc_cpu_time
          sample_types: ["cpu/nanoseconds"]
          stack_pattern: "^runtime\\.gc"
    attributes:
      - {key: frame.type, type: frame, from: type}
      - {key: frame.kind, type: frame, from: kind, default: user}
      - {key: frame.library, type: frame, from: library}
      - {key: frame.function, type: frame, from: function}
      - {key: frame.syscall, type: frame, from: syscall, default: none}
      - {key: thread.name, type: attribute, from: thread.name}
    stack_filter:
      enabled: true
      pattern: "^main\\."
      patterns: ["^runtime\\.", "^__x64_sys_"]
EOF
cat > "$T/frames.want" <<EOF
configuration: $T/frames.yaml
connector: profiletometrics
metrics:
  cpu       cpu_time                 Sum    ns
  memory    memory_allocation        Sum    By
  function  off
  declared  gc_cpu_time              Sum    ns, from cpu/nanoseconds
            only samples with a function matching "^runtime\\.gc" on their stack
data point attributes, in order:
  1. frame.type               frame type (of the leaf frame)
  2. frame.kind               frame kind (kernel or user), default "user"
  3. frame.library            frame library (native leaf's mapping file)
  4. frame.function           frame function (the leaf function)
  5. frame.syscall            frame syscall (of a kernel stack), default "none"
  6. thread.name              attribute from thread.name
  (this list replaces the default rules process.executable.name and thread.name)
filters:
  process_filter  off
  thread_filter   off
  pattern_filter  off
  stack_filter    on: "^main\\.", "^runtime\\.", "^__x64_sys_" against the function names on the stack
temporality: delta
limits: max_series 2000 per metric per resource
layout: auto
strict: false
ok
EOF
if run validate-frames 0 validate -c "$T/frames.yaml" && diff "$T/frames.want" "$T/validate-frames.out" > "$T/frames.diff"; then
    pass validate-frames
else
    fail validate-frames "$(head -c 600 "$T/frames.diff")"
fi
# the same keys at the top level of a p2m file; a disabled stack filter
# keeps its patterns but shows off
cfg frames-plain <<'EOF'
attributes:
  - {key: kind, type: frame, from: kind}
stack_filter: {enabled: false, patterns: ["^main"]}
metrics:
  extra:
    - {metric_name: gc_cpu_time, sample_types: ["cpu/nanoseconds"], stack_pattern: "gc"}
    - {metric_name: all_cpu_time, sample_types: ["cpu/nanoseconds"]}
EOF
if run validate-frames-plain 0 validate "$T/frames-plain.yaml" &&
        grep -qxF '  1. kind                     frame kind (kernel or user)' "$T/validate-frames-plain.out" &&
        grep -qxF '  stack_filter    off' "$T/validate-frames-plain.out" &&
        [ "$(grep -c '^            only samples with a function matching' "$T/validate-frames-plain.out")" = 1 ] &&
        grep -qxF '            only samples with a function matching "gc" on their stack' "$T/validate-frames-plain.out" &&
        grep -A1 -F 'declared  gc_cpu_time' "$T/validate-frames-plain.out" | grep -q 'matching "gc"'; then
    pass validate-frames-plain
else
    fail validate-frames-plain "$(cat "$T/validate-frames-plain.out" "$T/validate-frames-plain.err")"
fi

# ---- Prometheus ----------------------------------------------------------------
# base units whatever the configured unit: seconds from s (Go config), ms,
# ns; bytes from By and KiBy
for c in go-complete units units-ns; do
    run "prom-$c" 0 convert -f prom -c "$T/$c.yaml" "$GO" && promcheck "prom-$c"
done
prom_lines prom-go-complete \
    '# TYPE cpu_time_seconds_total counter' \
    "cpu_time_seconds_total{environment=\"production\",job=\"shop\",$SCOPE,service_name=\"my-service\"} 1.5" \
    "memory_allocation_bytes_total{environment=\"production\",job=\"shop\",$SCOPE,service_name=\"my-service\"} 3072"
prom_lines prom-units \
    "cpu_time_seconds_total{job=\"shop\",$SCOPE,p=\"my-app-1\"} 1.75" \
    "cpu_time_seconds_total{job=\"shop\",$SCOPE,p=\"other\"} 4" \
    "memory_allocation_bytes_total{job=\"shop\",$SCOPE,p=\"my-app-1\"} 3072" \
    "memory_allocation_bytes_total{job=\"shop\",$SCOPE,p=\"other\"} 1048576"
prom_lines prom-units-ns \
    "cpu_time_seconds_total{job=\"shop\",$SCOPE,p=\"my-app-1\"} 1.75" \
    "memory_allocation_bytes_total{job=\"shop\",$SCOPE,p=\"other\"} 1048576"
# declared metrics: a counter in seconds, a gauge in bytes without _total
run prom-extra 0 convert -f prom -c "$T/extra.yaml" "$GO" && promcheck prom-extra
prom_lines prom-extra '# TYPE off_cpu_time_seconds_total counter' \
    "off_cpu_time_seconds_total{job=\"shop\",$SCOPE,p=\"other\"} 0.007" \
    '# TYPE heap_in_use_bytes gauge' '# HELP heap_in_use_bytes Heap in use' \
    "heap_in_use_bytes{job=\"shop\",$SCOPE,p=\"my-app-1\"} 8192"

# eBPF resources (no service.name, different container.id): one summed line
# (2 + 3 samples x 50 ms) and a note; promoted, two lines and no note
run prom-ebpf 0 convert -f prom "$EBPF" && promcheck prom-ebpf
prom_lines prom-ebpf "cpu_time_seconds_total{$SCOPE,process_executable_name=\"node\",thread_name=\"node\"} 0.25"
if [ "$(cat "$T/prom-ebpf.err")" = 'p2m: note: 2 resources had series with the same name and labels; each such series is one line, their sum (--promote-resource-attrs all, or a list of the keys that tell the resources apart, keeps them apart)' ]; then
    pass prom-merge-note
else
    fail prom-merge-note "stderr: $(cat "$T/prom-ebpf.err")"
fi
run prom-ebpf-all 0 convert -f prom --promote-resource-attrs all "$EBPF" && promcheck prom-ebpf-all
prom_lines prom-ebpf-all \
    "cpu_time_seconds_total{container_id=\"c1\",$SCOPE,process_executable_name=\"node\",process_pid=\"11\",thread_name=\"node\"} 0.1" \
    "cpu_time_seconds_total{container_id=\"c2\",$SCOPE,process_executable_name=\"node\",process_pid=\"12\",thread_name=\"node\"} 0.15" \
    'target_info{container_id="c1",process_pid="11"} 1'
if [ -s "$T/prom-ebpf-all.err" ]; then fail prom-promoted-no-note "$(cat "$T/prom-ebpf-all.err")"; else pass prom-promoted-no-note; fi
run prom-ebpf-list 0 convert -f prom --promote-resource-attrs=container.id,no.such.key "$EBPF" && promcheck prom-ebpf-list
prom_lines prom-ebpf-list \
    "cpu_time_seconds_total{container_id=\"c2\",$SCOPE,process_executable_name=\"node\",thread_name=\"node\"} 0.15"
if [ -s "$T/prom-ebpf-list.err" ]; then fail prom-list-no-note "$(cat "$T/prom-ebpf-list.err")"; else pass prom-list-no-note; fi
# a promoted resource attribute replaces a point attribute of the same key
run prom-ebpf-replace 0 convert -f prom --promote-resource-attrs process.pid,thread.name \
    --resource-attr thread.name=from-resource "$EBPF" && promcheck prom-ebpf-replace
prom_lines prom-ebpf-replace \
    "cpu_time_seconds_total{$SCOPE,process_executable_name=\"node\",process_pid=\"12\",thread_name=\"from-resource\"} 0.15"
# one resource in two messages of a stream: summed, and no note
run prom-stream 0 convert -f prom --input-format otlp-stream -c "$T/units.yaml" "$T/go2.stream" &&
    promcheck prom-stream
prom_lines prom-stream "cpu_time_seconds_total{job=\"shop\",$SCOPE,p=\"other\"} 8"
if grep -q "resources had series" "$T/prom-stream.err"; then fail prom-stream-no-note "$(cat "$T/prom-stream.err")"; else pass prom-stream-no-note; fi
# resources without attributes (or only empty ones): no bare target_info
run prom-bare 0 convert -f prom "$BARE" && promcheck prom-bare
if grep -q '^target_info' "$T/prom-bare.out"; then
    fail prom-no-bare-target-info "$(grep '^target_info' "$T/prom-bare.out")"
else
    pass prom-no-bare-target-info
fi
prom_lines prom-bare "cpu_time_seconds_total{$SCOPE,process_executable_name=\"b\",thread_name=\"b\"} 6e-09"
expect_err promote-not-prom 2 "p2m: --promote-resource-attrs applies to -f prom only
Try 'p2m convert --help'." convert --promote-resource-attrs all -o "$T/x.pb" "$EBPF"
expect_err promote-empty-key 2 "p2m: --promote-resource-attrs takes 'all' or a comma-separated list of resource attribute keys, not 'a,,b'
Try 'p2m convert --help'." convert -f prom --promote-resource-attrs a,,b "$EBPF"

# every Prometheus output of this suite went through promtool above
[ -n "$PROMS" ] || fail promtool-all "no Prometheus output was checked"

exit $failed

#!/bin/sh
# SPDX-License-Identifier: MIT
# make bench-serve (part of make bench): p2m serve under h2load on loopback,
# with the real k8s capture's requests (tests/data/real/sig-profiling-k8s.otlp
# holds two: 42.6 KB and 73.1 KB). For HTTP/1.1 and gRPC:
#   - 32 connections, BENCH_SERVE_N requests: rate, p50, p99 (h2load's
#     per-request log), peak RSS;
#   - 1 connection: mean latency seen by the client, and the mean
#     conversion time the server measured (p2m_serve_conversion_seconds),
#     whose difference is the per-request overhead outside the conversion.
# Figures to stdout and build/bench-serve.txt; docs/performance.md keeps a run.
# Not a test: nothing here passes or fails on speed.
cd "$(dirname "$0")/.." || exit 2
P2M=${P2M:-build/p2m}
N=${BENCH_SERVE_N:-20000}
B=build/bench-serve
PY=/usr/bin/python3
rm -rf "$B"
mkdir -p "$B"
for tool in h2load curl; do
    command -v $tool >/dev/null 2>&1 || { echo "bench-serve: $tool not found (tools/install-deps.sh)"; exit 2; }
done
$PY - "$B" <<'EOF'
import struct, sys
b = sys.argv[1]
s = open("tests/data/real/sig-profiling-k8s.otlp", "rb").read()
i = k = 0
while i < len(s):
    n = struct.unpack(">I", s[i:i + 4])[0]
    d = s[i + 4:i + 4 + n]
    open("%s/k8s-%d.pb" % (b, k), "wb").write(d)
    open("%s/k8s-%d.grpc" % (b, k), "wb").write(b"\0" + struct.pack(">I", len(d)) + d)
    i += 4 + n
    k += 1
EOF
printf 'layout: v1.8\n' > "$B/p2m.yaml"
"$P2M" serve -c "$B/p2m.yaml" --http 127.0.0.1:0 --grpc 127.0.0.1:0 2> "$B/serve.log" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null' EXIT
i=0
while ! grep -q '"event":"ready"' "$B/serve.log" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
HTTP=$(sed -n 's/.*"protocol":"http","address":"\([^"]*\)".*/\1/p' "$B/serve.log")
GRPC=$(sed -n 's/.*"protocol":"grpc","address":"\([^"]*\)".*/\1/p' "$B/serve.log")
[ -n "$HTTP" ] && [ -n "$GRPC" ] || { echo "bench-serve: p2m serve did not start"; tail -n 3 "$B/serve.log"; exit 2; }
PATH_GRPC=/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export

conv() { # mean conversion seconds and count from /metrics
    curl -s "http://$HTTP/metrics" | awk '/^p2m_serve_conversion_seconds_sum/ {s=$2} /^p2m_serve_conversion_seconds_count/ {c=$2} END {print s, c}'
}
# run PROTO BODY CONNS COUNT LOG
run() {
    if [ "$1" = http ]; then
        timeout 600 h2load --h1 -n "$4" -c "$3" -d "$B/$2.pb" -H 'Content-Type: application/x-protobuf' \
            --log-file="$5" "http://$HTTP/v1development/profiles"
    else
        timeout 600 h2load -n "$4" -c "$3" -d "$B/$2.grpc" -H 'content-type: application/grpc' \
            -H 'te: trailers' --log-file="$5" "http://$GRPC$PATH_GRPC"
    fi
}
: > "$B/results.txt"
for body in k8s-1 k8s-0; do
    size=$(wc -c < "$B/$body.pb")
    for proto in http grpc; do
        run $proto $body 32 500 /dev/null > /dev/null 2>&1      # warm up
        run $proto $body 32 "$N" "$B/$proto-$body-32.log" > "$B/$proto-$body-32.out" 2>&1
        rate=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' "$B/$proto-$body-32.out")
        ok=$(sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p' "$B/$proto-$body-32.out")
        pct=$(awk -F'\t' '$2 == 200 {print $3}' "$B/$proto-$body-32.log" | sort -n |
              awk '{a[NR] = $1} END {printf "%.2f %.2f", a[int(NR * 0.50)] / 1000, a[int(NR * 0.99)] / 1000}')
        set -- $(conv)
        s0=$1 c0=$2
        run $proto $body 1 2000 "$B/$proto-$body-1.log" > "$B/$proto-$body-1.out" 2>&1
        set -- $(conv)
        s1=$1 c1=$2
        one=$(awk -F'\t' '$2 == 200 {s += $3; n++} END {printf "%.1f", s / n}' "$B/$proto-$body-1.log")
        cv=$(awk -v a="$s0" -v b="$s1" -v x="$c0" -v y="$c1" 'BEGIN {printf "%.1f", (b - a) / (y - x) * 1e6}')
        line="$proto $body ($size B): 32 connections: $rate req/s ($ok of $N answered 2xx), p50 ${pct% *} ms, p99 ${pct#* } ms; 1 connection: ${one} us per request, ${cv} us converting, $(awk -v a="$one" -v b="$cv" 'BEGIN {printf "%.1f", a - b}') us outside the conversion"
        echo "$line" | tee -a "$B/results.txt"
    done
done
echo "peak RSS of p2m serve: $(awk '/VmHWM/ {print $2, $3}' /proc/$PID/status)" | tee -a "$B/results.txt"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$B/results.txt"
cp "$B/results.txt" build/bench-serve.txt

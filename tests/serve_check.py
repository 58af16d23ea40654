#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Helpers of tests/suite-serve.sh, each an independent path: Google protobuf
decodes requests and responses (with message definitions written here from
the OTLP and google.rpc protos), Python's own gzip, json and sockets make
the inputs and the hostile clients, and a Prometheus text parser written here
reads /metrics. Nothing here uses p2m's code.

    serve_check.py inputs DIR                 request bodies for the suite
    serve_check.py prom-equal GOT WANT        same series and values (p2m_serve_* aside)
    serve_check.py prom-value FILE NAME [L=V...]  one sample's value
    serve_check.py status FILE json|pb CODE SUBSTRING   a google.rpc.Status body
    serve_check.py response FILE json|pb REJECTED SUBSTRING|-  ExportProfilesServiceResponse
    serve_check.py abort HOST PORT            sends half a body, then closes
    serve_check.py slow HOST PORT SECONDS     sends a byte a second; prints when cut off
    serve_check.py sink PORTFILE OUTDIR PLAN  an OTLP/HTTP metrics sink (see sink())
    serve_check.py sink-equal OUTDIR WANT.pb  metrics the sink got == WANT (sum of deltas)
"""

import gzip
import json
import os
import re
import socket
import struct
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
REAL = os.path.join(ROOT, "tests", "data", "real")

RESPONSES_PROTO = """
syntax = "proto3";
package p2mtest;
message Any { string type_url = 1; bytes value = 2; }
// google.rpc.Status
message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
// opentelemetry.proto.collector.profiles.v1development
message ExportProfilesPartialSuccess { int64 rejected_profiles = 1; string error_message = 2; }
message ExportProfilesServiceResponse { ExportProfilesPartialSuccess partial_success = 1; }
"""


def responses_module():
    py = os.environ.get("PYTHONPATH", "").split(":")[0] or "/tmp"
    path = os.path.join(py, "p2mtest_responses.proto")
    if not os.path.exists(os.path.join(py, "p2mtest_responses_pb2.py")):
        with open(path, "w") as f:
            f.write(RESPONSES_PROTO)
        subprocess.check_call(["protoc", "-I" + py, "--python_out=" + py, path])
    sys.path.insert(0, py)
    import p2mtest_responses_pb2 as R
    return R


def frames(data):
    out, i = [], 0
    while i < len(data):
        n = struct.unpack(">I", data[i:i + 4])[0]
        out.append(data[i + 4:i + 4 + n])
        i += 4 + n
    return out


def cmd_inputs(d):
    """profile.pb, k8s-0.pb, k8s-1.pb (the two frames of the k8s capture),
    k8s-0.json (json_format of v1.8), k8s-1.pb.gz, profile.pb.gz, a gzip
    bomb, bad-refs.pb (two samples with invalid attribute references),
    expected streams for p2m convert, and the sample counts."""
    import gen_profiles as G
    G.ensure_modules()
    from google.protobuf import json_format
    P = G.module("v1.8")
    prof = open(os.path.join(REAL, "sig-profiling-profile.otlp"), "rb").read()
    k8s = frames(open(os.path.join(REAL, "sig-profiling-k8s.otlp"), "rb").read())
    w = lambda name, b: open(os.path.join(d, name), "wb").write(b)
    w("profile.pb", prof)
    w("k8s-0.pb", k8s[0])
    w("k8s-1.pb", k8s[1])
    req = P.ExportProfilesServiceRequest()
    req.ParseFromString(k8s[0])
    w("k8s-0.json", json_format.MessageToJson(req, indent=None).encode())
    w("k8s-1.pb.gz", gzip.compress(k8s[1]))
    w("profile.pb.gz", gzip.compress(prof))
    w("bomb.gz", gzip.compress(b"\0" * (200 << 20), 9))
    b = G.Builder("v1.8")
    sp = b.scope(b.resource({"service.name": "bad-refs"}))
    p = b.profile(sp, ("cpu", "nanoseconds"), time=G.BASE_TIME, duration=10_000_000_000)
    b.sample(p, values=[1], attrs={"process.executable.name": "ok"})
    n = len(b.d.attribute_table)
    b.sample(p, values=[2], attrs=[-1])
    b.sample(p, values=[4], attrs=[b.attr("process.executable.name", "ok"), n + 50])
    b.sample(p, values=[8], attrs={"process.executable.name": "ok"})
    w("bad-refs.pb", b.to_bytes())

    def count(body):
        r = P.ExportProfilesServiceRequest()
        r.ParseFromString(body)
        return sum(len(pr.samples) for rp in r.resource_profiles for sp in rp.scope_profiles
                   for pr in sp.profiles)
    counts = {"profile": count(prof), "k8s-0": count(k8s[0]), "k8s-1": count(k8s[1])}
    with open(os.path.join(d, "counts.json"), "w") as f:
        json.dump(counts, f)

    def stream(*bodies):
        return b"".join(struct.pack(">I", len(x)) + x for x in bodies)
    # what the main server accepts, in order: profile (protobuf), k8s-0 (JSON),
    # k8s-1 (gzip), profile (zstd), bad-refs (partly)
    w("sent.stream", stream(prof, k8s[0], k8s[1], prof, b.to_bytes()))


LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$')


def parse_labels(s):
    labels, i = {}, 0
    while i < len(s):
        m = re.match(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="', s[i:])
        if not m:
            raise ValueError("bad labels: %r" % s)
        name = m.group(1)
        i += m.end()
        v = []
        while s[i] != '"':
            if s[i] == "\\":
                v.append({"n": "\n", "\\": "\\", '"': '"'}[s[i + 1]])
                i += 2
            else:
                v.append(s[i])
                i += 1
        i += 1
        labels[name] = "".join(v)
        while i < len(s) and s[i] in ", ":
            i += 1
    return labels


def parse_prom(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        if not m:
            raise ValueError("unparsable line: %r" % line)
        key = (m.group(1), tuple(sorted(parse_labels(m.group(3) or "").items())))
        if key in out:
            raise ValueError("duplicate series: %r" % (key,))
        out[key] = float(m.group(4))
    return out


def cmd_prom_equal(got_path, want_path, scale="1"):
    """GOT (p2m_serve_* aside) equals WANT, its counters times SCALE."""
    got = {k: v for k, v in parse_prom(open(got_path).read()).items()
           if not k[0].startswith("p2m_serve_")}
    want = {k: (v if k[0] == "target_info" else v * int(scale))
            for k, v in parse_prom(open(want_path).read()).items()}
    if not want:
        print("the expected exposition has no series")
        return 1
    bad = []
    for k in sorted(set(got) | set(want)):
        if k not in got:
            bad.append("missing %r" % (k,))
        elif k not in want:
            bad.append("unexpected %r" % (k,))
        elif abs(got[k] - want[k]) > 1e-9 * max(1.0, abs(want[k])):
            bad.append("%r: got %r, want %r" % (k, got[k], want[k]))
    if bad:
        print("; ".join(bad[:5]) + (" (and %d more)" % (len(bad) - 5) if len(bad) > 5 else ""))
        return 1
    print("%d series equal" % len(want))
    return 0


def cmd_prom_merge_equal(got_path, *want_paths):
    """GOT equals the WANTs added up: counters summed, target_info (always
    1) once."""
    merged = {}
    for w in want_paths:
        for k, v in parse_prom(open(w).read()).items():
            merged[k] = 1.0 if k[0] == "target_info" else merged.get(k, 0.0) + v
    tmp = got_path + ".merged-want"
    with open(tmp, "w") as f:
        for (name, labels), v in merged.items():
            f.write("%s{%s} %r\n" % (name, ",".join('%s="%s"' % (k, val.replace("\\", "\\\\")
                    .replace('"', '\\"').replace("\n", "\\n")) for k, val in labels), v))
    return cmd_prom_equal(got_path, tmp)


def cmd_prom_value(path, name, *pairs):
    want = dict(p.split("=", 1) for p in pairs)
    total, found = 0.0, 0
    for (n, labels), v in parse_prom(open(path).read()).items():
        if n == name and all(dict(labels).get(k) == val for k, val in want.items()):
            total += v
            found += 1
    print(repr(total) if found else "none")
    return 0


def cmd_status(path, enc, code, substring):
    body = open(path, "rb").read()
    if enc == "json":
        j = json.loads(body)
        got_code, msg = j.get("code", 0), j.get("message", "")
    else:
        R = responses_module()
        st = R.Status()
        st.ParseFromString(body)
        got_code, msg = st.code, st.message
    if got_code != int(code) or substring not in msg:
        print("Status code %r message %r; expected code %s containing %r" %
              (got_code, msg, code, substring))
        return 1
    print("code %d: %s" % (got_code, msg))
    return 0


def cmd_response(path, enc, rejected, substring):
    body = open(path, "rb").read()
    if enc == "json":
        j = json.loads(body)
        ps = j.get("partialSuccess", {})
        got_rej, msg = int(ps.get("rejectedProfiles", "0")), ps.get("errorMessage", "")
    else:
        R = responses_module()
        r = R.ExportProfilesServiceResponse()
        r.ParseFromString(body)
        got_rej = r.partial_success.rejected_profiles
        msg = r.partial_success.error_message
    if substring == "-":
        ok = got_rej == int(rejected) and msg == ""
    else:
        ok = got_rej == int(rejected) and substring in msg
    if not ok:
        print("partial_success rejected %r message %r; expected %s and %r" %
              (got_rej, msg, rejected, substring))
        return 1
    print("rejected %d, message %r" % (got_rej, msg))
    return 0


def cmd_abort(host, port):
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(b"POST /v1development/profiles HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/x-protobuf\r\nContent-Length: 100000\r\n\r\n")
    s.sendall(b"\x0a" * 1000)
    time.sleep(0.2)
    s.close()
    return 0


def cmd_slow(host, port, seconds):
    """Sends a request a byte at a time, one a second, for at most SECONDS;
    prints 'cut after N s' when the server closes the connection first."""
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(b"POST /v1development/profiles HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/x-protobuf\r\nContent-Length: 100000\r\n\r\n")
    t0 = time.time()
    try:
        while time.time() - t0 < float(seconds):
            s.sendall(b"\x0a")
            time.sleep(1)
        s.settimeout(2)
        if s.recv(1) == b"":
            raise ConnectionResetError
    except (BrokenPipeError, ConnectionResetError, socket.timeout, OSError) as e:
        if isinstance(e, socket.timeout):
            print("not cut after %.0f s" % (time.time() - t0))
            return 1
        print("cut after %.0f s" % (time.time() - t0))
        return 0
    print("not cut after %.0f s" % (time.time() - t0))
    return 1


def cmd_sink(portfile, outdir, plan):
    """An OTLP/HTTP metrics sink on 127.0.0.1 (a free port, written to
    PORTFILE). PLAN: comma-separated answers for the first requests, each
    CODE or CODE:RETRY_AFTER_SECONDS ('-' for none); after them, 200. Every
    attempt goes to OUTDIR/attempts.jsonl; the bodies answered 200
    (gunzipped when sent with Content-Encoding: gzip) to OUTDIR/NNN.pb."""
    from http.server import BaseHTTPRequestHandler, HTTPServer
    answers = [] if plan == "-" else plan.split(",")
    os.makedirs(outdir, exist_ok=True)
    state = {"n": 0, "ok": 0}

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n)
            enc = self.headers.get("Content-Encoding", "")
            code, ra = 200, None
            if state["n"] < len(answers):
                a = answers[state["n"]].split(":")
                code = int(a[0])
                ra = a[1] if len(a) > 1 else None
            state["n"] += 1
            rec = {"time": time.time(), "path": self.path, "code": code, "encoding": enc,
                   "content_type": self.headers.get("Content-Type", ""),
                   "tenant": self.headers.get("x-tenant", ""), "bytes": len(body)}
            if code == 200:
                plain = gzip.decompress(body) if enc == "gzip" else body
                with open(os.path.join(outdir, "%03d.pb" % state["ok"]), "wb") as f:
                    f.write(plain)
                state["ok"] += 1
            with open(os.path.join(outdir, "attempts.jsonl"), "a") as f:
                f.write(json.dumps(rec) + "\n")
            self.send_response(code)
            if ra is not None:
                self.send_header("Retry-After", ra)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

    srv = HTTPServer(("127.0.0.1", 0), H)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()


def metric_points(reqs):
    """{(metric, resource attrs, point attrs): value summed} of
    ExportMetricsServiceRequests, decoded with Google protobuf."""
    import gen_profiles as G
    M = G.module("metrics")
    out = {}

    def attrs(kvs):
        return tuple(sorted((kv.key, str(getattr(kv.value, kv.value.WhichOneof("value"))))
                            for kv in kvs if kv.value.WhichOneof("value")))
    for body in reqs:
        r = M.ExportMetricsServiceRequest()
        r.ParseFromString(body)
        for rm in r.resource_metrics:
            ra = attrs(rm.resource.attributes)
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    pts = m.sum.data_points if m.HasField("sum") else m.gauge.data_points
                    for p in pts:
                        k = (m.name, ra, attrs(p.attributes))
                        v = p.as_int if p.WhichOneof("value") == "as_int" else p.as_double
                        out[k] = out.get(k, 0) + v
    return out


def cmd_sink_equal(outdir, want_stream, scale="1"):
    """The metrics the sink accepted add up to those of WANT (a stream of
    ExportMetricsServiceRequests) times SCALE."""
    got_bodies = [open(os.path.join(outdir, f), "rb").read()
                  for f in sorted(os.listdir(outdir)) if f.endswith(".pb")]
    want_bodies = frames(open(want_stream, "rb").read())
    got = metric_points(got_bodies)
    want = {k: v * int(scale) for k, v in metric_points(want_bodies).items()}
    if not want:
        print("the expected metrics have no points")
        return 1
    if got != want:
        diff = [k for k in set(got) | set(want) if got.get(k) != want.get(k)]
        print("%d of %d points differ (%d bodies received, %d x %s expected), e.g. %r: got %r, "
              "want %r" % (len(diff), len(want), len(got_bodies), len(want_bodies), scale, diff[0],
                 got.get(diff[0]), want.get(diff[0])))
        return 1
    print("%d points equal over %d bodies" % (len(want), len(got_bodies)))
    return 0


def cmd_conns(host, port, n):
    """Opens N idle connections one after another; prints how many the
    server kept open and how many it closed at once."""
    socks = []
    for _ in range(int(n)):
        s = socket.create_connection((host, int(port)), timeout=5)
        socks.append(s)
        time.sleep(0.2)
    opened = closed = 0
    for s in socks:
        s.settimeout(1.0)
        try:
            while True:   # an HTTP/2 server speaks first (SETTINGS): read past it
                if s.recv(4096) == b"":
                    closed += 1
                    break
        except socket.timeout:
            opened += 1
        except OSError:
            closed += 1
    for s in socks:
        s.close()
    print("open=%d closed=%d" % (opened, closed))
    return 0


def cmd_idle(host, port, limit):
    """Connects and sends nothing; prints after how many seconds the server
    closed the connection (or 'open' after LIMIT seconds)."""
    s = socket.create_connection((host, int(port)), timeout=float(limit))
    t0 = time.time()
    try:
        while s.recv(4096) != b"":
            pass
        print("closed after %.0f s" % (time.time() - t0))
    except socket.timeout:
        print("open")
    except OSError:
        print("closed after %.0f s" % (time.time() - t0))
    return 0


def cmd_grpc_slow(host, port, seconds):
    """A gRPC call over raw HTTP/2 (literal HPACK headers, no library) whose
    message trickles in a byte a second. Prints after how many seconds the
    server ended the stream (HEADERS with END_STREAM, or RST_STREAM), or
    'not ended' after SECONDS."""
    def frame(ftype, flags, stream, payload):
        return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
            struct.pack(">I", stream) + payload

    def lit(name, value):
        n, v = name.encode(), value.encode()
        return b"\x00" + bytes([len(n)]) + n + bytes([len(v)]) + v
    hdrs = (lit(":method", "POST") + lit(":scheme", "http") + lit(":path", EXPORT) +
            lit(":authority", "x") + lit("content-type", "application/grpc") + lit("te", "trailers"))
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b"") + frame(1, 4, 1, hdrs))
    s.setblocking(False)
    t0, buf, sent = time.time(), b"", 0
    while time.time() - t0 < float(seconds):
        if time.time() - t0 >= sent:
            try:
                s.sendall(frame(0, 0, 1, b"\x00"))
            except OSError:
                pass
            sent += 1
        try:
            chunk = s.recv(65536)
            if chunk == b"":
                print("connection closed after %.0f s" % (time.time() - t0))
                return 0
            buf += chunk
        except BlockingIOError:
            time.sleep(0.05)
        while len(buf) >= 9:
            n = struct.unpack(">I", b"\0" + buf[:3])[0]
            if len(buf) < 9 + n:
                break
            ftype, flags = buf[3], buf[4]
            stream = struct.unpack(">I", buf[5:9])[0] & 0x7fffffff
            buf = buf[9 + n:]
            if stream == 1 and ((ftype == 1 and flags & 1) or ftype == 3):
                print("stream ended after %.0f s" % (time.time() - t0))
                return 0
    print("not ended after %.0f s" % (time.time() - t0))
    return 1


def cmd_garbage(host, port, n):
    """N connections of hostile bytes (seeded, so a failure replays): random
    bytes, an HTTP/2 preface followed by random frames (frame headers with
    random types, flags, lengths and stream ids), and HTTP/1.1 requests with
    mangled headers and lengths. Only the server's survival is judged, by the
    caller."""
    import random
    rnd = random.Random(19)
    pre = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    for i in range(int(n)):
        kind = i % 3
        if kind == 0:
            data = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 3000)))
        elif kind == 1:
            data = pre + struct.pack(">I", 0)[1:] + b"\x04\x00" + b"\0\0\0\0"
            for _ in range(rnd.randint(1, 20)):
                ln = rnd.randint(0, 300)
                data += struct.pack(">I", ln)[1:] + bytes([rnd.randint(0, 10), rnd.getrandbits(8)]) + \
                    struct.pack(">I", rnd.choice([0, 1, 3, rnd.getrandbits(31)])) + \
                    bytes(rnd.getrandbits(8) for _ in range(ln))
        else:
            cl = rnd.choice([b"-1", b"99999999999999999999", b"abc", b"5", b"0x10"])
            data = (b"POST /v1development/profiles HTTP/1.1\r\nHost: x\r\nContent-Type: "
                    b"application/x-protobuf\r\nContent-Encoding: " + rnd.choice([b"gzip", b"zstd"]) +
                    b"\r\nContent-Length: " + cl + b"\r\n" + b"X: " + b"y" * rnd.randint(0, 20000) +
                    b"\r\n\r\n" + bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 500))))
        try:
            s = socket.create_connection((host, int(port)), timeout=2)
            s.sendall(data)
            s.settimeout(0.5)
            try:
                s.recv(65536)
            except (socket.timeout, OSError):
                pass
            s.close()
        except OSError:
            pass
    print("%s connections sent" % n)
    return 0


def cmd_freeports(n):
    """N loopback ports free right now (for programs that need a number)."""
    socks = []
    for _ in range(int(n)):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    print(" ".join(str(s.getsockname()[1]) for s in socks))
    for s in socks:
        s.close()
    return 0


def prom_query(base, q):
    import urllib.parse
    import urllib.request
    url = base + "/api/v1/query?query=" + urllib.parse.quote(q)
    with urllib.request.urlopen(url, timeout=5) as r:
        j = json.loads(r.read())
    if j.get("status") != "success":
        raise ValueError("query %r: %r" % (q, j))
    return j["data"]["result"]


def cmd_prom_api(base, want_path, samples, targets):
    """Waits (up to 60 s) until Prometheus at BASE has TARGETS targets up and
    the scraped p2m_serve_samples_total adds up to SAMPLES, then compares
    sum by (process_executable_name, thread_name) (cpu_time_seconds_total)
    from its HTTP API with the same sums over WANT (a `p2m convert -f prom`
    text)."""
    want = {}
    for (name, labels), v in parse_prom(open(want_path).read()).items():
        if name != "cpu_time_seconds_total":
            continue
        d = dict(labels)
        k = (d.get("process_executable_name", ""), d.get("thread_name", ""))
        want[k] = want.get(k, 0.0) + v
    t0, last = time.time(), None
    while time.time() - t0 < 60:
        try:
            up = prom_query(base, "sum(up)")
            tot = prom_query(base, "sum(p2m_serve_samples_total)")
            last = (up, tot)
            if up and float(up[0]["value"][1]) == float(targets) and tot and \
                    float(tot[0]["value"][1]) == float(samples):
                break
        except Exception as e:  # not up yet
            last = e
        time.sleep(0.5)
    else:
        print("Prometheus never saw %s targets up with %s samples: %r" % (targets, samples, last))
        return 1
    res = prom_query(base, "sum by (process_executable_name, thread_name) "
                           "(cpu_time_seconds_total)")
    got = {(r["metric"].get("process_executable_name", ""), r["metric"].get("thread_name", "")):
           float(r["value"][1]) for r in res}
    bad = [k for k in set(got) | set(want)
           if k not in got or k not in want or abs(got[k] - want[k]) > 1e-6 * max(1, want[k])]
    if bad:
        print("%d of %d series differ, e.g. %r: got %r, want %r" %
              (len(bad), len(want), bad[0], got.get(bad[0]), want.get(bad[0])))
        return 1
    print("%d series equal in Prometheus" % len(want))
    return 0


EXPORT = "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"


def cmd_grpc(target, *args):
    """Unary Export calls with grpcio (Debian's python3-grpcio), raw bytes in
    and out. ARGS: options, then request files, one call each on one channel:
      --gzip  --token T  --timeout S  --cacert PEM (TLS)  --expect CODE_NAME  --path P
      --substr TEXT (in the details)  --rejected-substr TEXT (in partial_success)"""
    import grpc
    opts, files, i = {}, [], 0
    while i < len(args):
        if args[i] == "--gzip":
            opts["gzip"] = True
            i += 1
        elif args[i].startswith("--"):
            opts[args[i][2:]] = args[i + 1]
            i += 2
        else:
            files.append(args[i])
            i += 1
    if "cacert" in opts:
        creds = grpc.ssl_channel_credentials(open(opts["cacert"], "rb").read())
        ch = grpc.secure_channel(target, creds,
                                 options=[("grpc.ssl_target_name_override", "localhost")])
    else:
        ch = grpc.insecure_channel(target)
    call = ch.unary_unary(opts.get("path", EXPORT), request_serializer=None,
                          response_deserializer=None)
    want = opts.get("expect", "OK")
    for f in files:
        md = [("authorization", "Bearer " + opts["token"])] if "token" in opts else None
        try:
            resp = call(open(f, "rb").read(), timeout=float(opts.get("timeout", "20")),
                        metadata=md,
                        compression=grpc.Compression.Gzip if opts.get("gzip") else None)
            code, details = "OK", ""
        except grpc.RpcError as e:
            code, details, resp = e.code().name, e.details() or "", b""
        if code != want or opts.get("substr", "") not in details:
            print("%s: %s %r; expected %s containing %r" % (f, code, details, want,
                                                           opts.get("substr", "")))
            return 1
        if code == "OK":
            R = responses_module()
            r = R.ExportProfilesServiceResponse()
            r.ParseFromString(resp)
            rs = opts.get("rejected-substr")
            if (rs is None and r.HasField("partial_success")) or \
                    (rs is not None and rs not in r.partial_success.error_message):
                print("%s: partial_success %r" % (f, r.partial_success))
                return 1
    ch.close()
    print("%d calls: %s" % (len(files), want))
    return 0


def main(argv):
    cmd, args = argv[1], argv[2:]
    fn = {"inputs": cmd_inputs, "prom-equal": cmd_prom_equal, "prom-value": cmd_prom_value,
          "prom-merge-equal": cmd_prom_merge_equal,
          "sink": cmd_sink, "sink-equal": cmd_sink_equal, "grpc": cmd_grpc,
          "conns": cmd_conns, "idle": cmd_idle,
          "freeports": cmd_freeports, "garbage": cmd_garbage, "grpc-slow": cmd_grpc_slow, "prom-api": cmd_prom_api,
          "status": cmd_status, "response": cmd_response, "abort": cmd_abort,
          "slow": cmd_slow}.get(cmd)
    if fn is None:
        print("unknown command %r" % cmd)
        return 2
    return fn(*args) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

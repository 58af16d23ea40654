// SPDX-License-Identifier: MIT
// Tests of the ES module with Node's test runner (node --test). The cases
// (inputs, configurations as objects, and the bytes `build/p2m convert -f
// otlp` wrote for them) come from tests/bindings/cases.py, in P2M_CASES
// (default: build/bindings/cases of the repository).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { Converter, P2MError, Status, FORMATS, formatDouble } from "../src/index.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CASES = process.env.P2M_CASES || ROOT + "build/bindings/cases";
const read = (name) => new Uint8Array(readFileSync(`${CASES}/${name}`));
const config = (name) => JSON.parse(readFileSync(`${CASES}/${name}`, "utf8"));
const M = JSON.parse(readFileSync(`${CASES}/manifest.json`, "utf8"));
const NOW = BigInt(M.now);

function sameBytes(got, want, what) {
  if (Buffer.compare(Buffer.from(got), Buffer.from(want)) === 0) return;
  let i = 0;
  while (i < got.length && i < want.length && got[i] === want[i]) i++;
  assert.fail(`${what}: output differs from p2m's (${got.length} vs ${want.length} bytes, ` +
              `first difference at byte ${i})`);
}

const converters = new Map();
async function convFor(cfg) {
  if (!converters.has(cfg)) converters.set(cfg, await Converter.create(config(cfg)));
  return converters.get(cfg);
}

for (const c of M.cases) {
  test(`js-identical-${c.name}`, async () => {
    const conv = await convFor(c.config);
    sameBytes(conv.convert(read(c.input), { now: NOW, resourceAttributes: c.resource_attributes }),
              read(c.expect), c.name);
  });
}

for (const c of M.text_cases ?? []) {
  test(`js-identical-${c.name}`, async () => {
    const conv = await convFor(c.config);
    const opts = { now: NOW };
    if (c.promote !== null) opts.promoteResourceAttributes = c.promote;
    const got = conv.convert(read(c.input), c.format, opts);
    assert.equal(typeof got, "string");
    if (c.utf8) {
      sameBytes(Buffer.from(got, "utf8"), read(c.expect), c.name);
      assert.equal(conv.stats.bytesOut, Buffer.byteLength(got));
    } else {
      // bytes of the input that are not UTF-8 become U+FFFD, as TextDecoder reads p2m's text
      assert.equal(got, new TextDecoder().decode(read(c.expect)));
    }
  });
}

test("js-format-double-as-libc", () => {
  // the text glibc gives (tests/bindings/doubles.c), for edge cases,
  // halfway cases and random bits: what the writers print with a libc
  const lines = readFileSync(`${CASES}/doubles.txt`, "utf8").trim().split("\n");
  assert.ok(lines.length > 1000, `only ${lines.length} doubles`);
  const dv = new DataView(new ArrayBuffer(8));
  const bad = [];
  for (const line of lines) {
    const [hex, want] = line.split(" ");
    dv.setBigUint64(0, BigInt("0x" + hex));
    const got = formatDouble(dv.getFloat64(0));
    if (got !== want && bad.length < 5) bad.push(`${hex}: ${got}, libc ${want}`);
  }
  assert.deepEqual(bad, []);
});

test("js-resource-attribute-values", async () => {
  const conv = await Converter.create();
  const out = Buffer.from(conv.convert(read("generated.otlp"), { now: NOW, resourceAttributes: {
    "k.str": "v\u00e9", "k.bool": true, "k.int": -5, "k.big": 7n, "k.float": 0.25,
    "k.bytes": new Uint8Array([0, 1]) } }));
  for (const needle of ["k.str", "v\u00e9", "k.bool", "k.int", "k.big", "k.float", "k.bytes"])
    assert.ok(out.includes(Buffer.from(needle)), `${needle} not in the output`);
  assert.ok(out.includes(Buffer.from([0, 1])));
  for (const bad of [{ k: null }, { k: [1] }, { k: {} }])
    assert.throws(() => conv.convert(read("generated.otlp"), { resourceAttributes: bad }),
                  TypeError);
});

test("js-config-as-json-text", async () => {
  const c = M.cases.find((x) => x.name === "real-profile-rich");
  const text = readFileSync(`${CASES}/${c.config}`, "utf8");
  const conv = await Converter.create(text);
  sameBytes(conv.convert(read(c.input), "otlp", { now: NOW }), read(c.expect), "JSON text");
  // an ArrayBuffer input converts like the Uint8Array
  const u = read(c.input);
  const ab = u.buffer.slice(u.byteOffset, u.byteOffset + u.length);
  sameBytes(conv.convert(ab, { now: NOW }), read(c.expect), "ArrayBuffer input");
});

test("js-stats", async () => {
  const conv = await Converter.create();
  const input = read("real-profile.otlp");
  const out = conv.convert(input, { now: NOW });
  const s = conv.stats;
  // the capture's README: 4 resources, 49 samples, wire layout v1.8
  assert.deepEqual([s.bytesOut, s.bytesIn, s.resources, s.samples, s.layout],
                   [out.length, input.length, 4, 49, "v1.8"]);
  assert.match(conv.version, /^\d+\.\d+\.\d+/);
});

test("js-cumulative-across-calls", async () => {
  const cu = M.cumulative;
  const conv = await Converter.create(config(cu.config));
  assert.equal(conv.cumulative, true);
  cu.inputs.forEach((inp, i) => sameBytes(conv.convert(read(inp), { now: NOW }),
                                          read(cu.expect[i]), inp));
  conv.reset();
  sameBytes(conv.convert(read(cu.inputs[0]), { now: NOW }), read(cu.expect[0]), "after reset()");
  // the same as OTLP/JSON: the text of the running totals
  const text = await Converter.create(config(cu.config));
  cu.inputs.forEach((inp, i) => sameBytes(
    Buffer.from(text.convert(read(inp), "json", { now: NOW })), read(cu.expect_json[i]), inp));
});

test("js-growth-from-needed", async () => {
  // outputs larger than the first output buffer (16 KiB): grown to the size
  // the library names
  const big = M.cases.filter((c) => c.config === "bigout.json" && read(c.expect).length > 16384);
  assert.ok(big.length >= 2, "fewer than 2 cases that outgrow the first buffer");
  for (const c of big) {
    const conv = await Converter.create(config(c.config));
    sameBytes(conv.convert(read(c.input), { now: NOW }), read(c.expect), c.name);
  }
  // working memory sized by a small request, then a larger one: grown from
  // the MEMORY status's size
  const small = M.cases.find((c) => c.name === "generated-default");
  const large = M.cases.find((c) => c.name === "real-k8s-2-default");
  const conv = await Converter.create();
  sameBytes(conv.convert(read(small.input), { now: NOW }), read(small.expect), small.name);
  sameBytes(conv.convert(read(large.input), { now: NOW }), read(large.expect), large.name);
  assert.ok(conv.stats.workUsed > 0);
});

for (const e of M.errors) {
  test(`js-error-${e.name}`, async () => {
    const conv = await Converter.create();
    assert.throws(() => conv.convert(read(e.input), { now: NOW }), (err) => {
      assert.ok(err instanceof P2MError, `not a P2MError: ${err}`);
      assert.deepEqual([err.status, err.offset, err.detail],
                       [Status.MALFORMED, e.offset, e.message]);
      assert.ok(err.message.includes(`at byte ${e.offset}`), err.message);
      return true;
    });
    // the converter works on after an error
    const ok = M.cases.find((c) => c.name === "real-profile-default");
    sameBytes(conv.convert(read(ok.input), { now: NOW }), read(ok.expect), "after the error");
  });
}

test("js-config-errors", async () => {
  const cases = [
    [{ metrics: { cpu: { metirc_name: "x" } } }, "metrics.cpu.metirc_name", /unknown key/],
    [{ metrics: { cpu: { unit: "parsec" } } }, "metrics.cpu.unit", /./],
    [{ max_series: "7" }, "max_series", /expected an integer/],
    [{ attributes: [{ key: "k", value: "v", from: "x" }] }, "attributes[0].from",
     /not used by a literal/],
    [{ process_filter: { enabled: true, pattern: "(a" } }, "process_filter.pattern", /./],
    ['{"max_series": 3,}', "", /JSON configuration.*at byte 17/],
    ['{"max_series": 1, "max_series": 2}', "", /given twice.*at byte 18/],
  ];
  for (const [cfg, field, msg] of cases) {
    await assert.rejects(Converter.create(cfg), (err) => {
      assert.ok(err instanceof P2MError, `not a P2MError: ${err}`);
      assert.equal(err.status, Status.CONFIG);
      assert.equal(err.field, field);
      assert.match(err.detail, msg);
      return true;
    }, JSON.stringify(cfg));
  }
});

// the stack settings (issue 22): every number of p2m --stats with
// frames.yaml (work_used aside), dropped_stack included, and the errors
// p2m validate names
const camel = (k) => k.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
for (const sc of M.stats_cases ?? []) {
  test(`js-stats-${sc.name}`, async () => {
    const conv = await Converter.create(config(sc.config));
    conv.convert(read(sc.input), { now: NOW });
    for (const [k, v] of Object.entries(sc.stats)) {
      if (k === "work_used") continue; // wasm32 lays the working memory out smaller
      assert.ok(camel(k) in conv.stats, `no stats field ${camel(k)}`);
      assert.equal(conv.stats[camel(k)], v, k);
    }
  });
}

for (const ce of M.config_errors ?? []) {
  test(`js-config-error-${ce.name}`, async () => {
    await assert.rejects(Converter.create(ce.config), (err) => {
      assert.ok(err instanceof P2MError, `not a P2MError: ${err}`);
      assert.deepEqual([err.status, err.field], [Status.CONFIG, ce.field]);
      if (ce.message !== null) assert.equal(err.detail, ce.message);
      return true;
    });
  });
}

test("js-format-arguments", async () => {
  const conv = await Converter.create();
  assert.deepEqual(FORMATS, ["otlp", "json", "prom"]);
  assert.throws(() => conv.convert(read("real-profile.otlp"), "yaml"), TypeError);
  assert.throws(() => conv.convert(read("real-profile.otlp"), "json",
                                   { promoteResourceAttributes: true }), TypeError);
  assert.throws(() => conv.convert(read("real-profile.otlp"), "prom",
                                   { promoteResourceAttributes: 5 }), TypeError);
});

test("js-malformed-never-crashes", async () => {
  // truncations, byte flips and random bytes: every call returns bytes or
  // throws a P2MError (a trap of the WebAssembly code would be another error)
  let seed = 7;
  const rnd = (n) => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n; };
  const convs = [await Converter.create(),
                 await Converter.create({ metrics: { function: { enabled: true } },
                                          strict: true })];
  let ok = 0, errs = 0;
  const one = (data) => {
    for (const [conv, fmt] of [[convs[0], "otlp"], [convs[1], "otlp"], [convs[0], "json"],
                               [convs[1], "prom"]]) {
      try {
        const out = conv.convert(data, fmt, { now: 1n });
        assert.ok(fmt === "otlp" ? out instanceof Uint8Array : typeof out === "string");
        ok++;
      } catch (err) {
        if (!(err instanceof P2MError)) throw err;
        errs++;
      }
    }
  };
  for (const name of ["real-profile.otlp", "generated.otlp", "real-k8s-1.otlp"]) {
    const data = read(name);
    const step = Math.max(1, Math.floor(data.length / 400));
    for (let n = 0; n < data.length; n += step) one(data.subarray(0, n));
    for (let i = 0; i < 300; i++) {
      const b = data.slice();
      for (let k = 1 + rnd(4); k > 0; k--) b[rnd(b.length)] = rnd(256);
      one(b);
    }
  }
  for (let i = 0; i < 1000; i++) {
    const b = new Uint8Array(rnd(300));
    for (let k = 0; k < b.length; k++) b[k] = rnd(256);
    one(b);
  }
  assert.ok(ok > 0 && errs > 0, `expected results and errors: ${ok} ok, ${errs} errors`);
  const c = M.cases.find((x) => x.name === "real-profile-default");
  sameBytes(convs[0].convert(read(c.input), { now: NOW }), read(c.expect), "after the fuzzing");
});

test("js-workers-same-bytes", async () => {
  // four worker threads, each with its own instance of the one compiled
  // module, convert every case in their own order: the bytes are p2m's
  const src = `
    import { parentPort, workerData } from "node:worker_threads";
    import { readFileSync } from "node:fs";
    const { Converter } = await import(workerData.module);
    const { cases, textCases, dir, now, seed } = workerData;
    let s = seed;
    const order = cases.concat(cases, cases);
    for (let i = order.length - 1; i > 0; i--) {
      s = (s * 1103515245 + 12345) >>> 0;
      const j = s % (i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    const convs = new Map();
    let bad = [];
    for (const c of order) {
      if (!convs.has(c.config))
        convs.set(c.config, await Converter.create(
          JSON.parse(readFileSync(dir + "/" + c.config, "utf8"))));
      const out = convs.get(c.config).convert(new Uint8Array(readFileSync(dir + "/" + c.input)),
        { now: BigInt(now), resourceAttributes: c.resource_attributes });
      const want = readFileSync(dir + "/" + c.expect);
      if (Buffer.compare(Buffer.from(out), want) !== 0) bad.push(c.name);
    }
    for (const c of textCases) {
      if (!convs.has(c.config))
        convs.set(c.config, await Converter.create(
          JSON.parse(readFileSync(dir + "/" + c.config, "utf8"))));
      const opts = { now: BigInt(now) };
      if (c.promote !== null) opts.promoteResourceAttributes = c.promote;
      const out = convs.get(c.config).convert(
        new Uint8Array(readFileSync(dir + "/" + c.input)), c.format, opts);
      if (out !== new TextDecoder().decode(readFileSync(dir + "/" + c.expect))) bad.push(c.name);
    }
    parentPort.postMessage({ n: order.length, bad });
  `;
  const module = new URL("../src/index.js", import.meta.url).href;
  const runs = await Promise.all([1, 2, 3, 4].map((seed) => new Promise((resolve, reject) => {
    const w = new Worker(src, { eval: true, type: "module",
      workerData: { module, cases: M.cases, textCases: M.text_cases ?? [], dir: CASES,
                    now: M.now, seed } });
    w.once("message", resolve);
    w.once("error", reject);
  })));
  for (const r of runs) {
    assert.equal(r.n, M.cases.length * 3);
    assert.deepEqual(r.bad, []);
  }
});

test("js-wasm-imports-only-format-double", async () => {
  // the core needs no libc: the module imports only the text of a double
  // for the text writers (env.format_double)
  const wasm = readFileSync(new URL("../dist/profile2metrics.wasm", import.meta.url));
  const mod = await WebAssembly.compile(wasm);
  assert.deepEqual(WebAssembly.Module.imports(mod),
                   [{ module: "env", name: "format_double", kind: "function" }]);
  console.log(`# profile2metrics.wasm: ${wasm.length} bytes`);
});

// ---- pprof input: cases/pprof from tests/bindings/pprof_ref.py (the totals
// Google protobuf reads from Go's CPU and heap profiles) ----

const PPROF = JSON.parse(readFileSync(`${CASES}/pprof/pprof.json`, "utf8"));
const readPprof = (name) => read(`pprof/${name}`);

function metricTotal(text, name) {
  let total = 0n, points = 0;
  for (const rm of JSON.parse(text).resourceMetrics)
    for (const sm of rm.scopeMetrics)
      for (const m of sm.metrics)
        if (m.name === name)
          for (const p of (m.sum ?? m.gauge).dataPoints) { total += BigInt(p.asInt); points++; }
  return [total, points];
}

test("js-pprof-totals", async () => {
  const conv = await Converter.create();
  for (const [kind, metric] of [["cpu", "cpu_time"], ["heap", "memory_allocation"]]) {
    const text = conv.convert(readPprof(`${kind}.pprof`), "json", { input: "pprof", now: NOW });
    const [total, points] = metricTotal(text, metric);
    assert.ok(points > 0, `${kind}: no ${metric} points`);
    assert.equal(total, BigInt(PPROF[kind].total), `${kind}: ${metric} total vs protobuf's`);
    assert.equal(conv.stats.layout, "pprof");
    assert.equal(conv.stats.samplesKept, PPROF[kind].samples);
    // gzip'd: inflated with Node's zlib, the same text
    assert.equal(conv.convert(readPprof(`${kind}.pprof.gz`), "json", { input: "pprof", now: NOW }),
                 text, `${kind}.pprof.gz`);
    const pb = conv.convert(readPprof(`${kind}.pprof`), { input: "pprof", now: NOW });
    assert.ok(pb instanceof Uint8Array && pb.length > 0 && conv.stats.bytesOut === pb.length);
  }
  assert.equal(conv.stats.profilesUnfed, PPROF.heap.unfed.length);
});

test("js-pprof-errors", async () => {
  const conv = await Converter.create();
  const expectMalformed = (fn, offset, text, what) => assert.throws(fn, (e) => {
    assert.ok(e instanceof P2MError, `${what}: ${e}`);
    assert.equal(e.status, Status.MALFORMED, what);
    if (offset !== null) assert.equal(e.offset, offset, what);
    if (text !== null) assert.ok(e.message.includes(text), `${what}: ${e.message}`);
    return true;
  });
  expectMalformed(() => conv.convert(readPprof("bad.pprof"), { input: "pprof" }),
                  PPROF.bad_offset, null, "bad.pprof");
  expectMalformed(() => conv.convert(readPprof("bad.pprof"), "json", { input: "pprof" }),
                  PPROF.bad_offset, null, "bad.pprof as json");
  expectMalformed(() => conv.convert(readPprof("cpu.pprof.gz").subarray(0, 20), { input: "pprof" }),
                  0, "does not inflate", "truncated gzip");
  expectMalformed(() => conv.convert(read("real-profile.otlp"), { input: "pprof" }),
                  null, "pprof", "an OTLP request as pprof");
  assert.throws(() => conv.convert(readPprof("cpu.pprof"), { input: "jfr" }), TypeError);
  // the converter still reads OTLP by default
  conv.convert(read("real-profile.otlp"), { now: NOW });
  assert.notEqual(conv.stats.layout, "pprof");
});

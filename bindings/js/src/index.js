// SPDX-License-Identifier: MIT
// profile2metrics for JavaScript: the C library compiled to WebAssembly
// (dist/profile2metrics.wasm, built by `make js`), wrapped as an ES module.
// Works in Node (18+) and in browsers.
//
//   import { Converter } from "profile2metrics";
//   const conv = await Converter.create({ metrics: { memory: { enabled: false } } });
//   const metrics = conv.convert(requestBytes);   // Uint8Array, OTLP metrics protobuf
//
// The configuration is the structure of the YAML file `p2m -c` reads
// (docs/configuration.md), as an object or its JSON text. Every Converter
// has its own WebAssembly instance (its own memory); the compiled module is
// shared. Errors are P2MError with status, statusName, offset, field,
// message and needed.

const WASM_NAME = "profile2metrics.wasm";

/** Status numbers of the library (p2m_status). */
export const Status = Object.freeze({
  OK: 0,
  MALFORMED: 1,
  INVALID_REFERENCE: 2,
  CONFIG: 3,
  MEMORY: 4,
  OUTPUT_TOO_SMALL: 5,
  ARGUMENT: 6,
  UNSUPPORTED: 7,
});

/** Output formats: "otlp" (protobuf bytes), "json" (OTLP/JSON) and "prom"
 *  (Prometheus text); the text formats when the .wasm has the writers. */
export const FORMATS = Object.freeze(["otlp", "json", "prom"]);

const STATS_FIELDS = [
  "bytesIn", "bytesOut", "layout", "resources", "profiles", "profilesUnclassified",
  "samples", "samplesKept", "droppedProcess", "droppedThread", "droppedPattern",
  "emptySamples", "invalidReferences", "series", "overflowSamples", "workUsed",
  "regexSearches", "profilesUnfed", "samplesUnfed", "layoutEvidence", "layoutConflict",
  "droppedStack",
];
const LAYOUTS = { 0: "auto", 1: "pprof", 8: "v1.8", 9: "v1.9", 10: "v1.10" };

/** Input kinds: "otlp" (an ExportProfilesServiceRequest) and "pprof" (one
 *  pprof Profile, p2m_pprof_aggregate). */
export const INPUTS = Object.freeze(["otlp", "pprof"]);

// Node's zlib.gunzipSync, loaded by Converter.create in Node: gzip'd pprof
// input is inflated with it. Browsers have no synchronous inflater
// (DecompressionStream is a stream), so there gzip'd input is refused.
let gunzipSync = null;
const isNode = typeof process !== "undefined" && !!process.versions?.node;

// wasm32 layout of p2m_error (checked against p2mb_sizeof at load)
const ERR_SIZE = 204, ERR_OFFSET = 4, ERR_NEEDED = 8, ERR_FIELD = 12, ERR_MESSAGE = 76;
// p2m_options: struct_size at 0 (left 0: the first layout, which is what this
// module writes), now_unix_nano at 8, state at 16, resource_attributes and
// its count at 36; fields are only ever added at its end, and the whole
// struct (p2mb_sizeof(3) bytes) is cleared each call
const OPT_NOW = 8, OPT_STATE = 16, OPT_RES_ATTRS = 36, ATTR_SIZE = 40;
// p2m_prom_options, rounded up to 8 (its layout at _writePromOptions)
const PROM_SIZE = 24;
// checked at load against the library's offsets (p2mb_offsetof)
const OFFSETS = [[1, OPT_STATE], [2, OPT_RES_ATTRS], [3, OPT_RES_ATTRS + 4], [4, 8], [5, 4],
                 [6, 16], [7, 24], [8, OPT_NOW]];
// and, when the .wasm has the Prometheus writer, p2m_prom_options's
const PROM_OFFSETS = [[9, 4], [10, 12]];

/** A failed call of the library. */
export class P2MError extends Error {
  constructor(status, statusName, message, offset = 0, field = "", needed = 0) {
    let text = (field ? field + ": " : "") + message;
    if (status === Status.MALFORMED || status === Status.INVALID_REFERENCE)
      text += ` (at byte ${offset})`;
    super(`${statusName}: ${text}`);
    this.name = "P2MError";
    this.status = status;          // Status.*
    this.statusName = statusName;  // the library's name of the status
    this.offset = offset;          // byte offset into the input (malformed, invalid reference)
    this.field = field;            // configuration path, "" when none
    this.detail = message;         // the library's one-line message
    this.needed = needed;          // bytes, for MEMORY / OUTPUT_TOO_SMALL
  }
}

let modulePromise = null;

async function loadModule(source) {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source))
    return WebAssembly.compile(source);
  const url = source ?? new URL(`../dist/${WASM_NAME}`, import.meta.url);
  const href = String(url);
  if (href.startsWith("file:") && typeof process !== "undefined" && process.versions?.node) {
    const { readFile } = await import("node:fs/promises");
    return WebAssembly.compile(await readFile(new URL(href)));
  }
  const resp = await fetch(href);
  if (!resp.ok) throw new Error(`profile2metrics: cannot load ${href}: HTTP ${resp.status}`);
  if (WebAssembly.compileStreaming &&
      (resp.headers.get("content-type") || "").startsWith("application/wasm"))
    return WebAssembly.compileStreaming(resp);
  return WebAssembly.compile(await resp.arrayBuffer());
}

const align8 = (n) => (n + 7) & ~7;

// The exact decimal digits of a finite, non-zero |d| (trailing zeros cut) and
// the decimal exponent of the first one.
function exactDigits(d) {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, Math.abs(d));
  const bits = dv.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  let m = bits & 0xfffffffffffffn;
  let e2 = -1074;
  if (biased !== 0) { m |= 1n << 52n; e2 = biased - 1075; }
  // |d| = m * 2^e2 = (m * 5^-e2) * 10^e2 for e2 < 0
  const digits = e2 >= 0 ? (m << BigInt(e2)).toString() : (m * 5n ** BigInt(-e2)).toString();
  const exp = digits.length - 1 + (e2 >= 0 ? 0 : e2);
  return [digits.replace(/0+$/, ""), exp];
}

// d as C's printf("%.*g", P, d) writes it: the exact value rounded half to
// even to P significant digits, trailing zeros removed, an exponent (two
// digits at least) below 1e-4 or from 10^P.
function formatG(d, P) {
  let [digits, exp] = exactDigits(d);
  if (digits.length > P) {
    const keep = BigInt(digits.slice(0, P));
    const rest = digits.slice(P);
    const up = rest[0] > "5" ||
               (rest[0] === "5" && (/[1-9]/.test(rest.slice(1)) || (keep & 1n) === 1n));
    let r = (up ? keep + 1n : keep).toString();
    if (r.length > P) { exp += 1; r = r.slice(0, P); }
    digits = r;
  }
  digits = digits.replace(/0+$/, "") || "0";
  let out;
  if (exp < -4 || exp >= P) {
    const ae = Math.abs(exp);
    out = (digits.length > 1 ? digits[0] + "." + digits.slice(1) : digits) + "e" +
          (exp < 0 ? "-" : "+") + (ae < 10 ? "0" : "") + ae;
  } else if (exp >= 0) {
    const ip = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
    const fp = digits.slice(exp + 1);
    out = fp ? ip + "." + fp : ip;
  } else {
    out = "0." + "0".repeat(-exp - 1) + digits;
  }
  return (d < 0 ? "-" : "") + out;
}

/** The text writers' text of a finite double, as the C library writes it
 *  with a libc: the shortest of %.15g, %.16g and %.17g that reads back as d
 *  (the .wasm imports it as env.format_double). */
export function formatDouble(d) {
  if (d === 0) return Object.is(d, -0) ? "-0" : "0";
  let t;
  for (let P = 15; P <= 17; P++) {
    t = formatG(d, P);
    if (Number(t) === d) break;
  }
  return t;
}

// The module's imports: env.format_double(buf, cap, d) writes the text of d
// and a NUL into the instance's memory and returns its length.
function hostImports(memory) {
  return {
    env: {
      format_double(buf, cap, d) {
        const b = enc.encode(formatDouble(d));
        const n = Math.min(b.length, cap - 1);
        const mem = new Uint8Array(memory.current.buffer, buf, n + 1);
        mem.set(b.subarray(0, n));
        mem[n] = 0;
        return n;
      },
    },
  };
}
// the library's calls per input kind (the same arguments and contract)
const OTLP_CALLS = { workSize: "p2m_work_size", aggregate: "p2m_aggregate", convert: "p2m_convert" };
const PPROF_CALLS = { workSize: "p2m_pprof_work_size", aggregate: "p2m_pprof_aggregate",
                      convert: "p2m_pprof_convert" };
const enc = new TextEncoder();
const dec = new TextDecoder();

export class Converter {
  /**
   * Compiles a configuration. config: an object (the YAML configuration's
   * structure), its JSON text, or undefined for the defaults. options.wasm:
   * where the .wasm is (URL, bytes or a WebAssembly.Module; default
   * ../dist/profile2metrics.wasm next to this file).
   * Throws P2MError (status CONFIG, field, message) for a configuration the
   * library rejects.
   */
  static async create(config, options = {}) {
    let mod;
    if (options.wasm !== undefined) {
      mod = await loadModule(options.wasm);
    } else {
      modulePromise ??= loadModule();
      mod = await modulePromise;
    }
    if (isNode && gunzipSync === null) gunzipSync = (await import("node:zlib")).gunzipSync;
    const memory = { current: null };
    const inst = await WebAssembly.instantiate(mod, hostImports(memory));
    memory.current = inst.exports.memory;
    return new Converter(inst.exports, config);
  }

  constructor(exports, config) {
    if (!exports || !exports.p2mb_compile)
      throw new TypeError("use `await Converter.create(config)`");
    this._x = exports;
    if (exports.p2mb_sizeof(1) !== ERR_SIZE || exports.p2mb_sizeof(2) > 256 ||
        exports.p2mb_sizeof(3) < OPT_RES_ATTRS + 8 || exports.p2mb_sizeof(5) !== ATTR_SIZE ||
        OFFSETS.some(([which, at]) => exports.p2mb_offsetof(which) !== at) ||
        (exports.p2m_write_prom &&
         PROM_OFFSETS.some(([which, at]) => exports.p2mb_offsetof(which) !== at)))
      throw new Error("profile2metrics: the .wasm's p2m_error / p2m_stats / p2m_options / " +
                      "p2m_attribute / p2m_prom_options layout does not match this module");
    const base = align8(exports.__heap_base.value);
    // fixed area: error, stats, options, three 8-byte out-slots
    this._err = base;
    this._stats = base + 256;
    this._opts = this._stats + 512;
    this._optSize = exports.p2mb_sizeof(3);
    this._slot = align8(this._opts + this._optSize);   // size_t / pointer results
    const fixedEnd = align8(this._slot + 32);
    let text;
    if (config === undefined || config === null) text = "{}";
    else if (typeof config === "string") text = config;
    else {
      try {
        text = JSON.stringify(config);
      } catch (e) {
        throw new P2MError(Status.CONFIG, this._statusName(Status.CONFIG),
          `the configuration is not JSON data: ${e.message}`);
      }
      if (text === undefined)
        throw new TypeError("config must be an object, a JSON string or undefined");
    }
    const json = enc.encode(text);
    // ask for the engine's size, then compile into memory right after the fixed area
    let st = this._compile(json, fixedEnd + 8, 0, 0);
    if (st === Status.MEMORY) {
      const need = this._u32(this._err + ERR_NEEDED);
      this._engineMem = fixedEnd;
      this._engineSize = need;
      st = this._compile(json, align8(fixedEnd + need), fixedEnd, need);
    }
    if (st !== Status.OK) this._throw();
    this._engine = this._u32(this._slot);
    let end = align8(this._engineMem + this._engineSize);
    this._state = 0;
    const stateSize = exports.p2m_state_size(this._engine);
    if (stateSize > 0) {
      this._stateMem = end;
      this._stateSize = stateSize;
      end = align8(end + stateSize);
      this._reserve(end);
      this._initState();
    }
    this._dyn = end;          // input, work and output of each call start here
    this._workSize = 0;
    this._outCap = 16384;
    this._wsSize = 65536;     // the text writers' scratch, grown as they ask
    this._textCap = 65536;     // grown to what the library names, then kept
    this._lastStats = null;
  }

  /** True when the configuration's temporality is cumulative. */
  get cumulative() { return this._state !== 0; }

  /** Statistics of the last successful convert() (an object of numbers). */
  get stats() { return this._lastStats; }

  /** The C library's version. */
  get version() { return this._cstr(this._x.p2m_version()); }

  /** Cumulative temporality: forget every running total. */
  reset() { if (this._state !== 0) this._initState(); }

  /**
   * Converts one OTLP ExportProfilesServiceRequest (protobuf bytes) into an
   * OTLP ExportMetricsServiceRequest, the bytes `p2m convert -f otlp` writes.
   * options.now: Unix nanoseconds (BigInt or Number) for profiles without a
   * time (default: now), as `p2m --now`. options.resourceAttributes: an
   * object of attributes set on every resource of the output (string,
   * boolean, bigint, number or Uint8Array values), replacing input attributes
   * of the same key, as `p2m --resource-attr KEY=VALUE`.
   * format "json": the same request in the OTLP JSON encoding, a string on
   * one line (`p2m -f json` adds a newline; bytes of the input that are not
   * UTF-8 become U+FFFD); "prom": the Prometheus text
   * exposition, a string, with options.promoteResourceAttributes (true for
   * all, or an array of keys) as `p2m --promote-resource-attrs`.
   * options.input "pprof": the input is one pprof Profile (profile.proto, as
   * Go's runtime/pprof writes it) instead of OTLP; gzip'd (1f 8b) it is
   * inflated in Node and refused in a browser.
   * Throws P2MError.
   */
  convert(input, format = "otlp", options = {}) {
    if (typeof format === "object" && format !== null) { options = format; format = "otlp"; }
    if (!FORMATS.includes(format))
      throw new TypeError(`format must be one of ${FORMATS.join(", ")}, not '${format}'`);
    if (format !== "otlp" && !this._x["p2m_write_" + format])
      throw new P2MError(Status.UNSUPPORTED, this._statusName(Status.UNSUPPORTED),
        `format '${format}' needs the library's p2m_write_${format} writer, which this ` +
        `.wasm does not have; use format 'otlp'`);
    if (options.promoteResourceAttributes !== undefined && format !== "prom")
      throw new TypeError("promoteResourceAttributes applies to format 'prom' only");
    if (input instanceof ArrayBuffer) input = new Uint8Array(input);
    if (!(input instanceof Uint8Array)) throw new TypeError("input must be a Uint8Array");
    const kind = options.input ?? "otlp";
    if (!INPUTS.includes(kind))
      throw new TypeError(`input must be one of ${INPUTS.join(", ")}, not '${kind}'`);
    const pprof = kind === "pprof";
    if (pprof && input.length >= 2 && input[0] === 0x1f && input[1] === 0x8b)
      input = this._gunzip(input);
    const fn = pprof ? PPROF_CALLS : OTLP_CALLS;
    const x = this._x;
    const [attrPtr, nAttrs, attrEnd] = this._writeAttributes(options.resourceAttributes);
    const [promPtr, promEnd] = format === "prom" ?
      this._writePromOptions(options.promoteResourceAttributes, attrEnd) : [0, attrEnd];
    const inPtr = promEnd;
    this._reserve(inPtr + input.length + 8);
    new Uint8Array(x.memory.buffer, inPtr, input.length).set(input);
    // The working memory's size is kept from call to call: p2m_work_size (a
    // skim of the whole input, half the cost of a conversion) runs only for
    // the first call; a size that turns out short gives MEMORY with the size
    // that works, and the call is repeated.
    if (this._workSize === 0)
      this._workSize = Math.max(this._workSizeOf(inPtr, input.length, fn), 64);
    let workSize = this._workSize;
    const now = options.now === undefined ? BigInt(Date.now()) * 1000000n : BigInt(options.now);
    let st;
    if (format !== "otlp")
      return this._convertText(inPtr, input.length, now, attrPtr, nAttrs, format, promPtr, fn);
    for (let attempt = 0; attempt < 4; attempt++) {
      const work = align8(inPtr + input.length);
      const out = align8(work + workSize);
      this._reserve(out + this._outCap);
      this._setOptions(now, attrPtr, nAttrs);
      this._clear(this._err, ERR_SIZE);
      this._clear(this._stats, 512);
      st = x[fn.convert](this._engine, inPtr, input.length, this._opts, work, workSize,
                         out, this._outCap, this._slot, this._stats, this._err);
      if (st === Status.OK) {
        const n = this._u32(this._slot);
        const result = new Uint8Array(x.memory.buffer, out, n).slice();
        this._lastStats = this._readStats();
        return result;
      }
      const need = this._u32(this._err + ERR_NEEDED);
      if (st === Status.OUTPUT_TOO_SMALL && need > this._outCap) this._outCap = need;
      else if (st === Status.MEMORY && need > workSize) workSize = this._workSize = need;
      else break;
    }
    // p2m reports what the skim finds first: the same offset here
    if (st === Status.MALFORMED) this._workSizeOf(inPtr, input.length, fn);
    this._throw();
  }

  // gzip'd pprof input, inflated (Node) or refused (browsers)
  _gunzip(input) {
    const malformed = (why) => new P2MError(Status.MALFORMED, this._statusName(Status.MALFORMED),
      `input 'pprof': the input is gzip'd (starts 1f 8b) ${why}`, 0);
    if (gunzipSync === null)
      throw malformed("and this JavaScript host has no synchronous inflater; decompress it " +
                      "first (new Response(blob.stream().pipeThrough(new " +
                      "DecompressionStream('gzip'))).arrayBuffer())");
    try {
      return new Uint8Array(gunzipSync(input));
    } catch (e) {
      throw malformed(`but does not inflate (${e.message}); give the profile as Go wrote it ` +
                      "or uncompressed");
    }
  }

  // ---- internals ----

  _setOptions(now, attrPtr, nAttrs) {
    this._clear(this._opts, this._optSize);
    const dv = new DataView(this._x.memory.buffer);
    dv.setBigUint64(this._opts + OPT_NOW, now, true);
    dv.setUint32(this._opts + OPT_STATE, this._state, true);
    dv.setUint32(this._opts + OPT_RES_ATTRS, attrPtr, true);
    dv.setUint32(this._opts + OPT_RES_ATTRS + 4, nAttrs, true);
  }

  // p2m_aggregate, then p2m_write_json / p2m_write_prom with their scratch
  // and text grown from their answers (at most two MEMORY, then one
  // OUTPUT_TOO_SMALL)
  _convertText(inPtr, len, now, attrPtr, nAttrs, format, promPtr, fn) {
    const x = this._x;
    const work = align8(inPtr + len);
    let st;
    for (let attempt = 0; attempt < 4; attempt++) {
      this._reserve(work + this._workSize);
      this._setOptions(now, attrPtr, nAttrs);
      this._clear(this._err, ERR_SIZE);
      this._clear(this._stats, 512);
      st = x[fn.aggregate](this._engine, inPtr, len, this._opts, work, this._workSize,
                           this._slot + 16, this._stats, this._err);
      const need = this._u32(this._err + ERR_NEEDED);
      if (st === Status.MEMORY && need > this._workSize) this._workSize = need;
      else break;
    }
    if (st === Status.MALFORMED) this._workSizeOf(inPtr, len, fn);
    if (st !== Status.OK) this._throw();
    const result = this._u32(this._slot + 16);
    for (let attempt = 0; attempt < 6; attempt++) {
      const scratch = align8(work + this._workSize);
      const out = align8(scratch + this._wsSize);
      this._reserve(out + this._textCap);
      this._clear(this._err, ERR_SIZE);
      st = format === "prom"
        ? x.p2m_write_prom(result, promPtr, scratch, this._wsSize, out, this._textCap,
                           this._slot, this._err)
        : x.p2m_write_json(result, scratch, this._wsSize, out, this._textCap, this._slot,
                           this._err);
      if (st === Status.OK) {
        const n = this._u32(this._slot);
        const text = dec.decode(new Uint8Array(x.memory.buffer, out, n));
        this._lastStats = Object.freeze({ ...this._readStats(), bytesOut: n });
        return text;
      }
      const need = this._u32(this._err + ERR_NEEDED);
      if (st === Status.MEMORY && need > this._wsSize) this._wsSize = need;
      else if (st === Status.OUTPUT_TOO_SMALL && need > this._textCap) this._textCap = need;
      else break;
    }
    this._throw();
  }

  // p2m_prom_options (wasm32: struct_size at 0, left 0 for the first layout;
  // promote_all at 4, promote_keys at 8, their count at 12, merged_resources
  // at 16) and the keys as NUL-terminated strings, at `at`. Returns
  // [options, first free byte].
  _writePromOptions(promote, at) {
    const opt = align8(at);
    let keys = [];
    let all = 0;
    if (promote === true || promote === "all") all = 1;
    else if (Array.isArray(promote)) keys = promote.map((k) => enc.encode(String(k)));
    else if (promote !== undefined && promote !== null && promote !== false)
      throw new TypeError("promoteResourceAttributes: true, 'all' or an array of keys");
    const arr = opt + PROM_SIZE;
    let p = arr + 4 * keys.length;
    const end = p + keys.reduce((n, k) => n + k.length + 1, 0);
    this._reserve(end + 8);
    const dv = new DataView(this._x.memory.buffer);
    const mem = new Uint8Array(this._x.memory.buffer);
    mem.fill(0, opt, opt + PROM_SIZE);
    dv.setInt32(opt + 4, all, true);
    dv.setUint32(opt + 8, keys.length ? arr : 0, true);
    dv.setUint32(opt + 12, keys.length, true);
    keys.forEach((k, i) => {
      dv.setUint32(arr + 4 * i, p, true);
      mem.set(k, p);
      mem[p + k.length] = 0;
      p += k.length + 1;
    });
    return [opt, align8(end)];
  }

  _compile(json, at, engineMem, engineSize) {
    const x = this._x;
    const scratchSize = x.p2mb_scratch_size(json.length);
    const scratch = align8(at + json.length);
    this._reserve(scratch + scratchSize);
    new Uint8Array(x.memory.buffer, at, json.length).set(json);
    this._clear(this._err, ERR_SIZE);
    return x.p2mb_compile(at, json.length, scratch, scratchSize, engineMem, engineSize,
                          this._slot, this._err);
  }

  // p2m_attribute records (wasm32: key {ptr,len} at 0, value {type at 8,
  // str {ptr,len} at 12, i at 24, d at 32}; 40 bytes) for an object of
  // string, boolean, bigint, number or Uint8Array values, at the start of
  // the call's memory. Returns [records, count, first free byte].
  _writeAttributes(attrs) {
    if (attrs === undefined || attrs === null) return [0, 0, this._dyn];
    if (typeof attrs !== "object") throw new TypeError("resourceAttributes must be an object");
    const entries = Object.entries(attrs);
    const recs = this._dyn;
    const strs = [];
    let at = recs + entries.length * ATTR_SIZE;
    const place = (bytes) => { const p = at; strs.push([p, bytes]); at += bytes.length; return p; };
    const layout = entries.map(([k, v]) => {
      const key = enc.encode(k);
      const kp = place(key);
      if (typeof v === "string") {
        const b = enc.encode(v);
        return [kp, key.length, 1, place(b), b.length, 0n, 0];
      }
      if (typeof v === "boolean") return [kp, key.length, 2, 0, 0, v ? 1n : 0n, 0];
      if (typeof v === "bigint") return [kp, key.length, 3, 0, 0, BigInt.asIntN(64, v), 0];
      if (typeof v === "number" && Number.isInteger(v))
        return [kp, key.length, 3, 0, 0, BigInt(v), 0];
      if (typeof v === "number") return [kp, key.length, 4, 0, 0, 0n, v];
      if (v instanceof Uint8Array) return [kp, key.length, 5, place(v), v.length, 0n, 0];
      throw new TypeError(`resource attribute ${k}: a string, boolean, bigint, number or ` +
                          `Uint8Array value, not ${typeof v}`);
    });
    this._reserve(at + 8);
    const mem = new Uint8Array(this._x.memory.buffer);
    for (const [p, b] of strs) mem.set(b, p);
    const dv = new DataView(this._x.memory.buffer);
    layout.forEach(([kp, kl, type, sp, sl, i, d], n) => {
      const r = recs + n * ATTR_SIZE;
      new Uint8Array(this._x.memory.buffer, r, ATTR_SIZE).fill(0);
      dv.setUint32(r, kp, true);
      dv.setUint32(r + 4, kl, true);
      dv.setInt32(r + 8, type, true);
      dv.setUint32(r + 12, sp, true);
      dv.setUint32(r + 16, sl, true);
      dv.setBigInt64(r + 24, i, true);
      dv.setFloat64(r + 32, d, true);
    });
    return [entries.length ? recs : 0, entries.length, align8(at)];
  }

  _workSizeOf(inPtr, len, fn) {
    this._clear(this._err, ERR_SIZE);
    if (this._x[fn.workSize](this._engine, inPtr, len, this._slot, this._err) !== 0)
      this._throw();
    return this._u32(this._slot);
  }

  _initState() {
    const x = this._x;
    this._clear(this._err, ERR_SIZE);
    if (x.p2m_state_init(this._engine, this._stateMem, this._stateSize, this._slot + 8,
                         this._err) !== 0)
      this._throw();
    this._state = this._u32(this._slot + 8);
  }

  // grows the instance's memory to hold `end` bytes
  _reserve(end) {
    const mem = this._x.memory;
    if (end > 0xffff0000) {
      throw new P2MError(Status.MEMORY, this._statusName(Status.MEMORY),
        `the call needs ${end} bytes of WebAssembly memory, over the 4 GiB of wasm32`, 0, "", end);
    }
    const have = mem.buffer.byteLength;
    if (end <= have) return;
    try {
      mem.grow(Math.ceil((end - have) / 65536));
    } catch (e) {
      throw new P2MError(Status.MEMORY, this._statusName(Status.MEMORY),
        `cannot grow the WebAssembly memory to ${end} bytes: ${e.message}`, 0, "", end);
    }
  }

  _clear(ptr, n) { new Uint8Array(this._x.memory.buffer, ptr, n).fill(0); }
  _u32(ptr) { return new DataView(this._x.memory.buffer).getUint32(ptr, true); }

  _cstr(ptr, max = 1 << 16) {
    const buf = this._x.memory.buffer;
    const b = new Uint8Array(buf, ptr, Math.min(max, buf.byteLength - ptr));
    const end = b.indexOf(0);
    return dec.decode(b.subarray(0, end < 0 ? b.length : end));
  }

  _statusName(status) { return this._cstr(this._x.p2m_status_string(status)); }

  _throw() {
    const dv = new DataView(this._x.memory.buffer);
    const status = dv.getInt32(this._err, true);
    throw new P2MError(status, this._statusName(status), this._cstr(this._err + ERR_MESSAGE, 128),
      dv.getUint32(this._err + ERR_OFFSET, true), this._cstr(this._err + ERR_FIELD, 64),
      dv.getUint32(this._err + ERR_NEEDED, true));
  }

  _readStats() {
    const x = this._x;
    const vals = align8(this._stats + 256);
    x.p2mb_stats_flat(this._stats, vals, STATS_FIELDS.length);
    const a = new BigUint64Array(x.memory.buffer, vals, STATS_FIELDS.length);
    const s = {};
    STATS_FIELDS.forEach((k, i) => { s[k] = Number(a[i]); });
    s.layout = LAYOUTS[s.layout] ?? String(s.layout);
    s.layoutEvidence = LAYOUTS[s.layoutEvidence] ?? String(s.layoutEvidence);
    s.layoutConflict = s.layoutConflict !== 0;
    return Object.freeze(s);
  }
}

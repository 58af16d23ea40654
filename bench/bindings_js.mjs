// SPDX-License-Identifier: MIT
// make bench-pyjs: Converter.convert of the WebAssembly binding in Node on
// one request (default configuration), best of ROUNDS rounds of at least
// MIN_MS ms, in ns per call.   node bindings_js.mjs FILE [ROUNDS] [MIN_MS]
import { readFileSync } from "node:fs";
import { Converter } from "../bindings/js/src/index.js";

const data = new Uint8Array(readFileSync(process.argv[2]));
const rounds = Number(process.argv[3] ?? 7);
const minMs = Number(process.argv[4] ?? 200);
const conv = await Converter.create();
const now = 1700000000000000000n;
conv.convert(data, { now });
let best = Infinity;
for (let r = 0; r < rounds; r++) {
  let it = 0;
  const t0 = process.hrtime.bigint();
  for (;;) {
    conv.convert(data, { now });
    it++;
    if (Number(process.hrtime.bigint() - t0) >= minMs * 1e6) break;
  }
  best = Math.min(best, Number(process.hrtime.bigint() - t0) / it);
}
console.log(best.toFixed(0));

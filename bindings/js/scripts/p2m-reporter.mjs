// SPDX-License-Identifier: MIT
// A reporter for node --test that prints the repository's test lines:
// "PASS name" or "FAIL name: why" for every top-level test
// (node --test --test-reporter=./scripts/p2m-reporter.mjs test/). Lines a
// test prints starting with "# " are passed on (the .wasm size).
export default async function* reporter(source) {
  for await (const event of source) {
    const d = event.data;
    if (event.type === "test:pass" && d.nesting === 0 && !d.details?.type) {
      yield `PASS ${d.name}\n`;
    } else if (event.type === "test:fail" && d.nesting === 0) {
      const err = d.details?.error;
      const why = String(err?.cause?.message ?? err?.message ?? err).replace(/\s+/g, " ");
      yield `FAIL ${d.name}: ${why.slice(0, 600)}\n`;
    } else if (event.type === "test:stdout" && d.message.startsWith("# ")) {
      yield d.message.endsWith("\n") ? d.message : d.message + "\n";
    }
  }
}

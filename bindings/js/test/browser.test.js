// SPDX-License-Identifier: MIT
// The ES module in a browser: headless Chromium (Debian's chromium, or
// $CHROMIUM) loads test/browser.html from a static server this test starts
// on 127.0.0.1 (an ephemeral port) and stops; the page converts every case
// and posts back whether its bytes equal p2m's. Fails when no Chromium is
// installed (tools/install-deps.sh installs it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFile, mkdtemp, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const PKG = fileURLToPath(new URL("../", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CASES = process.env.P2M_CASES || ROOT + "build/bindings/cases";
const TYPES = { ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html",
                ".json": "application/json" };

function chromium() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const p of ["/usr/bin/chromium", "/usr/bin/chromium-browser"]) if (existsSync(p)) return p;
  return null;
}

test("browser-chromium-converts-like-p2m", { timeout: 120000 }, async () => {
  const bin = chromium();
  assert.ok(bin, "no Chromium (Debian package chromium; tools/install-deps.sh installs it)");
  let resolveResult;
  const result = new Promise((r) => { resolveResult = r; });
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    if (req.method === "POST" && url.pathname === "/result") {
      let body = "";
      for await (const chunk of req) body += chunk;
      res.end("ok");
      resolveResult(JSON.parse(body));
      return;
    }
    // /cases/... from the cases directory, everything else from the package
    const rel = normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, "");
    const file = rel.startsWith("/cases/") ? join(CASES, rel.slice(7)) : join(PKG, rel);
    try {
      const data = await readFile(file);
      const ext = file.slice(file.lastIndexOf("."));
      res.writeHead(200, { "content-type": TYPES[ext] || "application/octet-stream" });
      res.end(data);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const port = server.address().port;
  const profile = await mkdtemp(join(tmpdir(), "p2m-chromium-"));
  const proc = spawn(bin, ["--headless=new", "--no-sandbox", "--disable-gpu",
    "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
    "--disable-extensions", "--disable-background-networking", `--user-data-dir=${profile}`,
    `http://127.0.0.1:${port}/test/browser.html`], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr.on("data", (d) => { stderr += d; });
  const exited = new Promise((r) => proc.once("exit", (code) => r(`exited ${code}`)));
  let timeout;
  const timer = new Promise((r) => { timeout = setTimeout(() => r("timeout"), 90000); });
  try {
    const results = await Promise.race([result, exited, timer]);
    assert.ok(Array.isArray(results),
              `no result from the page (${results}); chromium stderr: ${stderr.slice(-800)}`);
    const bad = results.filter((r) => !r.ok);
    assert.ok(results.length >= 70, `only ${results.length} results`);
    console.log(`# ${results.length} checks in Chromium, ${bad.length} failed`);
    assert.deepEqual(bad, []);
  } finally {
    clearTimeout(timeout);
    proc.kill("SIGKILL");
    await exited;
    await new Promise((r) => server.close(r));
    await rm(profile, { recursive: true, force: true });
  }
});

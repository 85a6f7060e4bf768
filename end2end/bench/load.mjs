// Page-load benchmark: bytes on the wire and time to interactive, for one or more deployed builds
// side by side in the same run. Not part of the test suite (nothing here passes or fails).
//
//   node bench/load.mjs [--runs 10] LABEL=DEPLOY_DIR [LABEL=DEPLOY_DIR ...]
//
// A DEPLOY_DIR holds what README's deploy steps copy: `pulseboard`, `Leptos.toml`, `site/` (and
// `hash.txt` for a build with hashed names). Each is started on a free loopback port, with the
// simulated market on, its own data dir and nothing else. For each build the script prints:
// - the js, wasm and css the home page links, as the server sends them: bytes for
//   `Accept-Encoding: identity`, `gzip` and `br` (whatever the server does: on-the-fly or
//   precompressed), with the Content-Encoding and Cache-Control it answered;
// - per page, in Chromium over loopback, the median and spread of `runs` cold loads (a fresh
//   browser context each, so nothing is cached): navigation start to hydrated (the app sets
//   `data-hydrated`) and to the first live event (the first SSE `data:` bytes a page's stream
//   delivers, seen by wrapping `fetch`; pages without activity show "-");
// - a warm load (second navigation in the same context): bytes of /pkg/ files transferred.
import { chromium } from '@playwright/test';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';

const args = process.argv.slice(2);
let runs = 10;
const builds = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--runs') runs = Number(args[++i]);
  else {
    const [label, dir] = args[i].split('=');
    if (!dir) throw new Error(`expected LABEL=DEPLOY_DIR, got ${args[i]}`);
    builds.push({ label, dir });
  }
}
if (builds.length === 0) throw new Error('usage: node bench/load.mjs [--runs N] LABEL=DEPLOY_DIR ...');

const PAGES = ['/', '/markets', '/monitor', '/inspect?topic=ticks'];
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Runs before any page script: stamps hydration and the first SSE data chunk.
const PROBE = () => {
  window.__bench = { hydrated: null, firstEvent: null };
  new MutationObserver(() => {
    if (window.__bench.hydrated === null && document.querySelector('[data-hydrated="true"]')) {
      window.__bench.hydrated = performance.now();
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-hydrated'] });
  const original = window.fetch;
  window.fetch = async (...call) => {
    const response = await original(...call);
    if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream') || !response.body) {
      return response;
    }
    const decoder = new TextDecoder();
    const watch = new TransformStream({
      transform(chunk, controller) {
        if (window.__bench.firstEvent === null && decoder.decode(chunk, { stream: true }).includes('data:')) {
          window.__bench.firstEvent = performance.now();
        }
        controller.enqueue(chunk);
      },
    });
    return new Response(response.body.pipeThrough(watch), {
      status: response.status, statusText: response.statusText, headers: response.headers,
    });
  };
};

function startServer(dir) {
  const data = mkdtempSync(join(tmpdir(), 'pulseboard-bench-'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(LEPTOS|PULSEBOARD)_/.test(k)));
  Object.assign(env, { LEPTOS_SITE_ROOT: 'site', LEPTOS_SITE_ADDR: '127.0.0.1:0', PULSEBOARD_DATA_DIR: data, RUST_LOG: 'warn' });
  const child = spawn('./pulseboard', ['--config', 'Leptos.toml'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${dir}: no "listening" line in 30 s`)), 30_000);
    child.on('exit', (code) => reject(new Error(`${dir}: server exited (${code})`)));
    child.stdout.on('data', (chunk) => {
      const match = /listening on (http:\/\/[\d.:]+)/.exec(chunk.toString());
      if (match) {
        clearTimeout(timer);
        resolve({ base: match[1], stop: () => { child.kill('SIGTERM'); rmSync(data, { recursive: true, force: true }); } });
      }
    });
  });
}

function get(url, encoding) {
  return new Promise((resolve, reject) => {
    http.get(url, { headers: { 'accept-encoding': encoding } }, (res) => {
      let bytes = 0;
      res.on('data', (chunk) => { bytes += chunk.length; });
      res.on('end', () => resolve({ bytes, status: res.statusCode, headers: res.headers }));
    }).on('error', reject);
  });
}

async function sizes(base) {
  const html = await (await fetch(`${base}/`)).text();
  const files = [...new Set([...html.matchAll(/\/pkg\/[^"' ]+\.(?:js|wasm|css)/g)].map((m) => m[0]))];
  const rows = [];
  for (const file of files) {
    const row = { file };
    for (const encoding of ['identity', 'gzip', 'br']) {
      const answer = await get(`${base}${file}`, encoding);
      row[encoding] = answer.bytes;
      row[`${encoding}-encoding`] = answer.headers['content-encoding'] ?? 'none';
      row.cache = answer.headers['cache-control'] ?? '(none)';
    }
    rows.push(row);
  }
  return rows;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN; };
const fmt = (xs) => (xs.length ? `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})` : '-');

async function loads(browser, base) {
  const result = {};
  for (const path of PAGES) {
    const hydrated = [];
    const firstEvent = [];
    for (let run = 0; run < runs; run++) {
      const context = await browser.newContext();
      await context.addInitScript(PROBE);
      const page = await context.newPage();
      await page.goto(`${base}${path}`);
      await page.waitForFunction(() => window.__bench.hydrated !== null, null, { timeout: 30_000 });
      // Give a quiet page up to 5 s for an event.
      await page.waitForFunction(() => window.__bench.firstEvent !== null, null, { timeout: 5_000 }).catch(() => {});
      const probe = await page.evaluate(() => window.__bench);
      hydrated.push(probe.hydrated);
      if (probe.firstEvent !== null) firstEvent.push(probe.firstEvent);
      await context.close();
    }
    result[path] = { hydrated, firstEvent };
  }
  return result;
}

async function warmBytes(browser, base) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/markets`);
  await page.waitForSelector('[data-hydrated="true"]');
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const pkg = new Map();
  cdp.on('Network.responseReceived', (e) => { if (e.response.url.includes('/pkg/')) pkg.set(e.requestId, 0); });
  cdp.on('Network.loadingFinished', (e) => { if (pkg.has(e.requestId)) pkg.set(e.requestId, e.encodedDataLength); });
  await page.goto(`${base}/monitor`);
  await page.waitForSelector('[data-hydrated="true"]');
  await context.close();
  return [...pkg.values()].reduce((a, b) => a + b, 0);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
const report = [];
try {
  for (const build of builds) {
    const server = await startServer(build.dir);
    try {
      console.error(`${build.label}: ${server.base}`);
      report.push({ label: build.label, sizes: await sizes(server.base), loads: await loads(browser, server.base), warm: await warmBytes(browser, server.base) });
    } finally {
      server.stop();
    }
  }
} finally {
  await browser.close();
}

console.log(`### Bytes sent per file (\`Accept-Encoding\`: identity / gzip / br)\n`);
console.log('| Build | File | identity | gzip | br | Cache-Control |');
console.log('|---|---|---:|---:|---:|---|');
for (const { label, sizes: rows } of report) {
  for (const r of rows) {
    const name = r.file.replace(/\.[A-Za-z0-9_-]{22}\./, '.<hash>.');
    console.log(`| ${label} | ${name} | ${r.identity} | ${r.gzip} (${r['gzip-encoding']}) | ${r.br} (${r['br-encoding']}) | ${r.cache} |`);
  }
  const jsWasm = rows.filter((r) => /\.(js|wasm)$/.test(r.file)).reduce((a, r) => a + r.br, 0);
  console.log(`| ${label} | **JS + WASM, br** | | | **${jsWasm}** | |`);
}
console.log(`\n### Cold loads in Chromium over loopback: ms from navigation start, median (min–max) of ${runs}\n`);
console.log(`| Page | ${report.map((r) => `${r.label} hydrated | ${r.label} first event`).join(' | ')} |`);
console.log(`|---|${report.map(() => '---:|---:').join('|')}|`);
for (const path of PAGES) {
  console.log(`| ${path} | ${report.map((r) => `${fmt(r.loads[path].hydrated)} | ${fmt(r.loads[path].firstEvent)}`).join(' | ')} |`);
}
console.log(`\n### Warm load (second page in the same context): bytes of /pkg/ files transferred\n`);
for (const r of report) console.log(`- ${r.label}: ${r.warm}`);

// Streams 10,000 deltas (1 ms apart) and 200 tool cards through the built UI in real WebKitGTK
// (MiniBrowser driven by WebKitWebDriver under Xvfb) and prints rAF frame gaps and IPC envelopes
// per second. Recorded, not asserted. Plain W3C WebDriver over fetch; every request and the whole
// run have time limits, and everything started here is stopped here.
//
//   npm run bench:webkit            (builds first)
//   node bench/webkit-stream.mjs    (uses the existing dist/)

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildHarness, serve } from '../test/browser/server.mjs';

const ui = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const RUN_LIMIT_MS = 240_000;
const W3C_ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';
void W3C_ELEMENT;

/** @type {import('node:child_process').ChildProcess[]} */
const children = [];
/** @type {(() => Promise<void>)[]} */
const cleanups = [];

async function cleanup() {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
}

const watchdog = setTimeout(() => {
  console.error(`webkit bench: gave up after ${RUN_LIMIT_MS / 1000} s`);
  void cleanup().then(() => process.exit(2));
}, RUN_LIMIT_MS);

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * One WebDriver command, with a time limit.
 * @param {string} base @param {string} method @param {string} path @param {unknown} [body] @param {number} [ms]
 */
async function wd(base, method, path, body, ms = 30_000) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(ms),
  });
  const json = /** @type {{ value: any }} */ (await res.json());
  if (!res.ok) throw new Error(`${method} ${path}: ${JSON.stringify(json.value).slice(0, 400)}`);
  return json.value;
}

async function startXvfb() {
  if (process.env['DISPLAY']) return process.env['DISPLAY'];
  for (let n = 90; n < 110; n++) {
    if (existsSync(`/tmp/.X11-unix/X${n}`) || existsSync(`/tmp/.X${n}-lock`)) continue;
    const x = spawn('Xvfb', [`:${n}`, '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], {
      stdio: 'ignore',
    });
    children.push(x);
    for (let i = 0; i < 50 && !existsSync(`/tmp/.X11-unix/X${n}`); i++) await sleep(100);
    if (existsSync(`/tmp/.X11-unix/X${n}`)) return `:${n}`;
    x.kill('SIGTERM');
  }
  throw new Error('could not start Xvfb');
}

/** The in-page script: a new chat, then the stream, then frame statistics. */
const STREAM = `
const [coalesceMs, done] = arguments;
(async () => {
  const h = window.__harness, f = window.__fake;
  const button = [...document.querySelectorAll('button')].find((b) => b.textContent.trim() === 'New chat');
  button.click();
  for (let i = 0; i < 100 && f.created.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 500));
  h.startFrames();
  const stream = await h.stress({ sessionKey: f.created[f.created.length - 1], deltas: 10000, tools: 200, spacingMs: 1, coalesceMs });
  await new Promise((r) => setTimeout(r, 400));
  const frames = h.stopFrames();
  const cards = document.querySelectorAll('[role=group][aria-label^="Tool "]').length;
  done({ stream, frames, cards, nodes: document.querySelectorAll('*').length });
})().catch((e) => done({ error: String(e) }));
`;

async function main() {
  const harness = await buildHarness(ui);
  const server = await serve({ dist: join(ui, 'dist'), harness });
  cleanups.push(() => server.close());
  const display = await startXvfb();
  const port = await freePort();
  const driver = spawn('WebKitWebDriver', [`--port=${port}`], {
    stdio: 'ignore',
    env: { ...process.env, DISPLAY: display },
  });
  children.push(driver);
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await wd(base, 'GET', '/status', undefined, 1000);
      break;
    } catch {
      await sleep(100);
    }
  }
  /** @type {Record<string, any>} */
  const results = {};
  for (const [name, coalesceMs] of [
    ['coalesced (16 ms windows, as the bridge sends)', 16],
    ['one envelope per delta', 0],
  ]) {
    const session = await wd(base, 'POST', '/session', {
      capabilities: {
        alwaysMatch: {
          browserName: 'MiniBrowser',
          'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
        },
      },
    });
    const id = session.sessionId;
    try {
      await wd(base, 'POST', `/session/${id}/window/rect`, { width: 1280, height: 800 }).catch(
        () => undefined,
      );
      await wd(base, 'POST', `/session/${id}/timeouts`, { script: 120_000 });
      await wd(base, 'POST', `/session/${id}/url`, { url: `${server.url}/` });
      for (let i = 0; i < 100; i++) {
        const ready = await wd(base, 'POST', `/session/${id}/execute/sync`, {
          script:
            'return !!document.querySelector("textarea") && document.querySelectorAll("article").length > 0',
          args: [],
        });
        if (ready) break;
        await sleep(100);
      }
      const out = await wd(
        base,
        'POST',
        `/session/${id}/execute/async`,
        { script: STREAM, args: [coalesceMs] },
        150_000,
      );
      if (out.error) throw new Error(out.error);
      results[String(name)] = out;
      const version = await wd(base, 'POST', `/session/${id}/execute/sync`, {
        script: 'return navigator.userAgent',
        args: [],
      });
      results['userAgent'] = version;
    } finally {
      await wd(base, 'DELETE', `/session/${id}`).catch(() => undefined);
    }
  }

  const rows = Object.entries(results)
    .filter(([k]) => k !== 'userAgent')
    .map(([k, r]) => ({
      delivery: k,
      frames: r.frames.frames,
      'gap p50 ms': r.frames.p50.toFixed(1),
      'gap p95 ms': r.frames.p95.toFixed(1),
      'gap max ms': r.frames.max.toFixed(1),
      'gaps > 50 ms': r.frames.over50,
      envelopes: r.stream.envelopes,
      'envelopes/s': r.stream.envelopesPerSecond.toFixed(0),
      'stream s': (r.stream.durationMs / 1000).toFixed(1),
      'tool cards': r.cards,
    }));
  console.log(
    `WebKitGTK (${results['userAgent']}), Xvfb ${display}, 55 KB in 10,000 deltas 1 ms apart + 200 tool calls`,
  );
  console.table(rows);
  mkdirSync(join(ui, 'test-results'), { recursive: true });
  writeFileSync(join(ui, 'test-results/perf-webkit.json'), JSON.stringify(results, null, 2));
}

try {
  await main();
} catch (e) {
  console.error(`webkit bench failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
  await cleanup();
}

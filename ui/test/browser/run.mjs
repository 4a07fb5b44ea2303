// Runs the browser tests against the BUILT UI (dist/) in Debian's Chromium, with IPC mocked by
// @tauri-apps/api/mocks and the fake backend. Prints one line per test and `N passed, M failed`.

import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { buildHarness, serve } from './server.mjs';
import { tests } from './tests.mjs';

const ui = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const results = join(ui, 'test-results');
mkdirSync(results, { recursive: true });

const only = process.argv.slice(2);
const harness = await buildHarness(ui);
const server = await serve({ dist: join(ui, 'dist'), harness });
const profile = mkdtempSync(join(tmpdir(), 'tether-ui-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 800 },
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

let passed = 0;
let failed = 0;
const started = Date.now();
try {
  for (const test of tests) {
    if (only.length > 0 && !only.some((o) => test.name.includes(o))) continue;
    const t0 = Date.now();
    /** @type {import('playwright-core').Page[]} */
    const pages = [];
    try {
      await Promise.race([
        test.run({ context, url: server.url, results, pages }),
        new Promise((_, reject) =>
          setTimeout(
            () => reject(new Error(`timed out after ${test.timeoutMs ?? 30000} ms`)),
            test.timeoutMs ?? 30000,
          ),
        ),
      ]);
      passed++;
      console.log(`  ✓ ${test.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(
        `  ✗ ${test.name} (${Date.now() - t0} ms)\n      ${String(
          e instanceof Error ? (e.stack ?? e.message) : e,
        )
          .split('\n')
          .slice(0, 6)
          .join('\n      ')}`,
      );
      const page = pages[pages.length - 1];
      if (page)
        await page
          .screenshot({ path: join(results, `failed-${test.name.replace(/\W+/g, '-')}.png`) })
          .catch(() => undefined);
    } finally {
      for (const p of pages) await p.close().catch(() => undefined);
    }
  }
} finally {
  await context.close();
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(`\nbrowser: ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);

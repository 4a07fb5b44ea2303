// A tiny static server for the built UI: serves dist/ under the production CSP (the header Tauri
// sends, minus its nonces), and injects the test harness in front of the app's own script. A page
// asked for with `?nocsp=1` gets no CSP, for the sanitizer-only and positive-control checks.

import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { extname, join, normalize } from 'node:path';

export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; " +
  "connect-src ipc: http://ipc.localhost; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

/**
 * @param {{ dist: string, harness: string }} dirs
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export async function serve({ dist, harness }) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const noCsp = url.searchParams.has('nocsp');
    let path = decodeURIComponent(url.pathname);
    let root = dist;
    if (path.startsWith('/__harness__/')) {
      root = harness;
      path = path.slice('/__harness__'.length);
    }
    if (path === '/') path = '/index.html';
    const file = normalize(join(root, path));
    if (!file.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    try {
      let body = await readFile(file);
      if (path === '/index.html' && root === dist) {
        const html = body
          .toString('utf8')
          .replace(
            '<script type="module"',
            '<script type="module" src="/__harness__/harness.js"></script>\n    <script type="module"',
          );
        body = Buffer.from(html);
      }
      /** @type {Record<string, string>} */
      const headers = {
        'content-type':
          TYPES[/** @type {keyof typeof TYPES} */ (extname(file))] ?? 'application/octet-stream',
        'cache-control': 'no-store',
      };
      if (!noCsp) headers['content-security-policy'] = CSP;
      res.writeHead(200, headers).end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve(undefined))),
  };
}

/**
 * Builds the harness bundle (fake backend + test handles) next to, never inside, dist.
 * @param {string} uiDir
 */
export async function buildHarness(uiDir) {
  const { build } = await import('vite');
  const outDir = join(uiDir, 'test/.harness');
  await build({
    configFile: false,
    root: uiDir,
    logLevel: 'warn',
    resolve: { conditions: ['browser'] },
    build: {
      outDir,
      emptyOutDir: true,
      target: 'safari16',
      minify: false,
      sourcemap: false,
      lib: { entry: join(uiDir, 'src/testing/harness.ts'), formats: ['es'], fileName: () => 'harness.js' },
    },
  });
  return outDir;
}

// Drives upstream OpenClaw's own web dashboard (the "Control UI", a Lit SPA from the `openclaw`
// npm package) against one gateway in Debian's Chromium through playwright-core, and writes what
// it saw. Used by `tests/tests/upstream_control_ui.rs` against Tether's gateway and against
// upstream's, so both runs go through exactly the same steps.
//
//   CONTROL_UI_TOKEN=… node tests/control-ui/interop.mjs \
//     '{"baseUrl":"http://127.0.0.1:PORT","outDir":"/some/dir","marker":"MARK-ui-7q"}'
//
// Keys (JSON argument, else environment): baseUrl (CONTROL_UI_BASE_URL), token
// (CONTROL_UI_TOKEN; better in the environment than on a command line), outDir
// (CONTROL_UI_OUT_DIR), marker (CONTROL_UI_MARKER), and optional chromium (default
// /usr/bin/chromium), label, timeoutMs (whole run, default 600000), knownBanners
// (CONTROL_UI_KNOWN_BANNERS: [{text: "<regex>", pages?: ["<group>: <name>"], reason}], banners
// that upstream's own gateway shows too: recorded, not failed).
//
// Steps: log in with `/#token=…` (same-origin gateway, no login form); wait until the chat is
// usable; send "Say hello" and wait for the reply carrying the marker; reload and check the
// history is still shown; a turn in which the model calls the `read` tool (its card and the
// answer show once each); a turn in which the model calls `exec`, the gateway asks for approval
// and the user allows it once (the request shown, then the answer); a turn stopped with the Stop button while it streams (it ends
// "Interrupted", the partial reply kept); a second conversation started with "New conversation",
// then Home (the first one's history, not the second's) and the second again from the sidebar's
// sessions list; then open every page the UI's navigation offers: the sidebar's
// `navigation` links, the links of its "More" menu, the identity menu's Settings and every link
// of its "Settings sections" navigation. For each page it records URL, title, visible error
// banners and toasts, failed RPCs (`ok:false` responses on the page's WebSocket, matched to their
// request by id), HTTP errors, console errors, uncaught page errors and the methods called.
// Screenshots, `report.json` and `ws-frames.jsonl` (every frame but tick/health, the secret
// redacted) go to `outDir`.
//
// Exit status 1 when: the reply never renders; the history is not shown after the reload; the
// chat shows the message or the reply other than exactly once (after the reply or the reload);
// any RPC fails with `unknown method`; any page shows an error banner (or an error toast) not in
// knownBanners. 2 on a usage error, else 0. The report is written in every case.
//
// playwright-core is taken from ui/node_modules (the UI's own dev dependency), so this script
// needs no package.json of its own.

import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const requireFromUi = createRequire(join(repo, 'ui', 'package.json'));

function usage(message) {
  console.error(`interop.mjs: ${message}`);
  console.error(
    'usage: node tests/control-ui/interop.mjs \'{"baseUrl":"http://127.0.0.1:PORT","token":"…","outDir":"DIR","marker":"TEXT"}\'',
  );
  process.exit(2);
}

function readConfig() {
  let fromArg = {};
  if (process.argv[2]) {
    try {
      fromArg = JSON.parse(process.argv[2]);
    } catch (e) {
      usage(`the argument is not JSON: ${e.message}`);
    }
  }
  const env = process.env;
  const cfg = {
    baseUrl: fromArg.baseUrl ?? env.CONTROL_UI_BASE_URL,
    token: fromArg.token ?? env.CONTROL_UI_TOKEN,
    outDir: fromArg.outDir ?? env.CONTROL_UI_OUT_DIR,
    marker: fromArg.marker ?? env.CONTROL_UI_MARKER,
    label: fromArg.label ?? env.CONTROL_UI_LABEL ?? '',
    chromium: fromArg.chromium ?? env.CONTROL_UI_CHROMIUM ?? '/usr/bin/chromium',
    timeoutMs: Number(fromArg.timeoutMs ?? env.CONTROL_UI_TIMEOUT_MS ?? 600_000),
    // Banners the UI shows against upstream's own gateway too, so not a gateway's fault:
    // [{text: "<regex>", pages?: ["Settings: Advanced", …], reason: "…"}]. Recorded, not failed.
    knownBanners: fromArg.knownBanners ?? JSON.parse(env.CONTROL_UI_KNOWN_BANNERS ?? '[]'),
  };
  for (const k of ['baseUrl', 'token', 'outDir', 'marker']) if (!cfg[k]) usage(`missing ${k}`);
  cfg.baseUrl = cfg.baseUrl.replace(/\/+$/, '');
  return cfg;
}

const cfg = readConfig();
mkdirSync(cfg.outDir, { recursive: true });
// Every WebSocket frame (but tick/health events), one JSON line each, for debugging a failure.
const FRAMES = join(cfg.outDir, 'ws-frames.jsonl');
writeFileSync(FRAMES, '');

let chromium;
try {
  ({ chromium } = requireFromUi('playwright-core'));
} catch (e) {
  usage(`playwright-core not found under ui/node_modules (run \`npm install\` in ui/): ${e.message}`);
}

// How long one step may take: generous, a bug fails instead of hanging. The reply's deadline
// covers upstream's slow first turn on a loaded 2-core machine.
const STEP_MS = 60_000;
const REPLY_MS = 180_000;
// A page is "settled" when no RPC is pending and none was sent or answered for this long.
const QUIET_MS = 1_000;
const SETTLE_MAX_MS = 20_000;

// The scripted turns after the first (the test's mock provider answers these prompts so).
const TOOL_ASK = 'Read notes.txt please';
const TOOL_DONE = 'The notes say MARK-tool-done';
const TOOL_FILE = 'notes.txt';
const EXEC_ASK = 'Run the printf please';
const EXEC_DONE = 'The command ran MARK-exec-done';
const ABORT_ASK = 'Count to a million';
const ABORT_PARTIAL = 'One, two, three';
const SECOND_ASK = 'A second conversation';
const SECOND_DONE = 'Second conversation reply MARK-s2-done';

const log = (...a) => console.log(`[control-ui${cfg.label ? ` ${cfg.label}` : ''}]`, ...a);

// ---------------------------------------------------------------------------------------------
// What is collected.

const report = {
  label: cfg.label,
  baseUrl: cfg.baseUrl,
  marker: cfg.marker,
  startedAt: new Date().toISOString(),
  passed: false,
  failures: [],
  steps: {},
  pages: [],
  failedRpcs: [],
  consoleErrors: [],
  pageErrors: [],
  httpErrors: [],
  socketEvents: [],
  rpcCount: 0,
};

/** The page (step) that frames, console lines and responses are attributed to. */
let current = 'login';
const perPage = new Map();
function bucket(name = current) {
  let b = perPage.get(name);
  if (!b) {
    b = { failedRpcs: [], consoleErrors: [], pageErrors: [], httpErrors: [], methods: new Set() };
    perPage.set(name, b);
  }
  return b;
}

// RPC bookkeeping for the settle wait and for matching responses to requests.
const pending = new Map(); // key `${socket}:${id}` -> method
let lastRpcActivity = Date.now();
let socketSeq = 0;
let chatFinals = 0;

function fail(message) {
  log(`FAIL: ${message}`);
  report.failures.push(message);
}

/** Appends one frame to ws-frames.jsonl: the shared secret redacted, huge frames cut. */
function recordFrame(sock, dir, text, j) {
  if (j?.type === 'event' && (j.event === 'tick' || j.event === 'health')) return;
  let frame = j;
  if (j?.type === 'req' && j.method === 'connect' && j.params?.auth) {
    frame = {
      ...j,
      params: {
        ...j.params,
        auth: Object.fromEntries(Object.keys(j.params.auth).map((k) => [k, '<redacted>'])),
      },
    };
  }
  let line = JSON.stringify({ page: current, socket: sock, dir, frame: frame ?? text });
  if (line.length > 64 * 1024) {
    line = JSON.stringify({
      page: current,
      socket: sock,
      dir,
      truncated: text.length,
      head: String(text).slice(0, 4096),
    });
  }
  appendFileSync(FRAMES, `${line}\n`);
}

function attach(page) {
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const e = { page: current, text: m.text().slice(0, 2000), location: m.location()?.url };
    report.consoleErrors.push(e);
    bucket().consoleErrors.push(e.text);
  });
  page.on('pageerror', (err) => {
    const e = { page: current, message: String(err?.stack ?? err).slice(0, 2000) };
    report.pageErrors.push(e);
    bucket().pageErrors.push(e.message);
  });
  page.on('response', (r) => {
    if (r.status() < 400) return;
    const e = { page: current, status: r.status(), method: r.request().method(), url: r.url() };
    report.httpErrors.push(e);
    bucket().httpErrors.push(`${e.status} ${e.method} ${e.url}`);
  });
  page.on('websocket', (ws) => {
    const sock = ++socketSeq;
    report.socketEvents.push({ page: current, socket: sock, event: 'open', url: ws.url() });
    ws.on('framesent', (f) => {
      const j = parseFrame(f.payload);
      recordFrame(sock, 'sent', f.payload, j);
      if (j?.type !== 'req') return;
      report.rpcCount++;
      pending.set(`${sock}:${j.id}`, j.method);
      lastRpcActivity = Date.now();
      bucket().methods.add(j.method);
    });
    ws.on('framereceived', (f) => {
      const j = parseFrame(f.payload);
      recordFrame(sock, 'received', f.payload, j);
      if (!j) return;
      if (j.type === 'event') {
        if (j.event === 'chat' && j.payload?.state === 'final') chatFinals++;
        return;
      }
      if (j.type !== 'res') return;
      const key = `${sock}:${j.id}`;
      const method = pending.get(key) ?? `(unmatched id ${j.id})`;
      // `agent`-style methods answer twice (accepted, then final); only the last one clears.
      if (j.ok === false || j.payload?.status !== 'accepted') pending.delete(key);
      lastRpcActivity = Date.now();
      if (j.ok === false) {
        const e = { page: current, method, id: j.id, error: j.error ?? null };
        report.failedRpcs.push(e);
        bucket().failedRpcs.push({ method, error: j.error ?? null });
      }
    });
    ws.on('socketerror', (e) =>
      report.socketEvents.push({ page: current, socket: sock, event: 'error', error: String(e) }),
    );
    ws.on('close', () => {
      report.socketEvents.push({ page: current, socket: sock, event: 'close' });
      for (const k of [...pending.keys()]) if (k.startsWith(`${sock}:`)) pending.delete(k);
    });
  });
}

function parseFrame(payload) {
  if (typeof payload !== 'string') return null;
  try {
    return JSON.parse(payload);
  } catch {
    return null;
  }
}

/** Waits until no RPC is pending and none moved for QUIET_MS (at most SETTLE_MAX_MS). */
async function settle(page) {
  const until = Date.now() + SETTLE_MAX_MS;
  for (;;) {
    const quiet = pending.size === 0 && Date.now() - lastRpcActivity >= QUIET_MS;
    if (quiet) return true;
    if (Date.now() > until) return false;
    await page.waitForTimeout(100); // polling a condition, not synchronizing on time
  }
}

// ---------------------------------------------------------------------------------------------
// Error banners and toasts. The Lit UI marks its error states with `role="alert"` almost
// everywhere (lazy-view errors, page errors, callouts); a few error boxes only have classes, so
// those are listed too (class names read from the bundle, dist/control-ui/assets/*.js).
const BANNER_SELECTOR = [
  '[role="alert"]',
  '.callout.danger',
  '.oc-banner-error',
  '.chat-error',
  '.lazy-view-error',
  '.cron-error-banner',
  '.systems-callout--error',
  '.sessions-error',
  '.settings-status--error',
].join(', ');
// Toasts are `.app-toast` (role="status", so they have no accessible error role of their own).
const TOAST_SELECTOR = '.app-toast';
const ERRORISH = /error|fail|unavailable|unknown method|not supported|unsupported|denied|refused/i;

async function visibleTexts(page, selector) {
  const out = [];
  for (const el of await page.locator(selector).all()) {
    try {
      if (!(await el.isVisible())) continue;
      const text = (await el.innerText({ timeout: 2_000 })).trim().replace(/\s+/g, ' ');
      if (text && !out.includes(text)) out.push(text.slice(0, 500));
    } catch {
      // the element went away while being read
    }
  }
  return out;
}

async function connectionStatus(page) {
  const s = page
    .getByRole('status')
    .filter({ hasText: /^(connected|disconnected|connecting|reconnecting)/i });
  try {
    return (await s.first().innerText({ timeout: 1_000 })).trim();
  } catch {
    return null;
  }
}

function slug(s) {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

let shotSeq = 0;
async function shot(page, name) {
  const file = `${String(++shotSeq).padStart(2, '0')}-${slug(name)}.png`;
  await page
    .screenshot({ path: join(cfg.outDir, file) })
    .catch((e) => log(`screenshot ${file}: ${e.message}`));
  return file;
}

// ---------------------------------------------------------------------------------------------
// Steps.

async function waitChatUsable(page) {
  // The UI either connects (composer + "Connected" status) or shows its login gate (ids only:
  // `#login-gate-credential`, `.login-gate__connect`) or a pairing notice.
  const composer = page.getByRole('textbox', { name: 'Chat composer' });
  const gate = page.locator('#login-gate-credential');
  await composer.or(gate).first().waitFor({ timeout: STEP_MS });
  if (await gate.isVisible()) {
    const why = await visibleTexts(page, `${BANNER_SELECTOR}, .login-gate`);
    throw new Error(`the login form is shown instead of the chat: ${why.join(' | ')}`);
  }
  await page
    .getByRole('status')
    .filter({ hasText: /^Connected$/ })
    .first()
    .waitFor({ timeout: STEP_MS });
  await composer.waitFor({ state: 'visible', timeout: STEP_MS });
  return composer;
}

async function sendAndWaitReply(page) {
  current = 'chat';
  const composer = await waitChatUsable(page);
  await composer.fill('Say hello');
  // The send button's name is "Send message" once there is text ("Write a message to send."
  // while empty).
  await page.getByRole('button', { name: 'Send message' }).click({ timeout: STEP_MS });
  const log_ = page.getByRole('log');
  await log_.getByText('Say hello', { exact: true }).first().waitFor({ timeout: STEP_MS });
  await log_.getByText(cfg.marker).first().waitFor({ timeout: REPLY_MS });
  // Let the run's end (final event, refreshed session rows) land before the screenshot.
  const finalBy = Date.now() + STEP_MS;
  while (chatFinals === 0 && Date.now() < finalBy) await page.waitForTimeout(100);
  await settle(page);
}

/** How many times the chat shows the message and the reply (upstream: once each). */
async function chatCounts(page) {
  const log_ = page.getByRole('log');
  return {
    userMessages: await log_.getByText('Say hello', { exact: true }).filter({ visible: true }).count(),
    replies: await log_.getByText(cfg.marker).filter({ visible: true }).count(),
  };
}

function checkCounts(step, counts) {
  if (counts.userMessages !== 1 || counts.replies !== 1) {
    fail(
      `${step}: the chat shows "Say hello" ${counts.userMessages} times and the reply ` +
        `${counts.replies} times (once each against upstream's gateway)`,
    );
  }
}

async function checkHistoryAfterReload(page) {
  current = 'reload';
  await page.reload();
  await waitChatUsable(page);
  const log_ = page.getByRole('log');
  await log_.getByText('Say hello', { exact: true }).first().waitFor({ timeout: STEP_MS });
  await log_.getByText(cfg.marker).first().waitFor({ timeout: STEP_MS });
  await settle(page);
}

/** The page's accessibility tree as YAML next to the screenshots (for a person debugging). */
async function dumpAria(page, name) {
  try {
    const yml = await page.locator('body').ariaSnapshot({ timeout: 5_000 });
    writeFileSync(join(cfg.outDir, `${slug(name)}.aria.yml`), yml);
  } catch (e) {
    log(`aria snapshot ${name}: ${e.message.split('\n')[0]}`);
  }
}

async function send(page, text) {
  const composer = await waitChatUsable(page);
  await composer.fill(text);
  await page.getByRole('button', { name: 'Send message' }).click({ timeout: STEP_MS });
  await page.getByRole('log').getByText(text, { exact: true }).first().waitFor({ timeout: STEP_MS });
}

/** A turn in which the model calls the `read` tool: the tool's activity and the answer show. */
async function toolTurn(page) {
  current = 'tool turn';
  const finals = chatFinals;
  await send(page, TOOL_ASK);
  const log_ = page.getByRole('log');
  await log_.getByText(TOOL_DONE).first().waitFor({ timeout: REPLY_MS });
  const finalBy = Date.now() + STEP_MS;
  while (chatFinals === finals && Date.now() < finalBy) await page.waitForTimeout(100);
  await settle(page);
  await dumpAria(page, 'tool turn');
  // The tool's activity: a card naming the tool and its file ("Read notes.txt").
  const card = log_.getByRole('button', { name: `Read ${TOOL_FILE}` });
  await card.first().waitFor({ timeout: STEP_MS });
  const counts = {
    asks: await log_.getByText(TOOL_ASK, { exact: true }).filter({ visible: true }).count(),
    toolCards: await card.filter({ visible: true }).count(),
    answers: await log_.getByText(TOOL_DONE).filter({ visible: true }).count(),
  };
  if (counts.asks !== 1 || counts.toolCards !== 1 || counts.answers !== 1)
    fail(`tool turn: the chat shows the message ${counts.asks}, the tool ${counts.toolCards} and the answer ${counts.answers} times (once each against upstream's gateway)`);
  return counts;
}

/**
 * A turn in which the model calls `exec` and the gateway asks for approval (both gateways are
 * configured with `tools.exec.ask: "always"`): the UI shows the request, the user allows it once,
 * the command runs and the answer shows.
 */
async function approvalTurn(page) {
  current = 'approval turn';
  const finals = chatFinals;
  await send(page, EXEC_ASK);
  // The request's decision buttons ("Allow once", possibly named with the command).
  const allow = page.getByRole('button', { name: /^Allow once/ });
  await allow.first().waitFor({ timeout: REPLY_MS });
  await settle(page);
  await dumpAria(page, 'approval requested');
  const requested = await shot(page, 'approval requested');
  const saysSo = await page.getByText(/approval needed/i).filter({ visible: true }).count();
  if (saysSo === 0)
    fail('approval turn: the decision buttons show without saying an approval is needed');
  await allow.first().click({ timeout: STEP_MS });
  const log_ = page.getByRole('log');
  await log_.getByText(EXEC_DONE).first().waitFor({ timeout: REPLY_MS });
  const finalBy = Date.now() + STEP_MS;
  while (chatFinals === finals && Date.now() < finalBy) await page.waitForTimeout(100);
  await settle(page);
  await dumpAria(page, 'approval allowed');
  const counts = {
    asks: await log_.getByText(EXEC_ASK, { exact: true }).filter({ visible: true }).count(),
    answers: await log_.getByText(EXEC_DONE).filter({ visible: true }).count(),
    pendingButtons: await allow.filter({ visible: true }).count(),
  };
  if (counts.asks !== 1 || counts.answers !== 1)
    fail(`approval turn: the chat shows the message ${counts.asks} and the answer ${counts.answers} times (once each against upstream's gateway)`);
  if (counts.pendingButtons !== 0)
    fail('approval turn: the request still offers "Allow once" after it was allowed and the run ended');
  return { counts, requested };
}

/** A turn the user stops while it streams. */
async function abortTurn(page) {
  current = 'abort turn';
  await send(page, ABORT_ASK);
  await page.getByRole('log').getByText(ABORT_PARTIAL).first().waitFor({ timeout: REPLY_MS });
  await dumpAria(page, 'abort streaming');
  await shot(page, 'abort streaming');
  await page.getByRole('button', { name: /^stop/i }).first().click({ timeout: STEP_MS });
  // The run ends as interrupted, its partial reply kept, and the composer is free again.
  await page.getByRole('status').filter({ hasText: /^Interrupted$/ }).first().waitFor({ timeout: STEP_MS });
  await settle(page);
  await dumpAria(page, 'abort stopped');
  const partial = await page.getByRole('log').getByText(ABORT_PARTIAL).filter({ visible: true }).count();
  if (partial !== 1) fail(`abort turn: the partial reply shows ${partial} times (once against upstream's gateway)`);
  const stop = await page.getByRole('button', { name: /^stop/i }).filter({ visible: true }).count();
  if (stop !== 0) fail('abort turn: the stop button is still shown after the run was interrupted');
}

/** A second conversation ("New conversation"), then back to the first and to the second again. */
async function sessionsTurn(page) {
  current = 'sessions';
  const sidebar = page.getByRole('complementary').first();
  await sidebar.getByRole('link', { name: 'New conversation' }).first().click({ timeout: STEP_MS });
  // The new-conversation page has its own composer, found by its name and only once shown:
  // right after the click the chat's composer can still be the first textbox in the main
  // region (seen against upstream's gateway on a loaded machine, where a fill then waited on
  // it until it timed out).
  const first = page
    .getByRole('main')
    .getByRole('textbox', { name: 'What should this session work on?' })
    .filter({ visible: true })
    .first();
  await first.waitFor({ timeout: STEP_MS });
  // The page loads its environments and workspaces and re-renders its form when they arrive;
  // an Enter before that is lost (seen against upstream's gateway on a loaded machine).
  await settle(page);
  await dumpAria(page, 'new conversation');
  await first.fill(SECOND_ASK);
  await first.press('Enter');
  const log_ = page.getByRole('log');
  const sent = log_.getByText(SECOND_ASK, { exact: true }).first();
  // Still on the form with the text typed: the Enter was not taken; press it again (a taken
  // one leaves the form for the new conversation's chat).
  for (let attempt = 1; attempt < 3; attempt++) {
    try {
      await sent.waitFor({ timeout: 15_000 });
      break;
    } catch (e) {
      const pending = (await first.isVisible()) && (await first.inputValue()) === SECOND_ASK;
      if (!pending) throw e;
      log(`sessions: the new conversation's Enter was not taken; pressing it again (${attempt})`);
      await first.press('Enter');
    }
  }
  await sent.waitFor({ timeout: STEP_MS });
  await log_.getByText(SECOND_DONE).first().waitFor({ timeout: REPLY_MS });
  await settle(page);
  const secondUrl = page.url();
  await dumpAria(page, 'second session');
  await shot(page, 'second session');
  // Home is the main session: its history, not the second one's.
  await sidebar.getByRole('link', { name: 'Home', exact: true }).click({ timeout: STEP_MS });
  await log_.getByText('Say hello', { exact: true }).first().waitFor({ timeout: STEP_MS });
  await settle(page);
  await dumpAria(page, 'back to main');
  const leaked = await log_.getByText(SECOND_ASK, { exact: true }).filter({ visible: true }).count();
  if (leaked) fail('sessions: the main session shows the second session\'s message');
  // The sidebar lists the second conversation (titles differ: upstream names it with its
  // model): switch to it by its link.
  const path = new URL(secondUrl).pathname;
  const entry = sidebar.locator(`a[href="${path}"]`).first();
  await entry.waitFor({ timeout: STEP_MS });
  const title = (await entry.innerText()).trim();
  await entry.click({ timeout: STEP_MS });
  await log_.getByText(SECOND_DONE).first().waitFor({ timeout: STEP_MS });
  await settle(page);
  return { secondUrl, sidebarTitle: title };
}

async function pathOf(href) {
  if (!href) return null;
  try {
    return new URL(href, cfg.baseUrl).pathname;
  } catch {
    return null;
  }
}

function isKnownBanner(label, text) {
  return cfg.knownBanners.some(
    (k) => new RegExp(k.text).test(text) && (!Array.isArray(k.pages) || k.pages.includes(label)),
  );
}

let lastTitle = null;
let lastUrl = null;

/** Opens one page with `open()` (a click), waits for it, and records what it shows. */
async function visit(page, { group, name, href }, open) {
  const label = `${group}: ${name}`;
  current = label;
  const entry = { group, name, href, url: null, title: null, heading: null, settled: false };
  try {
    await open();
    const want = await pathOf(href);
    if (want) {
      await page
        .waitForURL((u) => u.pathname === want || u.pathname.startsWith(`${want}/`), { timeout: STEP_MS })
        .catch(() => (entry.urlMismatch = true));
    }
    await page.locator('main').first().waitFor({ timeout: STEP_MS });
    entry.settled = await settle(page);
  } catch (e) {
    entry.openError = e.message.split('\n')[0];
  }
  entry.url = page.url();
  entry.title = await page.title();
  // The document title follows the route a moment later; give it a bounded chance to.
  for (let i = 0; i < 30 && entry.title === lastTitle && entry.url !== lastUrl; i++) {
    await page.waitForTimeout(100);
    entry.title = await page.title();
  }
  lastTitle = entry.title;
  lastUrl = entry.url;
  try {
    entry.heading = (await page.locator('main h1, main h2').first().innerText({ timeout: 1_000 })).trim();
  } catch {
    entry.heading = null;
  }
  entry.connection = await connectionStatus(page);
  const banners = await visibleTexts(page, BANNER_SELECTOR);
  entry.knownBanners = banners.filter((t) => isKnownBanner(label, t));
  entry.banners = banners.filter((t) => !isKnownBanner(label, t));
  entry.toasts = await visibleTexts(page, TOAST_SELECTOR);
  entry.errorToasts = entry.toasts.filter((t) => ERRORISH.test(t));
  entry.screenshot = await shot(page, label);
  const b = bucket(label);
  Object.assign(entry, {
    failedRpcs: b.failedRpcs,
    consoleErrors: b.consoleErrors,
    pageErrors: b.pageErrors,
    httpErrors: b.httpErrors,
    methods: [...b.methods].sort(),
  });
  report.pages.push(entry);
  log(
    `${label} -> ${entry.url} "${entry.title}"` +
      `${entry.banners.length ? ` BANNERS: ${entry.banners.join(' | ')}` : ''}` +
      `${entry.failedRpcs.length ? ` failed RPCs: ${entry.failedRpcs.map((f) => f.method).join(', ')}` : ''}`,
  );
  if (entry.openError) fail(`${label}: could not open the page: ${entry.openError}`);
  if (entry.banners.length) fail(`${label}: error banner: ${entry.banners.join(' | ')}`);
  if (entry.errorToasts.length) fail(`${label}: error toast: ${entry.errorToasts.join(' | ')}`);
  return entry;
}

async function linksOf(container) {
  const out = [];
  for (const l of await container.getByRole('link').all()) {
    const name = (await l.getAttribute('aria-label')) ?? (await l.innerText()).trim().replace(/\s+/g, ' ');
    out.push({ name, href: await l.getAttribute('href') });
  }
  return out;
}

async function visitNavigation(page) {
  current = 'navigation';
  // The sidebar's landmark (<nav>, no accessible name) holds the pinned pages.
  const nav = page.getByRole('complementary').getByRole('navigation').first();
  const pinned = await linksOf(nav);
  // Its button named "Edit pinned items" opens the menu "More" with the other pages. That menu
  // is a web component: role="menu" sits in its shadow root and the items are slotted light-DOM
  // children, so `getByRole('menu').getByRole('menuitem')` finds nothing. Only the open menu's
  // items are visible, so the page's visible menu items are this menu's.
  const moreButton = nav.getByRole('button', { name: 'Edit pinned items' });
  const moreItems = page.getByRole('menuitem');
  await moreButton.click();
  await page.getByRole('menu', { name: 'More' }).waitFor({ timeout: STEP_MS });
  await moreItems.getByRole('link').first().waitFor({ timeout: STEP_MS });
  const more = [];
  for (const item of await moreItems.all()) more.push(...(await linksOf(item)).filter((l) => l.href));
  await page.keyboard.press('Escape');
  await moreItems.first().waitFor({ state: 'hidden', timeout: STEP_MS });
  report.steps.navigation = { pinned, more };

  for (const link of pinned) {
    await visit(page, { group: 'Pages', ...link }, () =>
      nav.getByRole('link', { name: link.name, exact: true }).click({ timeout: STEP_MS }),
    );
  }
  for (const link of more) {
    await visit(page, { group: 'More', ...link }, async () => {
      await moreButton.click({ timeout: STEP_MS });
      await moreItems.getByRole('link', { name: link.name, exact: true }).click({ timeout: STEP_MS });
    });
  }

  // Settings: the identity menu's "Settings" item, then each link of "Settings sections".
  current = 'Settings';
  const sectionsNav = page.getByRole('navigation', { name: 'Settings sections' });
  const openSettings = async () => {
    await page.getByRole('button', { name: /^Identity and app menu/ }).click({ timeout: STEP_MS });
    await page.getByRole('menuitem', { name: 'Settings' }).click({ timeout: STEP_MS });
    await sectionsNav.waitFor({ timeout: STEP_MS });
  };
  await visit(page, { group: 'Menu', name: 'Settings', href: null }, openSettings);
  const sections = await linksOf(sectionsNav);
  report.steps.navigation.settings = sections;
  for (const link of sections) {
    await visit(page, { group: 'Settings', ...link }, async () => {
      // Some sections (Debug, Logs, Ask OpenClaw) leave the settings shell: come back first.
      if (!(await sectionsNav.isVisible())) await openSettings();
      await sectionsNav.getByRole('link', { name: link.name, exact: true }).click({ timeout: STEP_MS });
    });
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const browser = await chromium.launch({
    executablePath: cfg.chromium,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'en-US' });
  const page = await context.newPage();
  attach(page);
  try {
    current = 'login';
    await page.goto(`${cfg.baseUrl}/#token=${encodeURIComponent(cfg.token)}`);

    try {
      await sendAndWaitReply(page);
      const counts = await chatCounts(page);
      report.steps.reply = {
        ok: true,
        url: page.url(),
        counts,
        screenshot: await shot(page, 'chat after reply'),
      };
      checkCounts('after the reply', counts);
    } catch (e) {
      report.steps.reply = {
        ok: false,
        error: e.message,
        screenshot: await shot(page, 'chat without reply'),
      };
      fail(`the reply with ${cfg.marker} never rendered: ${e.message.split('\n')[0]}`);
      return;
    }

    try {
      await checkHistoryAfterReload(page);
      const counts = await chatCounts(page);
      report.steps.reload = {
        ok: true,
        url: page.url(),
        counts,
        screenshot: await shot(page, 'chat after reload'),
      };
      checkCounts('after the reload', counts);
    } catch (e) {
      report.steps.reload = {
        ok: false,
        error: e.message,
        screenshot: await shot(page, 'chat after reload'),
      };
      fail(`the history was not shown after a reload: ${e.message.split('\n')[0]}`);
    }

    try {
      const counts = await toolTurn(page);
      report.steps.tool = { ok: true, counts, screenshot: await shot(page, 'chat after tool turn') };
    } catch (e) {
      report.steps.tool = { ok: false, error: e.message, screenshot: await shot(page, 'chat tool turn failed') };
      fail(`the tool turn failed: ${e.message.split('\n')[0]}`);
    }
    try {
      const r = await approvalTurn(page);
      report.steps.approval = { ok: true, ...r, screenshot: await shot(page, 'chat after approval') };
    } catch (e) {
      report.steps.approval = { ok: false, error: e.message, screenshot: await shot(page, 'chat approval failed') };
      fail(`the approval turn failed: ${e.message.split('\n')[0]}`);
    }
    try {
      await abortTurn(page);
      report.steps.abort = { ok: true, screenshot: await shot(page, 'chat after abort') };
    } catch (e) {
      report.steps.abort = { ok: false, error: e.message, screenshot: await shot(page, 'chat abort failed') };
      fail(`the abort turn failed: ${e.message.split('\n')[0]}`);
    }

    try {
      const r = await sessionsTurn(page);
      report.steps.sessions = { ok: true, ...r, screenshot: await shot(page, 'chat back to main') };
    } catch (e) {
      report.steps.sessions = { ok: false, error: e.message, screenshot: await shot(page, 'sessions failed') };
      fail(`the second conversation failed: ${e.message.split('\n')[0]}`);
    }

    try {
      await visitNavigation(page);
    } catch (e) {
      fail(`navigating the UI failed on "${current}": ${e.message.split('\n')[0]}`);
      await shot(page, `navigation failed ${current}`);
    }
  } finally {
    await context.close().catch(() => undefined);
    await browser.close().catch(() => undefined);
  }
}

const watchdog = setTimeout(() => {
  fail(`the whole run took longer than ${cfg.timeoutMs} ms (at "${current}")`);
  finish();
}, cfg.timeoutMs);

let finished = false;
function finish() {
  if (finished) return;
  finished = true;
  clearTimeout(watchdog);
  for (const e of report.failedRpcs) {
    if (/unknown method/i.test(e.error?.message ?? ''))
      fail(`${e.page}: ${e.method} failed with ${e.error.message}`);
  }
  // Also pages not visited through `visit` (login, chat, reload) get their buckets summarized.
  report.byStep = Object.fromEntries(
    [...perPage.entries()].map(([k, b]) => [
      k,
      {
        failedRpcs: b.failedRpcs,
        consoleErrors: b.consoleErrors.length,
        httpErrors: b.httpErrors,
        methods: [...b.methods].sort(),
      },
    ]),
  );
  report.passed = report.failures.length === 0;
  report.finishedAt = new Date().toISOString();
  writeFileSync(join(cfg.outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  log(
    `${report.pages.length} pages, ${report.rpcCount} RPCs, ${report.failedRpcs.length} failed, ` +
      `${report.consoleErrors.length} console errors; ${report.passed ? 'PASSED' : `FAILED (${report.failures.length})`}`,
  );
  for (const f of report.failures) log(`  - ${f}`);
  log(`report: ${join(cfg.outDir, 'report.json')}`);
  process.exit(report.passed ? 0 : 1);
}

main()
  .catch((e) => fail(`unexpected error at "${current}": ${e?.stack ?? e}`))
  .finally(finish);

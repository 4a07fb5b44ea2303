// The browser tests: each opens the built app with the fake backend and drives it the way a user
// would, finding things by role and accessible name.

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** @typedef {import('playwright-core').Page} Page */
/** @typedef {import('playwright-core').BrowserContext} BrowserContext */
/** @typedef {{ context: BrowserContext, url: string, results: string, pages: Page[] }} Ctx */

/**
 * Opens the app with a fake backend configured by `config`.
 * @param {Ctx} ctx
 * @param {{ settings?: Record<string, unknown>, [k: string]: unknown }} [config]
 * @param {{ nocsp?: boolean, ready?: boolean }} [opts]
 */
async function open(ctx, config = {}, opts = {}) {
  const page = await ctx.context.newPage();
  ctx.pages.push(page);
  page.setDefaultTimeout(10_000);
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.addInitScript((cfg) => {
    // @ts-expect-error the harness reads it
    window.__HARNESS__ = cfg;
  }, config);
  await page.goto(`${ctx.url}/${opts.nocsp ? '?nocsp=1' : ''}`);
  // By role and name in English; other languages name them in their own words.
  const english = !config.settings || !('language' in config.settings) || config.settings.language === 'en';
  await (
    english ? page.getByRole('status', { name: 'Gateway status' }) : page.locator('footer [role=status]')
  ).waitFor();
  if (opts.ready !== false) {
    await (english ? page.getByRole('textbox', { name: 'Message' }) : page.locator('textarea')).waitFor();
  }
  return { page, errors };
}

/** @param {Page} page @param {string} expr */
function evaluate(page, expr) {
  return page.evaluate(expr);
}

/** @param {Page} page @param {string[]} errors */
async function noViolations(page, errors) {
  const v = await evaluate(page, 'window.__harness.violations');
  assert.deepEqual(v, [], `CSP violations: ${JSON.stringify(v)}`);
  assert.deepEqual(errors, [], `page errors: ${errors.join('\n')}`);
}

/** @param {Page} page */
async function statusText(page) {
  return (await page.getByRole('status', { name: 'Gateway status' }).innerText()).trim();
}

/** @param {() => Promise<boolean>} check @param {string} what */
async function until(check, what, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** @param {Page} page */
async function currentKey(page) {
  return evaluate(
    page,
    `(() => { const c = window.__fake.calls.filter(c => c.cmd === 'session_history'); return c[c.length - 1]?.args.sessionKey; })()`,
  );
}

/** @param {Page} page @param {string} text */
async function send(page, text) {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
}

/** @type {{ name: string, timeoutMs?: number, run: (ctx: Ctx) => Promise<void> }[]} */
export const tests = [
  {
    name: 'startup shows the phase and elapsed time until the gateway runs; uiReady once',
    run: async (ctx) => {
      const { page, errors } = await open(ctx, { headline: 'starting' }, { ready: false });
      assert.match(await statusText(page), /^Starting/);
      await page.getByRole('heading', { name: 'Starting your gateway' }).waitFor();
      await page.getByText(/sec so far/).waitFor();
      await evaluate(page, `window.__fake.setHeadline('running')`);
      await page.getByRole('textbox', { name: 'Message' }).waitFor();
      assert.match(await statusText(page), /^Running · pid 48213 · up since \d\d:\d\d · v2026\.9\.6$/);
      await page.waitForTimeout(200);
      assert.equal(await evaluate(page, `window.__fake.calls.filter(c => c.cmd === 'ui_ready').length`), 1);
      assert.equal(
        await evaluate(page, `window.__fake.calls.filter(c => c.cmd === 'chat_stream').length`),
        1,
      );
      await noViolations(page, errors);
    },
  },
  {
    name: 'a streamed reply renders Markdown with its tool card where the call happened',
    run: async (ctx) => {
      const { page, errors } = await open(ctx);
      await page.getByRole('button', { name: 'New chat' }).click();
      await send(page, 'What files are in my workspace?');
      await page.getByRole('button', { name: 'Stop reply' }).waitFor();
      const reply = page.getByRole('article', { name: 'Assistant message' }).last();
      await reply.getByText('Anything else?').waitFor();
      await page.getByRole('button', { name: 'Send', exact: true }).waitFor();
      const card = reply.getByRole('group', { name: 'Tool ls: completed' });
      await card.waitFor();
      assert.equal(await reply.locator('strong', { hasText: 'Rust' }).count(), 1);
      // The card sits after "your workspace." and before "It holds".
      const order = await reply.evaluate((el) => {
        const text = el.textContent ?? '';
        const card = el.querySelector('[aria-label="Tool ls: completed"]')?.textContent ?? '';
        return [text.indexOf('your workspace.'), text.indexOf(card), text.indexOf('It holds')];
      });
      assert.ok(order[0] < order[1] && order[1] < order[2], `order ${order}`);
      assert.equal(
        await page.getByRole('article', { name: 'Your message' }).last().innerText(),
        'What files are in my workspace?',
      );
      await noViolations(page, errors);
    },
  },
  {
    name: 'scrolling up while a reply streams stays put; Jump to latest follows again; links open outside',
    run: async (ctx) => {
      const { page, errors } = await open(ctx, { stepMs: 60 });
      // A link in model text goes to the system browser; the webview stays where it is.
      await page.getByRole('link', { name: 'the Rust book' }).click();
      assert.deepEqual(await evaluate(page, 'window.__fake.opened'), ['https://doc.rust-lang.org/book/']);
      assert.equal(page.url(), `${ctx.url}/`);
      // Closed fences are highlighted and have a copy button.
      const copy = page.getByRole('button', { name: 'Copy code' }).first();
      await copy.click();
      // Copying is asynchronous (the clipboard API): wait for the label to say it happened.
      await copy.filter({ hasText: /^\s*Copied\s*$/ }).waitFor({ timeout: 5_000 });
      const key = await currentKey(page);
      const chunks = Array.from({ length: 60 }, (_, i) => `Paragraph ${i + 1} of a long answer.\n\n`);
      await evaluate(page, `void window.__fake.script(${JSON.stringify(key)}, ${JSON.stringify(chunks)})`);
      const log = page.getByRole('log');
      const gap = () => log.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);
      await page.getByText('Paragraph 20 of a long answer.').waitFor();
      assert.ok((await gap()) < 40, 'stuck to the bottom while streaming');
      await log.hover();
      await page.mouse.wheel(0, -600);
      await page.getByRole('button', { name: 'Jump to latest' }).waitFor();
      const top = await log.evaluate((el) => el.scrollTop);
      await page.getByText('Paragraph 40 of a long answer.').waitFor();
      const after = await log.evaluate((el) => el.scrollTop);
      assert.ok(Math.abs(after - top) < 2, `the view stayed (${top} → ${after})`);
      assert.ok((await gap()) > 200, 'new text arrives below without pulling the view down');
      await page.getByRole('button', { name: 'Jump to latest' }).click();
      await page.getByText('Paragraph 60 of a long answer.').waitFor();
      await page.getByRole('button', { name: 'Send', exact: true }).waitFor();
      await until(async () => (await gap()) < 40, 'back at the bottom');
      await noViolations(page, errors);
    },
  },
  {
    name: 'a send that failed shows why and is retried with the same idempotency key',
    run: async (ctx) => {
      const { page, errors } = await open(ctx);
      await page.getByRole('button', { name: 'New chat' }).click();
      await evaluate(
        page,
        `window.__fake.failNext('chat_send', { code: 'busy', message: 'the send queue is full' })`,
      );
      await send(page, 'Summarize the README');
      const mine = page.getByRole('article', { name: 'Your message' }).last();
      await mine.getByText('Not sent: the send queue is full').waitFor();
      await mine.getByRole('button', { name: 'Retry' }).click();
      await page
        .getByRole('article', { name: 'Assistant message' })
        .last()
        .getByText('Anything else?')
        .waitFor();
      const keys = await evaluate(
        page,
        `window.__fake.calls.filter(c => c.cmd === 'chat_send').map(c => c.args.request.idempotencyKey)`,
      );
      assert.equal(keys.length, 2);
      assert.equal(keys[0], keys[1]);
      await noViolations(page, errors);
    },
  },
  {
    name: 'tool cards: running with elapsed time, grouped, error, collapse after finishing, show all',
    run: async (ctx) => {
      const { page, errors } = await open(ctx);
      const key = await currentKey(page);
      await evaluate(
        page,
        `(() => { const f = window.__fake; window.__run = f.startRun(${JSON.stringify(key)});
          f.push(f.batch(window.__run, { append: 'Checking two things.\\n\\n', tools: [
            { runId: window.__run, toolCallId: 'a', name: 'read', status: 'running', startedAtMs: Date.now(), args: '{"path":"Cargo.toml"}' },
            { runId: window.__run, toolCallId: 'b', name: 'exec', status: 'running', startedAtMs: Date.now(), args: '{"command":"cargo build"}' } ] })); })()`,
      );
      const group = page
        .getByRole('article', { name: 'Assistant message' })
        .last()
        .getByRole('group', { name: '2 tool calls' });
      await group.waitFor();
      await group.getByRole('group', { name: 'Tool read: running' }).waitFor();
      await page.waitForTimeout(2100);
      assert.match(await group.getByRole('group', { name: 'Tool exec: running' }).innerText(), /[12] sec/);
      const long = Array.from({ length: 80 }, (_, i) => `Compiling crate_${i} v0.1.0`).join('\n');
      await evaluate(
        page,
        `(() => { const f = window.__fake; f.push(f.batch(window.__run, { tools: [
            { runId: window.__run, toolCallId: 'a', name: 'read', status: 'completed', durationMs: 12, output: ${JSON.stringify(long)} },
            { runId: window.__run, toolCallId: 'b', name: 'exec', status: 'error', durationMs: 2300, error: 'exit status 101: linker not found' } ] })); })()`,
      );
      const live = page.getByRole('article', { name: 'Assistant message' }).last();
      const done = live.getByRole('group', { name: 'Tool read: completed' });
      await done.waitFor();
      const failedCard = live.getByRole('group', { name: 'Tool exec: error' });
      assert.match(await failedCard.innerText(), /linker not found/);
      assert.equal(await done.getByRole('button', { name: /read/ }).getAttribute('aria-expanded'), 'true');
      await until(
        async () =>
          (await done.getByRole('button', { name: /read/ }).getAttribute('aria-expanded')) === 'false',
        'auto-collapse',
        4000,
      );
      assert.match(await done.innerText(), /Compiling crate_0 v0\.1\.0 \/ Compiling crate_1/);
      await done.getByRole('button', { name: /read/ }).click();
      assert.ok(!(await done.innerText()).includes('crate_79'));
      await done.getByRole('button', { name: 'Show all' }).click();
      assert.ok((await done.innerText()).includes('crate_79'));
      await evaluate(
        page,
        `window.__fake.push(window.__fake.batch(window.__run, { state: 'final', append: 'Done.' }))`,
      );
      await page.getByRole('button', { name: 'Send', exact: true }).waitFor();
      await noViolations(page, errors);
    },
  },
  {
    name: 'Stop reply stops at once, and still does with the gateway gone',
    run: async (ctx) => {
      const { page, errors } = await open(ctx, { stepMs: 250 });
      await page.getByRole('button', { name: 'New chat' }).click();
      await send(page, 'Tell me about the workspace');
      await page.getByRole('button', { name: 'Stop reply' }).click();
      const reply = page.getByRole('article', { name: 'Assistant message' }).last();
      await reply.getByText('Stopped', { exact: true }).waitFor();
      await page.getByRole('button', { name: 'Send', exact: true }).waitFor();

      await send(page, 'Once more, please');
      await page.getByRole('article', { name: 'Assistant message' }).nth(1).getByText('Let me').waitFor();
      await evaluate(page, `window.__fake.gatewayUp = false`);
      await page.getByRole('button', { name: 'Stop reply' }).click();
      const second = page.getByRole('article', { name: 'Assistant message' }).nth(1);
      await second.getByText(/Stopped here\. The gateway could not be reached/).waitFor();
      await page.getByRole('button', { name: 'Send', exact: true }).waitFor();
      const before = await second.innerText();
      await page.waitForTimeout(800);
      assert.equal(await second.innerText(), before, 'a stopped reply does not grow');
      await noViolations(page, errors);
    },
  },
  {
    name: 'exec approval: command and cwd, focus trapped, Allow once runs it, Escape denies',
    run: async (ctx) => {
      const { page, errors } = await open(ctx);
      await page.getByRole('button', { name: 'New chat' }).click();
      await send(page, 'run the tests');
      const dialog = page.getByRole('dialog', { name: 'Allow this command?' });
      await dialog.waitFor();
      assert.match(await dialog.innerText(), /cargo test --workspace/);
      assert.match(await dialog.innerText(), /\/home\/mei\/tether-demo/);
      for (let i = 0; i < 6; i++) {
        await page.keyboard.press('Tab');
        assert.ok(
          await dialog.evaluate((d) => d.contains(document.activeElement)),
          'focus stays in the dialog',
        );
      }
      await dialog.getByRole('button', { name: 'Allow once' }).click();
      await dialog.waitFor({ state: 'detached' });
      const reply = page.getByRole('article', { name: 'Assistant message' }).last();
      await reply.getByRole('group', { name: 'Tool exec: completed' }).waitFor();
      await reply.locator('strong', { hasText: '3 tests' }).waitFor();
      const resolved = await evaluate(
        page,
        `window.__fake.calls.filter(c => c.cmd === 'approval_resolve').map(c => c.args.decision)`,
      );
      assert.deepEqual(resolved, ['allow-once']);

      await page.getByRole('button', { name: 'Send', exact: true }).waitFor();
      await send(page, 'run them again');
      await dialog.waitFor();
      await dialog.getByRole('button', { name: 'Always allow' }).waitFor();
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      await page
        .getByRole('article', { name: 'Assistant message' })
        .last()
        .getByText('I will not run it.')
        .waitFor();
      assert.deepEqual(
        await evaluate(
          page,
          `window.__fake.calls.filter(c => c.cmd === 'approval_resolve').map(c => c.args.decision)`,
        ),
        ['allow-once', 'deny'],
      );
      await noViolations(page, errors);
    },
  },
  {
    name: 'attachments: picker, paste and drop, limits shown before sending, bytes sent intact',
    run: async (ctx) => {
      const { page, errors } = await open(ctx);
      await page.getByRole('button', { name: 'New chat' }).click();
      const input = page.locator('input[type=file]');
      await input.setInputFiles([
        { name: 'huge.png', mimeType: 'image/png', buffer: Buffer.alloc(7 * 1024 * 1024, 1) },
        { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello notes\n') },
      ]);
      const alert = page.getByRole('alert');
      await alert.waitFor();
      assert.match(await alert.innerText(), /huge\.png is 7 MB; an image can be at most 6 MB\./);
      await page.getByRole('button', { name: 'Remove notes.txt' }).waitFor();
      // Paste an image, then drop a file on the conversation.
      await page.getByRole('textbox', { name: 'Message' }).focus();
      await evaluate(
        page,
        `(() => { const dt = new DataTransfer(); dt.items.add(new File([new Uint8Array([137,80,78,71])], 'x.png', { type: 'image/png' }));
          const e = new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true });
          document.querySelector('textarea').dispatchEvent(e); })()`,
      );
      await page.getByRole('button', { name: 'Remove pasted-image-1.png' }).waitFor();
      await evaluate(
        page,
        `(() => { const dt = new DataTransfer(); dt.items.add(new File(['a,b\\n1,2\\n'], 'data.csv', { type: 'text/csv' }));
          const target = document.querySelector('section.chat');
          for (const type of ['dragenter', 'dragover', 'drop']) target.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true })); })()`,
      );
      await page.getByRole('button', { name: 'Remove data.csv' }).waitFor();
      // Too many files.
      await input.setInputFiles(
        Array.from({ length: 7 }, (_, i) => ({
          name: `f${i}.txt`,
          mimeType: 'text/plain',
          buffer: Buffer.from('x'),
        })),
      );
      await until(
        async () => /A message takes at most 8 files\./.test(await page.getByRole('alert').innerText()),
        'too-many error',
      );
      await send(page, 'Here are my files');
      const mine = page.getByRole('article', { name: 'Your message' }).last();
      await mine.getByText('notes.txt').waitFor();
      const sent = await evaluate(
        page,
        `window.__fake.calls.filter(c => c.cmd === 'chat_send').map(c => c.args.request.attachments.map(a => [a.name, a.mimeType, atob(a.contentBase64).length]))[0]`,
      );
      assert.deepEqual(sent.slice(0, 3), [
        ['notes.txt', 'text/plain', 12],
        ['pasted-image-1.png', 'image/png', 4],
        ['data.csv', 'text/csv', 8],
      ]);
      assert.equal(sent.length, 8);
      await noViolations(page, errors);
    },
  },
  {
    name: 'settings: the gateway refuses an edit with its located error, shown as returned; live language switch',
    run: async (ctx) => {
      const { page, errors } = await open(ctx);
      await page.getByRole('button', { name: 'Settings' }).click();
      await page.getByRole('button', { name: 'Edit provider local' }).click();
      const dialog = page.getByRole('dialog', { name: 'Provider local' });
      await dialog.getByRole('textbox', { name: 'Base URL' }).fill('localhost:11434');
      await dialog.getByRole('button', { name: 'Save provider' }).click();
      const alert = dialog.getByRole('alert');
      await alert.waitFor();
      assert.equal(
        await alert.innerText(),
        'INVALID_REQUEST: config.patch refused: models.providers.local.baseUrl: expected an http(s) URL, got "localhost:11434" (openclaw.json:14:18)',
      );
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      await page
        .getByRole('listitem', { name: 'anthropic' })
        .getByRole('button', { name: 'Test connection' })
        .click();
      await page.getByText(/Answered in 612 ms: Hello!/).waitFor();
      await page
        .getByRole('listitem', { name: 'local' })
        .getByRole('button', { name: 'Test connection' })
        .click();
      await page.getByText('Failed: connect ECONNREFUSED 127.0.0.1:11434').waitFor();
      // A custom executable with a relative path is refused by validation in Rust.
      await page.getByRole('radio', { name: 'A custom executable' }).check();
      await page.getByRole('textbox', { name: 'Path to the executable' }).fill('bin/gw');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.getByText('Not saved: gatewaySource.path: must be an absolute path, got "bin/gw"').waitFor();
      await page.getByRole('combobox', { name: 'Language' }).selectOption('zh-CN');
      await page.getByRole('button', { name: '诊断' }).waitFor();
      assert.match((await page.getByRole('status', { name: '网关状态' }).innerText()).trim(), /^运行中/);
      assert.equal(await evaluate(page, 'document.documentElement.lang'), 'zh-CN');
      await page.getByRole('combobox', { name: '语言' }).selectOption('en');
      await page.getByRole('button', { name: 'Diagnostics' }).waitFor();
      await noViolations(page, errors);
    },
  },
  {
    name: 'XSS corpus in model text and tool output never executes (with and without CSP); the unsanitized control does',
    run: async (ctx) => {
      for (const nocsp of [false, true]) {
        const { page } = await open(ctx, {}, { nocsp });
        const key = await currentKey(page);
        await evaluate(
          page,
          `(() => { const f = window.__fake, x = window.__harness.corpus.xss, r = f.startRun(${JSON.stringify(key)});
            f.push(f.batch(r, { append: x.slice(0, 400), tools: [{ runId: r, toolCallId: 'x1', name: 'read', status: 'running', args: x.slice(0, 300) }] }));
            f.push(f.batch(r, { append: x.slice(400), tools: [{ runId: r, toolCallId: 'x1', name: 'read', status: 'completed', durationMs: 3, output: x }] }));
            f.push(f.batch(r, { state: 'final' })); })()`,
        );
        const reply = page.getByRole('article', { name: 'Assistant message' }).last();
        await reply.getByText('hash link').waitFor();
        const card = reply.getByRole('group', { name: 'Tool read: completed' });
        const head = card.getByRole('button', { name: /read/ });
        if ((await head.getAttribute('aria-expanded')) !== 'true') await head.click();
        await card.getByRole('button', { name: 'Show all' }).click();
        const links = reply.locator('a');
        const n = await links.count();
        for (let i = 0; i < n; i++)
          await links
            .nth(i)
            .click({ force: true })
            .catch(() => undefined);
        await page.waitForTimeout(300);
        const report = await evaluate(
          page,
          `(() => { const root = document.querySelector('[role=log]'); const bad = [];
            // Everything model text or tool output produced: rendered Markdown and tool output.
            for (const el of root.querySelectorAll('.md, .md *, pre, pre *')) {
              for (const a of el.attributes) {
                if (/^on/i.test(a.name)) bad.push(el.tagName + ' ' + a.name);
                if (/^(href|src|action)$/i.test(a.name) && /^\\s*(javascript|data:text|vbscript)/i.test(a.value)) bad.push(el.tagName + ' ' + a.value);
              }
              if (/^(SCRIPT|IFRAME|SVG|FORM|STYLE|DETAILS|MATH|OBJECT)$/i.test(el.tagName)) bad.push(el.tagName);
            }
            return { bad, fired: window.__harness.corpus.flags.filter(f => f in window), opened: window.__fake.opened,
                     shown: root.textContent.includes('<img src=x onerror') }; })()`,
        );
        assert.deepEqual(report.bad, [], `dangerous DOM (nocsp=${nocsp})`);
        assert.deepEqual(report.fired, [], `payloads fired (nocsp=${nocsp})`);
        assert.ok(
          report.opened.every((/** @type {string} */ u) => /^https?:|^mailto:/.test(u)),
          `opened ${report.opened}`,
        );
        assert.ok(report.shown, 'raw HTML is shown as text');
        assert.equal(page.url().startsWith(ctx.url), true, 'the webview never navigated');
        if (nocsp) {
          // Positive control: the same corpus through the pipeline with the sanitizer and the
          // escaping turned off does execute, so this test can see an attack that gets through.
          await evaluate(
            page,
            `document.body.insertAdjacentHTML('beforeend', '<div id=control>' + window.__harness.renderUnsafe(window.__harness.corpus.xss) + '</div>')`,
          );
          await page.waitForTimeout(300);
          await evaluate(page, `document.querySelector('#control a[href^="javascript:"]').click()`);
          await page.waitForTimeout(200);
          const fired = await evaluate(page, `window.__harness.corpus.flags.filter(f => f in window)`);
          assert.ok(fired.includes('__pwned'), `control: img onerror fired (${fired})`);
          assert.ok(fired.includes('__pwned2'), `control: javascript: link fired (${fired})`);
        }
      }
    },
  },
  {
    name: 'status bar: every headline, enabled actions, countdown, governor hold and Restart anyway',
    run: async (ctx) => {
      const { page, errors } = await open(ctx);
      const words = {
        running: 'Running',
        starting: 'Starting',
        restarting: 'Restarting',
        reconnecting: 'Reconnecting',
        stopping: 'Stopping',
        stopped: 'Stopped',
        paused: 'Paused',
        failed: 'Failed',
      };
      const enabled = async () =>
        Promise.all(
          ['Start gateway', 'Stop gateway', 'Restart gateway'].map((n) =>
            page.getByRole('button', { name: n, exact: true }).isEnabled(),
          ),
        );
      for (const [headline, word] of Object.entries(words)) {
        await evaluate(page, `window.__fake.setHeadline('${headline}')`);
        await until(async () => (await statusText(page)).startsWith(word), `${headline} → ${word}`);
      }
      await evaluate(page, `window.__fake.setHeadline('running')`);
      await until(async () => (await statusText(page)).startsWith('Running'), 'running');
      assert.deepEqual(await enabled(), [false, true, true]);
      await evaluate(page, `window.__fake.setHeadline('stopped')`);
      await until(async () => (await statusText(page)).startsWith('Stopped'), 'stopped');
      assert.deepEqual(await enabled(), [true, false, false]);
      await evaluate(page, `window.__fake.setHeadline('reconnecting')`);
      await until(
        async () => /^Reconnecting · next try in \d sec · attempt 1/.test(await statusText(page)),
        'countdown',
      );
      await evaluate(page, `window.__fake.setHeadline('failed')`);
      await until(
        async () =>
          /Restarts on hold: 5 restarts in 60 s.*allows one at \d\d:\d\d, in 1 min 3\d sec/.test(
            await statusText(page),
          ),
        'governor hold',
      );
      assert.equal(
        await page.getByRole('button', { name: 'Restart gateway', exact: true }).isEnabled(),
        false,
      );
      await page.getByRole('button', { name: 'Restart anyway' }).click();
      await until(async () => (await statusText(page)).startsWith('Running'), 'running after Restart anyway');
      const restarts = await evaluate(
        page,
        `window.__fake.calls.filter(c => c.cmd === 'gateway_restart').map(c => c.args.force)`,
      );
      assert.deepEqual(restarts, [true]);
      await noViolations(page, errors);
    },
  },
  {
    name: 'history: Load earlier keeps the view still; a switch keeps a streaming reply; resync reloads',
    run: async (ctx) => {
      const { page, errors } = await open(ctx, { stepMs: 120 });
      await page.getByRole('listitem', { name: 'Release checklist' }).getByRole('button').first().click();
      await page.getByRole('button', { name: 'Load earlier' }).waitFor();
      const log = page.getByRole('log');
      // Up to the top the way a user goes there: the wheel.
      await log.hover();
      for (let i = 0; i < 20 && (await log.evaluate((el) => el.scrollTop)) > 0; i++) {
        await page.mouse.wheel(0, -4000);
        await page.waitForTimeout(50);
      }
      await page.waitForTimeout(100);
      const anchor = () =>
        log.evaluate((el) => {
          const top = el.getBoundingClientRect().top;
          const first = [...el.querySelectorAll('article')].find(
            (a) => a.getBoundingClientRect().bottom > top + 60,
          );
          return first
            ? { text: first.textContent?.trim().slice(0, 40), y: first.getBoundingClientRect().top }
            : undefined;
        });
      const before = await anchor();
      assert.ok(before);
      const count = await page.getByRole('article').count();
      await page.getByRole('button', { name: 'Load earlier' }).click();
      await until(async () => (await page.getByRole('article').count()) > count, 'older messages');
      await page.waitForTimeout(100);
      const same = await log.evaluate((el, text) => {
        const a = [...el.querySelectorAll('article')].find((x) =>
          x.textContent?.trim().startsWith(text ?? ''),
        );
        return a ? a.getBoundingClientRect().top : undefined;
      }, before.text);
      assert.ok(
        same !== undefined && Math.abs(same - before.y) <= 2,
        `view moved from ${before.y} to ${same}`,
      );

      // Start a reply in the tour, switch away while it streams, come back: it is all there.
      await page.getByRole('listitem', { name: 'Workspace tour' }).getByRole('button').first().click();
      await send(page, 'What is in there?');
      await page.getByRole('button', { name: 'Stop reply' }).waitFor();
      await page.getByRole('listitem', { name: '翻译 README' }).getByRole('button').first().click();
      await page.getByRole('log').getByText('tether-demo 是一个小型 Rust 工作区').waitFor();
      await page.waitForTimeout(1500);
      await page.getByRole('listitem', { name: 'Workspace tour' }).getByRole('button').first().click();
      await page
        .getByRole('article', { name: 'Assistant message' })
        .last()
        .getByText('Anything else?')
        .waitFor();
      const histories = await evaluate(
        page,
        `window.__fake.calls.filter(c => c.cmd === 'session_history').length`,
      );
      await evaluate(page, `window.__fake.push({ kind: 'resync', reason: 'reconnected' })`);
      await until(
        async () =>
          (await evaluate(page, `window.__fake.calls.filter(c => c.cmd === 'session_history').length`)) >
          histories,
        'history reloaded on resync',
      );
      assert.equal(
        await page
          .getByRole('article', { name: 'Your message' })
          .filter({ hasText: 'What is in there?' })
          .count(),
        1,
      );
      await noViolations(page, errors);
    },
  },
  {
    name: 'diagnostics: samples only while shown, charts, timeline, log filter, export and reveal',
    timeoutMs: 40_000,
    run: async (ctx) => {
      const { page, errors } = await open(ctx);
      const samples = () =>
        evaluate(page, `window.__fake.calls.filter(c => c.cmd === 'metrics_sample').length`);
      await page.waitForTimeout(2500);
      assert.equal(await samples(), 0, 'nothing samples while the page is closed');
      await page.getByRole('button', { name: 'Diagnostics' }).click();
      await page.getByText('hello-ok (protocol 4)').first().waitFor();
      await until(async () => (await samples()) >= 3, 'three samples', 8000);
      assert.equal(await page.locator('canvas').count(), 3);
      await page.getByRole('radio', { name: 'App', exact: true }).click();
      await page.getByText('first frame painted after 412 ms').waitFor();
      await page.getByRole('radio', { name: 'Gateway', exact: true }).click();
      await page.getByRole('searchbox', { name: 'Filter lines' }).fill('会话');
      await until(
        async () => /1 line$/.test((await page.getByText(/^\d+ lines?$/).innerText()).trim()),
        'filtered to one line',
      );
      await page.getByRole('combobox', { name: 'Level' }).selectOption('error');
      await page.getByRole('searchbox', { name: 'Filter lines' }).fill('');
      await page
        .getByText('config: models.providers.local.baseUrl: invalid URL at openclaw.json:14:18')
        .waitFor();
      await page.getByRole('button', { name: 'Export diagnostics' }).click();
      await page.getByText(/Saved to \/home\/mei\/\.local\/state\/tether\/diagnostics\/.+\.json/).waitFor();
      await page.getByRole('button', { name: 'Show in folder' }).click();
      await until(async () => (await evaluate(page, 'window.__fake.revealed.length')) === 1, 'reveal');
      await page.getByRole('listitem', { name: 'Workspace tour' }).getByRole('button').first().click();
      const stopped = await samples();
      await page.waitForTimeout(2600);
      assert.equal(await samples(), stopped, 'sampling stops with the page');
      await noViolations(page, errors);
    },
  },
  {
    name: 'renderer banner after a blank-window relaunch, and keyboard-only use',
    run: async (ctx) => {
      const { page, errors } = await open(ctx, {
        info: {
          renderer: {
            webkitVersion: '2.50.6',
            sessionType: 'wayland',
            dmabufDisabled: true,
            relaunchedAfterBlank: true,
          },
        },
      });
      const note = page.getByRole('note');
      assert.match(await note.innerText(), /DMA-BUF renderer turned off/);
      await note.getByRole('button', { name: 'Dismiss' }).click();
      await note.waitFor({ state: 'detached' });
      // From the message box, Tab reaches Attach files, then Send; a session delete asks first.
      await page.getByRole('textbox', { name: 'Message' }).focus();
      await page.keyboard.press('Tab');
      assert.equal(await evaluate(page, 'document.activeElement.getAttribute("aria-label")'), 'Attach files');
      await page.getByRole('button', { name: 'Delete chat 翻译 README' }).focus();
      await page.keyboard.press('Enter');
      const confirm = page.getByRole('alertdialog', { name: 'Delete this chat?' });
      await confirm.waitFor();
      await page.keyboard.press('Escape');
      await confirm.waitFor({ state: 'detached' });
      await page.getByRole('button', { name: 'Delete chat 翻译 README' }).click();
      await confirm.getByRole('button', { name: 'Delete', exact: true }).click();
      await page.getByRole('listitem', { name: '翻译 README' }).waitFor({ state: 'detached' });
      await noViolations(page, errors);
    },
  },
  {
    name: 'stress: 10,000 deltas at 1 ms and 200 tool cards render completely (frame gaps recorded)',
    timeoutMs: 180_000,
    run: async (ctx) => {
      // As a user would: the app opens on a chat with history, then a new chat streams a reply.
      const { page, errors } = await open(ctx);
      await page.getByRole('article').first().waitFor();
      await page.getByRole('button', { name: 'New chat' }).click();
      await page.getByRole('heading', { name: 'What can I help with?' }).waitFor();
      // Deltas 1 ms apart, delivered as the bridge does (IPC.md): one envelope per ~16 ms window.
      // Frame gaps are measured and recorded (printed, and in perf-chromium.json), never
      // asserted: they measure the machine as much as the UI (a cargo build next to it doubles
      // them). What is asserted is that everything streamed is on screen once it ends.
      await evaluate(page, 'window.__harness.startFrames()');
      const stream = await evaluate(
        page,
        `window.__harness.stress({ sessionKey: window.__fake.created.at(-1), deltas: 10000, tools: 200, spacingMs: 1, coalesceMs: 16 })`,
      );
      // Let the last frames render, measuring only the app: Playwright's own role queries walk
      // the whole DOM on the page's main thread, so they run after the monitor has stopped.
      await evaluate(page, 'new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
      const frames = await evaluate(page, 'window.__harness.stopFrames()');
      await page.getByRole('button', { name: 'Send', exact: true }).waitFor({ timeout: 20_000 });
      const cards = await page
        .getByRole('group', { name: /^Tool (read|ls|exec|edit): (completed|error)$/ })
        .count();
      const dom = await evaluate(page, `document.querySelectorAll('*').length`);
      const reply = await page.getByRole('log').evaluate((el) => el.textContent ?? '');
      // The same stream with one envelope per delta (no coalescing), recorded for comparison.
      await page.getByRole('button', { name: 'New chat' }).click();
      await page.getByRole('heading', { name: 'What can I help with?' }).waitFor();
      await evaluate(page, 'window.__harness.startFrames()');
      const raw = await evaluate(
        page,
        `window.__harness.stress({ sessionKey: window.__fake.created.at(-1), deltas: 10000, tools: 200, spacingMs: 1, coalesceMs: 0 })`,
      );
      await evaluate(page, 'new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
      const rawFrames = await evaluate(page, 'window.__harness.stopFrames()');
      await page.getByRole('button', { name: 'Send', exact: true }).waitFor({ timeout: 20_000 });
      const rawCards = await page
        .getByRole('group', { name: /^Tool (read|ls|exec|edit): (completed|error)$/ })
        .count();
      const result = {
        engine: 'chromium',
        coalesced16ms: { ...frames, ...stream, cards, domNodes: dom },
        onePerDelta: { ...rawFrames, ...raw, cards: rawCards },
      };
      writeFileSync(join(ctx.results, 'perf-chromium.json'), JSON.stringify(result, null, 2));
      /** @param {any} f @param {any} s */
      const line = (f, s) =>
        `gap p50 ${f.p50.toFixed(1)} / p95 ${f.p95.toFixed(1)} / max ${f.max.toFixed(1)} ms, >50 ms: ${f.over50}, ${f.frames} frames; ${s.envelopes} envelopes in ${(s.durationMs / 1000).toFixed(1)} s (${s.envelopesPerSecond.toFixed(0)}/s)`;
      console.log(
        `      chromium, coalesced: ${line(frames, stream)}; ${cards} cards; ${dom} DOM nodes; long ${JSON.stringify(frames.long)}`,
      );
      console.log(
        `      chromium, one envelope per delta: ${line(rawFrames, raw)}; long ${JSON.stringify(rawFrames.long)}`,
      );
      assert.equal(cards, 200, 'every tool card of the coalesced stream, finished');
      assert.equal(rawCards, 200, 'every tool card of the per-delta stream, finished');
      // Coalescing is what the bridge promises: far fewer envelopes than deltas.
      assert.ok(stream.envelopes < 10000 / 4, `${stream.envelopes} envelopes for 10,000 deltas`);
      assert.equal(raw.envelopes, 10001);
      // Rendered, the Markdown loses its syntax characters, not its words.
      assert.ok(
        reply.length > stream.textLength * 0.6,
        `the whole reply is on screen (${reply.length} characters of ${stream.textLength} streamed)`,
      );
      await noViolations(page, errors);
    },
  },
  {
    name: 'screenshots of each screen in each language and both themes',
    timeoutMs: 120_000,
    run: async (ctx) => {
      const dir = join(ctx.results, 'screens');
      mkdirSync(dir, { recursive: true });
      for (const language of ['en', 'zh-CN', 'th']) {
        for (const theme of ['light', 'dark']) {
          const tag = `${language}-${theme}`;
          const { page } = await open(ctx, { settings: { language, theme } });
          await page.getByRole('article').first().waitFor();
          await page.waitForTimeout(300);
          await page.screenshot({ path: join(dir, `chat-${tag}.png`) });
          // A reply streaming now: text, a finished call, two calls still running.
          await evaluate(
            page,
            `(() => { const f = window.__fake, key = f.calls.filter(c => c.cmd === 'session_history').at(-1).args.sessionKey, r = f.startRun(key), now = Date.now();
              f.push(f.batch(r, { append: 'Checking the build and the tests.\\n\\n', tools: [
                { runId: r, toolCallId: 's1', name: 'read', status: 'running', startedAtMs: now - 900, args: '{\\n  "path": "Cargo.toml"\\n}' },
                { runId: r, toolCallId: 's2', name: 'exec', status: 'running', startedAtMs: now - 4200, args: '{\\n  "command": "cargo build"\\n}' },
                { runId: r, toolCallId: 's3', name: 'exec', status: 'running', startedAtMs: now - 2100, args: '{\\n  "command": "cargo test"\\n}' } ] }));
              f.push(f.batch(r, { tools: [{ runId: r, toolCallId: 's1', name: 'read', status: 'completed', durationMs: 14, output: '[package]\\nname = "tether-demo"\\nversion = "0.1.0"' }] }));
              f.push(f.batch(r, { append: '' })); })()`,
          );
          await page.waitForTimeout(2600);
          await page.screenshot({ path: join(dir, `live-${tag}.png`) });
          await evaluate(
            page,
            `window.__fake.requestApproval({ command: 'rm -rf target && cargo build --release', cwd: '/home/mei/tether-demo' })`,
          );
          await page.getByRole('dialog').waitFor();
          await page.screenshot({ path: join(dir, `approval-${tag}.png`) });
          await page.keyboard.press('Escape');
          await page.getByRole('dialog').waitFor({ state: 'detached' });
          await page.locator('nav button').first().click();
          await page.locator('.providers li').first().waitFor();
          await page.screenshot({ path: join(dir, `settings-${tag}.png`) });
          await page.locator('nav button').nth(1).click();
          await page.locator('canvas').first().waitFor();
          await page.waitForTimeout(2300);
          await page.screenshot({ path: join(dir, `diagnostics-${tag}.png`) });
          await page.close();
          const start = await open(
            ctx,
            { settings: { language, theme }, headline: 'starting' },
            { ready: false },
          );
          await start.page.waitForTimeout(600);
          await start.page.screenshot({ path: join(dir, `startup-${tag}.png`) });
          // Never running, then failed: the first screen says why and what to do.
          await evaluate(start.page, `window.__fake.setHeadline('failed')`);
          await start.page.waitForTimeout(200);
          await start.page.screenshot({ path: join(dir, `failed-${tag}.png`) });
          await start.page.close();
        }
      }
    },
  },
];

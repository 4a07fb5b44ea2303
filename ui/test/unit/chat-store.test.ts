import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChatStore } from '../../src/lib/stores/chat.svelte';
import type { FakeBackend } from '../../src/testing/fake-backend';
import { clearMocks, installFake } from '../../src/testing/install';

const TOUR = 'agent:main:desktop-4f1c2a9b7d10';
const ZH = 'agent:main:desktop-9a0b1c2d3e4f';

let fake: FakeBackend;
let chat: ChatStore;

async function settle(): Promise<void> {
  // Envelopes are published on the next frame; jsdom's frames are timers.
  await new Promise((r) => setTimeout(r, 40));
  chat.publish();
}

beforeEach(async () => {
  fake = installFake({ autoReply: false, stepMs: 5 });
  chat = new ChatStore();
  await chat.start();
});
afterEach(() => clearMocks());

describe('ChatStore with the fake backend', () => {
  it('opens the stream, lists sessions newest first and shows the latest', () => {
    expect(fake.streamOpen).toBe(true);
    expect(chat.sessions.map((s) => s.key)[0]).toBe(TOUR);
    expect(chat.currentKey).toBe(TOUR);
    expect(chat.timeline(TOUR).filter((i) => i.kind === 'message')).toHaveLength(6);
  });

  it('retries a failed send with the same idempotency key', async () => {
    fake.failNext('chat_send', { code: 'not_connected', message: 'the gateway is not connected' });
    await chat.send('hello there', []);
    const failed = chat.pending[0];
    expect(failed?.status).toBe('failed');
    expect(failed?.error?.code).toBe('not_connected');
    await chat.retry(failed?.id ?? '');
    const sends = fake.calls
      .filter((c) => c.cmd === 'chat_send')
      .map((c) => (c.args['request'] as { idempotencyKey: string }).idempotencyKey);
    expect(sends).toHaveLength(2);
    expect(sends[0]).toBe(sends[1]);
    expect(chat.pending[0]?.status).toBe('sent');
    expect(chat.pending[0]?.runId).toMatch(/^run-/);
  });

  it('keeps a streaming reply across a session switch', async () => {
    await chat.send('What is in there?', []);
    const runId = chat.pending[0]?.runId ?? '';
    fake.push(fake.batch(runId, { append: 'Part one, ' }));
    await settle();
    await chat.select(ZH);
    fake.push(fake.batch(runId, { append: 'part two.' }));
    await settle();
    await chat.select(TOUR);
    const run = chat.timeline(TOUR).find((i) => i.kind === 'run');
    expect(run?.kind === 'run' && run.run.text).toBe('Part one, part two.');
  });

  it('reloads the visible history on resync', async () => {
    const before = fake.calls.filter((c) => c.cmd === 'session_history').length;
    fake.push({ kind: 'resync', reason: 'lagged' });
    await vi.waitFor(() =>
      expect(fake.calls.filter((c) => c.cmd === 'session_history').length).toBe(before + 1),
    );
    expect(fake.calls.filter((c) => c.cmd === 'session_history').at(-1)?.args['sessionKey']).toBe(TOUR);
  });

  it('stops a reply locally when the gateway cannot be told', async () => {
    await chat.send('long answer please', []);
    const runId = chat.pending[0]?.runId ?? '';
    fake.push(fake.batch(runId, { append: 'Working' }));
    await settle();
    fake.gatewayUp = false;
    await chat.stop(TOUR);
    const run = chat.runs.get(runId);
    expect(run?.state).toBe('aborted');
    expect(run?.stopUnconfirmed).toBe(true);
    expect(chat.isReplying(TOUR)).toBe(false);
  });

  it('holds approvals until answered', async () => {
    fake.requestApproval({ id: 'a1' });
    await settle();
    expect(chat.approvals.map((a) => a.id)).toEqual(['a1']);
    await chat.answer('a1', 'deny');
    expect(chat.approvals).toEqual([]);
    expect(fake.calls.filter((c) => c.cmd === 'approval_resolve').map((c) => c.args['decision'])).toEqual([
      'deny',
    ]);
  });
});

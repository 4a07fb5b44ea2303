import { render, screen } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import Message from '../../src/components/Message.svelte';
import { clock } from '../../src/lib/clock.svelte';
import { i18n } from '../../src/lib/i18n/index.svelte';
import { LiveRun } from '../../src/lib/stores/chat.svelte';
import { newRun } from '../../src/lib/stores/stream';

const T0 = Date.UTC(2026, 8, 14, 9, 0, 0);

function liveRun(withTool: boolean): LiveRun {
  const model = newRun('r1', 'agent:main:desktop-x', T0, 'delta');
  model.text = 'Working on it.';
  if (withTool)
    model.tools.push({
      toolCallId: 't',
      name: 'exec',
      status: 'running',
      anchor: model.text.length,
      seenAtMs: T0,
      startedAtMs: T0,
    });
  return new LiveRun(model);
}

describe('Message: stall indicator and end markers', () => {
  beforeEach(() => {
    i18n.locale = 'en';
    vi.useFakeTimers({ now: T0 });
    clock.touch(T0);
  });
  afterEach(() => vi.useRealTimers());

  it('says a quiet run may be stuck after 30 s', async () => {
    render(Message, { props: { run: liveRun(false) } });
    const article = screen.getByRole('article', { name: 'Assistant message' });
    await vi.advanceTimersByTimeAsync(20_000);
    expect(article.textContent).not.toContain('No news');
    await vi.advanceTimersByTimeAsync(12_000);
    expect(article.textContent).toContain('No news for 32 sec');
  });

  it('allows a running tool longer before it says so', async () => {
    render(Message, { props: { run: liveRun(true) } });
    const article = screen.getByRole('article', { name: 'Assistant message' });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(article.textContent).not.toMatch(/No news|without news/);
    await vi.advanceTimersByTimeAsync(61_000);
    expect(article.textContent).toContain('A tool has been running for 2 min 1 sec without news.');
  });

  it('marks a reply interrupted by a gateway restart', () => {
    render(Message, {
      props: {
        message: {
          id: 'm',
          role: 'assistant',
          parts: [{ kind: 'text', text: 'half' }],
          state: 'interrupted',
        },
      },
    });
    expect(screen.getByRole('article', { name: 'Assistant message' }).textContent).toContain(
      'Interrupted by a gateway restart',
    );
  });

  it('releases the clock when the run ends', async () => {
    const run = liveRun(false);
    render(Message, { props: { run } });
    expect(clock.running).toBe(true);
    run.model.state = 'final';
    run.publish();
    await vi.advanceTimersByTimeAsync(1000);
    expect(clock.running).toBe(false);
  });
});

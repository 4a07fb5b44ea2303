import { render, screen, fireEvent } from '@testing-library/svelte';
import { tick } from 'svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import ToolCard from '../../src/components/ToolCard.svelte';
import { clock } from '../../src/lib/clock.svelte';
import { i18n } from '../../src/lib/i18n/index.svelte';
import type { ToolView } from '../../src/lib/views';

const T0 = Date.UTC(2026, 8, 14, 10, 0, 0);

function live(p: Partial<ToolView>): ToolView {
  return {
    toolCallId: 'c1',
    name: 'ls',
    status: 'running',
    live: true,
    startedAtMs: T0,
    args: '{\n  "path": "."\n}',
    ...p,
  };
}

describe('ToolCard', () => {
  beforeEach(() => {
    i18n.locale = 'en';
    vi.useFakeTimers({ now: T0 });
    clock.touch(T0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs, ticks from the shared clock, completes, then collapses a moment later', async () => {
    const { rerender } = render(ToolCard, { props: { tool: live({}) } });
    const card = screen.getByRole('group', { name: 'Tool ls: running' });
    expect(card).toBeTruthy();
    expect(clock.running).toBe(true);
    await vi.advanceTimersByTimeAsync(3000);
    expect(card.textContent).toContain('3 sec');
    expect(screen.getByRole('button', { name: /ls/ }).getAttribute('aria-expanded')).toBe('true');

    await rerender({
      tool: live({
        status: 'completed',
        durationMs: 3210,
        output: 'Cargo.toml\nsrc/',
        finishedAtMs: Date.now(),
      }),
    });
    expect(screen.getByRole('group', { name: 'Tool ls: completed' }).textContent).toContain('took 3.2 sec');
    expect(screen.getByRole('button', { name: /ls/ }).getAttribute('aria-expanded')).toBe('true');
    await vi.advanceTimersByTimeAsync(2500);
    await tick();
    expect(screen.getByRole('button', { name: /ls/ }).getAttribute('aria-expanded')).toBe('false');
    // The two-line summary shows while collapsed; nothing holds the clock any more.
    expect(screen.getByRole('group', { name: 'Tool ls: completed' }).textContent).toContain('Cargo.toml');
    expect(clock.running).toBe(false);
  });

  it('stays open when the user opened it', async () => {
    const { rerender } = render(ToolCard, { props: { tool: live({}) } });
    const head = screen.getByRole('button', { name: /ls/ });
    await fireEvent.click(head); // closes (it was open while running)
    await fireEvent.click(head); // and opens again, by hand
    await rerender({
      tool: live({ status: 'completed', durationMs: 10, output: 'x', finishedAtMs: Date.now() }),
    });
    await vi.advanceTimersByTimeAsync(5000);
    await tick();
    expect(screen.getByRole('button', { name: /ls/ }).getAttribute('aria-expanded')).toBe('true');
  });

  it('shows the error of a failed call', async () => {
    render(ToolCard, {
      props: { tool: live({ name: 'exec', status: 'error', error: 'exit status 101', live: false }) },
    });
    const card = screen.getByRole('group', { name: 'Tool exec: error' });
    expect(card.textContent).toContain('exit status 101');
  });

  it('cuts long output and shows all of it on request', async () => {
    const output = Array.from({ length: 60 }, (_, i) => `line ${i + 1}`).join('\n');
    render(ToolCard, { props: { tool: live({ status: 'completed', durationMs: 5, output, live: false }) } });
    await fireEvent.click(screen.getByRole('button', { name: /ls/ }));
    const card = screen.getByRole('group', { name: 'Tool ls: completed' });
    expect(card.textContent).toContain('line 14');
    expect(card.textContent).not.toContain('line 60');
    await fireEvent.click(screen.getByRole('button', { name: 'Show all' }));
    expect(card.textContent).toContain('line 60');
    expect(screen.getByRole('button', { name: 'Show less' })).toBeTruthy();
  });

  it('names itself in the current language', async () => {
    i18n.locale = 'zh-CN';
    render(ToolCard, { props: { tool: live({ live: false, status: 'completed' }) } });
    expect(screen.getByRole('group', { name: '工具 ls：已完成' })).toBeTruthy();
    i18n.locale = 'en';
  });
});

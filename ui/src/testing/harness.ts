// The browser test harness, built separately and injected in front of the built app by the test
// server (never part of dist). It installs the fake backend before the app starts and gives the
// tests handles: the fake, a frame-gap monitor, the stress stream, and the unsanitized pipeline
// for the XSS positive control.

import { createPipeline, pipeline, StreamRenderer } from '../lib/markdown/pipeline';
import { RICH_MARKDOWN, XSS_FLAGS, XSS_MARKDOWN } from './corpus';
import type { FakeBackend, FakeOptions } from './fake-backend';
import { installFake } from './install';

declare global {
  interface Window {
    __HARNESS__?: FakeOptions;
    __fake: FakeBackend;
    __harness: Harness;
  }
}

/**
 * rAF times are quantized to the display's 16.7 ms: a gap of three intervals measures
 * 50.0 ± 0.2 ms, and the next possible gap is 66.7. "Over 50 ms" means more than three intervals.
 */
export const OVER_50 = 50.5;

interface StressOptions {
  sessionKey: string;
  deltas?: number;
  tools?: number;
  spacingMs?: number;
  /** 0: one envelope per delta (worst case); otherwise the window Rust would coalesce over. */
  coalesceMs?: number;
}

interface StressResult {
  runId: string;
  envelopes: number;
  durationMs: number;
  envelopesPerSecond: number;
  textLength: number;
}

interface FrameStats {
  /** Gaps over 50 ms: [ms since the monitor started, gap ms]. */
  long: [number, number][];
  frames: number;
  p50: number;
  p95: number;
  max: number;
  over50: number;
}

class Harness {
  readonly corpus = { rich: RICH_MARKDOWN, xss: XSS_MARKDOWN, flags: XSS_FLAGS };
  /** CSP violations the page reported. */
  readonly violations: string[] = [];
  #frames: number[] = [];
  #monitoring = false;

  startFrames(): void {
    this.#frames = [];
    this.#monitoring = true;
    const loop = (t: number): void => {
      if (!this.#monitoring) return;
      this.#frames.push(t);
      requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  }

  stopFrames(): FrameStats {
    this.#monitoring = false;
    const gaps: number[] = [];
    const long: [number, number][] = [];
    const t0 = this.#frames[0] ?? 0;
    for (let i = 1; i < this.#frames.length; i++) {
      const at = this.#frames[i - 1] as number;
      const gap = (this.#frames[i] as number) - at;
      gaps.push(gap);
      if (gap > OVER_50) long.push([Math.round(at - t0), Math.round(gap)]);
    }
    gaps.sort((a, b) => a - b);
    const q = (p: number): number => gaps[Math.min(gaps.length - 1, Math.floor(p * gaps.length))] ?? 0;
    return {
      long,
      frames: gaps.length,
      p50: q(0.5),
      p95: q(0.95),
      max: gaps[gaps.length - 1] ?? 0,
      over50: gaps.filter((g) => g > OVER_50).length,
    };
  }

  /**
   * The Markdown pipeline alone (no DOM updates): the stress text fed in `updates` steps, the tail
   * rendered after each. Returns milliseconds spent, to tell the pipeline's share of a frame.
   */
  pipelineCost(updates = 600): { ms: number; blocks: number } {
    let text = '';
    while (text.length < 55_000) text += RICH_MARKDOWN + '\n';
    const renderer = new StreamRenderer(pipeline);
    const step = Math.ceil(text.length / updates);
    const t0 = performance.now();
    for (let i = step; i < text.length + step; i += step) {
      renderer.update(text.slice(0, i), false);
      void renderer.tail;
    }
    renderer.update(text, true);
    return { ms: performance.now() - t0, blocks: renderer.blocks.length };
  }

  renderUnsafe(md: string): string {
    return createPipeline({ sanitize: false, escapeRawHtml: false }).renderFull(md);
  }

  /** About 55 KB of Markdown streamed as `deltas` pieces with `tools` tool calls along the way. */
  stress(o: StressOptions): Promise<StressResult> {
    const fake = window.__fake;
    const deltas = o.deltas ?? 10_000;
    const tools = o.tools ?? 200;
    const spacing = o.spacingMs ?? 1;
    const coalesce = o.coalesceMs ?? 0;
    let text = '';
    while (text.length < 55_000) text += RICH_MARKDOWN + '\n';
    const size = Math.ceil(text.length / deltas);
    const pieces = Array.from({ length: deltas }, (_, i) => text.slice(i * size, (i + 1) * size));
    const runId = fake.startRun(o.sessionKey);
    // Tool calls start evenly through the stream and finish 30–600 ms later; one in ten fails.
    const starts = new Map<number, number[]>();
    const ends = new Map<number, number[]>();
    let seed = 7;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let k = 0; k < tools; k++) {
      const at = Math.floor(((k + 0.5) * deltas) / tools);
      const end = Math.min(deltas - 1, at + 30 + Math.floor(rand() * 570));
      starts.set(at, [...(starts.get(at) ?? []), k]);
      ends.set(end, [...(ends.get(end) ?? []), k]);
    }
    const startedAt = new Map<number, number>();
    const t0 = performance.now();
    let i = 0;
    let envelopes = 0;
    const updatesAt = (n: number): Parameters<FakeBackend['batch']>[1]['tools'] => {
      const out: NonNullable<Parameters<FakeBackend['batch']>[1]['tools']> = [];
      for (const k of ends.get(n) ?? []) {
        const failed = k % 10 === 9;
        out.push({
          runId,
          toolCallId: `stress-${k}`,
          name: ['read', 'ls', 'exec', 'edit'][k % 4] as string,
          status: failed ? 'error' : 'completed',
          durationMs: performance.now() - (startedAt.get(k) ?? t0),
          ...(failed
            ? { error: 'exit status 1' }
            : {
                output: `line one of call ${k}\nline two\nline three`,
                summary: `line one of call ${k} / line two`,
              }),
        });
      }
      for (const k of starts.get(n) ?? []) {
        startedAt.set(k, performance.now());
        out.push({
          runId,
          toolCallId: `stress-${k}`,
          name: ['read', 'ls', 'exec', 'edit'][k % 4] as string,
          status: 'running',
          startedAtMs: Date.now(),
          args: `{\n  "path": "src/file_${k}.rs"\n}`,
        });
      }
      return out;
    };
    return new Promise((resolve) => {
      const channel = new MessageChannel();
      const step = (): void => {
        const now = performance.now();
        const due = t0 + i * spacing;
        if (now < due) {
          setTimeout(() => channel.port2.postMessage(0), Math.max(0, due - now));
          return;
        }
        let append = '';
        const batchTools: NonNullable<Parameters<FakeBackend['batch']>[1]['tools']> = [];
        const until = coalesce > 0 ? now - t0 : (i + 0.5) * spacing;
        do {
          append += pieces[i] ?? '';
          batchTools.push(...(updatesAt(i) ?? []));
          i++;
        } while (coalesce > 0 && i < deltas && i * spacing <= until);
        fake.push(fake.batch(runId, { state: 'delta', append, tools: batchTools }));
        envelopes++;
        if (i >= deltas) {
          fake.push(fake.batch(runId, { state: 'final' }));
          envelopes++;
          const durationMs = performance.now() - t0;
          resolve({
            runId,
            envelopes,
            durationMs,
            envelopesPerSecond: (envelopes * 1000) / durationMs,
            textLength: text.length,
          });
          return;
        }
        if (coalesce > 0) setTimeout(() => channel.port2.postMessage(0), coalesce);
        else channel.port2.postMessage(0);
      };
      channel.port1.onmessage = step;
      step();
    });
  }
}

// Options come from an init script (Playwright) or from `?harness=<json>` (plain WebDriver).
const fromUrl = new URLSearchParams(location.search).get('harness');
window.__fake = installFake(window.__HARNESS__ ?? (fromUrl ? (JSON.parse(fromUrl) as FakeOptions) : {}));
window.__harness = new Harness();
document.addEventListener('securitypolicyviolation', (e) => {
  window.__harness.violations.push(`${e.violatedDirective} ${e.blockedURI}`);
});

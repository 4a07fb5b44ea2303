// The page's one animation-frame loop. Stream envelopes land in plain objects as they arrive;
// whatever changed is published to the page here, at most once per frame. Nothing here reads
// layout: the message list follows the bottom from a ResizeObserver, after the engine's layout.
//
// When a frame came late (the last one's style, layout and paint overran), this frame publishes
// nothing and lets the engine catch up; the next one publishes everything that arrived meanwhile.

import { flushSync } from 'svelte';

type Job = () => void;

/** A frame later than this after the previous one means the engine is behind. */
const LATE_MS = 24;

const jobs = new Set<Job>();
let scheduled = false;
let lastFrameAt = 0;
let skipped = false;

const raf: (cb: (at: number) => void) => void =
  typeof requestAnimationFrame === 'function'
    ? (cb) => requestAnimationFrame(cb)
    : (cb) => queueMicrotask(() => cb(performance.now()));

function schedule(): void {
  if (!scheduled) {
    scheduled = true;
    raf(run);
  }
}

function run(at: number): void {
  scheduled = false;
  const late = lastFrameAt > 0 && at - lastFrameAt > LATE_MS;
  lastFrameAt = at;
  if (jobs.size === 0) return;
  if (late && !skipped) {
    skipped = true;
    schedule();
    return;
  }
  skipped = false;
  const batch = [...jobs];
  jobs.clear();
  for (const job of batch) job();
  flushSync();
}

/** Runs `job` in the next frame (once, however often it is asked for before then). */
export function onNextFrame(job: Job): void {
  jobs.add(job);
  schedule();
}

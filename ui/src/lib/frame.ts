// The page's one animation-frame loop. Stream envelopes land in plain objects as they arrive;
// whatever changed is published to the page here, at most once per frame.
//
// Jobs that read layout (stick-to-bottom reads scrollHeight) run first, before anything is
// published: layout is still clean from the last paint, so the read costs nothing.
//
// When a frame came late (the last one's style, layout and paint overran), this frame publishes
// nothing and lets the engine catch up; the next one publishes everything that arrived meanwhile.

import { flushSync } from 'svelte';

type Job = () => void;

/** A frame later than this after the previous one means the engine is behind. */
const LATE_MS = 24;

const jobs = new Set<Job>();
const layoutReads = new Set<Job>();
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
  if (layoutReads.size > 0) {
    const reads = [...layoutReads];
    layoutReads.clear();
    for (const read of reads) read();
  }
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

/** Runs `read` at the start of the next frame, before anything changes the DOM. */
export function readLayoutNextFrame(read: Job): void {
  layoutReads.add(read);
  schedule();
}

/** Runs `job` in the next frame (once, however often it is asked for before then). */
export function onNextFrame(job: Job): void {
  jobs.add(job);
  schedule();
}

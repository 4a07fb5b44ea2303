// The page's one animation-frame loop. Stream envelopes land in plain objects as they arrive;
// whatever changed is published to the page here, at most once per frame.
//
// Hooks that must read layout (stick-to-bottom reads scrollHeight) run at the start of the frame
// after a publish, before anything is changed: layout is still clean from the last paint, so the
// read costs nothing, instead of forcing a synchronous layout right after the DOM was updated.
//
// When a frame came late (the last one's style, layout and paint overran), this frame publishes
// nothing and lets the engine catch up; the next one publishes everything that arrived meanwhile.

import { flushSync } from 'svelte';

type Job = () => void;

const jobs = new Set<Job>();
const layoutHooks = new Set<Job>();
let scheduled = false;
let publishedLastFrame = false;

/** A frame later than this after the previous one means the engine is behind. */
const LATE_MS = 24;

const raf: (cb: (at: number) => void) => void =
  typeof requestAnimationFrame === 'function'
    ? (cb) => requestAnimationFrame(cb)
    : (cb) => queueMicrotask(() => cb(performance.now()));

let lastFrameAt = 0;
let skipped = false;

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
  if (late && !skipped && jobs.size > 0) {
    skipped = true;
    schedule();
    return;
  }
  skipped = false;
  if (publishedLastFrame) {
    publishedLastFrame = false;
    for (const hook of [...layoutHooks]) hook();
  }
  if (jobs.size === 0) return;
  const batch = [...jobs];
  jobs.clear();
  for (const job of batch) job();
  flushSync();
  publishedLastFrame = true;
  // One more frame for the layout hooks, even if nothing else is published.
  schedule();
}

/** Runs `job` in the next frame (once, however often it is asked for before then). */
export function onNextFrame(job: Job): void {
  jobs.add(job);
  schedule();
}

/** Runs `hook` once at the start of the frame after each frame that published something. */
export function afterFrame(hook: Job): () => void {
  layoutHooks.add(hook);
  return () => layoutHooks.delete(hook);
}

// The page's one animation-frame loop. Stream envelopes land in plain objects as they arrive;
// whatever changed is published to the page here, at most once per frame, and then the hooks that
// must see the new layout (stick-to-bottom) run once, after Svelte has updated the DOM.

import { flushSync } from 'svelte';

type Job = () => void;

const jobs = new Set<Job>();
const afterRender = new Set<Job>();
let scheduled = false;

const raf: (cb: () => void) => void =
  typeof requestAnimationFrame === 'function'
    ? (cb) => requestAnimationFrame(() => cb())
    : (cb) => queueMicrotask(cb);

function run(): void {
  scheduled = false;
  const batch = [...jobs];
  jobs.clear();
  for (const job of batch) job();
  flushSync();
  for (const hook of [...afterRender]) hook();
}

/** Runs `job` in the next frame (once, however often it is asked for before then). */
export function onNextFrame(job: Job): void {
  jobs.add(job);
  if (!scheduled) {
    scheduled = true;
    raf(run);
  }
}

/** Runs `hook` after every frame that published something, once the DOM is up to date. */
export function afterFrame(hook: Job): () => void {
  afterRender.add(hook);
  return () => afterRender.delete(hook);
}

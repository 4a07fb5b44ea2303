// Metrics sampled while the diagnostics page is on screen: every second tick of the shared clock,
// and never while the page is closed or the window hidden.

import { sampleMetrics, type MetricsSample } from '../../api';
import { clock } from '../clock.svelte';

const KEEP = 300;

class Metrics {
  samples = $state.raw<MetricsSample[]>([]);
  #ticks = 0;
  #inFlight = false;

  /** Starts sampling; the returned function stops it. */
  watch(): () => void {
    void this.sample();
    return clock.onTick(() => {
      this.#ticks++;
      if (this.#ticks % 2 === 0) void this.sample();
    });
  }

  async sample(): Promise<void> {
    if (this.#inFlight || document.visibilityState !== 'visible') return;
    this.#inFlight = true;
    try {
      const s = await sampleMetrics();
      const next = [...this.samples, s];
      this.samples = next.length > KEEP ? next.slice(next.length - KEEP) : next;
    } catch {
      // The gateway may be down; the next tick tries again.
    } finally {
      this.#inFlight = false;
    }
  }
}

export const metrics = new Metrics();

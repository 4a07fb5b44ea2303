// The one timer of the page. It ticks once a second, and only while something asks for it: a
// running tool, a countdown, a gateway that is starting, a run that might stall, a card about to
// collapse, the diagnostics page. With nothing holding it, no timer exists at all.

type TickListener = (now: number) => void;

export class Clock {
  /** The time of the last tick (or of the last `touch`), for anything that shows elapsed time. */
  now = $state(Date.now());
  readonly #holders = new Set<symbol>();
  readonly #listeners = new Set<TickListener>();
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #periodMs: number;

  constructor(periodMs = 1000) {
    this.#periodMs = periodMs;
  }

  /** Keeps the clock ticking until the returned function is called. */
  acquire(): () => void {
    const token = Symbol('clock');
    this.#holders.add(token);
    this.touch();
    this.#start();
    return () => {
      if (this.#holders.delete(token) && this.#holders.size === 0) this.#stop();
    };
  }

  /** Calls `listener` on every tick, and keeps the clock ticking until unsubscribed. */
  onTick(listener: TickListener): () => void {
    this.#listeners.add(listener);
    const release = this.acquire();
    return () => {
      this.#listeners.delete(listener);
      release();
    };
  }

  /** Refreshes `now` without a timer (a status change, the window shown again). */
  touch(at = Date.now()): void {
    this.now = at;
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  get holders(): number {
    return this.#holders.size;
  }

  #start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      const at = Date.now();
      this.now = at;
      for (const listener of [...this.#listeners]) listener(at);
    }, this.#periodMs);
  }

  #stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

export const clock = new Clock();

/**
 * Timer lateness of the current process, sampled by an interval timer: how long the event loop
 * was kept from running timers. Timing checks widen a documented deadline by the lateness of the
 * processes that take part (the fixture's and the runner's), so that a machine too busy to run
 * timers on time is told apart from an engine that closes late.
 */

const TICK_MS = 25;
/** Lateness below this is ordinary timer jitter, not worth keeping. */
const KEEP_OVER_MS = 5;
/** Samples kept: at one per tick at worst, a little over a minute of history. */
const CAPACITY = 4096;

export class TimerLateness {
  readonly #at = new Float64Array(CAPACITY);
  readonly #late = new Float64Array(CAPACITY);
  #count = 0;
  #expected = Date.now() + TICK_MS;

  constructor() {
    const timer = setInterval(() => this.#tick(), TICK_MS) as unknown as { unref?: () => void };
    // Node and Bun: the sampler must not keep a process alive; Deno's numeric ids have no unref.
    if (typeof timer === "object" && timer !== null) timer.unref?.();
  }

  #tick(): void {
    const now = Date.now();
    const late = now - this.#expected;
    this.#expected = now + TICK_MS;
    if (late <= KEEP_OVER_MS) return;
    const slot = this.#count++ % CAPACITY;
    this.#at[slot] = now;
    this.#late[slot] = late;
  }

  /**
   * The largest lateness (ms) of the samples taken at or after `since` (a `Date.now()` value),
   * including a stall still in progress: a timer that has not run yet is already late.
   */
  since(since: number): number {
    let max = Math.max(0, Date.now() - this.#expected);
    const kept = Math.min(this.#count, CAPACITY);
    for (let i = 0; i < kept; i++) {
      // A sample covers the stall that ended at #at: it counts when that stall overlaps the window.
      const late = this.#late[i] as number;
      if ((this.#at[i] as number) >= since && late > max) max = late;
    }
    return max;
  }
}

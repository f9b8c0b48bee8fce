/**
 * How many of one host's steps are at work at once. A step holds one of its
 * host's slots from its start to its end, except while it waits for its
 * container's gate: that wait sends no work to the engine (a look every
 * 200 ms), so it gives the slot back for the host's next step, and takes one
 * again, ahead of steps not yet started, when the gate is over. Without
 * that, a host's 10 containers with a 0.25 s gate spent 3 gate rounds one
 * after the other on 4 slots. How many containers are replaced at once is
 * the rollout's batches' concern (`rollout:` in the config), not this.
 *
 * @module
 */

/** Step slots per host key. */
export class HostSlots {
  readonly #limit: number;
  readonly #used = new Map<string, number>();
  readonly #waiting = new Map<string, Array<() => void>>();

  /** @param limit Steps of one host at work at once (at least 1). */
  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  /** Waits for a slot of host `key`; `first` goes ahead of the waiting ones (a step coming back from its gate). */
  acquire(key: string, first = false): Promise<void> {
    const used = this.#used.get(key) ?? 0;
    if (used < this.#limit) {
      this.#used.set(key, used + 1);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const queue = this.#waiting.get(key) ?? [];
      if (first) queue.unshift(resolve);
      else queue.push(resolve);
      this.#waiting.set(key, queue);
    });
  }

  /** Gives a slot of host `key` back: to the first waiting, else free. */
  release(key: string): void {
    const next = this.#waiting.get(key)?.shift();
    if (next !== undefined) next();
    else this.#used.set(key, (this.#used.get(key) ?? 1) - 1);
  }

  /** Runs `wait` without the slot the calling step holds on host `key`, and takes one again after it. */
  async outside<T>(key: string, wait: () => Promise<T>): Promise<T> {
    this.release(key);
    try {
      return await wait();
    } finally {
      await this.acquire(key, true);
    }
  }

  /**
   * Runs `steps` of host `key` in order, each once it has a slot; returns
   * when all settled, throwing the first failure (like `mapLimit`).
   */
  async run(key: string, steps: ReadonlyArray<() => Promise<void>>): Promise<void> {
    const running: Array<Promise<void>> = [];
    for (const step of steps) {
      await this.acquire(key);
      const done = step().finally(() => this.release(key));
      done.catch(() => {}); // seen by allSettled below; not an unhandled rejection while later steps wait for a slot
      running.push(done);
    }
    const failed = (await Promise.allSettled(running)).find((s) => s.status === "rejected");
    if (failed !== undefined) throw failed.reason;
  }
}
